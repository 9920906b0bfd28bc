"""What an adapter module registers, and the small things every adapter shares.

An adapter is one module that calls `register(ListenerKind(...))` when imported: its name,
its command-line option (`--twilio HOST:PORT`), options of its own, and `start`, which
begins listening and returns a `Listener`. `heatmon ingest` imports `ADAPTERS` in order and
builds its options from what they registered, so a new phone system is one more module and
one more line in `ADAPTERS`.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.errors import InputError
from monitor.ingest.calls import CallDesk

#: Adapter modules, in the order `heatmon ingest --help` lists their options.
ADAPTERS: tuple[str, ...] = ("monitor.ingest.audiosocket", "monitor.ingest.twilio", "monitor.ingest.siprec")

#: Peers accepted when no --allow is given: this machine only.
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Listener(Protocol):
    """A running adapter: where it listens, and how it stops."""

    @property
    def address(self) -> tuple[str, int]: ...

    async def close(self) -> None:
        """Stop listening and end the calls it carries (each with its `call_ended`)."""
        ...


@dataclass(frozen=True, slots=True)
class ListenerKind:
    """One phone system's adapter, as `heatmon ingest` sees it."""

    name: str  # "twilio"
    help: str  # for --NAME HOST:PORT
    default_port: int
    start: Callable[[CallDesk, tuple[str, int], argparse.Namespace], Awaitable[Listener]]
    add_options: Callable[[argparse.ArgumentParser], None] | None = None
    #: Checks its own options before the model loads (InputError for a bad one).
    check: Callable[[argparse.Namespace], None] | None = None

    @property
    def option(self) -> str:
        return f"--{self.name}"


KINDS: dict[str, ListenerKind] = {}


def register(kind: ListenerKind) -> ListenerKind:
    KINDS[kind.name] = kind
    return kind


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT, :PORT, PORT or HOST to (host, port); loopback when no host is given."""
    text = text.strip()
    host, port_text = "127.0.0.1", ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError(f"{text!r}: an IPv6 address is written [ADDRESS]:PORT")
        host, port_text = text[1:end], text[end + 1 :].lstrip(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        host = host or "127.0.0.1"
    elif text.isdigit():
        port_text = text
    elif text:
        host = text
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise InputError(f"{text!r}: the port must be a number") from None
    if not 0 <= port <= 65535:
        raise InputError(f"{text!r}: port {port} is out of range")
    return host, port


def parse_networks(values: Sequence[str] | None) -> tuple[Network, ...]:
    """--allow CIDR values (an address alone is one host); loopback only when none is given."""
    if not values:
        return LOOPBACK
    networks = []
    for value in values:
        for part in value.split(","):
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise InputError(
                    f"--allow {part!r} is not an address or a CIDR block like 10.0.0.0/24"
                ) from None
    return tuple(networks)


def allowed(peer: str, networks: Sequence[Network]) -> bool:
    """Whether the peer's address is in one of the allowed networks (IPv4-mapped IPv6 too)."""
    try:
        address = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in networks if net.version == address.version)
