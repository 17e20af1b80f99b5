"""Handlers of the red-reading library: books, copies, loans, holds, donations, reflections.

Every change to a book's copies, loans and holds happens under that book's
lock (a PostgreSQL advisory lock; SQLite has one writer), and a member's
loan and hold counts under the member's lock, always taken in that order
(book, then member), so two members racing for the last copy cannot both
get it and a member cannot pass the loan limit by borrowing twice at once.
The copy update itself is conditional as well (`status = 'available'`),
and the schema allows one open loan per copy.

A copy that comes back (returned, newly added, donated, or released by a
cancelled or expired hold) goes to the first member waiting for its book:
it is set aside for them for `[library] hold_pickup_days`, they are told,
and only they may borrow it; a timer passes it on if they do not.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import structlog

from huarong_core.commands import (
    AddBook,
    AddCopy,
    ApproveReflection,
    BookDetails,
    BookSummary,
    BorrowCopy,
    CancelHold,
    CreateReflectionContest,
    DonationResult,
    GetBook,
    GetReflection,
    GetReflectionContest,
    GetReflectionContestResults,
    ListDonations,
    ListHolds,
    ListLoans,
    ListReflectionContests,
    ListReflections,
    MoveCopy,
    NominateReflection,
    Page,
    PlaceHold,
    RecordDonation,
    ReflectionContestDetails,
    ReflectionContestResults,
    ReflectionVote,
    RenewLoan,
    ReturnCopy,
    ReturnReflection,
    ReturnResult,
    ReviseReflection,
    SearchBooks,
    SubmitReflection,
    UpdateBook,
    VoteForReflection,
    WithdrawCopy,
)
from huarong_core.commands.base import page_size
from huarong_core.domain.library import (
    MAX_TITLE_LENGTH,
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
    looks_like_isbn,
    normalize_copy_code,
    normalize_isbn,
    normalize_tags,
    rank_standings,
    require_author,
    require_reflection_text,
    require_title,
)
from huarong_core.domain.points import Trigger
from huarong_core.domain.roles import Permission, Scope
from huarong_core.domain.validation import require_name, require_note
from huarong_core.errors import (
    AlreadyExists,
    AlreadyVoted,
    CopyNotOnLoan,
    CopyUnavailable,
    HoldRefused,
    InvalidTransition,
    InvalidValue,
    LoanLimitReached,
    NotFound,
    RenewalRefused,
    VotingClosed,
)
from huarong_core.events import (
    BookDonated,
    CopyBorrowed,
    CopyReturned,
    HoldCancelled,
    HoldExpired,
    HoldPlaced,
    HoldReady,
    LoanDueSoon,
    LoanOverdue,
    LoanRenewed,
    ReflectionDecided,
    ReflectionNominated,
    ReflectionSubmitted,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member
from huarong_core.services.points import record_activity
from huarong_core.services.registry import handles
from huarong_core.services.scheduler import Timer, on_timer, schedule, unschedule

log = structlog.get_logger(__name__)

MAX_COPIES_PER_DONATION = 50
SETTINGS_MEMO = "library_settings"


# --- settings, authorization, lookups -----------------------------------------------


async def library_settings(ctx: Context) -> LibrarySettings:
    if SETTINGS_MEMO not in ctx.memo:
        ctx.memo[SETTINGS_MEMO] = await ctx.repos.library.settings()
    settings: LibrarySettings = ctx.memo[SETTINGS_MEMO]
    return settings


def library_scope(settings: LibrarySettings) -> Scope:
    """Where `manage_library` must be held: the library's station, or the community."""
    return Scope.community() if settings.station is None else Scope.station(settings.station)


async def is_staff(ctx: Context) -> bool:
    return ctx.can(Permission.MANAGE_LIBRARY, library_scope(await library_settings(ctx)))


async def require_staff(ctx: Context) -> None:
    ctx.require(Permission.MANAGE_LIBRARY, library_scope(await library_settings(ctx)))


async def acting_member(ctx: Context, member_id: int | None) -> int:
    """The acting member; naming someone else takes `manage_library`."""
    if member_id is None or member_id == ctx.actor.member_id:
        return ctx.target_member(None)
    await require_staff(ctx)
    return member_id


async def _lock_book(ctx: Context, book_id: int) -> None:
    await ctx.repos.conn.lock(f"library:{ctx.community.id}:book:{book_id}")


async def _lock_member(ctx: Context, member_id: int) -> None:
    await ctx.repos.conn.lock(f"library:{ctx.community.id}:member:{member_id}")


async def get_book(ctx: Context, book_id: int) -> Book:
    found = await ctx.repos.library.book(book_id)
    if found is None:
        raise NotFound(entity="book", ref=f"#{book_id}")
    return found


async def get_copy(ctx: Context, code: str) -> Copy:
    found = await ctx.repos.library.copy(code)
    if found is None:
        raise NotFound(entity="copy", ref=code)
    return found


async def _hold(ctx: Context, hold_id: int) -> Hold:
    found = await ctx.repos.library.hold(hold_id)
    if found is None:
        raise NotFound(entity="hold", ref=f"#{hold_id}")
    return found


async def _reflection(ctx: Context, reflection_id: int) -> Reflection:
    found = await ctx.repos.library.reflection(reflection_id)
    if found is None:
        raise NotFound(entity="reflection", ref=f"#{reflection_id}")
    return found


async def _contest(ctx: Context, contest_id: int) -> ReflectionContest:
    found = await ctx.repos.library.contest(contest_id)
    if found is None:
        raise NotFound(entity="reflection_contest", ref=f"#{contest_id}")
    return found


# --- timers ---------------------------------------------------------------------------


def _loan_timers(loan_id: int) -> str:
    return f"library:loan:{loan_id}:"


def _hold_timer(hold_id: int) -> str:
    return f"library:hold:{hold_id}:pickup"


async def _schedule_loan_timers(ctx: Context, loan: Loan, settings: LibrarySettings) -> None:
    """A reminder some days before the due date, and the first overdue notice at it."""
    prefix = _loan_timers(loan.id)
    await unschedule(ctx, prefix)
    payload = {"loan_id": loan.id}
    if settings.remind_days_before:
        soon = loan.due_at - timedelta(days=settings.remind_days_before)
        if soon > ctx.now:
            await schedule(ctx, f"{prefix}due_soon", "library.loan_due_soon", soon, payload)
    await schedule(ctx, f"{prefix}overdue", "library.loan_overdue", loan.due_at, payload)


@on_timer("library.loan_due_soon")
async def _due_soon_timer(ctx: Context, timer: Timer) -> None:
    loan = await ctx.repos.library.loan(int(timer.payload["loan_id"]))
    if loan is None or not loan.is_open:
        return
    ctx.record(
        LoanDueSoon(
            loan.id, loan.copy_code, loan.book_id, loan.due_at.isoformat(), (loan.member_id,)
        )
    )


@on_timer("library.loan_overdue")
async def _overdue_timer(ctx: Context, timer: Timer) -> None:
    """Tell the borrower; again every `overdue_every_days` until the copy comes back."""
    loan = await ctx.repos.library.loan(int(timer.payload["loan_id"]))
    if loan is None or not loan.is_open or ctx.now < loan.due_at:
        return
    days = (ctx.now - loan.due_at).days
    ctx.record(
        LoanOverdue(
            loan.id,
            loan.copy_code,
            loan.book_id,
            loan.due_at.isoformat(),
            days,
            (loan.member_id,),
        )
    )
    settings = await library_settings(ctx)
    if settings.overdue_every_days:
        again = ctx.now + timedelta(days=settings.overdue_every_days)
        await schedule(ctx, timer.key, timer.kind, again, timer.payload)


@on_timer("library.hold_pickup")
async def _pickup_timer(ctx: Context, timer: Timer) -> None:
    """A copy set aside and not picked up in time passes to the next in line."""
    hold = await ctx.repos.library.hold(int(timer.payload["hold_id"]))
    if hold is None or hold.status is not HoldStatus.READY:
        return
    await _lock_book(ctx, hold.book_id)
    expired = await ctx.repos.library.close_hold(
        hold.id, (HoldStatus.READY,), HoldStatus.EXPIRED, ctx.now
    )
    if expired is None:
        return
    ctx.record(HoldExpired(hold.id, hold.book_id, (hold.member_id,)))
    await _release(ctx, expired)


# --- where a copy goes ----------------------------------------------------------------


async def _route(ctx: Context, copy: Copy, location: CopyLocation | None = None) -> Copy:
    """Give a copy back to circulation: to the first waiting hold, else to the shelf.

    The caller holds the book's lock. Holds of members who are no longer
    active are cancelled on the way (they could not borrow it).
    """
    repo = ctx.repos.library
    settings = await library_settings(ctx)
    for hold in await repo.waiting_holds(copy.book_id):
        member = await ctx.repos.members.get(hold.member_id)
        if member is None or not member.is_active:
            await repo.close_hold(hold.id, (HoldStatus.WAITING,), HoldStatus.CANCELLED, ctx.now)
            log.info("library.hold_dropped", hold_id=hold.id, member_id=hold.member_id)
            continue
        pickup_by = ctx.now + settings.pickup_period
        ready = await repo.make_ready(hold.id, copy.code, pickup_by, ctx.now)
        if ready is None:  # pragma: no cover - the book lock makes this impossible
            continue
        routed = await repo.set_copy(
            copy.code, CopyStatus.HELD_FOR_PICKUP, hold.member_id, ctx.now, location
        )
        await schedule(
            ctx, _hold_timer(hold.id), "library.hold_pickup", pickup_by, {"hold_id": hold.id}
        )
        ctx.record(
            HoldReady(hold.id, copy.book_id, copy.code, pickup_by.isoformat(), (hold.member_id,))
        )
        return routed
    return await repo.set_copy(copy.code, CopyStatus.AVAILABLE, None, ctx.now, location)


async def _release(ctx: Context, closed: Hold) -> None:
    """A ready hold closed without a loan of its copy: the copy goes on to the next."""
    await unschedule(ctx, _hold_timer(closed.id))
    if closed.copy_code is None:
        return
    copy = await ctx.repos.library.copy(closed.copy_code)
    if (
        copy is not None
        and copy.status is CopyStatus.HELD_FOR_PICKUP
        and copy.held_for == closed.member_id
    ):
        await _route(ctx, copy)


# --- books and copies -----------------------------------------------------------------


async def create_book(
    ctx: Context,
    title: str,
    author: str,
    isbn: str | None,
    tags: frozenset[str],
    source: str,
) -> Book:
    """Catalogue a book (values already checked); a second book with the same ISBN is refused."""
    book = await ctx.repos.library.insert_book(title, author, isbn, tags, source, ctx.now)
    if book is None:
        raise AlreadyExists(entity="book", ref=isbn or title)
    await ctx.audit("library.book.add", f"book:{book.id}", title=title, isbn=isbn)
    return book


async def change_book(ctx: Context, current: Book, wanted: Book, source: str) -> Book:
    if wanted == current:
        return current
    if wanted.isbn is not None and wanted.isbn != current.isbn:
        other = await ctx.repos.library.book_by_isbn(wanted.isbn)
        if other is not None:
            raise AlreadyExists(entity="book", ref=wanted.isbn)
    await ctx.repos.library.update_book(wanted, source, ctx.now)
    fields = sorted(
        name
        for name in ("title", "author", "isbn", "tags")
        if getattr(wanted, name) != getattr(current, name)
    )
    await ctx.audit("library.book.update", f"book:{current.id}", fields=fields)
    return wanted


async def add_copy(
    ctx: Context,
    book: Book,
    code: str,
    location: CopyLocation,
    donor_id: int | None = None,
) -> Copy:
    """Put a new copy into circulation; it goes to the book's first hold if there is one."""
    await _lock_book(ctx, book.id)
    copy = await ctx.repos.library.insert_copy(
        code, book.id, location, donor_id, ctx.actor.label, ctx.now
    )
    if copy is None:
        raise AlreadyExists(entity="copy", ref=code)
    await ctx.audit(
        "library.copy.add", f"copy:{code}", book=book.id, location=location.value, donor=donor_id
    )
    return await _route(ctx, copy)


def _isbn(value: str | None) -> str | None:
    return None if value is None or not value.strip() else normalize_isbn("isbn", value)


@handles(AddBook)
async def add_book(ctx: Context, cmd: AddBook) -> Book:
    await require_staff(ctx)
    return await create_book(
        ctx,
        require_title("title", cmd.title),
        require_author("author", cmd.author),
        _isbn(cmd.isbn),
        normalize_tags("tags", cmd.tags),
        "admin",
    )


@handles(UpdateBook)
async def update_book(ctx: Context, cmd: UpdateBook) -> Book:
    await require_staff(ctx)
    current = await get_book(ctx, cmd.book_id)
    wanted = attrs.evolve(
        current,
        title=current.title if cmd.title is None else require_title("title", cmd.title),
        author=current.author if cmd.author is None else require_author("author", cmd.author),
        isbn=current.isbn if cmd.isbn is None else _isbn(cmd.isbn),
        tags=current.tags if cmd.tags is None else normalize_tags("tags", cmd.tags),
    )
    return await change_book(ctx, current, wanted, "admin")


@handles(AddCopy)
async def add_copy_handler(ctx: Context, cmd: AddCopy) -> Copy:
    await require_staff(ctx)
    book = await get_book(ctx, cmd.book_id)
    return await add_copy(ctx, book, normalize_copy_code("code", cmd.code), cmd.location)


@handles(MoveCopy)
async def move_copy(ctx: Context, cmd: MoveCopy) -> Copy:
    await require_staff(ctx)
    current = await get_copy(ctx, normalize_copy_code("code", cmd.code))
    if current.location is cmd.location:
        return current
    moved = await ctx.repos.library.move_copy(current.code, cmd.location, ctx.now)
    assert moved is not None
    await ctx.audit("library.copy.move", f"copy:{current.code}", location=cmd.location.value)
    return moved


@handles(WithdrawCopy)
async def withdraw_copy(ctx: Context, cmd: WithdrawCopy) -> Copy:
    """Only a copy on the shelf (available) can be withdrawn."""
    await require_staff(ctx)
    reason = require_note("reason", cmd.reason, required=False)
    current = await get_copy(ctx, normalize_copy_code("code", cmd.code))
    await _lock_book(ctx, current.book_id)
    withdrawn = await ctx.repos.library.withdraw_copy(current.code, ctx.now)
    if withdrawn is None:
        latest = await get_copy(ctx, current.code)
        raise InvalidTransition(
            entity="copy",
            ref=current.code,
            state=latest.status.value,
            wanted=CopyStatus.WITHDRAWN.value,
        )
    await ctx.audit("library.copy.withdraw", f"copy:{current.code}", reason=reason)
    return withdrawn


@handles(SearchBooks)
async def search_books(ctx: Context, cmd: SearchBooks) -> Page[BookSummary]:
    """Any member may search; each book comes with its available count."""
    text = " ".join(cmd.text.split())
    tag = None
    if cmd.tag is not None and cmd.tag.strip():
        tag = " ".join(cmd.tag.split()).casefold()
    limit = page_size(cmd.limit)
    offset = max(0, cmd.offset)
    found, total = await ctx.repos.library.search(
        text, looks_like_isbn(text) if text else None, tag, offset=offset, limit=limit
    )
    items = tuple(
        BookSummary(book, copies, available, waiting) for book, copies, available, waiting in found
    )
    return Page(items, total, offset, limit)


@handles(GetBook)
async def get_book_details(ctx: Context, cmd: GetBook) -> BookDetails:
    book = await get_book(ctx, cmd.book_id)
    copies = tuple(await ctx.repos.library.copies_of(book.id))
    available = sum(c.status is CopyStatus.AVAILABLE for c in copies)
    waiting = await ctx.repos.library.waiting_count(book.id)
    return BookDetails(book, copies, available, waiting)


# --- loans ----------------------------------------------------------------------------


def _require_borrowable(copy: Copy, member_id: int) -> None:
    if copy.status is CopyStatus.WITHDRAWN:
        raise CopyUnavailable(copy=copy.code, reason="withdrawn")
    if copy.status is CopyStatus.ON_LOAN:
        raise CopyUnavailable(copy=copy.code, reason="on_loan")
    if copy.status is CopyStatus.HELD_FOR_PICKUP and copy.held_for != member_id:
        raise CopyUnavailable(copy=copy.code, reason="held_for_other")


@handles(BorrowCopy)
async def borrow(ctx: Context, cmd: BorrowCopy) -> Loan:
    code = normalize_copy_code("code", cmd.code)
    copy = await get_copy(ctx, code)
    member_id = await acting_member(ctx, cmd.member_id)
    await get_active_member(ctx, member_id)
    await _lock_book(ctx, copy.book_id)
    await _lock_member(ctx, member_id)
    repo = ctx.repos.library
    _require_borrowable(await get_copy(ctx, code), member_id)
    settings = await library_settings(ctx)
    if await repo.open_loans_count(member_id) >= settings.max_loans:
        raise LoanLimitReached(member_id=member_id, limit=settings.max_loans)
    if await repo.take_copy(code, member_id, ctx.now) is None:
        raise CopyUnavailable(copy=code, reason="on_loan")
    loan = await repo.insert_loan(
        code, copy.book_id, member_id, ctx.now + settings.loan_period, ctx.actor.label, ctx.now
    )
    hold = await repo.open_hold(copy.book_id, member_id)
    if hold is not None:
        fulfilled = await repo.close_hold(
            hold.id, (HoldStatus.WAITING, HoldStatus.READY), HoldStatus.FULFILLED, ctx.now
        )
        if fulfilled is not None and fulfilled.copy_code not in (None, code):
            await _release(ctx, fulfilled)  # it was another copy set aside for them
        else:
            await unschedule(ctx, _hold_timer(hold.id))
    await _schedule_loan_timers(ctx, loan, settings)
    ctx.record(CopyBorrowed(loan.id, code, loan.book_id, member_id, loan.due_at.isoformat()))
    if member_id != ctx.actor.member_id:
        await ctx.audit("library.lend", f"copy:{code}", member=member_id, loan=loan.id)
    return loan


async def _open_loan(ctx: Context, code: str) -> tuple[Copy, Loan]:
    copy = await get_copy(ctx, code)
    loan = await ctx.repos.library.open_loan(code)
    if loan is None:
        raise CopyNotOnLoan(copy=code, status=copy.status.value)
    return copy, loan


@handles(ReturnCopy)
async def return_copy(ctx: Context, cmd: ReturnCopy) -> ReturnResult:
    """The borrower returns a copy (staff may return anyone's); it goes to the next hold."""
    code = normalize_copy_code("code", cmd.code)
    copy, loan = await _open_loan(ctx, code)
    if loan.member_id != ctx.actor.member_id:
        await require_staff(ctx)
    await _lock_book(ctx, copy.book_id)
    closed = await ctx.repos.library.close_loan(loan.id, ctx.actor.label, ctx.now)
    if closed is None:  # returned by someone else meanwhile
        current = await get_copy(ctx, code)
        raise CopyNotOnLoan(copy=code, status=current.status.value)
    await unschedule(ctx, _loan_timers(loan.id))
    routed = await _route(ctx, copy, cmd.location)
    ctx.record(CopyReturned(loan.id, code, loan.book_id, loan.member_id, loan.is_overdue(ctx.now)))
    if loan.member_id != ctx.actor.member_id:
        await ctx.audit("library.return", f"copy:{code}", member=loan.member_id, loan=loan.id)
    return ReturnResult(closed, routed, routed.held_for)


@handles(RenewLoan)
async def renew(ctx: Context, cmd: RenewLoan) -> Loan:
    """Another loan period from the due date (or today, if overdue); once, if nobody waits."""
    code = normalize_copy_code("code", cmd.code)
    copy, loan = await _open_loan(ctx, code)
    if loan.member_id != ctx.actor.member_id:
        await require_staff(ctx)
    await _lock_book(ctx, copy.book_id)
    _, loan = await _open_loan(ctx, code)
    settings = await library_settings(ctx)
    if loan.renewals >= settings.renewals:
        raise RenewalRefused(copy=code, reason="renewal_used")
    if await ctx.repos.library.waiting_count(loan.book_id):
        raise RenewalRefused(copy=code, reason="book_on_hold")
    due = max(loan.due_at, ctx.now) + settings.loan_period
    renewed = await ctx.repos.library.renew_loan(loan.id, due, loan.renewals)
    if renewed is None:
        raise RenewalRefused(copy=code, reason="renewal_used")
    await _schedule_loan_timers(ctx, renewed, settings)
    ctx.record(LoanRenewed(renewed.id, code, renewed.member_id, renewed.due_at.isoformat()))
    if loan.member_id != ctx.actor.member_id:
        await ctx.audit("library.renew", f"copy:{code}", member=loan.member_id, loan=loan.id)
    return renewed


@handles(ListLoans)
async def list_loans(ctx: Context, cmd: ListLoans) -> tuple[Loan, ...]:
    if cmd.everyone:
        await require_staff(ctx)
        member_id = None
    else:
        member_id = await acting_member(ctx, cmd.member_id)
    return tuple(
        await ctx.repos.library.loans(
            member_id,
            open_only=cmd.open_only,
            overdue_at=ctx.now if cmd.overdue_only else None,
            limit=page_size(cmd.limit),
        )
    )


# --- holds ----------------------------------------------------------------------------


@handles(PlaceHold)
async def place_hold(ctx: Context, cmd: PlaceHold) -> Hold:
    """Join a book's queue: only when no copy is on the shelf and one has none of it."""
    book = await get_book(ctx, cmd.book_id)
    member_id = await acting_member(ctx, cmd.member_id)
    await get_active_member(ctx, member_id)
    await _lock_book(ctx, book.id)
    await _lock_member(ctx, member_id)
    repo = ctx.repos.library
    if await repo.open_hold(book.id, member_id) is not None:
        raise AlreadyExists(entity="hold", ref=book.title)
    if await repo.has_open_loan_of_book(member_id, book.id):
        raise HoldRefused(book=book.title, reason="already_borrowed")
    if await repo.available_count(book.id):
        raise HoldRefused(book=book.title, reason="copy_available")
    settings = await library_settings(ctx)
    if await repo.open_holds_count(member_id) >= settings.max_holds:
        raise HoldRefused(book=book.title, reason="hold_limit")
    hold = await repo.insert_hold(book.id, member_id, ctx.now)
    if hold is None:  # pragma: no cover - the locks make this impossible
        raise AlreadyExists(entity="hold", ref=book.title)
    ctx.record(HoldPlaced(hold.id, book.id, member_id, hold.position or 1))
    if member_id != ctx.actor.member_id:
        await ctx.audit("library.hold.place", f"hold:{hold.id}", member=member_id, book=book.id)
    return hold


@handles(CancelHold)
async def cancel_hold(ctx: Context, cmd: CancelHold) -> Hold:
    """A member cancels their own hold, staff any; a copy set aside goes to the next."""
    hold = await _hold(ctx, cmd.hold_id)
    if hold.member_id != ctx.actor.member_id:
        await require_staff(ctx)
    await _lock_book(ctx, hold.book_id)
    closed = await ctx.repos.library.close_hold(
        hold.id, (HoldStatus.WAITING, HoldStatus.READY), HoldStatus.CANCELLED, ctx.now
    )
    if closed is None:
        current = await _hold(ctx, hold.id)
        raise InvalidTransition(
            entity="hold",
            ref=f"#{hold.id}",
            state=current.status.value,
            wanted=HoldStatus.CANCELLED.value,
        )
    await _release(ctx, closed)
    ctx.record(HoldCancelled(closed.id, closed.book_id, closed.member_id))
    if hold.member_id != ctx.actor.member_id:
        await ctx.audit("library.hold.cancel", f"hold:{hold.id}", member=hold.member_id)
    return closed


@handles(ListHolds)
async def list_holds(ctx: Context, cmd: ListHolds) -> tuple[Hold, ...]:
    member_id: int | None
    if cmd.book_id is not None and cmd.member_id is None:
        await require_staff(ctx)  # a book's whole queue
        member_id = None
    else:
        member_id = await acting_member(ctx, cmd.member_id)
    return tuple(
        await ctx.repos.library.holds(
            book_id=cmd.book_id,
            member_id=member_id,
            open_only=cmd.open_only,
            limit=page_size(cmd.limit),
        )
    )


# --- donations ------------------------------------------------------------------------


async def _donated_book(ctx: Context, cmd: RecordDonation) -> tuple[Book, bool]:
    """The book given: named by id, found by ISBN (or title and author), or new."""
    if cmd.book_id is not None:
        return await get_book(ctx, cmd.book_id), False
    isbn = _isbn(cmd.isbn)
    if isbn is not None:
        found = await ctx.repos.library.book_by_isbn(isbn)
        if found is not None:
            return found, False
    title = require_title("title", cmd.title or "")
    author = require_author("author", cmd.author or "")
    if isbn is None:
        found = await ctx.repos.library.book_by_title(title, author)
        if found is not None:
            return found, False
    tags = normalize_tags("tags", cmd.tags)
    return await create_book(ctx, title, author, isbn, tags, "donation"), True


def _donated_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    codes = tuple(normalize_copy_code("copy_codes", value) for value in values)
    if not codes:
        raise InvalidValue(field="copy_codes", value="", reason="empty")
    if len(codes) > MAX_COPIES_PER_DONATION:
        raise InvalidValue(field="copy_codes", value=str(len(codes)), reason="bad_quantity")
    for code in codes:
        if codes.count(code) > 1:
            raise InvalidValue(field="copy_codes", value=code, reason="duplicate_code")
    return codes


@handles(RecordDonation)
async def record_donation(ctx: Context, cmd: RecordDonation) -> DonationResult:
    """A member's books become copies; the donation is a points trigger, one unit per copy."""
    await require_staff(ctx)
    codes = _donated_codes(cmd.copy_codes)
    note = require_note("note", cmd.note, required=False)
    await get_active_member(ctx, cmd.member_id)
    book, created = await _donated_book(ctx, cmd)
    copies = tuple([await add_copy(ctx, book, code, cmd.location, cmd.member_id) for code in codes])
    repo = ctx.repos.library
    donation = await repo.insert_donation(
        book.id, cmd.member_id, codes, note, ctx.actor.label, ctx.now
    )
    settings = await library_settings(ctx)
    await record_activity(
        ctx,
        Trigger(
            kind="library.book_donated",
            source_id=f"donation:{donation.id}",
            member_id=cmd.member_id,
            occurred_at=ctx.now,
            units=str(len(codes)),
            target=f"book:{book.id}",
            station=settings.station,
            tags=book.tags,
        ),
    )
    await ctx.audit(
        "library.donation",
        f"donation:{donation.id}",
        member=cmd.member_id,
        book=book.id,
        copies=list(codes),
    )
    ctx.record(BookDonated(donation.id, book.id, codes, (cmd.member_id,)))
    return DonationResult(donation, book, copies, created)


@handles(ListDonations)
async def list_donations(ctx: Context, cmd: ListDonations) -> tuple[Donation, ...]:
    if cmd.member_id is None:
        await require_staff(ctx)
        member_id = None
    else:
        member_id = await acting_member(ctx, cmd.member_id)
    return tuple(await ctx.repos.library.donations(member_id, page_size(cmd.limit)))


# --- reading reflections --------------------------------------------------------------


def _not_own(ctx: Context, reflection: Reflection) -> None:
    if reflection.member_id == ctx.actor.member_id:
        raise InvalidValue(field="reflection", value=f"#{reflection.id}", reason="own_reflection")


@handles(SubmitReflection)
async def submit_reflection(ctx: Context, cmd: SubmitReflection) -> Reflection:
    member_id = ctx.target_member(None)
    text = require_reflection_text("text", cmd.text)
    await get_active_member(ctx, member_id)
    book = await get_book(ctx, cmd.book_id)
    reflection = await ctx.repos.library.insert_reflection(book.id, member_id, text, ctx.now)
    if reflection is None:
        raise AlreadyExists(entity="reflection", ref=book.title)
    ctx.record(ReflectionSubmitted(reflection.id, book.id, member_id, reflection.revision))
    return reflection


@handles(ReviseReflection)
async def revise_reflection(ctx: Context, cmd: ReviseReflection) -> Reflection:
    """Only the author, and only a reflection staff returned."""
    current = await _reflection(ctx, cmd.reflection_id)
    if current.member_id != ctx.target_member(None):
        raise NotFound(entity="reflection", ref=f"#{cmd.reflection_id}")
    text = require_reflection_text("text", cmd.text)
    revised = await ctx.repos.library.revise_reflection(current.id, text, ctx.now)
    if revised is None:
        raise InvalidTransition(
            entity="reflection",
            ref=f"#{current.id}",
            state=current.status.value,
            wanted=ReflectionStatus.SUBMITTED.value,
        )
    ctx.record(
        ReflectionSubmitted(revised.id, revised.book_id, revised.member_id, revised.revision)
    )
    return revised


async def _decide(
    ctx: Context, reflection_id: int, status: ReflectionStatus, note: str
) -> Reflection:
    await require_staff(ctx)
    current = await _reflection(ctx, reflection_id)
    _not_own(ctx, current)
    decided = await ctx.repos.library.decide_reflection(
        current.id, status, note, ctx.actor.label, ctx.now
    )
    if decided is None:
        raise InvalidTransition(
            entity="reflection",
            ref=f"#{current.id}",
            state=current.status.value,
            wanted=status.value,
        )
    await ctx.audit(
        f"library.reflection.{'approve' if status is ReflectionStatus.APPROVED else 'return'}",
        f"reflection:{decided.id}",
        member=decided.member_id,
        revision=decided.revision,
    )
    ctx.record(
        ReflectionDecided(
            decided.id, decided.book_id, decided.status.value, note, (decided.member_id,)
        )
    )
    return decided


@handles(ApproveReflection)
async def approve_reflection(ctx: Context, cmd: ApproveReflection) -> Reflection:
    """Approval is the `library.reflection_approved` points trigger (once per reflection)."""
    note = require_note("note", cmd.note, required=False)
    approved = await _decide(ctx, cmd.reflection_id, ReflectionStatus.APPROVED, note)
    book = await get_book(ctx, approved.book_id)
    settings = await library_settings(ctx)
    await record_activity(
        ctx,
        Trigger(
            kind="library.reflection_approved",
            source_id=f"reflection:{approved.id}",
            member_id=approved.member_id,
            occurred_at=ctx.now,
            target=f"book:{book.id}",
            station=settings.station,
            tags=book.tags,
        ),
    )
    return approved


@handles(ReturnReflection)
async def return_reflection(ctx: Context, cmd: ReturnReflection) -> Reflection:
    note = require_note("note", cmd.note, required=True)
    return await _decide(ctx, cmd.reflection_id, ReflectionStatus.RETURNED, note)


async def _visible(ctx: Context, reflection: Reflection) -> bool:
    return (
        reflection.status is ReflectionStatus.APPROVED
        or reflection.member_id == ctx.actor.member_id
        or await is_staff(ctx)
    )


@handles(GetReflection)
async def get_reflection(ctx: Context, cmd: GetReflection) -> Reflection:
    """Approved reflections are for every member; others for their author and staff."""
    found = await _reflection(ctx, cmd.reflection_id)
    if not await _visible(ctx, found):
        raise NotFound(entity="reflection", ref=f"#{cmd.reflection_id}")
    return found


@handles(ListReflections)
async def list_reflections(ctx: Context, cmd: ListReflections) -> tuple[Reflection, ...]:
    visible_to = None if await is_staff(ctx) else ctx.target_member(None)
    return tuple(
        await ctx.repos.library.reflections(
            book_id=cmd.book_id,
            member_id=cmd.member_id,
            status=cmd.status,
            visible_to=visible_to,
            limit=page_size(cmd.limit),
        )
    )


# --- the best-reflection contest ------------------------------------------------------


@handles(CreateReflectionContest)
async def create_contest(ctx: Context, cmd: CreateReflectionContest) -> ReflectionContest:
    await require_staff(ctx)
    title = require_name("title", cmd.title, max_length=MAX_TITLE_LENGTH)
    opens, closes = cmd.voting_opens_at, cmd.voting_closes_at
    for field, value in (("voting_opens_at", opens), ("voting_closes_at", closes)):
        if value.tzinfo is None:
            raise InvalidValue(field=field, value=value.isoformat(), reason="naive_time")
    if closes <= opens:
        raise InvalidValue(
            field="voting_closes_at", value=closes.isoformat(), reason="ends_before_start"
        )
    if closes <= ctx.now:
        raise InvalidValue(field="voting_closes_at", value=closes.isoformat(), reason="in_the_past")
    contest = await ctx.repos.library.insert_contest(title, opens, closes, ctx.actor.label, ctx.now)
    await ctx.audit("library.contest.create", f"reflection_contest:{contest.id}", title=title)
    return contest


async def _details(ctx: Context, contest: ReflectionContest) -> ReflectionContestDetails:
    repo = ctx.repos.library
    mine = None
    if ctx.actor.member_id is not None:
        mine = await repo.vote_of(contest.id, ctx.actor.member_id)
    return ReflectionContestDetails(
        contest, contest.voting_state(ctx.now), tuple(await repo.nominated(contest.id)), mine
    )


@handles(NominateReflection)
async def nominate(ctx: Context, cmd: NominateReflection) -> ReflectionContestDetails:
    await require_staff(ctx)
    contest = await _contest(ctx, cmd.contest_id)
    if contest.voting_state(ctx.now) == "closed":
        raise VotingClosed(contest=contest.title, reason="closed")
    reflection = await _reflection(ctx, cmd.reflection_id)
    if reflection.status is not ReflectionStatus.APPROVED:
        raise InvalidValue(field="reflection", value=f"#{reflection.id}", reason="not_approved")
    if not await ctx.repos.library.nominate(contest.id, reflection.id, ctx.actor.label, ctx.now):
        raise AlreadyExists(entity="nomination", ref=f"#{reflection.id}")
    await ctx.audit(
        "library.contest.nominate",
        f"reflection_contest:{contest.id}",
        reflection=reflection.id,
    )
    ctx.record(ReflectionNominated(contest.id, reflection.id, (reflection.member_id,)))
    return await _details(ctx, contest)


@handles(VoteForReflection)
async def vote(ctx: Context, cmd: VoteForReflection) -> ReflectionVote:
    """One vote per member per contest, while voting is open, never for one's own."""
    member_id = ctx.target_member(None)
    contest = await _contest(ctx, cmd.contest_id)
    state = contest.voting_state(ctx.now)
    if state != "open":
        raise VotingClosed(contest=contest.title, reason=state)
    await get_active_member(ctx, member_id)
    repo = ctx.repos.library
    if not await repo.is_nominated(contest.id, cmd.reflection_id):
        raise NotFound(entity="nomination", ref=f"#{cmd.reflection_id}")
    _not_own(ctx, await _reflection(ctx, cmd.reflection_id))
    if not await repo.vote(contest.id, member_id, cmd.reflection_id, ctx.now):
        raise AlreadyVoted(contest=contest.title, member_id=member_id)
    return ReflectionVote(contest.id, member_id, cmd.reflection_id, ctx.now)


@handles(GetReflectionContest)
async def get_contest(ctx: Context, cmd: GetReflectionContest) -> ReflectionContestDetails:
    return await _details(ctx, await _contest(ctx, cmd.contest_id))


@handles(ListReflectionContests)
async def list_contests(ctx: Context, cmd: ListReflectionContests) -> tuple[ReflectionContest, ...]:
    del cmd
    return tuple(await ctx.repos.library.contests())


@handles(GetReflectionContestResults)
async def contest_results(
    ctx: Context, cmd: GetReflectionContestResults
) -> ReflectionContestResults:
    """Members see the results once voting has closed; staff may follow the count."""
    contest = await _contest(ctx, cmd.contest_id)
    final = contest.voting_state(ctx.now) == "closed"
    if not final and not await is_staff(ctx):
        raise VotingClosed(contest=contest.title, reason="results_after_close")
    standings = rank_standings(await ctx.repos.library.tally(contest.id))
    return ReflectionContestResults(contest, final, sum(s.votes for s in standings), standings)
