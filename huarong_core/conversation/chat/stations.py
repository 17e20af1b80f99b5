"""Service stations: the four stations, their catalogue, and a member's own requests.

/stations, /station, /services, /service, /request, /requests, /ticket,
/reply, /rate, /state. The staff side of the same requests (queue, accept,
resolve, visits, metrics) is in `stations_staff.py`; aid cases in `aid.py`;
announcements and station subscriptions in `news.py`.

A request's form is answered in the same message as `/request`: either
`key=value` words (`phone=13912345678`; the key may be the field's label,
`联系电话：139…`, and the words after a value belong to it until the next
key), or the answers in the order of the form, one word each, the last
text field taking whatever words are left over. Missing required answers
get the form and an example line back, and nothing is submitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from huarong_core.commands import (
    ChangeRequestState,
    GetMember,
    GetRequest,
    GetService,
    GetStation,
    ListMyRequests,
    ListServices,
    ListStations,
    RateRequest,
    ReplyToRequest,
    SubmitRequest,
)
from huarong_core.conversation.arguments import (
    PAGE_WORD,
    Choice,
    FreeText,
    Integer,
    Ref,
    Words,
    arg,
    match_one,
    page_arg,
    parse_id,
    split_words,
    typed_number,
)
from huarong_core.conversation.errors import TooManyArguments
from huarong_core.conversation.refs import STATION, find_station
from huarong_core.conversation.routes import Outcome, find_route, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.values import (
    Button,
    Message,
    Text,
    button_if_fits,
)
from huarong_core.domain.communities import Station
from huarong_core.domain.roles import Permission
from huarong_core.domain.services import (
    OPEN_STATES,
    Affair,
    EntryKind,
    FieldType,
    FormField,
    RequestEntry,
    RequestState,
    Service,
    ServiceRequest,
)
from huarong_core.errors import HuarongError, InvalidAnswer
from huarong_core.i18n import render_error

LIST_LIMIT = 500
"""How many rows a chat list asks the core for; `turn.numbered` pages them."""
THREAD_SHOWN = 10
"""The latest entries of a request's thread shown by /ticket."""
SKIP = frozenset({"-", "—", "无", "none", "/"})
"""An optional form answer left out on purpose."""

# --- small helpers shared by the station modules ---------------------------------------


def joined(key: str, parts: Sequence[Text]) -> Text:
    """Parts as one text through a `{first}…{rest}` catalog joiner (`、`, `；`, `, `)."""
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = Text(key, {"first": part, "rest": result})
    return result


button = button_if_fits


def button_rows(*buttons: Button | None) -> tuple[tuple[Button, ...], ...]:
    row = tuple(b for b in buttons if b is not None)
    return (row,) if row else ()


def command_name(turn: Turn, name: str) -> str:
    """How the reader types a route (`申请服务` or `request`)."""
    found = find_route(name)
    return name if found is None else found.display_name(turn.locale)


class Names:
    """Members' display names, looked up once per turn; `#id` where the sender may not look."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self._known: dict[int, str] = {turn.member.id: turn.member.display_name}

    def learn(self, member_id: int, name: str) -> None:
        self._known.setdefault(member_id, name)

    async def get(self, member_id: int) -> str:
        known = self._known.get(member_id)
        if known is None:
            try:
                known = (await self.turn.run(GetMember(member_id))).member.display_name
            except HuarongError:
                known = f"#{member_id}"
            self._known[member_id] = known
        return known


def author_name(label: str) -> Text | str:
    """An actor label (`member:7:王芳`, `system:scheduler`) as a reader sees it."""
    kind, _, rest = label.partition(":")
    if kind == "member":
        return rest.partition(":")[2] or rest
    return Text("chat.stations.author_system")


def state_text(state: RequestState | str) -> Text:
    return Text(f"chat.stations.state.{RequestState(state).value}")


def affair_text(affair: Affair) -> Text:
    return Text(f"chat.stations.affair.{affair.value}")


# --- hours ---------------------------------------------------------------------------


def _day_runs(days: Iterable[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def hours_text(station: Station) -> Text:
    if not station.hours:
        return Text("chat.stations.no_hours")
    rules = []
    for rule in station.hours:
        parts = []
        for run in _day_runs(rule.days):
            first = Text(f"chat.stations.weekday.{run[0]}")
            if len(run) >= 3:
                last = Text(f"chat.stations.weekday.{run[-1]}")
                parts.append(Text("chat.stations.day_range", {"first": first, "last": last}))
            else:
                parts.extend(Text(f"chat.stations.weekday.{d}") for d in run)
        rules.append(
            Text(
                "chat.stations.hours_rule",
                {
                    "days": joined("chat.stations.join_list", parts),
                    "opens": rule.opens.isoformat("minutes"),
                    "closes": rule.closes.isoformat("minutes"),
                },
            )
        )
    return joined("chat.stations.join_rules", rules)


def open_text(station: Station, now: datetime, turn: Turn) -> Text:
    if not station.hours:
        return Text("chat.stations.no_hours")
    is_open = station.is_open(now, turn.tz)
    return Text("chat.stations.open_now" if is_open else "chat.stations.closed_now")


# --- lookups -------------------------------------------------------------------------


async def find_service(turn: Turn, word: str) -> Service:
    services = await turn.run(ListServices())
    return match_one(
        "stations_service",
        word,
        ((s, (s.key, *s.name.as_dict().values())) for s in services),
    )


async def find_request(turn: Turn, word: str) -> int:
    return parse_id("stations_request", word)


SERVICE = Ref("stations_service", "service", find_service)
REQUEST = Ref("stations_request", "request", find_request)


AFFAIRS: dict[str, Affair] = {
    "party": Affair.PARTY,
    "党务": Affair.PARTY,
    "government": Affair.GOVERNMENT,
    "政务": Affair.GOVERNMENT,
    "community": Affair.COMMUNITY,
    "社务": Affair.COMMUNITY,
    "commercial": Affair.COMMERCIAL,
    "商务": Affair.COMMERCIAL,
    "legal": Affair.LEGAL,
    "法务": Affair.LEGAL,
}


@attrs.frozen
class Where:
    """What `/services` lists: a station (key, name or number) or one of the five affairs."""

    name: str = "stations_where"

    async def parse(self, turn: Turn, words: Words) -> Station | Affair | None:
        word = words.peek()
        if word is None or PAGE_WORD.match(word):
            return None
        affair = AFFAIRS.get(word.casefold())
        if affair is not None:
            words.take()
            return affair
        return await Ref(self.name, "station", find_station).parse(turn, words)


# --- stations ------------------------------------------------------------------------


@route(
    "stations",
    "驿站",
    family="services",
    params=[page_arg()],
    commands=[ListStations],
    aliases=["站点", "服务站"],
)
async def stations(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    found = await turn.run(ListStations())
    now = turn.handle.now()

    def line(number: int, station: Station) -> Text:
        key = "chat.stations.station_line_floor" if station.floor else "chat.stations.station_line"
        if not station.hours:
            key += "_no_hours"
        return Text(
            key,
            {
                "number": number,
                "name": station.name,
                "floor": station.floor or "",
                "open": open_text(station, now, turn),
                "hours": hours_text(station),
            },
        )

    def item_button(number: int, station: Station) -> Button | None:
        return button(
            Text("chat.stations.number_button", {"number": number}), f"/station {station.key}"
        )

    message = turn.numbered(
        "station",
        Text("chat.stations.stations_title"),
        found,
        line,
        lambda s: s.key,
        page=args["page"],
        empty=Text("chat.stations.no_stations"),
        item_button=item_button,
    )
    return Message((*message.lines, Text("chat.stations.stations_hint")), message.buttons)


@route(
    "station",
    "驿站详情",
    family="services",
    params=[arg(STATION)],
    commands=[ListStations, GetStation, GetMember],
)
async def station(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Station = args["station"]
    details = await turn.run(GetStation(chosen.key))
    found = details.station
    lines = [Text("chat.stations.station_title", {"name": found.name})]
    if found.floor:
        lines.append(Text("chat.stations.station_floor", {"floor": found.floor}))
    if found.description is not None:
        lines.append(Text("chat.stations.station_description", {"text": found.description}))
    lines.append(Text("chat.stations.station_hours", {"hours": hours_text(found)}))
    lines.append(
        Text("chat.stations.open_now" if details.open_now else "chat.stations.closed_now")
        if found.hours
        else Text("chat.stations.no_hours")
    )
    if details.lead_id is not None:
        name = await Names(turn).get(details.lead_id)
        if not name.startswith("#"):
            lines.append(Text("chat.stations.station_lead", {"name": name}))
    lines.append(Text("chat.stations.station_staff", {"count": len(details.staff)}))
    info = Message(
        tuple(lines),
        button_rows(
            button(Text("chat.stations.button_subscribe"), f"/subscribe {found.key}"),
        ),
    )
    services = turn.numbered(
        "service",
        Text("chat.stations.station_services", {"count": len(details.services)}),
        details.services,
        lambda n, s: _service_line(n, s, None),
        lambda s: s.key,
        empty=Text("chat.stations.no_services"),
        item_button=_service_button,
    )
    return (info, services)


# --- the catalogue ---------------------------------------------------------------------


def _service_line(number: int, service: Service, station: Station | None) -> Text:
    params: dict[str, Any] = {
        "number": number,
        "name": service.name,
        "affair": affair_text(service.affair),
        "hours": service.sla_hours,
    }
    if station is None:
        return Text("chat.stations.service_line", params)
    return Text("chat.stations.service_line_station", {**params, "station": station.name})


def _service_button(number: int, service: Service) -> Button | None:
    return button(
        Text("chat.stations.number_button", {"number": number}), f"/service {service.key}"
    )


@route(
    "services",
    "服务",
    family="services",
    params=[arg(Where(), optional=True, key="where"), page_arg()],
    commands=[ListServices, ListStations],
    aliases=["服务目录", "catalogue"],
)
async def services(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    where: Station | Affair | None = args["where"]
    station_key = where.key if isinstance(where, Station) else None
    affair = where if isinstance(where, Affair) else None
    found = await turn.run(ListServices(station=station_key, affair=affair))
    stations_by_key = {s.key: s for s in await turn.run(ListStations())}
    order = {key: n for n, key in enumerate(stations_by_key)}
    affairs = list(Affair)
    ordered = sorted(
        found,
        key=lambda s: (order.get(s.station, len(order)), affairs.index(s.affair), s.key),
    )
    if isinstance(where, Station):
        title = Text("chat.stations.services_at", {"station": where.name})
        more = where.key
    elif affair is not None:
        title = Text("chat.stations.services_of", {"affair": affair_text(affair)})
        more = affair.value
    else:
        title = Text("chat.stations.services_title")
        more = ""
    message = turn.numbered(
        "service",
        title,
        ordered,
        lambda n, s: _service_line(
            n, s, None if isinstance(where, Station) else stations_by_key.get(s.station)
        ),
        lambda s: s.key,
        page=args["page"],
        empty=Text("chat.stations.no_services"),
        more=more,
        item_button=_service_button,
    )
    return Message((*message.lines, Text("chat.stations.services_hint")), message.buttons)


def _type_text(field: FormField) -> Text:
    return Text(f"chat.stations.field_type.{field.type.value}")


def form_lines(turn: Turn, service: Service, missing: Sequence[FormField] = ()) -> list[Text]:
    """The form's fields, what is missing, and an example line to copy."""
    lines: list[Text] = []
    if missing:
        lines.append(
            Text(
                "chat.stations.form_missing",
                {
                    "fields": joined(
                        "chat.stations.join_list",
                        [
                            Text("chat.stations.plain", {"text": f.label.get(turn.locale)})
                            for f in missing
                        ],
                    )
                },
            )
        )
    lines.append(Text("chat.stations.form_title", {"service": service.name}))
    for field in service.form:
        lines.append(
            Text(
                "chat.stations.form_field"
                if field.required
                else "chat.stations.form_field_optional",
                {
                    "label": field.label.get(turn.locale),
                    "key": field.key,
                    "type": _type_text(field),
                },
            )
        )
        if field.choices:
            lines.append(
                Text(
                    "chat.stations.form_choices",
                    {
                        "choices": tuple(
                            Text("chat.stations.choice_item", {"number": n, "choice": c})
                            for n, c in enumerate(field.choices, 1)
                        )
                    },
                )
            )
    example_fields = [f for f in service.form if f.required] or list(service.form)
    pairs = tuple(
        Text("chat.stations.example_pair", {"key": f.key, "value": _example(turn, f)})
        for f in example_fields
    )
    lines.append(
        Text(
            "chat.stations.form_example",
            {"command": command_name(turn, "request"), "service": service.key, "answers": pairs},
        )
    )
    lines.append(Text("chat.stations.form_example_hint"))
    return lines


def _example(turn: Turn, field: FormField) -> Text | str:
    if field.type is FieldType.CHOICE:
        return field.choices[0]
    if field.type is FieldType.NUMBER:
        return "1"
    if field.type is FieldType.DATE:
        return (turn.today + timedelta(days=7)).isoformat()
    if field.type is FieldType.PHONE:
        return "13912345678"
    return Text("chat.stations.example_text")


@route(
    "service",
    "服务详情",
    family="services",
    params=[arg(SERVICE)],
    commands=[GetService, ListServices, ListStations],
)
async def service(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Service = args["stations_service"]
    found = await turn.run(GetService(chosen.key))
    stations_by_key = {s.key: s for s in await turn.run(ListStations())}
    where = stations_by_key.get(found.station)
    lines = [
        Text(
            "chat.stations.service_title",
            {
                "name": found.name,
                "station": found.station if where is None else where.name,
                "affair": affair_text(found.affair),
            },
        )
    ]
    if found.description is not None:
        lines.append(Text("chat.stations.service_description", {"text": found.description}))
    lines.append(Text("chat.stations.service_sla", {"hours": found.sla_hours}))
    lines.append(
        Text(
            "chat.stations.service_open_to",
            {
                "who": joined(
                    "chat.stations.join_list",
                    [Text(f"chat.stations.open_to.{r.value}") for r in sorted(found.open_to)],
                )
            },
        )
    )
    if found.form:
        lines.extend(form_lines(turn, found))
    else:
        lines.append(
            Text(
                "chat.stations.no_form",
                {"command": command_name(turn, "request"), "service": found.key},
            )
        )
    return Message(
        tuple(lines),
        button_rows(button(Text("chat.stations.button_request"), f"/request {found.key}")),
    )


# --- asking for a service -------------------------------------------------------------------

_SEPARATORS = re.compile(r"[=＝:：]")


def _field_names(field: FormField) -> set[str]:
    return {
        field.key.casefold(),
        *(label.strip().casefold() for label in field.label.as_dict().values()),
    }


def _keyed(form: Sequence[FormField], word: str) -> tuple[FormField, str] | None:
    """`key=value` (or `label：value`) naming a field of the form, else `None`."""
    match = _SEPARATORS.search(word)
    if match is None or match.start() == 0:
        return None
    name = word[: match.start()].strip().casefold()
    for field in form:
        if name in _field_names(field):
            return field, word[match.end() :]
    return None


def _fits(field: FormField, word: str) -> bool:
    """Whether one word can be this field's answer (`-` only for an optional field)."""
    if word.casefold() in SKIP:
        return not field.required
    line = typed_number(word)
    if field.type is FieldType.CHOICE and line is not None and 1 <= line <= len(field.choices):
        return True
    try:
        field.clean(word, "en")
    except InvalidAnswer:
        return False
    return True


def _in_order(fields: list[FormField], words: list[str]) -> list[tuple[FormField, list[str]]]:
    """Answers in the form's order: one word a field, a text field taking more when the
    words left over call for it, an optional field left out when the word does not fit it.

    The first reading that uses every word and answers every required field wins,
    earlier text fields taking as few words as they can (so the last text field takes the
    rest); with none, the words go to the fields one by one and the form's rules say
    what is wrong.
    """
    failed: set[tuple[int, int]] = set()

    def solve(f: int, w: int) -> list[tuple[FormField, list[str]]] | None:
        if f == len(fields):
            return [] if w == len(words) else None
        if (f, w) in failed:
            return None
        field = fields[f]
        left = len(words) - w
        if left > 0 and _fits(field, words[w]):
            rest = solve(f + 1, w + 1)
            if rest is not None:
                return [(field, [words[w]]), *rest]
        if field.type is FieldType.TEXT:
            for taken in range(2, left + 1):
                rest = solve(f + 1, w + taken)
                if rest is not None:
                    return [(field, words[w : w + taken]), *rest]
        if not field.required:
            rest = solve(f + 1, w)
            if rest is not None:
                return rest
        failed.add((f, w))
        return None

    found = solve(0, 0)
    if found is not None:
        return found
    if len(words) <= len(fields):
        return [(field, [word]) for field, word in zip(fields, words, strict=False)]
    texts = [n for n, f in enumerate(fields) if f.type is FieldType.TEXT]
    if not texts:
        raise TooManyArguments(extra=" ".join(words[len(fields) :])[:40])
    last = texts[-1]
    after = len(fields) - last - 1
    pairs = [(f, [words[n]]) for n, f in enumerate(fields[:last])]
    pairs.append((fields[last], words[last : len(words) - after]))
    pairs.extend((f, [words[len(words) - after + n]]) for n, f in enumerate(fields[last + 1 :]))
    return pairs


def read_answers(form: Sequence[FormField], text: str) -> dict[str, str]:
    """The answers typed after the service: keyed words, or answers in the form's order."""
    words = split_words(text or "")
    if not words:
        return {}
    if not form:
        raise TooManyArguments(extra=text[:40])
    answers: dict[str, list[str]] = {}
    keyed = [_keyed(form, word) for word in words]
    if any(k is not None for k in keyed):
        loose: list[str] = []
        current: str | None = None
        for word, found in zip(words, keyed, strict=True):
            if found is not None:
                current = found[0].key
                answers[current] = [found[1]] if found[1] else []
            elif current is None:
                loose.append(word)
            else:
                answers[current].append(word)
        unnamed = [f for f in form if f.key not in answers]
        for field, word in zip(unnamed, loose, strict=False):
            answers[field.key] = [word]
        if len(loose) > len(unnamed):
            raise TooManyArguments(extra=" ".join(loose[len(unnamed) :])[:40])
    else:
        for field, parts in _in_order(list(form), words):
            answers[field.key] = parts
    result: dict[str, str] = {}
    by_key = {f.key: f for f in form}
    for key, parts in answers.items():
        value = " ".join(parts).strip()
        if value.casefold() in SKIP:
            continue
        field = by_key[key]
        number = typed_number(value)
        choices = field.choices if field.type is FieldType.CHOICE else ()
        if number is not None and value not in choices and 1 <= number <= len(choices):
            value = choices[number - 1]
        if value:
            result[key] = value
    return result


@route(
    "request",
    "申请服务",
    family="services",
    params=[arg(SERVICE), arg(FreeText("stations_answers"), optional=True, key="answers")],
    commands=[ListServices, SubmitRequest],
    aliases=["申请", "apply"],
)
async def request(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    chosen: Service = args["stations_service"]
    answers = read_answers(chosen.form, args["answers"] or "")
    missing = [f for f in chosen.form if f.required and f.key not in answers]
    if missing:
        return Message(tuple(form_lines(turn, chosen, missing)))
    try:
        submitted = await turn.run(SubmitRequest(chosen.key, answers))
    except InvalidAnswer as exc:
        return Message(
            (
                Text("chat.error.wrapped", {"text": render_error(exc, turn.locale)}),
                *form_lines(turn, chosen),
            )
        )
    return Message(
        (
            Text(
                "chat.stations.request_done",
                {"id": submitted.id, "service": chosen.name, "due": submitted.due_at},
            ),
            Text(
                "chat.stations.request_done_hint",
                {"command": command_name(turn, "ticket"), "id": submitted.id},
            ),
        ),
        button_rows(button(Text("chat.stations.button_ticket"), f"/ticket {submitted.id}")),
    )


# --- a member's own requests ------------------------------------------------------------


async def service_names(turn: Turn) -> dict[str, Service]:
    return {s.key: s for s in await turn.run(ListServices())}


def service_name(known: Mapping[str, Service], key: str) -> Any:
    found = known.get(key)
    return key if found is None else found.name


def ticket_button(number: int, request: ServiceRequest) -> Button | None:
    return button(Text("chat.stations.number_button", {"number": number}), f"/ticket {request.id}")


@route(
    "requests",
    "我的申请",
    family="services",
    params=[page_arg()],
    commands=[ListMyRequests, ListServices],
    personal=True,
    aliases=["myrequests"],
)
async def requests(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    page = await turn.run(ListMyRequests(limit=LIST_LIMIT))
    known = await service_names(turn)
    mine = sorted(page.items, key=lambda r: r.id, reverse=True)

    def line(number: int, item: ServiceRequest) -> Text:
        return Text(
            "chat.stations.my_request_line",
            {
                "number": number,
                "id": item.id,
                "service": service_name(known, item.service_key),
                "state": state_text(item.state),
                "submitted": item.submitted_at,
            },
        )

    return turn.numbered(
        "request",
        Text("chat.stations.my_requests_title", {"count": page.total}),
        mine,
        line,
        lambda r: r.ref,
        page=args["page"],
        empty=Text("chat.stations.no_requests", {"command": command_name(turn, "services")}),
        item_button=ticket_button,
    )


async def _entry_line(entry: RequestEntry, names: Names) -> Text:
    params: dict[str, Any] = {
        "at": entry.at,
        "author": author_name(entry.author),
        "text": entry.text,
    }
    if entry.kind is EntryKind.STATE and entry.to_state is not None:
        params["state"] = state_text(entry.to_state)
    if entry.kind is EntryKind.VISIT and entry.visit_at is not None:
        params["visit"] = entry.visit_at
    if entry.kind is EntryKind.ASSIGNED:
        params["assignee"] = (
            Text("chat.stations.nobody")
            if entry.assignee_id is None
            else await names.get(entry.assignee_id)
        )
    key = f"chat.stations.entry.{entry.kind.value}"
    if entry.text and entry.kind in (EntryKind.STATE, EntryKind.VISIT, EntryKind.RATED):
        key += "_text"
    return Text(key, params)


@route(
    "ticket",
    "申请详情",
    family="services",
    params=[arg(REQUEST)],
    commands=[GetRequest, GetMember],
    personal=True,
    aliases=["查询申请"],
)
async def ticket(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    details = await turn.run(GetRequest(args["stations_request"]))
    item = details.request
    names = Names(turn)
    lines = [
        Text(
            "chat.stations.ticket_title",
            {"id": item.id, "service": details.service.name, "affair": affair_text(item.affair)},
        ),
        Text("chat.stations.ticket_state", {"state": state_text(item.state)}),
        Text("chat.stations.ticket_dates", {"submitted": item.submitted_at, "due": item.due_at}),
    ]
    if item.requester_id != turn.member.id:
        lines.append(
            Text("chat.stations.ticket_requester", {"name": await names.get(item.requester_id)})
        )
    if item.assignee_id is not None:
        # A requester may not look members up; the thread names the staff who wrote in it.
        for entry in details.thread:
            if entry.author_id is not None and entry.author.startswith("member:"):
                names.learn(entry.author_id, str(author_name(entry.author)))
        assignee = await names.get(item.assignee_id)
        if not assignee.startswith("#"):
            lines.append(Text("chat.stations.ticket_assignee", {"name": assignee}))
    if item.visit_at is not None:
        lines.append(Text("chat.stations.ticket_visit", {"at": item.visit_at}))
    labels = {f.key: f.label.get(turn.locale) for f in details.service.form}
    order = {key: n for n, key in enumerate(labels)}
    for key, value in sorted(item.answers.items(), key=lambda kv: order.get(kv[0], len(order))):
        lines.append(
            Text("chat.stations.ticket_answer", {"label": labels.get(key, key), "value": value})
        )
    if item.rating is not None:
        lines.append(
            Text(
                "chat.stations.ticket_rating",
                {
                    "stars": "★" * item.rating + "☆" * (5 - item.rating),
                    "comment": item.rating_comment or "",
                },
            )
        )
    shown = details.thread[-THREAD_SHOWN:]
    if shown:
        lines.append(Text("chat.stations.ticket_thread", {"count": len(details.thread)}))
        lines.extend([await _entry_line(entry, names) for entry in shown])
    buttons: list[Button | None] = []
    mine = item.requester_id == turn.member.id
    if mine and item.state is RequestState.RESOLVED:
        buttons.append(button(Text("chat.stations.button_confirm"), f"/state {item.id} closed"))
        buttons.append(button(Text("chat.stations.button_reopen"), f"/state {item.id} reopen"))
        if item.rating is None:
            lines.append(
                Text(
                    "chat.stations.rate_hint",
                    {"command": command_name(turn, "rate"), "id": item.id},
                )
            )
    elif mine and item.state in OPEN_STATES:
        buttons.append(button(Text("chat.stations.button_cancel"), f"/state {item.id} cancelled"))
    elif not mine and turn.can(Permission.HANDLE_REQUESTS):
        if item.state is RequestState.SUBMITTED:
            buttons.append(button(Text("chat.stations.button_accept"), f"/accept {item.id}"))
        if item.state in OPEN_STATES:
            buttons.append(button(Text("chat.stations.button_resolve"), f"/resolve {item.id}"))
    return Message(tuple(lines), button_rows(*buttons))


@route(
    "reply",
    "回复",
    family="services",
    params=[arg(REQUEST), arg(FreeText("text"))],
    commands=[ReplyToRequest],
    aliases=["留言"],
)
async def reply(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    request_id = args["stations_request"]
    await turn.run(ReplyToRequest(request_id, args["text"]))
    return turn.say("chat.stations.reply_done", id=request_id)


@route(
    "rate",
    "评价服务",
    family="services",
    params=[
        arg(REQUEST),
        arg(Integer("rating", minimum=1, maximum=5)),
        arg(FreeText("comment"), optional=True),
    ],
    commands=[RateRequest],
    aliases=["评分"],
)
async def rate(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    rated = await turn.run(
        RateRequest(args["stations_request"], args["rating"], args["comment"] or "")
    )
    return turn.say("chat.stations.rate_done", id=rated.id, rating=rated.rating or 0)


STATES: dict[str, RequestState] = {
    "accepted": RequestState.ACCEPTED,
    "accept": RequestState.ACCEPTED,
    "受理": RequestState.ACCEPTED,
    "已受理": RequestState.ACCEPTED,
    "in_progress": RequestState.IN_PROGRESS,
    "start": RequestState.IN_PROGRESS,
    "reopen": RequestState.IN_PROGRESS,
    "办理中": RequestState.IN_PROGRESS,
    "处理中": RequestState.IN_PROGRESS,
    "开始办理": RequestState.IN_PROGRESS,
    "重新办理": RequestState.IN_PROGRESS,
    "waiting_for_requester": RequestState.WAITING_FOR_REQUESTER,
    "waiting": RequestState.WAITING_FOR_REQUESTER,
    "wait": RequestState.WAITING_FOR_REQUESTER,
    "待补充": RequestState.WAITING_FOR_REQUESTER,
    "待回复": RequestState.WAITING_FOR_REQUESTER,
    "resolved": RequestState.RESOLVED,
    "resolve": RequestState.RESOLVED,
    "办结": RequestState.RESOLVED,
    "已办结": RequestState.RESOLVED,
    "closed": RequestState.CLOSED,
    "close": RequestState.CLOSED,
    "confirm": RequestState.CLOSED,
    "确认": RequestState.CLOSED,
    "关闭": RequestState.CLOSED,
    "已关闭": RequestState.CLOSED,
    "rejected": RequestState.REJECTED,
    "decline": RequestState.REJECTED,
    "declined": RequestState.REJECTED,
    "不予受理": RequestState.REJECTED,
    "驳回": RequestState.REJECTED,
    "cancelled": RequestState.CANCELLED,
    "cancel": RequestState.CANCELLED,
    "withdraw": RequestState.CANCELLED,
    "撤回": RequestState.CANCELLED,
    "取消": RequestState.CANCELLED,
    "已撤回": RequestState.CANCELLED,
}


async def change_state(
    turn: Turn, request_id: int, state: RequestState, comment: str = ""
) -> ServiceRequest:
    return await turn.run(ChangeRequestState(request_id, state, comment))


def state_done(request: ServiceRequest) -> Message:
    return Message(
        (Text("chat.stations.state_done", {"id": request.id, "state": state_text(request.state)}),),
        button_rows(button(Text("chat.stations.button_ticket"), f"/ticket {request.id}")),
    )


@route(
    "state",
    "状态",
    family="services",
    params=[
        arg(REQUEST),
        arg(Choice("stations_state", STATES)),
        arg(FreeText("comment"), optional=True),
    ],
    commands=[ChangeRequestState],
    aliases=["申请状态"],
)
async def state(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    changed = await change_state(
        turn, args["stations_request"], args["stations_state"], args["comment"] or ""
    )
    return state_done(changed)
