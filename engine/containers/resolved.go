package containers

import "github.com/roostd/roost/engine/images"

// Resolved is an image found by an ImageResolver; *images.Service
// satisfies ImageResolver as it is.
type Resolved = images.Resolved
