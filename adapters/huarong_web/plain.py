"""Routes that are not one core command (sign-in, the session, the API's description).

They are declared like command routes, with attrs types for their body and
answer, so the OpenAPI document describes them from the same declaration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

__all__ = ["PlainRoute"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class PlainRoute:
    method: str
    path: str
    """Under `/api/v1` unless `absolute`."""
    handler: Handler = attrs.field(repr=False)
    tag: str
    summary: str
    body: type | None = None
    """The attrs type of the JSON body, if any."""
    response: Any = None
    """The attrs type (or `None` for 204) of a JSON answer."""
    status: int = 200
    signed_in: bool = False
    """Needs a session or token (else anyone may call it)."""
    media_type: str = "application/json"
    name: str = ""
    query: tuple[tuple[str, str], ...] = ()
    """(name, description) of string query parameters."""
    rate_limited: bool = False
    """Counted against the sign-in limits (per address and per login)."""
    command: Any = None
    """The core command it serves, when it is one's only route (a photo upload)."""
    form: dict[str, dict[str, Any]] | None = attrs.field(default=None, hash=False)
    """A `multipart/form-data` body: field name -> JSON Schema."""
    path_params: tuple[str, ...] = ()
    """Integer path parameters (`{photo_id}`)."""

    @property
    def operation_id(self) -> str:
        return self.name or self.handler.__name__.strip("_")
