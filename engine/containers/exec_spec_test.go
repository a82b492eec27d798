package containers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestExecEnv(t *testing.T) {
	cfg := &container.Config{Hostname: "h1", Env: []string{"A=container", "B=b", "PATH=/bin"}}
	got := execEnv(cfg, true, []string{"A=exec", "C=c", "B"})
	want := []string{"PATH=/bin", "HOSTNAME=h1", "TERM=xterm", "A=exec", "C=c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env with tty = %q, want %q", got, want)
	}
	// The exec's TTY decides TERM, not the container's; cfg is unchanged.
	cfg.Tty = true
	got = execEnv(cfg, false, nil)
	want = []string{"PATH=/bin", "HOSTNAME=h1", "A=container", "B=b"}
	if !reflect.DeepEqual(got, want) || !cfg.Tty {
		t.Errorf("env without tty = %q, want %q", got, want)
	}
}

func TestExecProcess(t *testing.T) {
	base := &specs.Process{
		Terminal:     true,
		ConsoleSize:  &specs.Box{Height: 1, Width: 1},
		User:         specs.User{UID: 5, GID: 6, AdditionalGids: []uint32{6, 7}},
		Args:         []string{"sleep", "1"},
		Env:          []string{"X=1"},
		Cwd:          "/srv",
		Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}},
		Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10}},
	}
	ec := &execConfig{entrypoint: "sh", args: []string{"-c", "id"}, env: []string{"Y=2"}}
	p := execProcess(base, ec, nil, &[2]uint{24, 80})
	want := specs.Process{
		User:         base.User,
		Args:         []string{"sh", "-c", "id"},
		Env:          []string{"Y=2"},
		Cwd:          "/",
		Capabilities: base.Capabilities,
		Rlimits:      base.Rlimits,
	}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("process\n got %+v\nwant %+v", *p, want)
	}
	if base.Cwd != "/srv" || !base.Terminal || base.Args[0] != "sleep" {
		t.Errorf("the container's process was changed: %+v", base)
	}

	ec = &execConfig{entrypoint: "top", workingDir: "/tmp", tty: true, privileged: true}
	user := &specs.User{UID: 65534, GID: 65534}
	p = execProcess(base, ec, user, &[2]uint{24, 80})
	if !p.Terminal || p.ConsoleSize == nil || *p.ConsoleSize != (specs.Box{Height: 24, Width: 80}) || p.Cwd != "/tmp" || !reflect.DeepEqual(p.User, *user) {
		t.Errorf("tty process %+v", p)
	}
	if c := p.Capabilities; len(c.Bounding) != len(knownCaps) || len(c.Effective) != len(knownCaps) || len(c.Permitted) != len(knownCaps) {
		t.Errorf("privileged capabilities %+v", c)
	}
	if p := execProcess(base, ec, nil, nil); p.ConsoleSize != nil {
		t.Errorf("console size without one asked: %+v", p.ConsoleSize)
	}
}

// rootfs writes a container root with busybox-like passwd and group files.
func rootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nwww:x:33:33::/var/www:/bin/false\n",
		"etc/group":  "root:x:0:\nwww:x:33:\nnogroup:x:65534:\nstaff:x:50:www\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := rootfs(t)
	ctx := context.Background()
	for _, tc := range []struct {
		user     string
		groupAdd []string
		want     specs.User
		err      string
	}{
		{user: "nobody", want: specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{65534}}},
		{user: "www", want: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 50}}},
		{user: "33", want: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 50}}},
		{user: "1234", want: specs.User{UID: 1234, GID: 0, AdditionalGids: []uint32{0}}},
		{user: "1234:55", want: specs.User{UID: 1234, GID: 55, AdditionalGids: []uint32{55}}},
		// The user's supplementary groups come with an explicit group too,
		// as for the container's own user at create.
		{user: "www:nogroup", want: specs.User{UID: 33, GID: 65534, AdditionalGids: []uint32{65534, 50}}},
		{user: "root", groupAdd: []string{"staff", "99"}, want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 50, 99}}},
		{user: "nosuch", err: "unable to find user nosuch: no matching entries in passwd file"},
		{user: "root:nosuch", err: "unable to find group nosuch: no matching entries in group file"},
		{user: "root", groupAdd: []string{"nosuch"}, err: "unable to find group nosuch"},
		{user: "99999999999", err: `invalid USER value "99999999999": uid out of range`},
	} {
		got, err := resolveUser(ctx, root, tc.user, tc.groupAdd)
		if tc.err != "" {
			if !errdefs.IsInvalidArgument(err) || err.Error() != tc.err {
				t.Errorf("%q: got %+v, %v; want invalid argument %q", tc.user, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q %v: got %+v, %v; want %+v", tc.user, tc.groupAdd, got, err, tc.want)
		}
	}

	// Without /etc/passwd a name cannot be found, a number can.
	empty := t.TempDir()
	if _, err := resolveUser(ctx, empty, "nobody", nil); !errdefs.IsInvalidArgument(err) || err.Error() != "unable to find user nobody: no matching entries in passwd file" {
		t.Errorf("name without passwd: %v", err)
	}
	if u, err := resolveUser(ctx, empty, "42", nil); err != nil || u.UID != 42 {
		t.Errorf("uid without passwd: %+v, %v", u, err)
	}
	if _, err := resolveUser(ctx, empty, "42:staff", nil); !errdefs.IsInvalidArgument(err) || err.Error() != "unable to find group staff: no matching entries in group file" {
		t.Errorf("group name without /etc/group: %v", err)
	}
}

// TestResolveUserStaysInRoot: a container's /etc/passwd that is a symlink
// pointing outside its root never reads the host's file.
func TestResolveUserStaysInRoot(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(outside, []byte("evil:x:4242:4242::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if u, err := resolveUser(context.Background(), root, "evil", nil); err == nil {
		t.Fatalf("resolved %+v through a symlink out of the root", u)
	}
}

func TestExecStartError(t *testing.T) {
	for _, tc := range []struct {
		msg     string
		code    int
		wantMsg string
		user    bool
	}{
		{msg: `OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH`, code: 127, user: true},
		{msg: `exec: "/etc/passwd": permission denied`, code: 126, user: true},
		{msg: `exec: "/etc": is a directory`, code: 126, wantMsg: `exec: "/etc": is a directory: permission denied`, user: true},
		{msg: `chdir to cwd ("/nosuch") set in config.json failed: no such file or directory`, code: 127, user: true},
		{msg: `exec: "/bin/x": not a directory`, code: 127, wantMsg: `exec: "/bin/x": not a directory: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`, user: true},
		{msg: `failed to run runc create/exec call for container: exit status 1`, code: 127, user: true},
		{msg: `ttrpc: closed`, code: 128},
	} {
		code, err := execStartError(errors.New(tc.msg))
		want := tc.wantMsg
		if want == "" {
			want = tc.msg
		}
		if code != tc.code || err.Error() != want || errdefs.IsInvalidArgument(err) != tc.user || (!tc.user && !errdefs.IsUnknown(err)) {
			t.Errorf("%q: code %d, %v (invalid argument %v); want %d, %q", tc.msg, code, err, errdefs.IsInvalidArgument(err), tc.code, want)
		}
	}
}

func TestExecCommand(t *testing.T) {
	// dockerd's event wording keeps the space of an empty argument list.
	if got := (&execConfig{entrypoint: "true", args: []string{}}).command(); got != "true " {
		t.Errorf("command %q", got)
	}
	if got := (&execConfig{entrypoint: "sh", args: []string{"-c", "exit 3"}}).command(); got != "sh -c exit 3" {
		t.Errorf("command %q", got)
	}
}
