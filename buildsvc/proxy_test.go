package buildsvc

import (
	"testing"

	"github.com/containerd/errdefs"
	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMobyToImage(t *testing.T) {
	e := &controlapi.Exporter{Type: "moby", Attrs: map[string]string{
		"name": "app:1, docker.io/library/app:2", "prefer-image-digest": "true", "buildinfo-attrs": "x",
	}}
	names, pusher, err := mobyToImage(e)
	if err != nil || pusher != nil {
		t.Fatal(pusher, err)
	}
	if len(names) != 2 || names[0] != "app:1" || names[1] != "docker.io/library/app:2" {
		t.Errorf("names %q", names)
	}
	want := map[string]string{"dangling-name-prefix": "moby-dangling", "unpack": "true", "buildinfo-attrs": "x"}
	if e.Type != "image" || len(e.Attrs) != len(want) {
		t.Errorf("exporter %s %v", e.Type, e.Attrs)
	}
	for k, v := range want {
		if e.Attrs[k] != v {
			t.Errorf("%s = %q, want %q", k, e.Attrs[k], v)
		}
	}
	e = &controlapi.Exporter{Type: "moby", Attrs: map[string]string{"name": "127.0.0.1:5000/a:1,b", "push": "true", "compression": "zstd"}}
	if _, pusher, err = mobyToImage(e); err != nil {
		t.Fatal(err)
	}
	// The local export stays as without push; the pusher pushes the names
	// and stores nothing.
	if e.Attrs["push"] != "" || e.Attrs["name"] != "" || e.Attrs["dangling-name-prefix"] != "moby-dangling" {
		t.Errorf("local exporter %v", e.Attrs)
	}
	want = map[string]string{"name": "127.0.0.1:5000/a:1,b", "push": "true", "store": "false", "compression": "zstd"}
	if pusher == nil || pusher.Type != "image" || len(pusher.Attrs) != len(want) {
		t.Fatalf("pusher %v", pusher)
	}
	for k, v := range want {
		if pusher.Attrs[k] != v {
			t.Errorf("pusher %s = %q, want %q", k, pusher.Attrs[k], v)
		}
	}
	_, _, err = mobyToImage(&controlapi.Exporter{Type: "moby", Attrs: map[string]string{"push": "true"}})
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "tag is needed when pushing to registry" {
		t.Errorf("push without a name: %v", err)
	}
	_, _, err = mobyToImage(&controlapi.Exporter{Type: "moby", Attrs: map[string]string{"name": "a", "push": "maybe"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("push=maybe: %v", err)
	}
	if _, err := parseTags([]string{"Bad"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad name: %v", err)
	}
}

func TestRawCodec(t *testing.T) {
	c := rawCodec{}
	req := &controlapi.SolveRequest{Ref: "r", Frontend: "dockerfile.v0"}
	b, err := c.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var f frame
	if err := c.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out, err := c.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	got := &controlapi.SolveRequest{}
	if err := c.Unmarshal(out, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(req, got) {
		t.Errorf("round trip: %v", got)
	}
	if _, err := c.Marshal(struct{}{}); err == nil {
		t.Error("a non-proto value was encoded")
	}
}
