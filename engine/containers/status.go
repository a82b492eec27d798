package containers

import (
	"fmt"
	"time"

	"github.com/docker/go-units"

	"github.com/roostd/roost/engine/store"
)

// statusText is the STATUS column of `docker ps`, worded as dockerd's
// State.String(): "Up 5 seconds", "Exited (0) 3 seconds ago", "Created"…
func statusText(st store.State, removing bool, now time.Time) string {
	if st.Running {
		if st.Paused {
			return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
		}
		if st.Restarting {
			return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
		}
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	}
	switch {
	case removing:
		return "Removal In Progress"
	case st.Dead:
		return "Dead"
	case st.StartedAt.IsZero():
		return "Created"
	case st.FinishedAt.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
}
