"""Reading the JSON data files a team edits (lexicon, playbook), with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.errors import InputError


def load_json(path: str | Path, what: str) -> Any:
    """The decoded JSON in `path`; InputError naming `what` and the file if it can't be read."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read {what} {path}: {err.strerror or err}") from err
    except json.JSONDecodeError as err:
        raise InputError(f"{what} {path} is not valid JSON: {err}") from err
