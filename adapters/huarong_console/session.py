"""One person chatting in a terminal: lines in, printed replies out.

Buttons become numbered choices (`[1] 报名`): typing the bare number
presses the button, as tapping would on a phone. Messages the core sends
privately are marked when the console speaks from a group.
"""

from __future__ import annotations

import itertools
import os
import time

from huarong_core.app import CommunityHandle
from huarong_core.conversation import (
    ChatKind,
    Conversation,
    Incoming,
    RenderedButton,
    RenderedMessage,
    render_message,
)
from huarong_core.conversation.arguments import typed_number
from huarong_core.i18n import translate

PLATFORM = "console"


class ConsoleChat:
    """What `huarong chat --as NAME [--chat GROUP]` talks through."""

    def __init__(
        self,
        handle: CommunityHandle,
        sender: str,
        *,
        group: str | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        self.conversation = conversation or Conversation(handle)
        self.handle = handle
        self.sender = sender
        self.group = group
        self.buttons: tuple[RenderedButton, ...] = ()
        self.locale = handle.community.locale
        # Unique per process and line: a console line is never redelivered.
        self._ids = itertools.count(1)
        self._run = f"{os.getpid()}-{time.time_ns()}"

    def _incoming(self, text: str, pressed: bool) -> Incoming:
        return Incoming(
            platform=PLATFORM,
            chat_id=self.group or self.sender,
            sender_id=self.sender,
            delivery_id=f"{self._run}-{next(self._ids)}",
            text=text,
            chat_kind=ChatKind.GROUP if self.group else ChatKind.PRIVATE,
            sender_name=self.sender,
            pressed=pressed,
        )

    def pressed(self, line: str) -> str | None:
        """The payload of the button whose number was typed, if that is what a line is."""
        number = typed_number(line, max_digits=4)
        if number is not None and 1 <= number <= len(self.buttons):
            return self.buttons[number - 1].payload
        return None

    async def send(self, line: str) -> str:
        """Say one line; the reply as the terminal shows it ("" when there is none)."""
        payload = self.pressed(line)
        incoming = self._incoming(payload or line, pressed=payload is not None)
        reply = await self.conversation.handle_incoming(incoming)
        self.locale = reply.locale
        tz = self.handle.community.tz
        rendered = [render_message(m, reply.locale, tz) for m in reply.messages]
        self.buttons = tuple(b for m in rendered for row in m.buttons for b in row)
        return self.format(rendered)

    def format(self, messages: list[RenderedMessage]) -> str:
        blocks = []
        number = itertools.count(1)
        for message in messages:
            text = message.text
            if message.private and self.group:
                text = translate("chat.console.private", self.locale, text=text)
            lines = [text]
            for row in message.buttons:
                lines.append(
                    "  ".join(
                        translate("chat.console.button", self.locale, n=next(number), label=b.label)
                        for b in row
                    )
                )
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)
