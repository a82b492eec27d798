package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/roostd/roost/tests/regtest"
)

// TestSearch: `docker search` against a registry with a search API (a
// small loopback server answering /v1/search as Docker Hub's index does),
// with the limit and the filters; against the distribution registry,
// which has none, dockerd's error.
func TestSearch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results := []registry.SearchResult{
		{Name: "searchtest/official", Description: "an official image", StarCount: 42, IsOfficial: true},
		{Name: "searchtest/mine", Description: "my image", StarCount: 3},
		{Name: "searchtest/unloved", Description: "nobody's favourite", StarCount: 0},
	}
	queries := make(chan string, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		select {
		case queries <- r.URL.RawQuery:
		default:
		}
		_ = json.NewEncoder(w).Encode(registry.SearchResults{Query: r.URL.Query().Get("q"), NumResults: len(results), Results: results})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host := ln.Addr().String()

	out := dockerOK(t, "search", host+"/searchtest")
	if q := <-queries; q != "q=searchtest&n=25" {
		t.Errorf("the registry was asked %q, want q=searchtest&n=25", q)
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "STARS") {
		t.Fatalf("docker search printed:\n%s", out)
	}
	for i, r := range results {
		if f := strings.Fields(lines[i+1]); f[0] != r.Name {
			t.Errorf("line %d is %q, want %s first", i+1, lines[i+1], r.Name)
		}
	}
	if !strings.Contains(lines[1], "[OK]") || strings.Contains(lines[2], "[OK]") {
		t.Errorf("the OFFICIAL column is wrong:\n%s", out)
	}

	out = dockerOK(t, "search", "--filter", "is-official=true", "--format", "{{.Name}} {{.StarCount}}", host+"/searchtest")
	<-queries
	if out != "searchtest/official 42" {
		t.Errorf("search --filter is-official=true printed %q", out)
	}
	out = dockerOK(t, "search", "--filter", "stars=3", "--limit", "10", "--format", "{{.Name}}", host+"/searchtest")
	if q := <-queries; q != "q=searchtest&n=10" {
		t.Errorf("with --limit 10 the registry was asked %q", q)
	}
	if out != "searchtest/official\nsearchtest/mine" {
		t.Errorf("search --filter stars=3 printed %q", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--limit", "101", host + "/x"}, "limit 101 is outside the range of [1, 100]"},
		{[]string{"--filter", "nosuch=1", host + "/x"}, "invalid filter 'nosuch'"},
		{[]string{"--filter", "stars=many", host + "/x"}, "invalid filter 'stars=many'"},
	} {
		r := docker(t, append([]string{"search"}, tc.args...)...)
		if r.Err == nil || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("docker search %s: %v, want an error saying %q", strings.Join(tc.args, " "), r, tc.want)
		}
	}

	reg, err := regtest.StartWith(filepath.Join(harness.tmp, "registry-search"), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Stop(); err != nil {
			t.Error(err)
		}
	})
	r := docker(t, "search", reg.Addr+"/busybox")
	if r.Err == nil || !strings.Contains(r.Stderr, "Error response from daemon: Unexpected status code 404") && !strings.Contains(r.Stderr, "Error response from daemon: unexpected status code 404") {
		t.Errorf("docker search of the distribution registry: %v, want dockerd's 'unexpected status code 404'", r)
	}
}
