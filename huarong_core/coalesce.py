"""Concurrent single awards run as one batch, so many awarders share one unit of work.

Every `RecordActivity` on its own is a unit of work: a hop to the writer,
the rules looked up, a ledger line, a commit (SQLite) or several round
trips (PostgreSQL). When many tasks record activities at once (a check-in
rush, a relay with several workers, 32 bots) the calls that reach
`CommunityHandle.execute` in the same turn of the event loop, from the same
actor, are run as one `RecordActivities`, whose plain rules are written
with one statement per table. Each caller still gets its own answer, the
same it would have got alone.

If the batch is refused or fails (an unknown member, a bad `units`, a busy
database), nothing of it was written, and every call is run again on its
own: each caller then gets its own refusal, logged and audited as usual,
and the others their awards. A lone caller waits one turn of the loop and
then runs alone, as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs
import structlog

from huarong_core.commands import AwardResult, RecordActivities, RecordActivity
from huarong_core.domain.audit import Actor

log = structlog.get_logger(__name__)

MAX_BATCH = 100
"""Activities per batch at most: bounds the unit's length and the wait it adds.

(On PostgreSQL, splitting a turn's calls over several pool connections was
measured slower than one batch: the batches queue on the same score rows.)"""

Answer = tuple[AwardResult, ...]
RunOne = Callable[[RecordActivity, Actor], Awaitable[Answer]]
RunMany = Callable[[RecordActivities, Actor], Awaitable[tuple[Answer, ...]]]


@attrs.frozen
class _Waiting:
    command: RecordActivity
    future: asyncio.Future[Answer]


class ActivityBatcher:
    """Collects `RecordActivity` calls per actor for one turn of the loop, then runs them."""

    def __init__(self, run_one: RunOne, run_many: RunMany) -> None:
        self._run_one = run_one
        self._run_many = run_many
        self._waiting: dict[Actor, list[_Waiting]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def submit(self, command: RecordActivity, actor: Actor) -> asyncio.Future[Answer]:
        """Queue the call; it runs, with whatever else came this turn, on the next one."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        queued = self._waiting.setdefault(actor, [])
        queued.append(_Waiting(command, future))
        if len(queued) == 1:
            loop.call_soon(self._flush, actor)
        return future

    def _flush(self, actor: Actor) -> None:
        # A caller cancelled before its batch started is left out: nothing of it is done.
        waiting = [w for w in self._waiting.pop(actor, []) if not w.future.done()]
        for start in range(0, len(waiting), MAX_BATCH):
            task = asyncio.ensure_future(self._run(actor, waiting[start : start + MAX_BATCH]))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, actor: Actor, batch: list[_Waiting]) -> None:
        try:
            if len(batch) > 1:
                try:
                    answers = await self._run_many(
                        RecordActivities(tuple(w.command for w in batch)), actor
                    )
                except Exception as exc:
                    # Rolled back whole; each call alone gets its own answer or refusal.
                    log.debug("points.batch_split", size=len(batch), error=type(exc).__name__)
                else:
                    for waiting, answer in zip(batch, answers, strict=True):
                        _settle(waiting.future, answer, None)
                    return
            await asyncio.gather(*(self._run_alone(actor, w) for w in batch))
        except BaseException:
            for waiting in batch:
                waiting.future.cancel()
            raise

    async def _run_alone(self, actor: Actor, waiting: _Waiting) -> None:
        try:
            answer = await self._run_one(waiting.command, actor)
        except Exception as exc:
            _settle(waiting.future, None, exc)
        else:
            _settle(waiting.future, answer, None)


def _settle(future: asyncio.Future[Answer], answer: Answer | None, error: Exception | None) -> None:
    if future.done():  # the caller stopped waiting; the award stands (it is exactly-once)
        return
    if error is not None:
        future.set_exception(error)
    elif answer is not None:
        future.set_result(answer)
