"""Storage of the volunteer team: tasks, shifts, sign-ups, confirmed hours; the smile wall."""

from __future__ import annotations

from huarong_core.storage.base import Connection


class VolunteeringRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
