"""Low-latency, repeatable decoding without touching the user's model.

Vosk 0.3.45 reads its endpointing rules only from the model's `conf/model.conf`, and the stock
rules wait 0.5-2.0 s of trailing silence before a final. And Kaldi dithers the features (adds
random noise) from one random stream per process, so the same recording decodes differently
for every recogniser after the first one (vosk-api#868): heatmon turns dither off in
`conf/mfcc.conf`, so a call gives the same turns on every run. An overlay is a cached directory
that links to every part of the model except `conf/`, which holds links to the other conf files
and the edited ones: Vosk loads it like the model itself, and the model stays read-only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from monitor.speech.resolve import check_model_dir, is_model_dir

log = logging.getLogger(__name__)

#: Bump when the overlay layout changes, so old cached overlays are not reused.
OVERLAY_FORMAT = 2

#: Feature options for repeatable decoding: no random dither (see the module's docstring).
REPEATABLE_FEATURES = {"--dither": "0"}


@dataclass(frozen=True, slots=True)
class Endpointing:
    """Seconds of trailing silence after which Kaldi ends an utterance (the turn), per rule.

    rule2 fires when the decoder sits in a final state with a good cost (a sentence the language
    model finds complete), rule3 when the cost is merely plausible, rule4 whatever the cost.
    Stock Vosk models use 0.5 / 1.0 / 2.0.

    The defaults were measured (bench/turn_latency.py through the whole pipeline, and
    bench/endpointing.py, Korean model on espeak-ng speech): the silence Kaldi counts starts
    some 0.3-0.5 s after a word's end, so only a short, language-model-gated rule2 brings the
    median turn latency under 0.7 s: 0.62 s with rule2 at 0.1 s, 0.74 s at 0.15 s (stock: about
    1.0 s). The price: a pause inside a sentence ends the turn when the words before it already
    form a complete sentence for the language model (three of eight 300-500 ms pauses in
    bench/endpointing.py with the Korean model, which understands espeak's speech poorly).
    rule3 stays at 0.5 s, and rule4 ends a turn after a second of silence whatever the decoder
    thinks. `heatmon run --endpointing` takes other values (R2,R3,R4) or `stock`.
    """

    rule2: float = 0.1
    rule3: float = 0.5
    rule4: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rule2", "rule3", "rule4"):
            value = getattr(self, name)
            if not 0.0 < value <= 30.0:
                raise ValueError(f"endpointing {name} must be between 0 and 30 seconds, not {value}")

    def options(self) -> dict[str, str]:
        """The `model.conf` options these settings stand for, option name to value."""
        return {
            f"--endpoint.{rule}.min-trailing-silence": f"{getattr(self, rule):g}"
            for rule in ("rule2", "rule3", "rule4")
        }


#: Vosk's own rules, for comparisons and for `--endpointing stock`.
STOCK_ENDPOINTING = Endpointing(rule2=0.5, rule3=1.0, rule4=2.0)


def edit_model_conf(text: str, endpointing: Endpointing) -> str:
    """`model.conf` with the endpointing rules replaced where present and appended where not."""
    return edit_conf(text, endpointing.options())


def edit_conf(text: str, options: dict[str, str]) -> str:
    """A Kaldi conf file with `options` replaced where present and appended where not."""
    lines = text.splitlines()
    for option, value in options.items():
        pattern = re.compile(rf"^\s*{re.escape(option)}\s*=")
        replaced = False
        for index, line in enumerate(lines):
            if pattern.match(line):
                lines[index] = f"{option}={value}"
                replaced = True
        if not replaced:
            lines.append(f"{option}={value}")
    return "\n".join(lines) + "\n"


def conf_endpointing(text: str) -> Endpointing | None:
    """The endpointing rules `model.conf` sets, or None if it leaves any of them to Kaldi's defaults."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*--endpoint\.(rule[234])\.min-trailing-silence\s*=\s*([0-9.]+)\s*$", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    try:
        return Endpointing(**found) if len(found) == 3 else None
    except ValueError:
        return None


def overlays_dir() -> Path:
    """Where overlays are cached: `$HEATMON_CACHE`, else `$XDG_CACHE_HOME/heatmon`, under `model-overlays`."""
    explicit = os.environ.get("HEATMON_CACHE")
    if explicit:
        return Path(explicit).expanduser() / "model-overlays"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "heatmon" / "model-overlays"


def endpointing_overlay(
    model_dir: Path, endpointing: Endpointing | None, *, cache_dir: Path | None = None
) -> Path:
    """The model directory to load with `endpointing`'s rules and repeatable features:
    `model_dir` itself for None (the model as it is) or for a model that already has both, else
    its cached overlay (built on first use; safe when several processes build it at once). If
    no overlay can be built here (no links possible), warns and returns `model_dir`.
    """
    if endpointing is None:
        return model_dir
    check_model_dir(model_dir)
    source = model_dir.resolve()
    wanted = _wanted_confs(source, endpointing)
    if not wanted:
        return model_dir  # the model already decodes this way (say, `--endpointing stock`, dither off)
    root = cache_dir or overlays_dir()
    target = root / _overlay_name(source, wanted)
    if _is_current(target, wanted):
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        return _build(source, target, wanted)
    except OSError as err:
        log.warning("cannot build a low-latency overlay of %s (%s); using its stock endpointing", source, err)
        return model_dir


def _wanted_confs(source: Path, endpointing: Endpointing) -> dict[str, str]:
    """The conf files (by name) the overlay must hold edited; empty if none needs editing."""
    conf = source / "conf"
    model_text = (conf / "model.conf").read_text(encoding="utf-8", errors="replace")
    wanted = {}
    if conf_endpointing(model_text) != endpointing:
        wanted["model.conf"] = edit_model_conf(model_text, endpointing)
    if (conf / "mfcc.conf").is_file():
        mfcc_text = (conf / "mfcc.conf").read_text(encoding="utf-8", errors="replace")
        if edit_conf(mfcc_text, REPEATABLE_FEATURES).splitlines() != mfcc_text.splitlines():
            wanted["mfcc.conf"] = edit_conf(mfcc_text, REPEATABLE_FEATURES)
    return wanted


def _overlay_name(source: Path, wanted: dict[str, str]) -> str:
    confs = "\n".join(f"{name}\n{text}" for name, text in sorted(wanted.items()))
    digest = hashlib.sha256(f"{OVERLAY_FORMAT}\n{source}\n{confs}".encode()).hexdigest()[:16]
    label = source.parent.name if source.name == "model" else source.name
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', label)}-{digest}"


def _is_current(overlay: Path, wanted: dict[str, str]) -> bool:
    try:
        found = {name: (overlay / "conf" / name).read_text(encoding="utf-8") for name in wanted}
    except OSError:
        return False
    return found == wanted and is_model_dir(overlay)


def _build(source: Path, target: Path, wanted: dict[str, str]) -> Path:
    # Built under a temporary name and renamed into place: a reader never sees half an overlay,
    # and of two processes building the same one, the second rename fails and it uses the first.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for entry in source.iterdir():
            if entry.name != "conf":
                _link(entry, staging / entry.name, copy_files=False)
        (staging / "conf").mkdir()
        for entry in (source / "conf").iterdir():
            if entry.name not in wanted:
                _link(entry, staging / "conf" / entry.name, copy_files=True)
        for name, text in wanted.items():
            (staging / "conf" / name).write_text(text, encoding="utf-8")
        if target.exists() and not _is_current(target, wanted):
            _remove(target)  # a stale or broken overlay (say, a crash before a link was made)
        try:
            os.rename(staging, target)
        except OSError:
            if not _is_current(target, wanted):
                raise
    finally:
        if staging.exists():
            _remove(staging)
    return target


def _link(src: Path, dst: Path, *, copy_files: bool) -> None:
    """A symlink to `src`; where symlinks are not allowed, hard links (or copies of small conf files)."""
    try:
        os.symlink(src, dst, target_is_directory=src.is_dir())
        return
    except (OSError, NotImplementedError):
        pass
    if src.is_dir():
        dst.mkdir()
        for child in src.iterdir():
            _link(child, dst / child.name, copy_files=copy_files)
    elif copy_files:
        shutil.copy2(src, dst)
    else:
        os.link(src, dst)  # an OSError here (another file system) gives up on the overlay


def _remove(path: Path) -> None:
    # Never follow the overlay's links into the user's model: unlink links, recurse real folders only.
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    for child in path.iterdir():
        _remove(child)
    path.rmdir()
