"""An agent's day: every verb is one commit of one ticket file, with trailers."""

from __future__ import annotations

import json

from conftest import Desk

from gitdesk.templates import MAIL_WIDTH


def test_new_ticket_lands_in_intake_without_a_queue(desk: Desk) -> None:
    desk.at("2026-11-20T09:14:00Z")
    ticket = desk.new("Outlook asks for my password every hour", "-r", "carol", "-c", "email",
                      "-a", "laptop-0042", "-l", "outlook", "-l", "auth", "-m", "Since Monday…")
    text = desk.text(ticket)
    assert text.startswith("---\nid: " + ticket + "\nstatus: new\n")
    assert "requester: carol@example.com\n" in text
    assert "created: 2026-11-20T09:14:00Z\n" in text
    assert "labels: [outlook, auth]\n" in text
    assert text.endswith("---\nSince Monday…\n")
    assert desk.committed_files() == [f"tickets/{ticket}.md"]
    message = desk.last_message()
    assert message.startswith(f"new {ticket}: Outlook asks for my password every hour\n")
    assert f"Gitdesk-Ticket: {ticket}\nGitdesk-Action: new\n" in message
    assert desk.git("log", "-1", "--format=%aI %an").strip() == "2026-11-20T09:14:00+00:00 Alice Agent"


def test_new_ticket_with_a_queue_is_open(desk: Desk) -> None:
    ticket = desk.new("Wi-Fi drops in room B", "--queue", "it-helpdesk")
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["status"] == "open" and shown["queue"] == "it-helpdesk" and shown["assignee"] is None


def test_a_full_ticket_life_is_one_commit_per_action(desk: Desk) -> None:
    desk.at("2026-11-20T09:00:00Z")
    ticket = desk.new("Outlook asks for my password", "-r", "carol@example.com")
    start = desk.commits()
    desk.at("2026-11-20T09:30:00Z")
    desk.run("take", ticket)
    desk.at("2026-11-20T09:40:00Z")
    desk.run("ask", ticket, "-m", "VPN, office, or both?")
    desk.at("2026-11-20T10:02:00Z")
    desk.run("reply", ticket, "--as", "carol@example.com", "-m", "Both.")
    desk.run("note", ticket, "-m", "Probably stale credentials")
    desk.run("time", ticket, "45m", "-m", "remote session")
    desk.at("2026-11-20T11:00:00Z")
    desk.run("resolve", ticket, "--note", "Removed stale credentials in Credential Manager.")
    desk.run("close", ticket)
    assert desk.commits() == start + 7
    actions = desk.git("log", f"-{7}", "--format=%(trailers:key=Gitdesk-Action,valueonly)").split()
    assert actions == ["close", "resolve", "time", "note", "reply", "ask", "take"]
    text = desk.text(ticket)
    assert "status: closed\n" in text and "assignee: alice\n" in text and "queue: it-helpdesk\n" in text
    assert ("## Conversation\n\n### 2026-11-20T09:40:00Z alice — question\nVPN, office, or both?\n\n"
            "### 2026-11-20T10:02:00Z carol — reply\nBoth.\n\n") in text
    assert "### 2026-11-20T10:02:00Z alice — time 45m\nremote session\n" in text
    assert text.endswith("\n## Resolution\nRemoved stale credentials in Credential Manager.\n")
    assert desk.status() == ""


def test_a_reply_by_the_requester_puts_a_pending_ticket_back_in_the_queue(desk: Desk) -> None:
    ticket = desk.new("Scanner", "-r", "carol", "-q", "it-helpdesk")
    desk.run("ask", ticket, "-m", "Which floor?")
    assert "status: pending" in desk.text(ticket)
    desk.run("reply", ticket, "--as", "bob", "-m", "Reminder: which floor?")
    assert "status: pending" in desk.text(ticket), "an agent's reply does not end the wait"
    out = desk.run("reply", ticket, "--as", "carol", "-m", "Second floor").stdout
    assert "status: pending -> open" in out
    assert "status: open" in desk.text(ticket)


def test_a_reply_typed_in_for_a_stranger_or_on_a_finished_ticket_says_what_it_did_not_do(desk: Desk) -> None:
    ticket = desk.new("Scanner", "-r", "carol@example.com", "-q", "it-helpdesk")
    desk.run("ask", ticket, "-m", "Which floor?")
    out = desk.run("reply", ticket, "--as", "carol@exmaple.com", "-m", "Second floor").stdout
    assert ("carol@exmaple.com is neither the requester (carol@example.com) nor in the Cc: the ticket stays "
            "pending") in out and "status: pending" in desk.text(ticket)
    other = desk.new("Badge reader", "-r", "erin@example.com", "-q", "it-helpdesk")
    desk.run("cc", other, "+carol@example.com")
    assert "neither" not in desk.run("reply", other, "--as", "carol", "-m", "Door two").stdout, "in the Cc by email"
    desk.run("resolve", ticket, "--note", "Replaced the glass.")
    out = desk.run("reply", ticket, "--as", "carol@example.com", "-m", "It is broken again").stdout
    assert f"{ticket} is resolved: if the problem is back, gitdesk reopen {ticket} -m TEXT" in out


def test_actor_trailer_names_who_acted_when_it_is_not_the_git_author(desk: Desk) -> None:
    ticket = desk.new("Desk lamp broken", "-q", "facilities")
    assert desk.fails("take", ticket, "--as", "gina") == (
        f"gitdesk: error: {ticket} is assigned to fred (ask them, or take it anyway with gitdesk take {ticket} --force)")
    desk.run("take", ticket, "--as", "gina", "--force")
    assert "Gitdesk-Actor: gina" in desk.last_message()
    desk.run("note", ticket, "-m", "ordered a bulb", "--as", "alice")
    assert "Gitdesk-Actor" not in desk.last_message()


def test_escalate_records_the_reason_and_moves_the_ticket(desk: Desk) -> None:
    ticket = desk.new("Exchange rejects mail", "-q", "it-helpdesk")
    desk.run("take", ticket)
    desk.fails("escalate", ticket, "--to", "it-infra", "--reason", "  ")
    desk.at("2026-11-21T08:00:00Z")
    desk.run("escalate", ticket, "--reason", "Needs Exchange admin rights")  # queue's default target
    text = desk.text(ticket)
    assert "queue: it-infra\n" in text
    assert "assignee: dana\n" in text, "it-infra assigns round-robin"
    assert "### 2026-11-21T08:00:00Z alice — escalation to it-infra\nNeeds Exchange admin rights\n" in text
    desk.run("escalate", ticket, "--to", "bob", "--reason", "Bob knows this mailbox")
    text = desk.text(ticket)
    assert "assignee: bob\n" in text and "queue: it-infra\n" in text, "a person is asked: the queue stays"


def test_a_finished_ticket_is_reopened_before_it_is_escalated_or_taken(desk: Desk) -> None:
    """Handed on while resolved, it counted as escalated work in a queue nobody would work it in."""
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("take", ticket)
    desk.run("resolve", ticket, "--note", "Cleared the tray.")
    head, before = desk.head(), desk.text(ticket)
    assert desk.fails("escalate", ticket, "--to", "it-infra", "--reason", "Needs a new fuser") == (
        f"gitdesk: error: {ticket} is resolved, so it cannot be escalated "
        f'(reopen it first: gitdesk reopen {ticket} -m "why")')
    assert "cannot be taken" in desk.fails("take", ticket, "--force", "--as", "bob")
    assert desk.head() == head and desk.text(ticket) == before
    desk.run("assign", ticket, "bob")  # putting the record right stays possible
    desk.run("set", ticket, "queue", "it-infra")  # round-robin there: nobody new is given a finished ticket
    assert "queue: it-infra\n" in desk.text(ticket) and "assignee:\n" in desk.text(ticket), \
        "bob is not in it-infra: dropped, as from an open ticket"


def test_a_second_resolution_keeps_the_first_in_the_thread(desk: Desk) -> None:
    """The first answer was mailed to the requester, who reopened: replaced without a trace,
    the thread went from her reply to her reopening with nothing between."""
    desk.at("2026-11-23T09:00:00Z")
    ticket = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol")
    desk.run("take", ticket)
    desk.at("2026-11-24T10:00:00Z")
    desk.run("resolve", ticket, "--note", "Moved your account to vpn-old-2.\n\n## Not a heading")
    desk.at("2026-11-25T09:00:00Z")
    desk.run("reopen", ticket, "-m", "It is not fixed", "--as", "carol")
    desk.at("2026-11-25T11:00:00Z")
    desk.run("resolve", ticket, "--note", "Replaced the VPN profile.")
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["resolution"] == "Replaced the VPN profile."
    last = shown["conversation"][-1]
    assert (last["kind"], last["author"], last["at"]) == ("note", "gitdesk", "2026-11-25T11:00:00Z"), \
        "nobody wrote it: not alice's work in the workload report"
    assert last["text"] == ("The earlier resolution, replaced by the one below:\n\n"
                            "> Moved your account to vpn-old-2.\n>\n> ### Not a heading"), "quoted as it was shown"
    desk.run("check")
    long = "\n".join(f"Step {n}: " + "x" * 70 for n in range(400))  # 31 KB, resolved and replaced again and again
    for _ in range(3):
        desk.run("reopen", ticket, "-m", "Again", "--as", "carol")
        desk.run("resolve", ticket, "--note", long)
        desk.run("reopen", ticket, "-m", "Again", "--as", "carol")
        desk.run("resolve", ticket, "--note", "Short.")
    kept = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]["conversation"][-1]["text"]
    assert len(kept) < 9000 and kept.endswith(f"… (the rest is in Git: git log -p -- tickets/{ticket}.md)")


def test_escalate_needs_a_reason_flag(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    result = desk.run("escalate", ticket, "--to", "it-infra", ok=False)
    assert result.exit_code == 2 and "--reason" in result.stderr


def test_the_words_why_are_given_with_m_or_reason_on_every_verb_that_asks_why(desk: Desk) -> None:
    """escalate took only --reason, reopen and reject only -m: a guess got "No such option"."""
    ticket = desk.new("VPN drops", "-q", "it-helpdesk")
    desk.run("--as", "alice", "escalate", ticket, "--to", "it-infra", "-m", "Tried the VPN gateway.", "-m",
             "Needs the firewall team")
    desk.run("--as", "alice", "resolve", ticket, "-m", "Firewall rule fixed.")
    desk.run("--as", "alice", "reopen", ticket, "--reason", "Dropping again")
    desk.run("--as", "alice", "reject", ticket, "--reason", "Duplicate of the outage")
    text = desk.text(ticket)
    assert all(words in text for words in ("Tried the VPN gateway.\n\nNeeds the firewall team", "Dropping again",
                                           "Duplicate of the outage")), "several -m are paragraphs, as elsewhere"


def test_resolve_without_note_is_refused_and_writes_nothing(desk: Desk) -> None:
    ticket = desk.new("VPN slow", "-q", "it-helpdesk")
    before, head = desk.text(ticket), desk.head()
    error = desk.fails("resolve", ticket)
    assert error == ("gitdesk: error: a resolution note is required "
                     "(say what fixed it: gitdesk resolve ID --note TEXT, or --note-file F)")
    assert desk.text(ticket) == before and desk.head() == head


def test_resolve_reads_the_note_from_a_file(desk: Desk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ticket = desk.new("VPN slow", "-q", "it-helpdesk")
    note = tmp_path / "note.md"
    note.write_text("Split tunnelling was off.\n\n1. Open the VPN client\n2. Enable split tunnelling\n")
    desk.run("resolve", ticket, "--note-file", str(note))
    assert desk.text(ticket).endswith("## Resolution\nSplit tunnelling was off.\n\n1. Open the VPN client\n"
                                      "2. Enable split tunnelling\n")


def test_close_from_open_is_an_illegal_transition(desk: Desk) -> None:
    ticket = desk.new("Chair squeaks", "-q", "facilities")
    error = desk.fails("close", ticket)
    assert error == (f"gitdesk: error: tickets/{ticket}.md: cannot move from open to closed "
                     "(from open a ticket can go to: pending, resolved, rejected)")


def test_reopen_and_reject_keep_the_history(desk: Desk) -> None:
    ticket = desk.new("Buy our SEO services!!!", "-r", "spam@spam.example")
    desk.run("reject", ticket, "-m", "Spam")
    assert "status: rejected" in desk.text(ticket)
    assert "— rejection\nSpam\n" in desk.text(ticket)
    assert desk.fails("reject", ticket) == f"gitdesk: error: {ticket} is already rejected"
    assert desk.fails("close", ticket).endswith("(from rejected a ticket can go to: open)")
    desk.run("reopen", ticket, "-m", "Actually a customer")
    text = desk.text(ticket)
    assert "status: open" in text and "— reopen\nActually a customer\n" in text


def test_reopen_of_an_unfinished_ticket_is_refused(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert "not finished; nothing to reopen" in desk.fails("reopen", ticket)


def test_reopen_requires_a_reason_where_config_says_so(desk: Desk) -> None:
    desk.configure(desk.config + "workflow:\n  reopen_requires_reason: true\n", "reasons please")
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "done")
    assert "reopening needs a reason" in desk.fails("reopen", ticket)
    desk.run("reopen", ticket, "-m", "not done")


def test_set_label_and_custom_fields_touch_only_their_line(desk: Desk) -> None:
    ticket = desk.new("Monitor flickers", "-q", "it-helpdesk", "-l", "screen")
    before = desk.text(ticket).splitlines()
    desk.run("set", ticket, "priority", "high")
    desk.run("label", ticket, "+hardware", "-screen", "dock")
    desk.run("set", ticket, "cost_centre", "4100")
    after = desk.text(ticket).splitlines()
    end = before.index("---", 1)
    assert after[end] == "cost_centre: 4100", "a new field goes at the end of the front matter"
    del after[end]
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("priority: normal", "priority: high"), ("labels: [screen]", "labels: [hardware, dock]")]
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert shown["cost_centre"] == 4100
    desk.run("set", ticket, "cost_centre", "-")
    assert "cost_centre" not in desk.text(ticket)


def test_set_refuses_id_created_and_unknown_values(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert desk.fails("set", ticket, "id", "GD-00000000000000000") == \
        "gitdesk: error: id never changes once a ticket exists"
    assert "unknown priority 'asap' (expected one of: urgent, high, normal, low)" in \
        desk.fails("set", ticket, "priority", "asap")
    assert "unknown category 'printers'" in desk.fails("set", ticket, "category", "printers")
    assert "unknown queue 'it'" in desk.fails("set", ticket, "queue", "it")
    assert "unknown person 'zed'" in desk.fails("set", ticket, "assignee", "zed")
    assert "unknown status 'opne'" in desk.fails("set", ticket, "status", "opne")
    # a new field spelled like gitdesk's own is a typo far more often than a team's field
    assert "'staus' is not one of gitdesk's fields (did you mean status?)" in desk.fails("set", ticket, "staus", "open")
    assert "(did you mean priority?)" in desk.fails("set", ticket, "prio", "low")
    assert "\nprio:" not in desk.text(ticket)
    desk.run("set", ticket, "asset_tag", "A-1")  # a team's own field that only starts alike


def test_link_duplicate_and_related(desk: Desk) -> None:
    first = desk.new("Printer jams", "-q", "it-helpdesk")
    second = desk.new("Printer jams again", "-q", "it-helpdesk")
    third = desk.new("Toner low", "-q", "it-helpdesk")
    desk.run("link", second, "--duplicate-of", first)
    assert f"duplicate_of: {first}\n" in desk.text(second)
    desk.run("link", third, "--related", first)
    assert sorted(desk.committed_files()) == sorted([f"tickets/{third}.md", f"tickets/{first}.md"])
    assert f"related: [{first}]" in desk.text(third) and f"related: [{third}]" in desk.text(first)
    assert "cannot be linked to itself" in desk.fails("link", first, "--related", first)


def test_assign_unassign_and_take_from_intake(desk: Desk) -> None:
    ticket = desk.new("New starter needs a laptop")
    desk.run("assign", ticket, "bob")
    text = desk.text(ticket)
    assert "status: open\n" in text and "assignee: bob\n" in text and "queue: it-helpdesk\n" in text
    desk.run("unassign", ticket)
    assert "assignee:\n" in desk.text(ticket)
    assert desk.fails("unassign", ticket) == f"gitdesk: error: {ticket} is not assigned to anyone"


def test_external_requester_cannot_do_agent_work(desk: Desk) -> None:
    ticket = desk.new("Order 1234 missing", "-r", "customer@shop.example", "-q", "it-helpdesk")
    assert "is not one of the desk's people, so cannot take tickets" in \
        desk.fails("take", ticket, "--as", "customer@shop.example")
    desk.run("reply", ticket, "--as", "customer@shop.example", "-m", "Any news?")


def test_several_m_are_paragraphs_as_in_git_commit(desk: Desk) -> None:
    made = desk.new("Printer jams", "-q", "it-helpdesk", "-m", "Tray 2.", "-m", "Since Monday.")
    desk.run("reply", made, "-m", "Try tray 1.", "-m", "Does it jam there too?")
    desk.run("resolve", made, "--note", "Replaced the roller.", "-m", "Tray 2 works again.")
    shown = json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]
    assert shown["description"] == "Tray 2.\n\nSince Monday."
    assert shown["conversation"][-1]["text"] == "Try tray 1.\n\nDoes it jam there too?"
    assert shown["resolution"] == "Replaced the roller.\n\nTray 2 works again.", "none dropped without a word"


def test_joiners_in_a_title_are_kept_and_hidden_characters_are_not(desk: Desk) -> None:
    made = desk.new("Family \U0001F468\u200d\U0001F469\u200d\U0001F467 printer: \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
                    " \u200bcolour\u202e")
    title = json.loads(desk.run("show", made, "--format", "json").stdout)["ticket"]["title"]
    assert title == "Family \U0001F468\u200d\U0001F469\u200d\U0001F467 printer: \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 colour"


def test_a_title_of_invisible_characters_is_empty(desk: Desk) -> None:
    assert "title is empty" in desk.fails("new", "\u200d\u200b")
    made = desk.new("Printer jams")
    path = desk.file(made)
    path.write_text(desk.text(made).replace("title: Printer jams", "title: \"\\u200D\""))
    desk.git("add", "-A")
    assert "title is empty" in desk.run("check", "--staged", ok=False).output, "check refuses it as the CLI does"
    desk.git("reset", "-q")
    desk.git("checkout", "--", ".")
    assert "note is empty" in desk.fails("note", made, "-m", "  \n \u200b "), "a note nobody can read"
    assert "reply is empty" in desk.fails("reply", made, "-m", "\u2060\n\u200b")


def test_a_duplicate_on_a_desk_without_mail_promises_no_mail(desk: Desk) -> None:
    first = desk.new("Heating is off in room B", "-q", "it-helpdesk", "-r", "carol@example.com")
    again = desk.new("Room B is cold", "-q", "it-helpdesk", "-r", "erin@example.com")
    desk.run("duplicate", again, "--of", first)
    said = desk.text(again).split("## Resolution", 1)[1]
    assert f"This is the same problem as {first}. We are working on it there." in " ".join(said.split())
    assert "you will hear" not in said, "this desk sends no mail (no mail.address): no promise it cannot keep"


def test_a_duplicate_names_a_long_title_in_lines_that_fit_a_mail(desk: Desk) -> None:
    title = "The shared calendar on the third floor meeting room display shows yesterday"
    first = desk.new(title, "-q", "it-helpdesk", "-r", "carol@example.com")
    again = desk.new("Room display is a day behind", "-q", "it-helpdesk", "-r", "carol@example.com")
    desk.run("duplicate", again, "--of", first)
    said = desk.text(again).split("## Resolution", 1)[1].strip()
    assert " ".join(said.split()) == f"This is the same problem as {first} ({title}). We are working on it there."
    assert max(len(line) for line in said.splitlines()) <= MAIL_WIDTH, "the requester reads it in a mail client"


def test_set_says_when_a_field_is_the_teams_own(desk: Desk) -> None:
    ticket = desk.new("Laptop for the new starter", "-q", "it-helpdesk")
    said = desk.run("set", ticket, "due", "2026-12-10").output
    assert "due is a field of your own: gitdesk keeps and shows it, and acts on nothing in it" in said
    assert "field of your own" not in desk.run("set", ticket, "due", "2026-12-11").output, "said once"
    assert "field of your own" not in desk.run("set", ticket, "kb_title", "Laptop set-up").output, "gitdesk's own"


def test_h_asks_label_and_cc_for_their_help_as_it_does_everywhere(desk: Desk) -> None:
    ticket = desk.new("VPN drops", "-q", "it-helpdesk")
    for args in (["label", ticket, "-h"], ["label", "-h"], ["cc", ticket, "-h"], ["cc", "-h"]):
        shown = desk.run(*args)
        assert shown.exit_code == 0 and shown.output.startswith(f"Usage: gitdesk {args[0]} "), args
    assert "Missing argument '+ADD -REMOVE...'" in desk.run("label", ticket, ok=False).output
    desk.run("label", ticket, "+vpn", "-h")  # among other edits, -h is a label to remove
    assert "labels: [vpn]" in desk.text(ticket)
    desk.run("label", ticket, "+h")
    desk.run("label", ticket, "-h")  # on a ticket labelled h, it removes it
    assert "labels: [vpn]" in desk.text(ticket)
