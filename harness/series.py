#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the series as git commits and format-patch files.

The patches are defined in series/: cover-letter (subject line, blank line,
body) and one NNNN-*.msg file per patch:

    Subject: mm/migrate: ...
    Files: path/one.c
      path/two.h
      tools/testing/selftests/mm/Makefile[1,3]

    Body of the commit message ...

    Signed-off-by: ...

Files are in-tree paths: new files of the repository, upstream files with a
diff under patches/, or MAINTAINERS.  An upstream file's diff can be split
over several patches by hunk numbers in brackets (1-based, in diff order);
every hunk and every file must land in exactly one patch.

  series.py write     commits on the base in build/series/linux-source-6.12
                      and writes build/series/patches/*.patch
  series.py list      prints the commits (sha subject), oldest first
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tree  # noqa: E402

REPO = tree.REPO
SERIES_DEF = os.path.join(REPO, "series")
OUT = os.path.join(tree.BUILD, "series")
WORK = os.path.join(OUT, "linux-source-6.12")
PATCH_OUT = os.path.join(OUT, "patches")


def die(msg):
    sys.stderr.write("series: error: %s\n" % msg)
    sys.exit(1)


def run(args, cwd=WORK, inp=None, check=True, env=None):
    r = subprocess.run(args, cwd=cwd, input=inp, capture_output=True, text=True, env=env)
    if check and r.returncode:
        die("%s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r.stdout


def parse_msg(path):
    with open(path) as f:
        text = f.read()
    head, _, body = text.partition("\n\n")
    subject, files = None, []
    key = None
    for line in head.split("\n"):
        m = re.match(r"^(Subject|Files):\s*(.*)$", line)
        if m:
            key = m.group(1)
            if key == "Subject":
                subject = m.group(2).strip()
            else:
                files += m.group(2).split()
        elif line.startswith((" ", "\t")) and key == "Files":
            files += line.split()
        elif line.strip():
            die("%s: unexpected header line %r" % (path, line))
    if not subject or not files:
        die("%s needs a Subject: and a Files: header, then a blank line" % path)
    specs = []
    for f in files:
        m = re.match(r"^([^\[]+)(?:\[([\d,\s-]+)\])?$", f)
        if not m:
            die("%s: bad file spec %r" % (path, f))
        hunks = None
        if m.group(2):
            hunks = set()
            for part in m.group(2).split(","):
                a, _, b = part.partition("-")
                hunks.update(range(int(a), int(b or a) + 1))
        specs.append((m.group(1), hunks))
    return subject, specs, body.strip() + "\n"


def split_hunks(diff_text):
    """(header, [hunk text, ...]) of a one-file unified diff."""
    parts = re.split(r"(?m)^(?=@@ )", diff_text)
    return parts[0], parts[1:]


def load_series():
    msgs = sorted(f for f in os.listdir(SERIES_DEF) if re.match(r"^\d{4}-.*\.msg$", f))
    if not msgs:
        die("no series/NNNN-*.msg files")
    return [(m,) + parse_msg(os.path.join(SERIES_DEF, m)) for m in msgs]


def check_coverage(series):
    """Every file of the series, and every hunk, lands in exactly one patch."""
    want = tree.desired_state()
    diffs = dict(tree.repo_diffs())
    seen = {}
    for name, _, specs, _ in series:
        for path, hunks in specs:
            if path not in want:
                die("%s lists %s, which the series does not add or change" % (name, path))
            if hunks is not None:
                if path not in diffs:
                    die("%s: hunks of %s, which has no diff" % (name, path))
                n = len(split_hunks(open(diffs[path]).read())[1])
                for h in hunks:
                    if h < 1 or h > n:
                        die("%s: %s has %d hunks, not %d" % (name, path, n, h))
                    if (path, h) in seen:
                        die("hunk %d of %s is in %s and %s" % (h, path, seen[(path, h)], name))
                    seen[(path, h)] = name
            else:
                if path in seen or any(k[0] == path for k in seen if isinstance(k, tuple)):
                    die("%s is listed twice (%s)" % (path, name))
                seen[path] = name
    for path in want:
        if path in seen:
            continue
        if path in diffs:
            n = len(split_hunks(open(diffs[path]).read())[1])
            missing = [h for h in range(1, n + 1) if (path, h) not in seen]
            if missing and len(missing) == n:
                die("%s is in no patch of series/" % path)
            if missing:
                die("hunks %s of %s are in no patch of series/" % (missing, path))
        else:
            die("%s is in no patch of series/" % path)
    return want


def setup_work():
    os.makedirs(OUT, exist_ok=True)
    if not os.path.isdir(os.path.join(WORK, ".git")):
        if os.path.exists(WORK):
            shutil.rmtree(WORK)
        print("series: making a checkout of the base in %s (once)" % WORK, flush=True)
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", tree.TREE, WORK],
                       check=True)
        run(["git", "checkout", "-q", "-B", "series", "base"])
        run(["git", "config", "gc.auto", "0"])
    else:
        run(["git", "checkout", "-q", "-f", "-B", "series", "base"])
        run(["git", "clean", "-q", "-f", "-d", "-x"])


def apply_patch(name, specs, diffs):
    for path, hunks in specs:
        full = os.path.join(WORK, path)
        if path == "MAINTAINERS":
            data = tree.insert_maintainers(open(full, "rb").read(), tree.maintainers_entry())
            with open(full, "wb") as f:
                f.write(data)
        elif path in diffs:
            text = open(diffs[path]).read()
            if hunks is not None:
                head, hs = split_hunks(text)
                text = head + "".join(h for i, h in enumerate(hs, 1) if i in hunks)
            r = subprocess.run(["patch", "-p1", "-s", "-f", "-N", "--fuzz=0", "-r", "-",
                                "--no-backup-if-mismatch"], cwd=WORK, input=text,
                               capture_output=True, text=True)
            if r.returncode:
                die("%s: %s does not apply: %s" % (name, path, (r.stdout + r.stderr).strip()))
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            shutil.copy2(os.path.join(REPO, path), full)
        run(["git", "add", "-f", "--", path])


def patch_author(body):
    """A patch's author is whoever signs it off first in series/: the same
    on every machine, whatever (if any) git identity the machine has."""
    m = re.search(r"^Signed-off-by:\s*(.+?)\s*<([^>]+)>\s*$", body, re.M)
    if m:
        return m.group(1), m.group(2)

    def get(k):
        return subprocess.run(["git", "-C", REPO, "config", k], capture_output=True,
                              text=True).stdout.strip()
    return get("user.name") or "Migration Offload Developers", \
        get("user.email") or "migrate-offload@localhost"


def cmd_write():
    tree.cmd_unpack()
    series = load_series()
    want = check_coverage(series)
    diffs = dict(tree.repo_diffs())
    setup_work()
    env = None
    for msgname, subject, specs, body in series:
        name, email = patch_author(body)
        env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                   GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
        apply_patch(msgname, specs, diffs)
        r = subprocess.run(["git", "commit", "-q", "--no-verify", "-F", "-"], cwd=WORK,
                           input="%s\n\n%s" % (subject, body), text=True, env=env,
                           capture_output=True)
        if r.returncode:
            die("%s: commit failed: %s" % (msgname, (r.stderr or r.stdout).strip()))
    # The last commit must be exactly the prepared state of the repository.
    for path, data in want.items():
        with open(os.path.join(WORK, path), "rb") as f:
            if f.read() != data:
                die("after the series, %s differs from the repository's state" % path)
    cover = open(os.path.join(SERIES_DEF, "cover-letter")).read()
    csubj, _, cbody = cover.partition("\n\n")
    if os.path.exists(PATCH_OUT):
        shutil.rmtree(PATCH_OUT)
    # The cover letter's From: is the committer: a new system has no git
    # identity, so give it the last patch's author.
    run(["git", "format-patch", "-q", "--cover-letter", "-o", PATCH_OUT, "--thread=shallow",
         "base..series"], env=env)
    cl = [f for f in os.listdir(PATCH_OUT) if f.startswith("0000-")][0]
    p = os.path.join(PATCH_OUT, cl)
    text = open(p).read()
    text = text.replace("*** SUBJECT HERE ***", csubj.strip())
    text = text.replace("*** BLURB HERE ***", cbody.strip())
    with open(p, "w") as f:
        f.write(text)
    n = len(series)
    print("series: wrote %d patches and a cover letter to %s" % (n, PATCH_OUT))
    for f in sorted(os.listdir(PATCH_OUT)):
        print("  %s" % f)


def cmd_list():
    print(run(["git", "log", "--reverse", "--format=%H %s", "base..series"]), end="")


def main():
    cmds = {"write": cmd_write, "list": cmd_list}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds:
        die("usage: series.py {%s}" % "|".join(cmds))
    cmds[sys.argv[1]]()


if __name__ == "__main__":
    main()
