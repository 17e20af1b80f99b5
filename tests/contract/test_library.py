"""The red-reading library: books, copies, loans, holds, donations, reflections, the contest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from huarong_core import Actor, Huarong, parse_config
from huarong_core.commands import (
    AddBook,
    AddCopy,
    ApproveReflection,
    BorrowCopy,
    CancelHold,
    CreateReflectionContest,
    FireDueTimers,
    GetBook,
    GetPointsStatement,
    GetReflection,
    GetReflectionContest,
    GetReflectionContestResults,
    ListHolds,
    ListLoans,
    ListReflections,
    MoveCopy,
    NominateReflection,
    PlaceHold,
    RecordDonation,
    RenewLoan,
    ReturnCopy,
    ReturnReflection,
    ReviseReflection,
    SearchBooks,
    SubmitReflection,
    UpdateBook,
    VoteForReflection,
    WithdrawCopy,
)
from huarong_core.domain.library import (
    Book,
    CopyLocation,
    CopyStatus,
    HoldStatus,
    ReflectionStatus,
)
from huarong_core.errors import (
    AlreadyExists,
    AlreadyVoted,
    ConfigError,
    CopyNotOnLoan,
    CopyUnavailable,
    HoldRefused,
    InvalidTransition,
    InvalidValue,
    LoanLimitReached,
    NotFound,
    PermissionDenied,
    RenewalRefused,
    VotingClosed,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

LIBRARY = """
[library]
station = "service"
loan_days = 30
max_loans = 2
remind_days_before = 3
overdue_every_days = 7
hold_pickup_days = 3

[[library.books]]
title = "红岩"
author = "罗广斌、杨益言"
isbn = "7-02-000233-1"
tags = ["红色经典", "Novel"]
copies = [{ code = "hy-001" }, { code = "HY-002", location = "drift" }]

[[library.books]]
title = "党史故事一百讲"
author = "编写组"
copies = [{ code = "DS-001" }]

[[members]]
key = "bob"
name = "Bob"

[[members]]
key = "carol"
name = "Carol"

[[members]]
key = "dave"
name = "Dave"

[[members]]
key = "librarian"
name = "Librarian"

[[roles]]
member = "librarian"
role = "station_staff"
scope = "station:service"

[[points.rules]]
key = "reflection"
name = "Reading reflection"
trigger = "library.reflection_approved"
points = 8

[[points.rules]]
key = "book_donation"
name = "Book donation"
trigger = "library.book_donated"
per_unit = 2
"""

TEXT = "这本书讲述了革命先辈在狱中坚贞不屈的故事，读来令人动容。" * 3
HONGYAN_ISBN = "9787020002337"


@pytest.fixture
async def library(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    config = SAMPLE_COMMUNITY + LIBRARY
    async with open_test_community(database_url, config=config, clock=clock) as pair:
        yield pair


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


async def book_titled(pair: Pair, title: str) -> Book:
    _, handle = pair
    page = await handle.execute(SearchBooks(title), actor=SYSTEM)
    assert len(page.items) == 1
    return page.items[0].book


async def one_copy_book(pair: Pair) -> Book:
    """A book with a single copy `ONE-1` on the shelf."""
    _, handle = pair
    librarian = await actor_for(handle, "librarian")
    book = await handle.execute(AddBook("共产党宣言", "马克思、恩格斯"), actor=librarian)
    await handle.execute(AddCopy(book.id, "one-1"), actor=librarian)
    return book


# --- books, copies, search ------------------------------------------------------------


async def test_the_file_makes_books_and_copies_and_loading_twice_changes_nothing(
    library: Pair, clock: FrozenClock
) -> None:
    huarong, handle = library
    hongyan = await book_titled(library, "红岩")
    assert hongyan.isbn == HONGYAN_ISBN
    assert hongyan.tags == frozenset({"红色经典", "novel"})
    details = await handle.execute(GetBook(hongyan.id), actor=SYSTEM)
    assert [(c.code, c.location, c.status) for c in details.copies] == [
        ("HY-001", CopyLocation.BOOKSHELF, CopyStatus.AVAILABLE),
        ("HY-002", CopyLocation.DRIFT, CopyStatus.AVAILABLE),
    ]
    assert details.available == 2

    before = await snapshot(huarong.db)
    clock.advance(hours=1)
    config = parse_config(SAMPLE_COMMUNITY + LIBRARY)
    report = await huarong.apply_configuration(config, actor=SYSTEM, source="<test>")
    assert report.changes == 0
    assert report.unchanged["books"] == 2
    assert report.unchanged["book_copies"] == 3
    assert await snapshot(huarong.db) == before


async def test_a_bad_isbn_in_the_file_is_reported() -> None:
    broken = LIBRARY.replace("7-02-000233-1", "7-02-000233-2")
    with pytest.raises(ConfigError) as caught:
        parse_config(SAMPLE_COMMUNITY + broken)
    assert [(p.where, p.params.get("reason")) for p in caught.value.problems] == [
        ("library.books[0]", "isbn_check_digit")
    ]


async def test_staff_add_books_members_search_them(library: Pair) -> None:
    huarong, handle = library
    librarian = await actor_for(handle, "librarian")
    alice = await actor_for(handle, "alice")

    book = await handle.execute(
        AddBook("The Pragmatic Programmer", "Hunt, Thomas", "0-201-61622-X", frozenset({"IT"})),
        actor=librarian,
    )
    assert book.isbn == "9780201616224"
    assert book.tags == frozenset({"it"})
    await handle.execute(AddCopy(book.id, "pp-1"), actor=librarian)

    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as bad:
        await handle.execute(AddBook("Other", "Someone", "0-201-61622-9"), actor=librarian)
    assert bad.value.reason == "isbn_check_digit"
    with pytest.raises(AlreadyExists):
        await handle.execute(AddBook("Again", "Someone", "9780201616224"), actor=librarian)
    with pytest.raises(AlreadyExists):
        await handle.execute(AddCopy(book.id, "HY-001"), actor=librarian)
    with pytest.raises(PermissionDenied):
        await handle.execute(AddBook("Mine", "Alice"), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(AddCopy(book.id, "PP-2"), actor=alice)
    assert await snapshot(huarong.db) == before

    by_title = await handle.execute(SearchBooks("pragmatic"), actor=alice)
    assert [(s.book.id, s.copies, s.available) for s in by_title.items] == [(book.id, 1, 1)]
    by_author = await handle.execute(SearchBooks("杨益言"), actor=alice)
    assert [s.book.title for s in by_author.items] == ["红岩"]
    by_isbn = await handle.execute(SearchBooks("978-0-201-61622-4"), actor=alice)
    assert [s.book.id for s in by_isbn.items] == [book.id]
    by_isbn10 = await handle.execute(SearchBooks("7020002331"), actor=alice)
    assert [s.book.title for s in by_isbn10.items] == ["红岩"]
    by_tag = await handle.execute(SearchBooks(tag="红色经典"), actor=alice)
    assert [(s.book.title, s.available) for s in by_tag.items] == [("红岩", 2)]
    everything = await handle.execute(SearchBooks(), actor=alice)
    assert everything.total == 3

    await handle.execute(BorrowCopy("HY-001"), actor=alice)
    after = await handle.execute(SearchBooks(tag="红色经典"), actor=alice)
    assert [(s.copies, s.available) for s in after.items] == [(2, 1)]

    changed = await handle.execute(
        UpdateBook(book.id, title="The Pragmatic Programmer (20th)", isbn=""), actor=librarian
    )
    assert (changed.title, changed.isbn) == ("The Pragmatic Programmer (20th)", None)
    moved = await handle.execute(MoveCopy("pp-1", CopyLocation.DRIFT), actor=librarian)
    assert moved.location is CopyLocation.DRIFT
    withdrawn = await handle.execute(WithdrawCopy("PP-1", "worn out"), actor=librarian)
    assert withdrawn.status is CopyStatus.WITHDRAWN
    with pytest.raises(CopyUnavailable) as refused:
        await handle.execute(BorrowCopy("PP-1"), actor=alice)
    assert refused.value.reason == "withdrawn"
    with pytest.raises(InvalidTransition) as on_loan:
        await handle.execute(WithdrawCopy("HY-001"), actor=librarian)
    assert (on_loan.value.state, on_loan.value.wanted) == ("on_loan", "withdrawn")


# --- borrowing and returning ----------------------------------------------------------


async def test_borrow_and_return_by_copy_code(library: Pair, clock: FrozenClock) -> None:
    huarong, handle = library
    alice = await actor_for(handle, "alice")
    bob = await actor_for(handle, "bob")
    librarian = await actor_for(handle, "librarian")

    loan = await handle.execute(BorrowCopy(" hy-001 "), actor=alice)
    assert (loan.copy_code, loan.member_id) == ("HY-001", mid(alice))
    assert loan.due_at == clock.now() + timedelta(days=30)
    borrowed = await events_of(huarong, "library.borrowed")
    assert [(e["copy_code"], e["member_id"]) for e in borrowed] == [("HY-001", mid(alice))]

    before = await snapshot(huarong.db)
    with pytest.raises(CopyUnavailable) as taken:
        await handle.execute(BorrowCopy("HY-001"), actor=bob)
    assert taken.value.reason == "on_loan"
    with pytest.raises(NotFound):
        await handle.execute(BorrowCopy("NO-SUCH"), actor=bob)
    with pytest.raises(InvalidValue):
        await handle.execute(BorrowCopy("??"), actor=bob)
    with pytest.raises(CopyNotOnLoan) as not_on_loan:
        await handle.execute(ReturnCopy("HY-002"), actor=alice)
    assert (not_on_loan.value.copy, not_on_loan.value.status) == ("HY-002", "available")
    assert "HY-002" in str(not_on_loan.value)
    with pytest.raises(PermissionDenied):
        await handle.execute(ReturnCopy("HY-001"), actor=bob)
    with pytest.raises(PermissionDenied):
        await handle.execute(BorrowCopy("HY-002", member_id=mid(bob)), actor=alice)
    assert await snapshot(huarong.db) == before

    await handle.execute(BorrowCopy("DS-001"), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(LoanLimitReached) as limit:
        await handle.execute(BorrowCopy("HY-002"), actor=alice)
    assert limit.value.limit == 2
    assert await snapshot(huarong.db) == before

    mine = await handle.execute(ListLoans(), actor=alice)
    assert sorted(x.copy_code for x in mine) == ["DS-001", "HY-001"]
    with pytest.raises(PermissionDenied):
        await handle.execute(ListLoans(member_id=mid(alice)), actor=bob)

    clock.advance(days=2)
    result = await handle.execute(ReturnCopy("HY-001", CopyLocation.DRIFT), actor=alice)
    assert result.loan.returned_at == clock.now()
    assert (result.copy.status, result.copy.location, result.held_for) == (
        CopyStatus.AVAILABLE,
        CopyLocation.DRIFT,
        None,
    )
    before = await snapshot(huarong.db)
    with pytest.raises(CopyNotOnLoan) as again:
        await handle.execute(ReturnCopy("HY-001"), actor=alice)
    assert again.value.status == "available"
    assert await snapshot(huarong.db) == before

    # Staff lend at the desk and take back anyone's copy.
    lent = await handle.execute(BorrowCopy("HY-001", member_id=mid(bob)), actor=librarian)
    assert lent.member_id == mid(bob)
    back = await handle.execute(ReturnCopy("HY-001"), actor=librarian)
    assert back.loan.member_id == mid(bob)
    open_loans = await handle.execute(ListLoans(everyone=True), actor=librarian)
    assert [x.copy_code for x in open_loans] == ["DS-001"]


async def test_reminders_before_the_due_date_and_when_overdue(
    library: Pair, clock: FrozenClock
) -> None:
    huarong, handle = library
    alice = await actor_for(handle, "alice")
    loan = await handle.execute(BorrowCopy("HY-001"), actor=alice)

    clock.advance(days=26)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0
    clock.advance(days=1)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
    soon = await events_of(huarong, "library.loan_due_soon")
    assert [(e["loan_id"], e["recipients"]) for e in soon] == [(loan.id, [mid(alice)])]

    clock.advance(days=3)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
    clock.advance(days=7)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
    overdue = await events_of(huarong, "library.loan_overdue")
    assert [(e["days_overdue"], e["recipients"]) for e in overdue] == [
        (0, [mid(alice)]),
        (7, [mid(alice)]),
    ]
    overdue_loans = await handle.execute(ListLoans(overdue_only=True), actor=alice)
    assert [x.id for x in overdue_loans] == [loan.id]

    returned = await handle.execute(ReturnCopy("HY-001"), actor=alice)
    assert returned.loan.id == loan.id
    assert [e["overdue"] for e in await events_of(huarong, "library.returned")] == [True]
    clock.advance(days=30)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0


async def test_a_loan_is_renewed_once_and_not_while_someone_waits(
    library: Pair, clock: FrozenClock
) -> None:
    huarong, handle = library
    alice = await actor_for(handle, "alice")
    bob = await actor_for(handle, "bob")
    loan = await handle.execute(BorrowCopy("DS-001"), actor=alice)

    clock.advance(days=20)
    renewed = await handle.execute(RenewLoan("DS-001"), actor=alice)
    assert renewed.due_at == loan.due_at + timedelta(days=30)
    assert renewed.renewals == 1
    before = await snapshot(huarong.db)
    with pytest.raises(RenewalRefused) as twice:
        await handle.execute(RenewLoan("DS-001"), actor=alice)
    assert twice.value.reason == "renewal_used"
    with pytest.raises(CopyNotOnLoan):
        await handle.execute(RenewLoan("HY-001"), actor=alice)
    assert await snapshot(huarong.db) == before
    # The reminders follow the new due date.
    clock.advance(days=15)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0

    await handle.execute(BorrowCopy("HY-001"), actor=bob)
    hongyan = await book_titled(library, "红岩")
    carol = await actor_for(handle, "carol")
    await handle.execute(BorrowCopy("HY-002"), actor=carol)
    await handle.execute(PlaceHold(hongyan.id), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(RenewalRefused) as held:
        await handle.execute(RenewLoan("HY-001"), actor=bob)
    assert held.value.reason == "book_on_hold"
    assert await snapshot(huarong.db) == before


# --- holds ----------------------------------------------------------------------------


async def test_a_hold_queue_of_three_gets_the_copy_in_order(
    library: Pair, clock: FrozenClock
) -> None:
    huarong, handle = library
    book = await one_copy_book(library)
    alice, bob, carol, dave = [
        await actor_for(handle, key) for key in ("alice", "bob", "carol", "dave")
    ]
    await handle.execute(BorrowCopy("ONE-1"), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(HoldRefused) as own:
        await handle.execute(PlaceHold(book.id), actor=alice)
    assert own.value.reason == "already_borrowed"
    assert await snapshot(huarong.db) == before

    holds = [await handle.execute(PlaceHold(book.id), actor=m) for m in (bob, carol, dave)]
    assert [h.position for h in holds] == [1, 2, 3]
    with pytest.raises(AlreadyExists):
        await handle.execute(PlaceHold(book.id), actor=carol)

    borrower = alice
    for expected in (bob, carol, dave):
        clock.advance(days=1)
        result = await handle.execute(ReturnCopy("ONE-1"), actor=borrower)
        assert result.held_for == mid(expected)
        assert result.copy.status is CopyStatus.HELD_FOR_PICKUP
        ready = (await events_of(huarong, "library.hold_ready"))[-1]
        assert (ready["copy_code"], ready["recipients"]) == ("ONE-1", [mid(expected)])
        for other in (alice, bob, carol, dave):
            if other is expected:
                continue
            with pytest.raises(CopyUnavailable) as not_theirs:
                await handle.execute(BorrowCopy("ONE-1"), actor=other)
            assert not_theirs.value.reason == "held_for_other"
        loan = await handle.execute(BorrowCopy("ONE-1"), actor=expected)
        assert loan.member_id == mid(expected)
        borrower = expected

    ready_to = [e["recipients"] for e in await events_of(huarong, "library.hold_ready")]
    assert ready_to == [[mid(bob)], [mid(carol)], [mid(dave)]]
    closed = await handle.execute(ListHolds(book_id=book.id, open_only=False), actor=SYSTEM)
    assert [(h.member_id, h.status) for h in closed] == [
        (mid(bob), HoldStatus.FULFILLED),
        (mid(carol), HoldStatus.FULFILLED),
        (mid(dave), HoldStatus.FULFILLED),
    ]
    last = await handle.execute(ReturnCopy("ONE-1"), actor=dave)
    assert (last.held_for, last.copy.status) == (None, CopyStatus.AVAILABLE)


async def test_an_unclaimed_copy_passes_to_the_next_hold(library: Pair, clock: FrozenClock) -> None:
    huarong, handle = library
    book = await one_copy_book(library)
    alice, bob, carol = [await actor_for(handle, key) for key in ("alice", "bob", "carol")]
    await handle.execute(BorrowCopy("ONE-1"), actor=alice)
    await handle.execute(PlaceHold(book.id), actor=bob)
    carols = await handle.execute(PlaceHold(book.id), actor=carol)
    await handle.execute(ReturnCopy("ONE-1"), actor=alice)

    clock.advance(days=2, hours=23)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0
    clock.advance(hours=1)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
    expired = await events_of(huarong, "library.hold_expired")
    assert [e["recipients"] for e in expired] == [[mid(bob)]]
    details = await handle.execute(GetBook(book.id), actor=bob)
    assert [(c.status, c.held_for) for c in details.copies] == [
        (CopyStatus.HELD_FOR_PICKUP, mid(carol))
    ]
    with pytest.raises(CopyUnavailable):
        await handle.execute(BorrowCopy("ONE-1"), actor=bob)

    # Carol cancels: the copy is nobody's now and back on the shelf.
    cancelled = await handle.execute(CancelHold(carols.id), actor=carol)
    assert cancelled.status is HoldStatus.CANCELLED
    details = await handle.execute(GetBook(book.id), actor=bob)
    assert [(c.status, c.held_for) for c in details.copies] == [(CopyStatus.AVAILABLE, None)]
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidTransition):
        await handle.execute(CancelHold(carols.id), actor=carol)
    with pytest.raises(HoldRefused) as on_shelf:
        await handle.execute(PlaceHold(book.id), actor=bob)
    assert on_shelf.value.reason == "copy_available"
    assert await snapshot(huarong.db) == before
    clock.advance(days=5)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0


async def test_holds_are_the_members_own(library: Pair) -> None:
    _, handle = library
    book = await one_copy_book(library)
    alice, bob = await actor_for(handle, "alice"), await actor_for(handle, "bob")
    librarian = await actor_for(handle, "librarian")
    await handle.execute(BorrowCopy("ONE-1"), actor=alice)
    hold = await handle.execute(PlaceHold(book.id), actor=bob)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelHold(hold.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListHolds(book_id=book.id), actor=alice)
    assert [h.id for h in await handle.execute(ListHolds(), actor=bob)] == [hold.id]
    queue = await handle.execute(ListHolds(book_id=book.id), actor=librarian)
    assert [(h.member_id, h.position) for h in queue] == [(mid(bob), 1)]
    staff_cancel = await handle.execute(CancelHold(hold.id), actor=librarian)
    assert staff_cancel.status is HoldStatus.CANCELLED


async def test_two_members_borrowing_the_last_copy_at_once(library: Pair) -> None:
    huarong, handle = library
    await one_copy_book(library)
    alice, bob = await actor_for(handle, "alice"), await actor_for(handle, "bob")
    outcomes = await asyncio.gather(
        handle.execute(BorrowCopy("ONE-1"), actor=alice),
        handle.execute(BorrowCopy("ONE-1"), actor=bob),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1
    assert len(lost) == 1
    assert isinstance(lost[0], CopyUnavailable)
    assert len(await events_of(huarong, "library.borrowed")) == 1


async def test_one_member_borrowing_twice_at_once_keeps_the_limit(library: Pair) -> None:
    _, handle = library
    librarian = await actor_for(handle, "librarian")
    alice = await actor_for(handle, "alice")
    book = await one_copy_book(library)
    await handle.execute(AddCopy(book.id, "ONE-2"), actor=librarian)
    await handle.execute(BorrowCopy("DS-001"), actor=alice)
    outcomes = await asyncio.gather(
        handle.execute(BorrowCopy("ONE-1"), actor=alice),
        handle.execute(BorrowCopy("ONE-2"), actor=alice),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert [type(o) for o in outcomes if isinstance(o, BaseException)] == [LoanLimitReached]
    loans = await handle.execute(ListLoans(), actor=alice)
    assert len(loans) == 2


# --- donations ------------------------------------------------------------------------


async def test_a_donation_becomes_copies_and_earns_points(library: Pair) -> None:
    huarong, handle = library
    librarian = await actor_for(handle, "librarian")
    alice, bob = await actor_for(handle, "alice"), await actor_for(handle, "bob")

    result = await handle.execute(
        RecordDonation(
            mid(alice),
            ("GIFT-1", "gift-2"),
            title="平凡的世界",
            author="路遥",
            isbn="7-5399-0001-6",
            tags=frozenset({"小说"}),
            note="两本",
        ),
        actor=librarian,
    )
    assert result.book_created
    assert result.book.isbn == "9787539900018"
    assert [(c.code, c.donor_id, c.status) for c in result.copies] == [
        ("GIFT-1", mid(alice), CopyStatus.AVAILABLE),
        ("GIFT-2", mid(alice), CopyStatus.AVAILABLE),
    ]
    statement = await handle.execute(GetPointsStatement(mid(alice)), actor=SYSTEM)
    assert statement.balance == 4
    assert [e["recipients"] for e in await events_of(huarong, "library.donated")] == [[mid(alice)]]

    # A second donation of the same book (found by ISBN) goes to the first hold.
    await handle.execute(BorrowCopy("GIFT-1"), actor=alice)
    await handle.execute(BorrowCopy("GIFT-2"), actor=librarian)
    hold = await handle.execute(PlaceHold(result.book.id), actor=bob)
    again = await handle.execute(
        RecordDonation(mid(alice), ("GIFT-3",), isbn="978-7-5399-0001-8"), actor=librarian
    )
    assert (again.book.id, again.book_created) == (result.book.id, False)
    assert [(c.status, c.held_for) for c in again.copies] == [
        (CopyStatus.HELD_FOR_PICKUP, mid(bob))
    ]
    mine = await handle.execute(ListHolds(), actor=bob)
    assert [(h.id, h.status, h.copy_code) for h in mine] == [(hold.id, HoldStatus.READY, "GIFT-3")]
    statement = await handle.execute(GetPointsStatement(mid(alice)), actor=SYSTEM)
    assert statement.balance == 6

    before = await snapshot(huarong.db)
    with pytest.raises(PermissionDenied):
        await handle.execute(
            RecordDonation(mid(alice), ("GIFT-9",), book_id=result.book.id), actor=bob
        )
    with pytest.raises(AlreadyExists):
        await handle.execute(
            RecordDonation(mid(bob), ("GIFT-9", "GIFT-1"), book_id=result.book.id),
            actor=librarian,
        )
    with pytest.raises(InvalidValue) as twice:
        await handle.execute(
            RecordDonation(mid(bob), ("GIFT-9", "gift-9"), book_id=result.book.id),
            actor=librarian,
        )
    assert twice.value.reason == "duplicate_code"
    with pytest.raises(InvalidValue):
        await handle.execute(RecordDonation(mid(bob), ("GIFT-9",)), actor=librarian)
    assert await snapshot(huarong.db) == before


# --- reflections and the contest ------------------------------------------------------


async def test_a_reflection_is_returned_revised_and_approved(library: Pair) -> None:
    huarong, handle = library
    librarian = await actor_for(handle, "librarian")
    alice, bob = await actor_for(handle, "alice"), await actor_for(handle, "bob")
    hongyan = await book_titled(library, "红岩")

    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as short:
        await handle.execute(SubmitReflection(hongyan.id, "很好看。"), actor=alice)
    assert short.value.reason == "too_short"
    with pytest.raises(InvalidValue) as long:
        await handle.execute(SubmitReflection(hongyan.id, "长" * 5001), actor=alice)
    assert long.value.reason == "too_long"
    assert await snapshot(huarong.db) == before

    reflection = await handle.execute(SubmitReflection(hongyan.id, TEXT), actor=alice)
    assert reflection.status is ReflectionStatus.SUBMITTED
    with pytest.raises(AlreadyExists):
        await handle.execute(SubmitReflection(hongyan.id, TEXT), actor=alice)
    with pytest.raises(NotFound):
        await handle.execute(GetReflection(reflection.id), actor=bob)
    assert await handle.execute(ListReflections(), actor=bob) == ()
    with pytest.raises(PermissionDenied):
        await handle.execute(ApproveReflection(reflection.id), actor=bob)
    with pytest.raises(InvalidValue):
        await handle.execute(ReturnReflection(reflection.id, "  "), actor=librarian)
    with pytest.raises(InvalidTransition):
        await handle.execute(ReviseReflection(reflection.id, TEXT + "补充。"), actor=alice)

    returned = await handle.execute(
        ReturnReflection(reflection.id, "请多写一些自己的体会。"), actor=librarian
    )
    assert (returned.status, returned.note) == (ReflectionStatus.RETURNED, "请多写一些自己的体会。")
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidTransition):
        await handle.execute(ApproveReflection(reflection.id), actor=librarian)
    with pytest.raises(NotFound):
        await handle.execute(ReviseReflection(reflection.id, TEXT), actor=bob)
    assert await snapshot(huarong.db) == before

    revised = await handle.execute(
        ReviseReflection(reflection.id, TEXT + "它让我懂得了信仰的力量。"), actor=alice
    )
    assert (revised.status, revised.revision) == (ReflectionStatus.SUBMITTED, 2)
    approved = await handle.execute(ApproveReflection(reflection.id, "写得好"), actor=librarian)
    assert approved.status is ReflectionStatus.APPROVED
    statement = await handle.execute(GetPointsStatement(mid(alice)), actor=SYSTEM)
    assert statement.balance == 8
    with pytest.raises(InvalidTransition):
        await handle.execute(ApproveReflection(reflection.id), actor=librarian)
    decided = await events_of(huarong, "library.reflection_decided")
    assert [(e["status"], e["recipients"]) for e in decided] == [
        ("returned", [mid(alice)]),
        ("approved", [mid(alice)]),
    ]
    assert [r.id for r in await handle.execute(ListReflections(), actor=bob)] == [approved.id]
    assert (await handle.execute(GetReflection(approved.id), actor=bob)).text == approved.text


async def test_the_best_reflection_contest(library: Pair, clock: FrozenClock) -> None:
    huarong, handle = library
    librarian = await actor_for(handle, "librarian")
    alice, bob, carol, dave = [
        await actor_for(handle, key) for key in ("alice", "bob", "carol", "dave")
    ]
    hongyan = await book_titled(library, "红岩")
    reflections = []
    for author in (alice, bob, carol):
        written = await handle.execute(SubmitReflection(hongyan.id, TEXT), actor=author)
        reflections.append(written)
    pending = await handle.execute(
        SubmitReflection((await book_titled(library, "党史故事一百讲")).id, TEXT), actor=dave
    )
    for written in reflections:
        await handle.execute(ApproveReflection(written.id), actor=librarian)
    first, second, third = (r.id for r in reflections)

    opens = clock.now() + timedelta(days=1)
    closes = opens + timedelta(days=7)
    with pytest.raises(InvalidValue):
        await handle.execute(CreateReflectionContest("Bad", closes, opens), actor=librarian)
    with pytest.raises(PermissionDenied):
        await handle.execute(CreateReflectionContest("Mine", opens, closes), actor=alice)
    contest = await handle.execute(
        CreateReflectionContest("2026 红色悦读优秀读后感", opens, closes), actor=librarian
    )
    with pytest.raises(InvalidValue) as unapproved:
        await handle.execute(NominateReflection(contest.id, pending.id), actor=librarian)
    assert unapproved.value.reason == "not_approved"
    for reflection_id in (first, second, third):
        await handle.execute(NominateReflection(contest.id, reflection_id), actor=librarian)
    with pytest.raises(AlreadyExists):
        await handle.execute(NominateReflection(contest.id, first), actor=librarian)
    nominated = await events_of(huarong, "library.reflection_nominated")
    assert [e["recipients"] for e in nominated] == [[mid(alice)], [mid(bob)], [mid(carol)]]

    with pytest.raises(VotingClosed) as early:
        await handle.execute(VoteForReflection(contest.id, first), actor=dave)
    assert early.value.reason == "not_open_yet"

    clock.set(opens)
    vote = await handle.execute(VoteForReflection(contest.id, second), actor=dave)
    assert (vote.member_id, vote.reflection_id) == (mid(dave), second)
    before = await snapshot(huarong.db)
    with pytest.raises(AlreadyVoted):
        await handle.execute(VoteForReflection(contest.id, first), actor=dave)
    with pytest.raises(AlreadyVoted):
        await handle.execute(VoteForReflection(contest.id, second), actor=dave)
    with pytest.raises(InvalidValue) as own:
        await handle.execute(VoteForReflection(contest.id, first), actor=alice)
    assert own.value.reason == "own_reflection"
    with pytest.raises(NotFound):
        await handle.execute(VoteForReflection(contest.id, pending.id), actor=alice)
    with pytest.raises(VotingClosed) as not_yet:
        await handle.execute(GetReflectionContestResults(contest.id), actor=alice)
    assert not_yet.value.reason == "results_after_close"
    assert await snapshot(huarong.db) == before

    await handle.execute(VoteForReflection(contest.id, first), actor=bob)
    await handle.execute(VoteForReflection(contest.id, third), actor=alice)
    await handle.execute(VoteForReflection(contest.id, first), actor=librarian)
    await handle.execute(VoteForReflection(contest.id, second), actor=carol)
    details = await handle.execute(GetReflectionContest(contest.id), actor=bob)
    assert (details.voting, details.my_vote) == ("open", first)
    assert [r.id for r in details.nominations] == [first, second, third]
    live = await handle.execute(GetReflectionContestResults(contest.id), actor=librarian)
    assert not live.final

    clock.set(closes)
    staff = await actor_for(handle, "staff")
    with pytest.raises(VotingClosed) as late:
        await handle.execute(VoteForReflection(contest.id, third), actor=staff)
    assert late.value.reason == "closed"
    results = await handle.execute(GetReflectionContestResults(contest.id), actor=alice)
    assert results.final
    assert results.total_votes == 5
    assert [(s.place, s.reflection_id, s.member_id, s.votes) for s in results.standings] == [
        (1, first, mid(alice), 2),
        (1, second, mid(bob), 2),
        (3, third, mid(carol), 1),
    ]
