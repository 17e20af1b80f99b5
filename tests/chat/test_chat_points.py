"""Chat routes of points and the shop: balance, history, ranks, awards, rules, honours."""

from __future__ import annotations

from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, open_test_community

POINTS_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "boss"
name = "Boss"
organization = "acme"
categories = ["party_member"]
identities = [{ platform = "console", id = "boss" }]

[[members]]
key = "clerk"
name = "Clerk"
identities = [{ platform = "console", id = "clerk" }]

[[members]]
key = "carol"
name = "Carol"
organization = "acme"
categories = ["employee"]
identities = [{ platform = "console", id = "carol" }]

[[members]]
key = "dave"
name = "Dave"
identities = [{ platform = "console", id = "dave" }]

[[roles]]
member = "boss"
role = "admin"

[[roles]]
member = "clerk"
role = "station_staff"
scope = "station:service"

[[points.rules]]
key = "helping"
name = { zh_CN = "志愿帮忙", en = "Helping out" }
trigger = "manual"
points = 7

[[shop.items]]
key = "tea_cup"
name = { zh_CN = "茶杯", en = "Tea cup" }
price = 30
stock = 3
limit = { count = 2, period = "month" }
station = "service"
"""
)


async def test_points_history_rank_and_top(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/award carol 20 帮忙布置会场")
        assert "已给Carol加 20 分（帮忙布置会场），当前余额 20" in answer.text
        await chat.say("boss", "/加分 boss 5 主持活动")

        answer = await chat.say("carol", "/积分")
        assert "可用积分：20" in answer.text
        assert "本季得分：20，排名第 1" in answer.text
        assert "/history" in answer.payloads

        answer = await chat.say("carol", "/history")
        assert "人工调整：帮忙布置会场" in answer.text
        assert "+20" in answer.text
        assert "余额 20" in answer.text

        answer = await chat.say("carol", "/rank")
        assert "总榜：第 1 名，20 分" in answer.text
        assert "Acme Insurance榜：第 1 名" in answer.text
        assert "员工类别榜：第 1 名" in answer.text

        answer = await chat.say("carol", "/top")
        assert "1. Carol — 20 分  ← 我" in answer.text
        assert "2. Boss — 5 分" in answer.text
        answer = await chat.say("carol", "/排行榜 本季")
        assert "本季榜" in answer.text

        await chat.say("carol", "/lang en")
        answer = await chat.say("carol", "/points")
        assert "Carol, you have 20 points to spend." in answer.text
        answer = await chat.say("carol", "/history")
        assert "Adjusted by staff: 帮忙布置会场" in answer.text
        answer = await chat.say("carol", "/rank org")
        assert "Acme Insurance board: rank 1 with 20 points" in answer.text
        answer = await chat.say("carol", "/top")
        assert "Leaderboard: All-time board" in answer.text


async def test_points_in_a_group_are_answered_privately(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("carol", "/points", group="lobby")
        assert answer.reply.messages[0].private


async def test_award_by_number_from_the_leaderboard_and_by_rule(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("boss", "/award carol 3 签到")
        await chat.say("boss", "/top")
        answer = await chat.say("boss", "/award 1 4 再次帮忙")
        assert "已给Carol加 4 分" in answer.text
        answer = await chat.say("boss", "/award carol helping 志愿活动")
        assert "已给Carol加 7 分" in answer.text
        assert "当前余额 14" in answer.text
        answer = await chat.say("carol", "/history")
        assert "志愿帮忙" in answer.text


async def test_award_and_deduct_mistakes_show_the_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/award carol 10")
        assert "用法：" in answer.text
        assert "原因" in answer.text
        answer = await chat.say("boss", "/deduct carol lots 迟到")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/award carol -5 迟到")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/deduct carol 5 迟到")  # more than the balance
        assert "用法：" not in answer.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：0" in answer.text
        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/award")
        assert "Usage:" in answer.text


async def test_award_is_refused_to_members_and_changes_nothing(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("dave", "/award carol 10 我想加分")
        assert "权限" in answer.text
        answer = await chat.say("dave", "/deduct carol 1 扣一下")
        assert "权限" in answer.text
        for command in ("/rule helping off", "/expire", "/verify"):
            answer = await chat.say("dave", command)
            assert "权限" in answer.text, command
        answer = await chat.say("carol", "/points")
        assert "可用积分：0" in answer.text
        answer = await chat.say("boss", "/rules")
        assert "志愿帮忙" in answer.text
        assert "已停用" not in answer.text


async def test_a_redelivered_award_awards_once(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        first = await chat.say("boss", "/award carol 5 布置会场", delivery_id="same")
        again = await chat.say("boss", "/award carol 5 布置会场", delivery_id="same")
        assert first.text == again.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：5" in answer.text
        first = await chat.say("boss", "/deduct carol 2 迟到", delivery_id="twice")
        again = await chat.say("boss", "/deduct carol 2 迟到", delivery_id="twice")
        assert first.text == again.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：3" in answer.text


async def test_rules_switch_expire_and_verify(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/rules")
        assert "1. 志愿帮忙 [helping] manual：+7 分" in answer.text
        assert "/rule helping off" in answer.payloads
        answer = await chat.say("boss", "/rule 1 off")
        assert "规则“志愿帮忙”（helping）已停用" in answer.text
        answer = await chat.say("boss", "/award carol helping 志愿活动")
        assert "用法：" not in answer.text
        assert "已给" not in answer.text
        answer = await chat.say("boss", "/启停规则 helping 启用")
        assert "已启用" in answer.text
        answer = await chat.say("boss", "/rule helping maybe")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/verify")
        assert "核对无误" in answer.text
        answer = await chat.say("boss", "/expire")
        assert "没有到期的积分" in answer.text
        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/verify")
        assert "The ledger and the balances agree." in answer.text


async def test_honours_are_granted_listed_and_revoked(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say(
            "boss", "/honour carol 先锋岗 先锋示范岗 2026-07-01 2026-12-31 服务群众表现突出"
        )
        assert "已授予Carol“先锋示范岗”荣誉" in answer.text
        answer = await chat.say("boss", "/honour carol volunteer_star 志愿之星 今天 十年如一日")
        assert "志愿之星" in answer.text
        answer = await chat.say("carol", "/荣誉")
        assert "先锋示范岗" in answer.text
        assert "服务群众表现突出" in answer.text
        assert "自 " in answer.text  # the open-ended one
        answer = await chat.say("dave", "/honour carol pioneer_post 先锋 2026-07-01 冒充")
        assert "权限" in answer.text
        answer = await chat.say("boss", "/honour carol pioneer_post 先锋 2026-07-01")
        assert "用法：" in answer.text
        await chat.say("boss", "/honours carol")
        answer = await chat.say("boss", "/revokehonour 1")
        assert "已撤销荣誉“先锋示范岗”" in answer.text
        again = await chat.say("boss", "/revokehonour 1")
        assert "已撤销荣誉" not in again.text
        assert "不能" in again.text
        answer = await chat.say("carol", "/honours")
        assert "先锋示范岗" not in answer.text
        assert "志愿之星" in answer.text
        await chat.say("carol", "/lang en")
        answer = await chat.say("carol", "/honours")
        assert "Honours of Carol:" in answer.text


async def test_the_organization_report(database_url: str) -> None:
    clock = FrozenClock()
    async with open_test_community(database_url, config=POINTS_COMMUNITY, clock=clock) as (
        _,
        handle,
    ):
        chat = ChatTester(handle)
        await chat.say("boss", "/award carol 20 帮忙")
        await chat.say("boss", "/award carol helping 志愿")
        answer = await chat.say("boss", "/report acme 2026-06-01 2026-07-31")
        assert answer.text.startswith("Acme Insurance（")
        assert "共 4 人，1 人参与；获得积分 27，消费积分 0。" in answer.text
        assert "1. Carol — 得分 27" in answer.text
        answer = await chat.say("boss", "/report acme 2026-07-31")
        assert "用法：" in answer.text
        answer = await chat.say("dave", "/report acme 2026-06-01 2026-07-31")
        assert "权限" in answer.text


# --- the shop ---------------------------------------------------------------------------------


async def test_shop_redeem_orders_and_cancel(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("boss", "/award carol 100 年度表彰")
        answer = await chat.say("carol", "/商城")
        assert "1. 茶杯 — 30 积分 · 剩余 3 · 每月限兑 2 件" in answer.text
        assert "/redeem tea_cup" in answer.payloads
        answer = await chat.say("carol", "/redeem 1")
        assert "已兑换 茶杯 × 1，花费 30 积分（兑换单 #1），当前余额 70" in answer.text
        assert "请到服务站领取" in answer.text
        answer = await chat.say("carol", "/orders")
        assert "#1 茶杯 × 1，30 积分 — 待领取" in answer.text
        assert "/cancelorder #1" in answer.payloads
        answer = await chat.say("carol", "/取消兑换 1")
        assert "兑换单 #1（茶杯）已取消，30 积分已退回" in answer.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：100" in answer.text
        await chat.say("carol", "/lang en")
        answer = await chat.say("carol", "/shop")
        assert "1. Tea cup — 30 points · 3 left · at most 2 per month" in answer.text
        answer = await chat.say("carol", "/redeem tea_cup 2")
        assert "Redeemed Tea cup × 2 for 60 points" in answer.text
        answer = await chat.say("carol", "/redeem tea_cup 1")
        assert "Redeemed" not in answer.text  # the monthly limit
        answer = await chat.say("carol", "/redeem")
        assert "Usage:" in answer.text
        answer = await chat.say("carol", "/redeem tea_cup zero")
        assert "Usage:" in answer.text


async def test_a_redelivered_redemption_redeems_once(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("boss", "/award carol 100 年度表彰")
        first = await chat.say("carol", "/redeem tea_cup", delivery_id="same")
        again = await chat.say("carol", "/redeem tea_cup", delivery_id="same")
        assert first.text == again.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：70" in answer.text
        answer = await chat.say("carol", "/shop")
        assert "剩余 2" in answer.text


async def test_staff_fulfil_and_restock(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("boss", "/award carol 100 年度表彰")
        await chat.say("carol", "/redeem tea_cup")

        answer = await chat.say("dave", "/fulfil 1")
        assert "权限" in answer.text
        answer = await chat.say("dave", "/restock tea_cup 10")
        assert "权限" in answer.text
        answer = await chat.say("dave", "/redemptions")
        assert "权限" in answer.text

        answer = await chat.say("clerk", "/兑换单")
        assert "兑换单（待发放）" in answer.text
        assert "#1 Carol：茶杯 × 1" in answer.text
        assert "/fulfil #1" in answer.payloads
        first = await chat.say("clerk", "/fulfil 1", delivery_id="same")
        again = await chat.say("clerk", "/fulfil 1", delivery_id="same")
        assert "兑换单 #1：茶杯 × 1 已发放给Carol。" in first.text
        assert first.text == again.text
        answer = await chat.say("clerk", "/fulfil 1")
        assert "已发放给" not in answer.text
        answer = await chat.say("clerk", "/redemptions fulfilled")
        assert "已发放" in answer.text
        answer = await chat.say("clerk", "/redemptions")
        assert "没有相应的兑换单" in answer.text

        answer = await chat.say("clerk", "/补货 茶杯 5")
        assert "茶杯：当前库存 7" in answer.text
        answer = await chat.say("clerk", "/restock tea_cup")
        assert "用法：" in answer.text
        answer = await chat.say("carol", "/shop")
        assert "剩余 7" in answer.text


async def test_history_and_leaderboard_pages(database_url: str) -> None:
    async with open_test_community(database_url, config=POINTS_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        for n in range(1, 13):
            await chat.say("boss", f"/award carol {n} 第{n}次")
        answer = await chat.say("carol", "/history")
        assert "第 1 页" in answer.text
        assert "人工调整：第12次" in answer.text
        assert "人工调整：第2次（" not in answer.text
        assert "/history p2" in answer.payloads
        answer = await chat.say("carol", "/history p2", pressed=True)
        assert "人工调整：第1次" in answer.text
        assert "余额 1）" in answer.text
        assert "/history p1" in answer.payloads
        assert answer.reply.messages[0].replaces_source
        answer = await chat.say("carol", "/top p2")
        assert "暂无得分" in answer.text
        answer = await chat.say("carol", "/top category")
        assert "员工类别榜" in answer.text  # the category's name, not its key
        assert "Carol — 78 分" in answer.text
