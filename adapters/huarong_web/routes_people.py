"""Command routes: people and what they hold.

Organizations, members, their accounts (identities, linking, sign-in codes,
passwords, API tokens), roles, points (activities, awards, the ledger, rules),
the points shop, leaderboards, honours, reports and the audit log.

Conventions (shared by every route table): a `Query` is a GET; creating is a
POST answering 201; `Update*` is a PATCH; an action is a POST to a verb
sub-path. `/me/...` routes act on the signed-in member, and their staff twins
name the member in the path. Commands only a system actor may run (an adapter
reporting an account unreachable, the portal proving a sign-in) sit under
`/system/...`: they answer an API token with the `system` scope, and refuse
everyone else in the core. A few reads are POSTs because what they read is a
secret (a token, a password) that must not travel in a URL, where proxies and
logs keep it.

Each `example` works in the demo building (`huarong demo`). Those that need
something made first (a link or sign-in code, a token, a password, a pending
award, an honour) name the one the demo would get first; see
`PREPARE` in `tests/web/authz_people.py` for how each is made.
"""

from __future__ import annotations

from typing import Any

from huarong_core import CommunityHandle
from huarong_core.commands import (
    AuthenticateApiToken,
    AwardPoints,
    CancelRedemption,
    CheckPassword,
    CreateApiToken,
    CreateLinkCode,
    CreateSignInCode,
    DecidePendingAward,
    DefinePointsRule,
    DefineShopItem,
    ExpirePoints,
    FindMember,
    FindMemberByIdentity,
    FindOrganization,
    FulfilRedemption,
    GetLeaderboard,
    GetMember,
    GetOrganization,
    GetOrganizationReport,
    GetPointsStatement,
    GetRank,
    GrantHonour,
    GrantRole,
    ImportMembers,
    ImportOrganizations,
    Leaderboard,
    LinkIdentity,
    ListApiTokens,
    ListAuditEntries,
    ListCategories,
    ListHonours,
    ListMembers,
    ListOrganizations,
    ListPendingAwards,
    ListPointsRules,
    ListRedemptions,
    ListRoleGrants,
    ListShopItems,
    OrganizationReport,
    PointsStatement,
    RecordActivities,
    RecordActivity,
    RedeemItem,
    RedeemLinkCode,
    RedeemSignInCode,
    RegisterChatMember,
    RegisterMember,
    RegisterOrganization,
    RestockItem,
    RevokeApiToken,
    RevokeHonour,
    RevokeRole,
    SendSignInCode,
    SetAccountReachable,
    SetMemberStatus,
    SetPassword,
    SetPointsRuleEnabled,
    UnlinkIdentity,
    UpdateMember,
    UpdateOrganization,
    VerifyLedger,
)
from huarong_core.exports import (
    audit_table,
    leaderboard_table,
    organization_report_table,
    statement_table,
    to_csv,
)
from huarong_web.api import ApiRoute, Export

__all__ = ["ROUTES"]

CSV = "text/csv; charset=utf-8"


# --- CSV exports (the rows come from `huarong_core.exports`, shared with the CLI) ----------


def _statement_csv(result: PointsStatement, handle: CommunityHandle, locale: str) -> bytes:
    return to_csv(statement_table(result, handle.community.tz)).encode()


def _report_csv(result: OrganizationReport, handle: CommunityHandle, locale: str) -> bytes:
    return to_csv(organization_report_table(result)).encode()


def _leaderboard_csv(result: Leaderboard, handle: CommunityHandle, locale: str) -> bytes:
    return to_csv(leaderboard_table(result)).encode()


def _audit_csv(result: Any, handle: CommunityHandle, locale: str) -> bytes:
    return to_csv(audit_table(result, handle.community.tz)).encode()


STATEMENT_CSV = {"csv": Export(CSV, _statement_csv, filename="points-statement.csv")}
REPORT_CSV = {"csv": Export(CSV, _report_csv, filename="organization-report.csv")}
LEADERBOARD_CSV = {"csv": Export(CSV, _leaderboard_csv, filename="leaderboard.csv")}
AUDIT_CSV = {"csv": Export(CSV, _audit_csv, filename="audit-log.csv")}


# --- examples too long for one line ------------------------------------------------------

_RULE = {
    "key": "reading_club",
    "name": {"zh_CN": "参加红色悦读读书会", "en": "Red Reading book club"},
    "trigger": "event.attended",
    "points": 5,
    "filters": {"tags": ["reading"]},
    "caps": {"week": 1},
    "expires_after_months": 12,
}
_ITEM = {
    "key": "umbrella",
    "name": {"zh_CN": "党群服务站雨伞", "en": "Station umbrella"},
    "price": 50,
    "stock": 10,
    "category": "daily",
    "limit": {"count": 1, "period": "month"},
    "station": "party_masses",
}
_ACTIVITY = {
    "kind": "event.attended",
    "source_id": "turnstile:lecture-20260701:10",
    "member_id": 10,
    "target": "event:lecture-20260701",
    "tags": ["lecture"],
}
_HONOUR = {
    "member_id": 7,
    "kind": "pioneer_post",
    "title": {"zh_CN": "党员先锋示范岗", "en": "Party member pioneer post"},
    "citation": "组织楼宇志愿服务，带动身边党员群众参与。",
    "starts_on": "2026-07-01",
    "ends_on": "2026-12-31",
}
_ORGANIZATION_ROWS = {
    "source": "web:organizations",
    "rows": [{"line": 2, "name": "焦作数智科技有限公司", "floor": "9", "industry": "software"}],
}
_MEMBER_ROWS = {
    "source": "web:members",
    "rows": [{"line": 2, "name": "王小川", "organization": "华融地产", "categories": "楼宇员工"}],
}
_NEW_ORGANIZATION = {"name": "焦作数智科技有限公司", "key": "jiaozuo_digital", "floor": "9"}
_NEW_MEMBER = {
    "display_name": "王小川",
    "key": "wang_xiaochuan",
    "categories": ["employee"],
    "organization_id": 6,
    "locale": "zh_CN",
}
_CHAT_MEMBER = {"platform": "telegram", "external_id": "5200001", "display_name": "小林"}
_TOKEN = {"name": "门禁同步", "scopes": ["read"]}
_PASSWORD = "correct horse battery staple"


ROUTES: tuple[ApiRoute, ...] = (
    # --- organizations -------------------------------------------------------------------
    ApiRoute(
        "GET", "/organizations", ListOrganizations, "organizations", example={"query": "保险"}
    ),
    ApiRoute(
        "POST",
        "/organizations",
        RegisterOrganization,
        "organizations",
        status=201,
        example=_NEW_ORGANIZATION,
    ),
    ApiRoute(
        "GET",
        "/organizations/{organization_id}",
        GetOrganization,
        "organizations",
        example={"organization_id": 6},
    ),
    ApiRoute(
        "PATCH",
        "/organizations/{organization_id}",
        UpdateOrganization,
        "organizations",
        example={"organization_id": 9, "floor": "6"},
    ),
    ApiRoute(
        "GET",
        "/organizations/{organization_id}/report",
        GetOrganizationReport,
        "organizations",
        exports=REPORT_CSV,
        example={"organization_id": 7, "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
    ),
    ApiRoute(
        "GET",
        "/lookups/organizations",
        FindOrganization,
        "organizations",
        example={"ref": "huarong_realty"},
    ),
    ApiRoute(
        "POST",
        "/imports/organizations",
        ImportOrganizations,
        "organizations",
        example=_ORGANIZATION_ROWS,
    ),
    # --- members ---------------------------------------------------------------------------
    ApiRoute("GET", "/categories", ListCategories, "members"),
    ApiRoute("GET", "/me", GetMember, "members", me="member_id", name="GetMyProfile"),
    ApiRoute(
        "PATCH",
        "/me",
        UpdateMember,
        "members",
        me="member_id",
        name="UpdateMyProfile",
        example={"locale": "en"},
    ),
    ApiRoute("GET", "/members", ListMembers, "members", example={"organization_id": 7}),
    ApiRoute("POST", "/members", RegisterMember, "members", status=201, example=_NEW_MEMBER),
    ApiRoute("GET", "/members/{member_id}", GetMember, "members", example={"member_id": 10}),
    ApiRoute(
        "PATCH",
        "/members/{member_id}",
        UpdateMember,
        "members",
        example={"member_id": 10, "locale": "en"},
    ),
    ApiRoute(
        "PUT",
        "/members/{member_id}/status",
        SetMemberStatus,
        "members",
        example={"member_id": 50, "status": "left", "reason": "搬离大楼"},
    ),
    ApiRoute("GET", "/lookups/members", FindMember, "members", example={"ref": "teacher"}),
    ApiRoute(
        "GET",
        "/lookups/identities",
        FindMemberByIdentity,
        "members",
        example={"platform": "console", "external_id": "emily"},
    ),
    ApiRoute("POST", "/imports/members", ImportMembers, "members", example=_MEMBER_ROWS),
    # --- identities and linking accounts ---------------------------------------------------
    ApiRoute(
        "POST",
        "/members/{member_id}/identities",
        LinkIdentity,
        "identities",
        status=201,
        example={"member_id": 10, "platform": "telegram", "external_id": "5200010"},
    ),
    ApiRoute(
        "DELETE",
        "/identities",
        UnlinkIdentity,
        "identities",
        example={"platform": "console", "external_id": "emily"},
    ),
    ApiRoute(
        "POST",
        "/me/link_codes",
        CreateLinkCode,
        "identities",
        status=201,
        me="member_id",
        name="CreateMyLinkCode",
    ),
    ApiRoute(
        "POST",
        "/members/{member_id}/link_codes",
        CreateLinkCode,
        "identities",
        status=201,
        example={"member_id": 10},
    ),
    ApiRoute(
        "POST",
        "/link_codes/redeem",
        RedeemLinkCode,
        "identities",
        example={"code": "7KQ2-M9PX", "platform": "console", "external_id": "emily"},
    ),
    # --- access: sign-in codes, passwords, API tokens ----------------------------------------
    ApiRoute(
        "POST",
        "/me/sign_in_codes",
        CreateSignInCode,
        "access",
        status=201,
        me="member_id",
        name="CreateMySignInCode",
    ),
    ApiRoute(
        "POST",
        "/members/{member_id}/sign_in_codes",
        CreateSignInCode,
        "access",
        status=201,
        example={"member_id": 10},
    ),
    ApiRoute(
        "PUT",
        "/me/password",
        SetPassword,
        "access",
        me="member_id",
        name="SetMyPassword",
        example={"password": _PASSWORD},
    ),
    ApiRoute(
        "PUT",
        "/members/{member_id}/password",
        SetPassword,
        "access",
        example={"member_id": 10, "password": _PASSWORD},
    ),
    ApiRoute(
        "GET", "/me/api_tokens", ListApiTokens, "access", me="member_id", name="ListMyApiTokens"
    ),
    ApiRoute(
        "POST",
        "/me/api_tokens",
        CreateApiToken,
        "access",
        status=201,
        me="member_id",
        name="CreateMyApiToken",
        example=_TOKEN,
    ),
    ApiRoute(
        "GET", "/members/{member_id}/api_tokens", ListApiTokens, "access", example={"member_id": 10}
    ),
    ApiRoute(
        "POST",
        "/members/{member_id}/api_tokens",
        CreateApiToken,
        "access",
        status=201,
        example={"member_id": 10, **_TOKEN},
    ),
    ApiRoute("DELETE", "/api_tokens/{token_id}", RevokeApiToken, "access", example={"token_id": 1}),
    # --- roles -------------------------------------------------------------------------------
    ApiRoute("GET", "/roles", ListRoleGrants, "roles", example={"member_id": 9}),
    ApiRoute("GET", "/me/roles", ListRoleGrants, "roles", me="member_id", name="ListMyRoleGrants"),
    ApiRoute(
        "POST",
        "/members/{member_id}/roles",
        GrantRole,
        "roles",
        status=201,
        example={"member_id": 10, "role": "volunteer", "scope": "station:party_masses"},
    ),
    ApiRoute(
        "DELETE",
        "/members/{member_id}/roles",
        RevokeRole,
        "roles",
        example={"member_id": 7, "role": "volunteer", "scope": "station:party_masses"},
    ),
    # --- points: statements, awards, activities, the ledger ------------------------------------
    ApiRoute(
        "GET",
        "/me/points",
        GetPointsStatement,
        "points",
        me="member_id",
        exports=STATEMENT_CSV,
        name="GetMyPointsStatement",
        example={"limit": 20},
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/points",
        GetPointsStatement,
        "points",
        exports=STATEMENT_CSV,
        example={"member_id": 10, "limit": 20},
    ),
    ApiRoute(
        "POST",
        "/members/{member_id}/points",
        AwardPoints,
        "points",
        status=201,
        example={"member_id": 10, "points": 5, "reason": "协助布置主题党日会场"},
    ),
    ApiRoute("POST", "/activities", RecordActivity, "points", example=_ACTIVITY),
    ApiRoute(
        "POST", "/activities/batch", RecordActivities, "points", example={"activities": [_ACTIVITY]}
    ),
    ApiRoute("GET", "/pending_awards", ListPendingAwards, "points", example={"status": "pending"}),
    ApiRoute(
        "POST",
        "/pending_awards/{pending_id}/decide",
        DecidePendingAward,
        "points",
        example={"pending_id": 1, "approve": True, "note": "心得已审阅"},
    ),
    ApiRoute("POST", "/ledger/expire", ExpirePoints, "points"),
    ApiRoute("GET", "/ledger/differences", VerifyLedger, "points"),
    # --- points rules ------------------------------------------------------------------------
    ApiRoute("GET", "/points_rules", ListPointsRules, "points"),
    ApiRoute("POST", "/points_rules", DefinePointsRule, "points", example={"definition": _RULE}),
    ApiRoute(
        "PATCH",
        "/points_rules/{key}",
        SetPointsRuleEnabled,
        "points",
        example={"key": "lecture", "enabled": False},
    ),
    # --- leaderboards and honours --------------------------------------------------------------
    ApiRoute(
        "GET",
        "/leaderboards/{board}",
        GetLeaderboard,
        "leaderboards",
        exports=LEADERBOARD_CSV,
        example={"board": "all", "limit": 10},
    ),
    ApiRoute(
        "GET",
        "/leaderboards/{board}/ranks/{member_id}",
        GetRank,
        "leaderboards",
        example={"board": "all", "member_id": 10},
    ),
    ApiRoute(
        "GET",
        "/me/ranks/{board}",
        GetRank,
        "leaderboards",
        me="member_id",
        name="GetMyRank",
        example={"board": "all"},
    ),
    ApiRoute("GET", "/honours", ListHonours, "honours", example={"current_only": True}),
    ApiRoute(
        "POST", "/members/{member_id}/honours", GrantHonour, "honours", status=201, example=_HONOUR
    ),
    ApiRoute(
        "POST", "/honours/{honour_id}/revoke", RevokeHonour, "honours", example={"honour_id": 1}
    ),
    # --- the points shop -----------------------------------------------------------------------
    ApiRoute("GET", "/shop_items", ListShopItems, "shop", example={"available_only": True}),
    ApiRoute("POST", "/shop_items", DefineShopItem, "shop", example={"definition": _ITEM}),
    ApiRoute(
        "POST",
        "/shop_items/{item_key}/restock",
        RestockItem,
        "shop",
        example={"item_key": "tea_cup", "quantity": 10},
    ),
    ApiRoute(
        "POST",
        "/shop_items/{item_key}/redeem",
        RedeemItem,
        "shop",
        status=201,
        example={"item_key": "notebook", "quantity": 1},
    ),
    ApiRoute(
        "GET", "/me/redemptions", ListRedemptions, "shop", me="member_id", name="ListMyRedemptions"
    ),
    ApiRoute("GET", "/redemptions", ListRedemptions, "shop", example={"status": "reserved"}),
    ApiRoute(
        "POST",
        "/redemptions/{redemption_id}/fulfil",
        FulfilRedemption,
        "shop",
        example={"redemption_id": 2},
    ),
    ApiRoute(
        "POST",
        "/redemptions/{redemption_id}/cancel",
        CancelRedemption,
        "shop",
        example={"redemption_id": 2, "reason": "物品暂缺"},
    ),
    # --- the audit log -------------------------------------------------------------------------
    ApiRoute(
        "GET",
        "/audit_entries",
        ListAuditEntries,
        "audit",
        exports=AUDIT_CSV,
        example={"action": "member.register", "limit": 20},
    ),
    # --- system actors only (adapters, the portal's sign-in) ------------------------------------
    ApiRoute(
        "POST",
        "/system/chat_members",
        RegisterChatMember,
        "system",
        status=201,
        example=_CHAT_MEMBER,
    ),
    ApiRoute(
        "POST",
        "/system/identities/reachability",
        SetAccountReachable,
        "system",
        example={"platform": "console", "external_id": "emily", "reachable": False},
    ),
    ApiRoute(
        "POST", "/system/sign_in_codes/send", SendSignInCode, "system", example={"login": "teacher"}
    ),
    ApiRoute(
        "POST",
        "/system/sign_in_codes/redeem",
        RedeemSignInCode,
        "system",
        example={"code": "7KQ2-M9PX"},
    ),
    ApiRoute(
        "POST",
        "/system/passwords/check",
        CheckPassword,
        "system",
        example={"login": "teacher", "password": _PASSWORD},
    ),
    ApiRoute(
        "POST",
        "/system/api_tokens/authenticate",
        AuthenticateApiToken,
        "system",
        example={"token": "hr_example"},
    ),
)
