"""Typed command arguments: words in, values out, or an error that names the argument.

A route lists its parameters; `parse_arguments` walks the words of the
message through them. People name things the way they see them: a key
(`tea`), a name (`茶艺社`), an id (`#12`), or the number of a line in the
list they were last shown (`2`). `Ref` does that lookup for any kind of
thing, given a function that finds one by key, name or id.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from huarong_core.conversation.errors import (
    AmbiguousArgument,
    BadArgument,
    MissingArgument,
    TooManyArguments,
)

if TYPE_CHECKING:
    from huarong_core.conversation.turn import Turn

T = TypeVar("T")

_QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」", "『": "』", "‘": "’"}
_SPACE = re.compile(r"\s")  # includes the ideographic space U+3000
_ID = re.compile(r"^#?(\d{1,12})\Z")
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?\Z")
_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})\Z")


def split_words(text: str) -> list[str]:
    """Words separated by any white space; quotes (straight, curly, 「」) keep spaces inside.

    An unclosed quote runs to the end of the text rather than failing: what
    was meant is usually plain.
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if _SPACE.match(char):
            i += 1
            continue
        closing = _QUOTES.get(char)
        if closing is not None:
            end = text.find(closing, i + 1)
            if end == -1:
                end = n
            words.append(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and not _SPACE.match(text[i]):
            i += 1
        words.append(text[start:i])
    return words


class ArgumentType(Protocol):
    """Turns the next word(s) into a value; `name` is the argument's catalog name."""

    @property
    def name(self) -> str: ...

    async def parse(self, turn: Turn, words: Words) -> Any: ...


@attrs.define
class Words:
    """The words of a message after the command, consumed left to right."""

    items: list[str]
    raw_rest: str
    """The text after the command as typed, for a last free-text argument."""
    position: int = 0

    def peek(self) -> str | None:
        return self.items[self.position] if self.position < len(self.items) else None

    def take(self) -> str | None:
        word = self.peek()
        if word is not None:
            self.position += 1
        return word

    def rest(self) -> str:
        """Everything not taken yet, as typed (spaces and quotes kept)."""
        if self.position >= len(self.items):
            return ""
        text = self.raw_rest
        for _ in range(self.position):
            text = _drop_first_word(text)
        self.position = len(self.items)
        return text.strip()

    @property
    def done(self) -> bool:
        return self.position >= len(self.items)


def _drop_first_word(text: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        return ""
    closing = _QUOTES.get(stripped[0])
    if closing is not None:
        end = stripped.find(closing, 1)
        return "" if end == -1 else stripped[end + 1 :]
    match = _SPACE.search(stripped)
    return "" if match is None else stripped[match.start() :]


def _word(words: Words, name: str) -> str:
    word = words.take()
    if word is None or not word.strip():
        raise MissingArgument(argument=name)
    return word.strip()


@attrs.frozen
class Param:
    """One argument of a route: its type, and what to use when it is left out.

    `default` is called with the turn (the club of a bound group, the sender);
    an optional parameter without one becomes `None`.
    """

    type: ArgumentType
    optional: bool = False
    default: Callable[[Turn], Any] | None = None
    key: str | None = None
    """The name the handler reads it by; the type's name when `None`."""

    @property
    def name(self) -> str:
        return self.key or self.type.name


def arg(
    kind: ArgumentType,
    *,
    optional: bool = False,
    default: Callable[[Turn], Any] | None = None,
    key: str | None = None,
) -> Param:
    return Param(kind, optional or default is not None, default, key)


async def parse_arguments(turn: Turn, params: Sequence[Param], text: str) -> dict[str, Any]:
    words = Words(split_words(text), text)
    values: dict[str, Any] = {}
    for index, param in enumerate(params):
        if _leaves_page_word(param, params[index + 1 :], words):
            # `/books p2` (a paging button): the page word is not a search for "p2".
            values[param.name] = param.default(turn) if param.default is not None else None
            continue
        if words.done:
            fallback = param.default(turn) if param.default is not None else None
            if fallback is None and not param.optional:
                raise MissingArgument(argument=param.type.name)
            values[param.name] = fallback
            continue
        values[param.name] = await param.type.parse(turn, words)
    if not words.done:
        raise TooManyArguments(extra=words.rest()[:40])
    return values


def _leaves_page_word(param: Param, later: Sequence[Param], words: Words) -> bool:
    """An optional argument before a page argument steps aside for a page word."""
    word = words.peek()
    return (
        param.optional
        and word is not None
        and PAGE_WORD.match(word) is not None
        and not isinstance(param.type, PageNumber)
        and any(isinstance(p.type, PageNumber) for p in later)
    )


# --- plain types ------------------------------------------------------------------


@attrs.frozen
class Integer:
    name: str
    minimum: int | None = None
    maximum: int | None = None

    async def parse(self, turn: Turn, words: Words) -> int:
        word = _word(words, self.name)
        try:
            value = int(word.translate(_FULL_WIDTH_DIGITS))
        except ValueError:
            raise BadArgument(argument=self.name, value=word, reason="not_a_number") from None
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise BadArgument(argument=self.name, value=word, reason="out_of_range")
        return value


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９－＋", "0123456789-+")


@attrs.frozen
class Word:
    """One word as it is (a key, a code)."""

    name: str
    max_length: int = 64

    async def parse(self, turn: Turn, words: Words) -> str:
        word = _word(words, self.name)
        if len(word) > self.max_length:
            raise BadArgument(argument=self.name, value=word[:20] + "…", reason="too_long")
        return word


@attrs.frozen
class FreeText:
    """The rest of the message, as typed: a comment, a reply, a caption."""

    name: str
    max_length: int = 2000

    async def parse(self, turn: Turn, words: Words) -> str:
        value = words.rest()
        if not value:
            raise MissingArgument(argument=self.name)
        if len(value) > self.max_length:
            raise BadArgument(argument=self.name, value=value[:20] + "…", reason="too_long")
        return value


@attrs.frozen
class Choice(Generic[T]):
    """One of a few words, in any language: `going`/`去`/`yes` may all mean GOING."""

    name: str
    options: Mapping[str, T]

    async def parse(self, turn: Turn, words: Words) -> T:
        word = _word(words, self.name)
        found = self.options.get(word.casefold())
        if found is None:
            raise BadArgument(argument=self.name, value=word, reason="not_a_choice")
        return found


@attrs.frozen
class Day:
    """A date: `2026-07-01`, `7-1`, `7月1日`, `today`/`今天`, `tomorrow`/`明天`."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> date:
        word = _word(words, self.name)
        return parse_day(self.name, word, turn.today)


def parse_day(name: str, word: str, today: date) -> date:
    relative = _RELATIVE_DAYS.get(word.casefold())
    if relative is not None:
        return today + timedelta(days=relative)
    match = _DATE.match(word.translate(_FULL_WIDTH_DIGITS))
    if match is None:
        raise BadArgument(argument=name, value=word, reason="not_a_date")
    year = int(match.group(1)) if match.group(1) else today.year
    try:
        return date(year, int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise BadArgument(argument=name, value=word, reason="not_a_date") from None


_RELATIVE_DAYS = {"today": 0, "今天": 0, "tomorrow": 1, "明天": 1, "yesterday": -1, "昨天": -1}


@attrs.frozen
class Moment:
    """A local date and time: `2026-07-01 14:30`, `7-1 14:30`, `明天 9:00` (two words)."""

    name: str

    async def parse(self, turn: Turn, words: Words) -> datetime:
        day_word = _word(words, self.name)
        if "T" in day_word:
            day_word, _, clock_word = day_word.partition("T")
        else:
            clock_word = _word(words, self.name)
        day = parse_day(self.name, day_word, turn.today)
        match = _CLOCK.match(clock_word.translate(_FULL_WIDTH_DIGITS))
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise BadArgument(argument=self.name, value=clock_word, reason="not_a_time")
        return datetime(
            day.year, day.month, day.day, int(match.group(1)), int(match.group(2)), tzinfo=turn.tz
        )


# --- references to things -----------------------------------------------------------

Lookup = Callable[["Turn", str], Awaitable[T]]


@attrs.frozen
class Ref(Generic[T]):
    """Something named by key, name, `#id`, or its number in the last list of its `kind`.

    `lookup(turn, ref)` finds it from a key, name or id (raising `NotFound` or
    an argument error); a bare number is first read as a line of the list of
    this kind the sender was last shown, as they were told they may.
    """

    name: str
    kind: str
    lookup: Lookup[T]

    async def parse(self, turn: Turn, words: Words) -> T:
        word = _word(words, self.name)
        line = typed_number(word)
        if line is not None:
            remembered = turn.recall(self.kind, line)
            if remembered is not None:
                word = remembered
        return await self.lookup(turn, word)


def typed_number(word: str, max_digits: int = 12) -> int | None:
    """A whole number as people type it: ASCII or full-width digits (１２), or any other
    decimal digits; None for anything else.

    `str.isdigit` is not the test: it accepts `¹` and `①`, which `int` refuses.
    Compatibility forms are folded first, so a superscript or circled digit counts
    as the digit it shows.
    """
    text = unicodedata.normalize("NFKC", word.strip())
    if not text or len(text) > max_digits or not text.isdecimal():
        return None
    return int(text)


def parse_id(name: str, word: str) -> int:
    """`#12` or `12` as an id."""
    match = _ID.match(word.strip())
    if match is None:
        raise BadArgument(argument=name, value=word, reason="not_an_id")
    return int(match.group(1))


def match_one(name: str, word: str, candidates: Iterable[tuple[T, Sequence[str]]]) -> T:
    """The one candidate whose key or a name is `word`, else the one containing it.

    Case and width are ignored; several partial matches are an
    `AmbiguousArgument` that names a few, none is a `BadArgument`.
    """
    wanted = _fold(word)
    exact: list[T] = []
    partial: list[tuple[T, str]] = []
    for value, names in candidates:
        folded = [_fold(n) for n in names if n]
        if wanted in folded:
            exact.append(value)
        elif any(wanted in n for n in folded):
            partial.append((value, names[-1] if names else "?"))
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise AmbiguousArgument(argument=name, value=word, choices="")
    if len(partial) == 1:
        return partial[0][0]
    if partial:
        shown = ", ".join(label for _, label in partial[:5])
        raise AmbiguousArgument(argument=name, value=word, choices=shown)
    raise BadArgument(argument=name, value=word, reason="no_match")


def _fold(text: str) -> str:
    return text.translate(_FULL_WIDTH_DIGITS).casefold().strip()


PAGE_WORD = re.compile(r"^[pP页](\d{1,4})\Z")
"""`p2`: how a page is named (what the previous/next buttons send)."""


@attrs.frozen
class PageNumber:
    """`p2`: the page of a list (what the next/previous buttons send)."""

    name: str = "page"

    async def parse(self, turn: Turn, words: Words) -> int:
        word = _word(words, self.name)
        match = PAGE_WORD.match(word)
        if match is None:
            raise BadArgument(argument=self.name, value=word, reason="not_a_page")
        return max(1, int(match.group(1)))


def page_arg() -> Param:
    """The optional last parameter of a listing route."""
    return Param(PageNumber(), optional=True, default=lambda turn: 1)
