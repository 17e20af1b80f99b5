"""How a command is written, in the reader's language."""

from __future__ import annotations

from huarong_core.conversation.routes import Route
from huarong_core.conversation.values import Text


def usage_line(route: Route, locale: str) -> Text:
    """`/报名 <活动> [回答]`: the command in the reader's language with its arguments."""
    parts = [Text("chat.usage.command", {"command": route.display_name(locale)})]
    for param in route.params:
        key = "chat.usage.optional" if param.optional else "chat.usage.required"
        parts.append(Text(key, {"argument": Text(f"chat.arg.{param.type.name}")}))
    return Text("chat.usage.line", {"usage": tuple(parts)})
