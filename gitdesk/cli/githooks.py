"""Git integration: check, hooks, sync, and what Git itself calls (hook, merge-file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitdesk.cli.options import CONTEXT, Commands, Session, desk_options, format_option, one_of, pass_session
from gitdesk.errors import GitdeskError

if TYPE_CHECKING:
    from gitdesk.git import Repo


def _repository(session: Session) -> Repo:
    from gitdesk import git

    start = session.start()
    repo = git.find_any(start) if start.exists() else None
    if repo is None:
        raise GitdeskError(f"{start} is not inside a Git repository")
    return repo


@click.command(name="check")
@click.option("--staged", is_flag=True, help="What the index would commit (the pre-commit hook).")
@click.option("--range", "revision_range", metavar="A..B", help="Every commit in a range (CI on a pull request).")
@click.option("--all", "all_", is_flag=True, help="Every ticket in the desk as staged (the default).")
@format_option("table", "json")
@desk_options
@pass_session
def check(session: Session, staged: bool, all_: bool, revision_range: str | None, fmt: str) -> None:
    """Check ticket files against the format and the workflow; list every problem.

    Reads what is staged or committed, never the work tree. Each ticket is
    judged against its previous committed version (status moves, id and
    created unchanged) and against the desk's config. Exit 1 when anything
    is wrong, 0 when clean.

    \b
    Examples:
      gitdesk check --staged
      gitdesk check --range origin/main..HEAD
      gitdesk check --all --format json
    """
    from gitdesk import git
    from gitdesk.githooks import check as checking
    from gitdesk.render import views

    mode = one_of(staged=staged, all_=all_)
    if revision_range and mode:
        raise click.UsageError("--range excludes --staged and --all")
    repo = _repository(session)
    if revision_range:
        findings = checking.check_range(repo, revision_range)
    elif mode == "staged":
        from gitdesk.githooks import handlers
        from gitdesk.render import output

        # Inside a hook framework GIT_INDEX_FILE names the index being committed.
        git.honour_repository_environment()
        recovered = handlers.recover_interrupted(repo)  # before judging an index a kill left stale
        if recovered:
            output.note(recovered)
        findings = checking.check_staged(repo)
    else:
        from gitdesk.render import progress

        findings = checking.check_all(repo, progress.bar)
        _say_if_the_model_is_unusable(session)
        waiting = checking.not_staged(repo)
        if waiting:
            from gitdesk.render import output
            from gitdesk.text import counted

            shown = ", ".join(waiting[:3]) + (f" and {len(waiting) - 3} more" if len(waiting) > 3 else "")
            which = shown if len(waiting) == 1 else f"{counted(len(waiting), 'file')} ({shown})"
            output.note(f"note: {which} {'has' if len(waiting) == 1 else 'have'} changes that are not staged, "
                        f"which check did not read (git add {'it' if len(waiting) == 1 else 'them'}, then check "
                        "again)")
    views.findings(findings, fmt)
    if findings:
        raise SystemExit(1)


def _say_if_the_model_is_unusable(session: Session) -> None:
    """A warning, not a finding: the model folder belongs to this clone, not to what is
    committed, and a broken one only costs ``similar`` its model layer."""
    from gitdesk.knowledge import embedding
    from gitdesk.render import output

    try:
        desk = session.desk
    except GitdeskError:  # not a desk, or a config it cannot read: the check itself says so
        return
    try:
        embedding.load(desk)
    except GitdeskError as error:
        output.note(f"gitdesk: warning: {error}; similar and new rank without the model")


@click.group(name="hooks", cls=Commands, context_settings=CONTEXT)
def hooks() -> None:
    """Install, remove or inspect gitdesk's Git hooks in this clone.

    \b
    Example:
      gitdesk hooks install
      gitdesk hooks status
    """


server_option = click.option("--server", is_flag=True,
                             help="The server-side pre-receive hook (run in the bare repository).")


@hooks.command(name="install")
@server_option
@desk_options
@pass_session
def hooks_install(session: Session, server: bool) -> None:
    """Install the hooks (respects core.hooksPath); existing hooks are kept and run first.

    Idempotent: running it again refreshes the scripts. In a clone it also
    registers the ticket merge driver.

    \b
    Example:
      gitdesk hooks install
      gitdesk hooks install --server    # in a self-hosted bare repository
    """
    _change_hooks(session, server, installing=True)


@hooks.command(name="uninstall")
@server_option
@desk_options
@pass_session
def hooks_uninstall(session: Session, server: bool) -> None:
    """Remove gitdesk's hooks and restore the ones that were there before.

    \b
    Example:
      gitdesk hooks uninstall
    """
    _change_hooks(session, server, installing=False)


def _change_hooks(session: Session, server: bool, *, installing: bool) -> None:
    from gitdesk.githooks import install
    from gitdesk.render import output

    repo = _repository(session)
    tracked = not server and install.tracked_folder(repo) is not None
    if tracked:  # the drivers all the same, before install refuses the folder: the hooks are the team's
        output.info(install.install_driver(repo) if installing else install.uninstall_driver(repo))
    for line in (install.install if installing else install.uninstall)(repo, server=server):
        output.info(line)
    if not server and not tracked:
        output.info(install.install_driver(repo) if installing else install.uninstall_driver(repo))
    elif installing:
        from gitdesk.githooks.handlers import protected_branches

        guarded = " and ".join(name.removeprefix("refs/heads/") for name in protected_branches(repo))
        output.info(f"pre-receive: refuses a force-push of {guarded}, and a deletion that would drop commits "
                    "(the branch HEAD names, and main and master)")
        if repo.top != repo.git_dir:  # a clone with a work tree: nobody pushes here, as a rule
            output.note(f"gitdesk: warning: {repo.top} is a working clone: pre-receive runs only where others "
                        "push to, so install it in the server's bare repository (cd there; gitdesk hooks install "
                        "--server)")


@hooks.command(name="status")
@server_option
@format_option("table", "json")
@desk_options
@pass_session
def hooks_status(session: Session, server: bool, fmt: str) -> None:
    """Show which gitdesk hooks are installed; exit 1 when any is not.

    A clone whose hooks were never installed, or are outdated, commits and
    pushes unchecked: a script or CI can ask here.

    \b
    Example:
      gitdesk hooks status
      gitdesk hooks status --format json
    """
    from gitdesk.githooks import install
    from gitdesk.render import output

    repo = _repository(session)
    states = install.status(repo, server=server)
    drivers = None if server else install.driver_state(repo)
    tracked = None if server else install.tracked_folder(repo)
    # In a folder the repository holds the hooks are the team's to write (calling gitdesk as
    # hooks.md shows): only the drivers are gitdesk's to judge there.
    ready = (tracked is not None or all(state.state == "installed" for state in states)) and (
        drivers is None or drivers.endswith(": installed"))
    if fmt == "json":
        output.write_json({"hooks": [{"name": state.name, "state": state.state,
                                      "chains_to_legacy": state.chains_to_legacy} for state in states],
                           "merge_drivers": None if drivers is None else drivers.split(": ", 1)[1].split(" ")[0],
                           "installed": ready})
    else:
        for state in states:
            said = state.describe()
            output.info(said.replace(" (run gitdesk hooks install again)", "") if tracked else said)
        if drivers is not None:
            output.info(drivers)
    if not ready:
        if fmt != "json":
            output.note(f"gitdesk: run gitdesk hooks install{' --server' if server else ''} to install them"
                        + (f" (the merge drivers; the hooks in {tracked} are the repository's: call gitdesk from "
                           "them as docs/hooks.md shows)" if tracked else ""))
        raise SystemExit(1)


@click.command(name="sync")
@click.option("--rebase", is_flag=True, help="Rebase on the upstream (the default).")
@click.option("--merge", is_flag=True, help="Merge the upstream instead.")
@desk_options
@pass_session
def sync(session: Session, rebase: bool, merge: bool) -> None:
    """Fetch, integrate the upstream with the ticket merge driver, and push.

    Retries when another clone pushed first. On a real conflict it stops,
    leaves your work tree and history as they were, and says what conflicts.

    \b
    Example:
      gitdesk sync
      gitdesk sync --merge
    """
    from gitdesk.githooks import sync as syncing
    from gitdesk.render import output
    from gitdesk.text import counted

    result = syncing.sync(session.desk, strategy=one_of(rebase=rebase, merge=merge))
    for line in result.notes:
        output.info(line)
    output.info(f"Synced with {result.upstream}: {counted(result.received, 'commit')} in, {result.sent} out.")


@click.command(name="merge-file", hidden=True)
@click.option("--marker-size", default=7, show_default=True, help="Length of conflict markers (Git's %L).")
@click.option("--generated", is_flag=True,
              help="The kb/ driver: a file gitdesk generated keeps ours and kb/ is rebuilt after the merge; "
                   "any other file merges line by line.")
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("ours", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("theirs", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path", required=False)
@desk_options
def merge_file(marker_size: int, generated: bool, base: Path, ours: Path, theirs: Path, path: str | None) -> None:
    """Three-way merge of a ticket file; the result is written over OURS.

    Git's merge driver for tickets (gitdesk hooks install registers it).
    Fields merge one by one, labels as sets, conversation entries from both
    sides in time order; only a field with two different new values is a
    conflict, marked around that field alone. Exit 1 when anything conflicts.

    \b
    Example:
      gitdesk merge-file base.md ours.md theirs.md
    """
    from gitdesk.githooks import merge
    from gitdesk.render import output

    if generated:
        result = merge.merge_generated(base, ours, theirs, path, marker_size)
    else:
        result = merge.merge_files(base, ours, theirs, path, marker_size)
    if result.conflicts:
        output.hook_messages([f"gitdesk merge: {path or ours}: conflict in {', '.join(result.conflicts)}"])
        raise SystemExit(1)


GIT_HOOKS = ("pre-commit", "commit-msg", "post-merge", "post-checkout", "post-rewrite", "pre-receive")


@click.command(name="hook", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name", type=click.Choice(GIT_HOOKS))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@desk_options
@pass_session
def hook(session: Session, name: str, args: tuple[str, ...]) -> None:
    """Run one hook's work (called by the scripts that gitdesk hooks install writes).

    \b
    Example:
      gitdesk hook pre-commit
      gitdesk hook commit-msg .git/COMMIT_EDITMSG
    """
    from gitdesk.githooks import handlers, install
    from gitdesk.render import output

    repo = handlers.repository(session.start())
    if install.repair_needed(repo):
        output.hook_messages([f"gitdesk: {line}" for line in install.repair(repo)])
    if name == "pre-commit":
        result = handlers.pre_commit(repo)
    elif name == "commit-msg":
        if not args:
            raise click.UsageError("commit-msg needs the message file")
        result = handlers.commit_msg(repo, Path(args[0]))
    elif name == "pre-receive":
        result = handlers.pre_receive(repo, sys.stdin.read())
    else:
        result = handlers.refresh(repo, name, args)
    output.hook_messages(result.messages)
    if result.status:
        raise SystemExit(result.status)
