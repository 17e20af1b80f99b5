"""The service catalogue and service requests: the pure rules.

A station offers services, each belonging to one of the **five affairs**
(party, government, community, commercial, legal), open to some kinds of
requester, asking a small typed form and promising an SLA in hours. A
request moves through a fixed workflow; `TRANSITIONS` is the whole of it,
and who may take each step (staff of the station, the requester) is part of
the table. Metrics over a set of requests are computed here too, so they
can be checked by hand without a database.
"""

from __future__ import annotations

import enum
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import BIDI_CONTROLS, require_key
from huarong_core.errors import InvalidAnswer, InvalidTransition, InvalidValue

MAX_FORM_FIELDS = 20
MAX_CHOICES = 30
MAX_CHOICE_LENGTH = 60
MAX_ANSWER_LENGTH = 2000
MAX_SLA_HOURS = 24 * 90
MAX_TEXT_LENGTH = 4000
"""Replies, notes and comments."""
RESIDENT_CATEGORY = "resident"
"""The member category whose members count as residents of the neighbourhood."""
SLA_WARNING_SHARE = Decimal("0.8")
"""The SLA warning fires when this share of the target has passed."""


class Affair(enum.StrEnum):
    """The five affairs (五务) every service belongs to."""

    PARTY = "party"
    GOVERNMENT = "government"
    COMMUNITY = "community"
    COMMERCIAL = "commercial"
    LEGAL = "legal"


class Requester(enum.StrEnum):
    """Who may ask for a service."""

    MEMBER = "member"
    """Any active member."""
    ORGANIZATION = "organization"
    """A member of a tenant organization, acting for it."""
    RESIDENT = "resident"
    """A member of the `resident` category."""


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    PHONE = "phone"


# --- forms -----------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}\Z")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}\Z")
_PHONE_PREFIX = re.compile(r"^(?:\+86|0086)[\s-]*")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\Z")


def _has_control(text: str) -> bool:
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in BIDI_CONTROLS
        for ch in text
    )


def clean_phone(text: str) -> str | None:
    """A mainland mobile (`13912345678`) or a landline with its area code (`0391-1234567`).

    Spaces and dashes inside a mobile number and a `+86` prefix are dropped;
    a landline keeps one dash between area code and number. `None`: not a phone.
    """
    value = _PHONE_PREFIX.sub("", unicodedata.normalize("NFKC", text).strip())
    digits = re.sub(r"[\s-]", "", value)
    if _MOBILE.match(digits):
        return digits
    grouped = re.sub(r"[\s-]+", "-", value)
    if _LANDLINE.match(grouped):
        return grouped
    return None


@attrs.frozen
class FormField:
    """One question of a service's form."""

    key: str
    label: LocalizedText
    type: FieldType = FieldType.TEXT
    required: bool = True
    choices: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        require_key("form", self.key)
        if self.type is FieldType.CHOICE:
            if not self.choices:
                raise InvalidValue(field="choices", value=self.key, reason="no_choices")
            if len(self.choices) > MAX_CHOICES:
                raise InvalidValue(field="choices", value=self.key, reason="too_many")
            for choice in self.choices:
                if not choice.strip() or len(choice) > MAX_CHOICE_LENGTH or _has_control(choice):
                    raise InvalidValue(field="choices", value=choice, reason="bad_choice")
            if len(set(self.choices)) != len(self.choices):
                raise InvalidValue(field="choices", value=self.key, reason="duplicate_choice")
        elif self.choices:
            raise InvalidValue(field="choices", value=self.key, reason="choices_need_choice")

    def refusal(self, value: str, reason: str, locale: str) -> InvalidAnswer:
        """This field's answer refused, named by its label in `locale` and carrying its
        other labels, so that a reader in another language is told in theirs."""
        return InvalidAnswer(
            field=self.key,
            value=value,
            reason=reason,
            label=self.label.get(locale),
            labels=self.label.as_dict(),
        )

    def clean(self, text: str, locale: str) -> str:
        """The answer in its canonical form; raises `InvalidAnswer` naming this field."""

        def refuse(reason: str) -> InvalidAnswer:
            return self.refusal(text if len(text) <= 40 else text[:40] + "…", reason, locale)

        if _has_control(text):
            raise refuse("control_characters")
        if len(text) > MAX_ANSWER_LENGTH:
            raise refuse("too_long")
        normal = unicodedata.normalize("NFKC", text).strip()
        if self.type is FieldType.TEXT:
            return text.strip()
        if self.type is FieldType.NUMBER:
            try:
                number = Decimal(normal.replace(",", ""))
            except InvalidOperation:
                raise refuse("not_a_number") from None
            if not number.is_finite():
                raise refuse("not_a_number")
            return format(number.normalize(), "f")
        if self.type is FieldType.DATE:
            match = _DATE.match(normal)
            try:
                if match is None:
                    raise ValueError(normal)
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise refuse("bad_date") from None
            return day.isoformat()
        if self.type is FieldType.CHOICE:
            for choice in self.choices:
                if unicodedata.normalize("NFKC", choice).strip().casefold() == normal.casefold():
                    return choice
            raise refuse("not_a_choice")
        phone = clean_phone(normal)
        if phone is None:
            raise refuse("bad_phone")
        return phone


def check_answers(
    form: Sequence[FormField], answers: Mapping[str, str], locale: str
) -> dict[str, str]:
    """The answers to a form, validated and cleaned; empty optional answers are left out.

    Every error is an `InvalidAnswer` (an `InvalidValue`) whose `field` is the
    form field's key and whose `label` is its label in `locale` (`labels` has the
    others).
    """
    known = {f.key: f for f in form}
    for key in sorted(answers):
        if key not in known:
            raise InvalidAnswer(
                field=key, value=answers[key][:40], reason="unknown_field", label=key
            )
    cleaned: dict[str, str] = {}
    for field in form:
        raw = answers.get(field.key, "")
        if not isinstance(raw, str):
            raise field.refusal(str(raw)[:40], "not_text", locale)
        if not raw.strip():
            if field.required:
                raise field.refusal("", "required", locale)
            continue
        cleaned[field.key] = field.clean(raw, locale)
    return cleaned


# --- services --------------------------------------------------------------------


def _requesters(value: Iterable[Requester | str]) -> frozenset[Requester]:
    return frozenset(Requester(v) for v in value)


@attrs.frozen(kw_only=True)
class Service:
    """A service a station offers."""

    key: str
    station: str
    name: LocalizedText
    affair: Affair
    sla_hours: int
    """The promise: resolved within this many hours of submission."""
    open_to: frozenset[Requester] = attrs.field(
        default=frozenset({Requester.MEMBER}), converter=_requesters
    )
    form: tuple[FormField, ...] = ()
    description: LocalizedText | None = None
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)
        require_key("station", self.station)
        if not 1 <= self.sla_hours <= MAX_SLA_HOURS:
            raise InvalidValue(field="sla_hours", value=str(self.sla_hours), reason="out_of_range")
        if not self.open_to:
            raise InvalidValue(field="open_to", value="", reason="empty")
        if len(self.form) > MAX_FORM_FIELDS:
            raise InvalidValue(field="form", value=str(len(self.form)), reason="too_many")
        keys = [f.key for f in self.form]
        for key in keys:
            if keys.count(key) > 1:
                raise InvalidValue(field="form", value=key, reason="duplicate_field")

    @property
    def sla(self) -> timedelta:
        return timedelta(hours=self.sla_hours)

    def refusal(self, *, organization_id: int | None, categories: Iterable[str]) -> str | None:
        """Why this requester may not ask (a `reason.` key), or `None` when they may."""
        if Requester.MEMBER in self.open_to:
            return None
        if Requester.ORGANIZATION in self.open_to and organization_id is not None:
            return None
        if Requester.RESIDENT in self.open_to and RESIDENT_CATEGORY in set(categories):
            return None
        if Requester.ORGANIZATION in self.open_to and Requester.RESIDENT in self.open_to:
            return "organization_or_resident_required"
        if Requester.ORGANIZATION in self.open_to:
            return "organization_member_required"
        return "resident_required"


# --- requests and their workflow ---------------------------------------------------


class RequestState(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_REQUESTER = "waiting_for_requester"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Party(enum.StrEnum):
    """Who takes a step: the station's staff, or the member who asked."""

    STAFF = "staff"
    REQUESTER = "requester"


S = RequestState
_STAFF = frozenset({Party.STAFF})
_REQUESTER = frozenset({Party.REQUESTER})
_EITHER = frozenset(Party)

TRANSITIONS: Mapping[tuple[RequestState, RequestState], frozenset[Party]] = {
    (S.SUBMITTED, S.ACCEPTED): _STAFF,
    (S.SUBMITTED, S.REJECTED): _STAFF,
    (S.SUBMITTED, S.CANCELLED): _EITHER,
    (S.ACCEPTED, S.IN_PROGRESS): _STAFF,
    (S.ACCEPTED, S.REJECTED): _STAFF,
    (S.ACCEPTED, S.CANCELLED): _EITHER,
    (S.IN_PROGRESS, S.WAITING_FOR_REQUESTER): _STAFF,
    (S.IN_PROGRESS, S.RESOLVED): _STAFF,
    (S.IN_PROGRESS, S.REJECTED): _STAFF,
    (S.IN_PROGRESS, S.CANCELLED): _EITHER,
    (S.WAITING_FOR_REQUESTER, S.IN_PROGRESS): _EITHER,
    (S.WAITING_FOR_REQUESTER, S.RESOLVED): _STAFF,
    (S.WAITING_FOR_REQUESTER, S.REJECTED): _STAFF,
    (S.WAITING_FOR_REQUESTER, S.CANCELLED): _EITHER,
    (S.RESOLVED, S.CLOSED): _EITHER,
    (S.RESOLVED, S.IN_PROGRESS): _REQUESTER,  # a reopen: counted against "done once"
}
"""Every legal step (from, to) and who may take it; anything else is refused.

Cancelling is the requester withdrawing (staff may record it for them, say
after a phone call); rejecting is the station declining. Resolving needs
the work to have started. Only the requester reopens a resolved request.
"""

FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.CANCELLED})
DONE_STATES = frozenset({S.RESOLVED, S.CLOSED})
"""States of a request whose work is done (resolved, perhaps confirmed)."""
OPEN_STATES = frozenset(RequestState) - FINAL_STATES - DONE_STATES
"""States in which the SLA clock runs."""


def is_reopen(current: RequestState, wanted: RequestState) -> bool:
    return current is S.RESOLVED and wanted is S.IN_PROGRESS


def step_parties(ref: str, current: RequestState, wanted: RequestState) -> frozenset[Party]:
    """Who may move a request from `current` to `wanted`; `InvalidTransition` if nobody may."""
    parties = TRANSITIONS.get((current, wanted))
    if parties is None:
        raise InvalidTransition(
            entity="service_request", ref=ref, state=current.value, wanted=wanted.value
        )
    return parties


def sla_warning_at(submitted_at: datetime, sla_hours: int) -> datetime:
    """When the SLA warning is due: `SLA_WARNING_SHARE` of the target after submission."""
    seconds = Decimal(sla_hours * 3600) * SLA_WARNING_SHARE
    return submitted_at + timedelta(seconds=int(seconds))


@attrs.frozen(kw_only=True)
class ServiceRequest:
    id: int
    service_key: str
    station: str
    affair: Affair
    requester_id: int
    organization_id: int | None
    """The requester's organization when they asked (for whom they act)."""
    answers: dict[str, str]
    state: RequestState
    sla_hours: int
    due_at: datetime
    submitted_at: datetime
    updated_at: datetime
    assignee_id: int | None = None
    accepted_at: datetime | None = None
    first_resolved_at: datetime | None = None
    resolved_at: datetime | None = None
    """The latest resolution (after a reopen, the second one)."""
    closed_at: datetime | None = None
    reopen_count: int = 0
    visit_at: datetime | None = None
    sla_breached_at: datetime | None = None
    rating: int | None = None
    rating_comment: str | None = None
    rated_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def time_to_resolve(self) -> timedelta | None:
        """Submission to (latest) resolution, for a request that is resolved now."""
        if not self.is_done or self.resolved_at is None:
            return None
        return self.resolved_at - self.submitted_at

    @property
    def met_sla(self) -> bool | None:
        """Resolved no later than promised; `None` while not resolved."""
        if not self.is_done or self.resolved_at is None:
            return None
        return self.resolved_at <= self.due_at


class EntryKind(enum.StrEnum):
    """One line of a request's thread."""

    SUBMITTED = "submitted"
    STATE = "state"
    REPLY = "reply"
    """Staff to the requester."""
    MESSAGE = "message"
    """The requester to the staff."""
    NOTE = "note"
    """Staff among themselves: never shown to the requester."""
    ASSIGNED = "assigned"
    VISIT = "visit"
    RATED = "rated"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"


INTERNAL_ENTRIES = frozenset({EntryKind.NOTE, EntryKind.SLA_WARNING, EntryKind.SLA_BREACH})


@attrs.frozen(kw_only=True)
class RequestEntry:
    id: int
    request_id: int
    kind: EntryKind
    at: datetime
    author: str
    """The actor's label (`member:7:王芳`, `system:scheduler`)."""
    author_id: int | None = None
    text: str = ""
    from_state: RequestState | None = None
    to_state: RequestState | None = None
    assignee_id: int | None = None
    visit_at: datetime | None = None

    @property
    def internal(self) -> bool:
        return self.kind in INTERNAL_ENTRIES


# --- metrics ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ServiceMetrics:
    """Figures for the requests submitted in a period, for one station and affair (or all).

    Rates are shares between 0 and 1 (rounded to 4 places), `None` when
    their denominator is zero:
    - `sla_met_rate`: of the requests resolved now (resolved or closed), those
      whose latest resolution came no later than the SLA target;
    - `median_time_to_resolve`: submission to latest resolution, same set;
    - `reopen_rate`: of the requests ever resolved, those reopened at least once;
    - `done_once_rate`: of the requests ever resolved, those never reopened
      ("one visit, done once");
    - `average_rating`: mean satisfaction (1-5) of the rated ones.
    """

    station: str | None
    affair: Affair | None
    requests: int
    by_state: dict[RequestState, int]
    resolved: int
    sla_met: int
    sla_met_rate: float | None
    median_time_to_resolve: timedelta | None
    ever_resolved: int
    reopened: int
    reopen_rate: float | None
    done_once_rate: float | None
    rated: int
    average_rating: float | None


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def compute_metrics(
    requests: Iterable[ServiceRequest], *, station: str | None = None, affair: Affair | None = None
) -> ServiceMetrics:
    """Metrics over `requests` (already chosen for the period, station and affair)."""
    chosen = list(requests)
    by_state = dict.fromkeys(RequestState, 0)
    for request in chosen:
        by_state[request.state] += 1
    done = [r for r in chosen if r.is_done and r.resolved_at is not None]
    met = sum(1 for r in done if r.met_sla)
    durations = sorted(r.resolved_at - r.submitted_at for r in done if r.resolved_at is not None)
    median = None
    if durations:
        median = timedelta(seconds=statistics.median(d.total_seconds() for d in durations))
    ever = [r for r in chosen if r.first_resolved_at is not None]
    reopened = sum(1 for r in ever if r.reopen_count > 0)
    ratings = [r.rating for r in chosen if r.rating is not None]
    return ServiceMetrics(
        station=station,
        affair=affair,
        requests=len(chosen),
        by_state=by_state,
        resolved=len(done),
        sla_met=met,
        sla_met_rate=_share(met, len(done)),
        median_time_to_resolve=median,
        ever_resolved=len(ever),
        reopened=reopened,
        reopen_rate=_share(reopened, len(ever)),
        done_once_rate=_share(len(ever) - reopened, len(ever)),
        rated=len(ratings),
        average_rating=None if not ratings else round(sum(ratings) / len(ratings), 4),
    )


def metrics_by_group(requests: Iterable[ServiceRequest]) -> list[ServiceMetrics]:
    """One row per (station, affair) that has requests, in that order."""
    groups: dict[tuple[str, Affair], list[ServiceRequest]] = {}
    for request in requests:
        groups.setdefault((request.station, request.affair), []).append(request)
    return [
        compute_metrics(group, station=station, affair=affair)
        for (station, affair), group in sorted(groups.items())
    ]
