"""Volunteering and the smile wall in the community file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from huarong_core.errors import Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig


@attrs.frozen
class VolunteeringSection:
    """The volunteer team (filled in by the volunteering area)."""

    team_name: str | None = None


@attrs.frozen
class SmileWallSection:
    """How the smile wall rotates (filled in by the smile wall area)."""

    photos_per_period: int = 12


ENTRY_TYPES: tuple[type, ...] = (
    VolunteeringSection,
    SmileWallSection,
)


def check_volunteering(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file."""
    return iter(())
