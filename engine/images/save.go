package images

import (
	"context"
	"io"
	"maps"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// export is one manifest (or index) to write into an archive, with the
// name it is saved under ("" for an image saved by ID).
type export struct {
	img    *image
	target ocispec.Descriptor
	name   string
}

// Save writes the images refs name to w as a `docker save` archive: an OCI
// image layout with Docker's manifest.json beside it, as Docker 25+ writes
// them, which Load (and `docker load` of any Docker) reads back with the
// same layer blobs. A name without a tag saves every tag of the
// repository; an ID or name@digest saves the image without a name. Of a
// multi-platform image the host's platform is written, and whatever other
// platforms' content is here.
//
// Every reference is looked up before anything is written, so an unknown
// one is an ordinary error: "No such image: …".
func (s *Service) Save(ctx context.Context, refs []string, w io.Writer) error {
	ctx = s.withNamespace(ctx)
	// The lease keeps the content until it is written even if the images
	// are removed meanwhile.
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warn("cannot release the save lease")
		}
	}()

	all, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	var exports []export
	for _, ref := range refs {
		e, err := exportsOf(all, ref)
		if err != nil {
			return err
		}
		exports = append(exports, e...)
	}

	cs := s.content()
	id, _ := leases.FromContext(ctx)
	opts := []archive.ExportOpt{
		archive.WithPlatform(s.platform),
		archive.WithSkipMissing(cs),
		archive.WithSkipNonDistributableBlobs(),
	}
	seen := map[string]bool{}
	for _, e := range exports {
		key := e.target.Digest.String() + " " + e.name
		if seen[key] {
			continue
		}
		seen[key] = true
		res := leases.Resource{ID: e.target.Digest.String(), Type: "content"}
		if err := s.client.LeasesService().AddResource(ctx, leases.Lease{ID: id}, res); err != nil {
			return err
		}
		if e.name != "" {
			opts = append(opts, archive.WithManifest(e.target, e.name))
		} else {
			opts = append(opts, archive.WithManifest(withoutName(e.target)))
		}
	}
	if err := archive.Export(ctx, blobFiles{root: s.contentRoot, store: cs}, w, opts...); err != nil {
		return err
	}
	published := map[digest.Digest]bool{}
	for _, e := range exports {
		if !published[e.img.id()] {
			published[e.img.id()] = true
			s.publish(events.ActionSave, e.img.id(), e.img.id().String(), e.img.meta.config.Config.Labels)
		}
	}
	return nil
}

// exportsOf looks ref up as `docker save` does: a bare repository name
// means all its tags; a name:tag that one name; an ID, an ID prefix or
// name@digest the image without a name.
func exportsOf(all map[digest.Digest]*image, ref string) ([]export, error) {
	parsed, err := reference.ParseAnyReference(ref)
	if err != nil {
		return nil, invalidReference(err)
	}
	if named, ok := parsed.(reference.Named); ok && reference.IsNameOnly(named) {
		var out []export
		for _, img := range sortedImages(all) {
			for _, r := range img.named() {
				n, err := reference.ParseNormalizedNamed(r.Name)
				if err != nil || n.Name() != named.Name() {
					continue
				}
				if _, tagged := n.(reference.Tagged); tagged {
					out = append(out, export{img: img, target: r.Target, name: r.Name})
				}
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	m, err := lookup(all, ref)
	if err != nil {
		return nil, err
	}
	if m.byID {
		return []export{{img: m.img, target: m.img.record().Target}}, nil
	}
	if _, ok := m.named.(reference.Digested); ok {
		return []export{{img: m.img, target: m.records[0].Target}}, nil
	}
	return []export{{img: m.img, target: m.records[0].Target, name: m.records[0].Name}}, nil
}

// withoutName drops the name annotations a record's target may carry from
// the archive it was loaded from; the exporter would name the image after
// them.
func withoutName(d ocispec.Descriptor) ocispec.Descriptor {
	if len(d.Annotations) == 0 {
		return d
	}
	d.Annotations = maps.Clone(d.Annotations)
	delete(d.Annotations, cimages.AnnotationImageName)
	delete(d.Annotations, ocispec.AnnotationRefName)
	return d
}
