"""Debian's Chromium driven by Playwright, the one way every browser test and benchmark starts it.

Never a downloaded browser: the test set-up installs Debian's `chromium`, and Playwright is
pointed at it. The flags keep a headless Chromium off the (closed) network.
"""

from __future__ import annotations

import os
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
