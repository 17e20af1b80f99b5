"""Huarong on the web: an aiohttp sub-application with a JSON API (and, later, a portal).

    from huarong_web import make_app
    app.add_subapp("/community", make_app(handle))

Every core command has a route under `/api/v1` (declared once in
`huarong_web.routes`, described by `/api/v1/openapi.json`); people sign in
with a code sent to their chat account, with Telegram or Matrix, or with a
password; integrations use API tokens. The core authorizes everything.
"""

from __future__ import annotations

from huarong_web.api import API_PREFIX, ApiRoute, Export
from huarong_web.app import make_app
from huarong_web.plain import PlainRoute
from huarong_web.service import WebService
from huarong_web.settings import RateLimit, WebSettings

__all__ = [
    "API_PREFIX",
    "ApiRoute",
    "Export",
    "PlainRoute",
    "RateLimit",
    "WebService",
    "WebSettings",
    "make_app",
]
