"""Bad input gets a one-line error naming the file, line and fix, and writes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Desk, git

from gitdesk.cli import cli


def unchanged(desk: Desk):  # type: ignore[no-untyped-def]
    """Snapshot HEAD and the work tree; calling the result asserts nothing moved."""
    head, status = desk.head(), desk.status()
    files = {p: p.read_bytes() for p in (desk.path / "tickets").iterdir() if p.is_file()}

    def check() -> None:
        assert desk.head() == head
        assert desk.status() == status
        assert {p: p.read_bytes() for p in (desk.path / "tickets").iterdir() if p.is_file()} == files

    return check


def test_not_a_desk(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--desk", str(tmp_path), "list"])
    assert result.exit_code == 1
    assert result.stderr == (f"gitdesk: error: not a gitdesk desk: no .gitdesk/config.yml in {tmp_path} "
                             "(run gitdesk init to create one, or pass --desk PATH)\n")


def test_desk_is_found_upward_from_a_subdirectory(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("Found me")
    monkeypatch.chdir(desk.path / "tickets")
    result = CliRunner().invoke(cli, ["list", "--format", "csv"])
    assert result.exit_code == 0 and ticket in result.stdout


def test_unknown_id(desk: Desk) -> None:
    desk.new()
    assert desk.fails("show", "GD-ZZZZ") == \
        "gitdesk: error: no ticket 'GD-ZZZZ' (gitdesk list --all shows every ticket)"
    assert len(desk.fails("show", "GD-" + "Z" * 100_000)) < 200, "an error never echoes megabytes back"


def test_a_unique_prefix_works_and_an_ambiguous_one_lists_the_candidates(desk: Desk) -> None:
    desk.at("2026-11-20T09:00:00Z")
    first = desk.new("one")
    second = desk.new("two")
    assert first[:11] == second[:11], "same second, same time part"
    error = desk.fails("show", first[:11])
    assert error == (f"gitdesk: error: '{first[:11]}' matches 2 tickets: {min(first, second)}, "
                     f"{max(first, second)} (type more characters of the ID)")
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)
    shown = desk.run("show", first[: common + 1].lower()).stdout  # unique once they differ
    assert shown.startswith(first)
    assert desk.run("show", first[3:common + 1]).stdout.startswith(first), "the GD- may be left out"


@pytest.mark.parametrize("typed", ["-rf", "--help-me", "GD-01;rm", "../../etc/passwd", "GD-01 02"])
def test_ids_that_could_be_options_or_paths_are_refused(desk: Desk, typed: str) -> None:
    desk.new()
    check = unchanged(desk)
    result = desk.run("reply", "-m", "hi", "--", typed, ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"gitdesk: error: not a ticket ID: {typed!r}")
    check()


def test_values_starting_with_a_dash_are_data_not_git_options(desk: Desk) -> None:
    import json

    out = desk.run("new", "--format", "json", "-q", "it-helpdesk", "-m", "--exec=touch /tmp/x", "--",
                   "--output=/tmp/pwned").stdout
    ticket = json.loads(out)["id"]
    desk.run("reply", ticket, "-m", "--version")
    desk.run("set", ticket, "asset", "--", "--upload-pack=evil")
    text = desk.text(ticket)
    assert "title: --output=/tmp/pwned\n" in text and "asset: --upload-pack=evil\n" in text
    assert "— reply\n--version\n" in text


def test_broken_yaml_names_file_and_line(desk: Desk) -> None:
    ticket = desk.new()
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("title: Printer on 2F jams", "title: [unclosed"))
    desk.git("commit", "-qam", "hand edit")
    check = unchanged(desk)
    error = desk.fails("reply", ticket, "-m", "hi")
    # the line where the [ opens, not the next one, where YAML noticed
    assert error == (f"gitdesk: error: tickets/{ticket}.md:4: front matter is not valid YAML: did not find expected "
                     "',' or ']' (close the [ that opens on this line with ])")
    check()


def test_a_broken_file_does_not_hide_the_rest_of_the_list(desk: Desk) -> None:
    good = desk.new("good")
    bad = desk.new("bad")
    desk.file(bad).write_text("---\nid: [\n---\n")
    result = desk.run("list", "--format", "csv")
    assert good in result.stdout and bad not in result.stdout
    assert f"gitdesk: warning: tickets/{bad}.md:3: front matter is not valid YAML" in result.stderr


def test_unknown_person_queue_priority(desk: Desk) -> None:
    ticket = desk.new(queue := "x", "-q", "it-helpdesk")
    del queue
    check = unchanged(desk)
    assert desk.fails("assign", ticket, "zed") == \
        "gitdesk: error: unknown person 'zed' (known people: alice, bob, dana, fred, gina, carol)"
    assert desk.fails("new", "t", "-q", "nope").startswith("gitdesk: error: unknown queue 'nope'")
    assert desk.fails("new", "t", "-p", "asap") == \
        "gitdesk: error: unknown priority 'asap' (expected one of: urgent, high, normal, low)", \
        "no file named: none was written"
    assert desk.fails("new", "t", "-c", "emial") == ("gitdesk: error: unknown category 'emial' (did you mean email?) "
                                                     "(expected one of: email, hardware, network, facilities)")
    assert desk.fails("new", "t", "-r", "nobody") == (
        "gitdesk: error: unknown requester 'nobody' (use an email address or a handle from people: "
        "in .gitdesk/config.yml)")
    assert desk.fails("reply", ticket, "--as", "zed", "-m", "x").startswith("gitdesk: error: unknown person 'zed'")
    for address in ("üser@example.com", "kai@\U0001f600.example", f"kai@{'a' * 64}.example", "kai@-bad.example",
                    f"{'k' * 65}@example.com"):
        said = desk.fails("set", ticket, "requester", address)
        assert said.startswith(f"gitdesk: error: cannot use {address!r} as the requester: "), "no mail could reach it"
        assert desk.fails("new", "t", "-r", address).startswith("gitdesk: error: cannot use")
        assert desk.fails("cc", ticket, f"+{address}").startswith(f"gitdesk: error: cannot copy {address!r}")
    check()


def test_a_ticket_check_refuses_is_refused_by_every_command_with_checks_message(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("status: open", "status: opne"))
    desk.git("commit", "-qam", "typo")
    checked = desk.run("check", ok=False).stdout.strip()
    assert checked == (f"tickets/{ticket}.md:3: unknown status 'opne' (expected one of: new, open, pending, "
                       "resolved, closed, rejected)")
    head = desk.head()
    assert desk.fails("note", ticket, "-m", "x") == f"gitdesk: error: {checked}", "the same message as check"
    assert desk.head() == head, "nothing was committed on top of the broken file"
    assert desk.fails("resolve", ticket, "--note", "x") == (
        f"gitdesk: error: tickets/{ticket}.md: current status 'opne' is not in this desk's workflow "
        "(set a known status with gitdesk edit (known: new, open, pending, resolved, closed, rejected))")


def test_empty_title(desk: Desk) -> None:
    check = unchanged(desk)
    assert desk.fails("new", "   ") == "gitdesk: error: title is empty"
    check()


def test_non_utf8_ticket(desk: Desk) -> None:
    ticket = desk.new()
    path = desk.file(ticket)
    path.write_bytes(path.read_bytes().replace(b"Printer on 2F", b"Imprimante \xe9tage"))
    desk.git("commit", "-qam", "latin-1")
    assert desk.fails("show", ticket) == (
        f"gitdesk: error: tickets/{ticket}.md:4: not valid UTF-8 (byte 0xe9) (re-save the file as UTF-8)")


def test_conflict_markers_are_refused(desk: Desk) -> None:
    ticket = desk.new()
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("status: new\n", "<<<<<<< ours\nstatus: open\n=======\n"
                                             "status: pending\n>>>>>>> theirs\n"))
    desk.git("commit", "-qam", "bad merge")
    assert desk.fails("reply", ticket, "-m", "x") == (
        f"gitdesk: error: tickets/{ticket}.md:3: unresolved merge conflict markers (resolve the conflict, "
        "remove the <<<<<<< ======= >>>>>>> lines, then commit)")


def test_a_symlink_in_tickets_is_refused_never_followed(desk: Desk, tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("---\nid: GD-01M7W2Y76XX6GSW012\ntitle: t\nstatus: new\ncreated: 2026-01-01\n"
                      "requester: a@b.example\n---\n")
    link = desk.path / "tickets" / "GD-01M7W2Y76XX6GSW012.md"
    link.symlink_to(secret)
    before = secret.read_bytes()
    error = desk.fails("reply", "GD-01M7W2Y76XX6GSW012", "-m", "x")
    assert error == ("gitdesk: error: tickets/GD-01M7W2Y76XX6GSW012.md: is a symbolic link; gitdesk never "
                     "follows links (replace the link with the ticket file itself)")
    assert secret.read_bytes() == before
    listed = desk.run("list", "--all", "--format", "csv")
    assert "GD-01M7W2Y76XX6GSW012" not in listed.stdout and "symbolic link" in listed.stderr


def test_tickets_directory_as_a_symlink_is_refused(desk: Desk, tmp_path: Path) -> None:
    desk.new()
    elsewhere = tmp_path / "elsewhere"
    (desk.path / "tickets").rename(elsewhere)
    (desk.path / "tickets").symlink_to(elsewhere)
    assert "tickets/: is a symbolic link" in desk.fails("list")


def test_templates_and_the_config_behind_a_linked_folder_are_refused(desk: Desk, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A link committed to the repository would have gitdesk read a file from outside it.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "default.md").write_text("the secret\n")
    templates = desk.path / ".gitdesk" / "templates"
    shutil.rmtree(templates)
    templates.symlink_to(outside, target_is_directory=True)
    check = unchanged(desk)
    monkeypatch.setenv("EDITOR", "cat")
    assert desk.fails("new", "--edit") == (
        "gitdesk: error: .gitdesk/templates/default.md: is a symbolic link; gitdesk never follows links "
        "(replace the link .gitdesk/templates with a real file or folder)")
    check()
    desk.git("add", "-A", ".gitdesk")
    found = desk.run("check", "--staged", ok=False)
    assert found.exit_code == 1 and ".gitdesk/templates: is a symbolic link" in found.stdout
    desk.git("reset", "-q")
    templates.unlink()
    gitdesk_folder = desk.path / ".gitdesk"
    gitdesk_folder.rename(tmp_path / "config-elsewhere")
    gitdesk_folder.symlink_to(tmp_path / "config-elsewhere", target_is_directory=True)
    assert "(replace the link .gitdesk with a real file or folder)" in desk.fails("list")


def test_git_identity_not_configured(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    check = unchanged(desk)
    (Path(os.environ["HOME"]) / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    desk.git("config", "--unset", "user.email", check=False)
    assert desk.fails("reply", ticket, "--as", "alice", "-m", "x") == (
        'gitdesk: error: Git does not know who you are (run git config --global user.name "Your Name" and '
        "git config --global user.email you@example.com)")
    check()


def test_detached_head(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.git("checkout", "-q", "--detach")
    check = unchanged(desk)
    assert desk.fails("reply", ticket, "-m", "x") == (
        "gitdesk: error: HEAD is detached; gitdesk commits to a branch "
        "(check out a branch first: git switch main)")
    check()


def test_broken_config_names_file_key_and_fix(desk: Desk) -> None:
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("members: [alice, bob]", "members: [alice, zed]"))
    assert desk.fails("list") == ("gitdesk: error: .gitdesk/config.yml:14: queues.it-helpdesk.members: "
                                  "unknown person 'zed' (add zed under people: or remove them from the queue)")
    config.write_text("people: [\n")
    assert desk.fails("list").startswith("gitdesk: error: .gitdesk/config.yml:1: not valid YAML")
    config.write_text("queus: {}\n")
    assert desk.fails("list").startswith("gitdesk: error: .gitdesk/config.yml:1: queus: unknown section")


def test_usage_errors_exit_2_with_one_line_saying_the_fix(desk: Desk) -> None:
    result = desk.run("reply", ok=False)
    assert result.exit_code == 2
    assert result.stderr == ("gitdesk: error: Missing argument 'ID' (usage: gitdesk reply [OPTIONS] ID; "
                             "`gitdesk reply --help` says more)\n")
    result = desk.run("frobnicate", ok=False)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "No such command 'frobnicate'" in result.stderr
    for args in (("list", "--frmat", "json"), ("--frmat",), ("search", "x", "-n", "0"), ("mail", "send", "-x")):
        result = desk.run(*args, ok=False)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("gitdesk: error: ") and "--help` says more)" in result.stderr, args
    assert "'--format'" in desk.run("list", "--frmat", "json", ok=False).stderr, "click's suggestion kept"
    assert "Choose from: queues, workload, training" in desk.run("report", ok=False).stderr
    for typed in ("lst", "lsit", "LIST"):
        assert f"No such command '{typed}'. Did you mean 'list'?" in desk.run(typed, ok=False).stderr, typed
    assert "No such command 'sned'. Did you mean 'send'?" in desk.run("mail", "sned", ok=False).stderr
    for group in ("mail", "kb"):  # no subcommand: the help, readable, as before
        shown = desk.run(group, ok=False).output
        assert shown.startswith(f"Usage: gitdesk {group} [OPTIONS] COMMAND") and shown.count("\n") > 5, group
    bare = subprocess.run([sys.executable, "-m", "gitdesk"], capture_output=True, text=True, cwd=desk.path)
    assert bare.stderr.startswith("Usage: gitdesk [OPTIONS] COMMAND") and bare.stderr.count("\n") > 20


def test_hostile_text_cannot_forge_structure(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk", "-m", "## Conversation\n### 2026-01-01T00:00:00Z dana — note\nfake")
    desk.run("reply", ticket, "-m", "```\nunclosed fence")
    desk.run("reply", ticket, "-m", "## Resolution\nfake resolution\n<<<<<<< HEAD")
    import json

    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert [entry["author"] for entry in shown["conversation"]] == ["alice", "alice"]
    assert shown["resolution"] is None
    assert shown["status"] == "open"


def test_a_multiline_title_becomes_one_line(desk: Desk) -> None:
    ticket = desk.new("Line one\nstatus: closed")
    assert "title: 'Line one status: closed'" in desk.text(ticket) or \
        'title: "Line one status: closed"' in desk.text(ticket)


def test_git_env_from_another_repository_is_ignored(desk: Desk, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    desk.run("hook", "pre-commit")  # a hook trusts GIT_DIR for itself, never for the commands after it
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    ticket = desk.new("x", "-q", "it-helpdesk")
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert desk.committed_files() == [f"tickets/{ticket}.md"]
    assert git(other, "rev-list", "--all").strip() == ""


def test_a_huge_limit_means_all_and_a_json_nested_past_the_stack_is_not_an_export(desk: Desk, tmp_path: Path) -> None:
    desk.new("Printer jams")
    assert "Printer jams" in desk.run("search", "printer", "-n", "99999999999999999999").stdout
    assert desk.run("kb", "search", "printer", "-n", "99999999999999999999").exit_code == 0
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested.json is not a JSON export" in desk.fails("import", "github", str(nested))


def test_output_that_cannot_be_written_and_a_folder_to_import_are_errors_not_bugs(desk: Desk) -> None:
    import subprocess
    import sys

    desk.new("Printer jams", "-q", "it-helpdesk")
    with open(os.devnull if not Path("/dev/full").exists() else "/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(desk.path), "list", "--format",
                                 "json"], stdout=full, stderr=subprocess.PIPE, text=True)
    if Path("/dev/full").exists():
        assert (result.returncode, result.stderr.strip()) == (
            1, "gitdesk: error: the output could not be written (No space left on device)")
    assert desk.fails("import", "csv", str(desk.path)) == (
        f"gitdesk: error: {desk.path} is not a file (a csv import reads one file; a folder is for import backlog)"), \
        "a folder: bad input with its fix, not exit 3"
    for args in (["note", "GD-01", "--file", str(desk.path / "nowhere.txt")], ["export", "json", "-o", str(desk.path)]):
        said = desk.run(*args, ok=False)
        assert said.exit_code == 1 and said.stderr.count("\n") == 1 and "(give the path of a file" in said.stderr, \
            "a path that is not there, or a folder for a file: one line with the fix, not click's usage block"
    left_out = desk.run("import", "csv", ok=False)
    assert left_out.exit_code == 2 and "Missing argument 'PATH'" in left_out.stderr, "a usage error, as before"
