"""Every value in a ticket file is untrusted: a hand edit or a pull request can put anything
in a field, and nothing it says may reach outside the desk, leak an address, or make a link
that runs script."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Desk


def hand_edit(desk: Desk, ticket: str, old: str, new: str) -> None:
    """Change a ticket file as a person (or a pull request) would, and commit it past the hooks."""
    desk.file(ticket).write_text(desk.text(ticket).replace(old, new), encoding="utf-8")
    desk.git("commit", "-qam", "hand edit", "--no-verify")


def solved(desk: Desk, title: str = "Outlook asks for my password", **fields: str) -> str:
    ticket = desk.new(title, "-q", "it-helpdesk", "-c", "email", *[a for k, v in fields.items() for a in (f"--{k}", v)])
    desk.run("resolve", ticket, "--note", "Removed stale credentials.")
    return ticket


@pytest.mark.parametrize("field, value", [("queue", "../../../../tmp/gitdesk-escape"),
                                          ("queue", "javascript:alert(1)")])
def test_a_queue_value_never_makes_a_file_or_link_outside_the_site(desk: Desk, tmp_path: Path, field: str,
                                                                    value: str) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    hand_edit(desk, ticket, f"{field}: it-helpdesk", f"{field}: '{value}'")
    out = tmp_path / "site"
    said = desk.run("site", "build", str(out)).stderr
    assert (f"gitdesk: warning: tickets/{ticket}.md: unknown queue {value!r} (expected one of: it-helpdesk, "
            "it-infra, facilities); left off the boards") in said
    assert sorted(path.name for path in (out / "boards").iterdir()) == [
        "facilities.html", "index.html", "intake.html", "it-helpdesk.html", "it-infra.html"]
    assert not Path("/tmp/gitdesk-escape.html").exists() and "javascript:" not in (out / "boards" / "index.html").read_text()


def test_a_category_value_never_makes_a_folder_outside_kb(desk: Desk) -> None:
    ticket = solved(desk)
    hand_edit(desk, ticket, "category: email", "category: ../../..")
    error = desk.fails("kb", "build", "--no-commit")
    assert error.startswith(f"gitdesk: error: tickets/{ticket}.md: unknown category '../../..'")
    assert not (desk.path / "kb").exists()


def test_a_committed_symlink_in_kb_is_never_followed(desk: Desk, tmp_path: Path) -> None:
    solved(desk)
    outside = tmp_path / "outside"
    outside.mkdir()
    (desk.path / "kb").mkdir()
    (desk.path / "kb" / "email").symlink_to(outside)
    desk.git("add", "-A")
    desk.git("commit", "-qm", "a link", "--no-verify")
    error = desk.fails("kb", "build", "--no-commit")
    assert "kb/email" in error and "symbolic link" in error
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("spelling", ["bob@example.com", "bob\\@example.com", "dave&#64;example&#46;com",
                                      "dave&#x40;example.com"])
def test_no_address_in_any_spelling_reaches_the_kb_or_the_site(desk: Desk, tmp_path: Path, spelling: str) -> None:
    ticket = solved(desk, f"Mail from {spelling} bounces")
    desk.run("set", ticket, "kb_title", f"Bounces for {spelling}")
    desk.run("kb", "build")
    readme = (desk.path / "kb" / "README.md").read_text()
    articles = list((desk.path / "kb" / "email").iterdir())
    for text in [readme, *(path.read_text() for path in articles), *(path.name for path in articles)]:
        assert "example" not in text.replace("example.com/", ""), text
    desk.run("site", "build", str(tmp_path / "site"))
    for page in (tmp_path / "site").rglob("*"):
        if page.is_file():
            assert "@example" not in page.read_text(errors="replace") and "&#64;" not in page.read_text(), page


@pytest.mark.parametrize("written", ["false", "False", "no", "0", "off"])
def test_kb_false_is_honoured_however_it_is_written(desk: Desk, written: str) -> None:
    ticket = solved(desk)
    hand_edit(desk, ticket, "labels: []", f"labels: []\nkb: {written}")
    desk.run("kb", "build")
    assert "Outlook" not in (desk.path / "kb" / "README.md").read_text()


def test_set_kb_writes_a_boolean_and_check_refuses_anything_else(desk: Desk) -> None:
    ticket = solved(desk)
    desk.run("set", ticket, "kb", "False")
    assert "kb: false\n" in desk.text(ticket)
    assert "kb is true or false" in desk.fails("set", ticket, "kb", "maybe")
    hand_edit(desk, ticket, "kb: false", 'kb: "nope"')
    desk.git("add", "-A")
    assert "kb must be true or false, not 'nope'" in desk.run("check", ok=False).stdout


def test_links_on_the_site_are_only_http_https_mailto_or_relative(desk: Desk, tmp_path: Path) -> None:
    ticket = desk.new("VPN", "-q", "it-helpdesk", "-c", "network")
    desk.run("resolve", ticket, "--note", "[guide](https://example.org/vpn) [evil](javascript:alert(1)) "
                                         "[also](JaVaScRiPt:alert(2)) [data](data:text/html,x) <a href='javascript:x'>raw</a>")
    desk.run("site", "build", str(tmp_path / "site"))
    html = "".join(page.read_text() for page in (tmp_path / "site" / "articles").iterdir())
    assert 'href="https://example.org/vpn"' in html
    for bad in ("javascript:", "JaVaScRiPt:", "data:text"):
        assert f'href="{bad}' not in html
    assert "<a href='javascript" not in html
    hrefs = [part.split('"', 1)[0] for part in "".join(
        page.read_text() for page in (tmp_path / "site").rglob("*.html")).split('href="')[1:]]
    assert all(h.startswith(("http:", "https:", "mailto:", "#", "../", "./")) or ":" not in h for h in hrefs), hrefs


def test_every_command_refuses_a_value_check_refuses_with_the_same_message(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    hand_edit(desk, ticket, "queue: it-helpdesk", "queue: nowhere")
    desk.git("add", "-A")
    checked = desk.run("check", ok=False).stdout.strip()
    assert checked == (f"tickets/{ticket}.md:6: unknown queue 'nowhere' (expected one of: it-helpdesk, it-infra, "
                       "facilities)") or "unknown queue 'nowhere'" in checked
    listed = json.loads(desk.run("list", "--format", "json").stdout)["tickets"]
    assert [row["id"] for row in listed] == [ticket], "reading still works"
    assert os.path.exists(desk.file(ticket))


def test_only_people_who_work_tickets_take_resolve_escalate_or_are_given_them(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    assert desk.fails("take", ticket, "--as", "carol") == (
        "gitdesk: error: carol works no queue, so cannot take tickets (add carol to a queue's members, or agent: "
        "true under people:; docs/config.md says who works tickets)")
    assert "carol works no queue, so cannot be given tickets" in desk.fails("assign", ticket, "carol")
    assert "carol works no queue" in desk.fails("set", ticket, "assignee", "carol")
    assert "cannot resolve tickets" in desk.fails("resolve", ticket, "--as", "carol@example.com", "--note", "x")
    assert "cannot escalate" in desk.fails("escalate", ticket, "--as", "bob@customer.example", "--reason", "x")
    desk.run("assign", ticket, "dana")  # an escalation target works tickets, though in no member list here


@pytest.mark.parametrize("front, message", [
    ("title: |\n  Two\n  lines", "the title must be one line"),
    ("related: [not-an-id]", "related: 'not-an-id' is not a ticket ID of this desk"),
    ("duplicate_of: ../../etc", "duplicate_of: '../../etc' is not a ticket ID of this desk"),
    # what JSON cannot hold: the index, reports and --format json keep fields as JSON
    ("cost_centre: !!set {a, b}", "cost_centre holds a set, which a ticket's field cannot"),
    ("cost_centre: !!binary aGk=", "cost_centre holds binary data, which a ticket's field cannot"),
    ("cost_centre: .nan", "cost_centre holds nan (not a finite number)"),
    ("cost_centre: [1, -.inf]", "cost_centre holds -inf (not a finite number)"),
])
def test_values_that_are_not_what_the_field_holds_are_refused(desk: Desk, front: str, message: str) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    text = desk.text(ticket).replace("title: Printer\n", "") if front.startswith("title") else desk.text(ticket)
    desk.file(ticket).write_text(text.replace("labels: []", f"labels: []\n{front}"), encoding="utf-8")
    desk.git("add", "-A")
    assert message in desk.run("check", ok=False).stdout
    desk.git("commit", "-qm", "hand edit", "--no-verify")
    assert message in desk.fails("note", ticket, "-m", "x")


def test_odd_files_named_like_tickets_never_hang_or_crash_a_command(desk: Desk, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    real = desk.new("Printer", "-q", "it-helpdesk")
    desk.run("resolve", real, "--note", "Roller replaced")
    tickets = desk.path / "tickets"
    os.mkfifo(tickets / "GD-01M84ZF6NW5EKB3QT1.md")
    (tickets / "GD-01M84ZF6NW5EKB3QT2.md").mkdir()
    import tempfile

    server = socket.socket(socket.AF_UNIX)
    short = Path(tempfile.mkdtemp(prefix="gd-", dir="/tmp")) / "s"  # a socket's path is short (~100 bytes)
    server.bind(str(short))
    os.rename(short, tickets / "GD-01M84ZF6NW5EKB3QT3.md")
    huge = tickets / "GD-01M84ZF6NW5EKB3QT4.md"
    huge.write_text(desk.text(real).replace(real, "GD-01M84ZF6NW5EKB3QT4") + "x" * (3 * 1024 * 1024))
    commands = [["list"], ["list", "--all", "--format", "json"], ["show", "GD-01M84ZF6NW5EKB3QT1"],
                ["note", "GD-01M84ZF6NW5EKB3QT2", "-m", "x"], ["show", "GD-01M84ZF6NW5EKB3QT4"],
                ["search", "printer"], ["similar", "--text", "printer roller"], ["report", "workload"],
                ["report", "queues"], ["kb", "build", "--no-commit"], ["site", "build", str(tmp_path / "site")],
                ["export", "json"], ["log"], ["check"], ["reply", real, "-m", "still works"]]
    for args in commands:
        try:
            done = subprocess.run([sys.executable, "-m", "gitdesk", *args], cwd=desk.path, capture_output=True,
                                  text=True, timeout=60, env={**os.environ, "GITDESK_NO_PAGER": "1"})
        except subprocess.TimeoutExpired:
            pytest.fail(f"gitdesk {' '.join(args)} hung")
        assert done.returncode in (0, 1), (args, done.stderr)
        assert "Traceback" not in done.stderr and "bug in gitdesk" not in done.stderr, (args, done.stderr)
    server.close()
    assert "is 3 MB; a ticket file holds at most 2 MB" in subprocess.run(
        [sys.executable, "-m", "gitdesk", "show", "GD-01M84ZF6NW5EKB3QT4"], cwd=desk.path, capture_output=True,
        text=True, timeout=60).stderr
    desk.git("add", str(huge))
    assert "a ticket file holds at most 2 MB" in desk.run("check", "--staged", ok=False).stdout


def test_a_line_break_in_message_ids_never_reaches_a_header_and_check_refuses_it(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk", "-r", "bob@customer.example")
    hand_edit(desk, ticket, "labels: []", 'labels: []\nmessage_ids: ["<a@b>\\nBcc: x@evil.example"]')
    desk.git("add", "-A")
    assert "message_ids must be a list of Message-IDs" in desk.run("check", ok=False).stdout
    assert "message_ids must be a list of Message-IDs" in desk.fails("reply", ticket, "-m", "x", "--send")


def test_export_into_a_missing_folder_is_one_line(desk: Desk, tmp_path: Path) -> None:
    desk.new("Printer", "-q", "it-helpdesk")
    error = desk.fails("export", "json", "-o", str(tmp_path / "no" / "such" / "export.json"))
    assert error.startswith("gitdesk: error: cannot write ") and "No such file or directory" in error


def test_a_file_whose_id_is_not_its_name_is_refused_by_show_and_by_edits_alike(desk: Desk) -> None:
    """show reads a ticket without YAML's positions, yet refuses what the editing verbs refuse,
    with the same one line naming the line of the id."""
    first, second = desk.new("First"), desk.new("Second")
    path = desk.path / "tickets" / f"{first}.md"
    path.write_text(path.read_text(encoding="utf-8").replace(f"id: {first}", f"id: {second}"), encoding="utf-8")
    refused = desk.fails("show", first)
    assert f"file name says {first} but its id is {second}" in refused and ":2:" in refused
    assert desk.fails("reply", first, "-m", "hello") == refused


@pytest.mark.parametrize("title", ["0b_", "0x_", "2026-02-30"])
def test_a_title_yaml_would_read_as_a_broken_number_or_date_is_kept_as_text(desk: Desk, title: str) -> None:
    # YAML takes these for a number or a date that Python cannot hold: `new` once exited 3.
    ticket = desk.new(title, "-q", "it-helpdesk")
    assert f'title: "{title}"' in desk.text(ticket)
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)
    assert shown["ticket"]["title"] == title


def test_bytes_that_are_not_utf8_and_values_with_nothing_visible_are_refused_in_one_line(desk: Desk) -> None:
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    before = desk.git("status", "--porcelain")
    # A Latin-1 terminal: Python reads the byte 0xE9 as a lone surrogate, no file can hold it.
    for args, byte in ((["new", "Caf\udce9 machine", "-q", "it-helpdesk"], "E9"),
                       (["set", ticket, "cost_centre", "\udcff"], "FF"), (["label", ticket, "+caf\udce9"], "E9")):
        assert desk.fails(*args) == (f"gitdesk: error: a value holds the byte 0x{byte}, which is not UTF-8 text "
                                     "(set the terminal or the script that runs gitdesk to UTF-8)")
    assert desk.fails("set", ticket, "asset", "\u200b") == "gitdesk: error: asset is empty"  # was exit 3
    assert desk.git("status", "--porcelain") == before


def test_no_writer_makes_a_ticket_larger_than_a_reader_opens(desk: Desk, tmp_path: Path) -> None:
    """Readers refuse a ticket file over 2 MB, or fields over 64 KiB: a reply of a long log,
    or an import with a huge field, once wrote one, and the ticket could not be opened again."""
    ticket = desk.new("Printer", "-q", "it-helpdesk")
    log = tmp_path / "log.txt"
    log.write_text("log line " * 250_000)
    head, before = desk.head(), desk.text(ticket)
    assert "a ticket file holds at most 2 MB" in desk.fails("reply", ticket, "--file", str(log))
    assert desk.head() == head and desk.text(ticket) == before
    rows = tmp_path / "rows.csv"
    rows.write_text("title,asset\nFine,laptop-1\nHuge," + "x" * 70_000 + "\n")
    result = json.loads(desk.run("import", "csv", str(rows), "--format", "json").stdout)
    assert result["counts"] == {"imported": 1, "skipped": 1}
    assert "fields would be larger than 64 KiB" in json.dumps(result)
    desk.run("check")


def test_a_duplicate_of_a_ticket_the_desk_lacks_or_of_itself_is_refused(desk: Desk) -> None:
    """A hand edit marks a duplicate of a ticket that does not exist (a typo, a ticket from
    another desk): its requester would be sent to an answer nowhere, and its article would
    count it for nothing. check says so, as link refuses it."""
    ticket = desk.new("VPN drops")
    other = desk.new("VPN drops again")
    missing = "GD-01JD8X4KQ7M3ZP2C4X"
    hand_edit(desk, other, "status: new", f"status: new\nduplicate_of: {missing}\nrelated: [{other}]")
    result = desk.run("check", "--all", ok=False)
    assert result.exit_code == 1
    assert f"tickets/{other}.md:" in result.output and f"duplicate_of: {missing} is no ticket of this desk" \
        in result.output, result.output
    assert "related: the ticket names itself" in result.output
    hand_edit(desk, other, f"duplicate_of: {missing}\nrelated: [{other}]", f"duplicate_of: {ticket}")
    assert desk.run("check", "--all").exit_code == 0


def test_a_custom_field_holding_a_mapping_is_shown_as_json_not_python(desk: Desk) -> None:
    ticket = desk.new("Laptop screen flickers")
    hand_edit(desk, ticket, "status: new", "status: new\nhardware: {model: X1, ports: [usb, {kind: hdmi}]}")
    shown = desk.run("show", ticket).stdout
    assert 'hardware:' in shown and '{"model": "X1", "ports": ["usb", {"kind": "hdmi"}]}' in shown, shown
