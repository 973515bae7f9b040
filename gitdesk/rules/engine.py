"""Running the rules: what is due, and doing it, each change an ordinary commit.

Time rules (``status`` for a while, a ``target`` nearly used, ``every`` week) run
from ``gitdesk rules run`` on a schedule; event rules (``created``,
``reopened``) run inside the action that creates or reopens a ticket.

Once, however often and wherever it runs. A time rule that acts on a ticket
writes an internal note in its thread (``### <when> gitdesk — note rule NAME``)
stamped with the moment the rule became due, not the moment it ran; the rule
never acts again on that ticket until the ticket enters the state anew. What a
rule does is made only from the ticket and that moment, so two clones that run
the same rules on the same history write the same bytes: the same note, and mail
with the same name and Message-ID. Sync then finds one change where there were
two, and ``gitdesk mail send`` delivers a Message-ID once.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from gitdesk import actions, assignment, attachments, clock, git, templates, ticketfile, workflow
from gitdesk.actions import Automated
from gitdesk.cache import db, history, index
from gitdesk.calendar import Calendar
from gitdesk.clock import format_utc
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.model import MAIL_SYSTEM, NOTE, RULES_AUTHOR, Config, Entry, Person, Ticket
from gitdesk.paths import OUTBOX, stamped
from gitdesk.rules.spec import Rule, Step, read_rules
from gitdesk.text import address_key, clean_line, counted
from gitdesk.timings import Change, Clocks

if TYPE_CHECKING:
    from gitdesk.mail.compose import Letter
    from gitdesk.mail.outbox import TicketMail

CATCH_UP_WEEKLY = timedelta(days=2)
CATCH_UP_DAILY = timedelta(hours=12)
ACTOR = Actor(RULES_AUTHOR, Person(RULES_AUTHOR, "gitdesk rules", agent=True), None)
DETAIL = "rule {name}"


# --- what is due ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A rule that has something to do now: on one ticket, or (a digest) on the desk."""

    rule: Rule
    at: datetime  # the moment it became due: what it writes is stamped with it
    since: datetime  # the start of the state it answers (the pending spell, the week)
    ticket: Ticket | None = None


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The next time a rule will act, when known: on which ticket and when."""

    rule: Rule
    at: datetime
    ticket_id: str | None = None
    since: datetime | None = None  # the start of the state it answers
    calendar: Calendar | None = None  # the calendar a status rule counted on


def _acted(ticket: Ticket, rule: Rule, since: datetime) -> bool:
    detail = DETAIL.format(name=rule.name)
    return any(entry.author == RULES_AUTHOR and entry.detail == detail and entry.at >= since
               for entry in ticket.entries)


def _status_since(ticket: Ticket, changes: Sequence[Change]) -> datetime:
    """When the ticket last entered its current status (its creation, with no history)."""
    entered = ticket.created
    previous: str | None = None
    for change in changes:
        if change.field != "status":
            continue
        if change.after == ticket.status and previous != ticket.status:
            entered = change.at
        previous = change.after
    return max(entered, ticket.created)


def _calendar(config: Config, rule: Rule, ticket: Ticket) -> Calendar | None:
    if rule.trigger.kind != "status":
        return None
    return Calendar.for_queue(config, ticket.queue, "business" if rule.trigger.business else "calendar")


def _ticket_due(config: Config, rule: Rule, ticket: Ticket, changes: Sequence[Change],
                now: datetime, beyond: Upcoming | None = None) -> tuple[datetime, datetime] | None:
    """(due moment, start of the state) when ``rule`` is due on ``ticket`` at some moment,
    whether or not that moment has come; None when it will not be in the ticket's state,
    or (to spare the exact sum on a big desk) when it is surely later than both ``now``
    and ``beyond`` (the soonest upcoming work of the rule found so far)."""
    trigger = rule.trigger
    if not rule.conditions.hold(ticket):
        return None
    if trigger.kind == "status":
        if ticket.status != trigger.status or trigger.after is None:
            return None
        since = _status_since(ticket, changes)
        calendar = _calendar(config, rule, ticket)
        assert calendar is not None
        # Later than the soonest upcoming one: surely not due, and not the soonest. On the
        # same calendar a later start ends later; working time never outruns the wall clock.
        if beyond is not None and beyond.since is not None and beyond.at > now and (
                (beyond.calendar is calendar and since >= beyond.since)
                or since + timedelta(seconds=calendar.seconds(trigger.after)) >= beyond.at):
            return None
        return calendar.add(since, trigger.after), since
    if trigger.kind == "target":
        if workflow.is_done(config, ticket.status) or ticket.status == workflow.PENDING:
            return None  # finished tickets' clocks have stopped; pending pauses them
        # The same clocks show, list and the SLA report read: paused while pending,
        # stopped by a response or a finish, judged by the priority and queue of the time.
        clocks = Clocks(config, ticket, changes)
        if trigger.target == "first_response":
            measure = clocks.first_response(now)
        else:
            running = clocks.resolution_clocks(now)
            measure = running[-1] if running else None
        if measure is None or measure.stopped is not None or measure.stop == "paused" or measure.target is None:
            return None
        wanted = measure.target * (trigger.used or 1.0)
        if measure.seconds >= wanted:
            reached = clocks.reached(measure, wanted, now)
            return (reached or now), measure.started
        if beyond is not None and beyond.at <= now + timedelta(seconds=wanted - measure.seconds):
            return None
        return Calendar.for_queue(config, measure.queue).add(now, wanted - measure.seconds), measure.started
    return None


def _stamp(ticket: Ticket, due: datetime, since: datetime, now: datetime) -> datetime:
    """The moment a rule's note and mail carry: when it became due, never before the
    ticket's last entry (the thread stays in order), to the second; never after ``now``
    (an entry typed with a future date must not date a mail in the future)."""
    latest = max((entry.at for entry in ticket.entries), default=since)
    return min(max(due, latest, since), now).replace(microsecond=0)


def _occurrences(config: Config, rule: Rule, now: datetime) -> tuple[datetime, datetime]:
    """The last scheduled moment of an ``every`` rule at or before ``now``, and the next
    one: at its time of day in the desk's time zone (so 08:00 stays 08:00 across daylight
    saving), on its weekday, or on the desk calendar's working days."""
    trigger = rule.trigger
    calendar = Calendar.for_queue(config, None, "business")
    local_now = now.astimezone(calendar.zone)

    def scheduled(day: date) -> bool:
        if trigger.workdays:
            return calendar.works_on(day)
        return trigger.weekday is None or day.weekday() == trigger.weekday

    def at(day: date) -> datetime:
        local = datetime.combine(day, time(trigger.minute // 60, trigger.minute % 60), calendar.zone)
        return local.astimezone(timezone.utc)

    def walk(step: int) -> Iterator[datetime]:  # scheduled moments from today on, one way, for a year
        for n in range(400):
            day = local_now.date() + timedelta(days=n * step)
            if scheduled(day):
                yield at(day)

    last = next((moment for moment in walk(-1) if moment <= now), datetime.min.replace(tzinfo=timezone.utc))
    upcoming = next((moment for moment in walk(1) if moment > now), datetime.max.replace(tzinfo=timezone.utc))
    return last, upcoming


@dataclass
class Plan:
    """What the rules would do now, and the next each will do."""

    due: list[Due] = field(default_factory=list)
    upcoming: dict[str, Upcoming] = field(default_factory=dict)
    held: list[tuple[Due, str]] = field(default_factory=list)  # due by the clock, held back, and why (_hold_back)
    zone: tzinfo | None = None  # the desk's time zone: "every Monday at 07:00" is 07:00 there
    # Ticket files no rule could judge (unreadable, or a status the config lacks): a reminder
    # due on one of them is not sent, and nobody at the keyboard would know unless told.
    unreadable: list[GitdeskError] = field(default_factory=list)


def plan(desk: Desk, rules: Sequence[Rule], now: datetime, *, every: Sequence[Rule] | None = None) -> Plan:
    """Every time rule's due work, the next it will do, and the tickets it must skip;
    ``every``: all the desk's rules, when ``rules`` are some of them (a reminder rule not run
    still holds back the closing that must follow its mail)."""
    history.require_full(desk, "the rules need")  # each status's age starts at a shallow clone's cut
    config = desk.config
    found = Plan(zone=Calendar.for_queue(desk.config, None, "business").zone)
    ticket_rules = [rule for rule in rules if rule.trigger.kind in ("status", "target")]
    later: list[Due] = []  # not due by the status clock, and waiting on the requester
    if ticket_rules:
        wanted: set[str] = set()
        for rule in ticket_rules:
            if rule.trigger.kind == "status":
                wanted.add(rule.trigger.status or "")
            else:
                wanted.update(name for name in config.statuses
                              if not workflow.is_done(config, name) and name != workflow.PENDING)
        # Entries (the thread's facts) are read for the tickets a target is judged on, and
        # for the others only once a rule is due on them: on a big desk most are not.
        judged = {name for name in wanted if not workflow.is_done(config, name) and name != workflow.PENDING} \
            if any(rule.trigger.kind == "target" for rule in ticket_rules) else set()
        with db.connect(desk) as connection:
            index.refresh(desk, connection)
            tickets, found.unreadable = index.tickets(desk, connection, sorted(judged), refreshed=True) \
                if judged else ([], [])
            if wanted - judged:
                more, problems = index.tickets(desk, connection, sorted(wanted - judged), with_facts=False,
                                               refreshed=True)
                tickets += more
                found.unreadable = found.unreadable or problems  # each query lists every unreadable file
            found.unreadable += index.unknown_statuses(connection, desk)
            tracked = history.tracked_changes(desk, [ticket.id for ticket in tickets]) if tickets else {}
            candidates: list[tuple[Rule, Ticket, datetime, datetime]] = []
            for ticket in tickets:
                events = tracked.get(ticket.id, [])
                for rule in ticket_rules:
                    soonest = found.upcoming.get(rule.name)
                    timed = _ticket_due(config, rule, ticket, events, now, soonest)
                    if timed is None:
                        continue
                    due, since = timed
                    if due <= now:
                        candidates.append((rule, ticket, due, since))
                    elif _waits_on_requester(Due(rule, due, since, ticket)):
                        later.append(Due(rule, due, since, ticket))  # counted from the delivery below
                    elif soonest is None or due < soonest.at:
                        # Not due yet, so not yet acted on in this spell: no need to look.
                        found.upcoming[rule.name] = Upcoming(rule, due, ticket.id, since, _calendar(config, rule,
                                                                                                    ticket))
            light = [ticket.id for _, ticket, _, _ in candidates if ticket.status not in judged]
            facts = index.entries_of(connection, light) if light else {}
        # A target already missed: its warning ("80% used") is late news when a rule tells of the
        # miss itself (the starter rules do both); a run after a quiet weekend sent both at once.
        missed = {(ticket.id, rule.trigger.target) for rule, ticket, _, _ in candidates
                  if rule.trigger.kind == "target" and rule.trigger.used == 1.0}
        for rule, ticket, due, since in candidates:
            if rule.trigger.kind == "target" and (rule.trigger.used or 1.0) < 1.0 \
                    and (ticket.id, rule.trigger.target) in missed:
                continue
            if ticket.id in facts:
                ticket = replace(ticket, entries=facts[ticket.id])
            if not _acted(ticket, rule, since):
                found.due.append(Due(rule, _stamp(ticket, due, since, now), since, ticket))
    for rule in rules:
        if rule.trigger.kind != "every":
            continue
        occurrence, following = _occurrences(config, rule, now)
        found.upcoming[rule.name] = Upcoming(rule, following)
        # A run that missed the moment (the scheduler was down) still sends it, within a
        # while; a desk that just got its rules does not send last week's digest.
        late = now - occurrence > (CATCH_UP_WEEKLY if rule.trigger.weekday is not None else CATCH_UP_DAILY)
        if not late and not _digest_sent(desk, rule, occurrence) and not _before_the_rules(desk, occurrence, now):
            found.due.append(Due(rule, occurrence, occurrence))
    found.due.sort(key=_in_order)
    _hold_back(desk, found, now, later, rules if every is None else every)
    _reminder_first(config, found, now, rules if every is None else every)
    return found


def _reminder_first(config: Config, found: Plan, now: datetime, rules: Sequence[Rule]) -> None:
    """A closing for want of an answer due in the same run as the reminder before it (the
    scheduler was off while both fell due): the reminder goes, and the closing comes no
    sooner after it than the rules promise (9 working days pending, the reminder after 2: 7
    after it). Closing a ticket "we have not heard back" on a requester never reminded broke
    the promise of the desk's own rules."""
    reminded = {item.ticket.id for item in found.due if item.ticket is not None and not _finishes(item.rule)
                and any(_reminds(step) for step in item.rule.steps)}
    if not reminded:
        return
    kept = []
    for item in found.due:
        gap = _reminder_gap(config, item, rules) if item.ticket is not None and item.ticket.id in reminded else None
        if gap is None or item.ticket is None:
            kept.append(item)
            continue
        calendar = _calendar(config, item.rule, item.ticket)
        assert calendar is not None
        _sooner(config, found, item, calendar.add(now, gap))
    found.due = kept


def _sooner(config: Config, found: Plan, item: Due, due: datetime) -> None:
    """``item`` due at ``due`` as its rule's NEXT, if that is sooner than the one found so far."""
    assert item.ticket is not None
    soonest = found.upcoming.get(item.rule.name)
    if soonest is None or due < soonest.at:
        found.upcoming[item.rule.name] = Upcoming(item.rule, due, item.ticket.id, item.since,
                                                  _calendar(config, item.rule, item.ticket))


def _in_order(item: Due) -> tuple[datetime, str, str]:
    return item.at, item.rule.name, item.ticket.id if item.ticket else ""


# --- doing it ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Done:
    """One rule's work on one ticket (or the desk), committed or, in a dry run, planned."""

    rule: str
    ticket: str | None
    at: datetime
    what: tuple[str, ...]
    commit: str | None = None
    error: str | None = None
    skipped: str | None = None

    def as_record(self) -> dict[str, object]:
        return {"rule": self.rule, "ticket": self.ticket, "due": format_utc(self.at), "what": list(self.what),
                "commit": self.commit, "error": self.error, "skipped": self.skipped}


@dataclass(frozen=True, slots=True)
class _Made:
    ticket: Ticket
    files: dict[str, bytes]
    what: list[str]


def _letters_for(desk: Desk, rule: Rule, step: Step, ticket: Ticket,
                 stamp: datetime) -> tuple[list[Letter], list[str]]:
    """The mail one step sends, and what to say of it."""
    from gitdesk.mail import compose, notify

    when: str | None = None  # a target rule's due moment, worked out for the first one told
    config = desk.config
    letters: list[Letter] = []
    said: list[str] = []
    if step.verb in ("mail", "reply", "resolve"):
        event = "resolution" if step.verb == "resolve" else ("reply" if step.verb == "reply" else str(step.value))
        audience = compose.audience(config, ticket, event, forced=step.verb != "resolve")
        to = actions.requester_address(config, ticket)
        if not audience or to is None or not config.mail.address:
            if step.verb != "resolve":
                said.append("could not mail the requester (" + ("the desk has no mail.address"
                                                                 if not config.mail.address else "no address") + ")")
            return letters, said
        if step.verb == "resolve":  # the rule's own words, from rules.yml: wrapped as the templates are
            text = "\n\n".join(templates.wrap_prose(part) for part in (ticket.resolution or "").split("\n\n"))
        elif step.verb == "reply":
            canned = templates.canned(desk.root, str(step.value))
            text = templates.fill(canned.body, templates.values(ticket, config))
        else:
            waiting = workflow.unanswered(config, ticket)
            if waiting is None and step.value == templates.REMINDER:
                said.append("no reminder: nothing the desk asked waits for an answer")
                return letters, said
            text = waiting or ""
        cc = tuple(a for a in actions.cc_of(ticket) if address_key(a) != address_key(to)) if "cc" in audience else ()
        # A rule's resolution ("we have not heard back") is mailed in its own words: not "we believe
        # your request is solved", and no score for help nobody gave. Who hears is still the policy's.
        letters.append(compose.Letter("reply" if step.verb == "resolve" else event, ticket, text, to, cc,
                                      automatic=True))
        said.append(f"mailed the requester ({event})" if step.verb != "resolve" else "mailed the resolution")
        return letters, said
    # notify
    if not config.mail.address:
        return letters, ["could not tell anyone (the desk has no mail.address)"]
    handles = _audience(config, ticket, step.value)
    if not handles:
        said.append("nobody to tell (name the desk's leads: desk: {leads: [HANDLE]} in .gitdesk/config.yml)")
    for handle in handles:
        person = config.people.get(handle)
        if person is None or not person.email:
            said.append(f"could not tell {handle} (no email)")
            continue
        # What happened first (it heads the subject too), then which rule said so; the ticket
        # itself follows, in notify.about.
        happened = rule.trigger.describe()
        why = f"{happened[:1].upper()}{happened[1:]} (rule {rule.name})."
        if when is None:
            when = _target_words(desk, rule, ticket, stamp)
        body = "\n\n".join(part for part in (why, when, notify.about(config, ticket)) if part)
        letters.append(compose.Letter(templates.NOTIFICATION, ticket, body, person.email))
        said.append(f"told {handle}")
    return letters, said


def _target_words(desk: Desk, rule: Rule, ticket: Ticket, stamp: datetime) -> str:
    """When the target a target rule warns of falls (or fell) due, in the desk's time zone and
    UTC: a lead in New York reading a Berlin desk's warning must not have to work it out.
    Empty for other rules."""
    if rule.trigger.kind != "target":
        return ""
    from gitdesk.calendar import zone

    clocks = Clocks(desk.config, ticket, history.tracked_changes(desk, [ticket.id]).get(ticket.id, ()))
    measures = [clocks.first_response(stamp)] if rule.trigger.target == "first_response" else \
        clocks.resolution_clocks(stamp)[-1:]
    measure = measures[0] if measures else None
    if measure is None or measure.due is None:
        return ""
    hours = desk.config.sla.queues.get(measure.queue or "") or desk.config.sla.hours
    local = measure.due.astimezone(zone(hours.timezone))
    moment = f"{local:%Y-%m-%d %H:%M} {hours.timezone}" + (
        f" ({measure.due:%H:%M} UTC)" if hours.timezone != "UTC" else "")
    # The moment only, not the time left: the mail is made as of when the rule fell due (two clones
    # write the same bytes), and a round that runs late would overstate what is left.
    return f"It falls due {moment}." if measure.due > stamp else f"It fell due {moment}."


def _readers(config: Config, names: Sequence[str]) -> list[str]:
    """A digest's readers: the desk's leads, or people by handle."""
    handles: list[str] = []
    for name in names:
        person = config.person(name)
        for handle in (config.leads if name == "leads" else [person.handle] if person else []):
            if handle not in handles:
                handles.append(handle)
    return handles


def _audience(config: Config, ticket: Ticket, who: object) -> list[str]:
    """Who a rule tells. Someone marked ``away`` is passed over for whoever stands in: an
    away assignee for the queue's lead, an away lead for the desk's leads (a warning that
    nobody reads is a promise broken); when everyone is away, they are told all the same."""
    names = who if isinstance(who, (list, tuple)) else [str(who)]
    handles: list[str] = []
    for name in names:
        queue = config.queues.get(ticket.queue or "")
        lead = [queue.lead] if queue is not None and queue.lead else []
        if name == "assignee" and ticket.assignee:
            found = config.present([ticket.assignee], lead, list(config.leads))
        elif name in ("assignee", "lead"):
            found = config.present(lead, list(config.leads))
        elif name == "leads":
            found = config.present(list(config.leads))
        elif name in config.queues:
            found = list(config.queues[name].members)
        else:
            person = config.person(str(name))
            found = [person.handle] if person else []
        handles += [handle for handle in found if handle not in handles]
    return handles


def apply_steps(desk: Desk, rule: Rule, ticket: Ticket, stamp: datetime, *, mail: bool = True) -> _Made:
    """``ticket`` as ``rule``'s steps leave it, with its note and the mail it sends (as files)."""
    start = ticket
    what: list[str] = []
    letters: list[Letter] = []
    for step in rule.steps:
        ticket = _change(desk, step, stamp)(ticket)
        if step.verb in ("mail", "reply", "notify", "resolve"):
            if mail:
                made, said = _letters_for(desk, rule, step, ticket, stamp)
                letters += made
                what += said
            elif step.verb in ("mail", "reply", "notify"):
                what.append(f"{step.verb}: no mail for imported tickets")
        if step.verb not in ("mail", "reply", "notify"):
            what.append(step.describe())
    ticket = assignment.given_notes_kept_true(start, ticket)  # a later step gave it to someone else
    if mail and any(step.verb in ("escalate", "assign") for step in rule.steps):
        # Word to whoever the rule handed it to, as a person's escalate or assign gives: a rule's
        # escalation to a queue that assigns by hand otherwise waited there unseen.
        from gitdesk.mail import notify

        told = {made.to for made in letters}
        for word in notify.agent_letters(desk.config, start, ticket, ACTOR):
            if word.to not in told:
                letters.append(word)
                what.append(_told(desk.config, word.to))
    steps = "; ".join(what)
    note = f"Rule {rule.name} ({rule.trigger.describe()}): " + steps + ("" if steps.endswith((".", "…")) else ".")
    entry = Entry(stamp, RULES_AUTHOR, NOTE, ticketfile.escape_text(note), DETAIL.format(name=rule.name))
    ticket = replace(ticket, entries=(*ticket.entries, entry))
    ticket, files = _queued(desk, ticket, letters, stamp, f"{rule.name}:{start.id}:{format_utc(stamp)}")
    return _Made(ticket, files, what)


def _queued(desk: Desk, ticket: Ticket, letters: Sequence[Letter], stamp: datetime,
            seed: str) -> tuple[Ticket, dict[str, bytes]]:
    """``letters`` as files in outbox/, dated ``stamp`` and made from ``seed`` (two clones write
    the same bytes), and the ticket with the requester's mail in its thread."""
    from gitdesk.mail import compose
    from gitdesk.mail.message import thread_ids, with_thread_id
    from gitdesk.mail.outbox import outbox_path

    files: dict[str, bytes] = {}
    for number, letter in enumerate(letters):
        message = compose.message(desk.config, desk.root, letter, stamp, thread_ids(ticket), seed=f"{seed}:{number}")
        message_id = str(message["Message-ID"])
        files[outbox_path(ticket.id, stamp, message_id)] = message.as_bytes()
        if letter.event != templates.NOTIFICATION:
            ticket = with_thread_id(ticket, message_id)
    return ticket, files


def _told(config: Config, address: str) -> str:
    """How a rule's note names someone it mailed: by handle, else by address."""
    person = config.person(address)
    return f"told {person.handle if person else address}"


def _change(desk: Desk, step: Step, stamp: datetime) -> Callable[[Ticket], Ticket]:
    """One step's change; what it writes is dated ``stamp`` (when the rule became due), never
    the run's own moment: two clones that both run it write the same bytes, and sync keeps one."""
    value = step.value
    if step.verb == "set":
        changes = [actions.setting(desk, name, str(item), ACTOR, stamp) for name, item in dict(value).items()]

        def set_all(ticket: Ticket) -> Ticket:
            for change in changes:
                ticket = change(ticket)
            return ticket

        return set_all
    if step.verb == "assign":
        return actions.assigning(desk, str(value))
    if step.verb == "label":
        return actions.labelling(list(value))
    if step.verb == "escalate":
        return actions.escalating(desk, value.get("to"), str(value["reason"]), ACTOR, RULES_AUTHOR, stamp)
    if step.verb == "close":
        return actions.entering(desk, workflow.CLOSED)
    if step.verb == "resolve":
        return actions.entering(desk, workflow.RESOLVED, resolution=str(value), at=stamp)
    if step.verb == "note":
        text = ticketfile.escape_text(str(value))
        return lambda ticket: replace(ticket, entries=(*ticket.entries, Entry(stamp, RULES_AUTHOR, NOTE, text)))
    return lambda ticket: ticket  # mail, reply and notify change nothing in the file


@dataclass
class RunReport:
    done: list[Done] = field(default_factory=list)
    upcoming: list[Upcoming] = field(default_factory=list)
    dry_run: bool = False
    unreadable: list[GitdeskError] = field(default_factory=list)  # Plan.unreadable

    @property
    def failed(self) -> list[Done]:
        return [item for item in self.done if item.error]


def _waits_on_requester(item: Due) -> bool:
    return item.ticket is not None and item.rule.trigger.kind == "status" \
        and item.rule.trigger.status == workflow.PENDING


def _asked(desk: Desk, due: Sequence[Due], now: datetime) -> dict[str, TicketMail]:
    """What became of the mail of the pending tickets a rule is due on (see _not_yet_asked)."""
    from gitdesk.mail import outbox

    since = {item.ticket.id: item.since for item in due if item.ticket is not None and _waits_on_requester(item)}
    return outbox.ticket_mail(desk, since, now) if since else {}


def _hold_back(desk: Desk, found: Plan, now: datetime, later: Sequence[Due] = (),
               rules: Sequence[Rule] = ()) -> None:
    """What waits on mail to the requester, counted from when it reached them: moved from
    ``found.due`` to ``found.held`` with the reason (unsent, undeliverable); away, and into
    ``found.upcoming``, when the wait counted from the delivery is not over; stamped with
    the moment it became due so counted, when it is over (a reminder written on Friday
    for a question delivered on Tuesday says Thursday, never a time before the delivery).
    ``later``, not due by the status clock, is NEXT as the run will count it (a question
    delivered three days late closes the ticket three days later). The mail is read once."""
    # What the desk's words the requester has not answered say of a rule waiting on them (a due
    # item's thread is read). None (imported on hold, set pending by hand): closing the ticket
    # "we have not heard back from you" would be about nothing (a reminder there says so in its
    # note and mails nothing: _letters_for). Said after the ticket went pending (a question asked
    # on a ticket already pending changes no status): the wait counts from them (asked on an
    # imported "On hold" ticket, it was closed at once).
    waited = []
    for item in found.due:
        if item.ticket is None or not _waits_on_requester(item):
            waited.append(item)
            continue
        words = workflow.unanswered_entry(desk.config, item.ticket)
        if words is None and _finishes(item.rule):
            found.held.append((item, NEVER_ASKED))
            continue
        due = _due_counted_from(desk.config, item, words.at if words is not None else None)
        if due is not None and due > now:
            _sooner(desk.config, found, item, due)
        else:
            waited.append(item if due is None else replace(item, at=_stamp(item.ticket, due, item.since, now)))
    found.due = waited
    asked = _asked(desk, [*found.due, *later], now)
    for item in later:
        mail = asked.get(item.ticket.id) if item.ticket is not None else None
        due = _due_counted_from(desk.config, item, mail.delivered) if mail is not None else None
        _sooner(desk.config, found, item, _after_the_reminder(desk.config, item, mail, rules, due) or item.at)
    if not asked:
        return
    kept = []
    for item in found.due:
        mail = asked.get(item.ticket.id) if item.ticket is not None else None
        why = _not_yet_asked(desk, item, mail, rules, now) if mail is not None else None
        if why is not None:
            found.held.append((item, why))
            continue
        due = _due_counted_from(desk.config, item, mail.delivered) if mail is not None else None
        due = _after_the_reminder(desk.config, item, mail, rules, due)
        if due is None:
            kept.append(item)
        elif due <= now:
            assert item.ticket is not None
            kept.append(replace(item, at=_stamp(item.ticket, due, item.since, now)))
        elif item.ticket is not None:
            _sooner(desk.config, found, item, due)
    found.due = kept


def _after_the_reminder(config: Config, item: Due, mail: TicketMail | None, rules: Sequence[Rule],
                        due: datetime | None) -> datetime | None:
    """``due`` (None: the status clock's), or later: a rule that finishes a ticket waiting on
    its requester comes no sooner after the reminder reached them than the rules promise
    (9 working days pending, the reminder after 2: 7 after it), though the reminder went out
    late (the scheduler was off when it fell due)."""
    gap = _reminder_gap(config, item, rules)
    if mail is None or mail.reminded is None or gap is None or item.ticket is None:
        return due
    calendar = _calendar(config, item.rule, item.ticket)
    assert calendar is not None
    return max(due or item.at, calendar.add(mail.reminded, gap))


def _reminder_gap(config: Config, item: Due, rules: Sequence[Rule]) -> float | None:
    """For a rule that finishes a ticket waiting on its requester: how long after the reminder
    it comes, as the rules promise (on its clock, in seconds; 9 working days pending, the
    reminder after 2: 7 days); None for any other rule, or when no rule reminds first."""
    if item.ticket is None or not _waits_on_requester(item) or item.rule.trigger.after is None \
            or not _finishes(item.rule):
        return None
    calendar = _calendar(config, item.rule, item.ticket)
    assert calendar is not None
    mine = calendar.seconds(item.rule.trigger.after)
    sooner = [seconds for rule in rules
              if rule.trigger.kind == "status" and rule.trigger.status == workflow.PENDING
              and rule.trigger.after is not None and any(_reminds(step) for step in rule.steps)
              and not _finishes(rule) and rule.conditions.hold(item.ticket)
              and (seconds := calendar.seconds(rule.trigger.after)) < mine]
    return mine - max(sooner) if sooner else None


NEVER_ASKED = ("no question of the desk's waits for an answer (pending without one: imported so, or set by hand); "
               "ask the requester with gitdesk ask, or give it another status")


def _finishes(rule: Rule) -> bool:
    """Whether ``rule`` finishes its ticket (resolves it, mailing the requester)."""
    return any(step.verb in _FINISHING for step in rule.steps)


def _reminds(step: Step) -> bool:
    """Whether ``step`` mails the requester the reminder (``mail: reminder``), whatever else its
    rule does: the mail ``ticket_mail`` knows as the reminder (its X-Gitdesk-Event)."""
    return step.verb == "mail" and str(step.value) == templates.REMINDER


def _not_yet_asked(desk: Desk, item: Due, mail: TicketMail, rules: Sequence[Rule], now: datetime) -> str | None:
    """Why a rule on a ticket waiting on its requester (a reminder, "not heard back") must wait
    for the desk's question to reach them (and a closing, for the reminder), or None. A
    reminder still in outbox/ holds the closing for as long as the rules promise after it
    (counted from when it was queued, if that is later: a run after an outage queues a reminder
    dated when it fell due), no longer: one that can never go (refused by mail send) must not
    keep the ticket open for ever."""
    config = desk.config
    if not _waits_on_requester(item):
        return None
    if mail.reminder_held and _finishes(item.rule):
        from gitdesk.mail.outbox import UNDELIVERABLE

        if mail.reminder_held.startswith(f"{UNDELIVERABLE}/"):  # whatever the rules say now
            return (f"the reminder to the requester could not be delivered ({mail.reminder_held}): "
                    "reach them another way")
        gap = _reminder_gap(config, item, rules)
        calendar = _calendar(config, item.rule, item.ticket) if item.ticket is not None else None
        queued = git.first_added(desk.repo, desk.repo_path(mail.reminder_held))
        start = max(item.at, queued) if queued is not None else item.at
        longest = calendar.add(start, gap) if gap is not None and calendar is not None else None
        if longest is not None and now < longest:
            return (f"the reminder to the requester has not gone out yet ({mail.reminder_held}): the wait counts "
                    f"from then, until {format_utc(longest)} at most")
    if mail.unsent:
        return f"its mail to the requester has not gone out yet ({mail.unsent}): the wait counts from then"
    if mail.undeliverable:
        return (f"its mail to the requester could not be delivered ({mail.undeliverable}): "
                "reach them another way")
    return None


def _due_counted_from(config: Config, item: Due, moment: datetime | None) -> datetime | None:
    """When a rule waiting on the requester is due, counted from ``moment`` (the desk's words
    to them, or when its question reached them), if that came after the ticket went pending;
    else None (the status clock holds)."""
    if not _waits_on_requester(item) or item.ticket is None or item.rule.trigger.after is None \
            or moment is None or moment <= item.since:
        return None
    calendar = _calendar(config, item.rule, item.ticket)
    assert calendar is not None
    return calendar.add(moment, item.rule.trigger.after)


def run(desk: Desk, now: datetime, *, dry_run: bool = False, only: str | None = None) -> RunReport:
    """Apply every rule that is due: one commit per rule and ticket (and per digest), each
    with a ``Gitdesk-Rule`` trailer. A ticket with uncommitted hand edits is skipped."""
    every = read_rules(desk.root, desk.config)
    rules = every
    if only is not None:
        rules = [rule for rule in rules if rule.name == only]
        if not rules:
            raise ValidationError(f"no rule {only!r}", hint="gitdesk rules lists them")
    report = RunReport(dry_run=dry_run)
    # A dry run changes nothing: no lock (it may run where .git/gitdesk cannot be written).
    with contextlib.nullcontext() if dry_run else desk.writing():
        if only is None:  # before the rules: a ticket reopened is not closed as resolved a moment later
            _reopen_answered(desk, now, dry_run, report)
        found = plan(desk, rules, now, every=every)
        report.unreadable = found.unreadable
        report.upcoming = sorted(found.upcoming.values(), key=lambda item: (item.at, item.rule.name))
        dirty = desk.dirty_paths([desk.path_of(item.ticket.id) for item in found.due if item.ticket]) \
            if any(item.ticket for item in found.due) else set()
        batch = _Batch(desk, report)
        overtaken = _overtaken(found.due)
        held = {id(item): why for item, why in found.held}
        for item in sorted([*found.due, *(item for item, _ in found.held)], key=_in_order):
            if id(item) in held:
                assert item.ticket is not None
                report.done.append(Done(item.rule.name, item.ticket.id, item.at, (), skipped=held[id(item)]))
                continue
            if id(item) in overtaken:
                report.done.append(Done(item.rule.name, item.ticket.id if item.ticket else None, item.at, (),
                                        skipped=f"not sent: {overtaken[id(item)]} finishes the ticket in this run"))
                continue
            if item.ticket is None:
                batch.flush()  # a digest reads the reports: the changes before it are committed first
                report.done.append(_digest(desk, item, dry_run))
                continue
            path = desk.path_of(item.ticket.id)
            if path in dirty:
                report.done.append(Done(item.rule.name, item.ticket.id, item.at, (),
                                        skipped=f"{path} has uncommitted changes; commit or discard them"))
                continue
            if path in batch.paths:
                batch.flush()  # a second rule on the same ticket builds on the first one's commit
            _on_ticket(desk, item, dry_run, batch)
        batch.flush()
        if only is None:
            _tell_waiting(desk, now, dry_run, report)
    return report


_FINISHING = frozenset({"resolve"})  # finishes the ticket and mails its requester ("we have closed it")
_WORDS_ONLY = frozenset({"mail", "reply"})  # mail to the requester, and nothing else


def _overtaken(due: Sequence[Due]) -> dict[int, str]:
    """Rules that only mail a ticket's requester (a reminder) while a later rule resolves it,
    mailing them, in the same run (a run after weeks without one): id(item) -> the resolving
    rule's name. "We will close it in a few days" and "we have closed it" must not arrive
    together; the closing mail says what the reminder would have. A survey before a silent
    close, or a word to the lead, still goes."""
    finishing: dict[str, tuple[datetime, str]] = {}
    for item in due:
        if item.ticket is not None and _finishes(item.rule):
            finishing.setdefault(item.ticket.id, (item.at, item.rule.name))
    return {id(item): finishing[item.ticket.id][1] for item in due
            if item.ticket is not None and item.ticket.id in finishing and item.at <= finishing[item.ticket.id][0]
            and item.rule.steps and not _finishes(item.rule)
            and (all(step.verb in _WORDS_ONLY for step in item.rule.steps)
                 or any(_reminds(step) for step in item.rule.steps))}


def _latest_moment(desk: Desk, solved: Ticket) -> datetime:
    """The latest moment ``solved`` and the duplicates it names hold (entries, creation)."""
    moments = [solved.created, *(entry.at for entry in solved.entries)]
    for ticket_id in actions.waiting_of(solved):
        try:
            duplicate = desk.load(ticket_id).ticket
        except GitdeskError:
            continue
        moments += [duplicate.created, *(entry.at for entry in duplicate.entries)]
    return max(moments)


WAITING_RULE = "(duplicates waiting)"  # in parentheses: no rule file can name itself so
ANSWERED_RULE = "(answered after resolving)"


def _reopen_answered(desk: Desk, now: datetime, dry_run: bool, report: RunReport) -> None:
    """Reopen each resolved ticket whose requester (or someone in its Cc) wrote after it was
    resolved, asking something, with nobody answering since: what intake does with such a
    mail, undone by a merge (a clone took in "it jammed again" while a branch resolved the
    ticket; the merge kept both, and the status resolved). Stamped with the latest moment
    the file names, so two clones that both do it write the same commit."""
    config = desk.config
    solved_status = config.statuses.get(workflow.RESOLVED)
    if solved_status is None or workflow.OPEN not in solved_status.next or workflow.OPEN not in config.statuses:
        return
    from gitdesk import listing
    from gitdesk.mail import notify
    from gitdesk.mail.words import asks_nothing

    # The index's tickets carry their entries' headings, not their words: those are read from
    # the files of the few whose last word is their requester's, after the resolution.
    resolved = index.query(desk, listing.Filters(statuses=(workflow.RESOLVED,)), None).tickets
    unheeded = {ticket.id: said for ticket in resolved if (said := _last_word(config, ticket)) is not None}
    if not unheeded:
        return
    derived = history.timings(desk, [ticket for ticket in resolved if ticket.id in unheeded], now)
    for ticket_id, heading in unheeded.items():
        solved = derived[ticket_id].resolved_at
        if solved is None or heading.at <= solved:
            continue  # resolved after reading it
        loaded = desk.load(ticket_id)
        said = _last_word(config, loaded.ticket)
        if said is None or asks_nothing(attachments.without_list(said.text)):
            continue  # a thank-you (with a screenshot, a logo), as intake leaves one
        if desk.dirty_paths([loaded.path]):
            report.done.append(Done(ANSWERED_RULE, ticket_id, now, (), skipped=f"{loaded.path} has uncommitted "
                                    "changes; commit or discard them"))
            continue
        start = loaded.ticket
        stamp = max([start.created, *(entry.at for entry in start.entries)])
        note = (f"Reopened: {said.author} wrote at {format_utc(said.at)}, after it was resolved at "
                f"{format_utc(solved)}, and nobody has answered; their words came in where it stayed "
                "resolved (a merge of two clones' work, or a hand edit). Answer them, or resolve it again.")
        try:
            ticket = actions.entering(desk, workflow.OPEN)(actions.no_longer_a_duplicate(start))
            ticket = replace(ticket, entries=(*ticket.entries,
                                              Entry(stamp, RULES_AUTHOR, NOTE, ticketfile.escape_text(note))))
            words = notify.agent_letters(config, start, ticket, ACTOR) if config.mail.address else []
            ticket, files = _queued(desk, ticket, words, stamp, f"{ANSWERED_RULE}:{ticket_id}")
            what = ("reopen", *(_told(config, word.to) for word in words))
            if dry_run:
                actions.validate_change(desk, start, ticket, loaded.path)
                report.done.append(Done(ANSWERED_RULE, ticket_id, stamp, what))
                continue
            outcome = actions.commit_change(desk, loaded, ticket, ACTOR, "rule", extra_files=files,
                                            notes=[f"{ANSWERED_RULE}: {'; '.join(what)}"], rules=(ANSWERED_RULE,))
        except GitdeskError as error:
            report.done.append(Done(ANSWERED_RULE, ticket_id, stamp, (), error=str(error)))
            continue
        report.done.append(Done(ANSWERED_RULE, ticket_id, stamp, what, commit=outcome.commit))


def _last_word(config: Config, ticket: Ticket) -> Entry | None:
    """The reply of the ticket's requester (or of someone in its Cc) after which nobody but
    gitdesk wrote, if its thread ends so."""
    from gitdesk.model import REOPEN, REPLY

    cc = {address_key(address) for address in actions.cc_of(ticket)}
    for entry in reversed(ticket.entries):
        theirs = workflow.is_requester(config, ticket, entry.author) or address_key(entry.author) in cc
        if theirs and entry.kind in (REPLY, REOPEN):
            return entry
        if entry.author not in (RULES_AUTHOR, MAIL_SYSTEM):
            return None
    return None


def _tell_waiting(desk: Desk, now: datetime, dry_run: bool, report: RunReport) -> None:
    """Tell the requesters of duplicates that still wait for a ticket that is solved: solved
    by a rule or by hand, which mail nobody, or on one clone while another added a duplicate.
    Stamped with the latest moment the tickets' files name (their entries, their creation):
    made from the files alone, so two clones that both do it write the same mail and the
    same entry, and sync finds one change; and never before what the duplicate already holds."""
    from gitdesk.mail import waiting

    for loaded in waiting.still_waiting(desk):
        ticket_id = loaded.ticket.id
        if desk.dirty_paths([loaded.path]):
            report.done.append(Done(WAITING_RULE, ticket_id, now, (), skipped=f"{loaded.path} has uncommitted "
                                    "changes; commit or discard them"))
            continue
        stamp = _latest_moment(desk, loaded.ticket)
        if history.finished_by_a_rule(desk, loaded.ticket):
            # "We have not heard back, so we closed it" is no answer to someone else's problem.
            left = waiting.still_waiting_for(desk, loaded.ticket)
            if left:  # one reopened since is a problem of its own: not named again
                report.done.append(Done(WAITING_RULE, ticket_id, stamp, (), skipped=(
                    f"finished by a rule, not solved: {', '.join(left)} "
                    f"{'waits' if len(left) == 1 else 'wait'} for its answer (reopen {ticket_id} and resolve "
                    "it, which tells them; or reopen each to answer it on its own)")))
            continue
        told = waiting.tell(desk, "resolve", loaded.ticket, ACTOR, stamp, None,
                            seed=f"waiting:{ticket_id}:{format_utc(stamp)}")
        if told is None or told.ticket == loaded.ticket:
            why = "; ".join(told.notes) if told is not None else "nobody to tell"
            report.done.append(Done(WAITING_RULE, ticket_id, stamp, (), skipped=why))
            continue
        what = tuple(told.notes)
        if dry_run:
            report.done.append(Done(WAITING_RULE, ticket_id, stamp, what))
            continue
        try:
            outcome = actions.commit_change(desk, loaded, told.ticket, ACTOR, "rule", told.also,
                                            extra_files={path: data for path, data in told.files.items()
                                                         if data is not None},
                                            notes=told.notes, rules=(WAITING_RULE,))
        except GitdeskError as error:
            report.done.append(Done(WAITING_RULE, ticket_id, stamp, what, error=str(error)))
            continue
        report.done.append(Done(WAITING_RULE, ticket_id, stamp, what, commit=outcome.commit))


class _Batch:
    """Changes prepared one by one and committed as a series: still one commit per rule
    and ticket, but written by one ``git fast-import`` and landed at once, so that a
    thousand due tickets on a desk of 100,000 take seconds, not a process per commit."""

    SIZE = 500  # landed every so many, so a kill loses little and memory stays small

    def __init__(self, desk: Desk, report: RunReport) -> None:
        self.desk = desk
        self.report = report
        self.waiting: list[tuple[int, actions.Prepared]] = []
        self.paths: set[str] = set()

    def add(self, done: Done, prepared: actions.Prepared) -> None:
        self.report.done.append(done)
        self.waiting.append((len(self.report.done) - 1, prepared))
        self.paths.update(prepared.files)
        if len(self.waiting) >= self.SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.waiting:
            return
        from gitdesk import git

        waiting, self.waiting, self.paths = self.waiting, [], set()
        before = git.head(self.desk.repo)[1]
        moment = clock.now()
        try:
            last = self.desk.commit_series([(prepared.files, prepared.message, moment) for _, prepared in waiting],
                                           f"rules run: {len(waiting)} changes")
            commits = git.commits_after(self.desk.repo, before, last) if last else []
        except GitdeskError as error:  # nothing of this series landed
            for position, _ in waiting:
                self.report.done[position] = replace(self.report.done[position], error=str(error))
            return
        for (position, _), commit in zip(waiting, commits[-len(waiting):], strict=False):
            self.report.done[position] = replace(self.report.done[position], commit=commit)


def _on_ticket(desk: Desk, item: Due, dry_run: bool, batch: _Batch) -> None:
    assert item.ticket is not None
    try:
        loaded = desk.load(item.ticket.id)
        made = apply_steps(desk, item.rule, loaded.ticket, item.at)
        # Judged whole, as the push check will judge the commit: a rule must not commit what sync
        # then refuses to push (an agent who left, still holding tickets: docs/config.md).
        if dry_run:
            actions.validate_change(desk, loaded.ticket, made.ticket, loaded.path)
            batch.report.done.append(Done(item.rule.name, item.ticket.id, item.at, tuple(made.what)))
            return
        prepared = actions.prepare_change(desk, loaded, made.ticket, ACTOR, "rule", extra_files=made.files,
                                          notes=[f"rule {item.rule.name}: {'; '.join(made.what)}"],
                                          rules=(item.rule.name,))
    except GitdeskError as error:
        batch.report.done.append(Done(item.rule.name, item.ticket.id, item.at, (), error=str(error)))
        return
    batch.add(Done(item.rule.name, item.ticket.id, item.at, tuple(made.what)), prepared)


# --- digests -------------------------------------------------------------------------------


def _before_the_rules(desk: Desk, occurrence: datetime, now: datetime) -> bool:
    """Whether the desk got its rules after ``occurrence`` (a desk set up on Monday at 07:30 is
    not sent a digest of the week before it existed). Asked only when a digest would go."""
    try:
        added = git.first_added(desk.repo, desk.repo_path(templates.RULES_PATH))
    except GitdeskError:
        return False
    return added is not None and occurrence < added <= now


def _digest_seed(config: Config, rule: Rule, occurrence: datetime) -> str:
    """What makes a digest one digest: its rule and the days it covers, not the moment it is
    sent. A digest moved from 07:00 to 08:00, or a day a change of clocks sends twice, is
    the same digest (and its Message-ID the same), so it goes once."""
    since, until = digest_window(config, rule, occurrence)
    return f"digest:{rule.name}:{since:%Y-%m-%d}:{until:%Y-%m-%d}"


def _digest_path(config: Config, rule: Rule, occurrence: datetime) -> str:
    unique = hashlib.sha256(_digest_seed(config, rule, occurrence).encode()).hexdigest()[:6]
    return f"{OUTBOX}/{stamped(occurrence, 'digest')}{rule.name}-{unique}.eml"


def _digest_sent(desk: Desk, rule: Rule, occurrence: datetime) -> bool:
    """Whether this digest (these days, by this rule) is in the outbox or was ever delivered;
    also under the seed older versions made from the moment alone."""
    from gitdesk import git
    from gitdesk.mail import outbox

    seeds = (_digest_seed(desk.config, rule, occurrence), f"digest:{rule.name}:{format_utc(occurrence)}")
    endings = {f"-digest-{rule.name}-{hashlib.sha256(seed.encode()).hexdigest()[:6]}.eml" for seed in seeds}
    folder = desk.root / OUTBOX
    if folder.is_dir() and any(path.name.endswith(tuple(endings)) for path in folder.iterdir()):
        return True
    head = git.head(desk.repo)[1]
    if head is None:
        return False
    domain = (desk.config.mail.address or "gitdesk.invalid").rsplit("@", 1)[-1]
    delivered = outbox.delivered_ids(desk, head)
    return any(f"<desk.digest.{hashlib.sha256(seed.encode()).hexdigest()[:16]}@{domain}>" in delivered
               for seed in seeds)


def digest_window(config: Config, rule: Rule, occurrence: datetime) -> tuple[datetime, datetime]:
    """The whole UTC days a digest sent at ``occurrence`` covers: from the day of the rule's
    previous moment to the day before this one (a Monday digest after a Friday one covers
    the weekend and Friday too). Reports cut periods on UTC days: a digest reads as
    ``gitdesk report NAME --since FIRST --until LAST`` does, whenever it runs."""
    previous, _ = _occurrences(config, rule, occurrence - timedelta(seconds=1))
    until = datetime.combine(occurrence.astimezone(timezone.utc).date(), time(), timezone.utc)
    fallback = until - timedelta(days=1 if rule.trigger.weekday is None else 7)
    since = datetime.combine(previous.date(), time(), timezone.utc) if previous.year > 1 else fallback
    return (since, until) if since < until else (fallback, until)


def digest_text(desk: Desk, rule: Rule, occurrence: datetime) -> tuple[str, str]:
    """The subject and body of a digest for the week (or day) before ``occurrence``."""
    from gitdesk import reports
    from gitdesk.reports.base import Scope

    since, until = digest_window(desk.config, rule, occurrence)
    parts: list[str] = []
    names = [str(name) for name in rule.steps[0].value] if rule.steps else []
    for step in rule.steps[1:]:
        names += [str(name) for name in step.value]
    for name in names:
        report = reports.build(desk, name, since=since, until=until, period=None, scope=Scope(), now=occurrence)
        parts.append(f"## {report.title}: {report.period.label}")
        parts += [f"- {finding}" for finding in report.findings] or ["- Nothing to report."]
        for section in report.sections:
            if not section.rows:
                continue
            parts.append(f"\n{section.title}:\n")
            for row in section.rows[:15]:
                cells = [f"{column.label}: {cell.text}" for column, cell in zip(section.columns, row, strict=False)]
                parts.append("- " + "; ".join(cells))
        parts.append("")
    last = until - timedelta(days=1)
    days = f"{since:%Y-%m-%d}" if last <= since else f"{since:%Y-%m-%d} to {last:%Y-%m-%d}"
    subject = f"{desk.config.desk_name}: {' and '.join(names)} for {days}"
    body = "\n".join(_mail_lines(parts)).strip() + "\n\nFull figures, each with its tickets: gitdesk report " + \
        " / ".join(names) + "."
    return subject, body


def _mail_lines(lines: Sequence[str], width: int = 76) -> list[str]:
    """Lines as a mail reads well: a list item longer than ``width`` wraps under itself, and
    an ID or a path is never broken."""
    import textwrap

    out: list[str] = []
    for line in lines:
        if len(line) <= width or not line.startswith("- "):
            out.append(line)
            continue
        out += textwrap.wrap(line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    return out


def _digest(desk: Desk, item: Due, dry_run: bool) -> Done:
    from gitdesk.mail import compose

    rule = item.rule
    config = desk.config
    readers = _readers(config, rule.to)
    addresses = [config.people[handle].email for handle in readers
                 if handle in config.people and config.people[handle].email]
    what = (f"digest to {', '.join(readers) or 'nobody'}",)
    if not config.mail.address:
        return Done(rule.name, None, item.at, what, skipped="the desk has no mail.address (.gitdesk/config.yml)")
    if not addresses:
        return Done(rule.name, None, item.at, what, skipped="nobody to mail it to: name the desk's leads "
                    "(desk: {leads: [HANDLE]}) with an email under people:")
    if dry_run:
        return Done(rule.name, None, item.at, what)
    try:
        subject, body = digest_text(desk, rule, item.at)
        message = compose.desk_message(config, [str(a) for a in addresses], subject, body, item.at,
                                       _digest_seed(config, rule, item.at))
        path = _digest_path(config, rule, item.at)
        trailers = f"\n\nGitdesk-Action: rule\nGitdesk-Actor: {ACTOR.id}\nGitdesk-Rule: {rule.name}\n"
        commit = desk.commit({path: message.as_bytes()}, f"rule {rule.name}: {clean_line(subject)}{trailers}",
                             clock.now(), new_files=frozenset({path}))
        return Done(rule.name, None, item.at, what, commit=commit)
    except GitdeskError as error:
        return Done(rule.name, None, item.at, what, error=str(error))


# --- event rules ------------------------------------------------------------------------------


class EventRules:
    """An ``actions.Automation``: the desk's ``created`` and ``reopened`` rules, applied to a
    ticket inside the action that makes the event. ``mail`` False (imports) leaves out the
    steps that mail someone: an imported history is not news.

    A rules file that cannot be read (pushed past check) does not stop new tickets, which
    mail brings in with nobody at the keyboard: the ticket is made and says the rules were
    not applied and why, and ``problem`` holds that for the person making it. ``strict``
    (imports, run by a person who can fix the file first) refuses instead."""

    def __init__(self, desk: Desk, *, mail: bool = True, strict: bool = False) -> None:
        self.desk = desk
        self.mail = mail
        self.strict = strict
        self._rules: list[Rule] | None = None
        self.problem: str | None = None

    def __call__(self, event: str, ticket: Ticket) -> Automated:
        if self._rules is None:  # read once: an import calls this for every ticket
            try:
                found = read_rules(self.desk.root, self.desk.config)
            except GitdeskError as error:
                if self.strict:
                    raise
                self.problem = str(error)
                found = []
            self._rules = [rule for rule in found if rule.trigger.kind == "event"]
        rules = [rule for rule in self._rules if rule.trigger.event == event]
        files: dict[str, bytes] = {}
        notes: list[str] = []
        acted: list[str] = []
        if self.problem is not None:
            said = (f"The desk's rules were not applied: {self.problem}. Fix {templates.RULES_PATH} "
                    f"(gitdesk check --all names every problem), then do by hand what they would have done.")
            at = ticket.created if event == "created" else clock.now()
            entry = Entry(at, RULES_AUTHOR, NOTE, ticketfile.escape_text(said))
            ticket = replace(ticket, entries=(*ticket.entries, entry))
            notes.append(f"rules not applied: {self.problem}")
        for rule in rules:
            if not rule.conditions.hold(ticket):
                continue
            # A new ticket's rules act as it is created (an imported one, when it was).
            stamp = ticket.created if event == "created" else clock.now()
            try:
                made = apply_steps(self.desk, rule, ticket, stamp, mail=self.mail)
            except GitdeskError as error:
                # A rule that cannot apply (close a ticket just made) must not stop every new
                # ticket and every intake: the ticket is made, and says which rule to fix.
                said = (f"Rule {rule.name} ({rule.trigger.describe()}) could not act: {error.message}; fix it in "
                        f"{templates.RULES_PATH}:{rule.line}.")
                ticket = replace(ticket, entries=(*ticket.entries, Entry(stamp, RULES_AUTHOR, NOTE,
                                                                         ticketfile.escape_text(said),
                                                                         DETAIL.format(name=rule.name))))
                notes.append(f"rule {rule.name} could not act: {error.message} ({templates.RULES_PATH}:{rule.line})")
                continue
            ticket = made.ticket
            files.update(made.files)
            notes.append(f"rule {rule.name}: {'; '.join(made.what)}")
            acted.append(rule.name)
        return Automated(ticket, files, tuple(notes), tuple(acted))


def overview(desk: Desk, now: datetime) -> tuple[list[Rule], Plan]:
    """The desk's rules and what each would do now and next."""
    rules = read_rules(desk.root, desk.config)
    return rules, plan(desk, rules, now)


def summary(report: RunReport) -> str:
    made = [item for item in report.done if item.commit or (report.dry_run and not item.error and not item.skipped)]
    verb = "would make" if report.dry_run else "made"
    return (f"Rules {verb} {counted(len(made), 'change')}"
            + (f", skipped {len([i for i in report.done if i.skipped])}" if any(i.skipped for i in report.done) else "")
            + (f", {len(report.failed)} failed" if report.failed else "") + ".")

