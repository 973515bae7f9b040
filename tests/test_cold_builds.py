"""The first command on a large clone builds the index and the history: it says how
far it has got while it works, says nothing once they are built, and what several
processes build together is exactly what one builds alone."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gitdesk import listing
from gitdesk.cache import db, history, index
from gitdesk.desk import Desk
from gitdesk.model import Ticket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate, generate_history  # noqa: E402

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


class ShownProgress:
    """A progress display, as the command line plugs one in, that remembers what it showed."""

    def __init__(self) -> None:
        self.bars: list[list[Any]] = []  # [label, total, advanced]

    @contextlib.contextmanager
    def __call__(self, label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        bar: list[Any] = [label, total, 0]
        self.bars.append(bar)

        def advance(amount: int) -> None:
            bar[2] += amount

        yield advance


def drop_cache(desk: Desk) -> None:
    for path in desk.repo.state_dir.glob("cache.sqlite*"):
        path.unlink()


def large_desk(where: Path, seed: int) -> tuple[Desk, ShownProgress, list[Ticket]]:
    """A desk of 520 tickets, cold, with a progress display plugged in; its first listing."""
    generate(where, 520, seed=seed)
    desk = Desk.open(where, explicit=True)
    shown = ShownProgress()
    desk.progress = shown
    return desk, shown, index.query(desk, listing.Filters(statuses=("all",)), None).tickets


def test_a_first_listing_of_a_large_desk_shows_its_progress_and_later_ones_do_not(tmp_path: Path) -> None:
    desk, shown, found = large_desk(tmp_path / "big", 3)
    history.timings(desk, found, NOW)
    # One commit made the 520 tickets: its log and its changes are counted too (at 100,000
    # tickets each takes seconds).
    assert shown.bars == [["Indexing tickets", 520, 520], ["Reading history", 1, 1],
                          ["Reading ticket versions", 521, 521]]

    index.query(desk, listing.Filters(statuses=("all",)), None)
    history.timings(desk, found, NOW)
    ticket = desk.tickets_dir / f"{found[0].id}.md"
    ticket.write_text(ticket.read_text().replace("\n---\n", "\nchecked_by: dana\n---\n", 1))
    assert index.query(desk, listing.Filters(statuses=("all",)), None).tickets[0].extra == {"checked_by": "dana"}
    assert len(shown.bars) == 3  # warm, and one changed file: nothing worth a bar


def words_in_step(desk: Desk) -> None:
    """FTS5's own check: the full-text index holds exactly the words of the stored texts."""
    with sqlite3.connect(desk.repo.state_dir / "cache.sqlite") as connection:
        connection.execute("INSERT INTO ticket_text (ticket_text, rank) VALUES ('integrity-check', 1)")


def test_the_first_listing_leaves_the_words_to_the_first_search_which_finds_every_ticket(tmp_path: Path) -> None:
    desk, shown, tickets = large_desk(tmp_path / "big", 4)
    assert [bar[0] for bar in shown.bars] == ["Indexing tickets"]  # a listing needs no word index

    from gitdesk.knowledge import search

    first = tickets[7]
    found = search.search(desk, first.title, listing.Filters(statuses=("all",)), limit=50)
    assert first.id in [hit.ticket.id for hit in found]
    assert shown.bars[-1] == ["Indexing words for search", 520, 520]
    words_in_step(desk)

    # Made once, then kept in step with every edit and removal, without another bar.
    path = desk.tickets_dir / f"{first.id}.md"
    path.write_text(path.read_text().replace(first.title, "Zeppelin hangar door jammed", 1))
    gone = tickets[8]
    (desk.tickets_dir / f"{gone.id}.md").unlink()
    assert [hit.ticket.id for hit in search.search(desk, "zeppelin", listing.Filters(statuses=("all",)))] == [first.id]
    assert gone.id not in [hit.ticket.id for hit in search.search(desk, gone.title, listing.Filters(statuses=("all",)),
                                                                   limit=50)]
    assert [bar[0] for bar in shown.bars].count("Indexing words for search") == 1
    words_in_step(desk)


def index_rows(desk: Desk) -> list[tuple[Any, ...]]:
    """Every ticket's row with its full-text row (joined by rowid, as search joins them)."""
    with db.connect(desk) as connection:
        index.refresh(desk, connection)
        return connection.execute(
            "SELECT t.name, t.id, t.mtime_ns, t.size, t.ino, t.status, t.queue, t.assignee, t.created, t.front, "
            "t.entries, t.resolution, t.problem, x.name, x.title, x.description, x.conversation, x.notes, "
            "x.resolution FROM tickets t LEFT JOIN ticket_text x ON x.rowid = t.rowid ORDER BY t.name").fetchall()


def test_worker_processes_index_exactly_what_one_process_does(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    made = generate(tmp_path / "big", 600, seed=5)
    tickets = tmp_path / "big" / "tickets"
    (tickets / "notes.md").write_text("not a ticket\n")
    (tickets / f"{made[10]}.md").write_text("---\ntitle: [\n---\n")
    (tickets / f"{made[20]}.md").write_text((tickets / f"{made[20]}.md").read_text().replace(made[20], made[21]))
    desk = Desk.open(tmp_path / "big", explicit=True)
    monkeypatch.setattr(index, "PARALLEL_FROM", 10**9)
    one_by_one = index_rows(desk)
    drop_cache(desk)
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)  # and chunks of 400: two workers
    assert index_rows(desk) == one_by_one
    assert len(one_by_one) == 601 and sum(row[12] is not None for row in one_by_one) == 3


def history_rows(desk: Desk) -> list[tuple[Any, ...]]:
    with db.connect(desk) as connection:
        history.refresh(desk, connection)
        return [*connection.execute("SELECT * FROM commits ORDER BY sha"),
                *connection.execute("SELECT c.sha, e.* FROM events e JOIN commits c ON c.id = e.commit_id "
                                    "ORDER BY c.sha, e.seq")]


def test_worker_processes_read_the_history_exactly_as_one_process_does(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    generate_history(tmp_path / "old", 200, 1000)
    desk = Desk.open(tmp_path / "old", explicit=True)
    monkeypatch.setattr(history, "CHUNK", 400)  # commits in three chunks, their versions read in parts of 500
    monkeypatch.setattr(history, "PARSE_IN_PARALLEL_FROM", 10**9)
    one_by_one = history_rows(desk)
    drop_cache(desk)
    monkeypatch.setattr(history, "PARSE_IN_PARALLEL_FROM", 1)
    assert history_rows(desk) == one_by_one
    assert len(one_by_one) > 1000


def test_processes_started_together_on_a_large_clone_build_once_and_agree(tmp_path: Path) -> None:
    generate(tmp_path / "big", 600, seed=9)
    same_clock = {**os.environ, "GITDESK_NOW": "2026-11-23T12:00:00Z"}  # timings are as of now
    runs = [subprocess.Popen([sys.executable, "-m", "gitdesk", "list", "--all", "--format", "csv"],
                             cwd=tmp_path / "big", env=same_clock, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(3)]
    results = [run.communicate() for run in runs]
    assert all(run.returncode == 0 for run in runs), [err.decode() for _, err in results]
    assert len({out for out, _ in results}) == 1
    connection = sqlite3.connect(tmp_path / "big" / ".git" / "gitdesk" / "cache.sqlite")
    assert connection.execute("SELECT count(*), max(rowid) FROM tickets").fetchone() == (600, 600)


def pythons_in_group(group: int) -> int:
    """The Python processes (gitdesk and its workers, not its git commands) in a process group."""
    python = os.path.realpath(sys.executable)
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                in_group = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group
                count += in_group and os.readlink(entry / "exe") == python
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_a_build_killed_midway_leaves_no_worker_behind_and_the_next_command_finishes_it(tmp_path: Path) -> None:
    # Forked workers share the parent's open files, desk locks included: were they left
    # waiting for work after the parent is killed, the desk would stay locked.
    generate(tmp_path / "big", 4500, seed=13)
    build = subprocess.Popen([sys.executable, "-m", "gitdesk", "list"], cwd=tmp_path / "big",
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while pythons_in_group(build.pid) < 3 and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert build.poll() is None, "the build ended before its workers could be seen"
    build.kill()
    build.wait()
    deadline = time.monotonic() + 10
    while pythons_in_group(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pythons_in_group(build.pid) == 0
    desk = Desk.open(tmp_path / "big", explicit=True)
    assert len(index.query(desk, listing.Filters(statuses=("all",)), None).tickets) == 4500
