"""Aid cases (帮扶): confidential records of help for members in difficulty.

The case content lives in these three tables only: audit entries name a
case by id, outbox events carry its id and the staff to tell, nothing else.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE aid_cases (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    member_id BIGINT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    closed_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
{t.auto_id_unique("aid_cases")}

CREATE TABLE aid_case_staff (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    case_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    named_at {t.timestamp} NOT NULL,
    named_by TEXT NOT NULL,
    PRIMARY KEY (community_id, case_id, member_id),
    FOREIGN KEY (community_id, case_id) REFERENCES aid_cases (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX aid_case_staff_by_member ON aid_case_staff (community_id, member_id);

CREATE TABLE aid_actions (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    case_id BIGINT NOT NULL,
    number BIGINT NOT NULL,
    taken_on TEXT NOT NULL,
    text TEXT NOT NULL,
    by_member BIGINT NOT NULL,
    recorded_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, case_id, number),
    FOREIGN KEY (community_id, case_id) REFERENCES aid_cases (community_id, id),
    FOREIGN KEY (community_id, by_member) REFERENCES members (community_id, id)
);
""")
