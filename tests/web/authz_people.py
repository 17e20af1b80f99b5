"""Who may run each example of `huarong_web.routes_people` (a data module, not tests).

`ALLOWED[operation_id]` is the set of matrix roles (see `web_world.ROLE_MEMBERS`)
whose request, sent exactly as the route's `example` in a fresh copy of the demo
building, gets a 2xx answer; every other role is refused by the core (403). An
empty set: only a system actor (an API token with the `system` scope) may. Read
from the handlers' permission checks, and checked by sending every example as
every role.

The demo building has no link or sign-in codes, API tokens, passwords, pending
awards or honours. `PREPARE` makes, per operation id, the one an example needs
in a fresh world and answers its id or secret, to send instead of the example's
own. Without it the permission is still checked first (everyone but the roles
here gets 403), except for `RevokeApiToken`, whose owner is only known once the
token is found (404 for everyone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huarong_core.commands import (
    CreateApiToken,
    CreateLinkCode,
    CreateSignInCode,
    GrantHonour,
    RecordActivity,
    SetPassword,
)
from huarong_core.domain.text import LocalizedText
from tests.web.web_world import SYSTEM, Prepare, WebWorld

EVERYONE = frozenset(
    {"member", "volunteer", "club_leader", "station_staff", "community_staff", "admin"}
)
ADMIN = frozenset({"admin"})
STAFF = frozenset({"station_staff", "community_staff", "admin"})
"""`manage_points`, `manage_shop` or `view_reports` in some scope (`李敏` at her station)."""
COMMUNITY_STAFF = frozenset({"community_staff", "admin"})
"""The same, where the check names the whole community or another station."""
VIEWERS = frozenset({"club_leader", "station_staff", "community_staff", "admin"})
"""`view_members` in some scope: club leaders and staff."""
SYSTEM_ONLY: frozenset[str] = frozenset()

ALLOWED: dict[str, frozenset[str]] = {
    # organizations
    "ListOrganizations": EVERYONE,
    "ListCategories": EVERYONE,
    "RegisterOrganization": ADMIN,
    "GetOrganization": EVERYONE,
    "UpdateOrganization": ADMIN,
    "GetOrganizationReport": STAFF,
    "FindOrganization": EVERYONE,
    "ImportOrganizations": ADMIN,
    # members
    "GetMyProfile": EVERYONE,
    "UpdateMyProfile": EVERYONE,
    "ListMembers": VIEWERS,
    "RegisterMember": ADMIN,
    "GetMember": VIEWERS | {"member"},  # 郑晓明 himself
    "UpdateMember": frozenset({"member", "admin"}),  # his own language, or manage_members
    "SetMemberStatus": ADMIN,
    "FindMember": VIEWERS,  # `teacher` is the club leader herself
    "FindMemberByIdentity": VIEWERS,  # console:emily, the club leader's own account
    "ImportMembers": ADMIN,
    # identities and linking
    "LinkIdentity": frozenset({"member", "admin"}),
    "UnlinkIdentity": frozenset({"club_leader", "admin"}),  # console:emily is hers
    "CreateMyLinkCode": EVERYONE,
    "CreateLinkCode": frozenset({"member", "admin"}),
    "RedeemLinkCode": frozenset({"club_leader", "admin"}),  # from console:emily
    # access
    "CreateMySignInCode": EVERYONE,
    "CreateSignInCode": frozenset({"member", "admin"}),
    "SetMyPassword": EVERYONE,
    "SetPassword": frozenset({"member", "admin"}),
    "ListMyApiTokens": EVERYONE,
    "CreateMyApiToken": EVERYONE,
    "ListApiTokens": frozenset({"member", "admin"}),
    "CreateApiToken": frozenset({"member", "admin"}),
    "RevokeApiToken": frozenset({"member", "admin"}),  # a token of 郑晓明's
    # roles
    "ListRoleGrants": VIEWERS,  # member_id 9: the club leader's own
    "ListMyRoleGrants": EVERYONE,
    "GrantRole": ADMIN,
    "RevokeRole": ADMIN,
    # points
    "GetMyPointsStatement": EVERYONE,
    "GetPointsStatement": STAFF | {"member"},
    "AwardPoints": STAFF,
    "RecordActivity": STAFF,
    "RecordActivities": STAFF,
    "ListPendingAwards": STAFF,
    "DecidePendingAward": STAFF,
    "ExpirePoints": STAFF,
    "VerifyLedger": STAFF,
    "ListPointsRules": EVERYONE,
    "DefinePointsRule": COMMUNITY_STAFF,
    "SetPointsRuleEnabled": COMMUNITY_STAFF,
    # leaderboards and honours
    "GetLeaderboard": EVERYONE,
    "GetRank": EVERYONE,
    "GetMyRank": EVERYONE,
    "ListHonours": EVERYONE,
    "GrantHonour": ADMIN,
    "RevokeHonour": ADMIN,
    # the shop
    "ListShopItems": EVERYONE,
    "DefineShopItem": STAFF,  # an item of 李敏's station
    "RestockItem": STAFF,
    "RedeemItem": EVERYONE,
    "ListMyRedemptions": EVERYONE,
    "ListRedemptions": STAFF,
    "FulfilRedemption": COMMUNITY_STAFF,  # coffee, at the Huaying station
    "CancelRedemption": COMMUNITY_STAFF,  # another member's
    # the audit log
    "ListAuditEntries": ADMIN,
    # system actors only
    "RegisterChatMember": SYSTEM_ONLY,
    "SetAccountReachable": SYSTEM_ONLY,
    "SendSignInCode": SYSTEM_ONLY,
    "RedeemSignInCode": SYSTEM_ONLY,
    "CheckPassword": SYSTEM_ONLY,
    "AuthenticateApiToken": SYSTEM_ONLY,
}


# --- what some examples need first -------------------------------------------------------

PASSWORD = "correct horse battery staple"
"""The password of the examples of `SetPassword` and `CheckPassword`."""


async def link_code(world: WebWorld) -> dict[str, Any]:
    """A code of 郑晓明's, to be redeemed from Emily's console account (she is merged)."""
    made = await world.handle.execute(CreateLinkCode(member_id=10), actor=SYSTEM)
    return {"code": made.code}


async def sign_in_code(world: WebWorld) -> dict[str, Any]:
    made = await world.handle.execute(CreateSignInCode(member_id=9), actor=SYSTEM)
    return {"code": made.code}


async def password(world: WebWorld) -> dict[str, Any]:
    """Emily (`teacher`) has a password."""
    await world.handle.execute(SetPassword(9, PASSWORD), actor=SYSTEM)
    return {"login": "teacher", "password": PASSWORD}


async def _token(world: WebWorld) -> tuple[int, str]:
    made = await world.handle.execute(
        CreateApiToken("turnstile", frozenset({"read"}), member_id=10), actor=SYSTEM
    )
    return made.info.id, made.token


async def token_secret(world: WebWorld) -> dict[str, Any]:
    return {"token": (await _token(world))[1]}


async def token_id(world: WebWorld) -> dict[str, Any]:
    """A token of 郑晓明's."""
    return {"token_id": (await _token(world))[0]}


async def pending_award(world: WebWorld) -> dict[str, Any]:
    """An approved reflection of 郑晓明's waits for a points decision (the rule asks one)."""
    [result] = await world.handle.execute(
        RecordActivity("library.reflection_approved", "reflection:example", 10), actor=SYSTEM
    )
    assert result.outcome == "pending", result
    return {"pending_id": result.entry_id}


async def honour(world: WebWorld) -> dict[str, Any]:
    """孙丽 holds a pioneer post."""
    made = await world.handle.execute(
        GrantHonour(
            7,
            "pioneer_post",
            LocalizedText({"zh_CN": "党员先锋示范岗", "en": "Party member pioneer post"}),
            "带动身边党员群众参与志愿服务。",
            world.clock.now().date(),
        ),
        actor=SYSTEM,
    )
    return {"honour_id": made.id}


PREPARE: Mapping[str, Prepare] = {
    "RedeemLinkCode": link_code,
    "RedeemSignInCode": sign_in_code,
    "CheckPassword": password,
    "AuthenticateApiToken": token_secret,
    "RevokeApiToken": token_id,
    "DecidePendingAward": pending_award,
    "RevokeHonour": honour,
}
