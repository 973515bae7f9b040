"""The index never lies: whatever happens to it or to the work tree, listings
equal a fresh read of the ticket files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Desk

from gitdesk.cache import db

ROOT = Path(__file__).resolve().parent.parent


def listed(desk: Desk, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(desk.run("list", "--all", *args, "--format", "json").stdout)["tickets"]


def fresh(desk: Desk) -> list[dict]:  # type: ignore[type-arg]
    """What a listing must show: read straight from the files, no index."""
    from gitdesk import listing, records
    from gitdesk.desk import Desk as RealDesk

    real = RealDesk.open(desk.path, explicit=True)
    tickets, _ = real.all_tickets(body=False)
    chosen = listing.sort(listing.select(tickets, listing.Filters(statuses=("all",)), real.config), None, real.config)
    return records.tickets(chosen)


def without_timings(rows: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [{key: value for key, value in row.items() if key != "timings"} for row in rows]


def agree(desk: Desk) -> None:
    assert without_timings(listed(desk)) == fresh(desk)


@pytest.fixture
def busy(desk: Desk) -> Desk:
    for n in range(6):
        ticket = desk.new(f"ticket {n}", "-q", "it-helpdesk" if n % 2 else "facilities", "-l", f"l{n}")
        if n % 3 == 0:
            desk.run("resolve", ticket, "--note", "done", "--as", "fred" if n % 2 == 0 else "alice")
    return desk


def cache_file(desk: Desk) -> Path:
    return desk.path / ".git" / "gitdesk" / "cache.sqlite"


def test_deleting_the_index_changes_nothing(busy: Desk) -> None:
    agree(busy)
    for path in cache_file(busy).parent.glob("cache.sqlite*"):
        path.unlink()
    agree(busy)


def test_a_corrupt_index_is_rebuilt(busy: Desk) -> None:
    agree(busy)
    cache_file(busy).write_bytes(b"\0garbage" * 4096)
    for path in cache_file(busy).parent.glob("cache.sqlite-*"):
        path.unlink()
    agree(busy)


def test_damage_deep_in_the_cache_gets_a_one_line_error_with_the_fix(busy: Desk) -> None:
    """Damage SQLite only meets in a query (a machine that stopped mid-build, when builds skip
    the flush to disk) is not a bug in gitdesk: the error says how to get a new cache."""
    busy.run("search", "ticket")
    with sqlite3.connect(cache_file(busy)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'texts'").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    with open(cache_file(busy), "r+b") as handle:
        handle.seek(size * (page - 1))
        handle.write(b"\xde\xad\xbe\xef" * (size // 4))
    error = busy.fails("search", "ticket")
    assert "the cache in .git/gitdesk is damaged" in error and "delete .git/gitdesk/cache*.sqlite*" in error
    for path in cache_file(busy).parent.glob("cache*.sqlite*"):
        path.unlink()
    assert "ticket" in busy.run("search", "ticket").stdout


def test_an_index_with_wrong_rows_is_caught_by_its_freshness_check(busy: Desk) -> None:
    agree(busy)
    connection = sqlite3.connect(cache_file(busy))
    connection.execute("UPDATE tickets SET mtime_ns = 0")  # as if written by a buggy or older gitdesk
    connection.commit()
    connection.close()
    agree(busy)


def test_hand_edits_that_are_not_committed_show_at_once(busy: Desk) -> None:
    agree(busy)
    ticket = listed(busy)[1]["id"]
    path = busy.file(ticket)
    path.write_text(path.read_text().replace("priority: normal", "priority: urgent"))
    agree(busy)
    assert [row["priority"] for row in listed(busy) if row["id"] == ticket] == ["urgent"]
    path.unlink()
    agree(busy)


def test_switching_branches_and_rebasing(busy: Desk) -> None:
    agree(busy)
    busy.git("checkout", "-q", "-b", "side")
    busy.new("only on side", "-q", "it-helpdesk")
    agree(busy)
    busy.git("checkout", "-q", "main")
    agree(busy)
    busy.new("only on main", "-q", "facilities")
    busy.git("checkout", "-q", "side")
    busy.git("rebase", "-q", "main")
    agree(busy)
    assert {row["title"] for row in listed(busy)} >= {"only on side", "only on main"}


def test_a_file_broken_by_hand_is_reported_from_the_index_too(busy: Desk) -> None:
    listed(busy)
    ticket = listed(busy)[0]["id"]
    busy.file(ticket).write_text("---\ntitle: [\n---\n")
    result = busy.run("list", "--all", "--format", "csv")
    assert ticket not in result.stdout and f"tickets/{ticket}.md:3" in result.stderr


def test_two_processes_refreshing_at_once_agree(busy: Desk) -> None:
    for path in cache_file(busy).parent.glob("cache.sqlite*"):
        path.unlink()
    runs = [subprocess.Popen([sys.executable, "-m", "gitdesk", "list", "--all", "--format", "json"], cwd=busy.path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    results = [run.communicate() for run in runs]
    assert all(run.returncode == 0 for run in runs), [err.decode() for _, err in results]
    outputs = [json.loads(out)["tickets"] for out, _ in results]
    assert all(without_timings(output) == fresh(busy) for output in outputs)


HOLD_OPEN = """
import os, sqlite3, sys
path = sys.argv[1]
connection = sqlite3.connect(path, isolation_level=None)  # as a gitdesk process that has just created it
connection.execute("PRAGMA journal_mode=WAL")
inode = os.stat(path).st_ino
print("open", flush=True)
sys.stdin.readline()
schema = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
print(os.stat(path).st_ino == inode, schema[0] if schema else None, flush=True)
"""


def hold_open(path: Path) -> subprocess.Popen[str]:
    """Another process that has the cache file open (a gitdesk command that created it an
    instant earlier, or someone looking inside with sqlite3)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    return holder


def test_a_new_cache_another_process_has_open_is_built_in_place_never_swapped(busy: Desk) -> None:
    # The race behind 'no such table: meta' when several commands start at once on a new
    # desk: the first to build the cache deleted the empty file another had just opened.
    for path in cache_file(busy).parent.glob("cache.sqlite*"):
        path.unlink()
    holder = hold_open(cache_file(busy))
    result = subprocess.run([sys.executable, "-m", "gitdesk", "list", "--all", "--format", "json"], cwd=busy.path,
                            capture_output=True, text=True, check=False)
    same_file, schema = holder.communicate("go\n")[0].split()
    assert result.returncode == 0, result.stderr
    assert without_timings(json.loads(result.stdout)["tickets"]) == fresh(busy)
    assert (same_file, schema) == ("True", db.SCHEMA_VERSION)


def test_a_cache_of_another_schema_is_rebuilt_in_place(busy: Desk) -> None:
    agree(busy)
    connection = sqlite3.connect(cache_file(busy))
    connection.execute("UPDATE meta SET value = 'an older gitdesk' WHERE key = 'schema'")
    connection.execute("UPDATE tickets SET front = '{}'")  # whatever it held means nothing now
    connection.commit()
    connection.close()
    holder = hold_open(cache_file(busy))
    agree(busy)
    assert holder.communicate("go\n")[0].split() == ["True", db.SCHEMA_VERSION]


def test_the_index_and_the_files_agree_on_a_generated_desk(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    generate(tmp_path / "big", 400, seed=7)
    from gitdesk import listing, records
    from gitdesk.cache import index
    from gitdesk.desk import Desk as RealDesk

    desk = RealDesk.open(tmp_path / "big", explicit=True)
    for filters in (listing.Filters(statuses=("all",)), listing.Filters(), listing.Filters(statuses=("closed",)),
                    listing.Filters(statuses=("all",), assignee="alice"), listing.Filters(queue="facilities"),
                    listing.Filters(statuses=("all",), labels=("printer",)), listing.Filters(unassigned=True)):
        for sort in (None, "priority", "-created", "title"):
            from_index = index.query(desk, filters, sort).tickets
            tickets, _ = desk.all_tickets(body=False)
            from_files = listing.sort(listing.select(tickets, filters, desk.config), sort, desk.config)
            assert records.tickets(from_index) == records.tickets(from_files), (filters, sort)


def test_edits_staged_reverted_and_untracked_files_show_through_gits_shortcut(busy: Desk) -> None:
    agree(busy)
    ticket = listed(busy)[2]["id"]
    path = busy.file(ticket)
    original = path.read_text()
    path.write_text(original.replace("priority: normal", "priority: low"))
    agree(busy)
    busy.git("add", "-A")
    agree(busy)
    busy.git("reset", "-q")
    busy.git("checkout", "-q", "--", f"tickets/{ticket}.md")  # back to the committed text
    agree(busy)
    stray = busy.path / "tickets" / "GD-01M850FXY9SQB1AKQ7.md"
    stray.write_text(original.replace(ticket, "GD-01M850FXY9SQB1AKQ7"))
    agree(busy)
    stray.unlink()
    agree(busy)


def test_untracked_files_show_at_once_in_a_folder_that_had_long_been_still(busy: Desk) -> None:
    # Untracked files are listed again only when the folder's mtime moves: check that
    # adding, editing in place and removing one are all seen.
    folder = busy.path / "tickets"
    an_hour_ago = time.time() - 3600
    os.utime(folder, (an_hour_ago, an_hour_ago))
    agree(busy)
    agree(busy)
    original = busy.file(listed(busy)[0]["id"]).read_text()
    stray = folder / "GD-01M850FXY9SQB1AKQ7.md"
    stray.write_text(original.replace(listed(busy)[0]["id"], "GD-01M850FXY9SQB1AKQ7"))
    agree(busy)
    os.utime(folder, (an_hour_ago, an_hour_ago))
    agree(busy)
    stray.write_text(stray.read_text().replace("priority: normal", "priority: urgent"))
    os.utime(stray, (an_hour_ago, an_hour_ago))  # even an edit that looks old
    agree(busy)
    assert [row["priority"] for row in listed(busy) if row["id"] == "GD-01M850FXY9SQB1AKQ7"] == ["urgent"]
    stray.unlink()
    agree(busy)


def test_gits_check_started_early_is_trusted_only_while_its_index_stands(busy: Desk) -> None:
    # Commands that read the index start `git diff-files` before importing the rest
    # (cache.gitstate.prefetch). An edit made while it runs, or a staging that moves
    # Git's index under it, must still be seen: by this refresh or the next one.
    from gitdesk.cache import gitstate, index
    from gitdesk.desk import Desk as RealDesk

    real = RealDesk.open(busy.path, explicit=True)
    agree(busy)
    first, second = (row["id"] for row in listed(busy)[:2])
    gitstate.prefetch(real)
    busy.file(first).write_text(busy.file(first).read_text().replace("priority: normal", "priority: low"))
    with db.connect(real) as connection:
        index.refresh(real, connection)
    agree(busy)
    gitstate.prefetch(real)
    busy.file(second).write_text(busy.file(second).read_text().replace("priority: normal", "priority: high"))
    busy.git("add", "-A")  # Git's index moves after the check started: its answer is dropped
    with db.connect(real) as connection:
        index.refresh(real, connection)
        assert (str(real.repo.top), real.prefix) not in gitstate._started
    agree(busy)
    assert {row["id"]: row["priority"] for row in listed(busy)}[second] == "high"


def _recorded_git_state(desk: Desk) -> dict | None:  # type: ignore[type-arg]
    with sqlite3.connect(cache_file(desk)) as connection:
        row = connection.execute("SELECT value FROM meta WHERE key = 'index_git_state'").fetchone()
    return json.loads(row[0]) if row and row[0] else None


def test_after_its_own_action_the_next_listing_still_trusts_git_and_sees_what_others_did(busy: Desk) -> None:
    from gitdesk.cache import gitstate

    first, second, third = (row["id"] for row in listed(busy)[:3])
    agree(busy)
    busy.run("reply", first, "-m", "On it")
    # Only gitdesk's own update of Git's index happened: the state is carried, not dropped,
    # so the next command need not stat every file.
    state = _recorded_git_state(busy)
    assert state is not None and state["index"] == gitstate.stat_key(os.stat(busy.path / ".git" / "index"))
    agree(busy)
    # Someone changes Git's index first (a commit by hand), then gitdesk acts on another
    # ticket: their change must still be seen, so the state is not carried.
    path = busy.file(second)
    path.write_text(path.read_text().replace("priority: normal", "priority: high"))
    busy.git("commit", "-qam", "priority by hand")
    busy.run("reply", third, "-m", "Looking")
    agree(busy)
    assert [row["priority"] for row in listed(busy) if row["id"] == second] == ["high"]
    # A hand edit after gitdesk's action shows at once.
    busy.run("note", first, "-m", "checked", "--as", "alice")
    path = busy.file(first)
    path.write_text(path.read_text().replace("priority: normal", "priority: urgent"))
    agree(busy)


def test_when_others_move_gits_index_only_the_files_it_moved_are_read_again(
        busy: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit by hand, a checkout, a pull or a reset changes Git's index: the next listing
    asks Git which entries differ from a base commit (now and at the last refresh) and reads
    those, instead of stat-ing every file; it must still see every change."""
    from gitdesk.cache import gitstate, index
    from gitdesk.desk import Desk as RealDesk

    monkeypatch.setattr(gitstate, "REBASE_FROM", 1)  # a new base as soon as one file differs: counts are exact
    real = RealDesk.open(busy.path, explicit=True)
    every = len(listed(busy))

    def read_again() -> int:
        with db.connect(real) as connection:
            stats = index.refresh(real, connection)
        agree(busy)
        return stats.read

    def edit(ticket: str, old: str, new: str) -> None:
        path = busy.file(ticket)
        path.write_text(path.read_text().replace(old, new, 1))

    first, second, third = (row["id"] for row in listed(busy)[:3])
    busy.git("status", "--short")
    read_again()
    busy.git("status", "--short")
    read_again()
    busy.git("status", "--short")  # Git refreshes its index's stat data only
    assert read_again() == 0
    edit(first, "priority: normal", "priority: high")
    busy.git("commit", "-qam", "by hand")
    assert read_again() == 1
    edit(second, "priority: normal", "priority: low")
    assert read_again() == 1
    busy.git("checkout", "--", f"tickets/{second}.md")
    assert read_again() == 1
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(busy.path), str(other)], check=True)
    theirs = other / "tickets" / f"{third}.md"
    theirs.write_text(theirs.read_text().replace("priority: normal", "priority: urgent", 1))
    for args in (["config", "user.email", "o@example.com"], ["config", "user.name", "O"],
                 ["commit", "-qam", "theirs"]):
        subprocess.run(["git", *args], cwd=other, check=True)
    busy.git("pull", "-q", "--no-rebase", str(other), "HEAD")
    assert read_again() == 1
    assert {row["id"]: row["priority"] for row in listed(busy)}[third] == "urgent"
    busy.git("reset", "-q", "--hard", "HEAD~2")
    assert read_again() == 2
    busy.file(third).with_name("GD-01ZZZZZZZZZZZZZZZZ.md").write_text(
        busy.file(third).read_text().replace(third, "GD-01ZZZZZZZZZZZZZZZZ"))
    busy.git("add", "tickets/")
    assert read_again() == 1
    # A base commit Git no longer has (recorded, then lost to a rebase and gc): every file is stat-ed.
    state = _recorded_git_state(busy)
    assert state is not None and state["base"] == busy.git("rev-parse", "HEAD").strip()
    with sqlite3.connect(cache_file(busy)) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'index_git_state'",
                           (json.dumps({**state, "base": "0" * 40}),))
    busy.git("commit", "-qm", "add one")
    with db.connect(real) as connection:
        assert index.refresh(real, connection).total == every + 1
    assert (_recorded_git_state(busy) or {}).get("base") == busy.git("rev-parse", "HEAD").strip()


def test_a_refresh_during_which_gits_index_moves_keeps_no_base(busy: Desk) -> None:
    """An entry moved away from the base and back while a refresh reads its file would be in
    neither list next time: if Git's index changed during the refresh, it records no base,
    and the next refresh compares every file's stat."""
    from gitdesk.cache import index
    from gitdesk.desk import Desk as RealDesk

    real = RealDesk.open(busy.path, explicit=True)
    first = listed(busy)[0]["id"]
    path = busy.file(first)
    path.write_text(path.read_text().replace("priority: normal", "priority: high", 1))
    busy.git("commit", "-qam", "by hand")  # Git's index moves: the next plan asks Git against its base
    with db.connect(real) as connection:
        plan = index._plan(real, connection)
        assert isinstance(plan, index._Plan) and plan.state is not None and "base" in plan.state
        busy.git("update-index", "--really-refresh")  # someone's git status, while this refresh runs
        # which rewrites the index only when an entry was racily clean: make sure it moved
        index_file = busy.path / ".git" / "index"
        moved = index_file.stat().st_mtime_ns + 1_000_000_000
        os.utime(index_file, ns=(moved, moved))
        index._write(real, connection, plan)
    state = _recorded_git_state(busy)
    assert state is not None and "base" not in state and "staged" not in state
    agree(busy)
    assert "base" in (_recorded_git_state(busy) or {})  # the next refresh, with every file stat-ed, records one


@pytest.mark.parametrize("hide", ["--assume-unchanged", "--skip-worktree", "replace"])
def test_entries_git_does_not_check_or_a_replaced_base_do_not_hide_an_edit(busy: Desk, hide: str) -> None:
    """Git's index moves, and the only change is one diff-files does not report (an entry marked
    assume-unchanged or skip-worktree, as a sparse checkout does) or one that `git replace` hides
    from the base: the listing must still show the file as it is."""
    first, second = (row["id"] for row in listed(busy)[:2])
    with sqlite3.connect(cache_file(busy)) as connection:  # a base Git lacks: the next check takes HEAD
        state = json.loads(connection.execute("SELECT value FROM meta WHERE key = 'index_git_state'").fetchone()[0])
        connection.execute("UPDATE meta SET value = ? WHERE key = 'index_git_state'",
                           (json.dumps({**state, "base": "0" * 40, "staged": []}),))
    (busy.path / ".git" / "index").touch()
    agree(busy)
    assert (_recorded_git_state(busy) or {}).get("staged") == []  # nothing re-read for being staged
    path = busy.file(first)
    path.write_text(path.read_text().replace("priority: normal", "priority: urgent", 1))
    if hide == "replace":  # the base's stand-in already holds the edit
        busy.git("add", f"tickets/{first}.md")
        tree = busy.git("write-tree").strip()
        base = (_recorded_git_state(busy) or {})["base"]
        stand_in = busy.git("commit-tree", tree, "-p", base, "-m", "stand-in").strip()
        busy.git("replace", base, stand_in)
    else:
        busy.git("update-index", hide, f"tickets/{first}.md")
    assert {row["id"]: row["priority"] for row in listed(busy)}[first] == "urgent"
    agree(busy)
    # A name read back from the cache never reaches outside tickets/.
    with sqlite3.connect(cache_file(busy)) as connection:
        state = json.loads(connection.execute("SELECT value FROM meta WHERE key = 'index_git_state'").fetchone()[0])
        state["staged"] = ["../../outside.md", f"{second}.md"]
        connection.execute("UPDATE meta SET value = ? WHERE key = 'index_git_state'", (json.dumps(state),))
    (busy.path / "outside.md").write_text("not a ticket")
    (busy.path / ".git" / "index").touch()
    result = busy.run("list", "--all")
    assert "outside" not in result.output
    agree(busy)


def test_front_matter_is_stored_the_same_by_the_quick_encoder_and_the_general_one() -> None:
    """Rows keep front matter as JSON with dates marked; the quick path (no mappings) must
    write exactly what the general walk writes, and the general walk takes the rest."""
    from dataclasses import replace
    from datetime import date, datetime, timezone

    from gitdesk.cache import index
    from gitdesk.model import Ticket

    ticket = Ticket(id="GD-01M84ZF6NWF5EKB3A1", title="Drucker „2F“ jams", status="open",
                    created=datetime(2026, 11, 20, 9, 14, tzinfo=timezone.utc), requester="bob@example.com",
                    labels=("paper", "2f"))
    extras: list[dict[str, object]] = [
        {}, {"due": date(2026, 12, 1), "seen": [datetime(2026, 1, 2, tzinfo=timezone.utc), 3, None, 1.5, True]},
        {"approved_by": {"name": "dana", "date": date(2026, 11, 19)}}, {"pairs": [[1, {True: "x"}]]},
    ]
    for extra in extras:
        changed = replace(ticket, extra=extra)
        general = json.dumps(index._encode(changed.front_matter()), ensure_ascii=False, separators=(",", ":"))
        assert index._front(changed) == general
        if "pairs" not in extra:  # (a mapping's keys are stored as text)
            assert index.ticket_from_row(index._front(changed), "[]", None).extra == extra
