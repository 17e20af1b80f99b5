"""Contests (scores entered by staff, a ranking) and challenges (teams, checkpoints).

A contest ranks its entrants by score, best first (`Ranking.HIGH`) or lowest
first (`Ranking.LOW`: times, strokes); equal scores share a place. Staff may
correct a score until they finalize the contest; finalizing freezes it and
fires each placed member's `contest.placed` points trigger, tagged with the
place (`place_1`, ...) and `podium` for the first three places.

A challenge has numbered checkpoints, each with a code found on the spot.
Members form teams; a team member who enters a checkpoint's code while the
challenge runs marks it reached for the whole team, and a team that has
reached every checkpoint completes the challenge (each of its members'
`challenge.completed` trigger fires, once). Checkpoint codes are ASCII
letters and digits, kept upper-case, so they match whatever the case typed.
Staff choose them and they may be short, so wrong codes are on record against
the team: past `MAX_CHECKPOINT_TRIES` in `CHECKPOINT_TRIES_WINDOW` its further
tries are refused until the window passes (staff can still mark a checkpoint
for a member), so guessing cannot earn the completion points.

Score entry and finalizing of one contest, and the visits of one team, run
under an advisory lock (PostgreSQL; SQLite has one writer), so a correction
never lands after the ranking was frozen and two members at the last two
checkpoints at once still complete their team exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import attrs

from huarong_core.commands import (
    AddCheckpoint,
    ChallengeTeam,
    Checkpoint,
    ContestPlace,
    CreateTeam,
    FinalizeContest,
    GetChallengeBoard,
    GetContestRanking,
    JoinTeam,
    ReachCheckpoint,
    RecordContestScore,
    TeamProgress,
)
from huarong_core.domain.gatherings import EventType, Gathering, GatheringStatus, rank_places
from huarong_core.domain.validation import require_name
from huarong_core.errors import (
    AlreadyExists,
    CheckInRefused,
    GatheringNotOpen,
    InvalidValue,
    NotFound,
    WrongCheckpointCode,
)
from huarong_core.events import ChallengeCompleted, CheckpointReached, ContestFinalized
from huarong_core.services.context import Context
from huarong_core.services.gatherings import (
    acting_member,
    get_gathering,
    points_for,
    require_manage,
)
from huarong_core.services.members import get_active_member
from huarong_core.services.registry import handles
from huarong_core.storage.repositories.contests import TeamStanding

MAX_SCORE_LENGTH = 32
MAX_TEAM_NAME = 60
PODIUM = 3
CODE_PATTERN = re.compile(r"[A-Z0-9]{3,32}\Z")
OPENS_BEFORE = timedelta(minutes=30)
MAX_CHECKPOINT_TRIES = 10
CHECKPOINT_TRIES_WINDOW = timedelta(minutes=15)
"""A team's wrong checkpoint codes allowed in a window: a few typos at each of
several checkpoints, far too few to guess even a three-character code."""
"""Teams may start reaching checkpoints this long before the challenge starts."""
_LATEST = datetime.max.replace(tzinfo=UTC)


# --- pure helpers ------------------------------------------------------------------


def parse_score(text: str) -> str:
    """A score as stored: a finite decimal number in plain notation (`12.50`, `-3`)."""
    cleaned = text.strip()
    try:
        value = Decimal(cleaned) if len(cleaned) <= MAX_SCORE_LENGTH else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise InvalidValue(field="score", value=text[:MAX_SCORE_LENGTH], reason="not_a_number")
    plain = format(value, "f")
    if len(plain) > MAX_SCORE_LENGTH:
        raise InvalidValue(field="score", value=text[:MAX_SCORE_LENGTH], reason="not_a_number")
    return plain


def normal_code(text: str) -> str:
    """A checkpoint code as stored and compared: no spaces, upper-case."""
    return "".join(text.split()).upper()


def board_order(standings: Sequence[TeamStanding]) -> list[TeamStanding]:
    """Completed teams first (earliest first), then most checkpoints reached, then who
    reached their last one earliest, then the older team."""

    def key(s: TeamStanding) -> tuple[int, datetime, int, datetime, int]:
        done = s.team.completed_at
        return (
            0 if done is not None else 1,
            done or _LATEST,
            -len(s.reached),
            s.last_reached_at or _LATEST,
            s.team.id,
        )

    return sorted(standings, key=key)


def board(standings: Sequence[TeamStanding], total: int) -> tuple[TeamProgress, ...]:
    return tuple(
        TeamProgress(
            team=s.team,
            reached=s.reached,
            total=total,
            last_reached_at=s.last_reached_at,
            place=place,
        )
        for place, s in enumerate(board_order(standings), start=1)
    )


# --- shared checks -----------------------------------------------------------------


def _require_contest(gathering: Gathering) -> None:
    if gathering.event_type is not EventType.CONTEST:
        raise InvalidValue(field="gathering", value=gathering.ref, reason="not_a_contest")


def _require_challenge(gathering: Gathering) -> None:
    if gathering.event_type is not EventType.CHALLENGE:
        raise InvalidValue(field="gathering", value=gathering.ref, reason="not_a_challenge")


def _require_teams(gathering: Gathering) -> None:
    """Teams belong to challenges, and to contests that rank teams."""
    if gathering.event_type not in (EventType.CHALLENGE, EventType.CONTEST):
        raise InvalidValue(field="gathering", value=gathering.ref, reason="no_teams")


def _require_not_cancelled(gathering: Gathering) -> None:
    if gathering.status is GatheringStatus.CANCELLED:
        raise GatheringNotOpen(gathering=gathering.ref, reason="cancelled")


def _require_teams_open(ctx: Context, gathering: Gathering) -> None:
    """Teams form and change until the gathering ends (or its contest is finalized)."""
    _require_not_cancelled(gathering)
    if gathering.finalized_at is not None:
        raise GatheringNotOpen(gathering=gathering.ref, reason="finalized")
    if gathering.status is GatheringStatus.CLOSED or gathering.is_over(ctx.now):
        raise GatheringNotOpen(gathering=gathering.ref, reason="past")


def _team_id(entrant: str) -> int | None:
    kind, _, ref = entrant.partition(":")
    return int(ref) if kind == "team" else None


def _member_id(entrant: str) -> int | None:
    kind, _, ref = entrant.partition(":")
    return int(ref) if kind == "member" else None


# --- contests ----------------------------------------------------------------------


async def _ranking(ctx: Context, gathering: Gathering) -> tuple[ContestPlace, ...]:
    repo = ctx.repos.contests
    scores = await repo.scores(gathering.id)
    if not scores:
        return ()
    members = [m for s in scores if (m := _member_id(s.entrant)) is not None]
    names = await repo.member_names(members)
    teams = await repo.team_names(gathering.id) if len(members) < len(scores) else {}

    def label(entrant: str) -> str:
        member_id, team_id = _member_id(entrant), _team_id(entrant)
        if member_id is not None:
            return names.get(member_id, entrant)
        return teams.get(team_id, entrant) if team_id is not None else entrant

    placed = rank_places([(s.entrant, float(Decimal(s.score))) for s in scores], gathering.ranking)
    return tuple(
        ContestPlace(place=place, entrant=entrant, label=label(entrant), score=score)
        for place, entrant, score in placed
    )


@handles(RecordContestScore)
async def record_score(ctx: Context, cmd: RecordContestScore) -> ContestPlace:
    """Staff enter or correct a score; every entry is audited with the score it replaced."""
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_contest(gathering)
    require_manage(ctx, gathering)
    if (cmd.member_id is None) == (cmd.team_id is None):
        raise InvalidValue(field="entrant", value="-", reason="member_or_team")
    score = parse_score(cmd.score)
    repo = ctx.repos.contests
    await repo.lock(gathering.id)
    gathering = await get_gathering(ctx, gathering.id)  # as it is now that we hold the lock
    _require_not_cancelled(gathering)
    if gathering.finalized_at is not None:
        raise GatheringNotOpen(gathering=gathering.ref, reason="finalized")
    if cmd.member_id is not None:
        await get_active_member(ctx, cmd.member_id)
        entrant = f"member:{cmd.member_id}"
    else:
        assert cmd.team_id is not None
        if await repo.team(gathering.id, cmd.team_id) is None:
            raise NotFound(entity="team", ref=f"#{cmd.team_id}")
        entrant = f"team:{cmd.team_id}"
    previous = await repo.score(gathering.id, entrant)
    if previous is None or previous.score != score:
        await repo.save_score(gathering.id, entrant, score, ctx.actor.label, ctx.now)
        await ctx.audit(
            "contest.score",
            f"gathering:{gathering.id}",
            entrant=entrant,
            score=score,
            previous=None if previous is None else previous.score,
        )
    [place] = [p for p in await _ranking(ctx, gathering) if p.entrant == entrant]
    return place


@handles(GetContestRanking)
async def contest_ranking(ctx: Context, cmd: GetContestRanking) -> tuple[ContestPlace, ...]:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_contest(gathering)
    return await _ranking(ctx, gathering)


@handles(FinalizeContest)
async def finalize_contest(ctx: Context, cmd: FinalizeContest) -> tuple[ContestPlace, ...]:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_contest(gathering)
    require_manage(ctx, gathering)
    _require_not_cancelled(gathering)
    if ctx.now < gathering.starts_at:
        raise GatheringNotOpen(gathering=gathering.ref, reason="not_started")
    repo = ctx.repos.contests
    await repo.lock(gathering.id)
    if not await repo.finalize(gathering.id, ctx.now):
        raise GatheringNotOpen(gathering=gathering.ref, reason="finalized")
    gathering = attrs.evolve(gathering, finalized_at=ctx.now)
    places = await _ranking(ctx, gathering)
    for place in places:
        team_id = _team_id(place.entrant)
        if team_id is None:
            member_id = _member_id(place.entrant)
            members: tuple[int, ...] = () if member_id is None else (member_id,)
        else:
            members = await repo.team_members(team_id)
        tags = frozenset(
            {f"place_{place.place}"} | ({"podium"} if place.place <= PODIUM else set())
        )
        for member_id in members:
            await points_for(
                ctx,
                gathering,
                "contest.placed",
                member_id,
                f"contest:{gathering.id}:{member_id}",
                tags=tags,
                units="1",
            )
    podium = tuple(p.entrant for p in places if p.place <= PODIUM)
    await ctx.audit("contest.finalize", f"gathering:{gathering.id}", entrants=len(places))
    ctx.record(ContestFinalized(gathering.id, podium))
    return places


# --- teams -------------------------------------------------------------------------


async def _team(ctx: Context, gathering: Gathering, team_id: int) -> ChallengeTeam:
    team = await ctx.repos.contests.team(gathering.id, team_id)
    if team is None:
        raise NotFound(entity="team", ref=f"#{team_id}")
    return team


@handles(CreateTeam)
async def create_team(ctx: Context, cmd: CreateTeam) -> ChallengeTeam:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_teams(gathering)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    name = require_name("name", cmd.name, max_length=MAX_TEAM_NAME)
    _require_teams_open(ctx, gathering)
    await get_active_member(ctx, member_id)
    repo = ctx.repos.contests
    await repo.lock(gathering.id)
    if await repo.team_named(gathering.id, name) is not None:
        raise AlreadyExists(entity="team", ref=name)
    if await repo.team_of(gathering.id, member_id) is not None:
        raise AlreadyExists(entity="team_membership", ref=f"member:{member_id}")
    team_id = await repo.create_team(gathering.id, name, ctx.now)
    if team_id is None:
        raise AlreadyExists(entity="team", ref=name)
    await repo.add_member(gathering.id, team_id, member_id, ctx.now)
    return await _team(ctx, gathering, team_id)


@handles(JoinTeam)
async def join_team(ctx: Context, cmd: JoinTeam) -> ChallengeTeam:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_teams(gathering)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    _require_teams_open(ctx, gathering)
    await get_active_member(ctx, member_id)
    repo = ctx.repos.contests
    await repo.lock(gathering.id)
    team = await _team(ctx, gathering, cmd.team_id)
    current = await repo.team_of(gathering.id, member_id)
    if current == team.id:
        return team
    if current is not None:
        raise AlreadyExists(entity="team_membership", ref=f"member:{member_id}")
    await repo.add_member(gathering.id, team.id, member_id, ctx.now)
    return await _team(ctx, gathering, team.id)


# --- checkpoints -------------------------------------------------------------------


async def add_checkpoints(
    ctx: Context, gathering: Gathering, checkpoints: Sequence[tuple[str, str]]
) -> list[Checkpoint]:
    """Append (name, code) checkpoints to a challenge, numbered on from the last one.

    Every pair is checked before any is stored: names are required, codes are
    3-32 ASCII letters or digits, unique in the challenge ignoring case.
    """
    if not checkpoints:
        return []
    _require_challenge(gathering)
    repo = ctx.repos.contests
    await repo.lock(gathering.id)
    taken = {c.code for c in await repo.checkpoints(gathering.id)}
    cleaned: list[tuple[str, str]] = []
    for name, code in checkpoints:
        clean_name = require_name("name", name)
        clean_code = code.strip().upper()
        if not CODE_PATTERN.match(clean_code):
            raise InvalidValue(field="code", value=code, reason="bad_code")
        if clean_code in taken:
            raise InvalidValue(field="code", value=code, reason="duplicate_code")
        taken.add(clean_code)
        cleaned.append((clean_name, clean_code))
    return await repo.add_checkpoints(gathering.id, cleaned)


@handles(AddCheckpoint)
async def add_checkpoint(ctx: Context, cmd: AddCheckpoint) -> Checkpoint:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_challenge(gathering)
    require_manage(ctx, gathering)
    _require_not_cancelled(gathering)
    if gathering.status is GatheringStatus.CLOSED:
        raise GatheringNotOpen(gathering=gathering.ref, reason="closed")
    [added] = await add_checkpoints(ctx, gathering, [(cmd.name, cmd.code)])
    await ctx.audit(
        "challenge.checkpoint.add", f"gathering:{gathering.id}", seq=added.seq, name=added.name
    )
    return added


async def _progress(ctx: Context, gathering_id: int) -> tuple[TeamProgress, ...]:
    repo = ctx.repos.contests
    return board(await repo.standings(gathering_id), await repo.checkpoint_count(gathering_id))


def _is_running(ctx: Context, gathering: Gathering) -> bool:
    return (
        gathering.status is GatheringStatus.SCHEDULED
        and gathering.starts_at - OPENS_BEFORE <= ctx.now <= gathering.ends_at
    )


@handles(ReachCheckpoint)
async def reach_checkpoint(ctx: Context, cmd: ReachCheckpoint) -> TeamProgress:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_challenge(gathering)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    repo = ctx.repos.contests
    team_id = await repo.team_of(gathering.id, member_id)
    if team_id is None:
        raise GatheringNotOpen(gathering=gathering.ref, reason="no_team")
    if not _is_running(ctx, gathering):
        raise GatheringNotOpen(gathering=gathering.ref, reason="not_running")
    by_staff = member_id != ctx.actor.member_id
    if not by_staff:
        tries = await ctx.repos.audit.count_recent(
            None,  # the team's tries, whichever member made them
            WrongCheckpointCode.audit_action,
            f"challenge_team:{team_id}",
            ctx.now - CHECKPOINT_TRIES_WINDOW,
        )
        if tries >= MAX_CHECKPOINT_TRIES:
            raise CheckInRefused(gathering=gathering.ref, reason="too_many_attempts")
    code = normal_code(cmd.code)
    checkpoint = (
        await repo.checkpoint_by_code(gathering.id, code) if CODE_PATTERN.match(code) else None
    )
    if checkpoint is None:
        if by_staff:  # staff's typos do not use up the team's tries
            raise CheckInRefused(gathering=gathering.ref, reason="wrong_code")
        raise WrongCheckpointCode(gathering_id=gathering.id, team_id=team_id)
    await repo.lock_team(team_id)
    if await repo.visit(gathering.id, team_id, checkpoint.seq, member_id, ctx.now):
        ctx.record(CheckpointReached(gathering.id, team_id, checkpoint.seq))
        progress = await _progress(ctx, gathering.id)
        [mine] = [p for p in progress if p.team.id == team_id]
        if len(mine.reached) >= mine.total and await repo.complete_team(team_id, ctx.now):
            members = mine.team.members
            ctx.record(ChallengeCompleted(gathering.id, team_id, members))
            for each in members:
                await points_for(
                    ctx,
                    gathering,
                    "challenge.completed",
                    each,
                    f"challenge:{gathering.id}:{each}",
                )
        else:
            return mine
    [mine] = [p for p in await _progress(ctx, gathering.id) if p.team.id == team_id]
    return mine


@handles(GetChallengeBoard)
async def challenge_board(ctx: Context, cmd: GetChallengeBoard) -> tuple[TeamProgress, ...]:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    _require_challenge(gathering)
    return await _progress(ctx, gathering.id)
