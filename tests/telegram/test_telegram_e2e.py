"""The Telegram adapter end to end, against the fake Bot API: people, a club group, the core.

Each test starts a community, the fake server and the bot (long polling
unless it says otherwise), with the notification relay and the delivery
worker beside it as `huarong serve` runs them, and drives fake people. Every
test ends with `fake.assert_clean()`: no request broke the schema or a limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import aiohttp
import attrs
import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    BindClubChat,
    ChangeRequestState,
    GetCheckInCode,
    ListAuditEntries,
    ListMyRequests,
    ListRedemptions,
    ListRsvps,
    PostAnnouncement,
    RegisterChatMember,
    WhatsOn,
)
from huarong_core.delivery import DeliveryWorker
from huarong_core.domain.gatherings import RsvpStatus
from huarong_core.domain.services import RequestState
from huarong_core.inbox import AdapterState, Inbox
from huarong_core.notices.relay import NotificationRelay
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community
from huarong_telegram.service import TelegramService
from huarong_telegram.updates import Poller
from tests.telegram.fake_bot_api import FakeBotApi, FakeGroup, FakeUser

SYSTEM = Actor.system("test")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
WAIT = 20.0
"""Seconds to wait for the bot: pacing holds a private chat to one message a second."""


def community_file(leader_id: int, staff_id: int) -> str:
    return (
        SAMPLE_COMMUNITY
        + f"""
[[members]]
key = "leader"
name = "Lin"
categories = ["employee"]
identities = [{{ platform = "telegram", id = "{leader_id}" }}]

[[members]]
key = "desk"
name = "Desk"
categories = ["employee"]
identities = [{{ platform = "telegram", id = "{staff_id}" }}]

[[roles]]
member = "desk"
role = "station_staff"
scope = "station:service"

[[clubs]]
key = "tea"
name = {{ zh_CN = "茶艺社", en = "Tea club" }}
station = "service"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:tea"

[[events]]
key = "tasting"
title = {{ zh_CN = "品茶会", en = "Tea tasting" }}
type = "activity_day"
starts = 2026-07-01T17:20:00+08:00
ends = 2026-07-01T19:00:00+08:00
organizer = "club:tea"
capacity = 1

[points]

[[points.rules]]
key = "checkin"
name = {{ zh_CN = "活动签到", en = "Checked in" }}
trigger = "event.checked_in"
points = 20

[[shop.items]]
key = "cup"
name = {{ zh_CN = "茶杯", en = "Cup" }}
price = 10
stock = 5

[[services]]
key = "repair"
station = "service"
name = {{ zh_CN = "报修", en = "Repairs" }}
affair = "community"
open_to = ["member"]
sla_hours = 24
form = [{{ key = "what", label = {{ zh_CN = "问题", en = "Problem" }} }}]
"""
    )


@attrs.define
class World:
    huarong: Huarong
    handle: CommunityHandle
    fake: FakeBotApi
    service: TelegramService
    clock: FrozenClock
    leader: FakeUser
    desk: FakeUser
    relay: NotificationRelay
    worker: DeliveryWorker

    async def said(self, user: FakeUser, text: str, *, chat: FakeGroup | None = None) -> str:
        """Send as `user` and wait for the bot's answer in that chat; its text."""
        chat_id = chat.id if chat is not None else user.id
        before = len(self.fake.chat_log(chat_id))
        update = self.fake.send_text(user, text, chat=chat)
        await self.fake.wait_confirmed(update, within=WAIT)
        await self.fake.wait_until(
            lambda: len(self.fake.chat_log(chat_id)) > before,
            within=WAIT,
            what=f"an answer to {text!r}",
        )
        return "\n".join(m.text for m in self.fake.chat_log(chat_id)[before:])

    async def press(self, user: FakeUser, chat_id: int, label_part: str) -> str:
        """Press the newest button whose label contains `label_part`; the chat's new text."""
        for message in reversed(self.fake.chat_log(chat_id)):
            for row in (message.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if label_part in button["text"]:
                        edits = message.edits
                        before = len(self.fake.chat_log(chat_id))
                        self.fake.press(user, message.message_id, chat_id, button["callback_data"])

                        def answered(m: Any = message, e: int = edits, b: int = before) -> bool:
                            return len(self.fake.chat_log(chat_id)) > b or m.edits > e

                        await self.fake.wait_until(
                            answered,
                            within=WAIT,
                            what=f"the answer to pressing {label_part!r}",
                        )
                        newer = self.fake.chat_log(chat_id)[before:]
                        return "\n".join(m.text for m in newer) if newer else message.text
        raise AssertionError(f"no button with {label_part!r} in chat {chat_id}")

    async def arrives(self, chat_id: int, before: int, what: str) -> None:
        """Wait until the chat has more than `before` messages from the bot."""
        await self.fake.wait_until(
            lambda: len(self.fake.chat_log(chat_id)) > before, within=WAIT, what=what
        )

    async def notices(self) -> None:
        """Let the relay and the worker deliver what the core recorded."""
        await self.relay.run_once()
        await self.worker.run_once()


@pytest.fixture
async def world(database_url: str, fake_bot_api: FakeBotApi) -> AsyncIterator[World]:
    fake = fake_bot_api
    leader = fake.user("Lin", language_code="zh-hans")
    desk = fake.user("Desk", language_code="en")
    clock = FrozenClock(NOW)
    config = community_file(leader.id, desk.id)
    async with AsyncExitStack() as stack:
        huarong, handle = await stack.enter_async_context(
            open_test_community(database_url, config=config, clock=clock)
        )
        service = TelegramService(handle, fake.token, api_url=fake.base_url, poll_timeout=1)
        await service.start()
        stack.push_async_callback(service.stop)
        relay = NotificationRelay(huarong)
        worker = DeliveryWorker(huarong, {"telegram": service.sender})
        yield World(huarong, handle, fake, service, clock, leader, desk, relay, worker)
    fake.assert_clean()


async def test_menus_are_published_for_every_scope_and_language(world: World) -> None:
    private_zh = world.fake.commands({"type": "all_private_chats"}, "zh")
    assert private_zh is not None
    names = [c["command"] for c in private_zh]
    assert {"start", "help", "join", "rsvp", "points", "redeem", "request"} <= set(names)
    assert len(names) <= 100
    admins = world.fake.commands({"type": "all_chat_administrators"}, "en")
    assert admins is not None
    assert len(admins) <= 100
    en = {
        c["command"]: c["description"]
        for c in world.fake.commands({"type": "all_private_chats"}, "en") or []
    }
    assert en["points"].startswith("Your points")


@pytest.mark.slow
async def test_a_club_group_from_binding_to_one_tap_joins(world: World) -> None:
    fake = world.fake
    group = fake.group("茶艺社群", members=[world.leader])
    group.add_bot(by=world.leader)
    await fake.wait_until(lambda: bool(fake.chat_log(group.id)), what="the bot's hello")
    assert "/bind" in fake.chat_log(group.id)[-1].text

    bound = await world.said(world.leader, "/bind@huarong_test_bot tea", chat=group)
    assert "茶艺社" in bound

    # Commands for another bot are not ours to answer.
    before = len(fake.chat_log(group.id))
    other = fake.send_text(world.leader, "/help@some_other_bot", chat=group)
    await fake.wait_confirmed(other)
    await asyncio.sleep(0.2)
    assert len(fake.chat_log(group.id)) == before

    # A newcomer is welcomed with a button and joins with one tap.
    wang = fake.user("王芳")
    group.add_member(wang)
    await fake.wait_until(
        lambda: "欢迎王芳" in fake.chat_log(group.id)[-1].text, what="the welcome"
    )
    joined = await world.press(wang, group.id, "加入")
    assert "茶艺社" in joined

    # /join in the group acts on the group's club.
    eve = fake.user("Eve", language_code="en")
    group.add_member(eve)
    answer = await world.said(eve, "/join", chat=group)
    assert "Tea club" in answer


@pytest.mark.slow
async def test_rsvp_by_button_waitlist_promotion_and_check_in_by_deep_link(world: World) -> None:
    fake = world.fake
    ann = fake.user("Ann", language_code="en")
    bo = fake.user("博文")
    await world.said(ann, "/start")
    listing = await world.said(ann, "/whatson")
    assert "Tea tasting" in listing
    going = await world.press(ann, ann.id, "1")
    assert "going" in going.lower()

    # The only seat is taken: 博文 waits; when Ann cancels he is told.
    waiting = await world.said(bo, "/rsvp 品茶会")
    assert "候补" in waiting
    cancelled = await world.said(ann, "/cancel tasting")
    assert "tasting" in cancelled.lower() or "Tea tasting" in cancelled
    before = len(fake.chat_log(bo.id))
    await world.notices()
    await fake.wait_until(
        lambda: len(fake.chat_log(bo.id)) > before, within=WAIT, what="the promotion notice"
    )
    assert "品茶会" in fake.chat_log(bo.id)[-1].text
    gathering = (await world.handle.execute(WhatsOn(days=1), actor=SYSTEM))[0]
    rsvps = await world.handle.execute(ListRsvps(gathering.id), actor=SYSTEM)
    going_ids = [r.member_id for r in rsvps if r.status is RsvpStatus.GOING]
    assert len(going_ids) == 1

    # At the venue: the QR code opens `t.me/<bot>?start=checkin-<id>-<code>`.
    code = (await world.handle.execute(GetCheckInCode(gathering.id), actor=SYSTEM)).code
    link = world.service.bot.deep_link(f"checkin-{gathering.id}-{code}")
    assert link.startswith("https://t.me/huarong_test_bot?start=")
    checked = await world.said(bo, f"/start checkin-{gathering.id}-{code}")
    assert "签到" in checked


@pytest.mark.slow
async def test_shop_and_service_request_with_its_status_notices(world: World) -> None:
    fake = world.fake
    ann = fake.user("Ann", language_code="en")
    await world.said(ann, "/start")
    poor = await world.said(ann, "/redeem cup")
    assert "⚠️" in poor  # no points yet: refused, nothing changed
    assert await world.handle.execute(ListRedemptions(), actor=SYSTEM) == ()

    filed = await world.said(ann, "/request repair what=the tap drips")
    assert "#" in filed
    profile = await world.handle.execute(
        RegisterChatMember("telegram", str(ann.id), "Ann"), actor=SYSTEM
    )
    mine = await world.handle.execute(
        ListMyRequests(member_id=profile.member.id), actor=Actor.member(profile.member.id, "Ann")
    )
    request = mine.items[0]
    accepted = await world.said(world.desk, f"/accept {request.id}")
    assert f"#{request.id}" in accepted  # the desk speaks Chinese (its file sets no language)
    before = len(fake.chat_log(ann.id))
    await world.notices()
    await fake.wait_until(
        lambda: len(fake.chat_log(ann.id)) > before, within=WAIT, what="the status notice"
    )
    assert f"#{request.id}" in fake.chat_log(ann.id)[-1].text

    # 中文 too: the same request, resolved, reaches a Chinese reader in Chinese.
    await world.said(ann, "/lang zh_CN")
    await world.handle.execute(
        ChangeRequestState(request.id, RequestState.IN_PROGRESS), actor=SYSTEM
    )
    await world.handle.execute(
        ChangeRequestState(request.id, RequestState.RESOLVED, "修好了"), actor=SYSTEM
    )
    before = len(fake.chat_log(ann.id))
    await world.notices()
    await fake.wait_until(
        lambda: len(fake.chat_log(ann.id)) > before, within=WAIT, what="the resolved notice"
    )
    assert "报修" in fake.chat_log(ann.id)[-1].text


@pytest.mark.slow
async def test_odd_updates_are_ignored_and_nothing_crashes(world: World) -> None:
    fake = world.fake
    ann = fake.user("Ann")
    await world.said(ann, "/start")
    quiet = [
        fake.send_sticker(ann),
        fake.channel_post("/help"),
        fake.edit_text(ann, 1, "/points"),
        fake.send_text(ann, "/points", forward_from=world.leader),
        fake.push_raw({"poll": {"id": "1", "question": "?", "options": []}}),
    ]
    before = len(fake.chat_log(ann.id))
    for update in quiet:
        await fake.wait_confirmed(update)
    long = await world.said(ann, "/name " + "长" * 5000)
    assert "⚠️" in long or "太长" in long or "最多" in long
    assert len(fake.chat_log(ann.id)) == before + 1
    inbox = Inbox(world.handle, "telegram")
    assert await inbox.pending() == []


@pytest.mark.slow
async def test_a_crash_between_handling_and_the_offset_repeats_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = world.fake
    poller = world.service.poller
    assert poller is not None
    await poller.stop()  # drive polling by hand from here
    ann = fake.user("Ann")
    update = fake.send_text(ann, "/name 安")

    async def crash(self: AdapterState, key: str, value: str) -> None:
        raise RuntimeError("killed before the offset was stored")

    with monkeypatch.context() as patched:
        patched.setattr(AdapterState, "set", crash)
        with pytest.raises(RuntimeError):
            await poller.poll_once()
    assert update in fake.pending_update_ids  # Telegram will send it again
    answered = len(fake.chat_log(ann.id))
    assert answered == 1

    restarted = Poller(
        world.service.api, world.service.worker, AdapterState(world.handle, "telegram"), timeout=1
    )
    await restarted.poll_once()
    await restarted.poll_once()  # confirms the offset
    assert update not in fake.pending_update_ids
    assert len(fake.chat_log(ann.id)) == answered  # not answered, not renamed, twice


async def test_stopping_ends_a_long_poll_at_once_and_loses_nothing(world: World) -> None:
    fake = world.fake
    assert world.service.poller is not None
    await world.service.poller.stop()
    state = AdapterState(world.handle, "telegram")
    patient = Poller(world.service.api, world.service.worker, state, timeout=60)
    polls = len(fake.calls("getUpdates"))
    await patient.start()
    await fake.wait_until(lambda: len(fake.calls("getUpdates")) > polls, what="a long poll")
    await asyncio.wait_for(patient.stop(), timeout=5)  # not the poll's 60 s
    ann = fake.user("Ann")
    update = fake.send_text(ann, "/start")
    assert update in fake.pending_update_ids
    again = Poller(world.service.api, world.service.worker, state, timeout=1)
    await again.poll_once()
    await again.poll_once()  # confirms the offset
    assert update not in fake.pending_update_ids
    assert fake.chat_log(ann.id)
    assert fake.conflicts == []  # the stopped poll's connection was closed, not left waiting


@pytest.mark.slow
async def test_a_blocked_member_is_marked_unreachable(world: World) -> None:
    fake = world.fake
    ann = fake.user("Ann")
    await world.said(ann, "/start")
    update = fake.block(ann)
    await fake.wait_confirmed(update)
    entries = await world.handle.execute(
        ListAuditEntries(action="identity.unreachable"), actor=SYSTEM
    )
    assert [e.details["identity"] for e in entries] == [f"telegram:{ann.id}"]
    fake.unblock(ann)
    again = await world.said(ann, "/start")
    assert again


async def test_webhook_checks_the_secret_records_first_and_drops_redeliveries(
    database_url: str, fake_bot_api: FakeBotApi, unused_tcp_port: int
) -> None:
    fake = fake_bot_api
    clock = FrozenClock(NOW)
    async with open_test_community(database_url, config=community_file(1, 2), clock=clock) as (
        _,
        handle,
    ):
        url = f"http://127.0.0.1:{unused_tcp_port}/telegram/hook"
        service = TelegramService(
            handle,
            fake.token,
            api_url=fake.base_url,
            webhook_url=url,
            listen=f"127.0.0.1:{unused_tcp_port}",
        )
        await service.start()
        try:
            ann = fake.user("Ann", language_code="en")
            update = fake.send_text(ann, "/start")
            await fake.wait_until(lambda: bool(fake.chat_log(ann.id)), what="the webhook answer")
            assert "Welcome" in fake.chat_log(ann.id)[-1].text

            raw: dict[str, Any] = {
                "update_id": update,
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "chat": {"id": ann.id, "type": "private"},
                    "from": ann.as_user(),
                    "text": "/start",
                },
            }
            good = {"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""}
            cases: list[tuple[dict[str, str], str, int]] = [
                ({}, json.dumps(raw), 403),
                ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, json.dumps(raw), 403),
                (good, "{not json", 400),
                (good, json.dumps(raw), 200),
            ]
            async with aiohttp.ClientSession() as session:
                for headers, body, status in cases:
                    async with session.post(url, data=body, headers=headers) as answer:
                        assert answer.status == status
            await asyncio.sleep(0.3)
            assert len(fake.chat_log(ann.id)) == 1  # the redelivery changed nothing
        finally:
            await service.stop()
    fake.assert_clean()


@pytest.mark.slow
async def test_a_200_member_announcement_is_paced_and_survives_429s(
    database_url: str, fake_bot_api: FakeBotApi
) -> None:
    fake = fake_bot_api
    people = [fake.user(f"P{n}", started=True) for n in range(200)]
    clock = FrozenClock(NOW)
    async with open_test_community(database_url, config=community_file(1, 2), clock=clock) as (
        huarong,
        handle,
    ):
        for person in people:
            await handle.execute(
                RegisterChatMember("telegram", str(person.id), person.first_name), actor=SYSTEM
            )
        group = fake.group("茶艺社群", members=people[:3])
        group.add_bot(by=people[0])
        await handle.execute(BindClubChat("tea", "telegram", str(group.id)), actor=SYSTEM)
        service = TelegramService(handle, fake.token, api_url=fake.base_url, poll_timeout=1)
        await service.start()
        try:
            await handle.execute(
                PostAnnouncement("everyone", "停水通知", "周六停水。"), actor=SYSTEM
            )
            fake.fail_next(
                "sendMessage",
                error_code=429,
                description="Too Many Requests: retry after 1",
                retry_after=1,
                count=5,
            )
            worker = DeliveryWorker(huarong, {"telegram": service.sender}, concurrency=32)
            while await worker.run_once():
                continue  # until nothing is due: 429s put deliveries back for later
        finally:
            await service.stop()
    for person in people:
        received = [m for m in fake.chat_log(person.id) if "停水通知" in m.text]
        assert len(received) == 1, person.first_name
    assert len([m for m in fake.chat_log(group.id) if "停水通知" in m.text]) == 1
    fake.assert_clean()


@pytest.mark.slow
async def test_an_upgraded_supergroup_keeps_its_club(world: World) -> None:
    from huarong_core.commands import FindClubByChat

    fake = world.fake
    group = fake.group("茶艺社群", members=[world.leader])
    group.add_bot(by=world.leader)
    await world.said(world.leader, "/bind tea", chat=group)
    bigger = group.migrate_to_supergroup(by=world.leader)
    await fake.wait_until(
        lambda: bool(fake.chat_log(bigger.id)), within=WAIT, what="the migration notice"
    )
    assert "茶艺社" in fake.chat_log(bigger.id)[-1].text
    moved = await world.handle.execute(FindClubByChat("telegram", str(bigger.id)), actor=SYSTEM)
    old = await world.handle.execute(FindClubByChat("telegram", str(group.id)), actor=SYSTEM)
    assert (moved is not None and moved.key, old) == ("tea", None)
    answer = await world.said(world.leader, "/club", chat=bigger)
    assert "茶艺社" in answer
