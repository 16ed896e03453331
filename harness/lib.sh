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
