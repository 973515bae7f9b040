"""A button on the ticket page is the CLI verb of the same name.

Each verb calls the same ``gitdesk.actions`` function with the same mailer and
rules as ``gitdesk/cli/verbs.py``: one commit, the same validation, the same
one-line errors (a hand edit in progress on the ticket is refused as the CLI
refuses it). Mail goes to outbox/ in the action's commit, by the desk's policy;
``gitdesk mail send`` delivers it, as after any CLI action without --send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitdesk import actions
from gitdesk.actions import Outcome
from gitdesk.desk import Actor, Desk
from gitdesk.errors import ValidationError


def _mailer(desk: Desk, form: Mapping[str, str] | None = None) -> actions.Mailer:
    """By the desk's policy; ``mail=no`` in the form (reject as spam) mails nobody, as --no-send."""
    from gitdesk.mail import notify

    return notify.Mailer(desk, False if form is not None and form.get("mail") == "no" else None, ())


def _take(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.take(desk, ticket_id, actor, force=bool(form.get("force")), mailer=_mailer(desk))


def _assign(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.assign(desk, ticket_id, form.get("person", ""), actor, mailer=_mailer(desk))


def _unassign(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.unassign(desk, ticket_id, actor)


def _reply(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    fields = None
    if form.get("canned"):  # started from a canned reply: it may set fields too (reply --use NAME --edit)
        from gitdesk import templates

        fields = dict(templates.canned(desk.root, form["canned"]).fields)
    return actions.reply(desk, ticket_id, form.get("text", ""), actor, fields=fields, mailer=_mailer(desk))


def _note(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.note(desk, ticket_id, form.get("text", ""), actor)


def _ask(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.ask(desk, ticket_id, form.get("text", ""), actor, mailer=_mailer(desk))


def _escalate(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.escalate(desk, ticket_id, form.get("to") or None, form.get("reason", ""), actor,
                            mailer=_mailer(desk))


def _resolve(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.resolve(desk, ticket_id, form.get("text", ""), actor, mailer=_mailer(desk))


def _close(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.close(desk, ticket_id, actor)


def _reopen(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    from gitdesk.rules.engine import EventRules

    return actions.reopen(desk, ticket_id, form.get("text") or None, actor, mailer=_mailer(desk),
                          automation=EventRules(desk))


def _reject(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.reject(desk, ticket_id, form.get("text") or None, actor, mailer=_mailer(desk, form))


def _duplicate(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    from gitdesk.cache import history

    return actions.close_as_duplicate(desk, ticket_id, form.get("of", "").strip(), actor, form.get("text") or None,
                                      mailer=_mailer(desk),
                                      unsolved=lambda other: history.finished_by_a_rule(desk, other))


def _set(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    return actions.set_field(desk, ticket_id, form.get("field", "").strip(), form.get("value", ""), actor,
                             mailer=_mailer(desk))


def _label(desk: Desk, ticket_id: str, form: Mapping[str, str], actor: Actor) -> Outcome:
    edits = form.get("edits", "").replace(",", " ").split()  # "+outlook -auth", as gitdesk label takes them
    if not edits:
        raise ValidationError("no labels given", hint="write +NAME to add a label and -NAME to remove one")
    return actions.label(desk, ticket_id, edits, actor)


VERBS: dict[str, Callable[[Desk, str, Mapping[str, str], Actor], Outcome]] = {
    "take": _take, "assign": _assign, "unassign": _unassign, "reply": _reply, "note": _note, "ask": _ask,
    "escalate": _escalate, "resolve": _resolve, "close": _close, "reopen": _reopen, "reject": _reject,
    "duplicate": _duplicate, "set": _set, "label": _label,
}


# What the page offers only on an unfinished ticket, and what a stale form's refusal says of it.
_OPEN_ONLY = {"reply": "the reply was not sent", "ask": "the question was not sent",
              **dict.fromkeys(("take", "assign", "unassign", "resolve", "escalate", "duplicate", "reject"),
                              "nothing was changed")}
_ANY_TIME = frozenset({"note", "label"})  # right whatever the ticket's status became meanwhile
_POSTED = {"reply": "reply", "note": "note", "ask": "question"}  # verbs that add an entry, and its kind
TWICE = 120  # seconds: the same words again this soon are the same form sent twice (reload, back, a slow click)


def _refuse_stale(desk: Desk, ticket_id: str, verb: str, form: Mapping[str, Any]) -> None:
    """A form sent from a page that no longer shows the ticket as it is (a colleague reopened,
    resolved or rejected it meanwhile), said as a stale page, not as the workflow's "cannot
    move from open to closed": one whose page showed another status (``seen``), but for what
    is right at any time (notes, labels, a field other than the status, a reopen of a ticket
    finished either way); and one the page offers only on an unfinished ticket, sent after
    someone finished it (maybe rejected as spam, whose sender must never learn the address is
    read), from a page that did not say what it saw."""
    from gitdesk import workflow

    seen = str(form.get("seen") or "")
    other_field = verb == "set" and str(form.get("field", "")).strip().lower() != "status"  # "Status" too
    by_status = bool(seen) and verb not in _ANY_TIME and not other_field
    if not by_status and verb not in _OPEN_ONLY:
        return
    ticket = desk.find(ticket_id).ticket
    done = workflow.is_done(desk.config, ticket.status)
    said = _OPEN_ONLY.get(verb, "nothing was changed")
    if by_status and ticket.status != seen and not (verb == "reopen" and done):
        raise ValidationError(f"{ticket.id} is {ticket.status} now (it was {seen} when this page was loaded): "
                              f"{said}", hint="read the ticket again, then act on what it is now")
    if verb in _OPEN_ONLY and done:
        raise ValidationError(f"{ticket.id} is {ticket.status} now (finished since this page was loaded): {said}",
                              hint="read the ticket again; reopen it first if the requester still needs this")


def _refuse_twice(desk: Desk, ticket_id: str, kind: str, text: str, actor: Actor) -> None:
    """Refuse a form that would post again the entry its writer posted a moment ago: a browser
    that resends a form (reload, back and submit) would mail the requester twice."""
    from gitdesk import clock, ticketfile
    from gitdesk.errors import GitdeskError

    words = ticketfile.escape_text(text).strip()
    if not words:
        return
    now = clock.now()
    for entry in reversed(desk.find(ticket_id).ticket.entries):
        # Not only the last one: a note posted after the reply, then back twice and submit.
        if (abs((now - entry.at).total_seconds()) < TWICE and entry.kind == kind and entry.author == actor.id
                and entry.text.strip() == words):
            raise GitdeskError(f"this {kind} was just posted, at {clock.format_utc(entry.at)}: the form was sent "
                               "twice", hint="reload the ticket page to see it; to post the same words again on "
                                             "purpose, change them or wait two minutes")


def act(desk: Desk, ticket_id: str, verb: str, form: Mapping[str, Any], actor: Actor) -> Outcome:
    """Do ``verb`` on the ticket as the CLI does, and tell the index what was written."""
    from gitdesk.cache import index
    from gitdesk.errors import NotFound

    if verb not in VERBS:
        raise NotFound(f"no action {verb!r}", hint=f"expected one of: {', '.join(VERBS)}")
    _refuse_stale(desk, ticket_id, verb, form)
    if verb in _POSTED:
        _refuse_twice(desk, ticket_id, _POSTED[verb], str(form.get("text", "")), actor)
    result = VERBS[verb](desk, ticket_id, form, actor)
    index.written(desk, result.ticket_files)
    return result
