"""Every command route, gathered from the per-area tables.

A test (`tests/web/test_web_coverage.py`) enumerates the core's commands and
fails when one has no route here.
"""

from __future__ import annotations

from huarong_web import routes_gatherings, routes_people, routes_services
from huarong_web.api import ApiRoute

__all__ = ["ALL_ROUTES"]

ALL_ROUTES: tuple[ApiRoute, ...] = (
    *routes_people.ROUTES,
    *routes_gatherings.ROUTES,
    *routes_services.ROUTES,
)
