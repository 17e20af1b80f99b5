"""Neutral text to words in one language: catalogs, dates in the community's zone, numbers.

Adapters call `render_message` and then format the result for their
platform; the console prints it as it is.
"""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import attrs
from babel.dates import format_skeleton
from babel.numbers import format_decimal

from huarong_core.conversation.values import Message, Text
from huarong_core.domain.text import LocalizedText
from huarong_core.i18n import translate


@attrs.frozen
class RenderedButton:
    label: str
    payload: str


@attrs.frozen
class RenderedMessage:
    text: str
    buttons: tuple[tuple[RenderedButton, ...], ...]
    private: bool
    replaces_source: bool


def format_value(value: Any, locale: str, tz: tzinfo) -> str:
    """One argument as the reader expects it: local time, grouped digits, their language."""
    if isinstance(value, Text):
        return render_text(value, locale, tz)
    if isinstance(value, tuple) and all(isinstance(part, Text) for part in value):
        return " ".join(render_text(part, locale, tz) for part in value)
    if isinstance(value, LocalizedText):
        return value.get(locale)
    if isinstance(value, bool):
        return translate("chat.yes" if value else "chat.no", locale)
    if isinstance(value, datetime):
        local = value.astimezone(tz)
        day = format_skeleton("MMMEd", local, tzinfo=tz, locale=locale)
        clock = format_skeleton("Hm", local, tzinfo=tz, locale=locale)
        return f"{day} {clock}"
    if isinstance(value, date):
        return str(format_skeleton("yMMMEd", value, locale=locale))
    if isinstance(value, int | float | Decimal):
        return _number(type(value).__name__, value, locale)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


@functools.lru_cache(maxsize=4096)
def _number(kind: str, value: int | float | Decimal, locale: str) -> str:
    """Grouped digits in the reader's language; remembered, since the same few
    numbers (points, counts) are said over and over and Babel's formatting costs
    more than the rest of a short reply. (`kind` keeps 1, 1.0 and Decimal(1)
    apart: they hash alike but are written differently.)"""
    return str(format_decimal(value, locale=locale))


def render_text(value: Text, locale: str, tz: tzinfo) -> str:
    params = {name: format_value(arg, locale, tz) for name, arg in value.params.items()}
    return translate(value.key, locale, **params)


def render_message(message: Message, locale: str, tz: tzinfo) -> RenderedMessage:
    return RenderedMessage(
        text="\n".join(render_text(line, locale, tz) for line in message.lines),
        buttons=tuple(
            tuple(RenderedButton(render_text(b.label, locale, tz), b.payload) for b in row)
            for row in message.buttons
        ),
        private=message.private,
        replaces_source=message.replaces_source,
    )
