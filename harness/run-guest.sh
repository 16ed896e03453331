#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a built flavour in a NUMA guest (two CPU nodes and a slow memory-only node) and run a job in it.
#   run-guest.sh FLAVOUR MODE     MODE: demo (console to the terminal) or check
# Writes $BUILD/FLAVOUR/console.log (and selftests.tap for check).
# Exit status: 0 when the guest reached the end of its job, else non-zero.
# arm64 flavours (check-arm64*) boot QEMU's virt machine under TCG with MTE,
# the NUMA nodes in QEMU's device tree.  A device tree has no HMAT, so node 2
# is no lower memory tier there: the tests that need one skip.  (Not UEFI and
# ACPI: with Debian 12's edk2, 6.12 finds virt's flash in no NUMA node and
# falls back to a single node.)
. "$(dirname "$0")/lib.sh"

flavour=$1
mode=$2
A=$(artdir "$flavour")
set_arch "$flavour"
QEMU=qemu-system-$KARCH
[ "$KARCH" = arm64 ] && QEMU=qemu-system-aarch64
[ -f "$A/$KIMAGE" ] && [ -f "$A/initramfs.cpio.gz" ] || die "$flavour kernel or initramfs missing"
case $KARCH in
x86_64) command -v $QEMU >/dev/null || die "$QEMU is missing (package qemu-system-x86)" ;;
arm64) command -v $QEMU >/dev/null || die "$QEMU is missing (package qemu-system-arm)" ;;
esac

# The demo times migrators against each other: no more vCPUs than host
# cores (one per node on a 2-core host), or vCPUs wait for each other.
host_cpus=$(nproc)
if [ "$mode" = demo ]; then
	SMP=${GUEST_CPUS:-$(( host_cpus >= 2 ? 2 : 1 ))}
else
	SMP=${GUEST_CPUS:-4}
fi
MEM_PER_NODE=${GUEST_NODE_MB:-1024}
SLOW_MB=${GUEST_SLOW_MB:-1024}
TIMEOUT=${GUEST_TIMEOUT:-2400}
half=$((SMP / 2))
# One vCPU (GUEST_CPUS=1, make bench's baseline boots): node 1 is memory
# only too, and node 0's CPU is the initiator of every node.
initiators="0 1"
[ "$SMP" = 1 ] && initiators=0

# KVM is used only if a quick probe shows it really boots a guest; the
# answer is cached (delete $BUILD/kvm-probe to probe again).
accel() {
	if [ -n "$GUEST_ACCEL" ]; then echo "$GUEST_ACCEL"; return; fi
	# An arm64 guest on this x86_64 host: an emulator only.
	if [ "$KARCH" != x86_64 ] || [ ! -w /dev/kvm ]; then echo tcg; return; fi
	if [ ! -f "$BUILD/kvm-probe" ]; then
		if timeout 30 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 256 -nographic \
			-no-reboot -kernel "$A/bzImage" -initrd "$A/initramfs.cpio.gz" \
			-append "console=ttyS0 harness=probe panic=-1" 2>/dev/null </dev/null |
			grep -q 'harness: probe ok'; then
			echo kvm > "$BUILD/kvm-probe"
		else
			echo tcg > "$BUILD/kvm-probe"
		fi
	fi
	cat "$BUILD/kvm-probe"
}
ACCEL=$(accel)
if [ "$ACCEL" = kvm ]; then
	accel_opts="-accel kvm -cpu host"
elif [ "${GUEST_ICOUNT:-0}" = 1 ]; then
	# GUEST_ICOUNT=1 (make bench's cost gates): the guest clock advances
	# one nanosecond per instruction executed and skips idle time, so what
	# the guest measures is the work it did, whatever the host does.  TCG
	# then runs the vCPUs in one host thread, one at a time.
	ACCEL=tcg-icount
	accel_opts="-accel tcg -cpu max -icount shift=0,sleep=off"
else
	accel_opts="-accel tcg,thread=multi -cpu max"
fi
# arm64: -cpu max has MTE (with virt's mte=on); QEMU's own pointer
# authentication algorithm (pauth-impdef) is much cheaper to emulate than
# the architected QARMA.
[ "$KARCH" = arm64 ] && accel_opts="${accel_opts/-cpu max/-cpu max,pauth-impdef=on}"

# Nodes 0 and 1: CPUs and DRAM.  Node 2: memory only, with three times the
# latency and a third of the bandwidth in the ACPI HMAT, so the kernel puts
# it in a lower memory tier and makes it the demotion target of 0 and 1.
# arm64 (device tree): the same nodes, no initiators, no HMAT.
hmat=1
[ "$KARCH" = arm64 ] && hmat=
# GUEST_PREALLOC=1 (make bench): QEMU allocates all guest memory up front,
# so that no measurement pays for the host faulting guest pages in.
prealloc=
[ -n "$GUEST_PREALLOC" ] && prealloc=,prealloc=on
numa=
for n in 0 1; do
	first=$((n * half)); last=$((n * half + half - 1))
	cpus=",cpus=$first-$last" init=$n
	[ "$SMP" = 1 ] && { cpus=; [ $n = 0 ] && cpus=,cpus=0; init=0; }
	numa="$numa -object memory-backend-ram,id=mem$n,size=${MEM_PER_NODE}M$prealloc"
	numa="$numa -numa node,nodeid=$n,memdev=mem$n$cpus${hmat:+,initiator=$init}"
done
numa="$numa -object memory-backend-ram,id=mem2,size=${SLOW_MB}M$prealloc"
numa="$numa -numa node,nodeid=2,memdev=mem2${hmat:+,initiator=0}"
[ -z "$hmat" ] && initiators=
for i in $initiators; do
	for t in 0 1 2; do
		if [ "$t" = 2 ]; then lat=300; bw=3G
		elif [ "$t" = "$i" ]; then lat=100; bw=10G
		else lat=150; bw=6G; fi
		numa="$numa -numa hmat-lb,initiator=$i,target=$t,hierarchy=memory,data-type=access-latency,latency=$lat"
		numa="$numa -numa hmat-lb,initiator=$i,target=$t,hierarchy=memory,data-type=access-bandwidth,bandwidth=$bw"
	done
done

rm -f "$A/console.log" "$A/selftests.tap"
# The demo's console shows the demo, not the boot (console.log has it all
# for check, which boots with the default log level).  The firmware's
# terminal escapes (reset, clear screen) are dropped from both.
quiet=
[ "$mode" = demo ] && quiet=quiet
serial2=
tapdev=
share=
if [ "$mode" = check ]; then
	serial2="-serial file:$A/selftests.tap"
	# A host folder over virtio-9p: pagecache of a filesystem whose
	# migrate_folio is filemap_migrate_folio (migrate_offload_paths).
	rm -rf "$A/9p" && mkdir -p "$A/9p"
	share="-fsdev local,id=fs0,path=$A/9p,security_model=none -device virtio-9p-pci,fsdev=fs0,mount_tag=harness9p"
fi
tier="(lower tier)"
machine="q35,hmat=on"
console=ttyS0
if [ "$KARCH" = arm64 ]; then
	# virt has one UART for the normal world: the selftests' TAP goes to a
	# virtio console (hvc0) instead of a second serial port.
	console=ttyAMA0
	machine="virt,gic-version=3,mte=on"
	tier="(no HMAT in a device tree: no lower tier)"
	# 64 KB pages: the default huge page is a 512 MB PMD, and init asks
	# for 32 of them; 2 MB (contiguous PTEs) like the 4 KB kernels.
	case $flavour in *64k*) GUEST_CMDLINE="default_hugepagesz=2M $GUEST_CMDLINE" ;; esac
	if [ "$mode" = check ]; then
		serial2="-device virtio-serial-pci -chardev file,id=tap,path=$A/selftests.tap -device virtconsole,chardev=tap"
		tapdev=harness_tap=/dev/hvc0
	fi
fi
say "booting the $flavour kernel: QEMU $ACCEL, $SMP vCPUs, nodes 0-1 ${MEM_PER_NODE} MB each with CPUs, node 2 ${SLOW_MB} MB memory-only $tier (log: $A/console.log)"
start=$(date +%s)
timeout --foreground -k 10 "$TIMEOUT" $QEMU $accel_opts -machine $machine \
	-smp "$SMP,sockets=$(( SMP > 1 ? 2 : 1 )),cores=$(( half ? half : 1 )),threads=1" -m $((2 * MEM_PER_NODE + SLOW_MB)) $numa \
	-nographic -no-reboot -nodefaults -serial stdio $serial2 $share \
	-kernel "$A/$KIMAGE" -initrd "$A/initramfs.cpio.gz" \
	-append "console=$console $quiet harness=$mode ${tapdev:+$tapdev }harness_host_cpus=$host_cpus panic=-1 oops=panic transparent_hugepage=madvise $GUEST_CMDLINE" \
	</dev/null 2>&1 | sed -u 's/\r$//; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g' | tee "$A/console.log" |
	if [ "$mode" = demo ]; then cat; else grep --line-buffered '^harness: '; fi
rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))
echo "$ACCEL $SMP $secs" > "$A/guest.info"
[ "$rc" = 124 ] && { say "the guest timed out after ${TIMEOUT}s"; exit 124; }
grep -q '^harness: done' "$A/console.log" || { say "the guest did not finish its job (exit status $rc)"; exit 1; }
if [ "$mode" = demo ] && ! grep -q '^harness: demo exit status 0' "$A/console.log"; then
	say "the demo failed (see above)"
	exit 1
fi
say "guest finished in ${secs}s"
