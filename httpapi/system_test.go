package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/system"
)

func TestPing(t *testing.T) {
	f := newFixture()
	for _, method := range []string{"GET", "HEAD"} {
		rec := f.do(method, "/_ping", "")
		wantStatus(t, rec, 200, "")
		want := "OK"
		if method == "HEAD" {
			want = ""
		}
		if rec.Body.String() != want {
			t.Errorf("%s body = %q", method, rec.Body.String())
		}
		for k, v := range map[string]string{
			"API-Version":     "1.56",
			"Builder-Version": "1",
			"Cache-Control":   "no-cache, no-store, must-revalidate",
			"Pragma":          "no-cache",
			"Content-Type":    "text/plain; charset=utf-8",
			"OSType":          "linux",
		} {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s = %q, want %q", method, k, got, v)
			}
		}
	}
}

func TestVersionAndInfo(t *testing.T) {
	f := newFixture()
	rec := f.do("GET", "/v1.44/version", "")
	wantStatus(t, rec, 200, "")
	var v system.VersionResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.APIVersion != "1.56" {
		t.Errorf("version %s: %v", rec.Body, err)
	}
	rec = f.do("GET", "/info", "")
	wantStatus(t, rec, 200, "")
	var info system.Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || info.Name != "roost-test" {
		t.Errorf("info %s: %v", rec.Body, err)
	}
}
