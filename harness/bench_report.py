#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the migrate_bench runs of 'make bench' into a Markdown table, a
plot and the gates.

Reads DIR/run-*.tap (the guest's output; '# bench-config kernel=K round=R
migrator=M' lines, then migrate_bench and migrate_phases lines), writes
DIR/results.md, DIR/results.json and, when gnuplot is there, DIR/bench.png.
Exit status 1 when a gate fails or a run is missing.

Two kinds of figures:
- kernels "off1" and "on1": guests with one vCPU under instruction counting
  (-icount), whose time is the count of instructions executed.  The cost
  gates use them; the reproducibility gate checks that boots of the same
  kernel give the same figures.
- kernel "on": wall-clock guests with 2 vCPUs.  Every figure is given as
  median [min-max] over its runs and boots, and a ratio is called a win or
  a loss only when its whole range is on one side of 1.0.
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

MIGRATORS = {
    "none": "no migrator",
    "mt1": "mtcopy, 1 thread",
    "mt2": "mtcopy, 2 threads",
    "mt2t0": "mtcopy, 2 threads, min_batch_bytes=0",
}
# The kernel's default min_batch_bytes (MIGRATE_OFFLOAD_DEFAULT_MIN_BATCH_BYTES):
# 4 KB batches below it are "small" for the gate.
THRESHOLD = 262144
# Gates on the instruction-counted figures.
GATE_OPTION = 0.99	# option on, no migrator / option off
GATE_LOADED = 0.98	# mtcopy loaded / no migrator, batches under the threshold
# Largest relative difference allowed between boots of the same kernel for
# one instruction-counted figure (max - min over the median).
REPRO_TOLERANCE = 0.005
# A THP run slower than a quarter of the best run of its batch size hit the
# emulator's slow TLB mode (see "THP runs, boot by boot").
SLOW_FACTOR = 4


def kv(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def parse(directory):
    runs = {}      # (kernel, migrator, page, batch) -> [result dicts]
    phases = {}    # (kernel, migrator, page, batch) -> [phase dicts]
    scaling = []   # copy_scaling dicts
    alias = []     # copy_alias dicts
    for path in sorted(glob.glob(os.path.join(directory, "run-*.tap"))):
        cfg = None
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("# bench-config "):
                    cfg = kv(line)
                elif cfg and line.startswith("migrate_bench "):
                    r = kv(line)
                    r["round"] = cfg["round"]
                    r["boot"] = os.path.basename(path)
                    key = (cfg["kernel"], cfg["migrator"], r["page"], int(r["batch"]))
                    runs.setdefault(key, []).append(r)
                elif line.startswith("copy_scaling "):
                    scaling.append(kv(line))
                elif line.startswith("copy_alias "):
                    alias.append(kv(line))
                elif cfg and line.startswith("migrate_phases "):
                    r = kv(line)
                    key = (cfg["kernel"], cfg["migrator"], r["page"], int(r["batch"]))
                    phases.setdefault(key, []).append(r)
    return runs, phases, scaling, alias


def clean(xs):
    return [x for x in xs if x is not None and not math.isnan(x)]


def med(xs):
    xs = clean(xs)
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    """(min, median, max) of xs, or None."""
    xs = clean(xs)
    return (min(xs), statistics.median(xs), max(xs)) if xs else None


def fmt(x, nd=2):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def fmts(xs, nd=3):
    """median [min-max]; the range is left out when all values are equal."""
    s = spread(xs)
    if s is None:
        return "n/a"
    lo, m, hi = s
    if fmt(lo, nd) == fmt(hi, nd):
        return fmt(m, nd)
    return f"{fmt(m, nd)} [{fmt(lo, nd)}-{fmt(hi, nd)}]"


def verdict(xs):
    """A ratio is a win or a loss only if its whole range says so."""
    s = spread(xs)
    if s is None or len(clean(xs)) < 2:
        return "too few runs to tell"
    if s[0] > 1.0:
        return "faster"
    if s[2] < 1.0:
        return "slower"
    return "no clear difference"


def values(runs, key, name="gbps_med"):
    return [float(r[name]) for r in runs.get(key, [])]


def per_boot(runs, key, name="gbps_med"):
    """boot -> mean of the key's runs in that boot."""
    out = {}
    for r in runs.get(key, []):
        out.setdefault(r["boot"], []).append(float(r[name]))
    return {b: statistics.mean(v) for b, v in out.items()}


def paired(runs, mig, page, batch, kernel="on"):
    """mig over no migrator in the same boot, the k-th run against the k-th."""
    ratios = []
    boots = sorted({x["boot"] for x in runs.get((kernel, "none", page, batch), [])})
    for boot in boots:
        a = [float(x["gbps_med"]) for x in runs.get((kernel, mig, page, batch), []) if x["boot"] == boot]
        z = [float(x["gbps_med"]) for x in runs.get((kernel, "none", page, batch), []) if x["boot"] == boot]
        ratios += [x / y for x, y in zip(a, z) if y > 0]
    return ratios


def by_round(runs, key):
    """round -> mean of the key's runs in that round."""
    out = {}
    for r in runs.get(key, []):
        out.setdefault(r["round"], []).append(float(r["gbps_med"]))
    return {k: statistics.mean(v) for k, v in out.items()}


def ratio_by_round(runs, num, den):
    """round -> num over den in that round (each may boot its own kernel)."""
    a, z = by_round(runs, num), by_round(runs, den)
    return {r: a[r] / z[r] for r in a if r in z and z[r] > 0}


def across_rounds(runs, num, den):
    """num over den, round by round."""
    d = ratio_by_round(runs, num, den)
    return [d[r] for r in sorted(d)]


def geomean(xs):
    xs = [x for x in clean(xs) if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def thp_best(runs, batch):
    """The best wall-clock THP run of any configuration at this batch size."""
    vals = [float(x["gbps_med"]) for k in runs if k[0] == "on" and k[2] == "thp" and k[3] == batch
            for x in runs[k]]
    return max(vals) if vals else float("nan")


def slow_runs(runs, batches):
    """How many wall-clock THP runs hit the slow mode, and how many ran."""
    slow = total = 0
    for b in batches:
        best = thp_best(runs, b)
        for k in runs:
            if k[0] == "on" and k[2] == "thp" and k[3] == b:
                total += len(runs[k])
                slow += sum(1 for x in runs[k] if float(x["gbps_med"]) * SLOW_FACTOR < best)
    return slow, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--env", required=True)
    args = ap.parse_args()
    runs, phases, scaling, alias = parse(args.dir)
    if not runs:
        print("bench: no results found", file=sys.stderr)
        return 1

    pages = [p for p in ("4k", "thp") if any(k[2] == p for k in runs)]
    batches = {p: sorted({k[3] for k in runs if k[2] == p}) for p in pages}
    rounds = len({x["round"] for v in runs.values() for x in v})
    out = []
    w = out.append
    w("# Migration benchmark")
    w("")
    w(f"Environment: {args.env}. {rounds} rounds. In each round the kernel with")
    w("the option off and the series' kernel boot in turn in a guest with 1 vCPU")
    w("that counts instructions (the cost of the option and of a loaded")
    w("migrator), then the series' kernel boots with 2 vCPUs, one per node, in")
    w("wall-clock time for everything else (see harness/bench.sh for the order")
    w("and why). move_pages(2) of the whole buffer between node 0 and node 1 in")
    w("calls of `batch` folios; every byte verified after every move. Throughput")
    w("in GB/s: for each run, the median over its calls of each call's bytes")
    w("over its time (a few calls are several times slower than the rest under")
    w("emulation, and would otherwise decide the result). Every figure is given")
    w("as median [min-max] over all its runs, two per boot, in every round (the")
    w("range is left out where all runs agree to the digits shown). A ratio is")
    w("called faster or slower only when its whole range is above or below 1.0.")
    w("Latency per call in microseconds. Emulated CPUs: these figures compare")
    w("configurations on this machine and say nothing about real hardware.")
    w("")
    if scaling:
        w("What parallel copying can gain here: in the guest (2 vCPUs, wall clock),")
        w(f"memcpy() of 32 MB runs at {fmts([float(x['threads1_gbps']) for x in scaling], 2)} GB/s on one")
        w(f"thread and {fmts([float(x['speedup']) for x in scaling], 2)} times that on two threads at once")
        w(f"(`migrate_bench -c`, one run per round).")
        w("")
    if alias:
        pairs = ", ".join(f"{float(x['apart_2m_gbps']):.2f} and {float(x['apart_2m4k_gbps']):.2f}" for x in alias)
        w("memcpy() of 2 MB between buffers 2 MB apart, as a THP and its destination")
        w("are, and between buffers 2 MB + 4 KB apart, in GB/s, one pair per round")
        w(f"(`migrate_bench -c`): {pairs}. The two are equal on hardware; where the")
        w("first is slower, see \"THP runs, boot by boot\".")
        w("")

    # The cost of the option and of a loaded migrator: instruction counts.
    gates = []
    if any(k[0] == "on1" for k in runs):
        w("## What the option and a loaded migrator cost (1 vCPU, instructions counted)")
        w("")
        w("A guest with one vCPU, node 1 memory only, run by QEMU with")
        w("`-icount shift=0,sleep=off`: the guest's clock advances one nanosecond")
        w("per instruction executed, whatever the host does, so these GB/s are")
        w("bytes per instruction count. Both kernels run the same runs first in")
        w("each boot, before any module is loaded. Then mtcopy is loaded, in turn")
        w("with no migrator, for the batches under the default min_batch_bytes,")
        w("which it never copies: those columns are what a loaded migrator costs")
        w("the migrations it does not take (ratios against no migrator in the same")
        w("boot). on / off pairs the two kernels' boots of the same round.")
        w("")
        w("| pages | batch (folios) | option off | option on, no migrator | on / off | mtcopy 1 thread loaded / none | mtcopy 2 threads loaded / none |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for p in pages:
            for b in batches[p]:
                off = values(runs, ("off1", "base", p, b))
                on = values(runs, ("on1", "base", p, b))
                w(f"| {p} | {b} | {fmts(off, 5)} | {fmts(on, 5)} | "
                  f"{fmts(across_rounds(runs, ('on1', 'base', p, b), ('off1', 'base', p, b)), 4)} | "
                  f"{fmts(paired(runs, 'mt1', p, b, 'on1'), 4)} | {fmts(paired(runs, 'mt2', p, b, 'on1'), 4)} |")
        w("")

        # Reproducibility: each figure, boot against boot of the same kernel.
        w("### Same kernel, boot against boot")
        w("")
        w("For each instruction-counted figure of 4 KB pages (every batch size and")
        w("configuration), the mean of its runs in each boot; the largest")
        w("difference between boots of the same kernel, over the median, is the")
        w(f"figure's spread. The gates below rely on it staying under {100 * REPRO_TOLERANCE:.1f}%.")
        w("")
        w("| kernel | boots | figures | largest spread | where | median spread |")
        w("|---|---:|---:|---:|---|---:|")
        worst_all = 0.0
        nboots_min = None
        for kern, label in (("off1", "option off"), ("on1", "option on")):
            keys = [k for k in runs if k[0] == kern and k[2] == "4k"]
            spreads = []
            nboots = len({x["boot"] for k in keys for x in runs[k]})
            nboots_min = nboots if nboots_min is None else min(nboots_min, nboots)
            for k in keys:
                pb = list(per_boot(runs, k).values())
                if len(pb) >= 2:
                    spreads.append(((max(pb) - min(pb)) / statistics.median(pb), k))
            if spreads:
                worst = max(spreads)
                worst_all = max(worst_all, worst[0])
                w(f"| {label} | {nboots} | {len(spreads)} | {100 * worst[0]:.3f}% | "
                  f"{MIGRATORS.get(worst[1][1], 'no migrator')}, batch {worst[1][3]} | "
                  f"{100 * statistics.median([s for s, _ in spreads]):.3f}% |")
        w("")
        thp1 = [fmts(values(runs, (k, "base", "thp", b)), 3) for k in ("off1", "on1") for b in batches.get("thp", [])]
        if thp1:
            w("THP copies are not in that check: QEMU sizes its software TLB by host")
            w("time, so the slow mode described below can reach these guests too.")
            w(f"THP runs here (off, then on; batches {', '.join(map(str, batches['thp']))}): {'; '.join(thp1)} GB/s.")
            w("")

        # One value per round: each round boots each kernel once.
        rs = sorted({x["round"] for k in runs if k[0] == "on1" for x in runs[k]})
        option = [ratio_by_round(runs, ("on1", "base", "4k", b), ("off1", "base", "4k", b))
                  for b in batches.get("4k", [])]
        g1 = [geomean([d.get(r, float("nan")) for d in option]) for r in rs]
        small_4k = [b for b in batches.get("4k", []) if b * 4096 < THRESHOLD]
        loaded = [[ratio_by_round(runs, ("on1", m, "4k", b), ("on1", "none", "4k", b)) for b in small_4k]
                  for m in ("mt1", "mt2")]
        g2 = []
        for r in rs:
            per_mig = clean([geomean([d[r] for d in ds if r in d]) for ds in loaded])
            g2.append(min(per_mig) if per_mig else float("nan"))
        s1, s2 = spread(g1), spread(g2)
        gates.append(("option on, no migrator, vs option off (geometric mean over the 4 KB batch sizes, where a per-call cost shows most; one value per round, the lowest must pass)",
                      g1, GATE_OPTION, s1 is not None and s1[0] >= GATE_OPTION))
        gates.append((f"mtcopy loaded, 4 KB batches under the default min_batch_bytes ({', '.join(map(str, small_4k))} folios), vs no migrator in the same boot (geometric mean over those sizes, the worse of 1 and 2 threads; one value per round, the lowest must pass)",
                      g2, GATE_LOADED, s2 is not None and s2[0] >= GATE_LOADED))
        enough = nboots_min is not None and nboots_min >= 2
        gates.append((f"reproducibility: largest spread between boots of the same kernel, instruction-counted 4 KB figures ({'at least 2 boots per kernel' if enough else 'needs at least 2 boots per kernel: BENCH_ROUNDS >= 2'})",
                       [worst_all] if enough else [], f"<= {REPRO_TOLERANCE}", enough and worst_all <= REPRO_TOLERANCE))

    # Wall clock, 2 vCPUs.
    for p in pages:
        if not any(k[0] == "on" and k[2] == p for k in runs):
            continue
        w(f"## {'4 KB pages' if p == '4k' else '2 MB THP'}, 2 vCPUs (wall clock)")
        w("")
        w("One vCPU per node. GB/s and latencies: median [min-max] over the runs;")
        w("the ratio pairs each run with the run of no migrator next to it in the")
        w("same boot (4 KB) or the same round (THP).")
        w("")
        w("| batch (folios) | configuration | GB/s | p50 latency | p99 latency | vs no migrator | |")
        w("|---:|---|---:|---:|---:|---:|---|")
        for b in batches[p]:
            for mig in MIGRATORS:
                key = ("on", mig, p, b)
                if key not in runs:
                    continue
                if mig == "none":
                    rel, vd = "", ""
                else:
                    rs = paired(runs, mig, p, b) if p == "4k" else across_rounds(runs, key, ("on", "none", p, b))
                    rel, vd = fmts(rs, 3), verdict(rs)
                w(f"| {b} | {MIGRATORS[mig]} | {fmts(values(runs, key), 3)} | {fmts(values(runs, key, 'p50_us'), 0)} | "
                  f"{fmts(values(runs, key, 'p99_us'), 0)} | {rel} | {vd} |")
        w("")

    # Where the time goes, from the migrate_offload_phases tracepoint.
    w("## Where migrate_pages_batch() spends its time")
    w("")
    w("Shares of the time in migrate_pages_batch(), from the")
    w("`migrate_offload:migrate_offload_phases` tracepoint in one untimed pass of")
    w("each run, 2 vCPUs; median [min-max] over the runs.")
    w("\"unmap\": allocate, lock, unmap, TLB flush; \"copy\": the migrator's batch")
    w("copy; \"move\": the per-folio move (with the CPU copy of what no migrator")
    w("copied) and the remap. With mtcopy at 1 thread the copy is the same CPU")
    w("work, moved into its own phase: that row measures the copy's share.")
    w("")
    w("The rows \"1 vCPU, instructions counted\" come from the runs of the cost")
    w("gates with no migrator, and repeat from boot to boot.")
    w("")
    w("| pages | batch | configuration | unmap % | copy % | move % |")
    w("|---|---:|---|---:|---:|---:|")
    copy_share = {}
    for p in pages:
        for b in batches[p]:
            for kern, mig in (("on1", "base"), ("on", "none"), ("on", "mt1"), ("on", "mt2")):
                ph = phases.get((kern, mig, p, b))
                if not ph:
                    continue
                cols = [[float(x[f"{c}_pct"]) for x in ph] for c in ("unmap", "copy", "move")]
                if (kern, mig) == ("on", "mt1"):
                    copy_share[(p, b)] = spread(cols[1])
                label = "no migrator, 1 vCPU, instructions counted" if kern == "on1" else MIGRATORS[mig]
                w(f"| {p} | {b} | {label} | {fmts(cols[0], 1)} | {fmts(cols[1], 1)} | {fmts(cols[2], 1)} |")
    w("")

    # What deciding a batch costs: the copy phase of batches no migrator
    # copies, per batch, in instruction-counted time.
    dec = [b for b in batches.get("4k", []) if phases.get(("on1", "mt1", "4k", b))]
    if dec:
        w("### Deciding a batch that stays on the CPU (1 vCPU, instructions counted)")
        w("")
        w("The copy phase per call (`copy_ns` over `batches` of the tracepoint) for")
        w("4 KB batches under the threshold, which no migrator copies: with no")
        w("migrator the phase is only the tracepoint's own timestamps; with mtcopy")
        w("loaded it adds the static key, the reason check and the walk that sizes")
        w("the batch. In guest nanoseconds, which count instructions here.")
        w("")
        w("| batch (folios) | no migrator | mtcopy 1 thread loaded | mtcopy 2 threads loaded | added by a loaded migrator |")
        w("|---:|---:|---:|---:|---:|")

        def per_call(key):
            return [float(x["copy_ns"]) / float(x["batches"]) for x in phases.get(key, []) if float(x["batches"]) > 0]
        for b in dec:
            z = per_call(("on1", "none", "4k", b))
            a = per_call(("on1", "mt1", "4k", b)) + per_call(("on1", "mt2", "4k", b))
            add = med(a) - med(z) if a and z else float("nan")
            w(f"| {b} | {fmts(z, 0)} | {fmts(per_call(('on1', 'mt1', '4k', b)), 0)} | "
              f"{fmts(per_call(('on1', 'mt2', '4k', b)), 0)} | {fmt(add, 0)} |")
        w("")

    if "thp" in pages:
        slow2, all2 = slow_runs(runs, batches["thp"])
        w("## THP runs, boot by boot")
        w("")
        w("Each THP configuration runs in a boot of its own. Under QEMU TCG a call")
        w("that copies 2 MB folios runs either at the speed above or many times")
        w("slower. The cause is the emulator: QEMU's software TLB is direct-mapped")
        w("and sized per vCPU by recent use, and a THP and its destination are both")
        w("2 MB aligned. When a vCPU's TLB covers no more than their distance, the")
        w("source and the destination page share one entry and evict each other on")
        w("every access (the memcpy() pairs at the top show it in user space when")
        w("the vCPU's TLB is small; the kernel's page copy makes smaller accesses")
        w("and suffers more). With mtcopy at 2 threads, half of each THP is copied")
        w("on the second vCPU, which runs nothing else and may keep a small TLB.")
        w("Hardware TLBs are set-associative and the kernel's direct map uses large")
        w(f"pages: none of this carries over. **{slow2} of the {all2} THP runs with 2 vCPUs")
        w(f"hit the slow mode** (a run under 1/{SLOW_FACTOR} of the best run of its batch size,")
        w("any configuration; when every run of a size is slow, none is counted). Every run:")
        w("GB/s (median per call), p50 and p90 call latency in ms, and the share of")
        w(f"calls under 1/{SLOW_FACTOR} of the run's fastest call:")
        w("")
        w("| configuration | batch | runs: GB/s (p50 / p90 ms, slow calls) |")
        w("|---|---:|---|")
        for kern, mig in (("off1", "base"), ("on1", "base"), ("on", "none"), ("on", "mt1"), ("on", "mt2"), ("on", "mt2t0")):
            for b in batches["thp"]:
                vals = [f"{float(x['gbps_med']):.3f} ({float(x['p50_us']) / 1000:.1f} / {float(x['p90_us']) / 1000:.1f}, "
                        f"{x.get('slow_pct', '?')}%)" for x in runs.get((kern, mig, "thp", b), [])]
                if not vals:
                    continue
                label = {"off1": "option off, 1 vCPU (icount)", "on1": "no migrator, 1 vCPU (icount)"}.get(kern) or MIGRATORS[mig]
                w(f"| {label} | {b} | {'; '.join(vals)} |")
        w("")

    w("## Gates")
    w("")
    w("| gate | measured: median [min-max] | needed | result |")
    w("|---|---:|---:|---|")
    for name, vals, need, ok in gates:
        w(f"| {name} | {fmts(vals, 4)} | {need} | {'pass' if ok else 'FAIL'} |")
    thp_line = None
    if "thp" in pages and ("on", "mt2", "thp", batches["thp"][-1]) in runs:
        b = batches["thp"][-1]
        r2 = across_rounds(runs, ("on", "mt2", "thp", b), ("on", "none", "thp", b))
        c = copy_share.get(("thp", b))
        cm = c[1] / 100.0 if c else float("nan")
        sc = med([float(x["speedup"]) for x in scaling]) if scaling else float("nan")
        ideal = 1.0 / (1.0 - cm / 2.0)
        bound = 1.0 / (1.0 - cm + cm / sc) if sc and not math.isnan(sc) else float("nan")
        w(f"| 2 MB THP, mtcopy 2 threads vs no migrator (batch {b}, round by round, wall clock); reported, not gated | "
          f"{fmts(r2, 3)} ({verdict(r2)}) | ideal for 2 vCPUs with a copy share of {fmt(100 * cm, 1)}%: {fmt(ideal, 3)}; "
          f"with this guest's memcpy() scaling: {fmt(bound, 3)} | - |")
        # The same, from the rounds in which neither run hit the slow mode.
        best = thp_best(runs, b)
        a, z = by_round(runs, ("on", "mt2", "thp", b)), by_round(runs, ("on", "none", "thp", b))
        rf = [a[r] / z[r] for r in sorted(a) if r in z and min(a[r], z[r]) * SLOW_FACTOR >= best]
        thp_line = (b, r2, rf)
        w(f"| the same, rounds in which neither run hit the slow mode only ({len(rf)} of {len(r2)}); reported, not gated | "
          f"{fmts(rf, 3)} ({verdict(rf)}) | as above | - |")
    w("")

    # Threshold: the smallest 4 KB batch from which mtcopy at 2 threads
    # without a threshold is clearly faster than no migrator at every size.
    sizes = [b for b in batches.get("4k", []) if ("on", "mt2t0", "4k", b) in runs]
    vd = {b: verdict(paired(runs, "mt2t0", "4k", b)) for b in sizes}
    cross = next((b for i, b in enumerate(sizes) if all(vd[x] == "faster" for x in sizes[i:])), None)
    w("## The threshold")
    w("")
    w("mtcopy at 2 threads with `min_batch_bytes=0` against no migrator in the")
    w("same boot, 4 KB pages, wall clock, 2 vCPUs: " +
      ", ".join(f"{b} folios {fmts(paired(runs, 'mt2t0', '4k', b), 2)} ({vd[b]})" for b in sizes) + ".")
    w("")
    if cross is None:
        w("It was not clearly faster at every size from any size on.")
    else:
        w(f"It was clearly faster (every run) from {cross} folios ({cross * 4} KB) on, at every size measured.")
    w(f"The kernel's default `min_batch_bytes` is {THRESHOLD // 1024} KB ({THRESHOLD // 4096} folios).")
    w("")

    md = "\n".join(out) + "\n"
    with open(os.path.join(args.dir, "results.md"), "w") as f:
        f.write(md)
    data = {"env": args.env, "rounds": rounds, "copy_scaling": scaling, "copy_alias": alias,
            "runs": {"|".join(map(str, k)): v for k, v in runs.items()},
            "phases": {"|".join(map(str, k)): v for k, v in phases.items()},
            "threshold_verdicts": vd, "threshold_crossover": cross,
            "thp_mt2_vs_none": thp_line[1] if thp_line else None,
            "thp_mt2_vs_none_fast_rounds": thp_line[2] if thp_line else None,
            "thp_slow_runs": slow_runs(runs, batches.get("thp", [])),
            "gates": [{"name": n, "values": v, "spread": spread(v), "needed": nd, "pass": ok}
                      for n, v, nd, ok in gates]}
    with open(os.path.join(args.dir, "results.json"), "w") as f:
        json.dump(data, f, indent=1)

    plot(args.dir, runs, pages, batches, args.env)
    print(md)
    failed = [n for n, _, _, ok in gates if not ok]
    for n in failed:
        print(f"bench: gate failed: {n}", file=sys.stderr)
    if not gates:
        print("bench: no instruction-counted runs, no gate checked", file=sys.stderr)
    return 1 if failed or not gates else 0


def plot(directory, runs, pages, batches, env):
    gp = shutil.which("gnuplot")
    if not gp:
        print("bench: gnuplot not found, no plot", file=sys.stderr)
        return
    pages = [p for p in pages if any(k[0] == "on" and k[2] == p for k in runs)]
    dat = os.path.join(directory, "bench.dat")
    with open(dat, "w") as f:
        for i, p in enumerate(pages):
            f.write(f"# {p}: batch, then median min max for each configuration\n")
            for b in batches[p]:
                cols = []
                for m in MIGRATORS:
                    s = spread(values(runs, ("on", m, p, b)))
                    cols += ["nan"] * 3 if s is None else [f"{s[1]:.4f}", f"{s[0]:.4f}", f"{s[2]:.4f}"]
                f.write(f"{b} " + " ".join(cols) + "\n")
            f.write("\n\n")
    script = f"""
set terminal png size 1200,560 noenhanced
set output '{os.path.join(directory, "bench.png")}'
set multiplot layout 1,{len(pages)} title "move_pages(2) throughput, node 0 <-> node 1, wall clock, 2 vCPUs; bars: min to max over the runs\\n{env}" font ",10"
set logscale x 2
set xlabel 'folios per move_pages(2) call'
set ylabel 'GB/s'
set key below
set grid
set offsets graph 0.04, graph 0.04, graph 0.05, 0
set yrange [0:*]
"""
    for i, p in enumerate(pages):
        title = "4 KB pages" if p == "4k" else "2 MB THP (see the slow mode in results.md)"
        plots = []
        for j, m in enumerate(MIGRATORS):
            c = 2 + 3 * j
            src = f"'{dat}'" if j == 0 else "''"
            plots.append(f"{src} index {i} using 1:{c}:{c + 1}:{c + 2} with yerrorlines title '{MIGRATORS[m]}'")
        script += f"\nset title '{title}'\nplot " + ", \\\n     ".join(plots) + "\n"
    script += "unset multiplot\n"
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode:
        print("bench: gnuplot failed: " + r.stderr, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
