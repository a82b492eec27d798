package buildsvc

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestRemoteKind(t *testing.T) {
	for _, tc := range []struct{ in, kind string }{
		{"https://example.com/repo.git", "git"},
		{"https://example.com/repo.git#main:sub/dir", "git"},
		{"git://127.0.0.1:9418/repo", "git"},
		{"git@example.com:me/repo.git", "git"},
		{"github.com/me/repo", "git"},
		{"http://127.0.0.1:8080/ctx.tar", "url"},
		{"https://example.com/Dockerfile", "url"},
		{"https://example.com/repo.gitx", "url"},
	} {
		kind, err := remoteKind(tc.in)
		if err != nil || kind != tc.kind {
			t.Errorf("remoteKind(%q) = %q, %v; want %q", tc.in, kind, err, tc.kind)
		}
	}
	for in, msg := range map[string]string{
		"ftp://example.com/ctx.tar": "remoteURL (ftp://example.com/ctx.tar) could not be recognized as URL",
		"ctx.tar":                   "remoteURL (ctx.tar) could not be recognized as URL",
		"client-session":            "experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead",
	} {
		_, err := remoteKind(in)
		if !errdefs.IsInvalidArgument(err) || err.Error() != msg {
			t.Errorf("remoteKind(%q): %v; want invalid argument %q", in, err, msg)
		}
	}
}

func TestRemoteAttrs(t *testing.T) {
	attrs := map[string]string{}
	if err := remoteAttrs(attrs, "http://127.0.0.1:1/c.tar", "sub/Dockerfile"); err != nil {
		t.Fatal(err)
	}
	if attrs["context"] != "http://127.0.0.1:1/c.tar" || attrs["filename"] != "sub/Dockerfile" {
		t.Errorf("attrs: %v", attrs)
	}
}
