"""Database URLs: parsed once, validated up front, and never shown with a password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.errors import InvalidDatabaseURL
from huarong_core.i18n import SUPPORTED_LOCALES, render_error
from huarong_core.storage.url import (
    SQLITE_MEMORY,
    PostgresURL,
    SqliteURL,
    parse_database_url,
)


def _sqlite(url: str) -> SqliteURL:
    parsed = parse_database_url(url)
    assert isinstance(parsed, SqliteURL)
    return parsed


def _postgres(url: str) -> PostgresURL:
    parsed = parse_database_url(url)
    assert isinstance(parsed, PostgresURL)
    return parsed


def _reason(url: str) -> str:
    with pytest.raises(InvalidDatabaseURL) as caught:
        parse_database_url(url)
    return caught.value.reason


# --- SQLite -------------------------------------------------------------------


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = _sqlite("sqlite:///huarong.db")
    assert url.path == "huarong.db"
    assert not url.in_memory
    assert url.redacted() == "sqlite:///huarong.db"


def test_sqlite_relative_path_with_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _sqlite("sqlite:///data/huarong.db").path == "data/huarong.db"


def test_sqlite_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "huarong.db"
    url = _sqlite(f"sqlite:///{target}")
    assert url.path == str(target)
    assert Path(url.path).is_absolute()
    assert url.redacted() == f"sqlite:///{target}"


def test_sqlite_absolute_path_with_four_slashes() -> None:
    url = _sqlite("sqlite:////var/lib/huarong/huarong.db")
    assert url.path == "/var/lib/huarong/huarong.db"
    assert url.redacted() == "sqlite:////var/lib/huarong/huarong.db"


@pytest.mark.parametrize("text", ["sqlite:///:memory:", "sqlite://", "sqlite:///"])
def test_sqlite_in_memory(text: str) -> None:
    url = _sqlite(text)
    assert url.path == SQLITE_MEMORY
    assert url.in_memory
    assert url.redacted() == "sqlite:///:memory:"


def test_sqlite_scheme_is_case_insensitive_and_whitespace_is_trimmed() -> None:
    assert _sqlite("  SQLite:///:memory: \n").in_memory


def test_sqlite_redacted_url_parses_back_to_the_same_value(tmp_path: Path) -> None:
    for text in (f"sqlite:///{tmp_path / 'a.db'}", "sqlite:///:memory:"):
        url = _sqlite(text)
        assert parse_database_url(url.redacted()) == url


def test_sqlite_path_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "there.db"
    assert _sqlite(f"sqlite:///{target}").path == str(target)


# --- PostgreSQL ---------------------------------------------------------------


def test_postgres_with_password() -> None:
    url = _postgres("postgresql://huarong:s3cr3t@db.example.org:5433/huarong")
    assert url.dsn == "postgresql://huarong:s3cr3t@db.example.org:5433/huarong"
    assert url.schema is None
    assert url.redacted() == "postgresql://huarong:***@db.example.org:5433/huarong"
    assert "s3cr3t" not in url.redacted()
    assert "s3cr3t" not in url.display


def test_postgres_without_password() -> None:
    url = _postgres("postgresql://huarong@db.example.org/huarong")
    assert url.dsn == "postgresql://huarong@db.example.org/huarong"
    assert url.redacted() == "postgresql://huarong@db.example.org/huarong"
    assert "***" not in url.redacted()


def test_postgres_without_user() -> None:
    url = _postgres("postgresql://db.example.org/huarong")
    assert url.redacted() == "postgresql://db.example.org/huarong"
    assert url.dsn == "postgresql://db.example.org/huarong"


def test_postgres_short_scheme_gives_a_postgresql_dsn() -> None:
    url = _postgres("postgres://huarong@localhost/huarong")
    assert url.dsn == "postgresql://huarong@localhost/huarong"


def test_postgres_scheme_is_case_insensitive() -> None:
    url = _postgres("PostgreSQL://huarong@localhost/huarong")
    assert url.dsn == "postgresql://huarong@localhost/huarong"


def test_postgres_schema_is_extracted() -> None:
    url = _postgres("postgresql://huarong@localhost/huarong?schema=tenant_1")
    assert url.schema == "tenant_1"
    assert url.dsn == "postgresql://huarong@localhost/huarong"
    assert "schema" not in url.dsn


def test_postgres_other_query_parameters_stay_in_the_dsn() -> None:
    url = _postgres(
        "postgresql://huarong:pw@localhost/huarong?sslmode=require&schema=t1&application_name=hr"
    )
    assert url.schema == "t1"
    assert parse_qsl(urlsplit(url.dsn).query) == [
        ("sslmode", "require"),
        ("application_name", "hr"),
    ]
    assert urlsplit(url.dsn).netloc == "huarong:pw@localhost"
    assert "?" not in url.redacted()


def test_postgres_query_values_keep_their_encoding() -> None:
    # "%26" is an "&" inside a value; decoding it into the dsn would split the value in two.
    url = _postgres("postgresql://h/db?application_name=a%26b&schema=s&options=-c%20x%3Dy")
    assert parse_qsl(urlsplit(url.dsn).query) == [
        ("application_name", "a&b"),
        ("options", "-c x=y"),
    ]


def test_postgres_host_may_come_from_the_query() -> None:
    url = _postgres("postgresql:///huarong?host=/var/run/postgresql")
    assert url.schema is None
    assert url.dsn == "postgresql:///huarong?host=/var/run/postgresql"
    assert url.redacted() == "postgresql:///huarong"


def test_postgres_without_schema_keeps_an_empty_query_out() -> None:
    url = _postgres("postgresql://h/db?schema=s")
    assert url.dsn == "postgresql://h/db"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("postgresql://u:p%40ss@h/db", "u:***@h"),
        ("postgresql://u:p@ss@h/db", "u:***@h"),
        ("postgresql://u:@h/db", "u:***@h"),
    ],
)
def test_postgres_redaction_of_awkward_passwords(text: str, where: str) -> None:
    url = _postgres(text)
    assert urlsplit(url.redacted()).netloc == where
    assert "ss" not in url.redacted()


# --- invalid URLs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("huarong.db", "no_scheme"),
        ("", "no_scheme"),
        ("sqlite:huarong.db", "no_scheme"),
        ("localhost:5432/huarong", "no_scheme"),
        ("mysql://root:pw@localhost/huarong", "unknown_scheme"),
        ("http://example.org/db", "unknown_scheme"),
        ("file:///tmp/huarong.db", "unknown_scheme"),
        ("sqlite://localhost/huarong.db", "sqlite_host"),
        ("sqlite://huarong.db", "sqlite_host"),
        ("sqlite:///huarong.db?mode=ro", "sqlite_query"),
        ("sqlite:///:memory:?cache=shared", "sqlite_query"),
        ("postgresql:///huarong", "postgres_host"),
        ("postgresql://", "postgres_host"),
        ("postgresql://huarong@/huarong", "postgres_host"),
        ("postgresql:///huarong?ghost=1", "postgres_host"),
        ("postgresql://localhost:port/huarong", "postgres_port"),
        ("postgresql://localhost:99999/huarong", "postgres_port"),
        ("postgresql://u:pw@localhost:-1/huarong", "postgres_port"),
        ("postgresql://localhost/huarong?schema=1abc", "postgres_schema"),
        ("postgresql://localhost/huarong?schema=a-b", "postgres_schema"),
        ("postgresql://localhost/huarong?schema=", "postgres_schema"),
        ("postgresql://localhost/huarong?schema=a%20b", "postgres_schema"),
        ("postgresql://localhost/huarong?schema=x;drop", "postgres_schema"),
        ("postgres://localhost/huarong?schema=public.x", "postgres_schema"),
    ],
)
def test_invalid_urls_name_their_reason(text: str, reason: str) -> None:
    assert _reason(text) == reason


def test_sqlite_path_that_is_a_directory(tmp_path: Path) -> None:
    assert _reason(f"sqlite:///{tmp_path}") == "sqlite_directory"


def test_sqlite_relative_path_that_is_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _reason("sqlite:///data") == "sqlite_directory"
    assert _sqlite("sqlite:///data/huarong.db").path == "data/huarong.db"


@pytest.mark.parametrize(
    "text",
    [
        "mysql://root:Zq_hidden@localhost/huarong",
        "postgresql://u:Zq_hidden@localhost:port/huarong",
        "postgresql://u:Zq_hidden@/huarong",
        "postgresql://u:Zq_hidden@localhost/huarong?schema=1x",
        "u:Zq_hidden@localhost/huarong",
        "postgres:Zq_hidden@localhost/huarong",
        "sqlite://u:Zq_hidden@host/huarong.db",
    ],
)
def test_errors_never_show_the_password(text: str) -> None:
    with pytest.raises(InvalidDatabaseURL) as caught:
        parse_database_url(text)
    error = caught.value
    assert "Zq_hidden" not in error.url
    assert "Zq_hidden" not in str(error)
    for locale in SUPPORTED_LOCALES:
        assert "Zq_hidden" not in render_error(error, locale)


def test_error_message_explains_the_reason_in_both_languages() -> None:
    with pytest.raises(InvalidDatabaseURL) as caught:
        parse_database_url("mysql://localhost/huarong")
    english = render_error(caught.value, "en")
    chinese = render_error(caught.value, "zh_CN")
    assert "mysql://localhost/huarong" in english
    assert "url_reason." not in english
    assert "url_reason." not in chinese
    assert english != chinese


# --- properties ---------------------------------------------------------------

_QUERY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
)


@given(password=st.text(max_size=20), port=st.none() | st.integers(1, 65535))
def test_redaction_never_shows_any_password(password: str, port: int | None) -> None:
    secret = "Zq" + password
    host = "db.example.org" if port is None else f"db.example.org:{port}"
    text = f"postgresql://alice:{quote(secret, safe='')}@{host}/huarong"
    url = _postgres(text)
    assert "Zq" not in url.redacted()
    assert url.redacted() == f"postgresql://alice:***@{host}/huarong"
    assert urlsplit(url.dsn).password == quote(secret, safe="")


@given(
    params=st.lists(
        st.tuples(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
                lambda name: name != "schema"
            ),
            _QUERY_TEXT,
        ),
        max_size=4,
    ),
    schema=st.none() | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
    position=st.integers(0, 4),
)
def test_query_parameters_other_than_schema_survive(
    params: list[tuple[str, str]], schema: str | None, position: int
) -> None:
    pieces = [f"{quote(name)}={quote(value, safe='')}" for name, value in params]
    if schema is not None:
        pieces.insert(min(position, len(pieces)), f"schema={schema}")
    query = "&".join(pieces)
    url = _postgres("postgresql://alice@localhost/huarong" + (f"?{query}" if query else ""))
    assert url.schema == schema
    assert parse_qsl(urlsplit(url.dsn).query, keep_blank_values=True) == params
