"""A community: one building (campus, park, co-working space) and its settings."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.i18n import DEFAULT_LOCALE

DEFAULT_TIMEZONE = "Asia/Shanghai"


@attrs.frozen
class Community:
    id: int
    key: str
    name: LocalizedText
    timezone: str = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def local(self, instant: datetime) -> datetime:
        """An instant in the community's own time: what "today" means there."""
        return instant.astimezone(self.tz)


@attrs.frozen
class Category:
    """A kind of member the community distinguishes (party member, resident, ...)."""

    key: str
    name: LocalizedText


@attrs.frozen
class Station:
    """A service station: groups services, events and staff (DOMAIN.md's four stations)."""

    key: str
    name: LocalizedText
    floor: str | None = None
    description: LocalizedText | None = None
