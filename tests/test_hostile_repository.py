"""What a repository can do to gitdesk, and what gitdesk promises back (issue 16).

Every value from a ticket file or the repository is untrusted: merges never
drop work silently, sync never pushes what check refuses, every failure a
user can cause is one line with the fix and exit 1, and the desk lock holds
on any Python. Real clones of a real bare remote, real merges and pushes,
real kills; nothing of gitdesk's own is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEST_CONFIG, Desk, git, make_desk

from gitdesk.cli import cli

# A Python without fcntl (as on some platforms): the import fails as it would there.
NO_FCNTL = "import sys\nsys.modules['fcntl'] = None\n"


def python(code: str, *, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def gitdesk_without_fcntl(desk: Desk, *args: str) -> subprocess.CompletedProcess[str]:
    code = NO_FCNTL + f"from gitdesk.cli import main\nmain({['--desk', str(desk.path), *args]!r})\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


# --- the lock, where Python has no fcntl (item 11) ------------------------------------------


def _hold_lock_without_fcntl(desk: Desk, then: str) -> subprocess.Popen[str]:
    process = python(NO_FCNTL + "from pathlib import Path\nfrom gitdesk.desk import Desk\n"
                     f"desk = Desk.open(Path({str(desk.path)!r}))\n"
                     "with desk.writing():\n    print('locked', flush=True)\n"
                     f"    import time\n    {then}\n")
    assert process.stdout is not None and process.stdout.readline().strip() == "locked", process.stderr
    return process


def test_without_fcntl_a_second_writer_waits_for_the_first(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    # The holder watches the ticket for 3 s while it holds the lock: nobody may write it meanwhile.
    watch = (f"path = Path({str(desk.file(ticket))!r}); before = path.read_text()\n"
             "    end = time.monotonic() + 3\n"
             "    while time.monotonic() < end and path.read_text() == before: time.sleep(0.02)\n"
             "    print('intact' if path.read_text() == before else 'written while locked', flush=True)")
    holder = _hold_lock_without_fcntl(desk, watch)
    result = gitdesk_without_fcntl(desk, "reply", ticket, "-m", "after the holder")
    out, _ = holder.communicate()
    assert out.strip() == "intact"
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no warning about the kind of lock reaches the user"
    assert "after the holder" in desk.text(ticket) and desk.status() == ""


def test_without_fcntl_a_killed_holder_never_leaves_the_desk_stuck(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    holder = _hold_lock_without_fcntl(desk, "time.sleep(60)")
    assert (desk.path / ".git" / "gitdesk" / "lock").exists(), "the lock file is where it always was"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    result = gitdesk_without_fcntl(desk, "reply", ticket, "-m", "after the crash")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    assert "after the crash" in desk.text(ticket)


def test_without_fcntl_concurrent_replies_lose_nothing(desk: Desk) -> None:
    ticket = desk.new("busy", "-q", "it-helpdesk")
    start = int(desk.git("rev-list", "--count", "HEAD"))
    code = NO_FCNTL + "from gitdesk.cli import main\nimport sys\nmain(sys.argv[1:])\n"
    processes = [subprocess.Popen([sys.executable, "-c", code, "--desk", str(desk.path), "reply", ticket, "-m",
                                   f"reply {n}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in range(4)]
    for process in processes:
        _, err = process.communicate()
        assert process.returncode == 0, err
    assert int(desk.git("rev-list", "--count", "HEAD")) == start + 4
    assert all(f"reply {n}" in desk.text(ticket) for n in range(4)) and desk.status() == ""


def test_a_lock_held_too_long_says_who_and_what_to_do(desk: Desk) -> None:
    holder = python("from pathlib import Path\nfrom gitdesk.desk import Desk\n"
                    f"desk = Desk.open(Path({str(desk.path)!r}))\n"
                    "with desk.writing():\n    print('locked', flush=True)\n    import time; time.sleep(30)\n")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        code = ("from pathlib import Path\nfrom gitdesk.desk import Desk\nfrom gitdesk.lock import desk_lock\n"
                "from gitdesk.errors import GitdeskError\n"
                f"desk = Desk.open(Path({str(desk.path)!r}))\n"
                "try:\n    with desk_lock(desk.repo.state_dir, timeout=0.3):\n        pass\n"
                "except GitdeskError as error:\n    print(error)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    finally:
        holder.kill()
        holder.wait()
    assert out == (f"another gitdesk process (pid {holder.pid}) has been writing to this desk for over 0s "
                   "(wait for it to finish, or stop it; the lock frees itself when it exits)")


# --- clones of one bare remote --------------------------------------------------------------


class Clone:
    """One person's clone of the team's remote, driven as they would."""

    def __init__(self, path: Path, who: str) -> None:
        self.path = path
        self.who = who

    def run(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["--desk", str(self.path), *args])
        assert result.exit_code == code, (self.who, args, result.exit_code, result.output, result.exception)
        return result.stdout + result.stderr

    def fails(self, *args: str) -> str:
        """A command that must fail as a user's mistake: exit 1, one line."""
        result = CliRunner().invoke(cli, ["--desk", str(self.path), *args])
        assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def try_git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True,
                              env={**os.environ, "GIT_EDITOR": "true"})

    def file(self, relative: str) -> Path:
        return self.path / relative

    def ticket_file(self, ticket: str) -> Path:
        return self.path / "tickets" / f"{ticket}.md"

    def edit(self, relative: str, old: str, new: str, message: str) -> None:
        path = self.file(relative)
        text = path.read_text(encoding="utf-8")
        assert old in text, text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        self.git("commit", "-qam", message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


def clone(origin: Path, path: Path, who: str, *, hooks: bool = True) -> Clone:
    subprocess.run(["git", "clone", "-q", str(origin), str(path)], check=True)
    git(path, "config", "user.email", f"{who}@example.com")
    git(path, "config", "user.name", who.title())
    person = Clone(path, who)
    if hooks:
        person.run("hooks", "install")
    return person


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Clone, Clone, str, Path]:
    """Alice and Bob, each with a clone of one bare remote holding one open ticket."""
    seed = make_desk(tmp_path / "seed", monkeypatch, TEST_CONFIG)
    monkeypatch.setenv("GITDESK_NOW", "2026-11-20T09:00:00Z")
    ticket = seed.new("Printer on 2F jams", "-q", "it-helpdesk")
    monkeypatch.setenv("GITDESK_NOW", "2026-11-20T09:30:00Z")
    seed.run("reply", ticket, "-m", "Which tray jams?\nTell me the tray number.")
    monkeypatch.delenv("GITDESK_NOW")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(origin)], check=True)
    return clone(origin, tmp_path / "alice", "alice"), clone(origin, tmp_path / "bob", "bob"), ticket, origin


# --- merges never drop work silently (item 6) -----------------------------------------------


def test_a_gitattributes_line_cannot_make_a_merge_keep_one_side_of_the_config(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _, _ = team
    # Someone routes the config through the knowledge base's driver ("keep ours").
    alice.file(".gitattributes").write_text(alice.file(".gitattributes").read_text()
                                            + ".gitdesk/config.yml merge=gitdesk-kb\n")
    alice.git("commit", "-qam", "attributes")
    alice.edit(".gitdesk/config.yml", "  email: Email and calendar\n",
               "  email: Email and calendar\n  phones: Desk phones\n", "add phones")
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase")  # bob gets the attribute first, as a team would
    alice.edit(".gitdesk/config.yml", "  facilities: The office\n",
               "  facilities: The office\n  printing: Printers and scanners\n", "add printing")
    alice.git("push", "-q")
    bob.edit(".gitdesk/config.yml", "  network: Wi-Fi and VPN\n",
             "  network: Wi-Fi and VPN\n  security: Accounts and access\n", "add security")
    merged = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    config = bob.file(".gitdesk/config.yml").read_text()
    assert "printing: Printers and scanners" in config and "security: Accounts and access" in config
    assert not (bob.path / ".git" / "gitdesk" / "kb-stale").exists()


def test_code_committed_to_the_repository_never_runs_in_a_hook_or_a_merge(team, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    # Git runs hooks and merge drivers at the top of the work tree; "python -m gitdesk" would
    # import a gitdesk/ folder (or a click.py) found there before the installed one.
    ran = tmp_path / "ran"
    payload = f"open({str(ran)!r}, 'a').write(__name__ + '\\n')\n"
    alice.file("gitdesk").mkdir()
    for name in ("gitdesk/__init__.py", "gitdesk/__main__.py", "gitdesk/cli.py", "click.py", "yaml.py"):
        alice.file(name).write_text(payload)
    alice.git("add", "gitdesk", "click.py", "yaml.py")
    alice.git("commit", "-qm", "docs: a helper")
    alice.git("checkout", "-qb", "pr-42")
    alice.run("reply", ticket, "-m", "Tray 2, try again.")
    alice.git("push", "-q", "origin", "main", "pr-42")
    bob.run("reply", ticket, "-m", "Is it tray 1?")  # so the pull merges the ticket with the driver
    merged = bob.try_git("pull", "--no-rebase", "--no-edit", "origin", "pr-42")  # post-merge, merge driver
    assert merged.returncode == 0, merged.stdout + merged.stderr
    both = bob.file(f"tickets/{ticket}.md").read_text()
    assert "Tray 2, try again." in both and "Is it tray 1?" in both, "the installed driver merged the ticket"
    bob.git("checkout", "-q", "-b", "review", "origin/main")  # post-checkout
    assert not ran.exists(), ran.read_text()


def test_hooks_an_older_gitdesk_wrote_are_made_safe_by_the_first_hook_that_runs(team) -> None:  # type: ignore[no-untyped-def]
    from gitdesk.githooks import install

    _, bob, ticket, _ = team
    hooks = bob.path / ".git" / "hooks"
    for name in install.CLIENT_HOOKS:  # as gitdesk wrote them before: python -m gitdesk
        path = hooks / name
        path.write_text(path.read_text().replace(install.RUN, "-m gitdesk"))
    bob.git("config", "merge.gitdesk.driver", install.driver_command().replace(install.RUN, "-m gitdesk"))
    bob.file(f"tickets/{ticket}.md").write_text(bob.file(f"tickets/{ticket}.md").read_text() + "More.\n")
    committed = bob.try_git("commit", "-qam", "a hand edit")
    assert committed.returncode == 0, committed.stderr
    assert "gitdesk: hooks rewritten (pre-commit, commit-msg, post-merge, post-checkout, post-rewrite)" \
        in committed.stderr
    assert all(" -m gitdesk " not in (hooks / name).read_text() for name in install.CLIENT_HOOKS)
    assert bob.git("config", "merge.gitdesk.driver").strip() == install.driver_command()
    assert "rewritten" not in bob.try_git("commit", "-q", "--allow-empty", "-m", "again").stderr


def test_an_upgraded_clone_is_made_safe_by_its_first_command_before_a_pull_brings_code(team, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gitdesk.githooks import install

    alice, bob, ticket, _ = team
    hooks = bob.path / ".git" / "hooks"
    for name in install.CLIENT_HOOKS:  # as an older gitdesk wrote them
        (hooks / name).write_text((hooks / name).read_text().replace(install.RUN, "-m gitdesk"))
    bob.git("config", "merge.gitdesk.driver", install.driver_command().replace(install.RUN, "-m gitdesk"))
    listed = bob.run("list")  # gitdesk's own commands run no Git hook: the first one must rewrite them
    assert "gitdesk: hooks rewritten (pre-commit, commit-msg, post-merge, post-checkout, post-rewrite)" in listed
    ran = tmp_path / "ran"
    alice.file("gitdesk").mkdir()
    alice.file("gitdesk/__init__.py").write_text(f"open({str(ran)!r}, 'a').write('ran')\n")
    alice.file("gitdesk/__main__.py").write_text("")
    alice.git("add", "gitdesk")
    alice.git("commit", "-qm", "tools")
    alice.git("push", "-q")
    bob.run("reply", ticket, "-m", "Tray 1?")
    bob.run("sync")
    assert not ran.exists()
    # A hooks folder this user cannot write (an admin's core.hooksPath) warns and lets the work go on.
    for name in install.CLIENT_HOOKS:
        (hooks / name).write_text((hooks / name).read_text().replace(install.RUN, "-m gitdesk"))
    bob.git("config", "merge.gitdesk.driver", install.driver_command().replace(install.RUN, "-m gitdesk"))
    (hooks / ".pre-commit.gitdesk-tmp").mkdir()
    warned = bob.run("list")  # exit 0, checked by run
    assert "hooks written by an older gitdesk could run code committed to the repository, and were not " \
        "rewritten" in warned
    assert bob.git("config", "merge.gitdesk.driver").strip() == install.driver_command(), "the drivers all the same"


def test_a_merge_driver_whose_python_is_gone_leaves_conflict_markers_and_the_next_command_repairs_it(
        team, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """gitdesk reinstalled in a new virtual environment, the old one deleted: a plain git pull
    ran a driver that could not start, Git said CONFLICT, and the ticket was Bob's side alone,
    with no marker, so a hasty `git add` dropped Alice's note."""
    from gitdesk.githooks import install

    alice, bob, ticket, _ = team
    gone = str(tmp_path / "old-venv" / "bin" / "python")
    bob.git("config", "merge.gitdesk.driver", install.driver_command(gone))
    alice.run("note", ticket, "-m", "Alice: tray 2 roller ordered")
    alice.run("sync")
    bob.run("note", ticket, "-m", "Bob: called the vendor")
    bob.git("config", "merge.gitdesk.driver", install.driver_command(gone))  # as it was before the command
    without = {**os.environ, "PATH": "/usr/bin:/bin"}  # no gitdesk on PATH either
    pulled = subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=bob.path, capture_output=True, text=True,
                            env=without)
    assert pulled.returncode != 0
    text = bob.file(f"tickets/{ticket}.md").read_text()
    assert "Alice: tray 2 roller ordered" in text and "Bob: called the vendor" in text and "<<<<<<<" in text, \
        "Git's own line merge: both sides, with markers"
    bob.git("merge", "--abort")
    said = bob.run("list")  # the first gitdesk command puts this Python in
    assert f"gitdesk: merge drivers rewritten: the Python they ran ({gone}) is gone" in said
    assert bob.git("config", "merge.gitdesk.driver").strip() == install.driver_command()
    assert "rewritten" not in bob.run("list"), "once"
    bob.git("pull", "-q", "--no-rebase")
    text = bob.file(f"tickets/{ticket}.md").read_text()
    assert "Alice: tray 2 roller ordered" in text and "Bob: called the vendor" in text and "<<<<<<<" not in text
    # A Python that is there but holds no gitdesk (uninstalled, a venv rebuilt in place): the same.
    empty = tmp_path / "empty-venv" / "python"
    empty.parent.mkdir()
    base = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter the virtual environment was made from
    empty.write_text(f'#!/bin/sh\nexec {base} -I "$@"\n')  # -I: no PYTHONPATH, no user site
    empty.chmod(0o755)
    if subprocess.run([str(empty), "-c", "import gitdesk"], capture_output=True).returncode == 0:
        pytest.skip("no Python without gitdesk to try")
    bob.git("reset", "-q", "--hard", "HEAD~1")
    bob.git("config", "merge.gitdesk.driver", install.driver_command(str(empty)))
    pulled = subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=bob.path, capture_output=True, text=True,
                            env=without)
    text = bob.file(f"tickets/{ticket}.md").read_text()
    assert "Alice: tray 2 roller ordered" in text and "Bob: called the vendor" in text, pulled.stderr
    for name in install.CLIENT_HOOKS:  # hooks naming it refuse every commit: status says so
        (bob.path / ".git" / "hooks" / name).write_text(install.script(name, str(empty)))
    assert "pre-commit: outdated (run gitdesk hooks install again)" in bob.run("hooks", "status", code=1)


def test_hooks_in_a_global_hooks_folder_an_older_gitdesk_wrote_are_made_safe(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.githooks import install

    shared = tmp_path / "hooks"
    settings = tmp_path / "gitconfig"
    own = Path(os.environ["HOME"]) / ".gitconfig"  # the identity the tests' isolated home has
    settings.write_text((own.read_text() if own.exists() else "") + f"[core]\n\thooksPath = {shared}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(settings))  # core.hooksPath from the user's own config
    desk = make_desk(tmp_path / "desk", monkeypatch, TEST_CONFIG)
    CliRunner().invoke(cli, ["--desk", str(desk.path), "hooks", "install"])
    assert (shared / "post-merge").exists()
    for name in install.CLIENT_HOOKS:
        (shared / name).write_text((shared / name).read_text().replace(install.RUN, "-m gitdesk"))
    listed = CliRunner().invoke(cli, ["--desk", str(desk.path), "list"])
    assert "gitdesk: hooks rewritten (pre-commit, commit-msg, post-merge, post-checkout, post-rewrite)" in listed.stderr
    assert all(" -m gitdesk " not in (shared / name).read_text() for name in install.CLIENT_HOOKS)


def test_a_hand_written_page_in_kb_merges_line_by_line_with_conflicts_marked(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _, _ = team
    guide = "# Printer guide\n\nStep one: open tray 2.\n\nStep two: remove the paper.\n\nStep three: close it.\n"
    alice.file("kb").mkdir()
    alice.file("kb/printer-guide.md").write_text(guide)
    alice.git("add", "kb/printer-guide.md")
    alice.git("commit", "-qm", "a page written by hand")
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase")
    alice.edit("kb/printer-guide.md", "Step one: open tray 2.", "Step one: open tray 2 (the lower one).",
               "clearer step one")
    alice.git("push", "-q")
    bob.edit("kb/printer-guide.md", "Step three: close it.", "Step three: close it gently.", "clearer step three")
    merged = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    page = bob.file("kb/printer-guide.md").read_text()
    assert "(the lower one)" in page and "close it gently" in page, "both edits kept"
    # The same line two ways: a conflict, with both sides in the file.
    bob.git("push", "-q")
    alice.git("pull", "-q", "--no-rebase")
    alice.edit("kb/printer-guide.md", "Step two: remove the paper.", "Step two: pull the paper out.", "alice")
    alice.git("push", "-q")
    bob.edit("kb/printer-guide.md", "Step two: remove the paper.", "Step two: take the paper out.", "bob")
    conflicted = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert conflicted.returncode != 0
    page = bob.file("kb/printer-guide.md").read_text()
    assert "<<<<<<<" in page and "pull the paper out" in page and "take the paper out" in page


def test_the_same_entry_edited_two_ways_is_a_conflict_not_two_entries(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    path = f"tickets/{ticket}.md"
    alice.edit(path, "Tell me the tray number.", "Tell me the tray number, please.", "polite")
    alice.git("push", "-q")
    bob.edit(path, "Tell me the tray number.", "Tell me the tray number and the model.", "precise")
    result = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert result.returncode != 0, "a real conflict, not a clean merge"
    text = bob.ticket_file(ticket).read_text()
    heading = "### 2026-11-20T09:30:00Z alice — reply"
    assert text.count(heading) == 2, "once on each side of the markers"
    ours, theirs = text.split("<<<<<<< ours\n")[1].split("\n>>>>>>> theirs")[0].split("=======\n")
    assert ours.startswith(heading) and "and the model" in ours
    assert theirs.startswith(heading) and "please" in theirs
    assert "conflict in entry 2026-11-20T09:30:00Z alice — reply" in result.stderr
    bob.git("add", path)
    assert "unresolved merge conflict markers" in bob.run("check", "--staged", code=1)


def test_the_same_entry_edited_the_same_way_merges_cleanly(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    path = f"tickets/{ticket}.md"
    alice.edit(path, "Tell me the tray number.", "Tell me the tray number, please.", "typo")
    alice.run("set", ticket, "priority", "high")
    alice.git("push", "-q")
    bob.edit(path, "Tell me the tray number.", "Tell me the tray number, please.", "same typo")
    result = bob.try_git("pull", "--no-rebase", "--no-edit")
    assert result.returncode == 0, result.stdout + result.stderr
    text = bob.ticket_file(ticket).read_text()
    assert text.count("alice — reply") == 1 and "please" in text and "priority: high" in text


def test_a_ticket_that_is_not_utf8_merges_without_losing_a_byte(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    path = alice.ticket_file(ticket)
    data = path.read_bytes().replace(b"Which tray jams?", b"Which tray jams? caf\xe9")
    path.write_bytes(data)
    alice.git("commit", "-qam", "latin-1 by accident", "--no-verify")  # a clone without the hooks
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase")
    path = alice.ticket_file(ticket)
    path.write_bytes(path.read_bytes().replace(b"Which tray", b"Which paper tray"))
    alice.git("commit", "-qam", "alice", "--no-verify")
    alice.git("push", "-q")
    path = bob.ticket_file(ticket)
    path.write_bytes(path.read_bytes().replace(b"number.", b"number, please."))
    bob.git("commit", "-qam", "bob", "--no-verify")
    result = bob.try_git("pull", "--no-rebase", "--no-edit")
    merged = bob.ticket_file(ticket).read_bytes()
    assert b"caf\xe9" in merged and b"Which paper tray" in merged and b"please" in merged, result.stderr


# --- a kill between the branch moving and the index: the next commit recovers (item 6) -------


def _reply_killed_at(desk: Desk, ticket: str, stage: str, *, after: bool) -> None:
    """`gitdesk reply` in a process SIGKILLed right before (or after) its call to ``git.<stage>``."""
    script = f"""
import os, signal
from pathlib import Path
from gitdesk import git, actions
from gitdesk.desk import Desk
original = getattr(git, {stage!r})
def die(*args, **kwargs):
    if {after!r}:
        original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(git, {stage!r}, die)
desk = Desk.open(Path({str(desk.path)!r}))
actions.reply(desk, {ticket!r}, "half done", desk.actor(None))
"""
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert process.returncode == -signal.SIGKILL, process.stderr


def test_a_commit_after_a_kill_never_undoes_the_action_that_landed(desk: Desk) -> None:
    desk.run("hooks", "install")
    ticket = desk.new("x", "-q", "it-helpdesk")
    (desk.path / "notes.txt").write_text("my own work\n")
    desk.git("add", "notes.txt")
    _reply_killed_at(desk, ticket, "refresh_index", after=False)  # the branch moved, the index did not
    landed = desk.head()
    assert "half done" in desk.git("show", f"HEAD:tickets/{ticket}.md")
    result = subprocess.run(["git", "commit", "-q", "-m", "my notes"], cwd=desk.path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "an interrupted gitdesk action was completed before this commit" in result.stderr
    assert desk.committed_files() == ["notes.txt"], "the stale index did not sneak the old ticket back in"
    assert desk.git("rev-parse", "HEAD~1").strip() == landed
    assert "half done" in desk.git("show", f"HEAD:tickets/{ticket}.md")
    assert desk.status() == "" and not (desk.path / ".git" / "gitdesk" / "journal.json").exists()


def test_a_commit_all_after_a_kill_never_sweeps_up_the_half_written_file(desk: Desk) -> None:
    desk.run("hooks", "install")
    ticket = desk.new("x", "-q", "it-helpdesk")
    (desk.path / "notes.txt").write_text("v1\n")
    desk.git("add", "notes.txt")
    desk.git("commit", "-qm", "notes")
    before = desk.text(ticket)
    _reply_killed_at(desk, ticket, "move_head", after=False)  # the file is written, the branch never moved
    assert "half done" in desk.text(ticket)
    (desk.path / "notes.txt").write_text("v2\n")
    result = subprocess.run(["git", "commit", "-q", "-a", "-m", "notes v2"], cwd=desk.path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "was rolled back before this commit" in result.stderr
    assert desk.committed_files() == ["notes.txt"]
    assert desk.text(ticket) == before and desk.status() == ""


def test_check_staged_recovers_first_as_the_pre_commit_framework_runs_it(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    _reply_killed_at(desk, ticket, "refresh_index", after=False)
    assert desk.git("diff", "--cached", "--name-only").strip() == f"tickets/{ticket}.md", "stale: a revert is staged"
    result = desk.run("check", "--staged")
    assert "an interrupted gitdesk action was completed" in result.stderr
    assert desk.git("diff", "--cached", "--name-only") == "" and desk.status() == ""


# --- sync never pushes what check refuses, and leaves kb/ current (item 7) ------------------


def _keep_side(text: str, keep: str) -> str:
    """Resolve every conflict block by keeping the lines of the side that contains ``keep``."""
    out, block, inside = [], [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            inside, block = True, []
        elif inside and line.startswith(">>>>>>>"):
            ours, theirs = "".join(block).split("=======\n")
            out.append(ours if keep in ours else theirs)
            inside = False
        elif inside:
            block.append(line)
        else:
            out.append(line)
    return "".join(out)


def test_sync_refuses_to_push_a_move_check_refuses(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, origin = team
    alice.run("resolve", ticket, "--note", "Replaced the roller in tray 2.")
    alice.git("push", "-q")
    bob.run("ask", ticket, "-m", "Does it still jam?")  # open -> pending, on an older view
    # Bob integrates by hand: git pull --rebase runs no hook, and he keeps his status.
    assert bob.try_git("pull", "--rebase").returncode != 0
    path = bob.ticket_file(ticket)
    path.write_text(_keep_side(path.read_text(), "status: pending"))
    bob.git("add", f"tickets/{ticket}.md")
    assert bob.try_git("rebase", "--continue").returncode == 0
    remote_before = git(origin, "rev-parse", "main").strip()
    error = bob.fails("sync")
    assert error.startswith(f"gitdesk: error: sync stopped before pushing: tickets/{ticket}.md:")
    assert "cannot move from resolved to pending" in error
    assert error.endswith("[in commit " + bob.head()[:10] + "] (nothing was pushed to origin/main; undo the "
                          "unpushed commits keeping their changes (git reset --soft @{upstream}), put the files "
                          "right, commit, then gitdesk sync again)")
    assert git(origin, "rev-parse", "main").strip() == remote_before
    # A new commit on top that puts it right works too, and sync pushes.
    bob.edit(f"tickets/{ticket}.md", "status: pending", "status: resolved", "keep it resolved after all")
    assert "0 commits in, 2 out" in bob.run("sync")
    assert git(origin, "rev-parse", "main").strip() == bob.head()


def both_build_the_knowledge_base(alice, bob, ticket: str) -> str:  # type: ignore[no-untyped-def]
    """Alice and Bob each solve a ticket and build kb/ on their own clone: the merge of the
    two can keep only one side of kb/. The ID of Bob's ticket."""
    other = json.loads(alice.run("new", "Mailbox full", "-q", "it-helpdesk", "-c", "email", "--format", "json"))["id"]
    alice.run("kb", "build")
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase")
    alice.run("resolve", ticket, "--note", "Replaced the roller in tray 2.")
    alice.run("kb", "build")
    alice.git("push", "-q")
    bob.run("resolve", other, "--note", "Archived the old mail.")
    bob.run("kb", "build")
    return str(other)


@pytest.mark.parametrize("strategy", ["--rebase", "--merge"])
def test_sync_rebuilds_the_knowledge_base_a_merge_kept_one_side_of(team, monkeypatch, strategy) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, origin = team
    both_build_the_knowledge_base(alice, bob, ticket)
    monkeypatch.setenv("GITDESK_NOW", "2026-11-30T12:00:00Z")
    started = time.monotonic()
    out = bob.run("sync", strategy)
    assert time.monotonic() - started < 30, "no hook waits for the lock sync holds"
    assert "rebuilt the knowledge base after the merge" in out
    readme = git(origin, "show", "main:kb/README.md")
    assert "Printer on 2F jams" in readme and "Mailbox full" in readme, "both articles reached the remote"
    bob.run("kb", "build", "--check")
    assert bob.git("status", "--porcelain") == "" and git(origin, "rev-parse", "main").strip() == bob.head()
    assert not (bob.path / ".git" / "gitdesk" / "kb-stale").exists()


def test_a_merge_goes_on_when_the_knowledge_base_cannot_be_rebuilt_yet(team, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, origin = team
    other = both_build_the_knowledge_base(alice, bob, ticket)
    (bob.path / "tickets" / f".{other}.md.swp").write_text("an editor's swap file")  # no draft: not in the way
    monkeypatch.setenv("GITDESK_NOW", "2026-11-30T12:00:00Z")
    assert "rebuilt the knowledge base after the merge" in bob.run("sync")
    assert git(origin, "rev-parse", "main").strip() == bob.head()
    # A draft in a ticket file when a plain merge left kb/ stale: the merge stands, the KB waits.
    draft = bob.path / "tickets" / f"{other}.md"
    draft.write_text(draft.read_text().replace("Archived the old mail.", "DRAFT: not for the KB yet"))
    stale = bob.path / ".git" / "gitdesk" / "kb-stale"
    stale.write_text("")
    hook = bob.run("hook", "post-merge", "0")
    assert "the knowledge base was left as the merge made it" in hook and "has uncommitted changes" in hook
    assert stale.exists() and "DRAFT" not in bob.git("log", "-p", "--", "kb"), "kept for the next merge or sync"


@pytest.fixture
def server(tmp_path: Path, desk: Desk) -> Path:
    """A self-hosted bare remote with the pre-receive hook, and the desk cloned from it."""
    bare = tmp_path / "server.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(desk.path), str(bare)], check=True)
    desk.git("remote", "add", "origin", str(bare))
    desk.git("fetch", "-q", "origin")
    desk.git("branch", "-q", "--set-upstream-to=origin/main")
    subprocess.run([sys.executable, "-m", "gitdesk", "hooks", "install", "--server", "--desk", str(bare)],
                   check=True, capture_output=True)
    return bare


def _push(desk: Desk) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "-q", "origin", "main"], cwd=desk.path, capture_output=True, text=True)


def test_a_rejected_push_is_accepted_once_a_new_commit_fixes_it(desk: Desk, server: Path) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert _push(desk).returncode == 0
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("status: open", "status: closed"))
    desk.git("commit", "-qam", "close by hand")  # no hooks here
    refused = _push(desk)
    assert refused.returncode != 0
    assert "push rejected: 2 problems in the pushed tickets; undo the unpushed commits keeping their changes " \
        "(git reset --soft @{upstream})" in refused.stderr
    # A new commit on top, no history rewritten, is accepted.
    path.write_text(path.read_text().replace("status: closed", "status: open"))
    desk.git("commit", "-qam", "reopen: closed by mistake")
    accepted = _push(desk)
    assert accepted.returncode == 0, accepted.stderr
    assert git(server, "rev-parse", "main").strip() == desk.head()
    # The advice, followed: the bad commit undone, the file put right, committed again.
    path.write_text(path.read_text().replace("status: open", "status: closed"))
    desk.git("commit", "-qam", "close by hand again")
    assert _push(desk).returncode != 0
    desk.git("reset", "-q", "--soft", "@{upstream}")
    path.write_text(path.read_text().replace("status: closed", "status: open"))
    desk.git("commit", "-qam", "nothing to close after all", "--allow-empty")
    assert _push(desk).returncode == 0


def test_a_push_is_judged_by_the_state_it_leaves_not_one_jump(desk: Desk, server: Path) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert _push(desk).returncode == 0
    desk.run("resolve", ticket, "--note", "fixed")
    desk.run("close", ticket)  # open -> resolved -> closed: each step legal, the jump is not
    assert _push(desk).returncode == 0
    path = desk.file(ticket)
    path.write_text(path.read_text().replace("status: closed", "status: pending"))
    desk.git("commit", "-qam", "bad")
    desk.new("a later commit that fixes nothing", "-q", "it-helpdesk")
    refused = _push(desk)
    assert refused.returncode != 0 and "cannot move from closed to pending" in refused.stderr


def test_a_config_problem_is_called_one_in_the_config(desk: Desk) -> None:
    desk.run("hooks", "install")
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("members: [alice, bob]", "members: [alice, zed]"))
    result = subprocess.run(["git", "commit", "-qam", "add zed"], cwd=desk.path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "commit refused: 1 problem in the staged config (" in result.stderr


# --- every failure a user can cause: exit 1, one line, the fix (item 9) ---------------------


def test_a_full_disk_at_the_journal_is_one_line_and_changes_nothing(desk: Desk, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("The printer log says: paper jam in tray 2. " * 8000)  # ~350 KB; compresses to little
    ticket = desk.new("Printer log attached", "-q", "it-helpdesk", "--body-file", str(body))
    before, head = desk.text(ticket), desk.head()
    # A file-size limit is a real way to make the disk refuse a write (EFBIG), as a full one would:
    # the journal (the old bytes, base64) is the first file too large to write.
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))\n"
            "from gitdesk.cli import main\n"
            f"main({['--desk', str(desk.path), 'reply', ticket, '-m', 'on it']!r})\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ("gitdesk: error: could not write the journal in .git/gitdesk: File too large "
                             "(nothing was changed; free some disk space or fix the permissions, then run the "
                             "command again)\n")
    assert desk.text(ticket) == before and desk.head() == head and desk.status() == ""
    assert not (desk.path / ".git" / "gitdesk" / "journal.json").exists()


def test_merge_file_with_a_missing_file_is_a_one_line_error(desk: Desk, tmp_path: Path) -> None:
    (tmp_path / "base.md").write_text("a\n")
    (tmp_path / "ours.md").write_text("b\n")
    error = desk.fails("merge-file", str(tmp_path / "base.md"), str(tmp_path / "ours.md"),
                       str(tmp_path / "gone.md"))
    assert error == (f"gitdesk: error: cannot read {tmp_path / 'gone.md'}: No such file or directory "
                     "(merge-file merges three existing files: BASE OURS THEIRS [PATH])")
    assert desk.fails("merge-file", "--generated", str(tmp_path / "base.md"), str(tmp_path / "nope.md"),
                      str(tmp_path / "ours.md")).startswith(f"gitdesk: error: cannot read {tmp_path / 'nope.md'}")


def test_a_stale_index_lock_says_to_remove_it_and_changes_nothing(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    before, head = desk.text(ticket), desk.head()
    (desk.path / ".git" / "index.lock").write_text("")  # a Git that crashed
    error = desk.fails("reply", ticket, "-m", "hello")
    assert error.startswith("gitdesk: error: git update-index failed: Unable to create")
    assert error.endswith("(another Git command may be running; if not, remove .git/index.lock)")
    (desk.path / ".git" / "index.lock").unlink()
    assert desk.text(ticket) == before and desk.head() == head and desk.status() == ""


def test_a_detached_head_names_the_branch_this_clone_really_uses(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    desk_path = tmp_path / "desk"
    desk_path.mkdir()
    git(desk_path, "init", "-q", "-b", "master")
    desk = make_desk(desk_path, monkeypatch, own_repository=False)
    ticket = desk.new("x", "-q", "it-helpdesk")
    desk.git("checkout", "-q", "--detach")
    assert desk.fails("reply", ticket, "-m", "x") == ("gitdesk: error: HEAD is detached; gitdesk commits to a branch "
                                                      "(check out a branch first: git switch master)")


def test_in_the_middle_of_a_rebase_the_hint_is_to_finish_it(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("set", ticket, "priority", "high")
    alice.git("push", "-q")
    bob.run("set", ticket, "priority", "low")
    assert bob.try_git("pull", "--rebase").returncode != 0  # stopped on the conflict
    hint = "(a rebase is in progress: finish the rebase first with git rebase --continue, or stop it with " \
           "git rebase --abort)"
    assert bob.fails("new", "Another", "-q", "it-helpdesk") == \
        f"gitdesk: error: HEAD is detached; gitdesk commits to a branch {hint}"
    assert bob.fails("sync") == ("gitdesk: error: sync cannot start in the middle of a rebase (finish the rebase "
                                 "first with git rebase --continue, or stop it with git rebase --abort)")


def test_a_sync_conflict_while_merging_says_git_pull_no_rebase(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    alice.run("set", ticket, "priority", "high")
    alice.git("push", "-q")
    bob.run("set", ticket, "priority", "low")
    error = bob.fails("sync", "--merge")
    assert error == (f"gitdesk: error: sync stopped: a real conflict in tickets/{ticket}.md (priority: low here, "
                     f"high on origin/main); nothing "
                     f"was changed (git pull --no-rebase, fix the lines between <<<<<<< and >>>>>>> in "
                     f"tickets/{ticket}.md, git add it, git commit, then gitdesk sync)")
    assert bob.try_git("pull", "--no-rebase").returncode != 0, "the hint's command exists and does the merge"


def test_a_sync_conflict_over_a_deleted_file_says_keep_or_delete(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, _, _ = team
    alice.file("notes.md").write_text("shared notes\n")
    alice.git("add", "notes.md")
    alice.git("commit", "-qm", "notes")
    alice.git("push", "-q")
    bob.git("pull", "-q", "--no-rebase")
    alice.git("rm", "-q", "notes.md")
    alice.git("commit", "-qm", "no more notes")
    alice.git("push", "-q")
    bob.edit("notes.md", "shared notes", "shared notes, longer", "more notes")
    error = bob.fails("sync")
    assert error == ("gitdesk: error: sync stopped: a real conflict in notes.md; nothing was changed (git pull "
                     "--rebase, notes.md was deleted on one side and changed on the other: keep it (git add "
                     "notes.md) or delete it (git rm notes.md), git rebase --continue, then gitdesk sync)")
    assert "<<<<<<<" not in error.split("(", 1)[1]


def test_a_hand_made_commit_setting_a_new_field_reads_set_in_its_trailer(desk: Desk) -> None:
    desk.run("hooks", "install")
    ticket = desk.new("x", "-q", "it-helpdesk")
    path = desk.file(ticket)
    text = path.read_text()
    end = text.index("\n---\n", 4)
    path.write_text(text[:end] + "\ncost_centre: 4100" + text[end:])
    result = subprocess.run(["git", "commit", "-qam", "cost centre"], cwd=desk.path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert desk.last_message() == f"cost centre\n\nGitdesk-Ticket: {ticket}\nGitdesk-Action: set cost_centre 4100\n\n"
    path.write_text(path.read_text().replace("\ncost_centre: 4100", ""))
    subprocess.run(["git", "commit", "-qam", "no cost centre"], cwd=desk.path, check=True)
    assert desk.last_message().endswith("Gitdesk-Action: unset cost_centre\n\n")


def test_a_config_list_left_open_is_reported_on_its_own_line(desk: Desk) -> None:
    config = desk.path / ".gitdesk" / "config.yml"
    lines = config.read_text().splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if "members: [alice, bob]" in line)
    lines[number - 1] = lines[number - 1].replace("[alice, bob]", "[alice, bob")
    config.write_text("".join(lines))
    assert desk.fails("list").startswith(f"gitdesk: error: .gitdesk/config.yml:{number}: not valid YAML")
    config.write_text("people: [\n")
    assert desk.fails("list").startswith("gitdesk: error: .gitdesk/config.yml:1: not valid YAML")


def test_a_holiday_that_is_no_date_names_the_setting_and_its_line(desk: Desk) -> None:
    config = desk.path / ".gitdesk" / "config.yml"
    text = config.read_text()
    line = text.count("\n") + 3
    config.write_text(text + "sla:\n  clock: business\n  holidays: [2026-12-25, 2026-02-30]\n")
    assert desk.fails("list") == (f"gitdesk: error: .gitdesk/config.yml:{line}: sla.holidays: 2026-02-30 is not a "
                                  "real date (day is out of range for month) (write a real date, like 2026-12-25)")
    config.write_text(text + "sla:\n  clock: business\n  holidays: 2026-12-25\n")
    desk.run("list")  # one date on its own is a list of one (it used to crash)


def test_a_persons_own_attributes_in_any_encoding_survive_hooks_install_and_sync(team) -> None:  # type: ignore[no-untyped-def]
    _, bob, _, _ = team
    attributes = bob.path / ".git" / "info" / "attributes"
    mine = b"*.dat -diff # caf\xe9, written in Latin-1\n"
    attributes.write_bytes(mine + attributes.read_bytes())
    bob.run("hooks", "uninstall")
    bob.run("hooks", "install")
    bob.run("sync")
    assert attributes.read_bytes().startswith(mine), "kept byte for byte"


def test_check_range_naming_no_commit_says_what_to_name(desk: Desk) -> None:
    error = desk.fails("check", "--range", "origin/main..HEAD")
    assert error.startswith("gitdesk: error: git rev-list failed: ")
    # not the range that just failed: this clone has no origin/main
    branch = desk.git("branch", "--show-current").strip()
    assert error.endswith(f"(name commits or branches this clone has, like HEAD~1..HEAD (it has: {branch}; in CI, "
                          "fetch the base branch and its history first))")


def test_a_commit_of_named_paths_after_a_kill_leaves_nothing_stale_behind(desk: Desk) -> None:
    desk.run("hooks", "install")
    ticket = desk.new("x", "-q", "it-helpdesk")
    (desk.path / "notes.txt").write_text("v1\n")
    (desk.path / "todo.txt").write_text("v1\n")
    desk.git("add", "notes.txt", "todo.txt")
    desk.git("commit", "-qm", "files")
    _reply_killed_at(desk, ticket, "refresh_index", after=False)
    (desk.path / "notes.txt").write_text("v2\n")
    # `git commit PATH` commits a temporary index; the clone's own stays locked meanwhile.
    subprocess.run(["git", "commit", "-q", "-m", "notes", "notes.txt"], cwd=desk.path, check=True,
                   capture_output=True)
    assert desk.committed_files() == ["notes.txt"]
    (desk.path / "todo.txt").write_text("v2\n")
    desk.git("add", "todo.txt")
    subprocess.run(["git", "commit", "-q", "-m", "todo"], cwd=desk.path, check=True, capture_output=True)
    assert desk.committed_files() == ["todo.txt"], "the ticket's old version never came back"
    assert "half done" in desk.git("show", f"HEAD:tickets/{ticket}.md") and desk.status() == ""


def test_git_pull_rebase_rebuilds_the_knowledge_base_it_kept_one_side_of(team) -> None:  # type: ignore[no-untyped-def]
    alice, bob, ticket, _ = team
    both_build_the_knowledge_base(alice, bob, ticket)
    result = bob.try_git("pull", "--rebase")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rebuilt the knowledge base after the merge" in result.stderr, "post-rewrite did it, as post-merge does"
    readme = bob.file("kb/README.md").read_text()
    assert "Printer on 2F jams" in readme and "Mailbox full" in readme
    bob.run("kb", "build", "--check")


def test_a_ticket_changed_by_a_merge_in_progress_says_how_to_finish_the_merge(desk: Desk) -> None:
    made = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    desk.git("switch", "-qc", "other")
    desk.run("set", made, "priority", "high")
    desk.git("switch", "-q", "-")
    desk.git("merge", "-q", "--no-ff", "--no-commit", "other")
    error = desk.fails("take", made, "--as", "alice")
    assert "while a merge is in progress" in error and "git merge --abort" in error
    assert "git commit tickets/" not in error, "Git refuses to commit one file mid-merge"


def test_a_desk_in_a_folder_whose_name_is_not_utf8_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / os.fsdecode(b"archiv-caf\xe9")  # Latin-1 bytes, as an old archive leaves them
    folder.mkdir()
    git(folder, "init", "-q")
    result = CliRunner().invoke(cli, ["--desk", str(folder), "init"])
    assert result.exit_code == 0, result.output
    assert "name: Archiv Caf\ufffd support desk" in (folder / ".gitdesk" / "config.yml").read_text()
    desk = Desk(folder, monkeypatch)
    (folder / ".gitdesk" / "config.yml").write_text(TEST_CONFIG)
    git(folder, "commit", "-qam", "config")
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    desk.run("resolve", ticket, "--note", "Cleaned the rollers.")  # writes the knowledge base: many objects at once
    assert git(folder, "fsck", "--strict") == "" and desk.status() == ""


# --- a read-only checkout --------------------------------------------------------------------


def _read_only(desk: Desk, script: str, folder: str = "") -> subprocess.CompletedProcess[str]:
    """``script`` (sh) run with the desk's folder (or ``folder`` in it) mounted read-only, in a
    mount namespace of its own (unshare: a real read-only mount, not permissions, which root
    would pass through)."""
    where = str(desk.path / folder)
    wrapped = (f"mount --bind '{where}' '{where}' && mount -o remount,bind,ro '{where}' && cd '{desk.path}' && "
               f"{script}")
    return subprocess.run(["unshare", "-rm", "sh", "-c", wrapped], capture_output=True, text=True, check=False,
                          env={**os.environ, "GITDESK_NO_PAGER": "1"})


def test_a_read_only_checkout_reads_and_refuses_changes_in_one_line(desk: Desk, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer's read-only mount, or a web server reading a repository it does not own: the
    cache goes to the user's cache folder (it is rebuilt from Git), reading works, and a change
    is one line, exit 1."""
    ticket = desk.new("Printer jams")
    desk.run("list")  # a cache already made in .git/gitdesk, which the read-only mount cannot take a lock in
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    gitdesk = f"'{sys.executable}' -m gitdesk"
    probe = _read_only(desk, "true")
    if probe.returncode != 0:
        pytest.skip(f"no mount namespaces here: {probe.stderr.strip()}")
    read = _read_only(desk, f"{gitdesk} list && {gitdesk} show {ticket} && {gitdesk} search jams")
    assert read.returncode == 0, read.stderr
    assert ticket in read.stdout and "Printer jams" in read.stdout and "Traceback" not in read.stderr
    assert list((tmp_path / "cache" / "gitdesk").iterdir()), "the cache was kept where it could be written"
    changed = _read_only(desk, f"{gitdesk} note {ticket} -m hi")
    assert changed.returncode == 1 and "Read-only file system" in changed.stderr, changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1 and "Traceback" not in changed.stderr


def test_a_writer_that_cannot_write_git_gitdesk_is_refused_not_given_a_lock_of_its_own(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """.git/gitdesk made by root's cron job, the agents' shell unable to write it: their
    listings read a cache of their own, but a write must not take a lock nobody else sees (two
    mail sends would each send everything)."""
    ticket = desk.new("Printer jams")
    desk.run("list")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    gitdesk = f"'{sys.executable}' -m gitdesk"
    if _read_only(desk, "true", ".git/gitdesk").returncode != 0:
        pytest.skip("no mount namespaces here")
    read = _read_only(desk, f"{gitdesk} list", ".git/gitdesk")
    assert read.returncode == 0 and ticket in read.stdout, read.stderr
    for command in (f"note {ticket} -m hi", f"set {ticket} priority high"):
        refused = _read_only(desk, f"{gitdesk} {command}", ".git/gitdesk")
        assert refused.returncode == 1 and "cannot take the desk lock" in refused.stderr, (command, refused.stderr)
    assert not list((tmp_path / "cache").rglob("lock*")), "no lock of its own"
    dry = _read_only(desk, f"{gitdesk} rules run --dry-run", ".git/gitdesk")
    assert dry.returncode == 0, "a dry run changes nothing, so it needs no lock: " + dry.stderr


def test_a_cache_another_user_made_is_left_to_them(desk: Desk, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """.git/gitdesk writable, its cache.sqlite not (another user made it 0644): reading takes a
    cache of its own instead of failing on the first write ("readonly database", exit 3)."""
    ticket = desk.new("Printer jams")
    desk.run("list")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if _read_only(desk, "true", ".git/gitdesk/cache.sqlite").returncode != 0:
        pytest.skip("no mount namespaces here")
    desk.git("commit", "-q", "--allow-empty", "-m", "HEAD moves: the cache must be written to")
    read = _read_only(desk, f"'{sys.executable}' -m gitdesk list", ".git/gitdesk/cache.sqlite")
    assert read.returncode == 0 and ticket in read.stdout, read.stderr
    assert list((tmp_path / "cache" / "gitdesk").iterdir())


def test_a_reader_in_someone_else_s_clone_makes_no_state_folder_of_its_own_there(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root's cron job lists a clone an agent owns: were it to make .git/gitdesk, the folder
    would be root's and every write of the agent's would be refused. Its cache goes to root's
    own cache folder."""
    ticket = desk.new("Printer jams")
    state = desk.path / ".git" / "gitdesk"
    for path in [state, *state.rglob("*")][::-1]:
        path.unlink() if path.is_file() else path.rmdir()
    try:
        os.chown(desk.path / ".git", 1001, 1001)
    except PermissionError:
        pytest.skip("only root can hand a folder to someone else")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    refused = subprocess.run([sys.executable, "-m", "gitdesk", "list"], cwd=desk.path, capture_output=True,
                             text=True, check=False)
    assert refused.returncode == 1 and "Git refuses to work in" in refused.stderr and "belongs to another user" \
        in refused.stderr and "safe.directory" in refused.stderr, "Git's guard said in its words, with its fix"
    desk.git("config", "--global", "--add", "safe.directory", "*")  # root trusts it, as its cron job must
    listed = subprocess.run([sys.executable, "-m", "gitdesk", "list"], cwd=desk.path, capture_output=True,
                            text=True, check=False)
    assert listed.returncode == 0 and ticket in listed.stdout, listed.stderr
    assert not state.exists(), "the agent's clone is left as it was"
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-cache-here")  # a service account's: nothing can be made there
    served = subprocess.run([sys.executable, "-m", "gitdesk", "list"], cwd=desk.path, capture_output=True,
                            text=True, check=False)
    assert served.returncode == 1 and "set XDG_CACHE_HOME to a folder you may write" in served.stderr, served.stderr
    assert not state.exists(), "still no .git/gitdesk of this user's in the owner's clone"


def test_init_never_touches_another_user_s_repository(tmp_path: Path) -> None:
    """gitdesk init at the top of a repository Git refuses (another user's) is refused and
    leaves it alone; in a folder below it, a repository of its own is made."""
    theirs = tmp_path / "theirs"
    git(tmp_path, "init", "-q", str(theirs))
    try:
        for path in [theirs, *theirs.rglob("*")]:
            os.chown(path, 1001, 1001, follow_symlinks=False)
    except PermissionError:
        pytest.skip("only root can hand a folder to someone else")
    config = (theirs / ".git" / "config").read_bytes()
    refused = CliRunner().invoke(cli, ["init", str(theirs)])
    assert refused.exit_code == 1 and "belongs to another user" in refused.output, refused.output
    assert (theirs / ".git" / "config").read_bytes() == config and (theirs / ".git" / "config").stat().st_uid == 1001
    made = CliRunner().invoke(cli, ["init", str(theirs / "desk")])
    assert made.exit_code == 0, made.output
    assert (theirs / "desk" / ".git").is_dir(), "a repository of its own, below theirs"


def test_a_reader_with_no_home_in_someone_else_s_clone_is_told_what_to_set(desk: Desk, tmp_path: Path) -> None:
    """A container's arbitrary uid: no passwd entry, no HOME. Not a crash (exit 3): one line,
    with the setting that gives it a cache."""
    import shutil

    python = shutil.which("python3", path="/usr/bin")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if os.geteuid() != 0 or not shutil.which("setpriv") or python is None or subprocess.run(
            [python, "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
            capture_output=True, text=True).stdout.strip() != version:
        pytest.skip("needs root, setpriv and a system Python of this version another user can run")
    import tempfile

    desk.new("Printer jams")
    # Somewhere another user can reach (pytest's folders are root's alone), the clone as root left it.
    shared = Path(tempfile.mkdtemp(prefix="gitdesk-shared-"))
    os.chmod(shared, 0o755)
    clone = shared / "desk"
    shutil.copytree(desk.path, clone, symlinks=True)
    state = clone / ".git" / "gitdesk"
    shutil.rmtree(state)
    for path in [clone, *clone.rglob("*")]:
        os.chmod(path, os.stat(path).st_mode | 0o777)
    import gitdesk

    packages = [path for path in sys.path if path.endswith("site-packages")]
    where = os.pathsep.join([str(Path(gitdesk.__file__).parent.parent), *packages])
    listed = subprocess.run(["setpriv", "--reuid=1234", "--regid=1234", "--clear-groups", "env", "-i",
                             "PATH=/usr/bin:/bin", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory",
                             "GIT_CONFIG_VALUE_0=*", f"PYTHONPATH={where}", python, "-m", "gitdesk", "list"],
                            cwd=clone, capture_output=True, text=True, check=False)
    made = state.exists()
    shutil.rmtree(shared)
    if "No module named" in listed.stderr or "ModuleNotFoundError" in listed.stderr:
        pytest.skip("the other user cannot read this Python's packages")
    assert listed.returncode == 1 and "set XDG_CACHE_HOME" in listed.stderr, listed.stderr
    assert "this is a bug" not in listed.stderr and not made
