"""Identities: which platform accounts speak for which member."""

from __future__ import annotations

from huarong_core.commands import LinkIdentity, UnlinkIdentity
from huarong_core.domain.members import Identity, IdentityRef
from huarong_core.domain.roles import Permission
from huarong_core.errors import DuplicateIdentity, NotFound
from huarong_core.events import IdentityLinked, IdentityUnlinked
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.registry import handles


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
