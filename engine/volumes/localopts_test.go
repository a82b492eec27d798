package volumes

import "testing"

func TestCheckLocalOpts(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		err  string
	}{
		{opts: nil},
		{opts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}},
		{opts: map[string]string{"type": "none", "device": "/srv", "o": "bind"}},
		{opts: map[string]string{"size": "0"}},
		{opts: map[string]string{"foo": "bar"}, err: `invalid option: "foo"`},
		{opts: map[string]string{"type": "tmpfs"}, err: `missing required option: "device"`},
		{opts: map[string]string{"device": "tmpfs"}, err: `missing required option: "type"`},
		{opts: map[string]string{"o": "size=1m", "type": "tmpfs"}, err: `missing required option: "device"`},
		{opts: map[string]string{"size": "10m"}, err: "quota size requested but no quota support"},
		{opts: map[string]string{"size": "lots"}, err: "invalid size: 'lots'"},
	} {
		err := checkLocalOpts(tc.opts)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("%v: error %v, want %q", tc.opts, err, tc.err)
		}
	}
}
