package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/moby/moby/api/types/events"
	"github.com/opencontainers/image-spec/identity"

	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/engine/internal/ctrtest"
	"github.com/roostd/roost/tests/busybox/busyboximg"
)

const testNamespace = "roost-test"

// recorder is a Publisher that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []string // "action id name"
}

func (r *recorder) Publish(typ events.Type, action events.Action, actor events.Actor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, string(typ)+" "+string(action)+" "+actor.ID+" "+actor.Attributes["name"])
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// usage is a fake ContainerUsage (and RunningUsage).
type usage struct {
	users, running map[string][]string
}

func (u *usage) ImageInUse(_ context.Context, id string) ([]string, error) { return u.users[id], nil }
func (u *usage) RunningImageUsers(_ context.Context, id string) ([]string, error) {
	return u.running[id], nil
}

type fixture struct {
	svc    *images.Service
	client *containerd.Client
	events *recorder
	ctx    context.Context // in the test namespace, for containerd calls
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, images.Options{})
}

// newFixtureWith is newFixture with more options for the service.
func newFixtureWith(t *testing.T, opts images.Options) *fixture {
	t.Helper()
	c := ctrtest.Start(t)
	rec := &recorder{}
	opts.Namespace, opts.Snapshotter, opts.Events = testNamespace, "overlayfs", rec
	return &fixture{
		svc:    images.New(c, opts),
		client: c,
		events: rec,
		ctx:    namespaces.WithNamespace(context.Background(), testNamespace),
	}
}

var (
	archiveOnce sync.Once
	archiveData map[string][]byte
	archiveErr  error
	busyboxID   string
)

// busyboxArchive returns the busybox `docker save` archive for tag.
func busyboxArchive(t *testing.T, tag string) []byte {
	t.Helper()
	archiveOnce.Do(func() {
		archiveData = map[string][]byte{}
		for _, tag := range []string{"busybox:latest", ""} {
			var buf bytes.Buffer
			if archiveErr = busyboximg.WriteDockerArchive(&buf, tag); archiveErr != nil {
				return
			}
			archiveData[tag] = buf.Bytes()
		}
		busyboxID, archiveErr = busyboximg.ImageID()
	})
	if archiveErr != nil {
		t.Fatalf("build busybox image: %v", archiveErr)
	}
	data, ok := archiveData[tag]
	if !ok {
		t.Fatalf("no busybox archive for %q", tag)
	}
	return data
}

func (f *fixture) loadBusybox(t *testing.T) string {
	t.Helper()
	lines, err := f.svc.Load(context.Background(), bytes.NewReader(busyboxArchive(t, "busybox:latest")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := "Loaded image: busybox:latest"; len(lines) != 1 || lines[0] != want {
		t.Fatalf("Load lines = %q, want [%q]", lines, want)
	}
	return busyboxID
}

// rewriteTar copies a tar, letting edit drop (nil) or replace members.
func rewriteTar(t *testing.T, data []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(data)), tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			body = edit(hdr.Name, body)
			if body == nil {
				continue
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// prependMembers returns the tar data with members in front.
func prependMembers(t *testing.T, data []byte, members ...tarMember) []byte {
	t.Helper()
	head := tarOf(t, members...)
	// Drop head's end-of-archive marker (two zero blocks) and its padding.
	tr := tar.NewReader(bytes.NewReader(head))
	for {
		if _, err := tr.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	end := len(head)
	for end >= 512 && bytes.Count(head[end-512:end], []byte{0}) == 512 {
		end -= 512
	}
	return append(append([]byte{}, head[:end]...), data...)
}

// tarOf builds a tar from headers and bodies.
func tarOf(t *testing.T, members ...tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: 0o644, Size: int64(len(m.body))}
		if m.typ == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarMember struct {
	name string
	typ  byte
	link string
	body string
}

// readFromImage mounts the image's unpacked snapshot read-only and reads
// a file from it, which proves the image is unpacked in the snapshotter.
func (f *fixture) readFromImage(t *testing.T, ref, file string) string {
	t.Helper()
	r, err := f.svc.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", ref, err)
	}
	diffIDs, err := r.Image.RootFS(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sn := f.client.SnapshotService("overlayfs")
	key := "test-view-" + strings.ReplaceAll(t.Name(), "/", "-")
	mounts, err := sn.View(f.ctx, key, identity.ChainID(diffIDs).String())
	if err != nil {
		t.Fatalf("view snapshot: %v", err)
	}
	defer sn.Remove(f.ctx, key)
	var data []byte
	err = mount.WithReadonlyTempMount(f.ctx, mounts, func(root string) error {
		var err error
		data, err = os.ReadFile(filepath.Join(root, file))
		return err
	})
	if err != nil {
		t.Fatalf("read %s from %s: %v", file, ref, err)
	}
	return string(data)
}

func readDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
