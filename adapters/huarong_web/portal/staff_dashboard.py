"""The staff dashboard: what needs doing now, and four charts of how the building is doing.

Each part is read with the reader's own rights and left out (with a word
saying so) when the core refuses it, so a club leader and an administrator
see the same page with different parts:

- needs attention: open requests by SLA state, items to hand over, the
  approval queues, and the check-in screens of the coming week;
- participation: check-ins per week over the last eight weeks;
- points: active members per balance band;
- the five affairs: requests, resolutions and the SLA per affair over a period
  (`?days=30|90|365`), from `GetServiceMetrics`;
- clubs: members and gatherings per club.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import attrs
from aiohttp import web
from markupsafe import Markup

from huarong_core.commands import (
    GetGathering,
    GetOrganizationReport,
    GetPointsStatement,
    GetServiceMetrics,
    ListClubs,
    ListGatherings,
    ListMembers,
    ListPendingAwards,
    ListPhotos,
    ListRedemptions,
    ListRequestQueue,
    ListStations,
    ServiceMetricsReport,
)
from huarong_core.domain.gatherings import Gathering, GatheringStatus
from huarong_core.domain.members import Member, MemberStatus
from huarong_core.domain.services import OPEN_STATES, Affair, ServiceMetrics
from huarong_core.domain.shop import RedemptionStatus
from huarong_core.domain.smile_wall import PhotoStatus
from huarong_core.errors import PermissionDenied
from huarong_web.keys import HANDLE
from huarong_web.portal.charts import ChartText, Series, bar_chart, histogram, line_chart
from huarong_web.portal.pages import PortalRoute, Texts, render, run
from huarong_web.portal.staff_common import Sla, now, staff_page, texts
from huarong_web.portal.staff_requests import OPEN_ORDER

__all__ = ["BANDS", "ROUTES", "band_of"]

T = TypeVar("T")

WEEKS = 8
PERIODS = (30, 90, 365)
BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 19),
    (20, 49),
    (50, 99),
    (100, 199),
    (200, 499),
    (500, None),
)
"""Balance bands of the points chart: (lowest, highest), `None` for no upper end."""
CLUB_PAST = timedelta(days=90)
CLUB_AHEAD = timedelta(days=30)
SCREENS_AHEAD = timedelta(days=7)


def band_of(balance: int) -> int:
    """The index of the band a balance falls in."""
    for index, (low, high) in enumerate(BANDS):
        if balance >= low and (high is None or balance <= high):
            return index
    return 0


def band_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}–{high}"


async def _maybe(read: Callable[[], Awaitable[T]]) -> T | None:
    """What `read` gives, or None when the core refuses the reader."""
    try:
        return await read()
    except PermissionDenied:
        return None


def _local_day(request: web.Request) -> date:
    handle = request.config_dict[HANDLE]
    return now(request).astimezone(handle.community.tz).date()


def _start_of(request: web.Request, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=request.config_dict[HANDLE].community.tz)


# --- needs attention ----------------------------------------------------------------------


@attrs.frozen
class Attention:
    sla: dict[str, int] | None
    reserved: int | None
    photos: int | None
    awards: int | None
    screens: tuple[Gathering, ...]


async def _attention(request: web.Request) -> Attention:
    at = now(request)

    async def sla() -> dict[str, int]:
        counts = dict.fromkeys(("escalated", "overdue", "due_soon", "on_time"), 0)
        for state in OPEN_ORDER:
            page = await run(request, ListRequestQueue(state=state, limit=500))
            for item in page.items:
                kind = Sla.of(item, at).kind
                if kind in counts:
                    counts[kind] += 1
        return counts

    async def reserved() -> int:
        found = await run(request, ListRedemptions(status=RedemptionStatus.RESERVED, limit=500))
        return len(found)

    async def photos() -> int:
        found = await run(request, ListPhotos(status=PhotoStatus.PENDING, limit=500))
        return len(found)

    async def awards() -> int:
        found = await run(request, ListPendingAwards(status="pending", limit=500))
        return len(found)

    screens = await run(
        request,
        ListGatherings(starts=at - timedelta(hours=3), ends=at + SCREENS_AHEAD, limit=50),
    )
    return Attention(
        await _maybe(sla),
        await _maybe(reserved),
        await _maybe(photos),
        await _maybe(awards),
        tuple(g for g in screens if g.status is GatheringStatus.SCHEDULED),
    )


# --- the charts -------------------------------------------------------------------------------


async def participation(request: web.Request, t: Texts) -> Markup:
    """Check-ins per week (by the gathering's start), the last `WEEKS` weeks to this one."""
    monday = _local_day(request)
    monday -= timedelta(days=monday.weekday())
    first = monday - timedelta(weeks=WEEKS - 1)
    gatherings = await run(
        request,
        ListGatherings(
            starts=_start_of(request, first),
            ends=_start_of(request, monday + timedelta(days=7)),
            limit=1000,
        ),
    )
    counted = [g for g in gatherings if g.status is not GatheringStatus.CANCELLED]
    details = await asyncio.gather(*(run(request, GetGathering(g.id)) for g in counted))
    tz = request.config_dict[HANDLE].community.tz
    weeks = [first + timedelta(weeks=n) for n in range(WEEKS)]
    per_week = Counter[date]()
    for found in details:
        day = found.gathering.starts_at.astimezone(tz).date()
        per_week[day - timedelta(days=day.weekday())] += found.checked_in
    values = [per_week[w] for w in weeks]
    labels = [w.strftime("%m-%d") for w in weeks]
    busiest = max(range(WEEKS), key=lambda i: values[i])
    return line_chart(
        "participation",
        ChartText(
            title=t("portal.staff.dashboard.participation"),
            table=t("portal.staff.dashboard.as_table"),
            label_heading=t("portal.staff.dashboard.week_of"),
            summary=t(
                "portal.staff.dashboard.participation_summary",
                total=sum(values),
                week=labels[busiest],
                most=values[busiest],
            )
            if sum(values)
            else t("portal.staff.dashboard.participation_none"),
        ),
        labels,
        [Series(t("portal.staff.dashboard.check_ins"), values)],
    )


async def balances(request: web.Request) -> list[int]:
    """Every active member's balance: by organization (one report each, over today only),
    and one by one for those in none."""
    members: list[Member] = []
    offset = 0
    while True:
        page = await run(request, ListMembers(status=MemberStatus.ACTIVE, offset=offset, limit=500))
        members.extend(page.items)
        offset += len(page.items)
        if not page.has_more or not page.items:
            break
    today = _local_day(request)
    found: dict[int, int] = {}
    for organization_id in sorted({m.organization_id for m in members if m.organization_id}):
        report = await run(request, GetOrganizationReport(organization_id, today, today))
        found.update((row.member_id, row.balance) for row in report.rows)
    loose = [m.id for m in members if m.id not in found]
    statements = await asyncio.gather(
        *(run(request, GetPointsStatement(member_id, limit=1)) for member_id in loose)
    )
    found.update((s.member_id, s.balance) for s in statements)
    return [found[m.id] for m in members if m.id in found]


async def points_bands(request: web.Request, t: Texts) -> Markup:
    counts = [0] * len(BANDS)
    for balance in await balances(request):
        counts[band_of(balance)] += 1
    labels = [band_label(low, high) for low, high in BANDS]
    return histogram(
        "points",
        ChartText(
            title=t("portal.staff.dashboard.points"),
            table=t("portal.staff.dashboard.as_table"),
            label_heading=t("portal.staff.dashboard.balance"),
            summary=t(
                "portal.staff.dashboard.points_summary",
                members=sum(counts),
                zero=counts[0],
            ),
        ),
        labels,
        Series(t("portal.staff.dashboard.members"), counts),
    )


@attrs.frozen
class AffairRow:
    affair: str
    """An `Affair` value, or `all` for the total."""
    metrics: ServiceMetrics

    @property
    def open(self) -> int:
        return sum(n for state, n in self.metrics.by_state.items() if state in OPEN_STATES)


async def affairs(
    request: web.Request, t: Texts, days: int, station: str | None
) -> tuple[Markup, list[AffairRow]]:
    today = _local_day(request)
    starts, ends = today - timedelta(days=days - 1), today + timedelta(days=1)
    total = await run(request, GetServiceMetrics(starts, ends, station))
    reports: list[ServiceMetricsReport] = [
        await run(request, GetServiceMetrics(starts, ends, station, affair)) for affair in Affair
    ]
    rows = [AffairRow(r.affair.value, r.total) for r in reports if r.affair is not None]
    labels = [t(f"portal.staff.affair_short.{row.affair}") for row in rows]
    chart = bar_chart(
        "affairs",
        ChartText(
            title=t("portal.staff.dashboard.affairs_chart", days=days),
            table=t("portal.staff.dashboard.as_table"),
            label_heading=t("portal.staff.dashboard.affair"),
            summary=t(
                "portal.staff.dashboard.affairs_summary",
                requests=total.total.requests,
                met=total.total.sla_met,
                resolved=total.total.resolved,
            ),
        ),
        labels,
        [
            Series(t("portal.staff.dashboard.requests"), [r.metrics.requests for r in rows]),
            Series(t("portal.staff.dashboard.resolved"), [r.metrics.resolved for r in rows]),
            Series(t("portal.staff.dashboard.sla_met"), [r.metrics.sla_met for r in rows]),
        ],
    )
    return chart, [*rows, AffairRow("all", total.total)]


async def clubs(request: web.Request, t: Texts) -> Markup:
    at = now(request)
    summaries = await run(request, ListClubs())
    gatherings = await run(
        request, ListGatherings(starts=at - CLUB_PAST, ends=at + CLUB_AHEAD, limit=1000)
    )
    per_club = Counter(g.host_club for g in gatherings if g.status is not GatheringStatus.CANCELLED)
    ordered = sorted(summaries, key=lambda s: (-s.members, s.club.key))
    labels = [t.text(s.club.name) for s in ordered]
    return bar_chart(
        "clubs",
        ChartText(
            title=t("portal.staff.dashboard.clubs"),
            table=t("portal.staff.dashboard.as_table"),
            label_heading=t("portal.staff.dashboard.club"),
            summary=t(
                "portal.staff.dashboard.clubs_summary",
                clubs=len(ordered),
                members=sum(s.members for s in ordered),
            ),
        ),
        labels,
        [
            Series(t("portal.staff.dashboard.members"), [s.members for s in ordered]),
            Series(
                t("portal.staff.dashboard.gatherings"),
                [per_club.get(s.club.key, 0) for s in ordered],
            ),
        ],
    )


@staff_page
async def dashboard(request: web.Request) -> web.StreamResponse:
    t = texts(request)
    try:
        days = int(request.query.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    stations = {s.key: t.text(s.name) for s in await run(request, ListStations())}
    wanted = request.query.get("station", "")
    # All stations unless one is asked for; station staff may report on their own only,
    # so without a choice the first station the core lets the reader see is shown.
    choices: list[str | None] = [wanted] if wanted in stations else [None, *stations]
    found_affairs = None
    station: str | None = None
    for choice in choices:
        station = choice
        found_affairs = await _maybe(functools.partial(affairs, request, t, days, choice))
        if found_affairs is not None:
            break
    context: dict[str, Any] = {
        "attention": await _attention(request),
        "participation": await _maybe(lambda: participation(request, t)),
        "points": await _maybe(lambda: points_bands(request, t)),
        "affairs_chart": found_affairs[0] if found_affairs else None,
        "affair_rows": found_affairs[1] if found_affairs else None,
        "clubs": await _maybe(lambda: clubs(request, t)),
    }
    return await render(
        request,
        "staff/dashboard.html",
        section="staff",
        title=t("portal.staff.dashboard.title"),
        area="dashboard",
        days=days,
        periods=PERIODS,
        stations=stations,
        station=station or "",
        **context,
    )


ROUTES: tuple[PortalRoute, ...] = (PortalRoute("GET", "/staff", dashboard, "portal.staff"),)
