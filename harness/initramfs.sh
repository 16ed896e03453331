#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's initramfs for a kernel flavour: busybox, the init script,
# the demo, the selftests of the flavour's list (selftests_list in lib.sh;
# linked statically) and the modules.  arm64 flavours: cross-compiled
# (aarch64-linux-gnu-gcc), with Debian's arm64 busybox and libnuma.a from
# $ARM64_SYSROOT (deps.sh).
. "$(dirname "$0")/lib.sh"

flavour=$1
set_arch "$flavour"
list=$(selftests_list "$flavour")
O=$(objdir "$flavour")
A=$(artdir "$flavour")
root=$A/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,tests,lib/modules} "$A/ksft/mm"

# Headers for the selftests, from the tree being tested.
install_headers "$O" "$A/headers.log"

bins=$(awk '!/^#/ && NF >= 3 && $3 ~ /^\.\// { sub("^\\./", "", $3); print $3 }' \
	"$list" | sort -u)
# Programs the list runs through a shell command line (make bench).
bins=$(echo $bins $HARNESS_BINS | tr ' ' '\n' | sort -u)
# A listed selftest whose source is not in the tree (yet) is left out with a
# warning, and fails the check as a test that did not run; the others run.
have=
for b in $bins; do
	if [ -f "$TREE/tools/testing/selftests/mm/$b.c" ]; then
		have="$have $b"
	else
		say "warning: tools/testing/selftests/mm/$b.c is not in the tree: $b left out of the $flavour guest"
	fi
done
bins=$have
targets=
for b in $bins; do targets="$targets $A/ksft/mm/$b"; done
cross=()
if [ "$KARCH" = arm64 ]; then
	# The cross compiler, and numa.h and libnuma.a of Debian's arm64 libnuma-dev.
	cross=(ARCH=arm64 CROSS_COMPILE="$KCROSS" EXTRA_CFLAGS="-I$ARM64_SYSROOT/usr/include"
	       LDFLAGS="-static -L$ARM64_SYSROOT/usr/lib/aarch64-linux-gnu")
fi
# A selftest that does not build is left out too (make -k builds the
# others): the guest runs the rest, and the check fails on the missing one.
if [ -n "$targets" ]; then
	rm -f $targets
	make -k -C "$TREE/tools/testing/selftests/mm" OUTPUT="$A/ksft/mm" \
		KHDR_INCLUDES="-isystem $O/hdr/include" LDFLAGS=-static "${cross[@]}" \
		$targets > "$A/selftests.log" 2>&1 || {
		grep -E 'error|Error' "$A/selftests.log" | head -20 >&2
		say "error: building some selftests failed; see $A/selftests.log"
	}
	built=
	for b in $bins; do
		if [ -f "$A/ksft/mm/$b" ]; then
			cp "$A/ksft/mm/$b" "$root/tests/"
			built="$built $b"
		else
			say "error: selftest $b did not build: left out of the $flavour guest (it fails as not run)"
		fi
	done
	bins=$built
fi
# The list without the tests left out above (each then fails as not run).
grep -v '^#' "$list" | awk -v have=" $bins " '
	NF >= 3 && $3 ~ /^\.\// { b = substr($3, 3); if (index(have, " " b " ") == 0) next }
	{ print }' > "$root/tests/list"

${KCROSS}gcc -static -O2 -Wall -Wextra -Werror -I "$REPO/tools/testing/selftests/mm" \
	-o "$root/bin/demo" "$REPO/harness/guest/demo.c" ||
	die "building the demo failed"
busybox=/bin/busybox
[ "$KARCH" = arm64 ] && busybox=$ARM64_SYSROOT/bin/busybox
cp "$busybox" "$root/bin/busybox" || die "no $busybox (harness/deps.sh installs it)"
cp "$REPO/harness/guest/init" "$root/init"

if grep -q '^CONFIG_MODULES=y' "$O/.config"; then
	make -C "$TREE" O="$O" $KMAKE_ARCH -s INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true \
		modules_install > "$A/modules.log" 2>&1 ||
		die "modules_install failed; see $A/modules.log"
fi

( cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 ) \
	> "$A/initramfs.cpio.gz" || die "writing the initramfs failed"
cp "$O/$KIMAGE_PATH" "$A/$KIMAGE"
say "initramfs for $flavour: $(du -h "$A/initramfs.cpio.gz" | cut -f1)," \
	"$(ls "$root/tests" | grep -vc '^list$') selftests," \
	"$(find "$root/lib/modules" -name '*.ko' | wc -l) modules"
