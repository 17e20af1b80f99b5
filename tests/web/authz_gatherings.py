"""Who may run each gatherings-area route's `example` in the demo building.

`ALLOWED[operation_id]` is the set of matrix roles (see `web_world.ROLE_MEMBERS`)
whose request succeeds; every other role is refused by the core's permission
check (403). Read from the handlers' checks and proven by
`test_web_routes_gatherings.py::test_every_role_as_expected`.

Most examples run in the demo as it is seeded. A few need something first: a
pending club request, a booking someone made, a team, or a moment in time
(check-in opens 30 minutes before a session starts, a contest is finalized
after it started). `PREPARE[operation_id]` brings a freshly copied world to
that state through the core, as the system; run it before sending the example.
The roles a prepared example allows are still decided by permission alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from huarong_core import Actor
from huarong_core.commands import (
    BindClubChat,
    BookVenue,
    CheckIn,
    CreateTeam,
    JoinClub,
    PostAnnouncement,
    RecordContestScore,
    SubscribeToStation,
)
from tests.web.web_world import SYSTEM, Prepare, WebWorld

EVERYONE = frozenset(
    {"member", "volunteer", "club_leader", "station_staff", "community_staff", "admin"}
)
COMMUNITY = frozenset({"community_staff", "admin"})
"""Staff of station `huaying` (every club and the contest are there) or everywhere."""
PARTY_MASSES = frozenset({"station_staff", "community_staff", "admin"})
"""Staff of station `party_masses` (the Red Coffee salon, the challenge) or everywhere."""
KANGAROO = frozenset({"club_leader", "community_staff", "admin"})
"""Whoever leads `kangaroo_class` (Emily) or is staff of its station."""
ANYWHERE_STAFF = frozenset({"club_leader", "station_staff", "community_staff", "admin"})
"""A permission held in any scope (`view_members`, `book_venues`, `manage_gatherings`)."""

ALLOWED: dict[str, frozenset[str]] = {
    # clubs
    "ListClubs": EVERYONE,
    "CreateClub": COMMUNITY,
    "GetClub": EVERYONE,
    "UpdateClub": COMMUNITY,
    "JoinClub": EVERYONE,  # chess: none of the six is a member yet
    "LeaveClub": KANGAROO,  # naming member 12 takes lead_clubs
    "ListClubMembers": KANGAROO,  # pending requests are the leaders' business
    "DecideClubRequest": KANGAROO,
    "ListMyClubs": EVERYONE,
    "ListMemberClubs": ANYWHERE_STAFF,
    "AnnounceToClub": KANGAROO,
    "BindClubChat": KANGAROO,
    "FindClubByChat": EVERYONE,
    "UnbindClubChat": KANGAROO,
    # venues
    "ListVenues": EVERYONE,
    "DefineVenue": COMMUNITY,
    "BookVenue": ANYWHERE_STAFF,
    "ListBookings": EVERYONE,
    "CancelBooking": COMMUNITY,  # not the booker: manage_venues at huaying
    # salons, sessions, events
    "ListSalons": EVERYONE,
    "DefineSalon": PARTY_MASSES,
    "GenerateSessions": COMMUNITY,  # the example names `english`, run by station huaying
    "CreateEvent": PARTY_MASSES,
    "ListGatherings": EVERYONE,
    "WhatsOn": EVERYONE,
    "GetGathering": EVERYONE,
    "UpdateGathering": PARTY_MASSES,
    "CancelGathering": PARTY_MASSES,
    "RespondToGathering": EVERYONE,
    "ListRsvps": PARTY_MASSES,
    "ListMyRsvps": EVERYONE,
    "ListMemberRsvps": ANYWHERE_STAFF,
    "GetCheckInCode": PARTY_MASSES,
    "CheckIn": PARTY_MASSES,  # checking member 12 in (staff need no code)
    "CloseGathering": PARTY_MASSES,
    "GiveFeedback": EVERYONE,  # each of the six was checked in by PREPARE
    "ListFeedback": PARTY_MASSES,
    # contests and challenges
    "RecordContestScore": COMMUNITY,
    "GetContestRanking": EVERYONE,
    "FinalizeContest": COMMUNITY,
    "CreateTeam": EVERYONE,
    "JoinTeam": EVERYONE,
    "AddCheckpoint": PARTY_MASSES,
    "ReachCheckpoint": PARTY_MASSES,  # for member 12, on a team since PREPARE
    "GetChallengeBoard": EVERYONE,
    # calendars and timers
    "GetCalendar": EVERYONE,
    "FireDueTimers": frozenset({"admin"}),  # manage_community
    # announcements
    "PostAnnouncement": PARTY_MASSES,
    "ListAnnouncements": EVERYONE,
    "GetAnnouncementStatus": PARTY_MASSES,  # posted by the system at party_masses
    "ListAnnouncementDeliveries": PARTY_MASSES,
    "SubscribeToStation": EVERYONE,
    "UnsubscribeFromStation": PARTY_MASSES,  # naming member 12
    "ListMyStationSubscriptions": EVERYONE,
    "ListStationSubscriptions": ANYWHERE_STAFF,
}

# --- preparations ----------------------------------------------------------------------

SESSION = 9
SESSION_STARTS = datetime(2026, 7, 8, 4, 30, tzinfo=UTC)
CONTEST = 20
CHALLENGE = 21
OTHER_MEMBER = 12
ROLE_IDS = (1, 2, 4, 7, 9, 10)
"""The members behind the six matrix roles."""


async def _pending_request(world: WebWorld) -> None:
    """Member 11 asks to join `kangaroo_class` (it admits on approval)."""
    await world.handle.execute(JoinClub("kangaroo_class"), actor=Actor.member(11, "冯雪"))


async def _booking(world: WebWorld) -> None:
    """Booking #21: club room B, booked by the system (so by no member)."""
    await world.handle.execute(
        BookVenue(
            "club_room_b",
            "Staff training",
            datetime(2026, 7, 3, 6, 0, tzinfo=UTC),
            datetime(2026, 7, 3, 8, 0, tzinfo=UTC),
        ),
        actor=SYSTEM,
    )


async def _bound_chat(world: WebWorld) -> None:
    await world.handle.execute(
        BindClubChat("kangaroo_class", "telegram", "-1001234567890"), actor=SYSTEM
    )


async def _in_check_in_window(world: WebWorld) -> None:
    """A quarter of an hour before the Red Coffee salon (check-in opens 30 min early)."""
    world.clock.set(SESSION_STARTS.replace(minute=15))


async def _session_started(world: WebWorld) -> None:
    world.clock.set(SESSION_STARTS.replace(minute=45))


async def _everyone_attended(world: WebWorld) -> None:
    """The session has started and every matrix role's member was checked in."""
    await _session_started(world)
    for member_id in ROLE_IDS:
        await world.handle.execute(CheckIn(SESSION, member_id=member_id), actor=SYSTEM)


async def _contest_scored_and_started(world: WebWorld) -> None:
    await world.handle.execute(RecordContestScore(CONTEST, "97", member_id=10), actor=SYSTEM)
    world.clock.set(datetime(2027, 5, 20, 7, 0, tzinfo=UTC))


async def _team(world: WebWorld) -> None:
    """Team #1 of the challenge, with member 12 on it."""
    await world.handle.execute(
        CreateTeam(CHALLENGE, "Early Birds", member_id=OTHER_MEMBER), actor=SYSTEM
    )


async def _team_and_challenge_running(world: WebWorld) -> None:
    await _team(world)
    world.clock.set(datetime(2027, 7, 1, 1, 0, tzinfo=UTC))


async def _subscribed(world: WebWorld) -> None:
    """Member 12 follows station `party_masses`."""
    await world.handle.execute(
        SubscribeToStation("party_masses", member_id=OTHER_MEMBER), actor=SYSTEM
    )


async def _announced(world: WebWorld) -> None:
    """Announcement #1, posted by the system to `party_masses`'s subscribers (member 12,
    who has no chat account: his delivery is `unreachable`)."""
    await _subscribed(world)
    await world.handle.execute(
        PostAnnouncement("station:party_masses", "Red Coffee salon", "Wednesday, 12:30."),
        actor=SYSTEM,
    )


PREPARE: Mapping[str, Prepare] = {
    "DecideClubRequest": _pending_request,
    "CancelBooking": _booking,
    "UnbindClubChat": _bound_chat,
    "CheckIn": _in_check_in_window,
    "CloseGathering": _session_started,
    "GiveFeedback": _everyone_attended,
    "FinalizeContest": _contest_scored_and_started,
    "JoinTeam": _team,
    "ReachCheckpoint": _team_and_challenge_running,
    "GetAnnouncementStatus": _announced,
    "ListAnnouncementDeliveries": _announced,
    "UnsubscribeFromStation": _subscribed,
}
"""What must be true before an example can run, by operation id."""
