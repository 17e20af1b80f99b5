"""Notifications: events relayed into one row per recipient, sent once, in each reader's
language, through the same worker and guarantees as announcements."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AddAidAction,
    AwardPoints,
    BorrowCopy,
    ChangeRequestState,
    CreateEvent,
    DecideClubRequest,
    JoinClub,
    OpenAidCase,
    PlaceHold,
    PostAnnouncement,
    RespondToGathering,
    ReturnCopy,
    SearchBooks,
    SubmitRequest,
    UpdateMember,
)
from huarong_core.conversation.values import MAX_PAYLOAD_BYTES
from huarong_core.delivery import (
    DeliveryTarget,
    DeliveryWorker,
    MemorySender,
    OutgoingMessage,
    PermanentFailure,
    Priority,
    TemporaryFailure,
)
from huarong_core.domain.aid import AidCategory
from huarong_core.domain.gatherings import Answer, EventType
from huarong_core.domain.services import RequestState
from huarong_core.domain.text import LocalizedText
from huarong_core.i18n import translate
from huarong_core.notices import message_from_json
from huarong_core.notices import renderers as notice_renderers
from huarong_core.notices.relay import MAX_RENDER_ATTEMPTS, NotificationRelay
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "li"
name = "李雷"
locale = "zh_CN"
identities = [{ platform = "telegram", id = "601" }]

[[members]]
key = "kate"
name = "Kate"
locale = "en"
identities = [
    { platform = "telegram", id = "602" },
    { platform = "matrix", id = "@kate:example.org" },
]

[[members]]
key = "wu"
name = "吴敏"
identities = [{ platform = "telegram", id = "603" }]

[[members]]
key = "desk"
name = "Desk"
locale = "en"
identities = [{ platform = "telegram", id = "700" }]

[[members]]
key = "desk2"
name = "Desk Two"
identities = [{ platform = "telegram", id = "701" }]

[[members]]
key = "tealeader"
name = "Tea Leader"
locale = "en"
identities = [{ platform = "telegram", id = "702" }]

[[roles]]
member = "desk"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "desk2"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "tealeader"
role = "club_leader"
scope = "club:tea"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "service"
join = "approval"

[[clubs]]
key = "chess"
name = { zh_CN = "棋艺斋", en = "Chess club" }
station = "service"

[[services]]
key = "repair"
station = "service"
name = { zh_CN = "报修", en = "Repairs" }
affair = "community"
sla_hours = 8

[library]
station = "service"
loan_days = 30
hold_pickup_days = 3

[[library.books]]
title = "红岩"
author = "罗广斌、杨益言"
copies = [{ code = "HY-001" }]
"""
)


@pytest.fixture
async def hub(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=COMMUNITY, clock=clock) as pair:
        yield pair


@pytest.fixture
async def people(hub: Pair) -> dict[str, Actor]:
    _, handle = hub
    keys = ("li", "kate", "wu", "desk", "desk2", "tealeader", "staff", "alice", "admin")
    return {key: await actor_for(handle, key) for key in keys}


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


async def rows(huarong: Huarong, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def notified(huarong: Huarong, kind: str | None = None) -> list[dict[str, Any]]:
    if kind is None:
        return await rows(huarong, "SELECT * FROM notifications ORDER BY id")
    return await rows(huarong, "SELECT * FROM notifications WHERE kind = $1 ORDER BY id", kind)


class Inbox(MemorySender):
    """Records what each address received; can hang, fail or refuse on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def for_member(self, member_id: int) -> list[OutgoingMessage]:
        return [m for t, m in self.sent if t.member_id == member_id]

    def keys_for(self, member_id: int) -> list[str]:
        return [m.key for m in self.for_member(member_id)]

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)
        self.calls[target.address] += 1
        await super().send(target, message)


async def deliver(huarong: Huarong, sender: MemorySender | None = None) -> MemorySender:
    """Relay the outbox and send everything due, as `huarong serve` does in the background."""
    await NotificationRelay(huarong).run_once()
    sender = sender or Inbox()
    await DeliveryWorker(huarong, {"telegram": sender}).run_once()
    return sender


async def make_event(handle: CommunityHandle, capacity: int) -> int:
    starts = handle.now() + timedelta(days=3)
    event = await handle.execute(
        CreateEvent(
            title=LocalizedText({"en": "Tea tasting", "zh_CN": "品茶会"}),
            event_type=EventType.ACTIVITY_DAY,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            organizer="station:service",
            capacity=capacity,
        ),
        actor=SYSTEM,
    )
    return event.id


async def work(handle: CommunityHandle, request_id: int, staff: Actor) -> None:
    """Accept, start and resolve a request, as its station's staff do."""
    for state in (RequestState.ACCEPTED, RequestState.IN_PROGRESS, RequestState.RESOLVED):
        await handle.execute(ChangeRequestState(request_id, state), actor=staff)


# --- the scenarios the Telegram end-to-end tests rely on ------------------------------------


async def test_a_full_event_and_a_cancellation_tell_the_promoted_member_once(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    event_id = await make_event(handle, capacity=1)
    await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["kate"])
    queued = await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["li"])
    assert queued.status.value == "waitlisted"
    await handle.execute(RespondToGathering(event_id, Answer.NOT_GOING), actor=people["kate"])

    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    assert inbox.keys_for(mid(people["li"])) == ["chat.notice.gathering_promoted"]
    assert inbox.for_member(mid(people["kate"])) == []
    target, message = next((t, m) for t, m in inbox.sent if t.member_id == mid(people["li"]))
    assert (target.kind, target.platform, target.address) == ("notification", "telegram", "601")
    assert target.announcement_id is None
    assert target.notification_id == target.delivery_id
    assert message.locale == "zh_CN"
    assert "品茶会" in message.text
    assert message.priority is Priority.NORMAL
    assert message.message is not None
    payloads = [b.payload for row in message.message.buttons for b in row]
    assert payloads == [f"/details #{event_id}", f"/rsvp #{event_id} no"]

    # Nothing more happens on later passes: every row was sent once.
    again = await deliver(huarong)
    assert again.sent == []


async def test_a_request_tells_its_requester_of_each_change_in_their_language(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    for key in ("kate", "li"):
        request = await handle.execute(SubmitRequest("repair", {}), actor=people[key])
        await work(handle, request.id, people["desk"])
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    for key, locale in (("kate", "en"), ("li", "zh_CN")):
        received = inbox.for_member(mid(people[key]))
        assert [m.key for m in received] == ["chat.notice.request_state"] * 3, key
        assert {m.locale for m in received} == {locale}
        resolved = received[2]
        state = translate("chat.notice.state.resolved", locale)
        assert state in resolved.text
        assert resolved.message is not None
        assert [b.payload for row in resolved.message.buttons for b in row][1:] == [
            f"/state {resolved.params['id']} closed",
            f"/state {resolved.params['id']} reopen",
        ]
    assert "Repairs" in inbox.for_member(mid(people["kate"]))[0].text
    assert "报修" in inbox.for_member(mid(people["li"]))[0].text
    # The station's staff hear of each new request; the one who accepted is not told
    # that they took it themselves.
    assert inbox.keys_for(mid(people["desk2"])) == ["chat.notice.request_submitted"] * 2
    assert inbox.keys_for(mid(people["desk"])) == ["chat.notice.request_submitted"] * 2


async def test_the_requester_s_own_steps_go_to_the_staff_not_back_to_them(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    request = await handle.execute(SubmitRequest("repair", {}), actor=people["kate"])
    await work(handle, request.id, people["desk"])
    await handle.execute(ChangeRequestState(request.id, RequestState.CLOSED), actor=people["kate"])
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    assert inbox.keys_for(mid(people["kate"])) == ["chat.notice.request_state"] * 3
    closed = [m for m in inbox.for_member(mid(people["desk"])) if "closed" in m.text]
    assert [m.key for m in closed] == ["chat.notice.request_state_by_requester"]


async def test_a_request_filed_by_staff_for_a_member_tells_the_member(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    await handle.execute(SubmitRequest("repair", {}, member_id=mid(people["kate"])), actor=SYSTEM)
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    assert inbox.keys_for(mid(people["kate"])) == ["chat.notice.request_filed"]


async def test_a_hold_becomes_ready(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    books = await handle.execute(SearchBooks("红岩"), actor=SYSTEM)
    book_id = books.items[0].book.id
    await handle.execute(BorrowCopy("HY-001"), actor=people["li"])
    await handle.execute(PlaceHold(book_id), actor=people["kate"])
    await handle.execute(ReturnCopy("HY-001"), actor=SYSTEM)
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    [message] = inbox.for_member(mid(people["kate"]))
    assert message.key == "chat.notice.hold_ready"
    assert "红岩" in message.text
    assert "HY-001" in message.text
    assert inbox.for_member(mid(people["li"])) == []


async def test_an_aid_case_reaches_only_its_named_staff_and_never_its_details(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    need = "Lost his job and cannot pay rent"
    step = "Visited at home, brought groceries"
    case = await handle.execute(
        OpenAidCase(mid(people["wu"]), AidCategory.HARDSHIP, need, (mid(people["desk2"]),)),
        actor=people["desk"],
    )
    await handle.execute(AddAidAction(case.case.id, step), actor=people["desk"])
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    told = {t.member_id for t, _ in inbox.sent}
    assert told == {mid(people["desk2"])}
    keys = inbox.keys_for(mid(people["desk2"]))
    assert keys == ["chat.notice.aid_named", "chat.notice.aid_updated"]
    for _, message in inbox.sent:
        assert need not in message.text
        assert step not in message.text
        assert f"/aid {case.case.id}" in message.text
    stored = await notified(huarong)
    assert all(need not in str(r["message"]) and step not in str(r["message"]) for r in stored)


async def test_club_requests_reach_the_leaders_and_the_answer_reaches_the_member(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    await handle.execute(JoinClub("tea"), actor=people["kate"])
    await handle.execute(JoinClub("tea"), actor=people["li"])
    await handle.execute(JoinClub("chess"), actor=people["wu"])  # open: nothing to tell
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    leader = inbox.for_member(mid(people["tealeader"]))
    assert [m.key for m in leader] == ["chat.notice.club_join_requested"] * 2
    assert leader[0].message is not None
    assert [b.payload for row in leader[0].message.buttons for b in row] == [
        f"/approve club:tea:{mid(people['kate'])}",
        f"/reject club:tea:{mid(people['kate'])}",
    ]
    assert inbox.for_member(mid(people["wu"])) == []
    leader_actor = people["tealeader"]
    await handle.execute(DecideClubRequest("tea", mid(people["kate"]), True), actor=leader_actor)
    await handle.execute(DecideClubRequest("tea", mid(people["li"]), False), actor=leader_actor)
    answers = await deliver(huarong)
    assert isinstance(answers, Inbox)
    assert answers.keys_for(mid(people["kate"])) == ["chat.notice.club_approved"]
    assert "Tea club" in answers.for_member(mid(people["kate"]))[0].text
    assert answers.keys_for(mid(people["li"])) == ["chat.notice.club_declined"]
    assert "茶艺社" in answers.for_member(mid(people["li"]))[0].text

    # A reason the leader gives reaches the member with the answer.
    await handle.execute(JoinClub("tea"), actor=people["wu"])
    await deliver(huarong)
    await handle.execute(
        DecideClubRequest("tea", mid(people["wu"]), False, "  本期名额已满，下期再来 "),
        actor=leader_actor,
    )
    told = await deliver(huarong)
    assert isinstance(told, Inbox)
    assert told.keys_for(mid(people["wu"])) == ["chat.notice.club_declined_because"]
    assert "本期名额已满，下期再来" in told.for_member(mid(people["wu"]))[0].text


async def test_manual_awards_are_told_and_automatic_ones_are_not(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    await handle.execute(AwardPoints(mid(people["kate"]), 20, "Helped at the fair"), actor=SYSTEM)
    await handle.execute(JoinClub("chess"), actor=people["kate"])
    inbox = await deliver(huarong)
    assert isinstance(inbox, Inbox)
    [message] = inbox.for_member(mid(people["kate"]))
    assert message.key == "chat.notice.points_awarded"
    assert "Helped at the fair" in message.text
    assert "20" in message.text


# --- relaying: once, in order, whatever happens --------------------------------------------


async def test_relaying_twice_changes_nothing(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    event_id = await make_event(handle, capacity=1)
    await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["kate"])
    await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["li"])
    await handle.execute(RespondToGathering(event_id, Answer.NOT_GOING), actor=people["kate"])
    relay = NotificationRelay(huarong)
    assert await relay.run_once() > 0
    assert relay.written == 1
    after = await snapshot(huarong.db)
    assert await relay.run_once() == 0
    assert await snapshot(huarong.db) == after
    # A relay that wrote its rows and died before marking the batch: the next one
    # reads the same events again and writes nothing more.
    async with huarong.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET dispatched_at = NULL")
    again = NotificationRelay(huarong)
    assert await again.run_once() > 0
    assert again.written == 0
    assert len(await notified(huarong)) == 1


async def test_events_nobody_hears_of_are_dispatched_with_nothing_written(hub: Pair) -> None:
    huarong, _ = hub
    pending = await rows(huarong, "SELECT id FROM outbox WHERE dispatched_at IS NULL")
    assert pending, "loading the community recorded events"
    await NotificationRelay(huarong).run_once()
    assert await rows(huarong, "SELECT id FROM outbox WHERE dispatched_at IS NULL") == []
    assert await notified(huarong) == []


async def test_a_failing_renderer_holds_up_nothing_and_gives_up_in_the_end(
    hub: Pair, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    huarong, handle = hub
    broken = await rows(huarong, "SELECT id FROM outbox WHERE kind = 'member.registered'")

    async def explode(ctx: Any, event: Any) -> list[Any]:
        raise RuntimeError("a renderer bug")

    monkeypatch.setitem(notice_renderers._RENDERERS, "member.registered", explode)
    await handle.execute(AwardPoints(mid(people["kate"]), 5, "Thanks"), actor=SYSTEM)
    relay = NotificationRelay(huarong, batch=3)
    await relay.run_once()
    assert [r["kind"] for r in await notified(huarong)] == ["points.awarded"]
    stuck = await rows(huarong, "SELECT id, attempts FROM outbox WHERE dispatched_at IS NULL")
    assert {r["id"] for r in stuck} == {r["id"] for r in broken}
    assert {r["attempts"] for r in stuck} == {1}, "tried once per pass"
    for _ in range(MAX_RENDER_ATTEMPTS - 1):
        await relay.run_once()
    assert await rows(huarong, "SELECT id FROM outbox WHERE dispatched_at IS NULL") == []


async def test_stale_events_are_not_told(
    hub: Pair, people: dict[str, Actor], clock: FrozenClock
) -> None:
    huarong, handle = hub
    await handle.execute(AwardPoints(mid(people["kate"]), 5, "Long ago"), actor=SYSTEM)
    clock.advance(days=3)
    await NotificationRelay(huarong).run_once()
    assert await notified(huarong) == []
    assert await rows(huarong, "SELECT id FROM outbox WHERE dispatched_at IS NULL") == []


# --- sending: once, through the same worker as announcements ----------------------------------


async def _promote_li(handle: CommunityHandle, people: dict[str, Actor]) -> None:
    event_id = await make_event(handle, capacity=1)
    await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["kate"])
    await handle.execute(RespondToGathering(event_id, Answer.GOING), actor=people["li"])
    await handle.execute(RespondToGathering(event_id, Answer.NOT_GOING), actor=people["kate"])


async def test_a_notice_is_sent_once_when_workers_run_twice_or_together(
    hub: Pair, people: dict[str, Actor], database_url: str, clock: FrozenClock
) -> None:
    huarong, handle = hub
    await _promote_li(handle, people)
    await NotificationRelay(huarong).run_once()
    inbox = Inbox()
    async with Huarong(database_url, clock=clock) as other:
        await asyncio.gather(
            DeliveryWorker(huarong, {"telegram": inbox}, concurrency=3).run_once(),
            DeliveryWorker(other, {"telegram": inbox}, concurrency=3).run_once(),
        )
    await DeliveryWorker(huarong, {"telegram": inbox}).run_once()
    assert inbox.calls == Counter({"601": 1})
    [row] = await notified(huarong)
    assert (row["state"], row["attempts"], row["platform"]) == ("sent", 1, "telegram")


async def test_a_crash_mid_send_is_never_sent_again(
    hub: Pair, people: dict[str, Actor], clock: FrozenClock
) -> None:
    huarong, handle = hub
    await _promote_li(handle, people)
    await NotificationRelay(huarong).run_once()
    entered = asyncio.Event()

    class Hanging(MemorySender):
        async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
            entered.set()
            await asyncio.Event().wait()  # the process dies before an answer comes

    task = asyncio.create_task(DeliveryWorker(huarong, {"telegram": Hanging()}).run_once())
    await entered.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [r["state"] for r in await notified(huarong)] == ["sending"]
    inbox = Inbox()
    worker = DeliveryWorker(huarong, {"telegram": inbox})
    await worker.run_once()
    clock.advance(minutes=6)  # past the lease
    await worker.run_once()
    [row] = await notified(huarong)
    assert (row["state"], row["last_error"]) == ("unknown", "lease_expired")
    clock.advance(hours=2)
    await worker.run_once()
    assert inbox.sent == []


async def test_retry_after_and_fallback_to_another_account(
    hub: Pair, people: dict[str, Actor], clock: FrozenClock
) -> None:
    huarong, handle = hub
    await handle.execute(AwardPoints(mid(people["kate"]), 7, "Thanks"), actor=SYSTEM)
    await NotificationRelay(huarong).run_once()

    class Busy(MemorySender):
        async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
            raise TemporaryFailure("flood", retry_after=30)

    class Blocked(MemorySender):
        async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
            raise PermanentFailure("blocked")

    await DeliveryWorker(huarong, {"telegram": Busy()}).run_once()
    [row] = await notified(huarong)
    assert (row["state"], row["last_error"]) == ("pending", "flood")
    clock.advance(seconds=31)
    matrix = Inbox()
    await DeliveryWorker(huarong, {"telegram": Blocked(), "matrix": matrix}).run_once()
    assert [(t.platform, t.address) for t, _ in matrix.sent] == [("matrix", "@kate:example.org")]
    [row] = await notified(huarong)
    assert (row["state"], row["attempts"], row["tried"]) == ("sent", 3, ",telegram,")


async def test_each_reader_gets_their_language_at_send_time(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    await _promote_li(handle, people)
    await NotificationRelay(huarong).run_once()
    await handle.execute(UpdateMember(mid(people["li"]), locale="en"), actor=SYSTEM)
    inbox = Inbox()
    await DeliveryWorker(huarong, {"telegram": inbox}).run_once()
    [message] = inbox.for_member(mid(people["li"]))
    assert message.locale == "en"
    assert "Tea tasting" in message.text
    # The community's language for a member who chose none.
    await handle.execute(AwardPoints(mid(people["wu"]), 3, "谢谢"), actor=SYSTEM)
    await deliver(huarong, inbox)
    [message] = inbox.for_member(mid(people["wu"]))
    assert message.locale == "zh_CN"


async def test_notifications_go_before_a_big_announcement(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    await handle.execute(PostAnnouncement("everyone", "Open day", "Come."), actor=SYSTEM)
    await _promote_li(handle, people)
    await NotificationRelay(huarong).run_once()
    inbox = Inbox()
    await DeliveryWorker(huarong, {"telegram": inbox, "matrix": inbox}, concurrency=1).run_once()
    kinds = [t.kind for t, _ in inbox.sent]
    assert kinds[0] == "notification"
    assert kinds.count("notification") == 1
    announcement = next(m for t, m in inbox.sent if t.kind == "announcement")
    assert (announcement.priority, announcement.message) == (Priority.BULK, None)


async def test_every_stored_button_fits_a_callback(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    await _promote_li(handle, people)
    request = await handle.execute(SubmitRequest("repair", {}), actor=people["kate"])
    await work(handle, request.id, people["desk"])
    await handle.execute(JoinClub("tea"), actor=people["kate"])
    await NotificationRelay(huarong).run_once()
    stored = await notified(huarong)
    assert len(stored) >= 5
    payloads = []
    for row in stored:
        value = row["message"]
        message = message_from_json(json.loads(value) if isinstance(value, str) else value)
        payloads += [b.payload for line in message.buttons for b in line]
    assert payloads
    assert all(0 < len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)


async def test_the_relay_runs_in_the_background_beside_the_worker(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    inbox = Inbox()
    async with (
        NotificationRelay(huarong, interval=0.01) as relay,
        DeliveryWorker(huarong, {"telegram": inbox}, interval=0.01) as worker,
    ):
        await _promote_li(handle, people)
        relay.wake()
        for _ in range(500):
            if inbox.sent:
                break
            worker.wake()
            await asyncio.sleep(0.01)
    assert not relay.running
    assert inbox.keys_for(mid(people["li"])) == ["chat.notice.gathering_promoted"]


async def test_an_account_that_blocked_the_bot_is_skipped_until_it_is_back(
    hub: Pair, people: dict[str, Actor]
) -> None:
    from huarong_core.commands import SetAccountReachable

    huarong, handle = hub
    telegram = Actor.system("telegram")
    await handle.execute(AwardPoints(mid(people["kate"]), 7, "Thanks"), actor=SYSTEM)
    await handle.execute(SetAccountReachable("telegram", "602", reachable=False), actor=telegram)
    await NotificationRelay(huarong).run_once()
    bot, matrix = Inbox(), Inbox()
    await DeliveryWorker(huarong, {"telegram": bot, "matrix": matrix}).run_once()
    assert bot.sent == []
    assert [(t.platform, t.address) for t, _ in matrix.sent] == [("matrix", "@kate:example.org")]

    await handle.execute(SetAccountReachable("telegram", "602", reachable=True), actor=telegram)
    await handle.execute(AwardPoints(mid(people["kate"]), 1, "Again"), actor=SYSTEM)
    await deliver(huarong, bot)
    assert [t.platform for t, _ in bot.sent] == ["telegram"]
