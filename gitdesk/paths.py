"""Where files live in a desk, and the one way a path is built from a value.

A value that becomes part of a path (a ticket ID, a queue or category name,
an attachment name) may come from a stranger's file. Every writer and reader
builds such paths here: ``inside`` refuses anything but plain names below
its root and any symbolic link on the way, so no value can reach outside.
"""

from __future__ import annotations

from pathlib import Path

from gitdesk.errors import UnsafePath

TICKETS = "tickets"
MAX_NAME_BYTES = 200  # per path component; file systems allow 255, and temp names add a suffix


def ticket_path(ticket_id: str) -> str:
    """``tickets/<ID>.md``, desk-relative: the one place a ticket's path is made."""
    if not ticket_id or not ticket_id.replace("-", "").isalnum() or not ticket_id.isascii():
        raise UnsafePath(f"{ticket_id!r} is not a ticket ID", path=TICKETS)
    return f"{TICKETS}/{ticket_id}.md"


def refuse_link(path: Path, shown: str, *, hint: str | None = None) -> None:
    """Raise when ``path`` is a symbolic link: gitdesk never follows or writes through one."""
    if path.is_symlink():
        raise UnsafePath("is a symbolic link; gitdesk never follows links", path=shown,
                         hint=hint or "replace the link with a real file or folder")


def plain_parts(relative: str) -> list[str]:
    """The components of a desk-relative path, refused unless each is a plain name."""
    parts = relative.split("/")
    if relative.startswith("/") or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        raise UnsafePath("is not a plain path inside the desk", path=relative)
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        raise UnsafePath(f"a name in this path is longer than {MAX_NAME_BYTES} bytes", path=relative)
    return parts


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it stays under ``root`` with no symbolic link
    on the way (the last component included, where it exists)."""
    current = root
    for part in plain_parts(relative):
        current = current / part
        refuse_link(current, relative, hint=f"replace the link {current.relative_to(root).as_posix()} "
                                            "with a real file or folder")
    return current
