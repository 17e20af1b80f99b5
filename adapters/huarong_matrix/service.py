"""`huarong serve` with `HUARONG_MATRIX_HOMESERVER` set: the bot, its sync loop and its sender.

Settings (environment):
- `HUARONG_MATRIX_HOMESERVER`: the homeserver's base URL (`https://matrix.example.org`).
- `HUARONG_MATRIX_USER`: the bot's user id (`@huarong:example.org`).
- `HUARONG_MATRIX_PASSWORD` or `HUARONG_MATRIX_ACCESS_TOKEN`: one of them (never logged).
  With a password the bot logs in once and keeps its session; with a token it uses it.
- `HUARONG_MATRIX_STORE`: the folder for the session and the encryption keys
  (default `./huarong-matrix-store`); keep it, or the bot becomes a new device that
  no encrypted room has shared its keys with.
- `HUARONG_MATRIX_STORE_KEY`: the passphrase the encryption store is sealed with.
- `HUARONG_MATRIX_INVITERS`: who may invite the bot into rooms, comma-separated user
  ids and `:server` names (default: everyone on the bot's own homeserver).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import structlog

from huarong_core.app import CommunityHandle
from huarong_core.delivery import Sender
from huarong_core.errors import ConfigError, Problem
from huarong_core.inbox import AdapterState, Inbox, InboxWorker
from huarong_matrix.bot import PLATFORM, MatrixBot
from huarong_matrix.client import TIMELINE_LIMIT, MatrixClient
from huarong_matrix.outbound import Outbound
from huarong_matrix.sender import MatrixSender
from huarong_matrix.syncing import SyncLoop

log = structlog.get_logger(__name__)

DEFAULT_STORE = "huarong-matrix-store"
INVITERS = "HUARONG_MATRIX_INVITERS"


class MatrixSettingsError(ValueError):
    """The Matrix settings are incomplete; the message names what is missing."""


class MatrixService:
    """The bot, its way in (the sync loop and the inbox) and its way out (queue, sender)."""

    platform = PLATFORM

    def __init__(
        self,
        handle: CommunityHandle,
        homeserver: str,
        user_id: str,
        store: Path,
        *,
        password: str | None = None,
        access_token: str | None = None,
        pickle_key: str = "huarong",
        inviters: tuple[str, ...] = (),
        sync_timeout_ms: int = 30_000,
        retry_base: float = 1.0,
        per_second: float = 10.0,
        request_timeout: float = 60.0,
        timeline_limit: int = TIMELINE_LIMIT,
    ) -> None:
        if not password and not access_token:
            raise MatrixSettingsError("a password or an access token is needed")
        self.handle = handle
        self.client = MatrixClient(
            homeserver,
            user_id,
            store,
            password=password,
            access_token=access_token,
            pickle_key=pickle_key,
            request_timeout=request_timeout,
            timeline_limit=timeline_limit,
        )
        self.state = AdapterState(handle, PLATFORM)
        self.outbound = Outbound(self.client, per_second=per_second)
        self.bot = MatrixBot(handle, self.client, self.outbound, self.state, inviters=inviters)
        self.inbox = Inbox(handle, PLATFORM)
        self.worker = InboxWorker(self.inbox, self.bot.handle_event)
        self.sync = SyncLoop(
            self.client,
            self.bot,
            self.worker,
            self.state,
            timeout_ms=sync_timeout_ms,
            retry_base=retry_base,
        )
        self._sender = MatrixSender(self.bot)

    @property
    def sender(self) -> Sender:
        return self._sender

    async def start(self) -> None:
        session = await self.client.connect()
        log.info("matrix.ready", user=session.user_id, device=session.device_id)
        self.outbound.start()
        await self.worker.start()
        await self.sync.start()

    async def stop(self) -> None:
        await self.sync.stop()
        await self.worker.stop()
        await self.outbound.stop()
        await self.client.close()


def _inviters(value: str) -> tuple[tuple[str, ...], list[Problem]]:
    entries = tuple(part.strip() for part in value.split(",") if part.strip())
    wrong = [
        Problem(INVITERS, "chat.matrix.config.inviter", {"value": entry})
        for entry in entries
        if not entry.startswith(("@", ":"))
    ]
    return entries, wrong


async def create(handle: CommunityHandle, environ: Mapping[str, str]) -> MatrixService | None:
    """The `huarong.serve` entry point: a service when a homeserver is configured.

    Wrong or missing settings stop `huarong serve` with every problem named, as a
    community file's do (`ConfigError`), before anything starts."""
    homeserver = environ.get("HUARONG_MATRIX_HOMESERVER", "").strip()
    if not homeserver:
        return None
    problems: list[Problem] = []
    user = environ.get("HUARONG_MATRIX_USER", "").strip()
    if not user.startswith("@") or ":" not in user:
        problems.append(Problem("HUARONG_MATRIX_USER", "chat.matrix.config.user", {"value": user}))
    password = environ.get("HUARONG_MATRIX_PASSWORD") or None
    token = environ.get("HUARONG_MATRIX_ACCESS_TOKEN") or None
    if not password and not token:
        problems.append(Problem("HUARONG_MATRIX_PASSWORD", "chat.matrix.config.credentials"))
    inviters, wrong = _inviters(environ.get(INVITERS, ""))
    problems += wrong
    if problems:
        raise ConfigError(file="HUARONG_MATRIX_*", problems=tuple(problems))
    return MatrixService(
        handle,
        homeserver,
        user,
        Path(environ.get("HUARONG_MATRIX_STORE") or DEFAULT_STORE),
        password=password,
        access_token=token,
        pickle_key=environ.get("HUARONG_MATRIX_STORE_KEY") or "huarong",
        inviters=inviters,
    )
