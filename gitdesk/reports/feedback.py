"""The feedback report: satisfaction per team and week, for the weekly review.

Feedback is collated per team (the team of the ticket's queue members'
assignee); agents are named only if config says so (reports.feedback.name_agents).
"""

from __future__ import annotations

from collections import defaultdict

from gitdesk.feedback import Feedback, load_all
from gitdesk.reports.base import Facts, Period, Report, Section, columns, count, number, text, ticket


def build(facts: Facts, whole: Period, buckets: list[Period]) -> Report:
    everything, _ = load_all(facts.desk)
    tickets = {t.id: t for t in facts.tickets}
    mine = [f for f in everything if f.ticket in tickets and f.at in whole]
    name_agents = facts.config.reports.name_agents_in_feedback

    def group(item: Feedback) -> str:
        ticket = tickets[item.ticket]
        team = facts.team_of(ticket.assignee) or "(no team)"
        return f"{team} / {ticket.assignee}" if name_agents and ticket.assignee else team

    by_group: dict[str, list[Feedback]] = defaultdict(list)
    for item in mine:
        by_group[group(item)].append(item)
    weekly = [(f"average:{period.label}", period.label) for period in buckets] if len(buckets) > 1 else []
    summary = Section("by_team", "By team" if not name_agents else "By team and agent",
                      columns(("team", "team") if not name_agents else ("team", "team / agent"), "responses",
                              "average", *[(f"score_{score}", str(score)) for score in range(1, 6)], *weekly),
                      chart=1)
    for name in sorted(by_group):
        items = by_group[name]
        average = sum(f.score for f in items) / len(items)
        row = [text(name), count(f.ticket for f in items), number(average, (f.ticket for f in items))]
        row += [count(f.ticket for f in items if f.score == score) for score in range(1, 6)]
        if len(buckets) > 1:
            for period in buckets:
                inside = [f.score for f in items if f.at in period]
                row.append(number(sum(inside) / len(inside) if inside else None))
        summary.rows.append(row)
    comments = Section("comments", "Comments by category", columns("category", "score", "comment", "ticket"))
    for item in sorted(mine, key=lambda f: (tickets[f.ticket].category or "", f.at)):
        if item.comment:
            comments.rows.append([text(tickets[item.ticket].category or "(none)"), number(item.score),
                                  text(item.comment), ticket(item.ticket)])
    findings = []
    if mine:
        average = sum(f.score for f in mine) / len(mine)
        low = [f for f in mine if f.score <= 2]
        findings.append(f"{len(mine)} responses, average {average:.1f} of 5; {len(low)} scored 1 or 2.")
    else:
        findings.append("No feedback in the period.")
    definitions = [
        "Feedback is stored apart from tickets (feedback/), given with gitdesk feedback add, and counted by the "
        "date it was given.",
        "It is grouped by the team of the ticket's assignee"
        + ("; agents are named (reports.feedback.name_agents)." if name_agents else
           "; agents are not named (set reports.feedback.name_agents to change that)."),
    ]
    return Report("feedback", "Feedback", whole, [summary, comments], findings, definitions)
