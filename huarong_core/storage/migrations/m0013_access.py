"""Access: web sign-in codes, members' passwords, API tokens.

`sign_in_codes` has the shape of `link_codes` (a code's SHA-256 only, ten
minutes, one use). `member_passwords` keeps one argon2 hash per member, in a
table of its own so that no member read ever carries it. `api_tokens` keeps
each token's SHA-256 (the token itself is shown once, when it is made),
its owner, name and scopes (space-separated), and when it ends or was
revoked; `last_used_at` is there for a caller that wants to record use.
Wrong sign-in codes and passwords are counted from the audit log, as link
codes are.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE sign_in_codes (
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
CREATE UNIQUE INDEX sign_in_codes_by_hash ON sign_in_codes (community_id, code_hash);
CREATE INDEX sign_in_codes_by_member ON sign_in_codes (community_id, member_id, created_at);

CREATE TABLE member_passwords (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    member_id BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    set_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, member_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);

CREATE TABLE api_tokens (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    member_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    expires_at {t.timestamp},
    revoked_at {t.timestamp},
    last_used_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (community_id, token_hash);
CREATE INDEX api_tokens_by_member ON api_tokens (community_id, member_id, id)
""")
