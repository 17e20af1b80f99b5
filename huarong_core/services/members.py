"""Members: registration, profile changes, status, lookups."""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from huarong_core.commands import (
    FindMember,
    FindMemberByIdentity,
    GetMember,
    ListMembers,
    MemberProfile,
    Page,
    RegisterMember,
    SetMemberStatus,
    UpdateMember,
)
from huarong_core.domain.members import IdentityRef, Member, MemberStatus
from huarong_core.domain.roles import Permission, RoleGrant
from huarong_core.domain.validation import require_key, require_locale, require_name
from huarong_core.errors import AlreadyExists, InvalidValue, MemberInactive, NotFound
from huarong_core.events import MemberRegistered, MemberStatusChanged, MemberUpdated
from huarong_core.services.context import Context
from huarong_core.services.registry import handles
from huarong_core.storage.repositories import MemberFilter

_DIGITS = re.compile(r"[0-9]{1,18}")
"""An id as people type it: ASCII digits only (`³` is a digit to `str.isdigit`)."""

PROFILE_FIELDS = ("display_name", "key", "categories", "organization_id", "locale")
SELF_SERVICE_FIELDS = frozenset({"display_name", "locale"})


async def get_member(ctx: Context, member_id: int) -> Member:
    found = await ctx.repos.members.get(member_id)
    if found is None:
        raise NotFound(entity="member", ref=f"#{member_id}")
    return found


async def require_active_member(ctx: Context, member_id: int) -> None:
    """`get_active_member` for a check alone: the acting member was already read and
    found active when the unit began, so only someone else is read."""
    if ctx.acting is None or ctx.acting.id != member_id:
        await get_active_member(ctx, member_id)


async def get_active_member(ctx: Context, member_id: int) -> Member:
    """A member who may still take part (joins, RSVPs, loans, requests)."""
    member = await get_member(ctx, member_id)
    if not member.is_active:
        raise MemberInactive(member_id=member.id, status=member.status.value)
    return member


async def _check_categories(ctx: Context, categories: Iterable[str]) -> frozenset[str]:
    known = {c.key for c in await ctx.repos.communities.categories(ctx.community.id)}
    wanted = frozenset(categories)
    for key in sorted(wanted - known):
        raise InvalidValue(field="categories", value=key, reason="unknown_category")
    return wanted


async def _check_organization(ctx: Context, organization_id: int | None) -> None:
    if organization_id is not None and await ctx.repos.organizations.get(organization_id) is None:
        raise NotFound(entity="organization", ref=f"#{organization_id}")


async def clean_member(ctx: Context, member: Member) -> Member:
    """The same member with every field validated against the community."""
    return Member(
        id=member.id,
        display_name=require_name("display_name", member.display_name),
        key=None if member.key is None else require_key("key", member.key),
        categories=await _check_categories(ctx, member.categories),
        organization_id=member.organization_id,
        locale=None if member.locale is None else require_locale("locale", member.locale),
        status=member.status,
    )


async def create_member(ctx: Context, draft: Member) -> Member:
    ctx.require(Permission.MANAGE_MEMBERS)
    clean = await clean_member(ctx, draft)
    await _check_organization(ctx, clean.organization_id)
    if clean.key is not None and await ctx.repos.members.by_key(clean.key) is not None:
        raise AlreadyExists(entity="member", ref=clean.key)
    created = await ctx.repos.members.insert(
        display_name=clean.display_name,
        key=clean.key,
        categories=clean.categories,
        organization_id=clean.organization_id,
        locale=clean.locale,
        status=clean.status,
        now=ctx.now,
    )
    await ctx.audit(
        "member.register", f"member:{created.id}", name=created.display_name, key=created.key
    )
    ctx.record(MemberRegistered(created.id, created.display_name, created.organization_id))
    return created


async def change_member(ctx: Context, current: Member, wanted: Member) -> bool:
    """Store the profile fields of `wanted` over `current`; True when anything changed.

    Members may change their own name and language; everything else, and
    anyone else's profile, needs `manage_members`.
    """
    clean = await clean_member(ctx, wanted)
    fields = tuple(f for f in PROFILE_FIELDS if getattr(current, f) != getattr(clean, f))
    if not fields:
        return False
    is_self = ctx.actor.member_id == current.id
    if not (is_self and SELF_SERVICE_FIELDS.issuperset(fields)):
        ctx.require(Permission.MANAGE_MEMBERS)
    if "organization_id" in fields:
        await _check_organization(ctx, clean.organization_id)
    if (
        "key" in fields
        and clean.key is not None
        and await ctx.repos.members.by_key(clean.key) is not None
    ):
        raise AlreadyExists(entity="member", ref=clean.key)
    await ctx.repos.members.update(clean, ctx.now)
    changes = {f: [_plain(getattr(current, f)), _plain(getattr(clean, f))] for f in fields}
    await ctx.audit("member.update", f"member:{current.id}", changes=changes)
    ctx.record(MemberUpdated(current.id, fields))
    return True


def _plain(value: object) -> object:
    return sorted(value) if isinstance(value, frozenset) else value


async def profile(ctx: Context, member: Member, *, details: bool = True) -> MemberProfile:
    """The member with their organization and roles; with `details`, their identities
    and current honours too."""
    grants = await ctx.repos.roles.for_member(member.id)
    return await _profile(ctx, member, grants, details)


async def profile_of(ctx: Context, member_id: int, *, details: bool = True) -> MemberProfile:
    """`profile` of the member with this id (read with their roles in one statement)."""
    found = await ctx.repos.members.acting(member_id)
    if found is None:
        raise NotFound(entity="member", ref=f"#{member_id}")
    member, grants = found
    return await _profile(ctx, member, grants, details)


async def _profile(
    ctx: Context, member: Member, held: list[RoleGrant], details: bool
) -> MemberProfile:
    organization = (
        None
        if member.organization_id is None
        else await ctx.repos.organizations.get(member.organization_id)
    )
    grants = tuple(held)
    if not details:
        return MemberProfile(member=member, organization=organization, identities=(), grants=grants)
    today = ctx.community.local(ctx.now).date()
    return MemberProfile(
        member=member,
        organization=organization,
        identities=tuple(await ctx.repos.identities.for_member(member.id)),
        grants=grants,
        honours=tuple(h for h in await ctx.repos.shop.honours(member.id) if h.current_on(today)),
    )


@handles(RegisterMember)
async def register_member(ctx: Context, cmd: RegisterMember) -> Member:
    draft = Member(0, cmd.display_name, cmd.key, cmd.categories, cmd.organization_id, cmd.locale)
    return await create_member(ctx, draft)


@handles(UpdateMember)
async def update_member(ctx: Context, cmd: UpdateMember) -> Member:
    if cmd.leave_organization and cmd.organization_id is not None:
        raise InvalidValue(
            field="organization_id",
            value=f"#{cmd.organization_id}",
            reason="leaving_organization",
        )
    current = await get_member(ctx, cmd.member_id)
    organization_id = (
        current.organization_id if cmd.organization_id is None else cmd.organization_id
    )
    wanted = Member(
        id=current.id,
        display_name=current.display_name if cmd.display_name is None else cmd.display_name,
        key=current.key,
        categories=current.categories if cmd.categories is None else cmd.categories,
        organization_id=None if cmd.leave_organization else organization_id,
        locale=current.locale if cmd.locale is None else cmd.locale,
        status=current.status,
    )
    await change_member(ctx, current, wanted)
    return await get_member(ctx, cmd.member_id)


@handles(SetMemberStatus)
async def set_member_status(ctx: Context, cmd: SetMemberStatus) -> Member:
    ctx.require(Permission.MANAGE_MEMBERS)
    current = await get_member(ctx, cmd.member_id)
    status = MemberStatus(cmd.status)
    if current.status is status:
        return current
    if MemberStatus.MERGED in (current.status, status):
        # Merging is done by linking accounts and never undone by a status change.
        raise InvalidValue(field="status", value=status.value, reason="merged_member")
    if ctx.actor.member_id == current.id and status is not MemberStatus.ACTIVE:
        raise InvalidValue(field="status", value=status.value, reason="own_status")
    updated = attrs.evolve(current, status=status)
    await ctx.repos.members.update(updated, ctx.now)
    await ctx.audit(
        "member.status",
        f"member:{current.id}",
        old=current.status.value,
        new=status.value,
        reason=cmd.reason,
    )
    ctx.record(MemberStatusChanged(current.id, current.status.value, status.value, cmd.reason))
    return updated


@handles(GetMember, quick=True)
async def get_member_profile(ctx: Context, cmd: GetMember) -> MemberProfile:
    if ctx.actor.member_id != cmd.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    return await profile_of(ctx, cmd.member_id)


@handles(FindMember, quick=True)
async def find_member(ctx: Context, cmd: FindMember) -> MemberProfile:
    ref = cmd.ref.strip()
    number = ref.removeprefix("#")
    found = await ctx.repos.members.get(int(number)) if _DIGITS.fullmatch(number) else None
    found = found or await ctx.repos.members.by_key(ref)
    if found is None:
        raise NotFound(entity="member", ref=ref)
    if ctx.actor.member_id != found.id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    return await profile(ctx, found)


@handles(FindMemberByIdentity, quick=True)
async def find_member_by_identity(ctx: Context, cmd: FindMemberByIdentity) -> MemberProfile:
    ref = IdentityRef(cmd.platform, cmd.external_id)
    identity = await ctx.repos.identities.get(ref)
    if identity is None:
        raise NotFound(entity="identity", ref=str(ref))
    if ctx.actor.member_id != identity.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    return await profile_of(ctx, identity.member_id, details=cmd.details)


@handles(ListMembers)
async def list_members(ctx: Context, cmd: ListMembers) -> Page[Member]:
    ctx.require_anywhere(Permission.VIEW_MEMBERS)
    offset = max(0, cmd.offset)
    items, total = await ctx.repos.members.page(
        MemberFilter(cmd.organization_id, cmd.category, cmd.status, cmd.query),
        offset=offset,
        limit=cmd.limit,
    )
    return Page(tuple(items), total, offset, cmd.limit)
