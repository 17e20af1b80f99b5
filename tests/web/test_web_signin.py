"""Sign-in over the web: codes, the Telegram Login Widget and Mini App, passwords.

The Telegram checks run on payloads signed here, with a test bot token, exactly as
Telegram documents it (https://core.telegram.org/widgets/login#checking-authorization,
https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
a check that passed only on our own misreading of the scheme would fail here.
Matrix sign-in needs a real homeserver: `tests/matrix/test_matrix_web_signin.py`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from huarong_core import Actor
from huarong_core.commands import (
    FindMemberByIdentity,
    RegisterChatMember,
    RegisterMember,
    SetPassword,
)
from huarong_core.notices.relay import NotificationRelay
from huarong_web.openapi import build_document
from huarong_web.settings import RateLimit, WebSettings
from huarong_web.signin import SEND_CODE_FLOOR, signin_routes
from tests.web.web_world import API, WebWorld, open_world

BOT_TOKEN = "123456789:AAtest-only-bot-token-for-huarong"
SYSTEM = Actor.system("web-tests")
ROOMY = RateLimit(1000, 60.0)
"""Limits out of the way of tests about something else (the limits have their own)."""
TELEGRAM = WebSettings(telegram_bot_token=BOT_TOKEN, sign_in_limit_per_ip=ROOMY)
BEHIND_PROXY = WebSettings(
    telegram_bot_token=BOT_TOKEN, trust_forwarded=True, sign_in_limit_per_ip=ROOMY
)
Client = TestClient[web.Request, web.Application]
LIFETIME = int(WebSettings().session_lifetime.total_seconds())


@pytest.fixture
async def tg_world(demo_template: Path, tmp_path: Path) -> AsyncIterator[WebWorld]:
    async with open_world(demo_template, tmp_path, TELEGRAM) as opened:
        yield opened


async def bare_client(world: WebWorld) -> Client:
    """A client that keeps no cookies: each request carries exactly what the test says."""
    client = TestClient(world.server, cookie_jar=aiohttp.DummyCookieJar())
    await client.start_server()
    world.clients.append(client)
    return client


# --- signing as Telegram does ------------------------------------------------------------


def widget_payload(world: WebWorld, token: str = BOT_TOKEN, **fields: Any) -> dict[str, Any]:
    """Login Widget data for `fields` (defaults: a fresh Ann Lee), hashed with `token`."""
    data: dict[str, Any] = {
        "id": 424242,
        "first_name": "Ann",
        "last_name": "Lee",
        "username": "annlee",
        "photo_url": "https://t.me/i/userpic/320/annlee.jpg",
        "auth_date": int(world.clock.now().timestamp()),
        **fields,
    }
    data["hash"] = widget_hash(data, token)
    return data


def widget_hash(data: Mapping[str, Any], token: str = BOT_TOKEN) -> str:
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data) if k != "hash")
    secret = hashlib.sha256(token.encode()).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def init_data(
    world: WebWorld,
    *,
    user: Mapping[str, Any] | None = None,
    age: timedelta = timedelta(0),
    token: str = BOT_TOKEN,
    sign_signature: bool = True,
) -> str:
    """A Mini App `initData` query string signed with `token`. Telegram clients send a
    `signature` (Ed25519, for third parties) beside `hash`; it is one of the fields
    the HMAC covers unless `sign_signature` is False (a wrong reading of the docs)."""
    person = user or {
        "id": 515151,
        "first_name": "Bo",
        "last_name": "Wang",
        "username": "bowang",
        "language_code": "zh-hans",
        "allows_write_to_pm": True,
    }
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(person, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int((world.clock.now() - age).timestamp())),
        "signature": base64.urlsafe_b64encode(secrets.token_bytes(64)).decode().rstrip("="),
    }
    signed = {k: v for k, v in fields.items() if sign_signature or k != "signature"}
    check = "\n".join(f"{k}={signed[k]}" for k in sorted(signed))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def session_cookie(response: aiohttp.ClientResponse) -> Morsel[str]:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return cookies["huarong_session"]


async def session_of(client: Client, cookie: str) -> aiohttp.ClientResponse:
    return await client.get(f"{API}/session", headers={"Cookie": f"huarong_session={cookie}"})


async def problem(response: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["code"] == code, body
    return body


# --- the Telegram Login Widget -----------------------------------------------------------


async def test_telegram_widget_signs_in_and_registers_once(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    assert response.status == 200, await response.text()
    info = await response.json()
    assert info["kind"] == "session"
    assert info["name"] == "Ann Lee"
    assert info["scopes"] == ["read", "write"]
    assert info["csrf_token"]
    member = await tg_world.handle.execute(FindMemberByIdentity("telegram", "424242"), actor=SYSTEM)
    assert info["member_id"] == member.member.id

    cookie = session_cookie(response)
    shown = await session_of(client, cookie.value)
    assert shown.status == 200
    assert (await shown.json())["member_id"] == member.member.id

    # The same account again: the same member, a new session.
    tg_world.clock.advance(minutes=5)
    again = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    assert again.status == 200
    assert (await again.json())["member_id"] == member.member.id
    assert session_cookie(again).value != cookie.value


async def test_telegram_widget_cookie_attributes(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    cookie = session_cookie(response)
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(LIFETIME)
    assert not cookie["secure"]  # plain HTTP here, and no proxy to believe
    assert response.headers["Cache-Control"] == "no-store"


async def test_telegram_widget_checks_fields_telegram_adds(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    signed = widget_payload(tg_world, allows_write_to_pm=1, lang_hint="en")
    assert (await client.post(f"{API}/sign-in/telegram", json=signed)).status == 200

    # The same field added after signing changes the data: refused.
    added = {**widget_payload(tg_world), "lang_hint": "zh"}
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=added), 401, "sign_in_telegram_failed"
    )
    # An optional field left out after signing, likewise.
    dropped = widget_payload(tg_world)
    del dropped["photo_url"]
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=dropped), 401, "sign_in_telegram_failed"
    )


async def test_telegram_widget_refuses_forgeries_without_echoing(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    forged = widget_payload(tg_world, first_name="Mallory")
    forged["id"] = 1  # someone else's account, with Mallory's hash
    body = await problem(
        await client.post(f"{API}/sign-in/telegram", json=forged), 401, "sign_in_telegram_failed"
    )
    assert forged["hash"] not in json.dumps(body)
    assert "Mallory" not in json.dumps(body)
    assert "Set-Cookie" not in (await client.post(f"{API}/sign-in/telegram", json=forged)).headers

    wrong_bot = widget_payload(tg_world, token="987654321:another-bot")
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=wrong_bot), 401, "sign_in_telegram_failed"
    )
    # The Mini App's key does not open the widget's lock.
    mini_key = hmac.new(b"WebAppData", BOT_TOKEN.encode(), hashlib.sha256).digest()
    data = {k: v for k, v in widget_payload(tg_world).items() if k != "hash"}
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    data["hash"] = hmac.new(mini_key, check.encode(), hashlib.sha256).hexdigest()
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=data), 401, "sign_in_telegram_failed"
    )
    not_hex = {**widget_payload(tg_world), "hash": "香" * 64}
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=not_hex), 401, "sign_in_telegram_failed"
    )


@pytest.mark.parametrize(
    ("shift", "works"),
    [
        (timedelta(days=1, seconds=1), False),  # older than telegram_auth_max_age
        (timedelta(hours=23), True),
        (timedelta(seconds=-30), True),  # a clock a little ahead of ours
        (timedelta(minutes=-2), False),  # from the future
    ],
)
async def test_telegram_widget_freshness(tg_world: WebWorld, shift: timedelta, works: bool) -> None:
    client = await bare_client(tg_world)
    auth_date = int((tg_world.clock.now() - shift).timestamp())
    response = await client.post(
        f"{API}/sign-in/telegram", json=widget_payload(tg_world, auth_date=auth_date)
    )
    if works:
        assert response.status == 200, await response.text()
    else:
        await problem(response, 401, "sign_in_telegram_failed")


async def test_telegram_widget_bad_bodies(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    missing = widget_payload(tg_world)
    del missing["auth_date"]
    body = await problem(
        await client.post(f"{API}/sign-in/telegram", json=missing), 422, "invalid_request"
    )
    assert [e["pointer"] for e in body["errors"]] == ["/auth_date"]

    wrong_type = {**widget_payload(tg_world), "id": "424242"}
    body = await problem(
        await client.post(f"{API}/sign-in/telegram", json=wrong_type), 422, "invalid_request"
    )
    assert [e["pointer"] for e in body["errors"]] == ["/id"]

    odd_extra = {**widget_payload(tg_world), "friends": [1, 2]}
    body = await problem(
        await client.post(f"{API}/sign-in/telegram", json=odd_extra), 422, "invalid_request"
    )
    assert [e["pointer"] for e in body["errors"]] == ["/friends"]

    await problem(
        await client.post(f"{API}/sign-in/telegram/mini-app", json={}), 422, "invalid_request"
    )
    await problem(
        await client.post(
            f"{API}/sign-in/telegram", data=b"[1]", headers={"Content-Type": "application/json"}
        ),
        422,
        "invalid_request",
    )


async def test_telegram_sign_in_needs_a_bot_token(world: WebWorld) -> None:
    client = await bare_client(world)
    await problem(
        await client.post(f"{API}/sign-in/telegram", json=widget_payload(world)),
        404,
        "no_such_resource",
    )
    await problem(
        await client.post(f"{API}/sign-in/telegram/mini-app", json={"init_data": init_data(world)}),
        404,
        "no_such_resource",
    )
    offered = {route.path for route in signin_routes(WebSettings())}
    assert offered == {"/sign-in/code/request", "/sign-in/code", "/sign-in/password"}


def test_sign_in_routes_in_the_openapi_document() -> None:
    settings = WebSettings(telegram_bot_token=BOT_TOKEN, matrix_homeserver="https://hs.example")
    paths = build_document([], signin_routes(settings))["paths"]
    expected = {
        "/sign-in/code/request": ("RequestSignInCode", "202"),
        "/sign-in/code": ("SignInWithCode", "200"),
        "/sign-in/password": ("SignInWithPassword", "200"),
        "/sign-in/telegram": ("SignInWithTelegram", "200"),
        "/sign-in/telegram/mini-app": ("SignInWithTelegramMiniApp", "200"),
        "/sign-in/matrix": ("SignInWithMatrix", "200"),
    }
    for path, (operation_id, status) in expected.items():
        operation = paths[API + path]["post"]
        assert operation["operationId"] == operation_id
        assert operation["tags"] == ["sign-in"]
        assert {status, "401", "422", "429"} <= set(operation["responses"])
        assert operation["security"] == [{}]  # anyone may try
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["required"]


# --- the Mini App -----------------------------------------------------------------------


async def test_mini_app_signs_in(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(
        f"{API}/sign-in/telegram/mini-app", json={"init_data": init_data(tg_world)}
    )
    assert response.status == 200, await response.text()
    info = await response.json()
    assert info["name"] == "Bo Wang"
    assert info["locale"] == "zh_CN"  # from the user's language_code
    found = await tg_world.handle.execute(FindMemberByIdentity("telegram", "515151"), actor=SYSTEM)
    assert info["member_id"] == found.member.id
    cookie = session_cookie(response)
    assert cookie["samesite"] == "Lax"  # over plain HTTP, `None` would be refused anyway
    assert cookie["httponly"] is True
    assert (await session_of(client, cookie.value)).status == 200


async def test_mini_app_and_widget_are_one_account(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    person = {"id": 424242, "first_name": "Ann"}
    mini = await client.post(
        f"{API}/sign-in/telegram/mini-app", json={"init_data": init_data(tg_world, user=person)}
    )
    widget = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    assert (await mini.json())["member_id"] == (await widget.json())["member_id"]


async def test_mini_app_cookie_over_https(demo_template: Path, tmp_path: Path) -> None:
    async with open_world(demo_template, tmp_path, BEHIND_PROXY) as world:
        client = await bare_client(world)
        response = await client.post(
            f"{API}/sign-in/telegram/mini-app",
            json={"init_data": init_data(world)},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert response.status == 200
        cookie = session_cookie(response)
        assert cookie["samesite"] == "None"
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        # The widget's session stays Lax, Secure all the same.
        widget = await client.post(
            f"{API}/sign-in/telegram",
            json=widget_payload(world),
            headers={"X-Forwarded-Proto": "https"},
        )
        assert session_cookie(widget)["samesite"] == "Lax"
        assert session_cookie(widget)["secure"] is True


async def test_forwarded_proto_is_ignored_unless_trusted(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(
        f"{API}/sign-in/telegram/mini-app",
        json={"init_data": init_data(tg_world)},
        headers={"X-Forwarded-Proto": "https"},
    )
    cookie = session_cookie(response)
    assert not cookie["secure"]
    assert cookie["samesite"] == "Lax"


async def test_mini_app_refusals(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)

    async def refused(raw: str) -> None:
        response = await client.post(f"{API}/sign-in/telegram/mini-app", json={"init_data": raw})
        body = await problem(response, 401, "sign_in_telegram_failed")
        assert "Set-Cookie" not in response.headers
        assert not raw or raw not in json.dumps(body)

    good = init_data(tg_world)
    # The HMAC covers `signature` too: leaving it out of the check string is wrong.
    await refused(init_data(tg_world, sign_signature=False))
    await refused(init_data(tg_world, token="987654321:another-bot"))
    await refused(good.replace("Bo", "Al"))  # the user changed after signing
    await refused(good + "&extra=1")
    await refused(good + "&user=%7B%22id%22%3A1%7D")  # a second `user`
    await refused("&".join(p for p in good.split("&") if not p.startswith("hash=")))
    await refused(init_data(tg_world, age=timedelta(days=1, minutes=1)))
    await refused(init_data(tg_world, age=-timedelta(minutes=5)))
    await refused("this is not a query string")
    await refused("")
    await refused("a=" + "x" * 9000)
    # Signed, fresh, but without a usable user.
    await refused(init_data(tg_world, user={"first_name": "Nobody"}))


# --- codes --------------------------------------------------------------------------------


async def chat_member(world: WebWorld, external_id: str, name: str) -> int:
    profile = await world.handle.execute(
        RegisterChatMember("telegram", external_id, name, "en"), actor=SYSTEM
    )
    return int(profile.member.id)


async def sent_codes(world: WebWorld, member_id: int) -> list[str]:
    """The sign-in codes sent to `member_id`, oldest first, as the notifications hold them."""
    await NotificationRelay(world.huarong).run_once()
    async with world.huarong.db.read() as conn:
        rows = await conn.fetch(
            "SELECT message FROM notifications WHERE kind = $1 AND member_id = $2 ORDER BY id",
            "access.sign_in_code",
            member_id,
        )
    return [code for row in rows for code in _codes_in(row["message"])]


def _codes_in(message: Any) -> list[str]:
    value = json.loads(message) if isinstance(message, str) else message
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                if key == "code" and isinstance(inner, str):
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return found


async def test_code_request_answers_alike_for_anyone(world: WebWorld) -> None:
    member_id = await chat_member(world, "8001", "Cai Ming")
    client = await bare_client(world)
    answers = []
    for login in ("telegram:8001", "telegram:9999999", "nobody-at-all", "@x:example.org"):
        started = time.monotonic()
        response = await client.post(f"{API}/sign-in/code/request", json={"login": login})
        assert response.status == 202
        answers.append(await response.read())
        # Found or not, no answer comes before the floor: the time tells nothing.
        assert time.monotonic() - started >= SEND_CODE_FLOOR
    assert len(set(answers)) == 1
    assert set(json.loads(answers[0])) == {"expires_at"}
    assert len(await sent_codes(world, member_id)) == 1


async def test_code_flow(world: WebWorld) -> None:
    member_id = await chat_member(world, "8002", "Du Fang")
    client = await bare_client(world)
    asked = await client.post(f"{API}/sign-in/code/request", json={"login": "telegram:8002"})
    assert asked.status == 202
    [code] = await sent_codes(world, member_id)

    wrong = await client.post(f"{API}/sign-in/code", json={"code": "WRONG-000"})
    body = await problem(wrong, 401, "sign_in_code_failed")
    assert "WRONG-000" not in json.dumps(body)

    with capture_logs() as logs:
        response = await client.post(f"{API}/sign-in/code", json={"code": code})
    assert response.status == 200, await response.text()
    assert [e["event"] for e in logs if e["event"].startswith("web.")] == ["web.signed_in"]
    assert code not in repr(logs)
    info = await response.json()
    assert info["member_id"] == member_id
    assert info["name"] == "Du Fang"
    assert info["locale"] == "en"
    cookie = session_cookie(response)
    shown = await session_of(client, cookie.value)
    assert shown.status == 200
    assert (await shown.json())["member_id"] == member_id

    again = await client.post(f"{API}/sign-in/code", json={"code": code})
    await problem(again, 401, "sign_in_code_failed")
    assert "Set-Cookie" not in again.headers


async def test_expired_code(world: WebWorld) -> None:
    member_id = await chat_member(world, "8003", "Fu Gang")
    client = await bare_client(world)
    await client.post(f"{API}/sign-in/code/request", json={"login": "telegram:8003"})
    [code] = await sent_codes(world, member_id)
    world.clock.advance(minutes=11)
    await problem(
        await client.post(f"{API}/sign-in/code", json={"code": code}), 401, "sign_in_code_failed"
    )


async def test_code_bodies(world: WebWorld) -> None:
    client = await bare_client(world)
    body = await problem(
        await client.post(f"{API}/sign-in/code", json={"kode": "x"}), 422, "invalid_request"
    )
    assert {e["pointer"] for e in body["errors"]} == {"/kode"}
    body = await problem(
        await client.post(f"{API}/sign-in/code/request", json={}), 422, "invalid_request"
    )
    assert [e["pointer"] for e in body["errors"]] == ["/login"]
    await problem(await client.post(f"{API}/sign-in/code", data=b"code=1"), 415, "not_json")


async def test_core_lockout_after_many_wrong_codes(world: WebWorld) -> None:
    """Five wrong codes from one client stop its code sign-ins for a while (the core's
    floor under the adapter's rate limits): a 429 that says how long to wait."""
    client = await bare_client(world)
    for number in range(5):  # within the default limits of one address
        wrong = await client.post(f"{API}/sign-in/code", json={"code": f"BAD{number}"})
        assert wrong.status == 401
    paused = await client.post(f"{API}/sign-in/code", json={"code": "BAD9"})
    await problem(paused, 429, "sign_in_paused")
    assert int(paused.headers["Retry-After"]) > 0


async def test_the_lockout_is_per_client_and_the_audit_log_keeps_no_address(
    demo_template: Path, tmp_path: Path
) -> None:
    """Behind a proxy the client is the address the proxy appended (the last in
    X-Forwarded-For): a guesser who writes other addresses in front stays one client,
    and the people behind other addresses still sign in."""
    async with open_world(demo_template, tmp_path, BEHIND_PROXY) as world:
        client = await bare_client(world)
        for number in range(5):
            spoofed = {"X-Forwarded-For": f"10.9.9.{number}, 198.51.100.7"}
            wrong = await client.post(
                f"{API}/sign-in/code", json={"code": f"BAD{number}"}, headers=spoofed
            )
            assert wrong.status == 401
        guesser = {"X-Forwarded-For": "10.0.0.1, 198.51.100.7"}
        await problem(
            await client.post(f"{API}/sign-in/code", json={"code": "BAD9"}, headers=guesser),
            429,
            "sign_in_paused",
        )
        member_id = await chat_member(world, "8011", "Sun Li")
        await client.post(f"{API}/sign-in/code/request", json={"login": "telegram:8011"})
        [code] = await sent_codes(world, member_id)
        neighbour = {"X-Forwarded-For": "203.0.113.20"}
        signed_in = await client.post(f"{API}/sign-in/code", json={"code": code}, headers=neighbour)
        assert signed_in.status == 200, await signed_in.text()
        async with world.huarong.db.read() as conn:
            rows = await conn.fetch(
                "SELECT target, details FROM audit_log WHERE action = $1",
                "access.sign_in_refused",
            )
        targets = {row["target"] for row in rows}
        assert len(rows) == 5
        assert len(targets) == 1
        [target] = targets
        assert target.startswith("access:sign_in_code:web:")
        assert "198.51.100.7" not in repr([dict(row) for row in rows])


# --- passwords ------------------------------------------------------------------------


async def operator(world: WebWorld, password: str) -> int:
    member = await world.handle.execute(
        RegisterMember(display_name="Operator Ou", key="ops"), actor=SYSTEM
    )
    await world.handle.execute(SetPassword(member.id, password), actor=SYSTEM)
    return int(member.id)


async def test_password_flow(world: WebWorld) -> None:
    member_id = await operator(world, "correct horse battery staple")
    client = await bare_client(world)
    with capture_logs() as logs:
        response = await client.post(
            f"{API}/sign-in/password",
            json={"login": "ops", "password": "correct horse battery staple"},
        )
        wrong = await client.post(
            f"{API}/sign-in/password", json={"login": "ops", "password": "incorrect horse"}
        )
    assert response.status == 200, await response.text()
    assert "web.sign_in_failed" in [e["event"] for e in logs]
    assert "horse" not in repr(logs)
    info = await response.json()
    assert info["member_id"] == member_id
    assert (await session_of(client, session_cookie(response).value)).status == 200

    wrong_body = await problem(wrong, 401, "sign_in_password_failed")
    assert "incorrect horse" not in json.dumps(wrong_body)
    nobody = await client.post(
        f"{API}/sign-in/password", json={"login": "nobody", "password": "incorrect horse"}
    )
    assert await problem(nobody, 401, "sign_in_password_failed") == wrong_body


# --- limits -----------------------------------------------------------------------------


async def test_sign_in_limited_per_address(demo_template: Path, tmp_path: Path) -> None:
    settings = WebSettings(
        sign_in_limit_per_ip=RateLimit(3, 60.0), sign_in_limit_per_login=RateLimit(100, 60.0)
    )
    async with open_world(demo_template, tmp_path, settings) as world:
        client = await bare_client(world)
        for number in range(3):
            response = await client.post(f"{API}/sign-in/code", json={"code": f"NOPE{number}"})
            assert response.status == 401
        limited = await client.post(f"{API}/sign-in/password", json={"login": "a", "password": "b"})
        await problem(limited, 429, "too_many")
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        # Even a well-formed request for a code waits its turn.
        await problem(
            await client.post(f"{API}/sign-in/code/request", json={"login": "telegram:1"}),
            429,
            "too_many",
        )


async def test_sign_in_limited_per_login(demo_template: Path, tmp_path: Path) -> None:
    settings = WebSettings(
        sign_in_limit_per_ip=RateLimit(100, 60.0), sign_in_limit_per_login=RateLimit(2, 300.0)
    )
    async with open_world(demo_template, tmp_path, settings) as world:
        await operator(world, "correct horse battery staple")
        client = await bare_client(world)
        for _ in range(2):
            response = await client.post(
                f"{API}/sign-in/password", json={"login": "ops", "password": "guess guess guess"}
            )
            assert response.status == 401
        # The right password is not even checked now: guessing has to wait too.
        limited = await client.post(
            f"{API}/sign-in/password",
            json={"login": " OPS ", "password": "correct horse battery staple"},
        )
        await problem(limited, 429, "too_many")
        assert int(limited.headers["Retry-After"]) >= 1
        # Asking codes for that login counts against it as well; other logins go on.
        await problem(
            await client.post(f"{API}/sign-in/code/request", json={"login": "ops"}),
            429,
            "too_many",
        )
        other = await client.post(f"{API}/sign-in/code/request", json={"login": "someone"})
        assert other.status == 202


# --- after signing in ---------------------------------------------------------------------


async def test_session_needs_csrf_for_changes_and_ends_on_sign_out(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    signed_in = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    info = await signed_in.json()
    cookie = {"Cookie": f"huarong_session={session_cookie(signed_in).value}"}
    csrf = {"X-CSRF-Token": info["csrf_token"]}

    joining = f"{API}/clubs/chess/join"
    await problem(await client.post(joining, headers=cookie), 403, "csrf")
    await problem(
        await client.post(joining, headers={**cookie, "X-CSRF-Token": "not-the-token"}), 403, "csrf"
    )
    joined = await client.post(joining, headers={**cookie, **csrf})
    assert joined.status == 200, await joined.text()

    await problem(await client.delete(f"{API}/session", headers=cookie), 403, "csrf")
    assert (await client.delete(f"{API}/session", headers={**cookie, **csrf})).status == 204
    await problem(await client.get(f"{API}/session", headers=cookie), 401, "sign_in_required")
    await problem(await client.post(joining, headers={**cookie, **csrf}), 401, "sign_in_required")


async def test_signing_in_again_ends_the_previous_session(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    first = await client.post(f"{API}/sign-in/telegram", json=widget_payload(tg_world))
    old = session_cookie(first).value
    second = await client.post(
        f"{API}/sign-in/telegram",
        json=widget_payload(tg_world, id=777, first_name="Other"),
        headers={"Cookie": f"huarong_session={old}"},
    )
    assert second.status == 200
    await problem(await session_of(client, old), 401, "sign_in_required")
    assert (await session_of(client, session_cookie(second).value)).status == 200


async def test_cross_site_sign_in_is_refused(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(
        f"{API}/sign-in/telegram",
        json=widget_payload(tg_world),
        headers={"Origin": "https://evil.example"},
    )
    await problem(response, 403, "cross_site")
    assert "Set-Cookie" not in response.headers


async def test_problems_in_chinese(tg_world: WebWorld) -> None:
    client = await bare_client(tg_world)
    response = await client.post(
        f"{API}/sign-in/code", json={"code": "nope"}, headers={"Accept-Language": "zh-CN"}
    )
    body = await problem(response, 401, "sign_in_code_failed")
    assert "登录码" in body["detail"]


# --- Matrix, without a homeserver (a real one: tests/matrix/test_matrix_web_signin.py) -----


def test_matrix_server_name_defaults_to_the_homeserver_host() -> None:
    assert WebSettings().matrix_server is None
    assert WebSettings(matrix_homeserver="https://example.org").matrix_server == "example.org"
    delegated = WebSettings(
        matrix_homeserver="https://matrix.example.org:8448", matrix_server_name="example.org"
    )
    assert delegated.matrix_server == "example.org"


async def test_matrix_homeserver_unreachable(demo_template: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = WebSettings(matrix_homeserver=f"http://127.0.0.1:{port}")
    async with open_world(demo_template, tmp_path, settings) as world:
        client = await bare_client(world)
        token = "openid-" + secrets.token_hex(8)
        with capture_logs() as logs:
            response = await client.post(
                f"{API}/sign-in/matrix",
                json={"access_token": token, "matrix_server_name": "127.0.0.1"},
            )
        await problem(response, 503, "sign_in_unavailable")
        assert "web.matrix_unreachable" in [e["event"] for e in logs]
        assert token not in repr(logs)
        # Another server's token is refused before anyone is asked.
        other = await client.post(
            f"{API}/sign-in/matrix", json={"access_token": token, "matrix_server_name": "x.org"}
        )
        await problem(other, 401, "sign_in_matrix_failed")
