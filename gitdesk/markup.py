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
    """A Markdown renderer with raw HTML off and only safe links (make one, reuse it). An
    image from another host is shown as a link to it: fetched, it would tell that host who
    reads the ticket or the article, and when (a requester's tracking pixel)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.validateLink = safe_link  # type: ignore[method-assign]  # markdown-it-py documents this override
    md.add_render_rule("image", _image)
    return md


def _image(self: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    source = str(token.attrGet("src") or "")
    bare = "".join(source.split())
    if not _SCHEME.match(bare) and not bare.startswith(("//", "\\")):  # the desk's own file: shown
        return str(self.image(tokens, index, options, env))
    words = self.renderInlineAsText(token.children or [], options, env) or source
    return f'<a href="{escape(source)}">{escape(words)}</a>'


def to_html(md: Any, text: str) -> str:
    """``text`` as HTML; characters that reorder or hide text (an unclosed U+202E turns
    "invoice\u202egpj.exe" into "invoiceexe.jpg") are written out, as the terminal shows them."""
    from gitdesk.text import unreordered

    return str(md.render(unreordered(text)))


def escape(text: object) -> str:
    """``text`` for HTML, what reorders or hides text written out (``text.unreordered``)."""
    from gitdesk.text import unreordered

    return html.escape(unreordered(str(text)), quote=True)
