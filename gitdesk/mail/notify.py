"""Which mail an action sends: every public step to the requester (and Cc), and word
to the agents who asked for it. Each mail is a file in outbox/ in the action's commit.

The public steps and their mail: ``ask`` → question, an agent's ``reply`` →
reply, ``resolve`` and ``duplicate`` → resolution (with the satisfaction question), ``reject`` →
rejection, an agent's ``reopen`` → reopen; a ticket taken in from mail gets an
acknowledgement (``gitdesk.mail.intake``). Internal notes, escalations and time
entries never leave the desk. ``mail.notify`` in the config (per desk, and per
queue) says who hears of each step; ``--send``/``--no-send`` override it for
one action.

Agents who set ``notify: true`` under people: in the config are mailed when a
ticket they watch is answered by its requester or reopened, and when a ticket
is escalated or assigned to them.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message

from gitdesk import clock, templates, workflow
from gitdesk.actions import Mail, cc_of, requester_address, watchers_of
from gitdesk.desk import Actor, Desk, LoadedTicket
from gitdesk.errors import GitdeskError, RejectedSender, ValidationError
from gitdesk.mail import compose, outbox, waiting
from gitdesk.mail.compose import audience as compose_audience
from gitdesk.mail.message import thread_ids, with_thread_id
from gitdesk.mail.outbox import outbox_path
from gitdesk.model import ESCALATION, QUESTION, REJECTION, REOPEN, REPLY, RULES_AUTHOR, Config, Ticket
from gitdesk.paths import OUTBOX, STAMP
from gitdesk.text import address_key, clean_line

FEEDBACK_TAG = "[feedback]"  # in the subject of older feedback requests: an answer with a score is feedback

# verb → (event, the kind of entry whose words the mail carries)
PUBLIC_STEPS = {"ask": ("question", QUESTION), "reply": ("reply", REPLY), "resolve": ("resolution", None),
                "reject": ("rejection", REJECTION), "reopen": ("reopen", REOPEN),
                "duplicate": ("resolution", None)}


@dataclass(frozen=True, slots=True)
class Mailer:
    """An ``actions.Mailer``: the mail one action sends, by the desk's policy or ``send``.

    ``send``: None follows ``mail.notify``; True mails the requester (and Cc) whatever it
    says, and refuses when that cannot be done; False sends nothing to the requester."""

    desk: Desk
    send: bool | None = None
    attachments: tuple[tuple[str, bytes], ...] = ()

    def __call__(self, verb: str, old: Ticket, new: Ticket, actor: Actor) -> Mail | None:
        now = clock.now()
        letters = [*self._public(verb, old, new, actor), *self._agents(verb, old, new, actor)]
        withdrawal = withdrawn_acknowledgements(self.desk, old, new, now)
        # Solved by any verb (gitdesk set ID status resolved, an edit): the duplicates' requesters
        # were promised the answer however it came.
        solved = verb not in ("duplicate", "reject") and not workflow.is_done(self.desk.config, old.status) \
            and workflow.is_done(self.desk.config, new.status)
        told = waiting.tell(self.desk, "resolve" if solved else verb, new, actor, now, self.send)
        if not letters and withdrawal is None and told is None:
            return None
        ticket = new
        notes: list[str] = []
        ids: list[str] = []
        files: dict[str, bytes | None] = {}
        also: tuple[tuple[LoadedTicket, Ticket], ...] = ()
        if told is not None:
            ticket, also = told.ticket, told.also
            files.update(told.files)
            notes += told.notes
            ids += told.message_ids
        if withdrawal is not None:
            files.update(withdrawal.markers)
            notes += withdrawal.said
        for letter in letters:
            message = compose.message(self.desk.config, self.desk.root, letter, now, thread_ids(ticket))
            message_id = str(message["Message-ID"])
            path = outbox_path(ticket.id, now, message_id)
            files[path] = message.as_bytes()
            ids.append(message_id)
            notes.append(f"mail to {', '.join((letter.to, *letter.cc))} queued in {path}")
            if letter.event != templates.NOTIFICATION:  # agents' mail is not part of the requester's thread
                ticket = with_thread_id(ticket, message_id)
        return Mail(ticket, files, tuple(notes), tuple(ids), also)

    def _public(self, verb: str, old: Ticket, new: Ticket, actor: Actor) -> list[compose.Letter]:
        step = PUBLIC_STEPS.get(verb)
        if step is None or self.send is False:
            return []
        event, kind = step
        if verb == "duplicate" and not self._solved(new.duplicate_of):
            event = "reply"  # "we are working on it there": not "Solved", and no satisfaction question yet
        config = self.desk.config
        if self.send:
            actor.require_person("mail the requester")
        if actor.person is None or workflow.is_requester(config, new, actor.id):
            return []  # a requester's own words are not mailed back to them
        if verb == "reopen" and old.status == workflow.REJECTED and self.send is not True and not any(
                compose.names_event(str(known), old.id, "rejection") for known in old.extra.get("message_ids") or ()):
            return []  # rejected without a word to the sender (spam): undoing it tells them nothing either
        audience = compose_audience(config, new, event, forced=self.send is True)
        if not audience:
            return []
        to = requester_address(config, new)
        if verb == "reply" and old.status == workflow.REJECTED and self.send is None and to and config.mail.address:
            # Spam, or refused: a reply would tell its sender the address is read. Said, not guessed.
            raise RejectedSender(f"{old.id} is rejected: the reply would be mailed to its sender",
                                  hint=f"reopen it first: gitdesk reopen {old.id} -m TEXT; or --no-send to record it "
                                       "unmailed, --send to mail it anyway")
        if to is None and config.mail.address and event == QUESTION and self.send is None and "requester" in audience:
            # A question nobody can receive leaves the ticket pending, and the rules would remind
            # no one and then close it as unanswered: said now, as --send would say it.
            raise ValidationError(f"{new.id}: the question cannot reach the requester ({new.requester!r} has no "
                                  "email address)", hint=f"{_no_address_hint(config, new)}; or, asked another way, "
                                                         "--no-send to record it (the rules still close it "
                                                         "unanswered when the wait runs out)")
        if to is None or not config.mail.address:
            if self.send:
                raise ValidationError(
                    f"{new.id}: cannot mail the requester " + ("(the desk has no mail.address)"
                                                               if not config.mail.address else
                                                               f"({new.requester!r} has no email address)"),
                    hint="set mail.address in .gitdesk/config.yml" if not config.mail.address
                    else _no_address_hint(config, new))
            return []
        text = (new.resolution or "") if event == "resolution" or verb == "duplicate" else _added_text(old, new, kind)
        if verb == "duplicate" and event == "resolution":
            # The answer came from another ticket: no satisfaction question (the reports leave a
            # duplicate's score out), said as the mail to a duplicate that waited for it says it.
            event = "reply"
            greeting = templates.values(new, config)["greeting"]
            text = f"{greeting}\n\n{text.strip()}\n\n{waiting.still_wrong(new)}"
        found = compose.addressed(new, to, audience)
        if found is None:
            return []
        return [compose.Letter(event, new, text, *found, actor.person, self.attachments)]

    def _solved(self, ticket_id: str | None) -> bool:
        """Whether the ticket a duplicate points to is finished with a resolution note."""
        try:
            other = self.desk.load(ticket_id).ticket if ticket_id else None
        except GitdeskError:
            return False
        return other is not None and workflow.is_done(self.desk.config, other.status) and bool(
            (other.resolution or "").strip())

    def _agents(self, verb: str, old: Ticket, new: Ticket, actor: Actor) -> list[compose.Letter]:
        del verb
        return agent_letters(self.desk.config, old, new, actor)


def withdrawn_acknowledgements(desk: Desk, old: Ticket, new: Ticket, now: datetime) -> outbox.Withdrawal | None:
    """A ticket just rejected (spam, a mail loop) takes back its acknowledgement if it is still
    in outbox/ unsent (markers written in the same commit); None when there is none. The
    rejection itself is mailed, or not, as the action says."""
    if new.status != workflow.REJECTED or old.status == workflow.REJECTED or not new.id:
        return None
    withdrawal = outbox.unsent_acknowledgements(desk, new.id, now)
    return withdrawal if withdrawal.said else None


def agent_letters(config: Config, old: Ticket, new: Ticket, actor: Actor) -> list[compose.Letter]:
    """Word to agents who asked for it (``notify: true``): a ticket they watch or are assigned
    was answered by its requester or reopened; a ticket was escalated or assigned to them, or
    escalated unassigned to a queue they are a member of (or, with none of them here, its lead's
    or the desk's leads).
    Never to the one who acted."""
    if not config.mail.address:
        return []
    told: dict[str, str] = {}
    added = new.entries[len(old.entries):]
    answer = next((e for e in added if e.kind in (REPLY, REOPEN) and workflow.is_requester(config, new, e.author)),
                  None)
    reopened = workflow.is_done(config, old.status) and not workflow.is_done(config, new.status)
    if reopened and answer is None and actor.id == RULES_AUTHOR:  # reopened for the requester's words already there
        answer = next((e for e in reversed(new.entries) if e.kind in (REPLY, REOPEN)
                       and workflow.is_requester(config, new, e.author)), None)
    # The assignee is the first to need the requester's answer: as a watcher, without asking.
    for handle in dict.fromkeys([*([old.assignee] if old.assignee else []), *watchers_of(new)]):
        if reopened:
            told[handle] = f"Reopened by {answer.author if answer else actor.id}" + (
                f":\n\n{answer.text}" if answer and answer.text else ".")
        elif answer is not None:
            told[handle] = f"{answer.author} answered:\n\n{answer.text}"
    escalation = next((e for e in added if e.kind == ESCALATION), None)
    if new.assignee and new.assignee != old.assignee:
        told[new.assignee] = (f"Escalated to you by {actor.id}:\n\n{escalation.text}" if escalation is not None
                              else f"Assigned to you by {actor.id}.")
    elif escalation is not None and not new.assignee and new.queue and (queue := config.queues.get(new.queue)):
        # Escalated to a queue that assigns by hand: it waits there for one of its people, who
        # would otherwise first hear of it when a target is missed. Those away are passed over
        # for the queue's lead, then the desk's leads, as the rules' warnings are.
        def hearing(handles: Iterable[str]) -> list[str]:
            return [handle for handle in handles if handle != actor.id and (person := config.people.get(handle))
                    and person.notify and person.email]

        for handle in config.present(hearing(queue.members), hearing([queue.lead] if queue.lead else []),
                                     hearing(config.leads)):
            told.setdefault(handle, f"Escalated to {new.queue} by {actor.id}:\n\n{escalation.text}\n\n"
                                    f"Nobody in {new.queue} has it yet: gitdesk take {new.id}")
    letters = []
    for handle, why in told.items():
        person = config.people.get(handle)
        if person is None or not person.notify or not person.email or person is actor.person:
            continue
        letters.append(compose.Letter(templates.NOTIFICATION, new, f"{why}\n\n{about(config, new)}", person.email,
                                      agent=actor.person))
    return letters


def about(config: Config, ticket: Ticket, most: int = 600) -> str:
    """What an agent's notification says of the ticket, so a lead can act from the mail alone:
    title, requester, status and queue, and the start of the description."""
    name = templates.requester_name(ticket, config)
    who = f"{name} <{ticket.requester}>" if name and "@" in ticket.requester else ticket.requester
    # The requester's words, untrusted: clean lines (no control or direction characters, no
    # ticket-file escapes) kept as they were written (a list stays a list), indented as a code
    # block so the HTML part shows it as text: a Markdown image in it must not become a remote
    # <img> (a tracking pixel) in agents' mail.
    shown: list[str] = []
    room = most
    for raw in re.sub(r"\\(?=[#<>`*_\[\]!-])", "", ticket.description or "").split("\n"):
        line = clean_line(raw)
        if not line:
            if shown and shown[-1]:
                shown.append("")
            continue
        if len(line) > room:
            shown.append((line[:room].rsplit(" ", 1)[0] if " " in line[:room] else line[:room]) + " …")
            break
        shown.append(line)
        room -= len(line)
    excerpt = "\n".join("    " + wrapped if wrapped else "" for line in shown
                         for wrapped in (textwrap.wrap(line, 72) or [""])).rstrip()
    lines = [f"{ticket.id}: {clean_line(ticket.title)}", f"Requester: {clean_line(who)}",
             f"Status: {ticket.status}" + (f", queue {ticket.queue}" if ticket.queue else "")
             + (f", assigned to {ticket.assignee}" if ticket.assignee else ", unassigned")]
    return "\n".join(lines) + (f"\n\n{excerpt}" if excerpt else "")


def _added_text(old: Ticket, new: Ticket, kind: str | None) -> str:
    added = [entry for entry in new.entries[len(old.entries):] if entry.kind == kind]
    return added[-1].text if added else ""


def _no_address_hint(config: Config, ticket: Ticket) -> str:
    """How to give a requester without an address one: in people:, or on the ticket (an import's
    requester not known, a handle of nobody)."""
    if config.person(ticket.requester) is not None:
        return "add an email for them under people: in .gitdesk/config.yml"
    return f"set their address on the ticket: gitdesk set {ticket.id} requester ADDRESS"


# --- mail without an action: the acknowledgement, a request for feedback -------------


def acknowledgement(desk: Desk, ticket: Ticket, now: datetime, leave_out: Sequence[str] = (),
                    first: bool = False, to: str | None = None) -> tuple[Ticket, str, EmailMessage] | None:
    """The acknowledgement of a ticket taken in from mail (None when the policy says none
    or the requester has no address): the ticket threaded, the outbox path, the message.
    ``leave_out``: Cc addresses not to mail this time (each had its share this hour).
    ``first``: the requester never saw the mail that opened it (an agent's forward), so it
    starts a thread of its own: no "Re:", no In-Reply-To to a mail they do not have.
    ``to``: who wrote, when not the requester (someone in its Cc following a closed ticket up)."""
    config = desk.config
    to = to or requester_address(config, ticket)
    audience = compose_audience(config, ticket, "acknowledgement", forced=False)
    if to is None or not config.mail.address or not audience:
        return None
    skipped = {address_key(address) for address in (to, *leave_out)}
    cc = tuple(a for a in cc_of(ticket) if address_key(a) not in skipped) if "cc" in audience else ()
    letter = compose.Letter("acknowledgement", ticket, "", to, cc)
    message = compose.message(config, desk.root, letter, now, () if first else thread_ids(ticket))
    if first and str(message["Subject"]).startswith("Re: "):
        message.replace_header("Subject", str(message["Subject"]).removeprefix("Re: "))
    message_id = str(message["Message-ID"])
    return with_thread_id(ticket, message_id), outbox_path(ticket.id, now, message_id), message


@dataclass(frozen=True, slots=True)
class Requested:
    ticket: str
    to: str
    outbox: str  # where the mail waits for gitdesk mail send
    commit: str
    message_id: str


def request_feedback(desk: Desk, typed_id: str, actor: Actor) -> Requested:
    """Ask the requester of a finished ticket to rate the help, by a mail signed by the desk
    and queued in outbox/ (one commit). The ticket is not changed: feedback lives apart, and
    the answer is known by its subject tag and by the request's Message-ID."""
    actor.require_person("ask for feedback")  # signed by the desk, but only its people may send in its name
    config = desk.config
    with desk.writing():
        ticket = desk.find(typed_id).ticket
        if not workflow.is_done(config, ticket.status):
            raise ValidationError(f"{ticket.id} is {ticket.status}, not finished",
                                  hint="ask for feedback once the ticket is resolved or closed")
        if ticket.status == workflow.REJECTED:  # spam, or refused: no help to rate, and no word to a spammer
            raise ValidationError(f"{ticket.id} is rejected: there was no help to rate",
                                  hint="ask for feedback on tickets that were resolved or closed")
        to = requester_address(config, ticket)
        if to is None:
            raise ValidationError(f"{ticket.id}: the requester {ticket.requester!r} has no email address",
                                  hint=_no_address_hint(config, ticket))
        from gitdesk import feedback

        scores = [rating for rating in feedback.load_all(desk)[0] if rating.ticket == ticket.id]
        last = max(scores, key=lambda rating: (rating.at, rating.path), default=None)  # as the report orders them
        if last is not None and rated_since(desk, ticket, last.at):  # the answer would be ordinary mail
            raise ValidationError(f"{ticket.id} was rated {last.score} on {last.at:%Y-%m-%d} for this resolution",
                                  hint="one score counts per resolution; ask again once it is reopened and solved")
        now = clock.now()
        letter = compose.Letter(templates.FEEDBACK_REQUEST, ticket, "", to)
        message = compose.message(config, desk.root, letter, now, thread_ids(ticket))
        message_id = str(message["Message-ID"])
        path = outbox_path(ticket.id, now, message_id)
        commit = desk.commit({path: message.as_bytes()},
                             f"feedback request for {ticket.id}\n\nmail to {to} queued in {path}\n\n"
                             f"Gitdesk-Ticket: {ticket.id}\nGitdesk-Action: feedback-request\n", now,
                             new_files=frozenset({path}))
    return Requested(ticket.id, to, path, commit, message_id)


def rated_since(desk: Desk, ticket: Ticket, moment: datetime) -> bool:
    """Whether a score given at ``moment`` is on the ticket's resolution of now: it was not
    reopened, nor finished again, since (by the audit log: a reopening without a reason
    leaves no entry in the thread)."""
    from gitdesk.cache import history

    if any(entry.kind == REOPEN and entry.at >= moment for entry in ticket.entries):
        return False
    done = desk.config.done_statuses
    return not any(change.field == "status" and change.at >= moment and change.after in done
                   and change.before not in done
                   for change in history.tracked_changes(desk, [ticket.id]).get(ticket.id, []))


SENT = "sent"  # delivered mail, moved out of outbox/ by gitdesk mail send: sent/<YYYY-MM>/<name>.eml


def recent_acknowledgements(desk: Desk, since: datetime) -> dict[str, list[datetime]]:
    """Who got acknowledgements since ``since`` (queued or sent), and when, by address (folded):
    file names start with their time, so only the last hour's files are opened."""
    import email.parser
    import email.utils

    found: dict[str, list[datetime]] = {}
    from gitdesk import clock

    # since's month and now's by the desk's clock (GITDESK_NOW too), not the machine's.
    folders = [desk.root / OUTBOX, desk.root / SENT / since.strftime("%Y-%m"),
               desk.root / SENT / clock.now().astimezone(since.tzinfo).strftime("%Y-%m")]
    first = since.strftime(STAMP)
    for folder in dict.fromkeys(folders):
        if folder.is_symlink() or not folder.is_dir():
            continue
        for path in folder.glob("*.eml"):
            if path.name[:16] < first or path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                headers = email.parser.BytesHeaderParser().parse(handle)
            if headers.get(compose.EVENT_HEADER) != "acknowledgement":
                continue
            try:
                at = datetime.strptime(path.name[:16], STAMP).replace(tzinfo=since.tzinfo)
            except ValueError:
                continue
            for address in recipients(headers):
                found.setdefault(address_key(address), []).append(at)
    return found


def recipients(message: Message) -> list[str]:
    """Every address a message goes to, in To and Cc."""
    import email.utils

    return [address for _, address in email.utils.getaddresses(
        [*(message.get_all("To") or []), *(message.get_all("Cc") or [])]) if address]


def deliver_now(desk: Desk, message_ids: Sequence[str]) -> list[str]:
    """Deliver these queued messages at once when SMTP is set up here (``--send``): lines
    that say what happened. Without SMTP they wait for ``gitdesk mail send``. A failure is a
    warning, not an error: the action is committed (a script that retried it on exit 1 would
    post the reply twice) and the mail stays queued."""
    from gitdesk.mail import delivery, smtp

    if smtp.smtp_settings(desk.config) is None:
        return ["the mail waits in outbox/ for gitdesk mail send (no SMTP server is set here)"]
    queued = "the change is committed and its mail waits in outbox/ for gitdesk mail send"
    try:
        result = delivery.send(desk, only=set(message_ids))
    except GitdeskError as error:
        return [f"gitdesk: warning: {error.message}; {queued}"]
    lines = [f"mail to {', '.join(item.to)}: {item.outcome}" + (f" ({item.detail})" if item.detail else "")
             for item in result.items if item.message_id in message_ids]
    if result.error is not None:
        lines.append(f"gitdesk: warning: {result.error.message}; {queued}")
    return lines
