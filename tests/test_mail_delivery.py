"""`gitdesk mail send`: the committed outbox delivered exactly once, recorded in Git.

Everything is real: desks in real Git repositories (a bare remote and clones
for the team cases), a real SMTP server on 127.0.0.1 (aiosmtpd in a thread,
with STARTTLS on a self-signed certificate and a login where it matters),
and real processes killed with SIGKILL at the moment the server has the mail.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, Desk, git, make_desk

MAIL_CONFIG = TEST_CONFIG.replace("alice@example.com", "alice@fernhill.example") + """\
mail:
  address: help@fernhill.example
  name: Fernhill IT
"""
REQUESTER = "bob.meyer@gmail.com"
controller_module = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is in the test extra")
smtp_module = pytest.importorskip("aiosmtpd.smtp")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class Server:
    """A real SMTP server on 127.0.0.1 that keeps what it accepts. ``answers`` makes it
    refuse instead: ``{"DATA": ["451 4.3.0 busy"], "RCPT bob@x": ["550 5.1.1 no such user"]}``
    (each answer given once, in order)."""

    def __init__(self, *, tls: tuple[Path, Path] | None = None, login: tuple[str, str] | None = None) -> None:
        self.accepted: list[Any] = []
        self.answers: dict[str, list[str]] = {}
        self.delay = 0.0
        self.mails = 0
        self.block_mail: int | None = None  # the MAIL command that blocks (and sets `blocked`)
        self.blocked = threading.Event()
        self.port = free_port()
        options: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            options.update(tls_context=context, require_starttls=True)
        if login is not None:
            user, password = login

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                ok = (isinstance(data, smtp_module.LoginPassword) and data.login == user.encode()
                      and data.password == password.encode())
                return smtp_module.AuthResult(success=ok, handled=False)

            options.update(authenticator=authenticator, auth_required=True)
        self.controller = controller_module.Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def start(self) -> Server:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def env(self, security: str = "none") -> dict[str, str]:
        return {"GITDESK_SMTP_HOST": "127.0.0.1", "GITDESK_SMTP_PORT": str(self.port),
                "GITDESK_SMTP_SECURITY": security}

    def _answer(self, key: str) -> str | None:
        queue = self.answers.get(key)
        return queue.pop(0) if queue else None

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.mails += 1
        if self.mails == self.block_mail:
            self.blocked.set()
            await asyncio.sleep(20)  # the client is killed meanwhile
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        refused = self._answer(f"RCPT {address}")
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        refused = self._answer("DATA")
        if refused:
            return refused
        self.accepted.append(envelope)
        return f"250 2.0.0 Ok: queued as Q{len(self.accepted):04d}"

    def message_ids(self) -> list[str]:
        return [str(parse(envelope.original_content)["Message-ID"]) for envelope in self.accepted]


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def mail_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(tmp_path / "desk", monkeypatch, MAIL_CONFIG)
    desk.at("2026-11-23T12:00:00Z")
    return desk


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def queue(desk: Desk, *texts: str, requester: str = REQUESTER) -> tuple[str, list[str]]:
    """A ticket from ``requester`` and one reply --send per text, each committed to outbox/
    (no SMTP host is set while they are written). Returns (ticket, outbox paths)."""
    ticket_id = desk.new("Outlook asks for my password", "-q", "it-helpdesk", "--requester", requester)
    queued = []
    for text in texts:
        desk.run("--as", "alice", "reply", ticket_id, "-m", text, "--send")
        queued += [path for path in desk.committed_files() if path.startswith("outbox/")]
    return ticket_id, queued


def send(desk: Desk, *args: str, ok: bool = True) -> dict[str, Any]:
    result = desk.run("mail", "send", "--format", "json", *args, ok=ok)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {item["file"]: item["outcome"] for item in report["messages"]}


def outbox(desk: Desk) -> list[str]:
    return sorted(desk.git("ls-files", "outbox").split())


def blob(desk: Desk, revision: str) -> bytes:
    return subprocess.run(["git", "show", revision], cwd=desk.path, capture_output=True, check=True).stdout


def records(desk: Desk, folder: str = "sent") -> list[str]:
    return sorted(desk.git("ls-files", folder).split())


# --- delivered and recorded ---------------------------------------------------------------------


def test_the_outbox_is_delivered_once_and_recorded_in_one_commit(mail_desk: Desk, server: Server,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ticket_id, queued = queue(mail_desk, "Please restart Outlook.", "Did that help?")
    use(monkeypatch, server.env())
    before = mail_desk.commits()
    report = send(mail_desk)
    assert outcomes(report) == {path: "sent" for path in queued}
    assert [(e.mail_from, e.rcpt_tos) for e in server.accepted] == [("help@fernhill.example", [REQUESTER])] * 2
    assert [parse(e.original_content)["Subject"] for e in server.accepted] == \
        [f"Re: Outlook asks for my password [{ticket_id}]"] * 2
    assert mail_desk.commits() == before + 1 and report["commits"] == [mail_desk.head()]
    assert outbox(mail_desk) == [] and mail_desk.status() == ""
    sent = records(mail_desk)
    assert sent == sorted(path.replace("outbox/", "sent/2026-11/") for path in queued)
    record = (mail_desk.path / sent[0]).read_bytes()
    assert record.startswith(b"X-Gitdesk-Delivered: 2026-11-23T12:00:00Z; 250 2.0.0 Ok: queued as Q000")
    assert record.split(b"\r\n", 1)[1] == blob(mail_desk, f"HEAD~1:{queued[0]}"), "the message as it was sent"
    assert parse(record)["Message-ID"] == server.message_ids()[0]
    message = mail_desk.last_message()
    assert message.startswith("mail-send: 2 sent\n")
    assert "Gitdesk-Action: mail-send" in message and f"Gitdesk-Ticket: {ticket_id}" in message
    assert git(mail_desk.path, "log", "--format=%s", "--", "sent/").splitlines() == ["mail-send: 2 sent"]

    again = send(mail_desk)
    assert again["messages"] == [] and again["commits"] == [] and len(server.accepted) == 2
    assert mail_desk.commits() == before + 1


def test_a_dry_run_lists_what_would_be_sent_and_changes_nothing(mail_desk: Desk) -> None:
    _, queued = queue(mail_desk, "Please restart Outlook.")
    head = mail_desk.head()
    report = send(mail_desk, "--dry-run")  # no SMTP server is even set
    assert report["dry_run"] is True and outcomes(report) == {queued[0]: "would-send"}
    assert report["messages"][0]["to"] == [REQUESTER]
    assert mail_desk.head() == head and mail_desk.status() == "" and outbox(mail_desk) == queued
    table = mail_desk.run("mail", "send", "--dry-run")
    assert queued[0] in table.stdout
    assert "Dry run on main: 1 would-send; nothing was sent or changed" in table.stderr


def test_without_an_smtp_server_nothing_is_sent_and_the_fix_is_named(mail_desk: Desk) -> None:
    queue(mail_desk, "Hello")
    head = mail_desk.head()
    error = mail_desk.fails("mail", "send")
    assert error == ("gitdesk: error: no SMTP server is set, so the outbox cannot be sent (set mail.smtp.host in "
                     ".gitdesk/config.yml or GITDESK_SMTP_HOST; nothing was sent)")
    assert mail_desk.head() == head


# --- TLS, login and the password ----------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl binary."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return cert, key


def test_starttls_with_a_self_signed_certificate_and_a_login(mail_desk: Desk, certificate: tuple[Path, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _, queued = queue(mail_desk, "Your password was reset.")
    tls = Server(tls=certificate, login=("help", "s3cret")).start()
    try:
        use(monkeypatch, {**tls.env("starttls"), "GITDESK_SMTP_USER": "help", "GITDESK_SMTP_PASSWORD": "s3cret"})
        head = mail_desk.head()
        error = mail_desk.fails("mail", "send")  # the system does not trust a self-signed certificate
        assert error.startswith("gitdesk: error: the TLS certificate of 127.0.0.1:")
        assert "set GITDESK_SMTP_CAFILE to the CA that signed it" in error
        monkeypatch.setenv("GITDESK_SMTP_CAFILE", str(certificate[0]))
        monkeypatch.setenv("GITDESK_SMTP_PASSWORD", "wrong")
        error = mail_desk.fails("mail", "send")
        assert error.startswith(f"gitdesk: error: the SMTP server 127.0.0.1:{tls.port} refused the login of help: 535")
        assert mail_desk.head() == head and outbox(mail_desk) == queued and not tls.accepted
        monkeypatch.setenv("GITDESK_SMTP_PASSWORD", "s3cret")
        assert outcomes(send(mail_desk)) == {queued[0]: "sent"}
        assert len(tls.accepted) == 1 and tls.accepted[0].rcpt_tos == [REQUESTER]
    finally:
        tls.stop()


def test_the_password_never_travels_unencrypted_or_to_a_host_a_commit_chose(mail_desk: Desk,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    queue(mail_desk, "Hello")
    head = mail_desk.head()
    use(monkeypatch, {"GITDESK_SMTP_HOST": "smtp.fernhill.example", "GITDESK_SMTP_SECURITY": "none",
                      "GITDESK_SMTP_USER": "help", "GITDESK_SMTP_PASSWORD": "s3cret"})
    error = mail_desk.fails("mail", "send")
    assert error == ("gitdesk: error: the SMTP password would cross the network unencrypted to "
                     "smtp.fernhill.example (security: none) (use GITDESK_SMTP_SECURITY=starttls or ssl; none is "
                     "only for a relay on localhost; nothing was sent)")
    # A commit points the desk's config at another server: the password is not sent there.
    monkeypatch.delenv("GITDESK_SMTP_HOST")
    monkeypatch.delenv("GITDESK_SMTP_SECURITY")
    mail_desk.configure(mail_desk.config + "  smtp: {host: smtp.evil.example, user: help, security: starttls}\n",
                        "mail goes through our new relay")
    error = mail_desk.fails("mail", "send")
    assert error.startswith("gitdesk: error: GITDESK_SMTP_PASSWORD is set but GITDESK_SMTP_HOST is not, so the "
                            "password would go to smtp.evil.example, a host any commit can change")
    assert mail_desk.head() != head and outbox(mail_desk)  # only the config commit; nothing sent
