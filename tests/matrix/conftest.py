"""Fixtures of the Matrix tests: the real homeserver they talk to.

The canonical import is `from tests.matrix.homeserver import ...` (the
repository root is on sys.path, as for the other test folders).

Without a homeserver these tests skip on a developer's machine (`make synapse`
starts one) but fail in CI, which starts Synapse itself: an end-to-end suite
that quietly skips proves nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.matrix.homeserver import Homeserver, homeserver_from_env
from tests.matrix.world import World, open_world


@pytest.fixture(scope="session")
def homeserver() -> Homeserver:
    hs = homeserver_from_env()
    if hs is not None:
        return hs
    if os.environ.get("HUARONG_CI") or os.environ.get("CI"):
        pytest.fail(
            "no Matrix homeserver in CI: HUARONG_TEST_MATRIX_URL and HUARONG_TEST_MATRIX_SECRET "
            "must be set (.ci/run starts Synapse with .ci/synapse.sh)"
        )
    pytest.skip(
        "no homeserver: run `make synapse` and export HUARONG_TEST_MATRIX_URL and "
        "HUARONG_TEST_MATRIX_SECRET as it prints"
    )


@pytest.fixture
async def world(homeserver: Homeserver, sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A community on SQLite with the bot running and its leader on a real client."""
    async with open_world(homeserver, sqlite_url, tmp_path / "matrix-store") as started:
        yield started
