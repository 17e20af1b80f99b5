"""Points rules (党员积分制): whether, and how many, points one event earns a member.

A rule names the domain event that triggers it (a salon check-in, confirmed
volunteer hours, an approved reading reflection, ...) and the limits a
community puts on it: filters, caps per day/week/month/year, a cooldown,
once per session, streak bonuses, campaign multipliers, approval and
expiry. `evaluate` decides one (rule, event) pair from facts that storage
looked up; it does no I/O, so the same decision comes out on every backend
and the rules can be tested exhaustively.

The points that awards hold are spent (and expire) lot by lot, soonest
expiring first: `consume_oldest_first`, `expired_amount` and
`expiring_soon` work on those lots.

Time: periods ("today", "this week") are the community's local ones, so
every function that cuts time into periods takes the community's `tzinfo`
(a `zoneinfo.ZoneInfo`) and works on aware datetimes only. A naive
datetime is a programming error (its meaning would depend on the server's
clock settings) and raises `ValueError`.
"""

from __future__ import annotations

import calendar
import enum
import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key
from huarong_core.errors import InvalidValue

# --- periods ------------------------------------------------------------------


class Period(enum.StrEnum):
    """A calendar period in the community's time zone; weeks are ISO weeks (Monday first)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def _require_aware(name: str, instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {instant!r}")


def _first_day(day: date, period: Period) -> date:
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next_first_day(first: date, period: Period) -> date:
    if period is Period.DAY:
        return first + timedelta(days=1)
    if period is Period.WEEK:
        return first + timedelta(days=7)
    if period is Period.MONTH:
        # Months counted from year 0: `first.month` (1-based) is the next month's 0-based index.
        year, month_index = divmod(first.year * 12 + first.month, 12)
        return date(year, month_index + 1, 1)
    return first.replace(year=first.year + 1)


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of a local date, in UTC.

    Where midnight does not exist (clocks jump from 00:00 to 01:00, as in
    Santiago or Havana), `fold=0` reads the wall time with the offset in
    force before the jump, which lands exactly on the jump: the first
    instant of that day. Where midnight happens twice, `fold=0` is the
    first time.
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def period_start(instant: datetime, tz: tzinfo, period: Period) -> datetime:
    """The start of the local day / ISO week / month / year containing `instant`, in UTC."""
    _require_aware("instant", instant)
    return _local_midnight(_first_day(instant.astimezone(tz).date(), period), tz)


def period_bounds(instant: datetime, tz: tzinfo, period: Period) -> tuple[datetime, datetime]:
    """The local period containing `instant` as `[start, end)` in UTC.

    The end is the next period's start, so periods tile time with no gap
    and no overlap; a day may be 23 or 25 hours long where clocks change.
    """
    _require_aware("instant", instant)
    first = _first_day(instant.astimezone(tz).date(), period)
    return _local_midnight(first, tz), _local_midnight(_next_first_day(first, period), tz)


def week_index(instant: datetime, tz: tzinfo) -> int:
    """A number for the local ISO week containing `instant`: the next week's is one more.

    Counted from the Monday 0001-01-01, so it runs on across year ends
    (ISO week numbers restart at 1, which makes them useless for streaks).
    """
    _require_aware("instant", instant)
    day = instant.astimezone(tz).date()
    return (day.toordinal() - 1) // 7


# --- rules --------------------------------------------------------------------

MANUAL_TRIGGER = "manual"
KNOWN_TRIGGERS: frozenset[str] = frozenset(
    {
        MANUAL_TRIGGER,
        "salon.checked_in",
        "salon.attended",
        "salon.no_show",
        "event.checked_in",
        "event.attended",
        "event.no_show",
        "contest.placed",
        "challenge.completed",
        "club.joined",
        "volunteer.hours_confirmed",
        "library.reflection_approved",
        "library.book_donated",
        "service.request_rated",
    }
)

FractionLike = Fraction | Decimal | int | float | str


def _to_fraction(value: FractionLike) -> Fraction:
    """An exact number; a float is read as written (`1.1` is 11/10, not its binary neighbour)."""
    if type(value) is Fraction:
        return value  # already exact; the common case on the hot path
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        return _fraction_from_text(value)
    if not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"not a number: {value!r}")
    return Fraction(value)  # raises ValueError / OverflowError / ZeroDivisionError


@functools.lru_cache(maxsize=1024)
def _fraction_from_text(text: str) -> Fraction:
    """Parsing text is most of an activity's cost to build, and the same few unit
    strings ("1", "0.5") come back on every award; a Fraction is immutable."""
    return Fraction(text)


def _multiplier(value: FractionLike) -> Fraction:
    try:
        return _to_fraction(value)
    except (TypeError, ValueError, ArithmeticError):
        raise InvalidValue(field="campaigns", value=str(value), reason="bad_campaign") from None


MAX_POINTS = 1_000_000
"""Points one rule, bonus, manual award or price may give or take at once. Far above any
real award, and far enough below the 64-bit columns that no sum of awards overflows."""
MAX_UNITS = 10_000
"""Units one activity may count (hours, books): a per-unit rule times this stays bounded."""
MAX_MULTIPLIER = 100


def _units(value: FractionLike) -> Fraction:
    try:
        units = _to_fraction(value)
    except (TypeError, ValueError, ArithmeticError):
        raise InvalidValue(field="units", value=str(value), reason="bad_units") from None
    if not 0 <= units <= MAX_UNITS:
        raise InvalidValue(field="units", value=str(value)[:40], reason="bad_units")
    return units


def _strings(value: Iterable[str]) -> frozenset[str]:
    # A lone string would silently become a set of its characters.
    if isinstance(value, str):
        raise TypeError(f"expected a collection of strings, got the string {value!r}")
    return frozenset(value)


class _PeriodMap(Mapping[Period, int]):
    """An immutable, hashable `{Period: int}`, iterated day → year.

    Rules are frozen values: a plain dict inside one could be changed
    behind its back and would make it unhashable.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[Period, int]] = ()) -> None:
        table = dict(items)
        self._items: tuple[tuple[Period, int], ...] = tuple(
            (period, table[period]) for period in Period if period in table
        )

    def __getitem__(self, key: Period) -> int:
        for period, value in self._items:
            if period == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[Period]:
        return (period for period, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return repr({str(period): value for period, value in self._items})


def _period_map(field: str, value: Mapping[Period, int] | Mapping[str, int]) -> _PeriodMap:
    items: list[tuple[Period, int]] = []
    for key, amount in value.items():
        try:
            period = Period(key)
        except ValueError:
            raise InvalidValue(field=field, value=str(key), reason="unknown_period") from None
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"{field}[{period}] must be an integer, got {amount!r}")
        items.append((period, amount))
    return _PeriodMap(items)


def _caps(value: Mapping[Period, int] | Mapping[str, int]) -> _PeriodMap:
    return _period_map("caps", value)


def _point_caps(value: Mapping[Period, int] | Mapping[str, int]) -> _PeriodMap:
    return _period_map("point_caps", value)


def _history_counts(value: Mapping[Period, int] | Mapping[str, int]) -> _PeriodMap:
    # Storage builds these from its own rows: a bad key is a bug, not input.
    return _PeriodMap((Period(key), amount) for key, amount in value.items())


def _campaigns(value: Iterable[Campaign]) -> tuple[Campaign, ...]:
    return tuple(value)


@attrs.frozen
class RuleFilters:
    """Which events and members a rule applies to; every non-empty filter must match."""

    categories: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    """The member has at least one of these categories (party member, resident, ...)."""
    clubs: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    series: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    """Salon series keys."""
    stations: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    """The event carries at least one of these tags."""

    def admits(self, trigger: Trigger, member: MemberFacts) -> bool:
        # An event that names no club (station, series) is outside a rule limited to some.
        return (
            (not self.categories or not self.categories.isdisjoint(member.categories))
            and (not self.clubs or trigger.club in self.clubs)
            and (not self.series or trigger.series in self.series)
            and (not self.stations or trigger.station in self.stations)
            and (not self.tags or not self.tags.isdisjoint(trigger.tags))
        )


@attrs.frozen
class Campaign:
    """A time-boxed multiplier (double points during the July 1st challenge, say)."""

    multiplier: Fraction = attrs.field(converter=_multiplier)
    starts: datetime
    """Inclusive."""
    ends: datetime
    """Exclusive."""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.multiplier <= MAX_MULTIPLIER:
            raise InvalidValue(
                field="campaigns", value=str(self.multiplier)[:40], reason="bad_campaign"
            )
        span = f"{self.starts.isoformat()} – {self.ends.isoformat()}"
        # A naive bound would be read in the server's zone, and cannot be compared.
        if self.starts.utcoffset() is None or self.ends.utcoffset() is None:
            raise InvalidValue(field="campaigns", value=span, reason="bad_campaign")
        if self.ends <= self.starts:
            raise InvalidValue(field="campaigns", value=span, reason="bad_campaign")

    def active_at(self, instant: datetime) -> bool:
        return self.starts <= instant < self.ends


@attrs.frozen
class Streak:
    """A bonus for earning the rule in `weeks` consecutive local weeks.

    The award that completes the run (the current week included) carries
    `bonus`; the run then starts again, so the next bonus needs another
    `weeks` weeks.
    """

    weeks: int
    bonus: int

    def __attrs_post_init__(self) -> None:
        if not 2 <= self.weeks <= 520 or not 0 <= self.bonus <= MAX_POINTS:
            raise InvalidValue(
                field="streak", value=f"{self.weeks}/{self.bonus}", reason="bad_streak"
            )


@attrs.frozen
class Rule:
    """One way to earn (or lose) points, as a community configures it.

    `points` is a fixed amount, negative for penalties such as a no-show;
    with `per_unit` the amount is `per_unit * units` of the event instead
    (per confirmed volunteer hour), truncated toward zero, and `points` is
    not used. Caps count awards (`caps`) or base points (`point_caps`) per
    member in the community's local periods; pending awards count, rejected
    ones do not.
    """

    key: str
    name: LocalizedText
    trigger: str
    points: int = 0
    per_unit: int | None = None
    filters: RuleFilters = attrs.field(factory=RuleFilters)
    caps: Mapping[Period, int] = attrs.field(factory=_PeriodMap, converter=_caps)
    point_caps: Mapping[Period, int] = attrs.field(factory=_PeriodMap, converter=_point_caps)
    cooldown: timedelta | None = None
    once_per_target: bool = False
    streak: Streak | None = None
    campaigns: tuple[Campaign, ...] = attrs.field(default=(), converter=_campaigns)
    approval: bool = False
    expires_after_months: int | None = None
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)
        if self.trigger not in KNOWN_TRIGGERS:
            raise InvalidValue(field="trigger", value=self.trigger, reason="unknown_trigger")
        for period, cap in self.caps.items():
            if cap < 0:
                raise InvalidValue(field="caps", value=f"{period}={cap}", reason="negative_cap")
        for period, cap in self.point_caps.items():
            if cap < 0:
                raise InvalidValue(
                    field="point_caps", value=f"{period}={cap}", reason="negative_cap"
                )
        if self.cooldown is not None and self.cooldown < timedelta(0):
            raise InvalidValue(
                field="cooldown", value=str(self.cooldown), reason="negative_cooldown"
            )
        if self.expires_after_months is not None and not 1 <= self.expires_after_months <= 1200:
            raise InvalidValue(
                field="expires_after_months",
                value=str(self.expires_after_months),
                reason="bad_expiry",
            )
        if (self.per_unit is None and self.points == 0) or self.per_unit == 0:
            raise InvalidValue(field="points", value=str(self.points), reason="no_points")
        for field, amount in (("points", self.points), ("per_unit", self.per_unit or 0)):
            if abs(amount) > MAX_POINTS:
                raise InvalidValue(field=field, value=str(amount)[:40], reason="out_of_range")
        # A manual award has no event history to run on: staff give it by hand,
        # each time on purpose.
        if self.trigger == MANUAL_TRIGGER:
            if self.streak is not None:
                raise InvalidValue(field="streak", value=self.key, reason="not_for_manual")
            if self.once_per_target:
                raise InvalidValue(field="once_per_target", value=self.key, reason="not_for_manual")
            # `AwardPoints` answers with the ledger line it wrote; a pending award has none.
            if self.approval:
                raise InvalidValue(field="approval", value=self.key, reason="not_for_manual")


# --- what evaluation is given ---------------------------------------------------


@attrs.frozen
class Trigger:
    """The domain event that may earn points, as the rule engine sees it."""

    kind: str
    source_id: str
    """Unique id of the source event: a rule awards at most once per source id."""
    member_id: int
    occurred_at: datetime
    units: Fraction = attrs.field(default=Fraction(1), converter=_units)
    """How much of it: volunteer hours, books donated, ..."""
    target: str | None = None
    """What `once_per_target` counts per: `session:42`, `event:7`."""
    club: str | None = None
    series: str | None = None
    station: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)

    def __attrs_post_init__(self) -> None:
        _require_aware("occurred_at", self.occurred_at)


@attrs.frozen
class MemberFacts:
    member_id: int
    categories: frozenset[str] = attrs.field(converter=_strings)
    active: bool = True


@attrs.frozen
class RuleHistory:
    """What storage knows about this member and this rule when the event occurred.

    `awards_in_period` counts awarded and pending (not rejected) awards in
    the local period containing the event; `points_in_period` sums their
    base points (a streak bonus is outside point caps). Only the periods
    the rule caps need to be present; a missing one is 0.

    `streak_weeks` is the run of consecutive local weeks before the current
    one in which the rule awarded the member, counting back from last week
    and only since the last streak bonus.
    """

    awards_in_period: Mapping[Period, int] = attrs.field(
        factory=_PeriodMap, converter=_history_counts
    )
    points_in_period: Mapping[Period, int] = attrs.field(
        factory=_PeriodMap, converter=_history_counts
    )
    last_award_at: datetime | None = None
    target_awarded: bool = False
    streak_weeks: int = 0
    awarded_this_week: bool = False


# --- the decision ---------------------------------------------------------------


class Outcome(enum.StrEnum):
    AWARDED = "awarded"
    PENDING = "pending"
    """Waiting for staff to approve or reject it."""
    SKIPPED = "skipped"


@attrs.frozen
class Decision:
    """What one rule does with one event.

    `points` is the whole award: the base (after campaign multipliers and
    point caps) plus `bonus`, the streak bonus. A skipped decision has no
    points and says why in `reason`.
    """

    rule_key: str
    outcome: Outcome
    points: int
    bonus: int = 0
    reason: str | None = None
    expires_at: datetime | None = None
    clipped: bool = False
    """A point cap cut the award down."""

    @classmethod
    def skipped(cls, rule_key: str, reason: str) -> Decision:
        return cls(rule_key=rule_key, outcome=Outcome.SKIPPED, points=0, reason=reason)

    @property
    def base_points(self) -> int:
        return self.points - self.bonus

    @property
    def is_award(self) -> bool:
        """Whether the decision writes a ledger entry (awarded now or pending approval)."""
        return self.outcome is not Outcome.SKIPPED


def _round_half_away(value: Fraction) -> int:
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def _base_points(rule: Rule, trigger: Trigger) -> int:
    base = rule.points if rule.per_unit is None else math.trunc(rule.per_unit * trigger.units)
    multiplier = Fraction(1)
    for campaign in rule.campaigns:
        if campaign.active_at(trigger.occurred_at):
            multiplier *= campaign.multiplier
    return base if multiplier == 1 else _round_half_away(base * multiplier)


def evaluate(
    rule: Rule, trigger: Trigger, member: MemberFacts, history: RuleHistory, tz: tzinfo
) -> Decision:
    """Decide what `rule` awards `member` for `trigger`.

    Checks run in a fixed order and the first that fails names the reason:
    disabled rule, inactive member, another trigger, filters, once per
    target, cooldown, count caps (day → year), then the amount: fixed or
    per unit, times the campaigns active when the event occurred (rounded
    half away from zero), clipped to what positive point caps leave. Penalties
    (negative amounts) are never clipped: a cap on earning is no licence to
    escape a no-show. A zero amount is skipped. A streak bonus is added on
    the award that completes the run; positive awards get an expiry date.

    `history` must be about `member` and this rule (storage looks it up);
    deduplication by `trigger.source_id` is storage's job, under the same
    transaction that writes the award.
    """
    if trigger.member_id != member.member_id:
        raise ValueError(f"trigger for member {trigger.member_id}, facts of {member.member_id}")
    key = rule.key
    if not rule.enabled:
        return Decision.skipped(key, "disabled")
    if not member.active:
        return Decision.skipped(key, "inactive_member")
    if trigger.kind != rule.trigger:
        return Decision.skipped(key, "wrong_trigger")
    if not rule.filters.admits(trigger, member):
        return Decision.skipped(key, "filtered")
    if rule.once_per_target and history.target_awarded:
        return Decision.skipped(key, "once_per_target")
    # "Since the previous award": an event older than the last award (delivered
    # late) is within the cooldown too.
    if (
        rule.cooldown is not None
        and history.last_award_at is not None
        and trigger.occurred_at - history.last_award_at < rule.cooldown
    ):
        return Decision.skipped(key, "cooldown")
    for period, cap in rule.caps.items():
        if history.awards_in_period.get(period, 0) >= cap:
            return Decision.skipped(key, f"cap_{period.value}")

    base = _base_points(rule, trigger)
    clipped = False
    if base > 0:
        for period, cap in rule.point_caps.items():
            left = cap - history.points_in_period.get(period, 0)
            if left <= 0:
                return Decision.skipped(key, f"point_cap_{period.value}")
            if base > left:
                base, clipped = left, True
    if base == 0:
        return Decision.skipped(key, "zero_points")

    bonus = 0
    streak = rule.streak
    if (
        streak is not None
        and not history.awarded_this_week
        and history.streak_weeks + 1 >= streak.weeks
    ):
        bonus = streak.bonus
    total = base + bonus
    expires_at = None
    if rule.expires_after_months is not None and total > 0:
        expires_at = expiry_for(trigger.occurred_at, rule.expires_after_months, tz)
    return Decision(
        rule_key=key,
        outcome=Outcome.PENDING if rule.approval else Outcome.AWARDED,
        points=total,
        bonus=bonus,
        expires_at=expires_at,
        clipped=clipped,
    )


# --- expiry and spending ----------------------------------------------------------


def expiry_for(earned_at: datetime, months: int, tz: tzinfo) -> datetime:
    """`months` calendar months after `earned_at` in local time, in UTC.

    Same wall-clock time on the same day of the month, clamped to the
    month's end: earned on 31 January, one month later is 28 (or 29)
    February. A wall time that does not exist that day (clocks jumped) is
    read with the offset before the jump.
    """
    _require_aware("earned_at", earned_at)
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    local = earned_at.astimezone(tz)
    year, month_index = divmod(local.year * 12 + local.month - 1 + months, 12)
    month = month_index + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    wall = local.replace(tzinfo=None).replace(year=year, month=month, day=day)
    return wall.replace(tzinfo=tz).astimezone(UTC)


@attrs.frozen
class Lot:
    """One positive award that still holds points; spending and expiry draw on lots."""

    entry_id: int
    earned_at: datetime
    remaining: int
    expires_at: datetime | None

    def __attrs_post_init__(self) -> None:
        if self.remaining < 0:
            raise ValueError(f"lot {self.entry_id} has negative remaining {self.remaining}")


_NEVER = datetime.max.replace(tzinfo=UTC)


def _soonest_first(lot: Lot) -> tuple[bool, datetime, datetime, int]:
    # Points that never expire are spent last; among equals, the oldest first.
    return (
        lot.expires_at is None,
        lot.expires_at or _NEVER,
        lot.earned_at,
        lot.entry_id,
    )


def consume_oldest_first(
    lots: Sequence[Lot], amount: int
) -> tuple[tuple[Lot, ...], tuple[tuple[int, int], ...]]:
    """Spend `amount` points from the lots that expire soonest, so members lose as few as can be.

    Returns the lots still holding points afterwards (soonest expiring
    first) and the `(entry_id, taken)` pairs. Raises `ValueError` if the
    lots do not hold `amount` between them; nothing is taken then.
    """
    if amount <= 0:
        raise ValueError(f"amount to spend must be positive, got {amount}")
    ordered = sorted((lot for lot in lots if lot.remaining > 0), key=_soonest_first)
    held = sum(lot.remaining for lot in ordered)
    if held < amount:
        raise ValueError(f"lots hold {held} points, cannot spend {amount}")
    left = amount
    kept: list[Lot] = []
    taken: list[tuple[int, int]] = []
    for lot in ordered:
        take = min(left, lot.remaining)
        if take:
            taken.append((lot.entry_id, take))
            left -= take
        if lot.remaining > take:
            kept.append(attrs.evolve(lot, remaining=lot.remaining - take))
    return tuple(kept), tuple(taken)


def expired_amount(lots: Sequence[Lot], now: datetime) -> tuple[tuple[int, int], ...]:
    """`(entry_id, remaining)` of every lot that has expired by `now` and still holds points."""
    _require_aware("now", now)
    return tuple(
        (lot.entry_id, lot.remaining)
        for lot in sorted(lots, key=_soonest_first)
        if lot.expires_at is not None and lot.expires_at <= now and lot.remaining > 0
    )


def expiring_soon(lots: Sequence[Lot], now: datetime, within: timedelta) -> tuple[Lot, ...]:
    """Lots holding points that expire after `now` and at most `within` later, soonest first."""
    _require_aware("now", now)
    until = now + within
    return tuple(
        lot
        for lot in sorted(lots, key=_soonest_first)
        if lot.expires_at is not None and now < lot.expires_at <= until and lot.remaining > 0
    )
