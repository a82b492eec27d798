package main

import (
	"os"
	"slices"
	"testing"
)

// The arguments RootlessKit passes, and the mistakes a hand-written parser
// could make with others.
func TestParseUnshareArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		newNet  bool
		argv    []string
		wantErr string
	}{
		{args: []string{"-n", "mount", "--bind", "/proc/self/ns/net", "/x"}, newNet: true, argv: []string{"mount", "--bind", "/proc/self/ns/net", "/x"}},
		{args: []string{"--net", "true"}, newNet: true, argv: []string{"true"}},
		// The command's own options are not unshare's.
		{args: []string{"ls", "-n"}, argv: []string{"ls", "-n"}},
		{args: []string{"-n", "--", "-weird"}, newNet: true, argv: []string{"-weird"}},
		{args: []string{"--", "-n"}, argv: []string{"-n"}},
		{args: nil, wantErr: "no command specified"},
		{args: []string{"-n"}, wantErr: "no command specified"},
		{args: []string{"-n", "--"}, wantErr: "no command specified"},
		{args: []string{"-p", "true"}, wantErr: `unknown option "-p"`},
	} {
		newNet, argv, err := parseUnshareArgs(tc.args)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || newNet != tc.newNet || !slices.Equal(argv, tc.argv) {
			t.Errorf("%q: got %v %q %v, want %v %q", tc.args, newNet, argv, err, tc.newNet, tc.argv)
		}
	}
}

// RootlessKit reports a failed unshare by its exit status.
func TestUnshareMainExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"/nonexistent/roost-unshare-test"}, 1},
		{[]string{"-x", "true"}, 1},
	} {
		if got := unshareMain(tc.args); got != tc.want {
			t.Errorf("unshare %q: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}

// -n runs the command in a network namespace of its own (this needs
// CAP_SYS_ADMIN: root, or the user namespace of hack/userns.sh).
func TestUnshareMainNewNet(t *testing.T) {
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	probe := `[ "$(readlink /proc/self/ns/net)" != "$0" ]`
	if unshareMain([]string{"sh", "-c", probe, own}) == 0 {
		t.Fatal("the probe finds a new namespace without -n")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_SYS_ADMIN")
	}
	if got := unshareMain([]string{"-n", "sh", "-c", probe, own}); got != 0 {
		t.Errorf("unshare -n: the command shares this process's network namespace (exit %d)", got)
	}
}
