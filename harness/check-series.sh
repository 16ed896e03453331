#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prove the series is bisectable: check out every patch in order (in the
# series checkout written by 'make series'), build the demo kernel and the
# series' selftests at each one.  Builds are incremental, so each patch
# costs only what it changes.  'make check-series' runs 'make series' first,
# which signs the patches off with your git identity and fails without one
# ('make check' needs none: its copy of the series is elsewhere).
. "$(dirname "$0")/lib.sh"

export HARNESS_SRC=$BUILD/series
export KBUILD_LENIENT=1
W=$HARNESS_SRC/linux-source-6.12
log=$HARNESS_SRC/check-series.log
[ -d "$W/.git" ] || die "no series checkout; run 'make series' first"
commits=$(git -C "$W" rev-list --reverse base..series)
[ -n "$commits" ] || die "the series has no commits"
total=$(echo "$commits" | wc -l)
i=0 failed=0
: > "$log"
for c in $commits; do
	i=$((i + 1))
	subj=$(git -C "$W" log -1 --format=%s "$c")
	git -C "$W" checkout -q "$c" || die "checkout of $c failed"
	ok=1
	"$REPO/harness/kbuild.sh" demo bzImage modules >> "$log" 2>&1 || ok=0
	if [ $ok = 1 ]; then
		O=$(objdir demo)
		make -C "$W" O="$O" -s headers_install INSTALL_HDR_PATH="$O/hdr" >> "$log" 2>&1 || ok=0
		for f in $(git -C "$W" diff --name-only base "$c" -- 'tools/testing/selftests/mm/*.c'); do
			[ -f "$W/$f" ] || continue
			b=$(basename "$f" .c)
			mkdir -p "$HARNESS_SRC/ksft"
			make -C "$W/tools/testing/selftests/mm" OUTPUT="$HARNESS_SRC/ksft" \
				KHDR_INCLUDES="-isystem $O/hdr/include" "$HARNESS_SRC/ksft/$b" >> "$log" 2>&1 || ok=0
		done
	fi
	if [ $ok = 1 ]; then
		say "patch $i/$total builds: $subj"
	else
		say "patch $i/$total FAILS to build: $subj (see $log)"
		failed=$((failed + 1))
	fi
done
git -C "$W" checkout -q series
[ $failed = 0 ] || die "$failed of $total patches do not build"
say "all $total patches apply in order and build"
