"""`BackgroundLoop`: a stop asked during a long wait ends it at once; work in progress
otherwise finishes; back-offs are cut short by a stop."""

from __future__ import annotations

import asyncio

import pytest

from huarong_core.background import BackgroundLoop


class LongPoll(BackgroundLoop):
    """A pass that long-polls `answers` (a poll with nothing to say never answers)."""

    name = "test.long_poll"

    def __init__(self) -> None:
        super().__init__(interval=0.01)
        self.answers: asyncio.Queue[str] = asyncio.Queue()
        self.heard: list[str | None] = []
        self.polling = asyncio.Event()
        self.polls = 0
        self.given_up = 0

    async def _poll(self) -> str:
        self.polls += 1
        self.polling.set()
        try:
            return await self.answers.get()
        except asyncio.CancelledError:
            self.given_up += 1
            raise

    async def _background_pass(self) -> None:
        self.heard.append(await self._unless_stopped(self._poll()))


async def test_a_stop_ends_a_long_poll_at_once_and_cancels_it() -> None:
    loop = LongPoll()
    await loop.start()
    await asyncio.wait_for(loop.polling.wait(), timeout=5)
    await asyncio.wait_for(loop.stop(), timeout=5)  # the poll itself would wait forever
    assert loop.heard == [None]
    assert loop.given_up == 1
    assert not loop.running


async def test_answers_come_through_until_the_stop() -> None:
    loop = LongPoll()
    await loop.start()
    for word in ("a", "b"):
        loop.answers.put_nowait(word)
    for _ in range(500):
        if loop.polls == 3:  # both answers heard, the next poll waiting
            break
        await asyncio.sleep(0.01)
    await loop.stop()
    assert loop.heard[:2] == ["a", "b"]
    assert loop.heard[2:] == [None]  # the poll that was waiting when the stop came


async def test_an_answer_that_came_with_the_stop_is_kept() -> None:
    loop = LongPoll()
    loop.answers.put_nowait("ready")
    loop.request_stop()  # both are ready: the answer is acted on, not thrown away
    assert await loop._unless_stopped(loop._poll()) == "ready"


async def test_a_failing_call_raises_as_it_would_have() -> None:
    loop = LongPoll()

    async def refused() -> str:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        await loop._unless_stopped(refused())


async def test_a_back_off_is_cut_short_by_a_stop() -> None:
    loop = LongPoll()
    pausing = asyncio.ensure_future(loop._pause(60))
    await asyncio.sleep(0)
    loop.request_stop()
    await asyncio.wait_for(pausing, timeout=5)
