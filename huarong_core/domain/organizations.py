"""Tenant companies and other bodies members belong to."""

from __future__ import annotations

import attrs


@attrs.frozen
class Organization:
    id: int
    name: str
    key: str | None = None
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool = False
