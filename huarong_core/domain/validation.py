"""Small checks every area uses, raising `InvalidValue` with a reason key."""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from huarong_core.errors import InvalidValue
from huarong_core.i18n import SUPPORTED_LOCALES

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")  # \Z: "$" would let a final newline in
MAX_NAME_LENGTH = 120


def require_key(field: str, value: str) -> str:
    """A stable machine key: lowercase ASCII, digits, `_` or `-`, starting with a letter."""
    if not KEY_PATTERN.match(value):
        raise InvalidValue(field=field, value=value, reason="bad_key")
    return value


# Bidirectional overrides and isolates can make a name display as another one.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


def require_name(field: str, value: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A human name: trimmed, not empty, not absurdly long, no control characters."""
    text = " ".join(value.split())
    if not text:
        raise InvalidValue(field=field, value=value, reason="empty")
    if len(text) > max_length:
        raise InvalidValue(field=field, value=text[:20] + "…", reason="too_long")
    if any(_is_control(ch) for ch in value if ch not in "\t\n\r"):
        raise InvalidValue(field=field, value=text, reason="control_characters")
    return text


MAX_NOTE_LENGTH = 1000


def require_note(field: str, value: str, *, required: bool) -> str:
    """A note or reason someone types for others to read: trimmed, line breaks kept,
    no other control characters, at most `MAX_NOTE_LENGTH` characters."""
    text = value.strip()
    if required and not text:
        raise InvalidValue(field=field, value=value, reason="empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidValue(field=field, value=text[:20] + "…", reason="too_long")
    if any(_is_control(ch) for ch in text if ch not in "\t\n\r"):
        raise InvalidValue(field=field, value=text[:20], reason="control_characters")
    return text


def require_timezone(field: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(field=field, value=value, reason="unknown_timezone") from None
    return value


def require_locale(field: str, value: str) -> str:
    if value not in SUPPORTED_LOCALES:
        raise InvalidValue(field=field, value=value, reason="unknown_locale")
    return value
