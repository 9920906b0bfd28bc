"""The demo floor's audio mode: each demo call spoken by espeak-ng on two channels and run
through the real pipeline (Vosk, the analysis chain), in real time.

Audio mode needs an English Vosk model: the demo calls are English and so are the lexicon
and the playbook. The speech is synthesized once per call and kept in the data directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import subprocess
import wave
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.demo.simulation import DemoCall, Emit
from monitor.errors import ModelError
from monitor.events import CallStarted, Event
from monitor.speech.blocks import ChannelRoles
from monitor.speech.manifest import load_manifest
from monitor.speech.recognizer import SpeechModel
from monitor.speech.recordings import WavSource
from monitor.speech.resolve import HOW_TO_GET_ONE, resolve_model
from monitor.speech.session import CallOptions, CallSession, CallSpec

RATE = 16000
#: Two voices, so that a listener (and the level meters) can tell the parties apart.
VOICES = {"caller": "en-us", "agent": "en-gb"}
#: Kaldi's endpointing needs a noise floor: digital silence never ends an utterance.
NOISE = 30.0
#: Bump when the synthesis changes, so cached WAVs of the old kind are made again.
SYNTH_VERSION = 1


class SynthesisError(ModelError):
    """espeak-ng or sox is missing or failed, so the demo's audio cannot be made."""


def model_label(path: Path) -> str:
    """A model directory's name as people know it (`vosk-model-small-en-us-0.15`; a pip
    package's model directory is called `model`, so its package name then)."""
    return path.parent.name if path.name == "model" else path.name


def is_english(path: Path) -> bool:
    """Whether a model directory holds an English model: by the manifest, else by its name."""
    name = model_label(path)
    spec = load_manifest().find(name)
    if spec is not None:
        return spec.english
    lowered = name.lower()
    return "-en-" in lowered or "_en" in lowered or lowered.endswith("-en") or "en-us" in lowered


def english_model(explicit: str | None) -> Path:
    """The English Vosk model to use (`--model`, else the first one found); ModelError if none."""
    path = resolve_model(explicit)
    if not is_english(path):
        raise ModelError(
            f"the demo's audio mode needs an English Vosk model, and the model found is not English: "
            f"{model_label(path)} ({path}); {HOW_TO_GET_ONE}"
        )
    return path


def _run(command: list[str], data: bytes | None = None) -> bytes:
    try:
        return subprocess.run(command, input=data, check=True, capture_output=True).stdout
    except FileNotFoundError as err:
        raise SynthesisError(
            f"the demo's audio mode needs {command[0]} (install it, or use --audio off)"
        ) from err
    except subprocess.CalledProcessError as err:
        message = err.stderr.decode(errors="replace").strip()[:200]
        raise SynthesisError(f"{command[0]} failed making the demo's audio: {message}") from err


def speak(text: str, voice: str, words_per_minute: int) -> np.ndarray:
    """`text` spoken by espeak-ng, as int16 mono at RATE."""
    wav = _run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text])
    raw = _run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", "-"],
        wav,
    )
    return np.frombuffer(raw, dtype="<i2")


def synthesize(call: DemoCall, seed: int = 7) -> np.ndarray:
    """The call as (frames, 2) int16: caller left, agent right, each turn spoken from its start,
    at the pace that fits its written span, cut where the same party speaks again."""
    seconds = call.duration + 2.0
    frames = np.random.default_rng(seed).normal(0, NOISE, (int(RATE * seconds), 2))
    turns = sorted(call.turns, key=lambda turn: turn.start)
    for i, turn in enumerate(turns):
        span = max(turn.end - turn.start, 0.5)
        pace = int(min(260, max(130, len(turn.text.split()) / span * 60)))
        speech = speak(turn.text, VOICES[turn.speaker], pace).astype(np.float64)
        later = [t.start for t in turns[i + 1 :] if t.speaker == turn.speaker]
        stop = int((later[0] if later else seconds) * RATE)
        first = int(turn.start * RATE)
        speech = speech[: max(0, min(stop, len(frames)) - first)]
        frames[first : first + len(speech), 0 if turn.speaker == "caller" else 1] += speech
    return frames.clip(-32768, 32767).astype(np.int16)


def demo_wav(call: DemoCall, cache: Path) -> Path:
    """The call's WAV in `cache`, synthesized on first use (keyed by its text, times and voices)."""
    key = json.dumps(
        [SYNTH_VERSION, VOICES, [(t.speaker, t.text, t.start, t.end) for t in call.turns]], ensure_ascii=False
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = cache / f"{call.name}-{digest}.wav"
    if path.exists():
        return path
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SynthesisError(f"the demo's audio mode needs {tool} (install it, or use --audio off)")
    frames = synthesize(call)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.ascontiguousarray(frames).tobytes())
    partial.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class AudioPlayer:
    """Plays a demo call's synthesized audio through Vosk and the analysis chain, in real time."""

    model: SpeechModel
    model_dir: Path
    cache: Path
    executor: Executor
    speed: float = 1.0
    mode: str = "audio"
    playbook: Playbook | None = None  # None: the bundled one
    lexicon: Lexicon | None = None

    async def play(self, call: DemoCall, call_id: str, agent: str, emit: Emit) -> None:
        wav = await asyncio.to_thread(demo_wav, call, self.cache)
        source = WavSource(
            {"call": wav},
            ChannelRoles(caller=0),
            realtime=True,
            description=f"demo audio (Vosk {model_label(self.model_dir)}): {call.title}",
        )

        def named(event: Event) -> None:
            if isinstance(event, CallStarted):
                event = dataclasses.replace(event, caller_name=call.caller_name)
            emit(event)

        session = CallSession(
            CallSpec(call_id, source, CallAnalysis(call_id, playbook=self.playbook, lexicon=self.lexicon)),
            self.model,
            named,
            options=CallOptions(agent=agent),
            executor=self.executor,
        )
        await session.run()
