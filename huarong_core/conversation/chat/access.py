"""/signin: a one-time code for the web portal, given in chat.

The member types the code on the portal's sign-in page (`RedeemSignInCode`);
the rules are in `huarong_core.commands.access`. Asked in a group, the answer
goes to the member's private chat (a personal route), never to the group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huarong_core.commands import CreateSignInCode
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Text
from huarong_core.services.codes import CODE_LIFETIME


@route("signin", "登录网页", family="me", commands=[CreateSignInCode], personal=True)
async def sign_in(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    made = await turn.run(CreateSignInCode())
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    return turn.lines(
        Text("chat.signin.code", {"code": made.code}),
        Text("chat.signin.expires", {"expires": made.expires_at, "minutes": minutes}),
        Text("chat.signin.how"),
        Text("chat.signin.not_you"),
    )
