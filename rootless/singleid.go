package rootless

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// selfIDsEnv holds "<uid> <gid>" in the keeper's environment in single-ID
// mode: the keeper binary then also stands in for getsubids(1).
const selfIDsEnv = "_ROOST_SINGLE_ID"

// getsubidsEnv names the getsubids program RootlessKit runs for its
// dynamic subid source, which it asks before /etc/subuid.
const getsubidsEnv = "GETSUBIDS"

// subIDTotal is how many IDs a subuid or subgid file gives the user, by
// name or by uid.
func subIDTotal(data []byte, name string, uid int) int {
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(uid)) {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			total += n
		}
	}
	return total
}

// SingleID tells whether the current user has no subordinate IDs, as on
// many shared login nodes: neither getsubids (libsubid, where a site keeps
// them in LDAP or SSSD; RootlessKit asks it first) nor /etc/subuid and
// /etc/subgid give a range. The namespace then maps the user's own IDs
// alone, to root.
func SingleID() bool {
	u, err := user.Current()
	if err != nil {
		return false
	}
	static := true
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(file)
		if subIDTotal(data, u.Username, os.Getuid()) == 0 {
			static = false
		}
	}
	return !static && !dynamicSubIDs(u.Username)
}

// dynamicSubIDs tells whether getsubids(1) gives the user both ranges.
func dynamicSubIDs(name string) bool {
	exe := os.Getenv(getsubidsEnv)
	if exe == "" {
		exe = "getsubids"
	}
	path, err := exec.LookPath(exe)
	if err != nil {
		return false
	}
	for _, args := range [][]string{{name}, {"-g", name}} {
		out, err := exec.Command(path, args...).Output()
		if err != nil || getsubidsTotal(out) == 0 {
			return false
		}
	}
	return true
}

// getsubidsTotal counts the IDs in getsubids' answer, lines of
// "<index>: <owner> <start> <count>".
func getsubidsTotal(out []byte) int {
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		_, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) != 3 {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			total += n
		}
	}
	return total
}

// singleIDEnv is what the keeper needs in single-ID mode: RootlessKit asks
// its getsubids, which is the keeper itself answering with the user's own
// IDs. RootlessKit drops the own ID from the ranges it gets (it maps it to
// root already), so the map is "0 <uid> 1", which newuidmap and newgidmap
// allow without any /etc/subuid entry.
func singleIDEnv(keeper string) []string {
	return []string{getsubidsEnv + "=" + keeper, fmt.Sprintf("%s=%d %d", selfIDsEnv, os.Getuid(), os.Getgid())}
}

// answerGetsubids answers as `getsubids [-g] <user>` when the keeper was
// run as RootlessKit's getsubids in single-ID mode, and says whether it
// did.
func answerGetsubids(args []string, w io.Writer) bool {
	ids := os.Getenv(selfIDsEnv)
	if ids == "" || len(args) == 0 {
		return false
	}
	uid, gid, _ := strings.Cut(ids, " ")
	id := uid
	if args[0] == "-g" {
		id = gid
		args = args[1:]
	}
	if len(args) != 1 {
		return false
	}
	// getsubids' format: "<index>: <owner> <start> <count>".
	fmt.Fprintf(w, "0: %s %s 1\n", args[0], id)
	return true
}

// MappedIDs is how many user IDs the current user namespace maps (1 in
// single-ID mode), read from /proc/self/uid_map; 0 if it cannot tell.
func MappedIDs() int {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return 0
	}
	return mappedIDs(b)
}

func mappedIDs(uidMap []byte) int {
	n := 0
	for _, line := range strings.Split(string(uidMap), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		c, err := strconv.Atoi(f[2])
		if err != nil {
			return 0
		}
		n += c
	}
	return n
}

// SquashDiffSocket is where roostd serves, in single-ID mode, the differ
// that containerd's diff service uses to unpack layers (with every owner
// squashed to root) for BuildKit.
func (p Paths) SquashDiffSocket() string { return filepath.Join(p.StateDir, "squash-diff.sock") }
