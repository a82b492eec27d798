package images

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestParseFiltersErrors(t *testing.T) {
	now := time.Now()
	tests := []struct {
		filters map[string][]string
		wantErr string
	}{
		{map[string][]string{"x": {"1"}}, "invalid filter 'x'"},
		{map[string][]string{"dangling": {"maybe"}}, "invalid filter 'dangling=[maybe]'"},
		{map[string][]string{"reference": {"[a"}}, `invalid reference filter "[a": syntax error in pattern`},
		{map[string][]string{"until": {"yesterday"}}, `failed to parse value as time or duration: "yesterday"`},
	}
	for _, tc := range tests {
		_, err := parseFilters(tc.filters, now)
		if !errdefs.IsInvalidArgument(err) || err.Error() != tc.wantErr {
			t.Errorf("parseFilters(%v) err = %v, want InvalidArgument %q", tc.filters, err, tc.wantErr)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.5", time.Unix(1700000000, 500000000)},
		{"2024-01-02T03:04:05Z", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTimestamp(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestSelectImages(t *testing.T) {
	all := testCatalog()
	busybox := "sha256:aaaa" + strings.Repeat("1", 60)
	local := "sha256:aaaa" + strings.Repeat("2", 60)
	dangling := "sha256:cccc" + strings.Repeat("3", 60)
	tests := []struct {
		name    string
		filters map[string][]string
		want    []string // ID and shown tags
		wantErr string
	}{
		{name: "all, newest first", want: []string{dangling, local + " localhost:5000/a/b:tag", busybox + " busybox:1 busybox:latest"}},
		{name: "reference name glob", filters: map[string][]string{"reference": {"busy*"}},
			want: []string{busybox + " busybox:1 busybox:latest"}},
		{name: "reference tag glob keeps matching tags", filters: map[string][]string{"reference": {"busybox:lat*"}},
			want: []string{busybox + " busybox:latest"}},
		{name: "reference with registry", filters: map[string][]string{"reference": {"localhost:5000/*/*"}},
			want: []string{local + " localhost:5000/a/b:tag"}},
		{name: "dangling", filters: map[string][]string{"dangling": {"true"}}, want: []string{dangling}},
		{name: "not dangling", filters: map[string][]string{"dangling": {"false"}},
			want: []string{local + " localhost:5000/a/b:tag", busybox + " busybox:1 busybox:latest"}},
		{name: "label", filters: map[string][]string{"label": {"x=y"}}, want: []string{local + " localhost:5000/a/b:tag"}},
		{name: "label key", filters: map[string][]string{"label": {"x"}}, want: []string{local + " localhost:5000/a/b:tag"}},
		{name: "label!", filters: map[string][]string{"label!": {"x"}},
			want: []string{dangling, busybox + " busybox:1 busybox:latest"}},
		{name: "before", filters: map[string][]string{"before": {"localhost:5000/a/b:tag"}},
			want: []string{busybox + " busybox:1 busybox:latest"}},
		{name: "since", filters: map[string][]string{"since": {"busybox"}},
			want: []string{dangling, local + " localhost:5000/a/b:tag"}},
		{name: "since unknown image", filters: map[string][]string{"since": {"nosuch"}}, wantErr: "No such image: nosuch:latest"},
		{name: "until", filters: map[string][]string{"until": {"2024-01-01T00:30:00Z"}},
			want: []string{busybox + " busybox:1 busybox:latest"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lf, err := parseFilters(tc.filters, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			sel, err := selectImages(all, lf)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sel {
				got = append(got, strings.Join(append([]string{s.img.id().String()}, familiar(s.tags)...), " "))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
