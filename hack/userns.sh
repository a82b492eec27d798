#!/bin/sh
# Runs a command as root of a new user namespace with a private /run, so that
# an unprivileged user can run the tests that start their own containerd
# (containerd's shims put their sockets in /run/containerd whatever the
# configuration says). `make unit` runs `go test` through it for a user.
#
# The user becomes root of the namespace and the first block of its
# /etc/subuid and /etc/subgid ranges becomes uids and gids 1 and up (through
# newuidmap and newgidmap, Debian's uidmap), so that a container can run as
# nobody as it does under the real root. Cgroups stay out of reach there:
# engine/internal/ctrtest tells the tests to build their specs without them.
#
# XDG_RUNTIME_DIR is unset: it names a directory of the host's /run, which the
# private /run hides, and a test must never touch the user's own engine.
# As the real root there is nothing to do: the command runs as it is.
set -eu
if [ "$(id -u)" = 0 ]; then
	exec "$@"
fi
user=$(id -un)
uid=$(id -u)
for f in /etc/subuid /etc/subgid; do
	if ! awk -F: -v u="$user" -v i="$uid" '($1 == u || $1 == i) && NF == 3 { found = 1 } END { exit !found }' "$f" 2>/dev/null; then
		echo "userns.sh: $user has no range in $f, which the tests need to run containers as other users" >&2
		echo "  fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $user   (any free range of 65536)" >&2
		exit 1
	fi
done
unset XDG_RUNTIME_DIR
exec unshare --user --map-root-user --map-auto --mount \
	sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh "$@"
