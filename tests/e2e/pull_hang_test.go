package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roostd/roost/tests/regtest"
)

// TestPullSilentRegistry: `docker pull` from a registry that accepts the
// connection and never answers fails with an error that says it timed
// out, instead of hanging. The listener is on loopback, which the daemon
// reaches (it shares the host's network). dockerd has no such timeout and
// waits forever, hence needRoostd.
func TestPullSilentRegistry(t *testing.T) {
	needRoostd(t)
	silent := regtest.SilentT(t)

	// The resolver may try HEAD and GET, each waiting out the TLS
	// handshake and then the plain HTTP headers: allow for all of them on a
	// busy machine, beyond docker()'s one minute.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	r := runDocker(ctx, "pull", silent.Addr+"/silent/image:1")
	took := time.Since(start)
	if r.Err == nil {
		t.Fatalf("docker pull from a silent registry succeeded: %v", r)
	}
	if !strings.Contains(r.Stderr, "timeout") {
		t.Errorf("docker pull from a silent registry failed after %v without saying it timed out: %v", took, r)
	}
	if took > 150*time.Second {
		t.Errorf("the pull took %v to fail", took)
	}
	if silent.Accepted() == 0 {
		t.Error("the daemon never connected to the registry")
	}
}
