"""The red-reading library: books, copies, loans, holds, donations, reflections.

Pure values and rules: ISBN and copy-code checks, the states a copy, a hold
and a reflection go through, and the ranking of a best-reflection contest.
Storage and authorization live in the repository and the service.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from huarong_core.domain.validation import BIDI_CONTROLS, require_name
from huarong_core.errors import InvalidValue

MAX_TITLE_LENGTH = 200
MAX_AUTHOR_LENGTH = 120
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MIN_REFLECTION_LENGTH = 50
MAX_REFLECTION_LENGTH = 5000
COPY_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,23}\Z")


class CopyLocation(enum.StrEnum):
    BOOKSHELF = "bookshelf"
    """The red bookshelf members borrow from by themselves."""
    DRIFT = "drift"
    """The book-drift station."""


class CopyStatus(enum.StrEnum):
    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    HELD_FOR_PICKUP = "held_for_pickup"
    WITHDRAWN = "withdrawn"


class HoldStatus(enum.StrEnum):
    WAITING = "waiting"
    READY = "ready"
    """A copy is set aside for the member until `pickup_by`."""
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self in (HoldStatus.WAITING, HoldStatus.READY)


class ReflectionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    """Sent back with a note: the member revises it and submits it again."""


# --- checks ---------------------------------------------------------------------------


def _isbn10_valid(digits: str) -> bool:
    total = sum((10 - i) * (10 if ch == "X" else int(ch)) for i, ch in enumerate(digits))
    return total % 11 == 0


def isbn13_check_digit(first12: str) -> str:
    total = sum(int(ch) * (1 if i % 2 == 0 else 3) for i, ch in enumerate(first12))
    return str((10 - total % 10) % 10)


def normalize_isbn(field: str, value: str) -> str:
    """An ISBN-10 or ISBN-13 (hyphens and spaces allowed) as its ISBN-13 digits.

    The check digit must be right: a mistyped ISBN would otherwise make a
    second record of the same book.
    """
    text = "".join(ch for ch in value.strip().upper() if ch not in " -\u2010\u2011\u2013")
    if re.fullmatch(r"\d{9}[\dX]", text):
        if not _isbn10_valid(text):
            raise InvalidValue(field=field, value=value, reason="isbn_check_digit")
        first12 = "978" + text[:9]
        return first12 + isbn13_check_digit(first12)
    if re.fullmatch(r"97[89]\d{10}", text):
        if isbn13_check_digit(text[:12]) != text[12]:
            raise InvalidValue(field=field, value=value, reason="isbn_check_digit")
        return text
    raise InvalidValue(field=field, value=value, reason="bad_isbn")


def looks_like_isbn(value: str) -> str | None:
    """The normalized ISBN if `value` is one, else `None` (for search boxes)."""
    try:
        return normalize_isbn("isbn", value)
    except InvalidValue:
        return None


def normalize_copy_code(field: str, value: str) -> str:
    """The code printed on a copy: letters, digits and `-`, upper-cased (`rb-001` -> `RB-001`)."""
    code = "".join(value.split()).upper()
    if not COPY_CODE_PATTERN.match(code):
        raise InvalidValue(field=field, value=value, reason="bad_copy_code")
    return code


def normalize_tags(field: str, values: Iterable[str]) -> frozenset[str]:
    """Free-text tags (`红色经典`, `party history`): trimmed, case-folded, a few words each."""
    tags = set()
    for value in values:
        tag = " ".join(value.split()).casefold()
        if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag or _has_controls(tag):
            raise InvalidValue(field=field, value=value, reason="bad_tag")
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidValue(field=field, value=str(len(tags)), reason="too_many_tags")
    return frozenset(tags)


def _has_controls(text: str) -> bool:
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r") or ch in BIDI_CONTROLS
        for ch in text
    )


def require_title(field: str, value: str) -> str:
    return require_name(field, value, max_length=MAX_TITLE_LENGTH)


def require_author(field: str, value: str) -> str:
    return require_name(field, value, max_length=MAX_AUTHOR_LENGTH)


def require_reflection_text(field: str, value: str) -> str:
    """A reflection: 50 to 5000 characters once trimmed; paragraphs are kept."""
    text = value.strip()
    if _has_controls(text):
        raise InvalidValue(field=field, value=text[:20], reason="control_characters")
    if len(text) < MIN_REFLECTION_LENGTH:
        raise InvalidValue(field=field, value=str(len(text)), reason="too_short")
    if len(text) > MAX_REFLECTION_LENGTH:
        raise InvalidValue(field=field, value=str(len(text)), reason="too_long")
    return text


# --- values ---------------------------------------------------------------------------


@attrs.frozen
class LibrarySettings:
    """The `[library]` settings as the services use them."""

    loan_days: int = 30
    max_loans: int = 3
    """Copies one member may have on loan at once."""
    renewals: int = 1
    """How often a loan may be renewed (only while nobody holds the book)."""
    remind_days_before: int = 3
    """A reminder this many days before a loan is due (0: none)."""
    overdue_every_days: int = 7
    """After the first overdue notice, another every this many days (0: only one)."""
    hold_pickup_days: int = 3
    max_holds: int = 5
    station: str | None = None
    """The station whose staff run the library (MANAGE_LIBRARY in its scope)."""

    @property
    def loan_period(self) -> timedelta:
        return timedelta(days=self.loan_days)

    @property
    def pickup_period(self) -> timedelta:
        return timedelta(days=self.hold_pickup_days)


SETTING_LIMITS: dict[str, tuple[int, int]] = {
    "loan_days": (1, 365),
    "max_loans": (1, 100),
    "renewals": (0, 10),
    "remind_days_before": (0, 30),
    "overdue_every_days": (0, 90),
    "hold_pickup_days": (1, 30),
    "max_holds": (1, 100),
}


def check_settings(settings: LibrarySettings) -> LibrarySettings:
    for name, (low, high) in SETTING_LIMITS.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            raise InvalidValue(field=name, value=str(value), reason="out_of_range")
    if settings.remind_days_before >= settings.loan_days:
        raise InvalidValue(
            field="remind_days_before",
            value=str(settings.remind_days_before),
            reason="out_of_range",
        )
    return settings


@attrs.frozen
class Book:
    id: int
    title: str
    author: str
    isbn: str | None
    """ISBN-13 digits, or `None` for a book without one (an old or privately printed one)."""
    tags: frozenset[str] = frozenset()


@attrs.frozen
class Copy:
    code: str
    book_id: int
    location: CopyLocation
    status: CopyStatus
    held_for: int | None = None
    """The member a `held_for_pickup` copy waits for."""
    donor_id: int | None = None
    added_at: datetime | None = None


@attrs.frozen
class Loan:
    id: int
    copy_code: str
    book_id: int
    member_id: int
    borrowed_at: datetime
    due_at: datetime
    returned_at: datetime | None = None
    renewals: int = 0

    @property
    def is_open(self) -> bool:
        return self.returned_at is None

    def is_overdue(self, now: datetime) -> bool:
        return self.returned_at is None and now >= self.due_at


@attrs.frozen
class Hold:
    id: int
    book_id: int
    member_id: int
    status: HoldStatus
    placed_at: datetime
    copy_code: str | None = None
    ready_at: datetime | None = None
    pickup_by: datetime | None = None
    closed_at: datetime | None = None
    position: int | None = None
    """Place in the book's queue while waiting (1 = next)."""


@attrs.frozen
class Donation:
    id: int
    book_id: int
    member_id: int
    copy_codes: tuple[str, ...]
    note: str
    recorded_by: str
    recorded_at: datetime


@attrs.frozen
class Reflection:
    id: int
    book_id: int
    member_id: int
    text: str
    status: ReflectionStatus
    submitted_at: datetime
    revision: int = 1
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str = ""


@attrs.frozen
class ReflectionContest:
    id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    created_at: datetime

    def voting_state(self, now: datetime) -> str:
        """`not_open_yet`, `open` or `closed` (the window is [opens_at, closes_at))."""
        if now < self.opens_at:
            return "not_open_yet"
        if now >= self.closes_at:
            return "closed"
        return "open"


@attrs.frozen
class Standing:
    """One nominated reflection in a contest's results."""

    place: int
    reflection_id: int
    member_id: int
    book_id: int
    votes: int


def rank_standings(counts: Iterable[tuple[int, int, int, int]]) -> tuple[Standing, ...]:
    """Rank `(reflection_id, member_id, book_id, votes)` by votes.

    Equal votes share a place and the next place skips (1, 1, 3); within a
    tie the earlier reflection (lower id) is listed first, so the same votes
    always give the same results.
    """
    ordered = sorted(counts, key=lambda c: (-c[3], c[0]))
    standings: list[Standing] = []
    for index, (reflection_id, member_id, book_id, votes) in enumerate(ordered):
        tied = bool(standings) and standings[-1].votes == votes
        place = standings[-1].place if tied else index + 1
        standings.append(Standing(place, reflection_id, member_id, book_id, votes))
    return tuple(standings)
