"""Huarong on Telegram: polling or webhooks, club groups, buttons, deep links, flood control.

`huarong serve` runs it when `HUARONG_TELEGRAM_TOKEN` is set (see
`huarong_telegram.service`); embedders build a `TelegramService` themselves.
"""

from __future__ import annotations

from huarong_telegram.api import (
    BadRequest,
    BotApi,
    ChatMigrated,
    Conflict,
    Forbidden,
    MessageNotModified,
    NetworkError,
    QueryTooOld,
    RetryAfter,
    ServerError,
    TelegramError,
)
from huarong_telegram.bot import TelegramBot
from huarong_telegram.pacing import OutboundScheduler, Priority
from huarong_telegram.sender import TelegramSender
from huarong_telegram.service import TelegramService, create

__all__ = [
    "BadRequest",
    "BotApi",
    "ChatMigrated",
    "Conflict",
    "Forbidden",
    "MessageNotModified",
    "NetworkError",
    "OutboundScheduler",
    "Priority",
    "QueryTooOld",
    "RetryAfter",
    "ServerError",
    "TelegramBot",
    "TelegramError",
    "TelegramSender",
    "TelegramService",
    "create",
]
