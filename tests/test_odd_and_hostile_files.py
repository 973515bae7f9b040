"""Hand-written and hostile ticket files: nothing is lost, nothing leaks, no crash.

Each test is a case found by reviewing the code with fresh eyes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Desk


def handwritten(desk: Desk, front: str, body: str = "Body.\n", *, name: str = "GD-01M850FXY9SQB1AKQ7",
                raw: bytes | None = None) -> str:
    """Commit a hand-written ticket and return its ID."""
    path = desk.path / "tickets" / f"{name}.md"
    text = (f"---\nid: {name}\ntitle: Hand written\nstatus: open\nqueue: it-helpdesk\n"
            f"requester: bob@example.com\ncreated: 2026-11-20T09:14:00Z\n{front}---\n{body}")
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    desk.git("add", "-A")
    desk.git("commit", "-qm", "hand written")
    return name


def test_escape_sequences_never_reach_the_terminal(desk: Desk) -> None:
    ticket = handwritten(desk, 'asset: "evil\\e]0;PWNED\\a"\n',
                         "Click \x1b]8;;http://evil.example/\x1b\\here\x1b]8;;\x1b\\ \x1b[2J\u202eop\n")
    desk.path.joinpath("tickets", f"{ticket}.md").write_text(
        desk.path.joinpath("tickets", f"{ticket}.md").read_text().replace("title: Hand written",
                                                                          'title: "Evil \\e[2J\\e]0;PWNED\\a"'))
    desk.git("commit", "-qam", "evil title")
    for args in (["show", ticket], ["list"], ["list", "--format", "csv"]):
        out = desk.run(*args).stdout
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, args
    assert "\\x1b[2J" in desk.run("show", ticket).stdout
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["title"] == "Evil \x1b[2J\x1b]0;PWNED\x07"
    # check refuses it, so the commands do (a reply mailed the junk as its subject); set puts it right
    found = desk.run("check", ok=False).stdout
    assert f"tickets/{ticket}.md:3: title holds a line break or a control or invisible character" in found
    assert "asset holds a line break" in found
    head = desk.head()
    assert "title holds a line break" in desk.fails("reply", ticket, "-m", "Hello") and desk.head() == head
    desk.run("set", ticket, "title", "Evil \x1b[2J title")
    desk.run("set", ticket, "asset", "laptop-7")
    assert desk.run("check").exit_code == 0 and desk.run("reply", ticket, "-m", "Hello").exit_code == 0
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["title"] == "Evil [2J title"


def test_the_fast_path_for_plain_text_skips_nothing_unsafe() -> None:
    from gitdesk import text as terminal

    # visible() and one_line() return printable text untouched; that is only safe if every
    # character they rewrite is unprintable, or one of the few they look for besides (the blank
    # Hangul fillers). Checked over all of Unicode, not a sample.
    rewritten = [c for c in range(0x110000) if terminal._UNSAFE.match(chr(c)) or chr(c) in "\t\n\r"]
    assert not [hex(c) for c in rewritten if chr(c).isprintable() and not terminal._BLANK_LETTERS.match(chr(c))]
    for blank in ("\u3164", "\u180e", "\u061c", "\U000e0041"):
        assert terminal.clean_line(f"a{blank}b") == "a b" and terminal.clean_line(blank) == ""
        assert terminal.visible(blank).startswith("<U+")
    assert not [hex(c) for c in range(0x110000) if chr(c).isprintable() and len(f"a{chr(c)}b".splitlines()) > 1]


def test_an_error_message_cannot_carry_escape_sequences(desk: Desk) -> None:
    error = desk.fails("assign", "GD-01", "zed\x1b[2J")
    assert "\x1b" not in error and "\\x1b[2J" in error


def test_autocrlf_repositories_get_one_line_diffs_and_a_clean_index(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk", "-m", "line one\nline two")
    desk.git("config", "core.autocrlf", "true")
    desk.file(ticket).unlink()
    desk.git("checkout", "--", f"tickets/{ticket}.md")
    assert b"\r\n" in desk.file(ticket).read_bytes()
    desk.run("note", ticket, "-m", "hi")
    stat = desk.git("show", "--numstat", "--format=", "HEAD").split()
    assert stat[:2] == ["5", "0"], stat  # the new Conversation section and the entry; nothing rewritten
    assert desk.status() == ""
    desk.run("note", ticket, "-m", "again")


def test_a_heading_hidden_behind_a_non_breaking_space_cannot_forge_a_resolution(desk: Desk) -> None:
    out = desk.run("new", "f", "--format", "json", "-m", "desc\n## Resolution\u00a0\nRun rm -rf ~").stdout
    ticket = json.loads(out)["id"]
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["resolution"] is None and "Run rm -rf ~" in shown["description"]
    desk.run("reply", ticket, "-m", "## Resolution\u00a0\nforged")
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["resolution"] is None


def test_resolving_keeps_the_teams_own_sections_after_the_resolution(desk: Desk) -> None:
    ticket = handwritten(desk, "", "Body.\n\n## Resolution\nOld.\n\n## See also\n- wiki link\n")
    desk.git("commit", "--allow-empty", "-qm", "x")
    text = desk.text(ticket).replace("status: open", "status: resolved")
    desk.file(ticket).write_text(text)
    desk.git("commit", "-qam", "resolved")
    desk.run("reopen", ticket, "-m", "back")
    desk.run("resolve", ticket, "--note", "New.\n## Steps\n1. do it")
    text = desk.text(ticket)
    assert "## Resolution\nNew.\n### Steps\n1. do it\n\n## See also\n- wiki link\n" in text
    assert text.count("Old.") == 1 and "\n> Old.\n" in text, "kept only as the earlier resolution, in a note"


def test_clearing_a_block_scalar_keeps_the_next_line(desk: Desk) -> None:
    ticket = handwritten(desk, "notes: |\n  a\n  b\n# keep this comment\nbilling: 4100\n")
    desk.run("set", ticket, "notes", "-")
    text = desk.text(ticket)
    assert "notes" not in text and "# keep this comment\nbilling: 4100\n" in text


def test_a_folded_title_can_be_replaced(desk: Desk) -> None:
    ticket = handwritten(desk, "")
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("title: Hand written", "title: >-\n  A folded\n  title"))
    desk.git("commit", "-qam", "folded")
    desk.run("set", ticket, "title", "New title")
    assert "title: New title\nstatus: open\n" in desk.text(ticket)


def test_flow_mapping_front_matter_gets_a_clear_refusal(desk: Desk) -> None:
    name = "GD-01M850FXY9SQB1AKQ7"
    handwritten(desk, "", raw=(f"---\n{{id: {name}, title: t, status: open, queue: it-helpdesk, "
                               "requester: bob@example.com, created: 2026-11-20T09:14:00Z}\n---\nBody\n").encode())
    error = desk.fails("take", name)
    assert "written as one {…} mapping" in error and f"tickets/{name}.md" in error


def test_an_unclosed_code_fence_is_refused_with_its_line_not_crashed_on(desk: Desk) -> None:
    ticket = handwritten(desk, "", "Error:\n```\nTraceback (most recent call last):\n")
    head = desk.head()
    for args in (["reply", ticket, "-m", "hi"], ["resolve", ticket, "--note", "fixed"]):
        error = desk.fails(*args)
        assert error == (f"gitdesk: error: tickets/{ticket}.md:10: the ticket has a code block (```) that is "
                         "never closed (close it with gitdesk edit, then try again)")
    assert desk.head() == head
    assert any("never closed" in line for line in desk.run("check", ok=False).stdout.splitlines())


@pytest.mark.parametrize("front", [
    "x: " + "[" * 15000 + "]" * 15000 + "\n",
    "due: 2026-02-30\n",
])
def test_values_python_cannot_hold_are_one_line_problems(desk: Desk, front: str) -> None:
    good = desk.new("good")
    ticket = handwritten(desk, front)
    result = desk.run("list", "--all", "--format", "csv")
    assert good in result.stdout and ticket not in result.stdout
    assert f"tickets/{ticket}.md" in result.stderr and "skipped" in result.stderr
    assert desk.run("show", ticket, ok=False).exit_code == 1


@pytest.mark.parametrize("created", ["2026-11-20T09:14:00+99:00", "0001-01-01T00:00:00Z"])
def test_impossible_creation_times_are_reported(desk: Desk, created: str) -> None:
    ticket = handwritten(desk, "")
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("created: 2026-11-20T09:14:00Z", f"created: {created}"))
    desk.git("commit", "-qam", "odd time")
    assert desk.run("show", ticket, ok=False).exit_code == 1
    assert "skipped" in desk.run("list", "--all").stderr


def test_bom_and_crlf_survive_every_action(desk: Desk) -> None:
    name = "GD-01M850FXY9SQB1AKQ7"
    text = (f"\ufeff---\nid: {name}\ntitle: t\nstatus: open\nqueue: it-helpdesk\n"
            "requester: bob@example.com\ncreated: 2026-11-20T09:14:00Z\npriority: normal\n---\nBody\n")
    handwritten(desk, "", raw=text.replace("\n", "\r\n").encode())
    desk.run("set", name, "priority", "high")
    data = desk.file(name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n") and b"priority: high\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")
    stat = desk.git("show", "--numstat", "--format=", "HEAD").split()
    assert stat[:2] == ["1", "1"]
    desk.run("resolve", name, "--note", "Replaced the roller.")
    desk.run("reopen", name, "-m", "Jams again")
    desk.run("resolve", name, "--note", "Replaced the tray.")  # a new resolution and an entry at once
    data = desk.file(name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n") and data.count(b"\n") == data.count(b"\r\n")


def test_a_stray_crlf_does_not_rewrite_the_whole_file(desk: Desk) -> None:
    ticket = handwritten(desk, "", "Body line one\r\nBody line two\n")
    desk.run("note", ticket, "-m", "hi")
    stat = desk.git("show", "--numstat", "--format=", "HEAD").split()
    assert stat[1] == "0", "no line removed"


def test_edit_works_on_a_file_with_a_bom(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_editor import fake_editor

    name = "GD-01M850FXY9SQB1AKQ7"
    text = (f"\ufeff---\nid: {name}\ntitle: t\nstatus: open\nqueue: it-helpdesk\n"
            "requester: bob@example.com\ncreated: 2026-11-20T09:14:00Z\npriority: normal\n---\nBody\n")
    handwritten(desk, "", raw=text.encode())
    fake_editor(tmp_path, monkeypatch, ("priority: normal", "priority: high"))
    desk.run("edit", name)
    assert "priority: high" in desk.text(name)


def test_templates_cannot_smuggle_unvalidated_fields(desk: Desk, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    def editor_that(appends: str) -> None:
        script = tmp_path / "editor.py"
        script.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\n"
                          f"t = t.replace('title:', 'title: x', 1).replace('assignee:\\n', '').replace('---\\n', "
                          f"'---\\n' + {appends!r}, 1)\nopen(p, 'w').write(t)\n")
        monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")

    editor_that("assignee: zed\n")
    refused = desk.run("new", "--edit", ok=False)
    assert refused.exit_code == 1 and "unknown person 'zed'" in refused.stderr and "what you wrote is kept" in refused.stderr
    editor_that("duplicate_of: GD-nope\n")
    refused = desk.run("new", "--edit", ok=False)
    assert refused.exit_code == 1 and "duplicate_of is one of gitdesk's own fields" in refused.stderr


def test_odd_values_in_custom_fields_do_not_crash(desk: Desk) -> None:
    one = desk.new("one")
    two = desk.new("two")
    desk.run("set", one, "cost", "5")
    desk.run("set", two, "cost", "abc")
    assert desk.run("list", "--sort", "cost", "--format", "csv").exit_code == 0
    desk.run("set", one, "when", "2026-11-20 09:14:00")
    assert "when: 2026-11-20T09:14:00Z" in desk.text(one)
    desk.run("set", one, "code", "017")
    assert "code: '017'" in desk.text(one) or 'code: "017"' in desk.text(one)
    huge = "1" + "0" * 400 + ".5"  # too long for a float: it was stored as inf
    desk.run("set", one, "budget", huge)
    assert f'budget: "{huge}"' in desk.text(one)
    assert "not a field name: 'yes'" in desk.fails("set", one, "yes", "1")
    assert "duration is longer than a year" in desk.fails("time", one, "99999999999w")
    assert "at least a second" in desk.fails("time", one, "0.001s")


def test_conversation_text_outside_entries_is_shown_and_odd_headings_are_flagged(desk: Desk) -> None:
    ticket = handwritten(desk, "", "Body.\n\n## Conversation\n\nCalled Bob, he will send a photo.\n\n"
                                   "### 2026-11-20 09:40 alice - question\nWhich floor?\n")
    shown = desk.run("show", ticket).stdout
    assert "Called Bob, he will send a photo." in shown and "Which floor?" in shown
    lines = desk.run("check", ok=False).stdout.splitlines()
    assert any("looks like a conversation entry heading but is not one" in line for line in lines)


def test_numbered_headings_and_dated_headings_in_a_reply_never_make_check_refuse_the_ticket(desk: Desk) -> None:
    # What gitdesk writes, check accepts: a refused reply would stop sync pushing anything.
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    steps = ("Try this:\n\n### 1. Restart\n\n### 2026-12-01T09:00:00Z client (error)\n\n### 2026-12-01 log\n\n"
             "## 2026-11-30 before")
    desk.run("reply", ticket, "-m", steps)
    desk.run("resolve", ticket, "-m", steps)
    assert desk.run("check").exit_code == 0
    shown = desk.run("show", ticket).stdout
    assert shown.count("### 1. Restart") == 2 and shown.count("2026-12-01T09:00:00Z client (error)") == 2
    assert shown.count("\n### 2026-12-01 log") == 2 and "\\#" not in shown, "shown as written, not as escaped"


def test_an_explicit_assignee_outside_the_queue_is_refused(desk: Desk) -> None:
    assert desk.fails("new", "x", "--queue", "facilities", "--assignee", "bob") == \
        "gitdesk: error: bob is not a member of queue facilities (members: fred, gina)"


def test_duplicate_keys_are_reported_not_silently_resolved(desk: Desk) -> None:
    ticket = handwritten(desk, "status: closed\n")
    result = desk.run("list", "--all", "--format", "csv")
    assert ticket not in result.stdout and "appears twice" in result.stderr


def test_misnamed_ticket_files_are_reported_by_list(desk: Desk) -> None:
    (desk.path / "tickets" / "GD-1.md").write_text("---\nid: GD-1\n---\n")
    assert "tickets/GD-1.md: is not named like a ticket" in desk.run("list").stderr


def test_a_ticket_moved_into_a_folder_of_tickets_is_reported_not_silently_lost(desk: Desk) -> None:
    """Archived by hand into tickets/2026/, it vanished from listings, reports, the export
    (a backup that looked complete) and the knowledge base, with exit 0."""
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "Replaced the roller.")
    desk.run("list", "--all")  # the index knows it
    (desk.path / "tickets" / "2026").mkdir()
    desk.git("mv", f"tickets/{ticket}.md", "tickets/2026/")
    desk.git("commit", "-q", "-m", "archive", "--no-verify")
    said = ("tickets/2026/: is a folder: only files directly in tickets/ are tickets, so none in it is listed "
            "(move the tickets in it back: git mv tickets/2026/ID.md tickets/; anything else out of tickets/)")
    assert said in desk.run("list", "--all").stderr
    exported = desk.run("export", "json", "-o", str(desk.path.parent / "backup.json"), ok=False)
    assert exported.exit_code == 1 and said in exported.output, "a backup that lacks a ticket must not look complete"
    built = desk.run("kb", "build", ok=False)
    assert built.exit_code == 1 and said in built.output, "its article is not removed"
    assert "tickets/2026/" in desk.run("check", ok=False).output
    desk.git("mv", f"tickets/2026/{ticket}.md", "tickets/")
    desk.git("commit", "-q", "-m", "back", "--no-verify")
    (desk.path / "tickets" / ".obsidian").mkdir()  # an editor's own folder is not a ticket's
    (desk.path / "tickets" / ".obsidian" / "app.json").write_text("{}")
    (desk.path / "tickets" / "empty").mkdir()
    (desk.path / "tickets" / "empty" / ".gitkeep").touch()  # nor one kept in Git by a hidden file
    assert desk.run("list", "--all").stderr == "" and ticket in desk.run("list", "--all").stdout
    for hidden in (".archive", "2025/.old"):  # a ticket moved into a hidden folder is reported all the same
        (desk.path / "tickets" / hidden).mkdir(parents=True)
        desk.git("mv", f"tickets/{ticket}.md", f"tickets/{hidden}/")
        desk.git("commit", "-q", "-m", "hidden", "--no-verify")
        folder = hidden.split("/")[0]
        assert f"tickets/{folder}/: is a folder" in desk.run("list", "--all").stderr, hidden
        assert desk.run("export", "json", "-o", str(desk.path.parent / "b.json"), ok=False).exit_code == 1
        desk.git("mv", f"tickets/{hidden}/{ticket}.md", "tickets/")
        desk.git("commit", "-q", "-m", "back", "--no-verify")


def test_label_dash_h_removes_the_label_h(desk: Desk) -> None:
    ticket = desk.new("x", "-l", "h")
    desk.run("label", ticket, "-h")
    assert "labels: []" in desk.text(ticket)


def test_escalate_with_an_empty_reason_names_the_right_flag(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert desk.fails("escalate", ticket, "--reason", "") == \
        "gitdesk: error: reason is empty (give the reason with --reason TEXT)"
    assert "cannot escalate a ticket to yourself" in desk.fails("escalate", ticket, "--to", "alice", "--reason", "x")


def test_git_errors_keep_their_detail(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    lock = desk.path / ".git" / "index.lock"
    lock.write_text("")
    try:
        error = desk.fails("note", ticket, "-m", "x")
    finally:
        lock.unlink()
    assert "index.lock" in error
    assert subprocess.run(["git", "status"], cwd=desk.path, capture_output=True).returncode == 0


@pytest.mark.parametrize(("line", "flagged"), [
    ("*.md working-tree-encoding=UTF-16LE", True),
    ("tickets/** filter=lfs diff=lfs merge=lfs -text", True),
    ("**/*.md merge=union", True),
    ("* eol=crlf", True),
    ("tickets/*.md merge=gitdesk", False),
    ("kb/** merge=gitdesk-kb linguist-generated", False),
    ("*.png -text", False),
])
def test_check_flags_gitattributes_that_would_change_how_tickets_are_checked_out_or_merged(
        desk: Desk, line: str, flagged: bool) -> None:
    attributes = desk.path / ".gitattributes"
    attributes.write_text(attributes.read_text() + line + "\n")
    desk.git("add", ".gitattributes")
    result = desk.run("check", "--staged", ok=not flagged)
    if flagged:
        assert f".gitattributes:{len(attributes.read_text().splitlines())}:" in result.stdout
        assert "would apply to the ticket files" in result.stdout and "leave tickets/ out" in result.stdout
    else:
        assert result.stdout == ""


def test_a_folder_named_like_a_feedback_file_is_passed_over(desk: Desk) -> None:
    """A hand-made commit with a folder feedback/…/notes.yml once stopped the feedback report
    (and mail intake and the weekly digest with it) with exit 3."""
    folder = desk.path / "feedback" / "2026-11" / "notes.yml"
    folder.mkdir(parents=True)
    (folder / "README").write_text("x\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "a folder", "--no-verify")
    assert json.loads(desk.run("report", "feedback", "--format", "json").stdout)["schema"]


@pytest.mark.parametrize("fenced", [False, True])
def test_a_second_conversation_section_is_refused_not_read_as_loose_text(desk: Desk, fenced: bool) -> None:
    """An entry under a second '## Conversation' heading was once kept as loose text after
    the resolution: in no conversation, in no log, and check passed it. Inside a code
    block, the same lines are only text."""
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    desk.run("reply", ticket, "-m", "Which tray?")
    second = "\n## Conversation\n\n### 2026-11-20T10:00:00Z alice — reply\nTry tray 2.\n"
    if fenced:
        second = "\n```\n" + second + "```\n"
    path = desk.file(ticket)
    path.write_text(path.read_text() + second)
    desk.git("add", "-A")
    checked = desk.run("check", ok=False)
    if fenced:
        assert checked.exit_code == 0
        return
    line = path.read_text().split("\n").index("## Conversation", path.read_text().split("\n").index(
        "## Conversation") + 1) + 1
    assert f"tickets/{ticket}.md:{line}: a second '## Conversation' section" in checked.stdout
    assert "a second '## Conversation' section" in desk.fails("show", ticket)


@pytest.mark.parametrize(("front", "found"), [
    ("labels: [vpn, a b]\n", "not a label: 'a b' (labels are single words"),
    ("labels: [-x]\n", "not a label: '-x'"),
    ("kb_title: [a, b]\n", "kb_title must be one line of text"),
    ('kb_title: "x\\n# evil"\n', "kb_title must be one line of text"),
])
def test_labels_and_an_article_title_check_refuses_are_refused_by_every_command(desk: Desk, front: str,
                                                                                found: str) -> None:
    ticket = handwritten(desk, front)
    assert found in desk.run("check", ok=False).stdout
    head = desk.head()
    assert found in desk.fails("note", ticket, "-m", "looking"), "the CLI refuses what check refuses"
    assert desk.head() == head


def test_an_asset_of_blank_letters_only_is_refused(desk: Desk) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    for blank in ("\u3164", "\u180e", "\U000e0041\U000e0042"):
        assert "asset is empty" in desk.fails("set", ticket, "asset", blank)


def test_a_nul_in_a_title_is_shown_not_cut_at(desk: Desk) -> None:
    ticket = handwritten(desk, "")
    path = desk.path / "tickets" / f"{ticket}.md"
    path.write_text(path.read_text().replace("title: Hand written", 'title: "Hand\\0written"'))
    desk.git("commit", "-qam", "a NUL")
    for args in (["list"], ["list", "--format", "csv"], ["show", ticket]):
        out = desk.run(*args).stdout
        assert "\x00" not in out and "written" in out, args


def test_a_ticket_file_renamed_by_hand_is_named_where_its_id_is_asked_for(desk: Desk) -> None:
    ticket_id = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.git("mv", f"tickets/{ticket_id}.md", "tickets/printer-ticket.md")
    desk.git("commit", "-qm", "a tidier name", "--no-verify")
    said = desk.fails("show", ticket_id[:10])
    assert f"tickets/printer-ticket.md holds {ticket_id} but is not named like a ticket" in said
    assert f"git mv tickets/printer-ticket.md tickets/{ticket_id}.md" in said
    assert "no ticket" in desk.fails("show", "GD-0000000000"), "another ID is simply not there"
    desk.git("mv", "tickets/printer-ticket.md", "tickets/Bob's  copy.md")
    desk.git("commit", "-qm", "another name", "--no-verify")
    hint = desk.fails("show", ticket_id).rsplit("(name it back: ", 1)[1].rstrip(")")
    subprocess.run(["sh", "-c", hint], cwd=desk.path, check=True)  # pasted as given, it works
    assert desk.file(ticket_id).exists()
