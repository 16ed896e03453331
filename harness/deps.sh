#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the harness needs from Debian's packages; idempotent.
. "$(dirname "$0")/lib.sh"

mkdir -p "$BUILD"
# The one list of packages is harness/packages; EXTRA_PKGS adds to it.
PKGS=$(sed 's/#.*//' "$REPO/harness/packages") ||
	die "cannot read the package list"
[ -n "$EXTRA_PKGS" ] && PKGS="$PKGS $EXTRA_PKGS"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	say "installing from Debian's packages:$missing"
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	[ -z "$sudo" ] || command -v sudo >/dev/null ||
		die "need root (or sudo) to install:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! $sudo apt-get install -y -q --no-install-recommends $missing >"$BUILD/apt.log" 2>&1; then
		say "refreshing the package lists"
		# apt-get update exits 0 when it cannot fetch; read what it said.
		$sudo apt-get update -q >>"$BUILD/apt.log" 2>&1
		if grep -qE "^(W|E): (Failed to fetch|Some index files failed)" "$BUILD/apt.log"; then
			grep -m1 -E "Could not|Temporary failure|Failed to fetch" "$BUILD/apt.log" >&2
			die "cannot reach Debian's package registry to install$missing (see $BUILD/apt.log)"
		fi
		$sudo apt-get install -y -q --no-install-recommends $missing >>"$BUILD/apt.log" 2>&1 ||
			die "apt-get install$missing failed; see $BUILD/apt.log"
	fi
fi

# Say what we run on, and fail early on what cannot work.
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (package qemu-system-x86)"
[ -x /bin/busybox ] || die "/bin/busybox is missing (package busybox-static)"
[ -f /usr/src/linux-source-6.12.tar.xz ] || die "/usr/src/linux-source-6.12.tar.xz is missing (package linux-source-6.12)"

need=4
[ -d "$TREE/.git" ] || need=12
avail=$(df -P -B1M "$BUILD" | awk 'NR == 2 { print $4 }')
[ "$avail" -ge $((need * 1024)) ] ||
	die "not enough disk space in $BUILD: $((avail / 1024)).$((avail % 1024 * 10 / 1024)) GB free, the harness needs $need GB"
exit 0
