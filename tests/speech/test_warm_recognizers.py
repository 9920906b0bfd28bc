"""Recognisers handed on from call to call: the second call starts warm, in its own time."""

from __future__ import annotations

import time

import numpy as np
import pytest
from support.ko_speech import model_dir

from monitor.speech.recognizer import PartyRecognizer, SpeechModel, Utterance

RATE = 8000
BLOCK = RATE // 10


def decode(model: SpeechModel, channel: np.ndarray) -> tuple[list[Utterance], float]:
    """One party's stream through a recogniser lent by `model`, in 0.1 s blocks; its
    utterances and the CPU time the decoding took."""
    rec = PartyRecognizer(model, RATE, quiet_end=0.4, skip_silence=True)
    started = time.process_time()
    found = [
        r
        for i in range(0, len(channel), BLOCK)
        for r in rec.accept(channel[i : i + BLOCK].tobytes())
        if isinstance(r, Utterance)
    ]
    found += rec.finish()
    return found, time.process_time() - started


@pytest.mark.slow  # real Vosk, Korean model
def test_the_next_call_gets_a_warm_recogniser_and_its_words_keep_its_own_call_time(
    call_frames: tuple[np.ndarray, list[tuple[str, float, float]]],
) -> None:
    """A finished stream's recogniser goes back to the model; the next stream gets it, hears
    its lines at their own call times, for less CPU than a fresh one."""
    frames, spans = call_frames
    caller = frames[:, 0].copy()
    model = SpeechModel(model_dir())
    first, cold_cpu = decode(model, caller)
    assert model.warm(RATE) == 1
    second, warm_cpu = decode(model, caller)
    assert model.warm(RATE) == 1  # lent, used and given back again, not a second one made
    # Kaldi's clock ran on through the first stream; the words still land in this call's time.
    # (Where a line's first word falls can move by a word between runs; where it ends does not.)
    assert first and len(second) == len(first)
    line_ends = [end for speaker, _, end in spans if speaker == "caller"]
    for utterance in second:
        assert min(abs(utterance.end - end) for end in line_ends) < 0.3, (utterance, line_ends)
    # CPU, not wall time: a busy machine slows both alike. A fresh recogniser builds its graph
    # cache as it decodes; measured at about a quarter of a fresh one's CPU.
    assert warm_cpu < 0.8 * cold_cpu, (warm_cpu, cold_cpu)
