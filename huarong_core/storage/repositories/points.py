"""Points: rules, the ledger, balances and season scores, lots, pending awards."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.domain.ledger import LedgerEntry, NewEntry, PendingAward
from huarong_core.domain.points import Lot
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads
from huarong_core.storage.repositories._helpers import placeholders


@attrs.frozen
class StoredRule:
    key: str
    definition: dict[str, Any]
    source: str
    enabled: bool


def _entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        delta=int(row["delta"]),
        kind=row["kind"],
        reason=row["reason"],
        occurred_at=as_datetime(row["occurred_at"]),
        created_at=as_datetime(row["created_at"]),
        actor=row["actor_label"],
        rule_key=row["rule_key"],
        trigger=row["trigger"],
        source_id=row["source_id"],
        target=row["target"],
        bonus=int(row["bonus"]),
        expires_at=as_optional_datetime(row["expires_at"]),
        balance_after=None if row.get("balance_after") is None else int(row["balance_after"]),
    )


def _pending(row: Row) -> PendingAward:
    return PendingAward(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        rule_key=row["rule_key"],
        trigger=row["trigger"],
        source_id=row["source_id"],
        target=row["target"],
        points=int(row["points"]),
        occurred_at=as_datetime(row["occurred_at"]),
        expires_at=as_optional_datetime(row["expires_at"]),
        status=row["status"],
        created_at=as_datetime(row["created_at"]),
        decided_by=row["decided_by"],
        decided_at=as_optional_datetime(row["decided_at"]),
        note=row["note"],
        bonus=int(row["bonus"]),
    )


_INSERT = (
    "INSERT INTO ledger (community_id, member_id, delta, bonus, kind, rule_key, trigger,"
    " source_id, target, reason, actor_label, actor_member_id, occurred_at, created_at,"
    " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)
PLAIN_INSERT = _INSERT + " RETURNING id"
ONCE_INSERT = _INSERT + " ON CONFLICT (community_id, source_id, rule_key) DO NOTHING RETURNING id"


class PointsRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- settings and rules -----------------------------------------------------------

    async def season_length(self) -> str:
        value = await self._conn.fetchval(
            "SELECT season FROM points_settings WHERE community_id = $1", self._cid
        )
        return str(value or "quarter")

    async def set_season_length(self, season: str) -> None:
        await self._conn.execute(
            "INSERT INTO points_settings (community_id, season) VALUES ($1, $2)"
            " ON CONFLICT (community_id) DO UPDATE SET season = excluded.season",
            self._cid,
            season,
        )

    async def rules(self) -> list[StoredRule]:
        rows = await self._conn.fetch(
            "SELECT key, definition, source, enabled FROM points_rules WHERE community_id = $1"
            " ORDER BY key",
            self._cid,
        )
        return [
            StoredRule(r["key"], loads(r["definition"]), r["source"], bool(r["enabled"]))
            for r in rows
        ]

    async def enabled_rules_for(self, trigger: str) -> tuple[list[str], str]:
        """The stored definitions (JSON text) of the enabled rules of one trigger, and the
        season length, in one query (this is every activity's first read).

        The text is returned as stored so the caller can cache its parsing.
        """
        rows = await self._conn.fetch(
            "SELECT definition, (SELECT season FROM points_settings s"
            " WHERE s.community_id = $1) AS season FROM points_rules"
            " WHERE community_id = $1 AND trigger = $2 AND enabled ORDER BY key",
            self._cid,
            trigger,
        )
        season = str(rows[0]["season"] or "quarter") if rows else "quarter"
        return [str(r["definition"]) for r in rows], season

    async def save_rule(
        self,
        key: str,
        trigger: str,
        definition: dict[str, Any],
        source: str,
        enabled: bool,
        now: datetime,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO points_rules (community_id, key, trigger, definition, source, enabled,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (community_id, key)"
            " DO UPDATE SET trigger = excluded.trigger, definition = excluded.definition,"
            " source = excluded.source, enabled = excluded.enabled,"
            " updated_at = excluded.updated_at",
            self._cid,
            key,
            trigger,
            dumps(definition),
            source,
            enabled,
            now,
        )

    # --- exactly once ----------------------------------------------------------------

    async def already_awarded(self, rule_key: str, source_id: str) -> bool:
        """Whether this rule already answered this source event (awarded or pending)."""
        row = await self._conn.fetchrow(
            "SELECT 1 AS x FROM ledger WHERE community_id = $1 AND rule_key = $2"
            " AND source_id = $3 UNION ALL SELECT 1 AS x FROM pending_awards"
            " WHERE community_id = $1 AND rule_key = $2 AND source_id = $3",
            self._cid,
            rule_key,
            source_id,
        )
        return row is not None

    # --- history for caps, cooldowns, targets and streaks ------------------------------

    async def usage(
        self, member_id: int, rule_key: str, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """(awards, base points) of a rule for a member in [start, end), pending included."""
        row = await self._conn.fetchrow(
            "SELECT COUNT(*) AS n, COALESCE(SUM(p), 0) AS points FROM ("
            " SELECT delta - bonus AS p FROM ledger WHERE community_id = $1 AND member_id = $2"
            " AND rule_key = $3 AND kind = 'award' AND occurred_at >= $4 AND occurred_at < $5"
            " UNION ALL SELECT points - bonus AS p FROM pending_awards WHERE community_id = $1"
            " AND member_id = $2 AND rule_key = $3 AND status = 'pending'"
            " AND occurred_at >= $4 AND occurred_at < $5) AS used",
            self._cid,
            member_id,
            rule_key,
            start,
            end,
        )
        assert row is not None
        return int(row["n"]), int(row["points"])

    async def last_award_at(self, member_id: int, rule_key: str) -> datetime | None:
        value = await self._conn.fetchval(
            "SELECT MAX(at) AS last FROM (SELECT MAX(occurred_at) AS at FROM ledger"
            " WHERE community_id = $1 AND member_id = $2 AND rule_key = $3 AND kind = 'award'"
            " UNION ALL SELECT MAX(occurred_at) AS at FROM pending_awards WHERE community_id = $1"
            " AND member_id = $2 AND rule_key = $3 AND status = 'pending') AS times",
            self._cid,
            member_id,
            rule_key,
        )
        return as_optional_datetime(value)

    async def target_awarded(self, member_id: int, rule_key: str, target: str) -> bool:
        row = await self._conn.fetchrow(
            "SELECT 1 AS x FROM ledger WHERE community_id = $1 AND member_id = $2"
            " AND rule_key = $3 AND target = $4 AND kind = 'award'"
            " UNION ALL SELECT 1 AS x FROM pending_awards WHERE community_id = $1"
            " AND member_id = $2 AND rule_key = $3 AND target = $4 AND status = 'pending'",
            self._cid,
            member_id,
            rule_key,
            target,
        )
        return row is not None

    async def award_times(
        self, member_id: int, rule_key: str, since: datetime
    ) -> list[tuple[datetime, int]]:
        """(occurred_at, bonus) of a rule's awards to a member since `since`, oldest first.

        Pending awards count, as they do for caps: a bonus waiting for approval
        has still ended the run.
        """
        rows = await self._conn.fetch(
            "SELECT occurred_at, bonus FROM ledger WHERE community_id = $1 AND member_id = $2"
            " AND rule_key = $3 AND kind = 'award' AND occurred_at >= $4"
            " UNION ALL SELECT occurred_at, bonus FROM pending_awards WHERE community_id = $1"
            " AND member_id = $2 AND rule_key = $3 AND status = 'pending' AND occurred_at >= $4"
            " ORDER BY occurred_at",
            self._cid,
            member_id,
            rule_key,
            since,
        )
        return [(as_datetime(r["occurred_at"]), int(r["bonus"])) for r in rows]

    # --- the ledger ----------------------------------------------------------------------

    async def append(self, entry: NewEntry, now: datetime, *, once: bool = False) -> int | None:
        """Append a line; with `once`, None when the rule already answered that source."""
        entry_id = await self._conn.fetchval(
            ONCE_INSERT if once else PLAIN_INSERT,
            self._cid,
            entry.member_id,
            entry.delta,
            entry.bonus,
            entry.kind,
            entry.rule_key,
            entry.trigger,
            entry.source_id,
            entry.target,
            entry.reason,
            entry.actor_label,
            entry.actor_member_id,
            entry.occurred_at,
            now,
            entry.expires_at,
        )
        return None if entry_id is None else int(entry_id)

    async def statement(
        self, member_id: int, *, before_id: int | None, limit: int
    ) -> list[LedgerEntry]:
        """Newest first, each with the balance after it."""
        rows = await self._conn.fetch(
            "SELECT * FROM (SELECT l.*, SUM(delta) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING)"
            " AS balance_after FROM ledger l WHERE community_id = $1 AND member_id = $2) AS s"
            " WHERE ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
            self._cid,
            member_id,
            before_id or 0,
            limit,
        )
        return [_entry(r) for r in rows]

    async def entry(self, entry_id: int) -> LedgerEntry | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM ledger WHERE community_id = $1 AND id = $2", self._cid, entry_id
        )
        return None if row is None else _entry(row)

    async def manual_entry(self, member_id: int, source_id: str) -> LedgerEntry | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM ledger WHERE community_id = $1 AND member_id = $2"
            " AND kind = 'manual' AND source_id = $3",
            self._cid,
            member_id,
            source_id,
        )
        return None if row is None else _entry(row)

    async def entries_between(self, start: datetime, end: datetime) -> list[LedgerEntry]:
        rows = await self._conn.fetch(
            "SELECT * FROM ledger WHERE community_id = $1 AND occurred_at >= $2"
            " AND occurred_at < $3 ORDER BY id",
            self._cid,
            start,
            end,
        )
        return [_entry(r) for r in rows]

    async def sums(self) -> dict[int, tuple[int, int]]:
        """Per member: (sum of every delta, sum of score-counting deltas) from the ledger."""
        rows = await self._conn.fetch(
            "SELECT member_id, SUM(delta) AS total,"
            " SUM(CASE WHEN kind IN ('award', 'manual') THEN delta ELSE 0 END) AS score"
            " FROM ledger WHERE community_id = $1 GROUP BY member_id",
            self._cid,
        )
        return {int(r["member_id"]): (int(r["total"]), int(r["score"])) for r in rows}

    # --- balances and scores -------------------------------------------------------------

    async def balance(self, member_id: int) -> int:
        value = await self._conn.fetchval(
            "SELECT balance FROM balances WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )
        return int(value or 0)

    async def add_to_balance(
        self, member_id: int, delta: int, score_delta: int, now: datetime
    ) -> None:
        score = await self._conn.fetchval(
            "INSERT INTO balances (community_id, member_id, balance, score, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, member_id) DO UPDATE SET"
            " balance = balances.balance + excluded.balance,"
            " score = balances.score + excluded.score, updated_at = excluded.updated_at"
            " RETURNING score",
            self._cid,
            member_id,
            delta,
            score_delta,
            now,
        )
        if score_delta:
            await self.move_in_score_counts({int(score) - score_delta: -1, int(score): 1})

    async def move_in_score_counts(self, changes: dict[int, int]) -> None:
        """Keep `score_counts` (members per all-time score) in step with `balances`.

        A rank is then a sum over the distinct scores above, however many
        members there are. Score 0 is not counted (it is not on the board).
        """
        rows = sorted((score, n) for score, n in changes.items() if score != 0 and n != 0)
        if not rows:
            return
        await self._conn.executemany(
            "INSERT INTO score_counts (community_id, score, members) VALUES ($1, $2, $3)"
            " ON CONFLICT (community_id, score) DO UPDATE"
            " SET members = score_counts.members + excluded.members",
            [(self._cid, score, n) for score, n in rows],
        )

    async def score_counts(self) -> dict[int, int]:
        rows = await self._conn.fetch(
            "SELECT score, members FROM score_counts WHERE community_id = $1 AND members <> 0",
            self._cid,
        )
        return {int(r["score"]): int(r["members"]) for r in rows}

    async def spend(self, member_id: int, amount: int, now: datetime) -> bool:
        """Take `amount` from the balance unless that would drive it below zero (atomic)."""
        row = await self._conn.fetchrow(
            "UPDATE balances SET balance = balance - $3, updated_at = $4"
            " WHERE community_id = $1 AND member_id = $2 AND balance >= $3 RETURNING balance",
            self._cid,
            member_id,
            amount,
            now,
        )
        return row is not None

    async def balance_and_score(self, member_id: int) -> tuple[int, int]:
        row = await self._conn.fetchrow(
            "SELECT balance, score FROM balances WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )
        return (0, 0) if row is None else (int(row["balance"]), int(row["score"]))

    async def season_totals(self) -> dict[int, int]:
        rows = await self._conn.fetch(
            "SELECT member_id, SUM(score) AS total FROM season_scores WHERE community_id = $1"
            " GROUP BY member_id",
            self._cid,
        )
        return {int(r["member_id"]): int(r["total"]) for r in rows}

    async def balances_of(self, member_ids: Sequence[int]) -> dict[int, int]:
        """Balances of some members (a company's people), without reading everyone's."""
        found: dict[int, int] = {}
        unique = sorted(set(member_ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await self._conn.fetch(
                "SELECT member_id, balance FROM balances WHERE community_id = $1"
                f" AND member_id IN ({placeholders(2, len(chunk))})",
                self._cid,
                *chunk,
            )
            found.update({int(r["member_id"]): int(r["balance"]) for r in rows})
        return found

    async def all_balances(self) -> dict[int, tuple[int, int]]:
        rows = await self._conn.fetch(
            "SELECT member_id, balance, score FROM balances WHERE community_id = $1", self._cid
        )
        return {int(r["member_id"]): (int(r["balance"]), int(r["score"])) for r in rows}

    async def add_to_season(self, season: str, member_id: int, delta: int) -> None:
        await self._conn.execute(
            "INSERT INTO season_scores (community_id, season, member_id, score)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, season, member_id) DO UPDATE"
            " SET score = season_scores.score + excluded.score",
            self._cid,
            season,
            member_id,
            delta,
        )

    # --- lots: positive awards that still hold points, for oldest-first expiry -------------

    async def add_lot(
        self,
        entry_id: int,
        member_id: int,
        earned_at: datetime,
        expires_at: datetime | None,
        points: int,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO point_lots (community_id, entry_id, member_id, earned_at, expires_at,"
            " remaining) VALUES ($1, $2, $3, $4, $5, $6)",
            self._cid,
            entry_id,
            member_id,
            earned_at,
            expires_at,
            points,
        )

    async def open_lots(self, member_id: int) -> list[Lot]:
        rows = await self._conn.fetch(
            "SELECT entry_id, earned_at, expires_at, remaining FROM point_lots"
            " WHERE community_id = $1 AND member_id = $2 AND remaining > 0",
            self._cid,
            member_id,
        )
        return [
            Lot(
                int(r["entry_id"]),
                as_datetime(r["earned_at"]),
                int(r["remaining"]),
                as_optional_datetime(r["expires_at"]),
            )
            for r in rows
        ]

    async def take_from_lots(self, taken: Sequence[tuple[int, int]]) -> None:
        await self._conn.executemany(
            "UPDATE point_lots SET remaining = remaining - $3"
            " WHERE community_id = $1 AND entry_id = $2",
            [(self._cid, entry_id, amount) for entry_id, amount in taken],
        )

    async def return_to_lots(self, taken: Sequence[tuple[int, int]]) -> None:
        """Give back what a spend took (a cancelled redemption), each lot its own part."""
        await self._conn.executemany(
            "UPDATE point_lots SET remaining = remaining + $3"
            " WHERE community_id = $1 AND entry_id = $2",
            [(self._cid, entry_id, amount) for entry_id, amount in taken],
        )

    async def members_with_due_lots(self, now: datetime) -> list[int]:
        rows = await self._conn.fetch(
            "SELECT DISTINCT member_id FROM point_lots WHERE community_id = $1"
            " AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $2",
            self._cid,
            now,
        )
        return [int(r["member_id"]) for r in rows]

    async def lots_total(self) -> dict[int, int]:
        rows = await self._conn.fetch(
            "SELECT member_id, SUM(remaining) AS held FROM point_lots WHERE community_id = $1"
            " GROUP BY member_id",
            self._cid,
        )
        return {int(r["member_id"]): int(r["held"]) for r in rows}

    # --- pending awards ----------------------------------------------------------------

    async def add_pending(
        self,
        *,
        member_id: int,
        rule_key: str,
        trigger: str,
        source_id: str,
        target: str | None,
        points: int,
        occurred_at: datetime,
        expires_at: datetime | None,
        now: datetime,
        bonus: int = 0,
    ) -> int:
        pending_id = await self._conn.fetchval(
            "INSERT INTO pending_awards (community_id, member_id, rule_key, trigger, source_id,"
            " target, points, occurred_at, expires_at, status, created_at, bonus)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) RETURNING id",
            self._cid,
            member_id,
            rule_key,
            trigger,
            source_id,
            target,
            points,
            occurred_at,
            expires_at,
            now,
            bonus,
        )
        return int(pending_id)

    async def pending(self, pending_id: int) -> PendingAward | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM pending_awards WHERE community_id = $1 AND id = $2",
            self._cid,
            pending_id,
        )
        return None if row is None else _pending(row)

    async def pending_list(self, status: str, limit: int) -> list[PendingAward]:
        rows = await self._conn.fetch(
            "SELECT * FROM pending_awards WHERE community_id = $1 AND status = $2"
            " ORDER BY id LIMIT $3",
            self._cid,
            status,
            limit,
        )
        return [_pending(r) for r in rows]

    async def decide_pending(
        self, pending_id: int, status: str, by: str, note: str | None, now: datetime
    ) -> bool:
        """Move a pending award to `status`; False if someone decided it first."""
        row = await self._conn.fetchrow(
            "UPDATE pending_awards SET status = $3, decided_by = $4, decided_at = $5, note = $6"
            " WHERE community_id = $1 AND id = $2 AND status = 'pending' RETURNING id",
            self._cid,
            pending_id,
            status,
            by,
            now,
            note,
        )
        return row is not None

    # --- leaderboards: read from maintained scores, never from the ledger ------------------

    def _board_source(self, board: str, key: str | None) -> tuple[str, list[object]]:
        """FROM/WHERE of a board over (member_id, score), with its arguments after $1."""
        if board == "season":
            return (
                "season_scores s JOIN members m ON m.community_id = s.community_id"
                " AND m.id = s.member_id WHERE s.community_id = $1 AND s.season = $2",
                [key],
            )
        base = (
            "balances s JOIN members m ON m.community_id = s.community_id"
            " AND m.id = s.member_id WHERE s.community_id = $1"
        )
        if board == "organization":
            return base + " AND m.organization_id = $2", [int(key or 0)]
        if board == "category":
            return (
                base + " AND EXISTS (SELECT 1 FROM member_categories c"
                " WHERE c.community_id = s.community_id AND c.member_id = s.member_id"
                " AND c.category_key = $2)",
                [key],
            )
        return base, []

    async def board(
        self, board: str, key: str | None, *, offset: int, limit: int
    ) -> list[tuple[int, int, str, int]]:
        """(rank, member_id, name, score), best first; equal scores share a rank (1, 2, 2, 4)."""
        source, extra = self._board_source(board, key)
        n = len(extra) + 2
        rows = await self._conn.fetch(
            f"SELECT s.member_id, s.score, m.display_name FROM {source} AND s.score <> 0"
            f" AND m.status = 'active' ORDER BY s.score DESC, s.member_id LIMIT ${n}"
            f" OFFSET ${n + 1}",
            self._cid,
            *extra,
            limit,
            offset,
        )
        result: list[tuple[int, int, str, int]] = []
        previous: tuple[int, int] | None = None
        for position, row in enumerate(rows):
            score = int(row["score"])
            if previous is not None and previous[1] == score:
                rank = previous[0]
            elif position == 0:
                rank = await self._rank_of_score(board, source, extra, score)
            else:
                rank = offset + position + 1
            previous = (rank, score)
            result.append((rank, int(row["member_id"]), row["display_name"], score))
        return result

    async def _rank_of_score(self, board: str, source: str, extra: list[object], score: int) -> int:
        """1 + the active members scoring more.

        On the whole-community boards (all time, season) this counts a range
        of the score index alone and takes away the few inactive members
        above, instead of looking every higher member up: a deep rank then
        costs a short index range, not a join per member.
        """
        n = len(extra) + 2
        # Driven from the (few) inactive members; CROSS JOIN keeps SQLite from
        # starting at the score index and looking every higher member up.
        score_table = "season_scores" if board == "season" else "balances"
        season_clause = " AND s.season = $3" if board == "season" else ""
        inactive_sql = (
            f"SELECT COUNT(*) AS n FROM members m CROSS JOIN {score_table} s"
            " WHERE m.community_id = $1 AND m.status <> 'active'"
            " AND s.community_id = m.community_id AND s.member_id = m.id"
            f" AND s.score > $2{season_clause}"
        )
        if board == "all":
            above = await self._conn.fetchval(
                "SELECT COALESCE(SUM(members), 0) AS n FROM score_counts"
                " WHERE community_id = $1 AND score > $2",
                self._cid,
                score,
            )
        elif board == "season":
            above = await self._conn.fetchval(
                "SELECT COUNT(*) AS n FROM season_scores WHERE community_id = $1"
                " AND season = $2 AND score > $3",
                self._cid,
                *extra,
                score,
            )
        else:
            higher = await self._conn.fetchval(
                f"SELECT COUNT(*) AS n FROM {source} AND s.score > ${n} AND m.status = 'active'",
                self._cid,
                *extra,
                score,
            )
            return int(higher) + 1
        inactive = await self._conn.fetchval(inactive_sql, self._cid, score, *extra)
        return int(above) - int(inactive) + 1

    async def rank(
        self, board: str, key: str | None, member_id: int
    ) -> tuple[int, int, str, int] | None:
        source, extra = self._board_source(board, key)
        n = len(extra) + 2
        row = await self._conn.fetchrow(
            f"SELECT s.member_id, s.score, m.display_name, m.status FROM {source}"
            f" AND s.member_id = ${n}",
            self._cid,
            *extra,
            member_id,
        )
        if row is None or int(row["score"]) == 0 or row["status"] != "active":
            return None
        score = int(row["score"])
        return (
            await self._rank_of_score(board, source, extra, score),
            member_id,
            row["display_name"],
            score,
        )

    # --- many awards at once (the batched path of plain rules) --------------------------

    async def facts_of(self, member_ids: Sequence[int]) -> dict[int, tuple[str, frozenset[str]]]:
        found: dict[int, tuple[str, set[str]]] = {}
        unique = sorted(set(member_ids))
        select = (
            "SELECT m.id, m.status, c.category_key FROM members m"
            " LEFT JOIN member_categories c"
            " ON c.community_id = m.community_id AND c.member_id = m.id"
            " WHERE m.community_id = $1 AND m.id"
        )
        if self._conn.dialect == "postgres":  # one prepared statement for any number
            batches = [await self._conn.fetch(f"{select} = ANY($2::bigint[])", self._cid, unique)]
        else:
            batches = [
                await self._conn.fetch(
                    f"{select} IN ({placeholders(2, len(chunk))})", self._cid, *chunk
                )
                for chunk in (unique[i : i + 500] for i in range(0, len(unique), 500))
            ]
        for rows in batches:
            for r in rows:
                _, categories = found.setdefault(int(r["id"]), (r["status"], set()))
                if r["category_key"]:
                    categories.add(r["category_key"])
        return {k: (status, frozenset(c)) for k, (status, c) in found.items()}

    async def awarded_sources(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(rule_key, source_id) -> ledger id, for the pairs already in the ledger.

        Asked per rule, so each lookup is a range of the exactly-once index.
        (SQLite's batched path; PostgreSQL learns the same from its insert.)
        """
        by_rule: dict[str, set[str]] = {}
        for rule_key, source_id in pairs:
            by_rule.setdefault(rule_key, set()).add(source_id)
        found: dict[tuple[str, str], int] = {}
        for rule_key, sources in sorted(by_rule.items()):
            unique = sorted(sources)
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                rows = await self._conn.fetch(
                    "SELECT id, source_id FROM ledger WHERE community_id = $1"
                    f" AND rule_key = $2 AND source_id IN ({placeholders(3, len(chunk))})",
                    self._cid,
                    rule_key,
                    *chunk,
                )
                for r in rows:
                    found[(rule_key, r["source_id"])] = int(r["id"])
        return found

    async def insert_awards(
        self, entries: Sequence[NewEntry], now: datetime
    ) -> dict[tuple[str, str], int]:
        """Insert award lines once each; (rule_key, source_id) -> id of the lines written.

        A line whose source the rule already answered is not written and not
        returned. PostgreSQL does it in one statement over arrays; SQLite
        (one writer, no round trips) looks the sources up, inserts the new
        lines with one `executemany`, and reads their ids back.
        """
        if self._conn.dialect == "postgres":
            rows = await self._conn.fetch(
                "INSERT INTO ledger (community_id, member_id, delta, bonus, kind, rule_key,"
                " trigger, source_id, target, reason, actor_label, actor_member_id,"
                " occurred_at, created_at, expires_at)"
                " SELECT $1, u.m, u.d, u.b, u.k, u.r, u.t, u.s, u.g, u.e, u.a, u.am, u.o, $2, u.x"
                " FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],"
                " $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[],"
                " $14::timestamptz[], $15::timestamptz[])"
                " AS u(m, d, b, k, r, t, s, g, e, a, am, o, x)"
                " ON CONFLICT (community_id, source_id, rule_key) DO NOTHING"
                " RETURNING id, rule_key, source_id",
                self._cid,
                now,
                [e.member_id for e in entries],
                [e.delta for e in entries],
                [e.bonus for e in entries],
                [e.kind for e in entries],
                [e.rule_key for e in entries],
                [e.trigger for e in entries],
                [e.source_id for e in entries],
                [e.target for e in entries],
                [e.reason for e in entries],
                [e.actor_label for e in entries],
                [e.actor_member_id for e in entries],
                [e.occurred_at for e in entries],
                [e.expires_at for e in entries],
            )
            return {(r["rule_key"], r["source_id"]): int(r["id"]) for r in rows}
        keys = [(e.rule_key or "", e.source_id or "") for e in entries]
        earlier = await self.awarded_sources(keys)
        new = [e for e, key in zip(entries, keys, strict=True) if key not in earlier]
        if not new:
            return {}
        await self._conn.executemany(
            PLAIN_INSERT.removesuffix(" RETURNING id"),
            [
                (
                    self._cid,
                    e.member_id,
                    e.delta,
                    e.bonus,
                    e.kind,
                    e.rule_key,
                    e.trigger,
                    e.source_id,
                    e.target,
                    e.reason,
                    e.actor_label,
                    e.actor_member_id,
                    e.occurred_at,
                    now,
                    e.expires_at,
                )
                for e in new
            ],
        )
        return await self.awarded_sources([(e.rule_key or "", e.source_id or "") for e in new])

    async def add_earnings(
        self, deltas: dict[int, int], seasons: dict[tuple[str, int], int], now: datetime
    ) -> None:
        """Positive earnings for several members: balance and score, the members-per-score
        counts, and each (season, member)'s season score.

        Rows are written in sorted order, one lock order for every batch, so
        concurrent batches wait for one another instead of deadlocking.
        PostgreSQL does it all in one statement (one round trip); SQLite, with
        no round trips to save, in plain statements.
        """
        members = sorted(deltas)
        keys = sorted(seasons)
        if self._conn.dialect == "postgres":
            await self._conn.execute(
                "WITH d AS (SELECT u.m, u.d FROM unnest($3::bigint[], $4::bigint[]) AS u(m, d)),"
                " up AS (INSERT INTO balances (community_id, member_id, balance, score,"
                " updated_at) SELECT $1, d.m, d.d, d.d, $2 FROM d ORDER BY d.m"
                " ON CONFLICT (community_id, member_id) DO UPDATE SET"
                " balance = balances.balance + excluded.balance,"
                " score = balances.score + excluded.score, updated_at = excluded.updated_at"
                " RETURNING member_id, score),"
                " moves AS (SELECT up.score AS s, 1 AS n FROM up UNION ALL"
                " SELECT up.score - d.d, -1 FROM up JOIN d ON d.m = up.member_id),"
                " net AS (SELECT s, sum(n)::bigint AS n FROM moves WHERE s <> 0 GROUP BY s"
                " HAVING sum(n) <> 0),"
                " counted AS (INSERT INTO score_counts (community_id, score, members)"
                " SELECT $1, s, n FROM net ORDER BY s ON CONFLICT (community_id, score)"
                " DO UPDATE SET members = score_counts.members + excluded.members)"
                " INSERT INTO season_scores (community_id, season, member_id, score)"
                " SELECT $1, u.s, u.m, u.d FROM unnest($5::text[], $6::bigint[], $7::bigint[])"
                " AS u(s, m, d) ORDER BY u.s, u.m ON CONFLICT (community_id, season, member_id)"
                " DO UPDATE SET score = season_scores.score + excluded.score",
                self._cid,
                now,
                members,
                [deltas[m] for m in members],
                [k[0] for k in keys],
                [k[1] for k in keys],
                [seasons[k] for k in keys],
            )
            return
        await self._conn.executemany(
            "INSERT INTO balances (community_id, member_id, balance, score, updated_at)"
            " VALUES ($1, $2, $3, $3, $4) ON CONFLICT (community_id, member_id) DO UPDATE SET"
            " balance = balances.balance + excluded.balance,"
            " score = balances.score + excluded.score, updated_at = excluded.updated_at",
            [(self._cid, member_id, deltas[member_id], now) for member_id in members],
        )
        scores: dict[int, int] = {}
        for start in range(0, len(members), 500):
            chunk = members[start : start + 500]
            rows = await self._conn.fetch(
                "SELECT member_id, score FROM balances WHERE community_id = $1"
                f" AND member_id IN ({placeholders(2, len(chunk))})",
                self._cid,
                *chunk,
            )
            scores.update({int(r["member_id"]): int(r["score"]) for r in rows})
        changes: dict[int, int] = defaultdict(int)
        for member, delta in deltas.items():
            changes[scores[member] - delta] -= 1
            changes[scores[member]] += 1
        await self.move_in_score_counts(changes)
        await self._conn.executemany(
            "INSERT INTO season_scores (community_id, season, member_id, score)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, season, member_id) DO UPDATE"
            " SET score = season_scores.score + excluded.score",
            [(self._cid, season, member, seasons[(season, member)]) for season, member in keys],
        )

    async def add_lots(self, lots: Sequence[tuple[int, int, datetime, datetime, int]]) -> None:
        await self._conn.executemany(
            "INSERT INTO point_lots (community_id, entry_id, member_id, earned_at, expires_at,"
            " remaining) VALUES ($1, $2, $3, $4, $5, $6)",
            [(self._cid, *lot) for lot in lots],
        )
