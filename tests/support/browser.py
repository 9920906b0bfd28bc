"""Debian's Chromium driven by Playwright, the one way every browser test and benchmark starts it.

Never a downloaded browser: the test set-up installs Debian's `chromium`, and Playwright is
pointed at it. The flags keep a headless Chromium off the (closed) network.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
from playwright.sync_api import Browser, sync_playwright

ARTIFACTS = Path(__file__).parent.parent / "_artifacts"  # screenshots, git-ignored
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Debian Chromium for the duration of the block."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium must be installed (scripts/setup --test installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _luminance(css: str) -> float:
    """WCAG relative luminance of a computed CSS colour ("rgb(r, g, b)" or opaque "rgba(...)")."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    assert len(numbers) == 3 or (len(numbers) == 4 and numbers[3] == 1), f"not an opaque colour: {css}"

    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in numbers[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two computed CSS colours (1 to 21; AA for text is 4.5)."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
