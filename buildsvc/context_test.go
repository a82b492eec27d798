package buildsvc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

// tarOf makes a tar of name → content.
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func TestUnpackContext(t *testing.T) {
	plain := tarOf(t, map[string]string{"Dockerfile": "FROM busybox\n", "sub/x.Dockerfile": "FROM busybox\n", "a.txt": "a"})
	lower := tarOf(t, map[string]string{"dockerfile": "FROM busybox\n"})
	for _, tc := range []struct {
		name, dockerfile string
		body             []byte
		want             string // the Dockerfile found
		file             string // a file that must be in the context
	}{
		{"tar", "", plain, "Dockerfile", "a.txt"},
		{"gzip", "", gzipped(t, plain), "Dockerfile", "a.txt"},
		{"named", "sub/x.Dockerfile", plain, "sub/x.Dockerfile", "a.txt"},
		{"lowercase", "", lower, "dockerfile", "dockerfile"},
		{"dockerfile only", "", []byte("FROM busybox\nRUN true\n"), "Dockerfile", "Dockerfile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc, err := unpackContext(bytes.NewReader(tc.body), t.TempDir(), tc.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			defer bc.Close()
			if bc.dockerfile != tc.want {
				t.Errorf("dockerfile = %q, want %q", bc.dockerfile, tc.want)
			}
			if _, err := os.Stat(filepath.Join(bc.dir, tc.file)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUnpackContextInvalid(t *testing.T) {
	var escape bytes.Buffer
	tw := tar.NewWriter(&escape)
	_ = tw.WriteHeader(&tar.Header{Name: "../escaped", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("x"))
	tw.Close()
	ok := tarOf(t, map[string]string{"Dockerfile": "FROM busybox\n"})
	for _, tc := range []struct {
		name, dockerfile, message string
		body                      []byte
	}{
		{"missing", "", "Cannot locate specified Dockerfile: Dockerfile", tarOf(t, map[string]string{"a.txt": "a"})},
		{"missing named", "x/Dockerfile", "Cannot locate specified Dockerfile: x/Dockerfile", ok},
		{"outside", "../Dockerfile", "The Dockerfile (../Dockerfile) must be within the build context", ok},
		{"empty", "", "The Dockerfile (Dockerfile) cannot be empty", tarOf(t, map[string]string{"Dockerfile": ""})},
		{"empty body", "", "The Dockerfile (Dockerfile) cannot be empty", nil},
		{"escape", "", "unpacking the build context", escape.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			_, err := unpackContext(bytes.NewReader(tc.body), filepath.Join(root, "tmp"), tc.dockerfile)
			if !errdefs.IsInvalidArgument(err) || !bytes.Contains([]byte(err.Error()), []byte(tc.message)) {
				t.Fatalf("got %v, want InvalidArgument %q", err, tc.message)
			}
			if _, err := os.Stat(filepath.Join(root, "escaped")); err == nil {
				t.Error("an entry was written outside the context")
			}
			if left, _ := os.ReadDir(filepath.Join(root, "tmp")); len(left) != 0 {
				t.Errorf("context dir left behind: %v", left)
			}
		})
	}
}
