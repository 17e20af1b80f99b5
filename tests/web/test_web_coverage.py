"""The API covers the core, the authorization tables cover the API, and the API
describes itself: every command has a route (a command route, or a plain route that
names it, like the photo upload), every route an entry in exactly one
`authz_*.py` table (and no table names a route that does not exist), every
declaration passes its own check, and the OpenAPI document is valid OpenAPI 3.1
with one operation per route.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from openapi_spec_validator import validate

from huarong_core.services.registry import registered_commands
from huarong_web.api import ApiRoute
from huarong_web.app import plain_routes
from huarong_web.routes import ALL_ROUTES
from huarong_web.settings import WebSettings
from tests.web.web_world import ROLE_MEMBERS, WebWorld, authz_modules, preparations

ROLES = frozenset(ROLE_MEMBERS)


def test_every_command_has_a_route() -> None:
    plain = plain_routes(WebSettings(telegram_bot_token="1:x", matrix_homeserver="http://hs"))
    routed = {route.command for route in ALL_ROUTES} | {p.command for p in plain if p.command}
    core = {c for c in registered_commands() if c.__module__.startswith("huarong_core.")}
    missing = sorted(c.__name__ for c in core if c not in routed)
    assert not missing, f"{len(missing)} commands have no route: {', '.join(missing)}"


def test_every_route_is_in_exactly_one_authorization_table_and_back() -> None:
    modules, absent = authz_modules()
    assert not absent, f"missing authorization tables: {', '.join(absent)} (tests/web/)"
    seen: dict[str, list[str]] = {}
    for name, module in modules.items():
        table = getattr(module, "ALLOWED", None)
        assert isinstance(table, dict), f"{name}.ALLOWED is not a dict"
        for operation_id, roles in table.items():
            seen.setdefault(operation_id, []).append(name)
            unknown = set(roles) - ROLES
            assert not unknown, f"{name}.ALLOWED[{operation_id!r}] names {sorted(unknown)}"
    routes = {route.operation_id for route in ALL_ROUTES}
    problems = [
        *(f"{op}: in no table" for op in sorted(routes - seen.keys())),
        *(f"{op}: in {' and '.join(seen[op])}" for op in sorted(seen) if len(seen[op]) > 1),
        *(f"{op}: in {seen[op][0]} but no such route" for op in sorted(seen.keys() - routes)),
        *(f"PREPARE[{op}]: no such route" for op in sorted(preparations().keys() - routes)),
    ]
    assert not problems, "\n".join(problems)


def test_every_route_declaration_checks() -> None:
    failures: list[str] = []
    for route in ALL_ROUTES:
        try:
            route.check()
            route.result_type  # noqa: B018 - a route whose command has no handler fails here
        except TypeError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_operation_ids_and_places_are_unique() -> None:
    ids = Counter(route.operation_id for route in ALL_ROUTES)
    assert [op for op, n in ids.items() if n > 1] == []
    places = Counter((route.method, _shape(route)) for route in ALL_ROUTES)
    assert [place for place, n in places.items() if n > 1] == []


def _shape(route: ApiRoute) -> str:
    path = route.path
    for name in route.path_fields:
        path = path.replace(f"{{{name}}}", "{}")
    return path


async def test_the_openapi_document_is_valid_and_lists_every_route(world: WebWorld) -> None:
    client = await world.client()
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document: dict[str, Any] = await response.json()
    validate(document)  # OpenAPI 3.1 (the version the document declares)
    assert document["openapi"].startswith("3.1")
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    by_id = Counter(operation["operationId"] for operation in operations.values())
    assert [op for op, n in by_id.items() if n > 1] == [], "duplicate operationIds"
    for route in ALL_ROUTES:
        operation = operations.get((route.method, "/api/v1" + route.path))
        assert operation is not None, f"{route.operation_id}: not in the document"
        assert operation["operationId"] == route.operation_id
        assert operation["tags"] == [route.tag]
    # Besides the command routes, only the plain ones (session, sign-in, photos) are there.
    plain = {op for op in by_id if op not in {r.operation_id for r in ALL_ROUTES}}
    assert {"GetSession", "SignOut"} <= plain
    assert len(operations) == len(ALL_ROUTES) + len(plain)


async def test_the_docs_page_lists_every_operation(world: WebWorld) -> None:
    client = await world.client()
    document = await (await client.get("/api/v1/openapi.json")).json()
    response = await client.get("/api/v1/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert page.startswith("<!doctype html>")
    assert 'href="/api/v1/openapi.json"' in page
    missing = [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
        if f"<code>{html.escape(path)}</code>" not in page
    ]
    assert not missing, f"not on the docs page: {missing}"
    rows = page.count("<tr><td><span class=m>")
    assert rows == sum(len(methods) for methods in document["paths"].values())


def refs(value: Any, where: str = "") -> list[tuple[str, str]]:
    """Every `$ref` in a JSON value, with the JSON Pointer of the object holding it."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            found.append((where, value["$ref"]))
        for key, item in value.items():
            found += refs(item, f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += refs(item, f"{where}/{index}")
    return found


async def test_the_problem_schema_describes_only_problems(world: WebWorld) -> None:
    """`#/components/schemas/ProblemDetails` is the RFC 9457 document of every error answer;
    no value of the API may share its name (it would be described as a problem)."""
    client = await world.client()
    document = await (await client.get("/api/v1/openapi.json")).json()
    misused = [
        where
        for where, ref in refs(document)
        if ref == "#/components/schemas/ProblemDetails"
        and not where.startswith("/components/responses/")
    ]
    assert not misused, f"a value described as a problem document at: {misused}"
