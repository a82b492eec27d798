#!/bin/bash
# Installs (as root) or checks (as a user) what roost needs from Debian;
# with "test", also what the tests drive: systemd's socket activation and
# journald, ip for the network tests' namespaces, curl for the scripts,
# git for a build context served by git daemon.
set -euo pipefail
pkgs=(uidmap slirp4netns passt fuse-overlayfs iptables libseccomp-dev pkg-config gcc busybox-static util-linux tini)
if [ "${1:-}" = test ]; then
	pkgs+=(systemd iproute2 curl git)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$(id -u)" = 0 ]; then
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	# slirp4netns and fuse-overlayfs, run by an unprivileged user, need these.
	[ -e /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
	chmod 0666 /dev/net/tun
	[ -e /dev/fuse ] && chmod 0666 /dev/fuse
	exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "  fix: sudo apt-get install ${missing[*]}   (or run make as root once)" >&2
	exit 1
fi
for dev in /dev/net/tun /dev/fuse; do
	if [ -e "$dev" ] && [ ! -w "$dev" ]; then
		echo "$dev is not usable by $(id -un): fix: sudo chmod 0666 $dev" >&2
		exit 1
	fi
done
