"""How the Matrix bot behaves when things are not simple: restarts, long stops, edits,
redactions, events it cannot decrypt, power levels, invites, private answers.

Events are handled in the order they arrived, so a plain command sent after
an odd one is a barrier: once its answer is here, anything the bot was
going to say about the odd one has been said.
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from huarong_core.commands import ListClubMembers
from huarong_core.inbox import Inbox, InboxItem
from tests.matrix.homeserver import Event, Human
from tests.matrix.world import (
    SYSTEM,
    WAIT,
    World,
    a_club_room,
    answers_to,
    body,
    direct_room,
)

pytestmark = pytest.mark.slow


def messages_since(human: Human, room: str, bot: str, mark: int) -> list[Event]:
    return [
        e for e in human.events(room)[mark:] if e["sender"] == bot and e["type"] == "m.room.message"
    ]


async def with_ann(world: World, room: str) -> Human:
    (ann,) = await world.people("Ann")
    await world.leader.invite(room, ann.user_id)
    await ann.wait_for(
        lambda e: e["sender"] == world.bot_id and "Ann" in body(e),
        room_id=room,
        within=WAIT,
        what="the welcome",
    )
    return ann


async def members(world: World) -> int:
    found = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)
    return len(found)


async def test_a_restart_neither_repeats_nor_loses_a_command(world: World) -> None:
    room = await a_club_room(world, encrypted=True)
    ann = await with_ann(world, room)
    try:
        # Sent while the bot is down: answered once after the restart.
        await world.stop()
        joined = await ann.send(room, "!join salon")
        await world.start()
        await ann.wait_for(
            lambda e: bool(answers_to(ann, room, world.bot_id, joined)),
            room_id=room,
            within=WAIT,
            what="the answer to the join sent while the bot was down",
        )
        assert await members(world) == 2

        # Handled and answered, but the process died before marking it done: handled
        # again after the restart, with no second effect and no second answer.
        service = world.service
        assert service is not None

        original = service.inbox.done

        async def crash(item: InboxItem) -> None:
            if item.payload.get("content", {}).get("body") == "!join salon":
                raise RuntimeError("the process died before marking the event done")
            await original(item)

        service.inbox.done = crash  # type: ignore[method-assign]
        again = await ann.send(room, "!join salon")
        await ann.wait_for(
            lambda e: bool(answers_to(ann, room, world.bot_id, again)),
            room_id=room,
            within=WAIT,
            what="the first answer",
        )
        await world.stop()
        await world.start()
        inbox = Inbox(world.handle, "matrix")
        for _ in range(int(WAIT * 10)):
            if not await inbox.pending():
                break
            await asyncio.sleep(0.1)
        assert await inbox.pending() == []
        await world.settle(ann, room)
        assert len(answers_to(ann, room, world.bot_id, again)) == 1
        assert await members(world) == 2
    finally:
        await ann.close()


async def test_a_long_stop_is_read_back_from_the_room_history(world: World) -> None:
    room = await a_club_room(world, encrypted=False)
    await world.stop()
    sent = [await world.leader.send(room, f"!points {n}") for n in range(6)]
    await world.start(timeline_limit=2)
    for source in sent:

        def answered(_: Event, s: str = source) -> bool:
            return bool(answers_to(world.leader, room, world.bot_id, s))

        await world.leader.wait_for(
            answered,
            room_id=room,
            within=WAIT,
            what=f"the answer to {source}",
        )
    for source in sent:
        assert len(answers_to(world.leader, room, world.bot_id, source)) == 1


async def test_edits_redactions_and_undecryptable_events(world: World) -> None:
    room = await a_club_room(world, encrypted=False)
    ann = await with_ann(world, room)
    try:
        first = await world.ask(ann, room, "!myclubs")
        command = (first["content"]["m.relates_to"]["m.in_reply_to"])["event_id"]
        # An edited command is not run again; the editor is told once.
        mark = ann.mark(room)
        await ann.edit(room, command, "!join salon")
        note = await ann.said_by(world.bot_id, room, after=mark, within=WAIT)
        assert "edit" in body(note).lower() or "编辑" in body(note)
        mark = ann.mark(room)
        await ann.edit(room, command, "!join salon now")
        await world.settle(ann, room)
        assert len(messages_since(ann, room, world.bot_id, mark)) == 1  # the barrier's answer
        assert await members(world) == 1

        # A command redacted before the bot saw it is gone: no effect, no answer.
        await world.stop()
        doomed = await ann.send(room, "!join salon")
        await ann.redact(room, doomed)
        await world.start()
        await world.settle(ann, room)
        assert answers_to(ann, room, world.bot_id, doomed) == []
        assert await members(world) == 1

        # Undecryptable: said once per session, keys asked for, the bot carries on.
        garbage = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnAqOZyHaa5Tc2Y4QWWrEbrl8ZQ",
            "sender_key": "P0Vy/6Rkt0/7uJ8fb2YsYJx5KOc2xKtVr0bHPvQPXBY",
            "session_id": "X2dNcFL0CeUkg5IJEbMi8ZgNtRSd1C9TwkJrmLA6F9A",
            "device_id": ann.device_id,
        }
        mark = ann.mark(room)
        await ann.send_raw(room, "m.room.encrypted", garbage)
        await ann.send_raw(room, "m.room.encrypted", garbage)
        await world.settle(ann, room)
        said = messages_since(ann, room, world.bot_id, mark)
        notes = [e for e in said if "decrypt" in body(e).lower() or "解密" in body(e)]
        assert len(notes) == 1
        assert len(said) == 2  # the note and the barrier's answer
    finally:
        await ann.close()


async def test_malformed_content_is_read_as_absent_not_a_failure(world: World) -> None:
    """Event content is whatever the sending client wrote: a relation that is not an
    object, an edit whose new content is text, a reaction keyed by a list. None of it
    may fail the bot's handling (which would retry the event and then set it aside)."""
    room = await a_club_room(world, encrypted=False)
    ann = await with_ann(world, room)
    try:
        with capture_logs() as logs:
            odd = {"msgtype": "m.text", "body": "!myclubs", "m.relates_to": "oops"}
            answered = await ann.send_raw(room, "m.room.message", odd)
            edit = {
                "msgtype": "m.text",
                "body": "* !join salon",
                "m.relates_to": {"rel_type": "m.replace", "event_id": answered},
                "m.new_content": "not an object",
            }
            await ann.send_raw(room, "m.room.message", edit)
            await ann.send_raw(room, "m.reaction", {"m.relates_to": {"key": ["1"]}})
            reply = await world.answer(ann, room, answered)
            await world.settle(ann, room)
        assert body(reply)  # the command was answered as if the relation were absent
        failures = [e for e in logs if e["event"] == "inbox.handling_failed"]
        assert failures == []
        assert await members(world) == 1  # the edit ran nothing
    finally:
        await ann.close()


async def test_power_levels_invites_numbers_and_private_answers(world: World) -> None:
    room = await a_club_room(world, encrypted=False)
    ann = await with_ann(world, room)
    try:
        # Binding changes the room: a member without the power is refused, politely.
        refused = await world.ask(ann, room, "!unbind")
        assert "50" in body(refused)

        # A number typed answers the choices last offered to that person.
        listing = await world.ask(ann, room, "!whatson")
        assert "1️⃣" in body(listing)
        going = await world.ask(ann, room, "1")
        assert "英语角之夜" in body(going) or "English corner night" in body(going)

        # A personal answer asked in the room goes to a direct room the bot opens.
        noted = await world.ask(ann, room, "!points")
        assert "Ann" in body(noted)
        direct = await direct_room(ann, world.bot_id)
        await ann.wait_for(
            lambda e: e["sender"] == world.bot_id and e["type"] == "m.room.message",
            room_id=direct,
            within=WAIT,
            what="the points in the direct room",
        )
        # In the direct room no prefix is needed.
        mark = ann.mark(direct)
        await ann.send(direct, "积分")
        await ann.said_by(world.bot_id, direct, after=mark, within=WAIT)

        # Invites from people the bot was not told to trust are declined.
        await world.stop()
        await world.start(inviters=("@nobody:localhost",))
        other = await ann.create_room("elsewhere", invite=[world.bot_id], encrypted=False)
        await ann.wait_for(
            lambda e: (
                e["type"] == "m.room.member"
                and e.get("state_key") == world.bot_id
                and e["content"].get("membership") == "leave"
            ),
            room_id=other,
            within=WAIT,
            what="the bot declining the invite",
        )
    finally:
        await ann.close()
