"""Reading the JSON data files a team edits (lexicon, playbook), with errors that name the file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from monitor.errors import InputError


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a number JSON allows (only finite numbers)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{text} is too large a number (beyond what a float holds)")
    return value


def finite_json(text: str | bytes) -> Any:
    """`json.loads`, refusing what JSON does not have but Python's reader takes: NaN, Infinity,
    and numbers too large for a float (1e400 would be read as infinity). InputError for those;
    json.JSONDecodeError for text that is not JSON at all."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def load_json(path: str | Path, what: str) -> Any:
    """The decoded JSON in `path`; InputError naming `what` and the file if it can't be read."""
    path = Path(path)
    try:
        return finite_json(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read {what} {path}: {err.strerror or err}") from err
    except json.JSONDecodeError as err:
        raise InputError(f"{what} {path} is not valid JSON: {err}") from err
    except InputError as err:
        raise InputError(f"{what} {path}: {err}") from err
