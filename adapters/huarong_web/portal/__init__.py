"""The member portal and the staff console: server-rendered pages over the core.

`portal_routes()` gathers the page routes of every area module; `make_app`
adds them beside the API, with the static files under `/static/`.
"""

from __future__ import annotations

from huarong_web.portal.pages import STATIC, PortalRoute, make_environment

__all__ = ["STATIC", "PortalRoute", "make_environment", "portal_routes"]

AREAS = (
    "account",
    "home",
    "gatherings",
    "clubs",
    "points",
    "shop",
    "library",
    "services",
    "volunteering",
    "smiles",
    "news",
    "profile",
    "staff",
)
"""Modules of `huarong_web.portal` with a `ROUTES` tuple."""


def portal_routes() -> tuple[PortalRoute, ...]:
    import importlib

    routes: list[PortalRoute] = []
    for name in AREAS:
        module = importlib.import_module(f"huarong_web.portal.{name}")
        routes.extend(module.ROUTES)
    return tuple(routes)
