"""The points shop: `/shop`, `/redeem`, `/orders`, `/cancelorder`, and the staff's
`/redemptions`, `/fulfil`, `/restock`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from huarong_core.commands import (
    CancelRedemption,
    FulfilRedemption,
    GetPointsStatement,
    ListRedemptions,
    ListShopItems,
    ListStations,
    RedeemItem,
    RestockItem,
)
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Integer,
    Ref,
    arg,
    match_one,
    page_arg,
    parse_id,
)
from huarong_core.conversation.chat.points import button, member_names, rows
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.points import Period
from huarong_core.domain.roles import Permission
from huarong_core.domain.shop import Redemption, RedemptionStatus, ShopItem
from huarong_core.domain.text import LocalizedText

MAX_LISTED = 200
PERIODS = {
    Period.DAY: "chat.points.shop_period_day",
    Period.WEEK: "chat.points.shop_period_week",
    Period.MONTH: "chat.points.shop_period_month",
    Period.YEAR: "chat.points.shop_period_year",
}
STATUS_NAMES = {
    RedemptionStatus.RESERVED: "chat.points.shop_status_reserved",
    RedemptionStatus.FULFILLED: "chat.points.shop_status_fulfilled",
    RedemptionStatus.CANCELLED: "chat.points.shop_status_cancelled",
}
FILTER_NAMES = {
    "reserved": "chat.points.shop_filter_reserved",
    "fulfilled": "chat.points.shop_filter_fulfilled",
    "cancelled": "chat.points.shop_filter_cancelled",
    "all": "chat.points.shop_filter_all",
}


async def _items(turn: Turn, *, available_only: bool) -> tuple[ShopItem, ...]:
    return await turn.run(ListShopItems(available_only=available_only))


async def find_item(turn: Turn, word: str) -> ShopItem:
    """An item by key or name (in any language), among every item of the shop."""
    found = await _items(turn, available_only=False)
    return match_one("points_item", word, ((i, (i.key, *i.name.as_dict().values())) for i in found))


ITEM = Ref("points_item", "item", find_item)


async def find_redemption(turn: Turn, word: str) -> int:
    return parse_id("points_redemption", word)


REDEMPTION = Ref("points_redemption", "redemption", find_redemption)


def _item_line(number: int, item: ShopItem) -> Text:
    extra: list[Text] = []
    if item.stock <= 0:
        extra.append(Text("chat.points.shop_sold_out"))
    else:
        extra.append(Text("chat.points.shop_stock", {"stock": item.stock}))
    if item.limit_count is not None and item.limit_period is not None:
        extra.append(
            Text(
                "chat.points.shop_limit",
                {
                    "count": item.limit_count,
                    "period": Text(PERIODS[item.limit_period]),
                },
            )
        )
    if item.available_until is not None:
        extra.append(Text("chat.points.shop_until", {"until": item.available_until}))
    return Text(
        "chat.points.shop_item_line",
        {"number": number, "name": item.name, "price": item.price, "extra": tuple(extra)},
    )


def _item_button(number: int, item: ShopItem) -> Button | None:
    if item.stock <= 0:
        return None
    return button(Text("chat.points.shop_button_redeem", {"number": number}), f"/redeem {item.key}")


@route(
    "shop",
    "商城",
    family="shop",
    params=[page_arg()],
    commands=[ListShopItems],
    aliases=["store", "乐丫公社", "兑换商城"],
)
async def shop(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await _items(turn, available_only=True)
    return turn.numbered(
        "item",
        Text("chat.points.shop_title"),
        list(found),
        _item_line,
        lambda item: item.key,
        page=args["page"],
        empty=Text("chat.points.shop_empty"),
        item_button=_item_button,
    )


async def _station_name(turn: Turn, key: str | None) -> LocalizedText | None:
    if key is None:
        return None
    for station in await turn.run(ListStations()):
        if station.key == key:
            return station.name
    return None


@route(
    "redeem",
    "兑换",
    family="shop",
    params=[arg(ITEM), arg(Integer("points_quantity", minimum=1, maximum=100), optional=True)],
    commands=[RedeemItem, ListShopItems, GetPointsStatement, ListStations],
    personal=True,
    aliases=["buy", "换"],
)
async def redeem(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    item: ShopItem = args["points_item"]
    quantity = int(args["points_quantity"] or 1)
    done = await turn.run(RedeemItem(item.key, quantity))
    balance = (await turn.run(GetPointsStatement(turn.member.id, limit=1))).balance
    lines = [
        Text(
            "chat.points.shop_redeemed",
            {
                "item": item.name,
                "quantity": done.quantity,
                "points": done.points,
                "id": done.id,
                "balance": balance,
            },
        )
    ]
    station = await _station_name(turn, item.station)
    if station is not None:
        lines.append(Text("chat.points.shop_collect_at", {"station": station}))
    else:
        lines.append(Text("chat.points.shop_collect"))
    return turn.lines(
        *lines,
        buttons=rows(
            button(
                Text("chat.points.shop_button_cancel_order", {"id": done.id}),
                f"/cancelorder #{done.id}",
            )
        ),
    )


def _status(redemption: Redemption) -> Text:
    return Text(STATUS_NAMES[redemption.status])


def _order_lines(
    redemptions: Sequence[Redemption],
    names: Mapping[str, LocalizedText],
    members: Mapping[int, str] | None,
) -> Any:
    def line(number: int, redemption: Redemption) -> Text:
        params: dict[str, Any] = {
            "number": number,
            "id": redemption.id,
            "item": names.get(redemption.item_key, redemption.item_key),
            "quantity": redemption.quantity,
            "points": redemption.points,
            "status": _status(redemption),
            "when": redemption.created_at,
        }
        if members is None:
            return Text("chat.points.shop_order_line", params)
        return Text(
            "chat.points.shop_redemption_line",
            {**params, "member": members.get(redemption.member_id, f"#{redemption.member_id}")},
        )

    return line


async def _item_names(turn: Turn) -> dict[str, LocalizedText]:
    return {i.key: i.name for i in await _items(turn, available_only=False)}


@route(
    "orders",
    "我的兑换",
    family="shop",
    params=[page_arg()],
    commands=[ListRedemptions, ListShopItems],
    personal=True,
    aliases=["myorders", "兑换记录"],
)
async def orders(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListRedemptions(member_id=turn.member.id, limit=MAX_LISTED))
    names = await _item_names(turn)

    def cancel_button(number: int, redemption: Redemption) -> Button | None:
        if redemption.status is not RedemptionStatus.RESERVED:
            return None
        return button(
            Text("chat.points.shop_button_cancel", {"number": number}),
            f"/cancelorder #{redemption.id}",
        )

    return turn.numbered(
        "redemption",
        Text("chat.points.shop_orders_title"),
        list(found),
        _order_lines(found, names, None),
        lambda r: f"#{r.id}",
        page=args["page"],
        empty=Text("chat.points.shop_orders_empty"),
        item_button=cancel_button,
    )


@route(
    "cancelorder",
    "取消兑换",
    family="shop",
    params=[arg(REDEMPTION), arg(FreeText("reason", max_length=500), optional=True)],
    commands=[CancelRedemption, ListShopItems],
    aliases=["cancelredemption", "退换"],
)
async def cancelorder(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    done = await turn.run(CancelRedemption(args["points_redemption"], args["reason"] or ""))
    names = await _item_names(turn)
    return turn.say(
        "chat.points.shop_cancelled",
        id=done.id,
        item=names.get(done.item_key, done.item_key),
        points=done.points,
    )


# --- staff ---------------------------------------------------------------------------------

STATUSES: dict[str, RedemptionStatus | str] = {
    "reserved": RedemptionStatus.RESERVED,
    "open": RedemptionStatus.RESERVED,
    "待领取": RedemptionStatus.RESERVED,
    "待发放": RedemptionStatus.RESERVED,
    "fulfilled": RedemptionStatus.FULFILLED,
    "done": RedemptionStatus.FULFILLED,
    "已发放": RedemptionStatus.FULFILLED,
    "已领取": RedemptionStatus.FULFILLED,
    "cancelled": RedemptionStatus.CANCELLED,
    "canceled": RedemptionStatus.CANCELLED,
    "已取消": RedemptionStatus.CANCELLED,
    "all": "all",
    "全部": "all",
}


def _status_word(status: RedemptionStatus | str) -> str:
    return status.value if isinstance(status, RedemptionStatus) else status


@route(
    "redemptions",
    "兑换单",
    family="shop",
    params=[
        arg(Choice("points_status", STATUSES), optional=True),
        page_arg(),
    ],
    commands=[ListRedemptions, ListShopItems, ListStations],
    permission=Permission.MANAGE_SHOP,
    aliases=["兑换订单"],
)
async def redemptions(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    wanted: RedemptionStatus | str = args["points_status"] or RedemptionStatus.RESERVED
    status = wanted if isinstance(wanted, RedemptionStatus) else None
    found = await turn.run(ListRedemptions(status=status, limit=MAX_LISTED))
    names = await _item_names(turn)
    members = await member_names(turn, (r.member_id for r in found))

    def fulfil_button(number: int, redemption: Redemption) -> Button | None:
        if redemption.status is not RedemptionStatus.RESERVED:
            return None
        return button(
            Text("chat.points.shop_button_fulfil", {"number": number}), f"/fulfil #{redemption.id}"
        )

    return turn.numbered(
        "redemption",
        Text(
            "chat.points.shop_redemptions_title",
            {"status": Text(FILTER_NAMES[_status_word(wanted)])},
        ),
        list(found),
        _order_lines(found, names, members),
        lambda r: f"#{r.id}",
        page=args["page"],
        empty=Text("chat.points.shop_redemptions_empty"),
        more=_status_word(wanted),
        item_button=fulfil_button,
    )


@route(
    "fulfil",
    "发放",
    family="shop",
    params=[arg(REDEMPTION)],
    commands=[FulfilRedemption, ListShopItems],
    permission=Permission.MANAGE_SHOP,
    aliases=["fulfill", "deliver", "领取"],
)
async def fulfil(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    done = await turn.run(FulfilRedemption(args["points_redemption"]))
    names = await _item_names(turn)
    member = (await member_names(turn, [done.member_id]))[done.member_id]
    return turn.say(
        "chat.points.shop_fulfilled",
        id=done.id,
        item=names.get(done.item_key, done.item_key),
        quantity=done.quantity,
        member=member,
    )


@route(
    "restock",
    "补货",
    family="shop",
    params=[arg(ITEM), arg(Integer("points_quantity", minimum=-100_000, maximum=100_000))],
    commands=[RestockItem, ListShopItems],
    permission=Permission.MANAGE_SHOP,
    aliases=["stock", "库存"],
)
async def restock(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    item: ShopItem = args["points_item"]
    done = await turn.run(RestockItem(item.key, int(args["points_quantity"])))
    return turn.say("chat.points.shop_restocked", item=done.name, stock=done.stock)
