"""The `huarong` command: set up, load, import and inspect a community.

Output is plain text for people (in the operator's language) and JSON with
`--json` for scripts. Every failure prints one clear message naming what
is wrong and exits non-zero: 2 for bad input (a file, a URL), 3 for the
database, 4 for a permission, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from huarong_core._version import __version__
from huarong_core.app import CommunityHandle, Huarong
from huarong_core.cli_output import ProgressBar, table
from huarong_core.commands import (
    FindMember,
    FindOrganization,
    GetLeaderboard,
    GetMember,
    ImportMembers,
    ImportOrganizations,
    ImportReport,
    ListAuditEntries,
    ListMembers,
    ListOrganizations,
    MemberRow,
    OrganizationRow,
    WhatsOn,
)
from huarong_core.config import load_config
from huarong_core.csv_files import (
    MEMBER_COLUMNS,
    ORGANIZATION_COLUMNS,
    member_rows,
    organization_rows,
    read_csv,
)
from huarong_core.demo import DEMO_DIR, all_members, seed_demo
from huarong_core.domain.audit import Actor
from huarong_core.domain.members import Member, MemberStatus
from huarong_core.errors import HuarongError
from huarong_core.exports import audit_table
from huarong_core.i18n import (
    FALLBACK_LOCALE,
    normalize_locale,
    render_error,
    render_problem,
    translate,
)
from huarong_core.scheduler_loop import SchedulerLoop
from huarong_core.serialization import converter
from huarong_core.services.configuration import LoadReport
from huarong_core.services.imports import progress_reporter
from huarong_core.storage import create_database, migrate, schema_status
from huarong_core.storage.repositories.timers import TimerRepository, TimerStatus

DEFAULT_DB = "sqlite:///huarong.db"
DEMO_DB = "sqlite:///huarong-demo.db"
REPORT_ORDER = (
    "community",
    "categories",
    "stations",
    "organizations",
    "members",
    "roles",
    "points_rules",
    "shop_items",
)


class Output:
    """Where the CLI writes, in which language, text or JSON."""

    def __init__(self, locale: str, as_json: bool) -> None:
        self.locale = locale
        self.json = as_json

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.locale, **params)

    def say(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def data(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _operator_locale(explicit: str | None) -> str:
    for candidate in (
        explicit,
        os.environ.get("HUARONG_LANG"),
        os.environ.get("LC_ALL"),
        os.environ.get("LANG"),
    ):
        if candidate:
            locale = normalize_locale(candidate)
            if locale:
                return locale
    return FALLBACK_LOCALE


def _operator() -> Actor:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "operator"
    return Actor.system(f"cli:{user}")


def _configure_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
    )


# --- commands ---------------------------------------------------------------


async def cmd_migrate(args: argparse.Namespace, out: Output) -> int:
    db = create_database(args.db)
    async with db:
        if args.status:
            status = await schema_status(db)
            if out.json:
                out.data(
                    {
                        "current": status.current,
                        "latest": status.latest,
                        "pending": [m.version for m in status.pending],
                    }
                )
            else:
                out.say(out.t("cli.migrate.status", current=status.current, latest=status.latest))
            return 0
        applied = await migrate(db)
    if out.json:
        out.data({"applied": [{"version": m.version, "name": m.name} for m in applied]})
    elif applied:
        for m in applied:
            out.say(out.t("cli.migrate.applied", version=m.version, name=m.name))
    else:
        out.say(out.t("cli.migrate.up_to_date"))
    return 0


def _print_load_report(report: LoadReport, out: Output) -> None:
    if out.json:
        out.data(converter.unstructure(report) | {"changes": report.changes})
        return
    key = "cli.load.dry_run" if report.dry_run else "cli.load.done"
    out.say(out.t(key, community=report.community, changes=report.changes))
    seen = set(report.created) | set(report.updated) | set(report.unchanged)
    kinds = [kind for kind in REPORT_ORDER if kind in seen] + sorted(seen - set(REPORT_ORDER))
    rows = [
        [
            out.t(f"kind.{kind}"),
            str(report.created.get(kind, 0)),
            str(report.updated.get(kind, 0)),
            str(report.unchanged.get(kind, 0)),
        ]
        for kind in kinds
    ]
    out.say(
        table(
            [
                out.t("cli.col.kind"),
                out.t("cli.col.created"),
                out.t("cli.col.updated"),
                out.t("cli.col.unchanged"),
            ],
            rows,
        )
    )
    if report.revoked:
        out.say(out.t("cli.load.revoked", count=report.revoked))
    for kind, keys in report.not_in_file.items():
        out.say(out.t("cli.load.not_in_file", kind=out.t(f"kind.{kind}"), keys=", ".join(keys)))


async def cmd_load(args: argparse.Namespace, out: Output) -> int:
    config = load_config(args.file)
    async with Huarong(args.db) as huarong:
        report = await huarong.apply_configuration(
            config, actor=_operator(), source=str(args.file), dry_run=args.dry_run
        )
    _print_load_report(report, out)
    return 0


async def _community(huarong: Huarong, args: argparse.Namespace) -> CommunityHandle:
    return await huarong.community(args.community)


async def _all_members(
    handle: CommunityHandle, query: ListMembers, everything: bool
) -> list[Member]:
    actor = _operator()
    page = await handle.execute(query, actor=actor)
    members = list(page.items)
    while everything and page.has_more:
        query = ListMembers(
            query.organization_id,
            query.category,
            query.status,
            query.query,
            page.offset + len(page.items),
            query.limit,
        )
        page = await handle.execute(query, actor=actor)
        members.extend(page.items)
    return members


async def _organization_names(handle: CommunityHandle) -> dict[int, str]:
    names: dict[int, str] = {}
    offset = 0
    while True:
        page = await handle.execute(ListOrganizations(offset=offset, limit=500), actor=_operator())
        names.update({o.id: o.name for o in page.items})
        if not page.has_more:
            return names
        offset += len(page.items)


async def _resolve_organization(handle: CommunityHandle, ref: str) -> int:
    return (await handle.execute(FindOrganization(ref), actor=_operator())).id


def _member_json(member: Member, names: dict[int, str]) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(member)
    data["organization"] = names.get(member.organization_id) if member.organization_id else None
    return data


async def cmd_members_list(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        names = await _organization_names(handle)
        organization_id = (
            await _resolve_organization(handle, args.organization) if args.organization else None
        )
        query = ListMembers(
            organization_id=organization_id,
            category=args.category,
            status=MemberStatus(args.status) if args.status else None,
            query=args.search,
            offset=args.offset,
            limit=args.limit or 500,
        )
        members = await _all_members(handle, query, everything=args.limit is None)
        categories = {c.key: c.name.get(out.locale) for c in await _categories(huarong, handle)}
    if out.json:
        out.data(
            {
                "community": handle.community.key,
                "count": len(members),
                "items": [_member_json(m, names) for m in members],
            }
        )
        return 0
    rows = [
        [
            str(m.id),
            m.display_name,
            names.get(m.organization_id or 0, ""),
            "、".join(categories.get(c, c) for c in sorted(m.categories)),
            out.t(f"status.{m.status.value}"),
            m.key or "",
        ]
        for m in members
    ]
    out.say(
        table(
            [
                out.t("cli.col.id"),
                out.t("cli.col.name"),
                out.t("cli.col.organization"),
                out.t("cli.col.categories"),
                out.t("cli.col.status"),
                out.t("cli.col.key"),
            ],
            rows,
        )
    )
    out.say(out.t("cli.members.count", count=len(members)))
    return 0


async def _categories(huarong: Huarong, handle: CommunityHandle) -> list[Any]:
    from huarong_core.storage.repositories import CommunityRepository

    async with huarong.db.read() as conn:
        return await CommunityRepository(conn).categories(handle.community.id)


async def cmd_members_show(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        member_id = await _member_id(handle, args.member)
        found = await handle.execute(GetMember(member_id), actor=_operator())
    if out.json:
        out.data(converter.unstructure(found))
        return 0
    member = found.member
    out.say(f"#{member.id} {member.display_name}" + (f" ({member.key})" if member.key else ""))
    if found.organization:
        out.say(f"  {out.t('cli.col.organization')}: {found.organization.name}")
    out.say(f"  {out.t('cli.col.status')}: {out.t(f'status.{member.status.value}')}")
    if member.categories:
        out.say(f"  {out.t('cli.col.categories')}: {', '.join(sorted(member.categories))}")
    for identity in found.identities:
        out.say(f"  {out.t('cli.col.identity')}: {identity.ref}")
    for grant in found.grants:
        out.say(f"  {out.t('cli.col.role')}: {out.t(f'role.{grant.role.value}')} @ {grant.scope}")
    return 0


async def _member_id(handle: CommunityHandle, ref: str) -> int:
    return (await handle.execute(FindMember(ref), actor=_operator())).member.id


async def cmd_organizations_list(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        page = await handle.execute(
            ListOrganizations(query=args.search, offset=args.offset, limit=args.limit),
            actor=_operator(),
        )
    if out.json:
        out.data(converter.unstructure(page))
        return 0
    yes, no = out.t("cli.yes"), out.t("cli.no")
    rows = [
        [
            str(o.id),
            o.name,
            o.floor or "",
            o.industry or "",
            yes if o.has_party_branch else no,
            o.key or "",
        ]
        for o in page.items
    ]
    out.say(
        table(
            [
                out.t("cli.col.id"),
                out.t("cli.col.name"),
                out.t("cli.col.floor"),
                out.t("cli.col.industry"),
                out.t("cli.col.party_branch"),
                out.t("cli.col.key"),
            ],
            rows,
        )
    )
    out.say(out.t("cli.page", shown=len(page.items), total=page.total))
    return 0


async def cmd_audit_list(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        entries = await handle.execute(
            ListAuditEntries(action=args.action_filter, before_id=args.before, limit=args.limit),
            actor=_operator(),
        )
        tz = handle.community.tz
    if out.json:
        out.data([converter.unstructure(e) for e in entries])
        return 0
    lines = audit_table(entries, tz)
    out.say(table([out.t(f"cli.col.{h}") for h in lines.header], lines.text_rows()))
    return 0


def _organization_rows(args: argparse.Namespace) -> tuple[str, tuple[OrganizationRow, ...]]:
    sheet = read_csv(args.file, ORGANIZATION_COLUMNS, encoding=args.encoding)
    return sheet.encoding, organization_rows(sheet)


def _member_rows(args: argparse.Namespace) -> tuple[str, tuple[MemberRow, ...]]:
    sheet = read_csv(args.file, MEMBER_COLUMNS, encoding=args.encoding)
    return sheet.encoding, member_rows(sheet)


def _print_import_report(report: ImportReport, encoding: str, out: Output) -> None:
    if out.json:
        data = converter.unstructure(report)
        data["encoding"] = encoding
        data["rejected"] = [
            {"where": p.where, "key": p.key, "problem": render_problem(p, out.locale)}
            for p in report.rejected
        ]
        out.data(data)
        return
    out.say(
        out.t(
            "cli.import.done",
            file=report.source,
            encoding=encoding,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        )
    )
    error = None
    if report.rejected:
        from huarong_core.errors import ImportRejected

        error = ImportRejected(file=report.source, rows=report.rows, problems=report.rejected)
        out.say(render_error(error, out.locale))


async def cmd_import(args: argparse.Namespace, out: Output) -> int:
    command: ImportOrganizations | ImportMembers
    if args.kind == "organizations":
        encoding, org_rows = _organization_rows(args)
        command = ImportOrganizations(str(args.file), org_rows, partial=args.partial)
        total = len(org_rows)
    else:
        encoding, member_rows = _member_rows(args)
        command = ImportMembers(str(args.file), member_rows, partial=args.partial)
        total = len(member_rows)
    show_progress = sys.stderr.isatty() and not out.json and total > 0
    token = progress_reporter.set(
        ProgressBar(out.t("cli.import.progress")) if show_progress else None
    )
    try:
        async with Huarong(args.db) as huarong:
            handle = await _community(huarong, args)
            report = await handle.execute(command, actor=_operator())
    finally:
        progress_reporter.reset(token)
    _print_import_report(report, encoding, out)
    return 1 if report.rejected else 0


async def cmd_points(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        result: int = await args.points_handler(huarong, handle, _operator(), args, out)
        return result


async def cmd_communities_list(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        communities = await huarong.communities()
    if out.json:
        out.data([converter.unstructure(c) for c in communities])
        return 0
    rows = [[str(c.id), c.key, c.name.get(out.locale), c.timezone, c.locale] for c in communities]
    out.say(
        table(
            [
                out.t("cli.col.id"),
                out.t("cli.col.key"),
                out.t("cli.col.name"),
                out.t("cli.col.timezone"),
                out.t("cli.col.locale"),
            ],
            rows,
        )
    )
    return 0


async def cmd_timers_run(args: argparse.Namespace, out: Output) -> int:
    """Fire every timer due now (in one community with --community), or keep doing so."""
    async with Huarong(args.db) as huarong:
        only = None if args.community is None else [(await _community(huarong, args)).community.key]
        if args.every is not None:
            async with SchedulerLoop(
                huarong, interval=args.every, communities=only, actor=_operator()
            ):
                if not out.json:
                    out.say(out.t("cli.timers.watching", seconds=args.every))
                await asyncio.Event().wait()  # until Ctrl-C
        scheduler = SchedulerLoop(huarong, communities=only, actor=_operator())
        fired = await scheduler.run_once(raise_errors=True)
    if out.json:
        out.data({"fired": fired})
    else:
        out.say(out.t("cli.timers.fired", count=fired))
    return 0


async def cmd_timers_list(args: argparse.Namespace, out: Output) -> int:
    async with Huarong(args.db) as huarong:
        handle = await _community(huarong, args)
        async with huarong.db.read() as conn:
            records = await TimerRepository(conn, handle.community.id).by_status(
                TimerStatus(args.status), args.prefix or "", args.limit
            )
    if out.json:
        out.data([converter.unstructure(r) for r in records])
        return 0
    tz = handle.community.tz
    rows = [
        [
            str(r.timer.id),
            r.timer.key,
            r.timer.kind,
            r.timer.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            str(r.timer.attempts),
            r.last_error or "",
        ]
        for r in records
    ]
    out.say(
        table(
            [
                out.t("cli.col.id"),
                out.t("cli.col.key"),
                out.t("cli.col.kind"),
                out.t("cli.col.due"),
                out.t("cli.col.attempts"),
                out.t("cli.col.error"),
            ],
            rows,
        )
    )
    out.say(out.t("cli.timers.count", count=len(records)))
    return 0


async def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    """Seed the demo building (idempotently) and show what is in it."""
    directory = Path(args.dir)
    quiet = Output(out.locale, as_json=False)
    # The scheduler runs for as long as the demo does, so its timers fire meanwhile.
    media = os.environ.get("HUARONG_MEDIA") or None
    async with Huarong(args.db, media_dir=media) as huarong, SchedulerLoop(huarong) as scheduler:
        handle = await seed_demo(huarong, directory, actor=_operator())
        members = await all_members(handle, _operator())
        coming = await handle.execute(WhatsOn(days=14), actor=_operator())
        await scheduler.run_once()  # what the seeding made due fires before the tour
        organizations = await handle.execute(ListOrganizations(limit=1), actor=_operator())
        stations = await _stations(huarong, handle)
        top = await handle.execute(GetLeaderboard(limit=5), actor=_operator())
    community = handle.community
    if out.json:
        out.data(
            {
                "community": community.key,
                "database": args.db,
                "members": len(members),
                "organizations": organizations.total,
                "stations": [s.key for s in stations],
            }
        )
        return 0
    quiet.say(out.t("cli.demo.title", name=community.name.get(out.locale), db=args.db))
    quiet.say(
        out.t(
            "cli.demo.counts",
            members=len(members),
            organizations=organizations.total,
            stations=len(stations),
        )
    )
    for station in stations:
        quiet.say(
            f"  - {station.name.get(out.locale)}" + (f" ({station.floor})" if station.floor else "")
        )
    quiet.say(out.t("cli.demo.top"))
    for entry in top.entries:
        quiet.say(f"  {entry.rank}. {entry.display_name} ({entry.score})")
    quiet.say(out.t("cli.demo.coming"))
    for gathering in coming[:5]:
        when = gathering.starts_at.astimezone(community.tz).strftime("%Y-%m-%d %H:%M")
        quiet.say(f"  {when}  {gathering.title.get(out.locale)}")
    quiet.say(out.t("cli.demo.next", db=args.db))
    return 0


async def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    """Run every configured adapter (bots, the portal) and the background loops."""
    from huarong_core.serve import serve, tune_garbage_collector

    media = os.environ.get("HUARONG_MEDIA") or None
    async with Huarong(args.db, media_dir=media) as huarong:
        handle = await huarong.community(args.community)
        ran = await serve(huarong, handle, os.environ, on_started=tune_garbage_collector)
    if not ran:
        sys.stderr.write(out.t("cli.serve.nothing") + "\n")
        return 1
    return 0


async def _stations(huarong: Huarong, handle: CommunityHandle) -> list[Any]:
    from huarong_core.storage.repositories import CommunityRepository

    async with huarong.db.read() as conn:
        return await CommunityRepository(conn).stations(handle.community.id)


# --- parser -----------------------------------------------------------------


Handler = Callable[[argparse.Namespace, Output], Coroutine[Any, Any, int]]


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        dest="json_here",
        action="store_true",
        help="print JSON for scripts instead of text",
    )
    # Global options may also follow the subcommand (`huarong members list --db ...`).
    common.add_argument("--db", dest="db_here", default=None, help=argparse.SUPPRESS)
    common.add_argument("--community", dest="community_here", default=None, help=argparse.SUPPRESS)
    common.add_argument("--lang", dest="lang_here", default=None, help=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="huarong",
        description="Run a community: set up its database, load its file, import lists, inspect.",
    )
    parser.add_argument(
        "--db", default=None, help=f"database URL (default: $HUARONG_DB, else {DEFAULT_DB})"
    )
    parser.add_argument(
        "--community", default=None, help="community key, when the database holds several"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--lang", default=None, help="language of messages: zh_CN or en")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    parser.add_argument("--version", action="version", version=f"huarong {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", parents=[common], help="bring the database schema up to date")
    p.add_argument("--status", action="store_true", help="only show the schema version")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("load", parents=[common], help="apply a community file (TOML)")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    p.set_defaults(handler=cmd_load)

    members = sub.add_parser("members", help="members of the community")
    msub = members.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = msub.add_parser("list", parents=[common], help="list members")
    p.add_argument("--organization", help="organization id, key or name")
    p.add_argument("--category", help="category key")
    p.add_argument("--status", choices=[s.value for s in MemberStatus])
    p.add_argument("--search", help="part of a name")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    p.set_defaults(handler=cmd_members_list)
    p = msub.add_parser("show", parents=[common], help="one member: id or key")
    p.add_argument("member")
    p.set_defaults(handler=cmd_members_show)

    orgs = sub.add_parser("organizations", help="organizations (tenant companies)")
    osub = orgs.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = osub.add_parser("list", parents=[common], help="list organizations")
    p.add_argument("--search", help="part of a name")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=500)
    p.set_defaults(handler=cmd_organizations_list)

    audit = sub.add_parser("audit", help="the audit log of admin actions")
    asub = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = asub.add_parser("list", parents=[common], help="newest entries first")
    p.add_argument("--action", dest="action_filter", help="only this action, e.g. member.register")
    p.add_argument("--before", type=int, help="entries older than this id (paging)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_audit_list)

    p = sub.add_parser("import", parents=[common], help="import organizations or members from CSV")
    p.add_argument("kind", choices=["organizations", "members"])
    p.add_argument("file", type=Path)
    p.add_argument(
        "--partial",
        action="store_true",
        help="keep the good rows when some are rejected (default: all or nothing)",
    )
    p.add_argument("--encoding", help="force an encoding (default: detect UTF-8, UTF-16, GBK)")
    p.set_defaults(handler=cmd_import)

    from huarong_core import cli_points

    cli_points.add_parsers(sub, common)
    for name in ("points", "shop"):
        sub.choices[name].set_defaults(handler=cmd_points)

    from huarong_core import cli_gatherings

    cli_gatherings.add_parsers(sub, common)
    for name in ("whatson", "calendar"):
        sub.choices[name].set_defaults(handler=cmd_points)

    from huarong_core import cli_access

    cli_access.add_parsers(sub, common)
    sub.choices["access"].set_defaults(handler=cmd_points)

    comms = sub.add_parser("communities", help="communities in the database")
    csub = comms.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = csub.add_parser("list", parents=[common], help="list communities")
    p.set_defaults(handler=cmd_communities_list)

    timers = sub.add_parser("timers", help="persisted timers: reminders, closings, generation")
    tsub = timers.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = tsub.add_parser("run", parents=[common], help="fire the timers that are due now")
    p.add_argument(
        "--every",
        type=_positive_seconds,
        metavar="SECONDS",
        help="keep running and fire due timers every SECONDS (until Ctrl-C)",
    )
    p.set_defaults(handler=cmd_timers_run)
    p = tsub.add_parser("list", parents=[common], help="timers waiting to fire (soonest first)")
    p.add_argument("--status", choices=[s.value for s in TimerStatus], default="pending")
    p.add_argument("--prefix", help="only keys starting with this, e.g. reminder:")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(handler=cmd_timers_list)

    p = sub.add_parser(
        "serve",
        parents=[common],
        help="run the configured bots and portal (HUARONG_TELEGRAM_TOKEN, ...) until Ctrl-C",
    )
    p.set_defaults(handler=cmd_serve)

    _add_plugins(sub, common)

    p = sub.add_parser("demo", parents=[common], help="seed and show the demo building")
    p.add_argument("--dir", default=str(DEMO_DIR), help="folder with community.toml and CSV lists")
    p.set_defaults(handler=cmd_demo, demo=True)
    return parser


def _add_plugins(sub: Any, common: argparse.ArgumentParser) -> None:
    """Subcommands that installed adapters offer (`chat` from huarong_console), by entry point.

    Each entry point of the group `huarong.cli` names a function
    `add_parser(subparsers, common)` that adds its subcommand with a
    `handler(args, out)` coroutine, as the built-in subcommands do.
    """
    from importlib.metadata import entry_points

    for point in entry_points(group="huarong.cli"):
        point.load()(sub, common)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Global options may also follow the subcommand (`huarong members list --db ...`).
    for name in ("db", "community", "lang"):
        here = getattr(args, f"{name}_here", None)
        if here is not None:
            setattr(args, name, here)
    if args.db is None:
        args.db = os.environ.get("HUARONG_DB") or (
            DEMO_DB if getattr(args, "demo", False) else DEFAULT_DB
        )
    _configure_logging(args.verbose)
    out = Output(_operator_locale(args.lang), args.json or getattr(args, "json_here", False))
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, out))
    except HuarongError as exc:
        message = render_error(exc, out.locale)
        if out.json:
            sys.stderr.write(
                json.dumps(
                    {"error": {"type": type(exc).__name__, "key": exc.key, "message": message}},
                    ensure_ascii=False,
                )
                + "\n"
            )
        else:
            sys.stderr.write(f"huarong: {message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`huarong members list | head`); that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
