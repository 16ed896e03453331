#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of harness/results.py: a check must fail when the guest says so.

Each case writes a console log, a selftest TAP log and a gates log as a real
run would, runs results.py on them, and checks its verdict and counts.
"""

import os
import subprocess
import sys
import tempfile
import unittest

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results.py")

BOOT = ["[    0.000000] Linux version 6.12.117-mco+",
        "[    1.065817] rcu: \tRCU lockdep checking is enabled.",
        "harness: guest up: kernel 6.12.117-mco+, 4 cpus, nodes 0-1, mode check"]
KUNIT_OK = ["[    2.000000] KTAP version 1",
            "[    2.000001] 1..1",
            "[    2.000002]     KTAP version 1",
            "[    2.000003]     # Subtest: migrate_offload",
            "[    2.000004]     # module: migrate_copy_offload",
            "[    2.000005]     1..3",
            "[    2.000006]     ok 1 test_register",
            "[    2.000007]     ok 2 test_unregister_waits",
            "[    2.000008]     ok 3 test_thp # SKIP no THP",
            "[    2.000009] # migrate_offload: pass:2 fail:0 skip:1 total:3",
            "[    2.000010] ok 1 migrate_offload"]
DONE = ["harness: done", "[   10.000000] reboot: Power down"]
SELF_OK = ["# harness-start",
           "# harness-begin migrate_integrity",
           "TAP version 13", "1..2",
           "# Starting 2 tests from 1 test cases.",
           "#  RUN           migrate_integrity.anon_4k ...",
           "#            OK  migrate_integrity.anon_4k",
           "ok 1 migrate_integrity.anon_4k",
           "ok 2 migrate_integrity.anon_thp # SKIP THP disabled",
           "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0",
           "# harness-end migrate_integrity rc=0 seconds=5",
           "# harness-done"]


def run(console, selftests, gates=None, suites="migrate_offload", tests="migrate_integrity",
        build_ok=1):
    with tempfile.TemporaryDirectory() as d:
        for name, lines in (("console.log", console), ("selftests.tap", selftests),
                            ("gates.tap", gates)):
            if lines is not None:
                with open(os.path.join(d, name), "w") as f:
                    f.write("\n".join(lines) + "\n")
        r = subprocess.run([sys.executable, RESULTS, "--dir", d, "--kunit-suites", suites,
                            "--selftests", tests, "--build-ok", str(build_ok)],
                           capture_output=True, text=True)
        last = r.stdout.strip().split("\n")[-1]
        return r.returncode, last, r.stdout


class Results(unittest.TestCase):
    def test_all_good(self):
        rc, last, out = run(BOOT + KUNIT_OK + DONE, SELF_OK, ["TAP version 13", "1..1", "ok 1 checkpatch"])
        self.assertEqual(rc, 0, out)
        # kunit 2 + selftest 1 + guest 1 + console 1 + gate 1
        self.assertEqual(last, "6 passed, 0 failed, 2 skipped")

    def test_kunit_failure(self):
        k = [l.replace("ok 2 test_unregister_waits", "not ok 2 test_unregister_waits") for l in KUNIT_OK]
        k[-1] = k[-1].replace("ok 1 migrate_offload", "not ok 1 migrate_offload")
        rc, last, out = run(BOOT + k + DONE, SELF_OK)
        self.assertEqual(rc, 1)
        self.assertIn("1 failed", last)
        self.assertIn("failed: test_unregister_waits", out)

    def test_kunit_suite_missing(self):
        rc, last, out = run(BOOT + DONE, SELF_OK)
        self.assertEqual(rc, 1)
        self.assertIn("did not run", out)

    def test_selftest_failure(self):
        s = [l.replace("ok 1 migrate_integrity.anon_4k", "not ok 1 migrate_integrity.anon_4k") for l in SELF_OK]
        s = [l.replace("rc=0", "rc=1") for l in s]
        rc, last, out = run(BOOT + KUNIT_OK + DONE, s)
        self.assertEqual(rc, 1)
        self.assertIn("failed: migrate_integrity.anon_4k", out)

    def test_exit_status_without_result(self):
        s = [l.replace("rc=0", "rc=1") for l in SELF_OK]
        rc, last, out = run(BOOT + KUNIT_OK + DONE, s)
        self.assertEqual(rc, 1)
        self.assertIn("exit status 1", out)

    def test_timeout(self):
        s = [l.replace("rc=0", "rc=137") for l in SELF_OK]
        rc, last, out = run(BOOT + KUNIT_OK + DONE, s)
        self.assertEqual(rc, 1)
        self.assertIn("timed out", out)

    def test_crash_mid_test(self):
        s = SELF_OK[:8]  # no end marker, no done marker
        rc, last, out = run(BOOT + KUNIT_OK + ["[ 5.0] Kernel panic - not syncing: Fatal exception"], s)
        self.assertEqual(rc, 1)
        self.assertIn("no end marker", out)
        self.assertIn("did not finish", out)
        self.assertIn("panic", out)

    def test_fewer_results_than_plan(self):
        s = [l for l in SELF_OK if not l.startswith("ok 2")]
        rc, last, out = run(BOOT + KUNIT_OK + DONE, s)
        self.assertEqual(rc, 1)
        self.assertIn("ran 1 of 2 tests", out)

    def test_splats(self):
        for splat in ("BUG: KASAN: slab-out-of-bounds in migrate_folio+0x10/0x20",
                      "WARNING: CPU: 1 PID: 42 at mm/migrate.c:100 migrate_pages+0x1/0x2",
                      "WARNING: possible circular locking dependency detected",
                      "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                      "INFO: task migrate:42 blocked for more than 120 seconds.",
                      "WARNING: suspicious RCU usage",
                      "Oops: general protection fault, probably for non-canonical address"):
            rc, last, out = run(BOOT + KUNIT_OK + ["[    3.0] " + splat] + DONE, SELF_OK)
            self.assertEqual(rc, 1, splat)
            self.assertIn("splat", out, splat)

    def test_boot_failure(self):
        rc, last, out = run(["[ 0.0] Linux version", "[ 1.0] Kernel panic - not syncing: VFS"], None)
        self.assertEqual(rc, 1)
        self.assertIn("boot failure", out)

    def test_no_guest(self):
        rc, last, out = run(None, None, suites="", tests="")
        self.assertEqual(rc, 1)
        self.assertIn("no test ran at all", out)

    def test_nothing_ran_is_failure(self):
        empty = ["# harness-start", "# harness-done"]
        rc, last, out = run(BOOT + DONE, empty, suites="", tests="")
        self.assertEqual(rc, 1)
        self.assertIn("no test ran at all", out)

    def test_expected_selftest_missing(self):
        rc, last, out = run(BOOT + KUNIT_OK + DONE, SELF_OK, tests="migrate_integrity migration")
        self.assertEqual(rc, 1)
        self.assertIn("migration", out)

    def test_gate_failure(self):
        rc, last, out = run(BOOT + KUNIT_OK + DONE, SELF_OK,
                            ["TAP version 13", "1..2", "ok 1 checkpatch", "not ok 2 sparse"])
        self.assertEqual(rc, 1)
        self.assertIn("1 failed", last)

    def test_time_budgets(self):
        # Over half a budget is named in a warning; it never fails the check.
        s = [l.replace("# harness-begin migrate_integrity",
                       "# harness-begin migrate_integrity budget=600") for l in SELF_OK]
        s.insert(7, "# time: migrate_integrity.anon_4k took 16.2 s of its 30 s budget")
        s.insert(8, "# time: migrate_integrity.anon_thp took 3.0 s of its 300 s budget")
        rc, last, out = run(BOOT + KUNIT_OK + DONE, s)
        self.assertEqual(rc, 0, out)
        self.assertIn("(5s of 600s)", out)
        self.assertIn("1 selftest programs and 2 tests timed; the closest to its budget: "
                      "test migrate_integrity.anon_4k, 16.2 s of 30 s (54%)", out)
        self.assertIn("warning: test migrate_integrity.anon_4k took 16.2 s, more than half", out)
        self.assertNotIn("anon_thp took", out)

    def test_build_failure(self):
        rc, last, out = run(["harness: build failed"], None, build_ok=0)
        self.assertEqual(rc, 1)
        self.assertIn("the build failed", out)


if __name__ == "__main__":
    unittest.main()
