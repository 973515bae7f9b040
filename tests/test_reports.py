"""Reports, checked number by number against a scripted, backdated week.

The scenario (UTC), in the IT desk of the test config:
  T1 Mon 11-02 09:00 normal, email, laptop-1, from carol; alice takes it, asks at 09:30 (first
     response 30m), carol answers at 11:30 (2h pending), 45m logged, resolved at 23:59
     (14h59m - 2h pending = 12h59m).
  T2 Tue 11-03 00:01 low, hardware, laptop-1, facilities (fred by fewest-open); reply 00:31,
     30m logged, resolved 02:01 (2h).
  T3 Wed 11-04 09:00 urgent, email; bob replies at 11:00 (2h > 1h target), escalates at 12:00
     to it-infra (dana); still open.
  T4 Thu 11-05 10:00 normal, email; nobody has answered.
The report runs from Mon 11-02 to Sat 11-07 00:00.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, Desk, isolate, make_desk

SPAN = ["--since", "2026-11-02", "--until", "2026-11-06"]  # a date as --until means through its end


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    monkeypatch = pytest.MonkeyPatch()
    isolate(tmp_path_factory, monkeypatch)  # module-scoped: the autouse isolation has not run yet
    desk = make_desk(tmp_path_factory.mktemp("reports") / "desk", monkeypatch,
                     TEST_CONFIG + "reports:\n  training:\n    factor: 1.0\n")
    ids: dict[str, str] = {}

    def at(when: str, *args: str) -> str:
        monkeypatch.setenv("GITDESK_NOW", when)
        return desk.run(*args).stdout

    monkeypatch.setenv("GITDESK_NOW", "2026-11-02T09:00:00Z")
    ids["T1"] = desk.new("Outlook password", "-q", "it-helpdesk", "-c", "email", "-a", "laptop-1", "-r", "carol")
    at("2026-11-02T09:10:00Z", "take", ids["T1"])
    at("2026-11-02T09:30:00Z", "ask", ids["T1"], "-m", "VPN or office?")
    at("2026-11-02T11:30:00Z", "reply", ids["T1"], "--as", "carol", "-m", "Both")
    at("2026-11-02T12:00:00Z", "time", ids["T1"], "45m")
    at("2026-11-02T23:59:00Z", "resolve", ids["T1"], "--note", "Cleared the credential cache.")
    monkeypatch.setenv("GITDESK_NOW", "2026-11-03T00:01:00Z")
    ids["T2"] = desk.new("Laptop fan loud", "-q", "facilities", "-c", "hardware", "-a", "laptop-1", "-r", "carol",
                         "-p", "low")
    at("2026-11-03T00:31:00Z", "reply", ids["T2"], "--as", "fred", "-m", "Bring it by")
    at("2026-11-03T01:01:00Z", "time", ids["T2"], "30m", "--as", "fred")
    at("2026-11-03T02:01:00Z", "resolve", ids["T2"], "--note", "Cleaned the fan.", "--as", "fred")
    monkeypatch.setenv("GITDESK_NOW", "2026-11-04T09:00:00Z")
    ids["T3"] = desk.new("Mail is down", "-q", "it-helpdesk", "-c", "email", "-r", "carol", "-p", "urgent")
    at("2026-11-04T11:00:00Z", "reply", ids["T3"], "--as", "bob", "-m", "Looking")
    at("2026-11-04T12:00:00Z", "escalate", ids["T3"], "--as", "bob", "--to", "it-infra", "--reason", "Exchange")
    monkeypatch.setenv("GITDESK_NOW", "2026-11-05T10:00:00Z")
    ids["T4"] = desk.new("Password reset", "-q", "it-helpdesk", "-c", "email", "-r", "carol")
    at("2026-11-03T10:00:00Z", "feedback", "add", ids["T1"], "--score", "4", "--comment", "Quick fix")
    at("2026-11-04T10:00:00Z", "feedback", "add", ids["T2"], "--score", "2", "--comment", "Took a while")
    monkeypatch.setenv("GITDESK_NOW", "2026-11-20T00:00:00Z")
    desk.ids = ids  # type: ignore[attr-defined]
    yield desk
    monkeypatch.undo()


def data(desk: Desk, name: str, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(desk.run("report", name, *SPAN, *args, "--format", "json").stdout)


def rows(report: dict, section: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """A section's rows by their first cell, each row's cells by column key."""
    (found,) = [s for s in report["sections"] if s["key"] == section]
    first = found["columns"][0]["key"]
    return {row[first]["value"]: row for row in found["rows"]}


def count(*ids: str) -> dict:  # type: ignore[type-arg]
    return {"kind": "count", "value": len(ids), "ids": sorted(ids)}


def test_workload_figures(week: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "workload")
    assert report["schema"] == 1
    assert report["period"] == {"since": "2026-11-02T00:00:00Z", "until": "2026-11-07T00:00:00Z",
                                "label": "2026-11-02 to 2026-11-06"}
    monkeypatch.setenv("GITDESK_NOW", "2026-11-20T17:42:00Z")
    by_default = json.loads(week.run("report", "workload", "--format", "json").stdout)
    assert by_default["period"]["since"] == "2026-10-22T00:00:00Z", "30 days from a midnight, whatever the hour"
    (row,) = rows(report, "by_period").values()
    assert row["opened"] == count(*t.values())
    assert row["resolved"] == count(t["T1"], t["T2"])
    assert row["backlog_at_end"] == count(t["T3"], t["T4"])
    assert row["net_flow"] == {"kind": "change", "value": 2, "ids": []}
    assert row["time_spent"] == {"kind": "duration", "value": 4500, "ids": sorted([t["T1"], t["T2"]])}
    assert row["first_response"] == {"kind": "durations", "value": {"median": 1800, "p90": 7200, "n": 3},
                                     "ids": sorted([t["T1"], t["T2"], t["T3"]])}
    assert row["resolution"] == {"kind": "durations", "value": {"median": round((46740 + 7200) / 2), "p90": 46740,
                                                                "n": 2},
                                 "ids": sorted([t["T1"], t["T2"]])}, "pending time excluded"
    # Seven targets fell due: T1 and T2 met both theirs; T3 missed both (answered at 2h of 1h, open past 8h);
    # T4's first response was due Fri 10:00 and never came. Its resolution is not due until the 10th.
    assert row["sla_breaches"] == {"kind": "rate", "value": {"rate": 0.4286, "count": 3, "of": 7},
                                   "ids": sorted([t["T3"], t["T4"]])}, "the same breaches report sla lists"
    assert row["reopened"] == count()
    people = rows(report, "by_person")
    assert people["alice"]["resolved"] == count(t["T1"])
    assert people["fred"]["time_spent"] == {"kind": "duration", "value": 1800, "ids": [t["T2"]]}
    assert people["bob"]["first_responses"] == count(t["T3"])
    teams = rows(report, "by_team")
    assert teams["it"]["first_responses"] == count(t["T1"], t["T3"])
    assert teams["facilities"]["resolved"] == count(t["T2"])


def test_period_edges_one_minute_apart(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = json.loads(week.run("report", "workload", "--since", "2026-11-03", "--until", "2026-11-03",
                                 "--format", "json").stdout)
    (row,) = rows(report, "by_period").values()
    assert row["resolved"] == count(t["T2"]), "T1 resolved at 23:59 the day before is out"
    assert row["opened"] == count(t["T2"]), "T2 created at 00:01 is in"


def test_weekly_periods_and_the_trend_in_words(week: Desk) -> None:
    report = json.loads(week.run("report", "workload", "--since", "2026-11-02", "--until", "2026-11-15",
                                 "--period", "week", "--format", "json").stdout)
    by_period = rows(report, "by_period")
    assert list(by_period) == ["week of 2026-11-02", "week of 2026-11-09"]
    assert by_period["week of 2026-11-09"]["opened"]["value"] == 0
    assert by_period["week of 2026-11-09"]["backlog_at_end"]["value"] == 2
    assert any("backlog" in finding for finding in report["findings"])


def test_sla_breaches_including_open_tickets_past_target(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "sla")
    by_priority = rows(report, "by_priority")
    assert by_priority["urgent"]["first_response_breaches"] == count(t["T3"])
    assert by_priority["urgent"]["resolution_breaches"] == count(t["T3"])
    assert by_priority["normal"]["first_response_breaches"] == count(t["T4"])
    assert by_priority["normal"]["first_response"]["value"]["median"] == 1800
    assert by_priority["normal"]["resolution"] == {"kind": "durations",
                                                   "value": {"median": 46740, "p90": 46740, "n": 1}, "ids": [t["T1"]]}
    assert by_priority["low"]["resolution_breaches"] == count()
    breaches = next(s for s in report["sections"] if s["key"] == "breaches")["rows"]
    assert [(row["ticket"]["value"], row["kind"]["value"], row["status"]["value"], row["due"]["value"])
            for row in breaches] == [
        (t["T3"], "first response", "answered late", "2026-11-04T10:00:00Z"),
        (t["T3"], "resolution", "still open", "2026-11-04T17:00:00Z"),
        (t["T4"], "first response", "still waiting", "2026-11-06T10:00:00Z")], "in the order their targets passed"
    assert "2026-11-04 10:00 UTC" in week.run("report", "sla", *SPAN).stdout, "a moment for people, with its zone"


def test_sla_in_business_hours(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    desk = make_desk(tmp_path / "desk", monkeypatch,
                     TEST_CONFIG + "sla:\n  clock: business\n  business_hours: '09:00-17:00'\n")
    desk.at("2026-11-06T16:00:00Z")  # a Friday, one business hour left
    ticket = desk.new("Friday afternoon", "-q", "it-helpdesk", "-p", "high", "-r", "carol")
    desk.at("2026-11-09T11:00:00Z")  # Monday 11:00: 1h Friday + 2h Monday = 3h < 4h target
    desk.run("reply", ticket, "-m", "On it")
    report = json.loads(desk.run("report", "sla", "--since", "2026-11-02", "--until", "2026-11-10",
                                 "--format", "json").stdout)
    high = rows(report, "by_priority")["high"]
    assert high["first_response"]["value"]["median"] == 3 * 3600
    assert high["first_response_breaches"]["value"] == 0
    assert "business hours" in report["definitions"][0]


def test_queues_snapshot(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "queues")
    queues = rows(report, "by_queue")
    assert queues["it-helpdesk"]["open"] == count(t["T4"])
    assert queues["it-helpdesk"]["unassigned"] == count(t["T4"])
    assert queues["it-helpdesk"]["oldest_waiting"] == {"kind": "duration", "value": 38 * 3600, "ids": [t["T4"]]}
    assert queues["it-helpdesk"]["age_1_3d"] == count(t["T4"])
    assert queues["it-infra"]["open"] == count(t["T3"])
    assert queues["it-infra"]["escalated_in"] == count(t["T3"])
    assert queues["it-helpdesk"]["escalated_out"] == count(t["T3"]), "counted in the queue it was in then"
    assert queues["it-helpdesk"]["escalated_in"] == count()
    assert queues["facilities"]["open"] == count()
    assert rows(report, "by_person")["dana"]["open"] == count(t["T3"])
    assert "unassigned" not in rows(report, "by_person")["dana"], "a person's tickets are assigned by definition"


def test_queues_count_escalations_not_tickets(desk: Desk) -> None:
    # The definition says escalation entries: one ticket sent up twice came in twice.
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("VPN drops", "-q", "it-helpdesk")
    for minute, args in ((10, ()), (20, ("--to", "it-helpdesk")), (30, ())):
        desk.at(f"2026-11-02T09:{minute}:00Z")
        desk.run("escalate", ticket, "--reason", "needs infra", *args)
    desk.at("2026-11-03T09:00:00Z")
    queues = rows(json.loads(desk.run("report", "queues", "--since", "2026-11-02", "--format", "json").stdout),
                  "by_queue")
    assert queues["it-infra"]["escalated_in"] == {"kind": "count", "value": 2, "ids": [ticket]}
    assert queues["it-helpdesk"]["escalated_out"] == {"kind": "count", "value": 2, "ids": [ticket]}
    assert queues["it-helpdesk"]["escalated_in"]["value"] == 1 and queues["it-infra"]["escalated_out"]["value"] == 1
    before = desk.run("report", "queues", "--since", "2026-11-02", "--until", "2026-11-02", "--format", "json").stdout
    waiting = desk.new("Printer jams", "-q", "it-helpdesk")  # created after that period: in none of its rows
    desk.at("2026-11-04T09:00:00Z")
    desk.file(waiting).write_text(desk.text(waiting).replace("queue: it-helpdesk", "queue: it-support"))
    (desk.path / ".gitdesk" / "config.yml").write_text(desk.config.replace("it-helpdesk", "it-support"))
    desk.git("commit", "-qam", "it-helpdesk is it-support now")
    after = json.loads(desk.run("report", "queues", "--since", "2026-11-02", "--until", "2026-11-02",
                                "--format", "json").stdout)
    old = {name: row for name, row in rows(after, "by_queue").items() if name != "it-support"}
    assert old == rows(json.loads(before), "by_queue"), "a queue renamed since keeps its past rows, by its name then"
    assert "Not known to the config (reported, not used as such): unknown queue 'it-helpdesk'" in " ".join(
        after["definitions"])
    scoped = json.loads(desk.run("report", "queues", "--since", "2026-11-03", "--until", "2026-11-03",
                                 "--queue", "it-support", "--format", "json").stdout)
    assert {name: row["open"]["value"] for name, row in rows(scoped, "by_queue").items()} == {
        "it-helpdesk": 1, "it-support": 0}, "in it-support now, counted where it waited then, as the findings say"


def test_a_report_says_it_left_out_a_ticket_file_it_cannot_read(desk: Desk) -> None:
    desk.new("Printer jams", "-q", "it-helpdesk")
    broken = desk.new("VPN drops", "-q", "it-helpdesk")
    desk.file(broken).write_text(desk.text(broken).replace("status: open", "status: [open"))
    desk.git("commit", "-qam", "a bad hand edit", "--no-verify")
    result = desk.run("report", "queues")
    assert "gitdesk: warning: 1 ticket file could not be read and is in no figure (gitdesk check names it)" \
        in result.stderr
    assert "1 ticket file in tickets/ (2 in the desk, 1 of them unreadable and in no figure" in \
        " ".join(result.stdout.split())
    assert json.loads(desk.run("report", "queues", "--format", "json").stdout)["unreadable"] == 1
    from gitdesk.desk import Desk as Library
    from gitdesk.knowledge import site

    assert "1 ticket file could not be read and is in no figure" in site.reports_body(Library.open(desk.path))


def test_training_flags_a_repeat_asker(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "training")
    # carol's team (sales) has one person: too small to compare with, so the whole desk is the yardstick
    # (3 email tickets among 6 people: 0.5 each).
    assert report["findings"] == [
        f"carol opened 3 email tickets in 5 days (2026-11-02 to 2026-11-06), 6.0 times the average of the whole "
        f"desk (0.5): {', '.join(sorted([t['T1'], t['T3'], t['T4']]))}"]
    assert report["evidence"] == [sorted([t["T1"], t["T3"], t["T4"]])]
    matrix = rows(report, "requesters")
    assert matrix["carol"]["category:email"] == count(t["T1"], t["T3"], t["T4"])


def test_a_quarter_s_training_review_sees_every_month_not_only_the_last(desk: Desk) -> None:
    """The manager's quarterly review: carol's October burst of email questions is flagged as
    well as a customer's December one, each with the days it happened in."""
    for day in range(5, 10):
        desk.at(f"2026-10-{day:02d}T09:00:00Z")
        desk.new(f"Outlook again {day}", "-q", "it-helpdesk", "-c", "email", "-r", "carol")
    for day in range(7, 12):
        desk.at(f"2026-12-{day:02d}T09:00:00Z")
        desk.new(f"VPN again {day}", "-q", "it-helpdesk", "-c", "network", "-r", "dan@cust.example")
    desk.at("2027-01-04T09:00:00Z")
    report = json.loads(desk.run("report", "training", "--since", "2026-10-01", "--until", "2026-12-31",
                                 "--format", "json").stdout)
    flagged = [tuple(row[key]["value"] for key in ("requester", "category", "tickets", "window"))
               for row in report["sections"][0]["rows"]]
    assert flagged == [("dan@cust.example", "network", 5, "2026-12-02 to 2026-12-31"),
                       ("carol", "email", 5, "2026-10-03 to 2026-11-01")]
    assert report["findings"][1].startswith("carol opened 5 email tickets in 30 days (2026-10-03 to 2026-11-01)")


def test_requesters_outside_config_count_among_the_people_the_desk_average_divides_by(desk: Desk) -> None:
    # An IT desk lists its agents, not every colleague: ten colleagues outside config ask once each.
    desk.at("2026-11-20T09:00:00Z")
    for n in range(10):
        desk.new(f"Mail question {n}", "-q", "it-helpdesk", "-c", "email", "-r", f"colleague{n}@fernhill.example")
    repeats = [desk.new(f"Outlook again {n}", "-q", "it-helpdesk", "-c", "email", "-r", "carol") for n in range(3)]
    spelt = [desk.new(f"Wi-fi drops {n}", "-q", "it-helpdesk", "-c", "network", "-r", who)
             for n, who in enumerate(("kim@cust.example", "Kim@cust.example", "KIM@CUST.EXAMPLE"))]
    desk.at("2026-11-23T09:00:00Z")
    report = json.loads(desk.run("report", "training", "--format", "json").stdout)
    # 13 email tickets among 6 people in config and 11 outside (kim once): 0.8 each, so carol's 3 stand out.
    assert report["findings"][0].startswith("carol opened 3 email tickets in 30 days (2026-10-25 to 2026-11-23), 3.9 "
                                            "times the average of the whole desk (0.76)")
    assert report["evidence"][0] == sorted(repeats)
    assert report["evidence"][1] == sorted(spelt), "kim is one person however the address is capitalised"


def test_assets_count_repeats_and_time(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "assets")
    laptop = rows(report, "by_asset")["laptop-1"]
    assert laptop["tickets"] == count(t["T1"], t["T2"])
    assert laptop["repeats"] == count(t["T2"])
    assert laptop["time_spent"] == {"kind": "duration", "value": 4500, "ids": sorted([t["T1"], t["T2"]])}
    assert laptop["last_seen"] == {"kind": "date", "value": "2026-11-03", "ids": []}
    later = json.loads(week.run("report", "assets", "--since", "2026-11-03", "--until", "2026-11-06",
                                "--format", "json").stdout)
    laptop = rows(later, "by_asset")["laptop-1"]
    assert laptop["repeats"] == count(t["T2"]), "a repeat of a ticket from before the period is still a repeat"
    assert laptop["time_spent"]["value"] == 1800, "time logged in the period, as workload counts it"


def test_a_growing_backlog_names_the_reopenings_behind_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG)
    desk.at("2026-11-02T09:00:00Z")
    made = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol")
    desk.run("resolve", made, "--note", "New profile.")
    desk.at("2026-11-04T09:00:00Z")
    desk.run("reopen", made, "-m", "It dropped again")
    report = json.loads(desk.run("report", "workload", "--since", "2026-11-03", "--until", "2026-11-05",
                                 "--format", "json").stdout)
    assert "The backlog is growing: 0 unfinished at the start, 1 at the end (1 reopening in the period)." \
        in report["findings"], "0 arrived and 0 were resolved, yet it grew: say why"


def test_feedback_is_per_team_and_never_in_the_ticket(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    report = data(week, "feedback")
    teams = rows(report, "by_team")
    assert teams["it"]["average"] == {"kind": "number", "value": 4.0, "ids": [t["T1"]]}
    assert teams["facilities"]["score_2"] == count(t["T2"])
    assert "alice" not in json.dumps(report) and "fred" not in json.dumps(report), "agents are not named"
    assert "Quick fix" not in week.run("show", t["T1"]).stdout
    assert "Quick fix" not in (week.path / "tickets" / f"{t['T1']}.md").read_text()
    assert "Quick fix" not in week.run("log", t["T1"]).stdout


def test_a_row_too_wide_for_the_terminal_reads_as_words(week: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.render import output

    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "36")  # a phone's terminal
    monkeypatch.setenv("GITDESK_NO_PAGER", "1")
    shown = " ".join(week.run("report", "feedback", *SPAN).stdout.split())
    assert "0 scored 1 · 1 scored 2" in shown, "the histogram as '1 0 · 2 1' said nothing"
    shown = " ".join(week.run("report", "queues", *SPAN).stdout.split())
    assert "aged 1-3 days: " in shown and "1-3 d " not in shown


def test_every_format_carries_the_same_figures(week: Desk) -> None:
    table = week.run("report", "workload", *SPAN).stdout
    assert "Workload: 2026-11-02 to 2026-11-06" in table and "Definitions" in table and "█" in table
    md = week.run("report", "workload", *SPAN, "--format", "md").stdout
    assert "| period | opened | resolved |" in md and "## Definitions" in md
    assert "| 2026-11-02 to 2026-11-06 | 4 | 2 | 0 | 2 | +2 | 1h15m |" in md
    rows_ = list(csv.reader(io.StringIO(week.run("report", "workload", *SPAN, "--format", "csv").stdout)))
    assert rows_[0][:3] == ["section", "period", "opened"]
    assert rows_[1][:3] == ["by_period", "2026-11-02 to 2026-11-06", "4"]
    assert rows_[1][-1] == "; ".join(sorted(week.ids.values())), "a list, joined as json.md says"  # type: ignore[attr-defined]


def test_report_options_are_checked(week: Desk) -> None:
    assert "unknown queue 'nope'" in week.fails("report", "queues", "--queue", "nope")
    assert "unknown team 'nope'" in week.fails("report", "queues", "--team", "nope")
    assert "the period is empty" in week.fails("report", "queues", "--since", "2026-11-05", "--until", "2026-11-01")
    assert "--since 2030-01-01 is in the future" in week.fails("report", "sla", "--since", "2030-01-01"), \
        "not a --until nobody gave"
    report = json.loads(week.run("report", "queues", *SPAN, "--queue", "it-infra", "--format", "json").stdout)
    assert list(rows(report, "by_queue")) == ["it-infra"]


def test_feedback_scores_are_checked(week: Desk) -> None:
    t = week.ids  # type: ignore[attr-defined]
    assert week.run("feedback", "add", t["T1"], "--score", "6", ok=False).exit_code == 2


def alice_week_capacity(report: dict) -> dict:  # type: ignore[type-arg]
    return next(row for row in report["sections"][2]["rows"] if row["person"]["value"] == "alice")["capacity"]  # type: ignore[no-any-return]


def test_a_new_desks_capacity_counts_from_its_first_ticket(desk: Desk) -> None:
    desk.at("2026-11-20T09:00:00Z")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("assign", ticket, "alice")
    desk.run("time", ticket, "2h")
    desk.run("time", ticket, "45m")
    desk.at("2026-11-20T09:20:00Z")
    first_day = json.loads(desk.run("report", "workload", "--format", "json").stdout)
    alice = next(row for row in first_day["sections"][2]["rows"] if row["person"]["value"] == "alice")
    assert alice["capacity_used"]["value"] is None, "20 minutes of capacity: nothing to measure against"
    desk.at("2026-11-20T17:00:00Z")
    first_day = json.loads(desk.run("report", "workload", "--format", "json").stdout)
    alice = next(row for row in first_day["sections"][2]["rows"] if row["person"]["value"] == "alice")
    assert alice["capacity_used"]["value"] is None, "a desk's first hours: no 115% of 2.4h"
    assert not [said for said in first_day["findings"] if "of their support capacity" in said]
    assert "Logged time is not set against capacity: less than a day is counted so far." \
        in first_day["findings"]
    assert ("The desk's first ticket came in on 2026-11-20 09:00, after the period began, so capacity counts the "
            "hours from then, not the whole period.") in first_day["findings"], "never 'the 0.3 days'"
    desk.at("2026-11-27T09:00:00Z")
    found = json.loads(desk.run("report", "workload", "--format", "json").stdout)
    assert ("The desk's first ticket came in on 2026-11-20 09:00, after the period began, so capacity counts the "
            "7 days from then, not the whole period.") in found["findings"]
    month = json.loads(desk.run("report", "workload", "--since", "2026-11-20", "--until", "2026-12-31",
                                "--format", "json").stdout)
    assert ("The period runs past now (2026-11-27 09:00 UTC): capacity counts the 7.4 days up to now, not the days "
            "still to come.") in month["findings"]
    assert alice_week_capacity(month)["value"] == round(7.375 / 7 * 40, 2), "the days to come hold no capacity yet"
    ahead = json.loads(desk.run("report", "workload", "--since", "2027-01-01", "--until", "2027-01-31",
                                "--format", "json").stdout)
    assert "The period has not begun yet: nothing in it has happened, and it holds no capacity." in ahead["findings"]
    assert not [f for f in ahead["findings"] if "runs past now" in f]
    alice = next(row for row in found["sections"][2]["rows"] if row["person"]["value"] == "alice")
    assert alice["capacity"]["value"] == 40.0, "one week of the default 40 hours, not four weeks"
    assert alice["capacity_used"]["value"] == {"rate": 0.0688, "count": 2.75, "of": 40}, "45 minutes are 0.75"
    shown = desk.run("report", "workload").output
    assert "7% (2.75/40)" in shown
    before = json.loads(desk.run("report", "workload", "--since", "2026-10-01", "--until", "2026-10-31",
                                 "--format", "json").stdout)
    assert not [text for text in before["findings"] if "first ticket" in text], "a period before the desk: as it is"


def test_feedback_on_an_unfinished_ticket_says_the_report_leaves_it_out(desk: Desk) -> None:
    open_one = desk.new("Printer jams", "-q", "it-helpdesk")
    result = desk.run("feedback", "add", open_one, "--score", "4")
    assert f"{open_one} is open, so report feedback leaves this score out" in result.stderr
    desk.run("resolve", open_one, "--note", "Cleared the tray.")
    assert "leaves this score out" not in desk.run("feedback", "add", open_one, "--score", "5").stderr
    spam = desk.new("Cheap watches", "-q", "it-helpdesk", "-r", "eve@spam.example")
    desk.run("reject", spam, "--no-send", "-m", "spam")
    assert f"{spam} is rejected, so report feedback leaves this score out" in desk.run(
        "feedback", "add", spam, "--score", "5").stderr
    assert desk.fails("feedback", "request", spam) == (
        f"gitdesk: error: {spam} is rejected: there was no help to rate (ask for feedback on tickets that were "
        "resolved or closed)"), "no survey to a spammer"


def test_of_scores_given_within_one_second_the_last_counts_in_the_report_and_the_survey(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol")
    desk.run("resolve", ticket, "--note", "Cleared the tray.")
    desk.at("2026-11-03T10:00:00Z")
    for score in ("5", "1", "3"):  # typed in, and put right twice, within the second
        desk.run("feedback", "add", ticket, "--score", score, "--comment", f"score {score}")
    desk.at("2026-11-10T09:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    (team,) = rows(found, "by_team").values()
    assert team["score_3"] == count(ticket) and team["score_5"] == team["score_1"] == count()
    assert "was rated 3 on 2026-11-03" in desk.run("feedback", "request", ticket, ok=False).output


def test_a_score_counts_when_the_ticket_is_reopened_in_the_same_second(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol")
    desk.run("resolve", ticket, "--note", "Cleared the tray.")
    desk.at("2026-11-03T09:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "2", "--comment", "It jams again")
    desk.run("reopen", ticket, "-m", "It jams again")  # the same second: history cannot order the two
    desk.at("2026-11-10T09:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    assert [row["score_2"] for row in rows(found, "by_team").values()] == [count(ticket)], \
        "the ticket was resolved when scored"
    other = desk.new("Scanner", "-q", "it-helpdesk", "-r", "carol")  # open all along
    folder = desk.path / "feedback" / "2026-11"
    (folder / "hand-written.yml").write_text(f"ticket: {other}\nscore: 5\nat: 2026-11-04T09:00:00Z\nstatus: closed\n")
    (folder / "broken.yml").write_text(f"ticket: {other}\nscore: 5\nat: [\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "feedback typed in by hand")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    assert "Left out: 1 score (not resolved or closed when given)." in found["findings"], "a written status is no proof"
    assert any("1 feedback file that cannot be read: feedback/2026-11/broken.yml" in f for f in found["findings"])


def test_a_past_week_s_feedback_stays_with_the_team_that_held_the_ticket(desk: Desk) -> None:
    """Scored while alice (it) held it; reopened a week later and handed to fred (facilities):
    the first week still reads as its digest did."""
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol")
    desk.run("assign", ticket, "alice")
    desk.run("resolve", ticket, "--note", "Cleared the tray.", "--as", "alice")
    desk.at("2026-11-03T09:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "5")

    def teams() -> list[str]:
        found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                    "--format", "json").stdout)
        return list(rows(found, "by_team"))

    desk.at("2026-11-06T09:00:00Z")
    assert teams() == ["it"]
    desk.at("2026-11-10T09:00:00Z")
    desk.run("reopen", ticket, "-m", "It jams again", "--as", "carol")
    desk.run("assign", ticket, "fred")
    desk.at("2026-11-20T09:00:00Z")
    assert teams() == ["it"], "not the team that holds it now"
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--team", "it", "--format", "json").stdout)
    assert list(rows(found, "by_team")) == ["it"], "--team filters by the same team"
    assert found["source"].startswith("1 ticket file in tickets/ (1 in the desk)"), "the one it held when rated"
    desk.at("2026-11-11T09:00:00Z")
    desk.run("resolve", ticket, "--note", "Replaced the roller.", "--as", "fred")
    desk.at("2026-11-12T09:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "2")
    desk.at("2026-11-20T09:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-15",
                                "--format", "json").stdout)
    assert sorted(rows(found, "by_team")) == ["facilities", "it"], "one score per resolution, each with its team"


def test_a_ticket_written_by_hand_long_after_it_came_in_does_not_break_the_weekly_report(desk: Desk) -> None:
    # A phone call from October typed into a file in November: its history starts at the
    # commit, weeks after the created time; a week before the commit has no status to read.
    desk.at("2026-11-20T09:00:00Z")
    made = desk.new("Projector in room 4 flickers", "-q", "facilities", "-p", "high")
    path = desk.file(made)
    path.write_text(desk.text(made).replace("created: 2026-11-20T09:00:00Z", "created: 2026-10-01T09:00:00Z"))
    desk.git("commit", "-qam", "It came in by phone on 1 October")
    result = desk.run("report", "workload", "--since", "2026-09-28", "--until", "2026-11-23", "--period", "week")
    assert "Workload" in result.stdout
    assert desk.run("report", "sla", "--since", "2026-09-28", "--until", "2026-11-23").exit_code == 0


def test_sla_findings_read_right_for_one_target(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Monday morning", "-q", "it-helpdesk", "-p", "high", "-r", "carol")
    desk.at("2026-11-02T10:00:00Z")
    desk.run("reply", ticket, "-m", "On it")  # within the high priority's first response target

    def findings(until: str) -> list[str]:
        return [line.split(":")[0] for line in json.loads(desk.run(
            "report", "sla", "--since", "2026-11-02", "--until", until, "--format", "json").stdout)["findings"]]

    assert findings("2026-11-03")[0] == "The one target decided in the period was met."
    desk.at("2026-11-20T10:00:00Z")
    desk.run("resolve", ticket, "--note", "Done at last")  # long after its resolution target
    assert findings("2026-11-21")[:2] == [
        "1 of 2 targets decided in the period was missed (1 resolution).",
        "Its ticket was answered or resolved after the target had passed."]
    shown = desk.run("report", "sla", "--since", "2026-11-02", "--until", "2026-11-21").stdout
    assert "Source: 1 ticket file in tickets/ (1 in the desk) and its Git history" in " ".join(shown.split())


def test_a_ticket_rated_twice_counts_twice_and_a_week_reads_as_its_digest(desk: Desk) -> None:
    """Reopened and rated again: two scores in every column, as the findings count them. A
    score a later week's answer replaced counts where its answer now stands; a report of the
    first week alone still reads as that week's digest did."""
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Mail broken", "-q", "it-helpdesk", "-r", "carol")
    desk.run("assign", ticket, "alice")
    desk.run("resolve", ticket, "--note", "Fixed it.", "--as", "alice")
    desk.at("2026-11-02T12:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "4", "-m", "Quick")
    desk.at("2026-11-03T09:00:00Z")
    desk.run("reopen", ticket, "-m", "Broke again", "--as", "carol")
    desk.run("resolve", ticket, "--note", "Fixed again.", "--as", "alice")
    desk.at("2026-11-03T12:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "2", "-m", "Second time")
    desk.at("2026-11-10T00:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    row = rows(found, "by_team")["it"]
    assert row["responses"]["value"] == 2 and row["score_2"]["value"] == 1 and row["score_4"]["value"] == 1
    assert found["findings"][0].startswith("2 responses, average 3.0 of 5; 1 scored 1 or 2.")
    work = json.loads(desk.run("report", "workload", "--since", "2026-11-02", "--until", "2026-11-08",
                               "--format", "json").stdout)
    assert "1 ticket arrived and 2 resolutions were made, of 1 ticket (1 resolution of tickets resolved again " \
        "after a reopening)." in work["findings"], "resolutions are not said as that many tickets"
    # Scored 1 in its week, replaced by a 5 the next week: the first week still says 1.0.
    desk.at("2026-11-11T09:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "5")
    desk.at("2026-11-20T00:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-15",
                                "--period", "week", "--format", "json").stdout)
    row = rows(found, "by_team")["it"]
    assert row["average:2026-11-02"]["value"] == 4.0 and row["average:2026-11-09"]["value"] == 5.0
    assert row["responses"]["value"] == 2, "each week's scores are the report's scores"
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    assert rows(found, "by_team")["it"]["average"]["value"] == 3.0, "as the digest of 9 November said"


def test_a_score_on_a_ticket_solved_without_taking_it_goes_to_the_resolver_s_team(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("VPN down", "-q", "it-helpdesk", "-r", "carol")
    desk.run("resolve", ticket, "--note", "Router restarted.", "--as", "bob")
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["assignee"] is None
    desk.at("2026-11-02T12:00:00Z")
    desk.run("feedback", "add", ticket, "--score", "5")
    desk.at("2026-11-10T00:00:00Z")
    found = json.loads(desk.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--team", "it", "--format", "json").stdout)
    assert list(rows(found, "by_team")) == ["it"], "the desk's score, not nobody's"


def test_a_person_away_now_is_named_where_their_capacity_is_counted(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol")
    desk.run("assign", ticket, "bob")
    desk.run("reply", ticket, "-m", "On it", "--as", "bob")
    desk.configure(desk.config.replace("bob: {name: Bob Agent, email: bob@example.com, team: it}",
                                       "bob: {name: Bob Agent, email: bob@example.com, team: it, away: true}"),
                   "Bob left")
    desk.at("2026-11-10T00:00:00Z")
    found = json.loads(desk.run("report", "workload", "--since", "2026-11-02", "--until", "2026-11-08",
                                "--format", "json").stdout)
    assert any(line.startswith("Capacity counts bob (away now) for the whole period") for line in found["findings"])


def test_a_report_says_when_it_counted_hand_edits_not_yet_committed(desk: Desk) -> None:
    """An unstaged hand edit closing the only open ticket made "0 tickets open ... as of commit
    X", where that commit holds one open ticket."""
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")

    def source() -> str:
        return str(json.loads(desk.run("report", "queues", "--format", "json").stdout)["source"])

    assert "as of commit" in source() and "uncommitted" not in source()
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("priority: normal", "priority: high"))
    assert f"as of commit {desk.head()[:10]} with uncommitted edits to 1 ticket file;" in source()
    desk.git("add", "-A")
    assert "with uncommitted edits to 1 ticket file;" in source(), "staged is not committed either"
