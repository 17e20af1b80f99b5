"""Plain text from the core, as Telegram HTML messages with inline keyboards.

The core renders every reply as plain text in the reader's language, so
everything in it is literal: a member called `<b>` must show as `<b>`.
Texts are split before escaping because Telegram's 4096 limit counts the
text after entity parsing, in UTF-16 code units: the escaped HTML of a
chunk may be longer than the limit while its visible text fits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

import attrs

from huarong_telegram.types import (
    MAX_BUTTON_TEXT,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

MAX_MESSAGE_LENGTH: Final = 4096
"""Telegram's limit on a message's text, in UTF-16 code units after entity parsing."""

_ZWJ: Final = "\u200d"
_SEPARATORS: Final = ("\n\n", "\n", " ")
_MAX_CLUSTER_BACKTRACK: Final = 16


def escape_html(text: str, *, quote: bool = False) -> str:
    """`text` as literal content of Telegram HTML; `quote=True` inside an attribute value.

    Telegram's parser needs only `&`, `<` and `>` escaped in text; it
    understands the named entities `&lt; &gt; &amp; &quot;` and no others,
    so quotes are escaped only where an attribute needs it.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace('"', "&quot;") if quote else escaped


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP (most emoji) count twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _fitting_prefix(text: str, limit: int) -> int:
    """How many code points of `text` fit in `limit` UTF-16 units (never half a pair)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _joins_previous(char: str) -> bool:
    """Whether `char` belongs to the character before it (accent, emoji modifier, ZWJ)."""
    return (
        unicodedata.combining(char) != 0
        or char == _ZWJ
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
        or "\U000e0020" <= char <= "\U000e007f"
    )


def _hard_cut(text: str, end: int) -> int:
    """A cut at or before `end` that keeps a short character cluster whole."""
    cut = end
    while (
        cut > 1
        and end - cut < _MAX_CLUSTER_BACKTRACK
        and (_joins_previous(text[cut]) or text[cut - 1] == _ZWJ)
    ):
        cut -= 1
    if end - cut >= _MAX_CLUSTER_BACKTRACK or cut <= 1:
        return end
    return cut


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """`text` in chunks of at most `limit` UTF-16 units, none of them blank.

    A chunk ends, by preference, at a blank line, then a line break, then a
    space, in the second half of the room it has (so no chunk is needlessly
    short); failing those, at any such break; failing that, wherever the
    limit falls, but never inside a surrogate pair or a short cluster such as
    an emoji with a skin tone. The whitespace at a break is dropped, as
    Telegram would trim it anyway.
    """
    if limit < 2:
        raise ValueError("limit must leave room for one character of any kind")
    chunks: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end = _fitting_prefix(rest, limit)
        found = _break_point(rest[:end])
        cut, skip = found if found is not None else (_hard_cut(rest, end), 0)
        chunk = rest[:cut]
        rest = rest[cut + skip :]
        if chunk.strip():
            chunks.append(chunk.rstrip())
        rest = rest.lstrip("\n")
    if rest.strip():
        chunks.append(rest.rstrip())
    return chunks


def _break_point(window: str) -> tuple[int, int] | None:
    """Where to break `window` and how many separator characters to drop there."""
    for minimum in (len(window) // 2, 1):
        for separator in _SEPARATORS:
            position = window.rfind(separator)
            if position >= minimum:
                return position, len(separator)
    return None


@attrs.frozen
class OutgoingChunk:
    """One `sendMessage` worth of a reply: escaped HTML, and the keyboard if it is the last."""

    html: str
    reply_markup: InlineKeyboardMarkup | None = None


def button_label(label: str) -> str:
    """A label short enough for a button; a cut one ends with an ellipsis."""
    label = " ".join(label.split())
    if len(label) <= MAX_BUTTON_TEXT:
        return label
    return label[: MAX_BUTTON_TEXT - 1].rstrip() + "…"


def keyboard(buttons: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """Callback buttons from `(label, payload)` rows; `None` when there are none.

    Payloads are the core's command text, which it keeps within the 64-byte
    `callback_data` limit; one that is not raises `ValueError`.
    """
    rows = [
        [
            InlineKeyboardButton(text=button_label(label), callback_data=payload)
            for label, payload in row
        ]
        for row in buttons
    ]
    markup = InlineKeyboardMarkup.of(rows)
    return markup if markup.inline_keyboard else None


def format_message(
    text: str,
    buttons: Sequence[Sequence[tuple[str, str]]] = (),
    *,
    limit: int = MAX_MESSAGE_LENGTH,
) -> list[OutgoingChunk]:
    """A rendered reply as the messages that carry it, keyboard under the last one.

    A blank text without buttons needs no message (empty list); a blank
    text with buttons cannot be sent, since Telegram refuses empty
    messages, and raises `ValueError`.
    """
    markup = keyboard(buttons)
    parts = split_text(text, limit)
    if not parts:
        if markup is not None:
            raise ValueError("buttons need a text to hang under")
        return []
    chunks = [OutgoingChunk(html=escape_html(part)) for part in parts]
    chunks[-1] = OutgoingChunk(html=chunks[-1].html, reply_markup=markup)
    return chunks
