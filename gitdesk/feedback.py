"""Satisfaction feedback, kept apart from tickets.

Each piece of feedback is its own small YAML file under ``feedback/`` (so two
clones adding feedback never touch the same file), never written into the
ticket, never shown by ``gitdesk show`` and never named after the agent who
handled the ticket. Reports collate it per team for a weekly review.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from gitdesk import clock, frontmatter
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, ValidationError

FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class Feedback:
    ticket: str
    score: int
    comment: str
    at: datetime
    path: str
    message_id: str | None = None  # the mail it came in, so intake never takes it twice


@dataclass(frozen=True, slots=True)
class Added:
    feedback: Feedback
    commit: str


def check_score(score: int) -> None:
    if not 1 <= score <= 5:
        raise ValidationError(f"score must be 1 to 5, not {score}", hint="1 is very unhappy, 5 very happy")


def record(ticket_id: str, score: int, comment: str | None, now: datetime,
           message_id: str | None = None) -> tuple[Feedback, str]:
    """One piece of feedback and the text of its file (a new, uniquely named file)."""
    check_score(score)
    text = " ".join((comment or "").split())
    name = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{ticket_id}-{secrets.token_hex(3)}.yml"
    path = f"{FEEDBACK}/{now.strftime('%Y-%m')}/{name}"
    lines = [f"ticket: {ticket_id}", f"score: {score}", f"at: {clock.format_utc(now)}",
             f"comment: {frontmatter.dump_value(text)}" if text else "comment:"]
    if message_id:
        lines.append(f"message_id: {frontmatter.dump_value(message_id)}")
    return Feedback(ticket_id, score, text, now, path, message_id), "\n".join(lines) + "\n"


def add(desk: Desk, typed_id: str, score: int, comment: str | None, actor: Actor) -> Added:
    del actor  # who typed it in is not recorded: feedback is about the desk, not a person
    check_score(score)
    with desk.writing():
        ticket = desk.find(typed_id).ticket
        found, body = record(ticket.id, score, comment, clock.now())
        message = f"feedback on {ticket.id}: score {score}\n\nGitdesk-Action: feedback\n"
        commit = desk.commit_paths({found.path: body}, message, found.at)
    return Added(found, commit)


@dataclass(frozen=True, slots=True)
class Requested:
    ticket: str
    to: str
    outbox: str | None  # where the mail waits when no SMTP host is set
    commit: str | None  # the commit that added it to outbox/


def request(desk: Desk, typed_id: str, actor: Actor) -> Requested:
    """Ask the requester of a finished ticket for a score by mail; their answer comes
    back through ``gitdesk intake``. Sent over SMTP, or committed to outbox/."""
    from gitdesk import workflow
    from gitdesk.mail import outgoing
    from gitdesk.mail.message import thread_ids

    actor.require_person("ask for feedback")  # signed by the desk, but only its people may send in its name
    with desk.writing():
        ticket = desk.find(typed_id).ticket
        if not workflow.is_done(desk.config, ticket.status):
            raise ValidationError(f"{ticket.id} is {ticket.status}, not finished",
                                  hint="ask for feedback once the ticket is resolved or closed")
        now = clock.now()
        message = outgoing.feedback_request(desk.config, ticket, None, now, thread_ids(ticket))
        to = outgoing.recipient(desk.config, ticket)
        path = outgoing.dispatch(desk.config, ticket.id, message, now)
        if path is None:
            return Requested(ticket.id, to, None, None)
        commit = desk.commit({path: message.as_bytes()},
                             f"feedback request for {ticket.id}\n\nGitdesk-Action: feedback-request\n", now,
                             new_files=frozenset({path}))
    return Requested(ticket.id, to, path, commit)


def load_all(desk: Desk) -> tuple[list[Feedback], list[GitdeskError]]:
    found: list[Feedback] = []
    problems: list[GitdeskError] = []
    root = desk.root / FEEDBACK
    if not root.is_dir() or root.is_symlink():
        return found, problems
    for path in sorted(root.rglob("*.yml")):
        shown = path.relative_to(desk.root).as_posix()
        if path.is_symlink():
            continue
        try:
            data = frontmatter.load_mapping(path.read_text(encoding="utf-8"), shown)
            score = data.get("score") if isinstance(data, dict) else None
            at = data.get("at") if isinstance(data, dict) else None
            if not isinstance(score, int) or not 1 <= score <= 5 or not isinstance(at, datetime):
                raise GitdeskError("is not feedback (needs ticket, score 1-5 and at)", path=shown)
            message_id = data.get("message_id")
            found.append(Feedback(str(data.get("ticket") or ""), score, str(data.get("comment") or ""),
                                  clock.as_utc(at), shown, str(message_id) if message_id else None))
        except (GitdeskError, UnicodeDecodeError) as error:
            problems.append(error if isinstance(error, GitdeskError) else GitdeskError("not UTF-8", path=shown))
    return found, problems
