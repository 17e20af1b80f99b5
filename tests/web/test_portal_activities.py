"""The portal's activity pages: the calendar, a gathering (RSVP and the waitlist, check-in
by code, feedback), clubs, points and the leaderboard, the shop and my redemptions.

Each page renders in both languages; each form works end to end (the state is read
back through a page or the core), a refusal is shown beside its field with what was
typed, and a form sent twice (the same `form_key`) changes nothing the second time.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientResponse

from huarong_core import Actor
from huarong_core.commands import (
    CancelGathering,
    FulfilRedemption,
    GetCheckInCode,
    GetGathering,
    GetMember,
    GetPointsStatement,
    ListMemberClubs,
    ListRedemptions,
    ListRsvps,
    RedeemItem,
    RespondToGathering,
    UpdateGathering,
)
from huarong_core.domain.gatherings import Answer, RsvpStatus
from huarong_core.domain.shop import RedemptionStatus
from tests.web.web_world import SYSTEM, SignedIn, WebWorld

SESSION = 9
"""The Red Coffee salon, 2026-07-08 12:30 in Jiaozuo (04:30 UTC), station party_masses."""
SESSION_STARTS = datetime(2026, 7, 8, 4, 30, tzinfo=UTC)
MEMBER, OTHER = 10, 7
"""郑晓明 (no role) and 孙丽 (a volunteer)."""
STAFF = Actor.member(2, "李敏")
"""Staff of station party_masses: reads the check-in code."""

PAGES = (
    "/calendar",
    "/calendar?kind=session",
    "/calendar?kind=lecture&start=2027-01-01",
    f"/gatherings/{SESSION}",
    "/clubs",
    "/clubs/kangaroo_class",
    "/points",
    "/points/leaderboard",
    "/points/leaderboard?board=season",
    "/points/leaderboard?board=organization",
    "/points/leaderboard?board=category",
    "/shop",
    "/shop/mine",
)
LEFT_OVER_KEY = re.compile(r"\bportal\.[a-z_]+\.[a-z_.]+")
"""A catalog key shown as itself: a message missing from the catalogs."""
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _headers(caller: SignedIn, locale: str = "en") -> dict[str, str]:
    return {"Cookie": f"{caller.headers['Cookie']}; huarong_lang={locale}"}


async def page(caller: SignedIn, path: str, locale: str = "en") -> tuple[int, str]:
    response = await caller.client.get(path, headers=_headers(caller, locale))
    return response.status, await response.text()


async def send(
    caller: SignedIn, path: str, form_key: str = "", locale: str = "en", **fields: Any
) -> ClientResponse:
    """Post a portal form as the browser does: the session's CSRF token and a form key."""
    data = {
        "csrf_token": caller.headers["X-CSRF-Token"],
        "form_key": form_key or f"form-{secrets.token_hex(8)}",
        **{name: str(value) for name, value in fields.items()},
    }
    return await caller.client.post(
        path, data=data, headers=_headers(caller, locale), allow_redirects=False
    )


async def balance(world: WebWorld, member_id: int) -> int:
    return (await world.handle.execute(GetPointsStatement(member_id), actor=SYSTEM)).balance


def status_line(text: str) -> str:
    found = re.search(r'<p id="my-status"[^>]*>(.*?)</p>', text, re.S)
    assert found is not None, text
    return " ".join(found.group(1).split())


# --- every page, both languages ----------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_every_page_renders_for_a_member(world: WebWorld, locale: str) -> None:
    member = await world.as_role("member")
    for path in PAGES:
        status, text = await page(member, path, locale)
        assert status == 200, (path, text)
        assert f'<html lang="{locale.replace("_", "-")}">' in text
        assert not LEFT_OVER_KEY.search(text), (path, LEFT_OVER_KEY.findall(text))
        assert 'aria-current="page"' in text
        if locale == "zh_CN":
            assert CHINESE.search(text.split("<main", 1)[1]), path


async def test_pages_render_for_staff_and_in_the_browser_s_language(world: WebWorld) -> None:
    staff = await world.as_role("community_staff")
    for path in PAGES:
        response = await staff.client.get(path, headers={"Cookie": staff.headers["Cookie"]})
        assert response.status == 200, path
    # No language cookie and no language on the session: the browser's.
    unset = await world.signed_in(MEMBER, locale=None)
    for header, lang in (("zh-CN,zh;q=0.9", "zh-CN"), ("en-GB,en;q=0.8", "en")):
        chosen = await unset.client.get(
            "/calendar", headers={"Cookie": unset.headers["Cookie"], "Accept-Language": header}
        )
        assert chosen.status == 200
        assert f'<html lang="{lang}">' in await chosen.text()
    # Staff who run a gathering's check-in find their screen from its page; members do not.
    runs_it, member = await world.as_role("station_staff"), await world.as_role("member")
    _, text = await page(runs_it, f"/gatherings/{SESSION}")
    assert f'href="/staff/check-in/{SESSION}"' in text
    _, text = await page(member, f"/gatherings/{SESSION}")
    assert "/staff/check-in/" not in text


async def test_the_calendar_filters_by_kind_and_pages_by_four_weeks(world: WebWorld) -> None:
    member = await world.as_role("member")
    _, everything = await page(member, "/calendar")
    assert "Red Coffee salon" in everything
    assert f'href="/gatherings/{SESSION}"' in everything
    _, events = await page(member, "/calendar?kind=event")
    assert "Red Coffee salon" not in events
    _, lectures = await page(member, "/calendar?kind=lecture&start=2027-01-10")
    assert "Red Collar lecture" in lectures
    assert "Red Coffee salon" not in lectures
    # The filter names kinds in the plural; one gathering's tag, in the singular.
    assert '<span class="tag">Lecture</span>' in lectures
    assert '<option value="lecture">Lectures</option>' in lectures.replace(" selected", "")
    _, one = await page(member, f"/gatherings/{SESSION}")
    assert "<dd>Salon session</dd>" in one
    _, nonsense = await page(member, "/calendar?kind=nonsense&start=99999")
    assert "Red Coffee salon" in nonsense  # an unknown filter shows everything from today


async def test_signed_out_readers_are_sent_to_sign_in(world: WebWorld) -> None:
    anonymous = await world.client()
    for path in ("/calendar", f"/gatherings/{SESSION}", "/clubs", "/points", "/shop/mine"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/sign-in?next=")
    posted = await anonymous.post(
        f"/gatherings/{SESSION}/rsvp", data={"answer": "going"}, allow_redirects=False
    )
    assert posted.status == 303


async def test_what_does_not_exist_is_a_404_page(world: WebWorld) -> None:
    member = await world.as_role("member")
    for path in ("/gatherings/99999", "/clubs/no_such_club"):
        status, text = await page(member, path)
        assert status == 404, path
        assert 'class="error"' in text
    refused = await send(member, "/gatherings/99999/rsvp", answer="going")
    assert refused.status == 404


async def test_a_form_without_the_session_s_csrf_token_is_refused(world: WebWorld) -> None:
    member = await world.as_role("member")
    before = await world.handle.execute(ListRsvps(SESSION), actor=SYSTEM)
    response = await member.client.post(
        f"/gatherings/{SESSION}/rsvp",
        data={"csrf_token": "forged", "form_key": "k123456789", "answer": "going"},
        headers=_headers(member),
        allow_redirects=False,
    )
    assert response.status == 403
    assert await world.handle.execute(ListRsvps(SESSION), actor=SYSTEM) == before


# --- a gathering: waitlist, promotion, check-in, feedback --------------------------------


async def _full_session(world: WebWorld) -> None:
    """The session for one: 孙丽 holds its only seat, nobody else has answered yes."""
    rsvps = await world.handle.execute(ListRsvps(SESSION), actor=SYSTEM)
    waiting_first = sorted(rsvps, key=lambda r: r.status is RsvpStatus.GOING)
    for rsvp in waiting_first:
        if rsvp.status in (RsvpStatus.GOING, RsvpStatus.WAITLISTED):
            await world.handle.execute(
                RespondToGathering(SESSION, Answer.NOT_GOING, rsvp.member_id), actor=SYSTEM
            )
    await world.handle.execute(UpdateGathering(SESSION, capacity=1), actor=SYSTEM)
    await world.handle.execute(RespondToGathering(SESSION, Answer.GOING, OTHER), actor=SYSTEM)
    details = await world.handle.execute(GetGathering(SESSION), actor=SYSTEM)
    assert (details.going, details.waitlisted, details.seats_left) == (1, 0, 0)


async def test_waitlist_promotion_check_in_and_points_end_to_end(world: WebWorld) -> None:
    await _full_session(world)
    member, other = await world.as_role("member"), await world.as_role("volunteer")
    path = f"/gatherings/{SESSION}"

    # Going to a full session: a place on the waitlist, shown as such.
    answered = await send(member, f"{path}/rsvp", form_key="rsvp-going-1", answer="going")
    assert answered.status == 303
    assert answered.headers["Location"] == f"{path}?done=rsvp"
    _, text = await page(member, answered.headers["Location"])
    assert "waitlist #1<" in status_line(text)
    assert "Your answer is saved." in text
    _, chinese = await page(member, path, "zh_CN")
    assert "候补第 1 位<" in status_line(chinese)
    # The same form again (a double click, Back and resend) changes nothing.
    again = await send(member, f"{path}/rsvp", form_key="rsvp-going-1", answer="going")
    assert again.status == 303
    rsvps = await world.handle.execute(ListRsvps(SESSION, RsvpStatus.WAITLISTED), actor=SYSTEM)
    assert [r.member_id for r in rsvps] == [MEMBER]

    # The other member gives up the seat: the first on the waitlist has it.
    gave_up = await send(other, f"{path}/rsvp", answer="not_going")
    assert gave_up.status == 303
    _, text = await page(member, path)
    assert status_line(text).startswith('<span class="tag ok">going</span>')
    assert "waitlist" not in status_line(text)

    # Check-in: staff read the code out; the member types it on the page.
    code = (await world.handle.execute(GetCheckInCode(SESSION), actor=STAFF)).code
    world.clock.set(SESSION_STARTS.replace(minute=20))
    _, text = await page(member, path)
    assert f'action="{path}/check-in"' in text
    before = await balance(world, MEMBER)
    wrong = "000000" if code != "000000" else "111111"
    refused = await send(member, f"{path}/check-in", code=wrong)
    assert refused.status == 422
    text = await refused.text()
    assert re.search(r'id="f-code"[^>]*value="' + wrong + '"', text), text
    assert re.search(r'<p class="error" id="e-code">[^<]*not right', text), text
    assert await balance(world, MEMBER) == before

    done = await send(member, f"{path}/check-in", form_key="check-in-1", code=f" {code} ")
    assert done.status == 303
    assert done.headers["Location"] == f"{path}?done=check_in&points=5"
    _, text = await page(member, done.headers["Location"])
    assert "+5 points" in text
    assert "checked in at 2026-07-08 12:20" in status_line(text)
    assert f'action="{path}/check-in"' not in text
    assert await balance(world, MEMBER) == before + 5
    # Sent again with the same key: the first answer, and no second award.
    replay = await send(member, f"{path}/check-in", form_key="check-in-1", code=code)
    assert replay.status == 303
    assert await balance(world, MEMBER) == before + 5

    # The points page shows the line with its rule and the running balance.
    _, text = await page(member, "/points")
    assert "Salon attendance" in text
    assert "+5" in text
    assert f">{before + 5}</td>" in text

    # After it started, one who came says how it was.
    world.clock.set(SESSION_STARTS.replace(minute=50))
    _, text = await page(member, path)
    assert f'action="{path}/feedback"' in text
    no_stars = await send(member, f"{path}/feedback", comment="Good talk")
    assert no_stars.status == 422
    text = await no_stars.text()
    assert 'id="e-rating"' in text
    assert ">Good talk</textarea>" in text
    too_long = await send(member, f"{path}/feedback", rating=4, comment="x" * 1500)
    assert too_long.status == 422
    assert 'id="e-comment"' in await too_long.text()
    thanked = await send(
        member, f"{path}/feedback", form_key="feedback-1", rating=5, comment="Lively"
    )
    assert thanked.status == 303
    assert thanked.headers["Location"] == f"{path}?done=feedback"
    twice = await send(
        member, f"{path}/feedback", form_key="feedback-1", rating=5, comment="Lively"
    )
    assert twice.status == 303  # the same form again: the first answer, nothing new
    another = await send(member, f"{path}/feedback", form_key="feedback-2", rating=1)
    assert another.status == 422  # a second opinion is refused, with the reason
    assert "already" in (await another.text()).lower()
    # Once given, the page shows the feedback instead of the form.
    _, given = await page(member, path)
    assert "You gave it 5 ★" in given
    assert "<blockquote>Lively</blockquote>" in given
    assert f'action="{path}/feedback"' not in given


async def test_answers_close_when_it_starts_and_a_wrong_answer_is_explained(
    world: WebWorld,
) -> None:
    member = await world.as_role("member")
    path = f"/gatherings/{SESSION}"
    bad = await send(member, f"{path}/rsvp", answer="perhaps")
    assert bad.status == 422
    assert 'id="e-answer"' in await bad.text()
    world.clock.set(SESSION_STARTS.replace(minute=45))
    _, text = await page(member, path)
    assert f'action="{path}/rsvp"' not in text
    late = await send(member, f"{path}/rsvp", answer="going", locale="zh_CN")
    assert late.status == 422
    text = await late.text()
    assert 'role="alert"' in text
    assert CHINESE.search(text.split('role="alert"', 1)[1][:200])


async def test_an_empty_code_is_explained_beside_the_field(world: WebWorld) -> None:
    member = await world.as_role("member")
    world.clock.set(SESSION_STARTS.replace(minute=10))
    refused = await send(member, f"/gatherings/{SESSION}/check-in", code="  ")
    assert refused.status == 422
    assert 'id="e-code"' in await refused.text()


# --- clubs -------------------------------------------------------------------------------


async def test_joining_an_open_club_and_asking_to_join_an_approval_club(world: WebWorld) -> None:
    member = await world.as_role("member")
    joined = await send(member, "/clubs/chess/join", form_key="join-chess")
    assert joined.status == 303
    assert joined.headers["Location"] == "/clubs/chess?done=joined"
    _, text = await page(member, joined.headers["Location"])
    assert "Welcome to the club!" in text
    assert 'action="/clubs/chess/leave"' in text
    assert (await send(member, "/clubs/chess/join", form_key="join-chess")).status == 303

    asked = await send(member, "/clubs/kangaroo_class/join")
    assert asked.headers["Location"] == "/clubs/kangaroo_class?done=requested"
    _, text = await page(member, "/clubs/kangaroo_class")
    assert "Request waiting for approval" in text
    assert "Withdraw my request" in text
    _, listing = await page(member, "/clubs")
    assert "Request waiting for approval" in listing
    assert "You are a member" in listing

    again = await send(member, "/clubs/kangaroo_class/join", form_key="join-again")
    assert again.status == 422
    assert 'id="form-error"' in await again.text()

    withdrawn = await send(member, "/clubs/kangaroo_class/leave", pending="1")
    assert withdrawn.headers["Location"] == "/clubs/kangaroo_class?done=withdrawn"
    left = await send(member, "/clubs/chess/leave")
    assert left.headers["Location"] == "/clubs/chess?done=left"
    memberships = await world.handle.execute(ListMemberClubs(MEMBER), actor=SYSTEM)
    current = {m.club_key for m in memberships if m.status.is_current}
    assert not {"chess", "kangaroo_class"} & current
    not_in = await send(member, "/clubs/chess/leave")
    assert not_in.status == 422


# --- points and the leaderboard ----------------------------------------------------------


async def test_the_leaderboard_shows_my_place_on_each_board(world: WebWorld) -> None:
    member = await world.as_role("member")
    _, text = await page(member, "/points/leaderboard")
    found = re.search(r"You are number (\d+) with \d+ points\.", text)
    assert found is not None, text
    assert ('<tr class="me">' in text) == (int(found.group(1)) <= 20)
    if '<a class="button secondary" href="/points/leaderboard?board=all&amp;offset=20">' in text:
        status, second = await page(member, "/points/leaderboard?board=all&offset=20")
        assert status == 200
        assert ('<tr class="me">' in second) == (20 < int(found.group(1)) <= 40)
    for board in ("season", "organization", "category"):
        _, text = await page(member, f"/points/leaderboard?board={board}")
        assert f'href="/points/leaderboard?board={board}" aria-current="page"' in text
    # A category's board is headed by its name, in the reader's language, not its key.
    profile = await world.handle.execute(GetMember(MEMBER), actor=SYSTEM)
    assert sorted(profile.member.categories)[0] == "employee"  # 郑晓明: 党员、楼宇员工
    _, text = await page(member, "/points/leaderboard?board=category")
    assert "<h2>Category: Employee</h2>" in text
    _, text = await page(member, "/points/leaderboard?board=category", "zh_CN")
    assert "楼宇员工" in text


async def test_the_statement_pages_back_in_time(world: WebWorld) -> None:
    volunteer = await world.as_role("volunteer")
    _, text = await page(volunteer, "/points")
    assert "<table>" in text
    older = re.search(r'href="/points\?before=(\d+)"', text)
    if older is not None:
        status, _ = await page(volunteer, f"/points?before={older.group(1)}")
        assert status == 200


# --- the shop ----------------------------------------------------------------------------


async def test_redeeming_reserves_the_item_and_spends_the_points(world: WebWorld) -> None:
    member = await world.as_role("member")
    before = await balance(world, MEMBER)
    assert before >= 15, "the demo gives 郑晓明 enough points for a coffee"

    done = await send(member, "/shop/coffee/redeem", form_key="redeem-1", quantity=1)
    assert done.status == 303
    assert done.headers["Location"] == "/shop?done=redeemed"
    _, text = await page(member, done.headers["Location"])
    assert "Reserved!" in text
    assert f"You have {before - 15} points." in text
    # The same form again: one redemption, one debit.
    again = await send(member, "/shop/coffee/redeem", form_key="redeem-1", quantity=1)
    assert again.status == 303
    assert await balance(world, MEMBER) == before - 15
    mine = await world.handle.execute(ListRedemptions(member_id=MEMBER), actor=SYSTEM)
    reserved = [r for r in mine if r.status is RedemptionStatus.RESERVED]
    assert len([r for r in reserved if r.item_key == "coffee"]) >= 1
    newest = mine[0]

    _, text = await page(member, "/shop/mine")
    assert f'id="redemption-{newest.id}"' in text
    assert "reserved: to collect" in text
    assert f"You have {before - 15} points." in text

    cancelled = await send(member, f"/shop/mine/{newest.id}/cancel")
    assert cancelled.headers["Location"] == "/shop/mine?done=cancelled"
    _, text = await page(member, cancelled.headers["Location"])
    assert "cancelled, points returned" in text
    assert await balance(world, MEMBER) == before


async def test_a_refused_redemption_keeps_what_was_typed(world: WebWorld) -> None:
    member = await world.as_role("member")
    before = await balance(world, MEMBER)
    typed = await send(member, "/shop/notebook/redeem", quantity="two")
    assert typed.status == 422
    text = await typed.text()
    assert re.search(r'id="q-notebook"[^>]*value="two"', text), text
    assert 'id="e-q-notebook"' in text
    superscript = await send(member, "/shop/notebook/redeem", quantity="³")  # a digit to isdigit
    assert superscript.status == 422

    zero = await send(member, "/shop/notebook/redeem", quantity="0", locale="zh_CN")
    assert zero.status == 422
    text = await zero.text()
    assert re.search(r'id="q-notebook"[^>]*value="0"', text)
    assert re.search(r'<p class="error" id="e-q-notebook">必须在 1 到 100 之间</p>', text), text

    dear = await send(member, "/shop/parenting_class_seat/redeem", quantity=5)
    assert dear.status == 422
    assert 'id="form-error"' in await dear.text()
    assert await balance(world, MEMBER) == before


async def test_someone_else_s_redemption_cannot_be_cancelled(world: WebWorld) -> None:
    theirs = await world.handle.execute(RedeemItem("coffee", 1, OTHER), actor=SYSTEM)
    member = await world.as_role("member")
    refused = await send(member, f"/shop/mine/{theirs.id}/cancel")
    assert refused.status == 422
    assert 'id="form-error"' in await refused.text()
    mine = await world.handle.execute(ListRedemptions(member_id=OTHER), actor=SYSTEM)
    assert next(r for r in mine if r.id == theirs.id).status is RedemptionStatus.RESERVED


async def test_cancelled_gatherings_and_settled_redemptions_read_clearly(world: WebWorld) -> None:
    await world.handle.execute(CancelGathering(10, "Repainting"), actor=SYSTEM)
    taken = await world.handle.execute(RedeemItem("coffee", 1, MEMBER), actor=SYSTEM)
    await world.handle.execute(FulfilRedemption(taken.id), actor=SYSTEM)
    member = await world.as_role("member")
    for locale in ("en", "zh_CN"):
        status, text = await page(member, "/gatherings/10", locale)
        assert status == 200
        assert 'class="tag bad"' in text
        assert 'action="/gatherings/10/rsvp"' not in text
        status, text = await page(member, "/shop/mine", locale)
        assert status == 200
        assert f'action="/shop/mine/{taken.id}/cancel"' not in text
    assert "Collected on 2026-07-01 17:00" in (await page(member, "/shop/mine"))[1]
