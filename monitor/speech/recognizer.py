"""Streaming speech recognition with Vosk: the only module that imports vosk.

One `SpeechModel` is loaded per process and shared; each party of each call gets its own
`PartyRecognizer`. `accept()` blocks for tens of milliseconds (Vosk releases the GIL while
it decodes), so callers run it in a worker thread, never on the event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import ModelError
from monitor.speech.levels import QuietEnd, SilenceGate, block_db

_BYTES_PER_SAMPLE = 2  # 16-bit PCM


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word, times in seconds since the call started."""

    word: str
    start: float
    end: float
    conf: float

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end, "conf": self.conf}


@dataclass(frozen=True, slots=True)
class Utterance:
    """A final result: a finished utterance with its words."""

    text: str
    words: tuple[Word, ...]
    heard_at: float  # call time when the recogniser declared it final

    @property
    def start(self) -> float:
        return self.words[0].start if self.words else self.heard_at

    @property
    def end(self) -> float:
        return self.words[-1].end if self.words else self.heard_at

    @property
    def confidence(self) -> float | None:
        return sum(w.conf for w in self.words) / len(self.words) if self.words else None


@dataclass(frozen=True, slots=True)
class PartialText:
    """The words heard so far of an unfinished utterance."""

    text: str
    heard_at: float


class SpeechModel:
    """A loaded Vosk model, shared by every recogniser in the process.

    It also keeps the recognisers that finished streams gave back, warm, for the next call's
    parties (`lend`, `give_back`). A new Kaldi recogniser builds its share of the decoding
    graph (the look-ahead composition's cache) as it decodes, at several times the CPU of a
    warm one (a 5 s Korean line: 1.5 s of CPU new, 0.25 s warm); on a floor where calls come
    and go, a new call then starts warm. After `FinalResult()` Vosk builds the decoder and
    feature pipeline anew, so nothing of the last call's speech is carried but the cache
    (and Kaldi's clock, which `PartyRecognizer` maps back to call time).
    """

    def __init__(self, path: Path) -> None:
        import vosk

        vosk.SetLogLevel(-1)  # Kaldi's logging goes to stderr and would clutter the JSON stream
        try:
            self._model = vosk.Model(str(path))
        except Exception as err:  # vosk raises a bare Exception on a bad model directory
            raise ModelError(f"could not load the Vosk model in {path}: {err}") from err
        self.path = path
        self._idle: dict[int, list[tuple[Any, float]]] = {}
        self._idle_lock = threading.Lock()

    def recognizer(self, rate: int) -> Any:
        """A fresh Kaldi recogniser for audio at `rate` Hz, with word times."""
        import vosk

        rec = vosk.KaldiRecognizer(self._model, float(rate))
        rec.SetWords(True)
        return rec

    def lend(self, rate: int) -> tuple[Any, float]:
        """A recogniser for `rate` Hz and the seconds of audio it has decoded (its own clock):
        a warm one a finished stream gave back, else a fresh one (0 s)."""
        with self._idle_lock:
            idle = self._idle.get(rate)
            if idle:
                return idle.pop()
        return self.recognizer(rate), 0.0

    def warm(self, rate: int) -> int:
        """How many warm recognisers for `rate` Hz are waiting for a stream."""
        with self._idle_lock:
            return len(self._idle.get(rate, ()))

    def give_back(self, rec: Any, rate: int, decoded: float) -> None:
        """Keep a finished stream's recogniser (after its `FinalResult()`) for the next one."""
        with self._idle_lock:
            idle = self._idle.setdefault(rate, [])
            if len(idle) < MAX_IDLE:
                idle.append((rec, decoded))


#: Warm recognisers kept per sample rate for calls to come (each holds its graph cache);
#: more than a busy floor's worth of parties would only hold memory.
MAX_IDLE = 16


#: Seconds of audio a recogniser decodes before it is replaced, at a turn boundary (see below).
RECYCLE_AFTER = 1800.0


class PartyRecognizer:
    """One party's stream: 16-bit mono PCM in, partials and utterances out, in call time.

    Memory: used the usual way (`Result()` at each endpoint), a Kaldi recogniser grows by
    hundreds of MB over a long call. Two parts grow. The decoder and feature pipeline,
    which Vosk only rewinds at its own endpoints but builds anew after `FinalResult()`:
    most turns here end on the audio level (QuietEnd) with `FinalResult()`, and after every
    turn the freed heap goes back to the OS (`malloc_trim`). (Ending Kaldi's own endpoints
    with `FinalResult()` too was tried: Kaldi then cut the first word off some turns.) And
    the cache of the lookahead decoding graph, which only a new recogniser frees; a new
    recogniser rebuilds it at 2-3x the CPU for a while (49.6 s instead of 24.5 s for the
    4-minute eval caller channel when replaced at every turn), so it is replaced only after
    `recycle_after` seconds of audio, at a turn boundary, to bound calls of hours.

    With `skip_silence`, a `SilenceGate` keeps the party's long silences from Kaldi (about
    11% less CPU on a two-party call, where each side is quiet half the time). Kaldi's clock
    then runs behind the call's; `_offset` maps its word times back.
    """

    def __init__(
        self,
        model: SpeechModel,
        rate: int,
        *,
        partials: bool = False,
        recycle_after: float = RECYCLE_AFTER,
        quiet_end: float | None = None,
        skip_silence: bool = False,
    ) -> None:
        self._model = model
        self._recycle_after = recycle_after
        self._quiet = QuietEnd(quiet_end) if quiet_end else None
        self._gate = SilenceGate(rate) if skip_silence else None
        self._rate = rate
        self._partials = partials
        self._rec, decoded = model.lend(rate)
        self._clock = decoded  # the recogniser's own clock: seconds of audio Kaldi has been fed
        self._samples = 0  # fed so far, in total
        # Call time at which the current recogniser's own clock reads 0: a warm recogniser's
        # clock has run on through the calls it decoded before.
        self._offset = -decoded
        self._last_partial = ""

    @property
    def position(self) -> float:
        """Call time up to which audio has been fed."""
        return self._samples / self._rate

    def accept(self, pcm: bytes, level: float | None = None) -> list[Utterance | PartialText]:
        """Feed audio (and its dBFS level, if the caller has it already); return the utterance
        it completed and/or the new partial text."""
        samples = len(pcm) // _BYTES_PER_SAMPLE
        self._samples += samples
        if level is None:
            level = block_db(pcm)
        went_quiet = self._quiet is not None and self._quiet.update(level, samples / self._rate)
        if self._gate is not None:
            pcm, dropped = self._gate.admit(pcm, level)
            # Dropped silence never reaches Kaldi, so its clock falls behind the call's.
            # The gate closes only between utterances, so no utterance straddles a gap.
            self._offset += dropped / self._rate
            if not pcm:
                return []
        self._clock += len(pcm) / _BYTES_PER_SAMPLE / self._rate
        if self._rec.AcceptWaveform(pcm):
            if self._quiet is not None:
                self._quiet.reset()
            return self._end_turn(self._rec.Result())
        wants_text = went_quiet or self._partials or (self._gate is not None and self._gate.idle)
        text = json.loads(self._rec.PartialResult()).get("partial", "") if wants_text else ""
        if went_quiet and text:
            # FinalResult ends the utterance now and makes Vosk build the decoder and feature
            # pipeline anew; the recogniser keeps its warm decoding graph.
            return self._end_turn(self._rec.FinalResult())
        if self._gate is not None and self._gate.idle and not text:
            self._gate.close()
        if self._partials and text != self._last_partial:
            self._last_partial = text
            if text:
                return [PartialText(text, self.position)]
        return []

    def _end_turn(self, result_json: str) -> list[Utterance | PartialText]:
        utterance = self._utterance(result_json)
        self._last_partial = ""
        if self._clock >= self._recycle_after:
            self._recycle()
        else:
            _trim_heap()
        return [utterance] if utterance.text else []

    def finish(self) -> list[Utterance]:
        """End of the stream: whatever was still being said becomes a last utterance, and the
        recogniser goes back to the model for another stream (until it is due for replacing)."""
        utterance = self._utterance(self._rec.FinalResult())
        # Its own clock, not call time minus the offset: audio the silence gate still holds
        # was never fed to it.
        if self._clock < self._recycle_after:
            self._model.give_back(self._rec, self._rate, self._clock)
        return [utterance] if utterance.text else []

    def _utterance(self, result_json: str) -> Utterance:
        result = json.loads(result_json)
        words = tuple(
            Word(
                str(w["word"]),
                round(self._offset + float(w["start"]), 3),
                round(self._offset + float(w["end"]), 3),
                round(float(w.get("conf", 1.0)), 3),
            )
            for w in result.get("result", ())
        )
        return Utterance(str(result.get("text", "")), words, round(self.position, 3))

    def _recycle(self) -> None:
        self._rec = self._model.recognizer(self._rate)
        self._clock = 0.0
        self._offset = self.position
        self._last_partial = ""
        _trim_heap()


_libc: Any = None
_libc_lock = threading.Lock()


def _trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc keeps them otherwise, per thread arena)."""
    global _libc
    with _libc_lock:
        if _libc is None:
            name = ctypes.util.find_library("c")
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") else False
    if _libc:
        _libc.malloc_trim(0)
