package buildsvc

import (
	"errors"
	"strings"
	"testing"
)

func TestExplainSingleID(t *testing.T) {
	devpts := errors.New(`process "/bin/sh -c true" did not complete successfully: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting "devpts" to rootfs at "/dev/pts": mount src=devpts, dst=/dev/pts, flags=MS_NOSUID|MS_NOEXEC, data=newinstance,ptmxmode=0666,mode=0620,gid=5: invalid argument`)
	user := errors.New(`process "/bin/sh -c id" did not complete successfully: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: unable to setup user: chown /dev/stdout: invalid argument`)
	chown := errors.New(`failed to solve: failed to copy file info: failed to chown /home/u/.local/share/roost/buildkit/containerd-overlayfs/cachemounts/buildkit2070312590/f: lchown /f: invalid argument`)
	lchown := errors.New(`failed to compute cache key: mount callback failed on /x/containerd-mount1: failed to Lchown "/x/containerd-mount1/f" for UID 1000, GID 1000: lchown /x/containerd-mount1/f: invalid argument (Hint: try increasing the number of subordinate IDs in /etc/subuid and /etc/subgid)`)
	other := errors.New(`process "/bin/sh -c false" did not complete successfully: exit code: 1`)
	tests := []struct {
		name string
		err  error
		want string // "" for the error unchanged
	}{
		{"RUN step without roost-runc", devpts, "this build needs subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and BuildKit runs RUN steps with /dev/pts owned by the tty group (gid 5), which does not exist there, and roost-runc"},
		{"RUN under USER 1000", user, "this build needs subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and RUN steps run as root only"},
		{"COPY --chown", chown, "this build needs subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and files in the image can belong to root only"},
		{"ADD of an archive with other owners", lchown, "this build needs subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and files in the image can belong to root only"},
		{"a failing command", other, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := explainSingleID(tc.err)
			if tc.want == "" {
				if got != tc.err {
					t.Fatalf("explainSingleID changed an unrelated error: %v", got)
				}
				return
			}
			if !strings.HasPrefix(got.Error(), tc.want) || !strings.Contains(got.Error(), "docs/hpc.md") {
				t.Errorf("got %q, want it to start with %q and name docs/hpc.md", got, tc.want)
			}
			if strings.Contains(got.Error(), "runc create") || strings.Contains(got.Error(), "invalid argument") {
				t.Errorf("the message still carries BuildKit's error: %q", got)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("the original error is not wrapped: %v", got)
			}
		})
	}
}
