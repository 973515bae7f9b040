"""The workflow: which statuses exist, which moves are allowed, what each requires.

Validation returns every finding rather than stopping at the first, so
``gitdesk check`` can list them all; actions raise the first one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from gitdesk import clock
from gitdesk.clock import format_utc
from gitdesk.durations import parse_span
from gitdesk.errors import GitdeskError, TransitionError, ValidationError
from gitdesk.ids import id_pattern
from gitdesk.model import (
    ENTRY_KINDS,
    IMPORTED_ACTOR,
    IMPORTED_FROM,
    IMPORTED_UNDATED,
    MAIL_SYSTEM,
    QUESTION,
    REOPEN,
    REPLY,
    REQUESTER_NAME,
    RULES_AUTHOR,
    TIME,
    UNDATED_DATES,
    WAITING,
    Config,
    Entry,
    Ticket,
)
from gitdesk.text import address_key, has_hidden

# The statuses the verbs move tickets to. A desk's config may rename or drop
# others, but these names are what `take`, `ask`, `resolve` ... aim for.
OPEN = "open"
PENDING = "pending"
RESOLVED = "resolved"
CLOSED = "closed"
REJECTED = "rejected"
RESOLUTION = "resolution"  # a 'requires' entry meaning a non-empty Resolution section

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")
_LOCAL_ADDRESS = re.compile(r"^[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def a_or_an(word: str) -> str:
    """"an open", "a closed": for messages."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def is_email(text: str, *, local: bool = False) -> bool:
    """An ordinary address (name@domain.tld); with ``local``, also a machine's own
    (root@localhost, backup@nas01), as cron and monitoring send from."""
    return bool(_EMAIL.match(text) or (local and _LOCAL_ADDRESS.match(text)))


def is_requester(config: Config, ticket: Ticket, who: str) -> bool:
    """Whether ``who`` (a handle or an address) asked for ``ticket``: the same address or
    handle, ignoring case, or the same person in config under another name."""
    if address_key(who) == address_key(ticket.requester):
        return True
    person = config.person(who)
    return person is not None and person is config.person(ticket.requester)


def unanswered(config: Config, ticket: Ticket) -> str | None:
    """The desk's last words to the requester (a question, else a reply) if nobody has
    answered them since; None when the last public word is the requester's, or there is none
    (a ticket set pending by hand). A reminder must not quote an answered question, nor go out
    once the requester answered (``mail send`` withdraws it then)."""
    found = unanswered_entry(config, ticket)
    return found.text if found is not None else None


def unanswered_entry(config: Config, ticket: Ticket) -> Entry | None:
    """The entry of ``unanswered``'s words (when they were said: the wait on the answer starts there)."""
    for entry in reversed(ticket.entries):
        if entry.kind not in (QUESTION, REPLY, REOPEN) or entry.author == RULES_AUTHOR:
            continue  # internal entries, and the desk's own automatic mail, answer nothing
        if entry.kind == REOPEN or is_requester(config, ticket, entry.author) \
                or not config.is_agent(entry.author):
            return None  # the requester (or someone on their side) spoke last
        return entry
    return None


def is_done(config: Config, status: str) -> bool:
    return status in config.done_statuses


def check_transition(config: Config, old: str, new: str, path: str | None = None) -> None:
    if old == new:
        return
    current = config.statuses.get(old)
    if current is None:
        raise TransitionError(f"current status {old!r} is not in this desk's workflow", path=path,
                              hint=f"set a known status with gitdesk edit (known: {', '.join(config.statuses)})")
    if new not in current.next:
        allowed = ", ".join(current.next) or "nothing"
        raise TransitionError(f"cannot move from {old} to {new}", path=path,
                              hint=f"from {old} a ticket can go to: {allowed}")


def is_label(text: str) -> bool:
    """A single word that ``gitdesk label`` can add and remove (never starting with + or -)."""
    return bool(text) and not any(char.isspace() for char in text) and not text.startswith(("+", "-"))


def findings(config: Config, ticket: Ticket, path: str | None = None,
             line_of: dict[str, int] | None = None) -> list[GitdeskError]:
    """Everything wrong with a ticket against the desk's config."""
    lines = line_of or {}
    problems: list[GitdeskError] = []

    def add(error_type: type[GitdeskError], field: str, message: str, hint: str | None) -> None:
        problems.append(error_type(message, path=path, line=lines.get(field), hint=hint))

    if ticket.status not in config.statuses:
        add(ValidationError, "status", f"unknown status {ticket.status!r}",
            f"expected one of: {', '.join(config.statuses)}")
    if ticket.priority is not None and ticket.priority not in config.priorities:
        add(ValidationError, "priority", f"unknown priority {ticket.priority!r}",
            f"expected one of: {', '.join(config.priorities)}")
    if ticket.queue is not None and ticket.queue not in config.queues:
        add(ValidationError, "queue", f"unknown queue {ticket.queue!r}",
            f"expected one of: {', '.join(config.queues) or '(none configured)'}")
    if ticket.assignee is not None and ticket.assignee not in config.people:
        add(ValidationError, "assignee", f"unknown person {ticket.assignee!r}",
            "assign someone listed under people: in .gitdesk/config.yml")
    if ticket.category is not None and config.categories and ticket.category not in config.categories:
        add(ValidationError, "category", f"unknown category {ticket.category!r}",
            f"expected one of: {', '.join(config.categories)}; gitdesk set {ticket.id} category NAME fixes it")
    if not is_email(ticket.requester, local=config.mail.local_senders) and ticket.requester not in config.people \
            and not (ticket.requester == IMPORTED_ACTOR and ticket.extra.get(IMPORTED_FROM) is not None):
        add(ValidationError, "requester", f"unknown requester {ticket.requester!r}",
            "use an email address or a handle listed under people:")
    for field, value in (("title", ticket.title), ("asset", ticket.asset),
                         (REQUESTER_NAME, ticket.extra.get(REQUESTER_NAME))):
        if isinstance(value, str) and has_hidden(value):  # a terminal, a mail subject or a page would show it
            add(ValidationError, field, f"{field} holds a line break or a control or invisible character",
                f"gitdesk set {ticket.id} {field} 'TEXT' writes it as one clean line")
    pattern = id_pattern(config.id_prefix)
    waiting = ticket.extra.get(WAITING)
    if waiting is not None and not isinstance(waiting, list):
        add(ValidationError, WAITING, f"{WAITING} must be a list of ticket IDs",
            "gitdesk writes this field itself: put back what it wrote")
    for field, values in (("duplicate_of", [ticket.duplicate_of] if ticket.duplicate_of else []),
                          ("related", list(ticket.related)),
                          (WAITING, waiting if isinstance(waiting, list) else [])):
        for value in values:
            if not isinstance(value, str) or not pattern.match(value):
                add(ValidationError, field, f"{field}: {value!r} is not a ticket ID of this desk",
                    f"IDs look like {config.id_prefix}-01JD8X4KQ7M3ZP2C4X; use gitdesk link ID --related OTHER")
    message_ids = ticket.extra.get("message_ids")
    if message_ids is not None and (not isinstance(message_ids, list) or not all(
            isinstance(item, str) and _MESSAGE_ID.fullmatch(item) for item in message_ids)):
        add(ValidationError, "message_ids", "message_ids must be a list of Message-IDs like <id@host>",
            "gitdesk writes this field itself: put back what it wrote")
    odd = [label for label in ticket.labels if not is_label(label)]
    if odd:  # "a b" or "-x" could never be removed by gitdesk label
        add(ValidationError, "labels", f"not a label: {odd[0]!r}",
            "labels are single words, e.g. outlook; write them as labels: [outlook, vpn]")
    kb_title = ticket.extra.get("kb_title")
    if kb_title is not None and (not isinstance(kb_title, str) or "\n" in kb_title.strip()
                                 or "\r" in kb_title.strip()):
        add(ValidationError, "kb_title", "kb_title must be one line of text",
            "write the article's title on the kb_title: line, or remove the line")
    kb = ticket.extra.get("kb")
    if kb is not None and not isinstance(kb, bool):
        add(ValidationError, "kb", f"kb must be true or false, not {kb!r}",
            "write kb: false to keep the ticket out of the knowledge base")
    cc = ticket.extra.get("cc")
    if cc is not None and (not isinstance(cc, list) or not all(isinstance(a, str) and is_email(a) for a in cc)):
        add(ValidationError, "cc", "cc must be a list of email addresses", "write it as cc: [carol@example.com]")
    undated = ticket.extra.get(IMPORTED_UNDATED)
    if undated is not None and (not isinstance(undated, list) or not all(
            isinstance(item, str) and item in UNDATED_DATES for item in undated)):
        add(ValidationError, IMPORTED_UNDATED, f"{IMPORTED_UNDATED} must be a list of {', '.join(UNDATED_DATES)}",
            "gitdesk import writes this field itself: put back what it wrote")
    watchers = ticket.extra.get("watchers")
    if watchers is not None and (not isinstance(watchers, list)
                                 or not all(isinstance(w, str) and w in config.people for w in watchers)):
        add(ValidationError, "watchers", "watchers must be a list of people from the config",
            "write it as watchers: [alice], with handles listed under people:")
    status = config.statuses.get(ticket.status)
    if status is not None:
        for field in status.requires:
            if field == RESOLUTION:
                if not (ticket.resolution or "").strip():
                    add(ValidationError, "status", f"{a_or_an(ticket.status)} ticket needs a resolution note",
                        "write it under '## Resolution' or run gitdesk resolve ID --note TEXT")
            elif ticket.field_value(field) in (None, "", ()):
                add(ValidationError, field, f"{a_or_an(ticket.status)} ticket needs a {field}",
                    f"set it with gitdesk set ID {field} VALUE")
    return problems


FUTURE_SLACK = timedelta(days=1)


def _in_the_future(entry: Entry, path: str | None) -> ValidationError:
    return ValidationError(f"the {entry.kind} at {format_utc(entry.at)} is dated in the future", path=path,
                           hint=f"write when it was written, in UTC like now: {format_utc(clock.now())}")


def works_no_queue(handle: str, verb: str, path: str | None = None, line: int | None = None) -> ValidationError:
    """The one refusal of someone who works no tickets (``Config.is_agent``) for what only
    those who do may do: take, be given tickets, act for the desk."""
    return ValidationError(f"{handle} works no queue, so cannot {verb}", path=path, line=line,
                           hint=f"add {handle} to a queue's members, or agent: true under people:; "
                                "docs/config.md says who works tickets")


def change_findings(config: Config, old: Ticket | None, new: Ticket, path: str | None = None,
                    line_of: dict[str, int] | None = None) -> list[GitdeskError]:
    """Findings for a change from ``old`` (the committed version) to ``new``:
    the move itself first, then what the new version lacks."""
    ahead = clock.now() + FUTURE_SLACK  # later than this, an added entry is dated in the future
    if old is None:  # a new file: every entry is added by it, and so is its creation
        dated = [ValidationError(f"created {format_utc(new.created)} is in the future", path=path,
                                 line=(line_of or {}).get("created"), hint="write when it was created, in UTC")
                 ] if new.created > ahead else []
        dated += [_in_the_future(entry, path) for entry in new.entries if entry.at > ahead]
        if new.undated and IMPORTED_FROM not in new.extra:
            dated.append(ValidationError(f"{IMPORTED_UNDATED} is written by gitdesk import, with imported_from",
                                         path=path, line=(line_of or {}).get(IMPORTED_UNDATED),
                                         hint="remove the line: a new ticket's own dates stand"))
        return dated + findings(config, new, path, line_of)
    lines = line_of or {}
    problems: list[GitdeskError] = []
    for field in ("id", "created"):
        if old.field_value(field) != new.field_value(field):
            was = old.field_value(field)
            shown = format_utc(was) if isinstance(was, datetime) else str(was)  # as the file writes it
            problems.append(ValidationError(f"{field} cannot change", path=path, line=lines.get(field),
                                            hint=f"put back {field}: {shown}"))
    # Entries added by this change (older ones stand as they were written, by people since gone).
    before = {entry.heading for entry in old.entries}
    for entry in new.entries:
        if entry.heading in before:
            continue
        if entry.kind not in ENTRY_KINDS:
            problems.append(ValidationError(f"unknown entry kind {entry.kind!r} ({format_utc(entry.at)})", path=path,
                                            hint=f"use one of: {', '.join(ENTRY_KINDS)}"))
        if entry.kind == TIME:
            try:
                parse_span(entry.detail)
            except ValidationError as error:  # it would count as nothing, where show says "90 min"
                problems.append(ValidationError(f"the time at {format_utc(entry.at)}: {error.message}", path=path,
                                                hint="write it like 45m, 1h30m or 8h after '— time'"))
        if not (entry.author in config.people or entry.author in (RULES_AUTHOR, MAIL_SYSTEM)
                or is_email(entry.author, local=config.mail.local_senders)
                or (entry.author == IMPORTED_ACTOR and new.extra.get(IMPORTED_FROM) is not None)):
            problems.append(ValidationError(
                f"unknown author {entry.author!r} of the {entry.kind} at {format_utc(entry.at)}", path=path,
                hint="write a handle listed under people:, or the writer's email address"))
        # One dated next year counted in reports of a period not yet begun, and dated the rules'
        # mail. A day of slack for clocks that differ and local times typed as UTC. Only entries a
        # change adds, by the clock of the clone adding them: one committed by a clone whose clock
        # ran ahead must not stop every other clone's work on the ticket (or their pushes).
        if entry.at > ahead:
            problems.append(_in_the_future(entry, path))
    if not new.undated <= old.undated:  # it takes a ticket's clocks out of the figures: the import's word only
        problems.append(ValidationError(f"{IMPORTED_UNDATED} is written by gitdesk import, for dates its source "
                                        "lacked; a ticket's own dates stand", path=path,
                                        line=lines.get(IMPORTED_UNDATED),
                                        hint=f"put back {IMPORTED_UNDATED} as it was, or remove the line"))
    imported = new.extra.get(IMPORTED_FROM)
    if imported is not None and imported != old.extra.get(IMPORTED_FROM):
        # An imported ticket's first response is judged against no target: set on a desk's own
        # ticket, it would take a late answer out of the SLA report.
        problems.append(ValidationError(f"{IMPORTED_FROM} is written by gitdesk import; a desk's own ticket has "
                                        "none", path=path, line=lines.get(IMPORTED_FROM),
                                        hint=f"put back {IMPORTED_FROM} as it was, or remove the line"))
    if new.assignee and new.assignee != old.assignee and new.assignee in config.people \
            and not config.is_agent(new.assignee):  # as gitdesk assign refuses it, for a hand edit too
        problems.append(works_no_queue(new.assignee, "be given tickets", path, lines.get("assignee")))
    if old.status != new.status and old.status in config.statuses and new.status in config.statuses:
        try:
            check_transition(config, old.status, new.status, path)
        except TransitionError as error:
            error.line = lines.get("status")
            problems.append(error)
        if (config.reopen_requires_reason and is_done(config, old.status)
                and not is_done(config, new.status)):
            added = new.entries[len(old.entries):]
            if not any(entry.kind == REOPEN and entry.text.strip() for entry in added):
                problems.append(TransitionError(
                    "reopening needs a reason on this desk", path=path, line=lines.get("status"),
                    hint="run gitdesk reopen ID -m REASON"))
    return problems + findings(config, new, path, line_of)
