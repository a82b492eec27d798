// Package busyboximg builds the busybox test image from Debian's
// busybox-static, without any registry: a plain rootfs tar (for `docker
// import`) and a `docker save` archive (for `docker load`). The output is
// deterministic, so the image ID only changes when the busybox binary does.
package busyboximg

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"
)

// BusyboxPath is where Debian's busybox-static package installs the binary.
const BusyboxPath = "/bin/busybox"

// Epoch is the fixed modification and creation time of everything in the
// image; a fixed time keeps the layer digest and the image ID stable.
var Epoch = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// IndexHTML is the content of /index.html and /var/www/index.html, so that
// `httpd -f -p 80` (which serves the working directory, / by default)
// answers 200 with a known body.
const IndexHTML = "roost busybox\n"

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group  = "root:x:0:\nnogroup:x:65534:\n"
)

// entry is one member of the layer tar.
type entry struct {
	typ  byte
	mode int64
	link string // symlink target
	data []byte
}

// WriteRootfs writes the image's root filesystem as an uncompressed tar,
// the single layer of the image.
func WriteRootfs(w io.Writer) error {
	entries, err := rootfsEntries()
	if err != nil {
		return err
	}
	return writeTar(w, entries)
}

// Layer returns the rootfs tar in memory (about 2 MB).
func Layer() ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteRootfs(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func rootfsEntries() (map[string]entry, error) {
	bin, err := readBusybox()
	if err != nil {
		return nil, err
	}
	applets, err := listApplets()
	if err != nil {
		return nil, err
	}

	e := map[string]entry{}
	dir := func(name string, mode int64) { e[name] = entry{typ: tar.TypeDir, mode: mode} }
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "sbin", "usr", "usr/bin", "usr/sbin", "var", "var/www"} {
		dir(d, 0o755)
	}
	dir("root", 0o700)
	dir("tmp", 0o1777)

	e["bin/busybox"] = entry{typ: tar.TypeReg, mode: 0o755, data: bin}
	e["etc/passwd"] = entry{typ: tar.TypeReg, mode: 0o644, data: []byte(passwd)}
	e["etc/group"] = entry{typ: tar.TypeReg, mode: 0o644, data: []byte(group)}
	e["index.html"] = entry{typ: tar.TypeReg, mode: 0o644, data: []byte(IndexHTML)}
	e["var/www/index.html"] = entry{typ: tar.TypeReg, mode: 0o644, data: []byte(IndexHTML)}

	for _, a := range applets {
		if a == "bin/busybox" {
			continue
		}
		// Applets may live in directories the list above does not have.
		for d := path.Dir(a); d != "."; d = path.Dir(d) {
			if _, ok := e[d]; !ok {
				dir(d, 0o755)
			}
		}
		if _, ok := e[a]; ok {
			continue
		}
		e[a] = entry{typ: tar.TypeSymlink, mode: 0o777, link: "/bin/busybox"}
	}
	return e, nil
}

// readBusybox reads the static busybox binary. A dynamically linked busybox
// (Debian's plain "busybox" package) would not run in an image without libc.
func readBusybox() ([]byte, error) {
	data, err := os.ReadFile(BusyboxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: install it with `apt-get install busybox-static`", BusyboxPath)
	}
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s is not an ELF binary: %w", BusyboxPath, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked: install busybox-static (`apt-get install busybox-static`)", BusyboxPath)
		}
	}
	return data, nil
}

// listApplets asks busybox for its applets with their install paths
// ("bin/sh", "usr/bin/wget", …).
func listApplets() ([]string, error) {
	out, err := exec.Command(BusyboxPath, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", BusyboxPath, err)
	}
	var applets []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		p := path.Clean(strings.TrimPrefix(l, "/"))
		if p == "." || strings.HasPrefix(p, "..") {
			return nil, fmt.Errorf("unexpected applet path %q", l)
		}
		applets = append(applets, p)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list-full listed no applets", BusyboxPath)
	}
	return applets, nil
}

// writeTar writes entries sorted by name, which puts every directory before
// its contents, owned by 0:0 and dated Epoch.
func writeTar(w io.Writer, entries map[string]entry) error {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	tw := tar.NewWriter(w)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     n,
			Linkname: e.link,
			Mode:     e.mode,
			ModTime:  Epoch,
			Format:   tar.FormatPAX,
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
