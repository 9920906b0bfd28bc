"""A small HTTP JSON API on the hub's port, for pages that want data without a websocket
(history, reports) and for health checks.

    GET /api/health                      {"ok": true, "calls": N, "viewers": N, "seq": N}, no token
    GET /api/floor                       the welcome snapshot for the token's role
    GET /api/<route>?...                 a handler registered with `hub.api.route(...)`
    GET /api/<route>/<rest>?...          a handler registered as `"<route>/"`, given `rest` as `path`

A token goes in `Authorization: Bearer <token>`, never in the URL. Handlers receive the
token's grant and the query string's parameters and return JSON-ready data; a HeatmonError
they raise is a 400 with `{"error": ...}` (or its `http_status`, e.g. 404 for an unknown call).
"""

from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.http11 import Request, Response

from monitor.errors import HeatmonError
from monitor.hub.auth import AuthError, Grant, Tokens
from monitor.hub.floor import Floor
from monitor.hub.static import json_response

log = logging.getLogger("monitor.hub")

RouteHandler = Callable[[Grant, dict[str, str]], Awaitable[Any]]


class HubApi:
    """Routes `/api/...` GET requests; roles allowed per route."""

    def __init__(
        self,
        floor: Floor,
        tokens: Tokens | Callable[[], Tokens],
        viewer_count: Callable[[], int],
        on_failed: Callable[[str, str], object] | None = None,
    ) -> None:
        self.floor = floor
        # The tokens, or how to get the current ones (a hub re-reads its tokens file).
        self._tokens = tokens
        self.viewer_count = viewer_count
        self.on_failed = on_failed  # (peer, reason) of a request refused for its token
        self.routes: dict[str, tuple[RouteHandler, frozenset[str]]] = {}
        self.route("floor", self._floor, roles=("supervisor", "agent"))

    def route(self, name: str, handler: RouteHandler, roles: tuple[str, ...] = ("supervisor",)) -> None:
        """Serve `GET /api/<name>` with `handler(grant, params)` for tokens of these roles; a name
        ending in "/" serves every `/api/<name><rest>`, with `rest` (URL-decoded) as `params["path"]`."""
        self.routes[name] = (handler, frozenset(roles))

    async def _floor(self, grant: Grant, params: dict[str, str]) -> Any:
        return self.floor.snapshot(grant.agent)

    @property
    def tokens(self) -> Tokens:
        return self._tokens if isinstance(self._tokens, Tokens) else self._tokens()

    async def __call__(self, request: Request, peer: str = "") -> Response:
        parts = urlsplit(request.path)
        name = parts.path.removeprefix("/api/")
        if name == "health":
            health = {
                "ok": True,
                "calls": len(self.floor.calls),
                "viewers": self.viewer_count(),
                "seq": self.floor.seq,
            }
            return json_response(http.HTTPStatus.OK, health)
        found = self.routes.get(name)
        rest = None
        if found is None and "/" in name:
            head, rest = name.split("/", 1)
            found = self.routes.get(head + "/")
        if found is None:
            return json_response(http.HTTPStatus.NOT_FOUND, {"error": f"no such API: {name}"})
        handler, roles = found
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        grant, reason = None, "missing token"
        tokens = self.tokens
        for role in sorted(roles):
            try:
                grant = tokens.check(token, role)
                break
            except AuthError as err:
                reason = err.reason
        if grant is None:
            if self.on_failed is not None:
                self.on_failed(peer, f"GET /api/{name}: {reason}")
            return json_response(http.HTTPStatus.UNAUTHORIZED, {"error": reason})
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if rest is not None:
            params["path"] = unquote(rest)
        try:
            data = await handler(grant, params)
        except HeatmonError as err:
            status = getattr(err, "http_status", http.HTTPStatus.BAD_REQUEST)
            return json_response(http.HTTPStatus(status), {"error": str(err)})
        return json_response(http.HTTPStatus.OK, data)
