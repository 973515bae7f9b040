"""docs/commands.md shows every command's real --help: the option lists are
generated (`make docs`) and a test fails when they drift from the code. The
docs pin the release pyproject.toml and CHANGELOG.md name."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "commands.md"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_commands", ROOT / "docs" / "generate_commands.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_commands_md_shows_the_current_help_of_every_command(generator: ModuleType) -> None:
    current = DOC.read_text(encoding="utf-8")
    expected = generator.generate(current)
    if current != expected:
        diff = difflib.unified_diff(current.splitlines(), expected.splitlines(), "docs/commands.md",
                                    "regenerated", lineterm="", n=1)
        shown = "\n".join(list(diff)[:60])
        pytest.fail(f"docs/commands.md is out of date with the CLI's --help: run `make docs` and commit it\n{shown}")


def test_every_visible_command_and_subcommand_has_a_help_block(generator: ModuleType) -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = list(generator.command_paths(generator.root_command()))
    assert ("hooks", "install") in paths and ("kb", "build") in paths
    for path in paths:
        name = " ".join(("gitdesk", *path))
        assert f"<!-- BEGIN {name} --help -->" in text, f"docs/commands.md has no help block for {name}: run `make docs`"


def test_regenerating_keeps_the_hand_written_prose(generator: ModuleType) -> None:
    text = DOC.read_text(encoding="utf-8")
    without_blocks = generator._BLOCK.sub("", text)
    assert "<!-- BEGIN" not in without_blocks and "Usage: gitdesk" not in without_blocks
    assert without_blocks.count("\n## gitdesk ") == text.count("\n## gitdesk ")
    assert generator.generate(without_blocks) == generator.generate(text) == text


class LazyGroup(click.Group):
    """Commands that exist only through list_commands/get_command, like click's
    lazily loading groups: `commands` stays empty."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["beta", "alpha", "secret"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "alpha":
            group = click.Group("alpha", help="Alpha things.")
            group.add_command(click.Command("one", help="The first.", callback=lambda: None))
            return group
        if cmd_name in ("beta", "secret"):
            return click.Command(cmd_name, help=f"{cmd_name.title()}.", hidden=cmd_name == "secret",
                                 params=[click.Option(["--level"], type=int, help="How much.")])
        return None


def test_the_generator_walks_a_lazy_group_and_skips_hidden_commands(generator: ModuleType) -> None:
    root = LazyGroup("gitdesk", help="A lazy root.")
    assert not root.commands
    assert list(generator.command_paths(root)) == [(), ("beta",), ("alpha",), ("alpha", "one")]
    text = generator.generate("# Commands\n\nIntro.\n\n## gitdesk alpha\nHand-written.\n", root)
    assert text.startswith("# Commands\n\nIntro.\n\n<!-- BEGIN gitdesk --help -->\n```text\nUsage: gitdesk [OPTIONS]")
    assert "## gitdesk alpha\nHand-written.\n\n<!-- BEGIN gitdesk alpha --help -->" in text
    assert "<!-- END gitdesk alpha --help -->\n\n<!-- BEGIN gitdesk alpha one --help -->" in text
    # A command the page has no section for gets one at the end, for its prose to be written.
    assert "\n## gitdesk beta\n<!-- BEGIN gitdesk beta --help -->" in text
    assert "--level INTEGER  How much." in text
    assert "secret" not in text.split("<!-- END gitdesk --help -->")[1]
    assert generator.generate(text, root) == text


def test_the_docs_pin_the_release_that_pyproject_and_the_changelog_name() -> None:
    version = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(encoding="utf-8"),
                        re.MULTILINE)
    assert version
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(version[1])}\b", changelog, re.MULTILINE), \
        f"CHANGELOG.md has no '## {version[1]}' entry"
    # releasing.md is left out: its numbers are a worked example.
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.yml")]
    pins = [(page.relative_to(ROOT).as_posix(), found[1])
            for page in pages if page.name != "releasing.md"
            for found in re.finditer(r"(?:rev: |/gitdesk@)v(\d[\w.]*)", page.read_text(encoding="utf-8"))]
    assert ("docs/hooks.md", version[1]) in pins
    assert [pin for pin in pins if pin[1] != version[1]] == [], f"the docs should pin v{version[1]}"
