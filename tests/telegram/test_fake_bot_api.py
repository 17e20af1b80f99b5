"""The fake Bot API server itself: each rule refuses a bad request and passes a good one.

The adapter's end-to-end tests are only as good as this fixture, so its
Telegram behaviours are pinned here with plain aiohttp calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.telegram.fake_bot_api import FakeBotApi, FakeUser, FloodLimits
from tests.telegram.fake_bot_api_schema import (
    BotApiSchema,
    EntityParseError,
    parse_html,
    utf16_len,
)

JSON = dict[str, Any]


class Api:
    """A bare Bot API client: what the adapter's client does, minus everything else."""

    def __init__(self, fake: FakeBotApi, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session
        self.root = f"{fake.base_url}/bot{fake.token}"

    async def call(self, method: str, **params: Any) -> tuple[int, JSON]:
        async with self.session.post(f"{self.root}/{method}", json=params) as response:
            return response.status, await response.json()

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.call(method, **params)
        assert (status, body["ok"]) == (200, True), body
        return body["result"]

    async def form(self, method: str, data: Any) -> tuple[int, JSON]:
        async with self.session.post(f"{self.root}/{method}", data=data) as response:
            return response.status, await response.json()

    async def raw(self, method: str, body: bytes, content_type: str) -> tuple[int, JSON]:
        headers = {"Content-Type": content_type}
        async with self.session.post(
            f"{self.root}/{method}", data=body, headers=headers
        ) as response:
            return response.status, await response.json()


class ManualClock:
    """The fake's clock, moved by hand so that time limits cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(fake_bot_api: FakeBotApi, session: aiohttp.ClientSession) -> Api:
    return Api(fake_bot_api, session)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed(clock: ManualClock) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(clock=clock) as fake:
        yield fake


@pytest.fixture
def timed_api(timed: FakeBotApi, session: aiohttp.ClientSession) -> Api:
    return Api(timed, session)


def started(fake: FakeBotApi, name: str = "张三") -> FakeUser:
    user = fake.user(name)
    fake.send_text(user, "/start")
    return user


KEYBOARD = {"inline_keyboard": [[{"text": "报名", "callback_data": "rsvp:1"}]]}


# -- schema: good requests pass ------------------------------------------------------


async def test_well_formed_requests_in_every_encoding_pass(
    timed_api: Api, clock: ManualClock
) -> None:
    api = timed_api
    fake = api.fake
    user = started(fake)
    group = fake.group("读书会", members=[user], admins=[user])
    group.add_bot(user)
    me = await api.ok("getMe")
    assert me["is_bot"] is True
    assert me["username"] == "huarong_test_bot"
    sent = await api.ok(
        "sendMessage",
        chat_id=user.id,
        text="<b>欢迎</b> &lt;3",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
        link_preview_options={"is_disabled": True},
        reply_parameters={"message_id": 1},
    )
    assert sent["text"] == "欢迎 <3"
    assert sent["reply_to_message"]["message_id"] == 1
    status, body = await api.form(
        "sendMessage",
        {
            "chat_id": str(group.id),
            "text": "表单",
            "disable_notification": "true",
            "reply_markup": json.dumps(KEYBOARD),
        },
    )
    assert (status, body["result"]["reply_markup"]) == (200, KEYBOARD)
    scopes = [
        {"type": "default"},
        {"type": "all_private_chats"},
        {"type": "all_group_chats"},
        {"type": "all_chat_administrators"},
        {"type": "chat", "chat_id": group.id},
        {"type": "chat_administrators", "chat_id": group.id},
        {"type": "chat_member", "chat_id": group.id, "user_id": user.id},
    ]
    for scope in scopes:
        commands = [{"command": "help", "description": "帮助"}]
        await api.ok("setMyCommands", commands=commands, scope=scope, language_code="zh")
    async with api.session.get(f"{api.root}/getUpdates?offset=0&limit=5&timeout=0") as resp:
        assert resp.status == 200
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field("caption", "<i>照片</i>")
    form.add_field("parse_mode", "HTML")
    form.add_field("photo", b"\xff\xd8jpeg", filename="p.jpg", content_type="image/jpeg")
    clock.advance(1)  # one message a second into a private chat
    status, body = await api.form("sendPhoto", form)
    assert status == 200, body
    assert body["result"]["caption"] == "照片"
    assert fake.last_message(user.id).kind == "photo"
    fake.assert_clean()
    assert fake.calls("sendMessage")[1]["chat_id"] == group.id  # decoded from the form


# -- schema: each rule refuses a bad request -----------------------------------------


BAD_REQUESTS: list[tuple[str, JSON, str]] = [
    ("sendMessage", {"chat_id": 1, "text": "x", "colour": "red"}, "unknown parameter 'colour'"),
    ("sendMessage", {"chat_id": 1}, "missing required parameter 'text'"),
    ("sendMessage", {"chat_id": 1.5, "text": "x"}, "chat_id: expected Integer"),
    ("sendMessage", {"chat_id": 1, "text": 5}, "text: expected String"),
    (
        "sendMessage",
        {"chat_id": 1, "text": "x", "disable_notification": "yes"},
        "disable_notification: expected Boolean",
    ),
    (
        "sendLocation",
        {"chat_id": 1, "latitude": "north", "longitude": 1},
        "latitude: expected Float",
    ),
    ("getUpdates", {"allowed_updates": "message"}, "allowed_updates: expected Array of String"),
    ("getUpdates", {"limit": "10"}, "limit: expected Integer"),
    (
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [{"text": "a"}]}},
        "inline_keyboard[0]: expected Array of InlineKeyboardButton",
    ),
    (
        "sendMessage",
        {
            "chat_id": 1,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b", "id": 1}]]},
        },
        "inline_keyboard[0][0].id: unknown field of InlineKeyboardButton",
    ),
    (
        "sendMessage",
        {
            "chat_id": 1,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"url": "https://t.me"}]]},
        },
        "missing required field 'text' of InlineKeyboardButton",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "a", "description": "b"}], "scope": {"type": "chat"}},
        "missing required field 'chat_id' of BotCommandScopeChat",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "a", "description": "b"}], "scope": {"type": "everyone"}},
        "'everyone' is not a variant of BotCommandScope",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "a"}]},
        "missing required field 'description' of BotCommand",
    ),
    (
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_parameters": {"message_id": "1"}},
        "reply_parameters.message_id: expected Integer",
    ),
]


@pytest.mark.parametrize(("method", "params", "detail"), BAD_REQUESTS)
async def test_schema_violations_are_answered_400_and_recorded(
    api: Api, method: str, params: JSON, detail: str
) -> None:
    status, body = await api.call(method, **params)
    assert status == 400
    assert body["ok"] is False
    assert body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    assert any(detail in v for v in api.fake.violations), api.fake.violations
    with pytest.raises(AssertionError, match="violation"):
        api.fake.assert_clean()


async def test_unknown_method_wrong_token_and_broken_bodies(
    api: Api, session: aiohttp.ClientSession
) -> None:
    fake = api.fake
    assert await api.call("sendMesage", chat_id=1, text="x") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    async with session.post(f"{fake.base_url}/bot999:wrong/getMe") as response:
        assert response.status == 401
    status, body = await api.raw("sendMessage", b'{"chat_id": 1, "text": ', "application/json")
    assert (status, body["description"]) == (400, "Bad Request: can't parse JSON")
    status, _ = await api.raw("sendMessage", b"<xml/>", "text/xml")
    assert status == 400
    assert fake.violations == [
        "unknown method 'sendMesage'",
        "request with a wrong token",
        "sendMessage: Bad Request: can't parse JSON",
        "sendMessage: Bad Request: unsupported Content-Type 'text/xml'",
    ]


async def test_form_encoded_values_are_decoded_and_checked(api: Api) -> None:
    status, _ = await api.form("getUpdates", {"limit": "ten"})
    assert status == 400
    status, _ = await api.form(
        "sendMessage", {"chat_id": "1", "text": "x", "reply_markup": "{not json"}
    )
    assert status == 400
    assert api.fake.violations[0] == "getUpdates: limit: 'ten' is not Integer"
    assert "reply_markup: '{not json' is not JSON" in api.fake.violations[1]


def test_union_and_true_values_against_the_schema() -> None:
    schema = BotApiSchema.load()
    assert schema.version == "Bot API 10.1"
    assert schema.check_value(True, ["True"], "flag") == []
    assert schema.check_value(False, ["True"], "flag") == ["flag: expected True, got bool False"]
    owner: JSON = {
        "status": "creator",
        "user": {"id": 1, "is_bot": False, "first_name": "A"},
        "is_anonymous": False,
    }
    assert schema.check_value(owner, ["ChatMember"], "m") == []
    owner["status"] = "owner"
    assert "not a variant of ChatMember" in schema.check_value(owner, ["ChatMember"], "m")[0]
    photo = {"type": "photo", "media": "attach://p", "caption": "c"}
    assert schema.check_value([photo], ["Array of InputMedia"], "media") == []


async def test_unsupported_method_is_a_coverage_gap_not_a_violation(api: Api) -> None:
    user = started(api.fake)
    status, body = await api.call("sendDice", chat_id=user.id)
    assert (status, body["description"]) == (400, "Bad Request: method not supported by the fake")
    assert api.fake.violations == []
    assert api.fake.unsupported == ["sendDice"]
    with pytest.raises(AssertionError, match="not covered by the fake: sendDice"):
        api.fake.assert_clean()
    api.fake.assert_clean(allow_unsupported=True)


# -- limits the schema does not carry ---------------------------------------------------


LIMITS: list[tuple[str, JSON, str]] = [
    ("sendMessage", {"text": ""}, "Bad Request: message text is empty"),
    (
        "sendMessage",
        {"text": "<b> </b>", "parse_mode": "HTML"},
        "Bad Request: message text is empty",
    ),
    ("sendMessage", {"text": "a" * 4097}, "Bad Request: message is too long"),
    ("sendMessage", {"text": "😀" * 2049}, "Bad Request: message is too long"),
    (
        "sendMessage",
        {"text": "&amp;" * 4097, "parse_mode": "HTML"},
        "Bad Request: message is too long",
    ),
    (
        "sendPhoto",
        {"photo": "https://example.org/p.jpg", "caption": "c" * 1025},
        "Bad Request: message caption is too long",
    ),
    (
        "sendMessage",
        {
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]},
        },
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "报" * 22}]]},
        },
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": ""}]]}},
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a"}]]}},
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard",
    ),
]


@pytest.mark.parametrize(("method", "params", "description"), LIMITS)
async def test_limits_refuse_what_telegram_refuses(
    api: Api, method: str, params: JSON, description: str
) -> None:
    user = started(api.fake)
    status, body = await api.call(method, chat_id=user.id, **params)
    assert (status, body["description"]) == (400, description)
    assert len(api.fake.violations) == 1


async def test_limits_pass_at_their_edges(timed_api: Api, clock: ManualClock) -> None:
    fake = timed_api.fake
    user = started(fake)
    good: list[JSON] = [
        {"text": "a" * 4096},
        {"text": "😀" * 2048},
        {"text": "<b>" + "a" * 4096 + "</b>", "parse_mode": "HTML"},
        {"text": "&amp;" * 4096, "parse_mode": "HTML"},
        {
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "报" * 21}]]},
        },
        {
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 64}]]},
        },
    ]
    for params in good:
        await timed_api.ok("sendMessage", chat_id=user.id, **params)
        clock.advance(1.0)
    await timed_api.ok(
        "sendPhoto", chat_id=user.id, photo="https://example.org/p.jpg", caption="c" * 1024
    )
    assert fake.violations == []
    assert utf16_len(fake.chat_log(user.id)[1].text) == 4096


COMMAND_LIMITS: list[tuple[JSON, str]] = [
    ({"commands": [{"command": "Help", "description": "d"}]}, "Bad Request: BOT_COMMAND_INVALID"),
    ({"commands": [{"command": "a" * 33, "description": "d"}]}, "Bad Request: BOT_COMMAND_INVALID"),
    ({"commands": [{"command": "/help", "description": "d"}]}, "Bad Request: BOT_COMMAND_INVALID"),
    (
        {"commands": [{"command": "help", "description": ""}]},
        "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
    ),
    (
        {"commands": [{"command": "help", "description": "d" * 257}]},
        "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
    ),
    (
        {"commands": [{"command": f"c{i}", "description": "d"} for i in range(101)]},
        "Bad Request: too many commands specified",
    ),
    (
        {"commands": [{"command": "help", "description": "d"}], "language_code": "zh-hans"},
        "Bad Request: invalid language code specified",
    ),
]


@pytest.mark.parametrize(("params", "description"), COMMAND_LIMITS)
async def test_command_limits(api: Api, params: JSON, description: str) -> None:
    status, body = await api.call("setMyCommands", **params)
    assert (status, body["description"]) == (400, description)
    assert api.fake.violations


async def test_commands_are_kept_per_scope_and_language(api: Api) -> None:
    full = [{"command": f"c{i}", "description": "命令"} for i in range(100)]
    await api.ok("setMyCommands", commands=full, scope={"type": "all_private_chats"})
    await api.ok(
        "setMyCommands",
        commands=[{"command": "bind", "description": "绑定"}],
        scope={"type": "all_chat_administrators"},
        language_code="zh",
    )
    assert await api.ok("getMyCommands", scope={"type": "all_private_chats"}) == full
    assert await api.ok("getMyCommands") == []
    assert api.fake.commands({"type": "all_chat_administrators"}, "zh") == [
        {"command": "bind", "description": "绑定"}
    ]
    await api.ok("deleteMyCommands", scope={"type": "all_private_chats"})
    assert api.fake.commands({"type": "all_private_chats"}) is None
    api.fake.assert_clean()


async def test_other_limits(api: Api) -> None:
    assert (await api.call("getUpdates", limit=0))[0] == 400
    assert (await api.call("getUpdates", limit=101))[0] == 400
    status, body = await api.call("setWebhook", url="https://example.org/h", secret_token="a b")
    assert (status, body["description"]) == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    assert (await api.call("setWebhook", url="https://e.org/h", secret_token="x" * 257))[0] == 400
    user = started(api.fake)
    assert (await api.call("sendChatAction", chat_id=user.id, action="dancing"))[0] == 400
    assert len(api.fake.violations) == 5
    await api.ok("getUpdates", limit=100)
    await api.ok("sendChatAction", chat_id=user.id, action="typing")
    assert api.fake.chat_actions == [(user.id, "typing")]
    assert len(api.fake.violations) == 5


# -- HTML parse mode ----------------------------------------------------------------------


def test_html_is_parsed_into_text_and_entities() -> None:
    parsed = parse_html(
        '<b>粗 <i>斜</i></b> <a href="https://t.me/x?a=1&amp;b=2">链</a> '
        '<pre><code class="language-python">p</code></pre> <span class="tg-spoiler">s</span> '
        "<tg-spoiler>t</tg-spoiler> <blockquote expandable>q</blockquote> 😀<u>u</u> &#39;&#x41;"
    )
    assert parsed.text == "粗 斜 链 p s t q 😀u 'A"
    assert list(parsed.entities) == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "url": "https://t.me/x?a=1&b=2", "offset": 4, "length": 1},
        {"type": "pre", "language": "python", "offset": 6, "length": 1},
        {"type": "spoiler", "offset": 8, "length": 1},
        {"type": "spoiler", "offset": 10, "length": 1},
        {"type": "expandable_blockquote", "offset": 12, "length": 1},
        {"type": "underline", "offset": 16, "length": 1},  # 😀 is two UTF-16 units
    ]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", 'unescaped "<" at byte offset 2'),
        ("a > b", 'unescaped ">" at byte offset 2'),
        ("R&D", 'unescaped "&" at byte offset 1'),
        ("&nbsp;", 'unescaped "&" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have a non-empty "href"'),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "can't be nested"),
        ("<b", 'Can\'t find end of tag "b"'),
    ],
)
def test_html_that_telegram_refuses(html: str, reason: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert reason in caught.value.reason


async def test_bad_html_is_answered_cant_parse_entities(api: Api) -> None:
    user = started(api.fake)
    status, body = await api.call("sendMessage", chat_id=user.id, text="<b>x", parse_mode="HTML")
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert api.fake.violations == [
        "sendMessage: Can't find end tag corresponding to start tag \"b\" in '<b>x'"
    ]
    # Without a parse mode the same text is plain text.
    assert (await api.ok("sendMessage", chat_id=user.id, text="<b>x"))["text"] == "<b>x"


# -- getUpdates ------------------------------------------------------------------------------


async def test_get_updates_offset_confirms_and_forgets(api: Api) -> None:
    fake = api.fake
    user = fake.user("李四")
    first = fake.send_text(user, "/start")
    second = fake.send_text(user, "你好")
    third = fake.send_text(user, "/help@huarong_test_bot")
    updates = await api.ok("getUpdates")
    assert [u["update_id"] for u in updates] == [first, second, third]
    assert updates[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert updates[2]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 22}]
    assert [u["update_id"] for u in await api.ok("getUpdates", limit=1)] == [first]
    assert [u["update_id"] for u in await api.ok("getUpdates", offset=second)] == [second, third]
    assert fake.pending_update_ids == [second, third]
    assert [u["update_id"] for u in await api.ok("getUpdates", offset=-1)] == [third]
    assert await api.ok("getUpdates", offset=third + 1) == []
    fake.assert_clean()


async def test_long_poll_returns_when_an_update_arrives_or_at_timeout(api: Api) -> None:
    fake = api.fake
    user = fake.user("王五")
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(api.ok("getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started_at = loop.time()
    update_id = fake.send_text(user, "hi")
    updates = await poll
    assert [u["update_id"] for u in updates] == [update_id]
    assert loop.time() - started_at < 1
    started_at = loop.time()
    assert await api.ok("getUpdates", offset=update_id + 1, timeout=1) == []
    assert 0.9 < loop.time() - started_at < 2


async def test_overlapping_polls_and_polling_under_a_webhook_conflict(api: Api) -> None:
    fake = api.fake
    first = asyncio.create_task(api.call("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(api.call("getUpdates", timeout=1))
    status, body = await first
    assert status == 409
    assert body["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )
    assert (await second)[0] == 200
    await api.ok("setWebhook", url="https://example.org/hook")
    status, body = await api.call("getUpdates")
    assert status == 409
    assert "can't use getUpdates method while webhook is active" in body["description"]
    await api.ok("deleteWebhook")
    assert fake.conflicts == [
        "getUpdates terminated by another getUpdates",
        "getUpdates while a webhook is set",
    ]
    fake.assert_clean()


async def test_allowed_updates_filters_later_updates(api: Api) -> None:
    fake = api.fake
    user = started(fake)
    await api.ok("getUpdates", offset=fake.pending_update_ids[-1] + 1, allowed_updates=["message"])
    sent = await api.ok("sendMessage", chat_id=user.id, text="选", reply_markup=KEYBOARD)
    fake.press(user, sent["message_id"], user.id, "rsvp:1")
    kept = fake.send_text(user, "ok")
    assert fake.pending_update_ids == [kept]
    assert fake.dropped_updates == [kept - 1]
    # An empty list restores the default set.
    await api.ok("getUpdates", offset=kept + 1, allowed_updates=[])
    fake.press(user, sent["message_id"], user.id, "rsvp:1")
    assert len(fake.pending_update_ids) == 1


# -- webhook ------------------------------------------------------------------------------------


async def test_webhook_delivers_in_order_with_secret_and_redelivers_after_500(api: Api) -> None:
    fake = api.fake
    received: list[tuple[int, str | None]] = []
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append(
            (update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = fake.user("赵六")
        first = fake.send_text(user, "/start")
        second = fake.send_text(user, "两")
        await api.ok(
            "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cret_-TOKEN"
        )
        await fake.wait_confirmed(second)
        assert received == [
            (first, "s3cret_-TOKEN"),
            (first, "s3cret_-TOKEN"),
            (second, "s3cret_-TOKEN"),
        ]
        assert fake.webhook_attempts == {first: 2, second: 1}
        assert fake.webhook_delivered == [first, second]
        info = await api.ok("getWebhookInfo")
        assert info["pending_update_count"] == 0
        assert info["last_error_message"] == "Wrong response from the webhook: 500"
    finally:
        await api.ok("deleteWebhook")
        await runner.cleanup()
    fake.assert_clean()


async def test_webhook_keeps_an_update_while_the_receiver_is_down(api: Api) -> None:
    fake = api.fake
    user = fake.user("钱七")
    update_id = fake.send_text(user, "/start")
    await api.ok("setWebhook", url="http://127.0.0.1:9/hook")  # nothing listens on port 9
    await fake.wait_until(lambda: fake.webhook_attempts[update_id] >= 2, 3, "a redelivery")
    assert fake.pending_update_ids == [update_id]
    assert (await api.ok("getWebhookInfo"))["last_error_message"].startswith("Connection failed")
    await api.ok("deleteWebhook", drop_pending_updates=True)
    assert fake.pending_update_ids == []
    assert (await api.call("setWebhook", url="http://example.org/hook"))[0] == 400
    fake.assert_clean()


# -- flood control and faults ------------------------------------------------------------------


async def test_burst_to_a_private_chat_gets_429_and_early_retry_is_a_violation(
    timed_api: Api, clock: ManualClock
) -> None:
    fake = timed_api.fake
    user = started(fake)
    await timed_api.ok("sendMessage", chat_id=user.id, text="1")
    status, body = await timed_api.call("sendMessage", chat_id=user.id, text="2")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    assert body["description"] == "Too Many Requests: retry after 1"
    assert fake.violations == []
    assert fake.flood_refusals == [f"sendMessage to {user.id}: retry after 1"]
    clock.advance(0.5)
    assert (await timed_api.call("sendMessage", chat_id=user.id, text="2"))[0] == 429
    assert fake.violations == [
        f"sendMessage: retried before retry_after (0.50 s early, send:{user.id})"
    ]
    clock.advance(0.5)
    await timed_api.ok("sendMessage", chat_id=user.id, text="2")
    assert [m.text for m in fake.chat_log(user.id)] == ["1", "2"]


async def test_group_and_overall_windows(timed_api: Api, clock: ManualClock) -> None:
    fake = timed_api.fake
    admin = fake.user("管理员")
    group = fake.group("大群", members=[admin], supergroup=True)
    group.add_bot(admin)
    for index in range(20):
        await timed_api.ok("sendMessage", chat_id=group.id, text=f"公告 {index}")
        clock.advance(0.5)
    status, body = await timed_api.call("sendMessage", chat_id=group.id, text="21")
    assert status == 429
    assert body["parameters"]["retry_after"] == 50  # the first of the 20 leaves the window
    groups = [fake.group(f"群{i}", members=[admin]) for i in range(31)]
    for each in groups:
        each.add_bot(admin)
    clock.advance(60)
    for each in groups[:30]:
        await timed_api.ok("sendMessage", chat_id=each.id, text="同时")
    status, body = await timed_api.call("sendMessage", chat_id=groups[30].id, text="超")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    assert fake.violations == []
    assert len(fake.flood_refusals) == 2


async def test_flood_limits_can_be_disabled() -> None:
    async with (
        FakeBotApi(flood_limits=FloodLimits(enabled=False)) as fake,
        aiohttp.ClientSession() as session,
    ):
        api = Api(fake, session)
        user = started(fake)
        for index in range(5):
            await api.ok("sendMessage", chat_id=user.id, text=str(index))
        assert fake.flood_refusals == []


async def test_injected_errors_and_disconnects(timed_api: Api, clock: ManualClock) -> None:
    fake = timed_api.fake
    user = started(fake)
    fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    assert await timed_api.call("sendMessage", chat_id=user.id, text="a") == (
        502,
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    )
    status, body = await timed_api.call("sendMessage", chat_id=user.id, text="a")
    assert (status, body["parameters"]) == (429, {"retry_after": 7})
    clock.advance(7)
    fake.disconnect_next("sendMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await timed_api.call("sendMessage", chat_id=user.id, text="a")
    assert fake.chat_log(user.id) == []
    fake.disconnect_next("sendMessage", after_effect=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await timed_api.call("sendMessage", chat_id=user.id, text="a")
    assert [m.text for m in fake.chat_log(user.id)] == ["a"]  # sent, but the answer was lost
    clock.advance(1)
    await timed_api.ok("sendMessage", chat_id=user.id, text="b")
    fake.assert_clean()


async def test_on_next_runs_before_the_call_takes_effect_and_only_once(api: Api) -> None:
    fake = api.fake
    ann, bob = fake.user("Ann", started=True), fake.user("Bob", started=True)
    seen: list[tuple[object, int]] = []

    def note(params: JSON) -> None:
        seen.append((params["text"], len(fake.chat_log(ann.id))))

    fake.on_next("sendMessage", note)
    await api.ok("sendMessage", chat_id=ann.id, text="a")
    await api.ok("sendMessage", chat_id=bob.id, text="b")
    assert seen == [("a", 0)]  # before "a" was sent; "b" ran nothing
    assert [m.text for m in fake.chat_log(ann.id)] == ["a"]
    fake.assert_clean()


# -- chats: migration, blocking, kicking ----------------------------------------------------------


async def test_migration_emits_both_service_messages_and_redirects_sends(api: Api) -> None:
    fake = api.fake
    admin = fake.user("群主")
    group = fake.group("读书会", members=[admin], admins=[admin])
    group.add_bot(admin, admin=True)
    supergroup = group.migrate_to_supergroup()
    updates = await api.ok("getUpdates")
    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["my_chat_member", "message", "message", "message"]
    assert updates[0]["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    assert updates[1]["message"]["new_chat_members"][0]["id"] == fake.bot["id"]
    assert updates[2]["message"]["migrate_to_chat_id"] == supergroup.id
    assert updates[3]["message"]["chat"] == {
        "id": supergroup.id,
        "type": "supergroup",
        "title": "读书会",
    }
    assert updates[3]["message"]["migrate_from_chat_id"] == group.id
    assert str(supergroup.id).startswith("-100")
    status, body = await api.call("sendMessage", chat_id=group.id, text="旧")
    assert (status, body["parameters"]) == (400, {"migrate_to_chat_id": supergroup.id})
    await api.ok("sendMessage", chat_id=supergroup.id, text="新")
    assert fake.last_message(supergroup.id).text == "新"
    fake.assert_clean()


async def test_blocked_kicked_and_never_started_chats_answer_403(api: Api) -> None:
    fake = api.fake
    user = started(fake)
    stranger = fake.user("路人")
    block_update = fake.block(user)
    status, body = await api.call("sendMessage", chat_id=user.id, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    status, body = await api.call("sendMessage", chat_id=stranger.id, text="x")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    group = fake.group("群", members=[user])
    status, body = await api.call("sendMessage", chat_id=group.id, text="x")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )
    group.add_bot(user)
    group.remove_bot(user)
    status, body = await api.call("sendMessage", chat_id=group.id, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was kicked from the group chat")
    assert (await api.call("sendMessage", chat_id=-42, text="x"))[1]["description"] == (
        "Bad Request: chat not found"
    )
    updates = {u["update_id"]: u for u in await api.ok("getUpdates")}
    change = updates[block_update]["my_chat_member"]
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == (
        "member",
        "kicked",
    )
    fake.assert_clean()


async def test_members_admins_and_leaving(api: Api) -> None:
    fake = api.fake
    owner, admin, member, newcomer = (fake.user(n) for n in ("甲", "乙", "丙", "丁"))
    group = fake.group("社团", members=[member], admins=[owner, admin], supergroup=True)
    group.add_bot(owner, admin=True)
    join = group.add_member(newcomer)
    statuses = {
        u.id: (await api.ok("getChatMember", chat_id=group.id, user_id=u.id))["status"]
        for u in (owner, admin, member, newcomer)
    }
    assert statuses == {
        owner.id: "creator",
        admin.id: "administrator",
        member.id: "member",
        newcomer.id: "member",
    }
    bot = await api.ok("getChatMember", chat_id=group.id, user_id=fake.bot["id"])
    assert bot["status"] == "administrator"
    admins = await api.ok("getChatAdministrators", chat_id=group.id)
    assert [a["user"]["id"] for a in admins] == [owner.id, admin.id, fake.bot["id"]]
    assert (await api.ok("getChat", chat_id=group.id))["type"] == "supergroup"
    updates = {u["update_id"]: u for u in await api.ok("getUpdates")}
    assert updates[join]["message"]["new_chat_members"][0]["id"] == newcomer.id
    await api.ok("leaveChat", chat_id=group.id)
    assert group.bot_status == "left"
    status, _ = await api.call("sendMessage", chat_id=group.id, text="x")
    assert status == 403
    fake.assert_clean()


# -- callbacks and edits -------------------------------------------------------------


async def test_callback_queries_answered_late_or_twice(timed_api: Api, clock: ManualClock) -> None:
    fake = timed_api.fake
    user = started(fake)
    sent = await timed_api.ok("sendMessage", chat_id=user.id, text="选", reply_markup=KEYBOARD)
    query = fake.press(user, sent["message_id"], user.id, "rsvp:1")
    update = (await timed_api.ok("getUpdates"))[-1]["callback_query"]
    assert (update["id"], update["data"]) == (query, "rsvp:1")
    assert update["message"]["message_id"] == sent["message_id"]
    assert update["message"]["reply_markup"] == KEYBOARD
    await timed_api.ok("answerCallbackQuery", callback_query_id=query, text="已报名")
    assert fake.callback_answers[query].text == "已报名"
    status, body = await timed_api.call("answerCallbackQuery", callback_query_id=query)
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    assert fake.violations == [f"answerCallbackQuery: query {query} answered twice"]
    fake.violations.clear()
    late = fake.press(user, sent["message_id"], user.id, "rsvp:1")
    clock.advance(15.5)
    assert (await timed_api.call("answerCallbackQuery", callback_query_id=late))[0] == 400
    aged = fake.press(user, sent["message_id"], user.id, "rsvp:1")
    fake.age_callback(aged, 16)
    assert (await timed_api.call("answerCallbackQuery", callback_query_id=aged))[0] == 400
    assert fake.violations == []  # a late answer is harmless, not a client bug
    with pytest.raises(ValueError, match="no button"):
        fake.press(user, sent["message_id"], user.id, "rsvp:2")


async def test_edits_and_not_modified(timed_api: Api, clock: ManualClock) -> None:
    fake = timed_api.fake
    user = started(fake)
    sent = await timed_api.ok(
        "sendMessage",
        chat_id=user.id,
        text="<b>第1页</b>",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
    )
    message_id = sent["message_id"]
    same: JSON = {"text": "<b>第1页</b>", "parse_mode": "HTML", "reply_markup": KEYBOARD}
    status, body = await timed_api.call(
        "editMessageText", chat_id=user.id, message_id=message_id, **same
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    # Same characters, other formatting: modified.
    edited = await timed_api.ok(
        "editMessageText",
        chat_id=user.id,
        message_id=message_id,
        text="第1页",
        reply_markup=KEYBOARD,
    )
    assert "entities" not in edited
    assert "edit_date" in edited
    new_keyboard = {"inline_keyboard": [[{"text": "取消", "callback_data": "rsvp:0"}]]}
    await timed_api.ok(
        "editMessageReplyMarkup", chat_id=user.id, message_id=message_id, reply_markup=new_keyboard
    )
    status, _ = await timed_api.call(
        "editMessageReplyMarkup", chat_id=user.id, message_id=message_id, reply_markup=new_keyboard
    )
    assert status == 400
    await timed_api.ok("editMessageReplyMarkup", chat_id=user.id, message_id=message_id)
    shown = fake.last_message(user.id)
    assert (shown.text, shown.html, shown.reply_markup, shown.edits) == ("第1页", "第1页", None, 3)
    assert (await timed_api.call("editMessageText", chat_id=user.id, message_id=99, text="x"))[
        0
    ] == 400
    await timed_api.ok("deleteMessage", chat_id=user.id, message_id=message_id)
    assert fake.chat_log(user.id) == []
    assert len(fake.chat_log(user.id, include_deleted=True)) == 1
    assert (await timed_api.call("deleteMessage", chat_id=user.id, message_id=message_id))[0] == 400
    fake.assert_clean()


# -- people's input of every kind -----------------------------------------------------


async def test_photos_stickers_edits_forwards_channel_posts_and_raw_updates(api: Api) -> None:
    fake = api.fake
    user = fake.user("孙丽", username="sunli")
    other = fake.user("周八")
    group = fake.group("群", members=[user, other])
    group.add_bot(user, admin=True)  # an administrator sees stickers and plain texts
    photo = fake.send_photo(user, b"\xff\xd8" + b"x" * 5000, caption="看")
    sticker = fake.send_sticker(user, chat=group)
    said = fake.send_text(user, "说错了", chat=group)
    forwarded = fake.send_text(user, "/points 5", forward_from=other)
    channel = fake.channel_post("频道公告")
    raw = fake.push_raw({"future_update_kind": {"x": 1}})
    updates = {u["update_id"]: u for u in await api.ok("getUpdates")}
    said_message = updates[said]["message"]
    edited = fake.edit_text(user, said_message["message_id"], "说对了", chat=group)
    updates.update({u["update_id"]: u for u in await api.ok("getUpdates", offset=raw + 1)})
    sizes = updates[photo]["message"]["photo"]
    assert updates[photo]["message"]["caption"] == "看"
    file = await api.ok("getFile", file_id=sizes[-1]["file_id"])
    url = f"{fake.base_url}/file/bot{fake.token}/{file['file_path']}"
    async with api.session.get(url) as response:
        assert await response.read() == b"\xff\xd8" + b"x" * 5000
    assert updates[sticker]["message"]["sticker"]["type"] == "regular"
    assert updates[edited]["edited_message"]["text"] == "说对了"
    assert updates[forwarded]["message"]["forward_origin"]["sender_user"]["id"] == other.id
    assert updates[forwarded]["message"]["entities"][0]["type"] == "bot_command"
    assert updates[channel]["channel_post"]["chat"]["type"] == "channel"
    assert updates[raw] == {"update_id": raw, "future_update_kind": {"x": 1}}
    assert (await api.call("getFile", file_id="nope"))[0] == 400
    assert fake.fake_errors == []  # every update the fake made is valid per the schema
    fake.assert_clean()


async def test_people_cannot_do_what_telegram_would_not_let_them(api: Api) -> None:
    fake = api.fake
    user = fake.user("吴九")
    outsider = fake.user("郑十")
    group = fake.group("群", members=[user])
    unseen = fake.send_text(user, "/help", chat=group)
    assert fake.dropped_updates == [unseen]  # the bot is not in the group
    group.add_bot(user)
    with pytest.raises(ValueError, match="not a member"):
        fake.send_text(outsider, "hi", chat=group)
    new = group.migrate_to_supergroup()
    with pytest.raises(ValueError, match="migrated"):
        fake.send_text(user, "hi", chat=group)
    assert fake.send_text(user, "hi", chat=new) > 0


async def test_privacy_mode_shows_a_group_only_commands_replies_and_service_messages(
    api: Api,
) -> None:
    fake = api.fake
    user = fake.user("冯一")
    group = fake.group("群", members=[user])
    group.add_bot(user)
    sent = await api.ok("sendMessage", chat_id=group.id, text="问题？")
    seen = [
        fake.send_text(user, "/points", chat=group),
        fake.send_text(user, "看 /points@huarong_test_bot", chat=group),
        fake.send_text(user, "答案", chat=group, reply_to=sent["message_id"]),
        group.add_member(fake.user("新人")),
    ]
    unseen = [
        fake.send_text(user, "大家好", chat=group),
        fake.send_text(user, "/points@other_bot", chat=group),
        fake.send_sticker(user, chat=group),
    ]
    assert set(unseen) <= set(fake.dropped_updates)
    assert set(seen) <= set(fake.pending_update_ids)
    group.add_bot(user, admin=True)  # administrators see everything
    assert fake.send_text(user, "大家好", chat=group) in fake.pending_update_ids
    async with FakeBotApi(privacy_mode=False) as open_fake:
        other = open_fake.user("褚二")
        open_group = open_fake.group("群", members=[other])
        open_group.add_bot(other)
        assert open_fake.send_text(other, "大家好", chat=open_group) in open_fake.pending_update_ids
    fake.assert_clean()


async def test_the_fixture_is_started_and_time_is_quick(fake_bot_api: FakeBotApi) -> None:
    started_at = time.monotonic()
    async with aiohttp.ClientSession() as session:
        url = f"{fake_bot_api.base_url}/bot{fake_bot_api.token}/getMe"
        async with session.get(url) as response:
            assert (await response.json())["result"]["id"] == 123456
    assert time.monotonic() - started_at < 1
    assert fake_bot_api.requests == [("getMe", {})]
