"""Twilio Media Streams messages: parsed and checked without I/O, and Twilio's signature.

The messages (JSON text frames) of one websocket, which carries one call:
- `connected`: the first; nothing to do.
- `start`: `start.callSid` is the call's id; `start.customParameters` (the TwiML's
  `<Parameter>`s) name the agent (`agent`), the caller's number (`caller`) and name
  (`callerName`); `start.mediaFormat` must be audio/x-mulaw, 8000 Hz, mono.
- `media`: `media.track` inbound = the caller, outbound = the agent; `media.payload` is
  base64 mu-law; `media.timestamp` (milliseconds of stream time, a string) places the audio
  in the call, so frames lost on the way leave a gap where they were instead of pulling
  the rest of the call earlier, and jitter is absorbed.
- `stop`: the call is over.

A message that does not fit raises `Malformed` with a one-line reason. `signature` is
what `X-Twilio-Signature` must say: base64 HMAC-SHA1, keyed with the account's auth
token, of the URL Twilio connected to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

RATE = 8000
TRACKS = {"inbound": "caller", "outbound": "agent"}
MAX_PAYLOAD = RATE  # bytes of mu-law in one media message: one second
SID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_FIELD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class Malformed(Exception):
    """A message that does not fit Media Streams; its text is the one-line reason."""


def signature(token: str, url: str) -> str:
    """Twilio's request signature for a websocket (no POST parameters): base64 HMAC-SHA1."""
    digest = hmac.new(token.encode(), url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _field(value: Any, name: str, limit: int = 128) -> str | None:
    """A customParameters value as a clean string (None if absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"customParameters.{name} must be a string")
    value = _FIELD_CHARS.sub("", value).strip()
    if len(value) > limit:
        raise Malformed(f"customParameters.{name} is longer than {limit} characters")
    return value or None


def parse_start(message: dict[str, Any]) -> tuple[str, dict[str, str | None], list[str]]:
    """(callSid, named parties, tracks) from a `start` message; Malformed if it does not fit."""
    start = message.get("start")
    if not isinstance(start, dict):
        raise Malformed("start message without a start object")
    call_sid = start.get("callSid")
    if not isinstance(call_sid, str) or not SID.match(call_sid):
        raise Malformed("start.callSid missing or not an id")
    media_format = start.get("mediaFormat")
    if not isinstance(media_format, dict) or (
        media_format.get("encoding"),
        media_format.get("sampleRate"),
        media_format.get("channels"),
    ) != ("audio/x-mulaw", RATE, 1):
        raise Malformed(f"start.mediaFormat must be audio/x-mulaw 8000 Hz mono, not {str(media_format)[:80]}")
    tracks = start.get("tracks", ["inbound"])
    if not isinstance(tracks, list) or not tracks or any(t not in TRACKS for t in tracks):
        raise Malformed("start.tracks must list inbound and/or outbound")
    params = start.get("customParameters") or {}
    if not isinstance(params, dict):
        raise Malformed("start.customParameters must be an object")
    names = {
        "agent": _field(params.get("agent"), "agent"),
        "caller": _field(params.get("caller"), "caller", 64),
        "callerName": _field(params.get("callerName"), "callerName"),
    }
    return call_sid, names, tracks


def parse_media(message: dict[str, Any]) -> tuple[str, bytes, int | None]:
    """(party, mu-law bytes, timestamp in ms or None) from a `media` message."""
    media = message.get("media")
    if not isinstance(media, dict):
        raise Malformed("media message without a media object")
    party = TRACKS.get(media.get("track", "inbound"))
    if party is None:
        raise Malformed(f"media.track {str(media.get('track'))[:20]!r} is not inbound or outbound")
    payload = media.get("payload")
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD * 4 // 3 + 4:
        raise Malformed("media.payload missing, not a string, or over a second of audio")
    try:
        audio = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("media.payload is not base64") from None
    stamp = media.get("timestamp")
    timestamp: int | None = None
    if stamp is not None:
        if isinstance(stamp, bool) or not isinstance(stamp, (str, int)) or not str(stamp).isdigit():
            raise Malformed("media.timestamp is not a whole number of milliseconds")
        timestamp = int(stamp)
    return party, audio, timestamp


def decode(raw: str | bytes) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raise Malformed("a binary frame (Media Streams sends JSON text)")
    try:
        message = json.loads(raw)
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(message, dict):
        raise Malformed("not a JSON object")
    return message
