package journald

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/roostd/roost/engine/logs"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var testInfo = Info{
	ID: testID, Name: "web", ImageID: "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", ImageName: "busybox:latest",
	Labels: map[string]string{"com.example.team": "hpc", "other": "x"},
	Env:    []string{"SITE=eu", "PATH=/bin", "_SECRET=1"},
}

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]string
		want map[string]string
	}{
		{"defaults", nil, map[string]string{
			"CONTAINER_ID": "0123456789ab", "CONTAINER_ID_FULL": testID, "CONTAINER_NAME": "web",
			"CONTAINER_TAG": "0123456789ab", "IMAGE_NAME": "busybox:latest", "SYSLOG_IDENTIFIER": "0123456789ab",
		}},
		{"tag template", map[string]string{"tag": "{{.ImageName}}/{{.Name}}/{{.ImageID}}"}, map[string]string{
			"CONTAINER_ID": "0123456789ab", "CONTAINER_ID_FULL": testID, "CONTAINER_NAME": "web",
			"CONTAINER_TAG": "busybox:latest/web/fedcba987654", "IMAGE_NAME": "busybox:latest", "SYSLOG_IDENTIFIER": "busybox:latest/web/fedcba987654",
		}},
		{"labels and env", map[string]string{"labels": "com.example.team", "env": "SITE,_SECRET", "env-regex": "^PA"}, map[string]string{
			"CONTAINER_ID": "0123456789ab", "CONTAINER_ID_FULL": testID, "CONTAINER_NAME": "web",
			"CONTAINER_TAG": "0123456789ab", "IMAGE_NAME": "busybox:latest", "SYSLOG_IDENTIFIER": "0123456789ab",
			// Journal field names: upper case, no '.', no leading '_'
			// (those are journald's trusted fields).
			"COM_EXAMPLE_TEAM": "hpc", "SITE": "eu", "SECRET": "1", "PATH": "/bin",
		}},
	} {
		got, err := Fields(testInfo, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestFieldsBadOptions(t *testing.T) {
	for _, opts := range []map[string]string{{"tag": "{{.Nope"}, {"tag": "{{.Nope}}"}, {"labels-regex": "("}} {
		if _, err := Fields(testInfo, opts); err == nil {
			t.Errorf("%v accepted", opts)
		}
	}
}

type sent struct {
	msg    string
	pri    journal.Priority
	fields map[string]string
}

func TestWrite(t *testing.T) {
	fields, err := Fields(testInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []sent
	w := &Writer{fields: fields, send: func(m string, p journal.Priority, f map[string]string) error {
		got = append(got, sent{m, p, f})
		return nil
	}}
	now := time.Now()
	for _, m := range []*logs.Message{
		{Stream: "stdout", Line: []byte("hello\n"), Time: now},
		{Stream: "stderr", Line: []byte("oops\n"), Time: now},
		{Stream: "stdout", Line: []byte(strings.Repeat("x", 10)), Time: now},
	} {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if got[0].msg != "hello" || got[0].pri != journal.PriInfo || got[0].fields["CONTAINER_NAME"] != "web" {
		t.Errorf("stdout line: %+v", got[0])
	}
	if got[1].msg != "oops" || got[1].pri != journal.PriErr {
		t.Errorf("stderr line: %+v", got[1])
	}
	if got[2].fields["CONTAINER_PARTIAL_MESSAGE"] != "true" || got[0].fields["CONTAINER_PARTIAL_MESSAGE"] != "" {
		t.Errorf("partial marking: %+v / %+v", got[2].fields, got[0].fields)
	}
}
