"""`to_sqlite_params`: PostgreSQL's `$N` becomes SQLite's `?N`, outside quoted text only."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.storage.sql import to_sqlite_params

PARAMETER = re.compile(r"\$(?=\d)")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM members WHERE id = $1", "SELECT * FROM members WHERE id = ?1"),
        ("VALUES ($1, $2, $3)", "VALUES (?1, ?2, ?3)"),
        ("WHERE a = $10 AND b = $2", "WHERE a = ?10 AND b = ?2"),
        ("LIMIT $123", "LIMIT ?123"),
        ("$1", "?1"),
        ("x=$1,y=$1", "x=?1,y=?1"),
        ("", ""),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_numbered_parameters_are_rewritten(sql: str, expected: str) -> None:
    assert to_sqlite_params(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '$1'",
        "SELECT 'costs $5 and $10'",
        'SELECT "$1" FROM t',
        "SELECT 'it''s $1'",
        'SELECT "a""$2"',
        "SELECT '\"$1\"'",
        "SELECT \"'$1'\"",
    ],
)
def test_quoted_text_is_left_alone(sql: str) -> None:
    assert to_sqlite_params(sql) == sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT '$1', $1", "SELECT '$1', ?1"),
        ("SELECT $1, '$1', $2", "SELECT ?1, '$1', ?2"),
        ('UPDATE "t$1" SET a = $1', 'UPDATE "t$1" SET a = ?1'),
        ("SELECT 'it''s', $2", "SELECT 'it''s', ?2"),
        ("SELECT '\"', $3, '\"'", "SELECT '\"', ?3, '\"'"),
    ],
)
def test_parameters_after_quoted_text_are_rewritten(sql: str, expected: str) -> None:
    assert to_sqlite_params(sql) == expected


@pytest.mark.parametrize("sql", ["SELECT $", "a $ b", "$a", "$$", "cost$", "SELECT $x1"])
def test_dollar_not_followed_by_a_digit_is_kept(sql: str) -> None:
    assert to_sqlite_params(sql) == sql


def test_unterminated_quote_protects_the_rest() -> None:
    assert to_sqlite_params("SELECT $1, 'oops $2") == "SELECT ?1, 'oops $2"


# --- properties ---------------------------------------------------------------

SQL_CHARS = "abcXYZ019 ,()=*$?_\n\t"
UNQUOTED = st.text(alphabet=SQL_CHARS, max_size=40)


@given(UNQUOTED)
def test_without_quotes_every_dollar_before_a_digit_becomes_a_question_mark(sql: str) -> None:
    result = to_sqlite_params(sql)
    assert result == PARAMETER.sub("?", sql)
    assert len(result) == len(sql)
    assert result.count("?") - sql.count("?") == len(PARAMETER.findall(sql))


@st.composite
def quoted_sql(draw: st.DrawFn) -> tuple[str, str, int]:
    """SQL made of unquoted and quoted pieces, the expected rewrite, and the parameter count."""
    pieces: list[str] = []
    expected: list[str] = []
    count = 0
    for _ in range(draw(st.integers(0, 5))):
        plain = draw(UNQUOTED)
        pieces.append(plain)
        expected.append(PARAMETER.sub("?", plain))
        count += len(PARAMETER.findall(plain))
        quote = draw(st.sampled_from(["'", '"']))
        inside = draw(st.text(alphabet=SQL_CHARS + "'\"", max_size=20)).replace(quote, quote * 2)
        literal = f"{quote}{inside}{quote}"
        pieces.append(literal)
        expected.append(literal)
    tail = draw(UNQUOTED)
    pieces.append(tail)
    expected.append(PARAMETER.sub("?", tail))
    count += len(PARAMETER.findall(tail))
    return "".join(pieces), "".join(expected), count


@given(quoted_sql())
def test_only_parameters_outside_quotes_are_rewritten(case: tuple[str, str, int]) -> None:
    sql, expected, count = case
    result = to_sqlite_params(sql)
    assert result == expected
    assert len(result) == len(sql)
    assert result.count("?") - sql.count("?") == count


@given(st.text(max_size=60))
def test_rewriting_changes_only_dollars_and_is_idempotent(sql: str) -> None:
    result = to_sqlite_params(sql)
    assert len(result) == len(sql)
    for before, after in zip(sql, result, strict=True):
        assert before == after or (before == "$" and after == "?")
    assert to_sqlite_params(result) == result
