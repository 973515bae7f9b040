"""Texts a desk keeps for reuse: ticket drafts, and the placeholders of mail
templates and canned replies.

A ticket template is Markdown with optional front matter (defaults such as
``priority`` or ``labels``) in ``.gitdesk/templates/``: ``<category>.md`` is
used for that category, else ``default.md``, else a built-in one, and opened
in ``$EDITOR`` for ``gitdesk new``. Mail templates and canned replies
(``.gitdesk/replies/<name>.md``) say ``{{title}}``, ``{{agent}}``… where a
ticket's values go; an unknown placeholder is an error naming its line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitdesk import frontmatter, paths
from gitdesk.errors import GitdeskError, NotFound, TicketFormatError
from gitdesk.model import KNOWN_FIELDS, REQUESTER_NAME, Config, Ticket
from gitdesk.text import clean_line, closest

TEMPLATES = ".gitdesk/templates"
DRAFT_FIELDS = ("title", "requester", "queue", "priority", "category", "asset", "labels", "assignee")
_BUILTIN = """\
---
title:
---
What happened, and what did you expect? Include error messages, the machine
or system involved, and what you already tried.
"""
_HELP = "# Fill in the title and the description. An empty title cancels.\n"


@dataclass(frozen=True, slots=True)
class Draft:
    fields: dict[str, Any]
    body: str


def template_text(root: Path, category: str | None) -> str:
    for name in ([f"{category}.md"] if category else []) + ["default.md"]:
        candidate = paths.file_inside(root, f"{TEMPLATES}/{name}")
        if candidate is not None:
            return candidate.read_text(encoding="utf-8")
    return _BUILTIN


def draft_text(root: Path, given: dict[str, Any]) -> str:
    """The text to open in the editor: template defaults overlaid by what was given."""
    template = template_text(root, given.get("category"))
    try:
        front = frontmatter.load(template, TEMPLATES)
        defaults, body = front.data, template[front.body_start:]
    except TicketFormatError:
        defaults, body = {}, template
    fields = {name: defaults.get(name) for name in DRAFT_FIELDS}
    fields.update({key: value for key, value in defaults.items() if key not in DRAFT_FIELDS
                   and key not in KNOWN_FIELDS})
    fields.update({key: value for key, value in given.items() if value not in (None, (), [])})
    head = frontmatter.new_text(fields)
    return head[:4] + _HELP + head[4:] + body


def read_draft(text: str) -> Draft:
    """Parse what came back from the editor."""
    normal = text.replace("\r\n", "\n")
    front = frontmatter.load(normal, "draft")
    fields = dict(front.data)
    for forbidden in ("id", "status", "created"):
        if forbidden in fields:
            raise GitdeskError(f"a new ticket cannot set {forbidden}; gitdesk fills it in", path="draft")
    labels = fields.get("labels") or []
    if not isinstance(labels, list):
        raise TicketFormatError("labels must be a list", path="draft", hint="write labels: [a, b]")
    for key in ("title", "requester", "queue", "priority", "category", "asset", "assignee"):
        value = fields.get(key)
        if value is None or isinstance(value, str):
            continue
        # As in a ticket file: YAML read "asset: 0042" as the number 34; kept as text it is what was typed.
        span = front.spans.get(key)
        typed = normal[span.start:span.end].split(":", 1)[-1].strip() if span else str(value)
        kind, hint = frontmatter.not_text(key, value)
        raise TicketFormatError(f"{key} must be text, not {kind}", path="draft", line=span.line if span else None,
                                hint=hint if isinstance(value, (bool, list, dict)) else f"quote it: {key}: '{typed}'")
    return Draft(fields, normal[front.body_start:].strip("\n"))


# --- placeholders: mail templates and canned replies ----------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# What a mail template or a canned reply may say about its ticket; `text` is the entry's
# own words (the question, the reply, the resolution note, the reason).
TICKET_PLACEHOLDERS = ("id", "title", "status", "priority", "queue", "category", "asset", "requester",
                       "requester_name", "greeting")
PLACEHOLDERS = (*TICKET_PLACEHOLDERS, "text", "headline", "agent", "desk", "desk_address")
HEADLINE = 72  # characters of ``text``'s first line a subject may carry


def placeholder_problems(text: str, path: str, known: tuple[str, ...] = PLACEHOLDERS,
                         first_line: int = 1) -> list[GitdeskError]:
    """Every ``{{name}}`` in ``text`` that is not one of ``known``, with its line."""
    problems: list[GitdeskError] = []
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name in known:
            continue
        close = closest(name, known)
        problems.append(TicketFormatError(
            f"unknown placeholder {{{{{name}}}}}", path=path, line=first_line + text.count("\n", 0, match.start()),
            hint=(f"did you mean {{{{{close}}}}}? " if close else "") + f"known: {', '.join(known)}"))
    return problems


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{{name}}`` replaced by its value (an unknown one is kept as written:
    ``gitdesk check`` reports it, and a mail never loses words because of it)."""
    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1), match.group(0))
        # A value ending a sentence where the template ends one too: "Fernhill Tea Co." + "." is one stop.
        if found.endswith(".") and text.startswith(".", match.end()) and not found.endswith(".."):
            return found[:-1]
        return found

    return PLACEHOLDER.sub(value, text)


MAIL_WIDTH = 76
_NOT_PROSE = re.compile(r"^(\s|[-*+>|#]|\d+[.)]\s)")  # lists, quotes, tables, headings, indented code


def fill_mail(text: str, values: Mapping[str, str], width: int = MAIL_WIDTH) -> str:
    """A mail template filled in (``fill``), its own prose paragraphs wrapped to ``width``
    after the values went in: a template wrapped before "{{id}}" and the desk's name were
    filled had 103-column lines. A paragraph holding ``{{text}}`` (the agent's own words),
    and lists, quotes and code, stay as written."""
    return "\n\n".join(fill(paragraph, values) if "{{text}}" in paragraph
                       else wrap_prose(fill(paragraph, values), width) for paragraph in text.split("\n\n"))


def wrap_prose(paragraph: str, width: int = MAIL_WIDTH) -> str:
    """One paragraph of the desk's own words wrapped to ``width``; lists, quotes, tables and
    code, and a paragraph that already fits, stay as written."""
    import textwrap

    lines = paragraph.split("\n")
    if max(map(len, lines)) <= width or any(_NOT_PROSE.match(line) for line in lines):
        return paragraph
    return "\n".join(textwrap.wrap(" ".join(lines), width, break_long_words=False, break_on_hyphens=False))


def values(ticket: Ticket, config: Config, agent: str | None = None, text: str = "") -> dict[str, str]:
    """What every placeholder stands for on ``ticket``; ``agent`` is who signs (the desk's
    name when None), ``text`` the entry's own words."""
    name = requester_name(ticket, config)
    desk = " ".join((config.mail.name or config.desk_name).split())
    shown = {key: "" if key in config.private_fields else value or ""  # private fields never leave the desk
             for key, value in (("priority", ticket.priority), ("queue", ticket.queue),
                                ("category", ticket.category), ("asset", ticket.asset))}
    return {"id": ticket.id, "title": " ".join(ticket.title.split()), "status": ticket.status,
            **shown, "requester": ticket.requester,
            "requester_name": name or ticket.requester.split("@", 1)[0],
            # "Hello Bob Meyer," when the desk knows a name, else "Hello,": never "Hello bob.meyer,"
            "greeting": f"Hello {name}," if name else "Hello,",
            "text": text.strip(), "headline": headline(text),
            "agent": " ".join(agent.split()) if agent else desk, "desk": desk,
            "desk_address": config.mail.address or ""}


def headline(text: str) -> str:
    """``text``'s first line as a subject can carry it: one clean line, its closing "." or ":"
    dropped, cut at a word near ``HEADLINE`` characters."""
    first = clean_line(next((line for line in text.splitlines() if line.strip()), "")).rstrip(" .:")
    if len(first) <= HEADLINE:
        return first
    return first[:HEADLINE].rsplit(" ", 1)[0] + " …"


def requester_name(ticket: Ticket, config: Config) -> str | None:
    """The requester's name if the desk knows one: from config, or as their mail's From gave it."""
    person = config.person(ticket.requester)
    return person.name if person else name_to_greet(ticket.extra.get(REQUESTER_NAME))


_COMPANY = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


def name_to_greet(value: object) -> str | None:
    """A name from a mail's From (``"Meyer, Bob"``, ``Jürgen Müller``) as a greeting says it,
    or None for what is not one: a value from a ticket file, so anything at all."""
    if not isinstance(value, str):
        return None
    name = clean_line(" ".join(value.replace('"', " ").split())).strip(" '")
    name = _COMPANY.sub("", name).strip()  # "Jürgen Müller (ACME)": the greeting is for the person
    if (not name or "@" in name or len(name) > 80 or not any(c.isalpha() for c in name)
            or any(not (c.isalpha() or c in " .,'-") for c in name)):
        return None
    if name.count(",") == 1:  # "Last, First", as address books write it
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}".strip()
    return name or None


# --- canned replies -------------------------------------------------------------------

REPLIES = ".gitdesk/replies"
CANNED_FIELDS = ("status", "priority", "category", "labels")


@dataclass(frozen=True, slots=True)
class Canned:
    """A reusable answer: its text (with placeholders), and the fields it sets when used."""

    name: str
    body: str
    fields: Mapping[str, Any]
    path: str

    @property
    def first_line(self) -> str:
        """The line that says what the reply is about: past a greeting ("Hi {{requester_name}},"),
        which every reply shares."""
        lines = [line.strip() for line in self.body.splitlines() if line.strip()]
        if len(lines) > 1 and _GREETING_LINE.match(lines[0]):
            lines = lines[1:]
        return lines[0] if lines else ""


_GREETING_LINE = re.compile(r"^(?:(?:hi|hello|hey|dear|hallo)\b[^.!?]{0,40}[,!]?|\{\{greeting\}\})$", re.IGNORECASE)


def read_canned(text: str, name: str, path: str) -> Canned:
    """A canned reply file, checked: known fields only, a non-empty text, known placeholders."""
    normal = text.replace("\r\n", "\n")
    if normal.startswith("---\n"):
        front = frontmatter.load(normal, path)
        fields, body, first = dict(front.data), normal[front.body_start:], normal.count("\n", 0, front.body_start) + 1
    else:
        fields, body, first = {}, normal, 1
    for key in fields:
        if key not in CANNED_FIELDS:
            raise TicketFormatError(f"a canned reply cannot set {key!r}", path=path,
                                    hint=f"it may set: {', '.join(CANNED_FIELDS)}")
    if not body.strip():
        raise TicketFormatError("the canned reply has no text", path=path)
    problems = placeholder_problems(body, path, (*TICKET_PLACEHOLDERS, "agent", "desk", "desk_address"), first)
    if problems:
        raise problems[0]
    return Canned(name, body.strip("\n"), fields, path)


def canned_replies(root: Path) -> list[Canned]:
    """Every canned reply of the desk, by name; broken files raise (gitdesk check names them)."""
    directory = paths.inside(root, REPLIES)
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.md")):
        if path.is_symlink() or not path.is_file():
            continue
        found.append(read_canned(path.read_text(encoding="utf-8"), path.stem, f"{REPLIES}/{path.name}"))
    return found


def canned(root: Path, name: str) -> Canned:
    replies = {reply.name: reply for reply in canned_replies(root)}
    if name not in replies:
        close = closest(name, replies)
        raise NotFound(f"no canned reply {name!r}", hint=(f"did you mean {close}? " if close else "")
                       + ("gitdesk replies lists them" if replies else f"write one in {reply_file(name)}"))
    return replies[name]


def reply_file(name: str) -> str:
    """Where a canned reply called ``name`` is written, for a hint: a path only of a name that
    can be a file's (never "../../etc/passwd" from a rule or an argument)."""
    return f"{REPLIES}/{name if _FILE_NAME.fullmatch(name) else 'NAME'}.md"


_FILE_NAME = re.compile(r"\w[\w-]*")


# --- mail templates: what the desk says at each public step (gitdesk.mail.compose) ---------

MAIL_TEMPLATES = ".gitdesk/templates/mail"
FEEDBACK_REQUEST = "feedback-request"
NOTIFICATION = "notification"  # to an agent who asked to hear of a ticket
REMINDER = "reminder"  # a rule reminds a requester who has not answered a question

_FEEDBACK_QUESTION = (
    "How did we do? Reply with a number from 1 (very unhappy) to 5 (very happy) on the first line, "
    "and a comment below it if you like. Your answer goes to the desk's weekly review.")

MAIL_DEFAULTS: dict[str, str] = {
    "acknowledgement": """\
---
subject: "Re: {{title}} [{{id}}]"
---
{{greeting}}

we have your request, and it has the number {{id}}. Someone from {{desk}} will
answer you by mail.

To add anything (more details, a screenshot), reply to this mail and keep
[{{id}}] in the subject.
""",
    "question": """\
---
subject: "Re: {{title}} [{{id}}]"
---
{{text}}

Please reply to this mail with your answer: it goes straight to your request {{id}}.
""",
    "reply": """\
---
subject: "Re: {{title}} [{{id}}]"
---
{{text}}
""",
    "resolution": f"""\
---
subject: "Solved: {{{{title}}}} [{{{{id}}}}]"
---
{{{{greeting}}}}

we believe your request {{{{id}}}} is solved:

{{{{text}}}}

If it is not, reply to this mail and say what still goes wrong: your request opens again.

{_FEEDBACK_QUESTION}
""",
    "rejection": """\
---
subject: "Re: {{title}} [{{id}}]"
---
{{greeting}}

{{text}}

We have closed your request {{id}} without further action. If we got this wrong,
reply to this mail and we will look again.
""",
    "reopen": """\
---
subject: "Reopened: {{title}} [{{id}}]"
---
{{greeting}}

we have opened your request {{id}} again.

{{text}}
""",
    NOTIFICATION: """\
---
subject: "[{{id}}] {{headline}}: {{title}}"
---
{{text}}

You hear of {{id}} because you watch it, it was given to you or your queue, or you lead its queue or the desk.
""",
    REMINDER: """\
---
subject: "Waiting for your answer: {{title}} [{{id}}]"
---
{{greeting}}

your request {{id}} is waiting for your answer to our question:

{{text}}

Please reply to this mail: it goes straight to your request. If we do not
hear from you, we may mark it as solved after a while; you can still reply
then, and we will pick it up again.
""",
    FEEDBACK_REQUEST: f"""\
---
subject: "How did we do? {{{{title}}}} [{{{{id}}}}]"
---
{{{{greeting}}}}

your request "{{{{title}}}}" is done.

{_FEEDBACK_QUESTION}
""",
}


EXAMPLE_REPLY = """\
---
# A canned reply: gitdesk reply ID --use more-details. Front matter may set
# status, priority, category and labels when the reply is used.
labels: [needs-details]
status: pending  # it asks the requester: the ticket waits on them, and its clocks pause
---
Hi {{requester_name}},

thanks for writing to {{desk}}. To help you quickly, could you tell us:

- which computer or system it is (its asset tag, if you have one),
- what you see (the exact error message, or a screenshot),
- since when it happens?
"""


RULES_PATH = ".gitdesk/rules.yml"
DEFAULT_RULES = """\
# Rules: what the desk does on time with nobody at the keyboard.
#   gitdesk rules               lists them, and what each would do next
#   gitdesk rules run --dry-run shows what is due; without --dry-run, does it
# Run 'gitdesk rules run' from cron or a CI schedule (docs/ci/). Every change is
# a commit with a Gitdesk-Rule trailer; gitdesk check validates this file.
# A rule: name, when (one trigger), if (conditions, optional), do (steps).
# Docs: docs/automations.md in the gitdesk repository.
rules:
  # A resolved ticket the requester never answered is closed after a week.
  - name: close-resolved
    when: {status: resolved, for: 7d}
    do:
      - close

  # A requester who has not answered a clarifying question is reminded once,
  # after two working days...
  - name: remind-pending
    when: {status: pending, for: 2d, clock: business}
    do:
      - mail: reminder           # .gitdesk/templates/mail/reminder.md

  # ...and seven working days after that, the ticket is resolved as unanswered.
  - name: resolve-unanswered
    when: {status: pending, for: 9d, clock: business}
    do:
      - resolve: >-
          We have not heard back from you, so we have marked this request as
          solved. If the problem is still there, reply to this mail and we will
          pick it up again.

  # Warn the assignee when 80 % of the first-response target is used (nobody
  # assigned: the queue's lead, else the desk's leads).
  - name: first-response-warning
    when: {target: first_response, used: 80%}
    do:
      - notify: assignee

  # A target missed: the queue's lead (else the desk's leads) hears of it, once.
  - name: first-response-missed
    when: {target: first_response, missed: true}
    do:
      - notify: lead
  - name: resolution-missed
    when: {target: resolution, missed: true}
    do:
      - notify: lead

  # New tickets nobody has taken for four working hours: tell the leads.
  - name: untaken
    when: {status: new, for: 4h, clock: business}
    do:
      - notify: leads

  # Monday morning: last week's feedback and workload to the leads.
  - name: weekly-digest
    when: {every: monday, at: "07:00"}
    do:
      - digest: [feedback, workload]
    to: leads

  # An example of an event rule: runs as a ticket is created.
  # - name: board-members-first
  #   when: {event: created}
  #   if: {requester_domain: board.example.com}
  #   do:
  #     - set: {priority: high}
  #     - label: vip
"""


def starter_files() -> dict[str, str]:
    """What gitdesk init writes besides the config: the ticket template, every mail
    template, one canned reply to copy from, and the default rules."""
    files = {f"{MAIL_TEMPLATES}/{event}.md": text for event, text in MAIL_DEFAULTS.items()}
    files[f"{REPLIES}/more-details.md"] = EXAMPLE_REPLY
    files[RULES_PATH] = DEFAULT_RULES
    return files
