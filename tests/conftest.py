"""Fixtures shared by every test: backends, clock, a loaded community.

The contract fixtures run each test on SQLite and on PostgreSQL. PostgreSQL
comes from $HUARONG_TEST_PG (default: the server this machine kind runs);
each test gets a schema of its own, dropped afterwards. If the server is
unreachable the PostgreSQL tests fail rather than skip: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from huarong_core import Huarong
from huarong_core.app import CommunityHandle
from huarong_core.testing import FrozenClock, open_test_community

PG_URL = os.environ.get("HUARONG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def pg_url() -> str:
    return PG_URL


@pytest.fixture
async def pg_schema_url() -> AsyncIterator[str]:
    """A PostgreSQL URL whose connections use a fresh, private schema."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}schema={schema}"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'huarong.db'}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The database URL of the backend under test (a fresh database each time)."""
    if backend == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
async def huarong(database_url: str, clock: FrozenClock) -> AsyncIterator[Huarong]:
    async with Huarong(database_url, clock=clock) as started:
        yield started


@pytest.fixture
async def community(
    database_url: str, clock: FrozenClock
) -> AsyncIterator[tuple[Huarong, CommunityHandle]]:
    """`testing.SAMPLE_COMMUNITY` loaded on the backend under test."""
    async with open_test_community(database_url, clock=clock) as pair:
        yield pair


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def examples_dir(repo_root: Path) -> Path:
    return repo_root / "examples" / "huarong"


@pytest.fixture(autouse=True)
def _no_user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own database or language settings."""
    for name in ("HUARONG_DB", "HUARONG_LANG"):
        monkeypatch.delenv(name, raising=False)
