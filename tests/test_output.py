"""What people and scripts read: tables that fit, JSON that is a contract, exports that keep everything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, Desk, make_desk

ROOT = Path(__file__).resolve().parent.parent
WIDE_CONFIG = TEST_CONFIG.replace("  facilities:\n    name: Facilities", "  customer-support:\n    name: Customers") \
    .replace("gina: {name: Gina Facilities", "maximiliane: {name: Maximiliane Facilities") \
    .replace("members: [fred, gina]", "members: [fred, maximiliane]")


@pytest.fixture
def wide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """A desk whose queue and people have long names, with long titles, as real desks do."""
    desk = make_desk(tmp_path / "desk", monkeypatch, WIDE_CONFIG)
    for number in range(6):
        ticket = desk.new(f"Customs charge on order {number} was never explained in the confirmation mail",
                          "-q", "customer-support", "-p", "urgent" if number % 2 else "low")
        desk.run("assign", ticket, "maximiliane")
        if number % 3 == 0:
            desk.run("ask", ticket, "-m", "Which order number?")
    return desk


def on_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    from gitdesk.render import output

    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("GITDESK_NO_PAGER", "1")


@pytest.mark.parametrize("columns", [80, 110])
def test_ids_statuses_and_names_are_never_cut_titles_give_way(wide: Desk, monkeypatch: pytest.MonkeyPatch,
                                                              columns: int) -> None:
    ids = [row["id"] for row in json.loads(wide.run("list", "--format", "json").stdout)["tickets"]]
    on_terminal(monkeypatch, columns)
    out = wide.run("list").stdout
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    assert lines[0].split()[:6] == ["ID", "STATUS", "PRIORITY", "QUEUE", "ASSIGNEE", "AGE"]
    shown = [line.split()[0] for line in lines[1:] if line.startswith("GD-")]
    assert len(shown) == 6 and all(any(full.startswith(short) for full in ids) for short in shown)
    assert all(len(short) >= 12 for short in shown), "an abbreviated ID can be pasted back"
    rows = [line for line in lines if line.startswith("GD-")]
    assert all(re.search(r"\b(open|pending)\b", row) and re.search(r"\b(urgent|low)\b", row) for row in rows)
    assert all("customer-support" in row and "maximiliane" in row for row in rows)
    assert "Customs charge on order" in out, "titles shrink or move under the row, but are shown"


def test_piped_tables_cut_nothing(wide: Desk) -> None:
    out = wide.run("list").stdout
    assert "…" not in out and "Customs charge on order 1 was never explained in the confirmation mail" in out


def test_filters_drop_the_columns_they_make_the_same(wide: Desk) -> None:
    header = wide.run("list", "--queue", "customer-support", "--assignee", "maximiliane").stdout.splitlines()[0]
    assert "QUEUE" not in header and "ASSIGNEE" not in header and "TITLE" in header


@pytest.mark.parametrize("columns", [80, 110])
def test_reports_fit_or_wrap_at_80_and_110_columns(wide: Desk, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    on_terminal(monkeypatch, columns)
    for name in ("workload", "sla", "queues", "training", "assets"):
        out = wide.run("report", name, "--period", "week").stdout if name == "workload" else \
            wide.run("report", name).stdout
        too_wide = [line for line in out.splitlines() if len(line) > columns]
        assert too_wide == [], (name, too_wide)


def test_show_keeps_mail_plumbing_out_and_marks_time_internal(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    desk.file(ticket).write_text(desk.text(ticket).replace("labels: []", 'labels: []\nmessage_ids: ["<a@b.example>"]'))
    desk.git("commit", "-qam", "a thread id, as intake writes it")
    desk.run("time", ticket, "30m", "-m", "on site")
    out = desk.run("show", ticket).stdout
    assert "message_ids" not in out and "<a@b.example>" not in out
    assert re.search(r"TIME LOGGED 30m\s+\(internal: not visible to the requester\)", out), out
    assert re.search(r"created: +\d{4}-\d\d-\d\d \d\d:\d\d UTC \(", out), "the view's times name their zone once"
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["message_ids"] == ["<a@b.example>"]


@pytest.mark.parametrize("zone, named", [("Europe/Berlin", "2026-07-01 11:00 Europe/Berlin"),
                                         ("UTC+3", "2026-07-01 06:00 UTC-03:00"),
                                         ("Europe/Berln", "2026-07-01 09:00 UTC+00:00")])
def test_show_names_the_zone_its_times_read_in(desk: Desk, monkeypatch: pytest.MonkeyPatch, zone: str,
                                               named: str) -> None:
    """Not the summer abbreviation of the created time, which a winter reply of the same view
    is not in; POSIX's "UTC+3" (three hours behind) by its offset, not as "UTC"; a mistyped
    zone (UTC to the C library) by its offset, not as Berlin."""
    import time

    from gitdesk.render import views

    desk.at("2026-07-01T09:00:00Z")
    ticket = desk.new("Printer")
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    views._zone_name.cache_clear()
    try:
        assert f"created:        {named} (" in desk.run("show", ticket).stdout
    finally:
        monkeypatch.setenv("TZ", "UTC")  # as every test runs (conftest), for the ones after this
        time.tzset()
        views._zone_name.cache_clear()


def test_one_duration_format_everywhere(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    desk.run("time", ticket, "63m")  # 3,780 seconds
    assert "### " in desk.text(ticket) and "— time 1h03m" in desk.text(ticket)
    assert "time spent:     1h03m" in desk.run("show", ticket).stdout


HAND_WRITTEN = """\
---
id: {id}
title: Dock flickers — second monitor
status: open
created: 2026-11-20T09:14:00Z
requester: carol@example.com
queue: it-helpdesk
labels: [dock, monitor]
cost_centre: 4100
notes_for_finance: "approved by Dana"
---
The second monitor flickers when the laptop is docked.

## Notes from the phone call
Carol says it started after the firmware update.

## Conversation

Carol also mentioned this at the Monday stand-up (written by hand).

### 2026-11-20T09:40:00Z alice — question
Which dock model?

### 2026-11-20T10:02:00Z carol@example.com — reply
The grey one, WD19.

### 2026-11-20T10:30:00Z alice — note
Known issue with WD19 firmware 1.0.3.

## Resolution
Updated the dock firmware to 1.0.7.

## See also
- https://example.com/wd19-firmware
"""


def test_export_and_show_keep_every_line_of_a_hand_written_ticket(desk: Desk) -> None:
    ticket = "GD-01M84ZF6NW5EKB3QT7"
    text = HAND_WRITTEN.format(id=ticket)
    desk.file(ticket).write_text(text, encoding="utf-8")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "A hand-written ticket")
    exported = json.loads(desk.run("export", "json").stdout)
    assert exported["schema"] == 1 and exported["exported_at"]
    (record,) = exported["tickets"]
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert {key: value for key, value in shown.items()} == record, "show and export share one record"
    everything = json.dumps(record, ensure_ascii=False)
    for line in text.splitlines():
        meaning = line.strip().removeprefix("- ").removeprefix("## ").removeprefix("### ")
        if meaning in ("---", "Conversation", "Resolution", ""):
            continue
        if ": " in meaning and not meaning.startswith("20"):
            key, _, value = meaning.partition(": ")
            assert key in record and str(record[key]).strip("[]").replace("'", "") in value.replace('"', ""), line
            continue
        if meaning.startswith("20") and " — " in meaning:  # an entry heading: its parts are fields
            at, author, kind = re.match(r"(\S+) (\S+) — (\S+)", meaning).groups()  # type: ignore[union-attr]
            assert {"at": at, "author": author, "kind": kind}.items() <= next(
                e for e in record["conversation"] if e["at"] == at).items(), line
            continue
        assert meaning in everything, f"lost in export: {line!r}"
    assert record["conversation_text"] == "Carol also mentioned this at the Monday stand-up (written by hand)."
    assert record["appendix"] == "## See also\n- https://example.com/wd19-firmware"
    assert [entry["internal"] for entry in record["conversation"]] == [False, False, True]


def json_outputs(desk: Desk) -> dict[str, dict]:  # type: ignore[type-arg]
    ticket = desk.new("Printer on 2F jams", "-q", "it-helpdesk", "-c", "hardware")
    desk.run("resolve", ticket, "--note", "Replaced the roller.")
    commands = {
        "new": ["new", "Printer jams again", "-q", "it-helpdesk"],
        "list": ["list", "--all"], "show": ["show", ticket], "reply": ["reply", ticket, "-m", "Done"],
        "search": ["search", "printer"], "similar": ["similar", "--text", "printer jams"],
        "log": ["log", ticket], "check": ["check"], "kb search": ["kb", "search", "roller"],
        "report": ["report", "workload"],
    }
    found = {name: json.loads(desk.run(*args, "--format", "json").stdout) for name, args in commands.items()}
    found["export"] = json.loads(desk.run("export", "json").stdout)
    return found


def test_every_json_output_is_a_documented_object_with_a_schema(desk: Desk) -> None:
    docs = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    for name, document in json_outputs(desk).items():
        assert document["schema"] == 1, name
        assert f"gitdesk {name}" in docs, f"docs/json.md does not describe gitdesk {name}"
        for key in document:
            assert f"`{key}`" in docs, f"docs/json.md does not document {name}'s key {key!r}"


def test_json_keys_are_machine_keys_never_display_labels(desk: Desk) -> None:
    report = json_outputs(desk)["report"]
    for section in report["sections"]:
        for row in section["rows"]:
            assert all(re.fullmatch(r"[a-z0-9_:.\-]+", key) for key in row), row.keys()
            assert all(set(cell) == {"kind", "value", "ids"} for cell in row.values())


def test_a_field_cannot_take_a_name_the_record_uses(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    error = desk.fails("set", ticket, "description", "x")
    assert error == ("gitdesk: error: 'description' cannot be a field: it names part of the ticket in its JSON "
                     "record (rename the field, e.g. description_note)")
    desk.file(ticket).write_text(desk.text(ticket).replace("labels: []", "labels: []\npath: elsewhere"))
    desk.git("add", "-A")
    found = desk.run("check", ok=False).stdout
    assert "'path' cannot be a field" in found
    desk.file(ticket).write_text(desk.text(ticket).replace("path: elsewhere", "timings.clock: fake"))
    desk.git("add", "-A")
    found = desk.run("check", ok=False).stdout
    assert "'timings.clock' cannot be a field" in found and "e.g. timings_clock" in found, "a CSV column"


@pytest.mark.parametrize(("less", "coloured"), [(None, True), ("-F", False), ("-FR", True)])
def test_a_long_ticket_pages_through_less_with_its_colours_shown_not_as_codes(
        desk: Desk, tmp_path: Path, less: str | None, coloured: bool) -> None:
    """On a real terminal, a ticket longer than the screen goes to the pager. Where LESS is
    unset, less is told to show colours (-R); where LESS says otherwise, the colours are
    left out rather than shown as raw codes."""
    import os
    import subprocess
    import sys

    ticket = desk.new("Printer on 2F jams", "-m", "\n".join(f"Line {n} of what happened." for n in range(40)))
    pager = tmp_path / "less"  # click knows less by its name
    seen = tmp_path / "seen.txt"
    pager.write_text(f'#!/bin/sh\nprintf "LESS=%s\\n" "$LESS" > {seen}\ncat >> {seen}\n')
    pager.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("LESS", "NO_COLOR", "GITDESK_NO_PAGER")}
    env.update({"PAGER": str(pager), "COLUMNS": "80", "LINES": "20", **({"LESS": less} if less else {})})
    main, other = os.openpty()  # the command's output is a terminal, as a person's is
    subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "show", ticket], stdin=other,
                   stdout=other, stderr=other, env=env, check=True, timeout=60)
    os.close(other)
    os.close(main)
    shown = seen.read_text()
    assert shown.startswith(f"LESS={less or '-R'}\n") and "Line 39 of what happened." in shown
    assert ("\x1b[" in shown) == coloured


def test_a_list_taller_than_the_terminal_pages_too(desk: Desk, tmp_path: Path) -> None:
    """15,000 tickets scrolled past as 30,000 lines: a listing pages as show does."""
    import os
    import subprocess
    import sys

    for number in range(25):
        desk.new(f"Printer {number} jams", "-q", "it-helpdesk")
    pager = tmp_path / "less"
    seen = tmp_path / "seen.txt"
    pager.write_text(f'#!/bin/sh\ncat >> {seen}\n')
    pager.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("LESS", "NO_COLOR", "GITDESK_NO_PAGER")}
    env.update({"PAGER": str(pager), "COLUMNS": "100", "LINES": "20"})
    main, other = os.openpty()
    subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "list"], stdin=other,
                   stdout=other, stderr=other, env=env, check=True, timeout=60)
    os.close(other)
    os.close(main)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", seen.read_text())
    assert shown.startswith("ID") and shown.count("Printer ") == 25
    seen.unlink()
    main, other = os.openpty()  # a report, drawn by its own renderer, pages the same way
    subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "report", "workload"], stdin=other,
                   stdout=other, stderr=other, env=env, check=True, timeout=60)
    os.close(other)
    os.close(main)
    assert "Definitions" in seen.read_text()


def test_search_snippets_fit_the_terminal_and_keep_their_match(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    words = " ".join(f"word{n}" for n in range(40))
    desk.new("Paper jam", "-m", f"{words} the printer on floor two {words}")
    desk.run("resolve", desk.new("Screen flickers", "-m", "x"), "--note", f"{words} printer {words}")
    desk.run("kb", "build")
    on_terminal(monkeypatch, 80)
    for command in (["search", "printer"], ["kb", "search", "printer"]):
        shown = desk.run(*command).output
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.splitlines()]
        assert lines and max(map(len, lines)) <= 80, (command, shown)
        assert "**printer**" in shown, command
    monkeypatch.delenv("NO_COLOR", raising=False)  # in colour, the marks take no room
    monkeypatch.setenv("TERM", "xterm-256color")  # a dumb terminal gets no colour
    for command in (["search", "printer"], ["kb", "search", "printer"]):
        shown = desk.run(*command).output
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.splitlines()]
        assert lines and max(map(len, lines)) <= 80, (command, shown)
        assert " printer " in shown, command  # click leaves the colour out of a captured output


def test_a_cut_through_a_match_closes_its_mark() -> None:
    from gitdesk.render import views

    assert views._cut_marked("ab\\x02cdef\\x03gh", 5) == "ab\\x02cd\\x03…"
    assert views._cut_marked("ab\\x02cd\\x03", 4) == "ab\\x02cd\\x03", "the marks take no room"
    assert views._cut_marked("日本語のプリンター", 7) == "日本語…"


def test_the_desks_log_shows_short_ids_on_a_terminal_whole_ones_when_piped(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    first = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    second = desk.new("Laptop battery drains", "-q", "it-helpdesk")
    desk.run("resolve", first, "--note", "Cleared the tray.")
    assert first in desk.run("log").output, "piped: whole IDs, for scripts"
    on_terminal(monkeypatch, 80)
    shown = desk.run("log").output
    rows = shown.splitlines()[1:]
    assert first not in shown and any(f" {first[:12]}" in row for row in rows)
    assert max(map(len, shown.splitlines())) <= 80
    assert any("status: open -> resolved" in row for row in rows), "what happened has room"
    assert desk.run("show", next(row.split()[4] for row in rows if "Laptop" in row or second[:12] in row)).exit_code == 0
    third = desk.new("Monitor flickers")  # after the short IDs above were used: it may share their start
    desk.run("assign", third, "alice")
    lines = desk.run("log", third).output.splitlines()
    assert lines[-3].endswith("  status: new -> open"), "one change a line: none is cut"
    assert [line.strip() for line in lines[-2:]] == ["assignee: - -> alice", "queue: - -> it-helpdesk"]
    for columns in (60, 44):  # what happened under each commit, then as blocks: no blank lines between
        on_terminal(monkeypatch, columns)
        lines = desk.run("log").output.splitlines()
        assert "" not in lines and max(map(len, lines)) <= columns
        assert any(line.strip().endswith("queue: - -> it-helpdesk") for line in lines)


def test_what_an_action_did_fits_the_terminal_and_stays_one_line_when_piped(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "Outlook keeps asking for my password since the update this morning on every laptop"
    ticket = desk.new(title, "-q", "it-helpdesk", "-r", "bob@example.com")
    piped = desk.run("assign", ticket, "alice", "--format", "table").output.splitlines()
    assert len(piped) == 1 and "(assignee: - -> alice)" in piped[0], "piped: one line to grep"
    on_terminal(monkeypatch, 80)
    done = desk.run("resolve", ticket, "--note", "Removed stale credentials in Credential Manager.").output
    lines = done.splitlines()
    assert lines[0].startswith(f"{ticket}: resolve [") and max(map(len, lines)) <= 80
    assert "  status: open -> resolved" in lines
    shown = desk.run("show", ticket).output.splitlines()
    assert shown[0].startswith(f"{ticket}  Outlook keeps") and max(map(len, shown[:3])) <= 80
    assert " ".join(line.strip() for line in shown[:2]).endswith("on every laptop"), "the title wraps, whole"


def test_a_summary_on_a_terminal_wraps_and_piped_stays_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from gitdesk.render import output

    said = ("Mail send on main, coordinated through origin/main: 12 sent, 1 withdrawn, 2 retry "
            "[51f5323, 9ab01cd]")
    output.note(said)
    output.info(said)  # a message on stdout, as kb build's
    assert capsys.readouterr() == (said + "\n", said + "\n"), "piped: one line to grep"
    on_terminal(monkeypatch, 60)
    monkeypatch.setattr(output, "notes_on_terminal", lambda: True)
    output.note(said)
    output.info(said)
    shown = capsys.readouterr()
    for lines in (shown.err.splitlines(), shown.out.splitlines()):
        assert len(lines) == 2 and max(map(len, lines)) <= 60 and lines[1].startswith("  ")
        assert " ".join(line.strip() for line in lines) == said, "nothing lost, no ID cut"
    path = "  0.75  kb/billing/august-wholesale-invoice-is-missing-our-vat-number-gd-01m0z66wq03ymqzyep.md"
    output.info(path, whole=True)  # paths to copy stay whole
    assert capsys.readouterr().out == path + "\n"


@pytest.mark.parametrize("columns", [80, 40, 24])
def test_a_wide_character_title_wraps_by_the_columns_it_takes(desk: Desk, monkeypatch: pytest.MonkeyPatch,
                                                              columns: int) -> None:
    from gitdesk.render.output import cells

    title = "プリンターが動かない問題 二階の会議室のプリンターが朝から紙詰まりで全く印刷できません"
    ticket = desk.new(title, "-q", "it-helpdesk")
    on_terminal(monkeypatch, columns)
    shown = desk.run("show", ticket).output.splitlines()
    head = shown[:shown.index("")]
    assert max(cells(line) for line in head) <= columns and ticket in head[0]
    assert "".join(line.strip() for line in head).replace(ticket, "").replace(" ", "") == title.replace(" ", "")
    done = desk.run("set", ticket, "title", title + " 至急").output.splitlines()
    assert max(cells(line) for line in done[1:]) <= columns, "under 'ID: set [commit]', which is never cut"


def test_check_findings_and_warnings_fit_an_80_column_terminal_and_stay_one_line_piped(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.render import output

    ticket = desk.new("Printer", "-q", "it-helpdesk")
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("status: open", "status: in-progress"))
    desk.git("add", "-A")
    piped = desk.run("check", ok=False).stdout.splitlines()
    assert len(piped) == 1 and len(piped[0]) > 80, "piped: one finding, one line"
    on_terminal(monkeypatch, 80)
    monkeypatch.setattr(output, "notes_on_terminal", lambda: True)
    shown = desk.run("check", ok=False).stdout.splitlines()
    assert max(map(len, shown)) <= 80 and shown[1].startswith("  ")
    assert " ".join(line.strip() for line in shown) == piped[0]
    warned = desk.run("list").stderr.splitlines()
    assert warned and max(map(len, warned)) <= 80, "a skipped ticket's warning wraps too"


def test_a_detail_under_its_row_wraps_so_the_id_at_its_end_is_whole() -> None:
    from gitdesk.render.output import Column, table_lines

    columns = [Column("FILE", lambda r: r), Column("OUTCOME", lambda r: r), Column("TICKET", lambda r: r),
               Column("DETAIL", lambda r: r, fit="shrink")]
    detail = "Printer in room 2 prints blank pages (follow-up to closed GD-01M91QKEX8714FZZZZ)"
    lines = table_lines(columns, ["FILE", "OUTCOME", "TICKET", "DETAIL"],
                        [("04-frank-followup.eml", "new", "GD-01M91QM6ER29DDNT62", detail)], 60)
    assert max(map(len, lines)) <= 60 and "GD-01M91QKEX8714FZZZZ)" in "\n".join(lines)
    assert " ".join(line.strip() for line in lines[2:]) == detail


def test_a_reason_too_long_to_sit_beside_its_row_goes_whole_under_it_or_wraps_as_prose() -> None:
    from gitdesk.render.output import Column, table_lines

    columns = [Column("RULE", str), Column("TICKET", str), Column("OUTCOME", str), Column("WHAT", str, fit="wrap")]
    reason = "not sent: resolve-unanswered finishes the ticket in this run"
    row = [["remind-pending", "GD-01MAC447W0FGDQ53RM", "skipped", reason]]
    lines = table_lines(columns, ["RULE", "TICKET", "OUTCOME", "WHAT"], row, 60)
    assert lines[1].split() == ["remind-pending", "GD-01MAC447W0FGDQ53RM", "skipped"]
    assert " ".join(line.strip() for line in lines[2:]) == reason and max(map(len, lines)) <= 60, \
        "it was cut to 'not sent: resolve-unanswere…'"
    narrow = table_lines(columns, ["RULE", "TICKET", "OUTCOME", "WHAT"], row, 30)  # a row as prose
    assert max(map(len, narrow)) <= 30 and reason.split()[-1] in narrow[-1], narrow


def test_rows_too_wide_for_the_terminal_under_one_heading_show_it_once() -> None:
    """The feedback report's comments at 80 columns repeated "(no category)" above every one."""
    from gitdesk.render.output import Column, table_lines

    columns = [Column("CATEGORY", str), Column("SCORE", str), Column("COMMENT", str), Column("TICKET", str)]
    rows = [["(no category)", "4", "quick and friendly, thanks a lot " * 2, "GD-01M844DZG09Y5DBHQ8"],
            ["(no category)", "2", "slow", "GD-01M844DZG09Y5DBHQ9"], ["printers", "5", "great", "GD-01M844DZG09Y5DBHQA"]]
    lines = table_lines(columns, ["CATEGORY", "SCORE", "COMMENT", "TICKET"], rows, 60)
    assert [line for line in lines if not line.startswith(" ")] == ["(no category)", "printers"], lines
    assert sum("GD-01M844DZG09Y5DBHQ" in line for line in lines) == 3 and max(map(len, lines)) <= 60
    assert [line.split()[:3] for line in lines if line.startswith("  - ")] == [["-", "SCORE", "4"], ["-", "SCORE", "2"]], \
        "each row under a shared heading starts with a mark"
    assert lines[-1] == "  SCORE 5 · COMMENT great · TICKET GD-01M844DZG09Y5DBHQA", "a row alone needs none"
    log = [["2026-12-01 10:00", "e9d7129", "created (new)"], ["2026-12-01 10:00", "01189a5", "status: new -> open"],
           ["", "", "assignee: - -> alice"], ["2026-12-01 10:00", "57fdb10", "queue: - -> helpdesk"]]
    lines = table_lines([Column("WHEN", str), Column("COMMIT", str), Column("WHAT", str)], ["WHEN", "COMMIT", "WHAT"],
                        log, 30)
    assert lines.count("2026-12-01 10:00") == 1, "a continuation keeps the heading of its row's run"
    assert [line.lstrip()[:1] for line in lines[1:]] == ["-", "W", "-", "W", "W", "-", "W"], lines
    assert "    WHAT assignee: - -> alice" in lines, "a continuation sits under its marked row"


def test_a_duration_shown_is_rounded_to_its_last_unit_not_cut() -> None:
    from gitdesk.durations import format_duration

    assert format_duration(2 * 86400 - 1800) == "2d", "1d23h30m is nearer two days than '1d23h'"
    assert format_duration(86400 + 4 * 3600 + 40 * 60) == "1d5h"
    assert format_duration(3570) == "1h" and format_duration(89) == "1m" and format_duration(59) == "59s"
    assert format_duration(86400 + 4 * 3600 + 40 * 60, exact=True) == "1d4h40m", "files keep every unit"
    assert format_duration(8 * 3600 * 3 - 600, day=8 * 3600) == "3d", "a working day rounds as one"


def test_show_marks_the_resolution_of_a_reopened_ticket_as_the_one_before(desk: Desk) -> None:
    ticket = desk.new("VPN drops", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "Reinstalled the client.")
    assert "\nResolution\nReinstalled the client." in desk.run("show", ticket).stdout
    desk.run("reopen", ticket, "-m", "It drops again.")
    assert "\nResolution (before it was reopened)\nReinstalled the client." in desk.run("show", ticket).stdout
    from gitdesk import markup
    from gitdesk.desk import Desk as Library
    from gitdesk.web import pages

    page = pages.ticket_page(Library.open(desk.path, explicit=True), ticket, markup.renderer())
    assert page.resolution_heading == "Resolution (before it was reopened)", "the web desk says so too"


def test_on_a_working_day_of_half_hours_the_hours_round_within_the_day() -> None:
    from gitdesk.durations import format_duration

    day = 30600  # 8.5 working hours
    assert format_duration(day + 3 * 3600 + 50 * 60, day=day) == "1d4h", "not the 1d3h of whole hours elapsed"
    assert format_duration(day + 40 * 60, day=day) == "1d1h"
    assert format_duration(8 * 3600 + 7 * 3600 + 40 * 60, day=8 * 3600) == "2d", "7h40m of an 8h day carries a day"


def test_what_went_wrong_with_an_imported_row_or_a_logged_change_is_never_cut(desk: Desk, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("Subject,E-mail,Owner,Prio\nThird printer,old3@example.com,zed,superhigh\n")
    on_terminal(monkeypatch, 80)
    out = desk.run("import", "csv", str(rows), "--map", "assignee=Owner", "--map", "priority=Prio").stdout
    said = " ".join(out.split())
    assert "assignee 'zed' is not one of the desk's people: unassigned" in said
    assert "priority 'superhigh' is not one of this desk's" in said and "…" not in out
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("escalate", ticket, "--to", "it-infra", "--reason", "Needs a new fuser unit, which only infra may order")
    logged = " ".join(desk.run("log", ticket).stdout.split())
    assert "only infra may order" in logged, "an escalation's reason is read whole at 80 columns"


def test_a_report_too_wide_for_its_chart_shows_the_chart_on_lines_of_its_own(wide: Desk,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    on_terminal(monkeypatch, 80)
    out = wide.run("report", "workload", "--period", "week").stdout
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any("█" in line for line in lines), "reports show charts on an 80-column terminal too"
    charted = [line for line in lines if "█" in line]
    assert all(line.rstrip().split()[-1].isdigit() for line in charted), "each bar with its figure"
    whole = wide.run("report", "workload").stdout.splitlines()
    assert not [line for line in whole if "█" in line and "…" in line], "a period's name is not cut beside its bar"


def test_a_dumb_terminal_gets_no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.render import output

    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert output.colour()
    monkeypatch.setenv("TERM", "dumb")
    assert not output.colour(), "Emacs shells and dumb terminals show escape codes as text"


def test_a_csv_cell_writes_a_truth_value_as_json_does() -> None:
    from gitdesk.render.output import csv_cell

    assert (csv_cell(False), csv_cell(True), csv_cell(0)) == ("false", "true", 0)


def test_new_on_a_terminal_with_no_editor_to_open_says_the_ticket_has_no_description(desk: Desk) -> None:
    import os
    import subprocess
    import sys

    main, other = os.openpty()  # a person at a terminal, whose input comes from elsewhere
    done = subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "new", "Printer jams"],
                          stdin=subprocess.DEVNULL, stdout=other, stderr=subprocess.PIPE, text=True, timeout=60,
                          env={**os.environ, "GITDESK_NO_PAGER": "1"})
    os.close(other)
    os.close(main)
    assert done.returncode == 0 and "note: no description given (-m TEXT or --body-file FILE adds one" in done.stderr
    assert desk.run("new", "Scanner jams").stderr == "", "a script is told nothing"


def test_a_rule_s_note_heading_fits_80_columns(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """"INTERNAL NOTE rule first-response-missed" says it is internal: where even "(internal)"
    would push the heading past the terminal's edge, it is left off; a time entry keeps it."""
    from gitdesk.render import output

    ticket = desk.new("Mail server down")
    desk.run("time", ticket, "30m")
    path = desk.file(ticket)
    path.write_text(path.read_text() + "\n### 2026-12-08T09:05:00Z gitdesk — note rule first-response-missed\n\n"
                    "Rule first-response-missed (first response target missed): told alice.\n")
    desk.git("commit", "-qam", "a rule's note")
    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    lines = desk.run("show", ticket).stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert any(line.endswith("INTERNAL NOTE rule first-response-missed") for line in lines), lines
    assert any("TIME LOGGED 30m" in line and "(internal" in line for line in lines), lines


def test_a_csv_has_the_same_header_whatever_the_tickets_hold(desk: Desk) -> None:
    """A script reads column 12 as the path: one ticket with a cc or a custom field must not
    move it, and an empty result still has its header."""
    from gitdesk.timings import KEYS

    header = desk.run("list", "-l", "nothing-has-this", "--format", "csv").stdout.splitlines()
    assert header[0].startswith("id,status,title,assignee,requester,queue,created,priority,category,asset,labels,"
                                "duplicate_of,related,path,timings.") and len(header) == 1
    first = desk.new("Printer jams", "-q", "it-helpdesk")
    assert list(json.loads(desk.run("list", "--format", "json").stdout)["tickets"][0]["timings"]) == list(KEYS)
    before = desk.run("list", "--format", "csv").stdout.splitlines()[0]
    assert before == header[0], "the same header with rows as without"
    desk.new("VPN drops", "-q", "it-helpdesk")
    desk.run("set", first, "cost_centre", "4100")  # a custom field on one ticket
    after = desk.run("list", "--format", "csv").stdout.splitlines()[0].split(",")
    assert after[:len(before.split(","))] == before.split(",") and after[-1] == "cost_centre", (before, after)
    assert desk.run("search", "zzzqqq", "--format", "csv").stdout.startswith("id,status,title,score,")
    assert desk.run("log", "--since", "2100-01-01", "--format", "csv").stdout.startswith("commit,time,who,")


def test_show_puts_an_address_too_long_for_its_line_on_a_line_of_its_own(desk: Desk,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    address = "first.middle.last.of.the.purchasing.team@subsidiary.example-company.co.uk"  # 72 characters
    ticket = desk.new("Invoice copy", "-q", "it-helpdesk", "-r", address)
    on_terminal(monkeypatch, 80)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", desk.run("show", ticket).stdout).splitlines()
    at = lines.index("requester:")
    assert lines[at + 1].strip() == address and len(lines[at + 1]) <= 80
