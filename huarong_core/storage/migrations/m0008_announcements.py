"""Announcements to an audience, delivered to each recipient once.

`announcement_deliveries` is the per-recipient outbox: one row per member
and per bound chat, unique per announcement, written by the posting unit.
Delivery workers claim due `pending` rows (the `_due` index serves every
community at once), mark them `sending` under a lease, and record the
outcome; a row still `sending` past its lease is found through `_leased`.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE station_subscriptions (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    station_key TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    subscribed_at {t.timestamp} NOT NULL,
    subscribed_by TEXT NOT NULL,
    PRIMARY KEY (community_id, station_key, member_id),
    FOREIGN KEY (community_id, station_key) REFERENCES stations (community_id, key),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX station_subscriptions_by_member ON station_subscriptions (community_id, member_id);

CREATE TABLE announcements (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    audience TEXT NOT NULL,
    scope TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    posted_by TEXT NOT NULL,
    posted_by_member BIGINT,
    posted_at {t.timestamp} NOT NULL,
    members BIGINT NOT NULL,
    chats BIGINT NOT NULL,
    {t.auto_id_key}
);
CREATE INDEX announcements_by_scope ON announcements (community_id, scope, id);
{t.auto_id_unique("announcements")}

CREATE TABLE announcement_deliveries (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    announcement_id BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    member_id BIGINT,
    chat_platform TEXT,
    chat_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at {t.timestamp} NOT NULL,
    lease_id TEXT,
    lease_until {t.timestamp},
    platform TEXT,
    address TEXT,
    tried TEXT NOT NULL DEFAULT ',',
    last_error TEXT,
    sent_at {t.timestamp},
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    {t.auto_id_key},
    FOREIGN KEY (community_id, announcement_id) REFERENCES announcements (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id),
    CHECK ((member_id IS NULL) <> (chat_id IS NULL))
);
CREATE UNIQUE INDEX announcement_deliveries_recipient
    ON announcement_deliveries (community_id, announcement_id, recipient);
CREATE INDEX announcement_deliveries_by_member
    ON announcement_deliveries (community_id, member_id, announcement_id)
    WHERE member_id IS NOT NULL;
CREATE INDEX announcement_deliveries_due ON announcement_deliveries (due_at, id)
    WHERE state = 'pending';
CREATE INDEX announcement_deliveries_leased ON announcement_deliveries (lease_until)
    WHERE state = 'sending'
""")
