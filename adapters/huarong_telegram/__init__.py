"""Huarong on Telegram: the Bot API over aiohttp, by polling or webhook.

The adapter arrives with its own issue; this package already exists so
that the distribution's layout, extras and imports are stable.
"""

from __future__ import annotations

__all__: list[str] = []
