package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBindMountChownU: podman's -v src:dst:U gives the source to the
// container's user before it starts, so a container that runs as 1000
// can use a directory of yours; on the host the files then belong to the
// matching subordinate ID. Symlinks in the tree are never followed out of
// it. roost only: dockerd refuses the mode ("invalid mode: U").
func TestBindMountChownU(t *testing.T) {
	needRoostd(t)
	dir, err := os.MkdirTemp(harness.tmp, "chown-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Error(err)
		}
	})
	// roostd creates the sources (-v makes missing ones), so that they are
	// its user's, as a directory of the user's own would be.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	dockerOK(t, "run", "--rm", "-v", src+":/d", "-v", out+":/o", "busybox", "sh", "-c",
		"mkdir -p /d/sub && echo old > /d/sub/old && echo secret > /o/f && ln -s "+out+"/f /d/hostlink && ln -s /o /d/ctrlink")

	const name = "chownu-run"
	removeOnCleanup(t, name)
	got := dockerOK(t, "run", "--name", name, "--user", "1000:1000", "-v", src+":/d:U", "-v", out+":/o", "busybox", "sh", "-c",
		"echo new > /d/new && echo more >> /d/sub/old && stat -c '%u:%g %n' /d /d/sub/old /d/new /o/f")
	want := "1000:1000 /d\n1000:1000 /d/sub/old\n1000:1000 /d/new\n0:0 /o/f"
	if got != want {
		t.Errorf("stat in the container:\n%s\nwant\n%s", got, want)
	}
	if mode := inspect(t, name, `{{range .Mounts}}{{if eq .Destination "/d"}}{{.Mode}} {{.RW}}{{end}}{{end}}`); mode != "U true" {
		t.Errorf("inspect: Mode and RW of /d are %q, want \"U true\"", mode)
	}
	// Started again, the container still finds its files its own.
	if got := dockerOK(t, "start", "-a", name); got != want {
		t.Errorf("second start:\n%s\nwant\n%s", got, want)
	}

	sub := uint32(harness.user.SubStart + 1000 - 1)
	for _, p := range []string{"", "sub", "sub/old", "new", "hostlink", "ctrlink"} {
		if uid, gid := lowner(t, filepath.Join(src, p)); uid != sub || gid != sub {
			t.Errorf("%s on the host: owner %d:%d, want the subordinate ID %d:%d", filepath.Join(src, p), uid, gid, sub, sub)
		}
	}
	// The link out of the tree was not followed.
	if uid, _ := lowner(t, filepath.Join(out, "f")); uid != uint32(harness.user.UID) {
		t.Errorf("%s, a symlink's target outside the source: owner %d, want %d (unchanged)", filepath.Join(out, "f"), uid, harness.user.UID)
	}

	// A named volume, for a user the image's /etc/passwd names.
	const vol = "chownu-vol"
	t.Cleanup(func() { docker(t, "volume", "rm", "-f", vol) })
	if got := dockerOK(t, "run", "--rm", "--user", "nobody", "-v", vol+":/d:U", "busybox", "sh", "-c", "touch /d/x && stat -c %u:%g /d /d/x"); got != "65534:65534\n65534:65534" {
		t.Errorf("named volume with :U as nobody: %q, want 65534:65534 twice", got)
	}
	// Root of the container is you on the host: :U gives the files back.
	dockerOK(t, "run", "--rm", "-v", src+":/d:U", "busybox", "true")
	if uid, _ := lowner(t, filepath.Join(src, "sub", "old")); uid != uint32(harness.user.UID) {
		t.Errorf("after :U as root: owner %d, want %d", uid, harness.user.UID)
	}

	for _, tc := range []struct{ args, want string }{
		{"--user 70000:70000 -v " + src + ":/d:U", "invalid volume specification: '" + src + ":/d:U': cannot chown the source to the container's user 70000:70000: the engine's user namespace does not map it"},
		{"--user 1000 -v /usr:/d:U", "invalid volume specification: '/usr:/d:U': :U will not chown /usr, a system or home directory"},
		{"--user 1000 -v " + filepath.Join(harness.user.Home, ".local") + ":/d:U", "it holds or is part of the engine's own files in"},
		{"-v " + src + ":/d:u", "invalid mode: u"},
	} {
		args := append(append([]string{"create"}, strings.Fields(tc.args)...), "busybox", "true")
		r := docker(t, args...)
		if r.Err == nil || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("docker %s: %v, want an error saying %q", strings.Join(args, " "), r, tc.want)
		}
	}
}

// lowner is the owner of p itself (a symlink is not followed).
func lowner(t *testing.T, p string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}
