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

import attrs

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.clock import Clock
from huarong_core.config import parse_config
from huarong_core.conversation import (
    ChatKind,
    Conversation,
    Incoming,
    RenderedMessage,
    Reply,
    render_message,
)
from huarong_core.domain.audit import Actor
from huarong_core.storage.base import Database

SAMPLE_COMMUNITY = """
[community]
key = "testville"
name = { zh_CN = "测试大厦", en = "Test Tower" }
default_category = "employee"

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


@attrs.frozen
class ChatAnswer:
    """A reply as a person would read it: rendered text, and the buttons they could press."""

    reply: Reply
    messages: tuple[RenderedMessage, ...]

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    @property
    def payloads(self) -> tuple[str, ...]:
        return tuple(b.payload for m in self.messages for row in m.buttons for b in row)

    @property
    def private(self) -> tuple[RenderedMessage, ...]:
        return tuple(m for m in self.messages if m.private)

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text


class ChatTester:
    """Talk to a community as chat users do, without an adapter.

    `await chat.say("alice", "/join tea")` sends from a private chat;
    `group="tea-group"` sends from a group chat. Each input gets a fresh
    delivery id unless one is given (to test redelivery).
    """

    def __init__(self, handle: CommunityHandle, platform: str = "console") -> None:
        self.conversation = Conversation(handle)
        self.platform = platform
        self._count = 0

    async def say(
        self,
        sender: str,
        text: str,
        *,
        group: str | None = None,
        name: str | None = None,
        locale_hint: str | None = None,
        delivery_id: str | None = None,
        pressed: bool = False,
        photo: bytes | None = None,
    ) -> ChatAnswer:
        self._count += 1
        incoming = Incoming(
            platform=self.platform,
            chat_id=group or sender,
            sender_id=sender,
            delivery_id=delivery_id or str(self._count),
            text=text,
            chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE,
            sender_name=name or sender,
            locale_hint=locale_hint,
            pressed=pressed,
            photo=photo,
        )
        reply = await self.conversation.handle_incoming(incoming)
        tz = self.conversation.handle.community.tz
        return ChatAnswer(reply, tuple(render_message(m, reply.locale, tz) for m in reply.messages))
