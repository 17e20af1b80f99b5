"""Applying a community file: idempotent, all-or-nothing, audited.

Loading reconciles the database with the file: entries are matched by
their `key`, created when missing and updated when different; loading the
same file twice changes nothing (no audit entry, no event). Entries that
disappeared from the file are never deleted (members and organizations have
history) but are listed in the report; role grants that came from the file
are revoked when the file stops granting them. Every problem is collected
and reported together, and then nothing at all is applied.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from huarong_core.config import CommunityConfig, structure_rule_entry
from huarong_core.config_services import station_from
from huarong_core.domain.communities import Category, Community
from huarong_core.domain.members import IdentityRef, Member
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import GrantSource, Permission, Role, Scope
from huarong_core.errors import ConfigError, HuarongError, NotFound, Problem, StorageError
from huarong_core.events import CommunityConfigured
from huarong_core.services.configuration_gatherings import (
    apply_clubs,
    apply_gatherings,
    apply_leaders,
)
from huarong_core.services.configuration_library import apply_library
from huarong_core.services.configuration_services import apply_services
from huarong_core.services.configuration_volunteering import apply_volunteering
from huarong_core.services.context import Context
from huarong_core.services.identities import link_identity
from huarong_core.services.members import change_member, create_member
from huarong_core.services.organizations import change_organization, create_organization
from huarong_core.services.points import save_rule
from huarong_core.services.roles import GrantOutcome, grant_role, revoke_role
from huarong_core.services.shop import save_item


@attrs.frozen
class LoadReport:
    """What a load did (or, with `dry_run`, would do), per kind of entry."""

    community: str
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    revoked: int
    not_in_file: dict[str, tuple[str, ...]]
    dry_run: bool

    @property
    def changes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + self.revoked


class _Tally:
    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.unchanged: Counter[str] = Counter()
        self.revoked = 0
        self.problems: list[Problem] = []

    def count(self, kind: str, *, created: bool = False, changed: bool = False) -> None:
        target = self.created if created else self.updated if changed else self.unchanged
        target[kind] += 1


def community_changes(current: Community, config: CommunityConfig) -> dict[str, Any]:
    section = config.community
    wanted = {
        "name": section.name,
        "timezone": section.timezone,
        "locale": section.locale,
        "default_category": section.default_category,
    }
    return {k: v for k, v in wanted.items() if getattr(current, k) != v}


async def apply_configuration(
    ctx: Context, config: CommunityConfig, *, source: str, community_created: bool, dry_run: bool
) -> LoadReport:
    ctx.require(Permission.MANAGE_COMMUNITY)
    tally = _Tally()
    changes = community_changes(ctx.community, config)
    if community_created:
        tally.count("community", created=True)
    elif changes:
        await ctx.audit(
            "community.update", f"community:{ctx.community.key}", fields=sorted(changes)
        )
    if not community_created:
        tally.count("community", changed=bool(changes))

    await _apply_categories(ctx, config, tally)
    if changes:
        # After the categories: the default category must exist first.
        ctx.community = attrs.evolve(ctx.community, **changes)
        await ctx.repos.communities.update(ctx.community, ctx.now)
    await _apply_stations(ctx, config, tally)
    organizations = await _apply_organizations(ctx, config, tally)
    members = await _apply_members(ctx, config, organizations, tally)
    await apply_clubs(ctx, config, tally)
    await _apply_roles(ctx, config, members, tally)
    await apply_leaders(ctx, config)
    await apply_gatherings(ctx, config, tally)
    await apply_services(ctx, config, tally)
    await apply_library(ctx, config, tally)
    await apply_volunteering(ctx, config, tally)
    await _apply_points(ctx, config, tally)

    if tally.problems:
        raise ConfigError(file=source, problems=tuple(tally.problems))
    report = LoadReport(
        community=ctx.community.key,
        created=dict(tally.created),
        updated=dict(tally.updated),
        unchanged=dict(tally.unchanged),
        revoked=tally.revoked,
        not_in_file=await _not_in_file(ctx, config),
        dry_run=dry_run,
    )
    if report.changes and not community_created:
        await ctx.audit("config.load", f"community:{ctx.community.key}", file=source)
    if report.changes:
        ctx.record(CommunityConfigured(ctx.community.key, report.changes))
    return report


async def _apply_categories(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    existing = {c.key: c for c in await ctx.repos.communities.categories(ctx.community.id)}
    positions = await ctx.repos.communities.positions(ctx.community.id, "categories")
    moved = _moved(list(existing), [e.key for e in config.categories])
    for position, entry in enumerate(config.categories):
        wanted = Category(entry.key, entry.name)
        current = existing.get(entry.key)
        if current == wanted and positions.get(entry.key) == position:
            tally.count("categories")
            continue
        await ctx.repos.communities.save_category(ctx.community.id, wanted, position)
        if current != wanted:
            await ctx.audit("category.save", f"category:{entry.key}", created=current is None)
        changed = current is not None and (current != wanted or entry.key in moved)
        tally.count("categories", created=current is None, changed=changed)


async def _apply_stations(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    existing = {s.key: s for s in await ctx.repos.communities.stations(ctx.community.id)}
    positions = await ctx.repos.communities.positions(ctx.community.id, "stations")
    moved = _moved(list(existing), [e.key for e in config.stations])
    for position, entry in enumerate(config.stations):
        try:
            wanted = station_from(entry)
        except HuarongError as exc:  # parse_config reports these first; here for edited values
            tally.problems.append(Problem.from_error(f"stations[{position}]", exc))
            continue
        current = existing.get(entry.key)
        if current == wanted and positions.get(entry.key) == position:
            tally.count("stations")
            continue
        await ctx.repos.communities.save_station(ctx.community.id, wanted, position)
        if current != wanted:
            await ctx.audit("station.save", f"station:{entry.key}", created=current is None)
        changed = current is not None and (current != wanted or entry.key in moved)
        tally.count("stations", created=current is None, changed=changed)


def _moved(listed: list[str], in_file: list[str]) -> set[str]:
    """Keys whose place among the file's entries changed: the file was reordered.

    Stored positions also shift when an entry before them leaves the file;
    they are rewritten to match the file then, but that is not a change.
    """
    both = set(listed) & set(in_file)
    before = [key for key in listed if key in both]
    after = [key for key in in_file if key in both]
    return {key for key, was in zip(after, before, strict=True) if key != was}


async def _apply_organizations(
    ctx: Context, config: CommunityConfig, tally: _Tally
) -> dict[str, Organization]:
    repo = ctx.repos.organizations
    by_key: dict[str, Organization] = {}
    for i, entry in enumerate(config.organizations):
        wanted = Organization(
            0, entry.name, entry.key, entry.floor, entry.industry, entry.has_party_branch
        )
        try:
            # Match by key; else adopt an organization of that name (say, imported from CSV).
            current = await repo.by_key(entry.key)
            if current is None:
                named = await repo.by_name(entry.name)
                current = named if named is not None and named.key is None else None
            if current is None:
                by_key[entry.key] = await create_organization(ctx, wanted)
                tally.count("organizations", created=True)
            else:
                changed = await change_organization(
                    ctx, current, attrs.evolve(wanted, id=current.id)
                )
                by_key[entry.key] = attrs.evolve(wanted, id=current.id)
                tally.count("organizations", changed=changed)
        except StorageError:
            raise  # a database failure or race: the caller retries or reports it
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"organizations[{i}]", exc))
    return by_key


async def _resolve_organization(
    ctx: Context, ref: str, from_file: dict[str, Organization]
) -> Organization:
    found = from_file.get(ref) or await ctx.repos.organizations.by_key(ref)
    found = found or await ctx.repos.organizations.by_name(ref)
    if found is None:
        raise NotFound(entity="organization", ref=ref)
    return found


async def _survivor(ctx: Context, member: Member) -> Member:
    seen = {member.id}
    while member.merged_into is not None:
        found = await ctx.repos.members.get(member.merged_into)
        if found is None or found.id in seen:
            break
        seen.add(found.id)
        member = found
    return member


async def _apply_members(
    ctx: Context,
    config: CommunityConfig,
    organizations: dict[str, Organization],
    tally: _Tally,
) -> dict[str, Member]:
    by_key: dict[str, Member] = {}
    for i, entry in enumerate(config.members):
        where = f"members[{i}]"
        try:
            organization_id = None
            if entry.organization is not None:
                try:
                    organization = await _resolve_organization(
                        ctx, entry.organization, organizations
                    )
                except NotFound as exc:
                    tally.problems.append(Problem.from_error(f"{where}.organization", exc))
                    continue
                organization_id = organization.id
            current = await ctx.repos.members.by_key(entry.key)
            if current is None:
                draft = Member(
                    0,
                    entry.name,
                    entry.key,
                    frozenset(entry.categories),
                    organization_id,
                    entry.locale,
                )
                member = await create_member(ctx, draft)
                changed, created = True, True
            else:
                member = attrs.evolve(
                    current,
                    display_name=entry.name,
                    categories=frozenset(entry.categories),
                    organization_id=organization_id,
                    locale=entry.locale,
                )
                changed, created = await change_member(ctx, current, member), False
            # A member merged into another (linked accounts) lives on as that one:
            # the file's identities and roles for the old key go to the survivor.
            member = await _survivor(ctx, member)
            by_key[entry.key] = member
            for j, identity in enumerate(entry.identities):
                try:
                    ref = IdentityRef(identity.platform, identity.id)
                    _, linked = await link_identity(ctx, member.id, ref)
                except StorageError:
                    raise  # a database failure or race: the caller retries or reports it
                except HuarongError as exc:
                    tally.problems.append(Problem.from_error(f"{where}.identities[{j}]", exc))
                    continue
                changed = changed or linked
            tally.count("members", created=created, changed=changed and not created)
        except StorageError:
            raise  # a database failure or race: the caller retries or reports it
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(where, exc))
    return by_key


async def _apply_roles(
    ctx: Context, config: CommunityConfig, members: dict[str, Member], tally: _Tally
) -> None:
    wanted: set[tuple[int, Role, Scope]] = set()
    for i, entry in enumerate(config.roles):
        member = members.get(entry.member)
        if member is None:
            continue  # its member entry already reported a problem
        role, scope = Role(entry.role), Scope.parse(entry.scope)
        wanted.add((member.id, role, scope))
        try:
            _, outcome = await grant_role(ctx, member.id, role, scope, GrantSource.CONFIG)
        except StorageError:
            raise  # a database failure or race: the caller retries or reports it
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"roles[{i}]", exc))
            continue
        tally.count(
            "roles",
            created=outcome is GrantOutcome.CREATED,
            changed=outcome is GrantOutcome.ADOPTED,
        )
    for grant in await ctx.repos.roles.all(source=GrantSource.CONFIG):
        if (grant.member_id, grant.role, grant.scope) not in wanted:
            await revoke_role(ctx, grant.member_id, grant.role, grant.scope)
            tally.revoked += 1


async def _apply_points(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    """Season length, rules and shop items. Rules the file no longer lists are disabled."""
    points = ctx.repos.points
    if await points.season_length() != config.points.season:
        await points.set_season_length(config.points.season)
        await ctx.audit(
            "points.season", f"community:{ctx.community.key}", season=config.points.season
        )
    for i, entry in enumerate(config.points.rules):
        try:
            existed = entry.key in {r.key for r in await points.rules()}
            _, changed = await save_rule(ctx, entry, "config")
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"points.rules[{i}]", exc))
            continue
        tally.count("points_rules", created=changed and not existed, changed=changed and existed)
    listed = {entry.key for entry in config.points.rules}
    for stored in await points.rules():
        if stored.source == "config" and stored.key not in listed and stored.enabled:
            entry = attrs.evolve(structure_rule_entry(stored.definition), enabled=False)
            await save_rule(ctx, entry, "config")
            tally.count("points_rules", changed=True)
    for i, item in enumerate(config.shop.items):
        try:
            existed = await ctx.repos.shop.item(item.key) is not None
            _, changed = await save_item(ctx, item, "config", keep_stock=True)
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"shop.items[{i}]", exc))
            continue
        tally.count("shop_items", created=changed and not existed, changed=changed and existed)


async def _not_in_file(ctx: Context, config: CommunityConfig) -> dict[str, tuple[str, ...]]:
    """Configured entries the file no longer mentions (kept, and reported).

    Only kinds that come from the file alone are listed: organizations and
    members also arrive by import or by hand, so their absence means nothing.
    """
    categories = {c.key for c in await ctx.repos.communities.categories(ctx.community.id)}
    stations = {s.key for s in await ctx.repos.communities.stations(ctx.community.id)}
    result = {
        "categories": tuple(sorted(categories - {c.key for c in config.categories})),
        "stations": tuple(sorted(stations - {s.key for s in config.stations})),
    }
    return {kind: keys for kind, keys in result.items() if keys}
