package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestJournaldWithoutJournal: where the host has no journal (nothing
// listens on /run/systemd/journal/socket, as on machines without systemd),
// --log-driver journald is refused at create with a clear error, so no
// container is left that could never start. Its options are checked first,
// as dockerd's validator does.
func TestJournaldWithoutJournal(t *testing.T) {
	if fi, err := os.Stat("/run/systemd/journal/socket"); err == nil && fi.Mode()&os.ModeSocket != 0 {
		t.Skip("this host has a journal")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "--name", "journald-run", "--log-driver", "journald", "busybox", "echo", "hi"},
			"Error response from daemon: logger: journald is not enabled on this host: nothing listens on /run/systemd/journal/socket; use --log-driver json-file or local"},
		{[]string{"create", "--name", "journald-opt", "--log-driver", "journald", "--log-opt", "max-size=1k", "busybox"},
			"unknown log opt 'max-size' for log driver journald"},
		{[]string{"create", "--name", "journald-tag", "--log-driver", "journald", "--log-opt", "tag={{.Nope", "busybox"},
			"invalid value for tag"},
	} {
		r := runDocker(ctx, tc.args...)
		// docker run exits 125 for a daemon error, docker create 1.
		code := 1
		if tc.args[0] == "run" {
			code = 125
		}
		if r.Code != code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("docker %s: %s\nwant exit %d and %q", strings.Join(tc.args, " "), r, code, tc.want)
		}
	}
	// Nothing was created.
	for _, name := range []string{"journald-run", "journald-opt", "journald-tag"} {
		if r := runDocker(ctx, "inspect", name); r.Code == 0 {
			t.Errorf("container %s exists after a refused create", name)
			runDocker(ctx, "rm", "-f", name)
		}
	}
}
