"""Service stations: the catalogue, requests through their workflow, SLA timers, metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huarong_core import Actor, Huarong, load_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AssignRequest,
    ChangeRequestState,
    DefineService,
    FireDueTimers,
    GetPointsStatement,
    GetRequest,
    GetService,
    GetServiceMetrics,
    GetStation,
    ListMyRequests,
    ListRequestQueue,
    ListServices,
    ListStations,
    RateRequest,
    ReplyToRequest,
    ScheduleVisit,
    SubmitRequest,
)
from huarong_core.domain.services import (
    TRANSITIONS,
    Affair,
    EntryKind,
    FieldType,
    FormField,
    Party,
    Requester,
    RequestState,
    Service,
    ServiceRequest,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import (
    AlreadyExists,
    InvalidAnswer,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotTheRequester,
    PermissionDenied,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

S = RequestState
SHANGHAI = ZoneInfo("Asia/Shanghai")

SERVICE_STATION = """[[stations]]
key = "service"
name = { zh_CN = "服务站", en = "Service station" }
floor = 1
"""
assert SERVICE_STATION in SAMPLE_COMMUNITY

SERVICES_COMMUNITY = (
    SAMPLE_COMMUNITY.replace(
        SERVICE_STATION,
        SERVICE_STATION
        + 'hours = [{ days = "mon-fri", opens = "08:30", closes = "17:30" }]\nlead = "lead"\n',
    )
    + """
[[categories]]
key = "resident"
name = { zh_CN = "社区居民", en = "Resident" }

[[stations]]
key = "liaison"
name = { zh_CN = "社区联络站", en = "Community liaison station" }
hours = [{ days = "sat", opens = "09:00", closes = "12:00" }]

[[members]]
key = "bob"
name = "Bob"
categories = ["resident"]

[[members]]
key = "lead"
name = "Lead"

[[members]]
key = "staff2"
name = "Staff Two"

[[members]]
key = "liaison_staff"
name = "Liaison Staff"

[[roles]]
member = "lead"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "staff2"
role = "station_staff"
scope = "station:service"

[[roles]]
member = "liaison_staff"
role = "station_staff"
scope = "station:liaison"

[[points.rules]]
key = "rated"
name = "Rating a service"
trigger = "service.request_rated"
points = 5

[[services]]
key = "legal_aid"
station = "service"
name = { zh_CN = "法律援助", en = "Legal aid" }
affair = "legal"
open_to = ["organization"]
sla_hours = 10
form = [
  { key = "matter", label = { zh_CN = "事项", en = "Matter" } },
  { key = "phone", label = { zh_CN = "联系电话", en = "Phone" }, type = "phone" },
  { key = "kind", label = "类别", type = "choice", choices = ["合同", "劳动"], required = false },
]

[[services]]
key = "consult"
station = "service"
name = { zh_CN = "政策咨询", en = "Policy consulting" }
affair = "government"
sla_hours = 4

[[services]]
key = "certificate"
station = "liaison"
name = { zh_CN = "开具证明", en = "Certificates" }
affair = "community"
open_to = ["resident"]
sla_hours = 24
form = [
  { key = "purpose", label = { zh_CN = "用途", en = "Purpose" } },
  { key = "copies", label = { zh_CN = "份数", en = "Copies" }, type = "number", required = false },
  { key = "needed_by", label = "需要日期", type = "date", required = false },
]
"""
)

LEGAL_ANSWERS = {"matter": "劳动合同审查", "phone": "139 1234 5678"}


@pytest.fixture
async def hub(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=SERVICES_COMMUNITY, clock=clock) as pair:
        yield pair


@pytest.fixture
async def people(hub: Pair) -> dict[str, Actor]:
    _, handle = hub
    keys = ("admin", "staff", "staff2", "lead", "alice", "bob", "liaison_staff")
    return {key: await actor_for(handle, key) for key in keys}


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


async def outbox(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


async def submit(
    handle: CommunityHandle, actor: Actor, service: str = "legal_aid", **answers: str
) -> ServiceRequest:
    if service == "legal_aid" and not answers:
        answers = LEGAL_ANSWERS
    return await handle.execute(SubmitRequest(service, answers), actor=actor)


async def move(
    handle: CommunityHandle, actor: Actor, request: ServiceRequest, state: RequestState
) -> ServiceRequest:
    comment = "不符合条件" if state is S.REJECTED else ""
    return await handle.execute(ChangeRequestState(request.id, state, comment), actor=actor)


# --- stations and the catalogue ----------------------------------------------------------


async def test_stations_carry_hours_lead_and_staff(hub: Pair, people: dict[str, Actor]) -> None:
    _, handle = hub
    stations = await handle.execute(ListStations(), actor=people["alice"])
    assert [s.key for s in stations] == ["service", "liaison"]
    service = stations[0]
    assert service.lead == "lead"
    assert [h.as_dict() for h in service.hours] == [
        {"days": "mon-fri", "opens": "08:30", "closes": "17:30"}
    ]
    details = await handle.execute(GetStation("service"), actor=people["alice"])
    assert details.lead_id == mid(people["lead"])
    assert details.staff == tuple(sorted(mid(people[k]) for k in ("staff", "staff2", "lead")))
    assert [s.key for s in details.services] == ["consult", "legal_aid"]
    assert details.open_now  # the clock starts on Wednesday 1 July, 17:00 in Shanghai
    liaison = await handle.execute(GetStation("liaison"), actor=people["alice"])
    assert not liaison.open_now
    assert liaison.lead_id is None
    with pytest.raises(NotFound):
        await handle.execute(GetStation("nowhere"), actor=people["alice"])


async def test_the_catalogue_from_the_file(hub: Pair, people: dict[str, Actor]) -> None:
    _, handle = hub
    everything = await handle.execute(ListServices(), actor=people["alice"])
    assert [s.key for s in everything] == ["certificate", "consult", "legal_aid"]
    legal = await handle.execute(GetService("legal_aid"), actor=people["alice"])
    assert legal.affair is Affair.LEGAL
    assert legal.open_to == {Requester.ORGANIZATION}
    assert [(f.key, f.type, f.required) for f in legal.form] == [
        ("matter", FieldType.TEXT, True),
        ("phone", FieldType.PHONE, True),
        ("kind", FieldType.CHOICE, False),
    ]
    assert legal.form[2].choices == ("合同", "劳动")
    by_station = await handle.execute(ListServices(station="liaison"), actor=people["alice"])
    assert [s.key for s in by_station] == ["certificate"]
    by_affair = await handle.execute(ListServices(affair=Affair.GOVERNMENT), actor=people["bob"])
    assert [s.key for s in by_affair] == ["consult"]
    with pytest.raises(NotFound):
        await handle.execute(GetService("nothing"), actor=people["alice"])


async def test_define_service_needs_the_stations_permission(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    tax = Service(
        key="tax",
        station="service",
        name=LocalizedText({"zh_CN": "税务咨询", "en": "Tax consulting"}),
        affair=Affair.COMMERCIAL,
        sla_hours=24,
        open_to=frozenset({Requester.ORGANIZATION}),
        form=(FormField("phone", LocalizedText.plain("电话"), FieldType.PHONE),),
    )
    before = await snapshot(huarong.db)
    for actor in (people["alice"], people["liaison_staff"]):
        with pytest.raises(PermissionDenied):
            await handle.execute(DefineService(tax), actor=actor)
    with pytest.raises(NotFound):
        await handle.execute(DefineService(_moved(tax, "nowhere")), actor=people["admin"])
    assert await snapshot(huarong.db) == before

    assert await handle.execute(DefineService(tax), actor=people["staff"]) == tax
    assert await handle.execute(GetService("tax"), actor=people["bob"]) == tax
    # Moving it to another station takes the permission there too.
    with pytest.raises(PermissionDenied):
        await handle.execute(DefineService(_moved(tax, "liaison")), actor=people["staff"])
    disabled = Service(**{**_fields(tax), "enabled": False})
    await handle.execute(DefineService(disabled), actor=people["staff"])
    assert "tax" not in {s.key for s in await handle.execute(ListServices(), actor=people["bob"])}
    with pytest.raises(PermissionDenied):
        await handle.execute(ListServices(include_disabled=True), actor=people["bob"])
    listed = await handle.execute(ListServices(include_disabled=True), actor=people["staff"])
    assert "tax" in {s.key for s in listed}
    with pytest.raises(InvalidValue) as caught:
        await submit(handle, people["alice"], "tax", phone="13912345678")
    assert caught.value.reason == "service_disabled"


def _fields(service: Service) -> dict[str, Any]:
    return {
        "key": service.key,
        "station": service.station,
        "name": service.name,
        "affair": service.affair,
        "sla_hours": service.sla_hours,
        "open_to": service.open_to,
        "form": service.form,
        "description": service.description,
        "enabled": service.enabled,
    }


def _moved(service: Service, station: str) -> Service:
    return Service(**{**_fields(service), "station": station})


# --- submitting -------------------------------------------------------------------------


async def test_submit_checks_the_form_and_who_may_ask(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    before = await snapshot(huarong.db)
    bad = [
        ({"matter": "x"}, "phone", "required"),
        ({"matter": "x", "phone": "12345"}, "phone", "bad_phone"),
        ({"matter": "x", "phone": "13912345678", "kind": "刑事"}, "kind", "not_a_choice"),
        ({"matter": "", "phone": "13912345678"}, "matter", "required"),
        ({"matter": "x", "phone": "13912345678", "colour": "red"}, "colour", "unknown_field"),
    ]
    for answers, field, reason in bad:
        with pytest.raises(InvalidAnswer) as caught:
            await handle.execute(SubmitRequest("legal_aid", answers), actor=people["alice"])
        assert (caught.value.field, caught.value.reason) == (field, reason)
    # Who may ask: legal aid is for organizations, certificates for residents.
    with pytest.raises(InvalidValue) as refused:
        await submit(handle, people["bob"])
    assert (refused.value.field, refused.value.reason) == (
        "requester",
        "organization_member_required",
    )
    with pytest.raises(InvalidValue) as refused:
        await submit(handle, people["alice"], "certificate", purpose="入学")
    assert refused.value.reason == "resident_required"
    # Only staff of the station may submit for someone else.
    with pytest.raises(PermissionDenied):
        await handle.execute(
            SubmitRequest("legal_aid", LEGAL_ANSWERS, member_id=mid(people["alice"])),
            actor=people["liaison_staff"],
        )
    with pytest.raises(NotFound):
        await submit(handle, people["alice"], "nothing")
    assert await snapshot(huarong.db) == before

    request = await submit(handle, people["alice"])
    assert request.state is S.SUBMITTED
    assert request.answers == {"matter": "劳动合同审查", "phone": "13912345678"}
    assert request.organization_id is not None
    assert (request.station, request.affair, request.sla_hours) == ("service", Affair.LEGAL, 10)
    assert request.due_at == request.submitted_at + timedelta(hours=10)
    certificate = await submit(
        handle, people["bob"], "certificate", purpose="入学", copies="２", needed_by="2026/7/3"
    )
    assert certificate.answers == {"purpose": "入学", "copies": "2", "needed_by": "2026-07-03"}
    for_alice = await handle.execute(
        SubmitRequest("consult", {}, member_id=mid(people["alice"])), actor=people["staff"]
    )
    assert for_alice.requester_id == mid(people["alice"])

    submitted = await outbox(huarong, "service.request_submitted")
    assert submitted[0]["recipients"] == sorted(mid(people[k]) for k in ("staff", "staff2", "lead"))
    assert submitted[1]["recipients"] == [mid(people["liaison_staff"])]
    told = await outbox(huarong, "service.request_updated")
    assert [(e["request_id"], e["change"], e["recipients"]) for e in told] == [
        (request.id, "submitted", [mid(people["alice"])]),
        (certificate.id, "submitted", [mid(people["bob"])]),
        (for_alice.id, "submitted", [mid(people["alice"])]),
    ]


# --- the workflow -----------------------------------------------------------------------

PATHS: dict[RequestState, tuple[RequestState, ...]] = {
    S.SUBMITTED: (),
    S.ACCEPTED: (S.ACCEPTED,),
    S.IN_PROGRESS: (S.ACCEPTED, S.IN_PROGRESS),
    S.WAITING_FOR_REQUESTER: (S.ACCEPTED, S.IN_PROGRESS, S.WAITING_FOR_REQUESTER),
    S.RESOLVED: (S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED),
    S.CLOSED: (S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED),
    S.REJECTED: (S.REJECTED,),
    S.CANCELLED: (S.CANCELLED,),
}


async def request_in(
    handle: CommunityHandle, people: dict[str, Actor], state: RequestState
) -> ServiceRequest:
    """A fresh request of Alice's, walked to `state` by whoever may take each step."""
    request = await submit(handle, people["alice"])
    for step in PATHS[state]:
        parties = TRANSITIONS[(request.state, step)]
        actor = people["staff"] if Party.STAFF in parties else people["alice"]
        request = await move(handle, actor, request, step)
    assert request.state is state
    return request


async def test_every_legal_transition_works_for_each_party_allowed(
    hub: Pair, people: dict[str, Actor]
) -> None:
    _, handle = hub
    by_party = {Party.STAFF: people["staff"], Party.REQUESTER: people["alice"]}
    walked = 0
    for (current, wanted), parties in TRANSITIONS.items():
        for party in sorted(parties):
            request = await request_in(handle, people, current)
            moved = await move(handle, by_party[party], request, wanted)
            assert moved.state is wanted
            details = await handle.execute(GetRequest(request.id), actor=people["staff"])
            last = details.thread[-1]
            assert (last.kind, last.from_state, last.to_state) == (EntryKind.STATE, current, wanted)
            assert details.request == moved
            walked += 1
    assert walked == sum(len(p) for p in TRANSITIONS.values()) == 22


async def test_every_illegal_transition_is_refused_and_changes_nothing(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    requests = {state: await request_in(handle, people, state) for state in RequestState}
    before = await snapshot(huarong.db)
    refused = 0
    for current, request in requests.items():
        for wanted in RequestState:
            if (current, wanted) in TRANSITIONS:
                continue
            for actor in (people["staff"], people["alice"]):
                with pytest.raises(InvalidTransition) as caught:
                    await move(handle, actor, request, wanted)
                assert (caught.value.state, caught.value.wanted) == (current.value, wanted.value)
                refused += 1
    assert refused == 2 * (64 - 16)
    assert await snapshot(huarong.db) == before


async def test_each_step_needs_its_party(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    submitted = await request_in(handle, people, S.SUBMITTED)
    resolved = await request_in(handle, people, S.RESOLVED)
    before = await snapshot(huarong.db)
    # The requester cannot accept; staff of another station cannot either; nor a stranger.
    for actor in (people["alice"], people["liaison_staff"], people["bob"]):
        with pytest.raises(PermissionDenied):
            await move(handle, actor, submitted, S.ACCEPTED)
    # A stranger learns nothing about the state, even for an illegal step.
    with pytest.raises(PermissionDenied):
        await move(handle, people["bob"], submitted, S.CLOSED)
    # Only the requester reopens.
    with pytest.raises(NotTheRequester) as refused:
        await move(handle, people["staff"], resolved, S.IN_PROGRESS)
    assert refused.value.request == f"#{resolved.id}"
    # Rejecting needs a reason.
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(ChangeRequestState(submitted.id, S.REJECTED), actor=people["staff"])
    assert caught.value.reason == "reason_required"
    with pytest.raises(NotFound):
        await handle.execute(ChangeRequestState(999, S.ACCEPTED), actor=people["staff"])
    assert await snapshot(huarong.db) == before


async def test_reopening_is_counted_and_every_change_tells_the_requester(
    hub: Pair, clock: FrozenClock, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    alice, staff = people["alice"], people["staff"]
    request = await submit(handle, alice)
    accepted = await move(handle, staff, request, S.ACCEPTED)
    assert accepted.assignee_id == mid(staff)  # who accepts it takes it
    assert accepted.accepted_at == clock.now()
    await move(handle, staff, request, S.IN_PROGRESS)
    clock.advance(hours=2)
    first = await move(handle, staff, request, S.RESOLVED)
    assert first.first_resolved_at == first.resolved_at == clock.now()
    clock.advance(hours=1)
    reopened = await handle.execute(
        ChangeRequestState(request.id, S.IN_PROGRESS, "还缺一份材料"), actor=alice
    )
    assert reopened.reopen_count == 1
    clock.advance(hours=1)
    again = await move(handle, staff, request, S.RESOLVED)
    assert again.first_resolved_at == first.resolved_at
    assert again.resolved_at == clock.now()
    closed = await move(handle, alice, request, S.CLOSED)
    assert closed.closed_at == clock.now()

    told = [
        e for e in await outbox(huarong, "service.request_updated") if e["request_id"] == request.id
    ]
    assert [(e["change"], e["state"]) for e in told] == [
        ("submitted", "submitted"),
        ("state", "accepted"),
        ("state", "in_progress"),
        ("state", "resolved"),
        ("state", "in_progress"),
        ("state", "resolved"),
        ("state", "closed"),
    ]
    assert all(e["recipients"][0] == mid(alice) for e in told)
    # The reopen (the requester's own step) is news for the assignee too.
    assert told[4]["recipients"] == [mid(alice), mid(staff)]
    assert told[4]["text"] == "还缺一份材料"
    assigned = await outbox(huarong, "service.request_assigned")
    assert [(e["request_id"], e["assignee_id"]) for e in assigned] == [(request.id, mid(staff))]


# --- assignment, replies, notes, visits ---------------------------------------------------


async def test_assignment_goes_to_staff_of_the_station(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    request = await submit(handle, people["alice"])
    before = await snapshot(huarong.db)
    for assignee in ("alice", "liaison_staff"):
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(
                AssignRequest(request.id, mid(people[assignee])), actor=people["staff"]
            )
        assert caught.value.reason == "not_station_staff"
    for actor in (people["alice"], people["liaison_staff"]):
        with pytest.raises(PermissionDenied):
            await handle.execute(AssignRequest(request.id, mid(people["staff2"])), actor=actor)
    assert await snapshot(huarong.db) == before

    assigned = await handle.execute(
        AssignRequest(request.id, mid(people["staff2"])), actor=people["staff"]
    )
    assert assigned.assignee_id == mid(people["staff2"])
    # The admin holds every permission community-wide: assignable too.
    await handle.execute(AssignRequest(request.id, mid(people["admin"])), actor=people["staff"])
    unassigned = await handle.execute(AssignRequest(request.id, None), actor=people["staff"])
    assert unassigned.assignee_id is None
    events = await outbox(huarong, "service.request_assigned")
    assert [e["recipients"] for e in events] == [[mid(people["staff2"])], [mid(people["admin"])]]
    changes = [e["change"] for e in await outbox(huarong, "service.request_updated")]
    assert changes == ["submitted", "assigned", "assigned", "assigned"]

    cancelled = await move(handle, people["alice"], request, S.CANCELLED)
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(
            AssignRequest(cancelled.id, mid(people["staff"])), actor=people["staff"]
        )
    assert caught.value.reason == "request_finished"


async def test_replies_reach_the_requester_and_notes_never_do(
    hub: Pair, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    alice, staff = people["alice"], people["staff"]
    request = await submit(handle, alice)
    await move(handle, staff, request, S.ACCEPTED)
    await move(handle, staff, request, S.IN_PROGRESS)
    await handle.execute(ReplyToRequest(request.id, "请补充营业执照复印件"), actor=staff)
    await handle.execute(
        ReplyToRequest(request.id, "此企业去年有过类似纠纷", internal=True), actor=staff
    )
    await move(handle, staff, request, S.WAITING_FOR_REQUESTER)
    # The requester answers: the request is back in progress.
    await handle.execute(ReplyToRequest(request.id, "已上传"), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(ReplyToRequest(request.id, "secret", internal=True), actor=alice)
    assert caught.value.reason == "staff_only"
    with pytest.raises(InvalidValue):
        await handle.execute(ReplyToRequest(request.id, "   "), actor=staff)
    for stranger in (people["bob"], people["liaison_staff"]):
        with pytest.raises(PermissionDenied):
            await handle.execute(ReplyToRequest(request.id, "hi"), actor=stranger)
        with pytest.raises(PermissionDenied):
            await handle.execute(GetRequest(request.id), actor=stranger)
    assert await snapshot(huarong.db) == before

    as_staff = await handle.execute(GetRequest(request.id), actor=staff)
    as_requester = await handle.execute(GetRequest(request.id), actor=alice)
    assert as_staff.request.state is S.IN_PROGRESS
    assert [e.kind for e in as_staff.thread] == [
        EntryKind.SUBMITTED,
        EntryKind.STATE,
        EntryKind.STATE,
        EntryKind.REPLY,
        EntryKind.NOTE,
        EntryKind.STATE,
        EntryKind.MESSAGE,
        EntryKind.STATE,
    ]
    assert [e for e in as_staff.thread if e.kind is not EntryKind.NOTE] == list(as_requester.thread)
    assert "类似纠纷" not in repr(as_requester)
    assert as_requester.service.key == "legal_aid"

    told = await outbox(huarong, "service.request_updated")
    assert ("reply", "请补充营业执照复印件") in [(e["change"], e["text"]) for e in told]
    assert all("类似纠纷" not in json.dumps(e, ensure_ascii=False) for e in told)
    messages = await outbox(huarong, "service.request_message")
    assert [e["recipients"] for e in messages] == [[mid(staff)]]


async def test_visits_are_told_and_reminded(
    hub: Pair, clock: FrozenClock, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    alice, staff = people["alice"], people["staff"]
    request = await submit(handle, alice, "consult")
    await move(handle, staff, request, S.ACCEPTED)
    visit = datetime(2026, 7, 2, 10, tzinfo=SHANGHAI)
    before = await snapshot(huarong.db)
    for when, reason in (
        (clock.now() - timedelta(minutes=1), "in_the_past"),
        (clock.now() + timedelta(days=91), "too_far_ahead"),
        (datetime(2026, 7, 2, 10), "naive_time"),
    ):
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(ScheduleVisit(request.id, when), actor=staff)
        assert caught.value.reason == reason
    with pytest.raises(PermissionDenied):
        await handle.execute(ScheduleVisit(request.id, visit), actor=alice)
    assert await snapshot(huarong.db) == before

    # First planned for 09:00, then moved to 10:00: one reminder, for the later time.
    await handle.execute(ScheduleVisit(request.id, visit - timedelta(hours=1)), actor=staff)
    scheduled = await handle.execute(ScheduleVisit(request.id, visit, "带上公章"), actor=staff)
    assert scheduled.visit_at == visit
    told = [e for e in await outbox(huarong, "service.request_updated") if e["change"] == "visit"]
    assert told[-1]["visit_at"] == visit.isoformat()
    assert told[-1]["text"] == "带上公章"
    assert told[-1]["recipients"] == [mid(alice)]

    clock.set(visit - timedelta(hours=2, minutes=1))
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    assert await outbox(huarong, "service.visit_reminder") == []
    clock.set(visit - timedelta(hours=2))
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    reminders = await outbox(huarong, "service.visit_reminder")
    assert [(e["request_id"], e["recipients"]) for e in reminders] == [
        (request.id, [mid(alice), mid(staff)])
    ]


# --- SLA timers --------------------------------------------------------------------------


async def test_sla_warns_then_escalates_to_the_lead(
    hub: Pair, clock: FrozenClock, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    start = clock.now()
    late = await submit(handle, people["alice"])  # 10 h SLA: warning at 8 h, breach at 10 h
    early = await submit(handle, people["alice"])
    on_time = await submit(handle, people["alice"], "consult")  # 4 h: warning at 3h12m
    for request in (early, on_time):
        await move(handle, people["staff"], request, S.ACCEPTED)
        await move(handle, people["staff"], request, S.IN_PROGRESS)
    await move(handle, people["staff"], on_time, S.RESOLVED)
    await move(handle, people["alice"], early, S.CANCELLED)
    # Only the open request keeps its SLA timers; the resolved one waits to close itself.
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT key FROM timers WHERE status = 'pending' ORDER BY key")
    assert [r["key"] for r in rows] == [
        f"service_request:{late.id}:sla:breach",
        f"service_request:{late.id}:sla:warning",
        f"service_request:{on_time.id}:close",
    ]

    clock.set(start + timedelta(hours=8) - timedelta(seconds=1))
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    assert await outbox(huarong, "service.sla_warning") == []
    clock.set(start + timedelta(hours=8))
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    warnings = await outbox(huarong, "service.sla_warning")
    # Unassigned: the station's staff hear of it.
    staff_ids = sorted(mid(people[k]) for k in ("staff", "staff2", "lead"))
    assert [(e["request_id"], e["recipients"]) for e in warnings] == [(late.id, staff_ids)]

    clock.set(start + timedelta(hours=10))
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    breaches = await outbox(huarong, "service.sla_breached")
    assert [(e["request_id"], e["lead_id"], e["recipients"]) for e in breaches] == [
        (late.id, mid(people["lead"]), [mid(people["lead"])])
    ]
    details = await handle.execute(GetRequest(late.id), actor=people["staff"])
    assert details.request.sla_breached_at == clock.now()
    assert [e.kind for e in details.thread][-2:] == [EntryKind.SLA_WARNING, EntryKind.SLA_BREACH]
    mine = await handle.execute(GetRequest(late.id), actor=people["alice"])
    assert EntryKind.SLA_BREACH not in [e.kind for e in mine.thread]
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0


async def test_sla_timers_go_with_resolution_and_come_back_on_reopen(
    hub: Pair, clock: FrozenClock, people: dict[str, Actor]
) -> None:
    huarong, handle = hub
    alice, staff = people["alice"], people["staff"]
    start = clock.now()
    request = await submit(handle, alice)
    await move(handle, staff, request, S.ACCEPTED)
    await move(handle, staff, request, S.IN_PROGRESS)
    clock.advance(hours=1)
    await move(handle, staff, request, S.RESOLVED)
    clock.advance(hours=11)  # past the SLA: nothing fires for a resolved request
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    assert await outbox(huarong, "service.sla_warning") == []
    assert await outbox(huarong, "service.sla_breached") == []

    # Reopened after its due time: escalated at once; it went to staff, so the assignee hears.
    await move(handle, alice, request, S.IN_PROGRESS)
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    breaches = await outbox(huarong, "service.sla_breached")
    assert [e["request_id"] for e in breaches] == [request.id]
    assert await outbox(huarong, "service.sla_warning") == []
    assert clock.now() - start == timedelta(hours=12)

    # Resolved again and left alone: it closes itself after a week.
    await move(handle, staff, request, S.RESOLVED)
    clock.advance(days=7)
    await handle.execute(FireDueTimers(), actor=SYSTEM)
    details = await handle.execute(GetRequest(request.id), actor=alice)
    assert details.request.state is S.CLOSED
    assert details.thread[-1].author == "system:scheduler"


# --- rating ------------------------------------------------------------------------------


async def test_rating_once_resolved_earns_points_once(hub: Pair, people: dict[str, Actor]) -> None:
    huarong, handle = hub
    alice, staff = people["alice"], people["staff"]
    request = await request_in(handle, people, S.IN_PROGRESS)
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(RateRequest(request.id, 5), actor=alice)
    assert caught.value.reason == "not_resolved"
    assert await snapshot(huarong.db) == before

    await move(handle, staff, request, S.RESOLVED)
    before = await snapshot(huarong.db)
    for rating in (0, 6):
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(RateRequest(request.id, rating), actor=alice)
        assert caught.value.reason == "bad_rating"
    with pytest.raises(NotTheRequester):
        await handle.execute(RateRequest(request.id, 5), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(RateRequest(request.id, 5), actor=people["bob"])
    assert await snapshot(huarong.db) == before

    rated = await handle.execute(RateRequest(request.id, 5, "一次办妥，很满意"), actor=alice)
    assert (rated.rating, rated.rating_comment) == (5, "一次办妥，很满意")
    with pytest.raises(AlreadyExists):
        await handle.execute(RateRequest(request.id, 4), actor=alice)
    statement = await handle.execute(GetPointsStatement(mid(alice)), actor=SYSTEM)
    assert statement.balance == 5
    assert [e.source_id for e in statement.entries] == [f"request:{request.id}:rated"]
    events = await outbox(huarong, "service.rated")
    assert [(e["request_id"], e["rating"], e["recipients"]) for e in events] == [
        (request.id, 5, [mid(staff)])
    ]
    # Still rateable once closed? It is rated already; closing keeps the rating.
    closed = await move(handle, alice, rated, S.CLOSED)
    assert closed.rating == 5


# --- queues ------------------------------------------------------------------------------


async def test_queues_and_own_requests(hub: Pair, people: dict[str, Actor]) -> None:
    _, handle = hub
    one = await submit(handle, people["alice"])
    two = await submit(handle, people["alice"], "consult")
    three = await submit(handle, people["bob"], "certificate", purpose="低保")
    await move(handle, people["staff"], two, S.ACCEPTED)

    queue = await handle.execute(ListRequestQueue(), actor=people["staff2"])
    assert [r.id for r in queue.items] == [one.id, two.id]
    liaison = await handle.execute(ListRequestQueue(), actor=people["liaison_staff"])
    assert [r.id for r in liaison.items] == [three.id]
    everything = await handle.execute(ListRequestQueue(), actor=people["admin"])
    assert everything.total == 3
    submitted = await handle.execute(
        ListRequestQueue(station="service", state=S.SUBMITTED), actor=people["staff"]
    )
    assert [r.id for r in submitted.items] == [one.id]
    theirs = await handle.execute(
        ListRequestQueue(assignee_id=mid(people["staff"])), actor=people["staff"]
    )
    assert [r.id for r in theirs.items] == [two.id]
    nobodys = await handle.execute(ListRequestQueue(unassigned=True), actor=people["staff"])
    assert [r.id for r in nobodys.items] == [one.id]
    paged = await handle.execute(ListRequestQueue(limit=1, offset=1), actor=people["staff"])
    assert ([r.id for r in paged.items], paged.total, paged.has_more) == ([two.id], 2, False)
    for actor, station in ((people["liaison_staff"], "service"), (people["alice"], None)):
        with pytest.raises(PermissionDenied):
            await handle.execute(ListRequestQueue(station=station), actor=actor)

    mine = await handle.execute(ListMyRequests(), actor=people["alice"])
    assert [r.id for r in mine.items] == [one.id, two.id]
    accepted = await handle.execute(ListMyRequests(state=S.ACCEPTED), actor=people["alice"])
    assert [r.id for r in accepted.items] == [two.id]
    bobs = await handle.execute(ListMyRequests(mid(people["bob"])), actor=people["liaison_staff"])
    assert [r.id for r in bobs.items] == [three.id]
    seen_by_other_station = await handle.execute(
        ListMyRequests(mid(people["bob"])), actor=people["staff"]
    )
    assert seen_by_other_station.items == ()
    with pytest.raises(PermissionDenied):
        await handle.execute(ListMyRequests(mid(people["bob"])), actor=people["alice"])


# --- metrics -----------------------------------------------------------------------------


def at(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def test_metrics_for_a_seeded_period_match_hand_computed_values(
    hub: Pair, clock: FrozenClock, people: dict[str, Actor]
) -> None:
    """Seven requests in July (local time), one just before and one just after.

    legal_aid (service, legal, 10 h SLA), all Alice's:
      A  1 Jul 09:00, resolved 15:00 (6 h, met), rated 5, closed by Alice
      B  2 Jul 09:00, resolved 3 Jul 09:00 (24 h, late), rated 2
      C  3 Jul 09:00, resolved 11:00, reopened 12:00, resolved 13:00 (4 h, met), rated 4
      D  4 Jul 09:00, rejected
      E  31 Jul 23:30, still submitted (the last half hour of the period)
    consult (service, government, 4 h SLA):
      F  5 Jul 09:00, resolved 12:00 (3 h, met)
    certificate (liaison, community, 24 h SLA), Bob's:
      G  6 Jul 09:00, resolved 7 Jul 10:00 (25 h, late), rated 3
    outside: 30 Jun 23:59 and 1 Aug 00:00 local.
    """
    _, handle = hub
    alice, bob, staff, liaison = (
        people["alice"],
        people["bob"],
        people["staff"],
        people["liaison_staff"],
    )

    async def resolve(request: ServiceRequest, actor: Actor, when: datetime) -> ServiceRequest:
        await move(handle, actor, request, S.ACCEPTED)
        await move(handle, actor, request, S.IN_PROGRESS)
        clock.set(when)
        return await move(handle, actor, request, S.RESOLVED)

    clock.set(at(30, 23, 59, month=6))
    await submit(handle, alice)
    clock.set(at(1, 9))
    a = await submit(handle, alice)
    await resolve(a, staff, at(1, 15))
    await handle.execute(RateRequest(a.id, 5), actor=alice)
    await move(handle, alice, a, S.CLOSED)
    clock.set(at(2, 9))
    b = await submit(handle, alice)
    await resolve(b, staff, at(3, 9))
    await handle.execute(RateRequest(b.id, 2), actor=alice)
    c = await submit(handle, alice)
    await resolve(c, staff, at(3, 11))
    clock.set(at(3, 12))
    await move(handle, alice, c, S.IN_PROGRESS)
    clock.set(at(3, 13))
    await move(handle, staff, c, S.RESOLVED)
    await handle.execute(RateRequest(c.id, 4), actor=alice)
    clock.set(at(4, 9))
    d = await submit(handle, alice)
    await move(handle, staff, d, S.REJECTED)
    clock.set(at(5, 9))
    f = await submit(handle, alice, "consult")
    await resolve(f, staff, at(5, 12))
    clock.set(at(6, 9))
    g = await submit(handle, bob, "certificate", purpose="入学")
    await resolve(g, liaison, at(7, 10))
    await handle.execute(RateRequest(g.id, 3), actor=bob)
    clock.set(at(31, 23, 30))
    e = await submit(handle, alice)
    clock.set(at(1, 0, month=8))
    await submit(handle, alice)

    report = await handle.execute(
        GetServiceMetrics(date(2026, 7, 1), date(2026, 8, 1)), actor=people["admin"]
    )
    total = report.total
    assert total.requests == 7
    assert {k: v for k, v in total.by_state.items() if v} == {
        S.CLOSED: 1,
        S.RESOLVED: 4,
        S.REJECTED: 1,
        S.SUBMITTED: 1,
    }
    assert (total.resolved, total.sla_met) == (5, 3)  # A, C, F met; B, G late
    assert total.sla_met_rate == 0.6
    assert total.median_time_to_resolve == timedelta(hours=6)  # 3, 4, 6, 24, 25
    assert (total.ever_resolved, total.reopened) == (5, 1)
    assert total.reopen_rate == 0.2
    assert total.done_once_rate == 0.8
    assert total.rated == 4
    assert total.average_rating == 3.5  # (5 + 2 + 4 + 3) / 4

    rows = {(r.station, r.affair): r for r in report.rows}
    assert list(rows) == [
        ("liaison", Affair.COMMUNITY),
        ("service", Affair.GOVERNMENT),
        ("service", Affair.LEGAL),
    ]
    legal = rows[("service", Affair.LEGAL)]
    assert legal.requests == 5  # A, B, C, D, E
    assert (legal.resolved, legal.sla_met, legal.sla_met_rate) == (3, 2, round(2 / 3, 4))
    assert legal.median_time_to_resolve == timedelta(hours=6)  # 4, 6, 24
    assert (legal.reopen_rate, legal.done_once_rate) == (round(1 / 3, 4), round(2 / 3, 4))
    assert legal.average_rating == round(11 / 3, 4)
    government = rows[("service", Affair.GOVERNMENT)]
    assert (government.requests, government.sla_met_rate) == (1, 1.0)
    assert government.median_time_to_resolve == timedelta(hours=3)
    assert government.average_rating is None
    community = rows[("liaison", Affair.COMMUNITY)]
    assert (community.sla_met_rate, community.average_rating) == (0.0, 3.0)
    assert community.median_time_to_resolve == timedelta(hours=25)

    # One station, one affair, one week.
    liaison_only = await handle.execute(
        GetServiceMetrics(date(2026, 7, 1), date(2026, 8, 1), station="liaison"), actor=liaison
    )
    assert liaison_only.total.requests == 1
    assert [r.station for r in liaison_only.rows] == ["liaison"]
    legal_only = await handle.execute(
        GetServiceMetrics(date(2026, 7, 1), date(2026, 8, 1), affair=Affair.LEGAL),
        actor=people["admin"],
    )
    assert legal_only.total.requests == 5
    first_week = await handle.execute(
        GetServiceMetrics(date(2026, 7, 1), date(2026, 7, 4)), actor=people["admin"]
    )
    assert first_week.total.requests == 3  # A, B, C
    assert e.submitted_at == at(31, 23, 30).astimezone(UTC)

    with pytest.raises(PermissionDenied):
        await handle.execute(
            GetServiceMetrics(date(2026, 7, 1), date(2026, 8, 1), station="service"),
            actor=liaison,
        )
    with pytest.raises(PermissionDenied):
        await handle.execute(GetServiceMetrics(date(2026, 7, 1), date(2026, 8, 1)), actor=alice)
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(
            GetServiceMetrics(date(2026, 8, 1), date(2026, 7, 1)), actor=people["admin"]
        )
    assert caught.value.reason == "ends_before_start"


# --- the shipped example -------------------------------------------------------------------


async def test_the_example_building_offers_its_services(
    database_url: str, clock: FrozenClock, examples_dir: Path
) -> None:
    text = (examples_dir / "community.toml").read_text(encoding="utf-8")
    config = load_config(examples_dir / "community.toml")
    assert all(s.hours and s.lead for s in config.stations)
    enterprise = [s for s in config.services if s.station == "enterprise"]
    liaison = [s for s in config.services if s.station == "community_liaison"]
    assert len(enterprise) >= 20
    assert len(liaison) >= 10
    assert {s.affair for s in config.services} == {a.value for a in Affair}
    async with open_test_community(database_url, config=text, clock=clock) as (huarong, handle):
        listed = await handle.execute(ListServices(), actor=SYSTEM)
        assert len(listed) == len(config.services)
        before = await snapshot(huarong.db)
        clock.advance(hours=1)
        report = await huarong.apply_configuration(config, actor=SYSTEM, source="again")
        assert report.changes == 0
        assert report.unchanged["services"] == len(config.services)
        assert await snapshot(huarong.db) == before
        details = await handle.execute(GetStation("enterprise"), actor=SYSTEM)
        assert details.lead_id is not None
