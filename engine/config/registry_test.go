package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryKeys(t *testing.T) {
	cases := []struct {
		name, json string
		wantErr    string
	}{
		{name: "all keys", json: `{"registry-mirrors":["http://127.0.0.1:5000"],"insecure-registries":["reg.example:5000","10.0.0.0/8","http://x.example"],"max-concurrent-downloads":1,"max-concurrent-uploads":2}`},
		{name: "negative downloads", json: `{"max-concurrent-downloads":-1}`, wantErr: "invalid max concurrent downloads: -1"},
		{name: "negative uploads", json: `{"max-concurrent-uploads":-3}`, wantErr: "invalid max concurrent uploads: -3"},
		{name: "mirror without scheme", json: `{"registry-mirrors":["mirror.example"]}`, wantErr: `invalid mirror: no scheme specified for "mirror.example": must use either 'https://' or 'http://'`},
		{name: "mirror ftp", json: `{"registry-mirrors":["ftp://mirror.example"]}`, wantErr: `invalid mirror: unsupported scheme "ftp" in "ftp://mirror.example"`},
		{name: "mirror query", json: `{"registry-mirrors":["https://m.example/?a=b"]}`, wantErr: `invalid mirror: query or fragment at end of the URI "https://m.example/?a=b"`},
		{name: "mirror password", json: `{"registry-mirrors":["https://u:pw@m.example"]}`, wantErr: `invalid mirror: username/password not allowed in URI "https://u:xxxxx@m.example"`},
		{name: "insecure scheme", json: `{"insecure-registries":["ftp://r.example"]}`, wantErr: "insecure registry ftp://r.example should not contain '://'"},
		{name: "insecure hyphen", json: `{"insecure-registries":["-r.example"]}`, wantErr: "invalid index name (-r.example). Cannot begin or end with a hyphen"},
		{name: "insecure bad host", json: `{"insecure-registries":["r_x.example"]}`, wantErr: `insecure registry r_x.example is not valid: invalid host "r_x.example"`},
		{name: "insecure bad port", json: `{"insecure-registries":["r.example:99999"]}`, wantErr: `insecure registry r.example:99999 is not valid: invalid port "99999"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "daemon.json")
			if err := os.WriteFile(p, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			c := New()
			err := c.LoadFile(p, nil)
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRegistryLimits(t *testing.T) {
	var r Registry
	if r.Downloads() != 3 || r.Uploads() != 5 {
		t.Fatalf("defaults %d/%d, want 3/5", r.Downloads(), r.Uploads())
	}
	r = Registry{MaxConcurrentDownloads: 1, MaxConcurrentUploads: 7}
	if r.Downloads() != 1 || r.Uploads() != 7 {
		t.Fatalf("got %d/%d, want 1/7", r.Downloads(), r.Uploads())
	}
}

func TestValidateMirrorSlash(t *testing.T) {
	for in, want := range map[string]string{"http://127.0.0.1:5000": "http://127.0.0.1:5000/", "https://m.example/": "https://m.example/"} {
		if got, err := ValidateMirror(in); err != nil || got != want {
			t.Errorf("ValidateMirror(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
