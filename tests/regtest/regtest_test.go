package regtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The registry answers the distribution API on its address and is gone
// after Stop.
func TestStartStop(t *testing.T) {
	r, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + r.Addr + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"repositories"`) {
		t.Errorf("GET /v2/_catalog: %s %s", resp.Status, body)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + r.Addr + "/v2/"); err == nil {
		t.Error("the registry still answers after Stop")
	}
}

// With TLS and users: HTTPS with the registry's own certificate, and 401
// without the right password.
func TestSecure(t *testing.T) {
	r := StartT(t, Options{TLS: true, Users: map[string]string{"alice": "secret"}})
	if !strings.HasPrefix(string(r.CACert), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("CACert = %q", r.CACert)
	}
	for _, tc := range []struct {
		user, password string
		status         int
	}{
		{"", "", http.StatusUnauthorized},
		{"alice", "wrong", http.StatusUnauthorized},
		{"alice", "secret", http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", r.URL()+"/v2/", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, err := r.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s/%s: %s, want %d", tc.user, tc.password, resp.Status, tc.status)
		}
	}
	// Plain HTTP is refused.
	if resp, err := http.Get("http://" + r.Addr + "/v2/"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("the TLS registry answers plain HTTP")
	}
}
