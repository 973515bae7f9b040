"""Tickets from other tools, with their history: ``gitdesk import github|csv|backlog``.

Each importer (``gitdesk.importers.*``) reads its format into ``Record``s and
``Skip``s; this module turns records into tickets. A record becomes a short,
backdated history: the ticket appears when it was created, each comment when
it was written, and its status moves along the desk's own workflow to where it
ended when it was closed, so timings, reports and ``gitdesk log`` tell the
truth about imported work and ``gitdesk check --range`` accepts every commit.
All commits are written by one ``git fast-import`` and land together: an import
adds everything or nothing.

Every ticket keeps where it came from in ``imported_from`` (e.g. ``github#12``);
importing the same data again skips what is already here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from gitdesk import actions, clock, ids, ticketfile, workflow
from gitdesk.cache import db, index
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.model import (
    IMPORTED_ACTOR,
    IMPORTED_FROM,
    IMPORTED_UNDATED,
    IMPORTED_WITHOUT_RESOLUTION,
    NOTE,
    REPLY,
    REQUESTER_NAME,
    Entry,
    Person,
    Ticket,
)
from gitdesk.text import address_key, clean_line


@dataclass(frozen=True, slots=True)
class Comment:
    at: datetime | None
    author: str | None  # an email, a handle, or a login the importer mapped
    text: str


@dataclass(slots=True)
class Record:
    """One ticket as another tool had it; fields are the desk's words, not the source's."""

    key: str  # unique in its source, e.g. "github#12": what makes a re-import skip it
    position: str  # where it was in the input, for messages: "issue #12", "row 7", a file name
    title: str
    body: str = ""
    requester: str | None = None
    created: datetime | None = None
    status: str | None = None  # a status of this desk; None: open (or new without a queue)
    closed: datetime | None = None  # when it reached ``status``, if it is finished
    assignee: str | None = None
    also_assigned: list[str] = field(default_factory=list)  # a source with several: one is kept, a desk agent first
    queue: str | None = None
    category: str | None = None
    priority: str | None = None
    asset: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    resolution: str | None = None
    kb_title: str | None = None  # the title its knowledge-base article is published under
    requester_name: str | None = None  # for a requester not known (gitdesk's own export): what greets them
    notes: list[str] = field(default_factory=list)  # what could not be carried over, said in the result


@dataclass(frozen=True, slots=True)
class Skip:
    position: str
    reason: str
    key: str | None = None  # the record's key in its source, when it could be read


@dataclass(frozen=True, slots=True)
class Imported:
    position: str
    key: str | None
    outcome: str  # imported | skipped
    ticket: str | None
    detail: str

    def as_record(self) -> dict[str, object]:
        return {"position": self.position, "key": self.key, "outcome": self.outcome, "ticket": self.ticket,
                "detail": self.detail}


@dataclass(slots=True)
class ImportResult:
    source: str
    items: list[Imported] = field(default_factory=list)
    commit: str | None = None
    commits: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)


TITLE_MOST = 200  # characters of an imported title: a ticket's title is a line in every listing
_LABEL = re.compile(r"[^\w.-]+|_+")


def label_name(text: str) -> str | None:
    """A source's label as a desk label: lower case, spaces and odd characters as '-'; the
    letters of any language kept (büro, 网络)."""
    name = re.sub("-{2,}", "-", _LABEL.sub("-", unicodedata.normalize("NFC", text.strip().lower()))).strip("-._")
    return name[:50] or None


def status_path(desk: Desk, start: str, goal: str, ticket: Ticket, *, satisfied: bool = True) -> list[str] | None:
    """The shortest walk through the workflow from ``start`` to ``goal`` whose every
    status the ticket satisfies (a queue, a resolution; any, without ``satisfied``), or None."""
    config = desk.config
    queue: deque[list[str]] = deque([[start]])
    seen = {start}
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path[1:]
        for following in config.statuses[path[-1]].next:
            if following in seen or following not in config.statuses:
                continue
            if satisfied and workflow.findings(config, replace(ticket, status=following)):
                continue
            seen.add(following)
            queue.append([*path, following])
    return None


def _folded(text: str) -> str:
    """A name as it is compared: one space between words, any case."""
    return " ".join(text.split()).casefold()


class _Builder:
    """Turns records into ticket histories: (time, order, files, message) steps."""

    def __init__(self, desk: Desk, actor: Actor, source: str, default_queue: str | None) -> None:
        self.desk = desk
        self.actor = actor
        self.source = source
        self.default_queue = default_queue
        self.now = clock.now()
        with db.connect(desk) as connection:
            existing, _ = index.tickets(desk, connection)
        self.known = {str(t.extra[IMPORTED_FROM]): t.id for t in existing if t.extra.get(IMPORTED_FROM)}
        self.titles = {t.id: t.title for t in existing if t.extra.get(IMPORTED_FROM)}
        # Who asked, and when: a "Password reset" of another system with the same number has its own.
        self.origins = {t.id: (t.requester, t.created) for t in existing if t.extra.get(IMPORTED_FROM)}
        self.taken = ids.Taken(t.id for t in existing)
        self.steps: list[tuple[datetime, int, dict[str, str | bytes | None], str]] = []
        from gitdesk.rules.engine import EventRules

        self.automation = EventRules(desk, mail=False, strict=True)

    def _person(self, who: str) -> Person | None:
        """One of the desk's people by handle, address or (as helpdesks export owners) their
        full name, when one person alone has it."""
        found = self.desk.config.person(who)
        if found is None:
            named = self._named(who)
            found = named[0] if len(named) == 1 else None
        return found

    def _named(self, who: str) -> list[Person]:
        """The people a spreadsheet's "Dan" may mean: a handle in any case, or a full name."""
        folded = _folded(who)
        return [person for person in self.desk.config.people.values()
                if folded in (person.handle.casefold(), _folded(person.name or ""))]

    def _full_name(self, who: str) -> Person | None:
        """The one person whose full name (of two words or more) is ``who``: a customer called
        "Paul" is not the desk's paul."""
        folded = _folded(who)
        if len(folded.split()) < 2:
            return None
        found = [person for person in self.desk.config.people.values() if _folded(person.name or "") == folded]
        return found[0] if len(found) == 1 else None

    def _author(self, who: str | None) -> str:
        """An entry author: a person's handle, else an email, else nobody the desk knows (never
        whoever runs the import: the workload would credit them with every imported comment)."""
        if who:
            person = self._person(who)
            if person is not None:
                return person.handle
            if workflow.is_email(who):
                return who
        return IMPORTED_ACTOR

    def _requester(self, record: Record) -> tuple[str, str | None]:
        """The requester's address or handle, and the name a ``Name <address>`` gave (the way
        Outlook and most helpdesks export people)."""
        given = record.requester
        if given == IMPORTED_ACTOR:  # gitdesk's own export of a requester not known: as it was, or
            named = self._full_name(record.requester_name or "")  # one of this desk's people by name
            return (named.email or named.handle, None) if named else (IMPORTED_ACTOR, record.requester_name)
        if given and (self.desk.config.person(given) or workflow.is_email(given)):
            return given, None
        named = self._full_name(given) if given and "<" not in given and "@" not in given else None
        if named is not None:  # a helpdesk's "Dana Kowalski" who is one of the desk's people
            return named.email or named.handle, None
        if given and "<" in given:
            from email.utils import parseaddr

            name, address = parseaddr(given)
            if address and workflow.is_email(address):
                return address, clean_line(name).strip(" '\"") or None
        # Not known: never whoever runs the import (the reports would make them the desk's busiest
        # requester); the name the source gave is kept to greet and to read.
        if given:
            record.notes.append(f"requester {given!r} has no address and is no full name of the desk's people: "
                                f"kept as a name, requester {IMPORTED_ACTOR}")
            return IMPORTED_ACTOR, clean_line(given).strip(" '\"") or None
        record.notes.append(f"no requester in the source: {IMPORTED_ACTOR}")
        return IMPORTED_ACTOR, None

    def _spec(self, record: Record) -> actions.NewTicket:
        config = self.desk.config
        queue = record.queue if record.queue in config.queues else None
        if record.queue and queue is None:  # "Facilities" for facilities, or the queue's title: one queue alone
            folded = _folded(record.queue)
            matching = [name for name, found in config.queues.items()
                        if folded in (name.casefold(), _folded(found.title))]
            queue = matching[0] if len(matching) == 1 else None
        if record.queue and queue is None:
            record.notes.append(f"queue {record.queue!r} is not one of this desk's")
        if queue is None and record.status != config.initial_status:  # drafts and the like wait in intake
            queue = self.default_queue
        assignee = None
        if record.also_assigned:  # the first the desk knows as an agent, else the first as given
            named = [record.assignee or "", *record.also_assigned]
            agents = [who for who in named if (person := self._person(who)) and config.is_agent(person.handle)]
            chosen = agents[0] if agents else named[0]
            record.notes.append(f"{chosen} kept of {len(named)} assignees")
            record.assignee = chosen
        if record.assignee:
            person = self._person(record.assignee)
            alike = self._named(record.assignee) if person is None else []
            if len(alike) > 1:
                record.notes.append(f"assignee {record.assignee!r} may be {' or '.join(p.handle for p in alike)}: "
                                    "unassigned")
            elif person is None:
                record.notes.append(f"assignee {record.assignee!r} is not one of the desk's people: unassigned")
            elif not config.is_agent(person.handle):  # gitdesk assign refuses them: the ticket is kept all the same
                record.notes.append(f"assignee {person.handle} works no queue: unassigned")
            elif queue and person.handle not in config.queues[queue].members:
                record.notes.append(f"assignee {person.handle} is not a member of {queue}: unassigned")
            else:
                assignee = person.handle
        category = record.category if record.category in config.categories else None
        if record.category and category is None:
            record.notes.append(f"category {record.category!r} is not one of this desk's")
        if record.priority and record.priority not in config.priorities:  # Zammad's "3 high", "P2 normal"
            bare = re.sub(r"^(?:p?\d+)[\s.:-]+", "", record.priority.strip(), flags=re.IGNORECASE).casefold()
            record.priority = bare if bare in config.priorities else record.priority
        priority = record.priority if record.priority in config.priorities else None
        if record.priority and priority is None:
            record.notes.append(f"priority {record.priority!r} is not one of this desk's: the default instead")
        labels = tuple(dict.fromkeys(name for name in (label_name(label) for label in record.labels) if name))
        requester, name = self._requester(record)
        title = clean_line(record.title)
        if len(title) > TITLE_MOST:
            record.notes.append(f"title cut to {TITLE_MOST} characters (the whole of it is in the source)")
        return actions.NewTicket(
            title=title[:TITLE_MOST] or "(no title)",
            requester=requester, queue=queue, priority=priority, category=category,
            asset=record.asset, labels=labels, assignee=assignee,
            extra=((IMPORTED_FROM, record.key), *(((REQUESTER_NAME, name),) if name else ()),
                   *((("kb_title", kb_title),) if (kb_title := clean_line(record.kb_title or "")) else ())),
        )

    def same_origin(self, holder: str, record: Record) -> bool:
        """Whether the ticket ``holder`` may be what ``record`` describes: created the same day
        and by the same requester, where the record says (its title is compared apart)."""
        requester, created = self.origins.get(holder, (None, None))
        if record.created is not None and created is not None and abs(record.created - created) > timedelta(days=1):
            return False
        given = (record.requester or "").rpartition("<")[2].rstrip(">").strip()
        return not (given and requester and "@" in given and "@" in requester
                    and address_key(given) != address_key(requester))

    def add(self, record: Record, order: int) -> Ticket:
        desk = self.desk
        # A date after the import cannot be true, and would date the branch's tip in the future
        # (every real reply after it would come "before" the ticket existed).
        for what, when in (("created", record.created), ("closed", record.closed),
                           *(("a comment", comment.at) for comment in record.comments)):
            if when is not None and when > self.now:
                raise ValidationError(f"{what} {clock.format_utc(when)} is in the future",
                                      hint="correct the date in the source and import again")
            if what == "closed" and when is not None and record.created is not None and when < record.created:
                raise ValidationError(f"closed {clock.format_utc(when)} is before it was created "
                                      f"({clock.format_utc(record.created)})", hint="correct the date in the source")
        # Without a creation date, the first date the source gives (a comment's, its closing):
        # a row closed on 5 November belongs to November's figures, not to the import's day.
        dated = [when for when in (record.closed, *(comment.at for comment in record.comments)) if when is not None]
        created = record.created or min(dated, default=self.now)
        if record.created is None:
            record.notes.append("no creation date in the source: created "
                                + ("at its first dated event" if dated else "now"))
        requester_actor = Actor(self.actor.id, self.actor.person, self.actor.email)
        ticket = actions.new_ticket(desk, self._spec(record), requester_actor, created, self.taken,
                                    None)  # a queue's round-robin would credit someone with old work
        body = ticketfile.escape_text(record.body.replace("\r\n", "\n").replace("\r", "\n"), section=False)
        ticket = replace(ticket, description=body if body.strip() else "")
        ticket = self.automation("created", ticket).ticket  # the desk's event rules, without their mail
        path = desk.path_of(ticket.id)
        goal = record.status or ticket.status
        if goal not in desk.config.statuses:
            record.notes.append(f"status {goal!r} is not one of this desk's: {ticket.status}")
            goal = ticket.status
        if goal == desk.config.initial_status and ticket.status != goal:
            # "New" in a queue: here a ticket in a queue is being worked on, so it starts there.
            record.notes.append(f"status {goal} with queue {ticket.queue}: imported as {ticket.status}")
            goal = ticket.status
        # Comments and the final status move, in the order they happened (a comment may follow the close).
        events: list[tuple[datetime, int, Comment | None]] = [
            (max(comment.at or created, created), number, comment) for number, comment in enumerate(record.comments)]
        early = sum(1 for comment in record.comments if comment.at is not None and comment.at < created)
        if early:  # a history cannot answer a ticket before it existed: said, not done silently
            record.notes.append(f"{early} {'comment' if early == 1 else 'comments'} dated before the ticket was "
                                "created: dated at its creation")
        undated = [] if record.created else ["created"]
        if goal != ticket.status:
            finished = workflow.is_done(desk.config, goal)
            last = max([created, *(at for at, _, _ in events)])
            if finished and record.closed is None:
                record.notes.append("no closing date in the source: closed at its last activity")
                undated.append("closed")
            events.append((max(record.closed or last, created) if finished else created, len(events), None))
        if undated:  # a guessed date measures nothing: timings leave out the clocks it would stop or start
            ticket = replace(ticket, extra={**ticket.extra, IMPORTED_UNDATED: undated})
        history: list[tuple[datetime, Ticket, str]] = [(created, ticket, f"import {ticket.id}: {ticket.title}")]
        for at, _, comment in sorted(events, key=lambda event: (event[0], event[1])):
            if comment is not None:
                text = ticketfile.escape_text(comment.text.replace("\r\n", "\n")) or "(empty comment)"
                # Nobody is named as its author (a CSV's Notes column): an internal note, not a public
                # reply at creation, which would be a first response.
                kind = REPLY if comment.author else NOTE
                ticket = replace(ticket, entries=(*ticket.entries, Entry(at, self._author(comment.author), kind, text)))
                history.append((at, ticket, f"import {ticket.id}: a comment"))
                continue
            if workflow.RESOLUTION in _requirements(desk, goal) or goal in (workflow.RESOLVED, workflow.CLOSED):
                resolution = (record.resolution or "").strip() or \
                    IMPORTED_WITHOUT_RESOLUTION.format(source=self.source)
                ticket = replace(ticket, resolution=ticketfile.escape_text(resolution))
            elif (record.resolution or "").strip() and workflow.is_done(desk.config, goal):
                # "Won't fix" with its reason: the words are kept where a finished ticket's go
                ticket = replace(ticket, resolution=ticketfile.escape_text(record.resolution or ""))
            path_found = status_path(desk, ticket.status, goal, ticket)
            if path_found is None:
                # A status on the way needs a field the row lacks ("resolved requires category"), or
                # the workflow has no way at all.
                walk = status_path(desk, ticket.status, goal, ticket, satisfied=False) or []
                lacking = [(status, problem) for status in walk
                           for problem in workflow.findings(desk.config, replace(ticket, status=status))]
                if lacking:
                    status, problem = lacking[0]
                    where = status if status == goal else f"{status}, on the way to {goal}"
                    raise ValidationError(f"status {where}: {problem.message}",
                                          hint="map the column that holds it with --map FIELD=COLUMN")
                raise ValidationError(f"this desk's workflow has no way from {ticket.status} to {goal}")
            for status in path_found:
                ticket = replace(ticket, status=status)
                history.append((at, ticket, f"import {ticket.id}: {status}"))
        previous: Ticket | None = None
        for _, state, _ in history:
            actions.validate_change(desk, previous, state, path)
            previous = state
        before: str | None = None
        for number, (at, state, message) in enumerate(history):
            # Who moved it, for the reports: the assignee the source gave, the one who worked it;
            # never whoever ran the import (they would be credited with every imported resolution).
            # Its creation and comments stay the import's, as log shows them.
            moved = before is not None and state.status != before
            before = state.status
            trailers = (f"\n\nGitdesk-Ticket: {state.id}\nGitdesk-Action: import\n"
                        + (f"Gitdesk-Actor: {state.assignee or IMPORTED_ACTOR}\n" if moved else ""))
            source_line = f"\n\nFrom {record.key} ({record.position})." if number == 0 else ""
            self.steps.append((at, order * 1000 + number, {path: ticketfile.new_text(state)},
                               message[:72] + source_line + trailers))
        self.known[record.key] = ticket.id
        self.titles[ticket.id] = ticket.title
        self.origins[ticket.id] = (ticket.requester, ticket.created)
        return ticket


def _requirements(desk: Desk, status: str) -> tuple[str, ...]:
    known = desk.config.statuses.get(status)
    return known.requires if known else ()


def run(desk: Desk, items: Iterable[Record | Skip], source: str, actor: Actor,
        queue: str | None = None) -> ImportResult:
    """Import every record (skipping those already here) in one all-or-nothing landing."""
    if queue is not None and queue not in desk.config.queues:
        raise ValidationError(f"unknown queue {queue!r}", hint=f"known queues: {', '.join(desk.config.queues)}")
    result = ImportResult(source)
    with desk.writing():
        builder = _read(desk, items, source, actor, queue, result)
        steps: Sequence[tuple[datetime, int, dict[str, str | bytes | None], str]] = sorted(
            builder.steps, key=lambda step: (step[0], step[1]))
        if steps:
            desk.tickets_dir.mkdir(exist_ok=True)
            with desk.progress("Writing the imported history (commits)", len(steps)) as advance:
                result.commit = desk.commit_series([(files, message, at) for at, _, files, message in steps],
                                                   f"import from {source}", advance)
            result.commits = len(steps)
            index.written(desk, sorted({path for _, _, files, _ in steps for path in files}))
    return result


def _read(desk: Desk, items: Iterable[Record | Skip], source: str, actor: Actor, queue: str | None,
          result: ImportResult) -> _Builder:
    """Every record read and made into its ticket's history (nothing written yet)."""
    with desk.progress("Reading records to import") as advance:
        builder = _Builder(desk, actor, source, queue or next(iter(desk.config.queues), None))
        for order, item in enumerate(items):
            advance(1)
            if isinstance(item, Skip):
                result.items.append(Imported(item.position, item.key, "skipped", None, item.reason))
                continue
            item.key = clean_line(item.key)  # a source's key is one line in the file and the commit message
            if item.key in builder.known:
                # Imported before, or a second row of this file with the same key (noted as such).
                earlier = next((done.position for done in result.items if done.key == item.key
                                and done.outcome == "imported"), None)
                holder = builder.known[item.key]
                title = builder.titles.get(holder)
                detail = ("in the file twice: the first was imported" if earlier == item.position else
                          f"the same key as {earlier}" if earlier else "already imported")
                if not earlier and title is not None and (title.casefold() != clean_line(item.title).casefold()
                                                          or not builder.same_origin(holder, item)):
                    # Another system's ticket with the same number, most likely: said, never merged silently.
                    detail += (f" (as {title[:60]!r}, not {clean_line(item.title)[:60]!r}: another system's "
                               "number? see --source in docs/import-export.md)")
                result.items.append(Imported(item.position, item.key, "skipped", holder, detail))
                continue
            try:
                ticket = builder.add(item, order)
            except GitdeskError as error:
                result.items.append(Imported(item.position, item.key, "skipped", None, f"cannot import: {error}"))
                continue
            detail = ticket.title + "".join(f"; {note}" for note in item.notes)
            result.items.append(Imported(item.position, item.key, "imported", ticket.id, detail))
    return builder
