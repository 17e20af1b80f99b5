"""Portal pages: my points (the statement with its running balance, what expires soon)
and the leaderboards with my own place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import web

from huarong_core.commands import (
    Board,
    GetLeaderboard,
    GetMember,
    GetOrganization,
    GetPointsStatement,
    GetRank,
    ListCategories,
    ListPointsRules,
    ListShopItems,
)
from huarong_core.domain.ledger import LedgerEntry
from huarong_core.domain.text import LocalizedText
from huarong_core.i18n import translate
from huarong_web.portal.gatherings import member_of, say
from huarong_web.portal.pages import PortalRoute, ascii_int, page_locale, render, run

__all__ = ["ROUTES"]

PAGE = 25
"""Statement lines per page."""
BOARD_PAGE = 20


@attrs.frozen
class Line:
    """One statement line as the reader sees it."""

    entry: LedgerEntry
    what: str


def describe(
    entry: LedgerEntry,
    rules: Mapping[str, LocalizedText],
    items: Mapping[str, LocalizedText],
    locale: str,
) -> str:
    """Why the points came or went: the rule's name, the shop item, the staff's reason."""
    if entry.kind == "award":
        key = entry.rule_key or entry.reason
        rule = rules[key].get(locale) if key in rules else key
        if entry.bonus:
            return translate("portal.points.kind.award_bonus", locale, rule=rule, bonus=entry.bonus)
        return translate("portal.points.kind.award", locale, rule=rule)
    if entry.kind in ("redeem", "refund"):
        key = entry.reason.removeprefix("shop:")
        item = items[key].get(locale) if key in items else key
        return translate(f"portal.points.kind.{entry.kind}", locale, item=item)
    if entry.kind == "manual":
        return translate("portal.points.kind.manual", locale, reason=entry.reason)
    if entry.kind == "expire":
        return translate("portal.points.kind.expire", locale)
    return translate("portal.points.kind.other", locale, reason=entry.reason)


def _number(value: str | None) -> int | None:
    return ascii_int(value, 18)


async def statement(request: web.Request) -> web.StreamResponse:
    """Newest first, each line with the balance after it; `?before=<line id>` pages on."""
    member_id = member_of(request)
    before = _number(request.query.get("before"))
    found = await run(request, GetPointsStatement(member_id, before_id=before, limit=PAGE))
    rules = {rule.key: rule.name for rule in await run(request, ListPointsRules())}
    items = {item.key: item.name for item in await run(request, ListShopItems(False))}
    locale = page_locale(request)
    lines = [Line(entry, describe(entry, rules, items, locale)) for entry in found.entries]
    return await render(
        request,
        "points/statement.html",
        section="points",
        title=say(request, "portal.points.title"),
        statement=found,
        lines=lines,
        paged=before is not None,
        older=found.entries[-1].id if len(found.entries) == PAGE else None,
    )


BOARDS: tuple[str, ...] = tuple(board.value for board in Board)


async def leaderboard(request: web.Request) -> web.StreamResponse:
    """`?board=all|season|organization|category` (my organization's, my category's);
    `?offset=` pages on. My own place is shown whether or not it is on the page."""
    member_id = member_of(request)
    wanted = request.query.get("board", Board.ALL_TIME.value)
    board = Board(wanted) if wanted in BOARDS else Board.ALL_TIME
    offset = _number(request.query.get("offset")) or 0
    member = (await run(request, GetMember(member_id))).member
    key: str | None = None
    label: Any = ""
    missing = False
    if board is Board.ORGANIZATION:
        if member.organization_id is None:
            missing = True
        else:
            key = str(member.organization_id)
            label = (await run(request, GetOrganization(member.organization_id))).name
    elif board is Board.CATEGORY:
        if not member.categories:
            missing = True
        else:
            key = sorted(member.categories)[0]
            named = {c.key: c.name for c in await run(request, ListCategories())}
            label = named[key].get(page_locale(request)) if key in named else key
    standings = None
    mine = None
    if not missing:
        standings = await run(request, GetLeaderboard(board, key, offset=offset, limit=BOARD_PAGE))
        mine = await run(request, GetRank(member_id, board, key))
    return await render(
        request,
        "points/leaderboard.html",
        section="points",
        title=say(request, "portal.leaderboard.title"),
        boards=BOARDS,
        board=board.value,
        label=label,
        missing=missing,
        standings=standings,
        mine=mine,
        me=member_id,
        offset=offset,
        earlier=max(0, offset - BOARD_PAGE) if offset else None,
        later=offset + BOARD_PAGE
        if standings is not None and len(standings.entries) == BOARD_PAGE
        else None,
    )


ROUTES = (
    PortalRoute("GET", "/points", statement, "portal.points"),
    PortalRoute("GET", "/points/leaderboard", leaderboard, "portal.leaderboard"),
)
