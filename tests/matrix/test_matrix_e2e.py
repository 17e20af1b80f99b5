"""The Matrix adapter end to end, against a real Synapse, in plain and encrypted rooms.

Each test starts a community, the bot (`MatrixService`, as `huarong serve`
runs it, with the notification relay and the delivery worker beside it) and
people on real encrypting clients (`Human`). The club-room scenario runs in
an unencrypted room and in an end-to-end encrypted one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from huarong_core.commands import (
    FireDueTimers,
    GetCheckInCode,
    ListClubMembers,
    ListRsvps,
    WhatsOn,
)
from huarong_core.domain.gatherings import RsvpStatus
from tests.matrix.homeserver import Event
from tests.matrix.world import STARTS, SYSTEM, WAIT, World, a_club_room, body, direct_room

pytestmark = pytest.mark.slow


def is_reply_to(event: Event, source: str) -> bool:
    relation = event["content"].get("m.relates_to") or {}
    return bool((relation.get("m.in_reply_to") or {}).get("event_id") == source)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_club_room_join_rsvp_by_reaction_reminder_and_check_in(
    world: World, encrypted: bool
) -> None:
    room = await a_club_room(world, encrypted=encrypted)
    (ann,) = await world.people("Ann")
    try:
        # A newcomer is welcomed with a numbered choice and joins with a reaction.
        mark = world.leader.mark(room)
        await world.leader.invite(room, ann.user_id)
        welcome = await ann.wait_for(
            lambda e: e["sender"] == world.bot_id and "Ann" in body(e),
            room_id=room,
            within=WAIT,
            what="the welcome",
        )
        assert "1️⃣" in body(welcome)
        assert welcome["decrypted"] is encrypted
        mark = ann.mark(room)
        await ann.react(room, welcome["event_id"], "1️⃣")
        joined = await ann.said_by(world.bot_id, room, after=mark, within=WAIT)
        assert "英语沙龙" in body(joined) or "English salon" in body(joined)
        members = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)
        assert len(members) == 2  # the leader and Ann

        # What's on: numbered choices, answered by reacting with the keycap.
        listing = await world.ask(ann, room, "!whatson")
        assert "英语角之夜" in body(listing) or "English corner night" in body(listing)
        assert listing["content"].get("formatted_body")
        mentions = listing["content"].get("m.mentions") or {}
        assert ann.user_id in mentions.get("user_ids", [])
        mark = ann.mark(room)
        await ann.react(room, listing["event_id"], "1️⃣")
        going = await ann.said_by(world.bot_id, room, after=mark, within=WAIT)
        assert is_reply_to(going, going["content"]["m.relates_to"]["m.in_reply_to"]["event_id"])
        (night,) = await world.handle.execute(WhatsOn(), actor=SYSTEM)
        rsvps = await world.handle.execute(ListRsvps(night.id), actor=SYSTEM)
        assert [r.status for r in rsvps] == [RsvpStatus.GOING]

        # An hour before: the reminder reaches Ann's direct room and the club's room.
        world.clock.set(STARTS - timedelta(minutes=59))
        assert await world.handle.execute(FireDueTimers(), actor=SYSTEM) >= 1
        room_mark = world.leader.mark(room)
        await world.notices()
        await world.leader.wait_for(
            lambda e: e["sender"] == world.bot_id and "英语角之夜" in body(e),
            room_id=room,
            after=room_mark,
            within=WAIT,
            what="the reminder in the club's room",
        )
        direct = await direct_room(ann, world.bot_id)
        await ann.wait_for(
            lambda e: e["sender"] == world.bot_id and "英语角之夜" in body(e),
            room_id=direct,
            within=WAIT,
            what="the reminder in Ann's direct room",
        )

        # At the venue: the code shown there checks her in, with points.
        world.clock.set(STARTS + timedelta(minutes=5))
        code = (await world.handle.execute(GetCheckInCode(night.id), actor=SYSTEM)).code
        checked = await world.ask(ann, room, f"!checkin {night.id} {code}")
        assert checked["type"] == "m.room.message"
        text = body(checked)
        assert "20" in text or "签到" in text or "checked in" in text.lower()
        rsvps = await world.handle.execute(ListRsvps(night.id), actor=SYSTEM)
        assert rsvps[0].checked_in_at is not None
    finally:
        await ann.close()
