package httpapi

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxAPIVersionIsSwaggers keeps MaxAPIVersion equal to the API version
// of the pinned github.com/moby/moby/api module, whose types we serve.
func TestMaxAPIVersionIsSwaggers(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moby/moby/api").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	f, err := os.Open(filepath.Join(strings.TrimSpace(string(out)), "swagger.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inInfo := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			inInfo = line == "info:"
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "version:"); ok && inInfo {
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if v != MaxAPIVersion {
				t.Fatalf("swagger.yaml info.version = %s, MaxAPIVersion = %s", v, MaxAPIVersion)
			}
			return
		}
	}
	t.Fatal("no info.version in swagger.yaml")
}

func TestVersionPrefix(t *testing.T) {
	f := newFixture()
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/_ping", 200, ""},
		{"/v1.56/_ping", 200, ""},
		{"/v1.24/_ping", 200, ""},
		{"/v1.40/version", 200, ""},
		{"/v1.19/_ping", 400, "client version 1.19 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{"/v1.99/_ping", 400, "client version 1.99 is too new. Maximum supported API version is 1.56"},
		{"/v2.0/info", 400, "client version 2.0 is too new. Maximum supported API version is 1.56"},
		{"/v1.x/_ping", 404, "page not found"},
		{"/vabc/_ping", 404, "page not found"},
		{"/v/_ping", 404, "page not found"},
		// Unknown routes are 404 whatever their version, as in dockerd.
		{"/v1.19/nosuch", 404, "page not found"},
		{"/nosuch", 404, "page not found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := f.do("GET", tc.path, "")
			wantStatus(t, rec, tc.status, tc.msg)
		})
	}
}

func TestHeadersOnEveryResponse(t *testing.T) {
	f := newFixture()
	for _, path := range []string{"/_ping", "/v1.19/_ping", "/nosuch", "/containers/nosuch/json"} {
		rec := f.do("GET", path, "")
		for k, want := range map[string]string{
			"API-Version":         "1.56",
			"OSType":              "linux",
			"Docker-Experimental": "false",
			"Server":              "roost/0.1.0 (linux)",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

func TestVersionInContext(t *testing.T) {
	var got string
	h := withVersion(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = apiVersion(r.Context()) + " " + r.URL.Path
	}), "x")
	for path, want := range map[string]string{
		"/v1.44/containers/json":         "1.44 /containers/json",
		"/containers/json":               "1.56 /containers/json",
		"/v1.30/images/a/b:c/json":       "1.30 /images/a/b:c/json",
		"/v1.41/images/localhost%3A5000": "1.41 /images/localhost:5000",
	} {
		req, _ := http.NewRequest("GET", "http://x"+path, nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1.9", "1.24", true},
		{"1.24", "1.24", false},
		{"1.24", "1.24.0", false},
		{"1.56", "1.100", true},
		{"2", "1.56", false},
		{"1", "1.24", true},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
