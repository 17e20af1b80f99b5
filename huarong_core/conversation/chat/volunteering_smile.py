"""The smile wall (笑脸墙): what is on it, sending a photo, one's own photos, moderation lists.

Approving and rejecting pending photos belongs to the staff inbox
(`/approve`, `/reject`); these routes show the wall, take uploads, and let
the owner or a moderator take a photo down.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from huarong_core.commands import (
    GetPhoto,
    GetPhotoLimits,
    GetSmileWall,
    ListPhotos,
    PhotoLimits,
    RemovePhoto,
    SubmitPhoto,
)
from huarong_core.commands.base import MAX_PAGE_SIZE
from huarong_core.conversation.arguments import Choice, FreeText, Ref, arg, page_arg
from huarong_core.conversation.chat.library import id_lookup, ref_id
from huarong_core.conversation.errors import MissingArgument
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Button, Text
from huarong_core.domain.roles import Permission
from huarong_core.domain.smile_wall import Photo, PhotoStatus
from huarong_core.media import submit_photo

PHOTO = Ref("lib_photo", "photo", id_lookup("lib_photo"))

STATUSES: dict[str, PhotoStatus] = {
    "pending": PhotoStatus.PENDING,
    "待审核": PhotoStatus.PENDING,
    "待审": PhotoStatus.PENDING,
    "approved": PhotoStatus.APPROVED,
    "已通过": PhotoStatus.APPROVED,
    "通过": PhotoStatus.APPROVED,
    "rejected": PhotoStatus.REJECTED,
    "已拒绝": PhotoStatus.REJECTED,
    "拒绝": PhotoStatus.REJECTED,
    "removed": PhotoStatus.REMOVED,
    "已撤下": PhotoStatus.REMOVED,
    "撤下": PhotoStatus.REMOVED,
}


def limits_line(limits: PhotoLimits) -> Text:
    kinds = "/".join(t.split("/")[-1].upper() for t in limits.media_types)
    return Text(
        "chat.smile.limits",
        {"caption": limits.max_caption, "size": size_text(limits.max_bytes), "types": kinds},
    )


def size_text(size: int) -> str:
    """`5 MB`, `4 KB`: unit symbols read the same in every language."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            value = (Decimal(size) / factor).quantize(Decimal("0.1")).normalize()
            return f"{value:f} {unit}"
    return f"{size} B"


def status_text(photo: Photo) -> Text:
    return Text(f"chat.smile.status.{photo.status.value}")


@route(
    "smile",
    "微笑墙",
    family="volunteering",
    params=[arg(FreeText("lib_caption", max_length=1000), optional=True)],
    commands=[GetSmileWall, GetPhotoLimits, SubmitPhoto],
    aliases=["笑脸墙", "smilewall"],
)
async def smile(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The wall; with a photo attached (its caption as the text), a submission."""
    caption: str | None = args["lib_caption"]
    data = turn.incoming.photo
    if data is not None:
        if not caption:
            raise MissingArgument(argument="lib_caption")
        photo = await submit_photo(
            turn.handle,
            turn.handle.media,
            turn.actor,
            data,
            caption,
            delivery=turn.next_delivery(),
        )
        return turn.say("chat.smile.submitted", photo=ref_id(photo.id), caption=photo.caption)
    wall = await turn.run(GetSmileWall())
    limits = await turn.run(GetPhotoLimits())
    lines = []
    if caption:
        lines.append(Text("chat.smile.no_photo"))
    lines.append(
        Text(
            "chat.smile.wall_title",
            {
                "from": wall.starts_at,
                "to": wall.ends_at,
                "count": len(wall.photos),
                "period": Text(f"chat.smile.period.{wall.period.value}"),
            },
        )
    )
    for n, photo in enumerate(wall.photos, 1):
        lines.append(
            Text(
                "chat.smile.wall_line",
                {"n": n, "photo": ref_id(photo.id), "caption": photo.caption},
            )
        )
    if not wall.photos:
        lines.append(Text("chat.smile.wall_empty"))
    lines.append(Text("chat.smile.how"))
    lines.append(limits_line(limits))
    turn.remember("photo", [ref_id(p.id) for p in wall.photos])
    return turn.lines(*lines)


def _photo_line(n: int, photo: Photo) -> Text:
    return Text(
        "chat.smile.photo_line",
        {
            "n": n,
            "photo": ref_id(photo.id),
            "caption": photo.caption,
            "status": status_text(photo),
            "when": photo.submitted_at,
        },
    )


@route(
    "photos",
    "照片",
    family="staff",
    params=[arg(Choice("lib_photo_status", STATUSES), optional=True), page_arg()],
    commands=[ListPhotos],
    permission=Permission.MODERATE_SMILE_WALL,
)
async def photos(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Photos by status, the pending queue by default (moderators)."""
    status: PhotoStatus = args["lib_photo_status"] or PhotoStatus.PENDING
    found = await turn.run(ListPhotos(status=status, limit=MAX_PAGE_SIZE))
    return turn.numbered(
        "photo",
        Text("chat.smile.photos_title", {"status": Text(f"chat.smile.status.{status.value}")}),
        found,
        _photo_line,
        lambda p: ref_id(p.id),
        page=args["page"],
        more=status.value,
        empty=Text("chat.smile.photos_none"),
        item_button=lambda n, p: Button(
            Text("chat.smile.button_photo", {"n": n}), f"/photo {ref_id(p.id)}"
        ),
    )


@route(
    "myphotos",
    "我的照片",
    family="volunteering",
    params=[page_arg()],
    commands=[ListPhotos],
    personal=True,
)
async def myphotos(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListPhotos(status=None, member_id=turn.member.id, limit=MAX_PAGE_SIZE))
    return turn.numbered(
        "photo",
        Text("chat.smile.myphotos_title"),
        found,
        _photo_line,
        lambda p: ref_id(p.id),
        page=args["page"],
        empty=Text("chat.smile.myphotos_none"),
    )


@route(
    "photo",
    "照片详情",
    family="volunteering",
    params=[arg(PHOTO)],
    commands=[GetPhoto],
)
async def photo(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(GetPhoto(args["lib_photo"]))
    lines = [
        Text(
            "chat.smile.photo_head",
            {
                "photo": ref_id(found.id),
                "caption": found.caption,
                "status": status_text(found),
                "when": found.submitted_at,
            },
        )
    ]
    if found.reason:
        lines.append(Text("chat.smile.photo_reason", {"reason": found.reason}))
    return turn.lines(*lines)


@route(
    "removephoto",
    "撤下照片",
    family="volunteering",
    params=[arg(PHOTO), arg(FreeText("reason", max_length=500), optional=True)],
    commands=[RemovePhoto],
)
async def removephoto(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The owner takes their photo down; a moderator takes anyone's, giving a reason."""
    removed = await turn.run(RemovePhoto(args["lib_photo"], args["reason"] or ""))
    return turn.say("chat.smile.removed", photo=ref_id(removed.id), caption=removed.caption)
