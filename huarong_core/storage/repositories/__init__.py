"""Repositories: the SQL for each area, shared by both backends."""

from __future__ import annotations

from huarong_core.storage.repositories.audit import AuditRepository
from huarong_core.storage.repositories.communities import CommunityRepository
from huarong_core.storage.repositories.deliveries import DeliveryRepository, StoredOutcome
from huarong_core.storage.repositories.identities import IdentityRepository
from huarong_core.storage.repositories.members import MemberFilter, MemberRepository
from huarong_core.storage.repositories.organizations import OrganizationRepository
from huarong_core.storage.repositories.outbox import OutboxMessage, OutboxRepository
from huarong_core.storage.repositories.roles import RoleRepository

__all__ = [
    "AuditRepository",
    "CommunityRepository",
    "DeliveryRepository",
    "IdentityRepository",
    "MemberFilter",
    "MemberRepository",
    "OrganizationRepository",
    "OutboxMessage",
    "OutboxRepository",
    "RoleRepository",
    "StoredOutcome",
]
