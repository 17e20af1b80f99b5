"""Demo activity for the example building, so a fresh demo has points to look at.

Everything is fixed (dates, who came, source ids), so seeding twice records
nothing new: the ledger's exactly-once rule turns the second run into
duplicates.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import structlog

from huarong_core.app import CommunityHandle, Delivery, Huarong
from huarong_core.commands import (
    BorrowCopy,
    ChangeRequestState,
    Command,
    ImportMembers,
    ImportOrganizations,
    JoinClub,
    JoinVolunteerTeam,
    ListClubs,
    ListMembers,
    ListShifts,
    RateRequest,
    RecordActivities,
    RecordActivity,
    RedeemItem,
    RespondToGathering,
    SignUpForShift,
    SubmitRequest,
    WhatsOn,
)
from huarong_core.config import load_config
from huarong_core.csv_files import (
    MEMBER_COLUMNS,
    ORGANIZATION_COLUMNS,
    member_rows,
    organization_rows,
    read_csv,
)
from huarong_core.domain.audit import Actor
from huarong_core.domain.gatherings import Answer, Gathering
from huarong_core.domain.members import Member
from huarong_core.domain.services import RequestState
from huarong_core.errors import HuarongError

T = TypeVar("T")
log = structlog.get_logger(__name__)

DEMO_DIR = Path("examples/huarong")
"""The example building, in a checkout: `community.toml` and its CSV lists."""

FIRST_SALON = datetime(2026, 10, 1, 11, 0, tzinfo=UTC)  # Thursday 19:00 in Jiaozuo
SALON_WEEKS = 8
THEMED_DAY = datetime(2026, 11, 1, 1, 30, tzinfo=UTC)  # Sunday 09:30 in Jiaozuo


def _came(member_id: int, what: str, out_of: int) -> bool:
    """A stable pseudo-random choice: the same member, the same answer, every run."""
    return zlib.crc32(f"{member_id}:{what}".encode()) % out_of != 0


def demo_activities(members: Iterable[Member]) -> tuple[RecordActivity, ...]:
    activities: list[RecordActivity] = []
    for member in members:
        for week in range(SALON_WEEKS):
            when = FIRST_SALON + timedelta(weeks=week)
            session = f"english-salon-{when:%Y%m%d}"
            if _came(member.id, session, 3):
                activities.append(
                    RecordActivity(
                        "salon.checked_in",
                        f"demo:{session}:{member.id}",
                        member.id,
                        occurred_at=when,
                        target=f"session:{session}",
                        series="english_salon",
                    )
                )
        if _came(member.id, "themed-day", 4):
            activities.append(
                RecordActivity(
                    "event.attended",
                    f"demo:themed-day-20261101:{member.id}",
                    member.id,
                    occurred_at=THEMED_DAY,
                    target="event:themed-day-20261101",
                    tags=frozenset({"themed_day"}),
                )
            )
        if _came(member.id, "volunteering", 5):
            hours = 1 + zlib.crc32(f"hours:{member.id}".encode()) % 4
            activities.append(
                RecordActivity(
                    "volunteer.hours_confirmed",
                    f"demo:volunteering-2026-11:{member.id}",
                    member.id,
                    occurred_at=THEMED_DAY + timedelta(days=6),
                    units=str(hours),
                )
            )
    return tuple(activities)


def demo_rsvps(
    members: Iterable[Member], gatherings: Iterable[Gathering]
) -> tuple[RespondToGathering, ...]:
    """Some members are going to the coming sessions and events (the same ones every run)."""
    answers: list[RespondToGathering] = []
    people = list(members)
    for gathering in gatherings:
        for member in people:
            if _came(member.id, f"rsvp:{gathering.id}", 2):
                answers.append(RespondToGathering(gathering.id, Answer.GOING, member.id))
    return tuple(answers)


async def all_members(handle: CommunityHandle, actor: Actor) -> list[Member]:
    members: list[Member] = []
    while True:
        page = await handle.execute(ListMembers(offset=len(members), limit=500), actor=actor)
        members.extend(page.items)
        if not page.has_more:
            return members


async def seed_demo(
    huarong: Huarong, directory: Path = DEMO_DIR, *, actor: Actor | None = None
) -> CommunityHandle:
    """Load the example building and give it history; running it again adds nothing.

    The community file, then the CSV lists beside it, then activity that
    earned points and RSVPs to what is coming, all with fixed ids.
    """
    actor = actor or Actor.system("demo")
    config = load_config(directory / "community.toml")
    await huarong.apply_configuration(config, actor=actor, source=str(directory))
    handle = await huarong.community(config.community.key)
    organizations = directory / "organizations.csv"
    if organizations.exists():
        sheet = read_csv(organizations, ORGANIZATION_COLUMNS)
        await handle.execute(
            ImportOrganizations(str(organizations), organization_rows(sheet)), actor=actor
        )
    people = directory / "members.csv"
    if people.exists():
        sheet = read_csv(people, MEMBER_COLUMNS)
        await handle.execute(ImportMembers(str(people), member_rows(sheet)), actor=actor)
    members = await all_members(handle, actor)
    await handle.execute(RecordActivities(demo_activities(members)), actor=actor)
    coming = await handle.execute(WhatsOn(days=14), actor=actor)
    for answer in demo_rsvps(members, coming):
        await handle.execute(answer, actor=actor)
    await seed_history(handle, members, actor)
    return handle


DEMO_REQUESTS: tuple[tuple[str, dict[str, str], tuple[RequestState, ...], int | None], ...] = (
    (
        "labour_consulting",
        {"question": "试用期可以延长吗？", "phone": "13903910001"},
        (RequestState.ACCEPTED, RequestState.IN_PROGRESS, RequestState.RESOLVED),
        5,
    ),
    (
        "car_card",
        {"plate": "豫H·A1234", "phone": "13903910002"},
        (RequestState.ACCEPTED, RequestState.IN_PROGRESS, RequestState.RESOLVED),
        4,
    ),
    (
        "help_request",
        {"need": "帮忙搬运捐赠图书", "urgency": "一般", "phone": "13903910003"},
        (RequestState.ACCEPTED,),
        None,
    ),
    (
        "dispute_mediation",
        {"parties": "两家相邻公司", "matter": "走廊占用", "phone": "13903910004"},
        (),
        None,
    ),
    (
        "culture_education",
        {"activity": "暑期少儿书法班", "phone": "13903910005"},
        (RequestState.ACCEPTED, RequestState.IN_PROGRESS, RequestState.RESOLVED),
        5,
    ),
    ("mutual_aid_cover", {"plan": "职工互助保障", "people": "3", "phone": "13903910006"}, (), None),
)
"""Requests some members made, how far each got, and the rating its requester gave."""


async def seed_history(handle: CommunityHandle, members: list[Member], actor: Actor) -> None:
    """Club members, service requests, loans, volunteer sign-ups and redemptions.

    Each change carries a fixed delivery id, so a second seeding replays the
    first answers instead of doing anything again. Refusals (a full shift, an
    approval club, a copy already out) are part of a real building's history
    and are skipped quietly: the demo shows what the rules allow.
    """

    async def once(key: str, command: Command[T], by: Actor | None = None) -> T | None:
        try:
            return await handle.execute(command, actor=by or actor, delivery=Delivery("demo", key))
        except HuarongError as exc:
            log.debug("demo.skipped", what=key, error=type(exc).__name__)
            return None

    clubs = await handle.execute(ListClubs(), actor=actor)
    for member in members:
        for summary in clubs:
            if not _came(member.id, f"club:{summary.club.key}", 4):
                await once(
                    f"club:{summary.club.key}:{member.id}", JoinClub(summary.club.key, member.id)
                )
    for number, (service, answers, steps, rating) in enumerate(DEMO_REQUESTS):
        member = members[(number * 7) % len(members)]
        request = await once(
            f"request:{number}", SubmitRequest(service, answers, member_id=member.id)
        )
        if request is None:
            continue
        for state in steps:
            await once(f"request:{number}:{state}", ChangeRequestState(request.id, state, "已办理"))
        if rating is not None:
            await once(
                f"request:{number}:rating",
                RateRequest(request.id, rating, "谢谢！"),
                Actor.member(member.id, member.display_name),
            )
    for number, code in enumerate(("RR-0001", "RR-0003", "RR-0005", "RR-0007")):
        member = members[(number * 5 + 2) % len(members)]
        await once(f"loan:{code}", BorrowCopy(code, member.id))
    # All shifts, not only open ones: what a first seeding filled must not change the choice.
    shifts = await handle.execute(ListShifts(), actor=actor)
    for details in shifts[:3]:
        for member in members[:: max(1, len(members) // 6)]:
            await once(f"volunteer:{member.id}", JoinVolunteerTeam(member.id))
            shift_id = details.shift.id
            await once(f"shift:{shift_id}:{member.id}", SignUpForShift(shift_id, member.id))
    for number, member in enumerate(members[:: max(1, len(members) // 4)]):
        await once(f"redeem:{number}", RedeemItem("coffee", 1, member.id))
