package containers

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseBindChown(t *testing.T) {
	for bind, want := range map[string]bool{"/a:/b:U": true, "/a:/b:ro,U": true, "vol:/b:U": true, "/a:/b:ro": false, "/a:/b": false} {
		ms, err := parseMounts(&container.HostConfig{Binds: []string{bind}})
		if err != nil || len(ms) != 1 || ms[0].chown != want {
			t.Errorf("%s: %+v %v, want chown %v", bind, ms, err, want)
		}
	}
	// Podman's option is upper case only, as dockerd rejects unknown ones.
	if _, err := parseMounts(&container.HostConfig{Binds: []string{"/a:/b:u"}}); err == nil || err.Error() != "invalid mode: u" {
		t.Errorf("/a:/b:u: %v", err)
	}
}

func TestIDMaps(t *testing.T) {
	rs := parseIDMap([]byte("         0       1004          1\n         1     362144      65536\n"))
	for id, want := range map[uint32]bool{0: true, 1: true, 1000: true, 65536: true, 65537: false, 4294967295: false} {
		if got := inRanges(rs, id); got != want {
			t.Errorf("%d mapped: %v, want %v", id, got, want)
		}
	}
	// Outside any user namespace everything is mapped.
	if !inRanges(parseIDMap([]byte("0 0 4294967295\n")), 4294967294) || !inRanges(nil, 7) {
		t.Error("the initial namespace's map refused an ID")
	}
}

func TestChownSourcesRefused(t *testing.T) {
	home := t.TempDir()
	src := filepath.Join(home, "src")
	link := filepath.Join(home, "link")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	data, state := filepath.Join(home, ".local", "share", "roost"), filepath.Join(t.TempDir(), "run", "roost")
	guard := chownGuard{home: home, engineDirs: []string{data, state}}
	full := idMaps{uids: []idRange{{0, 65537}}, gids: []idRange{{0, 65537}}}
	single := idMaps{uids: []idRange{{0, 1}}, gids: []idRange{{0, 1}}, single: true}
	user := specs.User{UID: 1000, GID: 1000}
	for _, tc := range []struct {
		name string
		bind string
		maps idMaps
		user specs.User
		want string // "" for no error
	}{
		{"mapped", src + ":/d:U", full, user, ""},
		{"root in single-ID mode", src + ":/d:U", single, specs.User{}, ""},
		{"no :U", "/etc:/d", single, user, ""},
		{"uid not mapped", src + ":/d:U", full, specs.User{UID: 70000}, "container's user 70000:0: the engine's user namespace does not map it"},
		{"gid not mapped", src + ":/d:U", full, specs.User{UID: 1, GID: 70000}, "container's user 1:70000"},
		{"single-ID", src + ":/d:U", single, user, "(single-ID mode maps root only"},
		{"system dir", "/usr:/d:U", full, user, "invalid volume specification: '/usr:/d:U': :U will not chown /usr, a system or home directory"},
		{"home", home + ":/d:U", full, user, "will not chown " + home},
		{"symlink to /etc", link + ":/d:U", full, user, "will not chown /etc,"},
		{"the engine's data", data + ":/d:U", full, user, "will not chown " + data + ": it holds or is part of the engine's own files in " + data},
		{"inside the engine's state", filepath.Join(state, "x") + ":/d:U", full, user, "is part of the engine's own files in " + state},
		{"a parent of the engine's data", filepath.Dir(data) + ":/d:U", full, user, "it holds or is part of"},
		{"beside the engine's data", filepath.Join(filepath.Dir(data), "other") + ":/d:U", full, user, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chownSources(&container.HostConfig{Binds: []string{tc.bind}}, nil, tc.user, tc.maps, guard)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an invalid argument saying %q", err, tc.want)
			}
		})
	}
}

// TestChownTree needs CAP_CHOWN: root, or root of hack/userns.sh.
func TestChownTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: run as root or through hack/userns.sh")
	}
	dir := t.TempDir()
	src, outside := filepath.Join(dir, "src"), filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(src, "a", "b"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(src, "a", "b", "f"), filepath.Join(outside, "f")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Links out of the tree, to a file and to a directory: only the links
	// themselves change owner.
	if err := os.Symlink(filepath.Join(outside, "f"), filepath.Join(src, "to-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(src, "a", "to-dir")); err != nil {
		t.Fatal(err)
	}
	if err := chownTree(src, 1234, 4321); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) [2]uint32 {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return [2]uint32{st.Uid, st.Gid}
	}
	for _, p := range []string{"", "a", "a/b", "a/b/f", "to-file", "a/to-dir"} {
		if got := owner(filepath.Join(src, p)); got != [2]uint32{1234, 4321} {
			t.Errorf("%s: owner %v, want 1234:4321", p, got)
		}
	}
	me := [2]uint32{uint32(os.Getuid()), uint32(os.Getgid())}
	for _, p := range []string{outside, filepath.Join(outside, "f")} {
		if got := owner(p); got != me {
			t.Errorf("%s, outside the tree: owner %v, want %v", p, got, me)
		}
	}
	// A single file.
	if err := chownTree(filepath.Join(outside, "f"), 7, 8); err != nil || owner(filepath.Join(outside, "f")) != [2]uint32{7, 8} {
		t.Errorf("single file: %v %v", err, owner(filepath.Join(outside, "f")))
	}
}
