"""What an assistant may do at the desk: a few plain functions over the library calls the
command line makes, with the same validation and the same one-line errors.

The desk is opened afresh for every call, so the assistant sees what the CLI, an
editor or ``git pull`` changed meanwhile (config included). Every write acts as
the assistant's handle with ``via="mcp"`` (trailers ``Gitdesk-Actor`` and
``Gitdesk-Via``). Writes on the checked-out branch never mail the requester;
a public reply is only drafted, on a review branch (``actions.draft_reply``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitdesk import actions, clock, listing, records, ticketfile, workflow
from gitdesk.desk import Actor, Desk
from gitdesk.errors import GitdeskError, RejectedSender, ValidationError
from gitdesk.model import WAITING
from gitdesk.text import clean_line, one_line, visible

VIA = "mcp"  # what Gitdesk-Via says on every commit an assistant makes
DEFAULT_HANDLE = "assistant"  # the person an assistant acts as, unless --as names another
MAX_LIMIT = 100
# What list_tickets keeps of a ticket's timings: enough to choose what to work on next.
LISTED_TIMINGS = ("first_response_at", "next_due", "next_due_at", "resolved_at", "reopen_count", "escalation_count")
# Who hears of a ticket is a person's decision: text in a ticket must not be able to talk an
# assistant into sending the thread somewhere else.
WHO_HEARS = ("requester", "cc", "watchers", "message_ids", "duplicate_of", WAITING)
# Nor what is published, what mail calls the requester, or where an import's ticket came from.
PEOPLE_DECIDE = ("kb", "kb_title", "requester_name", "imported_from")


class Refused(ValidationError):
    """A refusal worded for the assistant (its hint in the tools' terms, not the CLI's)."""


@dataclass(frozen=True, slots=True)
class Assistant:
    """An assistant at the desk in ``root``, acting as ``handle``."""

    root: Path
    handle: str = DEFAULT_HANDLE

    def desk(self) -> Desk:
        from gitdesk import cache
        from gitdesk.desk import finish_interrupted

        opened = Desk.open(self.root, explicit=True)
        finish_interrupted(opened.repo)  # a writer killed since the last call: no answer counts its files
        return cache.attach(opened)

    def actor(self, desk: Desk) -> Actor:
        return replace(desk.actor(self.handle), via=VIA)

    def desk_to_write(self) -> Desk:
        """The desk, for a write: refused while a review branch is checked out, where a note or a
        field would land on the draft (and be dropped with it) instead of the desk's branch."""
        from gitdesk import git

        desk = self.desk()
        branch, _ = git.head(desk.repo)
        if branch is not None and branch.startswith(f"refs/heads/{actions.DRAFTS}/"):
            name = branch.removeprefix("refs/heads/")
            raise Refused(f"the desk has the review branch {name} checked out: an assistant writes only "
                          "on the desk's own branch",
                          hint="a person switches back first: git switch main, or the desk's branch")
        return desk

    def can_write(self) -> str | None:
        """Why this assistant's writes will be refused, or None when they will not be."""
        desk = self.desk()
        try:
            self.actor(desk).require_person("write")
        except GitdeskError as error:  # an unknown handle, or not a person: what the writes will say
            return str(error)
        return None

    # --- reading ------------------------------------------------------------------

    def find(self, text: str = "", ticket: str = "", limit: int = 10) -> dict[str, Any]:
        """Tickets whose words match ``text`` (``gitdesk search``, every status), and the
        solved tickets most like ``text`` or like ``ticket`` (``gitdesk similar``), with
        what fixed them. The second finds a problem however it was worded."""
        from gitdesk.knowledge import search

        desk = self.desk()
        limit = _limit(limit)
        if not text.strip() and not ticket.strip():
            raise Refused("nothing to find", hint="give words to look for, or a ticket ID to find tickets like")
        found: dict[str, Any] = {}
        if text.strip():
            hits = search.search(desk, text, listing.Filters(statuses=(listing.ALL,)), limit=limit)
            found["hits"] = [hit.as_record() for hit in hits]
        like = desk.find(ticket).ticket if ticket.strip() else None
        similar = search.similar(desk, ticket=like, text=None if like else text, limit=limit)
        found["similar"] = [item.as_record() for item in similar.found]
        if similar.warning:  # the configured model could not be used: the assistant should say so
            found["similar_warning"] = similar.warning
        return found

    def read(self, ticket: str) -> dict[str, Any]:
        """The ticket's whole record, as ``gitdesk show --format json`` gives it."""
        from gitdesk.cache import history

        desk = self.desk()
        loaded = desk.find(ticket)
        derived = history.timings(desk, [loaded.ticket], clock.now())[loaded.ticket.id]
        found = records.whole_ticket(loaded.ticket, derived)
        warning = history.cut_short(desk)
        if warning:  # the times start at a shallow clone's cut: the assistant should say so
            found["timings_warning"] = warning
        return found

    def queue(self, queue: str = "", statuses: tuple[str, ...] = (), assignee: str = "", unassigned: bool = False,
              limit: int = 50) -> dict[str, Any]:
        """Tickets as ``gitdesk list --sort priority`` shows them (unfinished ones unless
        ``statuses`` say otherwise): most urgent first, then oldest; at most ``limit``, with
        how many there are in all."""
        import json

        from gitdesk.cache import index, listed

        desk = self.desk()
        filters = listing.Filters(statuses=statuses, queue=queue or None, assignee=assignee or None,
                                  unassigned=unassigned)
        ids, problems = index.query_ids(desk, filters, "priority")
        shown = ids[:_limit(limit)]
        # The records list --format json gives, with only the timings a queue is worked by (the
        # whole of them was over half of a long listing: read_ticket has them all).
        records = [json.loads(text) for text in listed.ticket_records(desk, shown, clock.now())]
        for record in records:
            timings = record.pop("timings", None) or {}
            record["timings"] = {key: timings[key] for key in LISTED_TIMINGS if timings.get(key) is not None}
        return {"total": len(ids), "shown": len(shown), "tickets": records,
                "problems": [str(problem) for problem in problems]}

    # --- writing ------------------------------------------------------------------

    def note(self, ticket: str, text: str) -> dict[str, Any]:
        """An internal note (``gitdesk note``): one commit, never shown to the requester."""
        desk = self.desk_to_write()
        return _done(desk, actions.note(desk, ticket, _written(text, "note"), self.actor(desk)))

    def set_field(self, ticket: str, field: str, value: str) -> dict[str, Any]:
        """One field (``gitdesk set``): one commit, the same rules. The requester is not
        mailed about it (agents who watch the ticket are, as they would be). The fields
        that decide who hears of the ticket are left to people."""
        from gitdesk.mail import notify

        name = field.strip().lower()
        if name in WHO_HEARS:
            raise Refused(f"an assistant cannot change {name}: it decides who hears of the ticket",
                          hint=f"a person can, with gitdesk set ID {name} VALUE")
        if name in PEOPLE_DECIDE:
            what = {"kb": "whether the ticket is published in the knowledge base",
                    "kb_title": "the title it is published under", "requester_name": "what mail calls the requester",
                    "imported_from": "which record of an import it is"}[name]
            raise Refused(f"an assistant cannot change {name}: it decides {what}",
                          hint=f"a person can, with gitdesk set ID {name} VALUE")
        desk = self.desk_to_write()
        meant = clean_line(value)  # as the field will hold it: invisible characters dropped
        if name == "assignee" and meant and desk.config.person(meant) is self.actor(desk).person:
            raise Refused("an assistant cannot take a ticket: it drafts, a person answers",
                          hint="give it to one of the desk's agents")
        if name == "status" and meant == workflow.PENDING:
            # Pending is a wait on the requester that rules answer unattended (a reminder, then
            # "we have not heard back", both mailed): only a question a person asks starts one.
            raise Refused("an assistant cannot set a ticket pending: the desk's rules would then mail "
                          "the requester and resolve it unanswered", hint="a person asks with gitdesk ask")
        if name == "status" and workflow.is_done(desk.config, meant):
            # Finishing is a person's word to the requester (and to the duplicates' requesters,
            # promised the answer), with the note the knowledge base keeps.
            verb = {workflow.REJECTED: "rejects it with gitdesk reject ID -m REASON",
                    workflow.CLOSED: "closes it with gitdesk close ID"}.get(meant, "resolves it with gitdesk resolve "
                                                                                "ID --note TEXT")
            raise Refused(f"an assistant cannot set a ticket {meant}: a person finishes it",
                          hint=f"a person {verb}")
        if name == "status" and workflow.is_done(desk.config, desk.read(ticket).status):
            # Undoing a finish is a person's word too: reopen says why, and tells the requester.
            raise Refused("an assistant cannot reopen a finished ticket: a person reopens it, with a reason",
                          hint="a person reopens it with gitdesk reopen ID -m REASON")
        if name == "category":
            excluded = desk.config.kb_excluded_categories
            current = desk.read(ticket).category
            if (current in excluded) != (meant in excluded):
                raise Refused("an assistant cannot move a ticket into or out of a category kept out of "
                              "the knowledge base: it decides whether the ticket is published",
                              hint=f"a person can, with gitdesk set ID {name} VALUE")
        return _done(desk, actions.set_field(desk, ticket, field, value, self.actor(desk),
                                             mailer=notify.Mailer(desk, False)))

    def draft_reply(self, ticket: str, text: str) -> dict[str, Any]:
        """A public reply on a review branch, not sent; says how a person reviews and sends it."""
        from gitdesk.mail import notify

        desk = self.desk_to_write()
        try:
            draft = actions.draft_reply(desk, ticket, _written(text, "reply"), self.actor(desk),
                                        mailer=notify.Mailer(desk))
        except RejectedSender as error:  # the command line's choices (--send, --no-send) are a person's
            raise Refused(error.message, hint="a person reopens it first if the requester is to hear more") from None
        outbox = [path for path in draft.files if path != draft.path]
        return {
            "action": "draft-reply", "id": draft.ticket.id, "branch": draft.branch, "base": draft.base,
            "commit": draft.commit, "files": list(draft.files), "sent": False,
            "review": review_text(draft.ticket.id, draft.branch, draft.base, outbox),
        }


MOST_WRITTEN = 100_000  # characters an assistant writes at once: a ticket lives in Git forever


def _written(text: str, what: str) -> str:
    """What an assistant writes, said in its own terms (the CLI's say "-m TEXT")."""
    if not clean_line(text):
        raise Refused(f"the {what} is empty", hint=f"give the {what}'s words as text")
    if len(text) > MOST_WRITTEN:
        raise Refused(f"the {what} is {len(text):,} characters; an assistant writes at most "
                      f"{MOST_WRITTEN:,} at once", hint="shorten it; a long log belongs in an attachment")
    return text


def review_text(ticket_id: str, branch: str, base: str, outbox: list[str]) -> str:
    mail = (f"Merged, the mail in {', '.join(outbox)} goes out with the next `gitdesk mail send` on {base}."
            if outbox else "The desk's mail.notify sends no mail for this reply; merged, it is on the record only.")
    return (f"Drafted a reply to {ticket_id} on the branch {branch}. Nothing was sent and {base} is unchanged. "
            f"A person reviews it: `git show {branch}` (or `git switch {branch}`, or push it and open a pull "
            f"request), then sends it by merging: `git switch {base} && git merge {branch}`. {mail} "
            f"To drop it: `git branch -D {branch}`.")


def thread_text(record: dict[str, Any]) -> str:
    """A ticket's record as the thread people read in ``gitdesk show``: fields, then the
    description, every entry (internal ones marked), the resolution. Ticket text is
    untrusted: control characters are written out, one-line values kept to one line, and no
    text can forge an entry (an "internal" note, say) or a resolution."""
    lines = [f"{one_line(str(record['id']))}: {one_line(str(record.get('title') or ''))}", ""]
    skip = {"id", "title", "path", "description", "conversation_text", "conversation", "resolution", "appendix",
            "timings", "message_ids"}
    for key, value in record.items():
        if key not in skip and value not in (None, "", []):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"{one_line(key)}: {one_line(shown)}")
    timings = record.get("timings") or {}
    for key in ("first_response_at", "first_response_by", "resolved_at", "reopen_count", "escalation_count"):
        if timings.get(key):
            lines.append(f"{key.replace('_', ' ')}: {one_line(str(timings[key]))}")
    if timings.get("next_due_at"):
        lines.append(f"next target: {one_line(str(timings['next_due']))} due {timings['next_due_at']}")
    lines += ["", "## Description", _block(record.get("description") or "(no description)", section=False)]
    if record.get("conversation_text"):
        lines += ["", _block(record["conversation_text"])]
    if record.get("conversation"):
        lines += ["", "## Conversation"]
    for entry in record.get("conversation") or []:
        kind = entry["kind"] + (f" {entry['detail']}" if entry.get("detail") else "")
        marker = " (internal: not visible to the requester)" if entry.get("internal") else ""
        lines += ["", f"### {entry['at']} {one_line(entry['author'])} — {one_line(kind)}{marker}",
                  _block(entry.get("text") or "")]
    if record.get("resolution"):
        lines += ["", "## Resolution", _block(record["resolution"])]
    if record.get("appendix"):
        lines += ["", _block(record["appendix"])]
    return "\n".join(lines).rstrip() + "\n"


def _block(text: str, *, section: bool = True) -> str:
    """Ticket text shown inside the thread: no line in it can pass for an entry heading or a
    section of the thread (what the ticket file itself does), nothing unprintable."""
    return visible(ticketfile.escape_text(text, section=section))


def _limit(value: int) -> int:
    if value < 1:
        raise Refused(f"limit must be at least 1, not {value}")
    return min(value, MAX_LIMIT)


def _done(desk: Desk, result: actions.Outcome) -> dict[str, Any]:
    """What a write did, with the keys of ``--format json`` of the same CLI verb."""
    from gitdesk.cache import index

    index.written(desk, result.ticket_files)
    return {"action": result.verb, "id": result.ticket.id, "commit": result.commit, "changes": list(result.changes),
            "ticket": records.ticket_fields(result.ticket)}
