#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': debug kernel with every KUnit suite of the series built in,
# the series' selftests and the upstream migration selftest in the NUMA
# guest, the static gates, and a summary whose last line is
# 'N passed, N failed, N skipped'.  Exit status 1 on any failure.
. "$(dirname "$0")/lib.sh"

A=$(artdir check)
mkdir -p "$A"
rm -f "$A"/{console.log,selftests.tap,gates.tap,kunit.ktap}
start=$(date +%s)

# KUnit suites the series must run: '# kunit-suite: NAME' lines in Kconfig.offload.
kunit_suites=$(sed -n 's/^# kunit-suite: *//p' "$REPO/Kconfig.offload")
selftests=$(awk '!/^#/ && NF >= 3 { print $1 }' "${HARNESS_SELFTESTS:-$REPO/harness/selftests.list}")

built=1
"$REPO/harness/kbuild.sh" check || built=0
if [ $built = 1 ]; then
	"$REPO/harness/initramfs.sh" check || built=0
fi
if [ $built = 1 ]; then
	"$REPO/harness/run-guest.sh" check check
else
	say "no guest run: the build failed"
	echo "harness: build failed" > "$A/console.log"
fi
# The patches for the checkpatch gate, without a git identity (CI has none).
rm -rf "$CHECK_SERIES/patches"
python3 "$REPO/harness/series.py" write --placeholder "$CHECK_SERIES" > "$A/series.log" 2>&1 ||
	{ cat "$A/series.log"; say "writing the series failed"; }
if [ $built = 1 ]; then
	"$REPO/harness/gates.sh"
fi
say "make check took $(( $(date +%s) - start ))s"
python3 "$REPO/harness/results.py" --dir "$A" --kunit-suites "$kunit_suites" \
	--selftests "$selftests" --build-ok $built
