"""Smile-wall photos over HTTP: a multipart upload, and the stored file itself.

`SubmitPhoto` takes a `MediaRef` of a file already in the media store, which a
JSON body could only claim; so the upload is a plain route that hands the
bytes to `huarong_core.media.submit_photo` (limits checked, file stored,
command run), exactly what the chat adapters do with a photo message. The
file route serves what `GetPhoto` lets the caller see (an approved photo to
anyone signed in, others to their owner and moderators).
"""

from __future__ import annotations

import asyncio

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from huarong_core.commands import GetPhoto, SubmitPhoto
from huarong_core.media import submit_photo
from huarong_core.services.registry import handler_for
from huarong_web.api import idempotency, json_response, require_actor
from huarong_web.keys import HANDLE, PRINCIPAL, SETTINGS
from huarong_web.plain import PlainRoute
from huarong_web.problems import WebProblem
from huarong_web.schema import DecodeError, clean_text, from_text, json_converter

__all__ = ["photo_routes"]

converter = json_converter()
_MAX_CAPTION_BYTES = 4096


async def upload_photo(request: web.Request) -> web.StreamResponse:
    principal = request[PRINCIPAL]
    actor = require_actor(principal, request)
    handle = request.config_dict[HANDLE]
    limit = request.config_dict[SETTINGS].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise WebProblem(413, "too_large", {"limit": limit})
    if not request.content_type.startswith("multipart/form-data"):
        raise WebProblem(415, "not_multipart")
    data, caption = await _read_form(request, limit)
    delivery = await idempotency(request, principal, handle, data + b"\0" + caption.encode())
    photo = await submit_photo(handle, handle.media, actor, data, caption, delivery=delivery)
    return json_response(request, converter.unstructure(photo), status=201)


async def _read_form(request: web.Request, limit: int) -> tuple[bytes, str]:
    """The `photo` file and the `caption` text of the form, each within its limit."""
    try:
        return await _read_parts(request, limit)
    except HttpProcessingError as exc:  # a part with broken headers
        raise WebProblem(400, "malformed_form") from exc


async def _read_parts(request: web.Request, limit: int) -> tuple[bytes, str]:
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:  # no or a bad boundary
        raise WebProblem(415, "not_multipart") from exc
    data: bytes | None = None
    caption = ""
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise WebProblem(422, "invalid_request", fields=(("photo", "wrong_type", {}),))
        if part.name == "photo":
            data = await _read_part(part, limit)
        elif part.name == "caption":
            raw = await _read_part(part, _MAX_CAPTION_BYTES)
            try:
                caption = clean_text(raw.decode("utf-8"), "caption")
            except (UnicodeDecodeError, DecodeError) as exc:
                reason = "bad_character"
                raise WebProblem(422, "invalid_request", fields=(("caption", reason, {}),)) from exc
        else:
            raise WebProblem(
                422, "invalid_request", fields=((str(part.name), "unknown_field", {}),)
            )
    if data is None:
        raise WebProblem(
            422, "invalid_request", fields=(("photo", "missing_field", {"expected": "file"}),)
        )
    return data, caption


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise WebProblem(413, "too_large", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


async def photo_file(request: web.Request) -> web.StreamResponse:
    principal = request[PRINCIPAL]
    actor = require_actor(principal, request)
    handle = request.config_dict[HANDLE]
    try:
        photo_id = from_text(int, [request.match_info["photo_id"]], "photo_id")
    except DecodeError as exc:
        raise WebProblem(404, "no_such_resource") from exc
    photo = await handle.execute(GetPhoto(photo_id), actor=actor)
    tag = f'"{photo.media.sha256}"'
    headers = {"ETag": tag, "Cache-Control": "private, max-age=86400"}
    if tag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    try:
        data = await asyncio.to_thread(handle.media.read, photo.media)
    except FileNotFoundError as exc:
        raise WebProblem(404, "no_such_resource") from exc
    return web.Response(body=data, content_type=photo.media.media_type, headers=headers)


def photo_routes() -> list[PlainRoute]:
    photo = handler_for(GetPhoto)
    if photo is None:
        raise TypeError("GetPhoto has no handler")
    return [
        PlainRoute(
            "POST",
            "/photos",
            upload_photo,
            "smile-wall",
            "Submit a photo to the smile wall (multipart: `photo` file, `caption` text); "
            "it waits for a moderator.",
            response=photo.result_type,
            status=201,
            signed_in=True,
            name="SubmitPhoto",
            command=SubmitPhoto,
            form={
                "photo": {"type": "string", "contentMediaType": "image/*"},
                "caption": {"type": "string"},
            },
        ),
        PlainRoute(
            "GET",
            "/photos/{photo_id}/file",
            photo_file,
            "smile-wall",
            "The photo's file, for whoever may see the photo.",
            signed_in=True,
            name="GetPhotoFile",
            media_type="image/*",
            path_params=("photo_id",),
        ),
    ]
