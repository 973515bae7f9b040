"""``gitdesk init``: turn a directory into a desk with one commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitdesk import clock, git, transaction
from gitdesk.config import CONFIG_PATH, default_text, handle_from_email, parse_config
from gitdesk.desk import TICKETS
from gitdesk.errors import GitdeskError
from gitdesk.lock import desk_lock
from gitdesk.templates import TEMPLATES

GITATTRIBUTES = """\
# Ticket files merge with gitdesk's driver where it is installed
# (gitdesk hooks install); elsewhere Git's own line merge applies.
tickets/*.md merge=gitdesk
# kb/ is generated (gitdesk kb build): a merge keeps one side and rebuilds it.
kb/** merge=gitdesk-kb linguist-generated
"""
DEFAULT_TEMPLATE = """\
---
# Fields here become the defaults of a new ticket; the body below is the
# starting text. Add <category>.md next to this file for per-category templates.
priority: normal
---
What happened, and what did you expect?

Which machine or system (asset tag if you know it)?

What have you tried already?
"""


@dataclass(frozen=True, slots=True)
class Initialised:
    root: Path
    commit: str
    handle: str
    created_repository: bool


def init_desk(directory: Path, desk_name: str | None = None) -> Initialised:
    directory = directory.resolve()
    if (directory / CONFIG_PATH).exists():
        raise GitdeskError(f"{directory} is already a desk ({CONFIG_PATH} exists)")
    directory.mkdir(parents=True, exist_ok=True)
    repo = git.find(directory)
    created = repo is None
    if repo is None:
        repo = git.init(directory)
    name, email = git.identity(repo)  # before writing anything: no identity, no desk
    handle = handle_from_email(email)
    text = default_text(handle, name, email, desk_name or f"{directory.name} support desk")
    parse_config(text)  # the default must always load
    files = {CONFIG_PATH: text, f"{TEMPLATES}/default.md": DEFAULT_TEMPLATE, f"{TICKETS}/.gitkeep": "",
             ".gitattributes": GITATTRIBUTES}
    for path in files:
        if (directory / path).exists():
            raise GitdeskError(f"{path} already exists", hint="move it away, then run gitdesk init again")
    with desk_lock(repo.state_dir):
        for path in files:
            (directory / path).parent.mkdir(parents=True, exist_ok=True)
        relative = directory.relative_to(repo.top.resolve()).as_posix()
        prefix = "" if relative == "." else relative + "/"
        encoded = {prefix + path: content.encode("utf-8") for path, content in files.items()}
        message = "Initialise gitdesk desk\n\nGitdesk-Action: init\n"
        commit = transaction.commit_files(repo, encoded, message, (name, email), clock.now(),
                                          new_files=frozenset(encoded))
    return Initialised(directory, commit, handle, created)
