"""The OpenAPI 3.1 document, built from the route declarations, and its docs page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from huarong_core import __version__
from huarong_web.api import API_PREFIX, ApiRoute
from huarong_web.plain import PlainRoute
from huarong_web.problems import PROBLEM_JSON, problem_schema, statuses_for
from huarong_web.schema import TypeSchemas, _first_paragraph, is_optional, type_hints

__all__ = ["build_document", "docs_page"]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def build_document(
    api_routes: Sequence[ApiRoute], plain_routes: Sequence[PlainRoute], base: str = ""
) -> dict[str, Any]:
    types = TypeSchemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in api_routes:
        operation = _command_operation(route, types)
        paths.setdefault(base + API_PREFIX + route.path, {})[route.method.lower()] = operation
    for plain in plain_routes:
        operation = _plain_operation(plain, types)
        paths.setdefault(base + API_PREFIX + plain.path, {})[plain.method.lower()] = operation
    components = {
        "schemas": {**dict(sorted(types.components.items())), "ProblemDetails": problem_schema()},
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "huarong_session"},
            "token": {"type": "http", "scheme": "bearer"},
            "feed_token": {
                "type": "apiKey",
                "in": "query",
                "name": "access_token",
                "description": "A token with the read scope, for calendar apps (feeds only).",
            },
        },
        "responses": {
            str(status): {
                "description": _REASONS[status],
                "content": {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
                },
            }
            for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Huarong community API",
            "version": __version__,
            "description": (
                "Every feature of a Huarong community over HTTP. Sign in (a code sent to "
                "your chat account, Telegram, Matrix, or a password), then send the "
                "session's CSRF token in `X-CSRF-Token` on every change; integrations use "
                "`Authorization: Bearer <token>`. Errors are RFC 9457 problem documents."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": paths,
        "components": components,
    }


def _errors(method: str, signed_in: bool) -> dict[str, Any]:
    return {
        str(s): {"$ref": f"#/components/responses/{s}"} for s in statuses_for(method, signed_in)
    }


_SECURITY: list[dict[str, list[str]]] = [{"session": []}, {"token": []}]


def _command_operation(route: ApiRoute, types: TypeSchemas) -> dict[str, Any]:
    command = route.command
    hints = type_hints(command)
    doc = command.__doc__ or ""
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": types.input_schema(hints[name]),
        }
        for name in route.path_fields
    ]
    for parameter in parameters:
        if parameter["name"] in route.example:
            parameter["example"] = route.example[parameter["name"]]
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": _first_paragraph(doc) or command.__name__,
        "security": [*_SECURITY, {"feed_token": []}] if route.feed else _SECURITY,
    }
    open_fields = route.open_fields
    if route.in_query:
        optional = {f for f in open_fields if _has_default(command, f)}
        for name in open_fields:
            schema = types.input_schema(hints[name])
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name not in optional,
                    "schema": _nullable_query(schema, is_optional(hints[name])),
                    "style": "form",
                    "explode": True,
                    **({"example": route.example[name]} if name in route.example else {}),
                }
            )
    elif open_fields:
        leave_out = [f for f in _init_fields(command) if f not in open_fields]
        body = types.input_object(command, leave_out)
        media: dict[str, Any] = {"schema": body}
        example = {k: v for k, v in route.example.items() if k in open_fields}
        if example:
            media["example"] = example
        operation["requestBody"] = {
            "required": bool(body.get("required")),
            "content": {"application/json": media},
        }
    if route.method in ("POST", "PUT", "PATCH", "DELETE") and route.command.remembered:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retry safely: the same key gets the first answer.",
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            }
        )
    if route.exports:
        names = (["json"] if route.json else []) + list(route.exports)
        parameters.append(
            {"name": "format", "in": "query", "required": False, "schema": {"enum": names}}
        )
    if parameters:
        operation["parameters"] = parameters
    responses: dict[str, Any] = {}
    content: dict[str, Any] = {}
    result = route.result_type
    nothing = result is type(None) or result is None
    if route.json and not nothing:
        shown = _query_schema(types.schema(result), is_optional(result))
        content["application/json"] = {"schema": shown}
    for export in route.exports.values():
        content[export.media_type] = {"schema": {"type": "string"}}
    if nothing or is_optional(result):
        responses["204"] = {"description": "Done (nothing to show)"}
    if not nothing:
        responses[str(route.status)] = {"description": _REASONS[route.status], "content": content}
    if route.method == "GET":
        responses["304"] = {"description": "Not Modified (the `If-None-Match` ETag matched)"}
    responses.update(_errors(route.method, True))
    operation["responses"] = responses
    return operation


def _nullable_query(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    """A query parameter cannot be JSON null: an empty value (`?status=`) means none."""
    if not nullable:
        return schema
    rest = _query_schema(schema, True)
    choices = rest.get("anyOf", [rest])
    return {"anyOf": [*choices, {"type": "string", "maxLength": 0}]}


def _query_schema(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    """Without its `null`: a query parameter cannot be JSON null (the optional form is
    leaving it out), and a `None` result is answered 204."""
    if nullable and "anyOf" in schema:
        rest = [s for s in schema["anyOf"] if s != {"type": "null"}]
        return rest[0] if len(rest) == 1 else {"anyOf": rest}
    return schema


def _has_default(command: type, name: str) -> bool:
    import attrs

    field = attrs.fields_dict(command)[name]
    return field.default is not attrs.NOTHING


def _init_fields(command: type) -> list[str]:
    import attrs

    return [f.name for f in attrs.fields(command) if f.init]


def _plain_operation(route: PlainRoute, types: TypeSchemas) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
    }
    if route.signed_in:
        operation["security"] = _SECURITY
    else:
        operation["security"] = [{}]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in route.path_params
    ]
    if route.query:
        parameters += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in route.query
        ]
    if parameters:
        operation["parameters"] = parameters
    if route.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": route.form,
                        "required": [next(iter(route.form))],
                    }
                }
            },
        }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": types.input_object(route.body)}},
        }
    responses: dict[str, Any] = {}
    if route.response is None and route.media_type == "application/json":
        responses[str(route.status if route.status != 200 else 204)] = {"description": "Done"}
    elif route.media_type == "application/json":
        responses[str(route.status)] = {
            "description": _REASONS.get(route.status, "OK"),
            "content": {"application/json": {"schema": types.schema(route.response)}},
        }
    else:
        responses[str(route.status)] = {
            "description": _REASONS.get(route.status, "OK"),
            "content": {route.media_type: {"schema": {"type": "string"}}},
        }
    statuses = set(statuses_for(route.method, route.signed_in))
    if route.rate_limited:
        statuses |= {401, 429}
    responses.update({str(s): {"$ref": f"#/components/responses/{s}"} for s in sorted(statuses)})
    operation["responses"] = responses
    return operation


_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;"
    "color:#1b1b1b}table{border-collapse:collapse;width:100%;margin-bottom:2rem}"
    "td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
)


def docs_page(document: dict[str, Any], spec_url: str) -> str:
    """A readable page of every operation, from the document itself (no script, no CDN)."""
    sections: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            params = ", ".join(
                f"<code>{html.escape(p['name'])}</code>" for p in operation.get("parameters", ())
            )
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields = ""
            if body is not None:
                props = body["schema"].get("properties", {})
                fields = ", ".join(f"<code>{html.escape(n)}</code>" for n in props)
            row = (
                f"<tr><td><span class=m>{method.upper()}</span></td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation.get('summary', ''))}</td>"
                f"<td>{params}</td><td>{fields}</td></tr>"
            )
            sections.setdefault(operation["tags"][0], []).append(row)
    parts = []
    for tag in sorted(sections):
        parts.append(
            f'<section aria-labelledby="t-{html.escape(tag)}"><h2 id="t-{html.escape(tag)}">'
            f"{html.escape(tag)}</h2><table><thead><tr><th>Method</th><th>Path</th>"
            "<th>What it does</th><th>Parameters</th><th>Body fields</th></tr></thead>"
            f"<tbody>{''.join(sections[tag])}</tbody></table></section>"
        )
    info = document["info"]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(info['title'])}</title><style>"
        f"{_STYLE}"
        ".m{font-weight:700;font-family:monospace}code{font-size:.9em}"
        "</style></head><body><header><h1>"
        f"{html.escape(info['title'])} <small>{html.escape(info['version'])}</small></h1>"
        f"<p>{html.escape(info['description'])}</p>"
        f'<p>Machine-readable: <a href="{html.escape(spec_url)}">openapi.json</a>'
        " (OpenAPI 3.1).</p>"
        f"</header><main>{''.join(parts)}</main></body></html>"
    )
