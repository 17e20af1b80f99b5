"""Points: balance, history, ranks and leaderboards, honours, and the staff's points tools.

`/points`, `/history`, `/rank`, `/top`, `/honours` for everyone; `/award`,
`/deduct`, `/rules`, `/rule`, `/expire`, `/verify`, `/honour`,
`/revokehonour` and `/report` for staff. The helpers at the top (member
names, plain paging, organization lookup) are shared with `shop`,
`approvals` and `admin`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import attrs

from huarong_core.commands import (
    AwardPoints,
    Board,
    ExpirePoints,
    FindOrganization,
    GetLeaderboard,
    GetMember,
    GetOrganizationReport,
    GetPointsStatement,
    GetRank,
    GrantHonour,
    Honour,
    ListCategories,
    ListHonours,
    ListOrganizations,
    ListPointsRules,
    ListShopItems,
    RevokeHonour,
    SetPointsRuleEnabled,
    VerifyLedger,
)
from huarong_core.conversation.arguments import (
    PAGE_WORD,
    Choice,
    Day,
    FreeText,
    Integer,
    Ref,
    Word,
    Words,
    arg,
    match_one,
    page_arg,
    parse_day,
    parse_id,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import MEMBER
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import (
    Button,
    Message,
    Text,
    button_if_fits,
    button_rows,
)
from huarong_core.domain.ledger import LedgerEntry
from huarong_core.domain.members import Member
from huarong_core.domain.organizations import Organization
from huarong_core.domain.points import Rule
from huarong_core.domain.roles import Permission
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import HuarongError, NotFound

# --- shared helpers -------------------------------------------------------------------


button = button_if_fits


rows = button_rows


def command_button(turn: Turn, name: str, payload: str | None = None) -> Button | None:
    """A button labelled with the command's name in the reader's language."""
    from huarong_core.conversation.routes import find_route

    found = find_route(name)
    label = found.display_name(turn.locale) if found is not None else name
    return button(Text("chat.button.command", {"command": label}), payload or f"/{name}")


def signed(value: int) -> str:
    return f"{value:+d}"


async def member_names(turn: Turn, ids: Iterable[int]) -> dict[int, str]:
    """Display names of members, `#id` for anyone the sender may not look up."""
    names: dict[int, str] = {}
    for member_id in dict.fromkeys(ids):
        if member_id == turn.member.id:
            names[member_id] = turn.member.display_name
            continue
        try:
            names[member_id] = (await turn.run(GetMember(member_id))).member.display_name
        except HuarongError:
            names[member_id] = f"#{member_id}"
    return names


def paged(
    turn: Turn,
    lines: Sequence[Text],
    *,
    page: int,
    has_next: bool,
    more: str = "",
    buttons: Sequence[Sequence[Button]] = (),
) -> Message:
    """A page of a list fetched page by page (no total known): previous/next buttons."""
    shown = list(lines)
    nav: list[Button] = []
    prefix = f"/{turn.command} {more}".rstrip()
    if page > 1 or has_next:
        shown.append(Text("chat.points.page", {"page": page}))
    if page > 1:
        nav.append(Button(Text("chat.button.previous"), f"{prefix} p{page - 1}"))
    if has_next:
        nav.append(Button(Text("chat.button.next"), f"{prefix} p{page + 1}"))
    all_rows = [tuple(row) for row in buttons if row]
    if nav:
        all_rows.append(tuple(nav))
    return Message(
        tuple(shown), tuple(all_rows), replaces_source=turn.incoming.pressed and page > 1
    )


async def find_organization(turn: Turn, word: str) -> Organization:
    """`#3`, a key, the exact name, or the only organization whose name contains `word`."""
    with contextlib.suppress(NotFound):  # not an id or key: try it as a name below
        return await turn.run(FindOrganization(word))
    page = await turn.run(ListOrganizations(query=word, limit=20))
    return match_one("points_org", word, ((o, (o.key or "", o.name)) for o in page.items))


ORGANIZATION = Ref("points_org", "org", find_organization)


# --- the member's own points -----------------------------------------------------------


def _statement_what(
    entry: LedgerEntry, rules: Mapping[str, Rule], items: Mapping[str, Any]
) -> Text:
    if entry.kind == "award":
        rule = rules.get(entry.rule_key or entry.reason)
        name: Any = rule.name if rule is not None else (entry.rule_key or entry.reason)
        if entry.bonus:
            return Text("chat.points.kind_award_bonus", {"rule": name, "bonus": entry.bonus})
        return Text("chat.points.kind_award", {"rule": name})
    if entry.kind in ("redeem", "refund"):
        key = entry.reason.removeprefix("shop:")
        found = items.get(key)
        item_name: Any = found.name if found is not None else key
        key = "chat.points.kind_redeem" if entry.kind == "redeem" else "chat.points.kind_refund"
        return Text(key, {"item": item_name})
    if entry.kind == "manual":
        return Text("chat.points.kind_manual", {"reason": entry.reason})
    if entry.kind == "expire":
        return Text("chat.points.kind_expire")
    return Text("chat.points.kind_other", {"reason": entry.reason})


@route(
    "points",
    "积分",
    family="points",
    commands=[GetPointsStatement, GetRank],
    personal=True,
    aliases=["balance", "余额", "我的积分"],
)
async def points(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    statement = await turn.run(GetPointsStatement(turn.member.id, limit=1))
    season = await turn.run(GetRank(turn.member.id, Board.SEASON))
    lines = [
        Text(
            "chat.points.balance",
            {"name": turn.member.display_name, "balance": statement.balance},
        ),
        Text("chat.points.score", {"score": statement.score}),
    ]
    if season is None:
        lines.append(Text("chat.points.season_none"))
    else:
        lines.append(Text("chat.points.season", {"score": season.score, "rank": season.rank}))
    by_day: dict[date, int] = {}
    for lot in statement.expiring:
        if lot.expires_at is not None:
            day = turn.handle.community.local(lot.expires_at).date()
            by_day[day] = by_day.get(day, 0) + lot.remaining
    for day, amount in sorted(by_day.items())[:3]:
        lines.append(Text("chat.points.expiring", {"points": amount, "date": day}))
    return turn.lines(
        *lines,
        buttons=rows(
            command_button(turn, "history"),
            command_button(turn, "rank"),
            command_button(turn, "shop"),
        ),
    )


@route(
    "history",
    "积分明细",
    family="points",
    params=[page_arg()],
    commands=[GetPointsStatement, ListPointsRules, ListShopItems],
    personal=True,
    aliases=["statement", "明细"],
)
async def history(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    page = int(args["page"])
    wanted = min(page * PAGE_SIZE + 1, 500)
    statement = await turn.run(GetPointsStatement(turn.member.id, limit=wanted))
    entries = statement.entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not entries:
        return turn.say("chat.points.history_empty", balance=statement.balance)
    rules = {r.key: r for r in await turn.run(ListPointsRules())}
    items = {i.key: i for i in await turn.run(ListShopItems(available_only=False))}
    lines = [Text("chat.points.history_title", {"balance": statement.balance})]
    for entry in entries:
        lines.append(
            Text(
                "chat.points.history_line",
                {
                    "when": entry.occurred_at,
                    "delta": signed(entry.delta),
                    "what": _statement_what(entry, rules, items),
                    "balance": entry.balance_after if entry.balance_after is not None else "",
                },
            )
        )
    has_next = len(statement.entries) > page * PAGE_SIZE
    return paged(turn, lines, page=page, has_next=has_next)


# --- ranks and leaderboards -----------------------------------------------------------------

BOARD_WORDS: dict[str, Board] = {
    "all": Board.ALL_TIME,
    "total": Board.ALL_TIME,
    "总榜": Board.ALL_TIME,
    "总": Board.ALL_TIME,
    "全部": Board.ALL_TIME,
    "累计": Board.ALL_TIME,
    "season": Board.SEASON,
    "赛季": Board.SEASON,
    "季度": Board.SEASON,
    "本季": Board.SEASON,
    "org": Board.ORGANIZATION,
    "organization": Board.ORGANIZATION,
    "company": Board.ORGANIZATION,
    "单位": Board.ORGANIZATION,
    "公司": Board.ORGANIZATION,
    "category": Board.CATEGORY,
    "类别": Board.CATEGORY,
}


@attrs.frozen
class BoardChoice:
    board: Board
    key: str | None
    """The organization id or category key given; `None`: the sender's own."""


@attrs.frozen
class BoardArg:
    """`all`, `season`, `org`, `category`, or `org:<organization>` / `category:<key>`."""

    name: str = "points_board"

    async def parse(self, turn: Turn, words: Words) -> BoardChoice | None:
        word = words.peek()
        if word is None:
            raise MissingArgument(argument=self.name)
        if PAGE_WORD.match(word):
            return None  # `/top p2`: the all-time board's second page
        words.take()
        head, _, rest = word.partition(":")
        board = BOARD_WORDS.get(head.casefold())
        if board is None:
            raise BadArgument(argument=self.name, value=word, reason="not_a_choice")
        if not rest or board in (Board.ALL_TIME, Board.SEASON):
            return BoardChoice(board, None)
        if board is Board.ORGANIZATION:
            return BoardChoice(board, str((await find_organization(turn, rest)).id))
        return BoardChoice(board, rest)


def _board_spelling(choice: BoardChoice) -> str:
    """How the board is written in a paging button."""
    word = {
        Board.ALL_TIME: "all",
        Board.SEASON: "season",
        Board.ORGANIZATION: "org",
        Board.CATEGORY: "category",
    }[choice.board]
    if choice.key is None:
        return word
    return f"{word}:#{choice.key}" if choice.board is Board.ORGANIZATION else f"{word}:{choice.key}"


async def _resolve_board(turn: Turn, choice: BoardChoice) -> tuple[str | None, Text] | Message:
    """The board's key and its name for the reader, or a message saying it has none."""
    board = choice.board
    if board is Board.ALL_TIME:
        return None, Text("chat.points.board_all")
    if board is Board.SEASON:
        return None, Text("chat.points.board_season")
    if board is Board.ORGANIZATION:
        if choice.key is None:
            organization = turn.sender.organization
            if organization is None:
                return turn.say("chat.points.no_organization")
            return str(organization.id), Text(
                "chat.points.board_organization", {"organization": organization.name}
            )
        found = await turn.run(FindOrganization(f"#{choice.key}"))
        return choice.key, Text("chat.points.board_organization", {"organization": found.name})
    key = choice.key
    if key is None:
        if not turn.member.categories:
            return turn.say("chat.points.no_category")
        key = sorted(turn.member.categories)[0]
    names = {c.key: c.name for c in await turn.run(ListCategories())}
    return key, Text("chat.points.board_category", {"category": names.get(key, key)})


@route(
    "rank",
    "排名",
    family="points",
    params=[arg(BoardArg(), optional=True)],
    commands=[GetRank, FindOrganization, ListOrganizations, ListCategories],
    personal=True,
    aliases=["我的排名"],
)
async def rank(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: BoardChoice | None = args["points_board"]
    if chosen is not None:
        choices = [chosen]
    else:
        choices = [BoardChoice(Board.ALL_TIME, None), BoardChoice(Board.SEASON, None)]
        if turn.sender.organization is not None:
            choices.append(BoardChoice(Board.ORGANIZATION, None))
        choices.extend(BoardChoice(Board.CATEGORY, c) for c in sorted(turn.member.categories))
    lines: list[Text] = []
    for choice in choices:
        resolved = await _resolve_board(turn, choice)
        if isinstance(resolved, Message):
            return resolved
        key, name = resolved
        found = await turn.run(GetRank(turn.member.id, choice.board, key))
        if found is None:
            lines.append(Text("chat.points.rank_none", {"board": name}))
        else:
            lines.append(
                Text(
                    "chat.points.rank_line",
                    {"board": name, "rank": found.rank, "score": found.score},
                )
            )
    return turn.lines(*lines, buttons=rows(command_button(turn, "top")))


@route(
    "top",
    "排行榜",
    family="points",
    params=[arg(BoardArg(), optional=True), page_arg()],
    commands=[GetLeaderboard, FindOrganization, ListOrganizations, ListCategories],
    aliases=["leaderboard", "榜单"],
)
async def top(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    choice: BoardChoice = args["points_board"] or BoardChoice(Board.ALL_TIME, None)
    page = int(args["page"])
    resolved = await _resolve_board(turn, choice)
    if isinstance(resolved, Message):
        return resolved
    key, name = resolved
    board = await turn.run(
        GetLeaderboard(choice.board, key, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    )
    entries = board.entries[:PAGE_SIZE]
    if not entries:
        return turn.say("chat.points.top_empty", board=name)
    turn.remember("member", [f"#{e.member_id}" for e in entries])
    lines = [Text("chat.points.top_title", {"board": name})]
    for entry in entries:
        key_name = (
            "chat.points.top_line_me"
            if entry.member_id == turn.member.id
            else ("chat.points.top_line")
        )
        lines.append(
            Text(key_name, {"rank": entry.rank, "name": entry.display_name, "score": entry.score})
        )
    return paged(
        turn,
        lines,
        page=page,
        has_next=len(board.entries) > PAGE_SIZE,
        more=_board_spelling(choice),
    )


# --- honours ------------------------------------------------------------------------------


def _honour_line(number: int, honour: Honour) -> Text:
    params: dict[str, Any] = {
        "number": number,
        "title": honour.title,
        "start": honour.starts_on,
        "citation": honour.citation,
    }
    if honour.ends_on is None:
        return Text("chat.points.honour_line_open", params)
    return Text("chat.points.honour_line", {**params, "end": honour.ends_on})


@route(
    "honours",
    "荣誉",
    family="points",
    params=[arg(MEMBER, optional=True)],
    commands=[ListHonours],
    aliases=["honors", "badges", "荣誉榜"],
)
async def honours(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"] or turn.member
    found = await turn.run(ListHonours(member.id, current_only=True))
    return turn.numbered(
        "honour",
        Text("chat.points.honours_title", {"name": member.display_name}),
        list(found),
        _honour_line,
        lambda h: f"#{h.id}",
        empty=Text("chat.points.honours_empty", {"name": member.display_name}),
    )


async def find_honour(turn: Turn, word: str) -> Honour:
    wanted = parse_id("points_honour", word)
    for honour in await turn.run(ListHonours()):
        if honour.id == wanted:
            return honour
    raise NotFound(entity="honour", ref=f"#{wanted}")


HONOUR = Ref("points_honour", "honour", find_honour)


@attrs.frozen
class OptionalDay:
    """A date if the next word is one; otherwise nothing is taken."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> date | None:
        word = words.peek()
        if word is None:
            return None
        try:
            day = parse_day(self.name, word, turn.today)
        except BadArgument:
            return None
        words.take()
        return day


HONOUR_KINDS = {
    "先锋岗": "pioneer_post",
    "先锋示范岗": "pioneer_post",
    "示范岗": "pioneer_post",
    "pioneer": "pioneer_post",
    "志愿之星": "volunteer_star",
}


@route(
    "honour",
    "授予荣誉",
    family="staff",
    params=[
        arg(MEMBER),
        arg(Word("points_honour_kind")),
        arg(Word("title", max_length=100)),
        arg(Day("start")),
        arg(OptionalDay("end"), optional=True),
        arg(FreeText("points_citation", max_length=1000)),
    ],
    commands=[GrantHonour],
    permission=Permission.GRANT_HONOURS,
    aliases=["honor", "grant_honour", "表彰"],
)
async def honour(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/honour alice pioneer_post 先锋示范岗 2026-07-01 2026-12-31 服务群众表现突出`."""
    member: Member = args["member"]
    kind = str(args["points_honour_kind"])
    kind = HONOUR_KINDS.get(kind.casefold(), kind)
    granted = await turn.run(
        GrantHonour(
            member.id,
            kind,
            LocalizedText.plain(args["title"]),
            args["points_citation"],
            args["start"],
            args["end"],
        )
    )
    return turn.say(
        "chat.points.honour_done",
        name=member.display_name,
        title=granted.title,
        id=granted.id,
    )


@route(
    "revokehonour",
    "撤销荣誉",
    family="staff",
    params=[arg(HONOUR)],
    commands=[RevokeHonour, ListHonours],
    permission=Permission.GRANT_HONOURS,
    aliases=["revokehonor", "unhonour"],
)
async def revokehonour(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Honour = args["points_honour"]
    revoked = await turn.run(RevokeHonour(found.id))
    return turn.say("chat.points.honour_revoked", title=revoked.title, id=revoked.id)


# --- awards by staff ----------------------------------------------------------------------


@attrs.frozen
class PointsOrRule:
    """A number of points, or the key of a `manual` rule (whose points apply)."""

    name: str = "points"

    async def parse(self, turn: Turn, words: Words) -> int | str:
        word = words.take()
        if word is None or not word.strip():
            raise MissingArgument(argument=self.name)
        word = word.strip()
        try:
            value = await Integer(self.name, minimum=1).parse(turn, Words([word], word))
        except BadArgument as exc:
            if exc.reason == "not_a_number" and re.match(r"^[a-z][a-z0-9_-]{0,62}\Z", word):
                return word
            raise
        return int(value)


@route(
    "award",
    "加分",
    family="points",
    params=[arg(MEMBER), arg(PointsOrRule()), arg(FreeText("reason", max_length=500))],
    commands=[AwardPoints, GetPointsStatement],
    permission=Permission.MANAGE_POINTS,
    aliases=["give", "奖励积分"],
)
async def award(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/award alice 10 帮忙布置会场`, or with a manual rule's key instead of the points."""
    member: Member = args["member"]
    amount = args["points"]
    if isinstance(amount, str):
        command = AwardPoints(member.id, 0, args["reason"], rule=amount)
    else:
        command = AwardPoints(member.id, amount, args["reason"])
    entry = await turn.run(command)
    return await _awarded(turn, member, entry)


async def _awarded(turn: Turn, member: Member, entry: LedgerEntry) -> Message:
    balance: Any = entry.balance_after
    with contextlib.suppress(HuarongError):
        balance = (await turn.run(GetPointsStatement(member.id, limit=1))).balance
    key = "chat.points.award_done" if entry.delta > 0 else "chat.points.deduct_done"
    return turn.say(
        key,
        name=member.display_name,
        points=abs(entry.delta),
        reason=entry.reason,
        balance=balance if balance is not None else "?",
    )


@route(
    "deduct",
    "扣分",
    family="points",
    params=[
        arg(MEMBER),
        arg(Integer("points", minimum=1)),
        arg(FreeText("reason", max_length=500)),
    ],
    commands=[AwardPoints, GetPointsStatement],
    permission=Permission.MANAGE_POINTS,
    aliases=["penalty", "扣除积分"],
)
async def deduct(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"]
    entry = await turn.run(AwardPoints(member.id, -int(args["points"]), args["reason"]))
    return await _awarded(turn, member, entry)


# --- rules, expiry, the ledger check --------------------------------------------------------


def _rule_amount(rule: Rule) -> Text:
    if rule.per_unit is not None:
        return Text("chat.points.rule_per_unit", {"points": rule.per_unit})
    return Text("chat.points.rule_points", {"points": signed(rule.points)})


def _rule_line(number: int, rule: Rule) -> Text:
    flags: list[Text] = []
    if rule.approval:
        flags.append(Text("chat.points.rule_needs_approval"))
    if not rule.enabled:
        flags.append(Text("chat.points.rule_disabled"))
    params: dict[str, Any] = {
        "number": number,
        "name": rule.name,
        "key": rule.key,
        "trigger": rule.trigger,
        "amount": _rule_amount(rule),
    }
    if not flags:
        return Text("chat.points.rule_line", params)
    return Text("chat.points.rule_line_flags", {**params, "flags": tuple(flags)})


def _rule_button(number: int, rule: Rule) -> Button | None:
    state = "off" if rule.enabled else "on"
    label = "chat.points.button_rule_off" if rule.enabled else "chat.points.button_rule_on"
    return button(Text(label, {"number": number}), f"/rule {rule.key} {state}")


@route(
    "rules",
    "积分规则",
    family="points",
    params=[page_arg()],
    commands=[ListPointsRules],
    permission=Permission.MANAGE_POINTS,
)
async def rules(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListPointsRules())
    return turn.numbered(
        "rule",
        Text("chat.points.rules_title"),
        list(found),
        _rule_line,
        lambda r: r.key,
        page=args["page"],
        item_button=_rule_button,
    )


async def find_rule(turn: Turn, word: str) -> Rule:
    found = await turn.run(ListPointsRules())
    return match_one("points_rule", word, ((r, (r.key, *r.name.as_dict().values())) for r in found))


RULE = Ref("points_rule", "rule", find_rule)
ON_OFF: dict[str, bool] = {
    "on": True,
    "enable": True,
    "yes": True,
    "开": True,
    "开启": True,
    "启用": True,
    "off": False,
    "disable": False,
    "no": False,
    "关": False,
    "关闭": False,
    "停用": False,
}


@route(
    "rule",
    "启停规则",
    family="points",
    params=[arg(RULE), arg(Choice("points_switch", ON_OFF))],
    commands=[SetPointsRuleEnabled, ListPointsRules],
    permission=Permission.MANAGE_POINTS,
)
async def rule(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Rule = args["points_rule"]
    changed = await turn.run(SetPointsRuleEnabled(chosen.key, bool(args["points_switch"])))
    key = "chat.points.rule_enabled" if changed.enabled else "chat.points.rule_disabled_done"
    return turn.say(key, name=changed.name, key=changed.key)


@route(
    "expire",
    "清理过期积分",
    family="points",
    commands=[ExpirePoints],
    permission=Permission.MANAGE_POINTS,
)
async def expire(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    total = await turn.run(ExpirePoints())
    if not total:
        return turn.say("chat.points.expire_none")
    return turn.say("chat.points.expire_done", points=total)


@route(
    "verify",
    "核对账本",
    family="points",
    commands=[VerifyLedger],
    permission=Permission.MANAGE_POINTS,
)
async def verify(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    differences = await turn.run(VerifyLedger())
    if not differences:
        return turn.say("chat.points.verify_ok")
    lines = [Text("chat.points.verify_differences", {"count": len(differences)})]
    for difference in differences[:PAGE_SIZE]:
        lines.append(
            Text(
                "chat.points.verify_line",
                {
                    "member": f"#{difference.member_id}",
                    "what": difference.what,
                    "stored": difference.stored,
                    "computed": difference.computed,
                },
            )
        )
    return turn.lines(*lines)


# --- the organization report -----------------------------------------------------------------

REPORT_TOP = 5


@route(
    "report",
    "单位报告",
    family="staff",
    params=[arg(ORGANIZATION), arg(Day("start")), arg(Day("end"))],
    commands=[GetOrganizationReport, FindOrganization, ListOrganizations],
    permission=Permission.VIEW_REPORTS,
    aliases=["orgreport", "参与报告"],
)
async def report(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    organization: Organization = args["points_org"]
    found = await turn.run(GetOrganizationReport(organization.id, args["start"], args["end"]))
    active = [r for r in found.rows if r.points_earned or r.activities or r.points_spent]
    activities: dict[str, int] = {}
    for row in found.rows:
        for kind, count in row.activities.items():
            activities[kind] = activities.get(kind, 0) + count
    lines = [
        Text(
            "chat.points.report_title",
            {"organization": found.organization, "start": found.starts_on, "end": found.ends_on},
        ),
        Text(
            "chat.points.report_totals",
            {
                "members": len(found.rows),
                "active": len(active),
                "earned": sum(r.points_earned for r in found.rows),
                "spent": sum(r.points_spent for r in found.rows),
            },
        ),
    ]
    for kind, count in sorted(activities.items(), key=lambda item: (-item[1], item[0]))[:5]:
        lines.append(Text("chat.points.report_activity", {"kind": kind, "count": count}))
    ranked = sorted(found.rows, key=lambda r: (-r.points_earned, r.member_id))
    leaders = [r for r in ranked if r.points_earned > 0][:REPORT_TOP]
    if leaders:
        lines.append(Text("chat.points.report_top"))
    for position, row in enumerate(leaders, 1):
        lines.append(
            Text(
                "chat.points.report_line",
                {
                    "number": position,
                    "name": row.display_name,
                    "earned": row.points_earned,
                    "activities": sum(row.activities.values()),
                    "balance": row.balance,
                },
            )
        )
    turn.remember("member", [f"#{r.member_id}" for r in leaders])
    return turn.lines(*lines)


__all__ = [
    "ORGANIZATION",
    "button",
    "command_button",
    "find_organization",
    "member_names",
    "paged",
    "rows",
    "signed",
]
