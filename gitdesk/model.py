"""The typed core: Ticket, Entry and the desk Config.

Immutable values, changed with ``dataclasses.replace``. A Ticket keeps the
front-matter keys it does not know in ``extra`` so teams can add their own
fields and every action carries them through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gitdesk.durations import Span
from gitdesk.text import address_key

# Conversation entry kinds. Internal kinds never reach requesters, the
# knowledge base or outgoing mail.
REPLY = "reply"
NOTE = "note"
QUESTION = "question"
ESCALATION = "escalation"
REOPEN = "reopen"
REJECTION = "rejection"
TIME = "time"
INTERNAL_KINDS = frozenset({NOTE, ESCALATION, TIME})
ENTRY_KINDS = (REPLY, QUESTION, NOTE, ESCALATION, REOPEN, REJECTION, TIME)

# Authors that are not people: the rules that run unattended, and the mail system
# (bounces, failed deliveries). No person may take these handles.
RULES_AUTHOR = "gitdesk"
MAIL_SYSTEM = "mail-system"
# What an import writes as the resolution of a ticket its source closed without one (a finished
# status needs one): not knowledge, so no article and no "what fixed it".
IMPORTED_WITHOUT_RESOLUTION = "Closed in {source} before the import."
IMPORTED_ACTOR = "(imported)"  # who moved an imported ticket the source gave no assignee: nobody the desk knows
# Duplicates closed while this ticket was unsolved: each requester is told its answer in a mail
# of their own, on their own ticket. Not the Cc: that would show them the other person's thread.
WAITING = "duplicates_waiting"
REQUESTER_NAME = "requester_name"  # a requester who is not one of the people: their name, as their mail gave it

# Front-matter fields gitdesk knows, in the order a new ticket is written.
# Fields that change often (status, assignee, queue, priority, labels) are kept
# apart by fields that never change (title, requester, created), so two clones
# editing different fields do not touch adjacent lines and plain Git merges them.
FIELD_ORDER = (
    "id",
    "status",
    "title",
    "assignee",
    "requester",
    "queue",
    "created",
    "priority",
    "category",
    "asset",
    "labels",
)
OPTIONAL_LINK_FIELDS = ("duplicate_of", "related")
KNOWN_FIELDS = frozenset(FIELD_ORDER + OPTIONAL_LINK_FIELDS)
# Fields outside the front matter's standard ones that gitdesk itself reads or writes
# (docs/file-format.md); any other is the team's own.
IMPORTED_FROM = "imported_from"  # the record's key in the source an import read it from
# The dates an import's source lacked (the import guessed them): timings leave out what they would measure.
IMPORTED_UNDATED = "imported_undated"
UNDATED_DATES = ("created", "closed")
GITDESK_EXTRA_FIELDS = frozenset({"kb", "kb_title", "cc", "watchers", "message_ids", REQUESTER_NAME, WAITING,
                                  IMPORTED_FROM, IMPORTED_UNDATED})
REQUIRED_FIELDS = ("id", "title", "status", "created", "requester")
IMMUTABLE_FIELDS = frozenset({"id", "created"})
# What a ticket's record (JSON, CSV, export) calls its body and derived figures; no field may take these names.
RESERVED_NAMES = frozenset({"path", "description", "conversation", "conversation_text", "resolution", "appendix",
                            "timings"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``### <time> <author> — <kind> [detail]`` section of the conversation."""

    at: datetime
    author: str
    kind: str
    text: str
    detail: str = ""

    @property
    def internal(self) -> bool:
        return self.kind in INTERNAL_KINDS

    @property
    def heading(self) -> tuple[datetime, str, str]:
        """What names an entry in its file (``### <time> <author> — <kind>``): its time, author, kind."""
        return (self.at, self.author, self.kind)


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    title: str
    status: str
    created: datetime
    requester: str
    priority: str | None = None
    queue: str | None = None
    assignee: str | None = None
    category: str | None = None
    asset: str | None = None
    labels: tuple[str, ...] = ()
    duplicate_of: str | None = None
    related: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    entries: tuple[Entry, ...] = ()
    resolution: str | None = None
    conversation_text: str = ""  # hand-written text in the conversation outside any entry
    appendix: str = ""  # a team's own sections after the conversation or resolution (## See also), as written

    @property
    def undated(self) -> frozenset[str]:
        """The dates its import guessed (``imported_undated``; what check refuses reads as none)."""
        value = self.extra.get(IMPORTED_UNDATED)
        return frozenset(item for item in value if item in UNDATED_DATES) if isinstance(value, list) else frozenset()

    def field_value(self, name: str) -> Any:
        """A front-matter field by name, known or custom."""
        if name in KNOWN_FIELDS:
            return getattr(self, name)
        return self.extra.get(name)

    def front_matter(self) -> dict[str, Any]:
        """Known fields (in file order) then custom ones, as plain values."""
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELD_ORDER}
        data["labels"] = list(self.labels)
        if self.duplicate_of is not None:
            data["duplicate_of"] = self.duplicate_of
        if self.related:
            data["related"] = list(self.related)
        data.update(self.extra)
        return data


# --- config ------------------------------------------------------------------


def imported_without_resolution(text: str | None) -> bool:
    """Whether a resolution is only what an import wrote for a source that gave none."""
    before, after = IMPORTED_WITHOUT_RESOLUTION.split("{source}")
    said = (text or "").strip()
    return said.startswith(before) and said.endswith(after) and "\n" not in said


@dataclass(frozen=True, slots=True)
class Person:
    handle: str
    name: str
    email: str | None = None
    team: str | None = None
    # Addresses they had before (a mail domain moved): still them as Git author, requester and
    # sender, so past work keeps its person; never mailed.
    former_emails: tuple[str, ...] = ()
    away: bool = False  # skipped by automatic assignment
    notify: bool = False  # mail me about tickets I watch, and tickets escalated or assigned to me
    agent: bool = False  # works tickets though in no queue (a lead, a specialist escalated to)
    hours_per_week: float | None = None  # capacity for the workload report; None: the desk's default
    support_share: float | None = None  # the share of their job that is support (0-1); None: the default


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    title: str
    members: tuple[str, ...] = ()
    escalate_to: str | None = None
    assign: str = "manual"  # manual | round-robin | fewest-open
    lead: str | None = None  # who hears when the queue's promises are at risk (rules' notify: lead)
    notify: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # overrides MailSettings.notify


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    next: tuple[str, ...]
    requires: tuple[str, ...] = ()
    done: bool = False


@dataclass(frozen=True, slots=True)
class Priority:
    name: str
    first_response: Span | None = None  # as written: on a business clock 1d is one working day
    resolution: Span | None = None


ASSIGN_STRATEGIES = ("manual", "round-robin", "fewest-open")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ReportSettings:
    training_window: timedelta = timedelta(days=30)
    training_min_tickets: int = 3  # flag a requester with this many tickets in one category in the window
    training_factor: float = 2.0  # ... and this many times their team's average
    repeat_within: timedelta = timedelta(days=30)  # assets: a repeat is another ticket this soon
    name_agents_in_feedback: bool = False
    hours_per_week: float = 40.0  # an agent's working hours a week (workload: capacity)
    support_share: float = 1.0  # the share of an agent's job that is support


Spans = tuple[tuple[int, int], ...]  # working spans of one day, minutes after local midnight
OFFICE_HOURS: tuple[Spans, ...] = (((540, 1020),),) * 5 + ((), ())  # 09:00-17:00, Monday to Friday


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When a desk (or one queue) works: its time zone, hours per weekday, holidays."""

    timezone: str = "UTC"  # an IANA name, e.g. Europe/Berlin
    hours: tuple[Spans, ...] = OFFICE_HOURS  # Monday first; () is a day off
    holidays: tuple[str, ...] = ()  # ISO dates
    countries: tuple[str, ...] = ()  # public holidays of a country (DE) or a region (DE-BY), via `holidays`


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How ``similar`` ranks: an optional static embedding model (a directory, relative to
    the desk or absolute), the relevance threshold, and whether to learn from the desk."""
    model: str | None = None
    threshold: float | None = None  # None: the tuned default of the layer in use
    learn: bool = True  # learn term associations from the desk's resolved tickets


@dataclass(frozen=True, slots=True)
class SlaSettings:
    clock: str = "calendar"  # calendar | business
    hours: BusinessHours = field(default_factory=BusinessHours)
    queues: Mapping[str, BusinessHours] = field(default_factory=dict)  # a queue's own calendar


@dataclass(frozen=True, slots=True)
class Route:
    """Where mail goes: the first route whose conditions all hold (empty ones hold) wins."""

    to: tuple[str, ...] = ()  # any recipient address (To, Cc, Delivered-To), case ignored
    senders: tuple[str, ...] = ()  # a sender address, or @domain
    keywords: tuple[str, ...] = ()  # any of these words in the subject or body
    queue: str | None = None
    category: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()


SMTP_SECURITY = ("starttls", "ssl", "none")
# The public steps of a ticket that mail its requester, and who hears of each by default.
MAIL_EVENTS = ("acknowledgement", "question", "reply", "resolution", "rejection", "reopen")
MAIL_AUDIENCES = ("requester", "cc")
SIGN_AS = ("agent", "desk")


@dataclass(frozen=True, slots=True)
class MailSettings:
    address: str | None = None  # the desk's own address: From of replies; mail from it is a loop
    name: str | None = None  # display name for the From header
    aliases: tuple[str, ...] = ()  # other addresses that reach the desk
    smtp_host: str | None = None  # none: --send writes to outbox/
    smtp_port: int | None = None  # default by security: 587, 465 or 25
    smtp_user: str | None = None
    smtp_security: str = "starttls"
    max_attachment_bytes: int = 10 * 1024 * 1024
    routes: tuple[Route, ...] = ()
    branch: str | None = None  # the branch mail send delivers from; None: the remote's default, else main
    local_senders: bool = False  # take in mail from machines' own addresses (root@localhost): internal desks
    sign_as: str = "agent"  # agent: mail names the agent; desk: only the desk's name
    notify: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {event: MAIL_AUDIENCES for event in MAIL_EVENTS})

    def audience(self, event: str, queue: Queue | None) -> tuple[str, ...]:
        """Who hears of ``event`` on a ticket in ``queue``: the queue's setting, else the desk's."""
        if queue is not None and event in queue.notify:
            return queue.notify[event]
        return self.notify.get(event, ())


@dataclass(frozen=True, slots=True)
class Config:
    desk_name: str
    id_prefix: str
    people: Mapping[str, Person]
    queues: Mapping[str, Queue]
    statuses: Mapping[str, Status]
    initial_status: str
    priorities: Mapping[str, Priority]
    default_priority: str | None
    categories: Mapping[str, str]
    reopen_requires_reason: bool = False
    private_fields: tuple[str, ...] = ()
    kb_excluded_categories: tuple[str, ...] = ()  # categories whose tickets never become articles
    leads: tuple[str, ...] = ()  # the desk's leads: digests, and tickets in no queue
    sync_strategy: str = "rebase"  # how gitdesk sync integrates the upstream: rebase | merge
    reports: ReportSettings = field(default_factory=ReportSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    _by_email: Mapping[str, Person] = field(default_factory=dict, init=False, repr=False, compare=False)
    done_statuses: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Listings ask once per ticket: a dict, not a scan of every person.
        by_email = {address_key(email): person for person in reversed(list(self.people.values()))
                    for email in (*person.former_emails, *((person.email,) if person.email else ()))}
        object.__setattr__(self, "_by_email", by_email)
        # Asked for every ticket's clocks (a report makes thousands): made once.
        object.__setattr__(self, "done_statuses", frozenset(name for name, status in self.statuses.items()
                                                            if status.done))

    def person(self, handle_or_email: str) -> Person | None:
        """Look a person up by handle or (case-insensitive) email."""
        found = self.people.get(handle_or_email)
        if found is not None:
            return found
        return self._by_email.get(address_key(handle_or_email))

    def present(self, *choices: Sequence[str]) -> list[str]:
        """The first of ``choices`` with someone not away in it (those people); else the first
        choice with anyone in it (when everyone is away, they are told all the same)."""
        for choice in choices:
            here = [handle for handle in choice if not (self.people.get(handle) and self.people[handle].away)]
            if here:
                return here
        return list(next((choice for choice in choices if choice), []))

    def is_agent(self, handle: str) -> bool:
        """Whether a person works tickets, and so speaks for the desk (their reply is its first
        response, their answer to its notifications an internal note): a queue's member, lead or
        escalation target, one of the desk's leads, or marked agent; or away in a team the desk's
        agents are in (someone who left the helpdesk or is on leave: their past replies stay the
        desk's first responses, so last quarter reads as it did; a sales colleague on leave is no
        agent); on a desk with no queues and none of those, everyone in people. The one
        definition: timings, intake, the rules and reports ask here."""
        person = self.people.get(handle)
        if person is None:
            return False
        if self._works_tickets(handle, person):
            return True
        if person.away and person.team:
            return any(other.team == person.team and not other.away and self._works_tickets(name, other)
                       for name, other in self.people.items())
        if not self.queues:  # a colleague who only asks for help must not speak for a desk that names its agents
            return not self.leads and not any(other.agent for other in self.people.values())
        return False

    def _works_tickets(self, handle: str, person: Person) -> bool:
        return person.agent or handle in self.leads or any(
            handle in queue.members or handle in (queue.escalate_to, queue.lead) for queue in self.queues.values())

    def queues_of(self, handle: str) -> tuple[str, ...]:
        return tuple(name for name, queue in self.queues.items() if handle in queue.members)

    @property
    def open_statuses(self) -> tuple[str, ...]:
        return tuple(name for name in self.statuses if name not in self.done_statuses)

    @property
    def teams(self) -> tuple[str, ...]:
        """The teams people are in (people: ... team:), sorted."""
        return tuple(sorted({person.team for person in self.people.values() if person.team}))
