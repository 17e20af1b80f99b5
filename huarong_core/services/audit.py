"""Reading the audit log."""

from __future__ import annotations

from huarong_core.commands import ListAuditEntries
from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.roles import Permission
from huarong_core.services.context import Context
from huarong_core.services.registry import handles


@handles(ListAuditEntries)
async def list_audit_entries(ctx: Context, cmd: ListAuditEntries) -> tuple[AuditEntry, ...]:
    ctx.require(Permission.VIEW_AUDIT)
    entries = await ctx.repos.audit.page(
        action=cmd.action, before_id=cmd.before_id, limit=cmd.limit
    )
    return tuple(entries)
