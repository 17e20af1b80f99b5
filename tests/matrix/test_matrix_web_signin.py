"""Signing in to the web with a Matrix account, checked by a real Synapse.

A Matrix client asks its homeserver for an OpenID token
(`POST /_matrix/client/v3/user/{userId}/openid/request_token`) and hands it to
the web app, which asks the configured homeserver whose token it is
(`GET /_matrix/federation/v1/openid/userinfo`, served by Synapse's `openid`
listener resource: `.ci/synapse.sh` turns it on). Nothing here is faked: the
token, the answer and the refusals are Synapse's own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from huarong_core import Actor
from huarong_core.commands import FindMemberByIdentity
from huarong_core.testing import open_test_community
from huarong_web.app import make_app
from huarong_web.settings import WebSettings
from tests.matrix.homeserver import Homeserver, register, unique_localpart

pytestmark = pytest.mark.slow

SIGN_IN = "/api/v1/sign-in/matrix"
SYSTEM = Actor.system("web-tests")

Client = TestClient[web.Request, web.Application]


@attrs.frozen
class MatrixUser:
    user_id: str
    access_token: str
    """The client's own access token (not an OpenID token)."""


@attrs.frozen
class Portal:
    client: Client
    handle: Any


@pytest.fixture
async def portal(homeserver: Homeserver, sqlite_url: str) -> AsyncIterator[Portal]:
    """The web app of a fresh community whose homeserver is the test Synapse."""
    settings = WebSettings(matrix_homeserver=homeserver.url, matrix_server_name="localhost")
    async with open_test_community(sqlite_url) as (_, handle):
        server = TestServer(make_app(handle, settings))
        client = TestClient(server, cookie_jar=aiohttp.DummyCookieJar())
        await client.start_server()
        try:
            yield Portal(client, handle)
        finally:
            await client.close()


async def matrix_user(hs: Homeserver, name: str) -> MatrixUser:
    """A registered, logged-in Synapse account."""
    password = secrets.token_urlsafe(12)
    localpart = unique_localpart(name)
    user_id = await register(hs, localpart, password)
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": localpart},
        "password": password,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{hs.url}/_matrix/client/v3/login", json=login) as response,
    ):
        answer = await response.json()
        assert response.status == 200, answer
    return MatrixUser(user_id, str(answer["access_token"]))


async def openid_token(hs: Homeserver, user: MatrixUser) -> dict[str, Any]:
    """What a client gets from its homeserver to prove who it is to a third party."""
    url = f"{hs.url}/_matrix/client/v3/user/{quote(user.user_id, safe='')}/openid/request_token"
    headers = {"Authorization": f"Bearer {user.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={}, headers=headers) as response,
    ):
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
    return answer


async def test_matrix_openid_sign_in(homeserver: Homeserver, portal: Portal) -> None:
    user = await matrix_user(homeserver, "webber")
    token = await openid_token(homeserver, user)
    assert token["matrix_server_name"] == "localhost"

    with capture_logs() as logs:
        response = await portal.client.post(
            SIGN_IN,
            json={
                "access_token": token["access_token"],
                "matrix_server_name": token["matrix_server_name"],
            },
        )
    assert response.status == 200, await response.text()
    info = await response.json()
    assert info["name"] == user.user_id[1:].split(":")[0]  # the localpart
    profile = await portal.handle.execute(
        FindMemberByIdentity("matrix", user.user_id), actor=SYSTEM
    )
    assert info["member_id"] == profile.member.id
    assert user.user_id.endswith(":localhost")
    assert [str(i.ref) for i in profile.identities] == [f"matrix:{user.user_id}"]
    assert {"event": "web.signed_in", "member": profile.member.id, "via": "matrix"}.items() <= (
        logs[-1].items()
    )
    assert token["access_token"] not in repr(logs)

    cookie = response.headers.getall("Set-Cookie")
    session = cookie[0].split(";")[0]
    shown = await portal.client.get("/api/v1/session", headers={"Cookie": session})
    assert shown.status == 200
    assert (await shown.json())["member_id"] == profile.member.id

    # A second sign-in of the same account is the same member.
    again = await portal.client.post(
        SIGN_IN,
        json={
            "access_token": (await openid_token(homeserver, user))["access_token"],
            "matrix_server_name": "localhost",
        },
    )
    assert (await again.json())["member_id"] == profile.member.id


async def refused(portal: Portal, body: dict[str, Any]) -> None:
    response = await portal.client.post(SIGN_IN, json=body)
    assert response.status == 401, await response.text()
    problem = await response.json()
    assert problem["code"] == "sign_in_matrix_failed"
    assert body["access_token"] not in await response.text()
    assert "Set-Cookie" not in response.headers


async def test_matrix_forged_token(portal: Portal) -> None:
    await refused(
        portal,
        {"access_token": "forged-" + secrets.token_hex(8), "matrix_server_name": "localhost"},
    )


async def test_matrix_client_access_token_is_no_openid_token(
    homeserver: Homeserver, portal: Portal
) -> None:
    """The client's own access token would be far too powerful to hand out; Synapse
    knows it is no OpenID token, and so the sign-in is refused."""
    user = await matrix_user(homeserver, "careless")
    await refused(portal, {"access_token": user.access_token, "matrix_server_name": "localhost"})


async def test_matrix_token_claiming_another_server(homeserver: Homeserver, portal: Portal) -> None:
    user = await matrix_user(homeserver, "claimer")
    token = await openid_token(homeserver, user)
    await refused(
        portal, {"access_token": token["access_token"], "matrix_server_name": "example.org"}
    )
    # The token itself was good: with its true server name it still works.
    response = await portal.client.post(
        SIGN_IN, json={"access_token": token["access_token"], "matrix_server_name": "localhost"}
    )
    assert response.status == 200


async def test_matrix_users_of_another_server_name(homeserver: Homeserver, sqlite_url: str) -> None:
    """A deployment set up for another server name (here: the URL's host, the default)
    takes no user of this homeserver, whatever the client claims."""
    settings = WebSettings(matrix_homeserver=homeserver.url)
    assert settings.matrix_server == "127.0.0.1"
    user = await matrix_user(homeserver, "elsewhere")
    token = await openid_token(homeserver, user)
    async with open_test_community(sqlite_url) as (_, handle):
        server = TestServer(make_app(handle, settings))
        async with TestClient(server) as client:
            for claimed in ("localhost", "127.0.0.1"):
                response = await client.post(
                    SIGN_IN,
                    json={"access_token": token["access_token"], "matrix_server_name": claimed},
                )
                assert response.status == 401, await response.text()
