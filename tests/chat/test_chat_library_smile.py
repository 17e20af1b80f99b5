"""Chat routes of the smile wall: the wall, sending a photo, one's photos, moderation lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from huarong_core import Actor, Huarong, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import ApprovePhoto, FindMember, FindMemberByIdentity, ListPhotos
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, snapshot

SYSTEM = Actor.system("test")
PNG = b"\x89PNG\r\n\x1a\n"

WALL = """
[smile_wall]
photos_per_period = 3
period = "day"
max_bytes = 4096

[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]

[[roles]]
member = "boss"
role = "station_staff"
scope = "station:service"
"""


def image(n: int, size: int = 64) -> bytes:
    """A distinct small "PNG" (only its magic bytes matter to the checks)."""
    body = f"photo {n}".encode()
    return PNG + body + bytes(max(0, size - len(PNG) - len(body)))


@asynccontextmanager
async def wall(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Huarong, CommunityHandle]]:
    parsed = parse_config(SAMPLE_COMMUNITY + WALL, source="<test>")
    async with Huarong(database_url, clock=FrozenClock(), media_dir=tmp_path / "media") as huarong:
        await huarong.apply_configuration(parsed, actor=SYSTEM, source="<test>")
        yield huarong, await huarong.community(parsed.community.key)


async def state(huarong: Huarong) -> dict[str, Any]:
    """Every row but the deliveries (a refused command's answer is kept for its redelivery)."""
    rows = await snapshot(huarong.db)
    rows.pop("deliveries", None)
    return rows


async def actor(handle: CommunityHandle, sender: str) -> Actor:
    found = await handle.execute(FindMemberByIdentity("console", sender), actor=SYSTEM)
    return Actor.member(found.member.id, found.member.display_name)


def files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_send_a_photo_and_see_the_wall(database_url: str, tmp_path: Path) -> None:
    async with wall(database_url, tmp_path) as (huarong, handle):
        chat = ChatTester(handle)
        answer = await chat.say("xiaoming", "/smile")
        assert "本日微笑墙" in answer.text
        assert "快来投第一张" in answer.text
        assert "说明不超过 200 字；支持 JPEG/PNG/WEBP/GIF，不超过 4 KB" in answer.text

        first = await chat.say("xiaoming", "/微笑墙 今天真开心", photo=image(1), delivery_id="same")
        again = await chat.say("xiaoming", "/微笑墙 今天真开心", photo=image(1), delivery_id="same")
        assert first.text == again.text
        assert "照片 #1“今天真开心”已收到" in first.text
        me = await actor(handle, "xiaoming")
        mine = await handle.execute(ListPhotos(status=None, member_id=me.member_id), actor=me)
        assert [p.caption for p in mine] == ["今天真开心"]
        assert len(files(tmp_path)) == 1

        before = await state(huarong)
        answer = await chat.say("xiaoming", "/smile", photo=image(2))
        assert "用法：/微笑墙 [照片说明]" in answer.text
        answer = await chat.say("xiaoming", "/smile 不是照片", photo=b"GIF? no, plain text")
        assert "⚠️" in answer.text
        answer = await chat.say("xiaoming", "/smile 太大了", photo=image(3, size=5000))
        assert "⚠️" in answer.text
        assert await state(huarong) == before
        assert len(files(tmp_path)) == 1
        answer = await chat.say("xiaoming", "/smile 忘了附照片")
        assert "没有收到照片" in answer.text

        answer = await chat.say("xiaoming", "/myphotos")
        assert "#1“今天真开心”，待审核" in answer.text
        boss = await actor(handle, "boss")
        await handle.execute(ApprovePhoto(1), actor=boss)
        answer = await chat.say("xiaohong", "/smile")
        assert "1. #1 今天真开心" in answer.text
        answer = await chat.say("xiaohong", "/photo 1")  # the wall's first line
        assert "已通过" in answer.text

        await chat.say("xiaoming", "/lang en")
        answer = await chat.say("xiaoming", "/smile")
        assert "The smile wall this day" in answer.text
        assert "1. #1 今天真开心" in answer.text
        answer = await chat.say("xiaoming", "/removephoto #1")
        assert "Photo #1 “今天真开心” is taken down." in answer.text


async def test_moderation_lists_are_staff_only(database_url: str, tmp_path: Path) -> None:
    async with wall(database_url, tmp_path) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("xiaoming", "/smile 楼道的笑脸", photo=image(1))
        await chat.say("xiaohong", "/smile 咖啡时光", photo=image(2))

        answer = await chat.say("xiaoming", "/photos")
        assert "⚠️" in answer.text
        answer = await chat.say("xiaohong", "/photo 1")
        assert "⚠️" in answer.text  # someone else's photo, not approved
        before = await state(huarong)
        answer = await chat.say("xiaohong", "/removephoto 1 不好看")
        assert "⚠️" in answer.text
        assert await state(huarong) == before
        assert "/照片（photos）" not in (await chat.say("xiaoming", "/help")).text

        answer = await chat.say("boss", "/photos")
        assert "微笑墙照片（待审核）" in answer.text
        assert "楼道的笑脸" in answer.text
        assert "咖啡时光" in answer.text
        assert "/photo #1" in answer.payloads
        answer = await chat.say("boss", "/照片详情 2")
        assert "咖啡时光" in answer.text
        answer = await chat.say("boss", "/removephoto 1")
        assert "⚠️" in answer.text  # a moderator gives a reason
        answer = await chat.say("boss", "/撤下照片 1 内容不合适")
        assert "已撤下" in answer.text
        answer = await chat.say("boss", "/photos 已撤下")
        assert "楼道的笑脸" in answer.text
        assert "咖啡时光" not in answer.text
        answer = await chat.say("xiaoming", "/photo 1")
        assert "原因：内容不合适" in answer.text
        answer = await chat.say("boss", "/photos maybe")
        assert "用法：/照片 [待审核/已通过/已拒绝/已撤下]" in answer.text

        await chat.say("boss", "/lang en")
        answer = await chat.say("boss", "/photos pending")
        assert "Smile-wall photos, awaiting review:" in answer.text
        assert (await handle.execute(FindMember("boss"), actor=SYSTEM)).member.key == "boss"
