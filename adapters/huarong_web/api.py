"""One HTTP route per core command, declared once and served generically.

An `ApiRoute` says which method and path run which command; everything else
follows from the command's own type: its fields are the path parameters,
then the query string (reads) or the JSON body (writes); its result type is
the response. The same declaration feeds the OpenAPI document
(`huarong_web.openapi`), so the two cannot disagree.

Writes honour `Idempotency-Key` (RFC draft `httpapi-idempotency-key-header`):
the key becomes the core's delivery id, so a retried request gets the first
answer and changes nothing more, exactly as a redelivered chat message does;
the same key with a different body is refused (422). Reads carry an ETag and
answer `304 Not Modified` to a matching `If-None-Match`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, time, timedelta
from fractions import Fraction
from typing import Any, cast

import attrs
from aiohttp import web

from huarong_core import CommunityHandle, Delivery
from huarong_core.commands import Command
from huarong_core.inbox import AdapterState
from huarong_core.json_text import to_json
from huarong_core.services.registry import handler_for
from huarong_web.auth import ADAPTER, Principal, csrf_ok
from huarong_web.keys import PRINCIPAL
from huarong_web.problems import WebProblem, from_decode_error, request_locale
from huarong_web.schema import DecodeError, build, from_text, json_converter, type_hints

__all__ = [
    "API_PREFIX",
    "ApiRoute",
    "Export",
    "command_handler",
    "json_object",
    "json_response",
    "read_body",
    "read_json",
]

API_PREFIX = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

converter = json_converter()
_IMMUTABLE = (str, int, float, enum.Enum, date, time, timedelta, Fraction, frozenset)
"""What `from_text` gives that may be handed to two commands (bool is an int, datetime a
date; a frozenset's items are such values too)."""
_DECODED_LIMIT = 256
"""Remembered texts per route: past that, the memory starts afresh."""
_REMEMBERED_BODY = 512
"""Bodies up to this many bytes may key a remembered command."""
_JSON_TYPES = ("application/json", "application/merge-patch+json")


@attrs.frozen
class Export:
    """Another representation of a command's result (`?format=csv`, an `.ics` feed)."""

    media_type: str
    render: Callable[[Any, CommunityHandle, str], bytes]
    """(result, handle, locale) -> the body."""
    filename: str | None = None


@attrs.frozen
class ApiRoute:
    method: str
    path: str
    """Under `/api/v1`; `{name}` placeholders are fields of the command."""
    command: type[Command[Any]]
    tag: str
    status: int = 200
    fixed: Mapping[str, Any] = attrs.field(factory=dict)
    """Fields the route itself sets (`/rsvps/{gathering_id}/going`)."""
    me: str | None = None
    """A field filled with the signed-in member's id (`/me/...` routes)."""
    exports: Mapping[str, Export] = attrs.field(factory=dict)
    """`?format=<name>` alternatives to JSON; the first is the default when the
    route has no JSON form (see `json`)."""
    json: bool = True
    example: Mapping[str, Any] = attrs.field(factory=dict)
    """A working request in the demo building (`huarong demo`): path, query and body
    values by field name, as JSON. Shown in the OpenAPI document; the authorization
    matrix test sends it as every role."""
    name: str | None = None
    """The operationId; defaults to the command's name (set it when one command
    has two routes)."""

    @property
    def feed(self) -> bool:
        """A calendar feed: calendar apps may send a read token as `?access_token=`."""
        return "ics" in self.exports

    @property
    def operation_id(self) -> str:
        return self.name or self.command.__name__

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.path))

    @property
    def in_query(self) -> bool:
        return self.method in ("GET", "DELETE")

    @property
    def open_fields(self) -> tuple[str, ...]:
        """Fields the caller sets in the query or body."""
        closed = {*self.path_fields, *self.fixed, *([self.me] if self.me else [])}
        return tuple(
            f.name for f in attrs.fields(cast(Any, self.command)) if f.init and f.name not in closed
        )

    @property
    def result_type(self) -> Any:
        spec = handler_for(self.command)
        if spec is None:
            raise TypeError(f"no handler for {self.command.__name__}")
        return spec.result_type

    def check(self) -> None:
        """Refuse a declaration that could not work (caught by the tests, at import)."""
        names = {f.name for f in attrs.fields(cast(Any, self.command)) if f.init}
        for name in (*self.path_fields, *self.fixed, *([self.me] if self.me else [])):
            if name not in names:
                raise TypeError(f"{self.operation_id}: {name!r} is not a field")
        if self.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise TypeError(f"{self.operation_id}: bad method {self.method}")
        if not self.json and not self.exports:
            raise TypeError(f"{self.operation_id}: no representation")
        for name in self.example:
            if name not in names or name in self.fixed or name == self.me:
                raise TypeError(f"{self.operation_id}: example names {name!r}, not an open field")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def command_handler(route: ApiRoute, handle: CommunityHandle, max_body_bytes: int) -> Handler:
    """The aiohttp handler serving `route` (request bodies up to `max_body_bytes`)."""
    route.check()
    # What every request of this route needs, worked out once.
    hints = type_hints(route.command)
    open_fields = frozenset(route.open_fields)
    result_type = route.result_type
    path_fields = route.path_fields
    in_query = route.in_query
    fixed = dict(route.fixed)
    decoded: dict[tuple[str, tuple[str, ...]], Any] = {}
    spec = handler_for(route.command)
    # A cached query hands back the very object it answered before (until the next
    # commit): its JSON and ETag are then the same too, and made once.
    encoded: dict[int, _Encoded] | None = {} if spec is not None and spec.cached else None

    def from_texts(name: str, texts: list[str]) -> Any:
        """`from_text` for this route's field `name`, remembering the immutable values
        it gave (the same board, the same page size, request after request)."""
        key = (name, tuple(texts))
        if key in decoded:
            return decoded[key]
        value = from_text(hints[name], texts, name)
        if isinstance(value, _IMMUTABLE):
            if len(decoded) >= _DECODED_LIMIT:
                decoded.clear()
            decoded[key] = value
        return value

    remembered = route.command.remembered
    built: dict[tuple[tuple[str, Any], ...], Command[Any]] = {}

    def built_command(ready: dict[str, Any]) -> Command[Any] | None:
        """The command a read built before from the same immutable values (commands
        are frozen, so one may serve every request that asks the same)."""
        try:
            return built.get(tuple(ready.items()))
        except TypeError:  # an unhashable value: built afresh
            return None

    def remember_command(ready: dict[str, Any], command: Command[Any]) -> None:
        if all(v is None or isinstance(v, _IMMUTABLE) for v in ready.values()):
            if len(built) >= _DECODED_LIMIT:
                built.clear()
            built[tuple(ready.items())] = command

    # Bodies: the same small body sent to the same path builds the same command
    # (an RSVP's `{"answer": "going"}`, a join's `{}`), kept when every field of
    # the command is an immutable value (so two requests may share it).
    from_bodies: dict[tuple[tuple[tuple[str, Any], ...], bytes], Command[Any]] = {}

    def command_from_body(ready: dict[str, Any], body: bytes) -> Command[Any]:
        try:
            key = (tuple(ready.items()), body)
            command = from_bodies.get(key)
        except TypeError:  # an unhashable value from the route: built afresh
            key, command = None, None
        if command is not None:
            return command
        try:
            command = cast(Command[Any], build(route.command, json_object(body), "", ready))
        except DecodeError as exc:
            raise from_decode_error(exc) from exc
        if key is not None and len(body) <= _REMEMBERED_BODY and _immutable(command):
            if len(from_bodies) >= _DECODED_LIMIT:
                from_bodies.clear()
            from_bodies[key] = command
        return command

    async def handler(request: web.Request) -> web.StreamResponse:
        principal: Principal = request[PRINCIPAL]
        actor = require_actor(principal, request)
        ready: dict[str, Any] = dict(fixed)
        for name in path_fields:
            try:
                ready[name] = from_texts(name, [request.match_info[name]])
            except DecodeError as exc:
                raise WebProblem(404, "no_such_resource") from exc
        if route.me is not None:
            ready[route.me] = principal.member_id
        wanted = request.query.get("format")
        command: Command[Any] | None = None
        if in_query:
            for name in set(request.query.keys()):
                if name in ("format", "access_token") or name.startswith("_"):
                    continue
                if name not in open_fields:
                    raise WebProblem(
                        422, "invalid_request", fields=((f"?{name}", "unknown_parameter", {}),)
                    )
                try:
                    ready[name] = from_texts(name, request.query.getall(name))
                except DecodeError as exc:
                    raise from_decode_error(exc, where="query") from exc
            body = b""
            command = built_command(ready)
            if command is None:
                try:
                    command = build(route.command, {}, "", ready)
                except DecodeError as exc:
                    raise from_decode_error(exc) from exc
                remember_command(ready, command)
        else:
            body = await read_body(request, max_body_bytes)
            command = command_from_body(ready, body)
        export = _export_for(route, wanted)  # a bad `format` is refused before anything runs
        delivery = (
            await idempotency(request, principal, handle, body, replayable=remembered)
            if request.method in UNSAFE
            else None
        )
        result = await handle.execute(command, actor=actor, delivery=delivery)
        if export is not None:
            locale = request_locale(request)
            response = web.Response(
                body=export.render(result, handle, locale),
                content_type=export.media_type.split(";")[0],
                charset="utf-8",
            )
            if export.filename:
                response.headers["Content-Disposition"] = (
                    f'attachment; filename="{export.filename}"'
                )
            return with_etag(request, response)
        if result is None:
            return web.Response(status=204)
        if encoded is not None and route.status == 200:
            return _answer_kept(request, result, result_type, encoded)
        return json_response(
            request, converter.unstructure(result, result_type), status=route.status
        )

    return handler


_Encoded = tuple[Any, bytes, str]
"""A kept answer, its JSON body, its ETag."""
_ENCODED_LIMIT = 256


def _answer_kept(
    request: web.Request, result: Any, result_type: Any, encoded: dict[int, _Encoded]
) -> web.Response:
    """The JSON of a cached query's answer, encoded once per answer object.

    Keyed by the object's id and checked by identity: holding the object keeps
    its id from being reused by another."""
    kept = encoded.get(id(result))
    if kept is None or kept[0] is not result:
        body = to_json(converter.unstructure(result, result_type))
        if len(encoded) >= _ENCODED_LIMIT:
            encoded.clear()
        kept = encoded[id(result)] = (result, body, _etag_of(body))
    response = web.Response(body=kept[1], content_type="application/json")
    if request.method != "GET":
        return response
    return _tagged(request, response, kept[2])


def require_actor(principal: Principal, request: web.Request) -> Any:
    """The actor of a signed-in request allowed past the token's scopes and CSRF."""
    actor = principal.actor
    if actor is None:
        raise WebProblem(401, "sign_in_required", headers={"WWW-Authenticate": "Bearer"})
    if principal.kind == "token":
        needed = "write" if request.method in UNSAFE else "read"
        if needed not in principal.scopes and "system" not in principal.scopes:
            raise WebProblem(403, "token_scope", {"scope": needed})
    if request.method in UNSAFE and not csrf_ok(principal, request):
        raise WebProblem(403, "csrf")
    return actor


def _export_for(route: ApiRoute, wanted: str | None) -> Export | None:
    if wanted is None or wanted == "json":
        if route.json:
            return None
        return next(iter(route.exports.values()))
    export = route.exports.get(wanted)
    if export is None:
        raise WebProblem(
            422, "invalid_request", fields=(("?format", "not_allowed", {"expected": "json"}),)
        )
    return export


async def read_json(request: web.Request, limit: int | None = None) -> tuple[bytes, dict[str, Any]]:
    """The body (at most `limit` bytes, by default the app's `max_body_bytes`) as a JSON
    object; an empty body is an empty object."""
    body = await read_body(request, limit)
    return body, json_object(body)


async def read_body(request: web.Request, limit: int | None = None) -> bytes:
    """The body as sent (at most `limit` bytes, by default the app's `max_body_bytes`),
    refused unless it is empty or declared as JSON; `json_object` parses it."""
    if limit is None:
        from huarong_web.keys import SETTINGS

        limit = request.config_dict[SETTINGS].max_body_bytes
    length = request.content_length
    if length is not None:
        if length > limit:
            raise WebProblem(413, "too_large", {"limit": limit})
        # Its length known and allowed: read at once (aiohttp stops at the length).
        body = await request.content.readexactly(length) if length else b""
    else:
        body = await _read_limited(request, limit)
    if body.strip() and request.content_type not in _JSON_TYPES:
        raise WebProblem(415, "not_json")
    return body


def json_object(body: bytes) -> dict[str, Any]:
    """A body `read_body` accepted, as a JSON object; an empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebProblem(400, "malformed_json") from exc
    if not isinstance(parsed, dict):
        raise WebProblem(
            422, "invalid_request", fields=(("", "wrong_type", {"expected": "object"}),)
        )
    return parsed


def _immutable(command: Command[Any]) -> bool:
    """Every field of `command` a value no handler could change (see `_IMMUTABLE`)."""
    return all(
        value is None or isinstance(value, _IMMUTABLE)
        for value in attrs.astuple(cast(Any, command), recurse=False)
    )


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """A body of unknown length (chunked), refused as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise WebProblem(413, "too_large", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


async def idempotency(
    request: web.Request,
    principal: Principal,
    handle: CommunityHandle,
    body: bytes,
    *,
    replayable: bool = True,
) -> Delivery | None:
    """The delivery an `Idempotency-Key` names, after checking the key was not used
    for another request.

    A command whose answer is a secret shown once (a new API token, a sign-in
    code) is not remembered by the core, so its first answer cannot be replayed:
    the key's second use is refused (409) rather than minting a second secret."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or request.method not in UNSAFE:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise WebProblem(400, "bad_idempotency_key")
    fingerprint = hashlib.sha256(
        b"\0".join((request.method.encode(), request.rel_url.raw_path.encode(), body))
    ).hexdigest()
    name = f"{principal.key}:{key}"
    before = await AdapterState(handle, ADAPTER).add(f"idem:{name}", fingerprint)
    if before is not None and before != fingerprint:
        raise WebProblem(422, "idempotency_key_reused")
    if before is not None and not replayable:
        raise WebProblem(409, "idempotency_key_spent")
    return Delivery("web", name) if replayable else None


def json_response(request: web.Request, data: Any, status: int = 200) -> web.Response:
    response = web.Response(
        body=to_json(data),
        status=status,
        content_type="application/json",
    )
    if request.method == "GET" and status == 200:
        return with_etag(request, response)
    return response


def with_etag(request: web.Request, response: web.Response) -> web.Response:
    """A weak validator from the body: a poller asks again with `If-None-Match`."""
    body = response.body
    if request.method != "GET" or not isinstance(body, bytes):
        return response
    return _tagged(request, response, _etag_of(body))


def _etag_of(body: bytes) -> str:
    return f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def _tagged(request: web.Request, response: web.Response, tag: str) -> web.Response:
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "private, no-cache"
    wanted = request.headers.get("If-None-Match")
    if wanted and tag in _etags(wanted):
        return web.Response(status=304, headers={"ETag": tag, "Cache-Control": "private, no-cache"})
    return response


def _etags(header: str) -> Sequence[str]:
    tags = [t.strip() for t in header.split(",") if t.strip()]
    return [t if t.startswith("W/") else f"W/{t}" for t in tags]


def route_table(routes: Sequence[ApiRoute]) -> dict[str, ApiRoute]:
    """By operationId, refusing two routes with one id or one method and path."""
    by_id: dict[str, ApiRoute] = {}
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if route.operation_id in by_id:
            raise TypeError(f"two routes named {route.operation_id}")
        where = (route.method, _PLACEHOLDER.sub("{}", route.path))
        if where in seen:
            raise TypeError(f"two routes at {route.method} {route.path}")
        seen.add(where)
        by_id[route.operation_id] = route
    return by_id
