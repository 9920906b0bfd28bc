"""Hub URLs as people type them (`--hub`), checked at once and made the hub's websocket URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from monitor.errors import InputError


class HubURLError(InputError):
    """A hub URL that cannot be a hub's: no ws:// or wss://, no host, a bad port or bracket."""


def hub_ws_url(url: str) -> str:
    """`ws://host:port` (as given to `--hub`) to the hub's websocket endpoint `ws://host:port/ws`;
    HubURLError, saying what a hub URL looks like, for anything else."""
    example = "ws://127.0.0.1:8765 (or wss:// for a hub with TLS)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it: a port that is no number raises)
    except ValueError as err:
        raise HubURLError(f"--hub {url!r} is not a URL ({err}); a hub URL looks like {example}") from None
    if parts.scheme not in ("ws", "wss", "http", "https"):
        guess = f"; did you mean ws://{url}?" if "://" not in url else ""
        raise HubURLError(f"--hub {url!r} is not a hub URL: it starts with ws:// or wss://{guess}")
    if not parts.hostname:
        raise HubURLError(f"--hub {url!r} names no host; a hub URL looks like {example}")
    if parts.scheme in ("http", "https"):
        parts = parts._replace(scheme="ws" if parts.scheme == "http" else "wss")
    if parts.path in ("", "/"):
        parts = parts._replace(path="/ws")
    return urlunsplit(parts)
