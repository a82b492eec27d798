package buildsvc

import (
	"encoding/json"
	"fmt"
)

// configTOML is buildkitd's config file. It is empty unless RuntimeBinary
// is set (single-ID mode): then the containerd worker runs its containers
// with containerd's runc shim as usual, but the shim runs that binary
// instead of runc.
func (c Config) configTOML() []byte {
	if c.RuntimeBinary == "" {
		return nil
	}
	// A JSON string is a valid TOML basic string: same escapes.
	name, _ := json.Marshal(c.RuntimeBinary)
	return fmt.Appendf(nil, "[worker.containerd.runtime]\n  name = %q\n  options = { BinaryName = %s }\n", runcShim, name)
}

// runcShim is containerd's runc runtime, BuildKit's default.
const runcShim = "io.containerd.runc.v2"
