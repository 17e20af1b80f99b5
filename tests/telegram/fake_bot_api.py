"""A fake Telegram Bot API server for the Telegram adapter's end-to-end tests.

The fake is only useful if passing against it means something against
Telegram, so it is strict where Telegram is strict and stricter where a lax
answer would hide a bug: every request is validated against the Bot API
schema and the documented limits (`fake_bot_api_schema`), and every
violation is both answered the way Telegram answers and recorded in
`violations`, so a test ends with `fake.assert_clean()`.

Around the validator sits a small world (users, groups, a channel) that
produces updates the way Telegram does (commands carry `bot_command`
entities, adding the bot emits `my_chat_member`, migrating a group emits
both service messages) and delivers them by `getUpdates` (offset, long-poll
timeout, 409 conflicts) or by webhook (secret header, redelivery until 2xx).
Output is recorded as people would see it (`chat_log`). Flood control answers
429 with `retry_after` and records a client that retries too early.

Time: flood windows, `retry_after` and the 15 s callback limit read the
injectable `clock`; long-poll timeouts and webhook redelivery use real time
(they are short in tests).

Nothing here logs a URL: the token is part of every Bot API URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import urlsplit

import aiohttp
import attrs
import structlog
from aiohttp import web

from tests.telegram.fake_bot_api_schema import (
    BotApiSchema,
    EntityParseError,
    MethodSpec,
    ParsedText,
    Problem,
    UploadedFile,
    check_limits,
    parse_text,
    utf16_len,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
JSON = dict[str, Any]

CALLBACK_QUERY_LIFETIME = 15.0
# A client that sleeps exactly `retry_after` may wake a hair early by its own
# clock; that is obeying, not ignoring.
RETRY_AFTER_TOLERANCE = 0.05
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Updates sent only to bots that ask for them (Bot API, getUpdates).
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Methods whose sends count against flood limits.
_FORWARDING = frozenset({"forwardMessage", "forwardMessages", "copyMessage", "copyMessages"})
# A message with none of these is a service message (joins, migrations, ...).
_CONTENT_KEYS = ("text", "photo", "sticker", "caption", "document", "video", "voice", "animation")
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z][A-Za-z0-9_]{3,31})?(?![\w/])")

_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiCall(NamedTuple):
    """One request as the fake understood it (parameters decoded)."""

    method: str
    params: JSON


@attrs.frozen
class FloodLimits:
    """Telegram's advertised sending limits; tests may loosen or disable them.

    They count sends (send*, forward*, copy*; not edits or chat actions) in
    sliding windows: per private chat a second, per group a minute, and all
    chats together a second.
    """

    private_per_second: int = 1
    group_per_minute: int = 20
    overall_per_second: int = 30
    enabled: bool = True


@attrs.define(eq=False)
class FakeUser:
    """A person on Telegram; `started` once they have written to the bot privately."""

    fake: FakeBotApi = attrs.field(repr=False)
    id: int
    first_name: str
    username: str | None = None
    language_code: str = "zh-hans"
    started: bool = False
    blocked: bool = False

    def as_user(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@attrs.define(eq=False)
class FakeGroup:
    """A group or supergroup; the bot is not in it until `add_bot`."""

    fake: FakeBotApi = attrs.field(repr=False)
    id: int
    title: str
    supergroup: bool
    members: list[FakeUser] = attrs.Factory(list)
    admins: list[FakeUser] = attrs.Factory(list)
    bot_status: str = "left"  # left | member | administrator | kicked
    migrated_to: int | None = None
    username: str | None = None

    @property
    def kind(self) -> str:
        return "supergroup" if self.supergroup else "group"

    @property
    def bot_present(self) -> bool:
        return self.bot_status in ("member", "administrator")

    def as_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": self.kind, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat

    def add_bot(self, by: FakeUser, *, admin: bool = False) -> int:
        """`by` adds the bot: `my_chat_member`, then the service message; returns the first."""
        self._ensure_member(by)
        old = self.bot_status
        self.bot_status = "administrator" if admin else "member"
        update_id = self.fake._bot_status_changed(self.as_chat(), by, old, self.bot_status)
        self.fake._push_message(self.as_chat(), by, {"new_chat_members": [self.fake.bot_user()]})
        return update_id

    def remove_bot(self, by: FakeUser) -> int:
        """`by` removes the bot; later sends here answer 403 "bot was kicked"."""
        old = self.bot_status
        self.bot_status = "kicked"
        return self.fake._bot_status_changed(self.as_chat(), by, old, "kicked")

    def add_member(self, user: FakeUser, *, by: FakeUser | None = None) -> int:
        """`user` joins (or `by` adds them): a message with `new_chat_members`."""
        if user not in self.members:
            self.members.append(user)
        sender = by or user
        return self.fake._push_message(
            self.as_chat(), sender, {"new_chat_members": [user.as_user()]}
        )

    def make_admin(self, user: FakeUser) -> None:
        """The first admin is the group's creator."""
        self._ensure_member(user)
        if user not in self.admins:
            self.admins.append(user)

    def migrate_to_supergroup(self, *, by: FakeUser | None = None) -> FakeGroup:
        """Upgrade: both service messages, and the old id answers 400 with the new one."""
        if self.supergroup or self.migrated_to is not None:
            raise ValueError(f"{self.title} cannot be migrated")
        new = self.fake._new_group(self.title, supergroup=True)
        new.members = list(self.members)
        new.admins = list(self.admins)
        new.bot_status = self.bot_status
        sender = by or (self.admins[0] if self.admins else self.members[0])
        self.fake._push_message(self.as_chat(), sender, {"migrate_to_chat_id": new.id})
        self.migrated_to = new.id
        self.fake._push_message(new.as_chat(), sender, {"migrate_from_chat_id": self.id})
        return new

    def _ensure_member(self, user: FakeUser) -> None:
        if user not in self.members:
            self.members.append(user)


@attrs.define
class SentMessage:
    """A bot message as the people in the chat see it now."""

    message_id: int
    chat_id: int
    text: str  # the text (or caption) after parsing, tags stripped
    html: str  # what the bot sent, before parsing
    entities: tuple[JSON, ...]
    reply_markup: JSON | None
    sent_at: float
    kind: str = "text"  # text | photo
    edits: int = 0
    deleted: bool = False
    photo_file_id: str | None = None


@attrs.frozen
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    answered_at: float


@attrs.define
class _Query:
    id: str
    user: FakeUser
    chat_id: int
    message_id: int
    created_at: float
    answered: bool = False


@attrs.frozen
class _Fault:
    error_code: int = 0
    description: str = ""
    retry_after: int | None = None
    disconnect: bool = False
    after_effect: bool = False


@attrs.frozen
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes


class ApiError(Exception):
    """What a method answers instead of a result."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


class _Disconnect(Exception):
    """Drop the connection without an answer."""


class FakeBotApi:
    """The fake server; see the module docstring for what it promises."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "huarong_test_bot",
        clock: Clock = time.monotonic,
        redeliver_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        flood_limits: FloodLimits | None = None,
        schema: BotApiSchema | None = None,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.privacy_mode = privacy_mode
        self.clock = clock
        self.redeliver_delay = redeliver_delay
        self.webhook_timeout = webhook_timeout
        self.flood_limits = flood_limits or FloodLimits()
        self.schema = schema or _default_schema()
        bot_id = int(token.split(":", 1)[0])
        self.bot: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Huarong",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": False,
        }
        # What tests assert on.
        self.requests: list[ApiCall] = []
        self.violations: list[str] = []
        self.unsupported: list[str] = []
        self.fake_errors: list[str] = []
        self.flood_refusals: list[str] = []
        self.conflicts: list[str] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_attempts: Counter[int] = Counter()
        self.webhook_delivered: list[int] = []
        self.dropped_updates: list[int] = []
        # The world.
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._channel: JSON | None = None
        self._user_ids = itertools.count(1_000_001)
        self._group_ids = itertools.count(4_000_001)
        self._supergroup_ids = itertools.count(2_000_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(4_611_686_018_427)  # numeric strings, as Telegram's
        self._files: dict[str, _StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        # Updates.
        self._update_ids = itertools.count(700_000_001)
        self._pending: list[JSON] = []
        self._allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        # Webhook.
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        # Flood control and faults.
        self._sends_by_chat: dict[int, deque[float]] = {}
        self._sends_overall: deque[float] = deque()
        self._not_before: dict[str, float] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._watchers: dict[str, deque[Callable[[JSON], None]]] = {}
        # Server.
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # A call whose client hung up ends there, as on Telegram: a long poll the bot
        # gave up (stopping) is not left waiting to clash with the next one.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        address = self._runner.addresses[0]
        self._port = int(address[1])
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        self._closing = True
        self._signal()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The API root: requests go to `{base_url}/bot{token}/{method}`."""
        return f"http://127.0.0.1:{self._port}"

    # -- assertions --------------------------------------------------------------

    def assert_clean(self, *, allow_unsupported: bool = False) -> None:
        """Fail with every violation, coverage gap and self-check error at once."""
        problems = [f"violation: {v}" for v in self.violations]
        problems += [f"fake's own output off-schema: {e}" for e in self.fake_errors]
        if not allow_unsupported:
            problems += [f"not covered by the fake: {u}" for u in self.unsupported]
        if problems:
            raise AssertionError("fake Bot API found problems:\n" + "\n".join(problems))

    def calls(self, method: str) -> list[JSON]:
        return [call.params for call in self.requests if call.method == method]

    def chat_log(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        return [m for m in self._sent.get(chat_id, []) if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> SentMessage:
        log_ = self.chat_log(chat_id)
        if not log_:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return log_[-1]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON] | None:
        return self._commands.get((_scope_key(scope), language_code))

    def menu_button(self, chat_id: int | None = None) -> JSON:
        """The menu button of a private chat (its own, else the default), as Telegram
        answers `getChatMenuButton`; `{"type": "commands"}` until one is set."""
        found = self._menu_buttons.get(chat_id) if chat_id is not None else None
        return dict(found or self._menu_buttons.get(None) or {"type": "commands"})

    @property
    def pending_update_ids(self) -> list[int]:
        return [u["update_id"] for u in self._pending]

    @property
    def webhook_url(self) -> str:
        return self._webhook_url

    @property
    def webhook_secret(self) -> str | None:
        """The secret_token of the current webhook, as Telegram would send it back."""
        return self._webhook_secret

    async def wait_until(
        self, predicate: Callable[[], bool], within: float = 5.0, what: str = "condition"
    ) -> None:
        """Tests drive a client that works concurrently; wait (real seconds) for its effect."""
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {within} s waiting for {what}")
            await asyncio.sleep(0.01)

    async def wait_confirmed(self, update_id: int, within: float = 5.0) -> None:
        """Wait until the client has confirmed (offset) or accepted (webhook) an update."""
        await self.wait_until(
            lambda: update_id not in self.pending_update_ids,
            within,
            f"update {update_id} to be confirmed",
        )

    # -- the world ---------------------------------------------------------------

    def user(
        self,
        first_name: str,
        *,
        language_code: str = "zh-hans",
        username: str | None = None,
        started: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            fake=self,
            id=next(self._user_ids),
            first_name=first_name,
            username=username,
            language_code=language_code,
            started=started,
        )
        self._users[user.id] = user
        return user

    def group(
        self,
        title: str,
        *,
        members: Sequence[FakeUser] = (),
        supergroup: bool = False,
        admins: Sequence[FakeUser] = (),
    ) -> FakeGroup:
        group = self._new_group(title, supergroup=supergroup)
        for user in (*admins, *members):
            group._ensure_member(user)
        group.admins = list(admins)
        return group

    def block(self, user: FakeUser) -> int:
        """The user blocks the bot: `my_chat_member` kicked, then 403 on every send."""
        user.blocked = True
        return self._bot_status_changed(user.private_chat(), user, "member", "kicked")

    def unblock(self, user: FakeUser) -> int:
        user.blocked = False
        return self._bot_status_changed(user.private_chat(), user, "kicked", "member")

    def age_callback(self, query_id: str, seconds: float) -> None:
        self._queries[query_id].created_at -= seconds

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` valid calls of `method` answer this error instead."""
        fault = _Fault(error_code=error_code, description=description, retry_after=retry_after)
        self._faults.setdefault(method, deque()).extend([fault] * count)

    def disconnect_next(self, method: str, *, count: int = 1, after_effect: bool = False) -> None:
        """Drop the connection; `after_effect` first performs the call (the answer is lost)."""
        fault = _Fault(disconnect=True, after_effect=after_effect)
        self._faults.setdefault(method, deque()).extend([fault] * count)

    def on_next(self, method: str, action: Callable[[JSON], None]) -> None:
        """Run `action` with the params of the next valid call of `method`, before any
        fault or effect: where a test kills the bot's process mid-call."""
        self._watchers.setdefault(method, deque()).append(action)

    # -- input from people ---------------------------------------------------------

    def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeGroup | None = None,
        forward_from: FakeUser | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A person writes; returns the update id (in `dropped_updates` if the bot can't see it)."""
        fields: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            fields["entities"] = entities
        if forward_from is not None:
            fields["forward_origin"] = {
                "type": "user",
                "date": _now_date() - 60,
                "sender_user": forward_from.as_user(),
            }
        return self._from_person(user, chat, fields, reply_to)

    def send_photo(
        self, user: FakeUser, data: bytes, caption: str = "", chat: FakeGroup | None = None
    ) -> int:
        small = self._store_file(data[:1024], "photos")
        large = self._store_file(data, "photos")
        fields: JSON = {
            "photo": [
                _photo_size(small, 90, 90),
                _photo_size(large, 800, 600),
            ]
        }
        if caption:
            fields["caption"] = caption
        return self._from_person(user, chat, fields)

    def send_sticker(self, user: FakeUser, *, chat: FakeGroup | None = None) -> int:
        stored = self._store_file(b"RIFF-sticker", "stickers")
        sticker: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._from_person(user, chat, {"sticker": sticker})

    def edit_text(
        self, user: FakeUser, message_id: int, text: str, *, chat: FakeGroup | None = None
    ) -> int:
        chat_id = chat.id if chat is not None else user.id
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None or message.get("from", {}).get("id") != user.id:
            raise ValueError(f"{user.first_name} has no message {message_id} in chat {chat_id}")
        message["text"] = text
        message["edit_date"] = _now_date()
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        return self._push("edited_message", copy.deepcopy(message), deliver=self._bot_sees(message))

    def channel_post(self, text: str) -> int:
        if self._channel is None:
            self._channel = {
                "id": -(1_000_000_000_000 + next(self._supergroup_ids)),
                "type": "channel",
                "title": "Huarong News",
            }
        message = self._new_message(self._channel, None, {"text": text})
        message["sender_chat"] = self._channel
        return self._push("channel_post", message)

    def press(self, user: FakeUser, message_id: int, chat_id: int, data: str) -> str:
        """Tap an inline button of the bot's message; returns the callback query id."""
        sent = next((m for m in self.chat_log(chat_id) if m.message_id == message_id), None)
        if sent is None:
            raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
        rows = (sent.reply_markup or {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == data for row in rows for b in row):
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        if chat_id > 0:
            user.started = True
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _Query(
            id=query_id,
            user=user,
            chat_id=chat_id,
            message_id=message_id,
            created_at=self.clock(),
        )
        query: JSON = {
            "id": query_id,
            "from": user.as_user(),
            "message": copy.deepcopy(self._messages[chat_id][message_id]),
            "chat_instance": str(abs(chat_id) * 31 + 7),
            "data": data,
        }
        self._push("callback_query", query)
        return query_id

    def push_raw(self, update: Mapping[str, Any]) -> int:
        """Queue any update, known type or not, unchecked; assigns `update_id` if absent."""
        raw = dict(update)
        if "update_id" not in raw:
            raw["update_id"] = next(self._update_ids)
        self._pending.append(raw)
        self._signal()
        return int(raw["update_id"])

    # -- building updates --------------------------------------------------------

    def _new_group(self, title: str, *, supergroup: bool) -> FakeGroup:
        if supergroup:
            group_id = -(1_000_000_000_000 + next(self._supergroup_ids))
        else:
            group_id = -next(self._group_ids)
        group = FakeGroup(fake=self, id=group_id, title=title, supergroup=supergroup)
        self._groups[group_id] = group
        return group

    def _from_person(
        self, user: FakeUser, chat: FakeGroup | None, fields: JSON, reply_to: int | None = None
    ) -> int:
        if chat is None:
            if user.blocked:
                self.unblock(user)
            user.started = True
            chat_json = user.private_chat()
        else:
            if chat.migrated_to is not None:
                raise ValueError(f"{chat.title} was migrated; people write in {chat.migrated_to}")
            if user not in chat.members:
                raise ValueError(f"{user.first_name} is not a member of {chat.title}")
            chat_json = chat.as_chat()
        if reply_to is not None:
            target = self._messages.get(int(chat_json["id"]), {}).get(reply_to)
            if target is None:
                raise ValueError(f"no message {reply_to} to reply to in {chat_json['id']}")
            fields["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        return self._push_message(chat_json, user, fields)

    def _push_message(self, chat: JSON, sender: FakeUser | None, fields: JSON) -> int:
        message = self._new_message(chat, sender.as_user() if sender else None, fields)
        return self._push("message", message, deliver=self._bot_sees(message))

    def _bot_sees(self, message: JSON) -> bool:
        """Whether Telegram would pass a group message to this bot at all.

        Outside its groups a bot sees nothing. In privacy mode (the default
        for bots, `can_read_all_group_messages` false) it sees service
        messages, replies to its own messages and commands not addressed to
        another bot (the fake's groups hold no other bot, so the "last bot to
        speak" rule always favours it); as an administrator it sees all.
        """
        group = self._groups.get(message["chat"]["id"])
        if group is None:
            return True
        if not group.bot_present:
            return False
        if not self.privacy_mode or group.bot_status == "administrator":
            return True
        if not any(key in message for key in _CONTENT_KEYS):
            return True
        replied = message.get("reply_to_message", {}).get("from", {})
        if replied.get("id") == self.bot["id"]:
            return True
        text = message.get("text") or message.get("caption") or ""
        entities = message.get("entities") or message.get("caption_entities") or []
        for entity in entities:
            if entity["type"] != "bot_command":
                continue
            command = _utf16_slice(text, entity["offset"], entity["length"])
            _, _, addressee = command.partition("@")
            if not addressee or addressee.lower() == str(self.bot["username"]).lower():
                return True
        return False

    def _new_message(self, chat: JSON, sender: JSON | None, fields: JSON) -> JSON:
        chat_id = int(chat["id"])
        message: JSON = {"message_id": self._next_message_id(chat_id), "date": _now_date()}
        if sender is not None:
            message["from"] = sender
        message["chat"] = dict(chat)
        message.update(fields)
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_status_changed(self, chat: JSON, by: FakeUser, old: str, new: str) -> int:
        change: JSON = {
            "chat": chat,
            "from": by.as_user(),
            "date": _now_date(),
            "old_chat_member": self._bot_member(old),
            "new_chat_member": self._bot_member(new),
        }
        return self._push("my_chat_member", change)

    def _bot_member(self, status: str) -> JSON:
        return _member_json(self.bot_user(), status)

    def bot_user(self) -> JSON:
        """The bot as a `User` inside messages (getMe's extra fields are getMe's only)."""
        return {key: self.bot[key] for key in ("id", "is_bot", "first_name", "username")}

    def _push(self, kind: str, payload: JSON, *, deliver: bool = True) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        self._self_check(update, ["Update"], "update")
        if not deliver or kind not in self._allowed:
            self.dropped_updates.append(update_id)
            return update_id
        self._pending.append(copy.deepcopy(update))
        self._signal()
        return update_id

    def _signal(self) -> None:
        """Wake every waiter; each waits on the event current when it started waiting."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _self_check(self, value: Any, types: Sequence[str], what: str) -> None:
        self.fake_errors.extend(self.schema.check_value(value, types, what))

    def _store_file(self, data: bytes, folder: str) -> _StoredFile:
        number = next(self._file_numbers)
        stored = _StoredFile(
            file_id=f"AgACAgFAKE{number:08d}{len(data):x}",
            file_unique_id=f"AQADFAKE{number:06d}",
            path=f"{folder}/file_{number}.jpg",
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored

    # -- HTTP ------------------------------------------------------------------

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            self.violations.append("file download with a wrong token")
            return _error_response(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.path == path), None)
        if stored is None:
            self.violations.append(f"download of unknown file path {path!r}")
            return _error_response(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            self.violations.append("request with a wrong token")
            return _error_response(ApiError(401, "Unauthorized"))
        name = request.match_info["method"]
        method = self.schema.method(name)
        if method is None:
            self.violations.append(f"unknown method {name!r}")
            self.requests.append(ApiCall(name, {}))
            return _error_response(ApiError(404, "Not Found"))
        try:
            raw, encoded = await _read_params(request)
        except ApiError as error:
            self.violations.append(f"{method.name}: {error.description}")
            self.requests.append(ApiCall(method.name, {}))
            return _error_response(error)
        params, problems = self.schema.check_params(method, raw, encoded=encoded)
        self.requests.append(ApiCall(method.name, params))
        if not problems:
            problems = check_limits(method.name, params)
        if problems:
            self.violations.extend(p.detail for p in problems)
            log.warning("fake_bot_api.violation", method=method.name, problems=len(problems))
            return _error_response(_problem_error(problems[0]))
        try:
            result = await self._call(method, params)
        except ApiError as error:
            return _error_response(error)
        except _Disconnect:
            return _drop(request)
        if method.name != "getUpdates":  # updates were checked when made; push_raw is free
            self._self_check(result, method.returns, f"{method.name} result")
        return web.json_response({"ok": True, "result": result})

    async def _call(self, method: MethodSpec, params: JSON) -> Any:
        name = method.name
        key = _retry_key(name, params)
        now = self.clock()
        not_before = self._not_before.get(key)
        if not_before is not None:
            if now < not_before - RETRY_AFTER_TOLERANCE:
                self.violations.append(
                    f"{name}: retried before retry_after ({not_before - now:.2f} s early, {key})"
                )
                raise _too_many(math.ceil(not_before - now))
            del self._not_before[key]
        watchers = self._watchers.get(name)
        if watchers:
            watchers.popleft()(params)
        faults = self._faults.get(name)
        fault = faults.popleft() if faults else None
        if fault is not None and fault.disconnect and not fault.after_effect:
            raise _Disconnect
        if fault is not None and not fault.disconnect:
            parameters = None
            if fault.retry_after is not None:
                parameters = {"retry_after": fault.retry_after}
                self._not_before[key] = now + fault.retry_after
            raise ApiError(fault.error_code, fault.description, parameters)
        counted = _counts_as_send(name)
        if counted and self.flood_limits.enabled:
            self._flood_check(name, params, key, now)
        handler = getattr(self, f"_m_{name}", None)
        if handler is None:
            self.unsupported.append(name)
            raise ApiError(400, "Bad Request: method not supported by the fake")
        result = await handler(params)
        if counted:
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int):
                self._sends_by_chat.setdefault(chat_id, deque()).append(now)
            self._sends_overall.append(now)
        if fault is not None:
            raise _Disconnect
        return result

    def _flood_check(self, name: str, params: JSON, key: str, now: float) -> None:
        limits = self.flood_limits
        waits: list[float] = []
        overall = self._sends_overall
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        if len(overall) >= limits.overall_per_second:
            waits.append(overall[0] + 1.0 - now)
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            window, limit = (1.0, limits.private_per_second)
            if chat_id < 0:
                window, limit = (60.0, limits.group_per_minute)
            sends = self._sends_by_chat.setdefault(chat_id, deque())
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= limit:
                waits.append(sends[-limit] + window - now)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            self._not_before[key] = now + retry_after
            self.flood_refusals.append(f"{name} to {chat_id}: retry after {retry_after}")
            raise _too_many(retry_after)

    # -- methods -----------------------------------------------------------------

    async def _m_getMe(self, params: JSON) -> Any:
        return dict(self.bot)

    async def _m_getUpdates(self, params: JSON) -> Any:
        if self._webhook_url:
            self.conflicts.append("getUpdates while a webhook is set")
            raise ApiError(409, _CONFLICT_WEBHOOK)
        if "allowed_updates" in params:
            self._allowed = _allowed(params["allowed_updates"])
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        limit = int(params.get("limit", 100))
        timeout = int(params.get("timeout", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._signal()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._webhook_url:
                self.conflicts.append("getUpdates while a webhook is set")
                raise ApiError(409, _CONFLICT_WEBHOOK)
            if generation != self._poll_generation:
                self.conflicts.append("getUpdates terminated by another getUpdates")
                raise ApiError(409, _CONFLICT_POLL)
            if self._pending or self._closing:
                return copy.deepcopy(self._pending[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def _m_setWebhook(self, params: JSON) -> Any:
        url = params["url"]
        if url == "":
            await self._stop_webhook()
            return True
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if "certificate" in params:
            self.unsupported.append("setWebhook certificate")
        await self._stop_webhook()
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in params:
            self._allowed = _allowed(params["allowed_updates"])
        self._webhook_url = url
        self._webhook_secret = params.get("secret_token")
        self._webhook_last_error = None
        self._poll_generation += 1
        self._signal()
        self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _m_deleteWebhook(self, params: JSON) -> Any:
        await self._stop_webhook()
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getWebhookInfo(self, params: JSON) -> Any:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_url:
            info["max_connections"] = 40
            info["allowed_updates"] = sorted(self._allowed)
        if self._webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _m_sendMessage(self, params: JSON) -> Any:
        chat = self._writable_chat(params["chat_id"])
        parsed = self._parse(params["text"], params.get("parse_mode"), params.get("entities"))
        fields: JSON = {"text": parsed.text}
        if parsed.entities:
            fields["entities"] = list(parsed.entities)
        return self._bot_sends(chat, params, fields, parsed, params["text"])

    async def _m_sendPhoto(self, params: JSON) -> Any:
        chat = self._writable_chat(params["chat_id"])
        photo = params["photo"]
        if isinstance(photo, UploadedFile):
            stored = self._store_file(photo.data, "photos")
        elif photo in self._files:
            stored = self._files[photo]
        elif isinstance(photo, str) and photo.startswith(("http://", "https://")):
            stored = self._store_file(b"", "photos")
            self.unsupported.append("sendPhoto by URL (the fake does not fetch it)")
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = params.get("caption", "")
        parsed = self._parse(caption, params.get("parse_mode"), params.get("caption_entities"))
        fields: JSON = {"photo": [_photo_size(stored, 800, 600)]}
        if parsed.text:
            fields["caption"] = parsed.text
        if parsed.entities:
            fields["caption_entities"] = list(parsed.entities)
        return self._bot_sends(chat, params, fields, parsed, caption, photo_file_id=stored.file_id)

    async def _m_editMessageText(self, params: JSON) -> Any:
        chat_id, sent, message = self._editable(params)
        if sent.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = self._parse(params["text"], params.get("parse_mode"), params.get("entities"))
        # Telegram drops the inline keyboard of an edit that does not repeat it.
        markup = params.get("reply_markup")
        if (parsed.text, parsed.entities, markup) == (sent.text, sent.entities, sent.reply_markup):
            raise ApiError(400, _NOT_MODIFIED)
        sent.text, sent.html, sent.entities = parsed.text, params["text"], parsed.entities
        message["text"] = parsed.text
        message.pop("entities", None)
        if parsed.entities:
            message["entities"] = list(parsed.entities)
        return self._edited(chat_id, sent, message, markup)

    async def _m_editMessageReplyMarkup(self, params: JSON) -> Any:
        chat_id, sent, message = self._editable(params)
        markup = params.get("reply_markup")
        if markup == sent.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        return self._edited(chat_id, sent, message, markup)

    async def _m_deleteMessage(self, params: JSON) -> Any:
        chat_id = self._chat_id(params["chat_id"])
        message = self._messages.get(chat_id, {}).pop(params["message_id"], None)
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        for sent in self._sent.get(chat_id, []):
            if sent.message_id == params["message_id"]:
                sent.deleted = True
        return True

    async def _m_answerCallbackQuery(self, params: JSON) -> Any:
        query_id = params["callback_query_id"]
        query = self._queries.get(query_id)
        now = self.clock()
        if query is None or now - query.created_at > CALLBACK_QUERY_LIFETIME:
            raise ApiError(400, _TOO_OLD)
        if query.answered:
            self.violations.append(f"answerCallbackQuery: query {query_id} answered twice")
            raise ApiError(400, _TOO_OLD)
        query.answered = True
        self.callback_answers[query_id] = CallbackAnswer(
            query_id=query_id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            answered_at=now,
        )
        return True

    async def _m_setMyCommands(self, params: JSON) -> Any:
        self._scope_chat(params.get("scope"))
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        self._commands[key] = [dict(c) for c in params["commands"]]
        return True

    async def _m_deleteMyCommands(self, params: JSON) -> Any:
        self._scope_chat(params.get("scope"))
        self._commands.pop((_scope_key(params.get("scope")), params.get("language_code", "")), None)
        return True

    async def _m_getMyCommands(self, params: JSON) -> Any:
        self._scope_chat(params.get("scope"))
        found = self.commands(params.get("scope"), params.get("language_code", ""))
        return [dict(c) for c in found or []]

    async def _m_setChatMenuButton(self, params: JSON) -> Any:
        chat_id = params.get("chat_id")
        if chat_id is not None and not isinstance(self._known_chat(chat_id), FakeUser):
            raise ApiError(400, "Bad Request: invalid chat_id specified")
        button = copy.deepcopy(params.get("menu_button") or {"type": "default"})
        if button.get("type") == "default":
            self._menu_buttons.pop(chat_id, None)
        else:
            self._menu_buttons[chat_id] = button
        return True

    async def _m_getChatMenuButton(self, params: JSON) -> Any:
        chat_id = params.get("chat_id")
        if chat_id is not None and not isinstance(self._known_chat(chat_id), FakeUser):
            raise ApiError(400, "Bad Request: invalid chat_id specified")
        return self.menu_button(chat_id)

    async def _m_getFile(self, params: JSON) -> Any:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    async def _m_getChat(self, params: JSON) -> Any:
        chat = self._known_chat(params["chat_id"])
        info: JSON = dict(chat if isinstance(chat, dict) else _chat_json(chat))
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    async def _m_getChatMember(self, params: JSON) -> Any:
        chat = self._known_chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == self.bot["id"]:
            status = "member"
            if isinstance(chat, FakeGroup):
                status = chat.bot_status
            elif isinstance(chat, FakeUser) and chat.blocked:
                status = "kicked"
            return _member_json(self.bot_user(), status)
        user = self._users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        if isinstance(chat, FakeGroup):
            return _member_json(user.as_user(), _status_in(chat, user))
        if isinstance(chat, FakeUser) and chat is user:
            return _member_json(user.as_user(), "member")
        return _member_json(user.as_user(), "left")

    async def _m_getChatAdministrators(self, params: JSON) -> Any:
        chat = self._known_chat(params["chat_id"])
        if not isinstance(chat, FakeGroup):
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        admins = [_member_json(u.as_user(), _status_in(chat, u)) for u in chat.admins]
        if chat.bot_status == "administrator":
            admins.append(_member_json(self.bot_user(), "administrator"))
        return admins

    async def _m_leaveChat(self, params: JSON) -> Any:
        chat = self._known_chat(params["chat_id"])
        if not isinstance(chat, FakeGroup):
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        if not chat.bot_present:
            raise ApiError(403, _not_member(chat))
        old = chat.bot_status
        chat.bot_status = "left"
        change: JSON = {
            "chat": chat.as_chat(),
            "from": self.bot_user(),
            "date": _now_date(),
            "old_chat_member": self._bot_member(old),
            "new_chat_member": self._bot_member("left"),
        }
        self._push("my_chat_member", change)
        return True

    async def _m_sendChatAction(self, params: JSON) -> Any:
        chat = self._writable_chat(params["chat_id"])
        self.chat_actions.append((_chat_json(chat)["id"], params["action"]))
        return True

    # -- method helpers ------------------------------------------------------------

    def _parse(self, text: str, parse_mode: Any, entities: Any) -> ParsedText:
        if isinstance(parse_mode, str) and parse_mode.lower() in ("markdown", "markdownv2"):
            self.unsupported.append(f"parse_mode {parse_mode} (the fake parses only HTML)")
        if isinstance(entities, list):
            return ParsedText(text=text, entities=tuple(dict(e) for e in entities))
        try:
            return parse_text(text, parse_mode if isinstance(parse_mode, str) else None)
        except EntityParseError as error:  # check_limits refused it already
            raise ApiError(400, error.description) from error

    def _bot_sends(
        self,
        chat: FakeUser | FakeGroup | JSON,
        params: JSON,
        fields: JSON,
        parsed: ParsedText,
        source: str,
        *,
        photo_file_id: str | None = None,
    ) -> JSON:
        chat_json = _chat_json(chat)
        chat_id = int(chat_json["id"])
        reply = params.get("reply_parameters")
        if reply is not None:
            target = self._messages.get(int(reply.get("chat_id", chat_id)), {}).get(
                reply["message_id"]
            )
            if target is not None:
                fields["reply_to_message"] = {
                    k: v for k, v in target.items() if k != "reply_to_message"
                }
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            fields["reply_markup"] = markup
        message = self._new_message(chat_json, self.bot_user(), fields)
        self._sent.setdefault(chat_id, []).append(
            SentMessage(
                message_id=message["message_id"],
                chat_id=chat_id,
                text=parsed.text,
                html=source,
                entities=tuple(parsed.entities),
                reply_markup=fields.get("reply_markup"),
                sent_at=self.clock(),
                kind="photo" if photo_file_id else "text",
                photo_file_id=photo_file_id,
            )
        )
        return copy.deepcopy(message)

    def _editable(self, params: JSON) -> tuple[int, SentMessage, JSON]:
        if "inline_message_id" in params:
            self.unsupported.append("editing inline messages")
            raise ApiError(400, "Bad Request: method not supported by the fake")
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        chat = self._writable_chat(params["chat_id"])
        chat_id = int(_chat_json(chat)["id"])
        message = self._messages.get(chat_id, {}).get(params["message_id"])
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        sent = next(
            (m for m in self._sent.get(chat_id, []) if m.message_id == params["message_id"]), None
        )
        if sent is None:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat_id, sent, message

    def _edited(self, chat_id: int, sent: SentMessage, message: JSON, markup: Any) -> JSON:
        inline = markup if isinstance(markup, dict) else None
        sent.reply_markup = inline
        sent.edits += 1
        message.pop("reply_markup", None)
        if inline is not None:
            message["reply_markup"] = inline
        message["edit_date"] = _now_date()
        return copy.deepcopy(message)

    def _chat_id(self, raw: Any) -> int:
        return int(_chat_json(self._known_chat(raw))["id"])

    def _known_chat(self, raw: Any) -> FakeUser | FakeGroup | JSON:
        if isinstance(raw, str):
            if raw.startswith("@"):
                name = raw[1:].lower()
                for group in self._groups.values():
                    if group.username and group.username.lower() == name:
                        return group
                raise ApiError(400, "Bad Request: chat not found")
            if not re.fullmatch(r"-?\d+", raw):
                raise ApiError(400, "Bad Request: chat not found")
            raw = int(raw)
        if raw in self._users:
            return self._users[raw]
        if raw in self._groups:
            return self._groups[raw]
        if self._channel is not None and raw == self._channel["id"]:
            return self._channel
        raise ApiError(400, "Bad Request: chat not found")

    def _writable_chat(self, raw: Any) -> FakeUser | FakeGroup | JSON:
        chat = self._known_chat(raw)
        if isinstance(chat, FakeUser):
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif isinstance(chat, FakeGroup):
            if chat.migrated_to is not None:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": chat.migrated_to},
                )
            if chat.bot_status == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {chat.kind} chat")
            if not chat.bot_present:
                raise ApiError(403, _not_member(chat))
        return chat

    def _scope_chat(self, scope: Any) -> None:
        if isinstance(scope, dict) and "chat_id" in scope:
            chat = self._known_chat(scope["chat_id"])
            if not isinstance(chat, FakeGroup) and scope.get("type") != "chat":
                raise ApiError(400, "Bad Request: can't change commands in private chats")

    # -- webhook -------------------------------------------------------------------

    async def _stop_webhook(self) -> None:
        self._webhook_url = ""
        self._webhook_secret = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhook(self) -> None:
        """One update at a time, in order; a failed one is retried before any later one."""
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        while True:
            if not self._pending:
                changed = self._changed
                await changed.wait()
                continue
            update = self._pending[0]
            update_id = int(update["update_id"])
            headers = {}
            if self._webhook_secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook_secret
            self.webhook_attempts[update_id] += 1
            error: str | None = None
            try:
                async with self._session.post(
                    self._webhook_url, json=update, headers=headers, timeout=timeout
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            if error is None:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                self.webhook_delivered.append(update_id)
                self._signal()
            else:
                self._webhook_last_error = (_now_date(), error)
                await asyncio.sleep(self.redeliver_delay)


# -- module helpers ----------------------------------------------------------------

_SCHEMA: BotApiSchema | None = None


def _default_schema() -> BotApiSchema:
    """Loaded once per test session: it is 200 kB of JSON."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = BotApiSchema.load()
    return _SCHEMA


async def _read_params(request: web.Request) -> tuple[dict[str, Any], bool | frozenset[str]]:
    raw: dict[str, Any] = dict(request.query)
    query_names = frozenset(raw)
    if not request.body_exists:
        return raw, True
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise ApiError(400, "Bad Request: can't parse JSON") from error
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        raw.update(body)
        return raw, query_names - frozenset(body)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = UploadedFile(
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            else:
                raw[key] = value
        return raw, True
    body = await request.read()
    if not body:
        return raw, True
    raise ApiError(400, f"Bad Request: unsupported Content-Type {content_type!r}")


def _error_response(error: ApiError) -> web.Response:
    payload: JSON = {"ok": False, "error_code": error.error_code, "description": error.description}
    if error.parameters:
        payload["parameters"] = error.parameters
    return web.json_response(payload, status=error.error_code)


def _drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)


def _problem_error(problem: Problem) -> ApiError:
    return ApiError(problem.error_code, problem.description)


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def _counts_as_send(method: str) -> bool:
    return (method.startswith("send") and method != "sendChatAction") or method in _FORWARDING


def _writes(method: str) -> bool:
    return method.startswith(("send", "edit", "forward", "copy", "delete"))


def _retry_key(method: str, params: JSON) -> str:
    """What a 429 holds back: sends into that chat, or that other call into it, or that method."""
    chat_id = params.get("chat_id")
    if chat_id is not None and _writes(method):
        return f"{'send' if _counts_as_send(method) else method}:{chat_id}"
    return f"method:{method}"


def _allowed(names: Sequence[str]) -> frozenset[str]:
    return frozenset(names) if names else DEFAULT_ALLOWED_UPDATES


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _now_date() -> int:
    return int(time.time())


def _chat_json(chat: FakeUser | FakeGroup | JSON) -> JSON:
    if isinstance(chat, FakeUser):
        return chat.private_chat()
    if isinstance(chat, FakeGroup):
        return chat.as_chat()
    return chat


def _not_member(group: FakeGroup) -> str:
    return f"Forbidden: bot is not a member of the {group.kind} chat"


def _status_in(group: FakeGroup, user: FakeUser) -> str:
    if group.admins and group.admins[0] is user:
        return "creator"
    if user in group.admins:
        return "administrator"
    return "member" if user in group.members else "left"


def _photo_size(stored: _StoredFile, width: int, height: int) -> JSON:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": width,
        "height": height,
        "file_size": len(stored.data),
    }


def _member_json(user: JSON, status: str) -> JSON:
    member: JSON = {"status": status, "user": dict(user)}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": False,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        )
    elif status == "kicked":
        member["until_date"] = 0
    return member


def _utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def _command_entities(text: str) -> list[JSON]:
    """Telegram marks every `/command` (optionally `@bot`) at a word boundary."""
    entities = []
    for match in _COMMAND.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return entities
