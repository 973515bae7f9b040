"""The public command surface: every spec command exists, has help with an
example, is documented, and `gitdesk --help` starts without heavy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gitdesk.cli import cli

ROOT = Path(__file__).resolve().parent.parent
# The SPEC's command surface.
COMMANDS = ["init", "new", "list", "show", "edit", "take", "assign", "unassign", "reply", "note", "ask",
            "escalate", "resolve", "close", "reopen", "reject", "set", "label", "link", "time", "check",
            "hooks", "hook", "log", "sync", "merge-file", "search", "similar", "kb", "site", "report", "feedback",
            "intake", "mail", "import", "export", "cc", "watch", "unwatch", "replies", "duplicate", "rules",
            "mcp", "serve"]


def command(name: str) -> click.Command:
    found = cli.get_command(click.Context(cli), name)
    assert found is not None, name
    return found


def test_the_cli_has_exactly_the_spec_commands() -> None:
    assert sorted(cli.list_commands(click.Context(cli))) == sorted(COMMANDS)


def _commands() -> list[list[str]]:
    found = []
    for name in COMMANDS:
        group = command(name)
        if isinstance(group, click.Group):
            found += [[name, sub] for sub in group.commands]
        found.append([name])
    return found


def test_every_command_exists_and_its_help_has_an_example_that_fits_80_columns() -> None:
    for words in _commands():
        result = CliRunner().invoke(cli, [*words, "--help"], terminal_width=80)
        name = " ".join(words)
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"gitdesk {name} --help has no example"
        assert max(map(len, result.output.splitlines())) <= 80, f"gitdesk {name} --help is wider than 80 columns"
        assert f"gitdesk {name}" in result.output, name
        if "Commands:" in result.output:
            assert "..." not in result.output.split("Commands:", 1)[1], f"a summary cut short: gitdesk {name} --help"
        if len(words) > 1 or not isinstance(command(name), click.Group):
            assert "--desk" in result.output and "--as" in result.output, name


def test_every_command_is_documented() -> None:
    docs = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"## gitdesk {name}" in docs, f"docs/commands.md lacks gitdesk {name}"


def test_the_readme_shows_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_code = readme.index("```")
    assert "make demo" in readme[first_code:first_code + 200] and "make test" in readme[first_code:first_code + 200]


def test_help_starts_without_heavy_imports() -> None:
    probe = ("import sys\n"
             "from gitdesk.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in ('git', 'yaml', 'markdown_it', 'rich', 'sqlite3', 'mcp', 'pydantic', "
             "'flask', 'jinja2', 'werkzeug') if m in sys.modules)\n"
             "print('heavy=' + ','.join(heavy))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "heavy="


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list", "--help"]])
def test_python_dash_m_works(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "gitdesk", *args], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout
