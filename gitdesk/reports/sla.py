"""The SLA report: first response and resolution against each priority's targets."""

from __future__ import annotations

from collections import defaultdict

from gitdesk.model import Ticket
from gitdesk.reports import base
from gitdesk.timings import FIRST_RESPONSE, Measure

KINDS = {FIRST_RESPONSE: "first response", "resolution": "resolution"}
OUTCOMES = {"response": "answered", "resolved": "resolved", "closed": "closed", "running": "still open",
            "paused": "still open (pending)"}


def definitions(facts: base.Facts) -> list[str]:
    return [
        f"The SLA clock is {facts.clock.describe()}; a queue with its own hours (sla.queues) is measured by them.",
        "Every period is measured with the targets, business hours, holidays and time zone the config holds "
        "today: changing them re-measures past periods too (save a period's report when it closes to quote it "
        "later). A priority or queue the config no longer knows is measured by the default priority and the "
        "desk's hours.",
        "Targets come from the priorities in .gitdesk/config.yml: the priority the ticket had until the clock "
        "stopped (a change in the very second of the stop, as a script answers and raises it, does not count; "
        "at the end of the period, while it runs), else the default one; a target the clock passed "
        "while the ticket had an earlier priority, or in an earlier queue with its own hours, stays missed when "
        "the priority is lowered or the ticket moved later.",
        "First response: the first public reply or question by one of the desk's agents (not the requester, a "
        "colleague in the Cc or a stranger). Its clock runs "
        "from creation; waiting on the requester (pending) pauses it; resolving, rejecting or closing the ticket "
        "stops it; reopening does not restart it. No first-response target is judged on an imported ticket: its "
        "history may lack the answer.",
        "Resolution: from creation, or from a reopening, to the next move into resolved or closed, pending time "
        "excluded; rejecting or closing stops it too. Each resolution in the period is a sample.",
        "A target is decided once: met when its clock stops in time, missed when it passes. A breach belongs to "
        "the period in which its target passed, whether the ticket was answered later or is still open; the "
        "workload report's SLA breaches are these.",
        "Rejected tickets (spam, refused) and duplicates are left out and counted apart.",
    ]


def build(facts: base.Facts, period: base.Period) -> base.Report:
    desk = facts.clock
    day = desk.day_seconds
    summary = base.Section("by_priority", "By priority",
                           base.columns("priority", "first response target",
                                        ("first_response", "first response (med / p90)"),
                                        "first response breaches", "resolution target",
                                        ("resolution", "resolution (med / p90)"), "resolution breaches"), chart=3)
    breaches = base.Section("breaches", "Breaches",
                            base.columns("ticket", "priority", "kind", "target", ("took", "on the clock"),
                                         ("due", "target passed"), ("status", "outcome")))
    active = facts.active(period)  # the tickets anything in the period can be about
    first: dict[str | None, dict[str, float]] = defaultdict(dict)
    for ticket, measure in facts.first_responses(period, active):
        first[measure.priority][ticket.id] = measure.seconds
    resolution: dict[str | None, dict[str, float]] = defaultdict(dict)
    for ticket, done in facts.resolved(period, active):
        resolution[done.measure.priority].update(base.resolution_times([(ticket, done)]))
    missed: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    listed: list[tuple[Ticket, Measure]] = []
    decided = facts.decided(period, active)
    for ticket, measure in decided:
        if measure.breached:
            missed[(measure.priority, measure.kind)].append(ticket.id)
            listed.append((ticket, measure))
    for name, priority in facts.config.priorities.items():
        summary.rows.append([
            base.text(name),
            base.duration(desk.seconds(priority.first_response) if priority.first_response else None, day=day),
            base.stat(first[name], day=day), base.count(missed[(name, FIRST_RESPONSE)]),
            base.duration(desk.seconds(priority.resolution) if priority.resolution else None, day=day),
            base.stat(resolution[name], day=day), base.events(missed[(name, "resolution")]),
        ])
    listed.sort(key=lambda item: (item[1].due or period.since, item[0].id))
    for ticket, measure in listed:
        breaches.rows.append([base.ticket(ticket.id), base.text(measure.priority), base.text(KINDS[measure.kind]),
                              base.duration(measure.target, day=measure.day),
                              base.duration(measure.seconds, day=measure.day),
                              base.moment(measure.due),
                              base.text(_outcome(measure))])
    said = base.Findings()
    still = [t.id for t, m in listed if m.stopped is None]
    if listed:
        kinds = defaultdict(list)
        for ticket, measure in listed:
            kinds[measure.kind].append(ticket.id)
        parts = [f"{len(ids)} {KINDS[kind]}" for kind, ids in sorted(kinds.items())]
        lost = ("The one target decided in the period was missed" if len(decided) == 1 else
                f"{len(listed)} of {len(decided)} targets decided in the period "
                f"{'was' if len(listed) == 1 else 'were'} missed")
        said.say(f"{lost} ({', '.join(parts)}).", [t.id for t, _ in listed])
        if still:
            tickets = len(set(still))
            on = ("It is on a ticket" if len(listed) == 1 else
                  f"{len(still)} of the missed targets {'is' if len(still) == 1 else 'are'} on "
                  f"{'a ticket' if tickets == 1 else f'{tickets} tickets'}")
            said.say(f"{on} still unfinished at the end of the period.", still)
        finished = [t.id for t, m in listed if m.stopped is not None]
        if finished:
            late = "Its ticket was" if len(listed) == 1 else \
                f"{len(finished)} of the missed targets {'is on a ticket' if len(finished) == 1 else 'are on tickets'}"
            said.say(f"{late} answered or resolved after the target had passed.", finished)
    elif len(decided) == 1:
        said.say("The one target decided in the period was met.", [t.id for t, _ in decided])
    elif decided:
        said.say(f"Every one of the {len(decided)} targets decided in the period was met.", [t.id for t, _ in decided])
    else:
        said.say("No target fell due in the period.")
    noise = facts.left_out_sentence(period)
    if noise:
        said.say(noise, [i for ids in facts.left_out(period).values() for i in ids])
    return base.Report("sla", "Service levels", period, [summary, breaches], said.texts, definitions(facts),
                       evidence=said.ids)


def _outcome(measure: Measure) -> str:
    if measure.stopped is None:
        return "still waiting" if measure.kind == FIRST_RESPONSE and measure.stop != "paused" else \
            OUTCOMES.get(measure.stop, measure.stop)
    return OUTCOMES.get(measure.stop, measure.stop) + " late"
