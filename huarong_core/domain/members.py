"""Members and the platform identities that point at them."""

from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from huarong_core.errors import InvalidValue

PLATFORM_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}\Z")  # \Z: "$" would let a final newline in
MAX_EXTERNAL_ID_LENGTH = 255


class MemberStatus(enum.StrEnum):
    """`active` members act; `suspended` ones are kept but may not; `left` moved away;
    `merged` were absorbed into another member (`Member.merged_into`) by linking accounts."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    LEFT = "left"
    MERGED = "merged"


@attrs.frozen
class Member:
    id: int
    display_name: str
    key: str | None = None
    categories: frozenset[str] = frozenset()
    organization_id: int | None = None
    locale: str | None = None
    status: MemberStatus = MemberStatus.ACTIVE
    merged_into: int | None = None
    """The member this one was merged into (status `merged`); it never acts again."""

    @property
    def is_active(self) -> bool:
        return self.status is MemberStatus.ACTIVE

    def locale_or(self, community_locale: str) -> str:
        return self.locale or community_locale


@attrs.frozen
class IdentityRef:
    """A platform account: `telegram` + user id, `matrix` + `@user:server`, ..."""

    platform: str
    external_id: str

    def __attrs_post_init__(self) -> None:
        if not PLATFORM_PATTERN.match(self.platform):
            raise InvalidValue(field="platform", value=self.platform, reason="bad_platform")
        if not self.external_id.strip() or len(self.external_id) > MAX_EXTERNAL_ID_LENGTH:
            raise InvalidValue(
                field="external_id", value=self.external_id, reason="bad_external_id"
            )

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


@attrs.frozen
class Identity:
    ref: IdentityRef
    member_id: int
    linked_at: datetime
