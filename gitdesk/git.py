"""Every call gitdesk makes to Git, as small named functions.

Writes go through the real ``git`` binary (plumbing: blobs and the trees on
the changed paths, ``commit-tree`` and a compare-and-swap ``update-ref``) so an action commits
exactly its own paths and never sweeps up the user's staged work, and so
``GIT_INDEX_FILE`` and friends behave inside hooks. Hot-path reads use the
binary too: importing GitPython costs ~60 ms, more than most commands take.

Values that come from users are always passed after ``--`` or on stdin, so
nothing can be read as a Git option.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import itertools
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gitdesk.errors import GitError

# Variables that point Git at another repository; stripped unless we run
# inside a hook of this very repository, where they are the truth.
_REPO_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_QUARANTINE_PATH",
)
_honour_repo_vars = False


def honour_repository_environment(honour: bool = True) -> None:
    """Inside a Git hook, GIT_DIR/GIT_INDEX_FILE describe our repository: keep them. Every
    command starts with ``False``: a process that runs several (a test, a server) must not
    carry a hook's trust into the next."""
    global _honour_repo_vars
    _honour_repo_vars = honour


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if not _honour_repo_vars:
        for name in _REPO_VARS:
            env.pop(name, None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def large_trees_env() -> dict[str, str]:
    """The environment for a git process that diffs many large trees (the history scan).
    glibc hands each multi-megabyte buffer back to the system when it is freed and maps it
    again for the next tree: on a flat tickets/ tree of 100,000 entries (5 MB), page faults
    were half of git's time. Higher thresholds keep reusing the heap instead (same peak
    memory, half the time). Other C libraries ignore it; a GLIBC_TUNABLES set by the user
    is kept."""
    if "GLIBC_TUNABLES" in os.environ:
        return {}
    return {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=134217728:glibc.malloc.trim_threshold=536870912"}


@dataclass(frozen=True, slots=True)
class Repo:
    top: Path  # the work tree's top level
    git_dir: Path  # this work tree's git directory (absolute)
    object_format: str = "sha1"
    # Where Git looks for hooks (core.hooksPath from any config), when ``find`` asked in passing
    hooks: Path | None = field(default=None, compare=False)

    @property
    def state_dir(self) -> Path:
        """Where gitdesk keeps its locks and journals: ``.git/gitdesk/``, always (every process
        working this clone must meet there, or they stop excluding each other)."""
        return self.git_dir / "gitdesk"

    @property
    def cache_dir(self) -> Path:
        """Where the disposable cache is kept (see ``_cache_dir``)."""
        return _cache_dir(self.git_dir)


CACHE_FILES = ("cache", "config", "mail-sent-ids")  # how the disposable files' names start


def _cache_files_writable(folder: Path) -> bool:
    """Whether this process may write every cache file already in ``folder`` (another user's
    cache.sqlite, made 0644, would fail the first write: SQLite's "readonly database")."""
    try:
        with os.scandir(folder) as entries:
            return all(os.access(entry.path, os.W_OK) for entry in entries if entry.name.startswith(CACHE_FILES))
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _owns(folder: Path) -> bool:
    """Whether this process's user owns ``folder``: root reading someone's clone from cron must
    not make their .git/gitdesk (it would be root's, and lock its owner out of every write)."""
    try:
        return not hasattr(os, "geteuid") or folder.stat().st_uid == os.geteuid()
    except OSError:
        return False


@functools.lru_cache(maxsize=16)
def _cache_dir(git_dir: Path) -> Path:
    """``.git/gitdesk/`` when this process may write it; else (a read-only mount, a repository
    of another user that a web server reads) ``$XDG_CACHE_HOME/gitdesk/<repository>``: reading
    a desk needs its cache, and everything in it is rebuilt from Git. Only the cache moves:
    locks and journals never do (a writer that cannot take the desk's lock is refused). Asked
    once a process."""
    own = git_dir / "gitdesk"
    # Not another user's clone with no .git/gitdesk yet either (root's cron, a group-shared
    # clone): made by this user, it could lock the owner out of every write. Where the user's own
    # cache folder cannot be made, reading says so, with the fix.
    if os.access(own if own.is_dir() else git_dir, os.W_OK) and _cache_files_writable(own) \
            and (own.is_dir() or _owns(git_dir)):
        return own
    return _home_cache(git_dir)


def _home_cache(git_dir: Path) -> Path:
    try:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no HOME and no passwd entry (a container's arbitrary uid)
        raise GitError(f"cannot keep a cache: {git_dir / 'gitdesk'} is not yours to write, and you have no home "
                       "folder", hint="set XDG_CACHE_HOME to a folder you may write") from None
    return home / "gitdesk" / hashlib.sha1(str(git_dir.resolve()).encode()).hexdigest()[:16]


def _run(cwd: Path, args: Sequence[str], *, input: bytes | None = None,
         env: Mapping[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True,
            env=base_env(env), check=False,
        )
    except OSError as error:
        raise _cannot_run(cwd, error) from None
    if check and result.returncode != 0:
        raise failure(cwd, args[0], result)
    return result


def _cannot_run(cwd: Path, error: OSError) -> GitError:
    """Git could not even start: not installed, or the folder to run it in is gone or closed."""
    if not cwd.is_dir():
        return GitError(f"{cwd} is not a folder that exists", hint="pass an existing folder with --desk")
    if isinstance(error, FileNotFoundError):
        return GitError("git is not installed or not on PATH", hint="install Git 2.30 or newer")
    return GitError(f"cannot run git in {cwd}: {error.strerror or error}",
                    hint="check that the folder and Git are readable by you")


# Git's words for a lock file someone left behind (a crashed Git, an editor's Git plugin).
_LOCK_EXISTS = re.compile(r"Unable to create '(?P<path>[^']+\.lock)': File exists")


def failure(cwd: Path, command: str, result: subprocess.CompletedProcess[bytes]) -> GitError:
    """The one-line error for a failed git command: Git's own verdict, and the fix where we know it."""
    text = result.stderr.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Git's own verdict is on its fatal:/error: lines; the prose after them is advice.
    verdicts = [line.split(": ", 1)[1] for line in lines if line.startswith(("fatal: ", "error: "))]
    detail = "; ".join(dict.fromkeys(verdicts or lines[-1:])) or f"exit status {result.returncode}"
    hint = None
    stale = _LOCK_EXISTS.search(text)
    if stale:
        # Git's advice is a paragraph; ours is the line that matters.
        hint = f"another Git command may be running; if not, remove {_shown(cwd, stale['path'])}"
    return GitError(f"git {command} failed: {detail}", hint=hint)


def _shown(cwd: Path, path: str) -> str:
    """``path`` relative to the work tree when it is inside it (``.git/index.lock``)."""
    try:
        return Path(path).resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path


def merge_file_lines(ours: Path, base: Path, theirs: Path, marker_size: int) -> tuple[bytes, int]:
    """Git's own three-way line merge of three files: the merged text and how many
    conflicts it left (Git's exit status; negative when it failed)."""
    result = _run(ours.parent, ["merge-file", "-p", f"--marker-size={marker_size}", "-L", "ours", "-L", "base",
                                "-L", "theirs", "--", str(ours), str(base), str(theirs)], check=False)
    return result.stdout, result.returncode if result.returncode <= 127 else -1


def start(repo: Repo, *args: str) -> subprocess.Popen[bytes]:
    """Start git and return at once (its output piped, its errors dropped): for a read whose
    answer is collected later, while this process does other work."""
    try:
        return subprocess.Popen(["git", *args], cwd=repo.top, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=base_env())
    except OSError as error:
        raise _cannot_run(repo.top, error) from None


def run_result(repo: Repo, *args: str, input: bytes | None = None,
               env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git and hand back the whole result, success or not (for callers that decide)."""
    return _run(repo.top, args, input=input, env=env, check=False)


def run(repo: Repo, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    return _run(repo.top, args, input=input, env=env, check=check).stdout


def find(start: Path) -> Repo | None:
    """The repository containing ``start``, or None."""
    result = _run(start, ["rev-parse", "--show-toplevel", "--absolute-git-dir",
                          "--show-object-format", "--git-path", "hooks"], check=False)
    if result.returncode != 0:
        said = result.stderr.decode("utf-8", "replace")
        if "dubious ownership" in said:  # Git's own guard: a repository of another user
            where = next((line.split("repository at", 1)[1].strip().strip("'") for line in said.splitlines()
                          if "repository at" in line), str(start))
            raise GitError(f"Git refuses to work in {where}: it belongs to another user",
                           hint=f"if you trust it: git config --global --add safe.directory {where}")
        return None
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 2 or not lines[0]:
        return None  # a bare repository has no work tree to keep tickets in
    hooks = start.absolute() / lines[3] if len(lines) > 3 and lines[3] else None  # relative to where git ran
    return Repo(Path(lines[0]), Path(lines[1]), lines[2] if len(lines) > 2 else "sha1", hooks)


def find_any(start: Path) -> Repo | None:
    """Like ``find``, but a bare repository (a server's) is found too; its "top" is the git dir."""
    repo = find(start)
    if repo is not None:
        return repo
    result = _run(start, ["rev-parse", "--absolute-git-dir", "--show-object-format"], check=False)
    if result.returncode != 0:
        return None
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    return Repo(Path(lines[0]), Path(lines[0]), lines[1] if len(lines) > 1 else "sha1")


def init(path: Path) -> Repo:
    """A new repository at ``path``, on ``main`` unless the user's Git names another first
    branch (``init.defaultBranch``): the CI examples in docs/ci/ run on main."""
    chosen = _run(path, ["config", "--get", "init.defaultBranch"], check=False).stdout.strip()
    _run(path, ["init", "-q", *([] if chosen else ["--initial-branch=main"]), "--", str(path)])
    repo = find(path)
    if repo is None:  # pragma: no cover - git init just made it
        raise GitError(f"could not create a Git repository in {path}")
    return repo


def common_dir(repo: Repo) -> Path:
    """The repository's own .git, which a linked work tree shares (its config, hooks, info/,
    ``shallow``): read from the work tree's ``commondir`` file, no Git process."""
    try:
        pointer = (repo.git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return repo.git_dir
    return (repo.git_dir / pointer).resolve()


def shallow_boundary(repo: Repo) -> str:
    """The commits where a shallow clone's history is cut (Git's ``shallow`` file), or "" for a
    whole history: a cheap read that changes whenever the clone is deepened or unshallowed."""
    try:
        return (common_dir(repo) / "shallow").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def is_shallow(repo: Repo) -> bool:
    """Whether the clone lacks part of its history (``git clone --depth``, ``--shallow-since``)."""
    result = run_result(repo, "rev-parse", "--is-shallow-repository")
    return result.returncode == 0 and result.stdout.strip() == b"true"


@dataclass(frozen=True, slots=True)
class CommitSettings:
    """What Git's config says about the commits we make: who authors them, and whether
    they are signed (commit.gpgSign, which ``commit-tree`` does not read by itself)."""

    name: str | None
    email: str | None
    sign: bool

    def author(self) -> tuple[str, str]:
        """(name, email) to author commits with: GIT_AUTHOR_* first, as Git does; refused when unset."""
        name = os.environ.get("GIT_AUTHOR_NAME") or self.name
        email = os.environ.get("GIT_AUTHOR_EMAIL") or self.email
        if not name or not email:
            raise GitError(
                "Git does not know who you are",
                hint='run git config --global user.name "Your Name" and git config --global user.email you@example.com',
            )
        return name, email


def commit_settings(repo: Repo) -> CommitSettings:
    """The identity and signing settings, read by one ``git config`` (a process each was a
    sixth of a small desk's commit)."""
    out = _run(repo.top, ["config", "--get-regexp", r"^(user\.(name|email)|commit\.gpgsign)$"], check=False).stdout
    values: dict[str, str] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        values[key] = value if _ else "true"  # a key with no value is a true boolean in Git
    return CommitSettings(values.get("user.name"), values.get("user.email"), _boolean(values.get("commit.gpgsign")))


_GIT_INTEGER = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[kKmMgG]?")


def _boolean(value: str | None) -> bool:
    """A Git boolean as ``git config --type=bool`` reads it: true/yes/on, false/no/off or
    an integer as C reads one (``0x1f``, octal ``01``, a k/m/g unit). What Git refuses
    (``maybe``, Python's ``0b1``) counts as false, as it did when Git was asked."""
    if value is None:
        return False
    word = value.lower()  # not stripped: Git keeps a quoted " 1 " and refuses it
    if word in ("true", "yes", "on"):
        return True
    found = _GIT_INTEGER.fullmatch(word)
    if found is None:
        return False
    digits = found.group(1)
    base = 16 if digits[:2] in ("0x", "0X") else 8 if digits.startswith("0") else 10
    return int(digits[2:] if base == 16 else digits, base) != 0


def author_in_environment() -> tuple[str, str] | None:
    """(name, email) when GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL both name the author:
    Git's config need not be read for them then."""
    name, email = os.environ.get("GIT_AUTHOR_NAME"), os.environ.get("GIT_AUTHOR_EMAIL")
    return (name, email) if name and email else None


def identity(repo: Repo) -> tuple[str, str]:
    """(name, email) Git will author commits with; refuses when unset."""
    return author_in_environment() or commit_settings(repo).author()


def head(repo: Repo) -> tuple[str | None, str | None]:
    """(branch ref, commit) of HEAD; branch None when detached, commit None when unborn."""
    # One process in the usual case (a commit, on a branch or detached); the ``--`` keeps a
    # file named HEAD from making the argument ambiguous.
    both = _run(repo.top, ["rev-parse", "HEAD^{commit}", "--symbolic-full-name", "HEAD", "--"], check=False)
    # A branch name is bytes to Git: one that is not UTF-8 round-trips through surrogates.
    lines = both.stdout.decode("utf-8", "surrogateescape").split()
    if both.returncode == 0 and len(lines) == 3 and lines[2] == "--":
        return (None if lines[1] == "HEAD" else lines[1]), lines[0]
    ref = _run(repo.top, ["symbolic-ref", "-q", "HEAD"], check=False)
    branch = ref.stdout.decode("utf-8", "surrogateescape").strip() if ref.returncode == 0 else None
    commit = _run(repo.top, ["rev-parse", "-q", "--verify", "HEAD^{commit}"], check=False)
    sha = commit.stdout.decode().strip() if commit.returncode == 0 else None
    return branch, sha


def operation_in_progress(repo: Repo) -> str | None:
    """The Git operation someone left half done in this work tree, as its command
    ('rebase', 'merge', 'cherry-pick', 'revert', 'am', 'bisect'), or None."""
    here = repo.git_dir
    if (here / "rebase-merge").is_dir() or (here / "rebase-apply" / "rebasing").exists():
        return "rebase"
    if (here / "rebase-apply" / "applying").exists():
        return "am"
    for name, command in (("MERGE_HEAD", "merge"), ("CHERRY_PICK_HEAD", "cherry-pick"),
                          ("REVERT_HEAD", "revert"), ("BISECT_LOG", "bisect")):
        if (here / name).exists():
            return command
    return None


def finish_hint(operation: str) -> str:
    """How to finish or stop a Git operation in progress, in Git's own commands."""
    if operation == "bisect":
        return "end the bisect first with git bisect reset"
    if operation == "merge":
        return "finish the merge first with git commit (or git merge --continue), or stop it with git merge --abort"
    return f"finish the {operation} first with git {operation} --continue, or stop it with git {operation} --abort"


def detached_hint(repo: Repo) -> str:
    """What to do when HEAD is on no branch: finish what left it there, or go back to a real branch."""
    operation = operation_in_progress(repo)
    if operation is not None:
        return f"a{'n' if operation == 'am' else ''} {operation} is in progress: {finish_hint(operation)}"
    return f"check out a branch first: git switch {_branch_to_return_to(repo) or '<branch>'}"


def _branch_to_return_to(repo: Repo) -> str | None:
    """The branch someone most likely means: the one they left last, else the only one,
    else the default branch, named as it is in this clone (main, master, trunk…)."""
    previous = _run(repo.top, ["rev-parse", "-q", "--verify", "--symbolic-full-name", "@{-1}"], check=False)
    name = previous.stdout.decode("utf-8", "replace").strip()
    if previous.returncode == 0 and name.startswith("refs/heads/"):
        return name.removeprefix("refs/heads/")
    out = _run(repo.top, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"], check=False).stdout
    branches = out.decode("utf-8", "replace").split()
    if len(branches) == 1:
        return branches[0]
    default = _run(repo.top, ["config", "--get", "init.defaultBranch"], check=False).stdout.decode().strip()
    return next((name for name in (default, "main", "master", "trunk") if name and name in branches), None)


def blob_id(repo: Repo, data: bytes) -> str:
    """The object id Git gives ``data`` as a blob, computed without a process."""
    return object_id(repo, b"blob", data)


def object_id(repo: Repo, kind: bytes, data: bytes) -> str:
    """The object id Git gives ``data`` as an object of ``kind`` (blob, tree)."""
    digest = hashlib.sha256() if repo.object_format == "sha256" else hashlib.sha1()
    digest.update(b"%s %d\0" % (kind, len(data)))
    digest.update(data)
    return digest.hexdigest()


def changed_paths(repo: Repo, paths: Iterable[str]) -> list[str]:
    """Which of ``paths`` differ from HEAD in the index or the work tree."""
    out = run(repo, "--no-optional-locks", "status", "--porcelain=v1", "-z",
              "--untracked-files=all", "--ignored=no", "--", *paths)
    changed = []
    records = out.split(b"\0")
    source = False
    for record in records:
        if source:  # a rename's source, the record after it: gone from where HEAD has it, so changed
            source = False
            changed.append(record.decode("utf-8", "surrogateescape"))
            continue
        if len(record) < 4:
            continue
        status, path = record[:2], record[3:]
        changed.append(path.decode("utf-8", "surrogateescape"))
        source = status[0:1] == b"R"  # a copy's source is unchanged
    return changed


def write_blob(repo: Repo, data: bytes, path: str) -> str:
    """Store work-tree bytes as the blob Git would store for ``path``: its clean
    and end-of-line filters (core.autocrlf, .gitattributes) apply, as with git add."""
    return run(repo, "hash-object", "-w", "--stdin", f"--path={path}", input=data).decode().strip()


def create_commit(
    repo: Repo,
    parent: str | None,
    files: Mapping[str, bytes | None],
    message: str,
    author: tuple[str, str],
    date: str,
    *,
    sign: bool | None = None,
) -> str:
    """A commit of ``parent`` with ``files`` (repo-relative; None deletes) replaced.

    Its tree is made from the parent's by editing only the trees on the changed
    paths, so the user's index and work tree are not touched and nothing else of
    theirs is included. ``sign`` is commit.gpgSign as the caller read it (None: read
    it now). Returns the commit id; no ref points at it yet.
    """
    blobs = _write_blobs(repo, {path: data for path, data in files.items() if data is not None})
    changes = {path: (blobs[path] if data is not None else None) for path, data in files.items()}
    edited: dict[str, bytes] = {}
    with _TreeReader(repo) as reader:
        tree = _edited_tree(repo, reader, reader.tree(f"{parent}^{{tree}}") if parent is not None else b"",
                            changes, edited)
    _write_trees(repo, edited)
    name, email = author
    commit_env = {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date,
    }
    args = ["commit-tree", tree]
    if parent is not None:
        args += ["-p", parent]
    if commit_settings(repo).sign if sign is None else sign:
        args.append("-S")
    return _run(repo.top, [*args, "-F", "-"], input=message.encode(), env=commit_env).stdout.decode().strip()


_TREE_ENTRY = {size: re.compile(rb"([0-7]+) ([^\x00]*)\x00.{%d}" % size, re.S) for size in (20, 32)}
_DIRECTORY = b"40000"


def _edited_tree(repo: Repo, reader: _TreeReader, data: bytes, changes: Mapping[str, str | None],
                 edited: dict[str, bytes]) -> str:
    """The id of the raw tree ``data`` with ``changes`` made (path: blob id, or None to
    delete); the trees made are added to ``edited`` (id: raw tree) for one write. Only the
    trees on the changed paths are read and made: a commit to a folder of 100,000
    tickets edits one entry of its tree in place, where a temporary index read and
    wrote all of them (0.4 s a commit at 100,000 tickets)."""
    size = 32 if repo.object_format == "sha256" else 20
    keys, spans = _tree_entries(data, size)
    here: dict[bytes, tuple[bytes, bytes] | None] = {}
    below: dict[bytes, dict[str, str | None]] = {}
    for path, blob in changes.items():
        first, _, rest = path.partition("/")
        if not first or first in (".", "..") or "\0" in first:
            raise GitError(f"unsafe path for a commit: {path!r}")
        if rest:
            below.setdefault(first.encode("utf-8", "surrogateescape"), {})[rest] = blob
        else:
            here[first.encode("utf-8", "surrogateescape")] = None if blob is None else (b"100644", bytes.fromhex(blob))
    for name, inner in below.items():
        at = bisect.bisect_left(keys, name + b"/")
        old = data[spans[at][1] - size:spans[at][1]].hex() if at < len(keys) and keys[at] == name + b"/" else None
        tree = _edited_tree(repo, reader, reader.tree(old) if old is not None else b"", inner, edited)
        if tree == EMPTY_TREE[repo.object_format]:
            here.setdefault(name, None)  # the folder is gone; a file given the same name in this commit stays
        elif here.get(name) is not None:
            shown = name.decode("utf-8", "replace")
            raise GitError(f"unsafe paths for a commit: {shown!r} is both a file and a folder")
        else:
            here[name] = (_DIRECTORY, bytes.fromhex(tree))
    result = _splice_tree(data, keys, spans, here)
    tree_id = object_id(repo, b"tree", result)
    edited[tree_id] = result
    return tree_id


class _TreeReader:
    """Raw trees read by one ``git cat-file --batch``, started at the first read: a
    commit's trees (the root's, then the folders' on its paths) cost one process, not one each."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _TreeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            if exc[0] is not None:
                self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()

    def tree(self, treeish: str) -> bytes:
        if self.process is None:
            try:
                self.process = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.repo.top,
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=subprocess.DEVNULL, env=base_env())
            except OSError as error:
                raise _cannot_run(self.repo.top, error) from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(treeish.encode() + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline().split()
        if len(header) != 3 or header[1] != b"tree":
            raise GitError(f"git cat-file failed: cannot read the tree {treeish}",
                           hint="git fsck tells what is wrong")
        data = self.process.stdout.read(int(header[2]) + 1)  # and the newline after it
        return data[:-1]


def _write_trees(repo: Repo, trees: Mapping[str, bytes]) -> None:
    """Store the raw ``trees`` (id: data) with one ``hash-object``, and make sure Git
    gave each the id we computed for it (the id is already in the commit we build)."""
    if len(trees) == 1:
        stored = [run(repo, "hash-object", "-t", "tree", "-w", "--stdin", input=next(iter(trees.values())))]
    else:
        stored = _hash_objects(repo, list(trees.values()), "-t", "tree", "--no-filters")
    if [line.strip().decode() for line in stored] != list(trees):
        raise GitError("Git stored a tree under another id than gitdesk computed", hint="git fsck tells what is wrong")


def _tree_entries(data: bytes, size: int) -> tuple[list[bytes], list[tuple[int, int]]]:
    """A raw tree's entries: their sort keys (a folder's name ends in ``/``, as Git
    orders them) and where each lies in ``data``. Matched by one ``findall`` in C (a
    Python loop over 100,000 entries took twice as long); the matches cannot overlap,
    so when their lengths add up to the whole tree they are every entry, in order."""
    found = _TREE_ENTRY[size].findall(data)
    ends = list(itertools.accumulate(len(mode) + len(name) + 2 + size for mode, name in found))
    if (ends[-1] if ends else 0) != len(data):
        raise GitError("a tree in the repository cannot be read", hint="git fsck tells what is wrong")
    keys = [name + b"/" if mode == _DIRECTORY else name for mode, name in found]
    return keys, list(zip([0, *ends[:-1]] if ends else [], ends, strict=True))


def _splice_tree(data: bytes, keys: list[bytes], spans: list[tuple[int, int]],
                 edits: Mapping[bytes, tuple[bytes, bytes] | None]) -> bytes:
    """``data`` with the entries named in ``edits`` replaced (or removed, for None),
    each new entry put in its sorted place; the rest copied as it was."""
    dropped: set[int] = set()
    added: list[tuple[int, bytes, bytes]] = []
    for name, new in edits.items():
        for key in (name, name + b"/"):
            at = bisect.bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                dropped.add(at)
        if new is not None:
            mode, object_id = new
            key = name + b"/" if mode == _DIRECTORY else name
            added.append((bisect.bisect_left(keys, key), key, mode + b" " + name + b"\0" + object_id))
    added.sort()
    pieces, copied, next_added = [], 0, 0
    for at in sorted(dropped | {position for position, _, _ in added}):
        start = spans[at][0] if at < len(spans) else len(data)
        pieces.append(data[copied:start])
        while next_added < len(added) and added[next_added][0] == at:
            pieces.append(added[next_added][2])
            next_added += 1
        copied = spans[at][1] if at in dropped else start
    pieces.append(data[copied:])
    return b"".join(pieces)


@dataclass(frozen=True, slots=True)
class CommitStep:
    """One commit of a series: files replaced (None deletes), message, author, date ("<unix> +0000")."""

    files: Mapping[str, bytes | None]
    message: str
    author: tuple[str, str]
    date: str
    committed: str | None = None  # when it is committed, if not at ``date`` (a backdated history's)


def _ident(author: tuple[str, str], date: str) -> bytes:
    name, email = (" ".join(part.replace("<", "").replace(">", "").split()) for part in author)
    return f"{name or 'gitdesk'} <{email}> {date}".encode()


# A push that lost a race (another clone pushed first, or held the ref that instant), as
# opposed to one the remote refused ("[remote rejected] main (pre-receive hook declined)"). Read
# from the ref's status line only: a server hook may say "non-fast-forward" in its own words.
_RACED_REMOTELY = ("failed to update ref", "cannot lock ref")


def _ref_statuses(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("remote:")
            and ("[rejected]" in line or "[remote rejected]" in line or "[remote failure]" in line)]


# What a server says when its ref lock failed for a reason no retry mends (refs it may not
# write), rather than another push holding it that instant. "File exists" is both a live push's
# lock and a crashed server's stale one: it is retried, and the last answer says which it was.
_STUCK = ("permission denied", "read-only file system", "no space left")


def push_raced(output: str) -> bool:
    """Whether a failed push's output (``--porcelain`` or not) says it lost a race, so
    integrating and pushing again may work; else the remote refused it, and it would again."""
    for line in _ref_statuses(output):
        if "[rejected]" in line:  # fetch first, non-fast-forward, stale info: behind the remote
            return True
        if "[remote rejected]" in line and any(sign in line for sign in _RACED_REMOTELY):
            said = "\n".join(text for text in output.splitlines() if text.startswith("remote:")).lower()
            return not any(sign in said for sign in _STUCK)
    return False


def push_refused(output: str) -> bool:
    """Whether the remote answered the push and said no (a ref's status line), as opposed to a
    push that never reached it (a wrong address, no access)."""
    return bool(_ref_statuses(output))


def push_refusal(output: str) -> str:
    """Why the remote refused a push, from its output: the ref's verdict ("[remote rejected]
    (pre-receive hook declined)") and what the server said ("remote: GH006: Protected branch
    update failed"), else Git's own words ("does not appear to be a git repository"), in one line."""
    lines = output.splitlines()
    verdicts = [line.split("\t")[-1].strip() if line.startswith("!") else line.strip()
                for line in _ref_statuses(output)]
    said = [line[len("remote:"):].strip().rstrip(".") for line in lines if line.startswith("remote:")]
    said = [line for line in said if line and not set(line) <= set("-= ")]
    errors = [line.split(":", 1)[1].strip().rstrip(".") for line in lines
              if line.startswith(("fatal:", "error:")) and "failed to push some refs" not in line]
    found = [*verdicts, *said, *errors]  # Git's own error (a remote's unpack failure) as well
    found = found or [line.strip() for line in lines if line.strip() and not line.startswith("Done")][-1:]
    return "; ".join(dict.fromkeys(found[:4])) or "no reason given"


def fast_import(repo: Repo, parent: str | None, steps: Iterable[CommitStep]) -> str | None:
    """A chain of commits on top of ``parent``, written by one ``git fast-import``
    (imports make thousands; a process per commit would take minutes). Returns the
    last commit, or None when there were no steps; no ref points at it afterwards."""
    import secrets

    ref = f"refs/gitdesk/import-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        process = subprocess.Popen(["git", "fast-import", "--quiet", "--done", "--date-format=raw"],
                                   cwd=repo.top, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=base_env())
    except OSError as failed:
        raise _cannot_run(repo.top, failed) from None
    assert process.stdin is not None
    first, wrote = True, False
    try:
        for step in steps:
            message = step.message.encode()
            chunk = [b"commit " + ref.encode() + b"\n",
                     b"author " + _ident(step.author, step.date) + b"\n",
                     b"committer " + _ident(step.author, step.committed or step.date) + b"\n",
                     b"data %d\n" % len(message), message, b"\n"]
            if first and parent is not None:
                chunk.append(f"from {parent}\n".encode())
            first = False
            for path, data in step.files.items():
                if any(char in path for char in '\n"') or path.startswith(" "):
                    raise GitError(f"unsafe path for an import: {path!r}")
                if data is None:
                    chunk.append(f"D {path}\n".encode())
                else:
                    chunk += [f"M 100644 inline {path}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
            chunk.append(b"\n")
            process.stdin.write(b"".join(chunk))
            wrote = True
        process.stdin.write(b"done\n")
        process.stdin.close()
    except BrokenPipeError:
        pass
    finally:
        if not process.stdin.closed:  # stopped midway (an unsafe path): without "done", Git stops too
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        error = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        status = process.wait()
        if process.stderr is not None:
            process.stderr.close()
    try:
        if status != 0:
            raise GitError(f"git fast-import failed: {error.strip().splitlines()[-1] if error.strip() else status}")
        if not wrote:
            return None
        return run(repo, "rev-parse", "--verify", ref + "^{commit}").decode().strip()
    finally:
        run(repo, "update-ref", "-d", ref, check=False)


BULK = 16  # from this many files on, blobs are stored by one process, not one each


def _write_blobs(repo: Repo, files: Mapping[str, bytes]) -> dict[str, str]:
    """Store many blobs. A few go one by one with their own path's filters (autocrlf,
    clean); a bulk write (a rebuilt knowledge base) goes through one
    ``hash-object --stdin-paths``, where core.autocrlf applies but path-specific
    attributes cannot (the files are temporary copies)."""
    if len(files) < BULK:
        return {path: write_blob(repo, data, path) for path, data in files.items()}
    stored = _hash_objects(repo, list(files.values()))
    return dict(zip(files, (line.decode() for line in stored), strict=True))


def _hash_objects(repo: Repo, objects: Sequence[bytes], *options: str) -> list[bytes]:
    """Store many objects with one ``hash-object -w --stdin-paths`` (it reads files, so each
    goes through a temporary one under .git/gitdesk); their ids, in order."""
    import tempfile

    repo.state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=repo.state_dir, prefix="objects-") as directory:
        names = []
        for number, data in enumerate(objects):
            name = os.path.join(directory, str(number))
            with open(name, "wb") as handle:
                handle.write(data)
            names.append(name)
        # File names as bytes: the repository's own path may not be UTF-8.
        return run(repo, "hash-object", *options, "-w", "--stdin-paths",
                   input=b"".join(os.fsencode(name) + b"\n" for name in names)).split()


def move_head(repo: Repo, new: str, old: str | None, reason: str) -> None:
    """Point HEAD (its branch) at ``new`` if it still points at ``old`` (compare-and-swap)."""
    run(repo, "update-ref", "-m", reason, "HEAD", new, old or "")


def branches(repo: Repo, pattern: str, *, remotes: bool = False) -> list[str]:
    """Local branch names matching ``pattern`` (a for-each-ref glob such as ``drafts/GD-01M8-*``);
    ``remotes``: the remote-tracking ones too, without their remote's name."""
    out = run(repo, "for-each-ref", "--format=%(refname)", f"refs/heads/{pattern}",
              *((f"refs/remotes/*/{pattern}",) if remotes else ()))
    names = out.decode("utf-8", "surrogateescape").splitlines()
    return [name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else name.split("/", 3)[3]
            for name in names if name]


def create_branch(repo: Repo, name: str, commit: str, reason: str) -> None:
    """A new branch ``name`` at ``commit``; refused if it exists already (compare-and-swap
    with nothing), so two writers never share one. HEAD and the work tree are not touched."""
    run(repo, "update-ref", "-m", reason, f"refs/heads/{name}", commit, "")


def refresh_index(repo: Repo, paths: Iterable[str]) -> None:
    """Record the work-tree state of ``paths`` in the user's index (after our commit)."""
    listed = list(paths)
    if listed:  # on stdin: an import can list more paths than a command line holds
        before = _index_stat(repo)
        run(repo, "update-index", "--add", "--remove", "-z", "--stdin",
            input=b"".join(path.encode("utf-8", "surrogateescape") + b"\0" for path in listed))
        _own_index_writes[str(repo.git_dir)] = (before, _index_stat(repo), frozenset(listed))


# Git's index before and after this process's last update-index, and the paths it
# updated: the cache's freshness check can then tell its own change from anyone's.
_own_index_writes: dict[str, tuple[os.stat_result | None, os.stat_result | None, frozenset[str]]] = {}


def _index_stat(repo: Repo) -> os.stat_result | None:
    try:
        return os.stat(repo.git_dir / "index")
    except FileNotFoundError:
        return None


def own_index_write(repo: Repo) -> tuple[os.stat_result | None, os.stat_result | None, frozenset[str]] | None:
    """(index stat before, after, repo paths) of this process's last update of Git's index, if any."""
    return _own_index_writes.get(str(repo.git_dir))


def index_to_commit(repo: Repo, commit: str, paths: Sequence[str], *, stale_tree: str | None = None,
                    stale_blobs: Mapping[str, str] | None = None) -> list[str]:
    """Point the index entries of ``paths`` at their versions in ``commit`` where they
    hold a stale version: the one in ``stale_tree``, or the blob ``stale_blobs`` names
    (any other entry was staged since, is someone's work, and is left alone). Returns
    the paths changed. Work-tree bytes are not read: whatever a hook framework stashed
    meanwhile, the index gets exactly what was committed."""
    literal = {"GIT_LITERAL_PATHSPECS": "1"}  # a file name is a name, never a pattern
    changed: list[str] = []
    zero = "0" * (64 if repo.object_format == "sha256" else 40)
    for start in range(0, len(paths), 500):  # a command line holds only so many paths
        chunk = list(paths[start:start + 500])
        index = {path: (mode, sha) for (mode, sha, stage), path in
                 _listing(run(repo, "ls-files", "-s", "-z", "--", *chunk, env=literal)) if stage == "0"}

        def tree(treeish: str | None, chunk: list[str] = chunk) -> dict[str, tuple[str, str]]:
            if treeish is None:
                return {}
            out = run(repo, "ls-tree", "-r", "-z", "--full-tree", treeish, "--", *chunk, env=literal)
            return {path: (mode, sha) for (mode, _kind, sha), path in _listing(out)}

        wanted, before = tree(commit), tree(stale_tree)
        records = []
        for path in chunk:
            have, want = index.get(path), wanted.get(path)
            staged_blob = have[1] if have else None
            is_stale = have == before.get(path) if stale_tree else staged_blob == (stale_blobs or {}).get(path)
            if have == want or not is_stale:
                continue
            mode, sha = want or ("0", zero)
            records.append(f"{mode} {sha}\t{path}".encode("utf-8", "surrogateescape") + b"\0")
            changed.append(path)
        if records:
            run(repo, "update-index", "-z", "--index-info", input=b"".join(records))
    return changed


# --- reading what is committed or staged (for checks and hooks) -----------------

EMPTY_TREE = {"sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
              "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"}


@dataclass(frozen=True, slots=True)
class RawChange:
    """One line of ``git diff --raw``: a path whose blob changed between two trees."""

    old_mode: str
    new_mode: str
    old: str  # blob id, all zeros when added
    new: str  # blob id, all zeros when deleted
    status: str  # A, M, D, T
    path: str

    @property
    def old_blob(self) -> str | None:
        """The blob before the change; None when the path was added."""
        return None if set(self.old) == {"0"} else self.old

    @property
    def new_blob(self) -> str | None:
        """The blob after the change; None when the path was deleted."""
        return None if set(self.new) == {"0"} else self.new


def parse_raw(out: bytes) -> list[RawChange]:
    changes = []
    fields = out.split(b"\0")
    index = 0
    while index + 1 < len(fields):
        if not fields[index].startswith(b":"):
            index += 1
            continue
        changes.append(_raw_change(fields[index], fields[index + 1]))
        index += 2
    return changes


def _raw_change(head: bytes, path: bytes) -> RawChange:
    """One record of a ``--raw -z`` listing: ":old_mode new_mode old new status" and its path."""
    old_mode, new_mode, old, new, status = head[1:].decode().split(" ")
    return RawChange(old_mode, new_mode, old, new, status[:1], path.decode("utf-8", "surrogateescape"))


def staged_raw(repo: Repo, paths: Sequence[str], commit: str | None) -> bytes:
    """``git diff-index --cached --raw`` of ``paths`` against ``commit`` (None: nothing yet),
    as Git prints it (the commit-msg script hashes the same command's output)."""
    return run(repo, "--literal-pathspecs", "diff-index", "--cached", "--raw", "-z", "--no-renames",
               commit or EMPTY_TREE[repo.object_format], "--", *paths)


def raw_under(raw: bytes, folder: str) -> bytes:
    """The records of a ``--raw -z`` listing (no renames) whose path is under ``folder``: the
    bytes Git prints when asked for that folder alone."""
    fields = raw.split(b"\0")
    prefix = folder.encode("utf-8", "surrogateescape")
    kept = [field for index in range(0, len(fields) - 1, 2) if fields[index + 1].startswith(prefix)
            for field in fields[index:index + 2]]
    return b"\0".join(kept) + b"\0" if kept else b""


def tree_changes(repo: Repo, old: str | None, new: str, paths: Sequence[str]) -> list[RawChange]:
    """What commit ``new`` changes relative to ``old`` (a parent, or nothing for a root commit)."""
    base = old or EMPTY_TREE[repo.object_format]
    return parse_raw(run(repo, "diff-tree", "-r", "--raw", "-z", "--no-renames", base, new, "--", *paths))


def changes_of(repo: Repo, commits: Sequence[tuple[str, str | None]],
               paths: Sequence[str]) -> dict[str, list[RawChange]]:
    """What each commit changes relative to the parent given with it (None: a root commit,
    against nothing), as ``tree_changes`` for each, through one ``git diff-tree --stdin``.
    Each commit once."""
    if not commits:
        return {}
    lines = "".join(f"{commit} {parent}\n" if parent else f"{commit}\n" for commit, parent in commits)
    out = run(repo, "diff-tree", "--stdin", "-r", "--raw", "-z", "--no-renames", "--root", "--", *paths,
              input=lines.encode())
    found: dict[str, list[RawChange]] = {commit: [] for commit, _ in commits}
    fields = out.split(b"\0")
    current: list[RawChange] = []
    index = 0
    while index < len(fields):
        head = fields[index]
        if head.startswith(b":") and index + 1 < len(fields):
            current.append(_raw_change(head, fields[index + 1]))
            index += 2
            continue
        if head.strip():  # the next commit's ID (printed only when it changed something there)
            current = found.setdefault(head.decode().strip(), [])
        index += 1
    return found


def blob_at(repo: Repo, revisions: Sequence[str], path: str) -> dict[str, str]:
    """The blob ID at ``path`` in each of ``revisions`` that holds a file there, through one
    ``git cat-file --batch-check``."""
    if not revisions:
        return {}
    asked = "".join(f"{revision}:{path}\n" for revision in revisions)
    out = run(repo, "cat-file", "--batch-check", input=asked.encode())
    found: dict[str, str] = {}
    for revision, line in zip(revisions, out.decode("utf-8", "replace").splitlines(), strict=False):
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob":
            found[revision] = parts[0]
    return found


def tracked_starting(repo: Repo, prefix: str) -> list[str]:
    """Tracked paths that start with ``prefix`` (a repository path; its own wildcards are
    escaped), from Git's index: a few milliseconds, where listing a folder of 100,000 files
    takes a tenth of a second. Files not yet added are not among them."""
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"  # * stops at a /, as in a shell
    out = run(repo, "ls-files", "-z", "--", f":(glob){pattern}", env={"GIT_LITERAL_PATHSPECS": "0"})
    return [path for path in out.decode("utf-8", "surrogateescape").split("\0") if path]


def index_entries(repo: Repo, paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of index entries under ``paths``."""
    return [(mode, sha, path) for mode, sha, _stage, path in index_stages(repo, paths)]


def index_stages(repo: Repo, paths: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(mode, blob id, stage, path) of index entries under ``paths``: stage "0" for a merged
    path, "1" to "3" for each side of a path with a merge conflict."""
    return [(mode, sha, stage, path) for (mode, sha, stage), path in
            _listing(run(repo, "ls-files", "-s", "-z", "--", *paths))]


def regular_files_at(repo: Repo, commit: str, paths: Sequence[str]) -> dict[str, bytes]:
    """Repository path -> content of each regular file among ``paths`` in ``commit`` (links,
    submodules and paths it lacks left out): one ls-tree, one cat-file."""
    entries = [(sha, path) for mode, sha, path in tree_entries(repo, commit, paths) if mode in ("100644", "100755")]
    blobs = read_blobs(repo, [sha for sha, _ in entries])
    return {path: blobs[sha] for sha, path in entries if sha in blobs}


def tree_entries(repo: Repo, treeish: str, paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """(mode, object id, path) of blobs under ``paths`` in a commit or tree."""
    entries = _listing(run(repo, "ls-tree", "-r", "-z", "--full-tree", treeish, "--", *paths))
    return [(mode, sha, path) for (mode, _kind, sha), path in entries]


def _listing(out: bytes) -> list[tuple[tuple[str, str, str], str]]:
    """NUL-separated "a b c<TAB>path" records (ls-files -s, ls-tree) as ((a, b, c), path)."""
    entries = []
    for record in out.split(b"\0"):
        if record:
            meta, path = record.split(b"\t", 1)
            first, second, third = meta.decode().split(" ")
            entries.append(((first, second, third), path.decode("utf-8", "surrogateescape")))
    return entries


def tree_paths(repo: Repo, treeish: str) -> list[str]:
    out = run(repo, "ls-tree", "-r", "-z", "--name-only", "--full-tree", treeish)
    return [path.decode("utf-8", "surrogateescape") for path in out.split(b"\0") if path]


def commits_in(repo: Repo, revision_range: str) -> list[tuple[str, list[str]]]:
    """Commits of ``A..B`` (oldest first) with their parents."""
    if revision_range.startswith("-"):
        raise GitError(f"not a revision range: {revision_range!r}", hint="write it as A..B")
    try:
        out = run(repo, "rev-list", "--reverse", "--parents", revision_range, "--")
    except GitError as error:
        branches = run(repo, "for-each-ref", "--count=6", "--format=%(refname:short)", "refs/heads", "refs/remotes",
                       check=False).decode().split()
        example = next((f"{name}..HEAD" for name in branches if name != "HEAD" and "/" in name), "HEAD~1..HEAD")
        raise GitError(error.message, hint=f"name commits or branches this clone has, like {example} (it has: "
                                           f"{', '.join(branches) or 'no branch yet'}; in CI, fetch the base "
                                           "branch and its history first)") from None
    return [(line.split()[0], line.split()[1:]) for line in out.decode().splitlines() if line]


def commits_after(repo: Repo, old: str | None, new: str) -> list[str]:
    """The commits from ``old`` (excluded) to ``new``, oldest first, along first parents."""
    out = run(repo, "rev-list", "--reverse", "--first-parent", new if old is None else f"{old}..{new}", "--")
    return out.decode().split()


def first_added(repo: Repo, path: str) -> datetime | None:
    """When ``path`` was first committed (the committer's time), or None when it never was
    or the history is shallow (its first commit in view would not be its first)."""
    if is_shallow(repo):
        return None
    out = run(repo, "log", "--diff-filter=A", "--format=%ct", "--", path).decode().split()
    return datetime.fromtimestamp(int(out[-1]), timezone.utc) if out else None


def new_commits(repo: Repo, tip: str) -> list[tuple[str, list[str]]]:
    """Commits reachable from ``tip`` and from no existing ref (a pushed new branch)."""
    out = run(repo, "rev-list", "--reverse", "--parents", tip, "--not", "--all", "--")
    return [(line.split()[0], line.split()[1:]) for line in out.decode().splitlines() if line]


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is in the history of ``descendant`` (False for unknown commits)."""
    if ancestor.startswith("-") or descendant.startswith("-"):
        return False
    return _run(repo.top, ["merge-base", "--is-ancestor", ancestor, descendant], check=False).returncode == 0


def unmerged(repo: Repo) -> dict[str, set[int]]:
    """Paths with an unresolved conflict in the index, and the stages they have
    (1 the common version, 2 ours, 3 theirs: a missing 2 or 3 means that side deleted it)."""
    stages: dict[str, set[int]] = {}
    for (_mode, _sha, stage), path in _listing(run(repo, "ls-files", "-u", "-z")):
        stages.setdefault(path, set()).add(int(stage))
    return stages


def fork_point(repo: Repo, tip: str) -> str | None:
    """Where the new commits of ``tip`` (a pushed new branch) leave existing history: the one
    existing commit they build on, or None when there are several or none."""
    out = run(repo, "rev-list", "--boundary", tip, "--not", "--all", "--")
    boundary = {line[1:] for line in out.decode().split() if line.startswith("-")}
    return boundary.pop() if len(boundary) == 1 else None


def read_blobs(repo: Repo, shas: Iterable[str]) -> dict[str, bytes]:
    """Many blobs through one ``git cat-file --batch`` process."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    out = run(repo, "cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
    blobs: dict[str, bytes] = {}
    position = 0
    for sha in wanted:
        newline = out.index(b"\n", position)
        header = out[position:newline].decode().split(" ")
        position = newline + 1
        if len(header) < 3 or header[1] == "missing":
            continue
        size = int(header[2])
        blobs[sha] = out[position:position + size]
        position += size + 1
    return blobs


def hooks_dir(repo: Repo) -> Path:
    """Where Git looks for hooks: ``core.hooksPath`` if set, else ``.git/hooks``."""
    out = run(repo, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else (repo.top / path)
