#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the repository into a patched kernel tree, and back.

The repository holds new kernel files at their in-tree paths and one unified
diff per changed upstream file under patches/<path>.diff (MAINTAINERS too:
patches/MAINTAINERS.diff).  The prepared tree is the unpacked base source
with a git repository whose tag "base" is the pristine tree.

  tree.py unpack            unpack the base source once, commit it as "base"
  tree.py prepare           bring the tree to the repository's state
  tree.py refresh           write edits made in the tree back to the repository
  tree.py status            list files the series adds or changes
  tree.py path              print the prepared tree's path
  tree.py reset             drop edits made in the tree (back to the repo state)

prepare never overwrites an edit made in the tree: it remembers what it wrote
(build/src/prepared.json) and stops when a file differs from that, so an edit
is either refreshed into the repository or explicitly dropped with reset.
Only files whose content changes are written, so incremental builds stay
incremental.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))
SRC = os.path.join(BUILD, "src")
TARBALL = os.environ.get("BASE_TARBALL", "/usr/src/linux-source-6.12.tar.xz")
TREE = os.path.join(SRC, "linux-source-6.12")
MANIFEST = os.path.join(SRC, "prepared.json")
PATCHES = os.path.join(REPO, "patches")
# Repository folders that are never part of the kernel tree.
NOT_OVERLAY = {"patches", "harness", "series", "build", ".ci", ".git"}
# Generated files that may appear in the tree's source folders and are
# never part of the series.
JUNK = re.compile(r"^Documentation/networking/netlink_spec/|(^|/)(\.[^/]*|local_config\.(h|mk)|.*\.(o|ko|a|so|mod|mod\.c|cmd|orig|rej|pyc))$")


def die(msg):
    sys.stderr.write("tree: error: %s\n" % msg)
    sys.exit(1)


def info(msg):
    print("tree: %s" % msg, flush=True)


def git(*args, check=True, text=True, tree=TREE):
    r = subprocess.run(["git", "-C", tree] + list(args), capture_output=True, text=text)
    if check and r.returncode:
        die("git %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tree-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def base_version():
    """Version recorded in the repository's BASE file."""
    vals = {}
    with open(os.path.join(REPO, "BASE")) as f:
        for line in f:
            m = re.match(r"\s*([a-z_]+)\s*=\s*(\S+)", line)
            if m:
                vals[m.group(1)] = m.group(2)
    return vals


def tree_version():
    mk = read(os.path.join(TREE, "Makefile")).decode()
    v = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)", mk, re.M))
    return "%s.%s.%s" % (v["VERSION"], v["PATCHLEVEL"], v["SUBLEVEL"])


def base_content(path):
    r = subprocess.run(["git", "-C", TREE, "show", "base:" + path], capture_output=True)
    return r.stdout if r.returncode == 0 else None


def in_base(path):
    return base_content(path) is not None


def cmd_unpack():
    if os.path.isdir(os.path.join(TREE, ".git")) and git("tag", "-l", "base").strip() == "base":
        return
    if not os.path.exists(TARBALL):
        die("%s is missing: install Debian's linux-source-6.12 (make deps)" % TARBALL)
    stamp = os.path.join(SRC, ".unpacking")
    if os.path.exists(TREE):
        if not os.path.exists(stamp):
            die("%s exists but was not unpacked by the harness (no 'base' tag); "
                "move it away or run 'make distclean'" % TREE)
        info("removing the incomplete tree of an interrupted unpack")
        shutil.rmtree(TREE)
    os.makedirs(SRC, exist_ok=True)
    write(stamp, b"")
    info("unpacking %s" % TARBALL)
    if subprocess.run(["tar", "-xJf", TARBALL, "-C", SRC]).returncode:
        die("unpacking %s failed (disk full?)" % TARBALL)
    if not os.path.isdir(TREE):
        die("%s did not contain linux-source-6.12/" % TARBALL)
    info("recording the pristine tree as git tag 'base' (once)")
    git("init", "-q")
    # A background "git gc --auto" would compete with the builds.
    git("config", "gc.auto", "0")
    # Debian's .gitignore ignores the whole top level: add with -f.
    git("add", "-A", "-f")
    git("-c", "user.name=harness", "-c", "user.email=harness@localhost",
        "commit", "-q", "--no-verify", "-m", "Linux %s (Debian linux-source-6.12)" % tree_version())
    git("tag", "base")
    os.remove(stamp)
    if os.path.exists(MANIFEST):
        os.remove(MANIFEST)


def repo_new_files():
    """New kernel files kept at their in-tree path in the repository."""
    top = {e for e in os.listdir(TREE) if os.path.isdir(os.path.join(TREE, e))}
    files = []
    tracked = subprocess.run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard"],
                             capture_output=True, text=True).stdout.split("\n")
    for rel in tracked:
        if not rel:
            continue
        first = rel.split("/")[0]
        if "/" not in rel or first in NOT_OVERLAY or first not in top:
            continue
        if not os.path.isfile(os.path.join(REPO, rel)):
            continue  # deleted in the work tree, not yet committed
        files.append(rel)
    return sorted(files)


def repo_diffs():
    out = []
    for root, _, names in os.walk(PATCHES):
        for n in names:
            if n.endswith(".diff"):
                full = os.path.join(root, n)
                out.append((os.path.relpath(full, PATCHES)[:-len(".diff")], full))
    return sorted(out)


def apply_diff(path, base, diff_file):
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, path)
        write(target, base)
        r = subprocess.run(["patch", "-p1", "-s", "-f", "-N", "--fuzz=0", "-r", "-",
                            "--no-backup-if-mismatch", "-d", tmp, "-i", diff_file],
                           capture_output=True, text=True)
        if r.returncode:
            bv = base_version().get("kernel_version", "?")
            die("%s does not apply to %s\n  diff: %s\n  series made against: %s\n"
                "  installed tree:      %s\n  patch said: %s"
                % (os.path.relpath(diff_file, REPO), path, diff_file, bv, tree_version(),
                   (r.stdout + r.stderr).strip()))
        return read(target)


def desired_state():
    """Map path -> desired bytes (None: restore base) for every file the series touches."""
    want = {}
    for rel in repo_new_files():
        if in_base(rel):
            die("%s exists in the base tree: keep a diff under patches/%s.diff, "
                "never a whole copy" % (rel, rel))
        want[rel] = read(os.path.join(REPO, rel))
    for path, diff in repo_diffs():
        base = base_content(path)
        if base is None:
            die("patches/%s.diff changes %s, which is not in the base tree" % (path, path))
        want[path] = apply_diff(path, base, diff)
    return want


def load_manifest():
    try:
        with open(MANIFEST) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_manifest(m):
    write(MANIFEST, json.dumps(m, indent=1, sort_keys=True).encode())


def tree_edits(manifest):
    """Files in the tree that differ from what prepare last wrote (or from base)."""
    edited = []
    for path in changed_in_tree():
        cur = read(os.path.join(TREE, path))
        expect = manifest.get(path, "base")
        if expect == "base":
            b = base_content(path)
            same = (cur == b)
        else:
            same = cur is not None and sha(cur) == expect
        if not same:
            edited.append(path)
    for path, h in manifest.items():
        if h != "base" and read(os.path.join(TREE, path)) is None:
            edited.append(path)
    return sorted(set(edited))


def changed_in_tree():
    """Tracked files that differ from base, and untracked files in source folders."""
    mod = git("diff", "--name-only", "base", "--").split("\n")
    new = git("ls-files", "-o", "--", "mm", "include", "drivers", "tools", "Documentation",
              "lib", "kernel", "arch", "samples").split("\n")
    return sorted({p for p in mod if p} | {p for p in new if p and not JUNK.search(p)})


def cmd_prepare():
    cmd_unpack()
    bv = base_version().get("kernel_version")
    tv = tree_version()
    if bv != tv:
        info("warning: the series was made against %s, the installed tree is %s; trying"
             % (bv, tv))
    manifest = load_manifest()
    edits = tree_edits(manifest)
    if edits:
        die("these files were edited in the prepared tree %s since it was prepared:\n  %s\n"
            "run 'make refresh' to keep the edits in the repository, or "
            "'make reset-tree' to drop them" % (TREE, "\n  ".join(edits)))
    want = desired_state()
    written = 0
    newman = {}
    for path in sorted(set(want) | set(manifest)):
        full = os.path.join(TREE, path)
        cur = read(full)
        if path in want:
            data = want[path]
            if cur != data:
                write(full, data)
                written += 1
            newman[path] = sha(data)
        else:
            b = base_content(path)
            if b is None:
                if cur is not None:
                    os.remove(full)
                    written += 1
            elif cur != b:
                write(full, b)
                written += 1
    save_manifest(newman)
    info("prepared %s (%d files from the series, %d written)" % (TREE, len(want), written))


def cmd_reset():
    cmd_unpack()
    manifest = load_manifest()
    for path in tree_edits(manifest):
        full = os.path.join(TREE, path)
        h = manifest.get(path, "base")
        if h == "base":
            b = base_content(path)
            if b is None:
                os.remove(full)
            else:
                write(full, b)
            info("dropped the edit of %s" % path)
        else:
            # Forget the manifest hash; prepare below rewrites it from the repo.
            del manifest[path]
            if in_base(path):
                write(full, base_content(path))
            elif os.path.exists(full):
                os.remove(full)
            info("dropped the edit of %s" % path)
    save_manifest(manifest)
    cmd_prepare()


def cmd_refresh():
    """Write back what was edited in the tree since the last prepare.

    Only files that differ from what prepare wrote are taken, so a file
    edited in the repository since then is never overwritten by the tree's
    older copy; a file edited on both sides is a conflict.
    """
    cmd_unpack()
    manifest = load_manifest()
    if not manifest and not os.path.exists(MANIFEST):
        die("the tree was never prepared: run 'make prepare' first")
    want = desired_state()
    updated = []
    edits = tree_edits(manifest)
    for path in edits:
        full = os.path.join(TREE, path)
        cur = read(full)
        base = base_content(path)
        was = manifest.get(path, "base")
        now = sha(want[path]) if path in want else "base"
        if now != was:
            die("%s was edited both in the tree and in the repository since the last "
                "prepare; merge by hand" % path)
        if base is not None:
            target = os.path.join(PATCHES, path + ".diff")
            if cur is None:
                die("%s was deleted in the tree; the series does not delete upstream files"
                    % path)
            if cur == base:
                if os.path.exists(target):
                    os.remove(target)
                    updated.append("removed patches/%s.diff" % path)
                continue
            diff = git("diff", "--no-color", "--no-ext-diff", "--full-index", "-U3",
                       "base", "--", path, text=False)
            write(target, diff)
            updated.append("patches/%s.diff" % path)
        else:
            target = os.path.join(REPO, path)
            if cur is None:
                if os.path.exists(target):
                    os.remove(target)
                    updated.append("removed %s (deleted in the tree)" % path)
                continue
            write(target, cur)
            shutil.copymode(full, target)
            updated.append(path)
    for u in updated:
        info("refreshed %s" % u)
    if not updated:
        info("nothing to refresh")
    # The refreshed files now match the repository: record them so prepare
    # sees no edit; every other file keeps what prepare last wrote.
    for path in edits:
        cur = read(os.path.join(TREE, path))
        if cur is None or cur == base_content(path):
            manifest.pop(path, None)
        else:
            manifest[path] = sha(cur)
    save_manifest(manifest)


def cmd_status():
    cmd_unpack()
    for path in desired_state():
        kind = "changed" if in_base(path) else "new"
        print("%-8s %s" % (kind, path))


def main():
    cmds = {"unpack": cmd_unpack, "prepare": cmd_prepare, "refresh": cmd_refresh,
            "status": cmd_status, "reset": cmd_reset, "path": lambda: print(TREE)}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds:
        die("usage: tree.py {%s}" % "|".join(cmds))
    cmds[sys.argv[1]]()


if __name__ == "__main__":
    main()
