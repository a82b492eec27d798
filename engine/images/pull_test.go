package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// A multi-layer image pushed to a real registry, removed, and pulled back:
// the progress lines dockerd sends, the same image ID and diff IDs, the
// layers unpacked, and a second pull that finds it up to date.
func TestPushPullRoundTrip(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	m := f.loadMulti(t, "example.com/multi:1")
	repo := reg.Addr + "/me/multi"
	ref := repo + ":1"
	if err := f.svc.Tag(ctx, "example.com/multi:1", repo, "1"); err != nil {
		t.Fatal(err)
	}
	f.events.take()

	var push progress
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{Progress: push.add}); err != nil {
		t.Fatalf("Push: %v", err)
	}
	st := push.statuses()
	if st[0] != "The push refers to repository ["+repo+"]" {
		t.Errorf("first push line = %q", st[0])
	}
	for id, got := range push.layerLines(m.layers) {
		if want := []string{"Preparing", "Pushed"}; !reflect.DeepEqual(got, want) {
			t.Errorf("push of layer %s: %q, want %q", id, got, want)
		}
	}
	last := push.msgs[len(push.msgs)-1]
	var aux struct {
		Tag, Digest string
		Size        int
	}
	if last.Aux == nil || json.Unmarshal(*last.Aux, &aux) != nil || aux.Tag != "1" || !strings.HasPrefix(aux.Digest, "sha256:") || aux.Size == 0 {
		t.Fatalf("last push line = %+v", last)
	}
	if want := "1: digest: " + aux.Digest + " size: "; !strings.HasPrefix(st[len(st)-2], want) {
		t.Errorf("push result line = %q, want %q…", st[len(st)-2], want)
	}
	if got := f.events.take(); !slices.Contains(got, "image push "+ref+" "+repo) {
		t.Errorf("events = %q", got)
	}

	// A second push finds everything there.
	var again progress
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{Progress: again.add}); err != nil {
		t.Fatal(err)
	}
	for id, got := range again.layerLines(m.layers) {
		if want := []string{"Preparing", "Layer already exists"}; !reflect.DeepEqual(got, want) {
			t.Errorf("second push of layer %s: %q, want %q", id, got, want)
		}
	}

	// Nothing of the image stays, so the pull downloads every layer.
	for _, name := range []string{ref, "example.com/multi:1"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}
	f.events.take()
	var pull progress
	if err := f.svc.Pull(ctx, ref, images.PullOptions{Progress: pull.add}); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	st = pull.statuses()
	if st[0] != "1: Pulling from me/multi" {
		t.Errorf("first pull line = %q", st[0])
	}
	for id, got := range pull.layerLines(m.layers) {
		if want := []string{"Pulling fs layer", "Download complete", "Extracting", "Pull complete"}; !reflect.DeepEqual(got, want) {
			t.Errorf("pull of layer %s: %q, want %q", id, got, want)
		}
	}
	if want := []string{"Digest: " + aux.Digest, "Status: Downloaded newer image for " + ref}; !reflect.DeepEqual(st[len(st)-2:], want) {
		t.Errorf("last pull lines = %q, want %q", st[len(st)-2:], want)
	}
	if got := f.events.take(); !slices.Contains(got, "image pull "+ref+" "+repo) {
		t.Errorf("events = %q", got)
	}

	// Sizes first: they must not disturb the diff IDs inspect shows.
	if _, err := f.svc.List(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	insp, err := f.svc.Inspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var diffIDs []string
	for _, d := range m.diffIDs {
		diffIDs = append(diffIDs, d.String())
	}
	if insp.ID != m.id || !reflect.DeepEqual(insp.RootFS.Layers, diffIDs) {
		t.Errorf("pulled image %s with layers %q, want %s with %q", insp.ID, insp.RootFS.Layers, m.id, diffIDs)
	}
	if !reflect.DeepEqual(insp.RepoDigests, []string{repo + "@" + aux.Digest}) {
		t.Errorf("RepoDigests = %q", insp.RepoDigests)
	}
	if got := f.readFromImage(t, ref, "hello.txt"); got != "hi from the second layer\n" {
		t.Errorf("hello.txt = %q", got)
	}

	hist, err := f.svc.History(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].ID != m.id || !reflect.DeepEqual(hist[0].Tags, []string{ref}) ||
		hist[1].ID != "<missing>" || hist[1].Size != 0 || hist[0].Size == 0 || hist[2].Size < 1<<20 ||
		hist[0].CreatedBy != "COPY hello.txt /" || hist[0].Comment != "buildkit.dockerfile.v0" {
		t.Errorf("history = %+v", hist)
	}

	// Up to date: no layer lines at all.
	var same progress
	if err := f.svc.Pull(ctx, ref, images.PullOptions{Progress: same.add}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1: Pulling from me/multi", "Digest: " + aux.Digest, "Status: Image is up to date for " + ref}; !reflect.DeepEqual(same.statuses(), want) {
		t.Errorf("second pull = %q, want %q", same.statuses(), want)
	}

	// The pulled blobs are all in the store: the image pushes elsewhere.
	if err := f.svc.Tag(ctx, ref, reg.Addr+"/other/multi", "2"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, reg.Addr+"/other/multi", "2", images.PushOptions{}); err != nil {
		t.Errorf("push of the pulled image: %v", err)
	}
}

func TestPullByDigest(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	id := f.loadBusybox(t)
	repo := reg.Addr + "/me/bb"
	if err := f.svc.Tag(ctx, "busybox", repo, "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	insp, err := f.svc.Inspect(ctx, repo+":1")
	if err != nil {
		t.Fatal(err)
	}
	canonical := repo + "@" + insp.Descriptor.Digest.String()
	if _, err := f.svc.Remove(ctx, repo+":1", false, false); err != nil {
		t.Fatal(err)
	}
	var p progress
	if err := f.svc.Pull(ctx, canonical, images.PullOptions{Progress: p.add}); err != nil {
		t.Fatal(err)
	}
	st := p.statuses()
	if want := insp.Descriptor.Digest.String() + ": Pulling from me/bb"; st[0] != want {
		t.Errorf("first line %q, want %q", st[0], want)
	}
	// busybox:latest had the layer all along.
	if want := []string{"Digest: " + insp.Descriptor.Digest.String(), "Status: Downloaded newer image for " + canonical}; !reflect.DeepEqual(st[len(st)-2:], want) {
		t.Errorf("last lines %q, want %q", st[len(st)-2:], want)
	}
	got, err := f.svc.Inspect(ctx, canonical)
	if err != nil || got.ID != id || !slices.Contains(got.RepoDigests, canonical) {
		t.Errorf("Inspect(%s) = %+v, %v", canonical, got, err)
	}
}

func TestPullErrors(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	f.loadBusybox(t)
	if err := f.svc.Tag(ctx, "busybox", reg.Addr+"/me/bb", "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, reg.Addr+"/me/bb", "1", images.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref   string
		check func(error) bool
		msg   string
	}{
		{reg.Addr + "/me/bb:nope", errdefs.IsNotFound, "manifest for " + reg.Addr + "/me/bb:nope not found: manifest unknown: manifest unknown"},
		{reg.Addr + "/nosuch/repo:1", errdefs.IsNotFound, "manifest for " + reg.Addr + "/nosuch/repo:1 not found: manifest unknown: manifest unknown"},
		{reg.Addr + "/me/UPPER:1", errdefs.IsInvalidArgument, "invalid reference format: repository name (me/UPPER) must be lowercase"},
		{"127.0.0.1:1/me/bb:1", func(err error) bool { return err != nil && !errdefs.IsNotFound(err) }, ""},
	} {
		var p progress
		err := f.svc.Pull(ctx, tc.ref, images.PullOptions{Progress: p.add})
		if !tc.check(err) || (tc.msg != "" && err.Error() != tc.msg) {
			t.Errorf("Pull(%s) = %v", tc.ref, err)
		}
		// Nothing was sent: the API can still answer with a status.
		if len(p.lines) != 0 {
			t.Errorf("Pull(%s) sent %q before failing", tc.ref, p.lines)
		}
	}
	if _, err := f.svc.Inspect(ctx, reg.Addr+"/me/bb:nope"); !errdefs.IsNotFound(err) {
		t.Errorf("a failed pull left an image: %v", err)
	}
}

func TestPushErrors(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	f.loadBusybox(t)
	var p progress
	err := f.svc.Push(ctx, reg.Addr+"/me/nosuch", "1", images.PushOptions{Progress: p.add})
	if !errdefs.IsNotFound(err) || err.Error() != "An image does not exist locally with the tag: "+reg.Addr+"/me/nosuch" {
		t.Errorf("Push of a missing tag = %v", err)
	}
	if want := []string{"The push refers to repository [" + reg.Addr + "/me/nosuch]"}; !reflect.DeepEqual(p.lines, want) {
		t.Errorf("lines = %q, want %q", p.lines, want)
	}
	if err := f.svc.Push(ctx, "me/UPPER", "", images.PushOptions{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Push of an invalid name = %v", err)
	}

	// Every tag of the repository, in name order.
	for _, tag := range []string{"b", "a"} {
		if err := f.svc.Tag(ctx, "busybox", reg.Addr+"/me/bb", tag); err != nil {
			t.Fatal(err)
		}
	}
	p = progress{}
	if err := f.svc.Push(ctx, reg.Addr+"/me/bb", "", images.PushOptions{Progress: p.add}); err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, l := range p.statuses() {
		if strings.Contains(l, ": digest: ") {
			results = append(results, l[:1])
		}
	}
	if !reflect.DeepEqual(results, []string{"a", "b"}) {
		t.Errorf("pushed tags %q, want a and b", results)
	}

	// A registry that is not there.
	if err := f.svc.Tag(ctx, "busybox", "127.0.0.1:1/me/bb", "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, "127.0.0.1:1/me/bb", "1", images.PushOptions{}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Push to a closed port = %v", err)
	}
}

// Of a multi-platform image, the pull fetches the index and the host's
// manifest only; pushing what was pulled then pushes the host's manifest,
// since the other platform's content is not here.
func TestPullMultiPlatform(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	m := multiPlatformImage(t, "example.com/multiarch:1")
	lines, err := f.svc.Load(ctx, bytesReader(m.archive))
	if err != nil || !reflect.DeepEqual(lines, []string{"Loaded image: example.com/multiarch:1"}) {
		t.Fatalf("Load = %q, %v", lines, err)
	}
	repo := reg.Addr + "/me/multiarch"
	if err := f.svc.Tag(ctx, "example.com/multiarch:1", repo, "1"); err != nil {
		t.Fatal(err)
	}
	var push progress
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{Progress: push.add}); err != nil {
		t.Fatal(err)
	}
	// Everything was here: the whole index went.
	if want := "1: digest: " + m.index.Digest.String() + " size: "; !slices.ContainsFunc(push.lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
		t.Errorf("push lines %q, want %q…", push.lines, want)
	}
	for _, name := range []string{repo + ":1", "example.com/multiarch:1"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}

	// A platform the index does not have.
	s390x := &ocispec.Platform{OS: "linux", Architecture: "s390x"}
	err = f.svc.Pull(ctx, repo+":1", images.PullOptions{Platform: s390x})
	if !errdefs.IsNotFound(err) || err.Error() != "no matching manifest for linux/s390x in the manifest list entries" {
		t.Errorf("Pull of a missing platform = %v", err)
	}
	if _, err := f.svc.Inspect(ctx, repo+":1"); !errdefs.IsNotFound(err) {
		t.Errorf("the failed pull left an image: %v", err)
	}

	var pull progress
	if err := f.svc.Pull(ctx, repo+":1", images.PullOptions{Progress: pull.add}); err != nil {
		t.Fatal(err)
	}
	if st := pull.statuses(); !slices.Contains(st, "Digest: "+m.index.Digest.String()) {
		t.Errorf("pull lines %q", st)
	}
	layers := pull.layerLines(m.layers)
	if len(layers) != 2 {
		t.Errorf("layers pulled: %v", layers)
	}
	insp, err := f.svc.Inspect(ctx, repo+":1")
	if err != nil || insp.ID != m.id || insp.Descriptor.Digest != m.index.Digest {
		t.Fatalf("Inspect = %+v, %v", insp, err)
	}
	if got := f.readFromImage(t, repo+":1", "hello.txt"); got != "hi from the second layer\n" {
		t.Errorf("hello.txt = %q", got)
	}
	list, err := f.svc.List(ctx, false, nil)
	if err != nil || len(list) != 1 || list[0].ID != m.id {
		t.Errorf("List = %+v, %v", list, err)
	}

	// Saved, it has the host's image only, and loads back.
	var saved bytes.Buffer
	if err := f.svc.Save(ctx, []string{repo + ":1"}, &saved); err != nil {
		t.Fatalf("save of a partly pulled index: %v", err)
	}
	if s := readSaved(t, saved.Bytes()); len(s.manifest) != 1 || s.manifest[0].Config != "blobs/sha256/"+m.id[7:] {
		t.Errorf("manifest.json = %+v", s.manifest)
	}
	if lines, err := f.svc.Load(ctx, bytesReader(saved.Bytes())); err != nil || !reflect.DeepEqual(lines, []string{"Loaded image: " + repo + ":1"}) {
		t.Errorf("Load of the saved index = %q, %v", lines, err)
	}

	if err := f.svc.Tag(ctx, repo+":1", reg.Addr+"/other/multiarch", "1"); err != nil {
		t.Fatal(err)
	}
	push = progress{}
	if err := f.svc.Push(ctx, reg.Addr+"/other/multiarch", "1", images.PushOptions{Progress: push.add}); err != nil {
		t.Fatalf("push of a partly pulled index: %v", err)
	}
	if want := "1: digest: " + m.manifest.Digest.String() + " size: "; !slices.ContainsFunc(push.lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
		t.Errorf("push lines %q, want %q…", push.lines, want)
	}
}
