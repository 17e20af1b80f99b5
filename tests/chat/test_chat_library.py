"""Chat routes of the Red Reading library: books, loans, holds, donations, reflections, contests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from huarong_core import Actor, Huarong, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    ApproveReflection,
    FindMember,
    FindMemberByIdentity,
    ListDonations,
    ListLoans,
    ListReflections,
    ReturnReflection,
)
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, snapshot

SYSTEM = Actor.system("test")

LIBRARY = """
[library]
station = "service"
max_loans = 2

[[library.books]]
title = "红岩"
author = "罗广斌、杨益言"
isbn = "7-02-000233-1"
tags = ["红色经典"]
copies = [{ code = "HY-001" }, { code = "HY-002", location = "drift" }]

[[library.books]]
title = "党史故事一百讲"
author = "编写组"
copies = [{ code = "DS-001" }]

[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

[[roles]]
member = "boss"
role = "station_staff"
scope = "station:service"
"""

TEXT = "这本书讲述了革命先辈在狱中坚贞不屈的故事，读来令人动容，值得反复阅读。" * 2


@asynccontextmanager
async def library(
    database_url: str, tmp_path: Path, clock: FrozenClock | None = None
) -> AsyncIterator[tuple[Huarong, CommunityHandle]]:
    parsed = parse_config(SAMPLE_COMMUNITY + LIBRARY, source="<test>")
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


async def actor(handle: CommunityHandle, key: str) -> Actor:
    member = (await handle.execute(FindMember(key), actor=SYSTEM)).member
    return Actor.member(member.id, member.display_name)


async def test_books_and_details_in_both_languages(database_url: str, tmp_path: Path) -> None:
    async with library(database_url, tmp_path) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", "/books")
        assert "红色悦读书目" in answer.text
        assert "《红岩》罗广斌、杨益言，在架 2/2" in answer.text
        assert answer.payloads == ("/book #1", "/book #2")

        # "1" is the first line just shown.
        answer = await chat.say("xiaoming", "/图书详情 1")
        assert "《红岩》" in answer.text
        assert "HY-001（红色书架）：在架可借" in answer.text
        assert "HY-002（图书漂流站）" in answer.text
        assert "/borrow HY-001" in answer.payloads

        answer = await chat.say("xiaoming", "图书 党史")
        assert "党史故事一百讲" in answer.text
        assert "红岩" not in answer.text

        answer = await chat.say("xiaoming", "/book 9787020002337")
        assert "ISBN：9787020002337" in answer.text

        await chat.say("xiaoming", "/lang en")
        answer = await chat.say("xiaoming", "/books")
        assert "The Red Reading library (titles: 2)" in answer.text
        answer = await chat.say("xiaoming", "/book")
        assert "Usage: /book <book>" in answer.text
        answer = await chat.say("xiaoming", "/book 没有这本书")
        assert "Usage:" in answer.text


async def test_borrow_renew_return_and_redelivery(database_url: str, tmp_path: Path) -> None:
    async with library(database_url, tmp_path) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", "/borrow hy-001")
        assert "已借阅《红岩》（HY-001）" in answer.text

        answer = await chat.say("xiaoming", "/loans")
        assert "《红岩》（HY-001）" in answer.text
        assert "/renew HY-001" in answer.payloads
        answer = await chat.say("xiaoming", "/loans", group="reading-group")
        assert answer.private
        assert "HY-001" in answer.private[0].text

        answer = await chat.say("xiaoming", "/续借 1")
        assert "已续借" in answer.text
        answer = await chat.say("xiaoming", "/renew HY-001")
        assert "⚠️" in answer.text

        answer = await chat.say("xiaohong", "/return HY-001")
        assert "⚠️" in answer.text  # not hers
        answer = await chat.say("xiaoming", "还书 HY-001")
        assert "已归还" in answer.text
        assert "红色书架" in answer.text

        first = await chat.say("xiaoming", "/borrow DS-001", delivery_id="same")
        again = await chat.say("xiaoming", "/borrow DS-001", delivery_id="same")
        assert first.text == again.text
        assert "已借阅《党史故事一百讲》" in first.text
        me = Actor.member(await _member_id(handle, "xiaoming"), "xiaoming")
        loans = await handle.execute(ListLoans(), actor=me)
        assert [loan.copy_code for loan in loans] == ["DS-001"]

        answer = await chat.say("xiaoming", "/borrow")
        assert "用法：/借书 <图书编号>" in answer.text


async def _member_id(handle: CommunityHandle, name: str) -> int:
    return (await handle.execute(FindMemberByIdentity("console", name), actor=SYSTEM)).member.id


async def test_holds_and_staff_lending(database_url: str, tmp_path: Path) -> None:
    clock = FrozenClock()
    async with library(database_url, tmp_path, clock) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("xiaohong", "/me")  # registered, so staff can name her
        answer = await chat.say("xiaoming", "/lend DS-001 xiaohong")
        assert "⚠️" in answer.text
        answer = await chat.say("boss", "/lend DS-001 xiaohong")
        assert "已为xiaohong借出《党史故事一百讲》（DS-001）" in answer.text

        answer = await chat.say("xiaoming", "/hold 党史故事一百讲")
        assert "您排第 1 位" in answer.text
        answer = await chat.say("xiaoming", "/holds")
        assert "《党史故事一百讲》：排第 1 位" in answer.text
        assert any(p.startswith("/cancelhold #") for p in answer.payloads)
        answer = await chat.say("xiaoming", "/取消预约 1")
        assert "已取消《党史故事一百讲》的预约" in answer.text

        answer = await chat.say("boss", "/overdue")
        assert "没有逾期" in answer.text
        clock.advance(days=40)
        answer = await chat.say("boss", "/overdue")
        assert "《党史故事一百讲》（DS-001）：xiaohong" in answer.text
        before = await state(huarong)
        answer = await chat.say("xiaoming", "/overdue")
        assert "⚠️" in answer.text
        assert await state(huarong) == before


async def test_catalogue_is_staff_only(database_url: str, tmp_path: Path) -> None:
    async with library(database_url, tmp_path) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("xiaoming", "/me")
        before = await state(huarong)
        for line in (
            "/addbook 青春之歌 杨沫",
            "/addcopy 红岩 HY-003",
            "/withdrawcopy HY-002 破损",
            "/movecopy HY-001 drift",
        ):
            answer = await chat.say("xiaoming", line)
            assert "⚠️" in answer.text, line
        assert await state(huarong) == before
        help_text = (await chat.say("xiaoming", "/help")).text
        assert "/添加图书" not in help_text
        assert "/借书" in help_text

        answer = await chat.say("boss", "/addbook 青春之歌 杨沫 红色经典 小说")
        assert "已新增图书" in answer.text
        assert "《青春之歌》（杨沫）" in answer.text
        answer = await chat.say("boss", "/addcopy 青春之歌 QC-001 漂流站")
        assert "副本 QC-001 已上架（图书漂流站）" in answer.text
        answer = await chat.say("boss", "/movecopy QC-001 书架")
        assert "已移至红色书架" in answer.text
        answer = await chat.say("boss", "/editbook 青春之歌 作者 杨沫（著）")
        assert "《青春之歌》杨沫（著）" in answer.text
        answer = await chat.say("boss", "/下架 HY-002 破损")
        assert "副本 HY-002 已下架" in answer.text
        answer = await chat.say("boss", "/addcopy 青春之歌 QC-002 moon")
        assert "用法：" in answer.text

        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/book 青春之歌")
        assert "QC-001 (red bookshelf): on the shelf" in answer.text


async def test_donations(database_url: str, tmp_path: Path) -> None:
    async with library(database_url, tmp_path) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", "/donate")
        assert "党群服务站" in answer.text
        answer = await chat.say("xiaoming", "/donation xiaoming RR-9 青春之歌 杨沫")
        assert "⚠️" in answer.text

        line = "/donation xiaoming RR-1,RR-2 青春之歌 杨沫"
        first = await chat.say("boss", line, delivery_id="same")
        again = await chat.say("boss", line, delivery_id="same")
        assert first.text == again.text
        assert "已登记xiaoming捐赠的《青春之歌》2 本：RR-1, RR-2" in first.text
        assert "已新建图书" in first.text
        answer = await chat.say("boss", "/donation xiaoming RR-3 红岩")
        assert "《红岩》1 本" in answer.text
        assert "新建" not in answer.text
        answer = await chat.say("boss", "/donation xiaoming RR-4 a b c d")
        assert "用法：" in answer.text

        answer = await chat.say("xiaoming", "/donations")
        assert "捐书记录（2 条）" in answer.text
        assert "《青春之歌》× 2" in answer.text
        answer = await chat.say("boss", "/donations all")
        assert "捐书记录（2 条）" in answer.text
        answer = await chat.say("xiaohong", "/donations all")
        assert "⚠️" in answer.text
        boss = await actor(handle, "boss")
        recorded = await handle.execute(ListDonations(), actor=boss)
        assert len(recorded) == 2


async def test_reflections_and_the_contest(database_url: str, tmp_path: Path) -> None:
    clock = FrozenClock()
    async with library(database_url, tmp_path, clock) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", f"/reflect 红岩 {TEXT}")
        assert "读后感" in answer.text
        assert "等待工作人员审核" in answer.text
        answer = await chat.say("xiaoming", "/reflect 红岩 太短")
        assert "⚠️" in answer.text
        answer = await chat.say("xiaohong", f"/读后感 红岩 {TEXT}")
        boss = await actor(handle, "boss")
        ming, hong = await _member_id(handle, "xiaoming"), await _member_id(handle, "xiaohong")
        found = await handle.execute(ListReflections(), actor=boss)
        by_author = {r.member_id: r for r in found}
        await handle.execute(ApproveReflection(by_author[ming].id), actor=boss)
        await handle.execute(ReturnReflection(by_author[hong].id, "请多写一些体会"), actor=boss)

        answer = await chat.say("xiaohong", "/reflections")
        assert "已通过" in answer.text
        assert "已退回修改" in answer.text
        answer = await chat.say("xiaohong", f"/reflection #{by_author[hong].id}")
        assert "工作人员意见：请多写一些体会" in answer.text
        answer = await chat.say("xiaohong", f"/revise #{by_author[hong].id} {TEXT}再补充一点。")
        assert "第 2 版" in answer.text

        answer = await chat.say(
            "xiaoming", "/newcontest 最佳读后感 2026-07-01 10:00 2026-07-10 18:00"
        )
        assert "⚠️" in answer.text
        answer = await chat.say("boss", "/newcontest 最佳读后感 2026-07-01 10:00 2026-07-10 18:00")
        assert "已新建评选" in answer.text
        answer = await chat.say("boss", f"/nominate 最佳读后感 #{by_author[ming].id}")
        assert "现有 1 篇候选" in answer.text

        answer = await chat.say("xiaohong", "/contests")
        assert "最佳读后感（投票中）" in answer.text
        answer = await chat.say("xiaohong", "/contests 1")
        assert "入围读后感" in answer.text
        assert f"/vote #1 #{by_author[ming].id}" in answer.payloads
        first = await chat.say("xiaohong", "/vote 1 1", delivery_id="same")
        again = await chat.say("xiaohong", "/vote 1 1", delivery_id="same")
        assert first.text == again.text
        assert "已记录" in first.text
        answer = await chat.say("xiaohong", "/vote 1 1")
        assert "⚠️" in answer.text  # one vote each
        answer = await chat.say("xiaoming", f"/vote 最佳读后感 #{by_author[ming].id}")
        assert "⚠️" in answer.text  # not for one's own
        answer = await chat.say("xiaohong", "/contests 最佳")
        assert "✅ 您已投票" in answer.text

        clock.advance(days=10)
        answer = await chat.say("xiaohong", "/contests 1")
        assert "评选结果（共 1 票）" in answer.text
        assert "第 1 名" in answer.text
        assert "1 票" in answer.text
        await chat.say("xiaohong", "/lang en")
        answer = await chat.say("xiaohong", "/contests")
        assert "(closed)" in answer.text
        answer = await chat.say("xiaohong", "/vote")
        assert "Usage: /vote <contest> <reflection>" in answer.text
