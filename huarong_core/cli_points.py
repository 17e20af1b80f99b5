"""`huarong points ...` and `huarong shop ...`: the points economy from a terminal.

Reports come out as CSV (for the companies' spreadsheets; written with a
BOM to a file so Excel reads the Chinese correctly) or JSON (for scripts).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.cli_output import table
from huarong_core.commands import (
    AwardPoints,
    Board,
    ExpirePoints,
    FindMember,
    FindOrganization,
    GetLeaderboard,
    GetOrganizationReport,
    GetPointsStatement,
    ListRedemptions,
    ListShopItems,
    RestockItem,
    VerifyLedger,
)
from huarong_core.domain.audit import Actor
from huarong_core.domain.shop import RedemptionStatus
from huarong_core.errors import InvalidValue
from huarong_core.exports import (
    Table,
    leaderboard_table,
    organization_report_table,
    statement_table,
    to_csv,
)
from huarong_core.serialization import converter


class _Out(Protocol):
    """The slice of the CLI's `Output` these commands use."""

    locale: str
    json: bool

    def t(self, key: str, **params: Any) -> str: ...
    def say(self, text: str) -> None: ...
    def data(self, value: Any) -> None: ...


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


async def _member_id(handle: CommunityHandle, actor: Actor, ref: str) -> int:
    return (await handle.execute(FindMember(ref), actor=actor)).member.id


async def _organization_id(handle: CommunityHandle, actor: Actor, ref: str) -> int:
    return (await handle.execute(FindOrganization(ref), actor=actor)).id


def _write_csv(rows: Table, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(to_csv(rows, bom=False))
    else:
        output.write_text(to_csv(rows, bom=False), encoding="utf-8-sig")


async def verify(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    differences = await handle.execute(VerifyLedger(), actor=actor)
    if out.json:
        out.data({"clean": not differences, "differences": converter.unstructure(differences)})
    elif not differences:
        out.say(out.t("cli.points.verify_clean"))
    else:
        out.say(out.t("cli.points.verify_dirty", count=len(differences)))
        out.say(
            table(
                [
                    out.t("cli.col.member"),
                    out.t("cli.col.what"),
                    out.t("cli.col.stored"),
                    out.t("cli.col.computed"),
                ],
                [[f"#{d.member_id}", d.what, str(d.stored), str(d.computed)] for d in differences],
            )
        )
    return 1 if differences else 0


async def expire(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    expired = await handle.execute(ExpirePoints(), actor=actor)
    if out.json:
        out.data({"expired": expired})
    else:
        out.say(out.t("cli.points.expired", points=expired))
    return 0


async def award(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member_id = await _member_id(handle, actor, args.member)
    entry = await handle.execute(
        AwardPoints(member_id, args.points, args.reason, rule=args.rule), actor=actor
    )
    if out.json:
        out.data(converter.unstructure(entry))
    else:
        out.say(out.t("cli.points.awarded", member=member_id, points=entry.delta, entry=entry.id))
    return 0


async def statement(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member_id = await _member_id(handle, actor, args.member)
    found = await handle.execute(GetPointsStatement(member_id, limit=args.limit), actor=actor)
    if args.format == "json" or out.json:
        out.data(converter.unstructure(found))
        return 0
    tz = handle.community.tz
    lines = statement_table(found, tz)
    if args.format == "csv":
        _write_csv(lines, args.output)
        return 0
    out.say(out.t("cli.points.balance", member=member_id, balance=found.balance, score=found.score))
    out.say(table([out.t(f"cli.col.{h}") for h in lines.header], lines.text_rows()))
    for lot in found.expiring:
        when = lot.expires_at.astimezone(tz).strftime("%Y-%m-%d") if lot.expires_at else "-"
        out.say(out.t("cli.points.expiring", points=lot.remaining, date=when))
    return 0


async def leaderboard(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    key = args.key
    if args.board == Board.ORGANIZATION.value and key is not None:
        key = str(await _organization_id(handle, actor, key))
    board = await handle.execute(
        GetLeaderboard(Board(args.board), key, offset=args.offset, limit=args.limit), actor=actor
    )
    if out.json:
        out.data(converter.unstructure(board))
        return 0
    columns = ["rank", "id", "name", "score"]
    out.say(table([out.t(f"cli.col.{c}") for c in columns], leaderboard_table(board).text_rows()))
    return 0


async def report(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    if args.ends_on < args.starts_on:
        raise InvalidValue(field="ends_on", value=args.ends_on.isoformat(), reason="bad_window")
    organization_id = await _organization_id(handle, actor, args.organization)
    found = await handle.execute(
        GetOrganizationReport(organization_id, args.starts_on, args.ends_on), actor=actor
    )
    if args.format == "json":
        text = converter.unstructure(found)
        if args.output is None:
            out.data(text)
        else:
            import json

            args.output.write_text(json.dumps(text, ensure_ascii=False, indent=2), encoding="utf-8")
        return 0
    _write_csv(organization_report_table(found), args.output)
    return 0


async def shop_list(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    items = await handle.execute(ListShopItems(available_only=not args.all), actor=actor)
    if out.json:
        out.data(converter.unstructure(items))
        return 0
    out.say(
        table(
            [
                out.t("cli.col.key"),
                out.t("cli.col.name"),
                out.t("cli.col.price"),
                out.t("cli.col.stock"),
                out.t("cli.col.station"),
            ],
            [
                [i.key, i.name.get(out.locale), str(i.price), str(i.stock), i.station or ""]
                for i in items
            ],
        )
    )
    return 0


async def shop_redemptions(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    status = None if args.status is None else RedemptionStatus(args.status)
    found = await handle.execute(ListRedemptions(status=status, limit=args.limit), actor=actor)
    if out.json:
        out.data(converter.unstructure(found))
        return 0
    tz = handle.community.tz
    out.say(
        table(
            [
                out.t("cli.col.id"),
                out.t("cli.col.member"),
                out.t("cli.col.key"),
                out.t("cli.col.quantity"),
                out.t("cli.col.points"),
                out.t("cli.col.status"),
                out.t("cli.col.time"),
            ],
            [
                [
                    str(r.id),
                    f"#{r.member_id}",
                    r.item_key,
                    str(r.quantity),
                    str(r.points),
                    out.t(f"state.{r.status.value}"),
                    r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                ]
                for r in found
            ],
        )
    )
    return 0


async def shop_restock(
    huarong: Huarong,
    handle: CommunityHandle,
    actor: Actor,
    args: argparse.Namespace,
    out: _Out,
) -> int:
    item = await handle.execute(RestockItem(args.item, args.quantity), actor=actor)
    if out.json:
        out.data(converter.unstructure(item))
    else:
        out.say(out.t("cli.shop.restocked", item=item.key, stock=item.stock))
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    points = sub.add_parser("points", help="the points economy")
    psub = points.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = psub.add_parser(
        "verify",
        parents=[common],
        help="recompute balances from the ledger; exit 1 on any difference",
    )
    p.set_defaults(points_handler=verify)
    p = psub.add_parser("expire", parents=[common], help="expire points whose time has come")
    p.set_defaults(points_handler=expire)
    p = psub.add_parser("award", parents=[common], help="award (or, negative, deduct) points")
    p.add_argument("member", help="member id or key")
    p.add_argument("points", type=int)
    p.add_argument("--reason", required=True, help="why (mandatory, kept in the ledger)")
    p.add_argument("--rule", help="a manual rule to follow (its points, caps and cooldown)")
    p.set_defaults(points_handler=award)
    p = psub.add_parser("statement", parents=[common], help="a member's points history")
    p.add_argument("member", help="member id or key")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["text", "csv", "json"], default="text")
    p.add_argument("--output", type=Path, help="write CSV to this file (with a BOM for Excel)")
    p.set_defaults(points_handler=statement)
    p = psub.add_parser("leaderboard", parents=[common], help="ranks by points earned")
    p.add_argument("--board", choices=[b.value for b in Board], default=Board.ALL_TIME.value)
    p.add_argument("--key", help="season (2026-Q3), organization id/key/name, or category key")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(points_handler=leaderboard)
    report_parser = psub.add_parser("report", help="reports for staff appraisal")
    rsub = report_parser.add_subparsers(dest="report", required=True, metavar="REPORT")
    p = rsub.add_parser(
        "organization", parents=[common], help="each person's participation and points in a period"
    )
    p.add_argument("organization", help="organization id, key or name")
    p.add_argument("--from", dest="starts_on", type=_date, required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="ends_on", type=_date, required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", type=Path, help="write to this file (CSV with a BOM for Excel)")
    p.set_defaults(points_handler=report)

    shop = sub.add_parser("shop", help="the points shop")
    ssub = shop.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = ssub.add_parser("list", parents=[common], help="items")
    p.add_argument("--all", action="store_true", help="include unavailable items")
    p.set_defaults(points_handler=shop_list)
    p = ssub.add_parser("redemptions", parents=[common], help="redemptions, newest first")
    p.add_argument("--status", choices=[s.value for s in RedemptionStatus])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(points_handler=shop_redemptions)
    p = ssub.add_parser("restock", parents=[common], help="add stock (negative removes)")
    p.add_argument("item", help="item key")
    p.add_argument("quantity", type=int)
    p.set_defaults(points_handler=shop_restock)
