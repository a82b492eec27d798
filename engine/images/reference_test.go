package images

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestNotFoundMessage(t *testing.T) {
	for ref, want := range map[string]string{
		"busybox":                          "No such image: busybox:latest",
		"busybox:1":                        "No such image: busybox:1",
		"docker.io/library/busybox:latest": "No such image: busybox:latest",
		"localhost:5000/a/b:tag":           "No such image: localhost:5000/a/b:tag",
		"abc123":                           "No such image: abc123:latest",
	} {
		err := notFound(ref)
		if !errdefs.IsNotFound(err) || err.Error() != want {
			t.Errorf("notFound(%q) = %v, want NotFound %q", ref, err, want)
		}
	}
}

func TestRepoTagReference(t *testing.T) {
	tests := []struct{ repo, tag, want, wantErr string }{
		{repo: "busybox", want: "docker.io/library/busybox:latest"},
		{repo: "busybox", tag: "v1", want: "docker.io/library/busybox:v1"},
		{repo: "localhost:5000/a/b", tag: "x", want: "localhost:5000/a/b:x"},
		{repo: "busybox:v2", want: "docker.io/library/busybox:v2"},
		{repo: "Busybox", wantErr: "invalid reference format: repository name (library/Busybox) must be lowercase"},
		{repo: "busybox", tag: "bad tag", wantErr: "invalid tag format"},
		{repo: "busybox@sha256:" + strings.Repeat("a", 64), wantErr: "cannot import digest reference"},
	}
	for _, tc := range tests {
		got, err := repoTagReference(tc.repo, tc.tag)
		if tc.wantErr != "" {
			if !errdefs.IsInvalidArgument(err) || err.Error() != tc.wantErr {
				t.Errorf("repoTagReference(%q, %q) err = %v, want InvalidArgument %q", tc.repo, tc.tag, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("repoTagReference(%q, %q) = %v, %v, want %s", tc.repo, tc.tag, got, err, tc.want)
		}
	}
}

func TestCheckTruncatedID(t *testing.T) {
	for in, want := range map[string]string{
		"abcd":                  "abcd",
		"sha256:abcd":           "abcd",
		"abc":                   "",
		"ABCD":                  "",
		"busybox":               "",
		strings.Repeat("a", 65): "",
	} {
		if got := checkTruncatedID(in); got != want {
			t.Errorf("checkTruncatedID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOCIRefName(t *testing.T) {
	for in, want := range map[string]string{
		"latest":                    "",
		"busybox:latest":            "docker.io/library/busybox:latest",
		"docker.io/library/busybox": "docker.io/library/busybox:latest",
		"localhost:5000/x:1":        "localhost:5000/x:1",
		"Bad:Name":                  "",
	} {
		if got := ociRefName(in); got != want {
			t.Errorf("ociRefName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSingleReference(t *testing.T) {
	rec := func(names ...string) []cimages.Image {
		var out []cimages.Image
		for _, n := range names {
			out = append(out, cimages.Image{Name: n})
		}
		return out
	}
	dg := "@sha256:" + strings.Repeat("b", 64)
	tests := []struct {
		recs []cimages.Image
		want bool
	}{
		{rec(), true},
		{rec("docker.io/library/busybox:latest"), true},
		{rec("docker.io/library/busybox:latest", "docker.io/library/busybox"+dg), true},
		{rec("docker.io/library/busybox:1", "docker.io/library/busybox:latest"), false},
		{rec("docker.io/library/busybox:latest", "docker.io/library/other"+dg), false},
		{rec("docker.io/library/busybox" + dg), true},
	}
	for _, tc := range tests {
		if got := singleReference(tc.recs); got != tc.want {
			t.Errorf("singleReference(%v) = %v, want %v", tc.recs, got, tc.want)
		}
	}
}

// testCatalog builds images in memory for lookup tests.
func testCatalog() map[digest.Digest]*image {
	mk := func(hexID string, created time.Time, labels map[string]string, names ...string) *image {
		id := digest.Digest("sha256:" + hexID)
		img := &image{meta: &imageMeta{id: id}}
		img.meta.config.Created = &created
		img.meta.config.Config = dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: labels}}
		target := ocispec.Descriptor{Digest: digest.Digest("sha256:" + strings.Repeat("f", 60) + hexID[4:8])}
		for _, n := range names {
			img.records = append(img.records, cimages.Image{Name: n, Target: target})
		}
		return img
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	imgs := []*image{
		mk("aaaa"+strings.Repeat("1", 60), t0, nil, "docker.io/library/busybox:1", "docker.io/library/busybox:latest"),
		mk("aaaa"+strings.Repeat("2", 60), t0.Add(time.Hour), map[string]string{"x": "y"}, "localhost:5000/a/b:tag"),
		mk("cccc"+strings.Repeat("3", 60), t0.Add(2*time.Hour), nil, danglingName(digest.Digest("sha256:"+strings.Repeat("f", 60)+"3333"))),
	}
	all := map[digest.Digest]*image{}
	for _, img := range imgs {
		all[img.id()] = img
	}
	return all
}

func TestLookup(t *testing.T) {
	all := testCatalog()
	busybox := "sha256:aaaa" + strings.Repeat("1", 60)
	tests := []struct {
		ref     string
		wantID  string
		byID    bool
		wantErr string
	}{
		{ref: "busybox", wantID: busybox},
		{ref: "busybox:1", wantID: busybox},
		{ref: "docker.io/library/busybox:latest", wantID: busybox},
		{ref: "localhost:5000/a/b:tag", wantID: "sha256:aaaa" + strings.Repeat("2", 60)},
		{ref: busybox, wantID: busybox, byID: true},
		{ref: strings.TrimPrefix(busybox, "sha256:"), wantID: busybox, byID: true},
		{ref: "aaaa1", wantID: busybox, byID: true},
		{ref: "sha256:cccc", wantID: "sha256:cccc" + strings.Repeat("3", 60), byID: true},
		{ref: "busybox@sha256:" + strings.Repeat("f", 60) + "1111", wantID: busybox},
		{ref: "aaa", wantErr: "No such image: aaa:latest"},
		{ref: "aaaa", wantErr: "ambiguous reference"},
		{ref: "busybox:2", wantErr: "No such image: busybox:2"},
		{ref: "other@sha256:" + strings.Repeat("f", 60) + "1111", wantErr: "No such image: other@sha256:" + strings.Repeat("f", 60) + "1111"},
	}
	for _, tc := range tests {
		m, err := lookup(all, tc.ref)
		if tc.wantErr != "" {
			if !errdefs.IsNotFound(err) || err.Error() != tc.wantErr {
				t.Errorf("lookup(%q) err = %v, want NotFound %q", tc.ref, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("lookup(%q): %v", tc.ref, err)
			continue
		}
		if m.img.id().String() != tc.wantID || m.byID != tc.byID {
			t.Errorf("lookup(%q) = %s byID=%v, want %s byID=%v", tc.ref, m.img.id(), m.byID, tc.wantID, tc.byID)
		}
	}
	if _, err := lookup(all, "UPPER"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("lookup(UPPER) err = %v, want InvalidArgument", err)
	}
}

func TestNames(t *testing.T) {
	all := testCatalog()
	img := all[digest.Digest("sha256:aaaa"+strings.Repeat("1", 60))]
	tags, digests := names(img)
	if got, want := familiar(tags), []string{"busybox:1", "busybox:latest"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %q, want %q", got, want)
	}
	if got, want := familiar(digests), []string{"busybox@sha256:" + strings.Repeat("f", 60) + "1111"}; !reflect.DeepEqual(got, want) {
		t.Errorf("digests = %q, want %q", got, want)
	}
}
