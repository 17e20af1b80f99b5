"""Loading a community file, on every backend: create, reconcile, refuse, audit.

Most tests start from the shipped example (`examples/huarong/community.toml`)
and edit its text, the way an operator edits the file and loads it again.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import attrs
import pytest

from huarong_core import (
    Actor,
    GetMember,
    GrantRole,
    Huarong,
    ImportOrganizations,
    LinkIdentity,
    ListAuditEntries,
    ListMembers,
    ListOrganizations,
    ListRoleGrants,
    LoadReport,
    Member,
    OrganizationRow,
    RegisterMember,
    Role,
    Scope,
    load_config,
    parse_config,
)
from huarong_core.app import CommunityHandle
from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.communities import Station
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import GrantSource
from huarong_core.errors import ConfigError
from huarong_core.storage.repositories import CommunityRepository
from huarong_core.testing import FrozenClock, snapshot

OPERATOR = Actor.system("test")
SOURCE = "community.toml"

RENAMED_STATION = (
    'name = { zh_CN = "华英驿站", en = "Huaying station" }',
    'name = { zh_CN = "华英驿站（29楼）", en = "Huaying station (29F)" }',
)
MOVED_MEMBER = (
    'key = "lawyer"\nname = "周强"\norganization = "dacheng_law"',
    'key = "lawyer"\nname = "周强"\norganization = "xinhua_insurance"',
)
REMOVED_ROLE = (
    '[[roles]]\nmember = "floating_member"\nrole = "volunteer"\nscope = "station:party_masses"\n',
    "",
)
ADDED_MEMBER = """
[[members]]
key = "newcomer"
name = "冯晓"
organization = "sunshine_insurance"
categories = ["employee"]
identities = [{ platform = "telegram", id = "555001" }]
"""


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """Apply each replacement, insisting that its text occurs exactly once."""
    for old, new in replacements:
        assert text.count(old) == 1, f"example file changed; cannot find {old!r}"
        text = text.replace(old, new)
    return text


def without_tables(text: str, *starts: str) -> str:
    """Drop each `[[...]]` table whose text begins with one of `starts` (exactly one each)."""
    blocks = re.split(r"(?m)^(?=\[\[)", text)
    for start in starts:
        matching = [b for b in blocks if b.startswith(start)]
        assert len(matching) == 1, f"example file changed; cannot find {start!r}"
        blocks.remove(matching[0])
    return "".join(blocks)


@pytest.fixture
def example_text(examples_dir: Path) -> str:
    return (examples_dir / "community.toml").read_text(encoding="utf-8")


@pytest.fixture
def edited_text(example_text: str) -> str:
    """The example with a station renamed, a member moved, a role dropped, a member added."""
    return edit(example_text, RENAMED_STATION, MOVED_MEMBER, REMOVED_ROLE) + ADDED_MEMBER


async def load(huarong: Huarong, text: str, *, dry_run: bool = False) -> LoadReport:
    config = parse_config(text, source=SOURCE)
    return await huarong.apply_configuration(config, actor=OPERATOR, source=SOURCE, dry_run=dry_run)


async def members_by_key(handle: CommunityHandle) -> dict[str, Member]:
    page = await handle.execute(ListMembers(limit=500), actor=OPERATOR)
    assert not page.has_more
    return {m.key or f"#{m.id}": m for m in page.items}


async def organizations_by_name(handle: CommunityHandle) -> dict[str, Organization]:
    page = await handle.execute(ListOrganizations(limit=500), actor=OPERATOR)
    assert not page.has_more
    return {o.name: o for o in page.items}


async def stations(huarong: Huarong, handle: CommunityHandle) -> dict[str, Station]:
    async with huarong.db.read() as conn:
        found = await CommunityRepository(conn).stations(handle.community.id)
    return {s.key: s for s in found}


async def grants(handle: CommunityHandle) -> set[tuple[int, Role, Scope, GrantSource]]:
    found = await handle.execute(ListRoleGrants(), actor=OPERATOR)
    return {(g.member_id, g.role, g.scope, g.source) for g in found}


async def audit_entries(handle: CommunityHandle, *, after: int = 0) -> list[AuditEntry]:
    entries = await handle.execute(ListAuditEntries(limit=500), actor=OPERATOR)
    assert len(entries) < 500
    return sorted((e for e in entries if e.id > after), key=lambda e: e.id)


async def last_audit_id(handle: CommunityHandle) -> int:
    entries = await handle.execute(ListAuditEntries(limit=1), actor=OPERATOR)
    return entries[0].id if entries else 0


# --- loading the example --------------------------------------------------------------


async def test_loading_creates_what_the_file_describes(
    huarong: Huarong, examples_dir: Path
) -> None:
    config = load_config(examples_dir / "community.toml")
    report = await huarong.apply_configuration(config, actor=OPERATOR, source=SOURCE)

    assert report.created == {
        "community": 1,
        "categories": len(config.categories),
        "stations": len(config.stations),
        "organizations": len(config.organizations),
        "members": len(config.members),
        "roles": len(config.roles),
        "points_rules": len(config.points.rules),
        "shop_items": len(config.shop.items),
        "clubs": len(config.clubs),
        "venues": len(config.venues),
        "salons": len(config.salons),
        "events": len(config.events),
        "services": len(config.services),
        "library_settings": 1,
        "books": len(config.library.books),
        "book_copies": sum(len(b.copies) for b in config.library.books),
        "volunteering_settings": 1,
        "volunteer_tasks": len(config.volunteering.tasks),
        "volunteer_shifts": sum(len(t.shifts) for t in config.volunteering.tasks),
    }
    assert report.updated == {}
    assert report.revoked == 0
    assert report.not_in_file == {}
    assert not report.dry_run

    handle = await huarong.community("huarong")
    community = handle.community
    assert community.name.get("zh_CN") == "华融国际大厦"
    assert community.name.get("en") == "Huarong International Building"
    assert (community.timezone, community.locale) == ("Asia/Shanghai", "zh_CN")

    async with huarong.db.read() as conn:
        repo = CommunityRepository(conn)
        categories = await repo.categories(community.id)
        found_stations = await repo.stations(community.id)
    assert [(c.key, c.name) for c in categories] == [(c.key, c.name) for c in config.categories]
    assert [(s.key, s.name, s.floor, s.description) for s in found_stations] == [
        (s.key, s.name, s.floor, s.description) for s in config.stations
    ]
    assert [s.floor for s in found_stations] == [None, None, "29", None]

    organizations = await organizations_by_name(handle)
    assert sorted(
        (o.key, o.name, o.floor, o.industry, o.has_party_branch) for o in organizations.values()
    ) == sorted(
        (o.key, o.name, o.floor, o.industry, o.has_party_branch) for o in config.organizations
    )
    assert sum(o.has_party_branch for o in organizations.values()) == 5
    organization_keys = {o.id: o.key for o in organizations.values()}

    members = await members_by_key(handle)
    assert set(members) == {m.key for m in config.members}
    for entry in config.members:
        member = members[entry.key]
        assert member.display_name == entry.name
        assert member.categories == frozenset(entry.categories)
        assert member.locale == entry.locale
        assert organization_keys.get(member.organization_id or 0) == entry.organization
        found = await handle.execute(GetMember(member.id), actor=OPERATOR)
        assert {(i.ref.platform, i.ref.external_id) for i in found.identities} == {
            (i.platform, i.id) for i in entry.identities
        }

    assert await grants(handle) == {
        (members[g.member].id, Role(g.role), Scope.parse(g.scope), GrantSource.CONFIG)
        for g in config.roles
    }
    secretary = await handle.execute(GetMember(members["secretary"].id), actor=OPERATOR)
    assert [(g.role, g.scope) for g in secretary.grants] == [(Role.ADMIN, Scope.community())]
    assert secretary.organization is not None
    assert secretary.organization.name == "华融地产"

    actions = Counter(e.action for e in await audit_entries(handle))
    assert actions == {
        "community.create": 1,
        "category.save": len(config.categories),
        "station.save": len(config.stations),
        "organization.register": len(config.organizations),
        "member.register": len(config.members),
        "identity.link": sum(len(m.identities) for m in config.members),
        "role.grant": len(config.roles),
        "points.rule.save": len(config.points.rules),
        "shop.item.save": len(config.shop.items),
        "club.save": len(config.clubs),
        "venue.save": len(config.venues),
        "salon.save": len(config.salons),
        "event.create": len(config.events),
        "service.save": len(config.services),
        "library.settings": 1,
        "library.book.add": len(config.library.books),
        "library.copy.add": sum(len(b.copies) for b in config.library.books),
        "volunteer.settings": 1,
        "volunteer.task.save": len(config.volunteering.tasks),
        "volunteer.shift.add": sum(len(t.shifts) for t in config.volunteering.tasks),
    }
    assert all(e.actor == OPERATOR for e in await audit_entries(handle))


async def test_loading_twice_changes_nothing(
    huarong: Huarong, clock: FrozenClock, example_text: str
) -> None:
    first = await load(huarong, example_text)
    before = await snapshot(huarong.db)
    clock.advance(hours=1)  # any write now would leave a different timestamp

    second = await load(huarong, example_text)

    assert await snapshot(huarong.db) == before
    assert second.changes == 0
    assert second.created == {}
    assert second.updated == {}
    assert second.revoked == 0
    assert second.unchanged == first.created


# --- editing the file -----------------------------------------------------------------


async def test_edited_file_applies_exactly_the_edit(
    huarong: Huarong, clock: FrozenClock, example_text: str, edited_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    members_before = await members_by_key(handle)
    organizations_before = await organizations_by_name(handle)
    stations_before = await stations(huarong, handle)
    grants_before = await grants(handle)
    audit_mark = await last_audit_id(handle)
    clock.advance(minutes=5)

    report = await load(huarong, edited_text)

    assert report.created == {"members": 1}
    assert report.updated == {"stations": 1, "members": 1}
    assert report.revoked == 1
    assert report.changes == 4
    assert report.unchanged == {
        "community": 1,
        "categories": 4,
        "stations": 3,
        "organizations": 7,
        "members": 8,
        "roles": 8,
        "points_rules": 12,
        "shop_items": 5,
        "clubs": 12,
        "venues": 4,
        "salons": 5,
        "events": 5,
        "services": 37,
        "books": 6,
        "book_copies": 11,
        "volunteer_tasks": 3,
        "volunteer_shifts": 5,
        "library_settings": 1,
        "volunteering_settings": 1,
    }

    # The station is renamed; the others are as they were.
    stations_after = await stations(huarong, handle)
    huaying = stations_after.pop("huaying")
    assert huaying.name.as_dict() == {"zh_CN": "华英驿站（29楼）", "en": "Huaying station (29F)"}
    assert (
        attrs.evolve(huaying, name=stations_before["huaying"].name) == (stations_before["huaying"])
    )
    assert stations_after == {k: v for k, v in stations_before.items() if k != "huaying"}

    # The lawyer moved; the new member exists; everybody else is untouched.
    organizations = await organizations_by_name(handle)
    assert organizations == organizations_before
    members_after = await members_by_key(handle)
    lawyer_before = members_before["lawyer"]
    lawyer = members_after.pop("lawyer")
    xinhua, dacheng = organizations["新华保险"], organizations["达成律师事务所"]
    assert lawyer == attrs.evolve(lawyer_before, organization_id=xinhua.id)
    newcomer = members_after.pop("newcomer")
    assert (newcomer.display_name, newcomer.categories, newcomer.organization_id) == (
        "冯晓",
        frozenset({"employee"}),
        organizations["阳光保险"].id,
    )
    assert members_after == {k: v for k, v in members_before.items() if k != "lawyer"}

    # Exactly the dropped role is gone.
    floating = members_before["floating_member"]
    dropped = (floating.id, Role.VOLUNTEER, Scope.station("party_masses"), GrantSource.CONFIG)
    assert dropped in grants_before
    assert await grants(handle) == grants_before - {dropped}

    # Each change is in the audit log, and nothing else is.
    entries = await audit_entries(handle, after=audit_mark)
    assert sorted((e.action, e.target) for e in entries) == sorted(
        [
            ("station.save", "station:huaying"),
            ("member.update", f"member:{lawyer.id}"),
            ("role.revoke", f"member:{floating.id}"),
            ("member.register", f"member:{newcomer.id}"),
            ("identity.link", f"member:{newcomer.id}"),
            ("config.load", "community:huarong"),
        ]
    )
    by_action = {e.action: e for e in entries}
    assert by_action["member.update"].details == {
        "changes": {"organization_id": [dacheng.id, xinhua.id]}
    }
    assert by_action["role.revoke"].details == {
        "role": "volunteer",
        "scope": "station:party_masses",
    }
    assert by_action["identity.link"].details == {"identity": "telegram:555001"}
    assert by_action["config.load"].details == {"file": SOURCE}
    assert all(e.actor == OPERATOR for e in entries)
    assert all(e.at == clock.now() for e in entries)

    # And the edited file is now the steady state.
    before = await snapshot(huarong.db)
    again = await load(huarong, edited_text)
    assert again.changes == 0
    assert await snapshot(huarong.db) == before


async def test_removed_entries_are_kept_and_reported(huarong: Huarong, example_text: str) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    members_before = await members_by_key(handle)
    organizations_before = await organizations_by_name(handle)
    stations_before = await stations(huarong, handle)
    shorter = without_tables(
        example_text,
        '[[organizations]]\nkey = "ecommerce_base"\n',
        '[[stations]]\nkey = "enterprise"\n',
        '[[roles]]\nmember = "enterprise_desk"\n',
    )
    # The base's members now name it, as they may name any organization in the database.
    shorter = shorter.replace('organization = "ecommerce_base"', 'organization = "焦作电商基地"')

    report = await load(huarong, shorter)

    assert report.not_in_file == {"stations": ("enterprise",)}
    assert report.revoked == 1
    assert report.created == {}
    assert report.updated == {}
    assert await members_by_key(handle) == members_before
    assert await organizations_by_name(handle) == organizations_before
    assert await stations(huarong, handle) == stations_before
    enterprise_desk = members_before["enterprise_desk"]
    assert await handle.execute(ListRoleGrants(enterprise_desk.id), actor=OPERATOR) == ()

    # The shorter file is the new steady state (the stations after the removed one moved up).
    before = await snapshot(huarong.db)
    again = await load(huarong, shorter)
    assert again.changes == 0
    assert again.not_in_file == report.not_in_file
    assert await snapshot(huarong.db) == before


async def test_reordered_stations_are_an_update_once(huarong: Huarong, example_text: str) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    blocks = re.split(r"(?m)^(?=\[\[)", example_text)
    huaying = next(i for i, b in enumerate(blocks) if b.startswith('[[stations]]\nkey = "huaying"'))
    blocks[huaying], blocks[huaying + 1] = blocks[huaying + 1], blocks[huaying]
    reordered = "".join(blocks)

    report = await load(huarong, reordered)

    assert report.updated == {"stations": 2}
    assert report.created == {}
    assert list(await stations(huarong, handle)) == [
        "party_masses",
        "enterprise",
        "community_liaison",
        "huaying",
    ]
    before = await snapshot(huarong.db)
    assert (await load(huarong, reordered)).changes == 0
    assert await snapshot(huarong.db) == before


async def test_dry_run_reports_changes_but_saves_nothing(
    huarong: Huarong, example_text: str, edited_text: str
) -> None:
    await load(huarong, example_text)
    before = await snapshot(huarong.db)

    dry = await load(huarong, edited_text, dry_run=True)

    assert dry.dry_run
    assert dry.changes == 4
    assert await snapshot(huarong.db) == before

    real = await load(huarong, edited_text)
    assert real == attrs.evolve(dry, dry_run=False)
    assert await snapshot(huarong.db) != before


async def test_dry_run_on_an_empty_database_creates_nothing(
    huarong: Huarong, example_text: str
) -> None:
    before = await snapshot(huarong.db)

    report = await load(huarong, example_text, dry_run=True)

    assert report.dry_run
    assert report.created["community"] == 1
    assert report.created["members"] == 9
    assert await snapshot(huarong.db) == before
    assert await huarong.communities() == []


# --- refusals -------------------------------------------------------------------------


async def test_unknown_organization_is_refused_and_nothing_changes(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    before = await snapshot(huarong.db)
    broken = edit(
        example_text,
        RENAMED_STATION,  # a good edit before the bad one: it must not survive either
        (
            'key = "secretary"\nname = "王建华"\norganization = "huarong_realty"',
            'key = "secretary"\nname = "王建华"\norganization = "无此公司"',
        ),
    )

    with pytest.raises(ConfigError) as caught:
        await load(huarong, broken)

    error = caught.value
    assert error.file == SOURCE
    assert [(p.where, p.key) for p in error.problems] == [
        ("members[0].organization", "error.not_found")
    ]
    assert error.problems[0].params == {"entity": "organization", "ref": "无此公司"}
    assert "members[0].organization" in str(error)
    assert "无此公司" in str(error)
    assert await snapshot(huarong.db) == before


async def test_unknown_organization_on_an_empty_database_creates_nothing(
    huarong: Huarong,
) -> None:
    before = await snapshot(huarong.db)
    text = """
[community]
key = "elsewhere"
name = "别处大厦"

[[organizations]]
key = "known"
name = "已知公司"

[[members]]
key = "someone"
name = "某人"
organization = "unknown"
"""
    with pytest.raises(ConfigError) as caught:
        await load(huarong, text)

    assert [p.where for p in caught.value.problems] == ["members[0].organization"]
    assert await snapshot(huarong.db) == before
    assert await huarong.communities() == []


async def test_identity_of_a_manually_registered_member_is_refused(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    visitor = await handle.execute(RegisterMember("访客"), actor=OPERATOR)
    await handle.execute(LinkIdentity(visitor.id, "telegram", "777"), actor=OPERATOR)
    before = await snapshot(huarong.db)
    broken = edit(
        example_text,
        (
            'identities = [{ platform = "console", id = "secretary" }]',
            'identities = [{ platform = "console", id = "secretary" },'
            ' { platform = "telegram", id = "777" }]',
        ),
    )

    with pytest.raises(ConfigError) as caught:
        await load(huarong, broken)

    problems = caught.value.problems
    assert [(p.where, p.key) for p in problems] == [
        ("members[0].identities[1]", "error.duplicate_identity")
    ]
    assert problems[0].params == {
        "platform": "telegram",
        "external_id": "777",
        "member_id": str(visitor.id),
    }
    assert await snapshot(huarong.db) == before


async def test_identity_moved_to_another_member_in_the_file_is_refused(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    secretary = (await members_by_key(handle))["secretary"]
    before = await snapshot(huarong.db)
    # Identities are never unlinked by a load, so the account stays the secretary's.
    broken = edit(
        example_text,
        ('identities = [{ platform = "console", id = "secretary" }]\n', ""),
        (
            'identities = [{ platform = "console", id = "emily" }]',
            'identities = [{ platform = "console", id = "secretary" }]',
        ),
    )

    with pytest.raises(ConfigError) as caught:
        await load(huarong, broken)

    problems = caught.value.problems
    assert [(p.where, p.key) for p in problems] == [
        ("members[8].identities[0]", "error.duplicate_identity")
    ]
    assert problems[0].params["member_id"] == str(secretary.id)
    assert await snapshot(huarong.db) == before


# --- living together with manual changes and imports ----------------------------------


async def test_manual_grant_listed_in_the_file_is_adopted(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    lawyer = (await members_by_key(handle))["lawyer"]
    scope = Scope.station("party_masses")
    await handle.execute(GrantRole(lawyer.id, Role.VOLUNTEER, scope), actor=OPERATOR)
    assert (lawyer.id, Role.VOLUNTEER, scope, GrantSource.MANUAL) in await grants(handle)
    with_role = (
        example_text
        + '\n[[roles]]\nmember = "lawyer"\nrole = "volunteer"\nscope = "station:party_masses"\n'
    )

    adopting = await load(huarong, with_role)
    assert adopting.updated.get("roles") == 1
    assert adopting.changes == 1

    held = await handle.execute(ListRoleGrants(lawyer.id), actor=OPERATOR)
    assert [(g.role, g.scope, g.source) for g in held] == [
        (Role.VOLUNTEER, scope, GrantSource.CONFIG)
    ]
    granted = await handle.execute(ListAuditEntries(action="role.grant"), actor=OPERATOR)
    assert len(granted) == 10  # nine from the first load, one by hand; none for the adoption
    adopted = await handle.execute(ListAuditEntries(action="role.adopt"), actor=OPERATOR)
    assert [(e.target, e.details["role"]) for e in adopted] == [
        (f"member:{lawyer.id}", "volunteer")
    ]

    # Adopted means the file now owns it: loading it again changes nothing ...
    before = await snapshot(huarong.db)
    assert (await load(huarong, with_role)).changes == 0
    assert await snapshot(huarong.db) == before

    # ... and a file that stops granting it revokes it.
    report = await load(huarong, example_text)
    assert report.revoked == 1
    assert await handle.execute(ListRoleGrants(lawyer.id), actor=OPERATOR) == ()


async def test_manual_grant_not_in_the_file_is_left_alone(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    lawyer = (await members_by_key(handle))["lawyer"]
    await handle.execute(GrantRole(lawyer.id, Role.VOLUNTEER), actor=OPERATOR)

    report = await load(huarong, example_text)

    assert report.changes == 0
    assert [
        (g.role, g.source) for g in await handle.execute(ListRoleGrants(lawyer.id), actor=OPERATOR)
    ] == [(Role.VOLUNTEER, GrantSource.MANUAL)]


async def test_member_may_name_an_organization_only_in_the_database(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    imported = await handle.execute(
        ImportOrganizations(
            "organizations.csv",
            (
                OrganizationRow(2, "怀川云商科技有限公司", floor="5", industry="e-commerce"),
                OrganizationRow(3, "太行优选电子商务有限公司", key="taihang_youxuan"),
            ),
        ),
        actor=OPERATOR,
    )
    assert imported.created == 2
    organizations = await organizations_by_name(handle)
    with_members = (
        example_text
        + """
[[members]]
key = "by_name"
name = "郑晓明"
organization = "怀川云商科技有限公司"

[[members]]
key = "by_key"
name = "何志刚"
organization = "taihang_youxuan"
"""
    )

    report = await load(huarong, with_members)

    assert report.created == {"members": 2}
    members = await members_by_key(handle)
    assert members["by_name"].organization_id == organizations["怀川云商科技有限公司"].id
    assert members["by_key"].organization_id == organizations["太行优选电子商务有限公司"].id
    assert await organizations_by_name(handle) == organizations
    before = await snapshot(huarong.db)
    assert (await load(huarong, with_members)).changes == 0
    assert await snapshot(huarong.db) == before


async def test_organization_imported_earlier_is_adopted_by_name(
    huarong: Huarong, example_text: str
) -> None:
    await load(huarong, example_text)
    handle = await huarong.community("huarong")
    await handle.execute(
        ImportOrganizations(
            "organizations.csv", (OrganizationRow(2, "怀川云商科技有限公司", floor="5"),)
        ),
        actor=OPERATOR,
    )
    imported = (await organizations_by_name(handle))["怀川云商科技有限公司"]
    with_organization = (
        example_text
        + """
[[organizations]]
key = "huaichuan"
name = "怀川云商科技有限公司"
floor = 5
industry = "e-commerce"
"""
    )

    report = await load(huarong, with_organization)

    assert report.created == {}
    assert report.updated == {"organizations": 1}
    adopted = (await organizations_by_name(handle))["怀川云商科技有限公司"]
    assert adopted == attrs.evolve(imported, key="huaichuan", industry="e-commerce")
    assert len(await organizations_by_name(handle)) == 8
