"""The training report: who keeps asking about what."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from gitdesk.errors import GitdeskError
from gitdesk.model import IMPORTED_ACTOR, Ticket
from gitdesk.reports.base import (
    NO_CATEGORY,
    Facts,
    Findings,
    Period,
    Report,
    Section,
    columns,
    count,
    figure,
    number,
    text,
)
from gitdesk.text import address_key

TOP_REQUESTERS = 15
TOP_CATEGORIES = 8
SMALL_TEAM = 3  # teams with fewer people are compared with the whole desk


KB_LINK = re.compile(r"\bkb/[\w.-]+(?:/[\w.-]+)*\.md\b")


def topics(facts: Facts, ticket: Ticket) -> set[str]:
    """What one ticket is about, beyond its category: its labels, its asset, and the
    knowledge-base articles it was answered with (a kb/ link in a public entry, or a related
    ticket that makes an article)."""
    found = set(ticket.labels)
    if ticket.asset:
        found.add(f"asset {ticket.asset}")
    try:
        written = facts.desk.load(ticket.id).ticket.entries  # the index keeps no entry text; flags are few
    except GitdeskError:
        written = ()
    for entry in written:
        if not entry.internal:
            found.update(f"kb article {link}" for link in KB_LINK.findall(entry.text))
    if ticket.related:
        from gitdesk.knowledge import kb

        for other in ticket.related:
            solved = facts.by_id.get(other)
            path = kb.article_path(facts.config, solved) if solved is not None else None
            if path:
                found.add(f"kb article {path}")
    return found


def _rank(name: str) -> int:
    """On a tie, the most telling topic first: an article, then a label, then an asset."""
    return 2 if name.startswith("kb article ") else 0 if name.startswith("asset ") else 1


def topic(facts: Facts, tickets: list[Ticket]) -> tuple[str, list[str]] | None:
    """What these tickets are most about: the commonest topic shared by two or more."""
    each = {t.id: topics(facts, t) for t in tickets}
    seen: Counter[str] = Counter(name for names in each.values() for name in names)
    if not seen:
        return None
    name, times = max(seen.items(), key=lambda item: (item[1], _rank(item[0]), item[0]))
    if times < 2:
        return None
    return name, [t.id for t in tickets if name in each[t.id]]


def windows(period: Period, window: timedelta) -> list[tuple[datetime, datetime]]:
    """The stretches the flags look at, newest first: the period cut into windows of ``window``
    from its end (the oldest may be shorter); the whole period when it is shorter."""
    found: list[tuple[datetime, datetime]] = []
    # Cut from the end of the period's last UTC day: a report until now gives the same windows
    # at 08:00 as at 17:00 (the figures, not the moment, decide what is flagged).
    end = period.until
    if period.through and (end.hour, end.minute, end.second, end.microsecond) != (0, 0, 0, 0):
        end = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while end > period.since:
        start = max(period.since, end - window)
        found.append((start, end))
        end = start
    return found or [(period.since, period.until)]


def build(facts: Facts, period: Period) -> Report:
    settings = facts.config.reports
    # The days the flags look at: the window, or the whole period when it is shorter.
    window_days = math.ceil(min(settings.training_window, period.until - period.since).total_seconds() / 86400) or 1
    asked = [t for t in facts.tickets if t.created in period]

    def requester(ticket: Ticket) -> str:
        person = facts.config.person(ticket.requester)
        return person.handle if person else address_key(ticket.requester)  # Kim@ and kim@ are one person

    def team(ticket: Ticket) -> str:
        person = facts.config.person(ticket.requester)
        return (person.team if person and person.team else None) or "(outside)"

    per: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    per_team: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for ticket in asked:
        category = ticket.category or NO_CATEGORY
        per[requester(ticket)][category].append(ticket.id)
        per_team[team(ticket)][category].append(ticket.id)
    totals: dict[str, int] = defaultdict(int)
    for ticket in asked:
        totals[ticket.category or NO_CATEGORY] += 1
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
    # Flags: within one training window, one requester and one category, at least min_tickets
    # and at least factor x their team's average per member (the desk's for small teams). The
    # period is cut into windows from its end, so a quarter's review sees October's as well.
    members: dict[str, int] = defaultdict(int)
    for person in facts.config.people.values():
        members[person.team or "(outside)"] += 1
    flags = Section("flags", "Flags", columns("requester", "category", "tickets", "average", ("basis", "compared with"),
                                              "topic", ("window", "in the days")))
    said = Findings()
    for start, end in windows(period, settings.training_window):
        last = end >= period.until
        recent = [t for t in asked if start <= t.created < end or (last and t.created == end)]
        # The whole desk's people: everyone in config and everyone else who asked in the window. An
        # IT desk lists its agents, not every colleague, so dividing by config alone made the average
        # of a category (whose tickets come from everyone) too high for anyone to stand out.
        desk_size = len({*facts.config.people, *(requester(ticket) for ticket in recent
                                                 if ticket.requester != IMPORTED_ACTOR)})
        by_pair: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
        by_team_category: dict[tuple[str, str], int] = defaultdict(int)
        by_category_total: dict[str, int] = defaultdict(int)
        for ticket in recent:
            category = ticket.category or NO_CATEGORY
            if ticket.requester != IMPORTED_ACTOR:  # an import's unknown requesters are nobody to train
                by_pair[(requester(ticket), category)].append(ticket)
            by_team_category[(team(ticket), category)] += 1
            by_category_total[category] += 1
        days = math.ceil((end - start).total_seconds() / 86400) or 1
        first_day = start.strftime("%Y-%m-%d")
        last_day = (end - timedelta(microseconds=1)).strftime("%Y-%m-%d")
        stretch = f"{first_day} to {last_day}"
        for (who, category), found in sorted(by_pair.items(), key=lambda item: (-len(item[1]), item[0])):
            ids = [t.id for t in found]
            ticket_team = team(found[0])
            size = members.get(ticket_team, 0) if ticket_team != "(outside)" else 0
            if size >= SMALL_TEAM:
                average, basis = by_team_category[(ticket_team, category)] / size, f"team {ticket_team}"
            else:
                average, basis = (by_category_total[category] / desk_size if desk_size else 0.0), "the whole desk"
            if len(ids) < settings.training_min_tickets or (average and len(ids) < settings.training_factor * average):
                continue
            about = topic(facts, found)
            flags.rows.append([text(who), text(category), count(ids), number(average), text(basis),
                               text(about[0] if about else None), text(stretch)])
            times = f", {len(ids) / average:.1f} times the average of {basis} ({figure(average)})" if average else ""
            words = f"; {len(about[1])} of them about {about[0]}" if about else ""
            said.say(f"{who} opened {len(ids)} {category} tickets in {days} days ({stretch}){times}{words}: "
                     f"{', '.join(sorted(ids))}", ids)
    if not said.texts:
        said.say("Nobody stands out: no requester crossed the thresholds.")
    noise = facts.left_out_sentence(period)
    if noise:
        said.say(noise, [i for ids in facts.left_out(period).values() for i in ids])
    definitions = [
        "Tickets are counted by creation date, per requester (people from config by handle, others by email) "
        "and per requester's team. Rejected tickets (spam, refused) and duplicates are left out. The tables show "
        f"the {TOP_CATEGORIES} categories with the most tickets in the period (so a row's columns need not add up "
        f"to its tickets) and the {TOP_REQUESTERS} requesters who asked most; the flags look at everyone and every "
        "category.",
        f"A flag: one requester with at least {settings.training_min_tickets} tickets in one category within "
        f"{window_days} days, and at least {settings.training_factor:g} times the average of those days: the "
        f"period is cut into windows of {window_days} days from its end (the oldest may be shorter), each judged "
        "on its own, so one requester may be flagged in more than one. The average: "
        "that category's tickets from their team divided by the team's people in config, or, for a team of fewer "
        f"than {SMALL_TEAM} people (and requesters outside config), the whole desk's divided by its people: everyone "
        "in config and everyone else who opened a ticket in those days. "
        "Thresholds: reports.training in .gitdesk/config.yml.",
        "Topic: the commonest thing the flagged tickets share (at least two): a knowledge-base article they were "
        "answered with (a kb/ link in a reply, or a related ticket that makes one), a label, or an asset.",
    ]
    return Report("training", "Training needs", period, [flags, matrix, teams], said.texts, definitions,
                  evidence=said.ids)
