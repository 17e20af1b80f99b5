"""Fixtures of the Telegram tests: a fake Bot API server per test.

The canonical import is `from tests.telegram.fake_bot_api import ...` (the
repository root is on sys.path, as for `tests.contract.conftest`, and mypy
resolves it). This folder is also put on sys.path and the module registered
under its short name, so `from fake_bot_api import ...` yields the very same
module (one `FakeBotApi` class, not two).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator

import pytest

from tests.telegram import fake_bot_api as _fake_module
from tests.telegram import fake_bot_api_schema as _schema_module
from tests.telegram.fake_bot_api import FakeBotApi

sys.modules.setdefault("fake_bot_api", _fake_module)
sys.modules.setdefault("fake_bot_api_schema", _schema_module)


@pytest.fixture
async def fake_bot_api() -> AsyncIterator[FakeBotApi]:
    """A started fake; tests end with `fake_bot_api.assert_clean()` themselves."""
    fake = FakeBotApi(redeliver_delay=0.2)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
