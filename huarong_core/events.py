"""Domain events: what happened, recorded in the outbox with the change itself.

Each event has a stable `kind` (`member.registered`); later areas name the
kinds their rules react to (points rules trigger on `salon.checked_in`).
Events are plain frozen values so the outbox can store them as JSON and a
relay can turn them into notifications after the commit.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

_KINDS: dict[str, type[Event]] = {}


@attrs.frozen
class Event:
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            # attrs builds each slotted class twice; the second, final one wins.
            known = _KINDS.get(cls.kind)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event kind {cls.kind!r} is defined twice")
            _KINDS[cls.kind] = cls


def event_class(kind: str) -> type[Event] | None:
    return _KINDS.get(kind)


def event_kinds() -> frozenset[str]:
    return frozenset(_KINDS)


@attrs.frozen
class CommunityConfigured(Event):
    kind = "community.configured"
    community_key: str
    changes: int


@attrs.frozen
class OrganizationRegistered(Event):
    kind = "organization.registered"
    organization_id: int
    name: str


@attrs.frozen
class OrganizationUpdated(Event):
    kind = "organization.updated"
    organization_id: int
    fields: tuple[str, ...]


@attrs.frozen
class MemberRegistered(Event):
    kind = "member.registered"
    member_id: int
    display_name: str
    organization_id: int | None


@attrs.frozen
class MemberUpdated(Event):
    kind = "member.updated"
    member_id: int
    fields: tuple[str, ...]


@attrs.frozen
class MemberStatusChanged(Event):
    kind = "member.status_changed"
    member_id: int
    old: str
    new: str
    reason: str


@attrs.frozen
class IdentityLinked(Event):
    kind = "identity.linked"
    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class IdentityUnlinked(Event):
    kind = "identity.unlinked"
    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class RoleGranted(Event):
    kind = "role.granted"
    member_id: int
    role: str
    scope: str


@attrs.frozen
class RoleRevoked(Event):
    kind = "role.revoked"
    member_id: int
    role: str
    scope: str


@attrs.frozen
class PointsAwarded(Event):
    """Points moved into (or, negative, out of) a member's balance by a rule or by staff."""

    kind = "points.awarded"
    member_id: int
    points: int
    rule_key: str | None
    entry_id: int


@attrs.frozen
class PointsPending(Event):
    kind = "points.pending"
    member_id: int
    rule_key: str
    points: int
    pending_id: int


@attrs.frozen
class ItemRedeemed(Event):
    kind = "shop.redeemed"
    member_id: int
    item_key: str
    quantity: int
    redemption_id: int


@attrs.frozen
class RedemptionChanged(Event):
    kind = "shop.redemption_changed"
    member_id: int
    redemption_id: int
    status: str


@attrs.frozen
class HonourGranted(Event):
    kind = "honour.granted"
    member_id: int
    honour_id: int
    honour_kind: str


# --- clubs ---------------------------------------------------------------------------


@attrs.frozen
class ClubCreated(Event):
    kind = "club.created"
    club_key: str


@attrs.frozen
class ClubJoinRequested(Event):
    """A request to join an approval club: its leaders are told."""

    kind = "club.join_requested"
    club_key: str
    member_id: int


@attrs.frozen
class ClubJoined(Event):
    kind = "club.joined"
    club_key: str
    member_id: int


@attrs.frozen
class ClubLeft(Event):
    kind = "club.left"
    club_key: str
    member_id: int


@attrs.frozen
class ClubRequestDeclined(Event):
    kind = "club.request_declined"
    club_key: str
    member_id: int


@attrs.frozen
class ClubAnnounced(Event):
    """A notice for every member of the club and every chat bound to it."""

    kind = "club.announced"
    club_key: str
    text: str
    recipients: tuple[int, ...]
    chats: tuple[str, ...]
    """`platform:chat_id` of each bound chat."""


# --- venues and gatherings -----------------------------------------------------------


@attrs.frozen
class VenueBooked(Event):
    kind = "venue.booked"
    venue_key: str
    booking_ids: tuple[int, ...]


@attrs.frozen
class VenueConflict(Event):
    """A generated session could not hold its salon's venue: staff find it another."""

    kind = "venue.conflict"
    venue_key: str
    gathering_id: int


@attrs.frozen
class GatheringScheduled(Event):
    kind = "gathering.scheduled"
    gathering_id: int
    gathering_kind: str


@attrs.frozen
class GatheringChanged(Event):
    """Time, venue or details changed: everyone going or waitlisted is told."""

    kind = "gathering.changed"
    gathering_id: int
    fields: tuple[str, ...]
    recipients: tuple[int, ...]


@attrs.frozen
class GatheringCancelled(Event):
    kind = "gathering.cancelled"
    gathering_id: int
    reason: str
    recipients: tuple[int, ...]


@attrs.frozen
class RsvpRecorded(Event):
    kind = "gathering.rsvp"
    gathering_id: int
    member_id: int
    status: str
    position: int | None


@attrs.frozen
class WaitlistPromoted(Event):
    """A seat freed and the first on the waitlist now has it: they are told."""

    kind = "gathering.promoted"
    gathering_id: int
    member_id: int


@attrs.frozen
class CheckedIn(Event):
    kind = "gathering.checked_in"
    gathering_id: int
    member_id: int
    by_staff: bool


@attrs.frozen
class GatheringReminder(Event):
    kind = "gathering.reminder"
    gathering_id: int
    recipients: tuple[int, ...]
    minutes_before: int


@attrs.frozen
class AttendanceRecorded(Event):
    kind = "gathering.closed"
    gathering_id: int
    attended: tuple[int, ...]
    no_shows: tuple[int, ...]


@attrs.frozen
class FeedbackRequested(Event):
    kind = "gathering.feedback_requested"
    gathering_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class ContestFinalized(Event):
    kind = "contest.finalized"
    gathering_id: int
    podium: tuple[str, ...]


@attrs.frozen
class CheckpointReached(Event):
    kind = "challenge.checkpoint_reached"
    gathering_id: int
    team_id: int
    checkpoint: int


@attrs.frozen
class ChallengeCompleted(Event):
    kind = "challenge.team_completed"
    gathering_id: int
    team_id: int
    members: tuple[int, ...]
