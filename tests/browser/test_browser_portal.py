"""The portal in a real browser (Chromium), as members and staff use it.

a) A member signs in with a code, joins the waitlist of a full gathering, is
   promoted when someone else drops out, checks in with the code staff read off
   the check-in screen, sees the points and spends them in the shop.
b) Station staff work a service request to resolution while the requester
   watches their own page.
c) Forms: a double click makes one thing, a refusal is shown beside its field
   in the reader's language, and text typed into a form whose session expired
   survives signing in again.

Plus screenshots of the main pages in both languages (and home on a phone)
under `artifacts/screenshots/`, for people to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Locator, Page, expect

from huarong_core.commands import (
    GetCheckInCode,
    GetPointsStatement,
    GetRequest,
    GetService,
    ListMyRequests,
    ListRedemptions,
    ListRsvps,
    UpdateGathering,
)
from huarong_core.domain.gatherings import RsvpStatus
from huarong_core.domain.services import RequestState
from tests.browser.browser_world import (
    ADMIN,
    EN,
    MEMBER,
    SUNLI,
    SYSTEM,
    ZH,
    Lang,
    Portal,
    screenshot,
)

pytestmark = pytest.mark.slow

SALON = 7
"""E-commerce salon, Tuesday 2026-07-07 19:00 in Jiaozuo: 24 of 30 seats taken, 孙丽 not
among them, 郑晓明 going."""
IN_THE_CHECK_IN_WINDOW = datetime(2026, 7, 7, 10, 45, tzinfo=UTC)
SERVICE = "labour_consulting"
"""Employment law advice, enterprise station: `question` and `phone`, open to members."""
ENTERPRISE_STAFF = 5
"""刘洋, station staff of the enterprise station."""
COFFEE = "coffee"


LANGS = pytest.mark.parametrize("lang", [EN, ZH], ids=["en", "zh_CN"])


async def press(page: Page, target: Locator) -> None:
    """A click, or a tap on a touch screen."""
    viewport = page.viewport_size
    if viewport is not None and viewport["width"] < 500:
        await target.tap()
    else:
        await target.click()


def button(page: Page | Locator, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


async def service_form(portal: Portal, page: Page, lang: Lang) -> tuple[Locator, Locator, Locator]:
    """The request form of `SERVICE`: the form, its question and its phone field (found by
    the labels the service defines, in the reader's language)."""
    service = await portal.handle.execute(GetService(SERVICE), actor=SYSTEM)
    labels = {f.key: f.label.get(lang.locale) for f in service.form}
    form = page.get_by_role("region", name=lang.t("portal.services.form.title"))
    return form, form.get_by_label(labels["question"]), form.get_by_label(labels["phone"])


# --- signing in -------------------------------------------------------------------------


@LANGS
async def test_sign_in_with_a_wrong_then_a_right_code(portal: Portal, lang: Lang) -> None:
    t = lang.t
    page = await portal.person(lang)
    await page.goto(portal.url("/points"))
    await page.wait_for_url(portal.url_pattern("/sign-in"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("portal.sign_in.title"))
    section = page.get_by_role("region", name=t("portal.sign_in.code_title"))
    await section.get_by_label(t("portal.sign_in.code"), exact=True).fill("WRONG123")
    await button(section, t("portal.sign_in.submit")).click()
    field = page.get_by_role("region", name=t("portal.sign_in.code_title")).get_by_label(
        t("portal.sign_in.code"), exact=True
    )
    await expect(field).to_have_accessible_description(
        re.compile(re.escape(t("web.problem.sign_in_code_failed")))
    )
    await portal.type_code(page, SUNLI, lang)
    await page.wait_for_url(portal.url_pattern("/points"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("portal.points.title"))


async def test_the_code_field_asks_the_phone_for_a_one_time_code(portal: Portal) -> None:
    """A phone offers the code from the chat's notification when the field says
    `autocomplete="one-time-code"`."""
    page = await portal.person(EN, phone=True)
    await page.goto(portal.url("/sign-in"))
    code = page.get_by_label(EN.t("portal.sign_in.code"), exact=True)
    await expect(code).to_have_attribute("autocomplete", "one-time-code")


async def test_the_language_switch_keeps_the_page_and_its_query(portal: Portal) -> None:
    page = await portal.person(EN)
    await portal.sign_in(page, SUNLI, EN, "/calendar?kind=session")
    await page.get_by_label(EN.t("portal.language"), exact=True).select_option("zh_CN")
    await button(page, EN.t("portal.language.apply")).click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_role("heading", level=1)).to_have_text(ZH.t("portal.calendar.title"))
    assert page.url == portal.url("/calendar?kind=session")


# --- a) gatherings, check-in, points, shop ---------------------------------------------


@pytest.mark.parametrize(
    ("lang", "phone"), [(EN, False), (ZH, False), (ZH, True)], ids=["en", "zh_CN", "zh_CN-phone"]
)
async def test_waitlist_promotion_check_in_points_and_shop(
    portal: Portal, lang: Lang, phone: bool
) -> None:
    t = lang.t
    await portal.handle.execute(UpdateGathering(SALON, capacity=24), actor=SYSTEM)  # now full
    before = (await portal.handle.execute(GetPointsStatement(SUNLI), actor=SYSTEM)).balance

    member = await portal.person(lang, phone=phone)
    await portal.sign_in(member, SUNLI, lang, f"/gatherings/{SALON}")
    await expect(member.get_by_role("heading", level=1)).to_be_visible()
    await press(member, button(member, t("portal.gathering.answer.going")))
    await member.wait_for_url(portal.done_pattern(f"/gatherings/{SALON}", "rsvp"))
    status = member.locator("#my-status")
    await expect(status).to_contain_text(t("portal.rsvp.waitlisted_at", position=1))
    await screenshot(member, "gathering", lang, phone=phone)

    # Someone holding a seat drops out, in their own browser.
    other = await portal.person(lang)
    await portal.sign_in(other, MEMBER, lang, f"/gatherings/{SALON}")
    await press(other, button(other, t("portal.gathering.answer.not_going")))
    await other.wait_for_url(portal.done_pattern(f"/gatherings/{SALON}", "rsvp"))
    await expect(other.locator("#my-status")).to_contain_text(t("portal.rsvp.status.not_going"))

    await member.reload()
    await expect(status).to_contain_text(t("portal.rsvp.status.going"))
    rsvps = await portal.handle.execute(ListRsvps(SALON), actor=SYSTEM)
    assert {r.member_id: r.status for r in rsvps}[SUNLI] is RsvpStatus.GOING

    # At the venue: staff show the code on the check-in screen.
    portal.clock.set(IN_THE_CHECK_IN_WINDOW)
    staff = await portal.person(lang)
    await portal.sign_in(staff, ADMIN, lang, f"/staff/check-in/{SALON}")
    code_box = staff.get_by_role("region", name=t("portal.staff.check_in.code"))
    shown = (await code_box.locator(".big-code").inner_text()).strip()
    expected = await portal.handle.execute(GetCheckInCode(SALON), actor=SYSTEM)
    assert shown == expected.code

    await member.reload()
    check_in = member.get_by_role("region", name=t("portal.gathering.check_in"))
    await check_in.get_by_label(t("portal.gathering.code"), exact=True).fill(shown)
    await press(member, button(check_in, t("portal.gathering.check_in_button")))
    await member.wait_for_url(portal.done_pattern(f"/gatherings/{SALON}", "check_in"))
    after = (await portal.handle.execute(GetPointsStatement(SUNLI), actor=SYSTEM)).balance
    assert after > before
    await expect(member.get_by_role("status").first).to_contain_text(
        t("portal.gathering.done.check_in_points", points=after - before)
    )
    # The check-in screen's list updates by itself.
    arrived = staff.get_by_role("region", name=t("portal.staff.check_in.arrived"))
    await expect(arrived).to_contain_text("孙丽")
    await screenshot(staff, "check-in", lang)

    await press(member, member.get_by_role("link", name=t("portal.nav.points"), exact=True))
    await member.wait_for_url(portal.url_pattern("/points"))
    await expect(member.locator("#balance")).to_have_text(t("portal.home.balance", balance=after))
    await expect(member.get_by_role("table")).to_contain_text(f"+{after - before}")

    await press(member, member.get_by_role("link", name=t("portal.nav.shop"), exact=True))
    await member.wait_for_url(portal.url_pattern("/shop"))
    coffee = member.locator(f"#item-{COFFEE}")
    name = (await coffee.get_by_role("heading").inner_text()).strip()
    await press(member, button(coffee, t("portal.shop.redeem", name=name)))
    await member.wait_for_url(portal.done_pattern("/shop", "redeemed"))
    await expect(member.get_by_role("status").first).to_be_visible()
    await member.goto(portal.url("/shop/mine"))
    reserved = await portal.handle.execute(ListRedemptions(member_id=SUNLI), actor=SYSTEM)
    newest = max(reserved, key=lambda r: r.id)
    assert newest.item_key == COFFEE
    card = member.locator(f"#redemption-{newest.id}")
    await expect(card).to_contain_text(name)
    await expect(card).to_contain_text(t("portal.shop.status.reserved"))


async def test_the_check_in_screen_s_link_opens_the_form_with_the_code(portal: Portal) -> None:
    """What a phone finds in the QR code: the gathering's page with the code filled in."""
    t = EN.t
    portal.clock.set(IN_THE_CHECK_IN_WINDOW)
    staff = await portal.person(EN)
    await portal.sign_in(staff, ADMIN, EN, f"/staff/check-in/{SALON}")
    code_box = staff.get_by_role("region", name=t("portal.staff.check_in.code"))
    link = await code_box.get_by_role("link").get_attribute("href")
    assert link is not None
    assert link.startswith(portal.base)
    code = (await code_box.locator(".big-code").inner_text()).strip()

    member = await portal.person(EN, phone=True)
    await portal.sign_in(member, MEMBER, EN, link.removeprefix(portal.base))
    check_in = member.get_by_role("region", name=t("portal.gathering.check_in"))
    await expect(check_in.get_by_label(t("portal.gathering.code"), exact=True)).to_have_value(code)


# --- b) a service request worked by station staff ---------------------------------------


@LANGS
async def test_station_staff_work_a_request_the_requester_sees_it(
    portal: Portal, lang: Lang
) -> None:
    t = lang.t
    requester = await portal.person(lang)
    await portal.sign_in(requester, MEMBER, lang, f"/services/{SERVICE}")
    form, question, phone = await service_form(portal, requester, lang)
    await question.fill("加班费怎么算？")
    await phone.fill("13903910009")
    await press(requester, button(form, t("portal.services.form.submit")))
    await requester.wait_for_url(re.compile(re.escape(portal.url("/services/requests/")) + r"\d+"))
    request_id = int(requester.url.split("/services/requests/")[1].split("?")[0])
    state = requester.locator("#request-state")
    await expect(state).to_contain_text(t("portal.request.state.submitted"))

    staff = await portal.person(lang)
    await portal.sign_in(staff, ENTERPRISE_STAFF, lang, "/staff/requests")
    await expect(staff.get_by_role("heading", level=1)).to_have_text(
        t("portal.staff.requests.title")
    )
    made = await portal.handle.execute(GetRequest(request_id), actor=SYSTEM)
    link = t(
        "portal.staff.requests.open_link",
        ref=made.request.ref,
        service=made.service.name.get(lang.locale),
    )
    await press(staff, staff.get_by_role("link", name=link, exact=True))
    await staff.wait_for_url(portal.url_pattern(f"/staff/requests/{request_id}"))
    step = staff.get_by_role("region", name=t("portal.staff.request.step_title"))
    for to in ("accepted", "in_progress"):
        await press(staff, button(step, t(f"portal.staff.step.{to}")))
        await staff.wait_for_url(portal.done_pattern(f"/staff/requests/{request_id}", to))
    reply = "按劳动合同约定的工资基数计算，周末加班按 200% 支付。"
    step = staff.get_by_role("region", name=t("portal.staff.request.step_title"))
    await step.get_by_label(t("portal.staff.request.note"), exact=True).fill(reply)
    await press(staff, button(step, t("portal.staff.step.resolved")))
    await staff.wait_for_url(portal.done_pattern(f"/staff/requests/{request_id}", "resolved"))
    details = await portal.handle.execute(GetRequest(request_id), actor=SYSTEM)
    assert details.request.state is RequestState.RESOLVED

    await requester.reload()
    await expect(state).to_contain_text(t("portal.request.state.resolved"))
    thread = requester.get_by_role("region", name=t("portal.services.thread.title"))
    await expect(thread).to_contain_text(reply)


# --- c) forms ----------------------------------------------------------------------------


@LANGS
async def test_a_refusal_is_shown_beside_its_field_with_the_typing_kept(
    portal: Portal, lang: Lang
) -> None:
    t = lang.t
    page = await portal.person(lang)
    await portal.sign_in(page, MEMBER, lang, f"/services/{SERVICE}")
    await screenshot(page, "service-form", lang)
    form, question, phone = await service_form(portal, page, lang)
    await question.fill("试用期可以延长吗？")
    await phone.fill("12")  # not a phone number
    await press(page, button(form, t("portal.services.form.submit")))
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_accessible_description(re.compile(re.escape(t("reason.bad_phone"))))
    await expect(question).not_to_have_attribute("aria-invalid", "true")
    await expect(question).to_have_value("试用期可以延长吗？")
    await expect(phone).to_have_value("12")


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
async def test_a_double_click_on_submit_makes_one_request(portal: Portal, javascript: bool) -> None:
    """With the page's script the second click is not sent; without it the form's one-time
    key makes the server answer the second post with the first one's result."""
    page = await portal.person(EN, javascript=javascript)
    await portal.sign_in(page, MEMBER, EN, f"/services/{SERVICE}")
    form, question, phone = await service_form(portal, page, EN)
    await question.fill("Can my probation be extended?")
    await phone.fill("13903910009")
    before = await portal.handle.execute(ListMyRequests(member_id=MEMBER), actor=SYSTEM)
    await button(form, EN.t("portal.services.form.submit")).dblclick()
    await page.wait_for_url(re.compile(re.escape(portal.url("/services/requests/")) + r"\d+"))
    await expect(page.locator("#request-state")).to_contain_text(
        EN.t("portal.request.state.submitted")
    )
    after = await portal.handle.execute(ListMyRequests(member_id=MEMBER), actor=SYSTEM)
    assert after.total == before.total + 1


async def test_after_going_back_a_different_answer_counts(portal: Portal) -> None:
    """Back shows the form again; choosing otherwise there is a new answer, not a
    resubmission of the first (which the form's one-time key would replay)."""
    t = EN.t
    page = await portal.person(EN)
    await portal.sign_in(page, SUNLI, EN, f"/gatherings/{SALON}")
    await button(page, t("portal.gathering.answer.maybe")).click()
    await page.wait_for_url(portal.done_pattern(f"/gatherings/{SALON}", "rsvp"))
    await expect(page.locator("#my-status")).to_contain_text(t("portal.rsvp.status.maybe"))
    await page.go_back()
    await page.wait_for_url(portal.url(f"/gatherings/{SALON}"))
    await button(page, t("portal.gathering.answer.not_going")).click()
    await page.wait_for_url(portal.done_pattern(f"/gatherings/{SALON}", "rsvp"))
    await expect(page.locator("#my-status")).to_contain_text(t("portal.rsvp.status.not_going"))


@LANGS
async def test_typing_survives_an_expired_session(portal: Portal, lang: Lang) -> None:
    t = lang.t
    page = await portal.person(lang)
    await portal.sign_in(page, MEMBER, lang, f"/services/{SERVICE}")
    form, question, phone = await service_form(portal, page, lang)
    typed = "公司不签劳动合同怎么办？"
    await question.fill(typed)
    await phone.fill("13903910009")

    portal.clock.advance(days=15)  # past the 14-day session
    before = await portal.handle.execute(ListMyRequests(member_id=MEMBER), actor=SYSTEM)
    await press(page, button(form, t("portal.services.form.submit")))
    await page.wait_for_url(portal.url_pattern("/sign-in"))
    await portal.type_code(page, MEMBER, lang)
    await page.wait_for_url(portal.url_pattern(f"/services/{SERVICE}"))
    form, question, phone = await service_form(portal, page, lang)
    await expect(question).to_have_value(typed)
    await expect(phone).to_have_value("13903910009")
    after = await portal.handle.execute(ListMyRequests(member_id=MEMBER), actor=SYSTEM)
    assert after.total == before.total  # nothing was sent behind the member's back


# --- screenshots -------------------------------------------------------------------------


@LANGS
async def test_screenshots_of_the_main_pages(portal: Portal, lang: Lang) -> None:
    t = lang.t
    page = await portal.person(lang)
    await portal.sign_in(page, ADMIN, lang, "/")
    await screenshot(page, "home", lang)
    shots = [
        ("calendar", "/calendar", t("portal.calendar.title")),
        ("shop", "/shop", t("portal.shop.title")),
        ("staff-queue", "/staff/requests", t("portal.staff.requests.title")),
        ("dashboard", "/staff", t("portal.staff.dashboard.title")),
    ]
    for name, path, title in shots:
        response = await page.goto(portal.url(path))
        assert response is not None
        assert response.status == 200, f"{path}: {response.status}"
        await expect(page.get_by_role("heading", level=1)).to_have_text(title)
        await screenshot(page, name, lang)

    phone = await portal.person(lang, phone=True)
    await portal.sign_in(phone, SUNLI, lang, "/")
    await screenshot(phone, "home", lang, phone=True)
