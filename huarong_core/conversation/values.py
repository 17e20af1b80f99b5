"""What goes into the conversation layer and what comes out: platform-neutral values.

An adapter turns a Telegram update, a Matrix event or a terminal line into
an `Incoming`, and renders each `Message` of the `Reply` its own way
(HTML and an inline keyboard, `formatted_body`, numbered choices). Text is
a catalog key with arguments, never a finished sentence, so one reply reads
right in every language; `render.py` turns it into text for one locale.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

MAX_PAYLOAD_BYTES = 64
"""Telegram's limit on `callback_data`; every button payload fits it."""

MAX_INPUT_LENGTH = 4096
"""Longer input is refused whole (Telegram's own message limit)."""


class ChatKind(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@attrs.frozen
class Incoming:
    """One message from a person, as the adapter received it.

    `delivery_id` is the platform's id of the input (Telegram `update_id`,
    Matrix `event_id`, a console line number): a redelivered input carries
    the same id, gets the same answer and changes nothing. A pressed button
    arrives as its payload in `text` with `pressed=True`.
    """

    platform: str
    chat_id: str
    sender_id: str
    delivery_id: str
    text: str
    chat_kind: ChatKind = ChatKind.PRIVATE
    sender_name: str = ""
    locale_hint: str | None = None
    """The platform's idea of the sender's language (Telegram `language_code`);
    used only for someone who has no locale yet."""
    pressed: bool = False
    photo: bytes | None = attrs.field(default=None, repr=False)
    """An attached picture (the smile wall takes photos), as the platform delivered it."""


def _payload_fits(instance: Any, attribute: Any, value: str) -> None:
    size = len(value.encode("utf-8"))
    if not value or size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"button payload {value!r} is {size} bytes (1..{MAX_PAYLOAD_BYTES})")


@attrs.frozen
class Text:
    """A catalog key and the arguments that fill it.

    Argument values may be `Text` (translated in the same language), `datetime`
    and `date` (formatted for the locale, in the community's time zone),
    numbers (grouped for the locale), `LocalizedText`, or anything `str()`-able.
    """

    key: str
    params: Mapping[str, Any] = attrs.field(factory=dict)


def text(key: str, /, **params: Any) -> Text:
    return Text(key, params)


@attrs.frozen
class Button:
    """A choice: its label, and the command line it stands for (`/rsvp 12 going`).

    A payload is ordinary command text, so pressing a button and typing its
    payload do the same thing, and adapters need no table of callbacks.
    """

    label: Text
    payload: str = attrs.field(validator=_payload_fits)


def button_if_fits(label: Text, payload: str) -> Button | None:
    """A button, or `None` when its payload would pass the 64-byte limit (a long key)."""
    if not payload or len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        return None
    return Button(label, payload)


def button_rows(*buttons: Button | None, width: int = 3) -> tuple[tuple[Button, ...], ...]:
    """The buttons that fitted, `width` to a row."""
    kept = [b for b in buttons if b is not None]
    return tuple(tuple(kept[i : i + width]) for i in range(0, len(kept), width))


@attrs.frozen
class Message:
    """One message out. `private` ones go to the sender's private chat, wherever
    the input came from; `replaces_source` asks the adapter to edit the message
    whose button was pressed instead of sending a new one (paging, RSVP state)."""

    lines: tuple[Text, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    private: bool = False
    replaces_source: bool = False

    def to_private(self) -> Message:
        return attrs.evolve(self, private=True)


@attrs.frozen
class Reply:
    """Everything said back to one input, in the locale it was decided in."""

    messages: tuple[Message, ...]
    locale: str
    command: str | None = None
    """The route that answered (`points`), or `None` for no command."""

    @property
    def is_empty(self) -> bool:
        return not self.messages
