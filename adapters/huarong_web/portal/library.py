"""Portal pages: the red-reading library.

`/library` searches the catalogue; a book's page shows its copies (borrow
one by the code printed on it, or join the queue when none is free) and the
reading reflections (write one, or revise one staff sent back); `/library/mine`
lists my loans (renew, return) and holds (cancel); a contest's page takes my
vote for the best reflection and shows the results once voting has closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from huarong_core.commands import (
    BorrowCopy,
    CancelHold,
    Command,
    GetBook,
    GetReflectionContest,
    GetReflectionContestResults,
    ListDonations,
    ListHolds,
    ListLoans,
    ListReflectionContests,
    ListReflections,
    PlaceHold,
    RenewLoan,
    ReturnCopy,
    ReviseReflection,
    SearchBooks,
    SubmitReflection,
    VoteForReflection,
)
from huarong_core.domain.library import (
    MIN_REFLECTION_LENGTH,
    Book,
    ReflectionStatus,
)
from huarong_core.errors import HuarongError
from huarong_core.i18n import translate
from huarong_web.keys import HANDLE
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    base_of,
    done_notice,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
    text_field,
)
from huarong_web.portal.pages import (
    member_id_of as _me,
)
from huarong_web.portal.pages import (
    path_id as _id,
)

__all__ = ["ROUTES"]

PAGE_SIZE = 20


# --- small helpers ----------------------------------------------------------------------


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.library.done")


async def _books(request: web.Request, ids: Iterable[int]) -> dict[int, Book]:
    """The books behind some loans, holds or reflections, by id."""
    found: dict[int, Book] = {}
    for book_id in sorted(set(ids)):
        try:
            found[book_id] = (await run(request, GetBook(book_id))).book
        except HuarongError:
            continue
    return found


# --- the catalogue ------------------------------------------------------------------------


async def library_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    locale = page_locale(request)
    q = request.query.get("q", "").strip()[:100]
    tag = request.query.get("tag", "").strip()[:40] or None
    text = request.query.get("page", "1")
    number = max(1, int(text)) if text.isascii() and text.isdigit() and len(text) < 6 else 1
    results = await run(
        request, SearchBooks(text=q, tag=tag, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    )
    contests = await run(request, ListReflectionContests())
    now = request.config_dict[HANDLE].now()
    return await render(
        request,
        "library/index.html",
        section="library",
        title=translate("portal.library.title", locale),
        q=q,
        tag=tag or "",
        results=results,
        number=number,
        contests=[(c, c.voting_state(now)) for c in reversed(contests)],
        notice=_notice(request),
    )


async def book_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _book_page(request, _id(request, "book_id"), {}, {})


async def _book_page(
    request: web.Request,
    book_id: int,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    me = _me(request)
    details = await run(request, GetBook(book_id))
    reflections = await run(request, ListReflections(book_id=book_id))
    loans = await run(request, ListLoans())
    holds = await run(request, ListHolds(book_id=book_id, member_id=me))
    mine = next((r for r in reflections if r.member_id == me), None)
    done = request.query.get("done", "")
    forget = ""
    if done in ("reflection_submitted", "reflection_revised") and mine is not None:
        forget = f"{base_of(request)}/library/books/{book_id}/reflections"
        if done == "reflection_revised":
            forget += f"/{mine.id}/revise"
    return await render(
        request,
        "library/book.html",
        section="library",
        title=details.book.title,
        details=details,
        book=details.book,
        my_loans=[loan for loan in loans if loan.book_id == book_id],
        hold=next(iter(holds), None),
        mine=mine,
        others=[
            r for r in reflections if r.member_id != me and r.status is ReflectionStatus.APPROVED
        ],
        min_length=MIN_REFLECTION_LENGTH,
        values=values,
        errors=errors,
        status=status,
        notice=_notice(request),
        forget=forget,
    )


async def _on_book(
    request: web.Request,
    key: str,
    command: Command[Any],
    done: str,
    typed: Mapping[str, str] | None = None,
    blame: str = "",
) -> web.StreamResponse:
    """Run a form's command about this book; its page again, with the answer.

    A refusal that names no field (no such copy, the copy is out) is about the
    `blame` field when given, and is shown beside it too."""
    book_id = _id(request, "book_id")
    try:
        await run(request, command, key)
    except FormErrors as refused:
        errors = dict(refused.messages)
        if blame and len(errors) == 1 and "" in errors:
            errors[blame] = errors[""]
        return await _book_page(request, book_id, typed or {}, errors, status=422)
    raise redirect(request, f"/library/books/{book_id}?done={done}")


async def borrow(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    code = text_field(form, "code", 40)
    command = BorrowCopy(code)
    return await _on_book(request, key, command, "borrowed", {"code": code}, blame="code")


async def place_hold(request: web.Request) -> web.StreamResponse:
    _, key = await read_form(request)
    return await _on_book(request, key, PlaceHold(_id(request, "book_id")), "held")


async def submit_reflection(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    text = text_field(form, "text", 8000)
    command = SubmitReflection(_id(request, "book_id"), text)
    return await _on_book(request, key, command, "reflection_submitted", {"text": text})


async def revise_reflection(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    text = text_field(form, "text", 8000)
    command = ReviseReflection(_id(request, "reflection_id"), text)
    return await _on_book(request, key, command, "reflection_revised", {"text": text})


async def back_to_book(request: web.Request) -> web.StreamResponse:
    raise redirect(request, f"/library/books/{_id(request, 'book_id')}")


# --- mine ---------------------------------------------------------------------------------


async def mine_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _mine_page(request, {})


async def _mine_page(
    request: web.Request, errors: Mapping[str, str], status: int = 200
) -> web.Response:
    locale = page_locale(request)
    me = _me(request)
    now = request.config_dict[HANDLE].now()
    loans = await run(request, ListLoans(open_only=False, limit=30))
    holds = await run(request, ListHolds())
    donations = await run(request, ListDonations(member_id=me, limit=20))
    reflections = await run(request, ListReflections(member_id=me))
    ids = [
        *(x.book_id for x in loans),
        *(x.book_id for x in holds),
        *(x.book_id for x in donations),
        *(x.book_id for x in reflections),
    ]
    return await render(
        request,
        "library/mine.html",
        section="library",
        title=translate("portal.library.mine.title", locale),
        open_loans=[loan for loan in loans if loan.is_open],
        past_loans=[loan for loan in loans if not loan.is_open][:10],
        holds=holds,
        donations=donations,
        reflections=reflections,
        books=await _books(request, ids),
        now=now,
        errors=errors,
        status=status,
        notice=_notice(request),
    )


async def _on_mine(
    request: web.Request, key: str, command: Command[Any], done: str
) -> web.StreamResponse:
    try:
        await run(request, command, key)
    except FormErrors as refused:
        return await _mine_page(request, refused.messages, status=422)
    raise redirect(request, f"/library/mine?done={done}")


async def renew(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    return await _on_mine(request, key, RenewLoan(text_field(form, "code", 40)), "renewed")


async def give_back(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    return await _on_mine(request, key, ReturnCopy(text_field(form, "code", 40)), "returned")


async def cancel_hold(request: web.Request) -> web.StreamResponse:
    _, key = await read_form(request)
    command = CancelHold(_id(request, "hold_id"))
    return await _on_mine(request, key, command, "hold_cancelled")


async def back_to_mine(request: web.Request) -> web.StreamResponse:
    raise redirect(request, "/library/mine")


# --- the best-reflection contest ----------------------------------------------------------


async def contest_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _contest_page(request, _id(request, "contest_id"), {})


async def _contest_page(
    request: web.Request, contest_id: int, errors: Mapping[str, str], status: int = 200
) -> web.Response:
    details = await run(request, GetReflectionContest(contest_id))
    results = None
    if details.voting == "closed":
        results = await run(request, GetReflectionContestResults(contest_id))
    ids = [r.book_id for r in details.nominations]
    if results is not None:
        ids.extend(s.book_id for s in results.standings)
    texts = {r.id: r for r in details.nominations}
    return await render(
        request,
        "library/contest.html",
        section="library",
        title=details.contest.title,
        details=details,
        contest=details.contest,
        results=results,
        texts=texts,
        books=await _books(request, ids),
        me=_me(request),
        errors=errors,
        status=status,
        notice=_notice(request),
    )


async def vote(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    contest_id = _id(request, "contest_id")
    chosen = text_field(form, "reflection_id", 12)
    try:
        if not (chosen.isascii() and chosen.isdigit()):
            message = translate("portal.library.contest.pick_one", page_locale(request))
            raise FormErrors({"reflection_id": message, "": message})
        await run(request, VoteForReflection(contest_id, int(chosen)), key)
    except FormErrors as refused:
        return await _contest_page(request, contest_id, refused.messages, status=422)
    raise redirect(request, f"/library/contests/{contest_id}?done=voted")


async def back_to_contest(request: web.Request) -> web.StreamResponse:
    raise redirect(request, f"/library/contests/{_id(request, 'contest_id')}")


ROUTES = (
    PortalRoute("GET", "/library", library_page, "portal.library"),
    PortalRoute("GET", "/library/mine", mine_page, "portal.library.mine"),
    PortalRoute("POST", "/library/mine/renew", renew, "portal.library.renew"),
    PortalRoute("POST", "/library/mine/return", give_back, "portal.library.give_back"),
    PortalRoute(
        "POST", "/library/mine/holds/{hold_id}/cancel", cancel_hold, "portal.library.cancel_hold"
    ),
    PortalRoute("GET", "/library/mine/renew", back_to_mine, "portal.library.renew_get"),
    PortalRoute("GET", "/library/mine/return", back_to_mine, "portal.library.return_get"),
    PortalRoute(
        "GET",
        "/library/mine/holds/{hold_id}/cancel",
        back_to_mine,
        "portal.library.cancel_hold_get",
    ),
    PortalRoute("GET", "/library/books/{book_id}", book_page, "portal.library.book"),
    PortalRoute("POST", "/library/books/{book_id}/borrow", borrow, "portal.library.borrow"),
    PortalRoute("POST", "/library/books/{book_id}/hold", place_hold, "portal.library.hold"),
    PortalRoute(
        "POST",
        "/library/books/{book_id}/reflections",
        submit_reflection,
        "portal.library.reflect",
    ),
    PortalRoute(
        "POST",
        "/library/books/{book_id}/reflections/{reflection_id}/revise",
        revise_reflection,
        "portal.library.revise",
    ),
    PortalRoute(
        "GET", "/library/books/{book_id}/borrow", back_to_book, "portal.library.borrow_get"
    ),
    PortalRoute("GET", "/library/books/{book_id}/hold", back_to_book, "portal.library.hold_get"),
    PortalRoute(
        "GET", "/library/books/{book_id}/reflections", back_to_book, "portal.library.reflect_get"
    ),
    PortalRoute(
        "GET",
        "/library/books/{book_id}/reflections/{reflection_id}/revise",
        back_to_book,
        "portal.library.revise_get",
    ),
    PortalRoute("GET", "/library/contests/{contest_id}", contest_page, "portal.library.contest"),
    PortalRoute("POST", "/library/contests/{contest_id}/vote", vote, "portal.library.vote"),
    PortalRoute(
        "GET", "/library/contests/{contest_id}/vote", back_to_contest, "portal.library.vote_get"
    ),
)
