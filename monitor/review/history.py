"""The hub's history API: past calls from the call store, for the history and call pages.

    GET /api/calls?agent=&since=&until=&min_heat=&alert=&q=&limit=&offset=
        {"calls": [CallRow.to_dict(), ...], "agent": <the agent the list is limited to, or null>}
    GET /api/calls/<ref>        (ref: `#<pk>` URL-encoded as %23<pk>, or a call id)
        Store.call_detail + "review" (summary.summarize) + "redacted" (the hub masks digits on
        display) + "agent_scope" (as in the list); the call page draws its chart from this JSON

Supervisors see every call. An agent's token sees only that agent's calls: the agent comes
from the token's grant, never from the query, and another agent's call is "no such call"
(404), so an agent cannot even learn which ids exist. A hub without a store answers every
history request with a clear 503.
"""

from __future__ import annotations

import http
import time
from typing import Any

from monitor.events import VIEWER_ROLES
from monitor.hub.api import HubApi
from monitor.hub.auth import Grant
from monitor.review.summary import summarize
from monitor.store import StoreError, StoreReader, filter_from_params


class NoSuchCall(StoreError):
    """A call the store does not have, or one the token may not see."""

    http_status = http.HTTPStatus.NOT_FOUND


class NoStore(StoreError):
    """The hub was started without a call store."""

    http_status = http.HTTPStatus.SERVICE_UNAVAILABLE


class HistoryApi:
    """The two history routes over one StoreReader (None: the hub keeps no store)."""

    def __init__(self, reader: StoreReader | None, *, redact: bool = False) -> None:
        self.reader = reader
        self.redact = redact

    def _need_reader(self) -> StoreReader:
        if self.reader is None:
            raise NoStore("this hub keeps no call history (it was started with --no-store)")
        return self.reader

    async def list_calls(self, grant: Grant, params: dict[str, str]) -> dict[str, Any]:
        """The history list for this grant and these query parameters."""
        reader = self._need_reader()
        agent = grant.agent
        if agent is not None:
            params = {**params, "agent": agent}
        rows = await reader.list_calls(filter_from_params(params, time.time()))
        if agent is not None:
            # The store matches agents case-insensitively; the floor, and so a token, does not.
            rows = [row for row in rows if row["agent"] == agent]
        return {"calls": rows, "agent": agent}

    async def call_detail(self, grant: Grant, params: dict[str, str]) -> dict[str, Any]:
        """One call's detail and review, if this grant may see it."""
        reader = self._need_reader()
        ref = params.get("path", "").strip()
        if not ref:
            raise NoSuchCall("which call? ask for /api/calls/<id> or /api/calls/%23<number>")
        try:
            detail = await reader.call_detail(ref, redact=self.redact)
        except StoreError as err:
            # "no call ..." and "no call store at <path>" are a 404 (without the server's
            # paths); a store too new or not a store at all keeps its message, as a 400.
            if str(err).startswith("no call"):
                raise NoSuchCall(f"no call {ref!r} in the call store") from None
            raise
        if grant.agent is not None and detail["call"].get("agent") != grant.agent:
            raise NoSuchCall(f"no call {ref!r} in the call store")
        detail = {**detail, "review": summarize(detail)}
        return {**detail, "redacted": self.redact, "agent_scope": grant.agent}


def register_history(hub_api: HubApi, reader: StoreReader | None, *, redact: bool = False) -> HistoryApi:
    """Serve `/api/calls` and `/api/calls/<ref>` on the hub's HTTP API from `reader`."""
    api = HistoryApi(reader, redact=redact)
    hub_api.route("calls", api.list_calls, roles=VIEWER_ROLES)
    hub_api.route("calls/", api.call_detail, roles=VIEWER_ROLES)
    return api
