"""A key for where a request comes from that names no one: for the core's per-client
count of wrong sign-in codes (`RedeemSignInCode.client`).

The core keeps each wrong try in the audit log under the client's key, so the key
must not be the address itself (personal data, and nothing an administrator
reading the log needs). It is a BLAKE2b digest keyed with a secret the
deployment makes once and keeps in the adapters' state, so it stays the same
across restarts and processes, and cannot be reversed by hashing every IPv4
address.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from huarong_core import CommunityHandle
from huarong_core.inbox import AdapterState

__all__ = ["ClientKeys"]

SECRET_KEY = "client-key-secret"
"""Where the secret is kept in `AdapterState` (adapter `web`)."""


class ClientKeys:
    """Turns client addresses into stable, irreversible keys."""

    def __init__(self, handle: CommunityHandle, adapter: str) -> None:
        self._state = AdapterState(handle, adapter)
        self._secret: bytes | None = None
        self._loading = asyncio.Lock()

    async def key_of(self, address: str) -> str:
        secret = self._secret if self._secret is not None else await self._load()
        digest = hashlib.blake2b(address.encode(), key=secret, digest_size=12)
        return f"web:{digest.hexdigest()}"

    async def _load(self) -> bytes:
        async with self._loading:
            if self._secret is None:
                fresh = secrets.token_hex(32)
                # Another process may have made it first: then its secret is the one.
                kept = await self._state.add(SECRET_KEY, fresh)
                self._secret = bytes.fromhex(kept if kept is not None else fresh)
            return self._secret
