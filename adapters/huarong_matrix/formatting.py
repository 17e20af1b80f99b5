"""A rendered reply as Matrix message content: a plain `body` and an HTML `formatted_body`.

Matrix has no buttons, so choices become numbered lines under the text
("1️⃣ Going  2️⃣ Not going") that a member answers by typing the number or
by reacting with the keycap (the bot puts the keycaps under its message).
Commands are written with `!` because `/` belongs to the member's client
(Element runs `/points` as its own command and refuses unknown ones).
"""

from __future__ import annotations

import html
import re

import attrs

from huarong_core.conversation import RenderedMessage, find_route

MAX_CHUNK_CHARS = 8000
"""Text per event: with the HTML copy and CJK at 3 bytes a character, well under the
homeserver's 65,536-byte limit on one event."""

KEYCAPS = (*(f"{n}\ufe0f\u20e3" for n in range(1, 10)), "\U0001f51f")
"""1️⃣ … 9️⃣ and 🔟: the reactions that stand for choices 1 to 10."""

_SLASHED = re.compile(r"(?<![\w/:.<>&#@\-])/([^\s/!?,.;:()\[\]{}<>\"'，。；：！？（）]+)")


@attrs.frozen
class MatrixContent:
    """One `m.room.message` to send, and the button payloads its numbers stand for."""

    body: str
    html: str
    choices: tuple[str, ...] = ()

    def content(self, msgtype: str = "m.text") -> dict[str, object]:
        return {
            "msgtype": msgtype,
            "body": self.body,
            "format": "org.matrix.custom.html",
            "formatted_body": self.html,
        }


def keycap(number: int) -> str:
    """The reaction for choice `number` (1-based), or the plain number past ten."""
    return KEYCAPS[number - 1] if 1 <= number <= len(KEYCAPS) else str(number)


def choice_number(key: str) -> int | None:
    """The choice a reaction key or a typed answer names (`2`, `2️⃣`, `2⃣`, `🔟`), if any."""
    cleaned = key.strip().replace("\ufe0f", "")
    if cleaned == "\U0001f51f":
        return 10
    cleaned = cleaned.removesuffix("\u20e3")
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= 3:
        number = int(cleaned)
        return number if number >= 1 else None
    return None


def bang_commands(text: str) -> str:
    """`/points` -> `!points` for every known command named in the text (paths and
    URLs are left alone: a command is a slash that starts a word)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(1)
        return f"!{word}" if find_route(word.split("@", 1)[0]) is not None else match.group(0)

    return _SLASHED.sub(swap, text)


def _html_text(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return pieces


def matrix_contents(
    rendered: RenderedMessage, choices_hint: str = "", *, limit: int = MAX_CHUNK_CHARS
) -> list[MatrixContent]:
    """The events that carry one rendered message (none for a blank one); numbered
    choices, if any, close the last event."""
    text = bang_commands(rendered.text).strip()
    buttons = [button for row in rendered.buttons for button in row]
    if not text and not buttons:
        return []
    pieces = _split(text, limit) if text else [""]
    contents = [MatrixContent(p, _html_text(p)) for p in pieces[:-1]]
    last = pieces[-1]
    if not buttons:
        contents.append(MatrixContent(last, _html_text(last)))
        return contents
    numbered: list[str] = []
    number = 0
    for row in rendered.buttons:
        line = []
        for button in row:
            number += 1
            line.append(f"{keycap(number)} {bang_commands(button.label)}")
        numbered.append("  ".join(line))
    plain = "\n".join(numbered)
    body = "\n\n".join(part for part in (last, plain, choices_hint) if part)
    rows_html = "<br>".join(_html_text(line) for line in numbered)
    html_parts = [_html_text(last)] if last else []
    html_parts.append(f"<p>{rows_html}</p>")
    if choices_hint:
        html_parts.append(f"<p><em>{_html_text(choices_hint)}</em></p>")
    contents.append(
        MatrixContent(body, "".join(html_parts), tuple(button.payload for button in buttons))
    )
    return contents
