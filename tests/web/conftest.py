"""Fixtures of the web tests (see `web_world.py`).

The canonical import is `from tests.web.web_world import ...` (what mypy
resolves); the module is also registered under its short name, so
`from web_world import ...` yields the very same module.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web import web_world as _world_module
from tests.web.web_world import WebWorld, open_world, seed_template

sys.modules.setdefault("web_world", _world_module)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo building, seeded once per test session."""
    path = tmp_path_factory.mktemp("web-template") / "demo.db"
    asyncio.run(seed_template(path))
    return path


@pytest.fixture
async def world(demo_template: Path, tmp_path: Path) -> AsyncIterator[WebWorld]:
    async with open_world(demo_template, tmp_path) as opened:
        yield opened
