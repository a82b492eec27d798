package buildsvc

import (
	"strings"
)

// singleIDHelp says why a build failed in single-ID mode (a user namespace
// that maps the user's own ID alone) and what fixes it. Builds work there
// as long as every file and process belongs to root: roostd unpacks base
// images for BuildKit with their owners squashed to root (containerd's
// diff service asks roostd's differ first), and roost-runc drops the tty
// group BuildKit's containers mount /dev/pts with. What is left is a step
// that asks for another owner: COPY or ADD --chown, an ADD of an archive
// whose files have other owners, or RUN under USER with another ID.
const singleIDHelp = "this build needs subordinate IDs: this user has no range in /etc/subuid and /etc/subgid, so the engine maps only the user's own ID (single-ID mode), and "

// explainSingleID turns BuildKit's errors that single-ID mode causes into
// one that names the reason and the fix; other errors are returned as
// they are. The original stays reachable with errors.Unwrap, for the
// failing step's Dockerfile line and for the log.
func explainSingleID(err error) error {
	msg := err.Error()
	var reason string
	switch {
	case strings.Contains(msg, "unable to setup user") && strings.Contains(msg, "invalid argument"):
		reason = "RUN steps run as root only (a USER of another ID does not exist there)"
	case (strings.Contains(msg, "failed to Lchown") || strings.Contains(msg, "failed to chown")) && strings.Contains(msg, "invalid argument"):
		reason = "files in the image can belong to root only (COPY or ADD --chown to another ID, or an ADD of an archive whose files have other owners, cannot be built there)"
	case strings.Contains(msg, "devpts") && strings.Contains(msg, "gid=5"):
		// roost-runc, which drops the tty group, is missing.
		reason = "BuildKit runs RUN steps with /dev/pts owned by the tty group (gid 5), which does not exist there, and roost-runc, which removes it, is not installed beside roostd"
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
