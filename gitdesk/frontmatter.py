"""YAML front matter: split it off, load it safely, and edit it surgically.

With ``rules.spec`` (rule files), the only importer of ``yaml``, and only when
first needed: front matter that gitdesk wrote is read and written by small
exact code, and a config already read is remembered (``desk.load_config``),
so most commands never pay YAML's 20 ms of imports. Loading uses the C safe
loader when present and records where each top-level key sits, so a change splices one value into
the original text instead of re-dumping the mapping: field order, comments
and formatting of everything else survive, and diffs stay one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from gitdesk.clock import format_utc
from gitdesk.errors import TicketFormatError

if TYPE_CHECKING:
    import yaml


def not_text(key: str, value: Any) -> tuple[str, str]:
    """What a YAML value that should be text is instead, and how to write it as text:
    ``("a number", "quote it: asset: '42'")``."""
    kind = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping",
            date: "a date", datetime: "a date"}.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return kind, f"give one value as text: {key}: …"
    if isinstance(value, bool):  # written as yes, no, on, off, true or false: which one is lost
        return kind, f"quote it: {key}: '…'; unquoted, YAML reads yes, no, on, off, true and false as true/false"
    return kind, f"quote it: {key}: '{value}'"


@cache
def safe_loader() -> Any:
    """The C safe loader (~10x faster), or the Python one where libyaml is missing."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FRONT_MATTER = 64 * 1024
DELIMITER = "---"
REMOVE = object()  # a change that deletes the key


@dataclass(frozen=True, slots=True)
class Span:
    """Where one top-level key and its value sit, as indexes into the whole text."""

    start: int  # first character of the key
    end: int  # just after the last character of the value
    line: int  # 1-based line of the key in the file


@dataclass(frozen=True, slots=True)
class FrontMatter:
    data: dict[str, Any]
    spans: dict[str, Span]
    body_start: int  # index of the first character after the closing delimiter line
    close_start: int  # index of the closing delimiter line
    flow: bool = False  # written as one {…} mapping: values can change, keys cannot be added


def _error(message: str, path: str | None, line: int | None, hint: str | None = None) -> TicketFormatError:
    return TicketFormatError(message, path=path, line=line, hint=hint)


_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


def split(text: str, path: str | None = None) -> tuple[int, int, int]:
    """Find the front matter: (content start, closing line start, body start)."""
    if not (text.startswith(DELIMITER + "\n") or text == DELIMITER):
        raise _error("no front matter", path, 1, "a ticket starts with a line '---', then YAML, then '---'")
    content_start = len(DELIMITER) + 1
    match = _CLOSING.search(text, content_start)
    if match is None:
        raise _error("front matter is not closed", path, 1, "add a line '---' after the YAML fields")
    newline = text.find("\n", match.end())
    return content_start, match.start(), len(text) if newline < 0 else newline + 1


def load_data(text: str, path: str | None = None) -> dict[str, Any]:
    """Only the values, for listings: the C loader in one call, no positions.

    Front matter that the exact fast parser declines goes through ``load``, so
    errors and refusals (aliases, duplicate keys) are exactly those of ``load``.
    """
    content_start, close_start, _ = split(text, path)
    source = text[content_start:close_start]
    quick = parse_simple(source) if len(source) * 4 <= MAX_FRONT_MATTER else None  # else load refuses its size
    if quick is not None:
        return quick
    return load(text, path).data


def load(text: str, path: str | None = None) -> FrontMatter:
    """Parse the front matter of ``text`` (newlines already normalised to ``\\n``)."""
    import yaml

    content_start, close_start, body_start = split(text, path)
    source = text[content_start:close_start]
    if len(source.encode("utf-8")) > MAX_FRONT_MATTER:
        raise _error(
            f"front matter is larger than {MAX_FRONT_MATTER // 1024} KiB", path, 2,
            "keep long text in the body, below the second '---'",
        )
    first_line = 2  # the YAML starts on the file's second line
    loader = safe_loader()(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return FrontMatter({}, {}, body_start, close_start)
        _refuse_aliases(node, path, first_line)
        if not isinstance(node, yaml.MappingNode):
            raise _error("front matter must be 'key: value' lines", path, first_line + node.start_mark.line)
        spans: dict[str, Span] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise _error("front matter keys must be plain names", path, first_line + key_node.start_mark.line)
            key = key_node.value
            if key in spans:
                raise _error(
                    f"field {key!r} appears twice", path, first_line + key_node.start_mark.line,
                    "keep one of them",
                )
            spans[key] = Span(
                content_start + key_node.start_mark.index,
                content_start + _node_end(value_node, source),
                first_line + key_node.start_mark.line,
            )
        data = loader.construct_document(node)
        flow = bool(node.flow_style)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "invalid YAML"
        hint = "quote values that contain ': ' or start with a special character"
        context = error.context or ""
        if error.context_mark is not None and context.startswith("while parsing a flow"):
            # YAML notices an unclosed [ or { where the next line starts: name where it opened
            mark = error.context_mark
            opening, closing = ("[", "]") if "sequence" in context else ("{", "}")
            hint = f"close the {opening} that opens on this line with {closing}"
        line = first_line + mark.line if mark is not None else None
        raise _error(f"front matter is not valid YAML: {problem}", path, line, hint) from None
    except yaml.YAMLError as error:
        raise _error(f"front matter is not valid YAML: {error}", path, first_line) from None
    except UNREADABLE as error:
        raise _error(f"front matter has a value that cannot be read: {short(error)}", path, first_line,
                     "correct the value, or quote it to keep it as text") from None
    finally:
        loader.dispose()
    return FrontMatter(data, spans, body_start, close_start, flow)


# Valid YAML that Python cannot hold: 2026-02-30, 0b_, a +99:00 offset, absurd nesting.
UNREADABLE = (ValueError, OverflowError, TypeError, RecursionError)


def short(error: BaseException) -> str:
    """An error's message cut to a line (5,000 digits say so at length)."""
    text = str(error) or type(error).__name__
    return text if len(text) < 80 else text[:77] + "…"


MAX_DEPTH = 20


def _refuse_aliases(root: yaml.Node, path: str | None, first_line: int) -> None:
    # An alias shows up as the same node object twice. Refusing them rules out
    # "billion laughs" expansions when a hostile file is later serialised; the
    # depth limit rules out values nested too deeply to print or serialise.
    import yaml

    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise _error("YAML anchors and aliases are not allowed in tickets", path,
                         first_line + node.start_mark.line, "write the value out in full")
        if depth > MAX_DEPTH:
            raise _error(f"front matter is nested more than {MAX_DEPTH} levels deep", path,
                         first_line + node.start_mark.line, "flatten the value")
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))


def _node_end(node: yaml.Node, source: str) -> int:
    """Index just after a node's last character. Block collections end at their
    last child and block scalars at their last indented line, not where the
    parser's mark lands (at the next token), so a comment or key after them
    stays outside the span."""
    import yaml

    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return _node_end(last[1] if isinstance(last, tuple) else last, source)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return _block_scalar_end(source, int(node.start_mark.index))
    return int(node.end_mark.index)


def _block_scalar_end(source: str, start: int) -> int:
    """End of a ``|`` / ``>`` scalar of a top-level key: its indicator line and the
    indented (or blank) lines after it."""
    newline = source.find("\n", start)
    if newline < 0:
        return len(source)
    end = newline
    position = newline + 1
    while position < len(source):
        line_end = source.find("\n", position)
        line_end = len(source) if line_end < 0 else line_end
        line = source[position:line_end]
        if line.strip() and not line.startswith((" ", "\t")):
            break
        if line.strip():
            end = line_end
        position = line_end + 1
    return end


# --- a fast path for the front matter gitdesk itself writes ----------------

_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*?))? *$")
_SIMPLE_STR = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@/+()'-]*")
_SIMPLE_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_SIMPLE_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z")
# Message-IDs in a flow list (message_ids): '<' starts no YAML token, and none of these characters ends one.
_SIMPLE_ANGLE = re.compile(r"<[A-Za-z0-9._@+=$%~/-]{1,500}>")
# Plain words YAML 1.1 (as PyYAML resolves it) reads as something other than text.
NOT_TEXT = frozenset({
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL",
})


@cache
def _resolver() -> Any:
    import yaml

    return yaml.resolver.Resolver()


# A value alone on its line (block context), as gitdesk writes titles with punctuation
# or accents: plain text that starts with a letter or digit, with a ':' only before a
# character that is no blank and a '#' only after one (": " and " #" would end it;
# an import's key "csv:K12" is text, and reading it needs no YAML); or quoted text
# with nothing to unescape (gitdesk writes JSON quotes around text plain YAML cannot
# hold). Beyond ASCII, only what YAML reads as text on one line: its printable set less
# the line breaks U+0085, U+2028, U+2029 and the byte-order mark.
_BEYOND_ASCII = "\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
_PLAIN_CHAR = "[ -\"$-9;-~" + _BEYOND_ASCII + "]"
_PLAIN_TEXT = re.compile(f"[^\\W_](?:{_PLAIN_CHAR}|:(?=[!-~{_BEYOND_ASCII}])|(?<! )#)*")
_QUOTED_TEXT = re.compile('"([ !#-\\[\\]-~' + _BEYOND_ASCII + ']*)"')


def _simple_str(value: str) -> bool:
    if not _SIMPLE_STR.fullmatch(value) or value.endswith(" "):
        return False
    return _resolves_to_text(value)


def _plain_text(value: str) -> bool:
    """Whether ``key: value`` (trailing spaces aside) reads as this text in parse_simple."""
    return _simple_str(value) or bool(_PLAIN_TEXT.fullmatch(value) and _resolves_to_text(value))


def _resolves_to_text(value: str) -> bool:
    if value[0].isdigit():  # 2f is text, 0x1f and 1_000 are numbers: ask YAML's own resolver
        import yaml

        tag = _resolver().resolve(yaml.ScalarNode, value, (True, False))
        return bool(tag == "tag:yaml.org,2002:str")
    return value not in NOT_TEXT


def parse_simple(source: str) -> dict[str, Any] | None:
    """Parse front matter made only of ``key: value`` lines with plain or simply
    quoted text, whole numbers, UTC times and flat lists of words, exactly as YAML
    would; None for anything else (the caller then uses the YAML loader).

    About ten times faster than constructing through PyYAML, which matters
    when a listing reads every ticket. A property test checks it agrees with
    YAML on every input it accepts.
    """
    data: dict[str, Any] = {}
    memo = _LINES
    for line in source.split("\n"):
        known = memo.get(line)
        if known is not None:
            key, value = known
            if key in data:
                return None
            data[key] = list(value) if type(value) is tuple else value
            continue
        if not line or line.startswith("#"):
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        key, text = match.group(1), match.group(2)
        if key in data or key in NOT_TEXT:
            return None
        value = _simple_value(text)
        if value is _DECLINED:
            return None
        data[key] = value
        if key not in _UNIQUE and len(line) <= _LINE_KEPT_CHARS:
            if len(memo) >= _LINES_KEPT:
                memo.clear()
            memo[line] = (key, tuple(value) if type(value) is list else value)
    return data


# A desk's front matter repeats most of its lines (status, queue, priority, requester...):
# each distinct line is parsed once per process. Not the lines that differ in every ticket.
_LINES: dict[str, tuple[str, Any]] = {}
_LINES_KEPT = 8192
_LINE_KEPT_CHARS = 256  # the lines that repeat are short; a hostile desk's long ones must not fill memory
_UNIQUE = frozenset({"id", "title", "created"})
_DECLINED = object()


def _simple_value(value: str | None) -> Any:
    """One value of ``parse_simple``, or ``_DECLINED``."""
    if not value:
        return None
    if value[0] == "[":
        if not value.endswith("]"):
            return _DECLINED
        inner = value[1:-1].strip(" \t")  # YAML's blanks only: a no-break space is part of an item
        items = [item.strip(" \t") for item in inner.split(",")] if inner else []
        if not all(_simple_str(item) or _SIMPLE_ANGLE.fullmatch(item) for item in items):
            return _DECLINED
        return items
    if _SIMPLE_INT.fullmatch(value):
        return int(value)
    if _plain_text(value):
        return value
    if quoted := _QUOTED_TEXT.fullmatch(value):
        return quoted.group(1)
    stamp = _SIMPLE_TIME.fullmatch(value)
    if stamp is None:
        return _DECLINED
    try:
        year, month, day, hour, minute, second = (int(part) for part in stamp.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return _DECLINED


# --- writing ---------------------------------------------------------------


def dump_value(value: Any) -> str:
    """One value as flow YAML, for ``key: <here>`` on a single line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _dump_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_dump_flow_item(item) for item in value) + "]"
    import yaml

    text: str = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31)
    return text.strip().removesuffix("...").strip()


def _dump_str(value: str) -> str:
    if value and value == value.strip() and "\n" not in value and _plain_ok(value):
        return value
    return _quoted(value)


def _dump_flow_item(value: Any) -> str:
    if isinstance(value, str):
        if value and _plain_ok(value, flow=True):
            return value
        return _quoted(value)
    return dump_value(value)


_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def _quoted(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars; escape the line and
    # paragraph separators YAML would otherwise fold, and what YAML refuses to
    # read even quoted (DEL, the C1 controls, U+FFFE and U+FFFF).
    text = json.dumps(value, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


# Asked again for the same values as a history is written (an import renders each ticket once a
# step); the YAML loaders it may ask cost ~0.1 ms a value.
@lru_cache(maxsize=4096)
def _plain_ok(value: str, *, flow: bool = False) -> bool:
    """Would ``key: value`` (``flow``: ``key: [value]``) load back as exactly this string?"""
    if any(ord(c) < 32 or c in "\u0085\u2028\u2029\ufeff" for c in value):
        return False
    if flow and any(c in value for c in ",[]{}"):
        return False
    # What parse_simple reads back as this very string (property tests hold it to YAML); in a
    # flow list only its list items' narrower rule (PyYAML reads "[0?]" as no list at all).
    if _simple_str(value) if flow else (not value.endswith(" ") and _plain_text(value)):
        return True
    import yaml

    # Both of PyYAML's loaders must read it back: they differ at the edges (libyaml takes
    # "[0?]" as a list, the pure-Python loader refuses it), and other tools use either.
    for loader in dict.fromkeys((safe_loader(), yaml.SafeLoader)):
        try:
            loaded = yaml.load(f"k: [{value}]\n" if flow else f"k: {value}\n", Loader=loader)
        except (yaml.YAMLError, *UNREADABLE):
            return False  # not YAML, or YAML that Python cannot hold as typed ("2026-02-30", "0b_"): quoted
        found = loaded.get("k") if isinstance(loaded, dict) else None
        if flow:
            found = found[0] if isinstance(found, list) and len(found) == 1 else None
        if found != value or type(found) is not str:
            return False
    return True


def splice(text: str, front: FrontMatter, changes: Mapping[str, Any], path: str | None = None) -> str:
    """Apply field changes to the original text, touching only their lines.

    Existing keys get their value replaced in place (comments after it stay);
    ``REMOVE`` deletes the key's lines; new keys go at the end of the front
    matter, in the order given.
    """
    edits: list[tuple[int, int, str]] = []
    additions: list[str] = []
    for key, value in changes.items():
        span = front.spans.get(key)
        if span is None:
            if value is not REMOVE:
                additions.append(_line(key, value))
            continue
        if value is REMOVE:
            line_end = text.find("\n", span.end)
            edits.append((span.start, len(text) if line_end < 0 else line_end + 1, ""))
        else:
            edits.append((span.start, span.end, _line(key, value).rstrip("\n")))
    if additions:
        if front.flow:
            raise TicketFormatError(
                "front matter is written as one {…} mapping, so gitdesk cannot add a field to it",
                path=path, hint="write one 'key: value' per line")
        edits.append((front.close_start, front.close_start, "".join(additions)))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _line(key: str, value: Any) -> str:
    dumped = dump_value(value)
    return f"{key}: {dumped}\n" if dumped else f"{key}:\n"


def new_text(fields: Mapping[str, Any]) -> str:
    """Front matter for a new ticket, delimiters included."""
    return DELIMITER + "\n" + "".join(_line(key, value) for key, value in fields.items()) + DELIMITER + "\n"


def load_mapping(text: str, path: str | None = None) -> Any:
    """Load a whole YAML document (config files); errors name the file and line."""
    import yaml

    if len(text.encode("utf-8")) > 1024 * 1024:
        raise TicketFormatError("file is larger than 1 MiB", path=path)
    try:
        return yaml.load(text, Loader=safe_loader())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise TicketFormatError(
            f"not valid YAML: {error.problem or 'syntax error'}", path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except yaml.YAMLError as error:
        raise TicketFormatError(f"not valid YAML: {error}", path=path) from None
    except UNREADABLE as error:  # 2026-02-30, 9999-12-31T23:59-05:00
        raise TicketFormatError(f"a value Python cannot hold: {error}", path=path) from None


_TYPED_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_TYPED_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")
_TYPED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_scalar(text: str) -> Any:
    """A value typed on the command line: a whole number, a decimal, true/false,
    an ISO date or time (stored in UTC), else text. Stricter than YAML 1.1 on
    purpose: ``017`` stays the text it looks like, not octal 15."""
    value = text.strip()
    if _TYPED_INT.fullmatch(value):
        return int(value)
    if _TYPED_FLOAT.fullmatch(value):
        number = float(value)
        return number if number not in (float("inf"), float("-inf")) else value  # too long: kept as typed
    if value in ("true", "false"):
        return value == "true"
    if _TYPED_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if _TYPED_DATE.match(value) and ("T" in value or " " in value):
        from gitdesk.clock import parse_time
        from gitdesk.errors import GitdeskError

        try:
            return parse_time(value)
        except GitdeskError:
            return value
    return value


def line_of_key(text: str, dotted: str) -> int | None:
    """The 1-based line of a nested key like ``queues.it-helpdesk.members`` in a
    YAML document, for error messages; None when it cannot be found. Names may
    contain dots, so each level takes the longest key that matches."""
    import yaml

    loader = safe_loader()(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    remaining = dotted
    line: int | None = None
    while remaining and isinstance(node, yaml.MappingNode):
        best = None
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if (remaining == key or remaining.startswith(key + ".")) and (best is None or len(key) > len(best[0])):
                best = (key, key_node, value_node)
        if best is None:
            break
        key, key_node, node = best
        line = int(key_node.start_mark.line) + 1
        remaining = remaining[len(key) + 1:]
    return line
