package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServiceUnit(t *testing.T) {
	text := ServiceUnit("/opt/roost/bin/roostd")
	for _, want := range []string{
		"Type=notify\n",
		"NotifyAccess=main\n",
		"ExecStart=/opt/roost/bin/roostd -H fd://\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n",
		"KillMode=mixed\n",
		"Delegate=yes\n",
		"Restart=on-failure\n",
		"TimeoutStopSec=60\n",
		"Environment=PATH=/opt/roost/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		"Requires=roost.socket\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("roost.service lacks %q:\n%s", want, text)
		}
	}
}

func TestServiceUnitQuotes(t *testing.T) {
	text := ServiceUnit("/home/a b/100%/roostd")
	if want := `ExecStart="/home/a b/100%%/roostd" -H fd://` + "\n"; !strings.Contains(text, want) {
		t.Errorf("roost.service lacks %q:\n%s", want, text)
	}
	if want := `Environment="PATH=/home/a b/100%%:`; !strings.Contains(text, want) {
		t.Errorf("roost.service lacks %q:\n%s", want, text)
	}
}

func TestSocketUnit(t *testing.T) {
	text := SocketUnit()
	for _, want := range []string{
		"ListenStream=%t/docker.sock\n",
		"SocketMode=0600\n",
		"WantedBy=sockets.target\n",
		"Service=roost.service\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("roost.socket lacks %q:\n%s", want, text)
		}
	}
}

// TestUnitsVerify runs systemd's own checker over the units, for a roostd
// that exists (systemd-analyze checks that ExecStart is executable).
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd): units not verified")
	}
	dir := t.TempDir()
	roostd := filepath.Join(dir, "bin", "roostd")
	if err := os.MkdirAll(filepath.Dir(roostd), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(roostd, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	units := filepath.Join(dir, "units")
	if err := os.Mkdir(units, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{ServiceUnitName: ServiceUnit(roostd), SocketUnitName: SocketUnit()} {
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "--user", "verify", SocketUnitName, ServiceUnitName)
	cmd.Dir = units
	// --user needs a runtime dir, which root and some CI users lack.
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice", "XDG_RUNTIME_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
