"""Contest scores, challenge teams, checkpoints and visits.

Everything here is keyed by the gathering; the leaderboard reads four small
queries (teams with their counts, their members, their visits, the number of
checkpoints) and never touches the points ledger, so it stays cheap to poll.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import attrs

from huarong_core.commands.gatherings import ChallengeTeam, Checkpoint
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime
from huarong_core.storage.repositories._helpers import placeholders


@attrs.frozen
class StoredScore:
    entrant: str
    """`member:3` or `team:2`."""
    score: str
    entered_by: str
    entered_at: datetime


@attrs.frozen
class TeamStanding:
    """One team's raw progress: what the board is ordered by."""

    team: ChallengeTeam
    reached: tuple[int, ...]
    last_reached_at: datetime | None
    created_at: datetime


def _checkpoint(row: Row) -> Checkpoint:
    return Checkpoint(seq=int(row["seq"]), name=row["name"], code=row["code"])


class ContestRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- contests ------------------------------------------------------------

    async def lock(self, gathering_id: int) -> None:
        """Serialize score entry, finalizing and team changes of one gathering."""
        await self._conn.lock(f"contest:{self._cid}:{gathering_id}")

    async def lock_team(self, team_id: int) -> None:
        """Serialize the checkpoint visits of one team (completion happens once)."""
        await self._conn.lock(f"challenge_team:{self._cid}:{team_id}")

    async def score(self, gathering_id: int, entrant: str) -> StoredScore | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM contest_scores WHERE community_id = $1 AND gathering_id = $2"
            " AND entrant = $3",
            self._cid,
            gathering_id,
            entrant,
        )
        return None if row is None else _score(row)

    async def scores(self, gathering_id: int) -> list[StoredScore]:
        rows = await self._conn.fetch(
            "SELECT * FROM contest_scores WHERE community_id = $1 AND gathering_id = $2"
            " ORDER BY entrant",
            self._cid,
            gathering_id,
        )
        return [_score(r) for r in rows]

    async def save_score(
        self, gathering_id: int, entrant: str, score: str, by: str, now: datetime
    ) -> None:
        await self._conn.execute(
            "INSERT INTO contest_scores (community_id, gathering_id, entrant, score, entered_by,"
            " entered_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (community_id, gathering_id, entrant) DO UPDATE SET"
            " score = excluded.score, entered_by = excluded.entered_by,"
            " entered_at = excluded.entered_at",
            self._cid,
            gathering_id,
            entrant,
            score,
            by,
            now,
        )

    async def finalize(self, gathering_id: int, now: datetime) -> bool:
        """Set `finalized_at` once; False when it was already set (atomic)."""
        row = await self._conn.fetchrow(
            "UPDATE gatherings SET finalized_at = $3, updated_at = $3"
            " WHERE community_id = $1 AND id = $2 AND finalized_at IS NULL RETURNING id",
            self._cid,
            gathering_id,
            now,
        )
        return row is not None

    async def member_names(self, member_ids: Sequence[int]) -> dict[int, str]:
        if not member_ids:
            return {}
        rows = await self._conn.fetch(
            "SELECT id, display_name FROM members WHERE community_id = $1"
            f" AND id IN ({placeholders(2, len(member_ids))})",
            self._cid,
            *member_ids,
        )
        return {int(r["id"]): str(r["display_name"]) for r in rows}

    async def team_names(self, gathering_id: int) -> dict[int, str]:
        rows = await self._conn.fetch(
            "SELECT id, name FROM challenge_teams WHERE community_id = $1 AND gathering_id = $2",
            self._cid,
            gathering_id,
        )
        return {int(r["id"]): str(r["name"]) for r in rows}

    # --- teams ---------------------------------------------------------------

    async def create_team(self, gathering_id: int, name: str, now: datetime) -> int | None:
        """The new team's id; `None` when the gathering already has a team of that name."""
        value = await self._conn.fetchval(
            "INSERT INTO challenge_teams (community_id, gathering_id, name, created_at)"
            " VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (community_id, gathering_id, name) DO NOTHING RETURNING id",
            self._cid,
            gathering_id,
            name,
            now,
        )
        return None if value is None else int(value)

    async def team_named(self, gathering_id: int, name: str) -> int | None:
        """A team whose name equals `name` ignoring case."""
        value = await self._conn.fetchval(
            "SELECT id FROM challenge_teams WHERE community_id = $1 AND gathering_id = $2"
            " AND LOWER(name) = LOWER($3) ORDER BY id LIMIT 1",
            self._cid,
            gathering_id,
            name,
        )
        return None if value is None else int(value)

    async def add_member(
        self, gathering_id: int, team_id: int, member_id: int, now: datetime
    ) -> bool:
        """False when the member is already in a team of this gathering."""
        row = await self._conn.fetchrow(
            "INSERT INTO challenge_team_members (community_id, gathering_id, member_id, team_id,"
            " joined_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, gathering_id, member_id) DO NOTHING RETURNING team_id",
            self._cid,
            gathering_id,
            member_id,
            team_id,
            now,
        )
        return row is not None

    async def team_of(self, gathering_id: int, member_id: int) -> int | None:
        value = await self._conn.fetchval(
            "SELECT team_id FROM challenge_team_members WHERE community_id = $1"
            " AND gathering_id = $2 AND member_id = $3",
            self._cid,
            gathering_id,
            member_id,
        )
        return None if value is None else int(value)

    async def team(self, gathering_id: int, team_id: int) -> ChallengeTeam | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM challenge_teams WHERE community_id = $1 AND gathering_id = $2"
            " AND id = $3",
            self._cid,
            gathering_id,
            team_id,
        )
        if row is None:
            return None
        return ChallengeTeam(
            id=int(row["id"]),
            gathering_id=gathering_id,
            name=row["name"],
            members=await self.team_members(team_id),
            completed_at=as_optional_datetime(row["completed_at"]),
        )

    async def team_members(self, team_id: int) -> tuple[int, ...]:
        rows = await self._conn.fetch(
            "SELECT member_id FROM challenge_team_members WHERE community_id = $1"
            " AND team_id = $2 ORDER BY joined_at, member_id",
            self._cid,
            team_id,
        )
        return tuple(int(r["member_id"]) for r in rows)

    async def complete_team(self, team_id: int, now: datetime) -> bool:
        """Mark a team done once; False when it already was (atomic)."""
        row = await self._conn.fetchrow(
            "UPDATE challenge_teams SET completed_at = $3 WHERE community_id = $1 AND id = $2"
            " AND completed_at IS NULL RETURNING id",
            self._cid,
            team_id,
            now,
        )
        return row is not None

    async def standings(self, gathering_id: int) -> list[TeamStanding]:
        """Every team of the gathering with its members and reached checkpoints, unordered."""
        teams = await self._conn.fetch(
            "SELECT id, name, created_at, completed_at FROM challenge_teams"
            " WHERE community_id = $1 AND gathering_id = $2",
            self._cid,
            gathering_id,
        )
        members = await self._conn.fetch(
            "SELECT team_id, member_id FROM challenge_team_members WHERE community_id = $1"
            " AND gathering_id = $2 ORDER BY joined_at, member_id",
            self._cid,
            gathering_id,
        )
        visits = await self._conn.fetch(
            "SELECT team_id, seq, visited_at FROM checkpoint_visits WHERE community_id = $1"
            " AND gathering_id = $2 ORDER BY seq",
            self._cid,
            gathering_id,
        )
        by_team: dict[int, list[int]] = defaultdict(list)
        for r in members:
            by_team[int(r["team_id"])].append(int(r["member_id"]))
        reached: dict[int, list[int]] = defaultdict(list)
        last: dict[int, datetime] = {}
        for r in visits:
            team_id = int(r["team_id"])
            reached[team_id].append(int(r["seq"]))
            at = as_datetime(r["visited_at"])
            if team_id not in last or at > last[team_id]:
                last[team_id] = at
        return [
            TeamStanding(
                team=ChallengeTeam(
                    id=int(r["id"]),
                    gathering_id=gathering_id,
                    name=r["name"],
                    members=tuple(by_team[int(r["id"])]),
                    completed_at=as_optional_datetime(r["completed_at"]),
                ),
                reached=tuple(reached[int(r["id"])]),
                last_reached_at=last.get(int(r["id"])),
                created_at=as_datetime(r["created_at"]),
            )
            for r in teams
        ]

    # --- checkpoints ---------------------------------------------------------

    async def checkpoints(self, gathering_id: int) -> list[Checkpoint]:
        rows = await self._conn.fetch(
            "SELECT seq, name, code FROM checkpoints WHERE community_id = $1"
            " AND gathering_id = $2 ORDER BY seq",
            self._cid,
            gathering_id,
        )
        return [_checkpoint(r) for r in rows]

    async def checkpoint_count(self, gathering_id: int) -> int:
        value = await self._conn.fetchval(
            "SELECT COUNT(*) AS n FROM checkpoints WHERE community_id = $1 AND gathering_id = $2",
            self._cid,
            gathering_id,
        )
        return int(value)

    async def checkpoint_by_code(self, gathering_id: int, code: str) -> Checkpoint | None:
        """`code` as stored (the services keep codes upper-case)."""
        row = await self._conn.fetchrow(
            "SELECT seq, name, code FROM checkpoints WHERE community_id = $1"
            " AND gathering_id = $2 AND code = $3",
            self._cid,
            gathering_id,
            code,
        )
        return None if row is None else _checkpoint(row)

    async def add_checkpoints(
        self, gathering_id: int, checkpoints: Sequence[tuple[str, str]]
    ) -> list[Checkpoint]:
        """Append (name, code) pairs after the last checkpoint, numbering them on."""
        value = await self._conn.fetchval(
            "SELECT COALESCE(MAX(seq), 0) AS n FROM checkpoints WHERE community_id = $1"
            " AND gathering_id = $2",
            self._cid,
            gathering_id,
        )
        added: list[Checkpoint] = []
        for offset, (name, code) in enumerate(checkpoints, start=1):
            checkpoint = Checkpoint(seq=int(value) + offset, name=name, code=code)
            await self._conn.execute(
                "INSERT INTO checkpoints (community_id, gathering_id, seq, name, code)"
                " VALUES ($1, $2, $3, $4, $5)",
                self._cid,
                gathering_id,
                checkpoint.seq,
                checkpoint.name,
                checkpoint.code,
            )
            added.append(checkpoint)
        return added

    async def visit(
        self, gathering_id: int, team_id: int, seq: int, member_id: int, now: datetime
    ) -> bool:
        """Record a team at a checkpoint; False when it had been there already."""
        row = await self._conn.fetchrow(
            "INSERT INTO checkpoint_visits (community_id, gathering_id, team_id, seq, member_id,"
            " visited_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (community_id, gathering_id, team_id, seq) DO NOTHING RETURNING seq",
            self._cid,
            gathering_id,
            team_id,
            seq,
            member_id,
            now,
        )
        return row is not None


def _score(row: Row) -> StoredScore:
    return StoredScore(
        entrant=row["entrant"],
        score=row["score"],
        entered_by=row["entered_by"],
        entered_at=as_datetime(row["entered_at"]),
    )
