package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptTimeout bounds the whole set of scripts, so that one docker
// command that hangs fails its script in minutes rather than eating the
// suite's 30-minute budget.
const scriptTimeout = 5 * time.Minute

// TestScripts runs testdata/*.txtar, in parallel, against the one daemon
// TestMain started. Each script runs real docker commands and checks what a
// user sees; commands: see scriptCmds.
func TestScripts(t *testing.T) {
	deadline := time.Now().Add(scriptTimeout)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Work dirs go into the run's temporary dir: TestMain removes them with
	// it (E2E_KEEP keeps them), and none leaks when -run picks some scripts.
	root := filepath.Join(harness.tmp, "scripts")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stopRegistries(); err != nil {
			t.Error(err)
		}
	})
	testscript.Run(t, testscript.Params{
		Dir:                "testdata",
		WorkdirRoot:        root,
		Setup:              setupScript,
		Cmds:               scriptCmds(),
		Condition:          scriptCondition,
		Deadline:           deadline,
		RequireUniqueNames: true,
	})
}

// scriptEnv is the environment the scripts get on top of testscript's own.
func scriptEnv() map[string]string {
	return map[string]string{
		"DOCKER_HOST":      harness.dockerHost,
		"DOCKER_CONFIG":    harness.dockerConfig,
		"DOCKER_CLI_HINTS": "false",
		"BUSYBOX_TAR":      harness.busyboxTar,
		"BUSYBOX_ROOTFS":   harness.busyboxRootfs,
		// The CLI TestMain chose comes first, whatever else PATH has.
		"PATH": filepath.Dir(harness.dockerCLI) + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

func setupScript(env *testscript.Env) error {
	// $REGISTRY and $AUTH_REGISTRY: the shared test registries
	// (registry_test.go).
	regs, err := registryEnv()
	if err != nil {
		return err
	}
	for k, v := range regs {
		env.Setenv(k, v)
	}
	for k, v := range scriptEnv() {
		env.Setenv(k, v)
	}
	return nil
}

// scriptCondition adds [roost]: true when the daemon is the roostd the
// harness started, false against E2E_DOCKER_HOST. Lines that check what
// only roost prints (its name, its storage driver) carry it.
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "roost":
		return harness.managed, nil
	}
	return false, errUnknownCondition(cond)
}

type errUnknownCondition string

func (e errUnknownCondition) Error() string { return "unknown condition " + string(e) }
