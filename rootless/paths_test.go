package rootless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvePaths(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1234")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	p, err := ResolvePaths("")
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{RuntimeDir: "/run/user/1234", StateDir: "/run/user/1234/roost", Socket: "/run/user/1234/docker.sock",
		DataDir: filepath.Join(home, ".local/share/roost"), ConfigDir: filepath.Join(home, ".config/roost")}
	if p != want {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	if p, err := ResolvePaths("/data/roost"); err != nil || p.DataDir != "/data/roost" {
		t.Fatalf("data-root: %+v %v", p, err)
	}
	if _, err := ResolvePaths("relative"); err == nil {
		t.Fatal("relative data-root accepted")
	}
}

func TestRuntimeDirFallback(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	p, err := ResolvePaths("")
	if err != nil {
		t.Fatal(err)
	}
	if !p.RuntimeDirFallback || !strings.HasPrefix(p.RuntimeDir, tmp) {
		t.Fatalf("got %+v", p)
	}
	fi, err := os.Stat(p.RuntimeDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("fallback dir: %v %v", fi.Mode(), err)
	}
	// A fallback directory others can enter must be refused, not used.
	if err := os.Chmod(p.RuntimeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolvePaths(""); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("got %v", err)
	}
}

func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{"garbage": "abc", "negative": "-4", "dead": "2147483646"}
	for name, content := range cases {
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(content), 0o600)
		if pid := ReadPID(f); pid != 0 {
			t.Errorf("%s: got %d", name, pid)
		}
	}
	self := filepath.Join(dir, "self")
	if err := WritePID(self); err != nil {
		t.Fatal(err)
	}
	if pid := ReadPID(self); pid != os.Getpid() {
		t.Fatalf("got %d", pid)
	}
}

func TestDataDirOnNetworkFS(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	old := statfsType
	t.Cleanup(func() { statfsType = old })
	statfsType = func(path string) (int64, error) {
		if path == home || strings.HasPrefix(path, home+"/") {
			return 0x6969, nil // NFS
		}
		return 0xEF53, nil // ext4
	}
	p, err := ResolvePaths("")
	if err != nil {
		t.Fatal(err)
	}
	if p.DataDirMoved != "NFS" || !strings.HasPrefix(p.DataDir, os.TempDir()+"/roost-") {
		t.Fatalf("a home on NFS: data dir %s (moved because of %q), want one in %s", p.DataDir, p.DataDirMoved, os.TempDir())
	}
	// An explicit data root is kept, wherever it is.
	if p, err = ResolvePaths(filepath.Join(home, "data")); err != nil || p.DataDir != filepath.Join(home, "data") {
		t.Fatalf("--data-root on NFS: %s, %v", p.DataDir, err)
	}
	statfsType = func(string) (int64, error) { return 0xEF53, nil }
	if p, err = ResolvePaths(""); err != nil || p.DataDirMoved != "" || p.DataDir != filepath.Join(home, ".local/share/roost") {
		t.Fatalf("a local home: %s (moved %q), %v", p.DataDir, p.DataDirMoved, err)
	}
}
