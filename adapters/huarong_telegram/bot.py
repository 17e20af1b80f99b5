"""One Telegram update in, the conversation layer's answer out, the Telegram way.

Text and button presses become `Incoming` values (the `update_id` is the
delivery id, so an update handled twice changes nothing the second time);
replies go out through the outbound scheduler as urgent sends, as HTML with
inline keyboards, editing the pressed message where the reply asks for it.
Membership changes keep club bindings true: a group that removes the bot is
unbound, a group upgraded to a supergroup takes its binding along, and a
member who blocks the bot is marked unreachable so notifications try their
other accounts.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import structlog

from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    BindClubChat,
    FindClubByChat,
    SetAccountReachable,
    UnbindClubChat,
)
from huarong_core.conversation import (
    MAX_PAYLOAD_BYTES,
    Button,
    ChatKind,
    Conversation,
    Incoming,
    Message,
    RenderedMessage,
    Reply,
    Text,
    render_message,
)
from huarong_core.domain.audit import Actor
from huarong_core.domain.clubs import Club
from huarong_core.errors import HuarongError, NotFound
from huarong_core.i18n import normalize_locale
from huarong_telegram.api import (
    BotApi,
    ChatMigrated,
    Forbidden,
    MessageNotModified,
    QueryTooOld,
    TelegramError,
    edit_message_text_params,
    send_message_params,
)
from huarong_telegram.formatting import OutgoingChunk, format_message
from huarong_telegram.menu import menus, portal_button
from huarong_telegram.pacing import OutboundScheduler, Priority
from huarong_telegram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InaccessibleMessage,
    MalformedUpdate,
    User,
    parse_update,
)
from huarong_telegram.types import Message as TgMessage

log = structlog.get_logger(__name__)

PLATFORM = "telegram"
GROUP_TYPES = frozenset({"group", "supergroup"})
GONE = frozenset({"left", "kicked"})
DEFAULT_MAX_PHOTO_BYTES = 5 * 1024 * 1024
_COMMAND = re.compile(r"^[/!]([^\s@]+)@(\S+)")


class TelegramBot:
    """The Telegram face of one community."""

    def __init__(
        self,
        handle: CommunityHandle,
        api: BotApi,
        outbound: OutboundScheduler,
        *,
        conversation: Conversation | None = None,
        max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
    ) -> None:
        self.handle = handle
        self.api = api
        self.outbound = outbound
        self.conversation = conversation or Conversation(handle)
        self.max_photo_bytes = max_photo_bytes
        self.username: str | None = None
        self.bot_id: int | None = None
        self._system = Actor.system(PLATFORM)

    # --- setup ---------------------------------------------------------------------------

    async def prepare(self) -> User:
        """Learn the bot's own name (for `/cmd@name` in groups and deep links)."""
        me = await self.api.get_me()
        self.username = me.username
        self.bot_id = me.id
        return me

    async def publish_menus(self) -> int:
        """Set the command menus for every scope and language; how many lists were set."""
        count = 0
        for menu in menus(self.handle.community.locale):
            commands = [{"command": name, "description": text} for name, text in menu.commands]
            await self.outbound.send(
                "setMyCommands",
                {
                    "commands": commands,
                    "scope": {"type": menu.scope},
                    "language_code": menu.language_code,
                },
                chat_id=None,
                priority=Priority.BULK,
            )
            count += 1
        return count

    async def publish_portal_button(self, url: str) -> None:
        """Make the menu button of every private chat open the web portal at `url` (an
        HTTPS URL) as a Mini App, labelled in the community's language."""
        await self.outbound.send(
            "setChatMenuButton",
            {"menu_button": portal_button(url, self.handle.community.locale)},
            chat_id=None,
            priority=Priority.BULK,
        )

    def deep_link(self, payload: str) -> str:
        """`https://t.me/<bot>?start=<payload>`: opens a private chat that runs `/start payload`."""
        return f"https://t.me/{self.username}?start={payload}"

    # --- updates -------------------------------------------------------------------------

    async def handle_update(self, data: Mapping[str, Any]) -> None:
        """Answer one recorded update; anything the bot has no use for is ignored on purpose."""
        try:
            update = parse_update(data)
        except (MalformedUpdate, ValueError) as exc:
            log.warning("telegram.malformed_update", error=str(exc))
            return
        if update.error is not None:
            log.warning("telegram.malformed_update", update=update.update_id, error=update.error)
            return
        if update.message is not None:
            await self._message(update.update_id, update.message)
        elif update.callback_query is not None:
            await self._callback(update.update_id, update.callback_query)
        elif update.my_chat_member is not None:
            await self._membership(update.my_chat_member)
        else:
            # Edits, channel posts and kinds newer than this code: not commands to answer.
            log.debug("telegram.ignored", update=update.update_id, kind=update.kind)

    async def _message(self, update_id: int, message: TgMessage) -> None:
        chat = message.chat
        if message.migrate_to_chat_id is not None:
            await self.migrated(chat.id, message.migrate_to_chat_id)
            return
        if message.new_chat_members and chat.type in GROUP_TYPES:
            await self._welcome(chat.id, message.new_chat_members)
            return
        sender = message.from_user
        if sender is None or sender.is_bot or chat.type not in {"private", *GROUP_TYPES}:
            return
        if message.forward_origin is not None or message.is_automatic_forward:
            log.debug("telegram.forward_ignored", update=update_id)
            return
        text = message.text if message.text is not None else (message.caption or "")
        if self._for_another_bot(text):
            return
        photo = await self._photo(message) if message.photo else None
        in_group = chat.type in GROUP_TYPES
        if not text.strip() and photo is None:
            return  # stickers, voice notes, service messages: nothing to answer
        incoming = Incoming(
            platform=PLATFORM,
            chat_id=str(chat.id),
            sender_id=str(sender.id),
            delivery_id=str(update_id),
            text=text,
            chat_kind=ChatKind.GROUP if in_group else ChatKind.PRIVATE,
            sender_name=_name(sender),
            locale_hint=sender.language_code,
            photo=photo,
        )
        reply = await self.conversation.handle_incoming(incoming)
        await self.deliver(
            reply,
            chat_id=chat.id,
            user_id=sender.id,
            in_group=in_group,
            reply_to=message.message_id if in_group else None,
        )

    def _for_another_bot(self, text: str) -> bool:
        match = _COMMAND.match(text.strip())
        if match is None or self.username is None:
            return False
        return match.group(2).casefold() != self.username.casefold()

    async def _photo(self, message: TgMessage) -> bytes | None:
        """The largest size of an attached photo that the smile wall could take."""
        sizes = [p for p in message.photo if (p.file_size or 0) <= self.max_photo_bytes]
        if not sizes:
            return None
        best = max(sizes, key=lambda p: p.width * p.height)
        try:
            found = await self.api.get_file(best.file_id)
            if found.file_path is None:
                return None
            return await self.api.download_file(found.file_path, max_bytes=self.max_photo_bytes)
        except TelegramError as exc:
            log.warning("telegram.photo_unavailable", error=type(exc).__name__)
            return None

    async def _callback(self, update_id: int, query: CallbackQuery) -> None:
        # Answered at once (the spinner stops); Telegram gives up on it after ~15 s.
        try:
            await self.api.answer_callback_query(query.id)
        except QueryTooOld:
            log.info("telegram.callback_too_old", update=update_id)
        except TelegramError as exc:
            log.warning("telegram.callback_answer_failed", error=type(exc).__name__)
        if not query.data:
            return
        source = query.message
        if source is not None:
            chat_id, chat_type = source.chat.id, source.chat.type
        else:
            chat_id, chat_type = query.from_user.id, "private"
        in_group = chat_type in GROUP_TYPES
        incoming = Incoming(
            platform=PLATFORM,
            chat_id=str(chat_id),
            sender_id=str(query.from_user.id),
            delivery_id=str(update_id),
            text=query.data,
            chat_kind=ChatKind.GROUP if in_group else ChatKind.PRIVATE,
            sender_name=_name(query.from_user),
            locale_hint=query.from_user.language_code,
            pressed=True,
        )
        reply = await self.conversation.handle_incoming(incoming)
        editable = (
            source.message_id
            if source is not None and not isinstance(source, InaccessibleMessage)
            else None
        )
        await self.deliver(
            reply, chat_id=chat_id, user_id=query.from_user.id, in_group=in_group, edit=editable
        )

    async def _membership(self, change: ChatMemberUpdated) -> None:
        chat = change.chat
        status = change.new_chat_member.status
        if chat.type == "private":
            # The person blocked (kicked) or restarted the bot.
            await self._reachable(change.from_user.id, status not in GONE)
            return
        if chat.type not in GROUP_TYPES:
            return
        if status in GONE:
            club = await self._club(chat.id)
            if club is not None:
                await self.handle.execute(
                    UnbindClubChat(PLATFORM, str(chat.id)), actor=self._system
                )
                log.info("telegram.group_unbound", club=club.key, reason=status)
        elif change.old_chat_member.status in GONE:
            message = Message(
                (Text("chat.telegram.added", {"community": self.handle.community.name}),),
                ((Button(Text("chat.button.help"), "/help"),),),
            )
            await self._send_message(chat.id, message, self.handle.community.locale)

    # --- groups --------------------------------------------------------------------------

    async def _club(self, chat_id: int) -> Club | None:
        return await self.handle.execute(FindClubByChat(PLATFORM, str(chat_id)), actor=self._system)

    async def migrated(self, old: int, new: int) -> Club | None:
        """A group became a supergroup (new id): its club binding moves with it."""
        club = await self._club(old)
        if club is None:
            return None
        await self.handle.execute(UnbindClubChat(PLATFORM, str(old)), actor=self._system)
        try:
            await self.handle.execute(
                BindClubChat(club.key, PLATFORM, str(new)), actor=self._system
            )
        except HuarongError as exc:  # already bound (the migration was seen twice)
            log.info("telegram.migrate_bound", club=club.key, error=type(exc).__name__)
        log.info("telegram.group_migrated", club=club.key)
        notice = Message((Text("chat.telegram.migrated", {"club": club.name}),))
        await self._send_message(new, notice, self.handle.community.locale)
        return club

    async def _welcome(self, chat_id: int, people: tuple[User, ...]) -> None:
        club = await self._club(chat_id)
        if club is None:
            return
        join = f"/join {club.key}"
        label = Text("chat.telegram.button_join", {"club": club.name})
        buttons = ((Button(label, join),),) if len(join.encode()) <= MAX_PAYLOAD_BYTES else ()
        for person in people:
            if person.is_bot:
                continue
            message = Message(
                (
                    Text(
                        "chat.telegram.welcome_member",
                        {"name": _name(person), "club": club.name},
                    ),
                ),
                buttons,
            )
            locale = normalize_locale(person.language_code or "") or self.handle.community.locale
            await self._send_message(chat_id, message, locale)

    async def _reachable(self, user_id: int, reachable: bool) -> None:
        with contextlib.suppress(NotFound):  # someone the community never heard from
            await self.handle.execute(
                SetAccountReachable(PLATFORM, str(user_id), reachable), actor=self._system
            )

    # --- output --------------------------------------------------------------------------

    async def deliver(
        self,
        reply: Reply,
        *,
        chat_id: int,
        user_id: int,
        in_group: bool,
        reply_to: int | None = None,
        edit: int | None = None,
    ) -> None:
        """Send a reply: private messages to the person, the rest to the chat."""
        tz = self.handle.community.tz
        for message in reply.messages:
            rendered = render_message(message, reply.locale, tz)
            target = user_id if rendered.private else chat_id
            chunks = telegram_chunks(rendered)
            if not chunks:
                continue
            if (
                rendered.replaces_source
                and edit is not None
                and target == chat_id
                and len(chunks) == 1
            ):
                await self._edit(target, edit, chunks[0])
                continue
            try:
                await self.send_chunks(
                    target, chunks, Priority.URGENT, reply_to if target == chat_id else None
                )
            except Forbidden:
                if target != chat_id and in_group:
                    # They never opened a private chat with the bot: say how, in the group.
                    hint = Message(
                        (Text("chat.telegram.start_private", {"bot": self.username or ""}),)
                    )
                    await self._send_message(chat_id, hint, reply.locale)
            except TelegramError as exc:
                # Retries are spent (or it was refused outright): logged, never retried blindly.
                log.error("telegram.send_failed", error=type(exc).__name__, code=exc.error_code)

    async def _send_message(self, chat_id: int, message: Message, locale: str) -> None:
        """A message of the bot's own (a welcome, a hint); a refusal only gets logged."""
        chunks = telegram_chunks(render_message(message, locale, self.handle.community.tz))
        try:
            await self.send_chunks(chat_id, chunks, Priority.NORMAL, None)
        except TelegramError as exc:
            log.warning("telegram.send_failed", error=type(exc).__name__, code=exc.error_code)

    async def _edit(self, chat_id: int, message_id: int, chunk: OutgoingChunk) -> None:
        params = edit_message_text_params(
            chat_id, message_id, chunk.html, reply_markup=chunk.reply_markup
        )
        try:
            await self.outbound.send(
                "editMessageText", params, chat_id=chat_id, priority=Priority.URGENT
            )
        except MessageNotModified:
            pass  # pressed twice: the message already says this
        except TelegramError as exc:
            log.warning("telegram.edit_failed", error=type(exc).__name__)

    async def send_chunks(
        self,
        chat_id: int,
        chunks: list[OutgoingChunk],
        priority: Priority,
        reply_to: int | None,
    ) -> None:
        """`sendMessage` each chunk in order. A group that became a supergroup is followed
        (its binding moves, the rest goes to the new id); a refusal (403) marks the chat
        unreachable and is raised, like every other final error, for the caller to judge."""
        for chunk in chunks:
            params = send_message_params(
                chat_id,
                chunk.html,
                reply_markup=chunk.reply_markup,
                reply_to_message_id=reply_to,
                disable_link_preview=True,
            )
            try:
                try:
                    await self.outbound.send(
                        "sendMessage", params, chat_id=chat_id, priority=priority
                    )
                except ChatMigrated as exc:
                    await self.migrated(chat_id, exc.migrate_to_chat_id)
                    chat_id = exc.migrate_to_chat_id
                    await self.outbound.send(
                        "sendMessage",
                        {**params, "chat_id": chat_id},
                        chat_id=chat_id,
                        priority=priority,
                    )
            except Forbidden:
                await self.unreachable(chat_id)
                raise

    async def unreachable(self, chat_id: int) -> None:
        """Telegram refuses this chat: a person blocked the bot, or a group removed it."""
        if chat_id > 0:
            await self._reachable(chat_id, False)
            return
        club = await self._club(chat_id)
        if club is not None:
            await self.handle.execute(UnbindClubChat(PLATFORM, str(chat_id)), actor=self._system)
            log.info("telegram.group_unbound", club=club.key, reason="forbidden")


def telegram_chunks(rendered: RenderedMessage) -> list[OutgoingChunk]:
    """A rendered message as the Telegram messages that carry it (none for a blank one)."""
    if not rendered.text.strip():
        return []
    buttons = [[(b.label, b.payload) for b in row] for row in rendered.buttons]
    return format_message(rendered.text, buttons)


def _name(user: User) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p) or (user.username or "")
