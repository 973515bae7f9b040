"""The desk holds a conversation by mail: every public step is a mail to the requester
(and Cc), written into outbox/ in the action's own commit, from templates in the desk."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Desk, make_desk
from test_mail_intake import MAIL_CONFIG, eml, intake, mbox, message, ticket

CONFIG = MAIL_CONFIG.replace("  alice: {name: Alice Agent, email: alice@fernhill.example, team: it}",
                             "  alice: {name: Alice Agent, email: alice@fernhill.example, team: it, notify: true}") \
    .replace("  dana: {name: Dana Lead, email: dana@example.com, team: it}",
             "  dana: {name: Dana Lead, email: dana@example.com, team: it, notify: true}") \
    .replace("  address: help@fernhill.example\n", "  address: help@fernhill.example\n  name: Fernhill IT\n")


def mail_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str = CONFIG) -> Desk:
    made = make_desk(tmp_path / "desk", monkeypatch, config)
    made.git("config", "user.email", "alice@fernhill.example")  # Alice, as the config knows her
    made.at("2026-11-23T12:00:00Z")
    return made


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return mail_desk(tmp_path, monkeypatch)


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def queued(desk: Desk, rev: str = "HEAD") -> list[EmailMessage]:
    """The mail a commit put into outbox/, read as a mail program would."""
    return [parse((desk.path / path).read_bytes()) for path in desk.committed_files(rev)
            if path.startswith("outbox/") and path.endswith(".eml")]  # not a withdrawal's marker


def to(mail: EmailMessage) -> str:
    """The address a mail goes to, without the name shown with it."""
    return str(mail["To"].addresses[0].addr_spec)


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def from_mail(desk: Desk, tmp_path: Path, raw: bytes | None = None) -> str:
    result = intake(desk, "eml", eml(tmp_path, raw or message("gmail-new.eml")))
    return str(result["messages"][0]["ticket"])


def test_the_requester_hears_every_public_step_and_nothing_internal(desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(desk, tmp_path)
    (ack,) = queued(desk)
    assert ack["To"] == "Bob Meyer <bob.meyer@gmail.com>" and ack["Auto-Submitted"] == "auto-replied"
    assert f"[{ticket_id}]" in ack["Subject"] and f"it has the number {ticket_id}" in text_of(ack)
    assert "reply to this mail" in text_of(ack) and ack["From"] == "Fernhill IT <help@fernhill.example>"
    assert text_of(ack).startswith("Hello Bob Meyer,\n"), "the name their mail gave"

    desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    assert queued(desk) == [], "setting a field tells the requester nothing"
    desk.run("--as", "alice", "note", ticket_id, "-m", "Internal: AD sync broken again")
    desk.run("--as", "alice", "time", ticket_id, "15m")
    desk.run("--as", "alice", "escalate", ticket_id, "--to", "it-infra", "--reason", "needs AD admin")
    to_requester = [mail for rev in ("HEAD", "HEAD~1", "HEAD~2") for mail in queued(desk, rev)
                    if mail["X-Gitdesk-Event"] != "notification"]
    assert to_requester == [], "notes, time and escalations never reach the requester"
    (told,) = queued(desk)
    assert told["To"] == "dana@example.com" and "needs AD admin" in text_of(told), "dana asked to hear of it"
    assert "Requester: Bob Meyer <bob.meyer@gmail.com>" in text_of(told) and "Status: open" in text_of(told), \
        "what the ticket is about, so a lead without a clone can act from the mail"

    desk.run("--as", "dana", "ask", ticket_id, "-m", "Does it happen on the VPN too?")
    (question,) = queued(desk)
    assert sorted(desk.committed_files()) == sorted([f"tickets/{ticket_id}.md",
                                                     *[p for p in desk.committed_files() if p.startswith("outbox/")]])
    assert "Does it happen on the VPN too?" in text_of(question) and "reply to this mail" in text_of(question)
    assert "AD sync" not in question.as_string() and "needs AD admin" not in question.as_string()
    assert question["From"] == '"Dana Lead (Fernhill IT)" <help@fernhill.example>'
    assert question["In-Reply-To"] == ack["Message-ID"], "it threads after the last mail"
    assert "<CAH7x9+Zq3vR1kYp0=u8dQm5TgW@mail.gmail.com>" in question["References"]
    assert "Gitdesk-Action: ask" in desk.last_message() and "queued in outbox/" in desk.last_message()

    desk.run("--as", "dana", "reply", ticket_id, "-m", "Please restart Outlook.")
    assert "Please restart Outlook." in text_of(queued(desk)[0])
    desk.run("--as", "dana", "resolve", ticket_id, "--note", "Removed stale credentials.")
    (solved,) = queued(desk)
    body = text_of(solved)
    assert "Removed stale credentials." in body and "reply to this mail" in body and "1 (very unhappy)" in body
    assert body.startswith("Hello Bob Meyer,\n"), "the desk's own words greet, as the acknowledgement does"
    desk.run("--as", "dana", "reopen", ticket_id, "-m", "The prompt is back")
    (reopened,) = queued(desk)
    assert "The prompt is back" in text_of(reopened) and reopened["Subject"].startswith("Reopened:")
    desk.run("--as", "dana", "reject", ticket_id, "-m", "Duplicate of the AD outage ticket")
    (rejected,) = queued(desk)
    assert "Duplicate of the AD outage ticket" in text_of(rejected)
    assert desk.run("check").exit_code == 0


def test_the_requesters_own_words_are_not_mailed_back(desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(desk, tmp_path)
    desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    desk.run("--as", "bob.meyer@gmail.com", "reply", ticket_id, "-m", "Also on the VPN")
    assert queued(desk) == []


def test_policy_per_desk_and_queue_and_the_send_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = CONFIG.replace("  name: Fernhill IT\n", "  name: Fernhill IT\n  notify: {question: false}\n") \
        .replace("    escalate_to: it-infra\n", "    escalate_to: it-infra\n    mail: {notify: {reply: [requester]}}\n")
    desk = mail_desk(tmp_path, monkeypatch, config)
    ticket_id = desk.new("Printer", "-q", "it-helpdesk", "-r", "bob@customer.example")
    desk.run("cc", ticket_id, "+carol@customer.example")
    desk.run("ask", ticket_id, "-m", "Which tray?")
    assert queued(desk) == [], "mail.notify.question: false"
    desk.run("ask", ticket_id, "-m", "Which tray, really?", "--send")
    (forced,) = queued(desk)
    assert forced["Cc"] == "carol@customer.example", "--send mails the requester and Cc"
    desk.run("reply", ticket_id, "-m", "Tray 2 then")
    (reply,) = queued(desk)
    assert reply["Cc"] is None, "the queue says replies go to the requester only"
    desk.run("reply", ticket_id, "-m", "One more thing", "--no-send")
    assert queued(desk) == []
    desk.run("resolve", ticket_id, "--note", "Roller replaced")
    assert queued(desk)[0]["Cc"] == "carol@customer.example", "resolution: the desk's default, requester and Cc"


def test_sign_as_desk_names_no_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = mail_desk(tmp_path, monkeypatch, CONFIG.replace("  name: Fernhill IT\n",
                                                           "  name: Fernhill IT\n  sign_as: desk\n"))
    ticket_id = desk.new("Printer", "-q", "it-helpdesk", "-r", "bob@customer.example")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "On it")
    (mail,) = queued(desk)
    assert mail["From"] == "Fernhill IT <help@fernhill.example>" and "Alice" not in mail.as_string()


def own_template(desk: Desk, event: str, front: str, body: str) -> Path:
    """Commit the desk's own mail template for ``event``; the templates' folder."""
    templates = desk.path / ".gitdesk" / "templates" / "mail"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / f"{event}.md").write_text(f"---\n{front}\n---\n{body}")
    desk.git("add", "-A")
    desk.git("commit", "-qm", f"Our own {event} template")
    return templates


def test_a_mail_template_behind_a_linked_folder_is_refused_not_mailed(desk: Desk, tmp_path: Path) -> None:
    ticket_id = desk.new("Printer on 2F", "-q", "it-helpdesk", "-r", "bob@customer.example")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "reply.md").write_text('---\nsubject: "{{title}}"\n---\nthe secret\n')
    mail = desk.path / ".gitdesk" / "templates" / "mail"
    shutil.rmtree(mail)
    mail.symlink_to(outside, target_is_directory=True)
    head = desk.head()
    assert desk.fails("--as", "alice", "reply", ticket_id, "-m", "Hello") == (
        "gitdesk: error: .gitdesk/templates/mail/reply.md: is a symbolic link; gitdesk never follows links "
        "(replace the link .gitdesk/templates/mail with a real file or folder)")
    assert desk.head() == head and queued(desk) == []


def test_a_desks_own_template_is_used_and_a_wrong_placeholder_is_refused_by_line(desk: Desk) -> None:
    ticket_id = desk.new("Printer on 2F", "-q", "it-helpdesk", "-r", "bob@customer.example")
    templates = own_template(desk, "question", 'subject: "A question about {{title}} [{{id}}]"',
                             "Hi {{requester_name}},\n\n{{text}}\n\nThanks, {{agent}} at {{desk}}\n")
    desk.run("--as", "alice", "ask", ticket_id, "-m", "Which tray?")
    (mail,) = queued(desk)
    assert mail["Subject"] == f"A question about Printer on 2F [{ticket_id}]"
    assert "Hi bob,\n\nWhich tray?\n\nThanks, Alice Agent at Fernhill IT" in text_of(mail)

    (templates / "reply.md").write_text('---\nsubject: "Re: {{title}}"\n---\nHello {{name}},\n\n{{text}}\n')
    desk.git("add", "-A")
    found = desk.run("check", ok=False).stdout
    assert ".gitdesk/templates/mail/reply.md:4: unknown placeholder {{name}} (known: id, title," in found
    head = desk.head()
    error = desk.fails("--as", "alice", "reply", ticket_id, "-m", "Hello")
    assert "reply.md:4: unknown placeholder {{name}}" in error and desk.head() == head
    (templates / "resolve.md").write_text('---\nsubject: "x"\n---\nx\n')
    desk.git("add", "-A")
    assert "there is no mail event 'resolve'" in desk.run("check", ok=False).stdout


def test_a_private_field_named_in_a_template_stays_out_of_the_mail(desk: Desk) -> None:
    desk.configure(MAIL_CONFIG + "private_fields: [asset]\n", "Asset tags stay in the desk")
    own_template(desk, "reply", 'subject: "Re: {{title}} {{asset}} [{{id}}]"', "About {{asset}} ({{category}}):\n\n"
                 "{{text}}\n")
    ticket_id = desk.new("Laptop fan", "-q", "it-helpdesk", "-r", "bob@customer.example", "-a", "CEO-LAPTOP-0001",
                         "-c", "hardware")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "A new fan is on its way.")
    (mail,) = queued(desk)
    assert "CEO-LAPTOP" not in mail.as_string() and "About  (hardware):" in text_of(mail)


def test_mail_has_an_html_part_that_runs_nothing_and_headers_take_no_injection(desk: Desk) -> None:
    ticket_id = desk.new("Printer", "-q", "it-helpdesk", "-r", "bob@customer.example")
    desk.run("set", ticket_id, "title", "Broken\r\nBcc: everyone@example.com =?utf-8?B?x?=")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "<script>alert(1)</script> see [here](javascript:alert(1)) "
                                                       "and [the guide](https://example.com/guide)")
    (mail,) = queued(desk)
    assert mail["Bcc"] is None and "\n" not in mail["Subject"]
    html = html_of(mail)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html.replace("[here](javascript:alert(1))", "") or 'href="javascript' not in html
    assert '<a href="https://example.com/guide">the guide</a>' in html
    assert "<script>alert(1)</script>" in text_of(mail), "the plain text says what was written"
    assert desk.fails("cc", ticket_id, "+carol@example.com\nBcc: x@example.com").startswith(
        "gitdesk: error: not an email address")


def test_cc_from_the_opening_mail_hears_everything_and_may_answer(desk: Desk, tmp_path: Path) -> None:
    raw = message("gmail-new.eml").replace(b"To: Fernhill Help <help@fernhill.example>",
                                           b"To: Fernhill Help <help@fernhill.example>\nCc: Eve Meyer <eve@meyer.example>")
    ticket_id = from_mail(desk, tmp_path, raw)
    assert ticket(desk, ticket_id)["cc"] == ["eve@meyer.example"]
    (ack,) = queued(desk)
    assert ack["Cc"] is None, "the acknowledgement goes to the sender alone; every later step to the Cc"
    desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "Looking into it")
    assert queued(desk)[0]["Cc"] == "eve@meyer.example"
    desk.run("--as", "alice", "cc", ticket_id, "+finance@meyer.example", "-eve@meyer.example")
    assert ticket(desk, ticket_id)["cc"] == ["finance@meyer.example"]
    desk.run("--as", "alice", "reply", ticket_id, "-m", "Working on it")
    (reply,) = queued(desk)
    assert reply["To"] == "Bob Meyer <bob.meyer@gmail.com>" and reply["Cc"] == "finance@meyer.example"
    answer = (f"From: finance@meyer.example\nTo: help@fernhill.example\nSubject: Re: x [{ticket_id}]\n"
              f"Message-ID: <fin-1@meyer.example>\nIn-Reply-To: {reply['Message-ID']}\n\nInvoice attached.\n").encode()
    taken = intake(desk, "eml", eml(tmp_path, answer, "answer.eml"))
    assert (taken["messages"][0]["outcome"], taken["messages"][0]["ticket"]) == ("reply", ticket_id)

    desk.run("--as", "alice", "ask", ticket_id, "-m", "Which invoice number?")
    (question,) = queued(desk)
    answer = (f"From: finance@meyer.example\nTo: help@fernhill.example\nSubject: Re: x [{ticket_id}]\n"
              f"Message-ID: <fin-2@meyer.example>\nIn-Reply-To: {question['Message-ID']}\n\nINV-2291.\n").encode()
    intake(desk, "eml", eml(tmp_path, answer, "answer-2.eml"))
    assert ticket(desk, ticket_id)["status"] == "open", "the question is answered: no reminder, no closing"


def test_an_agent_s_notification_shows_the_requester_s_words_as_text(desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: mallory@example.net\nTo: help@fernhill.example\nSubject: Printer\n"
           b"Message-ID: <m1@example.net>\nContent-Type: text/plain; charset=utf-8\n\n"
           + "It jams \u202eevil ![t](http://evil.example/t.png) [click](http://evil.example/x)\n".encode())
    ticket_id = from_mail(desk, tmp_path, raw)
    desk.run("--as", "dana", "assign", ticket_id, "alice")
    (told,) = [mail for mail in queued(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert "It jams" in text_of(told) and "\u202e" not in text_of(told)
    assert "<img" not in html_of(told) and 'href="http://evil.example' not in html_of(told), \
        "no tracking pixel, no link: the requester's words are shown as text"


def test_watchers_and_assignees_who_asked_hear_of_it(desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(desk, tmp_path)
    desk.run("--as", "bob", "set", ticket_id, "queue", "it-helpdesk")
    desk.run("--as", "alice", "watch", ticket_id)
    assert desk.fails("--as", "alice", "watch", ticket_id) == f"gitdesk: error: you already watch {ticket_id}"
    desk.run("--as", "bob", "ask", ticket_id, "-m", "VPN too?")
    answer = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: x [{ticket_id}]\n"
              f"Message-ID: <bob-2@mail.gmail.com>\n\nYes, on the VPN too.\n").encode()
    intake(desk, "eml", eml(tmp_path, answer, "answer.eml"))
    told = [mail for mail in queued(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert [mail["To"] for mail in told] == ["alice@fernhill.example"]
    assert "bob.meyer@gmail.com answered" in text_of(told[0]) and "Yes, on the VPN too." in text_of(told[0])
    assert told[0]["Auto-Submitted"] == "auto-generated"
    assert told[0]["Message-ID"] not in desk.text(ticket_id), "agents' mail is not the requester's thread"
    desk.run("--as", "bob", "escalate", ticket_id, "--to", "dana", "--reason", "needs AD admin")
    (escalated,) = queued(desk)
    assert escalated["To"] == "dana@example.com" and "needs AD admin" in text_of(escalated)
    assert str(told[0]["Subject"]).startswith(f"[{ticket_id}] bob.meyer@gmail.com answered: ")
    assert str(escalated["Subject"]).startswith(f"[{ticket_id}] Escalated to you by bob: "), "why, before the title"
    desk.run("--as", "alice", "unwatch", ticket_id)
    assert "watchers" not in ticket(desk, ticket_id)
    queued(desk)
    again = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: x [{ticket_id}]\n"
             f"Message-ID: <bob-3@mail.gmail.com>\n\nAnd it happens on Wi-Fi.\n").encode()
    intake(desk, "eml", eml(tmp_path, again, "again.eml"))
    told = [mail for mail in queued(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert [mail["To"] for mail in told] == ["dana@example.com"], "the assignee hears without watching"
    assert "And it happens on Wi-Fi." in text_of(told[0])


def test_an_escalation_to_a_queue_that_assigns_by_hand_tells_its_people(desk: Desk, tmp_path: Path) -> None:
    """The ticket waits there unassigned: without a word, its people first heard of it when a
    target was missed days later."""
    ticket_id = from_mail(desk, tmp_path)
    desk.run("--as", "dana", "set", ticket_id, "queue", "it-infra")
    queued(desk)
    desk.run("--as", "dana", "escalate", ticket_id, "--to", "it-helpdesk", "--reason", "a desk printer, not ours")
    assert ticket(desk, ticket_id)["assignee"] is None, "it-helpdesk assigns by hand"
    (told,) = [mail for mail in queued(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert told["To"] == "alice@fernhill.example", "bob did not ask to hear (notify), dana acted"
    assert str(told["Subject"]).startswith(f"[{ticket_id}] Escalated to it-helpdesk by dana: ")
    assert "a desk printer, not ours" in text_of(told) and f"gitdesk take {ticket_id}" in text_of(told)
    # Alice away, Bob acting: nobody of the queue is here to hear, so the desk's lead does.
    desk.configure(desk.config.replace("  id_prefix: GD\n", "  id_prefix: GD\n  leads: [dana]\n")
                   .replace("team: it, notify: true}", "team: it, notify: true, away: true}", 1), "alice away")
    desk.run("--as", "dana", "escalate", ticket_id, "--to", "it-infra", "--reason", "back to infra")
    queued(desk)
    desk.run("--as", "bob", "escalate", ticket_id, "--to", "it-helpdesk", "--reason", "printer again")
    (told,) = [mail for mail in queued(desk) if mail["X-Gitdesk-Event"] == "notification"]
    assert told["To"] == "dana@example.com", "not alice, who is away"


def test_canned_replies_answer_and_set_fields_in_one_commit(desk: Desk) -> None:
    ticket_id = desk.new("Outlook password", "-q", "it-helpdesk", "-r", "bob@customer.example")
    replies = desk.path / ".gitdesk" / "replies"
    replies.mkdir(parents=True, exist_ok=True)
    (replies / "restart-outlook.md").write_text("---\nlabels: [outlook]\nstatus: pending\n---\n"
                                                "Hi {{requester_name}}, please close Outlook, sign out of Office "
                                                "and sign in again. Does {{title}} still happen?\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "A canned reply")
    (replies / "vpn-profile.md").write_text("Hi {{requester_name}},\n\nplease install the new VPN profile.\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "Another canned reply")
    listed = desk.run("replies").stdout
    assert "restart-outlook" in listed and "Hi {{requester_name}}, please close Outlook" in listed
    assert "please install the new VPN profile." in listed, "past the greeting every reply shares"
    before = desk.commits()
    desk.run("--as", "alice", "reply", ticket_id, "--use", "restart-outlook")
    assert desk.commits() == before + 1
    shown = ticket(desk, ticket_id)
    assert shown["labels"] == ["outlook"] and shown["status"] == "pending"
    assert shown["conversation"][-1]["text"].startswith("Hi bob, please close Outlook")
    assert "Does Outlook password still happen?" in text_of(queued(desk)[0])
    assert "did you mean restart-outlook?" in desk.fails("reply", ticket_id, "--use", "restart-outlok")
    # a ticket still in intake (no queue) goes into the agent's queue, as ask moves it, to wait
    fresh = desk.new("Mail app wants my login", "-r", "bob@customer.example")
    desk.run("--as", "alice", "reply", fresh, "--use", "more-details")
    shown = ticket(desk, fresh)
    assert shown["status"] == "pending" and shown["queue"] == "it-helpdesk" and shown["labels"] == ["needs-details"]
    (replies / "broken.md").write_text("---\nassignee: alice\n---\nx\n")
    desk.git("add", "-A")
    assert "a canned reply cannot set 'assignee'" in desk.run("check", ok=False).stdout


def test_answers_greet_a_stranger_by_the_name_their_mail_gave(desk: Desk, tmp_path: Path) -> None:
    raw = (b"From: =?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <jm@example.de>\nTo: help@fernhill.example\n"
           b"Subject: VPN drops\nMessage-ID: <jm-1@example.de>\n\nThe VPN drops every hour.\n")
    ticket_id = from_mail(desk, tmp_path, raw)
    assert ticket(desk, ticket_id)["requester_name"] == "J\u00fcrgen M\u00fcller", "'Last, First' as said aloud"
    desk.run("--as", "alice", "reply", ticket_id, "--use", "more-details")
    assert text_of(queued(desk)[0]).startswith("Hi J\u00fcrgen M\u00fcller,")

    path = desk.path / "tickets" / f"{ticket_id}.md"  # a hand edit may put anything there
    path.write_text(path.read_text().replace("requester_name: J\u00fcrgen M\u00fcller",
                                             "requester_name: 'x@evil.example, Bcc: all'"))
    desk.git("commit", "-qam", "hand edit")
    desk.run("--as", "alice", "reply", ticket_id, "--use", "more-details")
    assert text_of(queued(desk)[0]).startswith("Hi jm,"), "what is not a name is not used"

    path.write_text(path.read_text().replace("requester_name: 'x@evil.example, Bcc: all'", "requester_name: Jo"))
    desk.git("commit", "-qam", "hand edit")
    desk.run("--as", "alice", "set", ticket_id, "requester", "carol@other.example")
    assert "requester_name" not in ticket(desk, ticket_id), "the name was the old requester's"


def test_attachments_are_kept_and_mailed(desk: Desk, tmp_path: Path) -> None:
    ticket_id = desk.new("VPN", "-q", "it-helpdesk", "-r", "bob@customer.example")
    guide = tmp_path / "vpn guide.pdf"
    guide.write_bytes(b"%PDF-1.4 guide")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "The guide is attached.", "--attach", str(guide))
    assert f"attachments/{ticket_id}/vpn guide.pdf" in desk.committed_files()
    (mail,) = queued(desk)
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "vpn guide.pdf" and attached.get_content() == b"%PDF-1.4 guide"
    # the ticket links the file in the repository; the mail, which carries it, names it
    assert f"](../attachments/{ticket_id}/vpn%20guide.pdf)" in desk.text(ticket_id)
    assert "Attachments:\n- vpn guide.pdf (14 bytes)" in text_of(mail) and "attachments/" not in mail.as_string()
    made = json.loads(desk.run("new", "With a photo", "-q", "it-helpdesk", "--attach", str(guide),
                               "--format", "json").stdout)
    assert f"attachments/{made['id']}/vpn guide.pdf" in desk.committed_files()
    many = [arg for n in range(201) for arg in ("--attach", str(guide))]
    assert desk.fails("--as", "alice", "reply", ticket_id, "-m", "All of them", *many) == (
        "gitdesk: error: 201 attachments: a reply carries at most 200 (send the rest in another reply, or put them "
        "in one archive)"), "the ticket would keep 200 and the mail carry all"


def test_three_acknowledgements_per_sender_per_hour(desk: Desk, tmp_path: Path) -> None:
    """Carol writes about two problems: she learns both numbers. A loop or a flood is
    answered three times an hour, not for ever, and the agent is told in the ticket."""
    def mail(n: int) -> Path:
        raw = (f"From: carol@example.net\nTo: help@fernhill.example\nSubject: Problem {n}\n"
               f"Message-ID: <c{n}@example.net>\n\nText {n}.\n").encode()
        return eml(tmp_path, raw, f"m{n}.eml")

    made = []
    for n, when in enumerate(("12:00", "12:10", "12:20", "12:30"), start=1):
        desk.at(f"2026-11-23T{when}:00Z")
        made.append(intake(desk, "eml", mail(n))["messages"][0]["ticket"])
        assert len(queued(desk)) == (1 if n <= 3 else 0), n
    assert "No acknowledgement was sent: carol@example.net had 3 within the hour" in desk.text(made[3])
    desk.at("2026-11-23T13:05:00Z")
    intake(desk, "eml", mail(5))
    assert len(queued(desk)) == 1, "the first of them is over an hour old"


def test_an_acknowledger_that_answers_each_acknowledgement_anew_is_answered_ten_times_a_day(
        desk: Desk, tmp_path: Path) -> None:
    """Another desk answers every mail with a new one ("[OT#n] Your request has been received":
    no In-Reply-To, no Auto-Submitted). Rounds an hour apart never meet the hour's cap; the
    day's ends the loop."""
    made, acknowledged = [], []
    for hour in range(12):
        desk.at(f"2026-11-23T{8 + hour:02d}:00:00Z")
        raw = (f"From: service@other-desk.example\nTo: help@fernhill.example\nSubject: [OT#{hour}] Your request "
               f"has been received\nMessage-ID: <ot{hour}@other-desk.example>\n\nWe will answer soon.\n").encode()
        made.append(intake(desk, "eml", eml(tmp_path, raw, f"ot{hour}.eml"))["messages"][0]["ticket"])
        acknowledged.append(len(queued(desk)))
    assert acknowledged == [1] * 10 + [0, 0], "ten acknowledgements in the day, then none: the loop ends"
    assert "service@other-desk.example had 10 within the day" in desk.text(made[10])
    desk.at("2026-11-24T08:30:00Z")
    raw = (b"From: service@other-desk.example\nTo: help@fernhill.example\nSubject: Real problem\n"
           b"Message-ID: <real@other-desk.example>\n\nHelp.\n")
    intake(desk, "eml", eml(tmp_path, raw, "real.eml"))
    assert len(queued(desk)) == 1, "a day later, the first of them is over a day old"


def test_strangers_copying_one_address_on_their_mail_get_it_three_acknowledgements_an_hour(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six strangers' mails, each copied to the same victim: the desk must not become a relay
    that mails them every time. By default the sender alone is acknowledged; a desk that
    acknowledges the Cc too counts each address, in To or in Cc."""
    raws = [(f"From: spammer{n}@evil.example\nTo: help@fernhill.example\nCc: victim@victim.example\n"
             f"Subject: Cheap pills {n}\nMessage-ID: <amp-{n}@evil.example>\n\nbuy\n").encode() for n in range(6)]
    intake(desk, "eml", eml(tmp_path, raws[0], "first.eml"))
    (acknowledged,) = queued(desk)
    assert acknowledged["Cc"] is None, "the sender alone, by default"
    desk = make_desk(tmp_path / "copying", monkeypatch, MAIL_CONFIG.replace(
        "  address: help@fernhill.example\n",
        "  address: help@fernhill.example\n  notify: {acknowledgement: [requester, cc]}\n"))
    desk.at("2026-11-23T12:00:00Z")
    taken = intake(desk, "mbox", mbox(tmp_path, *raws))["messages"]
    mails = [parse((desk.path / path).read_bytes()) for path in desk.committed_files()
             if path.startswith("outbox/") and path.endswith(".eml")]
    copied = [mail for mail in mails if "victim@victim.example" in str(mail["Cc"] or "")]
    assert len(mails) == 6 and len(copied) == 3, "each sender is acknowledged; the victim three times"
    assert "left out of its Cc victim@victim.example" in desk.text(taken[5]["ticket"])
    own = (b"From: victim@victim.example\nTo: help@fernhill.example\nSubject: My own problem\n"
           b"Message-ID: <own@victim.example>\n\nReal.\n")
    made = intake(desk, "eml", eml(tmp_path, own, "own.eml"))["messages"][0]["ticket"]
    assert queued(desk) == [] and "victim@victim.example had 3 within the hour" in desk.text(made)


def test_spam_rejected_before_mail_goes_out_gets_no_acknowledgement(desk: Desk, tmp_path: Path) -> None:
    spam = (b"From: winner@lottery.example\nTo: help@fernhill.example\nSubject: You won\n"
            b"Message-ID: <w1@lottery.example>\n\nClaim your prize\n")
    spam_id = from_mail(desk, tmp_path, spam)
    (ack,) = [path for path in desk.committed_files() if path.startswith("outbox/")]
    assert text_of(parse((desk.path / ack).read_bytes())).startswith("Hello,\n"), "no name given: no name made up"
    result = desk.run("--as", "alice", "reject", spam_id, "--no-send", "-m", "Spam")
    marker = ack.replace(".eml", ".withdrawn")
    assert desk.committed_files() == [marker, f"tickets/{spam_id}.md"], "withdrawn in the rejection's commit"
    assert f"unsent acknowledgement {ack} withdrawn" in desk.last_message() and "withdrawn" in result.output
    assert desk.run("check").exit_code == 0
    dry = json.loads(desk.run("mail", "send", "--dry-run", "--format", "json").stdout)
    assert [(item["file"], item["outcome"]) for item in dry["messages"]] == [(ack, "withdrawn")]

    honest_id = from_mail(desk, tmp_path, spam.replace(b"winner@lottery", b"carol@example")
                          .replace(b"<w1@", b"<c9@"))
    (claimed,) = [path for path in desk.committed_files() if path.startswith("outbox/")]
    (desk.path / claimed.replace(".eml", ".claim")).write_text("clone: elsewhere\nclaimed: 2026-11-23T12:00:00Z\n")
    desk.git("add", "outbox")
    desk.git("commit", "-qm", "mail-send: claim")
    kept = desk.run("--as", "alice", "reject", honest_id, "--no-send", "-m", "Sent to the wrong desk").output
    assert f"acknowledgement {claimed} is being sent by another clone right now: it may still go out" in \
        " ".join(kept.split())
    assert (desk.path / claimed.replace(".eml", ".withdrawn")).exists(), "if that clone died, the marker holds"

    late_id = from_mail(desk, tmp_path, spam.replace(b"winner@lottery", b"dave@example").replace(b"<w1@", b"<d1@"))
    (stale,) = [path for path in desk.committed_files() if path.startswith("outbox/")]
    (desk.path / stale.replace(".eml", ".claim")).write_text("clone: deadbeef\nclaimed: 2026-11-20T12:00:00Z\n")
    desk.git("add", "outbox")
    desk.git("commit", "-qm", "a claim left by a clone that died")
    desk.run("--as", "alice", "reject", late_id, "--no-send", "-m", "Spam")
    assert (desk.path / stale.replace(".eml", ".withdrawn")).exists(), "mail send would take that claim over"


def test_a_score_answering_the_resolution_mail_is_feedback_anything_else_reopens(desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(desk, tmp_path)
    desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    desk.run("--as", "alice", "resolve", ticket_id, "--note", "Stale credentials removed.")
    (solved,) = queued(desk)
    score = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: {solved['Subject']}\n"
             f"Message-ID: <score@mail.gmail.com>\nIn-Reply-To: {solved['Message-ID']}\n\n5 - quick, thanks\n").encode()
    rated = intake(desk, "eml", eml(tmp_path, score, "score.eml"))
    assert rated["messages"][0]["outcome"] == "feedback"
    assert ticket(desk, ticket_id)["status"] == "resolved", "a score does not reopen"
    assert "quick, thanks" not in desk.run("show", ticket_id).stdout, "feedback is not shown to the agent"
    still = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: {solved['Subject']}\n"
             f"Message-ID: <still@mail.gmail.com>\nIn-Reply-To: {solved['Message-ID']}\n\nIt is back.\n").encode()
    intake(desk, "eml", eml(tmp_path, still, "still.eml"))
    assert ticket(desk, ticket_id)["status"] == "open"


def test_a_reply_can_start_from_a_knowledge_base_article(desk: Desk) -> None:
    solved = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email")
    desk.run("resolve", solved, "--note", "Remove the stale credentials in Credential Manager, then set "
                                          "<ExcludeHttpsRootDomain> to 1; call +49 30 1234567 if not.")
    desk.run("kb", "build")
    later = desk.new("Outlook keeps prompting", "-q", "it-helpdesk", "-r", "bob@customer.example")
    desk.run("--as", "alice", "reply", later, "--from-kb", "outlook password")
    assert ticket(desk, later)["conversation"][-1]["text"] == (
        "Remove the stale credentials in Credential Manager, then set <ExcludeHttpsRootDomain> to 1; call "
        "[phone removed] if not."), "as the agent wrote it, not escaped for a Git host; private stays out"
    assert "gitdesk kb search" in desk.fails("reply", later, "--from-kb", "no such thing")


def test_a_reply_from_an_article_opens_in_the_editor_on_a_terminal(desk: Desk, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """An article tells how another ticket was solved, in the past tense: on a terminal, the
    agent adjusts it before it is sent (a new user's trial sent it as it stood)."""
    import click

    from gitdesk.render import output

    solved = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email")
    desk.run("resolve", solved, "--note", "Removed the stale credentials in Credential Manager.")
    desk.run("kb", "build")
    later = desk.new("Outlook keeps prompting", "-q", "it-helpdesk", "-r", "bob@customer.example")
    seen: list[str] = []
    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setattr(click, "edit", lambda text, **_: seen.append(text) or "Please remove the stale credentials.")
    desk.run("--as", "alice", "reply", later, "--from-kb", "outlook password")
    assert seen == ["Removed the stale credentials in Credential Manager."]
    assert ticket(desk, later)["conversation"][-1]["text"] == "Please remove the stale credentials."


def test_duplicate_closes_links_and_tells_the_requester_where_the_answer_is(desk: Desk) -> None:
    first = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "-c", "email", "-r", "carol@example.com")
    desk.run("resolve", first, "--note", "Removed stale credentials in Credential Manager. Still asked? Write to "
                                       "help@fernhill.example, it\\@fernhill.example or to carol@example.com who saw it first.")
    again = desk.new("Mail keeps prompting for credentials", "-q", "it-helpdesk", "-c", "email",
                     "-r", "erin@example.com")
    desk.run("duplicate", again, "--of", first, "-m", "Thanks for the report.")
    text = desk.text(again)
    assert f"duplicate_of: {first}" in text and "status: resolved" in text
    assert "Removed stale credentials in Credential Manager." in text.split("## Resolution", 1)[1]
    (mail,) = queued(desk)
    assert mail["To"] == "erin@example.com"
    body = text_of(mail)
    assert "Thanks for the report." in body and first in body and "Removed stale credentials" in body
    assert "Outlook asks for my password" not in body, "carol's title is hers: erin is told its ID"
    assert "Write to help@fernhill.example, it\\@fernhill.example or to [email removed] who saw" in body, \
        "the desk's own addresses stay (its alias too, however it is spelt)"
    assert "How did we do?" not in body and "reply to this mail" in body, \
        "no score is asked (the reports leave a duplicate's out); what to do if it still goes wrong is said"
    assert "first response: none: its resolution was the first answer" in desk.run("show", again).output, \
        "not 'none yet' on a ticket that will never get one"
    assert f"duplicates:     {again}\n" in desk.run("show", first).output, "the original names what repeated it"
    assert json.loads(desk.run("show", first, "--format", "json").stdout)["duplicates"] == [again]
    desk.run("kb", "build")
    article = next((desk.path / "kb").rglob(f"*{first.lower()}*.md")).read_text()
    assert "**Reported:** 2 times" in article, "the duplicate counts in the article"


def test_a_desk_that_mails_resolutions_and_not_replies_tells_every_duplicate_its_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closed into a solved ticket at once, or told when the original is solved later: one
    policy, the resolution's (the duplicate's own request is being solved either way)."""
    desk = mail_desk(tmp_path, monkeypatch, CONFIG.replace("  name: Fernhill IT\n",
                                                           "  name: Fernhill IT\n  notify: {reply: []}\n"))
    solved = desk.new("Teams freezes", "-q", "it-helpdesk", "-r", "max@customer.example")
    desk.run("resolve", solved, "--note", "Cleared the Teams cache folder.")
    late = desk.new("Teams hangs", "-q", "it-helpdesk", "-r", "ute@customer.example")
    desk.run("duplicate", late, "--of", solved)
    told = {to(mail): text_of(mail) for mail in queued(desk)}
    waiting_on = desk.new("Teams crashes", "-q", "it-helpdesk", "-r", "kim@customer.example")
    early = desk.new("Teams is stuck", "-q", "it-helpdesk", "-r", "ida@customer.example")
    desk.run("duplicate", early, "--of", waiting_on)
    desk.run("resolve", waiting_on, "--note", "Reinstalled Teams.")
    told |= {to(mail): text_of(mail) for mail in queued(desk)}
    assert "Cleared the Teams cache folder." in told["ute@customer.example"]
    assert "Reinstalled Teams." in told["ida@customer.example"], "the waiting one is told too"
    quiet = CONFIG.replace("  name: Fernhill IT\n", "  name: Fernhill IT\n  notify: {resolution: []}\n")
    desk.configure(quiet, "resolutions mail no one")
    other = desk.new("Teams is slow", "-q", "it-helpdesk", "-r", "kim@customer.example")
    later = desk.new("Teams lags", "-q", "it-helpdesk", "-r", "ida@customer.example")
    desk.run("duplicate", later, "--of", other)
    desk.run("resolve", other, "--note", "Turned off GPU acceleration.")
    assert "which was solved:\n\nTurned off GPU acceleration." in ticket(desk, later)["resolution"], \
        "not mailed by the policy, but its record says what solved it"


def test_another_requesters_contact_details_in_a_resolution_are_not_mailed_to_a_duplicates_requester(
        desk: Desk) -> None:
    note = "New AP firmware. Lena Vogt (lena.vogt@example.com, +49 171 1234567) confirmed it works."
    solved = desk.new("Wi-Fi drops in room B", "-q", "it-helpdesk", "-r", "lena.vogt@example.com")
    desk.run("resolve", solved, "--note", note)
    later = desk.new("Wireless keeps cutting out", "-q", "it-helpdesk", "-r", "omar@example.com")
    desk.run("duplicate", later, "--of", solved)
    waiting = desk.new("Room B wifi is flaky", "-q", "it-helpdesk", "-r", "erin@example.com")
    desk.run("reopen", solved, "-m", "it drops again")
    desk.run("duplicate", waiting, "--of", solved)
    queued(desk)  # the reopening and the pointer
    desk.run("resolve", solved, "--note", note)
    told = {to(mail): text_of(mail) for mail in queued(desk)}
    pointer = desk.text(later).split("## Resolution", 1)[1]
    for text in (pointer, told["erin@example.com"]):
        assert "New AP firmware" in text and "[email removed]" in text and "[phone removed]" in text
        assert "lena.vogt@" not in text and "1234567" not in text, "lena's details are hers"
    assert "lena.vogt@example.com, +49 171 1234567" in told["lena.vogt@example.com"], "her own note, as written"


def test_duplicate_of_an_open_ticket_tells_its_requester_the_answer_in_a_mail_of_their_own(
        desk: Desk, tmp_path: Path) -> None:
    """Erin is told the answer when it comes, on her own ticket: she is not copied on Carol's
    thread, so neither sees the other's address or the rest of the other's conversation."""
    first = desk.new("Heating is off in room B", "-q", "it-helpdesk", "-r", "carol@example.com")
    again = desk.new("Room B is cold", "-q", "it-helpdesk", "-r", "erin@example.com")
    desk.run("duplicate", again, "--of", first)
    assert "erin@example.com" not in desk.text(first), "not copied on carol's ticket"
    assert ticket(desk, first)["duplicates_waiting"] == [again]
    assert again not in str(json.loads(desk.run("show", first, "--format", "json").stdout)["solved_before"]), \
        "its own duplicate is not an answer to it"
    (pointer,) = queued(desk)
    assert "will hear when it is solved" in text_of(pointer)
    assert pointer["Subject"].startswith("Re: ") and "1 (very unhappy)" not in text_of(pointer), \
        "nothing is solved yet: no 'Solved' and no satisfaction question"
    assert "cannot be linked to itself" in desk.fails("duplicate", first, "--of", first)
    assert "is already a duplicate of" in desk.fails("duplicate", first, "--of", again)
    desk.run("reply", first, "-m", "Carol, your room is next on the list.")
    (reply,) = queued(desk)
    assert to(reply) == "carol@example.com" and reply["Cc"] is None

    desk.run("resolve", first, "--note", "Replaced the valve.")
    mails = {to(mail): mail for mail in queued(desk)}
    assert sorted(mails) == ["carol@example.com", "erin@example.com"]
    assert all(mail["Cc"] is None for mail in mails.values())
    told = mails["erin@example.com"]
    assert told["Subject"] == f"Re: Room B is cold [{again}]" and told["In-Reply-To"] == pointer["Message-ID"]
    assert "1 (very unhappy)" not in text_of(told), "no score asked: reports leave a duplicate's score out"
    assert "Replaced the valve." in text_of(told) and first in text_of(told)
    assert text_of(told).startswith("Hello,\n\nthe problem you reported is solved"), "the desk's own words greet"
    assert max(map(len, text_of(told).split("\n"))) <= 76, "the desk's own sentence ran to 99 columns"
    assert "Heating is off" not in text_of(told), "carol's title is hers"
    assert told["Message-ID"] in desk.text(again), "her answer threads to her own ticket"
    assert "Replaced the valve." in ticket(desk, again)["conversation"][-1]["text"], "what she was told"
    assert "duplicates_waiting" not in ticket(desk, first), "told once"
    logged = json.loads(desk.run("log", "--action", "resolve", "--format", "json").stdout)["entries"]
    assert [entry["ticket"] for entry in logged] == [first], "erin's ticket was told, not resolved again"

    answer = (f"From: erin@example.com\nTo: help@fernhill.example\nSubject: Re: Room B is cold\n"
              f"Message-ID: <erin-2@example.com>\nIn-Reply-To: {told['Message-ID']}\n\n"
              "It is still cold in here.\n").encode()
    taken = intake(desk, "eml", eml(tmp_path, answer, "still-cold.eml"))
    assert (taken["messages"][0]["ticket"], ticket(desk, again)["status"]) == (again, "open")
    shown = ticket(desk, again)
    assert (shown.get("duplicate_of"), shown["related"]) == (None, [first]), "its own problem again, still related"
    assert desk.run("check").exit_code == 0


def test_a_ticket_solved_by_setting_its_status_still_tells_its_duplicates(desk: Desk) -> None:
    """Erin was promised the answer when it came: it came by gitdesk set (the ticket had its
    note from before it was reopened), so she is told all the same. An assistant cannot
    finish a ticket at all."""
    first = desk.new("Heating is off in room B", "-q", "it-helpdesk", "-r", "carol@example.com")
    desk.run("resolve", first, "--note", "Replaced the valve.")
    desk.run("reopen", first, "-m", "Cold again")
    again = desk.new("Room B is cold", "-q", "it-helpdesk", "-r", "erin@example.com")
    desk.run("duplicate", again, "--of", first)
    queued(desk)
    from gitdesk.assistants.tools import Assistant
    from gitdesk.errors import ValidationError

    with pytest.raises(ValidationError, match="an assistant cannot set a ticket resolved"):
        Assistant(desk.path, "alice").set_field(first, "status", "resolved")
    desk.run("set", first, "status", "resolved")
    told = {to(mail): mail for mail in queued(desk)}
    assert "Replaced the valve." in text_of(told["erin@example.com"])
    assert "duplicates_waiting" not in ticket(desk, first), "told once"


def test_who_waits_follows_a_chain_of_duplicates_and_a_reopened_one_is_not_told(desk: Desk) -> None:
    problem = desk.new("Printer on floor 2 jams", "-q", "it-helpdesk", "-r", "carol@example.com")
    second = desk.new("Paper stuck in printer", "-q", "it-helpdesk", "-r", "erin@example.com")
    third = desk.new("Printer 2 eats paper", "-q", "it-helpdesk", "-r", "finn@example.com")
    fourth = desk.new("Floor 2 printing broken", "-q", "it-helpdesk", "-r", "gil@example.com")
    desk.run("duplicate", third, "--of", second)
    desk.run("duplicate", second, "--of", problem)
    desk.run("duplicate", fourth, "--of", problem)
    assert ticket(desk, problem)["duplicates_waiting"] == [second, third, fourth]
    assert "duplicates_waiting" not in ticket(desk, second), "moved to the ticket that will be solved"
    desk.run("reopen", fourth, "-m", "Mine is a different printer after all")
    desk.run("resolve", problem, "--note", "Replaced the pickup roller.")
    assert sorted(to(mail) for mail in queued(desk)) == ["carol@example.com", "erin@example.com",
                                                           "finn@example.com"]
    assert "duplicates_waiting" not in ticket(desk, problem)

    late = desk.new("Printer jams again on 2", "-q", "it-helpdesk", "-r", "hal@example.com")
    later = desk.new("Jam on floor 2 printer", "-q", "it-helpdesk", "-r", "ida@example.com")
    desk.run("duplicate", later, "--of", late)
    desk.run("duplicate", late, "--of", problem)
    assert sorted(to(mail) for mail in queued(desk)) == ["hal@example.com", "ida@example.com"], \
        "closed into a solved ticket: who waited for it is told that answer too"
    assert "Replaced the pickup roller." in text_of(next(m for m in queued(desk) if to(m) == "ida@example.com"))


def test_who_waits_is_told_the_answer_and_not_what_was_said_to_someone_else(desk: Desk) -> None:
    solved = desk.new("Payroll for Kim Jones is wrong", "-q", "it-helpdesk", "-r", "kim@example.com")
    desk.run("resolve", solved, "--note", "Payroll reran the batch.")
    kims = desk.new("Kim's overtime", "-q", "it-helpdesk", "-r", "kim@example.com")
    pats = desk.new("My payslip", "-q", "it-helpdesk", "-r", "pat@example.com")
    desk.run("duplicate", pats, "--of", kims)
    desk.run("duplicate", kims, "--of", solved, "-m", "Hi Kim, sorry about your overtime again.")
    told = next(mail for mail in queued(desk) if to(mail) == "pat@example.com")
    assert "Payroll reran the batch." in text_of(told) and solved in text_of(told)
    assert "Kim" not in text_of(told), "neither Kim's title nor the words written to Kim"
    assert ticket(desk, pats)["duplicate_of"] == solved, "every duplicate points at the ticket with the answer"


def three_reports_of_one_vpn_problem(desk: Desk) -> list[str]:
    """Three requesters (p1, p2, p3@example.com) reporting one VPN problem in other words."""
    return [desk.new(title, "-q", "it-helpdesk", "-r", f"p{n}@example.com")
            for n, title in enumerate(("VPN drops", "VPN disconnects", "VPN keeps dropping"), start=1)]


def test_who_waits_is_told_what_an_answer_does_closed_or_not(desk: Desk) -> None:
    first, closed, resolved = three_reports_of_one_vpn_problem(desk)
    desk.run("duplicate", closed, "--of", first)
    desk.run("duplicate", resolved, "--of", first)
    desk.run("close", closed)  # closed while it waited: a reply starts a follow-up, it does not reopen
    desk.run("resolve", first, "--note", "New VPN profile pushed.")
    told = {to(mail): " ".join(text_of(mail).split()) for mail in queued(desk)}
    assert "reply to this mail and say what happens: we take it up again as a new request." in told["p2@example.com"]
    assert "reply to this mail and say what happens: your request opens again." in told["p3@example.com"]


def test_a_timeline_in_a_reply_reaches_the_requester_as_written(desk: Desk) -> None:
    ticket_id = desk.new("Server down", "-q", "it-helpdesk", "-r", "bob@customer.example")
    desk.run("--as", "alice", "reply", ticket_id, "-m", "Timeline:\n\n### 2026-12-01 update\nwe rebooted")
    assert "\\### 2026-12-01 update" in desk.text(ticket_id), "escaped in the file, where it would read as an entry"
    (mail,) = queued(desk)
    assert "\n### 2026-12-01 update\n" in text_of(mail) and "\\###" not in mail.as_string()


def test_undoing_a_silent_reject_is_silent_too(desk: Desk) -> None:
    spam = desk.new("Cheap pills", "-q", "it-helpdesk", "-r", "spammer@customer.example")
    desk.run("--as", "alice", "reject", spam, "--no-send", "-m", "Spam")
    desk.run("--as", "alice", "reopen", spam, "-m", "Not spam after all: a real supplier")
    assert queued(desk) == [], "the sender never heard of the rejection: nothing to take back"
    refused = desk.new("Fix my home router", "-q", "it-helpdesk", "-r", "carol@customer.example")
    desk.run("--as", "alice", "reject", refused, "-m", "We only look after office equipment.")
    desk.run("--as", "alice", "reopen", refused, "-m", "It is the office router after all.")
    assert [str(mail["X-Gitdesk-Event"]) for mail in queued(desk)] == ["reopen"], "the sender was told: now again"


def test_a_reply_on_spam_is_not_mailed_to_its_sender_unless_asked(desk: Desk) -> None:
    spam = desk.new("Cheap pills", "-q", "it-helpdesk", "-r", "spammer@customer.example")
    desk.run("--as", "alice", "reject", spam, "--no-send", "-m", "Spam")
    before = desk.git("rev-parse", "HEAD")
    refused = desk.run("--as", "alice", "reply", spam, "-m", "Who are you?", ok=False)
    assert refused.exit_code == 1 and "is rejected: the reply would be mailed to its sender" in refused.stderr
    assert desk.git("rev-parse", "HEAD") == before and queued(desk) == []
    desk.run("--as", "alice", "reply", spam, "-m", "Reported to the abuse desk.", "--no-send")
    assert queued(desk) == [] and "Reported to the abuse desk." in desk.text(spam)
    desk.run("--as", "alice", "reply", spam, "-m", "Please stop.", "--send")
    assert [to(mail) for mail in queued(desk)] == ["spammer@customer.example"], "asked for in so many words"
    config = (desk.path / ".gitdesk" / "config.yml").read_text()
    desk.configure(config.replace("  name: Fernhill IT\n", "  name: Fernhill IT\n  notify: {reply: []}\n"),
                   "replies mail no one")
    desk.run("--as", "alice", "reply", spam, "-m", "Called facilities for them.")  # nothing would be mailed


def test_a_duplicate_of_a_duplicate_waits_for_the_first_and_a_loop_is_refused(desk: Desk) -> None:
    first, second, third = three_reports_of_one_vpn_problem(desk)
    desk.run("duplicate", second, "--of", first)
    desk.run("duplicate", third, "--of", second)
    assert ticket(desk, third)["duplicate_of"] == first and "working on it there" in " ".join(text_of(queued(desk)[0]).split())
    assert ticket(desk, first)["duplicates_waiting"] == [second, third]
    assert "is already a duplicate of" in desk.fails("duplicate", first, "--of", third)
    fifth = desk.new("VPN flaky", "-q", "it-helpdesk", "-r", "p6@example.com")
    path = desk.path / "tickets" / f"{first}.md"  # a loop made by hand: first -> fifth -> first
    path.write_text(path.read_text().replace("\nqueue:", f"\nduplicate_of: {fifth}\nqueue:", 1))
    desk.git("commit", "-qam", "hand edit")
    assert "lead back to" in desk.fails("duplicate", fifth, "--of", third)
    path.write_text(path.read_text().replace(f"\nduplicate_of: {fifth}", "", 1))
    desk.git("commit", "-qam", "undo")
    rejected = desk.new("Buy cheap pills", "-q", "it-helpdesk", "-r", "p4@example.com")
    desk.run("reject", rejected, "-m", "spam")
    fourth = desk.new("VPN gone", "-q", "it-helpdesk", "-r", "p5@example.com")
    assert "was rejected: no answer will come from it" in desk.fails("duplicate", fourth, "--of", rejected)
    desk.run("resolve", first, "--note", "New VPN profile pushed.", "--no-send")
    assert queued(desk) == [] and "not told (as --no-send says)" in desk.last_message()
    assert "duplicates_waiting" not in ticket(desk, first)
    assert "which was solved:\n\nNew VPN profile pushed." in ticket(desk, second)["resolution"], \
        "not mailed, but its record says what solved it"


def test_links_made_by_hand_never_carry_someone_else_s_words_to_who_waits(desk: Desk) -> None:
    kims = desk.new("Kim's printer in Pat Lee's office", "-q", "it-helpdesk", "-r", "kim@example.com")
    desk.run("resolve", kims, "--note", "Replaced the toner.")
    again = desk.new("Kim printer again", "-q", "it-helpdesk", "-r", "kim@example.com")
    desk.run("duplicate", again, "--of", kims, "-m", "Kim, sorry, your manager Pat says hi")
    lees = desk.new("Printer", "-q", "it-helpdesk", "-r", "lee@example.com")
    maxs = desk.new("Printer too", "-q", "it-helpdesk", "-r", "max@example.com")
    desk.run("duplicate", maxs, "--of", lees)
    assert "is already a duplicate of" in desk.fails("link", lees, "--duplicate-of", maxs), "a loop"
    desk.run("link", lees, "--duplicate-of", again)
    desk.run("resolve", lees, "--note", "Lee: new driver.")
    told = next(mail for mail in queued(desk) if to(mail) == "max@example.com")
    assert "Lee: new driver." in text_of(told) and "Kim" not in text_of(told) and "Pat" not in text_of(told)
    assert "Lee: new driver." in ticket(desk, maxs)["resolution"], "no longer 'we are working on it there'"

    gone = desk.new("Scanner", "-q", "it-helpdesk", "-r", "sue@example.com")
    path = desk.path / "tickets" / f"{again}.md"
    path.write_text(path.read_text().replace(f"duplicate_of: {kims}", "duplicate_of: GD-01M92TAW80ZZZZZZZZ"))
    desk.git("commit", "-qam", "a link to a ticket this clone does not have")
    assert "which this desk does not have" in desk.fails("duplicate", gone, "--of", again)


def test_the_desk_s_own_address_cannot_be_copied(desk: Desk) -> None:
    """Copied, the desk would mail itself on every answer (and take the copy in as a loop)."""
    made = desk.new("Printer", "-q", "it-helpdesk", "-r", "carol")
    for own in ("help@fernhill.example", "HELP@fernhill.example"):
        assert desk.fails("--as", "alice", "cc", made, f"+{own}") == (
            f"gitdesk: error: cannot copy {own!r}: it is the desk's own address (mail to it comes back to the "
            "desk; copy a person's address)")
    desk.run("--as", "alice", "cc", made, "+boss@example.net")


def test_a_colleague_in_the_cc_of_a_duplicate_hears_the_answer_too(desk: Desk) -> None:
    first = desk.new("Kim's salary review with HR is wrong", "-q", "it-helpdesk", "-r", "kim@example.com")
    again = desk.new("Payroll", "-q", "it-helpdesk", "-r", "kim@example.com")
    desk.run("cc", again, "+carol@example.com")
    desk.run("duplicate", again, "--of", first)
    (pointer,) = queued(desk)
    assert "salary" not in text_of(pointer), "carol reads it too: the other ticket by its ID alone"
    desk.run("resolve", first, "--note", "HR corrected the review.")
    told = next(mail for mail in queued(desk) if mail["Cc"] == "carol@example.com")
    assert "HR corrected the review." in text_of(told)


def test_rejecting_a_ticket_others_wait_for_says_who_is_left_waiting(desk: Desk) -> None:
    first = desk.new("Outage", "-q", "it-helpdesk", "-r", "lee@example.com")
    again = desk.new("Outage too", "-q", "it-helpdesk", "-r", "max@example.com")
    desk.run("duplicate", again, "--of", first)
    out = desk.run("reject", first, "-m", "Not ours: the provider's").output
    assert "first response: none: rejected without a reply" in desk.run("show", first).output
    assert f"left waiting: {again}" in out and f"left waiting: {again}" in desk.last_message()
    assert f"{again} (not told: answer them on their tickets)" in desk.run("show", first).output


def test_who_waits_for_a_ticket_solved_by_hand_is_told_by_the_next_rules_run(desk: Desk) -> None:
    """Nobody at the keyboard: a resolution typed into the file mails nobody, so the scheduled
    rules run tells who waits (a rule's resolution is no answer: tests/test_rules.py)."""
    problem = desk.new("Wi-Fi drops on floor 3", "-q", "it-helpdesk", "-r", "carol@example.com")
    again = desk.new("No wireless upstairs", "-q", "it-helpdesk", "-r", "erin@example.com")
    desk.run("duplicate", again, "--of", problem)
    desk.solve_by_hand(problem, "open", "The access point on 3 was replaced.", "Solved it on site")
    assert f"{again} (not told yet: the next gitdesk rules run tells them" in desk.run("show", problem).output
    planned = json.loads(desk.run("rules", "run", "--dry-run", "--format", "json").stdout)
    assert ("(duplicates waiting)", problem) in [(row["rule"], row["ticket"]) for row in planned["actions"]]
    assert "duplicates_waiting" in ticket(desk, problem), "a dry run changes nothing"
    desk.run("rules", "run")
    told = queued(desk)
    assert [to(mail) for mail in told] == ["erin@example.com"]
    assert "The access point on 3 was replaced." in text_of(told[0]) and "Wi-Fi" not in text_of(told[0])
    assert "duplicates_waiting" not in ticket(desk, problem)
    assert "Gitdesk-Rule: (duplicates waiting)" in desk.git("log", "-1", "--format=%B")
    head = desk.git("rev-parse", "HEAD")
    assert "made 0 changes" in desk.run("rules", "run").output.casefold()
    assert desk.git("rev-parse", "HEAD") == head, "told once"
    assert desk.run("check").exit_code == 0


def test_a_hand_edited_waiting_list_mails_nobody_the_links_do_not_name(desk: Desk) -> None:
    """The list is a field anyone can edit: naming an unrelated ticket must not mail its
    requester someone else's answer."""
    problem = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol@example.com")
    stranger = desk.new("New laptop please", "-q", "it-helpdesk", "-r", "mallory@example.com")
    desk.run("resolve", stranger, "--note", "Ordered.")
    path = desk.path / "tickets" / f"{problem}.md"
    path.write_text(path.read_text().replace("\nqueue:", f"\nduplicates_waiting: [{stranger}]\nqueue:", 1))
    desk.git("commit", "-qam", "hand edit")
    desk.run("resolve", problem, "--note", "Split tunnelling fixed.")
    assert [to(mail) for mail in queued(desk)] == ["carol@example.com"]
    path.write_text(path.read_text().replace("\nqueue:", "\nduplicates_waiting: 5\nqueue:", 1))
    desk.git("add", str(path))
    assert "duplicates_waiting must be a list of ticket IDs" in desk.run("check", ok=False).output


@pytest.mark.parametrize(("raw", "greeted"), [
    ("Meyer, Bob", "Bob Meyer"), ("Jürgen Müller (ACME)", "Jürgen Müller"), ("---", None), ("...", None),
    ("bob@example.com", None), ("Bob\u202eevil", "Bob evil"), (["Bob"], None), ("x" * 81, None),
])
def test_only_a_plain_name_is_used_to_greet(raw: object, greeted: str | None) -> None:
    from gitdesk.templates import name_to_greet

    assert name_to_greet(raw) == greeted
