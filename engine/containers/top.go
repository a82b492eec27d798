package containers

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// Top lists the container's processes as dockerd's ContainerTop does: the
// task's pids from containerd, then the host's `ps` (with psArgs, "-ef"
// by default) filtered to those pids.
func (s *Service) Top(ctx context.Context, ref, psArgs string) (*container.TopResponse, error) {
	if psArgs == "" {
		psArgs = "-ef"
	}
	if err := checkPSArgs(psArgs); err != nil {
		return nil, err
	}
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	st := c.rec.State
	r := c.run
	c.mu.Unlock()
	switch {
	case !st.Running:
		return nil, errNotRunning(c.id)
	case st.Restarting || r == nil:
		return nil, errRestarting(c.id)
	}
	pids, err := s.taskPids(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("failed to list the processes of container %s: %w", c.id, err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ps", strings.Split(psArgs, " ")...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// As dockerd: the first line of stderr says why ps failed.
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != "" {
			return nil, errdefs.ErrInvalidArgument.WithMessage(first)
		}
		return nil, fmt.Errorf("ps: %w", err)
	}
	resp, err := parsePS(out, pids)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	c.mu.Lock()
	s.publish(c, events.ActionTop, nil)
	c.mu.Unlock()
	return resp, nil
}

// psFieldAssign finds "key=PID…" in ps arguments: renaming a column to
// something starting with PID would fool the PID column search.
var psFieldAssign = regexp.MustCompile(`\s+(\S*)=\s*(PID\S*)`)

// checkPSArgs is dockerd's validatePSArgs.
func checkPSArgs(psArgs string) error {
	for _, g := range psFieldAssign.FindAllStringSubmatch(psArgs, -1) {
		if g[1] != "pid" {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("specifying \"%s=%s\" is not allowed", g[1], g[2]))
		}
	}
	return nil
}

// parsePS keeps the lines of ps output whose PID is one of pids. A thread
// line ("-" in the PID column, with ps -m) follows its process.
func parsePS(out []byte, pids []int) (*container.TopResponse, error) {
	lines := strings.Split(string(out), "\n")
	resp := &container.TopResponse{Titles: asciiFields(lines[0]), Processes: [][]string{}}
	pidCol := slices.Index(resp.Titles, "PID")
	if pidCol < 0 {
		return nil, fmt.Errorf("Couldn't find PID field in ps output")
	}
	keepThreads := false
	for _, line := range lines[1:] {
		fields := asciiFields(line)
		if len(fields) <= pidCol {
			continue
		}
		if fields[pidCol] == "-" {
			if keepThreads {
				resp.Processes = append(resp.Processes, psRow(fields, len(resp.Titles)))
			}
			continue
		}
		p, err := strconv.Atoi(fields[pidCol])
		if err != nil {
			return nil, fmt.Errorf("Unexpected pid '%s': %s", fields[pidCol], err)
		}
		keepThreads = slices.Contains(pids, p)
		if keepThreads {
			resp.Processes = append(resp.Processes, psRow(fields, len(resp.Titles)))
		}
	}
	return resp, nil
}

// psRow fits fields to n columns: the last column (the command) keeps
// its spaces.
func psRow(fields []string, n int) []string {
	if len(fields) <= n {
		return fields
	}
	row := slices.Clone(fields[:n-1])
	return append(row, strings.Join(fields[n-1:], " "))
}

// asciiFields splits on ASCII spaces and tabs only: a command line may hold
// other Unicode spaces.
func asciiFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
