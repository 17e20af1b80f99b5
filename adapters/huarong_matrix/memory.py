"""What the bot must remember across restarts besides the sync token, all in
the core's adapter state: which numbers on which message stand for which
command, and which room is each person's direct chat with the bot."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import structlog

from huarong_core.inbox import AdapterState
from huarong_matrix.client import MatrixClient, MatrixFailure

log = structlog.get_logger(__name__)

CHOICES_KEPT = timedelta(days=14)
"""A message's choices are answerable for two weeks, like a notice's buttons."""


class ChoiceBook:
    """Numbered choices under the bot's messages, answered by reaction or by number."""

    def __init__(self, state: AdapterState) -> None:
        self.state = state

    async def remember(
        self, event_id: str, room_id: str, person: str | None, payloads: tuple[str, ...]
    ) -> None:
        await self.state.set(f"choice:{event_id}", json.dumps(list(payloads)))
        if person is not None:
            await self.state.set(f"last:{room_id}:{person}", event_id)

    async def on_message(self, event_id: str, number: int) -> str | None:
        """The command behind choice `number` of the bot's message `event_id`."""
        stored = await self.state.get(f"choice:{event_id}")
        if stored is None:
            return None
        payloads = json.loads(stored)
        return str(payloads[number - 1]) if 1 <= number <= len(payloads) else None

    async def last_for(self, room_id: str, person: str, number: int) -> str | None:
        """A bare number typed by `person`: a choice of the last message offered to them here."""
        event_id = await self.state.get(f"last:{room_id}:{person}")
        return None if event_id is None else await self.on_message(event_id, number)

    async def prune(self, now: datetime) -> int:
        """Forget choices older than `CHOICES_KEPT`; how many were forgotten."""
        return sum([await self.state.prune(p, now - CHOICES_KEPT) for p in ("choice:", "last:")])


class DirectRooms:
    """Each person's direct-message room with the bot: theirs if they opened one,
    otherwise one the bot opens (encrypted) the first time it must answer privately.
    The bot's `m.direct` account data mirrors the table, as Matrix clients expect."""

    def __init__(self, client: MatrixClient, state: AdapterState) -> None:
        self.client = client
        self.state = state

    async def room_for(self, person: str) -> str:
        room = await self.state.get(f"dm:{person}")
        if room is not None and self.client.knows(room):
            return room
        # A room opened just before a crash, never recorded, is theirs: not a second one.
        room = await self.client.opened_direct_with(person)
        if room is None:
            room = await self.client.create_direct(person)
            log.info("matrix.direct_opened", room=room)
        else:
            log.info("matrix.direct_found", room=room)
        await self.record(person, room)
        return room

    async def is_direct(self, room: str) -> bool:
        return await self.state.get(f"dmroom:{room}") is not None

    async def record(self, person: str, room: str) -> None:
        await self.state.set(f"dm:{person}", room)
        await self.state.set(f"dmroom:{room}", person)
        direct = await self._table()
        direct[person] = [room, *(r for r in direct.get(person, []) if r != room)]
        await self._publish(direct)

    async def forget_room(self, room: str) -> None:
        person = await self.state.get(f"dmroom:{room}")
        if person is None:
            return
        await self.state.delete(f"dmroom:{room}")
        if await self.state.get(f"dm:{person}") == room:
            await self.state.delete(f"dm:{person}")
        direct = await self._table()
        left = [r for r in direct.get(person, []) if r != room]
        if left:
            direct[person] = left
        else:
            direct.pop(person, None)
        await self._publish(direct)

    async def _table(self) -> dict[str, list[str]]:
        stored = await self.state.get("m.direct")
        return dict(json.loads(stored)) if stored else {}

    async def _publish(self, direct: dict[str, list[str]]) -> None:
        await self.state.set("m.direct", json.dumps(direct, sort_keys=True))
        try:
            await self.client.set_direct(direct)
        except MatrixFailure as exc:  # account data is a courtesy to clients; the table is ours
            log.warning("matrix.direct_publish_failed", error=exc.errcode)
