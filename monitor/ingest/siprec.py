"""SIPREC (RFC 7866): heatmon as the recording server (SRS) a session border controller or
PBX (the recording client, SRC) sends its calls to.

- SIP over UDP and TCP on one port (`--siprec HOST:PORT`); only peers in `--allow` are
  answered (403 otherwise). OPTIONS is answered 200 (SBCs ping their recorders with it).
- An INVITE with `Require: siprec` (or a Contact with `+sip.src`) carries a
  `multipart/mixed` body: SDP with one `m=audio` per recorded stream (`a=sendonly`,
  `a=label`), and `application/rs-metadata+xml` saying who sends which stream (see
  `metadata` for the caller/agent rule; without metadata the first stream is the caller's).
  heatmon answers 200 OK with SDP `a=recvonly` and an RTP port per G.711 stream (PCMU 0,
  PCMA 8), retransmitted over UDP until the ACK. Past `--max-calls` the answer is
  486 Busy Here; while stopping, 503. Malformed SIP, SDP or XML is a 400 with the reason.
- RTP per stream is placed by its timestamp (`rtp.RtpStream`): reordering, jitter and loss
  leave each word where it was said. BYE (or CANCEL before the ACK) ends the call as
  `hangup`; no RTP for 30 s, or no ACK, ends it as `connection_lost`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from monitor.errors import InputError
from monitor.ingest import metadata, rtp, sdp
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.listeners import LOOPBACK, ListenerKind, Network, allowed, register
from monitor.ingest.live_call import CONNECTION_LOST, HANGUP, CallIdentity, LiveCall
from monitor.ingest.sip import SipError, SipMessage, frame, multipart, parse, response

log = logging.getLogger("heatmon")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
ACCEPT = "application/sdp, application/rs-metadata+xml, multipart/mixed"
T1, T2, ACK_WAIT = 0.5, 4.0, 32.0  # RFC 3261 timers: 200 OK retransmission until the ACK
RTP_IDLE = 30.0  # seconds without RTP on any stream before the call counts as lost
BYE_GRACE = 0.3  # seconds of RTP still taken after a BYE (packets in flight, jitter)
MAX_LOGGED = 3  # malformed packets logged per stream (then only counted)
_CALL_ID = re.compile(r"[^A-Za-z0-9._@+-]")

Reply = Callable[[bytes], None]


@dataclass
class _Receiver:
    """One recorded stream's RTP socket."""

    party: str
    stream: rtp.RtpStream
    transport: asyncio.DatagramTransport | None = None
    malformed: int = 0


@dataclass
class _Session:
    call_id: str
    live: LiveCall
    invite: SipMessage
    to_tag: str
    answer_sdp: bytes
    reply: Reply
    receivers: list[_Receiver] = field(default_factory=list)
    acked: bool = False
    last_rtp: float = 0.0
    timers: list[asyncio.Handle | asyncio.Task[None]] = field(default_factory=list)


class SiprecListener:
    """The SIPREC recording server of one `heatmon ingest`."""

    def __init__(
        self,
        desk: CallDesk,
        networks: Sequence[Network],
        *,
        advertise: str | None = None,
        rtp_ports: range | None = None,
        caller_aor: str | None = None,
    ) -> None:
        self.desk = desk
        self.networks = tuple(networks)
        self.advertise = advertise
        self.rtp_ports = rtp_ports
        self.caller_aor = caller_aor
        self.sessions: dict[str, _Session] = {}
        self.refused: list[str] = []  # why requests were refused (the last 50)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._host = "127.0.0.1"

    @property
    def address(self) -> tuple[str, int]:
        assert self._udp is not None
        name = self._udp.get_extra_info("sockname")
        return str(name[0]), int(name[1])

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._host = host
        # UDP and TCP on one port: with port 0 the OS picks UDP's, which TCP may have taken
        # for another program, so then try another.
        for attempt in range(1 if port else 20):
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _SipDatagrams(self), local_addr=(host, port)
            )
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, host, self.address[1])
                return
            except OSError:
                self._udp.close()
                self._udp = None
                if port or attempt == 19:
                    raise

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            self._end(session, CONNECTION_LOST)
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)
        if self._udp is not None:
            self._udp.close()

    # -- transports --------------------------------------------------------------------------

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        buffer = bytearray()
        try:
            if not allowed(str(peer[0]), self.networks):
                self._note(f"{peer[0]}: not in --allow (TCP connection closed)")
                return
            while data := await reader.read(65536):
                buffer += data
                while (message := frame(buffer)) is not None:
                    self.handle(message, (str(peer[0]), int(peer[1])), writer.write, "TCP")
        except SipError as err:
            self._note(f"{peer[0]}: {err} (TCP connection closed)")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def handle(self, data: bytes, peer: tuple[str, int], reply: Reply, transport: str) -> None:
        """One SIP message from `peer`; answers go through `reply`."""
        try:
            message = parse(data)
        except SipError as err:
            self._note(f"{peer[0]}:{peer[1]}: SIP message refused: {err}")
            return  # too broken to answer
        if not message.is_request:
            return  # we send no requests, so no response is ours
        if not allowed(peer[0], self.networks):
            self._note(f"{peer[0]}: {message.method} refused: not in --allow")
            reply(response(message, 403, "Forbidden"))
            return
        try:
            self._request(message, peer, reply, transport)
        except SipError as err:
            self._note(f"{peer[0]}: {message.method} refused: {err}")
            if message.method != "ACK":
                reply(response(message, 400, "Bad Request", headers=[_warning(str(err))]))

    def _note(self, why: str) -> None:
        log.warning("siprec: %s", why)
        self.refused = [*self.refused[-49:], why]

    # -- requests ----------------------------------------------------------------------------

    def _request(self, message: SipMessage, peer: tuple[str, int], reply: Reply, transport: str) -> None:
        method = message.method
        session = self.sessions.get(message.call_id)
        if method == "OPTIONS":
            headers = [("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", "siprec")]
            reply(response(message, 200, "OK", to_tag=_tag(), headers=headers))
        elif method == "INVITE":
            if session is not None:
                self._reinvite(session, message, reply)
            else:
                self._invite(message, peer, reply, transport)
        elif method == "ACK":
            if session is not None:
                session.acked = True
        elif method == "BYE":
            reply(response(message, 200 if session else 481, "OK" if session else "Call Does Not Exist"))
            if session is not None:
                # RTP sent just before the BYE may still be on its way: hear it out first.
                log.info("siprec: call %s ended by BYE", session.call_id)
                session.live.ended_by = session.live.ended_by or HANGUP
                asyncio.get_running_loop().call_later(BYE_GRACE, self._end, session, HANGUP)
        elif method == "CANCEL":
            if session is None or session.acked:
                reply(response(message, 481, "Call/Transaction Does Not Exist"))
                return
            reply(response(message, 200, "OK"))
            session.reply(response(session.invite, 487, "Request Terminated", to_tag=session.to_tag))
            self._end(session, HANGUP)
        else:
            reply(response(message, 405, "Method Not Allowed", headers=[("Allow", ALLOW)]))

    def _reinvite(self, session: _Session, message: SipMessage, reply: Reply) -> None:
        if ";tag=" not in message.get("to"):  # a retransmission of the first INVITE
            if session.acked or not session.answer_sdp:
                return  # answered and acknowledged, or the answer is still being made
            reply(self._ok(session, session.invite))
            return
        reply(self._ok(session, message))  # a re-INVITE (updated metadata): the same media

    def _invite(self, invite: SipMessage, peer: tuple[str, int], reply: Reply, transport: str) -> None:
        recording = "siprec" in invite.options("require") or "+sip.src" in invite.get("contact")
        if not recording:
            reply(response(invite, 488, "Not Acceptable Here", headers=[_warning("only SIPREC sessions")]))
            self._note(f"{peer[0]}: INVITE refused: not a SIPREC session (no Require: siprec)")
            return
        reply(response(invite, 100, "Trying"))
        parts = multipart(invite.get("content-type"), invite.body)
        if "application/sdp" not in parts:
            raise SipError("INVITE without an SDP offer")
        try:
            address, streams = sdp.parse(parts["application/sdp"].decode("utf-8"))
        except UnicodeDecodeError:
            raise SipError("SDP is not UTF-8") from None
        meta = (
            metadata.parse(parts["application/rs-metadata+xml"])
            if "application/rs-metadata+xml" in parts
            else None
        )
        parties = self._parties(streams, meta)
        if not parties:
            reply(response(invite, 488, "Not Acceptable Here", headers=[_warning("no G.711 audio stream")]))
            self._note(f"{peer[0]}: INVITE refused: no PCMU or PCMA stream")
            return
        identity = self._identity(invite, meta, f"siprec {peer[0]}:{peer[1]} over {transport}")
        try:
            live = self.desk.open(identity)
        except Refused as err:
            stopping = self.desk.closing
            code, reason = (503, "Service Unavailable") if stopping else (486, "Busy Here")
            if not err.busy:
                code, reason = 403, "Forbidden"
            reply(response(invite, code, reason, headers=[_warning(err.reason)]))
            self._note(f"{peer[0]}: INVITE refused: {err.reason}")
            return
        session = _Session(identity.call, live, invite, _tag(), b"", reply)
        self.sessions[identity.call] = session
        assert live.task is not None
        live.task.add_done_callback(lambda _: self._forget(session))
        asyncio.get_running_loop().create_task(self._answer(session, streams, parties, address, transport))

    async def _answer(
        self,
        session: _Session,
        streams: list[sdp.Stream],
        parties: dict[int, str],
        address: str,
        transport: str,
    ) -> None:
        try:
            ports: list[int | None] = []
            for index, stream in enumerate(streams):
                if index in parties:
                    pt = stream.g711()
                    assert pt is not None
                    receiver = _Receiver(parties[index], rtp.RtpStream(pt))
                    session.receivers.append(receiver)
                    ports.append(await self._bind_rtp(session, receiver))
                else:
                    ports.append(None)
        except OSError as err:
            self._note(f"call {session.call_id}: no RTP port: {err}")
            session.reply(
                response(session.invite, 503, "Service Unavailable", headers=[_warning("no RTP port")])
            )
            self._end(session, CONNECTION_LOST)
            return
        advertised = self.advertise or self._advertised(session.invite)
        body = sdp.answer(streams, ports, advertised, random.getrandbits(31))
        session.answer_sdp = body.encode()
        session.reply(self._ok(session, session.invite))
        loop = asyncio.get_running_loop()
        session.last_rtp = loop.time()
        session.timers.append(loop.create_task(self._watch(session, transport == "UDP")))
        log.info(
            "siprec: call %s answered: %s",
            session.call_id,
            ", ".join(
                f"{r.party} on RTP port {p}"
                for r, p in zip(session.receivers, filter(None, ports), strict=False)
            ),
        )

    def _ok(self, session: _Session, request: SipMessage) -> bytes:
        host, port = self.advertise or self._advertised(session.invite), self.address[1]
        contact = f"<sip:heatmon@{_host(host)}:{port}>;+sip.srs"
        return response(
            request,
            200,
            "OK",
            to_tag=session.to_tag,
            headers=[("Contact", contact), ("Allow", ALLOW), ("Supported", "siprec")],
            body=session.answer_sdp,
            content_type="application/sdp",
        )

    async def _watch(self, session: _Session, retransmit: bool) -> None:
        """Resend the 200 OK until the ACK (UDP); end the call when its ACK or RTP stops coming."""
        loop = asyncio.get_running_loop()
        started, interval, resend_at = loop.time(), T1, loop.time() + T1
        while not session.live.source.closed:
            await asyncio.sleep(0.25)
            now = loop.time()
            if not session.acked:
                if now - started > ACK_WAIT:
                    self._note(f"call {session.call_id}: no ACK for the 200 OK")
                    self._end(session, CONNECTION_LOST)
                    return
                if retransmit and now >= resend_at:
                    session.reply(self._ok(session, session.invite))
                    interval = min(interval * 2, T2)
                    resend_at = now + interval
            elif now - session.last_rtp > RTP_IDLE:
                self._note(f"call {session.call_id}: no RTP for {RTP_IDLE:.0f} s")
                self._end(session, CONNECTION_LOST)
                return

    async def _bind_rtp(self, session: _Session, receiver: _Receiver) -> int:
        loop = asyncio.get_running_loop()
        candidates = list(self.rtp_ports) if self.rtp_ports else [0]
        if self.rtp_ports:
            random.shuffle(candidates)
        error: OSError | None = None
        for port in candidates[:200]:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _RtpDatagrams(self, session, receiver), local_addr=(self._host, port)
                )
            except OSError as err:
                error = err
                continue
            receiver.transport = transport
            return int(transport.get_extra_info("sockname")[1])
        raise error or OSError("no free port in --siprec-rtp-ports")

    def on_rtp(self, session: _Session, receiver: _Receiver, data: bytes, peer: tuple[str, int]) -> None:
        if not allowed(peer[0], self.networks):
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

    # -- calls -------------------------------------------------------------------------------

    def _parties(self, streams: list[sdp.Stream], meta: metadata.Recording | None) -> dict[int, str]:
        """m-line index -> party for the (at most two) G.711 audio streams offered."""
        usable = [i for i, s in enumerate(streams) if s.media == "audio" and s.g711() is not None and s.port]
        if meta is not None:
            caller = meta.caller(self.caller_aor)
            by_label = {}
            for i in usable:
                sender = meta.senders.get(streams[i].label)
                if sender is not None:
                    by_label[i] = "caller" if sender is caller else "agent"
            if sorted(by_label.values()) == ["agent", "caller"]:
                return by_label
        return dict(zip(usable[:2], ("caller", "agent"), strict=False))

    def _identity(self, invite: SipMessage, meta: metadata.Recording | None, source: str) -> CallIdentity:
        call = _CALL_ID.sub("", invite.call_id)[:64] or f"siprec-{random.getrandbits(32):08x}"
        caller = meta.caller(self.caller_aor) if meta else None
        agent = meta.agent(self.caller_aor) if meta else None
        return CallIdentity(
            call=call,
            agent=(agent.name or agent.user) if agent and (agent.name or agent.user) else "agent",
            caller_number=(caller.user or None) if caller else None,
            caller_name=(caller.name or None) if caller else None,
            source=source,
        )

    def _advertised(self, invite: SipMessage) -> str:
        """The address to put in our SDP and Contact: the one we listen on, or (on a wildcard
        address) the one the INVITE was sent to."""
        if self._host not in ("0.0.0.0", "::", ""):
            return self._host
        host = invite.uri.split("@")[-1].split(";")[0].rsplit(":", 1)[0].strip("[]")
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return "127.0.0.1"

    def _end(self, session: _Session, reason: str) -> None:
        session.live.end(reason)
        self._close_media(session)

    def _forget(self, session: _Session) -> None:
        self._close_media(session)
        if self.sessions.get(session.call_id) is session:
            del self.sessions[session.call_id]
        stats = [
            f"{r.party} {r.stream.received} packets"
            + (f", {r.stream.reordered} reordered" if r.stream.reordered else "")
            + (f", {r.malformed + r.stream.refused} refused" if r.malformed + r.stream.refused else "")
            for r in session.receivers
        ]
        log.info("siprec: call %s over: %s", session.call_id, "; ".join(stats) or "no media")

    def _close_media(self, session: _Session) -> None:
        for receiver in session.receivers:
            if receiver.transport is not None:
                receiver.transport.close()
        for timer in session.timers:
            if timer is not asyncio.current_task():
                timer.cancel()


class _SipDatagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: SiprecListener) -> None:
        self.listener = listener
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = (str(addr[0]), int(addr[1]))
        transport = self.transport
        assert transport is not None
        self.listener.handle(data, peer, lambda out: transport.sendto(out, addr), "UDP")


class _RtpDatagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: SiprecListener, session: _Session, receiver: _Receiver) -> None:
        self.listener, self.session, self.receiver = listener, session, receiver

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.listener.on_rtp(self.session, self.receiver, data, (str(addr[0]), int(addr[1])))


def _tag() -> str:
    return f"{random.getrandbits(48):012x}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _warning(text: str) -> tuple[str, str]:
    clean = text.replace('"', "'").replace("\r", " ").replace("\n", " ")[:120]
    return ("Warning", f'399 heatmon "{clean}"')


def _port_range(text: str) -> range:
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high if sep else low)
    except ValueError:
        raise InputError(f"--siprec-rtp-ports takes LOW-HIGH, like 40000-40999, not {text!r}") from None
    if not 1024 <= first <= last <= 65535:
        raise InputError(f"--siprec-rtp-ports {text!r} must lie within 1024-65535, low before high")
    return range(first, last + 1)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("siprec")
    group.add_argument(
        "--siprec-rtp-ports",
        metavar="LOW-HIGH",
        help="UDP ports for the recorded RTP (default: any free port)",
    )
    group.add_argument(
        "--siprec-address",
        metavar="ADDR",
        help="address to give the recording client for RTP (default: the bound one)",
    )
    group.add_argument(
        "--siprec-caller-aor",
        metavar="TEXT",
        help="the participant whose AOR contains TEXT is the caller (default: the first listed)",
    )


def check(args: argparse.Namespace) -> None:
    ports = getattr(args, "siprec_rtp_ports", None)
    if ports:
        _port_range(ports)


async def start(desk: CallDesk, address: tuple[str, int], args: argparse.Namespace) -> SiprecListener:
    ports = getattr(args, "siprec_rtp_ports", None)
    listener = SiprecListener(
        desk,
        getattr(args, "allow_networks", None) or LOOPBACK,
        advertise=getattr(args, "siprec_address", None),
        rtp_ports=_port_range(ports) if ports else None,
        caller_aor=getattr(args, "siprec_caller_aor", None),
    )
    await listener.start(*address)
    return listener


KIND = register(
    ListenerKind(
        name="siprec",
        help="SIPREC recording server, SIP over UDP and TCP",
        default_port=5060,
        start=start,
        add_options=add_options,
        check=check,
    )
)
