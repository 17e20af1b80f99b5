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
    reason: str = ""
    """What the leader said, if anything (empty in events stored before it existed)."""


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


# --- volunteering and the smile wall -----------------------------------------------------


@attrs.frozen
class VolunteerJoined(Event):
    kind = "volunteer.joined"
    member_id: int
    added_by_staff: bool
    recipients: tuple[int, ...]


@attrs.frozen
class VolunteerLeft(Event):
    kind = "volunteer.left"
    member_id: int
    withdrawn_shifts: tuple[int, ...]


@attrs.frozen
class ShiftSignedUp(Event):
    kind = "volunteer.signed_up"
    shift_id: int
    member_id: int
    slots_left: int


@attrs.frozen
class ShiftWithdrawn(Event):
    kind = "volunteer.withdrawn"
    shift_id: int
    member_id: int


@attrs.frozen
class ShiftChanged(Event):
    kind = "volunteer.shift_changed"
    shift_id: int
    fields: tuple[str, ...]
    recipients: tuple[int, ...]


@attrs.frozen
class ShiftCancelled(Event):
    kind = "volunteer.shift_cancelled"
    shift_id: int
    reason: str
    recipients: tuple[int, ...]


@attrs.frozen
class ShiftReminder(Event):
    kind = "volunteer.shift_reminder"
    shift_id: int
    task_id: int
    recipients: tuple[int, ...]
    minutes_before: int


@attrs.frozen
class VolunteerHoursConfirmed(Event):
    kind = "volunteer.hours_confirmed"
    shift_id: int
    member_id: int
    hours: str
    recipients: tuple[int, ...]


@attrs.frozen
class PhotoSubmitted(Event):
    kind = "smile_wall.submitted"
    photo_id: int
    member_id: int


@attrs.frozen
class PhotoApproved(Event):
    kind = "smile_wall.approved"
    photo_id: int
    member_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class PhotoRejected(Event):
    kind = "smile_wall.rejected"
    photo_id: int
    member_id: int
    reason: str
    recipients: tuple[int, ...]


@attrs.frozen
class PhotoRemoved(Event):
    kind = "smile_wall.removed"
    photo_id: int
    member_id: int
    reason: str
    recipients: tuple[int, ...]


# --- the red-reading library ------------------------------------------------------------


@attrs.frozen
class CopyBorrowed(Event):
    """`due_at` is the ISO instant the copy is due back."""

    kind = "library.borrowed"
    loan_id: int
    copy_code: str
    book_id: int
    member_id: int
    due_at: str


@attrs.frozen
class CopyReturned(Event):
    kind = "library.returned"
    loan_id: int
    copy_code: str
    book_id: int
    member_id: int
    overdue: bool


@attrs.frozen
class LoanRenewed(Event):
    kind = "library.renewed"
    loan_id: int
    copy_code: str
    member_id: int
    due_at: str


@attrs.frozen
class LoanDueSoon(Event):
    """A reminder to the borrower some days before the due date."""

    kind = "library.loan_due_soon"
    loan_id: int
    copy_code: str
    book_id: int
    due_at: str
    recipients: tuple[int, ...]


@attrs.frozen
class LoanOverdue(Event):
    kind = "library.loan_overdue"
    loan_id: int
    copy_code: str
    book_id: int
    due_at: str
    days_overdue: int
    recipients: tuple[int, ...]


@attrs.frozen
class HoldPlaced(Event):
    kind = "library.hold_placed"
    hold_id: int
    book_id: int
    member_id: int
    position: int


@attrs.frozen
class HoldReady(Event):
    """A copy waits for the member at the library until `pickup_by` (ISO instant)."""

    kind = "library.hold_ready"
    hold_id: int
    book_id: int
    copy_code: str
    pickup_by: str
    recipients: tuple[int, ...]


@attrs.frozen
class HoldExpired(Event):
    """The copy was not picked up in time and passed to the next in line."""

    kind = "library.hold_expired"
    hold_id: int
    book_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class HoldCancelled(Event):
    kind = "library.hold_cancelled"
    hold_id: int
    book_id: int
    member_id: int


@attrs.frozen
class BookDonated(Event):
    kind = "library.donated"
    donation_id: int
    book_id: int
    copy_codes: tuple[str, ...]
    recipients: tuple[int, ...]


@attrs.frozen
class ReflectionSubmitted(Event):
    kind = "library.reflection_submitted"
    reflection_id: int
    book_id: int
    member_id: int
    revision: int


@attrs.frozen
class ReflectionDecided(Event):
    """Approved or returned (with a note saying what to revise): the author is told."""

    kind = "library.reflection_decided"
    reflection_id: int
    book_id: int
    status: str
    note: str
    recipients: tuple[int, ...]


@attrs.frozen
class ReflectionNominated(Event):
    kind = "library.reflection_nominated"
    contest_id: int
    reflection_id: int
    recipients: tuple[int, ...]


# --- service stations: the catalogue and service requests ---------------------------------


@attrs.frozen
class ServiceRequestSubmitted(Event):
    """A new request reached a station: its staff are told."""

    kind = "service.request_submitted"
    request_id: int
    service_key: str
    station: str
    requester_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceRequestUpdated(Event):
    """Something about a request changed: the requester is told of every change.

    `change` is `submitted`, `state`, `assigned`, `reply`, `visit` or `rated`;
    `state` is the request's state after it. Steps the requester took
    themselves also go to whoever works the request.
    """

    kind = "service.request_updated"
    request_id: int
    change: str
    state: str
    recipients: tuple[int, ...]
    text: str = ""
    visit_at: str | None = None
    """ISO 8601, for `visit`."""


@attrs.frozen
class ServiceRequestAssigned(Event):
    kind = "service.request_assigned"
    request_id: int
    assignee_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceRequestMessage(Event):
    """The requester wrote on their request: its assignee (or the station's staff) is told."""

    kind = "service.request_message"
    request_id: int
    requester_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceSlaWarning(Event):
    """Most of the SLA has passed: the assignee (or the station's staff) is told."""

    kind = "service.sla_warning"
    request_id: int
    station: str
    due_at: str
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceSlaBreached(Event):
    """The SLA passed without a resolution: escalated to the station lead."""

    kind = "service.sla_breached"
    request_id: int
    station: str
    due_at: str
    lead_id: int | None
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceVisitReminder(Event):
    kind = "service.visit_reminder"
    request_id: int
    visit_at: str
    recipients: tuple[int, ...]


@attrs.frozen
class ServiceRequestRated(Event):
    """The requester rated the service: the station's staff (or assignee) see it."""

    kind = "service.rated"
    request_id: int
    station: str
    rating: int
    recipients: tuple[int, ...]


# --- aid cases: only a case id and the named staff to tell, never what the case holds ---


@attrs.frozen
class AidStaffNamed(Event):
    """Staff were named on an aid case (told: those newly named, but the actor)."""

    kind = "aid.staff_named"
    case_id: int
    recipients: tuple[int, ...]


@attrs.frozen
class AidCaseUpdated(Event):
    """An aid case changed: an action, its status, its staff (told: the other named staff)."""

    kind = "aid.case_updated"
    case_id: int
    recipients: tuple[int, ...]


# --- announcements ---------------------------------------------------------------------


@attrs.frozen
class AnnouncementPosted(Event):
    """An announcement was posted. Its recipients are not listed: each has a delivery
    row of its own, which a `DeliveryWorker` sends exactly once (a relay must not)."""

    kind = "announcement.posted"
    announcement_id: int
    audience: str
    title: str
    members: int
    """Delivery rows for members (those without any linked account included)."""
    unreachable: int
    chats: int


# --- linking accounts --------------------------------------------------------------------


@attrs.frozen
class MembersMerged(Event):
    """Two members became one by linking accounts: `absorbed` now points at `survivor`."""

    kind = "members.merged"
    survivor_id: int
    absorbed_id: int
    points_moved: int
    identities: tuple[str, ...]
    """The accounts (`platform:id`) that moved to the survivor."""


# --- access ---------------------------------------------------------------------------------


@attrs.frozen
class SignInCodeSent(Event):
    """A member asked the web portal for a sign-in code: it goes to them in chat.

    The plain code travels in this event and in the notice made from it (it has to
    reach the member); it is good for ten minutes and one use, and the code table
    keeps its hash only.
    """

    kind = "access.sign_in_code"
    member_id: int
    code: str = attrs.field(repr=False)
    expires_at: str
    """ISO 8601, aware."""
