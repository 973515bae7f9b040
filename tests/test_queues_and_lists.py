"""The agent's and the lead's everyday views: list, show, and auto-assignment."""

from __future__ import annotations

import csv
import io
import json

from conftest import TEST_CONFIG, Desk


def ids_of(desk: Desk, *args: str) -> list[str]:
    return [row["id"] for row in json.loads(desk.run("list", "--format", "json", *args).stdout)["tickets"]]


def test_list_filters(desk: Desk) -> None:
    printer = desk.new("Printer jams", "-q", "it-helpdesk", "-c", "hardware", "-a", "printer-2f", "-l", "paper")
    mail = desk.new("Mailbox full", "-r", "carol", "-c", "email")
    heating = desk.new("Too cold", "-q", "facilities", "-c", "facilities")
    done = desk.new("Old one", "-q", "it-helpdesk")
    desk.run("resolve", done, "--note", "fixed")
    desk.run("take", printer)

    assert ids_of(desk) == [printer, mail, heating], "unfinished tickets by default, oldest first"
    assert ids_of(desk, "--all") == [printer, mail, heating, done]
    assert ids_of(desk, "--status", "resolved") == [done]
    assert ids_of(desk, "--status", "new", "--status", "open") == [printer, mail, heating]
    assert ids_of(desk, "--queue", "it-helpdesk") == [printer]
    assert ids_of(desk, "--mine") == [printer]
    assert ids_of(desk, "--assignee", "alice@example.com") == [printer]
    assert ids_of(desk, "--unassigned") == [mail]
    assert ids_of(desk, "--requester", "carol") == [mail]
    assert ids_of(desk, "--requester", "carol@example.com") == [mail]
    assert ids_of(desk, "--category", "facilities") == [heating]
    assert ids_of(desk, "--asset", "PRINTER-2F") == [printer]
    assert ids_of(desk, "--label", "paper") == [printer]
    assert ids_of(desk, "--sort", "-created") == [heating, mail, printer]
    assert "unknown status 'opne'" in desk.fails("list", "--status", "opne")
    assert "unknown queue 'x'" in desk.fails("list", "--queue", "x")
    assert "unknown category 'emial' (expected one of: email," in desk.fails("list", "--category", "emial"), \
        "a typo is not '0 tickets'"
    for both in (("--mine", "--unassigned"), ("--mine", "--assignee", "bob"), ("--unassigned", "--assignee", "bob")):
        result = desk.run("list", *both, ok=False)
        assert result.exit_code == 2 and "--assignee, --mine and --unassigned exclude each other" in result.output, \
            "a usage mistake, as any two options that cannot go together"


def test_list_sorts_priority_in_config_order(desk: Desk) -> None:
    low = desk.new("low", "-p", "low")
    urgent = desk.new("urgent", "-p", "urgent")
    normal = desk.new("normal")
    assert ids_of(desk, "--sort", "priority") == [urgent, normal, low]
    assert ids_of(desk, "--sort", "-priority") == [low, normal, urgent]


def test_list_json_has_front_matter_keys_plus_path(desk: Desk) -> None:
    ticket = desk.new("x", "-l", "a")
    desk.run("set", ticket, "cost_centre", "41")
    (row,) = json.loads(desk.run("list", "--format", "json").stdout)["tickets"]
    assert row["id"] == ticket and row["path"] == f"tickets/{ticket}.md"
    assert row["labels"] == ["a"] and row["cost_centre"] == 41 and row["created"].endswith("Z")


def test_list_csv_and_plain_table_when_piped(desk: Desk) -> None:
    ticket = desk.new("Title, with a comma", "-l", "a", "-l", "b")
    rows = list(csv.DictReader(io.StringIO(desk.run("list", "--format", "csv").stdout)))
    assert rows[0]["title"] == "Title, with a comma" and rows[0]["labels"] == "a; b"
    table = desk.run("list").stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "PRIORITY", "QUEUE", "ASSIGNEE", "AGE", "TITLE"]
    assert table[1].startswith(ticket + "  new") and table[1].endswith("Title, with a comma")
    assert "\x1b[" not in desk.run("list").stdout, "no colour codes when piped"


def test_show_marks_internal_notes_questions_and_escalations(desk: Desk) -> None:
    desk.at("2026-11-20T09:00:00Z")
    ticket = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol", "-m", "Every ten minutes.")
    desk.run("ask", ticket, "-m", "Wired or Wi-Fi?")
    desk.run("note", ticket, "-m", "Might be the new firewall")
    desk.run("escalate", ticket, "--to", "it-infra", "--reason", "Firewall logs needed")
    out = desk.run("show", ticket).stdout
    assert out.startswith(f"{ticket}  VPN drops\n")
    assert "── 2026-11-20 09:00  alice  QUESTION\nWired or Wi-Fi?\n" in out
    assert "INTERNAL NOTE  (internal: not visible to the requester)\nMight be the new firewall" in out
    assert "ESCALATION to it-infra  (internal: not visible to the requester)\nFirewall logs needed" in out
    assert "Every ten minutes." in out


def test_show_json_carries_the_thread(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.run("note", ticket, "-m", "secret")
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["conversation"][0]["internal"] is True and shown["conversation"][0]["kind"] == "note"


def test_round_robin_and_fewest_open_assignment(desk: Desk) -> None:
    desk.configure(TEST_CONFIG.replace("assign: manual", "assign: round-robin"), "round robin")
    got = [json.loads(desk.run("new", f"t{n}", "-q", "it-helpdesk", "--format", "json").stdout)["ticket"]["assignee"]
           for n in range(4)]
    assert got == ["alice", "bob", "alice", "bob"]
    # facilities: fewest-open; fred already has one more open ticket than gina
    first = desk.new("f1", "-q", "facilities")
    second = desk.new("f2", "-q", "facilities")
    third = desk.new("f3", "-q", "facilities")
    owners = [json.loads(desk.run("show", t, "--format", "json").stdout)["ticket"]["assignee"] for t in (first, second, third)]
    assert owners == ["fred", "gina", "fred"]
    desk.run("resolve", first, "--note", "done", "--as", "fred")
    desk.run("resolve", third, "--note", "done", "--as", "fred")
    fourth = desk.new("f4", "-q", "facilities")
    assert json.loads(desk.run("show", fourth, "--format", "json").stdout)["ticket"]["assignee"] == "fred"


def test_tickets_escalated_into_a_round_robin_queue_take_turns_too(desk: Desk) -> None:
    """Round-robin once went by the newest ticket made in the queue: older tickets escalated
    in all went to the same member, turn after turn."""
    desk.configure(TEST_CONFIG.replace("members: [dana]", "members: [dana, bob]"), "bob joins infra")
    desk.at("2026-11-30T09:00:00Z")
    older = [desk.new(f"VPN drops {n}", "-q", "it-helpdesk") for n in range(3)]
    desk.at("2026-12-01T09:00:00Z")
    fresh = desk.new("Switch in room 4 is down", "-q", "it-infra")
    desk.at("2026-12-01T10:00:00Z")
    for ticket in older:
        desk.run("escalate", ticket, "--to", "it-infra", "--reason", "Needs the VPN concentrator", "--as", "alice")
    owners = [json.loads(desk.run("show", t, "--format", "json").stdout)["ticket"]["assignee"]
              for t in (fresh, *older)]
    assert owners == ["dana", "bob", "dana", "bob"]
    # The library without an index (Desk.query unset) reads the files and agrees.
    from gitdesk import actions
    from gitdesk.desk import Desk as Library

    library = Library.open(desk.path)
    desk.at("2026-12-01T11:00:00Z")
    late = desk.new("VPN drops again", "-q", "it-helpdesk")
    outcome = actions.escalate(library, late, "it-infra", "Same concentrator", library.actor("alice"))
    assert library.query is None and outcome.ticket.assignee == "dana"


def test_tickets_moved_into_a_round_robin_queue_take_turns_and_the_thread_says_who_got_them(desk: Desk) -> None:
    """A move (set queue: the CLI, the web's fields form, an assistant) left no trace, so moved
    tickets counted from their creation: every one went to the same member."""
    desk.configure(TEST_CONFIG.replace("members: [dana]", "members: [dana, bob]"), "bob joins infra")
    desk.at("2026-11-30T09:00:00Z")
    older = [desk.new(f"VPN drops {n}", "-q", "it-helpdesk") for n in range(4)]
    desk.at("2026-12-01T09:00:00Z")
    fresh = desk.new("Switch in room 4 is down", "-q", "it-infra")
    for minute, ticket in enumerate(older):
        desk.at(f"2026-12-01T10:0{minute}:00Z")
        desk.run("set", ticket, "queue", "it-infra", "--as", "alice")
    owners = [json.loads(desk.run("show", t, "--format", "json").stdout)["ticket"]["assignee"]
              for t in (fresh, *older)]
    assert owners == ["dana", "bob", "dana", "bob", "dana"]
    assert "The round-robin of queue it-infra gave it to bob." in desk.run("show", older[0]).stdout


def test_a_rule_that_sets_queue_and_assignee_names_only_who_has_the_ticket(desk: Desk) -> None:
    desk.configure(TEST_CONFIG.replace("members: [dana]", "members: [dana, bob]"), "bob joins infra")
    (desk.path / ".gitdesk" / "rules.yml").write_text(
        "rules:\n  - name: vip\n    when: {event: created}\n    if: {requester_domain: vip.example}\n"
        "    do:\n      - set: {queue: it-infra, assignee: bob}\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "VIPs go to bob")
    ticket = desk.new("VPN down", "-r", "ceo@vip.example")
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["assignee"] == "bob"
    assert "gave it to" not in desk.text(ticket), "the queue's pick was overridden: no note says dana has it"
    (desk.path / ".gitdesk" / "rules.yml").write_text(  # the same in two steps
        "rules:\n  - name: vip\n    when: {event: created}\n    if: {requester_domain: vip.example}\n"
        "    do:\n      - set: {queue: it-infra}\n      - assign: bob\n")
    desk.git("commit", "-qam", "in two steps")
    second = desk.new("VPN down again", "-r", "cfo@vip.example")
    assert "gave it to" not in desk.text(second) and "assignee: bob" in desk.text(second)


def test_a_lead_lists_what_their_team_holds_in_any_queue(desk: Desk) -> None:
    printer = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("take", printer)  # alice, team it
    chair = desk.new("Broken chair", "-q", "facilities")  # fewest-open: fred, team facilities
    desk.run("escalate", chair, "--to", "dana", "--reason", "Needs a purchase order", "--as", "fred")  # dana: it
    desk.new("Nobody's yet", "-q", "it-helpdesk")

    def listed(*args: str) -> list[str]:
        return [t["id"] for t in json.loads(desk.run("list", *args, "--format", "json").stdout)["tickets"]]

    assert listed("--team", "it") == [printer, chair], "by who holds it, whatever the queue"
    assert listed("--team", "facilities") == []
    assert listed("--team", "it", "--queue", "facilities") == [chair]
    assert printer in desk.run("list", "--team", "it").stdout
    assert desk.fails("list", "--team", "itt") == "gitdesk: error: unknown team 'itt' (teams: facilities, it, sales)"


def test_people_marked_away_are_skipped_by_auto_assignment(desk: Desk) -> None:
    fred = "fred: {name: Fred Facilities, email: fred@example.com, team: facilities"
    desk.configure(TEST_CONFIG.replace(fred + "}", fred + ", away: true}"), "fred on holiday")
    ticket = desk.new("f1", "-q", "facilities")
    assert json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["assignee"] == "gina"


def test_moving_queue_drops_an_assignee_who_is_not_a_member(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.run("take", ticket)
    desk.run("set", ticket, "queue", "facilities")
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["queue"] == "facilities" and shown["assignee"] == "fred"


def test_on_a_terminal_the_table_fits_the_width_and_long_titles_read_whole(desk: Desk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gitdesk.render import output

    desk.new("Need access to the finance share for the Q4 close", "-q", "it-helpdesk")
    desk.new("Need access to the HR share for onboarding files", "-q", "it-helpdesk")
    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    out = desk.run("list").stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in lines), lines
    assert "\x1b[" not in out, "NO_COLOR is honoured"
    # Cut to the 20 cells left beside the other columns, both read "Need access to the …".
    assert "    Need access to the finance share for the Q4 close" in lines, "under its row, whole"
    monkeypatch.setenv("COLUMNS", "120")
    wide = desk.run("list").stdout
    assert any(line.endswith("Need access to the finance share for the Q4 close") for line in wide.splitlines())


def test_a_status_typo_is_named_by_list_instead_of_hiding_the_ticket(desk: Desk) -> None:
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.file(made).write_text(desk.text(made).replace("status: open", "status: opne"))
    result = desk.run("list")
    assert made not in result.stdout
    assert (f"tickets/{made}.md: status 'opne' is not one of this desk's, so no list shows it (set a known one "
            f"with gitdesk edit {made}; gitdesk check lists every problem)") in result.stderr, "a fix that works"


def test_list_sort_due_puts_the_most_urgent_first_and_says_when(desk: Desk) -> None:
    desk.at("2026-11-02T09:00:00Z")
    normal = desk.new("Printer", "-q", "it-helpdesk", "-r", "carol")               # first response due in 1d
    desk.at("2026-11-02T10:00:00Z")
    urgent = desk.new("Mail down", "-q", "it-helpdesk", "-r", "carol", "-p", "urgent")  # due 11:00
    low = desk.new("Chair", "-q", "facilities", "-r", "carol", "-p", "low")          # due in 3d
    desk.run("ask", low, "-m", "Which floor?", "--as", "fred")                    # pending: its clocks are paused
    desk.at("2026-11-02T12:00:00Z")
    listed = desk.run("list", "--sort", "due").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == [urgent, normal, low]
    assert "DUE" in listed[0] and "FR late 1h" in listed[1] and "FR in 21h" in listed[2]
    shown = desk.run("show", urgent).stdout
    assert "next target:    first response due 2026-11-02 11:00 (1h overdue)" in shown
    desk.at("2026-11-02T12:35:00Z")
    assert "FR late 1h35m" in desk.run("list", "--sort", "due").stdout, "two units, as every duration shown"
    desk.at("2026-11-02T12:00:00Z")
    record = json.loads(desk.run("list", "--format", "json").stdout)["tickets"]
    due = {item["id"]: (item["timings"]["next_due"], item["timings"]["next_due_at"]) for item in record}
    assert due == {normal: ("first_response", "2026-11-03T09:00:00Z"), urgent: ("first_response",
                   "2026-11-02T11:00:00Z"), low: (None, None)}


def test_list_overdue_shows_only_the_targets_already_missed(desk: Desk) -> None:
    """The morning question: what have we already let slip? A ticket waiting on its requester
    has no running clock, and one answered late is history, not overdue."""
    desk.at("2026-11-02T09:00:00Z")
    late = desk.new("Mail down", "-q", "it-helpdesk", "-r", "carol", "-p", "urgent")    # answer due 10:00
    answered = desk.new("VPN down", "-q", "it-helpdesk", "-r", "carol", "-p", "urgent")
    waiting = desk.new("Chair", "-q", "facilities", "-r", "carol", "-p", "urgent")
    desk.new("Printer", "-q", "it-helpdesk", "-r", "carol")                                 # due tomorrow
    desk.at("2026-11-02T11:00:00Z")
    desk.run("reply", answered, "-m", "Looking at it now", "--as", "fred", "--no-send")
    desk.run("ask", waiting, "-m", "Which floor?", "--as", "fred", "--no-send")
    listed = desk.run("list", "--overdue").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == [late], listed
    assert "FR late 1h" in listed[1]
    records = json.loads(desk.run("list", "--overdue", "--sort", "-created", "--format", "json").stdout)["tickets"]
    assert [item["id"] for item in records] == [late]


def test_list_overdue_moves_with_the_clock_and_with_hand_edits(desk: Desk) -> None:
    """Listings read kept records: one kept before a target falls due is not shown after it
    as still in time, and a priority changed by hand (not yet committed) counts at once."""
    desk.at("2026-11-02T09:00:00Z")
    mail = desk.new("Mail down", "-q", "it-helpdesk", "-r", "carol", "-p", "urgent")    # answer due 10:00
    printer = desk.new("Printer", "-q", "it-helpdesk", "-r", "carol")                   # due tomorrow 09:00
    desk.at("2026-11-02T09:30:00Z")
    assert desk.run("list", "--overdue").stdout.splitlines()[1:] == []
    assert [line.split()[0] for line in desk.run("list", "--sort", "due").stdout.splitlines()[1:]] == [mail, printer]
    desk.at("2026-11-02T10:30:00Z")
    assert [line.split()[0] for line in desk.run("list", "--overdue").stdout.splitlines()[1:]] == [mail]
    path = desk.file(printer)
    path.write_text(desk.text(printer).replace("priority: normal", "priority: urgent"))  # due 10:00 too
    listed = desk.run("list", "--overdue", "--sort", "due").stdout.splitlines()[1:]
    assert [line.split()[0] for line in listed] == [mail, printer] and "FR late 30m" in listed[1]


def test_list_sort_created_follows_the_created_time_not_the_id(desk: Desk) -> None:
    desk.at("2026-11-01T09:00:00Z")
    later = desk.new("Typed in first, happened later")
    desk.at("2026-11-05T09:00:00Z")
    earlier = desk.new("Typed in later, happened first")
    path = desk.file(earlier)  # the agent corrects when it really came in, by hand
    path.write_text(desk.text(earlier).replace("created: 2026-11-05T09:00:00Z", "created: 2026-10-30T09:00:00Z"))
    desk.git("commit", "-qam", "The phone call came in on the 30th")
    assert later < earlier
    ordered = desk.run("list", "--sort", "created").stdout.splitlines()[1:]
    assert [line.split()[0] for line in ordered] == [earlier, later]
    newest_first = desk.run("list", "--sort", "-created").stdout.splitlines()[1:]
    assert [line.split()[0] for line in newest_first] == [later, earlier]
