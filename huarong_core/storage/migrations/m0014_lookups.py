"""Two lookups that grew with a rush.

- `rsvps_by_seq`: a new RSVP or walk-in takes the gathering's next place in
  line, `MAX(seq)` over its RSVPs. `rsvps_queue` leads with the status, so
  that maximum read every RSVP of the gathering: at an activity day with a
  thousand walk-ins, each check-in read all the earlier ones. Now it is one
  index probe.
- `audit_log_by_action`: wrong check-in, link and sign-in codes are counted
  from the audit log's last quarter hour. Through `audit_log_by_time` that
  meant every entry of the quarter hour, whatever its action; now only the
  entries of the action counted.
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    await conn.execute_script("""
CREATE INDEX rsvps_by_seq ON rsvps (community_id, gathering_id, seq);
CREATE INDEX audit_log_by_action ON audit_log (community_id, action, at);
""")
