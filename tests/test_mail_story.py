"""The whole conversation through real mail, as a requester who never touches Git lives it:
their mail is taken in, every answer of the desk reaches them through a real SMTP server on
127.0.0.1 (STARTTLS with a self-signed certificate, and a login), and their answers, made
from the mail they received, come back in."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Desk
from test_mail_conversation import mail_desk as make_mail_desk
from test_mail_delivery import Server, certificate, use  # noqa: F401 - certificate is a fixture
from test_mail_intake import eml, intake, message, ticket


def received(server: Server) -> list[EmailMessage]:
    found = []
    for envelope in server.accepted:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def answer(to: EmailMessage, body: str, number: int) -> bytes:
    """What the requester's mail program sends when they press Reply: threading headers, quoted text."""
    quoted = "\n".join("> " + line for line in text_of(to).splitlines())
    references = f"{to['References'] or ''} {to['Message-ID']}".strip()
    return (f"From: Bob Meyer <bob.meyer@gmail.com>\nTo: {to['Reply-To']}\nSubject: Re: {to['Subject']}\n"
            f"Message-ID: <bob-answer-{number}@mail.gmail.com>\nIn-Reply-To: {to['Message-ID']}\n"
            f"References: {references}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n\n"
            f"On Mon, 23 Nov 2026, Fernhill IT wrote:\n{quoted}\n").encode()


def test_a_requester_who_only_uses_mail_is_answered_asked_helped_and_asked_for_feedback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]) -> None:  # noqa: F811
    desk: Desk = make_mail_desk(tmp_path, monkeypatch)
    server = Server(tls=certificate, login=("help", "s3cret")).start()
    try:
        use(monkeypatch, {**server.env("starttls"), "GITDESK_SMTP_USER": "help", "GITDESK_SMTP_PASSWORD": "s3cret",
                          "GITDESK_SMTP_CAFILE": str(certificate[0])})

        def deliver() -> list[EmailMessage]:
            before = len(server.accepted)
            desk.run("mail", "send")
            return received(server)[before:]

        # 1. Bob writes to the desk; the acknowledgement reaches him.
        taken = intake(desk, "eml", eml(tmp_path, message("gmail-new.eml"), "new.eml"))
        ticket_id = taken["messages"][0]["ticket"]
        (ack,) = deliver()
        assert ack["To"] == "Bob Meyer <bob.meyer@gmail.com>" and f"[{ticket_id}]" in ack["Subject"]
        assert ack["Auto-Submitted"] == "auto-replied" and ticket_id in text_of(ack)

        # 2. The agent asks a clarifying question; it reaches Bob, and the ticket waits on him.
        desk.run("--as", "alice", "set", ticket_id, "queue", "it-helpdesk")
        desk.run("--as", "alice", "note", ticket_id, "-m", "Internal: probably the AD sync again")
        desk.run("--as", "alice", "ask", ticket_id, "-m", "Does it also happen on the VPN?")
        assert ticket(desk, ticket_id)["status"] == "pending"
        (question,) = deliver()
        assert "Does it also happen on the VPN?" in text_of(question) and "AD sync" not in question.as_string()

        # 3. Bob answers the question from his mail program: the ticket is open again.
        intake(desk, "eml", eml(tmp_path, answer(question, "Yes, on the VPN too.", 1), "answer.eml"))
        shown = ticket(desk, ticket_id)
        assert shown["status"] == "open" and shown["conversation"][-1]["text"] == "Yes, on the VPN too."

        # 4. Resolved: the resolution mail says how to reopen and asks how we did.
        desk.run("--as", "alice", "resolve", ticket_id, "--note", "Removed the stale credentials in Credential "
                                                                  "Manager; signed in again.")
        (solved,) = deliver()
        body = text_of(solved)
        assert "Removed the stale credentials" in body and "reply to this mail" in body and "1 (very unhappy)" in body

        # 5. Bob's score lands in feedback/, never in the ticket, never shown to the agent.
        intake(desk, "eml", eml(tmp_path, answer(solved, "5 - quick and friendly", 2), "score.eml"))
        stored = [path for path in desk.committed_files() if path.startswith("feedback/")]
        assert len(stored) == 1 and "score: 5" in (desk.path / stored[0]).read_text()
        assert ticket(desk, ticket_id)["status"] == "resolved"
        assert "quick and friendly" not in desk.run("show", ticket_id).stdout
        assert "quick and friendly" not in json.dumps(ticket(desk, ticket_id))

        # Every mail that went out is a file in a commit, recorded with the server's answer.
        sent = sorted(desk.git("ls-files", "sent").split())
        assert len(sent) == len(server.accepted) == 3
        sent_ids = {str(mail["Message-ID"]) for mail in received(server)}
        recorded = {line.split(":", 1)[1].strip() for path in sent
                    for line in (desk.path / path).read_text().splitlines() if line.startswith("Message-ID:")}
        assert recorded == sent_ids
        assert desk.git("ls-files", "outbox", ":!outbox/.gitkeep").split() == []
    finally:
        server.stop()
