"""Members, organizations, roles and the audit log, for the people who run the community.

/member alice                 a member's profile
/find 张                      members whose name contains 张
/register 张三                a new member
/editmember alice org acme    name | org | categories | lang, then the new value
/suspend alice 离职           /reactivate alice
/orgs 保险                    /org acme     /neworg 某某公司
/editorg acme floor 12        name | floor | industry | branch, then the new value
/grant alice club_leader club:tea        /revoke alice club_leader club:tea
/roles [member]               /audit [action]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from huarong_core.commands import (
    FindMember,
    FindOrganization,
    GetMember,
    GetOrganization,
    GetPointsStatement,
    GrantRole,
    ListAuditEntries,
    ListMembers,
    ListOrganizations,
    ListRoleGrants,
    RegisterMember,
    RegisterOrganization,
    RevokeRole,
    SetMemberStatus,
    UpdateMember,
    UpdateOrganization,
)
from huarong_core.conversation.arguments import (
    Choice,
    FreeText,
    Word,
    arg,
    page_arg,
)
from huarong_core.conversation.chat.core import LANGUAGES
from huarong_core.conversation.chat.points import (
    ORGANIZATION,
    button,
    find_organization,
    member_names,
    paged,
    rows,
)
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.refs import MEMBER, member_ref
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.members import Member, MemberStatus
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Permission, Role, RoleGrant, Scope
from huarong_core.errors import PermissionDenied

LISTED = 200
FIELD_NAMES = {
    "name": "chat.points.admin_field_name",
    "org": "chat.points.admin_field_org",
    "categories": "chat.points.admin_field_categories",
    "lang": "chat.points.admin_field_lang",
    "floor": "chat.points.admin_field_floor",
    "industry": "chat.points.admin_field_industry",
    "branch": "chat.points.admin_field_branch",
}

# --- members ----------------------------------------------------------------------------


def _member_line(number: int, member: Member) -> Text:
    key = "chat.points.admin_member_line"
    if not member.is_active:
        key = "chat.points.admin_member_line_inactive"
    return Text(
        key,
        {
            "number": number,
            "name": member.display_name,
            "id": member.id,
            "key": member.key or "—",
            "status": Text(f"status.{member.status.value}"),
        },
    )


@route(
    "member",
    "查看会员",
    family="admin",
    params=[arg(MEMBER)],
    commands=[GetMember, FindMember, ListMembers, GetPointsStatement],
    permission=Permission.VIEW_MEMBERS,
    aliases=["whois", "会员"],
)
async def member(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member = args["member"]
    profile = await turn.run(GetMember(found.id))
    person = profile.member
    lines = [
        Text(
            "chat.points.admin_member_title",
            {"name": person.display_name, "id": person.id, "key": person.key or "—"},
        ),
        Text("chat.points.admin_member_status", {"status": Text(f"status.{person.status.value}")}),
    ]
    if profile.organization is not None:
        lines.append(Text("chat.me.organization", {"organization": profile.organization.name}))
    if person.categories:
        lines.append(
            Text(
                "chat.points.admin_member_categories",
                {"categories": ", ".join(sorted(person.categories))},
            )
        )
    if person.locale:
        lines.append(
            Text("chat.me.language", {"language": Text(f"chat.language.{person.locale.lower()}")})
        )
    for grant in profile.grants:
        lines.append(
            Text("chat.me.role", {"role": Text(f"role.{grant.role.value}"), "scope": grant.scope})
        )
    for identity in profile.identities:
        lines.append(
            Text(
                "chat.me.identity",
                {"platform": identity.ref.platform, "account": identity.ref.external_id},
            )
        )
    for honour in profile.honours:
        lines.append(Text("chat.me.honour", {"title": honour.title}))
    try:
        statement = await turn.run(GetPointsStatement(person.id, limit=1))
    except PermissionDenied:
        statement = None  # a viewer without points rights sees the profile without a balance
    if statement is not None:
        lines.append(
            Text(
                "chat.points.admin_member_points",
                {"balance": statement.balance, "score": statement.score},
            )
        )
    ref = member_ref(person)
    status_button = (
        button(Text("chat.points.admin_button_suspend"), f"/suspend {ref}")
        if person.is_active
        else button(Text("chat.points.admin_button_reactivate"), f"/reactivate {ref}")
    )
    turn.remember("member", [ref])
    return turn.lines(
        *lines,
        buttons=rows(
            status_button, button(Text("chat.points.admin_button_roles"), f"/roles {ref}")
        ),
    )


@route(
    "find",
    "查找会员",
    family="admin",
    params=[arg(Word("text", max_length=100), optional=True), page_arg()],
    commands=[ListMembers],
    permission=Permission.VIEW_MEMBERS,
    aliases=["members", "search_member", "找人"],
)
async def find(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    text = args["text"]
    if not text:
        raise MissingArgument(argument="text")
    page = await turn.run(ListMembers(query=text, limit=LISTED))

    def show(number: int, found: Member) -> Button | None:
        return button(
            Text("chat.points.admin_button_show", {"number": number}), f"/member #{found.id}"
        )

    return turn.numbered(
        "member",
        Text("chat.points.admin_find_title", {"text": text, "count": page.total}),
        list(page.items),
        _member_line,
        member_ref,
        page=args["page"],
        empty=Text("chat.points.admin_find_empty", {"text": text}),
        more=text if " " not in text else f'"{text}"',
        item_button=show,
    )


@route(
    "register",
    "登记会员",
    family="admin",
    params=[arg(FreeText("name", max_length=64))],
    commands=[RegisterMember],
    permission=Permission.MANAGE_MEMBERS,
    aliases=["newmember", "新会员"],
)
async def register(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    created = await turn.run(RegisterMember(args["name"]))
    turn.remember("member", [member_ref(created)])
    return turn.lines(
        Text("chat.points.admin_registered", {"name": created.display_name, "id": created.id}),
        buttons=rows(
            button(Text("chat.points.admin_button_show", {"number": 1}), f"/member #{created.id}")
        ),
    )


MEMBER_FIELDS = {
    "name": "name",
    "姓名": "name",
    "名字": "name",
    "org": "org",
    "organization": "org",
    "单位": "org",
    "公司": "org",
    "categories": "categories",
    "category": "categories",
    "类别": "categories",
    "lang": "lang",
    "language": "lang",
    "语言": "lang",
}
NO_ORGANIZATION = frozenset({"-", "none", "无"})
"""What `/editmember NAME org ...` takes for "no organization"."""
_LIST_SEPARATORS = re.compile(r"[\s,，、;；]+")


@route(
    "editmember",
    "修改会员",
    family="admin",
    params=[
        arg(MEMBER),
        arg(Choice("points_field", MEMBER_FIELDS)),
        arg(FreeText("text", max_length=200)),
    ],
    commands=[UpdateMember, FindOrganization, ListOrganizations],
    permission=Permission.MANAGE_MEMBERS,
    aliases=["updatemember", "改会员"],
)
async def editmember(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/editmember alice org acme`, `... categories party_member,employee`, `... lang en`;
    `... org -` (or `none`, `无`) takes the member out of their organization."""
    found: Member = args["member"]
    field: str = args["points_field"]
    value: str = args["text"]
    if field == "name":
        command = UpdateMember(found.id, display_name=value)
    elif field == "org" and value.strip().casefold() in NO_ORGANIZATION:
        command = UpdateMember(found.id, leave_organization=True)
    elif field == "org":
        organization = await find_organization(turn, value)
        command = UpdateMember(found.id, organization_id=organization.id)
    elif field == "categories":
        wanted = frozenset(w for w in _LIST_SEPARATORS.split(value) if w)
        command = UpdateMember(found.id, categories=wanted)
    else:
        locale = LANGUAGES.get(value.casefold())
        if locale is None:
            raise BadArgument(argument="text", value=value, reason="not_a_choice")
        command = UpdateMember(found.id, locale=locale)
    updated = await turn.run(command)
    return turn.say(
        "chat.points.admin_member_updated",
        name=updated.display_name,
        field=Text(FIELD_NAMES[field]),
    )


@route(
    "suspend",
    "停用",
    family="admin",
    params=[arg(MEMBER), arg(FreeText("reason", max_length=500), optional=True)],
    commands=[SetMemberStatus],
    permission=Permission.MANAGE_MEMBERS,
    aliases=["停用会员"],
)
async def suspend(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member = args["member"]
    done = await turn.run(SetMemberStatus(found.id, MemberStatus.SUSPENDED, args["reason"] or ""))
    return turn.say("chat.points.admin_suspended", name=done.display_name)


@route(
    "reactivate",
    "恢复",
    family="admin",
    params=[arg(MEMBER)],
    commands=[SetMemberStatus],
    permission=Permission.MANAGE_MEMBERS,
    aliases=["unsuspend", "恢复会员"],
)
async def reactivate(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member = args["member"]
    done = await turn.run(SetMemberStatus(found.id, MemberStatus.ACTIVE))
    return turn.say("chat.points.admin_reactivated", name=done.display_name)


# --- organizations ---------------------------------------------------------------------------


def _org_line(number: int, organization: Organization) -> Text:
    return Text(
        "chat.points.admin_org_line",
        {"number": number, "name": organization.name, "id": organization.id},
    )


@route(
    "orgs",
    "单位",
    family="admin",
    params=[arg(Word("text", max_length=100), optional=True), page_arg()],
    commands=[ListOrganizations],
    permission=Permission.VIEW_MEMBERS,
    aliases=["organizations", "companies", "企业"],
)
async def orgs(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    text = args["text"]
    page = await turn.run(ListOrganizations(query=text, limit=LISTED))

    def show(number: int, organization: Organization) -> Button | None:
        return button(
            Text("chat.points.admin_button_show", {"number": number}), f"/org #{organization.id}"
        )

    return turn.numbered(
        "org",
        Text("chat.points.admin_orgs_title", {"count": page.total}),
        list(page.items),
        _org_line,
        lambda o: f"#{o.id}",
        page=args["page"],
        empty=Text("chat.points.admin_orgs_empty"),
        more=text or "",
        item_button=show,
    )


@route(
    "org",
    "单位详情",
    family="admin",
    params=[arg(ORGANIZATION)],
    commands=[GetOrganization, FindOrganization, ListOrganizations, ListMembers],
    permission=Permission.VIEW_MEMBERS,
    aliases=["organization", "company"],
)
async def org(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Organization = args["points_org"]
    organization = await turn.run(GetOrganization(found.id))
    people = await turn.run(ListMembers(organization_id=organization.id, limit=1))
    lines = [
        Text(
            "chat.points.admin_org_title",
            {"name": organization.name, "id": organization.id, "key": organization.key or "—"},
        ),
        Text(
            "chat.points.admin_org_details",
            {
                "floor": organization.floor or "—",
                "industry": organization.industry or "—",
                "branch": organization.has_party_branch,
                "members": people.total,
            },
        ),
    ]
    turn.remember("org", [f"#{organization.id}"])
    return turn.lines(*lines)


@route(
    "neworg",
    "登记单位",
    family="admin",
    params=[arg(FreeText("name", max_length=200))],
    commands=[RegisterOrganization],
    permission=Permission.MANAGE_ORGANIZATIONS,
    aliases=["neworganization", "新单位"],
)
async def neworg(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    created = await turn.run(RegisterOrganization(args["name"]))
    turn.remember("org", [f"#{created.id}"])
    return turn.say("chat.points.admin_org_registered", name=created.name, id=created.id)


ORG_FIELDS = {
    "name": "name",
    "名称": "name",
    "floor": "floor",
    "楼层": "floor",
    "industry": "industry",
    "行业": "industry",
    "branch": "branch",
    "party_branch": "branch",
    "党支部": "branch",
}
YES_NO = {
    "yes": True,
    "y": True,
    "true": True,
    "on": True,
    "是": True,
    "有": True,
    "no": False,
    "n": False,
    "false": False,
    "off": False,
    "否": False,
    "无": False,
    "没有": False,
}


@route(
    "editorg",
    "修改单位",
    family="admin",
    params=[
        arg(ORGANIZATION),
        arg(Choice("points_field", ORG_FIELDS)),
        arg(FreeText("text", max_length=200)),
    ],
    commands=[UpdateOrganization, FindOrganization, ListOrganizations],
    permission=Permission.MANAGE_ORGANIZATIONS,
    aliases=["updateorg", "改单位"],
)
async def editorg(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """`/editorg acme floor 12`, `... industry 保险`, `... branch yes`, `... name 新名称`."""
    found: Organization = args["points_org"]
    field: str = args["points_field"]
    value: str = args["text"]
    if field == "name":
        command = UpdateOrganization(found.id, name=value)
    elif field == "floor":
        command = UpdateOrganization(found.id, floor=value)
    elif field == "industry":
        command = UpdateOrganization(found.id, industry=value)
    else:
        branch = YES_NO.get(value.casefold())
        if branch is None:
            raise BadArgument(argument="text", value=value, reason="not_a_choice")
        command = UpdateOrganization(found.id, has_party_branch=branch)
    updated = await turn.run(command)
    return turn.say(
        "chat.points.admin_org_updated",
        name=updated.name,
        field=Text(FIELD_NAMES[field]),
    )


# --- roles ---------------------------------------------------------------------------------

ROLES: dict[str, Role] = {
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
    "station_staff": Role.STATION_STAFF,
    "staff": Role.STATION_STAFF,
    "站务": Role.STATION_STAFF,
    "工作人员": Role.STATION_STAFF,
    "club_leader": Role.CLUB_LEADER,
    "leader": Role.CLUB_LEADER,
    "社长": Role.CLUB_LEADER,
    "负责人": Role.CLUB_LEADER,
    "volunteer": Role.VOLUNTEER,
    "志愿者": Role.VOLUNTEER,
    "member": Role.MEMBER,
    "会员": Role.MEMBER,
    "guest": Role.GUEST,
    "访客": Role.GUEST,
}


class ScopeArg:
    """`community`, `station:<key>` or `club:<key>` (also `社区`)."""

    name = "points_scope"

    async def parse(self, turn: Turn, words: Any) -> Scope:
        word = words.take()
        if word is None:
            raise MissingArgument(argument=self.name)
        if word.strip() in ("社区", "全社区", "all"):
            return Scope.community()
        return Scope.parse(word)


def _community(turn: Turn) -> Scope:
    return Scope.community()


ROLE_PARAMS = [
    arg(MEMBER),
    arg(Choice("points_role", ROLES)),
    arg(ScopeArg(), default=_community),
]


@route(
    "grant",
    "授权",
    family="admin",
    params=ROLE_PARAMS,
    commands=[GrantRole],
    permission=Permission.MANAGE_ROLES,
    aliases=["grantrole", "授予角色"],
)
async def grant(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member = args["member"]
    granted = await turn.run(GrantRole(found.id, args["points_role"], args["points_scope"]))
    return turn.say(
        "chat.points.admin_granted",
        name=found.display_name,
        role=Text(f"role.{granted.role.value}"),
        scope=str(granted.scope),
    )


@route(
    "revoke",
    "撤销授权",
    family="admin",
    params=ROLE_PARAMS,
    commands=[RevokeRole],
    permission=Permission.MANAGE_ROLES,
    aliases=["revokerole", "撤销角色"],
)
async def revoke(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member = args["member"]
    revoked = await turn.run(RevokeRole(found.id, args["points_role"], args["points_scope"]))
    return turn.say(
        "chat.points.admin_revoked",
        name=found.display_name,
        role=Text(f"role.{revoked.role.value}"),
        scope=str(revoked.scope),
    )


@route(
    "roles",
    "角色",
    family="admin",
    params=[arg(MEMBER, optional=True), page_arg()],
    commands=[ListRoleGrants, GetMember],
    permission=Permission.VIEW_MEMBERS,
    aliases=["grants", "权限"],
)
async def roles(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found: Member | None = args["member"]
    grants = await turn.run(ListRoleGrants(None if found is None else found.id))
    names = await member_names(turn, (g.member_id for g in grants))

    def line(number: int, grant: RoleGrant) -> Text:
        return Text(
            "chat.points.admin_role_line",
            {
                "number": number,
                "name": names.get(grant.member_id, f"#{grant.member_id}"),
                "role": Text(f"role.{grant.role.value}"),
                "scope": str(grant.scope),
                "source": grant.source.value,
            },
        )

    title = (
        Text("chat.points.admin_roles_title_all")
        if found is None
        else Text("chat.points.admin_roles_title", {"name": found.display_name})
    )
    return turn.numbered(
        "member",
        title,
        list(grants),
        line,
        lambda g: f"#{g.member_id}",
        page=args["page"],
        empty=Text("chat.points.admin_roles_empty"),
        more="" if found is None else member_ref(found),
    )


# --- the audit log -----------------------------------------------------------------------------


def _actor_name(entry: AuditEntry) -> str:
    label = entry.actor.label
    if entry.actor.member_id is not None:
        return label.split(":", 2)[-1]
    return label


@route(
    "audit",
    "审计日志",
    family="admin",
    params=[arg(Word("points_action", max_length=100), optional=True), page_arg()],
    commands=[ListAuditEntries],
    permission=Permission.VIEW_AUDIT,
    aliases=["log", "日志"],
)
async def audit(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    action: str | None = args["points_action"]
    page = int(args["page"])
    wanted = min(page * PAGE_SIZE + 1, 500)
    entries = await turn.run(ListAuditEntries(action=action, limit=wanted))
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not shown:
        return turn.say("chat.points.admin_audit_empty")
    lines = [Text("chat.points.admin_audit_title")]
    for entry in shown:
        lines.append(
            Text(
                "chat.points.admin_audit_line",
                {
                    "when": entry.at,
                    "actor": _actor_name(entry),
                    "action": entry.action,
                    "target": entry.target,
                },
            )
        )
    return paged(
        turn, lines, page=page, has_next=len(entries) > page * PAGE_SIZE, more=action or ""
    )
