"""What keeps a local web desk safe on a shared machine.

- A secret token, printed in the address (as Jupyter does): the first visit
  with ``?token=`` sets a cookie and redirects to the same page without it, so
  the token does not stay in the address bar or the history.
- The Host header must name the address the server is bound to: a page on
  another site that rebinds its DNS name to 127.0.0.1 is refused.
- Every form carries a CSRF token derived from the secret; a POST without it
  (or from another origin) writes nothing.
- Every response forbids script, framing and foreign resources with a strict
  Content-Security-Policy; the pages need no script at all.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field

# No script, no framing, nothing from elsewhere; forms post only back here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Guard:
    """The secret of one running server and the Host names it answers to."""

    token: str
    host: str
    port: int
    hosts: frozenset[str] = field(default=frozenset())

    @classmethod
    def for_address(cls, token: str, host: str, port: int) -> Guard:
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        names = {shown}
        if is_loopback(host):  # a loopback name cannot be rebound by someone else's DNS
            names.update(_LOOPBACK_NAMES)
        hosts = {f"{name}:{port}".lower() for name in names}
        if port == 80:  # browsers leave out the default port
            hosts.update(name.lower() for name in names)
        return cls(token, shown, port, frozenset(hosts))

    @property
    def cookie(self) -> str:
        # Cookies ignore the port: one name per server, so two desks served side by side do not clash.
        return f"gitdesk-{self.port}"

    @property
    def address(self) -> str:
        return f"http://{self.host}/" if self.port == 80 else f"http://{self.host}:{self.port}/"

    def host_ok(self, header: str | None) -> bool:
        return header is not None and header.lower() in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """A POST's Origin, when the browser sends one, must be this server."""
        if origin is None:
            return True
        return origin.lower().removeprefix("http://") in self.hosts

    def token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def csrf(self) -> str:
        """The token every form carries: derived from the secret, useless without reading a page."""
        return hmac.new(self.token.encode(), b"gitdesk csrf", hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf().encode())
