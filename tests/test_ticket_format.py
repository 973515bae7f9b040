"""The file format: byte-stable round trips and surgical, one-line changes."""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitdesk import ticketfile
from gitdesk.errors import TicketFormatError
from gitdesk.model import Entry, Ticket

HAND_WRITTEN = """\
---
id: GD-01JD8X4KQ7M3ZP2C4X
title: "Outlook asks for my password: every hour"
status: open   # moved from new by hand
priority: normal
queue: it-helpdesk
assignee: alice
requester: bob@example.com
category: email
asset: laptop-0042
labels:
  - outlook
  - auth
# the team's own fields below
created: 2026-11-20T09:14:00Z
cost_centre: 4100
approved_by: {name: dana, date: 2026-11-19}
---
Since Monday Outlook prompts me for my password about every hour…

```
## Conversation  <- inside a code block, not a heading
```

## Conversation

Some preamble text people write.

### 2026-11-20T09:40:00Z alice — question
Does this happen on the VPN, in the office, or both?

### 2026-11-20T10:02:00Z bob@example.com — reply
Both.

### Not an entry heading, just text
still part of bob's reply

## Resolution
Stale credentials in Windows Credential Manager; removed them and re-signed in.
"""


def test_a_hand_written_file_round_trips_byte_for_byte() -> None:
    ticket, document = ticketfile.parse(HAND_WRITTEN)
    assert ticketfile.updated_text(document, ticket, ticket) == HAND_WRITTEN
    assert ticket.title == "Outlook asks for my password: every hour"
    assert ticket.labels == ("outlook", "auth")
    assert ticket.extra == {"cost_centre": 4100, "approved_by": {"name": "dana", "date": __import__("datetime").date(2026, 11, 19)}}
    assert [e.kind for e in ticket.entries] == ["question", "reply"]
    assert ticket.entries[1].text == "Both.\n\n### Not an entry heading, just text\nstill part of bob's reply"
    assert ticket.resolution and ticket.resolution.startswith("Stale credentials")


def test_changing_a_field_keeps_its_comment_and_every_other_byte() -> None:
    ticket, document = ticketfile.parse(HAND_WRITTEN)
    text = ticketfile.updated_text(document, ticket, replace(ticket, status="pending", labels=("outlook",)))
    diff = [line for line in difflib.unified_diff(HAND_WRITTEN.splitlines(), text.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert diff == ["-status: open   # moved from new by hand", "+status: pending   # moved from new by hand",
                    "-labels:", "-  - outlook", "-  - auth", "+labels: [outlook]"]


def test_appending_an_entry_goes_at_the_end_of_the_conversation() -> None:
    ticket, document = ticketfile.parse(HAND_WRITTEN)
    entry = Entry(datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc), "alice", "note", "checked")
    text = ticketfile.updated_text(document, ticket, replace(ticket, entries=(*ticket.entries, entry)))
    assert "still part of bob's reply\n\n### 2026-11-21T08:00:00Z alice — note\nchecked\n\n## Resolution\n" in text
    assert len(text.splitlines()) == len(HAND_WRITTEN.splitlines()) + 3


def test_crlf_files_stay_crlf() -> None:
    crlf = HAND_WRITTEN.replace("\n", "\r\n")
    ticket, document = ticketfile.parse(crlf)
    assert ticketfile.updated_text(document, ticket, ticket) == crlf
    changed = ticketfile.updated_text(document, ticket, replace(ticket, priority="high"))
    assert "priority: high\r\n" in changed and "\n" not in changed.replace("\r\n", "")


@pytest.mark.parametrize(("text", "message"), [
    ("no front matter\n", ":1: no front matter"),
    ("---\nid: x\n", ":1: front matter is not closed"),
    ("---\n- a\n- b\n---\n", ":2: front matter must be 'key: value' lines"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\nrequester: a@b.example\n---\n", ":1: missing required field 'created'"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: soon\nrequester: a@b.example\n---\n", ":5: created must be a time"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: 2026-01-01\nrequester: a@b.example\nlabels: x\n---\n",
     ":7: labels must be a list of names"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: 2026-01-01\nrequester: a@b.example\nasset: 42\n---\n",
     ":7: asset must be text, not a number (quote it: asset: '42')"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: 2026-01-01\nrequester: a@b.example\nasset: no\n---\n",
     ":7: asset must be text, not true/false (quote it: asset: '…'; unquoted, YAML reads yes, no, on, off, true and false as true/false)"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: 2026-01-01\nrequester: a@b.example\nasset: [a]\n---\n",
     ":7: asset must be text, not a list (give one value as text: asset: …)"),
    ("---\nid: GD-1\ntitle: t\nstatus: new\ncreated: 2026-01-01\nrequester: \"a@b.example\\r\\nBcc: x@y\"\n---\n",
     ":6: requester must be on one line (write it on one line, without line breaks: requester: VALUE)"),
    ("---\nid: GD-1\ntitle: t\ntitle: u\nstatus: new\n---\n", ":4: field 'title' appears twice"),
    ("---\na: &x [1]\nb: *x\n---\n", "anchors and aliases are not allowed"),
    ("---\nid: GD-1\n---\n\n## Conversation\n\n### 2026-13-45T00:00:00Z a — reply\n", ":7: conversation entry has a bad time"),
])
def test_broken_files_give_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(TicketFormatError) as caught:
        ticketfile.parse(text, "tickets/GD-1.md")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_huge_front_matter_is_refused() -> None:
    text = "---\n" + "".join(f"k{i}: {'x' * 100}\n" for i in range(1000)) + "---\n"
    with pytest.raises(TicketFormatError, match="larger than 64 KiB"):
        ticketfile.parse(text)
    valid = ("---\nid: GD-01M850FXY9SQB1AKQ7\ntitle: x\nstatus: open\ncreated: 2026-11-20T09:14:00Z\n"
             "requester: a@b.example\n" + "".join(f"x-f{i}: {'a' * 100}\n" for i in range(700)) + "---\n")
    for read in (ticketfile.parse, ticketfile.parse_ticket, ticketfile.parse_front):  # a listing, an export too
        with pytest.raises(TicketFormatError, match="larger than 64 KiB"):
            read(valid)


def test_billion_laughs_is_refused() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    with pytest.raises(TicketFormatError, match="aliases are not allowed"):
        ticketfile.parse("---\n" + "\n".join(lines) + "\n---\n")


# --- property tests -------------------------------------------------------------------

safe_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff\x85")
words = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_."),
                min_size=1, max_size=12).filter(lambda w: not w.startswith(("-", "+")))
one_line = st.text(safe_chars, min_size=1, max_size=60).map(lambda s: " ".join(s.split())).filter(bool)
markdown_line = st.one_of(
    st.text(safe_chars, max_size=50),
    st.sampled_from(["## Conversation", "## Resolution", "### 2026-01-01T00:00:00Z x — reply", "```", "~~~",
                     "---", "<<<<<<< HEAD", "=======", "# heading", "- item", "", "    code"]),
)
paragraphs = st.lists(markdown_line, max_size=8).map("\n".join)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=0))
custom_keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in {"id", "title", "status", "created", "requester", "priority", "queue", "assignee",
                        "category", "asset", "labels", "duplicate_of", "related", "true", "false", "null",
                        "yes", "no", "on", "off", "y", "n"})
scalars = st.one_of(one_line, st.integers(-10**6, 10**6), st.booleans())
entries = st.builds(
    lambda at, author, kind, text, detail: Entry(at, author, kind, ticketfile.escape_text(text), detail),
    times, st.sampled_from(["alice", "bob@example.com", "dana"]),
    st.sampled_from(["reply", "note", "question", "escalation", "time"]), paragraphs,
    st.sampled_from(["", "to it-infra", "1h30m"]),
)


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    return Ticket(
        id="GD-" + draw(st.from_regex(r"[0-9A-HJKMNP-TV-Z]{18}", fullmatch=True)),
        title=draw(one_line),
        status=draw(st.sampled_from(["new", "open", "pending", "resolved", "closed"])),
        created=draw(times),
        requester=draw(st.sampled_from(["bob@example.com", "carol"])),
        priority=draw(st.none() | st.sampled_from(["high", "normal"])),
        queue=draw(st.none() | words),
        assignee=draw(st.none() | words),
        category=draw(st.none() | words),
        asset=draw(st.none() | one_line),
        labels=tuple(draw(st.lists(words, max_size=4, unique=True))),
        extra=draw(st.dictionaries(custom_keys, scalars, max_size=3)),
        description=ticketfile.escape_text(draw(paragraphs), section=False),
        entries=tuple(draw(st.lists(entries, max_size=4))),
        resolution=draw(st.none() | paragraphs.map(ticketfile.escape_text).filter(lambda s: bool(s.strip()))),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(tickets())
def test_any_ticket_survives_write_then_read_then_write(ticket: Ticket) -> None:
    text = ticketfile.new_text(ticket)
    parsed, document = ticketfile.parse(text)
    assert parsed.front_matter() == ticket.front_matter()
    assert parsed.entries == tuple(replace(e, text=e.text.strip("\n")) for e in ticket.entries)
    assert (parsed.resolution or None) == ((ticket.resolution or "").strip("\n") or None)
    assert ticketfile.updated_text(document, parsed, parsed) == text
    assert ticketfile.parse_ticket(text) == parsed, "an export's quick read is the same ticket"


def test_the_quick_read_of_a_whole_ticket_names_the_line_of_a_problem() -> None:
    text = "---\nid: GD-01M850FXY9SQB1AKQ7\ntitle: x\nstatus: open\ncreated: soon\nrequester: a@b.example\n---\nx\n"
    with pytest.raises(TicketFormatError) as quick:
        ticketfile.parse_ticket(text, "tickets/x.md")
    with pytest.raises(TicketFormatError) as full:
        ticketfile.parse(text, "tickets/x.md")
    assert str(quick.value) == str(full.value) and quick.value.line == 5


changes = st.one_of(
    st.tuples(st.just("status"), st.sampled_from(["open", "pending", "resolved"])),
    st.tuples(st.just("assignee"), st.none() | words),
    st.tuples(st.just("title"), one_line),
    st.tuples(st.just("labels"), st.lists(words, max_size=3, unique=True).map(tuple)),
    st.tuples(st.just("custom"), scalars),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(tickets(), changes)
def test_one_field_change_touches_only_that_fields_line(ticket: Ticket, change: tuple[str, object]) -> None:
    text = ticketfile.new_text(ticket)
    parsed, document = ticketfile.parse(text)
    field, value = change
    if field == "custom":
        changed = replace(parsed, extra={**parsed.extra, "custom_field": value})
    else:
        changed = replace(parsed, **{field: value})
    out = ticketfile.updated_text(document, parsed, changed)
    reparsed, _ = ticketfile.parse(out)
    assert reparsed.front_matter() == changed.front_matter()
    assert reparsed.entries == parsed.entries and reparsed.description == parsed.description
    before, after = text.splitlines(), out.splitlines()
    removed = [line for line in difflib.ndiff(before, after) if line.startswith("- ")]
    added = [line for line in difflib.ndiff(before, after) if line.startswith("+ ")]
    assert len(removed) <= 1 and len(added) <= 1


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(tickets(), entries, st.none() | paragraphs.map(ticketfile.escape_text).filter(lambda s: bool(s.strip())))
def test_appending_entries_and_writing_a_resolution_only_adds_lines(
        ticket: Ticket, entry: Entry, resolution: str | None) -> None:
    text = ticketfile.new_text(ticket)
    parsed, document = ticketfile.parse(text)
    at = (parsed.entries[-1].at if parsed.entries else parsed.created) + timedelta(minutes=1)
    changed = replace(parsed, entries=(*parsed.entries, replace(entry, at=at)),
                      resolution=resolution if resolution else parsed.resolution)
    out = ticketfile.updated_text(document, parsed, changed)
    reparsed, _ = ticketfile.parse(out)
    assert reparsed.entries == tuple(replace(e, text=e.text.strip("\n")) for e in changed.entries)
    if resolution is None or parsed.resolution is None:
        kept = [line for line in difflib.ndiff(text.splitlines(), out.splitlines()) if line.startswith("- ")]
        assert kept == [] or all(not line[2:].strip() for line in kept)


# --- the fast path agrees with YAML --------------------------------------------------

fast_values = st.one_of(
    st.sampled_from(["", "open", "yes", "No", "null", "~", "0", "007", "12", "-3", "1.5", "2026-11-20",
                     "2026-11-20T09:14:00Z", "2026-13-20T09:14:00Z", "[]", "[a, b]", "[a,b]", "[yes, b]", "[ a ]",
                     "[a b, c]", "a: b", "a #b", "'quoted'", "\"q\"", "x y", "it's", "a ", "é", "@home",
                     "GD-01M84ZF6NWF5EKB3A1", "bob@example.com", "user.name+tag@x.example", "(x)", "a/b", "*ref",
                     "&anchor x", "!tag x", "|", ">", "%x", "[a", "a]", "{a: 1}", ".inf", "Yes please",
                     "[<CAH7x9+Zq3=u8dQ@mail.gmail.com>, <a@b>]", "[<a b@c>]", "[<a,b@c>]", "[<a:b@c>]",
                     "[<x@y>, <>]", "<x@y>", "[<x#y@z>]", "[<x@y> #c]", "[<=>]", "[<%x@y>]",
                     "csv:K0", "github:o/r#12", "a:", "a:b: c", "a:\tb", "1:20", "a#b", "a:#", "x::y", "a:\u2028"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    st.from_regex(r"[a-z1][a-z0-9:# \t]{0,6}", fullmatch=True),  # ':' and '#' inside a value (import keys)
    # titles as people write them: punctuation, accents, other scripts, odd spaces and breaks
    st.sampled_from(["Can't print, paper jam!", "Ärger mit dem Drucker", "Re: VPN", "50% of [x] {y} done?",
                     "C# build", "a\u2028b", "x\x85y", "x\u00a0", "\u00a0x", "e\u0301", "١٢٣", "Ⅻ", "½ done",
                     "\"Re: VPN\"", "\"a \\\" b\"", "\"tab\there\"", "\"\"", "\" x \"", "'it''s'"]),
    st.text(st.characters(min_codepoint=9, max_codepoint=0x2100, blacklist_characters="\n"), max_size=12),
    st.text(st.characters(min_codepoint=9, max_codepoint=0x2100, blacklist_characters="\n"), max_size=12).map(
        lambda text: f'"{text}"'),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=8),
    st.lists(st.from_regex(r"<[A-Za-z0-9._@+=$%~/:#, -]{0,12}>", fullmatch=True), max_size=3).map(
        lambda items: "[" + ", ".join(items) + "]"),
)
fast_keys = st.sampled_from(["id", "title", "status", "labels", "created", "yes", "on", "n", "_x", "x-y", "1a", "a b"])
fast_lines = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}" if v else f"{k}:", fast_keys, fast_values),
    st.sampled_from(["# comment", "", "  indented: x", "key:value", "- item"]),
)


@settings(max_examples=2000, deadline=None)  # a loaded CI machine once paused one example past 200 ms
@given(st.lists(fast_lines, max_size=8).map("\n".join))
def test_the_fast_front_matter_parser_agrees_with_yaml_or_declines(source: str) -> None:
    import yaml

    from gitdesk.frontmatter import parse_simple

    quick = parse_simple(source)
    if quick is None:
        return
    expected = yaml.safe_load(source) or {}
    assert quick == expected
    assert [type(v) for v in quick.values()] == [type(v) for v in expected.values()]


def test_the_fast_parser_takes_what_gitdesk_writes() -> None:
    from gitdesk.frontmatter import parse_simple

    text = ticketfile.new_text(Ticket(id="GD-01M84ZF6NWF5EKB3A1", title="Printer on 2F jams", status="open",
                                        created=datetime(2026, 11, 20, 9, 14, tzinfo=timezone.utc),
                                        requester="bob@example.com", queue="it-helpdesk", labels=("paper", "2f"),
                                        extra={"message_ids": ["<CAH7x9+Zq3=u8dQ@mail.gmail.com>", "<x.1@y>"]}))
    source = text[4:text.index("\n---\n") + 1]
    assert parse_simple(source) is not None


body_lines = st.one_of(
    st.sampled_from(["## Conversation", "## Resolution", "## Resolution \r", "## See also", "##", "##\tx", "#### x",
                     "### 2026-11-20T09:40:00Z alice — reply", "### 2026-11-20T09:41:00Z bob@example.com — time 5m",
                     "### 2026-13-20T09:40:00Z alice — reply", "### 2 odd", "### Not an entry", "", "text\r",
                     "  indented", "## Conversation extra"]),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n`~"), max_size=12),
)


@settings(max_examples=1500)
@given(st.lists(body_lines, max_size=14).map("\n".join), st.booleans())
def test_finding_headings_by_search_agrees_with_the_line_by_line_scan(body: str, final_newline: bool) -> None:
    """Without a code fence, sections and entries are found by one regular-expression search;
    it must cut the body exactly where the fence-aware scan does, errors included."""
    text = "---\nid: x\n---\n" + body + ("\n" if final_newline else "")
    start = len("---\nid: x\n---\n")
    def sections(scan):  # type: ignore[no-untyped-def]
        try:
            return scan(text, start, None)
        except TicketFormatError as error:  # a second Conversation or Resolution heading
            return error.message, error.line

    layout = sections(ticketfile._sections)
    assert layout == sections(ticketfile._sections_by_line)
    if isinstance(layout, tuple):
        return
    if layout.conversation:
        def outcome(scan):  # type: ignore[no-untyped-def]
            try:
                return scan(text, layout.conversation, "t.md")
            except TicketFormatError as error:
                return str(error)
        assert outcome(ticketfile._entries) == outcome(ticketfile._entries_by_line)


def test_repeated_front_matter_lines_are_remembered_but_long_ones_are_not() -> None:
    """parse_simple keeps lines it has parsed (a desk repeats status, queue, priority...), but not
    a long line from a hostile file: 8,192 of those could hold gigabytes in a long-lived process."""
    from gitdesk import frontmatter

    long_line = "labels: [" + ", ".join(f"l{n}" for n in range(3000)) + "]"
    assert frontmatter.parse_simple(f"status: open\n{long_line}\n") is not None
    assert "status: open" in frontmatter._LINES
    assert long_line not in frontmatter._LINES
    assert frontmatter.parse_simple("status: open\nstatus: open\n") is None  # a repeated key still declines


written_values = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=12),
    st.from_regex(r"[0-9][0-9a-zA-Z_.:+ -]{0,6}", fullmatch=True),  # 2f, 0x1f, 1_000, 12:30, 1e3, 2026-01-01
    st.sampled_from(["yes", "No", "on", "null", "~", "true", ".inf", "-", "a: b", "a #b", "Printer on 2F", "Störung",
                     "csv:K0", "github:o/r#12", "a:", "a:\u0085", "1:20", "C#", "a#b", "http://x/y?z#w"]),
    st.from_regex(r"[a-z][a-z0-9:# \t]{0,6}", fullmatch=True),  # import keys, links: ':' and '#' inside a value
)


@settings(max_examples=2000, deadline=None)  # a loaded CI machine once paused one example past 200 ms
@given(written_values, st.lists(written_values, max_size=3))
@example("", ["\xa0"])  # Python's strip() took a no-break space for a blank; YAML keeps it
@example("0b_", ["2026-02-30"])  # YAML that Python cannot hold as typed: asking YAML raised, and `new` exited 3
def test_a_written_value_reads_back_as_itself_by_yaml_and_by_the_fast_parser(value: str, items: list[str]) -> None:
    """What gitdesk writes plain (without asking YAML when its own reader is sure) loads back
    as the very same text, in YAML and in the fast parser alike."""
    import yaml

    from gitdesk.frontmatter import dump_value, parse_simple

    source = f"title: {dump_value(value)}\nlabels: {dump_value(items)}\n"
    assert yaml.safe_load(source) == {"title": value, "labels": items}
    quick = parse_simple(source)
    assert quick is None or quick == {"title": value, "labels": items}


def test_a_mail_that_opens_an_html_comment_cannot_hide_the_rest_of_the_file_on_a_git_host() -> None:
    """Git hosts render a ticket's Markdown with HTML on: a requester's unclosed "<!--" (pasted
    from a web.config) hid the conversation and the resolution after it."""
    from markdown_it import MarkdownIt

    pasted = 'My web.config has:\n\n<!-- <add key="Debug" value="true" />\n\n  <details>\n\nPlease help.'
    ticket = Ticket(id="GD-01M84ZF6NWF5EKB3A1", title="Config broken", status="resolved",
                    created=datetime(2026, 11, 20, 9, 14, tzinfo=timezone.utc), requester="tom@example.org",
                    queue="it-helpdesk", description=ticketfile.escape_text(pasted, section=False),
                    resolution="Removed the stray comment.")
    body = ticketfile.new_text(ticket).split("\n---\n", 1)[1]  # a host shows the front matter as a table
    shown = MarkdownIt("commonmark", {"html": True}).render(body)
    assert "Please help." in shown and "Removed the stray comment." in shown
    assert "&lt;!--" in shown and "&lt;details&gt;" in shown, "shown as text, not opening HTML blocks"
    assert ticketfile.as_written(ticket.description) == pasted  # in mail and the terminal, as written
