"""SIPREC recording metadata (RFC 7865, `application/rs-metadata+xml`): who sends which stream.

From the metadata heatmon takes the participants (their AOR and name), the streams (their
`label`, matching the SDP's `a=label`) and `participantstreamassoc` (which participant
sends which stream). The parties are decided by one documented rule: **the first
participant listed is the caller** (recording clients list the calling party first), the
next one the agent, unless `caller_aor` (a pattern such as `tel:` or `@pstn.example.com`)
picks out the caller by AOR. A participant's number is the user part of its AOR
(`sip:+15551230000@sbc` or `tel:+15551230000` give `+15551230000`); the agent's name is its
`<name>`, else the user part of its AOR.

The XML comes from the network: a document with a DOCTYPE (entities, external references)
is refused before it is parsed, and size is bounded by the SIP message's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from monitor.ingest.sip import SipError

NS = "{urn:ietf:params:xml:ns:recording:1}"


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    aor: str = ""
    name: str = ""

    @property
    def user(self) -> str:
        """The user part of the AOR: the number of a phone, the name of an extension."""
        aor = self.aor.strip().strip("<>")
        for scheme in ("sips:", "sip:", "tel:"):
            if aor.lower().startswith(scheme):
                aor = aor[len(scheme) :]
                break
        return aor.split("@", 1)[0].split(";", 1)[0][:64]


@dataclass
class Recording:
    """The metadata's participants in order, and stream label -> sending participant."""

    participants: list[Participant] = field(default_factory=list)
    senders: dict[str, Participant] = field(default_factory=dict)  # stream label -> participant

    def caller(self, caller_aor: str | None = None) -> Participant | None:
        if caller_aor:
            chosen = [p for p in self.participants if caller_aor.lower() in p.aor.lower()]
            if chosen:
                return chosen[0]
        return self.participants[0] if self.participants else None

    def agent(self, caller_aor: str | None = None) -> Participant | None:
        caller = self.caller(caller_aor)
        return next((p for p in self.participants if p is not caller), None)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()[:128]
    return ""


def parse(body: bytes) -> Recording:
    """The participants and stream senders of a metadata document; SipError if malformed."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise SipError("recording metadata with a DOCTYPE or ENTITY is refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise SipError(f"recording metadata is not XML: {err}") from None
    if _local(root.tag) != "recording":
        raise SipError(f"recording metadata's root is <{_local(root.tag)[:20]}>, not <recording>")
    recording = Recording()
    by_id: dict[str, Participant] = {}
    stream_labels: dict[str, str] = {}  # stream_id -> label
    for element in root:
        kind = _local(element.tag)
        if kind == "participant":
            pid = element.get("participant_id") or element.get("id") or ""
            aor, name = "", ""
            for child in element:
                if _local(child.tag) == "nameID":
                    aor = (child.get("aor") or "")[:256]
                    name = _child_text(child, "name")
                elif _local(child.tag) == "aor":  # the RFC 7865 drafts' form
                    aor = (child.text or "").strip()[:256]
                elif _local(child.tag) == "name":
                    name = (child.text or "").strip()[:128]
            participant = Participant(pid, aor, name)
            recording.participants.append(participant)
            by_id[pid] = participant
        elif kind == "stream":
            sid = element.get("stream_id") or element.get("id") or ""
            stream_labels[sid] = _child_text(element, "label")
        if len(recording.participants) > 16 or len(stream_labels) > 16:
            raise SipError("recording metadata with more than 16 participants or streams")
    for element in root:
        if _local(element.tag) != "participantstreamassoc":
            continue
        sender = by_id.get(element.get("participant_id") or "")
        if sender is None:
            continue
        for child in element:
            if _local(child.tag) == "send":
                label = stream_labels.get((child.text or "").strip())
                if label:
                    recording.senders[label] = sender
    return recording
