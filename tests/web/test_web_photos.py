"""Smile-wall photos over HTTP: the multipart upload and the file behind a photo."""

from __future__ import annotations

import aiohttp

from tests.web.authz_services import PNG
from tests.web.web_world import API, SignedIn, WebWorld


def _form(data: bytes, caption: str = "志愿服务日的笑脸") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("photo", data, filename="smile.png", content_type="image/png")
    form.add_field("caption", caption)
    return form


async def _upload(
    caller: SignedIn, form: aiohttp.FormData, **headers: str
) -> aiohttp.ClientResponse:
    response: aiohttp.ClientResponse = await caller.client.post(
        API + "/photos", data=form, headers={**caller.headers, **headers}
    )
    return response


async def test_an_upload_waits_for_a_moderator_and_then_shows_to_everyone(world: WebWorld) -> None:
    member = await world.as_role("volunteer")
    uploaded = await _upload(member, _form(PNG))
    assert uploaded.status == 201, await uploaded.text()
    photo = await uploaded.json()
    assert photo["status"] == "pending"
    assert photo["media"]["media_type"] == "image/png"
    path = f"/photos/{photo['id']}/file"

    own = await member.call("GET", path)
    assert own.status == 200
    assert own.content_type == "image/png"
    assert await own.read() == PNG
    assert (
        await member.call("GET", path, headers={"If-None-Match": own.headers["ETag"]})
    ).status == 304

    other = await world.as_role("member")
    hidden = await other.call("GET", path)
    assert hidden.status in (403, 404)
    assert hidden.content_type == "application/problem+json"

    moderator = await world.as_role("station_staff")
    approved = await moderator.call("POST", f"/photos/{photo['id']}/approve")
    assert approved.status == 200, await approved.text()
    assert await (await other.call("GET", path)).read() == PNG


async def test_a_retried_upload_with_its_key_submits_once(world: WebWorld) -> None:
    member = await world.as_role("volunteer")
    first = await _upload(member, _form(PNG), **{"Idempotency-Key": "smile-1"})
    again = await _upload(member, _form(PNG), **{"Idempotency-Key": "smile-1"})
    assert first.status == again.status == 201
    assert (await first.json())["id"] == (await again.json())["id"]
    other = await _upload(member, _form(PNG, "另一张"), **{"Idempotency-Key": "smile-1"})
    assert other.status == 422


async def test_bad_uploads_are_refused_and_store_nothing(world: WebWorld) -> None:
    member = await world.as_role("volunteer")
    not_an_image = await _upload(member, _form(b"hello, this is text"))
    assert not_an_image.status == 422
    no_file = aiohttp.FormData(default_to_multipart=True)
    no_file.add_field("caption", "nothing attached")
    missing = await _upload(member, no_file)
    assert missing.status == 422
    assert (await missing.json())["errors"][0]["pointer"] == "photo"
    as_json = await member.call("POST", "/photos", json={"photo": "x"})
    assert as_json.status == 415
    anonymous = await world.client()
    assert (await anonymous.post(API + "/photos", data=_form(PNG))).status == 401
    mine = await member.call("GET", "/me/photos", params={"status": ""})
    assert await mine.json() == []
