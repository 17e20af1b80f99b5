"""The two ways updates come in, both through the core's durable inbox.

Polling: `getUpdates` from the stored offset; the batch is recorded in the
inbox, handled, and only then is the offset moved past it. A process
killed anywhere in between finds the batch again on restart: recorded
updates are not recorded twice, handled ones are not handled twice.

Webhook: Telegram POSTs each update; the route checks the secret header
(403 and nothing done otherwise), records the update and answers 200 at
once; a redelivered `update_id` is already recorded and changes nothing.
A worker handles recorded updates outside the request: each chat's (and
each person's) in the order they came, separate chats side by side.
"""

from __future__ import annotations

import hmac
from collections.abc import Hashable, Mapping
from typing import Any

import structlog
from aiohttp import web

from huarong_core.background import BackgroundLoop
from huarong_core.inbox import AdapterState, Inbox, InboxWorker
from huarong_telegram.api import BotApi, Conflict, NetworkError, TelegramError, parse_json

log = structlog.get_logger(__name__)

SOURCE = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
"""What the bot asks Telegram for; other kinds that still arrive are ignored."""
POLL_TIMEOUT = 25
"""Long-poll seconds: Telegram answers as soon as an update arrives."""
OFFSET_KEY = "offset"
CONCURRENT_LANES = 8
"""Chats whose updates the worker handles side by side (each chat in order)."""


def _update_id(update: Any) -> int | None:
    return _whole(update.get("update_id")) if isinstance(update, dict) else None


def _whole(value: Any) -> int | None:
    """A JSON whole number (not a boolean, which Python counts as one)."""
    return value if type(value) is int else None


def update_lanes(update: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """The chat and the person an update comes from (`InboxWorker` lanes): a
    person's taps in a group and their private chat stay in order, and so does
    everything said in one chat; separate chats go side by side."""
    keys: list[Hashable] = []
    for kind in ALLOWED_UPDATES:
        body = update.get(kind)
        if not isinstance(body, dict):
            continue
        sender = _object_id(body.get("from"))
        if sender is not None:
            keys.append(("user", sender))
        chat = body.get("chat")
        if chat is None and isinstance(body.get("message"), dict):
            chat = body["message"].get("chat")
        chat_id = _object_id(chat)
        if chat_id is not None:
            keys.append(("chat", chat_id))
    return tuple(keys)


def _object_id(value: Any) -> int | None:
    """`value["id"]` when `value` is an object with a whole-number id."""
    return _whole(value.get("id")) if isinstance(value, dict) else None


class Poller(BackgroundLoop):
    """Long polling with the offset kept in the database."""

    name = "telegram.poller"

    def __init__(
        self,
        api: BotApi,
        worker: InboxWorker,
        state: AdapterState,
        *,
        timeout: int = POLL_TIMEOUT,
        retry_delay: float = 5.0,
    ) -> None:
        super().__init__(interval=0.01)
        self.api = api
        self.worker = worker
        self.state = state
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.conflicts = 0

    async def _background_pass(self) -> None:
        try:
            await self.poll_once()
        except Conflict as exc:
            # Two pollers, or a webhook set elsewhere: neither side gets updates reliably.
            self.conflicts += 1
            log.error(
                "telegram.poll_conflict",
                hint="another process polls this bot, or a webhook is set"
                " (unset HUARONG_TELEGRAM_WEBHOOK_URL elsewhere, or deleteWebhook)",
                description=exc.description,
            )
            await self._pause(self.retry_delay)
        except (NetworkError, TelegramError) as exc:
            log.warning("telegram.poll_failed", error=type(exc).__name__)
            await self._pause(self.retry_delay)

    async def poll_once(self) -> int:
        """One `getUpdates`: record, handle, then move the offset; how many updates came."""
        stored = await self.state.get(OFFSET_KEY)
        params: dict[str, Any] = {
            "timeout": self.timeout,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if stored is not None:
            params["offset"] = int(stored)
        updates = await self._unless_stopped(
            self.api.call("getUpdates", params, timeout=self.timeout + 10)
        )
        if not isinstance(updates, list) or not updates:
            return 0
        good = [(u, i) for u in updates if (i := _update_id(u)) is not None]
        if len(good) < len(updates):
            log.warning("telegram.update_without_id", count=len(updates) - len(good))
        await self.worker.inbox.put_many([(str(i), u) for u, i in good])
        await self.worker.drain()
        if good:
            await self.state.set(OFFSET_KEY, str(max(i for _, i in good) + 1))
        return len(updates)


def webhook_app(inbox: Inbox, worker: InboxWorker, secret: str, path: str) -> web.Application:
    """An aiohttp application with the webhook route at `path` (POST only)."""
    app = web.Application(client_max_size=1024 * 1024)

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram.webhook_refused", reason="secret")
            return web.Response(status=403, text="forbidden")
        try:
            body = (await request.read()).decode("utf-8-sig")
            update = parse_json(body)
        except (ValueError, UnicodeDecodeError):
            log.warning("telegram.webhook_bad_json")
            return web.Response(status=400, text="malformed JSON")
        update_id = _update_id(update)
        if update_id is None:
            log.warning("telegram.webhook_no_update_id")
            return web.Response(status=400, text="no update_id")
        if not await inbox.put(str(update_id), update, encoded=body):
            log.info("telegram.webhook_redelivered", update=update_id)
        worker.wake()
        return web.Response(status=200, text="ok")

    app.router.add_post(path, receive)
    return app
