"""Ticket IDs: minted offline on many clones, sortable by time, typed by prefix.

An ID is ``<PREFIX>-<10 time chars><8 random chars>`` in Crockford base32,
e.g. ``GD-01JD8X4KQ7M3ZP2C4XW9``. The time part is the creation time in
milliseconds (a ULID's timestamp), so IDs sort by creation; the random part
is 39 bits from ``secrets``. Two clones collide only if they mint in the
same millisecond *and* draw the same 39 bits; a local collision can never
overwrite a file because new tickets are created exclusively. Sequential
numbers are out on purpose: they collide after every offline merge.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from gitdesk.errors import AmbiguousId, NotFound, ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TIME_CHARS = 10
RANDOM_CHARS = 8
BODY_CHARS = TIME_CHARS + RANDOM_CHARS
_BODY = f"[{ALPHABET}]{{{BODY_CHARS}}}"
PREFIX_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{0,9}\Z")
# What a user may type: letters, digits and at most one hyphen, never a leading '-'.
_TYPED = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]*)?\Z")
# Crockford's decoding forgives the letters people confuse with digits.
_FORGIVE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def id_pattern(prefix: str) -> re.Pattern[str]:
    """A whole ticket ID of this desk, and nothing else."""
    return re.compile(rf"^{re.escape(prefix)}-{_BODY}$")


def tag_pattern(prefix: str) -> re.Pattern[str]:
    """A ``[GD-…]`` tag in a mail subject, the ID (or a prefix a person typed) as group 1."""
    return re.compile(rf"\s*\[({re.escape(prefix)}-[0-9A-Za-z]{{4,{BODY_CHARS}}})\]", re.IGNORECASE)


def encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + ALPHABET.index(char)
    return value


class Taken:
    """IDs already in use, indexed by time slot, so minting thousands at once
    (intake, imports) does not rescan every ID each time."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._all: set[str] = set()
        self._largest: dict[str, str] = {}
        for ticket_id in ids:
            self.add(ticket_id)

    def add(self, ticket_id: str) -> None:
        self._all.add(ticket_id)
        slot = ticket_id[:-RANDOM_CHARS]
        if ticket_id > self._largest.get(slot, ""):
            self._largest[slot] = ticket_id

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._all

    def largest_in(self, head: str) -> str | None:
        return self._largest.get(head)


def slot(prefix: str, when: datetime) -> str:
    """What every ID minted at ``when`` (to the millisecond) starts with."""
    return f"{prefix}-{encode(int(when.timestamp() * 1000), TIME_CHARS)}"


def mint(prefix: str, when: datetime, existing: Iterable[str] | Taken = ()) -> str:
    """A new ID for a ticket created at ``when``.

    If the desk already has IDs from the same millisecond (which happens when
    the clock is fixed, as in imports), the random part continues upward from
    the largest of them by a random step of up to 2^24, so IDs still sort in
    creation order; a fresh millisecond starts in the lower half of the 40-bit
    range, leaving room for some 65,000 IDs above it.
    """
    head = slot(prefix, when)
    if isinstance(existing, Taken):
        largest = existing.largest_in(head)
        same_slot = [largest] if largest is not None and len(largest) == len(head) + RANDOM_CHARS else []
    else:
        same_slot = [ticket_id for ticket_id in existing
                     if ticket_id.startswith(head) and len(ticket_id) == len(head) + RANDOM_CHARS]
    random_bits = 5 * RANDOM_CHARS
    if same_slot:
        after = decode(max(same_slot)[len(head):]) + 1 + secrets.randbelow(1 << 24)
        if after < 1 << random_bits:
            return head + encode(after, RANDOM_CHARS)
    # A fresh slot starts in the lower half, leaving room above for the slot's later IDs.
    return head + encode(secrets.randbits(random_bits - 1), RANDOM_CHARS)


def is_valid(ticket_id: str, prefix: str) -> bool:
    return bool(id_pattern(prefix).match(ticket_id))


def _typed(text: str, room: int = 40) -> str:
    """What was typed, as an error quotes it: never a 5 MB string back into a terminal or an
    assistant's context."""
    return repr(text if len(text) <= room else text[:room] + "…")


def normalise(typed: str, prefix: str) -> str:
    """Turn what a user typed (any case, with or without ``GD-``) into an ID prefix."""
    text = typed.strip()
    if not text or not _TYPED.match(text):
        raise ValidationError(
            f"not a ticket ID: {_typed(typed)}", hint=f"IDs look like {prefix}-01JD8X4KQ7M3ZP2C4X"
        )
    text = text.upper()
    head, sep, body = text.partition("-")
    if not sep:
        head, body = prefix, head
    if head != prefix:
        raise ValidationError(
            f"not a ticket ID of this desk: {_typed(typed)}", hint=f"this desk's IDs start with {prefix}-"
        )
    body = body.translate(_FORGIVE)
    if not body or len(body) > BODY_CHARS or any(c not in ALPHABET for c in body):
        raise ValidationError(
            f"not a ticket ID: {_typed(typed)}", hint=f"IDs look like {prefix}-01JD8X4KQ7M3ZP2C4X"
        )
    return f"{prefix}-{body}"


def resolve_prefix(typed: str, prefix: str, known: Iterable[str]) -> str:
    """The one known ID that starts with what the user typed.

    Raises NotFound for no match and AmbiguousId (listing them) for several.
    """
    wanted = normalise(typed, prefix)
    matches = sorted(ticket_id for ticket_id in known if ticket_id.startswith(wanted))
    if not matches:
        raise NotFound(f"no ticket {_typed(typed)}", hint="gitdesk list --all shows every ticket")
    if len(matches) > 1:
        shown = ", ".join(matches[:8]) + (", …" if len(matches) > 8 else "")
        raise AmbiguousId(
            f"{_typed(typed)} matches {len(matches)} tickets: {shown}",
            hint="type more characters of the ID",
        )
    return matches[0]



def abbreviations(all_ids: Iterable[str], minimum: int = 12) -> dict[str, str]:
    """The shortest prefix of each ID that no other ID shares (at least ``minimum``
    characters), for tables on a terminal, like Git's abbreviated hashes."""
    ordered = sorted(set(all_ids))
    short: dict[str, str] = {}
    for index, ticket_id in enumerate(ordered):
        length = minimum
        for neighbour in ordered[max(0, index - 1):index] + ordered[index + 1:index + 2]:
            shared = next((i for i, (a, b) in enumerate(zip(ticket_id, neighbour, strict=False)) if a != b),
                          min(len(ticket_id), len(neighbour)))
            length = max(length, shared + 1)
        short[ticket_id] = ticket_id[:length]
    return short
