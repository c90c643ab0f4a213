"""Headless Chromium for page tests: Debian's ``/usr/bin/chromium`` driven by Playwright
(its own browser download is never used), with the flags this closed network needs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """Debian's Chromium (``.ci/run`` installs it); the test fails loudly without it."""
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("headless Chromium is missing: apt-get install -y chromium (`.ci/run` does)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module (a fresh context per test keeps cookies apart)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where page tests save screenshots: ``CPD_SCREENSHOT_DIR`` when set (the ones in
    docs/screenshots are made so: ``CPD_SCREENSHOT_DIR=docs/screenshots``), else the test's own
    temporary directory, so that a test run never rewrites files of the tree."""
    shots = Path(os.environ.get("CPD_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots
