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
    holder = _hold_lock_without_fcntl(desk, "time.sleep(2.0)")
    started = time.monotonic()
    result = gitdesk_without_fcntl(desk, "reply", ticket, "-m", "after the holder")
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.5, "it waited"
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
