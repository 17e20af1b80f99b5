"""The volunteer team (爱心志愿队): shifts to sign up for, one's hours, and the staff's tools."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import attrs

from huarong_core.commands import (
    AddShift,
    CancelShift,
    ConfirmHours,
    CreateVolunteerTask,
    GetMember,
    GetShift,
    GetVolunteerHours,
    GetVolunteerStatus,
    JoinVolunteerTeam,
    LeaveVolunteerTeam,
    ListMemberShifts,
    ListShifts,
    ListShiftSignups,
    ListStations,
    ListVolunteers,
    ListVolunteerTasks,
    MemberShift,
    ShiftDetails,
    SignUpForShift,
    UpdateShift,
    UpdateVolunteerTask,
    WithdrawFromShift,
)
from huarong_core.commands.base import MAX_PAGE_SIZE
from huarong_core.conversation.arguments import (
    Choice,
    Day,
    FreeText,
    Integer,
    Moment,
    Ref,
    Word,
    Words,
    arg,
    match_one,
    page_arg,
    parse_day,
    parse_id,
    split_words,
    typed_number,
)
from huarong_core.conversation.chat.library import MEMBER_COMMANDS, id_lookup, member_name, ref_id
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import MEMBER, STATION
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.volunteering import (
    Shift,
    ShiftStatus,
    SignupStatus,
    Volunteer,
    VolunteerTask,
    hours_text,
)

_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})\Z")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９：", "0123456789:")


async def find_task(turn: Turn, word: str) -> VolunteerTask:
    """`#3`/`3`, a task's key, or its title (in any language; a unique part will do)."""
    tasks = await turn.run(ListVolunteerTasks(include_inactive=True))
    ref = word.strip()
    if ref.startswith("#") or typed_number(ref) is not None:
        wanted = parse_id("lib_task", ref)
        for task in tasks:
            if task.id == wanted:
                return task
        raise BadArgument(argument="lib_task", value=word, reason="no_match")
    return match_one(
        "lib_task", ref, ((t, (t.key or "", *t.title.as_dict().values())) for t in tasks)
    )


SHIFT = Ref("lib_shift", "shift", id_lookup("lib_shift"))
TASK = Ref("lib_task", "task", find_task)


def shift_length_hours(shift: Shift) -> str:
    """The shift's length as hours text (`2.5`), the usual hours to confirm."""
    return hours_text(int(shift.length.total_seconds() // 36))


def _shift_params(shift: Shift, task: VolunteerTask, tz: tzinfo) -> dict[str, Any]:
    start, end = shift.starts_at.astimezone(tz), shift.ends_at.astimezone(tz)
    return {
        "shift": ref_id(shift.id),
        "task": task.title,
        "start": shift.starts_at,
        # the same day: only the clock time (`09:00 – 11:00`)
        "end": f"{end:%H:%M}" if end.date() == start.date() else shift.ends_at,
        "left": shift.slots_left,
        "slots": shift.slots,
    }


# --- members ---------------------------------------------------------------------------


@route(
    "shifts",
    "志愿岗位",
    family="volunteering",
    params=[page_arg()],
    commands=[ListShifts],
    aliases=["志愿", "志愿服务", "班次"],
)
async def shifts(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Upcoming shifts with a free slot, soonest first."""
    found = await turn.run(ListShifts(open_only=True, limit=MAX_PAGE_SIZE))

    def line(n: int, item: ShiftDetails) -> Text:
        mine = item.mine is not None and item.mine.status is SignupStatus.SIGNED_UP
        key = "chat.volunteering.shift_line_mine" if mine else "chat.volunteering.shift_line"
        return Text(key, {"n": n, **_shift_params(item.shift, item.task, turn.tz)})

    def button(n: int, item: ShiftDetails) -> Button | None:
        if item.mine is not None and item.mine.status is SignupStatus.SIGNED_UP:
            return None
        return Button(
            Text("chat.volunteering.button_signup", {"n": n}), f"/signup {ref_id(item.shift.id)}"
        )

    return turn.numbered(
        "shift",
        Text("chat.volunteering.shifts_title"),
        found,
        line,
        lambda item: ref_id(item.shift.id),
        page=args["page"],
        empty=Text("chat.volunteering.shifts_none"),
        item_button=button,
    )


@route(
    "signup",
    "报名志愿",
    family="volunteering",
    params=[arg(SHIFT)],
    commands=[SignUpForShift, GetShift],
    aliases=["志愿报名"],
)
async def signup(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    await turn.run(SignUpForShift(args["lib_shift"]))
    details = await turn.run(GetShift(args["lib_shift"]))
    return turn.say(
        "chat.volunteering.signed_up", **_shift_params(details.shift, details.task, turn.tz)
    )


@route(
    "withdraw",
    "退出志愿",
    family="volunteering",
    params=[arg(SHIFT)],
    commands=[WithdrawFromShift, GetShift],
    aliases=["取消志愿报名"],
)
async def withdraw(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    await turn.run(WithdrawFromShift(args["lib_shift"]))
    details = await turn.run(GetShift(args["lib_shift"]))
    return turn.say(
        "chat.volunteering.withdrawn", **_shift_params(details.shift, details.task, turn.tz)
    )


@route(
    "myshifts",
    "我的志愿",
    family="volunteering",
    params=[page_arg()],
    commands=[ListMemberShifts, GetVolunteerStatus],
    personal=True,
)
async def myshifts(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListMemberShifts())
    if not found and await turn.run(GetVolunteerStatus()) is None:
        return turn.lines(
            Text("chat.volunteering.myshifts_not_on_team"),
            buttons=[[Button(Text("chat.volunteering.button_join"), "/volunteer")]],
        )
    now = turn.handle.now()

    def line(n: int, item: MemberShift) -> Text:
        params = {"n": n, **_shift_params(item.shift, item.task, turn.tz)}
        if item.shift.status is ShiftStatus.CANCELLED:
            return Text("chat.volunteering.myshift_cancelled", params)
        if item.signup.status is SignupStatus.WITHDRAWN:
            return Text("chat.volunteering.myshift_withdrawn", params)
        if item.signup.hours is not None:
            return Text("chat.volunteering.myshift_hours", {**params, "hours": item.signup.hours})
        return Text("chat.volunteering.myshift_line", params)

    def button(n: int, item: MemberShift) -> Button | None:
        if (
            item.signup.status is not SignupStatus.SIGNED_UP
            or item.shift.status is ShiftStatus.CANCELLED
            or item.shift.has_started(now)
        ):
            return None
        return Button(
            Text("chat.volunteering.button_withdraw", {"n": n}),
            f"/withdraw {ref_id(item.shift.id)}",
        )

    return turn.numbered(
        "shift",
        Text("chat.volunteering.myshifts_title"),
        found,
        line,
        lambda item: ref_id(item.shift.id),
        page=args["page"],
        empty=Text("chat.volunteering.myshifts_none"),
        item_button=button,
    )


def _window(turn: Turn, args: Mapping[str, Any]) -> tuple[date, date]:
    today = turn.today
    starts: date = args["lib_from"] or date(today.year, 1, 1)
    ends: date = args["lib_to"] or today
    return starts, ends


@route(
    "hours",
    "志愿时长",
    family="volunteering",
    params=[arg(Day("lib_from"), optional=True), arg(Day("lib_to"), optional=True)],
    commands=[GetVolunteerHours],
    personal=True,
    aliases=["时长"],
)
async def hours(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """One's confirmed hours (this year by default), and the team's."""
    starts, ends = _window(turn, args)
    found = await turn.run(GetVolunteerHours(starts, ends, member_id=turn.member.id))
    mine = next((r for r in found.rows if r.member_id == turn.member.id), None)
    return turn.lines(
        Text(
            "chat.volunteering.hours_mine",
            {
                "from": starts,
                "to": ends,
                "hours": "0" if mine is None else mine.hours,
                "shifts": 0 if mine is None else mine.shifts,
            },
        ),
        Text(
            "chat.volunteering.hours_team", {"hours": found.team_hours, "shifts": found.team_shifts}
        ),
    )


@route(
    "volunteer",
    "加入志愿队",
    family="volunteering",
    commands=[JoinVolunteerTeam],
    aliases=["志愿队"],
)
async def volunteer(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    await turn.run(JoinVolunteerTeam())
    return turn.lines(
        Text("chat.volunteering.joined"),
        buttons=[[Button(Text("chat.volunteering.button_shifts"), "/shifts")]],
    )


@route(
    "quitteam",
    "退出志愿队",
    family="volunteering",
    commands=[LeaveVolunteerTeam],
    aliases=["leaveteam"],
)
async def quitteam(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    await turn.run(LeaveVolunteerTeam())
    return turn.say("chat.volunteering.left")


@route(
    "tasks",
    "志愿项目",
    family="volunteering",
    params=[page_arg()],
    commands=[ListVolunteerTasks],
)
async def tasks(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListVolunteerTasks())

    def line(n: int, task: VolunteerTask) -> Text:
        if task.description is None:
            return Text("chat.volunteering.task_line", {"n": n, "title": task.title})
        return Text(
            "chat.volunteering.task_line_described",
            {"n": n, "title": task.title, "description": task.description},
        )

    return turn.numbered(
        "task",
        Text("chat.volunteering.tasks_title"),
        found,
        line,
        lambda task: task.ref,
        page=args["page"],
        empty=Text("chat.volunteering.tasks_none"),
    )


# --- staff -----------------------------------------------------------------------------


@route(
    "confirm",
    "确认时长",
    family="staff",
    params=[arg(SHIFT), arg(MEMBER), arg(Word("lib_hours", max_length=12))],
    commands=[ConfirmHours, GetShift, *MEMBER_COMMANDS],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def confirm(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"]
    done = await turn.run(ConfirmHours(args["lib_shift"], member.id, args["lib_hours"]))
    details = await turn.run(GetShift(args["lib_shift"]))
    points = sum(p for _, outcome, p in done.awards if outcome == "awarded")
    lines = [
        Text(
            "chat.volunteering.confirmed",
            {
                "member": member.display_name,
                "hours": done.signup.hours or args["lib_hours"],
                **_shift_params(details.shift, details.task, turn.tz),
            },
        )
    ]
    if points:
        lines.append(Text("chat.volunteering.confirmed_points", {"points": points}))
    return turn.lines(*lines)


@route(
    "signups",
    "志愿名单",
    family="staff",
    params=[arg(SHIFT)],
    commands=[ListShiftSignups, GetShift, GetMember],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def signups(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Who signed up for a shift; once it started, a button confirms the full length."""
    shift_id: int = args["lib_shift"]
    details = await turn.run(GetShift(shift_id))
    found = await turn.run(ListShiftSignups(shift_id))
    names: dict[int, str] = {}
    for item in found:
        await member_name(turn, item.member_id, names)
    started = details.shift.has_started(turn.handle.now())
    length = shift_length_hours(details.shift)
    lines = [
        Text("chat.volunteering.signups_title", _shift_params(details.shift, details.task, turn.tz))
    ]
    buttons: list[Button] = []
    for n, item in enumerate(found, 1):
        if item.hours is not None:
            lines.append(
                Text(
                    "chat.volunteering.signup_line_hours",
                    {"n": n, "member": names[item.member_id], "hours": item.hours},
                )
            )
            continue
        lines.append(
            Text("chat.volunteering.signup_line", {"n": n, "member": names[item.member_id]})
        )
        if started and details.shift.status is ShiftStatus.SCHEDULED:
            buttons.append(
                Button(
                    Text("chat.volunteering.button_confirm", {"n": n, "hours": length}),
                    f"/confirm {ref_id(shift_id)} {ref_id(item.member_id)} {length}",
                )
            )
    if not found:
        lines.append(Text("chat.volunteering.signups_none"))
    turn.remember("member", [ref_id(item.member_id) for item in found])
    turn.remember("shift", [ref_id(shift_id)])
    return turn.lines(*lines, buttons=[buttons[i : i + 3] for i in range(0, len(buttons), 3)])


@route(
    "volunteers",
    "志愿者",
    family="staff",
    params=[page_arg()],
    commands=[ListVolunteers, GetMember],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def volunteers(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListVolunteers())
    names: dict[int, str] = {}
    for item in found:
        await member_name(turn, item.member_id, names)

    def line(n: int, item: Volunteer) -> Text:
        if item.by_role:
            return Text(
                "chat.volunteering.volunteer_line_role", {"n": n, "member": names[item.member_id]}
            )
        return Text(
            "chat.volunteering.volunteer_line",
            {"n": n, "member": names[item.member_id], "since": item.joined_at or ""},
        )

    return turn.numbered(
        "member",
        Text("chat.volunteering.volunteers_title", {"count": len(found)}),
        found,
        line,
        lambda item: ref_id(item.member_id),
        page=args["page"],
        empty=Text("chat.volunteering.volunteers_none"),
    )


@route(
    "teamhours",
    "团队时长",
    family="staff",
    params=[arg(Day("lib_from"), optional=True), arg(Day("lib_to"), optional=True)],
    commands=[GetVolunteerHours],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def teamhours(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Everyone's confirmed hours in a window (this year by default), most first."""
    starts, ends = _window(turn, args)
    found = await turn.run(GetVolunteerHours(starts, ends))
    lines = [
        Text(
            "chat.volunteering.teamhours_title",
            {"from": starts, "to": ends, "hours": found.team_hours, "shifts": found.team_shifts},
        )
    ]
    for n, row in enumerate(found.rows, 1):
        lines.append(
            Text(
                "chat.volunteering.teamhours_line",
                {"n": n, "member": row.display_name, "hours": row.hours, "shifts": row.shifts},
            )
        )
    turn.remember("member", [ref_id(row.member_id) for row in found.rows])
    return turn.lines(*lines)


@route(
    "newtask",
    "新建志愿项目",
    family="staff",
    params=[
        arg(Word("lib_task_key", max_length=40)),
        arg(Word("title", max_length=200)),
        arg(STATION, optional=True),
    ],
    commands=[CreateVolunteerTask, ListStations],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def newtask(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    station = args["station"]
    created = await turn.run(
        CreateVolunteerTask(
            title=LocalizedText.plain(args["title"]),
            station=None if station is None else station.key,
            key=args["lib_task_key"],
        )
    )
    return turn.say("chat.volunteering.task_created", title=created.title, task=created.ref)


TASK_FIELDS: dict[str, str] = {
    "title": "title",
    "标题": "title",
    "名称": "title",
    "description": "description",
    "说明": "description",
    "介绍": "description",
    "active": "active",
    "状态": "active",
}
SWITCH: dict[str, bool] = {
    "on": True,
    "yes": True,
    "open": True,
    "开启": True,
    "开放": True,
    "是": True,
    "off": False,
    "no": False,
    "close": False,
    "closed": False,
    "关闭": False,
    "停止": False,
    "否": False,
}


@route(
    "edittask",
    "修改志愿项目",
    family="staff",
    params=[
        arg(TASK),
        arg(Choice("lib_task_field", TASK_FIELDS)),
        arg(FreeText("lib_value", max_length=2000)),
    ],
    commands=[UpdateVolunteerTask, ListVolunteerTasks],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def edittask(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    task: VolunteerTask = args["lib_task"]
    field: str = args["lib_task_field"]
    value: str = args["lib_value"]
    if field == "active":
        active = SWITCH.get(value.strip().casefold())
        if active is None:
            raise BadArgument(argument="lib_value", value=value[:20], reason="not_a_choice")
        updated = await turn.run(UpdateVolunteerTask(task.id, active=active))
    elif field == "description":
        updated = await turn.run(
            UpdateVolunteerTask(task.id, description=LocalizedText.plain(value))
        )
    else:
        updated = await turn.run(UpdateVolunteerTask(task.id, title=LocalizedText.plain(value)))
    key = "chat.volunteering.task_updated" if updated.active else "chat.volunteering.task_closed"
    return turn.say(key, title=updated.title, task=updated.ref)


@attrs.frozen
class Clock:
    """A time of day (`16:30`), the end of a shift that starts the same day."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> tuple[int, int]:
        word = words.take()
        if word is None or not word.strip():
            raise MissingArgument(argument=self.name)
        return parse_clock(self.name, word)


def parse_clock(name: str, word: str) -> tuple[int, int]:
    match = _CLOCK.match(word.strip().translate(_FULL_WIDTH))
    if match is None or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise BadArgument(argument=name, value=word, reason="not_a_time")
    return int(match.group(1)), int(match.group(2))


def end_after(start: datetime, clock: tuple[int, int]) -> datetime:
    """The first moment at `clock` after `start` (the next day for a shift past midnight)."""
    hour, minute = clock
    end = datetime(start.year, start.month, start.day, tzinfo=start.tzinfo) + timedelta(
        hours=hour, minutes=minute
    )
    return end if end > start else end + timedelta(days=1)


@route(
    "addshift",
    "添加班次",
    family="staff",
    params=[
        arg(TASK),
        arg(Moment("start")),
        arg(Clock("lib_end_time")),
        arg(Integer("lib_slots", minimum=1, maximum=1000)),
    ],
    commands=[AddShift, ListVolunteerTasks],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def addshift(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    task: VolunteerTask = args["lib_task"]
    start: datetime = args["start"]
    added = await turn.run(
        AddShift(task.id, start, end_after(start, args["lib_end_time"]), args["lib_slots"])
    )
    return turn.say("chat.volunteering.shift_added", **_shift_params(added, task, turn.tz))


SHIFT_FIELDS: dict[str, str] = {
    "time": "time",
    "时间": "time",
    "slots": "slots",
    "名额": "slots",
    "人数": "slots",
}


@route(
    "editshift",
    "修改班次",
    family="staff",
    params=[
        arg(SHIFT),
        arg(Choice("lib_shift_field", SHIFT_FIELDS)),
        arg(FreeText("lib_value", max_length=100)),
    ],
    commands=[UpdateShift, GetShift],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def editshift(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`时间 <date> <start> <end>` moves it; `名额 <slots>` changes its places."""
    shift_id: int = args["lib_shift"]
    value: str = args["lib_value"]
    if args["lib_shift_field"] == "slots":
        try:
            slots = int(value.strip())
        except ValueError:
            raise BadArgument(
                argument="lib_slots", value=value[:20], reason="not_a_number"
            ) from None
        changed = await turn.run(UpdateShift(shift_id, slots=slots))
    else:
        parts = split_words(value)
        if len(parts) != 3:
            raise BadArgument(argument="lib_value", value=value[:40], reason="lib_shift_time")
        day = parse_day("date", parts[0], turn.today)
        hour, minute = parse_clock("start", parts[1])
        if hour > 23:
            raise BadArgument(argument="start", value=parts[1], reason="not_a_time")
        start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=turn.tz)
        changed = await turn.run(
            UpdateShift(
                shift_id, starts_at=start, ends_at=end_after(start, parse_clock("end", parts[2]))
            )
        )
    details = await turn.run(GetShift(changed.id))
    return turn.say(
        "chat.volunteering.shift_updated", **_shift_params(details.shift, details.task, turn.tz)
    )


@route(
    "cancelshift",
    "取消班次",
    family="staff",
    params=[arg(SHIFT), arg(FreeText("reason", max_length=500), optional=True)],
    commands=[CancelShift, GetShift],
    permission=Permission.MANAGE_VOLUNTEERING,
)
async def cancelshift(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    cancelled = await turn.run(CancelShift(args["lib_shift"], args["reason"] or ""))
    details = await turn.run(GetShift(cancelled.id))
    return turn.say(
        "chat.volunteering.shift_cancelled", **_shift_params(details.shift, details.task, turn.tz)
    )


__all__ = ["SHIFT", "TASK"]
