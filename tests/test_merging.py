"""Concurrent work on different clones meets at merge time and merges.

Real clones of a real bare repository: replies made on two clones merge
through `git pull`, `git pull --rebase` and `gitdesk sync`; a field given two
values conflicts on that field alone; plain Git without the driver is
measured, and `gitdesk check` catches what it leaves behind.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEST_CONFIG, git, make_desk

from gitdesk.cli import cli

CLEAN = "gitdesk check: no problems found\n"  # what a clean check says (on stderr)


class Clone:
    def __init__(self, path: Path, who: str) -> None:
        self.path = path
        self.who = who

    def run(self, *args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(cli, ["--desk", str(self.path), *args])
        if ok and result.exit_code != 0:
            raise AssertionError(f"{self.who}: gitdesk {' '.join(args)}: {result.output}")
        return result.stdout + result.stderr

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def try_git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True)

    def ticket(self, ticket_id: str) -> dict:  # type: ignore[type-arg]
        return json.loads(self.run("show", ticket_id, "--format", "json"))["ticket"]

    def text(self, ticket_id: str) -> str:
        return (self.path / "tickets" / f"{ticket_id}.md").read_text()


def clone(origin: Path, path: Path, who: str, *, driver: bool = True) -> Clone:
    subprocess.run(["git", "clone", "-q", str(origin), str(path)], check=True)
    git(path, "config", "user.email", f"{who}@example.com")
    git(path, "config", "user.name", who.title())
    c = Clone(path, who)
    if driver:
        c.run("hooks", "install")
    return c


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Clone, Clone, str, Path]:
    seed = make_desk(tmp_path / "seed", monkeypatch, TEST_CONFIG)
    at(monkeypatch, "2026-11-20T09:00:00Z")  # before what the tests do: a ticket made on the real clock is "future"
    ticket = seed.new("Printer on 2F jams", "-q", "it-helpdesk", "-l", "printer", "-l", "paper")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(origin)], check=True)
    return clone(origin, tmp_path / "alice", "alice"), clone(origin, tmp_path / "bob", "bob"), ticket, origin


def at(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setenv("GITDESK_NOW", when)


def two_replies(alice: Clone, bob: Clone, ticket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, "2026-11-20T10:00:00Z")
    alice.run("reply", ticket, "-m", "Alice: on my way")
    alice.git("push", "-q")
    at(monkeypatch, "2026-11-20T09:50:00Z")  # bob wrote his earlier, offline
    bob.run("note", ticket, "-m", "Bob: tray 2 roller worn")


@pytest.mark.parametrize("how", [["pull", "--no-rebase", "--no-edit"], ["pull", "--rebase"]])
def test_concurrent_replies_merge_cleanly_through_git_pull(team, monkeypatch, how) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    two_replies(alice, bob, ticket, monkeypatch)
    result = bob.try_git(*how)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = bob.ticket(ticket)["conversation"]
    assert [e["text"] for e in entries] == ["Bob: tray 2 roller worn", "Alice: on my way"], "time order"
    assert bob.run("check") == CLEAN


def test_concurrent_replies_merge_through_gitdesk_sync(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    two_replies(alice, bob, ticket, monkeypatch)
    out = bob.run("sync")
    assert "1 commit in, 1 out" in out
    alice.run("sync")
    assert [e["text"] for e in alice.ticket(ticket)["conversation"]] == ["Bob: tray 2 roller worn",
                                                                         "Alice: on my way"]
    assert alice.git("rev-parse", "HEAD") == bob.git("rev-parse", "HEAD")


def test_a_push_the_remote_refuses_says_why_at_once(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A protected branch is not another clone pushing first: sync says the server's reason
    once, and does not retry as if it had lost a race."""
    alice, _, ticket, origin = team
    hook = origin / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n")
    hook.chmod(0o755)
    alice.run("note", ticket, "-m", "checked the tray")
    out = alice.run("sync", ok=False)
    assert "the remote refused the push: [remote rejected] (pre-receive hook declined); GH006: Protected branch " \
           "update failed for refs/heads/main; nothing was pushed" in out, out
    assert "raced" not in out and "keeps moving" not in out
    hook.write_text("#!/bin/sh\necho 'Direct pushes to main are blocked (non-fast-forward pushes too).' >&2\nexit 1\n")
    out = alice.run("sync", ok=False)
    assert "the remote refused the push: [remote rejected] (pre-receive hook declined); Direct pushes to main are " \
           "blocked (non-fast-forward pushes too)" in out, "the server's words are not a race"
    hook.unlink()
    stale = origin / "refs" / "heads" / "main.lock"  # a crashed server's: no retry mends it
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.touch()
    out = alice.run("sync", ok=False)  # retried (a live push's lock says the same), then said with its reason
    assert "keeps moving (its last answer:" in out and "main.lock': File exists" in out, out
    stale.unlink()
    alice.git("config", "remote.origin.pushurl", str(origin.parent / "nowhere.git"))
    out = alice.run("sync", ok=False)
    assert "git push failed: '" in out and "does not appear to be a git repository" in out, out


def test_sync_works_without_hooks_installed(team, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, _, ticket, origin = team
    carol = clone(origin, tmp_path / "carol", "carol", driver=False)
    two_replies(alice, carol, ticket, monkeypatch)
    carol.run("sync")
    assert len(carol.ticket(ticket)["conversation"]) == 2


def test_different_fields_and_label_sets_merge(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("set", ticket, "priority", "high")
    alice.run("label", ticket, "+urgent", "-paper")
    alice.git("push", "-q")
    bob.run("take", ticket, "--as", "bob")
    bob.run("label", ticket, "+hardware")
    assert bob.try_git("pull", "--no-rebase", "--no-edit").returncode == 0
    shown = bob.ticket(ticket)
    assert shown["priority"] == "high" and shown["assignee"] == "bob"
    assert shown["labels"] == ["printer", "hardware", "urgent"], "sets: both additions, alice's removal"


def test_two_agents_closing_duplicates_into_one_ticket_both_wait_for_it(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    first = alice.run("new", "Paper jam on 2F", "-q", "it-helpdesk", "-r", "erin@example.com", "--format", "json")
    second = alice.run("new", "2F printer stuck", "-q", "it-helpdesk", "-r", "finn@example.com", "--format", "json")
    one, two = json.loads(first)["id"], json.loads(second)["id"]
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase", "--no-edit")
    alice.run("duplicate", one, "--of", ticket)
    alice.git("push", "-q")
    bob.run("duplicate", two, "--of", ticket)
    assert "1 commit in, 1 out" in bob.run("sync")
    assert sorted(bob.ticket(ticket)["duplicates_waiting"]) == sorted([one, two]), "a set: both wait, none lost"
    alice.run("sync")
    alice.run("resolve", ticket, "--note", "Replaced the roller.")
    bob.run("duplicate", json.loads(bob.run("new", "Jam again", "-q", "it-helpdesk", "-r", "gil@example.com",
                                            "--format", "json"))["id"], "--of", ticket)
    alice.git("push", "-q")
    bob.run("sync")
    assert len(bob.ticket(ticket)["duplicates_waiting"]) == 1, "told ones leave the list; the newcomer stays"
    assert bob.run("check") == CLEAN


def test_a_duplicate_left_waiting_by_a_merge_is_told_once_by_both_clones_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed = make_desk(tmp_path / "seed", monkeypatch, TEST_CONFIG + "mail:\n  address: help@fernhill.example\n")
    ticket = seed.new("Printer on 2F jams", "-q", "it-helpdesk", "-r", "erin@example.com")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(origin)], check=True)
    alice, bob = clone(origin, tmp_path / "alice", "alice"), clone(origin, tmp_path / "bob", "bob")
    alice.run("resolve", ticket, "--note", "Replaced the roller.")
    alice.git("push", "-q")
    late = json.loads(bob.run("new", "Jam again", "-q", "it-helpdesk", "-r", "gil@example.com", "--format", "json"))
    bob.run("duplicate", late["id"], "--of", ticket)  # bob had not seen it solved
    bob.run("sync")
    bob.git("push", "-q")
    alice.run("sync")
    assert alice.ticket(ticket)["duplicates_waiting"] == [late["id"]], "nobody told gil"
    soon = datetime.now(timezone.utc) + timedelta(hours=1)  # the tickets were made on the real clock
    at(monkeypatch, soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    alice.run("rules", "run")  # both clones' schedules tell gil, before either syncs
    at(monkeypatch, (soon + timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    bob.run("rules", "run")
    alice.git("push", "-q")
    assert "1 commit in, 1 out" in bob.run("sync") or bob.git("status", "--porcelain") == ""
    assert "duplicates_waiting" not in bob.ticket(ticket)
    mails = [path for path in bob.git("ls-files", "outbox").splitlines() if late["id"] in path]
    assert len(mails) == 2, "'we are working on it' and the answer: the same from both clones, kept once"
    assert bob.run("check") == CLEAN


def test_the_same_field_two_ways_conflicts_on_that_field_alone(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("set", ticket, "priority", "high")
    alice.git("push", "-q")
    bob.run("set", ticket, "priority", "low")
    bob.run("note", ticket, "-m", "no rush")
    result = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert result.returncode != 0
    text = bob.text(ticket)
    assert "<<<<<<< ours\npriority: low\n=======\npriority: high\n>>>>>>> theirs\n" in text
    assert text.count("<<<<<<<") == 1 and "no rush" in text
    bob.git("add", "-A")
    lines = bob.run("check", "--staged", ok=False)
    assert "unresolved merge conflict markers" in lines


def test_sync_stops_on_a_real_conflict_and_changes_nothing(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("set", ticket, "priority", "high")
    alice.git("push", "-q")
    bob.run("set", ticket, "priority", "low")
    head = bob.git("rev-parse", "HEAD")
    result = CliRunner().invoke(cli, ["--desk", str(bob.path), "sync"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"gitdesk: error: sync stopped: a real conflict in tickets/{ticket}.md "
                                    "(priority: low here, high on origin/main); nothing was changed"), \
        "each side's value, with the rebase's 'ours' and 'theirs' named for what they are"
    assert "(in a rebase, ours is the upstream's side and theirs is yours;" in result.stderr, \
        "the markers the hint sends them to say 'ours' for origin's value"
    assert bob.git("rev-parse", "HEAD") == head
    assert bob.git("status", "--porcelain") == ""
    assert not (bob.path / ".git" / "rebase-merge").exists()


def test_two_agents_who_took_one_ticket_are_told_how_to_drop_their_own_take(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("take", ticket)
    alice.git("push", "-q")
    bob.run("take", ticket)
    result = CliRunner().invoke(cli, ["--desk", str(bob.path), "sync"])
    assert result.exit_code == 1 and "(assignee: bob here, alice on origin/main)" in result.stderr
    assert "two of you took the same ticket: agree who keeps it; git rebase --skip drops your own take" in \
        result.stderr


def test_two_tickets_that_took_one_id_are_not_told_to_be_joined(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each agent copied a ticket file as a template for a new one, keeping its id: sync said
    to fix the lines between the markers, joining two requesters' tickets into one."""
    alice, bob, ticket, _ = team
    twin = "GD-01M8RDA4M0EG37GJR7"
    for who, title, requester in ((alice, "Wi-Fi drops", "ann@example.org"), (bob, "Phone dead", "ben@example.org")):
        text = who.text(ticket).replace(ticket, twin).replace("Printer on 2F jams", title)
        text = re.sub(r"requester: .*", f"requester: {requester}", text)
        (who.path / "tickets" / f"{twin}.md").write_text(text)
        who.git("add", f"tickets/{twin}.md")
        who.git("commit", "-qm", title)
    alice.git("push", "-q")
    result = CliRunner().invoke(cli, ["--desk", str(bob.path), "sync"])
    assert result.exit_code == 1
    assert (f"tickets/{twin}.md was written as a new ticket on both sides: two tickets took one id, do not join "
            f"them; keep the shared one (git checkout --ours tickets/{twin}.md, git add tickets/{twin}.md) and write "
            "yours again with gitdesk new") in result.stderr
    assert "fix the lines between" not in result.stderr


def test_a_ticket_deleted_on_one_side_is_only_offered_back(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Sync offered "or delete it (git rm …)", a way through the rebase the next sync refused."""
    alice, bob, ticket, _ = team
    alice.git("rm", "-q", f"tickets/{ticket}.md")
    alice.git("commit", "-qm", "tidy up", "--no-verify")
    alice.git("push", "-q")
    bob.run("take", ticket)
    result = CliRunner().invoke(cli, ["--desk", str(bob.path), "sync"])
    assert result.exit_code == 1
    assert (f"tickets/{ticket}.md was deleted on one side and changed on the other: keep it (git add "
            f"tickets/{ticket}.md); tickets are kept forever") in result.stderr
    assert "git rm" not in result.stderr


def test_a_conflict_in_the_resolution_is_named_not_shown_as_two_dashes(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("resolve", ticket, "--note", "Updated the dock firmware.")
    alice.git("push", "-q")
    bob.run("resolve", ticket, "--note", "Replaced the USB-C cable.")
    result = CliRunner().invoke(cli, ["--desk", str(bob.path), "sync"])
    assert result.exit_code == 1
    assert "resolution: changed differently here and on origin/main" in result.stderr
    assert "- here" not in result.stderr


def test_sync_retries_when_another_clone_pushes_first(team, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    import sys

    bob.run("note", ticket, "-m", "bob's note")
    marker = tmp_path / "raced"
    hook = bob.path / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\n[ -e {marker} ] && exit 0\ntouch {marker}\ncd {alice.path} && "
                    f"{sys.executable} -m gitdesk reply {ticket} -m 'alice got there first' >/dev/null && "
                    "git push -q\n")
    hook.chmod(0o755)
    out = bob.run("sync")
    assert "push raced another clone" in out
    texts = [e["text"] for e in bob.ticket(ticket)["conversation"]]
    assert "alice got there first" in texts and "bob's note" in texts


def test_sync_refuses_uncommitted_work(team) -> None:  # type: ignore[no-untyped-def]
    _, bob, ticket, _ = team
    path = bob.path / "tickets" / f"{ticket}.md"
    path.write_text(path.read_text() + "hand edit\n")
    assert "has uncommitted changes" in bob.run("sync", ok=False)
    bob.git("checkout", "--", ".")
    (bob.path / "NOTES.md").write_text("team notes\n")
    bob.git("add", "NOTES.md")
    bob.git("commit", "-qm", "notes", "--no-verify")
    bob.git("mv", "NOTES.md", "TEAM.md")
    said = bob.run("sync", ok=False)
    assert "TEAM.md has uncommitted changes (commit" in said, "a rename is one change, not two"


# --- plain Git, without the driver ----------------------------------------------------------

PLAIN_GIT_CASES = {
    # (alice's change, bob's change): conflicts without the driver?
    ("status", "assignee"): False,
    ("assignee", "queue"): False,
    ("queue", "priority"): False,
    ("status", "labels"): False,
    ("priority", "labels"): False,
    ("priority", "category"): True,
    ("reply", "field"): False,
    ("mailed reply", "labels"): True,  # a reply to a requester by mail records its Message-ID next to labels
    ("reply", "reply"): True,
    ("resolve", "reply"): True,
}


def _change(c: Clone, ticket: str, what: str, who: str) -> None:
    if what == "status":
        c.run("set", ticket, "status", "pending")
    elif what == "assignee":
        c.run("assign", ticket, "bob")
    elif what == "queue":  # by hand: every other queue auto-assigns, which would touch assignee too
        path = c.path / "tickets" / f"{ticket}.md"
        path.write_text(path.read_text().replace("queue: it-helpdesk", "queue: it-infra"))
        c.git("commit", "-qam", "move")
    elif what in ("priority", "field"):
        c.run("set", ticket, "priority", "high")
    elif what == "category":
        c.run("set", ticket, "category", "hardware")
    elif what == "labels":
        c.run("label", ticket, "+urgent")
    elif what in ("reply", "mailed reply"):
        c.run("reply", ticket, "-m", f"{who} was here")
    elif what == "resolve":
        c.run("resolve", ticket, "--note", "replaced the roller")


@pytest.mark.parametrize(("mine", "theirs"), list(PLAIN_GIT_CASES))
def test_what_plain_git_merges_without_the_driver(tmp_path, monkeypatch, mine, theirs) -> None:  # type: ignore[no-untyped-def]
    mailed = ["-r", "sam@customer.example"] if "mailed reply" in (mine, theirs) else []  # else an agent asked
    seed = make_desk(tmp_path / "seed", monkeypatch,
                     TEST_CONFIG + ("mail:\n  address: help@example.com\n" if mailed else ""))
    ticket = seed.new("Printer on 2F jams", "-q", "it-helpdesk", "-l", "printer", *mailed)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(origin)], check=True)
    alice = clone(origin, tmp_path / "a", "alice", driver=False)
    bob = clone(origin, tmp_path / "b", "bob", driver=False)
    for c in (alice, bob):
        (c.path / ".git" / "info").mkdir(exist_ok=True)
        (c.path / ".git" / "info" / "attributes").write_text("*.md merge=text\n")  # no driver here
    _change(alice, ticket, mine, "alice")
    alice.git("push", "-q")
    _change(bob, ticket, theirs, "bob")
    conflicted = bob.try_git("pull", "--no-rebase", "--no-edit").returncode != 0
    assert conflicted == PLAIN_GIT_CASES[(mine, theirs)], (mine, theirs, bob.text(ticket))
    if conflicted:
        bob.git("add", "-A")
        assert "merge conflict markers" in bob.run("check", "--staged", ok=False)
    else:
        assert bob.run("check") == CLEAN


def test_check_in_ci_catches_a_bad_merge_made_by_a_host(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two valid changes can merge cleanly, line by line, into an invalid desk:
    here a category removed from config on one side and used on the other."""
    alice, bob, ticket, _ = team
    base = bob.git("rev-parse", "HEAD").strip()
    config = alice.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("  network: Wi-Fi and VPN\n", ""))
    alice.git("commit", "-qam", "drop the network category")
    alice.git("push", "-q")
    bob.run("set", ticket, "category", "network")
    assert bob.try_git("pull", "--no-rebase", "--no-edit").returncode == 0
    findings = bob.run("check", "--range", f"{base}..HEAD", ok=False)
    merge = bob.git("rev-parse", "HEAD").strip()
    assert "unknown category 'network'" in findings and f"[in commit {merge[:10]}]" in findings


def asked_and_reminded(alice: Clone, bob: Clone, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ticket asked a question on 20 November and reminded on the 24th, on both clones."""
    at(monkeypatch, "2026-11-20T10:00:00Z")
    ticket: str = json.loads(alice.run("new", "VPN broken", "-q", "it-helpdesk", "-r", "carol@example.com",
                                       "--format", "json"))["id"]
    alice.run("ask", ticket, "-m", "Which VPN client version?")
    at(monkeypatch, "2026-11-24T10:00:00Z")
    alice.run("rules", "run")  # the reminder
    alice.run("sync")
    bob.run("sync")
    return ticket


def test_a_rule_that_raced_the_requesters_answer_is_dropped_and_judged_again(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _, _ = team
    ticket = asked_and_reminded(alice, bob, monkeypatch)
    at(monkeypatch, "2026-12-04T10:00:00Z")  # long unanswered: resolve-unanswered is due
    bob.run("reply", ticket, "--as", "carol@example.com", "-m", "It is version 5.2.1.")  # intake on bob's clone
    bob.run("sync")
    queued = sorted((alice.path / "outbox").glob("*.eml"))
    ran = alice.run("rules", "run")  # the cron clone, before it has seen her answer
    assert "resolve-unanswered" in ran and alice.ticket(ticket)["status"] == "resolved"
    out = alice.run("sync")
    assert f"dropped this clone's commit of rule resolve-unanswered on {ticket}: the ticket changed on " \
        "origin/main meanwhile; the rule judges it again on its next run" in out
    shown = alice.ticket(ticket)
    assert shown["status"] == "open" and shown["conversation"][-1]["text"] == "It is version 5.2.1."
    assert sorted((alice.path / "outbox").glob("*.eml")) == queued, "no 'we have not heard back' to her"
    assert "resolve-unanswered" not in alice.run("rules", "run"), "judged again: not due"
    assert alice.git("rev-parse", "HEAD") == alice.git("rev-parse", "origin/main")


def test_an_answer_taken_in_before_a_rule_pushed_its_closing_reopens_the_ticket(team, monkeypatch,  # type: ignore[no-untyped-def]
                                                                                 tmp_path) -> None:
    """Bob's clone takes in the requester's answer at 09:55 and has not pushed; at 10:00 the
    cron clone closes the ticket as unanswered and pushes first. Bob's sync must not stop for
    ever on 'status: open here, resolved on origin/main': the answer reopens it."""
    alice, bob, _, _ = team
    ticket = asked_and_reminded(alice, bob, monkeypatch)
    at(monkeypatch, "2026-12-04T09:55:00Z")
    answer = tmp_path / "answer.eml"
    answer.write_bytes(f"From: Carol <carol@example.com>\nTo: help@example.com\nSubject: Re: VPN broken [{ticket}]\n"
                       "Message-ID: <carol-answer@example.com>\nDate: Fri, 04 Dec 2026 09:55:00 +0000\n\n"
                       "It is version 5.2.1.\n".encode())
    bob.run("intake", "eml", str(answer))
    at(monkeypatch, "2026-12-04T10:00:00Z")
    assert "resolve-unanswered" in alice.run("rules", "run")
    alice.run("sync")
    out = bob.run("sync")
    assert f"kept the requester's answer taken in here over rule resolve-unanswered on {ticket} on origin/main: " \
        "it came before the rule acted, so the ticket stays open" in out
    shown = bob.ticket(ticket)
    assert shown["status"] == "open" and shown["timings"]["reopen_count"] == 1
    assert [entry["text"] for entry in shown["conversation"]][-1] == "It is version 5.2.1."
    assert bob.git("rev-parse", "HEAD") == bob.git("rev-parse", "origin/main"), "pushed"
    alice.run("sync")
    assert alice.ticket(ticket)["status"] == "open" and "resolve-unanswered" not in alice.run("rules", "run")


def test_a_branch_that_answers_and_resolves_merges_into_a_main_that_got_a_note(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, _, ticket, _ = team
    alice.git("switch", "-qc", "fix")
    at(monkeypatch, "2026-11-20T10:00:00Z")
    alice.run("reply", ticket, "-m", "Try the other tray.")
    alice.run("resolve", ticket, "--note", "Replaced the tray 2 roller.")
    alice.git("switch", "-q", "main")
    at(monkeypatch, "2026-11-20T10:05:00Z")
    alice.run("note", ticket, "-m", "Bob called again.")
    merged = alice.try_git("merge", "--no-edit", "fix")  # the pull request's merge button, done by Git
    assert merged.returncode == 0, merged.stdout + merged.stderr
    shown = alice.ticket(ticket)
    assert shown["status"] == "resolved" and shown["resolution"] == "Replaced the tray 2 roller."
    assert [e["text"] for e in shown["conversation"]] == ["Try the other tray.", "Bob called again."]
    assert alice.run("check", "--all") == CLEAN


def test_a_merge_that_brings_another_clones_reply_does_not_call_it_unmailed(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    at(monkeypatch, "2026-11-20T10:00:00Z")
    alice.run("set", ticket, "priority", "high")
    alice.run("reply", ticket, "-m", "We are on it.")
    alice.git("push", "-q")
    at(monkeypatch, "2026-11-20T10:05:00Z")
    bob.run("set", ticket, "priority", "low")
    assert bob.try_git("pull", "--no-rebase", "--no-edit").returncode != 0, "priority: a real conflict"
    path = bob.path / "tickets" / f"{ticket}.md"
    text = path.read_text()
    start, end = text.index("<<<<<<<"), text.index(">>>>>>>")
    path.write_text(text[:start] + "priority: high\n" + text[text.index("\n", end) + 1:])
    bob.git("add", "-A")
    finished = bob.try_git("commit", "--no-edit")
    assert finished.returncode == 0, finished.stderr
    assert "not mailed" not in finished.stderr, "alice's reply was mailed by gitdesk reply; its mail came along"


def test_a_conflict_settled_by_keeping_one_side_is_caught_by_check_and_sync(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keeping one side of a conflicted ticket (git checkout --ours, a hasty hand edit) passes
    against that side, yet loses what the other side added: a reply its requester was mailed,
    or a resolve. check --range and the push check say so."""
    alice, bob, ticket, _ = team
    at(monkeypatch, "2026-11-20T10:00:00Z")
    alice.run("resolve", ticket, "--note", "Cleaned the rollers.")
    alice.git("push", "-q")
    at(monkeypatch, "2026-11-20T10:05:00Z")
    bob.run("ask", ticket, "-m", "Does it still jam today?")
    base = bob.git("rev-parse", "HEAD").strip()
    bob.git("fetch", "-q")
    assert bob.try_git("merge", "-q", "-s", "ours", "--no-edit", "origin/main").returncode == 0  # bob's side only
    found = bob.run("check", "--range", f"{base}..HEAD", ok=False)
    assert "the merge undoes one side's move to resolved" in found
    assert "the merge drops the resolution one side wrote" in found
    assert "the merge drops 1 entry one side added" not in found  # a resolve adds no entry
    said = bob.run("sync", ok=False)  # judges what it is about to push, as a server's hook would
    assert "sync stopped before pushing" in said and "cannot move from resolved to pending" in said


def test_a_merge_that_keeps_only_one_side_s_reply_is_caught(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    at(monkeypatch, "2026-11-20T10:00:00Z")
    alice.run("reply", ticket, "-m", "Alice's answer")
    alice.git("push", "-q")
    bob.run("reply", ticket, "-m", "Bob's answer")
    base = bob.git("rev-parse", "HEAD").strip()
    bob.git("fetch", "-q")
    assert bob.try_git("merge", "-q", "-s", "ours", "--no-edit", "origin/main").returncode == 0
    found = bob.run("check", "--range", f"{base}..HEAD", ok=False)
    assert "the merge drops 1 entry one side added" in found and "alice — reply" in found
    said = bob.run("sync", ok=False)  # judges the push as a server's hook would: the reply was mailed
    assert "sync stopped before pushing" in said and "the merge drops 1 entry one side added" in said
    # The driver's own merge keeps both: nothing to say.
    bob.git("reset", "-q", "--hard", base)
    assert bob.try_git("merge", "-q", "--no-edit", "origin/main").returncode == 0
    assert bob.run("check", "--range", f"{base}..HEAD") == CLEAN
