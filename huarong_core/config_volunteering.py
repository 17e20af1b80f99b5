"""Volunteering and the smile wall in the community file.

```toml
[volunteering]
team_name = { zh_CN = "爱心志愿队", en = "Caring volunteer team" }
reminders = ["24h", "2h"]            # before each shift, to those signed up

[[volunteering.tasks]]
key = "reading_corner"
title = { zh_CN = "红色书架整理", en = "Tidying the red bookshelf" }
station = "party_masses"             # its staff run the task (else community staff)
shifts = [
    { starts = 2027-03-05T09:00:00+08:00, ends = 2027-03-05T11:00:00+08:00, slots = 4 },
]

[smile_wall]
photos_per_period = 12
period = "week"                      # "day" or "week", in the community's time zone
max_bytes = 5242880                  # 5 MiB
```

A task is matched by its key, a shift by its task and start: a shift whose
start changes in the file is a new shift. Shifts that have started are
left alone; one that is not in the database and already past is not created.
The media directory for photos is a deployment setting, not part of this
file (`Huarong(..., media_dir=...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import attrs

from huarong_core.config_gatherings import parse_duration
from huarong_core.domain.smile_wall import (
    DEFAULT_MAX_BYTES,
    SmileWallSettings,
    parse_period,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key
from huarong_core.domain.volunteering import (
    VolunteeringSettings,
    VolunteerTask,
    require_reminders,
    require_shift_span,
    require_slots,
)
from huarong_core.errors import InvalidValue, Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig


@attrs.frozen
class ShiftEntry:
    starts: datetime
    ends: datetime
    slots: int


@attrs.frozen
class VolunteerTaskEntry:
    key: str
    title: LocalizedText
    description: LocalizedText | None = None
    station: str | None = None
    active: bool = True
    shifts: tuple[ShiftEntry, ...] = ()


@attrs.frozen
class VolunteeringSection:
    """The volunteer team: its name, shift reminders, and the tasks the file keeps."""

    team_name: LocalizedText | None = None
    reminders: tuple[str, ...] = ("24h",)
    tasks: tuple[VolunteerTaskEntry, ...] = ()


@attrs.frozen
class SmileWallSection:
    """How the smile wall rotates, and how large a photo may be."""

    photos_per_period: int = 12
    period: str = "week"
    max_bytes: int = DEFAULT_MAX_BYTES


ENTRY_TYPES: tuple[type, ...] = (
    ShiftEntry,
    VolunteerTaskEntry,
    VolunteeringSection,
    SmileWallSection,
)


def volunteering_settings_from(section: VolunteeringSection) -> VolunteeringSettings:
    reminders = require_reminders(
        tuple(parse_duration("reminders", text) for text in section.reminders)
    )
    return VolunteeringSettings(section.team_name, reminders)


def smile_wall_settings_from(section: SmileWallSection) -> SmileWallSettings:
    return SmileWallSettings(
        photos_per_period=section.photos_per_period,
        period=parse_period(section.period),
        max_bytes=section.max_bytes,
    )


def task_from(entry: VolunteerTaskEntry) -> VolunteerTask:
    require_key("key", entry.key)
    return VolunteerTask(0, entry.title, entry.key, entry.description, entry.station, entry.active)


def check_shift(entry: ShiftEntry) -> None:
    require_shift_span(entry.starts, entry.ends)
    require_slots(entry.slots)


def _checked(where: str, build: Callable[[], object]) -> Iterator[Problem]:
    try:
        build()
    except InvalidValue as exc:
        yield Problem.from_error(where, exc)


def check_volunteering(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file (the stations tasks name)."""
    from huarong_core.config import _duplicates

    yield from _checked("volunteering", partial(volunteering_settings_from, config.volunteering))
    yield from _checked("smile_wall", partial(smile_wall_settings_from, config.smile_wall))
    stations = {s.key for s in config.stations}
    tasks = config.volunteering.tasks
    for i, task in enumerate(tasks):
        where = f"volunteering.tasks[{i}]"
        yield from _checked(where, partial(task_from, task))
        if task.station is not None and task.station not in stations:
            yield Problem(f"{where}.station", "config.unknown_station", {"value": task.station})
        for j, shift in enumerate(task.shifts):
            yield from _checked(f"{where}.shifts[{j}]", partial(check_shift, shift))
        yield from _duplicates(f"{where}.shifts", [s.starts.isoformat() for s in task.shifts])
    yield from _duplicates("volunteering.tasks", [t.key for t in tasks])
