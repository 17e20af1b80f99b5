"""Chat routes of the service stations: the catalogue, requests and the staff's side of them."""

from __future__ import annotations

from typing import Any

from huarong_core.commands import ListAuditEntries, ListMyRequests
from huarong_core.domain.audit import Actor
from huarong_core.domain.services import RequestState
from huarong_core.storage.base import Database
from huarong_core.testing import (
    SAMPLE_COMMUNITY,
    ChatTester,
    FrozenClock,
    open_test_community,
    snapshot,
)

SYSTEM = Actor.system("test")


async def state_of(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row but the remembered answers to inputs (a refusal is remembered too)."""
    rows = await snapshot(db)
    rows.pop("deliveries", None)
    return rows


STATIONS = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "enterprise"
name = { zh_CN = "企业服务站", en = "Enterprise station" }
floor = 3
hours = [
  { days = "mon-fri", opens = "08:30", closes = "12:00" },
  { days = "sat,sun", opens = "14:00", closes = "17:30" },
]

[[members]]
key = "desk"
name = "王芳"
identities = [{ platform = "console", id = "desk" }]

[[members]]
key = "li"
name = "李明"
organization = "acme"
identities = [{ platform = "console", id = "li" }]

[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

[[roles]]
member = "desk"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "boss"
role = "admin"

[[services]]
key = "legal_aid"
station = "service"
name = { zh_CN = "法律援助", en = "Legal aid" }
affair = "legal"
sla_hours = 10
form = [
  { key = "matter", label = { zh_CN = "事项", en = "Matter" } },
  { key = "phone", label = { zh_CN = "联系电话", en = "Phone" }, type = "phone" },
  { key = "kind", label = "类别", type = "choice", choices = ["合同", "劳动"], required = false },
]

[[services]]
key = "consult"
station = "enterprise"
name = { zh_CN = "政策咨询", en = "Policy consulting" }
affair = "government"
sla_hours = 4
"""
)


async def _requests(handle: object, chat: ChatTester, who: str) -> list[object]:
    from huarong_core.commands import FindMemberByIdentity

    profile = await chat.conversation.handle.execute(
        FindMemberByIdentity("console", who), actor=SYSTEM
    )
    page = await chat.conversation.handle.execute(
        ListMyRequests(member_id=profile.member.id), actor=SYSTEM
    )
    return list(page.items)


async def test_stations_and_the_catalogue_in_both_languages(database_url: str) -> None:
    async with open_test_community(database_url, config=STATIONS) as (_, handle):
        chat = ChatTester(handle)
        listed = await chat.say("li", "/驿站")
        assert "1. 服务站（1 楼）· 暂无固定开放时间" in listed.text
        assert "周一至周五 08:30–12:00；周六、周日 14:00–17:30" in listed.text
        assert listed.payloads == ("/station service", "/station enterprise")
        # "2" is the second station just listed.
        station = await chat.say("li", "/驿站详情 2")
        assert "🏠 企业服务站" in station.text
        assert "1. 政策咨询 · 政务 · 4 小时内办结" in station.text
        assert "/subscribe enterprise" in station.payloads

        catalogue = await chat.say("li", "/服务")
        assert "1. 法律援助 · 服务站 · 法务 · 10 小时内办结" in catalogue.text
        assert "2. 政策咨询 · 企业服务站 · 政务" in catalogue.text
        by_affair = await chat.say("li", "/服务 政务")
        assert "政务服务：" in by_affair.text
        assert "法律援助" not in by_affair.text
        consult = await chat.say("li", "/服务详情 1")  # the first line of the last list
        assert "📋 政策咨询 · 企业服务站 · 政务" in consult.text
        assert "无需填表，发送“/申请服务 consult”即可申请。" in consult.text
        details = await chat.say("li", "/服务详情 法律援助")
        assert "📋 法律援助 · 服务站 · 法务" in details.text
        assert "• 联系电话（phone，电话号码），必填" in details.text
        assert "例如：/申请服务 legal_aid matter=具体内容 phone=13912345678" in details.text
        assert details.payloads == ("/request legal_aid",)

        await chat.say("li", "/lang en")
        english = await chat.say("li", "/services service")
        assert "Services of Service station:" in english.text
        assert "1. Legal aid · legal affairs · within 10 h" in english.text
        form = await chat.say("li", "/service legal_aid")
        assert "• Phone (phone, a phone number), required" in form.text
        assert "For example: /request legal_aid matter=details phone=13912345678" in form.text
        stations = await chat.say("li", "/stations")
        assert "2. Enterprise station (floor 3) · " in stations.text
        assert "Mon–Fri 08:30–12:00; Sat, Sun 14:00–17:30" in stations.text


async def test_bad_input_shows_the_usage_line(database_url: str) -> None:
    async with open_test_community(database_url, config=STATIONS) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("li", "/start")
        before = await state_of(huarong.db)
        missing = await chat.say("li", "/申请服务")
        assert missing.text.splitlines() == [
            "⚠️ 缺少参数：服务。",
            "用法：/申请服务 <服务> [填写内容]",
        ]
        unknown = await chat.say("li", "/服务详情 火箭发射")
        assert "找不到这个名称或编号" in unknown.text
        assert "用法：/服务详情 <服务>" in unknown.text
        bad_rating = await chat.say("li", "/评价服务 1 9")
        assert "超出范围" in bad_rating.text
        assert "用法：/评价服务 <申请编号> <评分（1-5）> [留言]" in bad_rating.text
        assert await state_of(huarong.db) == before
        await chat.say("li", "/lang en")
        before = await state_of(huarong.db)
        state = await chat.say("li", "/state #1 flying")
        assert "Usage: /state <request> <state> [comment]" in state.text
        assert await state_of(huarong.db) == before


async def test_a_request_with_its_form_in_one_message(database_url: str) -> None:
    async with open_test_community(database_url, config=STATIONS) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("li", "/start")
        before = await state_of(huarong.db)
        form = await chat.say("li", "/申请服务 legal_aid 劳动合同")
        assert form.text.startswith("还缺少：联系电话。申请尚未提交。")
        assert "可选：1.合同 2.劳动" in form.text
        wrong = await chat.say("li", "/申请服务 legal_aid matter=合同 phone=123")
        assert "“联系电话”" in wrong.text
        assert "“法律援助”申请表：" in wrong.text
        assert await state_of(huarong.db) == before

        # In the form's order: the text field takes the words the phone does not.
        first = await chat.say("li", "/申请服务 legal_aid 劳动 合同 审查 13912345678 2")
        assert "✅ 已提交“法律援助”申请 #1" in first.text
        assert first.payloads == ("/ticket 1",)
        # Keyed answers, by key or label; a redelivery answers the same and submits once.
        line = "/申请 legal_aid 联系电话：13912345678 matter=工资 拖欠 kind=合同"
        second = await chat.say("li", line, delivery_id="same")
        again = await chat.say("li", line, delivery_id="same")
        assert again.text == second.text
        assert "申请 #2" in second.text
        ticket = await chat.say("li", "/申请详情 2")
        assert ticket.text.splitlines()[3:6] == [
            "事项：工资 拖欠",
            "联系电话：13912345678",
            "类别：合同",
        ]
        listed = await chat.say("li", "/我的申请")
        assert "1. #2 法律援助 · 已提交" in listed.text
        assert "2. #1 法律援助 · 已提交" in listed.text
        earlier = await chat.say("li", "/申请详情 2")  # the second line: request #1
        assert "事项：劳动 合同 审查" in earlier.text
        assert "类别：劳动" in earlier.text
        assert earlier.payloads == ("/state 1 cancelled",)

        await chat.say("li", "/lang en")
        none_needed = await chat.say("li", "/request consult")
        assert "Request #3 for Policy consulting submitted" in none_needed.text
        in_group = await chat.say("li", "/requests", group="lobby")
        assert [m.private for m in in_group.messages] == [True, False]


async def test_the_requester_and_the_staff_work_a_request_through(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=STATIONS, clock=clock) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("li", "/申请服务 legal_aid 劳动合同 13912345678")
        await chat.say("li", "/申请服务 legal_aid 工资 13912345678")

        # A member is refused every staff step, and nothing changes.
        before = await state_of(huarong.db)
        for line in ("/受理 1", "/办结 1", "/指派 1 desk", "/内部备注 1 x", "/待办"):
            refused = await chat.say("li", line)
            assert "⚠️" in refused.text, line
        assert await state_of(huarong.db) == before

        queue = await chat.say("desk", "/待办")
        assert "待办申请（2 件）" in queue.text
        assert "1. #1 法律援助 · 已提交 · 李明" in queue.text
        accepted = await chat.say("desk", "/受理 1")  # the first line of the queue
        assert accepted.text == "申请 #1 状态已变为：已受理。"
        assert (await chat.say("desk", "/指派 1 -")).text == "申请 #1 已取消指派。"
        assigned = await chat.say("desk", "/指派 1 王芳")
        assert assigned.text == "申请 #1 已指派给 王芳。"
        visit = await chat.say("desk", "/预约上门 1 明天 14:30 带上合同")
        assert visit.text == "已为申请 #1 预约上门：7月2日周四 14:30，已通知申请人。"
        await chat.say("desk", "/内部备注 1 注意保密")
        await chat.say("desk", "/回复 1 请带上身份证")
        await chat.say("li", "/回复 1 好的")

        staff_view = await chat.say("desk", "/申请详情 1")
        assert "🔒 王芳（内部备注）：注意保密" in staff_view.text
        mine = await chat.say("li", "/申请详情 1")
        assert "注意保密" not in mine.text
        assert "王芳（驿站）：请带上身份证" in mine.text
        assert "经办人：王芳" in mine.text

        # Resolving an accepted request takes the step to "in progress" first;
        # a redelivery replays the same steps and the same answer.
        resolved = await chat.say("desk", "/办结 1 已审查", delivery_id="r1")
        again = await chat.say("desk", "/办结 1 已审查", delivery_id="r1")
        assert resolved.text == again.text == "申请 #1 状态已变为：已办结。"
        states = await handle.execute(
            ListAuditEntries(action="service_request.state"), actor=SYSTEM
        )
        assert len(states) == 3  # accepted, in progress, resolved

        declined = await chat.say("desk", "/不予受理 2 不属于法律援助范围")
        assert declined.text == "申请 #2 状态已变为：不予受理。"

        ticket = await chat.say("li", "/申请详情 1")
        assert ticket.payloads == ("/state 1 closed", "/state 1 reopen")
        assert "欢迎评价：“/评价服务 1 5”" in ticket.text
        rated = await chat.say("li", "/评价服务 1 5 很专业", delivery_id="rate")
        assert rated.text == "感谢评价！申请 #1 评分：5 分（满分 5 分）。"
        assert (await chat.say("li", "/评价服务 1 5 很专业", delivery_id="rate")).text == rated.text
        closed = await chat.say("li", "/状态 1 确认")
        assert closed.text.splitlines()[0] == "申请 #1 状态已变为：已关闭。"
        items = await _requests(handle, chat, "li")
        assert [r.state for r in items] == [RequestState.CLOSED, RequestState.REJECTED]  # type: ignore[attr-defined]

        await chat.say("desk", "/lang en")
        figures = await chat.say("desk", "/metrics")
        assert figures.text.splitlines()[0] == (
            "Service figures of Service station, Wed, Jul 1, 2026 to Wed, Jul 1, 2026:"
        )
        assert "Requests 2 · resolved 1 · on time 100%" in figures.text
        assert "rating 5" in figures.text
        assert "refused" not in (await chat.say("boss", "/metrics 6-1 7-1")).text
        refused = await chat.say("li", "/metrics")
        assert "⚠️" in refused.text


async def test_staff_commands_are_listed_for_staff_only(database_url: str) -> None:
    async with open_test_community(database_url, config=STATIONS) as (_, handle):
        chat = ChatTester(handle)
        staff_help = (await chat.say("desk", "/帮助")).text
        member_help = (await chat.say("li", "/帮助")).text
        for name in ("待办", "受理", "办结", "不予受理", "预约上门", "服务统计", "帮扶立案"):
            assert f"/{name}（" in staff_help
            assert f"/{name}（" not in member_help
        for name in ("驿站", "服务", "申请服务", "我的申请", "公告", "订阅"):
            assert f"/{name}（" in member_help
