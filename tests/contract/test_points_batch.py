"""`RecordActivities`: a batch answers exactly as the same activities recorded one by one."""

from __future__ import annotations

import attrs

from huarong_core import MemberStatus, SetMemberStatus
from huarong_core.commands import (
    AwardResult,
    GetLeaderboard,
    RecordActivities,
    RecordActivity,
    VerifyLedger,
)
from huarong_core.config import CapsEntry, FiltersEntry
from huarong_core.testing import open_test_community
from tests.contract.conftest import SYSTEM, Pair
from tests.contract.test_points import CHECK_IN, define, member_ids, rule, statement

VOLUNTEER = "volunteer.hours_confirmed"


def activities(ids: dict[str, int]) -> tuple[RecordActivity, ...]:
    alice, staff, admin = ids["alice"], ids["staff"], ids["admin"]
    return (
        RecordActivity(CHECK_IN, "c:1", alice, target="session:1"),
        RecordActivity(CHECK_IN, "c:1", alice, target="session:1"),  # the same, twice in a batch
        RecordActivity(CHECK_IN, "c:2", staff, target="session:1"),
        RecordActivity(VOLUNTEER, "v:1", alice, units="2.5"),
        RecordActivity(VOLUNTEER, "v:2", admin, units="0"),  # comes to zero points
        RecordActivity(CHECK_IN, "c:3", admin, target="session:2"),  # a party member: filtered
        RecordActivity("library.book_donated", "b:1", alice),  # no rule at all
        RecordActivity(CHECK_IN, "c:4", alice, target="session:1"),  # the capped rule says no
    )


async def _setup(pair: Pair) -> dict[str, int]:
    _, handle = pair
    await define(
        handle,
        # Plain rules: the batch writes them in bulk.
        rule(
            "salon",
            points=5,
            expires_after_months=6,
            filters=FiltersEntry(categories=("employee",)),
        ),
        rule("volunteering", VOLUNTEER, per_unit=4),
        # A rule with a limit: the batch evaluates it one activity at a time.
        rule("salon_session", points=1, once_per_target=True, caps=CapsEntry(day=5)),
    )
    return await member_ids(handle)


def _plain(
    results: tuple[tuple[AwardResult, ...], ...],
) -> list[list[tuple[str, str, int, str | None]]]:
    return [[(r.rule_key, r.outcome, r.points, r.reason) for r in answer] for answer in results]


async def test_a_batch_answers_as_one_by_one(community: Pair) -> None:
    huarong, handle = community
    ids = await _setup(community)
    batch = await handle.execute(RecordActivities(activities(ids)), actor=SYSTEM)

    async with open_test_community(clock=huarong.clock) as reference:
        assert await _setup(reference) == ids
        one_by_one = tuple(
            [await reference[1].execute(activity, actor=SYSTEM) for activity in activities(ids)]
        )
    assert _plain(batch) == _plain(one_by_one)
    assert [[r.outcome for r in answer] for answer in batch] == [
        ["awarded", "awarded"],
        ["duplicate", "duplicate"],
        ["awarded", "awarded"],
        ["awarded"],
        ["skipped"],
        ["skipped", "awarded"],
        [],
        ["awarded", "skipped"],
    ]


async def test_a_batch_moves_balances_seasons_and_lots_like_single_awards(community: Pair) -> None:
    _, handle = community
    ids = await _setup(community)
    await handle.execute(RecordActivities(activities(ids)), actor=SYSTEM)
    alice = await statement(handle, ids["alice"])
    assert alice.balance == 5 + 5 + 10 + 1
    assert sorted((e.rule_key or "", e.delta) for e in alice.entries) == [
        ("salon", 5),
        ("salon", 5),
        ("salon_session", 1),
        ("volunteering", 10),
    ]
    assert [lot.remaining for lot in alice.expiring] == []  # six months away
    board = await handle.execute(GetLeaderboard(), actor=SYSTEM)
    top = board.entries[0]
    assert (top.member_id, top.score) == (ids["alice"], 21)
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()

    # Again: every activity is now a duplicate or still skipped; nothing moves.
    again = await handle.execute(RecordActivities(activities(ids)), actor=SYSTEM)
    assert all(r.outcome in ("duplicate", "skipped") for answer in again for r in answer)
    assert (await statement(handle, ids["alice"])).balance == 21


async def test_inactive_members_earn_nothing_in_a_batch(community: Pair) -> None:
    _, handle = community
    ids = await _setup(community)
    await handle.execute(SetMemberStatus(ids["staff"], MemberStatus.SUSPENDED), actor=SYSTEM)
    [answer] = await handle.execute(
        RecordActivities((RecordActivity(CHECK_IN, "c:9", ids["staff"], target="s"),)),
        actor=SYSTEM,
    )
    assert [attrs.astuple(r)[:4] for r in answer] == [
        ("salon", "skipped", 0, "inactive_member"),
        ("salon_session", "skipped", 0, "inactive_member"),
    ]
