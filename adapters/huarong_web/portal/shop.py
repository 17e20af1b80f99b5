"""Portal pages: the points shop (乐丫公社) and my redemptions.

Redeeming reserves the item and spends the points at once; it is collected at
its station, where staff mark it fulfilled. A reservation not yet collected
can be cancelled: points and stock come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from huarong_core.commands import (
    CancelRedemption,
    GetPointsStatement,
    ListRedemptions,
    ListShopItems,
    ListStations,
    RedeemItem,
)
from huarong_web.portal.gatherings import member_of, notice, say
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    ascii_int,
    path_id,
    read_form,
    redirect,
    render,
    run,
    text_field,
)

__all__ = ["ROUTES"]

MY_REDEMPTIONS = 100


async def _balance(request: web.Request, member_id: int) -> int:
    return (await run(request, GetPointsStatement(member_id, limit=1))).balance


async def _stations(request: web.Request) -> dict[str, Any]:
    return {station.key: station.name for station in await run(request, ListStations())}


async def shop_page(
    request: web.Request,
    *,
    status: int = 200,
    failed: str = "",
    errors: Mapping[str, str] | None = None,
    quantity: str = "1",
) -> web.Response:
    """What one can have for points now, the price, what is left, the limit per member."""
    member_id = member_of(request)
    return await render(
        request,
        "shop/items.html",
        section="shop",
        title=say(request, "portal.shop.title"),
        status=status,
        items=await run(request, ListShopItems()),
        balance=await _balance(request, member_id),
        stations=await _stations(request),
        failed=failed,
        errors=dict(errors or {}),
        quantity=quantity,
        **notice(request, "shop", ("redeemed",)),
    )


async def shop(request: web.Request) -> web.StreamResponse:
    return await shop_page(request)


async def redeem(request: web.Request) -> web.StreamResponse:
    """`quantity` (1 when left out)."""
    item_key = request.match_info["item_key"]
    form, key = await read_form(request)
    typed = text_field(form, "quantity", 8) or "1"
    if ascii_int(typed, 8) is None:
        message = say(request, "portal.shop.quantity_bad")
        return await shop_page(
            request, status=422, failed=item_key, errors={"quantity": message}, quantity=typed
        )
    try:
        await run(request, RedeemItem(item_key, int(typed)), key)
    except FormErrors as exc:
        return await shop_page(
            request, status=422, failed=item_key, errors=exc.messages, quantity=typed
        )
    raise redirect(request, "/shop?done=redeemed")


async def mine_page(
    request: web.Request, *, status: int = 200, errors: Mapping[str, str] | None = None
) -> web.Response:
    """Everything I redeemed, newest first: reserved (to collect, or cancel), collected,
    cancelled."""
    member_id = member_of(request)
    items = {item.key: item for item in await run(request, ListShopItems(False))}
    return await render(
        request,
        "shop/mine.html",
        section="shop",
        title=say(request, "portal.shop.mine_title"),
        status=status,
        redemptions=await run(request, ListRedemptions(member_id=member_id, limit=MY_REDEMPTIONS)),
        items=items,
        balance=await _balance(request, member_id),
        stations=await _stations(request),
        errors=dict(errors or {}),
        **notice(request, "shop", ("cancelled",)),
    )


async def mine(request: web.Request) -> web.StreamResponse:
    return await mine_page(request)


async def cancel(request: web.Request) -> web.StreamResponse:
    redemption_id = path_id(request, "redemption_id")
    _, key = await read_form(request)
    try:
        await run(request, CancelRedemption(redemption_id), key)
    except FormErrors as exc:
        return await mine_page(request, status=422, errors=exc.messages)
    raise redirect(request, "/shop/mine?done=cancelled")


ROUTES = (
    PortalRoute("GET", "/shop", shop, "portal.shop"),
    PortalRoute("GET", "/shop/mine", mine, "portal.shop.mine"),
    PortalRoute("POST", "/shop/{item_key}/redeem", redeem, "portal.shop.redeem"),
    PortalRoute("POST", r"/shop/mine/{redemption_id:\d+}/cancel", cancel, "portal.shop.cancel"),
)
