"""Linking accounts: one-time link codes, and members merged into another.

A code is kept as its SHA-256 only; it is good for ten minutes and for one
use (`used_at`, `used_by`). `members.merged_into` names the member that
absorbed a merged one (status `merged`), so old references still lead
somewhere. Wrong codes are counted from the audit log (`member.link_refused`
entries, written even though the refused unit rolls back).
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
ALTER TABLE members ADD COLUMN merged_into BIGINT;

CREATE TABLE link_codes (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    code_hash TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    expires_at {t.timestamp} NOT NULL,
    used_at {t.timestamp},
    used_by BIGINT,
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id),
    FOREIGN KEY (community_id, used_by) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX link_codes_by_hash ON link_codes (community_id, code_hash);
CREATE INDEX link_codes_by_member ON link_codes (community_id, member_id, created_at)
""")
