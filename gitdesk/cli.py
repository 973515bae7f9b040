"""The command line: parse options, call one library function, render the result.

Only ``click`` and ``gitdesk.errors`` are imported at module level so that
``gitdesk --help`` starts instantly; each command imports what it needs.
Every ``GitdeskError`` becomes a one-line message and exit status 1 in
``main``; click's usage errors exit 2; anything else is a bug.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitdesk import __version__
from gitdesk.errors import GitdeskError

if TYPE_CHECKING:
    from gitdesk.desk import Actor, Desk

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FORMAT = click.Choice(["table", "json", "csv"])


@dataclass
class Settings:
    desk_path: Path | None = None
    as_: str | None = None
    _desk: Desk | None = None

    @property
    def desk(self) -> Desk:
        if self._desk is None:
            from gitdesk.desk import Desk

            self._desk = Desk.open(self.desk_path, explicit=self.desk_path is not None)
        return self._desk

    def actor(self) -> Actor:
        return self.desk.actor(self.as_)


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(ctx.ensure_object(Settings), name, value)

    return callback


def desk_options(function: F) -> F:
    """``--desk`` and ``--as`` on every command, as well as on ``gitdesk`` itself."""
    function = click.option("--as", "as_", metavar="HANDLE", expose_value=False, callback=_store("as_"),
                            help="Act as this person (handle or email).")(function)
    function = click.option("--desk", type=click.Path(file_okay=False, path_type=Path),
                            expose_value=False, callback=_store("desk_path"),
                            help="The desk directory (default: found upward from here).")(function)
    return function


def pass_settings(function: F) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(click.get_current_context().ensure_object(Settings), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def format_option(choices: click.Choice[str] = FORMAT) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=choices, default="table", show_default=True,
                        help="Output format.")


class GitdeskGroup(click.Group):
    """Maps errors to exit statuses in one place: GitdeskError → 1 with a one-line
    message, click usage errors → 2 (click's own), anything else → "this is a bug"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitdeskError as error:
            click.echo(f"gitdesk: error: {error}", err=True)
            ctx.exit(1)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("gitdesk: interrupted; nothing was changed", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()  # `gitdesk list | head` is not an error
            ctx.exit(0)
        except Exception as error:
            if ctx.params.get("debug") or os.environ.get("GITDESK_DEBUG"):
                raise
            click.echo("gitdesk: this is a bug in gitdesk, sorry; run the command again with "
                       f"--debug and report the traceback ({type(error).__name__}: {error})", err=True)
            ctx.exit(3)


@click.group(name="gitdesk", cls=GitdeskGroup, context_settings=CONTEXT)
@click.option("--desk", type=click.Path(file_okay=False, path_type=Path), envvar="GITDESK_DESK",
              help="The desk directory (default: found upward from here).")
@click.option("--as", "as_", metavar="HANDLE", help="Act as this person (handle or email).")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.version_option(__version__, prog_name="gitdesk")
@click.pass_context
def cli(ctx: click.Context, desk: Path | None, as_: str | None, debug: bool) -> None:
    """gitdesk: a support desk that lives in a Git repository.

    Tickets are Markdown files in tickets/; every action is one Git commit.

    \b
    Example:
      gitdesk new "Printer on 2F jams" --queue it-helpdesk
      gitdesk list --mine
    """
    ctx.obj = Settings(desk, as_)


# --- setting up ------------------------------------------------------------------


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The desk's name (default: from the directory).")
@desk_options
@pass_settings
def init(settings: Settings, directory: Path | None, name: str | None) -> None:
    """Create a desk here (or in DIRECTORY): config, templates, one commit.

    Runs git init first when the directory is not in a repository yet. The
    config it writes is commented and works as is, with you as the only agent.

    \b
    Example:
      mkdir helpdesk && cd helpdesk && gitdesk init
    """
    from gitdesk import desk as desks
    from gitdesk import render

    result = desks.create(directory or settings.desk_path or Path.cwd(), name)
    render.info(f"Initialised a desk in {result.root} [{result.commit[:7]}]"
                + (" (new Git repository)" if result.created_repository else ""))
    render.info(f"You are '{result.handle}'. Edit .gitdesk/config.yml to add people and queues.")


# --- creating and reading ----------------------------------------------------------


@cli.command()
@click.argument("title", required=False)
@click.option("--requester", "-r", help="Who asked: email or handle (default: you).")
@click.option("--queue", "-q", help="Put it straight into a queue (status open).")
@click.option("--priority", "-p", help="Priority (default from config).")
@click.option("--category", "-c", help="Category.")
@click.option("--asset", "-a", help="Machine or system concerned, e.g. laptop-0042.")
@click.option("--label", "-l", "labels", multiple=True, help="Label (repeatable).")
@click.option("--assignee", help="Assign it right away.")
@click.option("--body", "-m", help="Description text.")
@click.option("--body-file", type=click.File("r", encoding="utf-8"),
              help="Read the description from a file ('-' for stdin).")
@click.option("--edit", "force_edit", is_flag=True,
              help="Open $EDITOR on the template even when not on a terminal.")
@format_option(click.Choice(["table", "json"]))
@desk_options
@pass_settings
def new(settings: Settings, title: str | None, requester: str | None, queue: str | None,
        priority: str | None, category: str | None, asset: str | None, labels: tuple[str, ...],
        assignee: str | None, body: str | None, body_file: Any, force_edit: bool, fmt: str) -> None:
    """Create a ticket and commit it.

    Without --body/--body-file on a terminal, opens $EDITOR on a template
    (.gitdesk/templates/<category>.md or default.md).

    \b
    Example:
      gitdesk new "Outlook asks for my password" -r bob@example.com \\
          --queue it-helpdesk --category email --asset laptop-0042 -l outlook
    """
    from gitdesk import actions, render

    desk = settings.desk
    actor = settings.actor()
    if body is not None and body_file is not None:
        raise click.UsageError("give the description with --body or --body-file, not both")
    text = body_file.read() if body_file is not None else body
    extra: tuple[tuple[str, Any], ...] = ()
    if text is None and (force_edit or (sys.stdin.isatty() and sys.stdout.isatty())):
        spec = _edit_new(desk, title, requester, queue, priority, category, asset, labels)
        if spec is None:
            render.info("Cancelled: empty title, nothing created.")
            return
        title, requester, queue, priority, category, asset, labels, text, extra, drafted = spec
        assignee = assignee or drafted
    if not title:
        raise click.UsageError("a TITLE is required (or run on a terminal to use the editor)")
    result = actions.create(desk, actions.NewTicket(
        title=title, requester=requester, queue=queue, priority=priority, category=category,
        asset=asset, labels=labels, body=text or "", assignee=assignee, extra=extra), actor)
    from gitdesk.cache import index
    from gitdesk.knowledge import search

    index.written(desk, result.ticket_files)
    try:  # what already worked for problems like this one
        similar = search.similar(desk, ticket=result.ticket, limit=3,
                                 just_written=[result.path.rsplit("/", 1)[-1]])
    except GitdeskError:
        similar = []
    render.outcome(result, fmt, similar)


def _edit_new(desk: Desk, title: str | None, requester: str | None, queue: str | None,
              priority: str | None, category: str | None, asset: str | None,
              labels: tuple[str, ...]) -> tuple[Any, ...] | None:
    from gitdesk import templates

    given = {"title": title, "requester": requester, "queue": queue, "priority": priority,
             "category": category, "asset": asset, "labels": list(labels)}
    text = templates.draft_text(desk.root, given)
    while True:
        edited = click.edit(text, extension=".md", require_save=False)
        if edited is None:
            return None
        try:
            draft = templates.read_draft(edited)
        except GitdeskError as error:
            click.echo(f"gitdesk: error: {error}", err=True)
            if not click.confirm("Edit again?", default=True):
                raise click.Abort() from None
            text = edited
            continue
        fields = draft.fields
        if not fields.get("title"):
            return None
        known = set(templates.DRAFT_FIELDS)
        extra = tuple((key, value) for key, value in fields.items() if key not in known)
        return (str(fields["title"]), fields.get("requester"), fields.get("queue"), fields.get("priority"),
                fields.get("category"), fields.get("asset"), tuple(fields.get("labels") or ()),
                draft.body, extra, fields.get("assignee"))


@cli.command(name="list")
@click.option("--status", "-s", "statuses", multiple=True,
              help="Only this status (repeatable; 'all' for every status). Default: unfinished ones.")
@click.option("--all", "all_", is_flag=True, help="Every status, finished ones included.")
@click.option("--queue", "-q", help="Only this queue.")
@click.option("--assignee", help="Only tickets assigned to this person.")
@click.option("--unassigned", is_flag=True, help="Only tickets nobody has taken.")
@click.option("--mine", is_flag=True, help="Only tickets assigned to you.")
@click.option("--requester", "-r", help="Only tickets from this requester (email or handle).")
@click.option("--category", "-c", help="Only this category.")
@click.option("--asset", "-a", help="Only this asset.")
@click.option("--label", "-l", "labels", multiple=True, help="Only tickets with this label (repeatable).")
@click.option("--sort", "sort_key", help="Sort by a field (-field for descending), e.g. priority, -created.")
@format_option()
@desk_options
@pass_settings
def list_(settings: Settings, statuses: tuple[str, ...], all_: bool, queue: str | None,
          assignee: str | None, unassigned: bool, mine: bool, requester: str | None,
          category: str | None, asset: str | None, labels: tuple[str, ...], sort_key: str | None,
          fmt: str) -> None:
    """List tickets, unfinished ones by default.

    \b
    Examples:
      gitdesk list --mine
      gitdesk list --unassigned --queue it-helpdesk --sort priority
      gitdesk list --all --asset laptop-0042 --format json
    """
    from gitdesk import clock, listing, render

    desk = settings.desk
    if mine:
        if assignee:
            raise click.UsageError("--mine and --assignee exclude each other")
        actor = settings.actor()
        if actor.person is None:
            raise GitdeskError(f"{actor.id} is not one of the desk's people", hint="pass --as HANDLE")
        assignee = actor.person.handle
    filters = listing.Filters(
        statuses=("all",) if all_ else statuses, queue=queue, assignee=assignee, unassigned=unassigned,
        requester=requester, category=category, asset=asset, labels=labels,
    )
    from gitdesk.cache import history, index

    found = index.query(desk, filters, sort_key, with_facts=fmt != "table",
                          with_ids=fmt == "table" and render.is_terminal())
    render.warnings(found.problems)
    now = clock.now()
    derived = None
    if fmt in ("json", "csv"):
        derived = history.timings(desk, found.tickets, now)
    render.ticket_list(found.tickets, fmt, now, all_ids=found.all_ids, timings=derived)


@cli.command()
@click.argument("ticket_id", metavar="ID")
@format_option(click.Choice(["table", "json"]))
@desk_options
@pass_settings
def show(settings: Settings, ticket_id: str, fmt: str) -> None:
    """Show a ticket with its whole conversation.

    Internal notes, questions and escalations are marked; long tickets open
    in a pager on a terminal. Any unique prefix of the ID will do.

    \b
    Example:
      gitdesk show GD-01JD8X4K
    """
    from gitdesk import clock, render
    from gitdesk.cache import history

    desk = settings.desk
    loaded = desk.find(ticket_id)
    now = clock.now()
    derived = history.timings(desk, [loaded.ticket], now)[loaded.ticket.id]
    render.ticket_detail(loaded.ticket, desk.config, loaded.path, now, fmt, derived)


@cli.command()
@click.argument("ticket_id", metavar="ID")
@desk_options
@pass_settings
def edit(settings: Settings, ticket_id: str) -> None:
    """Edit a ticket file in $EDITOR, validate it, and commit it.

    An invalid file is never committed: you can edit again or abort, and
    the ticket stays as it was.

    \b
    Example:
      EDITOR=nano gitdesk edit GD-01JD8X4K
    """
    from gitdesk import actions, render

    desk = settings.desk
    actor = settings.actor()
    loaded = desk.find(ticket_id)
    desk.ensure_clean([loaded.path])
    original = (desk.root / loaded.path).read_bytes().decode("utf-8")
    text = original
    while True:
        edited = click.edit(text, extension=".md", require_save=False)
        if edited is None or edited == original:
            render.info("No changes; nothing committed.")
            return
        problems = actions.edit_problems(desk, loaded, edited)
        if problems:
            for problem in problems:
                click.echo(f"gitdesk: error: {problem}", err=True)
            if click.confirm("Edit again? (no aborts and keeps the ticket as it was)", default=True):
                text = edited
                continue
            raise GitdeskError("edit aborted; nothing was changed")
        result = actions.save_edit(desk, loaded.ticket.id, original, edited, actor)
        render.outcome(result)
        return


# --- the everyday verbs ----------------------------------------------------------


def _run(verb: Callable[..., Any], settings: Settings, *args: Any, fmt: str = "table", **kwargs: Any) -> None:
    from gitdesk import render
    from gitdesk.cache import index

    desk = settings.desk
    result = verb(desk, *args, actor=settings.actor(), **kwargs)
    index.written(desk, result.ticket_files)
    render.outcome(result, fmt)


def _action(function_name: str) -> Callable[..., Any]:
    """Look up an action lazily, keeping ``gitdesk.actions`` out of start-up."""
    def call(*args: Any, **kwargs: Any) -> Any:
        from gitdesk import actions

        return getattr(actions, function_name)(*args, **kwargs)

    return call


def _message(message: str | None, message_file: Any, what: str) -> str:
    if message is not None and message_file is not None:
        raise click.UsageError(f"give the {what} with -m or --file, not both")
    if message_file is not None:
        return str(message_file.read())
    if message is None:
        raise click.UsageError(f"give the {what} with -m TEXT or --file F")
    return message


ID = click.argument("ticket_id", metavar="ID")
FMT = format_option(click.Choice(["table", "json"]))


@cli.command()
@ID
@FMT
@desk_options
@pass_settings
def take(settings: Settings, ticket_id: str, fmt: str) -> None:
    """Assign a ticket to yourself (a ticket in intake moves to your queue).

    \b
    Example:
      gitdesk take GD-01JD8X4K
    """
    _run(_action("take"), settings, ticket_id, fmt=fmt)


@cli.command()
@ID
@click.argument("person")
@FMT
@desk_options
@pass_settings
def assign(settings: Settings, ticket_id: str, person: str, fmt: str) -> None:
    """Assign a ticket to PERSON (a handle or email from config).

    \b
    Example:
      gitdesk assign GD-01JD8X4K alice
    """
    _run(_action("assign"), settings, ticket_id, person, fmt=fmt)


@cli.command()
@ID
@FMT
@desk_options
@pass_settings
def unassign(settings: Settings, ticket_id: str, fmt: str) -> None:
    """Put a ticket back in its queue with nobody assigned.

    \b
    Example:
      gitdesk unassign GD-01JD8X4K
    """
    _run(_action("unassign"), settings, ticket_id, fmt=fmt)


def _text_command(name: str, verb: str, what: str, help_text: str) -> None:
    @cli.command(name=name, help=help_text)
    @ID
    @click.option("-m", "--message", help=f"The {what}.")
    @click.option("--file", "message_file", type=click.File("r", encoding="utf-8"),
                  help=f"Read the {what} from a file ('-' for stdin).")
    @FMT
    @desk_options
    @pass_settings
    def command(settings: Settings, ticket_id: str, message: str | None, message_file: Any, fmt: str) -> None:
        _run(_action(verb), settings, ticket_id, _message(message, message_file, what), fmt=fmt)


@cli.command()
@ID
@click.option("-m", "--message", help="The reply.")
@click.option("--file", "message_file", type=click.File("r", encoding="utf-8"),
              help="Read the reply from a file ('-' for stdin).")
@click.option("--send", is_flag=True,
              help="Also mail it to the requester (over SMTP, or into outbox/ without mail.smtp).")
@FMT
@desk_options
@pass_settings
def reply(settings: Settings, ticket_id: str, message: str | None, message_file: Any, send: bool, fmt: str) -> None:
    """Add a public reply to the conversation; --send mails it to the requester.

    A reply by the requester on a pending ticket moves it back to open. With
    --send the mail threads with the requester's earlier mail, carries [ID] in
    its subject, and is sent before anything is committed (a failed send
    changes nothing); without an SMTP host it is committed to outbox/.

    \b
    Example:
      gitdesk reply GD-01JD8X4K -m "Fixed: please try again." --send
      gitdesk reply GD-01JD8X4K --as bob@example.com -m "Works now, thanks"
    """
    if send:
        from gitdesk.mail import outgoing

        _run(outgoing.reply, settings, ticket_id, _message(message, message_file, "reply"), fmt=fmt)
        return
    _run(_action("reply"), settings, ticket_id, _message(message, message_file, "reply"), fmt=fmt)


_text_command("note", "note", "note", """Add an internal note (never shown to the requester or in the knowledge base).

\b
Example:
  gitdesk note GD-01JD8X4K -m "Suspect the dock firmware; checking."
""")
_text_command("ask", "ask", "question", """Ask the requester a clarifying question; the ticket waits on them (pending).

\b
Example:
  gitdesk ask GD-01JD8X4K -m "Does this happen on the VPN, in the office, or both?"
""")


@cli.command()
@ID
@click.option("--to", "to", metavar="QUEUE|PERSON", help="Where to (default: the queue's escalation target).")
@click.option("--reason", required=True, help="Why: what you tried and what you need.")
@FMT
@desk_options
@pass_settings
def escalate(settings: Settings, ticket_id: str, to: str | None, reason: str, fmt: str) -> None:
    """Hand a ticket to another queue or person, with a reason on record.

    \b
    Example:
      gitdesk escalate GD-01JD8X4K --to it-infra --reason "Exchange-side, needs admin rights"
    """
    _run(_action("escalate"), settings, ticket_id, to, reason, fmt=fmt)


@cli.command()
@ID
@click.option("--note", "note_text", help="The resolution note: what was wrong and what fixed it.")
@click.option("--note-file", type=click.File("r", encoding="utf-8"), help="Read the note from a file ('-' for stdin).")
@FMT
@desk_options
@pass_settings
def resolve(settings: Settings, ticket_id: str, note_text: str | None, note_file: Any, fmt: str) -> None:
    """Resolve a ticket with a resolution note (required; it feeds the knowledge base).

    \b
    Example:
      gitdesk resolve GD-01JD8X4K --note "Removed stale credentials in Credential Manager."
    """
    if note_text is not None and note_file is not None:
        raise click.UsageError("give the note with --note or --note-file, not both")
    text = note_file.read() if note_file is not None else note_text
    _run(_action("resolve"), settings, ticket_id, text or "", fmt=fmt)


@cli.command()
@ID
@FMT
@desk_options
@pass_settings
def close(settings: Settings, ticket_id: str, fmt: str) -> None:
    """Close a resolved ticket.

    \b
    Example:
      gitdesk close GD-01JD8X4K
    """
    _run(_action("close"), settings, ticket_id, fmt=fmt)


@cli.command()
@ID
@click.option("-m", "--message", help="Why it is reopened (required if the desk says so).")
@FMT
@desk_options
@pass_settings
def reopen(settings: Settings, ticket_id: str, message: str | None, fmt: str) -> None:
    """Reopen a resolved, closed or rejected ticket.

    \b
    Example:
      gitdesk reopen GD-01JD8X4K -m "The prompt is back since this morning"
    """
    _run(_action("reopen"), settings, ticket_id, message, fmt=fmt)


@cli.command()
@ID
@click.option("-m", "--message", help="Why (spam, out of scope, …).")
@FMT
@desk_options
@pass_settings
def reject(settings: Settings, ticket_id: str, message: str | None, fmt: str) -> None:
    """Reject a ticket (spam, out of scope): it ends, keeping its history.

    \b
    Example:
      gitdesk reject GD-01JD8X4K -m "Spam"
    """
    _run(_action("reject"), settings, ticket_id, message, fmt=fmt)


@cli.command(name="set")
@ID
@click.argument("field")
@click.argument("value")
@FMT
@desk_options
@pass_settings
def set_(settings: Settings, ticket_id: str, field: str, value: str, fmt: str) -> None:
    """Set one front-matter FIELD to VALUE ('-' or '' clears it).

    Status changes follow the workflow; custom fields are kept as typed.

    \b
    Examples:
      gitdesk set GD-01JD8X4K priority high
      gitdesk set GD-01JD8X4K queue facilities
      gitdesk set GD-01JD8X4K cost_centre 4100
    """
    _run(_action("set_field"), settings, ticket_id, field, value, fmt=fmt)


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@ID
@click.argument("edits", nargs=-1, required=True, metavar="+ADD -REMOVE...")
@FMT
@desk_options
@pass_settings
def label(settings: Settings, ticket_id: str, edits: tuple[str, ...], fmt: str) -> None:
    """Add (+name or name) and remove (-name) labels.

    \b
    Example:
      gitdesk label GD-01JD8X4K +outlook -auth
    """
    _run(_action("label"), settings, ticket_id, list(edits), fmt=fmt)


@cli.command()
@ID
@click.option("--duplicate-of", metavar="OTHER", help="Mark ID as a duplicate of OTHER.")
@click.option("--related", metavar="OTHER", help="Relate ID and OTHER (both files, one commit).")
@FMT
@desk_options
@pass_settings
def link(settings: Settings, ticket_id: str, duplicate_of: str | None, related: str | None, fmt: str) -> None:
    """Link two tickets: a duplicate, or related work.

    \b
    Examples:
      gitdesk link GD-01JD9A --duplicate-of GD-01JD8X
      gitdesk link GD-01JD9A --related GD-01JC77
    """
    _run(_action("link"), settings, ticket_id, duplicate_of=duplicate_of, related=related, fmt=fmt)


@cli.command(name="time")
@ID
@click.argument("duration")
@click.option("-m", "--message", help="What the time went on.")
@FMT
@desk_options
@pass_settings
def time_(settings: Settings, ticket_id: str, duration: str, message: str | None, fmt: str) -> None:
    """Log time spent on a ticket (45m, 1h30m, 2h, 1d); reports sum it.

    \b
    Example:
      gitdesk time GD-01JD8X4K 1h30m -m "Reimaged the laptop"
    """
    _run(_action("log_time"), settings, ticket_id, duration, message, fmt=fmt)


# --- finding what was solved before ----------------------------------------------------------


def _list_filters(function: F) -> F:
    """The filters of ``gitdesk list``, shared by search."""
    for option in reversed([
        click.option("--status", "-s", "statuses", multiple=True, help="Only this status (repeatable)."),
        click.option("--queue", "-q", help="Only this queue."),
        click.option("--assignee", help="Only tickets assigned to this person."),
        click.option("--unassigned", is_flag=True, help="Only tickets nobody has taken."),
        click.option("--mine", is_flag=True, help="Only tickets assigned to you."),
        click.option("--requester", "-r", help="Only tickets from this requester."),
        click.option("--category", "-c", help="Only this category."),
        click.option("--asset", "-a", help="Only this asset."),
        click.option("--label", "-l", "labels", multiple=True, help="Only tickets with this label."),
    ]):
        function = option(function)
    return function


@cli.command(name="search")
@click.argument("query", nargs=-1, required=True)
@_list_filters
@click.option("--limit", "-n", default=20, show_default=True, help="At most this many results.")
@format_option()
@desk_options
@pass_settings
def search_(settings: Settings, query: tuple[str, ...], statuses: tuple[str, ...], queue: str | None,
            assignee: str | None, unassigned: bool, mine: bool, requester: str | None, category: str | None,
            asset: str | None, labels: tuple[str, ...], limit: int, fmt: str) -> None:
    """Full-text search over titles, descriptions, conversations and resolutions.

    Words must all match; "quoted phrases" and prefix* work; results are
    ranked (BM25) and show where the words were found. Every status is
    searched unless --status says otherwise. Internal notes are searched
    for agents and marked as such.

    \b
    Examples:
      gitdesk search printer offline
      gitdesk search '"credential manager"' --category email
      gitdesk search vpn* --status open --format json
    """
    from gitdesk import listing, render
    from gitdesk.knowledge import search

    desk = settings.desk
    actor = settings.actor() if (mine or settings.as_) else None
    if mine:
        if actor is None or actor.person is None:
            raise GitdeskError("--mine needs you to be one of the desk's people", hint="pass --as HANDLE")
        assignee = actor.person.handle
    filters = listing.Filters(statuses=statuses or ("all",), queue=queue, assignee=assignee, unassigned=unassigned,
                              requester=requester, category=category, asset=asset, labels=labels)
    internal = actor is None or actor.person is not None
    hits = search.search(desk, " ".join(query), filters, limit=limit, include_internal=internal)
    render.search_hits(hits, fmt)


@cli.command(name="similar")
@click.argument("ticket_id", metavar="[ID]", required=False)
@click.option("--text", help="Describe the problem instead of naming a ticket.")
@click.option("--limit", "-n", default=5, show_default=True, help="At most this many.")
@format_option(click.Choice(["table", "json"]))
@desk_options
@pass_settings
def similar_(settings: Settings, ticket_id: str | None, text: str | None, limit: int, fmt: str) -> None:
    """The resolved tickets most like a ticket (or a description), with what fixed them.

    Ranked by text similarity; the same category counts for more, the same
    asset for more still; duplicates fold into the ticket they duplicate.

    \b
    Examples:
      gitdesk similar GD-01M8
      gitdesk similar --text "outlook keeps asking for my password"
    """
    from gitdesk import render
    from gitdesk.knowledge import search

    if (ticket_id is None) == (text is None):
        raise click.UsageError("give an ID or --text, one of them")
    desk = settings.desk
    ticket = desk.find(ticket_id).ticket if ticket_id else None
    found = search.similar(desk, ticket=ticket, text=text, limit=limit)
    render.similar_tickets(found, fmt)


# --- the knowledge base ----------------------------------------------------------------------


@cli.group(name="kb")
def kb_() -> None:
    """The knowledge base: resolution notes as Markdown articles in kb/.

    \b
    Example:
      gitdesk kb build
      gitdesk kb search printer offline
    """


@kb_.command(name="build")
@click.option("--no-commit", is_flag=True, help="Write kb/ but do not commit it.")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if kb/ is out of date (for CI).")
@desk_options
@pass_settings
def kb_build(settings: Settings, no_commit: bool, check_only: bool) -> None:
    """Write kb/ from resolved tickets with a resolution note, and commit it.

    One article per problem (duplicates folded in), kb/README.md by category;
    internal notes, requester addresses and private fields never appear.
    Only changed files are written; the same desk always gives the same bytes.

    \b
    Examples:
      gitdesk kb build
      gitdesk kb build --check       # in CI: is kb/ up to date?
    """
    from gitdesk import render
    from gitdesk.knowledge import kb

    desk = settings.desk
    if check_only:
        stale = kb.stale_paths(desk)
        for path in stale:
            render.info(f"{path}: out of date")
        if stale:
            raise GitdeskError(f"the knowledge base is out of date ({len(stale)} files)", hint="run gitdesk kb build")
        render.info("The knowledge base is up to date.")
        return
    result = kb.build(desk, commit=not no_commit)
    if not result.written and not result.removed:
        render.info(f"The knowledge base is up to date ({result.articles} articles in {kb.KB}/).")
        return
    where = f" [{result.commit[:7]}]" if result.commit else " (not committed)"
    render.info(f"Knowledge base: {result.articles} articles; {len(result.written)} files written, "
                f"{len(result.removed)} removed{where}. Start at {kb.KB}/README.md")


@kb_.command(name="search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", default=10, show_default=True, help="At most this many articles.")
@format_option(click.Choice(["table", "json"]))
@desk_options
@pass_settings
def kb_search(settings: Settings, query: tuple[str, ...], limit: int, fmt: str) -> None:
    """Search the knowledge base only: articles' titles, symptoms and resolutions.

    \b
    Example:
      gitdesk kb search outlook password
    """
    from gitdesk import render
    from gitdesk.knowledge import kb

    render.kb_hits(kb.search(settings.desk, " ".join(query), limit), fmt)


@cli.group(name="site")
def site_() -> None:
    """A static website of the knowledge base and the queue boards.

    \b
    Example:
      gitdesk site build public/
    """


@site_.command(name="build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@desk_options
@pass_settings
def site_build(settings: Settings, outdir: Path) -> None:
    """Write the site into OUTDIR: articles, read-only queue boards, in-browser search.

    Works opened from disk and on GitHub or GitLab Pages. OUTDIR must be
    empty or hold a previous gitdesk site (which is replaced).

    \b
    Example:
      gitdesk site build public/ && xdg-open public/index.html
    """
    from gitdesk import render
    from gitdesk.knowledge import site

    result = site.build(settings.desk, outdir)
    render.info(f"Site: {result.articles} articles and {result.boards} queue boards in {result.directory}; "
                f"open {result.directory / 'index.html'}")


# --- mail, imports and exports -------------------------------------------------------------------


@cli.command(name="intake")
@click.argument("kind", type=click.Choice(["mbox", "maildir", "eml"]))
@click.argument("path", type=click.Path(path_type=Path))
@format_option()
@desk_options
@pass_settings
def intake_(settings: Settings, kind: str, path: Path, fmt: str) -> None:
    """Take in mail: new threads become tickets, replies join their ticket.

    A reply is matched by its In-Reply-To/References headers or the [GD-…]
    tag in its subject, and only from someone on that ticket; a requester's
    reply moves a pending ticket back to open. Attachments are saved under
    attachments/<ID>/. An answer to `gitdesk feedback request` is filed as
    feedback, and a bounce of a reply the desk sent becomes an internal note;
    other auto-replies, bounces and the desk's own mail are skipped. Running
    the same mailbox again takes nothing in twice. Exits 1 if any message
    could not be taken in (run it again to retry those). See docs/mail.md.

    \b
    Examples:
      gitdesk intake maildir ~/Maildir/support
      gitdesk intake mbox export.mbox --format json
      gitdesk intake eml message.eml
    """
    from gitdesk import render
    from gitdesk.mail import intake
    from gitdesk.text import counted

    with render.Progress("Taking in mail") as progress:
        result = intake.run(settings.desk, kind, path, progress=progress.advance)
    render.intake_result(result, fmt)
    if result.failed:
        failed = result.count("failed")
        raise GitdeskError(f"{counted(failed, 'message')} {'was' if failed == 1 else 'were'} not taken in",
                           hint="see the list above; run the same intake again to retry them")


@cli.command(name="import")
@click.argument("kind", type=click.Choice(["github", "csv", "backlog"]))
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--queue", "-q", help="Queue for imported tickets (default: the desk's first queue).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="csv: which column holds a field (columns named like fields are found by themselves).")
@click.option("--repo", metavar="OWNER/NAME", help="github: the repository, when the export does not say.")
@format_option()
@desk_options
@pass_settings
def import_(settings: Settings, kind: str, path: Path, queue: str | None, mapping: tuple[str, ...],
            repo: str | None, fmt: str) -> None:
    """Import tickets from GitHub issues, a CSV file or a Backlog.md project.

    Each ticket gets a backdated history (created, comments, closed) that
    timings and reports read like any other; what is already imported is
    skipped, and whatever could not be carried over is said per ticket.

    \b
    Examples:
      gh issue list --state all --limit 10000 \\
        --json number,title,body,state,labels,assignees,author,createdAt,closedAt,comments > issues.json
      gitdesk import github issues.json --repo fernhill/it
      gitdesk import csv old-tickets.csv --map title=Subject --map requester="E-mail"
      gitdesk import backlog ~/src/website
    """
    from gitdesk import render
    from gitdesk.interop import importing
    from gitdesk.interop.readers import backlog, csvfile, github

    desk = settings.desk
    if kind == "github":
        items = github.records(path, frozenset(desk.config.people), repo)
    elif kind == "csv":
        pairs = dict(item.split("=", 1) for item in mapping if "=" in item)
        if len(pairs) != len(mapping):
            raise click.UsageError("--map takes FIELD=COLUMN")
        items = csvfile.records(path, desk.config.statuses, pairs)
    else:
        items = backlog.records(path)
    result = importing.run(desk, items, path.name, settings.actor(), queue)
    render.import_result(result, fmt)


@cli.command(name="export")
@click.argument("kind", type=click.Choice(["json", "csv"]))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@desk_options
@pass_settings
def export_(settings: Settings, kind: str, output: Path | None) -> None:
    """Every ticket with its whole conversation and derived timings, as JSON or CSV.

    Not filtered for privacy (internal notes and requesters are included):
    keep exports where the desk is kept.

    \b
    Examples:
      gitdesk export json -o backup.json
      gitdesk export csv > tickets.csv
    """
    from gitdesk import clock, render
    from gitdesk.interop import export

    records, problems = export.records(settings.desk, clock.now(), flat=kind == "csv")
    render.warnings(problems)
    render.export_records(records, kind, output)


# --- reports and feedback ---------------------------------------------------------------------


@cli.command(name="report")
@click.argument("name", type=click.Choice(["queues", "workload", "training", "assets", "sla", "feedback"]))
@click.option("--since", metavar="DATE", help="Start of the period (default: 30 days, 4 weeks or 3 months ago).")
@click.option("--until", metavar="DATE", help="End of the period, excluded (a date means: up to its end).")
@click.option("--period", type=click.Choice(["week", "month"]), help="Break the figures down by week or month.")
@click.option("--queue", "-q", help="Only this queue's tickets.")
@click.option("--team", help="Only tickets assigned to this team's people.")
@format_option(click.Choice(["table", "md", "json", "csv"]))
@desk_options
@pass_settings
def report_(settings: Settings, name: str, since: str | None, until: str | None, period: str | None,
            queue: str | None, team: str | None, fmt: str) -> None:
    """Figures from the tickets and their history, each traceable to its tickets.

    queues (what waits where), workload (arrivals, resolutions, backlog,
    effort: the hiring case), training (who keeps asking about what), assets
    (what keeps failing), sla (targets per priority), feedback (the weekly
    review). Each report states its period and definitions; --format json
    carries the ticket IDs behind every count.

    \b
    Examples:
      gitdesk report workload --period week --since 2026-09-01
      gitdesk report assets --format md > assets.md
      gitdesk report sla --queue it-helpdesk --format json
    """
    from gitdesk import clock, render, reports
    from gitdesk.reports.base import Scope

    built = reports.build(settings.desk, name, since=_when(since), until=_when(until, end_of_day=True),
                          period=period, scope=Scope(queue, team), now=clock.now())
    render.report(built, fmt)


@cli.group(name="feedback")
def feedback_() -> None:
    """Satisfaction feedback: stored apart from tickets, collated per team.

    \b
    Example:
      gitdesk feedback add GD-01M8 --score 4 --comment "Quick and friendly"
      gitdesk feedback request GD-01M8
    """


@feedback_.command(name="add")
@click.argument("ticket_id", metavar="ID")
@click.option("--score", type=click.IntRange(1, 5), required=True, help="1 (very unhappy) to 5 (very happy).")
@click.option("--comment", help="What the requester said.")
@desk_options
@pass_settings
def feedback_add(settings: Settings, ticket_id: str, score: int, comment: str | None) -> None:
    """Record a requester's feedback on a ticket (in feedback/, never in the ticket).

    \b
    Example:
      gitdesk feedback add GD-01M8 --score 2 --comment "Took three days"
    """
    from gitdesk import feedback, render

    added = feedback.add(settings.desk, ticket_id, score, comment, settings.actor())
    render.info(f"Feedback on {added.feedback.ticket} recorded in {added.feedback.path} [{added.commit[:7]}]")


@feedback_.command(name="request")
@click.argument("ticket_id", metavar="ID")
@desk_options
@pass_settings
def feedback_request(settings: Settings, ticket_id: str) -> None:
    """Ask the requester of a finished ticket for a score, by mail.

    The mail is signed by the desk, not the agent. The requester answers with
    a number from 1 to 5 (and a comment); `gitdesk intake` files the answer in
    feedback/. Sent over SMTP, or committed to outbox/ without mail.smtp.

    \b
    Example:
      gitdesk feedback request GD-01M8
    """
    from gitdesk import render
    from gitdesk.mail import outgoing

    asked = outgoing.request_feedback(settings.desk, ticket_id, settings.actor())
    where = f"queued in {asked.outbox} [{asked.commit[:7] if asked.commit else ''}]" if asked.outbox else "sent"
    render.info(f"Feedback request for {asked.ticket} to {asked.to}: {where}")


# --- the audit log ------------------------------------------------------------------------


@cli.command(name="log")
@click.argument("ticket_id", metavar="[ID]", required=False)
@click.option("--since", metavar="DATE", help="Only changes at or after this time (ISO date or time).")
@click.option("--until", metavar="DATE", help="Only changes before this time (a date means: up to its end).")
@click.option("--author", metavar="WHO", help="Only changes by this person (handle, email or Git author name).")
@click.option("--action", metavar="VERB", help="Only this action (reply, resolve, status, assignee, …).")
@format_option()
@desk_options
@pass_settings
def log_(settings: Settings, ticket_id: str | None, since: str | None, until: str | None, author: str | None,
         action: str | None, fmt: str) -> None:
    """A ticket's timeline, or the desk's activity, read from Git.

    Hand-made commits are read like CLI ones: each version is compared with
    the one before (fields, conversation, resolution).

    \b
    Examples:
      gitdesk log GD-01M8
      gitdesk log --since 2026-11-01 --author alice
      gitdesk log --action resolve --format csv
    """
    from gitdesk import render
    from gitdesk.cache import history

    desk = settings.desk
    if ticket_id:
        if since or until or author or action:
            raise click.UsageError("--since, --until, --author and --action are for the desk's log (no ID)")
        entries = history.ticket_log(desk, desk.resolve(ticket_id))
    else:
        entries = history.desk_log(desk, history.LogFilter(
            since=_when(since), until=_when(until, end_of_day=True), author=author, action=action))
    render.log_entries(entries, fmt, with_ticket=ticket_id is None)


def _when(text: str | None, *, end_of_day: bool = False) -> Any:
    if not text:
        return None
    from datetime import timedelta

    from gitdesk.clock import parse_time

    value = parse_time(text)
    if end_of_day and len(text.strip()) == 10:
        value += timedelta(days=1)
    return value


# --- keeping hand edits honest ---------------------------------------------------------


def _repository(settings: Settings) -> Any:
    from gitdesk import git

    start = settings.desk_path or Path.cwd()
    repo = git.find_any(start) if start.exists() else None
    if repo is None:
        raise GitdeskError(f"{start} is not inside a Git repository")
    return repo


@cli.command(name="check")
@click.option("--staged", "mode", flag_value="staged", help="What the index would commit (the pre-commit hook).")
@click.option("--range", "revision_range", metavar="A..B", help="Every commit in a range (CI on a pull request).")
@click.option("--all", "mode", flag_value="all", help="Every ticket in the desk as staged (the default).")
@format_option(click.Choice(["table", "json"]))
@desk_options
@pass_settings
def check_(settings: Settings, mode: str | None, revision_range: str | None, fmt: str) -> None:
    """Check ticket files against the format and the workflow; list every problem.

    Reads what is staged or committed, never the work tree. Each ticket is
    judged against its previous committed version (status moves, id and
    created unchanged) and against the desk's config. Exit 1 when anything
    is wrong, 0 when clean.

    \b
    Examples:
      gitdesk check --staged
      gitdesk check --range origin/main..HEAD
      gitdesk check --all --format json
    """
    from gitdesk import render
    from gitdesk.githooks import check

    if revision_range and mode:
        raise click.UsageError("--range excludes --staged and --all")
    repo = _repository(settings)
    if revision_range:
        findings = check.check_range(repo, revision_range)
    elif mode == "staged":
        from gitdesk import git

        # Inside a hook framework GIT_INDEX_FILE names the index being committed.
        git.honour_repository_environment()
        findings = check.check_staged(repo)
    else:
        findings = check.check_all(repo)
    render.findings(findings, fmt)
    if findings:
        raise SystemExit(1)


@cli.group()
def hooks() -> None:
    """Install, remove or inspect gitdesk's Git hooks in this clone.

    \b
    Example:
      gitdesk hooks install
      gitdesk hooks status
    """


def _hooks_command(name: str, help_text: str) -> None:
    @hooks.command(name=name, help=help_text)
    @click.option("--server", is_flag=True, help="The server-side pre-receive hook (run in the bare repository).")
    @desk_options
    @pass_settings
    def command(settings: Settings, server: bool) -> None:
        from gitdesk import render
        from gitdesk.githooks import install as hookscripts

        repo = _repository(settings)
        if name == "status":
            for state in hookscripts.status(repo, server=server):
                render.info(state.describe())
            if not server:
                render.info(hookscripts.driver_state(repo))
            return
        for line in getattr(hookscripts, name)(repo, server=server):
            render.info(line)
        if not server:
            render.info(hookscripts.install_driver(repo) if name == "install" else hookscripts.uninstall_driver(repo))


_hooks_command("install", """Install the hooks (respects core.hooksPath); existing hooks are kept and run first.

Idempotent: running it again refreshes the scripts.

\b
Example:
  gitdesk hooks install
  gitdesk hooks install --server    # in a self-hosted bare repository
""")
_hooks_command("uninstall", """Remove gitdesk's hooks and restore the ones that were there before.

\b
Example:
  gitdesk hooks uninstall
""")
_hooks_command("status", """Show which gitdesk hooks are installed.

\b
Example:
  gitdesk hooks status
""")


@cli.command(name="sync")
@click.option("--rebase", "strategy", flag_value="rebase", help="Rebase on the upstream (the default).")
@click.option("--merge", "strategy", flag_value="merge", help="Merge the upstream instead.")
@desk_options
@pass_settings
def sync_(settings: Settings, strategy: str | None) -> None:
    """Fetch, integrate the upstream with the ticket merge driver, and push.

    Retries when another clone pushed first. On a real conflict it stops,
    leaves your work tree and history as they were, and says what conflicts.

    \b
    Example:
      gitdesk sync
      gitdesk sync --merge
    """
    from gitdesk import render
    from gitdesk.githooks import sync
    from gitdesk.text import counted

    result = sync.sync(settings.desk, strategy=strategy)
    for note in result.notes:
        render.info(note)
    render.info(f"Synced with {result.upstream}: {counted(result.received, 'commit')} in, "
                f"{result.sent} out.")


@cli.command(name="merge-file")
@click.option("--marker-size", default=7, show_default=True, help="Length of conflict markers (Git's %L).")
@click.option("--generated", is_flag=True,
              help="A generated file (kb/): keep ours; the desk rebuilds it after the merge.")
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("ours", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("theirs", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path", required=False)
@desk_options
@pass_settings
def merge_file(settings: Settings, marker_size: int, generated: bool, base: Path, ours: Path, theirs: Path,
               path: str | None) -> None:
    """Three-way merge of a ticket file; the result is written over OURS.

    Git's merge driver for tickets (gitdesk hooks install registers it).
    Fields merge one by one, labels as sets, conversation entries from both
    sides in time order; only a field with two different new values is a
    conflict, marked around that field alone. Exit 1 when anything conflicts.

    \b
    Example:
      gitdesk merge-file base.md ours.md theirs.md
    """
    from gitdesk import render
    from gitdesk.githooks import merge as mergefile

    del settings
    if generated:
        mergefile.mark_generated_stale(Path.cwd())
        return
    result = mergefile.merge_files(base, ours, theirs, path, marker_size)
    if result.conflicts:
        render.hook_messages([f"gitdesk merge: {path or ours}: conflict in {', '.join(result.conflicts)}"])
        raise SystemExit(1)


@cli.command(name="hook", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@desk_options
@pass_settings
def hook(settings: Settings, name: str, args: tuple[str, ...]) -> None:
    """Run one hook's work (called by the scripts that gitdesk hooks install writes).

    \b
    Example:
      gitdesk hook pre-commit
      gitdesk hook commit-msg .git/COMMIT_EDITMSG
    """
    from gitdesk import render
    from gitdesk.githooks import handlers as hookpoints

    repo = hookpoints.repository(settings.desk_path or Path.cwd())
    if name == "pre-commit":
        result = hookpoints.pre_commit(repo)
    elif name == "commit-msg":
        if not args:
            raise click.UsageError("commit-msg needs the message file")
        result = hookpoints.commit_msg(repo, Path(args[0]))
    elif name in ("post-merge", "post-checkout", "post-rewrite"):
        result = hookpoints.refresh(repo, name, args)
    elif name == "pre-receive":
        result = hookpoints.pre_receive(repo, sys.stdin.read())
    else:
        raise click.UsageError(f"unknown hook {name!r}")
    render.hook_messages(result.messages)
    if result.status:
        raise SystemExit(result.status)


# --- entry point ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="gitdesk")
