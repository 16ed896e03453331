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

Files are in-tree paths: new files of the repository, or upstream files with
a diff under patches/.  An upstream file's diff can be split over several
patches by hunk numbers in brackets (1-based, in diff order); every hunk and
every file must land in exactly one patch.

The series names no one: whoever writes it is the author, committer and
sender, and series.py appends their Signed-off-by: to every message.

  series.py write     commits on the base in build/series/linux-source-6.12
                      and writes build/series/patches/*.patch, as the git
                      identity (git config user.name, user.email) of whoever
                      runs it; fails without one
  series.py write --placeholder DIR
                      the same, signed off by a placeholder that is not a
                      person, in DIR/linux-source-6.12 and DIR/patches: a
                      throw-away copy for checkpatch in 'make check', which
                      needs no identity; DIR may not be build/series
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
# What 'make series' writes, signed off by whoever runs it.
OUT = os.path.join(tree.BUILD, "series")
WORK = os.path.join(OUT, "linux-source-6.12")
# Signs the copy that 'make check' runs checkpatch on: clearly not a person
# (.invalid is reserved, RFC 2606), and accepted by checkpatch --strict.
PLACEHOLDER = ("Placeholder For Checkpatch", "placeholder@invalid")
IDENTITY_HELP = """set the git identity that signs the patches off and sends them:
    git config --global user.name "Your Name"
    git config --global user.email you@example.org
  (without --global for this repository only).  'make check' needs none."""


def die(msg):
    sys.stderr.write("series: error: %s\n" % msg)
    sys.exit(1)


def run(args, cwd, inp=None, check=True, env=None):
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


def setup_work(work):
    os.makedirs(os.path.dirname(work), exist_ok=True)
    if not os.path.isdir(os.path.join(work, ".git")):
        if os.path.exists(work):
            shutil.rmtree(work)
        print("series: making a checkout of the base in %s (once)" % work, flush=True)
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", tree.TREE, work],
                       check=True)
        run(["git", "checkout", "-q", "-B", "series", "base"], work)
        run(["git", "config", "gc.auto", "0"], work)
    else:
        run(["git", "checkout", "-q", "-f", "-B", "series", "base"], work)
        run(["git", "clean", "-q", "-f", "-d", "-x"], work)


def apply_patch(work, name, specs, diffs):
    for path, hunks in specs:
        full = os.path.join(work, path)
        if path in diffs:
            text = open(diffs[path]).read()
            if hunks is not None:
                head, hs = split_hunks(text)
                text = head + "".join(h for i, h in enumerate(hs, 1) if i in hunks)
            r = subprocess.run(["patch", "-p1", "-s", "-f", "-N", "--fuzz=0", "-r", "-",
                                "--no-backup-if-mismatch"], cwd=work, input=text,
                               capture_output=True, text=True)
            if r.returncode:
                die("%s: %s does not apply: %s" % (name, path, (r.stdout + r.stderr).strip()))
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            shutil.copy2(os.path.join(REPO, path), full)
        run(["git", "add", "-f", "--", path], work)


def git_identity():
    """(name, email) of whoever runs this, from git config; dies without one."""
    vals = []
    for key in ("user.name", "user.email"):
        r = subprocess.run(["git", "-C", REPO, "config", "--get", key], capture_output=True,
                           text=True)
        if r.returncode > 1:
            die("git config %s failed: %s" % (key, (r.stderr or r.stdout).strip()))
        vals.append(r.stdout.strip())
    missing = [k for k, v in zip(("user.name", "user.email"), vals) if not v]
    if missing:
        die("no git identity (%s not set); %s" % (" and ".join(missing), IDENTITY_HELP))
    if "@" not in vals[1] or re.search(r"[<>\n]", vals[0] + vals[1]):
        die("git identity %r <%s> is not a name and an email address; %s"
            % (vals[0], vals[1], IDENTITY_HELP))
    return vals[0], vals[1]


def out_dirs(placeholder_dir):
    """(checkout, patches folder) to write.  The placeholder copy goes
    neither where 'make series' writes (build/series) nor into the prepared
    tree: setting up a checkout resets and cleans it."""
    if placeholder_dir is None:
        return WORK, os.path.join(OUT, "patches")
    d = os.path.realpath(placeholder_dir)
    dirs = os.path.join(d, "linux-source-6.12"), os.path.join(d, "patches")
    for other, what in ((OUT, "'make series' output"), (tree.TREE, "the prepared tree")):
        o = os.path.realpath(other)
        for p in dirs:
            if p == o or p.startswith(o + os.sep) or o.startswith(p + os.sep):
                die("the placeholder copy may not be written to %s: it is in or around %s, "
                    "%s; use another folder (make check uses build/check/series-placeholder)"
                    % (placeholder_dir, other, what))
    return dirs


def signer(placeholder_dir):
    """Who signs: the placeholder for the check copy, else whoever runs this."""
    return PLACEHOLDER if placeholder_dir is not None else git_identity()


def ident_env(ident):
    """The environment that makes ident author and committer (the cover
    letter's From: is the committer)."""
    name, email = ident
    return dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)


def commit(work, msgname, subject, body, ident):
    """Commit what is staged, by ident, with ident's Signed-off-by: appended."""
    r = subprocess.run(["git", "commit", "-q", "--no-verify", "--signoff", "-F", "-"],
                       cwd=work, input="%s\n\n%s" % (subject, body), text=True,
                       env=ident_env(ident), capture_output=True)
    if r.returncode:
        die("%s: commit failed: %s" % (msgname, (r.stderr or r.stdout).strip()))


def cmd_write(placeholder_dir=None):
    # Before anything slow: who signs, and where the result goes.
    ident = signer(placeholder_dir)
    work, patch_out = out_dirs(placeholder_dir)
    tree.cmd_unpack()
    series = load_series()
    want = check_coverage(series)
    diffs = dict(tree.repo_diffs())
    setup_work(work)
    for msgname, subject, specs, body in series:
        apply_patch(work, msgname, specs, diffs)
        commit(work, msgname, subject, body, ident)
    # The last commit must be exactly the prepared state of the repository.
    for path, data in want.items():
        with open(os.path.join(work, path), "rb") as f:
            if f.read() != data:
                die("after the series, %s differs from the repository's state" % path)
    cover = open(os.path.join(SERIES_DEF, "cover-letter")).read()
    csubj, _, cbody = cover.partition("\n\n")
    if os.path.exists(patch_out):
        shutil.rmtree(patch_out)
    run(["git", "format-patch", "-q", "--cover-letter", "-o", patch_out, "--thread=shallow",
         "base..series"], work, env=ident_env(ident))
    cl = [f for f in os.listdir(patch_out) if f.startswith("0000-")][0]
    p = os.path.join(patch_out, cl)
    text = open(p).read()
    text = text.replace("*** SUBJECT HERE ***", csubj.strip())
    text = text.replace("*** BLURB HERE ***", cbody.strip())
    with open(p, "w") as f:
        f.write(text)
    n = len(series)
    print("series: wrote %d patches and a cover letter to %s, signed off by %s <%s>"
          % ((n, patch_out) + ident))
    for f in sorted(os.listdir(patch_out)):
        print("  %s" % f)


def cmd_list():
    print(run(["git", "log", "--reverse", "--format=%H %s", "base..series"], WORK), end="")


def main():
    a = sys.argv[1:]
    if a == ["write"]:
        cmd_write()
    elif len(a) == 3 and a[:2] == ["write", "--placeholder"]:
        cmd_write(a[2])
    elif a == ["list"]:
        cmd_list()
    else:
        die("usage: series.py {write [--placeholder DIR]|list}")


if __name__ == "__main__":
    main()
