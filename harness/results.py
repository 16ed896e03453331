#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read what a check run left behind and decide whether it passed.

Inputs (all in the check artifact folder):
  console.log     the guest's console: KUnit's KTAP (run at boot) and any splat
  selftests.tap   the guest's second serial port: each selftest's TAP between
                  '# harness-begin NAME' and '# harness-end NAME rc=N' lines
  gates.tap       TAP of the static gates run on the host

Writes kunit.ktap (the KUnit part of the console) and counts.json (the
counts, for --total) and prints a summary whose last line is 'N passed, N
failed, N skipped' (with --label L: 'harness: L: N passed, N failed, N
skipped').  Exit status 1 when anything failed, a splat was seen, an expected
suite or selftest did not run, the guest did not finish, or no test ran at
all.

  results.py --total DIR...   the runs of several check folders (make check's
                              architectures): one line each, then the sum
                              'N passed, N failed, N skipped' as the last line;
                              a folder without counts.json counts as a failure
"""

import argparse
import json
import os
import re
import sys

TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
KTAP_LINE = re.compile(r"^(\s*)(KTAP version \d+|TAP version \d+|1\.\.\d+|(not )?ok \d+.*|# .*)$")
RESULT = re.compile(r"^(not )?ok (\d+)\s*-?\s*([^#]*?)\s*(#\s*(SKIP|TODO|XFAIL)\b(.*))?$", re.I)

SPLATS = [
    (re.compile(r"\bBUG:"), "BUG"),
    (re.compile(r"\bWARNING:"), "WARNING"),
    (re.compile(r"\bOops\b|general protection fault|Internal error:|"
                r"Unable to handle kernel|SError Interrupt|Bad mode in"), "Oops"),
    (re.compile(r"\bKASAN\b.*:|BUG: KASAN"), "KASAN"),
    (re.compile(r"\bUBSAN:"), "UBSAN"),
    (re.compile(r"possible (recursive|circular) locking|inconsistent lock state|"
                r"possible irq lock inversion|bad unlock balance|held lock freed|"
                r"lock held when returning to user space|lockdep is turned off|"
                r"suspicious RCU usage|DEBUG_LOCKS_WARN_ON"), "lockdep"),
    (re.compile(r"rcu: INFO: .*detected stalls?|rcu_.*self-detected stall"), "RCU stall"),
    (re.compile(r"INFO: task .* blocked for more than"), "hung task"),
    (re.compile(r"soft lockup|hard LOCKUP"), "lockup"),
    (re.compile(r"Kernel panic|kernel BUG at"), "panic"),
    # x86 says "Call Trace:", arm64 "Call trace:"
    (re.compile(r"Call [Tt]race:"), "stack dump"),
]


class Suite:
    def __init__(self, kind, name):
        self.kind, self.name = kind, name
        self.passed = self.failed = self.skipped = 0
        self.notes = []
        self.secs = None
        self.budget = None

    def add(self, ok, skip, what):
        if skip:
            self.skipped += 1
        elif ok:
            self.passed += 1
        else:
            self.failed += 1
            self.notes.append("failed: %s" % what)

    def fail(self, why):
        self.failed += 1
        self.notes.append(why)


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return [l.rstrip("\n") for l in f]
    except FileNotFoundError:
        return None


def parse_result(line):
    m = RESULT.match(line.strip())
    if not m:
        return None
    skip = bool(m.group(5)) and m.group(5).upper() == "SKIP"
    xfail = bool(m.group(5)) and m.group(5).upper() == "XFAIL"
    return (not m.group(1)) or xfail, skip, m.group(3)


def kunit(console, out_path):
    """KUnit suites from the console; returns (suites, ktap_lines)."""
    lines = [TS.sub("", l) for l in console]
    start = None
    for i, l in enumerate(lines):
        if l.strip() == "KTAP version 1" and i + 1 < len(lines) and re.match(r"^1\.\.\d+$", lines[i + 1].strip()) \
                and not l.startswith(" "):
            start = i
            break
    if start is None:
        with open(out_path, "w") as f:
            f.write("# no KUnit output on the console\n")
        return [], []
    ktap = [l for l in lines[start:] if KTAP_LINE.match(l)]
    with open(out_path, "w") as f:
        f.write("\n".join(ktap) + "\n")
    suites, cur_tests = [], []
    for l in ktap:
        indent = len(l) - len(l.lstrip(" "))
        r = parse_result(l)
        if r is None:
            continue
        if indent == 0:
            s = Suite("kunit", r[2])
            for t in cur_tests:
                s.add(*t)
            if not cur_tests:
                s.add(*r)
            elif not r[0] and not s.failed:
                s.fail("suite reported failure")
            suites.append(s)
            cur_tests = []
        elif indent == 4:
            cur_tests.append(r)
    return suites, ktap


# A selftest's report of its own time (migrate_helpers.h).
TEST_TIME = re.compile(r"^#\s*time: (\S+) took ([\d.]+) s of its (\d+) s budget")


def test_times(lines):
    """[(name, seconds, budget)] of every '# time:' line, in order."""
    out = []
    for l in lines or []:
        m = TEST_TIME.match(l.strip())
        if m:
            out.append((m.group(1), float(m.group(2)), int(m.group(3))))
    return out


def time_report(suites, times):
    """Lines naming the time each program and test used of its budget; a
    test or program over half its budget is named in a warning (a warning,
    not a failure: no test passes or fails with the machine's speed)."""
    rows = [("program " + s.name, float(s.secs), s.budget) for s in suites
            if s.kind == "selftest" and s.secs is not None and s.budget]
    rows += [("test " + n, t, b) for n, t, b in times]
    if not rows:
        return []
    worst = max(rows, key=lambda r: r[1] / r[2])
    out = ["harness: time budgets: %d selftest programs and %d tests timed; the closest to "
           "its budget: %s, %.1f s of %d s (%.0f%%)"
           % (len(rows) - len(times), len(times), worst[0], worst[1], worst[2],
              100 * worst[1] / worst[2])]
    for n, t, b in rows:
        if t > b / 2:
            out.append("harness: warning: %s took %.1f s, more than half its %d s budget"
                       % (n, t, b))
    return out


def selftests(lines, expected):
    suites, by_name = [], {}
    cur, plan, results, done = None, None, 0, False
    for l in lines or []:
        m = re.match(r"^# harness-begin (\S+)(?: budget=(\d+))?", l)
        if m:
            cur = Suite("selftest", m.group(1))
            cur.budget = int(m.group(2)) if m.group(2) else None
            plan, results = None, 0
            by_name[cur.name] = cur
            suites.append(cur)
            continue
        m = re.match(r"^# harness-end (\S+) rc=(\d+)(?: seconds=(\d+))?", l)
        if m and cur:
            rc = int(m.group(2))
            cur.secs = m.group(3)
            if rc == 137:
                cur.fail("timed out (killed)")
            elif plan is not None and results < plan:
                cur.fail("ran %d of %d tests (exit status %d)" % (results, plan, rc))
            elif rc == 4 and cur.passed + cur.failed + cur.skipped == 0:
                cur.add(True, True, "whole program")
            elif rc not in (0, 4) and not cur.failed:
                cur.fail("exit status %d" % rc)
            elif rc == 0 and results == 0:
                cur.fail("exit status 0 but no test result")
            cur = None
            continue
        if l.startswith("# harness-done"):
            done = True
            continue
        if cur is None:
            continue
        s = l.strip()
        m = re.match(r"^1\.\.(\d+)", s)
        if m and not l.startswith(" "):
            plan = int(m.group(1))
            continue
        if l.startswith(" ") or l.startswith("#"):
            continue
        r = parse_result(s)
        if r:
            results += 1
            cur.add(*r)
    if cur is not None:
        cur.fail("no end marker: the guest died or hung while it ran")
    for name in expected:
        if name not in by_name:
            s = Suite("selftest", name)
            s.fail("did not run")
            suites.append(s)
    return suites, done


def gates(lines):
    s = Suite("gate", "static")
    out = []
    for l in lines or []:
        r = parse_result(l)
        if r:
            g = Suite("gate", r[2])
            g.add(*r)
            m = RESULT.match(l.strip())
            if m and m.group(5):
                g.notes.append(m.group(6).strip())
            out.append(g)
    return out


def splats(console):
    found = []
    for i, l in enumerate(console):
        text = TS.sub("", l)
        for rx, kind in SPLATS:
            if rx.search(text):
                found.append("%s: %s" % (kind, text.strip()[:150]))
                break
    return found


def total(dirs):
    """The sum of the runs of several check folders; exit status 1 when one
    failed or left no counts."""
    p = f = k = 0
    print("harness: results of all architectures:")
    for d in dirs:
        try:
            with open(os.path.join(d, "counts.json")) as fh:
                c = json.load(fh)
            label, cp, cf, ck = c["label"], int(c["passed"]), int(c["failed"]), int(c["skipped"])
        except (OSError, ValueError, KeyError, TypeError):
            label, cp, cf, ck = os.path.basename(os.path.normpath(d)), 0, 1, 0
            print("  %-18s no results (%s/counts.json): counted as 1 failure" % (label, d))
        else:
            print("  %-18s %3d passed, %d failed, %d skipped  (%s)" % (label, cp, cf, ck, d))
        p, f, k = p + cp, f + cf, k + ck
    print("%d passed, %d failed, %d skipped" % (p, f, k))
    return 1 if f or not dirs else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--total":
        sys.exit(total(sys.argv[2:]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--kunit-suites", default="")
    ap.add_argument("--selftests", default="")
    ap.add_argument("--build-ok", type=int, default=1)
    ap.add_argument("--label", default="",
                    help="name of the run (an architecture): the last line says it")
    args = ap.parse_args()
    d = args.dir
    exp_kunit = args.kunit_suites.split()
    exp_self = args.selftests.split()

    console = read_lines(os.path.join(d, "console.log"))
    all_suites = []
    if not args.build_ok:
        b = Suite("build", "kernel and initramfs")
        b.fail("the build failed: no guest ran")
        all_suites.append(b)
    guest = Suite("guest", "boot and run")
    if console is None:
        guest.fail("no console log: the guest never ran")
        console = []
    ks, _ = kunit(console, os.path.join(d, "kunit.ktap"))
    seen = {s.name for s in ks}
    for name in exp_kunit:
        if name not in seen:
            s = Suite("kunit", name)
            s.fail("did not run (not built in, or the kernel died first)")
            ks.append(s)
    all_suites += ks
    tap = read_lines(os.path.join(d, "selftests.tap"))
    st, done = selftests(tap, exp_self)
    all_suites += st
    times = test_times(tap)
    with open(os.path.join(d, "times.txt"), "w") as f:
        for n, t, b in sorted(times, key=lambda r: -r[1] / r[2]):
            f.write("%-48s %7.1f s of %4d s  %3.0f%%\n" % (n, t, b, 100 * t / b))
    if console and not any(l.startswith("harness: guest up") for l in console):
        guest.fail("the guest never reached its init (boot failure)")
    elif console and not done:
        guest.fail("the guest did not finish its job (timeout, panic or hang)")
    else:
        guest.passed += 1 if console else 0
    all_suites.append(guest)
    con = Suite("console", "kernel splats")
    sp = splats(console)
    if sp:
        con.fail("%d splat line(s), first: %s" % (len(sp), sp[0]))
        for x in sp[1:5]:
            con.notes.append(x)
    else:
        con.passed += 1
    all_suites.append(con)
    all_suites += gates(read_lines(os.path.join(d, "gates.tap")))

    tests_run = sum(s.passed + s.failed for s in all_suites if s.kind in ("kunit", "selftest"))
    if tests_run == 0:
        v = Suite("guest", "tests executed")
        v.fail("no test ran at all")
        all_suites.append(v)

    print("harness: results (console %s/console.log, KTAP %s/kunit.ktap and %s/selftests.tap)"
          % (d, d, d))
    for s in all_suites:
        extra = " (%ss)" % s.secs if s.secs else ""
        if s.secs and s.budget:
            extra = " (%ss of %ss)" % (s.secs, s.budget)
        print("  %-8s %-34s %3d passed, %d failed, %d skipped%s"
              % (s.kind, s.name, s.passed, s.failed, s.skipped, extra))
        for n in s.notes:
            print("           %s" % n)
    for line in time_report(st, times):
        print(line)
    p = sum(s.passed for s in all_suites)
    f = sum(s.failed for s in all_suites)
    k = sum(s.skipped for s in all_suites)
    with open(os.path.join(d, "counts.json"), "w") as fh:
        json.dump({"label": args.label or os.path.basename(os.path.normpath(d)),
                   "passed": p, "failed": f, "skipped": k}, fh)
        fh.write("\n")
    counts = "%d passed, %d failed, %d skipped" % (p, f, k)
    print("harness: %s: %s" % (args.label, counts) if args.label else counts)
    sys.exit(1 if f else 0)


if __name__ == "__main__":
    main()
