"""Linked accounts: /link (code, or redeem one), /unlink, and staff's /linkaccount.

`/link` alone gives a one-time code; `/link CODE` sent from another account
(or the deep link `/start link-CODE`, which the /start route turns into
`/link CODE`) makes both accounts one member: the one that asked for the
code. The merge rules are in `huarong_core.commands.linking`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huarong_core.commands import (
    CreateLinkCode,
    LinkIdentity,
    LinkResult,
    RedeemLinkCode,
    UnlinkIdentity,
)
from huarong_core.conversation.arguments import FreeText, Word, arg
from huarong_core.conversation.refs import MEMBER
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Message, Text
from huarong_core.domain.members import IdentityRef
from huarong_core.domain.roles import Permission
from huarong_core.errors import LinkRefused
from huarong_core.services.codes import CODE_LIFETIME

PLATFORM = Word("link_platform", max_length=32)
ACCOUNT = Word("link_account", max_length=255)


@route(
    "link",
    "绑定账号",
    family="me",
    params=[arg(FreeText("link_code", max_length=32), optional=True)],
    commands=[CreateLinkCode, RedeemLinkCode],
    personal=True,
)
async def link(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    typed = args["link_code"]
    if not typed:
        made = await turn.run(CreateLinkCode())
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        return turn.lines(
            Text("chat.link.code", {"code": made.code}),
            Text("chat.link.expires", {"expires": made.expires_at, "minutes": minutes}),
            Text("chat.link.how", {"command": f"/link {made.code}"}),
            Text("chat.link.deep", {"payload": f"/start link-{made.code}"}),
            Text("chat.link.who_survives"),
        )
    result = await turn.run(RedeemLinkCode(typed, turn.incoming.platform, turn.incoming.sender_id))
    return _linked(turn, result)


def _linked(turn: Turn, result: LinkResult) -> Message:
    survivor = result.survivor
    if survivor.locale:
        turn.locale = survivor.locale  # from now on this account speaks as the survivor
    lines = [
        Text(
            "chat.link.same" if result.already_linked else "chat.link.done",
            {"name": survivor.display_name, "id": survivor.id},
        )
    ]
    if result.points_moved:
        lines.append(Text("chat.link.points_moved", {"points": result.points_moved}))
    lines.append(Text("chat.link.balance", {"balance": result.balance}))
    lines.append(Text("chat.link.accounts"))
    for identity in result.identities:
        lines.append(
            Text(
                "chat.link.account",
                {"platform": identity.ref.platform, "account": identity.ref.external_id},
            )
        )
    return turn.lines(*lines)


@route(
    "unlink",
    "解绑账号",
    family="me",
    params=[arg(PLATFORM), arg(ACCOUNT)],
    commands=[UnlinkIdentity],
    personal=True,
)
async def unlink(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    ref = IdentityRef(args["link_platform"], args["link_account"])
    own = {i.ref for i in (await turn.full_profile()).identities}
    if own == {ref}:
        # The core would let it go, and the next message from it would start a new,
        # empty member: a member keeps at least one account here.
        raise LinkRefused(reason="last_identity")
    removed = await turn.run(UnlinkIdentity(ref.platform, ref.external_id))
    key = "chat.link.unlinked_here" if ref == _sender(turn) else "chat.link.unlinked"
    return turn.say(key, platform=removed.ref.platform, account=removed.ref.external_id)


def _sender(turn: Turn) -> IdentityRef:
    return IdentityRef(turn.incoming.platform, turn.incoming.sender_id)


@route(
    "linkaccount",
    "关联账号",
    family="staff",
    params=[arg(MEMBER), arg(PLATFORM), arg(ACCOUNT)],
    commands=[LinkIdentity],
    permission=Permission.MANAGE_IDENTITIES,
)
async def link_account(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member = args["member"]
    linked = await turn.run(LinkIdentity(member.id, args["link_platform"], args["link_account"]))
    return turn.say(
        "chat.link.linked",
        name=member.display_name,
        id=member.id,
        platform=linked.ref.platform,
        account=linked.ref.external_id,
    )
