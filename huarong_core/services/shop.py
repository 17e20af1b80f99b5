"""The points shop: items, redemption, fulfilment at a station, cancellation with refund.

Stock and balance are both taken with conditional updates (`stock >= n`,
`balance >= price`) inside the redemption's unit of work, so neither can
go below zero however many members redeem at once; if either fails, the
whole redemption rolls back.
"""

from __future__ import annotations

import attrs

from huarong_core.commands import (
    CancelRedemption,
    DefineShopItem,
    FulfilRedemption,
    ListRedemptions,
    ListShopItems,
    RedeemItem,
    RestockItem,
)
from huarong_core.config import ShopItemEntry, item_from_entry
from huarong_core.domain.ledger import NewEntry
from huarong_core.domain.points import period_start
from huarong_core.domain.roles import Permission, Scope
from huarong_core.domain.shop import MAX_STOCK, Redemption, RedemptionStatus, ShopItem
from huarong_core.errors import (
    InvalidTransition,
    InvalidValue,
    ItemUnavailable,
    NotFound,
    OutOfStock,
    RedemptionLimitReached,
)
from huarong_core.events import ItemRedeemed, RedemptionChanged
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.points import credit, debit, lock_member
from huarong_core.services.registry import handles

MAX_QUANTITY = 100


async def save_item(
    ctx: Context, entry: ShopItemEntry, source: str, *, keep_stock: bool = False
) -> tuple[ShopItem, bool]:
    """Create or replace an item.

    With `keep_stock` (the community file) the file's stock is the opening
    stock only: an existing item keeps the stock that redemptions left.
    """
    item = item_from_entry(entry)
    current = await ctx.repos.shop.item(item.key)
    if current is not None and keep_stock:
        item = attrs.evolve(item, stock=current.stock)
    if current == item:
        return item, False
    await ctx.repos.shop.save_item(item, source, ctx.now)
    await ctx.audit(
        "shop.item.save",
        f"item:{item.key}",
        created=current is None,
        price=item.price,
        stock=item.stock,
    )
    return item, True


def _station_scope(item_station: str | None) -> Scope | None:
    return None if item_station is None else Scope.station(item_station)


async def _item(ctx: Context, key: str) -> ShopItem:
    item = await ctx.repos.shop.item(key)
    if item is None:
        raise NotFound(entity="shop_item", ref=key)
    return item


async def _redemption(ctx: Context, redemption_id: int) -> Redemption:
    found = await ctx.repos.shop.redemption(redemption_id)
    if found is None:
        raise NotFound(entity="redemption", ref=f"#{redemption_id}")
    return found


@handles(DefineShopItem)
async def define_item(ctx: Context, cmd: DefineShopItem) -> ShopItem:
    ctx.require(Permission.MANAGE_SHOP, _station_scope(cmd.definition.station))
    item, _ = await save_item(ctx, cmd.definition, "admin")
    return item


@handles(RestockItem)
async def restock(ctx: Context, cmd: RestockItem) -> ShopItem:
    item = await _item(ctx, cmd.item_key)
    ctx.require(Permission.MANAGE_SHOP, _station_scope(item.station))
    if cmd.quantity == 0:
        raise InvalidValue(field="quantity", value="0", reason="zero_points")
    if abs(cmd.quantity) > MAX_STOCK:
        raise InvalidValue(field="quantity", value=str(cmd.quantity), reason="out_of_range")
    stock = await ctx.repos.shop.adjust_stock(item.key, cmd.quantity)
    if stock is None:
        raise OutOfStock(item=item.key, wanted=-cmd.quantity, stock=item.stock)
    if stock > MAX_STOCK:  # the unit rolls back with the refusal
        raise InvalidValue(field="quantity", value=str(cmd.quantity), reason="out_of_range")
    await ctx.audit("shop.restock", f"item:{item.key}", quantity=cmd.quantity, stock=stock)
    return attrs.evolve(item, stock=stock)


@handles(ListShopItems)
async def list_items(ctx: Context, cmd: ListShopItems) -> tuple[ShopItem, ...]:
    items = await ctx.repos.shop.items()
    if cmd.available_only:
        items = [i for i in items if i.available_at(ctx.now)]
    return tuple(items)


@handles(RedeemItem)
async def redeem(ctx: Context, cmd: RedeemItem) -> Redemption:
    member_id = ctx.target_member(cmd.member_id)
    item = await _item(ctx, cmd.item_key)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_SHOP, _station_scope(item.station))
    if not 1 <= cmd.quantity <= MAX_QUANTITY:
        raise InvalidValue(field="quantity", value=str(cmd.quantity), reason="bad_quantity")
    member = await get_member(ctx, member_id)
    if not member.is_active or not item.available_at(ctx.now):
        raise ItemUnavailable(item=item.key)
    await lock_member(ctx, member_id)
    shop = ctx.repos.shop
    if item.limit_count is not None and item.limit_period is not None:
        start = period_start(ctx.now, ctx.community.tz, item.limit_period)
        already = await shop.redeemed_since(member_id, item.key, start)
        if already + cmd.quantity > item.limit_count:
            raise RedemptionLimitReached(
                item=item.key, limit=item.limit_count, period=item.limit_period.value
            )
    if not await shop.take_stock(item.key, cmd.quantity):
        current = await _item(ctx, item.key)
        raise OutOfStock(item=item.key, wanted=cmd.quantity, stock=current.stock)
    price = item.price * cmd.quantity
    redemption = await shop.add_redemption(member_id, item.key, cmd.quantity, price, ctx.now)
    if price:
        _, taken = await debit(
            ctx,
            NewEntry(
                member_id=member_id,
                delta=-price,
                kind="redeem",
                reason=f"shop:{item.key}",
                occurred_at=ctx.now,
                actor_label=ctx.actor.label,
                actor_member_id=ctx.actor.member_id,
                source_id=f"redemption:{redemption.id}",
            ),
        )
        if taken:
            await shop.set_lots(redemption.id, taken)
    ctx.record(ItemRedeemed(member_id, item.key, cmd.quantity, redemption.id))
    return redemption


@handles(FulfilRedemption)
async def fulfil(ctx: Context, cmd: FulfilRedemption) -> Redemption:
    current = await _redemption(ctx, cmd.redemption_id)
    item = await _item(ctx, current.item_key)
    ctx.require(Permission.MANAGE_SHOP, _station_scope(item.station))
    done = await ctx.repos.shop.decide(
        cmd.redemption_id, RedemptionStatus.FULFILLED, ctx.actor.label, "", ctx.now
    )
    if done is None:
        raise InvalidTransition(
            entity="redemption",
            ref=f"#{current.id}",
            state=current.status.value,
            wanted=RedemptionStatus.FULFILLED.value,
        )
    await ctx.audit("shop.fulfil", f"redemption:{done.id}", member=done.member_id)
    ctx.record(RedemptionChanged(done.member_id, done.id, done.status.value))
    return done


@handles(CancelRedemption)
async def cancel(ctx: Context, cmd: CancelRedemption) -> Redemption:
    """A member cancels their own reservation, staff any; points and stock come back."""
    current = await _redemption(ctx, cmd.redemption_id)
    item = await _item(ctx, current.item_key)
    if ctx.actor.member_id != current.member_id:
        ctx.require(Permission.MANAGE_SHOP, _station_scope(item.station))
    await lock_member(ctx, current.member_id)
    done = await ctx.repos.shop.decide(
        cmd.redemption_id, RedemptionStatus.CANCELLED, ctx.actor.label, cmd.reason, ctx.now
    )
    if done is None:
        raise InvalidTransition(
            entity="redemption",
            ref=f"#{current.id}",
            state=current.status.value,
            wanted=RedemptionStatus.CANCELLED.value,
        )
    await ctx.repos.shop.return_stock(done.item_key, done.quantity)
    if done.points:
        # The points return to the lots they came from, with their own expiry dates.
        await ctx.repos.points.return_to_lots(await ctx.repos.shop.lots_of(done.id))
        await credit(
            ctx,
            NewEntry(
                member_id=done.member_id,
                delta=done.points,
                kind="refund",
                reason=f"shop:{done.item_key}",
                occurred_at=ctx.now,
                actor_label=ctx.actor.label,
                actor_member_id=ctx.actor.member_id,
                source_id=f"redemption:{done.id}:refund",
            ),
        )
    await ctx.audit("shop.cancel", f"redemption:{done.id}", reason=cmd.reason)
    ctx.record(RedemptionChanged(done.member_id, done.id, done.status.value))
    return done


@handles(ListRedemptions)
async def list_redemptions(ctx: Context, cmd: ListRedemptions) -> tuple[Redemption, ...]:
    if cmd.member_id is None or cmd.member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.MANAGE_SHOP)
    return tuple(await ctx.repos.shop.redemptions(cmd.status, cmd.member_id, cmd.limit))
