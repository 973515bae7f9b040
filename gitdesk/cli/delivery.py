"""Mail out: gitdesk mail send delivers outbox/."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gitdesk.cli.options import CONTEXT, Session, desk_options, format_option, pass_session

if TYPE_CHECKING:
    from gitdesk.mail.delivery import DeliveryResult


@click.group(name="mail", context_settings=CONTEXT)
def mail() -> None:
    """Mail out: deliver what the desk's actions queued in outbox/.

    \b
    Example:
      gitdesk mail send --dry-run
      gitdesk mail send
    """


@mail.command(name="send")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send, fetch and change nothing.")
@format_option()
@desk_options
@pass_session
def send(session: Session, dry_run: bool, fmt: str) -> None:
    """Deliver the committed outbox/ of the mail branch, each message exactly once.

    Each message goes to the SMTP server (mail.smtp, GITDESK_SMTP_*) and
    moves to sent/YYYY-MM/ with the server's answer, in one commit per run.
    With an upstream, the messages are first claimed by a pushed commit, so
    two clones never send the same one. A temporary failure waits in
    outbox/NAME.retry and is tried again later; a permanent one moves to
    undeliverable/ and becomes an internal note on its ticket. Exits 1 when
    an outbox file was refused or the run stopped early. See docs/outbox.md.

    \b
    Examples:
      gitdesk mail send --dry-run
      GITDESK_SMTP_HOST=smtp.example.com GITDESK_SMTP_PASSWORD=… gitdesk mail send
      gitdesk mail send --format json
    """
    from gitdesk.errors import GitdeskError
    from gitdesk.mail import delivery
    from gitdesk.text import counted

    result = delivery.send(session.desk, dry_run=dry_run)
    show(result, fmt)
    if result.error is not None:
        raise result.error
    refused = result.count("refused")
    if refused:
        raise GitdeskError(f"{counted(refused, 'outbox file')} {'was' if refused == 1 else 'were'} refused "
                           "and never sent", hint="see the list above; fix or remove them (git rm), then commit")


def show(result: DeliveryResult, fmt: str) -> None:
    """The run as a list of outbox files (all of them on a dry run, else what needs a look)."""
    from gitdesk.render.output import Column, emit, note

    records = [item.as_record() for item in result.items]
    counts = result.counts()
    meta = {"branch": result.branch, "upstream": result.upstream, "dry_run": result.dry_run,
            "commits": result.commits, "counts": counts}
    quiet = ("sent", "recorded")  # a table of a thousand "sent" rows says less than the count
    rows = records if result.dry_run or len(records) <= 20 else [r for r in records if r["outcome"] not in quiet]
    columns = (Column("FILE", lambda r: str(r["file"])), Column("OUTCOME", lambda r: str(r["outcome"])),
               Column("TICKET", lambda r: str(r["ticket"] or "-")),
               Column("TO", lambda r: ", ".join(map(str, r["to"])) or "-", fit="shrink"),
               Column("DETAIL", lambda r: str(r["detail"]), fit="shrink"))
    emit(fmt, "messages", records, columns=columns if rows else (), rows=rows,
         text=None if rows else (lambda: None), meta=meta)
    if fmt != "table":
        return
    shown = ", ".join(f"{number} {outcome}" for outcome, number in counts.items() if number) or "nothing queued"
    commits = f" [{', '.join(commit[:7] for commit in result.commits)}]" if result.commits else ""
    where = f"{result.branch}" + (f", coordinated through {result.upstream}" if result.upstream else "")
    if result.dry_run:
        note(f"Dry run on {where}: {shown}; nothing was sent or changed")
    else:
        note(f"Mail send on {where}: {shown}{commits}")
