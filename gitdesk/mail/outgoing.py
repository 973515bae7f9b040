"""Mail out: a reply as a proper email to the requester.

The message threads in the requester's mail program (Message-ID, In-Reply-To
and References from the ticket's ``message_ids``), carries ``[ID]`` in its
subject so an answer finds its ticket even without headers, and the loop
header so our own mail coming back is never taken in. Only the reply's text
goes out: never internal notes, other fields, or other people's addresses.
Every header value is made one line first, and the standard library's
email policy refuses line breaks in headers, so nothing a ticket says can
add a header.

SMTP settings and sending live in ``mail/delivery.py`` (``smtp_settings``,
``send_now``), which also delivers ``outbox/`` with ``gitdesk mail send``.
Without a host, mail goes to ``outbox/`` in the desk, committed with the
reply, for ``gitdesk mail send`` (or whatever relay the team runs).
"""

from __future__ import annotations

import email.errors
import email.policy
import email.utils
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

from gitdesk import actions, clock, workflow
from gitdesk.actions import Outcome
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.mail.delivery import OUTBOX, Smtp, send_now, smtp_settings
from gitdesk.mail.message import LOOP_HEADER, thread_ids, with_thread_id
from gitdesk.model import Config, Person, Ticket
from gitdesk.text import clean_line

REFERENCES_KEPT = 10  # References grows with a thread; mail programs need only the recent ones


def recipient(config: Config, ticket: Ticket) -> str:
    """The requester's address; a requester known only by handle needs an email in config."""
    if workflow.is_email(ticket.requester):
        return ticket.requester
    person = config.person(ticket.requester)
    if person is not None and person.email:
        return person.email
    raise ValidationError(f"{ticket.id}: the requester {ticket.requester!r} has no email address",
                          hint="add an email for them under people: in .gitdesk/config.yml")


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


FEEDBACK_TAG = "[feedback]"  # in the subject of a feedback request; intake reads a score from the answer


def compose(config: Config, ticket: Ticket, text: str, agent: Person | None, now: datetime,
            thread: list[str], *, subject: str | None = None) -> EmailMessage:
    """The reply ``text`` on ``ticket`` as mail to its requester (``subject`` instead of
    "Re: TITLE [ID]" when given)."""
    desk_address = config.mail.address
    if not desk_address:
        raise ValidationError("the desk has no mail address", hint="set mail.address in .gitdesk/config.yml")
    # Long subjects stay on one line (RFC 5322 allows 998): Python folds them before the
    # first word otherwise, and some mail programs then show a leading space.
    message = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    desk_name = clean_line(config.mail.name or config.desk_name)
    sender = f"{clean_line(agent.name)} ({desk_name})" if agent is not None else desk_name
    to = recipient(config, ticket)
    try:
        message["From"] = Address(display_name=sender, addr_spec=desk_address)
        message["To"] = Address(addr_spec=to)
        message["Reply-To"] = Address(display_name=desk_name, addr_spec=desk_address)
    except (ValueError, TypeError, IndexError, email.errors.MessageError) as error:
        # Addresses mail took in (taro..yamada.@docomo.ne.jp) that Python will not write back out.
        raise ValidationError(f"{ticket.id}: cannot mail {to!r}: {clean_line(str(error))}",
                              hint="correct the requester's address (gitdesk set ID requester ADDRESS)") from None
    title = clean_line(ticket.title)
    message["Subject"] = clean_line(subject) if subject else f"Re: {title} [{ticket.id}]"
    message["Date"] = email.utils.format_datetime(now)
    message_id = f"<{ticket.id}.{secrets.token_hex(8)}@{_domain(desk_address)}>"
    message["Message-ID"] = message_id
    if thread:
        message["In-Reply-To"] = thread[-1]
        message["References"] = " ".join(thread[-REFERENCES_KEPT:])
    message[LOOP_HEADER] = desk_name
    signature = f"\n\n-- \n{clean_line(agent.name) + chr(10) if agent is not None else ''}{desk_name}\n"
    message.set_content(text.rstrip() + signature)
    return message


def send(message: EmailMessage, smtp: Smtp) -> None:
    """Hand the message to the SMTP server; a failure is a one-line error and nothing is sent."""
    send_now(message, smtp)


def outbox_path(ticket_id: str, now: datetime) -> str:
    return f"{OUTBOX}/{now.strftime('%Y%m%dT%H%M%SZ')}-{ticket_id}-{secrets.token_hex(3)}.eml"


def dispatch(config: Config, ticket_id: str, message: EmailMessage, now: datetime) -> str | None:
    """Send ``message`` over SMTP when a host is set (None: sent), else the outbox/ path
    the caller commits it to. Call it before committing, so a failed send changes nothing."""
    smtp = smtp_settings(config)
    if smtp is None:
        return outbox_path(ticket_id, now)
    send(message, smtp)
    return None


def feedback_request(config: Config, ticket: Ticket, agent: Person | None, now: datetime,
                     thread: list[str]) -> EmailMessage:
    """Mail asking the requester to rate the help on a finished ticket, answered by a plain reply."""
    title = clean_line(ticket.title)
    text = (f"Your request \"{title}\" is done. How did we do?\n\n"
            "Reply to this mail with a number from 1 (very unhappy) to 5 (very happy) on the first line, "
            "and a comment below it if you like. Your answer goes to the desk's weekly review, "
            "not to the person who helped you.")
    return compose(config, ticket, text, agent, now, thread,
                   subject=f"How did we do? {title} [{ticket.id}] {FEEDBACK_TAG}")


# --- actions that mail -------------------------------------------------------------


def reply(desk: Desk, typed_id: str, text: str, actor: Actor) -> Outcome:
    """A public reply that also goes to the requester by mail: sent over SMTP before
    the commit (a failed send changes nothing), or queued in outbox/ by the commit."""
    actor.require_person("mail the requester")
    mutate = actions.replying(desk, text, actor)
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])
        new = mutate(loaded.ticket)
        actions.validate_change(desk, loaded.ticket, new, loaded.path)
        now = clock.now()
        message = compose(desk.config, new, text, actor.person, now, thread_ids(new))
        new = with_thread_id(new, str(message["Message-ID"]))
        to = recipient(desk.config, new)
        path = dispatch(desk.config, new.id, message, now)
        if path is not None:
            return actions.commit_change(desk, loaded, new, actor, "reply", extra_files={path: message.as_bytes()},
                                         notes=[f"mail to {to} queued in {path}"])
        try:
            return actions.commit_change(desk, loaded, new, actor, "reply", notes=[f"mailed to {to}"])
        except GitdeskError as error:
            raise GitdeskError(f"the mail to {to} was sent, but the reply could not be recorded: {error}",
                               hint=f"record it by hand: gitdesk reply {new.id} -m TEXT") from None


@dataclass(frozen=True, slots=True)
class Requested:
    ticket: str
    to: str
    outbox: str | None  # where the mail waits when no SMTP host is set
    commit: str | None  # the commit that added it to outbox/


def request_feedback(desk: Desk, typed_id: str, actor: Actor) -> Requested:
    """Ask the requester of a finished ticket for a score by mail; their answer comes
    back through ``gitdesk intake``. Sent over SMTP, or committed to outbox/."""
    actor.require_person("ask for feedback")  # signed by the desk, but only its people may send in its name
    with desk.writing():
        ticket = desk.find(typed_id).ticket
        if not workflow.is_done(desk.config, ticket.status):
            raise ValidationError(f"{ticket.id} is {ticket.status}, not finished",
                                  hint="ask for feedback once the ticket is resolved or closed")
        now = clock.now()
        message = feedback_request(desk.config, ticket, None, now, thread_ids(ticket))
        to = recipient(desk.config, ticket)
        path = dispatch(desk.config, ticket.id, message, now)
        if path is None:
            return Requested(ticket.id, to, None, None)
        commit = desk.commit({path: message.as_bytes()},
                             f"feedback request for {ticket.id}\n\nGitdesk-Action: feedback-request\n", now,
                             new_files=frozenset({path}))
    return Requested(ticket.id, to, path, commit)


