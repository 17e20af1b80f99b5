"""Contest places, score parsing and the challenge board order: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huarong_core.commands import ChallengeTeam
from huarong_core.domain.gatherings import Ranking, rank_places
from huarong_core.errors import InvalidValue
from huarong_core.services.contests import board, board_order, normal_code, parse_score
from huarong_core.storage.repositories.contests import TeamStanding

T0 = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def test_high_ranking_puts_the_best_first_and_ties_share_a_place() -> None:
    scores = [("member:1", 70.0), ("member:2", 90.0), ("member:3", 80.0), ("member:4", 90.0)]
    assert rank_places(scores, Ranking.HIGH) == [
        (1, "member:2", 90.0),
        (1, "member:4", 90.0),
        (3, "member:3", 80.0),
        (4, "member:1", 70.0),
    ]


def test_low_ranking_puts_the_lowest_first() -> None:
    times = [("team:1", 31.5), ("team:2", 29.0), ("team:3", 31.5), ("team:4", 40.0)]
    assert rank_places(times, Ranking.LOW) == [
        (1, "team:2", 29.0),
        (2, "team:1", 31.5),
        (2, "team:3", 31.5),
        (4, "team:4", 40.0),
    ]


def test_three_way_tie_then_the_next_place_skips() -> None:
    scores = [("c", 5.0), ("b", 5.0), ("a", 5.0), ("d", 1.0)]
    placed = rank_places(scores, Ranking.HIGH)
    assert [p for p, _, _ in placed] == [1, 1, 1, 4]
    assert [e for _, e, _ in placed] == ["a", "b", "c", "d"], "ties list in entrant order"


def test_no_scores_no_places() -> None:
    assert rank_places([], Ranking.HIGH) == []
    assert rank_places([], Ranking.LOW) == []


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("12", "12"),
        (" 12.50 ", "12.50"),
        ("-3", "-3"),
        ("0", "0"),
        ("1e2", "100"),
        ("１２", "12"),
    ],
)
def test_scores_parse_as_finite_decimals(text: str, stored: str) -> None:
    assert parse_score(text) == stored


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "NaN", "inf", "-Infinity", "1,5", "1e40", "9" * 40]
)
def test_anything_else_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_score(text)
    assert (caught.value.field, caught.value.reason) == ("score", "not_a_number")


def test_codes_compare_without_case_or_spaces() -> None:
    assert normal_code(" lib 42a ") == "LIB42A"


def standing(
    team_id: int,
    reached: tuple[int, ...],
    last: datetime | None = None,
    completed: datetime | None = None,
) -> TeamStanding:
    return TeamStanding(
        team=ChallengeTeam(team_id, 1, f"team {team_id}", (), completed),
        reached=reached,
        last_reached_at=last,
        created_at=T0,
    )


def test_board_puts_finishers_first_then_progress_then_speed() -> None:
    minute = timedelta(minutes=1)
    teams = [
        standing(1, (), None),
        standing(2, (1, 2), T0 + 5 * minute),
        standing(3, (1, 2, 3), T0 + 30 * minute, completed=T0 + 30 * minute),
        standing(4, (1, 2), T0 + 3 * minute),
        standing(5, (1, 2, 3), T0 + 20 * minute, completed=T0 + 20 * minute),
        standing(6, (1,), T0 + minute),
        standing(7, (), None),
    ]
    assert [s.team.id for s in board_order(teams)] == [5, 3, 4, 2, 6, 1, 7]
    progress = board(teams, total=3)
    assert [(p.place, p.team.id, p.total) for p in progress] == [
        (1, 5, 3),
        (2, 3, 3),
        (3, 4, 3),
        (4, 2, 3),
        (5, 6, 3),
        (6, 1, 3),
        (7, 7, 3),
    ]
