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
// limit). The read follows the write, so it mostly measures the page
// cache: no engine can drop it rootless.
const hostDirEngine = "host dir (floor)"

// storageWorkload measures one engine; on roost it also measures the host.
func storageWorkload(b *bench, e *engine) []row {
	mib := b.sizes.storageMiB
	var rows []row
	if e.name == roostEngine {
		rows = append(rows, hostStorageRows(b, mib)...)
	}
	if err := ensureImage(b, e); err != nil {
		return append(rows, row{workload: "write, container rootfs", engine: e.name, unit: unitMBps, err: err})
	}
	const name, vol = "roost-bench-storage", "roost-bench-storage"
	_, _ = b.docker(e, "rm", "-f", name)
	_, _ = b.docker(e, "volume", "rm", "-f", vol)
	if _, err := b.docker(e, "run", "-d", "--name", name, "-v", vol+":/vol", "busybox", "sleep", "3600"); err != nil {
		return append(rows, row{workload: "write, container rootfs", engine: e.name, unit: unitMBps, err: err})
	}
	e.runs++
	defer b.docker(e, "volume", "rm", "-f", vol)
	defer b.docker(e, "rm", "-f", name)
	for _, place := range []struct{ label, dir string }{{"container rootfs", "/"}, {"named volume", "/vol"}} {
		w := row{workload: "write, " + place.label, engine: e.name, unit: unitMBps}
		r := row{workload: "read, " + place.label, engine: e.name, unit: unitMBps}
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
