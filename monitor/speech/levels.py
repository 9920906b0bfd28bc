"""Speech loudness per party: block energies kept briefly so a turn's level can be read back."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

SILENCE_DB = -90.0


class LevelTrack:
    """Mean power of one party's recent audio blocks, by call time.

    A turn is final only after its audio has gone by, so we keep the last few minutes of
    block powers (three floats a block) instead of the audio itself.
    """

    def __init__(self, rate: int, keep_seconds: float = 180.0) -> None:
        self._rate = rate
        self._keep = keep_seconds
        self._blocks: deque[tuple[float, float, float]] = deque()  # (start, end, mean power)
        self.position = 0.0

    def add(self, pcm: bytes) -> float:
        """Record the next block of 16-bit mono PCM; its level in dBFS."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if not len(samples):
            return SILENCE_DB
        start, self.position = self.position, self.position + len(samples) / self._rate
        power = float(np.mean(samples * samples))
        self._blocks.append((start, self.position, power))
        while self._blocks and self._blocks[0][1] < self.position - self._keep:
            self._blocks.popleft()
        return 10 * math.log10(power) if power > 0 else SILENCE_DB

    def loudness_db(self, start: float, end: float) -> float | None:
        """dBFS of the audio between `start` and `end`; None when it is no longer kept."""
        powers = [p for s, e, p in self._blocks if e > start and s < end]
        if not powers:
            return None
        mean = sum(powers) / len(powers)
        return round(10 * math.log10(mean), 1) if mean > 0 else SILENCE_DB


def block_db(pcm: bytes) -> float:
    """dBFS of a block of 16-bit PCM."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    power = float(np.mean(samples * samples)) if len(samples) else 0.0
    return 10 * math.log10(power) if power > 0 else SILENCE_DB


class NoiseFloor:
    """A party's line noise level: it follows the quietest recent audio.

    It falls quickly and rises slowly (0.5 dB a second), so speech never lifts it much.
    Digital silence (all-zero samples) says nothing about the line's noise: it is what a
    phone system's leg gives before it connects or while a party's audio is missing, and if
    it set the floor, the line's real hiss later would rise above it for half a minute and
    count as speech (no turn would end). So it leaves the floor as it was.
    """

    LOWEST = -80.0  # dBFS: a digitally silent line still has a usable floor

    def __init__(self) -> None:
        self.db: float | None = None

    def update(self, level_db: float, seconds: float) -> float:
        """Feed a block's level; the floor after it."""
        if level_db <= SILENCE_DB:
            return self.LOWEST if self.db is None else self.db
        if self.db is None:
            self.db = level_db
        elif level_db < self.db:
            self.db += (level_db - self.db) * 0.3
        else:
            self.db += min(level_db - self.db, 0.5 * seconds)
        self.db = max(self.db, self.LOWEST)
        return self.db


#: dB above a party's noise floor that is clearly someone talking.
SPEECH_ABOVE_FLOOR = 12.0
#: dBFS: never call a whisper of a silent line speech.
SPEECH_AT_LEAST = -55.0


def is_speech(level_db: float, floor_db: float) -> bool:
    """A block this loud over this line's noise floor is someone talking."""
    return level_db > max(floor_db + SPEECH_ABOVE_FLOOR, SPEECH_AT_LEAST)


class SpeechPresence:
    """Which of a party's blocks carry speech, by their level over the line's noise floor.

    The pipeline tells the analysis when anyone is heard, so that a caller in the middle of
    a long sentence (no turn yet) is not taken for dead air.
    """

    def __init__(self) -> None:
        self._floor = NoiseFloor()

    def heard(self, level_db: float, seconds: float) -> bool:
        return is_speech(level_db, self._floor.update(level_db, seconds))


class QuietEnd:
    """Tells when a party has gone quiet after speaking, from audio levels alone.

    Kaldi ends a turn only once its decoder has settled on silence, which on a real line
    can take a second or more (it may hear the hiss after the last word as more words).
    The audio level knows sooner: speech well above the party's own noise floor, then
    `quiet_for` seconds back near it.
    """

    QUIET_ABOVE_FLOOR = 6.0  # dB: back to the line's own noise

    def __init__(self, quiet_for: float) -> None:
        self.quiet_for = quiet_for
        self._floor = NoiseFloor()
        self._spoke = False
        self._quiet = 0.0

    def update(self, level_db: float, seconds: float) -> bool:
        """Feed a block's level; True once when the speech before it has been followed by quiet."""
        floor = self._floor.update(level_db, seconds)
        if is_speech(level_db, floor):
            self._spoke, self._quiet = True, 0.0
        elif level_db < floor + self.QUIET_ABOVE_FLOOR:
            self._quiet += seconds
            if self._spoke and self._quiet >= self.quiet_for - 1e-9:
                self._spoke = False
                return True
        return False

    def reset(self) -> None:
        """The turn ended another way (Kaldi's own endpointing): wait for new speech."""
        self._spoke, self._quiet = False, 0.0


class SilenceGate:
    """Holds a party's long silences back from the recogniser.

    In a two-party call each side is quiet about half the time, and Kaldi still spends a
    third to a half of what speech costs on every second of hiss. Once a party has made no sound
    for `hold` seconds and its recogniser has no utterance open, the gate closes: blocks
    are kept only as a short pre-roll, and dropped beyond it. The first block with sound
    opens the gate again, after the pre-roll, so Kaldi hears the lead-in to the first word.
    Sound is anything `SOUND_ABOVE_FLOOR` above the line noise: well below speech, so a
    soft voice opens the gate too (noise bursts do as well; they only cost decoding).
    """

    SOUND_ABOVE_FLOOR = 9.0  # dB

    def __init__(self, rate: int, hold: float = 0.6, preroll: float = 0.5) -> None:
        self.hold = hold
        self.closed = False
        self._rate = rate
        self._preroll_samples = round(preroll * rate)
        self._floor = NoiseFloor()
        self._silent_for = 0.0
        self._held: deque[bytes] = deque()  # the pre-roll while closed
        self._held_samples = 0

    @property
    def idle(self) -> bool:
        """Open, but silent for long enough that it may close (if the recogniser agrees)."""
        return not self.closed and self._silent_for >= self.hold - 1e-9

    def close(self) -> None:
        self.closed = True

    def admit(self, pcm: bytes, level_db: float) -> tuple[bytes, int]:
        """Feed a block of 16-bit PCM: (the audio to decode now, samples dropped for good)."""
        samples = len(pcm) // 2
        sound = level_db > self._floor.update(level_db, samples / self._rate) + self.SOUND_ABOVE_FLOOR
        self._silent_for = 0.0 if sound else self._silent_for + samples / self._rate
        if not self.closed:
            return pcm, 0
        if sound:
            audio = b"".join(self._held) + pcm
            self._held.clear()
            self._held_samples = 0
            self.closed = False
            return audio, 0
        self._held.append(pcm)
        self._held_samples += samples
        dropped = 0
        while self._held_samples - len(self._held[0]) // 2 >= self._preroll_samples:
            old = len(self._held.popleft()) // 2
            self._held_samples -= old
            dropped += old
        return b"", dropped
