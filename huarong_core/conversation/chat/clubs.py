"""Clubs and venues: /clubs /club /join /leave /myclubs /clubmembers /bind /unbind,
/newclub /editclub (staff), /venues /reservations /reserve /unreserve.

Join requests of approval clubs are decided in the leaders' inbox
(/approve, /reject), and club notices go out through /announce; both live
in other modules. Every permission is the core's to check: what is shown
here only decides which lines and buttons a reply carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import attrs

from huarong_core.commands import (
    BindClubChat,
    BookVenue,
    CancelBooking,
    ClubSummary,
    CreateClub,
    GetClub,
    GetMember,
    JoinClub,
    LeaveClub,
    ListBookings,
    ListClubMembers,
    ListClubs,
    ListMemberClubs,
    ListVenues,
    UnbindClubChat,
    UpdateClub,
)
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Moment,
    Ref,
    Word,
    Words,
    arg,
    match_one,
    page_arg,
    parse_day,
    parse_id,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import CLUB
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import (
    MAX_PAYLOAD_BYTES,
    Button,
    Message,
    Text,
    button_if_fits,
)
from huarong_core.domain.clubs import Club, ClubMembership, JoinPolicy, MembershipStatus
from huarong_core.domain.roles import ROLE_PERMISSIONS, Permission, Scope, ScopeKind, permits
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.venues import Booking, Venue
from huarong_core.errors import NotFound, PermissionDenied
from huarong_core.i18n import translate

T = TypeVar("T")

BOOKING_DAYS = 14
"""How far ahead /reservations looks."""

_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})\Z")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


# --- helpers ---------------------------------------------------------------------------


_button = button_if_fits


def _paging_more(command: str, more: str) -> str:
    """`more` for paging buttons if `/command more p9999` fits, else nothing."""
    return more if len(f"/{command} {more} p9999".encode()) <= MAX_PAYLOAD_BYTES else ""


def _page_of(items: Sequence[T], page: int) -> Sequence[T]:
    """The items `Turn.numbered` will show on `page` (to look up only their names)."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    return items[start : start + PAGE_SIZE]


async def _names(turn: Turn, member_ids: Sequence[int]) -> dict[int, str]:
    """Display names of the members the sender may look up (the core decides);
    the others are shown by number."""
    names: dict[int, str] = {}
    for member_id in member_ids:
        if member_id == turn.member.id:
            names[member_id] = turn.member.display_name
            continue
        try:
            profile = await turn.run(GetMember(member_id))
        except PermissionDenied:
            break
        except NotFound:
            continue
        names[member_id] = profile.member.display_name
    return names


def _person(names: Mapping[int, str], member_id: int) -> str | Text:
    name = names.get(member_id)
    return name if name is not None else Text("chat.clubs.member_number", {"id": member_id})


def _leads(turn: Turn, club: Club) -> bool:
    """Whether the sender looks after the club (to show leaders' lines; the core checks)."""
    scopes = [Scope.club(club.key)]
    if club.station is not None:
        scopes.append(Scope.station(club.station))
    return any(permits(turn.sender.grants, Permission.LEAD_CLUBS, s) for s in scopes)


async def _my_memberships(turn: Turn) -> dict[str, MembershipStatus]:
    """The sender's current clubs (active or asked to join), by key."""
    return {m.club_key: m.status for m in await turn.run(ListMemberClubs()) if m.status.is_current}


def _join_button(club: Club) -> Button | None:
    return _button(Text("chat.clubs.join_club_button", {"club": club.name}), f"/join {club.key}")


# --- clubs -----------------------------------------------------------------------------

POLICY_LINES: dict[JoinPolicy, str] = {
    JoinPolicy.OPEN: "chat.clubs.detail_policy_open",
    JoinPolicy.APPROVAL: "chat.clubs.detail_policy_approval",
}
POLICY_CHANGED: dict[JoinPolicy, str] = {
    JoinPolicy.OPEN: "chat.clubs.updated_join_open",
    JoinPolicy.APPROVAL: "chat.clubs.updated_join_approval",
}


def _club_line(mine: Mapping[str, MembershipStatus]) -> Callable[[int, ClubSummary], Text]:
    def line(number: int, summary: ClubSummary) -> Text:
        club = summary.club
        status = mine.get(club.key)
        if status is MembershipStatus.ACTIVE:
            key = "chat.clubs.line_member"
        elif status is MembershipStatus.PENDING:
            key = "chat.clubs.line_pending"
        elif club.join_policy is JoinPolicy.APPROVAL:
            key = "chat.clubs.line_approval"
        else:
            key = "chat.clubs.line"
        return Text(key, {"number": number, "name": club.name, "members": summary.members})

    return line


async def _club_list(turn: Turn, page: int, title: Text) -> Message:
    summaries = await turn.run(ListClubs())
    mine = await _my_memberships(turn)

    def join(number: int, summary: ClubSummary) -> Button | None:
        if summary.club.key in mine:
            return None
        return _button(
            Text("chat.clubs.join_button", {"number": number}), f"/join {summary.club.key}"
        )

    return turn.numbered(
        "club",
        title,
        summaries,
        _club_line(mine),
        lambda s: s.club.key,
        page=page,
        empty=Text("chat.clubs.none"),
        item_button=join,
    )


@route(
    "clubs",
    "社团",
    family="clubs",
    params=[page_arg()],
    commands=[ListClubs, ListMemberClubs],
    aliases=["俱乐部", "社团列表", "协会"],
)
async def clubs(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return await _club_list(turn, args["page"], Text("chat.clubs.list_title"))


@route(
    "club",
    "社团详情",
    family="clubs",
    params=[arg(CLUB, default=lambda t: t.club)],
    commands=[ListClubs, GetClub, ListMemberClubs, GetMember],
    aliases=["clubinfo", "社团介绍"],
)
async def club(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Club | None = args["club"]
    if chosen is None:
        raise MissingArgument(argument="club")
    details = await turn.run(GetClub(chosen.key))
    found = details.club
    lines = [Text("chat.clubs.detail_title", {"name": found.name, "key": found.key})]
    if found.description is not None:
        lines.append(Text("chat.clubs.detail_description", {"description": found.description}))
    lines.append(Text(POLICY_LINES[found.join_policy]))
    lines.append(Text("chat.clubs.detail_members", {"members": details.members}))
    names = await _names(turn, details.leaders)
    for leader in details.leaders:
        lines.append(Text("chat.clubs.detail_leader", {"name": _person(names, leader)}))
    lines.append(Text("chat.clubs.detail_chats", {"chats": len(details.chats)}))
    if _leads(turn, found):
        lines.append(Text("chat.clubs.detail_pending", {"pending": details.pending}))
    status = (await _my_memberships(turn)).get(found.key)
    buttons: list[Button] = []
    if status is MembershipStatus.ACTIVE:
        lines.append(Text("chat.clubs.detail_you_member"))
    elif status is MembershipStatus.PENDING:
        lines.append(Text("chat.clubs.detail_you_pending"))
    elif (join := _join_button(found)) is not None:
        buttons.append(join)
    members = _button(Text("chat.clubs.members_button"), f"/clubmembers {found.key}")
    if members is not None:
        buttons.append(members)
    return turn.lines(*lines, buttons=[buttons] if buttons else ())


@route(
    "join",
    "加入",
    family="clubs",
    params=[arg(CLUB, default=lambda t: t.club), page_arg()],
    commands=[ListClubs, JoinClub, ListMemberClubs],
    aliases=["入社", "加入社团", "joinclub"],
)
async def join(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/join tea`; in a club's group just `/join`; with no club anywhere, the list to pick from."""
    chosen: Club | None = args["club"]
    if chosen is None:
        return await _club_list(turn, args["page"], Text("chat.clubs.join_pick"))
    membership = await turn.run(JoinClub(chosen.key))
    if membership.status is MembershipStatus.PENDING:
        return turn.say("chat.clubs.join_pending", club=chosen.name)
    return turn.say("chat.clubs.joined", club=chosen.name, name=turn.member.display_name)


@route(
    "leave",
    "退出社团",
    family="clubs",
    params=[arg(CLUB, default=lambda t: t.club)],
    commands=[ListClubs, LeaveClub],
    aliases=["退社", "leaveclub"],
)
async def leave(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Club | None = args["club"]
    if chosen is None:
        raise MissingArgument(argument="club")
    await turn.run(LeaveClub(chosen.key))
    return turn.say("chat.clubs.left", club=chosen.name, name=turn.member.display_name)


@route(
    "myclubs",
    "我的社团",
    family="clubs",
    params=[page_arg()],
    commands=[ListMemberClubs, ListClubs],
    personal=True,
    aliases=["我加入的社团"],
)
async def myclubs(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    memberships = [m for m in await turn.run(ListMemberClubs()) if m.status.is_current]
    by_key = {s.club.key: s.club for s in await turn.run(ListClubs())}
    mine = [(m, by_key[m.club_key]) for m in memberships if m.club_key in by_key]

    def line(number: int, item: tuple[ClubMembership, Club]) -> Text:
        key = (
            "chat.clubs.mine_line_pending"
            if item[0].status is MembershipStatus.PENDING
            else "chat.clubs.mine_line"
        )
        return Text(key, {"number": number, "name": item[1].name})

    return turn.numbered(
        "club",
        Text("chat.clubs.mine_title"),
        mine,
        line,
        lambda item: item[1].key,
        page=args["page"],
        empty=Text("chat.clubs.mine_empty"),
        item_button=lambda n, item: _button(
            Text("chat.clubs.details_button", {"number": n}), f"/club {item[1].key}"
        ),
    )


@route(
    "clubmembers",
    "社团成员",
    family="clubs",
    params=[arg(CLUB, default=lambda t: t.club), page_arg()],
    commands=[ListClubs, ListClubMembers, GetClub, GetMember],
    aliases=["社员", "roster"],
)
async def clubmembers(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The members; those who look after the club also see the requests waiting."""
    chosen: Club | None = args["club"] or turn.club
    if chosen is None:
        raise MissingArgument(argument="club")
    active = await turn.run(ListClubMembers(chosen.key))
    leaders = set((await turn.run(GetClub(chosen.key))).leaders)
    try:
        pending = await turn.run(ListClubMembers(chosen.key, MembershipStatus.PENDING))
    except PermissionDenied:
        pending = ()
    shown = _page_of(active, args["page"])
    names = await _names(turn, [m.member_id for m in (*shown, *pending)])

    def line(number: int, membership: ClubMembership) -> Text:
        key = (
            "chat.clubs.members_line_leader"
            if membership.member_id in leaders
            else "chat.clubs.members_line"
        )
        return Text(key, {"number": number, "name": _person(names, membership.member_id)})

    listing = turn.numbered(
        "member",
        Text("chat.clubs.members_title", {"club": chosen.name, "count": len(active)}),
        active,
        line,
        lambda m: _member_ref(m.member_id),
        page=args["page"],
        empty=Text("chat.clubs.members_empty", {"club": chosen.name}),
        more=_paging_more("clubmembers", chosen.key),
    )
    if not pending:
        return listing
    waiting = [Text("chat.clubs.pending_title", {"count": len(pending)})]
    waiting.extend(
        Text(
            "chat.clubs.pending_line",
            {"name": _person(names, m.member_id), "when": m.requested_at},
        )
        for m in pending[:PAGE_SIZE]
    )
    if len(pending) > PAGE_SIZE:
        waiting.append(Text("chat.clubs.pending_more", {"more": len(pending) - PAGE_SIZE}))
    waiting.append(Text("chat.clubs.pending_hint"))
    decide: list[tuple[Button, ...]] = []
    for m in pending[:PAGE_SIZE]:
        name = _person(names, m.member_id)
        ref = f"club:{chosen.key}:{m.member_id}"
        row = [
            _button(Text("chat.clubs.approve_button", {"name": name}), f"/approve {ref}"),
            _button(Text("chat.clubs.reject_button", {"name": name}), f"/reject {ref}"),
        ]
        decide.append(tuple(b for b in row if b is not None))
    return [listing, Message(tuple(waiting), tuple(row for row in decide if row))]


def _member_ref(member_id: int) -> str:
    """`#12`, as `refs.member_ref` remembers a member line."""
    return f"#{member_id}"


@route(
    "bind",
    "绑定",
    family="clubs",
    params=[arg(CLUB, optional=True)],
    commands=[ListClubs, BindClubChat],
    permission=Permission.LEAD_CLUBS,
    aliases=["绑定社团", "bindclub"],
)
async def bind(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Said in a group: that group becomes the club's chat (leaders and staff; the core checks)."""
    if not turn.in_group:
        return turn.say("chat.clubs.bind_private")
    chosen: Club | None = args["club"]
    if chosen is None:
        raise MissingArgument(argument="club")
    await turn.run(BindClubChat(chosen.key, turn.incoming.platform, turn.incoming.chat_id))
    join_button = _join_button(chosen)
    return turn.lines(
        Text("chat.clubs.bound", {"club": chosen.name}),
        buttons=[[join_button]] if join_button is not None else (),
    )


@route(
    "unbind",
    "解绑",
    family="clubs",
    commands=[UnbindClubChat],
    permission=Permission.LEAD_CLUBS,
    aliases=["解绑社团", "unbindclub"],
)
async def unbind(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    if not turn.in_group:
        return turn.say("chat.clubs.unbind_private")
    binding = await turn.run(UnbindClubChat(turn.incoming.platform, turn.incoming.chat_id))
    name: LocalizedText | str = turn.club.name if turn.club is not None else binding.club_key
    return turn.say("chat.clubs.unbound", club=name)


# --- staff: create and change clubs ---------------------------------------------------------


def _club_station(turn: Turn) -> str | None:
    """Where a new club belongs: nowhere for community-wide staff, else the station
    the sender manages clubs for (the core checks the right)."""
    grants = turn.sender.grants
    if permits(grants, Permission.MANAGE_CLUBS, Scope.community()):
        return None
    stations = sorted(
        g.scope.key
        for g in grants
        if g.scope.kind is ScopeKind.STATION and Permission.MANAGE_CLUBS in ROLE_PERMISSIONS[g.role]
    )
    return stations[0] if stations else None


@route(
    "newclub",
    "新建社团",
    family="staff",
    params=[arg(Word("clubs_key", max_length=63)), arg(FreeText("name", max_length=64))],
    commands=[CreateClub],
    permission=Permission.MANAGE_CLUBS,
    aliases=["创建社团", "createclub"],
)
async def newclub(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    key: str = args["clubs_key"]
    created = await turn.run(
        CreateClub(
            key=key.casefold(),
            name=LocalizedText.plain(args["name"]),
            station=_club_station(turn),
        )
    )
    join_button = _join_button(created)
    return turn.lines(
        Text("chat.clubs.created", {"name": created.name, "key": created.key}),
        Text("chat.clubs.created_hint", {"key": created.key}),
        buttons=[[join_button]] if join_button is not None else (),
    )


FIELDS: dict[str, str] = {
    "name": "name",
    "名称": "name",
    "名字": "name",
    "社团名": "name",
    "description": "description",
    "desc": "description",
    "简介": "description",
    "介绍": "description",
    "描述": "description",
    "join": "join",
    "policy": "join",
    "加入": "join",
    "加入方式": "join",
    "审核": "join",
}

POLICIES: dict[str, JoinPolicy] = {
    "open": JoinPolicy.OPEN,
    "开放": JoinPolicy.OPEN,
    "公开": JoinPolicy.OPEN,
    "自由": JoinPolicy.OPEN,
    "自由加入": JoinPolicy.OPEN,
    "approval": JoinPolicy.APPROVAL,
    "approve": JoinPolicy.APPROVAL,
    "审核": JoinPolicy.APPROVAL,
    "需审核": JoinPolicy.APPROVAL,
    "需要审核": JoinPolicy.APPROVAL,
}


def _with_locale(current: LocalizedText | None, locale: str, value: str) -> LocalizedText:
    """The text with the sender's language set to `value`; other languages kept."""
    table = {} if current is None else current.as_dict()
    table[locale] = value
    return LocalizedText(table)


@route(
    "editclub",
    "修改社团",
    family="staff",
    params=[
        arg(CLUB),
        arg(Choice("clubs_field", FIELDS)),
        arg(FreeText("clubs_value", max_length=1000)),
    ],
    commands=[ListClubs, UpdateClub],
    permission=Permission.MANAGE_CLUBS,
    aliases=["编辑社团", "clubedit"],
)
async def editclub(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/editclub tea name 茶艺社` (the name in the sender's language), `… description …`,
    `… join approval|open`."""
    chosen: Club = args["club"]
    field: str = args["clubs_field"]
    value: str = args["clubs_value"]
    language = Text(f"chat.language.{turn.locale.lower()}")
    if field == "join":
        policy = POLICIES.get(value.casefold())
        if policy is None:
            raise BadArgument(argument="clubs_value", value=value, reason="not_a_choice")
        updated = await turn.run(UpdateClub(chosen.key, join_policy=policy))
        return turn.say(POLICY_CHANGED[policy], club=updated.name)
    if field == "name":
        updated = await turn.run(
            UpdateClub(chosen.key, name=_with_locale(chosen.name, turn.locale, value))
        )
        return turn.say(
            "chat.clubs.updated_name", club=updated.name, language=language, value=value
        )
    updated = await turn.run(
        UpdateClub(chosen.key, description=_with_locale(chosen.description, turn.locale, value))
    )
    return turn.say(
        "chat.clubs.updated_description", club=updated.name, language=language, value=value
    )


# --- venues ------------------------------------------------------------------------------


async def find_venue(turn: Turn, word: str) -> Venue:
    venues = await turn.run(ListVenues())
    return match_one(
        "clubs_venue", word, ((v, (v.key, *v.name.as_dict().values())) for v in venues)
    )


async def find_booking(turn: Turn, word: str) -> int:
    return parse_id("clubs_booking", word)


VENUE = Ref("clubs_venue", "venue", find_venue)
BOOKING = Ref("clubs_booking", "venue_booking", find_booking)


@attrs.frozen
class EndTime:
    """When a booking ends: a time on the day it starts (`16:00`), or a day and a time."""

    name: str = "end"

    async def parse(self, turn: Turn, words: Words) -> time | datetime:
        first = words.take()
        if first is None or not first.strip():
            raise MissingArgument(argument=self.name)
        clock = _clock(first)
        if clock is not None:
            return clock
        day = parse_day(self.name, first.strip(), turn.today)
        second = words.take()
        if second is None:
            raise MissingArgument(argument=self.name)
        clock = _clock(second)
        if clock is None:
            raise BadArgument(argument=self.name, value=second, reason="not_a_time")
        return datetime.combine(day, clock, tzinfo=turn.tz)


def _clock(word: str) -> time | None:
    match = _CLOCK.match(word.strip().translate(_FULL_WIDTH))
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _until(turn: Turn, starts_at: datetime, ends_at: datetime) -> datetime | str:
    """The end as shown after the start: just the time when it is the same day."""
    start_local = starts_at.astimezone(turn.tz)
    end_local = ends_at.astimezone(turn.tz)
    if start_local.date() == end_local.date():
        return end_local.strftime("%H:%M")
    return ends_at


@route(
    "venues",
    "场地",
    family="clubs",
    params=[page_arg()],
    commands=[ListVenues],
    aliases=["rooms", "场地列表", "活动室"],
)
async def venues(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListVenues())

    separator = translate("chat.clubs.separator", turn.locale)

    def line(number: int, venue: Venue) -> Text:
        extra: list[Text] = []
        if venue.floor:
            extra.append(Text("chat.clubs.venue_floor", {"floor": venue.floor}))
        if venue.equipment:
            equipment = separator.join(sorted(venue.equipment))
            extra.append(Text("chat.clubs.venue_equipment", {"equipment": equipment}))
        params: dict[str, Any] = {"number": number, "name": venue.name, "capacity": venue.capacity}
        if not extra:
            return Text("chat.clubs.venue_line", params)
        return Text("chat.clubs.venue_line_more", {**params, "extra": tuple(extra)})

    return turn.numbered(
        "venue",
        Text("chat.clubs.venues_title"),
        found,
        line,
        lambda v: v.key,
        page=args["page"],
        empty=Text("chat.clubs.venues_none"),
        item_button=lambda n, v: _button(
            Text("chat.clubs.bookings_button", {"number": n}), f"/reservations {v.key}"
        ),
    )


@route(
    "reservations",
    "场地预订",
    family="clubs",
    params=[arg(VENUE, optional=True), page_arg()],
    commands=[ListVenues, ListBookings],
    aliases=["场地安排", "venuebookings"],
)
async def reservations(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Confirmed bookings of the coming days, of one venue or all."""
    venue: Venue | None = args["clubs_venue"]
    now = turn.handle.now()
    booked = await turn.run(
        ListBookings(
            venue_key=None if venue is None else venue.key,
            starts=now,
            ends=now + timedelta(days=BOOKING_DAYS),
        )
    )
    names = {v.key: v.name for v in await turn.run(ListVenues())}

    def line(number: int, booking: Booking) -> Text:
        return Text(
            "chat.clubs.booking_line",
            {
                "number": number,
                "id": booking.id,
                "venue": names.get(booking.venue_key, booking.venue_key),
                "start": booking.starts_at,
                "end": _until(turn, booking.starts_at, booking.ends_at),
                "purpose": booking.purpose,
            },
        )

    def cancel(number: int, booking: Booking) -> Button | None:
        if booking.booked_by_member != turn.member.id or booking.holder is not None:
            return None
        return Button(
            Text("chat.clubs.cancel_button", {"id": booking.id}), f"/unreserve #{booking.id}"
        )

    if venue is None:
        title = Text("chat.clubs.bookings_title", {"days": BOOKING_DAYS})
        empty = Text("chat.clubs.bookings_none", {"days": BOOKING_DAYS})
    else:
        title = Text("chat.clubs.venue_bookings_title", {"venue": venue.name, "days": BOOKING_DAYS})
        empty = Text("chat.clubs.venue_bookings_none", {"venue": venue.name, "days": BOOKING_DAYS})
    return turn.numbered(
        "venue_booking",
        title,
        booked,
        line,
        lambda b: f"#{b.id}",
        page=args["page"],
        empty=empty,
        more="" if venue is None else _paging_more("reservations", venue.key),
        item_button=cancel,
    )


@route(
    "reserve",
    "预订场地",
    family="clubs",
    params=[
        arg(VENUE),
        arg(Moment("start")),
        arg(EndTime()),
        arg(FreeText("clubs_purpose", max_length=200)),
    ],
    commands=[ListVenues, BookVenue],
    permission=Permission.BOOK_VENUES,
    aliases=["预约场地", "订场地", "bookvenue"],
)
async def reserve(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/reserve hall_29f 7-3 14:00 16:00 读书会` or `… 7-3 14:00 7-4 12:00 …`."""
    venue: Venue = args["clubs_venue"]
    starts_at: datetime = args["start"]
    end: time | datetime = args["end"]
    ends_at = (
        end
        if isinstance(end, datetime)
        else datetime.combine(starts_at.date(), end, tzinfo=starts_at.tzinfo)
    )
    result = await turn.run(
        BookVenue(venue.key, args["clubs_purpose"], starts_at=starts_at, ends_at=ends_at)
    )
    booking = result.booked[0]
    return turn.lines(
        Text(
            "chat.clubs.reserved",
            {
                "venue": venue.name,
                "start": booking.starts_at,
                "end": _until(turn, booking.starts_at, booking.ends_at),
                "purpose": booking.purpose,
                "id": booking.id,
            },
        ),
        buttons=[
            [
                Button(
                    Text("chat.clubs.cancel_button", {"id": booking.id}),
                    f"/unreserve #{booking.id}",
                )
            ]
        ],
    )


@route(
    "unreserve",
    "取消预订",
    family="clubs",
    params=[arg(BOOKING)],
    commands=[CancelBooking, ListVenues],
    permission=Permission.BOOK_VENUES,
    aliases=["取消场地", "cancelbooking"],
)
async def unreserve(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    booking_id: int = args["clubs_booking"]
    done = await turn.run(CancelBooking(booking_id))
    if not done:
        return turn.say("chat.clubs.unreserved_already", id=booking_id)
    names = {v.key: v.name for v in await turn.run(ListVenues())}
    booking = done[0]
    return turn.say(
        "chat.clubs.unreserved",
        id=booking.id,
        venue=names.get(booking.venue_key, booking.venue_key),
        start=booking.starts_at,
    )
