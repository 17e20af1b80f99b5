"""Storage of the red-reading library: books, copies, loans, holds, donations, reflections.

State changes that concurrent members could race for are conditional
updates (`... WHERE status = 'available' RETURNING`), so the second of two
borrowers of the last copy finds nothing to take; the services also
serialize each book's copies and holds with a lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from huarong_core.domain.library import (
    Book,
    Copy,
    CopyLocation,
    CopyStatus,
    Donation,
    Hold,
    HoldStatus,
    LibrarySettings,
    Loan,
    Reflection,
    ReflectionContest,
    ReflectionStatus,
)
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads
from huarong_core.storage.repositories._helpers import like_pattern

_OPEN_HOLDS = "('waiting', 'ready')"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _book(row: Row) -> Book:
    return Book(
        id=int(row["id"]),
        title=row["title"],
        author=row["author"],
        isbn=row["isbn"],
        tags=frozenset(loads(row["tags"])),
    )


def _copy(row: Row) -> Copy:
    return Copy(
        code=row["code"],
        book_id=int(row["book_id"]),
        location=CopyLocation(row["location"]),
        status=CopyStatus(row["status"]),
        held_for=_optional_int(row["held_for"]),
        donor_id=_optional_int(row["donor_id"]),
        added_at=as_datetime(row["added_at"]),
    )


def _loan(row: Row) -> Loan:
    return Loan(
        id=int(row["id"]),
        copy_code=row["copy_code"],
        book_id=int(row["book_id"]),
        member_id=int(row["member_id"]),
        borrowed_at=as_datetime(row["borrowed_at"]),
        due_at=as_datetime(row["due_at"]),
        returned_at=as_optional_datetime(row["returned_at"]),
        renewals=int(row["renewals"]),
    )


def _hold(row: Row, position: int | None = None) -> Hold:
    return Hold(
        id=int(row["id"]),
        book_id=int(row["book_id"]),
        member_id=int(row["member_id"]),
        status=HoldStatus(row["status"]),
        placed_at=as_datetime(row["placed_at"]),
        copy_code=row["copy_code"],
        ready_at=as_optional_datetime(row["ready_at"]),
        pickup_by=as_optional_datetime(row["pickup_by"]),
        closed_at=as_optional_datetime(row["closed_at"]),
        position=position,
    )


def _donation(row: Row) -> Donation:
    return Donation(
        id=int(row["id"]),
        book_id=int(row["book_id"]),
        member_id=int(row["member_id"]),
        copy_codes=tuple(loads(row["copy_codes"])),
        note=row["note"],
        recorded_by=row["recorded_by"],
        recorded_at=as_datetime(row["recorded_at"]),
    )


def _reflection(row: Row) -> Reflection:
    return Reflection(
        id=int(row["id"]),
        book_id=int(row["book_id"]),
        member_id=int(row["member_id"]),
        text=row["text"],
        status=ReflectionStatus(row["status"]),
        submitted_at=as_datetime(row["submitted_at"]),
        revision=int(row["revision"]),
        decided_at=as_optional_datetime(row["decided_at"]),
        decided_by=row["decided_by"],
        note=row["note"],
    )


def _contest(row: Row) -> ReflectionContest:
    return ReflectionContest(
        id=int(row["id"]),
        title=row["title"],
        opens_at=as_datetime(row["opens_at"]),
        closes_at=as_datetime(row["closes_at"]),
        created_at=as_datetime(row["created_at"]),
    )


class LibraryRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def _count(self, sql: str, *args: Any) -> int:
        return int(await self._conn.fetchval(sql, *args))

    # --- settings ------------------------------------------------------------------

    async def settings(self) -> LibrarySettings:
        """The stored settings, or the defaults while none are stored."""
        return await self.stored_settings() or LibrarySettings()

    async def stored_settings(self) -> LibrarySettings | None:
        raw = await self._conn.fetchval(
            "SELECT settings FROM library_settings WHERE community_id = $1", self._cid
        )
        return None if raw is None else LibrarySettings(**loads(raw))

    async def save_settings(self, settings: LibrarySettings) -> None:
        data = {
            "loan_days": settings.loan_days,
            "max_loans": settings.max_loans,
            "renewals": settings.renewals,
            "remind_days_before": settings.remind_days_before,
            "overdue_every_days": settings.overdue_every_days,
            "hold_pickup_days": settings.hold_pickup_days,
            "max_holds": settings.max_holds,
            "station": settings.station,
        }
        await self._conn.execute(
            "INSERT INTO library_settings (community_id, settings) VALUES ($1, $2)"
            " ON CONFLICT (community_id) DO UPDATE SET settings = excluded.settings",
            self._cid,
            dumps(data),
        )

    # --- books ---------------------------------------------------------------------

    async def book(self, book_id: int) -> Book | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM books WHERE community_id = $1 AND id = $2", self._cid, book_id
        )
        return None if row is None else _book(row)

    async def book_by_isbn(self, isbn: str) -> Book | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM books WHERE community_id = $1 AND isbn = $2", self._cid, isbn
        )
        return None if row is None else _book(row)

    async def book_by_title(self, title: str, author: str) -> Book | None:
        """The first book without an ISBN that has exactly this title and author."""
        row = await self._conn.fetchrow(
            "SELECT * FROM books WHERE community_id = $1 AND isbn IS NULL AND title = $2"
            " AND author = $3 ORDER BY id LIMIT 1",
            self._cid,
            title,
            author,
        )
        return None if row is None else _book(row)

    async def insert_book(
        self,
        title: str,
        author: str,
        isbn: str | None,
        tags: frozenset[str],
        source: str,
        now: datetime,
    ) -> Book | None:
        """A new book; `None` if another book already has this ISBN."""
        row = await self._conn.fetchrow(
            "INSERT INTO books (community_id, title, author, isbn, tags, source, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
            " ON CONFLICT (community_id, isbn) WHERE isbn IS NOT NULL DO NOTHING RETURNING *",
            self._cid,
            title,
            author,
            isbn,
            dumps(sorted(tags)),
            source,
            now,
        )
        if row is None:
            return None
        book = _book(row)
        await self._save_tags(book.id, tags)
        return book

    async def update_book(self, book: Book, source: str, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE books SET title = $3, author = $4, isbn = $5, tags = $6, source = $7,"
            " updated_at = $8 WHERE community_id = $1 AND id = $2",
            self._cid,
            book.id,
            book.title,
            book.author,
            book.isbn,
            dumps(sorted(book.tags)),
            source,
            now,
        )
        await self._conn.execute(
            "DELETE FROM book_tags WHERE community_id = $1 AND book_id = $2", self._cid, book.id
        )
        await self._save_tags(book.id, book.tags)

    async def _save_tags(self, book_id: int, tags: frozenset[str]) -> None:
        if tags:
            await self._conn.executemany(
                "INSERT INTO book_tags (community_id, tag, book_id) VALUES ($1, $2, $3)",
                [(self._cid, tag, book_id) for tag in sorted(tags)],
            )

    async def search(
        self,
        text: str,
        isbn: str | None,
        tag: str | None,
        *,
        offset: int,
        limit: int,
    ) -> tuple[list[tuple[Book, int, int, int]], int]:
        """Books matching `text` in title or author (or `isbn`) and `tag`, in catalogue order.

        Each with its copies on the shelves (not withdrawn), how many are
        available now, and how many holds wait for it.
        """
        where = ["b.community_id = $1"]
        args: list[Any] = [self._cid]
        if text:
            args.append(like_pattern(text))
            match = (
                f"LOWER(b.title) LIKE ${len(args)} ESCAPE '\\'"
                f" OR LOWER(b.author) LIKE ${len(args)} ESCAPE '\\'"
            )
            if isbn is not None:
                args.append(isbn)
                match += f" OR b.isbn = ${len(args)}"
            where.append(f"({match})")
        if tag is not None:
            args.append(tag)
            where.append(
                "EXISTS (SELECT 1 FROM book_tags t WHERE t.community_id = b.community_id"
                f" AND t.book_id = b.id AND t.tag = ${len(args)})"
            )
        clause = " AND ".join(where)
        total = await self._conn.fetchval(
            f"SELECT COUNT(*) AS n FROM books b WHERE {clause}", *args
        )
        args.extend((limit, offset))
        rows = await self._conn.fetch(
            "SELECT b.*,"
            " (SELECT COUNT(*) FROM book_copies c WHERE c.community_id = b.community_id"
            "  AND c.book_id = b.id AND c.status <> 'withdrawn') AS n_copies,"
            " (SELECT COUNT(*) FROM book_copies c WHERE c.community_id = b.community_id"
            "  AND c.book_id = b.id AND c.status = 'available') AS n_available,"
            " (SELECT COUNT(*) FROM book_holds h WHERE h.community_id = b.community_id"
            "  AND h.book_id = b.id AND h.status = 'waiting') AS n_waiting"
            f" FROM books b WHERE {clause} ORDER BY b.id"
            f" LIMIT ${len(args) - 1} OFFSET ${len(args)}",
            *args,
        )
        found = [
            (_book(r), int(r["n_copies"]), int(r["n_available"]), int(r["n_waiting"])) for r in rows
        ]
        return found, int(total)

    # --- copies --------------------------------------------------------------------

    async def copy(self, code: str) -> Copy | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM book_copies WHERE community_id = $1 AND code = $2", self._cid, code
        )
        return None if row is None else _copy(row)

    async def copies_of(self, book_id: int) -> list[Copy]:
        rows = await self._conn.fetch(
            "SELECT * FROM book_copies WHERE community_id = $1 AND book_id = $2 ORDER BY code",
            self._cid,
            book_id,
        )
        return [_copy(r) for r in rows]

    async def insert_copy(
        self,
        code: str,
        book_id: int,
        location: CopyLocation,
        donor_id: int | None,
        by: str,
        now: datetime,
    ) -> Copy | None:
        """A new copy (available); `None` if the code is taken."""
        row = await self._conn.fetchrow(
            "INSERT INTO book_copies (community_id, code, book_id, location, status, held_for,"
            " donor_id, added_by, added_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6,"
            " $7, $8, $8) ON CONFLICT (community_id, code) DO NOTHING RETURNING *",
            self._cid,
            code,
            book_id,
            location.value,
            CopyStatus.AVAILABLE.value,
            donor_id,
            by,
            now,
        )
        return None if row is None else _copy(row)

    async def set_copy(
        self,
        code: str,
        status: CopyStatus,
        held_for: int | None,
        now: datetime,
        location: CopyLocation | None = None,
    ) -> Copy:
        row = await self._conn.fetchrow(
            "UPDATE book_copies SET status = $3, held_for = $4,"
            " location = COALESCE($5, location), updated_at = $6"
            " WHERE community_id = $1 AND code = $2 RETURNING *",
            self._cid,
            code,
            status.value,
            held_for,
            None if location is None else location.value,
            now,
        )
        assert row is not None, code
        return _copy(row)

    async def take_copy(self, code: str, member_id: int, now: datetime) -> Copy | None:
        """Mark a copy on loan if it is available or held for this member; else `None`."""
        row = await self._conn.fetchrow(
            "UPDATE book_copies SET status = 'on_loan', held_for = NULL, updated_at = $4"
            " WHERE community_id = $1 AND code = $2 AND (status = 'available'"
            " OR (status = 'held_for_pickup' AND held_for = $3)) RETURNING *",
            self._cid,
            code,
            member_id,
            now,
        )
        return None if row is None else _copy(row)

    async def move_copy(self, code: str, location: CopyLocation, now: datetime) -> Copy | None:
        row = await self._conn.fetchrow(
            "UPDATE book_copies SET location = $3, updated_at = $4"
            " WHERE community_id = $1 AND code = $2 RETURNING *",
            self._cid,
            code,
            location.value,
            now,
        )
        return None if row is None else _copy(row)

    async def withdraw_copy(self, code: str, now: datetime) -> Copy | None:
        """Take an available copy out of circulation; `None` if it is not available."""
        row = await self._conn.fetchrow(
            "UPDATE book_copies SET status = 'withdrawn', updated_at = $3"
            " WHERE community_id = $1 AND code = $2 AND status = 'available' RETURNING *",
            self._cid,
            code,
            now,
        )
        return None if row is None else _copy(row)

    async def available_count(self, book_id: int) -> int:
        return await self._count(
            "SELECT COUNT(*) AS n FROM book_copies WHERE community_id = $1 AND book_id = $2"
            " AND status = 'available'",
            self._cid,
            book_id,
        )

    # --- loans ---------------------------------------------------------------------

    async def loan(self, loan_id: int) -> Loan | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM book_loans WHERE community_id = $1 AND id = $2", self._cid, loan_id
        )
        return None if row is None else _loan(row)

    async def open_loan(self, code: str) -> Loan | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM book_loans WHERE community_id = $1 AND copy_code = $2"
            " AND returned_at IS NULL",
            self._cid,
            code,
        )
        return None if row is None else _loan(row)

    async def open_loans_count(self, member_id: int) -> int:
        return await self._count(
            "SELECT COUNT(*) AS n FROM book_loans WHERE community_id = $1 AND member_id = $2"
            " AND returned_at IS NULL",
            self._cid,
            member_id,
        )

    async def has_open_loan_of_book(self, member_id: int, book_id: int) -> bool:
        return (
            await self._count(
                "SELECT COUNT(*) AS n FROM book_loans WHERE community_id = $1 AND member_id = $2"
                " AND book_id = $3 AND returned_at IS NULL",
                self._cid,
                member_id,
                book_id,
            )
            > 0
        )

    async def insert_loan(
        self,
        code: str,
        book_id: int,
        member_id: int,
        due_at: datetime,
        by: str,
        now: datetime,
    ) -> Loan:
        row = await self._conn.fetchrow(
            "INSERT INTO book_loans (community_id, copy_code, book_id, member_id, borrowed_at,"
            " due_at, returned_at, renewals, lent_by) VALUES ($1, $2, $3, $4, $5, $6, NULL, 0,"
            " $7) RETURNING *",
            self._cid,
            code,
            book_id,
            member_id,
            now,
            due_at,
            by,
        )
        assert row is not None
        return _loan(row)

    async def close_loan(self, loan_id: int, by: str, now: datetime) -> Loan | None:
        """Mark an open loan returned; `None` if it was returned already."""
        row = await self._conn.fetchrow(
            "UPDATE book_loans SET returned_at = $3, returned_by = $4"
            " WHERE community_id = $1 AND id = $2 AND returned_at IS NULL RETURNING *",
            self._cid,
            loan_id,
            now,
            by,
        )
        return None if row is None else _loan(row)

    async def renew_loan(self, loan_id: int, due_at: datetime, renewals: int) -> Loan | None:
        """Move the due date if the loan is open and not renewed since it was read."""
        row = await self._conn.fetchrow(
            "UPDATE book_loans SET due_at = $3, renewals = renewals + 1"
            " WHERE community_id = $1 AND id = $2 AND returned_at IS NULL AND renewals = $4"
            " RETURNING *",
            self._cid,
            loan_id,
            due_at,
            renewals,
        )
        return None if row is None else _loan(row)

    async def loans(
        self,
        member_id: int | None,
        *,
        open_only: bool,
        overdue_at: datetime | None,
        limit: int,
    ) -> list[Loan]:
        where = ["community_id = $1"]
        args: list[Any] = [self._cid]
        if member_id is not None:
            args.append(member_id)
            where.append(f"member_id = ${len(args)}")
        if open_only or overdue_at is not None:
            where.append("returned_at IS NULL")
        if overdue_at is not None:
            args.append(overdue_at)
            where.append(f"due_at <= ${len(args)}")
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM book_loans WHERE {' AND '.join(where)}"
            f" ORDER BY borrowed_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        return [_loan(r) for r in rows]

    # --- holds ---------------------------------------------------------------------

    async def hold(self, hold_id: int) -> Hold | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM book_holds WHERE community_id = $1 AND id = $2", self._cid, hold_id
        )
        if row is None:
            return None
        hold = _hold(row)
        if hold.status is HoldStatus.WAITING:
            return _hold(row, await self.position(hold.book_id, hold.id))
        return hold

    async def open_hold(self, book_id: int, member_id: int) -> Hold | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM book_holds WHERE community_id = $1 AND book_id = $2"
            f" AND member_id = $3 AND status IN {_OPEN_HOLDS}",
            self._cid,
            book_id,
            member_id,
        )
        return None if row is None else _hold(row)

    async def open_holds_count(self, member_id: int) -> int:
        value = await self._conn.fetchval(
            "SELECT COUNT(*) AS n FROM book_holds WHERE community_id = $1 AND member_id = $2"
            f" AND status IN {_OPEN_HOLDS}",
            self._cid,
            member_id,
        )
        return int(value)

    async def waiting_count(self, book_id: int) -> int:
        return await self._count(
            "SELECT COUNT(*) AS n FROM book_holds WHERE community_id = $1 AND book_id = $2"
            " AND status = 'waiting'",
            self._cid,
            book_id,
        )

    async def position(self, book_id: int, hold_id: int) -> int:
        return await self._count(
            "SELECT COUNT(*) AS n FROM book_holds WHERE community_id = $1 AND book_id = $2"
            " AND status = 'waiting' AND id <= $3",
            self._cid,
            book_id,
            hold_id,
        )

    async def insert_hold(self, book_id: int, member_id: int, now: datetime) -> Hold | None:
        """A new waiting hold; `None` if the member already has an open one on the book."""
        row = await self._conn.fetchrow(
            "INSERT INTO book_holds (community_id, book_id, member_id, status, placed_at)"
            " VALUES ($1, $2, $3, 'waiting', $4)"
            " ON CONFLICT (community_id, book_id, member_id) WHERE status IN ('waiting', 'ready')"
            " DO NOTHING RETURNING *",
            self._cid,
            book_id,
            member_id,
            now,
        )
        if row is None:
            return None
        return _hold(row, await self.position(book_id, int(row["id"])))

    async def waiting_holds(self, book_id: int) -> list[Hold]:
        """The book's queue, first in line first."""
        rows = await self._conn.fetch(
            "SELECT * FROM book_holds WHERE community_id = $1 AND book_id = $2"
            " AND status = 'waiting' ORDER BY id",
            self._cid,
            book_id,
        )
        return [_hold(r, n) for n, r in enumerate(rows, start=1)]

    async def make_ready(
        self, hold_id: int, code: str, pickup_by: datetime, now: datetime
    ) -> Hold | None:
        row = await self._conn.fetchrow(
            "UPDATE book_holds SET status = 'ready', copy_code = $3, ready_at = $4,"
            " pickup_by = $5 WHERE community_id = $1 AND id = $2 AND status = 'waiting'"
            " RETURNING *",
            self._cid,
            hold_id,
            code,
            now,
            pickup_by,
        )
        return None if row is None else _hold(row)

    async def close_hold(
        self, hold_id: int, expected: Sequence[HoldStatus], status: HoldStatus, now: datetime
    ) -> Hold | None:
        """Move an open hold to a final status if it is in one of `expected`."""
        marks = ", ".join(f"${n}" for n in range(5, 5 + len(expected)))
        row = await self._conn.fetchrow(
            "UPDATE book_holds SET status = $3, closed_at = $4"
            f" WHERE community_id = $1 AND id = $2 AND status IN ({marks}) RETURNING *",
            self._cid,
            hold_id,
            status.value,
            now,
            *(s.value for s in expected),
        )
        return None if row is None else _hold(row)

    async def holds(
        self, *, book_id: int | None, member_id: int | None, open_only: bool, limit: int
    ) -> list[Hold]:
        where = ["community_id = $1"]
        args: list[Any] = [self._cid]
        if book_id is not None:
            args.append(book_id)
            where.append(f"book_id = ${len(args)}")
        if member_id is not None:
            args.append(member_id)
            where.append(f"member_id = ${len(args)}")
        if open_only:
            where.append(f"status IN {_OPEN_HOLDS}")
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM book_holds WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(args)}",
            *args,
        )
        found = []
        for row in rows:
            hold = _hold(row)
            if hold.status is HoldStatus.WAITING:
                hold = _hold(row, await self.position(hold.book_id, hold.id))
            found.append(hold)
        return found

    # --- donations -----------------------------------------------------------------

    async def insert_donation(
        self,
        book_id: int,
        member_id: int,
        codes: Sequence[str],
        note: str,
        by: str,
        now: datetime,
    ) -> Donation:
        row = await self._conn.fetchrow(
            "INSERT INTO book_donations (community_id, book_id, member_id, copy_codes, note,"
            " recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            self._cid,
            book_id,
            member_id,
            dumps(list(codes)),
            note,
            by,
            now,
        )
        assert row is not None
        return _donation(row)

    async def donations(self, member_id: int | None, limit: int) -> list[Donation]:
        where = "community_id = $1"
        args: list[Any] = [self._cid]
        if member_id is not None:
            args.append(member_id)
            where += " AND member_id = $2"
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM book_donations WHERE {where} ORDER BY id LIMIT ${len(args)}", *args
        )
        return [_donation(r) for r in rows]

    # --- reflections ---------------------------------------------------------------

    async def reflection(self, reflection_id: int) -> Reflection | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM reflections WHERE community_id = $1 AND id = $2",
            self._cid,
            reflection_id,
        )
        return None if row is None else _reflection(row)

    async def insert_reflection(
        self, book_id: int, member_id: int, text: str, now: datetime
    ) -> Reflection | None:
        """A new submitted reflection; `None` if the member already wrote one on the book."""
        row = await self._conn.fetchrow(
            "INSERT INTO reflections (community_id, book_id, member_id, text, status, revision,"
            " submitted_at, note) VALUES ($1, $2, $3, $4, 'submitted', 1, $5, '')"
            " ON CONFLICT (community_id, book_id, member_id) DO NOTHING RETURNING *",
            self._cid,
            book_id,
            member_id,
            text,
            now,
        )
        return None if row is None else _reflection(row)

    async def revise_reflection(
        self, reflection_id: int, text: str, now: datetime
    ) -> Reflection | None:
        """Resubmit a returned reflection with a new text; `None` if it was not returned."""
        row = await self._conn.fetchrow(
            "UPDATE reflections SET text = $3, status = 'submitted', revision = revision + 1,"
            " submitted_at = $4 WHERE community_id = $1 AND id = $2 AND status = 'returned'"
            " RETURNING *",
            self._cid,
            reflection_id,
            text,
            now,
        )
        return None if row is None else _reflection(row)

    async def decide_reflection(
        self,
        reflection_id: int,
        status: ReflectionStatus,
        note: str,
        by: str,
        now: datetime,
    ) -> Reflection | None:
        """Approve or return a submitted reflection; `None` if it is not submitted."""
        row = await self._conn.fetchrow(
            "UPDATE reflections SET status = $3, note = $4, decided_by = $5, decided_at = $6"
            " WHERE community_id = $1 AND id = $2 AND status = 'submitted' RETURNING *",
            self._cid,
            reflection_id,
            status.value,
            note,
            by,
            now,
        )
        return None if row is None else _reflection(row)

    async def reflections(
        self,
        *,
        book_id: int | None,
        member_id: int | None,
        status: ReflectionStatus | None,
        visible_to: int | None,
        limit: int,
    ) -> list[Reflection]:
        """Reflections by filter; with `visible_to`, only approved ones and that member's own."""
        where = ["community_id = $1"]
        args: list[Any] = [self._cid]
        if book_id is not None:
            args.append(book_id)
            where.append(f"book_id = ${len(args)}")
        if member_id is not None:
            args.append(member_id)
            where.append(f"member_id = ${len(args)}")
        if status is not None:
            args.append(status.value)
            where.append(f"status = ${len(args)}")
        if visible_to is not None:
            args.append(visible_to)
            where.append(f"(status = 'approved' OR member_id = ${len(args)})")
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM reflections WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(args)}",
            *args,
        )
        return [_reflection(r) for r in rows]

    # --- the best-reflection contest -----------------------------------------------

    async def contest(self, contest_id: int) -> ReflectionContest | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM reflection_contests WHERE community_id = $1 AND id = $2",
            self._cid,
            contest_id,
        )
        return None if row is None else _contest(row)

    async def contests(self) -> list[ReflectionContest]:
        rows = await self._conn.fetch(
            "SELECT * FROM reflection_contests WHERE community_id = $1 ORDER BY id", self._cid
        )
        return [_contest(r) for r in rows]

    async def insert_contest(
        self, title: str, opens_at: datetime, closes_at: datetime, by: str, now: datetime
    ) -> ReflectionContest:
        row = await self._conn.fetchrow(
            "INSERT INTO reflection_contests (community_id, title, opens_at, closes_at,"
            " created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            self._cid,
            title,
            opens_at,
            closes_at,
            by,
            now,
        )
        assert row is not None
        return _contest(row)

    async def nominate(self, contest_id: int, reflection_id: int, by: str, now: datetime) -> bool:
        """Nominate once; `False` if the reflection is already nominated in the contest."""
        row = await self._conn.fetchrow(
            "INSERT INTO reflection_nominations (community_id, contest_id, reflection_id,"
            " nominated_by, nominated_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, contest_id, reflection_id) DO NOTHING"
            " RETURNING reflection_id",
            self._cid,
            contest_id,
            reflection_id,
            by,
            now,
        )
        return row is not None

    async def is_nominated(self, contest_id: int, reflection_id: int) -> bool:
        row = await self._conn.fetchrow(
            "SELECT 1 AS one FROM reflection_nominations WHERE community_id = $1"
            " AND contest_id = $2 AND reflection_id = $3",
            self._cid,
            contest_id,
            reflection_id,
        )
        return row is not None

    async def nominated(self, contest_id: int) -> list[Reflection]:
        rows = await self._conn.fetch(
            "SELECT r.* FROM reflection_nominations n JOIN reflections r"
            " ON r.community_id = n.community_id AND r.id = n.reflection_id"
            " WHERE n.community_id = $1 AND n.contest_id = $2 ORDER BY r.id",
            self._cid,
            contest_id,
        )
        return [_reflection(r) for r in rows]

    async def vote(
        self, contest_id: int, member_id: int, reflection_id: int, now: datetime
    ) -> bool:
        """Record a member's one vote; `False` if they voted in this contest already."""
        row = await self._conn.fetchrow(
            "INSERT INTO reflection_votes (community_id, contest_id, member_id, reflection_id,"
            " voted_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, contest_id, member_id) DO NOTHING RETURNING member_id",
            self._cid,
            contest_id,
            member_id,
            reflection_id,
            now,
        )
        return row is not None

    async def vote_of(self, contest_id: int, member_id: int) -> int | None:
        value = await self._conn.fetchval(
            "SELECT reflection_id FROM reflection_votes WHERE community_id = $1"
            " AND contest_id = $2 AND member_id = $3",
            self._cid,
            contest_id,
            member_id,
        )
        return _optional_int(value)

    async def tally(self, contest_id: int) -> list[tuple[int, int, int, int]]:
        """`(reflection_id, member_id, book_id, votes)` of every nominated reflection."""
        rows = await self._conn.fetch(
            "SELECT r.id, r.member_id, r.book_id,"
            " (SELECT COUNT(*) FROM reflection_votes v WHERE v.community_id = n.community_id"
            "  AND v.contest_id = n.contest_id AND v.reflection_id = n.reflection_id) AS votes"
            " FROM reflection_nominations n JOIN reflections r"
            " ON r.community_id = n.community_id AND r.id = n.reflection_id"
            " WHERE n.community_id = $1 AND n.contest_id = $2",
            self._cid,
            contest_id,
        )
        return [
            (int(r["id"]), int(r["member_id"]), int(r["book_id"]), int(r["votes"])) for r in rows
        ]
