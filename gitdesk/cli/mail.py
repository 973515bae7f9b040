"""Mail in: gitdesk intake."""

from __future__ import annotations

from pathlib import Path

import click

from gitdesk.cli.options import Session, desk_options, format_option, pass_session
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
    if result.failed:
        failed = result.count("failed")
        raise GitdeskError(f"{counted(failed, 'message')} {'was' if failed == 1 else 'were'} not taken in",
                           hint="see the list above; run the same intake again to retry them")
