"""Chat with a Huarong community in a terminal: the zero-setup way to try it.

`huarong chat --as NAME` (the `chat` subcommand this package adds to the
CLI) talks to the conversation layer exactly as the Telegram and Matrix
adapters do, so everything tried here works the same there.
"""

from __future__ import annotations

from huarong_console.session import ConsoleChat

__all__ = ["ConsoleChat"]
