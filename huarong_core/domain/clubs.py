"""Clubs (社团): who belongs, who leads, and the chat groups that speak for them."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key


class JoinPolicy(enum.StrEnum):
    OPEN = "open"
    """Anyone joins at once."""
    APPROVAL = "approval"
    """A request waits for a leader (or station staff) to approve or decline it."""


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    LEFT = "left"
    DECLINED = "declined"

    @property
    def is_current(self) -> bool:
        """Counts as being in (or on the way into) the club: joining again is refused."""
        return self in (MembershipStatus.PENDING, MembershipStatus.ACTIVE)


@attrs.frozen
class Club:
    key: str
    name: LocalizedText
    description: LocalizedText | None = None
    station: str | None = None
    """The station whose staff look after the club (华英驿站 for most)."""
    join_policy: JoinPolicy = JoinPolicy.OPEN

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)


@attrs.frozen
class ClubMembership:
    club_key: str
    member_id: int
    status: MembershipStatus
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None


@attrs.frozen
class ChatBinding:
    """A platform group bound to a club: commands there act on the club, notices go there."""

    club_key: str
    platform: str
    chat_id: str
