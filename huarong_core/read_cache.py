"""Answers to polled queries, kept until the next commit.

A lobby screen, a portal page or an integration asks for the same
leaderboard again and again while nothing changes. Queries registered with
`handles(..., cached=True)` depend only on what is stored, on who asks and on
the community's local date, so their answer stays right until someone
commits. The database says cheaply whether anyone did
(`Database.commit_generation`: SQLite's `data_version`, which sees other
processes' commits too, in a few µs; PostgreSQL's current snapshot, in one
round trip instead of a read's several), and every answer is kept under the
generation read *before* it was computed: a commit landing while it is
computed makes it stale at once, never the other way round.

What is kept is per actor (the member's context, active or not, is part of
the answer), and the answer object itself is handed to every caller, which
is why cached queries return frozen values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import date
from typing import Any, TypeVar

from huarong_core.commands import Command
from huarong_core.domain.audit import Actor

T = TypeVar("T")

MAX_ENTRIES = 4096
"""Answers kept at most; past that, the oldest go first."""

_Key = tuple[Command[Any], Actor, date]
Generation = Callable[[], Awaitable[Hashable | None]]
"""`Database.commit_generation`, or anything that changes as it does."""


class ReadCache:
    def __init__(self, generation: Generation, *, max_entries: int = MAX_ENTRIES) -> None:
        self._current = generation
        self._max_entries = max_entries
        self._generation: Hashable | None = None
        self._answers: dict[_Key, Any] = {}
        self.hits = 0
        self.misses = 0

    async def answer(
        self,
        command: Command[T],
        actor: Actor,
        today: date,
        compute: Callable[[], Awaitable[T]],
    ) -> T:
        """The kept answer to `command` by `actor` on `today`, or `compute()`'s, kept."""
        generation = await self._current()
        if generation is None:
            return await compute()
        if generation != self._generation:
            self._answers.clear()
            self._generation = generation
        key: _Key = (command, actor, today)
        try:
            found = self._answers.get(key, _MISSING)
        except TypeError:  # a command holding an unhashable value: never kept
            return await compute()
        if found is not _MISSING:
            self.hits += 1
            kept: T = found
            return kept
        self.misses += 1
        result = await compute()
        # Kept only if nobody saw a newer generation meanwhile: the answer may
        # predate a commit that a concurrent caller already noticed.
        if self._generation == generation:
            if len(self._answers) >= self._max_entries:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = result
        return result


_MISSING: Any = object()
