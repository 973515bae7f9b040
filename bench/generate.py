"""Generate a large desk quickly for benchmarks: realistic tickets, one bulk commit.

Tickets are written with gitdesk's own renderer (so they are valid and look
like real ones: a title as people type them, a few paragraphs of description
(now and then a pasted error message), a conversation of one to five entries,
a resolution on finished ones), then added and committed with plain Git in
one go. With --commits, a history instead: one commit an action (see
generate_history), written as a pack by packwriter.py.

Usage: python bench/generate.py DIR COUNT [--seed N]
       python bench/generate.py DIR TICKETS --commits N [--seed N] [--imported N] [--writer fast-import]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packwriter import PackHistory

from gitdesk import ids, ticketfile
from gitdesk.model import Entry, Ticket

AGENTS = ["alice", "bob", "dana", "fred", "gina"]
QUEUES = {"it-helpdesk": ["alice", "bob"], "it-infra": ["dana"], "facilities": ["fred", "gina"]}
CATEGORIES = ["email", "hardware", "network", "facilities", "access", "software"]
STATUSES = ["new"] * 3 + ["open"] * 12 + ["pending"] * 5 + ["resolved"] * 10 + ["closed"] * 68 + ["rejected"] * 2
WORDS = [
    "printer", "jam", "toner", "outlook", "password", "vpn", "laptop", "dock", "monitor", "wifi", "meeting",
    "room", "heating", "badge", "keyboard", "mouse", "invoice", "crm", "webshop", "order", "shipping",
    "refund", "calendar", "license", "install", "update", "crash", "slow", "network", "drive", "backup",
    "phone", "sso", "mfa", "account", "locked", "permission", "folder", "share", "battery", "fan", "noise",
    "screen", "flicker", "cable", "adapter", "camera", "microphone", "audio", "teams", "zoom",
]

CONFIG = """\
desk:
  name: Benchmark desk
people:
  alice: {name: Alice, email: alice@example.com, team: it}
  bob: {name: Bob, email: bob@example.com, team: it}
  dana: {name: Dana, email: dana@example.com, team: it}
  fred: {name: Fred, email: fred@example.com, team: facilities}
  gina: {name: Gina, email: gina@example.com, team: facilities}
queues:
  it-helpdesk: {name: IT helpdesk, members: [alice, bob], escalate_to: it-infra, assign: manual}
  it-infra: {name: IT infrastructure, members: [dana], assign: manual}
  facilities: {name: Facilities, members: [fred, gina], assign: manual}
categories: [email, hardware, network, facilities, access, software]
"""


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


SUBJECTS = ["Outlook", "VPN", "Laptop", "Printer on 2F", "Teams", "Wi-Fi in room 3.14", "Badge reader", "SSO login",
            "Monitor", "Docking station", "Café machine", "Büro heating", "Zoom", "CRM export", "Shared drive"]
PROBLEMS = ["asks for my password every hour", "drops every few minutes", "won't start", "is very slow",
            "shows a blank screen", "can't connect", "keeps crashing", "is making a loud noise", "doesn't work",
            "lost all settings after the update", "says access denied"]
ERRORS = ["Error 0x80070005: access is denied.", "ssl: certificate verify failed (self-signed certificate)",
          "HTTP 502 Bad Gateway from proxy.example.com", "The trust relationship between this workstation and "
          "the primary domain failed.", "Printer offline (paper jam in tray 2)"]


def title(rng: random.Random) -> str:
    """A title as people type them: punctuation, a colon, a question, the odd accent or reply prefix."""
    text = f"{rng.choice(SUBJECTS)} {rng.choice(PROBLEMS)}"
    roll = rng.random()
    if roll < 0.15:
        text = f"{rng.choice(SUBJECTS)}: {rng.choice(PROBLEMS)}"
    elif roll < 0.25:
        text = f"Re: {text}"
    elif roll < 0.4:
        text = f"{text}, {rng.choice(['again', 'since Monday', 'urgent', 'please help'])}"
    if rng.random() < 0.2:
        text += rng.choice(["?", "!", "!!", " (again)"])
    return text


def description(rng: random.Random) -> str:
    """A few paragraphs; now and then the error message, pasted as a code block."""
    parts = [paragraph(rng) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.15:
        parts.insert(1, f"```\n{rng.choice(ERRORS)}\n```")
    return "\n\n".join(parts)


def mint(draws: random.Random, created: datetime, existing: list[str]) -> str:
    """An ID as ``ids.mint`` makes it, its random part drawn from ``draws`` rather than from
    ``secrets``, so that the same seed makes the same desk (and the same commit ids)."""
    head = ids.slot("GD", created)
    same_slot = [ticket_id for ticket_id in existing if ticket_id.startswith(head)]
    if same_slot:
        after = ids.decode(max(same_slot)[len(head):]) + 1 + draws.randrange(1 << 24)
        if after < 1 << 5 * ids.RANDOM_CHARS:
            return head + ids.encode(after, ids.RANDOM_CHARS)
    return head + ids.encode(draws.getrandbits(5 * ids.RANDOM_CHARS - 1), ids.RANDOM_CHARS)


def make_ticket(rng: random.Random, created: datetime, existing: list[str], draws: random.Random) -> Ticket:
    status = rng.choice(STATUSES)
    queue = None if status == "new" else rng.choice(list(QUEUES))
    assignee = rng.choice(QUEUES[queue]) if queue and rng.random() < 0.85 else None
    entries = []
    at = created
    for _ in range(rng.randint(1, 5)):
        at += timedelta(minutes=rng.randint(5, 600))
        kind = rng.choice(["reply", "reply", "question", "note", "time"])
        requester = f"user{rng.randint(1, 400)}@example.com"
        author = rng.choice(AGENTS) if kind != "reply" or rng.random() < 0.6 else requester
        detail = f"{rng.randint(1, 4) * 15}m" if kind == "time" else ""
        entries.append(Entry(at, author, kind, paragraph(rng), detail))
    resolution = paragraph(rng) if status in ("resolved", "closed") else None
    ticket_id = mint(draws, created, existing[-50:])
    return Ticket(
        id=ticket_id, title=title(rng), status=status, created=created,
        requester=f"user{rng.randint(1, 400)}@example.com",
        priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
        queue=queue, assignee=assignee, category=rng.choice(CATEGORIES), asset=f"laptop-{rng.randint(1, 300):04d}",
        labels=tuple(rng.sample(WORDS, rng.randint(0, 3))),
        description=description(rng),
        entries=tuple(entries), resolution=resolution,
    )


def generate(directory: Path, count: int, seed: int = 1) -> list[str]:
    rng, draws = random.Random(seed), random.Random(f"ticket ids {seed}")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(directory)], check=True)
    (directory / ".gitdesk").mkdir(exist_ok=True)
    (directory / ".gitdesk" / "config.yml").write_text(CONFIG)
    tickets_dir = directory / "tickets"
    tickets_dir.mkdir(exist_ok=True)
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    step = (datetime(2026, 11, 1, tzinfo=timezone.utc) - start) / count
    made: list[str] = []
    for n in range(count):
        ticket = make_ticket(rng, start + step * n, made, draws)
        (tickets_dir / f"{ticket.id}.md").write_text(ticketfile.new_text(ticket), encoding="utf-8")
        made.append(ticket.id)
    env = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "alice@example.com", "PATH": "/usr/bin:/bin"}

    # Only ever this repository: were it deleted meanwhile, Git must not find the one around it.
    env = {**os.environ, **env, "GIT_DIR": str(directory / ".git"), "GIT_WORK_TREE": str(directory)}
    subprocess.run(["git", "add", "-A"], cwd=directory, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", f"{count} generated tickets"], cwd=directory, check=True, env=env)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commits", type=int, default=0, help="generate a history of this many commits")
    parser.add_argument("--imported", type=int, help="tickets the history starts with an import of")
    parser.add_argument("--writer", choices=["pack", "fast-import"], default="pack")
    args = parser.parse_args()
    if args.commits:
        generate_history(args.directory, args.count, args.commits, args.seed, args.imported, args.writer)
    else:
        generate(args.directory, args.count, args.seed)



def generate_history(directory: Path, tickets: int, commits: int, seed: int = 2, imported: int | None = None,
                     writer: str = "pack") -> None:
    """A desk whose history has ``commits`` commits over ``tickets`` tickets, each
    commit one action on one ticket.

    When the tickets are many for the commits (``tickets * 3 > commits``) the
    desk got there as real ones do, by an import: commit 2 brings ``imported``
    tickets finished in the old desk (created and closed in 2019-2021, with a
    conversation and a resolution), and the other commits work the rest, ten
    commits a ticket as on the 10,000 x 100,000 desk. ``writer`` is "pack"
    (packwriter.py, fast at any size) or "fast-import" (the same commits, but
    some 0.1 s a commit once a directory holds 100,000 files).
    """
    from dataclasses import replace

    if imported is None:
        imported = tickets - commits // 10 if tickets * 3 > commits else 0
    rng, draws = random.Random(seed), random.Random(f"ticket ids {seed}")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(directory)], check=True)
    alone = {**os.environ, "GIT_DIR": str(directory / ".git"), "GIT_WORK_TREE": str(directory)}
    history = PackHistory(directory / ".git") if writer == "pack" else FastImport(directory, alone)
    when = datetime(2022, 1, 1, tzinfo=timezone.utc)
    step = (datetime(2026, 11, 1, tzinfo=timezone.utc) - when) / commits
    state: dict[str, tuple[Ticket, str]] = {}
    open_ids: list[str] = []
    made: list[str] = []
    flow = {"new": "open", "open": "pending", "pending": "open"}

    def emit(at: datetime, who: str, message: str, files: list[tuple[str, str]]) -> None:
        history.commit(f"{who.title()} <{who}@example.com> {int(at.timestamp())} +0000", message, files)

    emit(when, "alice", "Configure the desk\n", [(".gitdesk/config.yml", CONFIG)])
    if imported:
        old: list[tuple[str, str]] = []
        start, span = datetime(2019, 1, 1, tzinfo=timezone.utc), timedelta(days=3 * 365 - 10)
        for n in range(imported):
            ticket = make_ticket(rng, start + span * n / imported, made, draws)
            queue = ticket.queue or rng.choice(list(QUEUES))
            assignee = ticket.assignee or rng.choice(QUEUES[queue])
            ticket = replace(ticket, status="closed", queue=queue, assignee=assignee,
                             resolution=ticket.resolution or paragraph(rng), extra={"imported_from": f"csv:{n + 1}"})
            made.append(ticket.id)
            old.append((f"tickets/{ticket.id}.md", ticketfile.new_text(ticket)))
        emit((when + step * 2).replace(microsecond=0), "alice",
             f"Import {imported} tickets from the old desk\n\nGitdesk-Action: import\n", old)
        del old
    for mark in range(3 if imported else 2, commits + 1):
        at = (when + step * mark).replace(microsecond=0)
        who = rng.choice(AGENTS)
        if len(made) < tickets and (not open_ids or rng.random() < (tickets - len(made)) / (commits - mark + 1) * 1.2):
            ticket = replace(make_ticket(rng, at, made, draws), status="new", queue=None, assignee=None, entries=(),
                             resolution=None)
            made.append(ticket.id)
            text = ticketfile.new_text(ticket)
            state[ticket.id] = (ticket, text)
            open_ids.append(ticket.id)
            verb = "new"
        else:
            ticket_id = open_ids[-1 - min(len(open_ids) - 1, int(rng.expovariate(1 / 30)))]
            _, text = state[ticket_id]
            parsed, document = ticketfile.parse(text)
            roll = rng.random()
            if roll < 0.5:
                kind = rng.choice(["reply", "note", "reply", "time"])
                entry = Entry(at, who, kind, paragraph(rng), "30m" if kind == "time" else "")
                new = replace(parsed, entries=(*parsed.entries, entry))
                verb = kind
            elif parsed.status in flow:
                status = flow[parsed.status]
                new = replace(parsed, status=status, queue=parsed.queue or "it-helpdesk",
                              assignee=parsed.assignee or who)
                verb = "set"
            elif parsed.status != "resolved":
                new = replace(parsed, status="resolved", resolution=paragraph(rng))
                verb = "resolve"
            else:
                new = replace(parsed, status="closed")
                open_ids.remove(ticket_id)
                verb = "close"
            if parsed.status in ("open", "pending") and rng.random() < 0.3 and verb in ("reply", "note"):
                new = replace(new, status="resolved", resolution=paragraph(rng))
                verb = "resolve"
            text = ticketfile.updated_text(document, parsed, new)
            state[ticket_id] = (new, text)
            ticket = new
        message = f"{verb} {ticket.id}: {ticket.title}\n\nGitdesk-Ticket: {ticket.id}\nGitdesk-Action: {verb}\n"
        emit(at, who, message, [(f"tickets/{ticket.id}.md", text)])
    history.finish()
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=directory, check=True, env=alone)


class FastImport:
    """The same commits as PackHistory, through ``git fast-import`` (slow for large directories)."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=directory, stdin=subprocess.PIPE,
                                        env=env)
        self.marks = 0

    def commit(self, person: str, message: str, files: list[tuple[str, str]]) -> None:
        out = self.process.stdin
        assert out is not None
        self.marks += 1
        data = message.encode()
        out.write(f"commit refs/heads/main\nmark :{self.marks}\nauthor {person}\ncommitter {person}\n".encode())
        out.write(f"data {len(data)}\n".encode() + data + b"\n")
        if self.marks > 1:
            out.write(f"from :{self.marks - 1}\n".encode())
        for path, text in files:
            body = text.encode()
            out.write(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        out.write(b"\n")

    def finish(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        if self.process.wait() != 0:
            raise SystemExit("git fast-import failed")


def generate_mbox(path: Path, count: int, seed: int = 3) -> None:
    """An mbox of ``count`` messages shaped like a desk's real inbox: mostly new threads,
    a quarter replies (threaded by In-Reply-To), some HTML-only, some with an attachment,
    a few auto-replies."""
    import mailbox
    from email.message import EmailMessage

    rng = random.Random(seed)
    partial = path.with_name(path.name + ".partial")  # a killed run never leaves a half mailbox behind
    partial.unlink(missing_ok=True)
    box = mailbox.mbox(str(partial))  # ours alone: no dot-lock, which a killed run would leave stale
    threads: list[tuple[str, str, str]] = []  # (message id, sender, subject)
    when = datetime(2026, 11, 1, tzinfo=timezone.utc)
    try:
        for number in range(count):
            when += timedelta(minutes=rng.randint(1, 20))
            message = EmailMessage()
            kind = rng.random()
            if threads and kind < 0.25:
                parent, sender, subject = rng.choice(threads)
                message["Subject"] = f"Re: {subject}"
                message["In-Reply-To"] = parent
                message["References"] = parent
                text = f"{sentence(rng)}\n\nOn Mon, {sender} wrote:\n> {sentence(rng)}\n"
            else:
                sender = f"user{rng.randint(1, 2000)}@example.org"
                subject = sentence(rng)[:60].rstrip(".")
                message["Subject"] = subject
                text = paragraph(rng)
            message_id = f"<bench-{number}@example.org>"
            message["From"] = sender
            message["To"] = "help@example.com"
            message["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
            message["Message-ID"] = message_id
            if kind > 0.98:
                message["Auto-Submitted"] = "auto-replied"
            if 0.85 < kind <= 0.95:
                message.set_content(f"<html><body><p>{text}</p></body></html>", subtype="html")
            else:
                message.set_content(text)
            if 0.95 < kind <= 0.98:
                message.add_attachment(rng.randbytes(20_000), maintype="application", subtype="octet-stream",
                                       filename=f"log-{number}.bin")
            if not message["In-Reply-To"]:
                threads.append((message_id, sender, subject))
            box.add(message)
    finally:
        box.close()
    os.replace(partial, path)

if __name__ == "__main__":
    main()
