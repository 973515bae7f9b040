"""What a new user meets first: the name `gitdesk init` gives a desk, the version
`gitdesk --version` reports, and shell completion from the installed command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Desk

from gitdesk.cli import cli
from gitdesk.config import parse_config
from gitdesk.paths import CONFIG_PATH

ROOT = Path(__file__).resolve().parent.parent
# The installed entry point, next to the interpreter running the tests (the venv's bin/).
GITDESK = Path(sys.executable).parent / "gitdesk"


def _desk_name_after_init(folder: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["init", str(folder), *args])
    assert result.exit_code == 0, result.output
    return parse_config((folder / CONFIG_PATH).read_text(encoding="utf-8")).desk_name


@pytest.mark.parametrize(("folder", "expected"), [
    ("desk", "Support desk"),
    ("helpdesk", "Support desk"),
    ("support-desk", "Support desk"),
    ("tickets", "Support desk"),
    ("acme", "Acme support desk"),
    ("it-helpdesk", "IT support desk"),
    ("Fernhill_IT", "Fernhill IT support desk"),
    ("customer-care", "Customer Care support desk"),
])
def test_init_names_the_desk_the_way_people_would(tmp_path: Path, folder: str, expected: str) -> None:
    assert _desk_name_after_init(tmp_path / folder) == expected


def test_a_new_desk_starts_on_main_unless_git_is_told_otherwise(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI examples (docs/ci/) run on main; a team whose Git names another first branch keeps it."""
    import subprocess

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in (("user.name", "Alice"), ("user.email", "alice@example.com")):
        subprocess.run(["git", "config", "--global", key, value], check=True)
    _desk_name_after_init(tmp_path / "one")
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=tmp_path / "one", capture_output=True,
                            text=True, check=True).stdout.strip()
    assert branch == "main"
    subprocess.run(["git", "config", "--global", "init.defaultBranch", "trunk"], check=True)
    _desk_name_after_init(tmp_path / "two")
    assert subprocess.run(["git", "branch", "--show-current"], cwd=tmp_path / "two", capture_output=True,
                          text=True, check=True).stdout.strip() == "trunk"


def test_init_with_a_name_uses_it_as_given(tmp_path: Path) -> None:
    assert _desk_name_after_init(tmp_path / "desk", "--name", "Acme support") == "Acme support"


def _pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    assert found, "pyproject.toml has no version line"
    return found.group(1)


def test_the_version_is_defined_once_in_pyproject() -> None:
    import gitdesk

    assert gitdesk.__version__ == metadata.version("gitdesk") == _pyproject_version()
    # `make install` reinstalls when pyproject.toml changes; a stale venv would show here.
    result = subprocess.run([str(GITDESK), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout == f"gitdesk, version {_pyproject_version()}\n"


def test_importing_gitdesk_reads_no_metadata() -> None:
    probe = "import sys, gitdesk\nprint('importlib.metadata' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_help_reads_no_package_metadata() -> None:
    probe = ("import sys\nfrom gitdesk.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('importlib.metadata' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("with_pyproject", [True, False])
def test_a_source_tree_that_was_never_installed_still_has_a_version(tmp_path: Path, with_pyproject: bool) -> None:
    shutil.copytree(ROOT / "gitdesk", tmp_path / "gitdesk", ignore=shutil.ignore_patterns("__pycache__"))
    if with_pyproject:
        shutil.copy(ROOT / "pyproject.toml", tmp_path)
    # -S: no site-packages, so no installed gitdesk and no metadata to find.
    result = subprocess.run([sys.executable, "-S", "-c", "import gitdesk; print(gitdesk.__version__)"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == (_pyproject_version() if with_pyproject else "0+unknown")


def _complete(words: str) -> list[str]:
    """Ask the installed gitdesk for bash completions, through the script bash would source."""
    # What bash does on TAB: set COMP_WORDS/COMP_CWORD and call the function that
    # `complete -p gitdesk` names, with the command as $1.
    script = ('eval "$(_GITDESK_COMPLETE=bash_source gitdesk)"\n'
              'complete -p gitdesk | grep -q -- "-F _gitdesk_completion gitdesk$"\n'
              f"COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n"
              '_gitdesk_completion gitdesk\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{GITDESK.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_offers_commands_and_subcommands() -> None:
    assert {"list", "new", "kb", "report"} <= set(_complete("gitdesk ''"))
    assert _complete("gitdesk lis") == ["list"]
    assert _complete("gitdesk kb b") == ["build"]
    assert "--queue" in _complete("gitdesk list --qu")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completion_offers_subcommands(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{GITDESK.parent}{os.pathsep}{os.environ['PATH']}"}
    script = subprocess.run(["gitdesk"], env={**env, "_GITDESK_COMPLETE": "fish_source"}, capture_output=True,
                            text=True, check=True).stdout
    (tmp_path / "gitdesk.fish").write_text(script)  # what docs/install.md puts in fish's completions folder
    result = subprocess.run(["fish", "--no-config", "-c", f"source {tmp_path / 'gitdesk.fish'}; complete -C 'gitdesk kb '"],
                            env=env, capture_output=True, text=True, check=True)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["build", "search"]


def test_gitdesk_mcp_without_its_extra_says_how_to_install_it(desk: Desk) -> None:
    # The MCP SDK is the optional extra gitdesk[mcp]; None in sys.modules makes its import fail
    # as it does where it was never installed.
    probe = ("import sys\nsys.modules['mcp'] = None\nfrom gitdesk.cli import main\n"
             f"main(['--desk', {str(desk.path)!r}, 'mcp'])\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stdout == ""  # stdout is the protocol's, even for an error
    assert result.stderr == ("gitdesk: error: gitdesk mcp needs the MCP SDK, which is not installed "
                             "(pip install 'gitdesk[mcp]')\n")


def test_gitdesk_serve_without_its_extra_says_how_to_install_it(desk: Desk) -> None:
    # Flask was imported only once the server bound: a missing one was "a bug in gitdesk" (exit 3).
    probe = ("import sys\nsys.modules['werkzeug'] = None\nsys.modules['flask'] = None\nfrom gitdesk.cli import main\n"
             f"main(['--desk', {str(desk.path)!r}, 'serve'])\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert (result.returncode, result.stderr) == (1, "gitdesk: error: gitdesk serve needs Flask (flask is missing) "
                                                     "(pip install 'gitdesk[web]')\n")
