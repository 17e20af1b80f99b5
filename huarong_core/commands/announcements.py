"""Commands of announcements to an audience, delivered to each recipient once."""

from __future__ import annotations

__all__: list[str] = []
