"""Helpers for people who embed Huarong (and for our own tests).

`FrozenClock` controls time; `open_test_community` gives a ready community
on a throwaway database; `snapshot` captures every row so a test can say
"this failed operation changed nothing".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.clock import Clock
from huarong_core.config import parse_config
from huarong_core.domain.audit import Actor
from huarong_core.storage.base import Database

SAMPLE_COMMUNITY = """
[community]
key = "testville"
name = { zh_CN = "测试大厦", en = "Test Tower" }

[[categories]]
key = "party_member"
name = { zh_CN = "党员", en = "Party member" }

[[categories]]
key = "employee"
name = { zh_CN = "员工", en = "Employee" }

[[stations]]
key = "service"
name = { zh_CN = "服务站", en = "Service station" }
floor = 1

[[organizations]]
key = "acme"
name = "Acme Insurance"
industry = "insurance"
has_party_branch = true

[[members]]
key = "admin"
name = "Admin"
organization = "acme"
categories = ["party_member"]

[[members]]
key = "staff"
name = "Staff"
categories = ["employee"]

[[members]]
key = "alice"
name = "Alice"
organization = "acme"
categories = ["employee"]

[[roles]]
member = "admin"
role = "admin"

[[roles]]
member = "staff"
role = "station_staff"
scope = "station:service"
"""


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 7, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = when


@asynccontextmanager
async def open_test_community(
    database: str | Database = "sqlite:///:memory:",
    *,
    config: str = SAMPLE_COMMUNITY,
    clock: Clock | None = None,
) -> AsyncIterator[tuple[Huarong, CommunityHandle]]:
    """A started `Huarong` with `config` loaded, and the handle of its community."""
    parsed = parse_config(config, source="<test>")
    async with Huarong(database, clock=clock or FrozenClock()) as huarong:
        await huarong.apply_configuration(parsed, actor=Actor.system("test"), source="<test>")
        yield huarong, await huarong.community(parsed.community.key)


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order, for before/after comparisons."""
    async with db.read() as conn:
        if conn.dialect == "sqlite":
            rows = await conn.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        else:
            rows = await conn.fetch(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
                " ORDER BY tablename"
            )
        tables = [str(r["name"]) for r in rows]
        result: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            content = await conn.fetch(f"SELECT * FROM {table}")
            result[table] = sorted(tuple(map(str, r.values())) for r in content)
        return result
