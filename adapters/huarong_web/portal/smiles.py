"""Portal pages: the smile wall (笑脸墙) and sending a photo for it.

The upload form is `multipart/form-data` (a file and a caption), which
`read_form` does not read: the parts are read here one by one, each within
its limit, and the CSRF token and form key are checked from the parts as
`read_form` would. The bytes go to `huarong_core.media.submit_photo`, exactly
as the API's upload and the chat adapters do; the form key is the delivery
id, so sending the same form twice submits one photo.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from huarong_core import Delivery
from huarong_core.commands import GetPhotoLimits, GetSmileWall, ListPhotos, RemovePhoto
from huarong_core.errors import HuarongError
from huarong_core.i18n import translate
from huarong_core.media import submit_photo
from huarong_web.auth import Principal, csrf_ok
from huarong_web.keys import HANDLE, PRINCIPAL, SETTINGS
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    base_of,
    done_notice,
    form_errors,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
)

__all__ = ["ROUTES"]

_SMALL_PART = 4096
"""The most a text part (token, key, caption) may take, in bytes."""


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.smiles.done")


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


async def wall_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _page(request, {}, "")


async def _page(
    request: web.Request, errors: Mapping[str, str], caption: str, status: int = 200
) -> web.Response:
    locale = page_locale(request)
    member_id = request[PRINCIPAL].member_id
    wall = await run(request, GetSmileWall())
    mine = await run(request, ListPhotos(status=None, member_id=member_id, limit=20))
    limits = await run(request, GetPhotoLimits())
    kinds = ", ".join(t.removeprefix("image/").upper() for t in limits.media_types)
    return await render(
        request,
        "smiles/index.html",
        section="smiles",
        title=translate("portal.smiles.title", locale),
        wall=wall,
        mine=mine,
        limits=limits,
        photo_hint=translate(
            "portal.smiles.photo_hint", locale, size=_size(limits.max_bytes), kinds=kinds
        ),
        accept=",".join(limits.media_types),
        caption=caption,
        errors=errors,
        status=status,
        notice=_notice(request),
        forget=f"{base_of(request)}/smiles" if request.query.get("done") == "uploaded" else "",
    )


class _Refused(Exception):
    """The upload cannot be read as the form it should be: a message for the page."""

    def __init__(self, field: str, key: str, **params: object) -> None:
        super().__init__(key)
        self.field = field
        self.key = key
        self.params = params


async def upload(request: web.Request) -> web.StreamResponse:
    actor = signed_in(request)
    principal: Principal = request[PRINCIPAL]
    handle = request.config_dict[HANDLE]
    limit: int = request.config_dict[SETTINGS].max_upload_bytes
    locale = page_locale(request)
    caption = ""
    key = ""
    data = b""
    try:
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            raise _Refused("photo", "portal.smiles.too_large", size=_size(limit))
        parts = await _read_parts(request, limit)
        caption = parts.get("caption", b"").decode("utf-8", errors="replace").strip()
        token = parts.get("csrf_token", b"").decode("ascii", errors="replace")
        if not csrf_ok(principal, request, token):
            raise web.HTTPForbidden(text=translate("web.problem.csrf", locale))
        key = parts.get("form_key", b"").decode("ascii", errors="replace")
        data = parts.get("photo", b"")
        if not data:
            raise _Refused("photo", "portal.smiles.no_photo")
    except _Refused as refused:
        message = translate(refused.key, locale, **refused.params)
        return await _page(request, {refused.field: message, "": message}, caption, status=422)
    delivery = None
    if 8 <= len(key) <= 64:
        delivery = Delivery("web-form", f"{principal.key}:{key}")
    try:
        await submit_photo(handle, handle.media, actor, data, caption, delivery=delivery)
    except HuarongError as exc:
        errors = form_errors(exc, locale).messages
        return await _page(request, errors, caption, status=422)
    raise redirect(request, "/smiles?done=uploaded")


async def _read_parts(request: web.Request, limit: int) -> dict[str, bytes]:
    """The form's parts by name: the photo within `limit`, the rest within a few KB."""
    if not request.content_type.startswith("multipart/form-data"):
        raise _Refused("", "portal.smiles.not_multipart")
    try:
        reader = await request.multipart()
        found: dict[str, bytes] = {}
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                raise _Refused("", "portal.smiles.not_multipart")
            cap = limit if part.name == "photo" else _SMALL_PART
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > cap:
                    field = "photo" if part.name == "photo" else "caption"
                    raise _Refused(field, "portal.smiles.too_large", size=_size(cap))
                chunks.append(chunk)
            found[part.name] = b"".join(chunks)
        return found
    except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
        raise _Refused("", "portal.smiles.not_multipart") from exc


async def remove(request: web.Request) -> web.StreamResponse:
    _, key = await read_form(request)
    text = request.match_info["photo_id"]
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise web.HTTPNotFound()
    try:
        await run(request, RemovePhoto(int(text)), key)
    except FormErrors as refused:
        return await _page(request, refused.messages, "", status=422)
    raise redirect(request, "/smiles?done=removed")


async def back(request: web.Request) -> web.StreamResponse:
    raise redirect(request, "/smiles")


ROUTES = (
    PortalRoute("GET", "/smiles", wall_page, "portal.smiles"),
    PortalRoute("POST", "/smiles", upload, "portal.smiles.upload"),
    PortalRoute("POST", "/smiles/{photo_id}/remove", remove, "portal.smiles.remove"),
    PortalRoute("GET", "/smiles/{photo_id}/remove", back, "portal.smiles.remove_get"),
)
