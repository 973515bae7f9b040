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

How the server is reached is ``gitdesk.mail.smtp``; the outbox, claims, retries
and the journal are ``gitdesk.mail.outbox``. See docs/outbox.md.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from gitdesk import clock, git, paths, ticketfile, transaction, workflow
from gitdesk.cache import history
from gitdesk.clock import format_utc
from gitdesk.desk import Desk, LoadedTicket
from gitdesk.errors import GitdeskError, GitError, ValidationError
from gitdesk.lock import desk_lock
from gitdesk.model import MAIL_SYSTEM, NOTE, Entry, Ticket
from gitdesk.templates import REMINDER
from gitdesk.text import clean_line, counted

if TYPE_CHECKING:
    pass

from gitdesk.mail.message import without_thread_id
from gitdesk.mail.outbox import (
    _NAME,
    GIVE_UP_AFTER,
    JOURNAL,
    KEEP,
    MAX_MESSAGE_BYTES,
    REGULAR,
    UNDELIVERABLE,
    WITHDRAWN,
    Accepted,
    Claim,
    Journal,
    Queued,
    Retry,
    check_message,
    clone_id,
    delivered_ids,
    known_clone_id,
    stranger,
    tree,
)
from gitdesk.mail.smtp import Connection, Rejected, SenderRefused, Smtp, smtp_settings, status_code
from gitdesk.paths import OUTBOX, SENT

ACK_WITHDRAWN = "its ticket was rejected"  # why an acknowledgement with a .withdrawn marker is dropped

CHUNK = 200  # messages recorded per commit: a crash loses at most this many records (the journal has them)
CLAIM_ATTEMPTS = 5  # claims refused because another clone pushed first, before giving up
JOURNAL_KEPT = timedelta(days=30)  # a journal entry whose message left the outbox another way
# The author of notes about mail that could not be delivered: the same as intake's bounce
# notes (mail/intake.py MAIL_SYSTEM; not imported from there, which would import in a circle).
SEND_LOCK = "mail-send.lock"


# --- results ------------------------------------------------------------------------------------

OUTCOMES = ("sent", "recorded", "would-send", "retry", "undeliverable", "waiting", "claimed", "duplicate",
            "not-sent", "refused", "withdrawn")


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
    names (what a pull request merges into), else main (or master, where that is the main line)."""
    if desk.config.mail.branch:
        return desk.config.mail.branch
    remote = upstream.remote if upstream else "origin"
    ref = git.run(desk.repo, "symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", check=False).decode().strip()
    if ref.startswith(f"refs/remotes/{remote}/"):
        return ref.removeprefix(f"refs/remotes/{remote}/")
    for name in ("main", "master"):  # a desk without a remote: its main line, whichever Git named it
        if git.run(desk.repo, "rev-parse", "-q", "--verify", f"refs/heads/{name}", check=False).strip():
            return name
    return "main"


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
    withdrawn: list[tuple[Queued, str]] = field(default_factory=list)  # no longer to send, and why: drop
    state_files: set[str] = field(default_factory=set)  # outbox/*.claim, *.retry and *.withdrawn in HEAD

    @property
    def work(self) -> bool:
        return bool(self.due or self.accepted or self.duplicates or self.withdrawn)


def _plan(desk: Desk, accepted: Mapping[str, Accepted], only: set[str] | None, now: datetime,
          clone: str) -> _Plan:
    """What the outbox in HEAD holds and what to do with each message."""
    _, head = git.head(desk.repo)
    plan = _Plan(head)
    if head is None:
        return plan
    files = tree(desk, head, OUTBOX)
    plan.state_files = {path for path in files if path.endswith((".claim", ".retry", WITHDRAWN))}
    messages = {path: blob for path, blob in files.items() if path.endswith(".eml")}
    readable = [blob.sha for path, blob in messages.items()
                if blob.mode in REGULAR and 0 <= blob.size <= MAX_MESSAGE_BYTES]
    state = [blob.sha for path, blob in files.items() if path in plan.state_files and 0 <= blob.size <= 4096]
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
        claim_blob = files.get(f"{OUTBOX}/{queued.stem}.claim")
        retry_blob = files.get(f"{OUTBOX}/{queued.stem}.retry")
        claim = Claim.read(blobs.get(claim_blob.sha, b""), now) if claim_blob else None
        retry = Retry.read(blobs.get(retry_blob.sha, b""), now) if retry_blob else None
        if claim is not None and claim.holds(clone, now):
            plan.items.append(Delivery.of(queued, "claimed",
                                 f"being sent by clone {claim.clone} since {format_utc(claim.at)}"))
            continue
        if queued.message_id in accepted:
            plan.accepted.append((queued, accepted[queued.message_id]))
            continue
        marker = files.get(f"{OUTBOX}/{queued.stem}{WITHDRAWN}")
        if marker is not None and queued.event == "acknowledgement" and marker.mode in REGULAR \
                and 0 <= marker.size <= 4096:
            plan.withdrawn.append((queued, ACK_WITHDRAWN))  # only an acknowledgement: a marker holds no reply back
            continue
        if retry is not None and retry.next_attempt > now:
            plan.items.append(Delivery.of(queued, "waiting",
                                 f"next attempt at {format_utc(retry.next_attempt)} (attempt "
                                       f"{retry.attempts} failed: {retry.last_answer})"))
            continue
        plan.due.append(_Due(queued, retry, claim))
    strangers = _strangers(desk, head, [due.queued for due in plan.due])
    plan.items += [Delivery.of(due.queued, "refused", strangers[due.queued.name]) for due in plan.due
                   if due.queued.name in strangers]
    plan.due = [due for due in plan.due if due.queued.name not in strangers]
    answered = _answered_reminders(desk, head, [due.queued for due in plan.due])
    plan.withdrawn += [(due.queued, answered[due.queued.name]) for due in plan.due if due.queued.name in answered]
    plan.due = _in_thread_order([due for due in plan.due if due.queued.name not in answered])
    return plan


def _strangers(desk: Desk, head: str, queued: list[Queued]) -> dict[str, str]:
    """File name -> why, for each message in ``queued`` to an address the desk has no business
    mailing: not one of its people, nor (for mail about a ticket) that ticket's requester or Cc
    in ``head``. gitdesk writes no other; a file added by hand or in a pull request could name
    anyone, and would go out from the desk's address."""
    about = {desk.repo_path(paths.ticket_path(item.ticket)): item.ticket for item in queued if item.ticket}
    tickets: dict[str, Ticket] = {}
    for path, data in git.regular_files_at(desk.repo, head, sorted(about)).items() if about else ():
        with contextlib.suppress(GitdeskError):
            read = ticketfile.parse_front(ticketfile.decode(data, path), path)
            if read.id == about.get(path):
                tickets[read.id] = read
    why: dict[str, str] = {}
    for item in queued:
        ticket = tickets.get(item.ticket) if item.ticket else None
        if item.ticket and ticket is None:
            why[item.name] = f"its ticket {item.ticket} is not on the desk or cannot be read; never sent"
            continue
        unknown = stranger(item, desk.config, ticket)
        person = desk.config.person(unknown) if unknown is not None else None
        if unknown is not None and person is not None:  # queued before their mail moved (former_emails)
            now = f"answer again to reach them at {person.email}" if person.email else "they have no address now"
            why[item.name] = (f"it is addressed to {unknown}, an address {person.handle} had (former_emails), "
                              f"which is never mailed; never sent ({now}; remove it: git rm)")
        elif unknown is not None:
            whose = f"the requester or in the Cc of {ticket.id}" if ticket else "about a ticket"
            why[item.name] = (f"it is addressed to {unknown}, who is neither one of the desk's people nor "
                              f"{whose}; never sent (remove it: git rm)")
    return why


def _answered_reminders(desk: Desk, head: str, queued: list[Queued]) -> dict[str, str]:
    """File name -> why, for each reminder in ``queued`` whose ticket in ``head`` no longer waits
    on its requester: a clone that had not yet taken in her answer made it, and the merge of the
    two was clean, or the ticket was finished meanwhile. A ticket that cannot be read leaves its
    reminder to go, as before."""
    reminders = [item for item in queued if item.event == REMINDER and item.ticket]
    if not reminders:
        return {}
    wanted = {desk.repo_path(paths.ticket_path(item.ticket)): item.ticket for item in reminders if item.ticket}
    why: dict[str, str] = {}
    for path, data in git.regular_files_at(desk.repo, head, sorted(wanted)).items():
        if path not in wanted:
            continue
        try:
            ticket = ticketfile.read_ticket(ticketfile.decode(data, path), path)
        except GitdeskError:
            continue
        if ticket.id != wanted[path]:
            continue
        if workflow.is_done(desk.config, ticket.status):
            why[wanted[path]] = f"its ticket is {ticket.status} now"
        elif workflow.unanswered(desk.config, ticket) is None:
            why[wanted[path]] = "the requester answered meanwhile"
    return {item.name: why[item.ticket] for item in reminders if item.ticket in why}


def _in_thread_order(due: list[_Due]) -> list[_Due]:
    """``due`` by the time in its names, and within one second (a reply and a resolve run by a
    script) each mail after the one it answers: names alone would order them by chance."""
    by_id = {item.queued.message_id: item for item in due}

    def after(item: _Due) -> int:
        steps, seen = 0, {item.queued.message_id}
        parent = item.queued.in_reply_to
        while parent in by_id and parent not in seen:
            seen.add(parent)
            steps += 1
            parent = by_id[parent].queued.in_reply_to
        return steps

    return sorted(due, key=lambda item: (item.queued.name[:16], after(item), item.queued.name))


def _would(plan: _Plan, clone: str) -> list[Delivery]:
    """The plan as a dry run shows it."""
    items = list(plan.items)
    for queued, record in plan.duplicates:
        items.append(Delivery.of(queued, "duplicate",
                                 f"already delivered ({record}): would be removed from the outbox, not sent"))
    for queued, why in plan.withdrawn:
        items.append(Delivery.of(queued, "withdrawn", f"{why}: would be removed, not sent"))
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
    return _listed(items, plan)


def _listed(items: list[Delivery], plan: _Plan) -> list[Delivery]:
    """``items`` in the order the run sends them: by the time in their names and, within one
    second, a mail after the one it answers (``_in_thread_order``), not by the names' chance hex."""
    order = {due.queued.name: index for index, due in enumerate(plan.due)}
    return sorted(items, key=lambda item: (item.name[:16], order.get(item.name, -1), item.name))


# --- claiming -----------------------------------------------------------------------------------


def _trailers(action: str, tickets: Sequence[str | None]) -> str:
    return "\n".join([f"Gitdesk-Action: {action}",
                      *(f"Gitdesk-Ticket: {ticket}" for ticket in dict.fromkeys(t for t in tickets if t))]) + "\n"


def _claim(desk: Desk, upstream: Upstream, plan: _Plan, clone: str, now: datetime, raced: list[str]) -> bool:
    """Claim the plan's due messages with one commit pushed to the upstream; False when
    another clone pushed first (nothing changed here; the remote's answer is added to
    ``raced``). Call under the desk lock."""
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
    commit = git.create_commit(repo, parent, files, message, desk.identity(), clock.git_date(now),
                               sign=desk.commit_settings().sign)
    push = git.run_result(repo, "push", "--quiet", "--porcelain", "--", upstream.remote,
                          f"{commit}:refs/heads/{upstream.branch}")
    if push.returncode != 0:
        text = (push.stdout + push.stderr).decode("utf-8", "replace")
        if git.push_raced(text):
            raced.append(git.push_refusal(text))
            return False
        raise GitdeskError(f"could not push the claim to {upstream}: {clean_line(git.push_refusal(text))}",
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
    outcome: str  # sent | recorded | retry | undeliverable | duplicate | not-sent | withdrawn
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
        state_files = set(tree(desk, head, OUTBOX)) if head else set()
        months = {f"{folder}/{done.at.strftime('%Y-%m')}" for done in batch for folder in (SENT, UNDELIVERABLE)}
        for month in months:  # names already recorded this month, in HEAD or lying in the work tree
            if head is not None:
                taken.update(tree(desk, head, month))
            with contextlib.suppress(OSError):
                taken.update(f"{month}/{entry}" for entry in os.listdir(desk.root / month))
        noting = any(done.outcome == "undeliverable" or done.refused or _withdrawn_reminder(done) for done in batch)
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
            if done.outcome == "withdrawn":
                marker = f"{OUTBOX}/{queued.stem}{WITHDRAWN}"
                if marker in state_files:
                    files[marker] = None
                lines.append(f"{message} withdrawn ({done.answer}): removed, not sent")
                if _withdrawn_reminder(done):  # the rule's note says it mailed them: the thread must not mislead
                    problem = _add_note(desk, done, f"The reminder to {', '.join(queued.recipients)} was not sent: "
                                        f"{done.answer} ({message}, removed).", notes, dirty_tickets, unsent=True)
                    if problem:
                        problems.append(f"{message}: no note on its ticket: {problem}")
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
                problem = _add_note(desk, done, _note(done, record, host), notes, dirty_tickets)
                if problem:
                    problems.append(f"{message}: no note on its ticket: {problem}")
        if f"{OUTBOX}/{KEEP}" not in state_files:  # older desks: see outbox.KEEP
            files[f"{OUTBOX}/{KEEP}"] = b""
            new.add(f"{OUTBOX}/{KEEP}")
        for marker in sorted(state_files):  # a withdrawal that lost the race to a send: its message is gone
            if marker.endswith(WITHDRAWN) and f"{marker.removesuffix(WITHDRAWN)}.eml" not in state_files:
                files[marker] = None
                lines.append(f"{marker} names no queued message (it was sent first): removed")
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
            (count["withdrawn"], f"{count['withdrawn']} withdrawn"),
            (count["not-sent"], f"{count['not-sent']} released")) if number)
        text = (f"mail-send: {summary}\n\n" + "\n".join(clean_line(line) for line in lines) + "\n\n"
                + _trailers("mail-send", [done.queued.ticket for done in batch]))
        commit = transaction.commit_files(repo, {desk.repo_path(path): data for path, data in files.items()}, text,
                                          desk.identity(), clock.now(),
                                          new_files=frozenset(desk.repo_path(path) for path in new),
                                          sign=desk.commit_settings().sign)
    if notes:
        index.written(desk, [loaded.path for loaded, _ in notes.values()])
    return commit, problems


def _withdrawn_reminder(done: _Done) -> bool:
    return done.outcome == "withdrawn" and done.queued.event == REMINDER


def _add_note(desk: Desk, done: _Done, note: str, notes: dict[str, tuple[LoadedTicket, Ticket]],
              dirty: set[str], *, unsent: bool = False) -> str | None:
    """Append the note about ``done`` to its ticket in ``notes`` (and, ``unsent``, forget its
    Message-ID: later mail must not answer one nobody got); why not, or None."""
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
        text = ticketfile.escape_text(note)
        changed = replace(ticket, entries=(*ticket.entries, Entry(done.at, MAIL_SYSTEM, NOTE, text)))
        if unsent:
            changed = without_thread_id(changed, done.queued.message_id)
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
    # What was ever delivered is read from the whole history: a shallow clone would send again
    # what a reverted mail-send commit brought back.
    history.require_full(desk, "sending mail needs")
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
    # One run per clone; other commands go on meanwhile. A dry run changes nothing, so it takes
    # no lock and makes no clone id (it may run where .git/gitdesk cannot be written).
    with contextlib.nullcontext() if dry_run else desk_lock(repo.state_dir, name=SEND_LOCK):
        clone = (known_clone_id(repo) or "(this clone)") if dry_run else clone_id(repo)
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
    raced: list[str] = []  # the remote's answers to claims that lost a race
    if upstream is not None:
        from gitdesk.githooks import sync

        # The run syncs first, and sync stops at an uncommitted edit: said for mail send, dry or not.
        sync.refuse_uncommitted(desk.repo, "then run gitdesk mail send " + (
            "(it syncs first); nothing would be sent until then" if dry_run else
            "again (it syncs first); nothing was sent"))
    try:
        for _attempt in range(CLAIM_ATTEMPTS):
            if upstream is not None and not dry_run:
                _sync(desk, upstream, before=True)
            now = clock.now()
            plan = _plan(desk, journal.read(), wanted, now, clone)
            if dry_run or not plan.work:
                result.items = _would(plan, clone) if dry_run else _listed(plan.items, plan)
                return None
            if plan.due and connection is None and smtp is not None:
                connection = Connection(smtp)
                connection.open()  # before claiming: bad settings or a dead server change nothing
            if upstream is None or not plan.due:
                return plan, connection
            with desk.writing():
                plan = _plan(desk, journal.read(), wanted, now, clone)  # HEAD may have moved here meanwhile
                if not plan.due or _claim(desk, upstream, plan, clone, now, raced):
                    return plan, connection
        raise GitdeskError(f"gave up after {CLAIM_ATTEMPTS} attempts to claim mail: other clones keep pushing "
                           f"to {upstream} (its last answer: {clean_line(raced[-1]) if raced else 'none'})",
                           hint="nothing was sent; run gitdesk mail send again in a moment")
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
    batch += [_Done(queued, "withdrawn", clock.now(), why) for queued, why in plan.withdrawn]
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
    result.items = _listed(result.items, plan)
    if stopped is not None and result.error is None:
        result.error = stopped


def _send_one(connection: Connection, journal: Journal, sender: str, due: _Due, clone: str) -> _Done:
    queued = replace(due.queued, data=dated(due.queued.data, clock.now()))  # the record keeps what was sent
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


STALE = timedelta(hours=1)
_DATE = re.compile(rb"^Date:[^\r\n]*\r?\n", re.MULTILINE | re.IGNORECASE)


def dated(data: bytes, now: datetime) -> bytes:
    """The message as it goes out: a ``Date:`` more than an hour old (nobody ran ``mail send``
    for days, a retry) is set to ``now``, or the mail lands far down the requester's inbox.
    The queued file keeps its own date; the Message-ID, which threads it, does not change."""
    crlf = data.find(b"\r\n\r\n")
    end = crlf + 2 if crlf >= 0 else data.find(b"\n\n") + 1  # the header block with its last line's end
    head = data[:end] if end > 0 else data
    found = _DATE.search(head)
    if found is None:
        return data
    import email.utils

    try:
        written = email.utils.parsedate_to_datetime(found.group().decode("ascii", "replace")[5:].strip())
    except (TypeError, ValueError, IndexError):
        return data
    if written.tzinfo is None:  # "-0000": UTC, from a source that does not say where it is
        written = written.replace(tzinfo=timezone.utc)
    if now - written <= STALE:
        return data
    ending = found.group()[len(found.group().rstrip(b"\r\n")):]
    return data[:found.start()] + b"Date: " + email.utils.format_datetime(now).encode("ascii") + ending \
        + data[found.end():]


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
    if done.outcome == "withdrawn":
        return f"{done.answer}; removed from the outbox, not sent"
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
