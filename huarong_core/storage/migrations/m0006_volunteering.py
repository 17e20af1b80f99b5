"""The volunteer team: tasks, shifts, sign-ups, confirmed hours; the smile wall."""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE volunteering_settings (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    area TEXT NOT NULL,
    settings {t.json} NOT NULL,
    PRIMARY KEY (community_id, area)
);

CREATE TABLE volunteers (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    member_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    joined_at {t.timestamp} NOT NULL,
    left_at {t.timestamp},
    added_by TEXT NOT NULL,
    PRIMARY KEY (community_id, member_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);

CREATE TABLE volunteer_tasks (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    key TEXT,
    title {t.json} NOT NULL,
    description {t.json},
    station TEXT,
    active BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    {t.auto_id_key}
);
CREATE UNIQUE INDEX volunteer_tasks_by_key ON volunteer_tasks (community_id, key)
    WHERE key IS NOT NULL;
{t.auto_id_unique("volunteer_tasks")}

CREATE TABLE volunteer_shifts (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    task_id BIGINT NOT NULL,
    starts_at {t.timestamp} NOT NULL,
    ends_at {t.timestamp} NOT NULL,
    slots BIGINT NOT NULL,
    taken BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    {t.auto_id_key},
    CHECK (taken >= 0 AND taken <= slots),
    FOREIGN KEY (community_id, task_id) REFERENCES volunteer_tasks (community_id, id)
);
CREATE UNIQUE INDEX volunteer_shifts_by_start ON volunteer_shifts (community_id, task_id, starts_at)
    WHERE status = 'scheduled';
CREATE INDEX volunteer_shifts_by_time ON volunteer_shifts (community_id, starts_at);
{t.auto_id_unique("volunteer_shifts")}

CREATE TABLE volunteer_signups (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    shift_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    signed_up_at {t.timestamp} NOT NULL,
    signed_up_by TEXT NOT NULL,
    withdrawn_at {t.timestamp},
    hours_hundredths BIGINT,
    confirmed_at {t.timestamp},
    confirmed_by TEXT,
    PRIMARY KEY (community_id, shift_id, member_id),
    CHECK (hours_hundredths IS NULL OR hours_hundredths > 0),
    FOREIGN KEY (community_id, shift_id) REFERENCES volunteer_shifts (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX volunteer_signups_by_member ON volunteer_signups (community_id, member_id);

CREATE TABLE smile_photos (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    member_id BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    caption TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at {t.timestamp} NOT NULL,
    decided_at {t.timestamp},
    decided_by TEXT,
    reason TEXT,
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX smile_photos_by_status ON smile_photos (community_id, status, decided_at, id);
CREATE INDEX smile_photos_by_member ON smile_photos (community_id, member_id);
CREATE INDEX smile_photos_by_media ON smile_photos (community_id, sha256);
""")
