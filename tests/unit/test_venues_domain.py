"""Venue rules without a database: spans, clashes, series planning."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.venues import (
    Span,
    Venue,
    clashing,
    conflict_text,
    overlaps,
    plan_series,
    require_bookable,
    require_span,
    self_overlapping,
)
from huarong_core.errors import InvalidValue

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai, a Wednesday


def at(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def span(day: int, start: int, end: int) -> Span:
    return (at(day, start), at(day, end))


# --- spans ---------------------------------------------------------------------------


def test_spans_are_half_open() -> None:
    assert overlaps(span(2, 19, 21), span(2, 20, 22))
    assert overlaps(span(2, 19, 21), span(2, 18, 22))
    assert overlaps(span(2, 18, 22), span(2, 19, 21))
    assert overlaps(span(2, 19, 21), span(2, 19, 21))
    assert not overlaps(span(2, 19, 21), span(2, 21, 22))
    assert not overlaps(span(2, 21, 22), span(2, 19, 21))
    assert not overlaps(span(2, 9, 10), span(3, 9, 10))


def test_overlap_compares_instants_across_time_zones() -> None:
    utc_span = (datetime(2026, 7, 2, 11, 30, tzinfo=UTC), datetime(2026, 7, 2, 12, tzinfo=UTC))
    assert overlaps(span(2, 19, 21), utc_span)  # 19:30-20:00 in Shanghai
    assert not overlaps(span(2, 20, 21), utc_span)


def test_require_span() -> None:
    require_span(at(2, 19), at(2, 21))
    with pytest.raises(InvalidValue) as raised:
        require_span(at(2, 21), at(2, 19))
    assert (raised.value.field, raised.value.reason) == ("ends_at", "ends_before_start")
    with pytest.raises(InvalidValue) as raised:
        require_span(at(2, 19), at(2, 19))
    assert raised.value.reason == "ends_before_start"
    with pytest.raises(InvalidValue) as raised:
        require_span(datetime(2026, 7, 2, 19), at(2, 21))
    assert raised.value.reason == "naive_time"


def test_require_bookable() -> None:
    assert require_bookable(at(2, 19), at(2, 21), NOW, TZ) == span(2, 19, 21)
    for starts, ends, reason in [
        (at(1, 16), at(1, 18), "in_the_past"),
        (at(2, 19), at(10, 19), "bad_duration"),
        (datetime(2028, 7, 3, 9, tzinfo=TZ), datetime(2028, 7, 3, 10, tzinfo=TZ), "too_far_ahead"),
        (at(2, 19), at(2, 18), "ends_before_start"),
    ]:
        with pytest.raises(InvalidValue) as raised:
            require_bookable(starts, ends, NOW, TZ)
        assert raised.value.reason == reason


# --- clashes -------------------------------------------------------------------------


def test_clashing_names_every_wanted_span_that_overlaps() -> None:
    wanted = [span(d, 19, 21) for d in (2, 9, 16, 23)]
    taken = [span(9, 18, 20), span(16, 21, 22), span(23, 8, 23), span(2, 17, 19)]
    assert clashing(wanted, taken) == [span(9, 19, 21), span(23, 19, 21)]
    assert clashing(wanted, []) == []
    assert clashing([], taken) == []


def test_clashing_agrees_with_pairwise_overlaps() -> None:
    rng = random.Random(7)
    base = at(2, 0)

    def random_span() -> Span:
        start = base + timedelta(minutes=30 * rng.randrange(200))
        return (start, start + timedelta(minutes=30 * rng.randrange(1, 12)))

    for _ in range(200):
        wanted = [random_span() for _ in range(rng.randrange(1, 12))]
        taken = [random_span() for _ in range(rng.randrange(0, 12))]
        expected = [w for w in wanted if any(overlaps(w, t) for t in taken)]
        assert clashing(wanted, taken) == expected


def test_self_overlapping() -> None:
    assert not self_overlapping([span(2, 19, 21), span(9, 19, 21), span(2, 21, 22)])
    assert self_overlapping([span(9, 19, 21), span(2, 19, 21), span(2, 20, 22)])
    assert self_overlapping([(at(2, 0), at(4, 0)), span(2, 8, 9), span(3, 12, 13)])
    assert not self_overlapping([])


def test_conflicts_are_named_in_local_time() -> None:
    starts = [datetime(2026, 7, 16, 11, tzinfo=UTC), at(6, 19, month=8)]
    assert conflict_text(starts, TZ) == "2026-07-16 19:00, 2026-08-06 19:00"
    assert conflict_text([], TZ) == ""


# --- series --------------------------------------------------------------------------


def thursdays(first: date = date(2026, 7, 1)) -> Recurrence:
    return Recurrence.from_clock("FREQ=WEEKLY;BYDAY=TH", first, "19:00", "21:00")


def test_a_series_runs_from_its_first_day_to_until_inclusive() -> None:
    planned = plan_series(thursdays(), date(2026, 7, 23), NOW, TZ)
    assert planned == [span(2, 19, 21), span(9, 19, 21), span(16, 19, 21), span(23, 19, 21)]


def test_a_series_leaves_out_occurrences_already_begun() -> None:
    planned = plan_series(thursdays(), date(2026, 7, 16), at(2, 19, 30), TZ)
    assert planned == [span(9, 19, 21), span(16, 19, 21)]


@pytest.mark.parametrize(
    ("recurrence", "until", "field", "reason"),
    [
        (thursdays(date(2026, 7, 10)), date(2026, 7, 9), "until", "ends_before_start"),
        (thursdays(), date(2028, 7, 2), "until", "too_far_ahead"),
        (thursdays(date(2026, 6, 1)), date(2026, 6, 30), "rrule", "no_occurrences"),
        (
            Recurrence("FREQ=DAILY", date(2026, 7, 2), time(8), timedelta(hours=25)),
            date(2026, 7, 5),
            "rrule",
            "series_overlaps",
        ),
        (
            Recurrence("FREQ=HOURLY", date(2026, 7, 2), time(8), timedelta(minutes=30)),
            date(2026, 12, 31),
            "rrule",
            "too_many_occurrences",
        ),
    ],
)
def test_bad_series_are_refused(
    recurrence: Recurrence, until: date, field: str, reason: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        plan_series(recurrence, until, NOW, TZ)
    assert (raised.value.field, raised.value.reason) == (field, reason)


def test_two_years_ahead_is_the_limit() -> None:
    planned = plan_series(thursdays(), date(2028, 7, 1), NOW, TZ)
    assert len(planned) == 105
    assert planned[-1][0].date() == date(2028, 6, 29)


def test_a_bad_rule_does_not_parse() -> None:
    with pytest.raises(InvalidValue) as raised:
        Recurrence.from_clock("FREQ=FORTNIGHTLY", date(2026, 7, 2), "19:00", "21:00")
    assert raised.value.reason == "bad_rrule"


# --- venues --------------------------------------------------------------------------


def test_a_venue_checks_its_values() -> None:
    name = LocalizedText({"en": "Hall"})
    hall = Venue("hall", name, 120, equipment=["projector", "  audio ", "audio"], station="service")
    assert hall.equipment == frozenset({"projector", "audio"})
    assert Venue("room", name, 1, equipment="lights").equipment == frozenset({"lights"})
    bad_fields: list[tuple[dict[str, object], str]] = [
        ({"capacity": 0}, "not_positive"),
        ({"capacity": -3}, "not_positive"),
        ({"key": "Big Hall"}, "bad_key"),
        ({"equipment": ["   "]}, "empty"),
        ({"equipment": ["x" * 41]}, "too_long"),
        ({"station": "Service Station"}, "bad_key"),
    ]
    for bad, reason in bad_fields:
        fields: dict[str, object] = {"key": "hall", "name": name, "capacity": 10} | bad
        with pytest.raises(InvalidValue) as raised:
            Venue(**fields)  # type: ignore[arg-type]
        assert raised.value.reason == reason
