"""Storage of the service catalogue of each station, service requests and their workflow."""

from __future__ import annotations

from huarong_core.storage.base import Connection


class RequestRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
