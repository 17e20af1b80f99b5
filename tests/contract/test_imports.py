"""CSV import of organizations and members, on every backend.

Files are written the way spreadsheet tools write them (UTF-8 with or
without BOM, UTF-16, GBK), read with `read_csv`, and applied with the
`ImportOrganizations` / `ImportMembers` commands, as the CLI does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huarong_core import (
    FindMemberByIdentity,
    ImportMembers,
    ImportOrganizations,
    ImportReport,
    LinkIdentity,
    ListAuditEntries,
    ListMembers,
    ListOrganizations,
    Member,
    RegisterMember,
)
from huarong_core.app import CommunityHandle
from huarong_core.csv_files import (
    MEMBER_COLUMNS,
    ORGANIZATION_COLUMNS,
    member_rows,
    organization_rows,
    read_csv,
)
from huarong_core.domain.organizations import Organization
from huarong_core.errors import ImportRejected, PermissionDenied, Problem
from huarong_core.services.imports import progress_reporter
from huarong_core.testing import FrozenClock, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

ORGANIZATIONS = """\
名称,楼层,行业,党支部
怀川云商科技有限公司,5,e-commerce,是
恒泽保险代理有限公司,10,insurance,否
知行书院教育科技有限公司,14,education,
"""

MEMBERS = """\
姓名,单位,类别
郑晓明,Acme Insurance,党员、员工
冯雪,acme,员工
孟凡,,党员
"""


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8-sig", name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding, newline="")
    return path


def organizations_command(path: Path, *, partial: bool = False) -> ImportOrganizations:
    table = read_csv(path, ORGANIZATION_COLUMNS)
    return ImportOrganizations(str(path), organization_rows(table), partial=partial)


def members_command(path: Path, *, partial: bool = False) -> ImportMembers:
    table = read_csv(path, MEMBER_COLUMNS)
    return ImportMembers(str(path), member_rows(table), partial=partial)


async def organizations(handle: CommunityHandle) -> dict[str, Organization]:
    page = await handle.execute(ListOrganizations(limit=500), actor=SYSTEM)
    return {o.name: o for o in page.items}


async def members(handle: CommunityHandle) -> list[Member]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return list(page.items)


async def member_named(handle: CommunityHandle, name: str) -> Member:
    found = [m for m in await members(handle) if m.display_name == name]
    assert len(found) == 1, f"{len(found)} members named {name}"
    return found[0]


def where_and_key(problems: tuple[Problem, ...]) -> list[tuple[str, str]]:
    return [(p.where, p.key) for p in problems]


# --- all or nothing -------------------------------------------------------------------


BAD_ORGANIZATIONS = """\
名称,楼层,行业,党支部
怀川云商科技有限公司,5,e-commerce,是
,7,finance,否
恒泽保险代理有限公司,10,insurance,也许
知行书院教育科技有限公司,14,education,否
"""


async def test_one_bad_row_rejects_the_whole_file(community: Pair, tmp_path: Path) -> None:
    huarong, handle = community
    before = await snapshot(huarong.db)

    with pytest.raises(ImportRejected) as caught:
        await handle.execute(
            organizations_command(write(tmp_path, BAD_ORGANIZATIONS)), actor=SYSTEM
        )

    error = caught.value
    assert error.rows == 4
    assert where_and_key(error.problems) == [
        ("line 3", "error.invalid_value"),
        ("line 4", "error.invalid_value"),
    ]
    assert error.problems[0].params == {"field": "name", "value": "", "reason": "empty"}
    assert error.problems[1].params == {
        "field": "has_party_branch",
        "value": "也许",
        "reason": "not_yes_no",
    }
    assert "line 3" in str(error)
    assert "line 4" in str(error)
    assert await snapshot(huarong.db) == before


async def test_partial_keeps_the_good_rows_and_reports_the_bad(
    community: Pair, tmp_path: Path
) -> None:
    _, handle = community
    path = write(tmp_path, BAD_ORGANIZATIONS)

    report = await handle.execute(organizations_command(path, partial=True), actor=SYSTEM)

    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 2, 0, 0)
    assert report.applied
    assert where_and_key(report.rejected) == [
        ("line 3", "error.invalid_value"),
        ("line 4", "error.invalid_value"),
    ]
    found = await organizations(handle)
    assert set(found) == {"Acme Insurance", "怀川云商科技有限公司", "知行书院教育科技有限公司"}
    entry = (await handle.execute(ListAuditEntries(action="import.apply"), actor=SYSTEM))[0]
    assert entry.details == {"file": str(path), "created": 2, "updated": 0, "rejected": 2}


async def test_bad_member_row_rejects_every_member(community: Pair, tmp_path: Path) -> None:
    huarong, handle = community
    before = await snapshot(huarong.db)
    text = MEMBERS + "无名氏,不存在的公司,党员\n"

    with pytest.raises(ImportRejected) as caught:
        await handle.execute(members_command(write(tmp_path, text)), actor=SYSTEM)

    assert where_and_key(caught.value.problems) == [("line 5", "error.not_found")]
    assert await snapshot(huarong.db) == before


# --- idempotence ----------------------------------------------------------------------


async def test_importing_the_same_files_twice_changes_nothing(
    community: Pair, clock: FrozenClock, tmp_path: Path
) -> None:
    huarong, handle = community
    organizations_file = write(tmp_path, ORGANIZATIONS, name="organizations.csv")
    members_file = write(
        tmp_path,
        "姓名,单位,类别,telegram\n"
        "郑晓明,怀川云商科技有限公司,党员、员工,10001\n"
        "冯雪,恒泽保险代理有限公司,员工,\n"
        "孟凡,,党员,10003\n",
        name="members.csv",
    )
    first_organizations = await handle.execute(
        organizations_command(organizations_file), actor=SYSTEM
    )
    first_members = await handle.execute(members_command(members_file), actor=SYSTEM)
    assert (first_organizations.created, first_members.created) == (3, 3)
    before = await snapshot(huarong.db)
    clock.advance(days=1)  # any write now would leave a different timestamp

    again_organizations = await handle.execute(
        organizations_command(organizations_file), actor=SYSTEM
    )
    again_members = await handle.execute(members_command(members_file), actor=SYSTEM)

    assert await snapshot(huarong.db) == before
    for report in (again_organizations, again_members):
        assert (report.rows, report.created, report.updated, report.unchanged) == (3, 0, 0, 3)
        assert report.rejected == ()


# --- encodings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected", "delimiter"),
    [
        ("utf-8-sig", "utf-8-sig", ","),
        ("utf-8", "utf-8", ","),
        ("utf-16", "utf-16", ","),
        ("utf-16", "utf-16", "\t"),  # Excel's "Unicode text"
        ("gbk", "gbk", ","),
    ],
)
async def test_every_spreadsheet_encoding_reads_the_same(
    community: Pair, tmp_path: Path, encoding: str, detected: str, delimiter: str
) -> None:
    _, handle = community
    text = ORGANIZATIONS.replace(",", delimiter)
    path = write(tmp_path, text, encoding=encoding)
    table = read_csv(path, ORGANIZATION_COLUMNS)
    assert table.encoding == detected
    assert table.fields == ("name", "floor", "industry", "has_party_branch")
    assert [r.line for r in table.rows] == [2, 3, 4]

    report = await handle.execute(
        ImportOrganizations(str(path), organization_rows(table)), actor=SYSTEM
    )

    assert report.created == 3
    found = await organizations(handle)
    cloud = found["怀川云商科技有限公司"]
    assert (cloud.floor, cloud.industry, cloud.has_party_branch) == ("5", "e-commerce", True)
    assert found["恒泽保险代理有限公司"].has_party_branch is False
    assert found["知行书院教育科技有限公司"].floor == "14"


def test_gbk_is_not_mistaken_for_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, MEMBERS, encoding="gbk")
    table = read_csv(path, MEMBER_COLUMNS)
    assert table.encoding == "gbk"
    assert [r.get("name") for r in table.rows] == ["郑晓明", "冯雪", "孟凡"]
    assert table.rows[0].get("categories") == "党员、员工"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("名称,地址", ("column 2", "import.unknown_column")),
        ("名称,公司名称", ("column 2", "import.duplicate_column")),
        ("楼层,行业", ("-", "import.missing_column")),
    ],
)
def test_bad_headers_are_rejected_before_any_row(
    tmp_path: Path, header: str, problem: tuple[str, str]
) -> None:
    path = write(tmp_path, header + "\n甲,乙\n")
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS)
    assert where_and_key(caught.value.problems) == [problem]


# --- what a row means -----------------------------------------------------------------


async def test_empty_cell_keeps_an_existing_value(community: Pair, tmp_path: Path) -> None:
    _, handle = community
    await handle.execute(organizations_command(write(tmp_path, ORGANIZATIONS)), actor=SYSTEM)
    blanks = write(
        tmp_path,
        "名称,楼层,行业,党支部\n怀川云商科技有限公司,,,\n恒泽保险代理有限公司,11,,\n",
        name="blanks.csv",
    )

    report = await handle.execute(organizations_command(blanks), actor=SYSTEM)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    found = await organizations(handle)
    cloud = found["怀川云商科技有限公司"]
    assert (cloud.floor, cloud.industry, cloud.has_party_branch) == ("5", "e-commerce", True)
    insurer = found["恒泽保险代理有限公司"]
    assert (insurer.floor, insurer.industry, insurer.has_party_branch) == (
        "11",
        "insurance",
        False,
    )

    alice_before = await member_named(handle, "Alice")
    kept = write(tmp_path, "姓名,单位,类别,语言\nAlice,Acme Insurance,,\n", name="alice.csv")
    report = await handle.execute(members_command(kept), actor=SYSTEM)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert await member_named(handle, "Alice") == alice_before

    # An empty organization cell matches Alice where she works; it never moves her.
    no_organization = write(tmp_path, "姓名,单位,类别\nAlice,,党员\n", name="no-org.csv")
    report = await handle.execute(members_command(no_organization), actor=SYSTEM)
    assert (report.created, report.updated) == (0, 1)
    moved = await member_named(handle, "Alice")
    assert moved.organization_id == alice_before.organization_id
    assert moved.categories == frozenset({"party_member"})


async def test_categories_by_chinese_name_english_name_or_key(
    community: Pair, tmp_path: Path
) -> None:
    _, handle = community
    path = write(
        tmp_path,
        "姓名,单位,类别\n"
        "郑晓明,acme,党员、员工\n"
        "冯雪,acme,party_member;EMPLOYEE\n"
        "孟凡,acme,Party member\n",
    )

    await handle.execute(members_command(path), actor=SYSTEM)

    both = frozenset({"party_member", "employee"})
    assert (await member_named(handle, "郑晓明")).categories == both
    assert (await member_named(handle, "冯雪")).categories == both
    assert (await member_named(handle, "孟凡")).categories == frozenset({"party_member"})


@pytest.mark.parametrize(
    ("row", "key", "params"),
    [
        ("无名氏,不存在的公司,党员", "error.not_found", {"entity": "organization"}),
        ("无名氏,acme,宇航员", "error.invalid_value", {"reason": "unknown_category"}),
        (",acme,党员", "error.invalid_value", {"field": "name", "reason": "empty"}),
        ("无名氏,acme,党员,fr", "error.invalid_value", {"reason": "unknown_locale"}),
    ],
)
async def test_bad_member_values_name_the_line_and_the_reason(
    community: Pair, tmp_path: Path, row: str, key: str, params: dict[str, str]
) -> None:
    huarong, handle = community
    before = await snapshot(huarong.db)
    path = write(tmp_path, "姓名,单位,类别,语言\n郑晓明,acme,党员,zh_CN\n" + row + "\n")

    with pytest.raises(ImportRejected) as caught:
        await handle.execute(members_command(path), actor=SYSTEM)

    [problem] = caught.value.problems
    assert (problem.where, problem.key) == ("line 3", key)
    assert params.items() <= problem.params.items()
    assert await snapshot(huarong.db) == before


async def test_identity_column_links_accounts(community: Pair, tmp_path: Path) -> None:
    _, handle = community
    path = write(
        tmp_path,
        "姓名,单位,类别,telegram\n郑晓明,acme,党员,10001\nAlice,acme,,10002\n",
    )

    report = await handle.execute(members_command(path), actor=SYSTEM)

    assert (report.created, report.updated) == (1, 1)  # Alice gained an account
    found = await handle.execute(FindMemberByIdentity("telegram", "10001"), actor=SYSTEM)
    assert found.member.display_name == "郑晓明"
    alice = await handle.execute(FindMemberByIdentity("telegram", "10002"), actor=SYSTEM)
    assert alice.member.key == "alice"
    links = await handle.execute(ListAuditEntries(action="identity.link"), actor=SYSTEM)
    assert {e.details["identity"] for e in links} == {"telegram:10001", "telegram:10002"}


async def test_account_of_another_member_is_rejected(community: Pair, tmp_path: Path) -> None:
    huarong, handle = community
    admin = await actor_for(handle, "admin")
    assert admin.member_id is not None
    await handle.execute(LinkIdentity(admin.member_id, "telegram", "10001"), actor=SYSTEM)
    before = await snapshot(huarong.db)
    path = write(tmp_path, "姓名,单位,telegram\nAlice,acme,10001\n")

    with pytest.raises(ImportRejected) as caught:
        await handle.execute(members_command(path), actor=SYSTEM)

    assert where_and_key(caught.value.problems) == [("line 2", "error.duplicate_identity")]
    assert await snapshot(huarong.db) == before


async def test_same_name_in_the_same_organization_needs_a_key(
    community: Pair, tmp_path: Path
) -> None:
    huarong, handle = community
    acme = (await organizations(handle))["Acme Insurance"]
    await handle.execute(RegisterMember("王芳", organization_id=acme.id), actor=SYSTEM)
    second = await handle.execute(
        RegisterMember("王芳", key="wangfang2", organization_id=acme.id), actor=SYSTEM
    )
    before = await snapshot(huarong.db)

    with pytest.raises(ImportRejected) as caught:
        await handle.execute(
            members_command(write(tmp_path, "姓名,单位,类别\n王芳,acme,党员\n")), actor=SYSTEM
        )

    [problem] = caught.value.problems
    assert (problem.where, problem.key) == ("line 2", "error.invalid_value")
    assert problem.params["reason"] == "ambiguous_member"
    assert await snapshot(huarong.db) == before

    keyed = write(tmp_path, "姓名,编号,单位,类别\n王芳,wangfang2,acme,党员\n", name="keyed.csv")
    report = await handle.execute(members_command(keyed), actor=SYSTEM)
    assert (report.created, report.updated) == (0, 1)
    wangs = [m for m in await members(handle) if m.display_name == "王芳"]
    assert [(m.id, m.categories) for m in wangs if m.categories] == [
        (second.id, frozenset({"party_member"}))
    ]


async def test_same_name_in_another_organization_is_another_member(
    community: Pair, tmp_path: Path
) -> None:
    _, handle = community
    path = write(
        tmp_path,
        "名称\n怀川云商科技有限公司\n",
        name="organizations.csv",
    )
    await handle.execute(organizations_command(path), actor=SYSTEM)
    people = write(tmp_path, "姓名,单位\nAlice,怀川云商科技有限公司\n", name="members.csv")

    report = await handle.execute(members_command(people), actor=SYSTEM)

    assert report.created == 1
    assert len([m for m in await members(handle) if m.display_name == "Alice"]) == 2


# --- who may import -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["alice", "staff"])
async def test_members_without_manage_rights_may_not_import(
    community: Pair, tmp_path: Path, key: str
) -> None:
    huarong, handle = community
    actor = await actor_for(handle, key)
    before = await snapshot(huarong.db)

    with pytest.raises(PermissionDenied) as organizations_refused:
        await handle.execute(organizations_command(write(tmp_path, ORGANIZATIONS)), actor=actor)
    with pytest.raises(PermissionDenied) as members_refused:
        await handle.execute(members_command(write(tmp_path, MEMBERS)), actor=actor)

    assert organizations_refused.value.permission == "manage_organizations"
    assert members_refused.value.permission == "manage_members"
    assert await snapshot(huarong.db) == before


async def test_admin_member_may_import_and_is_audited(community: Pair, tmp_path: Path) -> None:
    _, handle = community
    admin = await actor_for(handle, "admin")

    report: ImportReport = await handle.execute(
        organizations_command(write(tmp_path, ORGANIZATIONS)), actor=admin
    )

    assert report.created == 3
    entry = (await handle.execute(ListAuditEntries(action="import.apply"), actor=SYSTEM))[0]
    assert entry.actor == admin
    registered = await handle.execute(
        ListAuditEntries(action="organization.register"), actor=SYSTEM
    )
    assert {e.details["name"] for e in registered if e.actor == admin} == {
        "怀川云商科技有限公司",
        "恒泽保险代理有限公司",
        "知行书院教育科技有限公司",
    }


# --- progress -------------------------------------------------------------------------


async def test_progress_reporter_hears_every_row(community: Pair, tmp_path: Path) -> None:
    _, handle = community
    heard: list[tuple[int, int]] = []

    def listen(done: int, total: int) -> None:
        heard.append((done, total))

    token = progress_reporter.set(listen)
    try:
        await handle.execute(
            organizations_command(write(tmp_path, BAD_ORGANIZATIONS), partial=True), actor=SYSTEM
        )
    finally:
        progress_reporter.reset(token)

    assert heard == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_no_progress_reporter_by_default(community: Pair, tmp_path: Path) -> None:
    _, handle = community
    assert progress_reporter.get() is None
    report = await handle.execute(
        organizations_command(write(tmp_path, ORGANIZATIONS)), actor=SYSTEM
    )
    assert report.created == 3
