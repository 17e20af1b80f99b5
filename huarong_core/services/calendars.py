"""iCalendar (RFC 5545) feeds: per salon, club, venue, member, or the whole community.

Times are written in the community's time zone with its VTIMEZONE, so a
calendar app shows 19:00 in Jiaozuo as 19:00 wherever the subscriber is.
Cancelled sessions stay in the feed with `STATUS:CANCELLED`, so a
subscribed calendar removes them instead of keeping a stale copy.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar

from huarong_core.commands import CalendarFeed, GetCalendar
from huarong_core.domain.clubs import Club
from huarong_core.domain.gatherings import Gathering, GatheringStatus, RsvpStatus, Salon
from huarong_core.domain.roles import Permission
from huarong_core.domain.venues import Venue
from huarong_core.errors import InvalidValue, NotFound
from huarong_core.services.context import Context
from huarong_core.services.gatherings import gathering_settings
from huarong_core.services.members import get_member
from huarong_core.services.registry import handles

LOOK_BACK = timedelta(days=31)
FEED_LIMIT = 1000
PRODUCT = "-//Huarong//Huarong community//EN"
IN_CALENDAR = (RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.MAYBE, RsvpStatus.WALK_IN)


async def _feed_items(ctx: Context, cmd: GetCalendar) -> tuple[str, list[Gathering], str]:
    """(calendar name, gatherings, locale) of the feed asked for."""
    settings = await gathering_settings(ctx)
    starts, ends = ctx.now - LOOK_BACK, ctx.now + settings.horizon
    repo = ctx.repos.gatherings
    locale = ctx.community.locale
    if ctx.actor.member_id is not None:
        reader = await ctx.repos.members.get(ctx.actor.member_id)
        if reader is not None and reader.locale:
            locale = reader.locale
    if cmd.feed in (CalendarFeed.SALON, CalendarFeed.CLUB, CalendarFeed.VENUE):
        name = await _feed_name(ctx, cmd.feed, cmd.key, locale)
        found = await repo.between(
            starts,
            ends,
            include_cancelled=True,
            limit=FEED_LIMIT,
            salon_key=cmd.key if cmd.feed is CalendarFeed.SALON else None,
            club_key=cmd.key if cmd.feed is CalendarFeed.CLUB else None,
            venue_key=cmd.key if cmd.feed is CalendarFeed.VENUE else None,
        )
        return name, found, locale
    if cmd.feed is CalendarFeed.MEMBER:
        try:
            member_id = ctx.target_member(int(cmd.key) if cmd.key else None)
        except ValueError:
            raise InvalidValue(field="member", value=cmd.key, reason="not_a_number") from None
        if member_id != ctx.actor.member_id:
            ctx.require_anywhere(Permission.VIEW_MEMBERS)
        member = await get_member(ctx, member_id)
        rsvps = [r for r in await repo.member_rsvps(member_id, starts) if r.status in IN_CALENDAR]
        found = await repo.between(
            starts,
            ends,
            ids=[r.gathering_id for r in rsvps],
            include_cancelled=True,
            limit=FEED_LIMIT,
        )
        return member.display_name, found, member.locale or locale
    return (
        ctx.community.name.get(locale),
        await repo.between(starts, ends, limit=FEED_LIMIT),
        locale,
    )


async def _feed_name(ctx: Context, feed: CalendarFeed, key: str, locale: str) -> str:
    """The name of the salon, club or venue a feed follows (which must exist)."""
    if feed is CalendarFeed.SALON:
        found: Salon | Club | Venue | None = await ctx.repos.gatherings.salon(key)
    elif feed is CalendarFeed.CLUB:
        found = await ctx.repos.clubs.get(key)
    else:
        found = await ctx.repos.venues.venue(key)
    if found is None:
        raise NotFound(entity=feed.value, ref=key)
    return found.name.get(locale)


def _event(
    ctx: Context, gathering: Gathering, locale: str, venues: dict[str, str]
) -> icalendar.Event:
    tz = ctx.community.tz
    event = icalendar.Event()
    event.add("uid", f"gathering-{gathering.id}@{ctx.community.key}.huarong")
    # Without a METHOD, DTSTAMP means the last change (RFC 5545 3.8.7.2): the same
    # feed then reads the same at every poll, and its ETag answers 304.
    changed = gathering.updated_at or gathering.starts_at
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("dtstart", gathering.starts_at.astimezone(tz))
    event.add("dtend", gathering.ends_at.astimezone(tz))
    title = gathering.title.get(locale)
    if gathering.topic:
        title = f"{title}: {gathering.topic}"
    event.add("summary", title)
    details = [gathering.description.get(locale)] if gathering.description else []
    if gathering.speaker:
        details.append(gathering.speaker)
    if details:
        event.add("description", "\n".join(details))
    if gathering.venue_key is not None:
        event.add("location", venues.get(gathering.venue_key, gathering.venue_key))
    cancelled = gathering.status is GatheringStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("categories", [gathering.event_type.value, *sorted(gathering.tags)])
    return event


def render_calendar(
    ctx: Context, name: str, gatherings: list[Gathering], locale: str, venues: dict[str, str]
) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", ctx.community.timezone)
    for gathering in gatherings:
        calendar.add_component(_event(ctx, gathering, locale, venues))
    calendar.add_missing_timezones()
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


@handles(GetCalendar)
async def calendar_feed(ctx: Context, cmd: GetCalendar) -> str:
    name, gatherings, locale = await _feed_items(ctx, cmd)
    venues = {v.key: v.name.get(locale) for v in await ctx.repos.venues.venues()}
    return render_calendar(ctx, name, gatherings, locale, venues)
