"""The assets report: machines and systems that keep failing, with the evidence."""

from __future__ import annotations

import itertools
from collections import defaultdict

from gitdesk.durations import HOURS_ONLY, format_duration
from gitdesk.model import Ticket
from gitdesk.reports.base import Cell, Facts, Findings, Period, Report, Section, columns, count, day, duration, text
from gitdesk.text import asset_key

CANDIDATE_TICKETS = 3


def build(facts: Facts, period: Period) -> Report:
    repeat_within = facts.config.reports.repeat_within
    by_asset: dict[str, list[Ticket]] = defaultdict(list)
    before: dict[str, Ticket] = {}  # each asset's last ticket before the period: a repeat may follow it
    for ticket in facts.tickets:
        if not ticket.asset:
            continue
        key = asset_key(ticket.asset)
        if ticket.created in period:
            by_asset[key].append(ticket)
        elif ticket.created < period.since and (key not in before or before[key].created < ticket.created):
            before[key] = ticket
    facts.read_history([t.id for tickets in by_asset.values() for t in tickets])
    section = Section("by_asset", "By asset", columns("asset", "tickets", "reopened", "repeats", "time spent",
                                                      "last seen"), chart=1)
    ranked = sorted(by_asset.items(), key=lambda item: (-len(item[1]), item[0]))
    candidates = []
    for key, tickets in ranked:
        tickets.sort(key=lambda t: t.created)
        name = tickets[-1].asset or ""
        reopened = [t.id for t in tickets if any(at in period for at in facts.reopenings(t))]
        earlier_ones = [before[key], *tickets] if key in before else tickets
        repeats = [later.id for earlier, later in itertools.pairwise(earlier_ones)
                   if later.created - earlier.created <= repeat_within]
        spent: dict[str, int] = defaultdict(int)
        for ticket, entry in facts.time_logged(period, tickets):  # as workload counts it: logged in the period
            spent[ticket.id] += entry.seconds
        spent = {ticket_id: value for ticket_id, value in spent.items() if value}
        seconds = sum(spent.values())
        section.rows.append([text(name), count(t.id for t in tickets), count(reopened), count(repeats),
                             duration(seconds, spent, day=HOURS_ONLY), day(tickets[-1].created)])
        if len(tickets) >= CANDIDATE_TICKETS:
            candidates.append((name, tickets, reopened, repeats, seconds))
    top = Section("candidates", "Candidates for replacement or upgrade", columns("asset", "evidence"))
    said = Findings()
    for name, tickets, reopened, repeats, seconds in candidates[:10]:
        ids = tuple(t.id for t in tickets)
        evidence = (f"{len(tickets)} tickets, {len(repeats)} within {repeat_within.days} days of the one before, "
                    f"{len(reopened)} reopened, {format_duration(seconds, day=HOURS_ONLY)} spent")
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
        f"Repeats: tickets created within {repeat_within.days} days of the previous ticket on the same asset, "
        "that one perhaps before the period (reports.assets.repeat_within). Reopened: tickets reopened during "
        "the period.",
        "Time spent: time logged during the period (as the workload report counts it) on the tickets counted "
        "here, those created in the period; time on an asset's older tickets is not in it. A candidate has "
        f"{CANDIDATE_TICKETS} or more tickets in the period.",
    ]
    return Report("assets", "Assets", period, [top, section], said.texts, definitions, evidence=said.ids)
