package containers

import (
	"time"

	"github.com/moby/moby/api/types/container"
)

// The restart backoff of dockerd's restart manager: 100 ms, doubling up to
// a minute, back to 100 ms once a run lasted 10 s.
const (
	restartBackoffStart = 100 * time.Millisecond
	restartBackoffMax   = time.Minute
	restartResetAfter   = 10 * time.Second
)

// exitFacts are what the restart decision looks at.
type exitFacts struct {
	exitCode        int
	restartCount    int  // restarts so far
	cancelled       bool // stopped or killed by the user, or the daemon is shutting down
	manuallyStopped bool // dockerd's HasBeenManuallyStopped (for unless-stopped)
	ran             time.Duration
}

// shouldRestart decides whether policy restarts the container after an
// exit, and after what delay. backoff is the restart manager's running
// delay, updated in place whatever the decision, as dockerd does.
func shouldRestart(policy container.RestartPolicy, f exitFacts, backoff *time.Duration) (bool, time.Duration) {
	if policy.IsNone() {
		return false, 0
	}
	if f.ran >= restartResetAfter {
		*backoff = 0
	}
	switch {
	case *backoff == 0:
		*backoff = restartBackoffStart
	case *backoff < restartBackoffMax:
		*backoff *= 2
	}
	if *backoff > restartBackoffMax {
		*backoff = restartBackoffMax
	}
	if f.cancelled {
		return false, 0
	}
	restart := false
	switch {
	case policy.IsAlways():
		restart = true
	case policy.IsUnlessStopped():
		restart = !f.manuallyStopped
	case policy.IsOnFailure():
		// A MaximumRetryCount of 0 means no limit.
		if max := policy.MaximumRetryCount; max == 0 || f.restartCount < max {
			restart = f.exitCode != 0
		}
	}
	if !restart {
		return false, 0
	}
	return true, *backoff
}

// restartAtBoot tells whether a container that is not running when roostd
// starts must be started: dockerd's ShouldRestart at restore, where a
// manual stop only holds for unless-stopped (and no).
func restartAtBoot(policy container.RestartPolicy, f exitFacts) bool {
	f.cancelled = false
	var backoff time.Duration
	ok, _ := shouldRestart(policy, f, &backoff)
	return ok
}
