"""Linked identities: one-time link codes and the merge of two members.

The rules, table by table, are in `huarong_core.commands.linking`. The code rules
(alphabet, lifetime, limits) are `huarong_core.services.codes`, shared with web
sign-in codes; `CODE_ALPHABET`, `CODE_LENGTH` and `CODE_LIFETIME` stay importable
from here, where they were first defined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from huarong_core.commands import CreateLinkCode, LinkCode, LinkResult, RedeemLinkCode
from huarong_core.domain.ledger import NewEntry
from huarong_core.domain.members import IdentityRef, Member
from huarong_core.domain.roles import Permission
from huarong_core.errors import (
    LinkCodeExpired,
    LinkRefused,
    MemberInactive,
    NotFound,
    WrongLinkCode,
)
from huarong_core.events import MembersMerged, WaitlistPromoted
from huarong_core.services.codes import CODE_ALPHABET as CODE_ALPHABET
from huarong_core.services.codes import CODE_LENGTH as CODE_LENGTH
from huarong_core.services.codes import CODE_LIFETIME as CODE_LIFETIME
from huarong_core.services.codes import (
    MAX_WRONG_TRIES,
    MAX_WRONG_TRIES_EVERYWHERE,
    TRIES_WINDOW,
    code_hash,
    issue_code,
    normal_code,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member, get_member
from huarong_core.services.points import lock_member
from huarong_core.services.registry import handles
from huarong_core.storage.base import Row
from huarong_core.storage.codec import as_datetime

# --- codes ---------------------------------------------------------------------------


@handles(CreateLinkCode)
async def create_link_code(ctx: Context, cmd: CreateLinkCode) -> LinkCode:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_IDENTITIES)
    member = await get_active_member(ctx, member_id)
    issued = await issue_code(
        ctx, ctx.uow.linking, member.id, lock=f"link:{ctx.community.id}:{member.id}"
    )
    if issued is None:
        raise LinkRefused(reason="too_many_codes")
    code, expires_at = issued
    await ctx.audit("member.link_code", f"member:{member.id}", expires_at=expires_at.isoformat())
    return LinkCode(code, member.id, expires_at)


@handles(RedeemLinkCode)
async def redeem_link_code(ctx: Context, cmd: RedeemLinkCode) -> LinkResult:
    ref = IdentityRef(cmd.platform, cmd.external_id)
    identity = await ctx.repos.identities.get(ref)
    if identity is None:
        raise NotFound(entity="identity", ref=str(ref))
    if ctx.actor.member_id != identity.member_id:
        ctx.require(Permission.MANAGE_IDENTITIES)
    redeemer = await get_active_member(ctx, identity.member_id)
    repo = ctx.uow.linking
    # Each chat account a person writes from can become a member of its own: the
    # ceiling on everyone's wrong tries bounds guessing spread over many of them.
    mine, everyone = await repo.wrong_tries_of(
        WrongLinkCode.audit_action, f"member:{redeemer.id}", ctx.now - TRIES_WINDOW
    )
    if mine >= MAX_WRONG_TRIES or everyone >= MAX_WRONG_TRIES_EVERYWHERE:
        raise LinkRefused(reason="too_many_attempts")
    stored = await repo.code_by_hash(code_hash(normal_code(cmd.code)))
    if stored is None or stored.used_at is not None:
        raise WrongLinkCode(member_id=redeemer.id)
    if stored.expires_at <= ctx.now:
        raise LinkCodeExpired(member_id=redeemer.id)
    if stored.member_id == redeemer.id:
        return LinkResult(
            survivor=redeemer,
            absorbed_id=None,
            identities=tuple(await ctx.repos.identities.for_member(redeemer.id)),
            balance=await ctx.repos.points.balance(redeemer.id),
        )
    survivor = await get_member(ctx, stored.member_id)
    if not survivor.is_active:
        raise MemberInactive(member_id=survivor.id, status=survivor.status.value)
    if not await repo.use_code(stored.id, redeemer.id, ctx.now):
        # Redeemed meanwhile (a double send): the first one merged.
        raise WrongLinkCode(member_id=redeemer.id)
    moved = await merge_members(ctx, survivor, redeemer)
    survivor = await get_member(ctx, survivor.id)
    return LinkResult(
        survivor=survivor,
        absorbed_id=redeemer.id,
        identities=tuple(await ctx.repos.identities.for_member(survivor.id)),
        balance=await ctx.repos.points.balance(survivor.id),
        points_moved=moved,
    )


# --- the merge -------------------------------------------------------------------------


async def merge_members(ctx: Context, survivor: Member, absorbed: Member) -> int:
    """Make `absorbed` part of `survivor` (the rules: `huarong_core.commands.linking`).

    Returns the points moved. Runs inside the caller's unit of work.
    """
    s, a = survivor.id, absorbed.id
    repo = ctx.uow.linking
    for member_id in sorted((s, a)):
        await lock_member(ctx, member_id)
    identities = await ctx.repos.identities.for_member(a)
    counts: dict[str, Any] = {}

    async def move(table: str, column: str, **options: Any) -> None:
        moved, dropped = await repo.move(table, column, a, s, **options)
        if moved or dropped:
            counts[table if column == "member_id" else f"{table}.{column}"] = [moved, dropped]

    await move("identities", "member_id")
    await repo.retire_codes(a, ctx.now)
    await ctx.uow.access.retire_codes(a, ctx.now)
    points = await _merge_points(ctx, s, a)
    # Moved whole: no unique key involves the member.
    await move("redemptions", "member_id")
    await move("honours", "member_id")
    await move("pending_awards", "member_id", where="status = 'pending'")
    await move("service_requests", "requester_id")
    await move("service_requests", "assignee_id")
    await move("book_loans", "member_id")
    await move("book_copies", "held_for")
    await move("book_copies", "donor_id")
    await move("book_donations", "member_id")
    await move("smile_photos", "member_id")
    await move("aid_cases", "member_id")
    await move("api_tokens", "member_id")
    # One row per member and thing: the survivor's wins, the other is dropped or stays.
    await move("role_grants", "member_id", keys=("role", "scope_kind", "scope_key"))
    await move("gathering_feedback", "member_id", keys=("gathering_id",))
    await move("challenge_team_members", "member_id", keys=("gathering_id",))
    await move("station_subscriptions", "member_id", keys=("station_key",))
    await move("aid_case_staff", "member_id", keys=("case_id",))
    await move("reflections", "member_id", keys=("book_id",), on_conflict="stay")
    await move("reflection_votes", "member_id", keys=("contest_id",), on_conflict="stay")
    password = await ctx.uow.access.move_password(a, s)
    if any(password):
        counts["member_passwords"] = list(password)
    entries = await repo.move_contest_entries(a, s)
    if any(entries):
        counts["contest_scores"] = list(entries)
    deliveries = await repo.move_deliveries(a, s)
    if deliveries:
        counts["announcement_deliveries"] = [deliveries, 0]
    notices = await repo.move_notifications(a, s)
    if notices:
        counts["notifications"] = [notices, 0]
    # One row per member and thing, where the stronger row wins.
    await _merge_by_strength(
        ctx, "club_members", ("club_key",), _club_strength, counts, survivor=s, absorbed=a
    )
    await _merge_by_strength(
        ctx, "volunteers", (), _volunteer_strength, counts, survivor=s, absorbed=a
    )
    await _merge_signups(ctx, s, a, counts)
    await _merge_rsvps(ctx, s, a, counts)
    await _merge_holds(ctx, s, a, counts)
    await _merge_profile(ctx, survivor, absorbed)
    await repo.mark_merged(a, s, ctx.now)
    refs = tuple(str(i.ref) for i in identities)
    await ctx.audit(
        "member.merge",
        f"member:{s}",
        absorbed=a,
        identities=list(refs),
        points=points,
        rows=counts,
    )
    ctx.record(MembersMerged(s, a, points, refs))
    return points


async def _merge_profile(ctx: Context, survivor: Member, absorbed: Member) -> None:
    """The survivor's profile stays, an empty organization or language filled in; but a
    survivor without a key (registered by chat) takes the profile of an absorbed member
    with one (the person the community file or an import knows), key included."""
    if survivor.key is None and absorbed.key is not None:
        await ctx.repos.members.update(attrs.evolve(absorbed, key=None), ctx.now)
        wanted = Member(
            survivor.id,
            absorbed.display_name,
            absorbed.key,
            absorbed.categories,
            absorbed.organization_id,
            survivor.locale or absorbed.locale,
            survivor.status,
        )
    else:
        wanted = attrs.evolve(
            survivor,
            organization_id=survivor.organization_id or absorbed.organization_id,
            locale=survivor.locale or absorbed.locale,
        )
    if wanted != survivor:
        await ctx.repos.members.update(wanted, ctx.now)


async def _merge_points(ctx: Context, s: int, a: int) -> int:
    """Balance by a pair of `merge` lines, open lots with their dates, scores and seasons."""
    points = ctx.repos.points
    repo = ctx.uow.linking
    balance, score = await points.balance_and_score(a)
    if balance > 0:
        for member_id, delta, other in ((a, -balance, s), (s, balance, a)):
            await points.append(
                NewEntry(
                    member_id=member_id,
                    delta=delta,
                    kind="merge",
                    reason="merge",
                    occurred_at=ctx.now,
                    actor_label=ctx.actor.label,
                    actor_member_id=ctx.actor.member_id,
                    source_id=f"merge:{a}",
                    target=f"member:{other}",
                ),
                ctx.now,
            )
        if not await points.spend(a, balance, ctx.now):  # pragma: no cover - locked above
            raise AssertionError("the absorbed balance changed under its lock")
    await repo.move_open_lots(a, s)
    if score:
        await repo.take_score(a, score, ctx.now)
        await points.move_in_score_counts({score: -1})
    if balance > 0 or score:
        await points.add_to_balance(s, max(balance, 0), score, ctx.now)
    for season, season_score in await repo.season_rows(a):
        await points.add_to_season(season, s, season_score)
    await repo.drop_seasons(a)
    return max(balance, 0)


Strength = Callable[[Row], tuple[int, ...]]


def _club_strength(row: Row) -> tuple[int, ...]:
    order = {"active": 3, "pending": 2, "left": 1, "declined": 0}
    return (order.get(str(row["status"]), 0),)


def _volunteer_strength(row: Row) -> tuple[int, ...]:
    return (1 if row["status"] == "active" else 0,)


def _pairs(rows: list[Row], keys: tuple[str, ...], s: int, a: int) -> list[tuple[Row | None, Row]]:
    """(survivor's row or None, absorbed row) per key the absorbed member has."""
    mine: dict[tuple[Any, ...], Row] = {}
    theirs: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        (mine if int(row["member_id"]) == s else theirs)[key] = row
    return [(mine.get(key), row) for key, row in sorted(theirs.items(), key=lambda i: str(i[0]))]


async def _merge_by_strength(
    ctx: Context,
    table: str,
    keys: tuple[str, ...],
    strength: Strength,
    counts: dict[str, Any],
    *,
    survivor: int,
    absorbed: int,
) -> list[tuple[Row | None, Row, bool]]:
    """Move each absorbed row; against a twin, the stronger row (the survivor's on a tie)
    is kept as the survivor's. Returns (twin, row, absorbed row kept) for each."""
    repo = ctx.uow.linking
    rows = await repo.rows_of(table, "member_id", (survivor, absorbed))
    done = []
    moved = dropped = 0
    for twin, row in _pairs(rows, keys, survivor, absorbed):
        match = {k: row[k] for k in keys}
        keep_absorbed = twin is None or strength(row) > strength(twin)
        if twin is not None:
            gone = row if not keep_absorbed else twin
            await repo.delete_row(table, {**match, "member_id": int(gone["member_id"])})
            dropped += 1
        if keep_absorbed:
            await repo.update_row(table, {**match, "member_id": absorbed}, {"member_id": survivor})
            moved += 1
        done.append((twin, row, keep_absorbed))
    if moved or dropped:
        counts[table] = [moved, dropped]
    return done


def _signup_strength(row: Row) -> tuple[int, ...]:
    confirmed = row["hours_hundredths"] is not None
    return (2 if confirmed else 1 if row["status"] == "signed_up" else 0,)


async def _merge_signups(ctx: Context, s: int, a: int, counts: dict[str, Any]) -> None:
    done = await _merge_by_strength(
        ctx, "volunteer_signups", ("shift_id",), _signup_strength, counts, survivor=s, absorbed=a
    )
    for twin, row, keep_absorbed in done:
        if twin is None:
            continue
        gone = twin if keep_absorbed else row
        if gone["status"] == "signed_up":
            await ctx.uow.linking.release_slot(int(gone["shift_id"]))


_RSVP_ORDER = {"going": 3, "walk_in": 3, "waitlisted": 2, "maybe": 1, "not_going": 0}


def _rsvp_strength(row: Row) -> tuple[int, ...]:
    return (
        1 if row["checked_in_at"] is not None else 0,
        1 if row["attendance"] == "attended" else 0,
        _RSVP_ORDER.get(str(row["status"]), 0),
        -int(row["seq"]),
    )


async def _merge_rsvps(ctx: Context, s: int, a: int, counts: dict[str, Any]) -> None:
    """The stronger answer per gathering; a `going` dropped frees a seat for the waitlist."""
    done = await _merge_by_strength(
        ctx, "rsvps", ("gathering_id",), _rsvp_strength, counts, survivor=s, absorbed=a
    )
    freed = sorted(
        {
            int(row["gathering_id"])
            for twin, row, keep_absorbed in done
            if twin is not None and (twin if keep_absorbed else row)["status"] == "going"
        }
    )
    gatherings = await ctx.uow.linking.gatherings_of(freed)
    repo = ctx.repos.gatherings
    for gathering_id in freed:
        found = gatherings[gathering_id]
        if found["status"] != "scheduled" or as_datetime(found["starts_at"]) <= ctx.now:
            continue
        await ctx.repos.conn.lock(f"gathering:{ctx.community.id}:{gathering_id}")
        capacity = found["capacity"]
        if capacity is None:
            continue  # without a limit nobody waits for a seat
        free = int(capacity) - await repo.going_count(gathering_id)
        waiting = await repo.first_waitlisted(gathering_id, free) if free > 0 else []
        if waiting:
            await repo.promote(gathering_id, waiting)
            for member_id in waiting:
                ctx.record(WaitlistPromoted(gathering_id, member_id))


def _hold_strength(row: Row) -> tuple[int, ...]:
    return (1 if row["status"] == "ready" else 0, -int(row["id"]))


async def _merge_holds(ctx: Context, s: int, a: int, counts: dict[str, Any]) -> None:
    """Open holds: one per member and book (ready > waiting, then the older); the weaker
    one is cancelled (and a copy held for it released). Closed holds move as they are."""
    repo = ctx.uow.linking
    rows = [
        r
        for r in await repo.rows_of("book_holds", "member_id", (s, a))
        if r["status"] in ("waiting", "ready")
    ]
    moved = cancelled = 0
    for twin, row in _pairs(rows, ("book_id",), s, a):
        if twin is None:
            continue
        gone = twin if _hold_strength(row) > _hold_strength(twin) else row
        await repo.update_row(
            "book_holds", {"id": int(gone["id"])}, {"status": "cancelled", "closed_at": ctx.now}
        )
        if gone["status"] == "ready" and gone["copy_code"] is not None:
            await repo.free_copy(str(gone["copy_code"]), ctx.now)
        cancelled += 1
    moved, _ = await repo.move("book_holds", "member_id", a, s)
    if moved or cancelled:
        counts["book_holds"] = [moved, cancelled]
