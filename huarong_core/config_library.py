"""The red-reading library in the community file: `[library]`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from huarong_core.errors import Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig


@attrs.frozen
class LibrarySection:
    """Loan period, limits and holds (filled in by the library area)."""

    loan_days: int = 30


ENTRY_TYPES: tuple[type, ...] = (LibrarySection,)


def check_library(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file."""
    return iter(())
