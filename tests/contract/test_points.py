"""Points: rules on activities, the exactly-once ledger, balances, expiry, on every backend.

The sample community's time zone is Asia/Shanghai (UTC+8, no daylight
saving): local midnight is 16:00 UTC, so 15:59 UTC and 16:00 UTC on one
UTC date are two different local days.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from huarong_core import Actor, ListAuditEntries, ListMembers, LocalizedText, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AwardPoints,
    AwardResult,
    DecidePendingAward,
    DefinePointsRule,
    ExpirePoints,
    GetPointsStatement,
    LedgerDifference,
    ListPendingAwards,
    ListPointsRules,
    PointsStatement,
    RecordActivities,
    RecordActivity,
    SetPointsRuleEnabled,
    VerifyLedger,
)
from huarong_core.config import (
    CampaignEntry,
    CapsEntry,
    RuleEntry,
    StreakEntry,
)
from huarong_core.domain.points import Lot
from huarong_core.errors import (
    AwardSkipped,
    InsufficientPoints,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

CHECK_IN = "salon.checked_in"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def rule(key: str, trigger: str = CHECK_IN, **fields: Any) -> RuleEntry:
    return RuleEntry(key=key, name=LocalizedText({"en": key}), trigger=trigger, **fields)


async def define(handle: CommunityHandle, *entries: RuleEntry) -> None:
    for entry in entries:
        await handle.execute(DefinePointsRule(entry), actor=SYSTEM)


async def member_ids(handle: CommunityHandle) -> dict[str, int]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return {m.key: m.id for m in page.items if m.key is not None}


async def statement(handle: CommunityHandle, member_id: int, **options: Any) -> PointsStatement:
    return await handle.execute(GetPointsStatement(member_id, **options), actor=SYSTEM)


async def balance(handle: CommunityHandle, member_id: int) -> int:
    return (await statement(handle, member_id)).balance


async def record(handle: CommunityHandle, activity: RecordActivity) -> AwardResult:
    """Record an activity that exactly one rule answers, and return that answer."""
    [result] = await handle.execute(activity, actor=SYSTEM)
    return result


async def assert_ledger_clean(handle: CommunityHandle) -> None:
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


# --- exactly once, caps, local days -------------------------------------------------------


async def test_the_same_check_in_five_times_at_once_awards_once(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5))
    alice = (await member_ids(handle))["alice"]
    check_in = RecordActivity(CHECK_IN, source_id="checkin:1", member_id=alice, target="session:1")
    outcomes = await asyncio.gather(*(handle.execute(check_in, actor=SYSTEM) for _ in range(5)))
    assert all(len(results) == 1 for results in outcomes)
    assert Counter(results[0].outcome for results in outcomes) == {"awarded": 1, "duplicate": 4}
    [awarded] = [results[0] for results in outcomes if results[0].outcome == "awarded"]
    assert awarded.points == 5
    assert awarded.entry_id is not None

    mine = await statement(handle, alice)
    assert mine.balance == 5
    assert mine.score == 5
    assert [(e.id, e.kind, e.delta, e.source_id) for e in mine.entries] == [
        (awarded.entry_id, "award", 5, "checkin:1")
    ]
    # Redelivered later, still a duplicate.
    assert await record(handle, check_in) == AwardResult("salon", "duplicate", 0)
    assert await balance(handle, alice) == 5
    await assert_ledger_clean(handle)


async def test_day_cap_holds_under_concurrency_and_days_are_local(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, caps=CapsEntry(day=2)))
    alice = (await member_ids(handle))["alice"]

    # 2026-07-01 09:00 UTC is 17:00 in Shanghai: all twenty fall on one local day.
    outcomes = await asyncio.gather(
        *(
            handle.execute(RecordActivity(CHECK_IN, f"checkin:{i}", alice), actor=SYSTEM)
            for i in range(20)
        )
    )
    results = [r for rs in outcomes for r in rs]
    assert Counter(r.outcome for r in results) == {"awarded": 2, "skipped": 18}
    assert {r.reason for r in results if r.outcome == "skipped"} == {"cap_day"}
    assert await balance(handle, alice) == 10

    # Local 2026-07-05 runs from 07-04 16:00 UTC to 07-05 16:00 UTC.
    def at(when: datetime, source: str) -> RecordActivity:
        clock.set(when)
        return RecordActivity(CHECK_IN, source, alice, occurred_at=when)

    first = await record(handle, at(utc(2026, 7, 4, 16, 0), "late:1"))  # 07-05 00:00 local
    second = await record(handle, at(utc(2026, 7, 5, 15, 59), "late:2"))  # 07-05 23:59 local
    third = await record(handle, at(utc(2026, 7, 5, 15, 59, 30), "late:3"))
    fourth = await record(handle, at(utc(2026, 7, 5, 16, 0), "late:4"))  # 07-06 00:00 local
    fifth = await record(handle, at(utc(2026, 7, 5, 16, 1), "late:5"))
    sixth = await record(handle, at(utc(2026, 7, 5, 16, 2), "late:6"))
    # Two UTC dates, one local day: the cap counts them together.
    assert (first.outcome, second.outcome) == ("awarded", "awarded")
    assert (third.outcome, third.reason) == ("skipped", "cap_day")
    # Same UTC date as the two before, but the next local day: a fresh cap.
    assert (fourth.outcome, fifth.outcome) == ("awarded", "awarded")
    assert (sixth.outcome, sixth.reason) == ("skipped", "cap_day")
    assert await balance(handle, alice) == 10 + 4 * 5
    await assert_ledger_clean(handle)


async def test_verify_ledger_reports_a_corrupted_balance(community: Pair) -> None:
    huarong, handle = community
    await define(
        handle,
        rule("salon", points=5, expires_after_months=12),
        rule("reflection", "library.reflection_approved", points=8, approval=True),
        rule("no_show", "salon.no_show", points=-3),
    )
    ids = await member_ids(handle)
    alice, staff = ids["alice"], ids["staff"]
    await record(handle, RecordActivity(CHECK_IN, "c:1", alice))
    await record(handle, RecordActivity(CHECK_IN, "c:2", staff))
    pending = await record(handle, RecordActivity("library.reflection_approved", "r:1", alice))
    assert pending.entry_id is not None
    await handle.execute(DecidePendingAward(pending.entry_id, approve=True), actor=SYSTEM)
    await handle.execute(AwardPoints(alice, -4, reason="correction"), actor=SYSTEM)
    await record(handle, RecordActivity("salon.no_show", "n:1", staff))
    await handle.execute(AwardPoints(staff, 7, reason="help at the desk"), actor=SYSTEM)
    assert await balance(handle, alice) == 5 + 8 - 4
    assert await balance(handle, staff) == 5 - 3 + 7
    await assert_ledger_clean(handle)

    async with huarong.db.transaction() as conn:
        await conn.execute(
            "UPDATE balances SET balance = balance + 1 WHERE community_id = $1 AND member_id = $2",
            handle.community.id,
            alice,
        )
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == (
        LedgerDifference(alice, "balance", 10, 9),
    )

    async with huarong.db.transaction() as conn:
        await conn.execute(
            "UPDATE balances SET score = score + 2 WHERE community_id = $1 AND member_id = $2",
            handle.community.id,
            staff,
        )
    assert staff < alice
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == (
        LedgerDifference(staff, "score", 11, 9),
        LedgerDifference(alice, "balance", 10, 9),
        # Members per score (what ranks are read from) no longer match the scores.
        LedgerDifference(0, "score_counts:9", 2, 1),
        LedgerDifference(0, "score_counts:11", 0, 1),
    )
    # Only those with the right to manage points may check.
    with pytest.raises(PermissionDenied):
        await handle.execute(VerifyLedger(), actor=await actor_for(handle, "alice"))


# --- what a rule allows ---------------------------------------------------------------------


async def test_once_per_target(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, once_per_target=True))
    ids = await member_ids(handle)
    alice, staff = ids["alice"], ids["staff"]

    def check_in(member: int, source: str, target: str) -> RecordActivity:
        return RecordActivity(CHECK_IN, source, member, target=target)

    assert (await record(handle, check_in(alice, "a:1", "session:1"))).outcome == "awarded"
    again = await record(handle, check_in(alice, "a:2", "session:1"))
    assert (again.outcome, again.reason, again.points) == ("skipped", "once_per_target", 0)
    assert (await record(handle, check_in(alice, "a:3", "session:2"))).outcome == "awarded"
    # Per member: someone else at the same session earns it too.
    assert (await record(handle, check_in(staff, "s:1", "session:1"))).outcome == "awarded"
    assert await balance(handle, alice) == 10
    assert await balance(handle, staff) == 5
    await assert_ledger_clean(handle)


async def test_cooldown(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, cooldown_minutes=60))
    alice = (await member_ids(handle))["alice"]
    start = clock.now()

    async def at(minutes: int, source: str) -> AwardResult:
        clock.set(start)
        clock.advance(minutes=minutes)
        return await record(handle, RecordActivity(CHECK_IN, source, alice))

    assert (await at(0, "c:1")).outcome == "awarded"
    early = await at(59, "c:2")
    assert (early.outcome, early.reason) == ("skipped", "cooldown")
    assert (await at(60, "c:3")).outcome == "awarded"
    assert (await at(119, "c:4")).reason == "cooldown"
    assert (await at(120, "c:5")).outcome == "awarded"
    assert await balance(handle, alice) == 15
    await assert_ledger_clean(handle)


async def test_streak_bonus_over_four_consecutive_local_weeks(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, streak=StreakEntry(weeks=4, bonus=10)))
    ids = await member_ids(handle)
    alice, staff = ids["alice"], ids["staff"]

    async def attend(member: int, week: int, source: str, *, hour: int = 2) -> int:
        # Wednesday of the given week (week 0: 2026-07-01), `hour` UTC (+8 local).
        when = utc(2026, 7, 1, hour) + (utc(2026, 7, 8) - utc(2026, 7, 1)) * week
        clock.set(when)
        result = await record(handle, RecordActivity(CHECK_IN, source, member, occurred_at=when))
        assert result.outcome == "awarded"
        return result.points

    assert [await attend(alice, w, f"a:{w}") for w in range(4)] == [5, 5, 5, 15]
    # A second award in the week that completed the run adds no second bonus.
    assert await attend(alice, 3, "a:3b", hour=5) == 5
    # The run starts again after a bonus: the next one needs four more weeks.
    assert [await attend(alice, w, f"a:{w}") for w in range(4, 8)] == [5, 5, 5, 15]

    # A week without an award breaks the run.
    staff_weeks = [0, 1, 3, 4, 5, 6]
    assert [await attend(staff, w, f"s:{w}") for w in staff_weeks] == [5, 5, 5, 5, 5, 15]

    mine = await statement(handle, alice)
    bonuses = [(e.delta, e.bonus) for e in mine.entries if e.bonus]
    assert bonuses == [(15, 10), (15, 10)]
    assert mine.balance == 9 * 5 + 2 * 10
    await assert_ledger_clean(handle)


async def test_streak_weeks_are_local_iso_weeks(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, streak=StreakEntry(weeks=2, bonus=3)))
    alice = (await member_ids(handle))["alice"]

    async def attend(when: datetime, source: str) -> int:
        clock.set(when)
        result = await record(handle, RecordActivity(CHECK_IN, source, alice, occurred_at=when))
        return result.points

    # Sunday 2026-07-05 23:59 local, then Monday 2026-07-06 00:00 local: consecutive weeks,
    # though both are Sunday in UTC.
    assert await attend(utc(2026, 7, 5, 15, 59), "a:1") == 5
    assert await attend(utc(2026, 7, 5, 16, 0), "a:2") == 8
    await assert_ledger_clean(handle)


async def test_campaign_multiplier_applies_inside_its_window_only(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    july_first = CampaignEntry(
        multiplier=2,
        starts=datetime.fromisoformat("2026-07-01T00:00:00+08:00"),
        ends=datetime.fromisoformat("2026-07-02T00:00:00+08:00"),
    )
    half_more = CampaignEntry(
        multiplier=1.5,
        starts=datetime.fromisoformat("2026-08-01T00:00:00+08:00"),
        ends=datetime.fromisoformat("2026-08-02T00:00:00+08:00"),
    )
    await define(handle, rule("challenge", "event.attended", points=5, campaigns=(july_first,)))
    await define(handle, rule("lecture", "club.joined", points=5, campaigns=(half_more,)))
    alice = (await member_ids(handle))["alice"]

    async def attend(when: datetime, source: str, kind: str = "event.attended") -> int:
        clock.set(when)
        result = await record(handle, RecordActivity(kind, source, alice, occurred_at=when))
        assert result.outcome == "awarded"
        return result.points

    assert await attend(utc(2026, 6, 30, 15, 59), "e:1") == 5  # 06-30 23:59 local
    assert await attend(utc(2026, 6, 30, 16, 0), "e:2") == 10  # starts, inclusive
    assert await attend(utc(2026, 7, 1, 15, 59), "e:3") == 10
    assert await attend(utc(2026, 7, 1, 16, 0), "e:4") == 5  # ends, exclusive
    # 5 × 1.5 = 7.5, rounded half away from zero.
    assert await attend(utc(2026, 7, 31, 16, 0), "j:1", "club.joined") == 8
    assert await balance(handle, alice) == 5 + 10 + 10 + 5 + 8
    await assert_ledger_clean(handle)


async def test_approval_required_awards_wait_for_a_decision(community: Pair) -> None:
    huarong, handle = community
    await define(
        handle,
        rule(
            "reflection",
            "library.reflection_approved",
            points=8,
            approval=True,
            caps=CapsEntry(month=1),
        ),
    )
    alice = (await member_ids(handle))["alice"]
    admin = await actor_for(handle, "admin")

    def reflection(source: str) -> RecordActivity:
        return RecordActivity("library.reflection_approved", source, alice)

    first = await record(handle, reflection("r:1"))
    assert (first.outcome, first.points) == ("pending", 8)
    assert first.entry_id is not None
    assert await balance(handle, alice) == 0
    [waiting] = await handle.execute(ListPendingAwards(), actor=SYSTEM)
    assert (waiting.id, waiting.member_id, waiting.points, waiting.status) == (
        first.entry_id,
        alice,
        8,
        "pending",
    )
    # A pending award counts toward caps; the same source is still a duplicate.
    capped = await record(handle, reflection("r:2"))
    assert (capped.outcome, capped.reason) == ("skipped", "cap_month")
    assert (await record(handle, reflection("r:1"))).outcome == "duplicate"

    with pytest.raises(PermissionDenied):
        await handle.execute(
            DecidePendingAward(first.entry_id, approve=True),
            actor=await actor_for(handle, "alice"),
        )
    rejected = await handle.execute(
        DecidePendingAward(first.entry_id, approve=False, note="copied"), actor=admin
    )
    assert (rejected.status, rejected.decided_by, rejected.note) == (
        "rejected",
        admin.label,
        "copied",
    )
    assert await balance(handle, alice) == 0

    # A rejected award no longer counts toward the cap.
    second = await record(handle, reflection("r:3"))
    assert second.outcome == "pending"
    assert second.entry_id is not None
    approved = await handle.execute(DecidePendingAward(second.entry_id, approve=True), actor=admin)
    assert approved.status == "approved"
    mine = await statement(handle, alice)
    assert mine.balance == 8
    assert [(e.kind, e.delta, e.rule_key, e.source_id) for e in mine.entries] == [
        ("award", 8, "reflection", "r:3")
    ]

    # Deciding twice is refused and changes nothing.
    before = await snapshot(huarong.db)
    for pending_id in (first.entry_id, second.entry_id):
        for approve in (True, False):
            with pytest.raises(InvalidValue):
                await handle.execute(DecidePendingAward(pending_id, approve=approve), actor=admin)
    with pytest.raises(NotFound):
        await handle.execute(DecidePendingAward(999, approve=True), actor=admin)
    assert await snapshot(huarong.db) == before
    assert await handle.execute(ListPendingAwards(), actor=SYSTEM) == ()
    assert [p.id for p in await handle.execute(ListPendingAwards("rejected"), actor=SYSTEM)] == [
        first.entry_id
    ]
    audit = await handle.execute(ListAuditEntries(), actor=SYSTEM)
    assert {"points.pending.rejected", "points.pending.approved"} <= {e.action for e in audit}
    await assert_ledger_clean(handle)


async def test_a_streak_bonus_waiting_for_approval_still_restarts_the_run(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    reflection = "library.reflection_approved"
    await define(
        handle,
        rule("reflection", reflection, points=5, approval=True, streak=StreakEntry(2, 3)),
    )
    alice = (await member_ids(handle))["alice"]

    async def week(number: int, *sources: str) -> list[int]:
        clock.set(utc(2026, 7, 1, 2) + (utc(2026, 7, 8) - utc(2026, 7, 1)) * number)
        results = [await record(handle, RecordActivity(reflection, s, alice)) for s in sources]
        assert all(r.outcome == "pending" for r in results)
        return [r.points for r in results]

    async def approve_all() -> None:
        for waiting in await handle.execute(ListPendingAwards(), actor=SYSTEM):
            await handle.execute(DecidePendingAward(waiting.id, approve=True), actor=SYSTEM)

    assert await week(0, "r:0") == [5]
    await approve_all()
    # Two in the week that completes the run, both still waiting: one bonus.
    assert await week(1, "r:1a", "r:1b") == [8, 5]
    await approve_all()
    # The run starts again after the bonus, approved or not.
    assert await week(2, "r:2") == [5]
    await approve_all()
    assert await week(3, "r:3") == [8]
    await approve_all()
    mine = await statement(handle, alice)
    assert [(e.delta, e.bonus) for e in mine.entries] == [
        (8, 3),
        (5, 0),
        (5, 0),
        (8, 3),
        (5, 0),
    ]
    await assert_ledger_clean(handle)


async def test_a_manual_rule_cannot_wait_for_approval(community: Pair) -> None:
    """A manual award is given by hand, on purpose; it answers with the ledger line it wrote."""
    huarong, handle = community
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as refused:
        await define(handle, rule("commendation", "manual", points=30, approval=True))
    assert (refused.value.field, refused.value.reason) == ("approval", "not_for_manual")
    assert await snapshot(huarong.db) == before


async def test_expiry_takes_exactly_what_is_left_and_spending_uses_soonest_expiring_first(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    await define(
        handle,
        rule("donation", "library.book_donated", points=10, expires_after_months=12),
        rule("lecture", "event.attended", points=10, expires_after_months=1),
    )
    alice = (await member_ids(handle))["alice"]

    # The long-lived points are earned first, the short-lived an hour later.
    clock.set(utc(2026, 7, 1, 9, 0))
    long = await record(handle, RecordActivity("library.book_donated", "d:1", alice))
    clock.set(utc(2026, 7, 1, 10, 0))
    short = await record(handle, RecordActivity("event.attended", "e:1", alice))
    await handle.execute(AwardPoints(alice, 5, reason="welcome"), actor=SYSTEM)
    assert long.entry_id is not None
    assert short.entry_id is not None
    short_expiry = utc(2026, 8, 1, 10, 0)  # one calendar month later, same wall time
    long_expiry = utc(2027, 7, 1, 9, 0)

    assert (await statement(handle, alice)).expiring == ()  # 31 days away
    soon = await statement(handle, alice, expiring_within_days=31)
    assert soon.expiring == (Lot(short.entry_id, utc(2026, 7, 1, 10, 0), 10, short_expiry),)

    # Spending takes the soonest-expiring points, not the oldest.
    await handle.execute(AwardPoints(alice, -6, reason="correction"), actor=SYSTEM)
    assert await balance(handle, alice) == 19
    soon = await statement(handle, alice, expiring_within_days=31)
    assert soon.expiring == (Lot(short.entry_id, utc(2026, 7, 1, 10, 0), 4, short_expiry),)

    clock.set(utc(2026, 8, 1, 9, 59, 59))
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 0
    clock.set(short_expiry)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 4
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 0
    mine = await statement(handle, alice)
    assert mine.balance == 15
    assert mine.score == 10 + 10 + 5 - 6  # expiry does not undo what was earned
    newest = mine.entries[0]
    assert (newest.kind, newest.delta, newest.balance_after) == ("expire", -4, 15)

    clock.set(long_expiry)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 10
    assert await balance(handle, alice) == 5  # the manual points never expire
    await assert_ledger_clean(handle)
    audit = await handle.execute(ListAuditEntries(action="points.expire"), actor=SYSTEM)
    assert [e.details["points"] for e in audit] == [10, 4]


async def test_a_penalty_never_drives_the_balance_below_zero(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("no_show", "salon.no_show", points=-3))
    alice = (await member_ids(handle))["alice"]
    await handle.execute(AwardPoints(alice, 2, reason="first visit"), actor=SYSTEM)

    first = await record(handle, RecordActivity("salon.no_show", "n:1", alice))
    assert (first.outcome, first.points) == ("awarded", -2)
    assert await balance(handle, alice) == 0
    second = await record(handle, RecordActivity("salon.no_show", "n:2", alice))
    assert second.points == 0
    mine = await statement(handle, alice)
    assert mine.balance == 0
    assert all(e.balance_after is not None and e.balance_after >= 0 for e in mine.entries)
    await assert_ledger_clean(handle)


# --- manual awards ------------------------------------------------------------------------


async def test_manual_awards_need_a_reason_and_the_right_to_manage_points(
    community: Pair,
) -> None:
    huarong, handle = community
    ids = await member_ids(handle)
    alice = ids["alice"]
    before = await snapshot(huarong.db)
    with pytest.raises(PermissionDenied):
        await handle.execute(
            AwardPoints(alice, 50, reason="for myself"), actor=await actor_for(handle, "alice")
        )
    for reason in ("", "   "):
        with pytest.raises(InvalidValue):
            await handle.execute(AwardPoints(alice, 5, reason=reason), actor=SYSTEM)
    with pytest.raises(InvalidValue):
        await handle.execute(AwardPoints(alice, 0, reason="nothing"), actor=SYSTEM)
    with pytest.raises(NotFound):
        await handle.execute(AwardPoints(999, 5, reason="nobody"), actor=SYSTEM)
    assert await snapshot(huarong.db) == before

    staff = await actor_for(handle, "staff")  # station staff manage points
    entry = await handle.execute(AwardPoints(alice, 12, reason="  helped  "), actor=staff)
    assert (entry.member_id, entry.delta, entry.kind, entry.reason, entry.actor) == (
        alice,
        12,
        "manual",
        "helped",
        staff.label,
    )
    [logged] = await handle.execute(ListAuditEntries(action="points.manual"), actor=SYSTEM)
    assert (logged.actor, logged.target) == (staff, f"member:{alice}")
    assert logged.details["reason"] == "helped"
    assert await balance(handle, alice) == 12
    await assert_ledger_clean(handle)


async def test_a_deduction_beyond_the_balance_is_refused_and_changes_nothing(
    community: Pair,
) -> None:
    huarong, handle = community
    alice = (await member_ids(handle))["alice"]
    await handle.execute(AwardPoints(alice, 10, reason="start"), actor=SYSTEM)
    before = await snapshot(huarong.db)
    with pytest.raises(InsufficientPoints) as refused:
        await handle.execute(AwardPoints(alice, -11, reason="too much"), actor=SYSTEM)
    assert (refused.value.member_id, refused.value.needed, refused.value.balance) == (
        alice,
        11,
        10,
    )
    assert await snapshot(huarong.db) == before
    entry = await handle.execute(AwardPoints(alice, -10, reason="all of it"), actor=SYSTEM)
    assert entry.delta == -10
    assert await balance(handle, alice) == 0
    await assert_ledger_clean(handle)


async def test_a_manual_award_beyond_a_million_is_refused_by_name(community: Pair) -> None:
    """Far above any real award, and far from overflowing a balance on either database."""
    huarong, handle = community
    alice = (await member_ids(handle))["alice"]
    before = await snapshot(huarong.db)
    for points in (1_000_001, -(2**62), 2**70):
        with pytest.raises(InvalidValue) as refused:
            await handle.execute(AwardPoints(alice, points, reason="typo"), actor=SYSTEM)
        assert (refused.value.field, refused.value.reason) == ("points", "out_of_range")
    assert await snapshot(huarong.db) == before
    assert (
        await handle.execute(AwardPoints(alice, 1_000_000, reason="big day"), actor=SYSTEM)
    ).delta == 1_000_000


async def test_a_manual_rule_keeps_its_limits(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    await define(
        handle,
        rule("pioneer", "manual", points=30, caps=CapsEntry(year=1)),
        rule("salon", points=5),
    )
    alice = (await member_ids(handle))["alice"]
    entry = await handle.execute(
        AwardPoints(alice, 0, reason="pioneer post", rule="pioneer"), actor=SYSTEM
    )
    assert (entry.delta, entry.kind, entry.rule_key) == (30, "award", "pioneer")
    clock.advance(minutes=1)
    with pytest.raises(AwardSkipped) as skipped:
        await handle.execute(AwardPoints(alice, 0, reason="again", rule="pioneer"), actor=SYSTEM)
    assert skipped.value.reason == "cap_year"
    with pytest.raises(NotFound):
        await handle.execute(AwardPoints(alice, 0, reason="wrong", rule="salon"), actor=SYSTEM)
    assert await balance(handle, alice) == 30
    await assert_ledger_clean(handle)


# --- statements and amounts -----------------------------------------------------------------


async def test_statement_runs_newest_first_with_the_balance_after_each_line(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, expires_after_months=1))
    ids = await member_ids(handle)
    alice = ids["alice"]
    await handle.execute(AwardPoints(alice, 10, reason="welcome"), actor=SYSTEM)
    clock.advance(days=5)
    award = await record(handle, RecordActivity(CHECK_IN, "c:1", alice))
    await handle.execute(AwardPoints(alice, -3, reason="fix"), actor=SYSTEM)
    await handle.execute(AwardPoints(ids["staff"], 4, reason="someone else"), actor=SYSTEM)
    assert award.entry_id is not None

    clock.advance(days=10)
    mine = await statement(handle, alice)
    assert (mine.member_id, mine.balance, mine.score) == (alice, 12, 12)
    assert [(e.kind, e.delta, e.balance_after) for e in mine.entries] == [
        ("manual", -3, 12),
        ("award", 5, 15),
        ("manual", 10, 10),
    ]
    # The award's lot, after the deduction took from it (it expires soonest).
    assert mine.expiring == (Lot(award.entry_id, utc(2026, 7, 6, 9, 0), 2, utc(2026, 8, 6, 9, 0)),)
    page = await statement(handle, alice, limit=1, before_id=mine.entries[0].id)
    assert [(e.delta, e.balance_after) for e in page.entries] == [(5, 15)]

    # Members read their own statement, not other people's.
    own = await handle.execute(GetPointsStatement(alice), actor=await actor_for(handle, "alice"))
    assert own.balance == 12
    with pytest.raises(PermissionDenied):
        await handle.execute(
            GetPointsStatement(ids["staff"]), actor=await actor_for(handle, "alice")
        )


async def test_per_unit_points_for_volunteer_hours(community: Pair) -> None:
    huarong, handle = community
    await define(handle, rule("volunteering", "volunteer.hours_confirmed", per_unit=4))
    alice = (await member_ids(handle))["alice"]

    def hours(source: str, units: str) -> RecordActivity:
        return RecordActivity("volunteer.hours_confirmed", source, alice, units=units)

    assert (await record(handle, hours("v:1", "2.5"))).points == 10
    assert (await record(handle, hours("v:2", "2.6"))).points == 10  # 10.4, truncated
    tiny = await record(handle, hours("v:3", "0.1"))
    assert (tiny.outcome, tiny.reason) == ("skipped", "zero_points")
    before = await snapshot(huarong.db)
    for bad in ("two", "-1"):
        with pytest.raises(InvalidValue):
            await handle.execute(hours("v:4", bad), actor=SYSTEM)
    assert await snapshot(huarong.db) == before
    assert await balance(handle, alice) == 20
    await assert_ledger_clean(handle)


async def test_point_caps_clip_an_award_to_what_is_left(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    await define(
        handle,
        rule(
            "volunteering", "volunteer.hours_confirmed", per_unit=4, point_caps=CapsEntry(month=20)
        ),
    )
    alice = (await member_ids(handle))["alice"]

    async def hours(source: str, units: str, when: datetime) -> AwardResult:
        clock.set(when)
        activity = RecordActivity(
            "volunteer.hours_confirmed", source, alice, units=units, occurred_at=when
        )
        return await record(handle, activity)

    assert (await hours("v:1", "3", utc(2026, 7, 2))).points == 12
    assert (await hours("v:2", "3", utc(2026, 7, 10))).points == 8  # clipped to the 20 cap
    full = await hours("v:3", "1", utc(2026, 7, 31, 15, 59))  # 07-31 23:59 local
    assert (full.outcome, full.reason) == ("skipped", "point_cap_month")
    # 16:00 UTC on 07-31 is August in Shanghai: a new month.
    assert (await hours("v:4", "3", utc(2026, 7, 31, 16, 0))).points == 12
    assert await balance(handle, alice) == 32
    await assert_ledger_clean(handle)


async def test_record_activities_in_one_batch(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5, caps=CapsEntry(day=2)))
    ids = await member_ids(handle)
    alice, staff = ids["alice"], ids["staff"]
    batch = RecordActivities(
        (
            RecordActivity(CHECK_IN, "b:1", alice),
            RecordActivity(CHECK_IN, "b:1", alice),
            RecordActivity(CHECK_IN, "b:2", alice),
            RecordActivity(CHECK_IN, "b:3", alice),
            RecordActivity(CHECK_IN, "b:4", staff),
        )
    )
    results = await handle.execute(batch, actor=SYSTEM)
    assert [(r.outcome, r.reason) for [r] in results] == [
        ("awarded", None),
        ("duplicate", None),
        ("awarded", None),
        ("skipped", "cap_day"),
        ("awarded", None),
    ]
    assert await balance(handle, alice) == 10
    assert await balance(handle, staff) == 5
    with pytest.raises(PermissionDenied):
        await handle.execute(batch, actor=await actor_for(handle, "alice"))
    await assert_ledger_clean(handle)


# --- defining rules -------------------------------------------------------------------------


async def test_defining_and_disabling_rules_is_audited_and_disabled_rules_award_nothing(
    community: Pair,
) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")
    alice = (await member_ids(handle))["alice"]
    salon = rule("salon", points=5)
    for outsider in ("alice", "staff"):  # staff of one station do not define rules
        with pytest.raises(PermissionDenied):
            await handle.execute(DefinePointsRule(salon), actor=await actor_for(handle, outsider))
    defined = await handle.execute(DefinePointsRule(salon), actor=admin)
    assert (defined.key, defined.points, defined.enabled) == ("salon", 5, True)

    disabled = await handle.execute(SetPointsRuleEnabled("salon", False), actor=admin)
    assert disabled.enabled is False
    [listed] = await handle.execute(ListPointsRules(), actor=SYSTEM)
    assert (listed.key, listed.enabled) == ("salon", False)
    # A disabled rule is not evaluated at all: the activity earns nothing.
    assert await handle.execute(RecordActivity(CHECK_IN, "c:1", alice), actor=SYSTEM) == ()
    assert await balance(handle, alice) == 0

    await handle.execute(SetPointsRuleEnabled("salon", True), actor=admin)
    assert (await record(handle, RecordActivity(CHECK_IN, "c:2", alice))).outcome == "awarded"
    # Redefining with other points changes the rule from then on.
    await handle.execute(DefinePointsRule(rule("salon", points=7)), actor=admin)
    assert (await record(handle, RecordActivity(CHECK_IN, "c:3", alice))).points == 7

    saves = await handle.execute(ListAuditEntries(action="points.rule.save"), actor=SYSTEM)
    assert [(e.actor, e.target, e.details["created"]) for e in saves] == [
        (admin, "rule:salon", False),
        (admin, "rule:salon", False),
        (admin, "rule:salon", False),
        (admin, "rule:salon", True),
    ]
    with pytest.raises(NotFound):
        await handle.execute(SetPointsRuleEnabled("nope", False), actor=admin)
    with pytest.raises(InvalidValue):
        await handle.execute(
            DefinePointsRule(rule("bad", "salon.teleported", points=1)), actor=admin
        )
    await assert_ledger_clean(handle)


# --- the community file -----------------------------------------------------------------------

RULES = """
[points]
season = "quarter"

[[points.rules]]
key = "salon"
name = { zh_CN = "参加沙龙", en = "Salon attendance" }
trigger = "salon.checked_in"
points = 5
once_per_target = true
caps = { day = 2, month = 12 }
streak = { weeks = 4, bonus = 10 }
expires_after_months = 12

[[points.rules]]
key = "volunteering"
name = { zh_CN = "志愿服务", en = "Volunteering" }
trigger = "volunteer.hours_confirmed"
per_unit = 4
point_caps = { month = 80 }

[[points.rules.campaigns]]
multiplier = 2
starts = 2026-07-01T00:00:00+08:00
ends = 2026-07-02T00:00:00+08:00
"""

NO_SHOW = """
[[points.rules]]
key = "no_show"
name = { zh_CN = "报名未到场", en = "No-show" }
trigger = "salon.no_show"
points = -3
"""

ITEMS = """
[[shop.items]]
key = "tea_cup"
name = { zh_CN = "茶杯", en = "Tea cup" }
price = 60
stock = 40
limit = { count = 1, period = "month" }
station = "service"
"""


async def load(pair: Pair, text: str) -> int:
    huarong, _ = pair
    report = await huarong.apply_configuration(parse_config(text), actor=SYSTEM)
    return report.changes


async def test_reloading_the_file_changes_nothing(community: Pair, clock: FrozenClock) -> None:
    huarong, handle = community
    text = SAMPLE_COMMUNITY + RULES + NO_SHOW + ITEMS
    assert await load(community, text) == 4
    rules = await handle.execute(ListPointsRules(), actor=SYSTEM)
    assert [(r.key, r.enabled) for r in rules] == [
        ("no_show", True),
        ("salon", True),
        ("volunteering", True),
    ]
    before = await snapshot(huarong.db)
    clock.advance(days=1)
    assert await load(community, text) == 0
    assert await snapshot(huarong.db) == before
    # The loaded rules work as written.
    alice = (await member_ids(handle))["alice"]
    activity = RecordActivity("volunteer.hours_confirmed", "v:1", alice, units="1.5")
    assert (await record(handle, activity)).points == 6
    # The campaign came from the file too: 07-01 in Shanghai counts double.
    on_july_first = RecordActivity(
        "volunteer.hours_confirmed", "v:2", alice, units="1.5", occurred_at=utc(2026, 7, 1, 15, 0)
    )
    assert (await record(handle, on_july_first)).points == 12


async def test_a_rule_removed_from_the_file_is_disabled(community: Pair) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")
    await handle.execute(DefinePointsRule(rule("by_hand", "club.joined", points=2)), actor=admin)
    assert await load(community, SAMPLE_COMMUNITY + RULES + NO_SHOW) == 3
    alice = (await member_ids(handle))["alice"]

    assert await load(community, SAMPLE_COMMUNITY + RULES) == 1
    rules = {r.key: r.enabled for r in await handle.execute(ListPointsRules(), actor=SYSTEM)}
    # A rule defined by hand is not the file's to disable.
    assert rules == {"by_hand": True, "no_show": False, "salon": True, "volunteering": True}
    no_show = RecordActivity("salon.no_show", "n:1", alice)
    assert await handle.execute(no_show, actor=SYSTEM) == ()
    assert await load(community, SAMPLE_COMMUNITY + RULES) == 0

    # Listed again, it comes back.
    assert await load(community, SAMPLE_COMMUNITY + RULES + NO_SHOW) == 1
    await handle.execute(AwardPoints(alice, 5, reason="start"), actor=SYSTEM)
    assert (await record(handle, RecordActivity("salon.no_show", "n:2", alice))).points == -3
    await assert_ledger_clean(handle)


async def test_member_actors_are_checked(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5))
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    with pytest.raises(PermissionDenied):
        await handle.execute(RecordActivity(CHECK_IN, "c:1", alice.member_id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ExpirePoints(), actor=alice)
    ghost = Actor.member(999, "Ghost")
    with pytest.raises(NotFound):
        await handle.execute(RecordActivity(CHECK_IN, "c:1", alice.member_id), actor=ghost)
    assert await balance(handle, alice.member_id) == 0


async def test_a_manual_award_sent_twice_with_one_source_is_one_award(community: Pair) -> None:
    _, handle = community
    alice = (await member_ids(handle))["alice"]
    award = AwardPoints(alice, 7, "helped at the book drive", source_id="form:91")
    first = await handle.execute(award, actor=SYSTEM)
    again = await handle.execute(award, actor=SYSTEM)
    assert again.id == first.id
    statement = await handle.execute(GetPointsStatement(alice), actor=SYSTEM)
    assert statement.balance == 7
