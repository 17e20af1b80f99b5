"""The library's pure rules: ISBNs, copy codes, tags, reflections, settings, contest ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huarong_core.config_library import BookEntry, CopyEntry, LibrarySection, book_from
from huarong_core.domain.library import (
    CopyLocation,
    LibrarySettings,
    Loan,
    ReflectionContest,
    Standing,
    check_settings,
    looks_like_isbn,
    normalize_copy_code,
    normalize_isbn,
    normalize_tags,
    rank_standings,
    require_reflection_text,
)
from huarong_core.errors import InvalidValue


@pytest.mark.parametrize(
    ("text", "isbn13"),
    [
        ("0-201-61622-X", "9780201616224"),
        ("020161622x", "9780201616224"),
        ("978-0-201-61622-4", "9780201616224"),
        ("978 0 201 61622 4", "9780201616224"),
        ("7-02-000233-1", "9787020002337"),
        ("9787020002337", "9787020002337"),
        ("979-10-90636-07-1", "9791090636071"),
    ],
)
def test_isbns_are_checked_and_kept_as_isbn13(text: str, isbn13: str) -> None:
    assert normalize_isbn("isbn", text) == isbn13
    assert looks_like_isbn(text) == isbn13


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0-201-61622-9", "isbn_check_digit"),
        ("978-0-201-61622-5", "isbn_check_digit"),
        ("9790201616224", "isbn_check_digit"),
        ("X201616220", "bad_isbn"),
        ("977-0-201-61622-4", "bad_isbn"),
        ("12345", "bad_isbn"),
        ("", "bad_isbn"),
        ("红岩", "bad_isbn"),
    ],
)
def test_bad_isbns_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_isbn("isbn", text)
    assert (caught.value.field, caught.value.reason) == ("isbn", reason)
    assert looks_like_isbn(text) is None


def test_copy_codes_are_upper_cased_and_checked() -> None:
    assert normalize_copy_code("code", " hy-001 ") == "HY-001"
    assert normalize_copy_code("code", "RB 12") == "RB12"
    for bad in ("", "-A", "A_B", "书-1", "A" * 25):
        with pytest.raises(InvalidValue):
            normalize_copy_code("code", bad)


def test_tags_are_trimmed_and_case_folded() -> None:
    assert normalize_tags("tags", ["  Party  History ", "红色经典", "party history"]) == {
        "party history",
        "红色经典",
    }
    for bad in ([""], ["a,b"], ["x" * 41], ["tab\x00"]):
        with pytest.raises(InvalidValue):
            normalize_tags("tags", bad)
    with pytest.raises(InvalidValue) as many:
        normalize_tags("tags", [f"t{i}" for i in range(21)])
    assert many.value.reason == "too_many_tags"


def test_a_reflection_has_50_to_5000_characters() -> None:
    assert require_reflection_text("text", "  " + "读" * 50 + "\n") == "读" * 50
    assert len(require_reflection_text("text", "读" * 5000)) == 5000
    for text, reason in (("读" * 49, "too_short"), ("读" * 5001, "too_long")):
        with pytest.raises(InvalidValue) as caught:
            require_reflection_text("text", text)
        assert caught.value.reason == reason
    with pytest.raises(InvalidValue) as hidden:
        require_reflection_text("text", "读" * 60 + "\u202e")
    assert hidden.value.reason == "control_characters"


def test_settings_limits() -> None:
    assert check_settings(LibrarySettings()) == LibrarySettings()
    for wrong in (
        LibrarySettings(loan_days=0),
        LibrarySettings(max_loans=0),
        LibrarySettings(hold_pickup_days=0),
        LibrarySettings(loan_days=3, remind_days_before=3),
        LibrarySettings(renewals=-1),
    ):
        with pytest.raises(InvalidValue):
            check_settings(wrong)


def test_a_book_entry_is_normalized() -> None:
    spec = book_from(
        BookEntry(
            title=" 红岩 ",
            author="罗广斌、杨益言",
            isbn="7-02-000233-1",
            tags=("红色经典",),
            copies=(CopyEntry("hy-1"), CopyEntry("hy-2", "drift")),
        )
    )
    assert (spec.title, spec.isbn) == ("红岩", "9787020002337")
    assert spec.copies == (("HY-1", CopyLocation.BOOKSHELF), ("HY-2", CopyLocation.DRIFT))
    with pytest.raises(InvalidValue) as caught:
        book_from(BookEntry("红岩", "罗广斌", copies=(CopyEntry("HY-1", "attic"),)))
    assert caught.value.reason == "bad_location"
    assert LibrarySection().loan_days == 30


def test_loans_are_overdue_from_the_due_instant() -> None:
    borrowed = datetime(2026, 7, 1, 9, tzinfo=UTC)
    loan = Loan(1, "HY-1", 1, 7, borrowed, borrowed + timedelta(days=30))
    assert not loan.is_overdue(borrowed + timedelta(days=29))
    assert loan.is_overdue(borrowed + timedelta(days=30))


def test_the_voting_window_is_half_open() -> None:
    opens = datetime(2026, 7, 1, tzinfo=UTC)
    contest = ReflectionContest(1, "Best", opens, opens + timedelta(days=7), opens)
    assert contest.voting_state(opens - timedelta(seconds=1)) == "not_open_yet"
    assert contest.voting_state(opens) == "open"
    assert contest.voting_state(opens + timedelta(days=7)) == "closed"


def test_ties_share_a_place_and_list_the_earlier_reflection_first() -> None:
    counts = [(12, 3, 1, 4), (10, 1, 1, 4), (11, 2, 1, 6), (14, 5, 2, 0), (13, 4, 2, 4)]
    assert rank_standings(counts) == (
        Standing(1, 11, 2, 1, 6),
        Standing(2, 10, 1, 1, 4),
        Standing(2, 12, 3, 1, 4),
        Standing(2, 13, 4, 2, 4),
        Standing(5, 14, 5, 2, 0),
    )
    assert rank_standings(reversed(counts)) == rank_standings(counts)
    assert rank_standings([]) == ()
