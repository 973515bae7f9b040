"""The command line: parse options, call one library function, hand the result to render.

Subcommands load lazily (click's ``LazyGroup`` pattern): ``gitdesk --help``
imports only click and the small ``cli`` modules, never YAML, Git, SQLite or
rich. Errors become exit statuses here and nowhere else: a ``GitdeskError``
is a one-line message and exit 1, click's usage errors are one line (with
the usage) and exit 2, Ctrl-C exits 130, anything else is a bug (exit 3,
traceback with ``--debug``).
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gitdesk.cli.options import CONTEXT, Commands, Session
from gitdesk.errors import GitdeskError

# The commands people see in `gitdesk --help`, by what they are for; each is
# "module:function" under gitdesk.cli, imported only when used (or listed).
SECTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Tickets", {"new": "tickets:new", "list": "tickets:list_", "show": "tickets:show", "edit": "tickets:edit"}),
    ("Working a ticket", {
        "take": "verbs:take", "assign": "verbs:assign", "unassign": "verbs:unassign", "reply": "verbs:reply",
        "note": "verbs:note", "ask": "verbs:ask", "escalate": "verbs:escalate", "resolve": "verbs:resolve",
        "close": "verbs:close", "reopen": "verbs:reopen", "reject": "verbs:reject", "set": "verbs:set_",
        "label": "verbs:label", "link": "verbs:link", "duplicate": "verbs:duplicate", "time": "verbs:time_",
        "cc": "verbs:cc", "watch": "verbs:watch", "unwatch": "verbs:unwatch", "replies": "verbs:replies",
    }),
    ("Finding what was solved before", {"search": "finding:search", "similar": "finding:similar",
                                         "kb": "knowledge:kb", "site": "knowledge:site"}),
    ("Reports and the record", {"report": "data:report", "log": "data:log", "feedback": "data:feedback",
                                "export": "data:export", "import": "data:import_"}),
    ("Mail", {"intake": "mail:intake", "mail": "mail:mail"}),
    ("Keeping promises unattended", {"rules": "rules:rules"}),
    ("AI assistants", {"mcp": "assistants:mcp"}),
    ("In a browser", {"serve": "web:serve"}),
    ("Setting up and sharing", {"init": "tickets:init", "sync": "githooks:sync", "check": "githooks:check",
                                "hooks": "githooks:hooks"}),
)
HIDDEN = {"hook": "githooks:hook", "merge-file": "githooks:merge_file"}  # what Git calls, not people
COMMANDS = {name: where for _, commands in SECTIONS for name, where in commands.items()} | HIDDEN


class Gitdesk(Commands):
    """The root group: lazy subcommands, help by section, and errors mapped to exit statuses."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Bytes that are not UTF-8 (a Latin-1 terminal) reach Python as lone surrogates: as a
        # title or a value they would be dropped or fail to be written, so they are refused here,
        # once for every command. A path that exists is the file system's business, not ours.
        for arg in args:
            surrogate = next((char for char in arg if "\ud800" <= char <= "\udfff"), None)
            if surrogate is not None and not os.path.lexists(arg):
                _not_utf8(ctx, surrogate)
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, name = where.split(":")
        command = getattr(importlib.import_module(f"gitdesk.cli.{module}"), name)
        assert isinstance(command, click.Command), where
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:  # `gitdesk --frmat`: before any command is chosen
            raise _one_line(error) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, commands in SECTIONS:
            with formatter.section(title):
                formatter.write_dl(self.summaries(ctx, commands))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitdeskError as error:
            from gitdesk.render import output

            output.note(f"gitdesk: error: {error}")  # one line when piped; wrapped on a terminal
            ctx.exit(1)
        except click.BadParameter as error:
            # A file that is not there, or a folder given for a file: bad input with a fix, one
            # line and exit 1 as intake's "no such eml" is, not a usage error of four lines.
            if isinstance(error, click.MissingParameter) or error.param is None \
                    or not isinstance(error.param.type, (click.Path, click.File)):
                raise _one_line(error) from None  # an argument left out: a usage error
            named = error.param.get_error_hint(ctx).replace("'", "")
            kind = error.param.type
            want = "a folder" if isinstance(kind, click.Path) and not kind.file_okay else \
                "a file" if isinstance(kind, click.File) or (isinstance(kind, click.Path) and not kind.dir_okay) \
                else "a file or folder"
            there = (isinstance(kind, click.Path) and kind.exists) or (
                isinstance(kind, click.File) and "r" in kind.mode)
            click.echo(f"gitdesk: error: {named}: {error.message.rstrip('.')} "
                       f"(give the path of {want}{' that exists' if there else ''})", err=True)
            ctx.exit(1)
        except click.UsageError as error:
            raise _one_line(error) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("gitdesk: interrupted; nothing was changed", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()  # `gitdesk list | head` is not an error
            ctx.exit(0)
        except OSError as error:
            if _output_failed(error):
                # Standard output could not be written (a full disk, > /dev/full): not a bug in gitdesk.
                click.echo(f"gitdesk: error: the output could not be written ({error.strerror or error})", err=True)
                ctx.exit(1)
            if error.filename is None or error.errno not in _MACHINE_ERRORS:
                _bug(ctx, error)
            # A file of the machine's that gitdesk could not read or write: a read-only mount, a full
            # disk, a folder of another user. One line with the fix, not a traceback.
            from gitdesk.text import one_line

            click.echo(one_line(f"gitdesk: error: {error.filename}: {error.strerror or error} "
                                f"({_MACHINE_ERRORS[error.errno]})"), err=True)
            ctx.exit(1)
        except Exception as error:
            if isinstance(error, UnicodeEncodeError) and error.reason == "surrogates not allowed":
                _not_utf8(ctx, error.object[error.start])  # from elsewhere (the environment): bad input too
            if _damaged_cache(error):  # a machine that stopped mid-build: not a bug, and the fix is easy
                click.echo("gitdesk: error: the cache in .git/gitdesk is damaged "
                           f"({error}); delete .git/gitdesk/cache*.sqlite* and run the command again "
                           "(it is rebuilt from the files and Git; nothing is lost)", err=True)
                ctx.exit(1)
            _bug(ctx, error)


def _bug(ctx: click.Context, error: Exception) -> NoReturn:
    """Exit 3 for what gitdesk did not foresee, with the traceback only when asked for it."""
    if ctx.params.get("debug") or os.environ.get("GITDESK_DEBUG"):
        raise error
    click.echo("gitdesk: this is a bug in gitdesk, sorry; run the command again with "
               f"--debug and report the traceback ({type(error).__name__}: {error})", err=True)
    ctx.exit(3)


def _one_line(error: click.UsageError) -> click.UsageError:
    """``error`` to be said on one line; `gitdesk` or `gitdesk mail` alone (click's "no
    arguments: show the help", a usage error too) keeps its help as it is."""
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return error
    return _OneLineUsage(error)


class _OneLineUsage(click.UsageError):
    """A usage error said on one line with the fix, as every other error is: click's own form is
    four lines (usage, a hint, a blank line, the error) for one mistake."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.message, error.ctx)
        self.error = error  # its own format_message says more ("Did you mean '--format'?")

    def show(self, file: Any = None) -> None:
        from gitdesk.text import one_line

        ctx = self.ctx
        where = ""
        if ctx is not None:
            usage = " ".join([ctx.command_path, *ctx.command.collect_usage_pieces(ctx)])  # unwrapped
            where = f" (usage: {usage}; `{ctx.command_path} --help` says more)"
        said = " ".join(self.error.format_message().split()).rstrip(".")  # "Choose from:\n\tqueues,\n\t…"
        click.echo(one_line(f"gitdesk: error: {said}{where}"), err=True)


def _not_utf8(ctx: click.Context, surrogate: str) -> NoReturn:
    byte = surrogate.encode("utf-8", "surrogateescape")[:1]
    click.echo(f"gitdesk: error: a value holds the byte 0x{byte.hex().upper()}, which is not UTF-8 text "
               "(set the terminal or the script that runs gitdesk to UTF-8)", err=True)
    ctx.exit(1)


_MACHINE_ERRORS = {
    errno.EROFS: "the file system is mounted read-only: gitdesk writes there to change the desk",
    errno.EACCES: "check who owns it and its permissions (ls -l); gitdesk runs as you",
    errno.EPERM: "check who owns it and its permissions (ls -l); gitdesk runs as you",
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "your disk quota is used up: free some space and run the command again",
}


def _output_failed(error: OSError) -> bool:
    """Whether ``error`` came from writing standard output: its file is what failed (ENOSPC, EIO)."""
    if error.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
        return False
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return error.filename is None


def _damaged_cache(error: Exception) -> bool:
    """SQLite found the cache's file damaged (SQLITE_CORRUPT, SQLITE_NOTADB): plain DatabaseError,
    not one of its kinds (a busy database is an OperationalError). sqlite3 is not imported for this:
    if it is not loaded, the error cannot be one of its."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and type(error) is sqlite3.DatabaseError


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """--version reads package metadata only when asked (importlib.metadata costs ~30 ms), and
    works from a source tree that was never installed."""
    if not value or ctx.resilient_parsing:
        return
    from gitdesk import __version__

    click.echo(f"gitdesk, version {__version__}")
    ctx.exit()


@click.group(name="gitdesk", cls=Gitdesk, context_settings=CONTEXT)
@click.option("--desk", type=click.Path(file_okay=False, path_type=Path), envvar="GITDESK_DESK",
              help="The desk directory (default: found upward from here).")
@click.option("--as", "as_", metavar="HANDLE", help="Act as this person (handle or email).")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, desk: Path | None, as_: str | None, debug: bool) -> None:
    """gitdesk: a support desk that lives in a Git repository.

    Tickets are Markdown files in tickets/; every action is one Git commit.
    Run `gitdesk COMMAND --help` for a command's options and examples. In
    the examples, GD-01JD8X4K stands for one of your tickets (any unique
    start of its ID will do), and queues and people are the demo desk's.

    \b
    Example:
      gitdesk new "Printer on 2F jams" --queue it-helpdesk
      gitdesk list --mine
    """
    del debug  # read by Gitdesk.invoke from ctx.params
    from gitdesk import git

    git.honour_repository_environment(False)  # only a hook command trusts GIT_DIR, and only for itself
    ctx.obj = Session(desk, as_)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="gitdesk")
    except KeyboardInterrupt:  # before a command started (click's own start-up)
        click.echo("gitdesk: interrupted; nothing was changed", err=True)
        sys.exit(130)
