"""The floor tile's labels at common screen sizes, in real Chromium against a real hub: every
label is shown whole, inside its tile, however narrow the tiles get."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from support.browser import ARTIFACTS
from support.pages import SAM, STARTED_AT, HubThread, PageErrors, Publisher

from monitor.events import CallStarted, Heat, Turn

pytestmark = pytest.mark.slow  # real Chromium

expect.set_options(timeout=20_000)  # generous: CI machines get busy

# Laptop, small laptop, where the floor's two columns become one, just above the phone layout,
# a phone, and the narrowest tiles of the two-column layout (290 px tiles beside the feed).
SIZES = [(1366, 768), (1280, 720), (1000, 800), (600, 900), (390, 844), (1010, 800)]

CLIPPED = """tile => [...tile.querySelectorAll('.tile-label')].map(label => {
  const box = label.getBoundingClientRect(), outer = tile.getBoundingClientRect();
  return {
    text: label.textContent,
    clipped: label.scrollWidth > label.clientWidth + 1,
    outside: box.left < outer.left - 1 || box.right > outer.right + 1,
  };
})"""


@pytest.fixture
def hub() -> Iterator[HubThread]:
    running = HubThread().start()
    yield running
    running.stop()


def test_every_tile_label_is_whole_and_inside_its_tile_at_common_sizes(
    browser: Browser, hub: HubThread
) -> None:
    """ "Caller heat 0-100" and "Mood per caller turn" are neither cut nor spill out of the tile,
    from a 1366x768 laptop down to a 390x844 phone."""
    publisher = Publisher(hub)
    for n in range(6):
        call = f"c{n}"
        publisher.publish(
            CallStarted(call=call, t=0.0, agent=f"agent-{n}", started_at=STARTED_AT, source="test"),
            Turn(
                call=call,
                t=6.0,
                speaker="caller",
                text="this is the third time",
                start=3.0,
                end=6.0,
                sentiment={"compound": -0.5, "neg": 0.4, "neu": 0.6, "pos": 0.0},
            ),
            Heat(call=call, t=6.0, value=40.0 + n * 8, level="warm", trend=1.0, reasons=("negative turn",)),
        )
    watcher = PageErrors()
    problems: list[dict[str, Any]] = []
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = watcher.watch(context.new_page())
            page.goto(f"{hub.http}/floor#token={SAM}")
            expect(page.locator(".tile")).to_have_count(6)
            expect(page.locator(".tile").first.locator(".tile-sent .tile-label")).to_have_text(
                "Mood per caller turn"
            )
            for tile in page.locator(".tile").all():
                tile.scroll_into_view_if_needed()
                for label in tile.evaluate(CLIPPED):
                    if label["clipped"] or label["outside"]:
                        problems.append({"size": f"{width}x{height}", **label})
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"tile-labels-{width}x{height}.png"))
        finally:
            context.close()
    publisher.close()
    assert not problems, problems
    assert not watcher.errors, watcher.errors


TOP_BAR = """() => {
  const box = selector => document.querySelector(selector).getBoundingClientRect();
  const brand = box('.brand'), pill = box('#conn');
  return {
    pill_beside_brand: pill.top < brand.bottom && pill.bottom > brand.top,
    figures_inside: [...document.querySelectorAll('.figure')].every(figure => {
      const f = figure.getBoundingClientRect();
      return f.left >= 0 && f.right <= window.innerWidth + 1;
    }),
  };
}"""


def test_the_connection_pill_stays_beside_the_name_wherever_the_top_bar_has_room(
    browser: Browser, hub: HubThread
) -> None:
    """Down to 640 px the pill that says whether the board is live stays on the first row (the
    figures take a row of their own when the bar is too narrow); on a phone everything wraps,
    and the figures stay on screen at every size."""
    problems: list[dict[str, Any]] = []
    for width, height in [*SIZES, (640, 800), (1200, 800)]:
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"{hub.http}/floor#token={SAM}")
            expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            bar = page.evaluate(TOP_BAR)
            if (width >= 640 and not bar["pill_beside_brand"]) or not bar["figures_inside"]:
                problems.append({"size": f"{width}x{height}", **bar})
        finally:
            context.close()
    assert not problems, problems
