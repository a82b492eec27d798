package buildsvc

import (
	"encoding/json"
	"fmt"
)

// configTOML is roost's own buildkitd.toml.
//
// It turns off BuildKit's build history (`docker buildx history`):
// recording it writes a provenance document, the progress log and a record
// for every build before the solve returns, which is a third of a fully
// cached rebuild; dockerd's classic builder keeps no such history either.
//
// When RuntimeBinary is set (single-ID mode) the containerd worker runs its
// containers with containerd's runc shim as usual, but the shim runs that
// binary instead of runc.
func (c Config) configTOML() []byte {
	out := []byte(historyOff)
	if c.RuntimeBinary == "" {
		return out
	}
	// A JSON string is a valid TOML basic string: same escapes.
	name, _ := json.Marshal(c.RuntimeBinary)
	return fmt.Appendf(out, "[worker.containerd.runtime]\n  name = %q\n  options = { BinaryName = %s }\n", runcShim, name)
}

// historyOff keeps no build history.
const historyOff = "[history]\n  maxEntries = 0\n"

// runcShim is containerd's runc runtime, BuildKit's default.
const runcShim = "io.containerd.runc.v2"
