"""The message types every command and query is made of."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import attrs

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Command(Generic[R]):
    """A request to change something; its handler returns an `R`."""

    __slots__ = ()

    remembered: ClassVar[bool] = True
    """Whether a delivery's answer is stored so a redelivery replays it. `False` for
    confidential reads: their answer must not be copied into the deliveries table, and
    running them again changes nothing but another audited read."""


class Query(Command[R]):
    """A request to read something; runs on a read snapshot, changes nothing."""

    __slots__ = ()


def page_size(value: int) -> int:
    return max(1, min(int(value), MAX_PAGE_SIZE))


@attrs.frozen
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total
