"""Files that came with a ticket, under ``attachments/<ID>/``.

Names come from strangers: only the last path component is kept, and only
letters, digits, '.', '_', '-' and spaces; no leading dots, no control or
direction characters, bounded length, never an existing name. Whatever the
sender wrote, the file lands inside its ticket's folder.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

ATTACHMENTS = "attachments"
_LISTED = "Attachments:"  # heads the list of a message's attachments in its entry
MAX_NAME = 100
MAX_PER_MESSAGE = 200  # attachments kept from one mail or one command; the rest are counted, not kept
MAX_NAME_BYTES = 150  # in UTF-8, with room for "-2" and the writer's temp suffix under the 255-byte limit
_WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)),
                               *(f"lpt{n}" for n in range(10))})


def safe_name(name: str, taken: Collection[str] = ()) -> str:
    """A harmless file name for ``name``, different from every name in ``taken`` (case ignored)."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)
    cleaned = " ".join(cleaned.split()).lstrip(". ").rstrip(". ")
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    extension = extension[:16]
    stem = stem[:MAX_NAME - len(extension) - 1]
    while len(f"{stem}.{extension}".encode()) > MAX_NAME_BYTES:  # 100 CJK characters are 300 bytes
        stem = stem[:-1]
    stem = stem.rstrip(". ") or "attachment"
    if stem.split(".", 1)[0].casefold() in _WINDOWS_RESERVED:  # aux.tar.gz is reserved too
        stem = f"_{stem}"
    candidate = f"{stem}.{extension}" if extension else stem
    folded = {item.casefold() for item in taken}
    number = 2
    while candidate.casefold() in folded:
        candidate = f"{stem}-{number}.{extension}" if extension else f"{stem}-{number}"
        number += 1
    return candidate


def path_of(ticket_id: str, name: str) -> str:
    """The desk-relative path of an attachment (``name`` must come from ``safe_name``)."""
    return f"{ATTACHMENTS}/{ticket_id}/{name}"


_LINKED = re.compile(r"\[([^\]\n]*)\]\(\.\./" + ATTACHMENTS + r"/[^()\s]*\)")


def unlinked(text: str) -> str:
    """``text`` with links to attachments reduced to their names: in a mail, which carries the
    files themselves, a link into the repository leads nowhere (and shows its layout)."""
    return _LINKED.sub(lambda match: match.group(1), text) if ATTACHMENTS in text else text


def without_list(text: str) -> str:
    """``text`` without the list of attachments ``attach`` put at its end: the words alone, as
    mail intake judged them ("Thanks!" with a screenshot is a thank-you)."""
    found = text.rfind(f"{_LISTED}\n- ")
    if found < 0 or (found and text[found - 1] != "\n"):
        return text
    listed = text[found + len(_LISTED) + 1:].split("\n")
    return text[:found].rstrip() if all(line.startswith("- ") for line in listed if line) else text


def link(ticket_id: str, name: str) -> str:
    """A Markdown link from the ticket file to the attachment (works on Git hosts)."""
    target = urllib.parse.quote(f"../{path_of(ticket_id, name)}")
    shown = name.replace("[", "(").replace("]", ")")
    return f"[{shown}]({target})"


def size_text(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def existing(root: Path, ticket_id: str) -> set[str]:
    """The names already in ``attachments/<ID>/`` (a link there is never followed)."""
    folder = root / ATTACHMENTS / ticket_id
    if folder.is_symlink() or not folder.is_dir():
        return set()
    return {entry.name for entry in folder.iterdir()}


def blocked(root: Path, ticket_id: str) -> str | None:
    """Why nothing can be saved in ``attachments/<ID>/``: a folder on the way that is a
    symbolic link (nothing is ever written through one) or a file (a commit made it so), or
    None when the files can go there."""
    for folder in (ATTACHMENTS, f"{ATTACHMENTS}/{ticket_id}"):
        path = root / folder
        if path.is_symlink():
            return f"{folder} is a symbolic link (gitdesk check; git rm it)"
        if path.exists() and not path.is_dir():
            return f"{folder} is a file, not a folder (git rm it)"
    return None


def same_file(root: Path, ticket_id: str, files: Mapping[str, bytes]) -> Callable[[bytes], str | None]:
    """Finds the file of the ticket (saved, or in ``files`` to be written) holding these bytes:
    an Outlook signature's logo comes with every reply, and was kept again each time."""
    prefix = path_of(ticket_id, "")
    folder = root / ATTACHMENTS / ticket_id

    def find(data: bytes) -> str | None:
        for path, content in files.items():
            if path.startswith(prefix) and content == data:
                return path[len(prefix):]
        if folder.is_symlink() or not folder.is_dir():
            return None
        for entry in sorted(folder.iterdir()):
            if not entry.is_symlink() and entry.is_file() and entry.stat().st_size == len(data) \
                    and entry.read_bytes() == data:
                return entry.name
        return None

    return find


def attach(ticket_id: str, text: str, items: Sequence[tuple[str, bytes]], taken: set[str], limit: int,
           files: dict[str, bytes], refused: str | None = None,
           same: Callable[[bytes], str | None] | None = None) -> str:
    """``text`` followed by links to ``items`` (name as given, bytes), each saved into
    ``files`` under a safe name not in ``taken`` (which gains it); those over ``limit``
    bytes are named but not kept, and so is every one when ``refused`` says why. ``same``
    finds a file the ticket already holds with the same bytes: linked, not kept twice."""
    lines = []
    dropped = max(0, len(items) - MAX_PER_MESSAGE)  # each is a line in the ticket: thousands would overflow it
    for given, data in items[:MAX_PER_MESSAGE]:
        earlier = same(data) if same is not None and refused is None and data else None
        if earlier is not None:
            lines.append(f"- {link(ticket_id, earlier)} ({size_text(len(data))}, already on the ticket)")
            continue
        name = safe_name(given, taken)
        if refused is not None:
            lines.append(f"- {name} ({size_text(len(data))}): not kept: {refused}")
            continue
        if len(data) > limit:
            lines.append(f"- {name} ({size_text(len(data))}): not kept, over the {size_text(limit)} limit "
                         "(mail.max_attachment_bytes)")
            continue
        taken.add(name)
        files[path_of(ticket_id, name)] = data
        lines.append(f"- {link(ticket_id, name)} ({size_text(len(data))})")
    if dropped:
        lines.append(f"- {dropped} more: not kept, over {MAX_PER_MESSAGE} attachments in one message")
    if not lines:
        return text
    return f"{text}\n\n{_LISTED}\n" + "\n".join(lines) if text else f"{_LISTED}\n" + "\n".join(lines)
