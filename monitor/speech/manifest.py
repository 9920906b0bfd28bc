"""The manifest of official Vosk models that `heatmon models pull` can fetch (`models/vosk-models.json`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import ModelError
from monitor.paths import BUNDLED_MODELS

MANIFEST_PATH = BUNDLED_MODELS / "vosk-models.json"
#: Where Vosk publishes its models; `--base-url` or `$HEATMON_MODEL_URL` point pulls at a mirror instead.
OFFICIAL_BASE_URL = "https://alphacephei.com/vosk/models/"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One downloadable model: its archive's name, size and checksums as Vosk publishes them."""

    alias: str  # short name users type: `heatmon models pull en-us`
    name: str  # Vosk's name; also the archive's stem and the unpacked directory's name
    lang: str
    kind: str  # Vosk's "type": small, big, big-lgraph
    size: int  # archive size in bytes
    size_approx: bool  # True: `size` is a guess and the server's Content-Length is trusted instead
    md5: str | None
    sha256: str | None
    description: str

    @property
    def english(self) -> bool:
        """Whether this is an English model (resolution prefers those: the lexicon is English)."""
        return self.lang.startswith("en")

    def url(self, base_url: str) -> str:
        """The archive's address under `base_url` (the official host or a mirror)."""
        return f"{base_url.rstrip('/')}/{self.name}.zip"


@dataclass(frozen=True, slots=True)
class Manifest:
    """Every model of the manifest, in its order of preference, and the host they come from."""

    base_url: str
    models: tuple[ModelSpec, ...]

    def find(self, name: str) -> ModelSpec | None:
        """The model called `name` (alias like `en-us` or Vosk name like `vosk-model-small-en-us-0.15`)."""
        wanted = name.strip().lower()
        for spec in self.models:
            if wanted in (spec.alias.lower(), spec.name.lower()):
                return spec
        return None

    def download_base(self, explicit: str | None = None) -> str:
        """Where to download from: `--base-url`, else `$HEATMON_MODEL_URL`, else the manifest's host."""
        return explicit or os.environ.get("HEATMON_MODEL_URL") or self.base_url

    def get(self, name: str) -> ModelSpec:
        """Like `find`, but an unknown name is the user's error and says what the known names are."""
        spec = self.find(name)
        if spec is None:
            known = ", ".join(s.alias for s in self.models)
            raise ModelError(f"unknown model {name!r}; known models: {known} (see `heatmon models list`)")
        return spec


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and check the manifest (`path`, else `$HEATMON_MODELS_MANIFEST` for a site's own list of
    models, else the bundled one); a broken one is a `ModelError` naming the entry at fault."""
    if path is None:
        explicit = os.environ.get("HEATMON_MODELS_MANIFEST")
        path = Path(explicit).expanduser() if explicit else MANIFEST_PATH
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read the model manifest {path}: {err}") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise ModelError(f"model manifest {path} has no list of models")
    models = tuple(_spec(entry, path, index) for index, entry in enumerate(raw["models"]))
    return Manifest(base_url=str(raw.get("base_url") or OFFICIAL_BASE_URL), models=models)


def _spec(entry: Any, path: Path, index: int) -> ModelSpec:
    try:
        if not isinstance(entry, dict):
            raise TypeError("not an object")
        size = entry["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"size {size!r} is not a positive number of bytes")
        return ModelSpec(
            alias=str(entry["alias"]),
            name=str(entry["name"]),
            lang=str(entry["lang"]),
            kind=str(entry.get("type", "")),
            size=size,
            size_approx=bool(entry.get("size_approx", False)),
            md5=_digest(entry.get("md5"), 32),
            sha256=_digest(entry.get("sha256"), 64),
            description=str(entry.get("description", "")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"model manifest {path}: entry {index} is malformed ({err})") from err


def _digest(value: Any, length: int) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    if len(text) != length or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{value!r} is not a {length}-digit hex digest")
    return text
