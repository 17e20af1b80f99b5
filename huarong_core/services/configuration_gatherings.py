"""Applying the gatherings part of a community file: clubs, venues, salons, events.

Clubs come before roles (a `club:<key>` scope must exist), the rest after.
Like the other parts, every entry is created or updated by its key, loading
the same file twice changes nothing, and problems are collected per entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from huarong_core.commands import CreateEvent, UpdateGathering
from huarong_core.config import CommunityConfig
from huarong_core.config_gatherings import (
    EventEntry,
    club_from,
    event_type_of,
    ranking_of,
    salon_from,
    settings_from,
    venue_from,
)
from huarong_core.domain.clubs import ChatBinding, ClubMembership, MembershipStatus
from huarong_core.domain.gatherings import GatheringStatus
from huarong_core.domain.members import IdentityRef
from huarong_core.domain.roles import GrantSource, Role, ScopeKind
from huarong_core.errors import HuarongError, Problem, StorageError
from huarong_core.events import ClubJoined
from huarong_core.services.clubs import save_club
from huarong_core.services.context import Context
from huarong_core.services.gatherings import (
    create_event,
    generate_sessions,
    save_salon,
    update_gathering,
)
from huarong_core.services.venues import save_venue

if TYPE_CHECKING:
    from huarong_core.services.configuration import _Tally


async def apply_clubs(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    for i, entry in enumerate(config.clubs):
        try:
            existed = await ctx.repos.clubs.get(entry.key) is not None
            club, changed = await save_club(ctx, club_from(entry), "config")
            for chat in entry.chats:
                ref = IdentityRef(chat.platform, chat.id)
                binding = ChatBinding(club.key, ref.platform, ref.external_id)
                current = await ctx.repos.clubs.binding(binding.platform, binding.chat_id)
                if current is None:
                    await ctx.repos.clubs.bind(binding, ctx.actor.label, ctx.now)
                    changed = True
                elif current != binding:
                    await ctx.repos.clubs.unbind(binding.platform, binding.chat_id)
                    await ctx.repos.clubs.bind(binding, ctx.actor.label, ctx.now)
                    changed = True
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"clubs[{i}]", exc))
            continue
        tally.count("clubs", created=not existed, changed=changed and existed)


async def apply_leaders(ctx: Context, config: CommunityConfig) -> None:
    """Club leaders granted by the file belong to their club."""
    for grant in await ctx.repos.roles.all(source=GrantSource.CONFIG):
        if grant.role is not Role.CLUB_LEADER or grant.scope.kind is not ScopeKind.CLUB:
            continue
        club_key = grant.scope.key
        current = await ctx.repos.clubs.membership(club_key, grant.member_id)
        if current is not None and current.status is MembershipStatus.ACTIVE:
            continue
        await ctx.repos.clubs.save_membership(
            ClubMembership(
                club_key,
                grant.member_id,
                MembershipStatus.ACTIVE,
                ctx.now,
                ctx.now,
                ctx.actor.label,
            )
        )
        ctx.record(ClubJoined(club_key, grant.member_id))


async def apply_gatherings(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    try:
        settings = settings_from(config.gatherings)
    except HuarongError as exc:
        tally.problems.append(Problem.from_error("gatherings", exc))
        return
    if await ctx.repos.gatherings.settings() != settings:
        await ctx.repos.gatherings.save_settings(settings)
        ctx.memo.pop("gathering_settings", None)
        await ctx.audit("gatherings.settings", f"community:{ctx.community.key}")
        tally.count("gathering_settings", changed=True)
    for i, venue_entry in enumerate(config.venues):
        try:
            existed = await ctx.repos.venues.venue(venue_entry.key) is not None
            _, changed = await save_venue(ctx, venue_from(venue_entry), "config")
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"venues[{i}]", exc))
            continue
        tally.count("venues", created=not existed, changed=changed and existed)
    for i, salon_entry in enumerate(config.salons):
        try:
            existed = await ctx.repos.gatherings.salon(salon_entry.key) is not None
            salon, changed = await save_salon(ctx, salon_from(salon_entry), "config")
            await generate_sessions(ctx, salon.key)
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"salons[{i}]", exc))
            continue
        tally.count("salons", created=not existed, changed=changed and existed)
    for i, event_entry in enumerate(config.events):
        try:
            outcome = await _apply_event(ctx, event_entry)
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"events[{i}]", exc))
            continue
        tally.count("events", created=outcome == "created", changed=outcome == "changed")


async def _apply_event(ctx: Context, entry: EventEntry) -> str:
    """Create the event once; later loads carry over changed times, venue and capacity.

    Events that are over, cancelled or closed are left alone, and a file
    listing an event whose time has passed does not recreate it.
    """
    current = await ctx.repos.gatherings.by_event_key(entry.key)
    if current is None:
        if entry.starts <= ctx.now:
            return "unchanged"
        await create_event(
            ctx,
            CreateEvent(
                title=entry.title,
                event_type=event_type_of(entry),
                starts_at=entry.starts,
                ends_at=entry.ends,
                organizer=entry.organizer,
                key=entry.key,
                venue_key=entry.venue,
                capacity=entry.capacity,
                description=entry.description,
                tags=frozenset(entry.tags),
                ranking=ranking_of(entry),
                checkpoints=tuple((c.name, c.code) for c in entry.checkpoints),
                speaker=entry.speaker,
            ),
        )
        return "created"
    if current.status is not GatheringStatus.SCHEDULED or current.is_over(ctx.now):
        return "unchanged"
    wanted = attrs.evolve(
        current,
        title=entry.title,
        starts_at=entry.starts,
        ends_at=entry.ends,
        venue_key=entry.venue,
        capacity=entry.capacity,
    )
    if wanted == current:
        return "unchanged"
    await update_gathering(
        ctx,
        UpdateGathering(
            current.id,
            title=entry.title,
            venue_key=entry.venue or "",
            capacity=entry.capacity,
            starts_at=entry.starts,
            ends_at=entry.ends,
        ),
    )
    return "changed"
