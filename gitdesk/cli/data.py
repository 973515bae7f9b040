"""Reports and the record: report, log, feedback, export, import."""

from __future__ import annotations

from pathlib import Path

import click

from gitdesk.cli.options import CONTEXT, Commands, Session, desk_options, format_option, pass_session, ticket_id, when

REPORTS = ("queues", "workload", "training", "assets", "sla", "feedback")


@click.command(name="report")
@click.argument("name", type=click.Choice(REPORTS))
@click.option("--since", metavar="DATE", help="Start of the period (default: 30 days, 4 weeks or 3 months ago).")
@click.option("--until", metavar="DATE", help="End of the period: a date counts its whole day (--until "
              "2026-11-30 is up to the end of November).")
@click.option("--period", type=click.Choice(["week", "month"]), help="Break the figures down by week or month.")
@click.option("--queue", "-q", help="Only this queue's tickets.")
@click.option("--team", help="Only tickets assigned to this team's people.")
@format_option("table", "md", "json", "csv")
@desk_options
@pass_session
def report(session: Session, name: str, since: str | None, until: str | None, period: str | None,
           queue: str | None, team: str | None, fmt: str) -> None:
    """Figures from the tickets and their history, each traceable to its tickets.

    queues (what waits where), workload (arrivals, resolutions, backlog,
    effort: the hiring case), training (who keeps asking about what), assets
    (what keeps failing), sla (targets per priority), feedback (the weekly
    review). Each report states its period and definitions; --format json
    carries the ticket IDs behind every figure.

    \b
    Examples:
      gitdesk report workload --period week --since 2026-09-01
      gitdesk report assets --format md > assets.md
      gitdesk report sla --queue it-helpdesk --format json
    """
    from gitdesk import clock, reports
    from gitdesk.render import views
    from gitdesk.reports.base import Scope

    built = reports.build(session.desk, name, since=when(since), until=when(until, end_of_day=True), period=period,
                          scope=Scope(queue, team), now=clock.now())
    views.report(built, fmt)
    if built.unreadable:  # as list warns: figures a manager quotes must not leave a ticket out unsaid
        from gitdesk.render import output

        output.note(f"gitdesk: warning: {reports.left_out(built.unreadable)}")


@click.command(name="log")
@click.argument("ticket_id", metavar="[ID]", required=False)
@click.option("--since", metavar="DATE", help="Only changes at or after this time (ISO date or time).")
@click.option("--until", metavar="DATE", help="Only changes before this time (a date means: up to its end).")
@click.option("--author", metavar="WHO", help="Only changes by this person (handle, email or Git author name), "
              "and entries they wrote (a requester's mail taken in by intake names its sender).")
@click.option("--action", metavar="VERB", help="Only this action (reply, resolve, reopen, status, assignee, …); "
              "a hand-made commit that does the same counts too.")
@format_option()
@desk_options
@pass_session
def log(session: Session, ticket_id: str | None, since: str | None, until: str | None, author: str | None,
        action: str | None, fmt: str) -> None:
    """A ticket's timeline, or the desk's activity, read from Git.

    Hand-made commits are read like CLI ones: each version is compared with
    the one before (fields, conversation, resolution).

    \b
    Examples:
      gitdesk log GD-01JD8X4K
      gitdesk log --since 2026-11-01 --author ravi
      gitdesk log --action resolve --format csv
    """
    from gitdesk.cache import history
    from gitdesk.render import output, views

    desk = session.desk
    history.require_full(desk, "the audit log needs")
    if ticket_id:
        if since or until or author or action:
            raise click.UsageError("--since, --until, --author and --action are for the desk's log (no ID)")
        entries = history.ticket_log(desk, desk.resolve(ticket_id))
    else:
        entries = history.desk_log(desk, history.LogFilter(
            since=when(since), until=when(until, end_of_day=True), author=author, action=action))
        if author and not entries and desk.config.person(author) is None:  # a typo, or someone long gone
            from gitdesk.text import closest

            close = closest(author, desk.config.people)
            output.note(f"gitdesk: no changes by {author!r}, who is not one of the desk's people"
                        + (f" (did you mean {close}?)" if close else ""))
        if action and not entries and action.casefold() not in (known := history.log_actions(desk)
                                                                | _verbs(click.get_current_context())):
            from gitdesk.text import closest

            close = closest(action.casefold(), sorted(known))
            output.note(f"gitdesk: no changes with action {action!r}, which this log never records"
                        + (f" (did you mean {close}?)" if close else ""))
    shown = None
    if not ticket_id and fmt == "table" and entries:
        from gitdesk.cache import index
        from gitdesk.ids import abbreviations

        if output.is_terminal():  # piped, the whole IDs: a script may read them
            shown = abbreviations([*index.current_ids(desk), *(entry.ticket for entry in entries)])
    views.log_entries(entries, fmt, with_ticket=ticket_id is None, shown_ids=shown)


def _verbs(context: click.Context) -> set[str]:
    """Every command name, and a group's as GROUP-SUB (kb-build, mail-send): what a commit's
    Gitdesk-Action can say, whether or not this desk has done it yet."""
    root = context.find_root()
    names: set[str] = set()
    if not isinstance(root.command, click.Group):
        return names
    for name in root.command.list_commands(root):  # a typo's path only: loading each command is fine
        names.add(name)
        command = root.command.get_command(root, name)
        if isinstance(command, click.Group):
            names.update(f"{name}-{sub}" for sub in command.list_commands(root))
    return names


@click.group(name="feedback", cls=Commands, context_settings=CONTEXT)
def feedback() -> None:
    """Satisfaction feedback: stored apart from tickets, collated per team.

    \b
    Example:
      gitdesk feedback add GD-01JD8X4K --score 4 --comment "Quick and friendly"
      gitdesk feedback request GD-01JD8X4K
    """


@feedback.command(name="add")
@ticket_id
@click.option("--score", type=click.IntRange(1, 5), required=True, help="1 (very unhappy) to 5 (very happy).")
@click.option("--comment", "-m", "comment", help="What the requester said (-m, as every verb takes text).")
@desk_options
@pass_session
def feedback_add(session: Session, ticket_id: str, score: int, comment: str | None) -> None:
    """Record a requester's feedback on a ticket (in feedback/, never in the ticket).

    \b
    Example:
      gitdesk feedback add GD-01JD8X4K --score 2 --comment "Took three days"
    """
    from gitdesk import feedback as satisfaction
    from gitdesk.render import output

    added = satisfaction.add(session.desk, ticket_id, score, comment, session.actor())
    output.info(f"Feedback on {added.feedback.ticket} recorded in {added.feedback.path} [{added.commit[:7]}]")
    if not added.finished:
        output.note(f"note: {added.feedback.ticket} is {added.status}, so report feedback leaves this score out: "
                    "it counts scores given on resolved or closed tickets")


@feedback.command(name="request")
@ticket_id
@click.option("--send", is_flag=True, help="Deliver it at once when SMTP is set up here.")
@desk_options
@pass_session
def feedback_request(session: Session, ticket_id: str, send: bool) -> None:
    """Ask the requester of a finished ticket for a score, by mail.

    The mail is signed by the desk, not the agent, and queued in outbox/ in
    one commit (gitdesk mail send delivers it). The requester answers with a
    number from 1 to 5 (and a comment); `gitdesk intake` files the answer in
    feedback/.

    \b
    Example:
      gitdesk feedback request GD-01JD8X4K
    """
    from gitdesk.mail import notify
    from gitdesk.render import output

    asked = notify.request_feedback(session.desk, ticket_id, session.actor())
    output.info(f"Feedback request for {asked.ticket} to {asked.to}: queued in {asked.outbox} [{asked.commit[:7]}]")
    if send:
        for line in notify.deliver_now(session.desk, [asked.message_id]):
            output.note(line)


@click.command(name="export")
@click.argument("kind", type=click.Choice(["json", "csv"]), required=False)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]),
              help="The same as the KIND argument, as other commands take it.")
@click.option("--output", "-o", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--skip-unreadable", is_flag=True,
              help="Export what can be read when some ticket or feedback files cannot be (each is named); "
                   "JSON lists them under left_out.")
@desk_options
@pass_session
def export(session: Session, kind: str | None, fmt: str | None, target: Path | None, skip_unreadable: bool) -> None:
    """Every ticket with its whole conversation and derived timings, as JSON or CSV.

    Everything a ticket file says is in its record (the same as show
    --format json); JSON has the feedback too (kept apart from tickets).
    Not filtered for privacy (internal notes and requesters are included):
    keep exports where the desk is kept. A copy to read, not
    to restore from: gitdesk import does not read it back (to back up a
    desk, clone its repository with git clone --mirror).

    \b
    Examples:
      gitdesk export json -o tickets-2026-12.json
      gitdesk export csv > tickets.csv
    """
    if kind and fmt and kind != fmt:
        raise click.UsageError(f"export {kind} --format {fmt}: give one format")
    kind = kind or fmt
    if kind is None:
        raise click.UsageError("say which format: gitdesk export json (or csv)")
    from gitdesk import clock
    from gitdesk.cache import history
    from gitdesk.errors import GitdeskError
    from gitdesk.interop import export as exporting
    from gitdesk.render import output, views
    from gitdesk.text import counted

    history.require_full(session.desk, "an export (its timings) needs")
    now = clock.now()
    found, problems = exporting.tickets(session.desk, now)
    scores, unread = exporting.scores(session.desk)
    if problems or unread:  # an export is a backup: one lacking tickets must not replace a whole one unasked
        output.warnings([*problems, *unread])
        if not skip_unreadable:
            lacking = " and ".join(part for part in (counted(len(problems), "ticket file") if problems else "",
                                                     counted(len(unread), "feedback file") if unread else "") if part)
            raise GitdeskError(f"the export would lack {lacking} that cannot be read; nothing was written",
                               hint="fix them (gitdesk check lists them), then export again; or export the rest "
                                    "with --skip-unreadable")
    left_out = sorted({problem.path or str(problem) for problem in [*problems, *unread]})
    views.export(found, kind, target, clock.format_utc(now), scores, left_out)


@click.command(name="import")
@click.argument("kind", type=click.Choice(["github", "csv", "backlog"]))
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--queue", "-q", help="Queue for imported tickets (default: the desk's first queue).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="csv: which column holds a field (columns named like fields are found by themselves).")
@click.option("--repo", metavar="OWNER/NAME", help="github: the repository, when the export does not say.")
@click.option("--source", metavar="NAME", help="csv: the system the file came from, when several number their "
              "tickets alike (keys become csv:NAME:KEY).")
@format_option()
@desk_options
@pass_session
def import_(session: Session, kind: str, path: Path, queue: str | None, mapping: tuple[str, ...],
            repo: str | None, source: str | None, fmt: str) -> None:
    """Import tickets from GitHub issues, a CSV file or a Backlog.md project.

    Each ticket gets a backdated history (created, comments, closed) that
    timings and reports read like any other; what is already imported is
    skipped, and whatever could not be carried over is said per ticket.

    \b
    Examples:
      FIELDS=number,title,body,state,stateReason,labels,assignees
      FIELDS=$FIELDS,author,createdAt,closedAt,comments
      gh issue list --state all --limit 10000 --json $FIELDS > issues.json
      gitdesk import github issues.json --repo fernhill/it
      gitdesk import csv old-tickets.csv \\
        --map title=Subject --map requester="E-mail"
      gitdesk import csv facilities.csv --source facilities
      gitdesk import backlog ~/src/website
    """
    from gitdesk.interop import importing
    from gitdesk.interop.readers import backlog, csvfile, github
    from gitdesk.render import views

    desk = session.desk
    if kind != "backlog" and not path.is_file():
        from gitdesk.errors import ValidationError

        raise ValidationError(f"{path} is not a file" if path.exists() else f"no file {path}",
                              hint=f"a {kind} import reads one file; a folder is for import backlog")
    if source is not None and kind != "csv":
        raise click.UsageError("--source is for import csv: GitHub and Backlog.md keys name their project")
    if kind == "github":
        items = github.records(path, frozenset(desk.config.people), repo)
    elif kind == "csv":
        if any("=" not in item for item in mapping):
            raise click.UsageError("--map takes FIELD=COLUMN")
        pairs = dict(item.split("=", 1) for item in mapping)
        if len(pairs) != len(mapping):
            raise click.UsageError("--map names a field twice: give each field one column")
        items = csvfile.records(path, desk.config.statuses, pairs, source)
    else:
        items = backlog.records(path)
    views.import_result(importing.run(desk, items, path.name, session.actor(), queue), fmt)
