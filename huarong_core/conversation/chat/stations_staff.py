"""The staff side of service requests: the queue, the workflow, visits, notes, metrics.

/queue, /accept, /assign, /resolve, /decline, /visit, /note, /metrics. The
core decides who may do each (`handle_requests` in the request's station,
`view_reports` for metrics); the menus only hide them from members.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import attrs

from huarong_core.commands import (
    AssignRequest,
    ChangeRequestState,
    FindMember,
    GetMember,
    GetServiceMetrics,
    ListMembers,
    ListRequestQueue,
    ListServices,
    ListStations,
    ReplyToRequest,
    ScheduleVisit,
)
from huarong_core.conversation.arguments import (
    Day,
    FreeText,
    Moment,
    Words,
    arg,
    page_arg,
)
from huarong_core.conversation.chat.stations import (
    LIST_LIMIT,
    REQUEST,
    Names,
    affair_text,
    change_state,
    service_name,
    service_names,
    state_done,
    state_text,
    ticket_button,
)
from huarong_core.conversation.refs import MEMBER, STATION
from huarong_core.conversation.routes import Outcome, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import Message, Text
from huarong_core.domain.communities import Station
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission, Scope, ScopeKind, permits
from huarong_core.domain.services import OPEN_STATES, RequestState, ServiceMetrics, ServiceRequest
from huarong_core.errors import InvalidTransition

S = RequestState

# --- the queue -----------------------------------------------------------------------


@route(
    "queue",
    "待办",
    family="staff",
    params=[arg(STATION, optional=True), page_arg()],
    commands=[ListRequestQueue, ListServices, ListStations, GetMember],
    permission=Permission.HANDLE_REQUESTS,
    aliases=["工单"],
)
async def queue(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """The open requests of the stations the sender works (or one), the most urgent first."""
    chosen: Station | None = args["station"]
    key = None if chosen is None else chosen.key
    items: list[ServiceRequest] = []
    for state in sorted(OPEN_STATES):
        page = await turn.run(ListRequestQueue(station=key, state=state, limit=LIST_LIMIT))
        items.extend(page.items)
    items.sort(key=lambda r: (r.due_at, r.id))
    known = await service_names(turn)
    names = Names(turn)
    now = turn.handle.now()
    requesters = {r.id: await names.get(r.requester_id) for r in items}
    assignees = {r.id: await names.get(r.assignee_id) for r in items if r.assignee_id is not None}

    def line(number: int, item: ServiceRequest) -> Text:
        assignee = assignees.get(item.id)
        return Text(
            "chat.stations.queue_line_late" if item.due_at < now else "chat.stations.queue_line",
            {
                "number": number,
                "id": item.id,
                "service": service_name(known, item.service_key),
                "state": state_text(item.state),
                "requester": requesters[item.id],
                "due": item.due_at,
                "assignee": Text("chat.stations.nobody") if assignee is None else assignee,
            },
        )

    title = (
        Text("chat.stations.queue_title", {"count": len(items)})
        if chosen is None
        else Text("chat.stations.queue_title_at", {"count": len(items), "station": chosen.name})
    )
    return turn.numbered(
        "request",
        title,
        items,
        line,
        lambda r: r.ref,
        page=args["page"],
        empty=Text("chat.stations.queue_empty"),
        more=key or "",
        item_button=ticket_button,
    )


# --- the workflow ------------------------------------------------------------------------


@route(
    "accept",
    "受理",
    family="staff",
    params=[arg(REQUEST)],
    commands=[ChangeRequestState],
    permission=Permission.HANDLE_REQUESTS,
)
async def accept(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return state_done(await change_state(turn, args["stations_request"], S.ACCEPTED))


BRIDGES: dict[tuple[str, RequestState], tuple[RequestState, ...]] = {
    (S.SUBMITTED.value, S.RESOLVED): (S.ACCEPTED, S.IN_PROGRESS),
    (S.ACCEPTED.value, S.RESOLVED): (S.IN_PROGRESS,),
}
"""Steps `/resolve` takes first when the work was done without them (one visit, done once)."""


async def walk(turn: Turn, request_id: int, wanted: RequestState, comment: str) -> ServiceRequest:
    """Take the step, or the steps leading to it: each is a core command of its own.

    The first try always runs, so a redelivered input replays the same
    commands in the same order (its refusal is replayed too) and answers the same.
    """
    try:
        return await change_state(turn, request_id, wanted, comment)
    except InvalidTransition as exc:
        steps = BRIDGES.get((exc.state, wanted))
        if steps is None:
            raise
    for step in steps:
        await change_state(turn, request_id, step)
    return await change_state(turn, request_id, wanted, comment)


@route(
    "resolve",
    "办结",
    family="staff",
    params=[arg(REQUEST), arg(FreeText("comment"), optional=True)],
    commands=[ChangeRequestState],
    permission=Permission.HANDLE_REQUESTS,
    aliases=["完成"],
)
async def resolve(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    resolved = await walk(turn, args["stations_request"], S.RESOLVED, args["comment"] or "")
    return state_done(resolved)


@route(
    "decline",
    "不予受理",
    family="staff",
    params=[arg(REQUEST), arg(FreeText("reason"))],
    commands=[ChangeRequestState],
    permission=Permission.HANDLE_REQUESTS,
)
async def decline(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return state_done(
        await change_state(turn, args["stations_request"], S.REJECTED, args["reason"])
    )


NOBODY = frozenset({"-", "none", "nobody", "无", "取消"})


@attrs.frozen
class Assignee:
    """A member, or `-`/`无` for nobody (taking the request off whoever had it)."""

    name: str = "member"

    async def parse(self, turn: Turn, words: Words) -> Member | None:
        word = words.peek()
        if word is not None and word.casefold() in NOBODY:
            words.take()
            return None
        found: Member = await MEMBER.parse(turn, words)
        return found


@route(
    "assign",
    "指派",
    family="staff",
    params=[arg(REQUEST), arg(Assignee())],
    commands=[AssignRequest, FindMember, ListMembers, GetMember],
    permission=Permission.HANDLE_REQUESTS,
)
async def assign(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member: Member | None = args["member"]
    request_id = args["stations_request"]
    await turn.run(AssignRequest(request_id, None if member is None else member.id))
    if member is None:
        return turn.say("chat.stations.unassigned", id=request_id)
    return turn.say("chat.stations.assigned", id=request_id, name=member.display_name)


@route(
    "visit",
    "预约上门",
    family="staff",
    params=[
        arg(REQUEST),
        arg(Moment("stations_visit_at")),
        arg(FreeText("stations_note"), optional=True),
    ],
    commands=[ScheduleVisit],
    permission=Permission.HANDLE_REQUESTS,
    aliases=["上门"],
)
async def visit(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    scheduled = await turn.run(
        ScheduleVisit(
            args["stations_request"], args["stations_visit_at"], args["stations_note"] or ""
        )
    )
    return turn.say("chat.stations.visit_done", id=scheduled.id, at=scheduled.visit_at)


@route(
    "note",
    "内部备注",
    family="staff",
    params=[arg(REQUEST), arg(FreeText("text"))],
    commands=[ReplyToRequest],
    permission=Permission.HANDLE_REQUESTS,
    aliases=["备注"],
)
async def note(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    request_id = args["stations_request"]
    await turn.run(ReplyToRequest(request_id, args["text"], internal=True))
    return turn.say("chat.stations.note_done", id=request_id)


# --- metrics ------------------------------------------------------------------------------


def _first_of_month(turn: Turn) -> date:
    return turn.today.replace(day=1)


def _own_station(turn: Turn) -> str | None:
    """The station whose figures a station's staff see by default (they see no others)."""
    if permits(turn.sender.grants, Permission.VIEW_REPORTS, Scope.community()):
        return None
    stations = {
        g.scope.key
        for g in turn.sender.grants
        if g.scope.kind is ScopeKind.STATION and permits((g,), Permission.VIEW_REPORTS, g.scope)
    }
    return next(iter(stations)) if len(stations) == 1 else None


def _share(value: float | None) -> Text | str:
    return Text("chat.stations.none") if value is None else f"{value * 100:.0f}%"


def _metrics_line(key: str, figures: ServiceMetrics, **extra: Any) -> Text:
    median = figures.median_time_to_resolve
    hours = None if median is None else round(median.total_seconds() / 3600, 1)
    return Text(
        key,
        {
            **extra,
            "requests": figures.requests,
            "resolved": figures.resolved,
            "sla": _share(figures.sla_met_rate),
            "median": Text("chat.stations.none") if hours is None else hours,
            "done_once": _share(figures.done_once_rate),
            "rating": Text("chat.stations.none")
            if figures.average_rating is None
            else round(figures.average_rating, 1),
        },
    )


@route(
    "metrics",
    "服务统计",
    family="staff",
    params=[
        arg(Day("stations_from"), default=_first_of_month),
        arg(Day("stations_to"), default=lambda t: t.today),
        arg(STATION, optional=True),
    ],
    commands=[GetServiceMetrics, ListStations],
    permission=Permission.VIEW_REPORTS,
    aliases=["统计"],
)
async def metrics(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Figures for requests submitted from one day to another (both included)."""
    chosen: Station | None = args["station"]
    key = chosen.key if chosen is not None else _own_station(turn)
    starts: date = args["stations_from"]
    ends: date = args["stations_to"]
    report = await turn.run(GetServiceMetrics(starts, ends + timedelta(days=1), station=key))
    names = {s.key: s.name for s in await turn.run(ListStations())}
    lines = [
        Text(
            "chat.stations.metrics_title" if key is None else "chat.stations.metrics_title_at",
            {"from": starts, "to": ends, "station": names.get(key or "", key or "")},
        ),
        _metrics_line("chat.stations.metrics_total", report.total),
    ]
    states = [
        Text("chat.stations.metrics_state", {"state": state_text(s), "count": n})
        for s, n in report.total.by_state.items()
        if n
    ]
    if states:
        lines.append(Text("chat.stations.metrics_states", {"states": tuple(states)}))
    for row in report.rows:
        lines.append(
            _metrics_line(
                "chat.stations.metrics_row",
                row,
                station=names.get(row.station or "", row.station or ""),
                affair=Text("chat.stations.none")
                if row.affair is None
                else affair_text(row.affair),
            )
        )
    return Message(tuple(lines))
