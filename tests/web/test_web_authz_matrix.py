"""The authorization matrix: every route's example, sent by every kind of caller.

For each route a fresh copy of the demo building is opened (its `PREPARE`, if
the route's authz table has one, runs first), and the route's `example` is
sent by each caller on that one world: anonymous, the six roles of
`web_world.ROLE_MEMBERS`, a read-only API token of the admin, and a system
token. The callers expected to be refused go first, least privileged first,
then those expected to be let through, least privileged first: a state change
by an allowed caller (a club request decided, a booking cancelled) can then
not hide a refusal that should have happened. A cell that still comes out
wrong is sent again on a world of its own, so what is reported is never an
artefact of the order.

Each answer is classified:
- `401`: anonymous, always, as a problem document;
- `denied`: a 403 or 404 problem document;
- `allowed`: anything else below 500 (2xx, or a 409/422 refusal of the core
  after authorization passed);
- `unreached`: 400/405/413/415, or a 422 `invalid_request` (the example
  never reached the core: the example or the route is broken);
- `error`: a 5xx, always wrong.

The expectation comes from the `ALLOWED` tables (`authz_*.py`): a role in the
route's set is `allowed`, any other `denied`. The read-only token (the
admin's) may do what the admin may on a GET route and nothing on a changing
one; the system token may do everything.

A refusal must not leak: its body is a problem document with only the
problem fields, it names no demo member but the caller, and it repeats no
text of the example's object (as an allowed caller saw it) that the refused
caller did not get to see anywhere else in the matrix.

Every cell is collected before anything is asserted: one failing run lists
every wrong cell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from huarong_web.api import ApiRoute
from huarong_web.problems import PROBLEM_JSON
from huarong_web.routes import ALL_ROUTES
from huarong_web.schema import type_hints
from tests.web.web_world import (
    PROBLEM_KEYS,
    ROLE_MEMBERS,
    ExampleRequest,
    Prepare,
    SignedIn,
    WebWorld,
    allowed_roles,
    anonymous,
    api_token,
    bearer,
    display_names,
    example_request,
    open_world,
    preparations,
)

pytestmark = pytest.mark.slow

ADMIN = ROLE_MEMBERS["admin"]
READ_TOKEN = "read_token"
SYSTEM_TOKEN = "system_token"
CALLERS: tuple[str, ...] = ("anonymous", *ROLE_MEMBERS, READ_TOKEN, SYSTEM_TOKEN)
"""Every column, from the least privileged to the most."""
RANK = {caller: rank for rank, caller in enumerate(CALLERS)}
OWNER: Mapping[str, int] = {**ROLE_MEMBERS, READ_TOKEN: ADMIN}
"""Whose name a caller may see in its own refusals."""


@attrs.frozen
class Answer:
    status: int
    outcome: str
    code: str
    body: bytes
    content_type: str


@attrs.define
class Cell:
    operation_id: str
    caller: str
    expected: str
    answer: Answer
    again: Answer | None = None
    """The answer on a world of its own, when the first one was wrong."""
    leak: str = ""

    @property
    def final(self) -> Answer:
        return self.again or self.answer

    @property
    def wrong(self) -> bool:
        return self.final.outcome != self.expected or bool(self.leak)


REQUESTER_ONLY = frozenset({"RateRequest"})
"""Steps only the member who filed a request may take: a system actor filed none."""


def system_refused(route: ApiRoute) -> bool:
    """A system actor is never named on an aid case, so it never reads or changes one
    (`huarong_core.services.aid`), and never filed a service request, so it cannot rate
    one: the places the system token is refused."""
    aid = route.command.__module__ == "huarong_core.commands.aid"
    if aid and "case_id" in type_hints(route.command):
        return True
    return route.command.__name__ in REQUESTER_ONLY


def expectation(route: ApiRoute, caller: str, allowed: frozenset[str] | None) -> str:
    if caller == "anonymous":
        return "401"
    if caller == SYSTEM_TOKEN:
        return "denied" if system_refused(route) else "allowed"
    if allowed is None:
        return "no ALLOWED entry"
    if caller == READ_TOKEN:
        return "allowed" if route.method == "GET" and "admin" in allowed else "denied"
    return "allowed" if caller in allowed else "denied"


def classify(status: int, body: bytes) -> tuple[str, str]:
    code = _problem(body).get("code", "")
    text = str(code) if isinstance(code, str) else ""
    if status >= 500:
        return "error", text
    if status == 401:
        return "401", text
    if status in (403, 404):
        return "denied", text
    if status in (400, 405, 413, 415) or (status == 422 and text == "invalid_request"):
        return "unreached", text
    return "allowed", text


def _problem(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


async def send(request: ExampleRequest, caller: SignedIn) -> Answer:
    response = await request.send(caller)
    body = await response.read()
    outcome, code = classify(response.status, body)
    return Answer(response.status, outcome, code, body, response.content_type)


async def callers(world: WebWorld) -> dict[str, SignedIn]:
    """A signed-in client per column (after PREPARE, which may move the clock)."""
    made = {"anonymous": await anonymous(world)}
    for role in ROLE_MEMBERS:
        made[role] = await world.as_role(role)
    _, read = await api_token(world, ADMIN, {"read"})
    _, system = await api_token(world, ADMIN, {"system"})
    made[READ_TOKEN] = await bearer(world, read)
    made[SYSTEM_TOKEN] = await bearer(world, system)
    return made


def run_order(expected: Mapping[str, str]) -> list[str]:
    """Refusals first, then those let through; least privileged first within each."""
    return sorted(expected, key=lambda caller: (expected[caller] == "allowed", RANK[caller]))


async def prepared(world: WebWorld, prepare: Prepare | None) -> Mapping[str, Any] | None:
    """Run the route's preparation; the example values it answers, if any."""
    return None if prepare is None else await prepare(world)


def fresh(directory: Path) -> Path:
    directory.mkdir(parents=True)
    return directory


async def one_route(
    route: ApiRoute,
    template: Path,
    directory: Path,
    allowed: frozenset[str] | None,
    prepare: Prepare | None,
) -> list[Cell]:
    expected = {caller: expectation(route, caller, allowed) for caller in CALLERS}
    cells: list[Cell] = []
    async with open_world(template, fresh(directory / "shared")) as world:
        request = example_request(route, await prepared(world, prepare))
        clients = await callers(world)
        for caller in run_order(expected):
            answer = await send(request, clients[caller])
            cells.append(Cell(route.operation_id, caller, expected[caller], answer))
    for number, cell in enumerate(c for c in cells if c.wrong):
        async with open_world(template, fresh(directory / f"again-{number}")) as world:
            request = example_request(route, await prepared(world, prepare))
            cell.again = await send(request, (await callers(world))[cell.caller])
    return cells


# --- leaks ----------------------------------------------------------------------------


def texts(value: Any) -> Iterator[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def telling(text: str) -> bool:
    """Text that could say something about someone (a name, a note, a phone number),
    rather than a key or an enum value that every page shows."""
    if len(text) < 4:
        return False
    return not text.isascii() or " " in text or sum(ch.isdigit() for ch in text) >= 7


def parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def leak_of(
    cell: Cell,
    names: Mapping[int, str],
    secrets: set[str],
) -> str:
    """What is wrong with a refusal's body ("" when nothing is)."""
    answer = cell.final
    if answer.outcome not in ("401", "denied"):
        return ""
    if answer.content_type != PROBLEM_JSON:
        return f"content type {answer.content_type}"
    problem = parsed(answer.body)
    if not isinstance(problem, dict):
        return "not a JSON object"
    extra = set(problem) - PROBLEM_KEYS
    if extra:
        return f"keys {sorted(extra)}"
    if problem.get("status") != answer.status:
        return f"status field {problem.get('status')}"
    text = "\n".join(texts(problem))  # decoded: `\u4f55` is a name too
    own = OWNER.get(cell.caller)
    for member_id, name in names.items():
        if member_id != own and name in text:
            return f"names member #{member_id}"
    for secret in sorted(secrets):
        if secret in text:
            return f"repeats {secret!r}"
    return ""


def find_leaks(routes: list[ApiRoute], cells: list[Cell], names: Mapping[int, str]) -> None:
    """Fill `Cell.leak` for every refusal (see the module's docstring)."""
    seen: dict[str, set[str]] = {caller: set() for caller in CALLERS}
    shown: dict[str, set[str]] = {}
    for cell in cells:
        if cell.final.outcome == "allowed" and 200 <= cell.final.status < 300:
            found = set(texts(parsed(cell.final.body)))
            seen[cell.caller] |= found
            shown.setdefault(cell.operation_id, found)
    asked = {route.operation_id: set(texts(dict(route.example))) for route in routes}
    for cell in cells:
        secrets = {
            text
            for text in shown.get(cell.operation_id, set())
            if telling(text) and text not in asked[cell.operation_id]
        } - seen[cell.caller]
        cell.leak = leak_of(cell, names, secrets)


# --- the table ------------------------------------------------------------------------


def table(cells: list[Cell]) -> str:
    head = ("operationId", "caller", "expected", "observed", "status", "code", "note")
    rows = [head]
    for cell in cells:
        note = cell.leak and f"leak: {cell.leak}"
        if cell.again is not None and cell.again.status != cell.answer.status:
            note = f"{note} (first {cell.answer.status} on the shared world)".strip()
        rows.append(
            (
                cell.operation_id,
                cell.caller,
                cell.expected,
                cell.final.outcome,
                str(cell.final.status),
                cell.final.code,
                note,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


async def test_every_route_as_every_caller(demo_template: Path, tmp_path: Path) -> None:
    routes = list(ALL_ROUTES)
    assert routes, "no routes"
    allowed = allowed_roles()
    prepare = preparations()
    cells: list[Cell] = []
    for number, route in enumerate(routes):
        cells += await one_route(
            route,
            demo_template,
            tmp_path / f"r{number}",
            allowed.get(route.operation_id),
            prepare.get(route.operation_id),
        )
    async with open_world(demo_template, fresh(tmp_path / "names")) as world:
        names = await display_names(world)
    find_leaks(routes, cells, names)
    wrong = [cell for cell in cells if cell.wrong]
    if wrong:
        counts = f"{len(wrong)} of {len(cells)} cells wrong ({len(routes)} routes)"
        pytest.fail(f"{counts}:\n{table(wrong)}", pytrace=False)


def test_the_classes_and_the_leak_check_themselves() -> None:
    """The matrix is only as good as its judge: a refusal that names someone, says
    more than a problem does, or repeats what the allowed callers saw is caught."""
    problem = {"type": "urn:huarong:problem:x", "title": "t", "status": 403, "code": "x"}
    assert classify(403, json.dumps(problem).encode()) == ("denied", "x")
    assert classify(404, b"") == ("denied", "")
    assert classify(409, b"{}") == ("allowed", "")
    assert classify(422, b'{"code": "invalid_value"}') == ("allowed", "invalid_value")
    assert classify(422, b'{"code": "invalid_request"}') == ("unreached", "invalid_request")
    assert classify(415, b"{}")[0] == "unreached"
    assert classify(502, b"")[0] == "error"

    def refusal(body: dict[str, Any], content_type: str = PROBLEM_JSON) -> Cell:
        answer = Answer(403, "denied", "x", json.dumps(body).encode(), content_type)
        return Cell("Op", "member", "denied", answer)

    names = {ROLE_MEMBERS["member"]: "郑晓明", 12: "何志刚"}
    assert leak_of(refusal(problem), names, set()) == ""
    assert leak_of(refusal({**problem, "detail": "郑晓明 may not"}), names, set()) == ""
    assert leak_of(refusal({**problem, "detail": "何志刚 may not"}), names, set()) == (
        "names member #12"
    )
    assert leak_of(refusal({**problem, "member": 12}), names, set()) == "keys ['member']"
    assert leak_of(refusal(problem, "application/json"), names, set()) == (
        "content type application/json"
    )
    secret = "13903910004"
    assert leak_of(refusal({**problem, "detail": secret}), names, {secret}) == (
        f"repeats {secret!r}"
    )
    assert telling(secret)
    assert telling("试用期可以延长吗？")
    assert not telling("party_masses")
