"""A fast check of published events against the wire contract, for the hub's hot path.

`Event.from_dict` builds a frozen dataclass per event, which costs more than everything else
the hub does with an event. The hub only needs to know that an event fits, so this derives
the same rules once from the dataclasses in `monitor.events` (required fields, the `str` and
`float` fields' types, the speaker) and checks plain dicts against them. The dicts are then
forwarded as they came, unknown keys included (extend, never break).
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from monitor.events import EVENT_TYPES, SPEAKERS


def _rules() -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Per event type: its required fields, and (field, "str" | "float") type checks."""
    rules = {}
    for kind, cls in EVENT_TYPES.items():
        required = tuple(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)
        typed = tuple(
            (f.name, str(f.type).split(" |")[0])
            for f in fields(cls)
            if str(f.type).split(" |")[0] in ("str", "float")
        )
        rules[kind] = (required, typed)
    return rules


RULES = _rules()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_event(data: Any) -> str | None:
    """None if `data` is a wire-contract event, else what is wrong with it."""
    if not isinstance(data, dict):
        return "an event must be a JSON object"
    kind = data.get("type")
    rule = RULES.get(kind) if isinstance(kind, str) else None
    if rule is None:
        return f"unknown event type {kind!r}"
    required, typed = rule
    missing = [name for name in required if name not in data]
    if missing:
        return f"{kind} event is missing {', '.join(missing)}"
    for name, type_name in typed:
        value = data.get(name)
        if value is None:
            continue  # optional, left out
        if type_name == "str" and not isinstance(value, str):
            return f"{kind} event's {name!r} must be a string"
        if type_name == "float" and not _is_number(value):
            return f"{kind} event's {name!r} must be a number"
    if not data["call"]:
        return f"{kind} event needs a non-empty string 'call'"
    if "speaker" in required and data["speaker"] not in SPEAKERS:
        return f"speaker must be 'caller' or 'agent', not {data['speaker']!r}"
    return None
