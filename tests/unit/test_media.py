"""The media store, image sniffing, the wall's rotation and volunteer hours: pure pieces."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from huarong_core.domain.smile_wall import (
    SmileWallSettings,
    WallPeriod,
    period_bounds,
    period_index,
    rotation_window,
    wall,
)
from huarong_core.domain.volunteering import Shift, hours_text, parse_hours, require_hours_within
from huarong_core.errors import InvalidValue
from huarong_core.media import (
    MediaRef,
    MediaStore,
    check_image,
    default_media_dir,
    sniff_image_type,
)
from huarong_core.storage.url import parse_database_url

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20),
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20),
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20),
    "image/gif": b"GIF89a\x01\x00\x01\x00" + bytes(20),
}


# --- sniffing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("media_type", "data"), sorted(SAMPLES.items()))
def test_images_are_recognised_by_their_content(media_type: str, data: bytes) -> None:
    assert sniff_image_type(data) == media_type
    assert check_image(data, 1024) == media_type


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",
        b"%PDF-1.7",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"GIF90a",
        b"\x89PNG\r\n",
        b"MZ\x90\x00",
    ],
)
def test_other_content_is_not_an_image(data: bytes) -> None:
    assert sniff_image_type(data) is None
    with pytest.raises(InvalidValue) as refused:
        check_image(data)
    assert (refused.value.field, refused.value.reason) == ("photo", "not_an_image")


def test_size_is_checked_after_type() -> None:
    data = SAMPLES["image/png"]
    assert check_image(data, len(data)) == "image/png"
    with pytest.raises(InvalidValue) as refused:
        check_image(data, len(data) - 1)
    assert refused.value.reason == "photo_too_large"
    with pytest.raises(InvalidValue) as big:
        check_image(SAMPLES["image/gif"] + bytes(6 * 1024 * 1024), 5 * 1024 * 1024)
    assert big.value.value == "6.0 MiB"


# --- the store ---------------------------------------------------------------------------


def test_put_names_the_file_by_its_hash_and_stores_it_once(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    assert not store.root.exists()  # nothing happens before the first put
    data = SAMPLES["image/jpeg"]
    ref = store.put(data)
    digest = hashlib.sha256(data).hexdigest()
    assert ref == MediaRef(digest, "image/jpeg", len(data))
    assert store.path(ref) == tmp_path / "media" / digest[:2] / f"{digest}.jpg"
    assert store.exists(ref)
    assert store.read(ref) == data
    with store.open(ref) as handle:
        assert handle.read() == data
    mtime = store.path(ref).stat().st_mtime_ns
    assert store.put(data) == ref
    assert store.path(ref).stat().st_mtime_ns == mtime
    assert [p.name for p in store.root.rglob("*") if p.is_file()] == [ref.name]
    assert store.path(ref).stat().st_mode & 0o777 == 0o644


def test_a_refused_put_writes_nothing(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(InvalidValue):
        store.put(b"not an image at all")
    with pytest.raises(InvalidValue):
        store.put(SAMPLES["image/png"], max_bytes=10)
    assert not store.root.exists()


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MediaStore(tmp_path / "media")

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        store.put(SAMPLES["image/webp"])
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    ref = MediaRef("0" * 64, "image/gif", 10)
    assert not store.exists(ref)
    with pytest.raises(FileNotFoundError):
        store.open(ref)


@pytest.mark.parametrize(
    ("sha256", "media_type", "size"),
    [
        ("A" * 64, "image/png", 1),
        ("a" * 63, "image/png", 1),
        ("../" + "a" * 61, "image/png", 1),
        ("a" * 64, "text/html", 1),
        ("a" * 64, "image/png", 0),
    ],
)
def test_a_malformed_ref_is_refused(sha256: str, media_type: str, size: int) -> None:
    with pytest.raises(InvalidValue):
        MediaRef(sha256, media_type, size)


def test_the_default_media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    beside = default_media_dir(parse_database_url(f"sqlite:///{tmp_path / 'db' / 'x.db'}"))
    assert beside == tmp_path / "db" / "huarong-media"
    assert default_media_dir(parse_database_url("sqlite:///relative.db")) == (
        tmp_path / "huarong-media"
    )
    assert default_media_dir(parse_database_url("sqlite:///:memory:")) == (
        tmp_path / "huarong-media"
    )
    assert default_media_dir(parse_database_url("postgresql://u@h/db")) == (
        tmp_path / "huarong-media"
    )
    assert default_media_dir(None) == tmp_path / "huarong-media"


# --- the rotation ------------------------------------------------------------------------


def test_a_small_pool_shows_every_photo() -> None:
    assert rotation_window([1, 2], 17, 3) == [1, 2]
    assert rotation_window([], 17, 3) == []


@pytest.mark.parametrize(("count", "places"), [(7, 3), (12, 12), (13, 12), (5, 2), (100, 12)])
def test_consecutive_windows_go_round_the_pool(count: int, places: int) -> None:
    pool = list(range(count))
    first = 738_000
    shown = [item for i in range(first, first + count) for item in rotation_window(pool, i, places)]
    start = shown[0]
    assert shown == [(start + j) % count for j in range(count * min(places, count))]


def test_newcomers_only_fill_empty_places() -> None:
    assert wall([1, 2], [3, 4, 5], 0, 3) == [1, 2, 3]
    assert wall([1, 2, 3, 4], [5], 0, 3) == [1, 2, 3]
    assert wall([], [5, 6], 0, 3) == [5, 6]


def test_periods_follow_the_local_calendar() -> None:
    sunday_night = datetime(2026, 7, 5, 23, 30, tzinfo=SHANGHAI)
    monday = datetime(2026, 7, 6, 0, 0, tzinfo=SHANGHAI)
    assert period_index(monday, SHANGHAI, WallPeriod.WEEK) == (
        period_index(sunday_night, SHANGHAI, WallPeriod.WEEK) + 1
    )
    assert period_index(monday, SHANGHAI, WallPeriod.DAY) == date(2026, 7, 6).toordinal()
    # 2026-07-05 16:00 UTC is already Monday in Shanghai.
    utc = datetime(2026, 7, 5, 16, 0, tzinfo=UTC)
    assert period_bounds(utc, SHANGHAI, WallPeriod.WEEK) == (
        monday.astimezone(UTC),
        (monday + timedelta(days=7)).astimezone(UTC),
    )
    assert period_bounds(sunday_night, SHANGHAI, WallPeriod.DAY) == (
        datetime(2026, 7, 5, tzinfo=SHANGHAI).astimezone(UTC),
        monday.astimezone(UTC),
    )


def test_wall_settings_are_checked() -> None:
    with pytest.raises(InvalidValue):
        SmileWallSettings(photos_per_period=0)
    with pytest.raises(InvalidValue):
        SmileWallSettings(max_bytes=10)


# --- volunteer hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hundredths", "back"),
    [("2.5", 250, "2.5"), ("3", 300, "3"), (" 0.25 ", 25, "0.25"), ("10.50", 1050, "10.5")],
)
def test_hours_are_exact_decimals(text: str, hundredths: int, back: str) -> None:
    assert parse_hours(text) == hundredths
    assert hours_text(hundredths) == back


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "not_positive"),
        ("-2", "not_positive"),
        ("1.005", "too_precise"),
        ("abc", "not_a_number"),
        ("inf", "not_a_number"),
        ("", "not_a_number"),
    ],
)
def test_bad_hours_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_hours(text)
    assert refused.value.reason == reason


def test_hours_may_not_exceed_the_shift() -> None:
    starts = datetime(2026, 7, 10, 9, tzinfo=SHANGHAI)
    shift = Shift(1, 1, starts, starts + timedelta(hours=2, minutes=30), 3)
    require_hours_within(250, shift)
    with pytest.raises(InvalidValue) as refused:
        require_hours_within(251, shift)
    assert refused.value.reason == "exceeds_shift_length"
