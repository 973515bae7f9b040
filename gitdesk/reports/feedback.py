"""The feedback report: satisfaction per team and week, for the weekly review.

Feedback is collated per team (the team of the ticket's assignee); agents are
named only if config says so (reports.feedback.name_agents).
"""

from __future__ import annotations

from collections import defaultdict

from gitdesk.feedback import Feedback, load_all
from gitdesk.model import MAIL_SYSTEM, RULES_AUTHOR, Ticket
from gitdesk.reports.base import (
    NO_CATEGORY,
    WEEK_OF,
    Facts,
    Findings,
    Period,
    Report,
    Section,
    columns,
    events,
    figure,
    number,
    text,
    ticket,
)
from gitdesk.text import counted
from gitdesk.timings import RESOLVED_STATUSES


def scores(facts: Facts, everything: list[Feedback], period: Period
           ) -> tuple[list[Feedback], dict[str, list[str]], set[str]]:
    """The scores that count: on a ticket in the report's scope (its queue now; the team that held
    it when the score was given) that was resolved or closed when the score was given, the
    latest one per resolution (its requester's; an earlier answer to the same resolution is
    replaced, and stays in history; a ticket reopened and solved again is rated again). An
    answer given after the report's end is not known yet, so a past period reads the same
    later. Also what was left out of ``period``, by reason, and the tickets whose scores the
    scope holds (the report's source)."""
    latest: dict[tuple[str, int], Feedback] = {}
    rated: set[str] = set()
    left: dict[str, list[str]] = defaultdict(list)
    facts.read_history(sorted({item.ticket for item in everything if item.at <= facts.now}))
    for item in sorted(everything, key=lambda f: (f.at, f.path)):
        if item.at > facts.now:
            continue
        found = facts.by_id.get(item.ticket)
        if found is None:
            if item.at in period:
                left["on a ticket the desk does not have"].append(item.ticket)
            continue
        if not _in_scope(facts, found, item):
            continue
        rated.add(found.id)
        reason = facts.noise(found)
        # History cannot order a score and a reopening made in the same second: there, and only
        # there, the status written with the score says which came first.
        solved = facts.status_at(found, item.at) in RESOLVED_STATUSES or (
            item.status in RESOLVED_STATUSES and item.at in facts.reopenings(found))
        if reason is None and not solved:
            reason = "not resolved or closed when given"
        elif reason is not None:
            reason = "on a rejected ticket" if reason == "rejected" else "on a duplicate"
        if reason is not None:
            if item.at in period:
                left[reason].append(item.ticket)
            continue
        spell = (item.ticket, sum(1 for resolution in facts.resolutions(found) if resolution.at <= item.at))
        earlier = latest.get(spell)
        if earlier is not None and earlier.at in period:
            left["replaced by a later answer"].append(item.ticket)
        latest[spell] = item
    return list(latest.values()), left, rated


def held_by(facts: Facts, item: Feedback) -> str | None:
    """Who held the ticket when the score was given: a reopening handed to another team later
    must not move a past week's score (its digest said otherwise). A ticket resolved with
    nobody assigned (solved without taking it, or after an escalation cleared the assignee)
    is the resolver's: its score is the desk's like any other, not nobody's."""
    ticket = facts.by_id[item.ticket]
    held = facts.clocks(ticket).value_at("assignee", item.at)
    if held:
        return held
    solved = [resolution for resolution in facts.resolutions(ticket) if resolution.at <= item.at]
    return solved[-1].by if solved else None


def _in_scope(facts: Facts, ticket: Ticket, item: Feedback) -> bool:
    scope = facts.scope
    if scope.queue is not None and ticket.queue != scope.queue:
        return False
    return scope.team is None or facts.team_of(held_by(facts, item)) == scope.team


def build(facts: Facts, whole: Period, buckets: list[Period]) -> Report:
    everything, unreadable = load_all(facts.desk)
    counted_scores, left, rated = scores(facts, everything, whole)
    mine = [f for f in counted_scores if f.at in whole]
    tickets = facts.by_id
    name_agents = facts.config.reports.name_agents_in_feedback

    def group(item: Feedback) -> str:
        held = held_by(facts, item)
        # A ticket a rule solved is the desk's automation's, as the workload report calls it.
        team = facts.team_of(held) or ("(automation)" if held in (RULES_AUTHOR, MAIL_SYSTEM) else "(no team)")
        return f"{team} / {held}" if name_agents and held else team

    by_group: dict[str, list[Feedback]] = defaultdict(list)
    for item in mine:
        by_group[group(item)].append(item)
    # Keyed by when the period starts ("average:2026-12-07", "average:2026-12"), not its label.
    weekly = [(f"average:{period.label.removeprefix(WEEK_OF)}", period.label, f"{period.label}: average {{}}")
              for period in buckets] if len(buckets) > 1 else []
    summary = Section("by_team", "By team" if not name_agents else "By team and agent",
                      columns(("team", "team") if not name_agents else ("team", "team / agent"), "responses",
                              "average", *[(f"score_{score}", str(score), f"{{}} scored {score}")
                                           for score in range(1, 6)], *weekly),
                      chart=1)
    for name in sorted(by_group):
        items = by_group[name]
        average = sum(f.score for f in items) / len(items)
        # Scores, not tickets: a ticket reopened and rated again counts twice, as in the findings.
        row = [text(name), events([f.ticket for f in items]), number(average, (f.ticket for f in items))]
        row += [events([f.ticket for f in items if f.score == score]) for score in range(1, 6)]
        for period in buckets if len(buckets) > 1 else ():
            inside = [f for f in items if f.at in period]
            row.append(number(sum(f.score for f in inside) / len(inside) if inside else None,
                              (f.ticket for f in inside)))
        summary.rows.append(row)
    comments = Section("comments", "Comments by category", columns("category", "score", "comment", "ticket"))
    for item in sorted(mine, key=lambda f: (tickets[f.ticket].category or "", f.at)):
        if item.comment:
            comments.rows.append([text(tickets[item.ticket].category or NO_CATEGORY), number(item.score),
                                  text(item.comment), ticket(item.ticket)])
    said = Findings()
    if mine:
        average = sum(f.score for f in mine) / len(mine)
        low = [f.ticket for f in mine if f.score <= 2]
        said.say(f"{counted(len(mine), 'response')}, average {figure(round(average, 2))} of 5; "
                 f"{len(low)} scored 1 or 2.",
                 [f.ticket for f in mine])
        if low:
            said.say(f"Low scores to review: {', '.join(sorted(set(low)))}.", low)
    else:
        said.say("No feedback in the period.")
    for reason, ids in sorted(left.items()):
        said.say(f"Left out: {len(ids)} {'score' if len(ids) == 1 else 'scores'} ({reason}).", ids)
    if unreadable:  # a file edited by hand into something else: named, never silently missing
        shown = ", ".join(str(problem) for problem in unreadable[:3]) + (" …" if len(unreadable) > 3 else "")
        said.say(f"Left out: {counted(len(unreadable), 'feedback file')} that cannot be read: {shown}.")
    definitions = [
        "Feedback is stored apart from tickets (feedback/), given with gitdesk feedback add or by mail, and counted "
        "by the date it was given.",
        "A score counts only on a ticket that was resolved or closed when it was given (by its history; where "
        "it was reopened in the same second, by the status written with the score), and only the latest one "
        "per resolution (its requester's): a later answer to the same resolution replaces an earlier one, which "
        "stays in history, and a ticket reopened and solved again is rated again; an answer "
        "given after the period's end is not known to the report. The responses, average, score and week "
        "columns count the same scores (a ticket rated twice counts twice), each in the week it was given, as "
        "known at the report's end: a week's digest, made then, counted an answer a later one has replaced "
        "since (a report of that week alone still reads as its digest did). Scores on "
        "rejected tickets and duplicates are left out; the findings say how many scores given in the period were "
        "left out, and why.",
        "It is grouped (and --team filtered) by the team of the ticket's assignee when it was given (with "
        "nobody assigned, of whoever resolved it)"
        + ("; agents are named (reports.feedback.name_agents)." if name_agents else
           "; agents are not named (set reports.feedback.name_agents to change that)."),
    ]
    report = Report("feedback", "Feedback", whole, [summary, comments], said.texts, definitions, evidence=said.ids)
    if facts.scope.team is not None:  # the team that held a ticket when it was rated, not the one holding it now
        report.files = len(rated)
    return report
