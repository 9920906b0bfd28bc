"""Who is who in a SIPREC session: the offered SDP streams and the recording metadata mapped
to the parties (caller, agent) and the call's `CallIdentity`. Pure: no I/O, no clock."""

from __future__ import annotations

import random
import re

from monitor.ingest import metadata, sdp
from monitor.ingest.live_call import CallIdentity
from monitor.ingest.sip import SipMessage

_CALL_ID = re.compile(r"[^A-Za-z0-9._@+-]")


def parties(
    streams: list[sdp.Stream], meta: metadata.Recording | None, caller_aor: str | None
) -> dict[int, str]:
    """m-line index -> party for the (at most two) G.711 audio streams offered."""
    usable = [i for i, s in enumerate(streams) if s.media == "audio" and s.g711() is not None and s.port]
    if meta is not None:
        caller = meta.caller(caller_aor)
        by_label = {}
        for i in usable:
            sender = meta.senders.get(streams[i].label)
            if sender is not None:
                by_label[i] = "caller" if sender is caller else "agent"
        if sorted(by_label.values()) == ["agent", "caller"]:
            return by_label
    return dict(zip(usable[:2], ("caller", "agent"), strict=False))


def identity(
    invite: SipMessage, meta: metadata.Recording | None, caller_aor: str | None, source: str
) -> CallIdentity:
    """The call's identity: its Call-ID (cleaned, else a random one) and the metadata's people."""
    call = _CALL_ID.sub("", invite.call_id)[:64] or f"siprec-{random.getrandbits(32):08x}"
    caller = meta.caller(caller_aor) if meta else None
    agent = meta.agent(caller_aor) if meta else None
    return CallIdentity(
        call=call,
        agent=(agent.name or agent.user) if agent and (agent.name or agent.user) else "agent",
        caller_number=(caller.user or None) if caller else None,
        caller_name=(caller.name or None) if caller else None,
        source=source,
    )
