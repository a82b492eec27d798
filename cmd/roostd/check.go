package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/roostd/roost/rootless"
)

// subcommands are what `roostd <name>` runs instead of the daemon: they set
// up or check the user's machine and exit.
var subcommands = map[string]func(args []string) int{
	"check":     runCheck,
	"install":   runInstall,
	"uninstall": runUninstall,
}

// runCheck is `roostd check`: one line per prerequisite with its state and
// the command that fixes it. The exit status is 1 when a required one is
// missing.
func runCheck(args []string) int {
	fs := flag.NewFlagSet("roostd check", flag.ContinueOnError)
	dataRoot := fs.String("data-root", "", "the data root to check (default $XDG_DATA_HOME/roost)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	binDir, err := selfDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "roostd check:", err)
		return 2
	}
	dataDir := *dataRoot
	if dataDir == "" {
		dataDir = defaultDataDir()
	}
	cs := rootless.Preflight(rootless.LocalHost(binDir, dataDir))
	cs = append(cs, rootless.CheckOverlayInUserNS(dataDir))
	for _, c := range cs {
		fmt.Println(c)
	}
	if rootless.Failed(cs) {
		fmt.Println("\nroostd cannot run until what is MISSING is fixed.")
		return 1
	}
	return 0
}

// selfDir is the directory of the running roostd, symlinks resolved: the
// pinned binaries are beside it.
func selfDir() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	return filepath.Dir(self), nil
}

// defaultDataDir is rootless.ResolvePaths' data directory, without its
// side effect of creating a fallback runtime directory.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "roost")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "roost")
}
