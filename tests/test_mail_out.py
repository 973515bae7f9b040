"""Mail out: `gitdesk reply --send` over a real SMTP server on 127.0.0.1 (aiosmtpd),
or into outbox/ when the desk has no SMTP host; threading with what came in."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import Desk, make_desk
from test_mail_intake import MAIL_CONFIG, eml, intake, message, ticket


@pytest.fixture
def mail_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(tmp_path / "desk", monkeypatch, MAIL_CONFIG.replace("  address: help@fernhill.example\n",
                                                                         "  address: help@fernhill.example\n"
                                                                         "  name: Fernhill IT\n"))
    desk.at("2026-11-23T12:00:00Z")
    return desk


def from_mail(desk: Desk, tmp_path: Path) -> str:
    """A ticket that arrived by mail from bob.meyer@gmail.com."""
    result = intake(desk, "eml", eml(tmp_path, message("gmail-new.eml")))
    ticket_id = str(result["messages"][0]["ticket"])
    desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
    return ticket_id


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    controller_module = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is in the test extra")
    collector = Collector()
    port = free_port()
    controller = controller_module.Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("GITDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GITDESK_SMTP_PORT", str(port))
    monkeypatch.setenv("GITDESK_SMTP_SECURITY", "none")
    try:
        yield collector
    finally:
        controller.stop()


def test_without_smtp_the_mail_is_committed_to_the_outbox_and_the_answer_threads(mail_desk: Desk,
                                                                                 tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "note", ticket_id, "-m", "Internal: the AD sync is broken again.")
    result = json.loads(mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Please restart Outlook.",
                                      "--send", "--format", "json").stdout)
    queued = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert len(queued) == 1 and sorted(mail_desk.committed_files()) == sorted([f"tickets/{ticket_id}.md", *queued])
    assert any(line.startswith("mail to bob.meyer@gmail.com queued in outbox/") for line in result["changes"])
    sent = parse((mail_desk.path / queued[0]).read_bytes())
    assert sent["To"] == "Bob Meyer <bob.meyer@gmail.com>", "the name their mail gave"
    assert sent["From"] == '"Alice Agent (Fernhill IT)" <help@fernhill.example>'
    assert sent["Subject"] == f"Re: Outlook fragt ständig nach dem Passwort – every hour [{ticket_id}]"
    assert sent["In-Reply-To"].startswith(f"<{ticket_id}.acknowledgement."), "after the desk's acknowledgement"
    assert "<CAH7x9+Zq3vR1kYp0=u8dQm5TgW@mail.gmail.com>" in sent["References"]
    assert sent["X-Gitdesk-Desk"] == "Fernhill IT <help@fernhill.example>", "names the desk, to know it again"
    body = text_of(sent)
    assert "Please restart Outlook." in body and "AD sync" not in body, "internal notes never go out"
    assert sent["Message-ID"] in mail_desk.text(ticket_id), "the ticket remembers its own mail"
    for n in range(12):  # a long thread: References is shortened, but keeps its root
        mail_desk.run("--as", "alice", "reply", ticket_id, "-m", f"Step {n}.")
    last = parse((mail_desk.path / next(path for path in mail_desk.committed_files() if path.startswith("outbox/")))
                 .read_bytes())
    references = last["References"].split()
    assert references[0] == "<CAH7x9+Zq3vR1kYp0=u8dQm5TgW@mail.gmail.com>" and len(references) == 10, references
    assert references[-1] == last["In-Reply-To"]

    answer = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: your mail\n"
              f"In-Reply-To: {sent['Message-ID']}\nMessage-ID: <answer-1@mail.gmail.com>\n\nDone, works.\n").encode()
    taken = intake(mail_desk, "eml", eml(tmp_path, answer, "answer.eml"))
    assert (taken["messages"][0]["outcome"], taken["messages"][0]["ticket"]) == ("reply", ticket_id)
    looped = intake(mail_desk, "eml", mail_desk.path / queued[0])
    assert looped["messages"][0]["detail"] == "sent by this desk (a mail loop)"


def test_a_reply_goes_to_a_person_s_address_now_not_the_one_they_had(mail_desk: Desk) -> None:
    """The ticket names the address carol asked from; her mail moved since (former_emails)."""
    ticket_id = mail_desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol@example.com")
    mail_desk.configure(mail_desk.config.replace(
        "email: carol@example.com,", "email: carol@example.org, former_emails: [carol@example.com],"), "moved")
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Cleared tray 2.", "--send")
    (queued,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert parse((mail_desk.path / queued).read_bytes())["To"] == "Carol Requester <carol@example.org>"
    assert "cannot copy carol@example.com: an address carol had (former_emails) (copy carol@example.org)" in \
        mail_desk.fails("--as", "alice", "cc", ticket_id, "+carol@example.com")
    copied = mail_desk.new("Scanner offline", "-q", "it-helpdesk", "-r", "bob.meyer@gmail.com")
    mail_desk.file(copied).write_text(mail_desk.text(copied).replace("labels: []", "labels: []\ncc: [carol@example.com]"))
    mail_desk.git("commit", "-qam", "copied by hand, as it was then")
    mail_desk.run("--as", "alice", "reply", copied, "-m", "On it.", "--send")
    (cc_mail,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")]
    assert parse((mail_desk.path / cc_mail).read_bytes())["Cc"] == "carol@example.org", "her address now"
    mail_desk.configure(mail_desk.config.replace("email: carol@example.org, ", ""), "carol has no mail now")
    assert "cannot mail the requester" in mail_desk.fails("--as", "alice", "reply", ticket_id, "-m", "Hi", "--send")


def test_a_question_nobody_can_receive_is_said_before_the_ticket_waits_for_an_answer(mail_desk: Desk) -> None:
    """The rules would remind no one and then close it as unanswered."""
    mail_desk.configure(mail_desk.config.replace("people:\n", "people:\n  zoe: {name: Zoe Visitor}\n", 1), "zoe")
    ticket_id = mail_desk.new("Badge broken", "-q", "it-helpdesk", "-r", "zoe")
    refused = mail_desk.fails("--as", "alice", "ask", ticket_id, "-m", "Which door?")
    assert refused == (f"gitdesk: error: {ticket_id}: the question cannot reach the requester ('zoe' has no email "
                       "address) (add an email for them under people: in .gitdesk/config.yml; or, asked another "
                       "way, --no-send to record it (the rules still close it unanswered when the wait runs out))")
    mail_desk.run("--as", "alice", "ask", ticket_id, "-m", "Which door?", "--no-send")
    assert json.loads(mail_desk.run("show", ticket_id, "--format", "json").stdout)["ticket"]["status"] == "pending"


def test_a_reply_with_a_pasted_log_line_keeps_mail_lines_short_and_its_text_whole(mail_desk: Desk,
                                                                                 tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    line = "2026-12-05 10:00 vpnagent: " + "token refused; " * 150
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", f"The log says:\n\n{line}\n\nWe renewed it.")
    (queued,) = [path for path in mail_desk.committed_files() if path.startswith("outbox/")][-1:]
    raw = (mail_desk.path / queued).read_bytes()
    body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
    assert max(len(row) for row in body.split(b"\n")) <= 78, "RFC 2045 lines"
    assert line.strip() in text_of(parse(raw)), "the line whole once decoded"


def test_a_reply_goes_out_over_a_real_smtp_server(mail_desk: Desk, tmp_path: Path, smtp_server: Collector) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    smtp_server.envelopes.clear()  # the acknowledgement waited in outbox/; --send delivers only this reply
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Your password was reset.", "--send")
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["bob.meyer@gmail.com"] and envelope.mail_from == "help@fernhill.example"
    sent = parse(envelope.original_content)
    assert f"[{ticket_id}]" in sent["Subject"] and "Your password was reset." in text_of(sent)
    assert "mail to bob.meyer@gmail.com queued in outbox/" in mail_desk.last_message(rev="HEAD~1")
    assert "Gitdesk-Action: mail-send" in mail_desk.last_message(), "the delivery is recorded in a commit"
    delivered = [p for p in mail_desk.committed_files() if p.startswith("sent/")]
    assert len(delivered) == 1 and b"X-Gitdesk-Delivered:" in (mail_desk.path / delivered[0]).read_bytes()


def test_a_failed_send_leaves_the_mail_queued_and_says_so(mail_desk: Desk, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    monkeypatch.setenv("GITDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GITDESK_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("GITDESK_SMTP_SECURITY", "none")
    said = mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Hello", "--send")  # exit 0: it is done
    assert "gitdesk: warning: could not send the mail" in said.stderr
    assert "the change is committed and its mail waits in outbox/ for gitdesk mail send" in said.stderr
    assert "nothing was sent or changed" not in said.stderr, "the change was made"
    queued = [p for p in mail_desk.committed_files() if p.startswith("outbox/")]
    assert len(queued) == 1 and "Hello" in text_of(parse((mail_desk.path / queued[0]).read_bytes()))
    assert mail_desk.status() == "", "nothing half-written"


def test_nothing_in_a_ticket_can_add_a_mail_header(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    path = mail_desk.file(ticket_id)
    text = path.read_text()
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(title_line, 'title: "Hi\\r\\nBcc: everyone@evil.example\\r\\n\\r\\nInjected body"'))
    mail_desk.git("commit", "-qam", "hand edit")
    assert "the title must be one line" in mail_desk.fails("--as", "alice", "reply", ticket_id, "-m", "Hello")
    mail_desk.git("revert", "--no-edit", "HEAD")
    mail_desk.run("--as", "alice", "set", ticket_id, "title", "Hi\r\nBcc: everyone@evil.example\r\n\r\nInjected body")
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Hello", "--send")
    queued = next(p for p in mail_desk.committed_files() if p.startswith("outbox/"))
    raw = (mail_desk.path / queued).read_bytes()
    sent = parse(raw)
    assert sent["Bcc"] is None and sent.get_all("To") == ["Bob Meyer <bob.meyer@gmail.com>"]
    assert b"\r\nBcc:" not in raw and b"\nBcc:" not in raw
    assert sent["Subject"].startswith("Re: Hi Bcc: everyone@evil.example Injected body [")


def test_mail_settings_that_cannot_work_are_refused_in_one_line(mail_desk: Desk, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ticket_id = mail_desk.new("Printer", "-q", "it-helpdesk", "--requester", "carol")
    error = mail_desk.fails("--as", "stranger@example.org", "reply", ticket_id, "-m", "x", "--send")
    assert "stranger@example.org is not one of the desk's people, so cannot mail the requester" in error
    config = mail_desk.config
    mail_desk.configure(config.replace("  aliases:", "  smtp: {host: smtp.example.com, password: hunter2}\n"
                                       "  aliases:"), "password in config")
    error = mail_desk.fails("list")
    assert "mail.smtp.password: passwords never go in the desk's repository" in error
    mail_desk.configure(config.replace("  aliases:", "  smtp: {host: 127.0.0.1, port: 1, user: help, "
                                       "security: none}\n  aliases:"), "smtp user")
    monkeypatch.delenv("GITDESK_SMTP_PASSWORD", raising=False)
    said = mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "x", "--send").stderr  # done; the mail waits
    assert "could not send" in said or "GITDESK_SMTP_PASSWORD is not" in said


def answer_to(sent: EmailMessage, body: str, number: int, sender: str = "bob.meyer@gmail.com") -> bytes:
    """The requester's answer to a mail we sent, as their mail program would write it (quoting it)."""
    quoted = "\n".join("> " + line for line in text_of(sent).splitlines())
    return (f"From: {sender}\nTo: help@fernhill.example\nSubject: Re: {sent['Subject']}\n"
            f"In-Reply-To: {sent['Message-ID']}\nMessage-ID: <rating-{number}@mail.gmail.com>\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}\n\nOn Mon, Fernhill IT wrote:\n{quoted}\n").encode()


def test_feedback_asked_for_by_mail_comes_back_to_the_desk_not_the_ticket(mail_desk: Desk, tmp_path: Path,
                                                                          smtp_server: Collector) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    error = mail_desk.fails("--as", "alice", "feedback", "request", ticket_id)
    assert "is open, not finished" in error and not smtp_server.envelopes
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Re-entered the password in Credential Manager.")
    smtp_server.envelopes.clear()
    mail_desk.run("--as", "alice", "feedback", "request", ticket_id, "--send")
    assert "Gitdesk-Action: feedback-request" in mail_desk.last_message(rev="HEAD~1"), "queued in its own commit"
    request = parse(smtp_server.envelopes[0].original_content)
    assert request["Subject"] == f"How did we do? Outlook fragt ständig nach dem Passwort – every hour [{ticket_id}]"
    assert request["From"] == "Fernhill IT <help@fernhill.example>", "signed by the desk, not the agent"
    assert "Alice" not in text_of(request)

    resolved = mail_desk.text(ticket_id)
    taken = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "Score: 4/5 - quick, but I had to\nask twice.",
                                                             1), "rating.eml"))
    assert (taken["messages"][0]["outcome"], taken["messages"][0]["detail"]) == ("feedback", "score 4")
    assert mail_desk.text(ticket_id) == resolved, "feedback never goes into the ticket, nor reopens it"
    stored = [p for p in mail_desk.committed_files() if p.startswith("feedback/")]
    assert len(stored) == 1
    text = (mail_desk.path / stored[0]).read_text()
    assert "score: 4\n" in text and "comment: quick, but I had to ask twice.\n" in text
    assert "Fernhill IT wrote" not in text, "the quoted request is not part of the comment"
    report = json.loads(mail_desk.run("report", "feedback", "--since", "2026-11-01", "--format", "json").stdout)
    assert "4" in json.dumps(report) and ticket_id in json.dumps(report)

    again = intake(mail_desk, "eml", tmp_path / "rating.eml")
    assert (again["messages"][0]["outcome"], again["messages"][0]["detail"]) == ("skipped", "already taken in")


def test_a_second_scored_answer_is_read_as_ordinary_mail(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Re-entered the password.")
    error = mail_desk.fails("--as", "stranger@example.org", "feedback", "request", ticket_id)
    assert "is not one of the desk's people, so cannot ask for feedback" in error
    mail_desk.run("--as", "alice", "feedback", "request", ticket_id)
    queued = next(p for p in mail_desk.committed_files() if p.startswith("outbox/"))
    request = parse((mail_desk.path / queued).read_bytes())
    first = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "5", 1), "first.eml"))
    assert first["messages"][0]["outcome"] == "feedback"
    second = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "1 - it broke again, please help", 2),
                                          "second.eml"))
    assert second["messages"][0]["outcome"] == "reply", "one score per ticket; the words still reach an agent"
    assert ticket(mail_desk, ticket_id)["status"] == "open"
    mail_desk.at("2026-11-23T13:00:00Z")
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Replaced the profile.")
    solved_again = parse((mail_desk.path / next(p for p in mail_desk.committed_files()
                                                if p.startswith("outbox/"))).read_bytes())
    third = intake(mail_desk, "eml", eml(tmp_path, answer_to(solved_again, "4 - fine, but it took a while", 3),
                                         "third.eml"))
    assert third["messages"][0]["outcome"] == "feedback", "solved again, asked again: the answer is a score"
    assert ticket(mail_desk, ticket_id)["status"] == "resolved", "a happy answer does not reopen it"


def test_solved_again_after_a_reopening_without_a_reason_the_answer_is_a_score(mail_desk: Desk,
                                                                               tmp_path: Path) -> None:
    """reopen without -m leaves no entry in the thread; the history shows it was solved again."""
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Re-entered the password.")
    mail_desk.run("--as", "alice", "feedback", "request", ticket_id)
    request = parse((mail_desk.path / next(p for p in mail_desk.committed_files() if p.startswith("outbox/")))
                    .read_bytes())
    assert intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "5 great service", 1), "a.eml")
                  )["messages"][0]["outcome"] == "feedback", "a number and words that judge the help"
    mail_desk.at("2026-11-23T13:00:00Z")
    mail_desk.run("--as", "alice", "reopen", ticket_id)
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Replaced the profile.")
    mail_desk.run("--as", "alice", "feedback", "request", ticket_id)
    again = parse((mail_desk.path / next(p for p in mail_desk.committed_files() if p.startswith("outbox/")))
                  .read_bytes())
    taken = intake(mail_desk, "eml", eml(tmp_path, answer_to(again, "1 - took far too long", 2), "b.eml"))
    assert (taken["messages"][0]["outcome"], taken["messages"][0]["detail"]) == ("feedback", "score 1")


def test_a_rated_resolution_is_not_asked_again_and_a_second_score_on_a_closed_ticket_replaces_the_first(
        mail_desk: Desk, tmp_path: Path) -> None:
    """Asked again after closing, the requester's "4 - good service" became a new ticket
    titled "(no subject)", acknowledged as a request, and the score was lost. A second answer
    that only judges the help replaces the first (the latest counts): the mail promised it
    goes to the weekly review, not to the agent."""
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Removed a torn label.")
    request = parse((mail_desk.path / next(p for p in mail_desk.committed_files() if p.startswith("outbox/")))
                    .read_bytes())
    mail_desk.at("2026-11-24T08:00:00Z")
    assert intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "5", 1), "a.eml"))["messages"][0][
        "outcome"] == "feedback"
    mail_desk.at("2026-11-30T12:00:00Z")
    mail_desk.run("--as", "alice", "close", ticket_id)
    head = mail_desk.head()
    assert mail_desk.fails("--as", "alice", "feedback", "request", ticket_id) == (
        f"gitdesk: error: {ticket_id} was rated 5 on 2026-11-24 for this resolution (one score counts per "
        "resolution; ask again once it is reopened and solved)")
    assert mail_desk.head() == head
    tickets = len(list((mail_desk.path / "tickets").glob("*.md")))
    second = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "4 - good service", 2), "b.eml"))
    assert (second["messages"][0]["outcome"], second["messages"][0]["ticket"]) == ("feedback", ticket_id)
    assert len(list((mail_desk.path / "tickets").glob("*.md"))) == tickets, "no new request"
    report = json.loads(mail_desk.run("report", "feedback", "--since", "2026-11-01", "--format", "json").stdout)
    assert report["findings"][:2] == ["1 response, average 4.0 of 5; 0 scored 1 or 2.",
                                      "Left out: 1 score (replaced by a later answer)."], "the latest counts"
    assert ticket(mail_desk, ticket_id)["status"] == "closed"
    numbered = (f"From: bob.meyer@gmail.com\nTo: help@fernhill.example\nSubject: Re: Outlook [{ticket_id}]\n"
                "Message-ID: <list-1@mail.gmail.com>\n\n1. The new colleague in room 3.14 needs Outlook too.\n"
                "2. Please add her to the scan-to-mail list.\n").encode()
    (item,) = intake(mail_desk, "eml", eml(tmp_path, numbered, "c.eml"))["messages"]
    assert item["outcome"] == "new" and f"follow-up to closed {ticket_id}" in item["detail"], \
        "a numbered list answering no rating question is a request, not a score"


def test_a_score_given_unasked_that_only_judges_the_help_reaches_the_review(mail_desk: Desk, tmp_path: Path) -> None:
    """A rule's "we have not heard back, so we marked it solved" asks no rating question: the
    requester's "2 - slow and unfriendly" to it was a reply that neither reopened the ticket nor
    reached the weekly review, so only the agent read the complaint."""
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Does it still ask since the restart?")
    question = parse((mail_desk.path / next(p for p in mail_desk.committed_files()
                                                   if p.startswith("outbox/"))).read_bytes())
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "No answer, marked solved.", "--no-send")
    resolved = mail_desk.text(ticket_id)
    (taken,) = intake(mail_desk, "eml", eml(tmp_path, answer_to(question, "2 - slow and unfriendly", 1),
                                            "unasked.eml"))["messages"]
    assert (taken["outcome"], taken["detail"]) == ("feedback", "score 2")
    assert mail_desk.text(ticket_id) == resolved, "the agent is not told, and it is not reopened"
    report = json.loads(mail_desk.run("report", "feedback", "--since", "2026-11-01", "--format", "json").stdout)
    assert report["findings"][0] == "1 response, average 2.0 of 5; 1 scored 1 or 2."
    (broken,) = intake(mail_desk, "eml", eml(tmp_path, answer_to(question, "2 - still broken", 2),
                                             "broken.eml"))["messages"]
    assert broken["outcome"] == "reply" and ticket(mail_desk, ticket_id)["status"] == "open", \
        "a complaint that it still fails reopens it, as before"
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Fixed again.", "--no-send")
    mail_desk.at("2026-11-24T08:00:00Z")
    mail_desk.run("feedback", "add", ticket_id, "--score", "5")
    (second,) = intake(mail_desk, "eml", eml(tmp_path, answer_to(question, "1 - rude", 4), "second.eml"))["messages"]
    assert second["outcome"] == "reply", "an unasked score never replaces one the resolution has"
    mail_desk.run("--as", "alice", "reopen", ticket_id, "-m", "Again")
    mail_desk.run("--as", "alice", "reject", ticket_id, "-m", "Not ours.", "--no-send")
    (rejected,) = intake(mail_desk, "eml", eml(tmp_path, answer_to(question, "1 - rude", 3),
                                               "rejected.eml"))["messages"]
    assert rejected["outcome"] != "feedback", "a rejected ticket had no help to rate"


def test_a_late_answer_to_a_question_is_never_taken_for_a_score(mail_desk: Desk, tmp_path: Path) -> None:
    """Asked "Which floor?", the ticket solved by a rule for want of an answer, the requester's
    late "2" was filed as a score of 2: the agent never saw the answer."""
    for number, (question, answer) in enumerate([("Which floor is the printer on?", "2"),
                                                 ("How many monitors do you need?", "2 thanks"),
                                                 ("How slow is it, 1 to 5?", "5 - very slow")]):
        raw = message("gmail-new.eml").replace(b"<CAH7x9+", f"<late{number}-".encode())
        ticket_id = str(intake(mail_desk, "eml", eml(tmp_path, raw, f"new-{number}.eml"))["messages"][0]["ticket"])
        mail_desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
        mail_desk.run("--as", "alice", "ask", ticket_id, "-m", question)
        asked = parse((mail_desk.path / max(p for p in mail_desk.committed_files() if p.startswith("outbox/")
                                            and ticket_id in p)).read_bytes())
        mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "No answer.", "--no-send")
        (taken,) = intake(mail_desk, "eml", eml(tmp_path, answer_to(asked, answer, 10 + number),
                                                f"late-{number}.eml"))["messages"]
        assert taken["outcome"] == "reply", (question, answer)
        assert answer in mail_desk.text(ticket_id)
    assert not (mail_desk.path / "feedback").exists()


def test_an_answer_without_a_score_or_from_someone_else_is_not_feedback(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Re-entered the password.")
    mail_desk.run("--as", "alice", "feedback", "request", ticket_id)
    queued = next(p for p in mail_desk.committed_files() if p.startswith("outbox/"))
    request = parse((mail_desk.path / queued).read_bytes())

    stranger = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "1", 2, "mallory@evil.example"), "s.eml"))
    assert stranger["messages"][0]["outcome"] == "new", "only the requester rates their ticket"
    words = intake(mail_desk, "eml", eml(tmp_path, answer_to(request, "It is broken again since today.", 3), "w.eml"))
    assert words["messages"][0]["outcome"] == "reply"
    assert ticket(mail_desk, ticket_id)["status"] == "open", "words, not a score: read like any reply"
    assert not (mail_desk.path / "feedback").exists()


def test_a_score_from_a_colleague_in_the_cc_is_a_reply_and_does_not_reopen(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "cc", ticket_id, "+petra@example.com")
    mail_desk.run("--as", "alice", "resolve", ticket_id, "--note", "Re-entered the password.")
    solved = parse((mail_desk.path / next(p for p in mail_desk.committed_files() if p.startswith("outbox/")))
                   .read_bytes())
    petra = intake(mail_desk, "eml", eml(tmp_path, answer_to(solved, "5 - great service!", 4, "petra@example.com"),
                                         "petra.eml"))
    assert petra["messages"][0]["outcome"] == "reply", "her words reach the ticket"
    assert ticket(mail_desk, ticket_id)["status"] == "resolved", "a happy score is no new problem"
    assert not (mail_desk.path / "feedback").exists(), "feedback is the requester's"


@pytest.mark.parametrize(("text", "expected"), [
    ("4", (4, "")), ("5 stars, thanks!", (5, "thanks!")), ("Rating: 2\nToo slow.", (2, "Too slow.")),
    ("\n\n3/5\n", (3, "")), ("1 more thing: it broke again", None), ("10", None), ("4.5", None),
    ("Thanks a lot", None), ("6", None), ("4 - quick", (4, "quick")), ("4 quick", (4, "quick")),
    ("5 great service", (5, "great service")), ("3 ok", (3, "ok")), ("2 laptops need it too", None),
    ("5 świetnie", (5, "świetnie")), ("1 quick question: the printer is offline again, who do I call?", None),
    ("2 quick questions about the fix", None), ("1 top priority: the server is down again!", None),
    ("3 ok, but can you also reset my password?", None), ("4 good, but it crashed again this morning", None),
    ("2 bad sectors found on the disk", None), ("5 Thank you very much!", (5, "Thank you very much!")),
    ("5 vielen Dank", (5, "vielen Dank")), ("5 out of 5 great", (5, "great")),
    ("2 - can you also reset my password? I am locked out.", None), ("1. The printer on floor 2 is dead", None),
    ("1) the VPN drops every hour", None), ("1: urgent, server down", None),
    ("4/5 fast, but I had to find it myself.", (4, "fast, but I had to find it myself.")),
    ("5 stars great", (5, "great")), ("4/50", None), ("3 of 5 printers are still broken", None),
    ("3/5 of the laptops still fail after your fix, please look again", None), ("4/5/2026 it broke again", None),
    ("5 stars is what I would give if it worked", None), ("4/5: fast", (4, "fast")),
    ("5/5 the agent was great", (5, "the agent was great")), ("4/5.", (4, "")), ("5 Sterne", (5, "")),
    ("4/5 laptops still fail", None), ("3/5 der Laptops gehen immer noch nicht", None),
    ("2 - still broken", None), ("2/5 users can't log in", None),
    # the first item of a numbered list of requests
    ("1. Please also install Outlook on Tom's laptop\n2. And reset his VPN password", None),
    ("3) works now\n4) but the printer is next", None), ("5. Great, thanks", (5, "Great, thanks")),
    ("1. Please also install Outlook on Tom's laptop", None), ("1. could you reset it again", None),
    # as people write scores in real mail: a full-width digit, stars, out of ten, in words, an emoji,
    # answered below the quoted question, a number and words judging the help in other languages
    ("５", (5, "")), ("５　ありがとうございました。", (5, "ありがとうございました。")), ("★★★★☆", (4, "")),
    ("★★★★☆ quick!", (4, "quick!")), ("⭐️⭐️⭐️⭐️⭐️", (5, "")), ("★★☆ hmm", None),
    ("10/10 would recommend", (5, "would recommend")), ("7/10", (4, "")), ("8/10 would not boot", None),
    ("Five stars", (5, "")), ("4 von 5 Sternen", (4, "")), ("4 👍", (4, "")), ("one more thing", None),
    ("5 excelente servicio", (5, "excelente servicio")), ("2 - slow and unfriendly", (2, "slow and unfriendly")),
    ("> we believe your request is solved\n> How did we do? Reply with a number\n\n4, works fine",
     (4, "works fine")), ("3/5 would not start", None),
    # written another way, a score may be followed only by words that judge the help
    ("10/10 laptops in room 4 need the new driver", None), ("3/10 new starters got no laptop", None),
    ("★ Important: please also set up Tom's laptop", None), ("⭐ New request: please install Visio for me", None),
    ("five stars, great job", (5, "great job")),
    # praise after a score of any form is feedback; a request or a new need after it is not
    ("10/10 Tom was great", (5, "Tom was great")), ("★★★★★ thanks Anna", (5, "thanks Anna")),
    ("4/5 laptops need the driver too", None), ("5/5 thanks, please also install it on Tom's laptop", None),
    ("5\nPlease also install it on Tom's laptop", None), ("Ten out of ten", (5, "")), ("Five ⭐", (5, "")),
    ("5 out of five", (5, "")), ("3 of 5 printers were fixed", None), ("3 of 10 users were affected", None),
    # after a greeting, as phones and Outlook start a mail
    ("Hi Dan,\n\n5 - thanks, works great!", (5, "thanks, works great!")), ("Hi Dan,\n\n5 great service", (5, "great service")),
    ("Hi Dan,\n\n2 laptops need it too", None), ("Hello,\nthe printer is broken", None),
    ("Hi there Ravi!\n5 thanks", (5, "thanks")), ("Hallo Frau Schmidt!\n\n4 danke", (4, "danke")),
    ("Hi, the printer jams again since this morning\n\n5 - thanks for the quick help", None),
    ("Dear Dan, please also reset my VPN token\n\n5 - great service", None),
("5 thanks, works now", (5, "thanks, works now")),
    ("5 geht wieder, danke", (5, "geht wieder, danke")), ("1 now fails", None), ("4 now the scanner too", None),
    ("1 - geht jetzt wieder nicht", None), ("1 is it fixed now", None), ("5 is great", (5, "is great")),
    ("Hey, URGENT!\n1 - Drucker im 2. Stock brennt", None), ("Hallo, Notfall!\n1 - Drucker brennt", None),
    ("Добрый день, Иван!\n\n5 - спасибо", (5, "спасибо")), ("1 - Outlook startet nicht mehr", None),
    ("1 – seit gestern läuft der Scanner nicht", None), ("2 was it fixed", None),
    ("5 - es läuft nicht mehr langsam", (5, "es läuft nicht mehr langsam")),
    # the same words say praise with a high score and a complaint with a low one
    ("5 - Besser geht es nicht!", (5, "Besser geht es nicht!")), ("5 - Laptop startet nicht mehr ständig neu",
     (5, "Laptop startet nicht mehr ständig neu")), ("1 - it isn't fixed", None), ("1 - das Problem ist wieder da",
     None), ("1 - it happened again today", None), ("1 - ça ne marche plus", None),
    ("3 - Outlook startet nicht mehr", None), ("4 - klappt nicht schlecht", (4, "klappt nicht schlecht")),
    ("1 - le problème persiste", None), ("1 - the problem is back", None), ("1 - werkt nog steeds niet", None),
    # praise that holds a word of breakage, after a 4 or 5
    ("5 - still works perfectly", (5, "still works perfectly")), ("5 - no more crashes, thanks",
     (5, "no more crashes, thanks")), ("5 - Besser geht nicht!", (5, "Besser geht nicht!")),
    ("5 - no errors, but the printer is down", None), ("4 - still not working", None),
    ("2 - it's worse now", None), ("1 - nichts hat sich geändert", None), ("1 - encore en panne", None),
    ("1 - otra vez lo mismo", None), ("2 - het probleem is terug", None),
    ("5 - todavía funciona perfecto", (5, "todavía funciona perfecto")), ("5 - Problem tritt nicht mehr auf", (5, "Problem tritt "
     "nicht mehr auf")), ("5 - did the trick", (5, "did the trick")), ("5 - kann man nicht meckern", (5, "kann man "
     "nicht meckern")),
])
def test_scores_are_read_only_from_the_start_of_the_answer(text: str, expected: tuple[int, str] | None) -> None:
    from gitdesk.mail.words import feedback_score

    assert feedback_score(text) == expected


def test_an_address_mail_took_in_but_python_cannot_write_is_one_clear_error(mail_desk: Desk) -> None:
    odd = "taro..yamada.@docomo.ne.jp"  # mail takes such senders in; a person typing it is refused
    assert "cannot use" in mail_desk.fails("new", "Docomo phone", "-q", "it-helpdesk", "--requester", odd)
    ticket_id = mail_desk.new("Docomo phone", "-q", "it-helpdesk", "--requester", "taro@docomo.ne.jp")
    path = mail_desk.path / "tickets" / f"{ticket_id}.md"
    path.write_text(path.read_text().replace("requester: taro@docomo.ne.jp", f"requester: {odd}"))
    mail_desk.git("commit", "-qam", "as intake took it in")
    head, before = mail_desk.head(), mail_desk.text(ticket_id)
    error = mail_desk.fails("--as", "alice", "reply", ticket_id, "-m", "Hello", "--send")
    assert f"{ticket_id}: cannot mail 'taro..yamada.@docomo.ne.jp'" in error
    assert mail_desk.head() == head and mail_desk.text(ticket_id) == before


def test_a_bounce_of_our_reply_becomes_an_internal_note_on_the_ticket(mail_desk: Desk, tmp_path: Path) -> None:
    ticket_id = from_mail(mail_desk, tmp_path)
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Please restart Outlook.", "--send")
    queued = next(p for p in mail_desk.committed_files() if p.startswith("outbox/"))
    sent = parse((mail_desk.path / queued).read_bytes())
    original_headers = "\n".join(f"{name}: {value}" for name, value in sent.items())
    bounce = (message("bounce.eml").decode()
              .replace("Final-Recipient: rfc822; nobody@nowhere.example",
                       "Final-Recipient: rfc822; bob.meyer@gmail.com\nDiagnostic-Code: smtp; 550 5.1.1 no such user")
              .replace("--bounce-b--", f"--bounce-b\nContent-Type: text/rfc822-headers\n\n{original_headers}\n\n"
                                       "--bounce-b--"))
    result = intake(mail_desk, "eml", eml(tmp_path, bounce.encode(), "bounce.eml"))
    item = result["messages"][0]
    assert (item["outcome"], item["ticket"]) == ("bounce", ticket_id)
    assert item["detail"] == "mail to bob.meyer@gmail.com was not delivered"
    shown = ticket(mail_desk, ticket_id)
    note = shown["conversation"][-1]
    assert (note["kind"], note["author"]) == ("note", "mail-system"), "the reporter does not join the thread"
    assert note["text"].startswith("Mail to bob.meyer@gmail.com could not be delivered (status 5.1.1; reported by "
                                   "mailer-daemon@mx.fernhill.example)")
    assert "no such user" not in note["text"], "a report's free text never reaches the agent"
    assert mail_desk.run("check").exit_code == 0
    assert shown["status"] == "open", "a bounce tells the agent; it changes no status"
    assert "1 bounce noted" in mail_desk.last_message()
    again = intake(mail_desk, "eml", tmp_path / "bounce.eml")
    assert again["messages"][0]["detail"] == "already taken in"
    other = intake(mail_desk, "eml", eml(tmp_path, message("bounce.eml"), "other-bounce.eml"))
    assert other["messages"][0]["outcome"] == "skipped", "a bounce of mail that is not ours stays skipped"
    # Everyone in the thread knows the customer's own Message-ID; only IDs the desk made count.
    forged = bounce.replace(sent["Message-ID"], "<CAH7x9+Zq3vR1kYp0=u8dQm5TgW@mail.gmail.com>").replace(
        "<bounce-1@", "<bounce-2@")
    assert intake(mail_desk, "eml", eml(tmp_path, forged.encode(), "forged.eml"))["messages"][0]["outcome"] == "skipped"
    for number, change in enumerate([("Action: failed", "Action: delayed"),  # may still arrive
                                     ("report-type=delivery-status", "report-type=disposition-notification"),
                                     ("Auto-Submitted", "Authentication-Results: mx; dmarc=fail\nAuto-Submitted")]):
        variant = bounce.replace(*change).replace("<bounce-1@", f"<variant-{number}@")
        taken = intake(mail_desk, "eml", eml(tmp_path, variant.encode(), f"variant-{number}.eml"))
        assert taken["messages"][0]["outcome"] == "skipped", change
    mail_desk.run("--as", "alice", "cc", ticket_id, "+li@client.example")
    cc_bounce = bounce.replace("bob.meyer@gmail.com", "li@client.example").replace("<bounce-1@", "<bounce-cc@")
    assert intake(mail_desk, "eml", eml(tmp_path, cc_bounce.encode(), "cc.eml"))["messages"][0]["outcome"] == "bounce"
    assert ticket(mail_desk, ticket_id)["conversation"][-1]["text"].startswith(
        "Mail to li@client.example (in the Cc) could not be delivered"), "the agent knows the requester got it"
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Did the restart help?")
    queued = sorted(p for p in mail_desk.committed_files() if p.startswith("outbox/"))
    answer = next(parse((mail_desk.path / path).read_bytes()) for path in queued
                  if "Did the restart help?" in (mail_desk.path / path).read_text())
    assert answer["In-Reply-To"] == sent["Message-ID"], "the requester never saw the mailer-daemon's report"


def test_a_pasted_log_line_as_the_title_gives_a_subject_of_its_start(mail_desk: Desk) -> None:
    title = "Backup failed: " + "ERROR 0x80070005 access denied; " * 2000
    ticket_id = mail_desk.new(title.strip(), "-q", "it-helpdesk", "-r", "bob.meyer@gmail.com")
    mail_desk.run("--as", "alice", "reply", ticket_id, "-m", "Looking into it.")
    (queued,) = [p for p in mail_desk.committed_files() if p.startswith("outbox/")
                 and "Looking into it." in (mail_desk.path / p).read_text()]
    subject = parse((mail_desk.path / queued).read_bytes())["Subject"]
    assert subject.startswith("Re: Backup failed: ERROR 0x80070005") and subject.endswith(f"… [{ticket_id}]")
    assert len(subject) < 300


def test_the_desk_s_own_words_in_a_mail_are_wrapped_after_filling_the_agent_s_are_not(tmp_path: Path) -> None:
    from gitdesk import templates

    assert templates.fill("thanks for writing to {{desk}}.", {"desk": "Fernhill Tea Co."}) == \
        "thanks for writing to Fernhill Tea Co.", "a name ending in a full stop ends the sentence once"

    body = templates.MAIL_DEFAULTS["resolution"].split("---\n", 2)[2]
    said = "Replaced the toner; the printer on the second floor prints again, and the queue was cleared too."
    filled = templates.fill_mail(body, {"greeting": "Hello Bob,", "id": "GD-01M91QM6C78XKSQAFY", "text": said})
    lines = filled.split("\n")
    assert said in lines, "the agent's words as typed"
    assert max(len(line) for line in lines if line != said) <= 76, "the satisfaction question was 210 columns"
    ack = templates.fill_mail(templates.MAIL_DEFAULTS["acknowledgement"].split("---\n", 2)[2],
                              {"greeting": "Hello,", "id": "GD-01M91QM6C78XKSQAFY", "desk": "Acme support desk"})
    assert max(map(len, ack.split("\n"))) <= 76 and "GD-01M91QM6C78XKSQAFY" in ack


def test_an_editor_copy_saved_over_a_reply_is_refused_while_its_mail_waits(mail_desk: Desk) -> None:
    """Opened in an editor, replied to from another terminal, then saved: the commit took the
    reply off the thread without a word, and mail send still mailed it."""
    mail_desk.run("hooks", "install")
    ticket = mail_desk.new("Monitor flickers", "-q", "it-helpdesk", "-r", "gina@example.org")
    buffer = mail_desk.text(ticket)
    mail_desk.at("2026-11-23T12:10:00Z")
    mail_desk.run("--as", "alice", "reply", ticket, "-m", "Please try another cable.")
    (mail,) = [name for name in mail_desk.git("ls-files", "outbox").split() if f"T121000Z-{ticket}-" in name]
    mail_desk.file(ticket).write_text(buffer.replace("priority: normal", "priority: low"))
    head = mail_desk.head()
    result = subprocess.run(["git", "commit", "-qam", "lower priority"], cwd=mail_desk.path, capture_output=True,
                            text=True)
    assert result.returncode == 1 and mail_desk.head() == head
    assert ("the change removes alice's reply of 2026-11-23T12:10:00Z, which waits in outbox/ to be mailed to "
            "the requester") in result.stderr
    mail_desk.git("rm", "-q", mail)  # taking back the unsent reply with its mail is consistent
    mail_desk.git("commit", "-qam", "take back the reply")
    assert "Please try another cable" not in mail_desk.text(ticket)


def test_a_command_s_reply_recommitted_by_hand_with_its_mail_is_not_said_unmailed(mail_desk: Desk) -> None:
    """After git reset --soft (a server's advice for a conflict settled badly), the question is
    committed again with its outbox file: the hook said it "is not mailed", and to reply again."""
    mail_desk.run("hooks", "install")
    ticket = mail_desk.new("Laptop will not boot", "-q", "it-helpdesk", "-r", "jack@example.org")
    mail_desk.run("--as", "alice", "ask", ticket, "-m", "Is it the same laptop as last week?")
    mail_desk.git("reset", "-q", "--soft", "HEAD~1")
    again = subprocess.run(["git", "commit", "-qm", "my question stays"], cwd=mail_desk.path, capture_output=True,
                           text=True)
    assert again.returncode == 0 and "not mailed" not in again.stderr, again.stderr
    path = mail_desk.file(ticket)
    path.write_text(path.read_text() + "\n### 2026-11-23T12:30:00Z alice — reply\nTry the other charger.\n")
    by_hand = subprocess.run(["git", "commit", "-qam", "typed in"], cwd=mail_desk.path, capture_output=True, text=True)
    assert f"{ticket}: the reply written by hand is not mailed" in by_hand.stderr, "a reply typed in still is"


def test_a_reply_mailed_the_next_month_cannot_leave_the_thread_by_hand_or_by_gitdesk_edit(
        mail_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written at 23:55 on the last of the month, sent at 00:05: the check looked in the month
    it was written; gitdesk edit did not look at all."""
    from test_editor import fake_editor

    mail_desk.run("hooks", "install")
    mail_desk.at("2026-11-30T23:50:00Z")
    ticket = mail_desk.new("Monitor flickers", "-q", "it-helpdesk", "-r", "gina@example.org")
    buffer = mail_desk.text(ticket)
    mail_desk.at("2026-11-30T23:55:00Z")
    mail_desk.run("--as", "alice", "reply", ticket, "-m", "Please try another cable.")
    (queued,) = [name for name in mail_desk.git("ls-files", "outbox").split() if f"T235500Z-{ticket}-" in name]
    (mail_desk.path / "sent" / "2026-12").mkdir(parents=True)
    mail_desk.git("mv", queued, f"sent/2026-12/{queued.split('/')[-1]}")  # as mail send files it, at 00:05
    mail_desk.git("commit", "-qm", "mail send", "--no-verify")
    mail_desk.file(ticket).write_text(buffer.replace("priority: normal", "priority: low"))
    stale = subprocess.run(["git", "commit", "-qam", "lower priority"], cwd=mail_desk.path, capture_output=True,
                           text=True)
    assert stale.returncode == 1 and "which was mailed to the requester" in stale.stderr
    mail_desk.git("checkout", "--", ".")
    reply = mail_desk.text(ticket).split("## Conversation", 1)[1].split("### ")[1].rstrip("\n")
    fake_editor(tmp_path, monkeypatch, ("### " + reply, ""))
    edited = mail_desk.run("--as", "alice", "edit", ticket, input="n\n", ok=False)
    assert edited.exit_code == 1 and "which was mailed to the requester" in edited.output
    assert "Please try another cable." in mail_desk.text(ticket)
