"""The training report: who keeps asking about what."""

from __future__ import annotations

from collections import defaultdict

from gitdesk.model import Ticket
from gitdesk.reports.base import Facts, Period, Report, Section, columns, count, number, text

TOP_REQUESTERS = 15
TOP_CATEGORIES = 8


def build(facts: Facts, period: Period) -> Report:
    settings = facts.config.reports
    window_days = settings.training_window.days or 1
    asked = [t for t in facts.tickets if t.created in period]

    def requester(ticket: Ticket) -> str:
        person = facts.config.person(ticket.requester)
        return person.handle if person else ticket.requester

    def team(ticket: Ticket) -> str:
        person = facts.config.person(ticket.requester)
        return (person.team if person and person.team else None) or "(outside)"

    per: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    per_team: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for ticket in asked:
        category = ticket.category or "(none)"
        per[requester(ticket)][category].append(ticket.id)
        per_team[team(ticket)][category].append(ticket.id)
    totals: dict[str, int] = defaultdict(int)
    for ticket in asked:
        totals[ticket.category or "(none)"] += 1
    categories = [name for name, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))][:TOP_CATEGORIES]
    busiest = sorted(per, key=lambda who: (-sum(len(ids) for ids in per[who].values()), who))[:TOP_REQUESTERS]
    by_category = [(f"category:{name}", name) for name in categories]
    matrix = Section("requesters", "Requesters by category", columns("requester", "team", "tickets", *by_category),
                     chart=2)
    for who in busiest:
        person = facts.config.person(who)
        matrix.rows.append([text(who), text((person.team if person else None) or "(outside)"),
                            count(i for ids in per[who].values() for i in ids),
                            *[count(per[who].get(category, [])) for category in categories]])
    teams = Section("teams", "Teams by category", columns("team", "tickets", *by_category), chart=1)
    for name in sorted(per_team):
        teams.rows.append([text(name), count(i for ids in per_team[name].values() for i in ids),
                           *[count(per_team[name].get(category, [])) for category in categories]])
    # Flags: within the last training window of the period, one requester and one category,
    # at least min_tickets and at least factor x their team's average per member.
    recent = [t for t in asked if t.created >= period.until - settings.training_window]
    members: dict[str, int] = defaultdict(int)
    for person in facts.config.people.values():
        members[person.team or "(outside)"] += 1
    by_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_team_category: dict[tuple[str, str], int] = defaultdict(int)
    for ticket in recent:
        by_pair[(requester(ticket), ticket.category or "(none)")].append(ticket.id)
        by_team_category[(team(ticket), ticket.category or "(none)")] += 1
    flags = Section("flags", "Flags", columns("requester", "category", "tickets", "team average"))
    findings = []
    for (who, category), ids in sorted(by_pair.items(), key=lambda item: (-len(item[1]), item[0])):
        ticket_team = next(team(t) for t in recent if t.id == ids[0])
        size = members.get(ticket_team, 0) if ticket_team != "(outside)" else 0
        average = by_team_category[(ticket_team, category)] / size if size else 0.0
        if len(ids) >= settings.training_min_tickets and (not size or len(ids) >= settings.training_factor * average):
            flags.rows.append([text(who), text(category), count(ids), number(average if size else None)])
            findings.append(f"{who}: {len(ids)} tickets in category {category} in {window_days} days"
                            + (f" (team avg {average:.1f})" if size else "") + f": {', '.join(sorted(ids))}")
    definitions = [
        "Tickets are counted by creation date, per requester (people from config by handle, others by email) "
        "and per requester's team.",
        f"A flag: one requester with at least {settings.training_min_tickets} tickets in one category within "
        f"the last {window_days} days of the period, and at least {settings.training_factor:g} times their team's "
        "average (that category's tickets from the team divided by the team's people in config). "
        "Thresholds: reports.training in .gitdesk/config.yml.",
    ]
    if not findings:
        findings.append("Nobody stands out: no requester crossed the thresholds.")
    return Report("training", "Training needs", period, [flags, matrix, teams], findings, definitions)
