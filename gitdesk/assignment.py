"""Automatic assignment when a ticket enters a queue.

Each queue chooses in config: ``manual`` (nobody), ``round-robin`` (the
member after whoever was last given one of the queue's tickets: by the later of
its creation and its latest escalation, so tickets escalated in take turns too)
or ``fewest-open`` (the member with the fewest unfinished tickets; ties go
to the member listed first). People marked ``away`` are skipped. Both are
derived from the ticket files themselves, so there is no state to merge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from gitdesk.model import ESCALATION, Config, Ticket


def pick(config: Config, queue_name: str, all_tickets: Callable[[], Iterable[Ticket]]) -> str | None:
    """The member a ticket entering ``queue_name`` goes to, or None.

    ``all_tickets`` is only called for strategies that need the desk's state.
    """
    queue = config.queues.get(queue_name)
    if queue is None or queue.assign == "manual":
        return None
    tickets = all_tickets()
    members = [m for m in queue.members if m in config.people and not config.people[m].away]
    if not members:
        return None
    if queue.assign == "round-robin":
        given = [(_handed_over(ticket), ticket.id, ticket.assignee) for ticket in tickets
                 if ticket.queue == queue_name and ticket.assignee in members]
        if not given:
            return members[0]
        last = max(given)[2]
        return members[(members.index(last) + 1) % len(members)] if last in members else members[0]
    load: Counter[str] = Counter()
    for ticket in tickets:
        if ticket.assignee in members and ticket.status not in config.done_statuses:
            load[ticket.assignee] += 1
    return min(members, key=lambda member: (load[member], members.index(member)))


def _handed_over(ticket: Ticket) -> datetime:
    """When the ticket was last given to someone: made, or escalated (an entry says when).
    Only ``assign`` and ``set queue`` leave no entry; their tickets count from creation."""
    return max((entry.at for entry in ticket.entries if entry.kind == ESCALATION), default=ticket.created)
