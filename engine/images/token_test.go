package images_test

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"

	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// A registry with bearer token authentication, as Docker Hub has: login
// gets a token with the password, push and pull get theirs for the
// repository, and wrong or missing credentials give dockerd's errors.
func TestRegistryTokenAuth(t *testing.T) {
	reg := regtest.StartT(t, regtest.Options{Token: true, Users: map[string]string{"bob": "hunter2"}})
	f := newFixture(t)
	ctx := context.Background()
	f.loadBusybox(t)
	good := &registry.AuthConfig{Username: "bob", Password: "hunter2", ServerAddress: reg.Addr}
	bad := &registry.AuthConfig{Username: "bob", Password: "wrong", ServerAddress: reg.Addr}

	resp, err := f.svc.Login(ctx, *good)
	if err != nil || resp.Status != "Login Succeeded" {
		t.Fatalf("Login = %+v, %v", resp, err)
	}
	_, err = f.svc.Login(ctx, *bad)
	// (The URL is https:// first: loopback is tried with TLS, then
	// plain HTTP, as in dockerd.)
	if want := reg.Addr + `/v2/": unauthorized: incorrect username or password`; !errdefs.IsUnauthorized(err) || !strings.HasPrefix(err.Error(), `Get "http`) || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Login with a wrong password = %v, want Unauthorized `Get \"…%s`", err, want)
	}

	repo := reg.Addr + "/me/tok"
	if err := f.svc.Tag(ctx, "busybox", repo, "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{}); err == nil || errdefs.IsUnauthorized(err) {
		t.Errorf("Push without credentials = %v, want an error that is not a 401", err)
	}
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{Auth: good}); err != nil {
		t.Fatalf("Push with a token: %v", err)
	}
	if _, err := f.svc.Remove(ctx, repo+":1", false, false); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Pull(ctx, repo+":1", images.PullOptions{})
	if want := "pull access denied for " + repo + ", repository does not exist or may require 'docker login'"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Pull without credentials = %v, want %q…", err, want)
	}
	if err := f.svc.Pull(ctx, repo+":1", images.PullOptions{Auth: bad}); err == nil || errdefs.IsUnauthorized(err) {
		t.Errorf("Pull with a wrong password = %v, want an error that is not a 401", err)
	}
	if err := f.svc.Pull(ctx, repo+":1", images.PullOptions{Auth: good}); err != nil {
		t.Errorf("Pull with a token: %v", err)
	}
	if tags, err := f.svc.Tags(ctx, repo, good); err != nil || len(tags) != 1 || tags[0] != "1" {
		t.Errorf("Tags with a token = %q, %v", tags, err)
	}
}
