"""The Matrix test harness against the real homeserver: if these fail, no Matrix test means much.

Two people on real nio clients talk in a clear and in an encrypted room, and
each reads the other's (decrypted) words; reactions, edits and redactions
reach the other side; an undecryptable event arrives as undecryptable; a
direct invite is remembered as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.matrix.homeserver import (
    Homeserver,
    Human,
    register,
    unique_localpart,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def ann(homeserver: Homeserver) -> AsyncIterator[Human]:
    async with await Human.create(homeserver, "ann", display_name="Ann") as human:
        yield human


@pytest.fixture
async def bob(homeserver: Homeserver) -> AsyncIterator[Human]:
    async with await Human.create(homeserver, "bob", display_name="Bob") as human:
        yield human


async def room_of(ann: Human, bob: Human, *, encrypted: bool, direct: bool = False) -> str:
    """A room Ann made with Bob in it, once both clients have seen Bob join."""
    room = await ann.create_room(
        "harness", invite=[bob.user_id], encrypted=encrypted, direct=direct
    )
    for human in (ann, bob):
        await human.joined(room, bob.user_id)
    return room


async def test_registration_needs_the_shared_secret(homeserver: Homeserver) -> None:
    user_id = await register(homeserver, unique_localpart("Reg"), "pw-123456")
    assert user_id.startswith("@reg-")
    assert user_id.endswith(":localhost")
    forged = Homeserver(url=homeserver.url, shared_secret="not-the-secret")
    with pytest.raises(AssertionError, match="403"):
        await register(forged, unique_localpart("reg"), "pw-123456")


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
async def test_two_people_talk(ann: Human, bob: Human, encrypted: bool) -> None:
    room = await room_of(ann, bob, encrypted=encrypted)

    mark = bob.mark(room)
    sent = await ann.send(room, "你好 Bob")
    heard = await bob.said_by(ann.user_id, room, after=mark)
    assert heard["event_id"] == sent
    assert heard["content"]["body"] == "你好 Bob"
    assert heard["decrypted"] is encrypted

    mark = ann.mark(room)
    await bob.send(room, "hi Ann")
    reply = await ann.said_by(bob.user_id, room, after=mark)
    assert reply["content"]["body"] == "hi Ann"
    assert reply["decrypted"] is encrypted
    assert [
        e["content"]["body"]
        for e in bob.events(room, sender=ann.user_id)
        if e["type"] == "m.room.message"
    ] == ["你好 Bob"]


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
async def test_reaction_edit_and_redaction_reach_the_other(
    ann: Human, bob: Human, encrypted: bool
) -> None:
    room = await room_of(ann, bob, encrypted=encrypted)
    mark = ann.mark(room)
    message = await bob.send(room, "tea at 3?")
    await ann.said_by(bob.user_id, room, after=mark)

    mark = bob.mark(room)
    reaction = await ann.react(room, message, "👍")
    seen = await bob.wait_for(
        lambda e: e["event_id"] == reaction, room_id=room, after=mark, what="Ann's reaction"
    )
    assert seen["type"] == "m.reaction"
    assert seen["decrypted"] is encrypted
    assert seen["content"]["m.relates_to"] == {
        "rel_type": "m.annotation",
        "event_id": message,
        "key": "👍",
    }

    mark = ann.mark(room)
    edit = await bob.edit(room, message, "tea at 4?")
    seen = await ann.wait_for(
        lambda e: e["event_id"] == edit, room_id=room, after=mark, what="Bob's edit"
    )
    assert seen["type"] == "m.room.message"
    assert seen["content"]["m.new_content"]["body"] == "tea at 4?"
    assert seen["content"]["body"] == "* tea at 4?"
    assert seen["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": message}

    mark = ann.mark(room)
    redaction = await bob.redact(room, message)
    seen = await ann.wait_for(
        lambda e: e["event_id"] == redaction, room_id=room, after=mark, what="Bob's redaction"
    )
    assert seen["type"] == "m.room.redaction"
    assert seen["redacts"] == message


async def test_garbage_ciphertext_arrives_undecryptable(ann: Human, bob: Human) -> None:
    room = await room_of(ann, bob, encrypted=True)
    mark = bob.mark(room)
    garbage = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "bm90IGEgbWVnb2xtIG1lc3NhZ2U",
        "device_id": ann.device_id,
        "sender_key": "c2VuZGVyIGtleSBvZiBub2JvZHk",
        "session_id": "bm8gc3VjaCBzZXNzaW9u",
    }
    event_id = await ann.send_raw(room, "m.room.encrypted", garbage)
    seen = await bob.wait_for(
        lambda e: e["event_id"] == event_id, room_id=room, after=mark, what="the garbage"
    )
    assert seen["type"] == "m.room.encrypted"
    assert seen["decrypted"] is False
    # A real message after it still gets through: one bad event breaks nothing.
    mark = bob.mark(room)
    await ann.send(room, "still here")
    assert (await bob.said_by(ann.user_id, room, after=mark))["decrypted"] is True


async def test_direct_invite(ann: Human, bob: Human) -> None:
    room = await room_of(ann, bob, encrypted=True, direct=True)
    assert bob.direct_rooms_with(ann.user_id) == [room]
    assert ann.direct_rooms_with(bob.user_id) == []
    create = next(e for e in bob.events(room) if e["type"] == "m.room.create")
    # In room version 12 (Synapse 1.163's default) the invitees of a
    # trusted_private_chat become additional creators, with unlimited power:
    # they may not appear in m.room.power_levels `users` at all.
    if create["content"].get("room_version") == "12":
        assert create["content"].get("additional_creators") == [bob.user_id]


async def test_power_levels(ann: Human, bob: Human) -> None:
    room = await room_of(ann, bob, encrypted=False)
    mark = bob.mark(room)
    await ann.set_power(room, bob.user_id, 50)
    levels = await bob.wait_for(
        lambda e: e["type"] == "m.room.power_levels",
        room_id=room,
        after=mark,
        what="new power levels",
    )
    assert levels["content"]["users"][bob.user_id] == 50


async def test_wait_for_names_what_never_came(ann: Human) -> None:
    room = await ann.create_room("alone", invite=[], encrypted=False)
    with pytest.raises(AssertionError, match="a reply that never comes"):
        await ann.wait_for(
            lambda e: e["type"] == "m.room.message",
            room_id=room,
            within=0.5,
            what="a reply that never comes",
        )


async def test_send_raw_is_refused_without_membership(ann: Human, bob: Human) -> None:
    room = await ann.create_room("private", invite=[], encrypted=False)
    with pytest.raises(AssertionError, match="403"):
        await bob.send_raw(room, "m.room.message", {"msgtype": "m.text", "body": "let me in"})
