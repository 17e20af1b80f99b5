"""The people routes over HTTP: every example works, and the main flows end to end.

Organizations, members and their accounts, roles, points, the shop,
leaderboards, honours, reports and the audit log (`huarong_web.routes_people`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from huarong_web.api import ApiRoute
from huarong_web.routes_people import ROUTES
from tests.web.authz_people import ALLOWED, PREPARE
from tests.web.web_world import SignedIn, WebWorld, api_token, bearer, example_request

BY_PRIVILEGE = ("admin", "community_staff", "station_staff", "club_leader", "volunteer", "member")
"""Roles from the most to the least privileged."""


async def system_client(world: WebWorld) -> SignedIn:
    """A client holding an API token with the `system` scope (an integration)."""
    _, token = await api_token(world, 1, {"system"})
    return await bearer(world, token)


async def caller_for(world: WebWorld, operation_id: str) -> SignedIn:
    """The most privileged role the core lets run the example (a system token when
    no role may)."""
    allowed = ALLOWED[operation_id]
    for role in BY_PRIVILEGE:
        if role in allowed:
            return await world.as_role(role)
    return await system_client(world)


def test_every_route_has_an_expectation() -> None:
    operation_ids = {route.operation_id for route in ROUTES}
    assert set(ALLOWED) == operation_ids
    assert set(PREPARE) <= operation_ids


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.operation_id)
async def test_examples_run(world: WebWorld, route: ApiRoute) -> None:
    prepare = PREPARE.get(route.operation_id)
    request = example_request(route, prepare and await prepare(world))
    caller = await caller_for(world, route.operation_id)
    response = await request.send(caller)
    assert 200 <= response.status < 300, await response.text()
    assert response.status == (204 if response.status == 204 else route.status)


# --- flows -------------------------------------------------------------------------------


def _csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "a BOM, for spreadsheet programs"
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_a_member_reads_their_own_statement_as_json_and_csv(world: WebWorld) -> None:
    member = await world.as_role("member")
    mine = await member.call("GET", "/me/points", params={"limit": "50"})
    assert mine.status == 200
    statement = await mine.json()
    assert statement["member_id"] == 10
    assert statement["balance"] == 39
    assert statement["entries"], "the demo gave 郑晓明 points"
    assert statement["entries"][0]["balance_after"] == statement["balance"]

    same = await member.call("GET", "/members/10/points", params={"limit": "50"})
    assert (await same.json()) == statement

    exported = await member.call("GET", "/me/points", params={"limit": "50", "format": "csv"})
    assert exported.status == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "points-statement.csv" in exported.headers["Content-Disposition"]
    rows = _csv_rows(await exported.text())
    assert rows[0] == ["id", "time", "kind", "reason", "delta", "balance"]
    assert len(rows) == len(statement["entries"]) + 1
    first = statement["entries"][0]
    assert rows[1][0] == str(first["id"])
    assert rows[1][4] == f"{first['delta']:+d}"
    assert rows[1][5] == str(first["balance_after"])


async def test_a_member_cannot_read_another_members_statement(world: WebWorld) -> None:
    member = await world.as_role("member")
    for format_ in ("json", "csv"):
        refused = await member.call("GET", "/members/11/points", params={"format": format_})
        assert refused.status == 403
        problem = await refused.json()
        assert problem["code"] == "permission_denied"
        assert refused.headers["Content-Type"].startswith("application/problem+json")
    staff = await world.as_role("station_staff")
    assert (await staff.call("GET", "/members/11/points")).status == 200


async def test_redeeming_twice_with_one_idempotency_key_charges_once(world: WebWorld) -> None:
    member = await world.as_role("member")
    before = (await (await member.call("GET", "/me/points")).json())["balance"]
    key = {"Idempotency-Key": "redeem-notebook-1"}
    body = {"quantity": 1}
    first = await member.call("POST", "/shop_items/notebook/redeem", json=body, headers=key)
    assert first.status == 201, await first.text()
    again = await member.call("POST", "/shop_items/notebook/redeem", json=body, headers=key)
    assert again.status == 201
    assert (await again.json()) == (await first.json())

    mine = await (await member.call("GET", "/me/redemptions")).json()
    assert [(r["item_key"], r["quantity"], r["points"]) for r in mine] == [("notebook", 1, 30)]
    after = (await (await member.call("GET", "/me/points")).json())["balance"]
    assert after == before - 30

    other = await member.call(
        "POST", "/shop_items/notebook/redeem", json={"quantity": 2}, headers=key
    )
    assert other.status == 422
    assert (await other.json())["code"] == "idempotency_key_reused"
    assert len(await (await member.call("GET", "/me/redemptions")).json()) == 1


async def test_the_leaderboard_answers_304_to_its_own_etag(world: WebWorld) -> None:
    member = await world.as_role("member")
    first = await member.call("GET", "/leaderboards/all", params={"limit": "5"})
    assert first.status == 200
    board = await first.json()
    assert board["board"] == "all"
    assert [e["rank"] for e in board["entries"]] == sorted(e["rank"] for e in board["entries"])
    tag = first.headers["ETag"]
    unchanged = await member.call(
        "GET", "/leaderboards/all", params={"limit": "5"}, headers={"If-None-Match": tag}
    )
    assert unchanged.status == 304
    assert unchanged.headers["ETag"] == tag

    staff = await world.as_role("community_staff")
    awarded = await staff.call(
        "POST", "/members/10/points", json={"points": 100, "reason": "年度优秀志愿者"}
    )
    assert awarded.status == 201
    changed = await member.call(
        "GET", "/leaderboards/all", params={"limit": "5"}, headers={"If-None-Match": tag}
    )
    assert changed.status == 200
    assert (await changed.json())["entries"][0]["member_id"] == 10

    exported = await member.call("GET", "/leaderboards/all", params={"limit": "5", "format": "csv"})
    rows = _csv_rows(await exported.text())
    assert rows[0] == ["rank", "member_id", "name", "score"]
    assert rows[1][:3] == ["1", "10", "郑晓明"]


async def test_staff_award_points_and_the_member_sees_them(world: WebWorld) -> None:
    member = await world.as_role("member")
    before = await (await member.call("GET", "/me/points")).json()
    staff = await world.as_role("station_staff")
    awarded = await staff.call(
        "POST", "/members/10/points", json={"points": 8, "reason": "协助布置主题党日会场"}
    )
    assert awarded.status == 201, await awarded.text()
    entry = await awarded.json()
    assert (entry["member_id"], entry["delta"], entry["kind"]) == (10, 8, "manual")

    after = await (await member.call("GET", "/me/points")).json()
    assert after["balance"] == before["balance"] + 8
    assert after["entries"][0]["reason"] == "协助布置主题党日会场"
    rank = await member.call("GET", "/me/ranks/all")
    assert (await rank.json())["score"] == before["score"] + 8

    refused = await member.call("POST", "/members/10/points", json={"points": 8, "reason": "x"})
    assert refused.status == 403


async def test_an_organization_report_as_csv_for_a_period(world: WebWorld) -> None:
    staff = await world.as_role("station_staff")
    period = {"starts_on": "2026-10-01", "ends_on": "2026-12-31"}
    report = await (await staff.call("GET", "/organizations/7/report", params=period)).json()
    assert report["organization"] == "焦作电商基地"
    by_member = {row["member_id"]: row for row in report["rows"]}
    assert set(by_member) == {4, 5, 7, 17, 18}

    exported = await staff.call(
        "GET", "/organizations/7/report", params={**period, "format": "csv"}
    )
    assert exported.status == 200
    assert "organization-report.csv" in exported.headers["Content-Disposition"]
    rows = _csv_rows(await exported.text())
    header = rows[0]
    assert header[:2] == ["member_id", "name"]
    assert header[-3:] == ["points_earned", "points_spent", "balance"]
    assert "salon.checked_in" in header
    assert len(rows) == 1 + len(by_member)
    for line in rows[1:]:
        row = by_member[int(line[0])]
        assert line[1] == row["display_name"]
        assert int(line[header.index("points_earned")]) == row["points_earned"]
        assert int(line[header.index("salon.checked_in")]) == row["activities"].get(
            "salon.checked_in", 0
        )

    summer = await staff.call(
        "GET",
        "/organizations/7/report",
        params={"starts_on": "2026-07-01", "ends_on": "2026-07-31", "format": "csv"},
    )
    quiet = _csv_rows(await summer.text())
    assert all(line[-3:-1] == ["0", "0"] for line in quiet[1:]), "nothing earned in July"

    member = await world.as_role("member")
    assert (await member.call("GET", "/organizations/7/report", params=period)).status == 403


@pytest.mark.parametrize(
    ("body", "pointer", "english", "chinese"),
    [
        ({"points": "5", "reason": "好"}, "/points", "integer", "应为 integer"),
        ({"points": 5, "reason": "好", "bonus": 1}, "/bonus", "nknown", "未知字段"),
    ],
)
async def test_an_invalid_body_names_the_field_in_the_readers_language(
    world: WebWorld, body: dict[str, Any], pointer: str, english: str, chinese: str
) -> None:
    staff = await world.as_role("admin")
    for language, expected in (("en", english), ("zh-CN", chinese)):
        refused = await staff.call(
            "POST", "/members/10/points", json=body, headers={"Accept-Language": language}
        )
        assert refused.status == 422
        problem = await refused.json()
        assert problem["code"] == "invalid_request"
        assert refused.headers["Content-Language"] == ("en" if language == "en" else "zh-CN")
        [error] = problem["errors"]
        assert error["pointer"] == pointer
        assert expected in error["detail"]
        if language == "zh-CN":
            assert "请求" in problem["detail"]
    statement = await (await staff.call("GET", "/members/10/points")).json()
    assert statement["balance"] == 39, "nothing changed"


async def test_the_audit_log_as_csv(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    params = {"action": "member.register", "limit": "5"}
    entries = await (await admin.call("GET", "/audit_entries", params=params)).json()
    assert len(entries) == 5
    assert {e["action"] for e in entries} == {"member.register"}
    exported = await admin.call("GET", "/audit_entries", params={**params, "format": "csv"})
    rows = _csv_rows(await exported.text())
    assert rows[0] == ["id", "time", "actor", "action", "target", "details"]
    assert [int(line[0]) for line in rows[1:]] == [e["id"] for e in entries]
    staff = await world.as_role("community_staff")
    assert (await staff.call("GET", "/audit_entries", params=params)).status == 403


async def test_system_routes_answer_a_system_token_only(world: WebWorld) -> None:
    body = {"platform": "telegram", "external_id": "5200001", "display_name": "小林"}
    admin = await world.as_role("admin")
    refused = await admin.call("POST", "/system/chat_members", json=body)
    assert refused.status == 403
    system = await system_client(world)
    made = await system.call("POST", "/system/chat_members", json=body)
    assert made.status == 201, await made.text()
    profile = await made.json()
    assert profile["member"]["display_name"] == "小林"
    found = await admin.call(
        "GET", "/lookups/identities", params={"platform": "telegram", "external_id": "5200001"}
    )
    assert (await found.json())["member"]["id"] == profile["member"]["id"]


async def test_an_api_token_made_on_the_web_signs_in_until_revoked(world: WebWorld) -> None:
    member = await world.as_role("member")
    made = await member.call("POST", "/me/api_tokens", json={"name": "脚本", "scopes": ["read"]})
    assert made.status == 201, await made.text()
    secret = await made.json()
    assert secret["token"].startswith("hr_")
    bearer = SignedIn(await world.client(), {"Authorization": f"Bearer {secret['token']}"})
    me = await bearer.call("GET", "/me")
    assert me.status == 200
    assert (await me.json())["member"]["id"] == 10
    write = await bearer.call("POST", "/shop_items/notebook/redeem", json={})
    assert write.status == 403
    assert (await write.json())["code"] == "token_scope"

    listed = await (await member.call("GET", "/me/api_tokens")).json()
    assert [t["name"] for t in listed["items"]] == ["脚本"]
    assert "token" not in listed["items"][0]
    token_id = secret["info"]["id"]
    other = await world.as_role("volunteer")
    assert (await other.call("DELETE", f"/api_tokens/{token_id}")).status == 403
    revoked = await member.call("DELETE", f"/api_tokens/{token_id}")
    assert revoked.status == 200
    assert (await revoked.json())["revoked_at"] is not None
    assert (await bearer.call("GET", "/me")).status == 401


async def test_linking_a_second_account_through_a_code(world: WebWorld) -> None:
    member = await world.as_role("member")
    made = await member.call("POST", "/me/link_codes")
    assert made.status == 201
    code = (await made.json())["code"]
    system = await system_client(world)
    await system.call(
        "POST",
        "/system/chat_members",
        json={"platform": "telegram", "external_id": "5200010", "display_name": "晓明"},
    )
    # The chat account's new member redeems the code: it is merged into 郑晓明.
    admin = await world.as_role("admin")
    linked = await admin.call(
        "POST",
        "/link_codes/redeem",
        json={"code": code, "platform": "telegram", "external_id": "5200010"},
    )
    assert linked.status == 200, await linked.text()
    result = await linked.json()
    assert result["survivor"]["id"] == 10
    assert result["absorbed_id"] != 10
    mine = await (await member.call("GET", "/me")).json()
    accounts = {(i["ref"]["platform"], i["ref"]["external_id"]) for i in mine["identities"]}
    assert ("telegram", "5200010") in accounts


async def test_a_name_that_looks_like_a_formula_stays_text_in_csv(world: WebWorld) -> None:
    member = await world.as_role("member")
    renamed = await member.call("PATCH", "/me", json={"display_name": "=SUM(A1:A9)"})
    assert renamed.status == 200, await renamed.text()
    assert (await renamed.json())["display_name"] == "=SUM(A1:A9)"
    staff = await world.as_role("station_staff")
    period = {"starts_on": "2026-10-01", "ends_on": "2026-12-31", "format": "csv"}
    exported = await staff.call("GET", "/organizations/9/report", params=period)
    rows = {line[0]: line for line in _csv_rows(await exported.text())[1:]}
    assert rows["10"][1] == "'=SUM(A1:A9)"


async def test_an_admin_takes_a_member_out_of_their_organization(world: WebWorld) -> None:
    member, admin = await world.as_role("member"), await world.as_role("admin")
    mine = await (await member.call("GET", "/me")).json()
    assert mine["member"]["organization_id"] is not None
    path = f"/members/{mine['member']['id']}"
    own = await member.call("PATCH", "/me", json={"leave_organization": True})
    assert own.status == 403, await own.text()
    both = await admin.call("PATCH", path, json={"organization_id": 9, "leave_organization": True})
    assert both.status == 422, await both.text()
    assert (await both.json())["errors"][0]["pointer"] == "/organization_id"
    left = await admin.call("PATCH", path, json={"leave_organization": True})
    assert left.status == 200, await left.text()
    assert (await left.json())["organization_id"] is None
