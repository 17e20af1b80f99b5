"""A member's own rows found through the member, not through the whole community.

Without statistics SQLite's planner prefers an index that already yields
rows in the query's order over one that narrows them further: a member's
identities (`ORDER BY platform, external_id`) were read through the primary
key, every identity of the community, because `identities_by_member` named
the member but not the order. Every chat message looks its sender up with
their identities and honours, so each message read all of them: ~0.3 ms
per message at 3,000 members, and growing with the building.

The indexes below lead with what the query fixes and end with what it orders
by, so the narrow index is also the ordered one, whatever the statistics
say (PostgreSQL, which keeps statistics, uses them the same way):

- identities, club memberships, RSVPs, station subscriptions and aid
  cases (as staff) of one member;
- honours of one member (newest first);
- redemptions of one member (newest first);
- the chats bound to one club, and the copies of one book by code;
- reflections on one book or by one member, and service requests in one
  state (the queue across stations), in id order.

A member's upcoming gatherings and shifts are read from the member's RSVPs and
sign-ups first (`CROSS JOIN`), and gatherings asked for by id are fetched by
id and ordered afterwards (a time window, its own matter, is migration 16).

Each replaces a shorter index it begins with, where there was one.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    await conn.execute_script("""
DROP INDEX identities_by_member;
CREATE INDEX identities_by_member ON identities (community_id, member_id, platform, external_id);
DROP INDEX club_members_by_member;
CREATE INDEX club_members_by_member ON club_members (community_id, member_id, club_key);
DROP INDEX station_subscriptions_by_member;
CREATE INDEX station_subscriptions_by_member
    ON station_subscriptions (community_id, member_id, station_key);
CREATE INDEX honours_by_member ON honours (community_id, member_id, starts_on DESC, id);
CREATE INDEX redemptions_of_member ON redemptions (community_id, member_id, id);
DROP INDEX club_chats_by_club;
CREATE INDEX club_chats_by_club ON club_chats (community_id, club_key, platform, chat_id);
CREATE INDEX book_copies_in_order ON book_copies (community_id, book_id, code);
DROP INDEX aid_case_staff_by_member;
CREATE INDEX aid_case_staff_by_member ON aid_case_staff (community_id, member_id, case_id);
CREATE INDEX reflections_by_book ON reflections (community_id, book_id, id);
CREATE INDEX reflections_by_member ON reflections (community_id, member_id, id);
CREATE INDEX service_requests_by_state ON service_requests (community_id, state, id);
DROP INDEX rsvps_by_member;
CREATE INDEX rsvps_by_member ON rsvps (community_id, member_id, gathering_id);
""")
