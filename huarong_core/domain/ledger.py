"""Lines of the points ledger, as values: what was written, what to write, what waits.

The ledger itself is append-only: a line, once written, never changes.
"""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen
class LedgerEntry:
    """One immutable line of a member's points history."""

    id: int
    member_id: int
    delta: int
    kind: str
    reason: str
    occurred_at: datetime
    created_at: datetime
    actor: str
    rule_key: str | None = None
    trigger: str | None = None
    source_id: str | None = None
    target: str | None = None
    bonus: int = 0
    expires_at: datetime | None = None
    balance_after: int | None = None


@attrs.frozen
class NewEntry:
    member_id: int
    delta: int
    kind: str
    reason: str
    occurred_at: datetime
    actor_label: str
    actor_member_id: int | None = None
    rule_key: str | None = None
    trigger: str | None = None
    source_id: str | None = None
    target: str | None = None
    bonus: int = 0
    expires_at: datetime | None = None


@attrs.frozen
class PendingAward:
    id: int
    member_id: int
    rule_key: str
    trigger: str
    source_id: str
    target: str | None
    points: int
    occurred_at: datetime
    expires_at: datetime | None
    status: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    bonus: int = 0
    """The streak bonus within `points`."""
