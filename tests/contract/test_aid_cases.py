"""Aid cases (帮扶): visible only to the staff a case names, every read audited, no leaks.

An aid case is invisible to every role but the named staff, in every
listing and export; reading one without being named is refused in the
reader's language, changes nothing but the audit log, and is audited.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import attrs
import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle, Delivery
from huarong_core.commands import (
    AddAidAction,
    AidCaseDetails,
    AidCategory,
    AidStatus,
    AwardPoints,
    Board,
    ChangeAidStatus,
    FindOrganization,
    GetAidCase,
    GetLeaderboard,
    GetMember,
    GetOrganizationReport,
    ListAidCases,
    ListAuditEntries,
    ListMembers,
    ListRoleGrants,
    NameAidStaff,
    OpenAidCase,
    Query,
    RevokeRole,
    UnnameAidStaff,
)
from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.roles import Role, Scope
from huarong_core.errors import (
    AidCaseAccessDenied,
    AlreadyExists,
    AuditedRefusal,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from huarong_core.i18n import render_error
from huarong_core.serialization import converter
from huarong_core.services.context import Context
from huarong_core.services.registry import handles
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

AID_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "party"
name = { zh_CN = "党群服务站", en = "Party-masses station" }

[[members]]
key = "carer"
name = "Carer"

[[members]]
key = "colleague"
name = "Colleague"

[[members]]
key = "leader"
name = "Leader"

[[members]]
key = "helper"
name = "Helper"

[[members]]
key = "wang"
name = "Wang"
organization = "acme"
categories = ["employee"]

[[roles]]
member = "carer"
role = "station_staff"
scope = "station:party"

[[roles]]
member = "colleague"
role = "station_staff"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "party"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:tea"

[[roles]]
member = "helper"
role = "volunteer"
"""
)

NEED = "AIDSECRET-need 心脏手术后需要照顾"
DEED = "AIDSECRET-deed 送去慰问金两千元"
CONTENT_TABLES = {"aid_cases", "aid_actions"}


@pytest.fixture
async def aid(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=AID_COMMUNITY, clock=clock) as pair:
        yield pair


async def actors(handle: CommunityHandle) -> dict[str, Actor]:
    keys = ("admin", "staff", "alice", "carer", "colleague", "leader", "helper", "wang")
    return {key: await actor_for(handle, key) for key in keys}


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


async def open_case(handle: CommunityHandle, who: dict[str, Actor], **more: Any) -> AidCaseDetails:
    """Carer opens a case for Wang, naming Colleague too."""
    options: dict[str, Any] = {"staff": (mid(who["colleague"]),), **more}
    return await handle.execute(
        OpenAidCase(mid(who["wang"]), AidCategory.ILLNESS, NEED, **options), actor=who["carer"]
    )


async def audit_entries(handle: CommunityHandle) -> list[AuditEntry]:
    """Every audit entry, oldest first."""
    entries = await handle.execute(ListAuditEntries(limit=500), actor=SYSTEM)
    return list(reversed(entries))


async def outbox(huarong: Huarong, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT kind, payload FROM outbox ORDER BY id")
    found = []
    for row in rows:
        if row["kind"].startswith(prefix):
            payload = row["payload"]
            found.append(
                (row["kind"], json.loads(payload) if isinstance(payload, str) else payload)
            )
    return found


def without_audit(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {table: content for table, content in rows.items() if table != "audit_log"}


async def expect_refused(
    huarong: Huarong, handle: CommunityHandle, command: Any, actor: Actor, case_id: int
) -> AidCaseAccessDenied:
    """The command is refused, nothing changes but one audit entry of the refused attempt."""
    before = await snapshot(huarong.db)
    audit_before = len(await audit_entries(handle))
    with pytest.raises(AidCaseAccessDenied) as refused:
        await handle.execute(command, actor=actor)
    after = await snapshot(huarong.db)
    assert without_audit(after) == without_audit(before)
    entries = await audit_entries(handle)
    assert len(entries) == audit_before + 1
    entry = entries[-1]
    assert (entry.action, entry.target) == ("aid.read_refused", f"aid_case:{case_id}")
    assert entry.actor == actor
    assert entry.details == {"command": type(command).__name__}
    assert refused.value.case_id == case_id
    return refused.value


# --- opening and reading --------------------------------------------------------------


async def test_the_opener_and_the_named_staff_read_it_and_each_read_is_audited(
    aid: Pair, clock: FrozenClock
) -> None:
    huarong, handle = aid
    # Reads are commands: a query's read-only snapshot could not write their audit entry.
    assert not issubclass(GetAidCase, Query)
    assert not issubclass(ListAidCases, Query)
    who = await actors(handle)
    opened = await open_case(handle, who)
    case = opened.case
    assert (case.member_id, case.category, case.description) == (
        mid(who["wang"]),
        AidCategory.ILLNESS,
        NEED,
    )
    assert case.status is AidStatus.OPEN
    assert case.opened_by == who["carer"].label
    assert [s.member_id for s in opened.staff] == sorted([mid(who["carer"]), mid(who["colleague"])])
    assert opened.actions == ()

    for reader in ("carer", "colleague"):
        before = len(await audit_entries(handle))
        details = await handle.execute(GetAidCase(case.id), actor=who[reader])
        assert details.case == case
        entries = await audit_entries(handle)
        assert len(entries) == before + 1
        assert (entries[-1].action, entries[-1].target) == ("aid.read", f"aid_case:{case.id}")
        assert entries[-1].actor == who[reader]
        assert entries[-1].details == {}

    # Only the newly named colleague is told, and of nothing but the case number.
    assert await outbox(huarong, "aid.") == [
        ("aid.staff_named", {"case_id": case.id, "recipients": [mid(who["colleague"])]})
    ]


async def test_every_other_role_is_refused_in_their_language_and_audited(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    # admin, other station staff, club leader, volunteer, member, the member in difficulty
    for key in ("admin", "staff", "leader", "helper", "alice", "wang"):
        refused = await expect_refused(huarong, handle, GetAidCase(case.id), who[key], case.id)
        assert "#" + str(case.id) in render_error(refused, "en")
        assert "Aid case" in render_error(refused, "en")
        assert "帮扶档案" in render_error(refused, "zh_CN")
        assert refused.exit_code == 4
        assert isinstance(refused, AuditedRefusal)
        # ... and their listing is empty, reads nothing and writes nothing.
        before = await snapshot(huarong.db)
        listed = await handle.execute(ListAidCases(), actor=who[key])
        assert (listed.items, listed.total) == ((), 0)
        assert await snapshot(huarong.db) == before


async def test_system_actors_are_never_named_so_never_read(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    for system in (SYSTEM, Actor.system("cli"), Actor.system("scheduler"), Actor.system("relay")):
        await expect_refused(huarong, handle, GetAidCase(case.id), system, case.id)
        listed = await handle.execute(ListAidCases(), actor=system)
        assert listed.items == ()


async def test_changes_by_anyone_not_named_are_refused_and_audited(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    admin = who["admin"]
    for command in (
        AddAidAction(case.id, "a visit"),
        ChangeAidStatus(case.id, AidStatus.IN_PROGRESS),
        NameAidStaff(case.id, mid(admin)),  # an admin cannot name themselves in
        UnnameAidStaff(case.id, mid(who["colleague"])),
    ):
        await expect_refused(huarong, handle, command, admin, case.id)
    await expect_refused(huarong, handle, AddAidAction(case.id, "x"), SYSTEM, case.id)


async def test_a_case_that_does_not_exist_gets_the_same_refusal(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    await open_case(handle, who)
    await expect_refused(huarong, handle, GetAidCase(999), who["carer"], 999)
    await expect_refused(huarong, handle, GetAidCase(999), who["admin"], 999)


# --- the workflow -------------------------------------------------------------------------


async def test_status_walks_legal_transitions_only(aid: Pair, clock: FrozenClock) -> None:
    huarong, handle = aid
    who = await actors(handle)
    carer = who["carer"]
    case = (await open_case(handle, who)).case

    async def refused(wanted: AidStatus) -> None:
        before = await snapshot(huarong.db)
        with pytest.raises(InvalidTransition) as caught:
            await handle.execute(ChangeAidStatus(case.id, wanted), actor=carer)
        assert caught.value.entity == "aid_case"
        assert await snapshot(huarong.db) == before

    await refused(AidStatus.OPEN)
    clock.advance(hours=1)
    moved = await handle.execute(ChangeAidStatus(case.id, AidStatus.IN_PROGRESS), actor=carer)
    assert moved.status is AidStatus.IN_PROGRESS
    assert moved.updated_at == clock.now()
    await refused(AidStatus.OPEN)
    await refused(AidStatus.IN_PROGRESS)
    closed = await handle.execute(ChangeAidStatus(case.id, AidStatus.CLOSED), actor=carer)
    assert (closed.status, closed.closed_at) == (AidStatus.CLOSED, clock.now())
    await refused(AidStatus.IN_PROGRESS)
    await refused(AidStatus.CLOSED)
    reopened = await handle.execute(ChangeAidStatus(case.id, AidStatus.OPEN), actor=carer)
    assert (reopened.status, reopened.closed_at) == (AidStatus.OPEN, None)
    # straight from open to closed (help was not needed after all)
    closed = await handle.execute(ChangeAidStatus(case.id, AidStatus.CLOSED), actor=carer)
    assert closed.status is AidStatus.CLOSED
    statuses = [
        (e.action, e.details) for e in await audit_entries(handle) if e.action == "aid.status"
    ]
    assert statuses == [
        ("aid.status", {"status": "in_progress"}),
        ("aid.status", {"status": "closed"}),
        ("aid.status", {"status": "open"}),
        ("aid.status", {"status": "closed"}),
    ]
    # The other named staff hear that the case changed, and nothing else.
    updates = [p for kind, p in await outbox(huarong, "aid.") if kind == "aid.case_updated"]
    assert updates == [{"case_id": case.id, "recipients": [mid(who["colleague"])]}] * 4


async def test_actions_are_dated_numbered_and_listed_in_order(
    aid: Pair, clock: FrozenClock
) -> None:
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    # 2026-07-01 09:00 UTC is 17:00 in Shanghai; at 20:00 UTC it is already the 2nd there.
    clock.advance(hours=11)
    first = await handle.execute(AddAidAction(case.id, DEED), actor=who["colleague"])
    assert (first.number, first.taken_on, first.by_member) == (
        1,
        date(2026, 7, 2),
        mid(who["colleague"]),
    )
    second = await handle.execute(
        AddAidAction(case.id, "  hospital visit  ", taken_on=date(2026, 6, 20)), actor=who["carer"]
    )
    assert (second.number, second.text, second.taken_on) == (2, "hospital visit", date(2026, 6, 20))
    before = await snapshot(huarong.db)
    for bad, reason in (
        (AddAidAction(case.id, "later", taken_on=date(2026, 7, 3)), "in_the_future"),
        (AddAidAction(case.id, "   "), "empty"),
        (AddAidAction(case.id, "x" * 4001), "too_long"),
        (AddAidAction(case.id, "bell\x07"), "control_characters"),
    ):
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(bad, actor=who["carer"])
        assert caught.value.reason == reason
        assert "x" * 30 not in caught.value.value
    assert await snapshot(huarong.db) == before
    details = await handle.execute(GetAidCase(case.id), actor=who["carer"])
    assert [(a.number, a.text) for a in details.actions] == [(1, DEED), (2, "hospital visit")]
    assert details.case.updated_at == clock.now()
    updates = [p for kind, p in await outbox(huarong, "aid.") if kind == "aid.case_updated"]
    assert updates == [
        {"case_id": case.id, "recipients": [mid(who["carer"])]},
        {"case_id": case.id, "recipients": [mid(who["colleague"])]},
    ]


# --- naming staff --------------------------------------------------------------------------


async def test_naming_needs_staff_and_never_the_member_in_difficulty(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    carer = who["carer"]
    case = (await open_case(handle, who)).case
    before = await snapshot(huarong.db)
    for key, reason in (
        ("alice", "not_aid_staff"),
        ("leader", "not_aid_staff"),
        ("helper", "not_aid_staff"),
        ("wang", "aid_own_case"),
    ):
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(NameAidStaff(case.id, mid(who[key])), actor=carer)
        assert (caught.value.field, caught.value.reason) == ("staff", reason)
    with pytest.raises(AlreadyExists):
        await handle.execute(NameAidStaff(case.id, mid(who["colleague"])), actor=carer)
    with pytest.raises(NotFound):
        await handle.execute(NameAidStaff(case.id, 999), actor=carer)
    assert await snapshot(huarong.db) == before

    # An admin holds every permission, so may be named; then, and only then, reads.
    staff = await handle.execute(NameAidStaff(case.id, mid(who["admin"])), actor=carer)
    assert mid(who["admin"]) in {s.member_id for s in staff}
    assert (await handle.execute(GetAidCase(case.id), actor=who["admin"])).case == case
    named = [e for e in await audit_entries(handle) if e.action == "aid.staff_named"]
    assert [(e.target, e.details) for e in named] == [
        (f"aid_case:{case.id}", {"staff": mid(who["colleague"])}),
        (f"aid_case:{case.id}", {"staff": mid(who["admin"])}),
    ]
    events = await outbox(huarong, "aid.")
    assert ("aid.staff_named", {"case_id": case.id, "recipients": [mid(who["admin"])]}) in events
    assert ("aid.case_updated", {"case_id": case.id, "recipients": [mid(who["colleague"])]}) in (
        events
    )


async def test_unnaming_keeps_one_and_the_unnamed_lose_access(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    carer, colleague = who["carer"], who["colleague"]
    case = (await open_case(handle, who)).case
    with pytest.raises(NotFound):
        await handle.execute(UnnameAidStaff(case.id, mid(who["admin"])), actor=carer)
    # One may take oneself off a case; then it is closed to one like to anyone.
    left = await handle.execute(UnnameAidStaff(case.id, mid(carer)), actor=carer)
    assert [s.member_id for s in left] == [mid(colleague)]
    await expect_refused(huarong, handle, GetAidCase(case.id), carer, case.id)
    assert (await handle.execute(ListAidCases(), actor=carer)).items == ()
    before = await snapshot(huarong.db)
    with pytest.raises(InvalidValue) as caught:
        await handle.execute(UnnameAidStaff(case.id, mid(colleague)), actor=colleague)
    assert caught.value.reason == "aid_last_staff"
    assert await snapshot(huarong.db) == before
    unnamed = [e for e in await audit_entries(handle) if e.action == "aid.staff_unnamed"]
    assert [e.details for e in unnamed] == [{"staff": mid(carer)}]


async def test_staff_who_lose_their_role_lose_their_cases(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    await handle.execute(
        RevokeRole(mid(who["colleague"]), Role.STATION_STAFF, Scope.community()), actor=SYSTEM
    )
    await expect_refused(huarong, handle, GetAidCase(case.id), who["colleague"], case.id)
    assert (await handle.execute(ListAidCases(), actor=who["colleague"])).items == ()


# --- opening: who may, and bad input -----------------------------------------------------


async def test_opening_rules(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    wang = mid(who["wang"])
    before = await snapshot(huarong.db)
    for actor in (who["alice"], who["leader"], who["helper"], who["wang"]):
        with pytest.raises(PermissionDenied):
            await handle.execute(OpenAidCase(wang, AidCategory.WORK, NEED), actor=actor)
    bad: list[tuple[OpenAidCase, Actor, str]] = [
        (OpenAidCase(wang, AidCategory.WORK, " "), who["carer"], "empty"),
        (OpenAidCase(wang, AidCategory.WORK, "x" * 4001), who["carer"], "too_long"),
        (OpenAidCase(mid(who["carer"]), AidCategory.WORK, NEED), who["carer"], "aid_own_case"),
        (OpenAidCase(wang, AidCategory.WORK, NEED, (wang,)), who["carer"], "aid_own_case"),
        (
            OpenAidCase(wang, AidCategory.WORK, NEED, (mid(who["alice"]),)),
            who["carer"],
            "not_aid_staff",
        ),
        (OpenAidCase(wang, AidCategory.WORK, NEED), SYSTEM, "aid_staff_required"),
        (OpenAidCase(wang, "debts", NEED), who["carer"], "unknown_aid_category"),  # type: ignore[arg-type]
    ]
    for command, actor, reason in bad:
        with pytest.raises(InvalidValue) as caught:
            await handle.execute(command, actor=actor)
        assert caught.value.reason == reason
        assert "AIDSECRET" not in caught.value.value
    with pytest.raises(NotFound):
        await handle.execute(OpenAidCase(999, AidCategory.WORK, NEED), actor=who["carer"])
    assert await snapshot(huarong.db) == before

    # The operator may open a case for named staff; it is not named itself, so cannot read it.
    opened = await handle.execute(
        OpenAidCase(wang, AidCategory.HARDSHIP, NEED, (mid(who["carer"]),)), actor=SYSTEM
    )
    assert [s.member_id for s in opened.staff] == [mid(who["carer"])]
    await expect_refused(huarong, handle, GetAidCase(opened.case.id), SYSTEM, opened.case.id)
    # The opener need not list themselves; listing themselves names them once.
    again = await handle.execute(
        OpenAidCase(wang, AidCategory.FAMILY, NEED, (mid(who["staff"]), mid(who["staff"]))),
        actor=who["staff"],
    )
    assert [s.member_id for s in again.staff] == [mid(who["staff"])]


# --- listing ----------------------------------------------------------------------------------


async def test_listing_shows_only_ones_own_cases_and_audits_each(
    aid: Pair, clock: FrozenClock
) -> None:
    huarong, handle = aid
    who = await actors(handle)
    carer, colleague = who["carer"], who["colleague"]
    first = (await open_case(handle, who)).case
    clock.advance(minutes=5)
    second = (
        await handle.execute(
            OpenAidCase(mid(who["alice"]), AidCategory.HARDSHIP, "rent"), actor=carer
        )
    ).case
    third = (
        await handle.execute(
            OpenAidCase(mid(who["wang"]), AidCategory.WORK, "job"), actor=who["staff"]
        )
    ).case
    await handle.execute(ChangeAidStatus(second.id, AidStatus.IN_PROGRESS), actor=carer)

    before = len(await audit_entries(handle))
    page = await handle.execute(ListAidCases(), actor=carer)
    assert [c.id for c in page.items] == [second.id, first.id]
    assert page.total == 2
    entries = (await audit_entries(handle))[before:]
    assert [(e.action, e.target, e.details) for e in entries] == [
        ("aid.read", f"aid_case:{second.id}", {"via": "list"}),
        ("aid.read", f"aid_case:{first.id}", {"via": "list"}),
    ]
    only = await handle.execute(ListAidCases(status=AidStatus.IN_PROGRESS), actor=carer)
    assert [c.id for c in only.items] == [second.id]
    about = await handle.execute(ListAidCases(member_id=mid(who["wang"])), actor=carer)
    assert [c.id for c in about.items] == [first.id]
    paged = await handle.execute(ListAidCases(offset=1, limit=1), actor=carer)
    assert ([c.id for c in paged.items], paged.total, paged.has_more) == ([first.id], 2, False)
    assert [c.id for c in (await handle.execute(ListAidCases(), actor=colleague)).items] == [
        first.id
    ]
    assert [c.id for c in (await handle.execute(ListAidCases(), actor=who["staff"])).items] == [
        third.id
    ]
    # a listing that shows nothing writes nothing
    snap = await snapshot(huarong.db)
    empty = await handle.execute(ListAidCases(status=AidStatus.CLOSED), actor=carer)
    assert empty.items == ()
    assert await snapshot(huarong.db) == snap


# --- nothing leaks elsewhere ------------------------------------------------------------------


async def elsewhere(handle: CommunityHandle, who: dict[str, Actor]) -> dict[str, Any]:
    """What every other listing, profile, board and report shows an unnamed admin."""
    admin = who["admin"]
    acme = await handle.execute(FindOrganization("acme"), actor=admin)
    wang = mid(who["wang"])
    found: dict[str, Any] = {
        "members": await handle.execute(ListMembers(limit=500), actor=admin),
        "wang_by_admin": await handle.execute(GetMember(wang), actor=admin),
        "wang_by_wang": await handle.execute(GetMember(wang), actor=who["wang"]),
        "grants": await handle.execute(ListRoleGrants(), actor=admin),
        "report": await handle.execute(
            GetOrganizationReport(acme.id, date(2026, 1, 1), date(2026, 12, 31)), actor=admin
        ),
    }
    for board, key in ((Board.ALL_TIME, None), (Board.ORGANIZATION, str(acme.id))):
        found[f"board_{board}"] = await handle.execute(GetLeaderboard(board, key), actor=admin)
    return found


async def test_nothing_of_a_case_shows_anywhere_else(aid: Pair, clock: FrozenClock) -> None:
    huarong, handle = aid
    who = await actors(handle)
    for key, points in (("wang", 7), ("alice", 5)):
        await handle.execute(AwardPoints(mid(who[key]), points, reason="salon"), actor=SYSTEM)
    seen_before = await elsewhere(handle, who)

    clock.advance(hours=1)
    case = (await open_case(handle, who)).case
    await handle.execute(AddAidAction(case.id, DEED), actor=who["carer"])
    await handle.execute(ChangeAidStatus(case.id, AidStatus.IN_PROGRESS), actor=who["colleague"])
    await handle.execute(GetAidCase(case.id), actor=who["colleague"])
    await handle.execute(ListAidCases(), actor=who["carer"])
    with pytest.raises(AidCaseAccessDenied):
        await handle.execute(GetAidCase(case.id), actor=who["admin"])

    assert await elsewhere(handle, who) == seen_before

    # The audit log says that case #N was opened, read, changed, refused: by whom and
    # when (what an access log is for), never whose it is or what it holds.
    aid_entries = [e for e in await audit_entries(handle) if e.action.startswith("aid.")]
    assert {e.action for e in aid_entries} == {
        "aid.open",
        "aid.staff_named",
        "aid.action_added",
        "aid.status",
        "aid.read",
        "aid.read_refused",
    }
    for entry in aid_entries:
        assert entry.target == f"aid_case:{case.id}"
        assert set(entry.details) <= {"staff", "number", "status", "via", "command"}
        assert entry.details.get("staff") != mid(who["wang"])
    everything = await handle.execute(ListAuditEntries(limit=500), actor=who["admin"])
    assert "AIDSECRET" not in json.dumps(converter.unstructure(everything), ensure_ascii=False)
    about_aid = json.dumps(converter.unstructure(aid_entries), ensure_ascii=False)
    assert "illness" not in about_aid
    assert "Wang" not in about_aid
    assert f"member:{mid(who['wang'])}" not in about_aid

    # Outbox events go to named staff only, with the case number and nothing else.
    named = {mid(who["carer"]), mid(who["colleague"])}
    events = await outbox(huarong, "aid.")
    assert events
    for _, payload in events:
        assert set(payload) == {"case_id", "recipients"}
        assert set(payload["recipients"]) <= named

    # The content is in the aid tables and nowhere else in the database.
    rows = await snapshot(huarong.db)
    holding = {table for table, content in rows.items() if "AIDSECRET" in repr(content)}
    assert holding == CONTENT_TABLES


# --- the audited refusal in CommunityHandle.execute ----------------------------------------


async def test_a_redelivered_read_runs_again_and_nothing_of_it_is_stored(aid: Pair) -> None:
    """Reads of a case are never remembered: the deliveries table would hold a copy of
    the case, and a replay would skip both the check that the reader is still named and
    the audit entry. Reading again changes nothing but another audited read."""
    huarong, handle = aid
    who = await actors(handle)
    case = (await open_case(handle, who)).case
    delivery = Delivery("telegram", "update-77")
    for _ in range(2):
        before = len(await audit_entries(handle))
        details = await handle.execute(GetAidCase(case.id), actor=who["carer"], delivery=delivery)
        assert details.case == case
        assert len(await audit_entries(handle)) == before + 1
        await expect_refused(huarong, handle, GetAidCase(case.id), who["admin"], case.id)
        with pytest.raises(AidCaseAccessDenied):
            await handle.execute(GetAidCase(case.id), actor=who["admin"], delivery=delivery)
    async with huarong.db.read() as conn:
        stored = await conn.fetch("SELECT * FROM deliveries")
    assert NEED not in repr([dict(r) for r in stored])
    assert not [r for r in stored if r["delivery_id"] == "update-77"]


@attrs.frozen
class _PeekAtCase(Query[int]):
    """A query refusing with an `AuditedRefusal`: the marker holds on the read path too."""

    case_id: int


@handles(_PeekAtCase)
async def _peek(ctx: Context, cmd: _PeekAtCase) -> int:
    raise AidCaseAccessDenied(case_id=cmd.case_id)


async def test_an_audited_refusal_from_a_query_is_audited_too(aid: Pair) -> None:
    huarong, handle = aid
    who = await actors(handle)
    await expect_refused(huarong, handle, _PeekAtCase(5), who["alice"], 5)
