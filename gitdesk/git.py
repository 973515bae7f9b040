"""Every call gitdesk makes to Git, as small named functions.

Writes go through the real ``git`` binary (plumbing: a temporary index,
``commit-tree`` and a compare-and-swap ``update-ref``) so an action commits
exactly its own paths and never sweeps up the user's staged work, and so
``GIT_INDEX_FILE`` and friends behave inside hooks. Hot-path reads use the
binary too: importing GitPython costs ~60 ms, more than most commands take.

Values that come from users are always passed after ``--`` or on stdin, so
nothing can be read as a Git option.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


def honour_repository_environment() -> None:
    """Inside a Git hook, GIT_DIR/GIT_INDEX_FILE describe our repository: keep them."""
    global _honour_repo_vars
    _honour_repo_vars = True


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


@dataclass(frozen=True, slots=True)
class Repo:
    top: Path  # the work tree's top level
    git_dir: Path  # this work tree's git directory (absolute)
    object_format: str = "sha1"

    @property
    def state_dir(self) -> Path:
        """Where gitdesk keeps its lock, journal and caches: ``.git/gitdesk/``."""
        return self.git_dir / "gitdesk"


def _run(cwd: Path, args: Sequence[str], *, input: bytes | None = None,
         env: Mapping[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True,
            env=base_env(env), check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint="install Git 2.30 or newer") from None
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {result.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ').removeprefix('error: ')}")
    return result


def run(repo: Repo, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    return _run(repo.top, args, input=input, env=env, check=check).stdout


def find(start: Path) -> Repo | None:
    """The repository containing ``start``, or None."""
    result = _run(start, ["rev-parse", "--show-toplevel", "--absolute-git-dir",
                          "--show-object-format"], check=False)
    if result.returncode != 0:
        return None
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 2 or not lines[0]:
        return None  # a bare repository has no work tree to keep tickets in
    return Repo(Path(lines[0]), Path(lines[1]), lines[2] if len(lines) > 2 else "sha1")


def init(path: Path) -> Repo:
    _run(path, ["init", "-q", "--", str(path)])
    repo = find(path)
    if repo is None:  # pragma: no cover - git init just made it
        raise GitError(f"could not create a Git repository in {path}")
    return repo


def identity(repo: Repo) -> tuple[str, str]:
    """(name, email) Git will author commits with; refuses when unset."""
    name = os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_AUTHOR_EMAIL")
    if not (name and email):
        out = _run(repo.top, ["config", "--get-regexp", r"^user\.(name|email)$"], check=False).stdout
        values = dict(
            line.split(" ", 1) for line in out.decode("utf-8", "replace").splitlines() if " " in line
        )
        name = name or values.get("user.name")
        email = email or values.get("user.email")
    if not name or not email:
        raise GitError(
            "Git does not know who you are",
            hint='run git config --global user.name "Your Name" and git config --global user.email you@example.com',
        )
    return name, email


def head(repo: Repo) -> tuple[str | None, str | None]:
    """(branch ref, commit) of HEAD; branch None when detached, commit None when unborn."""
    ref = _run(repo.top, ["symbolic-ref", "-q", "HEAD"], check=False)
    branch = ref.stdout.decode().strip() if ref.returncode == 0 else None
    commit = _run(repo.top, ["rev-parse", "-q", "--verify", "HEAD^{commit}"], check=False)
    sha = commit.stdout.decode().strip() if commit.returncode == 0 else None
    return branch, sha


def blob_id(repo: Repo, data: bytes) -> str:
    """The object id Git gives ``data`` as a blob, computed without a process."""
    digest = hashlib.sha256() if repo.object_format == "sha256" else hashlib.sha1()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def changed_paths(repo: Repo, paths: Iterable[str]) -> list[str]:
    """Which of ``paths`` differ from HEAD in the index or the work tree."""
    out = run(repo, "--no-optional-locks", "status", "--porcelain=v1", "-z",
              "--untracked-files=all", "--ignored=no", "--", *paths)
    changed = []
    records = out.split(b"\0")
    skip = False
    for record in records:
        if skip:
            skip = False
            continue
        if len(record) < 4:
            continue
        status, path = record[:2], record[3:]
        changed.append(path.decode("utf-8", "surrogateescape"))
        skip = status[0:1] in (b"R", b"C")  # a rename carries its source as the next record
    return changed


def write_blob(repo: Repo, data: bytes) -> str:
    return run(repo, "hash-object", "-w", "--stdin", input=data).decode().strip()


def create_commit(
    repo: Repo,
    parent: str | None,
    files: Mapping[str, bytes | None],
    message: str,
    author: tuple[str, str],
    date: str,
) -> str:
    """A commit of ``parent`` with ``files`` (repo-relative; None deletes) replaced.

    Built in a temporary index, so the user's index and work tree are not
    touched and nothing else of theirs is included. Returns the commit id;
    no ref points at it yet.
    """
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    index_file = repo.state_dir / f"index.{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index_file)}
    try:
        if parent is not None:
            _run(repo.top, ["read-tree", parent], env=env)
        lines = []
        for path, data in files.items():
            if data is None:
                lines.append(f"0 {'0' * (64 if repo.object_format == 'sha256' else 40)}\t{path}")
            else:
                lines.append(f"100644 {write_blob(repo, data)}\t{path}")
        _run(repo.top, ["update-index", "--index-info"], input="\n".join(lines).encode() + b"\n", env=env)
        tree = _run(repo.top, ["write-tree"], env=env).stdout.decode().strip()
    finally:
        index_file.unlink(missing_ok=True)
    name, email = author
    commit_env = {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date,
    }
    args = ["commit-tree", tree]
    if parent is not None:
        args += ["-p", parent]
    if _signing_wanted(repo):
        args.append("-S")
    return _run(repo.top, [*args, "-F", "-"], input=message.encode(), env=commit_env).stdout.decode().strip()


def _signing_wanted(repo: Repo) -> bool:
    out = _run(repo.top, ["config", "--type=bool", "--get", "commit.gpgSign"], check=False).stdout
    return out.strip() == b"true"


def move_head(repo: Repo, new: str, old: str | None, reason: str) -> None:
    """Point HEAD (its branch) at ``new`` if it still points at ``old`` (compare-and-swap)."""
    run(repo, "update-ref", "-m", reason, "HEAD", new, old or "")


def refresh_index(repo: Repo, paths: Iterable[str]) -> None:
    """Record the work-tree state of ``paths`` in the user's index (after our commit)."""
    listed = list(paths)
    if listed:
        run(repo, "update-index", "--add", "--remove", "--", *listed)
