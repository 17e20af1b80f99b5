"""The request pipeline's own rules, through real routes of the demo building.

Problem documents and their language, strict bodies (unknown fields, wrong
types, broken JSON, other media types, size), unknown routes and methods, the
CSRF and same-origin guards, write rate limits, `Idempotency-Key`, ETags,
security headers, session expiry, API tokens (scopes, revocation, the `.ics`
feed's `?access_token=`), and logs that never repeat a password.

The routes are found by their command, so the tests follow the route tables
wherever they put a path.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import make_mocked_request
from structlog.testing import capture_logs

from huarong_core import MemberStatus, SetMemberStatus
from huarong_core.commands import (
    AwardPoints,
    Command,
    CreateApiToken,
    GetCalendar,
    GetLeaderboard,
    GetMember,
    GetPointsStatement,
    JoinClub,
    ListApiTokens,
    ListClubs,
    ListMembers,
    RevokeApiToken,
    SetPassword,
    UpdateMember,
)
from huarong_web.api import ApiRoute
from huarong_web.auth import session_cookie
from huarong_web.problems import PROBLEM_JSON
from huarong_web.routes import ALL_ROUTES
from huarong_web.settings import RateLimit, WebSettings
from tests.web.web_world import (
    API,
    PROBLEM_KEYS,
    ROLE_MEMBERS,
    SYSTEM,
    ExampleRequest,
    SignedIn,
    WebWorld,
    anonymous,
    api_token,
    bearer,
    example_request,
    open_world,
)

ADMIN = ROLE_MEMBERS["admin"]
MEMBER = ROLE_MEMBERS["member"]
OTHER = 12
"""何志刚: holds no role, so naming him takes a staff permission."""


def route_of(command: type[Command[Any]], *, me: bool = False) -> ApiRoute:
    """The route serving `command` (its `/me/...` form when `me`)."""
    for route in ALL_ROUTES:
        if route.command is command and (route.me is not None) == me:
            return route
    pytest.fail(f"no {'/me ' if me else ''}route for {command.__name__}")


def request_of(command: type[Command[Any]], *, me: bool = False, **values: Any) -> ExampleRequest:
    """The route's example request, with `values` instead of the example's own."""
    return example_request(route_of(command, me=me), values)


async def problem(response: ClientResponse, status: int, code: str) -> dict[str, Any]:
    """The response's problem document, after checking it is one of `status`/`code`."""
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM_JSON
    body: dict[str, Any] = await response.json(content_type=PROBLEM_JSON)
    assert set(body) <= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:huarong:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


async def balance(world: WebWorld, member_id: int) -> int:
    statement = await world.handle.execute(GetPointsStatement(member_id), actor=SYSTEM)
    total: int = statement.balance
    return total


def award(points: int = 5, reason: str = "Helped at the themed day") -> ExampleRequest:
    return request_of(AwardPoints, member_id=MEMBER, points=points, reason=reason)


CJK = re.compile(r"[\u4e00-\u9fff]")


# --- problem documents and their language -------------------------------------------


async def test_a_refusal_is_a_problem_document_in_the_asked_language(world: WebWorld) -> None:
    member = await world.as_role("member")
    refused = award()
    english = await problem(
        await refused.send(member, {"Accept-Language": "en-US,en;q=0.9"}), 403, "permission_denied"
    )
    chinese = await problem(
        await refused.send(member, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}),
        403,
        "permission_denied",
    )
    assert english["detail"] != chinese["detail"]
    assert CJK.search(chinese["detail"])
    assert not CJK.search(english["detail"])
    assert CJK.search(chinese["title"])
    assert not CJK.search(english["title"])
    response = await refused.send(member, {"Accept-Language": "zh-CN"})
    assert response.headers["Content-Language"] == "zh-CN"
    assert (await refused.send(member, {"Accept-Language": "en"})).headers[
        "Content-Language"
    ] == "en"


async def test_without_accept_language_the_session_locale_decides(world: WebWorld) -> None:
    in_chinese = await world.signed_in(MEMBER, locale="zh_CN")
    in_english = await world.signed_in(MEMBER, locale="en")
    chinese = await problem(await award().send(in_chinese), 403, "permission_denied")
    english = await problem(await award().send(in_english), 403, "permission_denied")
    assert CJK.search(chinese["detail"])
    assert not CJK.search(english["detail"])
    # A header still wins over the session.
    asked = await problem(
        await award().send(in_chinese, {"Accept-Language": "en"}), 403, "permission_denied"
    )
    assert asked["detail"] == english["detail"]


async def test_an_http_layer_problem_is_localized_too(world: WebWorld) -> None:
    client = await anonymous(world)
    english = await problem(
        await client.client.get(f"{API}/no/such/thing", headers={"Accept-Language": "en"}),
        404,
        "no_such_resource",
    )
    chinese = await problem(
        await client.client.get(f"{API}/no/such/thing", headers={"Accept-Language": "zh-CN"}),
        404,
        "no_such_resource",
    )
    assert english["detail"] != chinese["detail"]
    assert english["instance"] == f"{API}/no/such/thing"


# --- strict bodies -------------------------------------------------------------------


async def test_an_unknown_field_is_refused_by_pointer(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    sent = award()
    assert sent.body is not None
    body = await problem(
        await admin.client.request(
            sent.method,
            API + sent.path,
            json={**sent.body, "pointz": 5},
            headers=admin.headers,
        ),
        422,
        "invalid_request",
    )
    assert [error["pointer"] for error in body["errors"]] == ["/pointz"]
    assert "5" not in body["errors"][0]["detail"]
    assert await balance(world, MEMBER) == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [("five", "integer"), (True, "integer"), (2.5, "integer"), (None, "integer")],
)
async def test_a_value_of_the_wrong_type_is_refused_by_pointer(
    world: WebWorld, value: Any, expected: str
) -> None:
    admin = await world.as_role("admin")
    sent = award()
    assert sent.body is not None
    body = await problem(
        await admin.client.request(
            sent.method, API + sent.path, json={**sent.body, "points": value}, headers=admin.headers
        ),
        422,
        "invalid_request",
    )
    assert [error["pointer"] for error in body["errors"]] == ["/points"]
    assert expected in body["errors"][0]["detail"]


async def test_a_query_value_of_the_wrong_type_is_refused_by_name(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    listing = request_of(ListMembers)
    response = await admin.client.get(
        API + listing.path, params={"limit": "ten"}, headers=admin.headers
    )
    body = await problem(response, 422, "invalid_request")
    assert [error["pointer"] for error in body["errors"]] == ["?limit"]
    unknown = await admin.client.get(
        API + listing.path, params={"limitt": "10"}, headers=admin.headers
    )
    assert [e["pointer"] for e in (await problem(unknown, 422, "invalid_request"))["errors"]] == [
        "?limitt"
    ]


async def send_raw(
    caller: SignedIn, request: ExampleRequest, data: Any, content_type: str
) -> ClientResponse:
    response: ClientResponse = await caller.client.request(
        request.method,
        API + request.path,
        data=data,
        headers={**caller.headers, "Content-Type": content_type},
    )
    return response


async def test_malformed_json_is_a_400(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    for broken in (b'{"points": 5,', b"{'points': 5}", b"[1, 2", b'{"a": NaN'[:-1]):
        await problem(
            await send_raw(admin, award(), broken, "application/json"), 400, "malformed_json"
        )
    # JSON, but not an object.
    body = await problem(
        await send_raw(admin, award(), b"[1, 2]", "application/json"), 422, "invalid_request"
    )
    assert body["errors"][0]["pointer"] == ""


async def test_a_body_that_is_not_json_is_a_415(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    form = f"member_id={MEMBER}&points=5&reason=x".encode()
    await problem(
        await send_raw(admin, award(), form, "application/x-www-form-urlencoded"), 415, "not_json"
    )
    await problem(await send_raw(admin, award(), b"points: 5", "text/plain"), 415, "not_json")
    assert await balance(world, MEMBER) == before


async def test_a_body_sent_again_is_checked_again_and_acts_again(world: WebWorld) -> None:
    """The handler keeps the command a small body built; the same bytes sent again
    still pass every check (type, content) and act again: nothing is answered
    from memory."""
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    request = award()
    body = json.dumps(request.body).encode()
    for _ in range(2):
        sent = await send_raw(admin, request, body, "application/json")
        assert sent.status == 201, await sent.text()
    assert await balance(world, MEMBER) == before + 10
    await problem(await send_raw(admin, request, body, "text/plain"), 415, "not_json")
    unknown = json.dumps({**(request.body or {}), "colour": "red"}).encode()
    for _ in range(2):
        refused = await problem(
            await send_raw(admin, request, unknown, "application/json"), 422, "invalid_request"
        )
        assert refused["errors"][0]["pointer"] == "/colour"
    assert await balance(world, MEMBER) == before + 10


LIMIT = 200


async def test_a_body_over_the_limit_is_a_413(demo_template: Path, tmp_path: Path) -> None:
    settings = WebSettings(max_body_bytes=LIMIT)
    async with open_world(demo_template, tmp_path, settings) as world:
        admin = await world.as_role("admin")
        large = award(reason="x" * 2 * LIMIT)
        assert large.body is not None
        body = await problem(await large.send(admin), 413, "too_large")
        assert str(LIMIT) in body["detail"]

        async def chunks() -> AsyncIterator[bytes]:
            """No Content-Length: the limit holds while reading."""
            yield b'{"member_id": 10, "points": 5, "reason": "'
            for _ in range(LIMIT // 50):
                yield b"y" * 100
            yield b'"}'

        streamed = await send_raw(admin, large, chunks(), "application/json")
        await problem(streamed, 413, "too_large")
        # Just under the limit is fine.
        small = award(reason="z" * (LIMIT // 2))
        assert len(json.dumps(small.body)) < LIMIT
        assert (await small.send(admin)).status < 300

        async def small_chunks() -> AsyncIterator[bytes]:
            """No Content-Length, under the limit: read whole and handled."""
            yield f'{{"member_id": {MEMBER}, "points": 3,'.encode()
            yield b' "reason": "sent in chunks"}'

        before = await balance(world, MEMBER)
        assert (await send_raw(admin, small, small_chunks(), "application/json")).status < 300
        assert await balance(world, MEMBER) == before + 3


# --- routes and methods --------------------------------------------------------------


async def test_an_unknown_route_is_a_404_problem(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    for path in (f"{API}/no/such/thing", f"{API}/clubs/tea_art/nonsense"):
        await problem(await admin.client.get(path, headers=admin.headers), 404, "no_such_resource")
    page = await admin.client.get("/elsewhere", headers=admin.headers)  # the portal's side
    assert page.status == 404
    assert page.content_type == "text/html"
    assert "There is nothing at this address." in await page.text()


async def test_a_path_value_of_the_wrong_type_is_a_404(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    statement = route_of(GetPointsStatement)
    path = statement.path.replace("{member_id}", "ten")
    await problem(
        await admin.client.get(API + path, headers=admin.headers), 404, "no_such_resource"
    )


async def test_a_wrong_method_is_a_405_problem_with_allow(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    listing = request_of(ListClubs)
    response = await admin.client.request("PUT", API + listing.path, headers=admin.headers)
    await problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


# --- CSRF, origins, rate limits ------------------------------------------------------


async def test_a_session_write_without_its_csrf_token_is_refused(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    cookie_only = SignedIn(admin.client, {"Cookie": admin.headers["Cookie"]})
    await problem(await award().send(cookie_only), 403, "csrf")
    await problem(await award().send(admin, {"X-CSRF-Token": "not-the-token"}), 403, "csrf")
    assert await balance(world, MEMBER) == before
    # Reads need none, and the right token lets the write through.
    assert (await request_of(ListClubs).send(cookie_only)).status == 200
    assert (await award().send(admin)).status < 300
    assert await balance(world, MEMBER) == before + 5


async def test_a_cross_site_origin_is_refused_before_anything_runs(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example", "not a url"):
        await problem(await award().send(admin, {"Origin": origin}), 403, "cross_site")
    assert await balance(world, MEMBER) == before
    host = admin.client.make_url("/").raw_authority
    assert (await award().send(admin, {"Origin": f"http://{host}"})).status < 300


async def test_writes_beyond_the_limit_wait_with_retry_after(
    demo_template: Path, tmp_path: Path
) -> None:
    settings = WebSettings(write_limit_per_member=RateLimit(2, 60.0))
    async with open_world(demo_template, tmp_path, settings) as world:
        admin = await world.as_role("admin")
        before = await balance(world, MEMBER)
        assert (await award().send(admin)).status < 300
        assert (await award().send(admin)).status < 300
        limited = await award().send(admin)
        await problem(limited, 429, "too_many")
        assert 1 <= int(limited.headers["Retry-After"]) <= 30
        assert await balance(world, MEMBER) == before + 10
        # Reads are not counted, and another member has a bucket of their own.
        assert (await request_of(ListClubs).send(admin)).status == 200
        other = await world.as_role("member")
        assert (await request_of(JoinClub, club_key="chess").send(other)).status < 300


# --- Idempotency-Key -----------------------------------------------------------------


async def test_a_retried_write_answers_the_same_and_changes_nothing_more(
    world: WebWorld,
) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    key = {"Idempotency-Key": "award-2026-07-01-a"}
    first = await award().send(admin, key)
    assert first.status < 300, await first.text()
    again = await award().send(admin, key)
    assert again.status == first.status
    assert await again.read() == await first.read()
    assert await balance(world, MEMBER) == before + 5
    # Without the key (or with another one) it is a new award.
    assert (await award().send(admin, {"Idempotency-Key": "award-2026-07-01-b"})).status < 300
    assert await balance(world, MEMBER) == before + 10


async def test_the_same_key_for_another_request_is_refused(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    key = {"Idempotency-Key": "award-once"}
    assert (await award(points=5).send(admin, key)).status < 300
    await problem(await award(points=6).send(admin, key), 422, "idempotency_key_reused")
    assert await balance(world, MEMBER) == before + 5


async def test_a_key_is_the_callers_own(world: WebWorld) -> None:
    """Two callers using one key are two requests (keys are per caller)."""
    admin = await world.as_role("admin")
    staff = await world.as_role("community_staff")
    before = await balance(world, MEMBER)
    key = {"Idempotency-Key": "shared-key"}
    assert (await award().send(admin, key)).status < 300
    assert (await award().send(staff, key)).status < 300
    assert await balance(world, MEMBER) == before + 10


async def test_an_answer_with_a_secret_is_not_replayed(world: WebWorld) -> None:
    """A new API token is shown once: the same key again is refused (409) rather than
    answered from a stored copy of the secret, and makes no second token."""
    member = await world.as_role("member")
    create = request_of(CreateApiToken, me=True, name="turnstile", scopes=["read"])
    key = {"Idempotency-Key": "token-1"}
    first = await create.send(member, key)
    assert first.status == 201, await first.text()
    await problem(await create.send(member, key), 409, "idempotency_key_spent")
    tokens = await world.handle.execute(ListApiTokens(MEMBER), actor=SYSTEM)
    assert tokens.total == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
async def test_a_malformed_key_is_a_400(world: WebWorld, key: str) -> None:
    admin = await world.as_role("admin")
    before = await balance(world, MEMBER)
    response = await award().send(admin, {"Idempotency-Key": key})
    await problem(response, 400, "bad_idempotency_key")
    assert await balance(world, MEMBER) == before


# --- ETags ---------------------------------------------------------------------------


async def test_a_read_carries_an_etag_and_answers_304_when_it_matches(world: WebWorld) -> None:
    member = await world.as_role("member")
    listing = request_of(ListClubs)
    first = await listing.send(member)
    assert first.status == 200
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    same = await listing.send(member, {"If-None-Match": tag})
    assert same.status == 304
    assert same.headers["ETag"] == tag
    assert await same.read() == b""
    listed = await listing.send(member, {"If-None-Match": f'"other", {tag}'})
    assert listed.status == 304
    # A change makes a new representation, and the old tag no longer matches.
    assert (await request_of(JoinClub, club_key="chess").send(member)).status < 300
    changed = await listing.send(member, {"If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag


async def test_a_cached_board_keeps_its_body_and_tag_until_a_commit(world: WebWorld) -> None:
    """`GetLeaderboard` is a cached query: an unchanged board is the same bytes and
    tag (encoded once), and an award makes a new one at once."""
    member = await world.as_role("member")
    board = request_of(GetLeaderboard)
    first = await board.send(member)
    assert first.status == 200
    tag, body = first.headers["ETag"], await first.read()
    again = await board.send(member)
    assert (again.headers["ETag"], await again.read()) == (tag, body)
    assert (await board.send(member, {"If-None-Match": tag})).status == 304
    await world.handle.execute(AwardPoints(OTHER, 5000, reason="etag"), actor=SYSTEM)
    changed = await board.send(member, {"If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag
    assert (await changed.json())["entries"][0]["member_id"] == OTHER


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("huarong_session=abc", "abc"),
        ("a=1; huarong_session=abc; b=2", "abc"),
        ('huarong_session="abc"', "abc"),
        ("huarong_session_old=x;huarong_session=abc", "abc"),
        ("xhuarong_session=x", None),
        ("huarong_session=first; huarong_session=second", "first"),
        ("huarong_session", None),
        ("", None),
    ],
)
def test_the_session_cookie_is_found_among_others(header: str, found: str | None) -> None:
    request = make_mocked_request("GET", "/", headers={"Cookie": header} if header else {})
    assert session_cookie(request) == found


# --- security headers ----------------------------------------------------------------


def assert_secure(response: ClientResponse, *, framed: bool = False) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    if framed:
        assert "frame-ancestors 'self' https://web.telegram.org" in csp
        assert "X-Frame-Options" not in headers
    else:
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"


async def test_security_headers_on_answers_and_on_problems(world: WebWorld) -> None:
    member = await world.as_role("member")
    stranger = await anonymous(world)
    answers = [
        await request_of(ListClubs).send(member),
        await award().send(member),  # 403
        await member.client.get(f"{API}/no/such/thing", headers=member.headers),  # 404
        await request_of(ListClubs).send(stranger),  # 401
        await send_raw(member, award(), b"{", "application/json"),  # 400
    ]
    assert [r.status for r in answers] == [200, 403, 404, 401, 400]
    for response in answers:
        assert_secure(response)
    assert answers[0].headers["Cache-Control"] == "private, no-cache"
    assert answers[1].headers["Cache-Control"] == "no-store"


async def test_security_headers_on_pages_redirects_files_and_unchanged_answers(
    world: WebWorld,
) -> None:
    member = await world.as_role("member")
    clubs = request_of(ListClubs)
    first = await clubs.send(member)
    unchanged = await clubs.send(member, {"If-None-Match": first.headers["ETag"]})
    stranger = await world.client()
    answers = [
        unchanged,
        await member.client.get("/clubs", headers=member.headers),  # a portal page
        await stranger.get("/clubs", allow_redirects=False),  # sent to sign in
        await stranger.get("/static/portal.css"),
        await stranger.get("/elsewhere"),  # the portal's 404 page
    ]
    assert [r.status for r in answers] == [304, 200, 303, 200, 404]
    for response in answers:
        assert_secure(response)


@pytest.mark.parametrize(
    ("settings", "framed"),
    [
        (WebSettings(telegram_bot_token="123:test", mini_app=True), True),
        (WebSettings(telegram_bot_token="123:test", mini_app=False), False),
        (WebSettings(telegram_bot_token=None, mini_app=True), False),
    ],
)
async def test_only_a_telegram_mini_app_may_be_framed(
    demo_template: Path, tmp_path: Path, settings: WebSettings, framed: bool
) -> None:
    async with open_world(demo_template, tmp_path, settings) as world:
        member = await world.as_role("member")
        assert_secure(await request_of(ListClubs).send(member), framed=framed)
        assert_secure(await award().send(member), framed=framed)


# --- sessions and tokens -------------------------------------------------------------


async def test_a_session_ends_with_its_lifetime(world: WebWorld) -> None:
    member = await world.as_role("member")
    profile = request_of(GetMember, me=True)
    lifetime = WebSettings().session_lifetime
    world.clock.advance(seconds=lifetime.total_seconds() - 1)
    assert (await profile.send(member)).status == 200
    world.clock.advance(seconds=2)
    expired = await profile.send(member)
    await problem(expired, 401, "sign_in_required")
    # ... and stays ended when time would allow it no more.
    world.clock.advance(seconds=-timedelta(days=1).total_seconds())
    await problem(await profile.send(member), 401, "sign_in_required")


async def test_a_read_token_reads_but_does_not_write(world: WebWorld) -> None:
    _, token = await api_token(world, MEMBER, {"read"})
    reader = await bearer(world, token)
    profile = await request_of(GetMember, me=True).send(reader)
    assert profile.status == 200
    assert (await profile.json())["member"]["id"] == MEMBER
    change = request_of(UpdateMember, me=True, locale="zh_CN")
    await problem(await change.send(reader), 403, "token_scope")
    # No CSRF token is needed with a bearer token, and `write` lets the change through.
    _, writing = await api_token(world, MEMBER, {"read", "write"})
    assert (await change.send(await bearer(world, writing))).status == 200


async def test_a_revoked_or_unknown_token_is_a_401(world: WebWorld) -> None:
    token_id, token = await api_token(world, MEMBER, {"read"})
    reader = await bearer(world, token)
    profile = request_of(GetMember, me=True)
    assert (await profile.send(reader)).status == 200
    await world.handle.execute(RevokeApiToken(token_id), actor=SYSTEM)
    revoked = await profile.send(reader)
    await problem(revoked, 401, "invalid_token")
    assert "invalid_token" in revoked.headers["WWW-Authenticate"]
    for header in (f"Bearer {token}x", "Bearer hr_nothing", "Basic dXNlcjpwYXNz", "Bearer "):
        client = SignedIn(reader.client, {"Authorization": header})
        response = await profile.send(client)
        assert response.status == 401
        assert response.content_type == PROBLEM_JSON


async def test_a_token_that_ends_or_whose_member_leaves_is_refused_at_once(
    world: WebWorld,
) -> None:
    """An accepted token is believed without asking the core again only while
    nothing is committed and the token has not ended."""
    ends = world.handle.now() + timedelta(hours=1)
    secret = await world.handle.execute(
        CreateApiToken("ends", frozenset({"read"}), member_id=MEMBER, expires_at=ends),
        actor=SYSTEM,
    )
    reader = await bearer(world, secret.token)
    profile = request_of(GetMember, me=True)
    assert (await profile.send(reader)).status == 200
    assert (await profile.send(reader)).status == 200
    world.clock.advance(hours=1)  # nothing committed: only the clock says it ended
    await problem(await profile.send(reader), 401, "invalid_token")
    _, token = await api_token(world, OTHER, {"read"})
    other = await bearer(world, token)
    assert (await profile.send(other)).status == 200
    await world.handle.execute(SetMemberStatus(OTHER, MemberStatus.LEFT), actor=SYSTEM)
    await problem(await profile.send(other), 401, "invalid_token")


async def test_the_calendar_feed_takes_a_read_token_in_its_url(world: WebWorld) -> None:
    feed = route_of(GetCalendar)
    assert feed.path.endswith(".ics")
    sent = example_request(feed)
    _, token = await api_token(world, MEMBER, {"read"})
    stranger = await anonymous(world)

    async def fetch(**params: str) -> ClientResponse:
        query = {**sent.query, **params}
        response: ClientResponse = await stranger.client.get(API + sent.path, params=query)
        return response

    answer = await fetch(access_token=token)
    assert answer.status == 200, await answer.text()
    assert answer.content_type == "text/calendar"
    assert (await answer.text()).startswith("BEGIN:VCALENDAR")
    await problem(await fetch(), 401, "sign_in_required")
    await problem(await fetch(access_token="hr_wrong"), 401, "invalid_token")
    # The URL form is for feeds only: elsewhere the parameter is ignored.
    profile = request_of(GetMember, me=True)
    response = await stranger.client.get(API + profile.path, params={"access_token": token})
    await problem(response, 401, "sign_in_required")


# --- nothing personal in the logs ----------------------------------------------------

SECRET = "Tr0ub4dor&3-horse-battery"


async def test_a_password_never_reaches_the_logs(
    world: WebWorld, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = await anonymous(world)
    member = await world.as_role("member")
    admin = await world.as_role("admin")
    own = request_of(SetPassword, me=True, password=SECRET)
    theirs = request_of(SetPassword, member_id=OTHER, password=SECRET)
    signin = {"login": "teacher", "password": SECRET}
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        statuses = [
            (await own.send(stranger)).status,  # no sign-in at all
            (await stranger.client.post(f"{API}/sign-in/password", json=signin)).status,
            (await send_raw(stranger, own, f'{{"password": "{SECRET}"', "application/json")).status,
            (await theirs.send(member)).status,  # refused by the core
            (await theirs.send(admin, {"Idempotency-Key": "pw-1"})).status,  # done
            (await theirs.send(admin, {"Idempotency-Key": "pw-1"})).status,  # replayed
        ]
    assert statuses[0] == 401
    assert statuses[1] in (401, 404)
    assert statuses[2] in (400, 401)
    assert statuses[3] == 403
    assert statuses[4] < 300
    assert statuses[5] == 409  # a password change is never replayed (idempotency_key_spent)
    assert logs, "structlog captured nothing: the check would prove nothing"
    assert not [entry for entry in logs if SECRET in repr(entry)]
    assert SECRET not in caplog.text
