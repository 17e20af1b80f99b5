"""Who may run each example of `huarong_web.routes_services` (a data module, not tests).

`ALLOWED[operation_id]` is the set of matrix roles (see `web_world.ROLE_MEMBERS`)
the core lets run the route's `example` in a fresh copy of the demo building:
they get a 2xx answer (the one exception, `RateRequest`, is noted where it is).
Every other role is refused with a 403, or a 404 where the core hides what one
may not see (aid cases one is not named on, others' unapproved reflections and
photos). Read from the handlers' permission checks, and checked by sending every
example as every role.

Some examples act on things the demo building does not have (an aid case, a
reflection, a contest, a photo, a hold, a request to rate, a shift under way).
`PREPARE[operation_id]` brings a fresh world to that state through the core (as
the system, or as the member concerned); it answers no values, the examples'
ids are the ones it makes. `ConfirmHours` and `GetReflectionContestResults`
move the clock on by two hours.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from huarong_core import Actor
from huarong_core.commands import (
    AddShift,
    ApproveReflection,
    ChangeRequestState,
    CreateReflectionContest,
    NominateReflection,
    OpenAidCase,
    PlaceHold,
    ReturnReflection,
    SignUpForShift,
    SubmitReflection,
    SubmitRequest,
    VoteForReflection,
)
from huarong_core.domain.aid import AidCategory
from huarong_core.domain.services import RequestState
from huarong_core.media import submit_photo
from tests.web.web_world import SYSTEM, Prepare, WebWorld

MEMBER = "member"
VOLUNTEER = "volunteer"
CLUB_LEADER = "club_leader"
STATION_STAFF = "station_staff"
COMMUNITY_STAFF = "community_staff"
ADMIN = "admin"

EVERYONE = frozenset({MEMBER, VOLUNTEER, CLUB_LEADER, STATION_STAFF, COMMUNITY_STAFF, ADMIN})
STAFF = frozenset({STATION_STAFF, COMMUNITY_STAFF, ADMIN})
"""`station_staff` is staff of `party_masses`, where the library and volunteer team live."""
COMMUNITY_WIDE = frozenset({COMMUNITY_STAFF, ADMIN})
"""Staff of every station: what `enterprise` and `community_liaison` need."""

ALLOWED: dict[str, frozenset[str]] = {
    # stations and their services
    "ListStations": EVERYONE,
    "GetStation": EVERYONE,
    "ListServices": EVERYONE,
    "DefineService": STAFF,  # manage_services at party_masses
    "GetService": EVERYONE,
    "GetServiceMetrics": COMMUNITY_WIDE,  # view_reports community-wide (no station named)
    # service requests (#4 is 许静怡's, at community_liaison)
    "SubmitRequest": EVERYONE,
    "ListRequestQueue": COMMUNITY_WIDE,
    "ListMyRequests": EVERYONE,
    "ListMemberRequests": STAFF,  # station staff see the requests to their own station
    "GetRequest": COMMUNITY_WIDE,
    "ChangeRequestState": COMMUNITY_WIDE,
    "AssignRequest": COMMUNITY_WIDE,
    "ReplyToRequest": COMMUNITY_WIDE,
    "ScheduleVisit": COMMUNITY_WIDE,
    # Prepared: #7 is the member's. Only the requester rates: the station's staff, who may
    # see the request, are refused too (`not_the_requester`, 403).
    "RateRequest": frozenset({MEMBER}),
    # aid cases: only the staff named on a case (prepared: 李敏 #2 and 赵磊 #6)
    "OpenAidCase": STAFF,
    "ListAidCases": EVERYONE,  # everyone else gets an empty page
    "GetAidCase": frozenset({STATION_STAFF}),
    "AddAidAction": frozenset({STATION_STAFF}),
    "ChangeAidStatus": frozenset({STATION_STAFF}),
    "NameAidStaff": frozenset({STATION_STAFF}),
    "UnnameAidStaff": frozenset({STATION_STAFF}),
    # the library (manage_library at party_masses)
    "SearchBooks": EVERYONE,
    "AddBook": STAFF,
    "GetBook": EVERYONE,
    "UpdateBook": STAFF,
    "AddCopy": STAFF,
    "MoveCopy": STAFF,
    "WithdrawCopy": STAFF,
    "BorrowCopy": EVERYONE,
    "ReturnCopy": STAFF,  # RR-0001 is on loan to 张伟 #3
    "RenewLoan": STAFF,  # RR-0003 is on loan to 周强 #8
    "ListLoans": STAFF,
    "ListMyLoans": EVERYONE,
    "ListMemberLoans": STAFF,
    "PlaceHold": EVERYONE,
    "ListBookHolds": STAFF,
    "ListMyHolds": EVERYONE,
    "ListMemberHolds": STAFF,
    "CancelHold": frozenset({MEMBER}) | STAFF,  # prepared: the member's hold
    "RecordDonation": STAFF,
    "ListDonations": STAFF,
    "ListMyDonations": EVERYONE,
    "ListMemberDonations": STAFF,
    # reflections and the contest (prepared: reflection #1 is the member's)
    "SubmitReflection": EVERYONE,
    "ListReflections": EVERYONE,
    "GetReflection": frozenset({MEMBER}) | STAFF,  # not approved yet: author and staff
    "ReviseReflection": frozenset({MEMBER}),  # only the author
    "ApproveReflection": STAFF,
    "ReturnReflection": STAFF,
    "CreateReflectionContest": STAFF,
    "ListReflectionContests": EVERYONE,
    "GetReflectionContest": EVERYONE,
    "NominateReflection": STAFF,
    "VoteForReflection": EVERYONE,  # prepared: a reflection none of them wrote
    "GetReflectionContestResults": EVERYONE,  # prepared: voting has closed
    # the volunteer team
    "ListVolunteers": STAFF,
    "JoinVolunteerTeam": frozenset({MEMBER}) | STAFF,  # the member, or staff adding them
    "LeaveVolunteerTeam": STAFF,
    "ListVolunteerTasks": EVERYONE,
    "CreateVolunteerTask": STAFF,
    "UpdateVolunteerTask": STAFF,
    "AddShift": STAFF,
    "ListShifts": EVERYONE,
    "GetShift": EVERYONE,
    "UpdateShift": STAFF,
    "CancelShift": COMMUNITY_WIDE,  # shift #5 is a community_liaison task's
    "SignUpForShift": frozenset({VOLUNTEER}) | STAFF,  # 孙丽 #7 herself, or staff for her
    "WithdrawFromShift": STAFF,
    "ListShiftSignups": STAFF,
    "ConfirmHours": STAFF,
    "ListMyShifts": EVERYONE,
    "GetMyVolunteerStatus": EVERYONE,
    "GetVolunteerStatus": STAFF,
    "ListMemberShifts": STAFF,
    "GetVolunteerHours": EVERYONE,  # members see their own row
    # the smile wall (prepared: photo #1 is the member's, pending)
    "GetSmileWall": EVERYONE,
    "GetPhotoLimits": EVERYONE,
    "ListPhotos": STAFF,
    "ListMyPhotos": EVERYONE,
    "GetPhoto": frozenset({MEMBER}) | STAFF,
    "ApprovePhoto": STAFF,
    "RejectPhoto": STAFF,
    "RemovePhoto": frozenset({MEMBER}) | STAFF,
}


# --- what some examples need first ----------------------------------------------------------

THE_MEMBER = Actor.member(10, "郑晓明")
"""The `member` role's person, who owns what is prepared for them."""
ANOTHER_MEMBER = Actor.member(13, "吕婷")
"""A member who holds no matrix role."""

REFLECTION_TEXT = (
    "《红岩》写的是黎明前最黑暗的时刻。江姐在狱中绣红旗的那一段，让我久久不能平静：信念不是口号，"
    "而是在最难的时候依然选择站直。"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG."""


async def resolved_request(world: WebWorld) -> None:
    """Request #7: the member's car card, resolved by the station (for `RateRequest`)."""
    handle = world.handle
    request = await handle.execute(
        SubmitRequest("car_card", {"plate": "豫H·D1357", "phone": "13903910010"}, member_id=10),
        actor=SYSTEM,
    )
    for state in (RequestState.ACCEPTED, RequestState.IN_PROGRESS, RequestState.RESOLVED):
        await handle.execute(ChangeRequestState(request.id, state, "已办理"), actor=SYSTEM)


async def aid_case(world: WebWorld) -> None:
    """Aid case #1, about 汪晓峰 #48, naming 李敏 #2 (the `station_staff` role) and 赵磊 #6."""
    await world.handle.execute(
        OpenAidCase(48, AidCategory.HARDSHIP, "失业后房租困难", staff=(2, 6)), actor=SYSTEM
    )


async def hold(world: WebWorld) -> None:
    """Hold #1: the member waits for 《青春之歌》 (its one copy is on loan)."""
    await world.handle.execute(PlaceHold(3, member_id=10), actor=SYSTEM)


async def _reflection(world: WebWorld, author: Actor) -> None:
    await world.handle.execute(SubmitReflection(1, REFLECTION_TEXT), actor=author)


async def submitted_reflection(world: WebWorld) -> None:
    """Reflection #1: the member's, on 《红岩》, waiting for staff."""
    await _reflection(world, THE_MEMBER)


async def returned_reflection(world: WebWorld) -> None:
    await submitted_reflection(world)
    await world.handle.execute(ReturnReflection(1, "请再多写一点自己的体会"), actor=SYSTEM)


async def _contest(world: WebWorld, author: Actor, closes_at: datetime) -> None:
    """Reflection #1 (by `author`) approved, and contest #1 with voting open now."""
    await _reflection(world, author)
    handle = world.handle
    await handle.execute(ApproveReflection(1), actor=SYSTEM)
    opens = datetime(2026, 7, 1, tzinfo=UTC)
    await handle.execute(CreateReflectionContest("七一最佳读后感", opens, closes_at), actor=SYSTEM)


async def contest(world: WebWorld) -> None:
    """Contest #1, voting open all July; the member's reflection #1 approved, not nominated."""
    await _contest(world, THE_MEMBER, datetime(2026, 7, 31, tzinfo=UTC))


async def nominated(world: WebWorld) -> None:
    """Contest #1, voting open all July, with 吕婷's reflection #1 on the ballot (no matrix
    role wrote it, so every role may vote for it)."""
    await _contest(world, ANOTHER_MEMBER, datetime(2026, 7, 31, tzinfo=UTC))
    await world.handle.execute(NominateReflection(1, 1), actor=SYSTEM)


async def closed_contest(world: WebWorld) -> None:
    """Contest #1 with 吕婷's reflection #1 on the ballot and 孙丽's vote for it; voting
    closed an hour ago, so the results are everyone's to read."""
    now = world.clock.now()
    await _contest(world, ANOTHER_MEMBER, now + timedelta(hours=1))
    await world.handle.execute(NominateReflection(1, 1), actor=SYSTEM)
    await world.handle.execute(VoteForReflection(1, 1), actor=Actor.member(7, "孙丽"))
    world.clock.advance(hours=2)


async def started_shift(world: WebWorld) -> None:
    """Shift #6 of task #1 (party_masses), 孙丽 #7 signed up, started an hour ago."""
    handle = world.handle
    now = world.clock.now()
    shift = await handle.execute(
        AddShift(1, now + timedelta(hours=1), now + timedelta(hours=3), 4), actor=SYSTEM
    )
    await handle.execute(SignUpForShift(shift.id, member_id=7), actor=SYSTEM)
    world.clock.advance(hours=2)


async def pending_photo(world: WebWorld) -> None:
    """Photo #1: the member's, waiting for a moderator."""
    handle = world.handle
    await submit_photo(handle, handle.media, THE_MEMBER, PNG, "志愿服务日的笑脸")


PREPARE: Mapping[str, Prepare] = {
    "RateRequest": resolved_request,
    "GetAidCase": aid_case,
    "AddAidAction": aid_case,
    "ChangeAidStatus": aid_case,
    "NameAidStaff": aid_case,
    "UnnameAidStaff": aid_case,
    "ListAidCases": aid_case,
    "CancelHold": hold,
    "GetReflection": submitted_reflection,
    "ApproveReflection": submitted_reflection,
    "ReturnReflection": submitted_reflection,
    "ReviseReflection": returned_reflection,
    "GetReflectionContest": contest,
    "NominateReflection": contest,
    "VoteForReflection": nominated,
    "GetReflectionContestResults": closed_contest,
    "ConfirmHours": started_shift,
    "GetPhoto": pending_photo,
    "ApprovePhoto": pending_photo,
    "RejectPhoto": pending_photo,
    "RemovePhoto": pending_photo,
}
