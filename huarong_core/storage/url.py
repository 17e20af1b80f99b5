"""Database URLs: the one setting that picks a backend.

The URL is parsed once, up front, so a typo is reported before anything
connects, and so every message that shows a URL can hide its password.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import SplitResult, unquote_plus, urlsplit

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

# `user:password@` wherever it appears, for text that is not a URL we understand.
_USERINFO = re.compile(r"(?P<user>[^:/?#@\s]*):[^/?#\s]*@")


def _hide_password(text: str) -> str:
    return _USERINFO.sub(r"\g<user>:***@", text, count=1)


def _unsplit(scheme: str, netloc: str, path: str, query: str = "") -> str:
    # Not urlunsplit: it drops the "//" of an empty host (postgresql:///db?host=/run).
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _redact(parts: SplitResult) -> str:
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    return _unsplit(parts.scheme, netloc, parts.path)


def parse_database_url(url: str) -> DatabaseURL:
    """Parse and validate; raise `InvalidDatabaseURL` naming what is wrong."""
    text = url.strip()
    if "://" not in text:
        raise InvalidDatabaseURL(url=_hide_password(text), reason="no_scheme")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(text, parts)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(parts)
    raise InvalidDatabaseURL(url=_redact(parts), reason="unknown_scheme")


def _parse_sqlite(text: str, parts: SplitResult) -> SqliteURL:
    if parts.netloc:
        raise InvalidDatabaseURL(url=_hide_password(text), reason="sqlite_host")
    if parts.query:
        raise InvalidDatabaseURL(url=_hide_password(text), reason="sqlite_query")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if path in ("", SQLITE_MEMORY):
        return SqliteURL(SQLITE_MEMORY)
    if Path(path).is_dir():
        raise InvalidDatabaseURL(url=text, reason="sqlite_directory")
    return SqliteURL(path)


def _parse_postgres(parts: SplitResult) -> PostgresURL:
    display = _redact(parts)
    # Other parameters are passed on as written: decoding and re-joining them
    # would split a value holding an encoded "&".
    pieces = [piece.partition("=") for piece in parts.query.split("&") if piece]
    names = {unquote_plus(name) for name, _, _ in pieces}
    if not parts.hostname and "host" not in names:
        raise InvalidDatabaseURL(url=display, reason="postgres_host")
    try:
        _ = parts.port
    except ValueError:
        raise InvalidDatabaseURL(url=display, reason="postgres_port") from None
    schema: str | None = None
    kept: list[str] = []
    for name, equals, value in pieces:
        if unquote_plus(name) == "schema":
            schema = unquote_plus(value)
            if not schema.isidentifier():
                raise InvalidDatabaseURL(url=display, reason="postgres_schema")
        else:
            kept.append(name + equals + value)
    dsn = _unsplit("postgresql", parts.netloc, parts.path, "&".join(kept))
    return PostgresURL(dsn=dsn, schema=schema, display=display)
