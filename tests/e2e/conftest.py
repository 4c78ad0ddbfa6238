from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import need


@pytest.fixture
def browser() -> Iterator[object]:
    path = os.environ.get("ESCALATOR_TEST_CHROMIUM") or shutil.which("chromium") or ""
    need(
        path and os.path.exists(path),
        "browser tests skipped: install Debian's chromium (apt-get install chromium) "
        "or set ESCALATOR_TEST_CHROMIUM to a Chromium binary",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
