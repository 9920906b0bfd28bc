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
import functools
import ipaddress
import logging
import random
from collections.abc import Sequence

from monitor.ingest import metadata, sdp, siprec_options, siprec_parties
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.listeners import LOOPBACK, ListenerKind, Network, allowed, register
from monitor.ingest.live_call import CONNECTION_LOST, HANGUP
from monitor.ingest.sip import SipError, SipMessage, multipart, parse, response
from monitor.ingest.sip_transport import Reply, SipTransport
from monitor.ingest.siprec_media import Session, close_media, open_streams, stats, watch

log = logging.getLogger("heatmon")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
ACCEPT = "application/sdp, application/rs-metadata+xml, multipart/mixed"
BYE_GRACE = 0.3  # seconds of RTP still taken after a BYE (packets in flight, jitter)


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
        self.sessions: dict[str, Session] = {}
        self.refused: list[str] = []  # why requests were refused (the last 50)
        self._host = "127.0.0.1"
        self._sip = SipTransport(self.handle, self.networks, self._note)

    @property
    def address(self) -> tuple[str, int]:
        return self._sip.address

    async def start(self, host: str, port: int) -> None:
        self._host = host
        await self._sip.start(host, port)

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            self._end(session, CONNECTION_LOST)
        await self._sip.close()

    # -- requests ----------------------------------------------------------------------------

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

    def _reinvite(self, session: Session, message: SipMessage, reply: Reply) -> None:
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
        parties = siprec_parties.parties(streams, meta, self.caller_aor)
        if not parties:
            reply(response(invite, 488, "Not Acceptable Here", headers=[_warning("no G.711 audio stream")]))
            self._note(f"{peer[0]}: INVITE refused: no PCMU or PCMA stream")
            return
        identity = siprec_parties.identity(
            invite, meta, self.caller_aor, f"siprec {peer[0]}:{peer[1]} over {transport}"
        )
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
        session = Session(identity.call, live, invite, _tag(), b"", reply)
        self.sessions[identity.call] = session
        assert live.task is not None
        live.task.add_done_callback(lambda _: self._forget(session))
        asyncio.get_running_loop().create_task(self._answer(session, streams, parties, address, transport))

    async def _answer(
        self,
        session: Session,
        streams: list[sdp.Stream],
        parties: dict[int, str],
        address: str,
        transport: str,
    ) -> None:
        try:
            ports = await open_streams(session, streams, parties, self._host, self.rtp_ports, self.networks)
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
        resend = functools.partial(self._resend, session)
        lost = functools.partial(self._lost, session)
        session.timers.append(loop.create_task(watch(session, transport == "UDP", resend, lost)))
        log.info(
            "siprec: call %s answered: %s",
            session.call_id,
            ", ".join(
                f"{r.party} on RTP port {p}"
                for r, p in zip(session.receivers, filter(None, ports), strict=False)
            ),
        )

    def _ok(self, session: Session, request: SipMessage) -> bytes:
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

    # -- calls -------------------------------------------------------------------------------

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

    def _end(self, session: Session, reason: str) -> None:
        session.live.end(reason)
        close_media(session)

    def _resend(self, session: Session) -> None:
        session.reply(self._ok(session, session.invite))

    def _lost(self, session: Session, why: str) -> None:
        self._note(f"call {session.call_id}: {why}")
        self._end(session, CONNECTION_LOST)

    def _forget(self, session: Session) -> None:
        close_media(session)
        if self.sessions.get(session.call_id) is session:
            del self.sessions[session.call_id]
        log.info("siprec: call %s over: %s", session.call_id, stats(session))


def _tag() -> str:
    return f"{random.getrandbits(48):012x}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _warning(text: str) -> tuple[str, str]:
    clean = text.replace('"', "'").replace("\r", " ").replace("\n", " ")[:120]
    return ("Warning", f'399 heatmon "{clean}"')


async def start(desk: CallDesk, address: tuple[str, int], args: argparse.Namespace) -> SiprecListener:
    ports = getattr(args, "siprec_rtp_ports", None)
    listener = SiprecListener(
        desk,
        getattr(args, "allow_networks", None) or LOOPBACK,
        advertise=getattr(args, "siprec_address", None),
        rtp_ports=siprec_options.port_range(ports) if ports else None,
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
        add_options=siprec_options.add_options,
        check=siprec_options.check,
    )
)
