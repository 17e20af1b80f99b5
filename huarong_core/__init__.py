"""Huarong: run a community (a building, campus, park or co-working space).

The public API is what this module exports; everything else is internal
and may change between releases. Nothing connects or runs at import.
"""

from __future__ import annotations

from huarong_core._version import __version__
from huarong_core.app import CommunityHandle, Delivery, Huarong
from huarong_core.clock import Clock, SystemClock
from huarong_core.commands import (
    Command,
    FindMemberByIdentity,
    GetMember,
    GetOrganization,
    GrantRole,
    ImportMembers,
    ImportOrganizations,
    ImportReport,
    LinkIdentity,
    ListAuditEntries,
    ListMembers,
    ListOrganizations,
    ListRoleGrants,
    MemberProfile,
    MemberRow,
    OrganizationRow,
    Page,
    Query,
    RegisterMember,
    RegisterOrganization,
    RevokeRole,
    SetMemberStatus,
    UnlinkIdentity,
    UpdateMember,
    UpdateOrganization,
)
from huarong_core.config import CommunityConfig, load_config, parse_config
from huarong_core.domain.audit import Actor, AuditEntry
from huarong_core.domain.communities import Category, Community, Station
from huarong_core.domain.members import Identity, IdentityRef, Member, MemberStatus
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Permission, Role, RoleGrant, Scope, ScopeKind
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import HuarongError
from huarong_core.services.configuration import LoadReport

__all__ = [
    "Actor",
    "AuditEntry",
    "Category",
    "Clock",
    "Command",
    "Community",
    "CommunityConfig",
    "CommunityHandle",
    "Delivery",
    "FindMemberByIdentity",
    "GetMember",
    "GetOrganization",
    "GrantRole",
    "Huarong",
    "HuarongError",
    "Identity",
    "IdentityRef",
    "ImportMembers",
    "ImportOrganizations",
    "ImportReport",
    "LinkIdentity",
    "ListAuditEntries",
    "ListMembers",
    "ListOrganizations",
    "ListRoleGrants",
    "LoadReport",
    "LocalizedText",
    "Member",
    "MemberProfile",
    "MemberRow",
    "MemberStatus",
    "Organization",
    "OrganizationRow",
    "Page",
    "Permission",
    "Query",
    "RegisterMember",
    "RegisterOrganization",
    "RevokeRole",
    "Role",
    "RoleGrant",
    "Scope",
    "ScopeKind",
    "SetMemberStatus",
    "Station",
    "SystemClock",
    "UnlinkIdentity",
    "UpdateMember",
    "UpdateOrganization",
    "__version__",
    "load_config",
    "parse_config",
]
