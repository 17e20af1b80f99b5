"""The service catalogue in the community file: `[[services]]`, each with its form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from huarong_core.errors import Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig


@attrs.frozen
class ServiceEntry:
    """A service a station offers (filled in by the services area)."""

    key: str


ENTRY_TYPES: tuple[type, ...] = (ServiceEntry,)


def check_services(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file."""
    return iter(())
