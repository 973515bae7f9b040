"""Mail out, delivered: ``gitdesk mail send`` hands outbox/ to the SMTP server exactly once.

Every public step writes its mail into ``outbox/`` in the commit of the action,
so a pull request shows what will be sent. This module is the other half: it
reads the outbox *as committed* on the desk's mail branch, sends each message
once, and records the delivery in a commit that moves the file to
``sent/<YYYY-MM>/`` (or ``undeliverable/<YYYY-MM>/``) with the server's answer
in a header on top.

Exactly once, keyed by Message-ID:

- **the journal** (``.git/gitdesk/mail-journal``): a Message-ID is appended and
  fsynced the moment the server accepts it, before anything is committed.
  Every run reads it first, and a message found there is recorded as sent
  without being sent again, so a run killed between the server's "250" and
  the commit never sends twice;
- **claims**, when the branch has an upstream: before sending, a run commits
  ``outbox/<name>.claim`` for each message and pushes that commit. The push is
  a compare-and-swap on the remote branch: if another clone pushed first it is
  refused, and the run fetches, integrates, re-reads the outbox and claims
  what is left. Only what a run claimed is sent. A claim older than
  ``CLAIM_TIMEOUT`` whose clone never recorded it may be taken over;
- **the records**: a Message-ID recorded under ``sent/`` anywhere in the
  history is never sent again, whatever brings it back into the outbox (a
  revert, a merge, a copy under another name).

A temporary failure (4xx, a dropped connection) leaves the message queued with
``outbox/<name>.retry`` (attempts, next attempt, last answer), committed so
every clone sees it; after ``GIVE_UP_AFTER`` it counts as permanent. A
permanent failure (5xx) moves it to ``undeliverable/`` and adds an internal
note to its ticket naming the recipient and the status code.

SMTP settings: ``mail.smtp`` in the config, overridden by ``GITDESK_SMTP_HOST``,
``_PORT``, ``_USER``, ``_SECURITY``; the password only ever from
``GITDESK_SMTP_PASSWORD``, and only to the host named in ``GITDESK_SMTP_HOST``
(a commit can change the config, never the environment), never in clear text
beyond localhost. ``GITDESK_SMTP_CAFILE`` names a CA to trust besides the
system's. See docs/outbox.md.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import email.utils
import json
import os
import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from gitdesk import clock, git, ids, paths, ticketfile, transaction, workflow
from gitdesk.clock import format_utc
from gitdesk.desk import Desk, LoadedTicket
from gitdesk.errors import GitdeskError, GitError, ValidationError
from gitdesk.lock import desk_lock
from gitdesk.model import NOTE, Config, Entry, Ticket
from gitdesk.text import clean_line, counted

if TYPE_CHECKING:
    import smtplib

OUTBOX = "outbox"
SENT = "sent"
UNDELIVERABLE = "undeliverable"
CHUNK = 200  # messages recorded per commit: a crash loses at most this many records (the journal has them)
CLAIM_TIMEOUT = timedelta(hours=6)  # a claim this old, never recorded, was left by a clone that died
CLAIM_ATTEMPTS = 5  # claims refused because another clone pushed first, before giving up
RETRY_FIRST = timedelta(minutes=5)  # the first wait after a temporary failure; doubled each time
RETRY_LONGEST = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a temporary failure this long counts as permanent
CLOCK_SKEW = timedelta(hours=1)  # clones' clocks differ; a claim or failure later than this is made up
JOURNAL_KEPT = timedelta(days=30)  # a journal entry whose message left the outbox another way
MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # more than any mail server takes
MAX_RECIPIENTS = 50
TIMEOUT = 30.0  # seconds for one SMTP command
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
# The author of notes about mail that could not be delivered: the same as intake's bounce
# notes (mail/intake.py MAIL_SYSTEM; not imported from there, which would import in a circle).
MAIL_SYSTEM = "mail-system"

JOURNAL = "mail-journal"
CLONE_ID = "mail-clone-id"
SENT_IDS = "mail-sent-ids.json"
SEND_LOCK = "mail-send.lock"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.eml$")
_MESSAGE_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]{1,200}@[\x21-\x3b\x3d\x3f-\x7e]{1,200}>$")
_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")
_REJECTED = ("rejected", "fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref")
REGULAR = ("100644", "100755")


# --- SMTP settings ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int
    user: str | None
    password: str | None
    security: str  # starttls | ssl | none
    cafile: str | None = None  # a CA to trust besides the system's (GITDESK_SMTP_CAFILE)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    return host.strip().lower() in LOOPBACK


def smtp_settings(config: Config) -> Smtp | None:
    """Where to send mail, or None when no SMTP host is set (mail waits in outbox/).

    The password is only ever used with ``GITDESK_SMTP_HOST``: the config's host can be
    changed by any commit (a pull request, a merge), the environment cannot, so a commit
    can never redirect the password to another server. It never crosses the network in
    clear text: with security ``none`` it is only sent to localhost."""
    mail = config.mail
    pinned = os.environ.get("GITDESK_SMTP_HOST")
    host = pinned or mail.smtp_host
    if not host:
        return None
    security = os.environ.get("GITDESK_SMTP_SECURITY") or mail.smtp_security
    if security not in ("starttls", "ssl", "none"):
        raise ValidationError(f"GITDESK_SMTP_SECURITY: unknown security {security!r}", hint="use starttls, ssl or none")
    port_text = os.environ.get("GITDESK_SMTP_PORT")
    try:
        port = int(port_text) if port_text else mail.smtp_port or {"starttls": 587, "ssl": 465}.get(security, 25)
    except ValueError:
        raise ValidationError(f"GITDESK_SMTP_PORT: not a port number: {port_text!r}") from None
    if not 0 < port < 65536:
        raise ValidationError(f"GITDESK_SMTP_PORT: not a port number: {port_text!r}")
    user = os.environ.get("GITDESK_SMTP_USER") or mail.smtp_user
    password = os.environ.get("GITDESK_SMTP_PASSWORD") or None
    if password is not None and not pinned:
        raise ValidationError(
            f"GITDESK_SMTP_PASSWORD is set but GITDESK_SMTP_HOST is not, so the password would go to {host}, "
            "a host any commit can change",
            hint="set GITDESK_SMTP_HOST next to the password, to the server it belongs to; nothing was sent")
    if password is not None and user and security == "none" and not is_loopback(host):
        raise ValidationError(
            f"the SMTP password would cross the network unencrypted to {host} (security: none)",
            hint="use GITDESK_SMTP_SECURITY=starttls or ssl; none is only for a relay on localhost; nothing was sent")
    cafile = os.environ.get("GITDESK_SMTP_CAFILE") or None
    if cafile is not None and not os.path.isfile(cafile):
        raise ValidationError(f"GITDESK_SMTP_CAFILE: no such file: {cafile}",
                              hint="point it at the PEM file of the CA that signed the server's certificate")
    return Smtp(host, port, user, password, security, cafile)


# --- talking SMTP ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to one message: "250 2.0.0 Ok: queued as ABC", and the
    recipients it refused while taking the rest."""

    text: str
    refused: tuple[tuple[str, str], ...] = ()  # (recipient, answer)


class Rejected(Exception):
    """The server would not take one message: ``temporary`` for 4xx, else permanent."""

    def __init__(self, answer: str, *, temporary: bool, recipients: Sequence[str] = ()) -> None:
        super().__init__(answer)
        self.answer = answer
        self.temporary = temporary
        self.recipients = tuple(recipients)  # the ones refused; all of them when empty


class SenderRefused(GitdeskError):
    """The server refuses mail from the desk's address at all: no message can go."""


def _reply(code: int, text: bytes | str) -> str:
    """An SMTP reply as one short line of printable ASCII, e.g. "550 5.1.1 no such user"."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    printable = "".join(char if " " <= char <= "~" else "?" for char in first)
    return f"{code} {' '.join(printable.split())}".strip()[:200]


def status_code(answer: str) -> str:
    """"550 5.1.1" from "550 5.1.1 <bob@x>: no such user": the facts of an answer, none of its prose."""
    code, _, rest = answer.partition(" ")
    enhanced = _ENHANCED.match(rest)
    return f"{code} {enhanced.group(1)}" if enhanced else code


class Connection:
    """One SMTP session: opened (and logged in) once, many messages, closed."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp
        self._client: smtplib.SMTP | None = None  # None: closed, or dropped by the server

    def open(self) -> None:
        """Connect, secure and log in; any failure is a one-line error with the fix."""
        import smtplib
        import ssl

        smtp = self.smtp
        step = "connect"
        try:
            context = ssl.create_default_context(cafile=smtp.cafile)
            if smtp.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT, context=context)
            else:
                client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
            try:
                client.ehlo()
                if smtp.security == "starttls":
                    step = "starttls"
                    client.starttls(context=context)
                    client.ehlo()
                if smtp.user:
                    step = "login"
                    if smtp.password is None:
                        raise GitdeskError(f"the SMTP user is {smtp.user} but GITDESK_SMTP_PASSWORD is not set",
                                           hint="set GITDESK_SMTP_PASSWORD (and GITDESK_SMTP_HOST); "
                                                "nothing was sent or changed")
                    client.login(smtp.user, smtp.password)
            except BaseException:
                with contextlib.suppress(Exception):
                    client.close()
                raise
        except smtplib.SMTPAuthenticationError as error:
            raise GitdeskError(f"the SMTP server {smtp.where} refused the login of {smtp.user}: "
                               f"{_reply(error.smtp_code, error.smtp_error)}",
                               hint="check GITDESK_SMTP_USER (or mail.smtp.user) and GITDESK_SMTP_PASSWORD; "
                                    "nothing was sent or changed") from None
        except smtplib.SMTPNotSupportedError:
            if step == "starttls":
                raise GitdeskError(f"the SMTP server {smtp.where} does not offer STARTTLS",
                                   hint="use security ssl (port 465), or none only for a relay on localhost; "
                                        "nothing was sent or changed") from None
            raise GitdeskError(f"the SMTP server {smtp.where} does not offer a login (AUTH) here",
                               hint="most servers offer it only over TLS: use security starttls or ssl; "
                                    "nothing was sent or changed") from None
        except ssl.SSLCertVerificationError as error:
            raise GitdeskError(f"the TLS certificate of {smtp.where} could not be verified: "
                               f"{clean_line(error.verify_message or str(error))}",
                               hint="set GITDESK_SMTP_CAFILE to the CA that signed it, or fix the host name; "
                                    "nothing was sent or changed") from None
        except (smtplib.SMTPException, OSError, ValueError) as error:
            detail = clean_line(str(error)) or type(error).__name__
            raise GitdeskError(f"could not send the mail via {smtp.where}: {detail}",
                               hint="nothing was sent or changed; check mail.smtp (or GITDESK_SMTP_HOST, _PORT, "
                                    "_SECURITY) and that the server is up, then try again") from None
        self._client = client

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # saying goodbye to a server that hung up is not an error
                client.quit()
            with contextlib.suppress(Exception):
                client.close()

    def __enter__(self) -> Connection:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def transfer(self, sender: str, recipients: Sequence[str], data: bytes) -> Answer:
        """Hand one message over. Raises ``Rejected`` (this message), ``SenderRefused``
        (every message), never an smtplib error."""
        import smtplib

        client = self._client
        if client is None:
            raise Rejected("no connection to the SMTP server", temporary=True)
        try:
            options: list[str] = []
            if not data.isascii() and client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            if not (sender.isascii() and all(address.isascii() for address in recipients)):
                if not client.has_extn("smtputf8"):
                    raise Rejected("553 the server does not take addresses with non-ASCII letters (SMTPUTF8)",
                                   temporary=False)
                options.append("SMTPUTF8")
            code, text = client.mail(sender, options)
            if code != 250:
                self._after_refusal(code)
                if 400 <= code < 500:
                    raise Rejected(_reply(code, text), temporary=True)
                raise SenderRefused(f"the SMTP server {self.smtp.where} refuses mail from {sender}: "
                                    f"{_reply(code, text)}",
                                    hint="check mail.address and that the SMTP user may send as it; "
                                         "what was not sent stays queued")
            refused: list[tuple[str, str]] = []
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                if code == 421:
                    self._after_refusal(code)
                    raise Rejected(_reply(code, text), temporary=True)
                if code not in (250, 251):
                    refused.append((recipient, _reply(code, text)))
            if len(refused) == len(recipients):
                self._after_refusal(0)
                temporary = any(answer.startswith("4") for _, answer in refused)
                raise Rejected(refused[0][1], temporary=temporary, recipients=[address for address, _ in refused])
            code, text = client.data(data)
            if code != 250:
                self._after_refusal(code)
                raise Rejected(_reply(code, text), temporary=400 <= code < 500)
            return Answer(_reply(code, text), tuple(refused))
        except smtplib.SMTPResponseException as error:  # DATA refused before the message went
            self._after_refusal(error.smtp_code)
            raise Rejected(_reply(error.smtp_code, error.smtp_error),
                           temporary=400 <= error.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as error:  # the connection dropped or timed out
            self.close()
            raise Rejected(f"the connection to {self.smtp.where} was lost: "
                           f"{clean_line(str(error)) or type(error).__name__}"[:200], temporary=True) from None

    def _after_refusal(self, code: int) -> None:
        """Ready the session for the next message: 421 means the server is hanging up."""
        if code == 421:
            self.close()
        else:
            self._reset()

    def _reset(self) -> None:
        client = self._client
        if client is not None:
            try:
                client.rset()
            except Exception:  # a session that cannot reset is closed and opened again
                self.close()


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """(sender, recipients) of a composed message: its From, and every To and Cc."""
    sender = email.utils.parseaddr(str(message.get("From", "")))[1]
    recipients = [address for _, address in email.utils.getaddresses(
        [str(value) for name in ("To", "Cc") for value in message.get_all(name, [])]) if address]
    return sender, recipients


def send_now(message: EmailMessage, smtp: Smtp) -> str:
    """Hand one composed message to the SMTP server at once (``reply --send`` with a host
    set); the server's answer. A failure is a one-line error and nothing was sent."""
    sender, recipients = envelope(message)
    with Connection(smtp) as connection:
        try:
            return connection.transfer(sender, recipients, message.as_bytes()).text
        except Rejected as error:
            raise GitdeskError(f"could not send the mail via {smtp.where}: {error.answer}",
                               hint="nothing was sent or changed; check the address and try again") from None


# --- the outbox as committed --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Queued:
    """One message in outbox/, checked: what it says about itself."""

    name: str  # the file name in outbox/
    data: bytes
    message_id: str
    recipients: tuple[str, ...]
    ticket: str | None
    event: str | None  # acknowledgement, reply, … (X-Gitdesk-Event), when the file says

    @property
    def stem(self) -> str:
        return self.name[:-len(".eml")]


@dataclass(frozen=True, slots=True)
class _Blob:
    mode: str
    sha: str
    size: int  # -1 for what is not a blob (a submodule)


def _tree(desk: Desk, commit: str, folder: str) -> dict[str, _Blob]:
    """Desk-relative path -> blob of everything under ``folder`` in ``commit``."""
    out = git.run(desk.repo, "ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", desk.repo_path(folder) + "/")
    found: dict[str, _Blob] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, _kind, sha, size = meta.decode().split()
        found[path.decode("utf-8", "surrogateescape")[len(desk.prefix):]] = _Blob(
            mode, sha, int(size) if size.isdigit() else -1)
    return found


def _header_problem(data: bytes) -> str | None:
    """Why the header section is not one a mail program or the server would read as
    written (a forged line break could add a header), or None."""
    crlf = data.split(b"\n", 1)[0].endswith(b"\r")
    for number, line in enumerate(data.split(b"\n")):
        if crlf and not line.endswith(b"\r"):
            return "a header line ends in a bare line feed (header injection)"
        line = line[:-1] if line.endswith(b"\r") else line
        if not line:
            return None if number else "it has no headers"
        if b"\r" in line:
            return "a header line holds a bare carriage return (header injection)"
        if any(byte > 0x7E or (byte < 0x20 and byte != 0x09) for byte in line):
            return "a header holds control characters or raw non-ASCII bytes"
        if len(line) > 998:
            return "a header line is longer than mail allows (998 characters)"
        if line[:1] in (b" ", b"\t"):
            if not number:
                return "it starts with a folded line"
            continue
        if not _FIELD.match(line):
            return "a header line is not 'Name: value'"
    return "no blank line ends the headers"


def check_message(name: str, data: bytes, config: Config) -> Queued:
    """Read one outbox file as a stranger's: ``Queued``, or ``ValidationError`` saying why it
    will never be sent. Nothing in it is trusted but what is checked here."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValidationError(f"larger than {MAX_MESSAGE_BYTES // 1024 // 1024} MB")
    problem = _header_problem(data)
    if problem:
        raise ValidationError(problem)
    try:
        # compat32: the raw header values, as the server will see them; addresses are read by getaddresses
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)
        for hidden in ("Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-From", "Resent-Sender"):
            if hidden in message:
                raise ValidationError(f"it has a {hidden} header; the desk sends only to To and Cc")
        for single in ("Message-ID", "From", "To", "Cc", "Subject", "X-Gitdesk-Ticket"):
            if len(message.get_all(single, [])) > 1:
                raise ValidationError(f"it has more than one {single} header")
        message_id = str(message.get("Message-ID", "")).strip()
        if not message_id:
            raise ValidationError("it has no Message-ID")
        if not _MESSAGE_ID.match(message_id):
            raise ValidationError("its Message-ID is not <local@domain>")
        senders = email.utils.getaddresses([str(message.get("From", ""))])
        ours = {address.casefold() for address in (config.mail.address or "", *config.mail.aliases) if address}
        if len(senders) != 1 or senders[0][1].casefold() not in ours:
            raise ValidationError("its From is not the desk's mail.address",
                                  hint="the desk sends only as itself")
        recipients: dict[str, str] = {}
        for _, address in email.utils.getaddresses([str(value) for header in ("To", "Cc")
                                                    for value in message.get_all(header, [])]):
            if not address:
                continue
            if not workflow.is_email(address) or address != clean_line(address):
                raise ValidationError(f"it has a recipient that is not an address: {clean_line(address)[:80]!r}")
            recipients.setdefault(address.casefold(), address)
        if not recipients:
            raise ValidationError("it has no recipient in To or Cc")
        if len(recipients) > MAX_RECIPIENTS:
            raise ValidationError(f"it has more than {MAX_RECIPIENTS} recipients")
        ticket = _ticket_of(name, str(message.get("X-Gitdesk-Ticket", "")).strip(), config.id_prefix)
        event = clean_line(str(message.get("X-Gitdesk-Event", "")))[:40] or None
    except ValidationError:
        raise
    except Exception as error:  # hostile bytes (RecursionError, odd encodings…) refuse this file, never the run
        raise ValidationError(f"it is not a message that can be read ({type(error).__name__})") from None
    return Queued(name, data, message_id, tuple(recipients.values()), ticket, event)


def _ticket_of(name: str, header: str, prefix: str) -> str | None:
    """The ticket a message is about: its X-Gitdesk-Ticket header, or the ID in its file name
    (older outbox files have no header)."""
    pattern = ids.id_pattern(prefix)
    if pattern.match(header):
        return header
    found = re.search(rf"{re.escape(prefix)}-[{ids.ALPHABET}]{{{ids.BODY_CHARS}}}", name)
    return found.group(0) if found and pattern.match(found.group(0)) else None


def message_id_of(data: bytes) -> str | None:
    """The Message-ID of a recorded message (its first 64 KiB are plenty)."""
    try:
        parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data[:65536], headersonly=True)
        value = str(parsed.get("Message-ID", "")).strip()
    except Exception:  # a record anyone could have edited; unreadable means unknown
        return None
    return value if _MESSAGE_ID.match(value) else None


# --- state next to a message: claims and retries --------------------------------------------


def _fields(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines()[:20]:
        key, sep, value = line.partition(":")
        if sep and not key.startswith("#"):
            found[key.strip().lower()] = value.strip()
    return found


def _time(value: str | None) -> datetime | None:
    try:
        return clock.parse_time(value) if value else None
    except GitdeskError:
        return None


@dataclass(frozen=True, slots=True)
class Claim:
    clone: str
    at: datetime

    def text(self) -> str:
        return (f"# gitdesk mail send: clone {self.clone} is sending this message (docs/outbox.md)\n"
                f"clone: {self.clone}\nclaimed: {format_utc(self.at)}\n")

    @classmethod
    def read(cls, data: bytes, now: datetime) -> Claim | None:
        """The claim in a file, or None when it cannot be one of ours: unreadable, or dated
        in the future (a claim made to hold a message back forever)."""
        values = _fields(data[:4096].decode("utf-8", "replace"))
        at = _time(values.get("claimed"))
        clone = clean_line(values.get("clone", ""))[:40]
        return cls(clone, at) if clone and at and at <= now + CLOCK_SKEW else None


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int
    first_failure: datetime
    next_attempt: datetime
    last_answer: str

    def text(self) -> str:
        return (f"# gitdesk mail send: waiting to try this message again (docs/outbox.md)\n"
                f"attempts: {self.attempts}\nfirst-failure: {format_utc(self.first_failure)}\n"
                f"next-attempt: {format_utc(self.next_attempt)}\nlast-answer: {clean_line(self.last_answer)[:200]}\n")

    @classmethod
    def read(cls, data: bytes, now: datetime) -> Retry | None:
        """The state in a file, or None (the message is simply tried again) when it is
        unreadable or says what no run writes: a failure in the future, a wait beyond the
        give-up time (a file made to hold a message back forever)."""
        values = _fields(data[:4096].decode("utf-8", "replace"))
        first, due = _time(values.get("first-failure")), _time(values.get("next-attempt"))
        attempts = values.get("attempts", "")
        if not (first and due and attempts.isdigit()) or first > now + CLOCK_SKEW \
                or due > first + GIVE_UP_AFTER + RETRY_LONGEST:
            return None
        return cls(min(int(attempts), 1000), first, due, clean_line(values.get("last-answer", ""))[:200])

    @classmethod
    def after(cls, previous: Retry | None, answer: str, now: datetime) -> Retry:
        """The state after one more temporary failure: the wait doubles, up to RETRY_LONGEST."""
        attempts = (previous.attempts if previous else 0) + 1
        wait = min(RETRY_FIRST * 2 ** min(attempts - 1, 20), RETRY_LONGEST)
        return cls(attempts, previous.first_failure if previous else now, now + wait, answer)


# --- the journal ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message the server accepted, as the journal keeps it until its record is committed."""

    message_id: str
    name: str
    at: datetime
    answer: str
    refused: tuple[tuple[str, str], ...] = ()


class Journal:
    """``.git/gitdesk/mail-journal``: one JSON line per message the server accepted, appended
    and fsynced before anything is committed, read at the start of every run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Accepted]:
        found: dict[str, Accepted] = {}
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return found
        for line in lines:
            try:  # a line cut short by a crash is the only thing that can be wrong here
                record = json.loads(line)
                accepted = Accepted(str(record["message_id"]), str(record["name"]), clock.parse_time(record["at"]),
                                    str(record["answer"]),
                                    tuple((str(a), str(b)) for a, b in record.get("refused", ())))
            except (ValueError, KeyError, TypeError, GitdeskError):
                continue
            found[accepted.message_id] = accepted
        return found

    def add(self, accepted: Accepted) -> None:
        line = json.dumps({"message_id": accepted.message_id, "name": accepted.name, "at": format_utc(accepted.at),
                           "answer": accepted.answer, "refused": [list(pair) for pair in accepted.refused]})
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the file's name must survive a crash too
            _fsync_directory(self.path.parent)

    def keep(self, entries: Sequence[Accepted]) -> None:
        """Rewrite the journal with only ``entries`` (after their records are safe)."""
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        text = "".join(json.dumps({"message_id": a.message_id, "name": a.name, "at": format_utc(a.at),
                                   "answer": a.answer, "refused": [list(p) for p in a.refused]}) + "\n"
                       for a in entries)
        transaction.atomic_write(self.path, text.encode())


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clone_id(repo: git.Repo) -> str:
    """This clone's name in claims: made once, kept in .git/gitdesk/."""
    path = repo.state_dir / CLONE_ID
    with contextlib.suppress(FileNotFoundError):
        text = path.read_text(encoding="ascii", errors="replace").strip()
        if re.fullmatch(r"[0-9a-f]{12}", text):
            return text
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    made = secrets.token_hex(6)
    transaction.atomic_write(path, made.encode() + b"\n")
    return made


# --- what was delivered before ----------------------------------------------------------------


def delivered_ids(desk: Desk, commit: str) -> dict[str, str]:
    """Message-ID -> record of every message ever recorded under sent/ in the history of
    ``commit``, not only in its tree: a revert of a mail-send commit brings the outbox file
    back, never the right to send it again. The records seen are cached under .git/gitdesk/
    with the commit they were read up to, so each run reads only the commits since; the
    cache can be deleted at any time. (undeliverable/ does not count: that mail arrived
    nowhere, and a person may queue it again.)"""
    repo = desk.repo
    cache_path = repo.state_dir / SENT_IDS
    try:
        cached = json.loads(cache_path.read_text(encoding="utf-8"))
        tip = str(cached["tip"])
        seen: dict[str, list[str]] = {str(blob): [str(value[0]), str(value[1])]
                                      for blob, value in cached["records"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        tip, seen = "", {}
    if tip and git.run_result(repo, "merge-base", "--is-ancestor", tip, commit).returncode != 0:
        tip, seen = "", {}  # history was rewritten under the cache: read it all again
    if tip != commit:
        out = git.run(repo, "log", "--format=", "--raw", "-z", "--no-renames", "--diff-filter=AM",
                      f"{tip}..{commit}" if tip else commit, "--", desk.repo_path(SENT) + "/")
        fields = out.split(b"\0")
        added: dict[str, str] = {}
        for index, meta in enumerate(fields[:-1]):
            meta = meta.lstrip(b"\n")
            if meta.startswith(b":"):
                parts = meta.decode().split()
                if len(parts) >= 4 and parts[1] in REGULAR and parts[3] not in seen:
                    added[parts[3]] = fields[index + 1].decode("utf-8", "surrogateescape")[len(desk.prefix):]
        shas = list(added)
        for start in range(0, len(shas), 2000):
            for sha, data in git.read_blobs(repo, shas[start:start + 2000]).items():
                seen[sha] = [message_id_of(data) or "", added[sha]]
        with contextlib.suppress(OSError, GitdeskError):  # a cache that cannot be written is read again next time
            repo.state_dir.mkdir(parents=True, exist_ok=True)
            transaction.atomic_write(cache_path, json.dumps({"tip": commit, "records": seen}).encode())
    found: dict[str, str] = {}
    for message_id, path in seen.values():
        if message_id:
            found.setdefault(message_id, path)
    return found


# --- results ------------------------------------------------------------------------------------

OUTCOMES = ("sent", "recorded", "would-send", "retry", "undeliverable", "waiting", "claimed", "duplicate",
            "not-sent", "refused")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened (or, with --dry-run, would happen) to one outbox file."""

    name: str
    outcome: str  # one of OUTCOMES
    ticket: str | None = None
    message_id: str | None = None
    to: tuple[str, ...] = ()
    detail: str = ""
    event: str | None = None  # reply, question, … when the message says (X-Gitdesk-Event)

    @property
    def path(self) -> str:
        return f"{OUTBOX}/{self.name}"

    @classmethod
    def of(cls, queued: Queued, outcome: str, detail: str) -> Delivery:
        return cls(queued.name, outcome, queued.ticket, queued.message_id, queued.recipients, detail, queued.event)

    def as_record(self) -> dict[str, object]:
        return {"file": self.path, "outcome": self.outcome, "ticket": self.ticket, "event": self.event,
                "message_id": self.message_id, "to": list(self.to), "detail": self.detail}


@dataclass
class DeliveryResult:
    branch: str
    upstream: str | None
    dry_run: bool = False
    items: list[Delivery] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    error: GitdeskError | None = None  # what stopped the run after mail went out; said after the list

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    def counts(self) -> dict[str, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}


# --- the branch and its upstream ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upstream:
    remote: str
    branch: str

    @property
    def tracking(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    def __str__(self) -> str:
        return f"{self.remote}/{self.branch}"


def upstream_of(repo: git.Repo) -> Upstream | None:
    """The remote branch the current branch tracks, or None."""
    branch, _ = git.head(repo)
    if branch is None:
        return None
    name = branch.removeprefix("refs/heads/")
    remote = git.run(repo, "config", "--get", f"branch.{name}.remote", check=False).decode().strip()
    merge = git.run(repo, "config", "--get", f"branch.{name}.merge", check=False).decode().strip()
    if not remote or remote == "." or not merge.startswith("refs/heads/"):
        return None
    return Upstream(remote, merge.removeprefix("refs/heads/"))


def mail_branch(desk: Desk, upstream: Upstream | None) -> str:
    """The branch mail is sent from: ``mail.branch``, else the branch the remote's HEAD
    names (what a pull request merges into), else main."""
    if desk.config.mail.branch:
        return desk.config.mail.branch
    remote = upstream.remote if upstream else "origin"
    ref = git.run(desk.repo, "symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", check=False).decode().strip()
    return ref.removeprefix(f"refs/remotes/{remote}/") if ref.startswith(f"refs/remotes/{remote}/") else "main"


def _on_mail_branch(desk: Desk, upstream: Upstream | None) -> str:
    wanted = mail_branch(desk, upstream)
    branch, _ = git.head(desk.repo)
    here = branch.removeprefix("refs/heads/") if branch else None
    if here != wanted:
        where = f"this is {here}" if here else "HEAD is detached"
        raise GitdeskError(f"mail is sent only from the branch {wanted} (mail.branch); {where}",
                           hint=f"run it on {wanted} (git switch {wanted}) once the mail is merged there; "
                                "nothing was sent")
    if upstream is not None and upstream.branch != wanted:
        raise GitdeskError(f"{wanted} tracks {upstream}, not {upstream.remote}/{wanted}, so claims would go "
                           "to the wrong branch",
                           hint=f"git branch --set-upstream-to={upstream.remote}/{wanted}; nothing was sent")
    return wanted


def _sync(desk: Desk, upstream: Upstream, *, before: bool) -> None:
    """Fetch, integrate and push with ``gitdesk sync``; a Git failure is said for what it means here."""
    from gitdesk.githooks import sync

    try:
        sync.sync(desk)
    except sync.SyncConflict:
        raise
    except GitError as error:
        if before:
            raise GitdeskError(f"could not sync with {upstream} before sending: {error.message}",
                               hint="nothing was sent; check that the remote can be reached (git fetch) and "
                                    "run gitdesk mail send again") from None
        raise GitdeskError(f"the mail was sent and recorded here, but the record could not be pushed to "
                           f"{upstream}: {error.message}",
                           hint="run gitdesk sync once the remote can be reached; nothing will be sent twice") from None


# --- deciding what to send ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Due:
    queued: Queued
    retry: Retry | None
    claim: Claim | None  # its claim in the tree (ours, or a stale one to take over)


@dataclass
class _Plan:
    head: str | None
    items: list[Delivery] = field(default_factory=list)  # settled without sending: waiting, claimed, refused
    due: list[_Due] = field(default_factory=list)
    accepted: list[tuple[Queued, Accepted]] = field(default_factory=list)  # in the journal: record only
    duplicates: list[tuple[Queued, str]] = field(default_factory=list)  # already delivered: drop
    state_files: set[str] = field(default_factory=set)  # outbox/*.claim and *.retry in HEAD

    @property
    def work(self) -> bool:
        return bool(self.due or self.accepted or self.duplicates)


def _plan(desk: Desk, accepted: Mapping[str, Accepted], only: set[str] | None, now: datetime,
          clone: str) -> _Plan:
    """What the outbox in HEAD holds and what to do with each message."""
    _, head = git.head(desk.repo)
    plan = _Plan(head)
    if head is None:
        return plan
    tree = _tree(desk, head, OUTBOX)
    plan.state_files = {path for path in tree if path.endswith((".claim", ".retry"))}
    messages = {path: blob for path, blob in tree.items() if path.endswith(".eml")}
    readable = [blob.sha for path, blob in messages.items()
                if blob.mode in REGULAR and 0 <= blob.size <= MAX_MESSAGE_BYTES]
    state = [blob.sha for path, blob in tree.items() if path in plan.state_files and 0 <= blob.size <= 4096]
    blobs = git.read_blobs(desk.repo, [*readable, *state]) if messages else {}
    dirty = desk.dirty_paths([OUTBOX]) if messages else set()
    delivered = delivered_ids(desk, head) if messages else {}
    first_of: dict[str, str] = {}
    for path in sorted(messages):
        blob = messages[path]
        name = path[len(OUTBOX) + 1:]

        def refuse(reason: str, name: str = name) -> None:
            if only is None:  # asked for particular messages: strangers' files are not its business
                plan.items.append(Delivery(name, "refused", detail=reason))

        if "/" in name or not _NAME.match(name):
            refuse("not a plain file name directly in outbox/ (letters, digits, . _ -); never sent")
            continue
        if blob.mode == "120000":
            refuse("is a symbolic link; never sent")
            continue
        if blob.mode not in REGULAR:
            refuse("is not a regular file; never sent")
            continue
        if blob.sha not in blobs:
            refuse(f"larger than {MAX_MESSAGE_BYTES // 1024 // 1024} MB; never sent")
            continue
        try:
            queued = check_message(name, blobs[blob.sha], desk.config)
        except ValidationError as error:
            refuse(f"{error.message}{f' ({error.hint})' if error.hint else ''}; never sent")
            continue
        if only is not None and queued.message_id not in only:
            continue
        if path in dirty:
            plan.items.append(Delivery.of(queued, "refused",
                                 "has uncommitted changes; only what is committed is sent (commit or "
                                       "discard them)"))
            continue
        if queued.message_id in first_of:
            plan.items.append(Delivery.of(queued, "refused",
                                 f"has the same Message-ID as {OUTBOX}/{first_of[queued.message_id]}, "
                                       "which is the one sent"))
            continue
        first_of[queued.message_id] = name
        if queued.message_id in delivered:
            plan.duplicates.append((queued, delivered[queued.message_id]))
            continue
        claim_blob = tree.get(f"{OUTBOX}/{queued.stem}.claim")
        retry_blob = tree.get(f"{OUTBOX}/{queued.stem}.retry")
        claim = Claim.read(blobs.get(claim_blob.sha, b""), now) if claim_blob else None
        retry = Retry.read(blobs.get(retry_blob.sha, b""), now) if retry_blob else None
        if claim is not None and claim.clone != clone and now - claim.at < CLAIM_TIMEOUT:
            plan.items.append(Delivery.of(queued, "claimed",
                                 f"being sent by clone {claim.clone} since {format_utc(claim.at)}"))
            continue
        if queued.message_id in accepted:
            plan.accepted.append((queued, accepted[queued.message_id]))
            continue
        if retry is not None and retry.next_attempt > now:
            plan.items.append(Delivery.of(queued, "waiting",
                                 f"next attempt at {format_utc(retry.next_attempt)} (attempt "
                                       f"{retry.attempts} failed: {retry.last_answer})"))
            continue
        plan.due.append(_Due(queued, retry, claim))
    return plan


def _would(plan: _Plan, clone: str) -> list[Delivery]:
    """The plan as a dry run shows it."""
    items = list(plan.items)
    for queued, record in plan.duplicates:
        items.append(Delivery.of(queued, "duplicate",
                                 f"already delivered ({record}): would be removed from the outbox, not sent"))
    for queued, accepted in plan.accepted:
        items.append(Delivery.of(queued, "recorded",
                                 f"the server took it at {format_utc(accepted.at)} ({accepted.answer}): would be "
                                 "recorded, not sent again"))
    for due in plan.due:
        notes = []
        if due.retry:
            notes.append(f"attempt {due.retry.attempts + 1}")
        if due.claim and due.claim.clone != clone:
            notes.append(f"takes over the claim clone {due.claim.clone} left at {format_utc(due.claim.at)}")
        items.append(Delivery.of(due.queued, "would-send", "; ".join(notes)))
    return sorted(items, key=lambda item: item.name)


# --- claiming -----------------------------------------------------------------------------------


def _trailers(action: str, tickets: Sequence[str | None]) -> str:
    return "\n".join([f"Gitdesk-Action: {action}",
                      *(f"Gitdesk-Ticket: {ticket}" for ticket in dict.fromkeys(t for t in tickets if t))]) + "\n"


def _claim(desk: Desk, upstream: Upstream, plan: _Plan, clone: str, now: datetime) -> bool:
    """Claim the plan's due messages with one commit pushed to the upstream; False when
    another clone pushed first (nothing changed here). Call under the desk lock."""
    repo = desk.repo
    fresh = [due for due in plan.due if due.claim is None or due.claim.clone != clone]
    if not fresh:
        return True  # all of them are ours already (a run that stopped part way)
    claim = Claim(clone, now).text().encode()
    files: dict[str, bytes | None] = {desk.repo_path(f"{OUTBOX}/{due.queued.stem}.claim"): claim for due in fresh}
    taken = [due for due in fresh if due.claim is not None]
    lines = [f"{OUTBOX}/{due.queued.name}" + (f" (taken over from clone {due.claim.clone}, claimed "
                                               f"{format_utc(due.claim.at)})" if due.claim else "")
             for due in fresh]
    message = (f"mail-send: clone {clone} claims {counted(len(fresh), 'message')}"
               + (f", {len(taken)} taken over" if taken else "") + "\n\n" + "\n".join(lines) + "\n\n"
               + _trailers("mail-claim", [due.queued.ticket for due in fresh]))
    parent = plan.head
    commit = git.create_commit(repo, parent, files, message, desk.identity(), clock.git_date(now))
    push = git.run_result(repo, "push", "--quiet", "--porcelain", "--", upstream.remote,
                          f"{commit}:refs/heads/{upstream.branch}")
    if push.returncode != 0:
        text = (push.stdout + push.stderr).decode("utf-8", "replace")
        if any(sign in text for sign in _REJECTED):
            return False
        detail = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "unknown error")
        raise GitdeskError(f"could not push the claim to {upstream}: {clean_line(detail)}",
                           hint="nothing was sent; check that the remote can be reached and that you may push, "
                                "then run gitdesk mail send again")
    for path in files:
        paths.inside(repo.top, path)
    existing = {path for path in files if (repo.top / path).exists()}
    transaction.land(repo, parent, commit, files, "mail-send claim", new_files=frozenset(files) - existing)
    return True


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Done:
    """One message's outcome, to be written in the next record commit."""

    queued: Queued
    outcome: str  # sent | recorded | retry | undeliverable | duplicate | not-sent
    at: datetime
    answer: str = ""
    refused: tuple[tuple[str, str], ...] = ()  # recipients refused (all of them for undeliverable)
    retry: Retry | None = None
    record: str | None = None  # the duplicate's earlier record
    takeover: Claim | None = None


def _stamped(data: bytes, lines: Sequence[str]) -> bytes:
    """``data`` with header lines put on top, in its own line ending, ASCII only."""
    newline = b"\r\n" if data.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    top = b"".join("".join(c if " " <= c <= "~" else "?" for c in line).encode("ascii") + newline for line in lines)
    return top + data


def _record_path(folder: str, at: datetime, name: str, taken: set[str]) -> str:
    """``sent/2026-12/<name>``; a name already there gets -2, -3 (records are never overwritten)."""
    base = f"{folder}/{at.strftime('%Y-%m')}/{name[:-4]}"
    path, number = f"{base}.eml", 1
    while path in taken:
        number += 1
        path = f"{base}-{number}.eml"
    taken.add(path)
    return path


def _note(done: _Done, record: str, host: str) -> str:
    """An internal note that mail did not arrive: who, the status code, never the server's prose."""
    everyone = not done.refused or len(done.refused) == len(done.queued.recipients)
    who = ", ".join(address for address, _ in done.refused) or ", ".join(done.queued.recipients)
    code = status_code(done.refused[0][1] if done.refused else done.answer)
    if everyone:
        return (f"Mail to {who} could not be delivered (status {code}; refused by {host}), so they have not "
                f"seen it ({record}). Check the address, or reach them another way.")
    return (f"Mail to {who} could not be delivered (status {code}; refused by {host}); the other recipients "
            f"got it ({record}). Check the address, or reach them another way.")


def _record(desk: Desk, batch: Sequence[_Done], host: str) -> tuple[str | None, list[str]]:
    """One commit for ``batch``: sent and undeliverable records, retry files, released claims and
    notes on tickets, made under the desk lock against HEAD as it is then. Returns (commit,
    lines about notes that could not be written)."""
    from gitdesk.cache import index

    repo = desk.repo
    files: dict[str, bytes | None] = {}
    new: set[str] = set()
    lines: list[str] = []
    problems: list[str] = []
    notes: dict[str, tuple[LoadedTicket, Ticket]] = {}
    taken: set[str] = set()
    with desk.writing():
        _, head = git.head(repo)
        state_files = set(_tree(desk, head, OUTBOX)) if head else set()
        months = {f"{folder}/{done.at.strftime('%Y-%m')}" for done in batch for folder in (SENT, UNDELIVERABLE)}
        for month in months:  # names already recorded this month, in HEAD or lying in the work tree
            if head is not None:
                taken.update(_tree(desk, head, month))
            with contextlib.suppress(OSError):
                taken.update(f"{month}/{entry}" for entry in os.listdir(desk.root / month))
        noting = any(done.outcome == "undeliverable" or done.refused for done in batch)
        dirty_tickets = desk.dirty_paths([paths.TICKETS]) if noting else set()
        for done in batch:
            queued = done.queued
            message = f"{OUTBOX}/{queued.name}"
            claim, retry = f"{OUTBOX}/{queued.stem}.claim", f"{OUTBOX}/{queued.stem}.retry"
            if claim in state_files:
                files[claim] = None
            if done.outcome == "not-sent":
                lines.append(f"{message} not tried; released")
                continue
            if done.outcome == "retry" and done.retry is not None:
                files[retry] = done.retry.text().encode()
                if retry not in state_files:
                    new.add(retry)
                lines.append(f"{message} to retry at {format_utc(done.retry.next_attempt)}: {done.answer}")
                continue
            files[message] = None
            if retry in state_files:
                files[retry] = None
            if done.outcome == "duplicate":
                lines.append(f"{message} already delivered ({done.record}): removed, not sent")
                continue
            undeliverable = done.outcome == "undeliverable"
            stamp = [f"X-Gitdesk-{'Undeliverable' if undeliverable else 'Delivered'}: {format_utc(done.at)}; "
                     f"{done.answer}"]
            stamp += [f"X-Gitdesk-Refused: {address}; {answer}" for address, answer in done.refused]
            if done.takeover is not None:
                stamp.append(f"X-Gitdesk-Takeover: claim of clone {done.takeover.clone} from "
                             f"{format_utc(done.takeover.at)}")
            record = _record_path(UNDELIVERABLE if undeliverable else SENT, done.at, queued.name, taken)
            files[record] = _stamped(queued.data, stamp)
            new.add(record)
            verb = "undeliverable" if undeliverable else "sent"
            what = f" ({queued.event})" if queued.event else ""
            lines.append(f"{message}{what} {verb} to {', '.join(queued.recipients)}: {done.answer}"[:300])
            if undeliverable or done.refused:
                problem = _add_note(desk, done, record, host, notes, dirty_tickets)
                if problem:
                    problems.append(f"{message}: no note on its ticket: {problem}")
        for loaded, ticket in notes.values():
            files[loaded.path] = ticketfile.updated_text(loaded.document, loaded.ticket, ticket).encode("utf-8")
        if not files:
            return None, problems
        count = {outcome: sum(1 for done in batch if done.outcome == outcome) for outcome in OUTCOMES}
        sent = count["sent"] + count["recorded"]
        summary = ", ".join(part for number, part in (
            (sent, f"{sent} sent"), (count["retry"], f"{count['retry']} to retry"),
            (count["undeliverable"], f"{count['undeliverable']} undeliverable"),
            (count["duplicate"], f"{count['duplicate']} already sent"),
            (count["not-sent"], f"{count['not-sent']} released")) if number)
        text = (f"mail-send: {summary}\n\n" + "\n".join(clean_line(line) for line in lines) + "\n\n"
                + _trailers("mail-send", [done.queued.ticket for done in batch]))
        commit = transaction.commit_files(repo, {desk.repo_path(path): data for path, data in files.items()}, text,
                                          desk.identity(), clock.now(),
                                          new_files=frozenset(desk.repo_path(path) for path in new))
    if notes:
        index.written(desk, [loaded.path for loaded, _ in notes.values()])
    return commit, problems


def _add_note(desk: Desk, done: _Done, record: str, host: str, notes: dict[str, tuple[LoadedTicket, Ticket]],
              dirty: set[str]) -> str | None:
    """Append the note about ``done`` to its ticket in ``notes``; why not, or None."""
    ticket_id = done.queued.ticket
    if ticket_id is None:
        return "the message names no ticket"
    try:
        if ticket_id not in notes:
            loaded = desk.load(ticket_id)
            if loaded.path in dirty:
                return f"{loaded.path} has uncommitted changes"
            notes[ticket_id] = (loaded, loaded.ticket)
        loaded, ticket = notes[ticket_id]
        text = ticketfile.escape_text(_note(done, record, host))
        changed = replace(ticket, entries=(*ticket.entries, Entry(done.at, MAIL_SYSTEM, NOTE, text)))
        from gitdesk import actions

        actions.validate_change(desk, loaded.ticket, changed, loaded.path)
    except GitdeskError as error:
        return str(error)
    notes[ticket_id] = (loaded, changed)
    return None


# --- the run --------------------------------------------------------------------------------------


def send(desk: Desk, *, only: Collection[str] | None = None, dry_run: bool = False,
         chunk: int = CHUNK) -> DeliveryResult:
    """Deliver the committed outbox of the mail branch, each message exactly once.

    ``only``: the Message-IDs to send now (others wait for the next run). ``dry_run``:
    list what would be sent; send, fetch and change nothing. Problems before anything
    was sent raise a one-line ``GitdeskError`` and leave the outbox as it was; a problem
    after mail went out is in ``result.error``, with what was done. Takes the desk lock
    itself (for each commit): call it after an action's commit, never inside one."""
    repo = desk.repo
    sender = desk.config.mail.address
    if not sender:
        raise ValidationError("the desk has no mail address, so it cannot send mail",
                              hint="set mail.address in .gitdesk/config.yml")
    upstream = upstream_of(repo)
    branch = _on_mail_branch(desk, upstream)
    smtp = None
    if not dry_run:
        smtp = smtp_settings(desk.config)
        if smtp is None:
            raise ValidationError("no SMTP server is set, so the outbox cannot be sent",
                                  hint="set mail.smtp.host in .gitdesk/config.yml or GITDESK_SMTP_HOST; "
                                       "nothing was sent")
        for folder in (OUTBOX, SENT, UNDELIVERABLE, paths.TICKETS):  # refuse before sending, not after
            paths.inside(repo.top, desk.repo_path(folder))
    result = DeliveryResult(branch, str(upstream) if upstream else None, dry_run)
    wanted = None if only is None else set(only)
    journal = Journal(repo.state_dir / JOURNAL)
    with desk_lock(repo.state_dir, name=SEND_LOCK):  # one run per clone; other commands go on meanwhile
        clone = clone_id(repo)
        connection: Connection | None = None
        try:
            plan = _claimed_plan(desk, upstream, journal, wanted, clone, dry_run, smtp, result)
            if plan is not None:
                connection = plan[1]
                _deliver(desk, plan[0], connection, sender, clone, chunk, upstream, result)
        finally:
            if connection is not None:
                connection.close()
        if not dry_run:
            _tidy(desk, journal, upstream)
    return result


def _claimed_plan(desk: Desk, upstream: Upstream | None, journal: Journal, wanted: set[str] | None, clone: str,
                  dry_run: bool, smtp: Smtp | None, result: DeliveryResult) -> tuple[_Plan, Connection | None] | None:
    """Sync, read the outbox and (with an upstream) claim what is due: the plan to carry out and
    an open connection, or None when there is nothing to do (``result`` then lists why)."""
    connection: Connection | None = None
    try:
        for _attempt in range(CLAIM_ATTEMPTS):
            if upstream is not None and not dry_run:
                _sync(desk, upstream, before=True)
            now = clock.now()
            plan = _plan(desk, journal.read(), wanted, now, clone)
            if dry_run or not plan.work:
                result.items = _would(plan, clone) if dry_run else sorted(plan.items, key=lambda item: item.name)
                return None
            if plan.due and connection is None and smtp is not None:
                connection = Connection(smtp)
                connection.open()  # before claiming: bad settings or a dead server change nothing
            if upstream is None or not plan.due:
                return plan, connection
            with desk.writing():
                plan = _plan(desk, journal.read(), wanted, now, clone)  # HEAD may have moved here meanwhile
                if not plan.due or _claim(desk, upstream, plan, clone, now):
                    return plan, connection
        raise GitdeskError(f"gave up after {CLAIM_ATTEMPTS} attempts to claim mail: other clones keep pushing "
                           f"to {upstream}", hint="nothing was sent; run gitdesk mail send again in a moment")
    except BaseException:
        if connection is not None:
            connection.close()
        raise


def _deliver(desk: Desk, plan: _Plan, connection: Connection | None, sender: str, clone: str, chunk: int,
             upstream: Upstream | None, result: DeliveryResult) -> None:
    """Send the plan's due messages and record everything, ``chunk`` messages a commit; push
    the records once at the end (the claims already keep other clones away meanwhile)."""
    result.items = list(plan.items)
    host = connection.smtp.host if connection is not None else "the server"
    batch: list[_Done] = [_Done(queued, "duplicate", clock.now(), record=record) for queued, record in plan.duplicates]
    batch += [_Done(queued, "recorded", accepted.at, accepted.answer, accepted.refused)
              for queued, accepted in plan.accepted]
    journal = Journal(desk.repo.state_dir / JOURNAL)
    stopped: GitdeskError | None = None

    def flush() -> None:
        nonlocal batch
        done, batch = batch, []
        if not done:
            return
        try:
            commit, problems = _record(desk, done, host)
        except GitdeskError as error:
            result.items.extend(Delivery.of(item.queued, item.outcome, f"{_detail(item)}; NOT recorded")
                                for item in done)
            raise GitdeskError(f"mail went out but its record could not be committed: {error.message}",
                               hint="fix that, then run gitdesk mail send again: it records what was sent "
                                    "from its journal and sends nothing twice") from None
        if commit:
            result.commits.append(commit)
        said = dict(problem.split(": ", 1) for problem in problems)
        for item in done:
            extra = said.get(f"{OUTBOX}/{item.queued.name}")
            result.items.append(Delivery.of(item.queued, item.outcome,
                                            _detail(item) + (f"; {extra}" if extra else "")))

    try:
        with desk.progress("Sending mail", len(plan.due)) as advance:
            for due in plan.due:
                if stopped is not None or connection is None:
                    batch.append(_Done(due.queued, "not-sent", clock.now()))
                    continue
                try:
                    batch.append(_send_one(connection, journal, sender, due, clone))
                except SenderRefused as error:
                    stopped = error
                    batch.append(_Done(due.queued, "not-sent", clock.now()))
                    continue
                if not connection.is_open:  # it dropped: once more, else the rest waits for the next run
                    try:
                        connection.open()
                    except GitdeskError as error:
                        stopped = GitdeskError(f"the connection to {connection.smtp.where} was lost and could "
                                               f"not be opened again: {error.message}",
                                               hint="what was not sent stays queued; run gitdesk mail send again")
                advance(1)
                if len(batch) >= chunk:
                    flush()
        flush()
        if upstream is not None and result.commits:
            _sync(desk, upstream, before=False)
    except GitdeskError as error:
        result.error = error
    result.items.sort(key=lambda item: item.name)
    if stopped is not None and result.error is None:
        result.error = stopped


def _send_one(connection: Connection, journal: Journal, sender: str, due: _Due, clone: str) -> _Done:
    queued = due.queued
    takeover = due.claim if due.claim is not None and due.claim.clone != clone else None
    try:
        answer = connection.transfer(sender, queued.recipients, queued.data)
    except Rejected as error:
        now = clock.now()
        if error.temporary:
            retry = Retry.after(due.retry, error.answer, now)
            if now - retry.first_failure < GIVE_UP_AFTER:
                return _Done(queued, "retry", now, error.answer, retry=retry, takeover=takeover)
        refused = tuple((address, error.answer) for address in (error.recipients or queued.recipients))
        final = f"{error.answer} (no delivery in {GIVE_UP_AFTER.days} days)" if error.temporary else error.answer
        return _Done(queued, "undeliverable", now, final, refused, takeover=takeover)
    now = clock.now()
    # The journal first: from here on, a crash must not send this message again.
    journal.add(Accepted(queued.message_id, queued.name, now, answer.text, answer.refused))
    return _Done(queued, "sent", now, answer.text, answer.refused, takeover=takeover)


def _detail(done: _Done) -> str:
    if done.outcome == "retry" and done.retry is not None:
        return f"{done.answer}; next attempt at {format_utc(done.retry.next_attempt)}"
    if done.outcome == "undeliverable":
        return f"{done.answer}; moved to {UNDELIVERABLE}/, noted on the ticket"
    if done.outcome == "duplicate":
        return f"already delivered ({done.record}); removed from the outbox, not sent"
    if done.outcome == "recorded":
        return f"the server took it at {format_utc(done.at)} ({done.answer}); recorded, not sent again"
    if done.outcome == "not-sent":
        return "not tried: the run stopped; still queued"
    refused = f"; refused for {', '.join(address for address, _ in done.refused)}" if done.refused else ""
    return done.answer + refused


def _tidy(desk: Desk, journal: Journal, upstream: Upstream | None) -> None:
    """Forget journal entries whose record is committed (and pushed, with an upstream)."""
    entries = journal.read()
    if not entries:
        return
    _, head = git.head(desk.repo)
    if head is None:
        return
    if upstream is not None:
        pushed = git.run_result(desk.repo, "merge-base", "--is-ancestor", head, upstream.tracking).returncode == 0
        if not pushed:
            return
    delivered = delivered_ids(desk, head)
    cutoff = clock.now() - JOURNAL_KEPT
    keep = [entry for entry in entries.values() if entry.message_id not in delivered and entry.at > cutoff]
    if len(keep) != len(entries):
        journal.keep(keep)
