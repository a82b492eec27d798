package buildsvc

import (
	"encoding/json"
	"fmt"
)

// configTOML is roost's own buildkitd.toml.
//
// It keeps no build history (`docker buildx history`) unless History is
// set: recording it writes a provenance document, the progress log and a
// record for every build before the solve returns, which is a third of a
// fully cached rebuild; dockerd's classic builder keeps no such history.
//
// When RuntimeBinary is set (single-ID mode) the containerd worker runs its
// containers with containerd's runc shim as usual, but the shim runs that
// binary instead of runc.
func (c Config) configTOML() []byte {
	out := fmt.Appendf(nil, "[history]\n  maxEntries = %d\n", max(c.History, 0))
	if c.History > 0 && c.HistoryMaxAge > 0 {
		out = fmt.Appendf(out, "  maxAge = %q\n", c.HistoryMaxAge.String())
	}
	if c.RuntimeBinary == "" {
		return out
	}
	// A JSON string is a valid TOML basic string: same escapes.
	name, _ := json.Marshal(c.RuntimeBinary)
	return fmt.Appendf(out, "[worker.containerd.runtime]\n  name = %q\n  options = { BinaryName = %s }\n", runcShim, name)
}

// runcShim is containerd's runc runtime, BuildKit's default.
const runcShim = "io.containerd.runc.v2"
