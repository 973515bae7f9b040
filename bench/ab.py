"""Did a command get slower? Two gitdesk versions timed side by side, on two copies of
the same desk, their runs interleaved (old, new, old, new…) so that whatever else
the machine does falls on both alike. A figure from another day cannot answer
that on a shared machine: the same parse of 100,000 front matters took 5.8 s one
day and 12.8 s another.

Usage: python bench/ab.py OLD_REV [--size 100000] [--runs 7]
OLD_REV is checked out in a worktree under bench/out/ and run from there with this
Python (its dependencies must be installed here, as they are for gitdesk now).
Prints a Markdown table: the median wall time of each, and new / old.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import desk_for, machine

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def checkout(rev: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = OUT / f"ab-{sha}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), sha], cwd=ROOT, check=True)
    return tree


def copy_desk(source: Path, name: str) -> Path:
    target = OUT / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    for cache in (target / ".git" / "gitdesk").glob("cache*"):
        cache.unlink()
    # The copies' files have new inodes and times: until Git's index learns them, every
    # git diff-files would read all 100,000 files again.
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=target, check=False, capture_output=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="rows whose name contains one of these words (comma-separated)")
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    old_tree = checkout(args.old)
    source = desk_for(args.size)
    desks = {"old": copy_desk(source, "ab-old-desk"), "new": copy_desk(source, "ab-new-desk")}
    paths = {"old": str(old_tree), "new": str(ROOT)}

    def command(version: str, *words: str) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gitdesk", *words], cwd=desks[version], check=True,
                           capture_output=True, env={**env, "PYTHONPATH": paths[version]})
            return time.perf_counter() - started
        return run

    middle = {version: sorted(os.listdir(desk / "tickets"))[50_000 % len(os.listdir(desk / "tickets"))]
              for version, desk in desks.items()}

    def touch(version: str) -> None:
        name = middle[version]
        path = desks[version] / "tickets" / name
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        # With the hooks installed Git runs gitdesk here too: the same version, or each would rebuild
        # the other's cache.
        subprocess.run(["git", "checkout", "--", f"tickets/{name}"], cwd=desks[version], check=True,
                       env={**env, "PYTHONPATH": paths[version]})

    def drop_cache(version: str) -> None:
        for cache in (desks[version] / ".git" / "gitdesk").glob("cache*"):
            cache.unlink()

    def edit_one(version: str) -> None:
        names = sorted(os.listdir(desks[version] / "tickets"))
        path = desks[version] / "tickets" / names[len(names) // 3]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nlabels: [", "\nlabels: [bench, ", 1) if "[bench, " not in text
                        else text.replace("[bench, ", "[", 1), encoding="utf-8")

    def commit(version: str) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            subprocess.run(["git", "commit", "-q", "-a", "-m", "hand edit"], cwd=desks[version], check=True,
                           capture_output=True, env={**env, "PYTHONPATH": paths[version]})
            return time.perf_counter() - started
        return run

    for version in ("old", "new"):
        subprocess.run([sys.executable, "-m", "gitdesk", "hooks", "install"], cwd=desks[version], check=True,
                       capture_output=True, env={**env, "PYTHONPATH": paths[version]})
    some_id = sorted(os.listdir(source / "tickets"))[100][:-3]
    rows: list[tuple[str, list[str], Callable[[str], None] | None, int]] = [
        ("cold index build (`list --status open`, no index)", ["list", "--status", "open"], drop_cache, 1),
        ("`list --status open`, piped (warm)", ["list", "--status", "open"], None, args.runs),
        ("refresh after one changed file (`list --status open`)", ["list", "--status", "open"], touch, args.runs),
        ("`list --status open --format json` (warm)", ["list", "--status", "open", "--format", "json"], None,
         args.runs),
        ("`list --assignee alice --format json` (warm)", ["list", "--assignee", "alice", "--format", "json"], None,
         args.runs),
        ("`search printer` (warm)", ["search", "printer"], None, args.runs),
        ("`show ID`", ["show", some_id], None, args.runs),
        ("`new` (with its commit)", ["new", "Benchmark ticket", "-q", "it-helpdesk"], None, args.runs),
        ("`reply ID` (with its commit and queued mail)", ["reply", some_id, "-m", "Benchmark reply"], None,
         args.runs),
        ("`git commit -a` of one edited ticket, with gitdesk's hooks", [], edit_one, args.runs),
    ]
    rows = [row for row in rows if not args.only or any(word in row[0] for word in args.only.split(","))]
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {args.size:,} tickets; old = {args.old}, new = the work tree; "
          f"runs interleaved, median of each\n")
    print("| operation | old | new | new / old |")
    print("| --- | --- | --- | --- |")
    for name, words, before, runs in rows:
        def one(version: str, words: list[str] = words) -> Callable[[], float]:
            return command(version, *words) if words else commit(version)

        for version in ("old", "new"):  # a warm-up run each (the cold row builds the index here)
            if before is not drop_cache:
                if before is not None:
                    before(version)
                one(version)()
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(runs):
            for version in ("old", "new"):
                if before is not None:
                    before(version)
                times[version].append(one(version)())
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"| {name} | {old:.3f} s | {new:.3f} s | {new / old:.2f} |", flush=True)


if __name__ == "__main__":
    main()
