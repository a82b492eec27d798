package images_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

func busyboxRootfs(t *testing.T) []byte {
	t.Helper()
	data, err := busyboximg.Layer()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestImport(t *testing.T) {
	f := newFixture(t)
	rootfs := busyboxRootfs(t)
	changes := []string{
		`CMD ["/bin/busybox", "httpd", "-f"]`, `ENV A=1`, `WORKDIR /var/www`, `EXPOSE 80`,
		`LABEL org.example=yes`, `USER nobody`,
	}
	id, err := f.svc.Import(context.Background(), bytes.NewReader(rootfs), "imported", "v1", changes, "my message")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.events.take(), []string{"image import " + id + " imported:v1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	insp, err := f.svc.Inspect(context.Background(), "imported:v1")
	if err != nil {
		t.Fatal(err)
	}
	c := insp.Config
	if insp.ID != id || !reflect.DeepEqual(insp.RepoTags, []string{"imported:v1"}) ||
		!reflect.DeepEqual(c.Cmd, []string{"/bin/busybox", "httpd", "-f"}) || !reflect.DeepEqual(c.Env, []string{"A=1"}) ||
		c.WorkingDir != "/var/www" || c.User != "nobody" || c.Labels["org.example"] != "yes" ||
		len(c.ExposedPorts) != 1 || insp.Comment != "my message" || insp.Os != "linux" {
		t.Errorf("Inspect = %+v, config %+v", insp, c)
	}
	if want := digest.FromBytes(rootfs).String(); len(insp.RootFS.Layers) != 1 || insp.RootFS.Layers[0] != want {
		t.Errorf("layers = %q, want [%s]", insp.RootFS.Layers, want)
	}
	if got := f.readFromImage(t, "imported:v1", "var/www/index.html"); got != busyboximg.IndexHTML {
		t.Errorf("index.html = %q", got)
	}

	// A gzip stream gives the same layer (diff ID), and no repo an
	// untagged image.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(rootfs)
	zw.Close()
	id2, err := f.svc.Import(context.Background(), &gz, "", "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	insp2, err := f.svc.Inspect(context.Background(), id2)
	if err != nil {
		t.Fatal(err)
	}
	if len(insp2.RepoTags) != 0 || !reflect.DeepEqual(insp2.RootFS.Layers, insp.RootFS.Layers) {
		t.Errorf("gzip import: tags %q layers %q", insp2.RepoTags, insp2.RootFS.Layers)
	}
	if got := f.events.take(); len(got) != 1 || got[0] != "image import "+id2+" "+id2 {
		t.Errorf("events = %q", got)
	}
	list, err := f.svc.List(context.Background(), false, map[string][]string{"dangling": {"true"}})
	if err != nil || len(list) != 1 || list[0].ID != id2 {
		t.Errorf("dangling = %+v, %v", list, err)
	}
}

func TestImportInvalid(t *testing.T) {
	f := newFixture(t)
	rootfs := busyboxRootfs(t)
	tests := []struct {
		name      string
		data      []byte
		repo, tag string
		changes   []string
		wantErr   string
	}{
		{name: "bad change", data: rootfs, repo: "x", changes: []string{"RUN true"}, wantErr: "run is not a valid change command"},
		{name: "bad repo", data: rootfs, repo: "Bad", wantErr: "invalid reference format: repository name (library/Bad) must be lowercase"},
		{name: "not a tar", data: []byte("definitely not a tar archive"), repo: "x", wantErr: "invalid rootfs archive: unexpected EOF"},
		{name: "xz", data: []byte{0xFD, '7', 'z', 'X', 'Z', 0, 1, 2, 3, 4, 5}, repo: "x",
			wantErr: "unsupported xz compression of the rootfs archive: use an uncompressed, gzip or zstd tar"},
		{name: "broken gzip", data: []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, repo: "x", wantErr: "invalid rootfs archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Import(context.Background(), bytes.NewReader(tc.data), tc.repo, tc.tag, tc.changes, "")
			if !errdefs.IsInvalidArgument(err) || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want InvalidArgument %q", err, tc.wantErr)
			}
		})
	}
	recs, err := f.client.ImageService().List(f.ctx)
	if err != nil || len(recs) != 0 {
		t.Errorf("records after failed imports: %+v, %v", recs, err)
	}
}

// A hostile layer cannot write outside its snapshot when unpacked.
func TestImportHostileLayer(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	layer := tarOf(t,
		tarMember{name: strings.Repeat("../", 20) + strings.TrimPrefix(dir, "/") + "/dotdot", body: "x"},
		tarMember{name: dir + "/absolute", body: "x"},
		tarMember{name: "escape", typ: '2', link: dir},
		tarMember{name: "escape/through-symlink", body: "x"},
		tarMember{name: "up", typ: '2', link: "../../../../../../../../" + strings.TrimPrefix(dir, "/")},
		tarMember{name: "up/through-relative-symlink", body: "x"},
	)
	if _, err := f.svc.Import(context.Background(), bytes.NewReader(layer), "hostile", "", nil, ""); err != nil {
		t.Logf("Import(hostile layer): %v", err)
	}
	if entries, _ := readDir(dir); len(entries) != 0 {
		t.Errorf("the layer wrote %q into %s", entries, dir)
	}
}
