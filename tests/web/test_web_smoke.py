"""The request pipeline end to end on a few routes."""

from __future__ import annotations

from tests.web.web_world import WebWorld


async def test_a_member_lists_clubs_and_joins_one(world: WebWorld) -> None:
    member = await world.as_role("member")
    listed = await member.call("GET", "/clubs")
    assert listed.status == 200
    assert "tea_art" in {club["club"]["key"] for club in await listed.json()}
    joined = await member.call("POST", "/clubs/tea_art/join")
    assert joined.status == 200, await joined.text()
    assert (await joined.json())["member_id"] == 10
