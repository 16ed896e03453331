# SPDX-License-Identifier: GPL-2.0
# Shared settings of the harness scripts (sourced, not run).

set -o pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build}
SRC=${HARNESS_SRC:-$BUILD/src}
TREE=$SRC/linux-source-6.12
JOBS=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$BUILD/ccache}
# Builds of different trees (the prepared tree, the series checkout) share
# cache entries: paths under $BUILD are hashed relative to the object folder,
# and every object folder sits next to its tree (../linux-source-6.12).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$BUILD}
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}

say() { printf '%s\n' "harness: $*"; }
die() { printf '%s\n' "harness: error: $*" >&2; exit 1; }

# Object folder and artifact folder of a build flavour (demo, check, off,
# check-arm64, check-arm64-64k).
objdir() { echo "$SRC/obj-$1"; }
artdir() { echo "$BUILD/$1"; }
# The selftests a flavour's guest runs: HARNESS_SELFTESTS (every flavour)
# or the flavour's list.
selftests_list() {
	if [ -n "$HARNESS_SELFTESTS" ]; then echo "$HARNESS_SELFTESTS"; return; fi
	case $1 in
	check-arm64) echo "$REPO/harness/selftests-arm64.list" ;;
	check-arm64-64k) echo "$REPO/harness/selftests-arm64-64k.list" ;;
	*) echo "$REPO/harness/selftests.list" ;;
	esac
}
# The arm64 guest's userland (busybox, libnuma), unpacked from Debian's arm64
# packages by deps.sh (harness/packages.arm64).
ARM64_SYSROOT=$BUILD/arm64-sysroot

# The architecture of a flavour: *-arm64* flavours are arm64 (cross-built),
# the others x86_64.  set_arch FLAVOUR sets, for kmake and the scripts:
#   KARCH      x86_64 or arm64
#   KMAKE_ARCH the make arguments that select it (none for x86_64, the host)
#   KCROSS     the cross-compiler prefix ('' for x86_64)
#   KIMAGE     the kernel image target and KIMAGE_PATH its path in the objects
flavour_arch() { case $1 in *arm64*) echo arm64 ;; *) echo x86_64 ;; esac; }
set_arch() {
	KARCH=$(flavour_arch "$1")
	if [ "$KARCH" = arm64 ]; then
		KCROSS=aarch64-linux-gnu-
		KMAKE_ARCH="ARCH=arm64 CROSS_COMPILE=$KCROSS"
		KIMAGE=Image KIMAGE_PATH=arch/arm64/boot/Image
	else
		KCROSS= KMAKE_ARCH=
		KIMAGE=bzImage KIMAGE_PATH=arch/x86/boot/bzImage
	fi
}
set_arch x86_64
# The copy of the series that make check writes for checkpatch, signed off by
# a placeholder, so that make check needs no git identity.  Never
# $BUILD/series: that is make series' output, signed off by whoever runs it.
CHECK_SERIES=$BUILD/check/series-placeholder

kmake() {
	local o=$1; shift
	make -C "$TREE" O="$o" -j"$JOBS" $KMAKE_ARCH CC="ccache ${KCROSS}gcc" HOSTCC="ccache gcc" "$@"
}

# The kernel builds of make check, queued: check.sh starts them all at once,
# one after another in the background at the lowest CPU priority (nice 19),
# and waits for each where it needs it.  A guest under TCG leaves a fifth to
# a third of the host's cores idle (its vCPUs wait on timers and on each
# other); the next kernel builds in that time instead of after the guest,
# and takes nothing from the guest or the gates, which run at normal
# priority.  build_queue_start FLAVOUR... (kbuild.sh's default targets) sets
# HARNESS_BUILD_QUEUE for the scripts it runs; build_wait FLAVOUR waits for
# one build of the queue and prints its output, or, with no queue (a script
# run on its own) or a flavour not queued, builds it here.
build_queue_start() {
	local q=$BUILD/build-queue i=0
	rm -rf "$q"
	mkdir -p "$q"
	printf '%s\n' "$@" > "$q/list"
	# A session of its own, so that build_queue_stop can stop all of it: the
	# shell of the queue leads it, and says its process ID in $q/pid.
	Q=$q R=$REPO setsid bash -c '
		echo $$ > "$Q/pid.tmp" && mv "$Q/pid.tmp" "$Q/pid"
		for f; do
			nice -n 19 "$R/harness/kbuild.sh" "$f" > "$Q/$f.log" 2>&1
			echo $? > "$Q/$f.rc"
		done' build-queue "$@" < /dev/null > /dev/null 2>&1 &
	while [ ! -f "$q/pid" ]; do
		i=$((i + 1))
		[ $i -le 300 ] || die "the build queue did not start (setsid, from util-linux)"
		sleep 0.1
	done
	export HARNESS_BUILD_QUEUE=$q
}
# Stop what is left of the queue (an interrupted or failed make check).
build_queue_stop() {
	local q=${HARNESS_BUILD_QUEUE:-} pid
	[ -n "$q" ] && [ -f "$q/pid" ] || return 0
	pid=$(cat "$q/pid")
	kill -0 "$pid" 2>/dev/null && kill -- -"$pid" 2>/dev/null
	return 0
}
build_wait() {
	local f=$1 q=${HARNESS_BUILD_QUEUE:-} t0
	if [ -z "$q" ] || ! grep -qxF "$f" "$q/list" 2>/dev/null; then
		"$REPO/harness/kbuild.sh" "$f"
		return
	fi
	t0=$(date +%s)
	while [ ! -f "$q/$f.rc" ]; do
		if ! kill -0 "$(cat "$q/pid")" 2>/dev/null; then
			[ -f "$q/$f.rc" ] && break
			say "the build queue stopped before the $f kernel was built"
			return 1
		fi
		sleep 2
	done
	cat "$q/$f.log"
	say "the $f kernel came from the build queue: waited $(( $(date +%s) - t0 ))s for it"
	return "$(cat "$q/$f.rc")"
}

# True when the tree's Kconfig knows the symbol (without CONFIG_).
have_symbol() {
	grep -rqs --include='Kconfig*' -E "^(menu)?config $1\$" "$TREE/mm" "$TREE/drivers/dma" \
		"$TREE/lib" "$TREE/init"
}

# The uapi headers the selftests build against, from the tree being built.
# kbuild.sh installs them before the (long) kernel build, so that a missing
# tool (rsync) fails in seconds; initramfs.sh installs them again (cheap), so
# it also works on objects kbuild.sh did not just build.
install_headers() {
	local o=$1 log=$2
	make -C "$TREE" O="$o" $KMAKE_ARCH -s headers_install INSTALL_HDR_PATH="$o/hdr" > "$log" 2>&1 && return 0
	tail -5 "$log" | sed 's/^/  /' >&2
	die "make headers_install failed (above, and $log)"
}
