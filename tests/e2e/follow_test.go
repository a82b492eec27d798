package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLogsFollow checks that `docker logs -f` passes lines on as the
// container writes them, and ends by itself when the container exits.
func TestLogsFollow(t *testing.T) {
	const name, lines = "follow", 10
	removeOnCleanup(t, name)
	// One line every 200 ms for 2 s.
	dockerOK(t, "run", "-d", "--name", name, "busybox", "sh", "-c",
		fmt.Sprintf("for i in $(seq 1 %d); do echo tick$i; sleep 0.2; done", lines))

	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.dockerCLI, "logs", "-f", name)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got []string
	var arrived []time.Time
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		got = append(got, sc.Text())
		arrived = append(arrived, time.Now())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker logs -f: %v (it must end by itself when the container exits)\n%s", err, stderr.String())
	}

	var want []string
	for i := 1; i <= lines; i++ {
		want = append(want, fmt.Sprintf("tick%d", i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("docker logs -f printed %q, want %q", got, want)
	}
	// Followed lines come one by one over about 2 s. A daemon that only
	// sent the log at the container's exit would deliver them all at once;
	// half a second of spread tells the two apart without timing anything.
	if spread := arrived[len(arrived)-1].Sub(arrived[0]); spread < 500*time.Millisecond {
		t.Errorf("all %d lines arrived within %v: docker logs -f did not stream them as they were written", lines, spread)
	}
	if state := inspect(t, name, "{{.State.Status}}"); state != "exited" {
		t.Errorf("after docker logs -f ended, the container is %q, want exited", state)
	}
}
