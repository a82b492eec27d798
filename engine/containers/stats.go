package containers

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// statsInterval is how often dockerd's stats collector samples.
const statsInterval = time.Second

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat and
// /proc/stat; it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Stats sends the container's resource usage to send, as dockerd's
// ContainerStats: with stream, one sample a second until ctx ends or send
// fails; without it, one sample, taken a second after a first one so the
// CPU percentage has a base (precpu_stats), or with oneShot the first
// sample alone. Rootless containers have no cgroup, so the numbers are
// measured from /proc over the container's processes.
func (s *Service) Stats(ctx context.Context, ref string, stream, oneShot bool, send func(*container.StatsResponse) error) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	if !stream && oneShot {
		return send(s.statsSample(ctx, c))
	}
	var prev *container.StatsResponse
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		cur := s.statsSample(ctx, c)
		if prev != nil {
			cur.PreRead, cur.PreCPUStats = prev.Read, prev.CPUStats
		}
		// As dockerd, a stopped container gets one zeroed sample at once.
		if stream || prev != nil || cur.Read.IsZero() {
			if err := send(cur); err != nil || !stream {
				return err
			}
		}
		prev = cur
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// dockerd ends the stream when the container is removed.
		if _, err := s.get(c.id); err != nil {
			return nil
		}
	}
}

// statsSample measures the container now; a container that is not
// running gives dockerd's empty sample holding only its name and ID.
func (s *Service) statsSample(ctx context.Context, c *ctr) *container.StatsResponse {
	c.mu.Lock()
	st, r, name := c.rec.State, c.run, c.rec.Name
	c.mu.Unlock()
	out := &container.StatsResponse{ID: c.id, Name: "/" + name}
	if !st.Running || r == nil {
		return out
	}
	pids, err := s.taskPids(ctx, r)
	if err != nil {
		return out
	}
	procStats(out, "/proc", int(r.task.Pid()), pids)
	return out
}

// procStats fills a sample from procfs at root for the processes pids of
// a container whose init is initPid.
func procStats(out *container.StatsResponse, root string, initPid int, pids []int) {
	out.Read = time.Now().UTC()
	out.OSType = "linux"
	var user, sys uint64
	var rss, rd, wr uint64
	for _, pid := range pids {
		dir := root + "/" + strconv.Itoa(pid)
		if u, k, ok := readCPUTimes(dir + "/stat"); ok {
			user += u
			sys += k
		}
		rss += readKeyed(dir+"/status", "VmRSS:") * 1024
		io := readKeyedAll(dir + "/io")
		rd += io["read_bytes:"]
		wr += io["write_bytes:"]
	}
	const ns = uint64(time.Second) / clockTicks
	out.CPUStats.CPUUsage = container.CPUUsage{
		TotalUsage:        (user + sys) * ns,
		UsageInUsermode:   user * ns,
		UsageInKernelmode: sys * ns,
	}
	out.CPUStats.SystemUsage = systemCPU(root) * ns
	out.CPUStats.OnlineCPUs = uint32(runtime.NumCPU())
	out.MemoryStats.Usage = rss
	out.MemoryStats.Limit = readKeyed(root+"/meminfo", "MemTotal:") * 1024
	out.PidsStats.Current = uint64(len(pids))
	out.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{
		{Op: "read", Value: rd},
		{Op: "write", Value: wr},
	}
	out.Networks = netDev(root + "/" + strconv.Itoa(initPid) + "/net/dev")
}

// readCPUTimes reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat file, parsing after the command name's last ')'.
func readCPUTimes(path string) (user, sys uint64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	k, err2 := strconv.ParseUint(f[12], 10, 64)
	return u, k, err1 == nil && err2 == nil
}

// systemCPU is the host's total CPU time in ticks, the sum of the
// "cpu" line of /proc/stat, as dockerd's getSystemCPUUsage.
func systemCPU(root string) uint64 {
	f, err := os.Open(root + "/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "cpu" {
			continue
		}
		var total uint64
		// user nice system idle iowait irq softirq: dockerd's seven.
		for _, v := range fields[1:min(len(fields), 8)] {
			n, _ := strconv.ParseUint(v, 10, 64)
			total += n
		}
		return total
	}
	return 0
}

// readKeyed returns the first number after key in a "key value" file.
func readKeyed(path, key string) uint64 {
	return readKeyedAll(path)[key]
}

// readKeyedAll reads a file of "key: value [unit]" lines.
func readKeyedAll(path string) map[string]uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[f[0]] = n
		}
	}
	return m
}

// netDev reads the interface counters of a network namespace from its
// /proc/<pid>/net/dev; the loopback is reported only when it is the only
// interface (--network none), so a bridged container shows eth0 alone.
func netDev(path string) map[string]container.NetworkStats {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	all := map[string]container.NetworkStats{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		n := make([]uint64, 16)
		for i := range n {
			n[i], _ = strconv.ParseUint(f[i], 10, 64)
		}
		all[strings.TrimSpace(name)] = container.NetworkStats{
			RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
		}
	}
	if len(all) > 1 {
		delete(all, "lo")
	}
	if len(all) == 0 {
		return nil
	}
	return all
}
