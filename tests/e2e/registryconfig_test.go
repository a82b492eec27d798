package e2e

// These tests restart the shared daemon with a daemon.json of registry
// settings and put the usual one back at the end. This file's name sorts
// before survival_test.go, whose tests must stay last.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roostd/roost/tests/regtest"
)

// TestRegistryConfig: registry-mirrors, insecure-registries and the
// transfer limits of daemon.json show in docker info as dockerd shows
// them, and `docker pull busybox` is served by the mirror on loopback:
// this machine has no route to Docker Hub, so the pull cannot succeed any
// other way.
func TestRegistryConfig(t *testing.T) {
	needRoostd(t)
	mirror, err := regtest.StartWith(filepath.Join(harness.tmp, "registry-mirror"), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mirror.Stop(); err != nil {
			t.Errorf("the mirror registry: %v", err)
		}
	})
	// The mirror holds Docker Hub's library/busybox: this busybox.
	hubName := mirror.Addr + "/library/busybox:latest"
	dockerOK(t, "tag", "busybox", hubName)
	dockerOK(t, "push", hubName)
	dockerOK(t, "rmi", hubName)
	id := dockerOK(t, "image", "inspect", "-f", "{{.Id}}", "busybox")

	conf := filepath.Join(harness.tmp, "registry-daemon.json")
	b, _ := json.Marshal(map[string]any{
		"registry-mirrors":         []string{"http://" + mirror.Addr},
		"insecure-registries":      []string{"myreg.example:5000", "10.99.0.0/16"},
		"max-concurrent-downloads": 2,
		"max-concurrent-uploads":   4,
	})
	if err := os.WriteFile(conf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	restartSharedDaemonWith(t, "--config-file", conf)

	info := dockerOK(t, "info")
	for _, want := range []string{
		" Insecure Registries:\n  myreg.example:5000\n",
		"  10.99.0.0/16\n",
		"  127.0.0.0/8\n",
		" Registry Mirrors:\n  http://" + mirror.Addr + "/\n",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("docker info lacks %q:\n%s", want, info)
		}
	}
	var rc struct {
		Mirrors      []string
		IndexConfigs map[string]struct {
			Name     string
			Mirrors  []string
			Secure   bool
			Official bool
		}
	}
	if err := json.Unmarshal([]byte(dockerOK(t, "info", "--format", "{{json .RegistryConfig}}")), &rc); err != nil {
		t.Fatal(err)
	}
	if hub := rc.IndexConfigs["docker.io"]; !hub.Official || !hub.Secure || len(hub.Mirrors) != 1 || hub.Mirrors[0] != "http://"+mirror.Addr+"/" {
		t.Errorf("IndexConfigs[docker.io] = %+v", hub)
	}
	if reg := rc.IndexConfigs["myreg.example:5000"]; reg.Name != "myreg.example:5000" || reg.Secure {
		t.Errorf("IndexConfigs[myreg.example:5000] = %+v, want an insecure entry", reg)
	}

	out := dockerOK(t, "pull", "busybox")
	if !strings.Contains(out, "Status: Image is up to date for busybox:latest") {
		t.Errorf("docker pull busybox printed:\n%s", out)
	}
	if got := dockerOK(t, "image", "inspect", "-f", "{{.Id}}", "busybox"); got != id {
		t.Errorf("busybox is %s after the pull, want %s", got, id)
	}
	// Any repository of Docker Hub goes to the mirror, not only library/.
	dockerOK(t, "tag", "busybox", mirror.Addr+"/regconf/bb:1")
	dockerOK(t, "push", mirror.Addr+"/regconf/bb:1")
	dockerOK(t, "rmi", mirror.Addr+"/regconf/bb:1")
	if out := dockerOK(t, "pull", "regconf/bb:1"); !strings.HasSuffix(out, "\ndocker.io/regconf/bb:1") {
		t.Errorf("docker pull regconf/bb:1 printed:\n%s", out)
	}
	dockerOK(t, "rmi", "regconf/bb:1")
}

// TestRegistryConfigInvalid: registry settings dockerd refuses stop
// roostd at start, with dockerd's message.
func TestRegistryConfigInvalid(t *testing.T) {
	needRoostd(t)
	u := harness.user
	cases := map[string]string{
		`{"max-concurrent-downloads": -1}`:             "invalid max concurrent downloads: -1",
		`{"max-concurrent-uploads": -2}`:               "invalid max concurrent uploads: -2",
		`{"registry-mirrors": ["mirror.example"]}`:     `invalid mirror: no scheme specified for "mirror.example": must use either 'https://' or 'http://'`,
		`{"insecure-registries": ["ftp://r.example"]}`: "insecure registry ftp://r.example should not contain '://'",
	}
	for body, want := range cases {
		conf := filepath.Join(harness.tmp, "registry-invalid.json")
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), "--config-file", conf)
		cmd.Env = u.daemonEnv(harness.binDir)
		cmd.Dir = u.Home
		cmd.SysProcAttr = u.sysProcAttr()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("roostd with %s: %v, want exit status 2\n%s", body, err, stderr.String())
			continue
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("roostd with %s said %q, want %q", body, stderr.String(), want)
		}
	}
}
