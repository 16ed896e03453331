#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make sizes': text/data/bss of mm/migrate.o, mm/migrate_copy_offload.o and
# vmlinux for the small x86_64 config (harness/config/base.config) built
#   upstream   from the base tree, without the series
#   off        with the series, CONFIG_MIGRATION_COPY_OFFLOAD=n
#   on         with the series and the core selected by CONFIG_MIGRATE_MTCOPY=m
#              (tests off; the migrator itself is a module, not in vmlinux)
# Writes a Markdown table to $BUILD/sizes.md.  Needs 'make series' first
# (which needs a git identity to sign the patches off).
. "$(dirname "$0")/lib.sh"

S=$BUILD/series
W=$S/linux-source-6.12
[ -d "$W/.git" ] || die "no series checkout; run 'make series' first"
out=$BUILD/sizes.md

build() {	# build NAME COMMIT VALUE
	local o=$S/obj-size-$1
	mkdir -p "$o"
	git -C "$W" checkout -q "$2" || die "checkout $2 failed"
	{ cat "$REPO/harness/config/base.config"; [ -n "$3" ] && echo "$3"; } > "$o/size.config"
	( cd "$W" && scripts/kconfig/merge_config.sh -n -m -O "$o" "$o/size.config" ) > "$o/config.log" 2>&1 &&
	make -C "$W" O="$o" -s allnoconfig KCONFIG_ALLCONFIG="$o/.config" >> "$o/config.log" 2>&1 ||
		die "configuring $1 failed; see $o/config.log"
	if [ -n "$3" ]; then
		case $3 in
		*=[ym]) grep -qx "$3" "$o/.config" || die "$3 did not stick for $1" ;;
		*=n) ! grep -q "^${3%=n}=" "$o/.config" || die "$3 did not stick for $1" ;;
		esac
	fi
	say "building vmlinux: $1"
	make -C "$W" O="$o" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" vmlinux > "$o/build.log" 2>&1 ||
		die "building $1 failed; see $o/build.log"
}

row() {		# row NAME FILE
	local f=$S/obj-size-$1/$2
	if [ -f "$f" ]; then
		size "$f" | awk -v n="$1" -v f="$2" 'NR == 2 { printf "| %s | %s | %d | %d | %d |\n", f, n, $1, $2, $3 }'
	else
		printf '| %s | %s | - | - | - |\n' "$2" "$1"
	fi
}

build upstream base ""
build off series "CONFIG_MIGRATION_COPY_OFFLOAD=n"
build on series "CONFIG_MIGRATE_MTCOPY=m"
grep -qx CONFIG_MIGRATION_COPY_OFFLOAD=y "$S/obj-size-on/.config" ||
	die "CONFIG_MIGRATE_MTCOPY=m did not select CONFIG_MIGRATION_COPY_OFFLOAD"
git -C "$W" checkout -q series

{
	echo "| object | build | text | data | bss |"
	echo "|---|---|---:|---:|---:|"
	for f in mm/migrate.o mm/migrate_copy_offload.o mm/migrate_copy_offload_sysfs.o vmlinux; do
		for b in upstream off on; do row "$b" "$f"; done
	done
	echo
	echo "Config: harness/config/base.config (x86_64, gcc $(gcc -dumpversion)); 'upstream' is"
	echo "the base tree without the series. Command: make sizes."
} > "$out"
cat "$out"
