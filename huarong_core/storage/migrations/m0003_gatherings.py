"""Gatherings: clubs and their chats, venues and bookings, salons, sessions and events,
RSVPs with waitlists, check-in and feedback, contests, challenges, and persisted timers."""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE clubs (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    description {t.json},
    station TEXT,
    join_policy TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key)
);

CREATE TABLE club_members (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    club_key TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    requested_at {t.timestamp} NOT NULL,
    decided_at {t.timestamp},
    decided_by TEXT,
    PRIMARY KEY (community_id, club_key, member_id),
    FOREIGN KEY (community_id, club_key) REFERENCES clubs (community_id, key),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX club_members_by_member ON club_members (community_id, member_id);

CREATE TABLE club_chats (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    platform TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    club_key TEXT NOT NULL,
    bound_by TEXT NOT NULL,
    bound_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, platform, chat_id),
    FOREIGN KEY (community_id, club_key) REFERENCES clubs (community_id, key)
);
CREATE INDEX club_chats_by_club ON club_chats (community_id, club_key);

CREATE TABLE venues (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    capacity BIGINT NOT NULL,
    equipment {t.json} NOT NULL,
    station TEXT,
    floor TEXT,
    source TEXT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key)
);

CREATE TABLE venue_bookings (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    venue_key TEXT NOT NULL,
    starts_at {t.timestamp} NOT NULL,
    ends_at {t.timestamp} NOT NULL,
    status TEXT NOT NULL,
    purpose TEXT NOT NULL,
    holder TEXT,
    series TEXT,
    booked_by TEXT NOT NULL,
    booked_by_member BIGINT,
    created_at {t.timestamp} NOT NULL,
    cancelled_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, venue_key) REFERENCES venues (community_id, key)
);
CREATE INDEX venue_bookings_by_time ON venue_bookings (community_id, venue_key, starts_at)
    WHERE status = 'confirmed';
CREATE INDEX venue_bookings_by_holder ON venue_bookings (community_id, holder);
CREATE INDEX venue_bookings_by_series ON venue_bookings (community_id, series);

CREATE TABLE salons (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    key TEXT NOT NULL,
    name {t.json} NOT NULL,
    description {t.json},
    organizer TEXT NOT NULL,
    club_key TEXT,
    station TEXT,
    venue_key TEXT,
    capacity BIGINT,
    rrule TEXT NOT NULL,
    first_day TEXT NOT NULL,
    start_time TEXT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    until_day TEXT,
    tags {t.json} NOT NULL,
    enabled BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, key)
);

CREATE TABLE gatherings (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    kind TEXT NOT NULL,
    event_type TEXT NOT NULL,
    salon_key TEXT,
    occurrence {t.timestamp},
    event_key TEXT,
    title {t.json} NOT NULL,
    description {t.json},
    topic TEXT,
    speaker TEXT,
    organizer TEXT NOT NULL,
    club_key TEXT,
    station TEXT,
    venue_key TEXT,
    capacity BIGINT,
    starts_at {t.timestamp} NOT NULL,
    ends_at {t.timestamp} NOT NULL,
    status TEXT NOT NULL,
    checkin_code TEXT NOT NULL,
    tags {t.json} NOT NULL,
    ranking TEXT NOT NULL,
    finalized_at {t.timestamp},
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    {t.auto_id_key}
);
CREATE UNIQUE INDEX gatherings_occurrence ON gatherings (community_id, salon_key, occurrence)
    WHERE salon_key IS NOT NULL;
CREATE UNIQUE INDEX gatherings_event_key ON gatherings (community_id, event_key)
    WHERE event_key IS NOT NULL;
CREATE INDEX gatherings_by_time ON gatherings (community_id, starts_at);
{t.auto_id_unique("gatherings")}

CREATE TABLE rsvps (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    seq BIGINT NOT NULL,
    responded_at {t.timestamp} NOT NULL,
    checked_in_at {t.timestamp},
    checked_in_by TEXT,
    attendance TEXT,
    PRIMARY KEY (community_id, gathering_id, member_id),
    FOREIGN KEY (community_id, gathering_id) REFERENCES gatherings (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX rsvps_queue ON rsvps (community_id, gathering_id, status, seq);
CREATE INDEX rsvps_by_member ON rsvps (community_id, member_id);

CREATE TABLE gathering_feedback (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    rating BIGINT NOT NULL,
    comment TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, gathering_id, member_id),
    FOREIGN KEY (community_id, gathering_id) REFERENCES gatherings (community_id, id)
);

CREATE TABLE contest_scores (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    entrant TEXT NOT NULL,
    score TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    entered_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, gathering_id, entrant),
    FOREIGN KEY (community_id, gathering_id) REFERENCES gatherings (community_id, id)
);

CREATE TABLE challenge_teams (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    gathering_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    completed_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, gathering_id) REFERENCES gatherings (community_id, id)
);
CREATE UNIQUE INDEX challenge_teams_by_name ON challenge_teams (community_id, gathering_id, name);

CREATE TABLE challenge_team_members (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    joined_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, gathering_id, member_id)
);
CREATE INDEX challenge_team_members_by_team ON challenge_team_members (community_id, team_id);

CREATE TABLE checkpoints (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (community_id, gathering_id, seq),
    FOREIGN KEY (community_id, gathering_id) REFERENCES gatherings (community_id, id)
);
CREATE UNIQUE INDEX checkpoints_by_code ON checkpoints (community_id, gathering_id, code);

CREATE TABLE checkpoint_visits (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    gathering_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    visited_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, gathering_id, team_id, seq)
);

CREATE TABLE gathering_settings (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id),
    settings {t.json} NOT NULL
);

CREATE TABLE timers (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at {t.timestamp} NOT NULL,
    payload {t.json} NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at {t.timestamp} NOT NULL,
    fired_at {t.timestamp},
    {t.auto_id_key}
);
CREATE UNIQUE INDEX timers_by_key ON timers (community_id, key);
CREATE INDEX timers_due ON timers (community_id, status, due_at);
""")
