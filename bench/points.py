"""Points: awards per second through the library against naive baselines, and leaderboard reads.

Prints, never asserts. In one run it measures, side by side:

- rule-evaluated, exactly-once awards through `CommunityHandle.execute`
  (`RecordActivity`, and `RecordActivities` with 100 activities per call),
  with 1 awarder and with 32 concurrent awarders, on SQLite and PostgreSQL;
- the naive baseline on SQLite: plain aiosqlite, one transaction and three
  awaits per award (ledger insert, balance upsert, commit), concurrent
  awarders serialized by an `asyncio.Lock`;
- the baseline on PostgreSQL: an asyncpg pool of 8, one statement per award
  (a CTE that inserts the ledger line and upserts the balance), and the
  same as BEGIN + two statements + COMMIT;
- `GetLeaderboard` and `GetRank` latency (p50/p95/p99) on a community whose
  members, balances and ledger were bulk-loaded straight into the tables.

On PostgreSQL everything lives in the schema `bench_points`, created before
and dropped after. CPU time per award is this process's CPU (event loop,
SQLite threads); PostgreSQL's server CPU is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from huarong_core import Actor, CommunityHandle, Huarong, ImportMembers, MemberRow, parse_config
from huarong_core.commands import (
    AwardResult,
    GetLeaderboard,
    GetRank,
    RecordActivities,
    RecordActivity,
)
from huarong_core.storage import Connection, parse_database_url
from huarong_core.storage.postgres import PostgresDatabase
from huarong_core.storage.url import PostgresURL

SYSTEM = Actor.system("bench")
TRIGGER = "salon.checked_in"
BATCH = 100
CONCURRENT = 32
POOL = 8
AWARD_MEMBERS = 1_000
SCHEMA = "bench_points"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 20_000
LEDGER_CHUNK = 500_000

AWARDS_TOML = f"""
[community]
key = "bench"
name = {{ en = "Points bench" }}
timezone = "Asia/Shanghai"

[points]
season = "quarter"

[[points.rules]]
key = "checkin"
name = {{ en = "Check-in" }}
trigger = "{TRIGGER}"
points = 1
"""

BOARD_TOML = """
[community]
key = "board"
name = { en = "Leaderboard bench" }
timezone = "Asia/Shanghai"
"""

LIBRARY_ONE = "library RecordActivity"
LIBRARY_BATCH = f"library RecordActivities x{BATCH}"
NAIVE_SQLITE = "naive aiosqlite, 3 awaits/tx"
PG_ONE_STATEMENT = "asyncpg, 1 statement (CTE)"
PG_TWO_STATEMENTS = "asyncpg, BEGIN+2 stmts+COMMIT"
BASELINES = {"SQLite": NAIVE_SQLITE, "PostgreSQL": PG_ONE_STATEMENT}


@dataclass(frozen=True)
class Result:
    backend: str
    path: str
    awarders: int
    awards: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.awards / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.awards * 1e6


@dataclass(frozen=True)
class Latencies:
    backend: str
    read: str
    samples: list[float]

    def percentile(self, p: int) -> float:
        cuts = statistics.quantiles(self.samples, n=100, method="inclusive")
        return cuts[p - 1] * 1000


# --- running awarders ---------------------------------------------------------------


def single_plan(total: int, awarders: int) -> list[list[int]]:
    """Award indices per awarder: awarder t takes t, t + n, t + 2n, ..."""
    per = max(1, total // awarders)
    return [[t + awarders * j for j in range(per)] for t in range(awarders)]


def batch_plan(total: int, awarders: int) -> list[list[range]]:
    """Batches of `BATCH` consecutive indices per awarder, dealt round robin."""
    per = max(1, total // (awarders * BATCH))
    return [
        [range(b * BATCH, (b + 1) * BATCH) for b in (t + awarders * j for j in range(per))]
        for t in range(awarders)
    ]


async def timed(tasks: Sequence[Callable[[], Awaitable[None]]]) -> tuple[float, float]:
    """Wall and CPU seconds to run the tasks concurrently (one task: plain awaits)."""
    cpu, wall = time.process_time(), time.perf_counter()
    if len(tasks) == 1:
        await tasks[0]()
    else:
        await asyncio.gather(*(task() for task in tasks))
    return time.perf_counter() - wall, time.process_time() - cpu


def _check(label: str, results: list[tuple[AwardResult, ...]], expected: int) -> None:
    awarded = sum(1 for answer in results for r in answer if r.outcome == "awarded")
    if awarded != expected:
        print(f"  warning: {label}: {awarded} of {expected} activities awarded")


async def library_run(
    handle: CommunityHandle,
    members: list[int],
    backend: str,
    label: str,
    awards: int,
    awarders: int,
    batched: bool,
) -> Result:
    answers: list[tuple[AwardResult, ...]] = []

    def activity(k: int) -> RecordActivity:
        return RecordActivity(
            TRIGGER, source_id=f"{label}:{k}", member_id=members[k % len(members)]
        )

    def one(indices: list[int]) -> Callable[[], Awaitable[None]]:
        async def awarder() -> None:
            for k in indices:
                answers.append(await handle.execute(activity(k), actor=SYSTEM))

        return awarder

    def many(batches: list[range]) -> Callable[[], Awaitable[None]]:
        async def awarder() -> None:
            for batch in batches:
                command = RecordActivities(tuple(activity(k) for k in batch))
                batch_answers = await handle.execute(command, actor=SYSTEM)
                answers.extend(batch_answers)

        return awarder

    if batched:
        plan = batch_plan(awards, awarders)
        tasks = [many(batches) for batches in plan]
        count = sum(len(batches) for batches in plan) * BATCH
    else:
        indices = single_plan(awards, awarders)
        tasks = [one(chunk) for chunk in indices]
        count = sum(len(chunk) for chunk in indices)
    seconds, cpu = await timed(tasks)
    _check(label, answers, count)
    path = LIBRARY_BATCH if batched else LIBRARY_ONE
    return Result(backend, path, awarders, count, seconds, cpu)


async def award_members(huarong: Huarong, handle: CommunityHandle) -> list[int]:
    rows = tuple(MemberRow(line=i + 2, name=f"Awardee {i}") for i in range(AWARD_MEMBERS))
    await handle.execute(ImportMembers("bench", rows), actor=SYSTEM)

    async def ids(conn: Connection) -> list[int]:
        found = await conn.fetch(
            "SELECT id FROM members WHERE community_id = $1 ORDER BY id", handle.community.id
        )
        return [int(r["id"]) for r in found]

    return await huarong.db.run_read(ids)


async def library_awards(
    huarong: Huarong, backend: str, awards: int, batch_awards: int
) -> list[Result]:
    await huarong.apply_configuration(parse_config(AWARDS_TOML), actor=SYSTEM)
    handle = await huarong.community("bench")
    members = await award_members(huarong, handle)
    await library_run(handle, members, backend, "warm", 256, CONCURRENT, batched=False)
    results = []
    for awarders in (1, CONCURRENT):
        label = f"one-{awarders}"
        results.append(
            await library_run(handle, members, backend, label, awards, awarders, batched=False)
        )
    for awarders in (1, CONCURRENT):
        label = f"batch-{awarders}"
        results.append(
            await library_run(handle, members, backend, label, batch_awards, awarders, True)
        )
    return results


# --- the naive SQLite baseline --------------------------------------------------------

NAIVE_SCHEMA = """
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id INTEGER NOT NULL,
    delta INTEGER NOT NULL,
    rule_key TEXT NOT NULL,
    source_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (rule_key, source_id)
);
CREATE TABLE balances (
    member_id INTEGER PRIMARY KEY,
    balance INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"""


async def naive_sqlite(path: Path, awards: int) -> list[Result]:
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.executescript(NAIVE_SCHEMA)
        await db.commit()
        lock = asyncio.Lock()

        def awarder(label: str, indices: list[int]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                for k in indices:
                    now = datetime.now(UTC).isoformat()
                    async with lock:
                        await db.execute(
                            "INSERT INTO ledger (member_id, delta, rule_key, source_id, created_at)"
                            " VALUES (?, 1, 'checkin', ?, ?)",
                            (k % AWARD_MEMBERS + 1, f"{label}:{k}", now),
                        )
                        await db.execute(
                            "INSERT INTO balances (member_id, balance, updated_at) VALUES (?, 1, ?)"
                            " ON CONFLICT (member_id) DO UPDATE SET"
                            " balance = balance + excluded.balance,"
                            " updated_at = excluded.updated_at",
                            (k % AWARD_MEMBERS + 1, now),
                        )
                        await db.commit()

            return run

        await timed([awarder("warm", chunk) for chunk in single_plan(256, CONCURRENT)])
        results = []
        for awarders in (1, CONCURRENT):
            plan = single_plan(awards, awarders)
            seconds, cpu = await timed([awarder(f"n-{awarders}", chunk) for chunk in plan])
            count = sum(len(chunk) for chunk in plan)
            results.append(Result("SQLite", NAIVE_SQLITE, awarders, count, seconds, cpu))
        return results


# --- the PostgreSQL baseline ----------------------------------------------------------

PG_BASELINE_SCHEMA = """
CREATE TABLE baseline_ledger (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id BIGINT NOT NULL,
    delta BIGINT NOT NULL,
    rule_key TEXT NOT NULL,
    source_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (rule_key, source_id)
);
CREATE TABLE baseline_balances (
    member_id BIGINT PRIMARY KEY,
    balance BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"""
PG_CTE = (
    "WITH entry AS (INSERT INTO baseline_ledger (member_id, delta, rule_key, source_id,"
    " created_at) VALUES ($1, 1, 'checkin', $2, now()) RETURNING member_id, delta)"
    " INSERT INTO baseline_balances (member_id, balance, updated_at)"
    " SELECT member_id, delta, now() FROM entry ON CONFLICT (member_id) DO UPDATE SET"
    " balance = baseline_balances.balance + excluded.balance, updated_at = excluded.updated_at"
)
PG_LEDGER = (
    "INSERT INTO baseline_ledger (member_id, delta, rule_key, source_id, created_at)"
    " VALUES ($1, 1, 'checkin', $2, now())"
)
PG_BALANCE = (
    "INSERT INTO baseline_balances (member_id, balance, updated_at) VALUES ($1, 1, now())"
    " ON CONFLICT (member_id) DO UPDATE SET"
    " balance = baseline_balances.balance + excluded.balance, updated_at = excluded.updated_at"
)


async def pg_baseline(url: PostgresURL, awards: int) -> list[Result]:
    import asyncpg

    pool: Any = await asyncpg.create_pool(
        url.dsn, min_size=POOL, max_size=POOL, server_settings={"search_path": SCHEMA}
    )
    try:
        async with pool.acquire() as conn:
            await conn.execute(PG_BASELINE_SCHEMA)

        def one_statement(label: str, indices: list[int]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                for k in indices:
                    async with pool.acquire() as conn:
                        await conn.execute(PG_CTE, k % AWARD_MEMBERS + 1, f"{label}:{k}")

            return run

        def two_statements(label: str, indices: list[int]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                for k in indices:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(PG_LEDGER, k % AWARD_MEMBERS + 1, f"{label}:{k}")
                        await conn.execute(PG_BALANCE, k % AWARD_MEMBERS + 1)

            return run

        results = []
        variants = ((PG_ONE_STATEMENT, one_statement), (PG_TWO_STATEMENTS, two_statements))
        for path, make in variants:
            await timed([make(f"warm-{path}", chunk) for chunk in single_plan(256, CONCURRENT)])
            for awarders in (1, CONCURRENT):
                plan = single_plan(awards, awarders)
                seconds, cpu = await timed([make(f"{path}-{awarders}", c) for c in plan])
                count = sum(len(chunk) for chunk in plan)
                results.append(Result("PostgreSQL", path, awarders, count, seconds, cpu))
        return results
    finally:
        await pool.close()


# --- leaderboards -----------------------------------------------------------------


def _sqlite_ledger_chunk() -> str:
    return (
        "WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3)"
        " INSERT INTO ledger (community_id, member_id, delta, bonus, kind, rule_key, trigger,"
        " source_id, reason, actor_label, occurred_at, created_at)"
        " SELECT $1, (i * 7919) % $4 + 1, 1 + i % 7, 0, 'award', 'bulk', 'bulk.loaded',"
        " 'bulk:' || i, 'bulk', 'system:bench',"
        " strftime('%Y-%m-%dT%H:%M:%S', $5 + i * $6, 'unixepoch') || '.000000Z',"
        " strftime('%Y-%m-%dT%H:%M:%S', $5 + i * $6, 'unixepoch') || '.000000Z' FROM n"
    )


def _pg_ledger_chunk() -> str:
    return (
        "INSERT INTO ledger (community_id, member_id, delta, bonus, kind, rule_key, trigger,"
        " source_id, reason, actor_label, occurred_at, created_at)"
        " SELECT $1, (i * 7919) % $4 + 1, 1 + i % 7, 0, 'award', 'bulk', 'bulk.loaded',"
        " 'bulk:' || i, 'bulk', 'system:bench',"
        " to_timestamp($5 + i * $6::bigint), to_timestamp($5 + i * $6::bigint)"
        " FROM generate_series($2::bigint, $3::bigint) AS i"
    )


async def populate(huarong: Huarong, members: int, ledger_rows: int, rng: random.Random) -> int:
    """Bulk-load the `board` community straight into the tables; return its id."""
    await huarong.apply_configuration(parse_config(BOARD_TOML), actor=SYSTEM)
    cid = (await huarong.community("board")).community.id
    now = datetime.now(UTC)
    async with huarong.db.transaction() as conn:
        for start in range(1, members + 1, CHUNK):
            ids = range(start, min(start + CHUNK, members + 1))
            await conn.executemany(
                "INSERT INTO members (community_id, id, display_name, status, created_at,"
                " updated_at) VALUES ($1, $2, $3, 'active', $4, $4)",
                [(cid, i, f"Member {i}", now) for i in ids],
            )
            scores = [int(rng.expovariate(1 / 150)) for _ in ids]
            await conn.executemany(
                "INSERT INTO balances (community_id, member_id, balance, score, updated_at)"
                " VALUES ($1, $2, $3, $3, $4)",
                [(cid, i, score, now) for i, score in zip(ids, scores, strict=True)],
            )
        await conn.execute(
            "INSERT INTO id_counters (community_id, name, value) VALUES ($1, 'member', $2)"
            " ON CONFLICT (community_id, name) DO UPDATE SET value = excluded.value",
            cid,
            members,
        )
        # The library keeps members per score beside the balances; so must a bulk load.
        await conn.execute(
            "INSERT INTO score_counts (community_id, score, members)"
            " SELECT community_id, score, COUNT(*) FROM balances"
            " WHERE community_id = $1 AND score <> 0 GROUP BY community_id, score",
            cid,
        )
    step = max(1, 365 * 86_400 // max(1, ledger_rows))
    first = int((now - timedelta(days=366)).timestamp())
    sql = _pg_ledger_chunk() if huarong.db.dialect == "postgres" else _sqlite_ledger_chunk()
    for start in range(0, ledger_rows, LEDGER_CHUNK):
        end = min(start + LEDGER_CHUNK, ledger_rows) - 1
        async with huarong.db.transaction() as conn:
            await conn.execute(sql, cid, start, end, members, first, step)
    await settle(huarong)
    return cid


async def settle(huarong: Huarong) -> None:
    """On PostgreSQL, what autovacuum does soon after a load this size (SQLite needs nothing)."""
    url = huarong.db.url
    if not isinstance(url, PostgresURL):
        return
    import asyncpg

    conn = await asyncpg.connect(url.dsn, server_settings={"search_path": SCHEMA})
    try:
        await conn.execute("VACUUM (ANALYZE) members, balances")
        await conn.execute("ANALYZE ledger")
    finally:
        await conn.close()


async def leaderboard_reads(
    huarong: Huarong, backend: str, members: int, ledger_rows: int, reads: int
) -> tuple[list[Latencies], float]:
    rng = random.Random(7)
    started = time.perf_counter()
    await populate(huarong, members, ledger_rows, rng)
    loaded = time.perf_counter() - started
    handle = await huarong.community("board")

    async def sample(make: Callable[[], Any]) -> list[float]:
        for _ in range(min(50, reads)):  # warm caches, statement caches, reader threads
            await handle.execute(make(), actor=SYSTEM)
        samples = []
        for _ in range(reads):
            command = make()
            begun = time.perf_counter()
            await handle.execute(command, actor=SYSTEM)
            samples.append(time.perf_counter() - begun)
        return samples

    board = await sample(lambda: GetLeaderboard(offset=rng.randrange(5) * 20, limit=20))
    rank = await sample(lambda: GetRank(member_id=rng.randint(1, members)))
    return [
        Latencies(backend, "GetLeaderboard(limit=20), pages 1-5", board),
        Latencies(backend, "GetRank(random member)", rank),
    ], loaded


# --- profile ------------------------------------------------------------------------


async def profile_sqlite(folder: Path, awards: int, top: int) -> None:
    """cProfile over single-awarder SQLite awards: the event loop and the writer thread."""
    loop_profile, writer_profile = cProfile.Profile(), cProfile.Profile()
    async with Huarong(f"sqlite:///{folder / 'profile.db'}") as huarong:
        await huarong.apply_configuration(parse_config(AWARDS_TOML), actor=SYSTEM)
        handle = await huarong.community("bench")
        members = await award_members(huarong, handle)
        await library_run(handle, members, "SQLite", "warm", 256, 1, batched=False)

        async def enable(conn: Connection) -> None:
            writer_profile.enable()

        async def disable(conn: Connection) -> None:
            writer_profile.disable()

        await huarong.db.run(enable)
        loop_profile.enable()
        result = await library_run(handle, members, "SQLite", "prof", awards, 1, batched=False)
        loop_profile.disable()
        await huarong.db.run(disable)
    print(f"\nprofile: {result.awards:,} single-awarder SQLite awards, {result.rate:,.0f}/s")
    for name, profile in (("event loop thread", loop_profile), ("writer thread", writer_profile)):
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats(order).print_stats(top)
            print(f"\n--- {name}, by {order} (seconds are for all {result.awards:,} awards)")
            print(out.getvalue().split("\n", 5)[-1].rstrip())


# --- driving it ---------------------------------------------------------------------


async def prepare_schema(url: PostgresURL, drop: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        if not drop:
            await conn.execute(f"CREATE SCHEMA {SCHEMA}")
    finally:
        await conn.close()


def pg_url(base: str) -> PostgresURL:
    sep = "&" if "?" in base else "?"
    parsed = parse_database_url(f"{base}{sep}schema={SCHEMA}")
    if not isinstance(parsed, PostgresURL):
        raise SystemExit(f"--pg must be a postgresql:// URL, not {parsed.redacted()}")
    return parsed


@dataclass
class Report:
    awards: list[Result]
    reads: list[Latencies]
    loads: dict[str, float]


async def run(args: argparse.Namespace, folder: Path) -> Report:
    report = Report([], [], {})
    if not args.skip_awards:
        print(
            f"awards: {args.awards:,} per single-award row, {args.batch_awards:,} per batched"
            f" row, spread over {AWARD_MEMBERS:,} members; rule {TRIGGER} = 1 point, no caps"
        )
        print("SQLite: naive baseline ...", flush=True)
        report.awards += await naive_sqlite(folder / "naive.db", args.awards)
    async with Huarong(f"sqlite:///{folder / 'library.db'}") as huarong:
        if not args.skip_awards:
            print("SQLite: library ...", flush=True)
            report.awards += await library_awards(huarong, "SQLite", args.awards, args.batch_awards)
        if not args.skip_leaderboard:
            print("SQLite: leaderboard load and reads ...", flush=True)
            reads, loaded = await leaderboard_reads(
                huarong, "SQLite", args.members, args.ledger_rows, args.reads
            )
            report.reads += reads
            report.loads["SQLite"] = loaded
    if args.skip_postgres:
        return report
    url = pg_url(args.pg)
    await prepare_schema(url, drop=False)
    try:
        if not args.skip_awards:
            print("PostgreSQL: baseline ...", flush=True)
            report.awards += await pg_baseline(url, args.awards)
        async with Huarong(PostgresDatabase(url, min_size=POOL, max_size=POOL)) as huarong:
            if not args.skip_awards:
                print("PostgreSQL: library ...", flush=True)
                report.awards += await library_awards(
                    huarong, "PostgreSQL", args.awards, args.batch_awards
                )
            if not args.skip_leaderboard:
                print("PostgreSQL: leaderboard load and reads ...", flush=True)
                reads, loaded = await leaderboard_reads(
                    huarong, "PostgreSQL", args.members, args.ledger_rows, args.reads
                )
                report.reads += reads
                report.loads["PostgreSQL"] = loaded
    finally:
        await prepare_schema(url, drop=True)
    return report


def baseline_rate(results: list[Result], backend: str, awarders: int) -> float | None:
    for r in results:
        if r.backend == backend and r.path == BASELINES[backend] and r.awarders == awarders:
            return r.rate
    return None


def print_awards(results: list[Result]) -> None:
    if not results:
        return
    print()
    print(
        f"{'backend':<11} {'path':<31} {'awarders':>8} {'awards':>8} {'awards/s':>9}"
        f" {'CPU us/award':>12} {'vs baseline':>11}"
    )
    for r in results:
        base = baseline_rate(results, r.backend, r.awarders)
        ratio = f"{r.rate / base:.2f}x" if base else "-"
        print(
            f"{r.backend:<11} {r.path:<31} {r.awarders:>8} {r.awards:>8,} {r.rate:>9,.0f}"
            f" {r.cpu_us:>12,.0f} {ratio:>11}"
        )
    print("(vs baseline: SQLite rows against the naive aiosqlite row, PostgreSQL rows against")
    print(" the asyncpg one-statement row, with the same number of awarders)")
    goals = (
        ("SQLite", 1, 2.0),
        ("SQLite", CONCURRENT, 5.0),
        ("PostgreSQL", 1, 1.0),
        ("PostgreSQL", CONCURRENT, 1.0),
    )
    print("\ngoals (library / baseline, same awarders)")
    for backend, awarders, goal in goals:
        base = baseline_rate(results, backend, awarders)
        for r in results:
            if r.backend != backend or r.awarders != awarders or base is None:
                continue
            if r.path not in (LIBRARY_ONE, LIBRARY_BATCH):
                continue
            times = r.rate / base
            verdict = "meets" if times >= goal else "MISSES"
            print(
                f"  {backend:<10} {awarders:>2} awarder(s)  {r.path:<31} {times:6.2f}x"
                f"  goal >= {goal:g}x: {verdict}"
            )


def print_reads(report: Report, members: int, ledger_rows: int) -> None:
    if not report.reads:
        return
    loads = ", ".join(f"{k} {v:.1f} s" for k, v in report.loads.items())
    print(f"\nleaderboard at {members:,} members, {ledger_rows:,} ledger rows (bulk load: {loads})")
    print(f"{'backend':<11} {'read':<36} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for lat in report.reads:
        print(
            f"{lat.backend:<11} {lat.read:<36} {len(lat.samples):>6}"
            f" {lat.percentile(50):>8.2f} {lat.percentile(95):>8.2f} {lat.percentile(99):>8.2f}"
        )
    print("goal: p99 < 5 ms at 100,000 members and 10,000,000 ledger rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Points awards/s against naive baselines, and leaderboard latency."
    )
    parser.add_argument("--awards", type=int, default=5_000, help="awards per single-award row")
    parser.add_argument(
        "--batch-awards", type=int, help="awards per batched row (default: 4 x --awards)"
    )
    parser.add_argument("--members", type=int, default=100_000, help="leaderboard members")
    parser.add_argument(
        "--ledger-rows", type=int, default=1_000_000, help="ledger rows under the leaderboard"
    )
    parser.add_argument("--reads", type=int, default=1_000, help="reads of each kind")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-awards", action="store_true")
    parser.add_argument("--skip-leaderboard", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead: cProfile N single-awarder SQLite awards and print the top costs",
    )
    args = parser.parse_args()
    if args.batch_awards is None:
        args.batch_awards = 4 * args.awards
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            asyncio.run(profile_sqlite(Path(folder), args.profile, 25))
            return
        started = time.perf_counter()
        report = asyncio.run(run(args, Path(folder)))
    print_awards(report.awards)
    print_reads(report, args.members, args.ledger_rows)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
