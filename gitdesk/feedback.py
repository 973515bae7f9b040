"""Satisfaction feedback, kept apart from tickets.

Each piece of feedback is its own small YAML file under ``feedback/`` (so two
clones adding feedback never touch the same file), never written into the
ticket, never shown by ``gitdesk show`` and never named after the agent who
handled the ticket. Reports collate it per team for a weekly review.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gitdesk import clock, frontmatter, workflow
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.paths import stamped
from gitdesk.text import clean_line

FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class Feedback:
    ticket: str
    score: int
    comment: str
    at: datetime
    path: str
    message_id: str | None = None  # the mail it came in, so intake never takes it twice
    # The ticket's status when the score was given. Kept because history alone cannot order a
    # score and a reopening made in the same second; None in files written before it was kept.
    status: str | None = None

    def as_record(self) -> dict[str, object]:
        return {"ticket": self.ticket, "score": self.score, "comment": self.comment, "at": clock.format_utc(self.at),
                "status": self.status, "message_id": self.message_id, "path": self.path}


@dataclass(frozen=True, slots=True)
class Added:
    feedback: Feedback
    commit: str
    status: str = ""  # the ticket's status: feedback given on an unfinished ticket is left out of the report
    finished: bool = True


def check_score(score: int) -> None:
    if not 1 <= score <= 5:
        raise ValidationError(f"score must be 1 to 5, not {score}", hint="1 is very unhappy, 5 very happy")


def record(ticket_id: str, score: int, comment: str | None, now: datetime, status: str,
           message_id: str | None = None, *, root: Path | None = None,
           pending: Collection[str] = ()) -> tuple[Feedback, str]:
    """One piece of feedback on a ticket in ``status`` and the text of its file (a new,
    uniquely named file). Its name sorts after the ticket's others of the same second in the
    desk at ``root`` and in ``pending``: of two scores given within a second (a typo put
    right), the later is the one that counts, everywhere."""
    check_score(score)
    text = clean_line(comment or "")
    folder = f"{FEEDBACK}/{now.strftime('%Y-%m')}"
    same = stamped(now, ticket_id)
    earlier = [path for path in pending if path.startswith(f"{folder}/{same}")]
    if root is not None and (root / folder).is_dir():
        earlier += [path.name for path in (root / folder).glob(f"{same}*.yml")]
    path = f"{folder}/{same}{len(earlier):03d}{secrets.token_hex(3)}.yml"
    lines = [f"ticket: {ticket_id}", f"score: {score}", f"at: {clock.format_utc(now)}", f"status: {status}",
             f"comment: {frontmatter.dump_value(text)}" if text else "comment:"]
    if message_id:
        lines.append(f"message_id: {frontmatter.dump_value(message_id)}")
    return Feedback(ticket_id, score, text, now, path, message_id, status), "\n".join(lines) + "\n"


def add(desk: Desk, typed_id: str, score: int, comment: str | None, actor: Actor) -> Added:
    del actor  # who typed it in is not recorded: feedback is about the desk, not a person
    check_score(score)
    with desk.writing():
        ticket = desk.find(typed_id).ticket
        found, body = record(ticket.id, score, comment, clock.now(), ticket.status, root=desk.root)
        message = f"feedback on {ticket.id}: score {score}\n\nGitdesk-Action: feedback\n"
        commit = desk.commit_paths({found.path: body}, message, found.at)
    counted = workflow.is_done(desk.config, ticket.status) and ticket.status != workflow.REJECTED
    return Added(found, commit, ticket.status, counted)


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
        if not path.is_file():  # a folder named like a file, from a hand-made commit
            problems.append(GitdeskError("is not a file", path=shown))
            continue
        try:
            data = frontmatter.load_mapping(path.read_text(encoding="utf-8"), shown)
            score = data.get("score") if isinstance(data, dict) else None
            at = data.get("at") if isinstance(data, dict) else None
            if not isinstance(score, int) or not 1 <= score <= 5 or not isinstance(at, datetime):
                raise GitdeskError("is not feedback (needs ticket, score 1-5 and at)", path=shown)
            message_id = data.get("message_id")
            status = data.get("status")
            if status is not None and not isinstance(status, str):
                raise GitdeskError("has a status that is not a word", path=shown)
            found.append(Feedback(str(data.get("ticket") or ""), score, str(data.get("comment") or ""),
                                  clock.as_utc(at), shown, str(message_id) if message_id else None,
                                  status or None))
        except (GitdeskError, UnicodeDecodeError, OSError) as error:
            problems.append(error if isinstance(error, GitdeskError) else GitdeskError(
                "not UTF-8" if isinstance(error, UnicodeDecodeError) else f"cannot be read ({error.strerror})",
                path=shown))
    return found, problems
