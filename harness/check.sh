#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': debug kernel with every KUnit suite of the series built in,
# the series' selftests and the upstream migration selftest in the NUMA
# guest, the static gates, and a summary whose last line is
# 'N passed, N failed, N skipped'.  Exit status 1 on any failure.
#
# ARCHES (environment; default "x86_64 arm64") says which kernels:
#   x86_64     the check kernel (harness/selftests.list), the static gates
#   arm64      both arm64 kernels: arm64-4k and arm64-64k
#   arm64-4k   check-arm64: 4 KB pages, MTE, debug options
#              (harness/selftests-arm64.list), and the W=1 and sparse gates
#              on the series' objects arm64 builds
#   arm64-64k  check-arm64-64k: 64 KB pages, fewer debug options
#              (harness/selftests-arm64-64k.list)
# Each prints its summary, ending in 'harness: NAME: N passed, N failed, N
# skipped'; then the sum of all is the last line.  With one of them alone
# (x86_64: as before) its summary ends in the bare counts.
# HARNESS_SELFTESTS, when set, replaces the selftest list of every kernel.
. "$(dirname "$0")/lib.sh"

ARCHES=${ARCHES:-x86_64 arm64}
flavours=
for a in $ARCHES; do
	case $a in
	x86_64) flavours="$flavours check" ;;
	arm64) flavours="$flavours check-arm64 check-arm64-64k" ;;
	arm64-4k) flavours="$flavours check-arm64" ;;
	arm64-64k) flavours="$flavours check-arm64-64k" ;;
	*) die "unknown architecture '$a' in ARCHES (x86_64, arm64, arm64-4k, arm64-64k)" ;;
	esac
done
flavours=$(echo $flavours | tr ' ' '\n' | awk '!seen[$0]++' | tr '\n' ' ')
nflavours=$(echo $flavours | wc -w)

label() {
	case $1 in
	check) echo x86_64 ;;
	check-arm64) echo "arm64-4k" ;;
	check-arm64-64k) echo "arm64-64k" ;;
	esac
}

start=$(date +%s)
# KUnit suites the series must run: '# kunit-suite: NAME' lines in
# Kconfig.offload, but for those an architecture's config fragment names in
# '# no-kunit-suite: NAME' lines (the DSA suites are x86 only).
kunit_suites() {
	local all skip=
	all=$(sed -n 's/^# kunit-suite: *//p' "$REPO/Kconfig.offload")
	[ "$(flavour_arch "$1")" = arm64 ] &&
		skip=$(sed -n 's/^# no-kunit-suite: *//p' "$REPO/harness/config/arm64.config")
	echo "$all" | grep -vxF -f <(echo "$skip"; echo "#") | tr '\n' ' '
}

rc=0
dirs=
for f in $flavours; do
	A=$(artdir "$f")
	dirs="$dirs $A"
	mkdir -p "$A"
	rm -f "$A"/{console.log,selftests.tap,gates.tap,kunit.ktap,counts.json}
	[ "$nflavours" -gt 1 ] && say "=== $(label "$f"): the $f kernel ==="
	selftests=$(awk '!/^#/ && NF >= 3 { print $1 }' "$(selftests_list "$f")")

	built=1
	"$REPO/harness/kbuild.sh" "$f" || built=0
	if [ $built = 1 ]; then
		"$REPO/harness/initramfs.sh" "$f" || built=0
	fi
	if [ $built = 1 ]; then
		"$REPO/harness/run-guest.sh" "$f" check
	else
		say "no guest run: the build failed"
		echo "harness: build failed" > "$A/console.log"
	fi
	if [ "$f" = check ]; then
		# The patches for the checkpatch gate, without a git identity (CI has none).
		rm -rf "$CHECK_SERIES/patches"
		python3 "$REPO/harness/series.py" write --placeholder "$CHECK_SERIES" > "$A/series.log" 2>&1 ||
			{ cat "$A/series.log"; say "writing the series failed"; }
		if [ $built = 1 ]; then
			"$REPO/harness/gates.sh"
		fi
	elif [ "$f" = check-arm64 ] && [ $built = 1 ]; then
		# W=1 and sparse on what only arm64 builds (arch/arm64).
		"$REPO/harness/gates.sh" check-arm64
	fi
	if [ "$nflavours" = 1 ]; then
		say "make check took $(( $(date +%s) - start ))s"
		python3 "$REPO/harness/results.py" --dir "$A" --kunit-suites "$(kunit_suites "$f")" \
			--selftests "$selftests" --build-ok $built
		exit
	fi
	python3 "$REPO/harness/results.py" --dir "$A" --kunit-suites "$(kunit_suites "$f")" \
		--selftests "$selftests" --build-ok $built --label "$(label "$f")" || rc=1
done
say "make check took $(( $(date +%s) - start ))s"
python3 "$REPO/harness/results.py" --total $dirs || rc=1
exit $rc
