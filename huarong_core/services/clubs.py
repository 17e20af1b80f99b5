"""Clubs: staff create them, members join (at once, or on a leader's approval) and leave.

Club leaders hold the club_leader role in the club's own scope, so they
manage their club only; the staff of the club's station manage every club
of that station.
"""

from __future__ import annotations

import attrs

from huarong_core.commands import (
    AnnounceToClub,
    BindClubChat,
    ClubAnnouncement,
    ClubDetails,
    ClubSummary,
    CreateClub,
    DecideClubRequest,
    FindClubByChat,
    GetClub,
    JoinClub,
    LeaveClub,
    ListClubMembers,
    ListClubs,
    ListMemberClubs,
    UnbindClubChat,
    UpdateClub,
)
from huarong_core.domain.clubs import (
    ChatBinding,
    Club,
    ClubMembership,
    JoinPolicy,
    MembershipStatus,
)
from huarong_core.domain.members import IdentityRef
from huarong_core.domain.roles import GrantSource, Permission, Role, Scope
from huarong_core.domain.validation import require_name, require_note
from huarong_core.errors import (
    AlreadyExists,
    AlreadyInClub,
    InvalidTransition,
    InvalidValue,
    NotFound,
)
from huarong_core.events import (
    ClubAnnounced,
    ClubCreated,
    ClubJoined,
    ClubJoinRequested,
    ClubLeft,
    ClubRequestDeclined,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member
from huarong_core.services.registry import handles
from huarong_core.services.roles import grant_role
from huarong_core.services.stations import get_station

MAX_ANNOUNCEMENT = 2000


async def get_club(ctx: Context, key: str) -> Club:
    club = await ctx.repos.clubs.get(key)
    if club is None:
        raise NotFound(entity="club", ref=key)
    return club


def club_scopes(club_key: str, station: str | None) -> list[Scope]:
    """Where a grant lets one act on a club: the club itself or its station."""
    scopes = [Scope.club(club_key)]
    if station is not None:
        scopes.append(Scope.station(station))
    return scopes


def can_in_any(ctx: Context, permission: Permission, scopes: list[Scope]) -> bool:
    return any(ctx.can(permission, scope) for scope in scopes) or ctx.can(permission)


def require_in_any(ctx: Context, permission: Permission, scopes: list[Scope]) -> None:
    if not can_in_any(ctx, permission, scopes):
        ctx.require(permission, scopes[0] if scopes else None)


async def _check_station(ctx: Context, station: str | None) -> None:
    if station is not None:
        await get_station(ctx, station)


async def save_club(ctx: Context, club: Club, source: str) -> tuple[Club, bool]:
    """Create or change a club (the community file and staff both come here)."""
    require_name("name", club.name.get(ctx.community.locale))
    await _check_station(ctx, club.station)
    current = await ctx.repos.clubs.get(club.key)
    if current == club:
        return club, False
    await ctx.repos.clubs.save(club, source, ctx.now)
    await ctx.audit(
        "club.save", f"club:{club.key}", created=current is None, policy=club.join_policy.value
    )
    if current is None:
        ctx.record(ClubCreated(club.key))
    return club, True


async def add_leader(ctx: Context, club: Club, member_id: int, source: GrantSource) -> None:
    """A leader is a member of the club too."""
    await grant_role(
        ctx, member_id, Role.CLUB_LEADER, Scope.club(club.key), source, authorized=True
    )
    current = await ctx.repos.clubs.membership(club.key, member_id)
    if current is None or current.status is not MembershipStatus.ACTIVE:
        await ctx.repos.clubs.save_membership(
            ClubMembership(
                club.key, member_id, MembershipStatus.ACTIVE, ctx.now, ctx.now, ctx.actor.label
            )
        )
        ctx.record(ClubJoined(club.key, member_id))


async def leaders_of(ctx: Context, club_key: str) -> tuple[int, ...]:
    grants = await ctx.repos.roles.all()
    return tuple(
        sorted(
            g.member_id
            for g in grants
            if g.role is Role.CLUB_LEADER and g.scope == Scope.club(club_key)
        )
    )


@handles(CreateClub)
async def create_club(ctx: Context, cmd: CreateClub) -> Club:
    scope = Scope.station(cmd.station) if cmd.station else Scope.community()
    ctx.require(Permission.MANAGE_CLUBS, scope)
    if await ctx.repos.clubs.get(cmd.key) is not None:
        raise AlreadyExists(entity="club", ref=cmd.key)
    club = Club(cmd.key, cmd.name, cmd.description, cmd.station, cmd.join_policy)
    club, _ = await save_club(ctx, club, "admin")
    for member_id in cmd.leaders:
        await add_leader(ctx, club, member_id, GrantSource.MANUAL)
    return club


@handles(UpdateClub)
async def update_club(ctx: Context, cmd: UpdateClub) -> Club:
    club = await get_club(ctx, cmd.club_key)
    require_in_any(ctx, Permission.MANAGE_CLUBS, club_scopes(club.key, club.station)[1:])
    wanted = attrs.evolve(
        club,
        name=cmd.name if cmd.name is not None else club.name,
        description=cmd.description if cmd.description is not None else club.description,
        join_policy=cmd.join_policy if cmd.join_policy is not None else club.join_policy,
    )
    saved, _ = await save_club(ctx, wanted, "admin")
    return saved


@handles(ListClubs)
async def list_clubs(ctx: Context, cmd: ListClubs) -> tuple[ClubSummary, ...]:
    counts = await ctx.repos.clubs.counts()
    return tuple(
        ClubSummary(
            club,
            counts.get(club.key, {}).get(MembershipStatus.ACTIVE.value, 0),
            counts.get(club.key, {}).get(MembershipStatus.PENDING.value, 0),
        )
        for club in await ctx.repos.clubs.all()
    )


@handles(GetClub)
async def club_details(ctx: Context, cmd: GetClub) -> ClubDetails:
    club = await get_club(ctx, cmd.club_key)
    counts = (await ctx.repos.clubs.counts()).get(club.key, {})
    return ClubDetails(
        club,
        counts.get(MembershipStatus.ACTIVE.value, 0),
        counts.get(MembershipStatus.PENDING.value, 0),
        await leaders_of(ctx, club.key),
        tuple(await ctx.repos.clubs.chats(club.key)),
    )


def _member_for(ctx: Context, member_id: int | None, club: Club) -> int:
    """The acting member, or — for leaders and staff — the member they name."""
    if member_id is None or member_id == ctx.actor.member_id:
        return ctx.target_member(None)
    require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    return member_id


@handles(JoinClub)
async def join_club(ctx: Context, cmd: JoinClub) -> ClubMembership:
    club = await get_club(ctx, cmd.club_key)
    member_id = _member_for(ctx, cmd.member_id, club)
    await get_active_member(ctx, member_id)
    await ctx.repos.conn.lock(f"club:{ctx.community.id}:{club.key}:{member_id}")
    current = await ctx.repos.clubs.membership(club.key, member_id)
    if current is not None and current.status.is_current:
        raise AlreadyInClub(club=club.key, status=current.status.value)
    # Staff and leaders adding someone skip the approval they would give anyway.
    admits = club.join_policy is JoinPolicy.OPEN or member_id != ctx.actor.member_id
    status = MembershipStatus.ACTIVE if admits else MembershipStatus.PENDING
    membership = ClubMembership(
        club.key,
        member_id,
        status,
        ctx.now,
        ctx.now if admits else None,
        ctx.actor.label if admits else None,
    )
    await ctx.repos.clubs.save_membership(membership)
    if admits:
        ctx.record(ClubJoined(club.key, member_id))
        await _club_points(ctx, club, member_id)
    else:
        ctx.record(ClubJoinRequested(club.key, member_id))
    return membership


async def _club_points(ctx: Context, club: Club, member_id: int) -> None:
    from huarong_core.domain.points import Trigger
    from huarong_core.services.points import record_activity

    # Joining the same club again after leaving is a new source: rules that
    # should pay once per club say `once_per_target`.
    stamp = ctx.now.strftime("%Y%m%dT%H%M%S%f")
    await record_activity(
        ctx,
        Trigger(
            kind="club.joined",
            source_id=f"club:{club.key}:{member_id}:{stamp}",
            member_id=member_id,
            occurred_at=ctx.now,
            target=f"club:{club.key}",
            club=club.key,
            station=club.station,
        ),
    )


@handles(LeaveClub)
async def leave_club(ctx: Context, cmd: LeaveClub) -> ClubMembership:
    club = await get_club(ctx, cmd.club_key)
    member_id = _member_for(ctx, cmd.member_id, club)
    current = await ctx.repos.clubs.membership(club.key, member_id)
    if current is None or not current.status.is_current:
        raise NotFound(entity="club_membership", ref=f"{club.key}/#{member_id}")
    done = await ctx.repos.clubs.change_status(
        club.key, member_id, current.status, MembershipStatus.LEFT, ctx.actor.label, ctx.now
    )
    if done is None:
        raise InvalidTransition(
            entity="club_membership",
            ref=f"{club.key}/#{member_id}",
            state=current.status.value,
            wanted=MembershipStatus.LEFT.value,
        )
    ctx.record(ClubLeft(club.key, member_id))
    return done


@handles(DecideClubRequest)
async def decide_request(ctx: Context, cmd: DecideClubRequest) -> ClubMembership:
    club = await get_club(ctx, cmd.club_key)
    require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    note = require_note("note", cmd.note, required=False)
    wanted = MembershipStatus.ACTIVE if cmd.approve else MembershipStatus.DECLINED
    done = await ctx.repos.clubs.change_status(
        club.key, cmd.member_id, MembershipStatus.PENDING, wanted, ctx.actor.label, ctx.now
    )
    if done is None:
        current = await ctx.repos.clubs.membership(club.key, cmd.member_id)
        if current is None:
            raise NotFound(entity="club_membership", ref=f"{club.key}/#{cmd.member_id}")
        raise InvalidTransition(
            entity="club_membership",
            ref=f"{club.key}/#{cmd.member_id}",
            state=current.status.value,
            wanted=wanted.value,
        )
    await ctx.audit(
        "club.decide", f"club:{club.key}", member=cmd.member_id, approve=cmd.approve, note=note
    )
    if cmd.approve:
        ctx.record(ClubJoined(club.key, cmd.member_id))
        await _club_points(ctx, club, cmd.member_id)
    else:
        ctx.record(ClubRequestDeclined(club.key, cmd.member_id, note))
    return done


@handles(ListClubMembers)
async def club_members(ctx: Context, cmd: ListClubMembers) -> tuple[ClubMembership, ...]:
    club = await get_club(ctx, cmd.club_key)
    if cmd.status is not MembershipStatus.ACTIVE:
        # Pending requests and past members are the leaders' business.
        require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    return tuple(await ctx.repos.clubs.members(club.key, cmd.status))


@handles(ListMemberClubs)
async def member_clubs(ctx: Context, cmd: ListMemberClubs) -> tuple[ClubMembership, ...]:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    return tuple(await ctx.repos.clubs.of_member(member_id))


def _binding(club_key: str, platform: str, chat_id: str) -> ChatBinding:
    ref = IdentityRef(platform, chat_id)  # the same rules as an account id
    return ChatBinding(club_key, ref.platform, ref.external_id)


@handles(BindClubChat)
async def bind_chat(ctx: Context, cmd: BindClubChat) -> ChatBinding:
    club = await get_club(ctx, cmd.club_key)
    require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    wanted = _binding(club.key, cmd.platform, cmd.chat_id)
    bound = await ctx.repos.clubs.bind(wanted, ctx.actor.label, ctx.now)
    if bound is None:
        current = await ctx.repos.clubs.binding(wanted.platform, wanted.chat_id)
        if current == wanted:
            return wanted
        raise AlreadyExists(entity="chat_binding", ref=f"{wanted.platform}:{wanted.chat_id}")
    await ctx.audit("club.bind_chat", f"club:{club.key}", chat=f"{bound.platform}:{bound.chat_id}")
    return bound


@handles(UnbindClubChat)
async def unbind_chat(ctx: Context, cmd: UnbindClubChat) -> ChatBinding:
    current = await ctx.repos.clubs.binding(cmd.platform, cmd.chat_id)
    if current is None:
        raise NotFound(entity="chat_binding", ref=f"{cmd.platform}:{cmd.chat_id}")
    club = await get_club(ctx, current.club_key)
    require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    await ctx.repos.clubs.unbind(cmd.platform, cmd.chat_id)
    await ctx.audit("club.unbind_chat", f"club:{club.key}", chat=f"{cmd.platform}:{cmd.chat_id}")
    return current


@handles(FindClubByChat, quick=True)
async def club_for_chat(ctx: Context, cmd: FindClubByChat) -> Club | None:
    binding = await ctx.repos.clubs.binding(cmd.platform, cmd.chat_id)
    return None if binding is None else await ctx.repos.clubs.get(binding.club_key)


@handles(AnnounceToClub)
async def announce(ctx: Context, cmd: AnnounceToClub) -> ClubAnnouncement:
    club = await get_club(ctx, cmd.club_key)
    require_in_any(ctx, Permission.LEAD_CLUBS, club_scopes(club.key, club.station))
    text = cmd.text.strip()
    if not text:
        raise InvalidValue(field="text", value="", reason="empty")
    if len(text) > MAX_ANNOUNCEMENT:
        raise InvalidValue(field="text", value=text[:20] + "…", reason="too_long")
    members = await ctx.repos.clubs.members(club.key, MembershipStatus.ACTIVE)
    chats = await ctx.repos.clubs.chats(club.key)
    recipients = tuple(m.member_id for m in members)
    ctx.record(
        ClubAnnounced(club.key, text, recipients, tuple(f"{c.platform}:{c.chat_id}" for c in chats))
    )
    await ctx.audit("club.announce", f"club:{club.key}", recipients=len(recipients))
    return ClubAnnouncement(club.key, text, recipients, tuple(chats))
