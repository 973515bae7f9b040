"""Replay the example desk's stories into a fresh Git repository.

Each story in ``stories/`` is one ticket's life: its creation and a list of
events. All events of all stories are played in time order through the real
gitdesk library, one action and one commit each, with the clock fixed to the
event's time (``GITDESK_NOW``) and the Git author set to whoever acted. The
result is a desk with a believable three-month history.

Usage: python example-repo/replay.py [TARGET]   (default: demo-desk)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gitdesk import actions  # noqa: E402
from gitdesk.desk import Desk, create  # noqa: E402
from gitdesk.errors import GitdeskError  # noqa: E402
from gitdesk.model import Config  # noqa: E402

INTAKE = ("Fernhill mail intake", "support@fernhill.example")  # who commits what customers write
MARKER = ".git/gitdesk-demo"


@dataclass(order=True)
class Step:
    at: str
    order: int
    key: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)


def load_stories(directory: Path) -> list[dict[str, Any]]:
    stories = []
    for path in sorted(directory.glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            story = yaml.safe_load(handle)
        story["key"] = path.stem
        stories.append(story)
    return stories


def iso(value: Any) -> str:
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)


def schedule(stories: list[dict[str, Any]]) -> list[Step]:
    steps = []
    for story in stories:
        steps.append(Step(iso(story["created"]), len(steps), story["key"], {"do": "new"}))
        for event in story.get("events") or []:
            steps.append(Step(iso(event["at"]), len(steps), story["key"], event))
    return sorted(steps)


def author_for(config: Config, who: str) -> tuple[str, str]:
    person = config.person(who)
    if person is not None and person.email:
        return person.name, person.email
    return INTAKE


def prepare(target: Path) -> None:
    if target.exists():
        if not (target / MARKER).exists():
            raise SystemExit(f"{target} exists and is not a previous demo desk; choose another directory")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
    (target / MARKER).write_text("built by example-repo/replay.py\n")


def set_clock(at: str, author: tuple[str, str]) -> None:
    os.environ["GITDESK_NOW"] = at
    os.environ["GIT_AUTHOR_NAME"], os.environ["GIT_AUTHOR_EMAIL"] = author
    os.environ["GIT_COMMITTER_NAME"], os.environ["GIT_COMMITTER_EMAIL"] = author


def replay(target: Path) -> dict[str, str]:
    stories = {story["key"]: story for story in load_stories(HERE / "stories")}
    config_text = (HERE / "config.yml").read_text(encoding="utf-8")
    from gitdesk.config import parse_config

    config = parse_config(config_text)
    lead = config.person("dana") or next(iter(config.people.values()))
    prepare(target)
    set_clock("2026-08-21T08:00:00Z", (lead.name, lead.email or INTAKE[1]))
    create(target, config.desk_name)
    (target / ".gitdesk" / "config.yml").write_text(config_text, encoding="utf-8")
    subprocess.run(["git", "commit", "-q", "-m", "Configure people, queues and categories",
                    "-m", "Gitdesk-Action: config", "--", ".gitdesk/config.yml"],
                   cwd=target, check=True)
    desk = Desk.open(target)
    ids: dict[str, str] = {}
    steps = schedule(list(stories.values()))
    started = time.monotonic()
    skipped = 0
    for number, step in enumerate(steps, start=1):
        story = stories[step.key]
        event = step.event
        verb = event["do"]
        who = str(event.get("as") or story.get("entered_by") or story["requester"])
        set_clock(step.at, author_for(config, who))
        try:
            play(desk, step, story, who, ids)
        except GitdeskError as error:
            # Stories were written by hand: a `take` of a ticket the queue already
            # auto-assigned to that agent is a no-op, not a failure.
            if " already " not in str(error):
                raise SystemExit(f"{step.key} at {step.at}: {verb}: {error}") from None
            skipped += 1
        if sys.stderr.isatty():
            print(f"\rreplaying {number}/{len(steps)} actions", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    twins = {ids[key]: ids[story["twin_of"]] for key, story in stories.items() if story.get("twin_of")}
    (target / ".git" / "gitdesk").mkdir(exist_ok=True)
    keys = {"tickets": ids, "twins": twins}
    (target / ".git" / "gitdesk" / "demo-keys.json").write_text(json.dumps(keys, indent=2), encoding="utf-8")
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=target, capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"Built {target}: {len(ids)} tickets, {commits} commits "
          f"({skipped} no-op steps skipped) in {time.monotonic() - started:.0f}s.")
    return ids


def play(desk: Desk, step: Step, story: dict[str, Any], who: str, ids: dict[str, str]) -> None:
    event = step.event
    verb = event["do"]
    actor = desk.actor(who)
    ticket = ids.get(step.key, "")
    if verb == "new":
        result = actions.create(desk, actions.NewTicket(
            title=story["title"], requester=story["requester"], queue=story.get("queue"),
            priority=story.get("priority"), category=story.get("category"), asset=story.get("asset"),
            labels=tuple(story.get("labels") or ()), body=story.get("body") or "",
        ), actor)
        ids[step.key] = result.ticket.id
    elif verb == "take":  # a story's take is a hand-over the team agreed on
        actions.take(desk, ticket, actor, force=True)
    elif verb == "unassign":
        actions.unassign(desk, ticket, actor)
    elif verb == "close":
        actions.close(desk, ticket, actor)
    elif verb == "assign":
        actions.assign(desk, ticket, event["person"], actor)
    elif verb == "reply":
        actions.reply(desk, ticket, event["text"], actor)
    elif verb == "note":
        actions.note(desk, ticket, event["text"], actor)
    elif verb == "ask":
        actions.ask(desk, ticket, event["text"], actor)
    elif verb == "escalate":
        actions.escalate(desk, ticket, event.get("to"), event["reason"], actor)
    elif verb == "resolve":
        actions.resolve(desk, ticket, event["text"], actor)
    elif verb == "reopen":
        actions.reopen(desk, ticket, event.get("text"), actor)
    elif verb == "reject":
        actions.reject(desk, ticket, event.get("text"), actor)
    elif verb == "set":
        actions.set_field(desk, ticket, event["field"], str(event["value"]), actor)
    elif verb == "label":
        edits = [f"+{name}" for name in event.get("add") or []] + [f"-{n}" for n in event.get("remove") or []]
        actions.label(desk, ticket, edits, actor)
    elif verb == "link":
        if "duplicate_of" in event:
            actions.link(desk, ticket, actor, duplicate_of=ids[event["duplicate_of"]])
        else:
            actions.link(desk, ticket, actor, related=ids[event["related"]])
    elif verb == "time":
        actions.log_time(desk, ticket, str(event["duration"]), event.get("text"), actor)
    else:
        raise SystemExit(f"{step.key}: unknown event {verb!r}")


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-desk").resolve()
    for name in list(os.environ):
        if name.startswith(("GIT_", "GITDESK_")):
            del os.environ[name]
    replay(target)


if __name__ == "__main__":
    main()
