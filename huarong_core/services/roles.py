"""Roles: who may do what, where."""

from __future__ import annotations

import enum

import attrs

from huarong_core.commands import GrantRole, ListRoleGrants, RevokeRole
from huarong_core.domain.roles import (
    GrantSource,
    Permission,
    Role,
    RoleGrant,
    Scope,
    ScopeKind,
    check_scope_allowed,
)
from huarong_core.errors import NotFound
from huarong_core.events import RoleGranted, RoleRevoked
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.registry import handles
from huarong_core.services.stations import get_station


async def check_scope_exists(ctx: Context, scope: Scope) -> None:
    if scope.kind is ScopeKind.STATION:
        await get_station(ctx, scope.key)
    elif scope.kind is ScopeKind.CLUB and await ctx.repos.clubs.get(scope.key) is None:
        raise NotFound(entity="club", ref=scope.key)


class GrantOutcome(enum.Enum):
    CREATED = "created"
    ADOPTED = "adopted"
    UNCHANGED = "unchanged"


async def grant_role(
    ctx: Context,
    member_id: int,
    role: Role,
    scope: Scope,
    source: GrantSource,
    *,
    authorized: bool = False,
) -> tuple[RoleGrant, GrantOutcome]:
    """Grant a role. The community file adopts a manual grant it also lists.

    An adopted grant then follows the file: it is revoked when the file
    stops listing it. `authorized`: the caller already checked a narrower
    permission (staff appointing a club's leaders when they create it).
    """
    if not authorized:
        ctx.require(Permission.MANAGE_ROLES)
    check_scope_allowed(role, scope)
    await check_scope_exists(ctx, scope)
    await get_member(ctx, member_id)
    added = await ctx.repos.roles.add(member_id, role, scope, source, ctx.actor.label, ctx.now)
    if added is None:
        held = next(
            g
            for g in await ctx.repos.roles.for_member(member_id)
            if g.role is role and g.scope == scope
        )
        if held.source is not source and source is GrantSource.CONFIG:
            await ctx.repos.roles.set_source(held, source)
            await ctx.audit("role.adopt", f"member:{member_id}", role=role.value, scope=str(scope))
            return attrs.evolve(held, source=source), GrantOutcome.ADOPTED
        return held, GrantOutcome.UNCHANGED
    await ctx.audit("role.grant", f"member:{member_id}", role=role.value, scope=str(scope))
    ctx.record(RoleGranted(member_id, role.value, str(scope)))
    return added, GrantOutcome.CREATED


async def revoke_role(ctx: Context, member_id: int, role: Role, scope: Scope) -> RoleGrant:
    ctx.require(Permission.MANAGE_ROLES)
    removed = await ctx.repos.roles.remove(member_id, role, scope)
    if removed is None:
        raise NotFound(entity="role_grant", ref=f"#{member_id} {role.value}@{scope}")
    await ctx.audit("role.revoke", f"member:{member_id}", role=role.value, scope=str(scope))
    ctx.record(RoleRevoked(member_id, role.value, str(scope)))
    return removed


@handles(GrantRole)
async def grant(ctx: Context, cmd: GrantRole) -> RoleGrant:
    granted, _ = await grant_role(ctx, cmd.member_id, Role(cmd.role), cmd.scope, GrantSource.MANUAL)
    return granted


@handles(RevokeRole)
async def revoke(ctx: Context, cmd: RevokeRole) -> RoleGrant:
    return await revoke_role(ctx, cmd.member_id, Role(cmd.role), cmd.scope)


@handles(ListRoleGrants)
async def list_grants(ctx: Context, cmd: ListRoleGrants) -> tuple[RoleGrant, ...]:
    if cmd.member_id is None or cmd.member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    if cmd.member_id is None:
        return tuple(await ctx.repos.roles.all())
    await get_member(ctx, cmd.member_id)
    return tuple(await ctx.repos.roles.for_member(cmd.member_id))
