"""The audit log: who did what to whom, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class Actor:
    """Whoever causes a change: a member, or the operator/system (CLI, config load)."""

    label: str
    member_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=f"system:{label}")

    @classmethod
    def member(cls, member_id: int, name: str) -> Actor:
        return cls(label=f"member:{member_id}:{name}", member_id=member_id)

    @property
    def is_system(self) -> bool:
        return self.member_id is None


@attrs.frozen
class AuditEntry:
    id: int
    at: datetime
    actor: Actor
    action: str
    target: str
    details: dict[str, Any] = attrs.field(factory=dict)
