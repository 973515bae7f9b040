"""One function per verb: load → validate → write → commit.

Each action holds the desk lock, refuses to touch a ticket with uncommitted
hand edits, validates the result against the workflow, and makes exactly one
commit containing only the files it wrote, with ``Gitdesk-*`` trailers.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from gitdesk import assignment, attachments, changes, clock, git, ids, paths, privacy, templates, ticketfile, workflow
from gitdesk.desk import Actor, Desk, LoadedTicket
from gitdesk.durations import HOURS_ONLY, format_duration, parse_span
from gitdesk.errors import GitdeskError, TransitionError, UnsafePath, ValidationError
from gitdesk.frontmatter import NOT_TEXT, parse_scalar
from gitdesk.model import (
    ESCALATION,
    FIELD_ORDER,
    GITDESK_EXTRA_FIELDS,
    IMMUTABLE_FIELDS,
    IMPORTED_ACTOR,
    IMPORTED_FROM,
    KNOWN_FIELDS,
    NOTE,
    OPTIONAL_LINK_FIELDS,
    QUESTION,
    REJECTION,
    REOPEN,
    REPLY,
    REQUESTER_NAME,
    RESERVED_NAMES,
    RULES_AUTHOR,
    TIME,
    WAITING,
    Config,
    Entry,
    Ticket,
)
from gitdesk.paths import TICKETS
from gitdesk.text import address_key, clean_line, closest, one_line, unmailable

FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_-]*\Z")
CC = "cc"  # addresses that hear of every public step, as the requester does
WATCHERS = "watchers"  # agents who asked to hear when the ticket is answered or reopened


def requester_address(config: Config, ticket: Ticket) -> str | None:
    """The requester's mail address; a requester known only by handle needs an email in config."""
    address = address_now(config, ticket.requester)
    return address if address is not None and workflow.is_email(address) else None


def address_now(config: Config, address: str) -> str | None:
    """The address to mail for ``address`` (an address or a handle): one of the desk's people's
    email now (None when they have none; an address they had, ``former_emails``, is never
    mailed), else itself."""
    person = config.person(address)
    return address if person is None else person.email or None


def _strings(ticket: Ticket, name: str) -> tuple[str, ...]:
    value = ticket.extra.get(name)
    return tuple(str(item) for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def cc_of(ticket: Ticket) -> tuple[str, ...]:
    return _strings(ticket, CC)


def waiting_of(ticket: Ticket) -> tuple[str, ...]:
    """The duplicates whose requesters wait for this ticket's answer (``WAITING``), each once."""
    return tuple(dict.fromkeys(_strings(ticket, WAITING)))


def with_waiting(ticket: Ticket, waiting: Sequence[str]) -> Ticket:
    extra = {key: value for key, value in ticket.extra.items() if key != WAITING}
    return replace(ticket, extra={**extra, WAITING: list(waiting)} if waiting else extra)


def watchers_of(ticket: Ticket) -> tuple[str, ...]:
    return _strings(ticket, WATCHERS)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the ticket as committed, and the commit."""

    verb: str
    ticket: Ticket
    commit: str
    path: str
    changes: tuple[str, ...]
    also: tuple[str, ...] = ()  # other ticket files the commit changed (the other side of a link)
    mailed: tuple[str, ...] = ()  # Message-IDs of the mail this action queued in outbox/
    before: Ticket | None = None  # the ticket it changed, as read under the lock (an edit's merge base)


    @property
    def ticket_files(self) -> tuple[str, ...]:
        return (self.path, *self.also)


@dataclass(frozen=True, slots=True)
class Mail:
    """Mail an action writes into outbox/ in its own commit, and the ticket that threads it."""

    ticket: Ticket  # the ticket with the mail's Message-IDs added to its thread
    files: Mapping[str, bytes | None]  # desk-relative outbox path -> the whole message (None: withdrawn)
    notes: tuple[str, ...] = ()  # for the commit message: "mail to … queued in outbox/…"
    message_ids: tuple[str, ...] = ()
    also: tuple[tuple[LoadedTicket, Ticket], ...] = ()  # other tickets the mail went out on (duplicates told)


class Mailer(Protocol):
    """What an action mails, given what it did (``gitdesk.mail.notify.Mailer`` is one).
    Called with the changed ticket before the commit; None: no mail."""

    def __call__(self, verb: str, old: Ticket, new: Ticket, actor: Actor) -> Mail | None: ...


# --- helpers ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Automated:
    """What the desk's event rules made of a ticket: the ticket as they left it, the mail
    they queued, and a line each for the commit message."""

    ticket: Ticket
    files: Mapping[str, bytes] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # the rules that acted, for Gitdesk-Rule trailers


class Automation(Protocol):
    """The event rules (``gitdesk.rules``): called as an action creates (``created``) or
    reopens (``reopened``) a ticket, inside that action, so one commit holds both. What a
    rule does never calls rules again."""

    def __call__(self, event: str, ticket: Ticket) -> Automated: ...


def _text(value: str | None, what: str, flag: str = "-m TEXT") -> str:
    cleaned = ticketfile.escape_text(value or "")
    if not clean_line(cleaned):  # nothing but blanks and invisible characters (a zero-width space) is empty too
        raise ValidationError(f"{what} is empty", hint=f"give the {what} with {flag}")
    return cleaned


def _known_person(desk: Desk, name: str) -> str:
    person = desk.config.person(name)
    if person is None:
        raise ValidationError(f"unknown person {name!r}",
                              hint=f"known people: {', '.join(desk.config.people) or '(none)'}")
    return person.handle


def _one_line(value: str, what: str) -> str:
    text = clean_line(value)
    if not text:
        raise ValidationError(f"{what} is empty")
    return text


def _message(verb: str, ticket: Ticket, lines: Sequence[str], actor: Actor, author_email: str,
             rules: Sequence[str] = ()) -> str:
    # A rule's commit names the rule: git log --oneline tells a reminder from a closing.
    subject = f"{verb} {rules[0] + ' ' if verb == 'rule' and rules else ''}{ticket.id}: {clean_line(ticket.title)}"
    if len(subject) > 72:
        subject = subject[:71].rstrip() + "…"
    body = "\n".join(clean_line(line) for line in lines)
    trailers = [f"Gitdesk-Ticket: {ticket.id}", f"Gitdesk-Action: {verb}"]
    if actor.via or address_key(actor.email or actor.id) != address_key(author_email):
        trailers.append(f"Gitdesk-Actor: {actor.id}")
    if actor.via:  # an assistant's write says so, whoever it acts as
        trailers.append(f"Gitdesk-Via: {actor.via}")
    trailers += [f"Gitdesk-Rule: {rule}" for rule in rules]
    return subject + "\n\n" + (body + "\n\n" if body else "") + "\n".join(trailers) + "\n"


def validate_change(desk: Desk, old: Ticket | None, new: Ticket, path: str,
                    lines: Mapping[str, int] | None = None, *, strict: bool = True) -> None:
    """Raise the first problem of the change, with the message gitdesk check gives: a command
    refuses a ticket check would refuse, unless the change fixes one of its problems and
    brings none (two bad fields are put right one ``set`` at a time). Not ``strict``: only
    problems the change brings count (mail taken in must not stick on an old one)."""
    before = set() if old is None else {p.message for p in workflow.findings(desk.config, old, path)}
    problems = workflow.change_findings(desk.config, old, new, path, dict(lines or {}))
    # by what each says, not where: the change may move lines
    brought = [problem for problem in problems if problem.message not in before]
    if brought:
        raise brought[0]
    if problems and strict and len({problem.message for problem in problems}) >= len(before):
        raise problems[0]


def validate_for_the_remote(desk: Desk, old: Ticket | None, new: Ticket, path: str) -> None:
    """Refuse a person's change that only an uncommitted edit of the config allows (a queue
    added there, not yet committed): the commit would pass here, and the push be refused by
    every clone's hooks and the server, which judge it by the committed config."""
    from gitdesk.paths import CONFIG_PATH

    if not desk.dirty_paths([CONFIG_PATH]):
        return
    from gitdesk.config import parse_config

    shown = desk.repo_path(CONFIG_PATH)
    try:
        text = git.regular_files_at(desk.repo, "HEAD", [shown]).get(shown)
        committed = parse_config(text.decode("utf-8")) if text is not None else None
    except (GitdeskError, UnicodeDecodeError):
        return  # no committed config, or a broken one: nothing to judge by but the file
    if committed is None:
        return
    for problem in workflow.change_findings(committed, old, new, path, {}):
        if problem.message in {known.message for known in workflow.change_findings(desk.config, old, new, path, {})}:
            continue
        operation = git.operation_in_progress(desk.repo)
        if operation is not None and git.staged_raw(desk.repo, [shown], "HEAD"):
            # a teammate's config, staged by the merge (not one's own unstaged edit): finish it, then act
            raise ValidationError(f"{problem.message}, by the config committed so far: the {operation} in progress "
                                  "brings it", path=path, hint=git.finish_hint(operation))
        # As typed where the person stands: inside the repository, above the desk's config, the
        # path from there; anywhere else (in tickets/, outside the repository), from its top.
        here = Path.cwd()
        command = f"git -C {shlex.quote(str(desk.repo.top))} commit {shlex.quote(shown)}"
        if here == desk.repo.top or desk.repo.top in here.parents:
            with contextlib.suppress(ValueError):
                command = f"git commit {shlex.quote(str((desk.root / CONFIG_PATH).relative_to(here)))}"
        raise ValidationError(f"{problem.message}, by the committed config: only your uncommitted {shown} allows "
                              "it, and the push would be refused", path=path,
                              hint=f"commit the config first, then do it again: {command}")


def _lines(loaded: LoadedTicket) -> dict[str, int]:
    return {key: span.line for key, span in loaded.document.front.spans.items()}


def entering(desk: Desk, status: str, *, resolution: str | None = None,
             at: datetime | None = None) -> Callable[[Ticket], Ticket]:
    """A move to ``status`` as the workflow allows it (a rule's ``close`` and ``resolve``
    steps, dated ``at``), with the resolution note a resolved status needs."""
    def mutate(ticket: Ticket) -> Ticket:
        if resolution is not None:
            ticket = _resolved_with(ticket, ticketfile.escape_text(resolution), at)
        return _enter_status(desk, ticket, status)

    return mutate


KEPT_RESOLUTION = 8000  # characters of a replaced resolution kept in its note; all of it stays in Git


def _resolved_with(ticket: Ticket, resolution: str, at: datetime | None = None) -> Ticket:
    """``resolution`` in place of the ticket's own. An earlier, different one (a reopened
    ticket's, mailed to its requester) is kept in the conversation as an internal note by
    gitdesk (nobody wrote it: no one's work in reports): the thread shows every answer the
    requester was given, not only the last. A long one is kept in part, so that resolving
    again and again cannot fill the ticket file."""
    earlier = (ticket.resolution or "").strip()
    if earlier and earlier != resolution.strip():
        kept = earlier if len(earlier) <= KEPT_RESOLUTION else \
            earlier[:earlier.rfind("\n", 0, KEPT_RESOLUTION) + 1 or KEPT_RESOLUTION].rstrip() + \
            f"\n\n… (the rest is in Git: git log -p -- {TICKETS}/{ticket.id}.md)"
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in kept.splitlines())
        note = Entry(at or clock.now(), RULES_AUTHOR, NOTE, f"The earlier resolution, replaced by the one below:"
                                                           f"\n\n{quoted}")
        ticket = replace(ticket, entries=(*ticket.entries, note))
    return replace(ticket, resolution=resolution)


def _enter_status(desk: Desk, ticket: Ticket, status: str, *, again_ok: bool = False) -> Ticket:
    if status not in desk.config.statuses:
        raise ValidationError(f"unknown status {status!r}",
                              hint=f"expected one of: {', '.join(desk.config.statuses)}")
    if ticket.status == status:
        if again_ok:
            return ticket
        raise TransitionError(f"{ticket.id} is already {status}")
    workflow.check_transition(desk.config, ticket.status, status, paths.ticket_path(ticket.id) if ticket.id else None)
    return replace(ticket, status=status)


def _out_of_intake(desk: Desk, ticket: Ticket) -> Ticket:
    """A ticket that gets a queue or an assignee leaves intake (new → open)."""
    if ticket.status == desk.config.initial_status and ticket.queue:
        return _enter_status(desk, ticket, workflow.OPEN)
    return ticket


def _queue_for(desk: Desk, ticket: Ticket, handle: str) -> str | None:
    """Keep the ticket's queue if it has one; else the person's first queue."""
    if ticket.queue:
        return ticket.queue
    queues = desk.config.queues_of(handle)
    return queues[0] if queues else None


def _enter_queue(desk: Desk, ticket: Ticket, queue: str, others: Callable[[], list[Ticket]] | None) -> Ticket:
    """Move to ``queue``; drop an assignee who is not a member; auto-assign per the queue's rule
    (``others`` None: nobody new is given it, as a finished ticket's record put right)."""
    if queue not in desk.config.queues:
        raise ValidationError(f"unknown queue {queue!r}",
                              hint=f"known queues: {', '.join(desk.config.queues) or '(none)'}")
    members = desk.config.queues[queue].members
    assignee = ticket.assignee if ticket.assignee in members else None
    chosen = assignment.pick(desk.config, queue, others) if assignee is None and others is not None else None
    moved = _out_of_intake(desk, replace(ticket, queue=queue, assignee=assignee or chosen))
    if chosen is not None and moved.id:  # the next pick of this process sees it before it is committed (a rules run)
        desk.handed[moved.id] = moved
    return moved


def _change(desk: Desk, typed_id: str, actor: Actor, verb: str,
            mutate: Callable[[Ticket], Ticket], mailer: Mailer | None = None,
            notes: Callable[[Ticket, Ticket], list[str]] | None = None) -> Outcome:
    """``mutate`` committed on one ticket; ``notes`` says what the person should know of the
    change (from the ticket before and after)."""
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])
        new = mutate(loaded.ticket)
        said = notes(loaded.ticket, new) if notes is not None else []
        return commit_change(desk, loaded, new, actor, verb, mailer=mailer, notes=said)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A change validated and written out, not yet committed (``commit_change`` commits
    it at once; ``rules run`` commits many in one series)."""

    verb: str
    ticket: Ticket
    path: str
    files: dict[str, str | bytes | None]  # None deletes (a withdrawn message)
    new_files: frozenset[str]
    message: str
    changes: tuple[str, ...]
    also: tuple[str, ...]
    mailed: tuple[str, ...]

    def outcome(self, commit: str) -> Outcome:
        return Outcome(self.verb, self.ticket, commit, self.path, self.changes, self.also, self.mailed)


def prepare_change(desk: Desk, loaded: LoadedTicket, new: Ticket, actor: Actor, verb: str,
                   also: Sequence[tuple[LoadedTicket, Ticket]] = (), *,
                   extra_files: Mapping[str, bytes] | None = None, notes: Sequence[str] = (),
                   mailer: Mailer | None = None, rules: Sequence[str] = ()) -> Prepared:
    """Validate ``new`` against the ticket as loaded and add the mail ``mailer`` makes of
    the change: the ticket, the mail in outbox/, nothing else, and the commit message."""
    old = loaded.ticket
    if new == old:
        raise GitdeskError(f"nothing to change: {old.id} is already like that")
    misplaced = ticketfile.misplaced_entries(loaded.document)
    if misplaced:  # check refuses the file; a resolve would replace the entry with the section
        raise misplaced[0]
    validate_change(desk, old, new, loaded.path, _lines(loaded))
    if actor.person is not None and actor.id != RULES_AUTHOR:
        validate_for_the_remote(desk, old, new, loaded.path)
    mail = mailer(verb, old, new, actor) if mailer is not None else None
    added: dict[str, bytes | None] = dict(extra_files or {})
    if mail is not None:
        new = mail.ticket
        added.update(mail.files)
        notes = [*notes, *mail.notes]
        also = [*also, *mail.also]
    files: dict[str, str | bytes | None] = {loaded.path: ticketfile.updated_text(loaded.document, old, new)}
    files.update(added)
    for other_loaded, other_new in also:
        validate_change(desk, other_loaded.ticket, other_new, other_loaded.path, _lines(other_loaded))
        files[other_loaded.path] = ticketfile.updated_text(other_loaded.document, other_loaded.ticket, other_new)
    lines = changes.describe(old, new) + list(notes)
    for other_loaded, other_new in also:
        lines += [f"{other_new.id} {line}" for line in changes.describe(other_loaded.ticket, other_new)]
    lines = [clean_line(line) for line in lines]  # one line each, as the commit message has them
    _, email = desk.identity()
    written = frozenset(path for path, data in added.items() if data is not None)
    return Prepared(verb, new, loaded.path, files, written, _message(verb, new, lines, actor, email, rules),
                    tuple(lines), tuple(other.path for other, _ in also),
                    mail.message_ids if mail is not None else ())


def commit_change(desk: Desk, loaded: LoadedTicket, new: Ticket, actor: Actor, verb: str,
                  also: Sequence[tuple[LoadedTicket, Ticket]] = (), *,
                  extra_files: Mapping[str, bytes] | None = None, notes: Sequence[str] = (),
                  mailer: Mailer | None = None, rules: Sequence[str] = ()) -> Outcome:
    """Validate ``new``, add its mail, and commit it all at once (``prepare_change``)."""
    prepared = prepare_change(desk, loaded, new, actor, verb, also, extra_files=extra_files, notes=notes,
                              mailer=mailer, rules=rules)
    commit = desk.commit(prepared.files, prepared.message, clock.now(), new_files=prepared.new_files)
    return prepared.outcome(commit)


def _others(desk: Desk, queue: str | None) -> Callable[[], list[Ticket]]:
    """The desk's tickets, as a queue's assignment rule reads them: round-robin goes by when
    each of the queue's tickets was last handed over (their entries say), so those are read whole."""
    rule = desk.config.queues.get(queue or "")
    round_robin = rule is not None and rule.assign == "round-robin"

    def read() -> list[Ticket]:
        if desk.query is not None:  # the index: the queue's tickets with their entries, or the unfinished ones
            tickets = desk.query(None, queue, True) if round_robin else \
                desk.query(desk.config.open_statuses, None, False)
        else:
            tickets = desk.all_tickets(body=False)[0]
            if round_robin:
                tickets = [_whole(desk, ticket) if ticket.queue == queue and ticket.assignee else ticket
                           for ticket in tickets]
        if not desk.handed:
            return tickets
        merged = {ticket.id: ticket for ticket in tickets}
        merged.update(desk.handed)
        return list(merged.values())
    return read


def _whole(desk: Desk, ticket: Ticket) -> Ticket:
    try:
        return desk.read(ticket.id)
    except GitdeskError:  # its body cannot be read (check says why): it counts from its creation
        return ticket


def _entry(actor: Actor, kind: str, text: str, detail: str = "", at: datetime | None = None) -> Entry:
    return Entry(at or clock.now(), actor.id, kind, text, detail)


# --- creating -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewTicket:
    title: str
    requester: str | None = None
    queue: str | None = None
    priority: str | None = None
    category: str | None = None
    asset: str | None = None
    labels: tuple[str, ...] = ()
    body: str = ""
    assignee: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    attach: tuple[tuple[str, bytes], ...] = ()  # files (name as given, bytes) stored under attachments/<ID>/

    def draft_fields(self) -> dict[str, Any]:
        """What was given on the command line, to prefill the editor's draft."""
        return {"title": self.title or None, "requester": self.requester, "queue": self.queue,
                "priority": self.priority, "category": self.category, "asset": self.asset, "labels": list(self.labels),
                "assignee": self.assignee}

    @classmethod
    def from_draft(cls, draft: templates.Draft) -> NewTicket | None:
        """The ticket a saved draft describes; None when its title was left empty (cancelled)."""
        fields = draft.fields
        if not fields.get("title"):
            return None

        def text(name: str) -> str | None:
            value = fields.get(name)
            return None if value in (None, "") else str(value)

        return cls(title=str(fields["title"]), requester=text("requester"), queue=text("queue"),
                   priority=text("priority"), category=text("category"), asset=text("asset"),
                   labels=tuple(str(label) for label in fields.get("labels") or ()), body=draft.body,
                   assignee=text("assignee"),
                   extra=tuple((key, value) for key, value in fields.items() if key not in templates.DRAFT_FIELDS))


def requester_value(desk: Desk, given: str | None, actor: Actor, *, mailable: bool = False) -> str:
    """The requester as stored: an email where one is known, else a handle. ``mailable``
    (a person typing it): an address no mail can carry is refused. Mail and imports take
    such a sender in as they come (intake notes it)."""
    if not given:
        return actor.email or actor.id
    person = desk.config.person(given)
    if person is not None:
        return person.email or person.handle
    if workflow.is_email(given, local=desk.config.mail.local_senders):
        reason = unmailable(given) if mailable and "@" in given else None
        if reason is not None:  # every mail to them would then fail
            raise ValidationError(f"cannot use {given!r} as the requester: {reason}",
                                  hint="give an address mail can carry, or a handle from people:")
        return given
    raise ValidationError(f"unknown requester {given!r}",
                          hint="use an email address or a handle from people: in .gitdesk/config.yml")


def create(desk: Desk, spec: NewTicket, actor: Actor, *, automation: Automation | None = None) -> Outcome:
    with desk.writing():
        now = clock.now()
        taken = ids.Taken(desk.ids_minted_in(ids.slot(desk.config.id_prefix, now)))
        requester_value(desk, spec.requester, actor, mailable=True)  # a person typed it: mail must reach it
        ticket = new_ticket(desk, spec, actor, now, taken, _others(desk, spec.queue))
        path = desk.path_of(ticket.id)
        files: dict[str, str | bytes] = {}
        automated = Automated(ticket)
        if automation is not None:
            automated = automation("created", ticket)
            ticket = automated.ticket
            validate_change(desk, None, ticket, path)
            files.update(automated.files)
        if actor.person is not None:
            validate_for_the_remote(desk, None, ticket, path)
        if spec.attach:
            stored: dict[str, bytes] = {}
            description = attachments.attach(ticket.id, ticket.description, spec.attach, set(),
                                             desk.config.mail.max_attachment_bytes, stored)
            ticket = replace(ticket, description=ticketfile.escape_text(description, section=False))
            files.update(stored)
        text = ticketfile.new_text(ticket)
        ticketfile.parse(text, path)  # what we write must read back
        lines = [*creation_lines(ticket), *automated.notes]
        _, email = desk.identity()
        desk.tickets_dir.mkdir(exist_ok=True)
        files[path] = text
        commit = desk.commit(files, _message("new", ticket, lines, actor, email, automated.rules), now,
                             new_files=frozenset(files))
        return Outcome("new", ticket, commit, path, tuple(lines))


def creation_lines(ticket: Ticket) -> list[str]:
    """What a new ticket's commit message says about it."""
    return [f"{name}: {changes.show(ticket.field_value(name))}"
            for name in ("status", "queue", "assignee", "priority") if ticket.field_value(name)]


def new_ticket(desk: Desk, spec: NewTicket, actor: Actor, now: datetime, existing: ids.Taken,
               others: Callable[[], list[Ticket]] | None) -> Ticket:
    """A valid new ticket with a fresh ID not in ``existing`` (which gains it). Call under the desk
    lock. ``others``: the desk's tickets, for the queue's assignment rule; None gives nobody the
    ticket by that rule (an import's tickets keep the assignee their source names, or none)."""
    config = desk.config
    title = _one_line(spec.title, "title")
    # Named before a file exists: check's wording would point at a ticket file never written
    # ("tickets/GD-….md: … gitdesk set GD-… category NAME fixes it").
    for what, value, known in (("category", spec.category, list(config.categories)),
                               ("priority", spec.priority, list(config.priorities))):
        if value and known and value not in known:
            close = closest(value, known)
            raise ValidationError(f"unknown {what} {value!r}" + (f" (did you mean {close}?)" if close else ""),
                                  hint=f"expected one of: {', '.join(known)}")
    for label in spec.labels:
        _check_label(label)
    for key, _ in spec.extra:
        _custom_field_name(key)
    ticket = Ticket(
        id="",
        title=title,
        status=config.initial_status,
        created=now,
        # An import's requester the source named without an address: not known, and said so.
        requester=IMPORTED_ACTOR if spec.requester == IMPORTED_ACTOR and dict(spec.extra).get(IMPORTED_FROM)
        else requester_value(desk, spec.requester, actor),
        priority=spec.priority or config.default_priority,
        category=spec.category or None,
        asset=clean_line(spec.asset) if spec.asset else None,
        labels=tuple(dict.fromkeys(spec.labels)),
        assignee=_agent(desk, spec.assignee) if spec.assignee else None,
        extra=dict(spec.extra),
        description=ticketfile.escape_text(spec.body, section=False) if spec.body.strip() else "",
    )
    if spec.queue:
        target = config.queues.get(spec.queue)
        if ticket.assignee and target is not None and ticket.assignee not in target.members:
            raise ValidationError(f"{ticket.assignee} is not a member of queue {spec.queue}",
                                  hint=f"members: {', '.join(target.members) or '(none)'}")
        ticket = _enter_queue(desk, ticket, spec.queue, others)
    elif ticket.assignee:
        ticket = _out_of_intake(desk, replace(ticket, queue=_queue_for(desk, ticket, ticket.assignee)))
    ticket = replace(ticket, id=_fresh_id(desk, now, existing))
    validate_change(desk, None, ticket, desk.path_of(ticket.id))
    existing.add(ticket.id)
    return ticket


def _fresh_id(desk: Desk, now: datetime, existing: ids.Taken) -> str:
    when = clock.within_second(now)
    if when - now >= timedelta(milliseconds=999):  # the second's last millisecond: after what is in it
        for taken in desk.ids_minted_in(ids.slot(desk.config.id_prefix, when)):
            existing.add(taken)
    for _ in range(100):
        candidate = ids.mint(desk.config.id_prefix, when, existing)
        if candidate not in existing and not (desk.tickets_dir / f"{candidate}.md").exists():
            return candidate
    raise UnsafePath("could not find a free ticket ID")  # pragma: no cover - 40 random bits


# --- assignment -----------------------------------------------------------------


def _assign_to(desk: Desk, handle: str, who: str, *, force: bool = True) -> Callable[[Ticket], Ticket]:
    """Assign to ``handle`` (``who`` names them in messages), entering their queue if needed;
    without ``force``, a ticket another agent holds is not taken from them."""

    def mutate(ticket: Ticket) -> Ticket:
        queue = _queue_for(desk, ticket, handle)
        if queue is None:
            raise ValidationError(f"{ticket.id} has no queue and {who} {'are' if who == 'you' else 'is'} in none",
                                  hint=f"set one first: gitdesk set {ticket.id} queue QUEUE")
        if ticket.assignee == handle:
            raise GitdeskError(f"{ticket.id} is already assigned to {who}")
        if ticket.assignee and not force:
            raise ValidationError(f"{ticket.id} is assigned to {ticket.assignee}",
                                  hint=f"ask them, or take it anyway with gitdesk take {ticket.id} --force")
        return _out_of_intake(desk, replace(ticket, assignee=handle, queue=queue))

    return mutate


def assigning(desk: Desk, person: str) -> Callable[[Ticket], Ticket]:
    """The change ``gitdesk assign ID PERSON`` makes (also a rule's ``assign`` step)."""
    handle = _agent(desk, person)
    return _assign_to(desk, handle, handle)


def _agent(desk: Desk, name: str) -> str:
    """A person who works tickets, by handle or email: the only ones a ticket may be given to."""
    handle = _known_person(desk, name)
    if not desk.config.is_agent(handle):
        raise workflow.works_no_queue(handle, "be given tickets")
    return handle


def take(desk: Desk, typed_id: str, actor: Actor, *, force: bool = False, mailer: Mailer | None = None) -> Outcome:
    handle = actor.require_agent(desk.config, "take tickets")
    assign_to = _assign_to(desk, handle, "you", force=force)
    return _change(desk, typed_id, actor, "take",
                   lambda ticket: assign_to(_unfinished(desk, ticket, "taken")), mailer)


def _unfinished(desk: Desk, ticket: Ticket, done: str) -> Ticket:
    """Refuse to hand on a finished ticket: it would count as work in the queue it moved to."""
    if workflow.is_done(desk.config, ticket.status):
        raise TransitionError(f"{ticket.id} is {ticket.status}, so it cannot be {done}",
                              hint=f"reopen it first: gitdesk reopen {ticket.id} -m \"why\"")
    return ticket


def assign(desk: Desk, typed_id: str, person: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    actor.require_agent(desk.config, "assign tickets")
    return _change(desk, typed_id, actor, "assign", assigning(desk, person), mailer)


def unassign(desk: Desk, typed_id: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    actor.require_person("unassign tickets")
    def mutate(ticket: Ticket) -> Ticket:
        if ticket.assignee is None:
            raise GitdeskError(f"{ticket.id} is not assigned to anyone")
        return replace(ticket, assignee=None)

    return _change(desk, typed_id, actor, "unassign", mutate, mailer)


# --- conversation ---------------------------------------------------------------


def replying(desk: Desk, text: str, actor: Actor) -> Callable[[Ticket], Ticket]:
    """The change a public reply makes: the entry, and a pending ticket back to open
    when its requester is the one answering."""
    body = _text(text, "reply")

    def mutate(ticket: Ticket) -> Ticket:
        new = replace(ticket, entries=(*ticket.entries, _entry(actor, REPLY, body)))
        # The requester answering a clarifying question puts the ticket back in the queue.
        if workflow.is_requester(desk.config, ticket, actor.id) and ticket.status == workflow.PENDING:
            new = _enter_status(desk, new, workflow.OPEN)
        return new

    return mutate


def reply(desk: Desk, typed_id: str, text: str, actor: Actor, *, attach: Sequence[tuple[str, bytes]] = (),
          fields: Mapping[str, Any] | None = None, mailer: Mailer | None = None) -> Outcome:
    """A public reply; ``attach`` (name, bytes) are stored under attachments/<ID>/ and linked
    from the reply; ``fields`` (from a canned reply) are set in the same commit."""
    body = _text(text, "reply")
    if len(attach) > attachments.MAX_PER_MESSAGE:  # the ticket would keep 200 and the mail carry them all
        raise ValidationError(f"{len(attach)} attachments: a reply carries at most {attachments.MAX_PER_MESSAGE}",
                              hint="send the rest in another reply, or put them in one archive")
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])
        files: dict[str, bytes] = {}
        if attach:
            body = attachments.attach(loaded.ticket.id, body, attach, attachments.existing(desk.root, loaded.ticket.id),
                                      desk.config.mail.max_attachment_bytes, files)
        new = replying(desk, body, actor)(loaded.ticket)
        if fields:
            new = _with_fields(desk, new, fields, actor)
        return commit_change(desk, loaded, new, actor, "reply", extra_files=files, mailer=mailer,
                             notes=_who_answered(desk, loaded.ticket, actor))


def _who_answered(desk: Desk, ticket: Ticket, actor: Actor) -> list[str]:
    """What to say of a reply recorded for someone outside the desk (``--as ADDRESS``, a phone
    call typed in): a stranger to the ticket (a mistyped address?) does not move it, and the
    requester answering a finished ticket does not reopen it by itself."""
    config = desk.config
    if actor.person is not None and config.is_agent(actor.person.handle):
        return []
    own = {address_key(value) for value in (actor.id, actor.email, actor.person.email if actor.person else None)
           if value}
    if not workflow.is_requester(config, ticket, actor.id) and not own & {address_key(a) for a in cc_of(ticket)}:
        shown = requester_address(config, ticket) or ticket.requester
        return [f"{actor.id} is neither the requester ({shown}) nor in the Cc: the ticket stays {ticket.status}"]
    if workflow.is_done(config, ticket.status):
        return [f"{ticket.id} is {ticket.status}: if the problem is back, gitdesk reopen {ticket.id} -m TEXT"]
    return []


DRAFTS = "drafts"  # review branches: drafts/<ID>-<n>


@dataclass(frozen=True, slots=True)
class Draft:
    """A public reply committed on a review branch and not sent: what merging it will do."""

    ticket: Ticket  # as it will be once the branch is merged
    branch: str  # drafts/<ID>-<n>
    base: str  # the branch it starts from, to merge it into
    commit: str
    path: str
    files: tuple[str, ...]  # what the commit holds: the ticket, and the mail waiting in outbox/
    changes: tuple[str, ...]
    mailed: tuple[str, ...]  # Message-IDs of the mail it will send once merged


def draft_reply(desk: Desk, typed_id: str, text: str, actor: Actor, *, mailer: Mailer | None = None) -> Draft:
    """The same reply ``reply`` would commit (entry, mail in outbox/, validation), committed
    instead on a new branch ``drafts/<ID>-<n>`` for a person to review and merge. The
    checked-out branch, the index and the work tree are not touched, and nothing is sent:
    mail goes out only from the mail branch, so only once the draft is merged."""
    actor.require_person("draft replies")
    body = _text(text, "reply")
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])  # the draft starts from the committed ticket, which this is then
        change = prepare_change(desk, loaded, replying(desk, body, actor)(loaded.ticket), actor, "reply", mailer=mailer)
        branch, commit, base = desk.commit_on_branch(change.files, change.message, clock.now(),
                                                     f"{DRAFTS}/{change.ticket.id}-")
    return Draft(change.ticket, branch, base, commit, change.path, tuple(change.files), change.changes, change.mailed)


def _with_fields(desk: Desk, ticket: Ticket, fields: Mapping[str, Any], actor: Actor) -> Ticket:
    """The fields a canned reply sets: status (by the workflow), priority, category, labels (added)."""
    for name, value in fields.items():
        if name == "status":
            if not ticket.queue:  # out of intake, as ask and take move it: into the agent's queue
                ticket = _with_queue(desk, ticket, actor.require_person("answer with a canned reply"))
            ticket = _enter_status(desk, ticket, str(value), again_ok=True)
        elif name == "priority":
            ticket = replace(ticket, priority=clean_line(str(value)) or None)
        elif name == "category":
            ticket = replace(ticket, category=clean_line(str(value)) or None)
        elif name == "labels":
            added = [_check_label(str(label)) for label in (value if isinstance(value, list) else [value])]
            ticket = replace(ticket, labels=tuple(dict.fromkeys((*ticket.labels, *added))))
        else:
            raise ValidationError(f"a canned reply cannot set {name!r}", hint="it may set status, priority, "
                                                                               "category and labels")
    return ticket


def desk_addresses(config: Config) -> list[str]:
    """Every address of the desk's own: mail.address, its aliases, and the addresses its routes
    take mail at (facilities@ is the desk's too). Mail to them comes back to the desk."""
    mail = config.mail
    return [address for address in (mail.address or "", *mail.aliases, *(a for route in mail.routes for a in route.to))
            if address]


def cc(desk: Desk, typed_id: str, edits: Sequence[str], actor: Actor) -> Outcome:
    """``edits`` like ``+carol@example.com -dave@example.com``: who else hears of every public step."""
    actor.require_person("change who is in Cc")
    plan = [(not edit.startswith("-"), edit.lstrip("+-")) for edit in edits]
    if not plan:
        raise ValidationError("no addresses given", hint="e.g. gitdesk cc ID +carol@example.com -dave@example.com")
    for add, address in plan:
        if not workflow.is_email(address):
            raise ValidationError(f"not an email address: {address!r}", hint="e.g. +carol@example.com")
        reason = unmailable(address) if add else None  # taking one out must always work
        if add and address_key(address) in {address_key(own) for own in desk_addresses(desk.config)}:
            raise ValidationError(f"cannot copy {address!r}: it is the desk's own address",
                                  hint="mail to it comes back to the desk; copy a person's address")
        if reason is not None:
            raise ValidationError(f"cannot copy {address!r}: {reason}", hint="give an address mail can carry")
        now = address_now(desk.config, address) if add else address
        if now is None or address_key(now) != address_key(address):
            raise ValidationError(f"cannot copy {address}: an address {desk.config.person(address).handle} had "  # type: ignore[union-attr]
                                  "(former_emails)", hint=f"copy {now}" if now else "they have no email now")

    def mutate(ticket: Ticket) -> Ticket:
        current = [str(item) for item in ticket.extra.get(CC) or [] if isinstance(item, str)]
        for add, address in plan:
            present = [item for item in current if address_key(item) == address_key(address)]
            if add and not present:
                current.append(clean_line(address))
            elif not add:
                current = [item for item in current if item not in present]
        extra = {**ticket.extra, CC: current}
        if not current:
            extra.pop(CC)
        return replace(ticket, extra=extra)

    return _change(desk, typed_id, actor, "cc", mutate)


def watch(desk: Desk, typed_id: str, actor: Actor, *, watching: bool = True) -> Outcome:
    """Start (or stop) watching a ticket: its watchers hear when it is answered or reopened."""
    handle = actor.require_person("watch tickets")

    def mutate(ticket: Ticket) -> Ticket:
        current = [str(item) for item in ticket.extra.get(WATCHERS) or [] if isinstance(item, str)]
        if watching == (handle in current):
            raise GitdeskError(f"you {'already watch' if watching else 'do not watch'} {ticket.id}")
        current = [*current, handle] if watching else [item for item in current if item != handle]
        extra = {**ticket.extra, WATCHERS: current}
        if not current:
            extra.pop(WATCHERS)
        return replace(ticket, extra=extra)

    return _change(desk, typed_id, actor, "watch" if watching else "unwatch", mutate)


def note(desk: Desk, typed_id: str, text: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    actor.require_person("write internal notes")
    body = _text(text, "note")
    return _change(desk, typed_id, actor, "note",
                   lambda ticket: replace(ticket, entries=(*ticket.entries, _entry(actor, NOTE, body))), mailer)


def _with_queue(desk: Desk, ticket: Ticket, handle: str) -> Ticket:
    return ticket if ticket.queue else replace(ticket, queue=_queue_for(desk, ticket, handle))


def ask(desk: Desk, typed_id: str, text: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    handle = actor.require_person("ask questions")
    body = _text(text, "question")

    def mutate(ticket: Ticket) -> Ticket:
        new = _with_queue(desk, ticket, handle)
        new = replace(new, entries=(*ticket.entries, _entry(actor, QUESTION, body)))
        return _enter_status(desk, new, workflow.PENDING, again_ok=True)

    return _change(desk, typed_id, actor, "ask", mutate, mailer)


def escalate(desk: Desk, typed_id: str, to: str | None, reason: str, actor: Actor,
             *, mailer: Mailer | None = None) -> Outcome:
    handle = actor.require_agent(desk.config, "escalate")
    return _change(desk, typed_id, actor, "escalate", escalating(desk, to, reason, actor, handle), mailer)


def escalating(desk: Desk, to: str | None, reason: str, actor: Actor, handle: str,
               at: datetime | None = None) -> Callable[[Ticket], Ticket]:
    """The change ``gitdesk escalate`` makes (also a rule's ``escalate`` step, dated ``at``:
    the moment it became due, so two clones write the same entry)."""
    why = _text(reason, "reason", "--reason TEXT")
    config = desk.config

    def mutate(ticket: Ticket) -> Ticket:
        _unfinished(desk, ticket, "escalated")
        target = to
        if not target:
            queue = config.queues.get(ticket.queue or "")
            target = queue.escalate_to if queue else None
            if not target:
                raise ValidationError(f"{ticket.id}'s queue has no escalation target",
                                      hint="say where with --to QUEUE|PERSON")
        entry = _entry(actor, ESCALATION, why, f"to {target}", at)
        new = replace(ticket, entries=(*ticket.entries, entry))
        if target in config.queues:
            if target == ticket.queue:
                raise ValidationError(f"{ticket.id} is already in {target}")
            return _enter_queue(desk, replace(new, assignee=None), target, _others(desk, target))
        person = config.person(target)
        if person is None:
            raise ValidationError(f"{target!r} is neither a queue nor a person",
                                  hint=f"queues: {', '.join(config.queues)}; people: {', '.join(config.people)}")
        if person.handle == ticket.assignee:
            raise ValidationError(f"{ticket.id} is already assigned to {person.handle}")
        if person.handle == handle:
            raise ValidationError("you cannot escalate a ticket to yourself", hint="use gitdesk take instead")
        _agent(desk, person.handle)
        # A person is asked for help: the ticket stays in its queue (in theirs only when it had none).
        queues = config.queues_of(person.handle)
        queue_name = ticket.queue or (queues[0] if queues else None)
        return _out_of_intake(desk, replace(new, assignee=person.handle, queue=queue_name))

    return mutate


_HOURS_HINT = "log hours and minutes, like 45m, 1h30m, or 8h for a working day"


def log_time(desk: Desk, typed_id: str, duration: str, text: str | None, actor: Actor,
             *, mailer: Mailer | None = None) -> Outcome:
    actor.require_person("log time")
    if duration.strip().isdigit():  # "2" meant hours to one agent and minutes to the next
        raise ValidationError(f"{duration.strip()!r} has no unit",
                              hint=f"write {duration.strip()}h for hours or {duration.strip()}m for minutes")
    try:
        span = parse_span(duration)
    except ValidationError as error:  # its hint offers "1d", which logged time refuses
        raise ValidationError(error.message, hint=_HOURS_HINT) from None
    if span.weeks or span.days:  # "1d" of work read as 24 hours made the capacity figures three times too high
        raise ValidationError(f"{duration.strip()!r} would log {format_duration(span.calendar())} of work: "
                              "in logged time a d is 24 hours", hint=_HOURS_HINT)
    spent = format_duration(span.calendar(), exact=True, day=HOURS_ONLY)  # "24h", never the refused "1d"
    body = ticketfile.escape_text(text or "")
    return _change(desk, typed_id, actor, "time",
                   lambda ticket: replace(ticket, entries=(*ticket.entries, _entry(actor, TIME, body, spent))), mailer)


# --- status ------------------------------------------------------------------


def resolve(desk: Desk, typed_id: str, note_text: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    handle = actor.require_agent(desk.config, "resolve tickets")
    resolution = ticketfile.escape_text(note_text or "")
    if not resolution.strip():
        raise ValidationError("a resolution note is required",
                              hint="say what fixed it: gitdesk resolve ID --note TEXT, or --note-file F")

    def mutate(ticket: Ticket) -> Ticket:
        new = _resolved_with(_with_queue(desk, ticket, handle), resolution)
        return _enter_status(desk, new, workflow.RESOLVED)

    return _change(desk, typed_id, actor, "resolve", mutate, mailer)


def close(desk: Desk, typed_id: str, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    return _change(desk, typed_id, actor, "close", lambda ticket: _enter_status(desk, ticket, workflow.CLOSED),
                   mailer)


def reopen(desk: Desk, typed_id: str, text: str | None, actor: Actor, *, mailer: Mailer | None = None,
           automation: Automation | None = None) -> Outcome:
    reason = ticketfile.escape_text(text or "")

    def mutate(ticket: Ticket) -> Ticket:
        if not workflow.is_done(desk.config, ticket.status):
            raise TransitionError(f"{ticket.id} is {ticket.status}, not finished; nothing to reopen")
        if desk.config.reopen_requires_reason and not reason.strip():
            raise TransitionError("reopening needs a reason on this desk", hint="add -m REASON")
        entries = (*ticket.entries, _entry(actor, REOPEN, reason)) if reason.strip() else ticket.entries
        new = no_longer_a_duplicate(replace(ticket, entries=entries))
        if actor.person is not None:
            new = _with_queue(desk, new, actor.person.handle)
        return _enter_status(desk, new, workflow.OPEN)

    if automation is None:
        return _change(desk, typed_id, actor, "reopen", mutate, mailer)
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])
        automated = automation("reopened", mutate(loaded.ticket))
        return commit_change(desk, loaded, automated.ticket, actor, "reopen", extra_files=automated.files,
                             notes=automated.notes, mailer=mailer, rules=automated.rules)


def no_longer_a_duplicate(ticket: Ticket) -> Ticket:
    """A duplicate reopened is a problem of its own again: the other answer did not help. It
    stays related to that ticket, but counts as demand in reports, not as noise."""
    if not ticket.duplicate_of:
        return ticket
    return replace(ticket, duplicate_of=None, related=_add(ticket.related, ticket.duplicate_of))


def reject(desk: Desk, typed_id: str, text: str | None, actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    actor.require_person("reject tickets")
    reason = ticketfile.escape_text(text or "")

    def mutate(ticket: Ticket) -> Ticket:
        entries = (*ticket.entries, _entry(actor, REJECTION, reason)) if reason.strip() else ticket.entries
        return _enter_status(desk, replace(ticket, entries=entries), workflow.REJECTED)

    return _change(desk, typed_id, actor, "reject", mutate, mailer)


# --- fields ------------------------------------------------------------------

_TEXT_FIELDS = ("title", "priority", "category", "asset", "requester")


def _field_name(field: str) -> str:
    """A field name a ticket file can hold (its own or a team's)."""
    name = field.strip()
    if not FIELD_NAME.match(name) or name in NOT_TEXT:
        raise ValidationError(f"not a field name: {field!r}",
                              hint="use lowercase letters, digits, '_' and '-' (and not yes, no, on, off, null…)")
    if name in RESERVED_NAMES:
        raise ValidationError(f"{name!r} cannot be a field: it names part of the ticket in its JSON record",
                              hint=f"rename the field, e.g. {name}_note")
    return name


def _custom_field_name(field: str) -> str:
    name = _field_name(field)
    if name in KNOWN_FIELDS:
        raise ValidationError(f"{name} is one of gitdesk's own fields", hint="set it with its own option")
    return name


def set_field(desk: Desk, typed_id: str, field: str, value: str, actor: Actor,
              *, mailer: Mailer | None = None) -> Outcome:
    def own(old: Ticket, new: Ticket) -> list[str]:  # "set ID due 2026-12-10" is read by nothing
        return [f"{name} is a field of your own: gitdesk keeps and shows it, and acts on nothing in it"
                for name in new.extra if name not in old.extra and name not in GITDESK_EXTRA_FIELDS]

    return _change(desk, typed_id, actor, "set", setting(desk, field, value, actor), mailer, own)


def setting(desk: Desk, field: str, value: str, actor: Actor, at: datetime | None = None) -> Callable[[Ticket], Ticket]:
    """The change ``gitdesk set ID FIELD VALUE`` makes (also a rule's ``set`` step, dated ``at``)."""
    name = _field_name(field.lower())
    if name in IMMUTABLE_FIELDS:
        raise ValidationError(f"{name} never changes once a ticket exists")
    if name in ("labels", "related"):
        raise ValidationError(f"{name} is a list", hint="use gitdesk label ID +ADD -REMOVE"
                              if name == "labels" else "use gitdesk link ID --related OTHER")
    cleared = value.strip() in ("", "-")
    if name in ("assignee", "queue", "status", "duplicate_of") or name in _TEXT_FIELDS:
        actor.require_person(f"change {name}")

    def mutate(ticket: Ticket) -> Ticket:
        if name == "status":
            return _enter_status(desk, ticket, value.strip())
        if name == "queue":
            if cleared:
                return replace(ticket, queue=None)
            finished = workflow.is_done(desk.config, ticket.status)  # putting a record right: nobody new is given it
            moved = _enter_queue(desk, ticket, value.strip(), None if finished else _others(desk, value.strip()))
            if moved.assignee and moved.assignee != ticket.assignee:
                # The queue's rule gave it to someone: said in the thread, and dated for round robin,
                # which takes turns by when each ticket was handed over (a move leaves no other trace).
                note, detail = assignment.given(moved.assignee, moved.queue or "", desk.config)
                moved = replace(moved, entries=(*moved.entries, Entry(at or clock.now(), RULES_AUTHOR, NOTE, note,
                                                                      detail)))
            return moved
        if name == "assignee":
            if cleared:
                return replace(ticket, assignee=None)
            handle = _agent(desk, value.strip())
            return _out_of_intake(desk, replace(ticket, assignee=handle,
                                                queue=_queue_for(desk, ticket, handle)))
        if name == "duplicate_of":
            if cleared:
                return replace(ticket, duplicate_of=None)
            other = _other_id(desk, ticket, value)
            root_of(desk, desk.load(other), avoid=ticket.id)  # as link does: no loop, no missing ticket
            return replace(ticket, duplicate_of=other)
        if name == "requester":
            requester = requester_value(desk, value.strip(), actor, mailable=True)
            # The name was the old requester's; an import's requester not known keeps it: the
            # address given is theirs at last.
            extra = {key: item for key, item in ticket.extra.items()
                     if key != REQUESTER_NAME or address_key(requester) == address_key(ticket.requester)
                     or (ticket.requester == IMPORTED_ACTOR and desk.config.person(requester) is None)}
            return replace(ticket, requester=requester, extra=extra)
        if name == "title":
            return replace(ticket, title=_one_line(value, "title"))
        if name in ("priority", "category", "asset"):
            text = None if cleared else _one_line(value, name)  # only invisible characters: not a value
            return replace(ticket, priority=text) if name == "priority" else \
                replace(ticket, category=text) if name == "category" else replace(ticket, asset=text)
        extra = dict(ticket.extra)
        if name not in extra and not cleared:
            _refuse_a_misspelling(name)
        if cleared:
            extra.pop(name, None)
        elif name in FLAGS:
            extra[name] = _flag(name, value)
        else:
            extra[name] = parse_scalar(value)
        return replace(ticket, extra=extra)

    return mutate


FLAGS = frozenset({"kb"})  # fields gitdesk reads as true or false, however a person types it
_SETTABLE = tuple(name for name in (*FIELD_ORDER, *OPTIONAL_LINK_FIELDS) if name not in IMMUTABLE_FIELDS)


def _refuse_a_misspelling(name: str) -> None:
    """A new field of the team's own is added by ``set``; one spelled like gitdesk's own
    ('staus', 'prio') is far more often a typo, which would sit in the file unread."""
    close = closest(name, _SETTABLE, cutoff=0.8) or next(
        (field for field in _SETTABLE if len(name) >= 3 and field.startswith(name)), None)
    if close:
        raise ValidationError(f"{name!r} is not one of gitdesk's fields (did you mean {close}?)",
                              hint=f"to add a field of your own named {name}, write it in the file with gitdesk edit")


def _flag(name: str, value: str) -> bool:
    word = value.strip().casefold()
    if word in ("true", "yes", "on", "1", "y"):
        return True
    if word in ("false", "no", "off", "0", "n"):
        return False
    raise ValidationError(f"{name} is true or false, not {value!r}", hint=f"e.g. gitdesk set ID {name} false")


def _check_label(label: str) -> str:
    text = label.strip()
    if not workflow.is_label(text):
        raise ValidationError(f"not a label: {label!r}", hint="labels are single words, e.g. outlook")
    return text


def label(desk: Desk, typed_id: str, edits: Sequence[str], actor: Actor, *, mailer: Mailer | None = None) -> Outcome:
    """``edits`` like ``+outlook -auth vpn`` (no sign means add)."""
    return _change(desk, typed_id, actor, "label", labelling(edits), mailer)


def labelling(edits: Sequence[str]) -> Callable[[Ticket], Ticket]:
    """The change ``gitdesk label`` makes (also a rule's ``label`` step)."""
    if not edits:
        raise ValidationError("no labels given", hint="e.g. gitdesk label ID +outlook -auth")
    plan: list[tuple[bool, str]] = []
    for edit in edits:
        if edit.startswith("-"):
            plan.append((False, _check_label(edit[1:])))
        else:
            plan.append((True, _check_label(edit.removeprefix("+"))))

    def mutate(ticket: Ticket) -> Ticket:
        labels = list(ticket.labels)
        for add, name in plan:
            if add and name not in labels:
                labels.append(name)
            elif not add and name in labels:
                labels.remove(name)
        return replace(ticket, labels=tuple(labels))

    return mutate


def _other_id(desk: Desk, ticket: Ticket, typed: str) -> str:
    other = desk.resolve(typed)
    if other == ticket.id:
        raise ValidationError(f"{ticket.id} cannot be linked to itself")
    return other


def link(desk: Desk, typed_id: str, actor: Actor, *, duplicate_of: str | None = None,
         related: str | None = None) -> Outcome:
    """Mark a duplicate (one way) or relate two tickets (both files, one commit)."""
    if (duplicate_of is None) == (related is None):
        raise ValidationError("say how to link", hint="give exactly one of --duplicate-of OTHER or --related OTHER")
    actor.require_person("link tickets")
    with desk.writing():
        loaded = desk.find(typed_id)
        other_id = _other_id(desk, loaded.ticket, duplicate_of or related or "")
        if duplicate_of is not None:
            root_of(desk, desk.load(other_id), avoid=loaded.ticket.id)  # no loop: nobody would answer
            desk.ensure_clean([loaded.path])
            new = replace(loaded.ticket, duplicate_of=other_id)
            return commit_change(desk, loaded, new, actor, "link")
        other = desk.load(other_id)
        desk.ensure_clean([loaded.path, other.path])
        new = replace(loaded.ticket, related=_add(loaded.ticket.related, other_id))
        other_new = replace(other.ticket, related=_add(other.ticket.related, loaded.ticket.id))
        also = [(other, other_new)] if other_new != other.ticket else []
        return commit_change(desk, loaded, new, actor, "link", also)


def root_of(desk: Desk, loaded: LoadedTicket, avoid: str | None = None) -> LoadedTicket:
    """The ticket that holds the answer for ``loaded``: itself, or where its ``duplicate_of``
    links lead (a duplicate of a duplicate waits for the first one's answer). A chain that
    comes back to ``avoid`` (or to itself) is refused: nobody there will ever answer."""
    current, seen = loaded, {loaded.ticket.id}
    while current.ticket.duplicate_of:
        following = current.ticket.duplicate_of
        if following == avoid and current is loaded:
            raise ValidationError(f"{loaded.ticket.id} is already a duplicate of {avoid}",
                                  hint=f"to make {avoid} the duplicate instead, reopen {loaded.ticket.id} first "
                                       f"(gitdesk reopen {loaded.ticket.id})")
        if following == avoid or following in seen:
            raise ValidationError(f"the duplicate links from {loaded.ticket.id} lead back to {following}",
                                  hint="a ticket cannot wait for its own answer: fix duplicate_of in "
                                       f"{current.ticket.id} (gitdesk edit {current.ticket.id})")
        try:
            current = desk.load(following)
        except GitdeskError:
            # Its own text is not an answer, and may hold words meant for its requester alone.
            raise ValidationError(f"{current.ticket.id} is a duplicate of {following}, which this desk does not have",
                                  hint=f"fix duplicate_of in {current.ticket.id} (gitdesk edit "
                                       f"{current.ticket.id}), or pull first") from None
        seen.add(following)
    return current


def close_as_duplicate(desk: Desk, typed_id: str, of: str, actor: Actor, text: str | None = None, *,
                       mailer: Mailer | None = None, unsolved: Callable[[Ticket], bool] | None = None) -> Outcome:
    """Link ``typed_id`` as a duplicate of ``of`` (or of the ticket ``of`` is itself a
    duplicate of) and resolve it in one commit, with a note that tells the requester where
    the answer is: the other ticket's resolution if it is solved, else that they will hear
    when it is, in a mail of their own (the other ticket's ``duplicates_waiting``).
    ``unsolved`` says of a finished ticket that it holds no answer (a rule closed it for want
    of one: ``cache.history.finished_by_a_rule``); the duplicate then waits for it too."""
    handle = actor.require_agent(desk.config, "close tickets as duplicates")
    said = ticketfile.escape_text(text or "").strip()
    with desk.writing():
        loaded = desk.find(typed_id)
        other = root_of(desk, desk.load(_other_id(desk, loaded.ticket, of)), avoid=loaded.ticket.id)
        other_id = other.ticket.id
        if other.ticket.status == workflow.REJECTED:
            raise ValidationError(f"{other_id} was rejected: no answer will come from it",
                                  hint=f"reopen it first (gitdesk reopen {other_id}), or name the ticket that "
                                       "holds the answer")
        desk.ensure_clean([loaded.path, other.path])
        # Another person's title is theirs ("Payroll for Kim Jones is wrong"): the note is mailed to
        # this requester, so it names the other ticket by its ID alone.
        same = address_key(loaded.ticket.requester) == address_key(other.ticket.requester)
        copied = bool(cc_of(loaded.ticket))  # a colleague in the Cc reads the mail too: the ID alone
        named = f"{other_id} ({one_line(other.ticket.title)})" if same and not copied else other_id
        also: list[tuple[LoadedTicket, Ticket]] = []
        loaded_ticket = loaded.ticket  # if the other is solved, who waits for this one is told its answer
        finished = workflow.is_done(desk.config, other.ticket.status)
        closed_unsolved = finished and unsolved is not None and unsolved(other.ticket)
        notes: list[str] = []
        if finished and (other.ticket.resolution or "").strip() and not closed_unsolved:
            lead = templates.wrap_prose(f"This is the same problem as {named}, which was solved:")
            # Written to another requester, it may name them ("Lena (0171 1234567) confirmed it"):
            # this one reads it as the knowledge base shows it.
            solved = other.ticket.resolution or ""
            solved = solved if same and not copied else privacy.without_private(solved, privacy.desks_own(desk.config))
            answer = f"{lead}\n\n{solved}"
        else:
            # Promise only what will happen: nobody works a ticket closed for want of an answer, and
            # a desk without mail.address mails nobody.
            heard = bool(desk.config.mail.address)
            if finished:
                answer = f"This is the same problem as {named}" + (
                    ". You will hear from us when it is solved." if heard else ", which is not solved yet.")
            else:
                answer = f"This is the same problem as {named}. We are working on it there" + (
                    " and you will hear when it is solved." if heard else ".")
            if closed_unsolved:
                notes.append(f"{other_id} was closed by a rule without an answer: reopen it to work on it; "
                             f"{loaded.ticket.id} waits for its resolution")
            # This requester, and those who wait for this ticket, now wait for the other one; their
            # links move there too, so every duplicate points at the ticket with the answer.
            still, moved = _moved_waiting(desk, loaded, other)
            also += moved
            # The same requester hears on the other ticket itself; their Cc does not, so is told apart.
            waiting = [*waiting_of(other.ticket), *([] if same and not copied else [loaded.ticket.id]), *still]
            other_new = with_waiting(other.ticket, [item for item in dict.fromkeys(waiting) if item != other_id])
            if other_new != other.ticket:
                also.append((other, other_new))
            loaded_ticket = with_waiting(loaded.ticket, [])
            answer = templates.wrap_prose(answer)  # the desk's own sentence reads as its mail does
        resolution = f"{said}\n\n{answer}" if said else answer
        new = replace(_resolved_with(_with_queue(desk, loaded_ticket, handle), resolution), duplicate_of=other_id)
        new = _enter_status(desk, new, workflow.RESOLVED)
        return commit_change(desk, loaded, new, actor, "duplicate", also, notes=notes, mailer=mailer)


def _moved_waiting(desk: Desk, loaded: LoadedTicket, other: LoadedTicket
                   ) -> tuple[list[str], list[tuple[LoadedTicket, Ticket]]]:
    """Who waits for ``loaded`` and will wait for ``other``, and those of them linked to
    ``other`` instead of ``loaded`` (one with hand edits in progress keeps its link, which
    leads there anyway). One that no longer waits (reopened, its link changed by hand), or
    has the other's requester (they hear on the other ticket itself), is left out."""
    still: list[str] = []
    moved: list[tuple[LoadedTicket, Ticket]] = []
    for waiting_id in waiting_of(loaded.ticket):
        try:
            waiter = desk.load(waiting_id)
        except GitdeskError:
            continue
        if (waiter.ticket.duplicate_of != loaded.ticket.id or waiting_id == other.ticket.id
                or address_key(waiter.ticket.requester) == address_key(other.ticket.requester)):
            continue
        still.append(waiting_id)
        if not desk.dirty_paths([waiter.path]):
            moved.append((waiter, replace(waiter.ticket, duplicate_of=other.ticket.id)))
    return still, moved


def _add(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return items if item in items else (*items, item)


# --- editing the whole file ---------------------------------------------------


def edit_problems(desk: Desk, loaded: LoadedTicket, text: str) -> list[GitdeskError]:
    """Everything wrong with an edited file, judged against the committed one."""
    try:
        ticket, document = ticketfile.parse(text, loaded.path)
    except GitdeskError as error:
        return [error]
    lines = {key: span.line for key, span in document.front.spans.items()}
    # Strict on purpose: whoever edits the whole file can fix whatever is wrong in it.
    return [*ticketfile.misplaced_entries(document),
            *workflow.change_findings(desk.config, loaded.ticket, ticket, loaded.path, lines),
            *changes.mailed_removed(loaded.ticket, ticket, desk.committed_under, desk.prefix, loaded.path)]


def check_edit(desk: Desk, loaded: LoadedTicket, text: str) -> Ticket:
    """Validate an edited file against the committed one; raise the first problem."""
    problems = edit_problems(desk, loaded, text)
    if problems:
        raise problems[0]
    return ticketfile.parse(text, loaded.path)[0]


def _keep_edit(desk: Desk, ticket_id: str, text: str) -> str:
    """Where an edit that could not be committed is kept (beside the desk's other state)."""
    folder = desk.repo.state_dir / "edits"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ticket_id}-{clock.now().strftime('%Y%m%dT%H%M%S')}.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def save_edit(desk: Desk, typed_id: str, original: str, text: str, actor: Actor,
              merge: Callable[[str, str, str, str], tuple[str, Sequence[str]]] | None = None) -> Outcome:
    """Commit an edited ticket file (from ``gitdesk edit``), if it is valid and still current.
    ``merge(original, edited, current, path)`` -> (text, conflicts) merges an edit with what
    landed on the ticket meanwhile (the merge driver's way); without it, such an edit is refused."""
    with desk.writing():
        loaded = desk.find(typed_id)
        desk.ensure_clean([loaded.path])
        current = ticketfile.updated_text(loaded.document, loaded.ticket, loaded.ticket)
        if current != original:
            # A colleague's reply, a sync or a mail round landed meanwhile: merged as the merge
            # driver merges two clones' changes; the same place changed both ways keeps the
            # text typed in a file, never lost.
            merged, conflicts = merge(original, text, current, loaded.path) if merge else (text, ("the file",))
            if conflicts:
                kept = _keep_edit(desk, loaded.ticket.id, text)
                raise GitdeskError(f"{loaded.ticket.id} changed while you were editing, in the same place as your "
                                   f"edit ({', '.join(conflicts)})",
                                   hint=f"your text is kept in {kept}; run gitdesk edit again and bring your "
                                        "changes over from it")
            original, text = current, merged
        if text == original:
            raise GitdeskError("nothing to change: the file was saved unchanged")
        ticket = check_edit(desk, loaded, text)
        if (address_key(ticket.requester) != address_key(loaded.ticket.requester) and REQUESTER_NAME in ticket.extra
                and ticket.extra[REQUESTER_NAME] == loaded.ticket.extra.get(REQUESTER_NAME)
                and loaded.ticket.requester != IMPORTED_ACTOR):
            # The kept name was the previous requester's (as set requester drops it): greeting the
            # new one by it would be wrong. A name edited along with the requester stays.
            renamed = replace(ticket, extra={key: item for key, item in ticket.extra.items() if key != REQUESTER_NAME})
            text = ticketfile.updated_text(ticketfile.parse(text, loaded.path)[1], ticket, renamed)
            ticket = renamed
        lines = changes.describe(loaded.ticket, ticket)
        _, email = desk.identity()
        commit = desk.commit({loaded.path: text}, _message("edit", ticket, lines, actor, email), clock.now())
        return Outcome("edit", ticket, commit, loaded.path, tuple(lines), before=loaded.ticket)
