"""Every portal page and form, fed awkward values in every likely field and path
segment, as an admin and as a member: never a server error.

The portal reads forms and query strings by hand (there is no schema to hold them
to, as Schemathesis does for the API). So each route is sent, once per awkward
value, every field name the portal's forms and links use, all set to that value:
digits `int` refuses (`¹`, `①`), full-width digits, a number too large for any
column, a negative, NUL, empty and blank text; path ids are that value or a real
id. A generated round with arbitrary text follows.
"""

from __future__ import annotations

import re
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huarong_web.portal import portal_routes
from huarong_web.portal.pages import PortalRoute
from tests.web.web_world import SignedIn, WebWorld

pytestmark = pytest.mark.slow

FIELDS = (
    "answer", "code", "rating", "quantity", "text", "comment", "title", "reason", "points",
    "member", "stars", "hours", "starts_at", "date", "name", "kind", "state", "note", "body",
    "login", "password", "item", "copy", "book", "copy_code", "locale", "language", "station",
    "to", "assignee", "internal", "caption", "contest", "reflection", "member_id", "who",
    "next", "summary", "audience", "priority", "expires_at", "choice", "page", "start",
    "before", "q", "board", "key", "offset", "limit", "organization_id", "action", "sort",
    "club", "series", "week", "status", "sent", "gathering", "service",
)  # fmt: skip
AWKWARD = ("¹", "①", "１２", "9" * 40, "-1", "", " ", "\x00")
ROUTES = [r for r in portal_routes() if not r.path.startswith("/sign-in")]
ROLES = ("admin", "member")


async def send(
    caller: SignedIn, route: PortalRoute, path_value: str, fields: dict[str, str]
) -> None:
    path = re.sub(r"\{[^}]+\}", lambda _: path_value, route.path)
    headers = {"Cookie": caller.headers["Cookie"]}
    if route.method == "POST":
        form = {
            **fields,
            "csrf_token": caller.headers["X-CSRF-Token"],
            "form_key": f"form-{secrets.token_hex(8)}",
        }
        response = await caller.client.post(path, data=form, headers=headers, allow_redirects=False)
    else:
        response = await caller.client.get(
            path, params=fields, headers=headers, allow_redirects=False
        )
    assert response.status < 500, (route.method, path, fields, (await response.text())[:2000])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("role", ROLES)
async def test_awkward_values_everywhere_are_no_server_error(
    world: WebWorld, route: PortalRoute, role: str
) -> None:
    caller = await world.as_role(role)
    for value in AWKWARD:
        for path_value in ("9", value or "0"):
            await send(caller, route, path_value, dict.fromkeys(FIELDS, value))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_text_is_no_server_error(
    world: WebWorld, route: PortalRoute, data: st.DataObject
) -> None:
    caller = await world.as_role(data.draw(st.sampled_from(ROLES)))
    names = data.draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True))
    fields = {name: data.draw(st.text(max_size=40)) for name in names}
    path_value = data.draw(st.sampled_from(("1", "9", "19", "999999", "x", "tea_art")))
    await send(caller, route, path_value, fields)
