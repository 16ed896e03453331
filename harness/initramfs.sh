#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's initramfs for a kernel flavour: busybox, the init script,
# the demo, the selftests of harness/selftests.list (static) and the modules.
. "$(dirname "$0")/lib.sh"

flavour=$1
O=$(objdir "$flavour")
A=$(artdir "$flavour")
root=$A/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,tests,lib/modules} "$A/ksft/mm"

# Headers for the selftests, from the tree being tested.
install_headers "$O" "$A/headers.log"

bins=$(awk '!/^#/ && NF >= 3 && $3 ~ /^\.\// { sub("^\\./", "", $3); print $3 }' \
	"${HARNESS_SELFTESTS:-$REPO/harness/selftests.list}" | sort -u)
# Programs the list runs through a shell command line (make bench).
bins=$(echo $bins $HARNESS_BINS | tr ' ' '\n' | sort -u)
targets=
for b in $bins; do targets="$targets $A/ksft/mm/$b"; done
if [ -n "$targets" ]; then
	make -C "$TREE/tools/testing/selftests/mm" OUTPUT="$A/ksft/mm" \
		KHDR_INCLUDES="-isystem $O/hdr/include" LDFLAGS=-static \
		$targets > "$A/selftests.log" 2>&1 || {
		tail -20 "$A/selftests.log" >&2
		die "building the selftests failed; see $A/selftests.log"
	}
	for b in $bins; do cp "$A/ksft/mm/$b" "$root/tests/"; done
fi
grep -v '^#' "${HARNESS_SELFTESTS:-$REPO/harness/selftests.list}" > "$root/tests/list"

gcc -static -O2 -Wall -Wextra -Werror -I "$REPO/tools/testing/selftests/mm" \
	-o "$root/bin/demo" "$REPO/harness/guest/demo.c" ||
	die "building the demo failed"
cp /bin/busybox "$root/bin/busybox"
cp "$REPO/harness/guest/init" "$root/init"

if grep -q '^CONFIG_MODULES=y' "$O/.config"; then
	make -C "$TREE" O="$O" -s INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true \
		modules_install > "$A/modules.log" 2>&1 ||
		die "modules_install failed; see $A/modules.log"
fi

( cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 ) \
	> "$A/initramfs.cpio.gz" || die "writing the initramfs failed"
cp "$O/arch/x86/boot/bzImage" "$A/bzImage"
say "initramfs for $flavour: $(du -h "$A/initramfs.cpio.gz" | cut -f1)," \
	"$(ls "$root/tests" | grep -vc '^list$') selftests," \
	"$(find "$root/lib/modules" -name '*.ko' | wc -l) modules"
