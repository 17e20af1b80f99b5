"""Outbound pacing: every Bot API call that sends goes through one scheduler.

Telegram's limits, as documented: about 30 messages a second overall,
one a second in any one chat (short bursts tolerated), 20 a minute into
a group. Staying under them costs a little latency; going over them
costs a 429 and a pause of many seconds, so the scheduler paces:

- each chat has a queue, sent strictly in order, one call in flight at a
  time (two messages to one chat are never reordered, so the chunks of a
  long reply arrive in order);
- a chat's head is ready once its chat slot is free (1/s in every chat; a
  group, whose id is negative, also at most 20 in any rolling 60 s) and
  any backoff or 429 pause has passed;
- whenever the global slot (1/30 s) is free, the ready head with the
  highest priority goes, the oldest first among equals: an URGENT answer
  to a person waits for no queued BULK announcement to another chat;
- a 429 pauses that chat for exactly `retry_after` seconds and the same
  call is retried then, without counting as an attempt (Telegram said when
  it will be accepted; giving up would lose a message). Telegram's answer
  does not say whether its limit was the chat's or the bot's, so a 429 in a
  second chat while another chat is still paused, or on a call with no
  chat, pauses everything;
- 5xx answers and connection failures that sent nothing are retried with
  backoff (0.5 s, doubling, at most 30 s) up to `max_attempts`; an outcome
  that is unknown (a timeout after sending) is retried only for idempotent
  calls, since a second `sendMessage` could show the message twice; any
  other error goes to the caller at once.

Time and sleep are injected, so tests run the pacing on a fake clock.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, Self

import attrs
import structlog

from huarong_telegram.api import (
    BotApi,
    NetworkError,
    RetryAfter,
    ServerError,
    TelegramError,
)

log = structlog.get_logger(__name__)

IDEMPOTENT_METHODS: Final = frozenset(
    {
        "answerCallbackQuery",
        "deleteMessage",
        "deleteMyCommands",
        "deleteWebhook",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageText",
        "getChat",
        "getChatMember",
        "getFile",
        "getMe",
        "setMyCommands",
        "setWebhook",
    }
)
"""Calls that leave the same state when made twice, so an unknown outcome may be retried."""

BACKOFF_START: Final = 0.5
BACKOFF_CAP: Final = 30.0
GROUP_WINDOW: Final = 60.0
_EPSILON: Final = 1e-9
"""Float slack when comparing a clock reading with a computed time."""


class Priority(enum.IntEnum):
    """Lower goes first."""

    URGENT = 0
    """An answer to someone who is waiting for it."""
    NORMAL = 1
    """A notification to one person or group (a reminder, a status change)."""
    BULK = 2
    """An announcement fanned out to many chats."""


class SchedulerStopped(TelegramError):
    """The scheduler stopped before this call was made: nothing was sent."""

    def __init__(self, method: str) -> None:
        super().__init__(method, 0, "the outbound scheduler stopped before sending")


ChatKey = int | str
_PRUNE_EVERY = 256
"""Picks between two sweeps of idle chats."""


def chat_key(chat_id: int | str) -> ChatKey:
    """One key per chat, whether its id came as a number or as digits in a string."""
    if isinstance(chat_id, str):
        digits = chat_id[1:] if chat_id.startswith("-") else chat_id
        if digits.isascii() and digits.isdigit():
            return int(chat_id)
    return chat_id


def is_group(key: ChatKey | None) -> bool:
    """Groups and channels: negative ids, or a public `@username`."""
    if isinstance(key, int):
        return key < 0
    return key is not None


@attrs.define(eq=False)
class _Job:
    method: str
    params: Mapping[str, Any]
    chat: ChatKey | None
    priority: Priority
    seq: int
    future: asyncio.Future[Any]
    attempts: int = 0
    not_before: float = 0.0


@attrs.define(eq=False)
class _Chat:
    key: ChatKey | None
    queue: deque[_Job] = attrs.Factory(deque)
    busy: bool = False
    recent: deque[float] = attrs.Factory(deque)
    """Times of this chat's latest sends, the newest last."""
    paused_until: float = 0.0


class OutboundScheduler:
    """Paces calls to one bot's Bot API; see the module's docstring for the rules."""

    def __init__(
        self,
        api: BotApi,
        *,
        global_per_second: float = 30,
        private_per_second: float = 1,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_attempts: int = 5,
    ) -> None:
        if global_per_second <= 0 or private_per_second <= 0 or group_per_minute < 1:
            raise ValueError("rates must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._api = api
        self._global_interval = 1.0 / global_per_second
        self._chat_interval = 1.0 / private_per_second
        self._group_limit = group_per_minute
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._chats: dict[ChatKey | None, _Chat] = {}
        """Every chat sent to lately: their recent send times still limit them."""
        self._waiting: dict[ChatKey | None, _Chat] = {}
        """The chats with calls queued or in flight: the only ones a pick looks at."""
        self._picks = 0
        self._seq = itertools.count()
        self._last_global = -float("inf")
        self._paused_all_until = 0.0
        self._pending = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closing = False
        self._drain_deadline: float | None = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def pending(self) -> int:
        """Calls queued or in flight."""
        return self._pending

    def start(self) -> None:
        if self._dispatcher is not None:
            raise RuntimeError("the scheduler is already started")
        self._dispatcher = asyncio.get_running_loop().create_task(
            self._dispatch(), name="telegram-outbound"
        )

    async def stop(self, *, drain_timeout: float | None = 30.0) -> None:
        """Refuse new calls, finish the queued ones, then stop.

        Calls still queued `drain_timeout` seconds (on the scheduler's clock)
        after this fail with `SchedulerStopped`; calls already in flight are
        awaited, never cut off (they have their HTTP timeout).
        """
        self._closing = True
        if drain_timeout is not None:
            self._drain_deadline = self._clock() + drain_timeout
        self._wake.set()
        if self._dispatcher is None:
            self._fail_queued()
            return
        await self._dispatcher
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def send(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        chat_id: int | str | None,
        priority: Priority,
    ) -> Any:
        """Make the call when the limits allow it; its result, or the final `TelegramError`.

        `chat_id` is the chat the call writes to (`None` for calls that touch
        no chat, such as `setMyCommands`). Cancelling the caller drops the
        call if it has not been made yet.
        """
        if self._closing or (self._dispatcher is not None and self._dispatcher.done()):
            raise SchedulerStopped(method)
        if self._dispatcher is None:
            raise RuntimeError("start() the scheduler before sending")
        key = chat_key(chat_id) if chat_id is not None else None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        job = _Job(method, params, key, priority, next(self._seq), future)
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = _Chat(key)
        chat.queue.append(job)
        self._waiting[key] = chat
        self._pending += 1
        self._wake.set()
        return await future

    # --- dispatching --------------------------------------------------------------------

    async def _dispatch(self) -> None:
        try:
            await self._dispatch_until_drained()
        except Exception:
            # A bug here must not leave callers waiting forever.
            log.exception("telegram.outbound_failed")
            self._closing = True
            self._fail_queued()

    async def _dispatch_until_drained(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            if self._drain_deadline is not None and now >= self._drain_deadline - _EPSILON:
                self._fail_queued()
            job, ready_at = self._pick(now)
            if job is not None:
                self._launch(job, now)
                continue
            if self._closing and self._pending == 0:
                return
            if self._drain_deadline is not None and self._pending:
                deadline = self._drain_deadline
                ready_at = deadline if ready_at is None else min(ready_at, deadline)
            await self._wait(None if ready_at is None else ready_at - now)

    def _pick(self, now: float) -> tuple[_Job | None, float | None]:
        """The job to send now, or else the earliest time one may become ready.

        Only chats with calls waiting are looked at, so a rush of answers to many
        different people costs each pick the chats still waiting, not every chat
        seen in the last minute.
        """
        best: _Job | None = None
        earliest: float | None = None
        global_at = max(self._last_global + self._global_interval, self._paused_all_until)
        done: list[ChatKey | None] = []
        for key, chat in self._waiting.items():
            while chat.queue and chat.queue[0].future.done() and not chat.busy:
                chat.queue.popleft()  # its caller was cancelled before it went out
                self._pending -= 1
            if chat.busy:
                continue
            if not chat.queue:
                done.append(key)
                continue
            head = chat.queue[0]
            at = max(head.not_before, chat.paused_until, self._chat_slot(chat), global_at)
            if at <= now + _EPSILON:
                if best is None or (head.priority, head.seq) < (best.priority, best.seq):
                    best = head
            elif earliest is None or at < earliest:
                earliest = at
        for key in done:
            del self._waiting[key]
        self._picks += 1
        if self._picks % _PRUNE_EVERY == 0:
            self._forget_idle(now)
        return best, earliest

    def _forget_idle(self, now: float) -> None:
        """Drop chats nothing limits any more: a private chat a second after its last
        send, a group a minute after (their windows have passed)."""
        idle = []
        for key, chat in self._chats.items():
            if key in self._waiting or chat.busy or chat.queue:
                continue
            last = chat.recent[-1] if chat.recent else -float("inf")
            window = GROUP_WINDOW if is_group(key) else self._chat_interval
            if now - last > window and chat.paused_until <= now:
                idle.append(key)
        for key in idle:
            del self._chats[key]

    def _chat_slot(self, chat: _Chat) -> float:
        """When this chat may receive its next message.

        Calls that write to no chat (`setMyCommands`) share only the global slot.
        """
        if not chat.recent or chat.key is None:
            return -float("inf")
        slot = chat.recent[-1] + self._chat_interval
        if is_group(chat.key) and len(chat.recent) >= self._group_limit:
            slot = max(slot, chat.recent[-self._group_limit] + GROUP_WINDOW)
        return slot

    def _launch(self, job: _Job, now: float) -> None:
        chat = self._chats[job.chat]
        chat.busy = True
        chat.recent.append(now)
        while len(chat.recent) > self._group_limit:
            chat.recent.popleft()
        self._last_global = now
        job.attempts += 1
        task = asyncio.get_running_loop().create_task(self._attempt(job, chat, now))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _wait(self, delay: float | None) -> None:
        """Until something changes (a new call, a finished one) or `delay` has passed."""
        waiter = asyncio.ensure_future(self._wake.wait())
        if delay is None:
            await waiter
            return
        sleeper = asyncio.ensure_future(self._sleep(max(delay, 0.0)))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def _fail_queued(self) -> None:
        """Fail every call that has not gone out (the drain time is over)."""
        for chat in self._chats.values():
            keep: deque[_Job] = deque()
            for job in chat.queue:
                if chat.busy and job is chat.queue[0]:
                    keep.append(job)
                    continue
                if not job.future.done():
                    job.future.set_exception(SchedulerStopped(job.method))
                self._pending -= 1
            chat.queue = keep

    # --- one attempt --------------------------------------------------------------------

    async def _attempt(self, job: _Job, chat: _Chat, sent_at: float) -> None:
        outcome: Any = None
        failure: BaseException | None = None
        try:
            outcome = await self._api.call(job.method, job.params)
        except RetryAfter as exc:
            self._pause(chat, exc.retry_after, sent_at)
            self._requeue(job, chat)
            return
        except (ServerError, NetworkError) as exc:
            if self._retryable(job, exc):
                delay = min(BACKOFF_START * 2 ** (job.attempts - 1), BACKOFF_CAP)
                job.not_before = self._clock() + delay
                log.info(
                    "telegram.send_retry",
                    method=job.method,
                    attempt=job.attempts,
                    delay=delay,
                    error_code=exc.error_code,
                )
                self._requeue(job, chat)
                return
            failure = exc
        except Exception as exc:  # the caller gets every failure; the dispatcher lives on
            failure = exc
        self._finish(job, chat, outcome, failure)

    def _retryable(self, job: _Job, exc: ServerError | NetworkError) -> bool:
        if job.attempts >= self._max_attempts:
            return False
        if isinstance(exc, NetworkError) and exc.sent is not False:
            return job.method in IDEMPOTENT_METHODS
        return True

    def _pause(self, chat: _Chat, retry_after: int, sent_at: float) -> None:
        now = self._clock()
        until = now + retry_after
        # The refused call did not count against the chat's share.
        if chat.recent and chat.recent[-1] == sent_at:
            chat.recent.pop()
        others_paused = any(
            other is not chat and other.paused_until > now for other in self._chats.values()
        )
        chat.paused_until = max(chat.paused_until, until)
        if chat.key is None or others_paused:
            self._paused_all_until = max(self._paused_all_until, until)
        log.warning(
            "telegram.flood_wait",
            retry_after=retry_after,
            everything=chat.key is None or others_paused,
        )

    def _requeue(self, job: _Job, chat: _Chat) -> None:
        """Put the job back at its chat's head (where it still is) for another try."""
        if self._dispatcher is not None and self._dispatcher.done():
            self._finish(job, chat, None, SchedulerStopped(job.method))
            return
        chat.busy = False
        if job.future.done():  # the caller gave up meanwhile
            chat.queue.popleft()
            self._pending -= 1
        self._wake.set()

    def _finish(self, job: _Job, chat: _Chat, outcome: Any, failure: BaseException | None) -> None:
        chat.busy = False
        chat.queue.popleft()
        self._pending -= 1
        if not job.future.done():
            if failure is None:
                job.future.set_result(outcome)
            else:
                job.future.set_exception(failure)
        self._wake.set()
