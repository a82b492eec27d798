package images_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	imagetypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
)

func TestTagAndRemove(t *testing.T) {
	f := newFixture(t)
	id := f.loadBusybox(t)
	short := id[7:19]
	f.events.take()

	if err := f.svc.Tag(context.Background(), "busybox", "localhost:5000/a/b", "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tag(context.Background(), short, "busybox", "1"); err != nil {
		t.Fatal(err)
	}
	insp, err := f.svc.Inspect(context.Background(), "localhost:5000/a/b:x")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"busybox:1", "busybox:latest", "localhost:5000/a/b:x"}; !reflect.DeepEqual(insp.RepoTags, want) {
		t.Errorf("RepoTags = %q, want %q", insp.RepoTags, want)
	}
	if insp.Metadata.LastTagTime.IsZero() {
		t.Error("LastTagTime is zero")
	}
	if got, want := f.events.take(), []string{"image tag " + id + " localhost:5000/a/b:x", "image tag " + id + " busybox:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	list, err := f.svc.List(context.Background(), false, map[string][]string{"reference": {"busybox:lat*"}})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0].RepoTags, []string{"busybox:latest"}) {
		t.Errorf("List(reference=busybox:lat*) = %+v, %v", list, err)
	}

	_, err = f.svc.Remove(context.Background(), short, false, false)
	wantConflict := "conflict: unable to delete " + short + " (must be forced) - image is referenced in multiple repositories"
	if !errdefs.IsConflict(err) || err.Error() != wantConflict {
		t.Errorf("Remove(id) err = %v, want Conflict %q", err, wantConflict)
	}

	resp, err := f.svc.Remove(context.Background(), "localhost:5000/a/b:x", false, false)
	if err != nil || !reflect.DeepEqual(resp, []imagetypes.DeleteResponse{{Untagged: "localhost:5000/a/b:x"}}) {
		t.Errorf("Remove(tag) = %+v, %v", resp, err)
	}
	// Two tags of one repository are still two references.
	if _, err := f.svc.Remove(context.Background(), short, false, false); !errdefs.IsConflict(err) {
		t.Errorf("Remove(id) with two tags err = %v, want Conflict", err)
	}
	if _, err := f.svc.Remove(context.Background(), "busybox:1", false, false); err != nil {
		t.Fatal(err)
	}
	f.events.take()

	resp, err = f.svc.Remove(context.Background(), "busybox", false, false)
	want := []imagetypes.DeleteResponse{{Untagged: "busybox:latest"}, {Deleted: id}}
	if err != nil || !reflect.DeepEqual(resp, want) {
		t.Errorf("Remove(busybox) = %+v, %v; want %+v", resp, err, want)
	}
	if got, want := f.events.take(), []string{"image untag " + id + " busybox:latest", "image delete " + id + " " + id}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	_, err = f.svc.Inspect(context.Background(), "busybox")
	if !errdefs.IsNotFound(err) || err.Error() != "No such image: busybox:latest" {
		t.Errorf("Inspect after rmi: %v", err)
	}
	// The synchronous delete let the garbage collector take the content.
	if _, err := f.client.ContentStore().Info(f.ctx, digest.Digest(id)); !errdefs.IsNotFound(err) {
		t.Errorf("config blob after rmi: %v", err)
	}
}

func TestRemoveByIDDeletesAllNames(t *testing.T) {
	f := newFixture(t)
	id := f.loadBusybox(t)
	if err := f.svc.Tag(context.Background(), "busybox", "other", ""); err != nil {
		t.Fatal(err)
	}
	resp, err := f.svc.Remove(context.Background(), id, true, false)
	want := []imagetypes.DeleteResponse{{Untagged: "busybox:latest"}, {Untagged: "other:latest"}, {Deleted: id}}
	if err != nil || !reflect.DeepEqual(resp, want) {
		t.Errorf("Remove(id, force) = %+v, %v; want %+v", resp, err, want)
	}
	if list, _ := f.svc.List(context.Background(), true, nil); len(list) != 0 {
		t.Errorf("List after rmi = %+v", list)
	}
}

func TestRemoveInUse(t *testing.T) {
	f := newFixture(t)
	id := f.loadBusybox(t)
	short := id[7:19]
	ctr := strings.Repeat("1234abcd", 8)
	u := &usage{users: map[string][]string{id: {ctr}}, running: map[string][]string{}}
	f.svc.SetContainerUsage(u)

	_, err := f.svc.Remove(context.Background(), "busybox", false, false)
	want := `conflict: unable to remove repository reference "busybox" (must force) - container 1234abcd1234 is using its referenced image ` + short
	if !errdefs.IsConflict(err) || err.Error() != want {
		t.Errorf("err = %v, want Conflict %q", err, want)
	}
	_, err = f.svc.Remove(context.Background(), short, false, false)
	want = "conflict: unable to delete " + short + " (must be forced) - image is being used by stopped container 1234abcd1234"
	if !errdefs.IsConflict(err) || err.Error() != want {
		t.Errorf("err = %v, want Conflict %q", err, want)
	}
	u.running[id] = []string{ctr}
	_, err = f.svc.Remove(context.Background(), "busybox", true, false)
	want = "conflict: unable to delete " + short + " (cannot be forced) - image is being used by running container 1234abcd1234"
	if !errdefs.IsConflict(err) || err.Error() != want {
		t.Errorf("err = %v, want Conflict %q", err, want)
	}
	delete(u.running, id)

	// Forced: the name goes, the image stays for its container.
	resp, err := f.svc.Remove(context.Background(), "busybox", true, false)
	if err != nil || !reflect.DeepEqual(resp, []imagetypes.DeleteResponse{{Untagged: "busybox:latest"}}) {
		t.Errorf("Remove(force) = %+v, %v", resp, err)
	}
	r, err := f.svc.Resolve(context.Background(), id)
	if err != nil || r.ID != id || r.Name != id {
		t.Errorf("Resolve(id) after forced rmi = %+v, %v", r, err)
	}
	list, err := f.svc.List(context.Background(), false, map[string][]string{"dangling": {"true"}})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("dangling after forced rmi = %+v, %v", list, err)
	}

	// Once no container uses it, it can go by ID.
	delete(u.users, id)
	resp, err = f.svc.Remove(context.Background(), short, false, false)
	if err != nil || !reflect.DeepEqual(resp, []imagetypes.DeleteResponse{{Deleted: id}}) {
		t.Errorf("Remove(id) = %+v, %v", resp, err)
	}
}

// Moving a name to another image leaves the old one untagged, not gone.
func TestRetagKeepsOldImage(t *testing.T) {
	f := newFixture(t)
	rootfs := busyboxRootfs(t)
	first, err := f.svc.Import(context.Background(), bytesReader(rootfs), "app", "", []string{"CMD one"}, "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Import(context.Background(), bytesReader(rootfs), "app", "", []string{"CMD two"}, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.List(context.Background(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range list {
		got[s.ID] = s.RepoTags
	}
	want := map[string][]string{second: {"app:latest"}, first: {}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images = %v, want %v", got, want)
	}
	if err := f.svc.Tag(context.Background(), first, "app", ""); err != nil {
		t.Fatal(err)
	}
	if insp, err := f.svc.Inspect(context.Background(), second); err != nil || len(insp.RepoTags) != 0 {
		t.Errorf("second after retag: %+v, %v", insp, err)
	}
}

func TestTagAndResolveErrors(t *testing.T) {
	f := newFixture(t)
	f.loadBusybox(t)
	tests := []struct {
		name  string
		err   error
		check func(error) bool
		want  string
	}{
		{"tag unknown source", f.svc.Tag(context.Background(), "nosuch", "x", ""), errdefs.IsNotFound, "No such image: nosuch:latest"},
		{"tag bad repo", f.svc.Tag(context.Background(), "busybox", "Bad", ""), errdefs.IsInvalidArgument,
			"invalid reference format: repository name (library/Bad) must be lowercase"},
		{"tag bad tag", f.svc.Tag(context.Background(), "busybox", "x", "bad tag"), errdefs.IsInvalidArgument, "invalid tag format"},
		{"resolve unknown", resolveErr(f, "nosuch"), errdefs.IsNotFound, "No such image: nosuch:latest"},
		{"resolve unknown tag", resolveErr(f, "busybox:2"), errdefs.IsNotFound, "No such image: busybox:2"},
		{"resolve short prefix", resolveErr(f, "abc"), errdefs.IsNotFound, "No such image: abc:latest"},
		{"inspect bad ref", inspectErr(f, "a:b:c"), errdefs.IsInvalidArgument, "invalid reference format"},
		{"remove unknown", removeErr(f, "nosuch"), errdefs.IsNotFound, "No such image: nosuch:latest"},
		{"list bad filter", listErr(f, map[string][]string{"x": {"1"}}), errdefs.IsInvalidArgument, "invalid filter 'x'"},
	}
	for _, tc := range tests {
		if !tc.check(tc.err) || tc.err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, tc.err, tc.want)
		}
	}
}

func resolveErr(f *fixture, ref string) error {
	_, err := f.svc.Resolve(context.Background(), ref)
	return err
}

func inspectErr(f *fixture, ref string) error {
	_, err := f.svc.Inspect(context.Background(), ref)
	return err
}

func removeErr(f *fixture, ref string) error {
	_, err := f.svc.Remove(context.Background(), ref, false, false)
	return err
}

func listErr(f *fixture, filters map[string][]string) error {
	_, err := f.svc.List(context.Background(), false, filters)
	return err
}
