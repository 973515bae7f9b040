"""The knowledge base (kb build, kb search) and the static site."""

from __future__ import annotations

from pathlib import Path

import click

from gitdesk.cli.options import CONTEXT, LIMIT_TYPE, Commands, Session, desk_options, format_option, pass_session
from gitdesk.errors import GitdeskError
from gitdesk.text import counted


@click.group(name="kb", cls=Commands, context_settings=CONTEXT)
def kb() -> None:
    """The knowledge base: resolution notes as Markdown articles in kb/.

    \b
    Example:
      gitdesk kb build
      gitdesk kb search printer offline
    """


@kb.command(name="build")
@click.option("--no-commit", is_flag=True, help="Write kb/ but do not commit it.")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if kb/ is out of date (for CI).")
@desk_options
@pass_session
def kb_build(session: Session, no_commit: bool, check_only: bool) -> None:
    """Write kb/ from resolved tickets with a resolution note, and commit it.

    One article per problem (duplicates folded in), kb/README.md by category;
    internal notes, requester addresses and private fields never appear.
    Only changed files are written; the same desk always gives the same bytes.
    Articles that seem to say the same thing are listed as suggestions to
    merge (nothing is rewritten).

    \b
    Examples:
      gitdesk kb build
      gitdesk kb build --check       # in CI: is kb/ up to date?
    """
    from gitdesk.knowledge import kb as knowledge_base
    from gitdesk.render import output

    desk = session.desk
    if check_only:
        planned, _ = knowledge_base.plan(desk)
        stale = sorted(planned)
        if stale and not (desk.root / knowledge_base.KB).is_dir():  # never built: not a list of every file
            raise GitdeskError(f"the knowledge base has not been built yet ({counted(len(stale), 'file')} to write)",
                               hint="run gitdesk kb build")
        edited = {edit.path: edit for edit in knowledge_base.hand_edits(desk, stale, planned)}
        for path in stale:
            edit = edited.get(path)
            output.info(f"{path}: out of date" + (f"; edited by hand in {edit.commit[:7]} ({edit.author}): "
                                                   "a build replaces it" if edit else ""))
        if stale:
            raise GitdeskError(f"the knowledge base is out of date ({counted(len(stale), 'file')}; what is "
                               "committed counts)", hint="run gitdesk kb build")
        output.info("The knowledge base is up to date.")
        return
    result = knowledge_base.build(desk, commit=not no_commit)
    index = knowledge_base.index_path(desk)
    if not result.written and not result.removed:
        output.info(f"The knowledge base is up to date ({counted(result.articles, 'article')} in "
                    f"{knowledge_base.KB}/).")
    else:
        where = f" [{result.commit[:7]}]" if result.commit else " (not committed)"
        output.info(f"Knowledge base: {counted(result.articles, 'article')}; "
                    f"{counted(len(result.written), 'file')} written, {len(result.removed)} removed{where}.\n"
                    f"Start at {index}")
    if index != f"{knowledge_base.KB}/README.md":
        output.note(f"gitdesk: kept {knowledge_base.KB}/README.md as it is: a person's file (it lacks the "
                    f"generated-file marker); the index is {index}")
    for edit in result.replaced:
        output.note(f"gitdesk: warning: {edit.path} had been edited by hand ({edit.commit[:7]} by {edit.author}: "
                       f"{edit.subject[:60]!r}); the build wrote it again from the tickets (articles are made from "
                       f"the resolution notes: put the words there, with gitdesk edit); the edit is in history: "
                       f"git show {edit.commit[:7]}:{edit.path}")
    for problem in result.unread:
        output.note(f"gitdesk: warning: {problem}; that ticket has no article, so the build went on without it "
                    "(gitdesk check lists every problem)")
    for path in result.kept:
        output.note(f"gitdesk: kept {path} as it is: a person's file (it lacks the generated-file marker); "
                    "move it away to have the build write it")
    if result.overlaps:
        output.info("These articles seem to say the same thing; to merge two, mark one ticket a duplicate "
                    "of the other (gitdesk link ID --duplicate-of ID) and build again:")
        for overlap in result.overlaps:
            output.info(f"  {overlap.score:.2f}  {overlap.first.path}\n        {overlap.second.path}", whole=True)


@kb.command(name="search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", type=LIMIT_TYPE, metavar="N", default=10,
              show_default=True, help="At most this many articles.")
@format_option("table", "json")
@desk_options
@pass_session
def kb_search(session: Session, query: tuple[str, ...], limit: int, fmt: str) -> None:
    """Search the knowledge base only: articles' titles, symptoms and resolutions.

    \b
    Example:
      gitdesk kb search outlook password
    """
    from gitdesk.knowledge import kb as knowledge_base
    from gitdesk.render import views

    hits = knowledge_base.search(session.desk, " ".join(query), limit + 1)  # one more: are there more?
    views.kb_hits(hits[:limit], fmt, more=len(hits) > limit, query=" ".join(query))


@click.group(name="site", cls=Commands, context_settings=CONTEXT)
def site() -> None:
    """A static website of the knowledge base and the queue boards.

    \b
    Example:
      gitdesk site build public/
    """


@site.command(name="build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@desk_options
@pass_session
def site_build(session: Session, outdir: Path) -> None:
    """Write the site into OUTDIR: articles, read-only queue boards, in-browser search.

    Works opened from disk and on GitHub or GitLab Pages. OUTDIR must be
    empty or hold a previous gitdesk site (which is replaced).

    \b
    Example:
      gitdesk site build public/ && xdg-open public/index.html
    """
    from gitdesk.knowledge import site as static_site
    from gitdesk.render import output

    result = static_site.build(session.desk, outdir)
    for line in result.left_off:
        output.note(f"gitdesk: warning: {line}")
    output.info(f"Site: {counted(result.articles, 'article')} and {counted(result.boards, 'queue board')} in "
                f"{result.directory};\nopen {result.directory / 'index.html'}")
