#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the harness needs from Debian's packages; idempotent.
#   deps.sh [ARCH...]   ARCH: x86_64 (default), arm64 (or arm64-4k, arm64-64k:
#                       make check's ARCHES)
# harness/packages is always installed; with arm64, harness/packages.arm64
# too: its host packages (the cross compiler, qemu-system-aarch64) with
# apt-get, its ':arm64' packages (the guest's busybox, libnuma) downloaded
# and unpacked into $BUILD/arm64-sysroot without touching dpkg's
# configuration (no dpkg --add-architecture).
. "$(dirname "$0")/lib.sh"

arches=${*:-x86_64}
for a in $arches; do
	case $a in x86_64|arm64|arm64-4k|arm64-64k) ;; *) die "unknown architecture '$a' (x86_64, arm64)" ;; esac
done
want_arm64() { case " $arches " in *" arm64"*) return 0 ;; esac; return 1; }

mkdir -p "$BUILD"
# The one list of packages is harness/packages (and harness/packages.arm64
# for arm64); EXTRA_PKGS adds to it.
PKGS=$(sed 's/#.*//' "$REPO/harness/packages") ||
	die "cannot read the package list"
GUEST_PKGS=
if want_arm64; then
	l=$(sed 's/#.*//' "$REPO/harness/packages.arm64") || die "cannot read harness/packages.arm64"
	PKGS="$PKGS $(echo "$l" | tr ' \t' '\n\n' | grep -v ':arm64$')"
	GUEST_PKGS=$(echo "$l" | tr ' \t' '\n\n' | sed -n 's/:arm64$//p')
fi
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

# The arm64 guest's packages: apt-get with its own state (package lists,
# cache, an empty dpkg status) in $BUILD/arm64-apt, architecture arm64, the
# host's apt sources and keys; needs neither root nor a foreign
# architecture in dpkg.  Unpacked into $ARM64_SYSROOT once; a changed list
# unpacks again.
fetch_arm64() {
	local d=$BUILD/arm64-apt stamp=$ARM64_SYSROOT/.packages f
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(echo $GUEST_PKGS)" ] && return 0
	say "downloading the arm64 guest's packages into $ARM64_SYSROOT: $(echo $GUEST_PKGS)"
	rm -rf "$d" "$ARM64_SYSROOT"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/debs" "$ARM64_SYSROOT"
	: > "$d/status"
	local opts=(-q -o APT::Architecture=arm64 -o APT::Architectures=arm64
		-o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status"
		-o Dir::Cache="$d/cache" -o Debug::NoLocking=1)
	# As root, apt would download as user _apt, who cannot write here.
	[ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
	apt-get "${opts[@]}" update > "$d/apt.log" 2>&1
	if grep -qE "^(W|E): " "$d/apt.log"; then
		grep -m3 -E "^(W|E): " "$d/apt.log" >&2
		die "cannot fetch Debian's arm64 package lists (see $d/apt.log)"
	fi
	( cd "$d/debs" && apt-get "${opts[@]}" download $GUEST_PKGS ) >> "$d/apt.log" 2>&1 ||
		die "downloading the arm64 packages$GUEST_PKGS failed; see $d/apt.log"
	for f in "$d"/debs/*.deb; do
		dpkg-deb -x "$f" "$ARM64_SYSROOT" || die "unpacking $f failed"
		echo "$(dpkg-deb -f "$f" Package):arm64 $(dpkg-deb -f "$f" Version)" >> "$ARM64_SYSROOT/.versions"
	done
	echo $GUEST_PKGS > "$stamp"
	rm -rf "$d/lists" "$d/cache"
}
[ -n "$GUEST_PKGS" ] && fetch_arm64

# Say what we run on, and fail early on what cannot work.
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (package qemu-system-x86)"
[ -x /bin/busybox ] || die "/bin/busybox is missing (package busybox-static)"
[ -f /usr/src/linux-source-6.12.tar.xz ] || die "/usr/src/linux-source-6.12.tar.xz is missing (package linux-source-6.12)"
if want_arm64; then
	command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 is missing (package qemu-system-arm)"
	command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc is missing (package gcc-aarch64-linux-gnu)"
	[ -x "$ARM64_SYSROOT/bin/busybox" ] || die "$ARM64_SYSROOT/bin/busybox is missing (busybox-static:arm64)"
fi

need=4
[ -d "$TREE/.git" ] || need=12
avail=$(df -P -B1M "$BUILD" | awk 'NR == 2 { print $4 }')
[ "$avail" -ge $((need * 1024)) ] ||
	die "not enough disk space in $BUILD: $((avail / 1024)).$((avail % 1024 * 10 / 1024)) GB free, the harness needs $need GB"
exit 0
