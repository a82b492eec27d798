package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "roost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(id, name string, created time.Time) *Container {
	return &Container{
		ID:               id,
		Name:             name,
		Created:          created,
		Image:            "busybox",
		ImageID:          "sha256:" + strings.Repeat("b", 64),
		Path:             "sh",
		Args:             []string{"-c", "true"},
		Config:           &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "true"}, Labels: map[string]string{"a": "b"}},
		HostConfig:       &container.HostConfig{NetworkMode: "default", RestartPolicy: container.RestartPolicy{Name: "always"}},
		NetworkingConfig: &network.NetworkingConfig{},
		LogPath:          "/log/" + id,
		Driver:           "overlayfs",
	}
}

// Two IDs that share the prefix "abc" and one that does not.
var (
	idA = "abc1" + strings.Repeat("0", 60)
	idB = "abc2" + strings.Repeat("0", 60)
	idC = "def0" + strings.Repeat("0", 60)
)

func seed(t *testing.T, s *Store) {
	t.Helper()
	now := time.Now().UTC()
	for i, c := range []*Container{record(idA, "web", now), record(idB, "db", now.Add(time.Second)), record(idC, "abc1", now.Add(2*time.Second))} {
		if err := s.Containers().Create(context.Background(), c); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
}

func TestGet(t *testing.T) {
	s := openTest(t)
	seed(t, s)
	for _, tc := range []struct {
		ref     string
		wantID  string
		wantErr func(error) bool
		msg     string
	}{
		{ref: idA, wantID: idA},
		{ref: "web", wantID: idA},
		{ref: "/web", wantID: idA},
		{ref: "abc2", wantID: idB},
		{ref: "d", wantID: idC},
		// dockerd looks names up before prefixes: "abc1" is a name here.
		{ref: "abc1", wantID: idC},
		{ref: "abc", wantErr: errdefs.IsInvalidArgument, msg: "multiple IDs found with provided prefix: abc"},
		{ref: "nosuch", wantErr: errdefs.IsNotFound, msg: "No such container: nosuch"},
		{ref: "ff", wantErr: errdefs.IsNotFound, msg: "No such container: ff"},
		{ref: "", wantErr: errdefs.IsInvalidArgument},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			c, err := s.Containers().Get(context.Background(), tc.ref)
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) {
					t.Fatalf("got %v, %v; want error class", c, err)
				}
				if tc.msg != "" && err.Error() != tc.msg {
					t.Fatalf("message %q, want %q", err.Error(), tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tc.wantID {
				t.Fatalf("got %s, want %s", c.ID, tc.wantID)
			}
		})
	}
}

func TestCreateConflicts(t *testing.T) {
	s := openTest(t)
	seed(t, s)
	for _, tc := range []struct {
		name    string
		c       *Container
		wantErr func(error) bool
		msg     string
	}{
		{
			name:    "name in use",
			c:       record(strings.Repeat("1", 64), "web", time.Now()),
			wantErr: errdefs.IsConflict,
			msg:     `Conflict. The container name "/web" is already in use by container "` + idA + `". You have to remove (or rename) that container to be able to reuse that name.`,
		},
		{name: "id in use", c: record(idA, "other", time.Now()), wantErr: errdefs.IsAlreadyExists},
		{name: "fresh", c: record(strings.Repeat("2", 64), "fresh", time.Now())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Containers().Create(context.Background(), tc.c)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !tc.wantErr(err) {
				t.Fatalf("got %v", err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("message %q\nwant %q", err.Error(), tc.msg)
			}
		})
	}
}

func TestRoundTripUpdateDelete(t *testing.T) {
	s := openTest(t)
	seed(t, s)
	ctx := context.Background()
	r := s.Containers()

	c, err := r.Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.Labels["a"] != "b" || c.HostConfig.RestartPolicy.Name != "always" || len(c.Args) != 2 || c.Driver != "overlayfs" {
		t.Fatalf("round trip lost data: %+v", c)
	}
	started := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	c.State = State{Running: true, Pid: 42, StartedAt: started}
	c.RestartCount = 3
	c.ManuallyStopped = true
	c.Name = "web2"
	if err := r.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, "web2")
	if err != nil {
		t.Fatal(err)
	}
	if !got.State.Running || got.State.Pid != 42 || !got.State.StartedAt.Equal(started) || got.RestartCount != 3 || !got.ManuallyStopped {
		t.Fatalf("update lost data: %+v", got.State)
	}
	if _, err := r.Get(ctx, "web"); !errdefs.IsNotFound(err) {
		t.Fatalf("old name still resolves: %v", err)
	}

	// Renaming onto a name in use is a conflict.
	got.Name = "db"
	if err := r.Update(ctx, got); !errdefs.IsConflict(err) {
		t.Fatalf("rename onto db: %v", err)
	}

	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != idC || list[2].ID != idA {
		t.Fatalf("list order: %v %v %v", list[0].ID, list[1].ID, list[2].ID)
	}

	for _, tc := range []struct {
		id      string
		wantErr func(error) bool
	}{
		{id: idA},
		{id: idA, wantErr: errdefs.IsNotFound},
	} {
		err := r.Delete(ctx, tc.id)
		if (tc.wantErr == nil) != (err == nil) || (err != nil && !tc.wantErr(err)) {
			t.Fatalf("delete %s: %v", tc.id, err)
		}
	}
	ghost := record(strings.Repeat("9", 64), "ghost", time.Now())
	if err := r.Update(ctx, ghost); !errdefs.IsNotFound(err) {
		t.Fatalf("update of a missing record: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roost.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Containers().List(context.Background())
	if err != nil || len(list) != 3 {
		t.Fatalf("after reopen: %d containers, %v", len(list), err)
	}
	var v int
	if err := s.db.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roost.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}
