"""The recorded streams of one SIPREC session: an RTP socket per party, each packet placed by
its timestamp and fed to the live call, the watch that ends a call whose ACK or RTP stops
coming, and what each stream carried once the call is over."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from monitor.ingest import rtp, sdp
from monitor.ingest.listeners import Network, allowed
from monitor.ingest.live_call import LiveCall
from monitor.ingest.sip import SipMessage
from monitor.ingest.sip_transport import Reply

log = logging.getLogger("heatmon")

T1, T2, ACK_WAIT = 0.5, 4.0, 32.0  # RFC 3261 timers: 200 OK retransmission until the ACK
RTP_IDLE = 30.0  # seconds without RTP on any stream before the call counts as lost
MAX_LOGGED = 3  # malformed packets logged per stream (then only counted)


@dataclass
class Receiver:
    """One recorded stream's RTP socket."""

    party: str
    stream: rtp.RtpStream
    transport: asyncio.DatagramTransport | None = None
    malformed: int = 0


@dataclass
class Session:
    """One recording session: its SIP dialog and the streams it records."""

    call_id: str
    live: LiveCall
    invite: SipMessage
    to_tag: str
    answer_sdp: bytes
    reply: Reply
    receivers: list[Receiver] = field(default_factory=list)
    acked: bool = False
    last_rtp: float = 0.0
    timers: list[asyncio.Handle | asyncio.Task[None]] = field(default_factory=list)


async def _bind_rtp(
    session: Session, receiver: Receiver, host: str, ports: range | None, networks: Sequence[Network]
) -> int:
    """Give `receiver` its RTP socket on `host` (a free port of `ports`, else any); its port."""
    loop = asyncio.get_running_loop()
    candidates = list(ports) if ports else [0]
    if ports:
        random.shuffle(candidates)
    error: OSError | None = None
    for port in candidates[:200]:
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _RtpDatagrams(session, receiver, networks), local_addr=(host, port)
            )
        except OSError as err:
            error = err
            continue
        receiver.transport = transport
        return int(transport.get_extra_info("sockname")[1])
    raise error or OSError("no free port in --siprec-rtp-ports")


async def open_streams(
    session: Session,
    streams: list[sdp.Stream],
    parties: dict[int, str],
    host: str,
    ports: range | None,
    networks: Sequence[Network],
) -> list[int | None]:
    """An RTP socket for each recorded stream: the port of each m-line (None: not recorded)."""
    bound: list[int | None] = []
    for index, stream in enumerate(streams):
        if index in parties:
            pt = stream.g711()
            assert pt is not None
            receiver = Receiver(parties[index], rtp.RtpStream(pt))
            session.receivers.append(receiver)
            bound.append(await _bind_rtp(session, receiver, host, ports, networks))
        else:
            bound.append(None)
    return bound


def _on_rtp(
    session: Session, receiver: Receiver, data: bytes, peer: tuple[str, int], networks: Sequence[Network]
) -> None:
    if not allowed(peer[0], networks):
        receiver.stream.refused += 1
        return
    try:
        packet = rtp.parse(data)
    except rtp.RtpError as err:
        receiver.malformed += 1
        if receiver.malformed <= MAX_LOGGED:
            log.warning("siprec: call %s: RTP from %s refused: %s", session.call_id, peer[0], err)
        return
    source = session.live.source
    placed = receiver.stream.place(packet, source.now(receiver.party))
    if placed is not None:
        session.last_rtp = asyncio.get_running_loop().time()
        session.live.feed(receiver.party, placed[1], placed[0])


async def watch(
    session: Session, retransmit: bool, resend: Callable[[], None], lost: Callable[[str], None]
) -> None:
    """Resend the 200 OK until the ACK (UDP); the call is lost when its ACK or RTP stops coming."""
    loop = asyncio.get_running_loop()
    started, interval, resend_at = loop.time(), T1, loop.time() + T1
    while not session.live.source.closed:
        await asyncio.sleep(0.25)
        now = loop.time()
        if not session.acked:
            if now - started > ACK_WAIT:
                lost("no ACK for the 200 OK")
                return
            if retransmit and now >= resend_at:
                resend()
                interval = min(interval * 2, T2)
                resend_at = now + interval
        elif now - session.last_rtp > RTP_IDLE:
            lost(f"no RTP for {RTP_IDLE:.0f} s")
            return


def close_media(session: Session) -> None:
    """Close the session's RTP sockets and cancel its timers (all but the one running this)."""
    for receiver in session.receivers:
        if receiver.transport is not None:
            receiver.transport.close()
    for timer in session.timers:
        if timer is not asyncio.current_task():
            timer.cancel()


def stats(session: Session) -> str:
    """What each stream carried, for the log line of a call that is over."""
    lines = [
        f"{r.party} {r.stream.received} packets"
        + (f", {r.stream.reordered} reordered" if r.stream.reordered else "")
        + (f", {r.malformed + r.stream.refused} refused" if r.malformed + r.stream.refused else "")
        for r in session.receivers
    ]
    return "; ".join(lines) or "no media"


class _RtpDatagrams(asyncio.DatagramProtocol):
    def __init__(self, session: Session, receiver: Receiver, networks: Sequence[Network]) -> None:
        self.session, self.receiver, self.networks = session, receiver, networks

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        _on_rtp(self.session, self.receiver, data, (str(addr[0]), int(addr[1])), self.networks)
