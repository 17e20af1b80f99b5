"""The chat menu button opens the web portal as a Mini App when its public URL is set.

The fake Bot API checks every request against the Bot API schema (the
`MenuButtonWebApp` variant of `MenuButton`, its required fields) and against
what Telegram refuses beyond it (an empty label, a page that is not HTTPS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from huarong_core.app import CommunityHandle
from huarong_core.testing import open_test_community
from huarong_telegram.api import BotApi, TelegramError
from huarong_telegram.menu import portal_button
from huarong_telegram.service import create
from tests.telegram.fake_bot_api import FakeBotApi

PORTAL = "https://portal.example.org/"


@pytest.fixture
async def handle() -> AsyncIterator[CommunityHandle]:
    async with open_test_community() as (_, opened):
        yield opened


async def test_the_bot_sets_the_portal_as_the_menu_button_at_start(
    handle: CommunityHandle, fake_bot_api: FakeBotApi
) -> None:
    environ = {
        "HUARONG_TELEGRAM_TOKEN": fake_bot_api.token,
        "HUARONG_TELEGRAM_API_URL": fake_bot_api.base_url,
        "HUARONG_WEB_PUBLIC_URL": f"  {PORTAL} ",
    }
    service = await create(handle, environ)
    assert service is not None
    assert service.portal_url == PORTAL
    service.poll_timeout = 1
    await service.start()
    try:
        calls = fake_bot_api.calls("setChatMenuButton")
        expected = {"type": "web_app", "text": "社区门户", "web_app": {"url": PORTAL}}
        assert calls == [{"menu_button": expected}]  # no chat_id: every private chat
        assert fake_bot_api.menu_button() == expected
        member = fake_bot_api.user("Lin", language_code="en")
        assert fake_bot_api.menu_button(member.id) == expected
    finally:
        await service.stop()
    fake_bot_api.assert_clean()


async def test_without_a_public_https_url_the_menu_button_is_left_alone(
    handle: CommunityHandle, fake_bot_api: FakeBotApi
) -> None:
    base = {
        "HUARONG_TELEGRAM_TOKEN": fake_bot_api.token,
        "HUARONG_TELEGRAM_API_URL": fake_bot_api.base_url,
    }
    for extra in ({"HUARONG_WEB_PUBLIC_URL": ""}, {"HUARONG_WEB_PUBLIC_URL": "http://x.org"}):
        ignored = await create(handle, base | extra)
        assert ignored is not None
        assert ignored.portal_url is None
    service = await create(handle, base)
    assert service is not None
    assert service.portal_url is None
    service.poll_timeout = 1
    await service.start()
    await service.stop()
    assert fake_bot_api.calls("setChatMenuButton") == []
    assert fake_bot_api.menu_button() == {"type": "commands"}
    fake_bot_api.assert_clean()


def test_the_label_follows_the_community_s_language() -> None:
    assert portal_button(PORTAL, "en")["text"] == "Portal"
    assert portal_button(PORTAL, "zh_CN")["text"] == "社区门户"
    assert portal_button(PORTAL, "fr")["text"] == "Portal"


async def test_the_fake_refuses_a_menu_button_telegram_would_refuse(
    fake_bot_api: FakeBotApi,
) -> None:
    async with BotApi(fake_bot_api.token, base_url=fake_bot_api.base_url) as api:
        with pytest.raises(TelegramError):
            await api.set_chat_menu_button(portal_button("http://portal.example.org/", "en"))
        assert fake_bot_api.menu_button() == {"type": "commands"}
        assert await api.set_chat_menu_button({"type": "default"})
    assert any("not an https:// URL" in v for v in fake_bot_api.violations)
