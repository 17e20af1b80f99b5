"""Commands of the gatherings area: clubs, venues, salons, sessions, events, calendars.

`member_id=None` on a member-facing command means "the acting member";
naming another member requires a staff permission for that gathering or club.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import attrs

from huarong_core.commands.base import Command, Query
from huarong_core.domain.clubs import (
    ChatBinding,
    Club,
    ClubMembership,
    JoinPolicy,
    MembershipStatus,
)
from huarong_core.domain.gatherings import (
    Answer,
    EventType,
    Gathering,
    GatheringKind,
    Ranking,
    Rsvp,
    RsvpStatus,
    Salon,
)
from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.venues import Booking, Venue

__all__ = [
    "AddCheckpoint",
    "AnnounceToClub",
    "AttendanceSummary",
    "BindClubChat",
    "BookVenue",
    "BookingResult",
    "CalendarFeed",
    "CancelBooking",
    "CancelGathering",
    "ChallengeTeam",
    "CheckIn",
    "CheckInCode",
    "CheckInResult",
    "Checkpoint",
    "CloseGathering",
    "ClubAnnouncement",
    "ClubDetails",
    "ClubSummary",
    "ContestPlace",
    "CreateClub",
    "CreateEvent",
    "CreateTeam",
    "DecideClubRequest",
    "DefineSalon",
    "DefineVenue",
    "Feedback",
    "FeedbackSummary",
    "FinalizeContest",
    "FindClubByChat",
    "FireDueTimers",
    "GatheringDetails",
    "GenerateSessions",
    "GetCalendar",
    "GetChallengeBoard",
    "GetCheckInCode",
    "GetClub",
    "GetContestRanking",
    "GetGathering",
    "GiveFeedback",
    "JoinClub",
    "JoinTeam",
    "LeaveClub",
    "ListBookings",
    "ListClubMembers",
    "ListClubs",
    "ListFeedback",
    "ListGatherings",
    "ListMemberClubs",
    "ListMemberRsvps",
    "ListRsvps",
    "ListSalons",
    "ListVenues",
    "MemberAgendaItem",
    "ReachCheckpoint",
    "RecordContestScore",
    "RespondToGathering",
    "TeamProgress",
    "UnbindClubChat",
    "UpdateClub",
    "UpdateGathering",
    "WhatsOn",
]


# --- clubs -------------------------------------------------------------------------


@attrs.frozen
class CreateClub(Command[Club]):
    """Staff create a club; `leaders` get the club_leader role in the club's scope."""

    key: str
    name: LocalizedText
    description: LocalizedText | None = None
    station: str | None = None
    join_policy: JoinPolicy = JoinPolicy.OPEN
    leaders: tuple[int, ...] = ()


@attrs.frozen
class UpdateClub(Command[Club]):
    club_key: str
    name: LocalizedText | None = None
    description: LocalizedText | None = None
    join_policy: JoinPolicy | None = None


@attrs.frozen
class ClubSummary:
    club: Club
    members: int
    pending: int


@attrs.frozen
class ClubDetails:
    club: Club
    members: int
    pending: int
    leaders: tuple[int, ...]
    chats: tuple[ChatBinding, ...]


@attrs.frozen
class ListClubs(Query[tuple[ClubSummary, ...]]):
    """Every club with its member and pending counts."""


@attrs.frozen
class GetClub(Query[ClubDetails]):
    club_key: str


@attrs.frozen
class JoinClub(Command[ClubMembership]):
    """Open clubs admit at once; approval clubs record a pending request."""

    club_key: str
    member_id: int | None = None


@attrs.frozen
class LeaveClub(Command[ClubMembership]):
    club_key: str
    member_id: int | None = None


@attrs.frozen
class DecideClubRequest(Command[ClubMembership]):
    """A leader lets a pending member in, or declines them; `note` is kept in the audit
    log, and a declined member is told it as the reason."""

    club_key: str
    member_id: int
    approve: bool
    note: str = ""


@attrs.frozen
class ListClubMembers(Query[tuple[ClubMembership, ...]]):
    club_key: str
    status: MembershipStatus = MembershipStatus.ACTIVE


@attrs.frozen
class ListMemberClubs(Query[tuple[ClubMembership, ...]]):
    member_id: int | None = None


@attrs.frozen
class BindClubChat(Command[ChatBinding]):
    """Bind a Telegram group or Matrix room to a club (one club per chat)."""

    club_key: str
    platform: str
    chat_id: str


@attrs.frozen
class UnbindClubChat(Command[ChatBinding]):
    platform: str
    chat_id: str


@attrs.frozen
class FindClubByChat(Query[Club | None]):
    platform: str
    chat_id: str


@attrs.frozen
class ClubAnnouncement:
    club_key: str
    text: str
    recipients: tuple[int, ...]
    chats: tuple[ChatBinding, ...]


@attrs.frozen
class AnnounceToClub(Command[ClubAnnouncement]):
    """A notice to the club's members and its bound chats, delivered through the outbox."""

    club_key: str
    text: str


# --- venues ------------------------------------------------------------------------


@attrs.frozen
class DefineVenue(Command[Venue]):
    venue: Venue


@attrs.frozen
class ListVenues(Query[tuple[Venue, ...]]):
    """Every venue, for members choosing a room and staff booking one."""


@attrs.frozen
class BookingResult:
    booked: tuple[Booking, ...]
    skipped: tuple[datetime, ...]
    """Occurrence starts left out because the venue was taken (with `skip_conflicts`)."""


@attrs.frozen
class BookVenue(Command[BookingResult]):
    """Book a venue once, or for every occurrence of `recurrence` up to `until`.

    A clash with a confirmed booking refuses the whole request, naming every
    clashing occurrence (`VenueUnavailable`); with `skip_conflicts` the free
    occurrences are booked and the others reported as skipped.
    """

    venue_key: str
    purpose: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: Recurrence | None = None
    until: date | None = None
    skip_conflicts: bool = False


@attrs.frozen
class CancelBooking(Command[tuple[Booking, ...]]):
    """Cancel one booking, or with `whole_series` every future occurrence of its series."""

    booking_id: int
    whole_series: bool = False


@attrs.frozen
class ListBookings(Query[tuple[Booking, ...]]):
    venue_key: str | None = None
    starts: datetime | None = None
    ends: datetime | None = None


# --- salons, sessions and events ---------------------------------------------------


@attrs.frozen
class DefineSalon(Command[Salon]):
    """Create or change a salon series; its sessions are generated up to the horizon."""

    salon: Salon


@attrs.frozen
class ListSalons(Query[tuple[Salon, ...]]):
    """Every salon series, enabled or not."""


@attrs.frozen
class GenerateSessions(Command[int]):
    """Create the sessions every enabled salon (or one) has up to `until` (default:
    the horizon; at most two years ahead); idempotent, and never recreates a
    cancelled or moved occurrence. A salon's sessions are for whoever runs its
    organizer's gatherings to make; without `salon_key`, every salon they run."""

    salon_key: str | None = None
    until: datetime | None = None


@attrs.frozen
class Checkpoint:
    seq: int
    name: str
    code: str


@attrs.frozen
class CreateEvent(Command[Gathering]):
    title: LocalizedText
    event_type: EventType
    starts_at: datetime
    ends_at: datetime
    organizer: str = "community"
    key: str | None = None
    venue_key: str | None = None
    capacity: int | None = None
    description: LocalizedText | None = None
    tags: frozenset[str] = frozenset()
    ranking: Ranking = Ranking.HIGH
    checkpoints: tuple[tuple[str, str], ...] = ()
    """(name, code) of each checkpoint of a challenge."""
    speaker: str | None = None


@attrs.frozen
class UpdateGathering(Command[Gathering]):
    """Change one session or event; moving it re-books its venue and reschedules its
    reminders, and everyone going is told. `venue_key=""` releases the venue."""

    gathering_id: int
    title: LocalizedText | None = None
    topic: str | None = None
    speaker: str | None = None
    venue_key: str | None = None
    capacity: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@attrs.frozen
class CancelGathering(Command[Gathering]):
    gathering_id: int
    reason: str = ""


@attrs.frozen
class GatheringDetails:
    gathering: Gathering
    going: int
    waitlisted: int
    maybe: int
    checked_in: int
    seats_left: int | None
    mine: Rsvp | None
    my_feedback: Feedback | None = None
    """What the reader said after attending, once they have (feedback is given once)."""


@attrs.frozen
class GetGathering(Query[GatheringDetails]):
    gathering_id: int


@attrs.frozen
class ListGatherings(Query[tuple[Gathering, ...]]):
    starts: datetime | None = None
    ends: datetime | None = None
    kind: GatheringKind | None = None
    salon_key: str | None = None
    club_key: str | None = None
    venue_key: str | None = None
    include_cancelled: bool = False
    limit: int = 200


@attrs.frozen
class WhatsOn(Query[tuple[Gathering, ...]]):
    """What's on from `start` (default: today, in the community's time zone) for `days`."""

    days: int = 7
    start: date | None = None


@attrs.frozen
class RespondToGathering(Command[Rsvp]):
    """RSVP going / maybe / not going. Going on a full gathering joins the waitlist;
    leaving a seat promotes the first on the waitlist."""

    gathering_id: int
    answer: Answer
    member_id: int | None = None


@attrs.frozen
class ListRsvps(Query[tuple[Rsvp, ...]]):
    gathering_id: int
    status: RsvpStatus | None = None


@attrs.frozen
class MemberAgendaItem:
    gathering: Gathering
    rsvp: Rsvp


@attrs.frozen
class ListMemberRsvps(Query[tuple[MemberAgendaItem, ...]]):
    member_id: int | None = None
    upcoming_only: bool = True


@attrs.frozen
class CheckInCode:
    gathering_id: int
    code: str
    opens_at: datetime
    closes_at: datetime


@attrs.frozen
class GetCheckInCode(Query[CheckInCode]):
    gathering_id: int


@attrs.frozen
class CheckInResult:
    rsvp: Rsvp
    awards: tuple[tuple[str, str, int], ...]
    """(rule, outcome, points) of each points rule the check-in triggered."""
    gathering: Gathering
    """The gathering as the check-in found it: a reply can name it without reading it."""


@attrs.frozen
class CheckIn(Command[CheckInResult]):
    """A member checks in with the code shown at the venue; staff check a member in
    by naming them (no code needed)."""

    gathering_id: int
    code: str | None = None
    member_id: int | None = None


@attrs.frozen
class AttendanceSummary:
    gathering_id: int
    attended: tuple[int, ...]
    no_shows: tuple[int, ...]


@attrs.frozen
class CloseGathering(Command[AttendanceSummary]):
    """Settle attendance after the check-in window: attended, no-shows (points triggers
    both), feedback requested. The scheduler does it on time; staff may do it early
    once the gathering has started."""

    gathering_id: int


@attrs.frozen
class Feedback:
    gathering_id: int
    member_id: int
    rating: int
    comment: str
    created_at: datetime


@attrs.frozen
class GiveFeedback(Command[Feedback]):
    gathering_id: int
    rating: int
    comment: str = ""
    member_id: int | None = None


@attrs.frozen
class FeedbackSummary:
    gathering_id: int
    count: int
    average: float | None
    items: tuple[Feedback, ...]


@attrs.frozen
class ListFeedback(Query[FeedbackSummary]):
    gathering_id: int


# --- contests and challenges -------------------------------------------------------


@attrs.frozen
class ContestPlace:
    place: int
    entrant: str
    """`member:3` or `team:2`."""
    label: str
    score: float


@attrs.frozen
class RecordContestScore(Command[ContestPlace]):
    """Staff enter (or correct) an entrant's score; give a member or a team."""

    gathering_id: int
    score: str
    member_id: int | None = None
    team_id: int | None = None


@attrs.frozen
class GetContestRanking(Query[tuple[ContestPlace, ...]]):
    gathering_id: int


@attrs.frozen
class FinalizeContest(Command[tuple[ContestPlace, ...]]):
    """Freeze the ranking; each placed member's `contest.placed` points trigger fires."""

    gathering_id: int


@attrs.frozen
class ChallengeTeam:
    id: int
    gathering_id: int
    name: str
    members: tuple[int, ...]
    completed_at: datetime | None


@attrs.frozen
class CreateTeam(Command[ChallengeTeam]):
    """A member starts a team for a challenge and is its first member."""

    gathering_id: int
    name: str
    member_id: int | None = None


@attrs.frozen
class JoinTeam(Command[ChallengeTeam]):
    gathering_id: int
    team_id: int
    member_id: int | None = None


@attrs.frozen
class AddCheckpoint(Command[Checkpoint]):
    gathering_id: int
    name: str
    code: str


@attrs.frozen
class TeamProgress:
    team: ChallengeTeam
    reached: tuple[int, ...]
    """Checkpoint numbers the team has reached."""
    total: int
    last_reached_at: datetime | None
    place: int


@attrs.frozen
class ReachCheckpoint(Command[TeamProgress]):
    """A team member enters the code found at a checkpoint."""

    gathering_id: int
    code: str
    member_id: int | None = None


@attrs.frozen
class GetChallengeBoard(Query[tuple[TeamProgress, ...]]):
    gathering_id: int


# --- calendars and timers ----------------------------------------------------------


class CalendarFeed(enum.StrEnum):
    SALON = "salon"
    CLUB = "club"
    VENUE = "venue"
    MEMBER = "member"
    COMMUNITY = "community"


@attrs.frozen
class GetCalendar(Query[str]):
    """An RFC 5545 iCalendar feed; `key` is the salon, club or venue key, or the member
    id (a member reads their own; staff anyone's)."""

    feed: CalendarFeed
    key: str = ""


@attrs.frozen
class FireDueTimers(Command[int]):
    """Fire up to `limit` timers that are due: reminders, closings, session generation.

    Each timer fires once: on PostgreSQL several processes may run this at
    once (`FOR UPDATE SKIP LOCKED`). Returns how many fired.
    """

    limit: int = 50
