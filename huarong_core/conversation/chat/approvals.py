"""The approvals inbox: everything waiting for this member's decision, in one list.

`/pending` gathers pending point awards, club join requests (for clubs the
member leads or looks after), submitted reading reflections and smile-wall
photos; `/approve` and `/reject` decide one, by its number in that list or
by its ref:

    award:12         a pending point award
    club:tea:34      member 34's request to join the club `tea`
    reflection:5     a submitted reading reflection
    photo:9          a smile-wall photo

Each list only shows what the core lets the member see; whether they may
decide it is still the core's call when they try.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from huarong_core.commands import (
    ApprovePhoto,
    ApproveReflection,
    DecideClubRequest,
    DecidePendingAward,
    GetMember,
    ListClubMembers,
    ListClubs,
    ListPendingAwards,
    ListPhotos,
    ListPointsRules,
    ListReflections,
    RejectPhoto,
    ReturnReflection,
)
from huarong_core.conversation.arguments import FreeText, Ref, arg, page_arg, typed_number
from huarong_core.conversation.chat.points import button, member_names
from huarong_core.conversation.errors import BadArgument, MissingArgument
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import PAGE_SIZE, Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.clubs import MembershipStatus
from huarong_core.domain.library import ReflectionStatus
from huarong_core.domain.roles import Permission
from huarong_core.domain.smile_wall import PhotoStatus
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import PermissionDenied

KINDS = ("award", "club", "reflection", "photo")
_KIND_WORDS = {
    "award": "award",
    "points": "award",
    "积分": "award",
    "club": "club",
    "社团": "club",
    "reflection": "reflection",
    "心得": "reflection",
    "读后感": "reflection",
    "photo": "photo",
    "照片": "photo",
}
EXCERPT = 30
LISTED = 100


@attrs.frozen
class PendingRef:
    """One thing to decide: `award:12`, `club:tea:34`, `reflection:5`, `photo:9`."""

    kind: str
    id: int
    """The pending award, reflection or photo; the requesting member for a club."""
    club: str = ""

    def __str__(self) -> str:
        if self.kind == "club":
            return f"club:{self.club}:{self.id}"
        return f"{self.kind}:{self.id}"


async def parse_pending(turn: Turn, word: str) -> PendingRef:
    parts = word.strip().split(":")
    kind = _KIND_WORDS.get(parts[0].casefold())
    club = ""
    if kind == "club" and len(parts) == 3:
        club, number = parts[1], parts[2]
    elif kind is not None and kind != "club" and len(parts) == 2:
        number = parts[1]
    else:
        raise BadArgument(argument="points_pending", value=word, reason="no_match")
    pending_id = typed_number(number.removeprefix("#"))
    if pending_id is None or (kind == "club" and not club):
        raise BadArgument(argument="points_pending", value=word, reason="no_match")
    return PendingRef(kind, pending_id, club)


PENDING = Ref("points_pending", "pending", parse_pending)


@attrs.frozen
class PendingItem:
    ref: PendingRef
    line: Text


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "…"


async def _club_names(turn: Turn) -> dict[str, LocalizedText]:
    return {s.club.key: s.club.name for s in await turn.run(ListClubs())}


async def gather(turn: Turn) -> list[PendingItem]:
    """What the member may decide, oldest kind of work first: awards, clubs, reflections, photos."""
    found: list[tuple[PendingRef, str, dict[str, Any], int]] = []
    if turn.can(Permission.MANAGE_POINTS):
        try:
            awards = await turn.run(ListPendingAwards(limit=LISTED))
        except PermissionDenied:
            awards = ()
        if awards:
            rules = {r.key: r.name for r in await turn.run(ListPointsRules())}
            for award in awards:
                found.append(
                    (
                        PendingRef("award", award.id),
                        "chat.points.pending_award",
                        {"rule": rules.get(award.rule_key, award.rule_key), "points": award.points},
                        award.member_id,
                    )
                )
    if turn.can(Permission.LEAD_CLUBS):
        for summary in await turn.run(ListClubs()):
            if not summary.pending:
                continue
            try:
                requests = await turn.run(
                    ListClubMembers(summary.club.key, MembershipStatus.PENDING)
                )
            except PermissionDenied:
                continue
            for request in requests:
                found.append(
                    (
                        PendingRef("club", request.member_id, summary.club.key),
                        "chat.points.pending_club",
                        {"club": summary.club.name},
                        request.member_id,
                    )
                )
    if turn.can(Permission.MANAGE_LIBRARY):
        reflections = await turn.run(
            ListReflections(status=ReflectionStatus.SUBMITTED, limit=LISTED)
        )
        for reflection in reflections:
            if reflection.member_id == turn.member.id:
                continue  # one's own (and, for non-staff, the only ones listed)
            found.append(
                (
                    PendingRef("reflection", reflection.id),
                    "chat.points.pending_reflection",
                    {"excerpt": _excerpt(reflection.text)},
                    reflection.member_id,
                )
            )
    if turn.can(Permission.MODERATE_SMILE_WALL):
        try:
            photos = await turn.run(ListPhotos(status=PhotoStatus.PENDING, limit=LISTED))
        except PermissionDenied:
            photos = ()
        for photo in photos:
            found.append(
                (
                    PendingRef("photo", photo.id),
                    "chat.points.pending_photo",
                    {"caption": _excerpt(photo.caption) or "—"},
                    photo.member_id,
                )
            )
    names = await member_names(turn, (member_id for *_, member_id in found))
    return [
        PendingItem(ref, Text(key, {**params, "member": names[member_id], "ref": str(ref)}))
        for ref, key, params, member_id in found
    ]


@route(
    "pending",
    "待审批",
    family="staff",
    params=[page_arg()],
    commands=[
        ListPendingAwards,
        ListPointsRules,
        ListClubs,
        ListClubMembers,
        ListReflections,
        ListPhotos,
        GetMember,
    ],
    # Every role that decides anything here (staff, club leaders) holds `lead_clubs`.
    permission=Permission.LEAD_CLUBS,
    personal=True,
    aliases=["inbox", "approvals", "审批"],
)
async def pending(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    items = await gather(turn)
    page = int(args["page"])
    message = turn.numbered(
        "pending",
        Text("chat.points.pending_title", {"count": len(items)}),
        items,
        lambda number, item: Text(
            "chat.points.pending_line", {"number": number, "what": item.line}
        ),
        lambda item: str(item.ref),
        page=page,
        empty=Text("chat.points.pending_empty"),
    )
    if not items:
        return message
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    decide_rows: list[tuple[Button, ...]] = []
    for number, item in enumerate(shown, 1):
        row = [
            button(Text("chat.points.button_approve", {"number": number}), f"/approve {item.ref}"),
            button(Text("chat.points.button_reject", {"number": number}), f"/reject {item.ref}"),
        ]
        kept = tuple(b for b in row if b is not None)
        if kept:
            decide_rows.append(kept)
    return attrs.evolve(message, buttons=(*decide_rows, *message.buttons))


async def _decide(turn: Turn, ref: PendingRef, approve: bool, note: str) -> Outcome:
    if ref.kind == "award":
        decided = await turn.run(DecidePendingAward(ref.id, approve, note))
        who = (await member_names(turn, [decided.member_id]))[decided.member_id]
        key = "chat.points.approved_award" if approve else "chat.points.rejected_award"
        return turn.say(key, member=who, points=decided.points, ref=str(ref))
    if ref.kind == "club":
        membership = await turn.run(DecideClubRequest(ref.club, ref.id, approve, note))
        who = (await member_names(turn, [membership.member_id]))[membership.member_id]
        club: Any = (await _club_names(turn)).get(ref.club, ref.club)
        key = "chat.points.approved_club" if approve else "chat.points.rejected_club"
        return turn.say(key, member=who, club=club, ref=str(ref))
    if ref.kind == "reflection":
        if approve:
            reflection = await turn.run(ApproveReflection(ref.id, note))
        else:
            if not note:
                raise MissingArgument(argument="reason")
            reflection = await turn.run(ReturnReflection(ref.id, note))
        who = (await member_names(turn, [reflection.member_id]))[reflection.member_id]
        key = "chat.points.approved_reflection" if approve else "chat.points.returned_reflection"
        return turn.say(key, member=who, ref=str(ref), reason=note)
    if approve:
        photo = await turn.run(ApprovePhoto(ref.id))
    else:
        if not note:
            raise MissingArgument(argument="reason")
        photo = await turn.run(RejectPhoto(ref.id, note))
    who = (await member_names(turn, [photo.member_id]))[photo.member_id]
    key = "chat.points.approved_photo" if approve else "chat.points.rejected_photo"
    return turn.say(key, member=who, ref=str(ref), reason=note)


DECISIONS = [
    DecidePendingAward,
    DecideClubRequest,
    ApproveReflection,
    ReturnReflection,
    ApprovePhoto,
    RejectPhoto,
    ListClubs,
    GetMember,
]


@route(
    "approve",
    "通过",
    family="staff",
    params=[arg(PENDING), arg(FreeText("comment", max_length=500), optional=True)],
    commands=DECISIONS,
    permission=Permission.LEAD_CLUBS,
    aliases=["批准", "同意"],
)
async def approve(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return await _decide(turn, args["points_pending"], True, args["comment"] or "")


@route(
    "reject",
    "驳回",
    family="staff",
    params=[arg(PENDING), arg(FreeText("reason", max_length=500), optional=True)],
    commands=DECISIONS,
    permission=Permission.LEAD_CLUBS,
    aliases=["拒绝", "退回"],
)
async def reject(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return await _decide(turn, args["points_pending"], False, args["reason"] or "")
