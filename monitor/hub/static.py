"""The HTTP side of the hub's one port: the dashboard's static files and the Origin check.

Only an allow-list is served: the page routes and files under the dashboard directory
with a known extension, no dot-files, no `..`, nothing that resolves outside the directory.
Everything else is 404. The websocket endpoint `/ws` is checked for its Origin instead.
"""

from __future__ import annotations

import http
import json
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


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """Browsers must come from the hub's own host:port or a configured origin; no Origin
    (a non-browser client such as a publisher) is allowed."""
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin in allowed:
        return True
    if host:
        host = host.strip().lower()
        return origin in (f"http://{host}", f"https://{host}")
    return False


def json_response(status: http.HTTPStatus, data: Any) -> Response:
    """A JSON answer for the small HTTP API."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return _response(status, body, "application/json; charset=utf-8")


ApiHandler = Callable[[Request], Awaitable[Response]]


def make_process_request(
    root: Path, allowed_origins: Iterable[str], api: ApiHandler | None = None
) -> Callable[[ServerConnection, Request], Awaitable[Response | None]]:
    """The `process_request` hook: Origin check for `/ws`, `/api/...` to `api`, static files else."""
    allowed = frozenset(o.strip().lower().rstrip("/") for o in allowed_origins)

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        refused = refusal(request)
        if refused is not None:
            return refused
        answered = await answer(request)
        if answered is not None and getattr(request, "method", "GET") == "HEAD":
            return without_body(answered)
        return answered

    async def answer(request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == WS_PATH:
            if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host"), allowed):
                body = b"origin not allowed\n"
                return _response(http.HTTPStatus.FORBIDDEN, body, "text/plain; charset=utf-8")
            return None
        if path.startswith("/api/") and api is not None:
            return await api(request)
        return static_response(root, request.path)

    return process_request
