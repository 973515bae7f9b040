"""The workload report: arrivals, resolutions, backlog and effort over time,
per team and per person. The hiring case."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from gitdesk.calendar import Calendar
from gitdesk.model import TIME, Ticket
from gitdesk.reports.base import (
    Cell,
    Facts,
    Period,
    Report,
    Section,
    change,
    columns,
    count,
    duration,
    elapsed,
    rate,
    stat,
    text,
)
from gitdesk.reports.sla import breaches_resolved_in

DEFINITIONS = [
    "Opened: tickets created in the period. Resolved: moves into resolved (or straight to closed) in the period; "
    "a ticket resolved twice counts twice.",
    "Backlog at end: tickets not finished at the end of the period (a stock). Net flow: opened minus resolved "
    "(a flow); the two differ when tickets are rejected, reopened, or older than the period.",
    "Time spent: the sum of gitdesk time entries dated in the period.",
    "First response: the first public entry (reply or question) by someone other than the requester, "
    "for tickets created in the period; resolution time: created to resolved, time waiting on the requester "
    "excluded, for resolutions in the period. Median / 90th percentile (n).",
    "SLA breach rate: resolutions in the period that missed their priority's first-response or resolution "
    "target (see the sla report for the clock used).",
]


def build(facts: Facts, whole: Period, buckets: list[Period]) -> Report:
    by_period = Section("by_period", "By period",
                        columns("period", "opened", "resolved", "backlog at end", "net flow", "time spent",
                                ("first_response", "first response (med / p90)"),
                                ("resolution", "resolution (med / p90)"), ("sla_breaches", "SLA breaches")),
                        chart=1)
    trend: list[tuple[int, int, int]] = []
    # Read every ticket once; each period then filters these lists.
    all_resolved = [(t, at) for t in facts.tickets for at in facts.resolutions(t) if at in whole]
    all_spent = [(t.id, e.at, _seconds(e.detail)) for t in facts.tickets for e in t.entries
                 if e.kind == TIME and e.at in whole]
    for period in buckets:
        opened = [t.id for t in facts.tickets if t.created in period]
        resolved = [(t, at) for t, at in all_resolved if at in period]
        backlog = [t.id for t in facts.tickets if facts.unfinished_at(t, period.until)]
        spent: dict[str, int] = defaultdict(int)
        for ticket_id, at, seconds in all_spent:
            if at in period:
                spent[ticket_id] += seconds
        spent = {key: value for key, value in spent.items() if value}
        first = {t.id: float(facts.timings[t.id].first_response_seconds or 0) for t in facts.tickets
                 if t.created in period and facts.timings[t.id].first_response_seconds is not None}
        resolution = {f"{t.id}@{at.isoformat()}": _resolution_seconds(facts, t, at) for t, at in resolved}
        breaches = breaches_resolved_in(facts, period)
        by_period.rows.append([
            text(period.label), count(opened), Cell("count", len(resolved), tuple(sorted({t.id for t, _ in resolved}))),
            count(backlog), change(len(opened) - len(resolved)), duration(sum(spent.values()), spent),
            stat(first), stat(resolution),
            rate(breaches, {t.id for t, _ in resolved}),
        ])
        trend.append((len(opened), len(resolved), len(backlog)))
    by_person = Section("by_person", "By person",
                        columns("person", "team", "resolved", "time spent", "first responses",
                                ("resolution", "resolution (med / p90)")), chart=2)
    resolved_by: dict[str, list[str]] = defaultdict(list)
    resolution_by: dict[str, dict[str, float]] = defaultdict(dict)
    spent_by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_by: dict[str, list[str]] = defaultdict(list)
    for ticket in facts.tickets:
        for at in facts.resolutions(ticket):
            if at in whole:
                who = facts.resolver(ticket, at) or "(unknown)"
                resolved_by[who].append(ticket.id)
                resolution_by[who][f"{ticket.id}@{at.isoformat()}"] = _resolution_seconds(facts, ticket, at)
        for entry in ticket.entries:
            if entry.kind == TIME and entry.at in whole:
                spent_by[entry.author][ticket.id] += _seconds(entry.detail)
        first_at = facts.timings[ticket.id].first_response_at
        if first_at is not None and first_at in whole:
            author = next((e.author for e in ticket.entries if e.at == first_at), None)
            if author:
                first_by[author].append(ticket.id)
    people = sorted(set(resolved_by) | set(spent_by) | set(first_by))
    by_team: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    team_seconds: dict[str, int] = defaultdict(int)
    for who in people:
        team = facts.team_of(who) or "(no team)"
        if facts.scope.team and team != facts.scope.team:
            continue
        spent = spent_by.get(who, {})
        by_person.rows.append([text(who), text(team), count(resolved_by.get(who, [])),
                               duration(sum(spent.values()), spent), count(first_by.get(who, [])),
                               stat(resolution_by.get(who, {}))])
        by_team[team]["resolved"] += resolved_by.get(who, [])
        by_team[team]["first"] += first_by.get(who, [])
        by_team[team]["spent"] += list(spent)
        team_seconds[team] += sum(spent.values())
    team_section = Section("by_team", "By team", columns("team", "resolved", "time spent", "first responses"),
                           chart=1)
    for team in sorted(by_team):
        resolved_ids = by_team[team]["resolved"]
        team_section.rows.append([text(team), Cell("count", len(resolved_ids), tuple(sorted(set(resolved_ids)))),
                                  duration(team_seconds[team], by_team[team]["spent"]),
                                  count(by_team[team]["first"])])
    return Report("workload", "Workload", whole, [by_period, team_section, by_person], _findings(trend, buckets),
                  DEFINITIONS)


def _seconds(detail: str) -> int:
    from gitdesk.durations import parse_duration
    from gitdesk.errors import GitdeskError

    try:
        return int(parse_duration(detail).total_seconds())
    except GitdeskError:
        return 0


def _resolution_seconds(facts: Facts, ticket: Ticket, at: datetime) -> float:
    """Resolution time in calendar time, waiting on the requester excluded."""
    return elapsed(ticket.created, at, Calendar(), facts.pending_intervals(ticket))


def _findings(trend: list[tuple[int, int, int]], buckets: list[Period]) -> list[str]:
    if len(trend) < 2:
        if trend:
            opened, resolved, backlog = trend[0]
            return [f"{opened} tickets arrived and {resolved} were resolved; {backlog} were unfinished at the end."]
        return []
    first_backlog, last_backlog = trend[0][2], trend[-1][2]
    arrived = sum(opened for opened, _, _ in trend)
    resolved = sum(done for _, done, _ in trend)
    ahead = sum(1 for opened, done, _ in trend if opened > done)
    words = [f"Over {len(trend)} periods, {arrived} tickets arrived and {resolved} were resolved."]
    if last_backlog > first_backlog:
        words.append(f"The backlog is growing: from {first_backlog} at the end of {buckets[0].label} to "
                     f"{last_backlog} at the end of {buckets[-1].label}; arrivals outpaced resolutions in "
                     f"{ahead} of {len(trend)} periods.")
    elif last_backlog < first_backlog:
        words.append(f"The backlog is shrinking: from {first_backlog} to {last_backlog}.")
    else:
        words.append(f"The backlog held steady at {last_backlog}.")
    first_half = trend[: len(trend) // 2] or trend[:1]
    second_half = trend[len(trend) // 2:]
    early = sum(o for o, _, _ in first_half) / len(first_half)
    late = sum(o for o, _, _ in second_half) / len(second_half)
    if early and late > early * 1.2:
        words.append(f"Arrivals rose from {early:.1f} to {late:.1f} per period.")
    return words
