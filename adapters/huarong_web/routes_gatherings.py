"""Command routes: clubs, venues, salons, sessions and events, contests, calendars,
timers and announcements.

One `ApiRoute` per command (two where a member reads their own things under
`/me/...` and staff read someone else's under `/members/{member_id}/...`).
Commands that act for "the acting member, or the member staff name" keep
`member_id` as an optional body field: leave it out to act for oneself.
Every `example` runs in the demo building (`huarong demo`); the few that need
something to exist first (a pending request, a booking, a team) or a moment
in time (check-in opens 30 minutes before a session starts) say so in
`tests/web/authz_gatherings.py`, which prepares exactly that.
"""

from __future__ import annotations

from typing import Any

from huarong_core import CommunityHandle
from huarong_core.commands import (
    AddCheckpoint,
    AnnounceToClub,
    BindClubChat,
    BookVenue,
    CancelBooking,
    CancelGathering,
    CheckIn,
    CloseGathering,
    CreateClub,
    CreateEvent,
    CreateTeam,
    DecideClubRequest,
    DefineSalon,
    DefineVenue,
    FinalizeContest,
    FindClubByChat,
    FireDueTimers,
    GenerateSessions,
    GetAnnouncementStatus,
    GetCalendar,
    GetChallengeBoard,
    GetCheckInCode,
    GetClub,
    GetContestRanking,
    GetGathering,
    GiveFeedback,
    JoinClub,
    JoinTeam,
    LeaveClub,
    ListAnnouncementDeliveries,
    ListAnnouncements,
    ListBookings,
    ListClubMembers,
    ListClubs,
    ListFeedback,
    ListGatherings,
    ListMemberClubs,
    ListMemberRsvps,
    ListRsvps,
    ListSalons,
    ListStationSubscriptions,
    ListVenues,
    PostAnnouncement,
    ReachCheckpoint,
    RecordContestScore,
    RespondToGathering,
    SubscribeToStation,
    UnbindClubChat,
    UnsubscribeFromStation,
    UpdateClub,
    UpdateGathering,
    WhatsOn,
)
from huarong_web.api import ApiRoute, Export

__all__ = ["ROUTES", "render_calendar"]

ME = "member_id"


def render_calendar(result: Any, handle: CommunityHandle, locale: str) -> bytes:
    """`GetCalendar` already answers RFC 5545 text (in the reader's language)."""
    del handle, locale
    return str(result).encode("utf-8")


ICS = Export("text/calendar; charset=utf-8", render_calendar)


def _text(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh_CN": zh}


# Demo values the examples share (see `examples/huarong/`).
SESSION = 9
"""A Red Coffee salon session (station `party_masses`), 2026-07-08 12:30 in Jiaozuo."""
CONTEST = 20
"""The cash-counting contest (station `huaying`)."""
CHALLENGE = 21
"""The July 1st orienteering challenge (station `party_masses`), checkpoints RED01-03."""
OTHER_MEMBER = 12
"""何志刚: a member who holds no role, so naming him takes a staff permission."""
NEW_CHAT = {"platform": "telegram", "chat_id": "-1001234567890"}

CLUB_ROUTES: tuple[ApiRoute, ...] = (
    # --- clubs ---------------------------------------------------------------------
    ApiRoute("GET", "/clubs", ListClubs, "clubs"),
    ApiRoute(
        "POST",
        "/clubs",
        CreateClub,
        "clubs",
        status=201,
        example={
            "key": "go_club",
            "name": _text("Go club", "围棋社"),
            "station": "huaying",
            "join_policy": "approval",
            "leaders": [3],
        },
    ),
    ApiRoute("GET", "/clubs/{club_key}", GetClub, "clubs", example={"club_key": "kangaroo_class"}),
    ApiRoute(
        "PATCH",
        "/clubs/{club_key}",
        UpdateClub,
        "clubs",
        example={"club_key": "chess", "join_policy": "approval"},
    ),
    ApiRoute("POST", "/clubs/{club_key}/join", JoinClub, "clubs", example={"club_key": "chess"}),
    ApiRoute(
        "POST",
        "/clubs/{club_key}/leave",
        LeaveClub,
        "clubs",
        example={"club_key": "kangaroo_class", "member_id": OTHER_MEMBER},
    ),
    ApiRoute(
        "GET",
        "/clubs/{club_key}/members",
        ListClubMembers,
        "clubs",
        example={"club_key": "kangaroo_class", "status": "pending"},
    ),
    ApiRoute(
        "POST",
        "/clubs/{club_key}/requests/{member_id}/decide",
        DecideClubRequest,
        "clubs",
        example={"club_key": "kangaroo_class", "member_id": 11, "approve": True},
    ),
    ApiRoute("GET", "/me/clubs", ListMemberClubs, "clubs", me=ME, name="ListMyClubs"),
    ApiRoute(
        "GET",
        "/members/{member_id}/clubs",
        ListMemberClubs,
        "clubs",
        example={"member_id": OTHER_MEMBER},
    ),
    ApiRoute(
        "POST",
        "/clubs/{club_key}/announce",
        AnnounceToClub,
        "clubs",
        example={"club_key": "kangaroo_class", "text": "This week we meet in club room B."},
    ),
    # --- chat bindings -------------------------------------------------------------
    ApiRoute(
        "POST",
        "/clubs/{club_key}/chats",
        BindClubChat,
        "clubs",
        status=201,
        example={"club_key": "kangaroo_class", **NEW_CHAT},
    ),
    ApiRoute("GET", "/club_chats/{platform}/{chat_id}", FindClubByChat, "clubs", example=NEW_CHAT),
    ApiRoute(
        "DELETE", "/club_chats/{platform}/{chat_id}", UnbindClubChat, "clubs", example=NEW_CHAT
    ),
)

VENUE_ROUTES: tuple[ApiRoute, ...] = (
    # --- venues and bookings -------------------------------------------------------
    ApiRoute("GET", "/venues", ListVenues, "venues"),
    ApiRoute(
        # Create or replace (the venue's key is inside the body): 200 either way.
        "POST",
        "/venues",
        DefineVenue,
        "venues",
        example={
            "venue": {
                "key": "meeting_room_c",
                "name": _text("Meeting room C", "会议室C"),
                "capacity": 12,
                "equipment": ["projector", "whiteboard"],
                "station": "huaying",
                "floor": "29F",
            }
        },
    ),
    ApiRoute(
        "POST",
        "/venues/{venue_key}/bookings",
        BookVenue,
        "venues",
        status=201,
        example={
            "venue_key": "club_room_b",
            "purpose": "Reading club planning",
            "starts_at": "2026-07-02T06:00:00+00:00",
            "ends_at": "2026-07-02T07:30:00+00:00",
        },
    ),
    ApiRoute("GET", "/bookings", ListBookings, "venues", example={"venue_key": "club_room_a"}),
    ApiRoute(
        "DELETE", "/bookings/{booking_id}", CancelBooking, "venues", example={"booking_id": 21}
    ),
)

GATHERING_ROUTES: tuple[ApiRoute, ...] = (
    # --- salons and their sessions -------------------------------------------------
    ApiRoute("GET", "/salons", ListSalons, "gatherings"),
    ApiRoute(
        # Create or change a series (its key is inside the body): 200 either way.
        "POST",
        "/salons",
        DefineSalon,
        "gatherings",
        example={
            "salon": {
                "key": "book_club",
                "name": _text("Book club salon", "读书沙龙"),
                "organizer": {"kind": "station", "key": "party_masses"},
                "recurrence": {
                    "rule": "FREQ=WEEKLY;BYDAY=FR",
                    "first_day": "2026-07-03",
                    "start": "19:00:00",
                    "duration": 5400,
                },
                "venue_key": "red_coffee_corner",
                "capacity": 16,
                "tags": ["reading"],
            }
        },
    ),
    ApiRoute(
        "POST",
        "/sessions/generate",
        GenerateSessions,
        "gatherings",
        example={"salon_key": "english"},
    ),
    # --- events, and every session or event ----------------------------------------
    ApiRoute(
        "POST",
        "/events",
        CreateEvent,
        "gatherings",
        status=201,
        example={
            "title": _text("Tea tasting evening", "品茶之夜"),
            "event_type": "activity_day",
            "organizer": "station:party_masses",
            "starts_at": "2026-07-10T11:00:00+00:00",
            "ends_at": "2026-07-10T13:00:00+00:00",
            "venue_key": "red_coffee_corner",
            "capacity": 16,
            "tags": ["tea"],
        },
    ),
    ApiRoute(
        "GET",
        "/gatherings",
        ListGatherings,
        "gatherings",
        example={"salon_key": "red_coffee", "limit": 10},
    ),
    ApiRoute("GET", "/whats_on", WhatsOn, "gatherings", example={"days": 14}),
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}",
        GetGathering,
        "gatherings",
        example={"gathering_id": SESSION},
    ),
    ApiRoute(
        "PATCH",
        "/gatherings/{gathering_id}",
        UpdateGathering,
        "gatherings",
        example={"gathering_id": SESSION, "topic": "Reading the new policies together"},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/cancel",
        CancelGathering,
        "gatherings",
        example={"gathering_id": 10, "reason": "The corner is being repainted."},
    ),
    # --- RSVPs and the waitlist ----------------------------------------------------
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/rsvp",
        RespondToGathering,
        "gatherings",
        example={"gathering_id": SESSION, "answer": "going"},
    ),
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}/rsvps",
        ListRsvps,
        "gatherings",
        example={"gathering_id": SESSION, "status": "going"},
    ),
    ApiRoute(
        "GET",
        "/me/rsvps",
        ListMemberRsvps,
        "gatherings",
        me=ME,
        example={"upcoming_only": True},
        name="ListMyRsvps",
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/rsvps",
        ListMemberRsvps,
        "gatherings",
        example={"member_id": OTHER_MEMBER},
    ),
    # --- check-in, attendance, feedback --------------------------------------------
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}/check_in_code",
        GetCheckInCode,
        "gatherings",
        example={"gathering_id": SESSION},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/check_in",
        CheckIn,
        "gatherings",
        example={"gathering_id": SESSION, "member_id": OTHER_MEMBER},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/close",
        CloseGathering,
        "gatherings",
        example={"gathering_id": SESSION},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/feedback",
        GiveFeedback,
        "gatherings",
        status=201,
        example={"gathering_id": SESSION, "rating": 5, "comment": "Lively and well run."},
    ),
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}/feedback",
        ListFeedback,
        "gatherings",
        example={"gathering_id": SESSION},
    ),
)

CONTEST_ROUTES: tuple[ApiRoute, ...] = (
    # --- contests ------------------------------------------------------------------
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/scores",
        RecordContestScore,
        "contests",
        example={"gathering_id": CONTEST, "member_id": 10, "score": "98.5"},
    ),
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}/ranking",
        GetContestRanking,
        "contests",
        example={"gathering_id": CONTEST},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/finalize",
        FinalizeContest,
        "contests",
        example={"gathering_id": CONTEST},
    ),
    # --- challenges: teams and checkpoints -----------------------------------------
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/teams",
        CreateTeam,
        "contests",
        status=201,
        example={"gathering_id": CHALLENGE, "name": "Red Runners"},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/teams/{team_id}/join",
        JoinTeam,
        "contests",
        example={"gathering_id": CHALLENGE, "team_id": 1},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/checkpoints",
        AddCheckpoint,
        "contests",
        status=201,
        example={"gathering_id": CHALLENGE, "name": "Party history museum", "code": "RED04"},
    ),
    ApiRoute(
        "POST",
        "/gatherings/{gathering_id}/checkpoints/reach",
        ReachCheckpoint,
        "contests",
        example={"gathering_id": CHALLENGE, "code": "RED01", "member_id": OTHER_MEMBER},
    ),
    ApiRoute(
        "GET",
        "/gatherings/{gathering_id}/challenge_board",
        GetChallengeBoard,
        "contests",
        example={"gathering_id": CHALLENGE},
    ),
)

CALENDAR_ROUTES: tuple[ApiRoute, ...] = (
    # --- calendars and timers ------------------------------------------------------
    # A feed path ends in `.ics`: calendar apps cannot send a cookie, so such a path
    # accepts `?access_token=<read token>`. `/calendars/member.ics` is one's own.
    ApiRoute(
        "GET",
        "/calendars/{feed}.ics",
        GetCalendar,
        "calendar",
        json=False,
        exports={"ics": ICS},
        example={"feed": "salon", "key": "english"},
    ),
    ApiRoute("POST", "/timers/fire", FireDueTimers, "timers", example={"limit": 50}),
)

ANNOUNCEMENT_ROUTES: tuple[ApiRoute, ...] = (
    # --- announcements -------------------------------------------------------------
    ApiRoute(
        "POST",
        "/announcements",
        PostAnnouncement,
        "announcements",
        status=201,
        example={
            "audience": "station:party_masses",
            "title": "Red Coffee salon moves to Thursday",
            "body": "This week's Red Coffee salon meets on Thursday at 12:30, same corner.",
        },
    ),
    ApiRoute("GET", "/announcements", ListAnnouncements, "announcements", example={"limit": 20}),
    ApiRoute(
        "GET",
        "/announcements/{announcement_id}/status",
        GetAnnouncementStatus,
        "announcements",
        example={"announcement_id": 1},
    ),
    ApiRoute(
        "GET",
        "/announcements/{announcement_id}/deliveries",
        ListAnnouncementDeliveries,
        "announcements",
        example={"announcement_id": 1, "state": "unreachable"},
    ),
    # --- station subscriptions -----------------------------------------------------
    ApiRoute(
        "POST",
        "/stations/{station_key}/subscription",
        SubscribeToStation,
        "announcements",
        status=201,
        example={"station_key": "party_masses"},
    ),
    ApiRoute(
        "DELETE",
        "/stations/{station_key}/subscription",
        UnsubscribeFromStation,
        "announcements",
        example={"station_key": "party_masses", "member_id": OTHER_MEMBER},
    ),
    ApiRoute(
        "GET",
        "/me/station_subscriptions",
        ListStationSubscriptions,
        "announcements",
        me=ME,
        name="ListMyStationSubscriptions",
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/station_subscriptions",
        ListStationSubscriptions,
        "announcements",
        example={"member_id": OTHER_MEMBER},
    ),
)

ROUTES: tuple[ApiRoute, ...] = (
    *CLUB_ROUTES,
    *VENUE_ROUTES,
    *GATHERING_ROUTES,
    *CONTEST_ROUTES,
    *CALENDAR_ROUTES,
    *ANNOUNCEMENT_ROUTES,
)
