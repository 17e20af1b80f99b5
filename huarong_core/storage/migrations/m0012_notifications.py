"""Notifications: what the outbox relay decided to tell whom, sent once each.

One row per recipient (a member, or a bound group chat) of a relayed event,
unique per event and recipient, so relaying an event again writes nothing.
The message is stored neutral (catalog keys, arguments, buttons) and worded
when it is sent, in the recipient's language then. The delivery columns are
those of `announcement_deliveries`: a `DeliveryWorker` claims due `pending`
rows (`_due`), leases them, and records the outcome; a row still `sending`
past its lease is found through `_leased` and becomes `unknown`. `_open`
keeps each recipient's notifications in order: one goes out only when
none older to the same recipient is still open.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE notifications (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    event_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    member_id BIGINT,
    chat_platform TEXT,
    chat_id TEXT,
    message {t.json} NOT NULL,
    priority TEXT NOT NULL,
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
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id),
    CHECK ((member_id IS NULL) <> (chat_id IS NULL))
);
CREATE UNIQUE INDEX notifications_once ON notifications (community_id, event_id, recipient);
CREATE INDEX notifications_by_member ON notifications (community_id, member_id, id)
    WHERE member_id IS NOT NULL;
CREATE INDEX notifications_due ON notifications (due_at, id) WHERE state = 'pending';
CREATE INDEX notifications_open ON notifications (community_id, recipient, id)
    WHERE state IN ('pending', 'sending');
CREATE INDEX notifications_leased ON notifications (lease_until) WHERE state = 'sending'
""")
