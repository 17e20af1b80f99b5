"""Typed keys for what the web application keeps on itself (no globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from huarong_core import CommunityHandle
    from huarong_web.auth import Authenticator, Principal
    from huarong_web.clients import ClientKeys
    from huarong_web.limits import RateLimiter
    from huarong_web.settings import WebSettings

__all__ = [
    "AUTH",
    "CLIENT_KEYS",
    "FEEDS",
    "HANDLE",
    "LIMITER",
    "LOCALE",
    "PAGES",
    "PRINCIPAL",
    "SETTINGS",
]

HANDLE: web.AppKey[CommunityHandle] = web.AppKey("huarong.handle")
SETTINGS: web.AppKey[WebSettings] = web.AppKey("huarong.settings")
AUTH: web.AppKey[Authenticator] = web.AppKey("huarong.auth")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("huarong.limiter")
CLIENT_KEYS: web.AppKey[ClientKeys] = web.AppKey("huarong.client_keys")
"""Keys for client addresses that name no one (`huarong_web.clients`)."""
PAGES: web.AppKey[bool] = web.AppKey("huarong.pages")
"""Set when the portal's pages are served: refusals outside the API become pages."""
FEEDS: web.AppKey[frozenset[str]] = web.AppKey("huarong.feeds")
"""The operationIds of calendar feeds (where `?access_token=` is read)."""

PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("huarong.principal")
"""Who asks (set by the first middleware on every request)."""
LOCALE: web.RequestKey[str] = web.RequestKey("huarong.locale")
"""The language answers are written in."""
