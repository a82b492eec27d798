#!/bin/bash
# make run: starts roostd in the foreground. As a user, it is that user's
# engine. As root, it is the seed of the system-wide mode: the same engine run
# by the unprivileged service account "roost", its socket at
# /run/roost/docker.sock (group roost, mode 0660). Root itself never runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "export DOCKER_HOST=unix://${XDG_RUNTIME_DIR:-/tmp/roost-$(id -u)}/docker.sock"
	exec bin/roostd "$@"
fi

account=roost
if ! id "$account" >/dev/null 2>&1; then
	useradd --system --create-home --home-dir /var/lib/roost --shell /usr/sbin/nologin "$account"
fi
uid=$(id -u "$account")
# useradd gives subordinate IDs to normal users only; a system account needs
# them added (a free range above every existing one).
for f in /etc/subuid /etc/subgid; do
	touch "$f"
	if ! grep -q "^$account:" "$f"; then
		start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
		echo "$account:$start:65536" >>"$f"
	fi
done
# The account may not read this checkout (a clone in /root is private), so
# it runs a copy of the binaries.
libexec=/usr/local/libexec/roost
install -d -m 0755 "$libexec"
install -m 0755 bin/roostd bin/roost-keeper bin/containerd bin/containerd-shim-runc-v2 bin/runc bin/containerd-fuse-overlayfs-grpc bin/cni-bridge bin/cni-static bin/bypass4netns bin/bypass4netnsd bin/buildkitd bin/roost-build bin/roost-runc "$libexec/"
install -d -m 0700 -o "$account" -g "$account" "/run/user/$uid"
install -d -m 0750 -o "$account" -g "$account" /run/roost
echo "export DOCKER_HOST=unix:///run/roost/docker.sock"
exec setpriv --reuid="$account" --regid="$account" --init-groups \
	env -i HOME=/var/lib/roost USER="$account" XDG_RUNTIME_DIR="/run/user/$uid" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	"$libexec/roostd" -H unix:///run/roost/docker.sock --group "$account" "$@"
