"""Commands of aid cases (帮扶): confidential records of help for members in difficulty."""

from __future__ import annotations

__all__: list[str] = []
