"""What chat adapters keep in the database: their inbox, their bookkeeping, dead ends.

`inbox` holds platform inputs recorded before they are answered (a webhook
answers 200 only once its update is here; a poller stores what it fetched
before moving its offset), so an input is never lost, and its unique key
makes a redelivered one a no-op. `seq` keeps arrival order for handling.
`adapter_state` is small named values an adapter must not forget (a
polling offset, a sync token). `identities.unreachable_at` marks an account
the platform refuses to reach (the member blocked the bot).
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE inbox (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    source TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    payload {t.json} NOT NULL,
    received_at {t.timestamp} NOT NULL,
    handled_at {t.timestamp},
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    {t.auto_id_key}
);
CREATE UNIQUE INDEX inbox_by_delivery ON inbox (community_id, source, delivery_id);
CREATE INDEX inbox_unhandled ON inbox (community_id, source, handled_at, id);

CREATE TABLE adapter_state (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    adapter TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, adapter, key)
);

ALTER TABLE identities ADD COLUMN unreachable_at {t.timestamp};
""")
