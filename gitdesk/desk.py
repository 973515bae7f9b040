"""The Desk: finds the repository, loads the config, reads and writes ticket files.

A desk is a directory holding ``.gitdesk/config.yml``; it may be a whole
repository or a folder inside one. Tickets are read from the work tree (what
the user sees); writes go through ``transaction.commit_files``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shlex
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from gitdesk import clock, frontmatter, git, ids, paths, ticketfile, transaction, workflow
from gitdesk.config import default_text, handle_from_email, parse_config, recalled, refuse_repeated_keys, remembered
from gitdesk.errors import (
    ConfigError,
    DirtyWorktree,
    GitdeskError,
    GitError,
    LockTimeout,
    NotFound,
    TicketFormatError,
    UnsafePath,
    ValidationError,
)
from gitdesk.lock import desk_lock
from gitdesk.model import Config, Person, Ticket
from gitdesk.paths import CONFIG_PATH, TICKETS
from gitdesk.templates import TEMPLATES, starter_files
from gitdesk.text import clean_line
from gitdesk.ticketfile import MAX_TICKET_BYTES, Document


@dataclass(frozen=True, slots=True)
class LoadedTicket:
    ticket: Ticket
    document: Document
    path: str  # desk-relative, e.g. tickets/GD-….md: what messages show


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a person from config, or a requester known only by email."""

    id: str  # handle for people, email address otherwise
    person: Person | None
    email: str | None
    via: str | None = None  # the tool that acted for them (``mcp``: an AI assistant), named in every commit

    def require_agent(self, config: Config, verb: str) -> str:
        """The actor's handle; only people who work tickets (``Config.is_agent``: a queue's
        members, lead or escalation target, the desk's leads, people marked agent: true) may
        ``verb``."""
        handle = self.require_person(verb)
        if not config.is_agent(handle):
            raise workflow.works_no_queue(handle, verb)
        return handle

    def require_person(self, verb: str) -> str:
        """The actor's handle; only the desk's people may ``verb`` (a requester may not)."""
        if self.person is None:
            raise ValidationError(
                f"{self.id} is not one of the desk's people, so cannot {verb}",
                hint="add yourself under people: in .gitdesk/config.yml (an address you had before goes under "
                     "former_emails:) or pass --as HANDLE",
            )
        return self.person.handle


class Progress(Protocol):
    """Shows how long work is getting on: ``with desk.progress("Indexing", 5000) as advance:
    advance(100)``. Quiet by default; the command line shows a bar on a terminal."""

    def __call__(self, label: str, total: int | None = None) -> AbstractContextManager[Callable[[int], None]]: ...


def quiet(label: str, total: int | None = None) -> AbstractContextManager[Callable[[int], None]]:
    del label, total
    return nullcontext(lambda amount: None)


def folder_listed(entry: os.DirEntry[str]) -> bool:
    """A folder in tickets/ that is listed as a problem: one holding a Markdown file at any
    depth, hidden or not (tickets/.archive/GD-….md vanished too); not one git mv emptied, a
    .gitkeep keeps, or an editor keeps its settings in. GD-….md/ is "not a regular file"."""
    return entry.is_dir(follow_symlinks=False) and not entry.name.endswith(".md") and holds_markdown(entry.path)


def holds_markdown(folder: str | Path) -> bool:
    try:
        for _, _, files in os.walk(folder, onerror=_raise):
            if any(name.endswith(".md") for name in files):
                return True
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable: said, not silently passed over
    return False


def _raise(error: OSError) -> None:
    raise error


def not_a_ticket(name: str) -> TicketFormatError:
    """Why ``name`` in tickets/ is not listed: misnamed, or a folder (a ticket moved into
    tickets/2026/ would vanish from listings, reports, exports and the knowledge base)."""
    if name.endswith("/"):
        return TicketFormatError("is a folder: only files directly in tickets/ are tickets, so none in it is listed",
                                 path=f"{TICKETS}/{name}", hint=f"move the tickets in it back: git mv {TICKETS}/{name}"
                                                                 f"ID.md {TICKETS}/; anything else out of {TICKETS}/")
    return TicketFormatError("is not named like a ticket of this desk, so it is not listed",
                             path=f"{TICKETS}/{name}", hint="gitdesk check explains")


# (statuses or None for all, queue or None for all, with the entries' headings) -> tickets
TicketQuery = Callable[[Sequence[str] | None, str | None, bool], list[Ticket]]


class Desk:
    def __init__(self, root: Path, repo: git.Repo, config: Config) -> None:
        self.root = root
        self.repo = repo
        self.config = config
        self.progress: Progress = quiet  # long work (a cold index, a kb build) reports through this
        # Tickets read through the index, where a part that has one put its reader here
        # (``cache.attach``): assignment rules read it in 0.1 s where reading every file
        # took seconds. Without it, the files are read.
        self.query: TicketQuery | None = None
        # Tickets this process gave someone and has not committed yet (a rules run prepares a batch):
        # the next automatic pick counts them, so a run's escalations take turns.
        self.handed: dict[str, Ticket] = {}
        self.prefix = paths.prefix_of(root, repo)
        self._settings: git.CommitSettings | None = None

    def commit_settings(self) -> git.CommitSettings:
        """Who authors our commits and whether they are signed: Git's config, read once per Desk."""
        if self._settings is None:
            self._settings = git.commit_settings(self.repo)
        return self._settings

    def identity(self) -> tuple[str, str]:
        """(name, email) of the Git author (GIT_AUTHOR_* first, then Git's config)."""
        return git.author_in_environment() or self.commit_settings().author()

    @classmethod
    def open(cls, path: Path | None = None, *, explicit: bool = False) -> Desk:
        return cls.at(paths.locate(path, explicit=explicit))

    @classmethod
    def at(cls, location: paths.Location) -> Desk:
        """The desk found at ``location``, its config read and checked."""
        return cls(location.root, location.repo, load_config(location.root, kept_config(location)))

    # --- paths ----------------------------------------------------------------

    @property
    def tickets_dir(self) -> Path:
        return self.root / TICKETS

    def path_of(self, ticket_id: str) -> str:
        """Desk-relative path of a ticket file."""
        return paths.ticket_path(ticket_id)

    def repo_path(self, desk_path: str) -> str:
        """Repository-relative path Git knows the file by."""
        return self.prefix + desk_path

    def _checked_tickets_dir(self) -> Path:
        directory = self.tickets_dir
        paths.refuse_link(directory, TICKETS + "/", hint="replace it with a real directory")
        return directory

    # --- reading --------------------------------------------------------------

    def ticket_ids(self) -> list[str]:
        """IDs of ticket files in the work tree, by file name."""
        directory = self._checked_tickets_dir()
        try:
            return self._ids_named(os.listdir(directory))
        except FileNotFoundError:
            return []

    def ids_minted_in(self, slot: str) -> list[str]:
        """IDs already minted in a time slot (``ids.slot``), from Git's index, so that a new
        ticket's ID sorts after them without listing a folder of 100,000 files. A file not
        yet added is missed, which costs only that order: the new ID's own file is checked
        on disk before it is taken."""
        folder = self.repo_path(TICKETS + "/")
        return self._ids_named(path[len(folder):] for path in git.tracked_starting(self.repo, folder + slot))

    def _ids_named(self, names: Iterable[str]) -> list[str]:
        """The IDs of the ticket files among ``names`` (file names in tickets/), in order."""
        pattern = ids.id_pattern(self.config.id_prefix)
        return sorted(name[:-3] for name in names if name.endswith(".md") and pattern.match(name[:-3]))

    def _misnamed(self, valid: set[str]) -> list[str]:
        """Names in tickets/ that look like tickets but are not read as one; folders end in /."""
        try:
            with os.scandir(self.tickets_dir) as entries:
                return sorted(entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name
                              for entry in entries if folder_listed(entry)
                              or (entry.name.endswith(".md") and entry.name[:-3] not in valid))
        except FileNotFoundError:
            return []

    def resolve(self, typed: str) -> str:
        """The full ID for what the user typed (a unique prefix will do)."""
        prefix = self.config.id_prefix
        wanted = ids.normalise(typed, prefix)
        if ids.is_valid(wanted, prefix) and (self.tickets_dir / f"{wanted}.md").exists():
            return wanted
        try:
            return ids.resolve_prefix(typed, prefix, self.ticket_ids())
        except NotFound as error:
            holder = self._misnamed_holder(wanted)
            if holder is None:
                raise
            name, found = holder
            raise NotFound(f"{error.message}: tickets/{clean_line(name)} holds {found} but is not named like a ticket",
                           hint=f"name it back: git mv {shlex.quote(f'{TICKETS}/{name}')} {TICKETS}/{found}.md"
                           if name.isprintable() else f"rename it to {TICKETS}/{found}.md") from None

    def _misnamed_holder(self, wanted: str) -> tuple[str, str] | None:
        """A file in tickets/ not named like a ticket (renamed by hand) whose front matter
        claims an ID starting with ``wanted``: its name and that ID."""
        valid = set(self.ticket_ids())
        for name in self._misnamed(valid):
            if name.endswith("/") or not name.endswith(".md"):
                continue
            try:
                claimed = ticketfile.claimed_id(read_regular(str(self.tickets_dir / name), f"{TICKETS}/{name}"))
            except GitdeskError:
                continue
            if claimed and claimed.startswith(wanted) and ids.is_valid(claimed, self.config.id_prefix):
                return name, claimed
        return None

    def read_bytes(self, desk_path: str) -> bytes:
        directory = self._checked_tickets_dir()
        if (self.root / desk_path).parent != directory:
            raise UnsafePath(f"{desk_path} is not a ticket file", path=desk_path)
        return read_regular(str(self.root / desk_path), desk_path)

    def load(self, ticket_id: str) -> LoadedTicket:
        path = self.path_of(ticket_id)
        ticket, document = ticketfile.parse_bytes(self.read_bytes(path), path)
        if ticket.id != ticket_id:
            raise GitdeskError(f"file name says {ticket_id} but its id is {ticket.id}", path=path,
                               line=document.front.spans["id"].line,
                               hint=f"put back id: {ticket_id}")
        return LoadedTicket(ticket, document, path)

    def find(self, typed: str) -> LoadedTicket:
        return self.load(self.resolve(typed))

    def read(self, typed: str) -> Ticket:
        """The ticket ``typed`` names, for reading only (``show``): no positions are kept, so
        front matter gitdesk wrote is read without YAML. Refused exactly as ``find`` refuses."""
        ticket_id = self.resolve(typed)
        path = self.path_of(ticket_id)
        ticket = ticketfile.read_ticket(ticketfile.decode(self.read_bytes(path), path), path)
        if ticket.id != ticket_id:
            return self.load(ticket_id).ticket  # raises, naming the line of the wrong id
        return ticket

    def all_tickets(self, *, body: bool = True) -> tuple[list[Ticket], list[GitdeskError]]:
        """Every readable ticket, and a problem for each file that is not."""
        tickets: list[Ticket] = []
        problems: list[GitdeskError] = []
        directory = str(self._checked_tickets_dir())
        names = self.ticket_ids()
        problems += [not_a_ticket(name) for name in self._misnamed(set(names))]
        for ticket_id in names:
            path = self.path_of(ticket_id)
            try:
                data = read_regular(os.path.join(directory, ticket_id + ".md"), path)
                text = ticketfile.decode(data, path)
                ticket = ticketfile.parse_ticket(text, path) if body else ticketfile.parse_front(text, path)
                if ticket.id != ticket_id:  # a copy of another ticket, or an id edited: never two with one id
                    raise GitdeskError(f"file name says {ticket_id} but its id is {ticket.id}", path=path,
                                       hint=f"put back id: {ticket_id}")
            except GitdeskError as error:
                problems.append(error)
                continue
            tickets.append(ticket)
        return tickets, problems

    # --- people ---------------------------------------------------------------

    def actor(self, as_: str | None) -> Actor:
        """Who is acting: ``--as`` (handle or email), else the Git identity's email."""
        if as_:
            person = self.config.person(as_)
            if person is not None:
                return Actor(person.handle, person, person.email)
            from gitdesk.workflow import is_email

            if is_email(as_):
                return Actor(as_, None, as_)
            raise GitdeskError(f"unknown person {as_!r}",
                               hint="use a handle from people: in .gitdesk/config.yml, or an email address")
        _, email = self.identity()
        person = self.config.person(email)
        if person is None:
            return Actor(email, None, email)
        return Actor(person.handle, person, person.email)

    # --- writing --------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the desk lock; finish any action a killed process left behind."""
        with desk_lock(self.repo.state_dir):
            transaction.recover(self.repo)
            yield

    def ensure_clean(self, desk_paths: list[str]) -> None:
        """Refuse to act on a file with uncommitted hand edits (they would be lost or swept in)."""
        changed = self.dirty_paths(desk_paths)
        if changed:
            raise self.dirty(sorted(changed)[0])

    def committed_under(self, folders: Sequence[str]) -> list[str]:
        """The repository-relative paths of the files HEAD holds under ``folders`` (repository-relative)."""
        return [name for _, _, name in git.tree_entries(self.repo, "HEAD", folders)]

    def dirty_paths(self, desk_paths: list[str]) -> set[str]:
        """The desk-relative files under ``desk_paths`` that differ from HEAD (one git call)."""
        changed = git.changed_paths(self.repo, [self.repo_path(path) for path in desk_paths])
        return {path[len(self.prefix):] for path in changed}

    def dirty(self, desk_path: str) -> DirtyWorktree:
        operation = git.operation_in_progress(self.repo)
        if operation is not None:  # "git commit FILE" is refused mid-merge: say how to finish instead
            return DirtyWorktree(f"has uncommitted changes while a{'n' if operation == 'am' else ''} "
                                 f"{operation} is in progress", path=desk_path, hint=git.finish_hint(operation))
        shown = self.repo_path(desk_path)
        return DirtyWorktree("has uncommitted changes", path=desk_path,
                             hint=f"commit them (git commit {shown}) or discard them (git restore {shown}) first")

    def commit(self, files: Mapping[str, str | bytes | None], message: str, when: datetime,
               *, new_files: frozenset[str] = frozenset()) -> str:
        """Write desk-relative ``files`` (text, or bytes as they are; None deletes) and commit exactly them."""
        author = self.identity()
        encoded = {self.repo_path(path): data.encode("utf-8") if isinstance(data, str) else data
                   for path, data in files.items()}
        commit = transaction.commit_files(
            self.repo, encoded, message, author, when,
            new_files=frozenset(self.repo_path(path) for path in new_files), sign=self.commit_settings().sign,
        )
        return commit

    def commit_on_branch(self, files: Mapping[str, str | bytes | None], message: str, when: datetime,
                         prefix: str) -> tuple[str, str, str]:
        """Commit desk-relative ``files`` on top of HEAD as a new branch ``<prefix><n>`` (the
        next free n), for someone to review and merge. HEAD, the index and the work tree are
        left alone. Returns (branch, commit, the branch it starts from)."""
        base, parent = git.head(self.repo)
        if base is None:
            raise GitError("HEAD is detached; gitdesk commits to a branch", hint=git.detached_hint(self.repo))
        encoded = {self.repo_path(path): data.encode("utf-8") if isinstance(data, str) else data
                   for path, data in files.items()}
        commit = git.create_commit(self.repo, parent, encoded, message, self.identity(), clock.git_date(when),
                                   sign=self.commit_settings().sign)
        # Pushed drafts count too: a draft dropped here after its push must not be reborn under its name.
        taken = [name[len(prefix):] for name in git.branches(self.repo, prefix + "*", remotes=True)]
        branch = prefix + str(1 + max((int(n) for n in taken if n.isdigit()), default=0))
        git.create_branch(self.repo, branch, commit, f"gitdesk: {message.splitlines()[0]}")
        return branch, commit, base.removeprefix("refs/heads/")

    def commit_paths(self, files: dict[str, str | None], message: str, when: datetime) -> str:
        """Write (or, with None, delete) desk-relative files and commit exactly them."""
        author = self.identity()
        encoded = {self.repo_path(path): None if text is None else text.encode("utf-8")
                   for path, text in files.items()}
        return transaction.commit_files(self.repo, encoded, message, author, when, sign=self.commit_settings().sign)

    def commit_series(self, steps: Sequence[tuple[Mapping[str, str | bytes | None], str, datetime]],
                      reason: str, advance: Callable[[int], None] | None = None) -> str | None:
        """Commit several (files, message, when) steps in order, backdated as given, and
        land them at once (all or nothing). Returns the last commit, or None for no steps.
        ``advance(1)`` as each commit is handed to Git. Each is authored at its ``when`` and
        committed now (or then, if later): Git walks ranges (``A..B``, what sync counts) by
        commit dates, and a committer date years before its parent's misleads it."""
        author = self.identity()
        moment = clock.now()
        prepared = [git.CommitStep({self.repo_path(path): data.encode("utf-8") if isinstance(data, str) else data
                                    for path, data in files.items()}, message, author, clock.git_date(when),
                                   clock.git_date(max(when, moment)))
                    for files, message, when in steps]
        return transaction.commit_series(self.repo, prepared, reason, advance)


def read_regular(full_path: str, shown: str) -> bytes:
    """Read a ticket file: never through a symlink, never blocking on a FIFO or a device
    (opened non-blocking, judged by fstat before a byte is read), never a huge file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(full_path, flags)
    except FileNotFoundError:
        raise NotFound(f"no ticket file {shown}") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafePath("is a symbolic link; gitdesk never follows links",
                             path=shown, hint="replace the link with the ticket file itself") from None
        raise UnsafePath(f"cannot be read: {error.strerror or error}", path=shown,
                         hint="tickets/ holds only ticket files; move it away") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafePath("is not a regular file (a folder, a pipe or a device)", path=shown,
                         hint="tickets/ holds only ticket files; move it away")
    if info.st_size > MAX_TICKET_BYTES:
        os.close(fd)
        raise TicketFormatError(f"is {info.st_size // 1024 // 1024} MB; a ticket file holds at most "
                                f"{MAX_TICKET_BYTES // 1024 // 1024} MB", path=shown,
                                hint="move large text into an attachment (attachments/<ID>/)")
    try:  # os.read, not a file object: a cold build reads 100,000 files
        parts = [os.read(fd, info.st_size + 1)]
        while chunk := os.read(fd, 1 << 16):  # a short read, or the file grew since fstat
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def kept_config(location: paths.Location) -> Path:
    """Where the desk's config data is remembered."""
    return paths.state_file(location.repo, location.prefix, "config.json")


def load_config(root: Path, kept: Path | None = None) -> Config:
    """The desk's config. ``kept``: a file in the disposable cache where its YAML data is
    remembered (``config.remembered``), so that a config read once is not parsed as YAML again."""
    path = paths.inside(root, CONFIG_PATH)  # a .gitdesk linked elsewhere would read outside the repository
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", path=CONFIG_PATH) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not valid UTF-8", path=CONFIG_PATH, hint="re-save the file as UTF-8") from None
    if kept is None:
        return parse_config(text, CONFIG_PATH)
    digest = hashlib.sha1(data).hexdigest()
    try:
        loaded = recalled(kept.read_text(encoding="utf-8"), digest)
    except (OSError, UnicodeDecodeError):
        loaded = None
    if loaded is not None:
        return parse_config(text, CONFIG_PATH, loaded)
    try:
        loaded = frontmatter.load_mapping(text, CONFIG_PATH)
    except GitdeskError:
        return parse_config(text, CONFIG_PATH)  # raises, naming the line and the fix
    refuse_repeated_keys(text, CONFIG_PATH)  # what the YAML data cannot show any more
    keep = remembered(loaded, digest)  # before the checks, which are given the same data
    parsed = parse_config(text, CONFIG_PATH, loaded)  # a config that does not check is not kept
    if keep:
        with contextlib.suppress(OSError):  # keeping it is only a speed-up
            kept.parent.mkdir(parents=True, exist_ok=True)
            temporary = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
            temporary.write_text(keep, encoding="utf-8")
            os.replace(temporary, kept)
    return parsed


# --- gitdesk init ------------------------------------------------------------

GITATTRIBUTES = """\
# Ticket files merge with gitdesk's driver where it is installed
# (gitdesk hooks install); elsewhere Git's own line merge applies.
tickets/*.md merge=gitdesk
# kb/ is generated (gitdesk kb build): a merge keeps one side and rebuilds it.
kb/** merge=gitdesk-kb linguist-generated
# A digest queued on two clones at once: one name, one Message-ID, ours is kept.
outbox/*-digest-*.eml merge=gitdesk-kb
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


def create(directory: Path, desk_name: str | None = None) -> Initialised:
    def _name_from_folder(folder: str) -> str:
        """'acme-it' -> 'Acme IT support desk'; a folder that only says what it is
        ('desk', 'helpdesk', 'support') gives 'Support desk', not 'Desk support desk'."""
        generic = {"desk", "helpdesk", "servicedesk", "gitdesk", "support", "help", "service", "tickets", "ticket"}
        acronyms = {"it": "IT", "hr": "HR"}
        # A folder name that is not UTF-8 (Latin-1 bytes from an old archive) becomes text.
        folder = folder.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        words = [word for word in folder.replace("_", " ").replace("-", " ").replace(".", " ").split()
                 if word.lower() not in generic]
        if not words:
            return "Support desk"
        # A word typed with capitals is kept as typed (ACME, McKay); a lowercase one gets one.
        shown = [acronyms.get(word, word[:1].upper() + word[1:]) if word.islower() else word for word in words]
        return " ".join(shown) + " support desk"

    directory = directory.resolve()
    if (directory / CONFIG_PATH).exists():
        raise GitdeskError(f"{directory} is already a desk ({CONFIG_PATH} exists)")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        repo = git.find(directory)
    except GitError:
        if (directory / ".git").exists():
            raise  # that repository itself: never touched
        repo = None  # below another user's repository, which Git will not work in: a new one of its own
    created = repo is None
    if repo is None:
        repo = git.init(directory)
    name, email = git.identity(repo)  # before writing anything: no identity, no desk
    handle = handle_from_email(email)
    text = default_text(handle, name, email, desk_name or _name_from_folder(directory.name))
    parse_config(text)  # the default must always load
    files = {CONFIG_PATH: text, f"{TEMPLATES}/default.md": DEFAULT_TEMPLATE, f"{TICKETS}/.gitkeep": "",
             ".gitattributes": GITATTRIBUTES, **starter_files()}
    for path in files:
        if (directory / path).exists():
            raise GitdeskError(f"{path} already exists", hint="move it away, then run gitdesk init again")
    with desk_lock(repo.state_dir):
        for path in files:
            (directory / path).parent.mkdir(parents=True, exist_ok=True)
        prefix = paths.prefix_of(directory, repo)
        encoded = {prefix + path: content.encode("utf-8") for path, content in files.items()}
        message = "Initialise gitdesk desk\n\nGitdesk-Action: init\n"
        commit = transaction.commit_files(repo, encoded, message, (name, email), clock.now(),
                                          new_files=frozenset(encoded))
    return Initialised(directory, commit, handle, created)


def finish_interrupted(repo: git.Repo) -> str | None:
    """Finish or undo what a killed gitdesk left half done (a killed import leaves its files
    in the work tree, not yet committed), unless a writer is at work now: readers must not
    count files no commit holds. What was done, "under way" when a writer is landing its files
    right now, or None."""
    if not (repo.state_dir / transaction.JOURNAL).exists():
        return None
    try:
        with desk_lock(repo.state_dir, timeout=0):
            return transaction.recover(repo)
    except LockTimeout:
        return "under way"  # a live writer landing its files: the journal is its own
    except GitdeskError:
        return None  # not now (a read-only mount, Git's index.lock held): the next writer finishes it
