package testenv

import "testing"

func TestUnescapeMountPoint(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:        "/a/b",
		`/a\040b`:     "/a b",
		`/a\134b`:     `/a\b`,
		`/trailing\0`: `/trailing\0`,
	} {
		if got := unescapeMountPoint(in); got != want {
			t.Errorf("unescapeMountPoint(%q) = %q, want %q", in, got, want)
		}
	}
}
