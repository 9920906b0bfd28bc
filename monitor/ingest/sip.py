"""The small part of SIP (RFC 3261) a recording server needs: parse a request, build a response.

heatmon only answers: it never places a call, registers or authenticates, so there is no
UAC, no dialog of its own and no digest here. Messages come from the network, so parsing
is strict about what it needs (a start line, Via, From, To, Call-ID, CSeq, a
Content-Length that matches) and bounded in size; anything else is a `SipError` whose text
is the one-line reason the caller logs and answers with (400).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAX_MESSAGE = 64 * 1024
MAX_HEADERS = 100
#: Compact header forms (RFC 3261 section 7.3.3) to their full names.
COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
}
REQUIRED = ("via", "from", "to", "call-id", "cseq")
_METHOD = re.compile(r"[A-Z]{2,16}\Z")
_TOKEN = re.compile(r"[A-Za-z0-9._!%*+`'~-]+\Z")


class SipError(Exception):
    """A message that is not SIP as we need it; the text is the reason."""


@dataclass
class SipMessage:
    """A request (`method`, `uri`) or a response (`status`), its headers and body."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # (lower-case name, value)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        """The first value of a header (full name, any case)."""
        name = name.lower()
        return next((v for n, v in self.headers if n == name), default)

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    @property
    def call_id(self) -> str:
        return self.get("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.get("cseq").partition(" ")
        return int(number), method.strip()

    def options(self, name: str) -> set[str]:
        """The comma-separated option tags of a header such as Require or Supported."""
        return {tag.strip().lower() for value in self.all(name) for tag in value.split(",") if tag.strip()}


def parse(data: bytes) -> SipMessage:
    """One SIP message from a datagram (or a stream's framed message)."""
    if len(data) > MAX_MESSAGE:
        raise SipError(f"message of {len(data)} bytes is over {MAX_MESSAGE}")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipError("no blank line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipError("headers are not UTF-8") from None
    lines = text.split("\r\n")
    message = _start_line(lines[0])
    for line in _unfold(lines[1:]):
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _TOKEN.match(name):
            raise SipError(f"malformed header line {line[:40]!r}")
        message.headers.append((COMPACT.get(name, name), value.strip()))
        if len(message.headers) > MAX_HEADERS:
            raise SipError(f"more than {MAX_HEADERS} headers")
    missing = [n for n in REQUIRED if not message.get(n)]
    if missing:
        raise SipError(f"missing {', '.join(missing)}")
    number, _, method = message.get("cseq").partition(" ")
    if not number.strip().isdigit() or not _METHOD.match(method.strip()):
        raise SipError(f"malformed CSeq {message.get('cseq')[:40]!r}")
    length = message.get("content-length", "")
    if length:
        if not length.isdigit() or int(length) > len(body):
            raise SipError(f"Content-Length {length[:12]!r} does not match the body ({len(body)} bytes)")
        body = body[: int(length)]
    message.body = body
    return message


def _start_line(line: str) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SIP/2.0":
        if not parts[1].isdigit() or len(parts[1]) != 3:
            raise SipError(f"malformed status line {line[:40]!r}")
        return SipMessage(status=int(parts[1]), reason=parts[2])
    if len(parts) == 3 and parts[2] == "SIP/2.0" and _METHOD.match(parts[0]) and parts[1]:
        return SipMessage(method=parts[0], uri=parts[1])
    raise SipError(f"not a SIP start line: {line[:40]!r}")


def _unfold(lines: Iterable[str]) -> list[str]:
    """Header lines with continuation lines (leading whitespace) joined to the one before."""
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        elif line:
            out.append(line)
    return out


def frame(buffer: bytearray) -> bytes | None:
    """Take one whole message off the front of a TCP stream buffer (None: not all there yet).
    SipError if the buffer cannot be a SIP stream (no headers end in sight, no Content-Length)."""
    while buffer[:2] == b"\r\n":  # keep-alive CRLFs (RFC 5626)
        del buffer[:2]
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_MESSAGE:
            raise SipError("no end of headers within 64 KiB")
        return None
    head = bytes(buffer[:end]).decode("latin-1")
    found = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", head)
    if found is None:
        raise SipError("a message over TCP needs a Content-Length")
    total = end + 4 + int(found.group(1))
    if total > MAX_MESSAGE:
        raise SipError(f"message of {total} bytes is over {MAX_MESSAGE}")
    if len(buffer) < total:
        return None
    message = bytes(buffer[:total])
    del buffer[:total]
    return message


def response(
    request: SipMessage,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """The response to `request`: its Via, From, Call-ID and CSeq copied, To tagged if asked."""
    lines = [f"SIP/2.0 {status} {reason}"]
    for via in request.all("via"):
        lines.append(f"Via: {via}")
    lines.append(f"From: {request.get('from')}")
    to = request.get("to")
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {request.call_id}")
    lines.append(f"CSeq: {request.get('cseq')}")
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a multipart/mixed body, by their (lower-case) content type; one part
    bodies come back as themselves. SipError when the body does not fit its type."""
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if kind != "multipart/mixed":
        return {kind: body}
    found = re.search(r'(?i)boundary\s*=\s*"?([^";]+)"?', params)
    if found is None:
        raise SipError("multipart/mixed without a boundary")
    boundary = b"--" + found.group(1).strip().encode()
    parts: dict[str, bytes] = {}
    chunks = body.split(boundary)
    if len(chunks) < 3:
        raise SipError("multipart body without its parts")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        if not sep:
            raise SipError("a multipart part without headers")
        part_type = ""
        for line in head.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-type":
                part_type = value.split(";")[0].strip().lower()
        if not part_type:
            raise SipError("a multipart part without a Content-Type")
        parts[part_type] = content.removesuffix(b"\r\n").removesuffix(b"\n")
        if len(parts) > 8:
            raise SipError("more than 8 parts")
    return parts
