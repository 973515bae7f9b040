"""gitdesk serve: the desk in a browser on this machine."""

from __future__ import annotations

import click

from gitdesk.cli.options import Session, desk_options, format_option, pass_session


@click.command()
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="The port to listen on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (one address; the Host header must name it).")
@format_option("table", "json")
@desk_options
@pass_session
def serve(session: Session, port: int, host: str, fmt: str) -> None:
    """Serve the desk as a web application on this machine, until Ctrl-C.

    Prints the address with a secret token: open it in a browser (the token
    becomes a cookie). Boards per queue, your tickets, search and the ticket
    page; every button is the CLI verb of the same name, one commit each, as
    the person given by --as (or your Git identity). Needs the web extra:
    pip install 'gitdesk[web]'. See docs/web.md.

    \b
    Example:
      gitdesk serve
      gitdesk serve --port 8765 --as ravi
    """
    try:
        from gitdesk.web import server

        server.require()
    except ImportError as error:
        from gitdesk.errors import GitdeskError

        raise GitdeskError(f"gitdesk serve needs Flask ({error.name} is missing)",
                           hint="pip install 'gitdesk[web]'") from None
    running = server.bind(session.desk.root, session.as_, host=host, port=port)
    if fmt == "json":
        from gitdesk.render.output import write_json

        write_json({"url": running.url, "host": running.guard.host, "port": running.guard.port})
    else:
        click.echo(f"Serving {session.desk.config.desk_name} as {session.actor().id}; open:")
        click.echo(f"    {running.url}")
        click.echo("The address holds a secret token: share it only with those who may act as you.")
        click.echo("Ctrl-C stops the server.")
    try:
        running.serve_forever()  # Werkzeug's returns on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        running.server.server_close()
    if fmt != "json":
        click.echo("Stopped.")
