"""Organizations: tenant companies and other bodies members belong to."""

from __future__ import annotations

import re

from huarong_core.commands import (
    FindOrganization,
    GetOrganization,
    ListCategories,
    ListOrganizations,
    Page,
    RegisterOrganization,
    UpdateOrganization,
)
from huarong_core.domain.communities import Category
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Permission
from huarong_core.domain.validation import require_key, require_name
from huarong_core.errors import AlreadyExists, NotFound
from huarong_core.events import OrganizationRegistered, OrganizationUpdated
from huarong_core.services.context import Context
from huarong_core.services.registry import handles

_DIGITS = re.compile(r"[0-9]{1,18}")
"""An id as people type it: ASCII digits only (`³` is a digit to `str.isdigit`)."""


def _optional_text(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return require_name(field, value, max_length=60)


def clean_organization(organization: Organization) -> Organization:
    """The same organization with every field validated and normalized."""
    return Organization(
        id=organization.id,
        name=require_name("name", organization.name),
        key=None if organization.key is None else require_key("key", organization.key),
        floor=_optional_text("floor", organization.floor),
        industry=_optional_text("industry", organization.industry),
        has_party_branch=organization.has_party_branch,
    )


async def get_organization(ctx: Context, organization_id: int) -> Organization:
    found = await ctx.repos.organizations.get(organization_id)
    if found is None:
        raise NotFound(entity="organization", ref=f"#{organization_id}")
    return found


async def create_organization(ctx: Context, draft: Organization) -> Organization:
    """Validate, check uniqueness, insert, audit and record the event."""
    ctx.require(Permission.MANAGE_ORGANIZATIONS)
    clean = clean_organization(draft)
    repo = ctx.repos.organizations
    if await repo.by_name(clean.name) is not None:
        raise AlreadyExists(entity="organization", ref=clean.name)
    if clean.key is not None and await repo.by_key(clean.key) is not None:
        raise AlreadyExists(entity="organization", ref=clean.key)
    created = await repo.insert(
        name=clean.name,
        key=clean.key,
        floor=clean.floor,
        industry=clean.industry,
        has_party_branch=clean.has_party_branch,
        now=ctx.now,
    )
    await ctx.audit("organization.register", f"organization:{created.id}", name=created.name)
    ctx.record(OrganizationRegistered(created.id, created.name))
    return created


async def change_organization(ctx: Context, current: Organization, wanted: Organization) -> bool:
    """Store `wanted` over `current` if anything differs; True when it did."""
    ctx.require(Permission.MANAGE_ORGANIZATIONS)
    clean = clean_organization(wanted)
    fields = tuple(
        name
        for name in ("name", "key", "floor", "industry", "has_party_branch")
        if getattr(current, name) != getattr(clean, name)
    )
    if not fields:
        return False
    repo = ctx.repos.organizations
    if "name" in fields and await repo.by_name(clean.name) is not None:
        raise AlreadyExists(entity="organization", ref=clean.name)
    if "key" in fields and clean.key is not None and await repo.by_key(clean.key) is not None:
        raise AlreadyExists(entity="organization", ref=clean.key)
    await repo.update(clean, ctx.now)
    changes = {name: [getattr(current, name), getattr(clean, name)] for name in fields}
    await ctx.audit("organization.update", f"organization:{clean.id}", changes=changes)
    ctx.record(OrganizationUpdated(clean.id, fields))
    return True


@handles(RegisterOrganization)
async def register_organization(ctx: Context, cmd: RegisterOrganization) -> Organization:
    draft = Organization(0, cmd.name, cmd.key, cmd.floor, cmd.industry, cmd.has_party_branch)
    return await create_organization(ctx, draft)


@handles(UpdateOrganization)
async def update_organization(ctx: Context, cmd: UpdateOrganization) -> Organization:
    ctx.require(Permission.MANAGE_ORGANIZATIONS)
    current = await get_organization(ctx, cmd.organization_id)
    wanted = Organization(
        id=current.id,
        name=current.name if cmd.name is None else cmd.name,
        key=current.key,
        floor=current.floor if cmd.floor is None else cmd.floor,
        industry=current.industry if cmd.industry is None else cmd.industry,
        has_party_branch=(
            current.has_party_branch if cmd.has_party_branch is None else cmd.has_party_branch
        ),
    )
    await change_organization(ctx, current, wanted)
    return await get_organization(ctx, cmd.organization_id)


@handles(GetOrganization)
async def fetch_organization(ctx: Context, cmd: GetOrganization) -> Organization:
    return await get_organization(ctx, cmd.organization_id)


@handles(FindOrganization)
async def find_organization(ctx: Context, cmd: FindOrganization) -> Organization:
    ref = cmd.ref.strip()
    repo = ctx.repos.organizations
    number = ref.removeprefix("#")
    found = await repo.get(int(number)) if _DIGITS.fullmatch(number) else None
    found = found or await repo.by_key(ref) or await repo.by_name(" ".join(ref.split()))
    if found is None:
        raise NotFound(entity="organization", ref=ref)
    return found


@handles(ListCategories)
async def list_categories(ctx: Context, cmd: ListCategories) -> tuple[Category, ...]:
    found = await ctx.repos.communities.categories(ctx.community.id)
    return tuple(sorted(found, key=lambda category: category.key))


@handles(ListOrganizations)
async def list_organizations(ctx: Context, cmd: ListOrganizations) -> Page[Organization]:
    items, total = await ctx.repos.organizations.page(
        query=cmd.query, offset=max(0, cmd.offset), limit=cmd.limit
    )
    return Page(tuple(items), total, max(0, cmd.offset), cmd.limit)
