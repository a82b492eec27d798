package buildsvc

import (
	"strings"
)

// singleIDHelp says why a build failed in single-ID mode (a user namespace
// that maps the user's own ID alone) and what fixes it. BuildKit has no
// option for such a namespace: its containers mount /dev/pts with the tty
// group (gid=5), which the kernel refuses when that group is not mapped,
// and it unpacks base images with containerd's differ, which cannot give a
// file an owner that is not mapped. roost's own unpacking squashes such
// owners to root; BuildKit's does not.
const singleIDHelp = "builds need subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and "

// explainSingleID turns BuildKit's errors that single-ID mode causes into
// one that names the reason and the fix; other errors are returned as
// they are. The original stays reachable with errors.Unwrap, for the
// failing step's Dockerfile line and for the log.
func explainSingleID(err error) error {
	msg := err.Error()
	var reason string
	switch {
	case strings.Contains(msg, "devpts") && strings.Contains(msg, "gid=5"):
		reason = "BuildKit runs RUN steps with /dev/pts owned by the tty group (gid 5), which does not exist there"
	case strings.Contains(msg, "failed to Lchown") && strings.Contains(msg, "invalid argument"):
		reason = "BuildKit cannot unpack a base image whose files belong to other IDs (docker pull, load and run squash them to root; builds do not)"
	default:
		return err
	}
	return &singleIDError{msg: singleIDHelp + reason + "; an administrator can add a range (usermod --add-subuids/--add-subgids, see docs/hpc.md), or build elsewhere and docker load the image", err: err}
}

// singleIDError is a build that single-ID mode made fail.
type singleIDError struct {
	msg string
	err error
}

func (e *singleIDError) Error() string { return e.msg }
func (e *singleIDError) Unwrap() error { return e.err }
