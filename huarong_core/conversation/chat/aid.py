"""Aid cases (帮扶): confidential records of help, for the staff each case names.

/aid, /openaid, /aidnote, /aidstatus, /aidstaff. Every route is personal:
asked in a group, the answer goes to the sender's private chat, and no
reply repeats a case's content where others could read it. The core
decides who sees a case (only the staff named on it); a refusal says
nothing of whether the case exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from huarong_core.commands import (
    AddAidAction,
    AidCaseDetails,
    AidCategory,
    AidStatus,
    ChangeAidStatus,
    FindMember,
    GetAidCase,
    GetMember,
    ListAidCases,
    ListMembers,
    NameAidStaff,
    OpenAidCase,
    UnnameAidStaff,
)
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Ref,
    Words,
    arg,
    page_arg,
    parse_id,
)
from huarong_core.conversation.chat.stations import (
    LIST_LIMIT,
    Names,
    button,
    button_rows,
    joined,
)
from huarong_core.conversation.errors import MissingArgument
from huarong_core.conversation.refs import MEMBER
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Message, Text
from huarong_core.domain.aid import AidCase, AidStaff
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission


async def find_case(turn: Turn, word: str) -> int:
    return parse_id("stations_aid_case", word)


CASE = Ref("stations_aid_case", "aid_case", find_case)

CATEGORIES: dict[str, AidCategory] = {
    "illness": AidCategory.ILLNESS,
    "疾病": AidCategory.ILLNESS,
    "患病": AidCategory.ILLNESS,
    "生病": AidCategory.ILLNESS,
    "hardship": AidCategory.HARDSHIP,
    "困难": AidCategory.HARDSHIP,
    "生活困难": AidCategory.HARDSHIP,
    "family": AidCategory.FAMILY,
    "家庭": AidCategory.FAMILY,
    "work": AidCategory.WORK,
    "工作": AidCategory.WORK,
    "就业": AidCategory.WORK,
    "other": AidCategory.OTHER,
    "其他": AidCategory.OTHER,
}

STATUSES: dict[str, AidStatus] = {
    "open": AidStatus.OPEN,
    "reopen": AidStatus.OPEN,
    "待处理": AidStatus.OPEN,
    "重新打开": AidStatus.OPEN,
    "in_progress": AidStatus.IN_PROGRESS,
    "progress": AidStatus.IN_PROGRESS,
    "start": AidStatus.IN_PROGRESS,
    "帮扶中": AidStatus.IN_PROGRESS,
    "跟进中": AidStatus.IN_PROGRESS,
    "closed": AidStatus.CLOSED,
    "close": AidStatus.CLOSED,
    "结案": AidStatus.CLOSED,
    "已结案": AidStatus.CLOSED,
    "关闭": AidStatus.CLOSED,
}

OPERATIONS: dict[str, bool] = {
    "add": True,
    "+": True,
    "添加": True,
    "增加": True,
    "加": True,
    "remove": False,
    "-": False,
    "移除": False,
    "删除": False,
    "去掉": False,
}


def category_text(category: AidCategory) -> Text:
    return Text(f"chat.stations.aid_category.{category.value}")


def status_text(status: AidStatus) -> Text:
    return Text(f"chat.stations.aid_status.{status.value}")


async def _staff_names(names: Names, staff: tuple[AidStaff, ...]) -> Text | str:
    shown = [Text("chat.stations.plain", {"text": await names.get(s.member_id)}) for s in staff]
    return Text("chat.stations.nobody") if not shown else joined("chat.stations.join_list", shown)


def _case_button(number: int, case: AidCase) -> Button | None:
    return button(Text("chat.stations.number_button", {"number": number}), f"/aid {case.id}")


async def _show_case(turn: Turn, details: AidCaseDetails) -> Message:
    case = details.case
    names = Names(turn)
    lines = [
        Text(
            "chat.stations.aid_title",
            {
                "id": case.id,
                "member": await names.get(case.member_id),
                "category": category_text(case.category),
                "status": status_text(case.status),
            },
        ),
        Text("chat.stations.aid_opened", {"at": case.opened_at}),
        Text("chat.stations.aid_need", {"text": case.description}),
        Text("chat.stations.aid_staff", {"names": await _staff_names(names, details.staff)}),
    ]
    if details.actions:
        lines.append(Text("chat.stations.aid_actions", {"count": len(details.actions)}))
        for action in details.actions:
            lines.append(
                Text(
                    "chat.stations.aid_action",
                    {
                        "number": action.number,
                        "on": action.taken_on,
                        "by": await names.get(action.by_member),
                        "text": action.text,
                    },
                )
            )
    else:
        lines.append(Text("chat.stations.aid_no_actions"))
    return Message(tuple(lines), private=True)


@route(
    "aid",
    "帮扶",
    family="staff",
    params=[arg(CASE, optional=True), page_arg()],
    commands=[ListAidCases, GetAidCase, GetMember],
    permission=Permission.OPEN_AID_CASES,
    personal=True,
    aliases=["帮扶档案"],
)
async def aid(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The cases the sender is named on, or one of them in full."""
    case_id: int | None = args["stations_aid_case"]
    if case_id is not None:
        return await _show_case(turn, await turn.run(GetAidCase(case_id)))
    page = await turn.run(ListAidCases(limit=LIST_LIMIT))
    names = Names(turn)
    members = {c.id: await names.get(c.member_id) for c in page.items}

    def line(number: int, case: AidCase) -> Text:
        return Text(
            "chat.stations.aid_line",
            {
                "number": number,
                "id": case.id,
                "member": members[case.id],
                "category": category_text(case.category),
                "status": status_text(case.status),
                "updated": case.updated_at,
            },
        )

    message = turn.numbered(
        "aid_case",
        Text("chat.stations.aid_list_title", {"count": page.total}),
        page.items,
        line,
        lambda c: f"#{c.id}",
        page=args["page"],
        empty=Text("chat.stations.aid_list_empty"),
        item_button=_case_button,
    )
    return message.to_private()


@route(
    "openaid",
    "帮扶立案",
    family="staff",
    params=[
        arg(MEMBER),
        arg(Choice("stations_aid_category", CATEGORIES)),
        arg(FreeText("stations_aid_need", max_length=4000)),
    ],
    commands=[OpenAidCase, FindMember, ListMembers],
    permission=Permission.OPEN_AID_CASES,
    personal=True,
)
async def openaid(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member = args["member"]
    details = await turn.run(
        OpenAidCase(member.id, args["stations_aid_category"], args["stations_aid_need"])
    )
    return Message(
        (
            Text(
                "chat.stations.aid_opened_done",
                {
                    "id": details.case.id,
                    "member": member.display_name,
                    "category": category_text(details.case.category),
                },
            ),
        ),
        button_rows(button(Text("chat.stations.button_aid_case"), f"/aid {details.case.id}")),
        private=True,
    )


@route(
    "aidnote",
    "帮扶记录",
    family="staff",
    params=[arg(CASE), arg(FreeText("text", max_length=4000))],
    commands=[AddAidAction],
    permission=Permission.OPEN_AID_CASES,
    personal=True,
)
async def aidnote(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    action = await turn.run(AddAidAction(args["stations_aid_case"], args["text"]))
    return Message(
        (
            Text(
                "chat.stations.aid_action_done",
                {"id": action.case_id, "number": action.number, "on": action.taken_on},
            ),
        ),
        private=True,
    )


@route(
    "aidstatus",
    "帮扶状态",
    family="staff",
    params=[arg(CASE), arg(Choice("stations_aid_status", STATUSES))],
    commands=[ChangeAidStatus],
    permission=Permission.OPEN_AID_CASES,
    personal=True,
)
async def aidstatus(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    case = await turn.run(ChangeAidStatus(args["stations_aid_case"], args["stations_aid_status"]))
    return Message(
        (
            Text(
                "chat.stations.aid_status_done", {"id": case.id, "status": status_text(case.status)}
            ),
        ),
        private=True,
    )


@attrs.frozen
class Operation:
    """`add`/`添加` or `remove`/`移除`, which then needs a member."""

    name: str = "stations_aid_op"

    async def parse(self, turn: Turn, words: Words) -> bool:
        found = await Choice(self.name, OPERATIONS).parse(turn, words)
        if words.done:
            raise MissingArgument(argument="member")
        return found


@route(
    "aidstaff",
    "帮扶人员",
    family="staff",
    params=[arg(CASE), arg(Operation(), optional=True), arg(MEMBER, optional=True)],
    commands=[NameAidStaff, UnnameAidStaff, GetAidCase, GetMember, FindMember, ListMembers],
    permission=Permission.OPEN_AID_CASES,
    personal=True,
)
async def aidstaff(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Name or unname a staff member on a case; without them, who is named."""
    case_id: int = args["stations_aid_case"]
    adding: bool | None = args["stations_aid_op"]
    member: Member | None = args["member"]
    names = Names(turn)
    if adding is None or member is None:
        details = await turn.run(GetAidCase(case_id))
        staff = details.staff
        key = "chat.stations.aid_staff_list"
    elif adding:
        staff = await turn.run(NameAidStaff(case_id, member.id))
        key = "chat.stations.aid_staff_added"
    else:
        staff = await turn.run(UnnameAidStaff(case_id, member.id))
        key = "chat.stations.aid_staff_removed"
    return Message(
        (
            Text(
                key,
                {
                    "id": case_id,
                    "name": "" if member is None else member.display_name,
                    "names": await _staff_names(names, staff),
                },
            ),
        ),
        private=True,
    )
