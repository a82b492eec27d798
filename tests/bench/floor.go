package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The floor is what running `true` in busybox costs with nothing but runc:
// runc run of the same rootfs inside roostd's own user and mount namespace,
// with none of containerd, the shim, snapshots, networking or the API. No
// engine can be faster than this on the same machine.

// floorEnv, set to "1", makes the bench binary the floor helper (see
// floorHelper) instead of the bench.
const floorEnv = "_ROOST_BENCH_FLOOR"

// floorRequest is what the bench sends the helper on stdin.
type floorRequest struct {
	Runc   string // the runc binary
	Root   string // runc's --root
	Bundle string
	Warmup int // runs before the timed ones
	N      int
}

// floorResult is what the helper prints on stdout.
type floorResult struct {
	Nanos []int64
}

// floor runs busybox with bare runc in roostd's namespace.
type floor struct {
	b      *bench
	roost  *roostd
	dir    string // bundle and runc state
	bundle string
}

// engine describes the floor to the workloads: it has no Docker API, no
// process of its own and no start of its own.
func (f *floor) engine() *engine {
	return &engine{
		name:    "runc (floor)",
		setUp:   f.setUp,
		runTrue: f.runTrue,
	}
}

// setUp writes the bundle: the busybox rootfs and a config.json from
// `runc spec`, owned by the account.
func (f *floor) setUp() error {
	if !f.roost.running() {
		return errors.New("the floor runs in roostd's namespace, and roostd is not running")
	}
	f.dir = filepath.Join(f.b.tmp, "floor")
	f.bundle = filepath.Join(f.dir, "bundle")
	rootfs := filepath.Join(f.bundle, "rootfs")
	for _, d := range []string{f.dir, f.bundle, rootfs, filepath.Join(f.dir, "state")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := f.b.acct.chown(d); err != nil {
			return err
		}
	}
	if err := extractTar(f.b.busyboxRootfs, rootfs, f.b.acct); err != nil {
		return fmt.Errorf("extracting the busybox rootfs: %w", err)
	}
	runc := filepath.Join(f.b.binDir, "runc")
	cmd := exec.Command(runc, "spec")
	cmd.Dir = f.bundle
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	config := filepath.Join(f.bundle, "config.json")
	if err := editSpec(config); err != nil {
		return fmt.Errorf("editing %s: %w", config, err)
	}
	return f.b.acct.chown(config)
}

// editSpec turns `runc spec`'s default into the floor's container: `true`
// without a terminal, a writable rootfs, no cgroup settings, and new pid,
// ipc, uts, mount and network namespaces. The user namespace is roostd's,
// which the helper has already joined, so the spec has none.
func editSpec(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	process, _ := spec["process"].(map[string]any)
	root, _ := spec["root"].(map[string]any)
	linux, _ := spec["linux"].(map[string]any)
	if process == nil || root == nil || linux == nil {
		return fmt.Errorf("no process, root or linux section")
	}
	process["args"] = []string{"true"}
	process["terminal"] = false
	root["readonly"] = false
	delete(linux, "cgroupsPath")
	delete(linux, "resources")
	delete(linux, "uidMappings")
	delete(linux, "gidMappings")
	var namespaces []map[string]string
	for _, t := range []string{"pid", "ipc", "uts", "mount", "network"} {
		namespaces = append(namespaces, map[string]string{"type": t})
	}
	linux["namespaces"] = namespaces
	out, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// runTrue times n runs of the bundle after warm-up runs, through one
// nsenter into roostd's namespace and the helper mode of this binary, so
// that no sample includes nsenter.
func (f *floor) runTrue(ctx context.Context, warmup, n int) ([]time.Duration, error) {
	// Only the namespace of the roostd the bench started: the state dir
	// could name another run's.
	if !f.roost.running() {
		return nil, errors.New("roostd is not running")
	}
	pid, err := f.roost.childPID()
	if err != nil {
		return nil, err
	}
	req, err := json.Marshal(floorRequest{
		Runc:   filepath.Join(f.b.binDir, "runc"),
		Root:   filepath.Join(f.dir, "state"),
		Bundle: f.bundle,
		Warmup: warmup,
		N:      n,
	})
	if err != nil {
		return nil, err
	}
	// Not -n: the containers get network namespaces of their own.
	cmd := f.b.acct.command(ctx, f.b.binDir, "nsenter", "-U", "--preserve-credentials", "-m", "-t", strconv.Itoa(pid), "--", f.b.self)
	cmd.Env = append(cmd.Env, floorEnv+"=1")
	cmd.Dir = f.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(req), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("floor helper: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res floorResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("floor helper printed %q: %w", stdout.String(), err)
	}
	ds := make([]time.Duration, len(res.Nanos))
	for i, ns := range res.Nanos {
		ds[i] = time.Duration(ns)
	}
	return ds, nil
}

// floorHelper is the bench binary re-executed inside roostd's namespace,
// where it is uid 0: it runs the bundle with runc, timing each run, and
// prints a floorResult. It returns the exit code.
func floorHelper() int {
	var req floorRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "reading the request:", err)
		return 2
	}
	var res floorResult
	for i := range req.Warmup + req.N {
		// A fresh id each time; runc run in the foreground deletes the
		// container when its process exits.
		id := fmt.Sprintf("floor-%d-%d", os.Getpid(), i)
		cmd := exec.Command(req.Runc, "--root", req.Root, "run", "-b", req.Bundle, id)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "runc run %s: %v: %s\n", id, err, strings.TrimSpace(out.String()))
			return 1
		}
		if i >= req.Warmup {
			res.Nanos = append(res.Nanos, d.Nanoseconds())
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// extractTar unpacks the rootfs tar (directories, files, symlinks and hard
// links; busyboximg writes nothing else) into dir, owned by the account.
func extractTar(tarPath, dir string, a *account) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + hdr.Name)
		target := filepath.Join(dir, name)
		mode := os.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			err = os.Chmod(target, mode)
		case tar.TypeReg:
			err = writeFile(target, tr, mode)
		case tar.TypeSymlink:
			err = os.Symlink(hdr.Linkname, target)
		case tar.TypeLink:
			err = os.Link(filepath.Join(dir, filepath.Clean("/"+hdr.Linkname)), target)
		default:
			return fmt.Errorf("%s: tar entry type %q is not supported", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
		if err := a.chown(target); err != nil {
			return err
		}
	}
}

// writeFile writes r to a new file with mode.
func writeFile(path string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
