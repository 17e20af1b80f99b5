"""Announcements: audiences, who may post, one delivery per recipient, and the worker
that sends each exactly once, across restarts, failures and competing workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from huarong_core import Delivery, Huarong
from huarong_core.commands import (
    Audience,
    AudienceKind,
    DeliveryState,
    GetAnnouncementStatus,
    JoinClub,
    LinkIdentity,
    ListAnnouncementDeliveries,
    ListAnnouncements,
    ListMembers,
    ListStationSubscriptions,
    PostAnnouncement,
    SetMemberStatus,
    SubscribeToStation,
    UnlinkIdentity,
    UnsubscribeFromStation,
)
from huarong_core.delivery import (
    DeliveryTarget,
    DeliveryWorker,
    MemorySender,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    render_announcement,
)
from huarong_core.domain.members import MemberStatus
from huarong_core.errors import (
    AlreadyExists,
    InvalidValue,
    MemberInactive,
    NotFound,
    PermissionDenied,
)
from huarong_core.i18n import translate
from huarong_core.services.announcements import MAX_BODY, MAX_TITLE, text_length
from huarong_core.storage.repositories.announcements import MessageParts
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

TEA_CHATS = ("telegram:-100123", "matrix:!tea:example.org")

COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "huaying"
name = { zh_CN = "华英驿站", en = "Huaying station" }

[[organizations]]
key = "beta"
name = "Beta Education"

[[members]]
key = "huaying_staff"
name = "Huaying staff"

[[members]]
key = "leader"
name = "Leader"
identities = [{ platform = "telegram", id = "500" }]

[[members]]
key = "wang"
name = "王芳"
organization = "beta"
categories = ["party_member"]
identities = [{ platform = "telegram", id = "501" }]

[[members]]
key = "lee"
name = "Lee"
locale = "en"
organization = "beta"
identities = [
    { platform = "telegram", id = "502" },
    { platform = "matrix", id = "@lee:example.org" },
]

[[roles]]
member = "huaying_staff"
role = "station_staff"
scope = "station:huaying"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:tea"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "huaying"
chats = [
    { platform = "telegram", id = "-100123" },
    { platform = "matrix", id = "!tea:example.org" },
]

[[clubs]]
key = "chess"
name = { zh_CN = "棋艺斋", en = "Chess club" }
station = "service"
chats = [{ platform = "telegram", id = "-100777" }]
"""
)

CLUB_SIZE = 200


def _generated_member(n: int) -> str:
    """Members 1-150 on Telegram, 151-190 on Telegram and Matrix, 191-199 on Matrix."""
    accounts = []
    if n <= 190:
        accounts.append(f'{{ platform = "telegram", id = "{10_000 + n}" }}')
    if n > 150:
        accounts.append(f'{{ platform = "matrix", id = "@m{n}:example.org" }}')
    locale = '\nlocale = "en"' if n % 2 == 0 else ""
    return (
        f'\n[[members]]\nkey = "m{n:03}"\nname = "Member {n}"{locale}\n'
        f"identities = [{', '.join(accounts)}]\n"
    )


# The club's leader (on Telegram) and 199 generated members.
BIG_COMMUNITY = COMMUNITY + "".join(_generated_member(n) for n in range(1, CLUB_SIZE))


@pytest.fixture
async def small(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=COMMUNITY, clock=clock) as pair:
        yield pair


@pytest.fixture
async def big(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    """The tea club with 200 members (its leader among them), each with one or two accounts."""
    async with open_test_community(database_url, config=BIG_COMMUNITY, clock=clock) as pair:
        _, handle = pair
        for member_id in (await member_ids(handle, "m")).values():
            await handle.execute(JoinClub("tea", member_id), actor=SYSTEM)
        yield pair


async def club_ids(handle: Any) -> set[int]:
    found = await member_ids(handle)
    return {found["leader"], *(await member_ids(handle, "m")).values()}


async def member_ids(handle: Any, prefix: str = "") -> dict[str, int]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return {m.key: m.id for m in page.items if m.key is not None and m.key.startswith(prefix or "")}


async def rows(huarong: Huarong, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def delivery_states(huarong: Huarong) -> Counter[str]:
    found = await rows(huarong, "SELECT state FROM announcement_deliveries")
    return Counter(r["state"] for r in found)


# --- a fake network: every platform's sender reports into one log --------------------------


class Network:
    """What reached whom, across every fake platform."""

    def __init__(self) -> None:
        self.delivered: list[tuple[DeliveryTarget, OutgoingMessage]] = []
        self.calls: Counter[str] = Counter()
        self.after_delivery: Callable[[int], None] | None = None

    def per_member(self) -> Counter[int]:
        return Counter(t.member_id for t, _ in self.delivered if t.member_id is not None)

    def per_chat(self) -> Counter[str]:
        return Counter(f"{t.platform}:{t.address}" for t, _ in self.delivered if t.is_chat)


class FakeSender(MemorySender):
    """Delivers into `network`; fails the first tries of `flaky` addresses for a while,
    refuses `blocked` ones for good."""

    def __init__(
        self,
        network: Network,
        *,
        flaky: frozenset[str] = frozenset(),
        flaky_tries: int = 1,
        retry_after: float | None = None,
        blocked: frozenset[str] = frozenset(),
        crash: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.network = network
        self.flaky = flaky
        self.flaky_tries = flaky_tries
        self.retry_after = retry_after
        self.blocked = blocked
        self.crash = crash

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)  # a real sender awaits the network: let others run
        self.network.calls[target.address] += 1
        if target.address in self.blocked:
            raise PermanentFailure("blocked")
        if target.address in self.crash:
            raise RuntimeError("the platform answered something nobody expected")
        if target.address in self.flaky and self.network.calls[target.address] <= self.flaky_tries:
            raise TemporaryFailure("flaky", retry_after=self.retry_after)
        await super().send(target, message)
        self.network.delivered.append((target, message))
        if self.network.after_delivery is not None:
            self.network.after_delivery(len(self.network.delivered))


def senders(network: Network, **options: Any) -> dict[str, FakeSender]:
    return {"telegram": FakeSender(network, **options), "matrix": FakeSender(network, **options)}


async def finish(worker: DeliveryWorker, handle: Any, clock: FrozenClock, ann: int) -> None:
    """Run passes, moving time on for retries, until nothing is left to send."""
    for _ in range(12):
        await worker.run_once()
        status = await handle.execute(GetAnnouncementStatus(ann), actor=SYSTEM)
        if status.done:
            return
        clock.advance(minutes=2)
    raise AssertionError(f"deliveries left: {status.counts}")


# --- the check of the issue: 200 members, two chats, a restart, nothing twice ------------


async def test_a_club_of_200_gets_200_deliveries_plus_its_chats(big: Pair) -> None:
    huarong, handle = big
    staff = await actor_for(handle, "huaying_staff")
    posted = await handle.execute(
        PostAnnouncement("club:tea", "Tea tasting", "Friday 19:00, 29th floor."), actor=staff
    )
    assert (posted.members, posted.chats) == (CLUB_SIZE, 2)
    assert posted.audience == Audience(AudienceKind.CLUB, "tea")
    found = await rows(
        huarong,
        "SELECT member_id, chat_platform, chat_id, state FROM announcement_deliveries"
        " WHERE announcement_id = $1",
        posted.id,
    )
    assert len(found) == CLUB_SIZE + 2
    members = [r["member_id"] for r in found if r["member_id"] is not None]
    assert sorted(members) == sorted(await club_ids(handle))
    chats = {f"{r['chat_platform']}:{r['chat_id']}" for r in found if r["chat_id"] is not None}
    assert chats == set(TEA_CHATS)
    assert {r["state"] for r in found} == {"pending"}
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.total == CLUB_SIZE + 2
    assert status.counts[DeliveryState.PENDING] == CLUB_SIZE + 2
    events = await rows(huarong, "SELECT payload FROM outbox WHERE kind = 'announcement.posted'")
    assert len(events) == 1
    payload = events[0]["payload"]
    event = json.loads(payload) if isinstance(payload, str) else dict(payload)
    assert event["announcement_id"] == posted.id
    assert (event["members"], event["chats"], event["unreachable"]) == (CLUB_SIZE, 2, 0)
    assert "recipients" not in event, "the worker delivers; a relay must not send it again"


async def test_delivery_survives_a_restart_and_sends_nothing_twice(
    big: Pair, database_url: str, clock: FrozenClock
) -> None:
    huarong, handle = big
    staff = await actor_for(handle, "huaying_staff")
    posted = await handle.execute(
        PostAnnouncement("club:tea", "Tea tasting", "Friday 19:00, 29th floor."), actor=staff
    )
    network = Network()
    ids = await member_ids(handle)
    # Every seventh member's first try fails for a while (a 5xx, a dropped connection).
    flaky = frozenset(
        address
        for n in range(1, CLUB_SIZE + 1, 7)
        for address in (str(10_000 + n), f"@m{n}:example.org")
    )
    first = DeliveryWorker(huarong, senders(network, flaky=flaky), concurrency=1)

    def stop_at(count: int) -> None:
        if count == 80:
            first.request_stop()

    network.after_delivery = stop_at
    assert await first.run_once() > 0
    assert len(network.delivered) == 80
    states = await delivery_states(huarong)
    assert states["sent"] == 80
    assert states["sending"] == 0, "a graceful stop finishes what is in flight"
    assert states["pending"] == CLUB_SIZE + 2 - 80
    network.after_delivery = None

    # A new process on the same database picks up where the first one stopped.
    async with Huarong(database_url, clock=clock) as again:
        handle_again = await again.community("testville")
        second = DeliveryWorker(again, senders(network, flaky=flaky), concurrency=4)
        await finish(second, handle_again, clock, posted.id)
        status = await handle_again.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.SENT] == CLUB_SIZE + 2
    assert status.total == CLUB_SIZE + 2
    assert status.failures == ()
    assert network.per_member() == Counter(dict.fromkeys(await club_ids(handle), 1))
    assert network.per_chat() == Counter(dict.fromkeys(TEA_CHATS, 1))
    assert sum(1 for t, _ in network.delivered if t.address in flaky) > 0
    retried = await rows(huarong, "SELECT attempts FROM announcement_deliveries WHERE attempts > 1")
    assert retried, "the flaky ones were tried again"
    # Each member got it once, on their preferred platform, in their language.
    by_member = {t.member_id: (t, m) for t, m in network.delivered if t.member_id is not None}
    target, message = by_member[ids["m160"]]
    assert target.platform == "telegram"
    assert message.locale == "en"
    assert message.text == translate(
        "notice.announcement",
        "en",
        title="Tea tasting",
        body="Friday 19:00, 29th floor.",
        community="Test Tower",
    )
    target, message = by_member[ids["m195"]]
    assert (target.platform, target.address, message.locale) == (
        "matrix",
        "@m195:example.org",
        "zh_CN",
    )
    assert "测试大厦" in message.text


async def test_two_workers_on_one_database_never_send_one_delivery_twice(
    big: Pair, database_url: str, clock: FrozenClock
) -> None:
    huarong, handle = big
    staff = await actor_for(handle, "huaying_staff")
    posted = await handle.execute(PostAnnouncement("club:tea", "Match", "Sunday."), actor=staff)
    network = Network()
    async with Huarong(database_url, clock=clock) as other:
        one = DeliveryWorker(huarong, senders(network), concurrency=4)
        two = DeliveryWorker(other, senders(network), concurrency=4)
        settled = await asyncio.gather(one.run_once(), two.run_once())
    assert sum(settled) == CLUB_SIZE + 2
    assert one.counts.get("sent", 0) + two.counts.get("sent", 0) == CLUB_SIZE + 2
    assert len(network.delivered) == CLUB_SIZE + 2
    assert set(network.per_member().values()) == {1}
    assert network.per_chat() == Counter(dict.fromkeys(TEA_CHATS, 1))
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.SENT] == CLUB_SIZE + 2


async def test_a_graceful_stop_of_the_background_worker_finishes_what_is_in_flight(
    big: Pair,
) -> None:
    huarong, handle = big
    staff = await actor_for(handle, "huaying_staff")
    await handle.execute(PostAnnouncement("club:tea", "Match", "Sunday."), actor=staff)
    network = Network()
    enough = asyncio.Event()
    network.after_delivery = lambda count: enough.set() if count >= 30 else None
    worker = DeliveryWorker(huarong, senders(network), concurrency=4)
    await worker.start()
    await enough.wait()
    await worker.stop()
    assert not worker.running
    states = await delivery_states(huarong)
    assert states["sending"] == 0
    assert states["sent"] == len(network.delivered) == worker.counts["sent"]
    assert states["sent"] + states["pending"] == CLUB_SIZE + 2


# --- failures -----------------------------------------------------------------------------


async def test_a_crash_mid_send_leaves_it_unknown_and_it_is_never_sent_again(
    small: Pair, clock: FrozenClock
) -> None:
    huarong, handle = small
    staff = await actor_for(handle, "huaying_staff")
    ids = await member_ids(handle)
    for key in ("wang", "lee"):  # the leader is in already
        await handle.execute(JoinClub("tea", ids[key]), actor=SYSTEM)
    posted = await handle.execute(PostAnnouncement("club:tea", "Hi", "Tea time."), actor=staff)
    entered = asyncio.Event()

    class Hanging(MemorySender):
        async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
            entered.set()
            await asyncio.Event().wait()  # the process dies before an answer comes

    crashed = DeliveryWorker(huarong, {"telegram": Hanging()}, concurrency=1)
    task = asyncio.create_task(crashed.run_once())
    await entered.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    stuck = await rows(
        huarong,
        "SELECT id, address FROM announcement_deliveries WHERE state = 'sending'",
    )
    assert len(stuck) == 1

    network = Network()
    worker = DeliveryWorker(huarong, senders(network), concurrency=2)
    await worker.run_once()
    assert stuck[0]["address"] not in {t.address for t, _ in network.delivered}
    clock.advance(minutes=6)  # past the lease
    await worker.run_once()
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.UNKNOWN] == 1
    assert [f.id for f in status.failures] == [stuck[0]["id"]]
    assert status.failures[0].last_error == "lease_expired"
    assert status.done
    assert stuck[0]["address"] not in {t.address for t, _ in network.delivered}
    assert status.counts[DeliveryState.SENT] == status.total - 1


async def test_permanent_failures_end_failed_or_move_to_another_account(
    small: Pair, clock: FrozenClock
) -> None:
    huarong, handle = small
    staff = await actor_for(handle, "huaying_staff")
    ids = await member_ids(handle)
    for key in ("wang", "lee"):  # the leader is in already
        await handle.execute(JoinClub("tea", ids[key]), actor=SYSTEM)
    posted = await handle.execute(PostAnnouncement("club:tea", "Hi", "Tea."), actor=staff)
    network = Network()
    # wang blocked the bot; lee blocked it on Telegram but has Matrix; the Telegram group
    # is gone; the leader's answer is garbled (outcome unknown).
    blocked = frozenset({"501", "502", "-100123"})
    worker = DeliveryWorker(
        huarong, senders(network, blocked=blocked, crash=frozenset({"500"})), concurrency=1
    )
    await finish(worker, handle, clock, posted.id)
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.SENT] == 2  # lee on Matrix, the Matrix group
    assert status.counts[DeliveryState.FAILED] == 2
    assert status.counts[DeliveryState.UNKNOWN] == 1
    assert {(f.recipient, f.state, f.last_error) for f in status.failures} == {
        (f"member:{ids['wang']}", DeliveryState.FAILED, "blocked"),
        ("chat:telegram:-100123", DeliveryState.FAILED, "blocked"),
        (f"member:{ids['leader']}", DeliveryState.UNKNOWN, "RuntimeError"),
    }
    assert network.per_member() == Counter({ids["lee"]: 1})
    assert [t.platform for t, _ in network.delivered if t.member_id == ids["lee"]] == ["matrix"]
    assert network.calls["500"] == 1, "an unknown outcome is never tried again"
    clock.advance(hours=2)
    await worker.run_once()
    assert network.calls["500"] == 1
    assert network.calls["501"] == 1


async def test_temporary_failures_back_off_then_give_up(small: Pair, clock: FrozenClock) -> None:
    huarong, handle = small
    staff = await actor_for(handle, "huaying_staff")
    posted = await handle.execute(PostAnnouncement("club:tea", "Hi", "Tea."), actor=staff)
    network = Network()
    always = frozenset({"-100123"})
    worker = DeliveryWorker(
        huarong,
        senders(network, flaky=always, flaky_tries=99, retry_after=20.0),
        concurrency=1,
        max_attempts=3,
    )
    await worker.run_once()
    page = await handle.execute(
        ListAnnouncementDeliveries(posted.id, state=DeliveryState.PENDING), actor=staff
    )
    assert [(d.recipient, d.attempts, d.last_error) for d in page.items] == [
        ("chat:telegram:-100123", 1, "flaky")
    ]
    assert page.items[0].due_at == clock.now() + timedelta(seconds=20)
    await worker.run_once()
    assert network.calls["-100123"] == 1, "not due yet (Telegram said retry after 20 s)"
    await finish(worker, handle, clock, posted.id)
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.FAILED] == 1
    assert status.counts[DeliveryState.SENT] == 2  # the leader, the Matrix group
    assert network.calls["-100123"] == 3
    assert [(f.recipient, f.attempts) for f in status.failures] == [("chat:telegram:-100123", 3)]


async def test_members_without_an_account_are_unreachable(small: Pair, clock: FrozenClock) -> None:
    huarong, handle = small
    staff = await actor_for(handle, "huaying_staff")
    ids = await member_ids(handle)
    await handle.execute(JoinClub("tea", ids["alice"]), actor=SYSTEM)  # no account linked
    await handle.execute(JoinClub("tea", ids["wang"]), actor=SYSTEM)
    posted = await handle.execute(PostAnnouncement("club:tea", "Hi", "Tea."), actor=staff)
    assert posted.members == 3  # and the leader
    # wang unlinks the only account after the posting: unreachable at send time
    await handle.execute(UnlinkIdentity("telegram", "501"), actor=SYSTEM)
    network = Network()
    await finish(DeliveryWorker(huarong, senders(network)), handle, clock, posted.id)
    status = await handle.execute(GetAnnouncementStatus(posted.id), actor=staff)
    assert status.counts[DeliveryState.UNREACHABLE] == 2
    assert status.counts[DeliveryState.SENT] == 3
    mine = await handle.execute(
        ListAnnouncementDeliveries(posted.id, member_id=ids["alice"]),
        actor=await actor_for(handle, "alice"),
    )
    assert [d.state for d in mine.items] == [DeliveryState.UNREACHABLE]


# --- who may post, and to whom --------------------------------------------------------------


async def test_members_may_not_post_and_nothing_is_stored(small: Pair) -> None:
    huarong, handle = small
    alice = await actor_for(handle, "alice")
    before = await snapshot(huarong.db)
    for audience in ("club:tea", "everyone", "station:huaying", "category:employee"):
        with pytest.raises(PermissionDenied):
            await handle.execute(PostAnnouncement(audience, "Hi", "Spam."), actor=alice)
    assert await snapshot(huarong.db) == before


async def test_leaders_post_to_their_club_and_staff_within_their_scope(small: Pair) -> None:
    huarong, handle = small
    leader = await actor_for(handle, "leader")
    staff = await actor_for(handle, "huaying_staff")
    admin = await actor_for(handle, "admin")
    assert (await handle.execute(PostAnnouncement("club:tea", "T", "B"), actor=leader)).chats == 2
    before = await snapshot(huarong.db)
    for actor, audience in (
        (leader, "club:chess"),
        (leader, "station:huaying"),
        (leader, "everyone"),
        (staff, "club:chess"),  # another station's club
        (staff, "station:service"),
        (staff, "everyone"),
        (staff, "organization:acme"),
        (staff, "category:employee"),
    ):
        with pytest.raises(PermissionDenied):
            await handle.execute(PostAnnouncement(audience, "T", "B"), actor=actor)
    assert await snapshot(huarong.db) == before
    await handle.execute(PostAnnouncement("station:huaying", "T", "B"), actor=staff)
    everyone = await handle.execute(PostAnnouncement("everyone", "T", "B"), actor=admin)
    assert everyone.chats == 3, "every bound chat"
    active = (await handle.execute(ListMembers(limit=500), actor=SYSTEM)).total
    assert everyone.members == active


async def test_audiences_reach_the_right_members(small: Pair) -> None:
    huarong, handle = small
    admin = await actor_for(handle, "admin")
    ids = await member_ids(handle)

    async def recipients(audience: str) -> set[int]:
        posted = await handle.execute(PostAnnouncement(audience, "T", "B"), actor=admin)
        found = await rows(
            huarong,
            "SELECT member_id FROM announcement_deliveries WHERE announcement_id = $1"
            " AND member_id IS NOT NULL",
            posted.id,
        )
        assert posted.members == len(found)
        return {r["member_id"] for r in found}

    assert await recipients("organization:beta") == {ids["wang"], ids["lee"]}
    beta = (await rows(huarong, "SELECT id FROM organizations WHERE key = 'beta'"))[0]["id"]
    assert await recipients(f"organization:#{beta}") == {ids["wang"], ids["lee"]}
    assert await recipients("category:party_member") == {ids["admin"], ids["wang"]}
    assert await recipients("station:huaying") == set()
    await handle.execute(SetMemberStatus(ids["wang"], MemberStatus.SUSPENDED), actor=SYSTEM)
    assert await recipients("category:party_member") == {ids["admin"]}, "active members only"
    assert await recipients("everyone") == set(ids.values()) - {ids["wang"]}
    posted = await handle.execute(PostAnnouncement("category:party_member", "T", "B"), actor=admin)
    assert posted.audience == Audience(AudienceKind.CATEGORY, "party_member")


async def test_station_subscriptions(small: Pair) -> None:
    huarong, handle = small
    ids = await member_ids(handle)
    lee = await actor_for(handle, "lee")
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "huaying_staff")
    done = await handle.execute(SubscribeToStation("huaying"), actor=lee)
    assert (done.station_key, done.member_id) == ("huaying", ids["lee"])
    with pytest.raises(AlreadyExists):
        await handle.execute(SubscribeToStation("huaying"), actor=lee)
    with pytest.raises(NotFound):
        await handle.execute(SubscribeToStation("nowhere"), actor=lee)
    with pytest.raises(PermissionDenied):
        await handle.execute(SubscribeToStation("huaying", ids["wang"]), actor=alice)
    await handle.execute(SubscribeToStation("huaying", ids["wang"]), actor=staff)
    listed = await handle.execute(ListStationSubscriptions(), actor=lee)
    assert [s.station_key for s in listed] == ["huaying"]
    posted = await handle.execute(
        PostAnnouncement("station:huaying", "Open day", "Come."), actor=staff
    )
    assert posted.members == 2
    await handle.execute(UnsubscribeFromStation("huaying"), actor=lee)
    with pytest.raises(NotFound):
        await handle.execute(UnsubscribeFromStation("huaying"), actor=lee)
    posted = await handle.execute(
        PostAnnouncement("station:huaying", "Open day", "Come."), actor=staff
    )
    assert posted.members == 1
    await handle.execute(SetMemberStatus(ids["lee"], MemberStatus.SUSPENDED), actor=SYSTEM)
    with pytest.raises(MemberInactive):
        await handle.execute(SubscribeToStation("huaying", ids["lee"]), actor=staff)
    audit = await rows(
        huarong, "SELECT action FROM audit_log WHERE action LIKE 'announcement.%' ORDER BY id"
    )
    assert [a["action"] for a in audit] == [
        "announcement.subscribe",
        "announcement.post",
        "announcement.post",
    ]


@pytest.mark.parametrize(
    ("audience", "title", "body", "error", "detail"),
    [
        ("club:tea", "", "Body", InvalidValue, "empty"),
        ("club:tea", "Title", "  \n ", InvalidValue, "empty"),
        ("club:tea", "T" * (MAX_TITLE + 1), "Body", InvalidValue, "too_long"),
        ("club:tea", "Title", "字" * (MAX_BODY + 1), InvalidValue, "too_long"),
        ("club:tea", "Title", "😀" * (MAX_BODY // 2 + 1), InvalidValue, "too_long"),
        ("club:tea", "Title", "bell\x07", InvalidValue, "control_characters"),
        ("nobody", "Title", "Body", InvalidValue, "bad_audience"),
        ("everyone:x", "Title", "Body", InvalidValue, "bad_audience"),
        ("club:", "Title", "Body", InvalidValue, "bad_audience"),
        ("club:nope", "Title", "Body", NotFound, "club"),
        ("station:nope", "Title", "Body", NotFound, "station"),
        ("organization:nope", "Title", "Body", NotFound, "organization"),
        ("organization:#999", "Title", "Body", NotFound, "organization"),
        ("category:nope", "Title", "Body", NotFound, "category"),
    ],
)
async def test_bad_posts_are_refused_and_store_nothing(
    small: Pair, audience: str, title: str, body: str, error: type[Exception], detail: str
) -> None:
    huarong, handle = small
    admin = await actor_for(handle, "admin")
    before = await snapshot(huarong.db)
    with pytest.raises(error) as caught:
        await handle.execute(PostAnnouncement(audience, title, body), actor=admin)
    params = caught.value.params()  # type: ignore[attr-defined]
    assert detail in (params.get("reason"), params.get("entity"))
    assert await snapshot(huarong.db) == before


async def test_the_longest_announcement_fits_a_telegram_message() -> None:
    for locale in ("zh_CN", "en"):
        parts = MessageParts(
            community_key="x",
            community_name={"zh_CN": "大" * 120, "en": "W" * 120},
            locale=locale,
            title="😀" * (MAX_TITLE // 2),
            body="😀" * (MAX_BODY // 2),
        )
        message = render_announcement(parts, "k")
        assert text_length(message.text) <= 4096
        assert message.params["community"] in message.text


async def test_body_is_tidied(small: Pair) -> None:
    _, handle = small
    admin = await actor_for(handle, "admin")
    posted = await handle.execute(
        PostAnnouncement(" everyone ", "  Open   day ", "\r\nLine one  \r\n\tLine two\n\n"),
        actor=admin,
    )
    assert (posted.title, posted.body) == ("Open day", "Line one\n\tLine two")


# --- following up -----------------------------------------------------------------------------


async def test_members_list_what_was_addressed_to_them(small: Pair) -> None:
    _, handle = small
    ids = await member_ids(handle)
    admin = await actor_for(handle, "admin")
    leader = await actor_for(handle, "leader")
    lee = await actor_for(handle, "lee")
    alice = await actor_for(handle, "alice")
    await handle.execute(JoinClub("tea", ids["lee"]), actor=SYSTEM)
    tea = await handle.execute(PostAnnouncement("club:tea", "Tea", "B"), actor=leader)
    beta = await handle.execute(PostAnnouncement("organization:beta", "Beta", "B"), actor=admin)
    hello = await handle.execute(PostAnnouncement("everyone", "Hello", "B"), actor=admin)
    mine = await handle.execute(ListAnnouncements(), actor=lee)
    assert [a.id for a in mine] == [hello.id, beta.id, tea.id]
    assert [a.id for a in await handle.execute(ListAnnouncements(), actor=alice)] == [hello.id]
    older = await handle.execute(ListAnnouncements(before_id=hello.id, limit=1), actor=lee)
    assert [a.id for a in older] == [beta.id]
    everything = await handle.execute(ListAnnouncements(), actor=SYSTEM)
    assert len(everything) == 3
    # Staff follow up what was posted where they may post; the leader their own club's.
    posted = await handle.execute(ListAnnouncements(posted=True), actor=leader)
    assert [a.id for a in posted] == [tea.id]
    staff = await actor_for(handle, "huaying_staff")
    listed = await handle.execute(ListAnnouncements(posted=True), actor=staff)
    assert [a.id for a in listed] == [tea.id]
    everything = await handle.execute(ListAnnouncements(posted=True), actor=admin)
    assert len(everything) == 3
    assert await handle.execute(ListAnnouncements(posted=True), actor=alice) == ()


async def test_status_and_per_recipient_state_are_for_staff(
    small: Pair, clock: FrozenClock
) -> None:
    huarong, handle = small
    ids = await member_ids(handle)
    leader = await actor_for(handle, "leader")
    staff = await actor_for(handle, "huaying_staff")
    lee = await actor_for(handle, "lee")
    await handle.execute(JoinClub("tea", ids["lee"]), actor=SYSTEM)
    posted = await handle.execute(PostAnnouncement("club:tea", "Tea", "B"), actor=leader)
    for actor in (leader, staff, SYSTEM):
        status = await handle.execute(GetAnnouncementStatus(posted.id), actor=actor)
        assert status.total == 4  # the leader, lee, two chats
    with pytest.raises(PermissionDenied):
        await handle.execute(GetAnnouncementStatus(posted.id), actor=lee)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListAnnouncementDeliveries(posted.id), actor=lee)
    with pytest.raises(NotFound):
        await handle.execute(GetAnnouncementStatus(999), actor=staff)
    await finish(DeliveryWorker(huarong, senders(Network())), handle, clock, posted.id)
    page = await handle.execute(ListAnnouncementDeliveries(posted.id, limit=2), actor=staff)
    assert (page.total, len(page.items), page.has_more) == (4, 2, True)
    own = await handle.execute(
        ListAnnouncementDeliveries(posted.id, member_id=ids["lee"]), actor=lee
    )
    assert [(d.state, d.platform, d.attempts) for d in own.items] == [
        (DeliveryState.SENT, "telegram", 1)
    ]
    assert own.items[0].sent_at == clock.now()


async def test_a_member_linking_an_account_later_is_reached(small: Pair) -> None:
    huarong, handle = small
    ids = await member_ids(handle)
    staff = await actor_for(handle, "huaying_staff")
    await handle.execute(JoinClub("tea", ids["alice"]), actor=SYSTEM)
    network = Network()
    worker = DeliveryWorker(huarong, {"matrix": FakeSender(network)})
    await handle.execute(LinkIdentity(ids["alice"], "telegram", "900"), actor=SYSTEM)
    posted = await handle.execute(PostAnnouncement("club:tea", "Tea", "B"), actor=staff)
    await worker.run_once()
    # Only a Matrix worker runs: alice's Telegram row waits for a Telegram worker.
    page = await handle.execute(
        ListAnnouncementDeliveries(posted.id, member_id=ids["alice"]), actor=staff
    )
    assert [d.state for d in page.items] == [DeliveryState.PENDING]
    await handle.execute(LinkIdentity(ids["alice"], "matrix", "@alice:example.org"), actor=SYSTEM)
    await worker.run_once()
    assert [t.address for t, _ in network.delivered if t.member_id == ids["alice"]] == [
        "@alice:example.org"
    ]


def test_audiences_parse_and_print() -> None:
    assert str(Audience.parse("everyone")) == "everyone"
    assert Audience.parse(" Club:tea ") == Audience(AudienceKind.CLUB, "tea")
    assert str(Audience(AudienceKind.STATION, "huaying")) == "station:huaying"
    for bad in ("", "all", "club", "everyone:", "station: "):
        with pytest.raises(InvalidValue):
            Audience.parse(bad)


def test_the_worker_checks_its_settings() -> None:
    huarong = Huarong("sqlite:///:memory:")
    with pytest.raises(ValueError, match="sender"):
        DeliveryWorker(huarong, {})
    with pytest.raises(ValueError, match="lease"):
        DeliveryWorker(huarong, {"x": MemorySender()}, send_timeout=600)


async def test_a_redelivered_post_creates_nothing_twice(small: Pair) -> None:
    huarong, handle = small
    staff = await actor_for(handle, "huaying_staff")
    update = Delivery("telegram", "update-42")
    first = await handle.execute(
        PostAnnouncement("club:tea", "T", "B"), actor=staff, delivery=update
    )
    after = await snapshot(huarong.db)
    again = await handle.execute(
        PostAnnouncement("club:tea", "T", "B"), actor=staff, delivery=update
    )
    assert again == first
    assert await snapshot(huarong.db) == after
