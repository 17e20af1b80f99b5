"""One SQL text for both backends.

Queries are written with PostgreSQL's numbered parameters (`$1`). SQLite
accepts `?1` for the same thing, so a single rewrite (outside string
literals and quoted identifiers) lets every statement serve both.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=2048)
def to_sqlite_params(sql: str) -> str:
    """Rewrite `$N` to `?N`, leaving quoted text untouched."""
    out: list[str] = []
    quote: str | None = None
    for i, ch in enumerate(sql):
        if quote:
            if ch == quote:
                quote = None
            out.append(ch)
            continue
        if ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "$" and i + 1 < len(sql) and sql[i + 1].isdigit():
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)
