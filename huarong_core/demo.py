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

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.commands import (
    ImportMembers,
    ImportOrganizations,
    ListMembers,
    RecordActivities,
    RecordActivity,
    RespondToGathering,
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
    return handle
