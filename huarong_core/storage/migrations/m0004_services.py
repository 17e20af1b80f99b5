"""The service catalogue of each station, service requests and their workflow.

Stations gain their opening hours and lead. A request keeps a copy of what
it was asked under (station, affair, SLA target) so later catalogue edits do
not rewrite history or metrics; its thread holds every step, reply and note.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
ALTER TABLE stations ADD COLUMN hours {t.json};
ALTER TABLE stations ADD COLUMN lead TEXT;

CREATE TABLE services (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    station TEXT NOT NULL,
    name {t.json} NOT NULL,
    description {t.json},
    affair TEXT NOT NULL,
    open_to {t.json} NOT NULL,
    form {t.json} NOT NULL,
    sla_hours BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key),
    FOREIGN KEY (community_id, station) REFERENCES stations (community_id, key)
);
CREATE INDEX services_by_station ON services (community_id, station);

CREATE TABLE service_requests (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    service_key TEXT NOT NULL,
    station TEXT NOT NULL,
    affair TEXT NOT NULL,
    requester_id BIGINT NOT NULL,
    organization_id BIGINT,
    answers {t.json} NOT NULL,
    state TEXT NOT NULL,
    assignee_id BIGINT,
    sla_hours BIGINT NOT NULL,
    due_at {t.timestamp} NOT NULL,
    submitted_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    accepted_at {t.timestamp},
    first_resolved_at {t.timestamp},
    resolved_at {t.timestamp},
    closed_at {t.timestamp},
    reopen_count BIGINT NOT NULL DEFAULT 0,
    visit_at {t.timestamp},
    sla_breached_at {t.timestamp},
    rating BIGINT,
    rating_comment TEXT,
    rated_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, service_key) REFERENCES services (community_id, key),
    FOREIGN KEY (community_id, requester_id) REFERENCES members (community_id, id),
    FOREIGN KEY (community_id, assignee_id) REFERENCES members (community_id, id)
);
CREATE INDEX service_requests_queue ON service_requests (community_id, station, state, id);
CREATE INDEX service_requests_by_requester ON service_requests (community_id, requester_id, id);
CREATE INDEX service_requests_by_assignee ON service_requests (community_id, assignee_id, id);
CREATE INDEX service_requests_by_time ON service_requests (community_id, submitted_at);
{t.auto_id_unique("service_requests")}

CREATE TABLE service_request_entries (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    request_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at {t.timestamp} NOT NULL,
    author TEXT NOT NULL,
    author_id BIGINT,
    body TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    assignee_id BIGINT,
    visit_at {t.timestamp},
    internal BOOLEAN NOT NULL,
    {t.auto_id_key},
    FOREIGN KEY (community_id, request_id) REFERENCES service_requests (community_id, id)
);
CREATE INDEX service_request_entries_by_request
    ON service_request_entries (community_id, request_id, id);
""")
