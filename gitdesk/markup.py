"""Markdown to HTML that nothing in a ticket can turn into script.

Raw HTML in the source is shown as text, never passed through; a link
survives only when it is http, https, mailto or relative. Used wherever
gitdesk makes HTML: the static site and the HTML part of outgoing mail.
"""

from __future__ import annotations

import html
import re
from typing import Any

SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def safe_link(url: str) -> bool:
    """http, https, mailto or relative (no scheme at all)."""
    cleaned = "".join(url.split()).lower()  # "java\nscript:" is still javascript:
    return not _SCHEME.match(cleaned) or cleaned.startswith(SAFE_SCHEMES)


def renderer() -> Any:
    """A Markdown renderer with raw HTML off and only safe links (make one, reuse it)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.validateLink = safe_link  # type: ignore[method-assign]  # markdown-it-py documents this override
    return md


def to_html(md: Any, text: str) -> str:
    return str(md.render(text))


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)
