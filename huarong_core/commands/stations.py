"""Commands of the service catalogue of each station, service requests and their workflow.

Station staff (`handle_requests` in the station's scope) work that station's
requests; a member acts on their own. `member_id=None` means "the acting
member"; naming another member takes the staff permission.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Page, Query, page_size
from huarong_core.domain.communities import Station
from huarong_core.domain.services import (
    Affair,
    RequestEntry,
    RequestState,
    Service,
    ServiceMetrics,
    ServiceRequest,
)

__all__ = [
    "AssignRequest",
    "ChangeRequestState",
    "DefineService",
    "GetRequest",
    "GetService",
    "GetServiceMetrics",
    "GetStation",
    "ListMyRequests",
    "ListRequestQueue",
    "ListServices",
    "ListStations",
    "RateRequest",
    "ReplyToRequest",
    "RequestDetails",
    "ScheduleVisit",
    "ServiceMetricsReport",
    "StationDetails",
    "SubmitRequest",
]


def _answers(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


# --- stations and the catalogue -------------------------------------------------------


@attrs.frozen
class StationDetails:
    station: Station
    services: tuple[Service, ...]
    """Its enabled services."""
    staff: tuple[int, ...]
    """Active members holding `station_staff` in the station's scope (else community-wide)."""
    lead_id: int | None
    open_now: bool


@attrs.frozen
class ListStations(Query[tuple[Station, ...]]):
    """Every station, in the order of the community file."""


@attrs.frozen
class GetStation(Query[StationDetails]):
    station_key: str


@attrs.frozen
class DefineService(Command[Service]):
    """Create or change a service (`manage_services` in its station's scope)."""

    service: Service


@attrs.frozen
class ListServices(Query[tuple[Service, ...]]):
    station: str | None = None
    affair: Affair | None = None
    include_disabled: bool = False


@attrs.frozen
class GetService(Query[Service]):
    service_key: str


# --- requests ---------------------------------------------------------------------


@attrs.frozen
class SubmitRequest(Command[ServiceRequest]):
    """Ask for a service; `answers` are checked against its form (`field key -> text`).

    Staff may submit for a member who came to the desk (`member_id`).
    """

    service_key: str
    answers: dict[str, str] = attrs.field(factory=dict, converter=_answers)
    member_id: int | None = None


@attrs.frozen
class ChangeRequestState(Command[ServiceRequest]):
    """Take one step of the workflow (`domain.services.TRANSITIONS`).

    Staff accept, start, ask the requester, resolve and reject; the requester
    cancels, answers (waiting -> in progress), confirms (resolved -> closed)
    and reopens (resolved -> in progress). `comment` goes in the thread and
    to the requester; rejecting needs one.
    """

    request_id: int
    state: RequestState
    comment: str = ""


@attrs.frozen
class AssignRequest(Command[ServiceRequest]):
    """Give a request to a staff member of its station (`None`: nobody)."""

    request_id: int
    assignee_id: int | None


@attrs.frozen
class ReplyToRequest(Command[RequestEntry]):
    """Staff reply to the requester, or (`internal`) note for staff only.

    The requester writes too (never internal); writing while the request
    waits for them moves it back in progress.
    """

    request_id: int
    text: str
    internal: bool = False


@attrs.frozen
class ScheduleVisit(Command[ServiceRequest]):
    """An on-site (door-to-door) visit at `visit_at`; the requester is told and reminded."""

    request_id: int
    visit_at: datetime
    note: str = ""


@attrs.frozen
class RateRequest(Command[ServiceRequest]):
    """The requester's satisfaction (1-5) and a comment, once the request is resolved."""

    request_id: int
    rating: int
    comment: str = ""


@attrs.frozen
class ListRequestQueue(Query[Page[ServiceRequest]]):
    """The staff queue: every station the actor handles, or one; by state and assignee."""

    station: str | None = None
    state: RequestState | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class ListMyRequests(Query[Page[ServiceRequest]]):
    """A member's own requests (another member's need `handle_requests`)."""

    member_id: int | None = None
    state: RequestState | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class RequestDetails:
    request: ServiceRequest
    service: Service
    thread: tuple[RequestEntry, ...]
    """Oldest first; internal notes only when staff read it."""


@attrs.frozen
class GetRequest(Query[RequestDetails]):
    request_id: int


# --- metrics ----------------------------------------------------------------------


@attrs.frozen
class ServiceMetricsReport:
    starts_on: date
    ends_on: date
    """Exclusive: the period is `[starts_on, ends_on)` in the community's time zone."""
    station: str | None
    affair: Affair | None
    total: ServiceMetrics
    rows: tuple[ServiceMetrics, ...]
    """One per (station, affair) with requests in the period."""


@attrs.frozen
class GetServiceMetrics(Query[ServiceMetricsReport]):
    """Figures for the requests submitted in `[starts_on, ends_on)` (local dates)."""

    starts_on: date
    ends_on: date
    station: str | None = None
    affair: Affair | None = None
