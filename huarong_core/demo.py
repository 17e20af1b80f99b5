"""Demo activity for the example building, so a fresh demo has points to look at.

Everything is fixed (dates, who came, source ids), so seeding twice records
nothing new: the ledger's exactly-once rule turns the second run into
duplicates.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from huarong_core.commands import RecordActivity, RespondToGathering
from huarong_core.domain.gatherings import Answer, Gathering
from huarong_core.domain.members import Member

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
