"""Chat routes of salons and events: what's on, RSVP and the waitlist, check-in, feedback,
contests, challenges, and the staff tools that run them.

The frozen clock starts at 2026-07-01 09:00 UTC (17:00 in Shanghai, a Wednesday);
the gatherings of the test community lie in the days after, and the clock is moved
into them where check-in or a running challenge needs it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.commands import ListGatherings, ListRsvps
from huarong_core.domain.audit import Actor
from huarong_core.domain.gatherings import GatheringStatus, RsvpStatus
from huarong_core.testing import (
    SAMPLE_COMMUNITY,
    ChatTester,
    FrozenClock,
    open_test_community,
    snapshot,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")

EXTRA = """
[[stations]]
key = "huaying"
name = { zh_CN = "华英驿站", en = "Huaying station" }

[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

[[roles]]
member = "boss"
role = "station_staff"
scope = "station:huaying"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "huaying"
chats = [{ platform = "console", id = "tea-group" }]

[[venues]]
key = "hall"
name = { zh_CN = "多功能厅", en = "Main hall" }
capacity = 120
station = "huaying"

[[salons]]
key = "english"
name = { zh_CN = "英语沙龙", en = "English salon" }
organizer = "station:huaying"
venue = "hall"
capacity = 24
[salons.schedule]
rrule = "FREQ=WEEKLY;BYDAY=TH"
start = "19:00"
end = "21:00"
starts_on = 2026-07-02

[[events]]
key = "talk"
title = { zh_CN = "政策讲座", en = "Policy talk" }
type = "lecture"
starts = 2026-07-02T14:00:00+08:00
ends = 2026-07-02T16:00:00+08:00
organizer = "station:huaying"
venue = "hall"
capacity = 2

[[events]]
key = "quiz"
title = { zh_CN = "点钞大赛", en = "Cash-counting contest" }
type = "contest"
starts = 2026-07-03T14:00:00+08:00
ends = 2026-07-03T16:00:00+08:00
organizer = "station:huaying"

[[events]]
key = "hunt"
title = { zh_CN = "城市定向挑战赛", en = "City orienteering" }
type = "challenge"
starts = 2026-07-04T09:00:00+08:00
ends = 2026-07-04T12:00:00+08:00
organizer = "station:huaying"
checkpoints = [{ name = "Library", code = "LIB42" }, { name = "Roof", code = "ROOF9" }]

[[events]]
key = "tea_day"
title = { zh_CN = "茶艺体验", en = "Tea tasting" }
type = "activity_day"
starts = 2026-07-05T10:00:00+08:00
ends = 2026-07-05T11:00:00+08:00
organizer = "club:tea"
"""
CONFIG = SAMPLE_COMMUNITY + EXTRA


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)


async def gid(handle: CommunityHandle, key: str) -> int:
    for gathering in await handle.execute(ListGatherings(limit=500), actor=SYSTEM):
        if key in (gathering.event_key, gathering.salon_key):
            return gathering.id
    raise AssertionError(key)


async def state(huarong: Huarong) -> dict[str, Any]:
    """Every row but the delivery log (a refused input is recorded there, to be replayed)."""
    rows = await snapshot(huarong.db)
    rows.pop("deliveries")
    return rows


async def statuses(handle: CommunityHandle, gathering_id: int) -> list[RsvpStatus]:
    rsvps = await handle.execute(ListRsvps(gathering_id), actor=SYSTEM)
    return sorted(r.status for r in rsvps)


# --- what's on, lists, details ------------------------------------------------------


async def test_whatson_lists_the_week_and_a_number_signs_up(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        talk = await gid(handle, "talk")
        answer = await chat.say("amy", "/whatson")
        assert "政策讲座" in answer
        assert "多功能厅" in answer
        assert "余 2 席" in answer
        assert "英语沙龙" in answer
        assert "茶艺体验" in answer
        assert f"/rsvp #{talk}" in answer.payloads
        first = answer.text.splitlines()[1]
        assert first.startswith("1. ")
        assert "政策讲座" in first
        answer = await chat.say("amy", "/报名 1")
        assert "已报名政策讲座" in answer
        assert f"/rsvp #{talk} maybe" in answer.payloads
        assert await statuses(handle, talk) == [RsvpStatus.GOING]

        await chat.say("amy", "/lang en")
        answer = await chat.say("amy", "近期活动 3")
        assert "What's on in the next 3 days" in answer
        assert "Policy talk" in answer
        assert "1 seats left" in answer
        assert "Tea tasting" not in answer  # 5 July is beyond three days


async def test_whatson_in_a_club_group_puts_the_club_first(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("amy", "/whatson", group="tea-group")
        lines = answer.text.splitlines()
        assert "茶艺社" in lines[0]
        assert lines[1].startswith("1. ")
        assert "茶艺体验" in lines[1]
        assert "政策讲座" in answer  # the rest of the community follows


async def test_events_salons_details(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("amy", "/events")
        assert "点钞大赛" in answer
        assert "英语沙龙" not in answer
        answer = await chat.say("amy", "/沙龙")
        assert "英语沙龙" in answer
        assert "下一场" in answer
        session = await gid(handle, "english")
        answer = await chat.say("amy", "/rsvp 1 可能")  # the first line: the next session
        assert "待定" in answer
        assert "英语沙龙" in answer
        answer = await chat.say("amy", "/活动详情 english")
        assert f"#{session} 英语沙龙（沙龙）" in answer
        assert "我的报名：待定" in answer
        assert "名额：已报 0/24" in answer
        assert f"/rsvp #{session} going" in answer.payloads
        await chat.say("amy", "/lang en")
        answer = await chat.say("amy", "/details 点钞")
        assert "Cash-counting contest (contest)" in answer
        assert "No seat limit" in answer
        assert any(p.startswith("/results #") for p in answer.payloads)


async def test_lookup_mistakes_show_the_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("amy", "/rsvp")
        assert "用法：/报名 <活动> [回复]" in answer
        answer = await chat.say("amy", "/rsvp 火星之旅")
        assert "找不到" in answer
        assert "用法：" in answer
        answer = await chat.say("amy", "/rsvp talk perhaps-not")
        assert "不在可选范围内" in answer
        answer = await chat.say("amy", "/whatson 100")
        assert "超出范围" in answer
        assert "用法：/近期活动 [天数]" in answer
        answer = await chat.say("amy", "/rsvp #999")
        assert "⚠️" in answer
        assert "用法" not in answer
        await chat.say("amy", "/lang en")
        answer = await chat.say("amy", "/feedback talk 9")
        assert "out of range" in answer
        assert "Usage: /feedback <event> <rating (1-5)> [comment]" in answer


# --- RSVP and the waitlist ----------------------------------------------------------


async def test_rsvp_waitlist_change_and_cancel(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        talk = await gid(handle, "talk")
        await chat.say("amy", "/rsvp talk")
        await chat.say("ben", "/报名 政策讲座 参加")
        answer = await chat.say("cat", f"/rsvp #{talk}")
        assert "候补第 1 位" in answer
        assert f"/rsvp #{talk} no" in answer.payloads
        answer = await chat.say("cat", "/myrsvps")
        assert "政策讲座" in answer
        assert "候补第 1 位" in answer

        # A pressed button changes the answer in place.
        answer = await chat.say("amy", f"/rsvp #{talk} maybe", pressed=True)
        assert "待定" in answer
        assert answer.reply.messages[0].replaces_source
        answer = await chat.say("cat", "/myrsvps")
        assert "已报名" in answer  # promoted to amy's seat
        answer = await chat.say("ben", "/取消报名 talk")
        assert "已取消报名" in answer
        assert sorted(await statuses(handle, talk)) == sorted(
            [RsvpStatus.MAYBE, RsvpStatus.NOT_GOING, RsvpStatus.GOING]
        )
        answer = await chat.say("ben", "/myrsvps")
        assert "还没有报名" in answer

        await chat.say("cat", "/lang en")
        answer = await chat.say("cat", "/rsvp talk 不去")
        assert "You're not going to Policy talk." in answer


async def test_rsvp_redelivered_answers_the_same_and_changes_nothing(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        talk = await gid(handle, "talk")
        await chat.say("amy", "/rsvp talk")
        await chat.say("ben", "/rsvp talk")
        first = await chat.say("cat", "/rsvp talk", delivery_id="same")
        before = await state(huarong)
        again = await chat.say("cat", "/rsvp talk", delivery_id="same")
        assert again.text == first.text
        assert "候补第 1 位" in again
        assert await state(huarong) == before
        assert await statuses(handle, talk) == sorted(
            [RsvpStatus.GOING, RsvpStatus.GOING, RsvpStatus.WAITLISTED]
        )


async def test_myrsvps_in_a_group_is_answered_privately(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("amy", "/rsvp tea_day")
        answer = await chat.say("amy", "/我的报名", group="tea-group")
        assert answer.private
        assert "茶艺体验" in answer.private[0].text


# --- check-in, feedback, attendance --------------------------------------------------


async def test_checkin_with_the_code_and_by_staff(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=CONFIG, clock=clock) as (huarong, handle):
        chat = ChatTester(handle)
        talk = await gid(handle, "talk")
        await chat.say("amy", "/rsvp talk")
        await chat.say("ben", "/rsvp talk")
        answer = await chat.say("boss", "/签到码 talk")
        code = re.search(r"签到码：(\d{6})", answer.text)
        assert code is not None
        assert f"/签到 {talk} {code.group(1)}" in answer

        answer = await chat.say("amy", f"/checkin {talk} {code.group(1)}")
        assert "签到时间还没到" in answer or "⚠️" in answer  # not open yet

        clock.set(at(2, 13, 45))
        answer = await chat.say("amy", f"/checkin {talk} 000000")
        assert "⚠️" in answer
        assert "用法" not in answer
        first = await chat.say("amy", f"/checkin {talk} {code.group(1)}", delivery_id="in")
        assert "签到成功" in first
        before = await state(huarong)
        again = await chat.say("amy", f"/checkin {talk} {code.group(1)}", delivery_id="in")
        assert again.text == first.text
        assert await state(huarong) == before
        answer = await chat.say("amy", "/rsvp talk maybe")  # check-in opens before the start
        assert "已签到" in answer
        assert await state(huarong) == before

        # A member may not check someone else in; staff may, by name or list number.
        before = await state(huarong)
        answer = await chat.say("amy", f"/代签到 {talk} ben")
        assert "⚠️" in answer
        assert await state(huarong) == before
        answer = await chat.say("boss", "/attendees talk")
        assert "amy · 已签到" in answer
        assert "ben · 已报名" in answer
        assert any(p.startswith(f"/checkinfor #{talk} #") for p in answer.payloads)
        number = next(line.split(".")[0] for line in answer.text.splitlines() if "ben ·" in line)
        answer = await chat.say("boss", f"/checkinfor talk {number}")
        assert "已为ben签到" in answer
        await chat.say("cat", "/me")
        answer = await chat.say("boss", f"/checkin {talk} cat")  # not signed up: a walk-in
        assert "cat" in answer
        assert "现场参加" in answer
        await chat.say("dan", "/whatson")
        answer = await chat.say("dan", f"/start checkin-{talk}-{code.group(1)}")  # the QR link
        assert "签到成功" in answer

        clock.set(at(2, 15, 0))
        answer = await chat.say("amy", "/feedback talk 5 讲得很好")
        assert "感谢评价" in answer
        assert "5/5" in answer
        answer = await chat.say("amy", "/feedbacks talk")
        assert "⚠️" in answer
        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/feedbacks talk")
        assert "1 ratings, average 5/5" in answer
        assert "讲得很好" in answer

        answer = await chat.say("boss", "/close talk")
        assert "4 attended, 0 did not come" in answer


async def test_close_is_staff_only(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=CONFIG, clock=clock) as (huarong, handle):
        chat = ChatTester(handle)
        talk = await gid(handle, "talk")
        await chat.say("amy", "/rsvp talk")
        clock.set(at(2, 15, 0))
        before = await state(huarong)
        answer = await chat.say("amy", "/结束活动 talk")
        assert "⚠️" in answer
        assert await state(huarong) == before
        answer = await chat.say("boss", "/结束活动 talk")
        assert "出席 0 人，缺席 1 人" in answer
        gatherings = await handle.execute(ListGatherings(limit=50), actor=SYSTEM)
        assert next(g for g in gatherings if g.id == talk).status is GatheringStatus.CLOSED


# --- staff: publishing and changing events ------------------------------------------


async def test_newevent_edit_and_cancel(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        help_member = await chat.say("amy", "/help")
        assert "发布活动" not in help_member
        help_staff = await chat.say("boss", "/help")
        assert "发布活动" in help_staff

        before = await state(huarong)
        answer = await chat.say("amy", "/newevent lecture 7-10 14:00-16:00 私人讲座")
        assert "⚠️" in answer
        assert await state(huarong) == before

        line = "/发布活动 讲座 7-10 14:00-16:00 春季 政策讲座 名额=30 场地=多功能厅 主讲=王 老师"
        first = await chat.say("boss", line, delivery_id="new")
        assert "已发布 #" in first
        assert "春季 政策讲座" in first
        assert "名额：30 人" in first
        again = await chat.say("boss", line, delivery_id="new")
        assert again.text == first.text
        created = re.search(r"#(\d+)", first.text)
        assert created is not None
        new = int(created.group(1))
        found = [g for g in await handle.execute(ListGatherings(), actor=SYSTEM) if g.id == new]
        assert len(found) == 1
        assert found[0].organizer.key == "huaying"
        assert found[0].speaker == "王 老师"
        assert found[0].venue_key == "hall"
        assert found[0].starts_at == at(10, 14)

        answer = await chat.say("boss", f"/editevent {new} 名额=50 开始=7-11")
        assert "已修改" in answer
        assert "名额：50 人" in answer
        answer = await chat.say("boss", f"/details {new}")
        assert "7月11日" in answer
        assert "16:00" in answer
        assert "主讲：王 老师" in answer
        answer = await chat.say("boss", f"/editevent {new} nonsense")
        assert "用法：" in answer

        answer = await chat.say("boss", "/newevent lecture 7-10 25:00 讲座")
        assert "时间请写成 14:30" in answer
        assert "用法：/发布活动" in answer

        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", f"/cancelevent {new} rain")
        assert "Cancelled" in answer
        answer = await chat.say("amy", f"/rsvp {new}")
        assert "⚠️" in answer


async def test_newevent_in_a_club_group_is_the_clubs(database_url: str) -> None:
    config = CONFIG + '\n[[roles]]\nmember = "boss"\nrole = "club_leader"\nscope = "club:tea"\n'
    async with open_test_community(database_url, config=config) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say(
            "boss", "/newevent day 7-12 10:00 12:00 品茶会 capacity=10", group="tea-group"
        )
        assert "已发布" in answer
        gatherings = await handle.execute(ListGatherings(), actor=SYSTEM)
        created = next(g for g in gatherings if g.title.get("zh_CN") == "品茶会")
        assert created.club_key == "tea"
        assert created.capacity == 10
        assert created.ends_at == at(12, 12)


async def test_generate_sessions(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("amy", "/generate")
        assert "⚠️" in answer
        await chat.say("boss", "/salons")
        answer = await chat.say("boss", "/生成场次 1")
        assert "英语沙龙新生成 0 场" in answer
        answer = await chat.say("boss", "/generate")
        assert "新生成 0 场沙龙" in answer


# --- contests and challenges --------------------------------------------------------


async def test_contest_scores_results_and_finalize(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=CONFIG, clock=clock) as (_huarong, handle):
        chat = ChatTester(handle)
        await chat.say("amy", "/me")
        await chat.say("ben", "/me")
        answer = await chat.say("amy", "/score quiz amy 95")
        assert "⚠️" in answer
        first = await chat.say("boss", "/记分 quiz amy 95", delivery_id="s1")
        assert "amy 95 分" in first
        assert "第 1 名" in first
        again = await chat.say("boss", "/记分 quiz amy 95", delivery_id="s1")
        assert again.text == first.text
        await chat.say("boss", "/score quiz ben 97.5")
        answer = await chat.say("cat", "/team quiz 红队")
        team = re.search(r"编号 (\d+)", answer.text)
        assert team is not None
        answer = await chat.say("boss", f"/score quiz team:{team.group(1)} 80")
        assert "红队 80 分" in answer
        assert "第 3 名" in answer
        answer = await chat.say("boss", "/score quiz 红队 99")  # a scored team, by name
        assert "第 1 名" in answer
        answer = await chat.say("boss", "/score quiz nobody-at-all 1")
        assert "用法：" in answer
        answer = await chat.say("amy", "/results quiz")
        assert "当前成绩" in answer
        assert "第 2 名 ben：97.5" in answer

        clock.set(at(3, 16, 30))
        answer = await chat.say("amy", "/公布成绩 quiz")
        assert "⚠️" in answer
        answer = await chat.say("boss", "/公布成绩 quiz")
        assert "成绩已公布" in answer
        assert "第 1 名 红队：99" in answer
        await chat.say("amy", "/lang en")
        answer = await chat.say("amy", "/results quiz")
        assert "Final results of Cash-counting contest" in answer
        assert "1. 红队: 99" in answer


async def test_challenge_teams_checkpoints_board(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=CONFIG, clock=clock) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("amy", "/组队 hunt Red Fox")
        assert "Red Fox" in answer
        answer = await chat.say("ben", "/jointeam hunt red fox")
        assert "共 2 人" in answer
        answer = await chat.say("amy", "/addcheckpoint hunt TOWER1 Tower")
        assert "⚠️" in answer
        answer = await chat.say("boss", "/添加打卡点 hunt TOWER1 Old tower", group="tea-group")
        assert answer.private
        assert "第 3 个打卡点" in answer.private[0].text

        answer = await chat.say("amy", "/checkpoint hunt lib42")
        assert "⚠️" in answer  # not running yet
        clock.set(at(4, 9, 10))
        answer = await chat.say("amy", "/打卡 hunt lib42")
        assert "1/3" in answer
        await chat.say("ben", "/checkpoint hunt ROOF9")
        answer = await chat.say("ben", "/checkpoint hunt tower1")
        assert "已完成全部打卡点" in answer
        answer = await chat.say("cat", "/board hunt")
        assert "第 1 名 Red Fox：3/3 ✓ 已完成（2 人）" in answer
        await chat.say("cat", "/lang en")
        answer = await chat.say("cat", "/jointeam hunt Blue")
        assert "Usage: /jointeam" in answer
