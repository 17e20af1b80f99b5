"""Standing: leaderboards, ranks, honours and the companies' participation reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from huarong_core import (
    ListMembers,
    ListOrganizations,
    LocalizedText,
    MemberStatus,
    RegisterMember,
    SetMemberStatus,
    parse_config,
)
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AwardPoints,
    Board,
    DefinePointsRule,
    DefineShopItem,
    ExpirePoints,
    GetLeaderboard,
    GetOrganizationReport,
    GetRank,
    GrantHonour,
    LeaderboardEntry,
    ListAuditEntries,
    ListHonours,
    ParticipationRow,
    RecordActivity,
    RedeemItem,
    RevokeHonour,
    VerifyLedger,
)
from huarong_core.config import RuleEntry, ShopItemEntry
from huarong_core.domain.audit import Actor
from huarong_core.errors import InvalidTransition, InvalidValue, NotFound, PermissionDenied
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock
from tests.contract.conftest import SYSTEM, Pair, actor_for

PIONEER = LocalizedText({"zh_CN": "先锋示范岗", "en": "Pioneer post"})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def member_ids(handle: CommunityHandle) -> dict[str, int]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return {m.key: m.id for m in page.items if m.key is not None}


async def acme_id(handle: CommunityHandle) -> int:
    page = await handle.execute(ListOrganizations(), actor=SYSTEM)
    [acme] = [o for o in page.items if o.key == "acme"]
    return acme.id


async def give(handle: CommunityHandle, member_id: int, points: int) -> None:
    await handle.execute(AwardPoints(member_id, points, reason="standing"), actor=SYSTEM)


def ranks(board: tuple[LeaderboardEntry, ...]) -> list[tuple[int, int, int]]:
    return [(e.rank, e.member_id, e.score) for e in board]


async def board(
    handle: CommunityHandle,
    kind: Board = Board.ALL_TIME,
    key: str | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
) -> list[tuple[int, int, int]]:
    found = await handle.execute(
        GetLeaderboard(kind, key, offset=offset, limit=limit), actor=SYSTEM
    )
    return ranks(found.entries)


async def scored_community(handle: CommunityHandle) -> dict[str, int]:
    """Sample members plus bob, carol and dave, with scores 30, 20, 20, 10, 5 (staff none)."""
    acme = await acme_id(handle)
    await handle.execute(
        RegisterMember("Bob", key="bob", categories=frozenset({"party_member"})), actor=SYSTEM
    )
    await handle.execute(
        RegisterMember(
            "Carol", key="carol", categories=frozenset({"employee"}), organization_id=acme
        ),
        actor=SYSTEM,
    )
    await handle.execute(RegisterMember("Dave", key="dave"), actor=SYSTEM)
    ids = await member_ids(handle)
    for key, points in (("carol", 30), ("bob", 20), ("alice", 20), ("admin", 10), ("dave", 5)):
        await give(handle, ids[key], points)
    return ids


# --- leaderboards ---------------------------------------------------------------------------


async def test_all_time_board_shares_ranks_on_ties_and_pages_correctly(community: Pair) -> None:
    _, handle = community
    ids = await scored_community(handle)
    admin, alice, bob, carol, dave = (ids[k] for k in ("admin", "alice", "bob", "carol", "dave"))
    assert (admin, alice, bob, carol, dave) == (1, 3, 4, 5, 6)

    full = await handle.execute(GetLeaderboard(), actor=SYSTEM)
    assert (full.board, full.key, full.offset, full.limit) == (Board.ALL_TIME, None, 0, 20)
    assert [(e.rank, e.member_id, e.display_name, e.score) for e in full.entries] == [
        (1, carol, "Carol", 30),
        (2, alice, "Alice", 20),  # a tie: same rank, lower member id first
        (2, bob, "Bob", 20),
        (4, admin, "Admin", 10),
        (5, dave, "Dave", 5),
    ]  # staff has no score and is not listed

    assert await board(handle, limit=2) == [(1, carol, 30), (2, alice, 20)]
    assert await board(handle, offset=1, limit=1) == [(2, alice, 20)]
    # A page that starts inside a tie still shows the shared rank.
    assert await board(handle, offset=2, limit=2) == [(2, bob, 20), (4, admin, 10)]
    assert await board(handle, offset=3, limit=5) == [(4, admin, 10), (5, dave, 5)]
    assert await board(handle, offset=5) == []
    pages = [await board(handle, offset=o, limit=1) for o in range(5)]
    assert [row for page in pages for row in page] == await board(handle)

    # Members who left drop off the board.
    await handle.execute(SetMemberStatus(bob, MemberStatus.LEFT), actor=SYSTEM)
    assert await board(handle) == [(1, carol, 30), (2, alice, 20), (3, admin, 10), (4, dave, 5)]


async def test_get_rank(community: Pair) -> None:
    _, handle = community
    ids = await scored_community(handle)
    alice = await actor_for(handle, "alice")
    bob = await handle.execute(GetRank(ids["bob"]), actor=alice)
    assert bob == LeaderboardEntry(2, ids["bob"], "Bob", 20)
    assert await handle.execute(GetRank(ids["dave"]), actor=SYSTEM) == LeaderboardEntry(
        5, ids["dave"], "Dave", 5
    )
    assert await handle.execute(GetRank(ids["staff"]), actor=SYSTEM) is None
    acme = str(await acme_id(handle))
    in_acme = await handle.execute(GetRank(ids["admin"], Board.ORGANIZATION, acme), actor=SYSTEM)
    assert in_acme == LeaderboardEntry(3, ids["admin"], "Admin", 10)
    assert await handle.execute(GetRank(ids["bob"], Board.ORGANIZATION, acme), actor=SYSTEM) is None


async def test_spending_does_not_lower_the_score(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    ids = await scored_community(handle)
    await handle.execute(
        DefineShopItem(
            ShopItemEntry(key="cup", name=LocalizedText({"en": "Cup"}), price=25, stock=5)
        ),
        actor=SYSTEM,
    )
    carol = Actor.member(ids["carol"], "Carol")
    await handle.execute(RedeemItem("cup"), actor=carol)
    entry = await handle.execute(GetRank(ids["carol"]), actor=SYSTEM)
    assert entry == LeaderboardEntry(1, ids["carol"], "Carol", 30)
    # Nor does expiry.
    await handle.execute(
        DefinePointsRule(
            RuleEntry(
                key="salon",
                name=LocalizedText({"en": "Salon"}),
                trigger="salon.checked_in",
                points=10,
                expires_after_months=1,
            )
        ),
        actor=SYSTEM,
    )
    await handle.execute(RecordActivity("salon.checked_in", "c:1", ids["dave"]), actor=SYSTEM)
    clock.advance(days=40)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 10
    assert await handle.execute(GetRank(ids["dave"]), actor=SYSTEM) == LeaderboardEntry(
        4, ids["dave"], "Dave", 15
    )
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


async def test_season_board_follows_local_quarters(community: Pair, clock: FrozenClock) -> None:
    huarong, handle = community
    ids = await member_ids(handle)
    alice, staff, admin = ids["alice"], ids["staff"], ids["admin"]

    clock.set(utc(2026, 6, 30, 15, 59))  # 23:59 on 30 June in Shanghai: Q2
    await give(handle, alice, 7)
    clock.set(utc(2026, 6, 30, 16, 0))  # 00:00 on 1 July in Shanghai: Q3
    await give(handle, staff, 4)
    await give(handle, alice, 1)
    # An activity counts in the season it occurred in, whenever it is recorded.
    await handle.execute(
        DefinePointsRule(
            RuleEntry(
                key="salon",
                name=LocalizedText({"en": "Salon"}),
                trigger="salon.checked_in",
                points=3,
            )
        ),
        actor=SYSTEM,
    )
    late = RecordActivity("salon.checked_in", "c:1", admin, occurred_at=utc(2026, 6, 1))
    await handle.execute(late, actor=SYSTEM)

    current = await handle.execute(GetLeaderboard(Board.SEASON), actor=SYSTEM)
    assert current.key == "2026-Q3"
    assert ranks(current.entries) == [(1, staff, 4), (2, alice, 1)]
    assert await board(handle, Board.SEASON, "2026-Q2") == [(1, alice, 7), (2, admin, 3)]
    assert await board(handle, Board.SEASON, "2025-Q4") == []
    assert await board(handle) == [(1, alice, 8), (2, staff, 4), (3, admin, 3)]
    assert await handle.execute(GetRank(admin, Board.SEASON), actor=SYSTEM) is None
    assert await handle.execute(
        GetRank(admin, Board.SEASON, "2026-Q2"), actor=SYSTEM
    ) == LeaderboardEntry(2, admin, "Admin", 3)

    # Monthly seasons, as the community file may choose.
    await huarong.apply_configuration(
        parse_config(SAMPLE_COMMUNITY + '\n[points]\nseason = "month"\n'), actor=SYSTEM
    )
    clock.set(utc(2026, 7, 31, 16, 0))  # 1 August in Shanghai
    await give(handle, staff, 2)
    monthly = await handle.execute(GetLeaderboard(Board.SEASON), actor=SYSTEM)
    assert (monthly.key, ranks(monthly.entries)) == ("2026-08", [(1, staff, 2)])


async def test_organization_and_category_boards(community: Pair) -> None:
    _, handle = community
    ids = await scored_community(handle)
    acme = str(await acme_id(handle))
    by_org = await handle.execute(GetLeaderboard(Board.ORGANIZATION, acme), actor=SYSTEM)
    assert by_org.key == acme
    assert ranks(by_org.entries) == [
        (1, ids["carol"], 30),
        (2, ids["alice"], 20),
        (3, ids["admin"], 10),
    ]
    assert await board(handle, Board.CATEGORY, "employee") == [
        (1, ids["carol"], 30),
        (2, ids["alice"], 20),
    ]
    assert await board(handle, Board.CATEGORY, "party_member") == [
        (1, ids["bob"], 20),
        (2, ids["admin"], 10),
    ]
    for kind, key, error in (
        (Board.ORGANIZATION, None, InvalidValue),
        (Board.ORGANIZATION, "acme", InvalidValue),
        (Board.ORGANIZATION, "999", NotFound),
        (Board.ORGANIZATION, "¹", InvalidValue),  # a digit to str.isdigit, not to int
        (Board.ORGANIZATION, "9" * 40, InvalidValue),
        (Board.CATEGORY, None, InvalidValue),
        (Board.CATEGORY, "astronaut", InvalidValue),
    ):
        with pytest.raises(error):
            await handle.execute(GetLeaderboard(kind, key), actor=SYSTEM)


# --- honours --------------------------------------------------------------------------------


async def test_honours_are_current_by_local_dates(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    ids = await member_ids(handle)
    alice = ids["alice"]
    admin = await actor_for(handle, "admin")
    grant = GrantHonour(
        alice,
        "pioneer_post",
        PIONEER,
        "Ran the July reading month",
        starts_on=date(2026, 7, 2),
        ends_on=date(2026, 7, 31),
    )
    for outsider in ("alice", "staff"):
        with pytest.raises(PermissionDenied):
            await handle.execute(grant, actor=await actor_for(handle, outsider))
    honour = await handle.execute(grant, actor=admin)
    assert (honour.member_id, honour.kind, honour.title, honour.granted_by, honour.revoked) == (
        alice,
        "pioneer_post",
        PIONEER,
        admin.label,
        False,
    )
    lifelong = await handle.execute(
        GrantHonour(alice, "volunteer_star", PIONEER, "Ten years", starts_on=date(2020, 1, 1)),
        actor=admin,
    )

    async def current() -> list[int]:
        found = await handle.execute(ListHonours(alice, current_only=True), actor=SYSTEM)
        return [h.id for h in found]

    clock.set(utc(2026, 7, 1, 15, 59))  # 1 July 23:59 in Shanghai
    assert await current() == [lifelong.id]
    clock.set(utc(2026, 7, 1, 16, 0))  # 2 July 00:00 in Shanghai, still 1 July in UTC
    assert await current() == [honour.id, lifelong.id]
    clock.set(utc(2026, 7, 31, 15, 59))  # the last day, inclusive
    assert await current() == [honour.id, lifelong.id]
    clock.set(utc(2026, 7, 31, 16, 0))
    assert await current() == [lifelong.id]

    clock.set(utc(2026, 7, 10))
    revoked = await handle.execute(RevokeHonour(honour.id), actor=admin)
    assert revoked.revoked is True
    assert await current() == [lifelong.id]
    every = await handle.execute(ListHonours(alice), actor=SYSTEM)
    assert [(h.id, h.revoked) for h in every] == [(honour.id, True), (lifelong.id, False)]
    assert await handle.execute(ListHonours(ids["staff"]), actor=SYSTEM) == ()
    actions = [e.action for e in await handle.execute(ListAuditEntries(), actor=SYSTEM)]
    assert actions[:3] == ["honour.revoke", "honour.grant", "honour.grant"]

    with pytest.raises(InvalidValue):
        await handle.execute(
            GrantHonour(
                alice, "pioneer_post", PIONEER, "Backwards", date(2026, 7, 2), date(2026, 7, 1)
            ),
            actor=admin,
        )
    with pytest.raises(InvalidValue):
        await handle.execute(
            GrantHonour(alice, "pioneer_post", PIONEER, "  ", date(2026, 7, 2)), actor=admin
        )
    with pytest.raises(NotFound):
        await handle.execute(
            GrantHonour(999, "pioneer_post", PIONEER, "Nobody", date(2026, 7, 2)), actor=admin
        )
    with pytest.raises(NotFound):
        await handle.execute(RevokeHonour(999), actor=admin)


# --- reports --------------------------------------------------------------------------------


async def test_organization_report_counts_a_local_date_range_inclusively(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    ids = await member_ids(handle)
    admin, staff, alice = ids["admin"], ids["staff"], ids["alice"]
    for entry in (
        RuleEntry(
            key="salon", name=LocalizedText({"en": "Salon"}), trigger="salon.checked_in", points=5
        ),
        RuleEntry(
            key="volunteering",
            name=LocalizedText({"en": "Volunteering"}),
            trigger="volunteer.hours_confirmed",
            per_unit=4,
        ),
    ):
        await handle.execute(DefinePointsRule(entry), actor=SYSTEM)
    await handle.execute(
        DefineShopItem(
            ShopItemEntry(key="cup", name=LocalizedText({"en": "Cup"}), price=10, stock=5)
        ),
        actor=SYSTEM,
    )

    async def at(when: datetime, kind: str, source: str, member: int, units: str = "1") -> None:
        clock.set(when)
        activity = RecordActivity(kind, source, member, occurred_at=when, units=units)
        [result] = await handle.execute(activity, actor=SYSTEM)
        assert result.outcome == "awarded"

    salon, hours = "salon.checked_in", "volunteer.hours_confirmed"
    await at(utc(2026, 6, 30, 15, 59), salon, "s:1", alice)  # 30 June local: before
    await at(utc(2026, 6, 30, 16, 0), salon, "s:2", alice)  # 1 July 00:00 local: inside
    await at(utc(2026, 7, 2), salon, "s:3", admin)
    await at(utc(2026, 7, 2), salon, "s:4", staff)  # not of this organization
    clock.set(utc(2026, 7, 10))
    await give(handle, alice, 3)
    await at(utc(2026, 7, 15), salon, "s:5", alice)
    clock.set(utc(2026, 7, 20))
    await handle.execute(RedeemItem("cup"), actor=Actor.member(alice, "Alice"))
    await at(utc(2026, 7, 31, 15, 59), hours, "v:1", alice, units="2")  # 31 July 23:59 local
    await at(utc(2026, 7, 31, 16, 0), salon, "s:6", alice)  # 1 August local: after

    acme = await acme_id(handle)
    report = await handle.execute(
        GetOrganizationReport(acme, date(2026, 7, 1), date(2026, 7, 31)),
        actor=await actor_for(handle, "staff"),  # station staff view reports
    )
    assert (report.organization_id, report.organization) == (acme, "Acme Insurance")
    assert (report.starts_on, report.ends_on) == (date(2026, 7, 1), date(2026, 7, 31))
    assert report.rows == (
        ParticipationRow(
            member_id=admin,
            display_name="Admin",
            activities={salon: 1},
            points_earned=5,
            points_spent=0,
            balance=5,
        ),
        ParticipationRow(
            member_id=alice,
            display_name="Alice",
            activities={salon: 2, hours: 1},
            points_earned=5 + 3 + 5 + 8,
            points_spent=10,
            balance=5 + 5 + 3 + 5 - 10 + 8 + 5,
        ),
    )

    one_day = await handle.execute(
        GetOrganizationReport(acme, date(2026, 7, 31), date(2026, 7, 31)), actor=SYSTEM
    )
    assert [(r.member_id, r.activities, r.points_earned) for r in one_day.rows] == [
        (admin, {}, 0),
        (alice, {hours: 1}, 8),
    ]

    with pytest.raises(PermissionDenied):
        await handle.execute(
            GetOrganizationReport(acme, date(2026, 7, 1), date(2026, 7, 31)),
            actor=await actor_for(handle, "alice"),
        )
    with pytest.raises(InvalidValue):
        await handle.execute(
            GetOrganizationReport(acme, date(2026, 7, 31), date(2026, 7, 1)), actor=SYSTEM
        )
    with pytest.raises(NotFound):
        await handle.execute(
            GetOrganizationReport(999, date(2026, 7, 1), date(2026, 7, 31)), actor=SYSTEM
        )


async def test_an_honour_is_revoked_once(community: Pair) -> None:
    _, handle = community
    alice = (await handle.execute(ListMembers(query="Alice"), actor=SYSTEM)).items[0]
    honour = await handle.execute(
        GrantHonour(
            alice.id,
            "pioneer_post",
            LocalizedText({"zh_CN": "先锋示范岗", "en": "Pioneer post"}),
            "Ran the book drive",
            date(2026, 7, 1),
        ),
        actor=SYSTEM,
    )
    revoked = await handle.execute(RevokeHonour(honour.id), actor=SYSTEM)
    assert revoked.revoked
    with pytest.raises(InvalidTransition):
        await handle.execute(RevokeHonour(honour.id), actor=SYSTEM)
