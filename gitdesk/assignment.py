"""Automatic assignment when a ticket enters a queue.

Each queue chooses in config: ``manual`` (nobody), ``round-robin`` (the
member after whoever got the queue's most recently created assigned ticket)
or ``fewest-open`` (the member with the fewest unfinished tickets; ties go
to the member listed first). People marked ``away`` are skipped. Both are
derived from the ticket files themselves, so there is no state to merge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from gitdesk.model import Config, Ticket


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
        latest: Ticket | None = None
        for ticket in tickets:
            if ticket.queue == queue_name and ticket.assignee in members and (
                    latest is None or ticket.id > latest.id):
                latest = ticket
        if latest is None or latest.assignee is None:
            return members[0]
        return members[(members.index(latest.assignee) + 1) % len(members)]
    load: Counter[str] = Counter()
    for ticket in tickets:
        if ticket.assignee in members and ticket.status not in config.done_statuses:
            load[ticket.assignee] += 1
    return min(members, key=lambda member: (load[member], members.index(member)))
