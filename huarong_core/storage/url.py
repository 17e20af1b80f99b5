"""Database URLs: the one setting that picks a backend.

The URL is parsed once, up front, so a typo is reported before anything
connects, and so every message that shows a URL can hide its password.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

import attrs

from huarong_core.errors import InvalidDatabaseURL

SQLITE_MEMORY = ":memory:"


@attrs.frozen
class SqliteURL:
    """`sqlite:///relative.db`, `sqlite:////absolute.db` or `sqlite:///:memory:`."""

    path: str

    @property
    def in_memory(self) -> bool:
        return self.path == SQLITE_MEMORY

    def redacted(self) -> str:
        return f"sqlite:///{self.path}"


@attrs.frozen
class PostgresURL:
    """A libpq-style URL; `schema` is ours: it sets `search_path` for every connection."""

    dsn: str
    schema: str | None
    display: str

    def redacted(self) -> str:
        return self.display


DatabaseURL = SqliteURL | PostgresURL


def _redact(parts: SplitResult) -> str:
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_database_url(url: str) -> DatabaseURL:
    """Parse and validate; raise `InvalidDatabaseURL` naming what is wrong."""
    text = url.strip()
    if "://" not in text:
        raise InvalidDatabaseURL(url=text, reason="no_scheme")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(text, parts)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(parts)
    raise InvalidDatabaseURL(url=_redact(parts), reason="unknown_scheme")


def _parse_sqlite(text: str, parts: SplitResult) -> SqliteURL:
    if parts.netloc:
        raise InvalidDatabaseURL(url=text, reason="sqlite_host")
    if parts.query:
        raise InvalidDatabaseURL(url=text, reason="sqlite_query")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if path in ("", SQLITE_MEMORY):
        return SqliteURL(SQLITE_MEMORY)
    if Path(path).is_dir():
        raise InvalidDatabaseURL(url=text, reason="sqlite_directory")
    return SqliteURL(path)


def _parse_postgres(parts: SplitResult) -> PostgresURL:
    display = _redact(parts)
    if not parts.hostname and "host=" not in parts.query:
        raise InvalidDatabaseURL(url=display, reason="postgres_host")
    try:
        _ = parts.port
    except ValueError:
        raise InvalidDatabaseURL(url=display, reason="postgres_port") from None
    schema: str | None = None
    kept: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "schema":
            if not value.isidentifier():
                raise InvalidDatabaseURL(url=display, reason="postgres_schema")
            schema = value
        else:
            kept.append((key, value))
    query = "&".join(f"{k}={v}" for k, v in kept)
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, query, ""))
    return PostgresURL(dsn=dsn, schema=schema, display=display)
