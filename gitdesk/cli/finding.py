"""Finding what was solved before: search and similar."""

from __future__ import annotations

import click

from gitdesk.cli.options import (
    LIMIT_TYPE,
    FilterOptions,
    Session,
    desk_options,
    format_option,
    list_filters,
    pass_session,
)


@click.command(name="search")
@click.argument("query", nargs=-1, required=True)
@list_filters
@click.option("--limit", "-n", type=LIMIT_TYPE, metavar="N", default=20,
              show_default=True,
              help="At most this many results.")
@format_option()
@desk_options
@pass_session
def search(session: Session, query: tuple[str, ...], chosen: FilterOptions, limit: int, fmt: str) -> None:
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
    desk = session.indexed_desk
    from gitdesk.knowledge import search as finding
    from gitdesk.render import views

    filters = chosen.resolve(session, ("all",))
    # A requester (someone not among the desk's people) never sees internal notes.
    internal = session.as_ is None or session.actor().person is not None
    # One more than shown: whether there are more is said, not hidden behind the limit.
    hits = finding.search(desk, " ".join(query), filters, limit=limit + 1, include_internal=internal)
    views.search_hits(hits[:limit], fmt, more=len(hits) > limit)


@click.command(name="similar")
@click.argument("ticket_id", metavar="[ID]", required=False)
@click.option("--text", help="Describe the problem instead of naming a ticket.")
@click.option("--limit", "-n", type=click.IntRange(min=1), metavar="N", default=5, show_default=True,
              help="At most this many.")
@click.option("--threshold", type=click.FloatRange(0, 1), metavar="SCORE",
              help="Show only tickets scoring at least this (0 shows every match; default: search.threshold "
                   "in the config, else the tuned one).")
@format_option("table", "json")
@desk_options
@pass_session
def similar(session: Session, ticket_id: str | None, text: str | None, limit: int, threshold: float | None,
            fmt: str) -> None:
    """The resolved tickets most like a ticket (or a description), with what fixed them.

    Ranked by meaning as well as words: BM25 fused with a support
    vocabulary (built in, plus the desk's .gitdesk/concepts.txt) and, where
    the desk names one, an embedding model (docs/search.md). The same
    category and asset count for more; duplicates fold into the ticket they
    duplicate. When nothing scores above the threshold it says so.

    \b
    Examples:
      gitdesk similar GD-01JD8X4K
      gitdesk similar --text "outlook keeps asking for my password"
      gitdesk similar GD-01JD8X4K --threshold 0 --format json
    """
    if (ticket_id is None) == (text is None):
        raise click.UsageError("give an ID or --text, one of them")
    if threshold is not None:
        if not 0 <= threshold <= 1:  # FloatRange lets NaN through
            raise click.BadParameter(f"{threshold} is not a number from 0 to 1", param_hint="'--threshold'")
        threshold += 0.0  # -0 is 0
    desk = session.indexed_desk
    from gitdesk.knowledge import search as finding
    from gitdesk.render import views

    ticket = desk.find(ticket_id).ticket if ticket_id else None
    views.similar_tickets(finding.similar(desk, ticket=ticket, text=text, limit=limit, threshold=threshold), fmt)
