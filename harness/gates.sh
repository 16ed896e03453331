#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static gates on the series' own files; writes TAP to $BUILD/check/gates.tap.
#   checkpatch   scripts/checkpatch.pl --strict on every generated patch
#   kernel-doc   scripts/kernel-doc -none -Wall on the series' kernel sources
#   W=1          no compiler warning in the series' kernel code (new files, and
#                the lines its diffs add to upstream files)
#   sparse       C=2 over the same objects, same rule
#   selftests    the series' selftests build without warnings
#   offload-off  a small x86-64 config (harness/config/off.config) with
#                CONFIG_MIGRATION_COPY_OFFLOAD=n builds
#   modules      the check kernel with the DSA migrator and its test as
#                modules (the rest are modules in check already) builds
# Needs the check kernel built (harness/kbuild.sh check) and the series written
# by check.sh (series.py write --placeholder "$CHECK_SERIES").
#
# gates.sh check-arm64 runs W=1 and sparse alone, on the arm64 check kernel
# (built first): the series' objects that arm64 builds, arch/arm64 among
# them, which the x86 kernel cannot build; its TAP goes to
# $BUILD/check-arm64/gates.tap.
. "$(dirname "$0")/lib.sh"

FLAVOUR=${1:-check}
set_arch "$FLAVOUR"
A=$(artdir "$FLAVOUR")
O=$(objdir "$FLAVOUR")
tap=$A/gates.tap
mkdir -p "$A/gates"
n=0
: > "$tap.tmp"
result() {	# result ok|fail|skip NAME [REASON]
	n=$((n + 1))
	case $1 in
	ok) echo "ok $n $2" ;;
	skip) echo "ok $n $2 # SKIP $3" ;;
	*) echo "not ok $n $2" ;;
	esac >> "$tap.tmp"
	say "gate $2: $1${3:+ ($3)}"
}

# The series' files: new kernel sources, and upstream files it changes.
status=$(python3 "$REPO/harness/tree.py" status) || die "tree status failed"
new_src=$(echo "$status" | awk '$1 == "new" { print $2 }' | grep -E '^(mm|include|drivers|lib|kernel|arch)/.*\.[ch]$')
chg_src=$(echo "$status" | awk '$1 == "changed" { print $2 }' | grep -E '^(mm|drivers|lib|kernel|arch)/.*\.c$')
# Each kernel builds the objects of its own architecture only: arch/ of
# the other one is not buildable, and the DSA migrator is x86 only.
objs=
for f in $new_src $chg_src; do
	case $KARCH:$f in
	x86_64:arch/x86/*|arm64:arch/arm64/*) ;;
	*:arch/*|arm64:drivers/dma/idxd/*) continue ;;
	esac
	case $f in *.c) objs="$objs ${f%.c}.o" ;; esac
done

# Keep only diagnostics in the series' lines: any line of a new file, or a
# line that a diff under patches/ adds to an upstream file.
ours() {
	python3 - "$REPO" "$TREE" <<'PY'
import os, re, sys
repo, tree = sys.argv[1], sys.argv[2]
added = {}
for root, _, names in os.walk(os.path.join(repo, "patches")):
    for n in names:
        if not n.endswith(".diff"):
            continue
        path = os.path.relpath(os.path.join(root, n), os.path.join(repo, "patches"))[:-5]
        lines, cur = set(), 0
        for l in open(os.path.join(root, n), errors="replace"):
            m = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)", l)
            if m:
                cur = int(m.group(1))
                continue
            if l.startswith("+") and not l.startswith("+++"):
                lines.add(cur)
                cur += 1
            elif l.startswith(" "):
                cur += 1
        added[path] = lines
newfiles = set()
for l in os.popen("git -C %s ls-files" % repo):
    newfiles.add(l.strip())
for l in sys.stdin:
    m = re.match(r"^(?:\.\./)*(?:%s/)?([^:\s]+):(\d+):(?:\d+:)?\s*(warning|error)" % re.escape(tree), l)
    if not m:
        continue
    f, line = m.group(1), int(m.group(2))
    if f in newfiles or line in added.get(f, ()):
        sys.stdout.write(l)
PY
}

if [ "$KARCH" = x86_64 ]; then  # the x86 kernel runs every gate
	# The result parser catches every kind of failure, and make bench's report
	# fails its gates when the figures say so (fixtures).
	if { python3 "$REPO/harness/tests/test_results.py" &&
	     python3 "$REPO/harness/tests/test_bench_report.py"; } > "$A/gates/harness-selftest.log" 2>&1; then
		result ok harness-selftest
	else
		tail -20 "$A/gates/harness-selftest.log"
		result fail harness-selftest
	fi

	# checkpatch --strict.  FILE_PATH_CHANGES ("does MAINTAINERS need updating?")
	# is ignored: the series changes MAINTAINERS in a patch of its own.  The
	# patches are the copy signed off by a placeholder (lib.sh: CHECK_SERIES).
	patches=$(ls "$CHECK_SERIES/patches/"0*.patch 2>/dev/null | grep -v '/0000-')
	if [ -z "$patches" ]; then
		result fail checkpatch
	else
		# Debian's python3 first: checkpatch runs scripts/spdxcheck.py, which
		# needs python3-ply and python3-git, not another python3 on the PATH.
		( cd "$TREE" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict --show-types \
			--ignore FILE_PATH_CHANGES $patches ) > "$A/gates/checkpatch.log" 2>&1
		if grep -qE '^(ERROR|WARNING|CHECK):' "$A/gates/checkpatch.log"; then
			grep -E -A3 '^(ERROR|WARNING|CHECK):' "$A/gates/checkpatch.log" | head -40
			result fail checkpatch
		elif grep -qE 'Traceback|Error:' "$A/gates/checkpatch.log"; then
			# A helper of checkpatch (spdxcheck.py) broke: the check is incomplete.
			grep -E -B2 -A3 'Traceback|Error:' "$A/gates/checkpatch.log" | head -20
			result fail checkpatch
		else
			result ok checkpatch
		fi
	fi

	# kernel-doc on the new kernel sources.
	if [ -z "$new_src" ]; then
		result skip kernel-doc "no kernel sources in the series yet"
	else
		( cd "$TREE" && scripts/kernel-doc -none -Wall $new_src ) > "$A/gates/kernel-doc.log" 2>&1
		if [ -s "$A/gates/kernel-doc.log" ]; then
			cat "$A/gates/kernel-doc.log"
			result fail kernel-doc
		else
			result ok kernel-doc
		fi
	fi
fi

# W=1 and sparse on the objects of the series' C files.
if [ -z "$objs" ]; then
	result skip W=1 "no kernel C files in the series yet"
	result skip sparse "no kernel C files in the series yet"
else
	kmake "$O" W=1 $objs > "$A/gates/w1.log" 2>&1; rc=$?
	ours < "$A/gates/w1.log" > "$A/gates/w1.ours"
	if [ $rc != 0 ] || [ -s "$A/gates/w1.ours" ]; then
		cat "$A/gates/w1.ours"; tail -5 "$A/gates/w1.log"
		result fail W=1
	else
		result ok W=1
	fi
	command -v sparse >/dev/null || die "sparse is missing (package sparse)"
	kmake "$O" C=2 $objs > "$A/gates/sparse.log" 2>&1; rc=$?
	ours < "$A/gates/sparse.log" > "$A/gates/sparse.ours"
	if [ $rc != 0 ] || [ -s "$A/gates/sparse.ours" ]; then
		cat "$A/gates/sparse.ours"; tail -5 "$A/gates/sparse.log"
		result fail sparse
	else
		result ok sparse
	fi
	# Put the objects back to the normal flags for the next incremental build.
	kmake "$O" $objs > /dev/null 2>&1
fi

if [ "$KARCH" = x86_64 ]; then
	# The series' selftests compile without warnings (with -Wall -Wextra).
	sel=$(echo "$status" | awk '$1 == "new" { print $2 }' | grep -E '^tools/testing/selftests/.*\.c$')
	if [ -z "$sel" ]; then
		result skip selftest-warnings "no selftests in the series"
	else
		: > "$A/gates/selftests.log"
		for f in $sel; do
			gcc -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
				-I "$TREE/tools/testing/selftests" -I "$TREE/tools/testing/selftests/mm" \
				-isystem "$O/hdr/include" "$TREE/$f" >> "$A/gates/selftests.log" 2>&1
		done
		if [ -s "$A/gates/selftests.log" ]; then
			head -20 "$A/gates/selftests.log"
			result fail selftest-warnings
		else
			result ok selftest-warnings
		fi
	fi

	# The series' documentation builds without warnings in its own files.
	docs=$(echo "$status" | awk '{ print $2 }' | grep -E '^Documentation/.*\.rst$')
	if [ -z "$docs" ]; then
		result skip htmldocs "no documentation in the series yet"
	else
		dirs=$(echo "$docs" | cut -d/ -f2 | sort -u | tr '\n' ' ')
		make -C "$TREE" O="$(objdir docs)" SPHINXDIRS="$dirs" htmldocs > "$A/gates/htmldocs.log" 2>&1; rc=$?
		pat=$(echo "$status" | awk '$1 == "new" { print $2 }' | grep -E '\.(rst|c|h)$' | sed 's/[.]/[.]/g' | paste -sd'|')
		grep -E "$pat" "$A/gates/htmldocs.log" | grep -iE 'warning|error' > "$A/gates/htmldocs.ours"
		if [ $rc != 0 ] || [ -s "$A/gates/htmldocs.ours" ]; then
			head -20 "$A/gates/htmldocs.ours"; tail -5 "$A/gates/htmldocs.log"
			result fail htmldocs
		else
			result ok htmldocs
		fi
	fi

	# The modules of the series build as modules too.  The check kernel has
	# the DSA migrator and its test built in (for the KUnit run) and the
	# rest as modules; this builds it with them as modules, as the demo
	# kernel has them, in the check objects (an incremental build of
	# drivers/dma/idxd and a link, where a whole demo kernel took minutes of
	# CI).  The demo kernel itself is what 'make' and 'make check-series'
	# build.
	if ! have_symbol INTEL_IDXD_MIGRATE; then
		result skip modules "CONFIG_INTEL_IDXD_MIGRATE is not in the tree yet"
	else
		ko="$O/drivers/dma/idxd/idxd_migrate.ko $O/drivers/dma/idxd/idxd_migrate_test.ko"
		rm -f $ko
		if "$REPO/harness/kbuild.sh" modules bzImage modules > "$A/gates/modules.log" 2>&1 &&
			ls $ko >> "$A/gates/modules.log" 2>&1; then
			result ok modules
		else
			tail -20 "$A/gates/modules.log"
			result fail modules
		fi
	fi

	# The kernel builds with the feature turned off: a small config in its
	# own objects (see harness/config/off.config).
	if ! have_symbol MIGRATION_COPY_OFFLOAD; then
		result skip offload-off "CONFIG_MIGRATION_COPY_OFFLOAD is not in the tree yet"
	else
		if "$REPO/harness/kbuild.sh" off bzImage modules > "$A/gates/offload-off.log" 2>&1; then
			result ok offload-off
		else
			tail -20 "$A/gates/offload-off.log"
			result fail offload-off
		fi
	fi
	# The check objects are left with the modules config: the next
	# 'kbuild.sh check' merges the check config again and rebuilds what
	# depends on the symbols that differ, nothing more.
fi

{ echo "TAP version 13"; echo "1..$n"; cat "$tap.tmp"; } > "$tap"
rm -f "$tap.tmp"
