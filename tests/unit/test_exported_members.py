"""The public API is what `huarong_core` exports; changing it must be deliberate.

Adding or removing a name means editing `PUBLIC` below in the same change,
and noting it in CHANGELOG.md.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import re
import types

import pytest

import huarong_core

PUBLIC = [
    "Actor",
    "AddCheckpoint",
    "AnnounceToClub",
    "Answer",
    "AttendanceSummary",
    "AuditEntry",
    "AwardPoints",
    "AwardResult",
    "BindClubChat",
    "Board",
    "BookVenue",
    "Booking",
    "BookingResult",
    "BookingStatus",
    "CalendarFeed",
    "CancelBooking",
    "CancelGathering",
    "CancelRedemption",
    "Category",
    "ChallengeTeam",
    "ChatBinding",
    "CheckIn",
    "CheckInCode",
    "CheckInResult",
    "Checkpoint",
    "Clock",
    "CloseGathering",
    "Club",
    "ClubAnnouncement",
    "ClubDetails",
    "ClubMembership",
    "ClubSummary",
    "Command",
    "Community",
    "CommunityConfig",
    "CommunityHandle",
    "ContestPlace",
    "CreateClub",
    "CreateEvent",
    "CreateTeam",
    "DecideClubRequest",
    "DecidePendingAward",
    "DefinePointsRule",
    "DefineSalon",
    "DefineShopItem",
    "DefineVenue",
    "Delivery",
    "EventType",
    "ExpirePoints",
    "Feedback",
    "FeedbackSummary",
    "FinalizeContest",
    "FindClubByChat",
    "FindMember",
    "FindMemberByIdentity",
    "FindOrganization",
    "FireDueTimers",
    "FulfilRedemption",
    "Gathering",
    "GatheringDetails",
    "GatheringKind",
    "GatheringStatus",
    "GenerateSessions",
    "GetCalendar",
    "GetChallengeBoard",
    "GetCheckInCode",
    "GetClub",
    "GetContestRanking",
    "GetGathering",
    "GetLeaderboard",
    "GetMember",
    "GetOrganization",
    "GetOrganizationReport",
    "GetPointsStatement",
    "GetRank",
    "GiveFeedback",
    "GrantHonour",
    "GrantRole",
    "Honour",
    "Huarong",
    "HuarongError",
    "Identity",
    "IdentityRef",
    "ImportMembers",
    "ImportOrganizations",
    "ImportReport",
    "JoinClub",
    "JoinPolicy",
    "JoinTeam",
    "Leaderboard",
    "LeaderboardEntry",
    "LeaveClub",
    "LedgerDifference",
    "LinkIdentity",
    "ListAuditEntries",
    "ListBookings",
    "ListClubMembers",
    "ListClubs",
    "ListFeedback",
    "ListGatherings",
    "ListHonours",
    "ListMemberClubs",
    "ListMemberRsvps",
    "ListMembers",
    "ListOrganizations",
    "ListPendingAwards",
    "ListPointsRules",
    "ListRedemptions",
    "ListRoleGrants",
    "ListRsvps",
    "ListSalons",
    "ListShopItems",
    "ListVenues",
    "LoadReport",
    "LocalizedText",
    "Member",
    "MemberAgendaItem",
    "MemberProfile",
    "MemberRow",
    "MemberStatus",
    "MembershipStatus",
    "Organization",
    "OrganizationReport",
    "OrganizationRow",
    "Organizer",
    "Page",
    "ParticipationRow",
    "Permission",
    "PointsStatement",
    "Query",
    "Ranking",
    "ReachCheckpoint",
    "RecordActivities",
    "RecordActivity",
    "RecordContestScore",
    "Recurrence",
    "RedeemItem",
    "Redemption",
    "RedemptionStatus",
    "RegisterMember",
    "RegisterOrganization",
    "RespondToGathering",
    "RestockItem",
    "RevokeHonour",
    "RevokeRole",
    "Role",
    "RoleGrant",
    "Rsvp",
    "RsvpStatus",
    "Rule",
    "Salon",
    "Scope",
    "ScopeKind",
    "SetMemberStatus",
    "SetPointsRuleEnabled",
    "ShopItem",
    "Station",
    "SystemClock",
    "TeamProgress",
    "UnbindClubChat",
    "UnlinkIdentity",
    "UpdateClub",
    "UpdateGathering",
    "UpdateMember",
    "UpdateOrganization",
    "Venue",
    "VerifyLedger",
    "WhatsOn",
    "__version__",
    "load_config",
    "parse_config",
]


def test_all_is_exactly_the_public_list() -> None:
    assert huarong_core.__all__ == PUBLIC


def test_public_list_is_sorted_and_unique() -> None:
    assert sorted(PUBLIC) == PUBLIC
    assert len(set(PUBLIC)) == len(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_each_name_is_importable(name: str) -> None:
    module = importlib.import_module("huarong_core")
    assert hasattr(module, name)
    exec(f"from huarong_core import {name}", {})


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from huarong_core import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(PUBLIC)


def test_nothing_public_is_left_out_of_all() -> None:
    """A class or function imported into the package is exported, or it would look public."""
    leftovers = {
        name
        for name, value in vars(huarong_core).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }
    assert leftovers == set(PUBLIC) - {"__version__"}


@pytest.mark.parametrize("name", [name for name in PUBLIC if not name.startswith("_")])
def test_exports_are_huarong_objects(name: str) -> None:
    value = getattr(huarong_core, name)
    module = inspect.getmodule(value)
    assert module is not None
    assert module.__name__.startswith("huarong_core."), (name, module.__name__)


def test_version_is_a_version_string() -> None:
    assert isinstance(huarong_core.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?[a-z0-9.]+)?", huarong_core.__version__)
