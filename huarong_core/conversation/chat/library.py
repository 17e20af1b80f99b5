"""Red Reading (红色悦读): books, loans, holds, donations, reflections and the reading contest.

Members borrow, return and renew by the code printed on a copy's label;
staff lend, catalogue and record donations. The helpers at the top (book
lookups, a page-aware optional argument, member names) are shared with the
volunteering and smile-wall routes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from huarong_core.commands import (
    AddBook,
    AddCopy,
    BorrowCopy,
    CancelHold,
    CreateReflectionContest,
    FindMember,
    GetBook,
    GetMember,
    GetReflection,
    GetReflectionContest,
    GetReflectionContestResults,
    ListDonations,
    ListHolds,
    ListLoans,
    ListMembers,
    ListReflectionContests,
    ListReflections,
    MoveCopy,
    NominateReflection,
    PlaceHold,
    RecordDonation,
    RenewLoan,
    ReturnCopy,
    ReviseReflection,
    SearchBooks,
    SubmitReflection,
    UpdateBook,
    VoteForReflection,
    WithdrawCopy,
)
from huarong_core.commands.base import MAX_PAGE_SIZE
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Moment,
    Ref,
    Word,
    Words,
    arg,
    match_one,
    page_arg,
    parse_id,
    split_words,
    typed_number,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import MEMBER
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import MAX_PAYLOAD_BYTES, Button, Message, Text
from huarong_core.domain.library import (
    Book,
    CopyLocation,
    CopyStatus,
    Hold,
    HoldStatus,
    Loan,
    Reflection,
    ReflectionContest,
    looks_like_isbn,
)
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission
from huarong_core.errors import HuarongError

# --- shared helpers ---------------------------------------------------------------------

_CODES_SPLIT = re.compile(r"[,，、;；]+")
EXCERPT = 40


def ref_id(value: int) -> str:
    """How an id is shown and remembered: `#12` (never digit-grouped)."""
    return f"#{value}"


def id_lookup(name: str) -> Any:
    """A `Ref` lookup for things named only by their id (`#12` or `12`)."""

    async def lookup(turn: Turn, word: str) -> int:
        return parse_id(name, word)

    return lookup


async def member_name(turn: Turn, member_id: int, cache: dict[int, str] | None = None) -> str:
    """A member's display name (staff lists), or `#id` when it may not be shown."""
    if cache is not None and member_id in cache:
        return cache[member_id]
    if member_id == turn.member.id:
        name = turn.member.display_name
    else:
        try:
            name = (await turn.run(GetMember(member_id))).member.display_name
        except HuarongError:
            name = ref_id(member_id)
    if cache is not None:
        cache[member_id] = name
    return name


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


# --- lookups ---------------------------------------------------------------------------


async def find_book(turn: Turn, word: str) -> Book:
    """`#12`/`12`, an ISBN, a title (exact, or the only one containing it) or an author."""
    ref = word.strip()
    if ref.startswith("#") or typed_number(ref, max_digits=9) is not None:
        return (await turn.run(GetBook(parse_id("lib_book", ref)))).book
    page = await turn.run(SearchBooks(text=ref, limit=20))
    if len(page.items) == 1:
        return page.items[0].book
    return match_one(
        "lib_book",
        ref,
        ((s.book, (s.book.isbn or "", s.book.author, s.book.title)) for s in page.items),
    )


async def copy_code(turn: Turn, word: str) -> str:
    """The code on a copy's label (the core checks and upper-cases it)."""
    return word.strip()


async def find_contest(turn: Turn, word: str) -> ReflectionContest:
    contests = await turn.run(ListReflectionContests())
    ref = word.strip()
    if ref.startswith("#") or typed_number(ref) is not None:
        wanted = parse_id("lib_contest", ref)
        for contest in contests:
            if contest.id == wanted:
                return contest
        raise BadArgument(argument="lib_contest", value=word, reason="no_match")
    return match_one("lib_contest", ref, ((c, (c.title,)) for c in contests))


BOOK = Ref("lib_book", "book", find_book)
COPY = Ref("lib_copy", "copy", copy_code)
HOLD = Ref("lib_hold", "hold", id_lookup("lib_hold"))
REFLECTION = Ref("lib_reflection", "reflection", id_lookup("lib_reflection"))
CONTEST = Ref("lib_contest", "contest", find_contest)
MEMBER_COMMANDS = (FindMember, ListMembers)
"""What the shared `MEMBER` lookup runs."""

LOCATIONS: dict[str, CopyLocation] = {
    "bookshelf": CopyLocation.BOOKSHELF,
    "shelf": CopyLocation.BOOKSHELF,
    "书架": CopyLocation.BOOKSHELF,
    "红色书架": CopyLocation.BOOKSHELF,
    "drift": CopyLocation.DRIFT,
    "漂流": CopyLocation.DRIFT,
    "漂流站": CopyLocation.DRIFT,
    "图书漂流站": CopyLocation.DRIFT,
}
LOCATION = Choice("lib_location", LOCATIONS)

BOOK_FIELDS: dict[str, str] = {
    "title": "title",
    "书名": "title",
    "标题": "title",
    "author": "author",
    "作者": "author",
    "isbn": "isbn",
    "tags": "tags",
    "tag": "tags",
    "标签": "tags",
}


async def book_titles(turn: Turn, book_ids: Iterable[int]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for book_id in book_ids:
        if book_id not in titles:
            titles[book_id] = (await turn.run(GetBook(book_id))).book.title
    return titles


def location_text(location: CopyLocation) -> Text:
    return Text(f"chat.library.location.{location.value}")


def split_tags(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(t for t in re.split(r"[,，、;；\s]+", text) if t)


# --- finding books ---------------------------------------------------------------------


@route(
    "books",
    "图书",
    family="library",
    params=[arg(Word("lib_query"), optional=True), page_arg()],
    commands=[SearchBooks],
    aliases=["library", "书", "找书", "图书馆"],
)
async def books(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    query = args["lib_query"] or ""
    page = await turn.run(SearchBooks(text=query, limit=MAX_PAGE_SIZE))
    more = f'"{query}"' if any(c.isspace() for c in query) else query
    items = page.items
    if len(f"/books {more} p99".encode()) > MAX_PAYLOAD_BYTES:
        items = items[:PAGE_SIZE]  # too long to repeat in a paging button: the first page only
    title = (
        Text("chat.library.books_found", {"query": query})
        if query
        else Text("chat.library.books_title", {"count": page.total})
    )
    return turn.numbered(
        "book",
        title,
        items,
        lambda n, s: Text(
            "chat.library.book_line",
            {
                "n": n,
                "title": s.book.title,
                "author": s.book.author,
                "available": s.available,
                "copies": s.copies,
            },
        ),
        lambda s: ref_id(s.book.id),
        page=args["page"],
        more=more,
        empty=Text("chat.library.books_none"),
        item_button=lambda n, s: Button(
            Text("chat.library.button_book", {"n": n}), f"/book {ref_id(s.book.id)}"
        ),
    )


@route(
    "book",
    "图书详情",
    family="library",
    params=[arg(BOOK)],
    commands=[GetBook, SearchBooks],
)
async def book(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    details = await turn.run(GetBook(args["lib_book"].id))
    found = details.book
    lines = [Text("chat.library.book_title", {"title": found.title, "author": found.author})]
    if found.isbn:
        lines.append(Text("chat.library.book_isbn", {"isbn": found.isbn}))
    if found.tags:
        lines.append(Text("chat.library.book_tags", {"tags": "、".join(sorted(found.tags))}))
    shown = [c for c in details.copies if c.status is not CopyStatus.WITHDRAWN]
    lines.append(
        Text(
            "chat.library.book_availability",
            {"available": details.available, "copies": len(shown), "holds": details.waiting_holds},
        )
    )
    for copy in shown:
        lines.append(
            Text(
                "chat.library.copy_line",
                {
                    "code": copy.code,
                    "location": location_text(copy.location),
                    "status": Text(f"chat.library.copy_status.{copy.status.value}"),
                },
            )
        )
    buttons: list[Button] = []
    available = [c for c in shown if c.status is CopyStatus.AVAILABLE]
    if available:
        lines.append(Text("chat.library.book_borrow_hint", {"code": available[0].code}))
        buttons.append(
            Button(
                Text("chat.library.button_borrow", {"code": available[0].code}),
                f"/borrow {available[0].code}",
            )
        )
    elif shown:
        buttons.append(Button(Text("chat.library.button_hold"), f"/hold {ref_id(found.id)}"))
    buttons.append(
        Button(Text("chat.library.button_reflections"), f"/reflections {ref_id(found.id)}")
    )
    return turn.lines(*lines, buttons=[buttons])


# --- loans -----------------------------------------------------------------------------


def _loan_done(key: str, loan: Loan, title: str) -> Message:
    return Message((Text(key, {"title": title, "code": loan.copy_code, "due": loan.due_at}),))


@route(
    "borrow",
    "借书",
    family="library",
    params=[arg(COPY)],
    commands=[BorrowCopy, GetBook],
    aliases=["借"],
)
async def borrow(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    loan = await turn.run(BorrowCopy(args["lib_copy"]))
    titles = await book_titles(turn, [loan.book_id])
    return _loan_done("chat.library.borrowed", loan, titles[loan.book_id])


@route(
    "lend",
    "借出",
    family="staff",
    params=[arg(COPY), arg(MEMBER)],
    commands=[BorrowCopy, GetBook, *MEMBER_COMMANDS],
    permission=Permission.MANAGE_LIBRARY,
)
async def lend(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"]
    loan = await turn.run(BorrowCopy(args["lib_copy"], member_id=member.id))
    titles = await book_titles(turn, [loan.book_id])
    return turn.say(
        "chat.library.lent",
        title=titles[loan.book_id],
        code=loan.copy_code,
        member=member.display_name,
        due=loan.due_at,
    )


@route(
    "return",
    "还书",
    family="library",
    params=[arg(COPY)],
    commands=[ReturnCopy, GetBook],
    aliases=["还"],
)
async def return_(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    result = await turn.run(ReturnCopy(args["lib_copy"]))
    titles = await book_titles(turn, [result.loan.book_id])
    lines = [
        Text(
            "chat.library.returned",
            {"title": titles[result.loan.book_id], "code": result.copy.code},
        )
    ]
    if result.held_for is not None:
        lines.append(Text("chat.library.returned_held"))
    else:
        lines.append(
            Text("chat.library.returned_where", {"location": location_text(result.copy.location)})
        )
    return turn.lines(*lines)


@route(
    "renew",
    "续借",
    family="library",
    params=[arg(COPY)],
    commands=[RenewLoan, GetBook],
)
async def renew(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    loan = await turn.run(RenewLoan(args["lib_copy"]))
    titles = await book_titles(turn, [loan.book_id])
    return _loan_done("chat.library.renewed", loan, titles[loan.book_id])


@route(
    "loans",
    "我的借阅",
    family="library",
    params=[page_arg()],
    commands=[ListLoans, GetBook],
    personal=True,
    aliases=["借阅"],
)
async def loans(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListLoans(limit=MAX_PAGE_SIZE))
    titles = await book_titles(turn, [loan.book_id for loan in found])
    now = turn.handle.now()

    def line(n: int, loan: Loan) -> Text:
        key = "chat.library.loan_line_overdue" if loan.is_overdue(now) else "chat.library.loan_line"
        return Text(
            key, {"n": n, "title": titles[loan.book_id], "code": loan.copy_code, "due": loan.due_at}
        )

    return turn.numbered(
        "copy",
        Text("chat.library.loans_title", {"count": len(found)}),
        found,
        line,
        lambda loan: loan.copy_code,
        page=args["page"],
        empty=Text("chat.library.loans_none"),
        item_button=lambda n, loan: Button(
            Text("chat.library.button_renew", {"n": n}), f"/renew {loan.copy_code}"
        ),
    )


@route(
    "overdue",
    "逾期",
    family="staff",
    params=[page_arg()],
    commands=[ListLoans, GetBook, GetMember],
    permission=Permission.MANAGE_LIBRARY,
)
async def overdue(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListLoans(everyone=True, overdue_only=True, limit=MAX_PAGE_SIZE))
    titles = await book_titles(turn, [loan.book_id for loan in found])
    names: dict[int, str] = {}
    for loan in found:
        await member_name(turn, loan.member_id, names)
    return turn.numbered(
        "copy",
        Text("chat.library.overdue_title", {"count": len(found)}),
        found,
        lambda n, loan: Text(
            "chat.library.overdue_line",
            {
                "n": n,
                "title": titles[loan.book_id],
                "code": loan.copy_code,
                "member": names[loan.member_id],
                "due": loan.due_at,
            },
        ),
        lambda loan: loan.copy_code,
        page=args["page"],
        empty=Text("chat.library.overdue_none"),
    )


# --- holds -----------------------------------------------------------------------------


@route(
    "hold",
    "预约图书",
    family="library",
    params=[arg(BOOK)],
    commands=[PlaceHold, GetBook, SearchBooks],
    aliases=["预约"],
)
async def hold(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Book = args["lib_book"]
    placed = await turn.run(PlaceHold(found.id))
    return turn.say(
        "chat.library.held",
        title=found.title,
        position=placed.position or 1,
        hold=ref_id(placed.id),
    )


@route(
    "holds",
    "我的预约",
    family="library",
    params=[page_arg()],
    commands=[ListHolds, GetBook],
    personal=True,
)
async def holds(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListHolds(limit=MAX_PAGE_SIZE))
    titles = await book_titles(turn, [h.book_id for h in found])

    def line(n: int, h: Hold) -> Text:
        if h.status is HoldStatus.READY:
            return Text(
                "chat.library.hold_line_ready",
                {
                    "n": n,
                    "title": titles[h.book_id],
                    "code": h.copy_code or "",
                    "pickup_by": h.pickup_by,
                },
            )
        return Text(
            "chat.library.hold_line_waiting",
            {"n": n, "title": titles[h.book_id], "position": h.position or 1},
        )

    return turn.numbered(
        "hold",
        Text("chat.library.holds_title", {"count": len(found)}),
        found,
        line,
        lambda h: ref_id(h.id),
        page=args["page"],
        empty=Text("chat.library.holds_none"),
        item_button=lambda n, h: Button(
            Text("chat.library.button_cancel_hold", {"n": n}), f"/cancelhold {ref_id(h.id)}"
        ),
    )


@route(
    "cancelhold",
    "取消预约",
    family="library",
    params=[arg(HOLD)],
    commands=[CancelHold, GetBook],
)
async def cancelhold(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    closed = await turn.run(CancelHold(args["lib_hold"]))
    titles = await book_titles(turn, [closed.book_id])
    return turn.say("chat.library.hold_cancelled", title=titles[closed.book_id])


# --- donations -------------------------------------------------------------------------


@route("donate", "捐书", family="library", aliases=["捐赠图书"])
async def donate(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Donations are recorded by the library's staff: tell the member how to give a book."""
    return turn.lines(
        Text("chat.library.donate_how"),
        Text("chat.library.donate_points"),
        buttons=[[Button(Text("chat.library.button_my_donations"), "/donations")]],
    )


@attrs.frozen
class DonatedBook:
    """What was given: an existing book (`#12`, a title, an ISBN), or a new one as
    `<title> <author> [ISBN]` (quote titles with spaces)."""

    name: str = "lib_donated_book"

    async def parse(self, turn: Turn, words: Words) -> dict[str, Any]:
        parts = split_words(words.rest())
        if not parts:
            raise MissingArgument(argument=self.name)
        if len(parts) == 1:
            word = parts[0]
            if looks_like_isbn(word) is not None:
                return {"isbn": word}
            return {"book_id": (await find_book(turn, word)).id}
        if len(parts) == 2:
            return {"title": parts[0], "author": parts[1]}
        if len(parts) == 3 and looks_like_isbn(parts[2]) is not None:
            return {"title": parts[0], "author": parts[1], "isbn": parts[2]}
        raise BadArgument(argument=self.name, value=" ".join(parts)[:40], reason="lib_donated_book")


@attrs.frozen
class CopyCodes:
    """Copy codes separated by commas (`RR-0009,RR-0010`)."""

    name: str = "lib_codes"

    async def parse(self, turn: Turn, words: Words) -> tuple[str, ...]:
        word = words.take()
        if word is None or not word.strip():
            raise MissingArgument(argument=self.name)
        return tuple(c for c in _CODES_SPLIT.split(word) if c.strip())


@route(
    "donation",
    "登记捐书",
    family="staff",
    params=[arg(MEMBER), arg(CopyCodes()), arg(DonatedBook())],
    commands=[RecordDonation, GetBook, SearchBooks, *MEMBER_COMMANDS],
    permission=Permission.MANAGE_LIBRARY,
)
async def donation(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"]
    given: dict[str, Any] = args["lib_donated_book"]
    result = await turn.run(RecordDonation(member.id, args["lib_codes"], **given))
    lines = [
        Text(
            "chat.library.donation_recorded",
            {
                "member": member.display_name,
                "title": result.book.title,
                "count": len(result.copies),
                "codes": ", ".join(c.code for c in result.copies),
            },
        )
    ]
    if result.book_created:
        lines.append(Text("chat.library.donation_new_book", {"book": ref_id(result.book.id)}))
    return turn.lines(*lines)


EVERYONE = "all"


async def donations_of(turn: Turn, word: str) -> Member | str:
    """`all`/`全部` (staff: everyone's), else a member."""
    if word.strip().casefold() in (EVERYONE, "全部", "所有"):
        return EVERYONE
    return await MEMBER.lookup(turn, word)


@route(
    "donations",
    "捐书记录",
    family="library",
    params=[arg(Ref("member", "member", donations_of), optional=True), page_arg()],
    commands=[ListDonations, GetBook, GetMember, *MEMBER_COMMANDS],
    personal=True,
)
async def donations(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """One's own donations; staff name a member, or `all`."""
    who: Member | str | None = args["member"]
    if who == EVERYONE:
        found = await turn.run(ListDonations(limit=MAX_PAGE_SIZE))
    else:
        member_id = who.id if isinstance(who, Member) else turn.member.id
        found = await turn.run(ListDonations(member_id=member_id, limit=MAX_PAGE_SIZE))
    titles = await book_titles(turn, [d.book_id for d in found])
    names: dict[int, str] = {}
    for given in found:
        await member_name(turn, given.member_id, names)
    return turn.numbered(
        "donation",
        Text("chat.library.donations_title", {"count": len(found)}),
        found,
        lambda n, d: Text(
            "chat.library.donation_line",
            {
                "n": n,
                "when": d.recorded_at,
                "member": names[d.member_id],
                "title": titles[d.book_id],
                "count": len(d.copy_codes),
            },
        ),
        lambda d: ref_id(d.id),
        page=args["page"],
        empty=Text("chat.library.donations_none"),
    )


# --- reflections -----------------------------------------------------------------------


@route(
    "reflect",
    "读后感",
    family="library",
    params=[arg(BOOK), arg(FreeText("text", max_length=6000))],
    commands=[SubmitReflection, GetBook, SearchBooks],
    aliases=["观后感"],
)
async def reflect(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Book = args["lib_book"]
    written = await turn.run(SubmitReflection(found.id, args["text"]))
    return turn.say(
        "chat.library.reflection_submitted", title=found.title, reflection=ref_id(written.id)
    )


@route(
    "revise",
    "修改读后感",
    family="library",
    params=[arg(REFLECTION), arg(FreeText("text", max_length=6000))],
    commands=[ReviseReflection, GetBook],
)
async def revise(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    written = await turn.run(ReviseReflection(args["lib_reflection"], args["text"]))
    titles = await book_titles(turn, [written.book_id])
    return turn.say(
        "chat.library.reflection_revised",
        title=titles[written.book_id],
        reflection=ref_id(written.id),
        revision=written.revision,
    )


def _reflection_line(n: int, item: Reflection, title: str) -> Text:
    return Text(
        "chat.library.reflection_line",
        {
            "n": n,
            "reflection": ref_id(item.id),
            "title": title,
            "status": Text(f"chat.library.reflection_status.{item.status.value}"),
            "excerpt": excerpt(item.text),
        },
    )


@route(
    "reflections",
    "读后感列表",
    family="library",
    params=[arg(BOOK, optional=True), page_arg()],
    commands=[ListReflections, GetBook, SearchBooks],
    aliases=["观后感列表"],
)
async def reflections(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Approved reflections and one's own (staff: all), of one book or every one."""
    found_book: Book | None = args["lib_book"]
    found = await turn.run(
        ListReflections(book_id=None if found_book is None else found_book.id, limit=MAX_PAGE_SIZE)
    )
    titles = await book_titles(turn, [r.book_id for r in found])
    title = (
        Text("chat.library.reflections_of", {"title": found_book.title, "count": len(found)})
        if found_book is not None
        else Text("chat.library.reflections_title", {"count": len(found)})
    )
    return turn.numbered(
        "reflection",
        title,
        found,
        lambda n, r: _reflection_line(n, r, titles[r.book_id]),
        lambda r: ref_id(r.id),
        page=args["page"],
        more="" if found_book is None else ref_id(found_book.id),
        empty=Text("chat.library.reflections_none"),
        item_button=lambda n, r: Button(
            Text("chat.library.button_read", {"n": n}), f"/reflection {ref_id(r.id)}"
        ),
    )


@route(
    "reflection",
    "读后感详情",
    family="library",
    params=[arg(REFLECTION)],
    commands=[GetReflection, GetBook],
    aliases=["查看读后感"],
)
async def reflection(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(GetReflection(args["lib_reflection"]))
    titles = await book_titles(turn, [found.book_id])
    lines = [
        Text(
            "chat.library.reflection_head",
            {
                "reflection": ref_id(found.id),
                "title": titles[found.book_id],
                "status": Text(f"chat.library.reflection_status.{found.status.value}"),
                "when": found.submitted_at,
            },
        ),
        Text("chat.library.reflection_text", {"text": found.text}),
    ]
    if found.note:
        lines.append(Text("chat.library.reflection_note", {"note": found.note}))
    return turn.lines(*lines)


# --- the reading contest ---------------------------------------------------------------


def _state_text(state: str) -> Text:
    return Text(f"chat.library.voting.{state}")


@route(
    "contests",
    "读书评选",
    family="library",
    params=[arg(CONTEST, optional=True)],
    commands=[
        ListReflectionContests,
        GetReflectionContest,
        GetReflectionContestResults,
        GetBook,
    ],
    aliases=["contest", "评选"],
)
async def contests(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Every best-reflection contest; one contest's ballot; its results once voting closed."""
    chosen: ReflectionContest | None = args["lib_contest"]
    if chosen is None:
        found = await turn.run(ListReflectionContests())
        now = turn.handle.now()
        return turn.numbered(
            "contest",
            Text("chat.library.contests_title"),
            found,
            lambda n, c: Text(
                "chat.library.contest_line",
                {
                    "n": n,
                    "title": c.title,
                    "opens": c.opens_at,
                    "closes": c.closes_at,
                    "state": _state_text(c.voting_state(now)),
                },
            ),
            lambda c: ref_id(c.id),
            empty=Text("chat.library.contests_none"),
            item_button=lambda n, c: Button(
                Text("chat.library.button_contest", {"n": n}), f"/contests {ref_id(c.id)}"
            ),
        )
    details = await turn.run(GetReflectionContest(chosen.id))
    contest = details.contest
    lines = [
        Text(
            "chat.library.contest_head",
            {
                "title": contest.title,
                "opens": contest.opens_at,
                "closes": contest.closes_at,
                "state": _state_text(details.voting),
            },
        )
    ]
    buttons: list[Sequence[Button]] = []
    if details.voting == "closed":
        results = await turn.run(GetReflectionContestResults(contest.id))
        by_id = {r.id: r for r in details.nominations}
        titles = await book_titles(turn, [s.book_id for s in results.standings])
        lines.append(Text("chat.library.results_title", {"votes": results.total_votes}))
        for standing in results.standings:
            lines.append(
                Text(
                    "chat.library.result_line",
                    {
                        "place": standing.place,
                        "reflection": ref_id(standing.reflection_id),
                        "title": titles[standing.book_id],
                        "votes": standing.votes,
                        "excerpt": excerpt(by_id[standing.reflection_id].text)
                        if standing.reflection_id in by_id
                        else "",
                    },
                )
            )
        turn.remember("reflection", [ref_id(s.reflection_id) for s in results.standings])
        return turn.lines(*lines)
    if not details.nominations:
        lines.append(Text("chat.library.contest_no_nominations"))
        return turn.lines(*lines)
    titles = await book_titles(turn, [r.book_id for r in details.nominations])
    lines.append(Text("chat.library.nominations_title"))
    row: list[Button] = []
    for n, nominated in enumerate(details.nominations, 1):
        key = (
            "chat.library.nomination_line_mine"
            if details.my_vote == nominated.id
            else "chat.library.nomination_line"
        )
        lines.append(
            Text(
                key,
                {
                    "n": n,
                    "reflection": ref_id(nominated.id),
                    "title": titles[nominated.book_id],
                    "excerpt": excerpt(nominated.text),
                },
            )
        )
        if details.voting == "open" and details.my_vote is None:
            row.append(
                Button(
                    Text("chat.library.button_vote", {"n": n}),
                    f"/vote {ref_id(contest.id)} {ref_id(nominated.id)}",
                )
            )
    turn.remember("reflection", [ref_id(r.id) for r in details.nominations])
    turn.remember("contest", [ref_id(contest.id)])
    if details.voting == "open" and details.my_vote is None:
        lines.append(Text("chat.library.vote_hint"))
    buttons.extend(row[i : i + 5] for i in range(0, len(row), 5))
    return turn.lines(*lines, buttons=buttons)


@route(
    "vote",
    "投票",
    family="library",
    params=[arg(CONTEST), arg(REFLECTION)],
    commands=[VoteForReflection, ListReflectionContests],
)
async def vote(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    contest: ReflectionContest = args["lib_contest"]
    await turn.run(VoteForReflection(contest.id, args["lib_reflection"]))
    return turn.say(
        "chat.library.voted", contest=contest.title, reflection=ref_id(args["lib_reflection"])
    )


# --- staff: the catalogue --------------------------------------------------------------


@attrs.frozen
class OptionalIsbn:
    """The next word if it is an ISBN; otherwise nothing is taken (tags may follow)."""

    name: str = "lib_isbn"

    async def parse(self, turn: Turn, words: Words) -> str | None:
        word = words.peek()
        if word is not None and looks_like_isbn(word) is not None:
            words.take()
            return word
        return None


@route(
    "addbook",
    "添加图书",
    family="staff",
    params=[
        arg(Word("title", max_length=200)),
        arg(Word("lib_author", max_length=120)),
        arg(OptionalIsbn(), optional=True),
        arg(FreeText("lib_tags", max_length=500), optional=True),
    ],
    commands=[AddBook],
    permission=Permission.MANAGE_LIBRARY,
)
async def addbook(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    added = await turn.run(
        AddBook(
            args["title"],
            args["lib_author"],
            isbn=args["lib_isbn"],
            tags=split_tags(args["lib_tags"]),
        )
    )
    return turn.say(
        "chat.library.book_added", title=added.title, author=added.author, book=ref_id(added.id)
    )


@route(
    "editbook",
    "修改图书",
    family="staff",
    params=[
        arg(BOOK),
        arg(Choice("lib_book_field", BOOK_FIELDS)),
        arg(FreeText("lib_value", max_length=500)),
    ],
    commands=[UpdateBook, GetBook, SearchBooks],
    permission=Permission.MANAGE_LIBRARY,
)
async def editbook(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Book = args["lib_book"]
    field: str = args["lib_book_field"]
    value: str = args["lib_value"]
    changes: dict[str, Any] = {}
    if field == "tags":
        changes["tags"] = split_tags("" if value in ("-", "无") else value)
    elif field == "isbn":
        changes["isbn"] = "" if value in ("-", "无") else value
    else:
        changes[field] = value
    updated = await turn.run(UpdateBook(found.id, **changes))
    return turn.say(
        "chat.library.book_updated",
        title=updated.title,
        author=updated.author,
        book=ref_id(updated.id),
    )


@route(
    "addcopy",
    "添加副本",
    family="staff",
    params=[arg(BOOK), arg(Word("lib_copy", max_length=24)), arg(LOCATION, optional=True)],
    commands=[AddCopy, GetBook, SearchBooks],
    permission=Permission.MANAGE_LIBRARY,
)
async def addcopy(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Book = args["lib_book"]
    location = args["lib_location"] or CopyLocation.BOOKSHELF
    added = await turn.run(AddCopy(found.id, args["lib_copy"], location))
    key = (
        "chat.library.copy_added_held"
        if added.status is CopyStatus.HELD_FOR_PICKUP
        else "chat.library.copy_added"
    )
    return turn.say(key, title=found.title, code=added.code, location=location_text(location))


@route(
    "movecopy",
    "移动副本",
    family="staff",
    params=[arg(COPY), arg(LOCATION)],
    commands=[MoveCopy],
    permission=Permission.MANAGE_LIBRARY,
)
async def movecopy(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    moved = await turn.run(MoveCopy(args["lib_copy"], args["lib_location"]))
    return turn.say(
        "chat.library.copy_moved", code=moved.code, location=location_text(moved.location)
    )


@route(
    "withdrawcopy",
    "下架",
    family="staff",
    params=[arg(COPY), arg(FreeText("reason", max_length=1000), optional=True)],
    commands=[WithdrawCopy],
    permission=Permission.MANAGE_LIBRARY,
)
async def withdrawcopy(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    withdrawn = await turn.run(WithdrawCopy(args["lib_copy"], args["reason"] or ""))
    return turn.say("chat.library.copy_withdrawn", code=withdrawn.code)


# --- staff: the contest ----------------------------------------------------------------


@route(
    "newcontest",
    "新建评选",
    family="staff",
    params=[arg(Word("title", max_length=200)), arg(Moment("start")), arg(Moment("end"))],
    commands=[CreateReflectionContest],
    permission=Permission.MANAGE_LIBRARY,
)
async def newcontest(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    created = await turn.run(CreateReflectionContest(args["title"], args["start"], args["end"]))
    return turn.say(
        "chat.library.contest_created",
        title=created.title,
        contest=ref_id(created.id),
        opens=created.opens_at,
        closes=created.closes_at,
    )


@route(
    "nominate",
    "提名",
    family="staff",
    params=[arg(CONTEST), arg(REFLECTION)],
    commands=[NominateReflection, ListReflectionContests],
    permission=Permission.MANAGE_LIBRARY,
)
async def nominate(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    details = await turn.run(NominateReflection(args["lib_contest"].id, args["lib_reflection"]))
    return turn.say(
        "chat.library.nominated",
        reflection=ref_id(args["lib_reflection"]),
        contest=details.contest.title,
        count=len(details.nominations),
    )


__all__ = ["BOOK", "COPY", "excerpt", "id_lookup", "member_name", "ref_id"]
