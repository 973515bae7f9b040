"""The desk for AI assistants: ``gitdesk mcp``, a Model Context Protocol server over stdio.

``tools.py`` is what an assistant may do, as plain functions over the same
library calls the command line makes (no MCP in it); ``server.py`` offers
them through the ``mcp`` SDK (the optional extra ``gitdesk[mcp]``), with the
knowledge base as resources. Nothing in the library imports this part.

The safety model (docs/assistants.md): the assistant acts as one of the
desk's people (``--as``, ``assistant`` by default), every write is one commit
with ``Gitdesk-Actor`` and ``Gitdesk-Via: mcp`` trailers, and a public reply is
only ever a draft on a review branch: nothing it writes reaches a requester
until a person merges it.
"""
