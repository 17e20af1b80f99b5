"""Roles, scopes and permissions: who may do what, where."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.domain.roles import (
    ALLOWED_SCOPES,
    ROLE_PERMISSIONS,
    GrantSource,
    Permission,
    Role,
    RoleGrant,
    Scope,
    ScopeKind,
    check_scope_allowed,
    permits,
)
from huarong_core.domain.validation import KEY_PATTERN
from huarong_core.errors import InvalidValue

COMMUNITY = Scope.community()
STATION_A = Scope.station("station_a")
STATION_B = Scope.station("station_b")
CLUB_X = Scope.club("chess")


def grant(role: Role, scope: Scope = COMMUNITY, member_id: int = 1) -> RoleGrant:
    return RoleGrant(member_id=member_id, role=role, scope=scope)


# --- scopes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("community", Scope(ScopeKind.COMMUNITY)),
        ("station:huaying", Scope(ScopeKind.STATION, "huaying")),
        ("club:go-club_2", Scope(ScopeKind.CLUB, "go-club_2")),
        ("  station:huaying \n", Scope(ScopeKind.STATION, "huaying")),
    ],
)
def test_parse(text: str, scope: Scope) -> None:
    assert Scope.parse(text) == scope


def test_constructors_match_parse() -> None:
    assert Scope.community() == Scope.parse("community")
    assert Scope.station("a") == Scope.parse("station:a")
    assert Scope.club("a") == Scope.parse("club:a")
    assert Scope.station("a") != Scope.club("a")


def test_str() -> None:
    assert str(COMMUNITY) == "community"
    assert str(STATION_A) == "station:station_a"
    assert str(CLUB_X) == "club:chess"


SCOPES = st.one_of(
    st.just(Scope.community()),
    st.builds(
        Scope,
        st.sampled_from([ScopeKind.STATION, ScopeKind.CLUB]),
        st.from_regex(KEY_PATTERN, fullmatch=True),
    ),
)


@given(SCOPES)
def test_parse_round_trips_with_str(scope: Scope) -> None:
    assert Scope.parse(str(scope)) == scope
    assert str(Scope.parse(str(scope))) == str(scope)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "bad_scope"),
        ("everywhere", "bad_scope"),
        ("Community", "bad_scope"),
        ("community:huarong", "bad_scope"),
        ("station", "bad_scope"),
        ("station:", "bad_scope"),
        ("club", "bad_scope"),
        ("floor:29", "bad_scope"),
        (":huaying", "bad_scope"),
        ("station:Huaying", "bad_key"),
        ("station:hua ying", "bad_key"),
        ("club:1st", "bad_key"),
        ("station:a:b", "bad_key"),
    ],
)
def test_bad_scopes_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Scope.parse(text)
    assert caught.value.field == "scope"
    assert caught.value.reason == reason


def test_an_empty_key_after_community_is_tolerated() -> None:
    assert Scope.parse("community:") == COMMUNITY


def test_constructor_validates_too() -> None:
    with pytest.raises(InvalidValue):
        Scope(ScopeKind.COMMUNITY, "huarong")
    with pytest.raises(InvalidValue):
        Scope(ScopeKind.STATION, "")
    with pytest.raises(InvalidValue):
        Scope.club("Not A Key")


def test_community_covers_everything() -> None:
    for other in (COMMUNITY, STATION_A, STATION_B, CLUB_X, None):
        assert COMMUNITY.covers(other)


def test_a_station_covers_itself_and_anywhere_only() -> None:
    assert STATION_A.covers(STATION_A)
    assert STATION_A.covers(Scope.station("station_a"))
    assert STATION_A.covers(None)
    assert not STATION_A.covers(STATION_B)
    assert not STATION_A.covers(COMMUNITY)
    assert not STATION_A.covers(Scope.club("station_a"))


def test_a_club_covers_itself_and_anywhere_only() -> None:
    assert CLUB_X.covers(CLUB_X)
    assert CLUB_X.covers(None)
    assert not CLUB_X.covers(Scope.club("go"))
    assert not CLUB_X.covers(COMMUNITY)
    assert not CLUB_X.covers(Scope.station("chess"))


# --- permissions --------------------------------------------------------------


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("where", [None, COMMUNITY, STATION_A, STATION_B, CLUB_X])
def test_admin_may_do_everything_everywhere(permission: Permission, where: Scope | None) -> None:
    assert permits([grant(Role.ADMIN)], permission, where)


STAFF_PERMISSIONS = frozenset(
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
)


@pytest.mark.parametrize("permission", sorted(STAFF_PERMISSIONS))
def test_station_staff_work_anywhere_and_at_their_station(permission: Permission) -> None:
    """Station staff look members up, run points, the shop and reports; nothing else."""
    staff = [grant(Role.STATION_STAFF, STATION_A)]
    assert permits(staff, permission, None)
    assert permits(staff, permission, STATION_A)
    assert not permits(staff, permission, STATION_B)
    assert not permits(staff, permission, COMMUNITY)


def test_station_staff_may_not_manage_members() -> None:
    staff = [grant(Role.STATION_STAFF, STATION_A)]
    for permission in set(Permission) - STAFF_PERMISSIONS:
        for where in (None, COMMUNITY, STATION_A):
            assert not permits(staff, permission, where), (permission, where)


def test_community_wide_station_staff_covers_every_station() -> None:
    staff = [grant(Role.STATION_STAFF, COMMUNITY)]
    for where in (None, COMMUNITY, STATION_A, STATION_B, CLUB_X):
        assert permits(staff, Permission.VIEW_MEMBERS, where)
    assert not permits(staff, Permission.MANAGE_MEMBERS, STATION_A)


def test_a_station_grant_does_not_cover_another_station() -> None:
    staff = [grant(Role.STATION_STAFF, STATION_A)]
    assert not permits(staff, Permission.VIEW_MEMBERS, STATION_B)


def test_club_leader_views_members() -> None:
    leader = [grant(Role.CLUB_LEADER, CLUB_X)]
    assert permits(leader, Permission.VIEW_MEMBERS, None)
    assert permits(leader, Permission.VIEW_MEMBERS, CLUB_X)
    assert not permits(leader, Permission.VIEW_MEMBERS, Scope.club("go"))
    assert not permits(leader, Permission.MANAGE_ROLES, CLUB_X)


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.MEMBER, Role.GUEST])
@pytest.mark.parametrize("permission", list(Permission))
def test_plain_roles_carry_no_permission(role: Role, permission: Permission) -> None:
    assert not permits([grant(role)], permission, None)
    assert not permits([grant(role)], permission, COMMUNITY)


@pytest.mark.parametrize("permission", list(Permission))
def test_no_grants_no_permission(permission: Permission) -> None:
    assert not permits([], permission, None)


def test_any_grant_is_enough() -> None:
    grants = [grant(Role.GUEST), grant(Role.STATION_STAFF, STATION_B), grant(Role.MEMBER)]
    assert permits(grants, Permission.VIEW_MEMBERS, STATION_B)
    assert not permits(grants, Permission.VIEW_MEMBERS, STATION_A)


def test_permits_accepts_any_iterable() -> None:
    assert permits(iter([grant(Role.ADMIN)]), Permission.VIEW_AUDIT, None)
    assert permits((g for g in [grant(Role.ADMIN)]), Permission.VIEW_AUDIT, STATION_A)


def test_every_role_has_permissions_and_scopes_listed() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(ALLOWED_SCOPES) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert all(ALLOWED_SCOPES[role] for role in Role)


def test_grant_defaults() -> None:
    made = grant(Role.MEMBER)
    assert made.source is GrantSource.MANUAL
    assert made.granted_at is None
    assert made.granted_by == ""


# --- where a role may be given ------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, {ScopeKind.COMMUNITY}),
        (Role.STATION_STAFF, {ScopeKind.COMMUNITY, ScopeKind.STATION}),
        (Role.CLUB_LEADER, {ScopeKind.CLUB}),
        (Role.VOLUNTEER, {ScopeKind.COMMUNITY, ScopeKind.STATION, ScopeKind.CLUB}),
        (Role.MEMBER, {ScopeKind.COMMUNITY, ScopeKind.CLUB}),
        (Role.GUEST, {ScopeKind.COMMUNITY}),
    ],
)
def test_check_scope_allowed(role: Role, allowed: set[ScopeKind]) -> None:
    samples = {ScopeKind.COMMUNITY: COMMUNITY, ScopeKind.STATION: STATION_A, ScopeKind.CLUB: CLUB_X}
    for kind, scope in samples.items():
        if kind in allowed:
            check_scope_allowed(role, scope)
        else:
            with pytest.raises(InvalidValue) as caught:
                check_scope_allowed(role, scope)
            assert caught.value.reason == "scope_not_allowed"
            assert caught.value.field == "scope"
            assert caught.value.value == f"{role}@{scope}"


def test_club_leader_only_in_a_club_and_admin_only_community_wide() -> None:
    check_scope_allowed(Role.CLUB_LEADER, CLUB_X)
    check_scope_allowed(Role.ADMIN, COMMUNITY)
    for scope in (COMMUNITY, STATION_A):
        with pytest.raises(InvalidValue):
            check_scope_allowed(Role.CLUB_LEADER, scope)
    for scope in (STATION_A, CLUB_X):
        with pytest.raises(InvalidValue):
            check_scope_allowed(Role.ADMIN, scope)


# --- properties ---------------------------------------------------------------

SMALL_SCOPES = st.sampled_from(
    [COMMUNITY, STATION_A, STATION_B, CLUB_X, Scope.club("go"), Scope.station("chess")]
)
GRANTS = st.lists(
    st.builds(RoleGrant, st.integers(1, 3), st.sampled_from(list(Role)), SMALL_SCOPES),
    max_size=5,
)
TARGETS = st.none() | SMALL_SCOPES


@given(GRANTS, GRANTS, st.sampled_from(list(Permission)), TARGETS)
def test_adding_grants_never_removes_a_permission(
    grants: list[RoleGrant], more: list[RoleGrant], permission: Permission, where: Scope | None
) -> None:
    if permits(grants, permission, where):
        assert permits(grants + more, permission, where)
        assert permits(more + grants, permission, where)


@given(GRANTS, st.sampled_from(list(Permission)), SMALL_SCOPES)
def test_permitted_in_a_scope_means_permitted_anywhere(
    grants: list[RoleGrant], permission: Permission, where: Scope
) -> None:
    if permits(grants, permission, where):
        assert permits(grants, permission, None)


@given(GRANTS, st.sampled_from(list(Permission)), TARGETS)
def test_permits_is_the_union_of_single_grants(
    grants: list[RoleGrant], permission: Permission, where: Scope | None
) -> None:
    assert permits(grants, permission, where) == any(
        permits([one], permission, where) for one in grants
    )
