"""Duplicates that wait for another ticket's answer (``duplicates_waiting``): when it comes,
each requester is told it in a mail of their own, on their own ticket's thread, so nobody
sees another requester's address, thread or the words written to them (docs/kb.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gitdesk import privacy, templates, ticketfile, workflow
from gitdesk.actions import Mail, requester_address, root_of, validate_change, waiting_of, with_waiting
from gitdesk.desk import Actor, Desk, LoadedTicket
from gitdesk.errors import GitdeskError
from gitdesk.mail import compose
from gitdesk.mail.message import thread_ids, with_thread_id
from gitdesk.mail.outbox import outbox_path
from gitdesk.model import REPLY, Entry, Ticket


def tell(desk: Desk, verb: str, new: Ticket, actor: Actor, now: datetime, send: bool | None,
         seed: str | None = None) -> Mail | None:
    """Tell the requesters of the duplicates that wait for ``new`` (``actions.WAITING``) the
    answer, now that there is one: each in a mail of their own, on their own ticket's thread,
    so nobody sees another requester's address or thread. The answer is the resolution of
    the ticket that holds it (``new``, or the solved ticket ``new`` is a duplicate of), never
    words written to ``new``'s own requester. None: nobody to tell. ``seed`` (the rules)
    makes each Message-ID the same wherever it is made, so two clones send it once."""
    config = desk.config
    waiting = waiting_of(new)
    if waiting and verb == "reject":
        left = [ticket_id for ticket_id in waiting if _waiting_duplicate(desk, ticket_id, new.id) is not None]
        if not left:  # reopened since, or waiting elsewhere now
            return None
        return Mail(new, {}, (f"told they would hear when {new.id} is solved, and left waiting: "
                              f"{', '.join(left)} (answer them with gitdesk reply)",))
    if (not waiting or verb not in ("resolve", "duplicate") or actor.person is None
            or not workflow.is_done(config, new.status) or new.status == workflow.REJECTED):
        return None
    holder = new  # resolve: the note just written is the answer, whatever links the ticket has
    if verb == "duplicate" and new.duplicate_of:
        try:
            holder = desk.load(new.duplicate_of).ticket  # the solved root it was closed into
        except GitdeskError:
            return None
    # Written to the holder's requester, it may name them: others read it as the knowledge base shows it.
    answer = privacy.without_private((holder.resolution or "").strip(), privacy.desks_own(config))
    if not answer:
        return None
    kept: list[str] = []
    files: dict[str, bytes | None] = {}
    notes: list[str] = []
    ids: list[str] = []
    also: list[tuple[LoadedTicket, Ticket]] = []
    said = (templates.wrap_prose(f"the problem you reported is solved: it was the same as {holder.id}.")
            + f"\n\n{answer}\n\n")  # the resolution stays as its writer typed it

    for ticket_id in waiting:
        loaded = _waiting_duplicate(desk, ticket_id, new.id)
        if loaded is None or loaded.path == desk.path_of(holder.id):
            notes.append(f"{ticket_id} no longer waits for {new.id} (reopened, or its link changed): not told")
            continue
        if desk.dirty_paths([loaded.path]):
            kept.append(ticket_id)  # hand edits in progress: told at the next resolution
            notes.append(f"{ticket_id} has uncommitted changes: not told yet")
            continue
        greeting = templates.values(loaded.ticket, config)["greeting"]  # the desk's words greet
        text = f"{greeting}\n\n{said}{still_wrong(loaded.ticket)}"
        letter = None if send is False else _told(desk, loaded.ticket, text, None if seed else actor, send)
        # Its resolution said "we are working on it there": now it says what solved it, mailed or not.
        solved = ticketfile.escape_text(f"This is the same problem as {holder.id}, which was solved:\n\n{answer}")
        told = replace(loaded.ticket, duplicate_of=holder.id, resolution=solved)
        message = None
        if letter is not None:
            message = compose.message(config, desk.root, letter, now, thread_ids(loaded.ticket),
                                      seed=f"{seed}:{ticket_id}" if seed else None)
            entry = Entry(now, actor.id, REPLY, ticketfile.escape_text(text))
            told = with_thread_id(replace(told, entries=(*told.entries, entry)), str(message["Message-ID"]))
        try:
            validate_change(desk, loaded.ticket, told, loaded.path, strict=False)
        except GitdeskError as error:  # its file needs a fix first: that must not stop this answer
            kept.append(ticket_id)
            notes.append(f"{ticket_id} not told yet: {error}")
            continue
        also.append((loaded, told))
        if letter is None or message is None:
            why = "as --no-send says" if send is False else "the desk does not mail its requester"
            notes.append(f"{ticket_id} not told ({why}); its resolution now names what solved it")
            continue
        message_id = str(message["Message-ID"])
        path = outbox_path(loaded.ticket.id, now, message_id)
        files[path] = message.as_bytes()
        ids.append(message_id)
        notes.append(f"mail to {', '.join((letter.to, *letter.cc))} queued in {path} (told on {ticket_id})")
    return Mail(with_waiting(new, kept), files, tuple(notes), tuple(ids), tuple(also))


def still_wrong(ticket: Ticket) -> str:
    """What a requester told the answer on their duplicate does if it still goes wrong: a
    closed ticket is not reopened by mail, a follow-up starts."""
    then = "we take it up again as a new request" if ticket.status == workflow.CLOSED else "your request opens again"
    return templates.wrap_prose(f"If it still goes wrong for you, reply to this mail and say what happens: {then}.")


def _told(desk: Desk, duplicate: Ticket, text: str, actor: Actor | None, send: bool | None) -> compose.Letter | None:
    """The mail that tells a waiting duplicate's requester (and its Cc) the answer, by the
    policy of the duplicate's queue; None when that policy, or a missing address, says none.
    Without ``actor`` (the rules) the desk signs it."""
    config = desk.config
    to = requester_address(config, duplicate)
    audience = compose.audience(config, duplicate, "resolution", forced=send is True)  # as duplicate --of a solved one
    if to is None or not config.mail.address or not audience:
        return None
    found = compose.addressed(duplicate, to, audience)
    return compose.Letter("reply", duplicate, text, *found, actor.person if actor else None,
                          automatic=actor is None) if found is not None else None


def _waiting_duplicate(desk: Desk, ticket_id: str, answered: str) -> LoadedTicket | None:
    """The finished duplicate ``ticket_id`` if its ``duplicate_of`` links still lead to
    ``answered`` (a reopened one is a problem of its own); None otherwise. The list is a
    hand-editable field: an ID it names is only mailed if the links agree."""
    try:
        loaded = desk.load(ticket_id)
        config = desk.config
        if not workflow.is_done(config, loaded.ticket.status) or loaded.ticket.status == workflow.REJECTED:
            return None
        if not loaded.ticket.duplicate_of:
            return None
        root = root_of(desk, desk.load(loaded.ticket.duplicate_of))
    except GitdeskError:
        return None
    return loaded if answered in (loaded.ticket.duplicate_of, root.ticket.id) else None


def still_waiting_for(desk: Desk, solved: Ticket) -> list[str]:
    """The duplicates on ``solved``'s list that still wait for it (finished, linked to it)."""
    return [ticket_id for ticket_id in waiting_of(solved) if _waiting_duplicate(desk, ticket_id, solved.id) is not None]


def still_waiting(desk: Desk) -> list[LoadedTicket]:
    """The solved tickets whose list still names duplicates to tell: resolved by a rule or by
    hand (which mail nobody), or solved on one clone while another added a duplicate. The
    rules tell them (``gitdesk rules run``)."""
    from gitdesk.cache import db, index
    from gitdesk.model import WAITING

    with db.connect(desk) as connection:
        index.refresh(desk, connection)
        named = index.ids_with_field(connection, WAITING)
    config = desk.config
    found: list[LoadedTicket] = []
    for ticket_id in named:
        try:
            loaded = desk.load(ticket_id)
        except GitdeskError:
            continue  # check names it; the list waits for a readable file
        ticket = loaded.ticket
        # A duplicate's own list is one a hand edit left (a command moves it to the root).
        if waiting_of(ticket) and workflow.is_done(config, ticket.status) and ticket.status != workflow.REJECTED \
                and not ticket.duplicate_of and (ticket.resolution or "").strip():
            found.append(loaded)
    return found
