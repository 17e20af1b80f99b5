"""Roles, the scopes they apply to, and the permissions they carry.

A grant gives one member one role in one scope: the whole community, one
station, or one club. A permission check names the scope it acts in; a
grant covers it when the grant is community-wide or names that very scope.
Checks whose scope is `None` ("anywhere") are covered by a grant in any
scope: station staff may look members up although members are not a
station's own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from huarong_core.domain.validation import require_key
from huarong_core.errors import InvalidValue


class Role(enum.StrEnum):
    ADMIN = "admin"
    STATION_STAFF = "station_staff"
    CLUB_LEADER = "club_leader"
    VOLUNTEER = "volunteer"
    MEMBER = "member"
    GUEST = "guest"


class ScopeKind(enum.StrEnum):
    COMMUNITY = "community"
    STATION = "station"
    CLUB = "club"


class Permission(enum.StrEnum):
    MANAGE_COMMUNITY = "manage_community"
    MANAGE_ORGANIZATIONS = "manage_organizations"
    MANAGE_MEMBERS = "manage_members"
    VIEW_MEMBERS = "view_members"
    MANAGE_ROLES = "manage_roles"
    VIEW_AUDIT = "view_audit"
    MANAGE_IDENTITIES = "manage_identities"
    MANAGE_POINTS = "manage_points"
    MANAGE_SHOP = "manage_shop"
    VIEW_REPORTS = "view_reports"
    GRANT_HONOURS = "grant_honours"
    MANAGE_CLUBS = "manage_clubs"
    """Create and change clubs."""
    LEAD_CLUBS = "lead_clubs"
    """Approve join requests, announce, bind chats: a leader in their own club."""
    MANAGE_GATHERINGS = "manage_gatherings"
    """Run salons and events: schedule, move, cancel, check members in, enter scores."""
    MANAGE_VENUES = "manage_venues"
    BOOK_VENUES = "book_venues"
    HANDLE_REQUESTS = "handle_requests"
    """Work a station's service requests: accept, assign, reply, resolve."""
    MANAGE_SERVICES = "manage_services"
    """Define a station's service catalogue."""
    MANAGE_LIBRARY = "manage_library"
    MANAGE_VOLUNTEERING = "manage_volunteering"
    MODERATE_SMILE_WALL = "moderate_smile_wall"
    OPEN_AID_CASES = "open_aid_cases"
    """Open an aid case; reading one needs being named on it, whatever the role."""
    POST_ANNOUNCEMENTS = "post_announcements"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STATION_STAFF: frozenset(
        {
            Permission.VIEW_MEMBERS,
            Permission.MANAGE_POINTS,
            Permission.MANAGE_SHOP,
            Permission.VIEW_REPORTS,
            Permission.MANAGE_CLUBS,
            Permission.LEAD_CLUBS,
            Permission.MANAGE_GATHERINGS,
            Permission.MANAGE_VENUES,
            Permission.BOOK_VENUES,
            Permission.HANDLE_REQUESTS,
            Permission.MANAGE_SERVICES,
            Permission.MANAGE_LIBRARY,
            Permission.MANAGE_VOLUNTEERING,
            Permission.MODERATE_SMILE_WALL,
            Permission.OPEN_AID_CASES,
            Permission.POST_ANNOUNCEMENTS,
        }
    ),
    Role.CLUB_LEADER: frozenset(
        {
            Permission.VIEW_MEMBERS,
            Permission.LEAD_CLUBS,
            Permission.MANAGE_GATHERINGS,
            Permission.BOOK_VENUES,
            Permission.POST_ANNOUNCEMENTS,
        }
    ),
    Role.VOLUNTEER: frozenset(),
    Role.MEMBER: frozenset(),
    Role.GUEST: frozenset(),
}

ALLOWED_SCOPES: dict[Role, frozenset[ScopeKind]] = {
    Role.ADMIN: frozenset({ScopeKind.COMMUNITY}),
    Role.STATION_STAFF: frozenset({ScopeKind.COMMUNITY, ScopeKind.STATION}),
    Role.CLUB_LEADER: frozenset({ScopeKind.CLUB}),
    Role.VOLUNTEER: frozenset({ScopeKind.COMMUNITY, ScopeKind.STATION, ScopeKind.CLUB}),
    Role.MEMBER: frozenset({ScopeKind.COMMUNITY, ScopeKind.CLUB}),
    Role.GUEST: frozenset({ScopeKind.COMMUNITY}),
}


@attrs.frozen
class Scope:
    kind: ScopeKind
    key: str = ""

    def __attrs_post_init__(self) -> None:
        if self.kind is ScopeKind.COMMUNITY:
            if self.key:
                raise InvalidValue(field="scope", value=str(self), reason="bad_scope")
        else:
            require_key("scope", self.key)

    @classmethod
    def community(cls) -> Scope:
        return _WHOLE_COMMUNITY  # frozen, so one serves every caller

    @classmethod
    def station(cls, key: str) -> Scope:
        return cls(ScopeKind.STATION, key)

    @classmethod
    def club(cls, key: str) -> Scope:
        return cls(ScopeKind.CLUB, key)

    @classmethod
    def parse(cls, text: str) -> Scope:
        """`community`, `station:<key>` or `club:<key>`."""
        kind_text, _, key = text.strip().partition(":")
        try:
            kind = ScopeKind(kind_text)
        except ValueError:
            raise InvalidValue(field="scope", value=text, reason="bad_scope") from None
        if (kind is ScopeKind.COMMUNITY) != (key == ""):
            raise InvalidValue(field="scope", value=text, reason="bad_scope")
        return cls(kind, key)

    def covers(self, other: Scope | None) -> bool:
        return other is None or self.kind is ScopeKind.COMMUNITY or self == other

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.COMMUNITY else f"{self.kind}:{self.key}"


_WHOLE_COMMUNITY = Scope(ScopeKind.COMMUNITY)


class GrantSource(enum.StrEnum):
    """Where a grant came from: `config` grants follow the community file."""

    CONFIG = "config"
    MANUAL = "manual"


@attrs.frozen
class RoleGrant:
    member_id: int
    role: Role
    scope: Scope
    source: GrantSource = GrantSource.MANUAL
    granted_at: datetime | None = None
    granted_by: str = ""


def check_scope_allowed(role: Role, scope: Scope) -> None:
    if scope.kind not in ALLOWED_SCOPES[role]:
        raise InvalidValue(field="scope", value=f"{role}@{scope}", reason="scope_not_allowed")


def permits(grants: Iterable[RoleGrant], permission: Permission, scope: Scope | None) -> bool:
    """Whether any grant carries `permission` in a scope covering `scope`."""
    return any(
        permission in ROLE_PERMISSIONS[grant.role] and grant.scope.covers(scope) for grant in grants
    )
