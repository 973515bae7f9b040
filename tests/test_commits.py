"""One action, one commit, containing only the files that action wrote.

A user's other staged or unstaged work is left exactly as it was; a ticket
with uncommitted hand edits is refused; concurrent processes are serialised;
a failed or killed action leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import Desk, gitdesk_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_other_staged_and_unstaged_work_is_left_alone(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    other = desk.new("other", "-q", "it-helpdesk")
    (desk.path / "notes.txt").write_text("staged work\n")
    desk.git("add", "notes.txt")
    (desk.path / "README.md").write_text("unstaged, untracked\n")
    other_path = desk.file(other)
    other_path.write_text(other_path.read_text() + "hand edit in progress\n")
    status_before = desk.status()
    desk.run("reply", ticket, "-m", "on it")
    assert desk.committed_files() == [f"tickets/{ticket}.md"]
    assert desk.status() == status_before
    assert desk.git("diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert other_path.read_text().endswith("hand edit in progress\n")


def test_a_ticket_with_uncommitted_hand_edits_is_refused(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    path = desk.file(ticket)
    edited = path.read_text().replace("priority: normal", "priority: high")
    path.write_text(edited)
    head = desk.head()
    error = desk.fails("reply", ticket, "-m", "x")
    assert error == (f"gitdesk: error: tickets/{ticket}.md: has uncommitted changes (commit them "
                     f"(git commit tickets/{ticket}.md) or discard them (git restore tickets/{ticket}.md) first)")
    assert path.read_text() == edited and desk.head() == head
    desk.git("add", path.name and f"tickets/{ticket}.md")
    assert "has uncommitted changes" in desk.fails("reply", ticket, "-m", "x"), "staged edits count too"


def test_a_desk_in_a_subfolder_of_a_code_repository(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import make_desk

    repo = tmp_path / "product"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "app.py").write_text("print('hi')\n")
    subprocess.run(["git", "add", "app.py"], cwd=repo, check=True)
    desk = make_desk(repo / "support", monkeypatch, own_repository=False)
    made = desk.committed_files("HEAD~1")
    assert all(path.startswith("support/") for path in made)
    assert {"support/.gitattributes", "support/.gitdesk/config.yml", "support/.gitdesk/templates/default.md",
            "support/.gitdesk/templates/mail/reply.md", "support/tickets/.gitkeep"} <= set(made)
    ticket = desk.new("x", "-q", "it-helpdesk")
    assert desk.committed_files() == [f"support/tickets/{ticket}.md"]
    assert desk.git("diff", "--cached", "--name-only").split() == ["app.py"], "still staged, not swept up"


def test_a_drafted_reply_is_a_commit_on_its_own_branch_and_touches_nothing_here(tmp_path: Path,
                                                                                monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # What gitdesk mcp's draft_reply does, without the MCP SDK: in a desk inside a code
    # repository, with the user's staged and unstaged work around it.
    from conftest import make_desk

    from gitdesk import actions
    from gitdesk.desk import Desk as Library

    repo = tmp_path / "product"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    desk = make_desk(repo / "support", monkeypatch, own_repository=False)
    ticket = desk.new("Printer on 2F jams", "-q", "it-helpdesk")
    (repo / "app.py").write_text("staged\n")
    desk.git("add", "../app.py")
    (repo / "app.py").write_text("staged, then changed\n")
    head, status, before = desk.head(), desk.status(), desk.text(ticket)

    library = Library.open(desk.path, explicit=True)
    draft = actions.draft_reply(library, ticket[:8], "Please try the tray on the left.", library.actor("bob"))

    assert (draft.branch, draft.base) == (f"drafts/{ticket}-1", "main")
    assert desk.committed_files(draft.branch) == [f"support/tickets/{ticket}.md"]  # only the ticket: no mailer here
    assert desk.git("rev-parse", f"{draft.branch}^").strip() == head
    assert "bob — reply" in desk.git("show", f"{draft.branch}:support/tickets/{ticket}.md")
    assert "Gitdesk-Action: reply" in desk.last_message(draft.branch)
    assert desk.head() == head and desk.status() == status and desk.text(ticket) == before
    assert (repo / "app.py").read_text() == "staged, then changed\n"
    again = actions.draft_reply(library, ticket, "Or the one on the right.", library.actor("bob"))
    assert again.branch == f"drafts/{ticket}-2"


def test_a_failing_commit_restores_the_file(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    before, head = desk.text(ticket), desk.head()
    lock = desk.path / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("someone else\n")  # git update-ref cannot take the branch lock
    try:
        error = desk.fails("reply", ticket, "-m", "lost?")
    finally:
        lock.unlink()
    assert error.startswith("gitdesk: error: git update-ref failed")
    assert desk.text(ticket) == before and desk.head() == head and desk.status() == ""
    assert not list(desk.path.joinpath("tickets").glob(".*tmp*"))


def test_eight_concurrent_replies_lose_nothing(desk: Desk) -> None:
    ticket = desk.new("busy ticket", "-q", "it-helpdesk")
    start = desk.commits()

    def reply(n: int) -> subprocess.CompletedProcess[str]:
        return gitdesk_process("reply", ticket, "-m", f"reply number {n}", cwd=desk.path)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(reply, range(8)))
    assert [r.returncode for r in results] == [0] * 8, [r.stderr for r in results]
    assert desk.commits() == start + 8
    shown = json.loads(desk.run("show", ticket, "--format", "json").stdout)["ticket"]
    assert sorted(e["text"] for e in shown["conversation"]) == sorted(f"reply number {n}" for n in range(8))
    assert desk.status() == ""


def _hold_lock_then(desk: Desk, code: str) -> subprocess.Popen[str]:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from gitdesk.desk import Desk\n"
        f"desk = Desk.open(Path({str(desk.path)!r}))\n"
        "with desk.writing():\n"
        "    print('locked', flush=True)\n"
        f"    {code}\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


def test_a_killed_lock_holder_never_leaves_the_desk_stuck(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    holder = _hold_lock_then(desk, "time.sleep(60)")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    desk.run("reply", ticket, "-m", "after the crash")
    assert time.monotonic() - started < 5


def test_a_writer_waits_for_the_lock(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    holder = _hold_lock_then(desk, "time.sleep(0.5)")
    result = gitdesk_process("reply", ticket, "-m", "waited", cwd=desk.path)
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert "waited" in desk.text(ticket)


def _kill_at(desk: Desk, ticket: str, stage: str, *, after: bool) -> None:
    """Run a reply in a process that is SIGKILLed right before or after ``git.<stage>``."""
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


def test_killed_before_the_branch_moved_is_rolled_back(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    before, head = desk.text(ticket), desk.head()
    _kill_at(desk, ticket, "create_commit", after=True)  # file not yet written: nothing to see
    assert desk.text(ticket) == before
    desk.run("note", ticket, "-m", "next action runs fine")
    assert desk.commits() == int(desk.git("rev-list", "--count", head).strip()) + 1


def test_killed_after_writing_the_file_is_finished_or_undone_by_the_next_writer(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    head = desk.head()
    # Killed after the temp file was renamed into place, before HEAD moved:
    # the work tree shows the new text, uncommitted.
    _kill_at(desk, ticket, "move_head", after=False)
    assert "half done" in desk.text(ticket) and desk.head() == head
    desk.run("note", ticket, "-m", "recovering")
    text = desk.text(ticket)
    assert "half done" not in text and "recovering" in text, "rolled back, then the note"
    assert desk.status() == ""


def test_a_reader_after_a_kill_counts_only_what_was_committed(desk: Desk) -> None:
    """A killed import leaves thousands of files no commit holds: the next command, a reader
    too, undoes them before it reads, and says so (a report must not count them)."""
    ticket = desk.new("x", "-q", "it-helpdesk")
    head = desk.head()
    _kill_at(desk, ticket, "move_head", after=False)
    assert "half done" in desk.text(ticket)
    listed = desk.run("show", ticket)
    assert "half done" not in listed.stdout and "half done" not in desk.text(ticket)
    assert "an interrupted gitdesk had left an action half done; it was rolled back" in listed.stderr
    assert desk.head() == head and desk.status() == ""


def test_a_reader_that_cannot_finish_a_killed_writer_s_work_still_reads(desk: Desk) -> None:
    """Git's index.lock held (a commit's editor open) right after a kill: the reader cannot
    fix the index, so it leaves the journal to the next writer and lists all the same."""
    ticket = desk.new("x", "-q", "it-helpdesk")
    _kill_at(desk, ticket, "refresh_index", after=False)
    lock = desk.path / ".git" / "index.lock"
    lock.touch()
    try:
        assert ticket in desk.run("list").stdout
    finally:
        lock.unlink()
    desk.run("note", ticket, "-m", "after")
    assert desk.status() == ""


def test_a_reader_while_a_writer_lands_its_files_is_told_it_may_see_part_of_them(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    journal = desk.path / ".git" / "gitdesk" / "journal.json"
    holder = _hold_lock_then(desk, f"Path({str(journal)!r}).write_text('{{\"files\": {{}}}}'); "
                                   "print('landing', flush=True); time.sleep(3)")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "landing"
    shown = desk.run("show", ticket)
    holder.wait()
    assert "another gitdesk is writing to this desk right now" in shown.stderr, shown.stderr
    assert journal.exists(), "a live writer's journal is its own"


def test_killed_after_the_branch_moved_is_completed(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    _kill_at(desk, ticket, "refresh_index", after=False)
    assert "half done" in desk.last_message() or "reply" in desk.last_message()
    desk.run("note", ticket, "-m", "after")
    assert desk.status() == ""
    assert "half done" in desk.text(ticket) and "after" in desk.text(ticket)


def test_new_never_writes_over_an_existing_file(desk: Desk) -> None:
    from gitdesk.errors import UnsafePath
    from gitdesk.transaction import atomic_write

    target = desk.path / "tickets" / "GD-EXISTS.md"
    target.write_text("precious")
    try:
        atomic_write(target, b"new", create_new=True)
    except UnsafePath as error:
        assert "already exists" in str(error)
    assert target.read_text() == "precious"


def test_files_keep_the_users_permissions(desk: Desk) -> None:
    ticket = desk.new("x", "-q", "it-helpdesk")
    mode = os.stat(desk.file(ticket)).st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


NAMES = ["a.md", "b c.md", "é.md", "a", "a-b.md", "a.md.md", "tickets", "z"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.dictionaries(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join),
                              st.binary(max_size=4), max_size=6),
       change=st.dictionaries(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join),
                              st.one_of(st.none(), st.binary(max_size=4)), min_size=1, max_size=4))
def test_a_commit_edits_only_the_trees_on_its_paths_and_equals_gits_own(tmp_path: Path, before: dict[str, bytes],
                                                                         change: dict[str, bytes | None]) -> None:
    """gitdesk writes a commit's trees itself (editing the parent's in place); Git's own
    fast-import, given the same files, must make the very same tree."""
    from gitdesk import git

    path = tmp_path / f"repo-{len(list(tmp_path.iterdir()))}"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    repo = git.find(path)
    assert repo is not None
    author, date = ("Test", "test@example.com"), "1700000000 +0000"
    # Paths that are both a file and a folder cannot be in one tree: keep the first of each.
    files: dict[str, bytes] = {}
    for name, data in before.items():
        if not any(other.startswith(name + "/") or name.startswith(other + "/") for other in files):
            files[name] = data
    parent = git.fast_import(repo, None, [git.CommitStep(files, "base", author, date)]) if files else None
    edits = {name: data for name, data in change.items()
             if not any(other != name and (other.startswith(name + "/") or name.startswith(other + "/"))
                        for other in [*files, *change])}
    if not edits:
        return
    ours = git.create_commit(repo, parent, edits, "edit", author, date)
    theirs = git.fast_import(repo, parent, [git.CommitStep(edits, "edit", author, date)])
    assert git.run(repo, "rev-parse", ours + "^{tree}") == git.run(repo, "rev-parse", f"{theirs}^{{tree}}")
    assert subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=path, capture_output=True).returncode == 0


def test_commits_are_signed_when_git_config_asks_for_it(desk: Desk, tmp_path: Path) -> None:
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)], check=True)
    desk.git("config", "gpg.format", "ssh")
    desk.git("config", "user.signingkey", str(key))
    ticket = desk.new("Unsigned until asked", "-q", "it-helpdesk")
    assert "gpgsig" not in desk.git("cat-file", "commit", "HEAD")
    # Git's spellings of true: a bare key (no value), yes, 1; and of false: off.
    for spelling, signed in (("\tgpgsign\n", True), ("\tgpgsign = yes\n", True), ("\tgpgsign = 1\n", True),
                             ("\tgpgsign = off\n", False)):
        config = desk.path / ".git" / "config"
        text = config.read_text().split("[commit]")[0]
        config.write_text(text + "[commit]\n" + spelling)
        desk.run("note", ticket, "-m", f"signed: {signed}")
        assert ("gpgsig" in desk.git("cat-file", "commit", "HEAD")) is signed, spelling


def test_head_is_read_on_a_branch_detached_and_unborn_even_beside_a_file_named_head(tmp_path: Path) -> None:
    from gitdesk import git

    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(path)], check=True)
    repo = git.Repo(path, path / ".git")
    assert git.head(repo) == ("refs/heads/trunk", None)
    (path / "HEAD").write_text("a file named like the ref\n")
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "first"], cwd=path, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()
    assert git.head(repo) == ("refs/heads/trunk", commit)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=path, check=True)
    assert git.head(repo) == (None, commit)
    subprocess.run([b"git", b"switch", b"-q", b"-c", b"caf\xe9"], cwd=path, check=True)  # Latin-1, not UTF-8
    assert git.head(repo) == ("refs/heads/caf\udce9", commit), "a name Git takes round-trips, never crashes"


def test_commit_gpgsign_is_read_as_git_reads_it(tmp_path: Path) -> None:
    from gitdesk import git

    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    repo = git.Repo(path, path / ".git")
    for spelling in ("true", "YES", "on", "false", "no", "off", "", "0", "1", "-1", "01", "00", "10", "0x1f", "0x0",
                     "1k", "1M", "0g", "maybe", "0b1", "0o1", "1_0", " 1 "):
        subprocess.run(["git", "config", "commit.gpgsign", spelling], cwd=path, check=True)
        asked = subprocess.run(["git", "config", "--type=bool", "--get", "commit.gpgsign"], cwd=path,
                               capture_output=True, text=True)
        assert git.commit_settings(repo).sign is (asked.stdout.strip() == "true"), spelling


def test_a_folder_replaced_by_a_file_of_its_name_in_one_commit_keeps_the_file(tmp_path: Path) -> None:
    from gitdesk import git
    from gitdesk.errors import GitError

    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    repo = git.Repo(path, path / ".git")
    author, date = ("Alice", "alice@example.com"), "1700000000 +0000"
    first = git.create_commit(repo, None, {"b/deep/a": b"1\n", "c": b"c\n"}, "one", author, date)
    second = git.create_commit(repo, first, {"b/deep/a": None, "b": b"now a file\n"}, "two", author, date)
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", second], cwd=path, capture_output=True,
                            text=True).stdout.split()
    assert listed == ["b", "c"]
    try:
        git.create_commit(repo, first, {"b": b"a file\n", "b/other": b"and a folder\n"}, "both", author, date)
    except GitError as error:
        assert "both a file and a folder" in str(error)
    else:
        raise AssertionError("a file and a folder of one name were committed")


def test_an_import_stopped_by_an_unsafe_path_fails_at_once_and_leaves_no_ref(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    script = (
        "from pathlib import Path\nfrom gitdesk import git\n"
        f"repo = git.Repo(Path({str(path)!r}), Path({str(path / '.git')!r}))\n"
        "step = lambda files: git.CommitStep(files, 'm', ('Alice', 'alice@example.com'), '1700000000 +0000')\n"
        "try:\n    git.fast_import(repo, None, [step({'a': b'1'}), step({'b\"c': b'2'})])\n"
        "except git.GitError as error:\n    print(error)\n"
    )
    # It used to wait forever for Git, which waited for the rest of the stream.
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "unsafe path for an import: 'b\"c'", done.stderr
    assert subprocess.run(["git", "for-each-ref"], cwd=path, capture_output=True, text=True).stdout == ""


def test_a_landing_of_many_files_that_fails_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    """Many files (an import, a rules run) are written first and synced once, not one by one:
    one that cannot be written still puts everything back."""
    from gitdesk import git, transaction
    from gitdesk.errors import GitdeskError

    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "blocker").write_text("a file where a folder would go\n")
    (path / ".git" / "gitdesk").mkdir()  # as gitdesk's own commands make it, for the journal
    repo = git.Repo(path, path / ".git")
    files: dict[str, bytes | None] = {f"tickets/T{number}.md": b"ticket %d\n" % number for number in range(12)}
    files["blocker/T12.md"] = b"cannot be written\n"
    step = git.CommitStep(files, "import", ("Alice", "alice@example.com"), "1700000000 +0000")
    try:
        transaction.commit_series(repo, [step], "import")
    except GitdeskError as error:
        assert "could not write the files" in str(error)
    else:
        raise AssertionError("a file under a file was written")
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=path).returncode != 0
    assert sorted(entry.name for entry in path.iterdir()) == [".git", "blocker", "tickets"]
    assert list((path / "tickets").iterdir()) == []  # neither the files nor their temp copies
    transaction.commit_series(repo, [git.CommitStep({name: data for name, data in files.items()
                                                     if name.startswith("tickets/")}, "import",
                                                    ("Alice", "alice@example.com"), "1700000000 +0000")], "import")
    assert (path / "tickets" / "T11.md").read_bytes() == b"ticket 11\n"
    assert subprocess.run(["git", "status", "--porcelain", "tickets"], cwd=path, capture_output=True,
                          text=True).stdout == ""


def test_temp_files_a_killed_landing_left_and_git_add_staged_never_reach_a_commit(desk: Desk) -> None:
    """Many files are written as temp files first: a kill then leaves hundreds, which a plain
    `git add -A` stages before any gitdesk command has put things right."""
    script = f"""
import os, signal
from pathlib import Path
from gitdesk import git, transaction
from gitdesk.desk import Desk
desk = Desk.open(Path({str(desk.path)!r}))
original, done = transaction._put, []
def put(*args):
    if done:
        os.kill(os.getpid(), signal.SIGKILL)
    done.append(original(*args))
transaction._put = put
files = {{f"tickets/GD-TEMP{{n:02d}}.md": b"x" for n in range(12)}}
transaction.commit_series(desk.repo, [git.CommitStep(files, "m", ("A", "a@example.com"), "1700000000 +0000")], "m")
"""
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert len(list((desk.path / "tickets").glob(".*.tmp-*"))) >= 11
    desk.git("add", "-A")
    desk.run("check", "--staged", ok=False)  # what the pre-commit hook runs first
    staged = desk.git("diff", "--cached", "--name-only")
    assert ".tmp-" not in staged and not list((desk.path / "tickets").glob(".*.tmp-*"))
    # One that reached the index some other way (a commit of named paths ran the recovery in its
    # own temporary index): the check names it, so no commit carries it.
    left = desk.path / "tickets" / ".GD-TEMP05.md.tmp-4242"
    left.write_text("x")
    desk.git("add", "-f", str(left))
    assert "is a temp file a killed gitdesk command left" in desk.run("check", "--staged", ok=False).stdout
