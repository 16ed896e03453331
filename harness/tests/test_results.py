#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of harness/results.py: a check must fail when the guest says so.

Each case writes a console log, a selftest TAP log and a gates log as a real
run would, runs results.py on them, and checks its verdict and counts.

Also the identity logic of harness/series.py: make series signs with the git
identity of whoever runs it and refuses without one; make check's copy is
signed by the placeholder and never written where make series writes.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(HARNESS, "results.py")
SERIES = os.path.join(HARNESS, "series.py")

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


def run_in(d, console, selftests, gates=None, suites="migrate_offload",
           tests="migrate_integrity", build_ok=1, label=None):
    for name, lines in (("console.log", console), ("selftests.tap", selftests),
                        ("gates.tap", gates)):
        if lines is not None:
            with open(os.path.join(d, name), "w") as f:
                f.write("\n".join(lines) + "\n")
    r = subprocess.run([sys.executable, RESULTS, "--dir", d, "--kunit-suites", suites,
                        "--selftests", tests, "--build-ok", str(build_ok)]
                       + (["--label", label] if label else []),
                       capture_output=True, text=True)
    last = r.stdout.strip().split("\n")[-1]
    return r.returncode, last, r.stdout


def run(*args, **kw):
    with tempfile.TemporaryDirectory() as d:
        return run_in(d, *args, **kw)


def total(*dirs):
    r = subprocess.run([sys.executable, RESULTS, "--total"] + list(dirs),
                       capture_output=True, text=True)
    return r.returncode, r.stdout.strip().split("\n")[-1], r.stdout


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

    def test_arm64_splats(self):
        # arm64's words for the same failures.
        for splat in ("Call trace:",
                      "Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP",
                      "Internal error: synchronous external abort: 0000000096000010 [#1] SMP",
                      "Unable to handle kernel paging request at virtual address dead000000000108",
                      "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008",
                      "SError Interrupt on CPU1, code 0x00000000be000000 -- SError",
                      "BUG: KASAN: invalid-access in migrate_folio+0x10/0x20"):
            rc, last, out = run(BOOT + KUNIT_OK + ["[    3.0] " + splat] + DONE, SELF_OK)
            self.assertEqual(rc, 1, splat)
            self.assertIn("splat", out, splat)

    def test_user_fault_report_is_no_splat(self):
        # A test that makes its own process fault on purpose (an MTE tag
        # check fault) gets a line about the user process, not a splat.
        line = ("[    3.0] migrate_mte[88]: unhandled exception: synchronous tag check "
                "fault (0x92000011) at 0x0f00ffff8a2b1000")
        rc, last, out = run(BOOT + KUNIT_OK + [line] + DONE, SELF_OK)
        self.assertEqual(rc, 0, out)

    def test_label_and_counts(self):
        with tempfile.TemporaryDirectory() as d:
            rc, last, out = run_in(d, BOOT + KUNIT_OK + DONE, SELF_OK, label="arm64-4k")
            self.assertEqual(rc, 0, out)
            self.assertEqual(last, "harness: arm64-4k: 5 passed, 0 failed, 2 skipped")
            with open(os.path.join(d, "counts.json")) as f:
                self.assertEqual(json.load(f), {"label": "arm64-4k", "passed": 5,
                                                "failed": 0, "skipped": 2})

    def test_total(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            run_in(a, BOOT + KUNIT_OK + DONE, SELF_OK, label="x86_64")
            run_in(b, BOOT + KUNIT_OK + DONE, SELF_OK, label="arm64-4k")
            rc, last, out = total(a, b)
            self.assertEqual(rc, 0, out)
            self.assertEqual(last, "10 passed, 0 failed, 4 skipped")
            self.assertIn("x86_64", out)
            self.assertIn("arm64-4k", out)
            # One architecture failing fails the sum.
            s = [l.replace("ok 1 migrate_integrity.anon_4k", "not ok 1 migrate_integrity.anon_4k")
                 for l in SELF_OK]
            run_in(b, BOOT + KUNIT_OK + DONE, s, label="arm64-4k")
            rc, last, out = total(a, b)
            self.assertEqual(rc, 1, out)
            self.assertEqual(last, "9 passed, 1 failed, 4 skipped")

    def test_total_missing_run(self):
        # A run that left no counts (its results.py never ran) is a failure.
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            run_in(a, BOOT + KUNIT_OK + DONE, SELF_OK, label="x86_64")
            rc, last, out = total(a, b)
            self.assertEqual(rc, 1, out)
            self.assertEqual(last, "5 passed, 1 failed, 2 skipped")
            self.assertIn("no results", out)
        rc, last, out = total()
        self.assertEqual(rc, 1, out)

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



def git_env(d, ident=None, own_repo=True):
    """An environment in which git sees no identity but ident: no system or
    global configuration but d's, and (own_repo) an empty repository's in
    place of this repository's own.  BUILD_DIR and BASE_TARBALL point into d,
    so that a series.py that fails to stop early cannot touch the real build."""
    home = os.path.join(d, "home")
    os.makedirs(home, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=home, XDG_CONFIG_HOME=home, GIT_CONFIG_NOSYSTEM="1",
               BUILD_DIR=os.path.join(d, "build"),
               BASE_TARBALL=os.path.join(d, "no-such-tarball.tar.xz"))
    if ident:
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = %s\n\temail = %s\n" % ident)
    if own_repo:
        gd = os.path.join(d, "empty.git")
        subprocess.run(["git", "init", "-q", "--bare", gd], env=env, check=True)
        env["GIT_DIR"] = gd
    return env


def series_py(env, *args):
    r = subprocess.run([sys.executable, SERIES] + list(args), env=env, capture_output=True,
                       text=True)
    return r.returncode, r.stdout + r.stderr


def series_call(env, expr):
    """The value of a Python expression on the series module, in env."""
    code = "import sys; sys.path.insert(0, %r); import series; print((%s))" % (HARNESS, expr)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


class SeriesIdentity(unittest.TestCase):
    ADA = ("Ada Tester", "ada@example.org")

    def test_write_needs_identity(self):
        with tempfile.TemporaryDirectory() as d:
            env = git_env(d)
            rc, out = series_py(env, "write")
            self.assertEqual(rc, 1, out)
            self.assertIn("no git identity", out)
            self.assertIn('git config --global user.name "Your Name"', out)
            # It stops before anything else: no unpacking, no checkout.
            self.assertFalse(os.path.exists(env["BUILD_DIR"]), out)

    def test_identity_from_git_config(self):
        with tempfile.TemporaryDirectory() as d:
            env = git_env(d, self.ADA)
            self.assertEqual(series_call(env, "series.signer(None)"), (0, str(self.ADA)))
            # The check copy is not signed by the user, even with an identity.
            self.assertEqual(series_call(env, "series.signer('x') == series.PLACEHOLDER"),
                             (0, "True"))

    def test_placeholder_needs_no_identity(self):
        with tempfile.TemporaryDirectory() as d:
            rc, out = series_call(git_env(d), "'%s <%s>' % series.signer('x')")
            self.assertEqual(rc, 0, out)
            self.assertEqual(out, "Placeholder For Checkpatch <placeholder@invalid>")

    def test_placeholder_never_in_series_output(self):
        with tempfile.TemporaryDirectory() as d:
            env = git_env(d)
            b = env["BUILD_DIR"]
            for bad in ("series", "series/patches", "series/x", "src"):
                rc, out = series_py(env, "write", "--placeholder", os.path.join(b, bad))
                self.assertEqual(rc, 1, bad + ": " + out)
                self.assertIn("may not be written", out)
            self.assertFalse(os.path.exists(b))
            rc, out = series_call(env, "series.out_dirs(%r), series.out_dirs(None)"
                                  % os.path.join(b, "check", "series-placeholder"))
            self.assertEqual(rc, 0, out)
            check, series = eval(out)
            self.assertEqual(check, (os.path.join(b, "check/series-placeholder/linux-source-6.12"),
                                     os.path.join(b, "check/series-placeholder/patches")))
            self.assertEqual(series, (os.path.join(b, "series/linux-source-6.12"),
                                      os.path.join(b, "series/patches")))

    def test_commit_signs_off_as_ident(self):
        with tempfile.TemporaryDirectory() as d:
            env = git_env(d, own_repo=False)
            work = os.path.join(d, "work")
            subprocess.run(["git", "init", "-q", work], env=env, check=True)
            with open(os.path.join(work, "f"), "w") as f:
                f.write("x\n")
            subprocess.run(["git", "-C", work, "add", "f"], env=env, check=True)
            rc, out = series_call(env, "series.commit(%r, 'm', 'subj', 'Body.\\n', %r)"
                                  % (work, self.ADA))
            self.assertEqual(rc, 0, out)
            log = subprocess.run(["git", "-C", work, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B"],
                                 env=env, capture_output=True, text=True).stdout.strip()
            a = "Ada Tester <ada@example.org>"
            self.assertEqual(log, "%s|%s|subj\n\nBody.\n\nSigned-off-by: %s" % (a, a, a))


if __name__ == "__main__":
    unittest.main()
