"""The portal's community pages (part 2): library, services, volunteering, smile wall,
news and profile, driven through the aiohttp test client as a browser would.

Forms are posted the way a browser posts them: the session cookie only (no
CSRF header), with the page's hidden `csrf_token` and a `form_key`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import timedelta

import pytest
from aiohttp import ClientResponse, FormData

from huarong_core import Actor
from huarong_core.commands import (
    ApprovePhoto,
    ApproveReflection,
    ChangeRequestState,
    CreateReflectionContest,
    GetBook,
    GetMember,
    GetRequest,
    GetService,
    ListLoans,
    ListMembers,
    ListMyRequests,
    ListPhotos,
    NominateReflection,
    PostAnnouncement,
    ReplyToRequest,
    SubmitReflection,
    SubmitRequest,
)
from huarong_core.domain.services import FieldType, RequestState
from huarong_core.domain.smile_wall import PhotoStatus
from tests.web.authz_services import (
    ANOTHER_MEMBER,
    PNG,
    REFLECTION_TEXT,
    hold,
    nominated,
    returned_reflection,
)
from tests.web.web_world import SYSTEM, SignedIn, WebWorld

MEMBER_ID = 10
"""郑晓明, the `member` role: no role at all, works at a tenant company."""
STAFF = Actor.member(4, "陈静")
"""Community staff: works every station's requests."""


# --- how a browser talks to the portal --------------------------------------------------


def browser(who: SignedIn, locale: str = "en") -> dict[str, str]:
    """The headers a browser sends: the session cookie (and the language cookie)."""
    return {"Cookie": f"{who.headers['Cookie']}; huarong_lang={locale}"}


async def page(who: SignedIn, path: str, locale: str = "en") -> tuple[int, str]:
    response = await who.client.get(path, headers=browser(who, locale), allow_redirects=False)
    return response.status, await response.text()


async def post(
    who: SignedIn,
    path: str,
    fields: Mapping[str, str] | None = None,
    *,
    key: str | None = None,
    locale: str = "en",
) -> ClientResponse:
    data = {
        "csrf_token": who.headers["X-CSRF-Token"],
        "form_key": key or secrets.token_urlsafe(16),
        **(fields or {}),
    }
    return await who.client.post(
        path, data=data, headers=browser(who, locale), allow_redirects=False
    )


def field_block(html: str, name: str) -> str:
    """The `<div class="field">` holding the input called `name`."""
    for chunk in html.split('<div class="field')[1:]:
        if f'name="{name}"' in chunk:
            return chunk.split("</div>")[0]
    raise AssertionError(f"no field {name!r} in the page")


def redirected_to(response: ClientResponse) -> str:
    assert response.status == 303, response.status
    return response.headers["Location"]


# --- every page, both languages ------------------------------------------------------------


PAGES_EN = {
    "/library": "Red Reading library",
    "/library?q=红": "Books found",
    "/library/books/1": "Copies",
    "/library/mine": "My loans and holds",
    "/library/contests/1": "The nominated reflections",
    "/services": "My requests",
    "/services?affair=community": "Community affairs",
    "/services/travel_tickets": "Send the request",
    "/services/requests": "My service requests",
    "/volunteering": "The volunteer team",
    "/smiles": "Send a photo",
    "/news": "Announcements to me",
    "/profile": "Link another account",
}
PAGES_ZH = {
    "/library": "红色悦读",
    "/library?q=红": "找到",
    "/library/books/1": "馆藏",
    "/library/mine": "我的借阅与预约",
    "/library/contests/1": "入围读后感",
    "/services": "我的申请",
    "/services?affair=community": "社务",
    "/services/travel_tickets": "提交申请",
    "/services/requests": "我的服务申请",
    "/volunteering": "爱心志愿队",
    "/smiles": "上传照片",
    "/news": "发给我的通知",
    "/profile": "关联其他账号",
}


@pytest.mark.parametrize(("locale", "pages"), [("en", PAGES_EN), ("zh_CN", PAGES_ZH)])
async def test_every_page_renders_for_a_member_in_both_languages(
    world: WebWorld, locale: str, pages: Mapping[str, str]
) -> None:
    await nominated(world)
    made = await world.handle.execute(
        SubmitRequest("car_card", {"plate": "豫H·D1357", "phone": "13903910010"}, MEMBER_ID),
        actor=SYSTEM,
    )
    member = await world.as_role("member")
    for path, expected in {**pages, f"/services/requests/{made.id}": "#"}.items():
        status, text = await page(member, path, locale)
        assert status == 200, (path, text[-2000:])
        assert f'<html lang="{locale.replace("_", "-")}">' in text
        assert expected in text, path
        assert "portal." not in re.sub(r"<[^>]+>", "", text), f"a missing catalog key on {path}"


@pytest.mark.parametrize("role", ["volunteer", "station_staff", "admin"])
async def test_the_pages_render_for_other_roles(world: WebWorld, role: str) -> None:
    who = await world.as_role(role)
    for path in ("/library", "/library/books/3", "/library/mine", "/services", "/volunteering"):
        status, text = await page(who, path)
        assert status == 200, (path, text[-2000:])
    for path in ("/services/requests", "/smiles", "/news", "/profile"):
        status, _ = await page(who, path, "zh_CN")
        assert status == 200, path


async def test_someone_signed_out_is_sent_to_sign_in_and_others_get_a_friendly_page(
    world: WebWorld,
) -> None:
    anonymous = await world.client()
    for path in ("/library", "/services/car_card", "/profile", "/smiles"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/sign-in?next=")
    sent = await anonymous.post(
        "/services/car_card/request", data={"x": "1"}, allow_redirects=False
    )
    assert sent.status == 303
    assert sent.headers["Location"].startswith("/sign-in?next=")
    assert "car_card" in sent.headers["Location"]

    member = await world.as_role("member")
    someone_elses = 1  # a demo request of another member
    status, text = await page(member, f"/services/requests/{someone_elses}")
    assert status == 403
    assert 'class="error" role="alert"' in text
    assert "Back to the home page" in text
    for path in ("/library/books/999", "/library/books/abc", "/services/no_such_service"):
        status, text = await page(member, path)
        assert status == 404, path
        assert "<main" in text
    status, text = await page(member, "/library/contests/77", "zh_CN")
    assert status == 404
    assert '<html lang="zh-CN">' in text


async def test_a_form_without_the_session_s_token_changes_nothing(world: WebWorld) -> None:
    member = await world.as_role("member")
    response = await member.client.post(
        "/library/books/1/borrow",
        data={"csrf_token": "forged", "form_key": "k" * 16, "code": "RR-0002"},
        headers=browser(member),
        allow_redirects=False,
    )
    assert response.status == 403
    loans = await world.handle.execute(ListLoans(member_id=MEMBER_ID), actor=SYSTEM)
    assert loans == ()


async def test_a_form_address_opened_after_signing_in_again_shows_its_form(
    world: WebWorld,
) -> None:
    member = await world.as_role("member")
    for action, form_page in (
        ("/services/travel_tickets/request", "/services/travel_tickets"),
        ("/services/requests/1/reply", "/services/requests/1"),
        ("/library/books/1/reflections", "/library/books/1"),
        ("/volunteering/shifts/1/sign-up", "/volunteering"),
        ("/profile/name", "/profile"),
    ):
        response = await member.client.get(action, headers=browser(member), allow_redirects=False)
        assert redirected_to(response) == form_page


# --- services: the generated form, my requests, the thread, rating ------------------------


async def test_the_request_form_is_generated_from_the_service_s_fields(world: WebWorld) -> None:
    service = await world.handle.execute(GetService("travel_tickets"), actor=SYSTEM)
    assert {f.type for f in service.form} == set(FieldType)  # every kind of field is drawn
    member = await world.as_role("member")
    _, text = await page(member, "/services/travel_tickets")
    kind = field_block(text, "answer.kind")
    assert '<label for="f-answer-kind">Kind <span class="required">(required)</span>' in kind
    assert "<select" in kind
    assert '<option value="火车票">火车票</option>' in kind
    assert 'type="date"' in field_block(text, "answer.date")
    assert 'type="text"' in field_block(text, "answer.route")
    assert 'inputmode="decimal"' in field_block(text, "answer.passengers")
    phone = field_block(text, "answer.phone")
    assert 'type="tel"' in phone
    assert "13912345678" in phone
    assert "data-keep" in text
    _, chinese = await page(member, "/services/travel_tickets", "zh_CN")
    assert '<label for="f-answer-kind">票种 <span class="required">(必填)</span>' in chinese
    _, optional = await page(member, "/services/contract_review")
    assert 'Pages <span class="meta">(optional)</span>' in optional
    assert "For staff of a tenant company" in optional


async def test_a_member_files_a_request_sees_it_worked_and_rates_it(world: WebWorld) -> None:
    member = await world.as_role("member")
    typed = {
        "answer.kind": "火车票",
        "answer.date": "2026-07-20",
        "answer.route": "怀川—北京",
        "answer.passengers": "2",
        "answer.phone": "12345",
    }
    refused = await post(member, "/services/travel_tickets/request", typed)
    assert refused.status == 422
    text = await refused.text()
    phone = field_block(text, "answer.phone")
    assert 'aria-invalid="true"' in phone
    assert "write a mobile number such as 13912345678" in phone
    assert 'value="12345"' in phone
    assert 'value="怀川—北京"' in field_block(text, "answer.route")
    assert '<option value="火车票" selected>' in field_block(text, "answer.kind")
    assert 'role="alert"' in text
    assert "“Phone”" in text
    assert (await world.handle.execute(ListMyRequests(MEMBER_ID), actor=SYSTEM)).total == 0

    sent = await post(
        member, "/services/travel_tickets/request", {**typed, "answer.phone": "139 0391 0010"}
    )
    location = redirected_to(sent)
    match = re.fullmatch(r"/services/requests/(\d+)\?done=submitted", location)
    assert match is not None
    request_id = int(match.group(1))
    status, text = await page(member, location)
    assert status == 200
    assert "Your request has been sent" in text
    assert 'data-forget="/services/travel_tickets/request"' in text
    assert "13903910010" in text
    assert "Travel date" in text
    _, mine = await page(member, "/services/requests")
    assert f"/services/requests/{request_id}" in mine
    assert "Train and plane tickets" in mine

    for state in (RequestState.ACCEPTED, RequestState.IN_PROGRESS):
        await world.handle.execute(ChangeRequestState(request_id, state), actor=STAFF)
    await world.handle.execute(
        ReplyToRequest(request_id, "车票已订好，请到联络站取票。"), actor=STAFF
    )
    await world.handle.execute(
        ChangeRequestState(request_id, RequestState.RESOLVED, "已办结"), actor=STAFF
    )
    _, text = await page(member, f"/services/requests/{request_id}")
    assert "State: resolved" in text
    assert "Reply from the station" in text
    assert "车票已订好，请到联络站取票。" in text
    assert "陈静" in text
    assert 'action="/services/requests/' in text
    assert 'name="stars"' in text

    unrated = await post(member, f"/services/requests/{request_id}/rate", {"comment": "很快"})
    assert unrated.status == 422
    text = await unrated.text()
    assert 'id="e-stars">Please choose from 1 to 5 stars.' in text
    assert ">很快</textarea>" in text

    key = secrets.token_urlsafe(16)
    rated = await post(
        member, f"/services/requests/{request_id}/rate", {"stars": "5", "comment": "很快"}, key=key
    )
    assert redirected_to(rated) == f"/services/requests/{request_id}?done=rated"
    again = await post(
        member, f"/services/requests/{request_id}/rate", {"stars": "5", "comment": "很快"}, key=key
    )
    assert redirected_to(again) == f"/services/requests/{request_id}?done=rated"
    details = await world.handle.execute(GetRequest(request_id), actor=SYSTEM)
    assert (details.request.rating, details.request.rating_comment) == (5, "很快")
    assert sum(1 for e in details.thread if e.kind.value == "rated") == 1
    _, text = await page(member, f"/services/requests/{request_id}?done=rated", "zh_CN")
    assert "您的评分：5 / 5" in text
    assert "感谢您的评价。" in text
    assert 'name="stars"' not in text

    closed = await post(member, f"/services/requests/{request_id}/transition", {"to": "closed"})
    assert redirected_to(closed).endswith("done=step_closed")
    _, text = await page(member, "/services/requests")
    assert "closed" in text


async def test_a_refused_answer_is_shown_in_the_page_s_language(world: WebWorld) -> None:
    member = await world.as_role("member")
    refused = await post(
        member,
        "/services/travel_tickets/request",
        {"answer.kind": "火车票", "answer.date": "2026-07-20", "answer.passengers": "二"},
        locale="zh_CN",
    )
    assert refused.status == 422
    text = await refused.text()
    route = field_block(text, "answer.route")
    assert 'aria-invalid="true"' in route
    assert "必填" in route
    assert 'value="二"' in field_block(text, "answer.passengers")
    assert "“出发地—目的地”" in text


async def test_a_resubmitted_request_form_files_one_request(world: WebWorld) -> None:
    member = await world.as_role("member")
    fields = {"answer.plate": "豫H·E2468", "answer.phone": "13903910010"}
    key = secrets.token_urlsafe(16)
    first = redirected_to(await post(member, "/services/car_card/request", fields, key=key))
    second = redirected_to(await post(member, "/services/car_card/request", fields, key=key))
    assert first == second
    assert (await world.handle.execute(ListMyRequests(MEMBER_ID), actor=SYSTEM)).total == 1


async def test_the_requester_writes_to_the_station_and_may_withdraw(world: WebWorld) -> None:
    member = await world.as_role("member")
    made = await world.handle.execute(
        SubmitRequest("car_card", {"plate": "豫H·D1357", "phone": "13903910010"}, MEMBER_ID),
        actor=SYSTEM,
    )
    empty = await post(member, f"/services/requests/{made.id}/reply", {"text": "  "})
    assert empty.status == 422
    assert 'id="e-text"' in field_block(await empty.text(), "text")
    sent = await post(member, f"/services/requests/{made.id}/reply", {"text": "下午三点前可以吗？"})
    assert redirected_to(sent) == f"/services/requests/{made.id}?done=replied"
    _, text = await page(member, f"/services/requests/{made.id}?done=replied")
    assert "Message to the station" in text
    assert "下午三点前可以吗？" in text
    assert "Your message has been sent." in text
    assert "Withdraw the request" in text
    withdrawn = await post(member, f"/services/requests/{made.id}/transition", {"to": "cancelled"})
    assert redirected_to(withdrawn).endswith("?done=step_cancelled")
    details = await world.handle.execute(GetRequest(made.id), actor=SYSTEM)
    assert details.request.state is RequestState.CANCELLED
    _, text = await page(member, f"/services/requests/{made.id}")
    assert 'name="text"' not in text  # a finished request takes no more messages
    wrong = await post(member, f"/services/requests/{made.id}/transition", {"to": "closed"})
    assert wrong.status == 422


async def test_a_service_for_tenants_only_refuses_someone_outside_at_the_top(
    world: WebWorld,
) -> None:
    members = await world.handle.execute(ListMembers(limit=500), actor=SYSTEM)
    outsider = next(m for m in members.items if m.organization_id is None)
    resident = await world.signed_in(outsider.id)
    refused = await post(
        resident,
        "/services/contract_review/request",
        {"answer.contract": "租赁合同", "answer.phone": "13903910010"},
    )
    assert refused.status == 422
    assert 'id="form-error"' in await refused.text()


# --- the library --------------------------------------------------------------------------


async def test_a_member_borrows_renews_and_returns_a_book(world: WebWorld) -> None:
    member = await world.as_role("member")
    _, text = await page(member, "/library/books/1")
    assert 'Borrow<span class="visually-hidden"> RR-0002</span>' in text

    wrong = await post(member, "/library/books/1/borrow", {"code": "RR-9999"})
    assert wrong.status == 422
    block = field_block(await wrong.text(), "code")
    assert 'value="RR-9999"' in block
    assert 'id="e-code"' in block
    assert 'autocapitalize="characters"' in block

    key = secrets.token_urlsafe(16)
    borrowed = await post(member, "/library/books/1/borrow", {"code": "RR-0002"}, key=key)
    assert redirected_to(borrowed) == "/library/books/1?done=borrowed"
    again = await post(member, "/library/books/1/borrow", {"code": "RR-0002"}, key=key)
    assert redirected_to(again) == "/library/books/1?done=borrowed"
    loans = await world.handle.execute(ListLoans(member_id=MEMBER_ID), actor=SYSTEM)
    assert [loan.copy_code for loan in loans] == ["RR-0002"]
    first_due = loans[0].due_at

    _, text = await page(member, "/library/mine")
    assert "红岩" in text
    assert "Renew RR-0002" in text
    assert "Return RR-0002" in text
    renewed = await post(member, "/library/mine/renew", {"code": "RR-0002"})
    assert redirected_to(renewed) == "/library/mine?done=renewed"
    loans = await world.handle.execute(ListLoans(member_id=MEMBER_ID), actor=SYSTEM)
    assert loans[0].due_at > first_due
    refused = await post(member, "/library/mine/renew", {"code": "RR-0002"}, locale="zh_CN")
    assert refused.status == 422
    assert 'role="alert"' in await refused.text()

    returned = await post(member, "/library/mine/return", {"code": "RR-0002"})
    assert redirected_to(returned) == "/library/mine?done=returned"
    _, text = await page(member, "/library/mine?done=returned")
    assert "Returned. Thank you!" in text
    assert "Returned lately" in text
    assert await world.handle.execute(ListLoans(member_id=MEMBER_ID), actor=SYSTEM) == ()


async def test_a_member_joins_the_queue_for_a_book_that_is_out(world: WebWorld) -> None:
    member = await world.as_role("member")
    details = await world.handle.execute(GetBook(3), actor=SYSTEM)
    assert details.available == 0  # 《青春之歌》's one copy is on loan
    _, text = await page(member, "/library/books/3")
    assert "Place a hold" in text
    held = await post(member, "/library/books/3/hold")
    assert redirected_to(held) == "/library/books/3?done=held"
    _, text = await page(member, "/library/books/3?done=held")
    assert "You are number 1 in the queue" in text
    _, mine = await page(member, "/library/mine", "zh_CN")
    assert "您排在第 1 位" in mine
    hold_id = int(re.findall(r"/library/mine/holds/(\d+)/cancel", mine)[0])
    cancelled = await post(member, f"/library/mine/holds/{hold_id}/cancel")
    assert redirected_to(cancelled) == "/library/mine?done=hold_cancelled"
    _, mine = await page(member, "/library/mine")
    assert "You are not waiting for any book." in mine


async def test_someone_else_s_hold_cannot_be_cancelled(world: WebWorld) -> None:
    await hold(world)  # hold #1 is the member's
    volunteer = await world.as_role("volunteer")
    refused = await post(volunteer, "/library/mine/holds/1/cancel")
    assert refused.status in (403, 404, 422)
    assert "<main" in await refused.text()


async def test_a_member_writes_a_reflection_and_revises_it(world: WebWorld) -> None:
    member = await world.as_role("member")
    short = await post(member, "/library/books/2/reflections", {"text": "很好看。"})
    assert short.status == 422
    block = field_block(await short.text(), "text")
    assert "很好看。</textarea>" in block
    assert 'id="e-text"' in block
    sent = await post(member, "/library/books/2/reflections", {"text": REFLECTION_TEXT})
    assert redirected_to(sent) == "/library/books/2?done=reflection_submitted"
    _, text = await page(member, "/library/books/2?done=reflection_submitted")
    assert "waiting for review" in text
    assert REFLECTION_TEXT in text
    assert 'data-forget="/library/books/2/reflections"' in text


async def test_a_returned_reflection_can_be_revised(world: WebWorld) -> None:
    await returned_reflection(world)  # reflection #1, the member's, on book 1
    member = await world.as_role("member")
    _, text = await page(member, "/library/books/1")
    assert "sent back for revision" in text
    assert "请再多写一点自己的体会" in text
    revised = await post(
        member, "/library/books/1/reflections/1/revise", {"text": REFLECTION_TEXT + "（修改稿）"}
    )
    assert redirected_to(revised) == "/library/books/1?done=reflection_revised"
    _, text = await page(member, "/library/books/1?done=reflection_revised")
    assert "waiting for review" in text
    assert "（修改稿）" in text


async def test_a_member_votes_once_in_a_contest(world: WebWorld) -> None:
    handle = world.handle
    reflection = await handle.execute(SubmitReflection(1, REFLECTION_TEXT), actor=ANOTHER_MEMBER)
    await handle.execute(ApproveReflection(reflection.id), actor=SYSTEM)
    now = world.clock.now()
    contest = await handle.execute(
        CreateReflectionContest(
            "七一最佳读后感", now - timedelta(hours=1), now + timedelta(hours=1)
        ),
        actor=SYSTEM,
    )
    await handle.execute(NominateReflection(contest.id, reflection.id), actor=SYSTEM)
    path = f"/library/contests/{contest.id}"
    member = await world.as_role("member")
    _, text = await page(member, "/library")
    assert path in text
    assert "voting open" in text
    _, text = await page(member, path)
    assert f'name="reflection_id" value="{reflection.id}"' in text
    assert "Cast my vote" in text
    nothing = await post(member, f"{path}/vote")
    assert nothing.status == 422
    assert 'id="e-reflection_id"' in await nothing.text()
    key = secrets.token_urlsafe(16)
    fields = {"reflection_id": str(reflection.id)}
    voted = await post(member, f"{path}/vote", fields, key=key)
    assert redirected_to(voted) == f"{path}?done=voted"
    again = await post(member, f"{path}/vote", fields, key=key)
    assert redirected_to(again) == f"{path}?done=voted"
    _, text = await page(member, f"{path}?done=voted")
    assert "your vote" in text
    assert "Cast my vote" not in text
    world.clock.advance(hours=2)
    _, text = await page(member, path, "zh_CN")
    assert "评选结果" in text
    assert "共 1 票" in text
    assert "红岩" in text


async def test_an_approved_reflection_is_shown_to_other_readers(world: WebWorld) -> None:
    reflection = await world.handle.execute(
        SubmitReflection(4, REFLECTION_TEXT), actor=ANOTHER_MEMBER
    )
    member = await world.as_role("member")
    _, text = await page(member, "/library/books/4")
    assert REFLECTION_TEXT not in text
    await world.handle.execute(ApproveReflection(reflection.id), actor=SYSTEM)
    _, text = await page(member, "/library/books/4")
    assert REFLECTION_TEXT in text


# --- volunteering -------------------------------------------------------------------------


async def test_a_member_joins_the_team_and_takes_a_shift(world: WebWorld) -> None:
    member = await world.as_role("member")
    _, text = await page(member, "/volunteering")
    assert "Join the volunteer team" in text
    assert "/volunteering/leave" not in text  # not on the team: nothing to leave
    shift_ids = [int(x) for x in re.findall(r"/volunteering/shifts/(\d+)/sign-up", text)]
    assert shift_ids
    shift = shift_ids[0]

    refused = await post(member, f"/volunteering/shifts/{shift}/sign-up")
    assert refused.status == 422
    assert 'id="form-error"' in await refused.text()

    joined = await post(member, "/volunteering/join")
    assert redirected_to(joined) == "/volunteering?done=joined"
    twice = await post(member, "/volunteering/join")
    assert redirected_to(twice) == "/volunteering?done=already_on_team"
    # On the team before any sign-up: the page says so, and offers leaving, not joining.
    _, text = await page(member, "/volunteering")
    assert "You are on the team" in text
    assert "/volunteering/join" not in text
    assert "/volunteering/leave" in text

    key = secrets.token_urlsafe(16)
    signed = await post(member, f"/volunteering/shifts/{shift}/sign-up", key=key)
    assert redirected_to(signed) == "/volunteering?done=signed_up"
    again = await post(member, f"/volunteering/shifts/{shift}/sign-up", key=key)
    assert redirected_to(again) == "/volunteering?done=signed_up"
    _, text = await page(member, "/volunteering?done=signed_up")
    assert "You are signed up." in text
    assert "You are on the team" in text
    assert f"/volunteering/shifts/{shift}/withdraw" in text

    withdrawn = await post(member, f"/volunteering/shifts/{shift}/withdraw")
    assert redirected_to(withdrawn) == "/volunteering?done=withdrawn"
    left = await post(member, "/volunteering/leave")
    assert redirected_to(left) == "/volunteering?done=left"
    _, text = await page(member, "/volunteering", "zh_CN")
    assert "加入志愿队" in text


# --- the smile wall -----------------------------------------------------------------------


async def _upload(
    who: SignedIn, photo: bytes | None, caption: str, *, key: str, token: str | None = None
) -> ClientResponse:
    form = FormData()
    form.add_field("csrf_token", token or who.headers["X-CSRF-Token"])
    form.add_field("form_key", key)
    if photo is not None:
        form.add_field("photo", photo, filename="smile.png", content_type="image/png")
    form.add_field("caption", caption)
    return await who.client.post("/smiles", data=form, headers=browser(who), allow_redirects=False)


async def test_a_member_sends_a_photo_and_sees_it_on_the_wall_once_approved(
    world: WebWorld,
) -> None:
    member = await world.as_role("member")
    _, text = await page(member, "/smiles")
    assert 'enctype="multipart/form-data"' in text
    assert 'type="file"' in text

    no_caption = await _upload(member, PNG, "", key=secrets.token_urlsafe(16))
    assert no_caption.status == 422
    assert 'id="e-caption"' in await no_caption.text()
    not_an_image = await _upload(member, b"hello", "你好", key=secrets.token_urlsafe(16))
    assert not_an_image.status == 422
    block = field_block(await not_an_image.text(), "photo")
    assert 'id="e-photo"' in block
    assert 'value="你好"' in field_block(await not_an_image.text(), "caption")
    forged = await _upload(member, PNG, "笑", key=secrets.token_urlsafe(16), token="forged")
    assert forged.status == 403

    key = secrets.token_urlsafe(16)
    sent = await _upload(member, PNG, "志愿服务日的笑脸", key=key)
    assert redirected_to(sent) == "/smiles?done=uploaded"
    again = await _upload(member, PNG, "志愿服务日的笑脸", key=key)
    assert redirected_to(again) == "/smiles?done=uploaded"
    mine = await world.handle.execute(ListPhotos(status=None, member_id=MEMBER_ID), actor=SYSTEM)
    assert [p.caption for p in mine] == ["志愿服务日的笑脸"]
    assert mine[0].status is PhotoStatus.PENDING
    _, text = await page(member, "/smiles?done=uploaded")
    assert "waiting for review" in text
    assert "Thank you! Your photo will be on the wall once it is approved." in text

    await world.handle.execute(ApprovePhoto(mine[0].id), actor=SYSTEM)
    _, text = await page(member, "/smiles")
    assert f'<img src="/api/v1/photos/{mine[0].id}/file" alt="志愿服务日的笑脸"' in text
    picture = await member.client.get(f"/api/v1/photos/{mine[0].id}/file", headers=browser(member))
    assert picture.status == 200
    assert await picture.read() == PNG

    removed = await post(member, f"/smiles/{mine[0].id}/remove")
    assert redirected_to(removed) == "/smiles?done=removed"
    _, text = await page(member, "/smiles", "zh_CN")
    assert "已撤下" in text


# --- news ---------------------------------------------------------------------------------


async def test_a_member_reads_the_news_and_follows_a_station(world: WebWorld) -> None:
    await world.handle.execute(
        PostAnnouncement("everyone", "七一主题党日", "7 月 1 日上午九点，29 楼多功能厅。"),
        actor=SYSTEM,
    )
    member = await world.as_role("member")
    _, text = await page(member, "/news")
    assert "七一主题党日" in text
    assert "7 月 1 日上午九点" in text
    assert "to everyone" in text
    followed = await post(member, "/news/stations/party_masses/subscribe")
    assert redirected_to(followed).startswith("/news?done=subscribed")
    _, text = await page(member, "/news?done=subscribed")
    assert "You follow this station now." in text
    assert "Stop following" in text
    unknown = await post(member, "/news/stations/nowhere/subscribe")
    assert unknown.status in (404, 422)
    stopped = await post(member, "/news/stations/party_masses/unsubscribe")
    assert redirected_to(stopped).startswith("/news?done=unsubscribed")


# --- profile ------------------------------------------------------------------------------


async def test_a_member_chooses_a_language_renames_and_gets_a_link_code(
    world: WebWorld,
) -> None:
    member = await world.as_role("member")
    _, text = await page(member, "/profile")
    assert 'name="locale" value="zh_CN"' in text
    assert "Sign out on this device" in text
    assert 'action="/sign-out"' in text

    bad = await post(member, "/profile/language", {"locale": "fr"})
    assert bad.status == 422
    assert 'id="e-locale"' in await bad.text()
    chosen = await post(member, "/profile/language", {"locale": "en"}, locale="zh_CN")
    assert redirected_to(chosen) == "/profile?done=language"
    assert chosen.cookies["huarong_lang"].value == "en"
    profile = await world.handle.execute(GetMember(MEMBER_ID), actor=SYSTEM)
    assert profile.member.locale == "en"

    empty = await post(member, "/profile/name", {"display_name": ""})
    assert empty.status == 422
    assert 'id="e-display_name"' in await empty.text()
    renamed = await post(member, "/profile/name", {"display_name": "郑小明"})
    assert redirected_to(renamed) == "/profile?done=name"
    profile = await world.handle.execute(GetMember(MEMBER_ID), actor=SYSTEM)
    assert profile.member.display_name == "郑小明"

    coded = await post(member, "/profile/link-code")
    assert coded.status == 200
    text = await coded.text()
    code = re.findall(r'<p class="big-code" id="link-code">([0-9A-Z]{8})</p>', text)
    assert code
    assert f"/link {code[0]}" in text


async def test_the_community_s_time_is_used_for_dates(world: WebWorld) -> None:
    await world.handle.execute(
        CreateReflectionContest(
            "国庆读后感",
            world.clock.now() + timedelta(days=1),
            world.clock.now() + timedelta(days=10),
        ),
        actor=SYSTEM,
    )
    member = await world.as_role("member")
    _, text = await page(member, "/library")
    assert "voting not open yet" in text
    assert "2026-07-02" in text
