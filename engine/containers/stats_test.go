package containers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func writeProc(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProcStats(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, "stat", "cpu  100 5 50 1000 10 1 2 7 0 0\ncpu0 50 2 25 500 5 0 1 0 0 0\n")
	writeProc(t, root, "meminfo", "MemTotal:        2048 kB\nMemFree:  1000 kB\n")
	// utime 30, stime 10; the name holds ") " to test the parsing.
	writeProc(t, root, "10/stat", "10 (sh) x) S 1 10 10 0 -1 4194560 100 0 0 0 30 10 0 0 20 0 1 0 100 1000 50\n")
	writeProc(t, root, "10/status", "Name:\tsh\nVmRSS:\t     400 kB\n")
	writeProc(t, root, "10/io", "rchar: 5\nread_bytes: 4096\nwrite_bytes: 8192\n")
	writeProc(t, root, "11/stat", "11 (cat) R 10 10 10 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 1000 50\n")
	writeProc(t, root, "11/status", "VmRSS:\t100 kB\n")
	writeProc(t, root, "10/net/dev", `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     10       1    0    0    0     0          0         0       10       1    0    0    0     0       0          0
  eth0:   1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0
`)
	var s container.StatsResponse
	procStats(&s, root, 10, []int{10, 11})
	const ns = 10_000_000
	if got := s.CPUStats.CPUUsage.TotalUsage; got != 50*ns {
		t.Errorf("total usage %d", got)
	}
	if s.CPUStats.CPUUsage.UsageInUsermode != 35*ns || s.CPUStats.CPUUsage.UsageInKernelmode != 15*ns {
		t.Errorf("cpu usage %+v", s.CPUStats.CPUUsage)
	}
	if got := s.CPUStats.SystemUsage; got != 1168*ns {
		t.Errorf("system usage %d", got)
	}
	if s.MemoryStats.Usage != 500*1024 || s.MemoryStats.Limit != 2048*1024 {
		t.Errorf("memory %+v", s.MemoryStats)
	}
	if s.PidsStats.Current != 2 {
		t.Errorf("pids %d", s.PidsStats.Current)
	}
	b := s.BlkioStats.IoServiceBytesRecursive
	if len(b) != 2 || b[0].Value != 4096 || b[1].Value != 8192 {
		t.Errorf("blkio %+v", b)
	}
	eth, ok := s.Networks["eth0"]
	if len(s.Networks) != 1 || !ok || eth.RxBytes != 1000 || eth.TxBytes != 2000 || eth.RxDropped != 2 || eth.TxPackets != 20 {
		t.Errorf("networks %+v", s.Networks)
	}
	if s.Read.IsZero() || s.OSType != "linux" {
		t.Errorf("read %v os %q", s.Read, s.OSType)
	}
}

func TestNetDevLoopbackOnly(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, "dev", "h\nh\n    lo:     10       1    0    0    0     0          0         0       10       1    0    0    0     0       0          0\n")
	n := netDev(filepath.Join(root, "dev"))
	if len(n) != 1 || n["lo"].RxBytes != 10 {
		t.Errorf("networks %+v", n)
	}
	if netDev(filepath.Join(root, "missing")) != nil {
		t.Error("missing file gave networks")
	}
}
