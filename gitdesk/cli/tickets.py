"""Creating and reading tickets: init, new, list, show, edit."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from gitdesk.cli.options import (
    FilterOptions,
    Session,
    attach_option,
    desk_options,
    format_option,
    in_editor,
    list_filters,
    message_option,
    pass_session,
    ticket_id,
)
from gitdesk.errors import GitdeskError

if TYPE_CHECKING:
    from gitdesk.actions import NewTicket
    from gitdesk.desk import Desk


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The desk's name (default: from the directory).")
@desk_options
@pass_session
def init(session: Session, directory: Path | None, name: str | None) -> None:
    """Create a desk here (or in DIRECTORY): config, templates, one commit.

    Runs git init first when the directory is not in a repository yet. The
    config it writes is commented and works as is, with you as the only agent.

    \b
    Example:
      mkdir helpdesk && cd helpdesk && gitdesk init
    """
    from gitdesk import desk
    from gitdesk.render import output

    result = desk.create(directory or session.start(), name)
    output.info(f"Initialised a desk in {result.root} [{result.commit[:7]}]"
                + (" (new Git repository)" if result.created_repository else ""))
    output.info(f"You are '{result.handle}'. Edit .gitdesk/config.yml to add people and queues.")


@click.command()
@click.argument("title", required=False)
@click.option("--requester", "-r", help="Who asked: email or handle (default: you).")
@click.option("--queue", "-q", help="Put it straight into a queue (status open).")
@click.option("--priority", "-p", help="Priority (default from config).")
@click.option("--category", "-c", help="Category.")
@click.option("--asset", "-a", help="Machine or system concerned, e.g. laptop-0042.")
@click.option("--label", "-l", "labels", multiple=True, help="Label (repeatable).")
@click.option("--assignee", help="Assign it right away.")
@message_option("--body", "-m", help="Description text.")
@click.option("--body-file", type=click.File("r", encoding="utf-8"),
              help="Read the description from a file ('-' for stdin).")
@attach_option("Attach a file (repeatable): kept under attachments/<ID>/.")
@click.option("--edit", "force_edit", is_flag=True,
              help="Open $EDITOR on the template even when not on a terminal.")
@format_option("table", "json")
@desk_options
@pass_session
def new(session: Session, title: str | None, requester: str | None, queue: str | None,
        priority: str | None, category: str | None, asset: str | None, labels: tuple[str, ...],
        assignee: str | None, body: str | None, body_file: IO[str] | None, attach: tuple[tuple[str, bytes], ...],
        force_edit: bool, fmt: str) -> None:
    """Create a ticket and commit it; show solved tickets like it.

    Without --body/--body-file on a terminal, opens $EDITOR on a template
    (.gitdesk/templates/<category>.md or default.md).

    \b
    Example:
      gitdesk new "Outlook asks for my password" -r bob@example.com \\
          --queue it-helpdesk --category email --asset laptop-0042 -l outlook
    """
    from gitdesk import actions
    from gitdesk.cache import index
    from gitdesk.knowledge import search
    from gitdesk.render import output, views

    desk = session.desk
    actor = session.actor()
    if body is not None and body_file is not None:
        raise click.UsageError("give the description with --body or --body-file, not both")
    text = body_file.read() if body_file is not None else body
    given = actions.NewTicket(title=title or "", requester=requester, queue=queue, priority=priority,
                              category=category, asset=asset, labels=labels, body=text or "", assignee=assignee)
    spec: actions.NewTicket | None = given
    drafting = text is None and (force_edit or (sys.stdin.isatty() and sys.stdout.isatty()))
    from gitdesk.rules.engine import EventRules

    rules = EventRules(desk)
    written: str | None = None
    try:
        result = None
        while result is None:
            if drafting:
                drafted = _drafted(desk.root, given, desk.repo.state_dir, written)
                if drafted is None:
                    output.info("Cancelled: empty title, nothing created.")
                    return
                spec, written = drafted
            if spec is None or not spec.title:
                raise click.UsageError("a TITLE is required (or run on a terminal to use the editor)")
            if attach:
                spec = replace(spec, attach=attach)
            try:
                result = actions.create(desk, spec, actor, automation=rules)
            except GitdeskError as error:
                if written is None:
                    raise
                # Checked once the editor is closed (a --queue typo, a template's bad priority): what
                # the person wrote is never thrown away with the error.
                output.error(str(error))
                if not _edit_again():
                    kept = _kept(desk.repo.state_dir, written)
                    raise _Kept("nothing was created", hint=f"what you wrote is kept in {kept}") from None
    except _Kept:
        raise
    except (GitdeskError, KeyboardInterrupt, OSError):  # the editor failing the second time, Ctrl-C, a file gone
        if written is not None:
            output.note(f"gitdesk: note: what you wrote is kept in {_kept(desk.repo.state_dir, written)}")
        raise
    output.rules_not_applied(rules.problem)
    index.written(desk, result.ticket_files)
    similar: search.Suggestions | None
    try:  # what already worked for problems like this one
        similar = search.similar(desk, ticket=result.ticket, limit=3,
                                 just_written=[result.path.rsplit("/", 1)[-1]])
    except GitdeskError:
        similar = None
    except Exception as error:  # the ticket is committed: say so, whatever went wrong after
        output.note(f"gitdesk: warning: this is a bug in gitdesk: no similar tickets listed "
                    f"({type(error).__name__}: {error})")
        similar = None
    views.outcome(result, fmt, similar)
    if spec is given and text is None and sys.stdout.isatty():  # a person, whose stdin is not a terminal:
        # no editor opened, which may surprise them (a script gets no such line)
        output.note("note: no description given (-m TEXT or --body-file FILE adds one; gitdesk note ID adds to it)")


class _Kept(GitdeskError):
    """Nothing was created, and what the person wrote is kept (the message says where)."""


def _edit_again() -> bool:
    """Whether the person wants the editor again; no (as Ctrl-D, or no terminal to ask) keeps
    what they wrote rather than losing it with click's "Aborted!"."""
    try:
        return click.confirm("Edit again?", default=True, err=True)  # stdout stays the result
    except click.Abort:
        click.echo(err=True)  # the answer's line, which the end of input never ended
        return False


def _kept(folder: Path, written: str) -> Path:
    """``written`` saved where it survives a refusal: the repository's gitdesk folder."""
    from gitdesk import clock

    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    kept = next(path for n in range(1, 10_000) if not (path := folder / f"new-ticket-{stamp}-{n}.md").exists())
    kept.write_text(written, encoding="utf-8")
    return kept


def _drafted(root: Path, given: NewTicket, keep: Path, written: str | None = None) -> tuple[NewTicket, str] | None:
    """The ticket the person wrote in $EDITOR, starting from a template and ``given`` (or from
    what they ``written`` before), with the text they left; None when they left the title empty.
    Text that cannot be read, and is not edited again, is kept in the folder ``keep``."""
    from gitdesk import actions, templates

    text = written if written is not None else templates.draft_text(root, given.draft_fields())
    while True:
        edited = in_editor(text)
        if edited is None:
            return None
        try:
            draft = templates.read_draft(edited)
        except GitdeskError as error:
            click.echo(f"gitdesk: error: {error}", err=True)
            if not _edit_again():
                raise _Kept("nothing was created", hint=f"what you wrote is kept in {_kept(keep, edited)}") \
                    from None
            text = edited
            continue
        spec = actions.NewTicket.from_draft(draft)
        return None if spec is None else (spec, edited)


@click.command(name="list")
@list_filters
@click.option("--all", "all_", is_flag=True, help="Every status, finished ones included.")
@click.option("--overdue", is_flag=True, help="Only tickets whose next SLA target is already past (most overdue "
              "first, unless --sort says otherwise).")
@click.option("--sort", "sort_key", help="Sort by a field (-field for descending), e.g. priority, -created; "
              "due: the next SLA target first.")
@format_option()
@desk_options
@pass_session
def list_(session: Session, chosen: FilterOptions, all_: bool, overdue: bool, sort_key: str | None,
          fmt: str) -> None:
    """List tickets, unfinished ones by default.

    \b
    Examples:
      gitdesk list --mine
      gitdesk list --mine --overdue
      gitdesk list --team it --sort due
      gitdesk list --unassigned --queue it-helpdesk --sort priority
      gitdesk list --all --asset laptop-0017 --format json
      gitdesk list --sort due
    """
    desk = session.indexed_desk
    from gitdesk import clock, listing
    from gitdesk.cache import index, listed
    from gitdesk.ids import abbreviations
    from gitdesk.render import output, views

    filters = chosen.resolve(session, ("all",) if all_ else ())
    terminal = fmt == "table" and output.is_terminal()
    due = listing.wants_due(sort_key) or overdue
    if fmt != "table" or due:  # records and the due order carry times read from the history
        _say_if_shallow(desk)
    if fmt != "table" and not due:  # records with their timings, kept ready in the cache
        ids, problems = index.query_ids(desk, filters, sort_key)
        output.warnings(problems)
        views.ticket_records(listed.ticket_records(desk, ids, clock.now()), fmt)
        return
    now = clock.now()
    if not due:
        rows, problems, every = index.query_rows(desk, filters, sort_key, with_ids=terminal)
        output.warnings(problems)
        shown = abbreviations([*every, *(row.id for row in rows)]) if terminal else None
        views.ticket_list(rows, now, shown_ids=shown, hide=chosen.constant_columns())
        return
    # The next target first (or only those already missed): every listed ticket's record, kept
    # ready in the cache with its timings, says when its next target falls due.
    by_field = None if listing.wants_due(sort_key) else sort_key
    ids, problems = index.query_ids(desk, filters, by_field)
    output.warnings(problems)
    found = listed.due_rows(desk, listed.ticket_records(desk, ids, now), now)
    rows = [row for row, _, _ in found]
    dues = {row.id: due for row, due, _ in found}
    if not by_field:
        rows = listing.by_due(rows, dues, sort_key or "")
    if overdue:
        rows = listing.overdue(rows, dues, now)
    if fmt != "table":
        texts = {row.id: text for row, _, text in found}
        views.ticket_records([texts[row.id] for row in rows], fmt)
        return
    shown = abbreviations([*index.current_ids(desk), *(row.id for row in rows)]) if terminal else None
    views.ticket_list(rows, now, shown_ids=shown, dues=dues, hide=chosen.constant_columns())


def _say_if_shallow(desk: Desk) -> None:
    from gitdesk.cache import history
    from gitdesk.render import output

    warning = history.cut_short(desk)
    if warning:
        output.note(f"gitdesk: warning: {warning}")


@click.command()
@ticket_id
@format_option("table", "json")
@desk_options
@pass_session
def show(session: Session, ticket_id: str, fmt: str) -> None:
    """Show a ticket with its whole conversation.

    Internal notes, questions and escalations are marked; long tickets open
    in a pager on a terminal. Any unique prefix of the ID will do. Under an
    open ticket: the solved tickets most like it, with what worked and
    their knowledge-base articles.

    \b
    Example:
      gitdesk show GD-01JD8X4K
    """
    from gitdesk import clock, workflow
    from gitdesk.cache import history, index
    from gitdesk.render import views

    desk = session.desk
    ticket = desk.read(ticket_id)
    now = clock.now()
    _say_if_shallow(desk)
    derived = history.timings(desk, [ticket], now)[ticket.id]
    solved, articles = None, {}
    if not workflow.is_done(desk.config, ticket.status):  # whoever reads it (--as too)
        from gitdesk.knowledge import kb
        from gitdesk.knowledge import search as finding

        solved = finding.solved_before(desk, ticket)
        articles = {item.ticket.id: kb.article_of(desk, item.ticket.id) for item in (solved.found if solved else [])}
    views.ticket_detail(ticket, now, fmt, derived, solved, articles, index.duplicates_of(desk, ticket.id))


def _merged(original: str, edited: str, current: str, path: str) -> tuple[str, tuple[str, ...]]:
    from gitdesk.githooks.merge import merge_texts

    merged = merge_texts(original, edited, current, path)
    return merged.text, merged.conflicts


@click.command()
@ticket_id
@desk_options
@pass_session
def edit(session: Session, ticket_id: str) -> None:
    """Edit a ticket file in $EDITOR, validate it, and commit it.

    An invalid file is never committed: you can edit again or abort, and
    the ticket stays as it was. What lands on the ticket while the editor is
    open (a colleague's reply pulled by sync) is merged with your edit; if
    both changed the same place, your text is kept in a file named in the
    error, never lost.

    \b
    Example:
      EDITOR=nano gitdesk edit GD-01JD8X4K
    """
    from gitdesk import actions, changes
    from gitdesk.cache import index
    from gitdesk.render import output, views

    desk = session.desk
    actor = session.actor()
    loaded = desk.find(ticket_id)
    desk.ensure_clean([loaded.path])
    original = (desk.root / loaded.path).read_bytes().decode("utf-8")
    text = original
    while True:
        edited = in_editor(text)
        if edited is None or edited == original:
            output.info("No changes; nothing committed.")
            return
        problems = actions.edit_problems(desk, loaded, edited)
        if not problems:
            break
        for problem in problems:
            output.error(str(problem))
        if not click.confirm("Edit again? (no aborts and keeps the ticket as it was)", default=True):
            raise GitdeskError("edit aborted; nothing was changed")
        text = edited
    result = actions.save_edit(desk, loaded.ticket.id, original, edited, actor, merge=_merged)
    index.written(desk, result.ticket_files)
    views.outcome(result)
    # Against the ticket the edit was saved over: a colleague's reply merged in was mailed.
    unmailed = changes.not_mailed(result.before or loaded.ticket, result.ticket)
    if unmailed:
        output.note(f"gitdesk: note: {unmailed}")
