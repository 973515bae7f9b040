"""Where files live in a desk, and the one way a path is built from a value.

A value that becomes part of a path (a ticket ID, a queue or category name,
an attachment name) may come from a stranger's file. Every writer and reader
builds such paths here: ``inside`` refuses anything but plain names below
its root and any symbolic link on the way, so no value can reach outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gitdesk import git
from gitdesk.errors import NotADesk, UnsafePath

TICKETS = "tickets"
OUTBOX = "outbox"  # mail waiting to be sent (gitdesk.mail.outbox)
SENT = "sent"  # mail sent, by month
CONFIG_PATH = ".gitdesk/config.yml"
MAX_NAME_BYTES = 200  # per path component; file systems allow 255, and temp names add a suffix
# How a file written for one event begins (a mail in outbox/ and sent/, a score in feedback/):
# the moment, so that names sort by time, then whose it is: "20261201T091000Z-GD-01M…-".
STAMP = "%Y%m%dT%H%M%SZ"


def stamped(when: datetime, whose: str) -> str:
    """The start of an event file's name: ``<time>-<whose>-`` (a ticket's ID, or ``digest``)."""
    return f"{when.strftime(STAMP)}-{whose}-"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a desk is: its folder and the repository holding it. Found before the config is
    read, so that Git's check of the tickets can start that early (``cache.gitstate``)."""

    root: Path
    repo: git.Repo
    prefix: str  # the desk's folder inside the repository, "" or ending in "/"

    @property
    def tickets_dir(self) -> Path:
        return self.root / TICKETS

    def repo_path(self, desk_path: str) -> str:
        """Repository-relative path Git knows the file by."""
        return self.prefix + desk_path


def find_root(start: Path) -> Path | None:
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_PATH).is_file():
            return candidate
    return None


def locate(path: Path | None = None, *, explicit: bool = False) -> Location:
    """The desk at ``path`` (``explicit``: exactly there), or found upward from it or from here."""
    start = path or Path.cwd()
    if not start.exists():
        raise NotADesk(f"no such directory: {start}")
    root = (start.resolve() if (start / CONFIG_PATH).is_file() else None) if explicit else find_root(start)
    if root is None:
        where = f"in {start}" if explicit else f"in {start.resolve()} or any parent directory"
        raise NotADesk(f"not a gitdesk desk: no {CONFIG_PATH} {where}",
                       hint="run gitdesk init to create one, or pass --desk PATH")
    repo = git.find(root)
    if repo is None:
        raise NotADesk(f"{root} is not inside a Git work tree", hint="run git init there first")
    return Location(root, repo, prefix_of(root, repo))


def prefix_of(root: Path, repo: git.Repo) -> str:
    """The desk's folder inside the repository: "" at its top, else ending in "/"."""
    relative = root.resolve().relative_to(repo.top.resolve()).as_posix()
    return "" if relative == "." else relative + "/"


def state_file(repo: git.Repo, prefix: str, name: str) -> Path:
    """A desk's own disposable file in the cache folder (``cache.sqlite``, ``config.json``;
    ``.git/gitdesk/`` unless this process cannot write there): a repository may hold desks
    in several folders, each gets its own."""
    if not prefix:
        return repo.cache_dir / name
    import hashlib

    stem, dot, suffix = name.partition(".")
    return repo.cache_dir / f"{stem}-{hashlib.sha1(prefix.encode()).hexdigest()[:12]}{dot}{suffix}"


def ticket_path(ticket_id: str) -> str:
    """``tickets/<ID>.md``, desk-relative: the one place a ticket's path is made."""
    if not ticket_id or not ticket_id.replace("-", "").isalnum() or not ticket_id.isascii():
        raise UnsafePath(f"{ticket_id[:40]!r} is not a ticket ID", path=TICKETS)
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


def file_inside(root: Path, relative: str) -> Path | None:
    """``inside``, for a file to read: None where there is no such file."""
    path = inside(root, relative)
    return path if path.is_file() else None


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it stays under ``root`` with no symbolic link
    on the way (the last component included, where it exists)."""
    current = root
    for part in plain_parts(relative):
        current = current / part
        refuse_link(current, relative, hint=f"replace the link {current.relative_to(root).as_posix()} "
                                            "with a real file or folder")
    return current
