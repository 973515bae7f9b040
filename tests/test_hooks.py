"""Hand edits and pull requests get the CLI's guarantees through hooks and `gitdesk check`.

Everything here makes real commits with the hooks installed, and real pushes
to a local bare repository with the server-side hook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import Desk, git

from gitdesk.githooks import install as hookscripts

ROOT = Path(__file__).resolve().parent.parent


def commit(desk: Desk, message: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", "-m", message, *args], cwd=desk.path, capture_output=True,
                          text=True)


def edit(desk: Desk, ticket: str, old: str, new: str) -> None:
    path = desk.file(ticket)
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def hooked(desk: Desk) -> Desk:
    desk.run("hooks", "install")
    return desk


def test_a_broken_hand_edit_is_refused_with_its_message(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    head = hooked.head()
    edit(hooked, ticket, "status: open", "status: closed")
    result = commit(hooked, "close it by hand", "-a")
    assert result.returncode == 1
    assert f"tickets/{ticket}.md:3: cannot move from open to closed (from open a ticket can go to: pending, resolved, rejected)" in result.stderr
    assert f"tickets/{ticket}.md:3: a closed ticket needs a resolution note" in result.stderr
    assert "commit refused: 2 problems" in result.stderr
    assert hooked.head() == head
    hooked.git("checkout", "--", ".")
    edit(hooked, ticket, "assignee:", "assignee: carol")  # a requester from sales, as gitdesk assign refuses
    result = commit(hooked, "give it to carol by hand", "-a")
    assert result.returncode == 1 and "carol works no queue, so cannot be given tickets" in result.stderr
    assert hooked.head() == head


def test_a_config_that_drops_what_tickets_still_use_is_refused_naming_them(hooked: Desk) -> None:
    """Every command on those tickets would be refused afterwards: the config change is, first."""
    ticket = hooked.new("Printer", "-q", "it-helpdesk", "-c", "hardware")
    config = hooked.path / ".gitdesk" / "config.yml"
    before = config.read_text()
    assert "  hardware:" in before
    config.write_text("\n".join(line for line in before.split("\n") if not line.startswith("  hardware:")))
    result = commit(hooked, "drop hardware", "-a")
    assert result.returncode == 1
    assert (f".gitdesk/config.yml: removes category 'hardware', which 1 ticket still has ({ticket}) (move them "
            f"first with gitdesk set ID category NAME, or keep it)") in result.stderr
    ticket_text = hooked.file(ticket).read_text()
    hooked.file(ticket).write_text(ticket_text.replace("category: hardware", "category: network"))
    hooked.git("add", str(config))
    assert commit(hooked, "drop hardware").returncode == 1, "what is staged is judged: the ticket's edit is not"
    hooked.git("add", "-A")
    assert commit(hooked, "drop hardware, move its ticket").returncode == 0, "nothing uses it any more"
    config.write_text(config.read_text().replace("people:\n", "people:\n  zed: {name: Zed Visitor}\n", 1))
    assert commit(hooked, "Zed, who has no mail", "-a").returncode == 0
    zeds = hooked.new("Payslip", "-q", "it-helpdesk", "-r", "zed")  # a person without an email: a handle
    config.write_text(config.read_text().replace("  zed: {name: Zed Visitor}\n", "", 1))
    commit(hooked, "zed left", "-a", "--no-verify")  # a clone without hooks
    assert f"removes person 'zed', which 1 ticket still has (as requester) ({zeds})" in hooked.run(
        "check", "--range", "HEAD~1..HEAD", ok=False).output, "a commit is judged as the index is"


def test_renaming_a_person_who_answered_tickets_is_refused_for_it_would_rewrite_past_figures(
        hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    hooked.run("reply", ticket, "-m", "Which tray?", "--as", "bob")
    hooked.run("resolve", ticket, "-m", "Cleared tray 2.", "--as", "bob")
    config = hooked.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("  bob: {", "  robert: {").replace("bob]", "robert]")
                      .replace("bob,", "robert,"))
    result = commit(hooked, "bob is robert now", "-a")
    assert result.returncode == 1
    assert (f".gitdesk/config.yml: removes person 'bob', who wrote entries in 1 ticket ({ticket}): reports would "
            "stop counting that work and those first responses (keep them under people: with away: true; a new "
            "handle is a new person (docs/config.md))") in result.stderr


def test_a_mail_domain_move_keeps_past_work_with_its_people_through_their_former_emails(hooked: Desk) -> None:
    """Git authors and requesters name the old address: changing it alone would hand last
    quarter's work to nobody, so it is refused until the old one is kept."""
    ticket = hooked.new("Printer", "-q", "it-helpdesk", "-r", "carol@example.com")  # by alice, as Git author
    hooked.run("take", ticket)
    hooked.run("resolve", ticket, "-m", "Cleared tray 2.")
    config = hooked.path / ".gitdesk" / "config.yml"
    moved = config.read_text().replace("@example.com", "@example.org")
    config.write_text(moved)
    result = commit(hooked, "mail moved to example.org", "-a")
    assert result.returncode == 1
    assert (".gitdesk/config.yml: changes the email of 'carol' (carol@example.com), which 1 ticket names as "
            "requester: reports would stop counting that as carol's (keep the old address too: "
            "people.carol.former_emails: [carol@example.com])") in result.stderr
    assert "changes the email of 'alice' (alice@example.com), which commits name as author" in result.stderr
    assert "'fred'" not in result.stderr, "nothing names fred's address yet: a typo put right is no loss"
    for handle in ("alice", "carol"):
        moved = moved.replace(f"email: {handle}@example.org,",
                              f"email: {handle}@example.org, former_emails: [{handle}@example.com],")
    config.write_text(moved)
    assert commit(hooked, "mail moved to example.org", "-a").returncode == 0
    report = json.loads(hooked.run("report", "workload", "--format", "json").output)
    people = next(section for section in report["sections"] if section["key"] == "by_person")["rows"]
    assert [(row["person"]["value"], row["resolved"]["value"]) for row in people] == [("alice", 1)], "still alice's"
    assert hooked.run("note", ticket, "-m", "done").exit_code == 0, "her Git address is still hers"
    config.write_text(moved.replace("former_emails: [carol@example.com], ", ""))
    dropped = commit(hooked, "tidy: no more former addresses", "-a")
    assert dropped.returncode == 1 and "drops a former email of 'carol' (carol@example.com), which 1 ticket names" \
        in dropped.stderr, "dropped later is the same loss"
    hooked.git("checkout", "--", ".gitdesk/config.yml")
    broken = moved.replace("former_emails: [carol@example.com]", "former_emails: [alice@example.org]")
    config.write_text(broken)
    assert "also the email of alice" in hooked.run("list", ok=False).output


def test_sync_on_a_desk_with_nowhere_to_push_says_to_add_the_shared_repository(hooked: Desk) -> None:
    branch = hooked.git("branch", "--show-current").strip()
    assert hooked.fails("sync") == (
        f"gitdesk: error: branch {branch} has no upstream to sync with, and this repository no remote (add the "
        f"shared repository first: git remote add origin URL, then git push -u origin {branch})")


def test_two_flags_that_choose_one_way_are_a_usage_mistake_not_the_last_one_wins(hooked: Desk) -> None:
    for args, said in ((("check", "--staged", "--all"), "--staged and --all exclude each other"),
                       (("sync", "--rebase", "--merge"), "--rebase and --merge exclude each other")):
        result = hooked.run(*args, ok=False)
        assert result.exit_code == 2 and said in result.output, result.output
    assert hooked.run("check", "--all").exit_code == 0


def test_a_reply_typed_after_the_resolution_is_refused_before_it_is_lost(hooked: Desk) -> None:
    """A reopened ticket ends with its old resolution: a reply appended at the end of the file
    would be read as resolution text, and the next resolve would replace it."""
    ticket = hooked.new("Mail broken", "-q", "it-helpdesk")
    hooked.run("resolve", ticket, "--note", "Fixed the mailbox.")
    hooked.run("reopen", ticket, "-m", "again")
    path = hooked.file(ticket)
    path.write_text(path.read_text() + "\n### 2026-12-04T23:00:00Z bob@example.com — reply\nStill broken on my phone.\n")
    result = commit(hooked, "Bob called", "-a")
    line = path.read_text().split("\n").index("### 2026-12-04T23:00:00Z bob@example.com — reply") + 1
    assert result.returncode == 1 and (
        f"tickets/{ticket}.md:{line}: a conversation entry under '## Resolution' is read as resolution text "
        "(move it above '## Resolution', to the end of '## Conversation')") in result.stderr
    hooked.git("commit", "-qam", "Bob called", "--no-verify")  # in it went, by a clone without hooks
    assert "a conversation entry under '## Resolution'" in hooked.fails("resolve", ticket, "--note", "Phone too.")
    assert "Still broken on my phone." in path.read_text(), "refused, not lost"
    path.write_text(path.read_text().replace("### 2026-12-04T23:00:00Z bob@example.com — reply", "### Windows 11 — reinstall"))
    assert commit(hooked, "a sub-heading in the resolution", "-a").returncode == 0, "a heading, not an entry"


def test_a_note_typed_where_no_conversation_begins_is_refused_not_published(hooked: Desk) -> None:
    """A new ticket has no '## Conversation' heading until its first entry: a note an agent
    types at the end of the file in an editor would be read as the requester's description,
    and published with it in the knowledge base. A heading with an ASCII hyphen under the
    resolution would be resolution text. Both are refused, with the fix."""
    ticket = hooked.new("Need the finance share", "-q", "it-helpdesk", "--body", "Read access, please.")
    path = hooked.file(ticket)
    path.write_text(path.read_text() + "\n### 2026-11-20T09:10:00Z alice — note\nTheir phone is in the HR sheet.\n")
    line = path.read_text().split("\n").index("### 2026-11-20T09:10:00Z alice — note") + 1
    result = commit(hooked, "note on the finance share", "-a")
    assert result.returncode == 1 and (
        f"tickets/{ticket}.md:{line}: a conversation entry in the description is read as description text "
        "(put a '## Conversation' heading above it)") in result.stderr, result.stderr
    hooked.git("commit", "-qam", "note on the finance share", "--no-verify")  # by a clone without hooks
    assert "in the description" in hooked.fails("assign", ticket, "alice"), "the CLI refuses what check refuses"
    path.write_text(path.read_text().replace("### 2026", "## Conversation\n\n### 2026"))
    assert commit(hooked, "the note under its heading", "-a").returncode == 0
    hooked.run("resolve", ticket, "--note", "Added them to FIN-READ.")
    path.write_text(path.read_text() + "\n### 2026-11-20T09:35:00Z alice - note\nThe password is on the sticky note.\n")
    result = commit(hooked, "note", "-a")
    assert result.returncode == 1 and "a heading under '## Resolution' begins with a date, as an entry's does, but " \
        "is read as resolution text" in result.stderr and "(\\###)" in result.stderr, result.stderr
    hooked.git("checkout", "--", ".")
    for near_miss in ("###  2026-11-20T09:35:00Z alice — note", "###\t2026-11-20 alice", " ### 2026-11-20 alice",
                      "#### 2026-11-20 alice"):  # read as headings by Markdown, and published
        path.write_text(path.read_text() + f"\n{near_miss}\nThe password is on the sticky note.\n")
        assert commit(hooked, "note", "-a").returncode == 1, near_miss
        hooked.git("checkout", "--", ".")


def test_hand_written_entries_name_a_known_writer_and_kind_and_moved_files_get_one_fix(hooked: Desk) -> None:
    ticket = hooked.new("Mail broken", "-q", "it-helpdesk")
    path = hooked.file(ticket)
    before = path.read_text()
    assert "## Conversation" not in before
    path.write_text(before + "\n## Conversation\n\n### 2026-12-04T22:38:00Z zed — note\nx\n"
                    "\n### 2026-12-04T22:38:30Z alice — comment\ny\n")
    result = commit(hooked, "hand entries", "-a")
    assert result.returncode == 1
    assert "unknown author 'zed' of the note at 2026-12-04T22:38:00Z" in result.stderr
    assert "unknown entry kind 'comment' (2026-12-04T22:38:30Z) (use one of: reply, question, note" in result.stderr
    path.write_text(before + "\n## Conversation\n\n### 2099-01-01T09:00:00Z alice — reply\nFrom the future.\n")
    result = commit(hooked, "a typo in the year", "-a")
    assert "the reply at 2099-01-01T09:00:00Z is dated in the future (write when it was written" in result.stderr
    hooked.git("commit", "-qam", "as a clone whose clock runs ahead would", "--no-verify")
    assert "the reply at 2099-01-01T09:00:00Z is dated in the future" in hooked.run("check", ok=False).stdout
    hooked.run("note", ticket, "-m", "looking")  # committed: it stops nobody else's work (or push)
    assert commit(hooked, "nothing new", "--allow-empty").returncode == 0
    hooked.git("reset", "-q", "--hard", "HEAD~3")
    path.write_text(before + "\n## Conversation\n\n### 2026-12-04T22:40:00Z alice — time 90 min\nx\n")
    result = commit(hooked, "time by hand", "-a")
    assert "the time at 2026-12-04T22:40:00Z: not a duration: '90 min' (write it like 45m, 1h30m or 8h" \
        in result.stderr, "it would count as nothing where show says 90 min"
    path.write_text(before)
    made = hooked.path / "tickets" / "GD-01M91ZZZZZZZZZZZZZ.md"  # a new file, dated ahead, is refused too
    made.write_text(before.replace(ticket, "GD-01M91ZZZZZZZZZZZZZ").replace(
        before.split("created: ")[1].split("\n")[0], "2099-01-01T08:00:00Z"))
    hooked.git("add", str(made))
    result = commit(hooked, "a ticket from the future")
    assert "created 2099-01-01T08:00:00Z is in the future" in result.stderr
    hooked.git("rm", "-q", "--cached", str(made))
    made.unlink()
    path.write_text(before)
    (hooked.path / "tickets" / "2026").mkdir()
    hooked.git("mv", f"tickets/{ticket}.md", f"tickets/2026/{ticket}.md")
    result = commit(hooked, "tidy up")
    assert f"is a ticket file in a folder of tickets/ (move it back: git mv tickets/2026/{ticket}.md " \
           f"tickets/{ticket}.md)" in result.stderr
    hooked.git("mv", f"tickets/2026/{ticket}.md", "tickets/new-starter.md")
    result = commit(hooked, "rename")
    assert f"move it back: git mv tickets/new-starter.md tickets/{ticket}.md)" in result.stderr
    assert "set id" not in result.stderr and "1 problem" in result.stderr, "one finding, one fix"
    other = ticket[:-1] + ("A" if ticket[-1] != "A" else "B")  # a valid ID: still a rename, not "set id"
    hooked.git("mv", "tickets/new-starter.md", f"tickets/{other}.md")
    result = commit(hooked, "rename")
    assert f"is tickets/{ticket}.md renamed; a ticket file is named by its id (move it back: git mv " \
           f"tickets/{other}.md tickets/{ticket}.md)" in result.stderr
    assert "was deleted" not in result.stderr and "1 problem" in result.stderr


def test_check_says_which_edits_it_did_not_read_because_they_are_not_staged(desk: Desk) -> None:
    rules = desk.path / ".gitdesk" / "rules.yml"
    rules.write_text("rules:\n  - name: spam\n    when: {event: created}\n    do:\n      - set: {status: rejected}\n")
    result = desk.run("check")
    assert result.exit_code == 0 and ("note: .gitdesk/rules.yml has changes that are not staged, which check did "
                                      "not read") in result.stderr
    desk.git("add", ".gitdesk/rules.yml")
    assert "a rule cannot set status" in desk.run("check", ok=False).output


def test_check_in_the_middle_of_a_conflicted_merge_names_the_conflict(desk: Desk) -> None:
    """A pull request that changed the category, merged into a main that changed it too:
    check said nothing (exit 0) or "is not a regular file" while the merge was half done."""
    ticket = desk.new("Printer jams", "-q", "it-helpdesk", "-c", "hardware")
    desk.git("checkout", "-qb", "pr")
    edit(desk, ticket, "category: hardware", "category: network")
    desk.git("commit", "-qam", "pr")
    desk.git("checkout", "-q", "-")
    desk.run("set", ticket, "category", "email")
    assert desk.git("merge", "pr", check=False) and "tickets/" in desk.git("diff", "--name-only", "--diff-filter=U")
    said = f"tickets/{ticket}.md: has an unresolved merge conflict (resolve it and git add the file)"
    for mode in ((), ("--all",), ("--staged",)):
        result = desk.run("check", *mode, ok=False)
        assert result.exit_code == 1 and said in result.output, (mode, result.output)


def test_a_valid_hand_edit_commits_with_trailers(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    edit(hooked, ticket, "status: open", "status: resolved")
    hooked.file(ticket).write_text(hooked.text(ticket) + "\n## Resolution\nReplaced the roller.\n")
    result = commit(hooked, "Resolve the printer ticket", "-a")
    assert result.returncode == 0, result.stderr
    message = hooked.last_message()
    assert message == (f"Resolve the printer ticket\n\nGitdesk-Ticket: {ticket}\n"
                       "Gitdesk-Action: status open->resolved\nGitdesk-Action: resolution written\n\n")


def test_trailers_are_never_duplicated(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    edit(hooked, ticket, "priority: normal", "priority: high")
    result = commit(hooked, f"Bump\n\nGitdesk-Ticket: {ticket}\nGitdesk-Action: priority normal->high", "-a")
    assert result.returncode == 0, result.stderr
    message = hooked.last_message()
    assert message.count("Gitdesk-Ticket") == 1 and message.count("Gitdesk-Action") == 1


def test_a_list_changed_by_hand_says_what_came_and_went_in_its_trailer(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk", "-l", "paper", "-l", "tray")
    path = hooked.file(ticket)
    path.write_text(path.read_text().replace("labels: [paper, tray]", "labels: [paper, vip, urgent]"))
    assert commit(hooked, "labels", "-a").returncode == 0
    assert "Gitdesk-Action: labels +vip +urgent -tray\n" in hooked.last_message()
    bare = hooked.new("Mouse", "-q", "it-helpdesk")
    hooked.file(bare).write_text(hooked.text(bare).replace("labels: []", "labels: [mouse]"))
    assert commit(hooked, "a first label", "-a").returncode == 0
    assert "Gitdesk-Action: labels +mouse\n" in hooked.last_message(), "as docs/hooks.md writes it, not 'set labels'"
    hooked.run("note", ticket, "-m", "Called the vendor")
    hooked.run("resolve", ticket, "--note", "Replaced the roller")
    text = path.read_text()
    path.write_text(text[:text.index("## Conversation")].replace("status: resolved", "status: open"))
    assert commit(hooked, "stale buffer", "-a").returncode == 0
    trailers = hooked.last_message()
    assert "Gitdesk-Action: note removed\n" in trailers and "Gitdesk-Action: resolution removed\n" in trailers


def test_hand_made_new_ticket_and_reply_get_trailers(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    path = hooked.file(ticket)
    path.write_text(path.read_text() + "\n## Conversation\n\n### 2026-11-20T10:00:00Z alice — reply\nOn it.\n")
    made = commit(hooked, "reply", "-a")
    assert made.returncode == 0
    assert "Gitdesk-Action: reply\n" in hooked.last_message()
    assert f"gitdesk: note: {ticket}: the reply written by hand is not mailed to the requester" in made.stderr, \
        "an agent who typed a reply in the file must not believe the customer was told"


def test_an_existing_user_hook_still_runs_and_uninstall_restores_it(desk: Desk) -> None:
    hooks_dir = desk.path / ".git" / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    user_hook = hooks_dir / "pre-commit"
    marker = desk.path / "user-hook-ran"
    original = f"#!/bin/sh\ntouch {marker}\n"
    user_hook.write_text(original)
    user_hook.chmod(0o755)
    desk.run("hooks", "install")
    desk.run("hooks", "install")  # idempotent
    assert (hooks_dir / "pre-commit.legacy").read_text() == original
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "priority: normal", "priority: high")
    assert commit(desk, "bump", "-a").returncode == 0
    assert marker.exists(), "the user's own hook ran"
    out = desk.run("hooks", "status").stdout
    assert "pre-commit: installed (runs pre-commit.legacy first)" in out
    desk.run("hooks", "uninstall")
    assert user_hook.read_text() == original and not (hooks_dir / "pre-commit.legacy").exists()
    assert not (hooks_dir / "commit-msg").exists()


def test_a_failing_user_hook_still_blocks_the_commit(desk: Desk) -> None:
    hooks_dir = desk.path / ".git" / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    (hooks_dir / "pre-commit").write_text("#!/bin/sh\necho no >&2\nexit 3\n")
    (hooks_dir / "pre-commit").chmod(0o755)
    desk.run("hooks", "install")
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "priority: normal", "priority: high")
    assert commit(desk, "bump", "-a").returncode != 0


def test_install_respects_core_hooks_path(desk: Desk) -> None:
    desk.git("config", "core.hooksPath", "../my-hooks")  # outside the work tree: see the next test
    desk.run("hooks", "install")
    assert (desk.path.parent / "my-hooks" / "pre-commit").exists()
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "status: open", "status: opne")
    result = commit(desk, "typo", "-a")
    assert result.returncode == 1 and "unknown status 'opne'" in result.stderr


def test_the_check_reads_the_index_not_the_work_tree(hooked: Desk) -> None:
    ticket = hooked.new("x", "-q", "it-helpdesk")
    edit(hooked, ticket, "priority: normal", "priority: high")
    hooked.git("add", "-A")
    edit(hooked, ticket, "priority: high", "priority: whenever")  # unstaged, and wrong
    assert commit(hooked, "bump").returncode == 0


def test_commit_dash_a_uses_the_temporary_index(hooked: Desk) -> None:
    ticket = hooked.new("x", "-q", "it-helpdesk")
    edit(hooked, ticket, "priority: normal", "priority: whenever")
    result = commit(hooked, "bad", "-a")  # git commit -a stages into a temporary GIT_INDEX_FILE
    assert result.returncode == 1 and "unknown priority 'whenever'" in result.stderr


def test_post_hooks_are_quiet_and_fast(hooked: Desk) -> None:
    hooked.new("x", "-q", "it-helpdesk")
    hooked.git("checkout", "-q", "-b", "side")
    hooked.new("y", "-q", "it-helpdesk")
    result = subprocess.run(["git", "checkout", "-q", "main"], cwd=hooked.path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    result = subprocess.run(["git", "merge", "-q", "--no-edit", "side"], cwd=hooked.path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""


# --- check -------------------------------------------------------------------------------


def check_lines(desk: Desk, *args: str) -> list[str]:
    result = desk.run("check", *args, ok=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout.splitlines()


def test_check_all_lists_every_problem(desk: Desk) -> None:
    good = desk.new("fine", "-q", "it-helpdesk")
    typo = desk.new("typo", "-q", "it-helpdesk")
    edit(desk, typo, "status: open", "status: opne")
    edit(desk, typo, "priority: normal", "priority: asap")
    broken = desk.new("broken")
    desk.file(broken).write_text("---\ntitle: [\n---\n")
    missing = desk.new("missing")
    edit(desk, missing, "requester: alice@example.com\n", "")
    wrong_type = desk.new("typed")
    edit(desk, wrong_type, "labels: []", "labels: urgent")
    people = desk.new("people", "-q", "it-helpdesk")
    edit(desk, people, "assignee:", "assignee: zed")
    edit(desk, people, "category:", "category: printers")
    edit(desk, people, "queue: it-helpdesk", "queue: nowhere")
    (desk.path / "tickets" / "README.md").write_text("# not a ticket\n")
    copy = desk.path / "tickets" / "copy-of-ticket.md"
    copy.write_text(desk.text(good))
    latin = desk.new("latin")
    desk.file(latin).write_bytes(desk.file(latin).read_bytes().replace(b"title: latin", b"title: caf\xe9"))
    conflict = desk.new("conflict")
    edit(desk, conflict, "status: new\n", "<<<<<<< HEAD\nstatus: new\n=======\nstatus: open\n>>>>>>> other\n")
    desk.git("add", "-A")
    lines = check_lines(desk, "--all")
    expected = [
        f"tickets/{typo}.md:3: unknown status 'opne' (expected one of: new, open, pending, resolved, closed, rejected)",
        f"tickets/{typo}.md:9: unknown priority 'asap' (expected one of: urgent, high, normal, low)",
        f"tickets/{broken}.md:3: front matter is not valid YAML",
        f"tickets/{missing}.md:1: missing required field 'requester'",
        f"tickets/{wrong_type}.md:12: labels must be a list of names",
        f"tickets/{people}.md:7: unknown queue 'nowhere'",
        f"tickets/{people}.md:5: unknown person 'zed'",
        f"tickets/{people}.md:10: unknown category 'printers'",
        "tickets/README.md: is not a ticket file",
        f"tickets/copy-of-ticket.md:2: duplicate id {good}: tickets/{good}.md has it too",
        f"tickets/{latin}.md:4: not valid UTF-8 (byte 0xe9)",
        f"tickets/{conflict}.md:3: unresolved merge conflict markers",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert not any(good in line and "copy-of" not in line for line in lines)


def test_check_is_clean_and_exits_0_on_a_good_desk(desk: Desk) -> None:
    desk.new("fine", "-q", "it-helpdesk")
    result = desk.run("check")
    assert result.stdout == ""


def test_check_staged_judges_against_the_committed_version(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, f"id: {ticket}", "id: GD-01AAAAAAAAAAAAAAAA")
    edit(desk, ticket, "created: ", "created: 2020-01-01T00:00:00Z\nold_created: ")
    desk.git("add", "-A")
    lines = check_lines(desk, "--staged")
    assert any(f"id cannot change (put back id: {ticket})" in line for line in lines), lines
    assert not any("file name does not match" in line for line in lines), "one fix, not two that contradict"
    assert any("created cannot change" in line for line in lines), lines


def test_check_staged_reports_a_deleted_ticket_and_a_symlink(desk: Desk, tmp_path: Path) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.git("rm", "-q", f"tickets/{ticket}.md")
    target = tmp_path / "elsewhere.md"
    target.write_text("x")
    (desk.path / "tickets" / "GD-01AAAAAAAAAAAAAAAA.md").symlink_to(target)
    desk.git("add", "-A")
    lines = check_lines(desk, "--staged")
    assert f"tickets/{ticket}.md: a ticket file was deleted" in lines[0] or any("deleted" in line for line in lines)
    assert any("is a symbolic link" in line for line in lines)


def test_a_link_where_gitdesk_writes_files_is_refused_at_commit_and_in_a_whole_check(hooked: Desk,
                                                                                    tmp_path: Path) -> None:
    ticket = hooked.new("x", "-q", "it-helpdesk")
    (hooked.path / "attachments").mkdir()
    (hooked.path / "attachments" / ticket).symlink_to(tmp_path, target_is_directory=True)
    (hooked.path / "outbox").mkdir()
    (hooked.path / "outbox" / "mail.eml").write_text("a file, not a link: no business of check's\n")
    hooked.git("add", "-A")
    assert any(f"attachments/{ticket}: is a symbolic link" in line for line in check_lines(hooked, "--staged"))
    result = commit(hooked, "a link")
    assert result.returncode != 0 and "is a symbolic link" in result.stderr
    assert "1 problem in the staged files the desk writes" in result.stderr, "not blamed on the tickets"
    hooked.git("commit", "-qm", "past the hook", "--no-verify")
    assert [line for line in check_lines(hooked, "--all") if "symbolic link" in line] == [
        f"attachments/{ticket}: is a symbolic link; gitdesk never follows links "
        f"(replace the link with a real file or folder: git rm attachments/{ticket})"]
    (hooked.path / "attachments" / ticket).unlink()  # as a clone with core.symlinks=false shows it
    (hooked.path / "attachments" / ticket).write_text(str(tmp_path))
    deeper = hooked.path / "outbox" / "held"
    deeper.mkdir()
    (deeper / "p.txt").symlink_to("/etc/passwd")
    hooked.git("add", "outbox")
    found = [line.split(":", 1)[0] for line in check_lines(hooked, "--all") if "symbolic link" in line]
    assert found == [f"attachments/{ticket}", "outbox/held/p.txt"], "the index is judged, as committed"
    (hooked.path / "kb").mkdir()
    (hooked.path / "kb" / "hardware").symlink_to(tmp_path, target_is_directory=True)  # kb build refuses it
    hooked.git("add", "kb")
    assert any(line.startswith("kb/hardware: is a symbolic link") for line in check_lines(hooked, "--staged"))


def test_reopening_without_a_reason_is_caught_where_config_requires_one(desk: Desk) -> None:
    desk.configure(desk.config + "workflow:\n  reopen_requires_reason: true\n", "reasons")
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "done")
    edit(desk, ticket, "status: resolved", "status: open")
    desk.git("add", "-A")
    assert any("reopening needs a reason" in line for line in check_lines(desk, "--staged"))


def test_check_range_finds_a_bad_commit_in_the_middle(desk: Desk) -> None:
    base = desk.head()
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "status: open", "status: closed")
    desk.git("commit", "-qam", "bad: closed without resolution")
    bad = desk.head()
    edit(desk, ticket, "status: closed", "status: open")
    desk.git("commit", "-qam", "put it back")
    desk.run("note", ticket, "-m", "fine")
    lines = check_lines(desk, "--range", f"{base}..HEAD")
    assert lines and all(f"[in commit {bad[:10]}]" in line for line in lines), lines
    assert any("cannot move from open to closed" in line for line in lines)
    assert check_lines(desk, "--range", f"{desk.head()}~1..HEAD") == []


def test_check_range_accepts_a_clean_merge(desk: Desk) -> None:
    base = desk.head()
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.git("checkout", "-q", "-b", "side")
    desk.run("resolve", ticket, "--note", "fixed")
    desk.git("checkout", "-q", "main")
    desk.run("label", ticket, "+printer")
    desk.git("merge", "-q", "--no-edit", "side")
    assert check_lines(desk, "--range", f"{base}..HEAD") == []


def test_check_json(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "status: open", "status: opne")
    desk.git("add", "-A")
    import json

    (finding,) = json.loads(desk.run("check", "--format", "json", ok=False).stdout)["problems"]
    assert finding["path"] == f"tickets/{ticket}.md" and finding["line"] == 3 and "opne" in finding["message"]


# --- the server side -------------------------------------------------------------------------


@pytest.fixture
def server(desk: Desk, tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(desk.path), str(bare)], check=True)
    desk.git("remote", "add", "origin", str(bare))
    desk.git("fetch", "-q", "origin")
    desk.git("branch", "-q", "--set-upstream-to=origin/main")
    said = subprocess.run([sys.executable, "-m", "gitdesk", "hooks", "install", "--server", "--desk", str(bare)],
                          check=True, capture_output=True, text=True)
    assert (bare / "hooks" / "pre-receive").exists() and "working clone" not in said.stderr
    return bare


def test_the_server_hook_installed_in_a_working_clone_says_where_it_belongs(desk: Desk) -> None:
    said = desk.run("hooks", "install", "--server")
    assert "is a working clone: pre-receive runs only where others push to" in said.stderr


def push(desk: Desk, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "-q", "origin", *args], cwd=desk.path, capture_output=True, text=True)


def test_pre_receive_rejects_a_bad_push_and_accepts_a_good_one(desk: Desk, server: Path) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert push(desk, "main").returncode == 0
    edit(desk, ticket, "status: open", "status: closed")
    desk.git("commit", "-qam", "bad")
    result = push(desk, "main")
    assert result.returncode != 0
    assert f"tickets/{ticket}.md:3: cannot move from open to closed" in result.stderr
    assert "push rejected" in result.stderr
    assert git(server, "rev-parse", "main") != desk.head()
    desk.git("reset", "-q", "--hard", "HEAD~1")
    desk.run("resolve", ticket, "--note", "fixed")
    assert push(desk, "main").returncode == 0
    assert git(server, "rev-parse", "main").strip() == desk.head()


def test_an_outdated_server_hook_says_how_to_renew_it(server: Path) -> None:
    hook = server / "hooks" / "pre-receive"
    hook.write_text(hook.read_text() + "# as an older gitdesk wrote it\n")
    said = subprocess.run([sys.executable, "-m", "gitdesk", "hooks", "status", "--server", "--desk", str(server)],
                          capture_output=True, text=True).stdout
    assert "pre-receive: outdated (run gitdesk hooks install --server again)" in said


def test_pre_receive_checks_a_new_branch(desk: Desk, server: Path) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    push(desk, "main")
    desk.git("checkout", "-q", "-b", "feature")
    edit(desk, ticket, "priority: normal", "priority: asap")
    desk.git("commit", "-qam", "bad")
    result = push(desk, "feature")
    assert result.returncode != 0 and "unknown priority 'asap'" in result.stderr


def test_a_force_push_that_would_drop_a_colleague_s_work_is_refused(desk: Desk, server: Path,
                                                                    tmp_path: Path) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    assert push(desk, "main").returncode == 0
    colleague = tmp_path / "dan"
    subprocess.run(["git", "clone", "-q", str(server), str(colleague)], check=True)
    subprocess.run(["git", "-c", "user.name=Dan", "-c", "user.email=dan@example.com", "commit", "-q",
                    "--allow-empty", "-m", "dan's work"], cwd=colleague, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=colleague, check=True, capture_output=True)
    desk.run("note", ticket, "-m", "mine")
    result = push(desk, "--force", "main")
    assert result.returncode != 0
    assert "push rejected: it would rewrite main, dropping commits others pushed" in result.stderr
    assert "dan's work" in git(server, "log", "-1", "--format=%s", "main")
    assert push(desk, "--delete", "main").returncode != 0
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/master"], cwd=server, check=True)  # git init --bare's
    assert push(desk, "--force", "main").returncode != 0, "a HEAD naming no branch still protects main"
    desk.git("fetch", "-q", "origin")
    assert push(desk, "origin/main:refs/heads/master").returncode == 0  # a master pushed later unguards nothing
    assert push(desk, "--force", "HEAD~1:main").returncode != 0, "a copy elsewhere does not make a rewrite safe"
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=server, check=True)
    assert push(desk, "--delete", "master").returncode == 0, "nothing is lost: a leftover copy may go"
    assert push(desk, "origin/main:refs/heads/master").returncode == 0
    assert push(desk, "HEAD~1:refs/heads/scratch").returncode == 0
    assert push(desk, "--force", ":master", "origin/main:refs/heads/scratch").returncode == 0, \
        "deleted while the same push puts its commits on another branch"
    desk.git("commit", "-q", "--allow-empty", "-m", "only on master")
    assert push(desk, "HEAD:refs/heads/master").returncode == 0
    assert push(desk, "--delete", "master").returncode != 0, "its last commit is on no other branch"
    desk.git("reset", "-q", "--hard", "HEAD~1")
    desk.git("checkout", "-q", "-b", "drafts/mine")  # any other branch is the pusher's own to rewrite
    assert push(desk, "drafts/mine").returncode == 0
    desk.git("commit", "-q", "--amend", "-m", "reworded")
    assert push(desk, "--force", "drafts/mine").returncode == 0


# --- the scripts themselves ----------------------------------------------------------------


def test_the_shipped_hook_scripts_are_the_generated_ones() -> None:
    for name in hookscripts.CLIENT_HOOKS + hookscripts.SERVER_HOOKS:
        shipped = ROOT / "hooks" / name
        assert shipped.read_text() == hookscripts.script(name), name
        assert os.access(shipped, os.X_OK)


def test_a_hook_without_gitdesk_says_what_to_do(tmp_path: Path) -> None:
    script = tmp_path / "pre-commit"
    script.write_text(hookscripts.script("pre-commit", str(tmp_path / "gone" / "python")))
    script.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("gitdesk: gitdesk is not installed (not for the Python these hooks name, nor "
                                     "on PATH), so this commit's tickets cannot be checked: install it (pip install "
                                     "gitdesk), or run gitdesk hooks install with the gitdesk you use, or commit with "
                                     "--no-verify to skip the check")
    post = tmp_path / "post-merge"
    post.write_text(hookscripts.script("post-merge", ""))
    post.chmod(0o755)
    result = subprocess.run([str(post)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0 and "did nothing" in result.stderr


def test_the_pre_commit_framework_runs_gitdesk_check(desk: Desk, tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("the pre-commit framework is not installed here (pip install pre-commit); "
                    "it is part of the test extra, so `make test` installs it")
    ticket = desk.new("x", "-q", "it-helpdesk")
    edit(desk, ticket, "status: open", "status: opne")
    desk.git("add", "-A")
    # Without byte-compiling what pip installs into pre-commit's environment (holidays alone is
    # hundreds of modules): a third of the test's time, and nothing this test is about.
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PIP_NO_COMPILE": "1"}
    result = subprocess.run([pre_commit, "try-repo", str(ROOT), "gitdesk-check", "--verbose"], cwd=desk.path,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unknown status 'opne'" in result.stdout


def test_hooks_are_not_written_into_a_hooks_folder_the_repository_tracks(desk: Desk) -> None:
    """core.hooksPath = .githooks (common in monorepos): the team's tracked hook was rewritten to
    name this machine's Python, and once committed refused every commit on machines without it."""
    team_hook = desk.path / ".githooks" / "pre-commit"
    team_hook.parent.mkdir()
    team_hook.write_text("#!/bin/sh\nexit 0\n")
    team_hook.chmod(0o755)
    desk.git("add", ".githooks")
    desk.git("commit", "-qm", "the team's hooks")
    desk.git("config", "core.hooksPath", ".githooks")
    said = desk.fails("hooks", "install")
    assert said.startswith("gitdesk: error: core.hooksPath is .githooks, a folder inside the repository") \
        and "`gitdesk hook pre-commit`" in said
    assert [path.name for path in team_hook.parent.iterdir()] == ["pre-commit"]
    assert team_hook.read_text() == "#!/bin/sh\nexit 0\n" and desk.status() == ""
    # gitdesk's own scripts copied there, naming a colleague's Python: no command rewrites them.
    for name in hookscripts.CLIENT_HOOKS:
        (team_hook.parent / name).write_text(hookscripts.script(name, "/home/bob/.venv/bin/python"))
    desk.git("add", ".githooks")
    desk.git("commit", "-qm", "gitdesk's hooks", "--no-verify")
    listed = desk.run("list")
    assert "rewritten" not in listed.stderr and desk.status() == ""
    status = desk.run("hooks", "status")  # the drivers were installed all the same: ready
    assert "merge drivers: installed" in status.stdout and "install" not in status.stderr
    said = desk.run("hooks", "uninstall").stdout
    assert "those in .githooks are the repository's: left as they are" in said and desk.status() == ""
    assert "merge drivers: outdated" not in said
    status = desk.run("hooks", "status", ok=False)
    assert status.exit_code == 1 and "the hooks in .githooks are the repository's" in status.stderr


def test_gitdesk_hooks_and_the_pre_commit_framework_share_a_clone_installed_in_either_order(
        desk: Desk, tmp_path: Path) -> None:
    """Installed after gitdesk's, the framework moved ours to pre-commit.legacy, which then ran
    itself without end (a commit never finished); installed before, ours moved the framework's
    script to pre-commit.legacy, which refused every commit ("installed in migration mode")."""
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("the pre-commit framework is not installed here (pip install pre-commit)")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    (desk.path / ".pre-commit-config.yaml").write_text("repos: []\n")
    desk.git("add", ".pre-commit-config.yaml")
    desk.git("commit", "-qm", "the team's pre-commit config")
    ticket = desk.new("x", "-q", "it-helpdesk")

    def framework(*args: str) -> None:
        subprocess.run([pre_commit, *args], cwd=desk.path, env=env, check=True, capture_output=True, timeout=120)

    def commits_are_checked() -> None:
        edit(desk, ticket, "status: open", "status: opne")
        refused = subprocess.run(["git", "commit", "-qam", "typo"], cwd=desk.path, capture_output=True, text=True,
                                 env=env, timeout=60)
        assert refused.returncode == 1 and "unknown status 'opne'" in refused.stderr, refused.stderr
        edit(desk, ticket, "status: opne", "status: open")
        edit(desk, ticket, "priority: normal", "priority: high")
        done = subprocess.run(["git", "commit", "-qam", "priority"], cwd=desk.path, capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Gitdesk-Action: priority normal->high" in desk.last_message(), "commit-msg ran too"

    desk.run("hooks", "install")
    framework("install")  # after gitdesk's: it keeps ours as pre-commit.legacy and runs it first
    commits_are_checked()
    status = desk.run("hooks", "status").stdout
    assert "pre-commit: installed (as pre-commit.legacy, which the pre-commit framework's hook runs first)" in status
    desk.run("hooks", "uninstall")
    assert not (desk.path / ".git" / "hooks" / "pre-commit.legacy").exists()
    framework("install")  # before gitdesk's this time
    said = desk.run("hooks", "install").stdout
    assert "pre-commit: installed as pre-commit.legacy, which the pre-commit framework's hook runs first" in said
    edit(desk, ticket, "priority: high", "priority: normal")
    desk.git("commit", "-qam", "back")
    commits_are_checked()
    # A team's own hook, then the framework (which keeps it as pre-commit.legacy), then gitdesk's:
    # refused before ("both exist"); now ours runs it first, and uninstall puts it back.
    desk.run("hooks", "uninstall")
    framework("uninstall")
    hooks = desk.path / ".git" / "hooks"
    ran = tmp_path / "team-hook-ran"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {ran}\n")
    (hooks / "pre-commit").chmod(0o755)
    framework("install")
    said = desk.run("hooks", "install").stdout
    assert "your previous hook runs before it as pre-commit.legacy.legacy" in said
    edit(desk, ticket, "priority: high", "priority: normal")
    desk.git("commit", "-qam", "again")
    commits_are_checked()
    assert ran.exists(), "the team's hook still runs"
    # `pre-commit uninstall` first puts ours back at pre-commit and leaves the team's hook as
    # pre-commit.legacy.legacy: ours runs it from there (nothing ran it before), and the
    # framework's next install restores the whole chain without losing it.
    framework("uninstall")
    assert (hooks / "pre-commit.legacy.legacy").exists() and not (hooks / "pre-commit.legacy").exists()
    ran.unlink()
    edit(desk, ticket, "priority: high", "priority: normal")
    desk.git("commit", "-qam", "once more")
    assert ran.exists(), "the team's hook runs again"
    assert "pre-commit: installed (runs pre-commit.legacy.legacy first)" in desk.run("hooks", "status").stdout
    framework("install")
    ran.unlink()
    commits_are_checked()
    assert ran.exists() and (hooks / "pre-commit.legacy.legacy").exists(), "nothing lost to the framework's move"
    framework("uninstall")
    desk.run("hooks", "uninstall")
    assert (hooks / "pre-commit").read_text() == f"#!/bin/sh\ntouch {ran}\n"
    edit(desk, ticket, "priority: high", "priority: normal")
    desk.git("commit", "-qam", "back again")
    # What an older gitdesk left after the framework: ours at pre-commit, the framework's moved
    # aside (which then refused every commit). The next command puts them back in order.
    (hooks / "pre-commit").unlink()
    framework("install")
    os.replace(hooks / "pre-commit", hooks / "pre-commit.legacy")
    for name in hookscripts.CLIENT_HOOKS:
        (hooks / name).write_text(hookscripts.script(name, sys.executable))
        (hooks / name).chmod(0o755)
    assert "hooks put back in order (pre-commit)" in desk.run("list").stderr
    commits_are_checked()


def test_the_github_workflow_runs_the_range_check_that_catches_a_bad_pull_request(desk: Desk, tmp_path: Path) -> None:
    import shlex

    import yaml

    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "gitdesk-check.yml").read_text())
    runs = [step["run"] for step in workflow["jobs"]["check"]["steps"] if "run" in step]
    (command,) = [run for run in runs if run.startswith("gitdesk check")]
    assert workflow["jobs"]["check"]["steps"][0]["with"]["fetch-depth"] == 0
    # Play the pull request: a clone, a branch with a bad hand edit, the check as CI runs it.
    ticket = desk.new("x", "-q", "it-helpdesk")
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(desk.path), str(clone)], check=True)
    git(clone, "checkout", "-q", "-b", "pr")
    path = clone / "tickets" / f"{ticket}.md"
    path.write_text(path.read_text().replace("status: open", "status: closed"))
    git(clone, "commit", "-qam", "close by hand")
    args = shlex.split(command.replace("${{ github.base_ref }}", "main"))
    result = subprocess.run([sys.executable, "-m", "gitdesk", *args[1:]], cwd=clone, capture_output=True, text=True)
    assert result.returncode == 1 and "cannot move from open to closed" in result.stdout


def test_commit_msg_adds_what_pre_commit_found_without_starting_python(hooked: Desk, tmp_path: Path) -> None:
    """pre-commit leaves the trailers of the staged change; commit-msg adds them in shell
    (a second Python process cost 0.2 to 0.3 s a commit), and only for that change."""
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    edit(hooked, ticket, "priority: normal", "priority: high")
    # Staged beside it, in what check reads but outside tickets/: pre-commit's one read of the
    # staged change must still give the key of the tickets alone.
    (hooked.path / ".gitattributes").write_text("*.png binary\n")
    hooked.git("add", "-A")
    assert subprocess.run([str(hooked.path / ".git" / "hooks" / "pre-commit")], cwd=hooked.path).returncode == 0
    script = tmp_path / "commit-msg"
    script.write_text(hookscripts.script("commit-msg"))  # no Python named, and none on PATH below
    script.chmod(0o755)
    without_gitdesk = {**os.environ, "PATH": "/usr/bin:/bin"}
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("Bump the printer\n")
    result = subprocess.run([str(script), str(message)], cwd=hooked.path, env=without_gitdesk,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert message.read_text() == (f"Bump the printer\n\nGitdesk-Ticket: {ticket}\n"
                                   "Gitdesk-Action: priority normal->high\n")
    edit(hooked, ticket, "priority: high", "priority: low")  # staged after pre-commit ran: not its trailers
    hooked.git("add", "-A")
    message.write_text("Lower it\n")
    result = subprocess.run([str(script), str(message)], cwd=hooked.path, env=without_gitdesk,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "gitdesk is not installed" in result.stderr
    assert message.read_text() == "Lower it\n"


def test_checking_out_a_file_leaves_the_caches_to_the_next_command(hooked: Desk) -> None:
    # post-checkout skips `git checkout -- FILE` (no branch moved): the next listing still
    # shows the file as checked out.
    import json

    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    edit(hooked, ticket, "priority: normal", "priority: high")

    def priority() -> str:
        rows = json.loads(hooked.run("list", "--format", "json").stdout)["tickets"]
        return next(row["priority"] for row in rows if row["id"] == ticket)

    assert priority() == "high"
    result = subprocess.run(["git", "checkout", "--", f"tickets/{ticket}.md"], cwd=hooked.path,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    assert priority() == "normal"


def test_a_typo_fixed_in_a_question_is_an_edit_not_a_new_question(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    hooked.run("ask", ticket, "-m", "Which tray?")
    edit(hooked, ticket, "Which tray?", "Which tray is it?")
    made = commit(hooked, "typo", "-a")
    assert made.returncode == 0 and "not mailed" not in made.stderr, "it was mailed when it was asked"
    trailers = hooked.last_message().strip().split("\n\n")[-1] + "\n"
    assert "Gitdesk-Action: question edited\n" in trailers and "Gitdesk-Action: question\n" not in trailers


def test_a_reply_re_dated_by_hand_is_an_edit_and_was_mailed(hooked: Desk) -> None:
    ticket = hooked.new("Printer", "-q", "it-helpdesk")
    hooked.at("2026-11-20T09:30:00Z")
    hooked.run("reply", ticket, "-m", "Try the other tray.", "--as", "alice")
    edit(hooked, ticket, "09:30:00Z alice — reply", "09:25:00Z alice — reply")
    made = commit(hooked, "fix the time of my reply", "-a")
    assert made.returncode == 0 and "not mailed" not in made.stderr
    assert "Gitdesk-Action: reply edited" in hooked.last_message()


def test_a_clone_without_its_hooks_is_told_and_a_script_can_ask(desk: Desk) -> None:
    """hooks status printed "missing" and exited 0, with no JSON: a script could not tell."""
    missing = desk.run("hooks", "status", ok=False)
    assert missing.exit_code == 1 and "pre-commit: missing" in missing.stdout
    assert "run gitdesk hooks install" in missing.stderr
    desk.run("hooks", "install")
    said = json.loads(desk.run("hooks", "status", "--format", "json").stdout)
    assert said["installed"] is True and said["merge_drivers"] == "installed"
    assert {hook["state"] for hook in said["hooks"]} == {"installed"}


def test_hooks_installed_by_another_path_to_the_same_python_are_installed(desk: Desk, tmp_path: Path) -> None:
    """python3 beside python (or a pipx gitdesk beside a venv one) called every hook and both
    merge drivers outdated, and status now exits 1 on that."""
    desk.run("hooks", "install")
    other = tmp_path / "bin" / "python-other"
    other.parent.mkdir()
    other.symlink_to(sys.executable)
    # Outside the venv's bin/, the same interpreter finds the venv's packages only when told.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])}
    said = subprocess.run([str(other), "-m", "gitdesk", "hooks", "status", "--desk", str(desk.path)],
                          capture_output=True, text=True, env=env)
    assert said.returncode == 0 and "outdated" not in said.stdout, said.stdout + said.stderr
    (desk.path / ".git" / "hooks" / "pre-commit").write_text(
        (desk.path / ".git" / "hooks" / "pre-commit").read_text().replace(sys.executable, "/nowhere/python"))
    gone = subprocess.run([str(other), "-m", "gitdesk", "hooks", "status", "--desk", str(desk.path)],
                          capture_output=True, text=True, env=env)
    assert gone.returncode == 1 and "pre-commit: outdated" in gone.stdout, "a hook whose Python is gone is not fine"


def test_a_branch_move_does_not_read_the_history_a_clone_never_read(hooked: Desk, tmp_path: Path) -> None:
    """A clone that had only listed tickets read all 100,000 commits inside `git switch`
    (two minutes, silent): post-checkout brings only what was built before up to date."""
    import sqlite3

    hooked.new("Printer", "-q", "it-helpdesk")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(hooked.path), str(clone)], check=True)

    def gitdesk(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "gitdesk", "--desk", str(clone), *args], check=True,
                       capture_output=True)

    gitdesk("hooks", "install")
    gitdesk("list")

    def history_read() -> bool:
        (cache,) = (clone / ".git" / "gitdesk").glob("cache*.sqlite")
        with sqlite3.connect(cache) as connection:
            return connection.execute("SELECT 1 FROM meta WHERE key = 'scan_head'").fetchone() is not None

    assert not history_read()
    subprocess.run(["git", "switch", "-q", "-c", "topic"], cwd=clone, check=True)
    assert not history_read(), "left to the first command that needs it"
    gitdesk("log")
    assert history_read()
    git(clone, "commit", "-q", "--allow-empty", "-m", "later")
    subprocess.run(["git", "switch", "-q", "main"], cwd=clone, check=True)
    (cache,) = (clone / ".git" / "gitdesk").glob("cache*.sqlite")
    with sqlite3.connect(cache) as connection:
        (head,) = connection.execute("SELECT value FROM meta WHERE key = 'scan_head'").fetchone()
    assert head == git(clone, "rev-parse", "HEAD").strip(), "a history read before is kept up to date"


def test_a_clean_check_says_so(desk: Desk) -> None:
    """`gitdesk check` of a clean desk printed nothing at all: after half a minute at 100,000
    tickets, nothing said whether it had looked."""
    desk.new("Printer", "-q", "it-helpdesk")
    result = desk.run("check")
    assert result.stdout == "" and result.stderr == "gitdesk check: no problems found\n"
