"""The Bot API client against a small aiohttp server, and the typed values it parses."""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from huarong_telegram.api import (
    BadRequest,
    BadResponse,
    BotApi,
    ChatMigrated,
    Conflict,
    FileTooLarge,
    Forbidden,
    MessageNotModified,
    NetworkError,
    NotFound,
    QueryTooOld,
    RetryAfter,
    ServerError,
    TelegramError,
    Unauthorized,
    send_message_params,
)
from huarong_telegram.types import (
    MALFORMED,
    BotCommand,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MalformedUpdate,
    Message,
    parse_update,
    to_json,
)

TOKEN = "123456789:AAH-secret_Token-value"
SECRET = "AAH-secret_Token-value"

CHAT = {"id": 42, "type": "private", "first_name": "Lin"}
USER = {"id": 42, "is_bot": False, "first_name": "Lin", "language_code": "zh-hans"}
GROUP = {"id": -1001, "type": "supergroup", "title": "Book club"}


def message_json(**extra: Any) -> dict[str, Any]:
    return {"message_id": 7, "date": 1_700_000_000, "chat": CHAT, "from": USER, **extra}


@attrs.define
class Answer:
    status: int = 200
    body: Any = attrs.field(factory=lambda: {"ok": True, "result": True})
    delay: float = 0.0
    raw: bytes | None = None


class StubBotApi:
    """A scripted Bot API: answers queued per method, every request recorded."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.paths: list[str] = []
        self.files: dict[str, bytes] = {}
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.handle)
        self.app.router.add_get("/file/bot{token}/{path:.*}", self.file)

    def answer(self, method: str, *answers: Answer) -> None:
        self.answers.setdefault(method, []).extend(answers)

    def ok(self, method: str, result: Any) -> None:
        self.answer(method, Answer(body={"ok": True, "result": result}))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        self.paths.append(request.path)
        self.requests.append((method, await request.json()))
        queued = self.answers.get(method)
        answer = queued.pop(0) if queued else Answer()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.raw is not None:
            return web.Response(status=answer.status, body=answer.raw, content_type="text/html")
        return web.json_response(answer.body, status=answer.status)

    async def file(self, request: web.Request) -> web.StreamResponse:
        data = self.files.get(request.match_info["path"])
        if data is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=data)


@pytest.fixture
async def stub() -> AsyncIterator[tuple[StubBotApi, BotApi]]:
    fake = StubBotApi()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    api = BotApi(TOKEN, base_url=str(server.make_url("")), timeout=5.0)
    try:
        yield fake, api
    finally:
        await api.close()
        await server.close()


def error(code: int, description: str, **parameters: int) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Answer(status=code, body=body)


def assert_no_token(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err)) + str(err) + repr(err) + repr(err.args)
    assert SECRET not in text


# --- successful calls -------------------------------------------------------------------


async def test_get_me_posts_to_the_token_path_and_parses_the_user(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    fake.ok("getMe", {"id": 99, "is_bot": True, "first_name": "Huarong", "username": "hr_bot"})
    me = await api.get_me()
    assert (me.id, me.is_bot, me.username) == (99, True, "hr_bot")
    assert fake.paths == [f"/bot{TOKEN}/getMe"]
    assert fake.requests == [("getMe", {})]


async def test_send_message_sends_html_keyboard_and_reply_as_the_schema_has_them(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    fake.ok("sendMessage", message_json(text="hi"))
    markup = InlineKeyboardMarkup.of([[InlineKeyboardButton("报名", callback_data="rsvp 12")]])
    sent = await api.send_message(
        42, "hi", reply_markup=markup, disable_link_preview=True, reply_to_message_id=5
    )
    assert sent.message_id == 7
    assert sent.text == "hi"
    assert fake.requests == [
        (
            "sendMessage",
            {
                "chat_id": 42,
                "text": "hi",
                "parse_mode": "HTML",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "报名", "callback_data": "rsvp 12"}]]
                },
                "link_preview_options": {"is_disabled": True},
                "reply_parameters": {"message_id": 5, "allow_sending_without_reply": True},
            },
        )
    ]


async def test_unset_optional_parameters_are_left_out_not_sent_as_null(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    assert await api.answer_callback_query("q1") is True
    assert await api.delete_webhook() is True
    assert await api.call("sendChatAction", {"chat_id": 1, "action": "typing", "x": None})
    assert fake.requests == [
        ("answerCallbackQuery", {"callback_query_id": "q1"}),
        ("deleteWebhook", {}),
        ("sendChatAction", {"chat_id": 1, "action": "typing"}),
    ]


async def test_edits_return_the_message_or_true_for_inline_messages(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    fake.ok("editMessageText", message_json(text="page 2", edit_date=1_700_000_100))
    fake.ok("editMessageReplyMarkup", True)
    edited = await api.edit_message_text(42, 7, "page 2")
    assert isinstance(edited, Message)
    assert edited.edit_date == 1_700_000_100
    assert await api.edit_message_reply_markup(42, 7) is True
    assert fake.requests[0] == (
        "editMessageText",
        {"chat_id": 42, "message_id": 7, "text": "page 2", "parse_mode": "HTML"},
    )
    assert fake.requests[1] == ("editMessageReplyMarkup", {"chat_id": 42, "message_id": 7})


async def test_commands_and_webhook_helpers_send_their_fields(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    await api.set_my_commands(
        [BotCommand("points", "我的积分")],
        scope={"type": "all_private_chats"},
        language_code="zh",
    )
    await api.delete_my_commands(scope={"type": "all_group_chats"})
    await api.set_webhook(
        "https://example.org/tg", secret_token="s3cret", allowed_updates=["message"]
    )
    assert fake.requests == [
        (
            "setMyCommands",
            {
                "commands": [{"command": "points", "description": "我的积分"}],
                "scope": {"type": "all_private_chats"},
                "language_code": "zh",
            },
        ),
        ("deleteMyCommands", {"scope": {"type": "all_group_chats"}}),
        (
            "setWebhook",
            {
                "url": "https://example.org/tg",
                "secret_token": "s3cret",
                "allowed_updates": ["message"],
            },
        ),
    ]


async def test_get_updates_long_polls_and_keeps_malformed_and_unknown_updates_apart(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    fake.ok(
        "getUpdates",
        [
            {"update_id": 10, "message": message_json(text="/start")},
            {"update_id": 11, "message": {"message_id": 8, "date": 1}},  # no chat
            {"update_id": 12, "message_reaction": {"chat": CHAT}},
            {"no_id": True},
        ],
    )
    with capture_logs() as logs:
        updates = await api.get_updates(offset=10, timeout=25, allowed_updates=["message"])
    assert [(u.update_id, u.kind) for u in updates] == [
        (10, "message"),
        (11, MALFORMED),
        (12, "message_reaction"),
    ]
    assert updates[1].error == "update.message.chat: required field is missing"
    assert updates[2].raw["message_reaction"] == {"chat": CHAT}
    assert fake.requests == [
        (
            "getUpdates",
            {"offset": 10, "timeout": 25, "limit": 100, "allowed_updates": ["message"]},
        )
    ]
    malformed = [entry for entry in logs if entry["event"] == "telegram.malformed_update"]
    assert [entry["update_id"] for entry in malformed] == [11, None]


async def test_get_file_and_download_respect_max_bytes(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.ok("getFile", {"file_id": "f", "file_unique_id": "u", "file_path": "photos/a.jpg"})
    fake.files["photos/a.jpg"] = b"x" * 1000
    file = await api.get_file("f")
    assert file.file_path == "photos/a.jpg"
    assert await api.download_file(file.file_path, max_bytes=1000) == b"x" * 1000
    with pytest.raises(FileTooLarge):
        await api.download_file(file.file_path, max_bytes=999)
    with pytest.raises(NotFound) as missing:
        await api.download_file("photos/gone.jpg", max_bytes=1000)
    assert_no_token(missing.value)


async def test_a_given_session_is_used_and_left_open(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    base_url = api._base_url
    async with aiohttp.ClientSession() as session:
        async with BotApi(TOKEN, base_url=base_url, session=session) as shared:
            fake.ok("getMe", {"id": 1, "is_bot": True, "first_name": "B"})
            await shared.get_me()
        assert not session.closed
    own = BotApi(TOKEN, base_url=base_url)
    await own.call("deleteWebhook")
    session_of_own = own._session
    assert session_of_own is not None
    await own.close()
    assert session_of_own.closed


async def test_every_helper_sends_only_parameters_the_schema_knows(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    """Parameter names and required ones per method; the fake server checks the values too."""
    fake, api = stub
    schema_path = Path(__file__).parents[1] / "data" / "telegram-bot-api" / "schema.json"
    methods = json.loads(schema_path.read_text(encoding="utf-8"))["methods"]
    fake.ok("getMe", {"id": 1, "is_bot": True, "first_name": "B"})
    fake.ok("getUpdates", [])
    fake.ok("sendMessage", message_json())
    fake.ok("getFile", {"file_id": "f", "file_unique_id": "u"})
    markup = InlineKeyboardMarkup.of([[InlineKeyboardButton("a", callback_data="b")]])
    await api.get_me()
    await api.get_updates(offset=3, timeout=0, allowed_updates=["message", "callback_query"])
    await api.send_message(
        1,
        "x",
        reply_markup=markup,
        disable_link_preview=True,
        reply_to_message_id=2,
        disable_notification=True,
    )
    await api.edit_message_text(1, 2, "y", reply_markup=markup, disable_link_preview=True)
    await api.edit_message_reply_markup(1, 2, reply_markup=markup)
    await api.answer_callback_query("q", text="ok", show_alert=True)
    await api.set_my_commands([BotCommand("a", "b")], scope={"type": "default"}, language_code="en")
    await api.delete_my_commands(scope={"type": "default"}, language_code="en")
    await api.set_webhook(
        "https://e.org/h", secret_token="s", allowed_updates=[], drop_pending_updates=True
    )
    await api.delete_webhook(drop_pending_updates=True)
    await api.get_file("f")
    assert len(fake.requests) == 11
    for method, body in fake.requests:
        fields = {field["name"]: field for field in methods[method]["fields"]}
        assert set(body) <= set(fields), method
        assert {name for name, f in fields.items() if f["required"]} <= set(body), method


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (error(400, "Bad Request: chat not found"), BadRequest),
        (
            error(400, "Bad Request: query is too old and response timeout expired"),
            QueryTooOld,
        ),
        (
            error(400, "Bad Request: message is not modified: specified new message"),
            MessageNotModified,
        ),
        (error(401, "Unauthorized"), Unauthorized),
        (error(403, "Forbidden: bot was blocked by the user"), Forbidden),
        (error(404, "Not Found"), NotFound),
        (error(409, "Conflict: terminated by other getUpdates request"), Conflict),
        (error(500, "Internal Server Error"), ServerError),
        (error(502, "Bad Gateway"), ServerError),
        (error(418, "I'm a teapot"), TelegramError),
    ],
)
async def test_each_error_answer_raises_its_class(
    stub: tuple[StubBotApi, BotApi], answer: Answer, kind: type[TelegramError]
) -> None:
    fake, api = stub
    fake.answer("sendMessage", answer)
    with pytest.raises(TelegramError) as raised:
        await api.send_message(42, "hi")
    assert type(raised.value) is kind
    assert raised.value.method == "sendMessage"
    assert raised.value.error_code == answer.status
    assert answer.body["description"] in raised.value.description
    assert_no_token(raised.value)


async def test_flood_control_carries_retry_after(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.answer("sendMessage", error(429, "Too Many Requests: retry after 7", retry_after=7))
    with pytest.raises(RetryAfter) as raised:
        await api.send_message(42, "hi")
    assert raised.value.retry_after == 7
    assert raised.value.error_code == 429


async def test_a_migrated_group_names_its_supergroup(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.answer(
        "sendMessage",
        error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=-1009876,
        ),
    )
    with pytest.raises(ChatMigrated) as raised:
        await api.send_message(-55, "hi")
    assert raised.value.migrate_to_chat_id == -1009876
    assert isinstance(raised.value, BadRequest)


async def test_a_conflict_explains_what_to_do(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.answer("getUpdates", error(409, "Conflict: can't use getUpdates while webhook is active"))
    with pytest.raises(Conflict, match="webhook is set"):
        await api.get_updates(offset=None, timeout=0)


async def test_a_wrong_token_is_unauthorized_without_showing_the_token(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    _, api = stub
    wrong = BotApi("999:" + SECRET, base_url=api._base_url)
    try:
        with capture_logs() as logs, pytest.raises(Unauthorized) as raised:
            await wrong.get_me()
    finally:
        await wrong.close()
    assert_no_token(raised.value)
    assert SECRET not in repr(logs)


async def test_a_non_json_answer_is_a_bad_response_and_a_proxy_5xx_a_server_error(
    stub: tuple[StubBotApi, BotApi],
) -> None:
    fake, api = stub
    fake.answer(
        "getMe",
        Answer(raw=b"<html>hello</html>"),
        Answer(status=502, raw=b"<html>502 Bad Gateway</html>"),
        Answer(body={"ok": True}),
        Answer(body=["not", "an", "answer"]),
    )
    with pytest.raises(BadResponse):
        await api.get_me()
    with pytest.raises(ServerError) as gateway:
        await api.get_me()
    assert gateway.value.error_code == 502
    with pytest.raises(BadResponse):
        await api.get_me()
    with pytest.raises(BadResponse):
        await api.get_me()


async def test_a_refused_connection_was_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = BotApi(TOKEN, base_url=f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with capture_logs() as logs, pytest.raises(NetworkError) as raised:
            await api.send_message(42, "hi")
    finally:
        await api.close()
    assert raised.value.sent is False
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    assert_no_token(raised.value)
    assert logs
    assert SECRET not in repr(logs)


async def test_a_read_timeout_leaves_the_outcome_unknown(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.answer("sendMessage", Answer(delay=1.0))
    with capture_logs() as logs, pytest.raises(NetworkError) as raised:
        await api.call("sendMessage", {"chat_id": 1, "text": "x"}, timeout=0.2)
    assert raised.value.sent is None
    assert_no_token(raised.value)
    assert SECRET not in repr(logs)
    assert fake.requests  # it did reach the server


async def test_the_token_stays_out_of_every_log_line(stub: tuple[StubBotApi, BotApi]) -> None:
    fake, api = stub
    fake.answer("sendMessage", error(403, "Forbidden: bot was kicked"), Answer(raw=b"oops"))
    with capture_logs() as logs:
        await api.call("deleteWebhook")
        for _ in range(2):
            with pytest.raises(TelegramError):
                await api.send_message(42, "hi")
    assert {entry["event"] for entry in logs} >= {"telegram.error", "telegram.bad_response"}
    assert SECRET not in repr(logs)
    assert SECRET not in repr(api)


def test_the_token_is_required() -> None:
    with pytest.raises(ValueError, match="token"):
        BotApi("")


# --- typed values -----------------------------------------------------------------------


def test_a_message_update_with_everything_the_adapter_reads() -> None:
    update = parse_update(
        {
            "update_id": 5,
            "message": message_json(
                chat=GROUP,
                text="/bind@hr_bot club",
                entities=[{"type": "bot_command", "offset": 0, "length": 12}],
                photo=[{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}],
                sticker={"file_id": "s"},
                new_chat_members=[USER],
                reply_to_message=message_json(message_id=3, text="earlier"),
                forward_origin={"type": "user", "date": 1, "sender_user": USER},
                is_automatic_forward=True,
                brand_new_field={"whatever": 1},
            ),
        }
    )
    message = update.message
    assert message is not None
    assert update.kind == "message"
    assert update.any_message is message
    assert message.chat.is_group
    assert not message.chat.is_private
    assert message.from_user is not None
    assert message.from_user.language_code == "zh-hans"
    assert message.entities[0].type == "bot_command"
    assert message.photo[0].width == 90
    assert message.has_sticker
    assert message.new_chat_members[0].id == 42
    assert message.reply_to_message is not None
    assert message.reply_to_message.text == "earlier"
    assert message.forward_origin is not None
    assert message.forward_origin.sender_user is not None
    assert message.is_forwarded
    assert message.is_automatic_forward


def test_other_message_kinds_fill_their_own_field() -> None:
    for kind in ("edited_message", "channel_post", "edited_channel_post"):
        update = parse_update({"update_id": 1, kind: message_json(text="x")})
        assert update.kind == kind
        assert getattr(update, kind) is update.any_message is not None
        assert update.message is None


def test_a_callback_query_on_an_inaccessible_message() -> None:
    update = parse_update(
        {
            "update_id": 6,
            "callback_query": {
                "id": "cq",
                "from": USER,
                "chat_instance": "ci",
                "data": "rsvp 3",
                "message": {"chat": CHAT, "message_id": 9, "date": 0},
            },
        }
    )
    query = update.callback_query
    assert isinstance(query, CallbackQuery)
    assert query.data == "rsvp 3"
    assert query.message == InaccessibleMessage(
        chat=parse_update({"update_id": 1, "message": message_json()}).message.chat,  # type: ignore[union-attr]
        message_id=9,
        date=0,
    )


def test_a_membership_change_keeps_both_statuses() -> None:
    update = parse_update(
        {
            "update_id": 7,
            "my_chat_member": {
                "chat": GROUP,
                "from": USER,
                "date": 2,
                "old_chat_member": {"status": "member", "user": USER},
                "new_chat_member": {
                    "status": "restricted",
                    "user": USER,
                    "is_member": False,
                    "until_date": 0,
                    "can_send_messages": False,
                },
            },
        }
    )
    change = update.my_chat_member
    assert change is not None
    assert (change.old_status, change.new_status) == ("member", "restricted")
    assert change.old_chat_member.is_present
    assert not change.new_chat_member.is_present


@pytest.mark.parametrize(
    ("data", "message", "update_id"),
    [
        ([], "update: expected an object, got list", None),
        ({"message": {}}, "update.update_id: required field is missing", None),
        ({"update_id": True, "message": {}}, "update.update_id: expected an integer", None),
        ({"update_id": 3}, "update: no payload beside update_id", 3),
        (
            {"update_id": 4, "message": {"message_id": "7", "date": 1, "chat": CHAT}},
            "update.message.message_id: expected an integer, got str",
            4,
        ),
        (
            {"update_id": 5, "callback_query": {"id": "q", "chat_instance": "c"}},
            "update.callback_query.from: required field is missing",
            5,
        ),
        (
            {"update_id": 6, "message": message_json(new_chat_members=[{"id": 1}])},
            "update.message.new_chat_members[0].is_bot: required field is missing",
            6,
        ),
    ],
)
def test_a_malformed_update_names_the_field(data: Any, message: str, update_id: int | None) -> None:
    with pytest.raises(MalformedUpdate) as raised:
        parse_update(data)
    assert str(raised.value).startswith(message)
    assert raised.value.update_id == update_id
    assert isinstance(raised.value, ValueError)


def test_outgoing_values_become_schema_json() -> None:
    markup = InlineKeyboardMarkup.of(
        [
            [
                InlineKeyboardButton("a", callback_data="x"),
                InlineKeyboardButton("b", url="https://t.me/x"),
            ],
            [],
        ]
    )
    assert to_json(markup) == {
        "inline_keyboard": [
            [{"text": "a", "callback_data": "x"}, {"text": "b", "url": "https://t.me/x"}]
        ]
    }
    assert json.loads(json.dumps(to_json(BotCommand("help", "帮助")))) == {
        "command": "help",
        "description": "帮助",
    }
    with pytest.raises(TypeError):
        to_json({"not": "attrs"})


@pytest.mark.parametrize(
    "make",
    [
        lambda: InlineKeyboardButton("a"),
        lambda: InlineKeyboardButton("a", callback_data="x", url="https://t.me"),
        lambda: InlineKeyboardButton("", callback_data="x"),
        lambda: InlineKeyboardButton("a", callback_data="报" * 22),  # 66 bytes
        lambda: InlineKeyboardButton("a", callback_data=""),
    ],
)
def test_buttons_that_telegram_would_refuse_are_refused_here(make: Any) -> None:
    with pytest.raises(ValueError, match=r"button|callback_data"):
        make()


def test_send_message_params_serve_the_scheduler() -> None:
    assert send_message_params(-5, "<b>x</b>", parse_mode=None) == {
        "chat_id": -5,
        "text": "<b>x</b>",
        "parse_mode": None,
        "reply_markup": None,
        "link_preview_options": None,
        "reply_parameters": None,
        "disable_notification": None,
    }
