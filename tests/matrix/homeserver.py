"""Test-side helpers for a real Matrix homeserver: accounts and people with real clients.

The Matrix adapter is only proven if a person on a real client can talk to
it, so `Human` wraps `matrix-nio` (the client library many Matrix bots and
some clients use) with end-to-end encryption on: what a `Human` sends in an
encrypted room is Megolm-encrypted exactly as a phone would, and what it
reads was decrypted by real Olm/Megolm code, not by a shortcut of ours.

The homeserver comes from the environment (`homeserver_from_env`): CI starts
Synapse with `.ci/synapse.sh`; locally `make synapse` does, and prints the two
variables to export. Accounts are made with Synapse's shared-secret
registration, so the server keeps open registration off.

Every `Human` records each timeline event of its joined rooms in arrival
order; tests wait on that record (`wait_for`, `said_by`) instead of sleeping.
Positions (`mark`) count events of one room, so "the bot's next message after
I asked" is `said_by(bot, room, after=mark)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp
import attrs

# nio ships no py.typed marker; its objects are Any here and every value taken
# from them is converted to a plain type at the boundary. (`unused-ignore`:
# the ignore is redundant, not wrong, once pyproject's mypy overrides list nio.)
import nio  # type: ignore[import-untyped, unused-ignore]

MEGOLM = "m.megolm.v1.aes-sha2"
SYNC_TIMEOUT_MS = 1000
"""Long-poll timeout of the background sync: short, so `close()` is quick."""
MAX_SYNC_FAILURES = 20
"""Consecutive failed syncs after which the background task gives up (and tests say why)."""

Event = dict[str, Any]


@attrs.frozen
class Homeserver:
    """Where the test homeserver listens and the secret that registers accounts on it."""

    url: str
    shared_secret: str


def homeserver_from_env() -> Homeserver | None:
    """The homeserver named by HUARONG_TEST_MATRIX_URL / _SECRET, or None when either is unset."""
    url = os.environ.get("HUARONG_TEST_MATRIX_URL", "").strip()
    secret = os.environ.get("HUARONG_TEST_MATRIX_SECRET", "").strip()
    if not url or not secret:
        return None
    return Homeserver(url=url.rstrip("/"), shared_secret=secret)


def unique_localpart(prefix: str) -> str:
    """`prefix` plus a short random hex tail, lowercase.

    Tests share one long-lived homeserver (locally it survives many runs), so
    every account needs a name no earlier run took.
    """
    return f"{prefix.lower()}-{secrets.token_hex(4)}"


async def register(hs: Homeserver, localpart: str, password: str, *, admin: bool = False) -> str:
    """Create an account through Synapse's shared-secret admin API; returns its user id.

    The MAC is HMAC-SHA1, keyed with the shared secret, over
    `nonce NUL user NUL password NUL admin|notadmin`, as Synapse documents.
    """
    endpoint = f"{hs.url}/_synapse/admin/v1/register"
    async with aiohttp.ClientSession() as session:
        async with session.get(endpoint) as response:
            response.raise_for_status()
            nonce = str((await response.json())["nonce"])
        message = b"\x00".join(
            [
                nonce.encode(),
                localpart.encode(),
                password.encode(),
                b"admin" if admin else b"notadmin",
            ]
        )
        mac = hmac.new(hs.shared_secret.encode(), message, hashlib.sha1).hexdigest()
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac,
        }
        async with session.post(endpoint, json=body) as response:
            answer = await response.json()
            if response.status != 200:
                raise AssertionError(
                    f"registering {localpart!r} failed: {response.status} {answer}"
                )
            return str(answer["user_id"])


def _checked(response: Any, doing: str) -> Any:
    """nio answers errors with an ErrorResponse instead of raising; make them loud."""
    if isinstance(response, nio.ErrorResponse):
        raise AssertionError(f"{doing} failed: {response}")
    return response


def _record(room_id: str, event: Any) -> Event:
    """One timeline event as a plain dict, after nio's decryption.

    nio replaces a Megolm event it could decrypt with the decrypted event
    (`decrypted` True, `source` holding the clear type and content); one it
    could not stays `m.room.encrypted` with `decrypted` False.
    """
    source: dict[str, Any] = dict(getattr(event, "source", None) or {})
    content: dict[str, Any] = dict(source.get("content") or {})
    record: Event = {
        "event_id": str(source.get("event_id") or getattr(event, "event_id", "")),
        "sender": str(source.get("sender") or getattr(event, "sender", "")),
        "type": str(source.get("type", "")),
        "content": content,
        "decrypted": bool(getattr(event, "decrypted", False)),
        "room_id": room_id,
    }
    # Room versions before 11 put `redacts` at the top level, 11 in the content.
    redacts = source.get("redacts") or content.get("redacts")
    if redacts:
        record["redacts"] = str(redacts)
    if "state_key" in source:
        record["state_key"] = str(source["state_key"])
    return record


@attrs.define(eq=False, repr=False)
class Human:
    """A person on a real, encrypting Matrix client (nio), for end-to-end tests.

    Build one with `await Human.create(hs, "ann")`; it is already synced,
    has uploaded its device keys, joins every room it is invited to and
    records what it sees. `await human.close()` (or `async with`) ends it.
    """

    hs: Homeserver
    client: Any
    """The `nio.AsyncClient`; tests may use it for anything the helpers lack."""
    _store_dir: str
    _http: aiohttp.ClientSession
    _timeline: list[Event] = attrs.field(factory=list)
    _direct: dict[str, list[str]] = attrs.field(factory=dict)
    _arrived: asyncio.Event = attrs.field(factory=asyncio.Event)
    # Crypto bookkeeping (key upload/query/claim, group-session sharing) must not
    # interleave between the sync task and a send: nio assumes one caller.
    _crypto: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def create(
        cls,
        hs: Homeserver,
        name: str,
        *,
        display_name: str | None = None,
        password: str | None = None,
    ) -> Human:
        """Register a fresh account named after `name`, log in, sync once, start syncing."""
        password = password or secrets.token_urlsafe(12)
        user_id = await register(hs, unique_localpart(name), password)
        store_dir = tempfile.mkdtemp(prefix="huarong-nio-")
        client = nio.AsyncClient(
            hs.url,
            user_id,
            store_path=store_dir,
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        human = cls(hs=hs, client=client, store_dir=store_dir, http=aiohttp.ClientSession())
        try:
            _checked(await client.login(password, device_name=f"{name} test client"), "login")
            if display_name:
                _checked(await client.set_displayname(display_name), "set display name")
            await human._sync_once(timeout_ms=0, full_state=True)
            human._task = asyncio.create_task(human._sync_loop(), name=f"sync {user_id}")
        except BaseException:
            await human.close()
            raise
        return human

    async def close(self) -> None:
        """Stop syncing, close the client and remove its key store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.close()
        await self._http.close()
        shutil.rmtree(self._store_dir, ignore_errors=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        # Short on purpose: pytest prints fixtures on failure, and the record is long.
        return f"<Human {self.client.user_id} ({len(self._timeline)} events)>"

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    # --- rooms -------------------------------------------------------------

    async def create_room(
        self, name: str, *, invite: list[str], encrypted: bool, direct: bool = False
    ) -> str:
        """Create a room, invite people; returns once this client knows the room.

        A direct room is what clients make for a 1:1 chat: `is_direct` on the
        invite and the trusted_private_chat preset (invitees get the creator's
        power level).
        """
        initial_state = []
        if encrypted:
            initial_state.append(
                {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
            )
        response = _checked(
            await self.client.room_create(
                name=name,
                invite=invite,
                initial_state=initial_state,
                is_direct=direct,
                preset=nio.RoomPreset.trusted_private_chat if direct else None,
            ),
            f"creating room {name!r}",
        )
        room_id = str(response.room_id)
        await self._until_known(room_id, encrypted=encrypted)
        return room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        _checked(await self.client.room_invite(room_id, user_id), f"inviting {user_id}")

    async def set_power(self, room_id: str, user_id: str, level: int) -> None:
        """Give `user_id` a power level in the room (read, change, write back the state)."""
        current = _checked(
            await self.client.room_get_state_event(room_id, "m.room.power_levels"),
            "reading power levels",
        )
        content = dict(current.content)
        content["users"] = {**content.get("users", {}), user_id: level}
        _checked(
            await self.client.room_put_state(room_id, "m.room.power_levels", content),
            "writing power levels",
        )

    def direct_rooms_with(self, user_id: str) -> list[str]:
        """Rooms `user_id` invited this human to as a direct (1:1) chat, oldest first."""
        return list(self._direct.get(user_id, []))

    # --- sending -----------------------------------------------------------

    async def send(self, room_id: str, text: str) -> str:
        """Say `text` (m.text); encrypted when the room is. Returns the event id."""
        return await self._send_event(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """React to an event with `key` (an m.annotation); encrypted when the room is.

        nio itself sends reactions in the clear; clients such as Element
        encrypt them (keeping `m.relates_to` outside), so we do too.
        """
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self._send_event(room_id, "m.reaction", content)

    async def edit(self, room_id: str, event_id: str, new_text: str) -> str:
        """Edit one of this human's messages the way clients do (m.replace, `* ` fallback)."""
        content = {
            "msgtype": "m.text",
            "body": f"* {new_text}",
            "m.new_content": {"msgtype": "m.text", "body": new_text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self._send_event(room_id, "m.room.message", content)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        """Delete (redact) an event; returns the redaction's event id."""
        response = _checked(
            await self.client.room_redact(room_id, event_id, reason=reason), "redacting"
        )
        return str(response.event_id)

    async def send_raw(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """PUT an event exactly as given: no encryption, no checks (for malformed input)."""
        txn = uuid.uuid4().hex
        url = (
            f"{self.hs.url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
            f"/send/{quote(event_type, safe='')}/{txn}"
        )
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with self._http.put(url, json=content, headers=headers) as response:
            answer = await response.json()
            if response.status != 200:
                raise AssertionError(f"sending {event_type} failed: {response.status} {answer}")
            return str(answer["event_id"])

    async def _send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        room = await self._until_known(room_id)
        if not room.encrypted:
            return await self.send_raw(room_id, event_type, content)
        async with self._crypto:
            await self._prepare_encrypted(room_id)
            encrypted_type, encrypted = self.client.encrypt(room_id, event_type, content)
        return await self.send_raw(room_id, str(encrypted_type), dict(encrypted))

    async def _prepare_encrypted(self, room_id: str) -> None:
        """Make sure every member's current devices will get this room's Megolm key.

        The sync may not have shown a member who just joined, so the member
        list is fetched now; a member we did not know yet has not received the
        current outbound session, so it is replaced. Then the members' device
        keys are queried (the recipient can only decrypt if its device got
        the key) and the session shared, unverified devices included: test
        accounts never cross-sign.
        """
        room = self.client.rooms[room_id]
        before = set(room.users)
        _checked(await self.client.joined_members(room_id), "listing members")
        if set(room.users) - before:
            self.client.invalidate_outbound_session(room_id)
        if self.client.should_query_keys:
            _checked(await self.client.keys_query(), "querying device keys")
        if self.client.olm.should_share_group_session(room_id):
            _checked(
                await self.client.share_group_session(room_id, ignore_unverified_devices=True),
                "sharing the room key",
            )

    async def _until_known(
        self, room_id: str, *, encrypted: bool = False, within: float = 20
    ) -> Any:
        """The nio room, once a sync brought it (and its encryption state, if expected).

        Sending before nio knows a room is encrypted would send clear text.
        """
        deadline = time.monotonic() + within
        while True:
            room = self.client.rooms.get(room_id)
            if room is not None and (room.encrypted or not encrypted):
                return room
            await self._next_arrival(deadline, f"room {room_id} in {self.user_id}'s sync")

    # --- reading -----------------------------------------------------------

    def events(self, room_id: str, *, sender: str | None = None) -> list[Event]:
        """Recorded timeline events of a room, in arrival order (optionally of one sender).

        Each is a dict: event_id, sender, type (the decrypted type), content,
        decrypted, room_id, and `redacts` / `state_key` where the event has one.
        """
        return [
            event
            for event in self._timeline
            if event["room_id"] == room_id and (sender is None or event["sender"] == sender)
        ]

    def mark(self, room_id: str | None = None) -> int:
        """How many events are recorded so far (in `room_id`, or in all rooms).

        Pass it as `after=` to wait only for what arrives from now on.
        """
        if room_id is None:
            return len(self._timeline)
        return len(self.events(room_id))

    async def wait_for(
        self,
        predicate: Callable[[Event], bool],
        *,
        room_id: str | None = None,
        after: int = 0,
        within: float = 20,
        what: str,
    ) -> Event:
        """The first recorded event (in `room_id`, past position `after`) matching `predicate`.

        Raises AssertionError naming `what`, and listing what did arrive, when
        none comes `within` seconds.
        """
        deadline = time.monotonic() + within
        while True:
            candidates = self._timeline if room_id is None else self.events(room_id)
            for event in candidates[after:]:
                if predicate(event):
                    return event
            try:
                await self._next_arrival(deadline, what)
            except AssertionError as error:
                seen = [
                    (event["sender"], event["type"], event["content"].get("body"))
                    for event in candidates[after:]
                ]
                raise AssertionError(f"{error}; {self.user_id} saw instead: {seen}") from None

    async def joined(self, room_id: str, user_id: str, *, within: float = 20) -> Event:
        """Wait until this human has seen `user_id` join `room_id` (the bot accepting, say)."""
        return await self.wait_for(
            lambda event: (
                event["type"] == "m.room.member"
                and event.get("state_key") == user_id
                and event["content"].get("membership") == "join"
            ),
            room_id=room_id,
            within=within,
            what=f"{user_id} joining {room_id}",
        )

    async def said_by(self, sender: str, room_id: str, *, after: int, within: float = 20) -> Event:
        """The next m.room.message `sender` sent in `room_id` after position `after`."""
        return await self.wait_for(
            lambda event: event["sender"] == sender and event["type"] == "m.room.message",
            room_id=room_id,
            after=after,
            within=within,
            what=f"a message from {sender} in {room_id}",
        )

    async def _next_arrival(self, deadline: float, what: str) -> None:
        """Wait until the next sync recorded something, or fail at `deadline`."""
        if self._task is not None and self._task.done():
            # The sync loop died: its error explains the wait better than a timeout would.
            self._task.result()
            raise AssertionError(f"{self.user_id}'s sync stopped while waiting for {what}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        arrived = self._arrived
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), timeout=min(remaining, 1.0))

    # --- syncing -----------------------------------------------------------

    async def _sync_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self._sync_once(timeout_ms=SYNC_TIMEOUT_MS)
            except (aiohttp.ClientError, TimeoutError, AssertionError):
                failures += 1
                if failures >= MAX_SYNC_FAILURES:
                    raise
                await asyncio.sleep(0.2)
            else:
                failures = 0

    async def _sync_once(self, *, timeout_ms: int, full_state: bool = False) -> None:
        """One /sync, then what nio's sync_forever does for crypto, invites and recording."""
        response = _checked(
            await self.client.sync(timeout=timeout_ms, full_state=full_state), "sync"
        )
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                self._timeline.append(_record(str(room_id), event))
        self._wake()
        async with self._crypto:
            # The same steps, in the same order, as nio's own AsyncClient.sync_forever.
            _checked(await self.client.send_to_device_messages(), "sending to-device messages")
            if self.client.should_upload_keys:
                _checked(await self.client.keys_upload(), "uploading keys")
            if self.client.should_query_keys:
                _checked(await self.client.keys_query(), "querying keys")
            if self.client.should_claim_keys:
                users = self.client.get_users_for_key_claiming()
                _checked(await self.client.keys_claim(users), "claiming one-time keys")
        # Invites last, so a failed join cannot skip the crypto steps above.
        for room_id, info in response.rooms.invite.items():
            self._note_direct_invite(str(room_id), info.invite_state)
            _checked(await self.client.join(room_id), f"joining {room_id}")
        self._wake()

    def _note_direct_invite(self, room_id: str, invite_state: list[Any]) -> None:
        # nio keeps the content of stripped invite state only on the parsed
        # event (its `source` lacks it), so read the attributes.
        for event in invite_state:
            if (
                isinstance(event, nio.InviteMemberEvent)
                and event.state_key == self.user_id
                and (event.content or {}).get("is_direct")
            ):
                rooms = self._direct.setdefault(str(event.sender), [])
                if room_id not in rooms:
                    rooms.append(room_id)

    def _wake(self) -> None:
        """Release everyone waiting for news; later waiters wait on a fresh event."""
        self._arrived.set()
        self._arrived = asyncio.Event()
