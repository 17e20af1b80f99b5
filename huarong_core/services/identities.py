"""Identities: which platform accounts speak for which member."""

from __future__ import annotations

from huarong_core.commands import (
    LinkIdentity,
    MemberProfile,
    RegisterChatMember,
    SetAccountReachable,
    UnlinkIdentity,
)
from huarong_core.domain.members import Identity, IdentityRef, Member
from huarong_core.domain.roles import Permission
from huarong_core.errors import DuplicateIdentity, NotFound, PermissionDenied, TransientConflict
from huarong_core.events import IdentityLinked, IdentityUnlinked
from huarong_core.i18n import SUPPORTED_LOCALES
from huarong_core.services.context import Context
from huarong_core.services.members import create_member, get_member, profile, profile_of
from huarong_core.services.registry import handles

MAX_CHAT_NAME = 64


async def link_identity(ctx: Context, member_id: int, ref: IdentityRef) -> tuple[Identity, bool]:
    """Link `ref` to the member; the bool says whether it is new.

    Linking an account already linked to the same member changes nothing;
    one linked to another member is a `DuplicateIdentity`.
    """
    if ctx.actor.member_id != member_id:
        ctx.require(Permission.MANAGE_IDENTITIES)
    await get_member(ctx, member_id)
    linked = await ctx.repos.identities.add(ref, member_id, ctx.now)
    if linked is None:
        existing = await ctx.repos.identities.get(ref)
        if existing is not None and existing.member_id == member_id:
            return existing, False
        owner = existing.member_id if existing is not None else 0
        raise DuplicateIdentity(platform=ref.platform, external_id=ref.external_id, member_id=owner)
    await ctx.audit("identity.link", f"member:{member_id}", identity=str(ref))
    ctx.record(IdentityLinked(member_id, ref.platform, ref.external_id))
    return linked, True


@handles(LinkIdentity)
async def link(ctx: Context, cmd: LinkIdentity) -> Identity:
    identity, _ = await link_identity(
        ctx, cmd.member_id, IdentityRef(cmd.platform, cmd.external_id)
    )
    return identity


@handles(UnlinkIdentity)
async def unlink(ctx: Context, cmd: UnlinkIdentity) -> Identity:
    ref = IdentityRef(cmd.platform, cmd.external_id)
    existing = await ctx.repos.identities.get(ref)
    if existing is None:
        raise NotFound(entity="identity", ref=str(ref))
    if ctx.actor.member_id != existing.member_id:
        ctx.require(Permission.MANAGE_IDENTITIES)
    await ctx.repos.identities.remove(ref)
    await ctx.audit("identity.unlink", f"member:{existing.member_id}", identity=str(ref))
    ctx.record(IdentityUnlinked(existing.member_id, ref.platform, ref.external_id))
    return existing


@handles(RegisterChatMember, quick=True)
async def register_chat_member(ctx: Context, cmd: RegisterChatMember) -> MemberProfile:
    if not ctx.actor.is_system:
        raise PermissionDenied(permission=Permission.MANAGE_IDENTITIES.value, scope="*")
    ref = IdentityRef(cmd.platform, cmd.external_id)
    existing = await ctx.repos.identities.get(ref)
    if existing is not None:
        return await profile_of(ctx, existing.member_id)
    name = " ".join(cmd.display_name.split())[:MAX_CHAT_NAME] or cmd.external_id[:MAX_CHAT_NAME]
    default = ctx.community.default_category
    locale = cmd.locale if cmd.locale in SUPPORTED_LOCALES else None
    member = await create_member(
        ctx, Member(0, name, categories=frozenset({default} if default else ()), locale=locale)
    )
    try:
        await link_identity(ctx, member.id, ref)
    except DuplicateIdentity:
        # Another input registered the account meanwhile: start over and find theirs.
        raise TransientConflict(detail=f"identity {ref} registered concurrently") from None
    return await profile(ctx, member)


@handles(SetAccountReachable)
async def set_account_reachable(ctx: Context, cmd: SetAccountReachable) -> Identity:
    if not ctx.actor.is_system:
        raise PermissionDenied(permission=Permission.MANAGE_IDENTITIES.value, scope="*")
    ref = IdentityRef(cmd.platform, cmd.external_id)
    existing = await ctx.repos.identities.get(ref)
    if existing is None:
        raise NotFound(entity="identity", ref=str(ref))
    changed = await ctx.uow.identities.set_unreachable(ref, None if cmd.reachable else ctx.now)
    if changed:
        await ctx.audit(
            "identity.reachable" if cmd.reachable else "identity.unreachable",
            f"member:{existing.member_id}",
            identity=str(ref),
        )
    return existing
