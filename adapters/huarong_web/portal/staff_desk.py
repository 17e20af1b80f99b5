"""The desk: handing out redeemed items, and deciding what waits for staff.

`/staff/shop` lists the reserved redemptions (points spent, item held) with a
button to hand each one over (`/staff/shop/{id}/fulfil`). `/staff/approvals`
gathers three queues, each shown to whoever the core lets read it: reading
reflections (approve, or return with a note), smile-wall photos (approve, or
reject with a reason) and points awards a rule holds for a decision. A queue
the reader may not work is left out; a reader who may work none is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from huarong_core.commands import (
    ApprovePhoto,
    ApproveReflection,
    Command,
    DecidePendingAward,
    FulfilRedemption,
    GetBook,
    ListDonations,
    ListPendingAwards,
    ListPhotos,
    ListPointsRules,
    ListRedemptions,
    ListReflections,
    ListShopItems,
    RejectPhoto,
    ReturnReflection,
)
from huarong_core.domain.library import ReflectionStatus
from huarong_core.domain.shop import RedemptionStatus
from huarong_core.domain.smile_wall import PhotoStatus
from huarong_core.errors import HuarongError, PermissionDenied
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    path_id,
    read_form,
    redirect,
    render,
    run,
    text_field,
)
from huarong_web.portal.staff_common import (
    ID,
    member_names,
    notice,
    refused,
    rename,
    staff_page,
    texts,
)

__all__ = ["ROUTES"]

QUEUE_LIMIT = 100
NOTE_LIMIT = 1100
"""A little over what the core takes, so an over-long note is refused, not cut."""

# --- the shop counter ----------------------------------------------------------------------


async def _shop(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    failed: int = 0,
    status: int = 200,
) -> web.Response:
    t = texts(request)
    reserved = await run(
        request, ListRedemptions(status=RedemptionStatus.RESERVED, limit=QUEUE_LIMIT)
    )
    handed = await run(request, ListRedemptions(status=RedemptionStatus.FULFILLED, limit=20))
    items = {item.key: t.text(item.name) for item in await run(request, ListShopItems(False))}
    names = await member_names(request, (r.member_id for r in (*reserved, *handed)))
    return await render(
        request,
        "staff/shop.html",
        section="staff",
        title=t("portal.staff.shop.title"),
        status=status,
        area="shop",
        reserved=reserved,
        handed=handed,
        items=items,
        names=names,
        errors=errors or {},
        failed=failed,
        notice=notice(request, {"fulfilled"}) if status == 200 else "",
    )


@staff_page
async def shop(request: web.Request) -> web.StreamResponse:
    return await _shop(request)


@staff_page
async def fulfil(request: web.Request) -> web.StreamResponse:
    redemption_id = path_id(request, "redemption_id")
    _, key = await read_form(request)
    try:
        await run(request, FulfilRedemption(redemption_id), key)
    except FormErrors as exc:
        return await _shop(request, errors=rename(exc, {}), failed=redemption_id, status=422)
    raise redirect(request, "/staff/shop?done=fulfilled")


# --- approvals -------------------------------------------------------------------------------


@attrs.frozen
class Failed:
    """Which item's form was refused, with what, and what was typed."""

    kind: str = ""
    item_id: int = 0
    errors: dict[str, str] = attrs.field(factory=dict)
    typed: str = ""

    def errors_for(self, kind: str, item_id: int) -> dict[str, str]:
        return self.errors if (kind, item_id) == (self.kind, self.item_id) else {}

    def typed_for(self, kind: str, item_id: int) -> str:
        return self.typed if (kind, item_id) == (self.kind, self.item_id) else ""


async def _allowed(action: Callable[[], Awaitable[Any]]) -> Any:
    """What `action` reads, or None when the core says the reader may not."""
    try:
        return await action()
    except PermissionDenied:
        return None


async def _approvals(
    request: web.Request, failed: Failed | None = None, status: int = 200
) -> web.Response:
    t = texts(request)

    async def reflections() -> Any:
        # Reflections are anyone's to list (one's own, the approved ones); the library's
        # staff are those the core lets list every donation.
        await run(request, ListDonations(limit=1))
        return await run(
            request, ListReflections(status=ReflectionStatus.SUBMITTED, limit=QUEUE_LIMIT)
        )

    found_reflections = await _allowed(reflections)
    found_photos = await _allowed(
        lambda: run(request, ListPhotos(status=PhotoStatus.PENDING, limit=QUEUE_LIMIT))
    )
    found_awards = await _allowed(
        lambda: run(request, ListPendingAwards(status="pending", limit=QUEUE_LIMIT))
    )
    if found_reflections is None and found_photos is None and found_awards is None:
        return await refused(request)
    books: dict[int, str] = {}
    for book_id in sorted({r.book_id for r in found_reflections or ()}):
        try:
            books[book_id] = (await run(request, GetBook(book_id))).book.title
        except HuarongError:
            books[book_id] = f"#{book_id}"
    rules: dict[str, str] = {}
    if found_awards:
        try:
            rules = {r.key: t.text(r.name) for r in await run(request, ListPointsRules())}
        except HuarongError:
            rules = {}
    people = [
        *(r.member_id for r in found_reflections or ()),
        *(p.member_id for p in found_photos or ()),
        *(a.member_id for a in found_awards or ()),
    ]
    return await render(
        request,
        "staff/approvals.html",
        section="staff",
        title=t("portal.staff.approvals.title"),
        status=status,
        area="approvals",
        reflections=found_reflections,
        photos=found_photos,
        awards=found_awards,
        books=books,
        rules=rules,
        names=await member_names(request, people),
        failed=failed or Failed(),
        notice=notice(request, DECIDED) if status == 200 else "",
    )


@staff_page
async def approvals(request: web.Request) -> web.StreamResponse:
    return await _approvals(request)


DECIDED = frozenset(
    {
        "reflection_approved",
        "reflection_returned",
        "photo_approved",
        "photo_rejected",
        "points_approved",
        "points_rejected",
    }
)

Decide = Callable[[int, str], Command[Any]]


def _decision(kind: str, field: str, done: str, make: Decide) -> Any:
    """A POST handler: run `make(item id, typed text)`, then back to the list."""

    @staff_page
    async def decide(request: web.Request) -> web.StreamResponse:
        item_id = path_id(request, "item_id")
        form, key = await read_form(request)
        typed = text_field(form, field, NOTE_LIMIT)
        try:
            await run(request, make(item_id, typed), key)
        except FormErrors as exc:
            failed = Failed(kind, item_id, rename(exc, {}), typed)
            return await _approvals(request, failed, status=422)
        raise redirect(request, f"/staff/approvals?done={done}")

    return decide


DECISIONS: tuple[tuple[str, str, str, Decide], ...] = (
    ("reflections", "approve", "note", lambda i, text: ApproveReflection(i, text)),
    ("reflections", "return", "note", lambda i, text: ReturnReflection(i, text)),
    ("photos", "approve", "reason", lambda i, _: ApprovePhoto(i)),
    ("photos", "reject", "reason", lambda i, text: RejectPhoto(i, text)),
    ("points", "approve", "note", lambda i, text: DecidePendingAward(i, True, text)),
    ("points", "reject", "note", lambda i, text: DecidePendingAward(i, False, text)),
)
"""(queue, verb, the form's text field, the command): `/staff/approvals/<queue>/<id>/<verb>`."""
DONE_WORD = {"approve": "approved", "return": "returned", "reject": "rejected"}
SINGULAR = {"reflections": "reflection", "photos": "photo", "points": "points"}


def _approval_routes() -> list[PortalRoute]:
    return [
        PortalRoute(
            "POST",
            f"/staff/approvals/{queue}/{{item_id:{ID}}}/{verb}",
            _decision(SINGULAR[queue], field, f"{SINGULAR[queue]}_{DONE_WORD[verb]}", make),
            f"portal.staff.approvals.{queue}.{verb}_it",
        )
        for queue, verb, field, make in DECISIONS
    ]


ROUTES: tuple[PortalRoute, ...] = (
    PortalRoute("GET", "/staff/shop", shop, "portal.staff.shop"),
    PortalRoute(
        "POST", f"/staff/shop/{{redemption_id:{ID}}}/fulfil", fulfil, "portal.staff.shop.fulfil"
    ),
    PortalRoute("GET", "/staff/approvals", approvals, "portal.staff.approvals"),
    *_approval_routes(),
)
