"""Fixtures of the browser tests (see `browser_world.py`).

Without Chromium the tests skip on a developer's machine and FAIL in CI
(`HUARONG_CI` set): `.ci/run` installs Debian's Chromium first. The canonical
import is `from tests.browser.browser_world import ...` (what mypy resolves).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.browser_world import Portal, chromium_path, launch, serve_portal
from tests.web.web_world import seed_template


@pytest.fixture(scope="session")
def chromium() -> str:
    found = chromium_path()
    if found is not None:
        return found
    wanted = os.environ.get("HUARONG_CHROMIUM") or "/usr/bin/chromium"
    reason = (
        f"no Chromium at {wanted} (apt-get install chromium fonts-noto-cjk, "
        "or set HUARONG_CHROMIUM); the browser tests never download a browser"
    )
    if os.environ.get("HUARONG_CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo building, seeded once per test session."""
    path = tmp_path_factory.mktemp("browser-template") / "demo.db"
    asyncio.run(seed_template(path))
    return path


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        started = await launch(playwright, chromium)
        try:
            yield started
        finally:
            await started.close()


@pytest.fixture
async def portal(browser_template: Path, tmp_path: Path, browser: Browser) -> AsyncIterator[Portal]:
    async with serve_portal(browser_template, tmp_path, browser) as served:
        yield served
