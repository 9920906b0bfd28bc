"""The HTTP side of the hub's one port: the dashboard's static files and the Origin check.

Only an allow-list is served: the page routes and files under the dashboard directory
with a known extension, no dot-files, no `..`, nothing that resolves outside the directory.
Everything else is 404. The websocket endpoint `/ws` is checked for its Origin instead.
"""

from __future__ import annotations

import contextlib
import http
import json
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

WS_PATH = "/ws"

ROUTES = {
    "/": "floor.html",
    "/floor": "floor.html",
    "/agent": "agent.html",
    "/history": "history.html",
    "/call": "call.html",
}

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json; charset=utf-8",
}

MAX_FILE = 4 * 1024 * 1024


#: Request headers that must come at most once: two Hosts or Origins, or two tokens, leave
#: it open which one a check saw and which one a later reader would take.
SINGLE_HEADERS = ("Host", "Origin", "Authorization")
#: The longest path component served (a file name); longer ones cannot name a file anyway.
MAX_NAME = 255


def _response(
    status: http.HTTPStatus, body: bytes, content_type: str, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Connection", "close"),
            *extra,
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _text(status: http.HTTPStatus, text: str, extra: Iterable[tuple[str, str]] = ()) -> Response:
    return _response(status, text.encode() + b"\n", "text/plain; charset=utf-8", extra)


def refusal(request: Request) -> Response | None:
    """A 4xx for a request no route should see: a method other than GET or HEAD (websockets
    17 hands any method to process_request; older ones refuse them before), or a header
    that must be single sent twice."""
    method = getattr(request, "method", "GET")
    if method not in ("GET", "HEAD") or (method == "HEAD" and urlsplit(request.path).path == WS_PATH):
        allow = "GET" if urlsplit(request.path).path == WS_PATH else "GET, HEAD"
        return _text(http.HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed", [("Allow", allow)])
    for name in SINGLE_HEADERS:
        if len(request.headers.get_all(name)) > 1:
            return _text(http.HTTPStatus.BAD_REQUEST, f"more than one {name} header")
    return None


def without_body(response: Response) -> Response:
    """The answer to HEAD: the GET answer's status and headers (its Content-Length too), no body."""
    return Response(response.status_code, response.reason_phrase, response.headers, b"")


def not_found() -> Response:
    return _response(http.HTTPStatus.NOT_FOUND, b"404 not found\n", "text/plain; charset=utf-8")


def resolve_static(root: Path, raw_path: str) -> Path | None:
    """The file a request path names under `root`, or None if it is not on the allow-list."""
    path = unquote(urlsplit(raw_path).path)
    if path in ROUTES:
        path = "/" + ROUTES[path]
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    parts = PurePosixPath(path).parts[1:]
    if not parts or any(p in ("", ".", "..") or p.startswith(".") or len(p) > MAX_NAME for p in parts):
        return None
    if PurePosixPath(path).suffix.lower() not in CONTENT_TYPES:
        return None
    try:
        base = root.resolve()
        candidate = base.joinpath(*parts).resolve()
        if not candidate.is_relative_to(base) or not candidate.is_file():
            return None
    except (OSError, ValueError):  # a path the file system cannot take (too long, too deep)
        return None
    return candidate


def static_response(root: Path, raw_path: str) -> Response:
    """200 with the file and its content type, or 404."""
    found = resolve_static(root, raw_path)
    if found is None:
        return not_found()
    try:
        if found.stat().st_size > MAX_FILE:
            return not_found()
        body = found.read_bytes()
    except OSError:
        return not_found()
    return _response(http.HTTPStatus.OK, body, CONTENT_TYPES[found.suffix.lower()])


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    """Browsers must come from one of the hub's origins (`hub_origins`, `--allow-origin`); no
    Origin (a non-browser client such as a publisher) is allowed. Never compared with the
    request's own Host: a page on any site can make its browser send whatever Host a DNS
    name of the attacker's points at (DNS rebinding), so Host proves nothing."""
    if origin is None:
        return True
    return normal_origin(origin) in allowed


def normal_origin(url: str) -> str:
    """`scheme://host[:port]` of an origin or URL, lower case, default ports left out."""
    parts = urlsplit(url.strip().lower())
    if not parts.scheme or not parts.hostname:
        return url.strip().lower().rstrip("/")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        port = parts.port
    except ValueError:
        return url.strip().lower().rstrip("/")
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + ("" if port is None or port == default else f":{port}")


def hub_origins(
    public_urls: Iterable[str], host: str, port: int, tls: bool, names: Iterable[str] = ()
) -> frozenset[str]:
    """The origins the hub's own pages are opened from: its public URLs if it was given any
    (`--public-url`), else the addresses it listens on (`host`, or for 0.0.0.0 and :: the
    `names` of the machine, loopback included), at its port and scheme."""
    public = [normal_origin(u) for u in public_urls]
    if public:
        return frozenset(public)
    scheme = "https" if tls else "http"
    wildcard = host in ("", "0.0.0.0", "::")
    hosts = {"127.0.0.1", "localhost", "::1", *names} if wildcard else {host}
    if host in ("127.0.0.1", "::1", "localhost"):
        hosts |= {"127.0.0.1", "localhost", "::1"}
    return frozenset(normal_origin(f"{scheme}://{_bracket(h)}:{port}") for h in hosts if h)


def local_names() -> list[str]:
    """This machine's name and the IPv4 address of each of its network interfaces, read from
    the kernel (no name lookups): the hosts a hub listening on 0.0.0.0 may be opened by."""
    names = [socket.gethostname()]
    try:
        import fcntl

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            for _, interface in socket.if_nameindex():
                request = struct.pack("256s", interface[:15].encode())
                with contextlib.suppress(OSError):
                    answer = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
                    names.append(socket.inet_ntoa(answer[20:24]))
    except (ImportError, OSError):
        pass  # not Linux: the machine's name and loopback only (say --public-url)
    return names


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def json_response(status: http.HTTPStatus, data: Any) -> Response:
    """A JSON answer for the small HTTP API."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return _response(status, body, "application/json; charset=utf-8")


ApiHandler = Callable[[Request, str], Awaitable[Response]]


def too_many_failures(wait: float) -> str:
    """What a source refused for failed logins is told (close reason and 429 body alike)."""
    return f"too many failed logins from this address; try again in {max(1, round(wait))} s"


def make_process_request(
    root: Path,
    origins: Callable[[], frozenset[str]],
    api: ApiHandler | None = None,
    refused: Callable[[str], float] | None = None,
) -> Callable[[ServerConnection, Request], Awaitable[Response | None]]:
    """The `process_request` hook: Origin check for `/ws`, `/api/...` to `api`, static files
    else. `origins()`: the allowed browser origins; `refused(address)`: seconds an address is
    refused for after failed logins (429 for `/ws` and the API's token routes)."""

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        odd = refusal(request)
        if odd is not None:
            return odd
        answered = await answer(connection, request)
        if answered is not None and getattr(request, "method", "GET") == "HEAD":
            return without_body(answered)
        return answered

    async def answer(connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        needs_token = path == WS_PATH or (path.startswith("/api/") and path != "/api/health")
        if needs_token and refused is not None:
            wait = refused(peer_host(connection.remote_address))
            if wait > 0:
                body = (too_many_failures(wait) + "\n").encode()
                answer = _response(http.HTTPStatus.TOO_MANY_REQUESTS, body, "text/plain; charset=utf-8")
                answer.headers["Retry-After"] = str(max(1, round(wait)))
                return answer
        if path == WS_PATH:
            if not origin_allowed(request.headers.get("Origin"), origins()):
                body = b"origin not allowed\n"
                return _response(http.HTTPStatus.FORBIDDEN, body, "text/plain; charset=utf-8")
            return None
        if path.startswith("/api/") and api is not None:
            return await api(request, peer(connection.remote_address))
        return static_response(root, request.path)

    return process_request


def peer_host(address: Any) -> str:
    """The host part of a peer address (what failed logins are counted by)."""
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address)


def peer(address: Any) -> str:
    """A peer address as people write it: 127.0.0.1:52336, [::1]:52336."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)
