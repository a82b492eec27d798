package rootless

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/roostd/roost/engine/config"
)

// nsinit accepts exactly the storage drivers daemon.json does.
func TestSnapshottersAreConfigsStorageDrivers(t *testing.T) {
	if !slices.Equal(snapshotters, config.StorageDrivers) {
		t.Errorf("rootless knows %v, engine/config accepts %v", snapshotters, config.StorageDrivers)
	}
}

func TestPickSnapshotter(t *testing.T) {
	errOverlay := errors.New("mount overlay: operation not permitted")
	errFuse := errors.New("/dev/fuse is not usable by this user: fix: sudo chmod 0666 /dev/fuse")
	cases := []struct {
		requested string
		overlay   error // what the overlay probe returns
		fuse      error // what the fuse-overlayfs probe returns
		want      string
		wantNote  string // "" means no note
		wantErr   string // "" means no error
	}{
		{requested: "", want: "overlayfs"},
		{requested: "", fuse: errFuse, want: "overlayfs"},
		{requested: "", overlay: errOverlay, want: "fuse-overlayfs", wantNote: "overlayfs is not usable"},
		{requested: "", overlay: errOverlay, fuse: errFuse, want: "native", wantNote: "chmod 0666 /dev/fuse"},

		{requested: "overlayfs", want: "overlayfs"},
		{requested: "overlayfs", fuse: errFuse, want: "overlayfs"},
		{requested: "overlayfs", overlay: errOverlay, wantErr: "storage-driver overlayfs: overlayfs is not usable"},
		{requested: "overlayfs", overlay: errOverlay, fuse: errFuse, wantErr: "use storage-driver fuse-overlayfs or native"},

		{requested: "fuse-overlayfs", want: "fuse-overlayfs"},
		{requested: "fuse-overlayfs", overlay: errOverlay, want: "fuse-overlayfs"},
		{requested: "fuse-overlayfs", fuse: errFuse, wantErr: "storage-driver fuse-overlayfs: /dev/fuse is not usable by this user: fix: sudo chmod 0666 /dev/fuse"},
		{requested: "fuse-overlayfs", overlay: errOverlay, fuse: errFuse, wantErr: "fix: sudo chmod 0666 /dev/fuse"},

		{requested: "native", want: "native"},
		{requested: "native", overlay: errOverlay, fuse: errFuse, want: "native"},

		{requested: "overlay2", wantErr: `invalid storage-driver "overlay2": use overlayfs, fuse-overlayfs, native`},
		{requested: "vfs", overlay: errOverlay, fuse: errFuse, wantErr: `invalid storage-driver "vfs"`},
	}
	for _, tc := range cases {
		name := tc.requested
		if name == "" {
			name = "auto"
		}
		name += "/overlay=" + okOrFails(tc.overlay) + "/fuse=" + okOrFails(tc.fuse)
		t.Run(name, func(t *testing.T) {
			var probed []string
			got, note, err := pickSnapshotter(tc.requested, storageProbes{
				overlay: func() error { probed = append(probed, "overlay"); return tc.overlay },
				fuse:    func() error { probed = append(probed, "fuse"); return tc.fuse },
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if (note == "") != (tc.wantNote == "") || !strings.Contains(note, tc.wantNote) {
				t.Errorf("note %q, want one containing %q", note, tc.wantNote)
			}
			// An explicit choice probes only what it asked for: native
			// must start where neither overlay can be mounted.
			if tc.requested == "native" && len(probed) > 0 {
				t.Errorf("native probed %v", probed)
			}
		})
	}
}

func okOrFails(err error) string {
	if err != nil {
		return "fails"
	}
	return "works"
}

func TestWithSbinPath(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"HOME=/h", "PATH=/bin:/usr/bin"}, []string{"HOME=/h", "PATH=/bin:/usr/bin:/usr/sbin:/sbin"}},
		{[]string{"PATH=/usr/sbin:/usr/bin:/sbin"}, []string{"PATH=/usr/sbin:/usr/bin:/sbin"}},
		{[]string{"HOME=/h"}, []string{"HOME=/h", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
	}
	for _, tc := range cases {
		in := append([]string(nil), tc.in...)
		got := WithSbinPath(in)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("WithSbinPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Join(in, " ") != strings.Join(tc.in, " ") {
			t.Errorf("WithSbinPath changed its argument to %q", in)
		}
	}
}
