"""Applying the volunteering part of a community file: settings, tasks and their shifts,
and the smile wall's settings.

Tasks are matched by key and shifts by (task, start); loading the same file
twice changes nothing. Settings equal to the defaults are never written, so
a file without these sections leaves no trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from huarong_core.config import CommunityConfig
from huarong_core.config_volunteering import (
    ShiftEntry,
    check_shift,
    smile_wall_settings_from,
    task_from,
    volunteering_settings_from,
)
from huarong_core.domain.volunteering import ShiftStatus, VolunteerTask
from huarong_core.errors import HuarongError, Problem, StorageError
from huarong_core.services.context import Context
from huarong_core.services.smile_wall import save_smile_wall_settings
from huarong_core.services.volunteering import (
    add_shift,
    change_shift,
    save_task,
    save_volunteering_settings,
)

if TYPE_CHECKING:
    from huarong_core.services.configuration import _Tally


def _count(tally: _Tally, kind: str, outcome: str) -> None:
    tally.count(kind, created=outcome == "created", changed=outcome == "changed")


async def apply_volunteering(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    """Create or update by key; loading the same file twice changes nothing."""
    try:
        outcome = await save_volunteering_settings(
            ctx, volunteering_settings_from(config.volunteering)
        )
        if outcome != "unchanged" or await ctx.repos.volunteering.settings("volunteering"):
            _count(tally, "volunteering_settings", outcome)
    except StorageError:
        raise
    except HuarongError as exc:
        tally.problems.append(Problem.from_error("volunteering", exc))
    try:
        outcome = await save_smile_wall_settings(ctx, smile_wall_settings_from(config.smile_wall))
        if outcome != "unchanged" or await ctx.repos.volunteering.settings("smile_wall"):
            _count(tally, "smile_wall_settings", outcome)
    except StorageError:
        raise
    except HuarongError as exc:
        tally.problems.append(Problem.from_error("smile_wall", exc))
    for i, entry in enumerate(config.volunteering.tasks):
        where = f"volunteering.tasks[{i}]"
        try:
            task, outcome = await save_task(ctx, task_from(entry), "config")
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(where, exc))
            continue
        _count(tally, "volunteer_tasks", outcome)
        for j, shift_entry in enumerate(entry.shifts):
            try:
                outcome = await _apply_shift(ctx, task, shift_entry)
            except StorageError:
                raise
            except HuarongError as exc:
                tally.problems.append(Problem.from_error(f"{where}.shifts[{j}]", exc))
                continue
            if outcome != "skipped":
                _count(tally, "volunteer_shifts", outcome)


async def _apply_shift(ctx: Context, task: VolunteerTask, entry: ShiftEntry) -> str:
    """Create the shift once; later loads carry over a changed end or slots.

    A shift that has started, or was cancelled, is left alone; one that is
    past and was never created is skipped (not counted).
    """
    check_shift(entry)
    found = await ctx.repos.volunteering.shifts_at(task.id, entry.starts)
    if not found:
        if entry.starts <= ctx.now:
            return "skipped"
        await add_shift(ctx, task, entry.starts, entry.ends, entry.slots)
        return "created"
    current = found[0]
    if current.status is not ShiftStatus.SCHEDULED or current.has_started(ctx.now):
        return "unchanged"
    if (current.ends_at, current.slots) == (entry.ends, entry.slots):
        return "unchanged"
    await change_shift(
        ctx, current, task, starts_at=current.starts_at, ends_at=entry.ends, slots=entry.slots
    )
    return "changed"
