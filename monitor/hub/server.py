"""Running a hub: one websockets server on one port for publishers, dashboards and static files.

`serve_hub` listens (with TLS if given), works out the browser origins the hub allows,
routes HTTP requests to the static files and the API, and runs the hub's housekeeping.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.server import serve

from monitor.hub.auth import Tokens
from monitor.hub.config import HubConfig
from monitor.hub.connections import Hub, Sink
from monitor.hub.static import hub_origins, local_names, make_process_request, normal_origin
from monitor.paths import DASHBOARD


def ssl_context(certfile: Path, keyfile: Path | None) -> ssl_module.SSLContext:
    """A server TLS context from a certificate (and key) file."""
    context = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return context


@asynccontextmanager
async def serve_hub(
    tokens: Tokens,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    config: HubConfig | None = None,
    sink: Sink | None = None,
    ssl: ssl_module.SSLContext | None = None,
    dashboard: Path = DASHBOARD,
    allowed_origins: Iterable[str] = (),
    public_urls: Iterable[str] = (),
    live_calls: Iterable[Mapping[str, Any]] = (),
    tokens_file: Path | None = None,
) -> AsyncIterator[Hub]:
    """Run a hub until the block ends: `async with serve_hub(tokens, port=0) as hub: hub.port`.

    Browsers may connect from `public_urls` (the hub's own addresses when none is given) and
    `allowed_origins`. `live_calls`: calls in progress to put back on the floor
    (`Store.live_calls` of the store the hub writes to), so that pages opened after a
    restart miss nothing the store has. `tokens_file`: where `tokens` came from, re-read
    when it changes."""
    config = config or HubConfig()
    hub = Hub(tokens, config=config, sink=sink, tokens_file=tokens_file)
    public_urls, extra_origins = list(public_urls), frozenset(normal_origin(o) for o in allowed_origins)
    for live in live_calls:
        hub.floor.seed(live)
    async with serve(
        hub.handler,
        host,
        port,
        process_request=make_process_request(
            dashboard, lambda: hub.origins, hub.api, lambda source: hub.logins.refused(source, time.time())
        ),
        max_size=config.max_message,
        write_limit=config.write_limit,
        compression=None,  # deflate costs more CPU per message than the bytes it saves on a LAN
        close_timeout=2,
        ssl=ssl,
    ) as server:
        hub.server = server
        sockname = next(iter(server.sockets)).getsockname()
        hub.host, hub.port = (host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"), sockname[1]
        hub.scheme = "wss" if ssl is not None else "ws"
        names = local_names() if host in ("", "0.0.0.0", "::") else ()
        hub.origins = hub_origins(public_urls, host, hub.port, ssl is not None, names) | extra_origins
        keeper = asyncio.create_task(hub.housekeeping(), name="hub-housekeeping")
        if hub.collector is not None:
            hub.collector.start(time.monotonic())
        try:
            yield hub
        finally:
            if hub.collector is not None:
                hub.collector.stop()
            keeper.cancel()
            await asyncio.wait([keeper])
