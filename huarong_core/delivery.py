"""Sending announcements and notifications: the sender port and the worker that drives it.

    senders = {"telegram": TelegramSender(bot), "matrix": MatrixSender(client)}
    async with Huarong(url) as huarong, DeliveryWorker(huarong, senders):
        ...  # announcements posted meanwhile go out

Posting an announcement writes one delivery row per recipient (a member, or
a bound group chat) in the posting transaction; the `NotificationRelay`
writes one notification row per recipient of an event (a seat off the
waitlist, a request's new state). A `DeliveryWorker` takes both from there,
for every community of the database, notifications first (they are about
the reader's own affairs; an announcement to 200 people can wait a moment):

1. In a committed unit of work it claims one due `pending` row (PostgreSQL:
   `FOR UPDATE SKIP LOCKED`, so workers in many processes never claim one
   row twice), picks where to send it and marks it `sending` under a lease
   with a fresh attempt id.
2. It sends outside any transaction, through the `Sender` of the platform.
3. In another unit it records the outcome under that attempt id: `sent`;
   `pending` again later after a `TemporaryFailure` (backoff, or the
   platform's own `retry_after`, which also pauses that platform); `failed`
   after a `PermanentFailure` or too many attempts.

A member's row is sent to one of the member's linked accounts, chosen at
send time in the order of `senders` (so a member gets each message once,
however many platforms they linked), and worded in the member's language
at that time. When a platform refuses for good
(the member blocked the bot) and the member has an account elsewhere, the
row waits for that one instead; a member left with no account at all is
`unreachable`.

Never sent twice: a row is only ever claimed while `pending`, and it goes
back to `pending` only on a failure that the sender vouches was not
delivered. When a send's outcome cannot be known (the send timed out, the
sender raised something unexpected, or the process died mid-send and the
lease ran out) the row becomes `unknown` and stays so; the status query
counts those (for notifications, `NotificationRepository.counts`). A graceful
`stop()` lets the sends in flight finish and be recorded; rows not yet
claimed stay `pending` for the next worker.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import attrs
import structlog

from huarong_core.app import Huarong
from huarong_core.background import BackgroundLoop
from huarong_core.commands.announcements import DeliveryState
from huarong_core.conversation.render import format_value, render_message
from huarong_core.conversation.values import Message
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import DatabaseBusy, TransientConflict
from huarong_core.i18n import translate
from huarong_core.notices.values import Priority, message_from_json
from huarong_core.storage.base import Connection
from huarong_core.storage.repositories.announcements import (
    DeliveryQueue,
    LeasedQueue,
    MessageParts,
    QueuedDelivery,
    QueuedRow,
)
from huarong_core.storage.repositories.notifications import (
    NoticeSetting,
    NotificationQueue,
    QueuedNotification,
)

__all__ = [
    "ANNOUNCEMENT_MESSAGE",
    "DeliveryFailure",
    "DeliveryTarget",
    "DeliveryWorker",
    "MemorySender",
    "OutgoingMessage",
    "PermanentFailure",
    "Priority",
    "Sender",
    "TemporaryFailure",
    "backoff",
    "render_announcement",
    "render_notification",
]

log = structlog.get_logger(__name__)

ANNOUNCEMENT_MESSAGE = "notice.announcement"
"""The catalog key framing an announcement's title and body."""
DEFAULT_CONCURRENCY = 4
DEFAULT_INTERVAL = 5.0
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_SEND_TIMEOUT = 60.0
DEFAULT_MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
RECORD_ATTEMPTS = 3


# --- the port ------------------------------------------------------------------------


class DeliveryFailure(Exception):
    """A sender could not deliver; `reason` is a short code for the status (no secrets)."""

    def __init__(self, reason: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason or type(self).__name__
        self.retry_after = retry_after


class TemporaryFailure(DeliveryFailure):
    """Not delivered, try again later: a network error before the request was sent,
    a 5xx, or a rate limit (Telegram's 429 with `retry_after` seconds)."""


class PermanentFailure(DeliveryFailure):
    """Not delivered and never will be there: the member blocked the bot, the chat is gone."""


DeliveryKind = Literal["announcement", "notification"]


@attrs.frozen
class DeliveryTarget:
    """Where one delivery goes: a member's account (a direct message) or a group chat."""

    platform: str
    address: str
    """The account id or the chat id on `platform`."""
    community: str
    announcement_id: int | None
    """The announcement sent; None for a notification."""
    delivery_id: int
    """The row sent: an announcement delivery's id, or a notification's (see `kind`)."""
    member_id: int | None = None
    """None for a group chat."""
    kind: DeliveryKind = "announcement"

    @property
    def is_chat(self) -> bool:
        return self.member_id is None

    @property
    def notification_id(self) -> int | None:
        return self.delivery_id if self.kind == "notification" else None


@attrs.frozen
class OutgoingMessage:
    text: str
    """The whole message in `locale`, plain text."""
    locale: str
    key: str
    params: dict[str, str]
    """The catalog key and parameters `text` came from (for adapters that format)."""
    idempotency_key: str
    """The same for every attempt of one delivery: a platform that deduplicates
    (Matrix transaction ids) can make a repeated send harmless."""
    message: Message | None = None
    """The neutral message (lines and buttons) `text` was rendered from, for adapters
    that format it themselves (HTML, inline keyboards); None for announcements."""
    priority: Priority = Priority.NORMAL
    """How the platform's pacing should rank it: announcements are `BULK`."""


class Sender(Protocol):
    """One platform's way out. Raise `TemporaryFailure` or `PermanentFailure` only when
    sure the message did not arrive; anything else counts as an unknown outcome."""

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None: ...


class MemorySender:
    """A sender that keeps what it is given (tests, dry runs); subclass to fail on purpose."""

    def __init__(self) -> None:
        self.sent: list[tuple[DeliveryTarget, OutgoingMessage]] = []

    async def send(self, target: DeliveryTarget, message: OutgoingMessage) -> None:
        self.sent.append((target, message))


def render_announcement(parts: MessageParts, idempotency_key: str) -> OutgoingMessage:
    """The message of one delivery: the catalog's frame in the reader's language."""
    params = {
        "title": parts.title,
        "body": parts.body,
        "community": LocalizedText(parts.community_name).get(parts.locale),
    }
    return OutgoingMessage(
        text=translate(ANNOUNCEMENT_MESSAGE, parts.locale, **params),
        locale=parts.locale,
        key=ANNOUNCEMENT_MESSAGE,
        params=params,
        idempotency_key=idempotency_key,
        priority=Priority.BULK,
    )


def render_notification(
    message: Message,
    locale: str,
    timezone: str,
    idempotency_key: str,
    priority: Priority = Priority.NORMAL,
) -> OutgoingMessage:
    """A notification's words in the reader's language and the community's time zone;
    `key` and `params` are its first line's, `message` the whole of it."""
    tz = ZoneInfo(timezone)
    first = message.lines[0]
    return OutgoingMessage(
        text=render_message(message, locale, tz).text,
        locale=locale,
        key=first.key,
        params={name: format_value(value, locale, tz) for name, value in first.params.items()},
        idempotency_key=idempotency_key,
        message=message,
        priority=priority,
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, doubling, at most 1 h."""
    wait: timedelta = FIRST_RETRY * (2 ** min(max(0, attempts - 1), 16))
    return min(wait, LONGEST_RETRY)


def _notification_message(row: QueuedNotification, setting: NoticeSetting) -> OutgoingMessage:
    return render_notification(
        message_from_json(row.message),
        setting.locale,
        setting.timezone,
        f"huarong-{row.community_id}-notification-{row.id}",
        row.priority,
    )


# --- the worker ------------------------------------------------------------------------


@attrs.frozen
class _Claim:
    kind: DeliveryKind
    delivery: QueuedRow
    platform: str
    address: str
    lease_id: str
    target: DeliveryTarget
    message: OutgoingMessage


def _queue(kind: DeliveryKind, conn: Connection) -> LeasedQueue:
    return NotificationQueue(conn) if kind == "notification" else DeliveryQueue(conn)


_IDLE = "idle"
_SETTLED = "settled"
"""Settled at claim time: the member has no account at all (`unreachable`)."""
_SETTLED_FAILED = "settled_failed"
"""Settled at claim time: the message cannot be rendered (`failed`)."""


@attrs.frozen
class _Outcome:
    state: DeliveryState
    error: str | None = None
    due_at: datetime | None = None
    tried: str | None = None
    fallback: bool = False
    """A permanent failure: `pending` if the member has another account, else `failed`."""


class DeliveryWorker(BackgroundLoop):
    """Sends due deliveries through `senders` (platform -> `Sender`, in preference order).

    `async with` or `start()` / `stop()` for a background task; `run_once()`
    sends everything due now and returns. `concurrency` sends run at once.
    """

    name = "delivery"

    def __init__(
        self,
        huarong: Huarong,
        senders: Mapping[str, Sender],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        interval: float = DEFAULT_INTERVAL,
        lease: timedelta = DEFAULT_LEASE,
        send_timeout: float = DEFAULT_SEND_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        communities: Collection[str] | None = None,
    ) -> None:
        if not senders:
            raise ValueError("a delivery worker needs at least one sender")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        super().__init__(interval)
        if send_timeout <= 0 or timedelta(seconds=send_timeout) >= lease:
            raise ValueError("send_timeout must be positive and shorter than the lease")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.huarong = huarong
        self.senders = dict(senders)
        self.concurrency = concurrency
        self.lease = lease
        self.send_timeout = send_timeout
        self.max_attempts = max_attempts
        self.communities = None if communities is None else frozenset(communities)
        self.counts: dict[str, int] = {}
        """Outcomes recorded since the worker was made, per state (diagnostics and tests)."""
        self._community_ids: tuple[int, ...] | None = None
        self._resume_at: dict[str, datetime] = {}

    # --- one pass ---

    async def run_once(self) -> int:
        """Send everything due now; how many deliveries were settled (any outcome).

        Errors are raised (after every lane has stopped), not logged.
        `request_stop()` ends the pass early, after the sends in flight.
        """
        self._stopping.clear()
        return await self._pass(raise_errors=True)

    async def _pass(self, *, raise_errors: bool) -> int:
        lanes = [
            asyncio.create_task(self._lane(), name=f"huarong-delivery-{n}")
            for n in range(self.concurrency)
        ]
        try:
            await asyncio.wait(lanes)
        except asyncio.CancelledError:  # a hard stop: sends in flight end unknown
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            raise
        settled = 0
        errors: list[BaseException] = []
        for lane in lanes:
            error = lane.exception()
            if error is None:
                settled += lane.result()
            else:
                errors.append(error)
                log.error("delivery.lane_failed", error=repr(error))
        if errors and raise_errors:
            raise errors[0]
        return settled

    async def _lane(self) -> int:
        settled = 0
        while not self._stopping.is_set():
            if not await self.step():
                break
            settled += 1
        return settled

    async def step(self) -> bool:
        """Claim, send and record one delivery; False when none is due."""
        now = self.huarong.clock.now()
        platforms = [p for p in self.senders if self._resume_at.get(p, now) <= now]
        if not platforms:
            return False
        community_ids = await self._wanted_communities()
        if community_ids is not None and not community_ids:
            return False
        lease_id = uuid.uuid4().hex

        async def claim(conn: Connection) -> tuple[int, _Claim | str]:
            return await self._claim(conn, now, platforms, community_ids, lease_id)

        expired, claimed = await self.huarong.db.run(claim)
        if expired:
            log.warning("delivery.leases_expired", deliveries=expired)
            self._count(DeliveryState.UNKNOWN, expired)
        if claimed == _SETTLED:
            self._count(DeliveryState.UNREACHABLE)
            return True
        if claimed == _SETTLED_FAILED:
            self._count(DeliveryState.FAILED)
            return True
        if not isinstance(claimed, _Claim):
            return False
        outcome = await self._send(claimed)
        await self._record(claimed, outcome)
        return True

    async def _wanted_communities(self) -> tuple[int, ...] | None:
        if self.communities is None:
            return None
        if self._community_ids is None:
            found = {c.key: c.id for c in await self.huarong.communities()}
            ids = tuple(found[key] for key in sorted(self.communities) if key in found)
            if len(ids) < len(self.communities):
                return ids  # looked up again next time: a community may be created later
            self._community_ids = ids
        return self._community_ids

    async def _claim(
        self,
        conn: Connection,
        now: datetime,
        platforms: list[str],
        community_ids: tuple[int, ...] | None,
        lease_id: str,
    ) -> tuple[int, _Claim | str]:
        """Rows whose lease ran out become `unknown`; then one due row is claimed:
        a notification if one is due, else an announcement delivery."""
        notifications, deliveries = NotificationQueue(conn), DeliveryQueue(conn)
        expired = await notifications.expire_leases(now) + await deliveries.expire_leases(now)
        claimed: _Claim | str = _IDLE
        queues: tuple[tuple[DeliveryKind, NotificationQueue | DeliveryQueue], ...] = (
            ("notification", notifications),
            ("announcement", deliveries),
        )
        for kind, queue in queues:
            found: Sequence[QueuedRow] = await queue.due(now, platforms, community_ids, limit=1)
            if found:
                claimed = await self._claim_one(kind, queue, found[0], now, platforms, lease_id)
                if claimed != _IDLE:
                    break
        return expired, claimed

    async def _claim_one(
        self,
        kind: DeliveryKind,
        queue: LeasedQueue,
        delivery: QueuedRow,
        now: datetime,
        platforms: list[str],
        lease_id: str,
    ) -> _Claim | str:
        if delivery.member_id is None:
            platform, address = str(delivery.chat_platform), str(delivery.chat_id)
        else:
            accounts = await queue.identities(delivery.community_id, delivery.member_id)
            if not accounts:
                await queue.mark_unreachable(delivery, now)
                return _SETTLED
            choice = next(
                (
                    (platform, address)
                    for platform in platforms
                    if platform not in delivery.tried
                    for account_platform, address in accounts
                    if account_platform == platform
                ),
                None,
            )
            if choice is None:
                return _IDLE
            platform, address = choice
        if isinstance(delivery, QueuedNotification):
            assert isinstance(queue, NotificationQueue)
            setting = await queue.setting(delivery)
            try:
                message = _notification_message(delivery, setting)
            except Exception as exc:  # stored by an older or broken renderer: never sendable
                log.error("delivery.unreadable", notification=delivery.id, error=repr(exc))
                await queue.mark_failed(delivery, "unreadable", now)
                return _SETTLED_FAILED
            community_key, announcement_id = setting.community_key, None
        else:
            assert isinstance(delivery, QueuedDelivery)
            assert isinstance(queue, DeliveryQueue)
            parts = await queue.message_parts(delivery)
            message = render_announcement(
                parts, f"huarong-{delivery.community_id}-delivery-{delivery.id}"
            )
            community_key, announcement_id = parts.community_key, delivery.announcement_id
        claimed = await queue.mark_sending(
            delivery,
            lease_id=lease_id,
            lease_until=now + self.lease,
            platform=platform,
            address=address,
            now=now,
        )
        if not claimed:
            return _IDLE
        target = DeliveryTarget(
            platform=platform,
            address=address,
            community=community_key,
            announcement_id=announcement_id,
            delivery_id=delivery.id,
            member_id=delivery.member_id,
            kind=kind,
        )
        return _Claim(kind, delivery, platform, address, lease_id, target, message)

    async def _send(self, claim: _Claim) -> _Outcome:
        delivery = claim.delivery
        bound = log.bind(
            community=claim.target.community,
            kind=claim.kind,
            announcement=claim.target.announcement_id,
            delivery=delivery.id,
            platform=claim.platform,
        )
        attempts = delivery.attempts + 1
        try:
            async with asyncio.timeout(self.send_timeout):
                await self.senders[claim.platform].send(claim.target, claim.message)
        except TemporaryFailure as exc:
            now = self.huarong.clock.now()
            if exc.retry_after is not None and exc.retry_after > 0:
                wait = timedelta(seconds=exc.retry_after)
                self._resume_at[claim.platform] = max(
                    self._resume_at.get(claim.platform, now), now + wait
                )
            else:
                wait = backoff(attempts)
            if attempts >= self.max_attempts:
                bound.warning("delivery.gave_up", attempts=attempts, reason=exc.reason)
                return _Outcome(DeliveryState.FAILED, exc.reason)
            bound.info("delivery.retry", attempts=attempts, reason=exc.reason, wait=str(wait))
            return _Outcome(DeliveryState.PENDING, exc.reason, due_at=now + wait)
        except PermanentFailure as exc:
            bound.info("delivery.refused", reason=exc.reason)
            tried = ",".join(["", *sorted(delivery.tried | {claim.platform}), ""])
            fallback = delivery.member_id is not None
            return _Outcome(DeliveryState.FAILED, exc.reason, tried=tried, fallback=fallback)
        except TimeoutError:
            bound.warning("delivery.timed_out", seconds=self.send_timeout)
            return _Outcome(DeliveryState.UNKNOWN, "timeout")
        except Exception as exc:  # the sender did not say it was not delivered: it may have been
            # Only the type: a platform error's text may hold a URL with a bot token in it.
            bound.error("delivery.send_crashed", error=type(exc).__name__)
            return _Outcome(DeliveryState.UNKNOWN, type(exc).__name__)
        return _Outcome(DeliveryState.SENT)

    async def _record(self, claim: _Claim, outcome: _Outcome) -> None:
        delivery = claim.delivery

        async def unit(conn: Connection) -> DeliveryState | None:
            queue = _queue(claim.kind, conn)
            now = self.huarong.clock.now()
            state, due_at = outcome.state, outcome.due_at
            if outcome.fallback:
                assert delivery.member_id is not None
                tried = frozenset(p for p in (outcome.tried or "").split(",") if p)
                if await queue.has_other_accounts(delivery.community_id, delivery.member_id, tried):
                    state, due_at = DeliveryState.PENDING, now
            done = await queue.finish(
                delivery.community_id,
                delivery.id,
                claim.lease_id,
                state,
                now=now,
                error=outcome.error,
                due_at=due_at,
                tried=outcome.tried,
            )
            return state if done else None

        recorded: DeliveryState | None = None
        for number in range(1, RECORD_ATTEMPTS + 1):
            try:
                recorded = await self.huarong.db.run(unit)
                break
            except (DatabaseBusy, TransientConflict):
                if number == RECORD_ATTEMPTS:
                    raise  # left `sending`: it becomes `unknown` when its lease runs out
        if recorded is None:
            log.warning(
                "delivery.lease_lost",
                kind=claim.kind,
                delivery=delivery.id,
                state=outcome.state.value,
            )
            return
        self._count(recorded)

    def _count(self, state: DeliveryState, n: int = 1) -> None:
        self.counts[state.value] = self.counts.get(state.value, 0) + n

    # --- the background task ---

    async def _background_pass(self) -> None:
        await self._pass(raise_errors=False)

    def _log_details(self) -> dict[str, Any]:
        return {"platforms": list(self.senders), "counts": dict(self.counts)}
