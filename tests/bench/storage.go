package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The storage figures of issue 6: 1 GiB written (and synced) then read
// with dd inside a container, in its root filesystem (the snapshotter)
// and in a named volume, next to the same on a host directory (the
// limit), with roost's root filesystem on each of its snapshotters. The
// read follows the write, so it mostly measures the page cache: no engine
// can drop it rootless.
const hostDirEngine = "host dir (floor)"

// storageWorkload measures one engine; on roost it also measures the host,
// and the container's root filesystem again on fuse-overlayfs.
func storageWorkload(b *bench, e *engine) []row {
	var rows []row
	if e.name == roostEngine {
		rows = append(rows, hostStorageRows(b, b.sizes.storageMiB)...)
	}
	rows = append(rows, ddRows(b, e, e.name, storagePlaces)...)
	if e.storageDriver != nil {
		rows = append(rows, fuseStorageRows(b, e)...)
	}
	return rows
}

// storagePlace is where in the container dd writes: its root filesystem
// (the snapshotter) or a named volume (a directory of the data root).
type storagePlace struct{ label, dir string }

var storagePlaces = []storagePlace{{"container rootfs", "/"}, {"named volume", "/vol"}}

// fuseEngine names roost's rows on the fuse-overlayfs snapshotter.
const fuseEngine = roostEngine + " (fuse-overlayfs)"

// fuseStorageRows restarts the engine with fuse-overlayfs, measures the
// container's root filesystem there (a named volume is the same directory
// whatever the snapshotter), and restarts it with its default driver for
// the workloads after this one.
func fuseStorageRows(b *bench, e *engine) []row {
	rootfs := storagePlaces[:1]
	if err := e.storageDriver("fuse-overlayfs"); err != nil {
		return ddFailed(fuseEngine, rootfs, fmt.Errorf("restarting with --storage-driver fuse-overlayfs: %w", err))
	}
	rows := ddRows(b, e, fuseEngine, rootfs)
	if err := e.storageDriver(""); err != nil {
		b.problemf("%s: restarting with its default storage driver after the fuse-overlayfs rows: %v", e.name, err)
	}
	return rows
}

// ddRows runs dd in a container of e, in each place, and labels the rows
// with engine.
func ddRows(b *bench, e *engine, engine string, places []storagePlace) []row {
	mib := b.sizes.storageMiB
	if err := ensureImage(b, e); err != nil {
		return ddFailed(engine, places, err)
	}
	const name, vol = "roost-bench-storage", "roost-bench-storage"
	_, _ = b.docker(e, "rm", "-f", name)
	_, _ = b.docker(e, "volume", "rm", "-f", vol)
	if _, err := b.docker(e, "run", "-d", "--name", name, "-v", vol+":/vol", "busybox", "sleep", "3600"); err != nil {
		return ddFailed(engine, places, err)
	}
	e.runs++
	defer b.docker(e, "volume", "rm", "-f", vol)
	defer b.docker(e, "rm", "-f", name)
	var rows []row
	for _, place := range places {
		w := row{workload: "write, " + place.label, engine: engine, unit: unitMBps}
		r := row{workload: "read, " + place.label, engine: engine, unit: unitMBps}
		file := filepath.Join(place.dir, "bench.bin")
		for range b.sizes.storageRounds {
			d, err := b.docker(e, "exec", name, "dd", "if=/dev/zero", "of="+file, "bs=1M", fmt.Sprintf("count=%d", mib), "conv=fsync")
			if err != nil {
				w.err = err
				break
			}
			w.samples = append(w.samples, float64(mib)*1.048576/d.Seconds())
			if d, err = b.docker(e, "exec", name, "dd", "if="+file, "of=/dev/null", "bs=1M"); err != nil {
				r.err = err
				break
			}
			r.samples = append(r.samples, float64(mib)*1.048576/d.Seconds())
			_, _ = b.docker(e, "exec", name, "rm", "-f", file)
		}
		rows = append(rows, w, r)
	}
	return rows
}

// ddFailed is the first row of places, failed with err.
func ddFailed(engine string, places []storagePlace, err error) []row {
	return []row{{workload: "write, " + places[0].label, engine: engine, unit: unitMBps, err: err}}
}

// hostStorageRows are the same dd runs (busybox's, as in the containers)
// on a directory of the host, under
// the bench's temporary dir; the rows carry both workloads' names so the
// ratio column reads roost's share of the host's speed.
func hostStorageRows(b *bench, mib int) []row {
	w := row{workload: "write, container rootfs", engine: hostDirEngine, unit: unitMBps}
	r := row{workload: "read, container rootfs", engine: hostDirEngine, unit: unitMBps}
	file := filepath.Join(b.tmp, "storage-bench.bin")
	defer os.Remove(file)
	for range b.sizes.storageRounds {
		start := time.Now()
		if out, err := exec.CommandContext(b.ctx, "busybox", "dd", "if=/dev/zero", "of="+file, "bs=1M", fmt.Sprintf("count=%d", mib), "conv=fsync").CombinedOutput(); err != nil {
			w.err = fmt.Errorf("dd: %v: %s", err, out)
			break
		}
		w.samples = append(w.samples, float64(mib)*1.048576/time.Since(start).Seconds())
		start = time.Now()
		if out, err := exec.CommandContext(b.ctx, "busybox", "dd", "if="+file, "of=/dev/null", "bs=1M").CombinedOutput(); err != nil {
			r.err = fmt.Errorf("dd: %v: %s", err, out)
			break
		}
		r.samples = append(r.samples, float64(mib)*1.048576/time.Since(start).Seconds())
	}
	wv, rv := w, r
	wv.workload, rv.workload = "write, named volume", "read, named volume"
	return []row{w, r, wv, rv}
}
