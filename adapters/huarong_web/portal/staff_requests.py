"""The service desk: the request queue with SLA states, and one request worked through.

`/staff/requests` lists the requests of the stations the reader handles (the
open ones by default, the most urgent first: escalated, overdue, due soon);
`/staff/requests/{id}` shows one with its form answers and thread, and three
forms: take a workflow step (`to` + `note`, which goes to the requester), give
it to a colleague (`assignee`), reply or write an internal note (`text`,
`internal`). The steps offered are those of `domain.services.TRANSITIONS`
that staff take from the current state; the core checks each one anyway.
"""

from __future__ import annotations

from typing import Any

import attrs
import structlog
from aiohttp import web

from huarong_core.commands import (
    AssignRequest,
    ChangeRequestState,
    GetMember,
    GetRequest,
    GetStation,
    ListRequestQueue,
    ListServices,
    ListStations,
    ReplyToRequest,
)
from huarong_core.domain.services import (
    TRANSITIONS,
    Party,
    RequestState,
    ServiceRequest,
)
from huarong_core.errors import HuarongError
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    base_of,
    path_id,
    read_form,
    redirect,
    render,
    run,
    text_field,
)
from huarong_web.portal.staff_common import (
    ID,
    Sla,
    author_name,
    me,
    member_names,
    notice,
    now,
    rename,
    staff_page,
    texts,
)

__all__ = ["ROUTES"]

log = structlog.get_logger(__name__)

PAGE_SIZE = 50
OPEN_LIMIT = 200
"""Open requests read per state for the open queue (sorted by urgency, not paged)."""
OPEN_ORDER = (
    RequestState.SUBMITTED,
    RequestState.ACCEPTED,
    RequestState.IN_PROGRESS,
    RequestState.WAITING_FOR_REQUESTER,
)
VIEWS = ("open", "all", *(state.value for state in RequestState))
WHO = ("", "me", "nobody")
TEXT_LIMIT = 4100
"""Longer than the core allows (4000), so an over-long text is refused, not cut."""
DONE = frozenset({*(state.value for state in RequestState), "reply", "note", "assigned"})


@attrs.frozen
class QueueRow:
    request: ServiceRequest
    sla: Sla
    service: str
    station: str
    assignee: str


def _page_number(request: web.Request) -> int:
    try:
        return max(1, min(int(request.query.get("page", "1")), 10_000))
    except ValueError:
        return 1


async def _names_of_services(request: web.Request) -> dict[str, str]:
    t = texts(request)
    return {s.key: t.text(s.name) for s in await run(request, ListServices())}


async def _names_of_stations(request: web.Request) -> dict[str, str]:
    t = texts(request)
    return {s.key: t.text(s.name) for s in await run(request, ListStations())}


@staff_page
async def queue(request: web.Request) -> web.StreamResponse:
    t = texts(request)
    view = request.query.get("state", "open")
    view = view if view in VIEWS else "open"
    who = request.query.get("who", "")
    who = who if who in WHO else ""
    stations = await _names_of_stations(request)
    station = request.query.get("station") or None
    station = station if station in stations else None
    page = _page_number(request)
    assignee_id = me(request) if who == "me" else None
    unassigned = who == "nobody"
    at = now(request)
    items: list[ServiceRequest] = []
    total = 0
    if view == "open":
        for state in OPEN_ORDER:
            found = await run(
                request,
                ListRequestQueue(station, state, assignee_id, unassigned, limit=OPEN_LIMIT),
            )
            items.extend(found.items)
        total = len(items)
        items.sort(key=lambda r: (Sla.of(r, at).urgency, r.due_at, r.id))
    else:
        chosen = None if view == "all" else RequestState(view)
        first = await run(
            request, ListRequestQueue(station, chosen, assignee_id, unassigned, limit=1)
        )
        total = first.total
        # The core lists oldest first; the page shows the newest first.
        end = max(0, total - (page - 1) * PAGE_SIZE)
        start = max(0, end - PAGE_SIZE)
        if end > start:
            found = await run(
                request,
                ListRequestQueue(
                    station, chosen, assignee_id, unassigned, offset=start, limit=end - start
                ),
            )
            items = list(reversed(found.items))
    services = await _names_of_services(request)
    names = await member_names(request, (r.assignee_id for r in items if r.assignee_id))
    rows = [
        QueueRow(
            r,
            Sla.of(r, at),
            services.get(r.service_key, r.service_key),
            stations.get(r.station, r.station),
            names.get(r.assignee_id, "") if r.assignee_id else "",
        )
        for r in items
    ]
    counts = dict.fromkeys(("escalated", "overdue", "due_soon", "on_time"), 0)
    for row in rows:
        if row.sla.kind in counts:
            counts[row.sla.kind] += 1
    return await render(
        request,
        "staff/requests.html",
        section="staff",
        title=t("portal.staff.requests.title"),
        area="requests",
        rows=rows,
        view=view,
        views=VIEWS,
        who=who,
        station=station or "",
        stations=stations,
        counts=counts,
        total=total,
        page=page,
        more=view != "open" and page * PAGE_SIZE < total,
    )


def _request_id(request: web.Request) -> int:
    return path_id(request, "request_id")


def staff_steps(state: RequestState) -> list[RequestState]:
    """The steps staff may take from `state`, in the workflow's order."""
    return [
        to for (frm, to), parties in TRANSITIONS.items() if frm is state and Party.STAFF in parties
    ]


async def _detail(
    request: web.Request,
    *,
    failed: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    t = texts(request)
    request_id = _request_id(request)
    details = await run(request, GetRequest(request_id))
    item = details.request
    # The console shows a request to the staff of its station: the core says who they are
    # (the requester may read the request too, on their own page).
    await run(request, ListRequestQueue(station=item.station, limit=1))
    station = await run(request, GetStation(item.station))
    colleagues = list(station.staff)
    reader = me(request)
    if reader is not None and reader not in colleagues:
        colleagues.insert(0, reader)  # community-wide staff handle it too
    ids = {item.requester_id, *colleagues}
    ids.update(e.author_id for e in details.thread if e.author_id is not None)
    ids.update(e.assignee_id for e in details.thread if e.assignee_id is not None)
    if item.assignee_id is not None:
        ids.add(item.assignee_id)
    names = await member_names(request, ids)
    organization = ""
    try:
        profile = await run(request, GetMember(item.requester_id))
        if profile.organization is not None:
            organization = profile.organization.name
    except HuarongError as exc:
        # Staff of one station may not read members' profiles: the page goes without it.
        log.debug("portal.requester_unprofiled", error=type(exc).__name__)
    labels = {f.key: t.text(f.label) for f in details.service.form}
    answers = [(labels.get(k, k), v) for k, v in item.answers.items()]
    return await render(
        request,
        "staff/request.html",
        section="staff",
        title=t("portal.staff.request.title", ref=item.ref),
        status=status,
        area="requests",
        item=item,
        service=t.text(details.service.name),
        station_name=t.text(station.station.name),
        affair=item.affair.value,
        sla=Sla.of(item, now(request)),
        requester=names.get(item.requester_id, f"#{item.requester_id}"),
        organization=organization,
        answers=answers,
        thread=details.thread,
        names=names,
        authors={e.id: author_name(e.author, t) for e in details.thread},
        steps=[s.value for s in staff_steps(item.state)],
        staff=[(member_id, names.get(member_id, f"#{member_id}")) for member_id in colleagues],
        me=reader,
        failed=failed,
        errors=errors or {},
        typed=typed or {},
        notice=notice(request, DONE) if status == 200 else "",
        forget=_forget(request, request_id),
    )


def _forget(request: web.Request, request_id: int) -> str:
    """The action of the form that just succeeded (its saved draft is dropped)."""
    done = request.query.get("done", "")
    if done not in DONE:
        return ""
    action = {"reply": "reply", "note": "reply", "assigned": "assign"}.get(done, "transition")
    return f"{base_of(request)}/staff/requests/{request_id}/{action}"


@staff_page
async def request_page(request: web.Request) -> web.StreamResponse:
    return await _detail(request)


@staff_page
async def transition(request: web.Request) -> web.StreamResponse:
    request_id = _request_id(request)
    form, key = await read_form(request)
    note = text_field(form, "note", TEXT_LIMIT)
    # The step is the pressed button's `to`; it is in the URL too (`formaction`), since a
    # script that disables buttons while a form is sent also drops the pressed one's value.
    wanted = text_field(form, "to", 40) or request.query.get("to", "")[:40]
    try:
        state = RequestState(wanted)
    except ValueError:
        message = texts(request)("portal.staff.request.pick_step")
        return await _detail(
            request,
            failed="transition",
            errors={"": message},
            typed={"note": note},
            status=422,
        )
    try:
        await run(request, ChangeRequestState(request_id, state, note), key)
    except FormErrors as exc:
        return await _detail(
            request,
            failed="transition",
            errors=rename(exc, {"comment": "note", "state": "to"}),
            typed={"note": note},
            status=422,
        )
    raise redirect(request, f"/staff/requests/{request_id}?done={state.value}")


@staff_page
async def assign(request: web.Request) -> web.StreamResponse:
    request_id = _request_id(request)
    form, key = await read_form(request)
    chosen = text_field(form, "assignee", 20)
    assignee: int | None = None
    if chosen:
        try:
            assignee = int(chosen.lstrip("#"))
        except ValueError:
            message = texts(request)("portal.staff.request.pick_colleague")
            return await _detail(
                request,
                failed="assign",
                errors={"assignee": message, "": message},
                status=422,
            )
    try:
        await run(request, AssignRequest(request_id, assignee), key)
    except FormErrors as exc:
        return await _detail(
            request,
            failed="assign",
            errors=rename(exc, {"assignee_id": "assignee"}),
            typed={"assignee": chosen},
            status=422,
        )
    raise redirect(request, f"/staff/requests/{request_id}?done=assigned")


@staff_page
async def reply(request: web.Request) -> web.StreamResponse:
    request_id = _request_id(request)
    form, key = await read_form(request)
    text = text_field(form, "text", TEXT_LIMIT)
    internal = form.get("internal") in ("1", "on", "true")
    try:
        await run(request, ReplyToRequest(request_id, text, internal), key)
    except FormErrors as exc:
        return await _detail(
            request,
            failed="reply",
            errors=rename(exc, {}),
            typed={"text": text, "internal": internal},
            status=422,
        )
    done = "note" if internal else "reply"
    raise redirect(request, f"/staff/requests/{request_id}?done={done}")


ROUTES: tuple[PortalRoute, ...] = (
    PortalRoute("GET", "/staff/requests", queue, "portal.staff.requests"),
    PortalRoute(
        "GET", f"/staff/requests/{{request_id:{ID}}}", request_page, "portal.staff.request"
    ),
    PortalRoute(
        "POST",
        f"/staff/requests/{{request_id:{ID}}}/transition",
        transition,
        "portal.staff.request.transition",
    ),
    PortalRoute(
        "POST", f"/staff/requests/{{request_id:{ID}}}/assign", assign, "portal.staff.request.assign"
    ),
    PortalRoute(
        "POST", f"/staff/requests/{{request_id:{ID}}}/reply", reply, "portal.staff.request.reply"
    ),
)
