"""Write every command's ``--help`` into docs/commands.md: ``make docs``.

The prose of docs/commands.md is written by hand; only the blocks between
``<!-- BEGIN gitdesk NAME --help -->`` and ``<!-- END gitdesk NAME --help -->``
are generated, so option lists cannot drift from the code (tests/test_docs.py
fails when they do). Each command's block goes at the end of its
``## gitdesk NAME`` section, a subcommand's after its group's; ``gitdesk --help``
goes before the first section; a command without a section gets one at the end.

The command tree is walked only through click's public ``list_commands`` and
``get_command``, so a lazily loading root group works the same, and hidden
commands are left out.

    python docs/generate_commands.py           # rewrite docs/commands.md
    python docs/generate_commands.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

DOC = Path(__file__).resolve().parent / "commands.md"
PROG = "gitdesk"
WIDTH = 80  # fixed, so the text does not depend on the terminal that ran `make docs`
_BLOCK = re.compile(r"<!-- BEGIN (?P<name>[^>]*?) --help -->\n.*?<!-- END (?P=name) --help -->\n", re.DOTALL)


def root_command() -> click.Command:
    from gitdesk.cli import cli

    return cli


def command_paths(root: click.Command) -> Iterator[tuple[str, ...]]:
    """``()`` for the root, then every visible command, each group before its subcommands."""
    yield ()
    yield from _walk(root, click.Context(root, info_name=PROG), ())


def _walk(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if not isinstance(command, click.Group):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield (*path, name)
        yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name))


def help_text(root: click.Command, path: tuple[str, ...]) -> str:
    """What ``gitdesk PATH --help`` prints on an 80-column terminal."""
    result = CliRunner().invoke(root, [*path, "--help"], prog_name=PROG, terminal_width=WIDTH,
                                catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join((PROG, *path, '--help'))} exited {result.exit_code}:\n{result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def block(path: tuple[str, ...], text: str) -> str:
    name = " ".join((PROG, *path))
    return f"<!-- BEGIN {name} --help -->\n```text\n{text}\n```\n<!-- END {name} --help -->\n"


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first ``## `` heading, then (heading, body) pairs.
    A ``## `` line inside a fenced code block is not a heading."""
    preamble: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append((line.rstrip("\n"), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return "".join(preamble), [(heading, "".join(body)) for heading, body in sections]


def render(text: str, helps: dict[tuple[str, ...], str]) -> str:
    """``text`` with its generated blocks replaced by those of ``helps``. Nothing else
    changes, except that chunks end up separated by exactly one blank line."""
    preamble, sections = _sections(_BLOCK.sub("", text))
    blocks: dict[str, list[str]] = {}  # section heading ("" for the preamble) -> its blocks
    for path, help_ in helps.items():
        blocks.setdefault(f"## {PROG} {path[0]}" if path else "", []).append(block(path, help_))
    known = {heading for heading, _ in sections}
    sections += [(heading, "") for heading in blocks if heading and heading not in known]
    chunks = [_join(preamble, *blocks.get("", []))]
    for heading, body in sections:
        lead = body[:len(body) - len(body.lstrip("\n"))]  # a blank line under a heading stays
        chunks.append(f"{heading}\n{lead}{_join(body, *blocks.get(heading, []))}")
    return _join(*chunks)


def _join(*chunks: str) -> str:
    """The non-empty chunks, each ending in one newline, one blank line apart."""
    return "\n".join(chunk.strip("\n") + "\n" for chunk in chunks if chunk.strip())


def generate(text: str, root: click.Command | None = None) -> str:
    root = root if root is not None else root_command()
    return render(text, {path: help_text(root, path) for path in command_paths(root)})


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    new = generate(current)
    if new == current:
        print(f"{DOC.name}: up to date")
        return 0
    if "--check" in argv:
        print(f"{DOC.name} is out of date with the CLI's --help: run `make docs` and commit it", file=sys.stderr)
        return 1
    DOC.write_text(new, encoding="utf-8")
    print(f"{DOC.name}: updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
