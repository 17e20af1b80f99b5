"""Uploaded media (the smile wall's photos): content-addressed files in one directory.

A unit of work awaits nothing but the database, so a photo reaches the
core in two steps, and `submit_photo` below does both for an adapter:

1. The caller checks the bytes and writes them to a `MediaStore`, outside
   any transaction (`asyncio.to_thread`, the write blocks). The store
   sniffs the type from the content (JPEG, PNG, WebP or GIF; the file name
   and the platform's claimed type are never trusted), refuses anything
   else or anything larger than the limit, and stores the file under its
   SHA-256: written to a temporary file in the same directory, flushed,
   then renamed into place, so a reader never sees half a file and the
   same photo uploaded twice is stored once. `put` returns a `MediaRef`:
   hash, sniffed type and size.
2. The caller executes `SubmitPhoto(media=ref, caption=...)`; its handler
   checks the ref's recorded type and size against the community's
   `[smile_wall]` settings and records the photo for moderation.

Nothing is written for a refused upload: the type, the caption and the
size limit are checked before the file is. A command refused after the
write (say the member was suspended in between) leaves an unreferenced
file behind; being content-addressed it is reused by a later upload of
the same photo and harms nothing else. Files are never deleted here: two
photos may share one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import attrs
import structlog

from huarong_core.errors import InvalidValue

if TYPE_CHECKING:
    from huarong_core.app import CommunityHandle, Delivery
    from huarong_core.domain.audit import Actor
    from huarong_core.domain.smile_wall import Photo
    from huarong_core.storage.url import DatabaseURL

__all__ = [
    "DEFAULT_MEDIA_DIR_NAME",
    "IMAGE_TYPES",
    "MediaRef",
    "MediaStore",
    "check_image",
    "check_size",
    "default_media_dir",
    "sniff_image_type",
    "submit_photo",
]

log = structlog.get_logger(__name__)

DEFAULT_MEDIA_DIR_NAME = "huarong-media"
IMAGE_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}
"""The media types the smile wall accepts, with the file extension each is stored under."""
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


def sniff_image_type(data: bytes) -> str | None:
    """The image type the content itself declares (its magic bytes), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size} B"


def check_image(data: bytes, max_bytes: int | None = None) -> str:
    """The sniffed type of an acceptable image; refuses other content and oversized files."""
    media_type = sniff_image_type(data)
    if media_type is None:
        raise InvalidValue(field="photo", value=_size_text(len(data)), reason="not_an_image")
    if max_bytes is not None:
        check_size(len(data), max_bytes)
    return media_type


def check_size(size: int, max_bytes: int) -> None:
    """Refuse a file larger than `max_bytes`."""
    if size > max_bytes:
        raise InvalidValue(field="photo", value=_size_text(size), reason="photo_too_large")


def _check_sha256(_: object, __: object, value: str) -> None:
    if not _SHA256.match(value):
        raise InvalidValue(field="photo", value=value[:16], reason="bad_media_ref")


def _check_media_type(_: object, __: object, value: str) -> None:
    if value not in IMAGE_TYPES:
        raise InvalidValue(field="photo", value=value, reason="not_an_image")


def _check_size(_: object, __: object, value: int) -> None:
    if value <= 0:
        raise InvalidValue(field="photo", value=str(value), reason="bad_media_ref")


@attrs.frozen
class MediaRef:
    """A stored file: its SHA-256 (lowercase hex), sniffed media type and size in bytes."""

    sha256: str = attrs.field(validator=_check_sha256)
    media_type: str = attrs.field(validator=_check_media_type)
    size: int = attrs.field(validator=_check_size)

    @property
    def name(self) -> str:
        """The file name: `<sha256>.<ext>`."""
        return f"{self.sha256}{IMAGE_TYPES[self.media_type]}"


class MediaStore:
    """Files named by their content's SHA-256, under `root/<first two hex digits>/`.

    Nothing touches the disk until the first `put`; every method blocks, so
    async callers run them in a thread (`asyncio.to_thread`).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser()
        try:
            self.root = path.absolute()
        except OSError:  # no working directory to resolve against (yet)
            self.root = path

    def __repr__(self) -> str:
        return f"MediaStore({str(self.root)!r})"

    def path(self, ref: MediaRef) -> Path:
        """Where the file of `ref` lives (whether or not it is there)."""
        return self.root / ref.sha256[:2] / ref.name

    def exists(self, ref: MediaRef) -> bool:
        return self.path(ref).is_file()

    def open(self, ref: MediaRef) -> BinaryIO:
        """The stored file, opened for reading; `FileNotFoundError` when it is missing."""
        return self.path(ref).open("rb")

    def read(self, ref: MediaRef) -> bytes:
        return self.path(ref).read_bytes()

    def put(self, data: bytes, *, max_bytes: int | None = None) -> MediaRef:
        """Store an image (see `check_image`) and return its ref; storing it again is a no-op."""
        media_type = check_image(data, max_bytes)
        ref = MediaRef(hashlib.sha256(data).hexdigest(), media_type, len(data))
        target = self.path(ref)
        if target.is_file() and target.stat().st_size == ref.size:
            return ref
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _sync_directory(target.parent)
        log.info("media.stored", sha256=ref.sha256, media_type=ref.media_type, size=ref.size)
        return ref


def _sync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself is atomic
    finally:
        os.close(fd)


def default_media_dir(url: DatabaseURL | None) -> Path:
    """`huarong-media` beside a SQLite file, else in the working directory."""
    from huarong_core.storage.url import SqliteURL

    try:
        if isinstance(url, SqliteURL) and not url.in_memory:
            return Path(url.path).expanduser().absolute().parent / DEFAULT_MEDIA_DIR_NAME
        return Path.cwd() / DEFAULT_MEDIA_DIR_NAME
    except OSError:  # the working directory is gone: resolve when first used
        return Path(DEFAULT_MEDIA_DIR_NAME)


async def submit_photo(
    handle: CommunityHandle,
    store: MediaStore,
    actor: Actor,
    data: bytes,
    caption: str,
    *,
    delivery: Delivery | None = None,
) -> Photo:
    """Check, store and submit a photo for the smile wall: what an adapter calls on an upload.

    The community's limits are read first and the bytes and caption checked
    against them, so a refused upload writes nothing; then the file is
    stored (in a thread) and `SubmitPhoto` executed with its ref.
    """
    from huarong_core.commands.volunteering import GetPhotoLimits, SubmitPhoto
    from huarong_core.domain.smile_wall import check_caption

    limits = await handle.execute(GetPhotoLimits(), actor=actor)
    check_image(data, limits.max_bytes)
    check_caption(caption, limits.max_caption)
    ref = await asyncio.to_thread(store.put, data, max_bytes=limits.max_bytes)
    return await handle.execute(
        SubmitPhoto(media=ref, caption=caption), actor=actor, delivery=delivery
    )
