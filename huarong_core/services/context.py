"""What a handler sees: repositories, the community, who acts, and the time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from huarong_core.domain.audit import Actor
from huarong_core.domain.communities import Community
from huarong_core.domain.members import Member
from huarong_core.domain.roles import Permission, RoleGrant, Scope, permits
from huarong_core.errors import InvalidValue, PermissionDenied
from huarong_core.events import Event
from huarong_core.storage.unit_of_work import Repositories, UnitOfWork


@attrs.define
class Context:
    repos: Repositories
    community: Community
    actor: Actor
    grants: tuple[RoleGrant, ...]
    now: datetime
    memo: dict[str, Any] = attrs.field(factory=dict)
    """Settings read once per unit of work (a batch of activities reads rules once)."""
    prepared: Any = None
    """What the command's `prepare` step returned (`registry.handles`), if it has one."""
    acting: Member | None = None
    """The acting member as the unit found them when it began (active, or it would not
    have run); not refreshed by the unit's own changes."""

    def can(self, permission: Permission, scope: Scope | None = None) -> bool:
        """System actors (the operator's CLI, the config loader) may do anything."""
        if self.actor.is_system:
            return True
        return permits(self.grants, permission, scope if scope is not None else Scope.community())

    def can_anywhere(self, permission: Permission) -> bool:
        return self.actor.is_system or permits(self.grants, permission, None)

    def require(self, permission: Permission, scope: Scope | None = None) -> None:
        if not self.can(permission, scope):
            where = scope if scope is not None else Scope.community()
            raise PermissionDenied(permission=permission.value, scope=str(where))

    def target_member(self, member_id: int | None) -> int:
        """`member_id`, or the acting member when it is `None` (a system actor must name one)."""
        chosen = member_id if member_id is not None else self.actor.member_id
        if chosen is None:
            raise InvalidValue(field="member", value="-", reason="member_required")
        return chosen

    def require_anywhere(self, permission: Permission) -> None:
        if not self.can_anywhere(permission):
            raise PermissionDenied(permission=permission.value, scope="*")

    @property
    def uow(self) -> UnitOfWork:
        if not isinstance(self.repos, UnitOfWork):
            raise RuntimeError("a query handler tried to write")
        return self.repos

    def record(self, event: Event) -> None:
        self.uow.record(event)

    async def audit(self, action: str, target: str, **details: Any) -> None:
        """Log an administrative change in the same transaction as the change."""
        await self.uow.audit.append(self.actor, action, target, details, self.now)
