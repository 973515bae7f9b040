"""``.gitdesk/rules.yml``: the desk's rules, read and checked against the config.

A rule is a name, one trigger (``when``), conditions on the ticket (``if``) and
steps (``do``). The file is untrusted like any other in the repository: every
name in it is checked against the config, templates and canned replies before a
rule may run, and each problem names the file, the line and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitdesk import frontmatter, templates, ticketfile, workflow
from gitdesk.config import refuse_repeated_keys
from gitdesk.durations import Span, parse_span
from gitdesk.errors import ConfigError, GitdeskError
from gitdesk.model import GITDESK_EXTRA_FIELDS, Config, Ticket
from gitdesk.text import closest, domain_key

if TYPE_CHECKING:  # YAML is imported when a rules file is read: most commands on most desks never do
    import yaml

RULES_PATH = templates.RULES_PATH
MAX_RULES_BYTES = 256 * 1024
EVENTS = ("created", "reopened")
TARGETS = ("first_response", "resolution")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DIGESTS = ("feedback", "workload")
# Who a notify step reaches, besides a person's handle or a queue's name.
AUDIENCES = ("assignee", "lead", "leads")
STEPS = ("set", "assign", "label", "escalate", "mail", "reply", "notify", "note", "resolve", "close", "digest")
TICKET_STEPS = tuple(step for step in STEPS if step != "digest")
WHEN_KEYS = ("status", "for", "clock", "target", "used", "missed", "event", "every", "at")
IF_KEYS = ("queue", "priority", "category", "labels", "requester_domain", "assignee", "status")


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a rule acts: ``status`` for a while, a ``target`` nearly or wholly used, an
    ``event`` as it happens, or ``every`` week (or day) at a time."""

    kind: str  # status | target | event | every
    status: str | None = None
    after: Span | None = None  # on the business calendar a day is one working day
    business: bool = False  # count working time of the ticket's calendar, not wall-clock time
    target: str | None = None
    used: float | None = None  # 0.8 for 80 %; 1.0 when missed
    event: str | None = None
    weekday: int | None = None  # 0 = Monday; None = every day
    workdays: bool = False  # every: weekday, i.e. the desk calendar's working days, holidays off
    minute: int = 0  # minutes after midnight, in the desk's time zone

    def describe(self) -> str:
        clock = " working time" if self.business else ""
        if self.kind == "status":
            return f"{self.status} for {self.after.text if self.after else ''}{clock}"
        if self.kind == "target":
            what = self.target.replace("_", " ") if self.target else ""
            return f"{what} target missed" if self.used == 1.0 else f"{what} target {self.used:.0%} used"
        if self.kind == "event":
            return f"when a ticket is {self.event}"
        day = "every working day" if self.workdays else "every day" if self.weekday is None else \
            f"every {WEEKDAYS[self.weekday].capitalize()}"
        return f"{day} at {self.minute // 60:02d}:{self.minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class Conditions:
    """What must hold of a ticket for a rule to act on it; an empty condition holds."""

    queue: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # any of them
    requester_domain: tuple[str, ...] = ()
    assignee: str | None = None  # none | any | a handle
    status: tuple[str, ...] = ()

    def hold(self, ticket: Ticket) -> bool:
        if self.queue and (ticket.queue or "intake") not in self.queue:
            return False
        if self.priority and ticket.priority not in self.priority:
            return False
        if self.category and ticket.category not in self.category:
            return False
        if self.labels and not set(self.labels) & set(ticket.labels):
            return False
        if self.status and ticket.status not in self.status:
            return False
        if self.requester_domain:
            domain = domain_key(ticket.requester.rsplit("@", 1)[-1]) if "@" in ticket.requester else ""
            if domain not in self.requester_domain:
                return False
        if self.assignee == "none":
            return ticket.assignee is None
        if self.assignee == "any":
            return ticket.assignee is not None
        return self.assignee is None or ticket.assignee == self.assignee

    def describe(self) -> str:
        """The conditions in words ("queue helpdesk, requester_domain customer.org"), or ""."""
        parts = [f"{name} {' or '.join(values)}" for name, values in (
            ("queue", self.queue), ("priority", self.priority), ("category", self.category),
            ("label", self.labels), ("status", self.status), ("requester_domain", self.requester_domain)) if values]
        if self.assignee is not None:
            parts.append(f"assignee {self.assignee}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a rule does: a verb and what it was given (checked when read)."""

    verb: str
    value: Any = None

    def describe(self, most: int | None = 40) -> str:
        """The step in words, its value cut at ``most`` characters (a note's summary), or whole."""
        value = self.value
        if value is None or value == "":
            return self.verb
        if isinstance(value, Mapping):
            shown = ", ".join(f"{key} {item}" for key, item in value.items() if item is not None)
        elif isinstance(value, (list, tuple)):
            shown = " ".join(str(item) for item in value)
        else:
            shown = str(value)
        shown = " ".join(shown.split())
        return f"{self.verb} {shown if most is None or len(shown) <= most else shown[:most - 1] + '…'}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    trigger: Trigger
    conditions: Conditions = field(default_factory=Conditions)
    steps: tuple[Step, ...] = ()
    to: tuple[str, ...] = ()  # a digest's readers: leads, or handles
    line: int | None = None

    @property
    def per_ticket(self) -> bool:
        return self.trigger.kind != "every"

    def describe(self) -> str:
        return f"{self.trigger.describe()}: {'; '.join(step.describe() for step in self.steps)}"


# --- reading the file ---------------------------------------------------------------------


class _Lines:
    """The line of each node of the YAML document, by its path (``rules``, 2, ``do``, 0)."""

    def __init__(self, text: str) -> None:
        import yaml

        self.lines: dict[tuple[Any, ...], int] = {}
        try:
            node = yaml.compose(text, Loader=frontmatter.safe_loader())
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        import yaml

        self.lines.setdefault(path, int(node.start_mark.line) + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                where = (*path, str(key.value))
                self.lines[where] = int(key.start_mark.line) + 1
                self._walk(value, (*path, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def of(self, path: tuple[Any, ...]) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


def _guess(word: str, choices: Sequence[str]) -> str | None:
    close = closest(word, [choice for choice in choices if choice != word])  # never "'bob'? did you mean 'bob'?"
    return f"did you mean {close!r}?" if close else None


class _Reader:
    def __init__(self, text: str, path: str, config: Config, replies: Collection[str] | None) -> None:
        self.path, self.config, self.replies = path, config, replies
        self.lines = _Lines(text)
        self.problems: list[GitdeskError] = []

    def fail(self, where: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(ConfigError(message, path=self.path, line=self.lines.of(where), hint=hint))

    def words(self, value: Any, where: tuple[Any, ...], what: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in items):
            self.fail(where, f"{what} is a name or a list of names")
            return ()
        return tuple(str(item).strip() for item in items)

    def known(self, names: Sequence[str], choices: Sequence[str], where: tuple[Any, ...], what: str) -> None:
        for name in names:
            if name not in choices:
                self.fail(where, f"unknown {what} {name!r}",
                          _guess(name, choices) or f"expected one of: {', '.join(choices)}")

    def duration(self, value: Any, where: tuple[Any, ...]) -> Span | None:
        try:
            found = parse_span(str(value), unit_required=True)
        except GitdeskError as error:
            self.fail(where, error.message, error.hint)
            return None
        if found.calendar().total_seconds() <= 0:
            self.fail(where, "a duration is longer than nothing", "write e.g. 30m, 4h, 2d or 1w")
            return None
        return found


def parse_rules(text: str, config: Config, replies: Collection[str] | None = None,
                path: str = RULES_PATH) -> list[Rule]:
    """The rules in ``text``; raises the first problem (``rule_problems`` lists them all).
    ``replies``: the desk's canned replies by name, when known."""
    rules, problems = _read(text, config, replies, path)
    if problems:
        raise problems[0]
    return rules


def rule_problems(text: str, config: Config, replies: Collection[str] | None = None,
                  path: str = RULES_PATH) -> list[GitdeskError]:
    """Everything wrong with a rules file, each with its line (for gitdesk check)."""
    return _read(text, config, replies, path)[1]


def _read(text: str, config: Config, replies: Collection[str] | None,
          path: str) -> tuple[list[Rule], list[GitdeskError]]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULES_BYTES:
        return [], [ConfigError(f"is larger than {MAX_RULES_BYTES // 1024} KB", path=path,
                                hint="a desk needs a few dozen rules at most")]
    import yaml

    try:
        data = yaml.load(text, Loader=frontmatter.safe_loader())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return [], [ConfigError("is not valid YAML: " + " ".join(str(getattr(error, "problem", error)).split()),
                                path=path, line=int(mark.line) + 1 if mark is not None else None,
                                hint="fix the indentation or quoting on that line")]
    except frontmatter.UNREADABLE as error:  # "2026-02-30", "0b_"
        return [], [ConfigError(f"has a value Python cannot hold: {frontmatter.short(error)}", path=path,
                                hint="correct the value, or quote it to keep it as text")]
    try:  # a second when: under one rule would silently replace the first
        refuse_repeated_keys(text, path)
    except ConfigError as error:
        return [], [error]
    reader = _Reader(text, path, config, replies)
    if data is None:
        return [], []
    if not isinstance(data, dict) or set(data) - {"rules"}:
        reader.fail((), "holds one key, rules:, with a list of rules", "see docs/automations.md")
        return [], reader.problems
    raw = data.get("rules")
    raw = [] if raw is None else raw  # "rules:" with nothing yet; "rules: {}" is a mistake, said below
    if not isinstance(raw, list):
        reader.fail(("rules",), "rules: is a list of rules", "begin each rule with '- name: …'")
        return [], reader.problems
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        rule = _rule(reader, item, ("rules", index))
        if rule is None:
            continue
        if rule.name in seen:
            reader.fail(("rules", index, "name"), f"two rules are named {rule.name!r}", "give each rule its own name")
        seen.add(rule.name)
        rules.append(rule)
    return rules, reader.problems


_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def _rule(reader: _Reader, item: Any, where: tuple[Any, ...]) -> Rule | None:
    if not isinstance(item, dict):
        reader.fail(where, "a rule is a mapping with name, when and do", "see docs/automations.md")
        return None
    before = len(reader.problems)
    for key in item:
        if key not in ("name", "when", "if", "do", "to"):
            reader.fail((*where, str(key)), f"a rule has no setting {key!r}",
                        _guess(str(key), ("name", "when", "if", "do", "to")) or "use name, when, if, do and to")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        reader.fail((*where, "name"), f"rule name {name!r} is not a name",
                    "use lowercase letters, digits, '-' and '_', e.g. remind-pending")
        name = "?"
    trigger = _trigger(reader, item.get("when"), (*where, "when"))
    conditions = _conditions(reader, item.get("if"), (*where, "if"))
    steps = _steps(reader, item.get("do"), (*where, "do"), trigger)
    if trigger is not None:
        _refused_every_run(reader, (*where, "do"), trigger, conditions, steps)
    for step in steps:
        if step.verb == "escalate" and step.value["to"] is None:
            # Without to: the ticket's queue's target: each queue the rule can act in needs one,
            # or the rule fails on every run for as long as such a ticket waits.
            lacking = [name for name in (conditions.queue or tuple(reader.config.queues))
                       if name in reader.config.queues and not reader.config.queues[name].escalate_to]
            if lacking:
                reader.fail((*where, "do"), f"escalate without to: needs the queue's escalate_to, which queue "
                            f"{lacking[0]} has not", "give the step to: a queue or person, or limit the rule "
                            "with if: {queue: …}")
    to: tuple[str, ...] = ()
    if item.get("to") is not None:
        to = reader.words(item.get("to"), (*where, "to"), "to")
        _people_or_leads(reader, to, (*where, "to"))
    if trigger is not None and trigger.kind == "every" and any(step.verb == "digest" for step in steps) and not to:
        to = ("leads",)
    if trigger is None or len(reader.problems) > before:
        return None
    return Rule(name, trigger, conditions, tuple(steps), to, reader.lines.of(where))


def _refused_every_run(reader: _Reader, where: tuple[Any, ...], trigger: Trigger, conditions: Conditions,
                       steps: Sequence[Step]) -> None:
    """Refuse a step the workflow refuses from every status the ticket can have when it is
    taken (a close on a closed ticket, an escalate after the rule's own resolve): such a rule
    fails on every run, for as long as a ticket matches, and its other steps never happen."""
    config = reader.config
    can: set[str] = set(config.statuses)
    if trigger.kind == "status" and trigger.status is not None:
        can = {trigger.status}
    if conditions.status:
        can &= set(conditions.status)
        if not can:
            reader.fail(where, f"if: status {', '.join(conditions.status)} never holds when: status "
                        f"{trigger.status}, so the rule never acts", "drop the status from if:")
            return
    for step in steps:
        if step.verb == "escalate":
            if can <= set(config.done_statuses):
                shown = " or ".join(sorted(can))
                reader.fail(where, f"escalate on {workflow.a_or_an(shown)} ticket is refused on every run: a "
                            "finished ticket is reopened first", "notify or note instead, e.g. - notify: leads")
                return
            if config.initial_status in can:  # it leaves intake for the queue
                can.add(workflow.OPEN)
        elif step.verb in ("close", "resolve"):
            status = workflow.CLOSED if step.verb == "close" else workflow.RESOLVED
            if not any(status != now and status in config.statuses[now].next for now in can
                       if now in config.statuses):
                shown = " or ".join(sorted(can))
                reader.fail(where, f"{step.verb} on {workflow.a_or_an(shown)} ticket is refused on every run: the "
                            f"workflow does not lead from {shown} to {status}",
                            "drop the step, or start the rule from a status that leads there")
                return
            can = {status}


def _people_or_leads(reader: _Reader, names: Sequence[str], where: tuple[Any, ...]) -> None:
    config = reader.config
    for name in names:
        if name != "leads" and config.person(name) is None:
            reader.fail(where, f"unknown person {name!r}", _guess(name, list(config.people)) or
                        "name a handle from people: in .gitdesk/config.yml, or leads")


def _trigger(reader: _Reader, value: Any, where: tuple[Any, ...]) -> Trigger | None:
    if not isinstance(value, dict):
        reader.fail(where, "a rule needs when:", "e.g. when: {status: pending, for: 2d}")
        return None
    for key in value:
        if key not in WHEN_KEYS:
            reader.fail((*where, str(key)), f"when: has no setting {key!r}",
                        _guess(str(key), WHEN_KEYS) or f"use {', '.join(WHEN_KEYS)}")
    kinds = [kind for kind in ("status", "target", "event", "every") if kind in value]
    if len(kinds) != 1:
        reader.fail(where, "when: names one of status, target, event or every",
                    "e.g. {status: pending, for: 2d}, {target: first_response, used: 80%}, "
                    "{event: created} or {every: monday, at: '08:00'}")
        return None
    kind = kinds[0]
    clock = value.get("clock", "calendar")
    if clock not in ("calendar", "business"):
        reader.fail((*where, "clock"), f"unknown clock {clock!r}", "use calendar or business (working time)")
    business = clock == "business"
    if "clock" in value and kind != "status":
        reader.fail((*where, "clock"), "clock: belongs to a status trigger" if kind != "target" else
                    "a target counts on the desk's SLA clock", "drop clock: here" if kind != "target" else
                    "drop clock: here (sla.clock in .gitdesk/config.yml sets the SLA clock)")
    config = reader.config
    if kind == "status":
        status = str(value["status"])
        reader.known([status], list(config.statuses), (*where, "status"), "status")
        if "for" not in value:
            reader.fail(where, "a status trigger says for how long", "e.g. {status: resolved, for: 7d}")
            return None
        after = reader.duration(value["for"], (*where, "for"))
        return Trigger("status", status=status, after=after, business=business)
    if kind == "target":
        target = str(value["target"])
        reader.known([target], TARGETS, (*where, "target"), "target")
        used: float | None = None
        if value.get("missed") is True:
            used = 1.0
        elif "used" in value:
            used = _fraction(reader, value["used"], (*where, "used"))
        if used is None:
            reader.fail(where, "a target trigger says how much of it is used",
                        "e.g. {target: first_response, used: 80%} or {target: resolution, missed: true}")
            return None
        return Trigger("target", target=target, used=used)
    if kind == "event":
        event = str(value["event"])
        reader.known([event], EVENTS, (*where, "event"), "event")
        return Trigger("event", event=event)
    day = str(value["every"]).strip().lower()
    weekday: int | None = None
    if day not in ("day", "weekday") and day not in WEEKDAYS:
        reader.fail((*where, "every"), f"unknown day {day!r}",
                    _guess(day, [*WEEKDAYS, "day"]) or "use day or a weekday, e.g. monday")
    elif day in WEEKDAYS:
        weekday = WEEKDAYS.index(day)
    at = str(value.get("at", "08:00"))
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at)
    if not match:
        reader.fail((*where, "at"), f"{at!r} is not a time of day", "write it as HH:MM in quotes, e.g. '08:00'")
        return None
    return Trigger("every", weekday=weekday, workdays=day == "weekday",
                   minute=int(match.group(1)) * 60 + int(match.group(2)))


def _fraction(reader: _Reader, value: Any, where: tuple[Any, ...]) -> float | None:
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        number = -1.0
    if not 0 < number <= 1:
        reader.fail(where, f"{text!r} is not a share of the target", "write a percentage, e.g. 80%")
        return None
    return number


def _conditions(reader: _Reader, value: Any, where: tuple[Any, ...]) -> Conditions:
    if value is None:
        return Conditions()
    if not isinstance(value, dict):
        reader.fail(where, "if: is a mapping of field to value", "e.g. if: {queue: helpdesk, priority: [high, urgent]}")
        return Conditions()
    config = reader.config
    found: dict[str, Any] = {}
    for key, raw in value.items():
        key = str(key)
        at = (*where, key)
        if key not in IF_KEYS:
            reader.fail(at, f"if: has no condition {key!r}", _guess(key, IF_KEYS) or f"use {', '.join(IF_KEYS)}")
            continue
        if key == "assignee":
            who = str(raw).strip()
            if who not in ("none", "any") and config.person(who) is None:
                reader.fail(at, f"unknown person {who!r}", _guess(who, list(config.people)) or
                            "use none, any, or a handle from people:")
            found[key] = who
            continue
        names = reader.words(raw, at, key)
        if key == "queue":
            reader.known(names, [*config.queues, "intake"], at, "queue")
        elif key == "priority":
            reader.known(names, list(config.priorities), at, "priority")
        elif key == "category":
            reader.known(names, list(config.categories), at, "category")
        elif key == "status":
            reader.known(names, list(config.statuses), at, "status")
        elif key == "requester_domain":
            names = tuple(domain_key(name.lstrip("@")) for name in names)  # straße.de is not strasse.de
        found[key] = names
    return Conditions(**found)


def _steps(reader: _Reader, value: Any, where: tuple[Any, ...], trigger: Trigger | None) -> list[Step]:
    if value is None or value == []:
        reader.fail(where, "a rule needs do: with at least one step", "e.g. do: [close]")
        return []
    items = value if isinstance(value, list) else [value]
    steps: list[Step] = []
    for index, item in enumerate(items):
        at = (*where, index) if isinstance(value, list) else where
        if isinstance(item, str):
            verb, argument = item.strip(), None
        elif isinstance(item, dict) and len(item) == 1:
            verb, argument = str(next(iter(item))), next(iter(item.values()))
        else:
            reader.fail(at, "a step is a verb, or one verb with what it needs", "e.g. - close, or - label: vip")
            continue
        if verb not in STEPS:
            reader.fail(at, f"unknown step {verb!r}", _guess(verb, STEPS) or f"use one of: {', '.join(STEPS)}")
            continue
        if trigger is not None and (trigger.kind == "every") != (verb == "digest"):
            reader.fail(at, f"{verb} is a step for " + ("a weekly or daily rule" if verb == "digest" else
                                                         "tickets, not a weekly or daily rule"),
                        "a rule with every: sends digests; the others act on tickets")
            continue
        step = _step(reader, verb, argument, at)
        if step is not None:
            steps.append(step)
    return steps


def _text(reader: _Reader, value: Any, where: tuple[Any, ...], verb: str, example: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        reader.fail(where, f"{verb} needs its text", f"e.g. - {verb}: {example}")
        return None
    return value


def _step(reader: _Reader, verb: str, value: Any, where: tuple[Any, ...]) -> Step | None:
    config = reader.config
    if verb == "close":
        return Step(verb)
    if verb in ("resolve", "note"):
        text = _text(reader, value, where, verb, '"No answer in a week; reply to open it again."')
        return Step(verb, text) if text else None
    if verb == "set":
        if not isinstance(value, dict) or not value:
            reader.fail(where, "set needs field: value pairs", "e.g. - set: {priority: high}")
            return None
        for key, item in value.items():
            if not isinstance(item, (str, int, float, date)) or (isinstance(item, float) and not math.isfinite(item)):
                # it would be written as Python shows it (b'hi', {'a': 1}), not as the rule says
                shown = ticketfile.kind_of(item) if not isinstance(item, float) else str(item)
                reader.fail(where, f"set {key}: {shown} is not a value a field can take",
                            'write it as text, e.g. - set: {cost_centre: "4711"}')
            elif str(key) in ("status", "id", "created", "labels", "related", "duplicate_of"):
                reader.fail(where, f"a rule cannot set {key}", "use close, resolve or label steps")
            elif str(key) in GITDESK_EXTRA_FIELDS - {"kb", "kb_title"}:  # those two a person decides
                reader.fail(where, f"a rule cannot set {key}: gitdesk keeps it", "set a field of your own")
            elif str(key) == "priority":
                reader.known([str(item)], list(config.priorities), where, "priority")
            elif str(key) == "category":
                reader.known([str(item)], list(config.categories), where, "category")
            elif str(key) == "queue":
                reader.known([str(item)], list(config.queues), where, "queue")
            elif str(key) == "assignee" and config.person(str(item)) is None:
                reader.fail(where, f"unknown person {item!r}", _guess(str(item), list(config.people)))
            elif str(key) == "assignee" and not config.is_agent(config.person(str(item)).handle):  # type: ignore[union-attr]
                reader.fail(where, f"{item!r} is not an agent of this desk",
                            "name a queue member, or a person with agent: true")
        return Step(verb, {str(key): str(item) for key, item in value.items()})
    if verb == "assign":
        who = str(value or "")
        if config.person(who) is None or not config.is_agent(config.person(who).handle):  # type: ignore[union-attr]
            reader.fail(where, f"{who!r} is not an agent of this desk", _guess(who, list(config.people)) or
                        "name a queue member, or a person with agent: true")
            return None
        return Step(verb, who)
    if verb == "label":
        labels = reader.words(value, where, "label")
        if not labels or any(not label.lstrip("+-") or " " in label for label in labels):
            reader.fail(where, "label needs labels", "e.g. - label: [+vip, -triage]")
            return None
        return Step(verb, labels)
    if verb == "escalate":
        if not isinstance(value, dict) or not isinstance(value.get("reason"), str):
            reader.fail(where, "escalate needs a reason", "e.g. - escalate: {to: dana, reason: No answer in 4h}")
            return None
        to = value.get("to")
        if to is not None and str(to) not in config.queues and config.person(str(to)) is None:
            reader.fail(where, f"{to!r} is neither a queue nor a person", _guess(str(to), [*config.queues,
                                                                                          *config.people]))
        return Step(verb, {"to": None if to is None else str(to), "reason": value["reason"]})
    if verb == "mail":
        event = str(value or templates.REMINDER)
        allowed = (templates.REMINDER, "acknowledgement", "question", "reply")
        if event not in allowed:
            reader.fail(where, f"no mail template {event!r} for a rule", _guess(event, allowed) or
                        f"use one of: {', '.join(allowed)} (from .gitdesk/templates/mail/)")
            return None
        return Step(verb, event)
    if verb == "reply":
        reply = str(value or "")
        if reader.replies is not None and reply not in reader.replies:
            reader.fail(where, f"no canned reply {reply!r}", _guess(reply, list(reader.replies)) or
                        f"write it in {templates.reply_file(reply)}")
            return None
        return Step(verb, reply)
    if verb == "notify":
        audience = reader.words(value if value is not None else "assignee", where, "notify")
        for name in audience:
            if name in AUDIENCES or name in config.queues:
                continue
            if config.person(name) is None:
                reader.fail(where, f"unknown person or queue {name!r}",
                            _guess(name, [*AUDIENCES, *config.queues, *config.people]) or
                            "use assignee, lead, leads, a queue or a handle")
        return Step(verb, audience)
    # digest
    kinds = reader.words(value, where, "digest")
    reader.known(kinds, DIGESTS, where, "digest")
    return Step(verb, kinds)


def read_rules(root: Path, config: Config) -> list[Rule]:
    """The desk's rules from ``root``; none when it has no rules file."""
    from gitdesk.desk import read_regular

    path = root / RULES_PATH
    if not path.exists() and not path.is_symlink():
        return []
    data = read_regular(str(path), RULES_PATH)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not valid UTF-8", path=RULES_PATH, hint="re-save the file as UTF-8") from None
    replies = {path.stem for path in (root / templates.REPLIES).glob("*.md")} \
        if (root / templates.REPLIES).is_dir() else set()
    return parse_rules(text, config, replies)

