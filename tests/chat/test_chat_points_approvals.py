"""The approvals inbox: pending awards, club requests, reflections and photos in one list."""

from __future__ import annotations

from pathlib import Path

from huarong_core import Actor, ListMembers
from huarong_core.app import CommunityHandle
from huarong_core.commands import JoinClub, RecordActivity, SearchBooks, SubmitReflection
from huarong_core.media import MediaStore, submit_photo
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, open_test_community

SYSTEM = Actor.system("test")
PNG = b"\x89PNG\r\n\x1a\n"
REFLECTION = "这本书讲述了革命先辈在狱中坚贞不屈的故事，读来令人动容。" * 3

INBOX_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "clerk"
name = "Clerk"
identities = [{ platform = "console", id = "clerk" }]

[[members]]
key = "carol"
name = "Carol"
organization = "acme"
identities = [{ platform = "console", id = "carol" }]

[[members]]
key = "dave"
name = "Dave"
identities = [{ platform = "console", id = "dave" }]

[[members]]
key = "lead"
name = "Lead"
identities = [{ platform = "console", id = "lead" }]

[[roles]]
member = "clerk"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "lead"
role = "club_leader"
scope = "club:tea"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "service"
join = "approval"

[[points.rules]]
key = "checkin"
name = { zh_CN = "沙龙签到", en = "Salon check-in" }
trigger = "salon.checked_in"
points = 5
approval = true

[library]
station = "service"

[[library.books]]
title = "红岩"
author = "罗广斌、杨益言"
copies = [{ code = "HY-001" }]

[smile_wall]
max_bytes = 4096
"""
)


async def _actor(handle: CommunityHandle, key: str) -> Actor:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    found = next(m for m in page.items if m.key == key)
    return Actor.member(found.id, found.display_name)


async def _fill_inbox(handle: CommunityHandle, media: Path) -> Actor:
    """One of each: a pending award, a join request, a reflection and a photo, all Carol's."""
    carol = await _actor(handle, "carol")
    assert carol.member_id is not None
    await handle.execute(
        RecordActivity("salon.checked_in", "salon:1", carol.member_id), actor=SYSTEM
    )
    await handle.execute(JoinClub("tea"), actor=carol)
    book = (await handle.execute(SearchBooks("红岩"), actor=SYSTEM)).items[0].book
    await handle.execute(SubmitReflection(book.id, REFLECTION), actor=carol)
    await submit_photo(handle, MediaStore(media), carol, PNG + b"smile" * 4, "大家好")
    return carol


async def test_the_inbox_lists_everything_and_decides_each(
    database_url: str, tmp_path: Path
) -> None:
    async with open_test_community(database_url, config=INBOX_COMMUNITY) as (_, handle):
        carol = await _fill_inbox(handle, tmp_path)
        chat = ChatTester(handle)
        answer = await chat.say("clerk", "/待审批")
        text = answer.text
        assert "待你审批（4 项）" in text
        assert "1. 【积分】Carol：沙龙签到，5 分（award:1）" in text
        assert f"2. 【入社】Carol 申请加入茶艺社（club:tea:{carol.member_id}）" in text
        assert "3. 【读后感】Carol：这本书讲述了" in text
        assert "4. 【笑脸墙】Carol：大家好（photo:1）" in text
        assert "/approve award:1" in answer.payloads
        assert f"/reject club:tea:{carol.member_id}" in answer.payloads

        answer = await chat.say("clerk", "/approve 1")
        assert "已通过：Carol获得 5 分（award:1）" in answer.text
        answer = await chat.say("clerk", "/通过 2")
        assert "已通过：Carol加入茶艺社" in answer.text
        answer = await chat.say("clerk", "/reject 3")
        assert "用法：" in answer.text  # a returned reflection needs a reason
        answer = await chat.say("clerk", "/reject 3 请结合自己的工作再写几句")
        assert "已退回Carol的读后感" in answer.text
        assert "请结合自己的工作再写几句" in answer.text
        await chat.say("clerk", "/lang en")
        answer = await chat.say("clerk", "/reject photo:1")
        assert "Usage:" in answer.text
        answer = await chat.say("clerk", "/reject photo:1 Too blurry")
        assert "Carol's photo is rejected (photo:1): Too blurry" in answer.text
        answer = await chat.say("clerk", "/pending")
        assert "Nothing is waiting for your decision." in answer.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：5" in answer.text


async def test_a_club_leader_sees_only_their_clubs_requests(
    database_url: str, tmp_path: Path
) -> None:
    async with open_test_community(database_url, config=INBOX_COMMUNITY) as (_, handle):
        carol = await _fill_inbox(handle, tmp_path)
        chat = ChatTester(handle)
        answer = await chat.say("lead", "/pending")
        assert "待你审批（1 项）" in answer.text
        assert "茶艺社" in answer.text
        answer = await chat.say("lead", "/reject 1")
        assert "已拒绝Carol加入茶艺社的申请" in answer.text
        answer = await chat.say("lead", "/approve award:1")
        assert "权限" in answer.text
        answer = await chat.say("clerk", "/pending")
        assert "【积分】" in answer.text
        assert f"club:tea:{carol.member_id}" not in answer.text


async def test_members_have_an_empty_inbox_and_may_decide_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with open_test_community(database_url, config=INBOX_COMMUNITY) as (_, handle):
        await _fill_inbox(handle, tmp_path)
        chat = ChatTester(handle)
        answer = await chat.say("dave", "/pending")
        assert "暂无待审批事项" in answer.text
        for command in ("/approve award:1", "/reject photo:1 不好", "/approve reflection:1"):
            answer = await chat.say("dave", command)
            assert "权限" in answer.text, command
        answer = await chat.say("clerk", "/pending")
        assert "待你审批（4 项）" in answer.text


async def test_bad_refs_show_the_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=INBOX_COMMUNITY) as (_, handle):
        chat = ChatTester(handle)
        for command in ("/approve", "/approve award", "/approve club:12", "/approve ticket:3"):
            answer = await chat.say("clerk", command)
            assert "用法：" in answer.text, command
        answer = await chat.say("clerk", "/approve 7")  # no list shown: not a ref
        assert "用法：" in answer.text
        answer = await chat.say("clerk", "/approve award:99")
        assert "用法：" not in answer.text
        assert "找不到" in answer.text


async def test_a_redelivered_decision_is_made_once(database_url: str, tmp_path: Path) -> None:
    async with open_test_community(database_url, config=INBOX_COMMUNITY) as (_, handle):
        await _fill_inbox(handle, tmp_path)
        chat = ChatTester(handle)
        first = await chat.say("clerk", "/approve award:1", delivery_id="same")
        again = await chat.say("clerk", "/approve award:1", delivery_id="same")
        assert first.text == again.text
        assert "已通过" in first.text
        answer = await chat.say("carol", "/points")
        assert "可用积分：5" in answer.text
