package rootless

import (
	"bytes"
	"testing"
)

func TestSubIDTotal(t *testing.T) {
	data := []byte("other:100000:65536\nalice:165536:65536\n1000:300000:10\nbad line\nalice:1:x\n")
	for _, tc := range []struct {
		name string
		uid  int
		want int
	}{
		{"alice", 1000, 65546}, // by name and by uid
		{"bob", 1001, 0},
		{"carol", 1000, 10},
	} {
		if got := subIDTotal(data, tc.name, tc.uid); got != tc.want {
			t.Errorf("%s (%d): %d, want %d", tc.name, tc.uid, got, tc.want)
		}
	}
}

// RootlessKit runs `getsubids alice`, `getsubids 1000`, and the same with
// -g; each answer names the user's own ID alone, in getsubids' format.
func TestAnswerGetsubids(t *testing.T) {
	t.Setenv(selfIDsEnv, "1000 2000")
	for _, tc := range []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"alice"}, "0: alice 1000 1\n", true},
		{[]string{"1000"}, "0: 1000 1000 1\n", true},
		{[]string{"-g", "alice"}, "0: alice 2000 1\n", true},
		{nil, "", false}, // the keeper itself, started without arguments
		{[]string{"-g"}, "", false},
	} {
		var b bytes.Buffer
		ok := answerGetsubids(tc.args, &b)
		if ok != tc.ok || b.String() != tc.want {
			t.Errorf("%v: %v %q, want %v %q", tc.args, ok, b.String(), tc.ok, tc.want)
		}
	}
	t.Setenv(selfIDsEnv, "")
	if answerGetsubids([]string{"alice"}, &bytes.Buffer{}) {
		t.Error("answered outside single-ID mode")
	}
}

func TestMappedIDs(t *testing.T) {
	for in, want := range map[string]int{
		"         0       1008          1\n":                                   1,
		"         0       1005          1\n         1     427680      65536\n": 65537,
		"         0          0 4294967295\n":                                   4294967295,
		"":                                                                     0,
	} {
		if got := mappedIDs([]byte(in)); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}

func TestGetsubidsTotal(t *testing.T) {
	for in, want := range map[string]int{
		"0: alice 100000 65536\n":                       65536,
		"0: alice 100000 65536\n1: alice 300000 1000\n": 66536,
		"0: alice 1000 1\n":                             1, // our own stand-in's answer
		"":                                              0,
		"Error fetching ranges\n":                       0,
		"0: alice 100000\n":                             0,
	} {
		if got := getsubidsTotal([]byte(in)); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}
