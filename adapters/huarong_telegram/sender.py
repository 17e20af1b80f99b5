"""Notifications and announcements out through Telegram: the core's `Sender` port.

The delivery worker hands over one message for one account or group; it goes
through the same outbound scheduler as replies, at the message's priority
(announcements wait behind replies and notices). The answer tells the worker
what happened: `TemporaryFailure` only when Telegram surely did not get it,
`PermanentFailure` when it never will (blocked, kicked: recorded as such),
and anything unknown (a send that timed out after leaving) propagates as is,
so the worker never sends it twice.
"""

from __future__ import annotations

from huarong_core.conversation import render_message
from huarong_core.delivery import (
    DeliveryTarget,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
)
from huarong_core.notices import Priority as CorePriority
from huarong_telegram.api import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
)
from huarong_telegram.bot import TelegramBot, telegram_chunks
from huarong_telegram.formatting import format_message
from huarong_telegram.pacing import Priority, SchedulerStopped

PRIORITIES = {
    CorePriority.URGENT: Priority.URGENT,
    CorePriority.NORMAL: Priority.NORMAL,
    CorePriority.BULK: Priority.BULK,
}


class TelegramSender:
    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
        try:
            chat_id = int(target.address)
        except ValueError:
            raise PermanentFailure("bad_address") from None
        if message.message is not None:
            tz = self.bot.handle.community.tz
            chunks = telegram_chunks(render_message(message.message, message.locale, tz))
        else:
            chunks = format_message(message.text)
        priority = PRIORITIES.get(message.priority, Priority.NORMAL)
        try:
            await self.bot.send_chunks(chat_id, chunks, priority, None)
        except Forbidden as exc:  # the bot already marked the chat unreachable
            raise PermanentFailure("forbidden") from exc
        except RetryAfter as exc:
            raise TemporaryFailure("rate_limited", retry_after=exc.retry_after) from exc
        except (ServerError, SchedulerStopped) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        except NetworkError as exc:
            if exc.sent is False:
                raise TemporaryFailure("network") from exc
            raise  # it may have arrived: the worker records an unknown outcome
        except BadRequest as exc:
            raise PermanentFailure("bad_request") from exc
