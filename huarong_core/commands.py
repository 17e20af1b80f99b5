"""The whole feature surface, as frozen messages.

Every adapter does what it does by building one of these and handing it to
`CommunityHandle.execute`. A `Command` changes state and runs in a unit of
work; a `Query` only reads. Both are generic in their result type, so
`await handle.execute(RegisterMember(...))` is typed as returning a
`Member`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.members import Identity, Member, MemberStatus
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Role, RoleGrant, Scope
from huarong_core.errors import Problem

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Command(Generic[R]):
    """A request to change something; its handler returns an `R`."""

    __slots__ = ()


class Query(Command[R]):
    """A request to read something; runs on a read snapshot, changes nothing."""

    __slots__ = ()


def _page_size(value: int) -> int:
    return max(1, min(int(value), MAX_PAGE_SIZE))


@attrs.frozen
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


# --- organizations ---------------------------------------------------------


@attrs.frozen
class RegisterOrganization(Command[Organization]):
    name: str
    key: str | None = None
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool = False


@attrs.frozen
class UpdateOrganization(Command[Organization]):
    """Change the given fields; `None` leaves a field as it is."""

    organization_id: int
    name: str | None = None
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool | None = None


@attrs.frozen
class GetOrganization(Query[Organization]):
    organization_id: int


@attrs.frozen
class ListOrganizations(Query[Page[Organization]]):
    query: str | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=_page_size)


# --- members ----------------------------------------------------------------


@attrs.frozen
class MemberProfile:
    """A member with what belongs to them: organization, identities, roles."""

    member: Member
    organization: Organization | None
    identities: tuple[Identity, ...]
    grants: tuple[RoleGrant, ...]


@attrs.frozen
class RegisterMember(Command[Member]):
    display_name: str
    key: str | None = None
    categories: frozenset[str] = frozenset()
    organization_id: int | None = None
    locale: str | None = None


@attrs.frozen
class UpdateMember(Command[Member]):
    """Change the given fields; `None` leaves a field as it is."""

    member_id: int
    display_name: str | None = None
    categories: frozenset[str] | None = None
    organization_id: int | None = None
    locale: str | None = None


@attrs.frozen
class SetMemberStatus(Command[Member]):
    member_id: int
    status: MemberStatus
    reason: str = ""


@attrs.frozen
class GetMember(Query[MemberProfile]):
    member_id: int


@attrs.frozen
class FindMemberByIdentity(Query[MemberProfile]):
    platform: str
    external_id: str


@attrs.frozen
class ListMembers(Query[Page[Member]]):
    organization_id: int | None = None
    category: str | None = None
    status: MemberStatus | None = None
    query: str | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=_page_size)


# --- identities ---------------------------------------------------------------


@attrs.frozen
class LinkIdentity(Command[Identity]):
    """Link a platform account to a member (a member may link their own)."""

    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class UnlinkIdentity(Command[Identity]):
    platform: str
    external_id: str


# --- roles ----------------------------------------------------------------------


@attrs.frozen
class GrantRole(Command[RoleGrant]):
    member_id: int
    role: Role
    scope: Scope = attrs.field(factory=Scope.community)


@attrs.frozen
class RevokeRole(Command[RoleGrant]):
    member_id: int
    role: Role
    scope: Scope = attrs.field(factory=Scope.community)


@attrs.frozen
class ListRoleGrants(Query[tuple[RoleGrant, ...]]):
    member_id: int | None = None


# --- audit ------------------------------------------------------------------------


@attrs.frozen
class ListAuditEntries(Query[tuple[AuditEntry, ...]]):
    """Newest first; pass the last id seen as `before_id` for the next page."""

    action: str | None = None
    before_id: int | None = None
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=_page_size)


# --- bulk import ------------------------------------------------------------------


@attrs.frozen
class OrganizationRow:
    """One CSV row as written; the import service judges every value."""

    line: int
    name: str
    key: str = ""
    floor: str = ""
    industry: str = ""
    has_party_branch: str = ""


@attrs.frozen
class MemberRow:
    line: int
    name: str
    key: str = ""
    organization: str = ""
    categories: str = ""
    locale: str = ""
    identities: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ImportReport:
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: tuple[Problem, ...]
    applied: bool


@attrs.frozen
class ImportOrganizations(Command[ImportReport]):
    """Create or update organizations, matched by key, else by name.

    All-or-nothing unless `partial`: then good rows are kept and bad ones
    reported. An empty cell leaves an existing value as it is.
    """

    source: str
    rows: tuple[OrganizationRow, ...]
    partial: bool = False


@attrs.frozen
class ImportMembers(Command[ImportReport]):
    """Create or update members, matched by key, else by name within their organization."""

    source: str
    rows: tuple[MemberRow, ...]
    partial: bool = False
