"""Salons and events for the people who run them: attendees, codes, scores, new events.

`/newevent lecture 7-1 14:00-16:00 Spring policy talk capacity=40 venue=hall`
publishes an event: its type, when (a day and `start-end`, or a day and a
start then an end, `7-1 09:00 7-2 17:00`), its title, and optional
`key=value` words (English or Chinese keys). `/editevent 12 capacity=50
start=7-2T14:00` changes one the same way. The core checks every permission;
these routes only show up in `/help` for members who may run gatherings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import attrs

from huarong_core.commands import (
    AddCheckpoint,
    CancelGathering,
    CheckIn,
    CloseGathering,
    CreateEvent,
    FinalizeContest,
    FindMember,
    GenerateSessions,
    GetCheckInCode,
    GetContestRanking,
    GetGathering,
    ListFeedback,
    ListMembers,
    ListRsvps,
    ListSalons,
    ListVenues,
    RecordContestScore,
    UpdateGathering,
)
from huarong_core.commands import Feedback as FeedbackItem
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Ref,
    Word,
    Words,
    arg,
    match_one,
    page_arg,
    parse_day,
)
from huarong_core.conversation.chat.gatherings import (
    LOOKUP,
    checkin_message,
    end_text,
    find_team,
    gathering_arg,
    page_of,
    ranking_lines,
    status_text,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import MEMBER, find_member
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.gatherings import EventType, Gathering, Ranking, Rsvp, RsvpStatus, Salon
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission, ScopeKind, permits
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import HuarongError

MANAGE = Permission.MANAGE_GATHERINGS

# --- arguments ----------------------------------------------------------------------

EVENT_TYPES: dict[str, EventType] = {
    **{t.value: t for t in EventType},
    **dict.fromkeys(("day", "activity", "主题日", "活动日", "主题党日"), EventType.ACTIVITY_DAY),
    **dict.fromkeys(("talk", "讲座", "讲堂", "课堂"), EventType.LECTURE),
    **dict.fromkeys(("沙龙",), EventType.SALON),
    **dict.fromkeys(("募捐", "捐赠", "义卖"), EventType.DRIVE),
    **dict.fromkeys(("宣传", "宣传活动"), EventType.CAMPAIGN),
    **dict.fromkeys(("比赛", "竞赛", "大赛"), EventType.CONTEST),
    **dict.fromkeys(("挑战", "挑战赛", "定向"), EventType.CHALLENGE),
    **dict.fromkeys(("其他", "其它"), EventType.OTHER),
}

_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})\Z")
_RANGE = re.compile(r"^(\d{1,2}[:：]\d{2})\s*[-~～–—至到]\s*(\d{1,2}[:：]\d{2})\Z")
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _clock(name: str, word: str) -> time:
    match = _CLOCK.match(word.translate(_DIGITS))
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise BadArgument(argument=name, value=word, reason="not_a_time")
    return time(int(match.group(1)), int(match.group(2)))


def _take(words: Words, name: str) -> str:
    word = words.take()
    if word is None or not word.strip():
        raise MissingArgument(argument=name)
    return word.strip()


@attrs.frozen
class Span:
    """When: `7-1 14:00-16:00`, `明天 9:00 11:30`, or `7-1 09:00 7-2 17:00`."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> tuple[datetime, datetime]:
        day_word = _take(words, self.name)
        if "T" in day_word:
            day_word, _, clock_word = day_word.partition("T")
        else:
            clock_word = _take(words, self.name)
        day = parse_day(self.name, day_word, turn.today)
        joined = _RANGE.match(clock_word.translate(_DIGITS))
        if joined is not None:
            return (
                _at(turn, day, _clock(self.name, joined.group(1))),
                _at(turn, day, _clock(self.name, joined.group(2))),
            )
        starts = _at(turn, day, _clock(self.name, clock_word))
        end_word = _take(words, self.name)
        if _CLOCK.match(end_word.translate(_DIGITS)):
            return starts, _at(turn, day, _clock(self.name, end_word))
        end_day = parse_day(self.name, end_word, turn.today)
        return starts, _at(turn, end_day, _clock(self.name, _take(words, self.name)))


def _at(turn: Turn, day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=turn.tz)


OPTION_NAMES: dict[str, str] = {
    **dict.fromkeys(("capacity", "cap", "seats", "名额", "人数", "容量"), "capacity"),
    **dict.fromkeys(("venue", "place", "room", "场地", "地点"), "venue"),
    **dict.fromkeys(("organizer", "org", "by", "主办", "主办方"), "organizer"),
    **dict.fromkeys(("key", "代号"), "key"),
    **dict.fromkeys(("speaker", "主讲", "主讲人", "嘉宾", "讲师"), "speaker"),
    **dict.fromkeys(("ranking", "rank", "排名"), "ranking"),
    **dict.fromkeys(("topic", "主题"), "topic"),
    **dict.fromkeys(("title", "标题", "名称"), "title"),
    **dict.fromkeys(("description", "desc", "简介", "介绍"), "description"),
    **dict.fromkeys(("tags", "tag", "标签"), "tags"),
    **dict.fromkeys(("start", "starts", "开始"), "start"),
    **dict.fromkeys(("end", "ends", "结束"), "end"),
}
_OPTION = re.compile(r"^([^=＝]+)[=＝](.*)\Z", re.DOTALL)


@attrs.frozen
class Options:
    """Leading free words (a title) and `key=value` words; words after an option
    continue its value (`speaker=Dr Wang Li`)."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> tuple[str, dict[str, str]]:
        lead: list[str] = []
        options: dict[str, list[str]] = {}
        current: list[str] = lead
        while (word := words.take()) is not None:
            match = _OPTION.match(word)
            option = OPTION_NAMES.get(match.group(1).strip().casefold()) if match else None
            if match is not None and option is not None:
                current = options.setdefault(option, [])
                current.clear()
                if match.group(2).strip():
                    current.append(match.group(2).strip())
            else:
                current.append(word)
        if not lead and not options:
            raise MissingArgument(argument=self.name)
        return " ".join(lead), {key: " ".join(value) for key, value in options.items()}


RANKINGS: dict[str, Ranking] = {
    **dict.fromkeys(("high", "高", "高分", "高分优先"), Ranking.HIGH),
    **dict.fromkeys(("low", "低", "低分", "低分优先", "用时"), Ranking.LOW),
}
NO_VENUE = frozenset({"", "none", "-", "无", "不用"})


def _capacity(value: str) -> int:
    try:
        return int(value.translate(_DIGITS))
    except ValueError:
        raise BadArgument(
            argument="gatherings_capacity", value=value, reason="not_a_number"
        ) from None


async def _venue(turn: Turn, value: str) -> str:
    venues = await turn.run(ListVenues())
    return match_one(
        "gatherings_venue",
        value,
        ((v.key, (v.key, *v.name.as_dict().values())) for v in venues),
    )


def _moment(turn: Turn, value: str, day: date, default: time | None) -> datetime:
    """`7-2T14:00`, `7-2 14:00`, `14:00` (on `day`), or `7-2` (at `default`)."""
    head, _, clock = value.replace("T", " ").partition(" ")
    clock = clock.strip()
    if not clock and _CLOCK.match(head.translate(_DIGITS)):
        return _at(turn, day, _clock("gatherings_when", head))
    new_day = parse_day("gatherings_when", head, turn.today)
    if not clock:
        if default is None:
            raise BadArgument(argument="gatherings_when", value=value, reason="not_a_time")
        return _at(turn, new_day, default)
    return _at(turn, new_day, _clock("gatherings_when", clock))


def default_organizer(turn: Turn) -> str:
    """The bound club in its group, else where the sender may run gatherings."""
    if turn.club is not None:
        return f"club:{turn.club.key}"
    for grant in turn.sender.grants:
        if not permits((grant,), MANAGE, None):
            continue
        if grant.scope.kind is ScopeKind.COMMUNITY:
            return "community"
        return f"{grant.scope.kind.value}:{grant.scope.key}"
    return "community"


# --- creating and changing ----------------------------------------------------------


def summary_lines(turn: Turn, gathering: Gathering, venues: Mapping[str, Any]) -> list[Text]:
    lines = [
        Text(
            "chat.gatherings.details_time",
            {"start": gathering.starts_at, "end": end_text(turn, gathering)},
        )
    ]
    if gathering.venue_key is not None:
        venue = venues.get(gathering.venue_key, gathering.venue_key)
        lines.append(Text("chat.gatherings.details_venue", {"venue": venue}))
    if gathering.capacity is not None:
        lines.append(Text("chat.gatherings.capacity", {"capacity": gathering.capacity}))
    return lines


async def _venue_names(turn: Turn, gathering: Gathering) -> dict[str, LocalizedText]:
    if gathering.venue_key is None:
        return {}
    return {v.key: v.name for v in await turn.run(ListVenues())}


@route(
    "newevent",
    "发布活动",
    family="gatherings",
    params=[
        arg(Choice("gatherings_type", EVENT_TYPES), key="type"),
        arg(Span("gatherings_when"), key="when"),
        arg(Options("title"), key="options"),
    ],
    commands=[CreateEvent, ListVenues],
    permission=MANAGE,
    aliases=["createevent", "新活动"],
)
async def newevent(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    starts, ends = args["when"]
    title, options = args["options"]
    if not title:
        title = options.get("title", "")
    if not title:
        raise MissingArgument(argument="title")
    venue = options.get("venue")
    tags = options.get("tags", "").replace(",", " ").replace("，", " ").split()
    created = await turn.run(
        CreateEvent(
            title=LocalizedText.plain(title),
            event_type=args["type"],
            starts_at=starts,
            ends_at=ends,
            organizer=options.get("organizer") or default_organizer(turn),
            key=options.get("key") or None,
            venue_key=await _venue(turn, venue) if venue else None,
            capacity=_capacity(options["capacity"]) if options.get("capacity") else None,
            description=(
                LocalizedText.plain(options["description"]) if options.get("description") else None
            ),
            tags=frozenset(tags),
            ranking=_ranking(options.get("ranking")),
            speaker=options.get("speaker") or None,
        )
    )
    lines = [Text("chat.gatherings.newevent_done", {"id": created.id, "title": created.title})]
    lines.extend(summary_lines(turn, created, await _venue_names(turn, created)))
    if created.event_type is EventType.CHALLENGE:
        lines.append(Text("chat.gatherings.newevent_checkpoints", {"id": created.id}))
    buttons = [
        Button(Text("chat.gatherings.button_details"), f"/details {created.ref}"),
        Button(Text("chat.gatherings.button_code"), f"/code {created.ref}"),
    ]
    return turn.lines(*lines, buttons=[buttons])


def _ranking(value: str | None) -> Ranking:
    if not value:
        return Ranking.HIGH
    found = RANKINGS.get(value.casefold())
    if found is None:
        raise BadArgument(argument="gatherings_ranking", value=value, reason="not_a_choice")
    return found


@route(
    "editevent",
    "修改活动",
    family="gatherings",
    params=[gathering_arg(), arg(Options("gatherings_changes"), key="options")],
    commands=[UpdateGathering, ListVenues, *LOOKUP],
    permission=MANAGE,
    aliases=["updateevent", "改活动"],
)
async def editevent(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`title=`, `topic=`, `speaker=`, `venue=` (`none` frees it), `capacity=`,
    `start=` (a day, a time or both), `end=`."""
    gathering: Gathering = args["gathering"]
    lead, options = args["options"]
    if lead:
        raise BadArgument(argument="gatherings_changes", value=lead[:40], reason="not_a_choice")
    community = turn.handle.community
    local_start = community.local(gathering.starts_at)
    starts = (
        _moment(turn, options["start"], local_start.date(), local_start.time().replace(tzinfo=None))
        if options.get("start")
        else None
    )
    ends = None
    if options.get("end"):
        base = community.local(starts or gathering.starts_at).date()
        ends = _moment(turn, options["end"], base, None)
    venue = options.get("venue")
    venue_key = None
    if venue is not None:
        venue_key = "" if venue.casefold() in NO_VENUE else await _venue(turn, venue)
    changed = await turn.run(
        UpdateGathering(
            gathering.id,
            title=LocalizedText.plain(options["title"]) if options.get("title") else None,
            topic=options.get("topic"),
            speaker=options.get("speaker"),
            venue_key=venue_key,
            capacity=_capacity(options["capacity"]) if options.get("capacity") else None,
            starts_at=starts,
            ends_at=ends,
        )
    )
    lines = [Text("chat.gatherings.editevent_done", {"id": changed.id, "title": changed.title})]
    lines.extend(summary_lines(turn, changed, await _venue_names(turn, changed)))
    return turn.lines(*lines)


@route(
    "cancelevent",
    "取消活动",
    family="gatherings",
    params=[gathering_arg(), arg(FreeText("reason", max_length=200), optional=True)],
    commands=[CancelGathering, *LOOKUP],
    permission=MANAGE,
)
async def cancelevent(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    done = await turn.run(CancelGathering(gathering.id, args["reason"] or ""))
    return turn.say("chat.gatherings.cancelevent_done", id=done.id, title=done.title)


@route(
    "close",
    "结束活动",
    family="gatherings",
    params=[gathering_arg()],
    commands=[CloseGathering, *LOOKUP],
    permission=MANAGE,
    aliases=["closeevent"],
)
async def close(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    summary = await turn.run(CloseGathering(gathering.id))
    return turn.say(
        "chat.gatherings.close_done",
        title=gathering.title,
        attended=len(summary.attended),
        absent=len(summary.no_shows),
    )


async def find_salon(turn: Turn, word: str) -> Salon:
    return match_one(
        "gatherings_salon",
        word,
        ((s, (s.key, *s.name.as_dict().values())) for s in await turn.run(ListSalons())),
    )


@route(
    "generate",
    "生成场次",
    family="gatherings",
    params=[arg(Ref("gatherings_salon", "salon", find_salon), optional=True, key="salon")],
    commands=[GenerateSessions, ListSalons],
    permission=MANAGE,
    aliases=["sessions"],
)
async def generate(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    salon: Salon | None = args["salon"]
    count = await turn.run(GenerateSessions(None if salon is None else salon.key))
    if salon is None:
        return turn.say("chat.gatherings.generate_done_all", count=count)
    return turn.say("chat.gatherings.generate_done", count=count, salon=salon.name)


# --- at the gathering ---------------------------------------------------------------


@route(
    "checkinfor",
    "代签到",
    family="gatherings",
    params=[gathering_arg(), arg(MEMBER)],
    commands=[CheckIn, FindMember, ListMembers, *LOOKUP],
    permission=MANAGE,
    aliases=["checkin_for"],
)
async def checkinfor(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    member: Member = args["member"]
    result = await turn.run(CheckIn(gathering.id, member_id=member.id))
    name = None if member.id == turn.member.id else member.display_name
    return checkin_message(turn, gathering, result, name)


_ORDER = {
    RsvpStatus.GOING: 0,
    RsvpStatus.WALK_IN: 1,
    RsvpStatus.WAITLISTED: 2,
    RsvpStatus.MAYBE: 3,
    RsvpStatus.NOT_GOING: 4,
}


@route(
    "attendees",
    "报名名单",
    family="gatherings",
    params=[gathering_arg(), page_arg()],
    commands=[ListRsvps, FindMember, *LOOKUP],
    permission=MANAGE,
    personal=True,
    aliases=["rsvps", "名单"],
)
async def attendees(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Who answered, seats first, then the waitlist in order; a button checks each in."""
    gathering: Gathering = args["gathering"]
    rsvps = [
        r for r in await turn.run(ListRsvps(gathering.id)) if r.status is not RsvpStatus.NOT_GOING
    ]
    rsvps.sort(key=lambda r: (_ORDER[r.status], r.seq))
    waiting = [r for r in rsvps if r.status is RsvpStatus.WAITLISTED]
    rsvps = [
        attrs.evolve(r, position=waiting.index(r) + 1) if r.status is RsvpStatus.WAITLISTED else r
        for r in rsvps
    ]
    found = await turn.run(GetGathering(gathering.id))
    names: dict[int, str] = {}
    for rsvp in page_of(rsvps, args["page"]):
        try:
            names[rsvp.member_id] = (
                await turn.run(FindMember(f"#{rsvp.member_id}"))
            ).member.display_name
        except HuarongError:
            names[rsvp.member_id] = f"#{rsvp.member_id}"

    def line(number: int, rsvp: Rsvp) -> Text:
        return Text(
            "chat.gatherings.attendee_line",
            {
                "number": number,
                "name": names.get(rsvp.member_id, f"#{rsvp.member_id}"),
                "status": status_text(rsvp),
            },
        )

    def button(number: int, rsvp: Rsvp) -> Button | None:
        if rsvp.checked_in_at is not None:
            return None
        return Button(
            Text("chat.gatherings.button_checkin_n", {"number": number}),
            f"/checkinfor {gathering.ref} #{rsvp.member_id}",
        )

    title = Text(
        "chat.gatherings.attendees_title",
        {
            "title": gathering.title,
            "going": found.going,
            "waitlisted": found.waitlisted,
            "maybe": found.maybe,
            "checked_in": found.checked_in,
        },
    )
    return turn.numbered(
        "member",
        title,
        rsvps,
        line,
        lambda r: f"#{r.member_id}",
        page=args["page"],
        empty=Text("chat.gatherings.attendees_empty", {"title": gathering.title}),
        more=gathering.ref,
        item_button=button,
    )


@route(
    "code",
    "签到码",
    family="gatherings",
    params=[gathering_arg()],
    commands=[GetCheckInCode, *LOOKUP],
    permission=MANAGE,
    personal=True,
    aliases=["checkincode"],
)
async def code(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    found = await turn.run(GetCheckInCode(gathering.id))
    return turn.lines(
        Text("chat.gatherings.code_title", {"title": gathering.title, "code": found.code}),
        Text("chat.gatherings.code_window", {"opens": found.opens_at, "closes": found.closes_at}),
        Text("chat.gatherings.code_howto", {"id": gathering.id, "code": found.code}),
    )


@route(
    "feedbacks",
    "评价汇总",
    family="gatherings",
    params=[gathering_arg(), page_arg()],
    commands=[ListFeedback, *LOOKUP],
    permission=MANAGE,
    personal=True,
    aliases=["ratings"],
)
async def feedbacks(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    summary = await turn.run(ListFeedback(gathering.id))
    if summary.average is None:
        return turn.say("chat.gatherings.feedbacks_empty", title=gathering.title)
    title = Text(
        "chat.gatherings.feedbacks_title",
        {"title": gathering.title, "count": summary.count, "average": summary.average},
    )

    def line(number: int, item: FeedbackItem) -> Text:
        key = (
            "chat.gatherings.feedback_line"
            if item.comment
            else "chat.gatherings.feedback_line_bare"
        )
        return Text(key, {"number": number, "rating": item.rating, "comment": item.comment})

    return turn.numbered(
        "feedback",
        title,
        summary.items,
        line,
        lambda item: f"#{item.member_id}",
        page=args["page"],
        more=gathering.ref,
    )


# --- contests and challenges --------------------------------------------------------


@route(
    "score",
    "记分",
    family="gatherings",
    params=[
        gathering_arg(),
        arg(Word("gatherings_entrant"), key="entrant"),
        arg(Word("gatherings_score", max_length=32), key="score"),
    ],
    commands=[RecordContestScore, GetContestRanking, FindMember, ListMembers, *LOOKUP],
    permission=MANAGE,
    aliases=["setscore"],
)
async def score(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/score 12 @alice 95`, `/score 12 team:3 88.5`, or a scored team by name."""
    gathering: Gathering = args["gathering"]
    entrant: str = args["entrant"]
    member_id = team_id = None
    if entrant.casefold().startswith(("team:", "队:", "队：")):
        team_id, _ = await find_team(turn, gathering, entrant)
    else:
        try:
            member_id = (await find_member(turn, entrant)).id
        except HuarongError:
            try:
                team_id, _ = await find_team(turn, gathering, entrant)
            except HuarongError:
                raise BadArgument(
                    argument="gatherings_entrant", value=entrant, reason="no_match"
                ) from None
    place = await turn.run(
        RecordContestScore(gathering.id, args["score"], member_id=member_id, team_id=team_id)
    )
    return turn.lines(
        Text(
            "chat.gatherings.score_done",
            {"entrant": place.label, "score": place.score, "place": place.place},
        ),
        buttons=[[Button(Text("chat.gatherings.button_results"), f"/results {gathering.ref}")]],
    )


@route(
    "finalize",
    "公布成绩",
    family="gatherings",
    params=[gathering_arg()],
    commands=[FinalizeContest, GetContestRanking, *LOOKUP],
    permission=MANAGE,
)
async def finalize(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    await turn.run(FinalizeContest(gathering.id))
    lines = await ranking_lines(turn, gathering)
    return turn.lines(Text("chat.gatherings.finalize_done", {"title": gathering.title}), *lines)


@route(
    "addcheckpoint",
    "添加打卡点",
    family="gatherings",
    params=[
        gathering_arg(),
        arg(Word("code", max_length=32)),
        arg(FreeText("name", max_length=100)),
    ],
    commands=[AddCheckpoint, *LOOKUP],
    permission=MANAGE,
    personal=True,
)
async def addcheckpoint(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    gathering: Gathering = args["gathering"]
    added = await turn.run(AddCheckpoint(gathering.id, args["name"], args["code"]))
    return turn.say(
        "chat.gatherings.checkpoint_added",
        seq=added.seq,
        name=added.name,
        code=added.code,
        title=gathering.title,
    )
