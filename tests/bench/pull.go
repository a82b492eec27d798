package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roostd/roost/tests/regtest"
)

// The image figures of issue 3: pull of an image of about 100 MB in four
// layers from a registry on loopback, then docker save and docker load of
// it, in MB/s beside the disk's own sequential write speed.
const (
	pullLayers         = 4
	pullLayerSize      = 25 << 20
	pullRepo           = "bench/big"
	pullRounds         = 3
	unitMBps      unit = "MB/s"
	diskEngine         = "disk (floor)"
)

// pullImageBytes is what each row's MB/s are taken of.
const pullImageBytes = pullLayers * pullLayerSize

// pullRegistry is the bench's registry, started on first use and holding
// the image; b.stop stops it.
type pullRegistry struct {
	reg *regtest.Registry
	err error
}

func (b *bench) pullRegistry() (*regtest.Registry, error) {
	if b.registry == nil {
		b.registry = &pullRegistry{}
		b.registry.reg, b.registry.err = startPullRegistry(filepath.Join(b.tmp, "registry"))
	}
	return b.registry.reg, b.registry.err
}

func startPullRegistry(dir string) (*regtest.Registry, error) {
	reg, err := regtest.StartWith(dir, regtest.Options{})
	if err != nil {
		return nil, err
	}
	if err := pushRandomImage("http://"+reg.Addr, pullRepo, "1"); err != nil {
		_ = reg.Stop()
		return nil, fmt.Errorf("pushing the bench image: %w", err)
	}
	return reg, nil
}

// pushRandomImage uploads an OCI image of pullLayers uncompressed layers of
// random bytes (nothing to compress or share) straight to the registry.
func pushRandomImage(base, repo, tag string) error {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	upload := func(data []byte) (desc, error) {
		sum := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		resp, err := http.Post(base+"/v2/"+repo+"/blobs/uploads/", "application/octet-stream", nil)
		if err != nil {
			return desc{}, err
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusAccepted || loc == "" {
			return desc{}, fmt.Errorf("starting an upload: %s", resp.Status)
		}
		if !strings.HasPrefix(loc, "http") {
			loc = base + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+sum, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			return desc{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return desc{}, fmt.Errorf("uploading %s: %s", sum, resp.Status)
		}
		return desc{Digest: sum, Size: len(data)}, nil
	}
	var layers []desc
	var diffIDs []string
	for i := range pullLayers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data-%d.bin", i), Mode: 0o644, Size: pullLayerSize, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, rand.Reader, pullLayerSize); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		d, err := upload(buf.Bytes())
		if err != nil {
			return err
		}
		d.MediaType = "application/vnd.oci.image.layer.v1.tar"
		layers = append(layers, d)
		diffIDs = append(diffIDs, d.Digest)
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config":  map[string]any{"Cmd": []string{"/data-0.bin"}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"created": time.Now().UTC().Format(time.RFC3339),
	})
	cd, err := upload(config)
	if err != nil {
		return err
	}
	cd.MediaType = "application/vnd.oci.image.config.v1+json"
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cd, "layers": layers,
	})
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("putting the manifest: %s", resp.Status)
	}
	return nil
}

// pullWorkload times pull, save and load of the bench image on e; on roost
// it also measures the disk.
func pullWorkload(b *bench, e *engine) []row {
	pull := row{workload: "pull 100 MB image", engine: e.name, unit: unitMBps}
	save := row{workload: "save 100 MB image", engine: e.name, unit: unitMBps}
	load := row{workload: "load 100 MB image", engine: e.name, unit: unitMBps}
	var rows []row
	if e.name == roostEngine {
		rows = append(rows, diskRow(b))
	}
	fail := func(err error) []row {
		pull.err, save.err, load.err = err, err, err
		return append(rows, pull, save, load)
	}
	reg, err := b.pullRegistry()
	if err != nil {
		return fail(err)
	}
	ref := reg.Addr + "/" + pullRepo + ":1"
	archive := filepath.Join(b.tmp, "pull-save.tar")
	// The first engine's archive stays, so that an engine that cannot pull
	// from the registry still gets the image for the save and load rows.
	kept := filepath.Join(b.tmp, "pull-image.tar")
	defer os.Remove(archive)
	defer b.docker(e, "rmi", "-f", ref)
	mbps := func(d time.Duration) float64 { return float64(pullImageBytes) / 1e6 / d.Seconds() }
	for range pullRounds {
		_, _ = b.docker(e, "rmi", "-f", ref)
		d, err := b.docker(e, "pull", "-q", ref)
		if err == nil {
			pull.samples = append(pull.samples, mbps(d))
		} else {
			pull.err = err
			if e.name != roostEngine {
				// A peer's own limit (see benchmarks.md), not a failure
				// of the bench.
				pull.err = notAvailable{why: "cannot pull from a plain-HTTP registry on the host's loopback: " + err.Error()}
			}
			if _, lerr := os.Stat(kept); lerr != nil {
				return fail(err)
			}
			if _, lerr := b.docker(e, "load", "-q", "-i", kept); lerr != nil {
				return fail(lerr)
			}
		}
		_ = os.Remove(archive)
		if d, err = b.docker(e, "save", "-o", archive, ref); err != nil {
			save.err = err
			break
		}
		save.samples = append(save.samples, mbps(d))
		if _, err := os.Stat(kept); err != nil {
			_ = copyFile(archive, kept)
		}
		_, _ = b.docker(e, "rmi", "-f", ref)
		if d, err = b.docker(e, "load", "-q", "-i", archive); err != nil {
			load.err = err
			break
		}
		load.samples = append(load.samples, mbps(d))
	}
	return append(rows, pull, save, load)
}

// diskRow is the disk's sequential write speed where the bench keeps its
// files: 256 MB written and synced, the figure the image rows compare to.
func diskRow(b *bench) row {
	r := row{workload: "pull 100 MB image", engine: diskEngine, unit: unitMBps}
	const size = 256 << 20
	buf := make([]byte, 1<<20)
	_, _ = rand.Read(buf)
	path := filepath.Join(b.tmp, "disk-write")
	defer os.Remove(path)
	for range pullRounds {
		start := time.Now()
		f, err := os.Create(path)
		if err != nil {
			r.err = err
			return r
		}
		for written := 0; written < size; written += len(buf) {
			if _, err := f.Write(buf); err != nil {
				f.Close()
				r.err = err
				return r
			}
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			r.err = err
			return r
		}
		r.samples = append(r.samples, float64(size)/1e6/time.Since(start).Seconds())
	}
	return r
}
