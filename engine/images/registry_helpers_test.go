package images_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/moby/api/types/jsonstream"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// multi is a three-step image: the busybox layer, a CMD (no layer) and a
// gzip layer with /hello.txt, as a Dockerfile would make it.
type multi struct {
	archive  []byte
	diffIDs  []digest.Digest
	layers   []ocispec.Descriptor
	id       string             // sha256:<config digest>
	manifest ocispec.Descriptor // the host platform's manifest
	// index is the multi-platform image's index (multiPlatformImage only).
	index ocispec.Descriptor
}

// layout collects the blobs of an OCI image layout.
type layout map[digest.Digest][]byte

func (l layout) add(mediaType string, data []byte) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	l[d.Digest] = data
	return d
}

func (l layout) addJSON(t *testing.T, mediaType string, v any) ocispec.Descriptor {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return l.add(mediaType, data)
}

// archive writes the layout as a tar whose index.json lists top, named.
func (l layout) archive(t *testing.T, name string, top ocispec.Descriptor) []byte {
	top.Annotations = map[string]string{"io.containerd.image.name": name}
	index, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{top}})
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	file := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	file("index.json", index)
	for d, data := range l {
		file("blobs/sha256/"+d.Encoded(), data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// tarGz is a gzip tar of one file.
func tarGz(t *testing.T, name, body string) (gz, tarData []byte) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: busyboximg.Epoch}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, body)
	tw.Close()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain.Bytes())
	zw.Close()
	return z.Bytes(), plain.Bytes()
}

// multiImage adds the host platform's image to l.
func multiImage(t *testing.T, l layout) *multi {
	t.Helper()
	base, err := busyboximg.Layer()
	if err != nil {
		t.Fatal(err)
	}
	gz, hello := tarGz(t, "hello.txt", "hi from the second layer\n")
	m := &multi{diffIDs: []digest.Digest{digest.FromBytes(base), digest.FromBytes(hello)}}
	m.layers = []ocispec.Descriptor{l.add(ocispec.MediaTypeImageLayer, base), l.add(ocispec.MediaTypeImageLayerGzip, gz)}
	t1, t2 := busyboximg.Epoch, busyboximg.Epoch.Add(time.Hour)
	cfg := l.addJSON(t, ocispec.MediaTypeImageConfig, ocispec.Image{
		Created:  &t2,
		Platform: platforms.DefaultSpec(),
		Config:   ocispec.ImageConfig{Cmd: []string{"sh"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: m.diffIDs},
		History: []ocispec.History{
			{Created: &t1, CreatedBy: "ADD busybox /"},
			{Created: &t2, CreatedBy: `CMD ["sh"]`, EmptyLayer: true},
			{Created: &t2, CreatedBy: "COPY hello.txt /", Comment: "buildkit.dockerfile.v0"},
		},
	})
	m.id = cfg.Digest.String()
	m.manifest = l.addJSON(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    m.layers,
	})
	return m
}

// multiLayerImage builds the image as an OCI layout archive named name.
func multiLayerImage(t *testing.T, name string) *multi {
	t.Helper()
	l := layout{}
	m := multiImage(t, l)
	m.archive = l.archive(t, name, m.manifest)
	return m
}

// multiPlatformImage builds an index of the image for the host and a
// one-layer image for another platform, named name.
func multiPlatformImage(t *testing.T, name string) *multi {
	t.Helper()
	l := layout{}
	m := multiImage(t, l)
	host := platforms.DefaultSpec()
	other := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	if host.Architecture == "arm64" {
		other.Architecture = "amd64"
	}
	gz, plain := tarGz(t, "other.txt", "another platform\n")
	layer := l.add(ocispec.MediaTypeImageLayerGzip, gz)
	cfg := l.addJSON(t, ocispec.MediaTypeImageConfig, ocispec.Image{
		Platform: other,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(plain)}},
	})
	foreign := l.addJSON(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{layer},
	})
	hostDesc, foreignDesc := m.manifest, foreign
	hostDesc.Platform, foreignDesc.Platform = &host, &other
	m.index = l.addJSON(t, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{foreignDesc, hostDesc},
	})
	m.archive = l.archive(t, name, m.index)
	return m
}

func (f *fixture) loadMulti(t *testing.T, name string) *multi {
	t.Helper()
	m := multiLayerImage(t, name)
	lines, err := f.svc.Load(context.Background(), bytes.NewReader(m.archive))
	if err != nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "Loaded image: ") {
		t.Fatalf("Load = %q, %v", lines, err)
	}
	return m
}

// progress collects progress lines as "id status", with "cur/total" for
// the lines with numbers.
type progress struct {
	mu    sync.Mutex
	msgs  []jsonstream.Message
	lines []string
}

func (p *progress) add(m jsonstream.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
	s := m.Status
	if m.ID != "" {
		s = m.ID + ": " + s
	}
	p.lines = append(p.lines, s)
}

// statuses returns the lines without the repeated transfer ones.
func (p *progress) statuses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i, m := range p.msgs {
		if m.Status == "Downloading" || m.Status == "Pushing" || (m.Status == "Extracting" && m.Progress != nil && m.Progress.Current > 1) {
			continue
		}
		out = append(out, p.lines[i])
	}
	return out
}

// layerLines returns, for each short ID of layers, the statuses it got.
func (p *progress) layerLines(layers []ocispec.Descriptor) map[string][]string {
	out := map[string][]string{}
	for _, l := range layers {
		out[l.Digest.Encoded()[:12]] = nil
	}
	for _, line := range p.statuses() {
		id, status, ok := strings.Cut(line, ": ")
		if _, mine := out[id]; ok && mine {
			out[id] = append(out[id], status)
		}
	}
	return out
}
