#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of harness/bench_report.py: the gates of 'make bench' must fail
when the figures say so, and no ratio whose range crosses 1.0 may be called
a win or a loss.

Each case writes the guest output of a 'make bench' (run-*.tap files, as
harness/bench.sh names them) with figures chosen for the case, runs
bench_report.py on it, and checks its exit status and results.json.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(HARNESS, "bench_report.py")
SIZES = [1, 4, 16, 32, 64, 128, 256, 512]
SMALL = [1, 4, 16, 32]


def line(page, batch, gbps):
    return (f"migrate_bench page={page} batch={batch} folios=4096 passes=4 gbps={gbps:.5f} "
            f"gbps_med={gbps:.5f} p50_us=10.00 p90_us=11.00 p99_us=12.00 first_us=10.00 slow_pct=0.0 bad=0")


def write_bench(d, rounds=3, off=lambda r, b: 0.4, on=lambda r, b: 0.4,
                loaded=lambda r, b: 1.0, wall=lambda r, m, b, k: 0.3, thp=None):
    """One 1-vCPU boot per kernel and round, and one 2-vCPU 4 KB boot per round.

    off/on(round, batch): GB/s of the base runs; loaded(round, batch): mtcopy
    over no migrator in the on kernel's 1-vCPU boot; wall(round, migrator,
    batch, k): GB/s of the k-th wall-clock run; thp: migrator -> GB/s of its
    THP boot in each round (batch 4).
    """
    for r in range(1, rounds + 1):
        for i, kern in enumerate(("off", "on")):
            rows = []
            for b in SIZES:
                for _ in range(2):
                    rows += [f"# bench-config kernel={kern}1 round={r} migrator=base",
                             line("4k", b, (off if kern == "off" else on)(r, b))]
            if kern == "on":
                for b in SMALL:
                    for m in ("none", "mt1", "mt2", "mt2", "mt1", "none"):
                        g = 0.4 if m == "none" else 0.4 * loaded(r, b)
                        rows += [f"# bench-config kernel=on1 round={r} migrator={m}", line("4k", b, g)]
            with open(os.path.join(d, f"run-{r}-{kern}-1cpu-{i + 1}.tap"), "w") as f:
                f.write("\n".join(rows) + "\n")
        rows = []
        for b in SIZES:
            for k, m in enumerate(("none", "mt1", "mt2", "mt2t0", "mt2t0", "mt2", "mt1", "none")):
                rows += [f"# bench-config kernel=on round={r} migrator={m}", line("4k", b, wall(r, m, b, k // 4))]
        with open(os.path.join(d, f"run-{r}-on-4k.tap"), "w") as f:
            f.write("\n".join(rows) + "\n")
        for m, g in (thp or {}).items():
            with open(os.path.join(d, f"run-{r}-on-thp-{m}.tap"), "w") as f:
                f.write(f"# bench-config kernel=on round={r} migrator={m}\n{line('thp', 4, g[r - 1])}\n")


def report(d):
    p = subprocess.run([sys.executable, REPORT, "--dir", d, "--env", "self-test"],
                       capture_output=True, text=True)
    with open(os.path.join(d, "results.json")) as f:
        data = json.load(f)
    return p.returncode, data, p.stdout + p.stderr


def gate(data, word):
    g = [x for x in data["gates"] if x["name"].startswith(word)]
    assert len(g) == 1, word
    return g[0]


class BenchReport(unittest.TestCase):
    def run_case(self, **kw):
        with tempfile.TemporaryDirectory() as d:
            write_bench(d, **kw)
            return report(d)

    def test_equal_kernels_pass(self):
        rc, data, out = self.run_case()
        self.assertEqual(rc, 0, out)
        self.assertTrue(all(g["pass"] for g in data["gates"]), out)

    def test_option_cost_fails(self):
        # 2% slower at every size with the option on: gate 1 must fail.
        rc, data, out = self.run_case(on=lambda r, b: 0.392)
        self.assertEqual(rc, 1, out)
        self.assertFalse(gate(data, "option on")["pass"])
        self.assertTrue(gate(data, "mtcopy loaded")["pass"])

    def test_one_bad_round_fails(self):
        # The gates take the lowest round, not the median.
        rc, data, out = self.run_case(on=lambda r, b: 0.38 if r == 2 else 0.4,
                                      off=lambda r, b: 0.4)
        self.assertEqual(rc, 1, out)
        self.assertFalse(gate(data, "option on")["pass"])

    def test_loaded_cost_fails(self):
        rc, data, out = self.run_case(loaded=lambda r, b: 0.97)
        self.assertEqual(rc, 1, out)
        self.assertFalse(gate(data, "mtcopy loaded")["pass"])

    def test_boots_disagree(self):
        # Boots of the same kernel 1% apart: instruction counting is not
        # deterministic here, and the cost gates cannot be trusted.
        rc, data, out = self.run_case(off=lambda r, b: 0.4 * (1.01 if r == 3 else 1.0),
                                      on=lambda r, b: 0.4 * (1.01 if r == 3 else 1.0))
        self.assertEqual(rc, 1, out)
        self.assertFalse(gate(data, "reproducibility")["pass"])
        self.assertTrue(gate(data, "option on")["pass"])

    def test_one_round_cannot_pass(self):
        rc, data, out = self.run_case(rounds=1)
        self.assertEqual(rc, 1, out)
        self.assertFalse(gate(data, "reproducibility")["pass"])

    def test_no_verdict_when_range_crosses_one(self):
        # mt2t0 1.2 times no migrator in one run, 0.9 in the other, at every
        # size: no win, no loss, no crossover.
        def wall(r, m, b, k):
            if m == "mt2t0":
                return 0.36 if k == 0 else 0.27
            return 0.3
        rc, data, out = self.run_case(wall=wall)
        self.assertEqual(rc, 0, out)
        self.assertTrue(all(v == "no clear difference" for v in data["threshold_verdicts"].values()), out)
        self.assertIsNone(data["threshold_crossover"])

    def test_thp_slow_mode(self):
        # Runs under a quarter of the best run of the size hit the emulator's
        # slow TLB mode: counted, and left out of the "fast rounds" ratio.
        rc, data, out = self.run_case(thp={"none": [0.40, 0.05, 0.40], "mt1": [0.40, 0.30, 0.40],
                                           "mt2": [0.70, 0.70, 0.06], "mt2t0": [0.70, 0.70, 0.70]})
        self.assertEqual(rc, 0, out)
        self.assertEqual(data["thp_slow_runs"], [2, 12], out)
        self.assertEqual(len(data["thp_mt2_vs_none"]), 3)
        self.assertEqual([round(x, 3) for x in data["thp_mt2_vs_none_fast_rounds"]], [1.75], out)

    def test_crossover_needs_every_run(self):
        # Faster in every run from 64 folios on: the crossover is 64.
        def wall(r, m, b, k):
            if m == "mt2t0":
                return 0.33 if b >= 64 else (0.31 if k == 0 else 0.29)
            return 0.3
        rc, data, out = self.run_case(wall=wall)
        self.assertEqual(rc, 0, out)
        self.assertEqual(data["threshold_crossover"], 64, out)
        self.assertEqual(data["threshold_verdicts"]["32"], "no clear difference")


if __name__ == "__main__":
    unittest.main(verbosity=2)
