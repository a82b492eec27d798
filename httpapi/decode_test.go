package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestReadJSON(t *testing.T) {
	type body struct{ A int }
	for _, tc := range []struct {
		name, ct, body string
		wantErr        string // "" means success
	}{
		{"ok", "application/json", `{"A":1}`, ""},
		{"charset", "application/json; charset=utf-8", `{"A":1}`, ""},
		{"unknown fields", "application/json", `{"A":1,"B":2}`, ""},
		{"trailing newline", "application/json", "{\"A\":1}\n", ""},
		{"wrong type", "text/plain", `{"A":1}`, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"no type", "", `{"A":1}`, "malformed Content-Type header (): mime: no media type"},
		{"empty", "application/json", "", "invalid JSON: got EOF while reading request body"},
		{"malformed", "application/json", `{"A":`, "invalid JSON: unexpected EOF"},
		{"wrong field type", "application/json", `{"A":"x"}`, "invalid JSON: json: cannot unmarshal string into Go struct field body.A of type int"},
		{"trailing data", "application/json", `{"A":1}{"A":2}`, "unexpected content after JSON"},
		{"too large", "application/json", `{"A":1,"B":"` + strings.Repeat("x", maxJSONBody) + `"}`, "request body is larger than 10485760 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			var out body
			err := readJSON(httptest.NewRecorder(), req, &out)
			if tc.wantErr == "" {
				if err != nil || out.A != 1 {
					t.Fatalf("got %+v, %v", out, err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("err = %q, want %q", err, tc.wantErr)
			}
		})
	}
}
