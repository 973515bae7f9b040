"""Report timings of this checkout against an earlier commit, on the same generated history.

    python bench/compare_reports.py fb76815 [--history 10000:100000] [--runs 5]

On a machine shared with other work, wall times from different runs do not
compare; here each report is timed with the earlier code and then with this
checkout's, one after the other, so both see the same load, and the CPU time
(user + system) is shown beside the wall time. The earlier code is taken with
``git archive`` into ``bench/out/base-COMMIT`` and run with the same Python
and libraries (the editable install of this checkout is kept out of its way).
It runs on a clone of the desk (sharing its objects), so that each code keeps
its own cache: two cache schemas on one desk would rebuild it at every turn.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

RUNNER = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, {root!r})
from gitdesk.cli import main
main()
"""


def base_command(commit: str) -> list[str]:
    sha = subprocess.run(["git", "rev-parse", "--short", commit], capture_output=True, text=True, check=True,
                         cwd=run.HERE.parent).stdout.strip()
    root = run.OUT / f"base-{sha}"
    if not (root / "gitdesk").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "gitdesk"], capture_output=True, check=True,
                                 cwd=run.HERE.parent)
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    script = root / "run_gitdesk.py"
    script.write_text(RUNNER.format(root=str(root)))
    return [sys.executable, str(script)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit to compare with, e.g. main before a change")
    parser.add_argument("--history", default="10000:100000", help="TICKETS:COMMITS of the generated history")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tickets, commits = (int(n) for n in args.history.split(":"))
    desk = run.history_desk(tickets, commits)
    new, base = run.gitdesk_command(), base_command(args.base)
    twin = desk.with_name(f"{desk.name}-{Path(base[-1]).parent.name}")  # one per earlier code: its own cache
    if not twin.is_dir():
        subprocess.run(["git", "clone", "-q", "--shared", str(desk), str(twin)], check=True)
    subprocess.run([*new, "log", "--since", "2026-10-31"], cwd=desk, capture_output=True, check=False)
    subprocess.run([*base, "log", "--since", "2026-10-31"], cwd=twin, capture_output=True, check=False)
    print(f"Machine: {run.machine()}\n")
    print(f"| report over a year ({tickets:,} tickets, {commits:,} commits) | {args.base}: wall / CPU "
          "| this checkout: wall / CPU |")
    print("| --- | --- | --- |")
    for name in ("queues", "workload", "training", "assets", "sla", "feedback"):
        period = ["--period", "month"] if name in ("workload", "feedback") else []
        command = ["report", name, *run.REPORT_WINDOW, *period, "--format", "json"]
        before = run.timed([*base, *command], twin, args.runs)
        after = run.timed([*new, *command], desk, args.runs)
        print(f"| `{name}`{' by month' if period else ''} | {before.wall:.2f} s / {before.cpu:.2f} s "
              f"| {after.wall:.2f} s / {after.cpu:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
