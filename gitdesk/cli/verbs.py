"""The everyday verbs: one library action each, one commit each.

Each command resolves its options, calls its ``gitdesk.actions`` function with
typed arguments, tells the index what it wrote, and shows the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from gitdesk.cli.options import Session, desk_options, format_option, pass_session, read_text, ticket_id

if TYPE_CHECKING:
    from gitdesk.actions import Outcome

F = TypeVar("F", bound=Callable[..., Any])


def common(function: F) -> F:
    """What every verb takes after its own options: --format, --desk, --as, and the session."""
    with_session: F = pass_session(function)  # type: ignore[assignment]  # click's decorator is not generic
    return format_option("table", "json")(desk_options(with_session))


def text_options(function: F) -> F:
    """The verb's text, with ``-m TEXT`` or ``--file F``."""
    function = click.option("--file", "message_file", type=click.File("r", encoding="utf-8"),
                            help="Read the text from a file ('-' for stdin).")(function)
    return click.option("-m", "--message", help="The text.")(function)


def _done(session: Session, result: Outcome, fmt: str) -> None:
    from gitdesk.cache import index
    from gitdesk.render import views

    index.written(session.desk, result.ticket_files)
    views.outcome(result, fmt)


@click.command()
@ticket_id
@common
def take(session: Session, ticket_id: str, fmt: str) -> None:
    """Assign a ticket to yourself (a ticket in intake moves to your queue).

    \b
    Example:
      gitdesk take GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.take(session.desk, ticket_id, session.actor()), fmt)


@click.command()
@ticket_id
@click.argument("person")
@common
def assign(session: Session, ticket_id: str, person: str, fmt: str) -> None:
    """Assign a ticket to PERSON (a handle or email from config).

    \b
    Example:
      gitdesk assign GD-01JD8X4K alice
    """
    from gitdesk import actions

    _done(session, actions.assign(session.desk, ticket_id, person, session.actor()), fmt)


@click.command()
@ticket_id
@common
def unassign(session: Session, ticket_id: str, fmt: str) -> None:
    """Put a ticket back in its queue with nobody assigned.

    \b
    Example:
      gitdesk unassign GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.unassign(session.desk, ticket_id, session.actor()), fmt)


@click.command()
@ticket_id
@text_options
@click.option("--send", is_flag=True,
              help="Also mail it to the requester (over SMTP, or into outbox/ without mail.smtp).")
@common
def reply(session: Session, ticket_id: str, message: str | None, message_file: IO[str] | None, send: bool,
          fmt: str) -> None:
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
    from gitdesk import actions

    text = read_text(message, message_file, "reply") or ""
    if send:
        from gitdesk.mail import outgoing

        _done(session, outgoing.reply(session.desk, ticket_id, text, session.actor()), fmt)
    else:
        _done(session, actions.reply(session.desk, ticket_id, text, session.actor()), fmt)


@click.command()
@ticket_id
@text_options
@common
def note(session: Session, ticket_id: str, message: str | None, message_file: IO[str] | None, fmt: str) -> None:
    """Add an internal note (never shown to the requester or in the knowledge base).

    \b
    Example:
      gitdesk note GD-01JD8X4K -m "Suspect the dock firmware; checking."
    """
    from gitdesk import actions

    text = read_text(message, message_file, "note") or ""
    _done(session, actions.note(session.desk, ticket_id, text, session.actor()), fmt)


@click.command()
@ticket_id
@text_options
@common
def ask(session: Session, ticket_id: str, message: str | None, message_file: IO[str] | None, fmt: str) -> None:
    """Ask the requester a clarifying question; the ticket waits on them (pending).

    \b
    Example:
      gitdesk ask GD-01JD8X4K -m "Does this happen on the VPN, in the office, or both?"
    """
    from gitdesk import actions

    text = read_text(message, message_file, "question") or ""
    _done(session, actions.ask(session.desk, ticket_id, text, session.actor()), fmt)


@click.command()
@ticket_id
@click.option("--to", "to", metavar="QUEUE|PERSON", help="Where to (default: the queue's escalation target).")
@click.option("--reason", required=True, help="Why: what you tried and what you need.")
@common
def escalate(session: Session, ticket_id: str, to: str | None, reason: str, fmt: str) -> None:
    """Hand a ticket to another queue or person, with a reason on record.

    \b
    Example:
      gitdesk escalate GD-01JD8X4K --to it-infra --reason "Exchange-side, needs admin rights"
    """
    from gitdesk import actions

    _done(session, actions.escalate(session.desk, ticket_id, to, reason, session.actor()), fmt)


@click.command()
@ticket_id
@click.option("--note", "note_text", help="The resolution note: what was wrong and what fixed it.")
@click.option("--note-file", type=click.File("r", encoding="utf-8"), help="Read the note from a file ('-' for stdin).")
@common
def resolve(session: Session, ticket_id: str, note_text: str | None, note_file: IO[str] | None, fmt: str) -> None:
    """Resolve a ticket with a resolution note (required; it feeds the knowledge base).

    \b
    Example:
      gitdesk resolve GD-01JD8X4K --note "Removed stale credentials in Credential Manager."
    """
    from gitdesk import actions

    if note_text is not None and note_file is not None:
        raise click.UsageError("give the note with --note or --note-file, not both")
    text = note_file.read() if note_file is not None else note_text
    _done(session, actions.resolve(session.desk, ticket_id, text or "", session.actor()), fmt)


@click.command()
@ticket_id
@common
def close(session: Session, ticket_id: str, fmt: str) -> None:
    """Close a resolved ticket.

    \b
    Example:
      gitdesk close GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.close(session.desk, ticket_id, session.actor()), fmt)


@click.command()
@ticket_id
@click.option("-m", "--message", help="Why it is reopened (required if the desk says so).")
@common
def reopen(session: Session, ticket_id: str, message: str | None, fmt: str) -> None:
    """Reopen a resolved, closed or rejected ticket.

    \b
    Example:
      gitdesk reopen GD-01JD8X4K -m "The prompt is back since this morning"
    """
    from gitdesk import actions

    _done(session, actions.reopen(session.desk, ticket_id, message, session.actor()), fmt)


@click.command()
@ticket_id
@click.option("-m", "--message", help="Why (spam, out of scope, …).")
@common
def reject(session: Session, ticket_id: str, message: str | None, fmt: str) -> None:
    """Reject a ticket (spam, out of scope): it ends, keeping its history.

    \b
    Example:
      gitdesk reject GD-01JD8X4K -m "Spam"
    """
    from gitdesk import actions

    _done(session, actions.reject(session.desk, ticket_id, message, session.actor()), fmt)


@click.command(name="set")
@ticket_id
@click.argument("field")
@click.argument("value")
@common
def set_(session: Session, ticket_id: str, field: str, value: str, fmt: str) -> None:
    """Set one front-matter FIELD to VALUE ('-' or '' clears it).

    Status changes follow the workflow; custom fields are kept as typed.

    \b
    Examples:
      gitdesk set GD-01JD8X4K priority high
      gitdesk set GD-01JD8X4K queue facilities
      gitdesk set GD-01JD8X4K cost_centre 4100
    """
    from gitdesk import actions

    _done(session, actions.set_field(session.desk, ticket_id, field, value, session.actor()), fmt)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@ticket_id
@click.argument("edits", nargs=-1, required=True, metavar="+ADD -REMOVE...")
@common
def label(session: Session, ticket_id: str, edits: tuple[str, ...], fmt: str) -> None:
    """Add (+name or name) and remove (-name) labels.

    \b
    Example:
      gitdesk label GD-01JD8X4K +outlook -auth
    """
    from gitdesk import actions

    _done(session, actions.label(session.desk, ticket_id, list(edits), session.actor()), fmt)


@click.command()
@ticket_id
@click.option("--duplicate-of", metavar="OTHER", help="Mark ID as a duplicate of OTHER.")
@click.option("--related", metavar="OTHER", help="Relate ID and OTHER (both files, one commit).")
@common
def link(session: Session, ticket_id: str, duplicate_of: str | None, related: str | None, fmt: str) -> None:
    """Link two tickets: a duplicate, or related work.

    \b
    Examples:
      gitdesk link GD-01JD9A --duplicate-of GD-01JD8X
      gitdesk link GD-01JD9A --related GD-01JC77
    """
    from gitdesk import actions

    _done(session, actions.link(session.desk, ticket_id, session.actor(), duplicate_of=duplicate_of,
                                related=related), fmt)


@click.command(name="time")
@ticket_id
@click.argument("duration")
@click.option("-m", "--message", help="What the time went on.")
@common
def time_(session: Session, ticket_id: str, duration: str, message: str | None, fmt: str) -> None:
    """Log time spent on a ticket (45m, 1h30m, 2h, 1d); reports sum it.

    \b
    Example:
      gitdesk time GD-01JD8X4K 1h30m -m "Reimaged the laptop"
    """
    from gitdesk import actions

    _done(session, actions.log_time(session.desk, ticket_id, duration, message, session.actor()), fmt)
