package buildsvc

import (
	"errors"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/moby/api/types/jsonstream"
	digest "github.com/opencontainers/go-digest"
)

func TestPrinter(t *testing.T) {
	var got []string
	p := newPrinter(func(m jsonstream.Message) error {
		switch {
		case m.Aux != nil:
			got = append(got, "aux "+string(*m.Aux))
		default:
			got = append(got, m.Stream)
		}
		return nil
	}, false)
	now := time.Now()
	from, run, load := digest.FromString("from"), digest.FromString("run"), digest.FromString("load")
	p.status(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: load, Name: "[internal] load build definition from Dockerfile", Started: &now},
		{Digest: from, Name: "[build 1/2] FROM docker.io/library/busybox:latest@sha256:" + strings.Repeat("a", 64), Cached: true},
		{Digest: run, Name: "[stage-1 2/2] RUN echo hi", Started: &now},
	}})
	p.status(&bkclient.SolveStatus{
		Vertexes: []*bkclient.Vertex{{Digest: run, Name: "[stage-1 2/2] RUN echo hi", Started: &now, Completed: &now}},
		Logs:     []*bkclient.VertexLog{{Vertex: run, Data: []byte("hi\n")}, {Vertex: load, Data: []byte("internal\n")}},
	})
	_ = p.finish("sha256:"+strings.Repeat("b", 64), nil)
	want := []string{
		"Step 1/2 : FROM docker.io/library/busybox:latest (stage build)\n",
		" ---> Using cache\n",
		"Step 2/2 : RUN echo hi\n",
		"hi\n",
		`aux {"ID":"sha256:` + strings.Repeat("b", 64) + `"}`,
		"Successfully built bbbbbbbbbbbb\n",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestPrinterFailure(t *testing.T) {
	p := newPrinter(func(jsonstream.Message) error { return nil }, true)
	now := time.Now()
	p.status(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: digest.FromString("run"), Name: "[2/2] RUN exit 3", Started: &now, Error: "exit code: 3"},
	}})
	err := p.failure(errors.New(`process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`))
	if !IsBuildFailure(err) || !strings.HasPrefix(err.Error(), "[2/2] RUN exit 3: process") {
		t.Errorf("got %v", err)
	}
}
