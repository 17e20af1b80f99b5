"""One recorded Matrix event in, the conversation layer's answer out, the Matrix way.

Commands start with `!` in rooms (and need no prefix in a direct chat);
answers are replies (`m.in_reply_to`) that mention the asker in shared
rooms; personal answers go to the asker's direct room; choices are numbered
and answered by number or by reacting with the keycap under the message.
The event id is the delivery id, so an event handled twice changes nothing
the second time, and the transaction ids of the answer are derived from it,
so the homeserver drops a second copy of an answer already sent.

Deliberate choices about odd input:
- an edited command is not run again (its first version already ran); the
  editor is told once, in case they expected it to;
- a redacted command that was not handled yet arrives without content and
  is ignored; one already handled keeps its effect (nothing can unsay it);
- an event the bot cannot decrypt is reported once per Megolm session, and
  the sender's devices are asked for the key;
- notices (`m.notice`, what bots send), emotes, files and event types the
  bot does not know are ignored on purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import structlog

from huarong_core.app import CommunityHandle
from huarong_core.commands import FindClubByChat, UnbindClubChat
from huarong_core.conversation import (
    ChatKind,
    Conversation,
    Incoming,
    Message,
    RenderedMessage,
    Reply,
    Text,
    parse_command,
    render_message,
)
from huarong_core.conversation.values import button_if_fits, button_rows
from huarong_core.domain.audit import Actor
from huarong_core.domain.clubs import Club
from huarong_core.i18n import translate
from huarong_core.inbox import AdapterState
from huarong_core.notices import Priority
from huarong_matrix.client import MatrixClient, MatrixFailure
from huarong_matrix.events import stored_event
from huarong_matrix.formatting import choice_number, keycap, matrix_contents
from huarong_matrix.memory import ChoiceBook, DirectRooms
from huarong_matrix.outbound import Outbound

log = structlog.get_logger(__name__)

PLATFORM = "matrix"
MAX_KEYCAPS = 10
ROOM_CHANGING = frozenset({"bind", "unbind"})
"""Commands that change what a room is: its moderators decide, not any club leader in it."""


def txn_base(delivery_id: str) -> str:
    """A transaction id prefix that is the same for every handling of one input."""
    return "hr" + hashlib.sha256(delivery_id.encode()).hexdigest()[:32]


def strip_reply_fallback(body: str) -> str:
    """A reply's body may quote the replied-to message (`> <@bot> ...`) before the text."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


class MatrixBot:
    """The Matrix face of one community."""

    def __init__(
        self,
        handle: CommunityHandle,
        client: MatrixClient,
        outbound: Outbound,
        state: AdapterState,
        *,
        conversation: Conversation | None = None,
        inviters: tuple[str, ...] = (),
    ) -> None:
        self.handle = handle
        self.client = client
        self.outbound = outbound
        self.state = state
        self.conversation = conversation or Conversation(handle)
        self.choices = ChoiceBook(state)
        self.direct = DirectRooms(client, state)
        self.inviters = inviters
        self._system = Actor.system(PLATFORM)

    # --- membership of the bot itself -------------------------------------------------------

    def may_invite(self, inviter: str | None) -> bool:
        """Invites are accepted from the listed people and servers (`@ann:example.org`,
        `:example.org`); with no list, from people on the bot's own homeserver."""
        if not inviter:
            return False
        allowed = self.inviters or (":" + self.client.user_id.split(":", 1)[1],)
        return any(
            inviter == entry if entry.startswith("@") else inviter.endswith(entry)
            for entry in allowed
        )

    async def invited(self, room_id: str, inviter: str | None, direct: bool) -> None:
        if not self.may_invite(inviter):
            log.info("matrix.invite_declined", room=room_id, inviter=inviter)
            await self.client.leave(room_id)
            return
        if direct and inviter is not None:
            await self.direct.record(inviter, room_id)
        await self.client.join(room_id)
        log.info("matrix.joined", room=room_id, direct=direct)

    async def _joined(self, room_id: str) -> None:
        """The bot's own join after an invite, seen in the room: a shared room hears how
        to bind it (rooms the bot opens itself are direct rooms and need no hello)."""
        if await self.direct.is_direct(room_id):
            return
        hello = Message(
            (Text("chat.matrix.added", {"community": self.handle.community.name}),),
        )
        await self._say(room_id, hello, self.handle.community.locale, f"hello:{room_id}")

    async def left(self, room_id: str) -> None:
        """The bot left or was removed: a bound room is unbound, a direct room forgotten."""
        club = await self._club(room_id)
        if club is not None:
            await self.handle.execute(UnbindClubChat(PLATFORM, room_id), actor=self._system)
            log.info("matrix.room_unbound", club=club.key, reason="left")
        await self.direct.forget_room(room_id)

    async def _club(self, room_id: str) -> Club | None:
        return await self.handle.execute(FindClubByChat(PLATFORM, room_id), actor=self._system)

    # --- events ------------------------------------------------------------------------------

    async def handle_event(self, payload: Mapping[str, Any]) -> None:
        """Answer one recorded event; anything the bot has no use for is ignored on purpose."""
        if payload.get("sender") == self.client.user_id:
            content = _object(payload.get("content"))
            if (
                payload.get("type") == "m.room.member"
                and payload.get("state_key") == self.client.user_id
                and content.get("membership") == "join"
                and payload.get("prev_membership") == "invite"
            ):
                await self._joined(payload["room_id"])
            return
        if payload.get("undecryptable"):
            await self._undecryptable(payload)
            return
        kind = payload.get("type")
        if kind == "m.room.message":
            await self._message(payload)
        elif kind == "m.reaction":
            await self._reaction(payload)
        elif kind == "m.room.member":
            await self._member(payload)
        else:
            log.debug("matrix.ignored", type=kind, event_id=payload.get("event_id"))

    async def _chat_kind(self, room_id: str) -> ChatKind:
        """Direct rooms (opened as such by the person or by the bot) are private chats;
        every other room is a group, however few people are in it yet."""
        return ChatKind.PRIVATE if await self.direct.is_direct(room_id) else ChatKind.GROUP

    async def _message(self, payload: Mapping[str, Any]) -> None:
        content = _object(payload.get("content"))
        room_id, sender, event_id = payload["room_id"], payload["sender"], payload["event_id"]
        if content.get("msgtype") != "m.text" or not isinstance(content.get("body"), str):
            return
        relation = _object(content.get("m.relates_to"))
        if relation.get("rel_type") == "m.replace":
            await self._edited(payload, relation)
            return
        text = strip_reply_fallback(content["body"])
        chat_kind = await self._chat_kind(room_id)
        pressed = False
        number = choice_number(text)
        if number is not None:
            chosen = await self.choices.last_for(room_id, sender, number)
            if chosen is not None:
                text, pressed = chosen, True
        if chat_kind is ChatKind.GROUP and not pressed:
            refused = await self._needs_power(room_id, sender, text)
            if refused is not None:
                locale = await self._locale_of(room_id, sender)
                await self.deliver(
                    Reply((refused,), locale), room_id=room_id, sender=sender, source=event_id
                )
                return
        await self._converse(room_id, sender, event_id, text, chat_kind, pressed)

    async def _needs_power(self, room_id: str, sender: str, text: str) -> Message | None:
        parsed = parse_command(text, ChatKind.GROUP)
        if parsed is None or parsed.route is None or parsed.route.name not in ROOM_CHANGING:
            return None
        level, needed = await self.client.power(room_id, sender)
        if level >= needed:
            return None
        return Message((Text("chat.matrix.bind_needs_power", {"level": level, "needed": needed}),))

    async def _converse(
        self,
        room_id: str,
        sender: str,
        event_id: str,
        text: str,
        chat_kind: ChatKind,
        pressed: bool,
    ) -> None:
        incoming = Incoming(
            platform=PLATFORM,
            chat_id=room_id,
            sender_id=sender,
            delivery_id=event_id,
            text=text,
            chat_kind=chat_kind,
            sender_name=self.client.display_name(room_id, sender),
            pressed=pressed,
        )
        reply = await self.conversation.handle_incoming(incoming)
        await self.deliver(reply, room_id=room_id, sender=sender, source=event_id)

    async def _edited(self, payload: Mapping[str, Any], relation: Mapping[str, Any]) -> None:
        new = _object(_object(payload.get("content")).get("m.new_content"))
        body = new.get("body")
        room_id = payload["room_id"]
        kind = await self._chat_kind(room_id)
        if not isinstance(body, str) or parse_command(body, kind) is None:
            return
        original = str(relation.get("event_id", ""))
        key = f"edit:{original}"
        if await self.state.get(key) is not None:
            return
        locale = await self._locale_of(room_id, payload["sender"])
        note = Reply((Message((Text("chat.matrix.edit_not_run"),)),), locale)
        await self.deliver(
            note, room_id=room_id, sender=payload["sender"], source=payload["event_id"]
        )
        await self.state.set(key, payload["event_id"])

    async def _reaction(self, payload: Mapping[str, Any]) -> None:
        relation = _object(_object(payload.get("content")).get("m.relates_to"))
        if relation.get("rel_type") != "m.annotation":
            return
        number = choice_number(str(relation.get("key", "")))
        target = relation.get("event_id")
        if number is None or not isinstance(target, str):
            return
        chosen = await self.choices.on_message(target, number)
        if chosen is None:
            return
        room_id = payload["room_id"]
        await self._converse(
            room_id,
            payload["sender"],
            payload["event_id"],
            chosen,
            await self._chat_kind(room_id),
            True,
        )

    async def _member(self, payload: Mapping[str, Any]) -> None:
        content = _object(payload.get("content"))
        membership = content.get("membership")
        room_id, person = payload["room_id"], payload.get("state_key")
        if not isinstance(person, str) or person == self.client.user_id:
            return
        if membership in ("leave", "ban"):
            if self.client.joined_count(room_id) <= 1:
                # Everyone else has gone (a direct chat closed): nobody left to talk to.
                await self.direct.forget_room(room_id)
                await self.client.leave(room_id)
            return
        if membership != "join" or payload.get("prev_membership") == "join":
            return  # a display name or avatar change
        club = await self._club(room_id)
        if club is None:
            return
        shown = content.get("displayname")
        name = shown if isinstance(shown, str) and shown.strip() else person
        join = button_if_fits(
            Text("chat.matrix.button_join", {"club": club.name}), f"/join {club.key}"
        )
        welcome = Message(
            (Text("chat.matrix.welcome_member", {"name": name, "club": club.name}),),
            button_rows(join),
        )
        locale = self.handle.community.locale
        await self.deliver(
            Reply((welcome,), locale), room_id=room_id, sender=person, source=payload["event_id"]
        )

    async def _undecryptable(self, payload: Mapping[str, Any]) -> None:
        source = _object(payload.get("source"))
        decrypted = self.client.decrypt(source)
        if decrypted is not None:  # its key came meanwhile (a forwarded room key)
            again = stored_event(payload["room_id"], decrypted)
            if again is not None and not again.get("undecryptable"):
                await self.handle_event(again)
                return
        room_id, sender = payload["room_id"], payload["sender"]
        session = str(_object(source.get("content")).get("session_id", ""))
        key = f"utd:{room_id}:{session}"
        if await self.state.get(key) is not None:
            return
        log.warning("matrix.undecryptable", room=room_id, event_id=payload.get("event_id"))
        name = self.client.display_name(room_id, sender)
        locale = await self._locale_of(room_id, sender)
        note = Reply((Message((Text("chat.matrix.undecryptable", {"name": name}),)),), locale)
        await self.deliver(note, room_id=room_id, sender=sender, source=payload["event_id"])
        await self.state.set(key, payload["event_id"])
        try:
            await self.client.request_keys(source)
        except MatrixFailure as exc:
            log.warning("matrix.key_request_failed", error=exc.errcode)

    async def _locale_of(self, room_id: str, sender: str) -> str:
        name = self.client.display_name(room_id, sender)
        found = await self.conversation.member_for(
            Incoming(PLATFORM, room_id, sender, "", "", sender_name=name)
        )
        return found.member.locale_or(self.handle.community.locale)

    # --- output ------------------------------------------------------------------------------

    async def deliver(self, reply: Reply, *, room_id: str, sender: str, source: str) -> None:
        """Send a reply: private messages to the asker's direct room, the rest here, the
        first one in this room as a reply to `source`, mentioning the asker in a group."""
        tz = self.handle.community.tz
        group = await self._chat_kind(room_id) is ChatKind.GROUP
        base = txn_base(source)
        replied = False
        for index, message in enumerate(reply.messages):
            rendered = render_message(message, reply.locale, tz)
            target = await self.direct.room_for(sender) if rendered.private and group else room_id
            here = target == room_id
            try:
                await self.send_rendered(
                    target,
                    rendered,
                    reply.locale,
                    f"{base}.{index}",
                    Priority.URGENT,
                    person=sender,
                    reply_to=source if here and not replied else None,
                    mention=sender if here and group else None,
                )
            except MatrixFailure as exc:
                log.error("matrix.send_failed", room=target, error=exc.errcode)
                raise
            replied = replied or here

    async def send_rendered(
        self,
        room_id: str,
        rendered: RenderedMessage,
        locale: str,
        txn: str,
        priority: Priority,
        *,
        person: str | None,
        reply_to: str | None = None,
        mention: str | None = None,
    ) -> None:
        """The one way a rendered message goes out: its events (the first one a reply to
        `reply_to`), then its choices remembered for `person` and offered as keycaps."""
        hint = translate("chat.matrix.choices_hint", locale)
        for index, piece in enumerate(matrix_contents(rendered, hint)):
            content: dict[str, Any] = piece.content()
            if reply_to is not None and index == 0:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
            content["m.mentions"] = {"user_ids": [mention]} if mention is not None else {}
            piece_txn = f"{txn}.{index}"
            sent = await self.outbound.send(room_id, content, piece_txn, priority)
            if piece.choices:
                await self.offer(room_id, sent, person, piece.choices, piece_txn)

    async def offer(
        self, room_id: str, event_id: str, person: str | None, payloads: tuple[str, ...], txn: str
    ) -> None:
        """Remember what the numbers under a message stand for and put the keycaps under it."""
        await self.choices.remember(event_id, room_id, person, payloads)
        for number in range(1, min(len(payloads), MAX_KEYCAPS) + 1):
            reaction = {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": event_id,
                    "key": keycap(number),
                }
            }
            await self.outbound.send(
                room_id, reaction, f"{txn}.k{number}", Priority.NORMAL, "m.reaction"
            )

    async def _say(self, room_id: str, message: Message, locale: str, source: str) -> None:
        """A message of the bot's own (a hello); a refusal only gets logged."""
        rendered = render_message(message, locale, self.handle.community.tz)
        try:
            await self.send_rendered(
                room_id, rendered, locale, txn_base(source), Priority.NORMAL, person=None
            )
        except MatrixFailure as exc:
            log.warning("matrix.send_failed", room=room_id, error=exc.errcode)


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of an event, or an empty one: event content is whatever the sending
    client put there (`"m.relates_to": "oops"` reaches us too), so anything that is
    not an object is read as absent rather than trusted."""
    return value if isinstance(value, Mapping) else {}
