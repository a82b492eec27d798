package images_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/roostd/roost/engine/internal/ctrtest"
	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// What Resolve returns is enough to run a container: the loaded busybox
// image runs under the shim and runc from bin/.
func TestRunResolvedImage(t *testing.T) {
	f := newFixture(t)
	f.loadBusybox(t)
	r, err := f.svc.Resolve(context.Background(), "busybox")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	const id = "images-run-test"
	// runc's state and the FIFOs go to temporary directories rather than
	// /run/containerd.
	tmp := t.TempDir()
	ctr, err := f.client.NewContainer(ctx, id,
		containerd.WithRuntime("io.containerd.runc.v2", &options.Options{Root: filepath.Join(tmp, "runc")}),
		containerd.WithImage(r.Image),
		containerd.WithNewSnapshot(id, r.Image),
		containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(r.Image), oci.WithProcessArgs("cat", "/index.html")}, ctrtest.SpecOpts()...)...),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup)
	var out, errOut bytes.Buffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &errOut), cio.WithFIFODir(filepath.Join(tmp, "fifo"))))
	if err != nil {
		t.Fatal(err)
	}
	defer task.Delete(context.WithoutCancel(ctx))
	exit, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st := <-exit
	// The output is copied until the container's side of the FIFOs closes.
	task.IO().Wait()
	if code, _, err := st.Result(); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, errOut.String())
	}
	if out.String() != busyboximg.IndexHTML {
		t.Errorf("output = %q, want %q", out.String(), busyboximg.IndexHTML)
	}
}
