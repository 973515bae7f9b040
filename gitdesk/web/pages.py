"""What each page shows, gathered from the library the command line uses.

Every page reads through the same index as ``gitdesk list`` (refreshed from the
work tree on each read), so edits made meanwhile by the CLI, an editor or
``git pull`` show on the next request. Nothing here writes; ``acting`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitdesk import clock, listing, workflow
from gitdesk.config import INTAKE_BOARD
from gitdesk.desk import Desk
from gitdesk.errors import GitdeskError
from gitdesk.model import Ticket
from gitdesk.render.views import (
    due_text,
    entry_label,
    field_text,
    local_time,
    resolution_heading,
    ticket_facts,
    timing_lines,
)
from gitdesk.timings import Timings

PAGE = 50  # tickets per column or list page: a board stays fast at 100,000 tickets
INTAKE = INTAKE_BOARD  # the board of tickets in no queue yet (no queue may take the name)


def action_done(desk: Desk, ticket_id: str, verb: str, commit: str) -> list[str] | None:
    """What the action the page was sent back from did, as ``gitdesk VERB`` prints it, read from
    its commit: None unless that commit is ``verb`` on this ticket (the link is anyone's to write)."""
    from gitdesk import git

    result = git.run_result(desk.repo, "show", "-s", "--format=%H%n%B", f"{commit}^{{commit}}", "--")
    if result.returncode != 0:
        return None
    full, _, message = result.stdout.decode("utf-8", "replace").partition("\n")
    if not git.is_ancestor(desk.repo, full, "HEAD"):  # a commit of the desk's history, not a draft branch's
        return None
    body = message.split("\n")[1:]
    trailers = {line for line in body if line.startswith("Gitdesk-")}
    if {f"Gitdesk-Ticket: {ticket_id}", f"Gitdesk-Action: {verb}"} - trailers:
        return None
    # The mail plumbing (the thread's Message-IDs) is not worth a reader's line, as on the terminal.
    return [line for line in body if line.strip() and line not in trailers and not line.startswith("message_ids:")]


@dataclass(frozen=True)
class Card:
    """One ticket as a board or a list shows it."""

    id: str
    title: str
    status: str
    priority: str
    queue: str
    assignee: str
    age: str
    due: str
    late: bool


@dataclass(frozen=True)
class Column:
    status: str
    cards: list[Card]
    total: int
    more: str | None  # where the rest of the column is listed


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    columns: list[Column]
    problems: list[str]


@dataclass(frozen=True)
class Listed:
    title: str
    cards: list[Card]
    total: int
    page: int
    pages: int
    problems: list[str]


def _card(ticket: Ticket, derived: Timings | None, now: datetime) -> Card:
    from gitdesk.durations import format_age

    due = derived.next_due if derived is not None else None
    late = due is not None and due.due is not None and due.due < now
    return Card(ticket.id, ticket.title, ticket.status, ticket.priority or "", ticket.queue or "",
                ticket.assignee or "", format_age((now - ticket.created).total_seconds()),
                due_text(derived, now, short=True) if derived is not None else "-", late)


class _Remembered:
    """Timings this server worked out, kept while their ticket stays exactly as it was.

    A board orders a whole queue by when each ticket falls due, which takes every
    ticket's timings (the audit log, worked through the SLA clocks): 0.3 s for a queue
    of 550 tickets. A ticket's timings change only when the ticket does (every action
    and hand edit changes its file), so a server that keeps them pays only for tickets
    that changed since. An entry is also forgotten after ``KEEP`` seconds, in case a
    history was rewritten under an unchanged file."""

    KEEP = 600.0

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.known: dict[str, tuple[Ticket, Timings, float]] = {}

    def timings(self, desk: Desk, tickets: Sequence[Ticket], now: datetime) -> dict[str, Timings]:
        import hashlib
        import time

        from gitdesk.cache import history

        moment = time.monotonic()
        # The config sets the clocks (targets, calendar, holidays): a change to it changes every
        # ticket's timings while no ticket file changes. Its parsed form names all of that.
        config = hashlib.sha1(repr(desk.config).encode("utf-8")).hexdigest()
        found: dict[str, Timings] = {}
        missing: list[Ticket] = []
        with self.lock:
            for ticket in tickets:
                kept = self.known.get(f"{desk.root}:{config}:{ticket.id}")
                if kept is not None and moment - kept[2] < self.KEEP and (kept[0] is ticket or kept[0] == ticket):
                    found[ticket.id] = kept[1]
                else:
                    missing.append(ticket)
        if missing:
            fresh = history.timings(desk, missing, now)
            found.update(fresh)
            with self.lock:
                for ticket in missing:
                    self.known[f"{desk.root}:{config}:{ticket.id}"] = (ticket, fresh[ticket.id], moment)
        return found


_REMEMBERED = _Remembered()


def _parse() -> Any:
    """The index's row parser, remembered: the rows of unchanged tickets come back as the
    same Ticket objects, so a board at 100,000 tickets does not rebuild thousands of them
    per view, and the timings kept for them are found by identity."""
    global _PARSE
    if _PARSE is None:
        import functools

        from gitdesk.cache import index

        _PARSE = functools.lru_cache(maxsize=50_000)(index.ticket_from_row)
    return _PARSE


_PARSE: Any = None


def _urgent_first(desk: Desk, tickets: list[Ticket], now: datetime) -> tuple[list[Ticket], dict[str, Timings]]:
    """``gitdesk list --sort due``: overdue first, then the next target to fall due."""
    derived = _REMEMBERED.timings(desk, tickets, now)
    return listing.by_due(tickets, {ticket.id: derived[ticket.id].next_due_in for ticket in tickets}, "due"), derived


def queues(desk: Desk) -> list[tuple[str, str]]:
    """(name, title) of every board: the config's queues, then intake."""
    return [*((name, queue.title) for name, queue in desk.config.queues.items()), (INTAKE, "Intake (no queue yet)")]


def board(desk: Desk, name: str) -> Board:
    """A queue's unfinished tickets in columns by status, most urgent first, the first
    ``PAGE`` of each column (the rest one click away)."""
    from gitdesk.cache import index

    if name != INTAKE and name not in desk.config.queues:
        from gitdesk.errors import NotFound

        raise NotFound(f"unknown queue {name!r}", hint=f"expected one of: {', '.join(desk.config.queues)}, "
                                                       f"or {INTAKE}")
    now = clock.now()
    found = index.query(desk, listing.Filters(queue=None if name == INTAKE else name), None, parse=_parse())
    tickets = [t for t in found.tickets if t.queue is None] if name == INTAKE else found.tickets
    columns = []
    for status in desk.config.open_statuses:
        members = [ticket for ticket in tickets if ticket.status == status]
        shown, derived = _urgent_first(desk, members, now)
        more = None
        if len(shown) > PAGE:
            more = f"/list?status={status}" + ("&intake=1" if name == INTAKE else f"&queue={name}")
        columns.append(Column(status, [_card(t, derived[t.id], now) for t in shown[:PAGE]], len(members), more))
    title = desk.config.queues[name].title if name in desk.config.queues else "Intake (no queue yet)"
    return Board(name, title, columns, [str(problem) for problem in found.problems])


def ticket_list(desk: Desk, title: str, filters: listing.Filters, page: int, *, intake: bool = False) -> Listed:
    """``gitdesk list --sort due`` with these filters, one page of it."""
    from gitdesk.cache import index

    now = clock.now()
    found = index.query(desk, filters, None, parse=_parse())
    tickets = [t for t in found.tickets if t.queue is None] if intake else found.tickets
    ordered, derived = _urgent_first(desk, tickets, now)
    pages = max(1, -(-len(ordered) // PAGE))
    page = min(max(page, 1), pages)
    chosen = ordered[(page - 1) * PAGE:page * PAGE]
    return Listed(title, [_card(t, derived[t.id], now) for t in chosen], len(ordered), page, pages,
                  [str(problem) for problem in found.problems])


@dataclass(frozen=True)
class Shown:
    """One conversation entry as the ticket page shows it."""

    at: str
    author: str
    label: str
    kind: str
    internal: bool
    html: str


@dataclass(frozen=True)
class TicketPage:
    ticket: Ticket
    facts: list[tuple[str, str]]
    description: str
    conversation: str
    entries: list[Shown]
    resolution: str | None
    appendix: str
    resolution_heading: str = "Resolution"
    canned: list[str] = field(default_factory=list)
    done: bool = False
    people: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # where escalation may go
    escalates_to: str | None = None  # the queue's own escalation target, if it has one
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    solved: list[Solved] = field(default_factory=list)  # beside an open ticket, as `show` lists them


@dataclass(frozen=True)
class Solved:
    id: str
    title: str
    worked: str  # the first line of what fixed it
    article: str | None  # its knowledge-base page under /kb/, when kb build made one


def _solved_before(desk: Desk, ticket: Ticket) -> list[Solved]:
    """What ``gitdesk show`` lists under an open ticket, from the cache as it is (never a
    cold build, so the page stays fast), with each one's knowledge-base article."""
    from gitdesk.knowledge import kb, search

    found = search.solved_before(desk, ticket)
    if found is None:
        return []
    shown = []
    for item in found.found:
        path = kb.article_of(desk, item.ticket.id)
        shown.append(Solved(item.ticket.id, item.ticket.title, item.resolution_line,
                            path.removeprefix("kb/") if path else None))
    return shown


def ticket_page(desk: Desk, typed_id: str, md: Any) -> TicketPage:
    """Everything ``gitdesk show`` shows (fields, timings, the whole thread with internal
    parts marked), with solved tickets like it beside it."""
    from gitdesk import markup, templates
    from gitdesk.cache import history, index

    ticket = desk.find(typed_id).ticket
    now = clock.now()
    derived = history.timings(desk, [ticket], now)[ticket.id]
    facts = ticket_facts(ticket, now, field_text, index.duplicates_of(desk, ticket.id) or ())
    facts += timing_lines(derived, now, ticket.status)
    facts.append(("warning", history.cut_short(desk)))  # None (not shown) on a whole history
    try:
        canned = [reply.name for reply in templates.canned_replies(desk.root)]
    except GitdeskError:
        canned = []
    entries = [Shown(local_time(entry.at), entry.author, entry_label(entry), entry.kind, entry.internal,
                     markup.to_html(md, entry.text)) for entry in ticket.entries]
    config = desk.config
    return TicketPage(
        ticket, [(name, str(value)) for name, value in facts if value], markup.to_html(md, ticket.description or
                                                                                         "_(no description)_"),
        markup.to_html(md, ticket.conversation_text) if ticket.conversation_text else "", entries,
        markup.to_html(md, ticket.resolution) if ticket.resolution else None,
        markup.to_html(md, ticket.appendix) if ticket.appendix else "", resolution_heading(derived), canned=canned,
        done=workflow.is_done(config, ticket.status), people=[h for h in config.people if config.is_agent(h)],
        targets=[*config.queues, *(h for h in config.people if config.is_agent(h))],
        escalates_to=config.queues[ticket.queue].escalate_to if ticket.queue and ticket.queue in config.queues
        else None,
        statuses=list(config.statuses), priorities=list(config.priorities),
        solved=[] if workflow.is_done(config, ticket.status) else _solved_before(desk, ticket))


def similar(desk: Desk, typed_id: str, limit: int = 10) -> tuple[Ticket, list[tuple[str, str, str, str]]]:
    """``gitdesk similar ID``: solved tickets like this one, with what fixed them. A page of
    its own: ranking every resolved ticket by BM25 can take a second on a large desk, more
    than the ticket page may take."""
    from gitdesk.knowledge import search

    ticket = desk.find(typed_id).ticket
    try:
        found = search.similar(desk, ticket=ticket, limit=limit).found
    except GitdeskError:  # nothing to compare with (no words in the title)
        found = []
    return ticket, [(item.ticket.id, item.ticket.title, item.resolution_line, ", ".join(item.matched))
                    for item in found]


def canned_text(desk: Desk, ticket_id: str, name: str, agent: str | None) -> str:
    """A canned reply filled in for this ticket, as ``gitdesk reply --use NAME --edit`` starts."""
    from gitdesk import templates

    ticket = desk.find(ticket_id).ticket
    return templates.fill(templates.canned(desk.root, name).body, templates.values(ticket, desk.config, agent))


@dataclass(frozen=True)
class Found:
    id: str
    title: str
    status: str
    snippet: list[tuple[str, bool]]  # pieces of the snippet, and whether each matched
    where: str


def search(desk: Desk, text: str, filters: listing.Filters, limit: int = PAGE) -> list[Found]:
    """``gitdesk search``: ranked hits with where the words matched (internal notes marked)."""
    from gitdesk.knowledge import search as finding

    hits = finding.search(desk, text, filters, limit=limit, include_internal=True)
    return [Found(hit.ticket.id, hit.ticket.title, hit.ticket.status, _pieces(hit.snippet),
                  "internal note" if hit.internal else hit.where) for hit in hits]


def _pieces(snippet: str) -> list[tuple[str, bool]]:
    from gitdesk.knowledge.search import END, START
    from gitdesk.text import one_line

    pieces: list[tuple[str, bool]] = []
    for index, part in enumerate(snippet.split(START)):
        matched, _, rest = part.partition(END) if index else ("", "", part)
        if matched:
            pieces.append((one_line(matched), True))
        if rest:
            pieces.append((one_line(rest), False))
    return pieces


def filters_from(args: Any, desk: Desk, actor_handle: str | None) -> tuple[listing.Filters, bool]:
    """The list filters from a query string (the same names as ``gitdesk list``'s options)."""
    def one(name: str) -> str | None:
        value = args.get(name, "").strip()
        return value or None

    assignee = one("assignee")
    if args.get("mine"):
        assignee = actor_handle
    statuses: Sequence[str] = [s for s in args.getlist("status") if s]
    labels = tuple(label for label in args.getlist("label") if label)
    filters = listing.Filters(statuses=tuple(statuses), queue=one("queue"), assignee=assignee,
                              unassigned=bool(args.get("unassigned")), requester=one("requester"),
                              category=one("category"), asset=one("asset"), labels=labels)
    filters.validate(desk.config)
    return filters, bool(args.get("intake"))


def reports(desk: Desk) -> str:
    """The reports of the static site (findings, arrivals and resolutions per week, open
    tickets per queue, the assets with most tickets), as HTML with every value escaped."""
    from gitdesk.knowledge import site

    return site.reports_body(desk)


@dataclass(frozen=True)
class ArticleLink:
    name: str  # the path under kb/, which the page's address carries
    title: str
    category: str
    reports: int


def articles(desk: Desk, query: str = "") -> list[ArticleLink]:
    """The knowledge base's articles (``gitdesk kb search`` when there are words), most
    reported first."""
    from gitdesk.knowledge import kb

    if query:
        found = [hit.article for hit in kb.search(desk, query, limit=PAGE)]
    else:
        found = sorted(kb.collect(desk), key=lambda a: (a.category, -a.reports, a.title))
    return [ArticleLink(a.path.removeprefix("kb/"), a.title, a.category, a.reports) for a in found]


@dataclass(frozen=True)
class ArticlePage:
    title: str
    category: str
    reports: int
    solved: str
    symptoms: str
    resolution: str
    tickets: list[tuple[str, str]]


def article(desk: Desk, name: str, md: Any) -> ArticlePage:
    """One article as ``gitdesk kb build`` writes it, found by its path (never read by it)."""
    from gitdesk import markup
    from gitdesk.errors import NotFound
    from gitdesk.knowledge import kb

    chosen = next((a for a in kb.collect(desk) if a.path == "kb/" + name), None)
    if chosen is None:
        raise NotFound(f"no knowledge-base article kb/{name}", hint="pick one from the knowledge base's list")
    return ArticlePage(chosen.title, chosen.category, chosen.reports, local_time(chosen.solved),
                       markup.to_html(md, chosen.symptoms or "_No description was given._"),
                       markup.to_html(md, chosen.resolution), [(t.id, t.title) for t in chosen.tickets])


# Shown in the page as they are (an <img> of a screenshot); anything else is a download, never
# rendered by the browser as a page of this desk (an HTML or SVG attachment is a stranger's).
_INLINE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                 "webp": "image/webp"}
MAX_ATTACHMENT = 64 << 20  # bytes served: a larger file is for a clone, not a browser


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    mimetype: str
    inline: bool


def attachment(desk: Desk, typed_id: str, name: str) -> Attachment:
    """A file of ``attachments/<ID>/``, as a ticket links it: only a regular file directly in
    that folder, never through a link, for a ticket of this desk."""
    import os
    import stat

    from gitdesk import attachments
    from gitdesk.errors import NotFound

    ticket_id = desk.find(typed_id).ticket.id
    gone = NotFound(f"{ticket_id} has no attachment {name!r}", hint="the ticket page lists the ones it has")
    if (name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name
            or attachments.blocked(desk.root, ticket_id) or name not in attachments.existing(desk.root, ticket_id)):
        raise gone
    try:
        fd = os.open(desk.root / attachments.path_of(ticket_id, name),
                     os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise gone from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise gone
        if info.st_size > MAX_ATTACHMENT:
            raise GitdeskError(f"{name} is {info.st_size >> 20} MB: too large to open here",
                               hint=f"open attachments/{ticket_id}/{name} in a clone of the desk")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_ATTACHMENT + 1)
    finally:
        os.close(fd)
    kind = _INLINE_TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
    return Attachment(name, data, kind or "application/octet-stream", kind is not None)
