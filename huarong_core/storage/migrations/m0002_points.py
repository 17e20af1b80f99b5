"""Points: rules, the append-only ledger, balances, lots for expiry, the shop, honours."""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE points_settings (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id),
    season TEXT NOT NULL
);

CREATE TABLE points_rules (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    trigger TEXT NOT NULL,
    definition {t.json} NOT NULL,
    source TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key)
);
CREATE INDEX points_rules_by_trigger ON points_rules (community_id, trigger) WHERE enabled;

CREATE TABLE ledger (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    member_id BIGINT NOT NULL,
    delta BIGINT NOT NULL,
    bonus BIGINT NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    rule_key TEXT,
    trigger TEXT,
    source_id TEXT,
    target TEXT,
    reason TEXT NOT NULL,
    actor_label TEXT NOT NULL,
    actor_member_id BIGINT,
    occurred_at {t.timestamp} NOT NULL,
    created_at {t.timestamp} NOT NULL,
    expires_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX ledger_once_per_source ON ledger (community_id, source_id, rule_key);
CREATE INDEX ledger_by_rule ON ledger (community_id, member_id, rule_key, occurred_at);
CREATE INDEX ledger_by_time ON ledger (community_id, occurred_at);

CREATE TABLE pending_awards (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    member_id BIGINT NOT NULL,
    rule_key TEXT NOT NULL,
    trigger TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target TEXT,
    points BIGINT NOT NULL,
    bonus BIGINT NOT NULL DEFAULT 0,
    occurred_at {t.timestamp} NOT NULL,
    expires_at {t.timestamp},
    status TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    decided_by TEXT,
    decided_at {t.timestamp},
    note TEXT,
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX pending_once_per_source ON pending_awards (community_id, rule_key, source_id);
CREATE INDEX pending_by_status ON pending_awards (community_id, status, id);
CREATE INDEX pending_by_rule ON pending_awards (community_id, member_id, rule_key, occurred_at);

CREATE TABLE balances (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    member_id BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    score BIGINT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, member_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX balances_by_score ON balances (community_id, score DESC, member_id);

CREATE TABLE score_counts (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    score BIGINT NOT NULL,
    members BIGINT NOT NULL,
    PRIMARY KEY (community_id, score)
);

CREATE TABLE season_scores (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    season TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    score BIGINT NOT NULL,
    PRIMARY KEY (community_id, season, member_id)
);
CREATE INDEX season_scores_by_score ON season_scores (community_id, season, score DESC, member_id);

CREATE TABLE point_lots (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    entry_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    earned_at {t.timestamp} NOT NULL,
    expires_at {t.timestamp},
    remaining BIGINT NOT NULL,
    PRIMARY KEY (community_id, entry_id)
);
CREATE INDEX point_lots_open ON point_lots (community_id, member_id, expires_at)
    WHERE remaining > 0;
CREATE INDEX point_lots_due ON point_lots (community_id, expires_at) WHERE remaining > 0;

CREATE TABLE shop_items (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    description {t.json},
    category TEXT,
    price BIGINT NOT NULL,
    stock BIGINT NOT NULL,
    available_from {t.timestamp},
    available_until {t.timestamp},
    limit_count INTEGER,
    limit_period TEXT,
    station TEXT,
    enabled BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key),
    CHECK (stock >= 0),
    CHECK (price >= 0)
);

CREATE TABLE redemptions (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    item_key TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    points BIGINT NOT NULL,
    lots {t.json},
    status TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    decided_at {t.timestamp},
    decided_by TEXT,
    note TEXT,
    PRIMARY KEY (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id),
    FOREIGN KEY (community_id, item_key) REFERENCES shop_items (community_id, key)
);
CREATE INDEX redemptions_by_member ON redemptions (community_id, member_id, item_key, created_at);
CREATE INDEX redemptions_by_status ON redemptions (community_id, status, id);

CREATE TABLE honours (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title {t.json} NOT NULL,
    citation TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT,
    granted_by TEXT NOT NULL,
    granted_at {t.timestamp} NOT NULL,
    revoked_at {t.timestamp},
    PRIMARY KEY (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
)
""")
