"""What the fake Bot API server checks in a request, kept apart from the server.

Three layers, each returning every problem it finds so that a test failure
lists all of them at once:

* the schema (`tests/data/telegram-bot-api/schema.json`): unknown method,
  unknown or missing parameter, wrong scalar type, nested objects, arrays and
  union variants;
* Telegram's HTML parse mode, parsed the way the server does (text and
  entities, lengths in UTF-16 code units), stricter than Telegram in one
  place: a bare `&` or `>` is refused, because Telegram's documentation says
  it must be escaped and a client that forgets is one bug away from a 400;
* the limits the schema does not carry (text and caption length,
  callback_data bytes, secret_token, bot commands, getUpdates limit).

A problem carries both the description Telegram would answer and a longer
detail for `FakeBotApi.violations`, because the answer must look like
Telegram's while the test report must say what exactly was wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "telegram-bot-api" / "schema.json"

SCALARS = frozenset({"Integer", "Float", "String", "Boolean", "True"})
ARRAY_PREFIX = "Array of "

# Union members are told apart by one field whose value the schema does not
# carry; these are the values from the Bot API documentation.
_EXPLICIT_TAGS: dict[str, str] = {
    "ChatMemberOwner": "creator",
    "ChatMemberBanned": "kicked",
    "ChatBoostSourceGiftCode": "gift_code",
    "PassportElementErrorDataField": "data",
    "InputProfilePhotoStatic": "static",
}
# The union's name is not always the prefix of its members' names.
_MEMBER_PREFIXES: dict[str, tuple[str, ...]] = {
    "InputPollMedia": ("InputMedia",),
    "InputPollOptionMedia": ("InputMedia",),
    "InlineQueryResult": ("InlineQueryResultCached", "InlineQueryResult"),
}
_TAG_FIELDS = ("type", "status", "source")

ALLOWED_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_INTEGER_TEXT = re.compile(r"-?\d+")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_COMMANDS = 100
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_TEXT = 200


@attrs.frozen
class Problem:
    """One reason to refuse a request: Telegram's answer plus what the test sees."""

    description: str
    detail: str
    error_code: int = 400


@attrs.frozen
class UploadedFile:
    """A file part of a multipart request: what `InputFile` means on the wire."""

    filename: str
    content_type: str
    data: bytes


@attrs.frozen
class Field:
    name: str
    types: tuple[str, ...]
    required: bool


@attrs.frozen
class TypeSpec:
    name: str
    fields: tuple[Field, ...]
    subtypes: tuple[str, ...]

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {field.name: field for field in self.fields}


@attrs.frozen
class MethodSpec:
    name: str
    fields: tuple[Field, ...]
    returns: tuple[str, ...]

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {field.name: field for field in self.fields}


def utf16_len(text: str) -> int:
    """Telegram measures texts and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _fields(raw: Sequence[Mapping[str, Any]]) -> tuple[Field, ...]:
    return tuple(
        Field(name=f["name"], types=tuple(f["types"]), required=bool(f["required"])) for f in raw
    )


class BotApiSchema:
    """The Bot API's methods and types, and a validator for values against them."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data["version"])
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(
                name=name, fields=_fields(spec["fields"]), returns=tuple(spec["returns"])
            )
            for name, spec in data["methods"].items()
        }
        self.types: dict[str, TypeSpec] = {
            name: TypeSpec(
                name=name,
                fields=_fields(spec["fields"]),
                subtypes=tuple(spec.get("subtypes", ())),
            )
            for name, spec in data["types"].items()
        }
        self._lower_methods = {name.lower(): name for name in self.methods}
        self._tags: dict[str, tuple[str, dict[str, list[str]]] | None] = {}

    @classmethod
    def load(cls, path: Path = SCHEMA_PATH) -> BotApiSchema:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def method(self, name: str) -> MethodSpec | None:
        """Telegram matches method names without regard to case."""
        canonical = self._lower_methods.get(name.lower())
        return None if canonical is None else self.methods[canonical]

    # -- requests -------------------------------------------------------------

    def check_params(
        self, method: MethodSpec, raw: Mapping[str, Any], *, encoded: bool | AbstractSet[str]
    ) -> tuple[dict[str, Any], list[Problem]]:
        """Validate and normalise a request's parameters.

        `encoded` is true (or the set of names) for form, multipart and query
        parameters: their values are strings, scalars are read from their text
        and nested values are JSON, as Telegram accepts them.
        """
        problems: list[Problem] = []
        params: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.by_name.get(name)
            if field is None:
                problems.append(
                    Problem(
                        f'Bad Request: unknown parameter "{name}"',
                        f"{method.name}: unknown parameter {name!r}",
                    )
                )
                continue
            is_encoded = encoded if isinstance(encoded, bool) else name in encoded
            decoded, found = self._check_field(value, field.types, name, encoded=is_encoded)
            params[name] = decoded
            problems.extend(
                Problem(f'Bad Request: wrong parameter "{name}"', f"{method.name}: {text}")
                for text in found
            )
        for field in method.fields:
            if field.required and field.name not in raw:
                problems.append(
                    Problem(
                        f"Bad Request: {field.name} is empty",
                        f"{method.name}: missing required parameter {field.name!r}",
                    )
                )
        return params, problems

    def _check_field(
        self, value: Any, types: Sequence[str], path: str, *, encoded: bool
    ) -> tuple[Any, list[str]]:
        if not encoded or not isinstance(value, str):
            return value, self.check_value(value, types, path)
        best: list[str] | None = None
        for candidate in types:
            decoded, ok = _decode_scalar(value, candidate)
            if candidate in SCALARS or candidate == "InputFile":
                if ok:
                    return decoded, []
                continue
            try:
                parsed = json.loads(value)
            except ValueError:
                found = [f"{path}: {value[:40]!r} is not JSON, expected {candidate}"]
            else:
                found = self.check_value(parsed, [candidate], path)
                if not found:
                    return parsed, []
            if best is None or len(found) < len(best):
                best = found
        return value, best or [f"{path}: {value[:40]!r} is not {' or '.join(types)}"]

    def check_value(self, value: Any, types: Sequence[str], path: str) -> list[str]:
        """Every way `value` fails all of `types`, reported for the likeliest one."""
        best: list[str] | None = None
        for candidate in types:
            found = self._check_one(value, candidate, path)
            if not found:
                return []
            if best is None or len(found) < len(best):
                best = found
        return best or []

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith(ARRAY_PREFIX):
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}, got {_kind(value)}"]
            inner = type_name[len(ARRAY_PREFIX) :]
            found: list[str] = []
            for index, item in enumerate(value):
                found.extend(self._check_one(item, inner, f"{path}[{index}]"))
            return found
        if type_name in SCALARS:
            return [] if _scalar_ok(value, type_name) else [_scalar_error(value, type_name, path)]
        if type_name == "InputFile":
            if isinstance(value, UploadedFile):
                return []
            return [f"{path}: expected an uploaded file, got {_kind(value)}"]
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{path}: the schema has no type {type_name!r}"]
        if spec.subtypes:
            return self._check_union(value, spec, path)
        return self._check_object(value, spec, path)

    def _check_object(self, value: Any, spec: TypeSpec, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: expected {spec.name} object, got {_kind(value)}"]
        found: list[str] = []
        for key, item in value.items():
            field = spec.by_name.get(key)
            if field is None:
                found.append(f"{path}.{key}: unknown field of {spec.name}")
            else:
                found.extend(self.check_value(item, field.types, f"{path}.{key}"))
        found.extend(
            f"{path}: missing required field {field.name!r} of {spec.name}"
            for field in spec.fields
            if field.required and field.name not in value
        )
        return found

    def _check_union(self, value: Any, spec: TypeSpec, path: str) -> list[str]:
        tagging = self._tagging(spec)
        if tagging is None:
            found = self.check_value(value, spec.subtypes, path)
            return [f"{path}: no variant of {spec.name} fits ({'; '.join(found)})"] if found else []
        tag_field, variants = tagging
        if not isinstance(value, dict):
            return [f"{path}: expected {spec.name} object, got {_kind(value)}"]
        tag = value.get(tag_field)
        candidates = variants.get(tag) if isinstance(tag, str) else None
        if candidates is None:
            return [
                f"{path}.{tag_field}: {tag!r} is not a variant of {spec.name} "
                f"(one of {sorted(variants)})"
            ]
        return self.check_value(value, candidates, path)

    def _tagging(self, spec: TypeSpec) -> tuple[str, dict[str, list[str]]] | None:
        """The field and values that tell a union's variants apart, if it has one."""
        if spec.name in self._tags:
            return self._tags[spec.name]
        result: tuple[str, dict[str, list[str]]] | None = None
        members = [self.types.get(name) for name in spec.subtypes]
        for tag_field in _TAG_FIELDS:
            if all(m is not None and tag_field in m.by_name for m in members):
                variants: dict[str, list[str]] = {}
                for name in spec.subtypes:
                    variants.setdefault(_tag_value(spec.name, name), []).append(name)
                result = (tag_field, variants)
                break
        self._tags[spec.name] = result
        return result


def _tag_value(union: str, member: str) -> str:
    if member in _EXPLICIT_TAGS:
        return _EXPLICIT_TAGS[member]
    for prefix in (*_MEMBER_PREFIXES.get(union, ()), union):
        if member.startswith(prefix) and member != prefix:
            return _snake(member[len(prefix) :])
    return _snake(member)


def _kind(value: Any) -> str:
    if isinstance(value, UploadedFile):
        return "an uploaded file"
    if value is None:
        return "null"
    return type(value).__name__


def _scalar_ok(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    if type_name == "Boolean":
        return isinstance(value, bool)
    return value is True


def _scalar_error(value: Any, type_name: str, path: str) -> str:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    return f"{path}: expected {type_name}, got {_kind(value)} {shown}"


def _decode_scalar(text: str, type_name: str) -> tuple[Any, bool]:
    """Read a form-encoded scalar as Telegram would."""
    if type_name == "String":
        return text, True
    if type_name == "Integer":
        return (int(text), True) if _INTEGER_TEXT.fullmatch(text) else (text, False)
    if type_name == "Float":
        try:
            return float(text), True
        except ValueError:
            return text, False
    if type_name in ("Boolean", "True"):
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True, True
        if lowered in ("false", "0") and type_name == "Boolean":
            return False, True
        return text, False
    return text, False


# -- HTML parse mode ----------------------------------------------------------


class EntityParseError(ValueError):
    """The text is not HTML that Telegram accepts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def description(self) -> str:
        return f"Bad Request: can't parse entities: {self.reason}"


@attrs.frozen
class ParsedText:
    """A text as its reader sees it, with the entities Telegram would attach."""

    text: str
    entities: tuple[dict[str, Any], ...]


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_OTHER_TAGS = frozenset({"a", "span", "blockquote", "tg-emoji"})
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTRIBUTE = re.compile(
    r"""\s+([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@attrs.define
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    entity: dict[str, Any] | None


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int) -> tuple[str, int]:
    match = _ENTITY.match(source, index)
    if match is None:
        raise EntityParseError(
            f'unescaped "&" at byte offset {_byte_offset(source, index)}'
            " (write &amp;; Telegram would keep it literally, the fake refuses it)"
        )
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(
            f"invalid character reference at byte offset {_byte_offset(source, index)}"
        )
    return chr(code), match.end()


def _unescape_attribute(value: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "&":
            char, index = _decode_entity(value, index)
            out.append(char)
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


def parse_html(source: str) -> ParsedText:
    """Parse text in Telegram's HTML parse mode; raise `EntityParseError` if refused."""
    out: list[str] = []
    length = 0  # UTF-16 units written so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            decoded, index = _decode_entity(source, index)
            out.append(decoded)
            length += utf16_len(decoded)
            continue
        if char == ">":
            raise EntityParseError(
                f'unescaped ">" at byte offset {_byte_offset(source, index)} (write &gt;)'
            )
        if char != "<":
            out.append(char)
            length += utf16_len(char)
            index += 1
            continue
        end = _END_TAG.match(source, index)
        if end is not None:
            name = end.group(1).lower()
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, index)}"
                )
            opened = stack.pop()
            if opened.tag != name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, index)}, "
                    f'expected "</{opened.tag}>", found "</{name}>"'
                )
            if opened.entity is not None and length > opened.start:
                opened.entity["offset"] = opened.start
                opened.entity["length"] = length - opened.start
                entities.append(opened.entity)
            index = end.end()
            continue
        name_match = _TAG_NAME.match(source, index + 1)
        if name_match is None:
            raise EntityParseError(
                f'unescaped "<" at byte offset {_byte_offset(source, index)} (write &lt;)'
            )
        tag = name_match.group(0).lower()
        if tag not in _SIMPLE_TAGS and tag not in _OTHER_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, index)}'
            )
        attributes: dict[str, str] = {}
        cursor = name_match.end()
        while True:
            attribute = _ATTRIBUTE.match(source, cursor)
            if attribute is None:
                break
            raw_value = next((g for g in attribute.groups()[1:] if g is not None), "")
            attributes[attribute.group(1).lower()] = _unescape_attribute(raw_value)
            cursor = attribute.end()
        closing = re.compile(r"\s*>").match(source, cursor)
        if closing is None:
            raise EntityParseError(
                f'Can\'t find end of tag "{tag}" at byte offset {_byte_offset(source, index)}'
            )
        entity = _entity_for(tag, attributes, stack, source, index)
        stack.append(_Open(tag=tag, start=length, entity=entity))
        index = closing.end()
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(text="".join(out), entities=tuple(entities))


def _entity_for(
    tag: str, attributes: Mapping[str, str], stack: Sequence[_Open], source: str, index: int
) -> dict[str, Any] | None:
    where = f"at byte offset {_byte_offset(source, index)}"
    if tag == "span":
        if attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" {where}')
        return {"type": "spoiler"}
    if tag == "a":
        href = attributes.get("href", "")
        if not href:
            raise EntityParseError(f'Tag "a" must have a non-empty "href" {where}')
        return {"type": "text_link", "url": href}
    if tag == "blockquote":
        if any(opened.tag == "blockquote" for opened in stack):
            raise EntityParseError(f"Blockquote entities can't be nested {where}")
        return {"type": "expandable_blockquote" if "expandable" in attributes else "blockquote"}
    if tag == "tg-emoji":
        emoji_id = attributes.get("emoji-id", "")
        if not emoji_id:
            raise EntityParseError(f'Tag "tg-emoji" must have an "emoji-id" {where}')
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
    if tag == "code" and stack and stack[-1].tag == "pre" and stack[-1].entity is not None:
        language = attributes.get("class", "")
        if language.startswith("language-") and len(language) > len("language-"):
            stack[-1].entity["language"] = language[len("language-") :]
            return None
    return {"type": _SIMPLE_TAGS[tag]}


def parse_text(text: str, parse_mode: str | None) -> ParsedText:
    """The text a reader sees; only HTML is parsed, other modes keep the raw text."""
    if parse_mode is None or parse_mode == "":
        return ParsedText(text=text, entities=())
    if parse_mode.lower() == "html":
        return parse_html(text)
    if parse_mode.lower() in ("markdown", "markdownv2"):
        return ParsedText(text=text, entities=())
    raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")


# -- limits the schema does not carry -----------------------------------------


def check_limits(method: str, params: Mapping[str, Any]) -> list[Problem]:
    """Telegram's documented limits for one well-formed request."""
    problems: list[Problem] = []
    if method in ("sendMessage", "editMessageText") and isinstance(params.get("text"), str):
        problems.extend(_check_text(method, params["text"], params.get("parse_mode"), params))
    if isinstance(params.get("caption"), str):
        problems.extend(_check_caption(method, params["caption"], params.get("parse_mode")))
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        problems.extend(_check_inline_keyboard(method, markup["inline_keyboard"]))
    if method == "setWebhook" and "secret_token" in params:
        token = params["secret_token"]
        if not isinstance(token, str) or not _SECRET_TOKEN.fullmatch(token):
            problems.append(
                Problem(
                    "Bad Request: secret token contains unallowed characters",
                    "setWebhook: secret_token must be 1-256 of A-Z a-z 0-9 _ - "
                    f"(got {len(str(token))} characters)",
                )
            )
    if method in ("setMyCommands", "deleteMyCommands", "getMyCommands"):
        problems.extend(_check_commands(method, params))
    if method == "setChatMenuButton" and isinstance(params.get("menu_button"), dict):
        problems.extend(_check_menu_button(params["menu_button"]))
    if method == "getUpdates":
        limit = params.get("limit")
        if isinstance(limit, int) and not 1 <= limit <= 100:
            problems.append(
                Problem(
                    "Bad Request: limit must be between 1 and 100",
                    f"getUpdates: limit {limit} outside 1-100",
                )
            )
        timeout = params.get("timeout")
        if isinstance(timeout, int) and timeout < 0:
            problems.append(
                Problem(
                    "Bad Request: timeout must be positive", f"getUpdates: timeout {timeout} < 0"
                )
            )
    if method == "sendChatAction" and params.get("action") not in ALLOWED_CHAT_ACTIONS:
        problems.append(
            Problem(
                "Bad Request: wrong parameter action in request",
                f"sendChatAction: unknown action {params.get('action')!r}",
            )
        )
    answer = params.get("text") if method == "answerCallbackQuery" else None
    if isinstance(answer, str) and len(answer) > MAX_CALLBACK_ANSWER_TEXT:
        problems.append(
            Problem(
                "Bad Request: MESSAGE_TOO_LONG",
                f"answerCallbackQuery: text of {len(params['text'])} characters > 200",
            )
        )
    return problems


def _check_text(
    method: str, text: str, parse_mode: Any, params: Mapping[str, Any]
) -> list[Problem]:
    try:
        parsed = parse_text(text, parse_mode if isinstance(parse_mode, str) else None)
    except EntityParseError as error:
        return [Problem(error.description, f"{method}: {error.reason} in {text[:60]!r}")]
    if not parsed.text.strip():
        return [
            Problem("Bad Request: message text is empty", f"{method}: text is empty after parsing")
        ]
    size = utf16_len(parsed.text)
    if size > MAX_TEXT:
        return [
            Problem(
                "Bad Request: message is too long",
                f"{method}: text of {size} UTF-16 units after parsing > {MAX_TEXT}",
            )
        ]
    entities = params.get("entities")
    outside = [
        entity
        for entity in (entities if isinstance(entities, list) else [])
        if entity["offset"] < 0 or entity["offset"] + entity["length"] > size
    ]
    if outside:
        return [
            Problem(
                "Bad Request: can't parse entities: entity beyond the end of the text",
                f"{method}: entity {outside[0]} outside a text of {size} units",
            )
        ]
    return []


def _check_caption(method: str, caption: str, parse_mode: Any) -> list[Problem]:
    try:
        parsed = parse_text(caption, parse_mode if isinstance(parse_mode, str) else None)
    except EntityParseError as error:
        return [Problem(error.description, f"{method}: caption: {error.reason}")]
    size = utf16_len(parsed.text)
    if size > MAX_CAPTION:
        return [
            Problem(
                "Bad Request: message caption is too long",
                f"{method}: caption of {size} UTF-16 units after parsing > {MAX_CAPTION}",
            )
        ]
    return []


def _check_inline_keyboard(method: str, rows: Sequence[Any]) -> list[Problem]:
    problems: list[Problem] = []
    count = 0
    for row in rows:
        if not isinstance(row, list):
            continue
        for button in row:
            if not isinstance(button, dict):
                continue
            count += 1
            actions = [name for name in _BUTTON_ACTIONS if name in button]
            if len(actions) != 1:
                problems.append(
                    Problem(
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                        f"{method}: inline button {button.get('text')!r} has actions {actions}, "
                        "needs exactly one",
                    )
                )
            if not button.get("text"):
                problems.append(
                    Problem(
                        "Bad Request: can't parse inline keyboard button: text is empty",
                        f"{method}: inline button with empty text",
                    )
                )
            data = button.get("callback_data")
            if isinstance(data, str):
                size = len(data.encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    problems.append(
                        Problem(
                            "Bad Request: BUTTON_DATA_INVALID",
                            f"{method}: callback_data {data!r} is {size} bytes, "
                            f"allowed 1-{MAX_CALLBACK_DATA_BYTES}",
                        )
                    )
    if count > MAX_INLINE_BUTTONS:
        problems.append(
            Problem(
                "Bad Request: reply markup is too long",
                f"{method}: {count} inline buttons > {MAX_INLINE_BUTTONS}",
            )
        )
    return problems


def _check_menu_button(button: Mapping[str, Any]) -> list[Problem]:
    """A Mini App menu button needs a label and an HTTPS page (Telegram opens no other)."""
    if button.get("type") != "web_app":
        return []
    problems: list[Problem] = []
    if not button.get("text"):
        problems.append(
            Problem(
                "Bad Request: can't parse menu button: text is empty",
                "setChatMenuButton: web_app menu button with empty text",
            )
        )
    web_app = button.get("web_app")
    url = web_app.get("url") if isinstance(web_app, dict) else None
    if not isinstance(url, str) or not re.fullmatch(r"https://[^/\s]+(/\S*)?", url):
        problems.append(
            Problem(
                "Bad Request: BUTTON_URL_INVALID",
                f"setChatMenuButton: web_app url {url!r} is not an https:// URL",
            )
        )
    return problems


def _check_commands(method: str, params: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    language = params.get("language_code")
    if isinstance(language, str) and language and not _LANGUAGE_CODE.fullmatch(language):
        problems.append(
            Problem(
                "Bad Request: invalid language code specified",
                f"{method}: language_code {language!r} is not a two-letter ISO 639-1 code",
            )
        )
    commands = params.get("commands")
    if method != "setMyCommands" or not isinstance(commands, list):
        return problems
    if len(commands) > MAX_COMMANDS:
        problems.append(
            Problem(
                "Bad Request: too many commands specified",
                f"setMyCommands: {len(commands)} commands > {MAX_COMMANDS} in one scope",
            )
        )
    seen: set[str] = set()
    for command in commands:
        if not isinstance(command, dict):
            continue
        name = command.get("command")
        description = command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
            problems.append(
                Problem(
                    "Bad Request: BOT_COMMAND_INVALID",
                    f"setMyCommands: command name {name!r} is not 1-32 of a-z 0-9 _",
                )
            )
        elif name in seen:
            problems.append(
                Problem(
                    "Bad Request: BOT_COMMAND_INVALID",
                    f"setMyCommands: command {name!r} given twice",
                )
            )
        else:
            seen.add(name)
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            problems.append(
                Problem(
                    "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
                    f"setMyCommands: description of {name!r} must be 1-256 characters",
                )
            )
    return problems
