package buildsvc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
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

func TestStageDockerfile(t *testing.T) {
	for _, tc := range []struct {
		name       string
		files      map[string]string
		dockerfile string
		want       string // the staged ignore file's content
	}{
		{"no ignore file", map[string]string{"Dockerfile": "FROM a\n"}, "Dockerfile", noIgnoreFile},
		{"context's", map[string]string{"Dockerfile": "FROM a\n", ".dockerignore": "*.log\n"}, "Dockerfile", "*.log\n"},
		{"the Dockerfile's own first", map[string]string{"sub/x.Dockerfile": "FROM a\n", "sub/x.Dockerfile.dockerignore": "own\n", ".dockerignore": "root\n"}, "sub/x.Dockerfile", "own\n"},
		{"root's for a Dockerfile in a subdirectory", map[string]string{"sub/Dockerfile": "FROM a\n", ".dockerignore": "root\n"}, "sub/Dockerfile", "root\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dfDir := filepath.Join(t.TempDir(), "df")
			got, err := stageDockerfile(dir, tc.dockerfile, dfDir)
			if err != nil {
				t.Fatal(err)
			}
			if got != dfDir {
				t.Fatalf("source dir = %s, want %s", got, dfDir)
			}
			base := filepath.Base(tc.dockerfile)
			if b, err := os.ReadFile(filepath.Join(dfDir, base)); err != nil || string(b) != tc.files[tc.dockerfile] {
				t.Errorf("staged Dockerfile = %q, %v", b, err)
			}
			if b, err := os.ReadFile(filepath.Join(dfDir, base+".dockerignore")); err != nil || string(b) != tc.want {
				t.Errorf("staged ignore file = %q, %v; want %q", b, err, tc.want)
			}
			if entries, _ := os.ReadDir(dfDir); len(entries) != 2 {
				t.Errorf("staged %d files, want the Dockerfile and its ignore file", len(entries))
			}
		})
	}
}

// A symlinked ignore file is left for the frontend to follow, in the
// Dockerfile's own directory, as without staging.
func TestStageDockerfileSymlinkedIgnore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ignore.txt", filepath.Join(dir, ".dockerignore")); err != nil {
		t.Fatal(err)
	}
	got, err := stageDockerfile(dir, "Dockerfile", filepath.Join(t.TempDir(), "df"))
	if err != nil || got != dir {
		t.Fatalf("got %q, %v; want the context dir %s", got, err, dir)
	}
}

func TestInlineDockerfile(t *testing.T) {
	body := tarOf(t, map[string]string{"sub/app.Dockerfile": "FROM busybox\n", ".dockerignore": "*.log\n"})
	bc, err := unpackContext(bytes.NewReader(body), t.TempDir(), "sub/app.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	if _, err := bc.mounts(); err != nil {
		t.Fatal(err)
	}
	st, ok := bc.inlineDockerfile()
	if !ok {
		t.Fatal("a small Dockerfile is not inlined")
	}
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, d := range def.Def {
		all = append(all, d...)
	}
	for _, want := range []string{"/app.Dockerfile", "FROM busybox\n", "/app.Dockerfile.dockerignore", "*.log\n"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the definition lacks %q", want)
		}
	}

	big := tarOf(t, map[string]string{"Dockerfile": "FROM busybox\n" + strings.Repeat("# padding\n", maxInlineDockerfile/10+1)})
	bc2, err := unpackContext(bytes.NewReader(big), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer bc2.Close()
	if _, err := bc2.mounts(); err != nil {
		t.Fatal(err)
	}
	if _, ok := bc2.inlineDockerfile(); ok {
		t.Error("a large Dockerfile is inlined")
	}
}
