package busyboximg

import (
	"archive/tar"
	_ "crypto/sha256" // registers the digest algorithm go-digest uses
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultTag is the name the generator gives the image.
const DefaultTag = "busybox:latest"

// The image's environment: Docker's default PATH, as the real busybox image has.
var defaultEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// WriteDockerArchive writes the image in the format `docker save` produces
// since Docker 25: an OCI image layout (oci-layout, index.json,
// blobs/sha256/…) plus the legacy manifest.json, so that both the OCI and
// the Docker loaders accept it. tag is a reference such as "busybox:latest";
// "" writes an untagged image.
func WriteDockerArchive(w io.Writer, tag string) error {
	a, err := build(tag)
	if err != nil {
		return err
	}
	return a.write(w)
}

// ImageID returns the ID ("sha256:" and the config digest) the image gets
// when loaded; it does not depend on the tag.
func ImageID() (string, error) {
	a, err := build("")
	if err != nil {
		return "", err
	}
	return a.config.Digest.String(), nil
}

type blob struct {
	ocispec.Descriptor
	data []byte
}

type archive struct {
	layer, config, manifest blob
	index                   []byte
	dockerManifest          []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{
		Descriptor: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))},
		data:       data,
	}
}

func jsonBlob(mediaType string, v any) (blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return blob{}, err
	}
	return newBlob(mediaType, data), nil
}

func build(tag string) (*archive, error) {
	var named reference.Named
	if tag != "" {
		n, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", tag, err)
		}
		if _, ok := n.(reference.Digested); ok {
			return nil, fmt.Errorf("invalid tag %q: a digest is not a tag", tag)
		}
		named = reference.TagNameOnly(n)
	}

	layer, err := Layer()
	if err != nil {
		return nil, err
	}
	a := &archive{layer: newBlob(ocispec.MediaTypeImageLayer, layer)}

	created := Epoch
	a.config, err = jsonBlob(ocispec.MediaTypeImageConfig, ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   ocispec.ImageConfig{Env: defaultEnv, Cmd: []string{"sh"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{a.layer.Digest}},
		History: []ocispec.History{{
			Created:   &created,
			CreatedBy: "roost tests/busybox: Debian busybox-static",
		}},
	})
	if err != nil {
		return nil, err
	}

	a.manifest, err = jsonBlob(ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    a.config.Descriptor,
		Layers:    []ocispec.Descriptor{a.layer.Descriptor},
	})
	if err != nil {
		return nil, err
	}

	// index.json names the image as docker save does: the full name for
	// containerd, the tag alone in the OCI annotation.
	desc := a.manifest.Descriptor
	repoTags := []string{}
	if named != nil {
		desc.Annotations = map[string]string{
			"io.containerd.image.name": named.String(),
			ocispec.AnnotationRefName:  named.(reference.Tagged).Tag(),
		}
		repoTags = append(repoTags, reference.FamiliarString(named))
	}
	if a.index, err = json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{desc},
	}); err != nil {
		return nil, err
	}

	a.dockerManifest, err = json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{
		Config:   blobPath(a.config.Digest),
		RepoTags: repoTags,
		Layers:   []string{blobPath(a.layer.Digest)},
	}})
	return a, err
}

func blobPath(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

func (a *archive) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	hdr := func(name string, typ byte, size int64) error {
		mode := int64(0o644)
		if typ == tar.TypeDir {
			mode = 0o755
		}
		return tw.WriteHeader(&tar.Header{
			Typeflag: typ, Name: name, Size: size, Mode: mode, ModTime: Epoch, Format: tar.FormatPAX,
		})
	}
	file := func(name string, data []byte) error {
		if err := hdr(name, tar.TypeReg, int64(len(data))); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}

	if err := hdr("blobs/", tar.TypeDir, 0); err != nil {
		return err
	}
	if err := hdr("blobs/sha256/", tar.TypeDir, 0); err != nil {
		return err
	}
	for _, b := range []blob{a.layer, a.config, a.manifest} {
		if err := file(blobPath(b.Digest), b.data); err != nil {
			return err
		}
	}
	layout := `{"imageLayoutVersion":"` + ocispec.ImageLayoutVersion + `"}`
	for _, f := range []struct {
		name string
		data []byte
	}{
		{ocispec.ImageIndexFile, a.index},
		{"manifest.json", a.dockerManifest},
		{ocispec.ImageLayoutFile, []byte(layout)},
	} {
		if err := file(f.name, f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
