"""The Matrix adapter end to end, against a real Synapse, in plain and encrypted rooms.

Each test starts a community, the bot (`MatrixService`, as `huarong serve`
runs it, with the notification relay and the delivery worker beside it) and
people on real encrypting clients (`Human`). The club-room scenario runs in
an unencrypted room and in an end-to-end encrypted one.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    FireDueTimers,
    GetCheckInCode,
    ListClubMembers,
    ListRsvps,
    WhatsOn,
)
from huarong_core.delivery import DeliveryWorker
from huarong_core.domain.gatherings import RsvpStatus
from huarong_core.notices.relay import NotificationRelay
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community
from huarong_matrix.service import MatrixService
from tests.matrix.homeserver import Event, Homeserver, Human, register, unique_localpart

pytestmark = pytest.mark.slow

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

    def new_service(self, **options: Any) -> MatrixService:
        settings: dict[str, Any] = {"sync_timeout_ms": 1000, "retry_base": 0.2}
        settings.update(options)
        return MatrixService(
            self.handle,
            options.pop("homeserver_url", self.homeserver.url),
            self.bot_id,
            self.store,
            password=self.bot_password,
            **{k: v for k, v in settings.items() if k != "homeserver_url"},
        )

    async def start(self, **options: Any) -> MatrixService:
        service = self.new_service(**options)
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

    async def notices(self) -> None:
        await self.relay.run_once()
        assert self.worker is not None
        await self.worker.run_once()

    async def people(self, *names: str) -> list[Human]:
        return [await Human.create(self.homeserver, name, display_name=name) for name in names]


@pytest.fixture
async def world(homeserver: Homeserver, sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    password = secrets.token_urlsafe(12)
    bot_id = await register(homeserver, unique_localpart("huarong"), password)
    clock = FrozenClock(NOW)
    async with AsyncExitStack() as stack:
        leader = await Human.create(homeserver, "lin", display_name="Lin")
        stack.push_async_callback(leader.close)
        huarong, handle = await stack.enter_async_context(
            open_test_community(sqlite_url, config=community_file(leader.user_id), clock=clock)
        )
        world = World(
            homeserver,
            huarong,
            handle,
            clock,
            bot_id,
            password,
            tmp_path / "matrix-store",
            leader,
            None,
            NotificationRelay(huarong),
        )
        stack.push_async_callback(world.stop)
        await world.start()
        yield world


async def a_club_room(world: World, *, encrypted: bool) -> str:
    """The leader's room with the bot in it, bound to the salon club."""
    leader = world.leader
    room = await leader.create_room("English salon", invite=[world.bot_id], encrypted=encrypted)
    hello = await leader.said_by(world.bot_id, room, after=0, within=WAIT)
    assert "!bind" in body(hello)
    bound = await world.ask(leader, room, "!bind salon")
    assert "英语沙龙" in body(bound) or "English salon" in body(bound)
    return room


def is_reply_to(event: Event, source: str) -> bool:
    relation = event["content"].get("m.relates_to") or {}
    return bool((relation.get("m.in_reply_to") or {}).get("event_id") == source)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_club_room_join_rsvp_by_reaction_reminder_and_check_in(
    world: World, encrypted: bool
) -> None:
    room = await a_club_room(world, encrypted=encrypted)
    (ann,) = await world.people("Ann")
    try:
        # A newcomer is welcomed with a numbered choice and joins with a reaction.
        mark = world.leader.mark(room)
        await world.leader.invite(room, ann.user_id)
        welcome = await ann.wait_for(
            lambda e: e["sender"] == world.bot_id and "Ann" in body(e),
            room_id=room,
            within=WAIT,
            what="the welcome",
        )
        assert "1️⃣" in body(welcome)
        assert welcome["decrypted"] is encrypted
        mark = ann.mark(room)
        await ann.react(room, welcome["event_id"], "1️⃣")
        joined = await ann.said_by(world.bot_id, room, after=mark, within=WAIT)
        assert "英语沙龙" in body(joined) or "English salon" in body(joined)
        members = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)
        assert len(members) == 2  # the leader and Ann

        # What's on: numbered choices, answered by reacting with the keycap.
        listing = await world.ask(ann, room, "!whatson")
        assert "英语角之夜" in body(listing) or "English corner night" in body(listing)
        assert listing["content"].get("formatted_body")
        mentions = listing["content"].get("m.mentions") or {}
        assert ann.user_id in mentions.get("user_ids", [])
        mark = ann.mark(room)
        await ann.react(room, listing["event_id"], "1️⃣")
        going = await ann.said_by(world.bot_id, room, after=mark, within=WAIT)
        assert is_reply_to(going, going["content"]["m.relates_to"]["m.in_reply_to"]["event_id"])
        (night,) = await world.handle.execute(WhatsOn(), actor=SYSTEM)
        rsvps = await world.handle.execute(ListRsvps(night.id), actor=SYSTEM)
        assert [r.status for r in rsvps] == [RsvpStatus.GOING]

        # An hour before: the reminder reaches Ann's direct room and the club's room.
        world.clock.set(STARTS - timedelta(minutes=59))
        assert await world.handle.execute(FireDueTimers(), actor=SYSTEM) >= 1
        room_mark = world.leader.mark(room)
        await world.notices()
        await world.leader.wait_for(
            lambda e: e["sender"] == world.bot_id and "英语角之夜" in body(e),
            room_id=room,
            after=room_mark,
            within=WAIT,
            what="the reminder in the club's room",
        )
        direct = await _direct_room(ann, world.bot_id)
        await ann.wait_for(
            lambda e: e["sender"] == world.bot_id and "英语角之夜" in body(e),
            room_id=direct,
            within=WAIT,
            what="the reminder in Ann's direct room",
        )

        # At the venue: the code shown there checks her in, with points.
        world.clock.set(STARTS + timedelta(minutes=5))
        code = (await world.handle.execute(GetCheckInCode(night.id), actor=SYSTEM)).code
        checked = await world.ask(ann, room, f"!checkin {night.id} {code}")
        assert checked["type"] == "m.room.message"
        text = body(checked)
        assert "20" in text or "签到" in text or "checked in" in text.lower()
        rsvps = await world.handle.execute(ListRsvps(night.id), actor=SYSTEM)
        assert rsvps[0].checked_in_at is not None
    finally:
        await ann.close()


async def _direct_room(human: Human, bot_id: str) -> str:
    """The direct room the bot opened with `human` (waiting for its invite if need be)."""
    for _ in range(int(WAIT * 10)):
        rooms = human.direct_rooms_with(bot_id)
        if rooms:
            return rooms[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot opened no direct room with {human.user_id}")
