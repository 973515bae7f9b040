"""``.gitdesk/config.yml``: read, validate, and the default ``gitdesk init`` writes.

Every error names the file, the key (as a dotted path) and the fix. Sections
a config leaves out get the defaults below, so a small config works.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from gitdesk import frontmatter
from gitdesk.durations import Span, parse_span
from gitdesk.errors import ConfigError, GitdeskError
from gitdesk.ids import PREFIX_PATTERN
from gitdesk.model import (
    ASSIGN_STRATEGIES,
    MAIL_AUDIENCES,
    MAIL_EVENTS,
    MAIL_SYSTEM,
    RULES_AUTHOR,
    SIGN_AS,
    SMTP_SECURITY,
    WEEKDAYS,
    BusinessHours,
    Config,
    MailSettings,
    Person,
    Priority,
    Queue,
    ReportSettings,
    Route,
    SearchSettings,
    SlaSettings,
    Status,
)
from gitdesk.paths import CONFIG_PATH
from gitdesk.text import address_key, ascii_address, closest

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
SECTIONS = ("desk", "people", "queues", "workflow", "priorities", "categories", "private_fields", "sync",
            "reports", "sla", "mail", "search")

DEFAULT_STATUSES: dict[str, dict[str, Any]] = {
    "new": {"next": ["open", "pending", "resolved", "rejected"]},
    "open": {"next": ["pending", "resolved", "rejected"], "requires": ["queue"]},
    "pending": {"next": ["open", "resolved", "rejected"], "requires": ["queue"]},
    "resolved": {"next": ["closed", "open"], "requires": ["queue", "resolution"], "done": True},
    "closed": {"next": ["open"], "requires": ["resolution"], "done": True},
    "rejected": {"next": ["open"], "done": True},
}
DEFAULT_PRIORITIES: dict[str, dict[str, Any]] = {
    "urgent": {"first_response": "1h", "resolution": "8h"},
    "high": {"first_response": "4h", "resolution": "2d"},
    "normal": {"first_response": "1d", "resolution": "5d", "default": True},
    "low": {"first_response": "3d", "resolution": "10d"},
}
DEFAULT_CATEGORIES = {
    "access": "Accounts, passwords, permissions",
    "email": "Email, calendar and contacts",
    "hardware": "Computers, phones, printers and peripherals",
    "network": "Wi-Fi, VPN and internet",
    "software": "Applications and licences",
    "facilities": "Office, furniture, heating, keys",
    "other": "Anything else",
}

DEFAULT_TEMPLATE = """\
# gitdesk desk configuration. Everything here is plain YAML; gitdesk check
# validates it. Docs: docs/config.md in the gitdesk repository.

desk:
  name: {desk_name}
  id_prefix: GD            # tickets are named GD-<18 characters>
  leads: [{handle}]        # hear of untaken tickets and get the weekly digests (.gitdesk/rules.yml)

# Everyone gitdesk should know: agents, leads, and colleagues who ask for help.
# The handle is what you type (gitdesk assign ID alice); the email maps Git
# authors and mail senders to people; the team groups people in reports.
people:
  {handle}:
    name: {name}
    email: {email}
    team: support
    # away: true           # skipped by automatic assignment while set

# Queues are where tickets wait for someone. members may take and are
# auto-assigned tickets; escalate_to is a queue or a person; assign is how a
# ticket entering the queue gets an assignee: manual, round-robin or fewest-open.
queues:
  helpdesk:
    name: Helpdesk
    members: [{handle}]
    escalate_to:
    assign: manual
    # lead: {handle}       # warned when the queue's targets are at risk (else the desk's leads)

# Statuses, the moves between them, and what each status requires.
# 'resolution' means a non-empty '## Resolution' section. done: true marks the
# end states (hidden from 'gitdesk list' unless asked for).
workflow:
  initial: new
  reopen_requires_reason: false
  statuses:
    new:      {{next: [open, pending, resolved, rejected]}}
    open:     {{next: [pending, resolved, rejected], requires: [queue]}}
    pending:  {{next: [open, resolved, rejected], requires: [queue]}}
    resolved: {{next: [closed, open], requires: [queue, resolution], done: true}}
    closed:   {{next: [open], requires: [resolution], done: true}}
    rejected: {{next: [open], done: true}}   # spam and refused requests, kept with their history

# Priorities with SLA targets (m, h, d, w). One is the default for new tickets.
priorities:
  urgent: {{first_response: 1h, resolution: 8h}}
  high:   {{first_response: 4h, resolution: 2d}}
  normal: {{first_response: 1d, resolution: 5d, default: true}}
  low:    {{first_response: 3d, resolution: 10d}}

# Categories group tickets for reports and the knowledge base.
categories:
  access: Accounts, passwords, permissions
  email: Email, calendar and contacts
  hardware: Computers, phones, printers and peripherals
  network: Wi-Fi, VPN and internet
  software: Applications and licences
  facilities: Office, furniture, heating, keys
  other: Anything else

# Front-matter fields that never leave the desk (knowledge base, site, mail).
private_fields: []

# gitdesk sync: how to bring in what others pushed before pushing yours.
sync:
  strategy: rebase         # rebase (a straight history) or merge

# SLA clocks: calendar time, or business hours in the desk's time zone without
# days off and holidays (on the business clock a target's 1d is one working day).
sla:
  clock: calendar          # calendar | business
  timezone: UTC            # an IANA name, e.g. Europe/Berlin
  business_hours: "09:00-17:00"
  business_days: [mon, tue, wed, thu, fri]
  # hours: {{fri: "09:00-13:00"}}   # a weekday's own hours (or closed)
  holidays: []             # dates and/or a country code, e.g. [DE-BY, 2026-12-24]
  # queues: {{it-us: {{timezone: America/New_York, holidays: [US]}}}}   # a queue's own calendar

# Thresholds the reports use.
reports:
  training:                # flag requesters who keep asking about one thing
    window: 30d
    min_tickets: 3
    factor: 2.0            # ...this many times their team's average
  assets:
    repeat_within: 30d     # another ticket on the same asset this soon is a repeat
  feedback:
    name_agents: false     # the weekly feedback digest names teams, not agents
  workload:                # an agent's capacity (people can say otherwise: hours_per_week, support_share)
    hours_per_week: 40
    support_share: 1.0     # the share of their job that is support, 0 to 1

# Mail: 'gitdesk intake' takes tickets in from a mailbox; every public step (a
# question, a reply, the resolution…) mails the requester through outbox/, in the
# action's own commit, and 'gitdesk mail send' delivers it. The texts are in
# .gitdesk/templates/mail/. The SMTP password never goes here: set
# GITDESK_SMTP_PASSWORD where mail is sent.
mail:
  address:                 # the desk's own address, e.g. help@example.com
  # name: Example help desk
  # aliases: [it@example.com]
  # smtp: {{host: smtp.example.com, port: 587, user: help@example.com, security: starttls}}
  max_attachment_bytes: 10MB
  routes: []               # first match wins, e.g. - {{to: [facilities@example.com], queue: facilities}}
  sign_as: agent           # agent: mail names the agent; desk: only the desk's name
  # Who hears of each public step: [requester, cc] (the default but for acknowledgements), [requester], or [].
  # A queue can say otherwise: queues: {{helpdesk: {{mail: {{notify: {{reply: [requester]}}}}}}}}
  notify:
    acknowledgement: [requester]       # a ticket taken in from mail (at most three to one address an hour)
    question: [requester, cc]          # gitdesk ask
    reply: [requester, cc]             # gitdesk reply by an agent
    resolution: [requester, cc]        # gitdesk resolve (with the satisfaction question)
    rejection: [requester, cc]         # gitdesk reject
    reopen: [requester, cc]            # gitdesk reopen by an agent
"""


def default_text(handle: str, name: str, email: str, desk_name: str = "Support desk") -> str:
    return DEFAULT_TEMPLATE.format(
        handle=handle, name=frontmatter.dump_value(name), email=frontmatter.dump_value(email),
        desk_name=frontmatter.dump_value(desk_name),
    )


def handle_from_email(email: str) -> str:
    local = email.split("@", 1)[0].lower()
    handle = re.sub(r"[^a-z0-9._-]+", "-", local).strip("-._")
    return handle or "me"


class _Reader:
    """Walks the raw mapping, collecting the key path for error messages."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.source = text

    def fail(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{key}: {message}" if key else message, path=self.path,
                           line=frontmatter.line_of_key(self.source, key) if key else None, hint=hint)

    def mapping(self, value: Any, key: str, known: tuple[str, ...] | None = None) -> Mapping[str, Any]:
        """A mapping; with ``known``, a key that is not one of them is an error (with a guess)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping of 'name: value' lines")
        for name in value:
            if not isinstance(name, str):
                raise self.fail(key, f"key {name!r} must be text")
            if known is not None and name not in known:
                raise self.fail(f"{key}.{name}" if key else name, "unknown setting", _suggest(name, known))
        return value

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, "must be a list of names", "write it as [first, second]")
        return tuple(value)

    def text(self, value: Any, key: str, default: str | None = None) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str):
            kind, hint = frontmatter.not_text(key.rsplit(".", 1)[-1], value)
            raise self.fail(key, f"must be text, not {kind}", hint)
        return value

    def flag(self, value: Any, key: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def duration(self, value: Any, key: str) -> timedelta | None:
        span = self.span(value, key)
        return None if span is None else span.calendar()

    def span(self, value: Any, key: str) -> Span | None:
        if value is None:
            return None
        try:
            return parse_span(str(value), unit_required=True)
        except GitdeskError as error:
            raise self.fail(key, error.message, error.hint or "write it like 30m, 4h, 2d") from None

    def name(self, value: str, key: str) -> str:
        if not NAME.match(value):
            raise self.fail(key, f"{value!r} is not a valid name",
                            "use lowercase letters, digits, '.', '_' and '-'")
        return value


def _first_broken_line(text: str, reported: int | None) -> int | None:
    """The line where the YAML goes wrong. The parser reports where it gave up, often the
    next line or the end of the file (a list or a quote left open): the first line whose
    text up to it no longer loads, and after which nothing loads again, is the culprit."""
    lines = text.splitlines(keepends=True)
    last = min(reported or len(lines), len(lines))
    line = last
    while line > 1 and last - line < 500:  # an error path, but never a slow one
        try:
            frontmatter.load_mapping("".join(lines[:line - 1]))
        except GitdeskError:
            line -= 1  # still broken without this line: the trouble starts higher up
            continue
        break
    return line if lines else reported


def _unloadable(value: str) -> bool:
    """Whether YAML reads ``value`` as a date or time that does not exist (2026-02-30)."""
    try:
        frontmatter.load_mapping(value)
    except GitdeskError:
        return True
    return False


def _key_at(text: str, line: int) -> str | None:
    """The dotted setting a line of a block-style YAML file belongs to (``sla.holidays``), for messages."""
    keys: list[str] = []
    indent: int | None = None
    for raw in reversed(text.splitlines()[:line]):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(raw) - len(raw.lstrip(" "))
        if indent is not None and depth >= indent:
            continue
        match = re.match(r"(?:- )?([\w.-]+)\s*:(?:\s|$)", stripped)
        if match:
            keys.insert(0, match.group(1))
            indent = depth
        elif indent is None:
            indent = depth  # a list item: its key is on a line above, less indented
        if depth == 0:
            break
    return ".".join(keys) or None


# --- the YAML data remembered -----------------------------------------------------------
# A valid config's data is kept as JSON in the disposable cache, keyed by the file's
# bytes: reading it back costs far less than importing YAML (20 ms of every command).

class _NotPlain(Exception):
    """A value JSON cannot hold exactly (a set, bytes, a key that is not text)."""


def remembered(data: Any, digest: str) -> str:
    """``data`` (a config's YAML data) as the text to keep, or "" when JSON cannot hold it."""
    try:
        # v2: kept only once the text passed refuse_repeated_keys (a v1 copy may predate it)
        return json.dumps({"v": 2, "sha1": digest, "data": _plain(data)}, ensure_ascii=False,
                          allow_nan=False)
    except (_NotPlain, ValueError):
        return ""


def recalled(text: str, digest: str) -> Any:
    """The data ``remembered`` kept for the config with ``digest``; None when it is another's,
    or unreadable."""
    try:
        kept = json.loads(text)
    except ValueError:
        return None
    if not isinstance(kept, dict) or kept.get("v") != 2 or kept.get("sha1") != digest:
        return None
    try:
        return _unplain(kept.get("data"))
    except (ValueError, TypeError):
        return None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotPlain
        return value
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) and not key.startswith("$") for key in value):
        return {key: _plain(item) for key, item in value.items()}
    raise _NotPlain


def _unplain(value: Any) -> Any:
    if isinstance(value, list):
        return [_unplain(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$t"), str):
            return datetime.fromisoformat(value["$t"])
        if len(value) == 1 and isinstance(value.get("$d"), str):
            return date.fromisoformat(value["$d"])
        return {key: _unplain(item) for key, item in value.items()}
    return value


def _suggest(name: str, known: tuple[str, ...]) -> str:
    close = closest(name, known)
    return (f"did you mean {close}? " if close else "") + f"known: {', '.join(known)}"


def refuse_repeated_keys(text: str, path: str) -> None:
    """A key given twice in one mapping: YAML keeps the second silently, so a section appended
    to the end of the file (a second ``sla:``) undid the first one's settings without a word."""
    import yaml

    try:
        root = yaml.compose(text, Loader=frontmatter.safe_loader())
    except yaml.YAMLError:
        return  # the load above judged the syntax
    # Each node once (an alias repeats a node: a bomb of aliases is not walked a billion times),
    # and a node inside itself is refused: loading it would never end.
    visited: set[int] = set()
    stack: list[tuple[Any, str, frozenset[int]]] = [(root, "", frozenset())]
    while stack:
        node, where, inside = stack.pop()
        if id(node) in inside:
            raise ConfigError(f"{where.rstrip('.') or 'the config'} refers to itself (an alias inside its own "
                              "anchor)", path=path, line=node.start_mark.line + 1, hint="write the values out")
        if id(node) in visited:
            continue
        visited.add(id(node))
        within = inside | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            stack += [(item, where, within) for item in node.value]
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            line = key.start_mark.line + 1
            identity = (key.tag, name)  # no and "no" are two keys to YAML
            if name and name != "<<" and identity in seen:
                lines = f"line {line}" if seen[identity] == line else f"lines {seen[identity]} and {line}"
                raise ConfigError(f"{where}{name} is given twice ({lines}): the second would silently replace "
                                  "the first", path=path, line=line, hint="merge the two into one")
            seen[identity] = line
            stack.append((value, f"{where}{name}." if name else where, within))
    if len(visited) > 1 and _expanded(root) > MOST_VALUES:
        raise ConfigError(f"its aliases expand it to more than {MOST_VALUES} values", path=path,
                          hint="write the values out, or repeat fewer of them by alias")


# A config or rules file written by hand holds a few thousand values; aliases of aliases
# (a "billion laughs") held a billion once expanded, and every walk of it took gigabytes.
MOST_VALUES = 100_000


def _expanded(root: Any) -> int:
    """How many values the YAML node ``root`` holds once its aliases are expanded (each node
    counted once, from the sizes of its parts: no expansion is walked). It stops counting past
    ``MOST_VALUES``. ``root`` holds no node inside itself (refuse_repeated_keys refused that)."""
    import yaml

    def parts(node: Any) -> list[Any]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, counted_parts = stack.pop()
        if id(node) in sizes:
            continue
        if not counted_parts:
            stack.append((node, True))
            stack += [(part, False) for part in parts(node) if id(part) not in sizes]
            continue
        sizes[id(node)] = 1 + sum(sizes[id(part)] for part in parts(node))
        if sizes[id(node)] > MOST_VALUES:
            return sizes[id(node)]
    return sizes[id(root)]


def parse_config(text: str, path: str = CONFIG_PATH, loaded: Any = None) -> Config:
    """The config in ``text``, checked. ``loaded``: its YAML data as ``remembered`` gave it
    back (the text is then read only for the lines errors name)."""
    try:
        raw = frontmatter.load_mapping(text, path) if loaded is None else loaded
    except GitdeskError as error:
        bad_value = error.message.startswith("a value Python cannot hold")
        line = _first_broken_line(text, error.line) if error.line or bad_value else error.line
        if bad_value and line is not None:
            # A date like 2026-02-30 is valid YAML syntax but no date: name the setting.
            key = _key_at(text, line)
            reason = error.message.removeprefix("a value Python cannot hold: ")
            written = [token for token in re.findall(r"\d{4}-\d\d?-\d\d?[^\s,\]}#]*", text.splitlines()[line - 1])
                       if _unloadable(token)]
            what = f"{written[0]} is not a real date" if written else "not a real date or time"
            raise ConfigError(f"{key + ': ' if key else ''}{what} ({reason})", path=path, line=line,
                              hint="write a real date, like 2026-12-25") from None
        raise ConfigError(error.message, path=path, line=line, hint="fix the YAML syntax") from None
    if loaded is None:
        refuse_repeated_keys(text, path)
    if raw is None:  # emptied by mistake: no queue, person or status would be known, and nothing checked
        raise ConfigError("the config is empty", path=path,
                          hint=f"restore it from Git (git log -- {path}), or write at least desk: {{name: …}}")
    read = _Reader(path, text)
    top = read.mapping(raw, "")
    for key in top:
        if key not in SECTIONS:
            raise read.fail(key, "unknown section", _suggest(key, SECTIONS))

    desk = read.mapping(top.get("desk"), "desk", ("name", "id_prefix", "leads"))
    desk_name = read.text(desk.get("name"), "desk.name", "Support desk") or "Support desk"
    prefix = read.text(desk.get("id_prefix"), "desk.id_prefix", "GD") or "GD"
    if not PREFIX_PATTERN.match(prefix):
        raise read.fail("desk.id_prefix", f"{prefix!r} is not a valid ID prefix",
                        "use 1-10 capital letters or digits, starting with a letter, e.g. GD")

    people: dict[str, Person] = {}
    emails: dict[str, str] = {}
    for handle, value in read.mapping(top.get("people"), "people").items():
        key = f"people.{handle}"
        read.name(handle, key)
        if handle in (RULES_AUTHOR, MAIL_SYSTEM):
            raise read.fail(key, f"{handle!r} is gitdesk's own name in ticket threads", "choose another handle")
        fields = read.mapping(value, key, ("name", "email", "former_emails", "team", "away", "notify", "agent",
                                           "hours_per_week", "support_share"))
        email = read.text(fields.get("email"), f"{key}.email")
        former = read.names(fields.get("former_emails"), f"{key}.former_emails")
        for address, where in ((email, f"{key}.email"), *((item, f"{key}.former_emails") for item in former)):
            if address is None:
                continue
            if "@" not in address or any(c.isspace() for c in address):
                raise read.fail(where, f"{address!r} is not an email address")
            if address_key(address) in emails:
                raise read.fail(where, f"{address} is also the email of {emails[address_key(address)]}",
                                "each person needs their own address")
            emails[address_key(address)] = handle
        people[handle] = Person(
            handle=handle,
            name=read.text(fields.get("name"), f"{key}.name", handle) or handle,
            email=email,
            former_emails=former,
            team=read.text(fields.get("team"), f"{key}.team"),
            away=read.flag(fields.get("away"), f"{key}.away"),
            notify=read.flag(fields.get("notify"), f"{key}.notify"),
            agent=read.flag(fields.get("agent"), f"{key}.agent"),
            hours_per_week=_optional_number(read, fields.get("hours_per_week"), f"{key}.hours_per_week", 168),
            support_share=_optional_number(read, fields.get("support_share"), f"{key}.support_share", 1),
        )

    queues: dict[str, Queue] = {}
    raw_queues = read.mapping(top.get("queues"), "queues")
    for name, value in raw_queues.items():
        key = f"queues.{name}"
        read.name(name, key)
        if name == INTAKE_BOARD:
            raise read.fail(key, f"{name!r} is the board of tickets in no queue yet",
                            "give the queue another name, e.g. front-line")
        fields = read.mapping(value, key, ("name", "members", "escalate_to", "assign", "mail", "lead"))
        members = read.names(fields.get("members"), f"{key}.members")
        lead = read.text(fields.get("lead"), f"{key}.lead")
        if lead is not None and lead not in people:
            raise read.fail(f"{key}.lead", f"unknown person {lead!r}", f"add {lead} under people: or name another lead")
        for member in members:
            if member not in people:
                raise read.fail(f"{key}.members", f"unknown person {member!r}",
                                f"add {member} under people: or remove them from the queue")
        target = read.text(fields.get("escalate_to"), f"{key}.escalate_to")
        if target is not None and target not in raw_queues and target not in people:
            raise read.fail(f"{key}.escalate_to", f"{target!r} is neither a queue nor a person",
                            "name a queue from queues: or a handle from people:")
        strategy = read.text(fields.get("assign"), f"{key}.assign", "manual") or "manual"
        if strategy not in ASSIGN_STRATEGIES:
            raise read.fail(f"{key}.assign", f"unknown strategy {strategy!r}",
                            f"use one of: {', '.join(ASSIGN_STRATEGIES)}")
        queues[name] = Queue(
            name=name,
            title=read.text(fields.get("name"), f"{key}.name", name) or name,
            members=members,
            escalate_to=target,
            assign=strategy,
            lead=lead,
            notify=_notify(read, read.mapping(fields.get("mail"), f"{key}.mail", ("notify",)).get("notify"),
                           f"{key}.mail.notify", partial=True),
        )

    leads = read.names(desk.get("leads"), "desk.leads")
    for lead in leads:
        if lead not in people:
            raise read.fail("desk.leads", f"unknown person {lead!r}", f"add {lead} under people: or remove them")

    workflow = read.mapping(top.get("workflow"), "workflow", ("initial", "reopen_requires_reason", "statuses"))
    raw_statuses = read.mapping(workflow.get("statuses"), "workflow.statuses") or DEFAULT_STATUSES
    statuses: dict[str, Status] = {}
    for name, value in raw_statuses.items():
        key = f"workflow.statuses.{name}"
        read.name(name, key)
        fields = read.mapping(value, key, ("next", "requires", "done"))
        statuses[name] = Status(
            name=name,
            next=read.names(fields.get("next"), f"{key}.next"),
            requires=read.names(fields.get("requires"), f"{key}.requires"),
            done=read.flag(fields.get("done"), f"{key}.done"),
        )
    for status in statuses.values():
        for target in status.next:
            if target not in statuses:
                raise read.fail(f"workflow.statuses.{status.name}.next", f"unknown status {target!r}",
                                f"known statuses: {', '.join(statuses)}")
    initial = read.text(workflow.get("initial"), "workflow.initial", next(iter(statuses))) or ""
    if initial not in statuses:
        raise read.fail("workflow.initial", f"unknown status {initial!r}",
                        f"known statuses: {', '.join(statuses)}")

    priorities: dict[str, Priority] = {}
    default_priority: str | None = None
    raw_priorities = read.mapping(top.get("priorities"), "priorities") or DEFAULT_PRIORITIES
    for name, value in raw_priorities.items():
        key = f"priorities.{name}"
        read.name(name, key)
        fields = read.mapping(value, key, ("first_response", "resolution", "default"))
        priorities[name] = Priority(
            name=name,
            first_response=read.span(fields.get("first_response"), f"{key}.first_response"),
            resolution=read.span(fields.get("resolution"), f"{key}.resolution"),
        )
        if read.flag(fields.get("default"), f"{key}.default"):
            if default_priority is not None:
                raise read.fail(f"{key}.default", f"{default_priority} is already the default",
                                "mark only one priority 'default: true'")
            default_priority = name

    raw_categories = top.get("categories", DEFAULT_CATEGORIES)
    categories: dict[str, str] = {}
    kb_excluded: list[str] = []
    if isinstance(raw_categories, list):
        for name in read.names(raw_categories, "categories"):
            categories[read.name(name, "categories")] = name
    else:
        for name, value in read.mapping(raw_categories, "categories").items():
            key = f"categories.{name}"
            read.name(name, key)
            if isinstance(value, dict):  # {name: HR questions, kb: false}: kept out of the knowledge base
                fields = read.mapping(value, key, ("name", "kb"))
                categories[name] = read.text(fields.get("name"), f"{key}.name", name) or name
                if fields.get("kb") is not None and not read.flag(fields.get("kb"), f"{key}.kb"):
                    kb_excluded.append(name)
            else:
                categories[name] = read.text(value, key, name) or name

    sync = read.mapping(top.get("sync"), "sync", ("strategy",))
    strategy = read.text(sync.get("strategy"), "sync.strategy", "rebase") or "rebase"
    if strategy not in ("rebase", "merge"):
        raise read.fail("sync.strategy", f"unknown strategy {strategy!r}", "use rebase or merge")

    report_settings = _reports(read, read.mapping(top.get("reports"), "reports", ("training", "assets", "feedback",
                                                                                  "workload")))
    sla_settings = _sla(read, read.mapping(top.get("sla"), "sla", ("clock", *CALENDAR_KEYS, "queues")), queues)
    mail_settings = _mail(read, read.mapping(top.get("mail"), "mail"), queues, categories, priorities)
    search_settings = _search(read, read.mapping(top.get("search"), "search", ("model", "threshold", "learn")))

    return Config(
        desk_name=desk_name,
        id_prefix=prefix,
        people=people,
        queues=queues,
        statuses=statuses,
        initial_status=initial,
        priorities=priorities,
        default_priority=default_priority,
        categories=categories,
        reopen_requires_reason=read.flag(workflow.get("reopen_requires_reason"),
                                         "workflow.reopen_requires_reason"),
        private_fields=read.names(top.get("private_fields"), "private_fields"),
        kb_excluded_categories=tuple(kb_excluded),
        leads=leads,
        sync_strategy=strategy,
        reports=report_settings,
        sla=sla_settings,
        mail=mail_settings,
        search=search_settings,
    )


def _number(read: _Reader, value: Any, key: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise read.fail(key, f"must be a number, not {value!r}")
    return float(value)


def _search(read: _Reader, raw: Mapping[str, Any]) -> SearchSettings:
    """search: {model: DIR, threshold: 0.2, learn: true}. The model directory is relative to
    the desk (and must stay inside it) or absolute; it is checked when a command uses it."""
    model = read.text(raw.get("model"), "search.model")
    if model is not None and not model.startswith("/") and (
            "\0" in model or any(part == ".." for part in model.replace("\\", "/").split("/"))):
        raise read.fail("search.model", f"{model!r} leaves the desk",
                        "give a folder inside the desk (e.g. models/potion) or an absolute path")
    threshold = raw.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 <= threshold <= 1):
        raise read.fail("search.threshold", f"must be a number from 0 to 1, not {threshold!r}",
                        "e.g. threshold: 0.2 (0 shows every match)")
    learn = read.flag(raw.get("learn"), "search.learn") if raw.get("learn") is not None else True
    return SearchSettings(model=model, threshold=None if threshold is None else float(threshold), learn=learn)


def _reports(read: _Reader, raw: Mapping[str, Any]) -> ReportSettings:
    defaults = ReportSettings()
    training = read.mapping(raw.get("training"), "reports.training", ("window", "min_tickets", "factor"))
    assets = read.mapping(raw.get("assets"), "reports.assets", ("repeat_within",))
    feedback = read.mapping(raw.get("feedback"), "reports.feedback", ("name_agents",))
    workload = read.mapping(raw.get("workload"), "reports.workload", ("hours_per_week", "support_share"))
    return ReportSettings(
        training_window=read.duration(training.get("window"), "reports.training.window") or defaults.training_window,
        training_min_tickets=int(_number(read, training.get("min_tickets"), "reports.training.min_tickets",
                                         defaults.training_min_tickets)),
        training_factor=_number(read, training.get("factor"), "reports.training.factor", defaults.training_factor),
        repeat_within=read.duration(assets.get("repeat_within"), "reports.assets.repeat_within")
        or defaults.repeat_within,
        name_agents_in_feedback=read.flag(feedback.get("name_agents"), "reports.feedback.name_agents"),
        hours_per_week=_optional_number(read, workload.get("hours_per_week"), "reports.workload.hours_per_week", 168)
        or defaults.hours_per_week,
        support_share=_share(read, workload.get("support_share"), "reports.workload.support_share"),
    )


def _optional_number(read: _Reader, value: Any, key: str, most: float) -> float | None:
    if value is None:
        return None
    number = _number(read, value, key, 0.0)
    if number > most:
        raise read.fail(key, f"must be at most {most:g}, not {value!r}")
    return number


def _share(read: _Reader, value: Any, key: str) -> float:
    number = _optional_number(read, value, key, 1)
    return 1.0 if number is None else number


def _spans(read: _Reader, value: Any, key: str) -> tuple[tuple[int, int], ...]:
    """Working spans of a day: ``09:00-17:00``, ``08:00-12:00, 13:00-17:00``, or closed
    (``closed``, an empty list, ``false``)."""
    if value in (None, False, "", [], "closed", "off"):
        return ()
    parts = value if isinstance(value, list) else str(value).split(",")
    spans: list[tuple[int, int]] = []
    for part in parts:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", str(part).strip())
        if not match:
            raise read.fail(key, f"not a span of hours: {part!r}", "write it like 09:00-17:00 (or closed)")
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        if not 0 <= start < end <= 24 * 60 or int(match.group(2)) > 59 or int(match.group(4)) > 59:
            raise read.fail(key, f"the day must start before it ends: {part!r}")
        if spans and start < spans[-1][1]:
            raise read.fail(key, f"spans overlap or are out of order: {value!r}", "write them earliest first")
        spans.append((start, end))
    return tuple(spans)


def _weekday(read: _Reader, day: Any, key: str) -> int:
    name = str(day).lower()[:3]
    if name not in WEEKDAYS:
        raise read.fail(key, f"unknown day {day!r}", "use mon, tue, wed, thu, fri, sat, sun")
    return WEEKDAYS.index(name)


CALENDAR_KEYS = ("timezone", "business_hours", "business_days", "hours", "holidays")


def _business_hours(read: _Reader, raw: Mapping[str, Any], key: str, base: BusinessHours | None) -> BusinessHours:
    """A business calendar from ``sla`` (or ``sla.queues.<name>``, which starts from the desk's)."""
    from gitdesk import calendar

    base = base or BusinessHours()
    name = read.text(raw.get("timezone"), f"{key}.timezone", base.timezone) or base.timezone
    try:
        calendar.zone(name)
    except GitdeskError as error:
        raise read.fail(f"{key}.timezone", error.message, error.hint) from None
    hours = list(base.hours)
    if "business_hours" in raw or "business_days" in raw:
        default = (_spans(read, raw["business_hours"], f"{key}.business_hours") if "business_hours" in raw
                   else next((spans for spans in base.hours if spans), ()))
        if "business_days" in raw:
            days = {_weekday(read, day, f"{key}.business_days")
                    for day in read.names(raw.get("business_days"), f"{key}.business_days")}
        else:
            days = {weekday for weekday, spans in enumerate(base.hours) if spans}
        hours = [default if weekday in days else () for weekday in range(7)]
    per_day = read.mapping(raw.get("hours"), f"{key}.hours", (*WEEKDAYS, *(d + "day" for d in WEEKDAYS)))
    for day, value in per_day.items():
        hours[_weekday(read, day, f"{key}.hours")] = _spans(read, value, f"{key}.hours.{day}")
    if not any(hours):
        raise read.fail(key, "no working hours on any day", "set business_hours and business_days")
    dates: list[str] = []
    countries: list[str] = []
    raw_holidays = raw.get("holidays", None)
    if raw_holidays is None and "holidays" not in raw:
        dates, countries = list(base.holidays), list(base.countries)
    else:
        items = raw_holidays if isinstance(raw_holidays, list) else [raw_holidays] if raw_holidays else []
        for value in items:
            text = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                dates.append(text)
            elif re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,4})?", text):
                problem = calendar.check_country(text.upper())
                if problem:
                    raise read.fail(f"{key}.holidays", problem, "use a country code such as DE, or DE-BY for a region")
                countries.append(text.upper())
            else:
                raise read.fail(f"{key}.holidays", f"not a date or a country: {value!r}",
                                "write dates like 2026-12-25, or a country code such as DE")
    return BusinessHours(name, tuple(hours), tuple(sorted(set(dates))), tuple(dict.fromkeys(countries)))


def _sla(read: _Reader, raw: Mapping[str, Any], queues: Mapping[str, Queue]) -> SlaSettings:
    clock = read.text(raw.get("clock"), "sla.clock", "calendar") or "calendar"
    if clock not in ("calendar", "business"):
        raise read.fail("sla.clock", f"unknown clock {clock!r}", "use calendar or business")
    desk = _business_hours(read, raw, "sla", None)
    own: dict[str, BusinessHours] = {}
    for name, value in read.mapping(raw.get("queues"), "sla.queues").items():
        if name not in queues:
            raise read.fail(f"sla.queues.{name}", f"unknown queue {name!r}", _suggest(name, tuple(queues)))
        key = f"sla.queues.{name}"
        own[name] = _business_hours(read, read.mapping(value, key, CALENDAR_KEYS), key, desk)
    return SlaSettings(clock, desk, own)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*$", re.IGNORECASE)


def _size(read: _Reader, value: Any, key: str, default: int) -> int:
    if value is None:
        return default
    match = _SIZE.match(str(value)) if not isinstance(value, bool) else None
    if match is None:
        raise read.fail(key, f"not a size: {value!r}", "write it like 10MB, 500KB or a number of bytes")
    unit = match.group(2).lower()[:1]
    return int(float(match.group(1)) * {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def _address(read: _Reader, value: Any, key: str) -> str | None:
    from gitdesk.workflow import is_email

    text = read.text(value, key)
    if text is not None and not is_email(text):
        raise read.fail(key, f"not an email address: {text!r}")
    if text is not None and not text.isascii():
        # The desk's own address goes into every From, Message-ID and SMTP envelope: ASCII only.
        try:
            ascii_form = ascii_address(text) if text.rpartition("@")[0].isascii() else None
        except UnicodeError:
            ascii_form = None
        raise read.fail(key, f"the desk's address must be written in ASCII: {text!r}",
                        f"write it as {ascii_form}" if ascii_form else "use an address without non-ASCII letters")
    return text


def _mail(read: _Reader, raw: Mapping[str, Any], queues: Mapping[str, Any], categories: Mapping[str, str],
          priorities: Mapping[str, Any]) -> MailSettings:
    read.mapping(raw, "mail", MAIL_KEYS)
    if "password" in (raw.get("smtp") or {}):
        raise read.fail("mail.smtp.password", "passwords never go in the desk's repository",
                        "set GITDESK_SMTP_PASSWORD in the environment of whoever sends mail")
    smtp = read.mapping(raw.get("smtp"), "mail.smtp", ("host", "port", "user", "security"))
    security = read.text(smtp.get("security"), "mail.smtp.security", "starttls") or "starttls"
    if security not in SMTP_SECURITY:
        raise read.fail("mail.smtp.security", f"unknown security {security!r}", "use starttls, ssl or none")
    port = smtp.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise read.fail("mail.smtp.port", f"not a port number: {port!r}")
    routes = []
    raw_routes = raw.get("routes") or []
    if not isinstance(raw_routes, list):
        raise read.fail("mail.routes", "must be a list of routes", "write each route as '- to: ...' lines")
    for number, value in enumerate(raw_routes):
        key = f"mail.routes.{number}"
        fields = read.mapping(value, "mail.routes")
        for name in fields:
            if name not in ("to", "senders", "keywords", "queue", "category", "priority", "labels"):
                raise read.fail("mail.routes", f"route {number + 1}: unknown condition or setting {name!r}",
                                "conditions: to, senders, keywords; settings: queue, category, priority, labels")
        route = Route(
            to=tuple(address_key(a) for a in read.names(fields.get("to"), key)),
            senders=tuple(address_key(a) for a in read.names(fields.get("senders"), key)),
            keywords=tuple(w.casefold() for w in read.names(fields.get("keywords"), key)),
            queue=read.text(fields.get("queue"), key),
            category=read.text(fields.get("category"), key),
            priority=read.text(fields.get("priority"), key),
            labels=read.names(fields.get("labels"), key),
        )
        for what, chosen, known in (("queue", route.queue, queues), ("category", route.category, categories),
                                    ("priority", route.priority, priorities)):
            if chosen is not None and chosen not in known:
                raise read.fail("mail.routes", f"route {number + 1}: unknown {what} {chosen!r}",
                                f"known: {', '.join(known) or '(none)'}")
        routes.append(route)
    return MailSettings(
        address=_address(read, raw.get("address"), "mail.address"),
        name=read.text(raw.get("name"), "mail.name"),
        aliases=tuple(address_key(a) for a in read.names(raw.get("aliases"), "mail.aliases")),
        smtp_host=read.text(smtp.get("host"), "mail.smtp.host"),
        smtp_port=port,
        smtp_user=read.text(smtp.get("user"), "mail.smtp.user"),
        smtp_security=security,
        max_attachment_bytes=_size(read, raw.get("max_attachment_bytes"), "mail.max_attachment_bytes",
                                   MailSettings().max_attachment_bytes),
        routes=tuple(routes),
        sign_as=_choice(read, raw.get("sign_as"), "mail.sign_as", SIGN_AS),
        notify=_notify(read, raw.get("notify"), "mail.notify", partial=False),
        branch=_branch(read, raw.get("branch"), "mail.branch"),
        local_senders=read.flag(raw.get("local_senders"), "mail.local_senders"),
    )


MAIL_KEYS = ("address", "name", "aliases", "smtp", "max_attachment_bytes", "routes", "sign_as", "notify",
             "branch", "local_senders")


def _choice(read: _Reader, value: Any, key: str, choices: tuple[str, ...]) -> str:
    text = read.text(value, key, choices[0]) or choices[0]
    if text not in choices:
        raise read.fail(key, f"unknown value {text!r}", f"use one of: {', '.join(choices)}")
    return text


INTAKE_BOARD = "intake"  # the boards' name for tickets in no queue (the site, gitdesk serve)


def _notify(read: _Reader, raw: Any, key: str, *, partial: bool) -> dict[str, tuple[str, ...]]:
    """Which public steps mail whom: ``event: [requester, cc]``, ``[requester]`` or ``[]``.
    The desk's setting covers every event (unnamed ones keep the default); a queue's only
    the events it names."""
    # An acknowledgement goes to the sender alone unless the desk says otherwise (as Request
    # Tracker and Zammad do): a stranger's Cc list is the stranger's choice of whom the desk mails.
    found: dict[str, tuple[str, ...]] = {} if partial else {
        event: ("requester",) if event == "acknowledgement" else MAIL_AUDIENCES for event in MAIL_EVENTS}
    for event, value in read.mapping(raw, key, MAIL_EVENTS).items():
        if isinstance(value, bool):  # true: requester and Cc; false: nobody
            found[event] = MAIL_AUDIENCES if value else ()
            continue
        audience = read.names(value, f"{key}.{event}")
        for who in audience:
            if who not in MAIL_AUDIENCES:
                raise read.fail(f"{key}.{event}", f"unknown audience {who!r}",
                                "use [requester, cc], [requester], or [] (or true / false)")
        found[event] = audience
    return found


# A branch name as Git allows it, without the odd corners (no leading '-', no '..',
# no '@{'): it is passed to Git, so it must never read as an option or a revision.
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*@\{)(?!.*//)[A-Za-z0-9._/-]{1,100}(?<![./])\Z")


def _branch(read: _Reader, value: Any, key: str) -> str | None:
    text = read.text(value, key)
    if text is not None and (not _BRANCH.match(text) or text.endswith(".lock")):
        raise read.fail(key, f"not a branch name: {text!r}", "write the branch mail is sent from, e.g. main")
    return text
