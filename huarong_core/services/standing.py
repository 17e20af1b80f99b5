"""Standing in the community: leaderboards, honours, and reports for the companies."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

from huarong_core.commands import (
    Board,
    GetLeaderboard,
    GetOrganizationReport,
    GetRank,
    GrantHonour,
    Honour,
    Leaderboard,
    LeaderboardEntry,
    ListHonours,
    OrganizationReport,
    ParticipationRow,
    RevokeHonour,
)
from huarong_core.domain.roles import Permission
from huarong_core.domain.validation import require_key, require_name
from huarong_core.errors import InvalidTransition, InvalidValue, NotFound
from huarong_core.events import HonourGranted
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.organizations import get_organization
from huarong_core.services.points import SCORING_KINDS, season_of
from huarong_core.services.registry import handles
from huarong_core.storage.repositories import MemberFilter


async def _board_key(ctx: Context, board: Board, key: str | None) -> str | None:
    if board is Board.SEASON:
        return key or season_of(ctx.now, ctx.community.tz, await ctx.repos.points.season_length())
    if board is Board.ORGANIZATION:
        if key is None or not (key.isascii() and key.isdigit()) or len(key) > 18:
            raise InvalidValue(field="key", value=key or "", reason="organization_required")
        await get_organization(ctx, int(key))
    if board is Board.CATEGORY:
        categories = {c.key for c in await ctx.repos.communities.categories(ctx.community.id)}
        if key not in categories:
            raise InvalidValue(field="categories", value=key or "", reason="unknown_category")
    return key


@handles(GetLeaderboard, cached=True)
async def leaderboard(ctx: Context, cmd: GetLeaderboard) -> Leaderboard:
    board = Board(cmd.board)
    key = await _board_key(ctx, board, cmd.key)
    offset = max(0, cmd.offset)
    rows = await ctx.repos.points.board(board.value, key, offset=offset, limit=cmd.limit)
    entries = tuple(LeaderboardEntry(*row) for row in rows)
    return Leaderboard(board, key, entries, offset, cmd.limit)


@handles(GetRank, cached=True)
async def rank(ctx: Context, cmd: GetRank) -> LeaderboardEntry | None:
    board = Board(cmd.board)
    key = await _board_key(ctx, board, cmd.key)
    found = await ctx.repos.points.rank(board.value, key, cmd.member_id)
    return None if found is None else LeaderboardEntry(*found)


@handles(GrantHonour)
async def grant_honour(ctx: Context, cmd: GrantHonour) -> Honour:
    ctx.require(Permission.GRANT_HONOURS)
    require_key("kind", cmd.kind)
    citation = require_name("citation", cmd.citation, max_length=1000)
    if cmd.ends_on is not None and cmd.ends_on < cmd.starts_on:
        raise InvalidValue(field="ends_on", value=cmd.ends_on.isoformat(), reason="bad_window")
    await get_member(ctx, cmd.member_id)
    honour = await ctx.repos.shop.add_honour(
        cmd.member_id,
        cmd.kind,
        cmd.title,
        citation,
        cmd.starts_on,
        cmd.ends_on,
        ctx.actor.label,
        ctx.now,
    )
    await ctx.audit("honour.grant", f"member:{cmd.member_id}", honour=honour.id, kind=cmd.kind)
    ctx.record(HonourGranted(cmd.member_id, honour.id, cmd.kind))
    return honour


@handles(RevokeHonour)
async def revoke_honour(ctx: Context, cmd: RevokeHonour) -> Honour:
    ctx.require(Permission.GRANT_HONOURS)
    honour = await ctx.repos.shop.honour(cmd.honour_id)
    if honour is None:
        raise NotFound(entity="honour", ref=f"#{cmd.honour_id}")
    if honour.revoked:
        raise InvalidTransition(
            entity="honour", ref=f"#{honour.id}", state="revoked", wanted="revoked"
        )
    await ctx.repos.shop.revoke_honour(cmd.honour_id, ctx.now)
    await ctx.audit("honour.revoke", f"member:{honour.member_id}", honour=honour.id)
    revoked = await ctx.repos.shop.honour(cmd.honour_id)
    assert revoked is not None
    return revoked


@handles(ListHonours)
async def list_honours(ctx: Context, cmd: ListHonours) -> tuple[Honour, ...]:
    today = ctx.community.local(ctx.now).date()
    honours = await ctx.repos.shop.honours(cmd.member_id)
    if cmd.current_only:
        honours = [h for h in honours if h.current_on(today)]
    return tuple(honours)


@handles(GetOrganizationReport)
async def organization_report(ctx: Context, cmd: GetOrganizationReport) -> OrganizationReport:
    ctx.require_anywhere(Permission.VIEW_REPORTS)
    if cmd.ends_on < cmd.starts_on:
        raise InvalidValue(field="ends_on", value=cmd.ends_on.isoformat(), reason="bad_window")
    organization = await get_organization(ctx, cmd.organization_id)
    tz = ctx.community.tz
    start = datetime.combine(cmd.starts_on, time(), tz)
    end = datetime.combine(cmd.ends_on + timedelta(days=1), time(), tz)
    members, _ = await ctx.repos.members.page(
        MemberFilter(organization_id=organization.id), offset=0, limit=1_000_000
    )
    wanted = {m.id for m in members}
    activities: dict[int, Counter[str]] = defaultdict(Counter)
    earned: Counter[int] = Counter()
    spent: Counter[int] = Counter()
    for entry in await ctx.repos.points.entries_between(start, end):
        if entry.member_id not in wanted:
            continue
        if entry.kind == "award" and entry.trigger:
            activities[entry.member_id][entry.trigger] += 1
        if entry.kind in SCORING_KINDS:
            earned[entry.member_id] += entry.delta
        elif entry.kind in ("redeem", "refund"):
            spent[entry.member_id] -= entry.delta  # a refund gives back what was spent
    balances = await ctx.repos.points.balances_of([m.id for m in members])
    rows = tuple(
        ParticipationRow(
            member_id=m.id,
            display_name=m.display_name,
            activities=dict(sorted(activities[m.id].items())),
            points_earned=earned[m.id],
            points_spent=spent[m.id],
            balance=balances.get(m.id, 0),
        )
        for m in members
    )
    return OrganizationReport(organization.id, organization.name, cmd.starts_on, cmd.ends_on, rows)
