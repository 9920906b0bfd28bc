"""A readable live view of events for a terminal (`heatmon run --console`, `replay --console`)."""

from __future__ import annotations

from typing import TextIO

from monitor.events import Alert, CallEnded, CallStarted, Coach, Event, Heat, Partial, Turn


def _clock(t: float) -> str:
    minutes, seconds = divmod(max(0.0, t), 60)
    return f"{int(minutes):02d}:{seconds:04.1f}"


def _coach_line(event: Coach) -> str:
    if not event.prompt:
        # Progress only: the agent took a step and there is nothing to tell them, so no COACH line.
        done = [step for step, is_done in (event.done or {}).items() if is_done]
        todo = "" if (event.done or {}).get(event.step) else f"; next {event.step}"
        return f"STEPS done: {', '.join(done) or 'none'}{todo}"
    phrases = " | ".join(event.phrases)
    return f"COACH {event.step}: {event.prompt}" + (f"  say: {phrases}" if phrases else "")


class ConsoleView:
    """Formats each event as one line; partial text is shown in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._partial_shown = False

    def __call__(self, event: Event) -> None:
        line = self.format(event)
        if line is None:
            return
        if isinstance(event, Partial):
            if self._tty:
                self._out.write("\r\033[K" + line[:160])
                self._partial_shown = True
                self._out.flush()
            return
        if self._partial_shown:
            self._out.write("\r\033[K")
            self._partial_shown = False
        self._out.write(line + "\n")
        self._out.flush()

    @staticmethod
    def format(event: Event) -> str | None:
        """The one-line text for an event (None: nothing to show)."""
        head = f"[{event.call} {_clock(event.t)}]"
        if isinstance(event, CallStarted):
            return f"{head} call started, agent {event.agent}, from {event.source or 'unknown source'}"
        if isinstance(event, Partial):
            return f"{head} {event.speaker.upper():6} … {event.text}"
        if isinstance(event, Turn):
            mood = ""
            if event.sentiment is not None:
                score = event.sentiment.get("score", event.sentiment.get("compound", 0.0))
                mood = f"  ({score:+.2f})"
            return f"{head} {event.speaker.upper():6} {event.text}{mood}"
        if isinstance(event, Heat):
            why = f": {'; '.join(event.reasons)}" if event.reasons else ""
            return f"{head} HEAT {event.value:5.1f} {event.level.upper()}{why}"
        if isinstance(event, Alert):
            evidence = f'  "{" / ".join(event.evidence)}"' if event.evidence else ""
            return f"{head} ALERT [{event.level}] {event.message}{evidence}"
        if isinstance(event, Coach):
            return f"{head} {_coach_line(event)}"
        if isinstance(event, CallEnded):
            peak = (event.summary or {}).get("peak_heat")
            return f"{head} call ended after {_clock(event.duration)}" + (
                f", peak heat {peak}" if peak is not None else ""
            )
        return None
