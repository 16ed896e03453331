#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the migrate_bench runs of 'make bench' into a Markdown table, a
plot and the gates.

Reads DIR/run-*.tap (the guest's output; '# bench-config kernel=K round=R
migrator=M' lines, then migrate_bench and migrate_phases lines), writes
DIR/results.md, DIR/results.json and, when gnuplot is there, DIR/bench.png.
Exit status 1 when a gate fails or a run is missing.

Medians are over the rounds (one per boot, kernels alternating).
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


def med(values):
    return statistics.median(values) if values else float("nan")


def gbps(runs, key):
    """Median over the rounds of each run's median per-call throughput."""
    return med([float(r["gbps_med"]) for r in runs.get(key, [])])


def paired(runs, mig, page, batch, kernel="on"):
    """Median over the boots of mig's mean over none's mean in the same boot."""
    ratios = []
    for r in sorted({x["boot"] for x in runs.get((kernel, "none", page, batch), [])}):
        a = [float(x["gbps_med"]) for x in runs.get((kernel, mig, page, batch), []) if x["boot"] == r]
        z = [float(x["gbps_med"]) for x in runs.get((kernel, "none", page, batch), []) if x["boot"] == r]
        if a and z:
            ratios.append(statistics.mean(a) / statistics.mean(z))
    return med(ratios)


def field(runs, key, name):
    return med([float(r[name]) for r in runs.get(key, [])])


def fmt(x, nd=2):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


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
    w(f"Environment: {args.env}. Medians of {rounds} rounds. In each round the")
    w("kernel with the option off and the series' kernel boot in turn in a")
    w("guest with 1 vCPU (the cost of the option and of a loaded migrator), then")
    w("the series' kernel boots with 2 vCPUs, one per node, for everything else")
    w("(see harness/bench.sh for the order and why). move_pages(2)")
    w("of the whole buffer between node 0 and node 1 in calls of `batch` folios;")
    w("every byte verified after every move. Throughput in GB/s: the median over")
    w("the calls of a run of each call's bytes over its time (a few calls are")
    w("several times slower than the rest under emulation, and would otherwise")
    w("decide the result), then the median over the rounds. Latency per call in")
    w("microseconds. Emulated CPUs: these figures compare configurations on this")
    w("machine and say nothing about real hardware.")
    w("")
    sc = med([float(x["speedup"]) for x in scaling]) if scaling else None
    if sc is not None:
        one = med([float(x["threads1_gbps"]) for x in scaling])
        w(f"What parallel copying can gain here: in the guest, memcpy() of 32 MB runs")
        w(f"at {one:.2f} GB/s on one thread and {sc:.2f} times that on two threads at once")
        w(f"(`migrate_bench -c`, median of {len(scaling)} rounds).")
        w("")
    if alias:
        pairs = ", ".join(f"{float(x['apart_2m_gbps']):.2f} and {float(x['apart_2m4k_gbps']):.2f}" for x in alias)
        w("memcpy() of 2 MB between buffers 2 MB apart, as a THP and its destination")
        w("are, and between buffers 2 MB + 4 KB apart, in GB/s, one pair per round")
        w(f"(`migrate_bench -c`): {pairs}. The two are equal on hardware; where the")
        w("first is slower, see \"THP runs, boot by boot\".")
        w("")
    for p in pages:
        w(f"## {'4 KB pages' if p == '4k' else '2 MB THP'}")
        w("")
        w("2 vCPUs, one per node.")
        w("")
        w("| batch (folios) | no migrator | mtcopy 1 thread | mtcopy 2 threads | mtcopy 2 threads, no threshold | p50 / p99 latency, no migrator | p50 / p99 latency, mtcopy 2 threads |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for b in batches[p]:
            row = [str(b)]
            for kern, mig in (("on", "none"), ("on", "mt1"), ("on", "mt2"), ("on", "mt2t0")):
                row.append(fmt(gbps(runs, (kern, mig, p, b)), 3))
            for mig in ("none", "mt2"):
                key = ("on", mig, p, b)
                row.append(f"{fmt(field(runs, key, 'p50_us'), 0)} / {fmt(field(runs, key, 'p99_us'), 0)}")
            w("| " + " | ".join(row) + " |")
        w("")

    # The cost of the option and of a loaded migrator, 1 vCPU.
    if any(k[0] == "on1" for k in runs):
        w("## What the option and a loaded migrator cost (1 vCPU)")
        w("")
        w("A guest with one vCPU; node 1 is memory only. Every move_pages(2) call")
        w("waits for work on every other CPU (lru_cache_disable()), and under TCG how")
        w("fast an idle vCPU wakes depends on the host's scheduler: the same call")
        w("varies several times between boots of the same kernel with 2 vCPUs. With")
        w("one vCPU that wait is gone and a 1% cost can be seen. Both kernels run")
        w("the same runs first in each boot, before any module is loaded. Then")
        w("mtcopy is loaded, in turn with no migrator, for the batches under the")
        w("default min_batch_bytes, which it never copies: those columns are what a")
        w("loaded migrator costs the migrations it does not take (ratios against no")
        w("migrator in the same boot).")
        w("")
        w("| pages | batch (folios) | option off | option on, no migrator | on / off | mtcopy 1 thread loaded / none | mtcopy 2 threads loaded / none |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for p in pages:
            for b in batches[p]:
                off = gbps(runs, ("off1", "base", p, b))
                on = gbps(runs, ("on1", "base", p, b))
                w(f"| {p} | {b} | {fmt(off, 3)} | {fmt(on, 3)} | {fmt(on / off, 3)} | "
                  f"{fmt(paired(runs, 'mt1', p, b, 'on1'), 3)} | {fmt(paired(runs, 'mt2', p, b, 'on1'), 3)} |")
        w("")

    # Where the time goes, from the migrate_offload_phases tracepoint.
    w("## Where migrate_pages_batch() spends its time")
    w("")
    w("Shares of the time in migrate_pages_batch(), from the")
    w("`migrate_offload:migrate_offload_phases` tracepoint in one untimed pass.")
    w("\"unmap\": allocate, lock, unmap, TLB flush; \"copy\": the migrator's batch")
    w("copy; \"move\": the per-folio move (with the CPU copy of what no migrator")
    w("copied) and the remap. With mtcopy at 1 thread the copy is the same CPU")
    w("work, moved into its own phase: that row measures the copy's share.")
    w("")
    w("| pages | batch | configuration | unmap % | copy % | move % |")
    w("|---|---:|---|---:|---:|---:|")
    copy_share = {}
    for p in pages:
        for b in batches[p]:
            for mig in ("none", "mt1", "mt2"):
                ph = phases.get(("on", mig, p, b))
                if not ph:
                    continue
                u = med([float(x["unmap_pct"]) for x in ph])
                c = med([float(x["copy_pct"]) for x in ph])
                m = med([float(x["move_pct"]) for x in ph])
                if mig == "mt1":
                    copy_share[(p, b)] = c / 100.0
                w(f"| {p} | {b} | {MIGRATORS[mig]} | {fmt(u, 1)} | {fmt(c, 1)} | {fmt(m, 1)} |")
    w("")

    if "thp" in pages:
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
        w("and suffers more). With mtcopy")
        w("at 2 threads, half of each THP is copied on the second vCPU, which runs")
        w("nothing else and, judging by the latencies, keeps a small TLB, so most")
        w("calls wait for a slow half. Hardware TLBs are set-associative and the")
        w("kernel's direct map uses large pages: none of this carries over. The")
        w("medians above mix both modes. Every run: GB/s (median per call), p50 and")
        w("p90 call latency in ms, and the share of calls under a quarter of the")
        w("run's fastest call:")
        w("")
        w("| configuration | batch | runs: GB/s (p50 / p90 ms, slow calls) |")
        w("|---|---:|---|")
        for kern, mig in (("off1", "base"), ("on1", "base"), ("on", "none"), ("on", "mt1"), ("on", "mt2"), ("on", "mt2t0")):
            for b in batches["thp"]:
                vals = [f"{x['gbps_med']} ({float(x['p50_us']) / 1000:.1f} / {float(x['p90_us']) / 1000:.1f}, "
                        f"{x.get('slow_pct', '?')}%)" for x in runs.get((kern, mig, "thp", b), [])]
                label = {"off1": "option off, 1 vCPU", "on1": "no migrator, 1 vCPU"}.get(kern) or MIGRATORS[mig]
                w(f"| {label} | {b} | {'; '.join(vals)} |")
        w("")

    # Gates.
    gates = []

    def geomean(xs):
        xs = [x for x in xs if x > 0 and not math.isnan(x)]
        return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

    ratios = {f"{p}|{b}": gbps(runs, ("on1", "base", p, b)) / gbps(runs, ("off1", "base", p, b))
              for p in pages for b in batches[p]}
    g1 = geomean([v for k, v in ratios.items() if k.startswith("4k|")])
    gates.append(("option on, no migrator, vs option off, 1 vCPU (geometric mean over the 4 KB batch sizes, where a per-call cost shows most; THP in the table above, not gated: see THP runs)",
                  g1, 0.99, g1 >= 0.99))
    small_4k = [b for b in batches.get("4k", []) if b * 4096 < THRESHOLD]
    per_mig = {m: geomean([paired(runs, m, "4k", b, "on1") for b in small_4k]) for m in ("mt1", "mt2")}
    g2 = min(per_mig.values()) if per_mig else float("nan")
    gates.append((f"mtcopy loaded, 4 KB batches under the default min_batch_bytes ({', '.join(map(str, small_4k))} folios), vs no migrator in the same boot, 1 vCPU (geometric mean over those sizes; the worse of 1 and 2 threads)",
                  g2, 0.98, g2 >= 0.98))

    w("## Gates")
    w("")
    w("| gate | measured | needed | result |")
    w("|---|---:|---:|---|")
    for name, val, need, ok in gates:
        w(f"| {name} | {fmt(val, 3)} | {need} | {'pass' if ok else 'FAIL'} |")
    if "thp" in pages:
        b = batches["thp"][-1]
        r2 = gbps(runs, ("on", "mt2", "thp", b)) / gbps(runs, ("on", "none", "thp", b))
        c = copy_share.get(("thp", b))
        ideal = 1.0 / (1.0 - c / 2.0) if c is not None else float("nan")
        bound = 1.0 / (1.0 - c + c / sc) if c is not None and sc else float("nan")
        w(f"| 2 MB THP, mtcopy 2 threads vs no migrator (batch {b}, medians of all boots); reported, not gated | {fmt(r2, 3)} | ideal for 2 vCPUs with a copy share of {fmt(100 * c if c is not None else float('nan'), 1)}%: {fmt(ideal, 3)}; with this guest's memcpy() scaling: {fmt(bound, 3)} | - |")

        def fast(*keys):
            vals = [float(x["gbps_med"]) for k in keys for x in runs.get(k, [])]
            return [v for v in vals if v >= max(vals) / 4] if vals else []
        f2 = fast(("on", "mt2", "thp", b), ("on", "mt2t0", "thp", b))
        f0 = fast(("on", "none", "thp", b))
        rf = med(f2) / med(f0) if f2 and f0 else float("nan")
        w(f"| the same, boots without the slow mode only (a run under a quarter of the best run is left out; mtcopy 2 threads with and without threshold pooled: {len(f2)} runs kept); reported, not gated | {fmt(rf, 3)} | as above | - |")
    w("")

    # Threshold: the smallest 4 KB batch from which mtcopy at 2 threads
    # without a threshold is at least as fast as no migrator at every size.
    sizes = batches.get("4k", [])
    ok = [paired(runs, "mt2t0", "4k", b) >= 1.0 for b in sizes]
    cross = None
    for i, b in enumerate(sizes):
        if all(ok[i:]):
            cross = b
            break
    w("## The threshold")
    w("")
    w("Throughput against no migrator in the same boot (median over the boots), 4 KB pages:")
    w("")
    w("| batch (folios) | KB | mtcopy 1 thread | mtcopy 2 threads | mtcopy 2 threads, `min_batch_bytes=0` |")
    w("|---:|---:|---:|---:|---:|")
    for b in sizes:
        w(f"| {b} | {b * 4} | {fmt(paired(runs, 'mt1', '4k', b), 3)} | {fmt(paired(runs, 'mt2', '4k', b), 3)} | {fmt(paired(runs, 'mt2t0', '4k', b), 3)} |")
    w("")
    if cross is None:
        w("Without a threshold, mtcopy at 2 threads was never at least as fast at every larger size here.")
    else:
        w(f"Without a threshold, mtcopy at 2 threads was at least as fast as no migrator from {cross} folios ({cross * 4} KB) on, at every size measured.")
    w(f"The kernel's default `min_batch_bytes` is {THRESHOLD // 1024} KB.")
    w("")

    md = "\n".join(out) + "\n"
    with open(os.path.join(args.dir, "results.md"), "w") as f:
        f.write(md)
    data = {"env": args.env, "rounds": rounds, "copy_scaling": scaling, "copy_alias": alias,
            "runs": {"|".join(map(str, k)): v for k, v in runs.items()},
            "phases": {"|".join(map(str, k)): v for k, v in phases.items()},
            "ratios_on_vs_off": ratios,
            "gates": [{"name": n, "value": v, "needed": nd, "pass": ok} for n, v, nd, ok in gates]}
    with open(os.path.join(args.dir, "results.json"), "w") as f:
        json.dump(data, f, indent=1)

    plot(args.dir, runs, pages, batches, args.env)
    print(md)
    failed = [n for n, _, _, ok in gates if not ok]
    for n in failed:
        print(f"bench: gate failed: {n}", file=sys.stderr)
    return 1 if failed else 0


def plot(directory, runs, pages, batches, env):
    gp = shutil.which("gnuplot")
    if not gp:
        print("bench: gnuplot not found, no plot", file=sys.stderr)
        return
    dat = os.path.join(directory, "bench.dat")
    with open(dat, "w") as f:
        for i, p in enumerate(pages):
            f.write(f"# {p}\n")
            for b in batches[p]:
                vals = [gbps(runs, (k, m, p, b)) for k, m in
                        (("on", "none"), ("on", "mt1"), ("on", "mt2"), ("on", "mt2t0"))]
                f.write(f"{b} " + " ".join("nan" if math.isnan(v) else f"{v:.4f}" for v in vals) + "\n")
            f.write("\n\n")
    script = f"""
set terminal png size 1200,500 noenhanced
set output '{os.path.join(directory, "bench.png")}'
set multiplot layout 1,{len(pages)} title "move_pages(2) throughput, node 0 <-> node 1\\n{env}" font ",10"
set logscale x 2
set xlabel 'folios per move_pages(2) call'
set ylabel 'GB/s'
set key left top
set grid
"""
    for i, p in enumerate(pages):
        title = "4 KB pages" if p == "4k" else "2 MB THP (medians over boots; see the slow mode in results.md)"
        script += f"""
set title '{title}'
plot '{dat}' index {i} using 1:2 with linespoints title 'no migrator', \\
     '' index {i} using 1:3 with linespoints title 'mtcopy 1 thread', \\
     '' index {i} using 1:4 with linespoints title 'mtcopy 2 threads', \\
     '' index {i} using 1:5 with linespoints title 'mtcopy 2 threads, no threshold'
"""
    script += "unset multiplot\n"
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode:
        print("bench: gnuplot failed: " + r.stderr, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
