"""The dashboard's files as files: one palette, one event reducer, pages that load both."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.paths import DASHBOARD

CSS = DASHBOARD / "css"
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(\s*\d")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_colour_is_named_once_in_the_palette() -> None:
    """heatmon.css and review.css use no colour of their own (only the palette's names), and
    every custom property they or the scripts use is defined."""
    palette = _text(CSS / "palette.css")
    sheets = {name: _text(CSS / name) for name in ("heatmon.css", "review.css")}
    for name, text in sheets.items():
        assert not COLOUR.findall(re.sub(r"/\*.*?\*/", "", text, flags=re.S)), name
    assert len(COLOUR.findall(palette)) >= 20
    defined = set(re.findall(r"(--[\w-]+)\s*:", palette + "".join(sheets.values())))
    scripts = "".join(_text(p) for p in (DASHBOARD / "js").glob("*.js"))
    used = set(re.findall(r"var\((--[\w-]+)", palette + "".join(sheets.values()) + scripts))
    assert used and used <= defined, sorted(used - defined)


def test_every_page_loads_the_palette_before_its_styles() -> None:
    """Each page links palette.css first, so its names exist before any sheet uses them."""
    pages = sorted(DASHBOARD.glob("*.html"))
    assert len(pages) == 4
    for page in pages:
        links = re.findall(r'<link rel="stylesheet" href="/css/([\w.-]+)">', _text(page))
        assert links[:2] == ["palette.css", "heatmon.css"], (page.name, links)


def test_one_reducer_turns_events_into_call_state() -> None:
    """Only callstate.js switches on an event's type; the floor, the agent view and the call view
    hand every event to it instead of keeping their own copies of the handling."""
    scripts = {p.name: _text(p) for p in (DASHBOARD / "js").glob("*.js")}
    switching = sorted(name for name, text in scripts.items() if "switch (event.type)" in text)
    assert switching == ["callstate.js"]
    reducer = scripts["callstate.js"]
    assert "export function reduce(state, event, now)" in reducer
    assert re.search(r"default:\s*console\.warn\(\"heatmon: unknown event type\"", reducer)
    for page in ("floor.js", "agent.js"):
        assert 'from "./callstate.js"' in scripts[page] and "book.queue(events)" in scripts[page], page
    assert "calls.js" not in scripts  # the old per-method book is gone
    # The call page draws its chart from JSON: nothing parses markup from the hub any more.
    assert "DOMParser" not in scripts["call.js"] and "heatChart(" in scripts["call.js"]
