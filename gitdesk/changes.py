"""What changed between two versions of a ticket, in words people read.

Used for commit message bodies, the commit-msg hook's trailers and the
history timeline, so hand edits and CLI actions are described alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gitdesk.clock import format_utc
from gitdesk.errors import ValidationError
from gitdesk.model import QUESTION, REPLY, Entry, Ticket
from gitdesk.paths import OUTBOX, SENT, stamped


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        before, after = self.before or [], self.after or []
        if isinstance(before, list) and isinstance(after, list) and (before or after):
            # Lists grow long (message_ids, labels): say what came and went, not both whole lists.
            was, now = {str(item) for item in before}, {str(item) for item in after}
            added = [f"+{item}" for item in after if str(item) not in was]
            removed = [f"-{item}" for item in before if str(item) not in now]
            if added or removed:
                return f"{self.field}: {' '.join(added + removed)}"
        return f"{self.field}: {show(self.before)} -> {show(self.after)}"


def show(value: Any) -> str:
    if value in (None, "", [], ()):
        return "-"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


def field_changes(old: Ticket | None, new: Ticket) -> list[FieldChange]:
    before = old.front_matter() if old is not None else {}
    after = new.front_matter()
    changes = []
    for key in list(after) + [key for key in before if key not in after]:
        was, now = before.get(key), after.get(key)
        if show(was) != show(now) or (type(was) is not type(now) and was is not None and now is not None):
            changes.append(FieldChange(key, was, now))
    return changes


def added_entries(old: Ticket | None, new: Ticket) -> list[Entry]:
    """The entries ``new`` has beyond ``old``'s, counted as a multiset: two "time 3h" entries in
    one second are two, and a time entry's duration tells it from another's."""
    if old is None:
        return list(new.entries)
    seen = Counter((entry.at, entry.author, entry.kind, entry.detail, entry.text) for entry in old.entries)
    added = []
    for entry in new.entries:
        key = (entry.at, entry.author, entry.kind, entry.detail, entry.text)
        if seen[key]:
            seen[key] -= 1
        else:
            added.append(entry)
    return added


def corrected(old: Ticket, entry: Entry) -> bool:
    """Whether an entry ``added_entries`` found is one of ``old``'s put right by hand: the same
    heading with other words, or the same words re-dated (mailed, if at all, when first written)."""
    return any(earlier.heading == entry.heading
               or (earlier.author, earlier.kind, earlier.text) == (entry.author, entry.kind, entry.text)
               for earlier in old.entries)


def mailed_removed(old: Ticket, new: Ticket, listing: Callable[[Sequence[str]], Sequence[str]], prefix: str = "",
                   path: str | None = None) -> list[ValidationError]:
    """A reply or question a change takes off the thread while its mail is still in outbox/
    (it would go out all the same) or was sent: an editor's copy saved over the file after
    ``gitdesk reply`` wrote to it drops the reply without a word. Its words kept under another
    time (re-dated) are no removal; taking back an unsent one together with its outbox file is
    consistent, and fine. ``listing``: the mail files under the folders given (outbox/ and
    all of sent/, whatever month it went in), of the state the change leaves."""
    kept = {entry.heading for entry in new.entries}
    said = {(entry.author, entry.kind, entry.text) for entry in new.entries}
    removed = [entry for entry in old.entries if entry.kind in (REPLY, QUESTION) and entry.heading not in kept
               and (entry.author, entry.kind, entry.text) not in said]
    if not removed:
        return []
    outbox = f"{prefix}{OUTBOX}/"
    mails = [name for name in listing([outbox, f"{prefix}{SENT}/"]) if name.endswith(".eml")]
    found = []
    for entry in removed:
        start = stamped(entry.at, old.id)
        mail = next((name for name in mails if name.rsplit("/", 1)[-1].startswith(start)), None)
        if mail is None:
            continue
        where = "waits in outbox/ to be mailed" if mail.startswith(outbox) else "was mailed"
        found.append(ValidationError(
            f"the change removes {entry.author}'s {entry.kind} of {format_utc(entry.at)}, which {where} to the "
            "requester", path=path, hint="put it back: an editor's copy older than the file drops what was added "
                                         "since, so reload the file; to take back an unsent one, git rm its "
                                         "outbox file too"))
    return found


def not_mailed(old: Ticket | None, new: Ticket) -> str | None:
    """What a change written by hand (an editor, ``gitdesk edit``) says to the requester that
    no mail will tell them: a reply, question or reopening by one of the desk's people, or a
    resolution. Only gitdesk's commands mail; nobody must believe the customer was told."""
    if old is None:
        return None
    said = [entry.kind for entry in added_entries(old, new) if entry.kind in ("reply", "question", "reopen")
            and "@" not in entry.author and not corrected(old, entry)]
    if new.resolution and new.resolution != old.resolution:
        said.append("resolution")
    if not said:
        return None
    steps = " and ".join(dict.fromkeys(said))
    return (f"{new.id}: the {steps} written by hand {'is' if len(set(said)) == 1 else 'are'} not mailed to the "
            f"requester (only gitdesk's commands mail); to tell them, use gitdesk reply {new.id}")


def first_line(text: str) -> str | None:
    """An entry's or a resolution's first line, as the audit log shows it."""
    return text.strip().split("\n", 1)[0][:200] if text.strip() else None


def describe(old: Ticket | None, new: Ticket) -> list[str]:
    """One line per change: fields, added entries, resolution."""
    lines = [str(change) for change in field_changes(old, new) if old is not None]
    for entry in added_entries(old, new):
        detail = f" {entry.detail}" if entry.detail else ""
        lines.append(f"{entry.kind}{detail} by {entry.author}")
    if (new.resolution or "") != ((old.resolution if old else None) or "") and new.resolution:
        lines.append("resolution written" if not (old and old.resolution) else "resolution rewritten")
    if old is not None and old.description != new.description:
        lines.append("description edited")
    return lines
