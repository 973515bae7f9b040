"""The outbox as committed: queued messages read as a stranger's files, the state beside
them (claims, retries), the local journal of what a server accepted, and what was ever
delivered. ``gitdesk.mail.delivery`` sends from these; see docs/outbox.md.
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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gitdesk import clock, git, ids, transaction, workflow
from gitdesk.clock import format_utc
from gitdesk.desk import Desk, read_regular
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.model import Config, Ticket
from gitdesk.paths import OUTBOX, SENT, STAMP, stamped
from gitdesk.text import address_key, clean_line

if TYPE_CHECKING:
    pass

UNDELIVERABLE = "undeliverable"
RETRY_FIRST = timedelta(minutes=5)  # the first wait after a temporary failure; doubled each time
RETRY_LONGEST = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a temporary failure this long counts as permanent
CLOCK_SKEW = timedelta(hours=1)  # clones' clocks differ; a claim or failure later than this is made up
MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # more than any mail server takes
MAX_RECIPIENTS = 50
JOURNAL = "mail-journal"
CLONE_ID = "mail-clone-id"
SENT_IDS = "mail-sent-ids-2.json"  # -2: only files stamped as delivered count (a file moved there by Git does not)
DELIVERED_STAMP = b"X-Gitdesk-Delivered:"
CLAIM_TIMEOUT = timedelta(hours=6)  # a claim this old, never recorded, was left by a clone that died
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.eml\Z")
_MESSAGE_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]{1,200}@[\x21-\x3b\x3d\x3f-\x7e]{1,200}>$")
_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
REGULAR = ("100644", "100755")


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
    in_reply_to: str | None = None  # the mail of the thread it follows, sent first when both wait

    @property
    def stem(self) -> str:
        return self.name[:-len(".eml")]


@dataclass(frozen=True, slots=True)
class _Blob:
    mode: str
    sha: str
    size: int  # -1 for what is not a blob (a submodule)


def tree(desk: Desk, commit: str, folder: str) -> dict[str, _Blob]:
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
        ours = {address_key(address) for address in (config.mail.address or "", *config.mail.aliases) if address}
        if len(senders) != 1 or address_key(senders[0][1]) not in ours:
            raise ValidationError("its From is not the desk's mail.address",
                                  hint="the desk sends only as itself; mail queued before mail.address changed "
                                       "goes once the old address is listed under mail.aliases")
        recipients: dict[str, str] = {}
        for _, address in email.utils.getaddresses([str(value) for header in ("To", "Cc")
                                                    for value in message.get_all(header, [])]):
            if not address:
                continue
            if not workflow.is_email(address) or address != clean_line(address):
                raise ValidationError(f"it has a recipient that is not an address: {clean_line(address)[:80]!r}")
            recipients.setdefault(address_key(address), address)
        if not recipients:
            raise ValidationError("it has no recipient in To or Cc")
        if len(recipients) > MAX_RECIPIENTS:
            raise ValidationError(f"it has more than {MAX_RECIPIENTS} recipients")
        ticket = _ticket_of(name, str(message.get("X-Gitdesk-Ticket", "")).strip(), config.id_prefix)
        event = clean_line(str(message.get("X-Gitdesk-Event", "")))[:40] or None
        in_reply_to = str(message.get("In-Reply-To", "")).strip()
    except ValidationError:
        raise
    except Exception as error:  # hostile bytes (RecursionError, odd encodings…) refuse this file, never the run
        raise ValidationError(f"it is not a message that can be read ({type(error).__name__})") from None
    return Queued(name, data, message_id, tuple(recipients.values()), ticket, event,
                  in_reply_to if _MESSAGE_ID.match(in_reply_to) else None)


def stranger(queued: Queued, config: Config, ticket: Ticket | None) -> str | None:
    """The first recipient of ``queued`` the desk has no business mailing: not one of its
    people, nor the requester or in the Cc of ``ticket`` (the one the message is about), or None."""
    from gitdesk.actions import cc_of, requester_address

    known = {address_key(person.email) for person in config.people.values() if person.email}
    if ticket is not None:
        known |= {address_key(address) for address in (requester_address(config, ticket) or "", *cc_of(ticket))}
    return next((address for address in queued.recipients if address_key(address) not in known), None)


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

    def holds(self, clone: str, now: datetime) -> bool:
        """Whether this claim keeps ``clone`` from sending the message: another clone's, and
        younger than CLAIM_TIMEOUT (an older one was left by a clone that died)."""
        return self.clone != clone and now - self.at < CLAIM_TIMEOUT


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


def known_clone_id(repo: git.Repo) -> str | None:
    """This clone's name in claims, if it has one yet (read only)."""
    with contextlib.suppress(OSError):
        text = (repo.state_dir / CLONE_ID).read_text(encoding="ascii", errors="replace").strip()
        if re.fullmatch(r"[0-9a-f]{12}", text):
            return text
    return None


def clone_id(repo: git.Repo) -> str:
    """This clone's name in claims: made once, kept in .git/gitdesk/."""
    known = known_clone_id(repo)
    if known is not None:
        return known
    path = repo.state_dir / CLONE_ID
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
    cache_path = repo.cache_dir / SENT_IDS
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
                # A record starts with its delivery stamp; a message Git moved here (a merge that read the
                # emptied outbox/ as renamed) was never sent, and must not count as sent.
                stamped = data.startswith(DELIVERED_STAMP)
                seen[sha] = [(message_id_of(data) or "") if stamped else "", added[sha]]
        with contextlib.suppress(OSError, GitdeskError):  # a cache that cannot be written is read again next time
            repo.cache_dir.mkdir(parents=True, exist_ok=True)
            transaction.atomic_write(cache_path, json.dumps({"tip": commit, "records": seen}).encode())
    found: dict[str, str] = {}
    for message_id, path in seen.values():
        if message_id:
            found.setdefault(message_id, path)
    return found


# --- withdrawing ---------------------------------------------------------------------------------


WITHDRAWN = ".withdrawn"  # next to a message: do not send it (a marker, so a send that raced it merges cleanly)
WITHDRAWN_TEXT = "# gitdesk: {ticket} was rejected, so its acknowledgement is not sent (docs/outbox.md)\n"
KEEP = ".gitkeep"  # outbox/ is never left empty: Git would read an emptied folder as renamed to sent/


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What rejecting a ticket does to its acknowledgement still in outbox/."""

    markers: dict[str, bytes]  # outbox/<name>.withdrawn -> its text: mail send drops the message
    said: list[str]  # a line for each acknowledgement: withdrawn, or why it may still go out


def unsent_acknowledgements(desk: Desk, ticket_id: str, now: datetime) -> Withdrawal:
    """Withdraw ``ticket_id``'s acknowledgement not sent yet, as committed in HEAD: a marker
    next to each, which ``mail send`` reads as "drop it, do not send it". Not the message
    itself: deleting it would conflict with a clone that sent it meanwhile (a rename to sent/).
    One the server already took (in this clone's journal) or one with uncommitted changes is
    left, and said so; one another clone is sending right now is marked, and said so."""
    _, head = git.head(desk.repo)
    withdrawal = Withdrawal({}, [])
    if head is None:
        return withdrawal
    files = tree(desk, head, OUTBOX)
    marker = f"-{ticket_id}-"
    mine = {path: blob for path, blob in files.items()
            if _NAME.match(path[len(OUTBOX) + 1:]) and marker in path and blob.mode in REGULAR
            and 0 <= blob.size <= MAX_MESSAGE_BYTES}
    if not mine:
        return withdrawal
    blobs = git.read_blobs(desk.repo, [blob.sha for blob in mine.values()])
    accepted = Journal(desk.repo.state_dir / JOURNAL).read()
    dirty = desk.dirty_paths([OUTBOX])
    # The same bytes on every clone: two clones rejecting the ticket add one file, not a conflict.
    text = WITHDRAWN_TEXT.format(ticket=ticket_id).encode()
    for path, blob in sorted(mine.items()):
        try:
            queued = check_message(path[len(OUTBOX) + 1:], blobs.get(blob.sha, b""), desk.config)
        except ValidationError:
            continue  # not gitdesk's to withdraw: mail send refuses it anyway
        stem = f"{OUTBOX}/{queued.stem}"
        if queued.event != "acknowledgement" or queued.ticket != ticket_id or f"{stem}{WITHDRAWN}" in files:
            continue
        claim_blob = files.get(f"{stem}.claim")
        claim = Claim.read(git.read_blobs(desk.repo, [claim_blob.sha]).get(claim_blob.sha, b"")
                           if claim_blob is not None and 0 <= claim_blob.size <= 4096 else b"", now)
        if claim is not None and claim.holds(clone_id(desk.repo), now):
            # Marked all the same: if that clone died or the server said "try later", whoever
            # takes the claim over reads the marker and drops the message.
            withdrawal.markers[f"{stem}{WITHDRAWN}"] = text
            withdrawal.said.append(f"acknowledgement {path} is being sent by another clone right now: it may "
                                   "still go out")
        elif queued.message_id in accepted:
            withdrawal.said.append(f"acknowledgement {path} not withdrawn: the server took it already")
        elif path in dirty:
            withdrawal.said.append(f"acknowledgement {path} not withdrawn: it has uncommitted changes")
        else:
            withdrawal.markers[f"{stem}{WITHDRAWN}"] = text
            withdrawal.said.append(f"unsent acknowledgement {path} withdrawn: the ticket is rejected")
    return withdrawal


@dataclass(frozen=True, slots=True)
class TicketMail:
    """Where the question a pending ticket waits on stands: the desk's last question to the
    requester queued since the ticket went pending."""

    unsent: str | None = None  # still in outbox/
    undeliverable: str | None = None  # given up on, in undeliverable/
    delivered: datetime | None = None  # when the server took it
    reminded: datetime | None = None  # when the server took the last reminder sent since (a rule's)
    reminder_held: str | None = None  # that reminder, still in outbox/ or given up on in undeliverable/


def ticket_mail(desk: Desk, since: dict[str, datetime], now: datetime) -> dict[str, TicketMail]:
    """For each ticket ID in ``since``: the last question (``X-Gitdesk-Event: question``) queued
    at or after that moment, and what became of it, and when the last reminder sent since then
    was delivered (with no question, that alone); other mail does not count. One
    listing of each folder, whatever the number of tickets; only the asked-about tickets' files
    are read, newest first, until a question is found."""
    found: dict[str, TicketMail] = {}
    if not since or (not (desk.root / SENT).is_dir() and not (desk.root / UNDELIVERABLE).is_dir()):
        return found  # a desk that has never delivered mail (it queues it for people to read): nothing known
    first = min(since.values()).strftime("%Y-%m")
    stamps = {ticket_id: when.strftime(STAMP) for ticket_id, when in since.items()}  # as file names start
    length = len(next(iter(stamps)))  # every ID of a desk is as long; a record may end -2.eml (_record_path)
    candidates: dict[str, list[tuple[str, str, str]]] = {}  # ID -> (queued stamp, folder, desk path)
    for kind in (OUTBOX, SENT, UNDELIVERABLE):
        folders = [""] if kind == OUTBOX else [f"{month}/" for month in _months(desk.root / kind) if month >= first]
        for folder in folders:
            directory = desk.root / kind / folder
            names = set(os.listdir(directory)) if directory.is_dir() else set()
            for name in names:
                stamp, _, rest = name.partition("-")
                ticket_id = rest[:length] if rest[length:length + 1] == "-" else ""
                if not name.endswith(".eml") or ticket_id not in stamps or stamp < stamps[ticket_id] \
                        or (kind == OUTBOX and f"{name[:-4]}{WITHDRAWN}" in names):
                    continue
                candidates.setdefault(ticket_id, []).append((stamp, kind, f"{kind}/{folder}{name}"))
    for ticket_id, files in candidates.items():
        question: TicketMail | None = None
        reminder: tuple[datetime | None, str | None] | None = None  # the newest: when delivered, or where held
        for _, kind, path in sorted(files, reverse=True):
            try:  # never through a link (a committed symlink to any file), never blocking on a FIFO
                head = read_regular(str(desk.root / path), path)[:16384]
            except (OSError, GitdeskError):
                continue
            head = head.replace(b"\r\n", b"\n")
            if b"\nX-Gitdesk-Event: reminder" in head and reminder is None:
                reminder = (_delivered(head, now), None) if kind == SENT else (None, path)
            if b"\nX-Gitdesk-Event: question" not in head:
                continue
            if kind == OUTBOX:
                question = TicketMail(unsent=path)
            elif kind == UNDELIVERABLE:
                question = TicketMail(undeliverable=path)
            else:
                question = TicketMail(delivered=_delivered(head, now))
            break
        if question is not None or reminder is not None:  # pending by a canned reply: a reminder alone
            reminded, held = reminder or (None, None)
            found[ticket_id] = replace(question or TicketMail(), reminded=reminded, reminder_held=held)
    return found


def _delivered(head: bytes, now: datetime) -> datetime | None:
    """When the server took a sent mail, from the line ``mail send`` put on top of it."""
    top = head.split(b"\n", 1)[0]
    when = _time(top.removeprefix(DELIVERED_STAMP).split(b";", 1)[0].decode("ascii", "replace").strip()
                 ) if top.startswith(DELIVERED_STAMP) else None
    return when if when is not None and when <= now else None


def _months(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if re.fullmatch(r"\d{4}-\d{2}", name)) \
        if folder.is_dir() else []


def outbox_path(ticket_id: str, now: datetime, message_id: str) -> str:
    """``outbox/<time>-<ID>-<6 hex>.eml``: sorted by when it was written; the hex is the
    Message-ID's own random part, so a file and its message are known by each other."""
    random = message_id.strip("<>").split("@", 1)[0].rsplit(".", 1)[-1][:6]
    return f"{OUTBOX}/{stamped(now, ticket_id)}{random}.eml"
