package containers

import (
	"context"
	"os"
	"strconv"
	"strings"
)

// taskPids lists the processes of a task. runc finds them through the
// container's cgroup; a rootless container has none, so then they are
// the processes in the pid namespace of the task's init (execs
// included), or, for a container sharing roostd's pid namespace, init
// and its descendants.
func (s *Service) taskPids(ctx context.Context, r *run) ([]int, error) {
	if !s.opts.Rootless {
		procs, err := r.task.Pids(s.nsCtx(ctx))
		if err == nil {
			pids := make([]int, 0, len(procs))
			for _, p := range procs {
				pids = append(pids, int(p.Pid))
			}
			return pids, nil
		}
	}
	return procPids(int(r.task.Pid()), "/proc")
}

// procPids finds the processes of the container whose init is initPid by
// reading procfs at root.
func procPids(initPid int, root string) ([]int, error) {
	initNS, err := os.Readlink(root + "/" + strconv.Itoa(initPid) + "/ns/pid")
	if err != nil {
		return nil, err
	}
	selfNS, _ := os.Readlink(root + "/self/ns/pid")
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	var inNS []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(root + "/" + e.Name() + "/ns/pid"); err == nil && ns == initNS {
			inNS = append(inNS, pid)
		}
		if ppid, ok := readPPid(root + "/" + e.Name() + "/stat"); ok {
			parent[pid] = ppid
		}
	}
	if initNS != selfNS {
		return inNS, nil
	}
	// --pid host (or a shared namespace): the namespace says nothing.
	var out []int
	for pid := range parent {
		for p, hops := pid, 0; p > 0 && hops < 1<<16; p, hops = parent[p], hops+1 {
			if p == initPid {
				out = append(out, pid)
				break
			}
		}
	}
	return out, nil
}

// readPPid reads the parent pid from a /proc/<pid>/stat file; the command
// name in parentheses may hold spaces and parentheses, so parse after the
// last ')'.
func readPPid(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
