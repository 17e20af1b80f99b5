"""Commands of announcements to an audience, delivered to each recipient once.

Staff post an announcement to an audience; the posting unit writes one
delivery row per recipient member and per bound group chat, and the
`huarong_core.delivery.DeliveryWorker` sends them. Audiences are written
`everyone`, `club:<key>`, `station:<key>` (the station's subscribers),
`organization:<key>` (or `organization:#<id>`) and `category:<key>`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Page, Query, page_size
from huarong_core.errors import InvalidValue

__all__ = [
    "Announcement",
    "AnnouncementStatus",
    "Audience",
    "AudienceKind",
    "DeliveryRecord",
    "DeliveryState",
    "GetAnnouncementStatus",
    "ListAnnouncementDeliveries",
    "ListAnnouncements",
    "ListStationSubscriptions",
    "PostAnnouncement",
    "StationSubscription",
    "SubscribeToStation",
    "UnsubscribeFromStation",
]


class AudienceKind(enum.StrEnum):
    EVERYONE = "everyone"
    CLUB = "club"
    STATION = "station"
    """The members subscribed to the station (`SubscribeToStation`)."""
    ORGANIZATION = "organization"
    CATEGORY = "category"


@attrs.frozen
class Audience:
    """Who an announcement is for: `everyone`, or a kind and the key it names."""

    kind: AudienceKind
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> Audience:
        """`everyone`, `club:tea`, `station:huaying`, `organization:acme`, `category:resident`."""
        kind_text, colon, key = text.strip().partition(":")
        try:
            kind = AudienceKind(kind_text.strip().lower())
        except ValueError:
            raise InvalidValue(field="audience", value=text, reason="bad_audience") from None
        key = key.strip()
        if (bool(colon) or bool(key)) if kind is AudienceKind.EVERYONE else not key:
            raise InvalidValue(field="audience", value=text, reason="bad_audience")
        return cls(kind, key)

    def __str__(self) -> str:
        return self.kind.value if self.kind is AudienceKind.EVERYONE else f"{self.kind}:{self.key}"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    """Waiting for its time (the first try, or a retry after a temporary failure)."""
    SENDING = "sending"
    """Claimed by a worker, which is sending it now."""
    SENT = "sent"
    FAILED = "failed"
    """Refused for good (the member blocked the bot, the chat is gone) or out of retries."""
    UNREACHABLE = "unreachable"
    """The member has no linked account to send to."""
    UNKNOWN = "unknown"
    """A worker stopped hard while sending it: it may have arrived; never sent again."""

    @property
    def is_final(self) -> bool:
        return self not in (DeliveryState.PENDING, DeliveryState.SENDING)


@attrs.frozen
class Announcement:
    id: int
    audience: Audience
    title: str
    body: str
    posted_by: str
    """The actor's label (`member:12:Name`, `system:cli`)."""
    posted_at: datetime
    members: int
    """Delivery rows for members (one per recipient member)."""
    chats: int
    """Delivery rows for bound group chats."""
    scope: str
    """Where it was posted (`community`, `station:<key>`, `club:<key>`): who may follow it up."""
    posted_by_member: int | None = None


@attrs.frozen
class DeliveryRecord:
    """One recipient of one announcement and how its delivery went."""

    id: int
    announcement_id: int
    recipient: str
    """`member:<id>` or `chat:<platform>:<chat id>`."""
    state: DeliveryState
    attempts: int
    member_id: int | None
    chat: str | None
    """`<platform>:<chat id>` for a group chat."""
    platform: str | None
    """The platform of the last attempt."""
    last_error: str | None
    due_at: datetime
    sent_at: datetime | None
    updated_at: datetime


@attrs.frozen
class AnnouncementStatus:
    announcement: Announcement
    counts: dict[str, int]
    """Deliveries per state (every `DeliveryState`, zeros included)."""
    total: int
    failures: tuple[DeliveryRecord, ...]
    """Failed and unknown deliveries (the first `failure_limit`)."""

    @property
    def done(self) -> bool:
        """Nothing is left to send (every delivery is in a final state)."""
        return self.counts[DeliveryState.PENDING] == 0 and self.counts[DeliveryState.SENDING] == 0


@attrs.frozen
class PostAnnouncement(Command[Announcement]):
    """Post to an audience (`post_announcements` where the audience lives).

    `everyone`, `organization:` and `category:` need the permission
    community-wide; `station:<key>` in that station; `club:<key>` in the
    club (its leaders) or its station.
    """

    audience: str
    title: str
    body: str


@attrs.frozen
class ListAnnouncements(Query[tuple[Announcement, ...]]):
    """Newest first. By default those addressed to the acting member (a system
    actor sees all); with `posted`, those the actor may follow up as staff."""

    posted: bool = False
    before_id: int | None = None
    limit: int = attrs.field(default=20, converter=page_size)


@attrs.frozen
class GetAnnouncementStatus(Query[AnnouncementStatus]):
    """Counts per delivery state and the failures (its poster, or staff where it was posted)."""

    announcement_id: int
    failure_limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class ListAnnouncementDeliveries(Query[Page[DeliveryRecord]]):
    """Per-recipient delivery state, optionally of one state or one member."""

    announcement_id: int
    state: DeliveryState | None = None
    member_id: int | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class StationSubscription:
    station_key: str
    member_id: int
    subscribed_at: datetime


@attrs.frozen
class SubscribeToStation(Command[StationSubscription]):
    """Receive what the station announces to its subscribers (`station:<key>`).

    `member_id=None` is the acting member; naming another member takes
    `post_announcements` in the station.
    """

    station_key: str
    member_id: int | None = None


@attrs.frozen
class UnsubscribeFromStation(Command[StationSubscription]):
    station_key: str
    member_id: int | None = None


@attrs.frozen
class ListStationSubscriptions(Query[tuple[StationSubscription, ...]]):
    """A member's subscriptions (default: the acting member's)."""

    member_id: int | None = None
