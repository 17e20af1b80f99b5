"""The Matrix client the adapter speaks through: matrix-nio, behind a small typed surface.

nio does the protocol and, with vodozemac, the end-to-end encryption (Olm
sessions, Megolm room keys, device lists); its crypto state lives in a
SQLite store under the store folder, next to `session.json` (the access
token and device id, readable by the owner only). A restart restores both,
so the bot keeps its device and every room key it holds: a new login would
be a new device that nobody has shared keys with.

Everything nio returns is untyped; this module is the one place that
reads it, so the rest of the adapter works with plain values.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import structlog
from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)

log = structlog.get_logger(__name__)

SESSION_FILE = "session.json"
TIMELINE_LIMIT = 50
"""Events per room per sync; a longer gap is filled from /messages."""


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """No presence, typing or read receipts: the bot answers messages, not moods."""
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {"timeline": {"limit": timeline_limit}, "ephemeral": {"types": []}},
    }


MEGOLM = "m.megolm.v1.aes-sha2"
DIRECT_MARKER = "org.huarong.direct_with"
"""A state event the bot puts in each direct room it opens, naming the person it
opened the room for: after a crash between opening a room and recording it, the
room is found again by it instead of being opened twice."""
CREATOR_POWER = 2**53 - 1
"""A room creator's standing from room version 12 on: above any power level."""


class MatrixFailure(Exception):
    """A homeserver refused a call or could not be reached.

    `errcode` is Matrix's (`M_FORBIDDEN`, `M_UNKNOWN_TOKEN`), or `network` when
    no answer came; `status` the HTTP status when there was one.
    """

    def __init__(self, call: str, errcode: str, message: str = "", status: int | None = None):
        super().__init__(f"{call}: {errcode} {message}".strip())
        self.call = call
        self.errcode = errcode
        self.status = status

    @property
    def network(self) -> bool:
        return self.errcode == "network"

    @property
    def temporary(self) -> bool:
        """Worth trying again later: no answer, a server error, or a rate limit."""
        return (
            self.network
            or (self.status is not None and self.status >= 500)
            or self.errcode in ("M_LIMIT_EXCEEDED", "M_UNKNOWN_ROOM")
        )


def _failure(call: str, response: Any) -> MatrixFailure:
    if isinstance(response, ErrorResponse):
        status = getattr(response.transport_response, "status", None)
        return MatrixFailure(
            call, str(response.status_code or "M_UNKNOWN"), str(response.message or ""), status
        )
    return MatrixFailure(call, "M_UNKNOWN", type(response).__name__)


@attrs.frozen
class Session:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str = attrs.field(repr=False)


@attrs.frozen
class RoomTimeline:
    room_id: str
    events: tuple[Any, ...]
    """nio events, decrypted where the bot had the keys."""
    limited: bool
    prev_batch: str | None


@attrs.frozen
class SyncResult:
    next_batch: str
    joined: tuple[RoomTimeline, ...]
    invites: tuple[tuple[str, str | None, bool], ...]
    """(room, inviter, is_direct) for each room the bot is invited to."""
    left: tuple[str, ...]


def load_session(store: Path) -> Session | None:
    path = store / SESSION_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text("utf-8"))
    return Session(data["homeserver"], data["user_id"], data["device_id"], data["access_token"])


def save_session(store: Path, session: Session) -> None:
    """Written 0600 and replaced atomically: it holds the bot's access token."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / SESSION_FILE
    temporary = store / f".{SESSION_FILE}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(attrs.asdict(session), out)
    os.replace(temporary, path)


class MatrixClient:
    """One bot account on one homeserver, with its encryption state on disk."""

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        store: Path,
        *,
        password: str | None = None,
        access_token: str | None = None,
        device_name: str = "Huarong",
        pickle_key: str = "huarong",
        request_timeout: float = 60.0,
        retries: int = 3,
        timeline_limit: int = TIMELINE_LIMIT,
    ) -> None:
        self.timeline_limit = timeline_limit
        self._configured_user = user_id
        self.homeserver = homeserver.rstrip("/")
        self.store = store
        self._password = password
        self._access_token = access_token
        self.device_name = device_name
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # the sync token lives in Huarong's database
            pickle_key=pickle_key,
            max_limit_exceeded=None,  # a 429 waits `retry_after_ms`, however often it comes
            max_timeouts=retries,
            request_timeout=request_timeout,
        )
        store.mkdir(parents=True, exist_ok=True)
        self._nio = AsyncClient(self.homeserver, user_id, store_path=str(store), config=config)
        # nio's key bookkeeping assumes one caller: the sync's chores and a send's key
        # sharing take turns.
        self._crypto = asyncio.Lock()
        self._synced = asyncio.Condition()
        self._creators: dict[str, frozenset[str]] = {}
        self._expected: dict[str, str] = {}
        self._state_loaded = False
        """Direct rooms the bot opened, and the person it waits for there."""

    @property
    def user_id(self) -> str:
        return str(self._nio.user_id)

    @property
    def device_id(self) -> str:
        return str(self._nio.device_id)

    # --- login ---------------------------------------------------------------------------

    async def connect(self) -> Session:
        """Log in once per device: a stored session is reused while the homeserver accepts it."""
        if self._access_token:
            return await self._with_token(self._access_token)
        stored = load_session(self.store)
        if (
            stored is not None
            and stored.homeserver == self.homeserver
            and stored.user_id == self._configured_user
        ):
            self._restore(stored)
            whoami = await self._call("whoami", self._nio.whoami())
            if isinstance(whoami, WhoamiResponse):
                log.info("matrix.session_restored", user=stored.user_id, device=stored.device_id)
                return stored
            if getattr(whoami, "status_code", None) != "M_UNKNOWN_TOKEN":
                raise _failure("whoami", whoami)
            log.warning("matrix.session_expired", user=stored.user_id, device=stored.device_id)
        if not self._password:
            raise MatrixFailure("login", "M_MISSING_PASSWORD", "no stored session and no password")
        response = await self._call(
            "login", self._nio.login(self._password, device_name=self.device_name)
        )
        if not isinstance(response, LoginResponse):
            raise _failure("login", response)
        session = Session(
            self.homeserver, response.user_id, response.device_id, response.access_token
        )
        save_session(self.store, session)
        log.info("matrix.logged_in", user=session.user_id, device=session.device_id)
        return session

    async def _with_token(self, token: str) -> Session:
        self._nio.access_token = token
        whoami = await self._call("whoami", self._nio.whoami())
        if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
            raise _failure("whoami", whoami)
        session = Session(self.homeserver, whoami.user_id, whoami.device_id, token)
        self._restore(session)
        return session

    def _restore(self, session: Session) -> None:
        self._nio.restore_login(session.user_id, session.device_id, session.access_token)

    async def _call(self, name: str, pending: Any) -> Any:
        try:
            return await pending
        except (ClientError, TimeoutError) as exc:
            raise MatrixFailure(name, "network", type(exc).__name__) from exc

    # --- sync ----------------------------------------------------------------------------

    async def sync(self, since: str | None, timeout_ms: int) -> SyncResult:
        """One /sync: the rooms' new events, decrypted where possible, and membership news."""
        response = await self._call(
            "sync",
            self._nio.sync(
                timeout=timeout_ms,
                since=since,
                sync_filter=sync_filter(self.timeline_limit),
                # nio keeps rooms in memory only: the first sync of a process asks for
                # every room's full state (timelines still start at `since`).
                full_state=since is None or not self._state_loaded,
            ),
        )
        if not isinstance(response, SyncResponse):
            raise _failure("sync", response)
        self._state_loaded = True
        async with self._crypto:
            await self._crypto_chores()
        async with self._synced:
            self._synced.notify_all()
        joined = tuple(
            RoomTimeline(
                room_id,
                tuple(info.timeline.events),
                bool(info.timeline.limited),
                info.timeline.prev_batch,
            )
            for room_id, info in response.rooms.join.items()
        )
        invites = tuple(
            (room_id, *self._inviter(room_id, info.invite_state))
            for room_id, info in response.rooms.invite.items()
        )
        return SyncResult(response.next_batch, joined, invites, tuple(response.rooms.leave))

    def _inviter(self, room_id: str, state: Sequence[Any]) -> tuple[str | None, bool]:
        for event in state:
            source = getattr(event, "source", {}) or {}
            if source.get("type") == "m.room.member" and source.get("state_key") == self.user_id:
                content = source.get("content") or {}
                return source.get("sender"), bool(content.get("is_direct"))
        return None, False

    async def _crypto_chores(self) -> None:
        """What nio's own sync loop does after each sync: keys up, device lists, sessions."""
        nio = self._nio
        if nio.should_upload_keys:
            await self._call("keys_upload", nio.keys_upload())
        if nio.should_query_keys:
            await self._call("keys_query", nio.keys_query())
        if nio.should_claim_keys:
            await self._call("keys_claim", nio.keys_claim(nio.get_users_for_key_claiming()))
        await self._call("to_device", nio.send_to_device_messages())

    async def messages_between(
        self, room_id: str, start: str, end: str | None, *, pages: int = 10
    ) -> list[Any]:
        """Events of a gap in a room's timeline, oldest first (at most `pages` × 100)."""
        found: list[Any] = []
        token: str | None = start
        for _ in range(pages):
            if token is None:
                break
            response = await self._call(
                "messages", self._nio.room_messages(room_id, token, end=end, limit=100)
            )
            if not isinstance(response, RoomMessagesResponse):
                raise _failure("messages", response)
            found.extend(response.chunk)
            if not response.chunk or response.end in (None, token):
                break
            token = response.end
        found.reverse()
        return found

    # --- rooms ---------------------------------------------------------------------------

    def knows(self, room_id: str) -> bool:
        return room_id in self._nio.rooms

    def joined_count(self, room_id: str) -> int:
        room = self._nio.rooms.get(room_id)
        return 0 if room is None else int(room.joined_count)

    def encrypted(self, room_id: str) -> bool:
        room = self._nio.rooms.get(room_id)
        return room is not None and bool(room.encrypted)

    def display_name(self, room_id: str, user_id: str) -> str:
        room = self._nio.rooms.get(room_id)
        name = room.user_name(user_id) if room is not None else None
        return str(name) if name else user_id

    async def power(self, room_id: str, user_id: str) -> tuple[int, int]:
        """A member's power level in a room, and the level that changing the room needs.

        From room version 12 the room's creators stand above every level and are not
        listed in the power levels at all; nio does not know that yet, so it is read
        from the room's create event here.
        """
        room = self._nio.rooms.get(room_id)
        if room is None:
            return 0, 50
        levels = room.power_levels
        needed = int(levels.defaults.state_default)
        if user_id in await self._room_creators(room_id):
            return CREATOR_POWER, needed
        return int(levels.get_user_level(user_id)), needed

    async def _room_creators(self, room_id: str) -> frozenset[str]:
        known = self._creators.get(room_id)
        if known is not None:
            return known
        path = f"/_matrix/client/v3/rooms/{_quote(room_id)}/state/m.room.create/?format=event"
        event = await self._raw("GET", path, None)
        content = event.get("content") or {}
        version = str(content.get("room_version", "1"))
        creators: frozenset[str] = frozenset()
        if version.isascii() and version.isdigit() and int(version[:6]) >= 12:
            extra = content.get("additional_creators") or []
            creators = frozenset([str(event.get("sender", "")), *map(str, extra)])
        self._creators[room_id] = creators
        return creators

    async def join(self, room_id: str) -> None:
        response = await self._call("join", self._nio.join(room_id))
        if not isinstance(response, JoinResponse):
            raise _failure("join", response)

    async def leave(self, room_id: str) -> None:
        response = await self._call("leave", self._nio.room_leave(room_id))
        if isinstance(response, ErrorResponse):
            raise _failure("leave", response)

    async def create_direct(self, user_id: str) -> str:
        """A new encrypted direct-message room with `user_id` invited."""
        response = await self._call(
            "createRoom",
            self._nio.room_create(
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[user_id],
                initial_state=[
                    {
                        "type": "m.room.encryption",
                        "state_key": "",
                        "content": {"algorithm": MEGOLM},
                    },
                    {"type": DIRECT_MARKER, "state_key": "", "content": {"user_id": user_id}},
                ],
            ),
        )
        if not isinstance(response, RoomCreateResponse):
            raise _failure("createRoom", response)
        self._expected[str(response.room_id)] = user_id
        return str(response.room_id)

    async def opened_direct_with(self, user_id: str) -> str | None:
        """A direct room this bot opened for `user_id` (by `create_direct`'s marker) that
        both are still in, the person joined or invited; None if there is none.

        Only rooms of exactly the two of them are asked about, one state read each,
        and only when no direct room is on record: that is rare (a person's first
        private answer), so the scan costs nothing in the usual case."""
        for room_id in sorted(str(known) for known in self._nio.rooms):
            room = self._nio.rooms[room_id]
            if set(room.users) != {self.user_id, user_id}:
                continue
            path = f"/_matrix/client/v3/rooms/{_quote(room_id)}/state/{DIRECT_MARKER}/"
            try:
                marker = await self._raw("GET", path, None)
            except MatrixFailure as exc:
                if exc.status == 404:  # not a room the bot opened as someone's direct chat
                    continue
                raise
            if marker.get("user_id") == user_id:
                if user_id in room.invited_users:
                    self._expected[room_id] = user_id  # the first message waits for them
                return room_id
        return None

    async def set_direct(self, rooms: Mapping[str, list[str]]) -> None:
        """Replace the bot's `m.direct` account data (user -> rooms)."""
        path = f"/_matrix/client/v3/user/{_quote(self.user_id)}/account_data/m.direct"
        await self._raw("PUT", path, dict(rooms))

    async def _raw(self, method: str, path: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        """A call nio has no method for; its JSON answer."""
        headers = {"Authorization": f"Bearer {self._nio.access_token}"}
        data = None if body is None else json.dumps(body)
        try:
            response = await self._nio.send(method, path, data, headers)
            status = response.status
            text = await response.text()
        except (ClientError, TimeoutError) as exc:
            raise MatrixFailure(path, "network", type(exc).__name__) from exc
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        if status >= 400:
            errcode = answer.get("errcode", "M_UNKNOWN") if isinstance(answer, dict) else ""
            raise MatrixFailure(path, str(errcode or "M_UNKNOWN"), text[:200], status)
        return answer if isinstance(answer, dict) else {}

    # --- sending -------------------------------------------------------------------------

    async def send(
        self,
        room_id: str,
        content: Mapping[str, Any],
        txn_id: str,
        event_type: str = "m.room.message",
    ) -> str:
        """Send one event; the same `txn_id` again is the same event (the homeserver
        deduplicates), so a send retried after a crash never doubles."""
        await self.wait_until_known(room_id)
        if self.encrypted(room_id):
            await self._wait_for_invitees(room_id)
        async with self._crypto:
            if self.encrypted(room_id):
                await self._know_devices(room_id)
            response = await self._call(
                "send",
                self._nio.room_send(
                    room_id,
                    event_type,
                    dict(content),
                    tx_id=txn_id,
                    ignore_unverified_devices=True,
                ),
            )
        if not isinstance(response, RoomSendResponse):
            raise _failure("send", response)
        return str(response.event_id)

    async def wait_until_known(self, room_id: str, within: float = 30.0) -> None:
        """A room just joined or created is only known (encrypted or not) after the next
        sync shows it; sending before would risk clear text in an encrypted room."""
        if room_id in self._nio.rooms:
            return
        try:
            async with asyncio.timeout(within), self._synced:
                await self._synced.wait_for(lambda: room_id in self._nio.rooms)
        except TimeoutError:
            raise MatrixFailure("send", "M_UNKNOWN_ROOM", room_id) from None

    async def _wait_for_invitees(self, room_id: str, within: float = 15.0) -> None:
        """In an encrypted room the bot just opened, the room key can only go to devices
        the bot knows of: a message sent before the person is seen in the room (the
        sync may show the room before the invite) would be one they can never read.
        So the first message waits, a while, for them to have joined."""
        person = self._expected.get(room_id)
        room = self._nio.rooms.get(room_id)
        if person is None or room is None:
            return

        def arrived() -> bool:
            return person in room.users and person not in room.invited_users

        try:
            async with asyncio.timeout(within), self._synced:
                await self._synced.wait_for(arrived)
        except TimeoutError:
            log.info("matrix.invitee_not_joined", room=room_id)
            return
        self._expected.pop(room_id, None)
        if self._nio.olm is not None:
            # A session made before they were seen would not include them.
            self._nio.invalidate_outbound_session(room_id)

    async def _know_devices(self, room_id: str) -> None:
        """Learn the devices of members the bot has never seen (someone just invited to a
        new direct room) so the room key reaches them; unverified devices are trusted,
        as in every bot: there is nobody to verify them with."""
        room = self._nio.rooms.get(room_id)
        olm = self._nio.olm
        if room is None or olm is None:
            return
        unknown = {user for user in room.users if user not in self._nio.device_store.users}
        if unknown:
            olm.users_for_key_query.update(unknown)
            await self._call("keys_query", self._nio.keys_query())

    async def request_keys(self, source: Mapping[str, Any]) -> None:
        """Ask the sender's devices for the room key of an event the bot could not decrypt."""
        event = MegolmEvent.from_dict(dict(source))
        if not isinstance(event, MegolmEvent):
            return
        try:
            response = await self._call("key_request", self._nio.request_room_key(event))
        except LocalProtocolError as exc:  # asked already (nio remembers): nothing to add
            log.info("matrix.key_request_skipped", reason=str(exc))
            return
        if isinstance(response, ErrorResponse):
            log.warning("matrix.key_request_failed", error=str(response.status_code))

    def decrypt(self, source: Mapping[str, Any]) -> Any | None:
        """A stored undecryptable event, decrypted now if its key has arrived since."""
        event = MegolmEvent.from_dict(dict(source))
        if not isinstance(event, MegolmEvent) or self._nio.olm is None:
            return None
        try:
            return self._nio.decrypt_event(event)
        except Exception:  # nio raises EncryptionError and vodozemac's own errors alike
            log.info("matrix.still_undecryptable", event_id=source.get("event_id"))
            return None

    async def close(self) -> None:
        await self._nio.close()


def _quote(value: str) -> str:
    return quote(value, safe="")
