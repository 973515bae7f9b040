"""AI assistants: gitdesk mcp."""

from __future__ import annotations

import sys

import click

from gitdesk.cli.options import Session, desk_options, pass_session
from gitdesk.errors import GitdeskError


@click.command(name="mcp")
@desk_options
@pass_session
def mcp(session: Session) -> None:
    """Serve the desk to an AI assistant: a Model Context Protocol server on stdio.

    An MCP client (Claude Desktop, Claude Code, VS Code…) starts this command
    and talks to it on stdin/stdout. The assistant can find, read and list
    tickets, add internal notes and set fields (one commit each, naming it
    with Gitdesk-Actor and Gitdesk-Via: mcp trailers), and draft replies: a
    draft is committed on a branch drafts/<ID>-<n> for a person to review
    and merge, never sent. Knowledge-base articles are resources. It acts as
    --as HANDLE (default: assistant), which must be one of the desk's people
    for it to write. Needs the extra: pip install 'gitdesk[mcp]'. See
    docs/assistants.md.

    \b
    Example:
      gitdesk mcp --desk ~/helpdesk --as assistant
      claude mcp add gitdesk -- gitdesk mcp --desk ~/helpdesk
    """
    try:  # the SDK is an optional extra, and heavy: imported only here
        from gitdesk.assistants import server
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("mcp"):
            raise
        raise GitdeskError("gitdesk mcp needs the MCP SDK, which is not installed",
                           hint="pip install 'gitdesk[mcp]'") from None
    from gitdesk.assistants.tools import DEFAULT_HANDLE, Assistant

    desk = session.desk  # a missing desk is refused now, not at the assistant's first call
    assistant = Assistant(desk.root, session.as_ or DEFAULT_HANDLE)
    refused = assistant.can_write()
    if refused:  # stdout is the protocol; clients show stderr in their logs
        click.echo(f"gitdesk mcp: the assistant can read but not write: {refused}", err=True)
    if sys.stdin.isatty():  # started by hand, not by a client
        click.echo("gitdesk mcp: serving MCP on stdin/stdout for an MCP client to start (docs/assistants.md); "
                   "Ctrl-C stops it", err=True)
    server.serve(desk.root, assistant.handle)
