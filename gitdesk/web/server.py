"""Binding and running the web desk: an address on this machine, a token, threads.

Werkzeug's threaded server is enough for the few people of one machine; it
runs in the foreground until Ctrl-C, or in a thread for tests (``start``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitdesk.errors import ValidationError
from gitdesk.web.security import Guard, is_wildcard, new_token


@dataclass
class Running:
    """A server bound to its address, not yet (or already) serving."""

    guard: Guard
    server: Any

    @property
    def url(self) -> str:
        """The address to open: with the token, which the first visit trades for a cookie."""
        return f"{self.guard.address}?token={self.guard.token}"

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.server.serve_forever, name="gitdesk-serve", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def require() -> None:
    """Import what serving needs now: without the web extra, the one-line error comes before
    anything else (the imports below are in the functions, so the module loads without it)."""
    import flask  # noqa: F401
    import werkzeug.serving  # noqa: F401


def bind(desk_path: Path, as_: str | None, *, host: str = "127.0.0.1", port: int = 0,
         token: str | None = None) -> Running:
    """Open the desk once (so a wrong path or person fails before anything listens), then bind."""
    from werkzeug.serving import make_server

    from gitdesk.desk import Desk
    from gitdesk.web.app import create_app

    if is_wildcard(host) or not host.strip():
        raise _every_address(host)
    desk = Desk.open(desk_path, explicit=True)
    actor = desk.actor(as_)
    if actor.person is None:
        raise ValidationError(f"{actor.id} is not one of the desk's people",
                              hint="serve as one of them: gitdesk serve --as HANDLE")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # request lines would print the token
    placeholder = Guard.for_address(token or new_token(), host, port)
    holder: dict[str, Guard] = {"guard": placeholder}
    server = make_server(host, port, _Late(holder), threaded=True)
    if is_wildcard(str(server.server_address[0])):  # "0", "0x0", "000.0": other spellings of 0.0.0.0
        server.server_close()
        raise _every_address(host)
    if _unusual_ipv4(host):  # "127.1" binds 127.0.0.1, and a browser sends that as the Host
        host = str(server.server_address[0])
    guard = Guard.for_address(placeholder.token, host, server.server_port)  # port 0: the one the system chose
    holder["guard"] = guard
    holder["app"] = create_app(desk.root, as_, guard)  # type: ignore[assignment]
    return Running(guard, server)


def _unusual_ipv4(host: str) -> bool:
    """An IPv4 address in a spelling the system reads and browsers rewrite ("127.1", "0x7f.1")."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            socket.inet_aton(host)
        except OSError:
            return False
        return True
    return False


def _every_address(host: str) -> ValidationError:
    return ValidationError(f"will not listen on every address ({host!r})",
                           hint="give the one address people will open, e.g. --host 192.168.1.20; "
                                "the Host header is checked against it")


class _Late:
    """The application, made once the port (part of the Host check) is known."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.holder["app"](environ, start_response)
