"""The desk config: the default works as is; errors name file, key and fix."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from conftest import TEST_CONFIG, Desk

from gitdesk.config import default_text, parse_config, recalled, remembered
from gitdesk.errors import ConfigError


def test_the_default_config_loads_and_has_the_spec_workflow() -> None:
    config = parse_config(default_text("alice", "Alice", "alice@example.com"))
    assert list(config.statuses) == ["new", "open", "pending", "resolved", "closed", "rejected"]
    assert config.statuses["new"].next == ("open", "pending", "resolved", "rejected")
    assert "closed" not in config.statuses["new"].next
    assert config.statuses["resolved"].requires == ("queue", "resolution")
    assert config.default_priority == "normal"
    assert config.priorities["urgent"].first_response is not None
    assert config.queues["helpdesk"].members == ("alice",)
    assert config.person("ALICE@example.com") is config.people["alice"]


def test_missing_sections_get_defaults() -> None:
    config = parse_config("people:\n  al: {email: al@example.com}\n")
    assert "resolved" in config.statuses and "normal" in config.priorities and "email" in config.categories


@pytest.mark.parametrize(("text", "message"), [
    ("desk: {id_prefix: gd}\n", "1: desk.id_prefix: 'gd' is not a valid ID prefix"),
    ("people:\n  Al: {}\n", "2: people.Al: 'Al' is not a valid name"),
    ("people:\n  a: {email: x@y.example}\n  b: {email: X@y.example}\n", "3: people.b.email: X@y.example is also the email of a"),
    ("queues:\n  q: {members: [ghost]}\n", "2: queues.q.members: unknown person 'ghost'"),
    ("queues:\n  q: {escalate_to: nowhere}\n", "2: queues.q.escalate_to: 'nowhere' is neither a queue nor a person"),
    ("queues:\n  intake: {}\n", "2: queues.intake: 'intake' is the board of tickets in no queue yet"),
    ("queues:\n  q: {assign: lottery}\n", "2: queues.q.assign: unknown strategy 'lottery' (use one of: manual, round-robin, fewest-open)"),
    ("workflow:\n  statuses:\n    new: {next: [done]}\n", "3: workflow.statuses.new.next: unknown status 'done'"),
    ("priorities:\n  p: {first_response: soon}\n", "2: priorities.p.first_response: not a duration: 'soon'"),
    ("priorities:\n  p: {first_response: 4}\n", "2: priorities.p.first_response: '4' has no unit"),
    ("priorities:\n  a: {default: true}\n  b: {default: true}\n", "3: priorities.b.default: a is already the default"),
    ("people: [a, b]\n", "1: people: must be a mapping"),
    ("colours: {}\n", "1: colours: unknown section"),
    ("mail:\n  address: not-an-address\n", "2: mail.address: not an email address: 'not-an-address'"),
    ("mail:\n  address: help@b\u00fccher.example\n",
     "2: mail.address: the desk's address must be written in ASCII: 'help@b\u00fccher.example' (write it as "
     "help@xn--bcher-kva.example)"),
    ("mail:\n  max_attachment_bytes: huge\n", "2: mail.max_attachment_bytes: not a size: 'huge'"),
    ("mail:\n  smtp: {security: tls13}\n", "2: mail.smtp.security: unknown security 'tls13'"),
    ("mail:\n  smtp:\n    password: hunter2\n", "3: mail.smtp.password: passwords never go in the desk's repository"),
    ("mail:\n  routes:\n    - {to: [a@b.example], queue: nowhere}\n", "2: mail.routes: route 1: unknown queue 'nowhere'"),
    ("mail:\n  routes:\n    - {subject: printer}\n", "2: mail.routes: route 1: unknown condition or setting 'subject'"),
    ("search:\n  model: true\n", "2: search.model: must be text, not true/false (quote it: model: '…'; unquoted, YAML reads yes, no, on, off, true and false as true/false)"),
    ("search:\n  model: [a, b]\n", "2: search.model: must be text, not a list (give one value as text: model: …)"),
])
def test_config_errors_name_the_key_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(".gitdesk/config.yml:" + message)


def test_mail_settings_read_sizes_and_routes() -> None:
    config = parse_config("queues:\n  it: {}\nmail:\n  address: help@example.com\n  max_attachment_bytes: 2.5MB\n"
                          "  routes:\n    - {to: [IT@Example.com], keywords: [Printer], queue: it}\n")
    assert config.mail.max_attachment_bytes == int(2.5 * 1024 * 1024)
    route = config.mail.routes[0]
    assert (route.to, route.keywords, route.queue) == (("it@example.com",), ("printer",), "it")


def test_a_name_with_a_line_break_at_its_end_is_not_a_name(desk) -> None:  # type: ignore[no-untyped-def]
    # A queue's name becomes a file name on the site and a value in commit trailers: a
    # trailing line break (easy to write in YAML) must not slip past the name rule.
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("  facilities:\n    name: Facilities",
                                                 '  "facilities\\n":\n    name: Facilities'))
    assert "'facilities\\n' is not a valid name" in desk.fails("list")


# --- a config read once is remembered ------------------------------------------------------


def test_a_config_read_once_is_read_back_without_yaml_and_means_the_same(desk: Any) -> None:
    """After the first command, the config's data is kept in the cache as JSON: the next
    command reads it back without importing YAML, and gets the very same config (dates,
    numbers and order included)."""
    from gitdesk.desk import Desk

    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text() + "sla:\n  clock: business\n  holidays: [2026-12-24, 2026-12-31]\n"
                      "reports:\n  training: {min_tickets: 3, factor: 1.5}\n")
    first = Desk.open(desk.path, explicit=True)
    kept = first.repo.state_dir / "config.json"
    assert kept.is_file()
    assert Desk.open(desk.path, explicit=True).config == first.config == parse_config(config.read_text())
    probe = ("import sys; from pathlib import Path; from gitdesk.desk import Desk; "
             f"d = Desk.open(Path({str(desk.path)!r}), explicit=True); "
             "print(sorted(d.config.sla.hours.holidays), 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['2026-12-24',", "'2026-12-31']", "False"]


def test_a_changed_or_damaged_kept_config_is_never_used(desk: Any) -> None:
    """The kept data names the file's bytes it came from: an edited config is read again,
    and a damaged kept file is read past; an invalid config is refused as before."""
    from gitdesk.desk import Desk

    config = desk.path / ".gitdesk" / "config.yml"
    kept = Desk.open(desk.path, explicit=True).repo.state_dir / "config.json"
    config.write_text(config.read_text().replace("name: Test desk", "name: Renamed desk"))
    assert Desk.open(desk.path, explicit=True).config.desk_name == "Renamed desk"
    kept.write_text("{not json")
    assert Desk.open(desk.path, explicit=True).config.desk_name == "Renamed desk"
    assert json.loads(kept.read_text())["data"]["desk"]["name"] == "Renamed desk"
    config.write_text(config.read_text() + "colours: {}\n")
    with pytest.raises(ConfigError, match="colours: unknown section"):
        Desk.open(desk.path, explicit=True)


@pytest.mark.parametrize("data", [
    {"a": {1, 2}}, {"a": b"bytes"}, {1: "a key that is a number"}, {"$d": "a key like ours"}, {"a": float("nan")},
])
def test_what_json_cannot_hold_exactly_is_not_kept(data: Any) -> None:
    assert remembered(data, "x") == ""


def test_kept_data_comes_back_as_it_was() -> None:
    from datetime import date, datetime, timedelta, timezone

    data = {"z": [1, 2.5, True, None, "text"], "a": {"when": date(2026, 12, 24),
            "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5)))}}
    back = recalled(remembered(data, "digest"), "digest")
    assert back == data and list(back) == ["z", "a"]
    assert recalled(remembered(data, "digest"), "another") is None


def test_who_speaks_for_the_desk_is_defined_once() -> None:
    """Timings (first response), intake (an answer to a notification) and the rules (what a
    reminder quotes) all ask config.is_agent."""
    config = parse_config("""\
desk: {name: D, leads: [lena]}
people:
  alice: {name: Alice, email: alice@example.com}
  lena: {name: Lena, email: lena@example.com}
  quinn: {name: Quinn, email: quinn@example.com}
  carol: {name: Carol, email: carol@example.com}
queues:
  helpdesk: {name: Help, members: [alice], lead: quinn}
""")
    assert [h for h in config.people if config.is_agent(h)] == ["alice", "lena", "quinn"], \
        "a member, a desk lead in no queue and a queue's lead; not a colleague who asks for help"
    bare = parse_config("desk: {name: D}\npeople:\n  dan: {name: Dan, email: dan@example.com}\nqueues: {}\n")
    assert bare.is_agent("dan"), "a desk with no queues and nobody named to work it: everyone in people"
    led = parse_config("desk: {name: D, leads: [dan]}\npeople:\n  dan: {name: Dan, email: dan@example.com}\n"
                       "  bob: {name: Bob, email: bob@example.com}\nqueues: {}\n")
    assert led.is_agent("dan") and not led.is_agent("bob"), "a colleague who asks for help, on a desk with a lead"


def test_a_section_given_twice_is_refused_not_silently_replaced() -> None:
    text = default_text("alice", "Alice", "alice@example.com") + "\nsla:\n  clock: business\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert "sla is given twice (lines" in str(raised.value) and "merge the two into one" in str(raised.value)
    with pytest.raises(ConfigError, match=r"people\.alice\.email is given twice"):
        parse_config("desk: {name: D}\npeople:\n  alice:\n    name: A\n    email: a@x.example\n"
                     "    email: b@x.example\n")


def test_an_alias_inside_its_own_anchor_is_refused_not_loaded_forever() -> None:
    text = "desk: {name: D}\nprivate_fields: &fields [phone, *fields]\n"
    with pytest.raises(ConfigError, match="refers to itself"):
        parse_config(text)
    merged = parse_config("desk: {name: D}\npeople:\n  a: &base {name: A, email: a@x.example}\n"
                          "  b: {<<: *base, name: B, email: b@x.example}\n")
    assert merged.people["b"].name == "B", "a merge key is no repeated key"


def _laughs(levels: int) -> str:
    """Aliases of aliases: ten to the ``levels`` values once expanded, from a few lines."""
    names = "abcdefghij"
    lines = ["  a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  {names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_bomb_of_aliases_is_refused_before_anything_walks_it(desk: Desk) -> None:
    (desk.path / ".gitdesk" / "config.yml").write_text(TEST_CONFIG + "x_notes:\n" + _laughs(9))
    desk.git("commit", "-qam", "A billion laughs", "--no-verify")
    refused = desk.fails("list")
    assert "its aliases expand it to more than 100000 values" in refused and "by alias" in refused
    (desk.path / ".gitdesk" / "config.yml").write_text(TEST_CONFIG)
    desk.git("commit", "-qam", "Back", "--no-verify")
    (desk.path / ".gitdesk" / "rules.yml").write_text(
        "rules:\n  - name: nudge\n    when: {status: pending, idle: 3d}\n    do: [{note: x}]\n    x_meta:\n"
        + "\n".join("    " + line for line in _laughs(9).splitlines()) + "\n")
    desk.git("add", "-A")
    desk.git("commit", "-qm", "Laughs in the rules", "--no-verify")
    assert "its aliases expand it to more than 100000 values" in desk.run("rules", ok=False).output


def test_an_emptied_config_is_refused_by_every_command_not_read_as_no_rules(desk: Desk) -> None:
    ticket = desk.new("Printer jams", "-q", "it-helpdesk")
    (desk.path / ".gitdesk" / "config.yml").write_text("# emptied by mistake\n")
    desk.git("commit", "-qam", "Oops", "--no-verify")
    head = desk.head()
    for args in (["list"], ["show", ticket], ["kb", "build"], ["report", "workload"]):
        assert "the config is empty (restore it from Git" in desk.fails(*args), args
    assert desk.head() == head, "kb build committed nothing"


def test_a_change_only_an_uncommitted_config_allows_is_refused_before_the_push_is(desk: Desk) -> None:
    """Dana adds a queue in the config and, before committing it, moves a ticket there: every
    clone's hooks and the server judge by the committed config, so the push would be refused
    until someone noticed why."""
    made = desk.new("VPN down", "-q", "it-helpdesk")
    config = desk.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text().replace("queues:\n", "queues:\n  support:\n    name: Support\n", 1))
    refused = desk.fails("set", made, "queue", "support")
    assert refused == (f"gitdesk: error: tickets/{made}.md: unknown queue 'support', by the committed config: only "
                       "your uncommitted .gitdesk/config.yml allows it, and the push would be refused (commit the "
                       f"config first, then do it again: git -C {desk.path} commit .gitdesk/config.yml)")
    assert "refused" in desk.fails("new", "Another", "-q", "support")
    desk.run("set", made, "priority", "high")  # what the committed config allows goes on
    desk.git("commit", "-qm", "A support queue", "--", ".gitdesk/config.yml")
    desk.run("set", made, "queue", "support")
