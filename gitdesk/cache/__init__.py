"""The disposable SQLite data under .git/gitdesk: the ticket index and the audit-log history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitdesk.desk import Desk
    from gitdesk.model import Ticket


def attach(desk: Desk) -> Desk:
    """``desk`` reading tickets through the index where the core asks (``Desk.query``); the
    index is imported at the first question, not here (commands that never ask stay quick)."""
    def query(statuses: Sequence[str] | None, queue: str | None, with_facts: bool) -> list[Ticket]:
        from gitdesk.cache import db, index

        with db.connect(desk) as connection:
            return index.tickets(desk, connection, statuses, with_facts, queue=queue)[0]

    desk.query = query
    return desk
