"""Small checks every area uses, raising `InvalidValue` with a reason key."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from huarong_core.errors import InvalidValue
from huarong_core.i18n import SUPPORTED_LOCALES

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
MAX_NAME_LENGTH = 120


def require_key(field: str, value: str) -> str:
    """A stable machine key: lowercase ASCII, digits, `_` or `-`, starting with a letter."""
    if not KEY_PATTERN.match(value):
        raise InvalidValue(field=field, value=value, reason="bad_key")
    return value


def require_name(field: str, value: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A human name: trimmed, not empty, not absurdly long, no control characters."""
    text = " ".join(value.split())
    if not text:
        raise InvalidValue(field=field, value=value, reason="empty")
    if len(text) > max_length:
        raise InvalidValue(field=field, value=text[:20] + "…", reason="too_long")
    if any(ord(ch) < 32 for ch in value if ch not in "\t\n\r"):
        raise InvalidValue(field=field, value=text, reason="control_characters")
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
