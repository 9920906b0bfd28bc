"""A readable live view of events for a terminal (`heatmon run --console`, `replay --console`)."""

from __future__ import annotations

import itertools
import shutil
import unicodedata
from typing import TextIO

from monitor.events import Alert, CallEnded, CallStarted, Coach, Event, Heat, Partial, Turn

CUT = "…"
#: Bidirectional-text controls: they reorder what a terminal shows ("gnp.exe" as "exe.png").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` safe to print to a terminal: C0 and C1 control characters (escape sequences, a
    bell, a carriage return that hides what came before), DEL and bidi controls are shown as
    visible escapes (`\\x1b`, `\\u202e`) instead of acting. Ids, names and transcripts come
    from publishers and phone systems; none of it may drive the terminal."""
    if text.isprintable() and not _BIDI.intersection(text):
        return text  # the usual case, checked in C
    return "".join(
        _visible(ch) if (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in _BIDI) else ch for ch in text
    )


def _clock(t: float) -> str:
    """mm:ss.s, tenths floored like every other clock of heatmon (59.99 s is 00:59.9, not 00:60.0)."""
    tenths = int(max(0.0, t) * 10 + 1e-6)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"


def _head(event: Event, show_call: bool) -> str:
    return f"[{event.call} {_clock(event.t)}]" if show_call else f"[{_clock(event.t)}]"


def _coach_line(event: Coach) -> str:
    if not event.prompt:
        # Progress only: the agent took a step and there is nothing to tell them, so no COACH line.
        done = [step for step, is_done in (event.done or {}).items() if is_done]
        todo = "" if (event.done or {}).get(event.step) else f"; next {event.step}"
        return f"STEPS done: {', '.join(done) or 'none'}{todo}"
    phrases = " | ".join(event.phrases)
    return f"COACH {event.step}: {event.prompt}" + (f"  say: {phrases}" if phrases else "")


def _body(event: Event) -> str | None:
    if isinstance(event, CallStarted):
        return f"call started, agent: {event.agent}, from {event.source or 'unknown source'}"
    if isinstance(event, Partial):
        return f"{event.speaker.upper():6} {CUT} {event.text}"
    if isinstance(event, Turn):
        mood = ""
        if event.sentiment is not None:
            score = event.sentiment.get("score", event.sentiment.get("compound", 0.0))
            mood = f"  ({score:+.2f})"
        return f"{event.speaker.upper():6} {event.text}{mood}"
    if isinstance(event, Heat):
        why = f": {'; '.join(event.reasons)}" if event.reasons else ""
        return f"HEAT {event.value:5.1f} {event.level.upper()}{why}"
    if isinstance(event, Alert):
        evidence = f'  "{" / ".join(event.evidence)}"' if event.evidence else ""
        return f"ALERT [{event.level}] {event.message}{evidence}"
    if isinstance(event, Coach):
        return _coach_line(event)
    if isinstance(event, CallEnded):
        peak = (event.summary or {}).get("peak_heat")
        return f"call ended after {_clock(event.duration)}" + (
            f", peak heat {peak}" if peak is not None else ""
        )
    return None


def char_columns(ch: str) -> int:
    """Terminal columns one character takes: CJK wide and full-width forms two, combining marks none."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_columns(text: str) -> int:
    """Terminal columns `text` takes (not its length: Korean syllables are two columns each)."""
    return sum(char_columns(ch) for ch in text)


def _start_fitting(text: str, columns: int) -> str:
    """The longest start of `text` that fits in `columns`."""
    used = 0
    for i, ch in enumerate(text):
        used += char_columns(ch)
        if used > columns:
            return text[:i]
    return text


def _end_fitting(text: str, columns: int) -> str:
    """The longest end of `text` that fits in `columns`, from a whole word when there is one."""
    start, used = len(text), 0
    while start > 0 and used + char_columns(text[start - 1]) <= columns:
        start -= 1
        used += char_columns(text[start])
    tail = text[start:]
    if start > 0 and not text[start - 1].isspace():
        # Half a word reads as a different word; skip to the next one if that leaves any.
        _, space, rest = tail.partition(" ")
        tail = rest if space and rest else tail
    # A combining mark whose base was cut off would be drawn on the ellipsis.
    return "".join(itertools.dropwhile(unicodedata.combining, tail))


def fit_newest(lead: str, text: str, columns: int) -> str:
    """`lead` and as much of the end of `text` as fits in `columns`, '…' where words were cut.

    The end of a partial is what the recogniser is still working on and what the agent is
    reading, so the oldest words are the ones that give way.
    """
    whole = f"{lead}{CUT} {text}"
    if text_columns(whole) <= columns:
        return whole
    room = columns - text_columns(lead) - text_columns(CUT)
    if room >= 0:
        return f"{lead}{CUT}{_end_fitting(text, room)}"
    # Too narrow even for the time and speaker: cut like any other line.
    return _start_fitting(whole, columns - text_columns(CUT)) + CUT if columns > 0 else ""


class ConsoleView:
    """Formats each event as one line; partial text is shown in place on a terminal.

    The call id is left out of the lines while only one call has been seen, as it is the
    same on every line; from the second call on, every line carries it. `show_call` fixes
    that choice up front instead (the first lines of a multi-call run then have it too).
    """

    def __init__(self, out: TextIO, *, show_call: bool | None = None) -> None:
        self._out = out
        self._tty = out.isatty()
        self._partial_shown = False
        self._show_call = show_call
        self._first_call: str | None = None

    def __call__(self, event: Event) -> None:
        show_call = self._shows_call(event)
        if isinstance(event, Partial):
            self._show_partial(event, show_call)
            return
        line = self.format(event, show_call=show_call)
        if line is None:
            return
        # The partial never wraps (see _show_partial), so clearing its one row clears all of it.
        self._clear_partial()
        self._out.write(line + "\n")
        self._out.flush()

    def _shows_call(self, event: Event) -> bool:
        if self._show_call is None:
            if self._first_call is None:
                self._first_call = event.call
            elif event.call != self._first_call:
                self._show_call = True
        return bool(self._show_call)

    def _show_partial(self, event: Partial, show_call: bool) -> None:
        if not self._tty:
            return  # a file or pipe cannot rewrite a line, and every rewrite would be noise there
        lead = inert(f"{_head(event, show_call)} {event.speaker.upper():6} ")
        # Read on every partial so a resized terminal is respected. One column is kept free:
        # some terminals wrap as soon as the last column is written, and "\r\033[K" would then
        # clear the empty row below and leave this one behind.
        columns = shutil.get_terminal_size(fallback=(80, 24)).columns - 1
        text = inert(" ".join(event.text.split()))  # a stray newline or tab would break the row too
        self._out.write("\r\033[K" + fit_newest(lead, text, columns))
        self._partial_shown = True
        self._out.flush()

    def _clear_partial(self) -> None:
        if self._partial_shown:
            self._out.write("\r\033[K")
            self._partial_shown = False

    @staticmethod
    def format(event: Event, *, show_call: bool = True) -> str | None:
        """The one-line text for an event (None: nothing to show), uncut."""
        body = _body(event)
        return None if body is None else inert(f"{_head(event, show_call)} {body}")
