"""One-time codes people type: link codes (`linking`) and web sign-in codes (`access`).

Both kinds share one shape, so they share these rules: eight characters from
`23456789ABCDEFGHJKMNPQRSTUVWXYZ` (no 0/O, 1/I/L, so a code read aloud or
copied by hand survives), typed in any case with spaces and dashes ignored,
good for ten minutes and one use, and stored only as a SHA-256 (a leaked
table gives nobody a usable code; 31^8 codes make a hash search pointless
within ten minutes). A member may ask for five codes of a kind an hour; a
new code retires the member's unused ones; five wrong tries within a
quarter of an hour stop further tries until the quarter has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from huarong_core.services.context import Context
from huarong_core.storage.repositories.codes import OneTimeCodes

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODES = 5
CODES_WINDOW = timedelta(hours=1)
MAX_WRONG_TRIES = 5
TRIES_WINDOW = timedelta(minutes=15)
MAX_WRONG_TRIES_EVERYWHERE = 200
"""Wrong codes of one kind a quarter hour from everyone together before that kind of
code pauses for everyone. Per client (sign-in) or per member (linking) the limit
is `MAX_WRONG_TRIES`; this ceiling bounds guessing spread over many addresses or
many chat accounts: 200 tries against 31^8 codes, with even a thousand codes
alive, succeed about once in four million quarter hours."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text: str) -> str:
    """What people type, as stored: case, spaces and dashes do not matter."""
    return "".join(c for c in text.upper() if c not in " -\t")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def issue_code(
    ctx: Context, store: OneTimeCodes, member_id: int, lock: str
) -> tuple[str, datetime] | None:
    """A fresh code for `member_id` (its unused ones retired): the plain code and its end.

    None when the member had `MAX_CODES` codes of this kind within the hour; the
    caller says so in its own words (or, where telling would reveal the member
    exists, says nothing). `lock` serializes one member's requests, so two at once
    cannot both slip under the limit.
    """
    await ctx.repos.conn.lock(lock)
    if await store.codes_since(member_id, ctx.now - CODES_WINDOW) >= MAX_CODES:
        return None
    await store.retire_codes(member_id, ctx.now)
    expires_at = ctx.now + CODE_LIFETIME
    while True:
        code = new_code()
        if await store.add_code(code_hash(code), member_id, ctx.now, expires_at) is not None:
            return code, expires_at
