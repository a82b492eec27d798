package containers

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/logs/journald"
)

func TestValidateJournald(t *testing.T) {
	for _, tc := range []struct {
		opts    map[string]string
		wantErr string
	}{
		{opts: map[string]string{"max-size": "1k"}, wantErr: "unknown log opt 'max-size' for log driver journald"},
		{opts: map[string]string{"tag": "{{.Nope"}, wantErr: "invalid value for tag"},
		{opts: map[string]string{"tag": "{{.Name}}", "labels": "a", "env-regex": "^X"}},
	} {
		if tc.wantErr == "" && !journald.Enabled() {
			tc.wantErr = "logger: journald is not enabled on this host"
		}
		err := validateLogConfig(container.LogConfig{Type: "journald", Config: tc.opts})
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: got %v, want %q", tc.opts, err, tc.wantErr)
		}
	}
}
