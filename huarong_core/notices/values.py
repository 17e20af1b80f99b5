"""What a notification is: who hears it, the neutral message, how urgent it is.

A notice is decided once, when the relay reads its event, and stored as
neutral values (catalog keys and arguments, never finished sentences); the
words are chosen when it is sent, in the language the recipient has then.
`message_to_json` / `message_from_json` are how the message is stored.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from huarong_core.conversation.values import Button, Message, Text
from huarong_core.domain.text import LocalizedText


class Priority(enum.StrEnum):
    """How a platform's pacing should treat a message: urgent ones pass the others.

    Replies to a person who is waiting are `URGENT`; notices about their own
    affairs (a seat, a request, a reminder) are `NORMAL`; announcements to a
    whole audience are `BULK`, so a 200-member announcement never holds up a
    reminder.
    """

    URGENT = "urgent"
    NORMAL = "normal"
    BULK = "bulk"

    @property
    def rank(self) -> int:
        """0 for the most urgent: sort by it."""
        return _RANKS[self]


_RANKS = {Priority.URGENT: 0, Priority.NORMAL: 1, Priority.BULK: 2}


@attrs.frozen
class ChatRecipient:
    """A group chat bound to a club (notices for the whole group)."""

    platform: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat_id}"


Recipient = int | ChatRecipient
"""A member id, or a bound group chat."""


def recipient_key(recipient: Recipient) -> str:
    """How a recipient is stored: unique per event (`member:7`, `chat:telegram:-100123`)."""
    if isinstance(recipient, ChatRecipient):
        return f"chat:{recipient.platform}:{recipient.chat_id}"
    return f"member:{recipient}"


@attrs.frozen
class Notice:
    """One message for one recipient, as a renderer decides it."""

    recipient: Recipient
    message: Message
    priority: Priority = Priority.NORMAL


# --- the stored form ---------------------------------------------------------------------


def _value_out(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Text):
        return {"$text": _text_out(value)}
    if isinstance(value, tuple) and all(isinstance(part, Text) for part in value):
        return {"$texts": [_text_out(part) for part in value]}
    if isinstance(value, LocalizedText):
        return {"$localized": value.as_dict()}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a notice keeps aware datetimes only")
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, enum.Enum):
        return _value_out(value.value)
    raise TypeError(f"a notice cannot store {type(value).__name__} arguments")


def _value_in(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    (tag, inner), *_ = value.items()
    if tag == "$text":
        return _text_in(inner)
    if tag == "$texts":
        return tuple(_text_in(part) for part in inner)
    if tag == "$localized":
        return LocalizedText(inner)
    if tag == "$datetime":
        return datetime.fromisoformat(inner)
    if tag == "$date":
        return date.fromisoformat(inner)
    if tag == "$decimal":
        return Decimal(inner)
    raise ValueError(f"unknown stored argument {tag!r}")


def _text_out(value: Text) -> dict[str, Any]:
    return {"key": value.key, "params": {k: _value_out(v) for k, v in value.params.items()}}


def _text_in(value: Mapping[str, Any]) -> Text:
    return Text(str(value["key"]), {k: _value_in(v) for k, v in value["params"].items()})


def message_to_json(message: Message) -> dict[str, Any]:
    """The message as JSON values (lines, buttons); arguments keep their kind."""
    return {
        "lines": [_text_out(line) for line in message.lines],
        "buttons": [
            [{"label": _text_out(b.label), "payload": b.payload} for b in row]
            for row in message.buttons
        ],
    }


def message_from_json(value: Mapping[str, Any]) -> Message:
    return Message(
        lines=tuple(_text_in(line) for line in value["lines"]),
        buttons=tuple(
            tuple(Button(_text_in(b["label"]), str(b["payload"])) for b in row)
            for row in value.get("buttons", ())
        ),
    )
