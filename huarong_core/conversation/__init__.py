"""The platform-neutral conversation layer every chat adapter speaks through.

conversation = Conversation(await huarong.community())
reply = await conversation.handle_incoming(Incoming("console", "alice", "alice", "1", "/points"))
for message in reply.messages:
    print(render_message(message, reply.locale, conversation.handle.community.tz).text)
"""

from huarong_core.conversation.engine import ChoiceMemory, Conversation, parse_command
from huarong_core.conversation.render import (
    RenderedButton,
    RenderedMessage,
    format_value,
    render_message,
    render_text,
)
from huarong_core.conversation.routes import Route, all_routes, find_route
from huarong_core.conversation.values import (
    MAX_INPUT_LENGTH,
    MAX_PAYLOAD_BYTES,
    Button,
    ChatKind,
    Incoming,
    Message,
    Reply,
    Text,
)

__all__ = [
    "MAX_INPUT_LENGTH",
    "MAX_PAYLOAD_BYTES",
    "Button",
    "ChatKind",
    "ChoiceMemory",
    "Conversation",
    "Incoming",
    "Message",
    "RenderedButton",
    "RenderedMessage",
    "Reply",
    "Route",
    "Text",
    "all_routes",
    "find_route",
    "format_value",
    "parse_command",
    "render_message",
    "render_text",
]
