"""Points: rules evaluated on activities, the exactly-once ledger, balances, expiry.

Every change of a balance goes through `credit` or `debit` here, in the
unit of work of the change that caused it: a ledger line, the balance, the
member's score and season score, and the lots that expiry consumes oldest
first move together or not at all. A member's points are serialized with
`Connection.lock`, so caps and cooldowns hold under concurrency on
PostgreSQL (SQLite runs one writer at a time anyway).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction

import attrs

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
from huarong_core.config import RuleEntry, rule_from_entry, structure_rule_entry
from huarong_core.domain.ledger import LedgerEntry, NewEntry, PendingAward
from huarong_core.domain.members import MemberStatus
from huarong_core.domain.points import (
    MANUAL_TRIGGER,
    MAX_POINTS,
    Decision,
    MemberFacts,
    Outcome,
    Period,
    Rule,
    RuleHistory,
    Trigger,
    consume_oldest_first,
    evaluate,
    expiring_soon,
    period_bounds,
    week_index,
)
from huarong_core.domain.roles import Permission
from huarong_core.domain.validation import require_name
from huarong_core.errors import AwardSkipped, InsufficientPoints, InvalidValue, NotFound
from huarong_core.events import PointsAwarded, PointsPending
from huarong_core.serialization import converter
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.registry import handles
from huarong_core.storage.codec import dumps

SCORING_KINDS = frozenset({"award", "manual"})
MAX_EXPIRY_WINDOW_DAYS = 3660
"""How far ahead a statement looks for expiring points at most (ten years)."""
"""Ledger kinds that count toward leaderboards; spending, refunds and expiry do not."""
SEASON_LENGTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def season_of(instant: datetime, tz: tzinfo, season: str) -> str:
    """The season an instant falls in: `2026`, `2026-H2`, `2026-Q3` or `2026-07`."""
    local = instant.astimezone(tz)
    length = SEASON_LENGTHS[season]
    if length == 12:
        return f"{local.year}"
    index = (local.month - 1) // length + 1
    if length == 6:
        return f"{local.year}-H{index}"
    if length == 3:
        return f"{local.year}-Q{index}"
    return f"{local.year}-{local.month:02d}"


# --- rules ------------------------------------------------------------------------


async def load_rules(ctx: Context) -> list[Rule]:
    rules = []
    for stored in await ctx.repos.points.rules():
        rule = _parse_rule(dumps(stored.definition))
        rules.append(attrs.evolve(rule, enabled=stored.enabled))
    return rules


@functools.lru_cache(maxsize=4096)
def _parse_rule(definition: str) -> Rule:
    """A stored definition as a rule; cached, since every activity evaluates its rules."""
    return rule_from_entry(structure_rule_entry(json.loads(definition)))


async def rules_for(ctx: Context, trigger: str) -> list[Rule]:
    """The enabled rules one kind of activity evaluates (read once per unit of work)."""
    key = f"rules:{trigger}"
    if key not in ctx.memo:
        texts, season = await ctx.repos.points.enabled_rules_for(trigger)
        ctx.memo[key] = [_parse_rule(text) for text in texts]
        if texts:
            ctx.memo.setdefault("season", season)
    rules: list[Rule] = ctx.memo[key]
    return rules


async def save_rule(ctx: Context, entry: RuleEntry, source: str) -> tuple[Rule, bool]:
    """Store a rule definition; the bool says whether anything changed."""
    rule = rule_from_entry(entry)
    definition = converter.unstructure(entry)
    current = {r.key: r for r in await ctx.repos.points.rules()}.get(entry.key)
    if (
        current is not None
        and current.definition == definition
        and current.enabled == entry.enabled
        and current.source == source
    ):
        return rule, False
    await ctx.repos.points.save_rule(
        entry.key, entry.trigger, definition, source, entry.enabled, ctx.now
    )
    await ctx.audit("points.rule.save", f"rule:{entry.key}", created=current is None, source=source)
    return rule, True


# --- balances ---------------------------------------------------------------------


async def lock_member(ctx: Context, member_id: int) -> None:
    await ctx.repos.conn.lock(f"points:{ctx.community.id}:{member_id}")


async def credit(ctx: Context, entry: NewEntry) -> LedgerEntry:
    """Write a ledger line and move the balance, score, season score and lots with it.

    A negative line (a penalty, a deduction) never drives the balance below
    zero: it takes what there is, and the line records what it took.
    """
    credited = await _credit(ctx, entry, once=False)
    assert credited is not None  # only `once` lines can find a twin
    return credited


async def _credit(ctx: Context, entry: NewEntry, *, once: bool) -> LedgerEntry | None:
    """`credit`; with `once` (positive rule awards), None if the source was already awarded."""
    points = ctx.repos.points
    delta = entry.delta
    if delta < 0:
        taken, _ = await _consume(ctx, entry.member_id, -delta, allow_partial=True)
        delta = -taken
        entry = attrs.evolve(entry, delta=delta)
    entry_id = await points.append(entry, ctx.now, once=once and delta > 0)
    if entry_id is None:
        return None
    scoring = delta if entry.kind in SCORING_KINDS else 0
    await points.add_to_balance(entry.member_id, delta if delta > 0 else 0, scoring, ctx.now)
    if scoring:
        season = season_of(entry.occurred_at, ctx.community.tz, await _season(ctx))
        await points.add_to_season(season, entry.member_id, scoring)
    if delta > 0 and entry.expires_at is not None:
        await points.add_lot(entry_id, entry.member_id, entry.occurred_at, entry.expires_at, delta)
    return LedgerEntry(
        id=entry_id,
        member_id=entry.member_id,
        delta=delta,
        kind=entry.kind,
        reason=entry.reason,
        occurred_at=entry.occurred_at,
        created_at=ctx.now,
        actor=entry.actor_label,
        rule_key=entry.rule_key,
        trigger=entry.trigger,
        source_id=entry.source_id,
        target=entry.target,
        bonus=entry.bonus,
        expires_at=entry.expires_at,
    )


Taken = tuple[tuple[int, int], ...]
"""(lot entry id, points) pairs that a spend took from expiring lots."""


async def _consume(
    ctx: Context, member_id: int, amount: int, *, allow_partial: bool
) -> tuple[int, Taken]:
    """Take `amount` from a balance, soonest-expiring points first.

    Returns what was taken in all, and how much of it came from which lot.
    """
    points = ctx.repos.points
    balance = await points.balance(member_id)
    take = min(amount, balance) if allow_partial else amount
    if take > balance:
        raise InsufficientPoints(member_id=member_id, needed=amount, balance=balance)
    if take <= 0:
        return 0, ()
    if not await points.spend(member_id, take, ctx.now):
        raise InsufficientPoints(member_id=member_id, needed=amount, balance=balance)
    lots = await points.open_lots(member_id)
    from_lots = min(take, sum(lot.remaining for lot in lots))
    taken: Taken = ()
    if from_lots:
        _, taken = consume_oldest_first(lots, from_lots)
        await points.take_from_lots(taken)
    return take, taken


async def debit(ctx: Context, entry: NewEntry) -> tuple[LedgerEntry, Taken]:
    """Spend: the whole amount or `InsufficientPoints`, never a balance below zero.

    The lots it took from come back with it, so a refund can put the points
    back with their own expiry dates.
    """
    _, taken = await _consume(ctx, entry.member_id, -entry.delta, allow_partial=False)
    entry_id = await ctx.repos.points.append(entry, ctx.now)
    assert entry_id is not None
    return LedgerEntry(
        id=entry_id,
        member_id=entry.member_id,
        delta=entry.delta,
        kind=entry.kind,
        reason=entry.reason,
        occurred_at=entry.occurred_at,
        created_at=ctx.now,
        actor=entry.actor_label,
        source_id=entry.source_id,
    ), taken


# --- evaluating activities ------------------------------------------------------------


async def _facts(ctx: Context, member_id: int) -> MemberFacts:
    # A member earning for their own action was read by this unit as it began, and no
    # command changes its own actor's categories or status before an award.
    acting = ctx.acting
    member = acting if acting is not None and acting.id == member_id else None
    if member is None:
        member = await ctx.repos.members.get(member_id)
    if member is None:
        raise NotFound(entity="member", ref=f"#{member_id}")
    return MemberFacts(member_id, member.categories, member.is_active)


NO_HISTORY = RuleHistory()


def _has_limits(rule: Rule) -> bool:
    return bool(
        rule.caps or rule.point_caps or rule.cooldown or rule.once_per_target or rule.streak
    )


def _is_plain(rule: Rule) -> bool:
    """Earns a positive amount with no limits and no approval: history cannot matter."""
    positive = (rule.per_unit if rule.per_unit is not None else rule.points) > 0
    return positive and not rule.approval and not _has_limits(rule)


async def _history(ctx: Context, rule: Rule, trigger: Trigger) -> RuleHistory:
    if not (rule.caps or rule.point_caps or rule.cooldown or rule.once_per_target or rule.streak):
        return NO_HISTORY  # nothing about the past can change this rule's decision
    points = ctx.repos.points
    tz = ctx.community.tz
    counts: dict[Period, int] = {}
    sums: dict[Period, int] = {}
    for period in {*rule.caps, *rule.point_caps}:
        start, end = period_bounds(trigger.occurred_at, tz, period)
        counts[period], sums[period] = await points.usage(trigger.member_id, rule.key, start, end)
    last = await points.last_award_at(trigger.member_id, rule.key) if rule.cooldown else None
    target_awarded = (
        await points.target_awarded(trigger.member_id, rule.key, trigger.target)
        if rule.once_per_target and trigger.target is not None
        else False
    )
    streak_weeks, this_week = 0, False
    if rule.streak is not None:
        streak_weeks, this_week = await _streak(ctx, rule, trigger, rule.streak.weeks)
    return RuleHistory(
        awards_in_period=counts,
        points_in_period=sums,
        last_award_at=last,
        target_awarded=target_awarded,
        streak_weeks=streak_weeks,
        awarded_this_week=this_week,
    )


async def _streak(ctx: Context, rule: Rule, trigger: Trigger, weeks: int) -> tuple[int, bool]:
    """Earlier consecutive weeks with an award since the last bonus; and is this week one?"""
    tz = ctx.community.tz
    since = trigger.occurred_at - timedelta(weeks=weeks + 1)
    awards = await ctx.repos.points.award_times(trigger.member_id, rule.key, since)
    current = week_index(trigger.occurred_at, tz)
    last_bonus_week = max((week_index(at, tz) for at, bonus in awards if bonus > 0), default=None)
    earned = {
        week_index(at, tz)
        for at, _ in awards
        if last_bonus_week is None or week_index(at, tz) > last_bonus_week
    }
    run = 0
    while current - run - 1 in earned:
        run += 1
    return run, current in earned


ONE = Fraction(1)


def _trigger(cmd: RecordActivity, now: datetime) -> Trigger:
    try:
        units = ONE if cmd.units == "1" else Fraction(cmd.units)
    except (ValueError, ZeroDivisionError):
        raise InvalidValue(field="units", value=cmd.units[:40], reason="not_a_number") from None
    return Trigger(
        kind=cmd.kind,
        source_id=cmd.source_id,
        member_id=cmd.member_id,
        occurred_at=cmd.occurred_at or now,
        units=units,
        target=cmd.target,
        club=cmd.club,
        series=cmd.series,
        station=cmd.station,
        tags=cmd.tags,
    )


def _award_line(
    ctx: Context,
    *,
    member_id: int,
    points: int,
    rule_key: str,
    trigger: str,
    source_id: str,
    target: str | None,
    occurred_at: datetime,
    bonus: int,
    expires_at: datetime | None,
) -> NewEntry:
    """The ledger line of a rule's award, by whoever makes it happen now."""
    return NewEntry(
        member_id=member_id,
        delta=points,
        kind="award",
        reason=rule_key,
        occurred_at=occurred_at,
        actor_label=ctx.actor.label,
        actor_member_id=ctx.actor.member_id,
        rule_key=rule_key,
        trigger=trigger,
        source_id=source_id,
        target=target,
        bonus=bonus,
        expires_at=expires_at,
    )


def _line_for(ctx: Context, trigger: Trigger, decision: Decision) -> NewEntry:
    """The ledger line of a rule's decision to award for an activity."""
    return _award_line(
        ctx,
        member_id=trigger.member_id,
        points=decision.points,
        rule_key=decision.rule_key,
        trigger=trigger.kind,
        source_id=trigger.source_id,
        target=trigger.target,
        occurred_at=trigger.occurred_at,
        bonus=decision.bonus,
        expires_at=decision.expires_at,
    )


async def record_activity(
    ctx: Context, trigger: Trigger, rules: list[Rule] | None = None
) -> tuple[AwardResult, ...]:
    """Evaluate every enabled rule of the trigger's kind; each awards at most once per source."""
    if rules is None:
        rules = await rules_for(ctx, trigger.kind)
    matching = [r for r in rules if r.trigger == trigger.kind]
    if not matching:
        return ()
    if not all(_is_plain(rule) for rule in matching):
        # Caps, cooldowns and streaks read history that a concurrent award could
        # change; plain rules only insert (once) and add, both atomic.
        await lock_member(ctx, trigger.member_id)
    facts = await _facts(ctx, trigger.member_id)
    points = ctx.repos.points
    results = []
    for rule in matching:
        # A plain earning rule (no limits, no approval) decides the same however
        # often it sees an event, so its ledger insert itself finds a duplicate;
        # any other rule looks first, so a redelivery answers "duplicate", not
        # "cap reached" (its own first award would count toward the cap).
        plain = _is_plain(rule)
        if not plain and await points.already_awarded(rule.key, trigger.source_id):
            results.append(AwardResult(rule.key, "duplicate", 0))
            continue
        decision = evaluate(
            rule, trigger, facts, await _history(ctx, rule, trigger), ctx.community.tz
        )
        if decision.outcome is Outcome.SKIPPED:
            results.append(AwardResult(rule.key, decision.outcome.value, 0, decision.reason))
            continue
        if decision.outcome is Outcome.PENDING:
            pending_id = await points.add_pending(
                member_id=trigger.member_id,
                rule_key=rule.key,
                trigger=trigger.kind,
                source_id=trigger.source_id,
                target=trigger.target,
                points=decision.points,
                occurred_at=trigger.occurred_at,
                expires_at=decision.expires_at,
                now=ctx.now,
                bonus=decision.bonus,
            )
            ctx.record(PointsPending(trigger.member_id, rule.key, decision.points, pending_id))
            results.append(AwardResult(rule.key, "pending", decision.points, None, pending_id))
            continue
        line = _line_for(ctx, trigger, decision)
        entry = await _credit(ctx, line, once=plain)
        if entry is None:
            results.append(AwardResult(rule.key, "duplicate", 0))
            continue
        ctx.record(PointsAwarded(trigger.member_id, entry.delta, rule.key, entry.id))
        results.append(AwardResult(rule.key, "awarded", entry.delta, decision.reason, entry.id))
    return tuple(results)


async def _season(ctx: Context) -> str:
    if "season" not in ctx.memo:
        ctx.memo["season"] = await ctx.repos.points.season_length()
    season: str = ctx.memo["season"]
    return season


@handles(RecordActivity, quick=True)
async def record(ctx: Context, cmd: RecordActivity) -> tuple[AwardResult, ...]:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    return await record_activity(ctx, _trigger(cmd, ctx.now))


@handles(RecordActivities)
async def record_many(ctx: Context, cmd: RecordActivities) -> tuple[tuple[AwardResult, ...], ...]:
    """Many activities in one unit: plain rules in bulk, every other rule one by one.

    Activities whose rules are all plain (positive, no limits, no approval)
    cannot affect one another's decisions, so they are evaluated in memory
    and written with one statement call per table; the answers are the same
    as recording them one at a time.
    """
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    results: list[tuple[AwardResult, ...]] = [()] * len(cmd.activities)
    plain: list[tuple[int, Trigger, list[Rule]]] = []
    for index, activity in enumerate(cmd.activities):
        trigger = _trigger(activity, ctx.now)
        rules = [r for r in await rules_for(ctx, trigger.kind) if r.trigger == trigger.kind]
        if rules and all(_is_plain(rule) for rule in rules):
            plain.append((index, trigger, rules))
        elif rules:
            results[index] = await record_activity(ctx, trigger, rules)
    if plain:
        for index, answer in (await _record_plain(ctx, plain)).items():
            results[index] = answer
    return tuple(results)


async def _record_plain(
    ctx: Context, jobs: list[tuple[int, Trigger, list[Rule]]]
) -> dict[int, tuple[AwardResult, ...]]:
    points = ctx.repos.points
    facts = await points.facts_of([trigger.member_id for _, trigger, _ in jobs])
    seen: set[tuple[str, str]] = set()
    lines: list[NewEntry] = []
    answers: dict[int, list[AwardResult | NewEntry]] = {}
    for index, trigger, rules in jobs:
        found = facts.get(trigger.member_id)
        if found is None:
            raise NotFound(entity="member", ref=f"#{trigger.member_id}")
        member = MemberFacts(trigger.member_id, found[1], found[0] == MemberStatus.ACTIVE.value)
        answer: list[AwardResult | NewEntry] = []
        for rule in rules:
            key = (rule.key, trigger.source_id)
            if key in seen:  # the same source twice in one batch
                answer.append(AwardResult(rule.key, "duplicate", 0))
                continue
            decision = evaluate(rule, trigger, member, NO_HISTORY, ctx.community.tz)
            if decision.outcome is Outcome.SKIPPED:
                answer.append(AwardResult(rule.key, "skipped", 0, decision.reason))
                continue
            seen.add(key)
            line = _line_for(ctx, trigger, decision)
            lines.append(line)
            answer.append(line)
        answers[index] = answer
    # The ledger's exactly-once index decides which lines are new: the rest
    # answered an earlier delivery of their source.
    ids = await points.insert_awards(lines, ctx.now) if lines else {}
    written = [line for line in lines if (line.rule_key or "", line.source_id or "") in ids]
    if written:
        balances: dict[int, int] = defaultdict(int)
        seasons: dict[tuple[str, int], int] = defaultdict(int)
        length = await _season(ctx)
        lots = []
        for line in written:
            entry_id = ids[(line.rule_key or "", line.source_id or "")]
            balances[line.member_id] += line.delta
            season = season_of(line.occurred_at, ctx.community.tz, length)
            seasons[(season, line.member_id)] += line.delta
            if line.expires_at is not None:
                lots.append(
                    (entry_id, line.member_id, line.occurred_at, line.expires_at, line.delta)
                )
            ctx.record(PointsAwarded(line.member_id, line.delta, line.rule_key, entry_id))
        await points.add_earnings(balances, seasons, ctx.now)
        if lots:
            await points.add_lots(lots)

    def result(item: AwardResult | NewEntry) -> AwardResult:
        if isinstance(item, AwardResult):
            return item
        key = (item.rule_key or "", item.source_id or "")
        if key not in ids:
            return AwardResult(key[0], "duplicate", 0)
        return AwardResult(key[0], "awarded", item.delta, None, ids[key])

    return {index: tuple(result(item) for item in answer) for index, answer in answers.items()}


@handles(AwardPoints)
async def award_points(ctx: Context, cmd: AwardPoints) -> LedgerEntry:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    reason = require_name("reason", cmd.reason, max_length=500)
    await get_member(ctx, cmd.member_id)
    await lock_member(ctx, cmd.member_id)
    if cmd.rule is not None:
        rule = next((r for r in await load_rules(ctx) if r.key == cmd.rule), None)
        if rule is None or rule.trigger != MANUAL_TRIGGER:
            raise NotFound(entity="points_rule", ref=cmd.rule)
        source = cmd.source_id or f"manual:{uuid.uuid4().hex}"
        trigger = Trigger(MANUAL_TRIGGER, source, cmd.member_id, ctx.now)
        [result] = await record_activity(ctx, trigger, [rule])
        if result.entry_id is None:
            raise AwardSkipped(rule=cmd.rule, reason=result.reason or result.outcome)
        await ctx.audit("points.manual", f"member:{cmd.member_id}", rule=cmd.rule, reason=reason)
        awarded = await ctx.repos.points.entry(result.entry_id)
        if awarded is None:
            raise NotFound(entity="ledger_entry", ref=f"#{result.entry_id}")
        return awarded
    if cmd.points == 0:
        raise InvalidValue(field="points", value="0", reason="zero_points")
    if abs(cmd.points) > MAX_POINTS:
        raise InvalidValue(field="points", value=str(cmd.points)[:40], reason="out_of_range")
    if cmd.source_id is not None:
        # The same manual award sent twice (a retried request) is one award.
        earlier = await ctx.repos.points.manual_entry(cmd.member_id, cmd.source_id)
        if earlier is not None:
            return earlier
    if cmd.points < 0:
        balance = await ctx.repos.points.balance(cmd.member_id)
        if -cmd.points > balance:
            raise InsufficientPoints(member_id=cmd.member_id, needed=-cmd.points, balance=balance)
    entry = await credit(
        ctx,
        NewEntry(
            member_id=cmd.member_id,
            delta=cmd.points,
            kind="manual",
            reason=reason,
            occurred_at=ctx.now,
            actor_label=ctx.actor.label,
            actor_member_id=ctx.actor.member_id,
            source_id=cmd.source_id,
        ),
    )
    await ctx.audit("points.manual", f"member:{cmd.member_id}", points=cmd.points, reason=reason)
    ctx.record(PointsAwarded(cmd.member_id, entry.delta, None, entry.id))
    return entry


@handles(DecidePendingAward)
async def decide_pending(ctx: Context, cmd: DecidePendingAward) -> PendingAward:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    points = ctx.repos.points
    pending = await points.pending(cmd.pending_id)
    if pending is None:
        raise NotFound(entity="pending_award", ref=f"#{cmd.pending_id}")
    await lock_member(ctx, pending.member_id)
    status = "approved" if cmd.approve else "rejected"
    if not await points.decide_pending(cmd.pending_id, status, ctx.actor.label, cmd.note, ctx.now):
        raise InvalidValue(field="status", value=pending.status, reason="already_decided")
    if cmd.approve:
        line = _award_line(
            ctx,
            member_id=pending.member_id,
            points=pending.points,
            rule_key=pending.rule_key,
            trigger=pending.trigger,
            source_id=pending.source_id,
            target=pending.target,
            occurred_at=pending.occurred_at,
            bonus=pending.bonus,
            expires_at=pending.expires_at,
        )
        entry = await credit(ctx, line)
        ctx.record(PointsAwarded(pending.member_id, entry.delta, pending.rule_key, entry.id))
    await ctx.audit(
        f"points.pending.{status}",
        f"member:{pending.member_id}",
        pending=cmd.pending_id,
        note=cmd.note,
    )
    decided = await points.pending(cmd.pending_id)
    assert decided is not None
    return decided


@handles(ListPendingAwards)
async def list_pending(ctx: Context, cmd: ListPendingAwards) -> tuple[PendingAward, ...]:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    return tuple(await ctx.repos.points.pending_list(cmd.status, cmd.limit))


@handles(GetPointsStatement)
async def statement(ctx: Context, cmd: GetPointsStatement) -> PointsStatement:
    if ctx.actor.member_id != cmd.member_id:
        ctx.require_anywhere(Permission.MANAGE_POINTS)
    await get_member(ctx, cmd.member_id)
    points = ctx.repos.points
    entries = await points.statement(cmd.member_id, before_id=cmd.before_id, limit=cmd.limit)
    balances = await points.balance_and_score(cmd.member_id)
    lots = await points.open_lots(cmd.member_id)
    if not 0 <= cmd.expiring_within_days <= MAX_EXPIRY_WINDOW_DAYS:
        raise InvalidValue(
            field="expiring_within_days",
            value=str(cmd.expiring_within_days),
            reason="out_of_range",
        )
    soon = expiring_soon(lots, ctx.now, timedelta(days=cmd.expiring_within_days))
    return PointsStatement(cmd.member_id, balances[0], balances[1], tuple(entries), soon)


@handles(ExpirePoints)
async def expire_points(ctx: Context, cmd: ExpirePoints) -> int:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    points = ctx.repos.points
    total = 0
    for member_id in await points.members_with_due_lots(ctx.now):
        await lock_member(ctx, member_id)
        due = [
            lot
            for lot in await points.open_lots(member_id)
            if lot.expires_at is not None and lot.expires_at <= ctx.now
        ]
        amount = sum(lot.remaining for lot in due)
        if amount <= 0:
            continue
        if not await points.spend(member_id, amount, ctx.now):
            raise InsufficientPoints(
                member_id=member_id, needed=amount, balance=await points.balance(member_id)
            )
        await points.take_from_lots([(lot.entry_id, lot.remaining) for lot in due])
        await points.append(
            NewEntry(
                member_id=member_id,
                delta=-amount,
                kind="expire",
                reason="expired",
                occurred_at=ctx.now,
                actor_label=ctx.actor.label,
                actor_member_id=ctx.actor.member_id,
            ),
            ctx.now,
        )
        total += amount
    if total:
        await ctx.audit("points.expire", f"community:{ctx.community.key}", points=total)
    return total


def fold_merged_scores(
    sums: dict[int, tuple[int, int]], merges: dict[int, int]
) -> dict[int, tuple[int, int]]:
    """(balance, score) per member from the ledger, a merged member's score counted for
    the member it was merged into (its balance moved by `merge` lines of its own)."""
    folded = dict(sums)
    for absorbed in merges:
        survivor = absorbed
        while survivor in merges:
            survivor = merges[survivor]
        total, score = folded.get(absorbed, (0, 0))
        if score:
            folded[absorbed] = (total, 0)
            kept_total, kept_score = folded.get(survivor, (0, 0))
            folded[survivor] = (kept_total, kept_score + score)
    return folded


@handles(VerifyLedger)
async def verify_ledger(ctx: Context, cmd: VerifyLedger) -> tuple[LedgerDifference, ...]:
    ctx.require_anywhere(Permission.MANAGE_POINTS)
    points = ctx.repos.points
    computed = fold_merged_scores(await points.sums(), await ctx.repos.linking.merges())
    stored = await points.all_balances()
    lots = await points.lots_total()
    seasons = await points.season_totals()
    differences = []
    for member_id in sorted(set(computed) | set(stored) | set(lots) | set(seasons)):
        total, score = computed.get(member_id, (0, 0))
        balance, stored_score = stored.get(member_id, (0, 0))
        if balance != total:
            differences.append(LedgerDifference(member_id, "balance", balance, total))
        if stored_score != score:
            differences.append(LedgerDifference(member_id, "score", stored_score, score))
        if balance < 0:
            differences.append(LedgerDifference(member_id, "negative_balance", balance, 0))
        if lots.get(member_id, 0) > balance:
            differences.append(LedgerDifference(member_id, "lots", lots[member_id], balance))
        if seasons.get(member_id, 0) != score:
            differences.append(
                LedgerDifference(member_id, "season_scores", seasons.get(member_id, 0), score)
            )
    held = Counter(score for _, score in stored.values() if score != 0)
    counted = await points.score_counts()
    for score in sorted(set(held) | set(counted)):
        if held.get(score, 0) != counted.get(score, 0):
            differences.append(
                LedgerDifference(0, f"score_counts:{score}", counted.get(score, 0), held[score])
            )
    return tuple(differences)


@handles(DefinePointsRule)
async def define_rule(ctx: Context, cmd: DefinePointsRule) -> Rule:
    ctx.require(Permission.MANAGE_POINTS)
    rule, _ = await save_rule(ctx, cmd.definition, "admin")
    return rule


@handles(SetPointsRuleEnabled)
async def set_rule_enabled(ctx: Context, cmd: SetPointsRuleEnabled) -> Rule:
    ctx.require(Permission.MANAGE_POINTS)
    stored = {r.key: r for r in await ctx.repos.points.rules()}.get(cmd.key)
    if stored is None:
        raise NotFound(entity="points_rule", ref=cmd.key)
    entry = attrs.evolve(structure_rule_entry(stored.definition), enabled=cmd.enabled)
    rule, _ = await save_rule(ctx, entry, stored.source)
    return rule


@handles(ListPointsRules)
async def list_rules(ctx: Context, cmd: ListPointsRules) -> tuple[Rule, ...]:
    return tuple(await load_rules(ctx))
