package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/runc"
)

func TestRuncStateGone(t *testing.T) {
	root := t.TempDir()
	bundle := t.TempDir()
	if err := runc.WriteOptions(bundle, &options.Options{Root: root}); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "roost", "c1")

	// After the shim's own Delete runc has nothing left: skip.
	if gone, err := runcStateGone(bundle, "roost", "c1"); err != nil || !gone {
		t.Fatalf("no state dir: gone=%v err=%v, want true", gone, err)
	}

	// An aborted create leaves the directory without state.json; runc
	// delete still has it to remove.
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if gone, err := runcStateGone(bundle, "roost", "c1"); err != nil || gone {
		t.Fatalf("empty state dir: gone=%v err=%v, want false", gone, err)
	}

	// A live container (the shim was killed): runc must delete it.
	if err := os.WriteFile(filepath.Join(state, "state.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if gone, err := runcStateGone(bundle, "roost", "c1"); err != nil || gone {
		t.Fatalf("state.json present: gone=%v err=%v, want false", gone, err)
	}

	// Another namespace or id is another directory.
	if gone, err := runcStateGone(bundle, "other", "c1"); err != nil || !gone {
		t.Fatalf("other namespace: gone=%v err=%v, want true", gone, err)
	}
}

func TestRuncStateGoneBadOptions(t *testing.T) {
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "options.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if gone, err := runcStateGone(bundle, "roost", "c1"); err == nil || gone {
		t.Fatalf("unreadable options: gone=%v err=%v, want an error", gone, err)
	}
}

func TestRuncStateGoneDefaultRoot(t *testing.T) {
	// No options file: the shim's default root, where no container with
	// this id exists.
	bundle := t.TempDir()
	if gone, err := runcStateGone(bundle, "roost-test-ns", "no-such-container"); err != nil || !gone {
		t.Fatalf("default root: gone=%v err=%v, want true", gone, err)
	}
}
