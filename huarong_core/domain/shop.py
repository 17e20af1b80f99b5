"""The points shop (乐丫公社): goods members buy with points, and their redemptions."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from huarong_core.domain.points import MAX_POINTS, Period
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key
from huarong_core.errors import InvalidValue

MAX_STOCK = 1_000_000
"""Pieces of one item the shop may hold, and the most one limit may allow."""


@attrs.frozen
class ShopItem:
    key: str
    name: LocalizedText
    price: int
    stock: int
    description: LocalizedText | None = None
    category: str | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    limit_count: int | None = None
    """At most this many per member per `limit_period` (cancelled redemptions do not count)."""
    limit_period: Period | None = None
    station: str | None = None
    """Where it is collected; staff of that station fulfil it."""
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)
        if self.price < 0:
            raise InvalidValue(field="price", value=str(self.price), reason="negative")
        if self.stock < 0:
            raise InvalidValue(field="stock", value=str(self.stock), reason="negative")
        if self.price > MAX_POINTS:
            raise InvalidValue(field="price", value=str(self.price)[:40], reason="out_of_range")
        if self.stock > MAX_STOCK:
            raise InvalidValue(field="stock", value=str(self.stock)[:40], reason="out_of_range")
        if self.limit_count is not None and self.limit_count > MAX_STOCK:
            raise InvalidValue(field="limit", value=str(self.limit_count)[:40], reason="bad_limit")
        if (self.limit_count is None) != (self.limit_period is None):
            raise InvalidValue(field="limit", value=self.key, reason="bad_limit")
        if self.limit_count is not None and self.limit_count < 1:
            raise InvalidValue(field="limit", value=str(self.limit_count), reason="bad_limit")
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise InvalidValue(field="available_until", value=self.key, reason="bad_window")

    def available_at(self, instant: datetime) -> bool:
        return (
            self.enabled
            and (self.available_from is None or self.available_from <= instant)
            and (self.available_until is None or instant < self.available_until)
        )


class RedemptionStatus(enum.StrEnum):
    RESERVED = "reserved"
    """Points spent and stock held; waiting to be collected at the station."""
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    """Points refunded and stock restored."""


@attrs.frozen
class Redemption:
    id: int
    member_id: int
    item_key: str
    quantity: int
    points: int
    status: RedemptionStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None
