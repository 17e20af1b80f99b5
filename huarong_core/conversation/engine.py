"""From one `Incoming` to one `Reply`: who speaks, which command, its arguments, the answer.

Every chat adapter hands its inputs to `Conversation.handle` and renders
what comes back; the rules of the community stay in the command handlers,
which check every permission themselves. Whatever goes wrong in between
becomes a reply in the sender's language: nothing typed can crash the
adapter, and a refused command has changed nothing.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from collections import OrderedDict
from typing import Any

import attrs
import structlog

from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    FindClubByChat,
    FindMemberByIdentity,
    RegisterChatMember,
)
from huarong_core.conversation.arguments import parse_arguments
from huarong_core.conversation.errors import ChatInputError, GroupOnly
from huarong_core.conversation.routes import Outcome, Route, all_names, find_route
from huarong_core.conversation.turn import Sender, Turn
from huarong_core.conversation.usage import usage_line
from huarong_core.conversation.values import (
    MAX_INPUT_LENGTH,
    Button,
    ChatKind,
    Incoming,
    Message,
    Reply,
    Text,
)
from huarong_core.domain.audit import Actor
from huarong_core.domain.clubs import Club
from huarong_core.errors import HuarongError, NotFound
from huarong_core.i18n import normalize_locale, render_error

log = structlog.get_logger(__name__)

PREFIXES = ("/", "!", "／", "！")
_BOT_SUFFIX = re.compile(r"@[A-Za-z0-9_]{1,64}\Z")
_ALLOWED_CONTROLS = frozenset("\n\t")


class ChoiceMemory:
    """The lists each person was last shown, per chat, so `2` can name the second line.

    Kept in memory, bounded (least recently used dropped first): a restart or
    another process forgets them, and a bare number then reads as an id.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._lists: OrderedDict[tuple[str, str, str], dict[str, tuple[str, ...]]] = OrderedDict()

    def put(self, who: tuple[str, str, str], kind: str, refs: tuple[str, ...]) -> None:
        lists = self._lists.setdefault(who, {})
        lists[kind] = refs
        self._lists.move_to_end(who)
        while len(self._lists) > self._size:
            self._lists.popitem(last=False)

    def get(self, who: tuple[str, str, str], kind: str) -> tuple[str, ...] | None:
        lists = self._lists.get(who)
        return None if lists is None else lists.get(kind)


@attrs.frozen
class Parsed:
    route: Route | None
    word: str
    rest: str


def parse_command(text: str, chat_kind: ChatKind) -> Parsed | None:
    """Split `/rsvp@bot 12 going` into the route and the rest; `None` if it is no command.

    In a private chat the slash may be left out (`积分`, `points`); in a group
    only slashed words are commands, so ordinary talk is left alone.
    """
    stripped = text.strip()
    slashed = stripped.startswith(PREFIXES)
    if slashed:
        stripped = stripped[1:]
    elif chat_kind is ChatKind.GROUP:
        return None
    head, _, rest = stripped.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}".strip()
    if "\u3000" in head:  # the ideographic space a Chinese keyboard types
        head, _, more = head.partition("\u3000")
        rest = f"{more} {rest}".strip()
    word = _BOT_SUFFIX.sub("", head)
    if not word:
        return None
    found = find_route(word)
    if found is None and not slashed:
        return None
    return Parsed(found, word, rest.strip())


def suggest(word: str) -> str | None:
    """The known command nearest to a mistyped one."""
    # Two-character Chinese names differ by one character at a ratio of 0.5.
    cutoff = 0.5 if len(word) <= 3 else 0.6
    close = difflib.get_close_matches(word.casefold(), all_names(), n=1, cutoff=cutoff)
    if not close:
        return None
    found = find_route(close[0])
    return None if found is None else close[0]


def _bad_characters(text: str) -> bool:
    return any(
        unicodedata.category(char) in ("Cc", "Cs", "Co") and char not in _ALLOWED_CONTROLS
        for char in text
    )


class Conversation:
    """The chat front of one community, shared by every adapter that serves it."""

    def __init__(self, handle: CommunityHandle, *, memory: ChoiceMemory | None = None) -> None:
        self.handle = handle
        self.memory = memory or ChoiceMemory()

    @property
    def community_locale(self) -> str:
        return self.handle.community.locale

    async def handle_incoming(self, incoming: Incoming) -> Reply:
        """Answer one input. Never raises for anything a person can type."""
        try:
            return await self._answer(incoming)
        except Exception:
            log.exception(
                "chat.failed",
                platform=incoming.platform,
                chat=incoming.chat_id,
                delivery=incoming.delivery_id,
            )
            return Reply((Message((Text("chat.error.internal"),)),), self.community_locale)

    async def _answer(self, incoming: Incoming) -> Reply:
        sender = await self.member_for(incoming)
        locale = sender.member.locale_or(self.community_locale)

        def reply(*messages: Message, command: str | None = None) -> Reply:
            return Reply(tuple(messages), locale, command)

        if len(incoming.text) > MAX_INPUT_LENGTH:
            return reply(
                _say("chat.error.too_long", length=len(incoming.text), limit=MAX_INPUT_LENGTH)
            )
        if _bad_characters(incoming.text):
            return reply(_say("chat.error.control_characters"))
        parsed = parse_command(incoming.text, incoming.chat_kind)
        if parsed is None:
            if incoming.chat_kind is ChatKind.GROUP or not incoming.text.strip():
                return reply()
            return reply(
                Message(
                    (Text("chat.not_a_command"),),
                    ((Button(Text("chat.button.help"), "/help"),),),
                )
            )
        if parsed.route is None:
            nearest = suggest(parsed.word)
            if nearest is None:
                return reply(_say("chat.error.unknown_command", command=parsed.word))
            return reply(
                Message(
                    (
                        Text(
                            "chat.error.unknown_command_suggest",
                            {"command": parsed.word, "suggestion": nearest},
                        ),
                    ),
                    ((Button(Text("chat.button.try", {"command": nearest}), f"/{nearest}"),),),
                )
            )
        route = parsed.route
        club = await self._bound_club(incoming)
        turn = Turn(self.handle, incoming, sender, locale, club, self.memory, route.name)
        messages: tuple[Message, ...]
        try:
            if route.group_only and club is None:
                raise GroupOnly(command=route.display_name(locale))
            args = await parse_arguments(turn, route.params, parsed.rest)
            outcome = await route.handler(turn, args)
        except ChatInputError as exc:
            messages = (_error(exc, locale), Message((usage_line(route, locale),)))
        except HuarongError as exc:
            # A refusal about personal things (a case, a balance) is personal too.
            messages = (_error(exc, locale),)
        else:
            messages = _messages(outcome)
        if route.personal and incoming.chat_kind is ChatKind.GROUP and messages:
            messages = (
                *(m.to_private() for m in messages),
                _say("chat.answered_in_private", name=sender.member.display_name),
            )
        # A handler may change the sender's language (/lang): answer in the new one.
        final_locale = turn.locale
        return Reply(messages, final_locale, route.name)

    async def member_for(self, incoming: Incoming) -> Sender:
        """The member behind the sender, registered on first contact."""
        system = Actor.system(f"chat:{incoming.platform}")
        with contextlib.suppress(NotFound):  # first contact: registered below
            found = await self.handle.execute(
                FindMemberByIdentity(incoming.platform, incoming.sender_id, details=False),
                actor=system,
            )
            return Sender.of(found)
        hint = normalize_locale(incoming.locale_hint) if incoming.locale_hint else None
        registered = await self.handle.execute(
            RegisterChatMember(
                platform=incoming.platform,
                external_id=incoming.sender_id,
                display_name=incoming.sender_name or incoming.sender_id,
                locale=hint,
            ),
            actor=system,
        )
        return Sender.of(registered)

    async def _bound_club(self, incoming: Incoming) -> Club | None:
        if incoming.chat_kind is not ChatKind.GROUP:
            return None
        return await self.handle.execute(
            FindClubByChat(incoming.platform, incoming.chat_id),
            actor=Actor.system(f"chat:{incoming.platform}"),
        )


def _say(key: str, **params: Any) -> Message:
    return Message((Text(key, params),))


def _error(error: HuarongError, locale: str) -> Message:
    return Message((Text("chat.error.wrapped", {"text": render_error(error, locale)}),))


def _messages(outcome: Outcome) -> tuple[Message, ...]:
    if isinstance(outcome, Reply):
        return outcome.messages
    if isinstance(outcome, Message):
        return (outcome,)
    return tuple(outcome)
