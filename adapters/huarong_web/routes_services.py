"""Command routes: stations and their services, service requests, aid cases, the library,
the volunteer team and the smile wall.

Every route only names the command it runs; who may run it is the core's
business (`huarong_core.services.*`). Each `example` is a working request in
the demo building (`huarong demo`); a few need state the demo does not have
(an aid case, a reflection, a photo): `tests/web/authz_services.py` says how
its tests prepare them.

`GetAidCase` and `ListAidCases` are commands (every read of a case is
audit-logged in the read's own transaction) but reads all the same: GET.

`SubmitPhoto` has no route here. It takes a `MediaRef` (hash, type, size) of a
file already in the community's media store; a JSON body could name any hash,
one that is stored nowhere, or that of someone else's approved photo (every
approved photo's ref is public), with any size. Photos have to arrive as an
upload that stores the bytes and submits them in one step
(`huarong_core.media.submit_photo`), which a JSON command route cannot do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from huarong_core import CommunityHandle
from huarong_core.commands import (
    AddAidAction,
    AddBook,
    AddCopy,
    AddShift,
    ApprovePhoto,
    ApproveReflection,
    AssignRequest,
    BorrowCopy,
    CancelHold,
    CancelShift,
    ChangeAidStatus,
    ChangeRequestState,
    ConfirmHours,
    CreateReflectionContest,
    CreateVolunteerTask,
    DefineService,
    GetAidCase,
    GetBook,
    GetPhoto,
    GetPhotoLimits,
    GetReflection,
    GetReflectionContest,
    GetReflectionContestResults,
    GetRequest,
    GetService,
    GetServiceMetrics,
    GetShift,
    GetSmileWall,
    GetStation,
    GetVolunteerHours,
    GetVolunteerStatus,
    JoinVolunteerTeam,
    LeaveVolunteerTeam,
    ListAidCases,
    ListDonations,
    ListHolds,
    ListLoans,
    ListMemberShifts,
    ListMyRequests,
    ListPhotos,
    ListReflectionContests,
    ListReflections,
    ListRequestQueue,
    ListServices,
    ListShifts,
    ListShiftSignups,
    ListStations,
    ListVolunteers,
    ListVolunteerTasks,
    MoveCopy,
    NameAidStaff,
    NominateReflection,
    OpenAidCase,
    PlaceHold,
    RateRequest,
    RecordDonation,
    RejectPhoto,
    RemovePhoto,
    RenewLoan,
    ReplyToRequest,
    ReturnCopy,
    ReturnReflection,
    ReviseReflection,
    ScheduleVisit,
    SearchBooks,
    ServiceMetricsReport,
    SignUpForShift,
    SubmitReflection,
    SubmitRequest,
    UnnameAidStaff,
    UpdateBook,
    UpdateShift,
    UpdateVolunteerTask,
    VoteForReflection,
    WithdrawCopy,
    WithdrawFromShift,
)
from huarong_core.domain.services import RequestState, ServiceMetrics
from huarong_web.api import ApiRoute, Export

__all__ = ["ROUTES", "SERVICE_METRICS_COLUMNS", "service_metrics_csv"]


# --- exports ---------------------------------------------------------------------------

SERVICE_METRICS_COLUMNS: tuple[str, ...] = (
    "row",
    "starts_on",
    "ends_on",
    "station",
    "affair",
    "requests",
    *(f"state_{state.value}" for state in RequestState),
    "resolved",
    "sla_met",
    "sla_met_rate",
    "median_time_to_resolve_seconds",
    "ever_resolved",
    "reopened",
    "reopen_rate",
    "done_once_rate",
    "rated",
    "average_rating",
)
"""One `group` row per (station, affair) with requests, then the `total` row."""


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _metrics_row(kind: str, report: ServiceMetricsReport, figures: ServiceMetrics) -> list[str]:
    median = figures.median_time_to_resolve
    return [
        kind,
        report.starts_on.isoformat(),
        report.ends_on.isoformat(),
        _cell(figures.station),
        _cell(None if figures.affair is None else figures.affair.value),
        str(figures.requests),
        *(str(figures.by_state.get(state, 0)) for state in RequestState),
        str(figures.resolved),
        str(figures.sla_met),
        _cell(figures.sla_met_rate),
        _cell(None if median is None else median.total_seconds()),
        str(figures.ever_resolved),
        str(figures.reopened),
        _cell(figures.reopen_rate),
        _cell(figures.done_once_rate),
        str(figures.rated),
        _cell(figures.average_rating),
    ]


def service_metrics_rows(report: ServiceMetricsReport) -> Iterable[list[str]]:
    for figures in report.rows:
        yield _metrics_row("group", report, figures)
    yield _metrics_row("total", report, report.total)


def service_metrics_csv(
    report: ServiceMetricsReport, handle: CommunityHandle, locale: str
) -> bytes:
    """`GET /service_metrics?format=csv`: machine-readable, so keys and numbers, no labels."""
    del handle, locale
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SERVICE_METRICS_COLUMNS)
    writer.writerows(service_metrics_rows(report))
    return out.getvalue().encode("utf-8")


METRICS_CSV = Export("text/csv; charset=utf-8", service_metrics_csv, filename="service_metrics.csv")


# --- example values ----------------------------------------------------------------------

_NEW_SERVICE = {
    "key": "bookshelf_help",
    "station": "party_masses",
    "name": {"zh_CN": "红色书架代借", "en": "Red bookshelf errands"},
    "affair": "party",
    "sla_hours": 48,
    "open_to": ["member"],
    "form": [
        {"key": "book", "label": {"zh_CN": "书名", "en": "Book"}},
        {"key": "phone", "label": {"zh_CN": "联系电话", "en": "Phone"}, "type": "phone"},
    ],
}
_REFLECTION = (
    "《红岩》写的是黎明前最黑暗的时刻。江姐在狱中绣红旗的那一段，让我久久不能平静：信念不是口号，"
    "而是在最难的时候依然选择站直。读完之后，我对今天平凡的工作也多了一份敬意。"
)


# --- stations and their services -----------------------------------------------------------

STATIONS: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/stations", ListStations, "stations"),
    ApiRoute(
        "GET",
        "/stations/{station_key}",
        GetStation,
        "stations",
        example={"station_key": "party_masses"},
    ),
    ApiRoute(
        "GET",
        "/services",
        ListServices,
        "stations",
        example={"station": "enterprise", "affair": "legal"},
    ),
    ApiRoute("POST", "/services", DefineService, "stations", example={"service": _NEW_SERVICE}),
    ApiRoute(
        "GET",
        "/services/{service_key}",
        GetService,
        "stations",
        example={"service_key": "car_card"},
    ),
    ApiRoute(
        "GET",
        "/service_metrics",
        GetServiceMetrics,
        "stations",
        exports={"csv": METRICS_CSV},
        example={"starts_on": "2026-07-01", "ends_on": "2026-08-01"},
    ),
)


# --- service requests ----------------------------------------------------------------------

REQUESTS: tuple[ApiRoute, ...] = (
    ApiRoute(
        "POST",
        "/requests",
        SubmitRequest,
        "requests",
        status=201,
        example={
            "service_key": "car_card",
            "answers": {"plate": "豫H·C2468", "phone": "13903910010"},
        },
    ),
    ApiRoute(
        "GET",
        "/requests",
        ListRequestQueue,
        "requests",
        example={"station": "community_liaison", "state": "submitted"},
    ),
    ApiRoute("GET", "/me/requests", ListMyRequests, "requests", me="member_id"),
    ApiRoute(
        "GET",
        "/members/{member_id}/requests",
        ListMyRequests,
        "requests",
        name="ListMemberRequests",
        example={"member_id": 22},
    ),
    ApiRoute("GET", "/requests/{request_id}", GetRequest, "requests", example={"request_id": 4}),
    ApiRoute(
        "POST",
        "/requests/{request_id}/transitions",
        ChangeRequestState,
        "requests",
        example={"request_id": 4, "state": "accepted", "comment": "已受理，调解员明天联系您。"},
    ),
    ApiRoute(
        "POST",
        "/requests/{request_id}/assign",
        AssignRequest,
        "requests",
        example={"request_id": 4, "assignee_id": 6},
    ),
    ApiRoute(
        "POST",
        "/requests/{request_id}/replies",
        ReplyToRequest,
        "requests",
        status=201,
        example={"request_id": 4, "text": "请问两家公司的负责人周几方便到联络站？"},
    ),
    ApiRoute(
        "POST",
        "/requests/{request_id}/visit",
        ScheduleVisit,
        "requests",
        example={
            "request_id": 4,
            "visit_at": "2026-07-03T02:00:00+00:00",
            "note": "调解员上门查看走廊",
        },
    ),
    ApiRoute(
        "POST",
        "/requests/{request_id}/rate",
        RateRequest,
        "requests",
        example={"request_id": 7, "rating": 5, "comment": "办得又快又好"},
    ),
)


# --- aid cases (confidential: only the staff named on a case see it) --------------------------

AID: tuple[ApiRoute, ...] = (
    ApiRoute(
        "POST",
        "/aid_cases",
        OpenAidCase,
        "aid",
        status=201,
        example={"member_id": 48, "category": "illness", "description": "家人住院，需要临时帮扶"},
    ),
    ApiRoute("GET", "/aid_cases", ListAidCases, "aid", example={"status": "open"}),
    ApiRoute("GET", "/aid_cases/{case_id}", GetAidCase, "aid", example={"case_id": 1}),
    ApiRoute(
        "POST",
        "/aid_cases/{case_id}/actions",
        AddAidAction,
        "aid",
        status=201,
        example={"case_id": 1, "text": "上门走访，送去慰问金", "taken_on": "2026-06-30"},
    ),
    ApiRoute(
        "POST",
        "/aid_cases/{case_id}/transitions",
        ChangeAidStatus,
        "aid",
        example={"case_id": 1, "status": "in_progress"},
    ),
    ApiRoute(
        "POST",
        "/aid_cases/{case_id}/staff",
        NameAidStaff,
        "aid",
        example={"case_id": 1, "member_id": 4},
    ),
    ApiRoute(
        "DELETE",
        "/aid_cases/{case_id}/staff/{member_id}",
        UnnameAidStaff,
        "aid",
        example={"case_id": 1, "member_id": 6},
    ),
)


# --- the library: books and copies -----------------------------------------------------------

BOOKS: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/books", SearchBooks, "library", example={"text": "红"}),
    ApiRoute(
        "POST",
        "/books",
        AddBook,
        "library",
        status=201,
        example={
            "title": "红日",
            "author": "吴强",
            "isbn": "9787020004676",
            "tags": ["小说", "红色经典"],
        },
    ),
    ApiRoute("GET", "/books/{book_id}", GetBook, "library", example={"book_id": 1}),
    ApiRoute(
        "PATCH",
        "/books/{book_id}",
        UpdateBook,
        "library",
        example={"book_id": 6, "tags": ["小说", "茅盾文学奖", "当代"]},
    ),
    ApiRoute(
        "POST",
        "/books/{book_id}/copies",
        AddCopy,
        "library",
        status=201,
        example={"book_id": 3, "code": "RR-0009", "location": "bookshelf"},
    ),
    ApiRoute(
        "POST",
        "/copies/{code}/move",
        MoveCopy,
        "library",
        example={"code": "DR-0002", "location": "bookshelf"},
    ),
    ApiRoute(
        "POST",
        "/copies/{code}/withdraw",
        WithdrawCopy,
        "library",
        example={"code": "DR-0003", "reason": "书页破损"},
    ),
)


# --- the library: loans, holds, donations ------------------------------------------------------

LOANS: tuple[ApiRoute, ...] = (
    ApiRoute("POST", "/copies/{code}/borrow", BorrowCopy, "library", example={"code": "RR-0002"}),
    ApiRoute("POST", "/copies/{code}/return", ReturnCopy, "library", example={"code": "RR-0001"}),
    ApiRoute("POST", "/copies/{code}/renew", RenewLoan, "library", example={"code": "RR-0003"}),
    ApiRoute(
        "GET",
        "/loans",
        ListLoans,
        "library",
        fixed={"everyone": True, "member_id": None},
        example={"overdue_only": False},
    ),
    ApiRoute(
        "GET",
        "/me/loans",
        ListLoans,
        "library",
        me="member_id",
        fixed={"everyone": False},
        name="ListMyLoans",
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/loans",
        ListLoans,
        "library",
        fixed={"everyone": False},
        name="ListMemberLoans",
        example={"member_id": 3},
    ),
    ApiRoute(
        "POST", "/books/{book_id}/holds", PlaceHold, "library", status=201, example={"book_id": 3}
    ),
    ApiRoute(
        "GET",
        "/books/{book_id}/holds",
        ListHolds,
        "library",
        fixed={"member_id": None},
        name="ListBookHolds",
        example={"book_id": 3},
    ),
    ApiRoute("GET", "/me/holds", ListHolds, "library", me="member_id", name="ListMyHolds"),
    ApiRoute(
        "GET",
        "/members/{member_id}/holds",
        ListHolds,
        "library",
        name="ListMemberHolds",
        example={"member_id": 13},
    ),
    ApiRoute("DELETE", "/holds/{hold_id}", CancelHold, "library", example={"hold_id": 1}),
    ApiRoute(
        "POST",
        "/donations",
        RecordDonation,
        "library",
        status=201,
        example={"member_id": 10, "book_id": 2, "copy_codes": ["RR-0010"], "note": "全新"},
    ),
    ApiRoute("GET", "/donations", ListDonations, "library", fixed={"member_id": None}),
    ApiRoute(
        "GET", "/me/donations", ListDonations, "library", me="member_id", name="ListMyDonations"
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/donations",
        ListDonations,
        "library",
        name="ListMemberDonations",
        example={"member_id": 13},
    ),
)


# --- the library: reading reflections and the best-reflection contest -------------------------

REFLECTIONS: tuple[ApiRoute, ...] = (
    ApiRoute(
        "POST",
        "/books/{book_id}/reflections",
        SubmitReflection,
        "library",
        status=201,
        example={"book_id": 1, "text": _REFLECTION},
    ),
    ApiRoute("GET", "/reflections", ListReflections, "library", example={"book_id": 1}),
    ApiRoute(
        "GET",
        "/reflections/{reflection_id}",
        GetReflection,
        "library",
        example={"reflection_id": 1},
    ),
    ApiRoute(
        "POST",
        "/reflections/{reflection_id}/revise",
        ReviseReflection,
        "library",
        example={"reflection_id": 1, "text": _REFLECTION + "（修改稿）"},
    ),
    ApiRoute(
        "POST",
        "/reflections/{reflection_id}/approve",
        ApproveReflection,
        "library",
        example={"reflection_id": 1, "note": "写得真切"},
    ),
    ApiRoute(
        "POST",
        "/reflections/{reflection_id}/return",
        ReturnReflection,
        "library",
        example={"reflection_id": 1, "note": "请再多写一点自己的体会"},
    ),
    ApiRoute(
        "POST",
        "/reflection_contests",
        CreateReflectionContest,
        "library",
        status=201,
        example={
            "title": "七一红色悦读最佳读后感",
            "voting_opens_at": "2026-07-01T00:00:00+00:00",
            "voting_closes_at": "2026-07-31T16:00:00+00:00",
        },
    ),
    ApiRoute("GET", "/reflection_contests", ListReflectionContests, "library"),
    ApiRoute(
        "GET",
        "/reflection_contests/{contest_id}",
        GetReflectionContest,
        "library",
        example={"contest_id": 1},
    ),
    ApiRoute(
        "POST",
        "/reflection_contests/{contest_id}/nominations",
        NominateReflection,
        "library",
        example={"contest_id": 1, "reflection_id": 1},
    ),
    ApiRoute(
        "POST",
        "/reflection_contests/{contest_id}/votes",
        VoteForReflection,
        "library",
        status=201,
        example={"contest_id": 1, "reflection_id": 1},
    ),
    ApiRoute(
        "GET",
        "/reflection_contests/{contest_id}/results",
        GetReflectionContestResults,
        "library",
        example={"contest_id": 1},
    ),
)


# --- the volunteer team, tasks and shifts ---------------------------------------------------------

VOLUNTEERING: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/volunteers", ListVolunteers, "volunteering"),
    ApiRoute(
        "POST",
        "/volunteers",
        JoinVolunteerTeam,
        "volunteering",
        status=201,
        example={"member_id": 10},
    ),
    ApiRoute(
        "DELETE",
        "/volunteers/{member_id}",
        LeaveVolunteerTeam,
        "volunteering",
        example={"member_id": 17},
    ),
    ApiRoute(
        "GET",
        "/volunteer_tasks",
        ListVolunteerTasks,
        "volunteering",
        example={"station": "party_masses"},
    ),
    ApiRoute(
        "POST",
        "/volunteer_tasks",
        CreateVolunteerTask,
        "volunteering",
        status=201,
        example={
            "title": {"zh_CN": "红色书架整理", "en": "Tidying the red bookshelf"},
            "station": "party_masses",
            "key": "bookshelf_tidy",
        },
    ),
    ApiRoute(
        "PATCH",
        "/volunteer_tasks/{task_id}",
        UpdateVolunteerTask,
        "volunteering",
        example={
            "task_id": 1,
            "description": {"zh_CN": "楼宇保洁与绿植养护", "en": "Cleaning and tending the plants"},
        },
    ),
    ApiRoute(
        "POST",
        "/volunteer_tasks/{task_id}/shifts",
        AddShift,
        "volunteering",
        status=201,
        example={
            "task_id": 1,
            "starts_at": "2026-07-11T01:00:00+00:00",
            "ends_at": "2026-07-11T03:00:00+00:00",
            "slots": 8,
        },
    ),
    ApiRoute("GET", "/shifts", ListShifts, "volunteering", example={"open_only": True}),
    ApiRoute("GET", "/shifts/{shift_id}", GetShift, "volunteering", example={"shift_id": 1}),
    ApiRoute(
        "PATCH",
        "/shifts/{shift_id}",
        UpdateShift,
        "volunteering",
        example={"shift_id": 4, "slots": 6},
    ),
    ApiRoute(
        "POST",
        "/shifts/{shift_id}/cancel",
        CancelShift,
        "volunteering",
        example={"shift_id": 5, "reason": "社区活动改期"},
    ),
    ApiRoute(
        "POST",
        "/shifts/{shift_id}/sign_up",
        SignUpForShift,
        "volunteering",
        example={"shift_id": 4, "member_id": 7},
    ),
    ApiRoute(
        "POST",
        "/shifts/{shift_id}/withdraw",
        WithdrawFromShift,
        "volunteering",
        example={"shift_id": 1, "member_id": 17},
    ),
    ApiRoute(
        "GET",
        "/shifts/{shift_id}/signups",
        ListShiftSignups,
        "volunteering",
        example={"shift_id": 1},
    ),
    ApiRoute(
        "POST",
        "/shifts/{shift_id}/confirm_hours",
        ConfirmHours,
        "volunteering",
        example={"shift_id": 6, "member_id": 7, "hours": "2"},
    ),
    ApiRoute(
        "GET", "/me/shifts", ListMemberShifts, "volunteering", me="member_id", name="ListMyShifts"
    ),
    ApiRoute(
        "GET",
        "/me/volunteer",
        GetVolunteerStatus,
        "volunteering",
        me="member_id",
        name="GetMyVolunteerStatus",
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/volunteer",
        GetVolunteerStatus,
        "volunteering",
        example={"member_id": 17},
    ),
    ApiRoute(
        "GET",
        "/members/{member_id}/shifts",
        ListMemberShifts,
        "volunteering",
        example={"member_id": 17},
    ),
    ApiRoute(
        "GET",
        "/volunteer_hours",
        GetVolunteerHours,
        "volunteering",
        example={"starts_on": "2026-07-01", "ends_on": "2026-07-31"},
    ),
)


# --- the smile wall ---------------------------------------------------------------------------

SMILE_WALL: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/smile_wall", GetSmileWall, "smile-wall"),
    ApiRoute("GET", "/smile_wall/photo_limits", GetPhotoLimits, "smile-wall"),
    ApiRoute("GET", "/photos", ListPhotos, "smile-wall", example={"status": "pending"}),
    ApiRoute("GET", "/me/photos", ListPhotos, "smile-wall", me="member_id", name="ListMyPhotos"),
    ApiRoute("GET", "/photos/{photo_id}", GetPhoto, "smile-wall", example={"photo_id": 1}),
    ApiRoute(
        "POST", "/photos/{photo_id}/approve", ApprovePhoto, "smile-wall", example={"photo_id": 1}
    ),
    ApiRoute(
        "POST",
        "/photos/{photo_id}/reject",
        RejectPhoto,
        "smile-wall",
        example={"photo_id": 1, "reason": "照片太模糊"},
    ),
    ApiRoute(
        "POST",
        "/photos/{photo_id}/remove",
        RemovePhoto,
        "smile-wall",
        example={"photo_id": 1, "reason": "本人要求撤下"},
    ),
)


ROUTES: tuple[ApiRoute, ...] = (
    *STATIONS,
    *REQUESTS,
    *AID,
    *BOOKS,
    *LOANS,
    *REFLECTIONS,
    *VOLUNTEERING,
    *SMILE_WALL,
)
