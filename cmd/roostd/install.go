package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/roostd/roost/rootless"
	"github.com/roostd/roost/systemd"
)

// dockerContext is the name of the docker CLI context install creates.
const dockerContext = "roost"

// runInstall is `roostd install`: the systemd user units, enabled when a
// user manager runs, and a docker context for the socket.
func runInstall(args []string) int {
	fs := flag.NewFlagSet("roostd install", flag.ContinueOnError)
	force := fs.Bool("force", false, "overwrite units that differ from what this roostd would write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := install(*force); err != nil {
		fmt.Fprintln(os.Stderr, "roostd install:", err)
		return 1
	}
	return 0
}

func install(force bool) error {
	if os.Geteuid() == 0 {
		return errors.New("run it as the user who will use the engine, not as root: the units are per-user (systemctl --user)")
	}
	binDir, err := selfDir()
	if err != nil {
		return err
	}
	unitDir, err := userUnitDir()
	if err != nil {
		return err
	}
	units := map[string]string{
		systemd.ServiceUnitName: systemd.ServiceUnit(filepath.Join(binDir, "roostd")),
		systemd.SocketUnitName:  systemd.SocketUnit(),
	}
	// Check both before writing either, so a refusal leaves nothing half done.
	for name, text := range units {
		old, err := os.ReadFile(filepath.Join(unitDir, name))
		if err == nil && !bytes.Equal(old, []byte(text)) && !force {
			return fmt.Errorf("%s exists and differs from what this roostd writes; use --force to replace it", filepath.Join(unitDir, name))
		}
	}
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{systemd.ServiceUnitName, systemd.SocketUnitName} {
		path := filepath.Join(unitDir, name)
		if err := os.WriteFile(path, []byte(units[name]), 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	enable := [][]string{{"daemon-reload"}, {"enable", systemd.SocketUnitName}}
	if userManager() {
		for _, a := range enable {
			if err := systemctl(a...); err != nil {
				return err
			}
		}
		fmt.Printf("enabled %s: it starts with your session; start it now with\n  systemctl --user start %s\n", systemd.SocketUnitName, systemd.SocketUnitName)
	} else {
		fmt.Println("no systemd user manager answers here; once one runs (log in through a session, or `loginctl enable-linger $USER`), enable the socket with:")
		for _, a := range enable {
			fmt.Println("  systemctl --user " + strings.Join(a, " "))
		}
		fmt.Println("  systemctl --user start " + systemd.SocketUnitName)
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		if _, err := os.Stat(filepath.Join("/var/lib/systemd/linger", currentUser())); err != nil {
			fmt.Printf("lingering is off: the engine stops when you log out; to keep it: loginctl enable-linger %s\n", currentUser())
		}
	}
	createDockerContext()
	return nil
}

// runUninstall is `roostd uninstall`: stops and removes the units and the
// docker context; --purge removes the engine's data too.
func runUninstall(args []string) int {
	fs := flag.NewFlagSet("roostd uninstall", flag.ContinueOnError)
	purge := fs.Bool("purge", false, "also delete the data root (images, containers, volumes): there is no undo")
	dataRoot := fs.String("data-root", "", "the data root --purge deletes (default $XDG_DATA_HOME/roost)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := uninstall(*purge, *dataRoot); err != nil {
		fmt.Fprintln(os.Stderr, "roostd uninstall:", err)
		return 1
	}
	return 0
}

func uninstall(purge bool, dataRoot string) error {
	unitDir, err := userUnitDir()
	if err != nil {
		return err
	}
	manager := userManager()
	if manager {
		// Errors are fine here: the units may already be stopped or gone.
		_ = systemctl("disable", "--now", systemd.SocketUnitName, systemd.ServiceUnitName)
	}
	for _, name := range []string{systemd.SocketUnitName, systemd.ServiceUnitName} {
		path := filepath.Join(unitDir, name)
		if err := os.Remove(path); err == nil {
			fmt.Println("removed", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if manager {
		_ = systemctl("daemon-reload")
	}
	removeDockerContext()
	if !purge {
		return nil
	}
	p, err := rootless.ResolvePaths(dataRoot)
	if err != nil {
		return err
	}
	if pid := rootless.ReadPID(p.PIDFile("roostd")); pid != 0 {
		return fmt.Errorf("roostd (pid %d) still runs; stop it (kill -TERM %d) before --purge", pid, pid)
	}
	if pid := rootless.ReadPID(p.PIDFile("keeper")); pid != 0 {
		return fmt.Errorf("the namespace keeper (pid %d) still runs (roostd stopped with --live-restore?); stop it (kill -TERM %d) before --purge", pid, pid)
	}
	for _, dir := range []string{p.DataDir, p.StateDir} {
		if err := removeTree(dir); err != nil {
			return err
		}
		fmt.Println("removed", dir)
	}
	return nil
}

// removeTree removes a directory that holds files of the user's
// subordinate IDs (image layers): those are removed as root of a user
// namespace that maps them, as `podman unshare rm` does.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	out, err2 := exec.Command("unshare", "--user", "--map-root-user", "--map-auto", "rm", "-rf", "--", dir).CombinedOutput()
	if err2 != nil {
		return fmt.Errorf("removing %s: %v; then with unshare: %v: %s", dir, err, err2, bytes.TrimSpace(out))
	}
	return nil
}

// userUnitDir is where systemd looks for the user's own units.
func userUnitDir() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "systemd", "user"), nil
}

// userManager tells whether a systemd user manager answers for this user.
func userManager() bool {
	if _, err := exec.LookPath("systemctl"); err != nil {
		return false
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		if _, err := os.Stat(filepath.Join(rt, "systemd", "private")); err == nil {
			return true
		}
		if _, err := os.Stat(filepath.Join(rt, "bus")); err == nil {
			return true
		}
	}
	// is-system-running exits non-zero for "degraded" too; what matters is
	// that the manager answered at all.
	out, _ := exec.Command("systemctl", "--user", "is-system-running").Output()
	switch strings.TrimSpace(string(out)) {
	case "initializing", "starting", "running", "degraded", "maintenance", "stopping":
		return true
	}
	return false
}

func systemctl(args ...string) error {
	cmd := exec.Command("systemctl", append([]string{"--user"}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemctl --user %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprint(os.Getuid())
}

// socketPath is where the socket unit listens (%t/docker.sock).
func socketPath() string {
	rt := os.Getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		rt = fmt.Sprintf("/run/user/%d", os.Getuid())
	}
	return filepath.Join(rt, "docker.sock")
}

// createDockerContext adds the docker CLI context roost, unless the CLI is
// missing or the context exists. It only warns on failure: the units work
// without it.
func createDockerContext() {
	docker, err := exec.LookPath("docker")
	if err != nil {
		fmt.Printf("no docker CLI on PATH: no docker context created; use DOCKER_HOST=unix://%s\n", socketPath())
		return
	}
	if exec.Command(docker, "context", "inspect", dockerContext).Run() == nil {
		fmt.Printf("docker context %s exists; left as it is\n", dockerContext)
		return
	}
	out, err := exec.Command(docker, "context", "create", dockerContext,
		"--description", "roost rootless engine", "--docker", "host=unix://"+socketPath()).CombinedOutput()
	if err != nil {
		fmt.Printf("WARNING: docker context create %s failed: %v: %s\n", dockerContext, err, bytes.TrimSpace(out))
		return
	}
	fmt.Printf("created docker context %s; use it with: docker context use %s\n", dockerContext, dockerContext)
}

func removeDockerContext() {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return
	}
	if exec.Command(docker, "context", "inspect", dockerContext).Run() != nil {
		return
	}
	// -f: it may be the current context; docker then falls back to default.
	if out, err := exec.Command(docker, "context", "rm", "-f", dockerContext).CombinedOutput(); err != nil {
		fmt.Printf("WARNING: docker context rm %s failed: %v: %s\n", dockerContext, err, bytes.TrimSpace(out))
		return
	}
	fmt.Println("removed docker context", dockerContext)
}
