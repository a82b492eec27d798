package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/roostd/roost/internal/testenv"
)

// proc is a process found in /proc.
type proc = testenv.Proc

// pssKB reads the proportional set size of pid, which shares each page
// between the processes that map it. A process that is not dumpable hides
// it from an unprivileged caller.
func pssKB(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Pss" {
			if f := strings.Fields(v); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no Pss line in /proc/%d/smaps_rollup", pid)
}
