"""The workload report: arrivals, resolutions, backlog and effort over time,
per team and per person, against capacity. The hiring case, in words."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from gitdesk.durations import HOURS_ONLY
from gitdesk.model import IMPORTED_ACTOR, MAIL_SYSTEM, RULES_AUTHOR, TIME, Ticket
from gitdesk.reports.base import (
    WEEK_OF,
    Cell,
    Facts,
    Findings,
    Period,
    Report,
    Section,
    change,
    columns,
    count,
    duration,
    events,
    median,
    number,
    resolution_times,
    stat,
    text,
)
from gitdesk.text import counted
from gitdesk.timings import Measure
from gitdesk.workflow import is_requester

WEEK = timedelta(weeks=1)


def definitions(facts: Facts) -> list[str]:
    clock = facts.clock.describe()
    return [
        "Opened: tickets created in the period. Resolved: moves from an unfinished status into resolved or "
        "closed in the period; a ticket resolved twice counts twice, in every row (per period, team and person: "
        "the person who moved it). Reopened: moves from a finished status back to an unfinished one.",
        "Backlog at end: tickets not finished at the end of the period (a stock; what happens at the stroke of "
        "its end is the next period's). Net flow: opened minus resolved "
        "(a flow); the two differ when tickets are rejected, reopened, or older than the period.",
        "Rejected tickets (spam, refused) and duplicates are noise, not demand: they are left out of every figure "
        "and counted apart.",
        "First response: the first public reply or question by one of the desk's agents (not the requester, a "
        "colleague in the Cc or a stranger), counted in the "
        "period it was made; resolution: the time from creation (or the reopening) to the resolution. Both run "
        "only while the ticket is unfinished and not waiting on the requester (pending), on the desk's clock: "
        f"{clock}. Median / 90th percentile (n).",
        "SLA breaches: targets missed in the period (a breach is dated when its target passed) out of the targets "
        "decided in it (met when the clock stopped in time, missed when the target passed): the sla report lists "
        "the same ones.",
        "Time logged: the sum of gitdesk time entries dated in the period. Entries written: conversation entries "
        "(replies, questions, notes, escalations, and the reasons written when reopening or rejecting a ticket) "
        "by the desk's people, dated in the period. Tickets handled: tickets a person wrote an "
        "entry on, logged time on, or resolved in the period.",
        f"The desk's own work ({RULES_AUTHOR}: what its rules did, such as resolving a ticket nobody answered; "
        f"{MAIL_SYSTEM}: delivery reports) is shown in the team (automation), apart from the people; an "
        f"imported ticket's status moves count for the assignee its source gave, else for {IMPORTED_ACTOR}.",
        "Capacity: hours per week (reports.workload.hours_per_week, or the person's hours_per_week) times the "
        "share of the job that is support (support_share) times the weeks in the period (counted from the desk's "
        "first ticket when the period starts before it).",
    ]


def build(facts: Facts, whole: Period, buckets: list[Period]) -> Report:
    day = facts.clock.day_seconds
    by_period = Section("by_period", "By period",
                        columns("period", "opened", "resolved", "reopened", "backlog at end", "net flow",
                                ("time_spent", "time logged"),
                                ("first_response", "first response (med / p90)"),
                                ("resolution", "resolution (med / p90)"), ("sla_breaches", "SLA breaches")),
                        chart=1)
    trend: list[dict[str, object]] = []
    active = facts.active(whole)  # the tickets anything in the report can be about
    for period in buckets:
        opened = facts.opened(period, active)
        resolved = facts.resolved(period, active)
        reopened = facts.reopened(period, active)
        backlog = facts.backlog(period.until, active, through=period.through)
        logged: dict[str, int] = defaultdict(int)
        for ticket, entry in facts.time_logged(period, active):
            logged[ticket.id] += entry.seconds
        first = {t.id: m.seconds for t, m in facts.first_responses(period, active)}
        resolution = resolution_times(resolved)
        decided = facts.decided(period, active)
        missed = [(t, m) for t, m in decided if m.breached]
        by_period.rows.append([
            text(period.label), count(opened), events([t.id for t, _ in resolved]),
            events([t.id for t, _ in reopened]), count(backlog), change(len(opened) - len(resolved)),
            # Logged time is work, not a clock: in hours here as in every other row.
            duration(sum(logged.values()), logged, day=HOURS_ONLY), stat(first, day=day), stat(resolution, day=day),
            _breach_rate(missed, decided),
        ])
        trend.append({"period": period, "opened": opened, "resolved": [t.id for t, _ in resolved],
                      "backlog": backlog, "first": first, "resolution": resolution, "decided": len(decided),
                      "missed": [t.id for t, _ in missed]})
    people = _people(facts, whole)
    team_section = Section("by_team", "By team",
                           columns("team", "resolved", "first responses", "tickets handled", "entries written",
                                   ("time_spent", "time logged")), chart=1)
    by_person = Section("by_person", "By person",
                        columns("person", "team", "resolved", "first responses", "tickets handled",
                                "entries written", ("time_spent", "time logged"),
                                ("capacity", "capacity (h)"), ("capacity_used", "logged / capacity"),
                                ("resolution", "resolution (med / p90)")), chart=2)
    teams: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    team_logged: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # Capacity counts from the desk's first ticket when the period starts before it: three empty
    # weeks of a four-week default would make a new desk's agents look idle (2% of capacity).
    started = max(whole.since, min((t.created for t in facts.all if not facts.noise(t)), default=whole.since))
    if started - whole.since <= timedelta(days=1) or started >= whole.until:  # opened on its first day, or after it
        started = whole.since
    # Days still to come hold no capacity yet (facts.now is the period's end, or now if it runs
    # on): a month-to-date report read a fifth of its real share.
    ends = max(facts.now, started)
    weeks = (ends - started) / WEEK
    for who in sorted(people):
        work = people[who]
        team = facts.team_of(who) or ("(automation)" if who in (RULES_AUTHOR, MAIL_SYSTEM) else
                                      "(imported)" if who == IMPORTED_ACTOR else "(no team)")
        capacity = _capacity(facts, who, weeks)
        logged_seconds = sum(work.logged.values())
        by_person.rows.append([
            text(who), text(team), events(work.resolved), count(work.first), count(work.handled),
            events(work.entries), duration(logged_seconds, work.logged, day=HOURS_ONLY),
            number(capacity / 3600 if capacity is not None else None),
            _used(logged_seconds, capacity if _measurable(capacity, weeks) else None, work.logged),
            stat(work.resolution_times, day=day),
        ])
        for key, ids in (("resolved", work.resolved), ("first", work.first), ("handled", work.handled),
                         ("entries", work.entries)):
            teams[team][key] += ids
        for ticket_id, seconds in work.logged.items():
            team_logged[team][ticket_id] += seconds
    for team in sorted(teams):
        figures = teams[team]
        team_section.rows.append([text(team), events(figures["resolved"]), count(figures["first"]),
                                  count(figures["handled"]), events(figures["entries"]),
                                  duration(sum(team_logged[team].values()), team_logged[team], day=HOURS_ONLY)])
    said = _findings(facts, whole, buckets, trend, people, weeks)
    days = (ends - started) / timedelta(days=1)
    shown = f"{days:.0f}" if abs(days - round(days)) < 0.05 else f"{days:.1f}"
    shown = "hours" if days < 0.95 else f"{shown} day" if shown == "1" else f"{shown} days"  # never "the 0 days"
    if started > whole.since:
        said.say(f"The desk's first ticket came in on {started.strftime('%Y-%m-%d %H:%M')}, after the period began, "
                 f"so capacity counts the {shown} from then, not the whole period.")
    if 0 < days < 1 and by_person.rows:
        said.say("Logged time is not set against capacity: less than a day is counted so far.")
    if facts.now < whole.since:
        said.say("The period has not begun yet: nothing in it has happened, and it holds no capacity.")
    elif ends < whole.until:
        said.say(f"The period runs past now ({ends.strftime('%Y-%m-%d %H:%M')} UTC): capacity counts the {shown} "
                 "up to now, not the days still to come.")
    return Report("workload", "Workload", whole, [by_period, team_section, by_person], said.texts,
                  definitions(facts), evidence=said.ids)


def _measurable(capacity: float | None, weeks: float) -> bool:
    """Whether logged time can be read as a share of ``capacity``: not in a desk's first day,
    nor under an hour of capacity (27491 % of 0.02 h says nothing)."""
    return capacity is not None and capacity >= 3600 and weeks * 7 >= 1


def _used(logged: float, capacity: float | None, ids: dict[str, int]) -> Cell:
    """Time logged as a share of capacity: a rate whose count and of are hours (to the
    hundredth: 45 minutes is 0.75, not 1); no figure when there is none to measure against."""
    if not capacity:
        return Cell("rate", None)
    return Cell("rate", {"rate": round(logged / capacity, 4), "count": round(logged / 3600, 2),
                         "of": round(capacity / 3600, 2)}, tuple(sorted(ids)))


def _breach_rate(missed: list[tuple[Ticket, Measure]], decided: list[tuple[Ticket, Measure]]) -> Cell:
    if not decided:
        return Cell("rate", None)
    ids = tuple(sorted({t.id for t, _ in missed}))
    return Cell("rate", {"rate": round(len(missed) / len(decided), 4), "count": len(missed), "of": len(decided)}, ids)


class _Work:
    def __init__(self) -> None:
        self.resolved: list[str] = []  # one per resolution
        self.resolution_times: dict[str, float] = {}
        self.first: list[str] = []
        self.entries: list[str] = []  # one per entry
        self.logged: dict[str, int] = defaultdict(int)
        self.handled: set[str] = set()


def _people(facts: Facts, whole: Period) -> dict[str, _Work]:
    people: dict[str, _Work] = defaultdict(_Work)
    for ticket, resolution in facts.resolved(whole, facts.active(whole)):
        who = facts.person(resolution.by)
        people[who].resolved.append(ticket.id)
        people[who].resolution_times.update(resolution_times([(ticket, resolution)]))
        people[who].handled.add(ticket.id)
    for ticket, measure in facts.first_responses(whole, facts.active(whole)):
        people[facts.person(measure.by)].first.append(ticket.id)
    for ticket, logged in facts.time_logged(whole, facts.active(whole)):
        who = facts.person(logged.author)
        people[who].logged[ticket.id] += logged.seconds
        people[who].handled.add(ticket.id)
    for ticket in facts.active(whole):
        for entry in ticket.entries:
            if entry.kind == TIME or entry.at not in whole or facts.config.person(entry.author) is None \
                    or is_requester(facts.config, ticket, entry.author):
                continue
            who = facts.person(entry.author)
            people[who].entries.append(ticket.id)
            people[who].handled.add(ticket.id)
    return dict(people)


def _capacity(facts: Facts, who: str, weeks: float) -> float | None:
    """Support hours a person has in ``weeks`` (seconds); None for people who are not agents."""
    person = facts.config.person(who)
    if person is None or not facts.config.is_agent(person.handle):
        return None
    settings = facts.config.reports
    hours = person.hours_per_week if person.hours_per_week is not None else settings.hours_per_week
    share = person.support_share if person.support_share is not None else settings.support_share
    return hours * share * weeks * 3600


def _arrived_and_resolved(opened: list[str], resolved: list[str]) -> str:
    """'10 tickets arrived and 6 were resolved'; when a ticket was resolved twice (reopened in
    between), the resolutions are said as such, not as that many tickets."""
    text = f"{counted(len(opened), 'ticket')} arrived and {len(resolved)} {'was' if len(resolved) == 1 else 'were'} " \
        "resolved"
    again = len(resolved) - len(set(resolved))
    if again:
        text = (f"{counted(len(opened), 'ticket')} arrived and {counted(len(resolved), 'resolution')} "
                f"{'was' if len(resolved) == 1 else 'were'} made, of {counted(len(set(resolved)), 'ticket')} "
                f"({counted(again, 'resolution')} of tickets resolved again after a reopening)")
    return text


def _findings(facts: Facts, whole: Period, buckets: list[Period], trend: list[dict[str, object]],
              people: dict[str, _Work], weeks: float) -> Findings:
    said = Findings()
    opened = [i for row in trend for i in row["opened"]]  # type: ignore[attr-defined]
    resolved = [i for row in trend for i in row["resolved"]]  # type: ignore[attr-defined]
    backlog_start = facts.backlog(whole.since, facts.active(whole))
    backlog_end: list[str] = trend[-1]["backlog"] if trend else []  # type: ignore[assignment]
    unit = {"week": "week", "month": "month"}.get(_granularity(buckets), "period")
    if len(trend) > 1:
        ahead = [row for row in trend if len(row["opened"]) > len(row["resolved"])]  # type: ignore[arg-type]
        said.say(f"Arrivals outpaced resolutions in {len(ahead)} of {len(trend)} {unit}s: "
                 f"{_arrived_and_resolved(opened, resolved)}.", [*opened, *resolved])
        if len(trend) <= 13:  # a quarter by week still reads as one sentence
            steps = "; ".join(f"{row['period'].label}: {len(row['opened'])} in, "  # type: ignore[attr-defined,arg-type]
                              f"{len(row['resolved'])} resolved" for row in trend)  # type: ignore[arg-type]
            said.say(f"{unit.capitalize()} by {unit}, arrived and resolved: {steps}.", [*opened, *resolved])
    else:
        said.say(f"{_arrived_and_resolved(opened, resolved)}.", [*opened, *resolved])
    reopened = [t.id for t, _ in facts.reopened(whole, facts.active(whole))]
    if len(backlog_end) > len(backlog_start):
        why = f" ({counted(len(reopened), 'reopening')} in the period)" if reopened else ""
        said.say(f"The backlog is growing: {len(backlog_start)} unfinished at the start, {len(backlog_end)} at the "
                 f"end{why}.", backlog_end)
    elif len(backlog_end) < len(backlog_start):
        said.say(f"The backlog is shrinking: {len(backlog_start)} unfinished at the start, {len(backlog_end)} at "
                 "the end.", backlog_end)
    else:
        said.say(f"The backlog held steady at {len(backlog_end)} unfinished.", backlog_end)
    _say_breaches(said, trend, facts, whole)
    for key, name in (("first", "first response"), ("resolution", "resolution time")):
        halves = _halves(trend, key)
        if halves is None:
            continue
        (early, early_ids, early_span), (late, late_ids, late_span) = halves
        way = ("rose" if late > early * 1.2 else "rose slightly" if late > early * 1.05 else
               "fell" if late < early / 1.2 else "fell slightly" if late < early / 1.05 else "held")
        # The latest period alone, when the second half holds more than one: a worsening December
        # must not hide in "held" between October and November-to-December.
        latest = _median_of(trend[-1:], key) if len(trend) - len(trend) // 2 > 1 else None
        alone = f"; in {latest[2].split(',')[0]} alone, {facts.clock.format(latest[0])}" if latest else ""
        said.say(f"The median {name} {way} from {facts.clock.format(early)} ({early_span}) to "
                 f"{facts.clock.format(late)} ({late_span}){alone}.", [*early_ids, *late_ids])
    agents = sorted(people.items(), key=lambda item: (-len(item[1].handled), item[0]))
    for who, work in agents[:8]:
        capacity = _capacity(facts, who, weeks)
        if capacity is None:
            continue
        logged = sum(work.logged.values())
        # The capacity as the table shows it (5.67, not 6h beside a 5.67 in the column).
        share = f", {logged / capacity:.0%} of their support capacity ({round(capacity / 3600, 2):g}h)" \
            if _measurable(capacity, weeks) else ""
        entries = counted(len(work.entries), "entry", "entries")
        said.say(f"{who} handled {counted(len(work.handled), 'ticket')}, wrote {entries} and logged {_hours(logged)}"
                 f"{share}.", work.handled)
    away = sorted(who for who in people if (person := facts.config.person(who)) is not None and person.away
                  and _capacity(facts, who, weeks) is not None)
    if away:  # the config says who is away now, not since when: a hiring case must not lean on it unsaid
        said.say(f"Capacity counts {', '.join(away)} (away now) for the whole period: the desk does not know since "
                 "when; set their hours_per_week for the time they were here, or read their share with that in mind.")
    handled = {i for work in people.values() for i in work.handled}
    unlogged = sorted(i for i in handled if not any(i in work.logged for work in people.values()))
    if unlogged:
        verb = "has" if len(unlogged) == 1 else "have"
        said.say(f"{len(unlogged)} of {counted(len(handled), 'ticket')} handled {verb} no time logged, so time logged "
                 "understates the work.", unlogged)
    _say_partial(said, buckets, unit)
    noise = facts.left_out_sentence(whole)
    if noise:
        said.say(noise, [i for ids in facts.left_out(whole).values() for i in ids])
    return said


def _say_breaches(said: Findings, trend: list[dict[str, object]], facts: Facts, whole: Period) -> None:
    """Missed targets in words, first among the figures a lead must act on: the by-period
    table's rate alone read as all clear in a digest ("the backlog held steady")."""
    decided = sum(int(row["decided"]) for row in trend)  # type: ignore[call-overload]
    missed = [i for row in trend for i in row["missed"]]  # type: ignore[attr-defined]
    # Still waiting at the end of the whole period, as gitdesk report sla says it: a target missed
    # in October and met late in November is no longer waiting in a report through November.
    running = [t.id for t, m in facts.decided(whole, facts.active(whole)) if m.breached and m.stopped is None]
    waiting = list(dict.fromkeys(running))
    if not missed:
        return
    # Tickets and targets both (two targets may be missed on one ticket), as report sla says it.
    targets = f" ({counted(len(running), 'target')})" if len(running) != len(waiting) else ""
    said.say(f"{len(missed)} of {decided} response and resolution targets that fell due "
             f"{'was' if len(missed) == 1 else 'were'} missed" + (
                 f", and {counted(len(waiting), 'ticket')} with a missed target{targets} "
                 f"{'is' if len(waiting) == 1 else 'are'} still waiting: {_some(waiting)}"
                 if waiting else "") + " (gitdesk report sla lists them).", missed)


def _some(ids: Sequence[str], shown: int = 5) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def _say_partial(said: Findings, buckets: Sequence[Period], unit: str) -> None:
    """Name the first and last week or month that the report's start or end cuts short, so
    that nobody reads a short row as a quiet one."""
    if not buckets:
        return
    first, last = buckets[0], buckets[-1]

    def moment(value: datetime) -> str:
        return value.strftime('%Y-%m-%d %H:%M') + " UTC"

    if last.through:
        end = f"now, {moment(last.until)}"
    elif last.until.time() == datetime.min.time():  # --until names its last day, which it includes
        end = f"the end of {(last.until - timedelta(seconds=1)).strftime('%Y-%m-%d')}"
    else:
        end = moment(last.until)
    if first is last and first.partial_start and first.partial_end:
        said.say(f"The only {unit} ({first.label}) is partial: it runs from {moment(first.since)} to {end}.")
        return
    if first.partial_start:
        said.say(f"The first {unit} ({first.label}) is partial: it starts with the report, {moment(first.since)}.")
    if last.partial_end:
        said.say(f"The last {unit} ({last.label}) is partial: it runs to {end}.")


def _granularity(buckets: list[Period]) -> str:
    """``week`` or ``month`` when the report is by period (even one that fits in a single one), else ""."""
    if not buckets or buckets[0].label.startswith(WEEK_OF):
        return "week" if buckets else ""
    return "month" if len(buckets[0].label) == len("2026-11") else ""


TREND_SAMPLES = 3  # in each half, at least: one answer is no trend (and the sentence gives n)


Median = tuple[float, list[str], str]  # (median, ids, "span, n=samples")


def _halves(trend: list[dict[str, object]], key: str) -> tuple[Median, Median] | None:
    """The medians of the first and the second half of the periods, when each half holds
    TREND_SAMPLES samples or more; None otherwise (no sentence is better than a trend read
    from one ticket)."""
    if len(trend) < 2:
        return None
    middle = len(trend) // 2
    early, late = _median_of(trend[:middle], key), _median_of(trend[middle:], key)
    return (early, late) if early is not None and late is not None else None


def _median_of(periods: list[dict[str, object]], key: str) -> Median | None:
    """The median of ``key`` over ``periods`` taken as one, with the tickets and the span it
    covers; None with fewer than TREND_SAMPLES samples."""
    samples = {k: v for row in periods for k, v in row[key].items()}  # type: ignore[attr-defined]
    value = median(list(samples.values()))
    if value is None or len(samples) < TREND_SAMPLES:
        return None
    first, last = str(periods[0]["period"].label), str(periods[-1]["period"].label)  # type: ignore[attr-defined]
    if first == last:
        span = first
    elif first.startswith(WEEK_OF) and last.startswith(WEEK_OF):
        span = f"weeks of {first.removeprefix(WEEK_OF)} to {last.removeprefix(WEEK_OF)}"
    else:  # months, or days: "2026-10-26 to 2026-11-01" … "… to 2026-11-15"
        span = f"{first.split(' to ')[0]} to {last.split(' to ')[-1]}"
    return value, sorted({k.split("@", 1)[0] for k in samples}), f"{span}, n={len(samples)}"


def _hours(seconds: float) -> str:
    from gitdesk.durations import format_duration

    return format_duration(seconds, day=HOURS_ONLY) if seconds else "no time"
