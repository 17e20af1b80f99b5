"""The pure rules of service stations: forms and answers, opening hours, the workflow, metrics."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from huarong_core.config import parse_config
from huarong_core.config_services import service_from
from huarong_core.domain.communities import OpeningHours, Station, days_text, parse_days
from huarong_core.domain.services import (
    TRANSITIONS,
    Affair,
    FieldType,
    FormField,
    Party,
    Requester,
    RequestState,
    Service,
    ServiceRequest,
    check_answers,
    clean_phone,
    compute_metrics,
    metrics_by_group,
    sla_warning_at,
    step_parties,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import ConfigError, InvalidAnswer, InvalidTransition, InvalidValue
from huarong_core.i18n import render_error

S = RequestState
LABEL = LocalizedText({"zh_CN": "联系电话", "en": "Phone"})
FORM = (
    FormField("company", LocalizedText({"zh_CN": "企业名称", "en": "Company"})),
    FormField("phone", LABEL, FieldType.PHONE),
    FormField("staff", LocalizedText.plain("人数"), FieldType.NUMBER, required=False),
    FormField("day", LocalizedText.plain("日期"), FieldType.DATE, required=False),
    FormField(
        "kind",
        LocalizedText.plain("类别"),
        FieldType.CHOICE,
        required=False,
        choices=("合同", "劳动"),
    ),
)


# --- answers ---------------------------------------------------------------------


def test_answers_are_cleaned() -> None:
    cleaned = check_answers(
        FORM,
        {
            "company": "  新华保险 ",
            "phone": "+86 139 1234 5678",
            "staff": "１,200.50",
            "day": "2026/7/1",
            "kind": "劳动",
        },
        "zh_CN",
    )
    assert cleaned == {
        "company": "新华保险",
        "phone": "13912345678",
        "staff": "1200.5",
        "day": "2026-07-01",
        "kind": "劳动",
    }


def test_empty_optional_answers_are_left_out() -> None:
    assert check_answers(FORM, {"company": "A", "phone": "0391-1234567", "staff": " "}, "en") == {
        "company": "A",
        "phone": "0391-1234567",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13912345678", "13912345678"),
        ("139-1234-5678", "13912345678"),
        ("+8613912345678", "13912345678"),
        ("0086 139 1234 5678", "13912345678"),
        ("0391-1234567", "0391-1234567"),
        ("0391 1234567", "0391-1234567"),
        ("010-12345678", "010-12345678"),
        ("03911234567", "03911234567"),
        ("１３９１２３４５６７８", "13912345678"),
    ],
)
def test_phones_that_pass(text: str, expected: str) -> None:
    assert clean_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12912345678",
        "1391234567",
        "139123456789",
        "391-1234567",
        "0391-123456",
        "phone",
        "",
        "+1 555",
    ],
)
def test_phones_that_fail(text: str) -> None:
    assert clean_phone(text) is None


@pytest.mark.parametrize(
    ("answers", "field", "reason"),
    [
        ({"phone": "13912345678"}, "company", "required"),
        ({"company": "   ", "phone": "13912345678"}, "company", "required"),
        ({"company": "A"}, "phone", "required"),
        ({"company": "A", "phone": "12345"}, "phone", "bad_phone"),
        ({"company": "A", "phone": "13912345678", "staff": "many"}, "staff", "not_a_number"),
        ({"company": "A", "phone": "13912345678", "staff": "NaN"}, "staff", "not_a_number"),
        ({"company": "A", "phone": "13912345678", "day": "2026-02-30"}, "day", "bad_date"),
        ({"company": "A", "phone": "13912345678", "day": "tomorrow"}, "day", "bad_date"),
        ({"company": "A", "phone": "13912345678", "kind": "刑事"}, "kind", "not_a_choice"),
        ({"company": "A", "phone": "13912345678", "colour": "red"}, "colour", "unknown_field"),
        ({"company": "A\x00", "phone": "13912345678"}, "company", "control_characters"),
        ({"company": "A" * 2001, "phone": "13912345678"}, "company", "too_long"),
    ],
)
def test_bad_answers_name_the_field(answers: dict[str, str], field: str, reason: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        check_answers(FORM, answers, "en")
    assert (caught.value.field, caught.value.reason) == (field, reason)
    assert isinstance(caught.value, InvalidValue)


def test_the_error_names_the_field_by_its_label_in_the_requesters_language() -> None:
    answers = {"company": "A", "phone": "12345"}
    for locale, label in (("zh_CN", "联系电话"), ("en", "Phone")):
        with pytest.raises(InvalidAnswer) as caught:
            check_answers(FORM, answers, locale)
        assert caught.value.label == label
        text = render_error(caught.value, locale)
        assert label in text
        assert "12345" in text
        assert "reason." not in text


# --- form and service definitions ------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field", "reason"),
    [
        (lambda: FormField("Bad Key", LABEL), "form", "bad_key"),
        (lambda: FormField("k", LABEL, FieldType.CHOICE), "choices", "no_choices"),
        (
            lambda: FormField("k", LABEL, FieldType.CHOICE, choices=("a", "a")),
            "choices",
            "duplicate_choice",
        ),
        (lambda: FormField("k", LABEL, FieldType.CHOICE, choices=(" ",)), "choices", "bad_choice"),
        (
            lambda: FormField("k", LABEL, FieldType.TEXT, choices=("a",)),
            "choices",
            "choices_need_choice",
        ),
        (lambda: _service(sla_hours=0), "sla_hours", "out_of_range"),
        (lambda: _service(sla_hours=24 * 91), "sla_hours", "out_of_range"),
        (lambda: _service(open_to=frozenset()), "open_to", "empty"),
        (
            lambda: _service(form=(FormField("a", LABEL), FormField("a", LABEL))),
            "form",
            "duplicate_field",
        ),
        (
            lambda: _service(form=tuple(FormField(f"f{i}", LABEL) for i in range(21))),
            "form",
            "too_many",
        ),
        (lambda: _service(station="No Station"), "station", "bad_key"),
    ],
)
def test_bad_definitions_are_refused(build: object, field: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        build()  # type: ignore[operator]
    assert (caught.value.field, caught.value.reason) == (field, reason)


def _service(**changes: object) -> Service:
    values: dict[str, object] = {
        "key": "legal_aid",
        "station": "enterprise",
        "name": LocalizedText({"zh_CN": "法律援助", "en": "Legal aid"}),
        "affair": Affair.LEGAL,
        "sla_hours": 48,
        "form": FORM,
    }
    values.update(changes)
    return Service(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("open_to", "organization", "categories", "reason"),
    [
        ({Requester.MEMBER}, None, (), None),
        ({Requester.ORGANIZATION}, 3, (), None),
        ({Requester.ORGANIZATION}, None, ("resident",), "organization_member_required"),
        ({Requester.RESIDENT}, None, ("resident",), None),
        ({Requester.RESIDENT}, 3, ("employee",), "resident_required"),
        ({Requester.ORGANIZATION, Requester.RESIDENT}, None, ("resident",), None),
        ({Requester.ORGANIZATION, Requester.RESIDENT}, 3, (), None),
        (
            {Requester.ORGANIZATION, Requester.RESIDENT},
            None,
            (),
            "organization_or_resident_required",
        ),
    ],
)
def test_who_may_ask(
    open_to: set[Requester],
    organization: int | None,
    categories: tuple[str, ...],
    reason: str | None,
) -> None:
    service = _service(open_to=frozenset(open_to))
    assert service.refusal(organization_id=organization, categories=categories) == reason


def test_config_entries_become_services_and_report_bad_values() -> None:
    base = """
[community]
key = "t"
name = "T"

[[stations]]
key = "enterprise"
name = "E"
hours = [{ days = "mon-fri", opens = "08:30", closes = "17:30" }]
lead = "desk"
"""
    good = (
        base
        + """
[[services]]
key = "legal_aid"
station = "enterprise"
name = "Legal aid"
affair = "legal"
open_to = ["organization", "resident"]
sla_hours = 48
form = [{ key = "phone", label = "电话", type = "phone" }]
"""
    )
    config = parse_config(good)
    service = service_from(config.services[0])
    assert service.open_to == {Requester.ORGANIZATION, Requester.RESIDENT}
    assert service.form[0].type is FieldType.PHONE
    assert config.stations[0].lead == "desk"

    bad = (
        base.replace('closes = "17:30"', 'closes = "07:00"')
        + good[len(base) :]
        .replace('"legal"', '"civil"')
        .replace('type = "phone"', 'type = "colour"')
        + good[len(base) :]
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    found = {
        (p.where, p.key, p.params.get("reason", p.params.get("value")))
        for p in caught.value.problems
    }
    assert found == {
        ("stations[0].hours[0]", "error.invalid_value", "ends_before_start"),
        ("services[0]", "error.invalid_value", "bad_affair"),
        ("services", "config.duplicate", "legal_aid"),
    }


# --- opening hours -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "canonical"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}, "mon-fri"),
        ("Sat,Sun", {5, 6}, "sat,sun"),
        ("mon-wed, fri", {0, 1, 2, 4}, "mon-wed,fri"),
        ("fri-mon", {4, 5, 6, 0}, "mon,fri-sun"),
        ("daily", set(range(7)), "daily"),
        ("sun", {6}, "sun"),
    ],
)
def test_days(text: str, days: set[int], canonical: str) -> None:
    assert parse_days("days", text) == days
    assert days_text(frozenset(days)) == canonical
    assert parse_days("days", canonical) == days


@pytest.mark.parametrize(
    ("days", "opens", "closes", "field", "reason"),
    [
        ("monday", "08:30", "17:30", "days", "bad_days"),
        ("mon-", "08:30", "17:30", "days", "bad_days"),
        ("", "08:30", "17:30", "days", "bad_days"),
        ("mon", "8:30", "17:30", "opens", "bad_time"),
        ("mon", "08:30", "24:00", "closes", "bad_time"),
        ("mon", "17:30", "08:30", "closes", "ends_before_start"),
        ("mon", "08:30", "08:30", "closes", "ends_before_start"),
    ],
)
def test_bad_hours(days: str, opens: str, closes: str, field: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        OpeningHours.parse(days, opens, closes)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_a_station_is_open_by_its_hours_in_local_time() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    station = Station(
        "enterprise",
        LocalizedText.plain("E"),
        hours=(
            OpeningHours.parse("mon-fri", "08:30", "12:00"),
            OpeningHours.parse("mon-fri", "14:00", "17:30"),
            OpeningHours.parse("sat", "09:00", "11:00"),
        ),
    )
    monday = datetime(2026, 7, 6, tzinfo=shanghai)  # a Monday
    assert station.is_open(monday.replace(hour=8, minute=30), shanghai)
    assert not station.is_open(monday.replace(hour=12), shanghai)
    assert station.is_open(monday.replace(hour=17, minute=29), shanghai)
    assert not station.is_open(monday.replace(hour=17, minute=30), shanghai)
    assert station.is_open((monday + timedelta(days=5)).replace(hour=10), shanghai)
    assert not station.is_open((monday + timedelta(days=6)).replace(hour=10), shanghai)
    # 01:00 UTC on Monday is 09:00 in Shanghai.
    assert station.is_open(datetime(2026, 7, 6, 1, tzinfo=UTC), shanghai)
    assert not Station("x", LocalizedText.plain("X")).is_open(monday, shanghai)
    assert OpeningHours.parse("mon-fri", "08:30", "17:30").as_dict() == {
        "days": "mon-fri",
        "opens": "08:30",
        "closes": "17:30",
    }
    assert OpeningHours.parse("sat", "09:00", "11:00").opens == time(9)


# --- the workflow ---------------------------------------------------------------------

LEGAL = {
    (S.SUBMITTED, S.ACCEPTED): {Party.STAFF},
    (S.SUBMITTED, S.REJECTED): {Party.STAFF},
    (S.SUBMITTED, S.CANCELLED): {Party.STAFF, Party.REQUESTER},
    (S.ACCEPTED, S.IN_PROGRESS): {Party.STAFF},
    (S.ACCEPTED, S.REJECTED): {Party.STAFF},
    (S.ACCEPTED, S.CANCELLED): {Party.STAFF, Party.REQUESTER},
    (S.IN_PROGRESS, S.WAITING_FOR_REQUESTER): {Party.STAFF},
    (S.IN_PROGRESS, S.RESOLVED): {Party.STAFF},
    (S.IN_PROGRESS, S.REJECTED): {Party.STAFF},
    (S.IN_PROGRESS, S.CANCELLED): {Party.STAFF, Party.REQUESTER},
    (S.WAITING_FOR_REQUESTER, S.IN_PROGRESS): {Party.STAFF, Party.REQUESTER},
    (S.WAITING_FOR_REQUESTER, S.RESOLVED): {Party.STAFF},
    (S.WAITING_FOR_REQUESTER, S.REJECTED): {Party.STAFF},
    (S.WAITING_FOR_REQUESTER, S.CANCELLED): {Party.STAFF, Party.REQUESTER},
    (S.RESOLVED, S.CLOSED): {Party.STAFF, Party.REQUESTER},
    (S.RESOLVED, S.IN_PROGRESS): {Party.REQUESTER},
}


def test_the_table_is_exactly_the_documented_workflow() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == LEGAL


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(RequestState, repeat=2)))
def test_every_pair_of_states(current: RequestState, wanted: RequestState) -> None:
    if (current, wanted) in LEGAL:
        assert step_parties("#1", current, wanted) == LEGAL[(current, wanted)]
        return
    with pytest.raises(InvalidTransition) as caught:
        step_parties("#1", current, wanted)
    error = caught.value
    assert (error.entity, error.ref, error.state, error.wanted) == (
        "service_request",
        "#1",
        current.value,
        wanted.value,
    )


def test_final_states_lead_nowhere_and_every_state_is_reachable() -> None:
    for final in (S.CLOSED, S.REJECTED, S.CANCELLED):
        assert not [pair for pair in TRANSITIONS if pair[0] is final]
    reachable = {S.SUBMITTED}
    for _ in RequestState:
        reachable |= {to for (frm, to) in TRANSITIONS if frm in reachable}
    assert reachable == set(RequestState)


def test_the_sla_warning_comes_at_eighty_percent() -> None:
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    assert sla_warning_at(start, 10) == start + timedelta(hours=8)
    assert sla_warning_at(start, 1) == start + timedelta(minutes=48)


# --- metrics ---------------------------------------------------------------------------

T0 = datetime(2026, 7, 1, 1, tzinfo=UTC)


def _request(
    n: int,
    state: RequestState,
    *,
    hours: float | None = None,
    reopened: int = 0,
    rating: int | None = None,
    station: str = "enterprise",
    affair: Affair = Affair.LEGAL,
    first_hours: float | None = None,
) -> ServiceRequest:
    resolved = None if hours is None else T0 + timedelta(hours=hours)
    first = resolved if first_hours is None else T0 + timedelta(hours=first_hours)
    return ServiceRequest(
        id=n,
        service_key="legal_aid",
        station=station,
        affair=affair,
        requester_id=1,
        organization_id=None,
        answers={},
        state=state,
        sla_hours=24,
        due_at=T0 + timedelta(hours=24),
        submitted_at=T0,
        updated_at=T0,
        first_resolved_at=first,
        resolved_at=resolved,
        reopen_count=reopened,
        rating=rating,
    )


def test_metrics_by_hand() -> None:
    requests = [
        _request(1, S.RESOLVED, hours=10, rating=5),
        _request(2, S.CLOSED, hours=30, rating=2),
        _request(3, S.CLOSED, hours=20, reopened=1, first_hours=5, rating=4),
        _request(4, S.IN_PROGRESS, hours=6, reopened=1),  # reopened, not resolved again yet
        _request(5, S.SUBMITTED),
        _request(6, S.REJECTED),
    ]
    metrics = compute_metrics(requests)
    assert metrics.requests == 6
    assert metrics.by_state[S.RESOLVED] == 1
    assert metrics.by_state[S.CLOSED] == 2
    assert metrics.by_state[S.CANCELLED] == 0
    assert sum(metrics.by_state.values()) == 6
    assert metrics.resolved == 3
    assert metrics.sla_met == 2  # 10 h and 20 h within 24 h; 30 h is late
    assert metrics.sla_met_rate == round(2 / 3, 4)
    assert metrics.median_time_to_resolve == timedelta(hours=20)
    assert metrics.ever_resolved == 4
    assert metrics.reopened == 2
    assert metrics.reopen_rate == 0.5
    assert metrics.done_once_rate == 0.5
    assert metrics.rated == 3
    assert metrics.average_rating == round(11 / 3, 4)


def test_metrics_of_nothing_have_no_rates() -> None:
    metrics = compute_metrics([])
    assert metrics.requests == 0
    assert metrics.sla_met_rate is None
    assert metrics.median_time_to_resolve is None
    assert metrics.reopen_rate is None
    assert metrics.done_once_rate is None
    assert metrics.average_rating is None


def test_metrics_by_station_and_affair_with_an_even_median() -> None:
    requests = [
        _request(1, S.RESOLVED, hours=2),
        _request(2, S.RESOLVED, hours=5),
        _request(3, S.RESOLVED, hours=1, station="community_liaison", affair=Affair.COMMUNITY),
        _request(4, S.SUBMITTED, affair=Affair.COMMERCIAL),
    ]
    rows = metrics_by_group(requests)
    assert [(r.station, r.affair, r.requests) for r in rows] == [
        ("community_liaison", Affair.COMMUNITY, 1),
        ("enterprise", Affair.COMMERCIAL, 1),
        ("enterprise", Affair.LEGAL, 2),
    ]
    assert rows[2].median_time_to_resolve == timedelta(hours=3, minutes=30)
    assert rows[1].resolved == 0
