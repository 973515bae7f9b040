"""The assets report: machines and systems that keep failing, with the evidence."""

from __future__ import annotations

import itertools
from collections import defaultdict

from gitdesk.durations import format_duration
from gitdesk.model import Ticket
from gitdesk.reports.base import Cell, Facts, Findings, Period, Report, Section, columns, count, day, duration, text

CANDIDATE_TICKETS = 3


def build(facts: Facts, period: Period) -> Report:
    repeat_within = facts.config.reports.repeat_within
    by_asset: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in facts.tickets:
        if ticket.asset and ticket.created in period:
            by_asset[ticket.asset.casefold()].append(ticket)
    facts.read_history([t.id for tickets in by_asset.values() for t in tickets])
    section = Section("by_asset", "By asset", columns("asset", "tickets", "reopened", "repeats", "time spent",
                                                      "last seen"), chart=1)
    ranked = sorted(by_asset.items(), key=lambda item: (-len(item[1]), item[0]))
    candidates = []
    for _key, tickets in ranked:
        tickets.sort(key=lambda t: t.created)
        name = tickets[-1].asset or ""
        reopened = [t.id for t in tickets if any(at in period for at in facts.reopenings(t))]
        repeats = [later.id for earlier, later in itertools.pairwise(tickets)
                   if later.created - earlier.created <= repeat_within]
        spent = {t.id: sum(e.seconds for e in facts.entries_of_time(t)) for t in tickets}
        spent = {key: value for key, value in spent.items() if value}
        seconds = sum(spent.values())
        section.rows.append([text(name), count(t.id for t in tickets), count(reopened), count(repeats),
                             duration(seconds, spent), day(tickets[-1].created)])
        if len(tickets) >= CANDIDATE_TICKETS:
            candidates.append((name, tickets, reopened, repeats, seconds))
    top = Section("candidates", "Candidates for replacement or upgrade", columns("asset", "evidence"))
    said = Findings()
    for name, tickets, reopened, repeats, seconds in candidates[:10]:
        ids = tuple(t.id for t in tickets)
        evidence = (f"{len(tickets)} tickets, {len(repeats)} within {repeat_within.days} days of the one before, "
                    f"{len(reopened)} reopened, {format_duration(seconds)} spent")
        top.rows.append([text(name), Cell("text", evidence, ids)])
        said.say(f"{name}: {evidence}: {', '.join(ids)}", ids)
    if not said.texts:
        said.say(f"No asset had {CANDIDATE_TICKETS} or more tickets in the period.")
    noise = facts.left_out_sentence(period)
    if noise:
        said.say(noise, [i for ids in facts.left_out(period).values() for i in ids])
    definitions = [
        "Tickets are counted by creation date and grouped by their asset field (case ignored). Rejected tickets "
        "(spam, refused) and duplicates are left out: they are not failures of the asset.",
        f"Repeats: tickets created within {repeat_within.days} days of the previous ticket on the same asset "
        "(reports.assets.repeat_within). Reopened: tickets reopened during the period.",
        "Time spent: all time entries on those tickets. A candidate has "
        f"{CANDIDATE_TICKETS} or more tickets in the period.",
    ]
    return Report("assets", "Assets", period, [top, section], said.texts, definitions, evidence=said.ids)
