"""What every command shares: the session (desk and actor), ``--desk``/``--as``,
``--format``, the ticket ID argument, text from ``-m``/``--file``, and the list
filters that ``list`` and ``search`` both take. Only click is imported here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from gitdesk.desk import Actor, Desk
    from gitdesk.listing import Filters

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
ATTACH_MOST = 100_000_000  # bytes of one --attach file: every clone keeps it for ever
LIMIT = 1_000_000  # a --limit above this means all: SQLite holds no larger number than 2**63


class Commands(click.Group):
    """A group of subcommands (mail, kb, …) whose list says each one's first sentence whole, as
    the root's does: click's cut at 45 characters left "each message..." in the middle of it."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = self.summaries(ctx, self.list_commands(ctx))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            from gitdesk.text import closest

            shown = [command for command, _ in self.summaries(ctx, self.list_commands(ctx))]
            # "LIST" is list; "lsit" is list, not site (two letters swapped, as fingers do).
            typed = name.casefold()
            meant = next((command for command in shown if command == typed), None) or next(
                (command for command in shown if sorted(command) == sorted(typed)), None) or closest(typed, shown)
            if meant is not None:
                ctx.fail(f"No such command '{name}'. Did you mean '{meant}'?")
        return super().resolve_command(ctx, args)

    def summaries(self, ctx: click.Context, names: Iterable[str]) -> list[tuple[str, str]]:
        """(name, first sentence, whole) of each shown subcommand among ``names``."""
        return [(name, command.get_short_help_str(limit=150)) for name in names
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]


class _Limit(click.IntRange):
    """A whole number from 1 up, where a huge one means all."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return min(super().convert(value, param, ctx), LIMIT)


LIMIT_TYPE = _Limit(min=1)


@dataclass
class Session:
    """One invocation: the desk (opened once, when first needed) and who is acting."""

    desk_path: Path | None = None
    as_: str | None = None
    _desk: Desk | None = None

    @property
    def desk(self) -> Desk:
        return self._open(prefetch=False)

    @property
    def indexed_desk(self) -> Desk:
        """The desk, for a command that reads the index: Git's check of the tickets starts
        as soon as the desk is found, and runs while this process reads the config and
        imports the rest (``gitdesk.cache.gitstate``)."""
        return self._open(prefetch=True)

    def _open(self, *, prefetch: bool) -> Desk:
        if self._desk is None:
            from gitdesk import paths

            location = paths.locate(self.desk_path, explicit=self.desk_path is not None)
            from gitdesk.githooks import install

            if install.repair_needed(location.repo):  # before any pull runs them
                from gitdesk.render import output

                for line in install.repair(location.repo):
                    output.note(f"gitdesk: {line}")
            from gitdesk.desk import finish_interrupted

            done = finish_interrupted(location.repo)  # before anything reads the files a killed writer left
            if done in ("under way", "completed", "rolled back"):
                from gitdesk.render import output

                if done == "under way":
                    output.note("gitdesk: note: another gitdesk is writing to this desk right now (an import?); "
                                "what this shows may be part-way")
                else:
                    output.note(f"gitdesk: an interrupted gitdesk had left an action half done; it was {done}")
            if prefetch:
                from gitdesk.cache import gitstate

                gitstate.prefetch(location)
            from gitdesk import cache
            from gitdesk.desk import Desk
            from gitdesk.render import progress

            self._desk = cache.attach(Desk.at(location))
            self._desk.progress = progress.bar
        elif prefetch:
            from gitdesk.cache import gitstate

            gitstate.prefetch(self._desk)
        return self._desk

    def actor(self) -> Actor:
        return self.desk.actor(self.as_)

    def start(self) -> Path:
        """Where to look for a repository (commands that work without a desk)."""
        return self.desk_path or Path.cwd()


pass_session = click.make_pass_decorator(Session, ensure=True)


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(ctx.ensure_object(Session), name, value)

    return callback


def _paragraphs(context: click.Context, parameter: click.Parameter, values: tuple[str, ...]) -> str | None:
    del context, parameter
    return "\n\n".join(values) if values else None


def message_option(*names: str, help: str, required: bool = False) -> Callable[[F], F]:
    """``-m TEXT``, which may be given more than once: the texts are joined as paragraphs, as
    ``git commit -m A -m B`` joins them (click would otherwise keep only the last)."""
    return click.option(*names, multiple=True, callback=_paragraphs, required=required,
                        help=f"{help} Several -m are joined as paragraphs.")


def desk_options(function: F) -> F:
    """``--desk`` and ``--as`` on every command, as well as on ``gitdesk`` itself."""
    function = click.option("--as", "as_", metavar="HANDLE", expose_value=False, callback=_store("as_"),
                            help="Act as this person (handle or email).")(function)
    function = click.option("--desk", type=click.Path(file_okay=False, path_type=Path),
                            expose_value=False, callback=_store("desk_path"),
                            help="The desk directory (default: found upward from here).")(function)
    return function


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(list(choices or ("table", "json", "csv"))),
                        default="table", show_default=True, help="Output format.")


ticket_id = click.argument("ticket_id", metavar="ID")


def _read_files(context: click.Context, parameter: click.Parameter,
                paths: tuple[Path, ...]) -> tuple[tuple[str, bytes], ...]:
    """Each file's name and bytes, read when the command starts: a file moved away while the
    editor is open is still attached as it was given, and one that cannot be read is bad input."""
    files = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read(ATTACH_MOST + 1)  # /dev/zero, a disk image: never all of it
        except OSError as error:
            raise click.BadParameter(f"{path}: {error.strerror or error}", context, parameter) from None
        if len(data) > ATTACH_MOST:
            from gitdesk.errors import ValidationError

            raise ValidationError(f"{path} is larger than {ATTACH_MOST // 1_000_000} MB, too large to keep in the "
                                  "desk's Git history", hint="put it on a file share and link to it")
        files.append((path.name, data))
    return tuple(files)


def attach_option(help: str) -> Callable[[F], F]:
    """``--attach PATH`` (repeatable), given to the command as (file name, bytes) pairs."""
    return click.option("--attach", "attach", multiple=True, callback=_read_files, help=help,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path))


def read_text(message: str | None, message_file: IO[str] | None, what: str, *, required: bool = True) -> str | None:
    """Text given with ``-m TEXT`` or ``--file F`` (not both)."""
    if message is not None and message_file is not None:
        raise click.UsageError(f"give the {what} with -m or --file, not both")
    if message_file is not None:
        return message_file.read()
    if message is None and required:
        raise click.UsageError(f"give the {what} with -m TEXT or --file F")
    return message


def in_editor(text: str) -> str | None:
    """``text`` as the person left it in their editor (None: closed without saving); an editor
    that cannot start is one line with the fix, not click's bare "Editing failed"."""
    from gitdesk.errors import GitdeskError

    try:
        return click.edit(text, extension=".md", require_save=False)
    except click.ClickException as error:
        raise GitdeskError(f"could not open your editor: {error.format_message()}",
                           hint="set EDITOR (or VISUAL) to an editor that exists, e.g. export EDITOR=nano") from None


def one_of(**flags: bool) -> str | None:
    """The one flag of several that exclude each other that was given (``--staged``/``--all``),
    or None; two of them are a usage mistake, not "the last one wins"."""
    given = [name for name, on in flags.items() if on]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join('--' + name.rstrip('_') for name in given)} exclude each other")
    return given[0].rstrip("_") if given else None


def when(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """A --since/--until value; a bare date as --until means up to the end of that day."""
    if not text:
        return None
    from datetime import timedelta

    from gitdesk.clock import parse_time

    value = parse_time(text)
    if end_of_day and len(text.strip()) == 10:
        value += timedelta(days=1)
    return value


# --- the list filters, shared by list and search ------------------------------------


@dataclass(frozen=True, slots=True)
class FilterOptions:
    statuses: tuple[str, ...]
    queue: str | None
    assignee: str | None
    unassigned: bool
    mine: bool
    requester: str | None
    category: str | None
    asset: str | None
    labels: tuple[str, ...]
    team: str | None

    def resolve(self, session: Session, default_statuses: tuple[str, ...] = ()) -> Filters:
        """The library's filters; ``--mine`` becomes the acting person's handle."""
        from gitdesk.errors import GitdeskError
        from gitdesk.listing import Filters

        assignee = self.assignee
        if sum(bool(given) for given in (self.mine, assignee, self.unassigned)) > 1:
            raise click.UsageError("--assignee, --mine and --unassigned exclude each other")
        if self.mine:
            person = session.actor().person
            if person is None:
                raise GitdeskError("--mine needs you to be one of the desk's people", hint="pass --as HANDLE")
            assignee = person.handle
        return Filters(statuses=self.statuses or default_statuses, queue=self.queue, assignee=assignee,
                       unassigned=self.unassigned, requester=self.requester, category=self.category,
                       asset=self.asset, labels=self.labels, team=self.team)

    def constant_columns(self) -> list[str]:
        """Columns every listed row has the same value in, so a table need not show them."""
        hidden = []
        if self.queue:
            hidden.append("queue")
        if self.mine or self.assignee or self.unassigned:
            hidden.append("assignee")
        if len(self.statuses) == 1 and self.statuses[0] != "all":
            hidden.append("status")
        return hidden


_FILTERS = (
    click.option("--status", "-s", "statuses", multiple=True,
                 help="Only this status (repeatable; 'all' for every status)."),
    click.option("--queue", "-q", help="Only this queue."),
    click.option("--assignee", help="Only tickets assigned to this person."),
    click.option("--unassigned", is_flag=True, help="Only tickets nobody has taken."),
    click.option("--mine", is_flag=True, help="Only tickets assigned to you."),
    click.option("--team", help="Only tickets assigned to this team's people."),
    click.option("--requester", "-r", help="Only tickets from this requester (email or handle)."),
    click.option("--category", "-c", help="Only this category."),
    click.option("--asset", "-a", help="Only this asset."),
    click.option("--label", "-l", "labels", multiple=True, help="Only tickets with this label (repeatable)."),
)
_FILTER_NAMES = ("statuses", "queue", "assignee", "unassigned", "mine", "team", "requester", "category", "asset",
                 "labels")


def list_filters(function: F) -> F:
    """The filters of ``gitdesk list``, handed to the command as one ``chosen: FilterOptions``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = FilterOptions(**{name: kwargs.pop(name) for name in _FILTER_NAMES})
        return function(*args, chosen=chosen, **kwargs)

    for option in reversed(_FILTERS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]
