"""Member, organization and role administration, and the audit log, from chat."""

from __future__ import annotations

from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, open_test_community

ADMIN_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

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

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
"""
)


async def test_members_are_found_shown_registered_edited_and_suspended(database_url: str) -> None:
    async with open_test_community(database_url, config=ADMIN_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/find Car")
        assert "与“Car”匹配的会员（1 位）" in answer.text
        assert "1. Carol" in answer.text
        answer = await chat.say("boss", "/查看会员 1")
        assert "Carol（#" in answer.text
        assert "Acme Insurance" in answer.text
        assert "积分：余额 0" in answer.text

        answer = await chat.say("boss", "/register 张三")
        assert "已登记会员张三" in answer.text
        answer = await chat.say("boss", "/editmember 张三 单位 acme")
        assert "已修改张三的单位" in answer.text
        answer = await chat.say("boss", "/editmember 张三 categories party_member、employee")
        assert "已修改张三的类别" in answer.text
        answer = await chat.say("boss", "/member 张三")
        assert "Acme Insurance" in answer.text
        assert "类别：employee, party_member" in answer.text
        answer = await chat.say("boss", "/editmember 张三 单位 无")  # left the company
        assert "已修改张三的单位" in answer.text
        answer = await chat.say("boss", "/member 张三")
        assert "Acme Insurance" not in answer.text
        answer = await chat.say("boss", "/editmember 张三 org acme")
        assert "已修改张三的单位" in answer.text
        answer = await chat.say("boss", "/editmember 张三 lang klingon")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/editmember 张三 age 30")
        assert "用法：" in answer.text

        answer = await chat.say("boss", "/suspend 张三 离职")
        assert "已停用会员张三" in answer.text
        answer = await chat.say("boss", "/find 张")
        assert "已暂停" in answer.text
        answer = await chat.say("boss", "/reactivate 张三")
        assert "已恢复会员张三" in answer.text

        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/member carol")
        assert "Status: active" in answer.text
        answer = await chat.say("boss", "/register")
        assert "Usage:" in answer.text


async def test_admin_commands_are_refused_to_members(database_url: str) -> None:
    async with open_test_community(database_url, config=ADMIN_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        for command in (
            "/register 李四",
            "/member carol",
            "/find Car",
            "/suspend carol",
            "/neworg 某某科技",
            "/grant carol admin",
            "/audit",
        ):
            answer = await chat.say("dave", command)
            assert "权限" in answer.text, command
        answer = await chat.say("boss", "/find 李四")
        assert "没有与“李四”匹配的会员" in answer.text
        answer = await chat.say("boss", "/roles carol")
        assert "没有角色授权" in answer.text
        answer = await chat.say("boss", "/orgs")
        assert "共 1 家" in answer.text


async def test_a_redelivered_registration_registers_once(database_url: str) -> None:
    async with open_test_community(database_url, config=ADMIN_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        first = await chat.say("boss", "/register 李四", delivery_id="same")
        again = await chat.say("boss", "/register 李四", delivery_id="same")
        assert first.text == again.text
        answer = await chat.say("boss", "/find 李四")
        assert "（1 位）" in answer.text


async def test_organizations_are_registered_edited_and_shown(database_url: str) -> None:
    async with open_test_community(database_url, config=ADMIN_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/登记单位 某某科技")
        assert "已登记单位某某科技" in answer.text
        answer = await chat.say("boss", "/editorg 某某科技 floor 12")
        assert "已修改某某科技的楼层" in answer.text
        answer = await chat.say("boss", "/editorg 某某科技 党支部 有")
        assert "党支部" in answer.text
        answer = await chat.say("boss", "/editorg 某某科技 branch perhaps")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/单位")
        assert "单位（共 2 家）" in answer.text
        assert "某某科技" in answer.text
        answer = await chat.say("boss", "/org 2")
        assert "某某科技（#" in answer.text
        assert "楼层 12" in answer.text
        assert "党支部：是" in answer.text
        answer = await chat.say("boss", "/org acme")
        assert "会员 3 人" in answer.text


async def test_roles_are_granted_listed_and_revoked_and_audited(database_url: str) -> None:
    async with open_test_community(database_url, config=ADMIN_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("boss", "/grant carol club_leader club:tea")
        assert "已授予Carol“社团负责人”角色（club:tea）" in answer.text
        answer = await chat.say("boss", "/roles carol")
        assert "Carol：社团负责人（club:tea，manual）" in answer.text
        answer = await chat.say("boss", "/grant carol wizard")
        assert "用法：" in answer.text
        answer = await chat.say("boss", "/grant carol club_leader")  # a club role needs a club
        assert "用法：" not in answer.text
        assert "已授予" not in answer.text
        answer = await chat.say("boss", "/撤销授权 carol 社长 club:tea")
        assert "已撤销Carol的“社团负责人”角色" in answer.text
        answer = await chat.say("boss", "/roles")
        assert "Boss：管理员" in answer.text
        answer = await chat.say("boss", "/audit")
        assert "审计日志" in answer.text
        assert "role.revoke" in answer.text
        answer = await chat.say("boss", "/audit role.grant")
        assert "role.grant" in answer.text
        assert "role.revoke" not in answer.text
        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/audit")
        assert "Audit log:" in answer.text
