"""Run every benchmark with one command: ``make bench`` (or python bench/run.py).

Generates desks (cached under bench/out/), then times whole gitdesk processes,
median of several runs (wall time, and CPU time: on a shared machine it moves
less, and above the wall time it shows work spread over cores), next to a
floor measured on the same files: `git grep` for the status, and a Python
process that reads and parses every front matter with the C YAML loader.
Prints a Markdown table for bench/RESULTS.md.

Usage: python bench/run.py [--sizes 10000,100000] [--runs 7]
  one row alone, e.g.: python bench/run.py --sizes '' --intake 0 --history '' --mail-send 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from generate import CONFIG, generate, generate_history, generate_mbox  # noqa: E402

FLOOR_PARSE = """
import os, sys, yaml
d = sys.argv[1]
n = 0
for name in os.listdir(d):
    with open(os.path.join(d, name), encoding='utf-8') as f:
        text = f.read()
    end = text.index('\\n---\\n', 4)
    data = yaml.load(text[4:end], Loader=yaml.CSafeLoader)
    n += data.get('status') == 'open'
print(n)
"""


def gitdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "gitdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gitdesk"]


@dataclass(frozen=True)
class Timing:
    """Medians of several runs of a whole process: wall time, and CPU time (user + system,
    the process and the children it waited for). On a shared machine the CPU time moves
    less than the wall time; above the wall time it shows work spread over cores."""

    wall: float
    cpu: float


def timed(command: list[str], cwd: Path, runs: int, before: Callable[[], None] | None = None) -> Timing:
    walls, cpus = [], []
    env = {**os.environ, "GITDESK_NO_PAGER": "1", "NO_COLOR": "1"}
    if before:
        before()
    subprocess.run(command, cwd=cwd, capture_output=True, env=env, check=False)  # warm the caches
    for _ in range(runs):
        if before:
            before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True, env=env, check=False)
        walls.append(time.perf_counter() - started)
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode()}")
    return Timing(statistics.median(walls), statistics.median(cpus))


Row = tuple[str, Timing, str, str]  # operation, timing, vs floor, target


def table(rows: list[Row]) -> list[str]:
    return ["| operation | median | CPU | vs floor | target |", "| --- | --- | --- | --- | --- |",
            *(f"| {name} | {timing.wall:.3f} s | {timing.cpu:.2f} s | {ratio} | {target} |"
              for name, timing, ratio, target in rows)]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {git_version}")


GENERATION = "3"  # bump when generated desks must be made again (e.g. a new ID format, other tickets)


def _stale(marker: Path) -> bool:
    return not marker.exists() or marker.read_text().strip() != GENERATION


def _cached_desk(name: str, what: str, make: Callable[[Path], object]) -> Path:
    """A generated desk under bench/out/, made again only when the generator changed."""
    path = OUT / name
    marker = path / ".git" / "bench-complete"
    if _stale(marker):
        if path.exists():
            shutil.rmtree(path)
        print(f"generating a desk of {what}…", file=sys.stderr)
        make(path)
        marker.write_text(GENERATION + "\n")
    return path


def desk_for(size: int) -> Path:
    return _cached_desk(f"desk-{size}", f"{size} tickets", lambda path: generate(path, size))


def describe(desk: Path) -> str:
    """How big the generated tickets are, to say what "realistic" meant in a run."""
    sizes = [entry.stat().st_size for entry in os.scandir(desk / "tickets")]
    return f"{sum(sizes) / len(sizes) / 1024:.1f} KiB per ticket file on average"


def bench_size(size: int, runs: int) -> list[Row]:
    desk = desk_for(size)
    gitdesk = gitdesk_command()
    some_id = sorted(os.listdir(desk / "tickets"))[size // 2][:-3]
    rows: list[Row] = []
    floor_grep = timed(["git", "grep", "-l", "^status: open", "--", "tickets/"], desk, runs)
    floor_parse = timed([sys.executable, "-c", FLOOR_PARSE, str(desk / "tickets")], desk, runs)
    rows.append(("floor: `git grep -l '^status: open'`", floor_grep, "", ""))
    rows.append(("floor: parse every front matter (C loader)", floor_parse, "", ""))

    def add(name: str, command: list[str], floor: Timing | None, target: str) -> None:
        timing = timed(command, desk, runs)
        ratio = f"{timing.wall / floor.wall:.1f}× floor" if floor else ""
        rows.append((name, timing, ratio, target))

    add("`gitdesk --help`", [*gitdesk, "--help"], None, "< 0.15 s")
    cache = desk / ".git" / "gitdesk"

    def drop_index() -> None:
        for path in cache.glob("cache.sqlite*"):
            path.unlink()

    counter = iter(range(10**6))
    names = sorted(os.listdir(desk / "tickets"))

    def touch_one() -> None:
        path = desk / "tickets" / names[next(counter) % len(names)]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\n---\n", "\nbench_touch: 1\n---\n", 1) if "bench_touch" not in text
                        else text.replace("\nbench_touch: 1\n", "\n", 1), encoding="utf-8")

    list_open = [*gitdesk, "list", "--status", "open"]
    rows.append(("cold index build (`list --status open`, no index)",
                 timed(list_open, desk, min(runs, 3), before=drop_index), "", "< 5 s / < 15 s"))  # a median of 3
    rows.append(("refresh after one changed file (`list --status open`)",
                 timed(list_open, desk, runs, before=touch_one), "", "< 0.3 s / < 0.5 s"))
    subprocess.run(["git", "checkout", "-q", "--", "tickets/"], cwd=desk, check=True)
    add("`gitdesk list --status open`, piped (warm)", list_open, floor_parse, "< 0.3 s / < 0.5 s")
    add("`gitdesk list --status open --format json` (warm)", [*list_open, "--format", "json"], floor_parse,
        "< 0.5 s")
    add("`gitdesk list --assignee alice --format json` (warm)",
        [*gitdesk, "list", "--assignee", "alice", "--format", "json"], floor_parse, "< 1 s")
    add("`gitdesk search printer` (warm)", [*gitdesk, "search", "printer"], floor_grep, "< 0.3 s / < 0.6 s")
    add("`gitdesk show ID`", [*gitdesk, "show", some_id], None, "< 0.3 s / < 0.4 s")
    add("`gitdesk new` (with its commit)", [*gitdesk, "--as", "alice", "new", "Benchmark ticket", "-q", "it-helpdesk"],
        None, "< 0.5 s / < 0.8 s")
    return rows


def bench_similar(size: int, runs: int) -> list[Row]:
    """similar, search and new with the meaning layer (issue 18), and the learned tables built cold."""
    desk = desk_for(size)
    gitdesk = gitdesk_command()
    names = sorted(os.listdir(desk / "tickets"))
    some_id = names[size // 2][:-3]
    open_id = next(name[:-3] for name in reversed(names)
                   if "\nstatus: open\n" in (desk / "tickets" / name).read_text(encoding="utf-8"))
    cache = desk / ".git" / "gitdesk" / "cache.sqlite"

    def forget_learned() -> None:
        import sqlite3

        with sqlite3.connect(cache) as connection:
            connection.execute("DELETE FROM meta WHERE key = 'meaning_version'")

    text = [*gitdesk, "similar", "--text", "outlook keeps asking for my password"]
    subprocess.run([*gitdesk, "list", "--status", "open"], cwd=desk, capture_output=True, check=True)  # the index
    rows: list[Row] = [
        ("learned tables built cold (`similar --text …`, 100 % of resolved tickets)",
         timed(text, desk, max(1, runs // 3), before=forget_learned), "", "< 60 s"),
        ("`gitdesk similar --text \"outlook keeps asking for my password\"` (warm)", timed(text, desk, runs), "",
         "< 0.6 s"),
        ("`gitdesk similar ID` (warm)", timed([*gitdesk, "similar", some_id], desk, runs), "", "< 0.6 s"),
        ("`gitdesk search printer offline` (warm)", timed([*gitdesk, "search", "printer", "offline"], desk, runs), "",
         "< 0.6 s"),
        ("`gitdesk show ID` of an open ticket (with what solved it before)",
         timed([*gitdesk, "show", open_id], desk, runs), "", "< 0.4 s"),
        ("`gitdesk new` with its suggestions (and its commit)",
         timed([*gitdesk, "--as", "alice", "new", "Outlook keeps asking for my password", "-q", "it-helpdesk"],
               desk, runs), "", "< 0.8 s"),
    ]
    return rows


def bench_similar_model(size: int, runs: int, model: Path) -> list[Row]:
    """similar and new with a static model named in the config (the desk's config is
    changed for these rows only, uncommitted, and put back)."""
    desk = desk_for(size)
    gitdesk = gitdesk_command()
    config = desk / ".gitdesk" / "config.yml"
    before = config.read_text(encoding="utf-8")
    cache = desk / ".git" / "gitdesk" / "cache.sqlite"

    def forget_vectors() -> None:
        import sqlite3

        with sqlite3.connect(cache) as connection:
            connection.execute("DROP TABLE IF EXISTS meaning_vectors")
            connection.execute("DELETE FROM meta WHERE key LIKE 'model_baseline:%'")

    text = [*gitdesk, "similar", "--text", "outlook keeps asking for my password"]
    config.write_text(before + f"search:\n  model: {model.resolve()}\n", encoding="utf-8")
    try:
        return [
            (f"`gitdesk similar --text …` with the model {model.name}, no vector kept yet",
             timed(text, desk, max(1, runs // 3), before=forget_vectors), "", ""),
            (f"`gitdesk similar --text …` with the model {model.name} (warm)", timed(text, desk, runs), "",
             "< 0.6 s"),
            (f"`gitdesk new` with its suggestions, with the model {model.name}",
             timed([*gitdesk, "--as", "alice", "new", "Mail client prompts for credentials again", "-q",
                    "it-helpdesk"], desk, runs), "", "< 0.8 s"),
        ]
    finally:
        config.write_text(before, encoding="utf-8")


def bench_hook_commit(size: int, runs: int) -> list[Row]:
    """`git commit` of one hand-edited ticket, without and with gitdesk's hooks."""
    desk = desk_for(size)
    gitdesk = gitdesk_command()
    names = sorted(os.listdir(desk / "tickets"))
    counter = iter(range(10**6))

    def edit_one() -> None:
        path = desk / "tickets" / names[next(counter) % len(names)]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nlabels: [", "\nlabels: [bench, ", 1) if "bench" not in text
                        else text.replace("bench, ", "", 1), encoding="utf-8")

    commit = ["git", "commit", "-q", "-a", "-m", "hand edit"]
    subprocess.run([*gitdesk, "hooks", "uninstall"], cwd=desk, capture_output=True, check=True)
    without = timed(commit, desk, runs, before=edit_one)
    subprocess.run([*gitdesk, "hooks", "install"], cwd=desk, capture_output=True, check=True)
    try:
        with_hooks = timed(commit, desk, runs, before=edit_one)
    finally:
        subprocess.run([*gitdesk, "hooks", "uninstall"], cwd=desk, capture_output=True, check=True)
    return [
        ("`git commit -a` of one edited ticket, no hooks", without, "", ""),
        ("the same with gitdesk's hooks (pre-commit + commit-msg)", with_hooks,
         f"+{with_hooks.wall - without.wall:.3f} s", "< +0.5 s"),
    ]


def history_desk(tickets: int, commits: int) -> Path:
    return _cached_desk(f"history-{tickets}-{commits}", f"{tickets} tickets and {commits} commits",
                        lambda path: generate_history(path, tickets, commits))


def bench_history(tickets: int, commits: int, runs: int) -> list[Row]:
    desk = history_desk(tickets, commits)
    gitdesk = gitdesk_command()
    some_id = sorted(os.listdir(desk / "tickets"))[tickets // 3][:-3]
    cache_files = lambda: list((desk / ".git" / "gitdesk").glob("cache.sqlite*"))  # noqa: E731

    def drop_cache() -> None:
        for path in cache_files():
            path.unlink()

    cold = timed([*gitdesk, "log", some_id], desk, max(1, runs // 3), before=drop_cache)
    warm_log = timed([*gitdesk, "log", some_id], desk, runs)
    warm_all = timed([*gitdesk, "list", "--all", "--format", "json"], desk, runs)
    rows = [
        ("cold history build (`gitdesk log ID`, no cache)", cold, "", "< 60 s"),
        ("`gitdesk log ID` (warm)", warm_log, "", "< 0.5 s"),
        ("timings of all tickets: `gitdesk list --all --format json` (warm)", warm_all, "", "< 2 s"),
    ]
    return rows + _report_rows(desk, runs)


# The generated history spans 2022-01 to 2026-11: a year of it, by month, is a manager's question.
REPORT_WINDOW = ["--since", "2025-11-01", "--until", "2026-11-01"]


def bench_reports(tickets: int, commits: int, runs: int) -> list[Row]:
    """Every report over a year of a generated history, warm (the history cache built once first)."""
    desk = history_desk(tickets, commits)
    subprocess.run([*gitdesk_command(), "log", "--since", "2026-10-31"], cwd=desk, capture_output=True, check=False)
    return _report_rows(desk, runs)


def _report_rows(desk: Path, runs: int) -> list[Row]:
    gitdesk = gitdesk_command()
    rows: list[Row] = []
    for name in ("queues", "workload", "training", "assets", "sla", "feedback"):
        period = ["--period", "month"] if name in ("workload", "feedback") else []
        seconds = timed([*gitdesk, "report", name, *REPORT_WINDOW, *period, "--format", "json"], desk, runs)
        rows.append((f"`gitdesk report {name}` over a year{' by month' if period else ''} (warm)", seconds, "",
                     "< 2 s"))
    return rows


def rules_desk(size: int) -> Path:
    """A clone of the generated desk with the default rules committed, tagged to reset to."""

    def make(path: Path) -> None:
        from gitdesk.templates import DEFAULT_RULES

        subprocess.run(["git", "clone", "-q", str(desk_for(size)), str(path)], check=True)
        (path / ".gitdesk" / "rules.yml").write_text(DEFAULT_RULES)
        env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "alice@example.com",
               "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "alice@example.com"}
        subprocess.run(["git", "add", ".gitdesk/rules.yml"], cwd=path, check=True)
        subprocess.run(["git", "commit", "-qm", "The default rules"], cwd=path, check=True, env=env)
        subprocess.run(["git", "config", "user.email", "alice@example.com"], cwd=path, check=True)
        subprocess.run(["git", "config", "user.name", "Bench"], cwd=path, check=True)
        subprocess.run(["git", "tag", "bench-rules"], cwd=path, check=True)

    return _cached_desk(f"rules-{size}", f"{size} tickets with the default rules", make)


# One rule that closes the resolved tickets of one queue at the highest priorities: about
# 1,000 of the 100,000 generated tickets (the row says how many exactly).
DUE_RULES = """\
rules:
  - name: close-resolved
    when: {status: resolved, for: 7d}
    if: {queue: it-infra, priority: [high, urgent], category: [email, hardware, network, access]}
    do:
      - close
"""


def bench_rules(size: int, runs: int) -> list[Row]:
    """The scheduler command (issue 17): every default rule judged on every ticket with
    nothing due, and a run that acts on about 1,000 tickets, one commit each."""
    desk = rules_desk(size)
    gitdesk = gitdesk_command()

    def reset() -> None:
        subprocess.run(["git", "reset", "-q", "--hard", "bench-rules"], cwd=desk, check=True)

    def planned() -> int:
        out = subprocess.run([*gitdesk, "rules", "run", "--dry-run", "--format", "json"], cwd=desk,
                             capture_output=True, check=True, env={**os.environ, "GITDESK_NO_PAGER": "1"}).stdout
        return sum(1 for action in json.loads(out)["actions"] if not action["skipped"])

    reset()
    # The generated tickets entered their states when they were committed. A minute later
    # every rule is judged on every ticket: the starter rules that tell of targets already
    # missed are due on the generated history, so one untimed run acts on them first, and
    # the timed runs are the work of a run on a settled desk (the duplicates still waiting
    # for a solved ticket are looked for too). A week and a day later every resolved ticket
    # is due to close, and much else is due.
    committed = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=desk, capture_output=True,
                                   text=True, check=True).stdout)
    os.environ["GITDESK_NOW"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(committed + 60))
    try:
        settled = planned()
        subprocess.run([*gitdesk, "rules", "run", "--format", "json"], cwd=desk, capture_output=True, check=False)
        nothing = planned()
        idle = timed([*gitdesk, "rules", "run"], desk, runs)
        os.environ["GITDESK_NOW"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(committed + 8 * 86400))

        def due_rules() -> None:
            reset()
            (desk / ".gitdesk" / "rules.yml").write_text(DUE_RULES)
            subprocess.run(["git", "commit", "-qam", "Close one queue's resolved tickets"], cwd=desk, check=True)

        due_rules()
        count = planned()
        acting = timed([*gitdesk, "rules", "run"], desk, max(1, runs // 3), before=due_rules)
    finally:
        os.environ.pop("GITDESK_NOW", None)
        reset()
    return [
        (f"`gitdesk rules run` on {size:,} tickets, default rules, {nothing or 'nothing'} due "
         f"(after a first run acted on {settled:,})", idle, "", "< 2 s"),
        (f"`gitdesk rules run` acting on {count:,} due tickets, one commit each", acting, "", "< 60 s"),
    ]


def bench_mail_verbs(size: int, runs: int) -> list[Row]:
    """ask, reply and resolve on a desk with a mail address: each writes its mail into
    outbox/ in the action's own commit (issue 14: still under 0.8 s at 100,000 tickets)."""
    desk = rules_desk(size)
    gitdesk = gitdesk_command()
    subprocess.run(["git", "reset", "-q", "--hard", "bench-rules"], cwd=desk, check=True)
    config = desk / ".gitdesk" / "config.yml"
    config.write_text(config.read_text() + "mail:\n  address: help@example.com\n")
    subprocess.run(["git", "commit", "-qam", "The desk's mail address"], cwd=desk, check=True)
    subprocess.run(["git", "tag", "-f", "bench-mail"], cwd=desk, check=True, capture_output=True)
    ticket = next(name[:-3] for name in sorted(os.listdir(desk / "tickets"))
                  if "\nstatus: open\n" in (desk / "tickets" / name).read_text(encoding="utf-8"))

    def reset() -> None:
        subprocess.run(["git", "reset", "-q", "--hard", "bench-mail"], cwd=desk, check=True)

    rows: list[Row] = []
    for verb, extra in (("ask", ["-m", "Which floor are you on?"]), ("reply", ["-m", "Restart the dock, please."]),
                        ("resolve", ["--note", "Replaced the dock."])):
        timing = timed([*gitdesk, "--as", "alice", verb, ticket, *extra], desk, runs, before=reset)
        rows.append((f"`gitdesk {verb}` with its mail in outbox/", timing, "", "< 0.8 s"))
    reset()
    return rows


def bench_kb(size: int, runs: int) -> list[Row]:
    """kb build and site build over the generated desk's resolved tickets."""
    desk = desk_for(size)
    gitdesk = gitdesk_command()
    resolved = sum(1 for name in os.listdir(desk / "tickets")
                   if "\nstatus: closed\n" in (text := (desk / "tickets" / name).read_text())
                   or "\nstatus: resolved\n" in text)
    site_dir = OUT / f"site-{size}"

    def reset_kb() -> None:
        subprocess.run(["git", "reset", "-q", "--hard", "bench-before-kb"], cwd=desk, check=True)
        subprocess.run(["git", "clean", "-qfdx", "kb"], cwd=desk, check=True)

    subprocess.run(["git", "tag", "-f", "bench-before-kb"], cwd=desk, check=True, capture_output=True)
    cold = timed([*gitdesk, "kb", "build"], desk, max(1, runs // 3), before=reset_kb)
    subprocess.run([*gitdesk, "kb", "build"], cwd=desk, capture_output=True)
    open_ids = [name[:-3] for name in sorted(os.listdir(desk / "tickets"))
                if "\nstatus: open\n" in (desk / "tickets" / name).read_text()]
    targets = iter(open_ids)

    def resolve_one() -> None:
        subprocess.run([*gitdesk, "--as", "alice", "resolve", next(targets), "--note", "Benchmark fix."],
                       cwd=desk, check=True, capture_output=True)

    incremental = timed([*gitdesk, "kb", "build"], desk, runs, before=resolve_one)
    site = timed([*gitdesk, "site", "build", str(site_dir)], desk, max(1, runs // 3))
    subprocess.run(["git", "reset", "-q", "--hard", "bench-before-kb"], cwd=desk, check=True)
    return [
        (f"`gitdesk kb build`, from nothing ({resolved:,} resolved tickets)", cold, "", "< 30 s"),
        ("`gitdesk kb build` after one more ticket is resolved", incremental, "", "< 2 s"),
        (f"`gitdesk site build` ({resolved:,} resolved tickets)", site, "", "< 30 s"),
    ]


def bench_intake(messages: int, runs: int) -> list[Row]:
    """Mail intake of a generated mbox into a fresh desk (issue 9: 10,000 messages under 60 s)."""
    mbox = OUT / f"inbox-{messages}.mbox"
    marker = OUT / f"inbox-{messages}.complete"
    if _stale(marker):
        mbox.unlink(missing_ok=True)
        print(f"generating an mbox of {messages} messages…", file=sys.stderr)
        generate_mbox(mbox, messages)
        marker.write_text(GENERATION + "\n")
    desk = OUT / "intake-desk"
    gitdesk = gitdesk_command()

    def fresh_desk() -> None:
        if desk.exists():
            shutil.rmtree(desk)
        desk.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=desk, check=True)
        subprocess.run([*gitdesk, "init"], cwd=desk, check=True, capture_output=True)
        (desk / ".gitdesk" / "config.yml").write_text(CONFIG + "mail:\n  address: help@example.com\n")
        subprocess.run(["git", "commit", "-qam", "config"], cwd=desk, check=True)

    fresh_desk()
    seconds = timed([*gitdesk, "intake", "mbox", str(mbox)], desk, max(1, runs // 3), before=fresh_desk)
    return [(f"`gitdesk intake mbox` of {messages:,} messages into a new desk", seconds, "", "< 60 s")]


def mail_send_desk(messages: int) -> Path:
    """A desk with ``messages`` replies composed as gitdesk composes them, committed in outbox/."""

    def make(path: Path) -> None:
        from datetime import datetime, timedelta, timezone

        gitdesk = gitdesk_command()
        path.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)  # mail goes from main
        subprocess.run([*gitdesk, "init"], cwd=path, check=True, capture_output=True)
        (path / ".gitdesk" / "config.yml").write_text(CONFIG + "mail:\n  address: help@example.com\n")
        subprocess.run(["git", "commit", "-qam", "config"], cwd=path, check=True)
        made = subprocess.run([*gitdesk, "--as", "alice", "new", "Benchmark ticket", "-q", "it-helpdesk",
                               "--requester", "bob.meyer@gmail.example", "--format", "json"], cwd=path, check=True,
                              capture_output=True)
        from gitdesk.desk import Desk
        from gitdesk.mail import compose, notify

        desk = Desk.open(path)
        ticket = desk.find(json.loads(made.stdout)["id"]).ticket
        start = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
        (path / "outbox").mkdir()
        for number in range(messages):
            now = start + timedelta(seconds=number)
            letter = compose.Letter("reply", ticket, f"Reply number {number}: please restart Outlook.",
                                    "bob.meyer@gmail.example", agent=desk.config.person("alice"))
            message = compose.message(desk.config, desk.root, letter, now, [])
            (path / notify.outbox_path(ticket.id, now, str(message["Message-ID"]))).write_bytes(message.as_bytes())
        subprocess.run(["git", "add", "outbox"], cwd=path, check=True)
        subprocess.run(["git", "commit", "-qm", f"{messages} replies queued"], cwd=path, check=True)
        subprocess.run(["git", "tag", "bench-before-send"], cwd=path, check=True)

    return _cached_desk(f"mail-send-{messages}", f"{messages} queued mails", make)


def import_csv_file(rows: int) -> Path:
    """A help desk's CSV export of ``rows`` tickets: 70 % closed with a solution, a note each,
    three agents and 300 requesters, over two years (deterministic)."""
    import csv

    path = OUT / f"import-{rows}.csv"
    if path.exists():
        return path
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Key", "Subject", "E-mail", "State", "Assigned to", "Created at", "Closed at", "Solution",
                         "Notes", "Description"])
        for number in range(rows):
            closed = number % 10 < 7
            day = f"{2024 + number % 2}-{1 + number % 12:02d}-{1 + number % 28:02d}"
            writer.writerow([f"K{number}", f"Printer {number % 97} on floor {number % 7} jams",
                             f"user{number % 300}@example.com", "Done" if closed else "Open",
                             ("alice", "bob", "")[number % 3], f"{day} 10:00", f"{day} 15:00" if closed else "",
                             "Cleaned the rollers" if closed else "", "called back",
                             f"The printer {number % 97} jams on every page."])
    return path


def bench_import(rows: int, runs: int) -> list[tuple[str, float, str, str]]:
    """``gitdesk import csv`` of ``rows`` rows into an empty desk (each row a short backdated
    history: created, a note, the moves to closed)."""
    source = import_csv_file(rows)
    desk = OUT / f"import-desk-{rows}"
    gitdesk = gitdesk_command()

    def empty_desk() -> None:
        shutil.rmtree(desk, ignore_errors=True)
        desk.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=desk, check=True)
        subprocess.run([*gitdesk, "init"], cwd=desk, check=True, capture_output=True)
        subprocess.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-qm",
                        "desk", "--allow-empty"], cwd=desk, check=True)
        subprocess.run(["git", "tag", "before-import"], cwd=desk, check=True)

    saved = dict(os.environ)
    os.environ.update({"GITDESK_NOW": "2026-11-23T13:00:00Z", "GIT_AUTHOR_NAME": "Bench",
                       "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench",
                       "GIT_COMMITTER_EMAIL": "bench@example.com"})
    try:
        seconds = timed([*gitdesk, "import", "csv", str(source)], desk, runs, before=empty_desk)
        commits = int(subprocess.run(["git", "rev-list", "--count", "before-import..HEAD"], cwd=desk, check=True,
                                     capture_output=True, text=True).stdout)
        # What the first push after an import judges (the pre-push hook, sync, a server's pre-receive).
        judged = timed([*gitdesk, "check", "--range", "before-import..HEAD"], desk, runs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [(f"`gitdesk import csv` of {rows:,} rows into an empty desk", seconds, "", ""),
            (f"`gitdesk check --range` over that import's {commits:,} commits", judged, "", "")]


def bench_mail_send(messages: int, runs: int) -> list[tuple[str, float, str, str]]:
    """``gitdesk mail send`` of a queued outbox to a local SMTP server (issue 14: 1,000 under 30 s)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("aiosmtpd is not installed (the test extra): mail send is not measured", file=sys.stderr)
        return []
    import socket

    desk = mail_send_desk(messages)
    gitdesk = gitdesk_command()

    class Accept:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd calls it so
            return "250 2.0.0 Ok: queued"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = dict(os.environ)
    os.environ.update({"GITDESK_SMTP_HOST": "127.0.0.1", "GITDESK_SMTP_PORT": str(port),
                       "GITDESK_SMTP_SECURITY": "none", "GITDESK_NOW": "2026-11-23T13:00:00Z"})

    def queued_again() -> None:
        subprocess.run(["git", "reset", "-q", "--hard", "bench-before-send"], cwd=desk, check=True)
        subprocess.run(["git", "clean", "-qfdx", "sent"], cwd=desk, check=True)
        for name in ("mail-journal", "mail-sent-ids.json"):
            (desk / ".git" / "gitdesk" / name).unlink(missing_ok=True)

    try:
        seconds = timed([*gitdesk, "mail", "send"], desk, runs, before=queued_again)
    finally:
        controller.stop()
        os.environ.clear()
        os.environ.update(saved)
        queued_again()
    return [(f"`gitdesk mail send` of {messages:,} queued mails to a local SMTP server", seconds, "", "< 30 s")]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_web(size: int, runs: int) -> list[Row]:
    """gitdesk serve: the time from sending a request to the last byte of the page, on this
    machine (so almost all of it server time), and the server's CPU time for it."""
    import http.client
    import urllib.parse

    desk = desk_for(size)
    # An open ticket from the middle: its page lists the solved tickets like it, as agents see it.
    ticket = next(name for name in sorted(os.listdir(desk / "tickets"))[size // 2:]
                  if "\nstatus: open\n" in (desk / "tickets" / name).read_text(encoding="utf-8")).removesuffix(".md")
    process = subprocess.Popen([*gitdesk_command(), "--desk", str(desk), "serve", "--as", "alice", "--format",
                                "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "GITDESK_NO_PAGER": "1"})
    assert process.stdout is not None
    printed = json.loads(process.stdout.readline())
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(printed["url"]).query)["token"][0]
    headers = {"Cookie": f"gitdesk-{printed['port']}={token}"}

    def get(path: str) -> None:
        connection = http.client.HTTPConnection(printed["host"], printed["port"], timeout=600)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status}")

    def timed_get(path: str) -> Timing:
        get(path)  # warm: the first request of a fresh server builds or checks the index
        walls, cpus = [], []
        for _ in range(runs):
            used = _cpu_seconds(process.pid)
            started = time.perf_counter()
            get(path)
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu_seconds(process.pid) - used)
        return Timing(statistics.median(walls), statistics.median(cpus))

    try:
        return [
            ("`gitdesk serve`: board of a queue (`/board/it-helpdesk`)", timed_get("/board/it-helpdesk"), "",
             "< 0.3 s"),
            ("`gitdesk serve`: intake board (`/board/intake`: every open ticket read)", timed_get("/board/intake"),
             "", ""),
            ("`gitdesk serve`: ticket page (`/t/ID`)", timed_get(f"/t/{ticket}"), "", "< 0.3 s"),
            ("`gitdesk serve`: similar solved tickets (`/t/ID/similar`)", timed_get(f"/t/{ticket}/similar"), "", ""),
            ("`gitdesk serve`: mine (`/list?mine=1`, one page)", timed_get("/list?mine=1"), "", "< 0.3 s"),
            ("`gitdesk serve`: search (`/search?q=printer+jam`)", timed_get("/search?q=printer+jam"), "", ""),
        ]
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--history", default="10000:100000",
                        help="TICKETS:COMMITS for the history benchmark ('' to skip)")
    parser.add_argument("--intake", type=int, default=10000, help="messages in the intake mbox (0 to skip)")
    parser.add_argument("--mail-send", type=int, default=1000, help="queued mails for mail send (0 to skip)")
    parser.add_argument("--rules", default="100000", help="tickets for the rules benchmark ('' to skip)")
    parser.add_argument("--import-rows", default="1000,10000", help="CSV rows for the import benchmark ('' to skip)")
    parser.add_argument("--reports", default="",
                        help="TICKETS:COMMITS[,...]: only the report timings on these histories, e.g. "
                             "10000:100000,100000:100000")
    parser.add_argument("--web", default="", help="SIZES: only the gitdesk serve timings on these desks, e.g. "
                                                   "10000,100000")
    parser.add_argument("--similar", default="100000", help="desk sizes for the similar/search/new rows ('' to skip)")
    parser.add_argument("--model", type=Path, help="a model2vec directory: the similar rows again with it "
                                                   "(bench/sentence_model.py makes one)")
    args = parser.parse_args()
    # Installed gitdesk runs from compiled bytecode; a shell that forbids writing it (some
    # sandboxes set this) would time Python compiling 80 modules on every start instead.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    OUT.mkdir(exist_ok=True)
    report = [f"Machine: {machine()}", f"Date: {time.strftime('%Y-%m-%d')}; median of {args.runs} runs "
              "(whole processes, after one warm-up run)", ""]
    for size in (int(s) for s in args.sizes.split(",") if s):
        rows = bench_size(size, args.runs) + bench_hook_commit(size, args.runs) + bench_mail_verbs(size, args.runs)
        if size <= 10000:
            rows += bench_kb(size, args.runs)
        report += [f"### {size:,} tickets ({describe(desk_for(size))})", "", *table(rows), ""]
    for size in (int(s) for s in args.similar.split(",") if s):
        report += [f"### similar, search and new with meaning: {size:,} tickets", "",
                   *table(bench_similar(size, args.runs)
                          + (bench_similar_model(size, args.runs, args.model) if args.model else [])), ""]
    if args.intake:
        report += ["### mail intake", "", *table(bench_intake(args.intake, args.runs)), ""]
    if args.mail_send:
        report += ["### mail send", "", *table(bench_mail_send(args.mail_send, args.runs)), ""]
    if args.history:
        tickets, commits = (int(n) for n in args.history.split(":"))
        report += [f"### history: {tickets:,} tickets, {commits:,} commits", "",
                   *table(bench_history(tickets, commits, args.runs)), ""]
    for rows in (int(part) for part in args.import_rows.split(",") if part):
        report += [f"### import: {rows:,} CSV rows", "", *table(bench_import(rows, min(args.runs, 3))), ""]
    for size in (int(part) for part in args.rules.split(",") if part):
        report += [f"### rules: {size:,} tickets", "", *table(bench_rules(size, args.runs)), ""]
    for size in (part for part in args.reports.split(",") if part):
        tickets, commits = (int(n) for n in size.split(":"))
        report += [f"### reports: {tickets:,} tickets, {commits:,} commits", "",
                   *table(bench_reports(tickets, commits, args.runs)), ""]
    for size in (int(part) for part in args.web.split(",") if part):
        report += [f"### gitdesk serve: {size:,} tickets", "", *table(bench_web(size, args.runs)), ""]
    text = "\n".join(report)
    print(text)
    (OUT / "latest.md").write_text(text + "\n")
    (OUT / "latest.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
