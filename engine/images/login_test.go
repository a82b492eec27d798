package images_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"

	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// A registry with TLS and basic authentication: login checks the
// credentials, push and pull need them, and the registry's certificate is
// in certs.d as Docker users put it.
func TestRegistryAuth(t *testing.T) {
	reg := regtest.StartT(t, regtest.Options{TLS: true, Users: map[string]string{"alice": "secret"}})
	certs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(certs, reg.Addr), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, reg.Addr, "ca.crt"), reg.CACert, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, images.Options{CertsDir: certs})
	ctx := context.Background()
	f.loadBusybox(t)
	good := &registry.AuthConfig{Username: "alice", Password: "secret", ServerAddress: reg.Addr}
	bad := &registry.AuthConfig{Username: "alice", Password: "wrong", ServerAddress: reg.Addr}

	resp, err := f.svc.Login(ctx, *good)
	if err != nil || resp.Status != "Login Succeeded" {
		t.Fatalf("Login = %+v, %v", resp, err)
	}
	for _, a := range []registry.AuthConfig{*bad, {ServerAddress: "https://" + reg.Addr + "/v2/"}} {
		_, err := f.svc.Login(ctx, a)
		if !errdefs.IsUnauthorized(err) || !strings.Contains(err.Error(), "login attempt to ") {
			t.Errorf("Login(%q/%q) = %v", a.Username, a.Password, err)
		}
	}
	if _, err := f.svc.Login(ctx, *bad); err == nil || !strings.Contains(err.Error(), "failed with status: 401 Unauthorized") {
		t.Errorf("Login with a wrong password = %v", err)
	}

	repo := reg.Addr + "/me/bb"
	if err := f.svc.Tag(ctx, "busybox", repo, "1"); err != nil {
		t.Fatal(err)
	}
	// Never a 401 for push and pull: the CLI would ask for a login.
	err = f.svc.Push(ctx, repo, "1", images.PushOptions{})
	if errdefs.IsUnauthorized(err) || !strings.Contains(err.Error(), "no basic auth credentials") {
		t.Errorf("Push without credentials = %v", err)
	}
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{Auth: good}); err != nil {
		t.Fatalf("Push with credentials: %v", err)
	}
	if _, err := f.svc.Remove(ctx, repo+":1", false, false); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Pull(ctx, repo+":1", images.PullOptions{})
	if errdefs.IsUnauthorized(err) || !strings.Contains(err.Error(), "no basic auth credentials") {
		t.Errorf("Pull without credentials = %v", err)
	}
	if err := f.svc.Pull(ctx, repo+":1", images.PullOptions{Auth: bad}); err == nil || errdefs.IsNotFound(err) || errdefs.IsUnauthorized(err) {
		t.Errorf("Pull with a wrong password = %v", err)
	}
	if err := f.svc.Pull(ctx, repo+":1", images.PullOptions{Auth: good}); err != nil {
		t.Errorf("Pull with credentials: %v", err)
	}
}
