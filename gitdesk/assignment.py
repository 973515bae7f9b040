"""Automatic assignment when a ticket enters a queue.

Each queue chooses in config: ``manual`` (nobody), ``round-robin`` (the
member after whoever was last given one of the queue's tickets: by the latest of
its creation, its escalations and gitdesk's note when a move into the queue gave
it to someone, so tickets escalated or moved in take turns too)
or ``fewest-open`` (the member with the fewest unfinished tickets; ties go
to the member listed first). People marked ``away`` are skipped. Both are
derived from the ticket files themselves, so there is no state to merge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from gitdesk.model import ESCALATION, NOTE, RULES_AUTHOR, Config, Entry, Ticket


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


GIVEN = "given to"  # the detail of the note gitdesk writes when a moved ticket is given to someone


def given(handle: str, queue: str, config: Config) -> tuple[str, str]:
    """The note (text, detail) gitdesk writes when a ticket moved into a queue (``set queue``)
    is given to someone by the queue's rule: the detail, which the index keeps, dates the turn."""
    rule = config.queues[queue].assign if queue in config.queues else "rule"
    return f"The {rule} of queue {queue} gave it to {handle}.", f"{GIVEN} {handle}"


def _is_given(entry: Entry) -> bool:
    """Whether ``entry`` is gitdesk's note that a queue's rule gave the ticket to someone."""
    return entry.kind == NOTE and entry.author == RULES_AUTHOR and entry.detail.startswith(GIVEN)


def given_notes_kept_true(before: Ticket, after: Ticket) -> Ticket:
    """``after`` without the "given to" notes a change wrote whose pick a later step of it
    overrode (a rule's ``set: {queue: l2, assignee: alice}``): the thread names who has it."""
    added = after.entries[len(before.entries):]
    kept = tuple(entry for entry in added if not (_is_given(entry) and entry.detail != f"{GIVEN} {after.assignee}"))
    return after if len(kept) == len(added) else replace(after, entries=(*after.entries[:len(before.entries)], *kept))


def _handed_over(ticket: Ticket) -> datetime:
    """When the ticket was last given to someone: made, escalated, or moved into a queue that
    gave it to someone (an entry says when). Only ``assign`` leaves no entry; its tickets
    count from creation."""
    return max((entry.at for entry in ticket.entries if entry.kind == ESCALATION or _is_given(entry)),
               default=ticket.created)
