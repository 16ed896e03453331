#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build one kernel flavour of the prepared tree.
#   demo   small x86_64 guest config + Kconfig.offload
#   check  the same + debug options + KUnit (harness/config/debug.config)
#   off    a small x86-64 kernel (harness/config/off.config, then
#          Kconfig.offload) with CONFIG_MIGRATION_COPY_OFFLOAD=n (the
#          feature-off gate)
#   modules   check with the DSA migrator, its test and idxd as modules, as
#          the demo kernel has them (the modules gate)
#   check-arm64      arm64 (cross-built), 4 KB pages, MTE: check's fragments
#                    with harness/config/arm64.config last
#   check-arm64-64k  arm64, 64 KB pages, fewer debug options: base.config,
#                    Kconfig.offload, arm64.config, arm64-64k.config
# Usage: kbuild.sh FLAVOUR [make targets...]
# (default: bzImage modules; Image modules for arm64)
. "$(dirname "$0")/lib.sh"

flavour=$1; shift
set_arch "$flavour"
targets=${*:-$KIMAGE modules}
O=$(objdir "$flavour")
# The modules build differs from check in a few symbols: build it in the
# check objects, so that only what depends on them is rebuilt (fixdep); the
# next 'kbuild.sh check' switches back the same way.
[ "$flavour" = modules ] && O=$(objdir check)
mkdir -p "$O"

frags="$REPO/harness/config/base.config $REPO/Kconfig.offload"

# CONFIG_MIGRATION_COPY_OFFLOAD has no prompt: the migrators select it, so
# turning it off means turning off every one of them.
offload_off() {
	printf 'CONFIG_%s=n\n' MIGRATE_MTCOPY TEST_MIGRATE_OFFLOAD INTEL_IDXD_MIGRATE \
		DMA_MIGRATE DMA_MIGRATE_KUNIT_TEST \
		MIGRATION_COPY_OFFLOAD_KUNIT_TEST \
		MIGRATION_COPY_OFFLOAD
}
case $flavour in
demo) ;;
check) frags="$frags $REPO/harness/config/debug.config" ;;
# arm64.config comes after the x86 fragments: it says what their x86-only
# lines become on arm64 and what arm64's virt machine needs.
check-arm64)
	frags="$frags $REPO/harness/config/debug.config $REPO/harness/config/arm64.config" ;;
check-arm64-64k)
	frags="$frags $REPO/harness/config/arm64.config $REPO/harness/config/arm64-64k.config" ;;
off)
	frags="$REPO/harness/config/off.config $REPO/Kconfig.offload"
	offload_off > "$O/offload-off.config"
	frags="$frags $O/offload-off.config"
	;;
modules)
	# What debug.config builds in for the KUnit run; the other migrators
	# and test modules are modules in check already.
	frags="$frags $REPO/harness/config/debug.config"
	printf 'CONFIG_%s=m\n' INTEL_IDXD INTEL_IDXD_MIGRATE INTEL_IDXD_MIGRATE_KUNIT_TEST \
		> "$O/modules.config"
	frags="$frags $O/modules.config"
	;;
benchoff)
	# The demo kernel with the option off: the baseline of 'make bench'.
	offload_off > "$O/offload-off.config"
	frags="$frags $O/offload-off.config"
	;;
*) die "unknown kernel flavour '$flavour'" ;;
esac

# Merge the fragments on allnoconfig, then check that every value asked for
# stuck: a symbol whose dependencies are not met silently drops out otherwise.
cat $frags > "$O/fragments.config"
( cd "$TREE" && scripts/kconfig/merge_config.sh -n -m -O "$O" $frags ) > "$O/config.log" 2>&1 ||
	die "merging the config fragments failed; see $O/config.log"
make -C "$TREE" O="$O" $KMAKE_ARCH -s allnoconfig KCONFIG_ALLCONFIG="$O/.config" >> "$O/config.log" 2>&1 ||
	die "make allnoconfig failed; see $O/config.log"
bad=
if [ "$flavour" = off ] || [ "$flavour" = benchoff ]; then
	# Options that depend on the feature drop out with it; the check
	# flavour verifies the fragments themselves.
	grep -q '^CONFIG_MIGRATION_COPY_OFFLOAD=' "$O/.config" && bad=" CONFIG_MIGRATION_COPY_OFFLOAD=n"
	# The off gate's own config is checked: what it builds must be there.
	if [ "$flavour" = off ]; then
		grep -E '^CONFIG_' "$REPO/harness/config/off.config" > "$O/fragments.config"
	else
		: > "$O/fragments.config"
	fi
fi
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) sym=${line%%=*}; grep -q "^$sym=" "$O/.config" && bad="$bad $line" ;;
	CONFIG_*=*) grep -qxF "$line" "$O/.config" || bad="$bad $line" ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}
		grep -q "^$sym=" "$O/.config" && bad="$bad $sym=n" ;;
	esac
done < <(tac "$O/fragments.config" | awk -F'[= ]' '{ k = ($1 == "#") ? $2 : $1; if (!seen[k]++) print }' | tac)
if [ -n "$bad" ] && [ -n "$KBUILD_LENIENT" ]; then
	# check-series: a patch may come before the one adding a symbol.
	known=
	for v in $bad; do
		sym=${v%%=*}; sym=${sym#CONFIG_}
		grep -rqs --include='Kconfig*' -E "^(menu)?config $sym\$" "$TREE" && known="$known $v"
	done
	[ "$known" = "$bad" ] || say "not in this tree yet, ignored:$(echo " $bad " | tr ' ' '\n' | grep -vxF -f <(echo "$known" | tr ' ' '\n') | tr '\n' ' ')"
	bad=$known
fi
[ -z "$bad" ] || die "config values that did not stick in $O/.config (unknown symbol or unmet dependency):$bad"

install_headers "$O" "$O/headers.log"

say "building $flavour kernel ($targets) in $O"
start=$(date +%s)
if ! kmake "$O" $targets > "$O/build.log" 2>&1; then
	grep -E 'error|Error' "$O/build.log" | head -30 >&2
	die "building the $flavour kernel failed; see $O/build.log"
fi
say "built $flavour kernel in $(( $(date +%s) - start ))s ($(make -s -C "$TREE" O="$O" $KMAKE_ARCH kernelrelease 2>/dev/null))"
