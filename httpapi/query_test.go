package httpapi

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestBoolValue(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "0": false, "false": false, "False": false, "no": false, "none": false, " 0 ": false,
		"1": true, "true": true, "True": true, "yes": true, "anything": true,
	} {
		if got := boolValue(url.Values{"k": {v}}, "k"); got != want {
			t.Errorf("boolValue(%q) = %v", v, got)
		}
	}
	if boolValue(url.Values{}, "k") {
		t.Error("missing parameter is true")
	}
	if !boolValueOr(url.Values{}, "k", true) || boolValueOr(url.Values{"k": {"0"}}, "k", true) {
		t.Error("boolValueOr")
	}
}

func TestIntValue(t *testing.T) {
	q := url.Values{"n": {"12"}, "bad": {"1x"}, "empty": {""}}
	if n, err := intValue(q, "n", 0); n != 12 || err != nil {
		t.Errorf("n = %d, %v", n, err)
	}
	if n, err := intValue(q, "empty", 7); n != 7 || err != nil {
		t.Errorf("empty = %d, %v", n, err)
	}
	if _, err := intValue(q, "bad", 0); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad: %v", err)
	}
}

func TestFiltersValue(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Filters
		err  bool
	}{
		{"", Filters{}, false},
		{`{"status":{"running":true,"exited":true}}`, Filters{"status": {"exited", "running"}}, false},
		{`{"label":["a=b","c"]}`, Filters{"label": {"a=b", "c"}}, false},
		{`{}`, Filters{}, false},
		{`{"status":"running"}`, nil, true},
		{`[1,2]`, nil, true},
		{`{bad`, nil, true},
	} {
		got, err := filtersValue(url.Values{"filters": {tc.raw}})
		if tc.err {
			if !errdefs.IsInvalidArgument(err) || err.Error() != "invalid filter" {
				t.Errorf("%s: err = %v, want invalid filter", tc.raw, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseUnixTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"1700000000.123456789", time.Unix(1700000000, 123456789), false},
		{"1700000000.5", time.Unix(1700000000, 500000000), false},
		{"1700000000.1234567891", time.Unix(1700000000, 123456789), false},
		{"0", time.Unix(0, 0), false},
		{"-5", time.Unix(-5, 0), false},
		{"abc", time.Time{}, true},
		{"1.2x", time.Time{}, true},
		{"1.-2", time.Time{}, true},
		{"1." + strings.Repeat("1", 21), time.Time{}, true},
	} {
		got, err := parseUnixTimestamp(tc.in)
		if tc.err != (err != nil) || !got.Equal(tc.want) {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
	}
}
