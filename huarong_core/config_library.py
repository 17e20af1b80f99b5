"""The red-reading library in the community file: `[library]` and `[[library.books]]`.

```toml
[library]
station = "party_masses"      # its staff run the library (manage_library there)
loan_days = 30
max_loans = 3                 # copies on loan per member at once
renewals = 1                  # a loan may be renewed once, if nobody holds the book
remind_days_before = 3        # a reminder before the due date (0: none)
overdue_every_days = 7        # overdue notices repeat this often (0: only one)
hold_pickup_days = 3          # a copy set aside for a hold waits this long
max_holds = 5

[[library.books]]
title = "红岩"
author = "罗广斌、杨益言"
isbn = "978-7-02-000233-7"    # ISBN-10 or -13; stored as ISBN-13
tags = ["红色经典", "小说"]
copies = [{ code = "HY-001" }, { code = "HY-002", location = "drift" }]
```

A book is matched by its ISBN, or by title and author when it has none;
its copies by their code. The file's copies are opening stock: later loads
add missing copies but leave existing ones (their place and status belong
to the library's daily work), so loading twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from huarong_core.domain.library import (
    CopyLocation,
    LibrarySettings,
    check_settings,
    normalize_copy_code,
    normalize_isbn,
    normalize_tags,
    require_author,
    require_title,
)
from huarong_core.errors import InvalidValue, Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig


@attrs.frozen
class CopyEntry:
    code: str
    location: str = "bookshelf"


@attrs.frozen
class BookEntry:
    title: str
    author: str
    isbn: str | None = None
    tags: tuple[str, ...] = ()
    copies: tuple[CopyEntry, ...] = ()


@attrs.frozen
class LibrarySection:
    """Loan period, limits, holds, the station that runs the library, and its books."""

    loan_days: int = 30
    max_loans: int = 3
    renewals: int = 1
    remind_days_before: int = 3
    overdue_every_days: int = 7
    hold_pickup_days: int = 3
    max_holds: int = 5
    station: str | None = None
    books: tuple[BookEntry, ...] = ()


ENTRY_TYPES: tuple[type, ...] = (LibrarySection, BookEntry, CopyEntry)


@attrs.frozen
class BookSpec:
    """A file's book, checked and normalized."""

    title: str
    author: str
    isbn: str | None
    tags: frozenset[str]
    copies: tuple[tuple[str, CopyLocation], ...]

    @property
    def match_key(self) -> str:
        return f"isbn:{self.isbn}" if self.isbn else f"title:{self.title}\x00{self.author}"


def settings_from(section: LibrarySection) -> LibrarySettings:
    return check_settings(
        LibrarySettings(
            loan_days=section.loan_days,
            max_loans=section.max_loans,
            renewals=section.renewals,
            remind_days_before=section.remind_days_before,
            overdue_every_days=section.overdue_every_days,
            hold_pickup_days=section.hold_pickup_days,
            max_holds=section.max_holds,
            station=section.station,
        )
    )


def copy_location(field: str, value: str) -> CopyLocation:
    try:
        return CopyLocation(value)
    except ValueError:
        raise InvalidValue(field=field, value=value, reason="bad_location") from None


def book_from(entry: BookEntry) -> BookSpec:
    return BookSpec(
        title=require_title("title", entry.title),
        author=require_author("author", entry.author),
        isbn=None if entry.isbn is None else normalize_isbn("isbn", entry.isbn),
        tags=normalize_tags("tags", entry.tags),
        copies=tuple(
            (normalize_copy_code("code", c.code), copy_location("location", c.location))
            for c in entry.copies
        ),
    )


def check_library(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file."""
    from huarong_core.config import _duplicates

    section = config.library
    try:
        settings_from(section)
    except InvalidValue as exc:
        yield Problem.from_error("library", exc)
    if section.station is not None and section.station not in {s.key for s in config.stations}:
        yield Problem("library.station", "config.unknown_station", {"value": section.station})
    specs: list[BookSpec] = []
    for i, entry in enumerate(section.books):
        try:
            specs.append(book_from(entry))
        except InvalidValue as exc:
            yield Problem.from_error(f"library.books[{i}]", exc)
    yield from _duplicates("library.books", [s.isbn or f"{s.title} / {s.author}" for s in specs])
    yield from _duplicates("library.books.copies", [code for s in specs for code, _ in s.copies])
