"""The red-reading library: books, copies, loans, holds, donations, reflections.

Two partial unique indexes back the services' rules in the database itself:
one open loan per copy, and one open hold per member per book.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    await conn.execute_script(f"""
CREATE TABLE library_settings (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id),
    settings {t.json} NOT NULL
);

CREATE TABLE books (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    isbn TEXT,
    tags {t.json} NOT NULL,
    source TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    {t.auto_id_key}
);
CREATE UNIQUE INDEX books_by_isbn ON books (community_id, isbn) WHERE isbn IS NOT NULL;
CREATE INDEX books_by_title ON books (community_id, title);
{t.auto_id_unique("books")}

CREATE TABLE book_tags (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    tag TEXT NOT NULL,
    book_id BIGINT NOT NULL,
    PRIMARY KEY (community_id, tag, book_id),
    FOREIGN KEY (community_id, book_id) REFERENCES books (community_id, id)
);
CREATE INDEX book_tags_by_book ON book_tags (community_id, book_id);

CREATE TABLE book_copies (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    code TEXT NOT NULL,
    book_id BIGINT NOT NULL,
    location TEXT NOT NULL,
    status TEXT NOT NULL,
    held_for BIGINT,
    donor_id BIGINT,
    added_by TEXT NOT NULL,
    added_at {t.timestamp} NOT NULL,
    updated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, code),
    FOREIGN KEY (community_id, book_id) REFERENCES books (community_id, id),
    FOREIGN KEY (community_id, held_for) REFERENCES members (community_id, id),
    FOREIGN KEY (community_id, donor_id) REFERENCES members (community_id, id)
);
CREATE INDEX book_copies_by_book ON book_copies (community_id, book_id, status);

CREATE TABLE book_loans (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    copy_code TEXT NOT NULL,
    book_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    borrowed_at {t.timestamp} NOT NULL,
    due_at {t.timestamp} NOT NULL,
    returned_at {t.timestamp},
    renewals BIGINT NOT NULL DEFAULT 0,
    lent_by TEXT NOT NULL,
    returned_by TEXT,
    {t.auto_id_key},
    FOREIGN KEY (community_id, copy_code) REFERENCES book_copies (community_id, code),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX book_loans_open_copy ON book_loans (community_id, copy_code)
    WHERE returned_at IS NULL;
CREATE INDEX book_loans_by_member ON book_loans (community_id, member_id, returned_at);
CREATE INDEX book_loans_open_by_due ON book_loans (community_id, due_at) WHERE returned_at IS NULL;

CREATE TABLE book_holds (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    book_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    placed_at {t.timestamp} NOT NULL,
    copy_code TEXT,
    ready_at {t.timestamp},
    pickup_by {t.timestamp},
    closed_at {t.timestamp},
    {t.auto_id_key},
    FOREIGN KEY (community_id, book_id) REFERENCES books (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX book_holds_open ON book_holds (community_id, book_id, member_id)
    WHERE status IN ('waiting', 'ready');
CREATE INDEX book_holds_queue ON book_holds (community_id, book_id, status, id);
CREATE INDEX book_holds_by_member ON book_holds (community_id, member_id, status);

CREATE TABLE book_donations (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    book_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    copy_codes {t.json} NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at {t.timestamp} NOT NULL,
    {t.auto_id_key},
    FOREIGN KEY (community_id, book_id) REFERENCES books (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX book_donations_by_member ON book_donations (community_id, member_id);

CREATE TABLE reflections (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    book_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    revision BIGINT NOT NULL,
    submitted_at {t.timestamp} NOT NULL,
    decided_at {t.timestamp},
    decided_by TEXT,
    note TEXT NOT NULL,
    {t.auto_id_key},
    FOREIGN KEY (community_id, book_id) REFERENCES books (community_id, id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE UNIQUE INDEX reflections_one_per_book ON reflections (community_id, book_id, member_id);
CREATE INDEX reflections_by_status ON reflections (community_id, status, id);
{t.auto_id_unique("reflections")}

CREATE TABLE reflection_contests (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    {t.auto_id},
    title TEXT NOT NULL,
    opens_at {t.timestamp} NOT NULL,
    closes_at {t.timestamp} NOT NULL,
    created_by TEXT NOT NULL,
    created_at {t.timestamp} NOT NULL,
    {t.auto_id_key}
);
{t.auto_id_unique("reflection_contests")}

CREATE TABLE reflection_nominations (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    contest_id BIGINT NOT NULL,
    reflection_id BIGINT NOT NULL,
    nominated_by TEXT NOT NULL,
    nominated_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, contest_id, reflection_id),
    FOREIGN KEY (community_id, contest_id) REFERENCES reflection_contests (community_id, id),
    FOREIGN KEY (community_id, reflection_id) REFERENCES reflections (community_id, id)
);

CREATE TABLE reflection_votes (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    contest_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    reflection_id BIGINT NOT NULL,
    voted_at {t.timestamp} NOT NULL,
    PRIMARY KEY (community_id, contest_id, member_id),
    FOREIGN KEY (community_id, contest_id, reflection_id)
        REFERENCES reflection_nominations (community_id, contest_id, reflection_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members (community_id, id)
);
CREATE INDEX reflection_votes_by_entry
    ON reflection_votes (community_id, contest_id, reflection_id);
""")
