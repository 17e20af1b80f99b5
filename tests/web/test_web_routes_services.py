"""The services routes over HTTP: stations and requests, aid cases, the library,
volunteering and the smile wall.

`test_examples_run` proves every documented example works in the demo building
(for the most privileged role `authz_services.ALLOWED` lets run it); the flows
below follow the area's main features end to end, reading the outcome back
through other routes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from huarong_web.api import ApiRoute
from huarong_web.routes_services import ROUTES, SERVICE_METRICS_COLUMNS
from tests.web.authz_services import ALLOWED, PREPARE, pending_photo
from tests.web.web_world import ROLE_MEMBERS, SignedIn, WebWorld

MOST_PRIVILEGED_FIRST = (
    "admin",
    "community_staff",
    "station_staff",
    "club_leader",
    "volunteer",
    "member",
)
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def request_of(
    route: ApiRoute, values: Mapping[str, Any]
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(path, query, body) of a request setting the command's fields to `values`."""
    path = route.path.format(**{name: values[name] for name in route.path_fields})
    rest = {k: v for k, v in values.items() if k not in route.path_fields}
    if route.in_query:
        return path, {k: _query_value(v) for k, v in rest.items()}, None
    return path, None, rest or None


async def send_example(client: SignedIn, route: ApiRoute) -> Any:
    path, params, body = request_of(route, route.example)
    return await client.call(route.method, path, json=body, params=params)


def test_every_route_has_its_expectation() -> None:
    ids = {route.operation_id for route in ROUTES}
    assert set(ALLOWED) == ids
    assert set(PREPARE) <= ids
    assert all(roles <= set(ROLE_MEMBERS) for roles in ALLOWED.values())


# System-only routes have no member to send them as: the authorization matrix runs
# them with a system token.
@pytest.mark.parametrize(
    "route", [r for r in ROUTES if ALLOWED[r.operation_id]], ids=lambda route: route.operation_id
)
async def test_examples_run(world: WebWorld, route: ApiRoute) -> None:
    """The example works for a role `ALLOWED` lets run it: the most privileged one it
    succeeds for (a role let through may still be refused later, with a 409 or 422
    that changes nothing, so the next one tries on the same world)."""
    allowed = ALLOWED[route.operation_id]
    prepare = PREPARE.get(route.operation_id)
    if prepare is not None:
        await prepare(world)
    answers: dict[str, tuple[int, str]] = {}
    for role in (r for r in MOST_PRIVILEGED_FIRST if r in allowed):
        response = await send_example(await world.as_role(role), route)
        if 200 <= response.status < 300:
            assert response.status == route.status or response.status == 204
            return
        assert response.status in (409, 422), (role, await response.text())
        answers[role] = (response.status, await response.text())
    pytest.fail(f"no role ran the example: {answers}")


# --- flows ---------------------------------------------------------------------------------


async def _json(response: Any, status: int) -> Any:
    text = await response.text()
    assert response.status == status, text
    return await response.json(content_type=None)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_a_member_asks_for_a_service_and_rates_the_answer(world: WebWorld) -> None:
    member = await world.as_role("member")
    staff = await world.as_role("community_staff")  # staff of every station
    other_staff = await world.as_role("station_staff")  # party_masses only

    service = await _json(await member.call("GET", "/services/car_card"), 200)
    assert service["station"] == "community_liaison"
    assert {field["key"] for field in service["form"]} == {"plate", "phone"}

    # The form is checked, and the refusal explained in the reader's language.
    incomplete = {"service_key": "car_card", "answers": {"plate": "豫H·C2468"}}
    zh = await _json(await member.call("POST", "/requests", json=incomplete, headers=ZH), 422)
    en = await _json(await member.call("POST", "/requests", json=incomplete, headers=EN), 422)
    assert zh["code"] == en["code"] == "invalid_answer"
    assert zh["errors"][0]["pointer"] == en["errors"][0]["pointer"] == "/phone"
    assert zh["errors"][0]["detail"] == "此项必填"
    assert en["errors"][0]["detail"] == "this must be filled in"
    # The form's own label too, whatever the member's profile language.
    assert "联系电话" in zh["detail"]
    assert "Phone" in en["detail"]
    assert "联系电话" not in en["detail"]

    answers = {"plate": "豫H·C2468", "phone": "139 0391 0010"}
    submitted = await _json(
        await member.call(
            "POST", "/requests", json={"service_key": "car_card", "answers": answers}
        ),
        201,
    )
    request_id = submitted["id"]
    assert submitted["state"] == "submitted"
    assert submitted["requester_id"] == ROLE_MEMBERS["member"]
    assert submitted["answers"]["phone"] == "13903910010"  # kept in its canonical form
    path = f"/requests/{request_id}"

    # Only the station's staff take its requests in hand.
    step = {"state": "accepted", "comment": ""}
    await _json(await member.call("POST", f"{path}/transitions", json=step), 403)
    await _json(await other_staff.call("POST", f"{path}/transitions", json=step), 403)
    await _json(await other_staff.call("GET", path), 403)
    accepted = await _json(await staff.call("POST", f"{path}/transitions", json=step), 200)
    assert accepted["state"] == "accepted"
    assert accepted["assignee_id"] == ROLE_MEMBERS["community_staff"]

    reply = "请带上行驶证原件到联络站领取通行证。"
    entry = await _json(await staff.call("POST", f"{path}/replies", json={"text": reply}), 201)
    assert entry["kind"] == "reply"
    note = {"text": "已与物业确认车位", "internal": True}
    await _json(await staff.call("POST", f"{path}/replies", json=note), 201)
    for state in ("in_progress", "resolved"):
        body = {"state": state, "comment": "通行证已办好" if state == "resolved" else ""}
        await _json(await staff.call("POST", f"{path}/transitions", json=body), 200)

    # The member sees the state and the reply, never the staff's note.
    seen = await _json(await member.call("GET", path), 200)
    assert seen["request"]["state"] == "resolved"
    texts = [e["text"] for e in seen["thread"]]
    assert reply in texts
    assert "通行证已办好" in texts
    assert note["text"] not in texts
    staff_view = await _json(await staff.call("GET", path), 200)
    assert note["text"] in [e["text"] for e in staff_view["thread"]]
    mine = await _json(await member.call("GET", "/me/requests"), 200)
    assert [(r["id"], r["state"]) for r in mine["items"]] == [(request_id, "resolved")]

    # Only the requester rates, once.
    rating = {"rating": 5, "comment": "办得又快又好"}
    await _json(await staff.call("POST", f"{path}/rate", json=rating), 403)
    rated = await _json(await member.call("POST", f"{path}/rate", json=rating), 200)
    assert (rated["rating"], rated["rating_comment"]) == (5, "办得又快又好")
    again = await _json(await member.call("POST", f"{path}/rate", json=rating, headers=ZH), 409)
    assert _has_cjk(again["detail"])
    after = await _json(await staff.call("GET", path), 200)
    assert after["request"]["rating"] == 5
    assert after["thread"][-1]["kind"] == "rated"


async def test_an_aid_case_is_invisible_to_staff_not_named_on_it(world: WebWorld) -> None:
    opener = await world.as_role("station_staff")
    colleague = await world.as_role("community_staff")
    admin = await world.as_role("admin")
    member = await world.as_role("member")

    body = {"member_id": 48, "category": "hardship", "description": "失业后房租困难"}
    opened = await _json(await opener.call("POST", "/aid_cases", json=body), 201)
    case_id = opened["case"]["id"]
    assert [s["member_id"] for s in opened["staff"]] == [ROLE_MEMBERS["station_staff"]]
    path = f"/aid_cases/{case_id}"

    # Not named: the case does not exist, as far as one can tell (admins included).
    missing = await _json(await colleague.call("GET", "/aid_cases/999", headers=EN), 404)
    for outsider in (colleague, admin, member):
        refused = await _json(await outsider.call("GET", path, headers=EN), 404)
        assert refused["code"] == missing["code"]
        assert "失业" not in refused["detail"]
        listed = await _json(await outsider.call("GET", "/aid_cases"), 200)
        assert (listed["items"], listed["total"]) == ([], 0)
        action = {"text": "上门走访"}
        await _json(await outsider.call("POST", f"{path}/actions", json=action), 404)
    zh = await _json(await colleague.call("GET", path, headers=ZH), 404)
    assert _has_cjk(zh["detail"])

    # Named staff read and work it, and may name a colleague.
    read = await _json(await opener.call("GET", path), 200)
    assert read["case"]["description"] == "失业后房租困难"
    action = {"text": "上门走访，送去慰问金", "taken_on": "2026-06-30"}
    await _json(await opener.call("POST", f"{path}/actions", json=action), 201)
    named = await _json(await opener.call("POST", f"{path}/staff", json={"member_id": 4}), 200)
    assert {s["member_id"] for s in named} == {2, 4}
    seen = await _json(await colleague.call("GET", path), 200)
    assert [a["text"] for a in seen["actions"]] == ["上门走访，送去慰问金"]
    listed = await _json(await colleague.call("GET", "/aid_cases"), 200)
    assert [c["id"] for c in listed["items"]] == [case_id]

    # Unnamed again, the colleague loses it.
    await _json(await opener.call("DELETE", f"{path}/staff/4"), 200)
    await _json(await colleague.call("GET", path), 404)


async def test_a_member_borrows_and_returns_a_book(world: WebWorld) -> None:
    member = await world.as_role("member")
    other = await world.as_role("volunteer")
    before = await _json(await member.call("GET", "/books/1"), 200)
    assert before["available"] == 2

    loan = await _json(await member.call("POST", "/copies/rr-0002/borrow"), 200)
    assert (loan["copy_code"], loan["member_id"]) == ("RR-0002", ROLE_MEMBERS["member"])
    assert loan["due_at"] == "2026-07-31T09:00:00+00:00"  # [library] loan_days = 30
    loans = await _json(await member.call("GET", "/me/loans"), 200)
    assert [item["copy_code"] for item in loans] == ["RR-0002"]
    during = await _json(await member.call("GET", "/books/1"), 200)
    assert during["available"] == 1
    copy = next(c for c in during["copies"] if c["code"] == "RR-0002")
    assert copy["status"] == "on_loan"

    # A copy out on loan is refused, in the reader's language.
    en = await _json(await member.call("POST", "/copies/RR-0001/borrow", headers=EN), 409)
    zh = await _json(await member.call("POST", "/copies/RR-0001/borrow", headers=ZH), 409)
    assert en["code"] == zh["code"] == "copy_unavailable"
    assert "RR-0001" in en["detail"]
    assert not _has_cjk(en["detail"])
    assert "RR-0001" in zh["detail"]
    assert _has_cjk(zh["detail"])

    # Only the borrower (or library staff) returns it.
    await _json(await other.call("POST", "/copies/RR-0002/return"), 403)
    returned = await _json(await member.call("POST", "/copies/RR-0002/return"), 200)
    assert returned["loan"]["returned_at"] == "2026-07-01T09:00:00+00:00"
    assert returned["copy"]["status"] == "available"
    assert returned["held_for"] is None
    assert await _json(await member.call("GET", "/me/loans"), 200) == []
    history = await _json(await member.call("GET", "/me/loans", params={"open_only": "false"}), 200)
    assert [(item["copy_code"], item["returned_at"] is not None) for item in history] == [
        ("RR-0002", True)
    ]
    after = await _json(await member.call("GET", "/books/1"), 200)
    assert after["available"] == 2


async def test_a_volunteer_signs_up_and_staff_confirm_the_hours(world: WebWorld) -> None:
    staff = await world.as_role("station_staff")  # runs party_masses' tasks
    volunteer = await world.as_role("volunteer")
    member = await world.as_role("member")
    now = world.clock.now()
    slot = {
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "slots": 2,
    }
    shift = await _json(await staff.call("POST", "/volunteer_tasks/1/shifts", json=slot), 201)
    shift_id = shift["id"]

    # Only team members sign up; each can read whether they are on the team.
    not_on_team = await member.call("GET", "/me/volunteer")
    assert not_on_team.status == 204
    on_team = await _json(await volunteer.call("GET", "/me/volunteer"), 200)
    assert (on_team["member_id"], on_team["by_role"]) == (ROLE_MEMBERS["volunteer"], True)
    theirs = f"/members/{ROLE_MEMBERS['volunteer']}/volunteer"
    await _json(await member.call("GET", theirs), 403)
    assert await _json(await staff.call("GET", theirs), 200) == on_team
    await _json(await member.call("POST", f"/shifts/{shift_id}/sign_up"), 409)
    signup = await _json(await volunteer.call("POST", f"/shifts/{shift_id}/sign_up"), 200)
    assert (signup["member_id"], signup["status"]) == (ROLE_MEMBERS["volunteer"], "signed_up")
    mine = await _json(await volunteer.call("GET", "/me/shifts"), 200)
    assert [item["shift"]["id"] for item in mine] == [shift_id]
    details = await _json(await volunteer.call("GET", f"/shifts/{shift_id}"), 200)
    assert details["shift"]["taken"] == 1
    assert details["mine"]["status"] == "signed_up"
    signups = await _json(await staff.call("GET", f"/shifts/{shift_id}/signups"), 200)
    assert [s["member_id"] for s in signups] == [ROLE_MEMBERS["volunteer"]]

    hours = {"member_id": ROLE_MEMBERS["volunteer"], "hours": "1.5"}
    early = await _json(
        await staff.call("POST", f"/shifts/{shift_id}/confirm_hours", json=hours, headers=ZH),
        409,
    )
    assert early["code"] == "shift_not_open"
    assert _has_cjk(early["detail"])

    world.clock.advance(hours=2)  # the shift is under way
    await _json(await volunteer.call("POST", f"/shifts/{shift_id}/withdraw"), 409)
    await _json(await member.call("POST", f"/shifts/{shift_id}/confirm_hours", json=hours), 403)
    confirmed = await _json(
        await staff.call("POST", f"/shifts/{shift_id}/confirm_hours", json=hours), 200
    )
    assert confirmed["signup"]["hours"] == "1.5"
    assert confirmed["signup"]["confirmed_at"] == world.clock.now().isoformat()
    await _json(await staff.call("POST", f"/shifts/{shift_id}/confirm_hours", json=hours), 409)

    window = {"starts_on": "2026-07-01", "ends_on": "2026-07-31"}
    own = await _json(await volunteer.call("GET", "/volunteer_hours", params=window), 200)
    assert [(r["member_id"], r["hours"], r["shifts"]) for r in own["rows"]] == [
        (ROLE_MEMBERS["volunteer"], "1.5", 1)
    ]
    nobody = await _json(await member.call("GET", "/volunteer_hours", params=window), 200)
    assert nobody["rows"] == []


async def test_service_metrics_as_json_and_csv(world: WebWorld) -> None:
    staff = await world.as_role("community_staff")
    period = {"starts_on": "2026-07-01", "ends_on": "2026-08-01"}
    report = await _json(await staff.call("GET", "/service_metrics", params=period), 200)
    assert report["total"]["requests"] == 6  # the demo's requests

    response = await staff.call("GET", "/service_metrics", params={**period, "format": "csv"})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/csv"
    assert "service_metrics.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert tuple(rows[0]) == SERVICE_METRICS_COLUMNS
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    total = table[-1]
    assert (total["row"], total["requests"], total["rated"]) == ("total", "6", "3")
    assert total["average_rating"] == str(report["total"]["average_rating"])
    groups = {(row["station"], row["affair"]): int(row["requests"]) for row in table[:-1]}
    assert sum(groups.values()) == 6
    assert groups[("community_liaison", "community")] == 4

    # Station staff see their own station's figures only.
    station_staff = await world.as_role("station_staff")
    await _json(await station_staff.call("GET", "/service_metrics", params=period), 403)
    own = {**period, "station": "party_masses"}
    mine = await _json(await station_staff.call("GET", "/service_metrics", params=own), 200)
    assert mine["total"]["requests"] == 0


async def test_a_photo_is_moderated_onto_the_smile_wall(world: WebWorld) -> None:
    await pending_photo(world)  # uploads are not JSON routes (see routes_services)
    member = await world.as_role("member")
    moderator = await world.as_role("station_staff")
    other = await world.as_role("volunteer")

    mine = await _json(await member.call("GET", "/me/photos"), 200)
    assert [(p["id"], p["status"]) for p in mine] == [(1, "pending")]
    await _json(await other.call("GET", "/photos/1"), 404)  # not approved: not theirs to see
    queue = await _json(await moderator.call("GET", "/photos"), 200)
    assert [p["id"] for p in queue] == [1]
    approved = await _json(await moderator.call("POST", "/photos/1/approve"), 200)
    assert approved["status"] == "approved"

    seen = await _json(await other.call("GET", "/photos/1"), 200)
    assert seen["caption"] == "志愿服务日的笑脸"
    wall = await _json(await other.call("GET", "/smile_wall"), 200)
    assert [p["id"] for p in wall["photos"]] == [1]
