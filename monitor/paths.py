"""Where heatmon finds its bundled data and keeps the user's data."""

from __future__ import annotations

import os
from pathlib import Path

#: heatmon's data (`models/`: manifest, playbook, lexicon, demo calls) and pages (`dashboard/`).
#: In a checkout `monitor/bundled/` links to the top-level folders; a wheel carries copies.
BUNDLED = Path(__file__).resolve().parent / "bundled"
BUNDLED_MODELS = (BUNDLED / "models").resolve()
DASHBOARD = (BUNDLED / "dashboard").resolve()


def data_dir() -> Path:
    """The user's heatmon data directory: `$HEATMON_DATA`, else the XDG data home."""
    explicit = os.environ.get("HEATMON_DATA")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "heatmon"


def models_dir() -> Path:
    """Where `heatmon models pull` unpacks models: `$HEATMON_MODELS`, else `<data>/models`."""
    explicit = os.environ.get("HEATMON_MODELS")
    return Path(explicit).expanduser() if explicit else data_dir() / "models"


def private_dir(path: Path) -> None:
    """Make the folder `path` (and missing parents) if it is missing, readable by its owner
    only (0700): it holds tokens and call transcripts. A folder that exists is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
