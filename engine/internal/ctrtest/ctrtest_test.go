package ctrtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

func TestStart(t *testing.T) {
	d := StartDaemon(t)
	v, err := d.Client.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version == "" {
		t.Error("empty containerd version")
	}
	if _, err := os.Stat(d.Address); err != nil {
		t.Error(err)
	}
}

// A container left running is killed, with its shim, when the test ends.
func TestCleanupKillsContainers(t *testing.T) {
	var dir string
	var shimPID, initPID int
	t.Run("run", func(t *testing.T) {
		d := StartDaemon(t)
		dir = d.Dir
		ctx := namespaces.WithNamespace(context.Background(), "ctrtest")
		var archive bytes.Buffer
		if err := busyboximg.WriteDockerArchive(&archive, busyboximg.DefaultTag); err != nil {
			t.Fatal(err)
		}
		imgs, err := d.Client.Import(ctx, &archive)
		if err != nil {
			t.Fatal(err)
		}
		img := client.NewImage(d.Client, imgs[0])
		if err := img.Unpack(ctx, "overlayfs"); err != nil {
			t.Fatal(err)
		}
		ctr, err := d.Client.NewContainer(ctx, "sleeper",
			client.WithRuntime("io.containerd.runc.v2", &options.Options{Root: filepath.Join(d.Dir, "runc")}),
			client.WithNewSnapshot("sleeper", img),
			client.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "300")}, SpecOpts()...)...))
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		initPID = int(task.Pid())
		sh := shims(d.Address)
		if len(sh) != 1 || sh[0].namespace != "ctrtest" || sh[0].id != "sleeper" {
			t.Fatalf("shims = %+v", sh)
		}
		shimPID = sh[0].pid
		if testenv.ParentPID(initPID) != shimPID {
			t.Errorf("container init %d has parent %d, not the shim %d", initPID, testenv.ParentPID(initPID), shimPID)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range []int{initPID, shimPID} {
		for syscall.Kill(pid, 0) == nil && testenv.ParentPID(pid) != 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// A killed shim may linger as a zombie of an init that does not reap.
		if syscall.Kill(pid, 0) == nil && !zombie(pid) {
			t.Errorf("process %d survived the cleanup", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
}

func zombie(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] == 'Z'
}

func itoa(i int) string { return strconv.Itoa(i) }
