"""The smile wall (笑脸墙): members submit photos, moderators approve or reject, the wall rotates.

The photo's file is already stored when `SubmitPhoto` arrives (a unit of
work does no file I/O; see `huarong_core.media`): the handler checks the
ref's recorded type and size against the `[smile_wall]` settings and
records the photo as pending. Approval and rejection are conditional
updates from `pending`, so two moderators deciding at once cannot both
win; the member is told either way. `GetSmileWall` computes the rotation
(`huarong_core.domain.smile_wall`) from the approved photos alone.
"""

from __future__ import annotations

from huarong_core.commands import (
    ApprovePhoto,
    GetPhoto,
    GetPhotoLimits,
    GetSmileWall,
    ListPhotos,
    PhotoLimits,
    RejectPhoto,
    RemovePhoto,
    SmileWall,
    SubmitPhoto,
)
from huarong_core.domain.roles import Permission
from huarong_core.domain.smile_wall import (
    MAX_CAPTION,
    MAX_REASON,
    Photo,
    PhotoStatus,
    SmileWallSettings,
    WallPeriod,
    check_caption,
    period_bounds,
    period_index,
    wall,
)
from huarong_core.domain.validation import require_name
from huarong_core.errors import AlreadyExists, InvalidTransition, InvalidValue, NotFound
from huarong_core.events import PhotoApproved, PhotoRejected, PhotoRemoved, PhotoSubmitted
from huarong_core.media import IMAGE_TYPES, check_size
from huarong_core.services.context import Context
from huarong_core.services.registry import handles

SETTINGS_AREA = "smile_wall"


def _settings_dict(settings: SmileWallSettings) -> dict[str, object]:
    return {
        "photos_per_period": settings.photos_per_period,
        "period": settings.period.value,
        "max_bytes": settings.max_bytes,
    }


def _settings_from(data: dict[str, object] | None) -> SmileWallSettings:
    if data is None:
        return SmileWallSettings()
    default = SmileWallSettings()
    return SmileWallSettings(
        photos_per_period=int(str(data.get("photos_per_period", default.photos_per_period))),
        period=WallPeriod(str(data.get("period", default.period.value))),
        max_bytes=int(str(data.get("max_bytes", default.max_bytes))),
    )


async def smile_wall_settings(ctx: Context) -> SmileWallSettings:
    if "smile_wall_settings" not in ctx.memo:
        ctx.memo["smile_wall_settings"] = _settings_from(
            await ctx.repos.volunteering.settings(SETTINGS_AREA)
        )
    settings: SmileWallSettings = ctx.memo["smile_wall_settings"]
    return settings


async def save_smile_wall_settings(ctx: Context, settings: SmileWallSettings) -> str:
    """`created`, `changed` or `unchanged`; the defaults are never written."""
    stored = await ctx.repos.volunteering.settings(SETTINGS_AREA)
    if stored is None and settings == SmileWallSettings():
        return "unchanged"
    if stored is not None and _settings_from(stored) == settings:
        return "unchanged"
    await ctx.repos.volunteering.save_settings(SETTINGS_AREA, _settings_dict(settings))
    ctx.memo.pop("smile_wall_settings", None)
    await ctx.audit("smile_wall.settings", f"community:{ctx.community.key}")
    return "created" if stored is None else "changed"


def _can_moderate(ctx: Context) -> bool:
    return ctx.can_anywhere(Permission.MODERATE_SMILE_WALL)


async def _get_photo(ctx: Context, photo_id: int) -> Photo:
    found = await ctx.repos.volunteering.photo(photo_id)
    if found is None:
        raise NotFound(entity="photo", ref=f"#{photo_id}")
    return found


async def _visible_photo(ctx: Context, photo_id: int) -> Photo:
    """A photo the actor may see; others' unapproved photos do not exist for them."""
    photo = await _get_photo(ctx, photo_id)
    if (
        photo.status is not PhotoStatus.APPROVED
        and photo.member_id != ctx.actor.member_id
        and not _can_moderate(ctx)
    ):
        raise NotFound(entity="photo", ref=photo.ref)
    return photo


@handles(GetPhotoLimits)
async def photo_limits(ctx: Context, cmd: GetPhotoLimits) -> PhotoLimits:
    settings = await smile_wall_settings(ctx)
    return PhotoLimits(settings.max_bytes, tuple(IMAGE_TYPES), MAX_CAPTION)


@handles(SubmitPhoto)
async def submit_photo(ctx: Context, cmd: SubmitPhoto) -> Photo:
    member_id = ctx.target_member(None)
    settings = await smile_wall_settings(ctx)
    check_size(cmd.media.size, settings.max_bytes)  # the file may predate a lower limit
    caption = check_caption(cmd.caption)
    existing = await ctx.repos.volunteering.live_photo_of(member_id, cmd.media.sha256)
    if existing is not None:
        raise AlreadyExists(entity="photo", ref=existing.ref)
    photo = await ctx.repos.volunteering.insert_photo(member_id, cmd.media, caption, ctx.now)
    ctx.record(PhotoSubmitted(photo.id, member_id))
    return photo


def _refused(photo_id: int, current: Photo | None, wanted: PhotoStatus) -> Exception:
    if current is None:
        return NotFound(entity="photo", ref=f"#{photo_id}")
    return InvalidTransition(
        entity="photo", ref=current.ref, state=current.status.value, wanted=wanted.value
    )


@handles(ApprovePhoto)
async def approve_photo(ctx: Context, cmd: ApprovePhoto) -> Photo:
    ctx.require_anywhere(Permission.MODERATE_SMILE_WALL)
    repo = ctx.repos.volunteering
    done = await repo.decide_photo(
        cmd.photo_id, (PhotoStatus.PENDING,), PhotoStatus.APPROVED, ctx.actor.label, None, ctx.now
    )
    if done is None:
        raise _refused(cmd.photo_id, await repo.photo(cmd.photo_id), PhotoStatus.APPROVED)
    await ctx.audit("smile_wall.approve", f"photo:{done.id}", member=done.member_id)
    ctx.record(PhotoApproved(done.id, done.member_id, (done.member_id,)))
    return done


@handles(RejectPhoto)
async def reject_photo(ctx: Context, cmd: RejectPhoto) -> Photo:
    ctx.require_anywhere(Permission.MODERATE_SMILE_WALL)
    reason = require_name("reason", cmd.reason, max_length=MAX_REASON)
    repo = ctx.repos.volunteering
    done = await repo.decide_photo(
        cmd.photo_id,
        (PhotoStatus.PENDING,),
        PhotoStatus.REJECTED,
        ctx.actor.label,
        reason,
        ctx.now,
    )
    if done is None:
        raise _refused(cmd.photo_id, await repo.photo(cmd.photo_id), PhotoStatus.REJECTED)
    await ctx.audit("smile_wall.reject", f"photo:{done.id}", member=done.member_id, reason=reason)
    ctx.record(PhotoRejected(done.id, done.member_id, reason, (done.member_id,)))
    return done


@handles(RemovePhoto)
async def remove_photo(ctx: Context, cmd: RemovePhoto) -> Photo:
    photo = await _visible_photo(ctx, cmd.photo_id)
    own = photo.member_id == ctx.actor.member_id
    if not own:
        ctx.require_anywhere(Permission.MODERATE_SMILE_WALL)
    reason = cmd.reason.strip()
    if not own:
        reason = require_name("reason", cmd.reason, max_length=MAX_REASON)
    elif len(reason) > MAX_REASON:
        raise InvalidValue(field="reason", value=reason[:20] + "…", reason="too_long")
    repo = ctx.repos.volunteering
    done = await repo.decide_photo(
        photo.id,
        (PhotoStatus.PENDING, PhotoStatus.APPROVED),
        PhotoStatus.REMOVED,
        ctx.actor.label,
        reason or None,
        ctx.now,
    )
    if done is None:
        raise _refused(photo.id, await repo.photo(photo.id), PhotoStatus.REMOVED)
    if not own:
        await ctx.audit("smile_wall.remove", f"photo:{done.id}", member=done.member_id)
    ctx.record(PhotoRemoved(done.id, done.member_id, reason, () if own else (done.member_id,)))
    return done


@handles(GetPhoto)
async def get_photo(ctx: Context, cmd: GetPhoto) -> Photo:
    return await _visible_photo(ctx, cmd.photo_id)


@handles(ListPhotos)
async def list_photos(ctx: Context, cmd: ListPhotos) -> tuple[Photo, ...]:
    own = cmd.member_id is not None and cmd.member_id == ctx.actor.member_id
    if not own:
        ctx.require_anywhere(Permission.MODERATE_SMILE_WALL)
    return tuple(
        await ctx.repos.volunteering.photos(
            status=cmd.status, member_id=cmd.member_id, limit=cmd.limit
        )
    )


@handles(GetSmileWall)
async def smile_wall(ctx: Context, cmd: GetSmileWall) -> SmileWall:
    at = cmd.at or ctx.now
    if at.tzinfo is None:
        raise InvalidValue(field="at", value=str(at), reason="naive_time")
    settings = await smile_wall_settings(ctx)
    tz = ctx.community.tz
    starts, ends = period_bounds(at, tz, settings.period)
    repo = ctx.repos.volunteering
    pool = await repo.approved_ids(before=starts)
    newcomers = await repo.approved_ids(since=starts, up_to=at)
    shown = wall(pool, newcomers, period_index(at, tz, settings.period), settings.photos_per_period)
    found = {p.id: p for p in await repo.photos(ids=shown, limit=len(shown) or 1)}
    return SmileWall(
        settings.period,
        starts,
        ends,
        tuple(found[i] for i in shown),
        len(pool),
    )
