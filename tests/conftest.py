"""Fixtures that build real Git repositories with a desk in them.

Every test runs with its own HOME (a pinned Git identity, no user or system
config), TZ=UTC and no inherited GIT_* variables, like pre-commit's suite.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from gitdesk.cli import cli

# Properties, not timings: speed is measured in bench/, and a loaded CI machine (or coverage's
# tracing, .ci/choose-py310-tests) once paused one example past hypothesis's 200 ms deadline.
settings.register_profile("gitdesk", deadline=None)
# CI's second pass (below) is for what a call does on 3.10, not for finding new examples: the
# first pass searched with the full number.
settings.register_profile("gitdesk-second-pass", deadline=None, max_examples=25)
settings.load_profile("gitdesk-second-pass" if os.environ.get("GITDESK_TEST_SECOND_PASS") == "1" else "gitdesk")

# CI's second pass, on Python 3.10 (.ci/run sets GITDESK_TEST_SECOND_PASS=1 for it and
# nothing else), leaves out the tests listed in this file: every line and branch of
# gitdesk/ they reach is reached by a test that runs there too (.ci/choose-py310-tests
# measured it and says why). Keeps CI well inside its budget. By the pass, not by the
# version: where python3 is 3.10, the first pass must still run everything.
DEFAULT_PYTHON_ONLY = Path(__file__).with_name("default-python-only.txt")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GITDESK_TEST_SECOND_PASS") != "1":
        return
    listed = {line for line in DEFAULT_PYTHON_ONLY.read_text().splitlines() if line and not line.startswith("#")}
    left_out = [item for item in items if item.nodeid in listed]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.nodeid not in listed]


TEST_CONFIG = """\
desk:
  name: Test desk
  id_prefix: GD
people:
  alice: {name: Alice Agent, email: alice@example.com, team: it}
  bob: {name: Bob Agent, email: bob@example.com, team: it}
  dana: {name: Dana Lead, email: dana@example.com, team: it}
  fred: {name: Fred Facilities, email: fred@example.com, team: facilities}
  gina: {name: Gina Facilities, email: gina@example.com, team: facilities}
  carol: {name: Carol Requester, email: carol@example.com, team: sales}
queues:
  it-helpdesk:
    name: IT helpdesk
    members: [alice, bob]
    escalate_to: it-infra
    assign: manual
  it-infra:
    name: IT infrastructure
    members: [dana]
    assign: round-robin
  facilities:
    name: Facilities
    members: [fred, gina]
    assign: fewest-open
categories:
  email: Email and calendar
  hardware: Computers and printers
  network: Wi-Fi and VPN
  facilities: The office
"""


def git(path: Path, *args: str, input: str | None = None, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, input=input,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    isolate(tmp_path_factory, monkeypatch)
    yield
    time.tzset()


def isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A HOME with a pinned Git identity, no inherited Git or gitdesk settings, UTC."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Alice Agent\n\temail = alice@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    for name in list(os.environ):
        if name.startswith(("GIT_", "GITDESK_")) or name in ("EDITOR", "VISUAL", "EMAIL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    empty_templates = home / "git-templates"
    empty_templates.mkdir()
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(empty_templates))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


class Desk:
    """A real desk in a temporary Git repository, driven through the CLI."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.monkeypatch = monkeypatch

    def run(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        result = CliRunner().invoke(cli, ["--desk", str(self.path), *args], input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"gitdesk {' '.join(args)} exited {result.exit_code}:\n{result.output}"
            ) from result.exception
        return result

    def fails(self, *args: str, code: int = 1, input: str | None = None) -> str:
        """Run a command that must fail; return its one-line error."""
        result = self.run(*args, ok=False, input=input)
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    def new(self, title: str = "Printer on 2F jams", *args: str) -> str:
        result = self.run("new", title, "--format", "json", *args)
        import json

        return str(json.loads(result.stdout)["id"])

    def at(self, when: str) -> None:
        """Fix gitdesk's clock (GITDESK_NOW)."""
        self.monkeypatch.setenv("GITDESK_NOW", when)

    def git(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return git(self.path, *args, input=input, check=check)

    @property
    def config(self) -> str:
        return (self.path / ".gitdesk" / "config.yml").read_text()

    def configure(self, config: str, message: str) -> None:
        """Replace the desk's configuration and commit it, as a team lead would."""
        (self.path / ".gitdesk" / "config.yml").write_text(config)
        self.git("commit", "-qam", message)

    def file(self, ticket_id: str) -> Path:
        return self.path / "tickets" / f"{ticket_id}.md"

    def text(self, ticket_id: str) -> str:
        return self.file(ticket_id).read_text(encoding="utf-8")

    def solve_by_hand(self, ticket_id: str, status: str, note: str, message: str) -> None:
        """Resolve a ticket in its file, as someone in an editor would, and commit it with plain
        Git: no command runs, so nobody is mailed."""
        path = self.file(ticket_id)
        text = path.read_text(encoding="utf-8").replace(f"status: {status}", "status: resolved", 1)
        path.write_text(text.rstrip("\n") + f"\n\n## Resolution\n\n{note}\n", encoding="utf-8")
        self.git("commit", "-qam", message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").strip())

    def last_message(self, rev: str = "HEAD") -> str:
        return self.git("log", "-1", "--format=%B", rev)

    def committed_files(self, rev: str = "HEAD") -> list[str]:
        return [line for line in self.git("show", "--name-only", "--format=", "-z", rev).split("\0") if line.strip()]

    def status(self) -> str:
        return self.git("status", "--porcelain")


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; the test is skipped where either is
    missing (``make test`` installs Chromium where it may: see .ci/ensure-chromium)."""
    path = next((found for found in map(shutil.which, ("chromium", "chromium-browser")) if found), None)
    if path is None:
        pytest.skip("Debian's chromium is not installed (make test installs it where it may: see .ci/ensure-chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the test extra: pip install -e '.[test]')")
    with sync_playwright() as driver:
        # The flags keep Chromium off the network this machine does not have.
        browser = driver.chromium.launch(
            executable_path=path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions: a click returns once the navigation commits, so a plain
    read may still see the old page (or a new one not yet parsed)."""
    from playwright.sync_api import expect as retrying
    return retrying(locator)


def member(origin: Path, path: Path, who: str, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """A clone of the team's remote, with the hooks installed, as `team-sandbox` makes them."""
    subprocess.run(["git", "clone", "-q", str(origin), str(path)], check=True)
    git(path, "config", "user.email", f"{who}@example.com")
    git(path, "config", "user.name", who.title())
    clone = Desk(path, monkeypatch)
    clone.run("hooks", "install")
    return clone


def make_desk(path: Path, monkeypatch: pytest.MonkeyPatch, config: str = TEST_CONFIG,
              *, own_repository: bool = True) -> Desk:
    path.mkdir(parents=True, exist_ok=True)
    if own_repository:
        git(path, "init", "-q")
    desk = Desk(path, monkeypatch)
    desk.run("init")
    (path / ".gitdesk" / "config.yml").write_text(config)
    git(path, "commit", "-qm", "Test config", "--", ".gitdesk/config.yml")
    return desk


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return make_desk(tmp_path / "desk", monkeypatch)


@pytest.fixture(scope="session")
def example_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example desk as ``make demo`` builds it, replayed once per run: the first
    xdist worker to need it builds it in the run's shared temporary folder while any
    other waits (pytest-xdist's loadgroup cannot keep two tests on one worker with
    pytest 9.2, pytest-xdist#1386). Its tests only read it; the cache under
    .git/gitdesk is theirs to share, as two commands of one person would."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's, not the worker's
    path, done = shared / "example-desk", shared / "example-desk.built"
    with open(shared / "example-desk.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            monkeypatch = pytest.MonkeyPatch()
            isolate(tmp_path_factory, monkeypatch)
            try:
                replay = Path(__file__).resolve().parent.parent / "example-repo" / "replay.py"
                subprocess.run([sys.executable, str(replay), str(path)], check=True, capture_output=True)
            finally:
                monkeypatch.undo()
            done.touch()
    return path


def gitdesk_process(*args: str, cwd: Path, env: dict[str, str] | None = None,
                    **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run gitdesk as a real separate process (python -m gitdesk)."""
    return subprocess.run([sys.executable, "-m", "gitdesk", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, check=False, **kwargs)  # type: ignore[call-overload]
