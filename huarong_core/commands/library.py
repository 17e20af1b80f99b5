"""Commands of the red-reading library: books, copies, loans, holds, donations, reflections.

Members borrow, return, renew and hold for themselves (`member_id=None`
means "the acting member"); naming another member, adding books and
copies, recording donations and judging reflections take the
`manage_library` permission (in the library's station, when the
community file names one).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Page, Query
from huarong_core.domain.library import (
    Book,
    Copy,
    CopyLocation,
    Donation,
    Hold,
    Loan,
    Reflection,
    ReflectionContest,
    ReflectionStatus,
    Standing,
)

__all__ = [
    "AddBook",
    "AddCopy",
    "ApproveReflection",
    "BookDetails",
    "BookSummary",
    "BorrowCopy",
    "CancelHold",
    "CreateReflectionContest",
    "DonationResult",
    "GetBook",
    "GetReflection",
    "GetReflectionContest",
    "GetReflectionContestResults",
    "ListDonations",
    "ListHolds",
    "ListLoans",
    "ListReflectionContests",
    "ListReflections",
    "MoveCopy",
    "NominateReflection",
    "PlaceHold",
    "RecordDonation",
    "ReflectionContestDetails",
    "ReflectionContestResults",
    "ReflectionVote",
    "RenewLoan",
    "ReturnCopy",
    "ReturnReflection",
    "ReturnResult",
    "ReviseReflection",
    "SearchBooks",
    "SubmitReflection",
    "UpdateBook",
    "VoteForReflection",
    "WithdrawCopy",
]


# --- books and copies --------------------------------------------------------------


@attrs.frozen
class AddBook(Command[Book]):
    """Staff catalogue a book; the ISBN (10 or 13 digits) is checked and kept as ISBN-13."""

    title: str
    author: str
    isbn: str | None = None
    tags: frozenset[str] = frozenset()


@attrs.frozen
class UpdateBook(Command[Book]):
    """Change the given fields; `None` leaves a field as it is (`isbn=""` removes it)."""

    book_id: int
    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    tags: frozenset[str] | None = None


@attrs.frozen
class AddCopy(Command[Copy]):
    """Staff put a copy with a printed code on the red bookshelf or at the drift station.

    If members hold the book, the new copy goes to the first of them.
    """

    book_id: int
    code: str
    location: CopyLocation = CopyLocation.BOOKSHELF


@attrs.frozen
class MoveCopy(Command[Copy]):
    code: str
    location: CopyLocation


@attrs.frozen
class WithdrawCopy(Command[Copy]):
    """Take an available copy out of circulation (lost, worn out); it stays on record."""

    code: str
    reason: str = ""


@attrs.frozen
class BookSummary:
    book: Book
    copies: int
    """Copies in circulation (not withdrawn)."""
    available: int
    waiting_holds: int


@attrs.frozen
class SearchBooks(Query[Page[BookSummary]]):
    """Books whose title or author contains `text` (or whose ISBN it is), with `tag` if given."""

    text: str = ""
    tag: str | None = None
    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE


@attrs.frozen
class BookDetails:
    book: Book
    copies: tuple[Copy, ...]
    available: int
    waiting_holds: int


@attrs.frozen
class GetBook(Query[BookDetails]):
    book_id: int


# --- loans ------------------------------------------------------------------------


@attrs.frozen
class BorrowCopy(Command[Loan]):
    """Borrow the copy with this code (as printed on it).

    Refused when the copy is on loan, set aside for another member's hold,
    withdrawn, or when the member has `[library] max_loans` copies already.
    """

    code: str
    member_id: int | None = None


@attrs.frozen
class ReturnResult:
    loan: Loan
    copy: Copy
    held_for: int | None
    """The member whose hold the copy now waits for, if any."""


@attrs.frozen
class ReturnCopy(Command[ReturnResult]):
    """Return a copy on loan (the borrower, or staff); `location` if put back elsewhere."""

    code: str
    location: CopyLocation | None = None


@attrs.frozen
class RenewLoan(Command[Loan]):
    """Extend a loan by `[library] loan_days`: once, and only while nobody holds the book."""

    code: str


@attrs.frozen
class ListLoans(Query[tuple[Loan, ...]]):
    """A member's loans (the acting member's by default); staff may list everyone's."""

    member_id: int | None = None
    everyone: bool = False
    open_only: bool = True
    overdue_only: bool = False
    limit: int = DEFAULT_PAGE_SIZE


# --- holds ------------------------------------------------------------------------


@attrs.frozen
class PlaceHold(Command[Hold]):
    """Join the book's queue; a returned copy goes to the first in line, who is told."""

    book_id: int
    member_id: int | None = None


@attrs.frozen
class CancelHold(Command[Hold]):
    hold_id: int


@attrs.frozen
class ListHolds(Query[tuple[Hold, ...]]):
    """The acting member's holds, or (staff) a book's queue or another member's holds."""

    book_id: int | None = None
    member_id: int | None = None
    open_only: bool = True
    limit: int = DEFAULT_PAGE_SIZE


# --- donations --------------------------------------------------------------------


@attrs.frozen
class DonationResult:
    donation: Donation
    book: Book
    copies: tuple[Copy, ...]
    book_created: bool


@attrs.frozen
class RecordDonation(Command[DonationResult]):
    """Staff record that a member gave copies of a book (a points trigger, per copy).

    The book is `book_id`, or the one with `isbn`, or else a new one made
    from `title`, `author`, `isbn` and `tags`.
    """

    member_id: int
    copy_codes: tuple[str, ...]
    book_id: int | None = None
    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    tags: frozenset[str] = frozenset()
    location: CopyLocation = CopyLocation.BOOKSHELF
    note: str = ""


@attrs.frozen
class ListDonations(Query[tuple[Donation, ...]]):
    member_id: int | None = None
    limit: int = DEFAULT_PAGE_SIZE


# --- reading reflections ----------------------------------------------------------


@attrs.frozen
class SubmitReflection(Command[Reflection]):
    """A member's reflection on a book (50-5000 characters); one per member per book."""

    book_id: int
    text: str


@attrs.frozen
class ReviseReflection(Command[Reflection]):
    """Resubmit a reflection that staff returned, with a new text."""

    reflection_id: int
    text: str


@attrs.frozen
class ApproveReflection(Command[Reflection]):
    """Approve a submitted reflection: a points trigger, and the author is told."""

    reflection_id: int
    note: str = ""


@attrs.frozen
class ReturnReflection(Command[Reflection]):
    """Send a submitted reflection back with a note saying what to revise."""

    reflection_id: int
    note: str


@attrs.frozen
class GetReflection(Query[Reflection]):
    reflection_id: int


@attrs.frozen
class ListReflections(Query[tuple[Reflection, ...]]):
    """Approved reflections and one's own; staff see every one."""

    book_id: int | None = None
    member_id: int | None = None
    status: ReflectionStatus | None = None
    limit: int = DEFAULT_PAGE_SIZE


# --- the best-reflection contest --------------------------------------------------


@attrs.frozen
class CreateReflectionContest(Command[ReflectionContest]):
    """A best-reflection contest; members vote in [voting_opens_at, voting_closes_at)."""

    title: str
    voting_opens_at: datetime
    voting_closes_at: datetime


@attrs.frozen
class ReflectionContestDetails:
    contest: ReflectionContest
    voting: str
    """`not_open_yet`, `open` or `closed`."""
    nominations: tuple[Reflection, ...]
    my_vote: int | None
    """The reflection the acting member voted for."""


@attrs.frozen
class NominateReflection(Command[ReflectionContestDetails]):
    """Staff put an approved reflection on the contest's ballot (before voting closes)."""

    contest_id: int
    reflection_id: int


@attrs.frozen
class ReflectionVote:
    contest_id: int
    member_id: int
    reflection_id: int
    voted_at: datetime


@attrs.frozen
class VoteForReflection(Command[ReflectionVote]):
    """One vote per member per contest, for a nominated reflection, while voting is open."""

    contest_id: int
    reflection_id: int


@attrs.frozen
class GetReflectionContest(Query[ReflectionContestDetails]):
    contest_id: int


@attrs.frozen
class ListReflectionContests(Query[tuple[ReflectionContest, ...]]):
    """Every best-reflection contest, in the order they were created."""


@attrs.frozen
class ReflectionContestResults:
    contest: ReflectionContest
    final: bool
    """Voting has closed: these are the results."""
    total_votes: int
    standings: tuple[Standing, ...]


@attrs.frozen
class GetReflectionContestResults(Query[ReflectionContestResults]):
    """Counts per nominated reflection; ties share a place (earlier reflection listed first).

    Members see them once voting has closed; staff at any time.
    """

    contest_id: int
