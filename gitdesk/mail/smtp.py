"""Talking to the SMTP server: where it is, and one connection that sends many messages.

Settings come from ``mail.smtp`` in the config, overridden by ``GITDESK_SMTP_HOST``,
``_PORT``, ``_USER``, ``_SECURITY``. The password only ever comes from
``GITDESK_SMTP_PASSWORD`` and only goes to the host named in ``GITDESK_SMTP_HOST``
(a commit can change the config, never the environment), never in clear text
beyond localhost. ``GITDESK_SMTP_CAFILE`` names a CA to trust besides the system's.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import email.utils
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.model import Config
from gitdesk.text import clean_line

if TYPE_CHECKING:
    import smtplib

TIMEOUT = 30.0  # seconds for one SMTP command
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


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
