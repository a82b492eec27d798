package httpapi

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/roostd/roost/engine/logs"
)

// TestMobyClient drives the handler with the Go client the docker CLI is
// built on, over a unix socket, to check that it understands our answers:
// version negotiation, errors, streams and image names with slashes.
func TestMobyClient(t *testing.T) {
	f := newFixture()
	f.img = newFakeImages("localhost:5000/team/app:v1")
	f.ctr.logs = []*logs.Message{{Stream: "stdout", Line: []byte("hello\n")}, {Stream: "stderr", Line: []byte("warn\n")}}
	f.ctr.waitC = make(chan container.WaitResponse, 1)
	f.ctr.waitC <- container.WaitResponse{StatusCode: 7}
	f.ev.history = []events.Message{containerEvent("start", "c1")}
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, ServerVersion: "0.1.0"})
	cli, err := client.New(client.WithHost("unix://"+serveUnix(t, f.h)), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()

	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil || ping.APIVersion != MaxAPIVersion || ping.OSType != "linux" {
		t.Fatalf("ping %+v, %v", ping, err)
	}

	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("status", "running")})
	if err != nil || len(list.Items) != 1 {
		t.Errorf("list %+v, %v", list, err)
	}
	if got := f.ctr.got.(ContainerListOptions).Filters; len(got["status"]) != 1 {
		t.Errorf("filters %v", got)
	}

	_, err = cli.ContainerInspect(ctx, "nosuch", client.ContainerInspectOptions{})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: nosuch") {
		t.Errorf("inspect missing: %v", err)
	}

	rc, err := cli.ContainerLogs(ctx, "web", client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	_, err = stdcopy.StdCopy(&stdout, &stderr, rc)
	rc.Close()
	if err != nil || stdout.String() != "hello\n" || stderr.String() != "warn\n" {
		t.Errorf("logs %q %q %v", stdout.String(), stderr.String(), err)
	}

	wait := cli.ContainerWait(ctx, "web", client.ContainerWaitOptions{})
	select {
	case res := <-wait.Result:
		if res.StatusCode != 7 {
			t.Errorf("wait %+v", res)
		}
	case err := <-wait.Error:
		t.Errorf("wait: %v", err)
	}

	img, err := cli.ImageInspect(ctx, "localhost:5000/team/app:v1")
	if err != nil || img.RepoTags[0] != "localhost:5000/team/app:v1" {
		t.Errorf("image inspect %+v, %v", img, err)
	}

	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ev := cli.Events(ectx, client.EventsListOptions{Since: "1", Until: "2"})
	select {
	case m := <-ev.Messages:
		if m.Action != "start" {
			t.Errorf("event %+v", m)
		}
	case err := <-ev.Err:
		t.Errorf("events: %v", err)
	}
	if err := <-ev.Err; err != io.EOF {
		t.Errorf("events end: %v", err)
	}
}
