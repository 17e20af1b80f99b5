"""Portal pages: the volunteer team's tasks and shifts, my sign-ups and my hours.

A member joins the team here, then takes a slot of a shift (or gives it
back before it starts), and may leave it again unless they hold the
`volunteer` role (which staff grant and revoke). Whether they are on the team
is the core's answer (`GetVolunteerStatus`), so the page offers joining only
to those who are not, and leaving only to those who may.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from aiohttp import web

from huarong_core.commands import (
    Command,
    GetVolunteerHours,
    GetVolunteerStatus,
    JoinVolunteerTeam,
    LeaveVolunteerTeam,
    ListMemberShifts,
    ListShifts,
    ListVolunteerTasks,
    SignUpForShift,
    WithdrawFromShift,
)
from huarong_core.errors import AlreadyVolunteer
from huarong_core.i18n import translate
from huarong_web.keys import HANDLE, PRINCIPAL
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    done_notice,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
)
from huarong_web.portal.pages import (
    path_id as _id,
)

__all__ = ["ROUTES"]


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.volunteering.done")


async def volunteering_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _page(request, {})


async def _page(request: web.Request, errors: Mapping[str, str], status: int = 200) -> web.Response:
    locale = page_locale(request)
    member_id = request[PRINCIPAL].member_id
    handle = request.config_dict[HANDLE]
    today = handle.community.local(handle.now()).date()
    tasks = await run(request, ListVolunteerTasks())
    shifts = await run(request, ListShifts(limit=200))
    mine = await run(request, ListMemberShifts())
    team = await run(request, GetVolunteerStatus())
    hours = await run(
        request,
        GetVolunteerHours(date(today.year, 1, 1), date(today.year, 12, 31), member_id=member_id),
    )
    on_team = team is not None
    by_role = team is not None and team.by_role
    by_task: dict[int, list[object]] = {task.id: [] for task in tasks}
    for details in shifts:
        by_task.setdefault(details.task.id, []).append(details)
    my_row = next((row for row in hours.rows if row.member_id == member_id), None)
    return await render(
        request,
        "volunteering/index.html",
        section="volunteering",
        title=translate("portal.volunteering.title", locale),
        tasks=[(task, by_task.get(task.id, [])) for task in tasks],
        mine=mine,
        on_team=on_team,
        by_role=by_role,
        year=today.year,
        my_hours=my_row.hours if my_row is not None else "0",
        my_shift_count=my_row.shifts if my_row is not None else 0,
        now=handle.now(),
        errors=errors,
        status=status,
        notice=_notice(request),
    )


async def _act(request: web.Request, command: Command[Any], done: str) -> web.StreamResponse:
    _, key = await read_form(request)
    try:
        await run(request, command, key)
    except FormErrors as refused:
        if isinstance(refused.__cause__, AlreadyVolunteer):
            raise redirect(request, "/volunteering?done=already_on_team") from None
        return await _page(request, refused.messages, status=422)
    raise redirect(request, f"/volunteering?done={done}")


async def sign_up(request: web.Request) -> web.StreamResponse:
    return await _act(request, SignUpForShift(_id(request, "shift_id")), "signed_up")


async def withdraw(request: web.Request) -> web.StreamResponse:
    return await _act(request, WithdrawFromShift(_id(request, "shift_id")), "withdrawn")


async def join(request: web.Request) -> web.StreamResponse:
    return await _act(request, JoinVolunteerTeam(), "joined")


async def leave(request: web.Request) -> web.StreamResponse:
    return await _act(request, LeaveVolunteerTeam(), "left")


async def back(request: web.Request) -> web.StreamResponse:
    raise redirect(request, "/volunteering")


ROUTES = (
    PortalRoute("GET", "/volunteering", volunteering_page, "portal.volunteering"),
    PortalRoute("POST", "/volunteering/join", join, "portal.volunteering.join"),
    PortalRoute("POST", "/volunteering/leave", leave, "portal.volunteering.leave"),
    PortalRoute(
        "POST", "/volunteering/shifts/{shift_id}/sign-up", sign_up, "portal.volunteering.sign_up"
    ),
    PortalRoute(
        "POST",
        "/volunteering/shifts/{shift_id}/withdraw",
        withdraw,
        "portal.volunteering.withdraw",
    ),
    PortalRoute("GET", "/volunteering/join", back, "portal.volunteering.join_get"),
    PortalRoute("GET", "/volunteering/leave", back, "portal.volunteering.leave_get"),
    PortalRoute(
        "GET", "/volunteering/shifts/{shift_id}/sign-up", back, "portal.volunteering.sign_up_get"
    ),
    PortalRoute(
        "GET", "/volunteering/shifts/{shift_id}/withdraw", back, "portal.volunteering.withdraw_get"
    ),
)
