"""The gatherings area over HTTP: clubs, venues, sessions and events, contests,
calendars and announcements.

Every route's example runs (as the most privileged role allowed to), each role
gets what `authz_gatherings.ALLOWED` says, and the area's main flows work end
to end through the API, read back through other routes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huarong_core.commands import CreateApiToken, GetPointsStatement, UpdateGathering
from huarong_web.api import ApiRoute
from huarong_web.routes import ALL_ROUTES
from huarong_web.routes_gatherings import ROUTES
from tests.web.authz_gatherings import ALLOWED, PREPARE
from tests.web.web_world import (
    ROLE_MEMBERS,
    SYSTEM,
    SignedIn,
    WebWorld,
    example_request,
    open_world,
)

ROLES_BY_POWER = ("admin", "community_staff", "station_staff", "club_leader", "volunteer", "member")
BY_ID = {route.operation_id: route for route in ROUTES}
SESSION = 9
"""The Red Coffee salon of 2026-07-08 12:30 in Jiaozuo (station `party_masses`, 16 seats)."""
SESSION_STARTS = datetime(2026, 7, 8, 4, 30, tzinfo=UTC)


async def send_example(world: WebWorld, route: ApiRoute, role: str) -> tuple[int, str]:
    """Prepare the world the example needs, then send it as `role` (signed in after
    preparing: a preparation may move the clock past a session's lifetime)."""
    prepare = PREPARE.get(route.operation_id)
    overrides = None if prepare is None else await prepare(world)
    caller = await world.as_role(role)
    response = await example_request(route, overrides).send(caller)
    return response.status, await response.text()


def _most_privileged(operation_id: str) -> str:
    allowed = ALLOWED[operation_id]
    return next(role for role in ROLES_BY_POWER if role in allowed)


def test_every_route_has_expectations() -> None:
    assert set(ALLOWED) == set(BY_ID)
    assert set(PREPARE) <= set(BY_ID)
    assert all(ALLOWED[op] <= set(ROLE_MEMBERS) for op in ALLOWED)


@pytest.mark.parametrize("operation_id", sorted(BY_ID))
async def test_examples_run(operation_id: str, world: WebWorld) -> None:
    route = BY_ID[operation_id]
    status, text = await send_example(world, route, _most_privileged(operation_id))
    assert 200 <= status < 300, text
    assert status == (204 if text == "" else route.status), text


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES_BY_POWER)
async def test_every_role_as_expected(role: str, demo_template: Path, tmp_path: Path) -> None:
    """Each role against every example, each on a fresh copy of the demo."""
    wrong: list[str] = []
    for operation_id, route in sorted(BY_ID.items()):
        place = tmp_path / operation_id
        place.mkdir()
        async with open_world(demo_template, place) as world:
            status, text = await send_example(world, route, role)
        allowed = role in ALLOWED[operation_id]
        if not (200 <= status < 300 if allowed else status == 403):
            expected = "2xx" if allowed else "403"
            wrong.append(f"{operation_id}: expected {expected}, got {status} {text[:200]}")
    assert not wrong, "\n".join(wrong)


# --- RSVPs and the waitlist ------------------------------------------------------------


async def test_a_freed_seat_goes_to_the_first_on_the_waitlist(world: WebWorld) -> None:
    staff = await world.as_role("station_staff")
    created = await staff.call(
        "POST",
        "/events",
        json={
            "title": {"en": "Calligraphy workshop", "zh_CN": "书法工作坊"},
            "event_type": "activity_day",
            "organizer": "station:party_masses",
            "starts_at": "2026-07-12T06:00:00+00:00",
            "ends_at": "2026-07-12T08:00:00+00:00",
            "capacity": 2,
        },
    )
    assert created.status == 201, await created.text()
    event_id = (await created.json())["id"]

    member, volunteer, leader = (
        await world.as_role("member"),
        await world.as_role("volunteer"),
        await world.as_role("club_leader"),
    )
    for caller in (member, volunteer):
        seat = await caller.call("POST", f"/gatherings/{event_id}/rsvp", json={"answer": "going"})
        assert seat.status == 200
        assert (await seat.json())["status"] == "going"
    late = await leader.call("POST", f"/gatherings/{event_id}/rsvp", json={"answer": "going"})
    late_rsvp = await late.json()
    assert late_rsvp["status"] == "waitlisted"
    assert late_rsvp["position"] == 1

    details = await (await leader.call("GET", f"/gatherings/{event_id}")).json()
    assert (details["going"], details["waitlisted"], details["seats_left"]) == (2, 1, 0)
    assert details["mine"]["status"] == "waitlisted"

    agenda = await (await leader.call("GET", "/me/rsvps")).json()
    [mine] = [item for item in agenda if item["gathering"]["id"] == event_id]
    assert mine["rsvp"]["status"] == "waitlisted"

    gone = await member.call("POST", f"/gatherings/{event_id}/rsvp", json={"answer": "not_going"})
    assert (await gone.json())["status"] == "not_going"

    agenda = await (await leader.call("GET", "/me/rsvps")).json()
    [mine] = [item for item in agenda if item["gathering"]["id"] == event_id]
    assert mine["rsvp"]["status"] == "going"
    going = await staff.call("GET", f"/gatherings/{event_id}/rsvps", params={"status": "going"})
    assert {r["member_id"] for r in await going.json()} == {7, 9}
    # Staff read anyone's agenda; a member reads only their own.
    theirs = await staff.call("GET", "/members/9/rsvps")
    assert event_id in {item["gathering"]["id"] for item in await theirs.json()}
    refused = await member.call("GET", "/members/9/rsvps")
    assert refused.status == 403


# --- check-in by code --------------------------------------------------------------------


async def _balance(world: WebWorld, caller: SignedIn, member_id: int) -> int:
    """The member's points balance, read through the people area's `/me` statement when
    it is routed (and checked against the core's own answer)."""
    statement = await world.handle.execute(GetPointsStatement(member_id), actor=SYSTEM)
    mine = next((r for r in ALL_ROUTES if r.operation_id == "GetMyPointsStatement"), None)
    if mine is not None:
        response = await caller.call("GET", mine.path)
        assert response.status == 200, await response.text()
        assert (await response.json())["balance"] == statement.balance
    return statement.balance


async def test_a_member_checks_in_with_the_code_staff_read_out(world: WebWorld) -> None:
    staff, member = await world.as_role("station_staff"), await world.as_role("member")
    code = await staff.call("GET", f"/gatherings/{SESSION}/check_in_code")
    assert code.status == 200
    shown = await code.json()
    assert re.fullmatch(r"\d{6}", shown["code"])
    assert datetime.fromisoformat(shown["opens_at"]) == datetime(2026, 7, 8, 4, 0, tzinfo=UTC)
    assert (await member.call("GET", f"/gatherings/{SESSION}/check_in_code")).status == 403

    too_early = await member.call(
        "POST", f"/gatherings/{SESSION}/check_in", json={"code": shown["code"]}
    )
    assert too_early.status == 409
    assert (await too_early.json())["code"] == "check_in_refused"

    before = await _balance(world, member, 10)
    world.clock.set(SESSION_STARTS.replace(minute=10))
    wrong = await member.call(
        "POST",
        f"/gatherings/{SESSION}/check_in",
        json={"code": "000000" if shown["code"] != "000000" else "111111"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert wrong.status == 409
    problem = await wrong.json()
    assert problem["code"] == "wrong_check_in_code"
    assert re.search(r"[\u4e00-\u9fff]", problem["detail"]), problem
    assert wrong.headers["Content-Language"] == "zh-CN"

    done = await member.call(
        "POST", f"/gatherings/{SESSION}/check_in", json={"code": f" {shown['code']} "}
    )
    assert done.status == 200, await done.text()
    result = await done.json()
    assert result["rsvp"]["member_id"] == 10
    assert result["rsvp"]["checked_in_at"] is not None
    awarded = sum(points for _, outcome, points in result["awards"] if outcome == "awarded")
    assert awarded == 5, result["awards"]  # the `salon` rule

    assert await _balance(world, member, 10) == before + awarded
    details = await (await staff.call("GET", f"/gatherings/{SESSION}")).json()
    assert details["checked_in"] == 1
    again = await member.call(
        "POST", f"/gatherings/{SESSION}/check_in", json={"code": shown["code"]}
    )
    assert again.status == 409


# --- clubs -------------------------------------------------------------------------------


async def test_open_clubs_admit_and_approval_clubs_wait_for_the_leader(world: WebWorld) -> None:
    member, leader = await world.as_role("member"), await world.as_role("club_leader")
    joined = await member.call("POST", "/clubs/chess/join")
    assert joined.status == 200
    assert (await joined.json())["status"] == "active"

    asked = await member.call("POST", "/clubs/kangaroo_class/join")
    assert asked.status == 200
    assert (await asked.json())["status"] == "pending"
    again = await member.call("POST", "/clubs/kangaroo_class/join")
    assert again.status == 409
    assert (await again.json())["code"] == "already_in_club"

    queue = await leader.call("GET", "/clubs/kangaroo_class/members", params={"status": "pending"})
    assert [m["member_id"] for m in await queue.json()] == [10]
    assert (
        await member.call("GET", "/clubs/kangaroo_class/members", params={"status": "pending"})
    ).status == 403
    not_theirs = await member.call(
        "POST", "/clubs/kangaroo_class/requests/10/decide", json={"approve": True}
    )
    assert not_theirs.status == 403

    decided = await leader.call(
        "POST", "/clubs/kangaroo_class/requests/10/decide", json={"approve": True}
    )
    assert decided.status == 200, await decided.text()
    assert (await decided.json())["status"] == "active"

    mine = await (await member.call("GET", "/me/clubs")).json()
    status = {m["club_key"]: m["status"] for m in mine}
    assert status["chess"] == "active"
    assert status["kangaroo_class"] == "active"
    club = await (await member.call("GET", "/clubs/kangaroo_class")).json()
    assert club["pending"] == 0
    assert 9 in club["leaders"]


# --- venues ------------------------------------------------------------------------------


async def test_an_overlapping_booking_is_refused(world: WebWorld) -> None:
    staff = await world.as_role("community_staff")
    first = await staff.call(
        "POST",
        "/venues/club_room_b/bookings",
        json={
            "purpose": "Board meeting",
            "starts_at": "2026-07-02T06:00:00+00:00",
            "ends_at": "2026-07-02T07:30:00+00:00",
        },
    )
    assert first.status == 201, await first.text()
    [booking] = (await first.json())["booked"]

    problems = {}
    for language in ("en", "zh-CN"):
        clash = await staff.call(
            "POST",
            "/venues/club_room_b/bookings",
            json={
                "purpose": "Yoga",
                "starts_at": "2026-07-02T07:00:00+00:00",
                "ends_at": "2026-07-02T08:00:00+00:00",
            },
            headers={"Accept-Language": language},
        )
        assert clash.status == 409
        assert clash.content_type == "application/problem+json"
        problems[language] = await clash.json()
    assert problems["en"]["code"] == problems["zh-CN"]["code"] == "venue_unavailable"
    assert problems["en"]["detail"] != problems["zh-CN"]["detail"]
    assert re.search(r"[\u4e00-\u9fff]", problems["zh-CN"]["detail"])

    listed = await staff.call("GET", "/bookings", params={"venue_key": "club_room_b"})
    assert [b["purpose"] for b in await listed.json()].count("Board meeting") == 1
    assert "Yoga" not in {b["purpose"] for b in await listed.json()}

    # Cancelled, the slot is free again.
    cancelled = await staff.call("DELETE", f"/bookings/{booking['id']}")
    assert cancelled.status == 200
    retry = await staff.call(
        "POST",
        "/venues/club_room_b/bookings",
        json={
            "purpose": "Yoga",
            "starts_at": "2026-07-02T07:00:00+00:00",
            "ends_at": "2026-07-02T08:00:00+00:00",
        },
    )
    assert retry.status == 201


# --- calendars ---------------------------------------------------------------------------


async def test_calendar_feeds_are_icalendar_in_the_readers_language(world: WebWorld) -> None:
    leader = await world.as_role("club_leader")  # Emily reads English
    feed = await leader.call("GET", "/calendars/salon.ics", params={"key": "english"})
    assert feed.status == 200
    assert feed.content_type == "text/calendar"
    body = await feed.text()
    assert body.startswith("BEGIN:VCALENDAR")
    assert "SUMMARY:English salon" in body

    member = await world.as_role("member")  # 郑晓明 reads the community's Chinese
    body = await (
        await member.call("GET", "/calendars/salon.ics", params={"key": "english"})
    ).text()
    assert "SUMMARY:英语沙龙" in body

    unknown = await member.call("GET", "/calendars/salon.ics", params={"key": "nope"})
    assert unknown.status == 404
    bad_feed = await member.call("GET", "/calendars/planets.ics")
    assert bad_feed.status == 404


async def test_a_polled_feed_reads_the_same_until_something_changes(world: WebWorld) -> None:
    """DTSTAMP is a session's last change, not the time of the request: a calendar app
    polling the feed gets 304 until a session changes."""
    member = await world.as_role("member")
    first = await member.call("GET", "/calendars/salon.ics", params={"key": "english"})
    body, tag = await first.text(), first.headers["ETag"]
    world.clock.advance(minutes=5)
    again = await member.call("GET", "/calendars/salon.ics", params={"key": "english"})
    assert await again.text() == body
    unchanged = await member.call(
        "GET", "/calendars/salon.ics", params={"key": "english"}, headers={"If-None-Match": tag}
    )
    assert unchanged.status == 304
    found = re.search(r"UID:gathering-(\d+)@", body)
    assert found is not None
    await world.handle.execute(
        UpdateGathering(int(found.group(1)), topic="Idioms about tea"), actor=SYSTEM
    )
    changed = await member.call(
        "GET", "/calendars/salon.ics", params={"key": "english"}, headers={"If-None-Match": tag}
    )
    assert changed.status == 200
    assert "Idioms about tea" in await changed.text()
    assert changed.headers["ETag"] != tag


async def test_a_calendar_app_reads_a_feed_with_a_token_in_the_url(world: WebWorld) -> None:
    created = await world.handle.execute(
        CreateApiToken("calendar", frozenset({"read"}), member_id=9), actor=SYSTEM
    )
    anonymous = await world.client()
    feed = await anonymous.get(
        "/api/v1/calendars/member.ics", params={"access_token": created.token}
    )
    assert feed.status == 200, await feed.text()
    assert (await feed.text()).startswith("BEGIN:VCALENDAR")
    # Without it, no feed.
    assert (await anonymous.get("/api/v1/calendars/member.ics")).status == 401


# --- announcements -----------------------------------------------------------------------


async def test_an_announcement_reaches_the_stations_subscribers(world: WebWorld) -> None:
    staff = await world.as_role("station_staff")
    volunteer, member = await world.as_role("volunteer"), await world.as_role("member")
    for caller in (volunteer, member):
        subscribed = await caller.call("POST", "/stations/party_masses/subscription")
        assert subscribed.status == 201
    mine = await (await member.call("GET", "/me/station_subscriptions")).json()
    assert [s["station_key"] for s in mine] == ["party_masses"]

    posted = await staff.call(
        "POST",
        "/announcements",
        json={
            "audience": "station:party_masses",
            "title": "Red Coffee salon",
            "body": "We meet on Thursday this week.",
        },
    )
    assert posted.status == 201, await posted.text()
    announcement = await posted.json()
    assert announcement["members"] == 2
    assert announcement["scope"] == "station:party_masses"

    status = await staff.call("GET", f"/announcements/{announcement['id']}/status")
    assert status.status == 200
    report = await status.json()
    assert report["total"] == 2
    # 孙丽 has a chat account and waits to be sent; 郑晓明 has none.
    assert report["counts"]["pending"] == 1
    assert report["counts"]["unreachable"] == 1
    deliveries = await staff.call(
        "GET", f"/announcements/{announcement['id']}/deliveries", params={"state": "unreachable"}
    )
    page = await deliveries.json()
    assert [d["member_id"] for d in page["items"]] == [10]

    inbox = await (await member.call("GET", "/announcements")).json()
    assert [a["title"] for a in inbox] == ["Red Coffee salon"]
    assert (await member.call("GET", f"/announcements/{announcement['id']}/status")).status == 403
    own = await member.call(
        "GET", f"/announcements/{announcement['id']}/deliveries", params={"member_id": 10}
    )
    assert own.status == 200
    assert (await own.json())["total"] == 1

    left = await member.call("DELETE", "/stations/party_masses/subscription")
    assert left.status == 200
    assert await (await member.call("GET", "/me/station_subscriptions")).json() == []
