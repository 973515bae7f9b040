"""``gitdesk mcp``: the assistant's tools and the knowledge base over MCP on stdio.

Built on the official ``mcp`` SDK (``MCPServer``), imported only here and only when
the server starts. Few tools, because an assistant's context is small: find,
read_ticket, list_tickets, add_note, set_field, draft_reply. A ``GitdeskError``
becomes a tool error with the one line the CLI prints, and nothing is written.
Knowledge-base pages are resources ``gitdesk://kb/...``, rendered from the
tickets as ``gitdesk kb build`` would write them.

stdout is the protocol: nothing here prints, and the library never does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer, ResourceSecurity
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Resource, TextContent, ToolAnnotations
from mcp.types.jsonrpc import INTERNAL_ERROR
from pydantic import Field

from gitdesk import privacy
from gitdesk.assistants.tools import Assistant, Refused, thread_text
from gitdesk.errors import GitdeskError, NotFound
from gitdesk.text import one_line

SCHEME = "gitdesk://"
INSTRUCTIONS = """\
This is a support desk kept in a Git repository (gitdesk). Tickets have IDs like GD-01M8...; any unique
prefix works. Before answering a problem, use find to look for solved tickets like it and read_ticket to
read what fixed them; knowledge-base articles are resources under gitdesk://kb/. Entries marked internal
are never shown to the requester. Every change you make is a Git commit that names you. You cannot reply
to a requester directly: draft_reply writes the reply on a review branch for a person to check and send.
"""

_READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
_WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                          open_world_hint=False)

_ONE_AT_A_TIME = threading.Lock()  # the SDK runs tools in threads; the desk is worked one call at a time
TicketId = Annotated[str, Field(description="A ticket ID or any unique prefix of one, e.g. GD-01M8")]


class DeskServer(MCPServer):
    """MCPServer whose resource list is the knowledge base as it is now (it changes as
    tickets are solved, so it is listed on every request rather than registered once)."""

    def __init__(self, assistant: Assistant) -> None:
        from gitdesk import __version__

        super().__init__("gitdesk", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
        self.assistant = assistant

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """The SDK's ``call_tool``; arguments that do not fit a tool's schema are one line, as
        any refusal is ("limit: Input should be greater than or equal to 1"), not pydantic's
        report with its links."""
        from mcp.server.mcpserver.exceptions import ToolError
        from pydantic import ValidationError as Invalid

        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if not isinstance(error.__cause__, Invalid):
                raise
            problems = error.__cause__.errors()
            first = problems[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "arguments"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            text = one_line(f"gitdesk: error: {name}: {where}: {first.get('msg', 'not valid')}{more}")
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    def tool(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """The SDK's ``tool``, with each description as its docstring reads (not indented as
        the source is: a client shows it as given)."""
        import inspect

        register = super().tool(*args, **kwargs)

        def registered(function: Any) -> Any:
            function.__doc__ = inspect.cleandoc(function.__doc__ or "")
            return register(function)

        return registered

    async def list_resources(self) -> list[Resource]:
        import anyio.to_thread

        listed = await super().list_resources()
        try:
            pages = await anyio.to_thread.run_sync(self._pages)
        except GitdeskError as error:  # a broken config, say: the client shows why
            raise MCPError(INTERNAL_ERROR, refusal(error)) from None
        return [*listed, *pages]

    def _pages(self) -> list[Resource]:
        from gitdesk.knowledge import kb

        with _ONE_AT_A_TIME:
            articles = kb.collect(self.assistant.desk())
        index = Resource(uri=f"{SCHEME}{kb.KB}/README.md", name="kb/README.md", title="Knowledge base: index",
                         description="Every article, by category", mime_type="text/markdown")
        # Titles and categories come from tickets: one line, no addresses, as in the articles.
        return [index, *(Resource(uri=f"{SCHEME}{article.path}", name=article.path,
                                  title=privacy.without_addresses(one_line(article.title)),
                                  description=privacy.without_addresses(one_line(
                                      f"Solved: {article.category}; {article.reports} report(s)")),
                                  mime_type="text/markdown") for article in articles)]


_COMMAND = re.compile(r"\bgit(?:desk)? [a-z]|--[a-z]")  # a hint that names a command line's command or option


def refusal(error: GitdeskError) -> str:
    """A refusal as the assistant reads it: the CLI's one line, its fix marked as a person's.
    Hints name commands and options of the command line (git restore, gitdesk label), which the
    assistant does not have and, with a shell of its own, must not run on a person's work."""
    if isinstance(error, Refused) or not _COMMAND.search(error.hint or ""):
        return f"gitdesk: error: {error}"  # "expected one of: urgent, high…" is the assistant's to use
    where = str(GitdeskError(error.message, path=error.path, line=error.line))
    return f"gitdesk: error: {where} (for a person at the desk: {one_line(str(error.hint))})"


def _answer(work: Callable[[], dict[str, Any] | str]) -> CallToolResult:
    """Run one call. A problem the user can fix is a tool error worded exactly as the CLI's
    one line (returned, not raised: the SDK would put its own words in front)."""
    with _ONE_AT_A_TIME:
        try:
            result = work()
        except GitdeskError as error:
            return CallToolResult(content=[TextContent(type="text", text=refusal(error))], is_error=True)
        except OSError as error:  # the machine's (a read-only mount, a full disk): said, as the CLI says it
            said = one_line(f"gitdesk: error: {error.filename or ''}{': ' if error.filename else ''}"
                            f"{error.strerror or error}")
            return CallToolResult(content=[TextContent(type="text", text=said)], is_error=True)
        except Exception as error:  # the SDK's "Error executing tool" says nothing, and logs pages of it
            said = one_line(f"gitdesk: this is a bug in gitdesk, sorry ({type(error).__name__}: {error}); "
                            "report it with what the assistant asked")
            return CallToolResult(content=[TextContent(type="text", text=said)], is_error=True)
    if isinstance(result, str):
        return CallToolResult(content=[TextContent(type="text", text=result)])
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))  # an assistant's context is small
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=result)


def build(assistant: Assistant) -> MCPServer:
    server = DeskServer(assistant)

    @server.tool(annotations=_READS)
    def find(text: Annotated[str, Field(description="Words or a description of the problem")] = "",
             like_ticket: Annotated[str, Field(description="Or: find solved tickets like this ticket ID")] = "",
             limit: Annotated[int, Field(description="At most this many of each kind", ge=1, le=100)] = 10,
             ) -> CallToolResult:
        """Find tickets: `hits` are tickets containing all the words (every status, best first), `similar`
        are solved tickets most like the text (or like_ticket), with the resolution that fixed them. Use
        it before answering: the fix may be known already."""
        return _answer(lambda: assistant.find(text, like_ticket, limit))

    @server.tool(annotations=_READS)
    def read_ticket(ticket: TicketId,
                    format: Annotated[Literal["text", "json"], Field(
                        description="text: the thread as people read it; json: the whole record")] = "text",
                    ) -> CallToolResult:
        """Read one ticket: its fields, SLA timings, description, the whole conversation (internal notes,
        questions and escalations marked) and the resolution."""
        def work() -> dict[str, Any] | str:
            record = assistant.read(ticket)
            return {"ticket": record} if format == "json" else thread_text(record)

        return _answer(work)

    @server.tool(annotations=_READS)
    def list_tickets(queue: Annotated[str, Field(description="Only this queue (empty: every queue)")] = "",
                     status: Annotated[list[str], Field(
                         description="Only these statuses; empty: unfinished ones; ['all']: every status")] = [],  # noqa: B006
                     assignee: Annotated[str, Field(description="Only tickets assigned to this handle")] = "",
                     unassigned: Annotated[bool, Field(description="Only tickets nobody has taken")] = False,
                     limit: Annotated[int, Field(ge=1, le=100)] = 50,
                     ) -> CallToolResult:
        """List a queue's tickets as `gitdesk list --sort priority` does (most urgent first, then oldest):
        each ticket's fields, and how many there are in all."""
        return _answer(lambda: assistant.queue(queue, tuple(status), assignee, unassigned, limit))

    @server.tool(annotations=_WRITES)
    def add_note(ticket: TicketId,
                 text: Annotated[str, Field(description="The note (Markdown); only agents see it")]) -> CallToolResult:
        """Add an internal note to a ticket (never shown to the requester): one commit naming you."""
        return _answer(lambda: assistant.note(ticket, text))

    @server.tool(annotations=_WRITES)
    def set_field(ticket: TicketId,
                  field: Annotated[str, Field(description="priority, category, status, queue, asset, a custom field…")],
                  value: Annotated[str, Field(description="The new value ('' clears it)")]) -> CallToolResult:
        """Set one field of a ticket, with the same rules as `gitdesk set` (statuses follow the workflow):
        one commit naming you. The requester is not mailed."""
        return _answer(lambda: assistant.set_field(ticket, field, value))

    @server.tool(annotations=_WRITES)
    def draft_reply(ticket: TicketId,
                    text: Annotated[str, Field(description="The reply to the requester (Markdown)")]) -> CallToolResult:
        """Draft a public reply. It is NOT sent: it is committed on a review branch drafts/<ID>-<n>, with
        the mail it would send, for a person to review and merge. Tell the user the branch (`review`)."""
        return _answer(lambda: assistant.draft_reply(ticket, text))

    @server.resource(f"{SCHEME}kb/{{+page}}", name="kb page", mime_type="text/markdown",
                     description="A knowledge-base page (kb/README.md or an article), as gitdesk kb build writes it",
                     security=ResourceSecurity())
    def kb_page(page: str) -> str:
        from gitdesk.knowledge import kb

        with _ONE_AT_A_TIME:
            try:
                return kb.page(assistant.desk(), f"{kb.KB}/{page}")
            except NotFound as error:
                raise ResourceNotFoundError(str(error)) from None
            except GitdeskError as error:
                raise ResourceError(refusal(error)) from None

    return server


def serve(root: Path, handle: str) -> None:
    """Serve the desk at ``root`` over stdio until the client closes the connection."""
    build(Assistant(root, handle)).run("stdio")
