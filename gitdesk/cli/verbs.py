"""The everyday verbs: one library action each, one commit each.

Each command resolves its options, calls its ``gitdesk.actions`` function with
typed arguments, tells the index what it wrote, and shows the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from gitdesk.cli.options import (
    Session,
    attach_option,
    desk_options,
    format_option,
    in_editor,
    message_option,
    pass_session,
    read_text,
    ticket_id,
)

if TYPE_CHECKING:
    from gitdesk.actions import Mailer, Outcome

F = TypeVar("F", bound=Callable[..., Any])


def common(function: F) -> F:
    """What every verb takes after its own options: --format, --desk, --as, and the session."""
    with_session: F = pass_session(function)  # type: ignore[assignment]  # click's decorator is not generic
    return format_option("table", "json")(desk_options(with_session))


def text_options(function: F) -> F:
    """The verb's text, with ``-m TEXT`` or ``--file F``."""
    function = click.option("--file", "message_file", type=click.File("r", encoding="utf-8"),
                            help="Read the text from a file ('-' for stdin).")(function)
    return message_option("-m", "--message", help="The text.")(function)


send_option = click.option("--send/--no-send", "send", default=None,
                           help="Mail the requester (and Cc) even if the desk's mail.notify says not to, and "
                                "deliver it now when SMTP is set up here; --no-send: no mail this time.")


def mailer(session: Session, send: bool | None = None, attach: Sequence[tuple[str, bytes]] = ()) -> Mailer:
    """What the action mails: the requester by the desk's policy (or ``send``), and the agents
    who asked to hear of it."""
    from gitdesk.mail import notify

    return notify.Mailer(session.desk, send, tuple(attach))


def _done(session: Session, result: Outcome, fmt: str, send: bool | None = None) -> None:
    from gitdesk.cache import index
    from gitdesk.render import output, views

    index.written(session.desk, result.ticket_files)
    views.outcome(result, fmt)
    if send and result.mailed:
        from gitdesk.mail import notify

        for line in notify.deliver_now(session.desk, result.mailed):
            output.hook_messages([line])


@click.command()
@ticket_id
@click.option("--force", is_flag=True, help="Take it even though another agent holds it.")
@common
def take(session: Session, ticket_id: str, force: bool, fmt: str) -> None:
    """Assign a ticket to yourself (a ticket in intake moves to your queue).

    A ticket another agent holds is not taken from them without --force.

    \b
    Example:
      gitdesk take GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.take(session.desk, ticket_id, session.actor(), force=force, mailer=mailer(session)), fmt)


@click.command()
@ticket_id
@click.argument("person")
@common
def assign(session: Session, ticket_id: str, person: str, fmt: str) -> None:
    """Assign a ticket to PERSON (a handle or email from config).

    \b
    Example:
      gitdesk assign GD-01JD8X4K ravi
    """
    from gitdesk import actions

    _done(session, actions.assign(session.desk, ticket_id, person, session.actor(), mailer=mailer(session)), fmt)


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
@click.option("--use", "canned_name", metavar="NAME", help="Start from the canned reply .gitdesk/replies/NAME.md.")
@click.option("--from-kb", "article", metavar="ARTICLE", help="Start from a knowledge-base article (its path "
                                                               "or a word of its name).")
@click.option("--edit", "edit_first", is_flag=True, help="Adjust the text in $EDITOR before it is sent.")
@attach_option("Attach a file (repeatable): kept under attachments/<ID>/ and mailed.")
@send_option
@common
def reply(session: Session, ticket_id: str, message: str | None, message_file: IO[str] | None,
          canned_name: str | None, article: str | None, edit_first: bool, attach: tuple[tuple[str, bytes], ...],
          send: bool | None, fmt: str) -> None:
    """Add a public reply to the conversation; it is mailed to the requester and Cc.

    The mail is written into outbox/ in the same commit (see docs/outbox.md);
    --send also delivers it at once when SMTP is set up here. A reply by the
    requester on a pending ticket moves it back to open. --use starts from a
    canned reply (which may also set status, priority, category or labels),
    --from-kb from a knowledge-base article, which opens in $EDITOR on a
    terminal: it tells how another ticket was solved.

    \b
    Example:
      gitdesk reply GD-01JD8X4K -m "Fixed: please try again."
      gitdesk reply GD-01JD8X4K --use more-details --edit --send
      gitdesk reply GD-01JD8X4K --as paul@fernhill.example -m "Works now, thanks"
    """
    from gitdesk import actions, templates

    desk = session.desk
    given = read_text(message, message_file, "reply", required=not (canned_name or article))
    if sum(item is not None for item in (given, canned_name, article)) > 1:
        raise click.UsageError("give the reply with one of -m/--file, --use or --from-kb")
    fields = None
    text = given or ""
    if canned_name or article:
        ticket = desk.find(ticket_id).ticket
        if canned_name:
            canned = templates.canned(desk.root, canned_name)
            text, fields = canned.body, dict(canned.fields)
        else:
            from gitdesk.knowledge import kb

            text = kb.answer_from(desk, article or "")
        person = session.actor().person
        text = templates.fill(text, templates.values(ticket, desk.config, person.name if person else None))
    from gitdesk.render import output

    if edit_first or (article and output.is_terminal()):
        edited = in_editor(text)
        if edited is None or not edited.strip():
            raise click.Abort()
        text = edited
    result = actions.reply(desk, ticket_id, text, session.actor(), attach=attach, fields=fields,
                           mailer=mailer(session, send, attach))
    _done(session, result, fmt, send)


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
@send_option
@common
def ask(session: Session, ticket_id: str, message: str | None, message_file: IO[str] | None, send: bool | None,
        fmt: str) -> None:
    """Ask the requester a clarifying question; the ticket waits on them (pending).

    \b
    Example:
      gitdesk ask GD-01JD8X4K \\
          -m "Does this happen on the VPN, in the office, or both?"
    """
    from gitdesk import actions

    text = read_text(message, message_file, "question") or ""
    _done(session, actions.ask(session.desk, ticket_id, text, session.actor(), mailer=mailer(session, send)), fmt,
          send)


@click.command()
@ticket_id
@click.option("--to", "to", metavar="QUEUE|PERSON", help="Where to (default: the queue's escalation target).")
@message_option("--reason", "-m", "--message", "reason", required=True,
                help="Why: what you tried and what you need.")
@common
def escalate(session: Session, ticket_id: str, to: str | None, reason: str, fmt: str) -> None:
    """Hand a ticket to another queue or person, with a reason on record.

    To a queue, its assignment rule picks the assignee; a person is asked for
    help, and the ticket stays in its queue. A finished ticket is refused: reopen it first.

    \b
    Example:
      gitdesk escalate GD-01JD8X4K --reason "Exchange-side, needs admin rights"
      gitdesk escalate GD-01JD8X4K --to dana --reason "Needs a purchase order"
    """
    from gitdesk import actions

    _done(session, actions.escalate(session.desk, ticket_id, to, reason, session.actor(), mailer=mailer(session)), fmt)


@click.command()
@ticket_id
@message_option("--note", "-m", "note_text", help="The resolution note: what was wrong and what fixed it.")
@click.option("--note-file", type=click.File("r", encoding="utf-8"), help="Read the note from a file ('-' for stdin).")
@send_option
@common
def resolve(session: Session, ticket_id: str, note_text: str | None, note_file: IO[str] | None, send: bool | None,
            fmt: str) -> None:
    """Resolve a ticket with a resolution note (required; it feeds the knowledge base).

    The note is mailed to the requester and the ticket's Cc as written (with
    mail set up), and published in the knowledge base without addresses or
    phone numbers: write it for both readers.

    \b
    Example:
      gitdesk resolve GD-01JD8X4K \\
          --note "Removed stale credentials in Credential Manager."
    """
    from gitdesk import actions

    if note_text is not None and note_file is not None:
        raise click.UsageError("give the note with --note or --note-file, not both")
    text = note_file.read() if note_file is not None else note_text
    _done(session, actions.resolve(session.desk, ticket_id, text or "", session.actor(),
                                   mailer=mailer(session, send)), fmt, send)


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
@message_option("-m", "--message", "--reason", "message",
                help="Why it is reopened; the requester is told (required if the desk says so).")
@send_option
@common
def reopen(session: Session, ticket_id: str, message: str | None, send: bool | None, fmt: str) -> None:
    """Reopen a resolved, closed or rejected ticket.

    \b
    Example:
      gitdesk reopen GD-01JD8X4K -m "The prompt is back since this morning"
    """
    from gitdesk import actions
    from gitdesk.render import output
    from gitdesk.rules.engine import EventRules

    rules = EventRules(session.desk)
    _done(session, actions.reopen(session.desk, ticket_id, message, session.actor(), mailer=mailer(session, send),
                                  automation=rules), fmt, send)
    output.rules_not_applied(rules.problem)


@click.command()
@ticket_id
@message_option("-m", "--message", "--reason", "message", help="Why; the requester is told, unless --no-send.")
@send_option
@common
def reject(session: Session, ticket_id: str, message: str | None, send: bool | None, fmt: str) -> None:
    """Reject a ticket (spam, out of scope): it ends, keeping its history.

    Where the desk mails requesters, the reason is mailed like any answer.
    Use --no-send for spam: a reply tells a spammer the address is read.
    An acknowledgement still waiting in outbox/ is withdrawn either way.

    \b
    Examples:
      gitdesk reject GD-01JD8X4K --no-send -m "Spam"
      gitdesk reject GD-01JD8X4K -m "We look after IT only; Facilities has it."
    """
    from gitdesk import actions

    _done(session, actions.reject(session.desk, ticket_id, message, session.actor(), mailer=mailer(session, send)),
          fmt, send)


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

    _done(session, actions.set_field(session.desk, ticket_id, field, value, session.actor(),
                                     mailer=mailer(session)), fmt)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@ticket_id
@click.argument("edits", nargs=-1, metavar="+ADD -REMOVE...")  # required, but -h alone must reach the help
@common
def label(session: Session, ticket_id: str, edits: tuple[str, ...], fmt: str) -> None:
    """Add (+name or name) and remove (-name) labels.

    \b
    Example:
      gitdesk label GD-01JD8X4K +outlook -auth
    """
    from gitdesk import actions

    _help_if_asked(ticket_id, edits, lambda: "h" in session.desk.find(ticket_id).ticket.labels)
    _done(session, actions.label(session.desk, ticket_id, list(edits), session.actor()), fmt)


def _help_if_asked(ticket_id: str, edits: tuple[str, ...], meant: Callable[[], bool] = lambda: False) -> None:
    """``-h`` where label and cc read "-name" (remove): the help, as -h gives everywhere else,
    unless ``meant`` says it names what it would remove (a ticket labelled h)."""
    context = click.get_current_context()
    if ticket_id == "-h" or (edits == ("-h",) and not meant()):
        click.echo(context.get_help())
        context.exit(0)
    if not edits:
        raise click.MissingParameter(ctx=context, param=next(p for p in context.command.params if p.name == "edits"))


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


@click.command()
@ticket_id
@click.option("--of", "of", metavar="OTHER", required=True, help="The ticket that holds (or will hold) the answer.")
@message_option("-m", "--message", help="A word to the requester before the pointer to the answer.")
@send_option
@common
def duplicate(session: Session, ticket_id: str, of: str, message: str | None, send: bool | None, fmt: str) -> None:
    """Resolve ID as a duplicate of OTHER: link them, and tell the requester where the answer is.

    If OTHER is solved, its resolution note is the answer; if not, the
    requester is told so, and is mailed OTHER's answer, on their own ticket,
    when it is solved. The duplicate counts in OTHER's knowledge-base article.

    \b
    Example:
      gitdesk duplicate GD-01JD9A --of GD-01JD8X -m "Thanks, we know this one."
    """
    from gitdesk import actions
    from gitdesk.cache import history

    desk = session.desk
    _done(session, actions.close_as_duplicate(desk, ticket_id, of, session.actor(), message,
                                              mailer=mailer(session, send),
                                              unsolved=lambda other: history.finished_by_a_rule(desk, other)),
          fmt, send)


@click.command(name="time")
@ticket_id
@click.argument("duration")
@message_option("-m", "--message", help="What the time went on.")
@common
def time_(session: Session, ticket_id: str, duration: str, message: str | None, fmt: str) -> None:
    """Log time spent on a ticket in hours and minutes (45m, 1h30m, 8h); reports sum it.

    \b
    Example:
      gitdesk time GD-01JD8X4K 1h30m -m "Reimaged the laptop"
    """
    from gitdesk import actions

    _done(session, actions.log_time(session.desk, ticket_id, duration, message, session.actor()), fmt)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@ticket_id
@click.argument("edits", nargs=-1, metavar="+ADDR -ADDR...")  # required, but -h alone must reach the help
@common
def cc(session: Session, ticket_id: str, edits: tuple[str, ...], fmt: str) -> None:
    """Add (+addr) and remove (-addr) addresses that hear of every public step, as the requester does.

    A ticket from mail keeps the Cc of the mail that opened it; people in Cc
    may answer into the thread.

    \b
    Example:
      gitdesk cc GD-01JD8X4K +carol@example.com -dave@example.com
    """
    from gitdesk import actions

    _help_if_asked(ticket_id, edits)
    _done(session, actions.cc(session.desk, ticket_id, list(edits), session.actor()), fmt)


@click.command()
@ticket_id
@common
def watch(session: Session, ticket_id: str, fmt: str) -> None:
    """Watch a ticket: hear by mail when it is answered or reopened (with notify: true in config).

    Its assignee hears so without watching.

    \b
    Example:
      gitdesk watch GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.watch(session.desk, ticket_id, session.actor()), fmt)


@click.command()
@ticket_id
@common
def unwatch(session: Session, ticket_id: str, fmt: str) -> None:
    """Stop watching a ticket.

    \b
    Example:
      gitdesk unwatch GD-01JD8X4K
    """
    from gitdesk import actions

    _done(session, actions.watch(session.desk, ticket_id, session.actor(), watching=False), fmt)


@click.command()
@format_option()
@desk_options
@pass_session
def replies(session: Session, fmt: str) -> None:
    """List the canned replies (.gitdesk/replies/NAME.md) with their first line.

    Use one with gitdesk reply ID --use NAME; it may also set status,
    priority, category or labels, named in its front matter.

    \b
    Example:
      gitdesk replies
      gitdesk reply GD-01JD8X4K --use more-details --edit
    """
    from gitdesk import templates
    from gitdesk.render import views

    views.canned_replies(templates.canned_replies(session.desk.root), fmt)
