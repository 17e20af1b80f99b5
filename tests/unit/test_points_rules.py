"""The points-rule engine: local periods, rule validation, decisions, expiry and lots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.domain.points import (
    KNOWN_TRIGGERS,
    MANUAL_TRIGGER,
    Campaign,
    Decision,
    Lot,
    MemberFacts,
    Outcome,
    Period,
    Rule,
    RuleFilters,
    RuleHistory,
    Streak,
    Trigger,
    consume_oldest_first,
    evaluate,
    expired_amount,
    expiring_soon,
    expiry_for,
    period_bounds,
    period_start,
    week_index,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import InvalidValue

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")  # clocks jump from 00:00 to 01:00: some days have no midnight
NAME = LocalizedText({"zh_CN": "沙龙签到", "en": "Salon check-in"})
# Wednesday 2024-05-15, 10:00 in Shanghai.
T0 = datetime(2024, 5, 15, 2, 0, tzinfo=UTC)
MEMBER = MemberFacts(member_id=7, categories=frozenset({"party_member"}))


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_rule(**overrides: Any) -> Rule:
    fields: dict[str, Any] = {
        "key": "salon_check_in",
        "name": NAME,
        "trigger": "salon.checked_in",
        "points": 10,
    }
    return Rule(**(fields | overrides))


def make_trigger(**overrides: Any) -> Trigger:
    fields: dict[str, Any] = {
        "kind": "salon.checked_in",
        "source_id": "salon.checked_in:1",
        "member_id": 7,
        "occurred_at": T0,
    }
    return Trigger(**(fields | overrides))


def decide(
    rule: Rule,
    trigger: Trigger | None = None,
    history: RuleHistory | None = None,
    member: MemberFacts = MEMBER,
) -> Decision:
    return evaluate(rule, trigger or make_trigger(), member, history or RuleHistory(), SHANGHAI)


def reason_of(error: pytest.ExceptionInfo[InvalidValue]) -> tuple[str, str]:
    return error.value.field, error.value.reason


# --- periods ------------------------------------------------------------------


def test_shanghai_day_ends_at_16_utc() -> None:
    before = datetime(2024, 5, 15, 15, 59, tzinfo=UTC)  # 23:59 on the 15th in Shanghai
    after = datetime(2024, 5, 15, 16, 0, tzinfo=UTC)  # 00:00 on the 16th
    assert period_start(before, SHANGHAI, Period.DAY) == datetime(2024, 5, 14, 16, tzinfo=UTC)
    assert period_start(after, SHANGHAI, Period.DAY) == after
    assert period_bounds(before, SHANGHAI, Period.DAY) == (
        datetime(2024, 5, 14, 16, tzinfo=UTC),
        after,
    )


def test_periods_are_returned_in_utc() -> None:
    start, end = period_bounds(shanghai(2024, 5, 15, 10), SHANGHAI, Period.MONTH)
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC


def test_iso_week_starts_on_monday_local() -> None:
    sunday_night = shanghai(2024, 5, 19, 23, 59)
    monday_morning = shanghai(2024, 5, 20, 0, 0)
    assert period_bounds(sunday_night, SHANGHAI, Period.WEEK) == (
        shanghai(2024, 5, 13).astimezone(UTC),
        monday_morning.astimezone(UTC),
    )
    assert period_start(monday_morning, SHANGHAI, Period.WEEK) == monday_morning
    assert week_index(monday_morning, SHANGHAI) == week_index(sunday_night, SHANGHAI) + 1


def test_iso_week_across_the_year_end() -> None:
    # 2025-01-01 is a Wednesday in ISO week 1 of 2025, which began on Monday 2024-12-30.
    new_year = shanghai(2025, 1, 1, 9)
    assert period_start(new_year, SHANGHAI, Period.WEEK) == shanghai(2024, 12, 30).astimezone(UTC)
    assert week_index(new_year, SHANGHAI) == week_index(shanghai(2024, 12, 30), SHANGHAI)
    assert week_index(new_year, SHANGHAI) == week_index(shanghai(2024, 12, 29), SHANGHAI) + 1


def test_week_index_runs_on_over_a_53_week_year() -> None:
    # 2020 has an ISO week 53 (28 Dec 2020 – 3 Jan 2021); its neighbours are one apart.
    week_52 = shanghai(2020, 12, 21, 12)
    week_53 = shanghai(2020, 12, 28, 12)
    week_1 = shanghai(2021, 1, 4, 12)
    assert week_53.isocalendar().week == 53
    assert week_index(week_53, SHANGHAI) - week_index(week_52, SHANGHAI) == 1
    assert week_index(week_1, SHANGHAI) - week_index(week_53, SHANGHAI) == 1


def test_week_index_follows_the_local_calendar() -> None:
    # Sunday 16:00 UTC is already Monday in Shanghai, still Sunday in New York.
    instant = datetime(2024, 5, 19, 16, 0, tzinfo=UTC)
    before = instant - timedelta(minutes=1)
    assert week_index(instant, SHANGHAI) == week_index(before, SHANGHAI) + 1
    assert week_index(instant, NEW_YORK) == week_index(before, NEW_YORK)


def test_month_and_year_bounds() -> None:
    leap = shanghai(2024, 2, 29, 23, 30)
    assert period_bounds(leap, SHANGHAI, Period.MONTH) == (
        datetime(2024, 1, 31, 16, tzinfo=UTC),
        datetime(2024, 2, 29, 16, tzinfo=UTC),
    )
    december = shanghai(2024, 12, 31, 23, 59)
    assert period_bounds(december, SHANGHAI, Period.MONTH)[1] == shanghai(2025, 1, 1).astimezone(
        UTC
    )
    assert period_bounds(december, SHANGHAI, Period.YEAR) == (
        datetime(2023, 12, 31, 16, tzinfo=UTC),
        datetime(2024, 12, 31, 16, tzinfo=UTC),
    )


def test_new_york_days_around_daylight_saving() -> None:
    spring = datetime(2024, 3, 10, 12, tzinfo=NEW_YORK)
    start, end = period_bounds(spring, NEW_YORK, Period.DAY)
    assert (start, end) == (
        datetime(2024, 3, 10, 5, tzinfo=UTC),  # midnight EST
        datetime(2024, 3, 11, 4, tzinfo=UTC),  # midnight EDT
    )
    assert end - start == timedelta(hours=23)
    autumn = datetime(2024, 11, 3, 12, tzinfo=NEW_YORK)
    start, end = period_bounds(autumn, NEW_YORK, Period.DAY)
    assert end - start == timedelta(hours=25)
    week_start, week_end = period_bounds(spring, NEW_YORK, Period.WEEK)
    assert week_start == datetime(2024, 3, 4, 5, tzinfo=UTC)
    assert week_end - week_start == timedelta(days=7, hours=-1)
    assert period_bounds(spring, NEW_YORK, Period.MONTH) == (
        datetime(2024, 3, 1, 5, tzinfo=UTC),
        datetime(2024, 4, 1, 4, tzinfo=UTC),
    )


def test_day_without_a_midnight_starts_when_the_clocks_jump() -> None:
    # Havana, 2024-03-10: at 00:00 CST the clocks read 01:00 CDT.
    start = period_start(datetime(2024, 3, 10, 12, tzinfo=HAVANA), HAVANA, Period.DAY)
    assert start == datetime(2024, 3, 10, 5, tzinfo=UTC)
    assert start.astimezone(HAVANA).date() == date(2024, 3, 10)
    previous = period_bounds(datetime(2024, 3, 9, 23, 59, tzinfo=HAVANA), HAVANA, Period.DAY)
    assert previous[1] == start


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 5, 15, 10)
    with pytest.raises(ValueError, match="aware"):
        period_start(naive, SHANGHAI, Period.DAY)
    with pytest.raises(ValueError, match="aware"):
        period_bounds(naive, SHANGHAI, Period.DAY)
    with pytest.raises(ValueError, match="aware"):
        week_index(naive, SHANGHAI)
    with pytest.raises(ValueError, match="aware"):
        make_trigger(occurred_at=naive)


# --- rule validation --------------------------------------------------------------


def test_a_valid_rule_keeps_its_settings() -> None:
    rule = make_rule(
        caps={"day": 1, Period.WEEK: 3},
        point_caps={Period.MONTH: 100},
        filters=RuleFilters(categories=["party_member"], tags=("red",)),
        campaigns=[Campaign("2", T0, T0 + timedelta(days=1))],
    )
    assert dict(rule.caps) == {Period.DAY: 1, Period.WEEK: 3}
    assert rule.caps == {Period.WEEK: 3, Period.DAY: 1}
    assert list(rule.caps) == [Period.DAY, Period.WEEK]
    assert rule.point_caps[Period.MONTH] == 100
    assert Period.YEAR not in rule.point_caps
    assert rule.filters.categories == frozenset({"party_member"})
    assert rule.filters.tags == frozenset({"red"})
    assert isinstance(rule.campaigns, tuple)
    assert rule.campaigns[0].multiplier == Fraction(2)


def test_rules_are_immutable_hashable_values() -> None:
    one = make_rule(caps={Period.DAY: 1, Period.WEEK: 2})
    two = make_rule(caps={Period.WEEK: 2, Period.DAY: 1})
    assert one == two
    assert hash(one) == hash(two)
    assert one != make_rule(caps={Period.DAY: 2, Period.WEEK: 2})
    with pytest.raises(TypeError):
        one.caps[Period.DAY] = 5  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        one.points = 3  # type: ignore[misc]


def test_caps_are_copied_from_what_the_caller_passed() -> None:
    caps = {Period.DAY: 1}
    rule = make_rule(caps=caps)
    caps[Period.DAY] = 50
    assert rule.caps[Period.DAY] == 1


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"key": "Bad Key"}, "key", "bad_key"),
        ({"trigger": "salon.danced"}, "trigger", "unknown_trigger"),
        ({"caps": {Period.DAY: -1}}, "caps", "negative_cap"),
        ({"caps": {"fortnight": 1}}, "caps", "unknown_period"),
        ({"point_caps": {Period.YEAR: -5}}, "point_caps", "negative_cap"),
        ({"cooldown": timedelta(seconds=-1)}, "cooldown", "negative_cooldown"),
        ({"expires_after_months": 0}, "expires_after_months", "bad_expiry"),
        ({"points": 0}, "points", "no_points"),
        ({"per_unit": 0}, "points", "no_points"),
        ({"points": 1_000_001}, "points", "out_of_range"),
        ({"points": -1_000_001}, "points", "out_of_range"),
        ({"points": 0, "per_unit": 2**40}, "per_unit", "out_of_range"),
        (
            {"trigger": MANUAL_TRIGGER, "streak": Streak(weeks=4, bonus=10)},
            "streak",
            "not_for_manual",
        ),
        ({"trigger": MANUAL_TRIGGER, "once_per_target": True}, "once_per_target", "not_for_manual"),
    ],
)
def test_invalid_rules_are_refused(overrides: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as error:
        make_rule(**overrides)
    assert reason_of(error) == (field, reason)


def test_a_zero_cap_is_allowed_and_so_is_a_zero_cooldown() -> None:
    rule = make_rule(caps={Period.DAY: 0}, cooldown=timedelta(0))
    assert decide(rule).reason == "cap_day"


def test_points_per_unit_alone_are_enough() -> None:
    rule = make_rule(points=0, per_unit=10, trigger="volunteer.hours_confirmed")
    assert rule.per_unit == 10


def test_manual_rules_may_have_caps_and_negative_points() -> None:
    rule = make_rule(trigger=MANUAL_TRIGGER, points=-20, caps={Period.DAY: 1})
    assert rule.trigger in KNOWN_TRIGGERS


@pytest.mark.parametrize(("weeks", "bonus"), [(1, 10), (0, 10), (4, -1), (4, 2**40), (10**6, 5)])
def test_bad_streaks_are_refused(weeks: int, bonus: int) -> None:
    with pytest.raises(InvalidValue) as error:
        Streak(weeks=weeks, bonus=bonus)
    assert reason_of(error) == ("streak", "bad_streak")


def test_a_streak_without_bonus_points_is_allowed() -> None:
    assert Streak(weeks=2, bonus=0).bonus == 0


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        (2, Fraction(2)),
        (1.1, Fraction(11, 10)),  # as written, not the nearest binary float
        ("1.5", Fraction(3, 2)),
        ("3/2", Fraction(3, 2)),
        (Decimal("1.25"), Fraction(5, 4)),
        (Fraction(1, 3), Fraction(1, 3)),
    ],
)
def test_campaign_multiplier_is_exact(given_value: Any, expected: Fraction) -> None:
    campaign = Campaign(given_value, T0, T0 + timedelta(hours=1))
    assert campaign.multiplier == expected
    assert type(campaign.multiplier) is Fraction


@pytest.mark.parametrize(
    "multiplier", [0, -1, "0.0", "abc", "1/0", float("nan"), True, None, 101, "1e30"]
)
def test_bad_campaign_multipliers_are_refused(multiplier: Any) -> None:
    with pytest.raises(InvalidValue) as error:
        Campaign(multiplier, T0, T0 + timedelta(hours=1))
    assert reason_of(error) == ("campaigns", "bad_campaign")


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (T0, T0),
        (T0, T0 - timedelta(seconds=1)),
        (datetime(2024, 5, 15), datetime(2024, 5, 16)),
        (T0, datetime(2024, 6, 1)),
    ],
)
def test_bad_campaign_windows_are_refused(starts: datetime, ends: datetime) -> None:
    with pytest.raises(InvalidValue) as error:
        Campaign(2, starts, ends)
    assert reason_of(error) == ("campaigns", "bad_campaign")


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        (3, Fraction(3)),
        (2.5, Fraction(5, 2)),
        ("1.75", Fraction(7, 4)),
        (Decimal("0.5"), Fraction(1, 2)),
        (0, Fraction(0)),
    ],
)
def test_trigger_units_are_exact(given_value: Any, expected: Fraction) -> None:
    assert make_trigger(units=given_value).units == expected


@pytest.mark.parametrize("units", [-1, "-0.5", "lots", float("inf"), True, 10_001, "1e30"])
def test_bad_trigger_units_are_refused(units: Any) -> None:
    with pytest.raises(InvalidValue) as error:
        make_trigger(units=units)
    assert reason_of(error) == ("units", "bad_units")


def test_a_lone_string_is_not_a_set_of_tags() -> None:
    with pytest.raises(TypeError):
        make_trigger(tags="red")
    with pytest.raises(TypeError):
        RuleFilters(clubs="chess")


# --- evaluate: the checks, in order -------------------------------------------------


def test_a_plain_award() -> None:
    decision = decide(make_rule())
    assert decision == Decision(
        rule_key="salon_check_in", outcome=Outcome.AWARDED, points=10, bonus=0
    )
    assert decision.is_award
    assert decision.base_points == 10


def test_disabled_rule_is_skipped_first() -> None:
    rule = make_rule(enabled=False)
    inactive = MemberFacts(member_id=7, categories=frozenset(), active=False)
    decision = decide(rule, make_trigger(kind="event.attended"), member=inactive)
    assert decision == Decision.skipped("salon_check_in", "disabled")
    assert decision.points == 0
    assert not decision.is_award


def test_inactive_member_is_skipped() -> None:
    inactive = MemberFacts(member_id=7, categories=frozenset({"party_member"}), active=False)
    assert decide(make_rule(), member=inactive).reason == "inactive_member"


def test_another_trigger_is_skipped() -> None:
    decision = decide(make_rule(), make_trigger(kind="salon.no_show"))
    assert decision.outcome is Outcome.SKIPPED
    assert decision.reason == "wrong_trigger"


def test_facts_about_another_member_are_a_bug() -> None:
    with pytest.raises(ValueError, match="member"):
        decide(make_rule(), make_trigger(member_id=8))


@pytest.mark.parametrize(
    ("filters", "trigger_fields", "admitted"),
    [
        (RuleFilters(categories={"party_member", "floating"}), {}, True),
        (RuleFilters(categories={"resident"}), {}, False),
        (RuleFilters(clubs={"chess"}), {"club": "chess"}, True),
        (RuleFilters(clubs={"chess"}), {"club": "tea"}, False),
        (RuleFilters(clubs={"chess"}), {}, False),
        (RuleFilters(series={"english_salon"}), {"series": "english_salon"}, True),
        (RuleFilters(series={"english_salon"}), {"series": "insurance_salon"}, False),
        (RuleFilters(stations={"huaying"}), {"station": "huaying"}, True),
        (RuleFilters(stations={"huaying"}), {}, False),
        (RuleFilters(tags={"red", "reading"}), {"tags": {"reading", "july1"}}, True),
        (RuleFilters(tags={"red"}), {"tags": {"july1"}}, False),
        (RuleFilters(tags={"red"}), {}, False),
        (
            RuleFilters(categories={"party_member"}, clubs={"chess"}, tags={"red"}),
            {"club": "chess", "tags": {"red"}},
            True,
        ),
        (
            RuleFilters(categories={"party_member"}, clubs={"chess"}, tags={"red"}),
            {"club": "chess", "tags": {"blue"}},
            False,
        ),
        (RuleFilters(), {"club": "anything"}, True),
    ],
)
def test_filters(filters: RuleFilters, trigger_fields: dict[str, Any], admitted: bool) -> None:
    decision = decide(make_rule(filters=filters), make_trigger(**trigger_fields))
    if admitted:
        assert decision.outcome is Outcome.AWARDED
    else:
        assert decision == Decision.skipped("salon_check_in", "filtered")


def test_a_member_without_categories_fails_a_category_filter() -> None:
    nobody = MemberFacts(member_id=7, categories=frozenset())
    rule = make_rule(filters=RuleFilters(categories={"party_member"}))
    assert decide(rule, member=nobody).reason == "filtered"


def test_once_per_target() -> None:
    rule = make_rule(once_per_target=True)
    trigger = make_trigger(target="session:42")
    assert decide(rule, trigger, RuleHistory(target_awarded=True)).reason == "once_per_target"
    assert decide(rule, trigger, RuleHistory(target_awarded=False)).points == 10
    # Without the flag, an earlier award for the same target does not matter.
    assert decide(make_rule(), trigger, RuleHistory(target_awarded=True)).points == 10


def test_once_per_target_comes_before_the_cooldown() -> None:
    rule = make_rule(once_per_target=True, cooldown=timedelta(hours=1))
    history = RuleHistory(target_awarded=True, last_award_at=T0)
    assert decide(rule, history=history).reason == "once_per_target"


@pytest.mark.parametrize(
    ("last_award_at", "outcome"),
    [
        (None, Outcome.AWARDED),
        (T0 - timedelta(hours=24), Outcome.AWARDED),  # exactly the cooldown ago
        (T0 - timedelta(hours=23, minutes=59), Outcome.SKIPPED),
        (T0, Outcome.SKIPPED),
        (T0 + timedelta(hours=3), Outcome.SKIPPED),  # an older event delivered late
        (T0 + timedelta(hours=30), Outcome.SKIPPED),  # even one from before the last award
    ],
)
def test_cooldown(last_award_at: datetime | None, outcome: Outcome) -> None:
    rule = make_rule(cooldown=timedelta(hours=24))
    decision = decide(rule, history=RuleHistory(last_award_at=last_award_at))
    assert decision.outcome is outcome
    assert decision.reason == (None if outcome is Outcome.AWARDED else "cooldown")


def test_cooldown_comes_before_caps() -> None:
    rule = make_rule(cooldown=timedelta(hours=1), caps={Period.DAY: 1})
    history = RuleHistory(last_award_at=T0, awards_in_period={Period.DAY: 1})
    assert decide(rule, history=history).reason == "cooldown"


@pytest.mark.parametrize("period", list(Period))
def test_count_cap_of_each_period(period: Period) -> None:
    rule = make_rule(caps={period: 3})
    assert decide(rule, history=RuleHistory(awards_in_period={period: 2})).points == 10
    full = decide(rule, history=RuleHistory(awards_in_period={period: 3}))
    assert full == Decision.skipped("salon_check_in", f"cap_{period.value}")
    over = decide(rule, history=RuleHistory(awards_in_period={period: 4}))
    assert over.reason == f"cap_{period.value}"


def test_count_caps_are_checked_from_day_to_year() -> None:
    rule = make_rule(caps={Period.YEAR: 10, Period.WEEK: 2, Period.DAY: 1})
    history = RuleHistory(awards_in_period={Period.DAY: 1, Period.WEEK: 2, Period.YEAR: 10})
    assert decide(rule, history=history).reason == "cap_day"
    history = RuleHistory(awards_in_period={Period.DAY: 0, Period.WEEK: 2, Period.YEAR: 10})
    assert decide(rule, history=history).reason == "cap_week"


def test_a_missing_period_in_the_history_counts_as_zero() -> None:
    rule = make_rule(caps={Period.MONTH: 1}, point_caps={Period.MONTH: 10})
    history = RuleHistory(awards_in_period={Period.DAY: 5}, points_in_period={"day": 50})
    assert decide(rule, history=history).points == 10


def test_count_caps_apply_to_penalties_too() -> None:
    rule = make_rule(trigger="salon.no_show", points=-5, caps={Period.WEEK: 1})
    trigger = make_trigger(kind="salon.no_show")
    history = RuleHistory(awards_in_period={Period.WEEK: 1})
    assert decide(rule, trigger, history).reason == "cap_week"


# --- evaluate: the amount ---------------------------------------------------------------


def volunteer_rule(**overrides: Any) -> Rule:
    fields: dict[str, Any] = {
        "key": "volunteer_hours",
        "trigger": "volunteer.hours_confirmed",
        "points": 0,
        "per_unit": 10,
    }
    return make_rule(**(fields | overrides))


def hours(units: Any, **overrides: Any) -> Trigger:
    return make_trigger(kind="volunteer.hours_confirmed", units=units, **overrides)


@pytest.mark.parametrize(
    ("per_unit", "units", "points"),
    [
        (10, 3, 30),
        (10, "1.5", 15),
        (3, "0.5", 1),  # 1.5 rounds toward zero
        (3, "0.99", 2),  # 2.97 too
        (-3, "1.5", -4),  # -4.5 toward zero: a penalty is never rounded up
        (7, Decimal("2.25"), 15),
    ],
)
def test_points_per_unit(per_unit: int, units: Any, points: int) -> None:
    assert decide(volunteer_rule(per_unit=per_unit), hours(units)).points == points


def test_per_unit_replaces_fixed_points() -> None:
    assert decide(volunteer_rule(points=99), hours(2)).points == 20


def test_per_unit_rounding_to_nothing_is_skipped() -> None:
    assert decide(volunteer_rule(per_unit=1), hours("0.5")).reason == "zero_points"
    assert decide(volunteer_rule(), hours(0)).reason == "zero_points"


def test_campaign_multiplies_while_active() -> None:
    july = Campaign(2, T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert decide(make_rule(campaigns=[july])).points == 20
    starts_now = Campaign(2, T0, T0 + timedelta(days=1))
    assert decide(make_rule(campaigns=[starts_now])).points == 20, "starts is inclusive"
    ended = Campaign(2, T0 - timedelta(days=1), T0)
    assert decide(make_rule(campaigns=[ended])).points == 10, "ends is exclusive"
    later = Campaign(2, T0 + timedelta(seconds=1), T0 + timedelta(days=1))
    assert decide(make_rule(campaigns=[later])).points == 10


def test_active_campaigns_multiply_together() -> None:
    window = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    inactive = Campaign(5, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    both = [Campaign(2, *window), Campaign("1.5", *window), inactive]
    assert decide(make_rule(campaigns=both)).points == 30


@pytest.mark.parametrize(
    ("points", "multiplier", "expected"),
    [
        (5, "1.5", 8),  # 7.5 rounds half away from zero
        (-5, "1.5", -8),
        (3, "1.1", 3),  # 3.3
        (7, "0.5", 4),  # 3.5
        (1, "0.4", 0),
        (10, "0.25", 3),  # 2.5
    ],
)
def test_campaign_rounding(points: int, multiplier: str, expected: int) -> None:
    campaign = Campaign(multiplier, T0, T0 + timedelta(days=1))
    decision = decide(make_rule(points=points, campaigns=[campaign]))
    if expected == 0:
        assert decision.reason == "zero_points"
    else:
        assert decision.points == expected


def test_campaign_multiplies_the_truncated_per_unit_points() -> None:
    campaign = Campaign("1.5", T0, T0 + timedelta(days=1))
    # 3 * 1.5 h = 4.5 -> 4 points, then * 1.5 = 6.
    assert decide(volunteer_rule(per_unit=3, campaigns=[campaign]), hours("1.5")).points == 6


def test_point_cap_clips_an_award_to_what_is_left() -> None:
    rule = make_rule(point_caps={Period.WEEK: 25})
    decision = decide(rule, history=RuleHistory(points_in_period={Period.WEEK: 21}))
    assert decision.outcome is Outcome.AWARDED
    assert decision.points == 4
    assert decision.clipped
    untouched = decide(rule, history=RuleHistory(points_in_period={Period.WEEK: 15}))
    assert (untouched.points, untouched.clipped) == (10, False)


@pytest.mark.parametrize("period", list(Period))
def test_point_cap_with_nothing_left_skips(period: Period) -> None:
    rule = make_rule(point_caps={period: 25})
    for used in (25, 30):
        decision = decide(rule, history=RuleHistory(points_in_period={period: used}))
        assert decision == Decision.skipped("salon_check_in", f"point_cap_{period.value}")


def test_the_tightest_point_cap_wins() -> None:
    rule = make_rule(point_caps={Period.DAY: 20, Period.MONTH: 100})
    history = RuleHistory(points_in_period={Period.DAY: 5, Period.MONTH: 97})
    decision = decide(rule, history=history)
    assert (decision.points, decision.clipped) == (3, True)


def test_point_caps_apply_after_the_campaign() -> None:
    campaign = Campaign(3, T0, T0 + timedelta(days=1))
    rule = make_rule(point_caps={Period.DAY: 25}, campaigns=[campaign])
    assert decide(rule).points == 25


def test_penalties_are_never_clipped_or_capped_by_points() -> None:
    rule = make_rule(trigger="salon.no_show", points=-15, point_caps={Period.DAY: 10})
    trigger = make_trigger(kind="salon.no_show")
    for used in (0, 10, 50, -100):
        decision = decide(rule, trigger, RuleHistory(points_in_period={Period.DAY: used}))
        assert (decision.outcome, decision.points, decision.clipped) == (
            Outcome.AWARDED,
            -15,
            False,
        )


# --- evaluate: streaks, expiry, approval ------------------------------------------------


def streak_rule(**overrides: Any) -> Rule:
    return make_rule(streak=Streak(weeks=4, bonus=20), **overrides)


def test_the_award_completing_a_streak_carries_the_bonus() -> None:
    decision = decide(streak_rule(), history=RuleHistory(streak_weeks=3))
    assert (decision.points, decision.bonus, decision.base_points) == (30, 20, 10)
    # A history longer than the run (say, after the rule was changed) still pays.
    assert decide(streak_rule(), history=RuleHistory(streak_weeks=7)).bonus == 20


def test_no_bonus_before_the_run_is_complete() -> None:
    for weeks in (0, 1, 2):
        decision = decide(streak_rule(), history=RuleHistory(streak_weeks=weeks))
        assert (decision.points, decision.bonus) == (10, 0)


def test_a_second_award_in_the_same_week_does_not_extend_the_streak() -> None:
    decision = decide(streak_rule(), history=RuleHistory(streak_weeks=3, awarded_this_week=True))
    assert (decision.points, decision.bonus) == (10, 0)


def test_streak_bonus_is_not_multiplied_nor_clipped() -> None:
    campaign = Campaign(2, T0, T0 + timedelta(days=1))
    rule = streak_rule(campaigns=[campaign], point_caps={Period.WEEK: 25})
    history = RuleHistory(streak_weeks=3, points_in_period={Period.WEEK: 10})
    decision = decide(rule, history=history)
    assert (decision.base_points, decision.bonus, decision.points) == (15, 20, 35)
    assert decision.clipped


def test_a_skipped_award_earns_no_streak_bonus() -> None:
    rule = streak_rule(point_caps={Period.WEEK: 10})
    history = RuleHistory(streak_weeks=3, points_in_period={Period.WEEK: 10})
    assert decide(rule, history=history) == Decision.skipped("salon_check_in", "point_cap_week")


def test_expiry_of_an_award() -> None:
    rule = make_rule(expires_after_months=12)
    decision = decide(rule)
    assert decision.expires_at == datetime(2025, 5, 15, 2, 0, tzinfo=UTC)


def test_penalties_do_not_expire() -> None:
    rule = make_rule(trigger="salon.no_show", points=-5, expires_after_months=12)
    decision = decide(rule, make_trigger(kind="salon.no_show"))
    assert decision.points == -5
    assert decision.expires_at is None


def test_no_expiry_unless_configured() -> None:
    assert decide(make_rule()).expires_at is None


def test_approval_makes_the_award_pending() -> None:
    rule = make_rule(
        key="reflection",
        trigger="library.reflection_approved",
        points=30,
        approval=True,
        expires_after_months=6,
    )
    decision = decide(rule, make_trigger(kind="library.reflection_approved"))
    assert decision.outcome is Outcome.PENDING
    assert decision.points == 30
    assert decision.is_award
    assert decision.expires_at == datetime(2024, 11, 15, 2, 0, tzinfo=UTC)


def test_approval_does_not_revive_a_skipped_award() -> None:
    rule = make_rule(approval=True, caps={Period.DAY: 1})
    history = RuleHistory(awards_in_period={Period.DAY: 1})
    assert decide(rule, history=history).outcome is Outcome.SKIPPED


# --- expiry dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earned", "months", "expires"),
    [
        (shanghai(2024, 1, 31, 10), 1, shanghai(2024, 2, 29, 10)),  # leap year
        (shanghai(2023, 1, 31, 10), 1, shanghai(2023, 2, 28, 10)),
        (shanghai(2024, 3, 31, 10), 1, shanghai(2024, 4, 30, 10)),
        (shanghai(2024, 1, 31, 10), 2, shanghai(2024, 3, 31, 10)),  # not clamped twice
        (shanghai(2024, 12, 15, 8), 1, shanghai(2025, 1, 15, 8)),
        (shanghai(2024, 2, 29, 8), 12, shanghai(2025, 2, 28, 8)),
        (shanghai(2024, 5, 15, 8), 25, shanghai(2026, 6, 15, 8)),
    ],
)
def test_expiry_for_calendar_months(earned: datetime, months: int, expires: datetime) -> None:
    result = expiry_for(earned, months, SHANGHAI)
    assert result == expires
    assert result.tzinfo is UTC


def test_expiry_counts_months_on_the_local_calendar() -> None:
    # 16:30 UTC on 31 January is already 1 February in Shanghai: one month later is
    # 1 March there, not 29 February.
    earned = datetime(2024, 1, 31, 16, 30, tzinfo=UTC)
    assert expiry_for(earned, 1, SHANGHAI) == shanghai(2024, 3, 1, 0, 30).astimezone(UTC)
    assert expiry_for(earned, 1, UTC) == datetime(2024, 2, 29, 16, 30, tzinfo=UTC)


def test_expiry_keeps_the_local_time_across_daylight_saving() -> None:
    earned = datetime(2024, 2, 10, 12, tzinfo=NEW_YORK)  # 17:00 UTC, EST
    assert expiry_for(earned, 1, NEW_YORK) == datetime(2024, 3, 10, 16, tzinfo=UTC)  # EDT


def test_expiry_needs_a_month_and_an_aware_time() -> None:
    with pytest.raises(ValueError, match="months"):
        expiry_for(T0, 0, SHANGHAI)
    with pytest.raises(ValueError, match="aware"):
        expiry_for(datetime(2024, 1, 1), 1, SHANGHAI)


# --- lots -------------------------------------------------------------------------------


def lot(entry_id: int, remaining: int, expires: datetime | None, earned: datetime = T0) -> Lot:
    return Lot(entry_id=entry_id, earned_at=earned, remaining=remaining, expires_at=expires)


JUNE = datetime(2024, 6, 1, tzinfo=UTC)
JULY = datetime(2024, 7, 1, tzinfo=UTC)


def test_spending_takes_from_the_soonest_expiring_lot_first() -> None:
    lots = [lot(1, 10, None), lot(2, 10, JULY), lot(3, 10, JUNE)]
    kept, taken = consume_oldest_first(lots, 15)
    assert taken == ((3, 10), (2, 5))
    assert kept == (lot(2, 5, JULY), lot(1, 10, None))


def test_points_that_never_expire_are_spent_last() -> None:
    kept, taken = consume_oldest_first([lot(1, 10, None), lot(2, 3, JULY)], 5)
    assert taken == ((2, 3), (1, 2))
    assert kept == (lot(1, 8, None),)


def test_ties_go_to_the_oldest_lot_then_the_lowest_entry() -> None:
    early = T0 - timedelta(days=3)
    lots = [lot(9, 5, JULY), lot(4, 5, JULY), lot(7, 5, JULY, earned=early)]
    _, taken = consume_oldest_first(lots, 12)
    assert taken == ((7, 5), (4, 5), (9, 2))
    never = [lot(5, 5, None), lot(2, 5, None, earned=early)]
    assert consume_oldest_first(never, 1)[1] == ((2, 1),)


def test_spending_exactly_everything_leaves_no_lots() -> None:
    kept, taken = consume_oldest_first([lot(1, 4, JUNE), lot(2, 6, None)], 10)
    assert kept == ()
    assert taken == ((1, 4), (2, 6))


def test_empty_lots_are_ignored() -> None:
    kept, taken = consume_oldest_first([lot(1, 0, JUNE), lot(2, 6, JULY)], 2)
    assert taken == ((2, 2),)
    assert kept == (lot(2, 4, JULY),)


def test_spending_more_than_the_lots_hold_takes_nothing() -> None:
    with pytest.raises(ValueError, match="hold 10"):
        consume_oldest_first([lot(1, 4, JUNE), lot(2, 6, None)], 11)
    with pytest.raises(ValueError, match="hold 0"):
        consume_oldest_first([], 1)


@pytest.mark.parametrize("amount", [0, -3])
def test_spending_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        consume_oldest_first([lot(1, 4, JUNE)], amount)


def test_a_lot_cannot_hold_negative_points() -> None:
    with pytest.raises(ValueError, match="negative"):
        lot(1, -1, None)


def test_expired_amount() -> None:
    lots = [
        lot(1, 10, JUNE),
        lot(2, 0, JUNE),  # already spent
        lot(3, 5, JULY),
        lot(4, 7, None),
        lot(5, 3, JUNE - timedelta(days=1)),
    ]
    assert expired_amount(lots, JUNE) == ((5, 3), (1, 10)), "expires_at == now has expired"
    assert expired_amount(lots, JUNE - timedelta(microseconds=1)) == ((5, 3),)
    assert expired_amount(lots, JULY + timedelta(days=400)) == ((5, 3), (1, 10), (3, 5))


def test_expiring_soon() -> None:
    lots = [lot(1, 10, JULY), lot(2, 5, JUNE), lot(3, 0, JUNE), lot(4, 7, None)]
    now = JUNE - timedelta(days=30)
    assert expiring_soon(lots, now, timedelta(days=30)) == (lot(2, 5, JUNE),)
    assert expiring_soon(lots, now, timedelta(days=29)) == ()
    assert expiring_soon(lots, now, timedelta(days=365)) == (lot(2, 5, JUNE), lot(1, 10, JULY))
    # Already expired is not "soon".
    assert expiring_soon(lots, JUNE, timedelta(days=30)) == (lot(1, 10, JULY),)


# --- properties --------------------------------------------------------------------------

ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "America/Havana",
        "America/Santiago",
        "Australia/Lord_Howe",  # half-hour daylight saving
        "Pacific/Chatham",  # +12:45 / +13:45
        "Asia/Kolkata",
        "UTC",
    )
]
zones = st.sampled_from(ZONES)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
periods = st.sampled_from(list(Period))
period_maps = st.dictionaries(periods, st.integers(min_value=0, max_value=6))
tag_values = st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=3)
optional_value = st.none() | st.sampled_from(["a", "b", "c"])


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    starts = T0 + timedelta(hours=draw(st.integers(min_value=-48, max_value=48)))
    length = timedelta(hours=draw(st.integers(min_value=1, max_value=96)))
    multiplier = Fraction(draw(st.integers(min_value=1, max_value=40)), 10)
    return Campaign(multiplier, starts, starts + length)


@st.composite
def positive_rules(draw: st.DrawFn) -> Rule:
    per_unit = draw(st.none() | st.integers(min_value=1, max_value=20))
    return make_rule(
        points=draw(st.integers(min_value=1, max_value=50)),
        per_unit=per_unit,
        caps=draw(period_maps),
        point_caps=draw(st.dictionaries(periods, st.integers(min_value=0, max_value=80))),
        campaigns=draw(st.lists(campaigns(), max_size=3)),
        streak=draw(st.none() | st.builds(Streak, st.integers(2, 6), st.integers(0, 30))),
        approval=draw(st.booleans()),
        expires_after_months=draw(st.none() | st.integers(min_value=1, max_value=36)),
    )


@st.composite
def histories(draw: st.DrawFn) -> RuleHistory:
    return RuleHistory(
        awards_in_period=draw(period_maps),
        points_in_period=draw(st.dictionaries(periods, st.integers(min_value=0, max_value=100))),
        last_award_at=draw(st.none() | st.just(T0 - timedelta(days=2))),
        target_awarded=draw(st.booleans()),
        streak_weeks=draw(st.integers(min_value=0, max_value=8)),
        awarded_this_week=draw(st.booleans()),
    )


@st.composite
def triggers(draw: st.DrawFn) -> Trigger:
    return make_trigger(
        units=Fraction(draw(st.integers(min_value=0, max_value=40)), 4),
        target=draw(st.none() | st.just("session:1")),
        club=draw(optional_value),
        series=draw(optional_value),
        station=draw(optional_value),
        tags=draw(tag_values),
    )


@given(rule=positive_rules(), history=histories(), trigger=triggers(), data=st.data())
def test_property_a_full_count_cap_always_skips(
    rule: Rule, history: RuleHistory, trigger: Trigger, data: st.DataObject
) -> None:
    caps = dict(rule.caps) or {Period.DAY: 2}
    rule = attrs.evolve(rule, caps=caps)
    period = data.draw(st.sampled_from(sorted(caps)))
    counts = dict(history.awards_in_period)
    counts[period] = caps[period] + data.draw(st.integers(min_value=0, max_value=3))
    decision = decide(rule, trigger, attrs.evolve(history, awards_in_period=counts))
    assert decision.outcome is Outcome.SKIPPED
    assert decision.points == 0


@given(rule=positive_rules(), history=histories(), trigger=triggers())
def test_property_point_caps_are_never_exceeded(
    rule: Rule, history: RuleHistory, trigger: Trigger
) -> None:
    decision = decide(rule, trigger, history)
    assert decision.points >= 0
    if decision.is_award:
        assert decision.base_points > 0
        for period, cap in rule.point_caps.items():
            assert history.points_in_period.get(period, 0) + decision.base_points <= cap
        assert decision.clipped == (decision.base_points < _unclipped(rule, trigger))
    else:
        assert decision.reason is not None


def _unclipped(rule: Rule, trigger: Trigger) -> int:
    """What the award would be without point caps: the same rule, uncapped."""
    uncapped = attrs.evolve(rule, point_caps={}, caps={}, cooldown=None, once_per_target=False)
    return decide(uncapped, trigger).base_points


@given(
    rule=positive_rules(),
    history=histories(),
    trigger=triggers(),
    filters=st.builds(
        RuleFilters,
        categories=tag_values,
        clubs=tag_values,
        series=tag_values,
        stations=tag_values,
        tags=tag_values,
    ),
    categories=tag_values,
)
def test_property_deterministic_and_filters_exclude(
    rule: Rule,
    history: RuleHistory,
    trigger: Trigger,
    filters: RuleFilters,
    categories: frozenset[str],
) -> None:
    rule = attrs.evolve(rule, filters=filters)
    member = MemberFacts(member_id=7, categories=categories)
    first = evaluate(rule, trigger, member, history, SHANGHAI)
    assert first == evaluate(rule, trigger, member, history, SHANGHAI)
    excluded = (
        (filters.categories and not filters.categories & categories)
        or (filters.clubs and trigger.club not in filters.clubs)
        or (filters.series and trigger.series not in filters.series)
        or (filters.stations and trigger.station not in filters.stations)
        or (filters.tags and not filters.tags & trigger.tags)
    )
    if excluded:
        assert first == Decision.skipped(rule.key, "filtered")
    else:
        assert first.reason != "filtered"


def _expiry_key(item: Lot) -> datetime:
    return item.expires_at or datetime.max.replace(tzinfo=UTC)


@st.composite
def lot_lists(draw: st.DrawFn) -> list[Lot]:
    count = draw(st.integers(min_value=0, max_value=8))
    return [
        lot(
            entry_id=entry_id,
            remaining=draw(st.integers(min_value=0, max_value=30)),
            expires=draw(st.none() | st.sampled_from([JUNE, JULY, JULY + timedelta(days=30)])),
            earned=T0 - timedelta(days=draw(st.integers(min_value=0, max_value=3))),
        )
        for entry_id in range(1, count + 1)
    ]


@given(lots=lot_lists(), data=st.data())
def test_property_spending_conserves_points_and_goes_soonest_first(
    lots: list[Lot], data: st.DataObject
) -> None:
    total = sum(item.remaining for item in lots)
    if total == 0:
        with pytest.raises(ValueError, match="hold 0"):
            consume_oldest_first(lots, 1)
        return
    amount = data.draw(st.integers(min_value=1, max_value=total))
    kept, taken = consume_oldest_first(lots, amount)
    assert sum(took for _, took in taken) == amount
    assert sum(item.remaining for item in kept) == total - amount
    assert all(item.remaining > 0 for item in kept)
    assert all(took > 0 for _, took in taken)
    by_id = {item.entry_id: item for item in lots}
    after = {item.entry_id: item.remaining for item in kept}
    for entry_id, took in taken:
        assert by_id[entry_id].remaining - took == after.get(entry_id, 0)
    for entry_id, item in by_id.items():
        if entry_id not in dict(taken):
            assert after.get(entry_id, 0) == item.remaining
    # Nothing is taken from a lot while one expiring strictly sooner still holds points.
    for still in kept:
        for entry_id, _ in taken:
            if entry_id != still.entry_id:
                assert _expiry_key(by_id[entry_id]) <= _expiry_key(still)
    with pytest.raises(ValueError, match="cannot spend"):
        consume_oldest_first(lots, total + 1)


@given(instant=instants, tz=zones, period=periods)
def test_property_period_contains_the_instant(
    instant: datetime, tz: ZoneInfo, period: Period
) -> None:
    start, end = period_bounds(instant, tz, period)
    assert start <= instant < end
    assert period_start(instant, tz, period) == start
    assert period_start(start, tz, period) == start
    assert period_start(end - timedelta(microseconds=1), tz, period) == start
    assert period_start(end, tz, period) == end
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC


@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2037, 12, 31)), tz=zones)
def test_property_consecutive_local_weeks_differ_by_one(day: date, tz: ZoneInfo) -> None:
    def noon(of: date) -> datetime:
        return datetime.combine(of, time(12), tzinfo=tz)

    this_week = week_index(noon(day), tz)
    assert week_index(noon(day + timedelta(days=7)), tz) == this_week + 1
    assert week_index(noon(day - timedelta(days=7)), tz) == this_week - 1
    monday = day - timedelta(days=day.weekday())
    assert week_index(noon(monday), tz) == this_week
    assert week_index(noon(monday + timedelta(days=6)), tz) == this_week
    assert week_index(noon(monday) - timedelta(hours=13), tz) == this_week - 1


@given(instant=instants, tz=zones, months=st.integers(min_value=1, max_value=60))
def test_property_expiry_is_the_same_local_day_or_the_month_end(
    instant: datetime, tz: ZoneInfo, months: int
) -> None:
    local = instant.astimezone(tz)
    expires = expiry_for(instant, months, tz).astimezone(tz)
    assert expires > instant
    month_count = (expires.year - local.year) * 12 + expires.month - local.month
    assert month_count == months
    if expires.day != local.day:
        assert expires.day < local.day
        assert (expires + timedelta(days=1)).month != expires.month
