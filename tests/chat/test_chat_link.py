"""Chat: /link (a code, then redeemed from another platform), /unlink, /linkaccount."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from huarong_core import Actor
from huarong_core.app import CommunityHandle
from huarong_core.commands import AwardPoints, FindMemberByIdentity, GetPointsStatement
from huarong_core.errors import NotFound
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, open_test_community

SYSTEM = Actor.system("test")
EXTRA = """
[[members]]
key = "boss"
name = "Boss"
categories = ["employee"]
identities = [{ platform = "console", id = "boss" }]

[[members]]
key = "keeper"
name = "Keeper"
identities = [{ platform = "console", id = "keeper" }]

[[roles]]
member = "keeper"
role = "admin"
"""
CODE = re.compile(r"(?:绑定码：|link code: )([2-9A-Z]{8})")

Chats = tuple[CommunityHandle, ChatTester, ChatTester, FrozenClock]


@pytest.fixture
async def chats(database_url: str) -> AsyncIterator[Chats]:
    clock = FrozenClock()
    async with open_test_community(database_url, config=SAMPLE_COMMUNITY + EXTRA, clock=clock) as (
        _,
        handle,
    ):
        yield handle, ChatTester(handle, "console"), ChatTester(handle, "telegram"), clock


async def member_of(handle: CommunityHandle, platform: str, account: str) -> int:
    found = await handle.execute(FindMemberByIdentity(platform, account), actor=SYSTEM)
    return found.member.id


async def new_code(console: ChatTester, sender: str = "boss") -> str:
    answer = await console.say(sender, "/link")
    found = CODE.search(answer.text)
    assert found is not None, answer.text
    return found.group(1)


async def test_link_from_console_to_telegram_in_chinese(chats: Chats) -> None:
    handle, console, telegram, _ = chats
    boss = await member_of(handle, "console", "boss")
    await handle.execute(AwardPoints(boss, 7, "welcome"), actor=SYSTEM)
    answer = await console.say("boss", "/绑定账号")
    assert "10 分钟内有效" in answer.text
    assert "/link " in answer.text
    code = CODE.search(answer.text)
    assert code is not None

    await telegram.say("tg42", "/help")  # a new telegram user: a member of their own
    newcomer = await member_of(handle, "telegram", "tg42")
    await handle.execute(AwardPoints(newcomer, 5, "earlier"), actor=SYSTEM)
    done = await telegram.say("tg42", f"绑定账号 {code.group(1).lower()}")
    assert "绑定成功" in done.text
    assert "Boss" in done.text
    assert "积分余额：12" in done.text
    assert "已转入 5 积分" in done.text
    assert "console：boss" in done.text
    assert "telegram：tg42" in done.text
    assert await member_of(handle, "telegram", "tg42") == boss
    me = await telegram.say("tg42", "/me")
    assert "Boss" in me.text
    statement = await handle.execute(GetPointsStatement(boss), actor=SYSTEM)
    assert statement.balance == 12


async def test_link_in_english_and_by_deep_link(chats: Chats) -> None:
    _, console, telegram, _ = chats
    await console.say("boss", "/lang en")
    answer = await console.say("boss", "/link")
    assert "It works once, for 10 minutes" in answer.text
    code = CODE.search(answer.text)
    assert code is not None
    done = await telegram.say("tg7", f"/start link-{code.group(1)}")
    assert "Linked: these accounts are now one member, Boss" in done.text  # the survivor's language
    assert "Points balance: 0" in done.text
    again = await telegram.say("tg7", "/link")
    same = CODE.search(again.text)
    assert same is not None  # the telegram account now asks for Boss's codes
    told = await console.say("boss", f"/link {same.group(1)}")
    assert "already belongs to Boss" in told.text


async def test_wrong_and_expired_codes_change_nothing(chats: Chats) -> None:
    handle, console, telegram, clock = chats
    code = await new_code(console)
    wrong = await telegram.say("tg42", "/link 22222222")
    assert "绑定码不正确" in wrong.text
    await telegram.say("tg42", "/lang en")
    wrong = await telegram.say("tg42", "/link 33333333")
    assert "That link code is not right" in wrong.text
    clock.advance(minutes=11)
    expired = await telegram.say("tg42", f"/link {code}")
    assert "That link code has expired" in expired.text
    boss = await member_of(handle, "console", "boss")
    assert await member_of(handle, "telegram", "tg42") != boss
    fresh = await new_code(console)
    for _ in range(3):
        await telegram.say("tg42", "/link 44444444")
    limited = await telegram.say("tg42", f"/link {fresh}")
    assert "too many wrong codes" in limited.text
    assert await member_of(handle, "telegram", "tg42") != boss


async def test_redelivered_redeem_replays_the_same_answer(chats: Chats) -> None:
    _, console, telegram, _ = chats
    code = await new_code(console)
    first = await telegram.say("tg42", f"/link {code}", delivery_id="same")
    second = await telegram.say("tg42", f"/link {code}", delivery_id="same")
    assert first.text == second.text
    assert "绑定成功" in first.text


async def test_link_asked_in_a_group_answers_privately(chats: Chats) -> None:
    _, console, _, _ = chats
    answer = await console.say("boss", "/link", group="lobby")
    assert answer.private
    assert CODE.search(answer.text) is not None


async def test_unlink_keeps_a_last_account(chats: Chats) -> None:
    handle, console, telegram, _ = chats
    refused = await console.say("boss", "/unlink console boss")
    assert "这是该会员唯一的账号" in refused.text
    usage = await console.say("boss", "/unlink")
    assert "用法：" in usage.text
    code = await new_code(console)
    await telegram.say("tg42", f"/link {code}")
    done = await telegram.say("tg42", "/解绑账号 telegram tg42")
    assert "已解绑 telegram：tg42" in done.text
    assert "新会员" in done.text
    with pytest.raises(NotFound):
        await member_of(handle, "telegram", "tg42")
    assert await member_of(handle, "console", "boss") > 0


async def test_linkaccount_is_for_staff(chats: Chats) -> None:
    handle, console, _, _ = chats
    refused = await console.say("boss", "/linkaccount alice telegram 555")
    assert "权限" in refused.text
    with pytest.raises(NotFound):
        await member_of(handle, "telegram", "555")
    done = await console.say("keeper", "/关联账号 alice telegram 555")
    assert "telegram：555 已关联到 Alice" in done.text
    usage = await console.say("keeper", "/linkaccount alice")
    assert "用法：" in usage.text
    await console.say("keeper", "/lang en")
    taken = await console.say("keeper", "/linkaccount staff telegram 555")
    assert "telegram" in taken.text
    assert "555" in taken.text
