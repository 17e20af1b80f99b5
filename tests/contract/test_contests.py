"""Contests (scores, ranking, finalizing) and challenges (teams, checkpoints, the board),
on every backend.

The frozen clock starts at 2026-07-01 09:00 UTC; events are created an hour
ahead and the clock is moved into them when the test needs them running.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from huarong_core import Actor, Huarong, ListAuditEntries, ListMembers, LocalizedText
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    AddCheckpoint,
    ChallengeTeam,
    CreateEvent,
    CreateTeam,
    DefinePointsRule,
    FinalizeContest,
    GetChallengeBoard,
    GetContestRanking,
    GetPointsStatement,
    JoinTeam,
    ReachCheckpoint,
    RecordContestScore,
    RegisterMember,
    SetMemberStatus,
)
from huarong_core.config import FiltersEntry, RuleEntry
from huarong_core.domain.gatherings import EventType, Gathering, Ranking
from huarong_core.domain.members import MemberStatus
from huarong_core.errors import (
    AlreadyExists,
    CheckInRefused,
    GatheringNotOpen,
    HuarongError,
    InvalidValue,
    MemberInactive,
    NotFound,
    PermissionDenied,
    WrongCheckpointCode,
)
from huarong_core.services.contests import CHECKPOINT_TRIES_WINDOW, MAX_CHECKPOINT_TRIES
from huarong_core.testing import FrozenClock, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

CHECKPOINTS = (("Library", "lib42"), ("Fountain", "FOUNT7"), ("Rooftop", "Roof99"))


async def ids(handle: CommunityHandle) -> dict[str, int]:
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    return {m.key: m.id for m in page.items if m.key is not None}


async def people(handle: CommunityHandle, *keys: str) -> dict[str, Actor]:
    """Actors for the sample members and for extra members registered under `keys`."""
    for key in keys:
        await handle.execute(RegisterMember(key.title(), key=key), actor=SYSTEM)
    found = {}
    for key in ("admin", "staff", "alice", *keys):
        found[key] = await actor_for(handle, key)
    return found


async def event(
    handle: CommunityHandle,
    clock: FrozenClock,
    event_type: EventType,
    *,
    ranking: Ranking = Ranking.HIGH,
    checkpoints: tuple[tuple[str, str], ...] = (),
    title: str = "Quiz night",
) -> Gathering:
    start = clock.now() + timedelta(hours=1)
    return await handle.execute(
        CreateEvent(
            title=LocalizedText({"en": title}),
            event_type=event_type,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            ranking=ranking,
            checkpoints=checkpoints,
        ),
        actor=SYSTEM,
    )


async def balance(handle: CommunityHandle, member_id: int) -> int:
    return (await handle.execute(GetPointsStatement(member_id), actor=SYSTEM)).balance


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows
    ]


def same(error: BaseException, expected: HuarongError) -> bool:
    """Errors compare by identity; these compare by class and data."""
    return (
        type(error) is type(expected)
        and isinstance(error, HuarongError)
        and (error.params() == expected.params())
    )


def rule(key: str, trigger: str, points: int, *tags: str) -> DefinePointsRule:
    return DefinePointsRule(
        RuleEntry(
            key=key,
            name=LocalizedText({"en": key}),
            trigger=trigger,
            points=points,
            filters=FiltersEntry(tags=tags),
        )
    )


# --- contests ------------------------------------------------------------------------


async def test_scores_corrections_and_a_ranking_with_ties(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    who = await people(handle, "bob")
    member = await ids(handle)
    admin = who["admin"]
    quiz = await event(handle, clock, EventType.CONTEST)

    def score(key: str, value: str) -> RecordContestScore:
        return RecordContestScore(quiz.id, value, member_id=member[key])

    first = await handle.execute(score("alice", "90"), actor=admin)
    assert (first.place, first.entrant, first.label, first.score) == (
        1,
        f"member:{member['alice']}",
        "Alice",
        90.0,
    )
    await handle.execute(score("bob", " 90.0 "), actor=admin)
    third = await handle.execute(score("staff", "80"), actor=admin)
    assert third.place == 3
    ranking = await handle.execute(GetContestRanking(quiz.id), actor=who["alice"])
    assert [(p.place, p.label, p.score) for p in ranking] == [
        (1, "Alice", 90.0),
        (1, "Bob", 90.0),
        (3, "Staff", 80.0),
    ]

    # A correction replaces the score, and the audit log keeps the one it replaced.
    corrected = await handle.execute(score("staff", "95.5"), actor=admin)
    assert (corrected.place, corrected.score) == (1, 95.5)
    ranking = await handle.execute(GetContestRanking(quiz.id), actor=who["alice"])
    assert [(p.place, p.label) for p in ranking] == [(1, "Staff"), (2, "Alice"), (2, "Bob")]
    entries = await handle.execute(ListAuditEntries(action="contest.score"), actor=SYSTEM)
    assert len(entries) == 4
    assert entries[0].details == {
        "entrant": f"member:{member['staff']}",
        "score": "95.5",
        "previous": "80",
    }
    assert entries[0].actor == admin

    # The same score again changes nothing and logs nothing.
    await handle.execute(score("staff", "95.5"), actor=admin)
    unchanged = await handle.execute(ListAuditEntries(action="contest.score"), actor=SYSTEM)
    assert len(unchanged) == 4


async def test_team_entrants_rank_lowest_first_with_their_names(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    who = await people(handle, "bob")
    relay = await event(handle, clock, EventType.CONTEST, ranking=Ranking.LOW, title="Relay")
    red = await handle.execute(CreateTeam(relay.id, "Red"), actor=who["alice"])
    blue = await handle.execute(CreateTeam(relay.id, "Blue"), actor=who["bob"])
    await handle.execute(RecordContestScore(relay.id, "61.2", team_id=red.id), actor=SYSTEM)
    await handle.execute(RecordContestScore(relay.id, "58.9", team_id=blue.id), actor=SYSTEM)
    ranking = await handle.execute(GetContestRanking(relay.id), actor=who["bob"])
    assert [(p.place, p.entrant, p.label) for p in ranking] == [
        (1, f"team:{blue.id}", "Blue"),
        (2, f"team:{red.id}", "Red"),
    ]


async def test_bad_score_entries_are_refused(community: Pair, clock: FrozenClock) -> None:
    huarong, handle = community
    member = await ids(handle)
    quiz = await event(handle, clock, EventType.CONTEST)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    before = await snapshot(huarong.db)

    async def refused(cmd: RecordContestScore) -> HuarongError:
        with pytest.raises(HuarongError) as caught:
            await handle.execute(cmd, actor=SYSTEM)
        return caught.value

    alice = member["alice"]

    async def refused_with(cmd: RecordContestScore, expected: HuarongError) -> None:
        error = await refused(cmd)
        assert same(error, expected), error.params()

    for text in ("ninety", "nan", "1e999", ""):
        await refused_with(
            RecordContestScore(quiz.id, text, member_id=alice),
            InvalidValue(field="score", value=text, reason="not_a_number"),
        )
    no_entrant = InvalidValue(field="entrant", value="-", reason="member_or_team")
    await refused_with(RecordContestScore(quiz.id, "1", member_id=alice, team_id=1), no_entrant)
    await refused_with(RecordContestScore(quiz.id, "1"), no_entrant)
    await refused_with(
        RecordContestScore(quiz.id, "1", team_id=999), NotFound(entity="team", ref="#999")
    )
    await refused_with(
        RecordContestScore(hunt.id, "1", member_id=alice),
        InvalidValue(field="gathering", value=hunt.ref, reason="not_a_contest"),
    )
    await refused_with(
        RecordContestScore(9999, "1", member_id=alice), NotFound(entity="gathering", ref="#9999")
    )
    assert await snapshot(huarong.db) == before

    await handle.execute(SetMemberStatus(alice, MemberStatus.SUSPENDED), actor=SYSTEM)
    inactive = await refused(RecordContestScore(quiz.id, "1", member_id=alice))
    assert isinstance(inactive, MemberInactive)


async def test_members_cannot_enter_scores_or_finalize(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    who = await people(handle)
    member = await ids(handle)
    quiz = await event(handle, clock, EventType.CONTEST)
    with pytest.raises(PermissionDenied):
        await handle.execute(
            RecordContestScore(quiz.id, "100", member_id=member["alice"]), actor=who["alice"]
        )
    clock.advance(hours=2)
    with pytest.raises(PermissionDenied):
        await handle.execute(FinalizeContest(quiz.id), actor=who["alice"])
    # Staff of one station do not run a community-wide contest.
    with pytest.raises(PermissionDenied):
        await handle.execute(
            RecordContestScore(quiz.id, "100", member_id=member["alice"]), actor=who["staff"]
        )
    assert await handle.execute(GetContestRanking(quiz.id), actor=who["alice"]) == ()


async def test_finalizing_freezes_the_ranking_and_awards_places_once(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, handle = community
    who = await people(handle, "bob", "carol", "dave")
    member = await ids(handle)
    await handle.execute(rule("winner", "contest.placed", 50, "place_1"), actor=SYSTEM)
    await handle.execute(rule("podium", "contest.placed", 10, "podium"), actor=SYSTEM)
    quiz = await event(handle, clock, EventType.CONTEST)
    team = await handle.execute(CreateTeam(quiz.id, "Owls"), actor=who["carol"])
    await handle.execute(JoinTeam(quiz.id, team.id), actor=who["dave"])
    admin = who["admin"]
    for key, value in (("alice", "7"), ("bob", "9"), ("staff", "3"), ("admin", "1")):
        await handle.execute(RecordContestScore(quiz.id, value, member_id=member[key]), actor=admin)
    await handle.execute(RecordContestScore(quiz.id, "9", team_id=team.id), actor=admin)

    with pytest.raises(GatheringNotOpen) as early:
        await handle.execute(FinalizeContest(quiz.id), actor=admin)
    assert early.value.reason == "not_started"

    clock.advance(hours=2)
    places = await handle.execute(FinalizeContest(quiz.id), actor=admin)
    assert [(p.place, p.label) for p in places] == [
        (1, "Bob"),
        (1, "Owls"),
        (3, "Alice"),
        (4, "Staff"),
        (5, "Admin"),
    ]
    # First place: the winner's 50 and the podium's 10, for Bob and each of the Owls.
    assert [await balance(handle, member[k]) for k in ("bob", "carol", "dave")] == [60, 60, 60]
    assert await balance(handle, member["alice"]) == 10
    assert await balance(handle, member["staff"]) == 0
    assert await balance(handle, member["admin"]) == 0
    [finalized] = await events_of(huarong, "contest.finalized")
    assert finalized["gathering_id"] == quiz.id
    assert finalized["podium"] == [
        f"member:{member['bob']}",
        f"team:{team.id}",
        f"member:{member['alice']}",
    ]

    # Frozen: no second finalize, no more scores, no new points.
    with pytest.raises(GatheringNotOpen) as again:
        await handle.execute(FinalizeContest(quiz.id), actor=admin)
    assert again.value.reason == "finalized"
    with pytest.raises(GatheringNotOpen) as late:
        await handle.execute(
            RecordContestScore(quiz.id, "100", member_id=member["alice"]), actor=admin
        )
    assert late.value.reason == "finalized"
    assert await balance(handle, member["bob"]) == 60
    assert len(await events_of(huarong, "contest.finalized")) == 1
    ranking = await handle.execute(GetContestRanking(quiz.id), actor=who["alice"])
    assert ranking == places


# --- challenges ----------------------------------------------------------------------


async def test_teams_have_unique_names_and_one_team_per_member(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    who = await people(handle, "bob", "carol")
    member = await ids(handle)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    foxes = await handle.execute(CreateTeam(hunt.id, "  Foxes "), actor=who["alice"])
    assert foxes == ChallengeTeam(foxes.id, hunt.id, "Foxes", (member["alice"],), None)

    with pytest.raises(AlreadyExists) as taken:
        await handle.execute(CreateTeam(hunt.id, "foxes"), actor=who["bob"])
    assert same(taken.value, AlreadyExists(entity="team", ref="foxes"))
    with pytest.raises(AlreadyExists) as twice:
        await handle.execute(CreateTeam(hunt.id, "Hares"), actor=who["alice"])
    assert twice.value.entity == "team_membership"
    with pytest.raises(InvalidValue):
        await handle.execute(CreateTeam(hunt.id, "   "), actor=who["bob"])

    joined = await handle.execute(JoinTeam(hunt.id, foxes.id), actor=who["bob"])
    assert joined.members == (member["alice"], member["bob"])
    assert await handle.execute(JoinTeam(hunt.id, foxes.id), actor=who["bob"]) == joined
    hares = await handle.execute(CreateTeam(hunt.id, "Hares"), actor=who["carol"])
    with pytest.raises(AlreadyExists) as other:
        await handle.execute(JoinTeam(hunt.id, hares.id), actor=who["bob"])
    assert other.value.entity == "team_membership"
    with pytest.raises(NotFound):
        await handle.execute(JoinTeam(hunt.id, 999), actor=who["bob"])
    # Only staff put someone else in a team.
    with pytest.raises(PermissionDenied):
        await handle.execute(JoinTeam(hunt.id, hares.id, member["staff"]), actor=who["carol"])
    clock.advance(minutes=1)  # members list in the order they joined
    placed = await handle.execute(JoinTeam(hunt.id, hares.id, member["staff"]), actor=SYSTEM)
    assert placed.members == (member["carol"], member["staff"])

    lecture = await event(handle, clock, EventType.LECTURE)
    with pytest.raises(InvalidValue) as wrong:
        await handle.execute(CreateTeam(lecture.id, "Owls"), actor=who["alice"])
    assert wrong.value.reason == "no_teams"


async def test_checkpoints_are_numbered_and_codes_checked(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, handle = community
    who = await people(handle)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    added = await handle.execute(AddCheckpoint(hunt.id, "Gate", " gate01 "), actor=who["admin"])
    assert (added.seq, added.name, added.code) == (4, "Gate", "GATE01")

    before = await snapshot(huarong.db)
    for name, code, reason in (
        ("Again", "LIB42", "duplicate_code"),
        ("Again", "Lib42", "duplicate_code"),
        ("Short", "ab", "bad_code"),
        ("Symbols", "ab-12", "bad_code"),
        ("Long", "x" * 33, "bad_code"),
    ):
        with pytest.raises(InvalidValue) as bad:
            await handle.execute(AddCheckpoint(hunt.id, name, code), actor=SYSTEM)
        assert (bad.value.field, bad.value.reason) == ("code", reason)
    with pytest.raises(InvalidValue) as unnamed:
        await handle.execute(AddCheckpoint(hunt.id, " ", "GOOD12"), actor=SYSTEM)
    assert unnamed.value.reason == "empty"
    with pytest.raises(PermissionDenied):
        await handle.execute(AddCheckpoint(hunt.id, "Mine", "MINE12"), actor=who["alice"])
    quiz = await event(handle, clock, EventType.CONTEST)
    with pytest.raises(InvalidValue) as contest:
        await handle.execute(AddCheckpoint(quiz.id, "Gate", "GATE02"), actor=SYSTEM)
    assert contest.value.reason == "not_a_challenge"

    # Creating a challenge with a bad checkpoint list creates nothing at all.
    after_quiz = await snapshot(huarong.db)
    assert after_quiz != before
    with pytest.raises(InvalidValue) as dup:
        await event(
            handle, clock, EventType.CHALLENGE, checkpoints=(("A", "SAME1"), ("B", "same1"))
        )
    assert dup.value.reason == "duplicate_code"
    assert await snapshot(huarong.db) == after_quiz


async def test_a_wrong_code_or_the_wrong_time_changes_nothing(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, handle = community
    who = await people(handle, "bob")
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    team = await handle.execute(CreateTeam(hunt.id, "Foxes"), actor=who["alice"])

    with pytest.raises(GatheringNotOpen) as no_team:
        await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["bob"])
    assert no_team.value.reason == "no_team"
    # The challenge starts in an hour: codes count from half an hour before.
    with pytest.raises(GatheringNotOpen) as early:
        await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["alice"])
    assert early.value.reason == "not_running"

    clock.advance(minutes=30)
    before = await snapshot(huarong.db)
    for code in ("LIB43", "", "lib 4", "FOUNT7X"):
        with pytest.raises(WrongCheckpointCode) as wrong:
            await handle.execute(ReachCheckpoint(hunt.id, code), actor=who["alice"])
        assert same(wrong.value, WrongCheckpointCode(gathering_id=hunt.id, team_id=team.id))
    after = await snapshot(huarong.db)
    # Nothing changed but the record of the wrong tries.
    assert {t: rows for t, rows in after.items() if t != "audit_log"} == {
        t: rows for t, rows in before.items() if t != "audit_log"
    }
    tries = await handle.execute(ListAuditEntries(action="challenge.wrong_code"), actor=SYSTEM)
    assert [e.target for e in tries] == [f"challenge_team:{team.id}"] * 4

    progress = await handle.execute(ReachCheckpoint(hunt.id, " lib 42 "), actor=who["alice"])
    assert (progress.team.id, progress.reached, progress.total) == (team.id, (1,), 3)
    assert progress.last_reached_at == clock.now()

    clock.set(hunt.ends_at + timedelta(seconds=1))
    with pytest.raises(GatheringNotOpen) as late:
        await handle.execute(ReachCheckpoint(hunt.id, "FOUNT7"), actor=who["alice"])
    assert late.value.reason == "not_running"


async def test_a_team_guessing_codes_runs_out_of_tries(community: Pair, clock: FrozenClock) -> None:
    _, handle = community
    who = await people(handle, "bob", "carol")
    member = await ids(handle)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    foxes = await handle.execute(CreateTeam(hunt.id, "Foxes"), actor=who["alice"])
    await handle.execute(JoinTeam(hunt.id, foxes.id), actor=who["bob"])
    owls = await handle.execute(CreateTeam(hunt.id, "Owls"), actor=who["carol"])
    clock.advance(minutes=30)

    # The team's members share one allowance: they cannot pool more guesses.
    for guess in range(MAX_CHECKPOINT_TRIES):
        guesser = who["alice"] if guess % 2 else who["bob"]
        with pytest.raises(WrongCheckpointCode):
            await handle.execute(ReachCheckpoint(hunt.id, f"AAA{guess}"), actor=guesser)
        clock.advance(seconds=30)
    for guesser in (who["alice"], who["bob"]):
        with pytest.raises(CheckInRefused) as blocked:
            await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=guesser)
        assert blocked.value.reason == "too_many_attempts"

    # Another team is not affected, and staff can still mark a checkpoint for them.
    owl = await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["carol"])
    assert (owl.team.id, owl.reached) == (owls.id, (1,))
    with pytest.raises(CheckInRefused) as typo:  # not counted against the team
        await handle.execute(
            ReachCheckpoint(hunt.id, "FOUNT8", member_id=member["alice"]), actor=SYSTEM
        )
    assert typo.value.reason == "wrong_code"
    marked = await handle.execute(
        ReachCheckpoint(hunt.id, "FOUNT7", member_id=member["alice"]), actor=SYSTEM
    )
    assert (marked.team.id, marked.reached) == (foxes.id, (2,))

    # The wait ends with the window.
    clock.set(clock.now() + CHECKPOINT_TRIES_WINDOW)
    again = await handle.execute(ReachCheckpoint(hunt.id, "lib42"), actor=who["bob"])
    assert again.reached == (1, 2)
    tries = await handle.execute(ListAuditEntries(action="challenge.wrong_code"), actor=SYSTEM)
    assert len(tries) == MAX_CHECKPOINT_TRIES
    assert {e.target for e in tries} == {f"challenge_team:{foxes.id}"}


async def test_completing_a_challenge_awards_each_member_once(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, handle = community
    who = await people(handle, "bob")
    member = await ids(handle)
    await handle.execute(rule("finisher", "challenge.completed", 20), actor=SYSTEM)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS)
    team = await handle.execute(CreateTeam(hunt.id, "Foxes"), actor=who["alice"])
    await handle.execute(JoinTeam(hunt.id, team.id), actor=who["bob"])
    clock.advance(hours=1)

    first = await handle.execute(ReachCheckpoint(hunt.id, "roof99"), actor=who["alice"])
    assert first.reached == (3,)
    clock.advance(minutes=10)
    again = await handle.execute(ReachCheckpoint(hunt.id, "ROOF99"), actor=who["bob"])
    assert again.reached == (3,)
    assert len(await events_of(huarong, "challenge.checkpoint_reached")) == 1
    await handle.execute(ReachCheckpoint(hunt.id, "fount7"), actor=who["bob"])
    assert await events_of(huarong, "challenge.team_completed") == []
    clock.advance(minutes=10)
    done = await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["alice"])
    assert done.reached == (1, 2, 3)
    assert done.team.completed_at == clock.now()
    assert done.place == 1
    assert await balance(handle, member["alice"]) == 20
    assert await balance(handle, member["bob"]) == 20
    [completed] = await events_of(huarong, "challenge.team_completed")
    assert completed["team_id"] == team.id
    assert completed["members"] == [member["alice"], member["bob"]]

    # Reaching any checkpoint again is harmless: same progress, no event, no points.
    clock.advance(minutes=5)
    replay = await handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["bob"])
    assert replay == done
    assert len(await events_of(huarong, "challenge.checkpoint_reached")) == 3
    assert len(await events_of(huarong, "challenge.team_completed")) == 1
    assert await balance(handle, member["alice"]) == 20
    assert await balance(handle, member["bob"]) == 20


async def test_the_board_orders_finishers_then_progress_then_speed(
    community: Pair, clock: FrozenClock
) -> None:
    _, handle = community
    who = await people(handle, "bob", "carol", "dave")
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS[:2])
    teams = {
        key: await handle.execute(CreateTeam(hunt.id, f"Team {key}"), actor=who[key])
        for key in ("alice", "bob", "carol", "dave")
    }
    clock.advance(hours=1)

    async def reach(key: str, code: str) -> None:
        clock.advance(minutes=1)
        await handle.execute(ReachCheckpoint(hunt.id, code), actor=who[key])

    await reach("bob", "LIB42")  # bob: one checkpoint, first
    await reach("carol", "LIB42")
    await reach("carol", "FOUNT7")  # carol: done first
    await reach("dave", "FOUNT7")  # dave: one checkpoint, after bob
    await reach("alice", "FOUNT7")
    await reach("alice", "LIB42")  # alice: done second

    board = await handle.execute(GetChallengeBoard(hunt.id), actor=who["dave"])
    assert [(p.place, p.team.id) for p in board] == [
        (1, teams["carol"].id),
        (2, teams["alice"].id),
        (3, teams["bob"].id),
        (4, teams["dave"].id),
    ]
    assert [len(p.reached) for p in board] == [2, 2, 1, 1]
    assert all(p.total == 2 for p in board)
    assert board[0].team.completed_at is not None
    assert board[2].team.completed_at is None

    quiz = await event(handle, clock, EventType.CONTEST)
    with pytest.raises(InvalidValue) as contest:
        await handle.execute(GetChallengeBoard(quiz.id), actor=who["dave"])
    assert contest.value.reason == "not_a_challenge"


async def test_concurrent_last_checkpoints_complete_the_team_once(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, handle = community
    who = await people(handle, "bob")
    member = await ids(handle)
    await handle.execute(rule("finisher", "challenge.completed", 20), actor=SYSTEM)
    hunt = await event(handle, clock, EventType.CHALLENGE, checkpoints=CHECKPOINTS[:2])
    team = await handle.execute(CreateTeam(hunt.id, "Foxes"), actor=who["alice"])
    await handle.execute(JoinTeam(hunt.id, team.id), actor=who["bob"])
    clock.advance(hours=1)
    results = await asyncio.gather(
        handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["alice"]),
        handle.execute(ReachCheckpoint(hunt.id, "FOUNT7"), actor=who["bob"]),
        handle.execute(ReachCheckpoint(hunt.id, "LIB42"), actor=who["bob"]),
    )
    assert max(len(r.reached) for r in results) == 2
    assert len(await events_of(huarong, "challenge.checkpoint_reached")) == 2
    assert len(await events_of(huarong, "challenge.team_completed")) == 1
    assert await balance(handle, member["alice"]) == 20
    assert await balance(handle, member["bob"]) == 20


async def test_finalizing_twice_at_once_awards_once(community: Pair, clock: FrozenClock) -> None:
    huarong, handle = community
    member = await ids(handle)
    await handle.execute(rule("winner", "contest.placed", 50, "place_1"), actor=SYSTEM)
    quiz = await event(handle, clock, EventType.CONTEST)
    await handle.execute(RecordContestScore(quiz.id, "3", member_id=member["alice"]), actor=SYSTEM)
    clock.advance(hours=2)
    outcomes = await asyncio.gather(
        *(handle.execute(FinalizeContest(quiz.id), actor=SYSTEM) for _ in range(3)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, GatheringNotOpen)]
    assert len(refused) == 2
    assert all(o.reason == "finalized" for o in refused)
    assert len(await events_of(huarong, "contest.finalized")) == 1
    assert await balance(handle, member["alice"]) == 50
