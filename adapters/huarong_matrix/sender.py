"""Notifications and announcements out through Matrix: the core's `Sender` port.

A member's account is reached in their direct room with the bot (opened,
encrypted, on the first message); a club's room directly. Each event's
transaction id comes from the delivery's idempotency key, so the
homeserver keeps one copy however often the worker tries: that is why a
send that failed for want of an answer may honestly be called temporary.
"""

from __future__ import annotations

import contextlib

from huarong_core.commands import SetAccountReachable
from huarong_core.conversation import RenderedMessage, render_message
from huarong_core.delivery import (
    DeliveryTarget,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
)
from huarong_core.domain.audit import Actor
from huarong_core.errors import NotFound
from huarong_matrix.bot import PLATFORM, MatrixBot, txn_base
from huarong_matrix.client import MatrixFailure
from huarong_matrix.outbound import OutboundStopped

GONE = frozenset({"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_USER", "M_INVALID_PARAM"})
"""Refusals that another try would only repeat: nobody there, or not allowed."""


class MatrixSender:
    def __init__(self, bot: MatrixBot) -> None:
        self.bot = bot

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
        personal = target.member_id is not None
        try:
            room = await self.bot.direct.room_for(target.address) if personal else target.address
            if message.message is not None:
                rendered = render_message(
                    message.message, message.locale, self.bot.handle.community.tz
                )
            else:
                rendered = RenderedMessage(message.text, (), False, False)
            await self.bot.send_rendered(
                room,
                rendered,
                message.locale,
                txn_base(message.idempotency_key),
                message.priority,
                person=target.address if personal else None,
            )
        except OutboundStopped as exc:
            raise TemporaryFailure("stopping") from exc
        except MatrixFailure as exc:
            if exc.temporary:
                raise TemporaryFailure(exc.errcode) from exc
            if exc.errcode in GONE and personal:
                await self._unreachable(target.address)
            raise PermanentFailure(exc.errcode) from exc

    async def _unreachable(self, user_id: str) -> None:
        with contextlib.suppress(NotFound):
            await self.bot.handle.execute(
                SetAccountReachable(PLATFORM, user_id, False), actor=Actor.system(PLATFORM)
            )
