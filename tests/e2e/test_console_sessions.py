"""Scripted console sessions on the example building: every command family, both languages.

A session is what `printf '...' | huarong chat --as NAME` does, run in
process on the seeded demo so each family can be checked line by line:
each entry is a line typed and a fragment its answer must contain.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from huarong_console.repl import scripted
from huarong_console.session import ConsoleChat
from huarong_core.app import CommunityHandle, Huarong
from huarong_core.demo import seed_demo

Script = list[tuple[str, str]]

MEMBER_EN: Script = [
    ("/lang en", "Language set to English."),
    ("/help", "Here is what you can do"),
    ("/me", "孙丽"),
    ("/clubs", "Badminton"),
    ("/join chess", ""),
    ("/myclubs", ""),
    ("/whatson", "What's on"),
    ("/salons", ""),
    ("/events", ""),
    ("/rsvp 1", "You're going"),
    ("/myrsvps", ""),
    ("/points", "points to spend"),
    ("/history", ""),
    ("/rank", ""),
    ("/top", "1."),
    ("/honours", ""),
    ("/shop", "coffee"),
    ("/redeem coffee", "Redeemed"),
    ("/orders", "#"),
    ("/stations", "station"),
    ("/services", ""),
    ("/request labour_consulting question=hours phone=13903910001", "submitted"),
    ("/requests", "#"),
    ("/books", "红岩"),
    ("/borrow RR-0002", "You borrowed"),
    ("/loans", "RR-0002"),
    ("/return RR-0002", ""),
    ("/shifts", "Lei Feng"),
    ("/signup 1", "signed up"),
    ("/myshifts", ""),
    ("/smile", ""),
    ("/news", ""),
    ("/link", "/link "),
    # Bad input: unknown, malformed, missing, too long, control characters.
    ("/poinst", "Did you mean /points?"),
    ("/rsvp", "Usage: /rsvp"),
    ("/redeem", "Usage: /redeem"),
    ("/rate x y", "Usage:"),
    ("/feedback 1 nine", "Usage:"),
    ("/link WRONGCODE", "⚠️"),
    ("/award 孙丽 5 nope", "⚠️"),
    ("/name " + "x" * 70, "too long"),
    ("/me \x1b[2J", "control characters"),
    ("①", ""),  # a digit to str.isdigit that int() refuses: no crash
]

MEMBER_ZH: Script = [
    ("/帮助", "您可以使用这些命令"),
    ("社团", "羽毛球"),
    ("近期活动", "活动"),
    ("积分", "可用积分"),
    ("积分明细", "积分明细"),
    ("排行榜", "1."),
    ("商城", "咖啡"),
    ("服务", "服务目录"),
    ("图书", "红岩"),
    ("志愿岗位", "学雷锋"),
    ("公告", ""),
    ("/报名", "用法：/报名"),
    ("/积份", "您是想用"),
    ("/语言 klingon", "不在可选范围内"),
]

STAFF_ZH: Script = [
    ("/待审批", ""),
    ("/待办", "待办申请"),
    ("/受理 1", ""),
    ("/加分 孙丽 5 帮忙布置会场", "已给孙丽加 5 分"),
    ("/扣分 孙丽 1 测试", ""),
    ("/兑换单", ""),
    ("/核对账本", ""),
    ("/审计日志", ""),
    ("/查找会员 孙", "孙丽"),
]


@pytest.fixture
async def building(tmp_path: Path, repo_root: Path) -> AsyncIterator[CommunityHandle]:
    async with Huarong(f"sqlite:///{tmp_path / 'tour.db'}", media_dir=tmp_path) as huarong:
        yield await seed_demo(huarong, repo_root / "examples" / "huarong")


async def run(handle: CommunityHandle, who: str, script: Script) -> list[str]:
    chat = ConsoleChat(handle, who)
    replies = []
    for line, wanted in script:
        out = io.StringIO()
        await scripted(chat, io.StringIO(line + "\n"), out)
        reply = out.getvalue()
        assert reply.strip(), f"no answer to {line!r}"
        assert "系统出了点问题" not in reply, (line, reply)
        assert "Something went wrong" not in reply, (line, reply)
        assert wanted in reply, (line, reply)
        replies.append(reply)
    return replies


@pytest.mark.slow
async def test_a_member_tours_every_family_in_english(building: CommunityHandle) -> None:
    await run(building, "sunli", MEMBER_EN)


@pytest.mark.slow
async def test_a_member_tours_in_chinese(building: CommunityHandle) -> None:
    await run(building, "sunli", MEMBER_ZH)


@pytest.mark.slow
async def test_staff_work_in_chinese(building: CommunityHandle) -> None:
    replies = await run(building, "secretary", STAFF_ZH)
    assert "已给孙丽加 5 分" in replies[3]


@pytest.mark.slow
async def test_a_new_member_speaks_in_a_group(building: CommunityHandle) -> None:
    chat = ConsoleChat(building, "newcomer", group="lobby")
    out = io.StringIO()
    await scripted(chat, io.StringIO("/points\n/help\nhello everyone\n"), out)
    text = out.getvalue()
    assert "（私信）" in text
    assert "本群可用的命令" in text


class SlowPipe:
    """A pipe whose next line comes only when the test lets it (as `sleep 10; echo
    /points | huarong chat` would): `readline` blocks its caller until then."""

    def __init__(self, *lines: str) -> None:
        self._lines = list(lines)
        self.asked = threading.Event()
        self.release = threading.Event()
        self.gave_up = False

    def readline(self) -> str:
        self.asked.set()
        if not self.release.wait(timeout=5):
            self.gave_up = True  # nobody released it: the test's loop was held
            return ""
        return self._lines.pop(0) if self._lines else ""


@pytest.mark.slow
async def test_waiting_for_a_slow_pipe_leaves_the_loop_free(building: CommunityHandle) -> None:
    """The portal and the bots run on the same loop beside a piped chat: waiting for
    the next line must not hold them."""
    pipe = SlowPipe("/lang en\n")
    out = io.StringIO()
    script = asyncio.create_task(scripted(ConsoleChat(building, "sunli"), pipe, out))
    assert await asyncio.to_thread(pipe.asked.wait, 5)  # the script waits for its line,
    await asyncio.sleep(0.01)  # and meanwhile the loop turns
    assert not pipe.gave_up
    assert not script.done()
    pipe.release.set()
    assert await asyncio.wait_for(script, timeout=10) == 0
    assert out.getvalue() == "Language set to English.\n\n"
