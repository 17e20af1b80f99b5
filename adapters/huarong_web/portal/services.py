"""Portal pages: the stations' services, the request form each one asks, and my requests.

`/services/{service_key}` builds its form from the service's own field
definitions (`huarong_core.domain.services.FormField`): each field becomes
the input its type calls for, labelled in the reader's language. The core
checks the answers; a refused answer comes back beside its field, with
everything typed kept. Inputs carry no browser-side `required`/`pattern`
checks on purpose: the core's message, in the reader's language, is the one
shown (a browser's own bubble would be in the browser's language).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import attrs
from aiohttp import web

from huarong_core.commands import (
    ChangeRequestState,
    GetRequest,
    GetService,
    GetStation,
    ListMyRequests,
    ListServices,
    ListStations,
    RateRequest,
    ReplyToRequest,
    RequestDetails,
    StationDetails,
    SubmitRequest,
)
from huarong_core.domain.communities import OpeningHours, days_text
from huarong_core.domain.services import (
    TRANSITIONS,
    Affair,
    Party,
    RequestEntry,
    RequestState,
    Service,
)
from huarong_core.errors import InvalidAnswer
from huarong_core.i18n import render_error, translate
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    ascii_int,
    base_of,
    done_notice,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
    text_field,
)
from huarong_web.portal.pages import (
    member_id_of as _me,
)
from huarong_web.portal.pages import (
    path_id as _id,
)

__all__ = ["ROUTES", "answer_name"]

PAGE_SIZE = 20
ANSWER_PREFIX = "answer."
"""Inputs of a service's form are named `answer.<field key>`: a field key can never
collide with the form's own hidden fields (`csrf_token`, `form_key`)."""


def answer_name(key: str) -> str:
    return ANSWER_PREFIX + key


# --- small helpers ----------------------------------------------------------------------


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.services.done")


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    number = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else 1
    return max(1, number)


def _renamed(errors: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """The core names fields its own way (`rating`); the form names them as posted."""
    return {names.get(field, field): message for field, message in errors.items()}


# --- the catalogue ------------------------------------------------------------------------


def hours_text(rule: OpeningHours, locale: str) -> str:
    """`Mon–Fri 08:30–12:00` / `周一至周五 08:30–12:00`."""
    words = days_text(rule.days)
    days = []
    for part in words.split(","):
        first, dash, last = part.partition("-")
        name = translate(f"portal.services.day.{first}", locale)
        if dash:
            name = translate(
                "portal.services.day.range",
                locale,
                first=name,
                last=translate(f"portal.services.day.{last}", locale),
            )
        days.append(name)
    joined = translate("portal.services.day.separator", locale).join(days)
    return f"{joined} {rule.opens:%H:%M}–{rule.closes:%H:%M}"


async def services_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    locale = page_locale(request)
    wanted = request.query.get("affair", "")
    affair = Affair(wanted) if wanted in {a.value for a in Affair} else None
    stations: list[StationDetails] = []
    for station in await run(request, ListStations()):
        stations.append(await run(request, GetStation(station.key)))
    return await render(
        request,
        "services/index.html",
        section="services",
        title=translate("portal.services.title", locale),
        stations=stations,
        hours={
            d.station.key: [hours_text(rule, locale) for rule in d.station.hours] for d in stations
        },
        affairs=[a.value for a in Affair],
        affair=None if affair is None else affair.value,
        notice=_notice(request),
    )


async def service_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    service = await run(request, GetService(request.match_info["service_key"]))
    return await _form_page(request, service, {}, {})


async def _form_page(
    request: web.Request,
    service: Service,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    locale = page_locale(request)
    station = await run(request, GetStation(service.station))
    return await render(
        request,
        "services/form.html",
        section="services",
        title=service.name.get(locale),
        service=service,
        station=station.station,
        fields=[
            {
                "name": answer_name(f.key),
                "label": f.label.get(locale),
                "type": f.type.value,
                "required": f.required,
                "choices": list(f.choices),
                "value": values.get(f.key, ""),
            }
            for f in service.form
        ],
        values=values,
        errors=errors,
        status=status,
        action=f"{base_of(request)}/services/{service.key}/request",
    )


async def submit_request(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    service = await run(request, GetService(request.match_info["service_key"]))
    answers = {f.key: text_field(form, answer_name(f.key)) for f in service.form}
    try:
        made = await run(request, SubmitRequest(service.key, answers), key)
    except FormErrors as refused:
        errors = _answer_errors(request, service, refused)
        return await _form_page(request, service, answers, errors, status=422)
    raise redirect(request, f"/services/requests/{made.id}?done=submitted")


def _answer_errors(request: web.Request, service: Service, refused: FormErrors) -> dict[str, str]:
    """The refusal beside its field. The core words an answer's label in the member's
    profile language; the page says it again in the page's language."""
    locale = page_locale(request)
    errors = dict(refused.messages)
    cause = refused.__cause__
    if isinstance(cause, InvalidAnswer):
        field = next((f for f in service.form if f.key == cause.field), None)
        if field is not None:
            errors[""] = render_error(attrs.evolve(cause, label=field.label.get(locale)), locale)
    names = {f.key: answer_name(f.key) for f in service.form}
    return _renamed(errors, names)


async def back_to_form(request: web.Request) -> web.StreamResponse:
    """A form's address asked for by GET (after signing in again): its page."""
    raise redirect(request, f"/services/{quote(request.match_info['service_key'], safe='')}")


# --- my requests ---------------------------------------------------------------------------


async def my_requests(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    locale = page_locale(request)
    number = _page_number(request)
    page = await run(request, ListMyRequests(offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE))
    names = {s.key: s.name for s in await run(request, ListServices())}
    return await render(
        request,
        "services/requests.html",
        section="services",
        title=translate("portal.services.mine.title", locale),
        page=page,
        number=number,
        names=names,
        notice=_notice(request),
    )


def _who(entry: RequestEntry, me: int, locale: str) -> str:
    """Who wrote a line of the thread: "you", a person's name, or the system."""
    if entry.author_id is not None and entry.author_id == me:
        return translate("portal.services.thread.you", locale)
    kind, _, rest = entry.author.partition(":")
    if kind == "member" and rest.count(":") >= 1:
        return rest.split(":", 1)[1]
    return translate("portal.services.thread.system", locale)


def _requester_steps(details: RequestDetails) -> list[str]:
    """The steps the requester may take now (`domain.services.TRANSITIONS`)."""
    state = details.request.state
    return [
        to.value
        for (current, to), parties in TRANSITIONS.items()
        if current is state and Party.REQUESTER in parties
    ]


async def request_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    details = await run(request, GetRequest(_id(request, "request_id")))
    return await _request_page(request, details, {}, {})


async def _request_page(
    request: web.Request,
    details: RequestDetails,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    locale = page_locale(request)
    me = _me(request)
    item = details.request
    mine = item.requester_id == me
    forget = ""
    if request.query.get("done") == "submitted":
        forget = f"{base_of(request)}/services/{item.service_key}/request"
    elif request.query.get("done") in ("replied", "rated"):
        what = "reply" if request.query.get("done") == "replied" else "rate"
        forget = f"{base_of(request)}/services/requests/{item.id}/{what}"
    labels = {f.key: f.label.get(locale) for f in details.service.form}
    return await render(
        request,
        "services/request.html",
        section="services",
        title=translate("portal.services.request.title", locale, id=item.id),
        details=details,
        item=item,
        service=details.service,
        answers=[
            *(
                (labels[f.key], item.answers[f.key])
                for f in details.service.form
                if f.key in item.answers
            ),
            *((k, v) for k, v in item.answers.items() if k not in labels),
        ],
        thread=[(e, _who(e, me, locale)) for e in details.thread if not e.internal],
        me=me,
        mine=mine,
        steps=_requester_steps(details) if mine else [],
        can_reply=not item.is_final,
        can_rate=mine and item.is_done and item.rating is None,
        values=values,
        errors=errors,
        status=status,
        notice=_notice(request),
        forget=forget,
    )


async def reply(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    request_id = _id(request, "request_id")
    text = text_field(form, "text", 8000)
    try:
        await run(request, ReplyToRequest(request_id, text), key)
    except FormErrors as refused:
        details = await run(request, GetRequest(request_id))
        return await _request_page(
            request, details, {"text": text}, dict(refused.messages), status=422
        )
    raise redirect(request, f"/services/requests/{request_id}?done=replied")


async def rate(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    request_id = _id(request, "request_id")
    stars = text_field(form, "stars", 8)
    comment = text_field(form, "comment", 8000)
    values = {"stars": stars, "comment": comment}
    locale = page_locale(request)
    try:
        if not 1 <= (ascii_int(stars, 1) or 0) <= 5:
            message = translate("portal.services.rate.pick_stars", locale)
            raise FormErrors({"stars": message, "": message})
        await run(request, RateRequest(request_id, int(stars), comment), key)
    except FormErrors as refused:
        details = await run(request, GetRequest(request_id))
        errors = _renamed(refused.messages, {"rating": "stars"})
        return await _request_page(request, details, values, errors, status=422)
    raise redirect(request, f"/services/requests/{request_id}?done=rated")


async def change_state(request: web.Request) -> web.StreamResponse:
    """The requester's own steps: withdraw, confirm the work is done, reopen, answered."""
    form, key = await read_form(request)
    request_id = _id(request, "request_id")
    wanted = text_field(form, "to", 40)
    note = text_field(form, "note", 8000)
    locale = page_locale(request)
    try:
        if wanted not in {s.value for s in RequestState}:
            message = translate("portal.services.step.unknown", locale)
            raise FormErrors({"": message})
        await run(request, ChangeRequestState(request_id, RequestState(wanted), note), key)
    except FormErrors as refused:
        details = await run(request, GetRequest(request_id))
        errors = _renamed(refused.messages, {"comment": "note"})
        return await _request_page(request, details, {"note": note}, errors, status=422)
    raise redirect(request, f"/services/requests/{request_id}?done=step_{wanted}")


async def back_to_request(request: web.Request) -> web.StreamResponse:
    raise redirect(request, f"/services/requests/{_id(request, 'request_id')}")


ROUTES = (
    PortalRoute("GET", "/services", services_page, "portal.services"),
    PortalRoute("GET", "/services/requests", my_requests, "portal.services.requests"),
    PortalRoute("GET", "/services/requests/{request_id}", request_page, "portal.services.request"),
    PortalRoute("POST", "/services/requests/{request_id}/reply", reply, "portal.services.reply"),
    PortalRoute("POST", "/services/requests/{request_id}/rate", rate, "portal.services.rate"),
    PortalRoute(
        "POST",
        "/services/requests/{request_id}/transition",
        change_state,
        "portal.services.transition",
    ),
    PortalRoute(
        "GET", "/services/requests/{request_id}/reply", back_to_request, "portal.services.reply_get"
    ),
    PortalRoute(
        "GET", "/services/requests/{request_id}/rate", back_to_request, "portal.services.rate_get"
    ),
    PortalRoute(
        "GET",
        "/services/requests/{request_id}/transition",
        back_to_request,
        "portal.services.transition_get",
    ),
    PortalRoute("GET", "/services/{service_key}", service_page, "portal.services.service"),
    PortalRoute(
        "POST", "/services/{service_key}/request", submit_request, "portal.services.submit"
    ),
    PortalRoute(
        "GET", "/services/{service_key}/request", back_to_form, "portal.services.submit_get"
    ),
)
