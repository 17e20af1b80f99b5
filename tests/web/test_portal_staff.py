"""The staff console: every page in both languages, its forms end to end, its refusals.

Pages are read and forms posted as a browser would (a session cookie, the
form's hidden `csrf_token` and `form_key`); what a form changed is read back
through a page or through the core. The charts module is checked on its own
at the end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import attrs
import pytest
from aiohttp import ClientResponse

from huarong_core import Actor
from huarong_core.commands import (
    CheckIn,
    FireDueTimers,
    GetCheckInCode,
    GetRequest,
    ListAnnouncements,
    ListPendingAwards,
    ListPhotos,
    ListRedemptions,
    ListReflections,
    SubmitRequest,
)
from huarong_core.domain.library import ReflectionStatus
from huarong_core.domain.services import EntryKind, RequestState
from huarong_core.domain.shop import RedemptionStatus
from huarong_core.domain.smile_wall import PhotoStatus
from huarong_core.i18n import translate
from huarong_web.portal.charts import (
    ChartText,
    Series,
    bar_chart,
    format_number,
    histogram,
    line_chart,
)
from huarong_web.portal.staff_dashboard import BANDS, band_of
from huarong_web.settings import WebSettings
from tests.web.authz_people import pending_award
from tests.web.authz_services import pending_photo, submitted_reflection
from tests.web.web_world import SYSTEM, SignedIn, WebWorld, open_world

MEMBER = Actor.member(10, "郑晓明")
"""The `member` role's person: the requester of the requests made here."""
SESSION = 9
"""The Red Coffee salon session of 2026-07-08 12:30 (station `party_masses`)."""
IN_WINDOW = datetime(2026, 7, 8, 4, 15, tzinfo=UTC)
"""A quarter of an hour before it starts: check-in is open."""
KEY = "k" * 12
"""A form key (the page draws one; any 8-64 characters do)."""

PAGES = (
    "/staff",
    "/staff?days=90",
    "/staff/requests",
    "/staff/requests?state=all",
    "/staff/requests?state=resolved&who=nobody",
    "/staff/requests/4",
    f"/staff/check-in/{SESSION}",
    "/staff/shop",
    "/staff/approvals",
    "/staff/announcements",
    "/staff/venues",
    "/staff/venues?week=2026-07-08",
    "/staff/audit",
    "/staff/exports",
)
TITLES = {
    "en": {"/staff": "Staff console", "/staff/requests": "Service requests"},
    "zh_CN": {"/staff": "工作台", "/staff/requests": "服务工单"},
}


# --- helpers --------------------------------------------------------------------------


def _headers(who: SignedIn, lang: str | None = None) -> dict[str, str]:
    headers = dict(who.headers)
    if lang is not None:
        headers["Cookie"] = f"{headers['Cookie']}; huarong_lang={lang}"
    return headers


async def page(who: SignedIn, path: str, lang: str = "en") -> tuple[int, str]:
    """A page's status and text; no text on it is a catalog key left untranslated."""
    response = await who.client.get(path, headers=_headers(who, lang), allow_redirects=False)
    text = await response.text()
    assert re.search(r"portal\.[a-z_]+\.[a-z_]", text) is None, (path, text)
    return response.status, text


async def post(
    who: SignedIn, path: str, fields: Mapping[str, str], key: str = KEY
) -> ClientResponse:
    data = {"csrf_token": who.headers["X-CSRF-Token"], "form_key": key, **fields}
    return await who.client.post(path, data=data, headers=_headers(who), allow_redirects=False)


def field_error(html: str, name: str) -> str:
    """The error shown beside field `name` (the `field` macro's `e-<name>`)."""
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found is not None, f"no error beside {name}"
    return found.group(1)


class Audit(HTMLParser):
    """What an accessibility review checks first: labelled controls, buttons with text,
    headings without skipped levels, tables with header cells, one `h1`."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self.levels: list[int] = []
        self.tables = 0
        self.headers = 0
        self.button_open = False
        self.button_text = ""
        self.empty_buttons = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labels.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(str(found.get("id", "")))
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
        if tag == "th":
            self.headers += 1
        if tag == "button":
            self.button_open, self.button_text = True, ""

    def handle_data(self, data: str) -> None:
        if self.button_open:
            self.button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self.button_open = False
            self.empty_buttons += not self.button_text.strip()

    def problems(self) -> list[str]:
        found = [f"unlabelled control #{c}" for c in self.controls if c not in self.labels]
        if self.empty_buttons:
            found.append(f"{self.empty_buttons} buttons without text")
        if self.levels.count(1) != 1:
            found.append(f"{self.levels.count(1)} h1")
        for before, after in zip(self.levels, self.levels[1:], strict=False):
            if after > before + 1:
                found.append(f"heading h{before} then h{after}")
        if self.tables and self.headers == 0:
            found.append("a table without th")
        return found


def accessibility_problems(html: str) -> list[str]:
    audit = Audit()
    audit.feed(html)
    return audit.problems()


async def new_request(world: WebWorld) -> int:
    """Request #7: the member's car card (community liaison station), just submitted."""
    made = await world.handle.execute(
        SubmitRequest("car_card", {"plate": "豫H·D1357", "phone": "13903910010"}), actor=MEMBER
    )
    return made.id


# --- every page, both languages ---------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_every_page_renders_for_an_administrator_in_both_languages(
    world: WebWorld, lang: str
) -> None:
    await pending_photo(world)
    await submitted_reflection(world)
    admin = await world.as_role("admin")
    for path in PAGES:
        status, html = await page(admin, path, lang)
        assert status == 200, (path, html[:2000])
        assert f'<html lang="{lang.replace("_", "-")}">' in html
        assert 'aria-label="' in html
        assert "staff-nav" in html
        assert accessibility_problems(html) == [], path
        title = TITLES[lang].get(path)
        if title is not None:
            assert f"<h1>{title}</h1>" in html, path
    status, html = await page(admin, f"/staff/check-in/{SESSION}/attendance", lang)
    assert status == 200
    assert "<html" not in html  # a fragment, for the live view


@pytest.mark.parametrize("role", ["station_staff", "community_staff", "club_leader"])
async def test_the_dashboard_shows_each_role_what_the_core_lets_it_read(
    world: WebWorld, role: str
) -> None:
    who = await world.as_role(role)
    status, html = await page(who, "/staff")
    assert status == 200
    assert accessibility_problems(html) == []
    charts = html.count('role="img"')
    if role == "club_leader":
        # No reports, no members' balances: the participation and club charts remain.
        assert "Your role does not include these figures." in html
        assert charts == 2
    else:
        assert charts == 4
        assert html.count("<details><summary>The figures as a table</summary>") == 4


# --- refusals ----------------------------------------------------------------------------


async def test_someone_without_a_staff_grant_gets_a_friendly_refusal(world: WebWorld) -> None:
    member = await world.as_role("member")
    for path in (*PAGES, "/staff/requests/7"):
        status, html = await page(member, path)
        assert status == 403, path
        assert "This part of the staff console is not open to your role" in html
    status, html = await page(member, "/staff", "zh_CN")
    assert status == 403
    assert "您的角色无权使用工作台的这一部分" in html
    response = await post(member, "/staff/requests/4/transition", {"to": "accepted"})
    assert response.status == 403
    status, _ = await page(member, f"/staff/check-in/{SESSION}/attendance")
    assert status == 403


async def test_the_console_sends_an_anonymous_reader_to_sign_in(world: WebWorld) -> None:
    anonymous = await world.client()
    response = await anonymous.get("/staff/requests", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/sign-in?next=")
    # The live part never redirects (the screen keeps its last list instead).
    part = await anonymous.get(f"/staff/check-in/{SESSION}/attendance", allow_redirects=False)
    assert part.status == 401


async def test_staff_are_refused_what_their_role_does_not_cover(world: WebWorld) -> None:
    leader = await world.as_role("club_leader")
    for path in ("/staff/requests", "/staff/shop", "/staff/approvals", "/staff/audit"):
        status, html = await page(leader, path)
        assert status == 403, path
        assert "Back to the staff console" in html
    # 李敏 works party_masses only: request #4 is the community liaison station's.
    staff = await world.as_role("station_staff")
    status, _ = await page(staff, "/staff/requests/4")
    assert status == 403
    status, html = await page(staff, "/staff/requests/999")
    assert status == 404
    assert '<p class="error" role="alert">' in html


async def test_odd_addresses_get_a_page_not_an_error(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    huge = "9" * 30
    for path in (f"/staff/requests/{huge}", f"/staff/check-in/{huge}/attendance"):
        status, _ = await page(admin, path)
        assert status == 404, path
    for path in (
        f"/staff/audit?before={huge}",
        "/staff/venues?week=0001-01-01",
        "/staff/venues?week=9999-12-31",
        "/staff/requests?state=nonsense&page=x&station=nowhere",
        "/staff?days=7&station=nowhere",
    ):
        status, _ = await page(admin, path)
        assert status == 200, path


# --- the request desk --------------------------------------------------------------------


async def test_a_request_is_worked_through_and_its_requester_sees_each_step(
    world: WebWorld,
) -> None:
    request_id = await new_request(world)
    staff = await world.as_role("community_staff")
    status, html = await page(staff, "/staff/requests")
    assert status == 200
    assert f'href="/staff/requests/{request_id}"' in html
    assert "new" in html
    assert "due 2026-07-" in html
    status, html = await page(staff, f"/staff/requests/{request_id}")
    assert status == 200
    assert "豫H·D1357" in html
    assert "Number plate" in html
    assert re.search(r'<button type="submit" name="to" value="accepted"[^>]*>Accept</button>', html)

    steps = [
        ("accepted", "已收到，今天下午办理。", "Accepted."),
        ("in_progress", "", "Work has started."),
    ]
    for n, (state, note, said) in enumerate(steps):
        # The pressed button's step comes in the URL too: a browser leaves the button's
        # own value out when a script disables it as the form goes (portal.js does).
        assert f'formaction="/staff/requests/{request_id}/transition?to={state}"' in html
        response = await post(
            staff,
            f"/staff/requests/{request_id}/transition?to={state}",
            {"note": note},
            key=f"step-{n}-{KEY}",
        )
        assert response.status == 303, await response.text()
        assert response.headers["Location"] == f"/staff/requests/{request_id}?done={state}"
        status, html = await page(staff, response.headers["Location"])
        assert said in html
    response = await post(
        staff,
        f"/staff/requests/{request_id}/reply",
        {"text": "车证已办好，请到一楼服务台领取。"},
        key=f"reply-{KEY}",
    )
    assert response.status == 303
    response = await post(
        staff,
        f"/staff/requests/{request_id}/transition",
        {"to": "resolved", "note": "已办结"},
        key=f"resolve-{KEY}",
    )
    assert response.status == 303
    status, html = await page(staff, f"/staff/requests/{request_id}")
    assert "resolved" in html
    assert "done in time" in html
    assert "车证已办好，请到一楼服务台领取。" in html
    assert re.search(r'<button type="submit" name="to" value="closed"[^>]*>Close</button>', html)

    seen = await world.handle.execute(GetRequest(request_id), actor=MEMBER)
    assert seen.request.state is RequestState.RESOLVED
    replies = [e.text for e in seen.thread if e.kind is EntryKind.REPLY]
    assert replies == ["车证已办好，请到一楼服务台领取。"]
    comments = [e.text for e in seen.thread if e.kind is EntryKind.STATE and e.text]
    assert comments == ["已收到，今天下午办理。", "已办结"]


async def test_a_refused_step_is_explained_beside_the_note_and_keeps_what_was_typed(
    world: WebWorld,
) -> None:
    request_id = await new_request(world)
    staff = await world.as_role("community_staff")
    response = await post(
        staff, f"/staff/requests/{request_id}/transition", {"to": "rejected", "note": ""}
    )
    assert response.status == 422
    html = await response.text()
    assert field_error(html, "note") == translate("reason.reason_required", "en")
    assert 'role="alert" id="form-error"' in html

    # Resolving what has not started is not a step of the workflow: said at the top.
    response = await post(
        staff,
        f"/staff/requests/{request_id}/transition",
        {"to": "resolved", "note": "草稿：等材料齐了再办"},
        key=f"again-{KEY}",
    )
    assert response.status == 422
    html = await response.text()
    assert 'id="form-error"' in html
    assert ">草稿：等材料齐了再办</textarea>" in html
    seen = await world.handle.execute(GetRequest(request_id), actor=MEMBER)
    assert seen.request.state is RequestState.SUBMITTED

    response = await post(
        staff, f"/staff/requests/{request_id}/reply", {"text": "  "}, key=f"reply-{KEY}"
    )
    assert response.status == 422
    assert field_error(await response.text(), "text")

    # In Chinese, the same refusal in Chinese.
    response = await staff.client.post(
        f"/staff/requests/{request_id}/transition",
        data={
            "csrf_token": staff.headers["X-CSRF-Token"],
            "form_key": f"zh-{KEY}",
            "to": "rejected",
        },
        headers=_headers(staff, "zh_CN"),
        allow_redirects=False,
    )
    assert response.status == 422
    assert re.search(r"[\u4e00-\u9fff]", field_error(await response.text(), "note"))


async def test_a_resubmitted_form_changes_nothing_twice(world: WebWorld) -> None:
    request_id = await new_request(world)
    staff = await world.as_role("community_staff")
    for _ in range(2):
        response = await post(
            staff, f"/staff/requests/{request_id}/transition", {"to": "accepted", "note": "好的"}
        )
        assert response.status == 303
        assert response.headers["Location"].endswith("?done=accepted")
    for _ in range(2):
        response = await post(
            staff, f"/staff/requests/{request_id}/reply", {"text": "请带身份证。"}, key="r" * 10
        )
        assert response.status == 303
    seen = await world.handle.execute(GetRequest(request_id), actor=SYSTEM)
    assert seen.request.state is RequestState.ACCEPTED
    assert [e.kind for e in seen.thread].count(EntryKind.STATE) == 1
    assert [e.text for e in seen.thread if e.kind is EntryKind.REPLY] == ["请带身份证。"]


async def test_staff_assign_a_request_and_write_internal_notes(world: WebWorld) -> None:
    request_id = await new_request(world)
    staff = await world.as_role("community_staff")
    status, html = await page(staff, f"/staff/requests/{request_id}")
    assert status == 200
    assert '<option value="4">陈静 (me)</option>' in html
    response = await post(staff, f"/staff/requests/{request_id}/assign", {"assignee": "4"})
    assert response.status == 303
    _, html = await page(staff, "/staff/requests?who=me")
    assert f"/staff/requests/{request_id}" in html
    _, html = await page(staff, "/staff/requests?who=nobody")
    assert f"/staff/requests/{request_id}" not in html
    response = await post(
        staff, f"/staff/requests/{request_id}/assign", {"assignee": "10"}, key=f"a2-{KEY}"
    )
    assert response.status == 422  # 郑晓明 is no staff of the station
    assert field_error(await response.text(), "assignee")
    response = await post(
        staff,
        f"/staff/requests/{request_id}/reply",
        {"text": "车牌号需再核对", "internal": "1"},
        key=f"note-{KEY}",
    )
    assert response.status == 303
    assert response.headers["Location"].endswith("?done=note")
    _status, html = await page(staff, response.headers["Location"])
    assert "staff only" in html
    assert "车牌号需再核对" in html
    seen = await world.handle.execute(GetRequest(request_id), actor=MEMBER)
    assert all(e.text != "车牌号需再核对" for e in seen.thread)


async def test_the_queue_shows_overdue_and_escalated_requests_first(world: WebWorld) -> None:
    request_id = await new_request(world)
    staff = await world.as_role("community_staff")
    world.clock.advance(hours=24 * 4)
    status, html = await page(staff, "/staff/requests")
    assert status == 200
    assert "overdue since" in html
    await world.handle.execute(FireDueTimers(limit=500), actor=SYSTEM)
    status, html = await page(staff, "/staff/requests")
    assert "overdue, escalated to the lead" in html
    assert re.search(r"[1-9]\d* escalated", html)
    first = re.search(r'href="/staff/requests/(\d+)"', html)
    assert first is not None
    status, detail = await page(staff, f"/staff/requests/{request_id}")
    assert "Deadline missed: escalated" in detail


# --- the check-in screen -----------------------------------------------------------------


async def test_the_check_in_screen_shows_the_code_a_qr_code_and_who_arrives(
    world: WebWorld,
) -> None:
    world.clock.set(IN_WINDOW)
    code = (await world.handle.execute(GetCheckInCode(SESSION), actor=SYSTEM)).code
    staff = await world.as_role("station_staff")
    status, html = await page(staff, f"/staff/check-in/{SESSION}")
    assert status == 200
    assert f'<p class="big-code" id="check-in-code">{code}</p>' in html
    assert 'src="data:image/svg+xml' in html
    assert 'alt="QR code: scan it to check in"' in html
    assert re.search(rf'href="http://127\.0\.0\.1:\d+/gatherings/{SESSION}\?code={code}"', html)
    assert f'data-live="/staff/check-in/{SESSION}/attendance"' in html
    assert "Check-in is open until" in html
    assert "Red Coffee corner" in html

    live = f"/staff/check-in/{SESSION}/attendance"
    status, part = await page(staff, live)
    assert status == 200
    assert "Nobody has checked in yet." in part
    await world.handle.execute(CheckIn(SESSION, code=code), actor=Actor.member(7, "孙丽"))
    status, part = await page(staff, live)
    assert "孙丽" in part
    assert "1 of" in part

    response = await post(staff, f"/staff/check-in/{SESSION}", {"member": "#10"})
    assert response.status == 303
    assert response.headers["Location"].endswith("?done=checked_in")
    again = await post(staff, f"/staff/check-in/{SESSION}", {"member": "#10"})
    assert again.status == 303  # the same form again: the first answer, once
    status, part = await page(staff, live)
    assert part.count("<li>") == 2
    assert "郑晓明" in part

    response = await post(staff, f"/staff/check-in/{SESSION}", {"member": "nobody"}, key="x" * 9)
    assert response.status == 422
    html = await response.text()
    assert field_error(html, "member")
    assert 'value="nobody"' in html


async def test_with_a_telegram_bot_the_qr_code_opens_the_bot(
    demo_template: Path, tmp_path: Path
) -> None:
    settings = WebSettings(telegram_bot_username="huarong_bot")
    async with open_world(demo_template, tmp_path, settings) as world:
        code = (await world.handle.execute(GetCheckInCode(SESSION), actor=SYSTEM)).code
        staff = await world.as_role("station_staff")
        status, html = await page(staff, f"/staff/check-in/{SESSION}", "zh_CN")
        assert status == 200
        assert f'href="https://t.me/huarong_bot?start=checkin-{SESSION}-{code}"' in html
        assert "Telegram" in html
        assert "签到码" in html


# --- the shop counter and approvals ----------------------------------------------------


async def test_the_shop_counter_hands_reserved_items_over_once(world: WebWorld) -> None:
    staff = await world.as_role("community_staff")
    status, html = await page(staff, "/staff/shop")
    assert status == 200
    assert html.count('action="/staff/shop/') == 5
    for _ in range(2):
        response = await post(staff, "/staff/shop/5/fulfil", {})
        assert response.status == 303
    status, html = await page(staff, "/staff/shop?done=fulfilled", "zh_CN")
    assert "已发放" in html
    assert html.count('action="/staff/shop/') == 4
    handed = await world.handle.execute(
        ListRedemptions(status=RedemptionStatus.FULFILLED), actor=SYSTEM
    )
    assert [r.id for r in handed] == [5]
    response = await post(staff, "/staff/shop/5/fulfil", {}, key="another-key")
    assert response.status == 422  # handed over already: said in its row
    assert 'role="alert"' in await response.text()
    # Coffee is collected at the Huaying station: 李敏 (party_masses) may not hand it over.
    other = await world.as_role("station_staff")
    response = await post(other, "/staff/shop/4/fulfil", {})
    assert response.status == 422
    assert "not allowed to manage the shop" in await response.text()


async def test_approvals_decide_reflections_photos_and_points(world: WebWorld) -> None:
    await pending_photo(world)
    await submitted_reflection(world)
    pending = (await pending_award(world))["pending_id"]
    staff = await world.as_role("community_staff")
    status, html = await page(staff, "/staff/approvals")
    assert status == 200
    assert "Reading reflections (1)" in html
    assert "Smile-wall photos (1)" in html
    assert "Points awaiting a decision (1)" in html
    assert 'src="/api/v1/photos/1/file" alt="志愿服务日的笑脸"' in html

    response = await post(staff, "/staff/approvals/photos/1/reject", {"reason": ""})
    assert response.status == 422
    html = await response.text()
    assert 'id="e-photo-1"' in html
    assert 'aria-invalid="true"' in html
    response = await post(
        staff, "/staff/approvals/photos/1/reject", {"reason": "照片太模糊"}, key="p" * 10
    )
    assert response.status == 303
    assert response.headers["Location"] == "/staff/approvals?done=photo_rejected"

    response = await post(
        staff, "/staff/approvals/reflections/1/return", {"note": "请再多写一点"}, key="q" * 10
    )
    assert response.status == 303
    response = await post(
        staff, f"/staff/approvals/points/{pending}/approve", {"note": ""}, key="s" * 10
    )
    assert response.status == 303
    status, html = await page(staff, "/staff/approvals?done=points_approved")
    assert "Points awarded." in html
    assert "No reflections are waiting." in html
    assert "No photos are waiting." in html

    photos = await world.handle.execute(ListPhotos(status=PhotoStatus.REJECTED), actor=SYSTEM)
    assert [p.reason for p in photos] == ["照片太模糊"]
    returned = await world.handle.execute(
        ListReflections(status=ReflectionStatus.RETURNED), actor=SYSTEM
    )
    assert [r.note for r in returned] == ["请再多写一点"]
    decided = await world.handle.execute(ListPendingAwards(status="approved"), actor=SYSTEM)
    assert [a.id for a in decided] == [pending]


# --- announcements, venues, audit, exports ------------------------------------------------


async def test_an_announcement_is_written_and_its_delivery_followed(world: WebWorld) -> None:
    staff = await world.as_role("station_staff")
    typed = {"audience": "", "title": "红咖沙龙", "body": "周三中午 12:30 见。"}
    response = await post(staff, "/staff/announcements", typed)
    assert response.status == 422
    html = await response.text()
    assert field_error(html, "audience")
    assert 'value="红咖沙龙"' in html
    assert "周三中午 12:30 见。</textarea>" in html

    typed["audience"] = "station:party_masses"
    for _ in range(2):
        response = await post(staff, "/staff/announcements", typed, key="ann-" + KEY)
        assert response.status == 303
    posted = await world.handle.execute(ListAnnouncements(posted=True), actor=SYSTEM)
    assert [a.title for a in posted] == ["红咖沙龙"]
    _status, html = await page(staff, "/staff/announcements?done=posted")
    assert "The announcement is on its way." in html
    assert "<progress" in html
    assert "To station:party_masses" in html


async def test_the_venue_week_shows_bookings_day_by_day(world: WebWorld) -> None:
    staff = await world.as_role("community_staff")
    status, html = await page(staff, "/staff/venues?week=2026-07-08")
    assert status == 200
    assert "Week of 2026-07-06: 3 bookings" in html
    assert "Red Coffee corner" in html
    assert "红咖沙龙" in html
    assert 'href="/staff/venues?week=2026-06-29"' in html
    status, html = await page(staff, "/staff/venues?week=next-tuesday")
    assert status == 200
    assert "That is not a date; here is this week." in html


async def test_the_audit_log_pages_back_and_filters_by_action(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    status, html = await page(admin, "/staff/audit")
    assert status == 200
    older = re.search(r'href="/staff/audit\?action=&amp;before=(\d+)"', html)
    assert older is not None
    status, html = await page(admin, f"/staff/audit?before={older.group(1)}")
    assert status == 200
    assert "Newest" in html
    status, html = await page(admin, "/staff/audit?action=role.grant")
    assert "<code>role.grant</code>" in html
    assert "<code>member.register</code>" not in html


async def test_the_exports_link_the_api_files(world: WebWorld) -> None:
    admin = await world.as_role("admin")
    status, html = await page(admin, "/staff/exports")
    assert status == 200
    for link in (
        "/api/v1/audit_entries?format=csv",
        "/api/v1/calendars/community.ics",
        "/api/v1/calendars/salon.ics?key=red_coffee",
    ):
        assert f'href="{link}' in html, link
    response = await admin.client.get(
        "/staff/exports/organization-report?organization_id=7&starts_on=2026-06-01"
        "&ends_on=2026-06-30",
        headers=admin.headers,
        allow_redirects=False,
    )
    assert response.status == 303
    target = response.headers["Location"]
    assert target.startswith("/api/v1/organizations/7/report?format=csv")
    csv = await admin.client.get(target, headers=admin.headers)
    assert csv.status == 200
    assert csv.headers["Content-Type"].startswith("text/csv")


async def test_the_dashboard_counts_check_ins_by_week(world: WebWorld) -> None:
    world.clock.set(IN_WINDOW)
    for member_id in (7, 10):
        await world.handle.execute(CheckIn(SESSION, member_id=member_id), actor=SYSTEM)
    world.clock.set(IN_WINDOW + timedelta(days=1))
    staff = await world.as_role("community_staff")
    status, html = await page(staff, "/staff", "zh_CN")
    assert status == 200
    assert "八周共签到 2 人次" in html
    assert '<th scope="row">07-06</th><td>2</td>' in html


# --- the charts -----------------------------------------------------------------------------

TEXT = ChartText(title="Visits <per> week", table="As a table", label_heading="Week")


def test_a_bar_chart_is_an_accessible_picture_with_its_table() -> None:
    drawn = str(
        bar_chart(
            "visits",
            attrs.evolve(TEXT, summary="Most on Monday"),
            ["Mon", "<script>"],
            [Series("Visits", [3, 5]), Series("Members & guests", [1, 2.5])],
        )
    )
    assert drawn.startswith('<figure class="chart"><svg')
    assert 'role="img"' in drawn
    assert 'aria-label="Visits &lt;per&gt; week. Most on Monday"' in drawn
    assert "<title>Visits &lt;per&gt; week</title>" in drawn
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn
    assert "Members &amp; guests" in drawn
    assert "<details><summary>As a table</summary>" in drawn
    assert '<th scope="row">&lt;script&gt;</th><td>5</td><td>2.5</td>' in drawn


def test_line_charts_and_histograms_draw_every_value() -> None:
    line = str(line_chart("l", TEXT, ["a", "b", "c"], [Series("n", [0, 4, 2])]))
    assert line.count("<circle") == 3
    assert "<polyline" in line
    empty = str(line_chart("e", TEXT, ["a"], [Series("n", [0])]))
    assert "<circle" in empty  # all zeros: still an axis and a point
    bins = str(histogram("h", TEXT, ["0", "1–19", "20+"], Series("members", [4, 0, 7])))
    assert bins.count("<rect") == 3
    assert '<th scope="row">20+</th><td>7</td>' in bins


def test_numbers_and_balance_bands() -> None:
    assert format_number(3.0) == "3"
    assert format_number(2.25) == "2.2"
    assert [band_of(n) for n in (0, 1, 19, 20, 499, 500, 10_000)] == [0, 1, 1, 2, 5, 6, 6]
    assert BANDS[0] == (0, 0)
