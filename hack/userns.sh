#!/bin/sh
# Runs a command as root of a new user namespace with a private /run, so that
# an unprivileged user can run the tests that start their own containerd
# (containerd's shims put their sockets in /run/containerd whatever the
# configuration says).
set -eu
exec unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh "$@"
