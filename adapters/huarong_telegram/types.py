"""The Bot API objects the adapter uses, as frozen values.

Parsing is tolerant of fields it does not know (every Bot API release adds
some) and strict about the ones the schema marks required: a malformed
object raises `ValueError` whose message names the field by its JSON path
(`update.message.chat.id`), so a caller can skip that one update on
purpose instead of crashing or guessing. Only what the adapter reads is
kept; an update of a kind it does not handle keeps its raw JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

MESSAGE_KINDS: Final = frozenset(
    {"message", "edited_message", "channel_post", "edited_channel_post"}
)
"""Update kinds whose payload is a `Message`."""

MEMBER_KINDS: Final = frozenset({"my_chat_member", "chat_member"})
"""Update kinds whose payload is a `ChatMemberUpdated`."""

MALFORMED: Final = "malformed"
"""The `kind` that `BotApi.get_updates` gives an update it could not parse."""

MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_BUTTON_TEXT: Final = 64
"""Telegram documents no limit on a button's label; longer ones are cut off on
screen anyway, so labels are kept to this many characters."""


class MalformedUpdate(ValueError):
    """An update that breaks the schema; `update_id` is set when it was readable.

    With the id the poller can still move its offset past the update, so
    one bad update never blocks the ones after it.
    """

    def __init__(self, message: str, update_id: int | None) -> None:
        super().__init__(message)
        self.update_id = update_id


class _Reader:
    """Typed access to one JSON object, naming the path of whatever is wrong."""

    def __init__(self, data: Any, path: str) -> None:
        # JSON objects are dicts: the exact check first, the ABC's slower one after.
        if type(data) is not dict and not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected an object, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def _missing(self, name: str) -> ValueError:
        return ValueError(f"{self.path}.{name}: required field is missing")

    def _wrong(self, name: str, expected: str) -> ValueError:
        got = type(self.data[name]).__name__
        return ValueError(f"{self.path}.{name}: expected {expected}, got {got}")

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def integer(self, name: str) -> int:
        if name not in self.data:
            raise self._missing(name)
        value = self.data[name]
        # bool is an int in Python, never in JSON.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(name, "an integer")
        return value

    def opt_integer(self, name: str) -> int | None:
        return self.integer(name) if self.has(name) else None

    def string(self, name: str) -> str:
        if name not in self.data:
            raise self._missing(name)
        value = self.data[name]
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def opt_string(self, name: str) -> str | None:
        return self.string(name) if self.has(name) else None

    def boolean(self, name: str) -> bool:
        if name not in self.data:
            raise self._missing(name)
        value = self.data[name]
        if not isinstance(value, bool):
            raise self._wrong(name, "a boolean")
        return value

    def opt_boolean(self, name: str) -> bool | None:
        return self.boolean(name) if self.has(name) else None

    def obj(self, name: str) -> _Reader:
        if name not in self.data:
            raise self._missing(name)
        return _Reader(self.data[name], f"{self.path}.{name}")

    def opt_obj(self, name: str) -> _Reader | None:
        return self.obj(name) if self.has(name) else None

    def array(self, name: str) -> list[_Reader]:
        if not self.has(name):
            return []
        items = self.data[name]
        if not isinstance(items, list):
            raise self._wrong(name, "an array")
        return [_Reader(item, f"{self.path}.{name}[{i}]") for i, item in enumerate(items)]


# --- incoming values ------------------------------------------------------------------


@attrs.frozen
class User:
    id: int
    is_bot: bool
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    @classmethod
    def _read(cls, r: _Reader) -> User:
        return cls(
            id=r.integer("id"),
            is_bot=r.boolean("is_bot"),
            first_name=r.string("first_name"),
            last_name=r.opt_string("last_name"),
            username=r.opt_string("username"),
            language_code=r.opt_string("language_code"),
        )


@attrs.frozen
class Chat:
    id: int
    type: str
    """"private", "group", "supergroup" or "channel"; kept as sent, since
    Telegram has added types before."""
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @classmethod
    def _read(cls, r: _Reader) -> Chat:
        return cls(
            id=r.integer("id"),
            type=r.string("type"),
            title=r.opt_string("title"),
            username=r.opt_string("username"),
            first_name=r.opt_string("first_name"),
        )


@attrs.frozen
class PhotoSize:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int | None = None

    @classmethod
    def _read(cls, r: _Reader) -> PhotoSize:
        return cls(
            file_id=r.string("file_id"),
            file_unique_id=r.string("file_unique_id"),
            width=r.integer("width"),
            height=r.integer("height"),
            file_size=r.opt_integer("file_size"),
        )


@attrs.frozen
class MessageEntity:
    """A span of a text; `offset` and `length` count UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    user: User | None = None

    @classmethod
    def _read(cls, r: _Reader) -> MessageEntity:
        user = r.opt_obj("user")
        return cls(
            type=r.string("type"),
            offset=r.integer("offset"),
            length=r.integer("length"),
            url=r.opt_string("url"),
            user=User._read(user) if user else None,
        )


@attrs.frozen
class MessageOrigin:
    """Where a forwarded message came from (`forward_origin`).

    `type` is "user", "hidden_user", "chat" or "channel"; `sender_chat` is
    the origin's `sender_chat` (type "chat") or `chat` (type "channel").
    """

    type: str
    date: int
    sender_user: User | None = None
    sender_user_name: str | None = None
    sender_chat: Chat | None = None

    @classmethod
    def _read(cls, r: _Reader) -> MessageOrigin:
        user = r.opt_obj("sender_user")
        chat = r.opt_obj("sender_chat") or r.opt_obj("chat")
        return cls(
            type=r.string("type"),
            date=r.integer("date"),
            sender_user=User._read(user) if user else None,
            sender_user_name=r.opt_string("sender_user_name"),
            sender_chat=Chat._read(chat) if chat else None,
        )


@attrs.frozen
class Message:
    message_id: int
    date: int
    chat: Chat
    from_user: User | None = None
    """JSON `from`; absent in channels and for anonymous group admins."""
    sender_chat: Chat | None = None
    text: str | None = None
    caption: str | None = None
    entities: tuple[MessageEntity, ...] = ()
    caption_entities: tuple[MessageEntity, ...] = ()
    photo: tuple[PhotoSize, ...] = ()
    """Sizes of one picture, smallest first, as Telegram sends them."""
    has_sticker: bool = False
    new_chat_members: tuple[User, ...] = ()
    left_chat_member: User | None = None
    migrate_to_chat_id: int | None = None
    migrate_from_chat_id: int | None = None
    reply_to_message: Message | None = None
    forward_origin: MessageOrigin | None = None
    is_automatic_forward: bool = False
    edit_date: int | None = None
    message_thread_id: int | None = None

    @property
    def is_forwarded(self) -> bool:
        return self.forward_origin is not None or self.is_automatic_forward

    @classmethod
    def _read(cls, r: _Reader) -> Message:
        sender = r.opt_obj("from")
        sender_chat = r.opt_obj("sender_chat")
        left = r.opt_obj("left_chat_member")
        reply = r.opt_obj("reply_to_message")
        origin = r.opt_obj("forward_origin")
        return cls(
            message_id=r.integer("message_id"),
            date=r.integer("date"),
            chat=Chat._read(r.obj("chat")),
            from_user=User._read(sender) if sender else None,
            sender_chat=Chat._read(sender_chat) if sender_chat else None,
            text=r.opt_string("text"),
            caption=r.opt_string("caption"),
            entities=tuple(MessageEntity._read(e) for e in r.array("entities")),
            caption_entities=tuple(MessageEntity._read(e) for e in r.array("caption_entities")),
            photo=tuple(PhotoSize._read(p) for p in r.array("photo")),
            has_sticker=r.has("sticker"),
            new_chat_members=tuple(User._read(u) for u in r.array("new_chat_members")),
            left_chat_member=User._read(left) if left else None,
            migrate_to_chat_id=r.opt_integer("migrate_to_chat_id"),
            migrate_from_chat_id=r.opt_integer("migrate_from_chat_id"),
            reply_to_message=Message._read(reply) if reply else None,
            forward_origin=MessageOrigin._read(origin) if origin else None,
            is_automatic_forward=bool(r.opt_boolean("is_automatic_forward")),
            edit_date=r.opt_integer("edit_date"),
            message_thread_id=r.opt_integer("message_thread_id"),
        )


@attrs.frozen
class InaccessibleMessage:
    """A message the bot can no longer see (too old or deleted); Telegram sends `date` 0."""

    chat: Chat
    message_id: int
    date: int = 0

    @classmethod
    def _read(cls, r: _Reader) -> InaccessibleMessage:
        return cls(chat=Chat._read(r.obj("chat")), message_id=r.integer("message_id"), date=0)


def _read_maybe_inaccessible(r: _Reader) -> Message | InaccessibleMessage:
    # The schema's union has no tag: a date of 0 is how Telegram marks the inaccessible one.
    if r.integer("date") == 0:
        return InaccessibleMessage._read(r)
    return Message._read(r)


@attrs.frozen
class CallbackQuery:
    id: str
    from_user: User
    chat_instance: str
    message: Message | InaccessibleMessage | None = None
    """The message whose button was pressed; `None` for inline-mode messages."""
    inline_message_id: str | None = None
    data: str | None = None

    @classmethod
    def _read(cls, r: _Reader) -> CallbackQuery:
        message = r.opt_obj("message")
        return cls(
            id=r.string("id"),
            from_user=User._read(r.obj("from")),
            chat_instance=r.string("chat_instance"),
            message=_read_maybe_inaccessible(message) if message else None,
            inline_message_id=r.opt_string("inline_message_id"),
            data=r.opt_string("data"),
        )


PRESENT_STATUSES: Final = frozenset({"creator", "administrator", "member"})


@attrs.frozen
class ChatMember:
    """One side of a membership change: `status` is "creator", "administrator",
    "member", "restricted", "left" or "kicked"."""

    status: str
    user: User
    is_member: bool | None = None
    """Only for "restricted": whether the user is still in the chat."""

    @property
    def is_present(self) -> bool:
        """In the chat now, whatever their rights."""
        return self.status in PRESENT_STATUSES or (
            self.status == "restricted" and bool(self.is_member)
        )

    @property
    def is_admin(self) -> bool:
        return self.status in ("creator", "administrator")

    @classmethod
    def _read(cls, r: _Reader) -> ChatMember:
        return cls(
            status=r.string("status"),
            user=User._read(r.obj("user")),
            is_member=r.opt_boolean("is_member"),
        )


@attrs.frozen
class ChatMemberUpdated:
    chat: Chat
    from_user: User
    """Who made the change (an admin, or the member themself)."""
    date: int
    old_chat_member: ChatMember
    new_chat_member: ChatMember

    @property
    def old_status(self) -> str:
        return self.old_chat_member.status

    @property
    def new_status(self) -> str:
        return self.new_chat_member.status

    @classmethod
    def _read(cls, r: _Reader) -> ChatMemberUpdated:
        return cls(
            chat=Chat._read(r.obj("chat")),
            from_user=User._read(r.obj("from")),
            date=r.integer("date"),
            old_chat_member=ChatMember._read(r.obj("old_chat_member")),
            new_chat_member=ChatMember._read(r.obj("new_chat_member")),
        )


@attrs.frozen
class Update:
    """One update: `kind` names its payload (the JSON key beside `update_id`).

    Exactly one payload field is set for the kinds the adapter handles;
    any other kind ("poll", "message_reaction", a future one) has only
    `kind` and `raw`, so the caller can ignore it deliberately.
    """

    update_id: int
    kind: str
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    message: Message | None = None
    edited_message: Message | None = None
    channel_post: Message | None = None
    edited_channel_post: Message | None = None
    callback_query: CallbackQuery | None = None
    my_chat_member: ChatMemberUpdated | None = None
    chat_member: ChatMemberUpdated | None = None
    error: str | None = None
    """Why the update could not be parsed, when `kind` is `MALFORMED`."""

    @property
    def any_message(self) -> Message | None:
        """The message of any of the four message kinds."""
        return self.message or self.edited_message or self.channel_post or self.edited_channel_post


@attrs.frozen
class File:
    file_id: str
    file_unique_id: str
    file_size: int | None = None
    file_path: str | None = None
    """Valid for an hour; `None` when the file cannot be downloaded by bots."""

    @classmethod
    def _read(cls, r: _Reader) -> File:
        return cls(
            file_id=r.string("file_id"),
            file_unique_id=r.string("file_unique_id"),
            file_size=r.opt_integer("file_size"),
            file_path=r.opt_string("file_path"),
        )


def parse_update(data: Any) -> Update:
    """An update from its JSON; raises `MalformedUpdate` naming the broken field."""
    update_id: int | None = None
    try:
        r = _Reader(data, "update")
        update_id = r.integer("update_id")
        kinds = [key for key in r.data if key != "update_id"]
        if not kinds:
            raise ValueError("update: no payload beside update_id")
        kind = kinds[0]
        fields: dict[str, Any] = {}
        if kind in MESSAGE_KINDS:
            fields[kind] = Message._read(r.obj(kind))
        elif kind == "callback_query":
            fields[kind] = CallbackQuery._read(r.obj(kind))
        elif kind in MEMBER_KINDS:
            fields[kind] = ChatMemberUpdated._read(r.obj(kind))
        return Update(update_id=update_id, kind=kind, raw=r.data, **fields)
    except MalformedUpdate:
        raise
    except ValueError as exc:
        raise MalformedUpdate(str(exc), update_id) from None


def malformed_update(data: Any, error: MalformedUpdate) -> Update:
    """A placeholder for an update that failed to parse but has an id to move past."""
    if error.update_id is None:
        raise error
    raw = data if isinstance(data, Mapping) else {}
    return Update(update_id=error.update_id, kind=MALFORMED, raw=raw, error=str(error))


def parse_user(data: Any) -> User:
    return User._read(_Reader(data, "user"))


def parse_message(data: Any) -> Message:
    return Message._read(_Reader(data, "message"))


def parse_file(data: Any) -> File:
    return File._read(_Reader(data, "file"))


# --- outgoing values ------------------------------------------------------------------


def _callback_data_fits(instance: Any, attribute: Any, value: str | None) -> None:
    if value is None:
        return
    size = len(value.encode("utf-8"))
    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
        raise ValueError(f"callback_data is {size} bytes (1..{MAX_CALLBACK_DATA_BYTES})")


@attrs.frozen
class InlineKeyboardButton:
    """A button that sends `callback_data` back, or opens `url`: exactly one of them."""

    text: str
    callback_data: str | None = attrs.field(default=None, validator=_callback_data_fits)
    url: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.text:
            raise ValueError("a button needs a label")
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button needs exactly one of callback_data and url")


@attrs.frozen
class InlineKeyboardMarkup:
    inline_keyboard: tuple[tuple[InlineKeyboardButton, ...], ...]

    @classmethod
    def of(cls, rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
        return cls(tuple(tuple(row) for row in rows if row))


@attrs.frozen
class BotCommand:
    command: str
    description: str


def to_json(value: Any) -> dict[str, Any]:
    """An outgoing value as the JSON object Telegram expects, without unset fields."""
    if not attrs.has(type(value)):
        raise TypeError(f"not an attrs value: {type(value).__name__}")
    result = _json_value(value)
    assert isinstance(result, dict)
    return result


def _json_value(value: Any) -> Any:
    if attrs.has(type(value)):
        return {
            field.name: _json_value(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if getattr(value, field.name) is not None
        }
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    return value
