"""What a merge threw away: tracked-field changes one side made that the merge did not keep,
and entries one side added that the merge left out (shown in the log, never counted).

Two clones act on one ticket; the merge (a conflict resolved by hand, or
``git checkout --theirs``) keeps one side's status. The other side's change
still sits in its commits, so a timeline replayed from every commit would
show it, and count, say, a resolution twice and a reopening that never
reached anyone. A side's change of a field is thrown away when that side
changed it from the merge base and the merge kept another parent's value;
figures then leave out that side's commits' changes of the field on that
ticket (``gitdesk log`` still lists them: they happened). A value no parent
had is the merge's own decision: both sides' changes stand, and so does the
merge's. Octopus merges (``git merge -s ours A B``) are read the same way.

Read once per merge as it is scanned: its merge bases (``git merge-base
--all``; ``--octopus`` for more than two parents), then one ``git diff-tree
--stdin`` for every merge's diffs (each parent's and its own) from each base.
A criss-cross merge is compared with each of its bases; a merge whose own
choice a later merge threw away throws nothing away (``history._dropped``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from gitdesk import changes, git
from gitdesk.cache import workers
from gitdesk.errors import GitError
from gitdesk.model import Ticket
from gitdesk.timings import TRACKED

Versions = Callable[[list[str]], dict[str, "Ticket | str"]]
Overridden = tuple[str, str, str, str]  # (commit, ticket, field, merge)
_Diff = dict[str, tuple[str | None, str | None]]  # path -> (blob at the base, blob at the tip)


def _bases(repo: git.Repo, parents: Sequence[str]) -> list[str | None]:
    """The merge bases: each of a criss-cross merge's (each can show a side's change), one of
    an octopus', [None] for unrelated histories (nothing in common to compare with)."""
    result = git.run_result(repo, "merge-base", "--all" if len(parents) == 2 else "--octopus", *parents)
    found = result.stdout.decode().split() if result.returncode == 0 else []
    return list(found) or [None]


def _diffs_from_bases(repo: git.Repo, pairs: list[tuple[str, str]], paths: list[str]) -> list[_Diff]:
    """For each (tip, base): the ticket files that differ, with their blobs at each end. One
    ``git diff-tree --stdin`` for them all: it heads each diff with the tip's ID."""
    result = git.run_result(repo, "diff-tree", "--stdin", "--always", "-r", "-z", "--no-renames", "--", *paths,
                            input="".join(f"{tip} {base}\n" for tip, base in pairs).encode())
    if result.returncode != 0:
        return []  # an object missing (a partial clone): the caller then corrects nothing
    blocks: list[list[bytes]] = []
    fields = result.stdout.split(b"\0")
    index = 0
    while index < len(fields):
        field = fields[index].strip()
        if field.startswith(b":"):  # a change; its path is the next field
            if blocks:
                blocks[-1] += [field, *fields[index + 1:index + 2]]
            index += 2
            continue
        if field:  # the tip that heads the next diff
            blocks.append([])
        index += 1
    return [{change.path: (change.old_blob, change.new_blob) for change in git.parse_raw(b"\0".join(block))}
            for block in blocks]


def _diff_from_nothing(repo: git.Repo, tip: str, paths: list[str]) -> _Diff | None:
    """The ticket files at ``tip``, each as a change from nothing."""
    try:
        return {change.path: (None, change.new_blob) for change in git.tree_changes(repo, None, tip, paths)}
    except GitError:
        return None


def entry_key(kind: str, author: str, first_line: str | None) -> str:
    """How a dropped entry is named among dropped fields: never a field's name."""
    return f"entry:{kind}\x1f{author}\x1f{first_line or ''}"


def _fields_dropped(base: Ticket | str | None, side: Ticket | str | None, merged: Ticket | str | None,
                    others: Sequence[Ticket | str | None]) -> list[str]:
    """The tracked fields a side changed from the base whose value the merge replaced with another
    parent's (a value no parent had is the merge's own decision: both sides' changes stand), and
    the entries the side added that the merge did not keep (as ``entry_key`` names them)."""
    if not isinstance(side, Ticket) or not isinstance(merged, Ticket):
        return []  # deleted or unreadable: there is no value to compare
    old = base if isinstance(base, Ticket) else None
    dropped = []
    for name in TRACKED:
        value, kept = changes.show(side.field_value(name)), changes.show(merged.field_value(name))
        if value != kept and value != changes.show(None if old is None else old.field_value(name)) and any(
                isinstance(other, Ticket) and changes.show(other.field_value(name)) == kept for other in others):
            dropped.append(name)
    for entry in changes.added_entries(old, side):
        if entry not in merged.entries:
            dropped.append(entry_key(entry.kind, entry.author, changes.first_line(entry.text)))
    return dropped


def _side_commits(repo: git.Repo, side: str, others: Sequence[str], path: str) -> list[str]:
    """The side's own commits (not the other parents') that changed this file, merges included
    (a merge that settled it one way is a change a later merge can throw away)."""
    # literal: a file in tickets/ may be named with wildcards; it must match itself alone
    out = git.run_result(repo, "--literal-pathspecs", "rev-list", "--full-history", side, "--not", *others,
                         "--", path).stdout
    return out.decode().split()  # nothing when Git cannot say: no correction


def overridden(repo: git.Repo, merges: Sequence[tuple[str, Sequence[str]]], paths: list[str],
               read: Versions, ticket_id: Callable[[str], str],
               advance: Callable[[int], None] = lambda amount: None) -> list[Overridden]:
    """Tracked-field changes that these merges (sha, parents) threw away; ``advance`` is told of
    each merge base found (most of the time)."""
    if not merges:
        return []

    def bases_of(merge: tuple[str, Sequence[str]]) -> list[str | None]:
        found = _bases(repo, merge[1])
        advance(1)
        return found

    with ThreadPoolExecutor(max_workers=workers.cores()) as pool:
        bases = list(pool.map(bases_of, merges))
    # Histories with nothing in common (git merge --allow-unrelated-histories) are compared with
    # nothing: every ticket on a side is that side's change.
    found = [(sha, parents, base) for (sha, parents), each in zip(merges, bases, strict=True) for base in each]
    lines = [(tip, base) for sha, parents, base in found for tip in (*parents, sha)]
    related = [(tip, base) for tip, base in lines if base is not None]
    listed = _diffs_from_bases(repo, related, paths) if related else []
    if len(listed) != len(related):
        return []  # git said something other than one diff per line: better no correction than a wrong one
    from_bases = iter(listed)
    every = [next(from_bases) if base is not None else _diff_from_nothing(repo, tip, paths) for tip, base in lines]
    if any(diff is None for diff in every):
        return []
    diffs = iter([diff for diff in every if diff is not None])
    # (merge, side, other parents, path, blobs: base, side, merged, *other parents') for each file
    # a side changed that the merge has otherwise
    candidates = []
    for sha, parents, _ in found:
        sides = [next(diffs) for _ in parents]
        merged = next(diffs)
        for number, (tip, side) in enumerate(zip(parents, sides, strict=True)):
            others = [parent for index, parent in enumerate(parents) if index != number]
            for path, (base_blob, side_blob) in side.items():
                merged_blob = merged[path][1] if path in merged else base_blob
                if merged_blob != side_blob and path.endswith(".md"):
                    other_blobs = [diff[path][1] if path in diff else base_blob
                                   for index, diff in enumerate(sides) if index != number]
                    candidates.append((sha, tip, others, path, [base_blob, side_blob, merged_blob, *other_blobs]))
    if not candidates:
        return []
    versions = read(sorted({blob for *_, blobs in candidates for blob in blobs if blob}))
    result: list[Overridden] = []
    for sha, tip, others, path, blobs in candidates:
        base_version, side_version, merged_version, *other_versions = (
            None if blob is None else versions.get(blob) for blob in blobs)
        dropped = _fields_dropped(base_version, side_version, merged_version, other_versions)
        if dropped:
            for commit in _side_commits(repo, tip, others, path):
                result += [(commit, ticket_id(path), name, sha) for name in dropped]
    return result
