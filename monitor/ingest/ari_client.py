"""ARI's REST side: requests to Asterisk over HTTP with basic auth, and the error they raise."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from monitor.ingest.ari_settings import AriSettings

REQUEST_TIMEOUT = 10.0


class AriError(Exception):
    """An ARI request failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status or 'no answer'}: {message}")
        self.status = status


class AriClient:
    """ARI's REST resources over HTTP basic auth; each request in a worker thread."""

    def __init__(self, settings: AriSettings) -> None:
        self.settings = settings
        token = base64.b64encode(f"{settings.user}:{settings.password}".encode()).decode()
        self._auth = f"Basic {token}"

    @property
    def events_url(self) -> str:
        base = self.settings.url.replace("http", "ws", 1)
        query = urllib.parse.urlencode({"app": self.settings.app, "subscribeAll": "false"})
        return f"{base}/ari/events?{query}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": self._auth}

    async def request(self, method: str, path: str, **params: str) -> Any:
        return await asyncio.to_thread(self._request, method, path, params)

    def _request(self, method: str, path: str, params: dict[str, str]) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(f"{self.settings.url}/ari{path}{query}", method=method)
        request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                body = response.read(1 << 20)
        except urllib.error.HTTPError as err:
            detail = err.read(4096).decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("message", detail)
            raise AriError(err.code, f"{method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            raise AriError(0, f"{method} {path}: {getattr(err, 'reason', err)}") from None
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise AriError(0, f"{method} {path}: the answer is not JSON") from None
