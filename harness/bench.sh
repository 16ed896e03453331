#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench': build the non-debug kernel twice (the series with
# CONFIG_MIGRATION_COPY_OFFLOAD=y, and the same tree with it off), boot them
# in the NUMA guest, run tools/testing/selftests/mm/migrate_bench with no
# migrator and with migrate_mtcopy at 1 and 2 threads, and write
# build/bench/results.md and build/bench/bench.png (harness/bench_report.py,
# which also checks the gates).
#   BENCH_ROUNDS      rounds of boots, kernels alternating (default 3)
#   BENCH_MB_4K       buffer of 4 KB pages in MB (default 16)
#   BENCH_MB_THP      buffer of THPs in MB (default 64)
#   BENCH_PASSES      moves of the 4 KB buffer per batch size and run (default 4)
#   BENCH_PASSES_THP  moves of the THP buffer per batch size and run (default 4)
#   BENCH_HOST_LOAD   1: keep one host core busy (a shell loop) for the whole
#                     run, to show that the instruction-counted gates do not
#                     move with the host's load (the report says so)
# The benchmark runs pinned to CPU 0 (node 0).
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
MB4K=${BENCH_MB_4K:-16}
MBTHP=${BENCH_MB_THP:-64}
PASSES=${BENCH_PASSES:-4}
PASSES_THP=${BENCH_PASSES_THP:-4}
# The guest for everything but the cost of the option: one vCPU per node, as
# many as the host has cores (at least 2).
CPUS=${GUEST_CPUS:-$(( $(nproc) < 2 ? 2 : $(nproc) ))}
B=$BUILD/bench
mkdir -p "$B"
rm -f "$B"/run-*.tap

"$REPO/harness/kbuild.sh" demo || exit 1
"$REPO/harness/kbuild.sh" benchoff || exit 1

load=
if [ "${BENCH_HOST_LOAD:-0}" = 1 ]; then
	sh -c 'while :; do :; done' &
	loadpid=$!
	trap 'kill $loadpid 2>/dev/null' EXIT
	say "BENCH_HOST_LOAD=1: a busy loop (pid $loadpid) loads one host core until the end"
	load="; one host core kept busy by a shell loop throughout (BENCH_HOST_LOAD=1)"
fi

SIZES4K="1 4 16 32 64 128 256 512"
bench4k() {	# bench4k LABEL BATCH: one run of the 4 KB benchmark, labelled
	echo "echo '# bench-config $1'; ./migrate_bench -C 0 -p 4k -m $MB4K -n $PASSES -b $2 -t"
}
benchthp() {	# benchthp LABEL: one run of the THP benchmark, labelled
	echo "echo '# bench-config $1'; ./migrate_bench -C 0 -p thp -m $MBTHP -n $PASSES_THP -b 1,4 -t"
}
# How to set up each configuration of the series' kernel in the guest.
# Each starts from the boot's defaults: no migrator, the default threshold.
mbb=/sys/kernel/mm/migrate_offload/min_batch_bytes
reset="rmmod migrate_mtcopy 2>/dev/null; [ -f /tmp/mbb ] || cat $mbb > /tmp/mbb; cat /tmp/mbb > $mbb"
declare -A setup=(
	[none]="$reset"
	[mt1]="$reset; modprobe migrate_mtcopy threads=1"
	[mt2]="$reset; modprobe migrate_mtcopy threads=2"
	[mt2t0]="$reset; modprobe migrate_mtcopy threads=2 && echo 0 > $mbb"
)
configs=(none mt1 mt2 mt2t0)

boot() {	# boot ROUND KERNEL NAME: run $B/list in a fresh guest of $GUEST_CPUS vCPUs
	local r=$1 kernel=$2 name=$3 flavour=demo label=$2
	[ "$kernel" = off ] && flavour=benchoff
	[ "$GUEST_CPUS" = 1 ] && label=${kernel}1
	HARNESS_SELFTESTS=$B/list HARNESS_BINS=migrate_bench \
		"$REPO/harness/initramfs.sh" $flavour > "$B/initramfs.log" 2>&1 ||
		die "initramfs for $flavour failed; see $B/initramfs.log"
	say "round $r/$ROUNDS: $kernel kernel, $name, $GUEST_CPUS vCPUs"
	GUEST_PREALLOC=1 "$REPO/harness/run-guest.sh" $flavour check > "$B/guest.log" 2>&1 ||
		die "the $kernel guest failed; see $(artdir $flavour)/console.log"
	sed "s/^# bench-config \([a-z0-9]*\)/# bench-config kernel=$label round=$r migrator=\1/" \
		"$(artdir $flavour)/selftests.tap" > "$B/run-$r-$kernel-$name.tap"
}

# Two kinds of boots per round.
# - The cost of the option and of a loaded migrator (the gates): the
#   option-off and the series' kernel in a guest with one vCPU, where node 1
#   is memory only, that counts instructions (GUEST_ICOUNT=1: the guest's
#   clock advances with the instructions it executes, not with the host's
#   time).  Under TCG with 2 vCPUs, every move_pages(2) call waits for work
#   on the other CPU (lru_cache_disable()), and how fast an idle vCPU wakes
#   depends on the host's scheduler; in wall-clock time even one vCPU left a
#   few per cent between boots, and a noisy host made the gates fail.  With
#   one vCPU and -icount, boots of the same kernel repeat their figures (the
#   report checks it: the reproducibility gate), so each kernel boots once
#   per round, off then on (on then off in even rounds).  Both kernels run
#   the same "base" runs first; then the series' kernel runs no migrator and
#   mtcopy loaded at 1 and 2 threads, interleaved by batch size, for the
#   4 KB sizes under the threshold.
# - Everything else with 2 vCPUs, one per node: 4 KB pages with every
#   configuration in the same boot, batch size by batch size, each twice, in
#   an order that rotates between rounds and reverses for the second time,
#   so that configurations compare within a boot and close in time; THPs in
#   one boot per configuration (in this emulator THP copies between 2 MB
#   aligned pages can run many times slower depending on each vCPU's
#   software TLB, see bench_report.py; a boot of its own keeps one
#   configuration from setting up the next one's TLB).
SMALL4K="1 4 16 32"
n=${#configs[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	order=()
	for ((i = 0; i < n; i++)); do order+=("${configs[$(( (i + r) % n ))]}"); done
	for ((i = n - 1; i >= 0; i--)); do order+=("${order[$i]}"); done
	base=(none mt1 mt2)
	border=()
	for ((i = 0; i < 3; i++)); do border+=("${base[$(( (i + r) % 3 ))]}"); done
	for ((i = 2; i >= 0; i--)); do border+=("${border[$i]}"); done

	seq1="off on"
	(( r % 2 )) || seq1="on off"
	i=0
	for kernel in $seq1; do
		i=$((i + 1))
		# "base": the same runs on both kernels, first in the boot,
		# before any module was loaded (loading and unloading one
		# changes the emulator's state for the rest of the boot).
		: > "$B/list"
		for b in $SIZES4K; do
			printf 'base\t1800\t%s\n' "$(bench4k base $b)" "$(bench4k base $b)" >> "$B/list"
		done
		printf 'base\t1800\t%s\n' "$(benchthp base)" >> "$B/list"
		if [ $kernel = on ]; then
			for b in $SMALL4K; do
				for c in "${border[@]}"; do
					printf '%s\t1800\t%s; %s\n' "$c" "${setup[$c]}" \
						"$(bench4k $c $b)" >> "$B/list"
				done
			done
		fi
		# Counted, not timed: see GUEST_ICOUNT in run-guest.sh.
		GUEST_CPUS=1 GUEST_ICOUNT=1 boot $r $kernel 1cpu-$i
	done

	: > "$B/list"
	for b in $SIZES4K; do
		for c in "${order[@]}"; do
			printf '%s\t1800\t%s; %s\n' "$c" "${setup[$c]}" "$(bench4k $c $b)" >> "$B/list"
		done
	done
	printf 'scaling\t600\t%s\n' "echo '# bench-config scaling'; ./migrate_bench -c -m 32" >> "$B/list"
	GUEST_CPUS=$CPUS boot $r on 4k
	for c in "${order[@]:0:n}"; do
		printf '%s\t1800\t%s; %s\n' "$c" "${setup[$c]}" "$(benchthp $c)" > "$B/list"
		GUEST_CPUS=$CPUS boot $r on "thp-$c"
	done
done

host=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
accel=$(cut -d' ' -f1 "$(artdir demo)/guest.info")
python3 "$REPO/harness/bench_report.py" --dir "$B" \
	--env "QEMU ${accel^^}, $CPUS vCPUs ($((CPUS / 2)) per node; the 1-vCPU boots of the cost gates with -icount shift=0,sleep=off, so their times are instruction counts), host: $(nproc) cores of $host$load, non-debug kernel $(make -s -C "$TREE" O="$(objdir demo)" kernelrelease)"
