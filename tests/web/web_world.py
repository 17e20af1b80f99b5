"""The web tests' world: the demo building, its app, and a client per role.

The demo building (`huarong_core.demo.seed_demo`) is seeded once per test
session into a SQLite file; each test gets its own copy, so a test may change
anything. Roles are people of the demo with the grants the matrix needs.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import attrs
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict

from huarong_core import Actor, CommunityHandle, Huarong
from huarong_core.commands import CreateApiToken, ListMembers
from huarong_core.demo import seed_demo
from huarong_core.testing import FrozenClock
from huarong_web.api import ApiRoute
from huarong_web.app import make_app
from huarong_web.keys import AUTH
from huarong_web.settings import WebSettings

API = "/api/v1"

ROLE_MEMBERS: Mapping[str, int] = {
    "member": 10,  # 郑晓明: no role at all
    "volunteer": 7,  # 孙丽: volunteer at party_masses, with history
    "club_leader": 9,  # Emily Zhou: leads kangaroo_class
    "station_staff": 2,  # 李敏: staff of party_masses
    "community_staff": 4,  # 陈静: staff everywhere
    "admin": 1,  # 王建华
}
"""Signed-in roles of the authorization matrix, by the demo member who holds them."""


async def seed_template(path: Path) -> None:
    async with Huarong(f"sqlite:///{path}", clock=FrozenClock()) as huarong:
        await seed_demo(huarong)


@attrs.define
class WebWorld:
    huarong: Huarong
    handle: CommunityHandle
    app: web.Application
    server: TestServer
    clients: list[TestClient[web.Request, web.Application]] = attrs.field(factory=list)

    @property
    def clock(self) -> FrozenClock:
        clock = self.huarong.clock
        assert isinstance(clock, FrozenClock)
        return clock

    async def client(self) -> TestClient[web.Request, web.Application]:
        """A client with no session (anonymous)."""
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return client

    async def signed_in(self, member_id: int, locale: str | None = "en") -> SignedIn:
        """A client holding a session of `member_id`, sending its CSRF token."""
        profile_name = f"member {member_id}"
        token, session = await self.app[AUTH].start_session(member_id, profile_name, "code", locale)
        client = await self.client()
        return SignedIn(
            client, {"Cookie": f"huarong_session={token}", "X-CSRF-Token": session.csrf}
        )

    async def as_role(self, role: str) -> SignedIn:
        return await self.signed_in(ROLE_MEMBERS[role])

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@attrs.frozen
class SignedIn:
    """A client and the headers that carry its identity (cookie + CSRF, or a token)."""

    client: TestClient[web.Request, web.Application]
    headers: Mapping[str, str]

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        merged = {**self.headers, **(headers or {})}
        return await self.client.request(
            method, API + path, json=json, params=params, headers=merged
        )


@asynccontextmanager
async def open_world(
    template: Path, tmp_path: Path, settings: WebSettings | None = None
) -> AsyncIterator[WebWorld]:
    copy = tmp_path / "web.db"
    shutil.copyfile(template, copy)
    async with Huarong(f"sqlite:///{copy}", clock=FrozenClock()) as huarong:
        handle = await huarong.community()
        app = make_app(handle, settings or WebSettings())
        server = TestServer(app)
        await server.start_server()
        world = WebWorld(huarong, handle, app, server)
        try:
            yield world
        finally:
            await world.close()
            await server.close()


SYSTEM = Actor.system("web-tests")


# --- the cross-cutting tests' helpers (authorization matrix, coverage, mechanics) ------

AUTHZ_MODULES = ("authz_people", "authz_gatherings", "authz_services")
"""The per-area data modules: `ALLOWED` (operationId -> roles that may run the route's
example) and, optionally, `PREPARE` (operationId -> what a fresh world needs first)."""


def authz_modules() -> tuple[dict[str, ModuleType], list[str]]:
    """The authz modules that import, by name, and the names of those missing."""
    found: dict[str, ModuleType] = {}
    missing: list[str] = []
    for name in AUTHZ_MODULES:
        try:
            found[name] = importlib.import_module(f"tests.web.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.web.{name}":
                raise
            missing.append(name)
    return found, missing


def allowed_roles() -> dict[str, frozenset[str]]:
    """Every ALLOWED table merged (the coverage test checks they do not overlap)."""
    merged: dict[str, frozenset[str]] = {}
    for module in authz_modules()[0].values():
        merged.update(getattr(module, "ALLOWED", {}))
    return merged


Prepare = Callable[[Any], Awaitable[Mapping[str, Any] | None]]
"""Brings a fresh world (a `WebWorld`) to the state an example needs; may answer
example values to send instead of the route's own (an id only known once made)."""


def preparations() -> dict[str, Prepare]:
    merged: dict[str, Prepare] = {}
    for module in authz_modules()[0].values():
        merged.update(getattr(module, "PREPARE", {}))
    return merged


@attrs.frozen
class ExampleRequest:
    """A route's `example` as an HTTP request (the path is under `API`)."""

    method: str
    path: str
    query: MultiDict[str]
    body: dict[str, Any] | None

    async def send(
        self, caller: SignedIn, headers: Mapping[str, str] | None = None
    ) -> ClientResponse:
        merged = {**caller.headers, **(headers or {})}
        response: ClientResponse = await caller.client.request(
            self.method, API + self.path, params=self.query, json=self.body, headers=merged
        )
        return response


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def example_request(route: ApiRoute, overrides: Mapping[str, Any] | None = None) -> ExampleRequest:
    """The request `route.example` (with `overrides`) describes: path fields in the
    path, the rest in the query (reads) or the JSON body (writes). A path field
    without a value stays `{name}`."""
    example = {**route.example, **(overrides or {})}
    path = route.path
    for name in route.path_fields:
        if name in example:
            path = path.replace(f"{{{name}}}", quote(_as_text(example[name]), safe=""))
    rest = {k: v for k, v in example.items() if k not in route.path_fields}
    query: MultiDict[str] = MultiDict()
    body: dict[str, Any] | None = None
    if route.in_query:
        for name, value in rest.items():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                query.add(name, _as_text(item))
    elif rest:
        body = dict(rest)
    return ExampleRequest(route.method, path, query, body)


async def api_token(world: WebWorld, member_id: int, scopes: Iterable[str]) -> tuple[int, str]:
    """A new API token of `member_id` (made by the system): its id and secret."""
    secret = await world.handle.execute(
        CreateApiToken("web tests", frozenset(scopes), member_id=member_id), actor=SYSTEM
    )
    return secret.info.id, secret.token


async def bearer(world: WebWorld, token: str) -> SignedIn:
    """A client sending `token` as `Authorization: Bearer` (no cookie, no CSRF)."""
    return SignedIn(await world.client(), {"Authorization": f"Bearer {token}"})


async def anonymous(world: WebWorld) -> SignedIn:
    return SignedIn(await world.client(), {})


async def display_names(world: WebWorld) -> dict[int, str]:
    """Every demo member's display name, by id."""
    names: dict[int, str] = {}
    while True:
        page = await world.handle.execute(ListMembers(offset=len(names), limit=500), actor=SYSTEM)
        names.update((member.id, member.display_name) for member in page.items)
        if not page.has_more:
            return names


PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "code", "instance", "errors"})
"""Everything a problem document may say."""
