"""The portal's first pages render for a signed-in member and send others to sign in."""

from __future__ import annotations

from tests.web.web_world import WebWorld


async def test_home_needs_a_session_and_then_shows_the_member_s_week(world: WebWorld) -> None:
    anonymous = await world.client()
    first = await anonymous.get("/", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"].startswith("/sign-in?next=")
    page = await anonymous.get("/sign-in", headers={"Accept-Language": "zh-CN"})
    assert page.status == 200
    assert '<html lang="zh-CN">' in await page.text()

    member = await world.as_role("volunteer")
    home = await member.client.get("/", headers={**member.headers, "Accept-Language": "en"})
    text = await home.text()
    assert home.status == 200, text
    assert "My points" in text
    assert '<main id="main"' in text
