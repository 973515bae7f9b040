"""The queues report: what is waiting where, for whom, and for how long."""

from __future__ import annotations

from collections.abc import Callable

from gitdesk import workflow
from gitdesk.model import ESCALATION, Ticket
from gitdesk.reports.base import Cell, Facts, Period, Report, Section, columns, count, duration, text
from gitdesk.text import counted

BUCKETS = (("age_under_1d", "< 1 d", 0, 1), ("age_1_3d", "1-3 d", 1, 3), ("age_3_7d", "3-7 d", 3, 7),
           ("age_over_7d", "> 7 d", 7, 10**6))
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
               for _key, _label, low, high in BUCKETS]
    oldest_id = max(ages, key=lambda key: ages[key]) if ages else None
    oldest = duration(ages[oldest_id], [oldest_id]) if oldest_id else duration(None)
    escalated = [t.id for t in members
                 if any(e.kind == ESCALATION and e.at in period for e in t.entries)]
    return [text(label), count(t.id for t in open_now), count(t.id for t in open_now if not t.assignee),
            count(t.id for t in open_now if facts.status_at(t, end) == workflow.PENDING), oldest, *buckets,
            count(escalated)]


def build(facts: Facts, period: Period) -> Report:
    figures = columns("open", "unassigned", "pending", "oldest waiting",
                      *[(key, label) for key, label, _, _ in BUCKETS], "escalated")
    by_queue = Section("by_queue", "By queue", [*columns("queue"), *figures], chart=1)

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
    by_person = Section("by_person", "By person", [*columns("person"), *figures], chart=1)
    for name in sorted(people):
        if name == "(none)":
            continue
        by_person.rows.append(_row(name, people[name], facts, period))
    findings = []
    for row in by_queue.rows:
        if row[2].value:
            findings.append(f"{row[0].value}: {counted(int(row[2].value), 'open ticket')} "
                            f"with nobody assigned.")
        if row[-2].value:
            findings.append(f"{row[0].value}: {row[-2].value} open for more than a week.")
    return Report("queues", "Queues", period, [by_queue, by_person], findings, DEFINITIONS)
