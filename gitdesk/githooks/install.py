"""The Git hook scripts and their installation, the pre-commit way.

Each script is a few lines of POSIX sh that ``exec`` the Python gitdesk was
installed with (recorded at install time) as ``python -c RUN hook NAME``,
fall back to ``gitdesk`` on PATH, and otherwise say in one line what to do.
A hook that was already there is kept as ``NAME.legacy`` and run first;
``uninstall`` puts it back. A marker line tells our scripts from others.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gitdesk import git
from gitdesk.errors import GitdeskError

MARKER = "# gitdesk-hook:"
CLIENT_HOOKS = ("pre-commit", "commit-msg", "post-merge", "post-checkout", "post-rewrite")
SERVER_HOOKS = ("pre-receive",)
STDIN_HOOKS = frozenset({"post-rewrite", "pre-receive"})
# How an interpreter runs gitdesk from inside a work tree. Not ``python -m gitdesk``: that puts
# the current directory (Git runs hooks and merge drivers at the top of the work tree) first on
# sys.path, so a gitdesk/ folder, click.py or yaml.py committed to the repository would be
# imported instead of the installed code, on every clone that checks it out or merges it.
# (``-I`` would also drop PYTHONPATH and user site-packages; ``-P`` needs Python 3.11.)
RUN = ("-c 'import sys; sys.path[:] = [p for p in sys.path if p not in (\"\", \".\")]; "
       "from gitdesk.cli import main; main()'")
# When gitdesk is missing: hooks that guard something refuse; the others only say so.
BLOCKING = frozenset({"pre-commit", "commit-msg", "pre-receive"})

_MISSING = {
    "pre-commit": "gitdesk is not installed, so this commit's tickets cannot be checked: "
                  "install it (pip install gitdesk) or commit with --no-verify to skip the check",
    "commit-msg": "gitdesk is not installed, so the Gitdesk-* trailers cannot be added: "
                  "install it (pip install gitdesk) or commit with --no-verify",
    "pre-receive": "gitdesk is not installed on this server, so pushed tickets cannot be checked: "
                   "install it for the user running Git, then push again",
}


# commit-msg adds the trailers pre-commit left for it (handlers.HANDOFF, written by
# handlers._hand_over_trailers) when they are of the change being committed: the same key,
# `git hash-object` of the same diff-index, here in shell, so no second Python process runs
# per commit. Otherwise it runs `gitdesk hook commit-msg`.
_COMMIT_MSG_FROM_PRE_COMMIT = [
    'state=$(git rev-parse --git-dir)/gitdesk',
    'if [ -f "$state/trailers" ] && [ ! -f "$(git rev-parse --git-dir)/MERGE_HEAD" ]; then',
    '    { read -r expected; read -r spec; } < "$state/trailers"',
    '    base=$(git rev-parse -q --verify HEAD) || base=$(git hash-object -t tree /dev/null)',
    '    key=$(git --literal-pathspecs diff-index --cached --raw -z --no-renames "$base" -- "$spec" |',
    '          git hash-object --stdin)',
    '    if [ -n "$key" ] && [ "$key" = "$expected" ]; then',
    '        message=$1',
    '        if grep -v "^#" "$message" | grep -q "[^[:space:]]"; then',
    '            set --',
    '            { read -r _; read -r _; while IFS= read -r line; do set -- "$@" --trailer "$line"; done; } \\',
    '                < "$state/trailers"',
    '            if [ $# -gt 0 ]; then',
    '                git interpret-trailers --in-place --if-exists addIfDifferent "$@" -- "$message" || exit $?',
    '            fi',
    '        fi',
    '        exit 0',
    '    fi',
    'fi',
]


_QUOTE = "'\"'\"'"  # a ' inside a shell's '…': close it, a quoted ', open again


def _quoted(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", _QUOTE) + "'"


def _unquoted(inside: str) -> str:
    """What ``_quoted`` wrote between its outer quotes, as it was."""
    return inside.replace(_QUOTE, "'")


_HOOK_PYTHON = re.compile(r"^GITDESK_PYTHON='(.*)'$", re.MULTILINE)


def _hook_python(text: str) -> str | None:
    """The interpreter a hook ``script`` wrote names ('' for none), or None if it names none."""
    found = _HOOK_PYTHON.search(text)
    return _unquoted(found.group(1)) if found else None


def script(name: str, python: str = "") -> str:
    """The text of hook ``name``; ``python`` is the interpreter to prefer ('' for none)."""
    if name not in CLIENT_HOOKS + SERVER_HOOKS:
        raise GitdeskError(f"unknown hook {name!r}")
    reads_stdin = name in STDIN_HOOKS
    lines = [
        "#!/bin/sh",
        f"{MARKER} {name}, installed by 'gitdesk hooks install'; 'gitdesk hooks uninstall' restores what was here.",
        f"GITDESK_PYTHON={_quoted(python)}",
        'here=$(dirname "$0")',
    ]
    if reads_stdin:
        lines += ['input=$(cat)', 'feed() { printf "%s\\n" "$input"; }']
    run_legacy = f'"$here/{name}.legacy" "$@"'
    if reads_stdin:
        run_legacy = f"feed | {run_legacy}"
    lines += [
        f'if [ -x "$here/{name}.legacy" ]; then',
        f"    {run_legacy} || exit $?",
        "fi",
    ]
    if name == "commit-msg":
        lines += _COMMIT_MSG_FROM_PRE_COMMIT
    feed = "feed | " if reads_stdin else ""
    if reads_stdin:
        # `exec` cannot take a pipe; the hook's status is the last command's.
        lines += [
            'if [ -n "$GITDESK_PYTHON" ] && [ -x "$GITDESK_PYTHON" ]; then',
            f'    {feed}"$GITDESK_PYTHON" {RUN} hook {name} "$@"; exit $?',
            "fi",
            "if command -v gitdesk >/dev/null 2>&1; then",
            f'    {feed}gitdesk hook {name} "$@"; exit $?',
            "fi",
        ]
    else:
        lines += [
            'if [ -n "$GITDESK_PYTHON" ] && [ -x "$GITDESK_PYTHON" ]; then',
            f'    exec "$GITDESK_PYTHON" {RUN} hook {name} "$@"',
            "fi",
            "if command -v gitdesk >/dev/null 2>&1; then",
            f'    exec gitdesk hook {name} "$@"',
            "fi",
        ]
    if name in BLOCKING:
        lines += [f'echo "gitdesk: {_MISSING[name]}" >&2', "exit 1"]
    else:
        lines += [f'echo "gitdesk: not installed, so the {name} hook did nothing '
                  '(install gitdesk or run gitdesk hooks uninstall)" >&2', "exit 0"]
    return "\n".join(lines) + "\n"


def is_ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return MARKER in handle.read(400)
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class HookState:
    name: str
    state: str  # installed | missing | foreign | outdated
    chains_to_legacy: bool
    path: Path

    def describe(self) -> str:
        extra = f" (runs {self.name}.legacy first)" if self.chains_to_legacy else ""
        if self.state == "outdated":  # a server's hook is never rewritten by a command run there
            extra += " (run gitdesk hooks install" + (" --server" if self.name in SERVER_HOOKS else "") + " again)"
        return f"{self.name}: {self.state}{extra}"


def _names(server: bool) -> tuple[str, ...]:
    return SERVER_HOOKS if server else CLIENT_HOOKS


def _write_executable(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.gitdesk-tmp")
    temp.write_text(text, encoding="utf-8")
    mode = temp.stat().st_mode
    temp.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(temp, path)


def _unwritable(where: Path, error: OSError) -> GitdeskError:
    return GitdeskError(f"cannot change {where}: {error.strerror or error}",
                        hint="make it writable (or free some disk space), then run gitdesk hooks install again")


def _runs(python: str) -> bool:
    """Whether the interpreter a hook or driver names is there to run ('' names none: fine)."""
    return not python or os.access(python, os.X_OK)


def _interpreter(command: str) -> str:
    """The interpreter a configured driver command starts with (as driver_command quotes it)."""
    if not command.startswith("'"):
        return ""
    end = command.find("' ", 1)
    while end != -1 and command[end - len(_QUOTE) + 1:end + 1] == _QUOTE:  # a quote inside the path
        end = command.find("' ", end + 1)
    return _unquoted(command[1:end]) if end != -1 else ""


def status(repo: git.Repo, *, server: bool = False) -> list[HookState]:
    directory = git.hooks_dir(repo)
    python = sys.executable
    states = []
    for name in _names(server):
        path = directory / name
        legacy = (directory / f"{name}.legacy").exists()
        if not path.exists():
            state = "missing"
        elif not is_ours(path):
            state = "foreign"
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
            # Installed by another path to a Python (python3 beside python, a pipx and a venv
            # gitdesk): the same hook, if that Python is still there.
            named = _hook_python(text)
            written = python if named is None else named
            current = text in (script(name, python), script(name, written)) and _runs(written)
            state = "installed" if current else "outdated"
        states.append(HookState(name, state, legacy and state != "missing", path))
    return states


def install(repo: git.Repo, *, server: bool = False) -> list[str]:
    """Install (or refresh) our hooks; keep foreign ones as NAME.legacy. Idempotent."""
    directory = git.hooks_dir(repo)
    try:
        return _install(directory, server)
    except OSError as error:
        raise _unwritable(directory, error) from None


def _install(directory: Path, server: bool) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    done = []
    for name in _names(server):
        path = directory / name
        legacy = directory / f"{name}.legacy"
        if path.exists() and not is_ours(path):
            if legacy.exists():
                raise GitdeskError(f"both {name} and {name}.legacy exist in {directory} and neither is gitdesk's",
                                   hint=f"merge them into {name}.legacy by hand, then run gitdesk hooks install again")
            os.replace(path, legacy)
            done.append(f"{name}: installed; your previous hook now runs first as {name}.legacy")
        elif path.exists():
            done.append(f"{name}: refreshed")
        else:
            done.append(f"{name}: installed")
        _write_executable(path, script(name, sys.executable))
    return done


_UNSAFE = " -m gitdesk "  # how hooks and drivers ran gitdesk before RUN: see there


def unsafe_left(repo: git.Repo) -> bool:
    """Whether hooks or merge drivers an older gitdesk wrote with ``-m gitdesk`` are left: read
    from the files alone (every command asks, before a pull can bring code they would run),
    in the hooks folder ``git.find`` was told of (core.hooksPath from any config)."""
    if repo.top == repo.git_dir:
        return False  # a bare repository: no work tree to import from
    pointer = repo.git_dir / "commondir"  # a linked work tree's hooks and config are the main one's
    try:
        common = (repo.git_dir / pointer.read_text(encoding="utf-8").strip()).resolve() if pointer.is_file() \
            else repo.git_dir
        config = (common / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _UNSAFE in config or _unsafe_hooks(repo.hooks or git.hooks_dir(repo)) != {}


def _unsafe_hooks(directory: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in CLIENT_HOOKS:
        try:
            with open(directory / name, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if MARKER in text[:400] and _UNSAFE in text:
            found[name] = text
    return found


def replace_unsafe(repo: git.Repo) -> list[str]:
    """Hooks and merge drivers an older gitdesk wrote with ``-m gitdesk``, rewritten: they
    would run a gitdesk/ folder committed to the repository. The drivers (in .git/config)
    first, then the hooks, each on its own: what cannot be written is said, never raised (a
    hooks folder this user cannot write, an admin's core.hooksPath, must not stop their work)."""
    if repo.top == repo.git_dir:
        return []
    done: list[str] = []
    try:
        driver = git.run(repo, "config", "--get", f"merge.{DRIVER}.driver", check=False).decode()
        kb_driver = git.run(repo, "config", "--get", f"merge.{KB_DRIVER}.driver", check=False).decode()
        if _UNSAFE in driver or _UNSAFE in kb_driver:
            install_driver(repo)
            done.append("merge drivers rewritten: the old ones could run code committed to the repository")
    except (OSError, GitdeskError) as error:
        done.append(f"warning: merge drivers written by an older gitdesk could run code committed to the "
                    f"repository, and were not rewritten: {error} (run gitdesk hooks install)")
    directory = git.hooks_dir(repo)
    unsafe = _unsafe_hooks(directory)
    try:
        for name, text in unsafe.items():  # with the interpreter it names: the same hook, made safe
            recorded = _hook_python(text)
            python = sys.executable if recorded is None else recorded
            _write_executable(directory / name, script(name, python))
    except OSError as error:
        done.append(f"warning: hooks written by an older gitdesk could run code committed to the repository, "
                    f"and were not rewritten: {error.strerror or error} in {directory} (whoever can write "
                    "that folder: gitdesk hooks install)")
    else:
        if unsafe:
            done.append(f"hooks rewritten ({', '.join(unsafe)}): the old ones could run code committed "
                        "to the repository")
    return done


def uninstall(repo: git.Repo, *, server: bool = False) -> list[str]:
    """Remove our hooks and put back what was there before."""
    directory = git.hooks_dir(repo)
    try:
        return _uninstall(directory, server)
    except OSError as error:
        raise _unwritable(directory, error) from None


def _uninstall(directory: Path, server: bool) -> list[str]:
    done = []
    for name in _names(server):
        path = directory / name
        legacy = directory / f"{name}.legacy"
        if path.exists() and is_ours(path):
            path.unlink()
            if legacy.exists():
                os.replace(legacy, path)
                done.append(f"{name}: removed; your previous hook is back")
            else:
                done.append(f"{name}: removed")
        elif path.exists():
            done.append(f"{name}: not gitdesk's; left alone")
    return done


# --- the merge driver ---------------------------------------------------------------

DRIVER = "gitdesk"
KB_DRIVER = "gitdesk-kb"
ATTRIBUTE_LINE = "**/tickets/*.md merge=gitdesk"
KB_ATTRIBUTE_LINE = "**/kb/** merge=gitdesk-kb"
# Two clones that run the rules at one moment queue the same digest, from different data.
DIGEST_ATTRIBUTE_LINE = "**/outbox/*-digest-*.eml merge=gitdesk-kb"
ATTRIBUTE_LINES = (ATTRIBUTE_LINE, KB_ATTRIBUTE_LINE, DIGEST_ATTRIBUTE_LINE)


def driver_command(python: str | None = None) -> str:
    """The ``merge.gitdesk.driver`` value: Git fills in the temporary files."""
    # "--": a path is a path, even one a hostile .gitattributes names "--generated".
    return f"{_quoted(python or sys.executable)} {RUN} merge-file --marker-size %L -- %O %A %B %P"


def kb_driver_command(python: str | None = None) -> str:
    """The knowledge base's files are generated: a merge keeps ours and marks kb/ for a rebuild
    (only for files gitdesk wrote, judged by path and content; others merge line by line)."""
    return f"{_quoted(python or sys.executable)} {RUN} merge-file --generated --marker-size %L -- %O %A %B %P"


def driver_config(python: str | None = None) -> list[str]:
    """``-c`` arguments that enable the drivers for one Git command (used by sync)."""
    return ["-c", f"merge.{DRIVER}.name=gitdesk ticket merge", "-c", f"merge.{DRIVER}.driver={driver_command(python)}",
            "-c", f"merge.{KB_DRIVER}.name=gitdesk generated files",
            "-c", f"merge.{KB_DRIVER}.driver={kb_driver_command(python)}",
            "-c", f"merge.directoryRenames={DIRECTORY_RENAMES}"]


# When mail send empties outbox/ into sent/<month>/, Git reads the folder as renamed and moves (or
# stops on) any file another clone added to outbox/ meanwhile: a reply queued there, a marker.
# A desk's folders are never renamed, so Git is told not to guess (sync, and git pull by hand).
DIRECTORY_RENAMES = "false"


def _attributes_file(repo: git.Repo) -> Path:
    return repo.git_dir / "info" / "attributes"


def install_driver(repo: git.Repo) -> str:
    git.run(repo, "config", "--local", f"merge.{DRIVER}.name", "gitdesk ticket merge")
    git.run(repo, "config", "--local", f"merge.{DRIVER}.driver", driver_command())
    git.run(repo, "config", "--local", f"merge.{KB_DRIVER}.name", "gitdesk generated files")
    git.run(repo, "config", "--local", f"merge.{KB_DRIVER}.driver", kb_driver_command())
    git.run(repo, "config", "--local", "merge.directoryRenames", DIRECTORY_RENAMES)
    ensure_attributes(repo)
    return "merge drivers: installed (tickets/*.md merge=gitdesk, kb/** and digests merge=gitdesk-kb)"


def _attribute_lines(attributes: Path) -> list[str]:
    # A person's own lines may be in any encoding: keep their bytes as they are.
    return attributes.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if attributes.exists() else []


def _write_attribute_lines(attributes: Path, lines: list[str]) -> None:
    try:
        attributes.parent.mkdir(parents=True, exist_ok=True)
        attributes.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8", errors="surrogateescape")
    except OSError as error:
        raise _unwritable(attributes, error) from None


def ensure_attributes(repo: git.Repo) -> None:
    """The attribute lines in .git/info/attributes (local: nothing tracked changes)."""
    attributes = _attributes_file(repo)
    lines = _attribute_lines(attributes)
    missing = [line for line in ATTRIBUTE_LINES if line not in lines]
    if missing:
        _write_attribute_lines(attributes, [*lines, *missing])


def uninstall_driver(repo: git.Repo) -> str:
    git.run(repo, "config", "--local", "--remove-section", f"merge.{DRIVER}", check=False)
    git.run(repo, "config", "--local", "--remove-section", f"merge.{KB_DRIVER}", check=False)
    attributes = _attributes_file(repo)
    if attributes.exists():
        _write_attribute_lines(attributes, [line for line in _attribute_lines(attributes)
                                            if line not in ATTRIBUTE_LINES])
    return "merge drivers: removed"


def driver_state(repo: git.Repo) -> str:
    configured = git.run(repo, "config", "--get", f"merge.{DRIVER}.driver", check=False).decode().strip()
    present = _attribute_lines(_attributes_file(repo))
    listed = all(line in present for line in ATTRIBUTE_LINES)
    kb_configured = git.run(repo, "config", "--get", f"merge.{KB_DRIVER}.driver", check=False).decode().strip()
    written = _interpreter(configured)  # installed by another path to a Python: the same drivers
    if listed and written and _runs(written) and configured == driver_command(written) \
            and kb_configured == kb_driver_command(written):
        return "merge drivers: installed"
    if configured or listed:
        return "merge drivers: outdated (run gitdesk hooks install)"
    return "merge drivers: missing"
