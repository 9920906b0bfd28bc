"""`heatmon hub` (the websocket hub and dashboards) and `heatmon token add/list`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.cli.common import add_subparser
from monitor.cli.console import inert
from monitor.cli.store import days
from monitor.errors import HeatmonError, InputError
from monitor.events import ROLES
from monitor.hub.auth import Grant, Tokens, default_tokens_path
from monitor.hub.config import HubConfig
from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub, ssl_context
from monitor.paths import data_dir
from monitor.review.history import register_history
from monitor.store import Store, StoreReader, StoreSink, db_path

PAGES = {"supervisor": "floor", "agent": "agent"}
DEFAULT_URL = "http://127.0.0.1:8765"


class HubError(HeatmonError):
    """The hub cannot start (port taken, bad certificate, ...)."""


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hub = add_subparser(
        sub,
        "hub",
        help="run the websocket hub and serve the dashboards",
        description="""\
Run the hub: one port for publishers (`heatmon run/replay --hub`), the
supervisor floor board (/floor) and the agent view (/agent). On first start it
creates a tokens file with fresh random tokens (one publisher, one supervisor,
one agent named "agent"). It prints where the tokens file is and how to list the
pages' links (`heatmon token list --show`), never the tokens themselves (a
service's journal keeps what it prints); in a link the token travels in the URL
fragment, never to the server's logs. Every call is kept in the call store
(<data>/heatmon.sqlite3) unless --no-store; a publisher's events are
acknowledged only once they are stored.

examples:
  heatmon hub
  heatmon hub --host 0.0.0.0 --public-url http://hub.floor:8765
  heatmon hub --host 0.0.0.0 --port 9000 --allow-origin https://board.example
  heatmon hub --certfile hub.pem --keyfile hub.key
  heatmon hub --retain-days 90 --redact
  heatmon token add --role agent --agent alice""",
    )
    hub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    hub.add_argument(
        "--port", type=port, default=8765, help="port to listen on (default 8765; 0 picks a free one)"
    )
    hub.add_argument("--tokens", type=Path, metavar="FILE", help="tokens file (default <data>/tokens.json)")
    hub.add_argument(
        "--data", type=Path, metavar="DIR", help=f"heatmon data directory (default {data_dir()})"
    )
    hub.add_argument(
        "--no-store", action="store_true", help="keep no history: run without the SQLite call store"
    )
    hub.add_argument(
        "--redact",
        action="store_true",
        help="mask spoken card numbers and long digit runs, on the live board and in the store",
    )
    hub.add_argument(
        "--retain-days",
        type=days,
        metavar="N",
        help="delete stored calls older than N days, N >= 0 (at start, then daily)",
    )
    hub.add_argument("--certfile", type=Path, metavar="FILE", help="TLS certificate (PEM): serve https/wss")
    hub.add_argument(
        "--keyfile", type=Path, metavar="FILE", help="TLS private key (PEM), if not in the certificate file"
    )
    hub.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a further browser origin allowed to connect, e.g. https://board.example (repeatable)",
    )
    hub.add_argument(
        "--public-url",
        action="append",
        default=[],
        metavar="URL",
        help="the address people open the pages at, e.g. http://hub.floor:8765; pages from it may "
        "connect (default: the addresses the hub listens on) and the links printed use it "
        "(repeatable)",
    )
    hub.add_argument("--quiet", action="store_true", help="log warnings only")
    hub.set_defaults(func=run_hub)

    token = add_subparser(
        sub,
        "token",
        help="add or list hub tokens",
        description="""\
Manage the hub's tokens file. Roles: publisher (may only publish calls), agent
(sees only the calls whose agent is NAME), supervisor (sees every call). A
running hub re-reads the file when it changes: a token added or removed takes
effect within a second, without a restart.

examples:
  heatmon token add --role agent --agent alice
  heatmon token add --role supervisor --name floor-lead
  heatmon token list --show""",
    )
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_one = actions.add_parser(
        "add", help="add a token", description="Add a token with a fresh random value."
    )
    add_one.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="publisher: may only publish calls; agent: sees only the calls of --agent NAME; "
        "supervisor: sees every call",
    )
    add_one.add_argument(
        "--agent", metavar="NAME", help="for --role agent: the agent's name as publishers report it"
    )
    add_one.add_argument("--name", help="a label for a supervisor or publisher token")
    _token_file_options(add_one)
    add_one.set_defaults(func=run_token_add)
    listing = actions.add_parser("list", help="list tokens", description="List the tokens of the file.")
    _token_file_options(listing)
    listing.add_argument(
        "--show", action="store_true", help="print the tokens in full, with the page link of each"
    )
    listing.add_argument(
        "--url",
        default=DEFAULT_URL,
        metavar="URL",
        help=f"the hub's address for the page links (default {DEFAULT_URL})",
    )
    listing.set_defaults(func=run_token_list)


def port(text: str) -> int:
    """argparse type: a TCP port, 0 (any free port) to 65535 (`--port`)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, not {text!r}")
    return value


def page_url(base: str, grant: Grant) -> str:
    """The dashboard URL for a grant, its token in the fragment (never sent to the server)."""
    return f"{base}/{PAGES[grant.role]}#token={grant.token}"


def run_hub(args: argparse.Namespace) -> int:
    context = None
    if args.certfile:
        try:
            context = ssl_context(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as err:
            raise InputError(f"cannot load TLS certificate {args.certfile}: {err}") from err
    elif args.keyfile:
        raise InputError("--keyfile needs --certfile")
    if args.retain_days is not None and args.no_store:
        raise InputError("--retain-days needs the store: leave out --no-store")
    data = args.data or data_dir()
    path = args.tokens or data / "tokens.json"
    tokens, created = Tokens.load_or_create(path)
    # A hub runs for days: its log lines get times. `force`: `heatmon`'s own set-up came first.
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        force=True,
    )
    # The hub logs who connects and leaves itself; the library's line per HTTP request is noise.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    print(f"tokens: {path}" + (" (created with fresh tokens)" if created else ""), flush=True)
    for url in args.public_url:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise InputError(f"--public-url needs an http:// or https:// URL, not {url!r}")
    return asyncio.run(_serve(args, tokens, context, path))


async def _serve(args: argparse.Namespace, tokens: Tokens, context: ssl.SSLContext | None, path: Path) -> int:
    data = args.data or data_dir()
    sink = None if args.no_store else StoreSink(db_path(data), redact=args.redact)
    live: list[dict[str, Any]] = []
    if sink is not None:
        print(f"call store: {db_path(data)}", flush=True)
        # The calls in progress go back on the floor, so pages opened after a restart miss nothing.
        live = await asyncio.to_thread(_live_calls, db_path(data))
        if live:
            print(f"floor: {len(live)} call{'' if len(live) == 1 else 's'} in progress, from the call store")
    async with contextlib.AsyncExitStack() as stack:
        if sink is not None:
            stack.push_async_callback(sink.aclose)
        hub = await stack.enter_async_context(
            listening(
                tokens,
                host=args.host,
                port=args.port,
                ssl=context,
                allowed_origins=args.allow_origin,
                public_urls=args.public_url,
                tokens_file=path,
                sink=sink,
                config=HubConfig(redact=args.redact),
                live_calls=live,
            )
        )
        register_history(
            hub.api, StoreReader(db_path(data)) if sink is not None else None, redact=args.redact
        )
        if args.retain_days is not None:
            retention = asyncio.create_task(_retain(db_path(data), args.retain_days), name="retention")
            stack.push_async_callback(_cancelled, retention)
        print(f"hub listening on {hub.url}", flush=True)
        base = args.public_url[0].rstrip("/") if args.public_url else hub.http_url
        # The links hold the tokens: a service's journal must not, so they are listed on demand.
        where = f" --tokens {args.tokens}" if args.tokens else f" --data {args.data}" if args.data else ""
        print(f"  page links: heatmon token list --show{where} --url {base}", flush=True)
        print("  publishers: heatmon run/replay --hub " + hub.url, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("hub stopping", flush=True)
    return 0


@contextlib.asynccontextmanager
async def listening(tokens: Tokens, *, host: str, port: int, **options: Any) -> AsyncIterator[Hub]:
    """`serve_hub` for the command line: an address it cannot listen on is one clear error."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            hub = await stack.enter_async_context(serve_hub(tokens, host=host, port=port, **options))
        except OSError as err:
            raise HubError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
        yield hub


async def _cancelled(task: asyncio.Task[Any]) -> None:
    """Cancel a background task and wait for it to end."""
    task.cancel()
    await asyncio.wait([task])


def _live_calls(path: Path) -> list[dict[str, Any]]:
    with Store.open(path, create=False) as store:
        return store.live_calls(time.time())


async def _retain(path: Path, days: float, every: float = 24 * 3600.0) -> None:
    """Delete stored calls older than `days`, now and then daily."""
    log = logging.getLogger("monitor.hub")
    while True:

        def purge() -> int:
            with Store.open(path) as store:
                return store.purge_older_than(days, time.time())

        removed = await asyncio.to_thread(purge)
        log.info("retention: removed %d calls older than %g days", removed, days)
        await asyncio.sleep(every)


def _token_file_options(parser: argparse.ArgumentParser) -> None:
    """--tokens FILE, or --data DIR as `heatmon hub --data DIR` was started (its tokens.json)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--tokens", type=Path, metavar="FILE", help=f"tokens file (default {default_tokens_path()})"
    )
    where.add_argument(
        "--data", type=Path, metavar="DIR", help="the data directory of a hub started with --data DIR"
    )


def _token_file(args: argparse.Namespace) -> Path:
    return args.tokens or (args.data / "tokens.json" if args.data else default_tokens_path())


def run_token_add(args: argparse.Namespace) -> int:
    path = _token_file(args)
    if args.role == "agent" and not args.agent:
        raise InputError("--role agent needs --agent NAME (the agent's name as publishers report it)")
    if args.role != "agent" and args.agent:
        raise InputError("--agent is only for --role agent; use --name for a label")
    tokens, _ = Tokens.load_or_create(path)
    name = args.agent or args.name or f"{args.role}{sum(g.role == args.role for g in tokens.grants) + 1}"
    tokens, grant = tokens.add(args.role, name)
    tokens.save(path)
    print(f"added {grant.role} token for {grant.name} to {path}")
    print(f"token: {grant.token}")
    if grant.role in PAGES:
        print(f"open: {page_url('http://127.0.0.1:8765', grant)}  (your hub's host and port)")
    print("a hub running on this file takes it within a second")
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    path = _token_file(args)
    tokens = Tokens.load(path)
    base = args.url.rstrip("/")
    print(f"tokens in {path}:")
    for grant in tokens.grants:
        shown = grant.token if args.show else grant.token[:4] + "…"
        link = f"  {page_url(base, grant)}" if args.show and grant.role in PAGES else ""
        print(f"  {grant.role:<10} {inert(grant.name):<20} {shown}{link}")
    return 0
