"""A listing's records are kept ready in the cache (``list --format json`` at 100,000
tickets reads them instead of working out every ticket's clocks). Kept records
never lie: after every kind of change, and as time passes, the listing equals
records made fresh from the files and the history at that moment."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import datetime

from conftest import TEST_CONFIG, Desk

from gitdesk import records
from gitdesk.cache import history
from gitdesk.clock import parse_time
from gitdesk.desk import Desk as RealDesk

TARGETS = TEST_CONFIG + """\
priorities:
  urgent: {first_response: 1h, resolution: 4h}
  normal: {first_response: 4h, resolution: 2d, default: true}
"""


def listed(desk: Desk, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(desk.run("list", "--all", *args, "--format", "json").stdout)["tickets"]


def fresh(desk: Desk, now: str) -> list[dict]:  # type: ignore[type-arg]
    """What the listing must say at ``now``: every ticket read from its file, its clocks
    worked out from its history there and then."""
    real = RealDesk.open(desk.path, explicit=True)
    tickets, _ = real.all_tickets()
    tickets.sort(key=lambda ticket: ticket.id)
    return records.tickets(tickets, history.timings(real, tickets, parse_time(now)))


def kept(desk: Desk) -> dict[str, int]:
    with sqlite3.connect(desk.path / ".git" / "gitdesk" / "cache.sqlite") as connection:
        return dict(connection.execute("SELECT id, until FROM records").fetchall())


def agrees_at(desk: Desk, now: str) -> None:
    desk.at(now)
    assert listed(desk) == fresh(desk, now)
    assert listed(desk) == fresh(desk, now), "and again, read from what the first listing kept"


def test_kept_records_follow_replies_hand_edits_waits_deadlines_config_and_resets(desk: Desk) -> None:
    desk.configure(TARGETS, "Targets")
    desk.at("2026-11-02T09:00:00Z")
    printer = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    vpn = desk.new("VPN drops every hour", "-q", "it-helpdesk", "-p", "urgent")
    chair = desk.new("Broken chair", "-q", "facilities")
    agrees_at(desk, "2026-11-02T09:00:00Z")
    assert set(kept(desk)) == {printer, vpn, chair}
    before_reply = desk.head()

    desk.at("2026-11-02T09:30:00Z")
    desk.run("reply", printer, "-m", "On my way.", "--as", "alice")
    agrees_at(desk, "2026-11-02T09:31:00Z")

    # The urgent ticket's first response falls due at 10:00: past it, its record is made again.
    assert kept(desk)[vpn] == int(datetime.fromisoformat("2026-11-02T10:00:00+00:00").timestamp())
    agrees_at(desk, "2026-11-02T10:30:00Z")

    # A hand edit not yet committed shows at once, its record made again.
    path = desk.file(chair)
    path.write_text(path.read_text().replace("priority: normal", "priority: urgent"))
    agrees_at(desk, "2026-11-02T10:31:00Z")
    desk.git("checkout", "--", str(path))

    # Waiting on the requester grows as time passes: the record is kept with the wait as it was,
    # and the wait since is added when it is read (5,000 waiting tickets took 2 s to work out).
    desk.at("2026-11-02T11:00:00Z")
    desk.run("ask", vpn, "-m", "Which office are you in?", "--as", "bob")
    agrees_at(desk, "2026-11-02T12:00:00Z")
    assert vpn in kept(desk)
    agrees_at(desk, "2026-11-03T12:00:00Z")
    agrees_at(desk, "2026-11-07T09:17:33Z")
    assert next(row for row in listed(desk) if row["id"] == vpn)["timings"]["pending_seconds"] > 3600
    desk.run("reply", vpn, "-m", "Office 3.", "--as", "carol")  # answered: the wait stops
    agrees_at(desk, "2026-11-07T10:00:00Z")
    agrees_at(desk, "2026-11-08T10:00:00Z")

    # New targets in the config: every record is made again.
    desk.configure(TARGETS.replace("first_response: 4h", "first_response: 30m"), "Tighter targets")
    agrees_at(desk, "2026-11-03T12:01:00Z")

    # History rewritten under the cache: back to before the reply.
    desk.git("reset", "-q", "--hard", before_reply)
    agrees_at(desk, "2026-11-03T12:02:00Z")
    desk.run("resolve", printer, "--note", "Cleared the jam.", "--as", "alice")
    agrees_at(desk, "2026-11-03T12:03:00Z")

    # The resolution uncommitted, then committed as it is: the file never changes, its history does.
    desk.git("reset", "-q", "--soft", "HEAD~1")
    hour_ago = time.time() - 3600  # not just written: the index trusts the file's stat from now on
    os.utime(desk.file(printer), (hour_ago, hour_ago))
    agrees_at(desk, "2026-11-03T12:04:00Z")
    desk.monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-03T13:00:00Z")
    desk.monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-11-03T13:00:00Z")
    desk.git("commit", "-qm", "Resolve the printer by hand")
    agrees_at(desk, "2026-11-03T13:05:00Z")
    assert next(row for row in listed(desk) if row["id"] == printer)["timings"]["resolved_at"] == \
        "2026-11-03T13:00:00Z"


def test_filters_and_sorting_read_the_same_records(desk: Desk) -> None:
    desk.configure(TARGETS, "Targets")
    desk.at("2026-11-02T09:00:00Z")
    first = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.new("VPN drops every hour", "-q", "facilities", "-l", "vpn")
    desk.run("assign", first, "alice")
    every = {row["id"]: row for row in listed(desk)}
    for args in (("--queue", "facilities"), ("--assignee", "alice"), ("--unassigned",), ("--label", "vpn"),
                 ("--sort", "-created"), ("--category", "email")):
        rows = listed(desk, *args)
        assert all(row == every[row["id"]] for row in rows), args
    assert [row["id"] for row in listed(desk, "--assignee", "alice")] == [first]
    assert [row["id"] for row in listed(desk, "--unassigned")] != [first]


def test_a_kept_wait_grows_on_the_business_clock_of_the_ticket_s_queue(desk: Desk) -> None:
    """The wait added when a waiting ticket's record is read is counted as the full working out
    counts it: working hours only, in the desk's zone, across a weekend and a queue's own hours."""
    desk.configure(TARGETS + "sla:\n  clock: business\n  timezone: Europe/Berlin\n  business_hours: '09:00-17:00'\n",
                   "Office hours")
    desk.at("2026-11-05T15:00:00Z")  # a Thursday, 16:00 in Berlin
    waiting = desk.new("Monitor flickers", "-q", "facilities")
    desk.run("ask", waiting, "-m", "Which monitor?", "--as", "fred")
    for moment in ("2026-11-05T15:30:00Z", "2026-11-06T07:00:00Z", "2026-11-06T12:00:01Z", "2026-11-08T20:00:00Z",
                   "2026-11-09T08:45:30Z"):
        agrees_at(desk, moment)
    assert waiting in kept(desk)
