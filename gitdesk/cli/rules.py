"""gitdesk rules: what the desk does on time, and running it from a scheduler."""

from __future__ import annotations

import click

from gitdesk.cli.options import CONTEXT, Commands, Session, desk_options, format_option, pass_session
from gitdesk.errors import GitdeskError


@click.group(name="rules", cls=Commands, context_settings=CONTEXT, invoke_without_command=True)
@format_option()
@desk_options
@pass_session
@click.pass_context
def rules(context: click.Context, session: Session, fmt: str) -> None:
    """List the desk's rules (.gitdesk/rules.yml) and what each would do next.

    Rules close, remind, warn and send digests with nobody at the keyboard;
    `gitdesk rules run` applies them, from cron or a scheduled CI job. See
    docs/automations.md.

    \b
    Examples:
      gitdesk rules
      gitdesk rules run --dry-run
    """
    if context.invoked_subcommand is not None:
        return
    from gitdesk import clock
    from gitdesk.render import output, views
    from gitdesk.rules import engine

    found, plan = engine.overview(session.desk, clock.now())
    views.rules_overview(found, plan, fmt)
    output.warnings(plan.unreadable)


@rules.command(name="run")
@click.option("--dry-run", is_flag=True, help="List what would happen, per rule, with ticket IDs; change nothing.")
@click.option("--rule", "only", metavar="NAME", help="Run only this rule.")
@format_option()
@desk_options
@pass_session
def run(session: Session, dry_run: bool, only: str | None, fmt: str) -> None:
    """Apply every rule that is due: each change one commit with a Gitdesk-Rule trailer.

    Running it again changes nothing until something new is due; two clones
    that both run it and sync send each reminder once. Tickets with
    uncommitted hand edits are skipped (and named). Exits 1 if a rule failed
    on a ticket. Schedule it with the recipes in docs/ci/.

    \b
    Examples:
      gitdesk rules run --dry-run
      gitdesk rules run
      gitdesk rules run --rule close-resolved --format json
    """
    from gitdesk import clock
    from gitdesk.render import output, views
    from gitdesk.rules import engine
    from gitdesk.text import counted

    report = engine.run(session.desk, clock.now(), dry_run=dry_run, only=only)
    views.rules_run(report, fmt)
    output.warnings(report.unreadable)  # no rule judged them: a reminder due on one is not sent
    if report.failed:
        raise GitdeskError(f"{counted(len(report.failed), 'rule action')} failed",
                           hint="see the list above; fix the ticket or the rule, then run again")
