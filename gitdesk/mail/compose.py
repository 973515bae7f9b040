"""Mail the desk writes: the templates in ``.gitdesk/templates/mail/``, and the message made from them.

One template per public step (``acknowledgement``, ``question``, ``reply``,
``resolution``, ``rejection``, ``reopen``, and ``feedback-request``): Markdown
with a ``subject:`` in front matter and ``{{placeholders}}`` for the ticket's
values, the entry's words (``{{text}}``), the agent and the desk. A desk
without its own template gets the built-in one. Every message has a plain
text part and an HTML alternative rendered with raw HTML off; it threads in
the requester's mail program (Message-ID, In-Reply-To, References) and
carries ``[ID]`` in its subject, so an answer finds its ticket.

Only what the step says goes out: never internal notes, other fields, or
anyone's address but the requester's and the ticket's Cc. Every header value
is made one clean line first, and the standard library's SMTP policy refuses
a line break in a header, so nothing a ticket says can add a header.
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import hashlib
import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from gitdesk import attachments, frontmatter, markup, paths, templates, ticketfile
from gitdesk.actions import address_now, cc_of
from gitdesk.errors import GitdeskError, TicketFormatError, ValidationError
from gitdesk.mail.message import LOOP_HEADER
from gitdesk.model import MAIL_EVENTS, Config, Person, Ticket
from gitdesk.templates import FEEDBACK_REQUEST, MAIL_DEFAULTS, MAIL_TEMPLATES, NOTIFICATION, REMINDER
from gitdesk.text import address_key, ascii_address, clean_line, unmailable

EVENTS = (*MAIL_EVENTS, FEEDBACK_REQUEST, NOTIFICATION, REMINDER)
# Sent without a person deciding to: RFC 3834's Auto-Submitted, so no auto-reply answers them.
AUTOMATIC = frozenset({"acknowledgement", NOTIFICATION, REMINDER})
TICKET_HEADER = "X-Gitdesk-Ticket"
EVENT_HEADER = "X-Gitdesk-Event"
# References grows with a thread: the first (the thread's root) and the most recent ones are kept,
# as RFC 5322 3.6.4 suggests when it must be shortened; mail programs thread by the root.
REFERENCES_KEPT = 10

@dataclass(frozen=True, slots=True)
class Template:
    event: str
    subject: str
    body: str



def loop_header(desk_name: str, desk_address: str) -> str:
    """The loop header's value: the desk's name and address, so that intake knows its own mail
    coming back from another gitdesk desk's (older mail names the desk alone)."""
    return str(Address(display_name=desk_name, addr_spec=desk_address))

def read_template(text: str, event: str, path: str) -> Template:
    """A mail template, checked: a subject, a body, and only known placeholders."""
    problems = template_problems(text, path)
    if problems:
        raise problems[0]
    front = frontmatter.load(text.replace("\r\n", "\n"), path)
    return Template(event, str(front.data["subject"]), text.replace("\r\n", "\n")[front.body_start:].strip("\n"))


def template_problems(text: str, path: str) -> list[GitdeskError]:
    """Everything wrong with a mail template, each naming its line (for gitdesk check)."""
    normal = text.replace("\r\n", "\n")
    if not normal.startswith("---\n"):
        return [TicketFormatError("a mail template starts with front matter holding its subject", path=path,
                                  line=1, hint='begin with ---, subject: "Re: {{title}} [{{id}}]", ---')]
    try:
        front = frontmatter.load(normal, path)
    except GitdeskError as error:
        return [error]
    problems: list[GitdeskError] = []
    for key in front.data:
        if key != "subject":
            problems.append(TicketFormatError(f"a mail template has no setting {key!r}", path=path,
                                              line=front.spans[key].line if key in front.spans else None,
                                              hint="its front matter holds only subject"))
    subject = front.data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        problems.append(TicketFormatError("the template has no subject", path=path, line=1,
                                          hint='add subject: "Re: {{title}} [{{id}}]"'))
    else:
        problems += templates.placeholder_problems(subject, path, first_line=front.spans["subject"].line)
    body = normal[front.body_start:]
    if not body.strip():
        problems.append(TicketFormatError("the template has no text", path=path))
    problems += templates.placeholder_problems(body, path, first_line=normal.count("\n", 0, front.body_start) + 1)
    return problems


def template(root: Path, event: str) -> Template:
    """The desk's template for ``event`` (``.gitdesk/templates/mail/<event>.md``), else the built-in one."""
    shown = f"{MAIL_TEMPLATES}/{event}.md"
    path = paths.file_inside(root, shown)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TicketFormatError("not valid UTF-8", path=shown, hint="re-save the file as UTF-8") from None
        return _read_cached(text, event, shown)
    return _read_cached(MAIL_DEFAULTS[event], event, f"(built-in {event} template)")


@functools.lru_cache(maxsize=64)
def _read_cached(text: str, event: str, shown: str) -> Template:
    """A template read once per text: intake composes thousands of acknowledgements from one."""
    return read_template(text, event, shown)


# --- the message ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letter:
    """What one mail says and to whom; ``message`` turns it into the bytes that are sent."""

    event: str
    ticket: Ticket
    text: str  # the entry's own words: the question, the reply, the resolution note, the reason
    to: str
    cc: tuple[str, ...] = ()
    agent: Person | None = None  # who acted; named in the mail unless mail.sign_as is desk
    attachments: tuple[tuple[str, bytes], ...] = ()
    automatic: bool = False  # sent by the rules, nobody at the keyboard (RFC 3834: auto-generated)


def new_message_id(ticket_id: str, event: str, desk_address: str, seed: str | None = None) -> str:
    """``<ID.event.random@desk-domain>``: which ticket and which step a mail was, readable
    from any answer's In-Reply-To (a score answering the resolution mail is feedback).
    With ``seed`` the random part is derived from it: two clones making the same mail
    (a rule's reminder) make the same Message-ID, and it is delivered once."""
    unique = secrets.token_hex(8) if seed is None else hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"<{ticket_id}.{event}.{unique}@{desk_address.rsplit('@', 1)[-1]}>"


def names_event(message_id: str, ticket_id: str, event: str) -> bool:
    """Whether ``message_id`` is one ``new_message_id`` made for ``event`` on ``ticket_id``."""
    return f"{ticket_id}.{event}.".casefold() in message_id.casefold()


def message(config: Config, root: Path, letter: Letter, now: datetime, thread: Sequence[str],
            seed: str | None = None) -> EmailMessage:
    """The whole message for ``letter``, threaded after ``thread`` (the ticket's Message-IDs);
    ``seed`` makes its Message-ID the same wherever it is made (see ``new_message_id``)."""
    desk_address = config.mail.address
    if not desk_address:
        raise ValidationError("the desk has no mail address", hint="set mail.address in .gitdesk/config.yml")
    found = template(root, letter.event)
    named = letter.agent if config.mail.sign_as == "agent" and letter.event not in AUTOMATIC else None
    values = templates.values(letter.ticket, config, clean_line(named.name) if named is not None else None,
                              attachments.unlinked(ticketfile.as_written(letter.text)))
    desk_name, agent_name = header_text(values["desk"]), header_text(values["agent"])
    body = templates.fill_mail(found.body, values).strip("\n")
    signature = f"{agent_name}\n{desk_name}" if named is not None else desk_name
    mail = EmailMessage(policy=_HEADERS)
    # A colleague copied by an address they had: their address now, never the old one (former_emails).
    copied = (address_now(config, address) for address in letter.cc)
    letter = replace(letter, cc=tuple(dict.fromkeys(address for address in copied
                                                    if address and address_key(address) != address_key(letter.to))))
    for address in (letter.to, *letter.cc):
        reason = unmailable(address)
        if reason is not None:
            fix = (f"remove it from the Cc (gitdesk cc {letter.ticket.id} -{address})" if address in letter.cc else
                   f"correct it (gitdesk set {letter.ticket.id} requester ADDRESS), or answer with --no-send")
            raise ValidationError(f"{letter.ticket.id}: cannot mail {address!r}: {reason}", hint=fix)
    mail["From"] = Address(display_name=f"{agent_name} ({desk_name})" if named is not None else desk_name,
                           addr_spec=desk_address)
    # An international domain in its ASCII form: Python would write an encoded word there, which no server delivers.
    mail["To"] = Address(display_name=_name_of(config, letter), addr_spec=ascii_address(letter.to))
    if letter.cc:
        mail["Cc"] = [Address(addr_spec=ascii_address(address)) for address in letter.cc]
    mail["Reply-To"] = Address(display_name=desk_name, addr_spec=desk_address)
    # A title pasted whole (a log line of 60,000 characters) would make a 60 KB Subject: the
    # subject carries its start; the body has it whole.
    title = values["title"]
    shown = {**values, "title": title if len(title) <= MAX_SUBJECT_TITLE else title[:MAX_SUBJECT_TITLE - 1] + "…"}
    mail["Subject"] = header_text(templates.fill(found.subject, shown))
    mail["Date"] = email.utils.format_datetime(now)
    mail["Message-ID"] = new_message_id(letter.ticket.id, letter.event, desk_address, seed)
    if thread:
        mail["In-Reply-To"] = thread[-1]
        mail["References"] = " ".join(thread if len(thread) <= REFERENCES_KEPT
                                      else [thread[0], *thread[-(REFERENCES_KEPT - 1):]])
    mail[LOOP_HEADER] = loop_header(desk_name, desk_address)
    mail[TICKET_HEADER] = letter.ticket.id
    mail[EVENT_HEADER] = letter.event
    if letter.event in AUTOMATIC or letter.automatic:  # RFC 3834: no auto-reply answers it
        mail["Auto-Submitted"] = "auto-generated" if letter.event in (NOTIFICATION, REMINDER) or letter.automatic \
            else "auto-replied"
    text = f"{body}\n\n-- \n{signature}\n"
    mail.policy = _BODIES
    mail.set_content(text)
    mail.add_alternative(_html(body, signature), subtype="html")
    for name, data in letter.attachments:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    mail.policy = _HEADERS
    if seed is not None:
        _fixed_boundaries(mail, seed)
    return mail


# Long subjects stay on one line (RFC 5322 allows 998): Python folds them before the first word
# otherwise, and some mail programs then show a leading space. Bodies are encoded to 76-character
# lines (RFC 2045): quoted-printable lines of 998 mark mail as spam.
_HEADERS = email.policy.SMTP.clone(max_line_length=998)
_BODIES = email.policy.SMTP


def _fixed_boundaries(mail: EmailMessage, seed: str) -> None:
    """MIME boundaries made from ``seed`` instead of chance: the same mail made on two
    clones is the same bytes, so Git sees one file where there were two."""
    for number, part in enumerate(mail.walk()):
        if part.is_multipart():
            part.set_boundary("=_gd_" + hashlib.sha256(f"{seed}:{number}".encode()).hexdigest()[:28])


def desk_message(config: Config, to: Sequence[str], subject: str, body: str, now: datetime,
                 seed: str) -> EmailMessage:
    """A message from the desk about no one ticket (a weekly digest to the leads), with a
    Message-ID made from ``seed``: the same digest made on two clones is sent once."""
    desk_address = config.mail.address
    if not desk_address:
        raise ValidationError("the desk has no mail address", hint="set mail.address in .gitdesk/config.yml")
    desk_name = header_text(config.mail.name or config.desk_name)
    mail = EmailMessage(policy=_HEADERS)
    mail["From"] = Address(display_name=desk_name, addr_spec=desk_address)
    people = [config.person(address) for address in to]  # "Dana Kowalski" <dana@…>, as every other mail
    mail["To"] = [Address(display_name=header_text(person.name) if person and person.name else "", addr_spec=address)
                  for person, address in zip(people, to, strict=True)]
    mail["Subject"] = header_text(subject)
    mail["Date"] = email.utils.format_datetime(now)
    unique = hashlib.sha256(seed.encode()).hexdigest()[:16]
    mail["Message-ID"] = f"<desk.digest.{unique}@{desk_address.rsplit('@', 1)[-1]}>"
    mail[LOOP_HEADER] = loop_header(desk_name, desk_address)
    mail[EVENT_HEADER] = "digest"
    mail["Auto-Submitted"] = "auto-generated"
    mail.policy = _BODIES
    mail.set_content(f"{body}\n\n-- \n{desk_name}\n")
    mail.add_alternative(_html(body, desk_name), subtype="html")
    mail.policy = _HEADERS
    _fixed_boundaries(mail, seed)
    return mail


def _name_of(config: Config, letter: Letter) -> str:
    """The requester's name for ``To:`` when the letter goes to them ("Bob Meyer" <bob@…>), as
    mail programs show it; empty for anyone else (a Cc colleague, an agent)."""
    person = config.person(letter.ticket.requester)
    own = person.email if person is not None else letter.ticket.requester
    name = templates.requester_name(letter.ticket, config)
    return header_text(name) if name and own and address_key(own) == address_key(letter.to) else ""


MAX_SUBJECT_TITLE = 200  # characters of a ticket's title in a mail's subject


def header_text(value: str) -> str:
    """A value as a header holds it: one clean line, and no ``=?`` that a mail program (or
    Python's own folding, which then fails) would read as the start of an encoded word."""
    return clean_line(value).replace("=?", "= ?")


@functools.cache
def _renderer() -> Any:
    """One Markdown renderer for every message of a run (making one costs more than a mail)."""
    return markup.renderer()


def _html(body: str, signature: str) -> str:
    signed = "<br>".join(markup.escape(line) for line in signature.splitlines())
    return (f"<!DOCTYPE html><html><body>{markup.to_html(_renderer(), body)}"
            f"<p>-- <br>{signed}</p></body></html>")


def addressed(ticket: Ticket, to: str, audience: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """(To, Cc) of a public step's mail to ``to``, ``ticket``'s requester, as ``audience`` says:
    the Cc when it names it (never the requester twice); its first address as To when it does
    not name the requester; None when nobody is left to mail."""
    cc = tuple(a for a in cc_of(ticket) if address_key(a) != address_key(to)) if "cc" in audience else ()
    if "requester" in audience:
        return to, cc
    return (cc[0], cc[1:]) if cc else None


def audience(config: Config, ticket: Ticket, event: str, *, forced: bool) -> tuple[str, ...]:
    """Who hears of ``event`` on ``ticket``: the queue's setting, else the desk's; all when forced."""
    if forced:
        return ("requester", "cc")
    return config.mail.audience(event, config.queues.get(ticket.queue or ""))
