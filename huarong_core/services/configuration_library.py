"""Applying the library part of a community file: `[library]` and `[[library.books]]`.

Settings are replaced when they differ. Books are matched by ISBN (or by
title and author when they have none) and updated from the file; copies
are created when missing and otherwise left as the library's daily work
left them. Loading the same file twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from huarong_core.config import CommunityConfig
from huarong_core.config_library import BookSpec, book_from, settings_from
from huarong_core.domain.library import Book, LibrarySettings
from huarong_core.errors import AlreadyExists, HuarongError, Problem, StorageError
from huarong_core.services.context import Context
from huarong_core.services.library import SETTINGS_MEMO, add_copy, change_book, create_book

if TYPE_CHECKING:
    from huarong_core.services.configuration import _Tally


async def apply_library(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    """Create or update by key; loading the same file twice changes nothing."""
    try:
        settings = settings_from(config.library)
    except HuarongError as exc:
        tally.problems.append(Problem.from_error("library", exc))
        return
    repo = ctx.repos.library
    stored = await repo.stored_settings()
    if (stored or LibrarySettings()) != settings:
        await repo.save_settings(settings)
        ctx.memo.pop(SETTINGS_MEMO, None)
        await ctx.audit("library.settings", f"community:{ctx.community.key}")
        tally.count("library_settings", created=stored is None, changed=True)
    elif stored is not None:
        tally.count("library_settings")
    for i, entry in enumerate(config.library.books):
        where = f"library.books[{i}]"
        try:
            spec = book_from(entry)
            book, outcome = await _apply_book(ctx, spec)
            tally.count("books", created=outcome == "created", changed=outcome == "changed")
            for code, location in spec.copies:
                current = await repo.copy(code)
                if current is None:
                    await add_copy(ctx, book, code, location)
                elif current.book_id != book.id:
                    raise AlreadyExists(entity="copy", ref=code)
                tally.count("book_copies", created=current is None)
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(where, exc))


async def _apply_book(ctx: Context, spec: BookSpec) -> tuple[Book, str]:
    repo = ctx.repos.library
    if spec.isbn is not None:
        current = await repo.book_by_isbn(spec.isbn)
    else:
        current = await repo.book_by_title(spec.title, spec.author)
    if current is None:
        book = await create_book(ctx, spec.title, spec.author, spec.isbn, spec.tags, "config")
        return book, "created"
    wanted = attrs.evolve(current, title=spec.title, author=spec.author, tags=spec.tags)
    if wanted == current:
        return current, "unchanged"
    return await change_book(ctx, current, wanted, "config"), "changed"
