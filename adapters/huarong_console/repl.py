"""The two ways the console runs: a friendly interactive prompt, or a script on stdin."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from types import ModuleType
from typing import Protocol, TextIO

from huarong_console.session import ConsoleChat
from huarong_core.i18n import translate

HISTORY_FILE = Path(os.environ.get("HUARONG_CHAT_HISTORY", "~/.huarong_chat_history")).expanduser()


class Lines(Protocol):
    """Where a script's lines come from: standard input, a file, a test's pipe."""

    def readline(self) -> str: ...


async def scripted(chat: ConsoleChat, lines: Lines, out: TextIO) -> int:
    """One message per input line, each reply printed with a blank line after it.

    Each line is waited for on a thread: a pipe may be slow to deliver the next
    one, and meanwhile the portal and bots running beside must keep answering."""
    while line := await asyncio.to_thread(lines.readline):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        reply = await chat.send(text)
        if reply:
            out.write(reply + "\n\n")
            out.flush()
    return 0


async def interactive(chat: ConsoleChat) -> int:
    """A prompt with line editing and history; Ctrl-D leaves."""
    readline = _readline()
    locale = chat.locale
    where = translate("chat.console.in_group", locale, group=chat.group) if chat.group else ""
    print(
        translate(
            "chat.console.welcome",
            locale,
            community=chat.handle.community.name.get(locale),
            name=chat.sender,
            where=where,
        )
    )
    print(await chat.send("/start"))
    prompt = f"{chat.sender}{'@' + chat.group if chat.group else ''}> "
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, prompt)
            except EOFError:
                print()
                print(translate("chat.console.bye", chat.locale))
                return 0
            if not line.strip():
                continue
            reply = await chat.send(line)
            if reply:
                print(reply)
    finally:
        if readline is not None:
            # A read-only home: history is a convenience, not worth failing for.
            with contextlib.suppress(OSError):
                readline.write_history_file(HISTORY_FILE)


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return None
    with contextlib.suppress(OSError):  # the first run has no history yet
        readline.read_history_file(HISTORY_FILE)
    readline.set_history_length(1000)
    return readline
