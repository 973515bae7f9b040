"""The SLA report: first response and resolution against each priority's targets."""

from __future__ import annotations

from datetime import datetime

from gitdesk.calendar import Calendar
from gitdesk.model import Ticket
from gitdesk.reports import base

DEFINITIONS = [
    "Targets come from the priorities in .gitdesk/config.yml; a ticket without a priority uses the default one.",
    "First response: the first public entry (reply or question) by someone other than the requester. "
    "It counts for tickets created in the period; a ticket still without one is a breach once the target passed.",
    "Resolution: created to resolved, time waiting on the requester (pending) excluded. It counts for "
    "resolutions in the period; an unfinished ticket already past its target is listed as a breach too.",
]


def _clock(facts: base.Facts, ticket: Ticket) -> Calendar:
    return Calendar.for_queue(facts.config, ticket.queue)


def _priority(facts: base.Facts, ticket: Ticket) -> str | None:
    return ticket.priority if ticket.priority in facts.config.priorities else facts.config.default_priority


def _first_response(facts: base.Facts, ticket: Ticket, until: datetime) -> tuple[float, bool]:
    """(seconds on the SLA clock, whether it is final)."""
    answered = facts.timings[ticket.id].first_response_at
    end = answered if answered is not None and answered <= until else until
    return base.elapsed(ticket.created, end, _clock(facts, ticket)), answered is not None and answered <= until


def _resolution(facts: base.Facts, ticket: Ticket, end: datetime) -> float:
    return base.elapsed(ticket.created, end, _clock(facts, ticket), facts.pending_intervals(ticket))


def breaches_resolved_in(facts: base.Facts, period: base.Period) -> set[str]:
    """Tickets resolved in ``period`` that missed a first-response or resolution target."""
    missed = set()
    for ticket in facts.tickets:
        priority = facts.config.priorities.get(_priority(facts, ticket) or "")
        if priority is None:
            continue
        for at in facts.resolutions(ticket):
            if at not in period:
                continue
            limit = _clock(facts, ticket).seconds(priority.resolution) if priority.resolution else None
            if limit is not None and _resolution(facts, ticket, at) > limit:
                missed.add(ticket.id)
            first, _ = _first_response(facts, ticket, at)
            if priority.first_response and first > _clock(facts, ticket).seconds(priority.first_response):
                missed.add(ticket.id)
    return missed


def build(facts: base.Facts, period: base.Period) -> base.Report:
    clock = "business hours" if facts.config.sla.clock == "business" else "calendar time"
    summary = base.Section("by_priority", "By priority",
                           base.columns("priority", "first response target",
                                        ("first_response", "first response (med / p90)"),
                                        "first response breaches", "resolution target",
                                        ("resolution", "resolution (med / p90)"), "resolution breaches"), chart=3)
    breaches = base.Section("breaches", "Breaches",
                            base.columns("ticket", "priority", "target", "kind", "took", "status"))
    listed: list[tuple[str, str, str, float, float, str]] = []
    desk = Calendar.for_queue(facts.config, None)
    for name, priority in facts.config.priorities.items():
        members = [t for t in facts.tickets if _priority(facts, t) == name]
        first: dict[str, float] = {}
        first_missed: list[str] = []
        resolution: dict[str, float] = {}
        resolution_missed: list[str] = []
        for ticket in members:
            if ticket.created in period:
                seconds, final = _first_response(facts, ticket, period.until)
                target = _clock(facts, ticket).seconds(priority.first_response) if priority.first_response else None
                if final:
                    first[ticket.id] = seconds
                if target is not None and seconds > target:
                    first_missed.append(ticket.id)
                    listed.append((ticket.id, name, "first response", target, seconds,
                                   "answered" if final else "still waiting"))
            target = _clock(facts, ticket).seconds(priority.resolution) if priority.resolution else None
            for at in facts.resolutions(ticket):
                if at in period:
                    seconds = _resolution(facts, ticket, at)
                    resolution[f"{ticket.id}@{at.isoformat()}"] = seconds
                    if target is not None and seconds > target:
                        resolution_missed.append(ticket.id)
                        listed.append((ticket.id, name, "resolution", target, seconds, "resolved"))
            if target is not None and facts.unfinished_at(ticket, period.until):
                seconds = _resolution(facts, ticket, period.until)
                if seconds > target:
                    resolution_missed.append(ticket.id)
                    listed.append((ticket.id, name, "resolution", target, seconds,
                                   f"still {facts.status_at(ticket, period.until)}"))
        summary.rows.append([
            base.text(name),
            base.duration(desk.seconds(priority.first_response) if priority.first_response else None,
                          day=desk.day_seconds),
            base.stat(first, day=desk.day_seconds), base.count(first_missed),
            base.duration(desk.seconds(priority.resolution) if priority.resolution else None,
                          day=desk.day_seconds),
            base.stat(resolution, day=desk.day_seconds), base.count(resolution_missed),
        ])
    for ticket_id, priority_name, kind, target, seconds, state in sorted(listed, key=lambda item: item[0]):
        breaches.rows.append([base.ticket(ticket_id), base.text(priority_name),
                              base.duration(target, day=desk.day_seconds),
                              base.text(kind), base.duration(seconds, day=desk.day_seconds), base.text(state)])
    findings = []
    total = sum(row[3].value + row[6].value for row in summary.rows)
    still = sum(1 for item in listed if item[5].startswith("still"))
    if total:
        findings.append(f"{total} target{'s were' if total != 1 else ' was'} missed in the period; "
                        f"{still} of them on tickets still open.")
    else:
        findings.append("Every target was met in the period.")
    definitions = [f"The SLA clock is {clock}: {Calendar.for_queue(facts.config, None).describe()}.", *DEFINITIONS]
    return base.Report("sla", "Service levels", period, [summary, breaches], findings, definitions)
