"""The points shop: redemption under concurrency, limits, fulfilment, cancellation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from huarong_core import (
    Actor,
    ListAuditEntries,
    ListMembers,
    LocalizedText,
    RegisterMember,
    parse_config,
)
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AwardPoints,
    CancelRedemption,
    DefinePointsRule,
    DefineShopItem,
    ExpirePoints,
    FulfilRedemption,
    GetPointsStatement,
    ListRedemptions,
    ListShopItems,
    RecordActivity,
    RedeemItem,
    RestockItem,
    VerifyLedger,
)
from huarong_core.config import LimitEntry, RuleEntry, ShopItemEntry
from huarong_core.domain.shop import Redemption, RedemptionStatus, ShopItem
from huarong_core.errors import (
    InsufficientPoints,
    InvalidTransition,
    InvalidValue,
    ItemUnavailable,
    NotFound,
    OutOfStock,
    PermissionDenied,
    RedemptionLimitReached,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

# The sample community, plus a second station with its own staff and a member without roles.
SHOP_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "library"
name = { zh_CN = "图书驿站", en = "Library station" }

[[members]]
key = "bob"
name = "Bob"
categories = ["employee"]

[[members]]
key = "librarian"
name = "Librarian"

[[roles]]
member = "librarian"
role = "station_staff"
scope = "station:library"
"""
)

TEA_CUP = """
[[shop.items]]
key = "tea_cup"
name = { zh_CN = "茶杯", en = "Tea cup" }
category = "daily"
price = PRICE
stock = 40
limit = { count = 5, period = "month" }
station = "service"
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def item(key: str, price: int, stock: int, **fields: Any) -> ShopItemEntry:
    fields.setdefault("station", "service")
    return ShopItemEntry(
        key=key, name=LocalizedText({"en": key}), price=price, stock=stock, **fields
    )


@pytest.fixture
async def shop(community: Pair) -> Pair:
    huarong, _ = community
    await huarong.apply_configuration(parse_config(SHOP_COMMUNITY), actor=SYSTEM)
    return community


async def define(handle: CommunityHandle, *entries: ShopItemEntry) -> None:
    for entry in entries:
        await handle.execute(DefineShopItem(entry), actor=SYSTEM)


async def member_ids(handle: CommunityHandle) -> dict[str, int]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return {m.key: m.id for m in page.items if m.key is not None}


async def give(handle: CommunityHandle, member_id: int, points: int) -> None:
    await handle.execute(AwardPoints(member_id, points, reason="for the shop"), actor=SYSTEM)


async def balance(handle: CommunityHandle, member_id: int) -> int:
    return (await handle.execute(GetPointsStatement(member_id), actor=SYSTEM)).balance


async def stored_item(handle: CommunityHandle, key: str) -> ShopItem:
    items = await handle.execute(ListShopItems(available_only=False), actor=SYSTEM)
    [found] = [i for i in items if i.key == key]
    return found


async def assert_ledger_clean(handle: CommunityHandle) -> None:
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


# --- concurrency ----------------------------------------------------------------------------


async def test_fifty_members_race_for_three_items(shop: Pair) -> None:
    _, handle = shop
    await define(handle, item("prize", price=30, stock=3))
    members = [await handle.execute(RegisterMember(f"Racer {i}"), actor=SYSTEM) for i in range(50)]
    for member in members:
        await give(handle, member.id, 100)
    actors = [Actor.member(m.id, m.display_name) for m in members]

    outcomes = await asyncio.gather(
        *(handle.execute(RedeemItem("prize"), actor=actor) for actor in actors),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if isinstance(o, Redemption)]
    losers = [o for o in outcomes if isinstance(o, OutOfStock)]
    assert len(winners) == 3
    assert len(losers) == 47
    assert all((e.item, e.wanted, e.stock) == ("prize", 1, 0) for e in losers)
    assert all((r.item_key, r.quantity, r.points) == ("prize", 1, 30) for r in winners)
    assert all(r.status is RedemptionStatus.RESERVED for r in winners)

    won = {r.member_id for r in winners}
    assert len(won) == 3
    for member in members:
        assert await balance(handle, member.id) == (70 if member.id in won else 100)
    assert (await stored_item(handle, "prize")).stock == 0
    reserved = await handle.execute(ListRedemptions(), actor=SYSTEM)
    assert sorted(r.id for r in reserved) == sorted(r.id for r in winners)
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


async def test_one_member_racing_for_more_than_they_can_afford(shop: Pair) -> None:
    _, handle = shop
    await define(handle, item("coffee", price=15, stock=100))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 50)
    outcomes = await asyncio.gather(
        *(handle.execute(RedeemItem("coffee"), actor=alice) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Redemption) for o in outcomes) == 3
    assert sum(isinstance(o, InsufficientPoints) for o in outcomes) == 7
    assert await balance(handle, alice.member_id) == 5
    assert (await stored_item(handle, "coffee")).stock == 97
    await assert_ledger_clean(handle)


# --- redeeming ------------------------------------------------------------------------------


async def test_items_can_be_redeemed_only_inside_their_window(
    shop: Pair, clock: FrozenClock
) -> None:
    _, handle = shop
    await define(
        handle,
        item(
            "mooncake",
            price=10,
            stock=5,
            available_from=datetime.fromisoformat("2026-07-02T00:00:00+08:00"),
            available_until=datetime.fromisoformat("2026-07-03T00:00:00+08:00"),
        ),
        item("retired", price=10, stock=5, enabled=False),
    )
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 100)

    async def listed() -> set[str]:
        return {i.key for i in await handle.execute(ListShopItems(), actor=alice)}

    clock.set(utc(2026, 7, 1, 15, 59))  # 23:59 in Shanghai, the day before
    with pytest.raises(ItemUnavailable):
        await handle.execute(RedeemItem("mooncake"), actor=alice)
    assert await listed() == set()
    clock.set(utc(2026, 7, 1, 16, 0))
    assert await listed() == {"mooncake"}
    redeemed = await handle.execute(RedeemItem("mooncake"), actor=alice)
    assert redeemed.status is RedemptionStatus.RESERVED
    clock.set(utc(2026, 7, 2, 16, 0))  # the window's end is exclusive
    with pytest.raises(ItemUnavailable):
        await handle.execute(RedeemItem("mooncake"), actor=alice)
    with pytest.raises(ItemUnavailable):
        await handle.execute(RedeemItem("retired"), actor=alice)
    with pytest.raises(NotFound):
        await handle.execute(RedeemItem("unicorn"), actor=alice)
    assert await listed() == set()
    every = await handle.execute(ListShopItems(available_only=False), actor=alice)
    assert [i.key for i in every] == ["mooncake", "retired"]
    assert await balance(handle, alice.member_id) == 90
    assert (await stored_item(handle, "mooncake")).stock == 4


async def test_a_per_member_limit_per_local_week(shop: Pair, clock: FrozenClock) -> None:
    huarong, handle = shop
    await define(handle, item("coffee", price=10, stock=50, limit=LimitEntry(2, "week")))
    alice = await actor_for(handle, "alice")
    bob = await actor_for(handle, "bob")
    assert alice.member_id is not None
    assert bob.member_id is not None
    await give(handle, alice.member_id, 100)
    await give(handle, bob.member_id, 100)

    # Wednesday 2026-07-01.
    first = await handle.execute(RedeemItem("coffee"), actor=alice)
    await handle.execute(RedeemItem("coffee"), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(RedemptionLimitReached) as refused:
        await handle.execute(RedeemItem("coffee"), actor=alice)
    assert (refused.value.item, refused.value.limit, refused.value.period) == ("coffee", 2, "week")
    assert await snapshot(huarong.db) == before
    # The limit is per member.
    await handle.execute(RedeemItem("coffee", quantity=2), actor=bob)

    # A cancelled redemption does not count.
    await handle.execute(CancelRedemption(first.id), actor=alice)
    await handle.execute(RedeemItem("coffee"), actor=alice)

    clock.set(utc(2026, 7, 5, 15, 59))  # Sunday 23:59 in Shanghai: still this week
    with pytest.raises(RedemptionLimitReached):
        await handle.execute(RedeemItem("coffee"), actor=alice)
    clock.set(utc(2026, 7, 5, 16, 0))  # Monday 00:00 in Shanghai: a new week
    with pytest.raises(RedemptionLimitReached):
        await handle.execute(RedeemItem("coffee", quantity=3), actor=alice)
    await handle.execute(RedeemItem("coffee", quantity=2), actor=alice)
    with pytest.raises(RedemptionLimitReached):
        await handle.execute(RedeemItem("coffee"), actor=alice)

    assert await balance(handle, alice.member_id) == 100 - 4 * 10
    assert (await stored_item(handle, "coffee")).stock == 50 - 4 - 2
    await assert_ledger_clean(handle)


async def test_redeeming_more_than_the_balance_changes_nothing(shop: Pair) -> None:
    huarong, handle = shop
    await define(handle, item("book", price=15, stock=5))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 20)
    before = await snapshot(huarong.db)
    with pytest.raises(InsufficientPoints) as refused:
        await handle.execute(RedeemItem("book", quantity=2), actor=alice)
    assert (refused.value.member_id, refused.value.needed, refused.value.balance) == (
        alice.member_id,
        30,
        20,
    )
    for quantity in (0, -1, 101):
        with pytest.raises(InvalidValue):
            await handle.execute(RedeemItem("book", quantity=quantity), actor=alice)
    with pytest.raises(OutOfStock):
        await handle.execute(RedeemItem("book", quantity=6), actor=alice)
    assert await snapshot(huarong.db) == before
    assert (await stored_item(handle, "book")).stock == 5

    one = await handle.execute(RedeemItem("book"), actor=alice)
    assert one.points == 15
    assert await balance(handle, alice.member_id) == 5
    assert (await stored_item(handle, "book")).stock == 4
    await assert_ledger_clean(handle)


async def test_redeeming_for_someone_else_needs_the_right_to_manage_the_shop(shop: Pair) -> None:
    _, handle = shop
    await define(handle, item("cup", price=10, stock=5))
    ids = await member_ids(handle)
    bob = ids["bob"]
    await give(handle, bob, 50)
    for outsider in ("alice", "librarian"):  # the librarian is staff of another station
        with pytest.raises(PermissionDenied):
            await handle.execute(
                RedeemItem("cup", member_id=bob), actor=await actor_for(handle, outsider)
            )
    staff = await actor_for(handle, "staff")
    done = await handle.execute(RedeemItem("cup", member_id=bob), actor=staff)
    assert (done.member_id, done.points) == (bob, 10)
    newest = (await handle.execute(GetPointsStatement(bob), actor=SYSTEM)).entries[0]
    assert (newest.kind, newest.delta, newest.actor, newest.reason) == (
        "redeem",
        -10,
        staff.label,
        "shop:cup",
    )
    await handle.execute(RedeemItem("cup", member_id=bob), actor=await actor_for(handle, "admin"))
    assert await balance(handle, bob) == 30
    with pytest.raises(InvalidValue):
        await handle.execute(RedeemItem("cup"), actor=SYSTEM)  # the system is nobody
    await assert_ledger_clean(handle)


async def test_redeeming_spends_the_soonest_expiring_points_first(
    shop: Pair, clock: FrozenClock
) -> None:
    _, handle = shop

    def rule(key: str, trigger: str, months: int) -> RuleEntry:
        return RuleEntry(
            key=key,
            name=LocalizedText({"en": key}),
            trigger=trigger,
            points=20,
            expires_after_months=months,
        )

    await handle.execute(DefinePointsRule(rule("long", "library.book_donated", 12)), actor=SYSTEM)
    await handle.execute(DefinePointsRule(rule("short", "event.attended", 1)), actor=SYSTEM)
    await define(handle, item("cup", price=15, stock=5))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await handle.execute(
        RecordActivity("library.book_donated", "d:1", alice.member_id), actor=SYSTEM
    )
    clock.advance(days=1)
    await handle.execute(RecordActivity("event.attended", "e:1", alice.member_id), actor=SYSTEM)

    await handle.execute(RedeemItem("cup"), actor=alice)
    assert await balance(handle, alice.member_id) == 25
    clock.advance(days=40)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 5
    assert await balance(handle, alice.member_id) == 20
    await assert_ledger_clean(handle)


# --- at the station -------------------------------------------------------------------------


async def test_staff_of_the_items_station_fulfil_it(shop: Pair) -> None:
    huarong, handle = shop
    await define(handle, item("cup", price=10, stock=5, station="service"))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 50)
    first = await handle.execute(RedeemItem("cup"), actor=alice)
    second = await handle.execute(RedeemItem("cup"), actor=alice)

    before = await snapshot(huarong.db)
    for outsider in ("alice", "librarian", "bob"):
        with pytest.raises(PermissionDenied):
            await handle.execute(
                FulfilRedemption(first.id), actor=await actor_for(handle, outsider)
            )
    assert await snapshot(huarong.db) == before

    staff = await actor_for(handle, "staff")
    done = await handle.execute(FulfilRedemption(first.id), actor=staff)
    assert (done.id, done.status, done.decided_by) == (
        first.id,
        RedemptionStatus.FULFILLED,
        staff.label,
    )
    with pytest.raises(InvalidTransition) as twice:
        await handle.execute(FulfilRedemption(first.id), actor=staff)
    assert (twice.value.state, twice.value.wanted) == ("fulfilled", "fulfilled")
    admin = await actor_for(handle, "admin")
    assert (await handle.execute(FulfilRedemption(second.id), actor=admin)).status == "fulfilled"
    with pytest.raises(NotFound):
        await handle.execute(FulfilRedemption(999), actor=admin)

    fulfilled = await handle.execute(
        ListRedemptions(status=RedemptionStatus.FULFILLED), actor=staff
    )
    assert [r.id for r in fulfilled] == [second.id, first.id]
    [logged, _] = await handle.execute(ListAuditEntries(action="shop.fulfil"), actor=SYSTEM)
    assert (logged.actor, logged.target) == (admin, f"redemption:{second.id}")
    # Fulfilment hands the item over; the points stay spent.
    assert await balance(handle, alice.member_id) == 30
    await assert_ledger_clean(handle)


async def test_cancelling_refunds_the_points_and_restores_the_stock(shop: Pair) -> None:
    huarong, handle = shop
    await define(handle, item("cup", price=10, stock=5))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 50)
    reserved = await handle.execute(RedeemItem("cup", quantity=2), actor=alice)
    assert await balance(handle, alice.member_id) == 30
    assert (await stored_item(handle, "cup")).stock == 3

    staff = await actor_for(handle, "staff")
    cancelled = await handle.execute(
        CancelRedemption(reserved.id, reason="out of colour"), actor=staff
    )
    assert (cancelled.status, cancelled.note) == (RedemptionStatus.CANCELLED, "out of colour")
    mine = await handle.execute(GetPointsStatement(alice.member_id), actor=SYSTEM)
    assert (mine.balance, mine.score) == (50, 50)  # refunds do not count as earning
    assert [(e.kind, e.delta) for e in mine.entries] == [
        ("refund", 20),
        ("redeem", -20),
        ("manual", 50),
    ]
    assert (await stored_item(handle, "cup")).stock == 5

    before = await snapshot(huarong.db)
    with pytest.raises(InvalidTransition) as twice:
        await handle.execute(CancelRedemption(reserved.id), actor=staff)
    assert (twice.value.state, twice.value.wanted) == ("cancelled", "cancelled")
    with pytest.raises(InvalidTransition):
        await handle.execute(FulfilRedemption(reserved.id), actor=staff)
    assert await snapshot(huarong.db) == before

    fulfilled = await handle.execute(RedeemItem("cup"), actor=alice)
    await handle.execute(FulfilRedemption(fulfilled.id), actor=staff)
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidTransition) as late:
        await handle.execute(CancelRedemption(fulfilled.id), actor=staff)
    assert (late.value.state, late.value.wanted) == ("fulfilled", "cancelled")
    assert await snapshot(huarong.db) == before
    assert await balance(handle, alice.member_id) == 40
    assert (await stored_item(handle, "cup")).stock == 4
    await assert_ledger_clean(handle)


async def test_members_cancel_their_own_reservations_only(shop: Pair) -> None:
    _, handle = shop
    await define(handle, item("cup", price=10, stock=5))
    alice = await actor_for(handle, "alice")
    bob = await actor_for(handle, "bob")
    assert alice.member_id is not None
    assert bob.member_id is not None
    await give(handle, alice.member_id, 30)
    await give(handle, bob.member_id, 30)
    mine = await handle.execute(RedeemItem("cup"), actor=alice)
    theirs = await handle.execute(RedeemItem("cup"), actor=bob)

    with pytest.raises(PermissionDenied):
        await handle.execute(CancelRedemption(theirs.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelRedemption(mine.id), actor=await actor_for(handle, "librarian"))
    done = await handle.execute(CancelRedemption(mine.id, reason="changed my mind"), actor=alice)
    assert (done.status, done.decided_by) == (RedemptionStatus.CANCELLED, alice.label)
    assert await balance(handle, alice.member_id) == 30
    assert await balance(handle, bob.member_id) == 20

    # Members see their own redemptions, not everyone's.
    own = await handle.execute(ListRedemptions(member_id=alice.member_id), actor=alice)
    assert [(r.id, r.status) for r in own] == [(mine.id, RedemptionStatus.CANCELLED)]
    with pytest.raises(PermissionDenied):
        await handle.execute(ListRedemptions(), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListRedemptions(member_id=bob.member_id), actor=alice)
    await assert_ledger_clean(handle)


# --- defining items -------------------------------------------------------------------------


async def test_defining_items_is_for_shop_managers_of_that_station(shop: Pair) -> None:
    _, handle = shop
    staff = await actor_for(handle, "staff")
    defined = await handle.execute(DefineShopItem(item("cup", 10, 5)), actor=staff)
    assert (defined.key, defined.price, defined.stock, defined.station) == ("cup", 10, 5, "service")
    for outsider, entry in (
        ("staff", item("book", 10, 5, station="library")),
        ("staff", item("anywhere", 10, 5, station=None)),
        ("alice", item("cup", 1, 500)),
    ):
        with pytest.raises(PermissionDenied):
            await handle.execute(DefineShopItem(entry), actor=await actor_for(handle, outsider))
    with pytest.raises(InvalidValue):
        await handle.execute(DefineShopItem(item("cup", -1, 5)), actor=staff)
    [logged] = await handle.execute(ListAuditEntries(action="shop.item.save"), actor=SYSTEM)
    assert (logged.actor, logged.target, logged.details["created"]) == (staff, "item:cup", True)


async def test_reloading_the_file_keeps_the_stock_that_redemptions_left(
    shop: Pair, clock: FrozenClock
) -> None:
    huarong, handle = shop
    text = SHOP_COMMUNITY + TEA_CUP.replace("PRICE", "60")
    report = await huarong.apply_configuration(parse_config(text), actor=SYSTEM)
    assert report.created == {"shop_items": 1}
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await give(handle, alice.member_id, 200)
    await handle.execute(RedeemItem("tea_cup", quantity=2), actor=alice)
    assert (await stored_item(handle, "tea_cup")).stock == 38

    before = await snapshot(huarong.db)
    clock.advance(days=1)
    again = await huarong.apply_configuration(parse_config(text), actor=SYSTEM)
    assert again.changes == 0
    assert await snapshot(huarong.db) == before

    cheaper = SHOP_COMMUNITY + TEA_CUP.replace("PRICE", "50")
    changed = await huarong.apply_configuration(parse_config(cheaper), actor=SYSTEM)
    assert changed.updated == {"shop_items": 1}
    cup = await stored_item(handle, "tea_cup")
    assert (cup.price, cup.stock, cup.limit_count, cup.limit_period) == (50, 38, 5, "month")
    # Defining the item by hand sets its stock (a restock).
    await define(handle, item("tea_cup", 50, 100))
    assert (await stored_item(handle, "tea_cup")).stock == 100
    await assert_ledger_clean(handle)


async def test_a_cancelled_redemption_returns_points_with_their_expiry(
    shop: Pair, clock: FrozenClock
) -> None:
    """Redeeming and cancelling must not turn expiring points into lasting ones."""
    _, handle = shop
    await handle.execute(
        DefinePointsRule(
            RuleEntry(
                key="short",
                name=LocalizedText({"en": "short"}),
                trigger="event.attended",
                points=20,
                expires_after_months=1,
            )
        ),
        actor=SYSTEM,
    )
    await define(handle, item("cup", price=15, stock=5))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    await handle.execute(RecordActivity("event.attended", "e:1", alice.member_id), actor=SYSTEM)
    redemption = await handle.execute(RedeemItem("cup"), actor=alice)
    await handle.execute(CancelRedemption(redemption.id, "changed my mind"), actor=alice)
    assert await balance(handle, alice.member_id) == 20
    clock.advance(days=40)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 20
    assert await balance(handle, alice.member_id) == 0
    await assert_ledger_clean(handle)


async def test_restocking_adds_stock_at_the_station_and_never_below_zero(shop: Pair) -> None:
    huarong, handle = shop
    await define(handle, item("cup", price=10, stock=2, station="service"))
    staff = await actor_for(handle, "staff")
    restocked = await handle.execute(RestockItem("cup", 5), actor=staff)
    assert restocked.stock == 7
    before = await snapshot(huarong.db)
    with pytest.raises(OutOfStock):
        await handle.execute(RestockItem("cup", -8), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(RestockItem("cup", 1), actor=await actor_for(handle, "librarian"))
    assert await snapshot(huarong.db) == before
    assert (await handle.execute(RestockItem("cup", -7), actor=staff)).stock == 0
    audit = await handle.execute(ListAuditEntries(action="shop.restock"), actor=SYSTEM)
    assert [e.details for e in audit] == [
        {"quantity": -7, "stock": 0},
        {"quantity": 5, "stock": 7},
    ]
