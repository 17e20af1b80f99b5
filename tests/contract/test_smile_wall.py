"""The smile wall: uploads checked and stored, moderation, and the rotation per period."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    ApprovePhoto,
    GetPhoto,
    GetPhotoLimits,
    GetSmileWall,
    ListPhotos,
    RejectPhoto,
    RemovePhoto,
    SubmitPhoto,
)
from huarong_core.domain.smile_wall import Photo, PhotoStatus, WallPeriod
from huarong_core.errors import (
    AlreadyExists,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from huarong_core.media import MediaRef, MediaStore, submit_photo
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import Pair, actor_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n"

WALL_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "bob"
name = "Bob"

[smile_wall]
photos_per_period = 3
period = "day"
max_bytes = 4096
"""
)


@pytest.fixture
async def wall(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=WALL_COMMUNITY, clock=clock) as pair:
        yield pair


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def image(n: int, size: int = 64) -> bytes:
    """A distinct small "PNG" (only its magic bytes matter to the checks)."""
    body = f"photo {n}".encode()
    return PNG + body + bytes(max(0, size - len(PNG) - len(body)))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def files(store: MediaStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


async def post(
    handle: CommunityHandle, store: MediaStore, actor: Actor, n: int, caption: str = "Smile!"
) -> Photo:
    return await submit_photo(handle, store, actor, image(n), caption)


# --- uploads and moderation --------------------------------------------------------------


async def test_a_photo_is_stored_submitted_approved_and_shown(
    wall: Pair, store: MediaStore
) -> None:
    huarong, handle = wall
    alice = await actor_for(handle, "alice")
    admin = await actor_for(handle, "admin")
    staff = await actor_for(handle, "staff")

    photo = await post(handle, store, alice, 1, "  Tea club  ")
    assert (photo.status, photo.caption, photo.member_id) == (
        PhotoStatus.PENDING,
        "Tea club",
        alice.member_id,
    )
    assert photo.media.media_type == "image/png"
    assert store.read(photo.media) == image(1)
    assert store.path(photo.media).name == f"{photo.media.sha256}.png"
    assert [p.name for p in files(store)] == [photo.media.name]

    # Nobody else sees it until it is approved.
    with pytest.raises(NotFound):
        await handle.execute(GetPhoto(photo.id), actor=await actor_for(handle, "bob"))
    with pytest.raises(PermissionDenied):
        await handle.execute(ListPhotos(), actor=alice)
    assert [p.id for p in await handle.execute(ListPhotos(), actor=staff)] == [photo.id]
    own = await handle.execute(ListPhotos(status=None, member_id=alice.member_id), actor=alice)
    assert [p.id for p in own] == [photo.id]
    assert (await handle.execute(GetSmileWall(), actor=alice)).photos == ()

    with pytest.raises(PermissionDenied):
        await handle.execute(ApprovePhoto(photo.id), actor=alice)
    approved = await handle.execute(ApprovePhoto(photo.id), actor=staff)
    assert approved.status is PhotoStatus.APPROVED
    (told,) = await events_of(huarong, "smile_wall.approved")
    assert told["recipients"] == [alice.member_id]
    assert await handle.execute(GetPhoto(photo.id), actor=admin) == approved
    shown = await handle.execute(GetSmileWall(), actor=admin)
    assert [p.id for p in shown.photos] == [photo.id]

    with pytest.raises(InvalidTransition) as again:
        await handle.execute(RejectPhoto(photo.id, "blurry"), actor=staff)
    assert (again.value.state, again.value.wanted) == ("approved", "rejected")
    with pytest.raises(AlreadyExists):
        await post(handle, store, alice, 1, "the same again")


async def test_oversized_or_non_image_uploads_store_nothing(wall: Pair, store: MediaStore) -> None:
    huarong, handle = wall
    alice = await actor_for(handle, "alice")
    limits = await handle.execute(GetPhotoLimits(), actor=alice)
    assert limits.max_bytes == 4096
    assert set(limits.media_types) == {"image/jpeg", "image/png", "image/webp", "image/gif"}

    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as large:
        await submit_photo(handle, store, alice, image(1, size=4097), "Too big")
    assert (large.value.field, large.value.reason) == ("photo", "photo_too_large")
    for data in (b"%PDF-1.7 not a photo", b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        with pytest.raises(InvalidValue) as other:
            await submit_photo(handle, store, alice, data, "Not an image")
        assert other.value.reason == "not_an_image"
    with pytest.raises(InvalidValue) as no_caption:
        await submit_photo(handle, store, alice, image(2), "   ")
    assert (no_caption.value.field, no_caption.value.reason) == ("caption", "empty")
    with pytest.raises(InvalidValue) as long_caption:
        await submit_photo(handle, store, alice, image(2), "x" * 201)
    assert long_caption.value.reason == "too_long"
    assert files(store) == []
    assert await snapshot(huarong.db) == before

    # A file stored under a larger limit is refused by the command itself.
    roomy = MediaStore(store.root)
    ref = roomy.put(image(3, size=5000))
    with pytest.raises(InvalidValue) as stored_large:
        await handle.execute(SubmitPhoto(media=ref, caption="Sneaky"), actor=alice)
    assert stored_large.value.reason == "photo_too_large"
    assert await snapshot(huarong.db) == before


async def test_rejection_needs_a_reason_and_tells_the_member(wall: Pair, store: MediaStore) -> None:
    huarong, handle = wall
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    photo = await post(handle, store, alice, 1)
    with pytest.raises(InvalidValue) as no_reason:
        await handle.execute(RejectPhoto(photo.id, "  "), actor=staff)
    assert (no_reason.value.field, no_reason.value.reason) == ("reason", "empty")
    with pytest.raises(PermissionDenied):
        await handle.execute(RejectPhoto(photo.id, "no"), actor=alice)
    rejected = await handle.execute(RejectPhoto(photo.id, "Faces are blurred"), actor=staff)
    assert (rejected.status, rejected.reason) == (PhotoStatus.REJECTED, "Faces are blurred")
    (told,) = await events_of(huarong, "smile_wall.rejected")
    assert (told["recipients"], told["reason"]) == ([alice.member_id], "Faces are blurred")
    with pytest.raises(InvalidTransition):
        await handle.execute(ApprovePhoto(photo.id), actor=staff)
    with pytest.raises(NotFound):
        await handle.execute(ApprovePhoto(photo.id + 100), actor=staff)
    # A rejected photo may be submitted again (a better caption, say).
    again = await post(handle, store, alice, 1, "Second try")
    assert again.id != photo.id
    assert len(files(store)) == 1


async def test_owners_and_moderators_take_photos_down(wall: Pair, store: MediaStore) -> None:
    huarong, handle = wall
    alice = await actor_for(handle, "alice")
    admin = await actor_for(handle, "admin")
    staff = await actor_for(handle, "staff")
    mine = await post(handle, store, alice, 1)
    theirs = await post(handle, store, admin, 2)
    for photo in (mine, theirs):
        await handle.execute(ApprovePhoto(photo.id), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(RemovePhoto(theirs.id), actor=alice)
    gone = await handle.execute(RemovePhoto(mine.id), actor=alice)
    assert gone.status is PhotoStatus.REMOVED
    with pytest.raises(InvalidValue):
        await handle.execute(RemovePhoto(theirs.id), actor=staff)  # staff give a reason
    await handle.execute(RemovePhoto(theirs.id, "Asked by the company"), actor=staff)
    notices = await events_of(huarong, "smile_wall.removed")
    assert [n["recipients"] for n in notices] == [[], [admin.member_id]]
    assert (await handle.execute(GetSmileWall(), actor=alice)).photos == ()


# --- the rotation ----------------------------------------------------------------------


async def test_the_wall_rotates_through_the_approved_photos_day_by_day(
    wall: Pair, store: MediaStore, clock: FrozenClock
) -> None:
    _, handle = wall
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    first_day = date(2026, 7, 1)
    clock.set(local(first_day, 10))
    order = []
    for n in range(7):
        photo = await post(handle, store, alice, n)
        clock.advance(minutes=5)
        await handle.execute(ApprovePhoto(photo.id), actor=staff)
        order.append(photo.id)

    # The first day: nothing was approved before it began, so the newest approvals fill it.
    today = await handle.execute(GetSmileWall(), actor=alice)
    assert [p.id for p in today.photos] == order[:3]
    assert (today.period, today.in_rotation) == (WallPeriod.DAY, 0)
    assert today.starts_at == local(first_day, 0)
    assert today.ends_at == local(first_day + timedelta(days=1), 0)

    # Then seven days of three places go round the seven photos exactly three times,
    # each day continuing where the last stopped.
    shown: list[int] = []
    for offset in range(1, 8):
        day = first_day + timedelta(days=offset)
        morning = await handle.execute(GetSmileWall(at=local(day, 0)), actor=alice)
        evening = await handle.execute(GetSmileWall(at=local(day, 23, 59)), actor=alice)
        assert morning == evening  # one window per local day
        assert morning.in_rotation == 7
        assert len(morning.photos) == 3
        shown.extend(p.id for p in morning.photos)
    start = order.index(shown[0])
    assert shown == [order[(start + i) % 7] for i in range(21)]

    # A photo approved today joins the rotation tomorrow.
    clock.set(local(first_day + timedelta(days=2), 12))
    late = await post(handle, store, alice, 99)
    await handle.execute(ApprovePhoto(late.id), actor=staff)
    now = await handle.execute(GetSmileWall(), actor=alice)
    assert late.id not in {p.id for p in now.photos}
    assert now.in_rotation == 7
    seen: set[int] = set()
    for offset in range(3, 6):
        day = first_day + timedelta(days=offset)
        later = await handle.execute(GetSmileWall(at=local(day, 9)), actor=alice)
        assert later.in_rotation == 8
        seen |= {p.id for p in later.photos}
    assert late.id in seen


async def test_a_weekly_wall_changes_on_monday_in_the_community_time_zone(
    database_url: str, store: MediaStore, clock: FrozenClock
) -> None:
    config = WALL_COMMUNITY.replace('period = "day"', 'period = "week"').replace(
        "photos_per_period = 3", "photos_per_period = 2"
    )
    async with open_test_community(database_url, config=config, clock=clock) as (_, handle):
        alice = await actor_for(handle, "alice")
        staff = await actor_for(handle, "staff")
        clock.set(local(date(2026, 6, 30), 10))  # a Tuesday
        order = []
        for n in range(5):
            photo = await post(handle, store, alice, n)
            await handle.execute(ApprovePhoto(photo.id), actor=staff)
            order.append(photo.id)

        async def ids(at: datetime) -> list[int]:
            found = await handle.execute(GetSmileWall(at=at), actor=alice)
            return [p.id for p in found.photos]

        monday = date(2026, 7, 6)
        week = await ids(local(monday, 0))
        assert len(week) == 2
        assert await ids(local(monday + timedelta(days=6), 23, 59)) == week
        # Up to Sunday night in Shanghai it is the approvals' own week: the first two show.
        assert await ids(local(monday - timedelta(days=1), 23, 59)) == order[:2]
        assert await ids(local(monday, 0) - timedelta(seconds=1)) == order[:2]
        following = await ids(local(monday + timedelta(days=7), 0))
        assert len(following) == 2
        assert not set(week) & set(following)
        wall_now = await handle.execute(GetSmileWall(at=local(monday, 8)), actor=alice)
        assert wall_now.starts_at == local(monday, 0)
        assert wall_now.ends_at == local(monday + timedelta(days=7), 0)


async def test_the_default_media_dir_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    async with Huarong(f"sqlite:///{tmp_path / 'building.db'}") as huarong:
        assert huarong.media.root == tmp_path / "huarong-media"
        assert not huarong.media.root.exists()
    chosen = tmp_path / "elsewhere"
    assert Huarong("sqlite:///:memory:", media_dir=chosen).media.root == chosen


def test_a_forged_ref_is_refused() -> None:
    with pytest.raises(InvalidValue):
        MediaRef("../../etc/passwd", "image/png", 10)
    with pytest.raises(InvalidValue):
        MediaRef("a" * 64, "image/svg+xml", 10)
