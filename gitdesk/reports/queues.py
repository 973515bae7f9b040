"""The queues report: what is waiting where, for whom, and for how long."""

from __future__ import annotations

from collections.abc import Callable

from gitdesk import workflow
from gitdesk.model import ESCALATION, Ticket
from gitdesk.reports.base import Cell, Facts, Period, Report, Section, count, duration_text, plain
from gitdesk.text import counted

BUCKETS = (("< 1 d", 0, 1), ("1-3 d", 1, 3), ("3-7 d", 3, 7), ("> 7 d", 7, 10**6))
DEFINITIONS = [
    "Open: not in a finished status at the end of the period (a stock, not a flow); queue and assignee "
    "are as the tickets say now.",
    "Pending: waiting on the requester. Unassigned: open with nobody assigned.",
    "Oldest waiting: the age of the oldest open ticket at the end of the period.",
    "Age buckets count open tickets by time since creation at the end of the period.",
    "Escalated: tickets with an escalation entry dated inside the period.",
]


def _row(label: str, members: list[Ticket], facts: Facts, period: Period) -> list[Cell]:
    end = period.until
    open_now = [t for t in members if facts.unfinished_at(t, end)]
    ages = {t.id: (end - t.created).total_seconds() for t in open_now}
    buckets = [count(t.id for t in open_now if low * 86400 <= ages[t.id] < high * 86400)
               for _name, low, high in BUCKETS]
    oldest_id = max(ages, key=lambda key: ages[key]) if ages else None
    oldest = Cell(ages[oldest_id] if oldest_id else None,
                  duration_text(ages[oldest_id]) if oldest_id else "-", (oldest_id,) if oldest_id else ())
    escalated = [t.id for t in members
                 if any(e.kind == ESCALATION and e.at in period for e in t.entries)]
    return [plain(label), count(t.id for t in open_now), count(t.id for t in open_now if not t.assignee),
            count(t.id for t in open_now if facts.status_at(t, end) == workflow.PENDING), oldest, *buckets,
            count(escalated)]


def build(facts: Facts, period: Period) -> Report:
    columns = ["", "open", "unassigned", "pending", "oldest waiting", *[name for name, _, _ in BUCKETS], "escalated"]
    by_queue = Section("By queue", ["queue", *columns[1:]], chart=1)

    def group(key: Callable[[Ticket], str | None]) -> dict[str, list[Ticket]]:
        found: dict[str, list[Ticket]] = {}
        for ticket in facts.tickets:
            found.setdefault(key(ticket) or "(none)", []).append(ticket)
        return found

    queues = group(lambda t: t.queue)
    for name in sorted(set(facts.config.queues) | set(queues)):
        if facts.scope.queue and name != facts.scope.queue:
            continue
        by_queue.rows.append(_row(name, queues.get(name, []), facts, period))
    people = group(lambda t: t.assignee)
    by_person = Section("By person", ["person", *columns[1:]], chart=1)
    for name in sorted(people):
        if name == "(none)":
            continue
        by_person.rows.append(_row(name, people[name], facts, period))
    findings = []
    for row in by_queue.rows:
        if row[2].value:
            findings.append(f"{row[0].text}: {counted(int(row[2].value), 'open ticket')} "
                            f"with nobody assigned.")
        if row[-2].value:
            findings.append(f"{row[0].text}: {row[-2].value} open for more than a week.")
    return Report("queues", "Queues", period, [by_queue, by_person], findings, DEFINITIONS)
