"""RFC 9457 problem documents: every error the API answers, in the reader's language.

A problem carries a stable machine-readable `type` (`urn:huarong:problem:<code>`,
`code` being the error's name in snake case), the HTTP `status`, a short
`title` and a `detail` sentence from the catalogs. It never echoes what the
caller sent (a refused value may be a code, a password, someone's phone
number): field errors name the field and the rule, not the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
from aiohttp import web

from huarong_core.errors import (
    AidCaseAccessDenied,
    AlreadyExists,
    DatabaseBusy,
    DatabaseUnreachable,
    HuarongError,
    InvalidAnswer,
    InvalidValue,
    MemberInactive,
    NotFound,
    NotTheRequester,
    PermissionDenied,
    StorageError,
    TransientConflict,
)
from huarong_core.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    has_key,
    normalize_locale,
    render_error,
    translate,
)
from huarong_web.keys import HANDLE, LOCALE, PRINCIPAL
from huarong_web.schema import DecodeError

__all__ = [
    "PROBLEM_JSON",
    "FieldProblem",
    "WebProblem",
    "from_decode_error",
    "negotiate_locale",
    "problem_response",
    "problem_schema",
    "status_for",
]

PROBLEM_JSON = "application/problem+json"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@attrs.frozen
class FieldProblem:
    """One bad value: `pointer` is a JSON Pointer into the body (or `?name` for a
    query parameter), `detail` says which rule it broke."""

    pointer: str
    detail: str


@attrs.define(auto_exc=True, eq=False)
class WebProblem(Exception):
    """An error of the HTTP layer itself (no sign-in, a bad body, a rate limit)."""

    status: int
    code: str
    """Also the catalog key `web.problem.<code>`."""
    params: dict[str, Any] = attrs.field(factory=dict)
    fields: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    """(pointer, reason key under `web.reason.`, params) for each bad value."""
    headers: dict[str, str] = attrs.field(factory=dict)


def code_of(error: HuarongError) -> str:
    return _CAMEL.sub("_", type(error).__name__).lower()


def status_for(error: HuarongError) -> int:
    if isinstance(error, InvalidValue):
        return 422
    if isinstance(error, NotFound | AidCaseAccessDenied):
        return 404  # a case one is not named on does not exist, as far as one can tell
    if isinstance(error, PermissionDenied | MemberInactive | NotTheRequester):
        return 403
    if isinstance(error, AlreadyExists):
        return 409
    if isinstance(error, DatabaseBusy | DatabaseUnreachable | TransientConflict):
        return 503
    if isinstance(error, StorageError):
        return 500
    return 409  # the request was understood, but the state of things refuses it


def request_locale(request: web.Request) -> str:
    """The language to answer `request` in: its `Accept-Language`, else the signed-in
    member's, else the community's. Worked out when first needed (most answers are
    JSON that needs none) and remembered on the request."""
    found = request.get(LOCALE)
    if isinstance(found, str):
        return found
    principal = request.get(PRINCIPAL)
    fallback = getattr(principal, "locale", None)
    if fallback is None and HANDLE in request.config_dict:
        fallback = request.config_dict[HANDLE].community.locale
    locale = request[LOCALE] = negotiate_locale(request.headers.get("Accept-Language"), fallback)
    return locale


def negotiate_locale(accept_language: str | None, fallback: str | None) -> str:
    """The best supported locale in an `Accept-Language` header, else `fallback`."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = "en" if tag == "*" else normalize_locale(tag)
        if locale is None or quality <= 0:
            continue
        if best is None or (quality, -position) > (best[0], best[1]):
            best = (quality, -position, locale)
    if best is not None:
        return best[2]
    if fallback in SUPPORTED_LOCALES:
        return fallback
    return DEFAULT_LOCALE


def from_decode_error(error: DecodeError, where: str = "body") -> WebProblem:
    pointer = _pointer(error.path) if where == "body" else f"?{error.path}"
    return WebProblem(
        422,
        "invalid_request",
        fields=((pointer, error.reason, {"expected": error.expected}),),
    )


def _pointer(path: str) -> str:
    if not path or path == "$":
        return ""
    parts = re.findall(r"[^.\[\]]+", path)
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None,
    fields: Iterable[FieldProblem] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:huarong:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    listed = [attrs.asdict(f) for f in fields]
    if listed:
        body["errors"] = listed
    return body


def problem_response(
    error: HuarongError | WebProblem, locale: str, instance: str | None = None
) -> web.Response:
    if isinstance(error, WebProblem):
        status, code = error.status, error.code
        detail = translate(f"web.problem.{code}", locale, **error.params)
        fields = [
            FieldProblem(pointer, translate(f"web.reason.{reason}", locale, **params))
            for pointer, reason, params in error.fields
        ]
        headers = dict(error.headers)
    else:
        status, code = status_for(error), code_of(error)
        detail = _error_detail(error, locale)
        fields = []
        if isinstance(error, InvalidValue):
            reason = translate(f"reason.{error.reason}", locale)
            fields = [FieldProblem(f"/{error.field}", reason)]
        headers = {}
    title = translate(f"web.status.{status}", locale)
    body = problem_body(status, code, title, detail, instance, fields)
    headers["Content-Language"] = locale.replace("_", "-")
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def _error_detail(error: HuarongError, locale: str) -> str:
    if isinstance(error, InvalidValue):
        label = (error.label_in(locale) if isinstance(error, InvalidAnswer) else "") or (
            translate(f"field.{error.field}", locale)
            if has_key(f"field.{error.field}", locale)
            else error.field
        )
        reason = translate(f"reason.{error.reason}", locale)
        return translate("web.problem.invalid_value", locale, field=label, reason=reason)
    if isinstance(error, StorageError):
        return translate(f"web.problem.{code_of(error)}", locale)
    return render_error(error, locale)


def problem_schema() -> dict[str, Any]:
    """The schema of every problem document, for the OpenAPI components."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    }


def statuses_for(method: str, signed_in: bool) -> Sequence[int]:
    """The error statuses an operation may answer, for its OpenAPI responses."""
    statuses = [400, 404, 409, 413, 415, 422, 429, 503] if method != "GET" else [400, 404, 422]
    if signed_in:
        statuses = [401, 403, *statuses]
    return sorted(set(statuses))
