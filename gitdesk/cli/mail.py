"""Mail: gitdesk intake takes it in; gitdesk mail send delivers the outbox."""

from __future__ import annotations

from pathlib import Path

import click

from gitdesk.cli.options import CONTEXT, Commands, Session, desk_options, format_option, pass_session
from gitdesk.errors import GitdeskError


@click.command(name="intake")
@click.argument("kind", type=click.Choice(["mbox", "maildir", "eml"]))
@click.argument("path", type=click.Path(path_type=Path))
@format_option()
@desk_options
@pass_session
def intake(session: Session, kind: str, path: Path, fmt: str) -> None:
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
    from gitdesk.mail import intake as taking_in
    from gitdesk.render import views
    from gitdesk.text import counted

    result = taking_in.run(session.desk, kind, path)
    views.intake_result(result, fmt)
    if result.rules_problem:
        from gitdesk.render import output

        output.rules_not_applied(result.rules_problem)
    if result.commits and fmt == "table":
        from gitdesk.mail.delivery import upstream_of
        from gitdesk.render import output

        upstream = upstream_of(session.desk.repo)
        if upstream is not None:  # until then, nobody else sees the new tickets
            output.note(f"note: the team sees them once you run gitdesk sync (to {upstream})")
    if result.failed:
        failed, again = result.count("failed"), result.to_retry()
        hint = ("see the list above; run the same intake again to retry them" if again == failed else
                "see the list above: each line says how to take it in" if not again else
                "see the list above; run the same intake again to retry those whose line says no other way")
        raise GitdeskError(f"{counted(failed, 'message')} {'was' if failed == 1 else 'were'} not taken in",
                           hint=hint)


@click.group(name="mail", cls=Commands, context_settings=CONTEXT)
def mail() -> None:
    """Mail out: deliver what the desk's actions queued in outbox/.

    \b
    Example:
      gitdesk mail send --dry-run
      gitdesk mail send
    """


@mail.command(name="send")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send, fetch and change nothing.")
@click.option("--if-set", is_flag=True, help="Where no SMTP server is set, say so and exit 0 (a scheduled round "
              "on a desk that may not send yet).")
@format_option()
@desk_options
@pass_session
def send(session: Session, dry_run: bool, if_set: bool, fmt: str) -> None:
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
      gitdesk mail send --if-set          # in a scheduled round
    """
    from gitdesk.errors import GitdeskError
    from gitdesk.mail import delivery
    from gitdesk.render import output, views
    from gitdesk.text import counted

    if if_set and not dry_run:
        from gitdesk.mail.smtp import smtp_settings

        if smtp_settings(session.desk.config) is None:
            output.note("gitdesk: no SMTP server is set (mail.smtp.host, or GITDESK_SMTP_HOST): the outbox waits")
            if fmt == "json":
                output.write_json({"sent": False, "reason": "no SMTP server is set"})
            return
    result = delivery.send(session.desk, dry_run=dry_run)
    views.mail_send(result, fmt)
    if result.error is not None:
        raise result.error
    refused = result.count("refused")
    if refused:
        raise GitdeskError(f"{counted(refused, 'outbox file')} {'was' if refused == 1 else 'were'} refused "
                           "and never sent", hint="see the list above; fix or remove them (git rm), then commit")
