"""Small pieces of English that output in many places shares."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1 ticket``, ``2 tickets``: a count with its noun in the right number."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
