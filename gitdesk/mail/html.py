"""HTML mail as readable plain text: paragraphs, line breaks, lists (numbered ones with
their numbers), table cells apart ("PC | LT-0042"), links kept
as "text (url)"; scripts, styles and head dropped. Standard library only:
mail HTML is small and we need text, not a layout engine."""

from __future__ import annotations

import html.parser
import re

_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
                     "table", "ul", "ol", "hr", "section", "article", "header", "footer"})
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []
        self.lists: list[int | None] = []  # open lists, innermost last: an <ol>'s item count, None for <ul>
        self.cells = 0  # cells so far in the table row: "PC | LT-0042", not "PCLT-0042"
        self.pre = 0  # inside <pre>: a pasted log or stack trace keeps its lines and indentation
        self.open_cells: list[int] = []  # where each open cell's text starts in parts, innermost last

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "li":
            if self.lists and self.lists[-1] is not None:
                self.lists[-1] += 1
                self.parts.append(f"\n{self.lists[-1]}. ")
            else:
                self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" | " if self.cells else "")
            self.cells += 1
            self.open_cells.append(len(self.parts))
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre += 1
            if tag in ("ol", "ul"):
                self.lists.append(0 if tag == "ol" else None)
            elif tag == "tr":
                self.cells = 0
            self.parts.append("\n\n" if tag in ("p", "div", "table", "ul", "ol", "h1", "h2", "h3") else "\n")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip()
            if self.href.startswith(("http://", "https://", "mailto:")) and self.href.removeprefix("mailto:") != text:
                self.parts.append(f" ({self.href})")
            self.href = None
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\n")
        elif tag in ("td", "th") and self.open_cells:
            self._close_cell(self.open_cells.pop())
        elif tag in ("p", "div", "h1", "h2", "h3", "table", "blockquote", "ul", "ol"):
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self.parts.append("\n")  # what follows a list is not its last item

    def _close_cell(self, start: int) -> None:
        """A cell of one short line, on its row's line: Outlook writes each cell's text in a
        <p class=MsoNormal>, Gmail in a <div>, which read as "Asset / | / LT-0042" on lines of
        their own. A cell of several lines (an address, a list, rows of a table in it, a log, a
        layout's column) keeps them."""
        text = "".join(self.parts[start:])
        words = " ".join(text.split())
        if len(words) <= CELL_ON_A_LINE and sum(1 for line in text.split("\n") if line.strip()) <= 1:
            self.parts[start:] = [words]

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        # In <pre>, spaces are kept as a mark that to_text's trimming of each line leaves alone.
        text = data.replace("\t", "    ").replace(" ", _KEPT) if self.pre else re.sub(r"\s+", " ", data)
        if self.href is not None:
            self.link_text.append(text)
        self.parts.append(text)


CELL_ON_A_LINE = 100  # characters of a table cell's text that are one value, put on one line
_KEPT = "\ue000"  # a space of a <pre> block, until each line has been trimmed
MAX_HTML = 2 * 1024 * 1024  # html.parser is slow on some malformed input; no real mail's text is this long


def _defused(markup: str) -> str:
    """``markup`` without comments, and with every ``<`` that no ``>`` follows before the
    next ``<`` written as text.

    html.parser rescans to the end of the input for each such unclosed tag, which makes
    a hostile 100 KB mail ('<a <a <a …') take a minute (CVE-2025-6069 and kin). An
    unclosed tag is text anyway; after this pass every tag the parser sees is closed."""
    kept, position = [], 0
    while (start := markup.find("<!--", position)) != -1:  # comments out first, in one pass
        kept.append(markup[position:start])
        end = markup.find("-->", start + 4)
        position = len(markup) if end == -1 else end + 3  # an unclosed comment runs to the end
    kept.append(markup[position:])
    pieces = "".join(kept).split("<")
    return pieces[0] + "".join(("<" if ">" in piece else "&lt;") + piece for piece in pieces[1:])


def to_text(markup: str) -> str:
    """Readable text from an HTML mail body (the first 2 MiB of it)."""
    parser = _Text()
    try:
        parser.feed(_defused(markup[:MAX_HTML]))
        parser.close()
    except (AssertionError, ValueError):  # pragma: no cover - html.parser is lenient; be safe anyway
        pass
    lines = [line.strip() for line in "".join(parser.parts).replace("\xa0", " ").splitlines()]
    text = "\n".join(lines).replace(_KEPT, " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip()
