// Package buildopts holds what the API side of a build needs to know about
// buildsvc without linking it: the options of the build routes and how a
// failed build is told from a failing engine. roostd imports it; buildsvc,
// and with it BuildKit's client, lives in the roost-build process only.
package buildopts

import (
	"errors"
	"time"

	"github.com/moby/moby/api/types/container"
)

// BuildOptions are the parameters of POST /build that roost honours.
type BuildOptions struct {
	Tags       []string
	Dockerfile string
	// Remote is the remote parameter: a git or http(s) URL that buildkitd
	// fetches as the context; the body is then unused.
	Remote string
	// BuildArgs: a nil value means "take it from the environment" in the
	// CLI; the CLI resolves it before sending, so nil is skipped here.
	BuildArgs   map[string]*string
	Target      string
	Labels      map[string]string
	NoCache     bool
	Pull        bool
	Platform    string
	NetworkMode string // "", "default", "bridge", "host" or "none"
	ExtraHosts  []string
	ShmSize     int64 // bytes
	Ulimits     []*container.Ulimit
	CacheFrom   []string
	Quiet       bool
	BuildID     string
}

// PruneOptions are the parameters of POST /build/prune.
type PruneOptions struct {
	// All removes every unused record, not only the dangling ones.
	All bool
	// KeepDuration keeps the records used more recently (filter until).
	KeepDuration time.Duration
	// ReservedSpace, MaxUsedSpace and MinFreeSpace are BuildKit's keep
	// options, in bytes (keep-storage is ReservedSpace).
	ReservedSpace, MaxUsedSpace, MinFreeSpace int64
	// Filters are BuildKit filter expressions (id==…, type==…).
	Filters []string
}

// IsBuildFailure reports whether err is a build that failed in its
// Dockerfile rather than in the engine: such errors have a BuildFailure
// method that returns true.
func IsBuildFailure(err error) bool {
	var f interface{ BuildFailure() bool }
	return errors.As(err, &f) && f.BuildFailure()
}
