"""Members, identities and roles, with the core's permission checks, on every backend."""

from __future__ import annotations

import pytest

from huarong_core import (
    FindMemberByIdentity,
    GetMember,
    GrantRole,
    LinkIdentity,
    ListAuditEntries,
    ListCategories,
    ListMembers,
    ListOrganizations,
    ListRoleGrants,
    MemberStatus,
    RegisterMember,
    RegisterOrganization,
    RevokeRole,
    Role,
    Scope,
    SetMemberStatus,
    UnlinkIdentity,
    UpdateMember,
    UpdateOrganization,
)
from huarong_core.domain.members import IdentityRef, Member
from huarong_core.domain.roles import RoleGrant
from huarong_core.errors import (
    AlreadyExists,
    DuplicateIdentity,
    InvalidValue,
    MemberInactive,
    NotFound,
    PermissionDenied,
)
from huarong_core.storage import Connection
from huarong_core.storage.unit_of_work import Repositories
from huarong_core.testing import snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for


async def test_register_member_validates_and_audits(community: Pair) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")
    orgs = await handle.execute(ListOrganizations(), actor=SYSTEM)
    member = await handle.execute(
        RegisterMember(
            "  王   芳 ",
            key="wangfang",
            categories=frozenset({"party_member", "employee"}),
            organization_id=orgs.items[0].id,
            locale="en",
        ),
        actor=admin,
    )
    assert member.display_name == "王 芳"
    assert member.categories == frozenset({"party_member", "employee"})
    assert member.status is MemberStatus.ACTIVE
    entries = await handle.execute(ListAuditEntries(action="member.register"), actor=SYSTEM)
    newest = entries[0]
    assert newest.target == f"member:{member.id}"
    assert newest.actor == admin


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (RegisterMember(""), InvalidValue),
        (RegisterMember("x" * 121), InvalidValue),
        (RegisterMember("Bob", categories=frozenset({"astronaut"})), InvalidValue),
        (RegisterMember("Bob", organization_id=999), NotFound),
        (RegisterMember("Bob", locale="fr"), InvalidValue),
        (RegisterMember("Bob", key="Not A Key"), InvalidValue),
        (RegisterMember("Bob", key="alice"), AlreadyExists),
    ],
)
async def test_bad_registrations_change_nothing(
    community: Pair, command: RegisterMember, error: type[Exception]
) -> None:
    huarong, handle = community
    before = await snapshot(huarong.db)
    with pytest.raises(error):
        await handle.execute(command, actor=SYSTEM)
    assert await snapshot(huarong.db) == before


async def test_member_ids_count_per_community(community: Pair) -> None:
    _, handle = community
    page = await handle.execute(ListMembers(), actor=SYSTEM)
    assert [m.id for m in page.items] == [1, 2, 3]
    created = await handle.execute(RegisterMember("Dora"), actor=SYSTEM)
    assert created.id == 4


async def test_list_members_filters_and_pages(community: Pair) -> None:
    _, handle = community
    for i in range(7):
        await handle.execute(RegisterMember(f"Person {i}"), actor=SYSTEM)
    first = await handle.execute(ListMembers(limit=4), actor=SYSTEM)
    assert first.total == 10
    assert len(first.items) == 4
    assert first.has_more
    rest = await handle.execute(ListMembers(offset=4, limit=50), actor=SYSTEM)
    assert [m.id for m in first.items + rest.items] == list(range(1, 11))
    assert not rest.has_more
    employees = await handle.execute(ListMembers(category="employee"), actor=SYSTEM)
    assert {m.key for m in employees.items} == {"staff", "alice"}
    searched = await handle.execute(ListMembers(query="person 1"), actor=SYSTEM)
    assert [m.display_name for m in searched.items] == ["Person 1"]
    wildcard = await handle.execute(ListMembers(query="%"), actor=SYSTEM)
    assert wildcard.total == 0


async def test_members_change_their_own_name_and_language_only(community: Pair) -> None:
    _, handle = community
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    renamed = await handle.execute(
        UpdateMember(alice.member_id, display_name="Alice Wang", locale="zh_CN"), actor=alice
    )
    assert renamed.display_name == "Alice Wang"
    assert renamed.locale == "zh_CN"
    with pytest.raises(PermissionDenied):
        await handle.execute(
            UpdateMember(alice.member_id, categories=frozenset({"party_member"})), actor=alice
        )
    admin = await actor_for(handle, "admin")
    assert admin.member_id is not None
    with pytest.raises(PermissionDenied):
        await handle.execute(UpdateMember(admin.member_id, display_name="Hacked"), actor=alice)


async def test_a_member_leaves_their_organization(community: Pair) -> None:
    huarong, handle = community
    alice = await actor_for(handle, "alice")
    admin = await actor_for(handle, "admin")
    assert alice.member_id is not None
    with pytest.raises(PermissionDenied):  # one's organization is the admins' to change
        await handle.execute(UpdateMember(alice.member_id, leave_organization=True), actor=alice)
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as both:
        await handle.execute(
            UpdateMember(alice.member_id, organization_id=1, leave_organization=True), actor=admin
        )
    assert (both.value.field, both.value.reason) == ("organization_id", "leaving_organization")
    assert await snapshot(huarong.db) == before

    left = await handle.execute(UpdateMember(alice.member_id, leave_organization=True), actor=admin)
    assert left.organization_id is None
    profile = await handle.execute(GetMember(alice.member_id), actor=alice)
    assert profile.organization is None
    entries = await handle.execute(ListAuditEntries(action="member.update"), actor=SYSTEM)
    assert entries[-1].target == f"member:{alice.member_id}"
    assert "organization_id" in entries[-1].details["changes"]


async def test_every_member_reads_the_categories_by_name(community: Pair) -> None:
    _, handle = community
    alice = await actor_for(handle, "alice")
    found = await handle.execute(ListCategories(), actor=alice)
    assert [(c.key, c.name.get("en"), c.name.get("zh_CN")) for c in found] == [
        ("employee", "Employee", "员工"),
        ("party_member", "Party member", "党员"),
    ]


async def test_view_permissions(community: Pair) -> None:
    _, handle = community
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    assert alice.member_id is not None
    assert staff.member_id is not None
    with pytest.raises(PermissionDenied):
        await handle.execute(ListMembers(), actor=alice)
    own = await handle.execute(GetMember(alice.member_id), actor=alice)
    assert own.member.key == "alice"
    assert own.organization is not None
    assert own.organization.key == "acme"
    with pytest.raises(PermissionDenied):
        await handle.execute(GetMember(staff.member_id), actor=alice)
    # Station staff look members up although members are not a station's own.
    seen = await handle.execute(ListMembers(), actor=staff)
    assert seen.total == 3
    with pytest.raises(PermissionDenied):
        await handle.execute(RegisterMember("Eve"), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListAuditEntries(), actor=staff)


async def test_suspended_members_cannot_act(community: Pair) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    assert admin.member_id is not None
    suspended = await handle.execute(
        SetMemberStatus(alice.member_id, MemberStatus.SUSPENDED, "left the company"), actor=admin
    )
    assert suspended.status is MemberStatus.SUSPENDED
    with pytest.raises(MemberInactive):
        await handle.execute(GetMember(alice.member_id), actor=alice)
    with pytest.raises(InvalidValue):
        await handle.execute(SetMemberStatus(admin.member_id, MemberStatus.LEFT), actor=admin)
    audit = await handle.execute(ListAuditEntries(action="member.status"), actor=SYSTEM)
    assert audit[0].details == {"old": "active", "new": "suspended", "reason": "left the company"}


async def test_identities_are_unique_per_platform(community: Pair) -> None:
    huarong, handle = community
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    assert alice.member_id is not None
    assert staff.member_id is not None
    linked = await handle.execute(LinkIdentity(alice.member_id, "telegram", "42"), actor=alice)
    assert linked.member_id == alice.member_id
    again = await handle.execute(LinkIdentity(alice.member_id, "telegram", "42"), actor=alice)
    assert again == linked
    # The same id on another platform is another account.
    await handle.execute(LinkIdentity(staff.member_id, "matrix", "42"), actor=SYSTEM)
    before = await snapshot(huarong.db)
    with pytest.raises(DuplicateIdentity) as caught:
        await handle.execute(LinkIdentity(staff.member_id, "telegram", "42"), actor=SYSTEM)
    assert caught.value.member_id == alice.member_id
    assert await snapshot(huarong.db) == before
    with pytest.raises(PermissionDenied):
        await handle.execute(LinkIdentity(staff.member_id, "telegram", "7"), actor=alice)
    found = await handle.execute(FindMemberByIdentity("telegram", "42"), actor=SYSTEM)
    assert found.member.id == alice.member_id
    assert IdentityRef("telegram", "42") in {i.ref for i in found.identities}
    # Without details (the chat layer, every message): the same member and roles only.
    lean = await handle.execute(FindMemberByIdentity("telegram", "42", details=False), actor=SYSTEM)
    assert (lean.member, lean.organization, lean.grants) == (
        found.member,
        found.organization,
        found.grants,
    )
    assert (lean.identities, lean.honours) == ((), ())
    removed = await handle.execute(UnlinkIdentity("telegram", "42"), actor=alice)
    assert removed.ref.external_id == "42"
    with pytest.raises(NotFound):
        await handle.execute(FindMemberByIdentity("telegram", "42"), actor=SYSTEM)


async def test_bad_identity_values_are_refused(community: Pair) -> None:
    _, handle = community
    with pytest.raises(InvalidValue):
        await handle.execute(LinkIdentity(1, "Tele Gram", "1"), actor=SYSTEM)
    with pytest.raises(InvalidValue):
        await handle.execute(LinkIdentity(1, "telegram", "   "), actor=SYSTEM)


async def test_roles_grant_and_revoke(community: Pair) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")
    alice = await actor_for(handle, "alice")
    assert alice.member_id is not None
    with pytest.raises(PermissionDenied):
        await handle.execute(ListMembers(), actor=alice)
    grant = await handle.execute(
        GrantRole(alice.member_id, Role.STATION_STAFF, Scope.station("service")), actor=admin
    )
    assert grant.granted_by == admin.label
    assert (await handle.execute(ListMembers(), actor=alice)).total == 3
    with pytest.raises(NotFound):
        await handle.execute(
            GrantRole(alice.member_id, Role.STATION_STAFF, Scope.station("nowhere")), actor=admin
        )
    with pytest.raises(InvalidValue):
        await handle.execute(
            GrantRole(alice.member_id, Role.ADMIN, Scope.station("service")), actor=admin
        )
    with pytest.raises(PermissionDenied):
        await handle.execute(GrantRole(alice.member_id, Role.ADMIN), actor=alice)
    grants = await handle.execute(ListRoleGrants(alice.member_id), actor=alice)
    assert [(g.role, str(g.scope)) for g in grants] == [(Role.STATION_STAFF, "station:service")]
    await handle.execute(
        RevokeRole(alice.member_id, Role.STATION_STAFF, Scope.station("service")), actor=admin
    )
    with pytest.raises(PermissionDenied):
        await handle.execute(ListMembers(), actor=alice)
    with pytest.raises(NotFound):
        await handle.execute(
            RevokeRole(alice.member_id, Role.STATION_STAFF, Scope.station("service")), actor=admin
        )
    actions = [e.action for e in await handle.execute(ListAuditEntries(limit=2), actor=SYSTEM)]
    assert actions == ["role.revoke", "role.grant"]


async def test_organizations_are_unique_by_name(community: Pair) -> None:
    _, handle = community
    created = await handle.execute(
        RegisterOrganization("睿凡教育", key="ruifan", floor="12", industry="education"),
        actor=SYSTEM,
    )
    with pytest.raises(AlreadyExists):
        await handle.execute(RegisterOrganization("睿凡教育"), actor=SYSTEM)
    updated = await handle.execute(
        UpdateOrganization(created.id, floor="15", has_party_branch=True), actor=SYSTEM
    )
    assert (updated.floor, updated.has_party_branch, updated.industry) == ("15", True, "education")
    alice = await actor_for(handle, "alice")
    with pytest.raises(PermissionDenied):
        await handle.execute(RegisterOrganization("Other"), actor=alice)
    listed = await handle.execute(ListOrganizations(query="睿凡"), actor=alice)
    assert [o.id for o in listed.items] == [created.id]


async def test_events_reach_the_outbox_with_the_change(community: Pair) -> None:
    huarong, handle = community
    async with huarong.db.read() as conn:
        before = await conn.fetchval("SELECT COUNT(*) FROM outbox")
    member = await handle.execute(RegisterMember("Frank"), actor=SYSTEM)
    with pytest.raises(InvalidValue):
        await handle.execute(RegisterMember(""), actor=SYSTEM)
    async with huarong.db.read() as conn:
        rows = await conn.fetch(
            "SELECT kind, payload FROM outbox ORDER BY id DESC LIMIT $1",
            10,
        )
        after = await conn.fetchval("SELECT COUNT(*) FROM outbox")
    assert after == before + 1
    assert rows[0]["kind"] == "member.registered"
    assert f'"member_id":{member.id}' in rows[0]["payload"].replace(" ", "")


async def test_the_acting_member_comes_with_categories_and_grants_in_one_read(
    community: Pair,
) -> None:
    """`MemberRepository.acting` (every command's first read) agrees with the member
    and role reads it replaces, whatever the number of categories and grants."""
    huarong, handle = community
    admin = await actor_for(handle, "admin")
    plain = await handle.execute(RegisterMember("Plain", key="plain_acting"), actor=admin)
    busy = await handle.execute(
        RegisterMember(
            "Busy", key="busy_acting", categories=frozenset({"employee", "party_member"})
        ),
        actor=admin,
    )
    for role, scope in (
        (Role.STATION_STAFF, Scope.station("service")),
        (Role.ADMIN, Scope.community()),
        (Role.VOLUNTEER, Scope.station("service")),
    ):
        await handle.execute(GrantRole(busy.id, role, scope), actor=admin)

    Read = tuple[tuple[Member, list[RoleGrant]] | None, Member | None, list[RoleGrant]]

    async def read(conn: Connection) -> list[Read]:
        repos = Repositories(conn, handle.community.id)
        found: list[Read] = []
        for member_id in (plain.id, busy.id, 999_999):
            acting = await repos.members.acting(member_id)
            alone = await repos.members.get(member_id)
            grants = await repos.roles.for_member(member_id)
            found.append((acting, alone, grants))
        return found

    (plain_found, busy_found, missing) = await huarong.db.run_read(read)
    assert plain_found[0] == (plain_found[1], [])
    assert busy_found[0] is not None
    acting_member, acting_grants = busy_found[0]
    assert acting_member == busy_found[1]
    assert acting_member.categories == frozenset({"employee", "party_member"})
    assert acting_grants == busy_found[2]
    assert len(acting_grants) == 3
    assert missing == (None, None, [])
