// Command busybox writes the busybox test image, built from Debian's
// busybox-static, as a `docker save` archive (and optionally as a plain
// rootfs tar for `docker import`):
//
//	go run ./tests/busybox -o busybox.tar [-rootfs rootfs.tar] [-tag busybox:latest]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

func main() {
	out := flag.String("o", "busybox.tar", "write the `docker save` archive to this file")
	rootfs := flag.String("rootfs", "", "also write the plain rootfs tar to this file")
	tag := flag.String("tag", busyboximg.DefaultTag, "image reference recorded in the archive (\"\" for untagged)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "busybox: unexpected arguments:", flag.Args())
		os.Exit(2)
	}

	if err := writeFile(*out, func(w io.Writer) error { return busyboximg.WriteDockerArchive(w, *tag) }); err != nil {
		fmt.Fprintln(os.Stderr, "busybox:", err)
		os.Exit(1)
	}
	if *rootfs != "" {
		if err := writeFile(*rootfs, busyboximg.WriteRootfs); err != nil {
			fmt.Fprintln(os.Stderr, "busybox:", err)
			os.Exit(1)
		}
	}
}

// writeFile writes through a temporary file renamed into place, so a
// failure never leaves a truncated archive behind.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".busybox-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
