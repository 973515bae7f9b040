"""``gitdesk sync``: fetch, integrate (rebase or merge) with the ticket driver, push.

Pushes race: when another clone pushed first, the push is refused, and sync
fetches and integrates again, a few times. A real conflict (the same field
given two values) stops everything with the operation aborted, so the work
tree and history are exactly as before, and a message that says which file
and field conflict and how to resolve it by hand.

Before pushing, sync rebuilds ``kb/`` when the merge kept one side of it (as
the post-merge hook does), and judges what it is about to push as the
server's pre-receive hook and CI would: commits made where no hook ran (a
conflict resolved with ``git pull --rebase``) never reach the remote when
``gitdesk check`` refuses the state they leave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gitdesk import clock, git
from gitdesk.desk import Desk
from gitdesk.errors import DirtyWorktree, GitdeskError, GitError
from gitdesk.githooks import check, handlers
from gitdesk.githooks import install as hookscripts
from gitdesk.githooks import merge as mergefile
from gitdesk.text import clean_line

STRATEGIES = ("rebase", "merge")
# The Git commands sync runs tell our hooks that sync holds the desk lock (see handlers.SYNCING).
SYNC_ENV = {handlers.SYNCING: "1"}
DRIVER_NOTE = "gitdesk merge: "  # how the merge driver names a conflict on stderr (cli merge-file)


class SyncConflict(GitdeskError):
    """Integrating the upstream hit a real conflict; nothing was changed."""


class SyncRefused(GitdeskError):
    """What sync would push breaks the desk's rules; nothing was pushed."""


@dataclass
class SyncResult:
    upstream: str
    received: int = 0  # commits brought in
    sent: int = 0  # commits pushed
    attempts: int = 0
    notes: list[str] = field(default_factory=list)


def _count(repo: git.Repo, revision_range: str) -> int:
    return int(git.run(repo, "rev-list", "--count", revision_range).decode().strip() or 0)


def _upstream(repo: git.Repo) -> tuple[str, str, str]:
    """(remote, remote branch, tracking ref like origin/main) of the current branch."""
    branch, _ = git.head(repo)
    if branch is None:
        raise GitError("HEAD is detached; sync works on a branch", hint=git.detached_hint(repo))
    name = branch.removeprefix("refs/heads/")
    remote = git.run(repo, "config", "--get", f"branch.{name}.remote", check=False).decode().strip()
    merge = git.run(repo, "config", "--get", f"branch.{name}.merge", check=False).decode().strip()
    if not remote or not merge:
        remotes = git.run(repo, "remote", check=False).decode().split()
        if not remotes:  # a desk just made with gitdesk init: nowhere to push yet (docs/install.md)
            raise GitError(f"branch {name} has no upstream to sync with, and this repository no remote",
                           hint=f"add the shared repository first: git remote add origin URL, then "
                                f"git push -u origin {name}")
        raise GitError(f"branch {name} has no upstream to sync with",
                       hint=f"push it once with: git push -u {remotes[0] if len(remotes) == 1 else 'origin'} {name}")
    return remote, merge.removeprefix("refs/heads/"), f"refs/remotes/{remote}/{merge.removeprefix('refs/heads/')}"


def _tracked_changes(repo: git.Repo) -> list[str]:
    out = git.run(repo, "status", "--porcelain", "-z", "--untracked-files=no")
    fields, found = out.split(b"\0"), []
    index = 0
    while index < len(fields):
        record = fields[index]
        if len(record) > 3:
            found.append(record[3:].decode("utf-8", "replace"))
            if b"R" in record[:2] or b"C" in record[:2]:
                index += 1  # a rename's or copy's second field is the path it came from, not a change
        index += 1
    return found


def refuse_uncommitted(repo: git.Repo, then: str) -> None:
    """Sync integrates and pushes: an uncommitted edit of any tracked file stops it (``then``:
    what to do once it is committed, for the command that syncs)."""
    dirty = _tracked_changes(repo)
    if dirty:
        more = f" (and {len(dirty) - 1} more)" if len(dirty) > 1 else ""
        raise DirtyWorktree(f"{dirty[0]} has uncommitted changes{more}", hint=f"commit or stash them, {then}")


def _ensure_attributes(repo: git.Repo) -> None:
    """Make sure ticket files use the driver, even where hooks were never installed."""
    hookscripts.ensure_attributes(repo)


def _driver_conflicts(output: bytes) -> dict[str, str]:
    """path -> what conflicted in it (fields, sections, entries), as the ticket driver said."""
    found: dict[str, str] = {}
    for line in output.decode("utf-8", "replace").splitlines():
        if line.startswith(DRIVER_NOTE) and ": conflict in " in line:
            path, what = line[len(DRIVER_NOTE):].split(": conflict in ", 1)
            found[path] = what.strip()
    return found


def _commit_facts(repo: git.Repo, revision: str, *keys: str, path: str | None = None) -> list[str]:
    """The values of trailers ``keys`` of commit ``revision`` (or of its last commit that
    touched ``path``), each comma-joined ('' when absent), then its author time in Unix seconds."""
    fields = "%x1f".join(f"%(trailers:key={key},valueonly,separator=%x2c)" for key in keys)
    out = git.run(repo, "log", "-1", f"--format={fields}%x1f%at", revision, *(("--", path) if path else ()))
    return [*out.decode("utf-8", "replace").strip().split("\x1f"), *[""] * len(keys)][:len(keys) + 1]


def _rule_commit_stopped(repo: git.Repo, conflicted: dict[str, set[int]]) -> str | None:
    """"rule NAME on TICKET" when the rebase stopped on a commit of ``gitdesk rules run`` whose
    conflicts are all in ticket files, else None. Such a commit is the desk's own judgement of
    a ticket as it was (a reminder, "not heard back"): when the ticket changed upstream (the
    requester answered), the rule must judge it again, not a person pick a side."""
    stopped = git.run(repo, "rev-parse", "-q", "--verify", "REBASE_HEAD^{commit}", check=False).decode().strip()
    if not stopped or not conflicted or not all(path.startswith("tickets/") or "/tickets/" in path  # a desk in a folder
                                                for path in conflicted):
        return None
    actions, rules, tickets, _ = _commit_facts(repo, stopped, "Gitdesk-Action", "Gitdesk-Rule", "Gitdesk-Ticket")
    if actions.split(",") != ["rule"]:
        return None
    return f"rule {clean_line(rules) or '?'}" + (f" on {clean_line(tickets)}" if tickets else "")


_CONFLICT = re.compile(r"^<<<<<<< [^\n]*\n(?P<ours>(?:(?!=======\n).*\n)*?)"
                       r"(?:\|\|\|\|\|\|\|[^\n]*\n(?:.*\n)*?)?=======\n(?P<theirs>(?:.*\n)*?)>>>>>>> [^\n]*\n",
                       re.MULTILINE)


def _answer_over_rule(repo: git.Repo, conflicted: dict[str, set[int]], details: dict[str, str]) -> list[str]:
    """The tickets whose requester's answer, taken in on this clone (the commit the rebase
    stopped on is an intake), conflicts only in ``status`` with a rule that finished the
    ticket upstream later ("not heard back", or closed after the wait): each written with the
    answer's status, as the rule would have left it open had it seen the answer ("rule NAME
    on ID"); [] (nothing touched) otherwise, as when the answer came after the rule acted
    (that one is a person's to settle: to a closed ticket it starts a follow-up)."""
    from gitdesk import paths, ticketfile

    stopped = git.run(repo, "rev-parse", "-q", "--verify", "REBASE_HEAD^{commit}", check=False).decode().strip()
    if not stopped or not conflicted or any(details.get(path) != "status" or stages != {1, 2, 3}
                                            for path, stages in conflicted.items()):
        return []
    action, taken = _commit_facts(repo, stopped, "Gitdesk-Action")
    if action != "intake":
        return []
    written: dict[str, str] = {}
    names: dict[str, str] = {}
    for path in conflicted:
        upstream, rule, acted = _commit_facts(repo, "HEAD", "Gitdesk-Action", "Gitdesk-Rule", path=path)
        if not (taken.isdigit() and acted.isdigit() and int(taken) <= int(acted)):
            return []
        try:
            # In a rebase, stage 2 ("ours") is the upstream's side, 3 ("theirs") the commit replayed.
            answered, closed = (ticketfile.parse(git.run(repo, "show", f":{stage}:{path}").decode("utf-8"), path)[0]
                                .front_matter().get("status") for stage in (3, 2))
            text = paths.inside(repo.top, path).read_text(encoding="utf-8")  # never through a link
        except (GitdeskError, OSError, UnicodeDecodeError):
            return []
        if upstream != "rule" or closed not in ("resolved", "closed") or answered in ("resolved", "closed", None):
            return []
        kept, found = _CONFLICT.subn(lambda match: match.group("theirs"), text)
        if found != 1 or "<<<<<<<" in kept or ">>>>>>>" in kept:
            return []
        written[path] = kept
        names[path] = f"rule {clean_line(rule) or '?'} on {path.rsplit('/', 1)[-1].removesuffix('.md')}"
    for path, kept in written.items():
        paths.inside(repo.top, path).write_text(kept, encoding="utf-8")
        git.run(repo, "add", "--", path)
    return list(names.values())


def _integrate(repo: git.Repo, tracking: str, strategy: str) -> list[str]:
    """Integrate ``tracking``; the notes say what sync did beyond that (a rule's commit dropped)."""
    notes: list[str] = []
    with_driver = hookscripts.driver_config()
    stale = repo.state_dir / mergefile.STALE
    was_stale = stale.exists()
    # Commits sync makes are dated by gitdesk's clock, like every other (GITDESK_NOW in a demo);
    # a rebase keeps each commit's author date, as Git does.
    date = clock.git_date(clock.now())
    if strategy == "rebase":
        result = git.run_result(repo, *with_driver, "rebase", "--no-autostash", tracking,
                                env={**SYNC_ENV, "GIT_COMMITTER_DATE": date})
        abort = ["rebase", "--abort"]
    else:
        result = git.run_result(repo, *with_driver, "merge", "--no-edit", "--no-ff", tracking,
                                env={**SYNC_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        abort = ["merge", "--abort"]
    while result.returncode != 0 and strategy == "rebase":
        conflicted = git.unmerged(repo)
        rule = _rule_commit_stopped(repo, conflicted)
        if rule is not None:
            notes.append(f"dropped this clone's commit of {rule}: the ticket changed on "
                         f"{tracking.removeprefix('refs/remotes/')} meanwhile; the rule judges it again on its "
                         "next run")
            result = git.run_result(repo, *with_driver, "rebase", "--skip",
                                    env={**SYNC_ENV, "GIT_COMMITTER_DATE": date})
            continue
        reopened = _answer_over_rule(repo, conflicted, _driver_conflicts(result.stderr + result.stdout))
        if not reopened:
            break
        notes.append(f"kept the requester's answer taken in here over {', '.join(reopened)} on "
                     f"{tracking.removeprefix('refs/remotes/')}: it came before the rule acted, so the ticket "
                     "stays open")
        result = git.run_result(repo, *with_driver, "rebase", "--continue",
                                env={**SYNC_ENV, "GIT_COMMITTER_DATE": date, "GIT_EDITOR": "true"})
    if result.returncode == 0:
        return notes
    conflicted = git.unmerged(repo)
    details = _driver_conflicts(result.stderr + result.stdout)
    # Before the abort, while the index holds both sides: what each side set ("assignee: alice
    # here, dan on origin/main"). In a rebase, Git's "ours" is the upstream being rebased onto.
    upstream = tracking.removeprefix("refs/remotes/")
    here, there = (3, 2) if strategy == "rebase" else (2, 3)
    # Only a path Git itself lists as conflicted becomes an argument to git show, not any text the
    # driver's output happened to hold.
    details = {path: _with_values(repo, path, what, here, there, upstream) if path in conflicted else what
               for path, what in details.items()}
    git.run(repo, *abort, check=False)
    if not was_stale:
        stale.unlink(missing_ok=True)  # the merge that marked kb/ stale was undone
    if not conflicted:
        error = git.failure(repo.top, strategy, result)
        raise GitError(f"{error.message}; nothing was changed", hint=error.hint)
    raise SyncConflict(_conflict_message(conflicted, details), hint=_conflict_hint(conflicted, strategy, details))


def _with_values(repo: git.Repo, path: str, what: str, here: int, there: int, upstream: str) -> str:
    """``what`` conflicted in ``path``, each field a one-line value on both sides named with
    the two values (cleaned: they come from ticket files); anything else as the driver said."""
    from gitdesk import ticketfile
    from gitdesk.text import clean_line

    try:
        mine, theirs = (ticketfile.parse(git.run(repo, "show", f":{stage}:{path}").decode("utf-8"), path)[0]
                        .front_matter() for stage in (here, there))
    except (GitdeskError, UnicodeDecodeError):
        return what
    named = []
    for name in (part.strip() for part in what.split(",")):
        if name not in mine and name not in theirs:  # the resolution, an entry: no field to name
            named.append(f"{name}: changed differently here and on {upstream}")
            continue
        a, b = mine.get(name), theirs.get(name)
        if isinstance(a, (str, int, type(None))) and isinstance(b, (str, int, type(None))):
            texts = [clean_line(str(value)) if value is not None else "-" for value in (a, b)]
            room = 40 if texts[0][:39] != texts[1][:39] else 120  # two long values alike at the start: show more
            shown = [text if len(text) <= room else text[:room - 1] + "…" for text in texts]
            named.append(f"{name}: {shown[0]} here, {shown[1]} on {upstream}")
        else:
            named.append(name)
    return "; ".join(named)


def _conflict_message(conflicted: dict[str, set[int]], details: dict[str, str]) -> str:
    named = [f"{path} ({details[path]})" if path in details else path for path in conflicted]
    shown = ", ".join(named[:5]) + (" …" if len(named) > 5 else "")
    return f"sync stopped: a real conflict in {shown}; nothing was changed"


def _conflict_hint(conflicted: dict[str, set[int]], strategy: str, details: dict[str, str] | None = None) -> str:
    """The steps to resolve it by hand, in Git's own commands for what kind of conflict it is."""
    pull, finish = ("git pull --rebase", "git rebase --continue") if strategy == "rebase" else \
        ("git pull --no-rebase", "git commit")
    def ticket(path: str) -> bool:
        return f"/{check.TICKETS}" in f"/{path}" and path.endswith(".md")

    # A ticket file both sides added: two tickets took one id (a file copied as a template, by hand).
    twins = [path for path, stages in conflicted.items() if {2, 3} <= stages and 1 not in stages and ticket(path)]
    edited = [path for path, stages in conflicted.items() if {2, 3} <= stages and path not in twins]
    deleted = [path for path, stages in conflicted.items() if not {2, 3} <= stages]
    steps = [pull]
    shared = "ours" if strategy == "rebase" else "theirs"
    for path in twins[:3]:
        steps.append(f"{path} was written as a new ticket on both sides: two tickets took one id, do not join them; "
                     f"keep the shared one (git checkout --{shared} {path}, git add {path}) and write yours again "
                     "with gitdesk new")
    if edited:
        # A rebase replays this clone's commits onto the upstream: its "ours" is the upstream's
        # side, the reverse of "here" above, and each replayed commit may stop in turn.
        sides = " (in a rebase, ours is the upstream's side and theirs is yours; each of your commits may stop " \
                "in turn)" if strategy == "rebase" else ""
        steps.append(f"fix the lines between <<<<<<< and >>>>>>> in {', '.join(edited[:3])}{sides}, git add "
                     f"{'it' if len(edited) == 1 else 'them'}")
    for path in deleted[:3]:
        steps.append(f"{path} was deleted on one side and changed on the other: keep it (git add {path}); "
                     "tickets are kept forever" if ticket(path) else
                     f"{path} was deleted on one side and changed on the other: keep it (git add {path}) "
                     f"or delete it (git rm {path})")
    taken = strategy == "rebase" and any(detail.startswith("assignee:") for detail in (details or {}).values())
    both = " (two of you took the same ticket: agree who keeps it; git rebase --skip drops your own take)" \
        if taken else ""
    return ", ".join(steps) + f", {finish}, then gitdesk sync{both}"


def _refuse_bad_push(repo: git.Repo, old: str, upstream: str) -> None:
    """Judge what the push would do to the remote branch, as its pre-receive hook would."""
    tip = git.run(repo, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    findings = check.check_push(repo, old, tip)
    if not findings:
        return
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    # A later commit that puts it right is enough: the push is judged by the state it
    # leaves on the remote, as the pre-receive hook judges it.
    raise SyncRefused(f"sync stopped before pushing: {findings[0]}{more}",
                      hint=f"nothing was pushed to {upstream}; undo the unpushed commits keeping their changes "
                           "(git reset --soft @{upstream}), put the files right, commit, then gitdesk sync again")


def sync(desk: Desk, *, strategy: str | None = None, attempts: int = 5) -> SyncResult:
    repo = desk.repo
    how = strategy or desk.config.sync_strategy
    if how not in STRATEGIES:
        raise GitdeskError(f"unknown sync strategy {how!r}", hint="use rebase or merge")
    operation = git.operation_in_progress(repo)
    if operation is not None:
        raise GitError(f"sync cannot start in the middle of a{'n' if operation == 'am' else ''} {operation}",
                       hint=git.finish_hint(operation))
    remote, remote_branch, tracking = _upstream(repo)
    upstream = f"{remote}/{remote_branch}"
    result = SyncResult(upstream)
    with desk.writing():
        refuse_uncommitted(repo, "then sync again")
        _ensure_attributes(repo)
        last = ""  # the remote's answer to the last push that raced
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            fetched = git.run_result(repo, "fetch", "--quiet", "--", remote)
            if fetched.returncode != 0:
                error = git.failure(repo.top, "fetch", fetched)
                raise GitError(error.message, hint=error.hint or "check the remote's address (git remote -v) and "
                                                                 "your access to it, then sync again")
            if not git.run(repo, "rev-parse", "-q", "--verify", f"{tracking}^{{commit}}", check=False).strip():
                raise GitError(f"the remote has no branch {upstream}",
                               hint=f"push this branch to it once: git push -u {remote} HEAD:{remote_branch}")
            incoming = _count(repo, f"HEAD..{tracking}")
            if incoming:
                if _count(repo, f"{tracking}..HEAD"):
                    result.notes += _integrate(repo, tracking, how)
                else:
                    merged = git.run_result(repo, "merge", "--ff-only", "--quiet", tracking, env=SYNC_ENV)
                    if merged.returncode != 0:
                        raise git.failure(repo.top, "merge", merged)
                result.received += incoming
            # The merge may have kept one side of kb/: rebuild it from the merged tickets and
            # commit that too, as the post-merge hook does after a plain git merge.
            refused: list[str] = []
            result.notes += [f"rebuilt the knowledge base after the merge [{commit[:7]}]"
                             for commit in handlers.rebuild_stale_kb(repo, refused)]
            result.notes += refused
            outgoing = _count(repo, f"{tracking}..HEAD")
            if not outgoing:
                return result
            old = git.run(repo, "rev-parse", "--verify", f"{tracking}^{{commit}}").decode().strip()
            _refuse_bad_push(repo, old, upstream)
            push = git.run_result(repo, "push", "--quiet", "--porcelain", "--", remote,
                                  f"HEAD:refs/heads/{remote_branch}")
            if push.returncode == 0:
                result.sent = outgoing
                return result
            text = (push.stdout + push.stderr).decode("utf-8", "replace")
            if not git.push_raced(text):
                if git.push_refused(text):
                    raise GitError(f"the remote refused the push: {git.push_refusal(text)}; nothing was pushed",
                                   hint="it would refuse it again: ask whoever runs the remote (a protected "
                                        "branch, a server hook), then gitdesk sync")
                raise GitError(f"git push failed: {git.push_refusal(text)}; nothing was pushed",
                               hint="check the remote's address and your access to it (git remote -v), then "
                                    "gitdesk sync")
            result.notes.append(f"push raced another clone (attempt {attempt}); integrating again")
            last = text
    raise GitError(f"gave up after {attempts} attempts: the remote keeps moving (its last answer: "
                   f"{git.push_refusal(last)})", hint="run gitdesk sync again in a moment")
