"""Communities, organizations, members, identities, roles, audit log, outbox, deliveries."""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE id_counters (
    community_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (community_id, name)
);

CREATE TABLE communities (
    id BIGINT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name {t.json} NOT NULL,
    timezone TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL
);

CREATE TABLE categories (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (community_id, key)
);

CREATE TABLE stations (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    floor TEXT,
    description {t.json},
    position INTEGER NOT NULL,
    PRIMARY KEY (community_id, key)
);

CREATE TABLE organizations (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    id BIGINT NOT NULL,
    key TEXT,
    name TEXT NOT NULL,
    floor TEXT,
    industry TEXT,
    has_party_branch BOOLEAN NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, id),
    UNIQUE (community_id, key),
    UNIQUE (community_id, name)
);

CREATE TABLE members (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    id BIGINT NOT NULL,
    key TEXT,
    display_name TEXT NOT NULL,
    organization_id BIGINT,
    locale TEXT,
    status TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, id),
    UNIQUE (community_id, key),
    FOREIGN KEY (community_id, organization_id) REFERENCES organizations (community_id, id)
);
CREATE INDEX members_by_organization ON members (community_id, organization_id);
CREATE INDEX members_by_name ON members (community_id, display_name);
CREATE INDEX members_inactive ON members (community_id, id) WHERE status <> 'active';

CREATE TABLE member_categories (
    community_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    category_key TEXT NOT NULL,
    PRIMARY KEY (community_id, member_id, category_key),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id),
    FOREIGN KEY (community_id, category_key) REFERENCES categories (community_id, key)
);

CREATE TABLE identities (
    community_id BIGINT NOT NULL,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    linked_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, platform, external_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX identities_by_member ON identities (community_id, member_id);

CREATE TABLE role_grants (
    community_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    source TEXT NOT NULL,
    granted_at {t.timestamp} NOT NULL,
    granted_by TEXT NOT NULL,
    PRIMARY KEY (community_id, member_id, role, scope_kind, scope_key),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);

CREATE TABLE audit_log (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    at {t.timestamp} NOT NULL,
    actor_member_id BIGINT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details {t.json} NOT NULL,
    {t.auto_id_key}
);
CREATE INDEX audit_log_by_time ON audit_log (community_id, at);

CREATE TABLE outbox (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    kind TEXT NOT NULL,
    payload {t.json} NOT NULL,
    created_at {t.timestamp} NOT NULL,
    dispatched_at {t.timestamp},
    attempts INTEGER NOT NULL DEFAULT 0,
    {t.auto_id_key}
);
CREATE INDEX outbox_pending ON outbox (community_id, id) WHERE dispatched_at IS NULL;

CREATE TABLE deliveries (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    source TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    result {t.json},
    created_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, source, delivery_id)
)
""")
