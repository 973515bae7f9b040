"""Mail in: ``gitdesk intake mbox|maildir|eml PATH``.

A new thread becomes a ticket; a reply (matched by In-Reply-To/References,
or by the ``[GD-…]`` tag in the subject, from someone on that ticket) is
appended to its conversation. Message-IDs are kept in each ticket's
``message_ids`` field, so running the same mailbox again takes nothing in
twice, on any clone.

Messages are read outside the desk lock and written in chunks: under the
lock, the desk's current state is read, the chunk's messages are applied one
by one (a message that fails leaves no trace), and the result is one commit
listing every ticket it touched. A chunk either lands whole or not at all;
only messages in a landed commit are reported as taken in.
"""

from __future__ import annotations

import email.utils
import itertools
import mailbox
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitdesk import actions, attachments, clock, feedback, ids, templates, ticketfile, workflow
from gitdesk.actions import CC
from gitdesk.cache import db, index
from gitdesk.desk import Actor, Desk, LoadedTicket
from gitdesk.errors import GitdeskError, NotFound, TicketTooLarge, ValidationError
from gitdesk.feedback import FEEDBACK
from gitdesk.mail import compose, notify
from gitdesk.mail.message import (
    AMBIGUOUS_FROM,
    LIST_MAIL,
    MESSAGE_IDS,
    NAMED_BY_A_LIST,
    Attachment,
    Bounce,
    Incoming,
    MalformedMessage,
    parse,
    split_forward,
    strip_quoted,
    thread_ids,
    with_thread_id,
    without_reply_prefix,
)
from gitdesk.mail.outbox import outbox_path
from gitdesk.mail.words import asks_nothing, feedback_score, judgement_only
from gitdesk.model import MAIL_SYSTEM, NOTE, REOPEN, REPLY, REQUESTER_NAME, Config, Entry, Person, Route, Ticket
from gitdesk.paths import TICKETS
from gitdesk.text import address_key, counted, unmailable

if TYPE_CHECKING:
    from gitdesk.rules.engine import EventRules

KINDS = ("mbox", "maildir", "eml")
CHUNK = 500
LANDED = ("new", "reply", "feedback", "bounce")  # outcomes that are written in the chunk's commit
MAX_THREAD = 400  # Message-IDs one ticket keeps; a longer thread continues in a related ticket
# A mail's text kept in its ticket: a pasted log or a long thread quoted whole is kept as an
# attachment, so that eight such mails still fit in one ticket file (ticketfile.MAX_TICKET_BYTES).
MAX_MAIL_TEXT = 256 * 1024
WHOLE_TEXT = "mail-text.txt"


@dataclass(frozen=True, slots=True)
class Taken:
    """What happened to one message."""

    position: str  # where it was in the source: "message 3", a file name
    outcome: str  # new | reply | feedback | bounce | skipped | failed
    ticket: str | None
    detail: str  # the title for new tickets; the reason for skipped and failed
    sender: str | None = None
    message_id: str | None = None
    again: bool = True  # whether running the same intake again may take a failed one in

    def as_record(self) -> dict[str, object]:
        return {"position": self.position, "outcome": self.outcome, "ticket": self.ticket, "from": self.sender,
                "message_id": self.message_id, "detail": self.detail}


@dataclass(slots=True)
class IntakeResult:
    source: str
    items: list[Taken] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    rules_problem: str | None = None  # the desk's rules could not be read: new tickets were made without them

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def failed(self) -> bool:
        return any(item.outcome == "failed" for item in self.items)

    def to_retry(self) -> int:
        """Failed messages the same intake run again may take in (not a file it cannot read)."""
        return sum(1 for item in self.items if item.outcome == "failed" and item.again)

    def counts(self) -> dict[str, int]:
        return {outcome: self.count(outcome) for outcome in ("new", "reply", "feedback", "bounce", "skipped",
                                                             "failed")}


# --- sources ----------------------------------------------------------------------------


# The line before each message of an mbox file: "From sender weekday month day time year", then
# the message's first header ("From Monday 14 December forward my line to 4711" in a body is not one).
_MBOX_SEPARATOR = re.compile(rb"^From \S+ .*\d{4}\r?\n[A-Za-z][A-Za-z0-9-]*:", re.MULTILINE)


# A body line an mbox writer escaped so that it is no separator: mboxrd adds a ">" to any
# ">*From " line, mboxo (Python's mailbox) to "From " lines only; taking one off undoes both
# (a quoted ">From " in an mboxo file loses its ">", the lesser harm: a reply of
# "From Monday on it works" must not read as quoted text).
_FROM_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)


def _is_mbox(data: bytes) -> bool:
    """Whether ``data`` is an mbox of several messages: it opens with a separator (an .eml a
    mail program saved may too) and holds another one, each followed by a header."""
    whole = data.lstrip(b"\r\n")
    first = _MBOX_SEPARATOR.match(whole)  # the whole file: a first message with attachments passes 1 MB
    return first is not None and _MBOX_SEPARATOR.search(whole, first.end()) is not None


def read_source(kind: str, path: Path) -> Iterator[tuple[str, bytes | ValidationError]]:
    """(position, raw bytes) of every message in the mailbox, in mailbox order; for a file of a
    folder that cannot be taken in (an mbox among .eml files), why instead of its bytes."""
    if kind not in KINDS:
        raise ValidationError(f"unknown mailbox kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    if not path.exists():
        raise NotFound(f"no such {kind}: {path}")
    if kind == "eml":
        files = sorted(p for p in path.rglob("*.eml") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            data = file.read_bytes()
            if _is_mbox(data):  # else every sender's mail would land in the first one's ticket
                refused = ValidationError(f"{file} holds several messages in mbox format",
                                          hint=f"take it in with gitdesk intake mbox {file}")
                if not path.is_dir():
                    raise refused
                yield str(file.relative_to(path)), refused  # the folder's others still go in
                continue
            # Blank lines before the first header (some exports start so) would leave it no headers.
            yield (str(file.relative_to(path)) if path.is_dir() else file.name), data.lstrip(b"\r\n")
        return
    if kind == "mbox":
        if not path.is_file():
            raise ValidationError(f"{path} is not an mbox file", hint="give the mailbox file itself")
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if head.strip() and not _MBOX_SEPARATOR.match(head.lstrip(b"\r\n")):
            raise ValidationError(f"{path} is not an mbox file (no 'From ' line before its message)",
                                  hint=f"a single message is taken in with gitdesk intake eml {path}")
        box: mailbox.Mailbox[mailbox.Message] = mailbox.mbox(str(path), factory=None, create=False)
    else:
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise ValidationError(f"{path} is not a maildir (no cur/ or new/ inside)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
    try:
        keys = list(box.iterkeys())
        if kind == "maildir":
            keys.sort()
        for number, key in enumerate(keys, 1):
            if kind == "mbox":
                yield f"message {number}", _FROM_ESCAPED.sub(rb"\1", box.get_bytes(key))
            else:
                yield f"message {key}", box.get_bytes(key)
    finally:
        box.close()


# --- what the desk knows ------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    """The desk as this chunk sees it: tickets by id, and Message-IDs to tickets."""

    desk: Desk
    tickets: dict[str, Ticket]
    by_message: dict[str, str]
    taken: ids.Taken
    dirty: set[str] = field(default_factory=set)  # ticket files with uncommitted edits: never written
    loaded: dict[str, LoadedTicket] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)  # tickets this chunk wrote to (new or replied)
    rendered: dict[str, bytes] = field(default_factory=dict)  # their files, checked to read back
    rated: dict[str, datetime] = field(default_factory=dict)  # ticket -> when it last had a score by mail
    scored: dict[str, datetime] = field(default_factory=dict)  # ticket -> when it last had a score at all
    attachment_names: dict[str, set[str]] = field(default_factory=dict)
    acknowledged: dict[str, list[datetime]] = field(default_factory=dict)  # sender -> their recent ones
    prefixes: list[str] | None = None  # what the desk's subjects put before a title, read once a run
    event_rules: EventRules | None = None  # the desk's event rules, read once a run

    @classmethod
    def read(cls, desk: Desk) -> _State:
        with db.connect(desk) as connection:
            found, _ = index.tickets(desk, connection)
        by_message: dict[str, str] = {}
        for ticket in found:
            for message_id in thread_ids(ticket):
                by_message[message_id] = ticket.id
        rated: dict[str, datetime] = {}
        scored: dict[str, datetime] = {}
        for rating in feedback.load_all(desk)[0]:  # feedback by mail lives apart from its ticket
            scored[rating.ticket] = max(rating.at, scored.get(rating.ticket, rating.at))
            if rating.message_id:
                by_message[rating.message_id] = rating.ticket
                rated[rating.ticket] = max(rating.at, rated.get(rating.ticket, rating.at))
        return cls(desk, {t.id: t for t in found}, by_message, ids.Taken(t.id for t in found),
                   desk.dirty_paths([TICKETS]), rated=rated, scored=scored,
                   acknowledged=notify.recent_acknowledgements(desk, clock.now() - ACK_DAY))

    def others(self) -> list[Ticket]:
        return list(self.tickets.values())


# --- deciding ------------------------------------------------------------------------------

def _tag(desk: Desk) -> re.Pattern[str]:
    return ids.tag_pattern(desk.config.id_prefix)


_LIST_TAG = re.compile(r"\[([^\[\]\n]{1,60})\]\s*")  # the tag a mailing list puts before each subject


def _title(state: _State, incoming: Incoming) -> str:
    """A new ticket's title: the subject without Re:, the ``[GD-…]`` tag, and the words the
    desk's own subjects put before the title ("Re: Solved: Printer jams" is "Printer jams")."""
    title = _tag(state.desk).sub("", incoming.title).strip()
    listed = _LIST_TAG.match(title)
    # The list's own name: the first label of its List-Id, or the name before it ("IT users
    # <it-users.fernhill.example>" writes [it-users] or [IT users]).
    shown, _, address = incoming.list_id.rpartition("<")
    names = {address.strip(" >").split(".", 1)[0].casefold(), shown.strip(' "').casefold()} - {""}
    if listed and listed.group(1).strip().casefold() in names:
        title = without_reply_prefix(title[listed.end():]) or title  # "[it-users] Scanner offline"
    if state.prefixes is None:
        state.prefixes = _own_prefixes(state.desk)
    own = state.prefixes
    changed = True
    while changed and title:
        changed = False
        for prefix in own:
            rest = title[len(prefix):]
            # "Update on X" is a prefix of "Update one drive fails" only up to a word's end.
            if title.casefold().startswith(prefix.casefold()) and (
                    not prefix[-1].isalnum() or not rest or not rest[0].isalnum()):
                title, changed = without_reply_prefix(rest), True
    return title or "(no subject)"


def _own_prefixes(desk: Desk) -> list[str]:
    """What the desk's mail templates write before ``{{title}}`` in a subject ("Solved:")."""
    found: list[str] = []
    for event in templates.MAIL_DEFAULTS:
        try:
            subject = compose.template(desk.root, event).subject
        except GitdeskError:
            continue  # check reports a broken template; a mail must still be taken in
        before = subject.split("{{title}}", 1)[0].strip() if "{{title}}" in subject else ""
        if before and "{{" not in before and len(before) > 2 and before.casefold() != "re:":
            found.append(before)
    return sorted(found, key=len, reverse=True)


def _tagged(desk: Desk, subject: str) -> str | None:
    """The ticket named by a ``[GD-…]`` tag in the subject, if it exists."""
    for match in _tag(desk).finditer(subject):
        try:
            return desk.resolve(match.group(1))
        except GitdeskError:
            continue
    return None


def _sent_by_us(state: _State, message_id: str) -> bool:
    """Whether a Message-ID is one ``reply --send`` made: ``<ID.random@desk-domain>``. Only those
    make a delivery report count; a customer's own IDs are known to everyone in the thread."""
    address = state.desk.config.mail.address or ""
    ticket = state.by_message.get(message_id)
    return bool(address and ticket and message_id.startswith(f"<{ticket}.")
                and message_id.lower().endswith(f"@{address.rsplit('@', 1)[-1].lower()}>"))  # ASCII: no ß → ss


def _thread_ticket(state: _State, incoming: Incoming) -> str | None:
    quoted = tuple(q for q in incoming.bounce.quoted if _sent_by_us(state, q)) if incoming.bounce is not None else ()
    for reference in reversed((*incoming.references, *quoted)):
        if reference in state.by_message:
            return state.by_message[reference]
    for reference in reversed(incoming.references):  # mail the desk made names its ticket: <ID.event.x@desk>
        named = _desk_made(state.desk, reference)
        if named is not None:
            return named
    return _tagged(state.desk, incoming.subject)


def _desk_made(desk: Desk, message_id: str) -> str | None:
    """The ticket a Message-ID of the desk's own mail names, if it exists."""
    address = desk.config.mail.address or ""
    local, _, domain = message_id.strip("<>").rpartition("@")
    if not address or domain.lower() != address.rsplit("@", 1)[-1].lower() or "." not in local:
        return None
    try:
        return desk.resolve(local.split(".", 1)[0]) if ids.is_valid(local.split(".", 1)[0],
                                                                     desk.config.id_prefix) else None
    except GitdeskError:
        return None


def _on_ticket(desk: Desk, ticket: Ticket, sender: str) -> bool:
    """Whether ``sender`` may add to ``ticket`` by mail: its requester, a person of
    the desk, someone in its Cc, or someone who already wrote in its conversation."""
    if desk.config.person(sender) is not None or workflow.is_requester(desk.config, ticket, sender):
        return True
    return _in_cc(ticket, sender) or any(address_key(entry.author) == address_key(sender) for entry in ticket.entries)


def _in_cc(ticket: Ticket, sender: str) -> bool:
    return address_key(sender) in {address_key(address) for address in actions.cc_of(ticket)}


_WORD = re.compile(r"[\w\u0300-\u036f\u0900-\u0dff\u0e00-\u0e7f\u1000-\u109f.+-]+")


def _has_keyword(keyword: str, words: set[str], text: str) -> bool:
    """A keyword as a word of the mail; one in a script written without spaces (打印机, プリンタ)
    as a part of its text."""
    keyword = unicodedata.normalize("NFC", keyword).strip(".-") or keyword
    if keyword in words:
        return True
    return any(unicodedata.east_asian_width(char) in ("W", "F") or "\u0e00" <= char <= "\u109f"  # CJK, Thai…
               for char in keyword) and keyword in text


def routed(routes: tuple[Route, ...], incoming: Incoming) -> tuple[Route, str] | None:
    """The route a mail takes, and why ("'vpn' in the subject", for the intake's output and
    its commit). The subject says what a mail is about, so a word in passing in the body
    ("heating works again, though") must not outrank it: the first pass reads the subject
    alone, and ends at the first route without keywords that holds (a sender's, a catch-all:
    it keeps its place in the order); the second is the plain first match, subject and body."""
    sender = address_key(incoming.sender)
    recipients = {address_key(address) for address in incoming.recipients}
    for where, text in (("the subject", incoming.subject), ("the text", f"{incoming.subject}\n{incoming.text}")):
        folded = unicodedata.normalize("NFC", text.casefold())
        # Words may hold dots (vpn.example.com) but never end in one: "my password." is "password";
        # "c++" keeps its pluses. A word runs through combining marks (प्रिंटर, ไทย).
        words = {word.strip(".-") for word in _WORD.findall(folded)}
        for route in routes:
            if route.to and not any(address in recipients for address in route.to):
                continue
            if route.senders and not any(sender == s or (s.startswith("@") and sender.endswith(s))
                                         for s in route.senders):
                continue
            if where == "the subject" and not route.keywords:
                break  # it holds: a keyword in the body of an earlier route may still outrank it
            matched = next((keyword for keyword in route.keywords if _has_keyword(keyword, words, folded)), None)
            if route.keywords and matched is None:
                continue
            why = (f"{matched!r} in {where}" if matched else
                   "its sender" if route.senders else "its address" if route.to else "the catch-all route")
            return route, why
    return None


def _author_of_relayed(desk: Desk, incoming: Incoming) -> Incoming:
    """A mail a group passed on under its own address (Google Groups and Mailman do for
    senders whose domain forbids relaying: "'Yara' via Help" <help@…>), as from its author:
    the desk's own group, or a mailing list the desk is on (answered at the list's address,
    every answer would go to all its members). It carries no agent's rights: the receiving
    server could judge only the group's address."""
    relayed = incoming.relayed_for
    if relayed is None or _our_header(desk, incoming) or _ours(desk, relayed[1]) \
            or not workflow.is_email(relayed[1]):
        return incoming
    if _ours(desk, incoming.sender):
        return replace(incoming, sender=relayed[1], sender_name=relayed[0])
    if not _is_list_address(desk, incoming, incoming.sender):
        return incoming
    # Anyone can run a list and name anyone as its author: the author is the requester of a
    # ticket of their own (answers go to them, never to the list), as a forged sender's would be:
    # never a word in someone's thread, no acknowledgement, no agent's rights.
    return replace(incoming, sender=relayed[1], sender_name=relayed[0],
                   unauthenticated=incoming.unauthenticated or NAMED_BY_A_LIST)


def _trusted_agent(desk: Desk, incoming: Incoming) -> Person | None:
    """The agent who sent ``incoming``, when its From: can be believed: not forged, not two
    addresses, not an author a list named (its server vouched for the list, not for them)."""
    person = desk.config.person(incoming.sender)
    if person is None or not desk.config.is_agent(person.handle) or incoming.unauthenticated \
            or incoming.relayed_for is not None:
        return None
    return person


def _ours(desk: Desk, address: str) -> bool:
    mail = desk.config.mail
    return address_key(address) in {address_key(a) for a in (mail.address or "", *mail.aliases) if a}


def _is_loop(desk: Desk, incoming: Incoming) -> bool:
    return _our_header(desk, incoming) or _ours(desk, incoming.sender)


def _our_header(desk: Desk, incoming: Incoming) -> bool:
    """Whether the mail carries this desk's loop header: one naming this desk's address or
    an alias (``Help <help@…>``), or, as older mail did, its name alone. Another gitdesk
    desk's mail (a colleague's desk answering or copying ours) names its own: a request."""
    value = incoming.desk_header
    if value is None:
        return False
    address = email.utils.parseaddr(value)[1]
    if address and "@" in address:
        return _ours(desk, address)
    names = {desk.config.mail.name, desk.config.desk_name}
    return " ".join(value.split()).casefold() in {" ".join(known.split()).casefold() for known in names if known}


# --- applying one message --------------------------------------------------------------------


def _body_with_attachments(state: _State, ticket_id: str, text: str, incoming: Incoming,
                           files: dict[str, bytes]) -> str:
    """``text`` followed by links to the message's attachments, saved into ``files``."""
    names = state.attachment_names.setdefault(ticket_id, attachments.existing(state.desk.root, ticket_id))
    items = [(a.name or f"attachment.{a.content_type.split('/')[-1]}", a.data) for a in incoming.attachments]
    # A folder made a link or a file by some commit: this message is kept without its files,
    # rather than failing its whole chunk on every run.
    refused = attachments.blocked(state.desk.root, ticket_id) if items else None
    return attachments.attach(ticket_id, text, items, names, state.desk.config.mail.max_attachment_bytes, files,
                              refused, attachments.same_file(state.desk.root, ticket_id, files))


def _new(state: _State, incoming: Incoming, files: dict[str, bytes], related: str | None = None,
         continuing: Ticket | None = None, found: tuple[Route, str] | None = None) -> Ticket:
    """A ticket opened by ``incoming``; ``continuing``: the full ticket whose conversation it
    carries on, whose requester, Cc, queue, assignee and category it keeps, whoever wrote;
    ``found``: its route (``routed``), when the caller has it already."""
    desk = state.desk
    requester = incoming.sender
    # An agent forwarding a customer's mail opens the ticket for that customer. A colleague who
    # forwards a supplier's invoice asks about it: they are the requester, not the supplier.
    forwarder = desk.config.person(incoming.sender)
    # A From: the receiving server found forged, or that names two addresses, is nobody's.
    by_agent = _trusted_agent(desk, incoming) is not None
    if (incoming.forwarded_from and by_agent
            and desk.config.person(incoming.forwarded_from) is None and workflow.is_email(incoming.forwarded_from)):
        requester = incoming.forwarded_from
    actor = Actor(incoming.sender, desk.config.person(incoming.sender), incoming.sender)
    if continuing is not None:
        # What the config still knows of the old ticket's fields: a mail must never fail on a queue,
        # category or agent that has gone since (it would be retried by every run).
        config = desk.config
        requester = continuing.requester
        keeper = config.person(continuing.assignee or "")
        spec = actions.NewTicket(
            title=_title(state, incoming), requester=requester,
            queue=continuing.queue if continuing.queue in config.queues else None,
            priority=continuing.priority if continuing.priority in config.priorities else None,
            category=continuing.category if not config.categories or continuing.category in config.categories
            else None, asset=continuing.asset,
            assignee=keeper.handle if keeper is not None and config.is_agent(keeper.handle) else None,
            extra=((MESSAGE_IDS, [incoming.message_id]),))
    else:
        found = found or routed(desk.config.mail.routes, incoming)
        route = found[0] if found else None
        spec = actions.NewTicket(
            title=_title(state, incoming),
            requester=requester,
            queue=route.queue if route else None,
            priority=route.priority if route else None,
            category=route.category if route else None,
            labels=route.labels if route else (),
            extra=((MESSAGE_IDS, [incoming.message_id]),),
        )
    ticket = actions.new_ticket(desk, spec, actor, clock.now(), state.taken, state.others)
    # A follow-up to a finished or full ticket quotes the old thread, which that ticket holds.
    said = strip_quoted(incoming.text) if continuing is not None or related else incoming.text
    cover = ""
    forwarded = split_forward(incoming.text, incoming.subject) \
        if continuing is None and requester == incoming.forwarded_from and requester != incoming.sender else None
    if forwarded is not None and forwarded[1]:
        # An agent's forward: the customer's words are the request (and, once solved, the knowledge
        # base's symptoms); the agent's own words above them are an internal note.
        cover, said = forwarded
    if incoming.long_subject and continuing is None:  # the title cut it: nothing the requester wrote is lost
        said = f"Subject: {incoming.long_subject}\n\n{said}"
    body = _body_with_attachments(state, ticket.id, said, incoming, files)
    ticket = replace(ticket, description=ticketfile.escape_text(body, section=False) if body.strip() else "")
    if cover and forwarder is not None:
        ticket = replace(ticket, entries=(*ticket.entries, Entry(clock.now(), forwarder.handle, NOTE,
                                                                 ticketfile.escape_text(cover))))
    if related:
        ticket = replace(ticket, related=(related,))
    cc = _cc(desk, incoming, requester)
    if continuing is not None:  # everyone who was in the conversation stays in it, and no one else:
        # a reply never adds its own Cc to a ticket, so a follow-up does not either (docs/mail.md)
        kept: dict[str, str] = {}
        own = {address_key(requester), address_key(actions.requester_address(desk.config, continuing) or requester)}
        for address in (*actions.cc_of(continuing), incoming.sender):
            person = desk.config.person(address)
            if (workflow.is_email(address) and address_key(address) not in own
                    and not (person is not None and desk.config.is_agent(person.handle))):
                kept.setdefault(address_key(address), address)
        cc = list(kept.values())
    left_out = [address for address in cc if unmailable(address)]
    cc = [address for address in cc if address not in left_out]
    if cc:
        ticket = replace(ticket, extra={**ticket.extra, CC: cc})
    listed = [address for address in _list_addresses(desk, incoming) if address in incoming.addressed]
    if continuing is None and listed:
        ticket = _noted(ticket, f"Not kept in the Cc: {', '.join(dict.fromkeys(listed))}, the mailing list this "
                                f"came through (every answer would go to all its members). To copy it all the "
                                f"same: gitdesk cc {ticket.id} +ADDRESS")
    if left_out:  # one Cc the desk cannot write to must not hold up the requester's mail
        note = (f"Not kept in the Cc, as this desk's mail cannot be written to them: {', '.join(left_out)}. "
                "Reach them another way.")
        ticket = _noted(ticket, note)
    name = templates.name_to_greet(incoming.sender_name) if requester == incoming.sender else \
        templates.name_to_greet(incoming.forwarded_name) if requester == incoming.forwarded_from else None
    if continuing is not None and address_key(requester) != address_key(incoming.sender):
        name = templates.name_to_greet(continuing.extra.get(REQUESTER_NAME))
    if name and desk.config.person(requester) is None:  # so answers greet them by name, not by address
        ticket = replace(ticket, extra={**ticket.extra, REQUESTER_NAME: name})
    if continuing is not None and by_agent and forwarder is not None:
        # An agent answering in a full thread: their words are a reply on the continuation, not the
        # requester's request, and the requester (who got the agent's own mail) is not acknowledged.
        reply = Entry(clock.now(), forwarder.handle, REPLY, ticketfile.escape_text(body))
        ticket = replace(ticket, description=f"This ticket continues {continuing.id}.",
                         entries=(*ticket.entries, reply))
        return _event(state, "created", ticket, files)
    if incoming.unauthenticated:  # an answer would go to whoever the forger named
        return _event(state, "created", ticket, files)
    return _acknowledged(state, _event(state, "created", ticket, files), incoming, files)


def _distrusted(incoming: Incoming) -> str:
    """Why the sender of ``incoming`` cannot be trusted (it has ``unauthenticated``)."""
    if incoming.unauthenticated == AMBIGUOUS_FROM:
        return f"This mail's From: names more than one address (taken as {incoming.sender})"
    if incoming.unauthenticated == NAMED_BY_A_LIST:
        return (f"This mail came through the mailing list {incoming.list_id[:80]} under the list's own address, "
                f"which names {incoming.sender} as its author: nobody could check that")
    return f"The receiving server found this mail's sender forged ({incoming.unauthenticated})"


def _event(state: _State, event: str, ticket: Ticket, files: dict[str, bytes]) -> Ticket:
    """The ticket as the desk's event rules leave it, their mail added to the intake's commit."""
    from gitdesk.rules.engine import EventRules

    if state.event_rules is None:  # one reading of rules.yml a run, not one per new ticket
        state.event_rules = EventRules(state.desk)
    automated = state.event_rules(event, ticket)
    files.update(automated.files)
    return automated.ticket


def _cc(desk: Desk, incoming: Incoming, requester: str) -> list[str]:
    """Who else the opening mail was written to (To and Cc), but the desk (its address, its
    aliases and the addresses its routes take mail at: facilities@ is the desk's too), the
    requester, the sender and a mailing list it came through."""
    ours = {*actions.desk_addresses(desk.config), requester, incoming.sender, *_list_addresses(desk, incoming)}
    return [address for address in incoming.addressed
            if address_key(address) not in {address_key(a) for a in ours if a} and workflow.is_email(address)][:20]


def _list_addresses(desk: Desk, incoming: Incoming) -> list[str]:
    """The address of the mailing list ``incoming`` came through (not the desk's own group):
    copied on every answer, it would mail them to all its members. Its List-Post, or the
    address its List-Id names (it-users@lists.example is <it-users.lists.example>)."""
    return [address for address in (*incoming.addressed, incoming.list_post or "")
            if address and _is_list_address(desk, incoming, address)]


def _is_list_address(desk: Desk, incoming: Incoming, address: str) -> bool:
    """Whether ``address`` is that of the mailing list ``incoming`` came through (not the
    desk's own group): its List-Post, or the address its List-Id names."""
    if not incoming.list_id or _own_list(desk.config, incoming.list_id):
        return False
    return address_key(address) == address_key(incoming.list_post or "") \
        or address.casefold().replace("@", ".") == _list_named(incoming.list_id)


ACK_INTERVAL = timedelta(hours=1)  # at most ACKS_PER_INTERVAL acknowledgements per sender in this time
ACKS_PER_INTERVAL = 3  # RFC 3834's spirit: a loop or a flood is bounded; two real problems both get a number
# And at most ACKS_PER_DAY in a day: another desk's acknowledger that answers each of ours with a new
# mail (no In-Reply-To, no Auto-Submitted) loops at the pace of the rounds, which an hour's cap never
# stops when they run hourly; the day's cap ends such a loop.
ACK_DAY = timedelta(days=1)
ACKS_PER_DAY = 10


def _acknowledged(state: _State, ticket: Ticket, incoming: Incoming, files: dict[str, bytes]) -> Ticket:
    """The new ticket with its acknowledgement queued in outbox/ (by the desk's policy), unless
    this sender had ``ACKS_PER_INTERVAL`` within the hour: a mail loop or a flood gets a few
    answers, while a colleague who writes about two problems learns both numbers."""
    now = clock.now()
    # Counted by who gets them, in To or Cc (as the outbox and sent/ count them): an agent
    # forwarding four customers' mails is not the one acknowledged, and a stranger's mail
    # copied to many others must not make the desk mail them for ever.
    # Who wrote is told: the requester, or someone in the Cc who wrote a follow-up on their behalf.
    writer = incoming.sender if _in_cc(ticket, incoming.sender) else None
    to = writer or actions.requester_address(state.desk.config, ticket) or incoming.sender

    def recent(address: str, within: timedelta = ACK_INTERVAL) -> int:
        return len([at for at in state.acknowledged.get(address_key(address), []) if now - at < within])

    def flooded(address: str) -> bool:
        return recent(address) >= ACKS_PER_INTERVAL or recent(address, ACK_DAY) >= ACKS_PER_DAY

    if incoming.no_auto_reply:  # an automatic answer to it is what its sender asked not to get
        return _noted(ticket, "No acknowledgement was sent: the mail asks for no automatic answers "
                              "(X-Auto-Response-Suppress). Tell them the ticket's number when you answer.")
    if incoming.list_id and not _own_list(state.desk.config, incoming.list_id):
        # RFC 3834: no automatic answer to a mailing list's mail (a newsletter, a list the desk is
        # on). A desk whose own address is a group (Google Groups: List-Id <help.example.com>)
        # still acknowledges what reaches it through that group.
        return _noted(ticket, "No acknowledgement was sent: the mail came from a mailing list "
                              f"({incoming.list_id[:80]}). Tell them the ticket's number when you answer.")
    if flooded(to):
        hour = recent(to)
        had, within = (hour, "hour") if hour >= ACKS_PER_INTERVAL else (recent(to, ACK_DAY), "day")
        return _noted(ticket, f"No acknowledgement was sent: {to} had {had} within the "
                              f"{within} (a mail loop or a flood is answered a few times, not for ever). Tell them "
                              "the ticket's number when you answer.")
    copied = "cc" in compose.audience(state.desk.config, ticket, "acknowledgement", forced=False)
    left_out = [address for address in actions.cc_of(ticket) if copied and flooded(address)]
    if left_out:
        ticket = _noted(ticket, f"The acknowledgement left out of its Cc {', '.join(left_out)}: each had "
                                f"{ACKS_PER_INTERVAL} within the hour or {ACKS_PER_DAY} within the day.")
    try:
        made = notify.acknowledgement(state.desk, ticket, now, leave_out=left_out,
                                      first=ticket.requester == incoming.forwarded_from != incoming.sender,
                                      to=writer)
    except ValidationError as error:  # an address mail took in but cannot write back (üser@…)
        note = (f"No acknowledgement was sent: {error.message.removeprefix(f'{ticket.id}: ')}. Reach the "
                "requester another way, or correct the address (gitdesk set ID requester ADDRESS).")
        return _noted(ticket, note)
    if made is None:
        return ticket
    threaded, path, message = made
    files[path] = message.as_bytes()
    for address in notify.recipients(message):
        state.acknowledged.setdefault(address_key(address), []).append(now)
    return threaded


def _reply(state: _State, ticket: Ticket, incoming: Incoming, files: dict[str, bytes]) -> Ticket:
    desk = state.desk
    person = desk.config.person(incoming.sender)
    author = person.handle if person else incoming.sender
    said = strip_quoted(incoming.text)
    text = ticketfile.escape_text(_body_with_attachments(state, ticket.id, said, incoming, files)) or "(no text)"
    notified = f"<{ticket.id}.{templates.NOTIFICATION}."
    if person is not None and desk.config.is_agent(person.handle) \
            and any(reference.startswith(notified) for reference in incoming.references):
        # Agents answering the desk's word to agents ("Dan, can you take this?"), and each other in
        # that thread: the requester never saw those mails, so they are internal notes (relayed by the
        # desk's group too: kept internal is the safe side, and a note gives no agent's rights).
        return replace(with_thread_id(ticket, incoming.message_id),
                       entries=(*ticket.entries, Entry(clock.now(), author, NOTE, text)))
    is_requester = workflow.is_requester(desk.config, ticket, incoming.sender)
    # Someone in Cc answering the question (a colleague, a manager) is the answer the ticket waits for.
    in_cc = _in_cc(ticket, incoming.sender)
    new = with_thread_id(ticket, incoming.message_id)
    status = desk.config.statuses
    may_open = (is_requester or in_cc) and workflow.OPEN in status and workflow.OPEN in status[ticket.status].next
    if may_open and ticket.status == workflow.PENDING:
        new = replace(new, entries=(*new.entries, Entry(clock.now(), author, REPLY, text)))
        return replace(new, status=workflow.OPEN)
    if may_open and ticket.status == workflow.RESOLVED and not asks_nothing(said):
        # Like most desks: an answer to a resolved ticket from its requester's side (someone in its
        # Cc: a colleague, the requester of a duplicate) reopens it; their words are the reason.
        # A thank-you does not: most answers to "Solved" are one. Nor does a score ("5 - great
        # service!") that is not the requester's feedback (a Cc's, a second one): it is a reply.
        reopened = replace(new, entries=(*new.entries, Entry(clock.now(), author, REOPEN, text)), status=workflow.OPEN)
        return _event(state, "reopened", actions.no_longer_a_duplicate(reopened), files)
    return replace(new, entries=(*new.entries, Entry(clock.now(), author, REPLY, text)))


def _answers_rating(config: Config, ticket: Ticket, incoming: Incoming) -> bool:
    """Whether the mail is its requester's answer to the desk's satisfaction question (the
    resolution mail or a feedback request, by its thread or the [feedback] tag)."""
    asked = notify.FEEDBACK_TAG in incoming.subject.casefold() or any(
        compose.names_event(reference, ticket.id, event)
        for reference in incoming.references for event in ("resolution", "feedback-request"))
    return asked and workflow.is_requester(config, ticket, incoming.sender)


# Words that judge the help itself, not thanks or filler: an unasked score needs one ("2 - slow
# and unfriendly"), or a late "2" answering "Which floor?" would be filed as a score.
_EVALUATIVE = frozenset("""
great good ok okay fine excellent perfect super fast quick slow poor bad terrible awful awesome amazing nice
helpful friendly brilliant happy satisfied pleased gut schnell prima toll langsam schlecht zufrieden bien bon
rapide lent content bueno buena rapido rápido excelente contento ottimo buono veloce lento dobrze świetnie
swietnie szybko recommend recommended professional kind polite patient competent efficient quickly slowly
unfriendly rude unhelpful impolite late freundlich unfreundlich hilfsbereit kompetent professionell aimable
efficace amable eficiente gentile cortese miły mily uprzejmy 很好
""".split())


def _rates_unasked(state: _State, ticket: Ticket, incoming: Incoming, comment: str) -> bool:
    """Whether a score nobody asked for is the requester's feedback all the same: "2 - slow and
    unfriendly" to a rule's "we have not heard back, so we marked it solved" (as a reply it
    would neither reopen the ticket nor reach the review, only the agent). Only with words that
    judge the help, not in answer to a question or a reminder of one (a late "2" to "Which
    floor?" is an answer), and not over a score this resolution already has."""
    if ticket.status == workflow.REJECTED or not workflow.is_requester(state.desk.config, ticket, incoming.sender):
        return False  # a rejected ticket had no help to rate
    if not judgement_only(comment) or not _EVALUATIVE.intersection(re.findall(r"\w+", comment.casefold())):
        return False
    parent = incoming.references[-1] if incoming.references else ""
    if any(compose.names_event(parent, ticket.id, event) for event in ("question", templates.REMINDER)):
        return False
    last = state.scored.get(ticket.id)
    return last is None or not notify.rated_since(state.desk, ticket, last)


def _feedback(state: _State, ticket: Ticket, incoming: Incoming, files: dict[str, bytes]) -> tuple[str, str] | None:
    """Take the mail in as feedback on ``ticket`` if it answers a feedback request with a
    score from the requester (or gives one unasked that only judges the help): (outcome,
    detail), or None when it is not feedback."""
    config = state.desk.config
    if not workflow.is_done(config, ticket.status):
        return None
    found = feedback_score(incoming.text)
    if found is None:
        return None
    if not _answers_rating(config, ticket, incoming) and not _rates_unasked(state, ticket, incoming, found[1]):
        return None
    # One score per resolution counts, the latest: a second answer that only judges the help
    # ("1 - slow, unfriendly") replaces the first, as the mail promised it goes to the review and
    # not to the agent; one that says more ("1 - it broke again, please help") is ordinary mail.
    # A ticket reopened and solved again was asked again ("How did we do?"): its answer is a score.
    last = state.rated.get(ticket.id)
    if last is not None and notify.rated_since(state.desk, ticket, last) and not judgement_only(found[1]):
        return None
    state.rated[ticket.id] = state.scored[ticket.id] = clock.now()
    rating, body = feedback.record(ticket.id, found[0], found[1], clock.now(), ticket.status,
                                  incoming.message_id, root=state.desk.root, pending=list(files))
    files[rating.path] = body.encode("utf-8")
    return "feedback", f"score {rating.score}"


def _rendered(state: _State, ticket: Ticket, created: bool) -> bytes:
    """The ticket's file after this message, checked to read back, so a message that
    cannot be stored fails alone instead of failing its whole chunk at commit time."""
    path = state.desk.path_of(ticket.id)
    if created:
        text = ticketfile.new_text(ticket)
    else:
        loaded = state.loaded[ticket.id]
        text = ticketfile.updated_text(loaded.document, loaded.ticket, ticket)
    ticketfile.parse(text, path)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from some exotic codec: this message alone fails
        raise ValidationError("the message holds text that cannot be stored as UTF-8") from None


def _apply(state: _State, incoming: Incoming, files: dict[str, bytes]) -> tuple[str, Ticket, str]:
    """(outcome, ticket after the message, detail) for one message; raises GitdeskError
    when it cannot be applied, leaving ``state`` and ``files`` untouched."""
    desk = state.desk
    scratch: dict[str, bytes] = {}
    text: bytes | None = None
    names_before = {key: set(value) for key, value in state.attachment_names.items()}
    try:
        target = _continued(state, _thread_ticket(state, incoming))
        if target is not None and target in state.tickets:
            if target not in state.created and target not in state.loaded:
                # The file, not the index, is what a reply is written onto.
                state.loaded[target] = desk.load(target)
                state.tickets[target] = state.loaded[target].ticket
            ticket = state.tickets[target]
            if incoming.bounce is not None:  # only reached when it quotes mail of this ticket
                _ensure_writable(state, target)
                new = _bounce_note(ticket, incoming, incoming.bounce)
                _validate(state, target, new)
                return _applied(state, "bounce", new, _rendered(state, new, target in state.created),
                                incoming, scratch, files,
                                f"mail to {incoming.bounce.recipient or 'the requester'} was not delivered")
            rated = None if incoming.unauthenticated else _feedback(state, ticket, incoming, scratch)
            if rated is not None:
                if rated[0] == "feedback":
                    files.update(scratch)
                    state.by_message[incoming.message_id] = ticket.id
                return rated[0], ticket, rated[1]
            if not _on_ticket(desk, ticket, incoming.sender):
                new = _new(state, incoming, scratch)
                # Someone writing into another person's thread may be after what that thread holds
                # (a password reset sent "to this address instead"): the agent is told, in the ticket.
                warning = (f"This mail answers {target}, a ticket of someone else, but {incoming.sender} is not on "
                           f"it. Check who is asking before you share anything from {target}.")
                if incoming.unauthenticated:
                    warning += f" {_distrusted(incoming)}: no acknowledgement was sent."
                new = _noted(new, warning)
                detail = f"{new.title} (mentions {target}, but {incoming.sender} is not on it)"
                outcome = "new"
            elif incoming.unauthenticated:  # a forged From: must not speak in someone's thread
                new = _new(state, incoming, scratch)
                warning = (f"{_distrusted(incoming)}: it answers {target} but may not come from "
                           f"{incoming.sender}. No acknowledgement was sent. Check before you act on it.")
                new = _noted(new, warning)
                detail = f"{new.title} (answers {target}, but the sender is not trusted: {incoming.unauthenticated})"
                outcome = "new"
            elif (workflow.is_done(desk.config, ticket.status) and ticket.status != workflow.RESOLVED
                  and not (ticket.status != workflow.REJECTED and asks_nothing(strip_quoted(incoming.text)))):
                # Still a problem, on a finished ticket: a new one, carrying the conversation on (a
                # thank-you, or a score that is not feedback (a second one), is only noted on the
                # finished ticket: it asks for nothing).
                new = _new(state, incoming, scratch, related=target,
                           continuing=ticket if ticket.status != workflow.REJECTED else None)
                detail = f"{new.title} (follow-up to {ticket.status} {target})"
                outcome = "new"
            elif len(thread_ids(ticket)) >= MAX_THREAD:
                new = _new(state, incoming, scratch, related=target, continuing=ticket)
                detail = f"{new.title} (the thread of {target} is over {MAX_THREAD} mails: continued here)"
                outcome = "new"
            elif _full(state, target):
                new = _new(state, incoming, scratch, related=target, continuing=ticket)
                detail = f"{new.title} (the ticket file of {target} is nearly full: continued here)"
                outcome = "new"
            else:
                _ensure_writable(state, target)
                try:
                    new = _reply(state, ticket, incoming, scratch)
                    _validate(state, target, new)
                    _tell_agents(state, ticket, new, incoming, scratch)
                    text = _rendered(state, new, target in state.created)
                    noted = len(new.entries) > len(ticket.entries) and new.entries[-1].kind == NOTE \
                        and new.entries[-1].author != MAIL_SYSTEM
                    detail = f"{ticket.title}" + (" (an agent's answer to the desk's notification: an internal "
                                                  "note)" if noted else "")
                    if new.status != ticket.status:  # whoever runs intake sees a solved ticket come back
                        done = workflow.is_done(desk.config, ticket.status)
                        detail += f" (reopened: it was {ticket.status})" if done else \
                            f" ({ticket.status} → {new.status})"
                    outcome = "reply"
                except TicketTooLarge:  # its attachment links were the last straw: a new ticket, as when full
                    scratch.clear()
                    state.attachment_names = {key: set(value) for key, value in names_before.items()}
                    new = _new(state, incoming, scratch, related=target, continuing=ticket)
                    detail, outcome = f"{new.title} (the ticket file of {target} is full: continued here)", "new"
        else:
            found = routed(desk.config.mail.routes, incoming)
            new = _new(state, incoming, scratch, found=found)
            detail = new.title + (f" (to {found[0].queue}: {found[1]})" if found and found[0].queue else "")
            if incoming.unauthenticated:
                new = _noted(new, f"{_distrusted(incoming)}: it may not come from {incoming.sender}. No "
                                  "acknowledgement was sent. Check who is asking before you act on it.")
                detail += f" (sender not trusted: {incoming.unauthenticated})"
            outcome = "new"
        if text is None:
            text = _rendered(state, new, outcome == "new" or new.id in state.created)
    except GitdeskError:
        state.attachment_names = names_before
        raise
    except RecursionError:  # pathological text deep in the renderer: this message alone fails
        state.attachment_names = names_before
        raise ValidationError("the message cannot be written as a ticket") from None
    return _applied(state, outcome, new, text, incoming, scratch, files, detail)


def _applied(state: _State, outcome: str, new: Ticket, text: bytes, incoming: Incoming, scratch: dict[str, bytes],
             files: dict[str, bytes], detail: str) -> tuple[str, Ticket, str]:
    """Record in ``state`` and ``files`` what one message did to ``new``."""
    state.rendered[new.id] = text
    if outcome == "new":
        state.created.add(new.id)
    state.changed.add(new.id)
    files.update(scratch)
    state.tickets[new.id] = new
    state.by_message[incoming.message_id] = new.id
    return outcome, new, detail


# A ticket file this large may not have room for one more mail (its text is at most MAX_MAIL_TEXT):
# later mail of its thread goes to a related ticket, as after MAX_THREAD mails.
FULL_BYTES = ticketfile.MAX_TICKET_BYTES - MAX_MAIL_TEXT - 64 * 1024


def _full(state: _State, target: str) -> bool:
    """Whether ``target`` takes no more mail: MAX_THREAD mails, or a file of FULL_BYTES."""
    if len(thread_ids(state.tickets[target])) >= MAX_THREAD:
        return True
    if target in state.rendered:
        return len(state.rendered[target]) >= FULL_BYTES
    if target in state.loaded:
        return len(state.loaded[target].document.text.encode("utf-8")) >= FULL_BYTES
    try:
        return (state.desk.root / state.desk.path_of(target)).stat().st_size >= FULL_BYTES
    except OSError:
        return False


def _ensure_writable(state: _State, target: str) -> None:
    """A ticket file with uncommitted hand edits is never written over."""
    if target in state.loaded and state.loaded[target].path in state.dirty:
        raise state.desk.dirty(state.loaded[target].path)


def _validate(state: _State, target: str, new: Ticket) -> None:
    before = state.loaded[target].ticket if target in state.loaded else None
    actions.validate_change(state.desk, before, new, state.desk.path_of(new.id), strict=False)


def _tell_agents(state: _State, old: Ticket, new: Ticket, incoming: Incoming, files: dict[str, bytes]) -> None:
    """Word to the agents who watch the ticket (or asked to hear of it) that the requester answered."""
    actor = Actor(incoming.sender, state.desk.config.person(incoming.sender), incoming.sender)
    now = clock.now()
    for letter in notify.agent_letters(state.desk.config, old, new, actor):
        message = compose.message(state.desk.config, state.desk.root, letter, now, [])
        files[outbox_path(new.id, now, str(message["Message-ID"]))] = message.as_bytes()




def _bounce_note(ticket: Ticket, incoming: Incoming, bounce: Bounce) -> Ticket:
    """An internal note that mail from this ticket never arrived, so an agent finds out. Only
    facts the desk can check go in: the requester's address (when the report names it) and
    the status code; never the report's free text."""
    # Only an address the ticket holds (the requester, someone in its Cc) is named: one the report
    # made up is not repeated, but the agent must know whether the requester got the mail.
    named = {address_key(address): address for address in (ticket.requester, *actions.cc_of(ticket))}
    to = named.get(address_key(bounce.recipient or ""))
    who = "" if to is None or address_key(to) == address_key(ticket.requester) else " (in the Cc)"
    text = (f"Mail to {to}{who} could not be delivered ({bounce.reason}; reported by {incoming.sender}). "
            "They may not have seen the last mail from this desk: check the address, or reach them another way."
            if to else
            f"Mail sent from this ticket could not be delivered ({bounce.reason}; reported by {incoming.sender}).")
    new = with_thread_id(ticket, incoming.message_id, answered=False)  # never In-Reply-To a bounce
    return _noted(new, text)


def _own_list(config: Config, list_id: str) -> bool:
    """Whether ``list_id`` names the desk's own address or an alias (a group that is the desk)."""
    # The whole list identifier, not a part of it: <audit.example.com> is not the group
    # it@example.com, and a List-Unsubscribe link naming the desk's address is a newsletter's.
    named = _list_named(list_id)
    return any(address and named in (address.casefold(), address.casefold().replace("@", "."))
               for address in (config.mail.address, *config.mail.aliases))


def _list_named(list_id: str) -> str:
    """What a List-Id names, folded: its part in <>, else all of it (it-users.lists.example)."""
    found = re.search(r"<([^<>]*)>", list_id)
    return (found.group(1) if found else list_id).strip().casefold()


def _noted(ticket: Ticket, text: str) -> Ticket:
    """``ticket`` with an internal note by the mail system: what an agent must know about a mail."""
    note = Entry(clock.now(), MAIL_SYSTEM, NOTE, ticketfile.escape_text(text))
    return replace(ticket, entries=(*ticket.entries, note))


# --- the run ----------------------------------------------------------------------------------


def _commit_message(result_items: list[Taken], source: str) -> str:
    count = Counter(item.outcome for item in result_items)
    parts = [part for number, part in (
        (count["new"], counted(count["new"], "new ticket")),
        (count["reply"], counted(count["reply"], "reply", "replies")),
        (count["feedback"], f"feedback on {counted(count['feedback'], 'ticket')}"),
        (count["bounce"], f"{counted(count['bounce'], 'bounce')} noted"),
    ) if number]
    subject = f"intake: {', '.join(parts)} from {source}"
    lines = [f"{item.ticket} {item.outcome} from {item.sender}: {' '.join(item.detail.split())}"[:200]
             for item in result_items if item.outcome in LANDED]
    touched = list(dict.fromkeys(item.ticket for item in result_items if item.ticket))
    trailers = ["Gitdesk-Action: intake"] + [f"Gitdesk-Ticket: {ticket_id}" for ticket_id in touched]
    return subject + "\n\n" + "\n".join(lines) + "\n\n" + "\n".join(trailers) + "\n"


def _land(desk: Desk, state: _State, items: list[Taken], files: dict[str, bytes], source: str,
          result: IntakeResult) -> None:
    """Render every touched ticket and commit the chunk; on failure report its messages as failed."""
    landed = [item for item in items if item.outcome in LANDED]
    if not landed:
        result.items.extend(items)
        return
    try:
        for ticket_id in dict.fromkeys(item.ticket for item in landed if item.ticket in state.changed):
            files[desk.path_of(ticket_id)] = state.rendered[ticket_id]
        desk.tickets_dir.mkdir(exist_ok=True)
        commit = desk.commit(files, _commit_message(landed, source), clock.now(),
                             new_files=frozenset(desk.path_of(t) for t in state.created)
                             | frozenset(p for p in files if p.startswith((attachments.ATTACHMENTS + "/",
                                                                            FEEDBACK + "/"))))
    except GitdeskError as error:
        reason = f"not taken in: the commit failed: {error}"
        result.items.extend(replace(item, outcome="failed", detail=reason, ticket=None)
                            if item.outcome in LANDED else item for item in items)
        return
    result.commits.append(commit)
    result.items.extend(items)
    index.written(desk, [path for path in files if path.startswith(TICKETS + "/")])


def run(desk: Desk, kind: str, path: Path, *, chunk: int | None = None) -> IntakeResult:
    """Take in every message of the mailbox at ``path``, ``chunk`` (default CHUNK) per commit."""
    name = path.name or path.resolve().name or str(path)  # "." is named by the folder it stands for
    result = IntakeResult(name)
    source = read_source(kind, path)
    with desk.progress("Taking in mail") as advance:
        while pending := list(itertools.islice(source, chunk or CHUNK)):
            _run_chunk(desk, pending, name, result, advance)
    return result


def _run_chunk(desk: Desk, messages: list[tuple[str, bytes | ValidationError]], source: str, result: IntakeResult,
               advance: Callable[[int], None] = lambda amount: None) -> None:
    """One commit's worth of messages; ``advance`` counts each as it is read (a chunk of a
    thousand took minutes with the bar standing at 0)."""
    parsed: list[tuple[str, Incoming | str]] = []
    refused: dict[str, str] = {}
    for position, raw in messages:
        if isinstance(raw, ValidationError):
            refused[position] = str(raw)
            continue
        try:
            parsed.append((position, parse(raw)))
        except MalformedMessage as error:
            parsed.append((position, str(error)))
    with desk.writing():
        state = _State.read(desk)
        files: dict[str, bytes] = {}
        items = [Taken(position, "failed", None, f"not taken in: {why}", again=False)
                 for position, why in refused.items()]
        advance(len(refused))
        for position, incoming in parsed:
            advance(1)
            if isinstance(incoming, str):
                items.append(Taken(position, "skipped", None, f"malformed: {incoming}"))
                continue
            items.append(_one(state, position, incoming, files))
        _land(desk, state, items, files, source, result)
        if state.event_rules is not None and state.event_rules.problem:
            result.rules_problem = state.event_rules.problem


def _continued(state: _State, target: str | None) -> str | None:
    """Where mail to ``target`` goes: a full thread's continuation (a later ticket of the same
    requester, related to it, that mail opened), so replies to its older messages follow the
    newest ticket. A resolved continuation still takes them (and reopens), as any ticket does; a
    ticket someone else linked as related is not a continuation."""
    seen = set()
    while target is not None and target in state.tickets and target not in seen:
        seen.add(target)
        if not _full(state, target):
            return target
        requester = address_key(state.tickets[target].requester)
        following = [t for t in state.tickets.values() if target in t.related and thread_ids(t)
                     and address_key(t.requester) == requester and t.id > target
                     and (t.status == workflow.RESOLVED or not workflow.is_done(state.desk.config, t.status))]
        if not following:
            return target
        target = min(following, key=lambda t: t.id).id
    return target


def _about_our_mail(state: _State, incoming: Incoming) -> bool:
    """Whether a delivery report quotes mail of one of the desk's tickets."""
    return (incoming.bounce is not None and not incoming.unauthenticated
            and any(_sent_by_us(state, quoted) and state.by_message[quoted] in state.tickets
                    for quoted in incoming.bounce.quoted))


def _one(state: _State, position: str, incoming: Incoming, files: dict[str, bytes]) -> Taken:
    def taken(outcome: str, ticket: str | None, detail: str) -> Taken:
        return Taken(position, outcome, ticket, detail, incoming.sender, incoming.message_id)

    incoming = _author_of_relayed(state.desk, incoming)
    if _is_loop(state.desk, incoming):
        return taken("skipped", None, "sent by this desk (a mail loop)")
    for known in (incoming.message_id, incoming.former_id):
        if known in state.by_message:
            return taken("skipped", state.by_message[known], "already taken in")
    if incoming.automatic and not _about_our_mail(state, incoming) and not (
            # A desk whose address is a group (Google Groups) gets every mail with Precedence: list.
            incoming.automatic == LIST_MAIL and _own_list(state.desk.config, incoming.list_id)):
        return taken("skipped", None, incoming.automatic)
    local = state.desk.config.mail.local_senders
    if state.desk.config.person(incoming.sender) is None and not workflow.is_email(incoming.sender, local=local):
        hint = "" if local or "@" not in incoming.sender else " (set mail.local_senders: true to take in mail " \
                                                              "from machines such as cron)"
        return taken("skipped", None, f"the sender {incoming.sender!r} is not an address a ticket can hold{hint}")
    try:
        outcome, ticket, detail = _apply(state, _cut_to_fit(incoming, state.desk.config.mail.max_attachment_bytes),
                                         files)
    except GitdeskError as error:
        return taken("failed", None, f"not taken in: {error}")
    return taken(outcome, ticket.id, detail)


def _cut_to_fit(incoming: Incoming, limit: int) -> Incoming:
    """A mail whose text is longer than a ticket keeps: its first MAX_MAIL_TEXT bytes (to a
    line's end), and the whole text attached (within the attachment ``limit``), so the mail is
    taken in once instead of failing at every intake."""
    whole = incoming.text.encode("utf-8")
    if len(whole) <= MAX_MAIL_TEXT:
        return incoming
    kept = whole[:MAX_MAIL_TEXT].decode("utf-8", "ignore")
    kept = kept[:kept.rfind("\n")] if "\n" in kept else kept
    size = attachments.size_text(len(whole))
    if len(whole) > limit:
        note = (f"[This mail's text ({size}) is cut here; the rest is not kept, being over the "
                f"{attachments.size_text(limit)} limit (mail.max_attachment_bytes).]")
        return replace(incoming, text=f"{kept.rstrip()}\n\n{note}")
    note = f"[This mail's text ({size}) is cut here; the whole text is attached, the first of the attachments below.]"
    return replace(incoming, text=f"{kept.rstrip()}\n\n{note}",
                   attachments=(Attachment(WHOLE_TEXT, whole, "text/plain"), *incoming.attachments))
