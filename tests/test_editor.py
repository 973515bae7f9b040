"""Editing in $EDITOR: validated before committing, never a broken file committed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import Desk


def fake_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *steps: tuple[str, str]) -> Path:
    """An $EDITOR that applies one (old, new) replacement per invocation."""
    plan = tmp_path / "editor-plan.json"
    plan.write_text(json.dumps([list(step) for step in steps]))
    script = tmp_path / "editor.py"
    script.write_text(
        "import json, sys\n"
        f"plan_path = {str(plan)!r}\n"
        "plan = json.load(open(plan_path))\n"
        "old, new = plan.pop(0)\n"
        "json.dump(plan, open(plan_path, 'w'))\n"
        "path = sys.argv[1]\n"
        "text = open(path, encoding='utf-8').read()\n"
        "assert old in text, (old, text)\n"
        "open(path, 'w', encoding='utf-8').write(text.replace(old, new, 1))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    return plan


def test_edit_commits_a_valid_change(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk", "-m", "Old description")
    fake_editor(tmp_path, monkeypatch, ("Old description", "Better description\n\nwith steps"))
    out = desk.run("edit", ticket).stdout
    assert "description edited" in out
    assert "Better description\n\nwith steps" in desk.text(ticket)
    assert "Gitdesk-Action: edit" in desk.last_message()
    fake_editor(tmp_path, monkeypatch, ("with steps", "with steps\n\n## Conversation\n\n"
                                                      "### 2026-11-20T10:00:00Z alice — reply\nOn it."))
    said = desk.run("edit", ticket)
    assert f"{ticket}: the reply written by hand is not mailed to the requester" in said.stderr


def test_edit_with_broken_yaml_can_be_fixed_in_a_second_round(desk: Desk, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    fake_editor(tmp_path, monkeypatch, ("priority: normal", "priority: [high"), ("priority: [high", "priority: high"))
    result = desk.run("edit", ticket, input="y\n")
    assert "front matter is not valid YAML" in result.stderr
    assert "priority: high\n" in desk.text(ticket)


def test_edit_aborted_after_an_error_changes_nothing(desk: Desk, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    before, head = desk.text(ticket), desk.head()
    fake_editor(tmp_path, monkeypatch, ("status: open", "status: closed"))
    result = desk.run("edit", ticket, input="n\n", ok=False)
    assert result.exit_code == 1
    assert f"tickets/{ticket}.md:3: cannot move from open to closed" in result.stderr
    assert f"tickets/{ticket}.md:3: a closed ticket needs a resolution note" in result.stderr
    assert result.stderr.strip().endswith("gitdesk: error: edit aborted; nothing was changed")
    assert desk.text(ticket) == before and desk.head() == head and desk.status() == ""


def test_edit_refuses_changing_the_id(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    fake_editor(tmp_path, monkeypatch, (f"id: {ticket}", "id: GD-01AAAAAAAAAAAAAAAA"))
    result = desk.run("edit", ticket, input="n\n", ok=False)
    assert f"id cannot change (put back id: {ticket})" in result.stderr


def test_edit_keeps_unknown_fields_and_comments(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    fake_editor(tmp_path, monkeypatch, ("priority: normal", "priority: high  # customer is a VIP\nsla_override: 2h"))
    desk.run("edit", ticket)
    desk.run("reply", ticket, "-m", "on it")
    text = desk.text(ticket)
    assert "priority: high  # customer is a VIP\nsla_override: 2h\n" in text


def test_new_opens_the_category_template(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = desk.path / ".gitdesk" / "templates"
    (templates / "hardware.md").write_text("---\nlabels: [hw]\npriority: high\n---\nAsset tag:\nWhat broke:\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "hardware template")
    fake_editor(tmp_path, monkeypatch, ("What broke:", "What broke: the fan is loud\ntitle-is-not-here"),
                )
    plan = tmp_path / "editor-plan.json"
    plan.write_text(json.dumps([["title:", "title: Loud fan"]]))
    # first the title, then the body, in one editor session: chain two replacements
    script = tmp_path / "editor.py"
    script.write_text(script.read_text().replace(
        "open(path, 'w', encoding='utf-8').write(text.replace(old, new, 1))",
        "text = text.replace(old, new, 1).replace('What broke:', 'What broke: the fan is loud')\n"
        "open(path, 'w', encoding='utf-8').write(text)"))
    out = json.loads(desk.run("new", "--edit", "-c", "hardware", "-q", "it-helpdesk", "--format", "json").stdout)
    ticket = out["id"]
    text = desk.text(ticket)
    assert "title: Loud fan\n" in text and "priority: high\n" in text and "labels: [hw]\n" in text
    assert "Asset tag:\nWhat broke: the fan is loud" in text


def test_what_was_written_in_the_editor_survives_a_mistyped_option(desk: Desk, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The options are checked once the editor is closed: a --queue typo must not cost the
    description typed meanwhile. Edit again fixes it; no keeps the text in a file."""
    head = desk.head()
    fake_editor(tmp_path, monkeypatch, ("What happened, and what did you expect?", "My Outlook asks every hour."),
                ("queue: it-hepldesk", "queue: it-helpdesk"))
    result = desk.run("new", "Outlook asks for my password", "--edit", "-q", "it-hepldesk", input="y\n")
    assert "unknown queue 'it-hepldesk'" in result.stderr and "Edit again?" in result.stderr
    (made,) = [path.stem for path in (desk.path / "tickets").glob("*.md")]
    assert "My Outlook asks every hour." in desk.text(made) and "queue: it-helpdesk" in desk.text(made)
    head = desk.head()
    fake_editor(tmp_path, monkeypatch, ("What happened, and what did you expect?", "It drops at home."))
    refused = desk.run("new", "VPN drops", "--edit", "-c", "mail", input="n\n", ok=False)
    assert refused.exit_code == 1 and desk.head() == head
    kept = refused.stderr.split("what you wrote is kept in ", 1)[1].split(")")[0].replace("\n", "").replace(" ", "")
    assert "It drops at home." in Path(kept).read_text() and Path(kept).parent.name == "gitdesk"
    # The editor fails the second time (vim's :cq): the first round's words are kept all the same.
    fake_editor(tmp_path, monkeypatch, ("What happened, and what did you expect?", "The fan is loud."),
                ("not in the text", "so the editor exits 1"))
    failed = desk.run("new", "Loud fan", "--edit", "-c", "mail", input="y\n", ok=False)
    kept = failed.stderr.split("what you wrote is kept in ", 1)[1].split("\ngitdesk")[0].replace("\n", "").strip()
    assert failed.exit_code == 1 and "The fan is loud." in Path(kept).read_text()


def test_an_asset_tag_typed_with_leading_zeros_is_asked_to_be_quoted_not_read_as_octal(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_editor(tmp_path, monkeypatch, ("asset:", "asset: 0042"), ("asset: 0042", "asset: '0042'"))
    result = desk.run("new", "Laptop slow", "--edit", "-q", "it-helpdesk", input="y\n")
    assert "asset must be text, not a number (quote it: asset: '0042')" in result.stderr, "YAML reads 0042 as 34"
    (made,) = [path.stem for path in (desk.path / "tickets").glob("*.md")]
    assert json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]["asset"] == "0042"


def test_new_in_the_editor_with_an_empty_title_cancels(desk: Desk, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    head = desk.head()
    fake_editor(tmp_path, monkeypatch, ("What happened", "Nothing happened"))
    out = desk.run("new", "--edit").stdout
    assert "Cancelled" in out and desk.head() == head


def test_edit_that_changes_the_requester_drops_the_previous_requesters_name(desk: Desk, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "bob@example.net")
    path = desk.file(ticket)
    path.write_text(desk.text(ticket).replace("requester: bob@example.net",
                                              "requester: bob@example.net\nrequester_name: Bob Meyer"))
    desk.git("commit", "-qam", "as intake writes it")
    fake_editor(tmp_path, monkeypatch, ("requester: bob@example.net", "requester: carol@example.net"))
    desk.run("edit", ticket)
    assert "requester: carol@example.net" in desk.text(ticket) and "Bob Meyer" not in desk.text(ticket)


def test_an_editor_that_cannot_start_is_one_line_with_the_fix(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    said = desk.fails("edit", ticket)
    assert said.startswith("gitdesk: error: could not open your editor:") and "set EDITOR" in said
    assert desk.status() == ""


def editor_while_a_colleague_acts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desk: Desk, meanwhile: list[str],
                                  old: str, new: str) -> None:
    """An $EDITOR open while another gitdesk command lands on the same ticket (a colleague's
    action pulled by sync, a mail round), then saving its one change."""
    script = tmp_path / "slow-editor.py"
    script.write_text(
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-m', 'gitdesk', '--desk', {str(desk.path)!r}, *{meanwhile!r}], check=True,"
        " capture_output=True)\n"
        "path = sys.argv[1]\n"
        "text = open(path, encoding='utf-8').read()\n"
        f"open(path, 'w', encoding='utf-8').write(text.replace({old!r}, {new!r}, 1))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")


def test_an_edit_is_merged_with_what_landed_while_it_was_open(desk: Desk, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    editor_while_a_colleague_acts(tmp_path, monkeypatch, desk, ["note", ticket, "-m", "Called the vendor"],
                                  "priority: normal", "priority: high")
    desk.run("edit", ticket)
    assert "priority: high\n" in desk.text(ticket) and "Called the vendor" in desk.text(ticket)
    assert desk.status() == ""
    # A colleague's reply merged in was mailed: the edit does not say it was written by hand.
    other = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "sam@customer.example")
    editor_while_a_colleague_acts(tmp_path, monkeypatch, desk, ["--as", "bob", "reply", other, "-m", "On it"],
                                  "priority: normal", "priority: high")
    said = desk.run("edit", other)
    assert "On it" in desk.text(other) and "not mailed" not in said.stderr


def test_an_edit_that_collides_with_a_change_made_meanwhile_is_kept_in_a_file(desk: Desk, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    editor_while_a_colleague_acts(tmp_path, monkeypatch, desk, ["set", ticket, "priority", "low"],
                                  "priority: normal", "priority: urgent")
    said = desk.run("edit", ticket, ok=False).stderr
    assert f"{ticket} changed while you were editing, in the same place as your edit (priority)" in said
    kept = Path(said.split("your text is kept in ", 1)[1].split(";", 1)[0])
    assert "priority: urgent" in kept.read_text() and "priority: low\n" in desk.text(ticket)


def test_a_file_to_attach_moved_away_while_the_editor_is_open_is_attached_as_given(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screenshot = tmp_path / "error.png"
    screenshot.write_bytes(b"\x89PNG the error")
    fake_editor(tmp_path, monkeypatch, ("What happened, and what did you expect?", "It fails, see the picture."))
    script = tmp_path / "editor.py"
    script.write_text(script.read_text() + f"import os; os.remove({str(screenshot)!r})\n")
    made = json.loads(desk.run("new", "Printer fails", "--edit", "-q", "it-helpdesk", "--attach", str(screenshot),
                               "--format", "json").stdout)["id"]
    assert (desk.path / "attachments" / made / "error.png").read_bytes() == b"\x89PNG the error"
    assert "It fails, see the picture." in desk.text(made)
    gone = desk.run("new", "Again", "-q", "it-helpdesk", "-m", "x", "--attach", str(screenshot), ok=False)
    assert gone.exit_code == 1 and gone.stderr.startswith("gitdesk: error: --attach: ") and "\n" not in gone.stderr[:-1]
    endless = desk.run("new", "Disk image", "-q", "it-helpdesk", "-m", "x", "--attach", "/dev/zero", ok=False)
    assert endless.exit_code == 1 and "larger than 100 MB" in endless.stderr, "never read whole, never exit 3"
