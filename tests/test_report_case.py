"""The case in words: reports a manager can paste, counting demand and not noise,
and feedback that means something (issue 15, items 4, 5 and 7).

The story, two weeks from Monday 2026-11-02 (UTC), on the test desk with a
bigger sales team (carol, bernard, erin, hugo) and a legal team of one (lena):
  - bernard opens six email tickets in week 1, four of them labelled outlook,
    two on laptop-7; alice answers each within half an hour and resolves it.
    He also sends two duplicates of his first ticket (on laptop-7) and one
    message that is rejected as spam. Those three are noise.
  - carol opens one email ticket; lena three network tickets nobody answers.
  - bernard scores his first ticket 2, then, a week later, 5: one score, a 5.
    lena scores a ticket that is still open: left out.
  - alice works 20 hours a week, half of it support: 20 hours in two weeks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TEST_CONFIG, Desk, isolate, make_desk

SPAN = ["--since", "2026-11-02", "--until", "2026-11-15"]
CONFIG = TEST_CONFIG.replace(
    "  alice: {name: Alice Agent, email: alice@example.com, team: it}",
    "  alice: {name: Alice Agent, email: alice@example.com, team: it, hours_per_week: 20, support_share: 0.5}",
).replace(
    "  carol: {name: Carol Requester, email: carol@example.com, team: sales}",
    "  carol: {name: Carol Requester, email: carol@example.com, team: sales}\n"
    "  bernard: {name: Bernard Sales, email: bernard@example.com, team: sales}\n"
    "  erin: {name: Erin Sales, email: erin@example.com, team: sales}\n"
    "  hugo: {name: Hugo Sales, email: hugo@example.com, team: sales}\n"
    "  lena: {name: Lena Legal, email: lena@example.com, team: legal}",
)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    monkeypatch = pytest.MonkeyPatch()
    isolate(tmp_path_factory, monkeypatch)
    desk = make_desk(tmp_path_factory.mktemp("case") / "desk", monkeypatch, CONFIG)
    t: dict[str, Any] = {"bernard": [], "lena": []}

    def at(when: str, *args: str) -> str:
        desk.at(when)
        return desk.run(*args).stdout

    for day in range(6):
        morning = f"2026-11-0{2 + day % 5}T{9 + day // 5:02d}:00:00Z"
        desk.at(morning)
        options = ["-q", "it-helpdesk", "-c", "email", "-r", "bernard"]
        options += ["-l", "outlook"] if day < 4 else []
        options += ["-a", "laptop-7"] if day in (0, 3) else []
        ticket = desk.new("Outlook asks for my password" if day < 4 else "Calendar invite lost", *options)
        t["bernard"].append(ticket)
        at(morning.replace(":00:00Z", ":30:00Z"), "reply", ticket, "-m", "Signing you out and in", "--as", "alice")
        at(morning.replace(":00:00Z", ":40:00Z"), "time", ticket, "20m", "--as", "alice")
        at(morning.replace(":00:00Z", ":50:00Z"), "resolve", ticket, "--note", "Cleared the credential cache",
           "--as", "alice")
    first = t["bernard"][0]
    t["duplicates"] = []
    for when in ("2026-11-03T15:00:00Z", "2026-11-04T15:00:00Z"):
        desk.at(when)
        duplicate = desk.new("Outlook password again", "-q", "it-helpdesk", "-c", "email", "-r", "bernard",
                             "-a", "laptop-7", "-l", "outlook")
        at(when.replace(":00:00Z", ":05:00Z"), "link", duplicate, "--duplicate-of", first, "--as", "alice")
        at(when.replace(":00:00Z", ":06:00Z"), "resolve", duplicate, "--note", "Same as the first", "--as", "alice")
        t["duplicates"].append(duplicate)
    desk.at("2026-11-05T16:00:00Z")
    t["spam"] = desk.new("You won an Outlook upgrade", "-q", "it-helpdesk", "-c", "email", "-r", "bernard",
                         "-a", "laptop-7", "-l", "outlook")
    at("2026-11-05T16:01:00Z", "reject", t["spam"], "-m", "Spam sent in his name", "--as", "alice")
    desk.at("2026-11-05T10:00:00Z")
    t["carol"] = desk.new("Shared mailbox missing", "-q", "it-helpdesk", "-c", "email", "-r", "carol")
    for day in range(3):
        desk.at(f"2026-11-1{day}T09:00:00Z")
        t["lena"].append(desk.new("VPN drops", "-q", "it-helpdesk", "-c", "network", "-r", "lena", "-l", "vpn"))
    at("2026-11-03T12:00:00Z", "feedback", "add", first, "--score", "2", "--comment", "Took two tries")
    at("2026-11-10T12:00:00Z", "feedback", "add", first, "--score", "5", "--comment", "Fixed for good")
    at("2026-11-12T12:00:00Z", "feedback", "add", t["lena"][0], "--score", "1")
    at("2026-11-04T16:00:00Z", "feedback", "add", t["duplicates"][0], "--score", "3")
    desk.at("2026-11-20T00:00:00Z")
    desk.ids = t  # type: ignore[attr-defined]
    yield desk
    monkeypatch.undo()


def report(desk: Desk, name: str, *more: str) -> dict[str, Any]:
    return json.loads(desk.run("report", name, *SPAN, *more, "--format", "json").stdout)


def rows(found: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    (section,) = [s for s in found["sections"] if s["key"] == key]
    first = section["columns"][0]["key"]
    return {row[first]["value"]: row for row in section["rows"]}


def said(found: dict[str, Any], start: str) -> tuple[str, list[str]]:
    """The finding that starts with ``start``, and the tickets behind it."""
    matches = [(text, ids) for text, ids in zip(found["findings"], found["evidence"], strict=True)
               if text.startswith(start)]
    assert len(matches) == 1, found["findings"]
    return matches[0]


# --- item 7: feedback that means something ------------------------------------------------


def test_a_later_answer_replaces_the_earlier_and_both_stay_in_history(story: Desk) -> None:
    first = story.ids["bernard"][0]  # type: ignore[attr-defined]
    found = report(story, "feedback", "--period", "week")
    (it,) = rows(found, "by_team").values()
    assert it["responses"] == {"kind": "count", "value": 1, "ids": [first]}
    assert it["average"]["value"] == 5.0, "the later answer, not the mean of both"
    assert it["score_5"]["value"] == 1 and it["score_2"]["value"] == 0
    weeks = [key for key in it if key.startswith("average:")]
    assert [it[key]["value"] for key in weeks] == [None, 5.0], "counted once, in the week it was given"
    comments = [row["comment"]["value"] for s in found["sections"] if s["key"] == "comments" for row in s["rows"]]
    assert comments == ["Fixed for good"]
    assert len(list((story.path / "feedback").rglob("*.yml"))) == 4, "the earlier answer stays in history"


def test_scores_count_only_on_finished_tickets_and_every_column_agrees(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "feedback", "--period", "week")
    teams = rows(found, "by_team")
    responses = sum(row["responses"]["value"] for row in teams.values())
    spread = sum(row[f"score_{score}"]["value"] for row in teams.values() for score in range(1, 6))
    assert responses == spread == 1
    assert found["findings"][0] == "1 response, average 5.0 of 5; 0 scored 1 or 2."
    assert said(found, "Left out: 1 score (not resolved or closed when given)")[1] == [t["lena"][0]]
    assert said(found, "Left out: 1 score (on a duplicate)")[1] == [t["duplicates"][0]]
    assert said(found, "Left out: 1 score (replaced by a later answer)")[1] == [t["bernard"][0]]


def test_a_past_week_reads_the_same_after_a_later_answer(story: Desk) -> None:
    """The report of week 1 is what the weekly digest said then: the answer of week 2 was not given yet."""
    first = story.ids["bernard"][0]  # type: ignore[attr-defined]
    found = json.loads(story.run("report", "feedback", "--since", "2026-11-02", "--until", "2026-11-08",
                                 "--format", "json").stdout)
    (it,) = rows(found, "by_team").values()
    assert it["responses"] == {"kind": "count", "value": 1, "ids": [first]}
    assert it["average"]["value"] == 2.0


# --- item 4: demand apart from noise ----------------------------------------------------


def test_noise_does_not_inflate_training_flags(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "training")
    flag = rows(found, "flags")["bernard"]
    assert flag["tickets"]["value"] == 6, "two duplicates and a spam message are not demand"
    assert set(flag["tickets"]["ids"]) == set(t["bernard"])
    matrix = rows(found, "requesters")
    assert matrix["bernard"]["tickets"]["value"] == 6
    assert rows(found, "teams")["sales"]["tickets"]["value"] == 7, "bernard's six and carol's one"
    text, ids = said(found, "Left out as noise, not demand: ")
    assert text.startswith("Left out as noise, not demand: 2 duplicates (") and "1 rejected (spam or refused)" in text
    assert set(ids) == {*t["duplicates"], t["spam"]}


def test_noise_does_not_inflate_an_assets_repeats(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "assets")
    laptop = rows(found, "by_asset")["laptop-7"]
    assert laptop["tickets"]["ids"] == sorted([t["bernard"][0], t["bernard"][3]])
    assert laptop["repeats"]["value"] == 1, "the duplicates are the same failure, the spam no failure"
    assert rows(found, "candidates") == {}, "two real tickets do not make a candidate for replacement"
    assert said(found, "Left out as noise, not demand: ")[1] == sorted([*t["duplicates"], t["spam"]])


def test_noise_does_not_inflate_a_teams_demand(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "workload")
    (row,) = rows(found, "by_period").values()
    assert row["opened"]["value"] == 10, "six from bernard, one from carol, three from lena"
    assert not {*t["duplicates"], t["spam"]} & (set(row["opened"]["ids"]) | set(row["resolved"]["ids"]))
    assert row["resolved"]["value"] == 6
    assert rows(found, "by_person")["alice"]["resolved"]["value"] == 6
    assert said(found, "Left out as noise, not demand: ")[1] == sorted([*t["duplicates"], t["spam"]])


@pytest.mark.parametrize("name", ["queues", "workload", "training", "assets", "sla"])
def test_each_report_says_what_it_left_out_and_why(story: Desk, name: str) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, name)
    text, ids = said(found, "Left out as noise, not demand: ")
    assert text == (f"Left out as noise, not demand: 2 duplicates ({', '.join(sorted(t['duplicates']))}); "
                    f"1 rejected (spam or refused) ({t['spam']}).")
    assert ids == sorted([*t["duplicates"], t["spam"]])
    shown = {i for section in found["sections"] for row in section["rows"] for cell in row.values()
             for i in cell["ids"]}
    assert not shown & set(ids)


# --- item 5: the case in words ---------------------------------------------------------------


def test_workload_opens_with_findings_a_manager_can_paste(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "workload", "--period", "week")
    text, ids = said(found, "Arrivals outpaced resolutions in ")
    assert text == "Arrivals outpaced resolutions in 2 of 2 weeks: 10 tickets arrived and 6 were resolved."
    assert set(ids) == {*t["bernard"], t["carol"], *t["lena"]}
    assert said(found, "Week by week")[0] == ("Week by week, arrived and resolved: week of 2026-11-02: 7 in, "
                                              "6 resolved; week of 2026-11-09: 3 in, 0 resolved.")
    text, ids = said(found, "The backlog is growing: ")
    assert text == "The backlog is growing: 0 unfinished at the start, 4 at the end."
    assert set(ids) == {t["carol"], *t["lena"]}
    text, ids = said(found, "alice handled ")
    # 6 tickets, 6 replies (time entries are time, not entries), 2h logged of 20 * 0.5 * 2 = 20h.
    assert text == "alice handled 6 tickets, wrote 6 entries and logged 2h, 10% of their support capacity (20h)."
    assert set(ids) == set(t["bernard"])
    alice = rows(found, "by_person")["alice"]
    assert alice["capacity"]["value"] == 20.0
    assert alice["capacity_used"]["value"] == {"rate": 0.1, "count": 2, "of": 20}
    assert found["findings"].index(text) < found["findings"].index(said(found, "Left out as noise")[0])
    assert found["definitions"] and found["source"], "every report prints its definitions and its source"


def test_workload_says_what_the_numbers_do_not_cover(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    story.at("2026-11-12T12:00:00Z")
    story.run("reply", t["lena"][0], "-m", "Which network?", "--as", "bob")
    story.at("2026-11-13T12:00:00Z")
    found = json.loads(story.run("report", "workload", "--since", "2026-11-09", "--period", "week",
                                 "--format", "json").stdout)
    text, ids = said(found, "1 of 1 ticket handled has no time logged")
    assert ids == [t["lena"][0]]
    text, _ = said(found, "The last week (week of 2026-11-09) is partial")
    assert "2026-11-13 12:00" in text
    midweek = json.loads(story.run("report", "workload", "--since", "2026-11-11", "--period", "week",
                                   "--format", "json").stdout)
    text, _ = said(midweek, "The only week (week of 2026-11-09) is partial")
    assert text.endswith("it runs from 2026-11-11 00:00 UTC to now, 2026-11-13 12:00 UTC."), "counted from the 11th"
    cut = json.loads(story.run("report", "workload", "--since", "2026-11-04", "--until", "2026-11-11", "--period",
                               "week", "--format", "json").stdout)
    assert said(cut, "The first week (week of 2026-11-02) is partial")[0].endswith(
        "it starts with the report, 2026-11-04 00:00 UTC.")
    assert said(cut, "The last week (week of 2026-11-09) is partial")[0].endswith("it runs to the end of 2026-11-11.")


def test_training_makes_the_case_with_the_topic(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    found = report(story, "training")
    # Team sales has four people and seven email tickets: 1.75 each; bernard's six are 3.4 times that.
    text, ids = said(found, "bernard opened 6 email tickets in 14 days")
    assert text.startswith("bernard opened 6 email tickets in 14 days (2026-11-02 to 2026-11-15), 3.4 times the average of team sales (1.75); "
                           "4 of them about outlook: ")
    assert set(ids) == set(t["bernard"])
    flag = rows(found, "flags")["bernard"]
    assert flag["category"]["value"] == "email" and flag["topic"]["value"] == "outlook"
    # lena's team is one person: she is compared with the whole desk (3 network tickets, 10 people).
    text, ids = said(found, "lena opened 3 network tickets")
    assert "10.0 times the average of the whole desk (0.3); 3 of them about vpn" in text
    assert rows(found, "flags")["lena"]["basis"]["value"] == "the whole desk"


def test_assets_make_the_case_in_words(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    for when, title in (("2026-11-11T09:00:00Z", "Laptop-7 will not boot"),):
        story.at(when)
        ticket = story.new(title, "-q", "it-helpdesk", "-c", "hardware", "-r", "bernard", "-a", "laptop-7")
    found = report(story, "assets")
    text, ids = said(found, "laptop-7: 3 tickets")
    assert set(ids) == {t["bernard"][0], t["bernard"][3], ticket}
    assert "2 within 30 days of the one before" in text


def test_a_flag_names_the_knowledge_base_article_its_tickets_were_answered_with(story: Desk) -> None:
    t = story.ids  # type: ignore[attr-defined]
    story.at("2026-10-01T09:00:00Z")  # solved long before: its article is what bob points lena to
    solved = story.new("VPN client keeps dropping", "-q", "it-helpdesk", "-c", "network", "-r", "carol")
    story.at("2026-10-01T10:00:00Z")
    story.run("resolve", solved, "--note", "Reinstalled the VPN client.", "--as", "bob")
    story.run("kb", "build")
    (article,) = [path.relative_to(story.path).as_posix() for path in (story.path / "kb" / "network").glob("*.md")]
    story.at("2026-11-12T15:00:00Z")
    story.run("link", t["lena"][0], "--related", solved, "--as", "bob")
    for ticket in t["lena"][1:]:
        story.run("reply", ticket, "-m", f"This should help: {article}", "--as", "bob")
    found = report(story, "training")
    text, _ = said(found, "lena opened 3 network tickets")
    # Three tickets share the label vpn and three the article: the article says more.
    assert text.endswith(f"; 3 of them about kb article {article}: {', '.join(sorted(t['lena']))}")
    assert rows(found, "flags")["lena"]["topic"]["value"] == f"kb article {article}"


@pytest.mark.parametrize("name", ["queues", "workload", "training", "assets", "sla", "feedback"])
def test_every_report_prints_its_definitions_and_where_its_figures_come_from(story: Desk, name: str) -> None:
    found = report(story, name)
    assert found["definitions"] and "commit" in found["source"] and "tickets/" in found["source"]
    for fmt, heading in (("table", "Definitions"), ("md", "## Definitions")):
        shown = story.run("report", name, *SPAN, "--format", fmt).stdout
        assert heading in shown and "Source: " in shown
        assert shown.index(found["findings"][0][:30]) < shown.index("Definitions"), "findings come first"


def test_the_weekly_digest_counts_feedback_as_the_report_does(story: Desk) -> None:
    """Monday's digest of week 1 and the report of the same week say the same, column by column."""
    (story.path / ".gitdesk" / "rules.yml").write_text(
        "rules:\n  - name: weekly-digest\n    when: {every: monday, at: \"07:00\"}\n"
        "    do:\n      - digest: [feedback]\n    to: [dana]\n")
    config = story.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text() + "mail:\n  address: help@example.com\n")
    story.git("commit", "-qm", "A weekly digest", "--", ".gitdesk/rules.yml", ".gitdesk/config.yml")
    story.at("2026-11-09T07:05:00Z")
    story.run("rules", "run")
    (digest,) = (story.path / "outbox").rglob("*digest-weekly-digest*.eml")
    body = digest.read_text()
    assert "- 1 response, average 2.0 of 5; 1 scored 1 or 2." in body
    assert "responses: 1; average: 2.0; 1: 0; 2: 1; 3: 0; 4: 0; 5: 0" in body
    assert "Left out: 1 score (on a duplicate)." in body
    assert "replaced" not in body, "the answer of week 2 was not given yet"
    week = json.loads(story.run("report", "feedback", "--since", "2026-11-02T00:00:00Z", "--until",
                                "2026-11-09T07:00:00Z", "--format", "json").stdout)
    assert all(f"- {finding}\n" in body for finding in week["findings"]), "the same sentences, the same counts"


def test_workload_says_how_response_times_moved(story: Desk) -> None:
    """By now lena's three tickets were answered in week 2, a day or two after they came in."""
    t = story.ids  # type: ignore[attr-defined]
    for ticket, when in zip(t["lena"], ("2026-11-12T12:00:00Z", "2026-11-12T15:00:00Z", "2026-11-12T15:00:00Z"),
                            strict=True):
        if "— reply" not in story.text(ticket):  # answered here unless an earlier test (same process) did
            story.at(when)
            story.run("reply", ticket, "-m", "Looking into it", "--as", "bob")
    story.at("2026-11-20T00:00:00Z")
    found = report(story, "workload", "--period", "week")
    text, ids = said(found, "The median first response rose from 30m (")
    assert text == "The median first response rose from 30m (week of 2026-11-02, n=6) to 1d6h (week of 2026-11-09, " \
                   "n=3).", "which weeks, and how many answers, each side"
    assert set(ids) == {*t["bernard"], *t["lena"]}
