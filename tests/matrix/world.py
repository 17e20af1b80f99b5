"""A community, the Matrix bot as `huarong serve` runs it, and people on real clients.

Shared by the Matrix end-to-end tests (the `world` fixture in conftest.py):
the bot can be stopped and started again on the same database and store,
as a restart would, and the notification relay and delivery worker run on
demand (`notices()`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.delivery import DeliveryWorker
from huarong_core.notices.relay import NotificationRelay
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community
from huarong_matrix.service import MatrixService
from tests.matrix.homeserver import Event, Homeserver, Human, register, unique_localpart

SYSTEM = Actor.system("test")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
STARTS = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)  # 19:30 in Shanghai
WAIT = 30.0


def community_file(leader: str) -> str:
    return (
        SAMPLE_COMMUNITY
        + f"""
[[members]]
key = "leader"
name = "Lin"
categories = ["employee"]
identities = [{{ platform = "matrix", id = "{leader}" }}]

[[clubs]]
key = "salon"
name = {{ zh_CN = "英语沙龙", en = "English salon" }}
station = "service"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:salon"

[[events]]
key = "night"
title = {{ zh_CN = "英语角之夜", en = "English corner night" }}
type = "activity_day"
starts = 2026-07-01T19:30:00+08:00
ends = 2026-07-01T21:00:00+08:00
organizer = "club:salon"
capacity = 10

[points]

[[points.rules]]
key = "checkin"
name = {{ zh_CN = "活动签到", en = "Checked in" }}
trigger = "event.checked_in"
points = 20
"""
    )


def body(event: Event) -> str:
    return str(event["content"].get("body", ""))


@attrs.define
class World:
    homeserver: Homeserver
    huarong: Huarong
    handle: CommunityHandle
    clock: FrozenClock
    bot_id: str
    bot_password: str
    store: Path
    leader: Human
    service: MatrixService | None
    relay: NotificationRelay
    worker: DeliveryWorker | None = None

    async def start(self, *, homeserver_url: str | None = None, **options: Any) -> MatrixService:
        """Start the bot on the same database and store (a restart, after `stop`)."""
        settings: dict[str, Any] = {"sync_timeout_ms": 1000, "retry_base": 0.2, **options}
        service = MatrixService(
            self.handle,
            homeserver_url or self.homeserver.url,
            self.bot_id,
            self.store,
            password=self.bot_password,
            **settings,
        )
        await service.start()
        self.service = service
        self.worker = DeliveryWorker(self.huarong, {"matrix": service.sender})
        return service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    async def ask(self, human: Human, room: str, text: str, *, within: float = WAIT) -> Event:
        """Send as `human` and wait for the bot's next message in that room."""
        mark = human.mark(room)
        await human.send(room, text)
        return await human.said_by(self.bot_id, room, after=mark, within=within)

    async def answer(self, human: Human, room: str, source: str) -> Event:
        """The bot's reply to the event `source`, once it has come."""
        return await human.wait_for(
            lambda e: (
                e["sender"] == self.bot_id
                and e["type"] == "m.room.message"
                and replied_to(e) == source
            ),
            room_id=room,
            within=WAIT,
            what=f"the bot's answer to {source}",
        )

    async def settle(self, human: Human, room: str) -> None:
        """Ask once more and wait for the answer. Events are handled in arrival order and
        sent through one queue, so whatever the bot was due to say before has been said."""
        sentinel = await human.send(room, "!help")
        await self.answer(human, room, sentinel)

    async def notices(self) -> None:
        await self.relay.run_once()
        assert self.worker is not None
        await self.worker.run_once()

    async def people(self, *names: str) -> list[Human]:
        return [await Human.create(self.homeserver, name, display_name=name) for name in names]


@asynccontextmanager
async def open_world(
    homeserver: Homeserver, database_url: str, store: Path
) -> AsyncIterator[World]:
    password = secrets.token_urlsafe(12)
    bot_id = await register(homeserver, unique_localpart("huarong"), password)
    clock = FrozenClock(NOW)
    async with AsyncExitStack() as stack:
        leader = await Human.create(homeserver, "lin", display_name="Lin")
        stack.push_async_callback(leader.close)
        huarong, handle = await stack.enter_async_context(
            open_test_community(database_url, config=community_file(leader.user_id), clock=clock)
        )
        world = World(
            homeserver,
            huarong,
            handle,
            clock,
            bot_id,
            password,
            store,
            leader,
            None,
            NotificationRelay(huarong),
        )
        stack.push_async_callback(world.stop)
        await world.start()
        yield world


def replied_to(event: Event) -> str | None:
    relation = event["content"].get("m.relates_to") or {}
    found = (relation.get("m.in_reply_to") or {}).get("event_id")
    return str(found) if found else None


def answers_to(human: Human, room: str, bot_id: str, source: str) -> list[Event]:
    """The bot's messages in `room` that reply to the event `source`."""
    return [
        e
        for e in human.events(room, sender=bot_id)
        if e["type"] == "m.room.message" and replied_to(e) == source
    ]


async def direct_room(human: Human, bot_id: str) -> str:
    """The direct room the bot opened with `human` (waiting for its invite if need be)."""
    for _ in range(int(WAIT * 10)):
        rooms = human.direct_rooms_with(bot_id)
        if rooms:
            return rooms[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot opened no direct room with {human.user_id}")


async def a_club_room(world: World, *, encrypted: bool) -> str:
    """The leader's room with the bot in it, bound to the salon club."""
    leader = world.leader
    room = await leader.create_room("English salon", invite=[world.bot_id], encrypted=encrypted)
    hello = await leader.said_by(world.bot_id, room, after=0, within=WAIT)
    assert "!bind" in body(hello)
    bound = await world.ask(leader, room, "!bind salon")
    assert "英语沙龙" in body(bound) or "English salon" in body(bound)
    return room
