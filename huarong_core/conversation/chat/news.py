"""Announcements and station subscriptions: /news, /announce, /announcement,
/subscribe, /unsubscribe, /subscriptions.

`/announce <audience> <title> | <body>` posts a tracked announcement
(`everyone`, `station:<key>`, `organization:<key>`, `category:<key>`; the
words may be Chinese: `全体`, `驿站:华英驿站`). To a club (`club:<key>`,
or no audience in a group bound to a club) it goes out as the club's own
notice (`AnnounceToClub`), which is what its leaders send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from huarong_core.commands import (
    Announcement,
    AnnounceToClub,
    Audience,
    AudienceKind,
    DeliveryRecord,
    DeliveryState,
    GetAnnouncementStatus,
    GetMember,
    ListAnnouncementDeliveries,
    ListAnnouncements,
    ListClubs,
    ListStations,
    ListStationSubscriptions,
    PostAnnouncement,
    SubscribeToStation,
    UnsubscribeFromStation,
)
from huarong_core.conversation.arguments import FreeText, Ref, Words, arg, page_arg, parse_id
from huarong_core.conversation.chat.stations import (
    LIST_LIMIT,
    Names,
    button,
    button_rows,
    command_name,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import STATION, find_club, find_station
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Message, Text
from huarong_core.domain.communities import Station
from huarong_core.domain.roles import Permission

FAILURES_SHOWN = 10


async def find_announcement(turn: Turn, word: str) -> int:
    return parse_id("stations_announcement", word)


ANNOUNCEMENT = Ref("stations_announcement", "announcement", find_announcement)

# --- reading ----------------------------------------------------------------------


def _news_button(number: int, item: Announcement) -> Button | None:
    return button(Text("chat.stations.number_button", {"number": number}), f"/news {item.id}")


@route(
    "news",
    "公告",
    family="news",
    params=[arg(ANNOUNCEMENT, optional=True), page_arg()],
    commands=[ListAnnouncements],
    aliases=["通知", "announcements"],
)
async def news(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The announcements addressed to the sender, newest first; or one of them in full."""
    found = await turn.run(ListAnnouncements(limit=LIST_LIMIT))
    wanted: int | None = args["stations_announcement"]
    if wanted is not None:
        for item in found:
            if item.id == wanted:
                return Message(
                    (
                        Text("chat.stations.news_title", {"id": item.id, "title": item.title}),
                        Text("chat.stations.news_posted", {"at": item.posted_at}),
                        Text("chat.stations.plain", {"text": item.body}),
                    )
                )
        raise BadArgument(argument="stations_announcement", value=f"#{wanted}", reason="no_match")

    def line(number: int, item: Announcement) -> Text:
        return Text(
            "chat.stations.news_line",
            {"number": number, "title": item.title, "at": item.posted_at},
        )

    message = turn.numbered(
        "announcement",
        Text("chat.stations.news_list_title"),
        found,
        line,
        lambda a: f"#{a.id}",
        page=args["page"],
        empty=Text("chat.stations.news_empty"),
        item_button=_news_button,
    )
    if not found:
        return message
    return Message(
        (*message.lines, Text("chat.stations.news_hint", {"command": command_name(turn, "news")})),
        message.buttons,
        replaces_source=message.replaces_source,
    )


# --- posting -----------------------------------------------------------------------------

AUDIENCE_WORDS: dict[str, AudienceKind] = {
    "everyone": AudienceKind.EVERYONE,
    "all": AudienceKind.EVERYONE,
    "全体": AudienceKind.EVERYONE,
    "所有人": AudienceKind.EVERYONE,
    "全体会员": AudienceKind.EVERYONE,
    "大家": AudienceKind.EVERYONE,
}
AUDIENCE_KINDS: dict[str, AudienceKind] = {
    "club": AudienceKind.CLUB,
    "社团": AudienceKind.CLUB,
    "station": AudienceKind.STATION,
    "驿站": AudienceKind.STATION,
    "organization": AudienceKind.ORGANIZATION,
    "org": AudienceKind.ORGANIZATION,
    "单位": AudienceKind.ORGANIZATION,
    "企业": AudienceKind.ORGANIZATION,
    "category": AudienceKind.CATEGORY,
    "类别": AudienceKind.CATEGORY,
}
_COLON = re.compile(r"[:：]")
_BAR = re.compile(r"[|｜]")


@attrs.frozen
class AudienceArg:
    """`everyone`, `club:tea`, `驿站:华英驿站`...; left out in a club's group: that club."""

    name: str = "stations_audience"

    async def parse(self, turn: Turn, words: Words) -> Audience:
        word = words.peek() or ""
        kind = AUDIENCE_WORDS.get(word.casefold())
        if kind is not None:
            words.take()
            return Audience(kind)
        head, colon, key = _COLON.split(word, maxsplit=1)[0], _COLON.search(word), ""
        if colon is not None:
            key = word[colon.end() :].strip()
            kind = AUDIENCE_KINDS.get(head.strip().casefold())
        if kind is None:
            if turn.club is not None:
                return Audience(AudienceKind.CLUB, turn.club.key)
            raise BadArgument(argument=self.name, value=word[:40], reason="stations_bad_audience")
        words.take()
        if not key:
            raise BadArgument(argument=self.name, value=word[:40], reason="stations_bad_audience")
        if kind is AudienceKind.CLUB:
            key = (await find_club(turn, key)).key
        elif kind is AudienceKind.STATION:
            key = (await find_station(turn, key)).key
        return Audience(kind, key)


async def audience_text(turn: Turn, audience: Audience) -> Text:
    """Who an announcement went to, with the station's or club's name where it has one."""
    name: Any = audience.key
    if audience.kind is AudienceKind.STATION:
        for station in await turn.run(ListStations()):
            if station.key == audience.key:
                name = station.name
    elif audience.kind is AudienceKind.CLUB:
        for summary in await turn.run(ListClubs()):
            if summary.club.key == audience.key:
                name = summary.club.name
    return Text(f"chat.stations.audience.{audience.kind.value}", {"name": name})


def split_title(text: str) -> tuple[str, str]:
    """`title | body`, or a first line and the lines after it."""
    parts = _BAR.split(text, maxsplit=1)
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    first, _, rest = text.strip().partition("\n")
    return first.strip(), rest.strip()


@route(
    "announce",
    "发布公告",
    family="news",
    params=[arg(AudienceArg()), arg(FreeText("stations_message", max_length=4000))],
    commands=[PostAnnouncement, AnnounceToClub, ListClubs, ListStations],
    permission=Permission.POST_ANNOUNCEMENTS,
    aliases=["发公告", "通知大家"],
)
async def announce(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    audience: Audience = args["stations_audience"]
    text: str = args["stations_message"]
    title, body = split_title(text)
    if audience.kind is AudienceKind.CLUB:
        notice = "\n".join(part for part in (title, body) if part)
        sent = await turn.run(AnnounceToClub(audience.key, notice))
        return turn.say(
            "chat.stations.club_notice_done",
            club=await audience_text(turn, Audience(AudienceKind.CLUB, sent.club_key)),
            members=len(sent.recipients),
            chats=len(sent.chats),
        )
    if not title or not body:
        raise MissingArgument(argument="stations_message")
    posted = await turn.run(PostAnnouncement(str(audience), title, body))
    return Message(
        (
            Text(
                "chat.stations.announce_done",
                {
                    "id": posted.id,
                    "title": posted.title,
                    "audience": await audience_text(turn, posted.audience),
                    "members": posted.members,
                    "chats": posted.chats,
                },
            ),
        ),
        button_rows(
            button(Text("chat.stations.button_announcement"), f"/announcement {posted.id}")
        ),
    )


def _recipient(record: DeliveryRecord, names: dict[int, str]) -> str:
    if record.member_id is not None:
        return names.get(record.member_id, f"#{record.member_id}")
    return record.chat or record.recipient


@route(
    "announcement",
    "公告状态",
    family="news",
    params=[arg(ANNOUNCEMENT)],
    commands=[
        GetAnnouncementStatus,
        ListAnnouncementDeliveries,
        GetMember,
        ListStations,
        ListClubs,
    ],
    permission=Permission.POST_ANNOUNCEMENTS,
)
async def announcement(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """How the deliveries of one announcement went, and which failed."""
    announcement_id: int = args["stations_announcement"]
    status = await turn.run(GetAnnouncementStatus(announcement_id, failure_limit=1))
    failed = await turn.run(
        ListAnnouncementDeliveries(
            announcement_id, state=DeliveryState.FAILED, limit=FAILURES_SHOWN
        )
    )
    item = status.announcement
    counts = status.counts
    lines = [
        Text("chat.stations.news_title", {"id": item.id, "title": item.title}),
        Text(
            "chat.stations.status_audience",
            {"audience": await audience_text(turn, item.audience), "at": item.posted_at},
        ),
        Text(
            "chat.stations.status_counts",
            {
                "total": status.total,
                "sent": counts[DeliveryState.SENT],
                "pending": counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING],
                "failed": counts[DeliveryState.FAILED],
                "unreachable": counts[DeliveryState.UNREACHABLE],
                "unknown": counts[DeliveryState.UNKNOWN],
            },
        ),
        Text("chat.stations.status_done" if status.done else "chat.stations.status_sending"),
    ]
    if failed.items:
        lookup = Names(turn)
        names = {
            r.member_id: await lookup.get(r.member_id)
            for r in failed.items
            if r.member_id is not None
        }
        lines.append(Text("chat.stations.status_failures", {"count": failed.total}))
        for record in failed.items:
            lines.append(
                Text(
                    "chat.stations.status_failure",
                    {
                        "recipient": _recipient(record, names),
                        "error": record.last_error or "—",
                        "attempts": record.attempts,
                    },
                )
            )
    return Message(tuple(lines))


# --- station subscriptions ------------------------------------------------------------------


@route(
    "subscribe",
    "订阅",
    family="news",
    params=[arg(STATION)],
    commands=[SubscribeToStation, ListStations],
)
async def subscribe(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    station: Station = args["station"]
    await turn.run(SubscribeToStation(station.key))
    return Message(
        (Text("chat.stations.subscribed", {"station": station.name}),),
        button_rows(
            button(Text("chat.stations.button_unsubscribe"), f"/unsubscribe {station.key}")
        ),
    )


@route(
    "unsubscribe",
    "退订",
    family="news",
    params=[arg(STATION)],
    commands=[UnsubscribeFromStation, ListStations],
    aliases=["取消订阅"],
)
async def unsubscribe(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    station: Station = args["station"]
    await turn.run(UnsubscribeFromStation(station.key))
    return turn.say("chat.stations.unsubscribed", station=station.name)


@route(
    "subscriptions",
    "我的订阅",
    family="news",
    commands=[ListStationSubscriptions, ListStations],
    personal=True,
)
async def subscriptions(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Every station, marked where the sender is subscribed, with a button to change it."""
    mine = {s.station_key for s in await turn.run(ListStationSubscriptions())}
    lines = [Text("chat.stations.subscriptions_title", {"count": len(mine)})]
    buttons: list[Button | None] = []
    for station in await turn.run(ListStations()):
        on = station.key in mine
        lines.append(
            Text(
                "chat.stations.subscription_on" if on else "chat.stations.subscription_off",
                {"station": station.name},
            )
        )
        payload = f"/unsubscribe {station.key}" if on else f"/subscribe {station.key}"
        label = "chat.stations.button_unsubscribe_at" if on else "chat.stations.button_subscribe_at"
        buttons.append(button(Text(label, {"station": station.name}), payload))
    rows = [b for b in buttons if b is not None]
    return Message(tuple(lines), tuple((b,) for b in rows))
