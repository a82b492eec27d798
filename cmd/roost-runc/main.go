// Command roost-runc is the runtime binary of BuildKit's containers in
// single-ID mode (a user namespace that maps the user's own ID alone). It
// drops the tty group's gid from /dev/pts in the bundle's config.json
// before `runc create` and `runc run`, then executes the runc next to it
// with the same arguments; every other command passes through unchanged.
//
// BuildKit builds its containers' specs from containerd's defaults, which
// mount /dev/pts with gid=5; with one group mapped that gid does not exist
// and the kernel refuses the mount. BuildKit has no option to change its
// mounts, but its containerd worker takes the runtime's binary name, so
// roostd names this wrapper in buildkitd's config in single-ID mode only.
// roostd's own containers get the same change in their spec.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

func main() {
	runc, err := realRunc()
	if err == nil {
		if bundle, ok := bundleOf(os.Args[1:]); ok {
			err = dropTTYGroup(filepath.Join(bundle, "config.json"))
		}
	}
	if err == nil {
		err = syscall.Exec(runc, append([]string{"runc"}, os.Args[1:]...), os.Environ())
	}
	fmt.Fprintf(os.Stderr, "roost-runc: %v\n", err)
	os.Exit(1)
}

// realRunc is the runc installed beside this binary: roost's pinned one.
func realRunc() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	runc := filepath.Join(filepath.Dir(self), "runc")
	if _, err := os.Stat(runc); err != nil {
		return "", fmt.Errorf("the runc beside roost-runc: %w", err)
	}
	return runc, nil
}

// runc's global options that take a value; the command is the first
// argument that is neither one of them nor its value.
var globalWithValue = []string{"--root", "--log", "--log-format", "--criu", "--rootless"}

// bundleOf returns the bundle directory when args (runc's, without argv[0])
// are a create or run command: the --bundle (-b) value, or the current
// directory as runc defaults to.
func bundleOf(args []string) (string, bool) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		if slices.Contains(globalWithValue, a) {
			i++ // its value
		}
	}
	if i >= len(args) || (args[i] != "create" && args[i] != "run") {
		return "", false
	}
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		for _, name := range []string{"--bundle", "-b"} {
			if a == name && j+1 < len(args) {
				return args[j+1], true
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v, true
			}
		}
	}
	return ".", true
}

// dropTTYGroup removes any gid= option of the /dev/pts mount in the OCI
// config at path. It edits only that mount and leaves every other field
// as it was, including fields a newer runtime-spec may add.
func dropTTYGroup(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var mounts []map[string]json.RawMessage
	if raw, ok := spec["mounts"]; ok {
		if err := json.Unmarshal(raw, &mounts); err != nil {
			return fmt.Errorf("%s: mounts: %w", path, err)
		}
	}
	changed := false
	for _, m := range mounts {
		var dest string
		var opts []string
		if json.Unmarshal(m["destination"], &dest) != nil || dest != "/dev/pts" {
			continue
		}
		if m["options"] == nil || json.Unmarshal(m["options"], &opts) != nil {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return strings.HasPrefix(o, "gid=") })
		if len(kept) == len(opts) {
			continue
		}
		if m["options"], err = json.Marshal(kept); err != nil {
			return err
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if spec["mounts"], err = json.Marshal(mounts); err != nil {
		return err
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, fi.Mode().Perm())
}
