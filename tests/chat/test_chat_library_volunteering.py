"""Chat routes of the volunteer team: shifts, sign-ups, hours, and the staff's tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huarong_core import Actor, Huarong, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import FindMemberByIdentity, ListMemberShifts
from huarong_core.domain.volunteering import SignupStatus
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, snapshot

SYSTEM = Actor.system("test")

VOLUNTEERING = """
[volunteering]
team_name = { zh_CN = "爱心志愿队", en = "Volunteer team" }

[[volunteering.tasks]]
key = "shelf"
title = { zh_CN = "红色书架整理", en = "Tidying the bookshelf" }
description = { zh_CN = "整理书架，登记图书", en = "Tidy the shelf" }
station = "service"
shifts = [{ starts = 2026-07-10T09:00:00+08:00, ends = 2026-07-10T11:00:00+08:00, slots = 2 }]

[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

[[roles]]
member = "boss"
role = "station_staff"
scope = "station:service"

[[points.rules]]
key = "volunteering"
name = "Volunteering"
trigger = "volunteer.hours_confirmed"
per_unit = 4
"""


@asynccontextmanager
async def community(
    database_url: str, tmp_path: Path, clock: FrozenClock | None = None
) -> AsyncIterator[tuple[Huarong, CommunityHandle]]:
    parsed = parse_config(SAMPLE_COMMUNITY + VOLUNTEERING, source="<test>")
    async with Huarong(
        database_url, clock=clock or FrozenClock(), media_dir=tmp_path / "media"
    ) as huarong:
        await huarong.apply_configuration(parsed, actor=SYSTEM, source="<test>")
        yield huarong, await huarong.community(parsed.community.key)


async def state(huarong: Huarong) -> dict[str, Any]:
    """Every row but the deliveries (a refused command's answer is kept for its redelivery)."""
    rows = await snapshot(huarong.db)
    rows.pop("deliveries", None)
    return rows


async def member_id(handle: CommunityHandle, sender: str) -> int:
    found = await handle.execute(FindMemberByIdentity("console", sender), actor=SYSTEM)
    return found.member.id


async def test_join_sign_up_withdraw_in_both_languages(database_url: str, tmp_path: Path) -> None:
    async with community(database_url, tmp_path) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", "/shifts")
        assert "可报名的志愿岗位" in answer.text
        assert "1. 红色书架整理：" in answer.text
        assert "剩余名额 2/2" in answer.text
        assert answer.payloads == ("/signup #1",)

        answer = await chat.say("xiaoming", "/signup 1")
        assert "⚠️" in answer.text  # not on the team yet
        answer = await chat.say("xiaoming", "/myshifts")
        assert "还没有加入爱心志愿队" in answer.text
        assert answer.payloads == ("/volunteer",)
        answer = await chat.say("xiaoming", "/加入志愿队")
        assert "欢迎加入爱心志愿队" in answer.text
        assert "/shifts" in answer.payloads
        answer = await chat.say("xiaoming", "/myshifts")  # on the team, no shift yet
        assert "还没有待参加的志愿岗位" in answer.text
        answer = await chat.say("xiaoming", "/volunteer")
        assert "⚠️" in answer.text

        first = await chat.say("xiaoming", "/报名志愿 1", delivery_id="same")
        again = await chat.say("xiaoming", "/报名志愿 1", delivery_id="same")
        assert first.text == again.text
        assert "已报名红色书架整理" in first.text
        me = Actor.member(await member_id(handle, "xiaoming"), "xiaoming")
        mine = await handle.execute(ListMemberShifts(), actor=me)
        assert [m.signup.status for m in mine] == [SignupStatus.SIGNED_UP]

        answer = await chat.say("xiaoming", "/shifts")
        assert "✅ 已报名" in answer.text
        assert answer.payloads == ()
        answer = await chat.say("xiaoming", "/myshifts", group="volunteers")
        assert answer.private
        assert "红色书架整理" in answer.private[0].text
        answer = await chat.say("xiaoming", "/myshifts")
        assert answer.payloads == ("/withdraw #1",)
        answer = await chat.say("xiaoming", "/退出志愿 1")
        assert "已退出红色书架整理" in answer.text

        await chat.say("xiaoming", "/lang en")
        answer = await chat.say("xiaoming", "/shifts")
        assert "1. Tidying the bookshelf:" in answer.text
        assert "2 of 2 places left" in answer.text
        answer = await chat.say("xiaoming", "/tasks")
        assert "Tidying the bookshelf: Tidy the shelf" in answer.text
        answer = await chat.say("xiaoming", "/signup")
        assert "Usage: /signup <shift>" in answer.text
        answer = await chat.say("xiaoming", "/signup x1")
        assert "Usage: /signup <shift>" in answer.text
        answer = await chat.say("xiaoming", "/quitteam")
        assert "You left the volunteer team" in answer.text


async def test_staff_confirm_hours(database_url: str, tmp_path: Path) -> None:
    clock = FrozenClock()
    async with community(database_url, tmp_path, clock) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("xiaoming", "/volunteer")
        await chat.say("xiaoming", "/signup #1")
        ming = await member_id(handle, "xiaoming")

        answer = await chat.say("xiaoming", "/hours")
        assert "累计志愿服务 0 小时，共 0 次" in answer.text

        answer = await chat.say("boss", "/signups 1")
        assert "红色书架整理" in answer.text
        assert "1. xiaoming" in answer.text
        assert answer.payloads == ()  # not started yet
        answer = await chat.say("boss", "/volunteers")
        assert "志愿者名单（1 人）" in answer.text
        assert "xiaoming" in answer.text

        clock.set(datetime(2026, 7, 10, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
        before = await state(huarong)
        answer = await chat.say("xiaoming", f"/confirm 1 #{ming} 2")
        assert "⚠️" in answer.text
        assert await state(huarong) == before

        answer = await chat.say("boss", "/志愿名单 1")
        assert answer.payloads == (f"/confirm #1 #{ming} 2",)
        answer = await chat.say("boss", "/confirm 1 1 3")
        assert "⚠️" in answer.text  # more than the shift's two hours
        first = await chat.say("boss", "/确认时长 1 1 2", delivery_id="same")
        again = await chat.say("boss", "/确认时长 1 1 2", delivery_id="same")
        assert first.text == again.text
        assert "已确认xiaoming在红色书架整理" in first.text
        assert "服务 2 小时" in first.text
        assert "已发放 8 积分" in first.text
        answer = await chat.say("boss", "/confirm 1 1 2")
        assert "⚠️" in answer.text

        answer = await chat.say("xiaoming", "/hours 2026-01-01 2026-12-31")
        assert "累计志愿服务 2 小时，共 1 次" in answer.text
        answer = await chat.say("xiaoming", "/myshifts")
        assert "已确认 2 小时" not in answer.text  # the shift is over: none to come
        answer = await chat.say("boss", "/teamhours")
        assert "1. xiaoming：2 小时，1 次" in answer.text
        answer = await chat.say("xiaoming", "/hours 7月32日")
        assert "用法：/志愿时长 [起始日期] [截止日期]" in answer.text


async def test_tasks_and_shifts_are_staff_only(database_url: str, tmp_path: Path) -> None:
    async with community(database_url, tmp_path) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("xiaoming", "/me")
        before = await state(huarong)
        for line in (
            "/newtask cleanup 大扫除",
            "/addshift shelf 2026-07-20 9:00 11:00 3",
            "/editshift 1 名额 5",
            "/cancelshift 1",
            "/volunteers",
        ):
            answer = await chat.say("xiaoming", line)
            assert "⚠️" in answer.text, line
        assert await state(huarong) == before
        assert "/添加班次" not in (await chat.say("xiaoming", "/help")).text

        answer = await chat.say("boss", "/newtask cleanup 大扫除 service")
        assert "已新建志愿项目 cleanup“大扫除”" in answer.text
        answer = await chat.say("boss", "/edittask cleanup 说明 打扫楼道")
        assert "已更新" in answer.text
        answer = await chat.say("boss", "/addshift cleanup 7-20 9:00 11:30 3")
        assert "已添加大扫除班次 #2" in answer.text
        assert "名额 3 人" in answer.text
        answer = await chat.say("boss", "/addshift cleanup 7-20 9:00 25:00 3")
        assert "用法：/添加班次 <志愿项目> <开始时间> <结束时刻> <名额>" in answer.text
        answer = await chat.say("boss", "/editshift #2 名额 5")
        assert "名额 5 人" in answer.text
        answer = await chat.say("boss", "/editshift #2 时间 7-21 14:00 16:00")
        assert "班次 #2 已调整" in answer.text
        answer = await chat.say("boss", "/editshift #2 时间 明天")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/取消班次 #2 下雨")
        assert "已取消大扫除班次 #2" in answer.text
        answer = await chat.say("boss", "/edittask cleanup 状态 关闭")
        assert "已关闭报名" in answer.text
        answer = await chat.say("boss", "/edittask cleanup 状态 也许")
        assert "用法：" in answer.text

        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/tasks")
        assert "Tidying the bookshelf" in answer.text
        assert "大扫除" not in answer.text
