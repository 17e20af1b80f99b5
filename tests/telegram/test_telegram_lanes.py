"""Which updates the inbox worker keeps in order with which (`update_lanes`)."""

from __future__ import annotations

from huarong_telegram.updates import update_lanes


def test_a_message_is_tied_to_its_chat_and_its_sender() -> None:
    update = {
        "update_id": 1,
        "message": {"message_id": 5, "from": {"id": 7}, "chat": {"id": -100123}, "date": 0},
    }
    assert set(update_lanes(update)) == {("user", 7), ("chat", -100123)}


def test_a_button_press_is_tied_to_the_chat_of_its_message() -> None:
    update = {
        "update_id": 2,
        "callback_query": {
            "id": "q",
            "from": {"id": 7},
            "message": {"message_id": 9, "chat": {"id": 7}, "date": 0},
            "data": "/rsvp 12",
        },
    }
    assert set(update_lanes(update)) == {("user", 7), ("chat", 7)}


def test_a_membership_change_is_tied_to_its_group() -> None:
    update = {
        "update_id": 3,
        "my_chat_member": {"chat": {"id": -5}, "from": {"id": 8}, "date": 0},
    }
    assert set(update_lanes(update)) == {("user", 8), ("chat", -5)}


def test_odd_or_unknown_updates_are_tied_to_nothing() -> None:
    assert update_lanes({"update_id": 4, "edited_channel_post": {"chat": {"id": -9}}}) == ()
    assert update_lanes({"update_id": 5, "message": "not an object"}) == ()
    assert update_lanes({"update_id": 6, "message": {"from": {"id": "7"}, "chat": {}}}) == ()
    assert update_lanes({"update_id": 7, "message": {"from": {"id": True}}}) == ()
