"""Huarong on the web: an aiohttp sub-application with a JSON API and a portal.

The adapter arrives with its own issues; this package already exists so
that the distribution's layout, extras and imports are stable.
"""

from __future__ import annotations

__all__: list[str] = []
