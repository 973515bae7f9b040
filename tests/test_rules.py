"""Rules: the desk keeps its promises while nobody is looking (issue 17).

A scripted clock (GITDESK_NOW) walks a desk through days; `gitdesk rules run`
does what is due, each change a commit with a Gitdesk-Rule trailer, once however
often it runs and on however many clones; event rules act inside the action.
Real Git, real clones of a bare remote, and the digest through a real SMTP server.
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, Desk, git, make_desk, member

CONFIG = TEST_CONFIG.replace("desk:\n  name: Test desk\n", "desk:\n  name: Test desk\n  leads: [dana]\n") + """\
mail:
  address: help@example.com
  name: Example IT
"""
REQUESTER = "erin@customer.example"
CALENDAR_RULES = """\
rules:
  - name: close-resolved
    when: {status: resolved, for: 7d}
    do: [close]
  - name: remind-pending
    when: {status: pending, for: 2d}
    do:
      - mail: reminder
  - name: resolve-unanswered
    when: {status: pending, for: 9d}
    do:
      - resolve: We have not heard back from you, so we closed this request. If the problem is still there, reply to this mail and it opens again.
  - name: first-response-warning
    when: {target: first_response, used: 80%}
    do:
      - notify: assignee
  - name: untaken
    when: {status: new, for: 4h}
    do:
      - notify: leads
  - name: board-members-first
    when: {event: created}
    if: {requester_domain: board.example.com}
    do:
      - set: {priority: high}
      - label: vip
"""


def rules_desk(path: Path, monkeypatch: pytest.MonkeyPatch, rules: str = CALENDAR_RULES) -> Desk:
    desk = make_desk(path, monkeypatch, CONFIG)
    (desk.path / ".gitdesk" / "rules.yml").write_text(rules)
    desk.git("commit", "-qm", "Our rules", "--", ".gitdesk/rules.yml")
    desk.at("2026-11-23T09:00:00Z")  # a Monday, after the digest's hour: no digest is due
    desk.git("config", "user.email", "alice@example.com")
    return desk


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return rules_desk(tmp_path / "desk", monkeypatch)


def run(desk: Desk, *args: str, ok: bool = True) -> dict[str, Any]:
    return json.loads(desk.run("rules", "run", "--format", "json", *args, ok=ok).stdout)  # type: ignore[no-any-return]


def done(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(item["rule"], item["ticket"]) for item in report["actions"] if item["commit"]]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def outbox(desk: Desk) -> list[EmailMessage]:
    return [parse((desk.path / path).read_bytes()) for path in sorted(desk.git("ls-files", "outbox", "*.eml").split())]


def sent_through_smtp(desk: Desk) -> Any:
    """``gitdesk mail send`` to a real SMTP server on 127.0.0.1; the server, stopped, with
    what it accepted."""
    from test_mail_delivery import Server

    server = Server().start()
    try:
        for name, value in server.env().items():
            desk.monkeypatch.setenv(name, value)
        desk.run("mail", "send")
    finally:
        server.stop()
    return server


def pending_ticket(desk: Desk) -> str:
    made = desk.new("VPN drops every hour", "-q", "it-helpdesk", "-r", REQUESTER)
    desk.run("take", made, "--as", "alice")
    desk.run("ask", made, "-m", "Does it happen at home as well?", "--as", "alice")
    return made


# --- the default rules, one by one --------------------------------------------------------------


def body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_init_writes_commented_default_rules_that_check_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    fresh = make_desk(tmp_path / "fresh", monkeypatch, CONFIG)
    text = (fresh.path / ".gitdesk" / "rules.yml").read_text()
    assert "# A resolved ticket the requester never answered is closed after a week." in text
    assert fresh.run("check", "--all").exit_code == 0
    listed = json.loads(fresh.run("rules", "--format", "json").stdout)["rules"]
    assert [rule["name"] for rule in listed] == ["close-resolved", "remind-pending", "resolve-unanswered",
                                                 "first-response-warning", "first-response-missed",
                                                 "resolution-missed", "untaken", "weekly-digest"]
    assert listed[1]["when"] == "pending for 2d working time"
    assert listed[1]["if"] == "" and listed[-1]["to"] == ["leads"], listed[-1]


def test_a_rule_refuses_a_ticket_whose_agent_left_config_and_names_the_fix(desk: Desk) -> None:
    """A rule judges the whole ticket, as the push check does: a commit sync would refuse to
    push must not be made. The error names the file and the fix (docs/config.md: keep people
    who leave, marked away)."""
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.run("assign", made, "bob", "--as", "alice")
    desk.run("resolve", made, "--note", "Replaced the roller.", "--as", "bob")
    desk.configure(desk.config.replace("  bob: {name: Bob Agent, email: bob@example.com, team: it}\n", "")
                   .replace("members: [alice, bob]", "members: [alice]"), "bob left")
    desk.at("2026-11-30T09:30:00Z")
    report = run(desk, ok=False)
    (failed,) = report["actions"]
    assert failed["commit"] is None and "unknown person 'bob'" in failed["error"]
    assert "status: resolved" in desk.text(made)


def test_a_resolved_ticket_nobody_answered_is_closed_after_a_week_once(desk: Desk) -> None:
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.run("resolve", made, "--note", "Replaced the roller.", "--as", "alice")
    desk.at("2026-11-30T08:59:00Z")
    assert done(run(desk)) == [], "six days and 23 hours: not yet"
    desk.at("2026-11-30T09:30:00Z")
    assert done(run(desk)) == [("close-resolved", made)]
    assert "status: closed" in desk.text(made)
    message = desk.last_message()
    assert "Gitdesk-Rule: close-resolved" in message and "Gitdesk-Action: rule" in message
    assert "### 2026-11-30T09:00:00Z gitdesk — note rule close-resolved" in desk.text(made), \
        "the thread names the rule, stamped when it became due"
    head = desk.git("rev-parse", "HEAD")
    assert done(run(desk)) == [] and desk.git("rev-parse", "HEAD") == head, "running again changes nothing"


def test_who_waits_for_a_ticket_a_rule_closed_unanswered_is_not_told_it_is_solved(desk: Desk) -> None:
    """Gina waits for the VPN ticket; its requester never answered and a rule closed it. 'Solved:
    we have not heard back from you' would be false, and addressed to someone else."""
    made = pending_ticket(desk)
    again = desk.new("VPN keeps disconnecting", "-q", "it-helpdesk", "-r", "gina@customer.example")
    desk.run("duplicate", again, "--of", made, "--as", "alice")
    desk.at("2026-11-26T10:00:00Z")
    run(desk)  # the reminder
    desk.at("2026-12-02T10:00:00Z")
    report = run(desk)
    assert ("resolve-unanswered", made) in done(report) and ("(duplicates waiting)", made) not in done(report)
    (skipped,) = [item for item in report["actions"] if item["rule"] == "(duplicates waiting)"]
    assert f"finished by a rule, not solved: {again} waits for its answer (reopen {made} and resolve it, " \
           "which tells them" in skipped["skipped"]
    assert not [mail for mail in outbox(desk) if mail["To"] == "gina@customer.example"
                and "reported is solved" in body(mail)], "nobody is told a problem is solved that nobody solved"
    assert "not heard back" not in desk.text(again)
    desk.run("reopen", made, "-m", "The requester called back.", "--as", "alice")
    desk.run("resolve", made, "--note", "Reinstalled the VPN client.", "--as", "alice")
    told = [mail for mail in outbox(desk) if mail["To"] == "gina@customer.example" and "reported is solved" in body(mail)]
    assert len(told) == 1 and "Reinstalled the VPN client." in body(told[0]), "told when it is really solved"


def test_a_rule_given_a_second_when_is_refused_not_silently_replaced(desk: Desk) -> None:
    rules = desk.path / ".gitdesk" / "rules.yml"
    rules.write_text(rules.read_text().replace("    when: {status: resolved, for: 7d}\n",
                                               "    when: {status: resolved, for: 7d}\n"
                                               "    when: {status: resolved, for: 1d}\n"))
    desk.git("add", ".gitdesk/rules.yml")
    assert "rules.yml:4: rules.when is given twice (lines 3 and 4)" in desk.run("check", ok=False).output


def test_a_requester_is_reminded_once_per_pending_spell_then_resolved(desk: Desk) -> None:
    made = pending_ticket(desk)
    desk.at("2026-11-25T10:00:00Z")
    assert done(run(desk)) == [("remind-pending", made)]
    assert desk.git("log", "-1", "--format=%s").startswith(f"rule remind-pending {made}: "), "git log says which"
    (reminder,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "reminder"]
    assert reminder["To"] == REQUESTER and reminder["Auto-Submitted"] == "auto-generated"
    assert "Does it happen at home as well?" in reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert done(run(desk)) == [], "once per pending spell, not once per run"
    desk.at("2026-11-26T10:00:00Z")
    assert done(run(desk)) == []
    desk.at("2026-12-02T10:00:00Z")
    assert done(run(desk)) == [("resolve-unanswered", made)]
    text = desk.text(made)
    assert "status: resolved" in text and "We have not heard back from you" in text.split("## Resolution")[1]
    resolution = [mail for mail in outbox(desk) if "not heard back" in body(mail)]
    assert len(resolution) == 1 and resolution[0]["To"] == REQUESTER
    assert "is solved" not in body(resolution[0]) and "1 (very unhappy)" not in body(resolution[0]), \
        "in its own words: no score asked for help nobody gave"
    assert resolution[0]["Auto-Submitted"] == "auto-generated", "nobody at the keyboard: no auto-reply answers it"
    assert max(map(len, body(resolution[0]).splitlines())) <= 76, "the rule's words were one 133-column line"


def test_an_answer_ends_the_spell_and_a_new_question_starts_another(desk: Desk) -> None:
    made = pending_ticket(desk)
    desk.at("2026-11-25T10:00:00Z")
    run(desk)
    desk.run("reply", made, "-m", "Only in the office.", "--as", REQUESTER)  # the requester answers: open again
    desk.at("2026-11-25T11:00:00Z")
    desk.run("ask", made, "-m", "Which floor?", "--as", "alice")
    desk.at("2026-11-27T10:00:00Z")
    assert done(run(desk)) == [], "two days into the second spell: not yet"
    desk.at("2026-11-27T11:30:00Z")
    assert done(run(desk)) == [("remind-pending", made)]
    reminders = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "reminder"]
    assert len(reminders) == 2 and "Which floor?" in reminders[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_assignee_is_warned_when_most_of_the_first_response_target_is_used(desk: Desk) -> None:
    made = desk.new("Mail server down", "-q", "it-helpdesk", "-p", "urgent", "-r", REQUESTER)
    desk.run("assign", made, "bob", "--as", "alice")
    # urgent: a first response within an hour (the default priorities)
    desk.at("2026-11-23T09:40:00Z")
    assert done(run(desk)) == []
    desk.at("2026-11-23T09:50:00Z")
    assert done(run(desk)) == [("first-response-warning", made)]
    (warning,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert warning["To"] == "bob@example.com"
    assert warning["Subject"] == f"[{made}] First response target 80% used (rule first-response-warning): " \
        "Mail server down", "the subject says why: a lead's warning and a miss on one ticket read apart"
    assert done(run(desk)) == []
    answered = desk.new("Second outage", "-q", "it-helpdesk", "-p", "urgent", "-r", REQUESTER)
    desk.run("reply", answered, "-m", "Looking at it now.", "--as", "alice")
    desk.at("2026-11-23T11:00:00Z")
    assert answered not in [ticket for _, ticket in done(run(desk))], "answered: no warning"


def test_a_warning_for_someone_away_goes_to_whoever_stands_in(desk: Desk) -> None:
    made = desk.new("Mail server down", "-q", "it-helpdesk", "-p", "urgent", "-r", REQUESTER)
    desk.run("assign", made, "bob", "--as", "alice")
    desk.configure(CONFIG.replace("  bob: {name: Bob Agent, email: bob@example.com, team: it}",
                                  "  bob: {name: Bob Agent, email: bob@example.com, team: it, away: true}"),
                   "bob is on holiday")
    desk.at("2026-11-23T09:50:00Z")
    assert done(run(desk)) == [("first-response-warning", made)]
    (warning,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert warning["To"] == "dana@example.com", "bob is away: the desk's lead hears instead"


def test_a_target_already_missed_is_told_as_missed_not_as_nearly_used(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    missed = ("  - name: first-response-missed\n    when: {target: first_response, missed: true}\n"
              "    do:\n      - notify: lead\n")
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + missed)
    made = desk.new("Mail server down", "-q", "it-helpdesk", "-p", "urgent", "-r", REQUESTER)
    desk.at("2026-11-23T11:00:00Z")  # the one-hour target passed an hour ago; nobody ran the rules since
    acted = [rule for rule, ticket in done(run(desk)) if ticket == made]
    assert "first-response-missed" in acted and "first-response-warning" not in acted, "late news: not both"


def test_new_tickets_nobody_took_are_told_to_the_leads(desk: Desk) -> None:
    made = desk.new("Laptop for the new starter", "-m", "Needed by Monday:\n- Windows 11\n- a docking station")
    desk.at("2026-11-23T13:00:00Z")
    assert done(run(desk)) == [("untaken", made)]
    (told,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert told["To"] == "dana@example.com"
    assert "    Needed by Monday:\n    - Windows 11\n    - a docking station" in body(told).replace("\r\n", "\n"), \
        "a list stays a list"


def test_a_lead_answering_the_notification_writes_an_internal_note(desk: Desk, tmp_path: Path) -> None:
    """Dana answers the desk's word to her ("Alice, can you take this?"): the requester never saw
    that mail, so it is no public reply and no first response."""
    from test_mail_intake import eml, intake

    made = desk.new("Laptop for the new starter", "-r", REQUESTER)
    desk.at("2026-11-23T13:00:00Z")
    run(desk)
    (told,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "notification"]
    answer = (f"From: Dana Lead <dana@example.com>\nTo: help@example.com\nSubject: Re: {told['Subject']}\n"
              f"Message-ID: <dana-1@example.com>\nIn-Reply-To: {told['Message-ID']}\n"
              f"References: {told['References'] or ''} {told['Message-ID']}\n\n"
              "Alice, can you take this one? Frank asks again.\n").encode()
    taken = intake(desk, "eml", eml(tmp_path, answer))
    assert taken["messages"][0]["detail"].endswith("(an agent's answer to the desk's notification: an internal "
                                                   "note)"), "the intake says where it went"
    shown = json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]
    (entry,) = [e for e in shown["conversation"] if e["author"] == "dana"]
    assert entry["kind"] == "note" and "Alice, can you take this one?" in entry["text"]
    assert shown["timings"]["first_response_by"] is None and shown["status"] == "new"


def test_an_event_rule_that_cannot_act_on_a_ticket_leaves_a_note_not_a_refused_ticket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a ticket as it is made is a move the workflow forbids, but only the ticket can
    tell (a rule's if: or an earlier step may make it possible: check does not refuse it).
    The ticket is made all the same (every intake would fail otherwise), and says which
    rule to fix."""
    rules = "rules:\n  - name: close-new\n    when: {event: created}\n    do: [close]\n"
    desk = rules_desk(tmp_path / "desk", monkeypatch, rules)
    assert desk.run("check", "--all").exit_code == 0
    made = desk.new("Heating is off", "-q", "facilities")
    assert "Rule close-new (when a ticket is created) could not act: cannot move from open to closed" \
        in desk.text(made)
    assert "fix it in .gitdesk/rules.yml:2." in desk.text(made)
    assert "rule close-new could not act:" in desk.last_message()


def test_a_broken_rules_file_does_not_stop_new_tickets_or_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone pushed a rules file check refuses (--no-verify, a host's web editor). Mail keeps
    coming in with nobody at the keyboard: every new ticket is still made, says the desk's
    rules were not applied and why, and the person making it is told; the scheduled run
    refuses with the fix, as check does."""
    from test_mail_intake import eml, intake

    desk = rules_desk(tmp_path / "desk", monkeypatch, "rules:\n  - name: vip\n    when: {event: created}\n"
                      "    do: [{assign: nobody-here}]\n")
    assert desk.run("check", "--all", ok=False).exit_code == 1
    made = desk.run("new", "Heating is off", "-q", "facilities", "--format", "json")
    assert "rules were not applied" in made.stderr and "nobody-here" in made.stderr, made.stderr
    text = desk.text(json.loads(made.stdout)["id"])
    assert "The desk's rules were not applied" in text and ".gitdesk/rules.yml" in text, text
    mail = (b"From: Frank <frank@customer.org>\nTo: help@example.com\nSubject: Printer jams\n"
            b"Message-ID: <frank-1@customer.org>\n\nIt jams on every page.\n")
    taken = intake(desk, "eml", eml(tmp_path, mail))
    assert [m["outcome"] for m in taken["messages"]] == ["new"], taken
    said = desk.run("intake", "eml", str(eml(tmp_path, mail.replace(b"frank-1", b"frank-2"), "two.eml")))
    assert "the desk's rules were not applied" in said.stderr, "whoever runs intake is told, as new tells"
    refused = desk.run("rules", "run", ok=False)
    assert refused.exit_code == 1 and "nobody-here" in refused.stderr
    desk.run("resolve", made_id := json.loads(made.stdout)["id"], "-m", "Reset the boiler", "--no-send")
    reopened = desk.run("reopen", made_id, "-m", "Cold again", "--no-send")
    assert "rules were not applied" in reopened.stderr


def test_a_rule_may_keep_a_ticket_out_of_the_knowledge_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kb is a person's decision, and a rule is a person's decision written down."""
    rules = ("rules:\n  - name: board-stays-private\n    when: {event: created}\n"
             "    if: {requester_domain: board.example.com}\n    do:\n      - set: {kb: \"false\"}\n")
    desk = rules_desk(tmp_path / "desk", monkeypatch, rules)
    assert desk.run("check", "--all").exit_code == 0
    made = desk.new("Board laptop", "-q", "it-helpdesk", "-r", "chair@board.example.com")
    assert "kb: false" in desk.text(made) or "kb: 'false'" in desk.text(made), desk.text(made)


def test_the_listing_shows_a_rule_s_conditions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = ("rules:\n  - name: vip\n    when: {status: new, for: 4h}\n"
             "    if: {queue: [it-helpdesk], requester_domain: [customer.org]}\n    do:\n      - notify: leads\n")
    desk = rules_desk(tmp_path / "desk", monkeypatch, rules)
    (listed,) = json.loads(desk.run("rules", "--format", "json").stdout)["rules"]
    assert listed["if"] == "queue it-helpdesk, requester_domain customer.org"
    assert "new for 4h if queue it-helpdesk" in desk.run("rules").stdout


def test_the_listing_shows_the_start_of_a_step_s_words_and_json_all_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    words = "We have not heard back from you, so we have marked this request as solved. Reply to reopen it."
    rules = f"rules:\n  - name: give-up\n    when: {{status: pending, for: 9d}}\n    do:\n      - resolve: {words}\n"
    desk = rules_desk(tmp_path / "desk", monkeypatch, rules)
    (listed,) = json.loads(desk.run("rules", "--format", "json").stdout)["rules"]
    assert listed["do"] == [f"resolve {words}"]
    (_header, row) = desk.run("rules").stdout.splitlines()
    assert "resolve We have not heard back from you, so we …" in row and "nothing waiting" in row
    assert len(row) < 120, "piped too, NEXT stays in reach"


def test_an_event_rule_acts_inside_the_action_in_one_commit(desk: Desk) -> None:
    before = int(desk.git("rev-list", "--count", "HEAD"))
    made = desk.new("Projector in the boardroom", "-r", "chair@board.example.com")
    assert int(desk.git("rev-list", "--count", "HEAD")) == before + 1, "one commit: the ticket as the rules left it"
    text = desk.text(made)
    assert "priority: high" in text and "vip" in text and "note rule board-members-first" in text
    assert "Gitdesk-Rule: board-members-first" in desk.last_message()
    plain = desk.new("Projector again", "-r", REQUESTER)
    assert "vip" not in desk.text(plain)


# --- once, however often and wherever it runs -----------------------------------------------------


def test_a_dry_run_lists_what_would_happen_with_ids_and_changes_nothing(desk: Desk) -> None:
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.run("resolve", made, "--note", "Replaced the roller.", "--as", "alice")
    desk.at("2026-12-01T09:00:00Z")
    head = desk.git("rev-parse", "HEAD")
    report = run(desk, "--dry-run")
    assert report["dry_run"] is True
    assert [(item["rule"], item["ticket"]) for item in report["actions"]] == [("close-resolved", made)]
    assert desk.git("rev-parse", "HEAD") == head and desk.status() == ""
    table = desk.run("rules", "run", "--dry-run")
    assert made in table.stdout and "would do" in table.stdout and "Nothing was changed" in table.stderr


def test_a_ticket_with_uncommitted_hand_edits_is_skipped_and_named(desk: Desk) -> None:
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.run("resolve", made, "--note", "Replaced the roller.", "--as", "alice")
    desk.file(made).write_text(desk.text(made) + "\nA thought.\n")
    desk.at("2026-12-01T09:00:00Z")
    (item,) = run(desk)["actions"]
    assert item["skipped"] and "uncommitted changes" in item["skipped"] and item["ticket"] == made
    assert "A thought." in desk.text(made), "the hand edit is untouched"


def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str = CALENDAR_RULES
         ) -> tuple[Desk, str, Desk, Desk]:
    """A desk with a pending ticket, pushed to a bare remote, and alice's and bob's clones."""
    seed = rules_desk(tmp_path / "seed", monkeypatch, rules)
    made = pending_ticket(seed)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(origin)], check=True)
    return seed, made, member(origin, tmp_path / "alice", "alice", monkeypatch), \
        member(origin, tmp_path / "bob", "bob", monkeypatch)


def test_two_clones_that_both_run_the_rules_and_sync_send_each_reminder_once(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    seed, made, alice, bob = team(tmp_path, monkeypatch)
    seed.at("2026-11-25T10:00:00Z")
    assert done(run(alice)) == [("remind-pending", made)]
    assert done(run(bob)) == [("remind-pending", made)]
    alice.run("sync")
    bob.run("sync")
    alice.run("sync")
    for clone in (alice, bob):
        reminders = [mail for mail in outbox(clone) if mail["X-Gitdesk-Event"] == "reminder"]
        assert len(reminders) == 1, "one reminder, not one per clone"
        assert clone.text(made).count("note rule remind-pending") == 1
        assert clone.status() == ""
    assert alice.git("rev-parse", "HEAD") == bob.git("rev-parse", "HEAD")


def test_a_reminder_made_before_the_answer_was_synced_is_withdrawn_not_mailed(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Alice's clone runs the schedule before it has Erin's answer, which Bob's clone took in:
    the two commits merge cleanly, and the reminder waits in outbox/. Mail send drops it, and
    a reminder to a ticket finished meanwhile too: "we are waiting for your answer" would
    reach a requester who answered, or whose request is solved."""
    from test_mail_delivery import Server
    from test_mail_intake import eml, intake

    seed, made, alice, bob = team(tmp_path, monkeypatch)
    other = pending_ticket(bob)
    bob.run("sync")
    alice.run("sync")
    seed.at("2026-11-25T10:00:00Z")
    assert sorted(done(run(alice))) == sorted([("remind-pending", made), ("remind-pending", other)])
    (question,) = [mail for mail in outbox(bob) if mail["X-Gitdesk-Ticket"] == made]
    answer = (f"From: Erin <{REQUESTER}>\nTo: help@example.com\nSubject: Re: {question['Subject']}\n"
              f"Message-ID: <erin-2@customer.example>\nIn-Reply-To: {question['Message-ID']}\n\n"
              "Yes, at home too, every hour on the hour.\n").encode()
    intake(bob, "eml", eml(tmp_path, answer))
    bob.run("resolve", other, "--note", "Replaced the router.", "--as", "bob")
    bob.run("sync")
    alice.run("sync")
    assert len([mail for mail in outbox(alice) if mail["X-Gitdesk-Event"] == "reminder"]) == 2, "merged cleanly"
    (reminder,) = [mail for mail in outbox(alice) if mail["X-Gitdesk-Event"] == "reminder"
                   and mail["X-Gitdesk-Ticket"] == made]
    assert reminder["Message-ID"] in alice.text(made)
    would = json.loads(alice.run("mail", "send", "--dry-run", "--format", "json").stdout)["messages"]
    assert sorted(item["detail"] for item in would if item["outcome"] == "withdrawn") == [
        "its ticket is resolved now: would be removed, not sent",
        "the requester answered meanwhile: would be removed, not sent"]
    server = Server().start()
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        report = json.loads(alice.run("mail", "send", "--format", "json").stdout)
    finally:
        server.stop()
    events = [parse(envelope.original_content)["X-Gitdesk-Event"] for envelope in server.accepted]
    assert "reminder" not in events and report["counts"]["withdrawn"] == 2, events
    assert [mail for mail in outbox(alice) if mail["X-Gitdesk-Event"] == "reminder"] == []
    message = alice.git("log", "-1", "--format=%B")
    assert "withdrawn (the requester answered meanwhile): removed, not sent" in message, message
    assert not list((alice.path / "sent").rglob(f"*{made}*reminder*")), "no sent/ record of it"
    assert f"The reminder to {REQUESTER} was not sent: the requester answered meanwhile" in alice.text(made), \
        "the rule's note says it mailed her: the thread says it did not go"
    assert "was not sent: its ticket is resolved now" in alice.text(other)
    assert alice.run("check", "--all").exit_code == 0
    assert reminder["Message-ID"] not in alice.text(made), "nothing answers a mail nobody got"
    alice.run("reply", made, "-m", "Thanks, we are on it.", "--as", "alice")
    (reply,) = [mail for mail in outbox(alice) if mail["X-Gitdesk-Event"] == "reply"]
    assert reply["In-Reply-To"] == "<erin-2@customer.example>"


def test_a_rule_s_note_and_escalation_written_by_two_clones_are_one_change(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Both clones run the schedule a quarter of an hour apart: what the rule writes is dated
    when it became due, not when each ran, so sync finds the same bytes and keeps one."""
    rules = CALENDAR_RULES + """\
  - name: nudge-the-lead
    when: {status: pending, for: 1d}
    do:
      - note: Still waiting for the requester.
      - escalate: {to: bob, reason: Open too long.}
"""
    seed, made, alice, bob = team(tmp_path, monkeypatch, rules)
    seed.at("2026-11-24T09:30:00Z")
    assert done(run(alice)) == [("nudge-the-lead", made)]
    seed.at("2026-11-24T09:45:00Z")
    assert done(run(bob)) == [("nudge-the-lead", made)]
    alice.run("sync")
    bob.run("sync")
    alice.run("sync")
    text = bob.text(made)
    assert text.count("— note\nStill waiting for the requester.") == 1 and text.count("— escalation") == 1, text
    assert "Open too long.." not in text and alice.git("rev-parse", "HEAD") == bob.git("rev-parse", "HEAD")


def test_a_reminder_never_quotes_a_question_already_answered_or_one_never_asked(desk: Desk) -> None:
    made = pending_ticket(desk)
    desk.run("reply", made, "--as", REQUESTER, "-m", "Only in the office.")  # answered: open again
    desk.run("set", made, "status", "pending", "--as", "alice")  # set by hand, nothing new asked
    bare = desk.new("Monitor flickers", "-q", "it-helpdesk", "-r", REQUESTER)
    desk.run("take", bare, "--as", "alice")
    desk.run("set", bare, "status", "pending", "--as", "alice")
    desk.at("2026-11-26T10:00:00Z")
    report = run(desk)
    assert sorted(done(report)) == sorted([("remind-pending", made), ("remind-pending", bare)])
    assert [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "reminder"] == []
    assert all("no reminder: nothing the desk asked waits for an answer" in item["what"]
               for item in report["actions"]), "said in the rule's note, and acted on once per spell"
    desk.run("reply", made, "--as", REQUESTER, "-m", "Any news?")
    desk.run("ask", made, "-m", "Which office?", "--as", "alice")  # a new pending spell
    desk.at("2026-11-30T10:00:00Z")
    run(desk)
    (reminder,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "reminder"]
    assert "Which office?" in body(reminder) and "at home" not in body(reminder)


def test_after_weeks_without_a_run_the_requester_is_reminded_before_the_ticket_is_closed(desk: Desk) -> None:
    """The scheduler was down while both the reminder (2 days pending) and the closing (9 days)
    fell due: "we have not heard back" must not reach a requester the desk never reminded."""
    made = pending_ticket(desk)
    sent_through_smtp(desk)  # the question reached them: a desk that delivers its mail
    desk.at("2026-12-21T10:00:00Z")  # the schedule was down for four weeks
    report = run(desk)
    assert done(report) == [("remind-pending", made)], "the reminder goes; the closing waits for it"
    events = [mail["X-Gitdesk-Event"] for mail in outbox(desk)]  # sent ones too
    assert events.count("reminder") == 1 and "reply" not in events, "one mail: the reminder, no closing"
    desk.at("2026-12-21T10:15:00Z")
    assert done(run(desk)) == [], "a run before mail send: the reminder queued a quarter of an hour ago holds it"
    sent_through_smtp(desk)
    desk.at("2026-12-24T10:00:00Z")
    assert done(run(desk)) == [], "no sooner after the reminder than the rules promise (7 days after it)"
    desk.at("2026-12-28T10:30:00Z")
    assert done(run(desk)) == [("resolve-unanswered", made)]


def test_a_new_duplicate_of_a_ticket_a_rule_closed_unanswered_waits_for_a_real_answer(desk: Desk) -> None:
    made = pending_ticket(desk)
    desk.at("2026-11-26T10:00:00Z")
    run(desk)  # the reminder
    desk.at("2026-12-07T10:00:00Z")
    assert ("resolve-unanswered", made) in done(run(desk))
    again = desk.new("VPN keeps dropping", "-q", "it-helpdesk", "-r", "frank@customer.example")
    said = desk.run("duplicate", again, "--of", made, "--as", "alice").output
    assert f"{made} was closed by a rule without an answer: reopen it to work on it" in said, "the agent is told"
    (pointer,) = [mail for mail in outbox(desk) if mail["To"] == "frank@customer.example"]
    assert "You will hear from us when it is solved." in " ".join(body(pointer).split())
    assert "not heard back" not in body(pointer) and "working on it" not in body(pointer), "nobody works it"
    assert json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]["duplicates_waiting"] == [again]


def test_a_reminder_is_not_sent_over_the_requester_s_own_words_or_their_reopening(desk: Desk) -> None:
    own = desk.new("My fan is loud", "-q", "it-helpdesk")  # alice's own request
    desk.run("ask", own, "-m", "Always or under load?", "--as", "bob")
    desk.run("reply", own, "-m", "Only when Teams runs.", "--as", "alice")
    desk.run("set", own, "status", "pending", "--as", "bob")
    desk.at("2026-11-26T10:00:00Z")
    report = run(desk, "--rule", "remind-pending")
    assert [item["what"] for item in report["actions"]] == [["no reminder: nothing the desk asked waits for an "
                                                             "answer"]], "her own words are no question to her"


def test_a_lead_in_no_queue_answering_a_notification_writes_a_note(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from test_mail_intake import eml, intake

    desk = rules_desk(tmp_path / "desk", monkeypatch)
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("leads: [dana]", "leads: [dana, carol]"))
    desk.git("commit", "-qam", "carol leads too")
    made = desk.new("Laptop for the new starter", "-r", REQUESTER)
    desk.at("2026-11-23T13:00:00Z")
    run(desk)
    (told,) = [mail for mail in outbox(desk) if mail["To"] == "carol@example.com"]
    answer = (f"From: carol@example.com\nTo: help@example.com\nSubject: Re: {told['Subject']}\n"
              f"Message-ID: <carol-1@example.com>\nIn-Reply-To: {told['Message-ID']}\n\nAlice, yours?\n").encode()
    intake(desk, "eml", eml(tmp_path, answer, "carol.eml"))
    follow = (f"From: alice@example.com\nTo: help@example.com\nSubject: Re: {told['Subject']}\n"
              f"Message-ID: <alice-9@example.com>\nIn-Reply-To: <carol-1@example.com>\n"
              f"References: {told['Message-ID']} <carol-1@example.com>\n\nSure, after lunch.\n").encode()
    intake(desk, "eml", eml(tmp_path, follow, "alice.eml"))
    shown = json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]
    assert [(e["author"], e["kind"]) for e in shown["conversation"] if e["author"] in ("carol", "alice")] == [
        ("carol", "note"), ("alice", "note")], "a lead's answer, and the reply to it in that thread, are notes"
    assert shown["timings"]["first_response_by"] is None


def test_an_entry_dated_in_the_future_never_dates_a_rule_s_mail_in_the_future(desk: Desk) -> None:
    made = pending_ticket(desk)
    path = desk.file(made)
    path.write_text(path.read_text().rstrip("\n") + "\n\n### 2027-06-01T09:00:00Z alice — note\nTypo in the year.\n")
    desk.git("commit", "-qam", "A note")
    desk.at("2026-11-25T10:00:00Z")
    assert done(run(desk)) == [("remind-pending", made)]
    (reminder,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "reminder"]
    assert reminder["Date"].datetime.year == 2026, reminder["Date"]


def test_a_duplicate_waiting_for_a_ticket_solved_by_hand_is_told_once_by_two_clones(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch
                                                                                   ) -> None:
    """A resolution typed into the file mails nobody; each clone's schedule tells who waits in
    its own run, at its own moment: the same mail and entry from both, so sync keeps one."""
    seed, made, alice, bob = team(tmp_path, monkeypatch)
    waiting = seed.new("VPN drops again", "-q", "it-helpdesk", "-r", "erin@example.com")
    seed.run("duplicate", waiting, "--of", made)
    seed.solve_by_hand(made, "pending", "Reinstalled the VPN client.", "Solved it at the desk")
    seed.git("push", "-q", str(tmp_path / "origin.git"), "HEAD")
    for clone in (alice, bob):
        clone.run("sync")
    seed.at("2026-12-04T09:00:00Z")
    assert ("(duplicates waiting)", made) in done(run(alice))
    seed.at("2026-12-04T09:00:31Z")
    assert ("(duplicates waiting)", made) in done(run(bob))
    alice.run("sync")
    bob.run("sync")
    alice.run("sync")
    told = [mail for mail in outbox(bob) if "erin@example.com" in str(mail["To"])]
    assert len({mail["Message-ID"] for mail in told}) == 2, "'we are working on it' and the answer, once each"
    assert len(told) == 2 and bob.text(waiting).count("— reply") == 1, "told once, not once per clone"
    assert alice.git("rev-parse", "HEAD") == bob.git("rev-parse", "HEAD")


def test_a_requester_s_words_merged_under_a_resolution_reopen_the_ticket(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Alice resolves the ticket in a pull request; meanwhile the requester answers "still
    broken" on main. The merge keeps both, and the status resolved: nobody would hear of it,
    and close-resolved would close it. The next run reopens it, once for two clones, and
    leaves a thank-you alone."""
    seed, _, alice, bob = team(tmp_path, monkeypatch)
    made = seed.new("Printer jams", "-q", "it-helpdesk", "-r", REQUESTER)
    thanked = seed.new("Printer toner", "-q", "it-helpdesk", "-r", REQUESTER)
    for ticket_id in (made, thanked):
        seed.run("take", ticket_id, "--as", "alice")
    seed.git("push", "-q", str(tmp_path / "origin.git"), "HEAD")
    for clone in (alice, bob):
        clone.run("sync")
    alice.git("switch", "-q", "-c", "pr")
    seed.at("2026-11-24T09:00:00Z")
    alice.run("resolve", made, "--note", "Updated the VPN client.", "--as", "alice")
    alice.run("resolve", thanked, "--note", "New toner is in.", "--as", "alice")
    alice.git("push", "-q", "origin", "pr")
    seed.at("2026-11-25T08:00:00Z")
    for n, (ticket_id, said) in enumerate(((made, "It jammed again this morning."), (thanked, "Thanks, all good."))):
        mail = tmp_path / f"answer{n}.eml"
        # The thank-you carries a screenshot, as mail often does: its entry lists it after the words.
        mail.write_bytes(f"From: {REQUESTER}\nTo: help@example.com\nSubject: Re: x [{ticket_id}]\n"
                         f"Message-ID: <answer{n}@customer.example>\nMIME-Version: 1.0\n"
                         "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
                         f"{said}\n--b\nContent-Type: image/png\nContent-Disposition: attachment; "
                         "filename=Screenshot_printer_queue_working_again.png\nContent-Transfer-Encoding: base64"
                         "\n\niVBORw0KGgo=\n--b--\n".encode())
        bob.run("intake", "eml", str(mail))
    bob.git("fetch", "-q")
    bob.git("merge", "-q", "--no-edit", "origin/pr")
    assert bob.text(made).startswith("---\nid:") and "status: resolved" in bob.text(made), "the merge kept it resolved"
    bob.run("sync")
    alice.git("switch", "-q", "main")
    alice.run("sync")
    seed.at("2026-12-03T09:00:00Z")  # close-resolved is due on both: a week after the resolution
    report = run(alice)
    assert ("(answered after resolving)", made) in done(report) and ("close-resolved", thanked) in done(report)
    assert ("close-resolved", made) not in done(report), "reopened, not closed"
    assert "status: open" in alice.text(made) and "wrote at 2026-11-25T08:00:00Z, after it was resolved" in \
        alice.text(made)
    seed.at("2026-12-03T09:00:40Z")
    assert ("(answered after resolving)", made) in done(run(bob))
    alice.run("sync")
    bob.run("sync")
    assert alice.text(made).count("after it was resolved") == 1, "one change from two clones"
    assert ("(answered after resolving)", made) not in done(run(bob)), "once"


# --- the weekly digest, through a real SMTP server ---------------------------------------------------


DIGEST_RULE = """\
  - name: weekly-digest
    when: {every: monday, at: "07:00"}
    do:
      - digest: [feedback, workload]
    to: leads
"""


def test_a_digest_moved_to_a_later_hour_is_not_sent_again_for_the_same_week(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + DIGEST_RULE)
    desk.at("2026-11-30T07:30:00Z")
    assert done(run(desk, "--rule", "weekly-digest")) == [("weekly-digest", None)]
    rules = desk.path / ".gitdesk" / "rules.yml"
    rules.write_text(rules.read_text().replace('at: "07:00"', 'at: "08:00"'))
    desk.git("commit", "-qam", "The digest after the stand-up")
    desk.at("2026-11-30T08:30:00Z")
    assert done(run(desk, "--rule", "weekly-digest")) == [], "the same week's digest, once"
    assert len([path for path in desk.git("ls-files", "outbox").split() if "-digest-" in path]) == 1


def test_a_daily_digest_covers_each_day_once_across_the_spring_change_of_clocks(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + """\
  - name: daily-digest
    when: {every: day, at: "01:30"}
    do:
      - digest: [workload]
    to: leads
""")
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text() + "sla:\n  timezone: Europe/Berlin\n")
    desk.git("commit", "-qam", "Berlin")
    for moment in ("2026-03-28T00:31:00Z", "2026-03-29T00:31:00Z", "2026-03-29T23:31:00Z", "2026-03-30T23:31:00Z"):
        desk.at(moment)
        run(desk, "--rule", "daily-digest")
    subjects = [str(mail["Subject"]) for mail in outbox(desk) if "workload" in str(mail["Subject"])]
    assert [subject.rsplit(" ", 1)[-1] for subject in subjects] == ["2026-03-27", "2026-03-28", "2026-03-29"], \
        subjects


def test_the_weekly_digest_reaches_the_lead_through_smtp_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + DIGEST_RULE)
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk", "-r", REQUESTER)
    desk.run("resolve", made, "--note", "Replaced the roller.", "--as", "alice")
    desk.run("feedback", "add", made, "--score", "4", "--comment", "Quick, thanks", "--as", "alice")
    desk.at("2026-11-30T07:05:00Z")
    report = run(desk)
    assert ("weekly-digest", None) in done(report)
    (digest_commit,) = [item["commit"] for item in report["actions"] if item["rule"] == "weekly-digest"]
    assert "Gitdesk-Actor: gitdesk\n" in desk.git("log", "-1", "--format=%B", digest_commit), "as a ticket rule's"
    assert done(run(desk)) == [] or ("weekly-digest", None) not in done(run(desk)), "once a week"
    server = sent_through_smtp(desk)
    digests = [parse(envelope.original_content) for envelope in server.accepted
               if parse(envelope.original_content)["X-Gitdesk-Event"] == "digest"]
    assert len(digests) == 1 and digests[0]["To"] == "Dana Lead <dana@example.com>", "named, as every other mail"
    body = digests[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Feedback" in body and "Workload" in body
    assert digests[0]["Subject"] == "Test desk: feedback and workload for 2026-11-23 to 2026-11-29", \
        "whole days, as gitdesk report --since 2026-11-23 --until 2026-11-29 reads"
    assert "week of 2026-11-30" not in body, "no empty partial week after the period"
    assert all(len(line) <= 78 for line in body.splitlines()), "a mail's lines wrap (tables were 300 wide)"
    desk.at("2026-11-30T09:00:00Z")
    assert ("weekly-digest", None) not in done(run(desk)), "delivered: never again"


def test_a_desk_set_up_after_the_digest_hour_is_not_sent_last_week_s_digest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-30T07:30:00Z")  # Monday, half an hour after 07:00
    monkeypatch.setenv("GITDESK_NOW", "2026-11-30T07:30:00Z")
    desk = make_desk(tmp_path / "desk", monkeypatch, CONFIG)
    (desk.path / ".gitdesk" / "rules.yml").write_text(CALENDAR_RULES + DIGEST_RULE)
    desk.git("commit", "-qm", "Our rules", "--", ".gitdesk/rules.yml")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    desk.at("2026-12-01T08:00:00Z")
    assert ("weekly-digest", None) not in done(run(desk)), "a week before the desk had its rules"
    desk.at("2026-12-07T07:05:00Z")
    assert ("weekly-digest", None) in done(run(desk))


def test_a_working_day_digest_on_monday_covers_friday_and_the_weekend(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    daily = DIGEST_RULE.replace("weekly-digest", "daily-digest").replace("every: monday", "every: weekday")
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + daily)
    desk.at("2026-11-27T07:05:00Z")
    assert ("daily-digest", None) in done(run(desk))
    desk.at("2026-11-30T07:05:00Z")
    assert ("daily-digest", None) in done(run(desk))
    subjects = sorted(str(mail["Subject"]) for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "digest")
    assert subjects == ["Test desk: feedback and workload for 2026-11-26",
                        "Test desk: feedback and workload for 2026-11-27 to 2026-11-29"], "nothing falls between"


# --- rules that are wrong -------------------------------------------------------------------------


@pytest.mark.parametrize(("rules", "expected"), [
    ("rules:\n  - name: x\n    when: {status: pending, for: 2d}\n    do: [clsoe]\n",
     ".gitdesk/rules.yml:4: unknown step 'clsoe' (did you mean 'close'?)"),
    ("rules:\n  - name: x\n    when: {status: pendng, for: 2d}\n    do: [close]\n",
     ".gitdesk/rules.yml:3: unknown status 'pendng' (did you mean 'pending'?)"),
    ("rules:\n  - name: x\n    when: {status: pending, for: 2d}\n    if: {queu: it-helpdesk}\n    do: [close]\n",
     ".gitdesk/rules.yml:4: if: has no condition 'queu' (did you mean 'queue'?)"),
    ("rules:\n  - name: x\n    when: {status: pending, for: 2d}\n    do:\n      - mail: remindr\n",
     ".gitdesk/rules.yml:5: no mail template 'remindr' for a rule (did you mean 'reminder'?)"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - notify: dnaa\n",
     ".gitdesk/rules.yml:5: unknown person or queue 'dnaa' (did you mean 'dana'?)"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - reply: more-detials\n",
     ".gitdesk/rules.yml:5: no canned reply 'more-detials' (did you mean 'more-details'?)"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - reply: ../../../etc/passwd\n",
     ".gitdesk/rules.yml:5: no canned reply '../../../etc/passwd' (write it in .gitdesk/replies/NAME.md)"),
    ("rules:\n  - name: x\n    when: {status: new, for: soon}\n    do: [close]\n",
     ".gitdesk/rules.yml:3: not a duration: 'soon' (write it like 45m, 1h30m, 2h or 1d)"),
    # "for: 7" meant a week to its writer: as minutes, requesters were closed on after 7 minutes
    ("rules:\n  - name: x\n    when: {status: resolved, for: 7}\n    do: [close]\n",
     ".gitdesk/rules.yml:3: '7' has no unit (write 7d for days, 7h for hours or 7m for minutes)"),
    ("rules:\n  - name: x\n    when: {status: resolved, for: 100000d}\n    do: [close]\n",
     ".gitdesk/rules.yml:3: duration is longer than a year: '100000d' (write at most 52w)"),
    ("rules: {}\n", ".gitdesk/rules.yml:1: rules: is a list of rules (begin each rule with '- name: …')"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - assign: carol\n",
     ".gitdesk/rules.yml:5: 'carol' is not an agent of this desk (name a queue member, or a person with agent: "
     "true)"),
    # Steps that pass check must not fail on every run.
    ("rules:\n  - name: x\n    when: {status: open, for: 1h}\n    do:\n      - escalate: {reason: stale}\n",
     ".gitdesk/rules.yml:4: escalate without to: needs the queue's escalate_to, which queue it-infra has not "
     "(give the step to: a queue or person, or limit the rule with if: {queue: …})"),
    ("rules:\n  - name: x\n    when: {status: resolved, for: 1d}\n    do:\n      - escalate: {to: dana, reason: Second look}\n",
     ".gitdesk/rules.yml:4: escalate on a resolved ticket is refused on every run: a finished ticket is reopened "
     "first (notify or note instead, e.g. - notify: leads)"),
    ("rules:\n  - name: x\n    when: {status: closed, for: 1d}\n    do: [close]\n",
     ".gitdesk/rules.yml:4: close on a closed ticket is refused on every run: the workflow does not lead from "
     "closed to closed (drop the step, or start the rule from a status that leads there)"),
    ("rules:\n  - name: x\n    when: {status: pending, for: 1d}\n    do:\n      - resolve: Done\n"
     "      - escalate: {to: dana, reason: Second look}\n",
     ".gitdesk/rules.yml:4: escalate on a resolved ticket is refused on every run"),
    ("rules:\n  - name: x\n    when: {target: resolution, used: 100%}\n    if: {status: [resolved, closed]}\n"
     "    do:\n      - escalate: {to: dana, reason: late}\n",
     ".gitdesk/rules.yml:5: escalate on a closed or resolved ticket is refused on every run"),
    ("rules:\n  - name: x\n    when: {status: pending, for: 1d}\n    if: {status: open}\n    do: [close]\n",
     ".gitdesk/rules.yml:5: if: status open never holds when: status pending, so the rule never acts"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - set: {assignee: carol}\n",
     ".gitdesk/rules.yml:5: 'carol' is not an agent of this desk (name a queue member, or a person with agent: true)"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - set: {message_ids: x}\n",
     ".gitdesk/rules.yml:5: a rule cannot set message_ids: gitdesk keeps it (set a field of your own)"),
    # A name becomes a commit trailer and a file name: a line break in it would forge a trailer.
    ("rules:\n  - name: \"x\\nGitdesk-Actor: dana\"\n    when: {status: new, for: 4h}\n    do: [close]\n",
     ".gitdesk/rules.yml:2: rule name 'x\\nGitdesk-Actor: dana' is not a name"),
    ("rules:\n  - name: \"x\\n\"\n    when: {status: new, for: 4h}\n    do: [close]\n",
     ".gitdesk/rules.yml:2: rule name 'x\\n' is not a name"),
    # YAML that Python cannot hold (a binary number with no digits, a 30th of February)
    ("rules:\n  - name: 0b_\n    when: {status: new, for: 4h}\n    do: [close]\n",
     ".gitdesk/rules.yml: has a value Python cannot hold: invalid literal for int() with base 2: ''"),
    ("rules:\n  - name: x\n    when: {status: new, since: 2026-02-30}\n    do: [close]\n",
     ".gitdesk/rules.yml: has a value Python cannot hold: day is out of range for month"),
    # a value a field cannot take would be written as Python shows it (b'hi', {'a': 1})
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - set: {cost_centre: !!binary aGk=}\n",
     ".gitdesk/rules.yml:5: set cost_centre: binary data is not a value a field can take"),
    ("rules:\n  - name: x\n    when: {status: new, for: 4h}\n    do:\n      - set: {cost_centre: {a: 1}}\n",
     ".gitdesk/rules.yml:5: set cost_centre: a mapping is not a value a field can take"),
])
def test_check_names_the_file_the_line_and_a_guess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str,
                                                   expected: str) -> None:
    desk = make_desk(tmp_path / "desk", monkeypatch, CONFIG)
    (desk.path / ".gitdesk" / "rules.yml").write_text(rules)
    desk.git("add", ".gitdesk/rules.yml")
    result = desk.run("check", "--staged", ok=False)
    assert result.exit_code == 1 and expected in result.stdout
    failed = desk.run("rules", "run", ok=False)
    assert failed.exit_code == 1 and expected in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


# --- event rules wherever a ticket is made; the scheduled round ---------------------------------------

GMAIL_RULE = """\
  - name: personal-addresses-to-triage
    when: {event: created}
    if: {requester_domain: gmail.com}
    do:
      - label: personal-address
"""


def test_a_ticket_taken_in_from_mail_passes_the_event_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_mail_intake import eml, intake, message

    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + GMAIL_RULE)
    made = intake(desk, "eml", eml(tmp_path, message("gmail-new.eml")))["messages"][0]["ticket"]
    text = desk.text(made)
    assert "personal-address" in text and "note rule personal-addresses-to-triage" in text
    assert f"tickets/{made}.md" in desk.committed_files(), "in the intake's own commit"


def test_a_requester_domain_matches_every_spelling_of_that_domain_and_no_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = GMAIL_RULE.replace("gmail.com", "Straße.de")
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES + rule)
    labelled = {who: "personal-address" in desk.text(desk.new("Printer", "-r", who))
                for who in ("uli@straße.de", "uli@STRASSE.de", "uli@xn--strae-oqa.de")}
    assert labelled == {"uli@straße.de": True, "uli@STRASSE.de": False, "uli@xn--strae-oqa.de": True}, \
        "strasse.de is another domain"


def test_an_import_passes_the_event_rules_without_mailing_anyone(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    desk = rules_desk(tmp_path / "desk", monkeypatch, CALENDAR_RULES)
    source = tmp_path / "old.csv"
    source.write_text("id,title,requester,status,created\n"
                      "7,Projector broken,chair@board.example.com,open,2026-10-01T09:00:00Z\n")
    desk.run("import", "csv", str(source), "--queue", "it-helpdesk")
    (path,) = [p for p in desk.git("ls-files", "tickets").split() if p.endswith(".md")]
    text = (desk.path / path).read_text()
    assert "priority: high" in text and "vip" in text
    assert desk.git("ls-files", "outbox") == ""


ROUND = Path(__file__).resolve().parent.parent / "docs" / "ci" / "gitdesk-round.sh"


def round_trip(clone: Desk, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["sh", str(ROUND)], cwd=clone.path, capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": path, **env})


def test_the_round_under_cron_s_path_or_without_a_maildir_says_so(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Cron's PATH is /usr/bin:/bin, and the documented line once set no Maildir: a round that
    took no mail in exited 0 without a word, for ever."""
    _, _, alice, _ = team(tmp_path, monkeypatch)
    bare = subprocess.run(["sh", str(ROUND)], cwd=alice.path, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert bare.returncode == 1 and "gitdesk is not on PATH (/usr/bin:/bin): set PATH in the crontab" in bare.stderr
    ran = round_trip(alice, {"GITDESK_NOW": "2026-11-25T10:00:00Z"})
    assert ran.returncode == 0 and "GITDESK_MAILDIR is not set: no mail taken in this round" in ran.stderr, ran.stderr


def test_the_scheduled_round_takes_mail_in_applies_rules_and_pushes_on_two_clones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mailbox

    from test_mail_intake import message

    seed, made, alice, bob = team(tmp_path, monkeypatch)
    origin = tmp_path / "origin.git"
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    maildir.add(message("gmail-new.eml"))
    seed.at("2026-11-25T10:00:00Z")
    bob.new("Someone else's work", "-q", "it-helpdesk")
    bob.run("sync")  # alice's push will have to integrate this first
    env = {"GITDESK_NOW": "2026-11-25T10:00:00Z", "GITDESK_MAILDIR": str(tmp_path / "Maildir")}
    first = round_trip(alice, env)
    assert first.returncode == 0, first.stderr
    second = round_trip(bob, env)  # the same mail, the same due rule: nothing twice
    assert second.returncode == 0, second.stderr
    alice.run("sync")
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert sum(subject.startswith("rule ") and made in subject for subject in log) == 1
    assert sum("intake" in subject for subject in log) == 1
    for clone in (alice, bob):
        assert clone.text(made).count("note rule remind-pending") == 1
        assert len([m for m in outbox(clone) if m["X-Gitdesk-Event"] == "reminder"]) == 1


def test_the_round_sends_mail_through_the_server_in_the_config_and_waits_without_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local relay set in mail.smtp (no password, so nothing in the environment) is used; a
    desk with no server at all says so and the round still succeeds."""
    from test_mail_delivery import Server

    _, made, alice, bob = team(tmp_path, monkeypatch)
    for name in ("GITDESK_SMTP_HOST", "GITDESK_SMTP_PORT", "GITDESK_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    waiting = round_trip(bob, {"GITDESK_NOW": "2026-11-23T10:00:00Z"})
    assert waiting.returncode == 0 and "no SMTP server is set" in waiting.stderr, waiting.stderr
    server = Server().start()
    try:
        config = alice.path / ".gitdesk" / "config.yml"
        config.write_text(config.read_text().replace(
            "  name: Example IT\n", f"  name: Example IT\n  smtp: {{host: 127.0.0.1, port: {server.port}, "
                                     "security: none}\n"))
        alice.git("commit", "-qam", "our relay")
        sent = round_trip(alice, {"GITDESK_NOW": "2026-11-23T10:05:00Z"})
        assert sent.returncode == 0, sent.stderr
    finally:
        server.stop()
    assert [parse(envelope.original_content)["X-Gitdesk-Ticket"] for envelope in server.accepted] == [made], \
        "the question waiting in outbox/ went out"


def test_a_ticket_no_rule_can_read_is_named_not_silently_skipped(desk: Desk) -> None:
    """A hand edit broke the file of a ticket waiting on its requester: the reminder due on it
    cannot be sent, and the run (from cron, nobody watching) says so, as list and report do."""
    made = desk.new("Headset crackles", "-q", "it-helpdesk", "-r", REQUESTER)
    desk.run("ask", made, "-m", "USB or Bluetooth?", "--as", "alice")
    desk.file(made).write_text(desk.text(made).replace("labels: []", "labels: [oops"))
    desk.git("commit", "-qam", "hand edit", "--no-verify")
    desk.at("2026-11-27T09:00:00Z")
    ran = desk.run("rules", "run", "--dry-run")
    assert f"tickets/{made}.md" in ran.stderr and "skipped" in ran.stderr, ran.stderr
    assert f"tickets/{made}.md" in json.loads(desk.run("rules", "run", "--dry-run", "--format", "json")
                                              .stdout)["unreadable"][0]
    assert f"tickets/{made}.md" in desk.run("rules").stderr


def test_a_round_with_a_broken_rules_file_still_pushes_the_mail_in_and_sends_the_outbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone broke rules.yml on the Git host: the rules stop, nothing else does. The new
    requester's ticket reaches the team and the agents' mail goes out; the round exits 1, so
    cron's log shows it."""
    import mailbox

    from test_mail_delivery import Server
    from test_mail_intake import message

    _, _, alice, bob = team(tmp_path, monkeypatch)
    rules = bob.path / ".gitdesk" / "rules.yml"  # as a Git host's web editor would push it
    rules.write_text(rules.read_text().replace("remind-pending", "remind pending", 1))
    bob.git("commit", "-qam", "edited on the web", "--no-verify")
    bob.git("push", "-q", "--no-verify")
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    maildir.add(message("gmail-new.eml"))
    server = Server().start()
    try:
        env = {"GITDESK_NOW": "2026-11-23T10:00:00Z", "GITDESK_MAILDIR": str(tmp_path / "Maildir"),
               "GITDESK_SMTP_HOST": "127.0.0.1", "GITDESK_SMTP_PORT": str(server.port),
               "GITDESK_SMTP_SECURITY": "none"}
        ran = round_trip(alice, env)
    finally:
        server.stop()
    assert ran.returncode == 1 and "gitdesk-round: gitdesk rules run failed (exit 1)" in ran.stderr, ran.stderr
    assert server.accepted, ran.stderr + ran.stdout
    bob.run("sync")
    assert "intake" in bob.git("log", "--format=%s", "-5"), "the mail that came in reached the team"


# --- working time: the desk's calendar, its time zone and its holidays ---------------------------

BUSINESS = CONFIG + """\
sla:
  clock: business
  timezone: Europe/Berlin
  business_hours: "09:00-17:00"
  holidays: [2026-12-24]
"""
WORKING_RULES = """\
rules:
  - name: remind-pending
    when: {status: pending, for: 2d, clock: business}
    do:
      - mail: reminder
  - name: first-response-warning
    when: {target: first_response, used: 80%}
    do:
      - notify: assignee
  - name: morning-digest
    when: {every: weekday, at: '08:00'}
    do:
      - digest: workload
"""


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(tmp_path / "office", monkeypatch, BUSINESS)
    (desk.path / ".gitdesk" / "rules.yml").write_text(WORKING_RULES)
    desk.git("commit", "-qm", "Our rules", "--", ".gitdesk/rules.yml")
    return desk


def test_the_rules_list_says_when_next_in_the_desks_time_zone(office: Desk) -> None:
    office.at("2026-11-27T06:00:00Z")  # Friday 07:00 in Berlin; this machine's zone is UTC
    listed = office.run("rules").stdout
    assert "every working day at 08:00" in listed and "2026-11-27 08:00 CET" in listed, "one zone, named"


def test_two_working_days_pending_skip_the_weekend_in_the_desks_time_zone(office: Desk) -> None:
    office.at("2026-11-27T15:00:00Z")  # Friday 16:00 in Berlin: one working hour left this week
    made = pending_ticket(office)
    office.at("2026-12-01T13:59:00Z")  # Tuesday 14:59 Berlin: 1 h Friday + 8 h Monday + 5h59 today
    assert "remind-pending" not in [rule for rule, _ in done(run(office))]
    office.at("2026-12-01T16:30:00Z")
    assert ("remind-pending", made) in done(run(office))
    note = office.text(made).split("rule remind-pending")[0].rsplit("### ", 1)[1]
    assert note.startswith("2026-12-01T15:00:00Z"), "stamped when two working days (16 h) had passed: 16:00 Berlin"


def test_the_first_response_warning_counts_working_time_and_waits_while_pending(office: Desk) -> None:
    office.at("2026-11-27T15:30:00Z")  # Friday 16:30 Berlin; urgent: a first response within 1 working hour
    made = office.new("Mail server down", "-q", "it-helpdesk", "-p", "urgent", "-r", REQUESTER)
    office.run("assign", made, "bob", "--as", "alice")
    office.at("2026-11-29T12:00:00Z")  # Sunday: half an hour used, the office is shut
    assert done(run(office)) == []
    office.at("2026-11-30T08:30:00Z")  # Monday 09:30 Berlin: 30 + 30 min = all of it; 80 % was at 09:18
    assert ("first-response-warning", made) in done(run(office))
    stamped = office.text(made).split("rule first-response-warning")[0].rsplit("### ", 1)[1]
    assert stamped.startswith("2026-11-30T08:18:00Z")


def test_a_working_day_digest_keeps_its_local_hour_across_daylight_saving_and_skips_holidays(
        office: Desk) -> None:
    def digest_due(now: str) -> str | None:
        office.at(now)
        planned = run(office, "--dry-run")
        found = [item for item in planned["actions"] if item["rule"] == "morning-digest"]
        return found[0]["due"] if found else None

    assert digest_due("2026-12-01T07:30:00Z") == "2026-12-01T07:00:00Z"  # 08:00 in Berlin in winter (UTC+1)
    assert digest_due("2026-07-01T06:30:00Z") == "2026-07-01T06:00:00Z"  # 08:00 in Berlin in summer (UTC+2)
    assert digest_due("2026-12-24T07:30:00Z") is None, "Christmas Eve is a holiday of this desk"
    assert digest_due("2026-12-05T07:30:00Z") is None, "Saturday"
    upcoming = json.loads(office.run("rules", "--format", "json").stdout)["rules"]
    assert [rule["when"] for rule in upcoming][2] == "every working day at 08:00"


def test_what_the_rules_did_reads_as_the_desks_own_work_in_the_workload_report(desk: Desk) -> None:
    made = pending_ticket(desk)
    desk.at("2026-11-26T10:00:00Z")
    run(desk)  # the reminder
    desk.at("2026-12-08T09:00:00Z")  # nine working days later: resolved as unanswered by the rule
    assert ("resolve-unanswered", made) in done(run(desk))
    report = json.loads(desk.run("report", "workload", "--since", "2026-11-23", "--until", "2026-12-09",
                                 "--format", "json").stdout)
    sections = {section["key"]: section["rows"] for section in report["sections"]}
    people = {row["person"]["value"]: row for row in sections["by_person"]}
    assert people["gitdesk"]["team"]["value"] == "(automation)"
    assert made in people["gitdesk"]["resolved"]["ids"]
    assert "(automation)" in {row["team"]["value"] for row in sections["by_team"]}


def test_two_clones_that_both_make_the_weekly_digest_sync_without_a_conflict(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    digest = CALENDAR_RULES + "  - name: weekly-digest\n    when: {every: monday, at: '07:00'}\n" \
                              "    do:\n      - digest: [feedback, workload]\n    to: leads\n"
    seed, _made, alice, bob = team(tmp_path, monkeypatch, digest)
    seed.at("2026-11-30T08:00:00Z")  # Monday, an hour after the digest's time
    for clone in (alice, bob):
        assert ("weekly-digest", None) in done(run(clone))
    alice.run("sync")
    bob.run("sync")  # the same digest, byte for byte (its MIME boundaries too): nothing to merge
    assert len([path for path in bob.git("ls-files", "outbox").split() if "digest" in path]) == 1


def test_two_clones_whose_unpushed_work_differs_queue_one_digest_and_sync(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    digest = CALENDAR_RULES + "  - name: weekly-digest\n    when: {every: monday, at: '07:00'}\n" \
                              "    do:\n      - digest: [feedback, workload]\n    to: leads\n"
    seed, made, alice, bob = team(tmp_path, monkeypatch, digest)
    seed.at("2026-11-29T10:00:00Z")
    alice.run("resolve", made, "--note", "Done on Sunday.")  # not pushed when the schedule fires on both
    seed.at("2026-11-30T08:00:00Z")
    for clone in (alice, bob):
        assert ("weekly-digest", None) in done(run(clone))
    alice.run("sync")
    bob.run("sync")  # two digests, one name and one Message-ID: ours is kept, nothing stops
    alice.run("sync")
    assert len([path for path in bob.git("ls-files", "outbox").split() if "digest" in path]) == 1
    assert alice.git("rev-parse", "HEAD") == bob.git("rev-parse", "HEAD")
    assert bob.status() == "" and bob.run("check").exit_code == 0


def test_a_run_that_escalates_several_tickets_into_a_round_robin_queue_takes_turns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run prepares every change before it commits any: each pick saw the desk before the
    run, and all four went to the first member."""
    rules = ("rules:\n  - name: low-to-infra\n    when: {status: open, for: 30m}\n    if: {priority: low}\n"
             "    do:\n      - escalate: {to: it-infra, reason: Low priority goes to infrastructure}\n")
    desk = rules_desk(tmp_path / "desk", monkeypatch, rules)
    desk.configure(CONFIG.replace("members: [dana]", "members: [dana, bob]"), "bob joins infra")
    made = [desk.new(f"Low {n}", "-q", "it-helpdesk", "-p", "low") for n in range(4)]
    desk.at("2026-11-23T10:00:00Z")
    desk.run("rules", "run")
    owners = [json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["assignee"] for ticket in made]
    assert sorted(owners) == ["bob", "bob", "dana", "dana"], owners


def test_a_ticket_pending_without_a_question_is_neither_reminded_nor_closed_for_want_of_an_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spreadsheet's "On hold" row imported as pending (its wait dated months back), or a
    ticket set pending by hand: the first rules run mailed "We have not heard back from you"
    about a question the desk never asked."""
    desk = rules_desk(tmp_path / "desk", monkeypatch)
    rows = tmp_path / "sheet.csv"
    rows.write_text(f"Subject,Email,Status,Created at\nMouse broken,{REQUESTER},On hold,2026-10-05\n", encoding="utf-8")
    imported = json.loads(desk.run("import", "csv", str(rows), "-q", "it-helpdesk", "--format", "json").stdout)
    held_ticket = imported["items"][0]["ticket"]
    by_hand = desk.new("Docking station", "-q", "it-helpdesk", "-r", REQUESTER)
    desk.run("set", by_hand, "status", "pending", "--as", "alice")
    asked = pending_ticket(desk)
    desk.at("2026-11-26T10:00:00Z")
    run(desk)  # the reminder
    desk.at("2026-12-10T10:00:00Z")
    report = run(desk)
    closed = [ticket for rule, ticket in done(report) if rule == "resolve-unanswered"]
    assert closed == [asked], "only the one asked a question"
    skipped = {(item["rule"], item["ticket"]): item["skipped"] for item in report["actions"] if not item["commit"]}
    for ticket in (held_ticket, by_hand):
        assert skipped[("resolve-unanswered", ticket)].startswith("no question of the desk's waits for an answer")


def test_a_question_asked_on_a_ticket_already_pending_is_waited_on_from_when_it_was_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Doing what the hold says (gitdesk ask) on an imported "On hold" ticket changes no status:
    the next run closed it at once, its wait counted from the row's old status change."""
    desk = rules_desk(tmp_path / "desk", monkeypatch)
    rows = tmp_path / "sheet.csv"
    rows.write_text(f"Subject,Email,Status,Created at\nToner low,{REQUESTER},On hold,2026-10-05\n", encoding="utf-8")
    made = json.loads(desk.run("import", "csv", str(rows), "-q", "it-helpdesk", "--format", "json").stdout)["items"][0]
    ticket = made["ticket"]
    desk.at("2026-11-23T09:20:00Z")
    desk.run("ask", ticket, "-m", "Which toner cartridge?", "--as", "alice")
    desk.at("2026-11-23T09:30:00Z")
    assert done(run(desk)) == [], "ten minutes after the question: nothing"
    desk.at("2026-11-25T10:00:00Z")
    assert done(run(desk)) == [("remind-pending", ticket)], "two working days after the question"


def test_a_rule_s_escalation_tells_whoever_it_handed_the_ticket_to(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule escalating to a queue that assigns by hand committed the ticket alone: nobody
    heard, as a person's escalation now tells the queue's people."""
    desk = rules_desk(tmp_path / "desk", monkeypatch, """\
rules:
  - name: stale-to-helpdesk
    when: {status: open, for: 1h}
    if: {queue: it-infra}
    do:
      - escalate: {to: it-helpdesk, reason: Nobody in infra touched it.}
""")
    desk.configure(desk.config.replace("alice: {name: Alice Agent, email: alice@example.com, team: it}",
                                       "alice: {name: Alice Agent, email: alice@example.com, team: it, notify: true}"),
                   "alice hears")
    made = desk.new("Switch in room 4 blinks", "-q", "it-infra", "-r", REQUESTER)
    desk.at("2026-11-23T11:00:00Z")
    report = run(desk)
    assert done(report) == [("stale-to-helpdesk", made)] and "told alice" in report["actions"][0]["what"]
    (told,) = [mail for mail in outbox(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert told["To"] == "alice@example.com" and "Nobody in infra touched it." in body(told)
