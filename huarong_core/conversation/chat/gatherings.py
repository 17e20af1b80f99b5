"""Salons and events for members: what's on, details, RSVP, check-in, feedback, results.

A gathering is named by `#12` or `12` (its id), by the number of a line in
the last list of gatherings shown (`/rsvp 2`), or by a unique part of its
title among the gatherings not yet over; a salon's key or name means its
next session. In a group bound to a club, `/whatson` lists that club's
gatherings first, then everything else. Staff tools are in `gatherings_staff`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from huarong_core.commands import (
    CheckIn,
    CheckInResult,
    CreateTeam,
    FindMember,
    GatheringDetails,
    GetChallengeBoard,
    GetContestRanking,
    GetGathering,
    GiveFeedback,
    JoinTeam,
    ListGatherings,
    ListMemberRsvps,
    ListMembers,
    ListSalons,
    ListVenues,
    MemberAgendaItem,
    ReachCheckpoint,
    RespondToGathering,
    WhatsOn,
)
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Integer,
    Param,
    Ref,
    arg,
    match_one,
    page_arg,
)
from huarong_core.conversation.errors import BadArgument
from huarong_core.conversation.refs import find_member
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import Button, Message, Text
from huarong_core.domain.gatherings import (
    Answer,
    EventType,
    Gathering,
    GatheringKind,
    GatheringStatus,
    Rsvp,
    RsvpStatus,
    Salon,
)
from huarong_core.domain.roles import Permission
from huarong_core.domain.text import LocalizedText

T = TypeVar("T")

KIND = "gathering"
"""The kind of numbered lists of gatherings (`/rsvp 2` names the second line)."""
ARG = "gatherings_event"
"""The catalog name of a gathering argument (`<活动>`)."""
LOOKUP = (GetGathering, ListGatherings)
"""The core commands every gathering argument may run."""

_ID = re.compile(r"^[#＃]?[0-9０-９]{1,12}\Z")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＃", "0123456789#")


# --- naming a gathering -------------------------------------------------------------


async def find_gathering(turn: Turn, word: str) -> Gathering:
    """`#12`/`12` by id, else a salon key/name (its next session), an event key, or
    a unique part of a title among the gatherings not over yet."""
    typed = _typed_id(word)
    if typed is not None:
        return (await turn.run(GetGathering(typed))).gathering
    ref = word.strip().translate(_FULL_WIDTH)
    now = turn.handle.now()
    upcoming = await turn.run(ListGatherings(starts=now, limit=500))
    try:
        return match_one(ARG, ref, _candidates(turn, upcoming))
    except BadArgument as exc:
        if exc.reason != "no_match":
            raise
    # Results, feedback and closing come after the end: try the recent past too.
    recent = await turn.run(ListGatherings(starts=now - RECENT, ends=now, limit=500))
    return match_one(ARG, ref, _candidates(turn, list(reversed(recent))))


RECENT = timedelta(days=30)
"""How far back a title still names a gathering that is over."""


def _candidates(
    turn: Turn, gatherings: Sequence[Gathering]
) -> list[tuple[Gathering, tuple[str, ...]]]:
    """Each gathering with its names; a series only by its first session in `gatherings`."""
    candidates: list[tuple[Gathering, tuple[str, ...]]] = []
    series: set[str] = set()
    for gathering in gatherings:
        if gathering.salon_key is not None:
            if gathering.salon_key in series:
                continue
            series.add(gathering.salon_key)
        names = (
            gathering.event_key,
            gathering.salon_key,
            *gathering.title.as_dict().values(),
            gathering.title.get(turn.locale),
        )
        candidates.append((gathering, tuple(n for n in names if n)))
    return candidates


GATHERING = Ref(ARG, KIND, find_gathering)
"""A gathering: id, title, or the number of a line of the last list of gatherings."""
GATHERING_BY_ID = Ref(ARG, "gathering_id", find_gathering)
"""A gathering where a bare number is always its id (check-in codes and links say `12`)."""


async def find_gathering_id(turn: Turn, word: str) -> int:
    """The id a gathering argument names: read from the word itself when it is a
    number, so a command that reads the gathering anyway (a check-in, and says
    when there is none) is not preceded by a second read of it."""
    typed = _typed_id(word)
    return typed if typed is not None else (await find_gathering(turn, word)).id


def _typed_id(word: str) -> int | None:
    """`#12`, `12` or their full-width forms as an id; None for anything else."""
    ref = word.strip().translate(_FULL_WIDTH)
    return int(ref.lstrip("#")) if _ID.match(ref) else None


GATHERING_ID = Ref(ARG, "gathering_id", find_gathering_id)
"""As `GATHERING_BY_ID`, giving the id only."""


def gathering_arg() -> Param:
    return arg(GATHERING, key="gathering")


# --- shared pieces of replies -------------------------------------------------------


def end_text(turn: Turn, gathering: Gathering) -> Any:
    """The end: its local clock when it ends the day it starts, else the whole moment."""
    community = turn.handle.community
    starts, ends = community.local(gathering.starts_at), community.local(gathering.ends_at)
    return ends.strftime("%H:%M") if starts.date() == ends.date() else gathering.ends_at


STATUS_KEYS: dict[RsvpStatus, str] = {
    RsvpStatus.GOING: "chat.gatherings.status_going",
    RsvpStatus.WAITLISTED: "chat.gatherings.status_waitlisted",
    RsvpStatus.MAYBE: "chat.gatherings.status_maybe",
    RsvpStatus.NOT_GOING: "chat.gatherings.status_not_going",
    RsvpStatus.WALK_IN: "chat.gatherings.status_walk_in",
}
RSVP_KEYS: dict[RsvpStatus, str] = {
    RsvpStatus.GOING: "chat.gatherings.rsvp_going",
    RsvpStatus.WAITLISTED: "chat.gatherings.rsvp_waitlisted",
    RsvpStatus.MAYBE: "chat.gatherings.rsvp_maybe",
    RsvpStatus.NOT_GOING: "chat.gatherings.rsvp_not_going",
    RsvpStatus.WALK_IN: "chat.gatherings.rsvp_walk_in",
}
TYPE_KEYS: dict[EventType, str] = {
    EventType.SALON: "chat.gatherings.type_salon",
    EventType.ACTIVITY_DAY: "chat.gatherings.type_activity_day",
    EventType.LECTURE: "chat.gatherings.type_lecture",
    EventType.DRIVE: "chat.gatherings.type_drive",
    EventType.CAMPAIGN: "chat.gatherings.type_campaign",
    EventType.CONTEST: "chat.gatherings.type_contest",
    EventType.CHALLENGE: "chat.gatherings.type_challenge",
    EventType.OTHER: "chat.gatherings.type_other",
}


def status_text(rsvp: Rsvp) -> Text:
    if rsvp.checked_in_at is not None:
        return Text("chat.gatherings.status_checked_in")
    if rsvp.status is RsvpStatus.WAITLISTED and rsvp.position is not None:
        return Text("chat.gatherings.status_waitlisted_at", {"position": rsvp.position})
    return Text(STATUS_KEYS[rsvp.status])


def type_text(event_type: EventType) -> Text:
    return Text(TYPE_KEYS[event_type])


def is_open(turn: Turn, gathering: Gathering) -> bool:
    """Whether members may still answer (scheduled, not started)."""
    return gathering.status is GatheringStatus.SCHEDULED and turn.handle.now() < gathering.starts_at


async def venue_names(turn: Turn) -> dict[str, LocalizedText]:
    return {venue.key: venue.name for venue in await turn.run(ListVenues())}


def page_of(items: Sequence[T], page: int) -> Sequence[T]:
    """The items `Turn.numbered` shows on `page` (to fetch details for them alone)."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]


def gathering_parts(
    gathering: Gathering,
    venues: Mapping[str, LocalizedText],
    details: GatheringDetails | None,
) -> tuple[Text, ...]:
    """Title and time, venue, seats: one line of a list of gatherings."""
    parts = [
        Text(
            "chat.gatherings.part_title",
            {"start": gathering.starts_at, "title": gathering.title},
        )
    ]
    if gathering.venue_key is not None:
        venue: Any = venues.get(gathering.venue_key, gathering.venue_key)
        parts.append(Text("chat.gatherings.part_venue", {"venue": venue}))
    if gathering.status is GatheringStatus.CANCELLED:
        parts.append(Text("chat.gatherings.part_cancelled"))
    elif gathering.status is GatheringStatus.CLOSED:
        parts.append(Text("chat.gatherings.part_closed"))
    elif details is not None:
        if details.seats_left is None:
            parts.append(Text("chat.gatherings.part_open", {"going": details.going}))
        elif details.seats_left > 0:
            parts.append(Text("chat.gatherings.part_seats", {"seats": details.seats_left}))
        else:
            parts.append(Text("chat.gatherings.part_full", {"waitlisted": details.waitlisted}))
    return tuple(parts)


async def gathering_list(
    turn: Turn,
    title: Text,
    gatherings: Sequence[Gathering],
    page: int,
    *,
    empty: Text,
    more: str = "",
) -> Message:
    """A numbered page of gatherings with seats left, and a button to RSVP to each."""
    shown = page_of(gatherings, page)
    details = {g.id: await turn.run(GetGathering(g.id)) for g in shown}
    venues = await venue_names(turn) if shown else {}

    def line(number: int, gathering: Gathering) -> Text:
        parts = gathering_parts(gathering, venues, details.get(gathering.id))
        return Text("chat.gatherings.line", {"number": number, "parts": parts})

    def button(number: int, gathering: Gathering) -> Button | None:
        if not is_open(turn, gathering):
            return None
        return Button(
            Text("chat.gatherings.button_rsvp_n", {"number": number}), f"/rsvp #{gathering.id}"
        )

    return turn.numbered(
        KIND,
        title,
        gatherings,
        line,
        lambda g: g.ref,
        page=page,
        empty=empty,
        more=more,
        item_button=button,
    )


LIST_COMMANDS = (GetGathering, ListVenues)


# --- what's on ----------------------------------------------------------------------


@route(
    "whatson",
    "近期活动",
    family="gatherings",
    params=[arg(Integer("gatherings_days", 1, 62), default=lambda t: 7, key="days"), page_arg()],
    commands=[WhatsOn, *LIST_COMMANDS],
    aliases=["活动日历", "upcoming"],
)
async def whatson(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The coming days; in a club's group, that club's gatherings come first."""
    days: int = args["days"]
    found = [*await turn.run(WhatsOn(days=days))]
    if turn.club is not None:
        club = turn.club.key
        found.sort(key=lambda g: g.club_key != club)  # stable: in time order within each
        title = Text("chat.gatherings.whatson_title_club", {"days": days, "club": turn.club.name})
    else:
        title = Text("chat.gatherings.whatson_title", {"days": days})
    return await gathering_list(
        turn,
        title,
        found,
        args["page"],
        empty=Text("chat.gatherings.whatson_empty", {"days": days}),
        more=str(days),
    )


@route(
    "events",
    "活动",
    family="gatherings",
    params=[page_arg()],
    commands=[ListGatherings, *LIST_COMMANDS],
    aliases=["活动列表"],
)
async def events(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(
        ListGatherings(starts=turn.handle.now(), kind=GatheringKind.EVENT, limit=500)
    )
    return await gathering_list(
        turn,
        Text("chat.gatherings.events_title"),
        found,
        args["page"],
        empty=Text("chat.gatherings.events_empty"),
    )


@route(
    "salons",
    "沙龙",
    family="gatherings",
    params=[page_arg()],
    commands=[ListSalons, ListGatherings, ListVenues],
    aliases=["沙龙列表"],
)
async def salons(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Each series and its next session; `2` then names that session (or the series)."""
    every = await turn.run(ListSalons())
    series = sorted(every, key=lambda s: (not s.enabled, s.key))
    sessions = await turn.run(
        ListGatherings(starts=turn.handle.now(), kind=GatheringKind.SESSION, limit=1000)
    )
    following: dict[str, Gathering] = {}
    for session in sessions:
        if session.salon_key is not None:
            following.setdefault(session.salon_key, session)
    venues = await venue_names(turn) if series else {}

    def line(number: int, salon: Salon) -> Text:
        upcoming = following.get(salon.key)
        parts: list[Text] = [Text("chat.gatherings.salon_name", {"name": salon.name})]
        if not salon.enabled:
            parts.append(Text("chat.gatherings.salon_paused"))
        elif upcoming is None:
            parts.append(Text("chat.gatherings.salon_no_session"))
        else:
            parts.append(Text("chat.gatherings.salon_next", {"start": upcoming.starts_at}))
            if upcoming.status is GatheringStatus.SCHEDULED and upcoming.venue_key is not None:
                venue: Any = venues.get(upcoming.venue_key, upcoming.venue_key)
                parts.append(Text("chat.gatherings.part_venue", {"venue": venue}))
        return Text("chat.gatherings.line", {"number": number, "parts": tuple(parts)})

    def ref(salon: Salon) -> str:
        upcoming = following.get(salon.key)
        return salon.key if upcoming is None else upcoming.ref

    def button(number: int, salon: Salon) -> Button | None:
        upcoming = following.get(salon.key)
        if upcoming is None or not is_open(turn, upcoming):
            return None
        return Button(
            Text("chat.gatherings.button_rsvp_n", {"number": number}), f"/rsvp #{upcoming.id}"
        )

    message = turn.numbered(
        KIND,
        Text("chat.gatherings.salons_title"),
        series,
        line,
        ref,
        page=args["page"],
        empty=Text("chat.gatherings.salons_empty"),
        item_button=button,
    )
    turn.remember("salon", [s.key for s in page_of(series, args["page"])])
    return message


# --- one gathering ------------------------------------------------------------------


def answer_buttons(gathering: Gathering, current: RsvpStatus | None) -> tuple[Button, ...]:
    """Buttons for the answers other than the current one."""
    going = current in (RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.WALK_IN)
    buttons = []
    if not going:
        buttons.append(Button(Text("chat.gatherings.button_going"), f"/rsvp {gathering.ref} going"))
    if current is not RsvpStatus.MAYBE:
        buttons.append(Button(Text("chat.gatherings.button_maybe"), f"/rsvp {gathering.ref} maybe"))
    if current is not None and current is not RsvpStatus.NOT_GOING:
        buttons.append(
            Button(Text("chat.gatherings.button_not_going"), f"/rsvp {gathering.ref} no")
        )
    return tuple(buttons)


@route(
    "details",
    "活动详情",
    family="gatherings",
    params=[gathering_arg()],
    commands=[*LOOKUP, ListVenues],
    aliases=["详情", "event"],
)
async def details(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    found = await turn.run(GetGathering(gathering.id))
    gathering = found.gathering
    lines = [
        Text(
            "chat.gatherings.details_title",
            {"id": gathering.id, "title": gathering.title, "type": type_text(gathering.event_type)},
        ),
        Text(
            "chat.gatherings.details_time",
            {"start": gathering.starts_at, "end": end_text(turn, gathering)},
        ),
    ]
    if gathering.venue_key is not None:
        venues = await venue_names(turn)
        venue: Any = venues.get(gathering.venue_key, gathering.venue_key)
        lines.append(Text("chat.gatherings.details_venue", {"venue": venue}))
    if gathering.speaker:
        lines.append(Text("chat.gatherings.details_speaker", {"speaker": gathering.speaker}))
    if gathering.topic:
        lines.append(Text("chat.gatherings.details_topic", {"topic": gathering.topic}))
    if gathering.description is not None:
        lines.append(Text("chat.gatherings.details_description", {"text": gathering.description}))
    if gathering.status is GatheringStatus.CANCELLED:
        lines.append(Text("chat.gatherings.details_cancelled"))
    elif gathering.status is GatheringStatus.CLOSED:
        lines.append(Text("chat.gatherings.details_closed", {"checked_in": found.checked_in}))
    elif gathering.capacity is None:
        lines.append(
            Text("chat.gatherings.details_open", {"going": found.going, "maybe": found.maybe})
        )
    else:
        lines.append(
            Text(
                "chat.gatherings.details_seats",
                {
                    "going": found.going,
                    "capacity": gathering.capacity,
                    "left": found.seats_left or 0,
                    "waitlisted": found.waitlisted,
                    "maybe": found.maybe,
                },
            )
        )
    if found.mine is not None:
        lines.append(Text("chat.gatherings.details_mine", {"status": status_text(found.mine)}))
    rows: list[tuple[Button, ...]] = []
    if is_open(turn, gathering):
        rows.append(answer_buttons(gathering, None if found.mine is None else found.mine.status))
    extra = []
    if gathering.event_type is EventType.CONTEST:
        extra.append(Button(Text("chat.gatherings.button_results"), f"/results {gathering.ref}"))
    if gathering.event_type is EventType.CHALLENGE:
        extra.append(Button(Text("chat.gatherings.button_board"), f"/board {gathering.ref}"))
    if turn.can(Permission.MANAGE_GATHERINGS):
        extra.append(
            Button(Text("chat.gatherings.button_attendees"), f"/attendees {gathering.ref}")
        )
        extra.append(Button(Text("chat.gatherings.button_code"), f"/code {gathering.ref}"))
    if extra:
        rows.append(tuple(extra))
    return turn.lines(*lines, buttons=rows)


# --- answering ----------------------------------------------------------------------

ANSWERS: dict[str, Answer] = {
    **dict.fromkeys(("going", "go", "yes", "y", "去", "参加", "报名", "是", "要去"), Answer.GOING),
    **dict.fromkeys(("maybe", "perhaps", "可能", "待定", "也许", "不确定"), Answer.MAYBE),
    **dict.fromkeys(
        ("no", "n", "not_going", "notgoing", "not-going", "不去", "不参加", "否", "去不了"),
        Answer.NOT_GOING,
    ),
}


def rsvp_message(turn: Turn, gathering: Gathering, rsvp: Rsvp, *, replaces: bool) -> Message:
    params: dict[str, Any] = {"title": gathering.title, "start": gathering.starts_at}
    if rsvp.status is RsvpStatus.WAITLISTED:
        params["position"] = rsvp.position or 0
    line = Text(RSVP_KEYS[rsvp.status], params)
    buttons = answer_buttons(gathering, rsvp.status) if is_open(turn, gathering) else ()
    return Message((line,), (buttons,) if buttons else (), replaces_source=replaces)


@route(
    "rsvp",
    "报名",
    family="gatherings",
    params=[gathering_arg(), arg(Choice("answer", ANSWERS), optional=True)],
    commands=[RespondToGathering, *LOOKUP],
    aliases=["join_event", "参加"],
)
async def rsvp(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Going (or the waitlist when full), maybe, or not going; buttons change the answer."""
    gathering: Gathering = args["gathering"]
    answer: Answer | None = args["answer"]
    result = await turn.run(RespondToGathering(gathering.id, answer or Answer.GOING))
    # A button on an RSVP answer changes that answer in place.
    replaces = turn.incoming.pressed and answer is not None
    return rsvp_message(turn, gathering, result, replaces=replaces)


@route(
    "cancel",
    "取消报名",
    family="gatherings",
    params=[gathering_arg()],
    commands=[RespondToGathering, *LOOKUP],
    aliases=["unrsvp", "不去了"],
)
async def cancel(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    result = await turn.run(RespondToGathering(gathering.id, Answer.NOT_GOING))
    return rsvp_message(turn, gathering, result, replaces=False)


@route(
    "myrsvps",
    "我的报名",
    family="gatherings",
    params=[page_arg()],
    commands=[ListMemberRsvps],
    personal=True,
    aliases=["myevents", "我的活动"],
)
async def myrsvps(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    items = [
        item
        for item in await turn.run(ListMemberRsvps())
        if item.rsvp.status is not RsvpStatus.NOT_GOING
    ]

    def line(number: int, item: MemberAgendaItem) -> Text:
        parts: list[Text] = [
            Text(
                "chat.gatherings.part_title",
                {"start": item.gathering.starts_at, "title": item.gathering.title},
            ),
            Text("chat.gatherings.part_status", {"status": status_text(item.rsvp)}),
        ]
        if item.gathering.status is GatheringStatus.CANCELLED:
            parts.append(Text("chat.gatherings.part_cancelled"))
        return Text("chat.gatherings.line", {"number": number, "parts": tuple(parts)})

    def button(number: int, item: MemberAgendaItem) -> Button:
        return Button(
            Text("chat.gatherings.button_details_n", {"number": number}),
            f"/details {item.gathering.ref}",
        )

    return turn.numbered(
        KIND,
        Text("chat.gatherings.myrsvps_title"),
        items,
        line,
        lambda item: item.gathering.ref,
        page=args["page"],
        empty=Text("chat.gatherings.myrsvps_empty"),
        item_button=button,
    )


# --- at the gathering ---------------------------------------------------------------


def checkin_message(
    turn: Turn, gathering: Gathering, result: CheckInResult, name: str | None
) -> Message:
    if name is None:
        lines = [Text("chat.gatherings.checkin_done", {"title": gathering.title})]
    else:
        lines = [Text("chat.gatherings.checkin_for_done", {"title": gathering.title, "name": name})]
    points = sum(p for _, outcome, p in result.awards if outcome == "awarded")
    if points:
        lines.append(Text("chat.gatherings.checkin_points", {"points": points}))
    if result.rsvp.status is RsvpStatus.WALK_IN:
        lines.append(Text("chat.gatherings.checkin_walk_in"))
    return turn.lines(*lines)


_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@route(
    "checkin",
    "签到",
    family="gatherings",
    params=[
        arg(GATHERING_ID, key="gathering"),
        arg(FreeText("gatherings_code_or_member", max_length=80), key="who"),
    ],
    commands=[CheckIn, FindMember, ListMembers, *LOOKUP],
    aliases=["check_in", "打卡签到"],
)
async def checkin(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/checkin 12 482913` with the code shown at the venue; staff may name a member
    instead (`/checkin 12 @alice`). A bare number here is always the gathering's id."""
    gathering_id: int = args["gathering"]
    who: str = args["who"]
    code = "".join(who.split()).translate(_DIGITS)
    if code.isascii() and code.isdigit():
        result = await turn.run(CheckIn(gathering_id, code=code))
        return checkin_message(turn, result.gathering, result, None)
    member = await find_member(turn, who)
    result = await turn.run(CheckIn(gathering_id, member_id=member.id))
    name = None if member.id == turn.member.id else member.display_name
    return checkin_message(turn, result.gathering, result, name)


@route(
    "feedback",
    "评价",
    family="gatherings",
    params=[
        gathering_arg(),
        arg(Integer("rating", 1, 5)),
        arg(FreeText("comment", max_length=1000), optional=True),
    ],
    commands=[GiveFeedback, *LOOKUP],
    aliases=["反馈"],
)
async def feedback(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    given = await turn.run(GiveFeedback(gathering.id, args["rating"], args["comment"] or ""))
    return turn.say("chat.gatherings.feedback_done", title=gathering.title, rating=given.rating)


# --- contests and challenges --------------------------------------------------------


async def ranking_lines(turn: Turn, gathering: Gathering) -> list[Text]:
    places = await turn.run(GetContestRanking(gathering.id))
    if not places:
        return [Text("chat.gatherings.results_empty")]
    return [
        Text(
            "chat.gatherings.results_line",
            {"place": p.place, "entrant": p.label, "score": p.score},
        )
        for p in places
    ]


@route(
    "results",
    "成绩",
    family="gatherings",
    params=[gathering_arg()],
    commands=[GetContestRanking, *LOOKUP],
    aliases=["ranking", "比赛成绩"],
)
async def results(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    lines = await ranking_lines(turn, gathering)
    key = (
        "chat.gatherings.results_final"
        if gathering.finalized_at is not None
        else "chat.gatherings.results_provisional"
    )
    return turn.lines(Text(key, {"title": gathering.title}), *lines)


async def find_team(turn: Turn, gathering: Gathering, word: str) -> tuple[int, str]:
    """A team of a challenge or contest: `#3`/`3`/`team:3`, or its name (a challenge's
    teams, or a contest's teams that have a score)."""
    ref = word.strip().translate(_FULL_WIDTH)
    for prefix in ("team:", "队:", "队："):
        if ref.casefold().startswith(prefix):
            ref = ref[len(prefix) :].strip()
    if _ID.match(ref):
        number = int(ref.lstrip("#"))
        return number, f"#{number}"
    teams: list[tuple[tuple[int, str], tuple[str, ...]]] = []
    if gathering.event_type is EventType.CHALLENGE:
        for progress in await turn.run(GetChallengeBoard(gathering.id)):
            teams.append(((progress.team.id, progress.team.name), (progress.team.name,)))
    elif gathering.event_type is EventType.CONTEST:
        for place in await turn.run(GetContestRanking(gathering.id)):
            kind, _, team_id = place.entrant.partition(":")
            if kind == "team":
                teams.append(((int(team_id), place.label), (place.label,)))
    return match_one("gatherings_team", ref, teams)


@route(
    "team",
    "组队",
    family="gatherings",
    params=[gathering_arg(), arg(FreeText("name", max_length=60))],
    commands=[CreateTeam, *LOOKUP],
    aliases=["newteam", "建队"],
)
async def team(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    created = await turn.run(CreateTeam(gathering.id, args["name"]))
    return turn.say(
        "chat.gatherings.team_created",
        team=created.name,
        team_id=created.id,
        title=gathering.title,
        id=gathering.id,
    )


@route(
    "jointeam",
    "加入队伍",
    family="gatherings",
    params=[gathering_arg(), arg(FreeText("gatherings_team", max_length=60), key="team")],
    commands=[JoinTeam, GetChallengeBoard, GetContestRanking, *LOOKUP],
    aliases=["入队"],
)
async def jointeam(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    team_id, _ = await find_team(turn, gathering, args["team"])
    joined = await turn.run(JoinTeam(gathering.id, team_id))
    return turn.say(
        "chat.gatherings.team_joined",
        team=joined.name,
        members=len(joined.members),
        title=gathering.title,
    )


@route(
    "checkpoint",
    "打卡",
    family="gatherings",
    params=[gathering_arg(), arg(FreeText("code", max_length=40))],
    commands=[ReachCheckpoint, *LOOKUP],
)
async def checkpoint(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    progress = await turn.run(ReachCheckpoint(gathering.id, args["code"]))
    params = {
        "team": progress.team.name,
        "reached": len(progress.reached),
        "total": progress.total,
        "place": progress.place,
    }
    lines = [Text("chat.gatherings.checkpoint_reached", params)]
    if progress.team.completed_at is not None:
        lines.append(Text("chat.gatherings.checkpoint_completed", params))
    return turn.lines(
        *lines, buttons=[[Button(Text("chat.gatherings.button_board"), f"/board {gathering.ref}")]]
    )


@route(
    "board",
    "挑战榜",
    family="gatherings",
    params=[gathering_arg()],
    commands=[GetChallengeBoard, *LOOKUP],
    aliases=["challengeboard"],
)
async def board(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    standings = await turn.run(GetChallengeBoard(gathering.id))
    lines = [Text("chat.gatherings.board_title", {"title": gathering.title})]
    if not standings:
        lines.append(Text("chat.gatherings.board_empty"))
    for progress in standings:
        key = (
            "chat.gatherings.board_line_done"
            if progress.team.completed_at is not None
            else "chat.gatherings.board_line"
        )
        lines.append(
            Text(
                key,
                {
                    "place": progress.place,
                    "team": progress.team.name,
                    "reached": len(progress.reached),
                    "total": progress.total,
                    "members": len(progress.team.members),
                },
            )
        )
    return turn.lines(*lines)
