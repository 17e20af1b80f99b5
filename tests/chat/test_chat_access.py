"""Chat: /signin gives a one-time code for the web portal, privately."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from huarong_core import Actor
from huarong_core.app import CommunityHandle
from huarong_core.commands import FindMemberByIdentity, RedeemSignInCode
from huarong_core.errors import SignInCodeExpired, WrongSignInCode
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, FrozenClock, open_test_community

WEB = Actor.system("web")
EXTRA = """
[[members]]
key = "boss"
name = "Boss"
identities = [{ platform = "console", id = "boss" }]
"""
CODE = re.compile(r"(?:登录码：|sign-in code: )([2-9A-Z]{8})")

Chat = tuple[CommunityHandle, ChatTester, FrozenClock]


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    clock = FrozenClock()
    async with open_test_community(database_url, config=SAMPLE_COMMUNITY + EXTRA, clock=clock) as (
        _,
        handle,
    ):
        yield handle, ChatTester(handle, "console"), clock


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(1)


async def test_signin_in_chinese_gives_a_code_that_signs_in_once(chat: Chat) -> None:
    handle, console, _ = chat
    answer = await console.say("boss", "/登录网页")
    assert "您的网页登录码：" in answer.text
    assert "10 分钟内有效" in answer.text
    assert "登录页面输入" in answer.text
    code = code_in(answer.text)
    member = await handle.execute(RedeemSignInCode(code), actor=WEB)
    boss = await handle.execute(FindMemberByIdentity("console", "boss"), actor=WEB)
    assert member.id == boss.member.id
    with pytest.raises(WrongSignInCode):
        await handle.execute(RedeemSignInCode(code), actor=WEB)


async def test_signin_in_english_and_a_new_code_retires_the_last(chat: Chat) -> None:
    handle, console, clock = chat
    await console.say("boss", "/lang en")
    first = await console.say("boss", "/signin")
    assert "Your web sign-in code: " in first.text
    assert "It works once, for 10 minutes" in first.text
    assert "sign-in page of the web portal" in first.text
    assert "Do not share it" in first.text
    second = await console.say("boss", "signin")  # the slash is optional in a private chat
    with pytest.raises(SignInCodeExpired):
        await handle.execute(RedeemSignInCode(code_in(first.text)), actor=WEB)
    clock.advance(minutes=10)
    with pytest.raises(SignInCodeExpired):
        await handle.execute(RedeemSignInCode(code_in(second.text)), actor=WEB)


async def test_signin_asked_in_a_group_is_answered_privately(chat: Chat) -> None:
    _, console, _ = chat
    await console.say("boss", "/lang en")
    answer = await console.say("boss", "/signin", group="lobby")
    [private] = [m for m in answer.private if CODE.search(m.text)]
    assert code_in(private.text)
    public = [m.text for m in answer.messages if not m.private]
    assert not any(CODE.search(text) for text in public)


async def test_too_many_codes_are_refused_in_the_member_s_words(chat: Chat) -> None:
    _, console, _ = chat
    for _ in range(5):
        code_in((await console.say("boss", "/signin")).text)
    refused = await console.say("boss", "/signin")
    assert "过去一小时内获取的登录码过多" in refused.text
    assert CODE.search(refused.text) is None


async def test_signin_is_in_the_help(chat: Chat) -> None:
    _, console, _ = chat
    await console.say("boss", "/lang en")
    answer = await console.say("boss", "/help")
    assert "/signin" in answer.text
