"""Bulk import of organizations and members from a building office's lists.

Each row is applied inside a savepoint, so a bad row never leaves half of
itself behind. By default one bad row rejects the whole file (nothing is
applied); with `partial` the good rows are kept. Rows are matched to what
exists, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

import attrs

from huarong_core.commands import (
    ImportMembers,
    ImportOrganizations,
    ImportReport,
    MemberRow,
    OrganizationRow,
)
from huarong_core.domain.members import IdentityRef, Member
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Permission
from huarong_core.errors import (
    HuarongError,
    ImportRejected,
    InvalidValue,
    NotFound,
    Problem,
    StorageError,
)
from huarong_core.i18n import normalize_locale
from huarong_core.services.context import Context
from huarong_core.services.identities import link_identity
from huarong_core.services.members import change_member, create_member
from huarong_core.services.organizations import change_organization, create_organization
from huarong_core.services.registry import handles

RowT = TypeVar("RowT", OrganizationRow, MemberRow)
Progress = Callable[[int, int], None]
progress_reporter: ContextVar[Progress | None] = ContextVar("progress_reporter", default=None)
"""Set by a caller (the CLI's progress bar) to hear `(done, total)` while rows apply."""

TRUE_WORDS = frozenset({"1", "y", "yes", "true", "是", "有", "✓", "√", "x"})
FALSE_WORDS = frozenset({"0", "n", "no", "false", "否", "无", "没有", ""})
CATEGORY_SEPARATORS = re.compile(r"[;,，；、|/]")


def parse_flag(field: str, text: str) -> bool:
    word = text.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue(field=field, value=text, reason="not_yes_no")


class _Outcome:
    CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


async def _run_rows(
    ctx: Context,
    source: str,
    rows: tuple[RowT, ...],
    partial: bool,
    apply_row: Callable[[Context, RowT], Awaitable[str]],
) -> ImportReport:
    counts = {_Outcome.CREATED: 0, _Outcome.UPDATED: 0, _Outcome.UNCHANGED: 0}
    problems: list[Problem] = []
    report = progress_reporter.get()
    for done, row in enumerate(rows, start=1):
        where = f"line {row.line}"
        try:
            async with ctx.uow.savepoint():
                outcome = await apply_row(ctx, row)
            counts[outcome] += 1
        except StorageError:
            raise  # a database failure or race: the caller retries or reports it
        except HuarongError as exc:
            problems.append(Problem.from_error(where, exc))
        if report is not None:
            report(done, len(rows))
    if problems and not partial:
        raise ImportRejected(file=source, rows=len(rows), problems=tuple(problems))
    if counts[_Outcome.CREATED] or counts[_Outcome.UPDATED]:
        await ctx.audit(
            "import.apply",
            f"community:{ctx.community.key}",
            file=source,
            created=counts[_Outcome.CREATED],
            updated=counts[_Outcome.UPDATED],
            rejected=len(problems),
        )
    return ImportReport(
        source=source,
        rows=len(rows),
        created=counts[_Outcome.CREATED],
        updated=counts[_Outcome.UPDATED],
        unchanged=counts[_Outcome.UNCHANGED],
        rejected=tuple(problems),
        applied=True,
    )


def _keep(new: str, old: str | None) -> str | None:
    """An empty cell keeps what is there: a blank column never wipes data."""
    return new if new else old


async def _apply_organization(ctx: Context, row: OrganizationRow) -> str:
    repo = ctx.repos.organizations
    if not row.name.strip():
        raise InvalidValue(field="name", value="", reason="empty")
    current = await repo.by_key(row.key) if row.key else None
    current = current or await repo.by_name(" ".join(row.name.split()))
    branch = parse_flag("has_party_branch", row.has_party_branch) if row.has_party_branch else None
    if current is None:
        draft = Organization(
            0, row.name, row.key or None, row.floor or None, row.industry or None, bool(branch)
        )
        await create_organization(ctx, draft)
        return _Outcome.CREATED
    wanted = attrs.evolve(
        current,
        name=row.name,
        key=_keep(row.key, current.key),
        floor=_keep(row.floor, current.floor),
        industry=_keep(row.industry, current.industry),
        has_party_branch=current.has_party_branch if branch is None else branch,
    )
    changed = await change_organization(ctx, current, wanted)
    return _Outcome.UPDATED if changed else _Outcome.UNCHANGED


async def _category_keys(ctx: Context, text: str) -> frozenset[str]:
    """Categories by key or by any of their names (`党员` or `party_member`)."""
    categories = await ctx.repos.communities.categories(ctx.community.id)
    lookup: dict[str, str] = {}
    for category in categories:
        lookup[category.key.casefold()] = category.key
        for _, name in category.name.values:
            lookup[name.casefold()] = category.key
    keys: set[str] = set()
    for word in (w.strip() for w in CATEGORY_SEPARATORS.split(text)):
        if not word:
            continue
        key = lookup.get(word.casefold())
        if key is None:
            raise InvalidValue(field="categories", value=word, reason="unknown_category")
        keys.add(key)
    return frozenset(keys)


async def _organization_id(ctx: Context, ref: str) -> int | None:
    if not ref:
        return None
    repo = ctx.repos.organizations
    found = await repo.by_key(ref) or await repo.by_name(" ".join(ref.split()))
    if found is None:
        raise NotFound(entity="organization", ref=ref)
    return found.id


async def _apply_member(ctx: Context, row: MemberRow) -> str:
    name = " ".join(row.name.split())
    if not name:
        raise InvalidValue(field="name", value="", reason="empty")
    organization_id = await _organization_id(ctx, row.organization)
    categories = await _category_keys(ctx, row.categories) if row.categories else None
    locale = None
    if row.locale:
        locale = normalize_locale(row.locale)
        if locale is None:
            raise InvalidValue(field="locale", value=row.locale, reason="unknown_locale")
    if row.key:
        current = await ctx.repos.members.by_key(row.key)
    else:
        # Without an organization cell the row names the one member of that
        # name wherever they work: an empty cell never moves anyone.
        matches = await ctx.repos.members.by_name(name)
        if organization_id is not None:
            matches = [m for m in matches if m.organization_id == organization_id]
        if len(matches) > 1:
            raise InvalidValue(field="name", value=name, reason="ambiguous_member")
        current = matches[0] if matches else None
    if current is None:
        draft = Member(0, name, row.key or None, categories or frozenset(), organization_id, locale)
        member = await create_member(ctx, draft)
        outcome = _Outcome.CREATED
    else:
        wanted = attrs.evolve(
            current,
            display_name=name,
            categories=current.categories if categories is None else categories,
            organization_id=current.organization_id if organization_id is None else organization_id,
            locale=current.locale if locale is None else locale,
        )
        changed = await change_member(ctx, current, wanted)
        member = wanted
        outcome = _Outcome.UPDATED if changed else _Outcome.UNCHANGED
    for platform, external_id in row.identities:
        if external_id.strip():
            _, linked = await link_identity(
                ctx, member.id, IdentityRef(platform, external_id.strip())
            )
            if linked and outcome == _Outcome.UNCHANGED:
                outcome = _Outcome.UPDATED
    return outcome


@handles(ImportOrganizations)
async def import_organizations(ctx: Context, cmd: ImportOrganizations) -> ImportReport:
    ctx.require(Permission.MANAGE_ORGANIZATIONS)
    return await _run_rows(ctx, cmd.source, cmd.rows, cmd.partial, _apply_organization)


@handles(ImportMembers)
async def import_members(ctx: Context, cmd: ImportMembers) -> ImportReport:
    ctx.require(Permission.MANAGE_MEMBERS)
    return await _run_rows(ctx, cmd.source, cmd.rows, cmd.partial, _apply_member)
