"""The queues report: what is waiting where, for whom, and for how long."""

from __future__ import annotations

from datetime import datetime

from gitdesk import workflow
from gitdesk.model import Ticket
from gitdesk.reports.base import Cell, Facts, Findings, Period, Report, Section, columns, count, duration, events, text
from gitdesk.text import counted

# key, label, low and high in days, and how a cell reads as prose (base.Column.spoken)
BUCKETS = (("age_under_1d", "< 1 d", 0, 1, "aged under 1 day: {}"), ("age_1_3d", "1-3 d", 1, 3, "aged 1-3 days: {}"),
           ("age_3_7d", "3-7 d", 3, 7, "aged 3-7 days: {}"), ("age_over_7d", "> 7 d", 7, 10**6, "aged over 7 days: {}"))
DEFINITIONS = [
    "Open: not in a finished status at the end of the period (a stock, not a flow), in the queue and with the "
    "assignee the ticket had then (from its history).",
    "Pending: waiting on the requester. Unassigned: open with nobody assigned.",
    "Oldest waiting: the age of the oldest open ticket at the end of the period (calendar time).",
    "Age buckets count open tickets by time since creation at the end of the period (calendar days).",
    "Escalated in / out: escalation entries dated in the period, counted in the queue the ticket went to and the "
    "queue it left (an escalation to a person within the same queue counts as out only).",
    "Rejected tickets (spam, refused) and duplicates are left out and counted apart.",
]


def _row(label: str, members: list[Ticket], facts: Facts, end: datetime, escalated_in: list[str],
         escalated_out: list[str]) -> list[Cell]:
    ages = {t.id: (end - t.created).total_seconds() for t in members}
    buckets = [count(t.id for t in members if low * 86400 <= ages[t.id] < high * 86400)
               for _key, _label, low, high, _spoken in BUCKETS]
    oldest_id = max(ages, key=lambda key: (ages[key], key)) if ages else None
    oldest = duration(ages[oldest_id], [oldest_id]) if oldest_id else duration(None)
    unassigned = [t.id for t in members if not facts.clocks(t).value_at("assignee", end)]
    pending = [t.id for t in members if facts.status_at(t, end) == workflow.PENDING]
    return [text(label), count(t.id for t in members), count(unassigned), count(pending), oldest, *buckets,
            events(escalated_in), events(escalated_out)]  # escalations, not tickets: one may go twice


def build(facts: Facts, period: Period) -> Report:
    end = min(period.until, facts.now)
    figures = columns("open", "unassigned", "pending", "oldest waiting",
                      *[(key, label, spoken) for key, label, _, _, spoken in BUCKETS], "escalated in",
                      "escalated out")
    by_queue = Section("by_queue", "By queue", [*columns("queue"), *figures], chart=1)
    active = facts.active(period)  # unfinished at the end means unfinished at the start, or changed within
    # Once: inside the comprehension it was read per ticket.
    backlog = set(facts.backlog(end, active, through=period.through and end == period.until))
    open_tickets = [t for t in facts.tickets if t.id in backlog]
    queues: dict[str, list[Ticket]] = {}
    people: dict[str, list[Ticket]] = {}
    for ticket in open_tickets:
        # Where it waited then, by the name it had: a queue renamed since keeps its past rows (the
        # definitions name it as not in the config), never added to the tickets in no queue.
        known = facts.queue_at(ticket, end)
        queues.setdefault(known or facts.clocks(ticket).value_at("queue", end) or "(intake)", []).append(ticket)
        assignee = facts.clocks(ticket).value_at("assignee", end)
        if assignee:
            people.setdefault(facts.person(assignee), []).append(ticket)
    went_in: dict[str, list[str]] = {}
    went_out: dict[str, list[str]] = {}
    for ticket, escalation in facts.escalations(period, active):
        if escalation.target:
            went_in.setdefault(escalation.target, []).append(ticket.id)
        went_out.setdefault(escalation.source or "(intake)", []).append(ticket.id)
    # Scoped (--queue), the tickets are those in that queue now, each counted where it was then:
    # one moved in since (or a queue renamed) shows in its row then, as the findings count it.
    names = set(queues) | ({facts.scope.queue} if facts.scope.queue else
                           set(facts.config.queues) | set(went_in) | set(went_out))
    for name in sorted(names):
        by_queue.rows.append(_row(name, queues.get(name, []), facts, end, went_in.get(name, []),
                                  went_out.get(name, [])))
    # A person's tickets are assigned by definition, and escalations are counted per queue: no
    # column that could only ever read 0.
    by_person = Section("by_person", "By person", [*columns("person"), figures[0], *figures[2:-2]], chart=1)
    for name in sorted(people):
        row = _row(name, people[name], facts, end, [], [])
        by_person.rows.append([*row[:2], *row[3:-2]])
    said = Findings()
    for row in by_queue.rows:
        if row[2].value:
            said.say(f"{row[0].value}: {counted(int(row[2].value), 'open ticket')} with nobody assigned.", row[2].ids)
        if row[8].value:
            said.say(f"{row[0].value}: {row[8].value} open for more than a week.", row[8].ids)
        if row[-2].value:
            said.say(f"{row[0].value}: {counted(int(row[-2].value), 'escalation')} came in during the period.",
                     row[-2].ids)
    if not said.texts:
        said.say(f"{counted(len(open_tickets), 'ticket')} open at the end of the period; none waits unassigned or "
                 "longer than a week.", [t.id for t in open_tickets])
    noise = facts.left_out_sentence(period)
    if noise:
        said.say(noise, [i for ids in facts.left_out(period).values() for i in ids])
    return Report("queues", "Queues", period, [by_queue, by_person], said.texts, DEFINITIONS, evidence=said.ids)
