"""Business time as a team lead sets it up: a time zone, hours per weekday,
holidays, and targets where 1d means one working day."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
from conftest import TEST_CONFIG, Desk, make_desk

from gitdesk.calendar import Calendar
from gitdesk.config import parse_config
from gitdesk.durations import parse_span
from gitdesk.errors import ConfigError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def first_response_breaches(desk: Desk, since: str, until: str, priority: str) -> list[str]:
    """The tickets ``report sla`` counts as first-response breaches of ``priority`` in the period."""
    report = json.loads(desk.run("report", "sla", "--since", since, "--until", until, "--format", "json").stdout)
    rows = next(s for s in report["sections"] if s["key"] == "by_priority")["rows"]
    return list(next(row for row in rows if row["priority"]["value"] == priority)["first_response_breaches"]["ids"])


def calendar(sla: str) -> Calendar:
    config = parse_config(TEST_CONFIG + "sla:\n  clock: business\n" + sla)
    return Calendar.for_queue(config, None)


def test_a_business_day_is_one_working_day_not_24_hours() -> None:
    office = calendar("  business_hours: '08:00-17:00'\n")
    assert office.day_seconds == 9 * 3600
    tuesday_3pm = utc("2026-11-03T15:00:00Z")
    assert office.add(tuesday_3pm, parse_span("1d")) == utc("2026-11-04T15:00:00Z"), "due the next working day"
    friday_3pm = utc("2026-11-06T15:00:00Z")
    assert office.add(friday_3pm, parse_span("1d")) == utc("2026-11-09T15:00:00Z"), "the weekend does not count"
    assert office.elapsed(friday_3pm, utc("2026-11-09T15:00:00Z")) == 9 * 3600
    assert office.format(office.elapsed(tuesday_3pm, utc("2026-11-05T10:00:00Z"))) == "1d4h"
    assert office.seconds(parse_span("1w")) == 5 * 9 * 3600, "a working week is five working days"


def test_the_clock_stands_still_outside_working_hours() -> None:
    office = calendar("  business_hours: '09:00-17:00'\n")
    saturday = utc("2026-11-07T10:00:00Z")
    assert office.elapsed(saturday, utc("2026-11-08T23:00:00Z")) == 0
    assert office.add(saturday, parse_span("1h")) == utc("2026-11-09T10:00:00Z")
    assert not office.is_open(saturday) and office.is_open(utc("2026-11-09T09:00:00Z"))


def test_hours_per_weekday_with_a_lunch_break_and_a_short_friday() -> None:
    office = calendar("  hours:\n    mon: '08:00-12:00, 13:00-17:00'\n    fri: '08:00-12:00'\n"
                      "    sat: closed\n  business_days: [mon, tue, wed, thu]\n")
    monday = utc("2026-11-02T11:00:00Z")
    assert office.elapsed(monday, utc("2026-11-02T14:00:00Z")) == 2 * 3600, "lunch is not working time"
    assert office.day_seconds == 8 * 3600, "Mon-Thu have 8 hours: the usual working day"
    assert office.add(utc("2026-11-06T11:00:00Z"), parse_span("2h")) == utc("2026-11-09T09:00:00Z")
    assert "08:00-12:00" in office.describe() and "Fri" in office.describe()


def test_business_hours_follow_the_desks_time_zone_across_daylight_saving() -> None:
    berlin = calendar("  timezone: Europe/Berlin\n  business_hours: '09:00-17:00'\n")
    # Summer time (UTC+2) ends on Sunday 2026-10-25: 09:00 in Berlin is 07:00Z before, 08:00Z after.
    assert berlin.is_open(utc("2026-10-23T07:00:00Z")) and not berlin.is_open(utc("2026-10-23T15:00:00Z"))
    assert berlin.is_open(utc("2026-10-26T08:00:00Z")) and not berlin.is_open(utc("2026-10-26T07:30:00Z"))
    friday_4pm = utc("2026-10-23T14:00:00Z")  # 16:00 in Berlin
    assert berlin.add(friday_4pm, parse_span("2h")) == utc("2026-10-26T09:00:00Z"), "10:00 Berlin time, in winter"
    assert berlin.elapsed(friday_4pm, utc("2026-10-26T09:00:00Z")) == 2 * 3600
    # And into summer time (Sunday 2026-03-29): 09:00 is 08:00Z on Friday and 07:00Z on Monday.
    assert berlin.add(utc("2026-03-27T15:00:00Z"), parse_span("1d")) == utc("2026-03-30T14:00:00Z")


def test_holidays_from_a_list_and_from_a_country() -> None:
    listed = calendar("  holidays: [2026-12-24, 2026-12-25]\n")
    assert listed.add(utc("2026-12-23T16:00:00Z"), parse_span("2h")) == utc("2026-12-28T10:00:00Z")
    bavaria = calendar("  timezone: Europe/Berlin\n  holidays: [DE-BY]\n")
    assert bavaria.is_holiday(datetime(2026, 1, 6).date()), "Epiphany is a holiday in Bavaria"
    assert bavaria.elapsed(utc("2026-01-05T16:00:00Z"), utc("2026-01-07T09:00:00Z")) == 3600, "Monday's last hour only"
    berlin = calendar("  timezone: Europe/Berlin\n  holidays: [DE]\n")
    assert not berlin.is_holiday(datetime(2026, 1, 6).date())


def test_a_queue_can_have_its_own_calendar() -> None:
    config = parse_config(TEST_CONFIG + "sla:\n  clock: business\n  timezone: Europe/Berlin\n"
                          "  queues:\n    facilities: {timezone: America/New_York, holidays: [US]}\n")
    assert Calendar.for_queue(config, "facilities").describe().startswith("business hours 09:00-17:00 Mon-Fri "
                                                                          "(America/New_York)")
    assert "(Europe/Berlin)" in Calendar.for_queue(config, "it-helpdesk").describe()
    assert Calendar.for_queue(config, "no-such-queue") is Calendar.for_queue(config, None)
    calendar_clock = parse_config(TEST_CONFIG)
    assert not Calendar.for_queue(calendar_clock, "facilities").business
    assert Calendar.for_queue(calendar_clock, "facilities", clock="business").business


@pytest.mark.parametrize(("sla", "error"), [
    ("  timezone: Europe/Berln\n", "sla.timezone: unknown time zone 'Europe/Berln' (did you mean Europe/Berlin?"),
    ("  holidays: [XX]\n", "sla.holidays: unknown country 'XX'"),
    ("  holidays: [DE-ZZ]\n", "sla.holidays: unknown region 'ZZ' of DE"),
    ("  holidays: [christmas]\n", "sla.holidays: not a date or a country: 'christmas'"),
    ("  hours: {mon: '9-5'}\n", "sla.hours.mon: not a span of hours: '9-5'"),
    ("  hours: {moonday: '09:00-17:00'}\n", "sla.hours.moonday: unknown setting (did you mean monday?"),
    ("  busines_hours: '09:00-17:00'\n", "sla.busines_hours: unknown setting (did you mean business_hours?"),
    ("  business_days: []\n", "sla: no working hours on any day"),
    ("  queues: {helpdesk: {timezone: UTC}}\n", "sla.queues.helpdesk: unknown queue 'helpdesk'"),
    ("  queues: {facilities: {clock: business}}\n", "sla.queues.facilities.clock: unknown setting"),
])
def test_calendar_settings_are_checked_with_a_guess(sla: str, error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(TEST_CONFIG + "sla:\n" + sla)
    assert error in str(raised.value)


def test_the_sla_report_reads_a_1d_target_as_one_working_day(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  timezone: Europe/Berlin\n  business_hours: '08:00-17:00'\n")
    desk.at("2026-11-03T14:00:00Z")  # Tuesday 15:00 in Berlin
    ticket = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol")  # normal: first response 1d
    desk.at("2026-11-04T15:00:00Z")  # Wednesday 16:00: 10 working hours later, past one working day
    desk.run("reply", ticket, "-m", "Looking into it")
    report = json.loads(desk.run("report", "sla", "--since", "2026-11-02", "--until", "2026-11-06",
                                 "--format", "json").stdout)
    normal = next(row for row in next(s for s in report["sections"] if s["key"] == "by_priority")["rows"]
                  if row["priority"]["value"] == "normal")
    assert normal["first_response_target"]["value"] == 9 * 3600
    assert normal["first_response"]["value"]["median"] == 10 * 3600
    assert normal["first_response_breaches"]["ids"] == [ticket]
    table = desk.run("report", "sla", "--since", "2026-11-02", "--until", "2026-11-06").stdout
    assert "a working day is 9h" in table and "1d1h" in table, "working days and hours, not 24-hour days"


def test_a_target_that_passes_at_closing_time_is_missed_that_week(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An urgent ticket at 16:00 on Friday, one hour before closing: its one-hour target passes
    at 17:00, and the answer comes on Monday. The clock stood at exactly the target all
    weekend; the breach belongs to Friday's week, not to none."""
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  business_hours: '09:00-17:00'\n")
    desk.at("2026-11-06T16:00:00Z")
    ticket = desk.new("VPN down", "-q", "it-helpdesk", "-p", "urgent", "-r", "carol")
    desk.at("2026-11-09T09:30:00Z")
    desk.run("reply", ticket, "-m", "Looking into it")
    desk.at("2026-11-20T12:00:00Z")
    first_week, second_week = ("2026-11-02", "2026-11-08"), ("2026-11-09", "2026-11-15")
    assert first_response_breaches(desk, *first_week, "urgent") == [ticket], "in the week its target passed"
    assert first_response_breaches(desk, *second_week, "urgent") == [], "once"
    desk.at("2026-11-07T12:00:00Z")  # on Saturday, read while the desk is closed
    assert first_response_breaches(desk, *first_week, "urgent") == [ticket], "missed already: the clock stands at 1h"


def test_moving_a_ticket_to_a_queue_on_another_calendar_does_not_undo_its_breach(tmp_path, monkeypatch
                                                                                 ) -> None:  # type: ignore[no-untyped-def]
    """Urgent at 08:00 in Berlin, one hour to answer; at 10:00 it has missed. Moved to a queue on
    New York's hours and answered there at 08:30 their time: still missed, as the report said."""
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  timezone: Europe/Berlin\n  business_hours: '08:00-17:00'\n"
                           "  queues:\n    facilities: {timezone: America/New_York}\n")
    desk.at("2026-11-02T07:00:00Z")  # Monday 08:00 in Berlin
    ticket = desk.new("Door badge reader dead", "-q", "it-helpdesk", "-p", "urgent", "-r", "carol")
    week = ("2026-11-02", "2026-11-08")
    desk.at("2026-11-02T09:00:00Z")
    assert first_response_breaches(desk, *week, "urgent") == [ticket]
    desk.run("set", ticket, "queue", "facilities")
    desk.at("2026-11-02T13:30:00Z")  # 08:30 in New York
    desk.run("reply", ticket, "-m", "On it", "--as", "fred")
    desk.at("2026-11-06T12:00:00Z")
    assert first_response_breaches(desk, *week, "urgent") == [ticket], "decided once: a move does not undo it"
    timings = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["timings"]
    assert timings["first_response_seconds"] == 2.5 * 3600, "two hours in Berlin's queue, half an hour in New York's"


def test_a_move_to_a_queue_with_a_shorter_working_day_dates_the_breach_at_the_move(tmp_path, monkeypatch
                                                                                    ) -> None:  # type: ignore[no-untyped-def]
    """8h30m of Berlin's 9-hour day used by Friday evening: not missed there. Moved on Monday
    to a queue whose working day is 8 hours, it is past its target: missed at the move, in
    Monday's week, so every week's figures add up to the whole."""
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  timezone: Europe/Berlin\n  business_hours: '08:00-17:00'\n"
                           "  queues:\n    facilities: {timezone: America/New_York, business_hours: '09:00-17:00'}\n")
    desk.at("2026-11-27T07:30:00Z")  # Friday 08:30 in Berlin
    ticket = desk.new("Laptop slow", "-q", "it-helpdesk", "-r", "carol")  # normal: first response 1d
    desk.at("2026-11-30T07:00:00Z")
    desk.run("set", ticket, "queue", "facilities")
    desk.at("2026-12-07T08:00:00Z")
    assert first_response_breaches(desk, "2026-11-23", "2026-11-29", "normal") == [], "Berlin's day had not passed"
    assert first_response_breaches(desk, "2026-11-30", "2026-12-06", "normal") == [ticket], "missed at the move"


@pytest.mark.parametrize(("field", "value"), [("priority", "high"), ("queue", "facilities")])
def test_an_answer_then_a_change_in_the_same_second_is_judged_by_what_it_waited_under(
        tmp_path, monkeypatch, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Answered after 5 working hours (normal: 1 day of helpdesk's 8-hour day), then, by the
    same script in the same second, raised to high (4 hours) or moved to a queue whose day is
    4 hours: not late, as a second later it is not."""
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  business_hours: '09:00-17:00'\n"
                           "  queues:\n    facilities: {business_hours: '09:00-13:00'}\n")
    desk.at("2026-11-30T09:00:00Z")
    ticket = desk.new("Laptop slow", "-q", "it-helpdesk", "-r", "carol")
    desk.at("2026-11-30T14:00:00Z")
    desk.run("reply", ticket, "-m", "Looking into it.")
    desk.run("set", ticket, field, value)
    desk.at("2026-12-01T12:00:00Z")
    assert first_response_breaches(desk, "2026-11-30", "2026-12-01", "normal") == []
    assert first_response_breaches(desk, "2026-11-30", "2026-12-01", "high") == []


def test_a_target_reached_this_very_second_at_closing_time_is_due_now_not_on_monday(
        tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n"
                           "  business_hours: '09:00-17:00'\n")
    desk.at("2026-12-11T16:00:00Z")  # Friday, an hour before closing
    ticket = desk.new("VPN down", "-q", "it-helpdesk", "-p", "urgent", "-r", "carol")
    desk.at("2026-12-11T17:00:00Z")
    timings = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["timings"]
    assert timings["next_due_at"] == "2026-12-11T17:00:00Z", timings


def test_logged_time_reads_the_same_in_every_row_and_a_day_of_work_is_logged_in_hours(tmp_path, monkeypatch
                                                                                      ) -> None:  # type: ignore[no-untyped-def]
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG + "sla:\n  clock: business\n")
    desk.at("2026-11-03T09:00:00Z")
    ticket = desk.new("Reimage the laptop", "-q", "it-helpdesk", "-r", "carol", "-a", "laptop-9")
    refused = desk.fails("time", ticket, "1d")
    assert "'1d' would log 1d of work: in logged time a d is 24 hours (log hours and minutes, like 45m, " \
           "1h30m, or 8h for a working day)" in refused, "a day of work read as 24 hours tripled the capacity figures"
    assert "1d" not in desk.fails("time", ticket, "a day").split("(", 1)[1], "the hint offers only what it takes"
    assert desk.fails("time", ticket, "2") == "gitdesk: error: '2' has no unit (write 2h for hours or 2m for minutes)"
    desk.run("time", ticket, "8h")
    assert "(time 20h by alice)" in desk.run("time", ticket, "20h").stdout, \
        "a second entry in the same second is a change"  # a long weekend of work, as typed
    desk.run("time", ticket, "24h")
    assert "time 24h by alice" in desk.last_message()
    assert "— time 24h" in desk.text(ticket), "written in hours: not the 1d the command refuses"
    rows = list(csv.reader(io.StringIO(desk.run("report", "workload", "--since", "2026-11-02", "--until",
                                                "2026-11-08", "--format", "csv").stdout)))
    column = rows[0].index("time_spent")
    logged = {row[0]: row[column] for row in rows[1:]}
    assert logged == {"by_period": "52h", "by_team": "52h", "by_person": "52h"}, "one figure, read one way, in hours"
    assert "time spent:     52h" in desk.run("show", ticket).stdout, "never '2d4h', read as two working days"
    first = rows[0].index("first_response")
    assert rows[1][first] == "", "no figure is an empty cell, not '-"


def test_how_late_a_ticket_is_counts_working_time_everywhere(tmp_path, monkeypatch  # type: ignore[no-untyped-def]
                                                              ) -> None:
    """A lead quoting `list` must not overstate lateness twice over: on a business desk show,
    list and report sla all count working days, and the warning mail says when it falls due."""
    config = TEST_CONFIG + "sla:\n  clock: business\n  business_hours: '08:00-17:00'\n" + \
        "mail:\n  address: help@example.com\n"
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch, config)
    (desk.path / ".gitdesk" / "rules.yml").write_text(
        "rules:\n  - name: warn\n    when: {target: first_response, used: 50%}\n    do:\n      - notify: alice\n")
    desk.git("add", ".gitdesk/rules.yml")
    desk.git("commit", "-qm", "a warning")
    desk.at("2026-11-06T15:00:00Z")  # a Friday afternoon: a day's target falls due on Monday 15:00
    ticket = desk.new("Nobody takes me", "-q", "it-helpdesk", "-r", "carol")
    desk.at("2026-11-09T11:00:00Z")  # half of it was used at 10:30, the warning's moment
    desk.run("rules", "run")
    mail = next(p for p in desk.committed_files() if p.startswith("outbox/"))
    assert "It falls due 2026-11-09 15:00 UTC." in (desk.path / mail).read_text()
    desk.at("2026-11-16T09:00:00Z")  # the Monday after: 4d3h late in working time, 6d18h on the wall clock
    assert "(4d3h working time overdue)" in desk.run("show", ticket).stdout
    assert "FR late 4d3h" in desk.run("list", "--sort", "due").stdout
    report = json.loads(desk.run("report", "sla", "--since", "2026-11-02", "--format", "json").stdout)
    (row,) = [r for r in next(s for s in report["sections"] if s["key"] == "breaches")["rows"]
              if r["kind"]["value"] == "first response"]
    assert row["took"]["value"] - row["target"]["value"] == (4 * 9 + 3) * 3600, "the same lateness as list says"



def test_a_target_missed_at_closing_time_reads_overdue_all_weekend(tmp_path, monkeypatch  # type: ignore[no-untyped-def]
                                                                   ) -> None:
    """Due at Friday 17:00, when the office closes: no working time passes until Monday, but
    the ticket is late all weekend, not "late now"."""
    desk: Desk = make_desk(tmp_path / "desk", monkeypatch,
                           TEST_CONFIG + "sla:\n  clock: business\n  business_hours: '08:00-17:00'\n")
    desk.at("2026-11-06T08:00:00Z")
    ticket = desk.new("Nobody takes me", "-q", "it-helpdesk", "-r", "carol")  # a day's target: Friday 17:00
    desk.at("2026-11-07T12:00:00Z")
    assert "(overdue, no working time since)" in desk.run("show", ticket).stdout
    assert re.search(r"FR late +Nobody", desk.run("list", "--sort", "due").stdout), "late, by no working time"
    desk.at("2026-11-09T09:30:00Z")
    assert "FR late 1h30m" in desk.run("list", "--overdue").stdout
