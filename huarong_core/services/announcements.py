"""Handlers of announcements to an audience, delivered to each recipient once.

Posting writes, in one unit of work, the announcement, one delivery row per
active member of the audience (whatever platforms the member has linked;
the worker picks one when it sends, so a member gets the announcement once)
and one per group chat bound to the audience, unique per recipient, and an
`announcement.posted` event. `huarong_core.delivery.DeliveryWorker` sends
them afterwards, outside any transaction.

Who may post where: `everyone`, `organization:` and `category:` reach
people across the whole community, so they need `post_announcements`
community-wide (admins, community-wide station staff); `station:<key>` needs
it in that station; `club:<key>` in the club (its leaders) or the club's
station. Staff who may post somewhere may follow up (status, per-recipient
states) what was posted there; a poster always may follow up their own.
"""

from __future__ import annotations

import unicodedata

from huarong_core.commands import (
    Announcement,
    AnnouncementStatus,
    Audience,
    AudienceKind,
    DeliveryRecord,
    DeliveryState,
    GetAnnouncementStatus,
    ListAnnouncementDeliveries,
    ListAnnouncements,
    ListStationSubscriptions,
    Page,
    PostAnnouncement,
    StationSubscription,
    SubscribeToStation,
    UnsubscribeFromStation,
)
from huarong_core.domain.clubs import ChatBinding
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import ROLE_PERMISSIONS, Permission, Scope, ScopeKind
from huarong_core.domain.validation import BIDI_CONTROLS, require_name
from huarong_core.errors import AlreadyExists, InvalidValue, NotFound
from huarong_core.events import AnnouncementPosted
from huarong_core.services.clubs import can_in_any, club_scopes, get_club, require_in_any
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member
from huarong_core.services.registry import handles
from huarong_core.services.stations import get_station

MAX_TITLE = 200
MAX_BODY = 3500
"""Lengths in UTF-16 code units, as Telegram counts them: with the catalog's frame and a
community name, the whole message stays under Telegram's 4096-unit limit."""
COMMUNITY_SCOPE = "community"


def text_length(text: str) -> int:
    """How long `text` is for chat platforms (UTF-16 code units: an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


def clean_title(text: str) -> str:
    title = require_name("title", text, max_length=MAX_TITLE)
    if text_length(title) > MAX_TITLE:
        raise InvalidValue(field="title", value=_shown(title), reason="too_long")
    return title


def clean_body(text: str) -> str:
    """Trimmed, line ends made `\\n`, trailing spaces dropped; tabs and newlines allowed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = "\n".join(line.rstrip() for line in lines).strip("\n").strip()
    if not body:
        raise InvalidValue(field="body", value=text[:20], reason="empty")
    if text_length(body) > MAX_BODY:
        raise InvalidValue(field="body", value=_shown(body), reason="too_long")
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in BIDI_CONTROLS
        for ch in body
    ):
        raise InvalidValue(field="body", value=_shown(body), reason="control_characters")
    return body


# --- audiences ---------------------------------------------------------------------


async def _resolve(
    ctx: Context, audience: Audience
) -> tuple[Audience, str, str | int | None, list[ChatBinding]]:
    """Check the audience exists and the actor may post to it.

    Returns the audience as stored, the scope it was posted in, the key its
    members are found by, and the chats bound to it.
    """
    kind = audience.kind
    if kind is AudienceKind.EVERYONE:
        ctx.require(Permission.POST_ANNOUNCEMENTS)
        return audience, COMMUNITY_SCOPE, None, await ctx.repos.announcements.all_chats()
    if kind is AudienceKind.CLUB:
        club = await get_club(ctx, audience.key)
        require_in_any(ctx, Permission.POST_ANNOUNCEMENTS, club_scopes(club.key, club.station))
        chats = await ctx.repos.clubs.chats(club.key)
        return audience, f"club:{club.key}", club.key, chats
    if kind is AudienceKind.STATION:
        station = await get_station(ctx, audience.key)
        ctx.require(Permission.POST_ANNOUNCEMENTS, Scope.station(station.key))
        return audience, f"station:{station.key}", station.key, []
    if kind is AudienceKind.ORGANIZATION:
        organization = await _organization(ctx, audience.key)
        ctx.require(Permission.POST_ANNOUNCEMENTS)
        ref = organization.key if organization.key is not None else f"#{organization.id}"
        return Audience(kind, ref), COMMUNITY_SCOPE, organization.id, []
    categories = {c.key for c in await ctx.repos.communities.categories(ctx.community.id)}
    if audience.key not in categories:
        raise NotFound(entity="category", ref=audience.key)
    ctx.require(Permission.POST_ANNOUNCEMENTS)
    return audience, COMMUNITY_SCOPE, audience.key, []


async def _organization(ctx: Context, ref: str) -> Organization:
    number = ref.removeprefix("#")
    found: Organization | None = None
    if number.isdecimal():
        found = await ctx.repos.organizations.get(int(number))
    if found is None and not ref.startswith("#"):
        found = await ctx.repos.organizations.by_key(ref)
    if found is None:
        raise NotFound(entity="organization", ref=ref)
    return found


@handles(PostAnnouncement)
async def post_announcement(ctx: Context, cmd: PostAnnouncement) -> Announcement:
    audience, scope, key, chats = await _resolve(ctx, Audience.parse(cmd.audience))
    title = clean_title(cmd.title)
    body = clean_body(cmd.body)
    repo = ctx.repos.announcements
    announcement_id = await repo.insert(
        audience=audience,
        scope=scope,
        title=title,
        body=body,
        posted_by=ctx.actor.label,
        posted_by_member=ctx.actor.member_id,
        now=ctx.now,
    )
    counts = await repo.add_member_deliveries(announcement_id, audience, key, ctx.now)
    members = sum(counts.values())
    added_chats = await repo.add_chat_deliveries(announcement_id, chats, ctx.now)
    await repo.set_counts(announcement_id, members, added_chats)
    unreachable = counts.get(DeliveryState.UNREACHABLE.value, 0)
    ctx.record(
        AnnouncementPosted(announcement_id, str(audience), title, members, unreachable, added_chats)
    )
    await ctx.audit(
        "announcement.post",
        f"announcement:{announcement_id}",
        audience=str(audience),
        members=members,
        unreachable=unreachable,
        chats=added_chats,
    )
    return Announcement(
        id=announcement_id,
        audience=audience,
        title=title,
        body=body,
        posted_by=ctx.actor.label,
        posted_at=ctx.now,
        members=members,
        chats=added_chats,
        scope=scope,
        posted_by_member=ctx.actor.member_id,
    )


# --- following up ------------------------------------------------------------------


async def _may_follow(ctx: Context, announcement: Announcement) -> bool:
    if ctx.actor.is_system:
        return True
    if announcement.posted_by_member is not None and (
        announcement.posted_by_member == ctx.actor.member_id
    ):
        return True
    kind, _, key = announcement.scope.partition(":")
    if kind == ScopeKind.CLUB:
        club = await ctx.repos.clubs.get(key)
        station = None if club is None else club.station
        return can_in_any(ctx, Permission.POST_ANNOUNCEMENTS, club_scopes(key, station))
    if kind == ScopeKind.STATION:
        return ctx.can(Permission.POST_ANNOUNCEMENTS, Scope.station(key))
    return ctx.can(Permission.POST_ANNOUNCEMENTS)


async def _get(ctx: Context, announcement_id: int) -> Announcement:
    found = await ctx.repos.announcements.get(announcement_id)
    if found is None:
        raise NotFound(entity="announcement", ref=f"#{announcement_id}")
    return found


async def _followed(ctx: Context, announcement_id: int) -> Announcement:
    announcement = await _get(ctx, announcement_id)
    if not await _may_follow(ctx, announcement):
        scope = Scope.parse(announcement.scope)
        ctx.require(Permission.POST_ANNOUNCEMENTS, scope)
    return announcement


async def _posting_scopes(ctx: Context) -> list[str] | None:
    """The scopes the actor may follow up, or None for all of them."""
    if ctx.can(Permission.POST_ANNOUNCEMENTS):
        return None
    scopes: set[str] = set()
    stations: set[str] = set()
    for grant in ctx.grants:
        if Permission.POST_ANNOUNCEMENTS not in ROLE_PERMISSIONS[grant.role]:
            continue
        scopes.add(str(grant.scope))
        if grant.scope.kind is ScopeKind.STATION:
            stations.add(grant.scope.key)
    if stations:
        for club in await ctx.repos.clubs.all():
            if club.station in stations:
                scopes.add(f"club:{club.key}")
    return sorted(scopes)


@handles(ListAnnouncements)
async def list_announcements(ctx: Context, cmd: ListAnnouncements) -> tuple[Announcement, ...]:
    repo = ctx.repos.announcements
    if cmd.posted:
        scopes = await _posting_scopes(ctx)
        found = await repo.recent(
            scopes=scopes,
            posted_by_member=ctx.actor.member_id,
            before_id=cmd.before_id,
            limit=cmd.limit,
        )
    elif ctx.actor.member_id is None:
        found = await repo.recent(
            scopes=None, posted_by_member=None, before_id=cmd.before_id, limit=cmd.limit
        )
    else:
        found = await repo.for_member(ctx.actor.member_id, cmd.before_id, cmd.limit)
    return tuple(found)


@handles(GetAnnouncementStatus)
async def announcement_status(ctx: Context, cmd: GetAnnouncementStatus) -> AnnouncementStatus:
    announcement = await _followed(ctx, cmd.announcement_id)
    repo = ctx.repos.announcements
    stored = await repo.counts(announcement.id)
    counts = {state.value: stored.get(state.value, 0) for state in DeliveryState}
    failures, _ = await repo.deliveries(
        announcement.id,
        states=(DeliveryState.FAILED, DeliveryState.UNKNOWN),
        limit=cmd.failure_limit,
    )
    return AnnouncementStatus(announcement, counts, sum(counts.values()), tuple(failures))


@handles(ListAnnouncementDeliveries)
async def announcement_deliveries(
    ctx: Context, cmd: ListAnnouncementDeliveries
) -> Page[DeliveryRecord]:
    own = cmd.member_id is not None and cmd.member_id == ctx.actor.member_id
    announcement = await (_get if own else _followed)(ctx, cmd.announcement_id)
    items, total = await ctx.repos.announcements.deliveries(
        announcement.id,
        states=() if cmd.state is None else (cmd.state,),
        member_id=cmd.member_id,
        offset=max(0, cmd.offset),
        limit=cmd.limit,
    )
    return Page(tuple(items), total, max(0, cmd.offset), cmd.limit)


# --- station subscriptions -----------------------------------------------------------


async def _station_member(ctx: Context, station_key: str, member_id: int | None) -> int:
    """The station exists; the acting member, or the member staff of the station name."""
    station = await get_station(ctx, station_key)
    if member_id is None or member_id == ctx.actor.member_id:
        return ctx.target_member(None)
    ctx.require(Permission.POST_ANNOUNCEMENTS, Scope.station(station.key))
    return member_id


@handles(SubscribeToStation)
async def subscribe(ctx: Context, cmd: SubscribeToStation) -> StationSubscription:
    member_id = await _station_member(ctx, cmd.station_key, cmd.member_id)
    await get_active_member(ctx, member_id)
    done = await ctx.repos.announcements.subscribe(
        cmd.station_key, member_id, ctx.actor.label, ctx.now
    )
    if done is None:
        raise AlreadyExists(entity="station_subscription", ref=f"{cmd.station_key}/#{member_id}")
    if member_id != ctx.actor.member_id:
        await ctx.audit("announcement.subscribe", f"station:{cmd.station_key}", member=member_id)
    return done


@handles(UnsubscribeFromStation)
async def unsubscribe(ctx: Context, cmd: UnsubscribeFromStation) -> StationSubscription:
    member_id = await _station_member(ctx, cmd.station_key, cmd.member_id)
    done = await ctx.repos.announcements.unsubscribe(cmd.station_key, member_id)
    if done is None:
        raise NotFound(entity="station_subscription", ref=f"{cmd.station_key}/#{member_id}")
    if member_id != ctx.actor.member_id:
        await ctx.audit("announcement.unsubscribe", f"station:{cmd.station_key}", member=member_id)
    return done


@handles(ListStationSubscriptions)
async def station_subscriptions(
    ctx: Context, cmd: ListStationSubscriptions
) -> tuple[StationSubscription, ...]:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    return tuple(await ctx.repos.announcements.subscriptions(member_id))
