"""Chat routes of aid cases (confidential), announcements and station subscriptions."""

from __future__ import annotations

from typing import Any

from huarong_core.commands import ListAuditEntries
from huarong_core.domain.audit import Actor
from huarong_core.storage.base import Database
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, open_test_community, snapshot

SYSTEM = Actor.system("test")

COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "desk"
name = "王芳"
identities = [{ platform = "console", id = "desk" }]

[[members]]
key = "helper"
name = "Helper"
identities = [{ platform = "console", id = "helper" }]

[[members]]
key = "li"
name = "李明"
identities = [{ platform = "console", id = "li" }]

[[members]]
key = "leader"
name = "Leader"
identities = [{ platform = "console", id = "leader" }]

[[roles]]
member = "desk"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "helper"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:tea"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "service"
chats = [{ platform = "console", id = "tea-group" }]
"""
)


async def state_of(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row but the remembered answers to inputs and the audit log (reads are audited)."""
    rows = await snapshot(db)
    rows.pop("deliveries", None)
    rows.pop("audit_log", None)
    return rows


async def test_aid_cases_stay_with_the_staff_they_name(database_url: str) -> None:
    async with open_test_community(database_url, config=COMMUNITY) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("li", "/start")
        line = "/帮扶立案 李明 疾病 住院治疗，家中无人照顾"
        opened = await chat.say("desk", line, delivery_id="open")
        assert opened.text == "🔒 已为李明建立帮扶档案 #1（疾病），仅档案指定的工作人员可见。"
        assert (await chat.say("desk", line, delivery_id="open")).text == opened.text
        listed = await chat.say("desk", "/帮扶")
        assert "1. #1 李明 · 疾病 · 待处理" in listed.text
        assert listed.payloads == ("/aid 1",)
        await chat.say("desk", "/帮扶记录 1 送去慰问品")
        assert (await chat.say("desk", "/帮扶状态 1 帮扶中")).text == (
            "帮扶档案 #1 状态已变为：帮扶中。"
        )
        named = await chat.say("desk", "/帮扶人员 1 添加 helper")
        assert named.text == "已将Helper加入帮扶档案 #1。帮扶人员：王芳、Helper" or (
            named.text == "已将Helper加入帮扶档案 #1。帮扶人员：Helper、王芳"
        )
        case = await chat.say("helper", "/帮扶 1")
        assert "情况：住院治疗，家中无人照顾" in case.text
        assert "1. 2026年7月1日周三 · 王芳：送去慰问品" in case.text
        removed = await chat.say("helper", "/帮扶人员 1 移除 helper")
        assert "已将Helper移出帮扶档案 #1" in removed.text

        # Anyone not named, the member in difficulty included, sees nothing, and
        # asking changes nothing but the audit log.
        before = await state_of(huarong.db)
        for who, text in (
            ("helper", "/帮扶 1"),
            ("li", "/帮扶 1"),
            ("li", "/帮扶记录 1 我来看看"),
            ("helper", "/帮扶状态 1 结案"),
        ):
            refused = await chat.say(who, text)
            assert "仅对档案指定的工作人员开放" in refused.text, (who, text)
            assert "住院" not in refused.text
        assert (await chat.say("li", "/帮扶")).text == "您名下暂无帮扶档案。"
        assert await state_of(huarong.db) == before
        reads = await handle.execute(ListAuditEntries(action="aid.read_refused"), actor=SYSTEM)
        assert len(reads) >= 3

        # Asked in a group, the case goes to the private chat; the group sees only that.
        in_group = await chat.say("desk", "/帮扶 1", group="lobby")
        assert [m.private for m in in_group.messages] == [True, False]
        assert "住院" in in_group.messages[0].text
        assert in_group.messages[1].text == "王芳，已私信回复您。"
        noted = await chat.say("desk", "/帮扶记录 1 再次探望", group="lobby")
        assert all(m.private for m in noted.messages[:-1])

        await chat.say("desk", "/lang en")
        bad = await chat.say("desk", "/aidstatus 1 flying")
        assert "Usage: /aidstatus <case> <status>" in bad.text
        missing = await chat.say("desk", "/aidstaff 1 add")
        assert "Missing: member." in missing.text
        english = await chat.say("desk", "/aid 1")
        assert "🔒 Aid case #1: 李明 · illness · in progress" in english.text


async def test_announcements_subscriptions_and_club_notices(database_url: str) -> None:
    async with open_test_community(database_url, config=COMMUNITY) as (huarong, handle):
        chat = ChatTester(handle)
        stations = await chat.say("li", "/驿站")
        assert "1. 服务站（1 楼）" in stations.text
        subscribed = await chat.say("li", "/订阅 1", delivery_id="sub")
        assert subscribed.text == "🔔 已订阅服务站的公告。"
        assert (await chat.say("li", "/订阅 1", delivery_id="sub")).text == subscribed.text
        mine = await chat.say("li", "/我的订阅")
        assert "🔔 服务站" in mine.text
        assert mine.payloads == ("/unsubscribe service",)

        # A member may not post; nothing is sent.
        before = await state_of(huarong.db)
        refused = await chat.say("li", "/发布公告 驿站:服务站 停水 | 明天停水")
        assert "⚠️" in refused.text
        assert await state_of(huarong.db) == before
        usage = await chat.say("desk", "/发布公告 火星人 停水 | 明天停水")
        assert "用法：/发布公告 <发送对象> <标题 | 正文>" in usage.text

        posted = await chat.say(
            "desk", "/发布公告 驿站:服务站 停水通知 | 明天上午 9 点至 12 点停水"
        )
        assert posted.text == (
            "📢 公告 #1“停水通知”已发布，对象：服务站的订阅者，共 1 位会员、0 个群。"
        )
        assert posted.payloads == ("/announcement 1",)
        news = await chat.say("li", "/公告")
        assert "1. 停水通知 · 7月1日周三 17:00" in news.text
        read = await chat.say("li", "/公告 1")
        assert "明天上午 9 点至 12 点停水" in read.text
        status = await chat.say("desk", "/公告状态 1")
        assert "共 1 份：已送达 0，待发送 1" in status.text
        assert "⚠️" in (await chat.say("li", "/公告状态 1")).text

        unsubscribed = await chat.say("li", "/退订 service")
        assert unsubscribed.text == "🔕 已退订服务站的公告。"
        assert (await chat.say("li", "/我的订阅")).payloads == ("/subscribe service",)

        # In the club's group, a leader's announcement is the club's own notice.
        await chat.say("li", "/join tea")
        notice = await chat.say("leader", "/发布公告 周五茶会 | 欢迎大家", group="tea-group")
        assert notice.text == "📢 已向茶艺社的成员发送通知：2 位成员、1 个群。"
        await chat.say("leader", "/lang en")
        keyed = await chat.say("leader", "/announce club:tea Friday tea | all welcome")
        assert keyed.text == "📢 Notice sent to the members of Tea club: 2 members, 1 group chats."
        nowhere = await chat.say("leader", "/announce Friday tea")
        assert "Usage: /announce <audience> <title | text>" in nowhere.text
