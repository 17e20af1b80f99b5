"""The web API over loopback HTTP: a leaderboard read and an RSVP write, against a bare handler.

Prints, never asserts. One run measures, side by side, with the load sent
from this process over N keep-alive connections (default 32) to a server
process of its own (so the server's CPU time is its own):

- **bare aiohttp**: a handler answering a small JSON document (the same
  `AppRunner`/`TCPSite` setup, no access log): the ceiling of an aiohttp
  server on this machine;
- **GET leaderboard**: the `GetLeaderboard` route (top 20 of the all-time
  board) of `huarong_web.make_app`, signed in with a session cookie (one
  session per connection), and again with an API bearer token (`read`
  scope);
- **POST RSVP, hand-written**: the same RSVP written by hand for speed
  (sessions in a dict, `sqlite3` called from the handler, the member,
  gathering, upsert and event in one transaction): what the write row's
  work costs without a library, printed as a reference, not a goal;
- **POST RSVP**: the `RespondToGathering` route with a session cookie and its
  `X-CSRF-Token`: each connection has members of its own, and each member
  answers going and not going in turn, so every request changes an RSVP
  (and records an event).

The community is the demo building (`huarong_core.demo.seed_demo`) plus
extra members with points, on a SQLite file in a temp folder, and with
`--pg [URL]` also on PostgreSQL, in a schema of its own (`bench_web`, created
before and dropped after). Routes are found by operationId. The servers run
pinned to one CPU and this process to the others (`--no-pin` to leave it to
the scheduler): on a 2-core machine that keeps the load off the server's core.

    .venv/bin/python bench/web.py [--connections N] [--seconds S | --requests N]
    .venv/bin/python bench/web.py --pg          # also PostgreSQL (default URL below)
    .venv/bin/python bench/web.py --profile     # the Huarong rows under cProfile
    .venv/bin/python bench/web.py --py-spy      # ... sampled by py-spy (pip install py-spy)
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from bench.bench_foundation import _prepare_schema as prepare_schema
from bench.loopback import (
    PROFILING,
    Exchanges,
    ServerProcess,
    control_loop,
    cpu_seconds,
    hammer,
    http_request,
    percentile,
    pin_driver,
    pin_server,
    prepare_profiling,
    print_profile,
    quiet_server_logs,
    ready,
    serve_app,
)
from huarong_core import Actor, CommunityHandle, Huarong, ImportMembers, MemberRow
from huarong_core.commands import (
    AuthenticateApiToken,
    CreateApiToken,
    GetLeaderboard,
    ListGatherings,
    RecordActivities,
    RespondToGathering,
)
from huarong_core.demo import all_members, demo_activities, seed_demo
from huarong_core.domain.gatherings import Answer
from huarong_core.domain.members import Member
from huarong_core.storage import Connection, Database, parse_database_url
from huarong_core.storage.postgres import PostgresDatabase
from huarong_core.storage.sqlite import SqliteDatabase
from huarong_core.storage.url import PostgresURL, SqliteURL
from huarong_core.testing import FrozenClock
from huarong_web import RateLimit, WebSettings, make_app
from huarong_web.api import API_PREFIX, route_table
from huarong_web.auth import CSRF_HEADER, SESSION_COOKIE
from huarong_web.keys import AUTH
from huarong_web.routes import ALL_ROUTES

SYSTEM = Actor.system("bench")
DEMO_MEMBERS = 50
DEMO_DIR = Path(__file__).resolve().parent.parent / "examples" / "huarong"
BARE_PATH = "/bare"
BARE_ANSWER = {
    "board": "all",
    "entries": [{"rank": 1, "member_id": 2, "display_name": "李敏", "score": 71}],
}
"""About the size of one leaderboard entry: a small JSON document."""
LEADERBOARD = {"board": "all"}
LEADERBOARD_QUERY = "?limit=20"
SCHEMA = "bench_web"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
POOL = 8
CHUNK = 500
UNLIMITED = RateLimit(1_000_000_000, 1.0)
"""The write limits (per address and per member) still run, but never bind: every
request of the bench comes from 127.0.0.1."""
ANSWERS = ("going", "not_going")
FLOOR_SECONDS = 4.0
"""Per command of the in-process rows (no HTTP)."""
READ_GOAL = 0.50
WRITE_GOAL = 0.25


# --- the servers (each runs as `web.py --serve KIND` in its own process) -------------------


async def serve_bare(args: argparse.Namespace) -> None:
    async def bare(request: web.Request) -> web.Response:
        return web.json_response(BARE_ANSWER)

    app = web.Application()
    app.router.add_get(BARE_PATH, bare)
    runner, port = await serve_app(app)
    ready({"port": port})
    try:
        await control_loop()
    finally:
        await runner.cleanup()


HAND_SCHEMA = """
CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL);
CREATE TABLE gatherings (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, starts_at TEXT NOT NULL, capacity INTEGER
);
CREATE TABLE rsvps (
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    responded_at TEXT NOT NULL,
    PRIMARY KEY (gathering_id, member_id)
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL
);
"""
HAND_GATHERING = 1
HAND_PATH = f"/gatherings/{HAND_GATHERING}/rsvp"
HAND_LABEL = "POST RSVP, hand-written (floor)"


async def serve_handwritten(args: argparse.Namespace) -> None:
    """The RSVP as a developer would write it by hand for speed: sessions in a dict,
    `sqlite3` called straight from the handler (no thread hop), the same checks and
    writes as the library's unit (member active, gathering exists, the RSVP upserted,
    an event recorded) in one committed transaction. A floor for the write row, not
    a product: no roles, waitlist, rate limit, idempotency or problem documents."""
    db = sqlite3.connect(Path(args.folder) / "hand.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(HAND_SCHEMA)
    voters = max(args.connections, args.writers)
    db.executemany(
        "INSERT INTO members (id, name, active) VALUES (?, ?, 1)",
        [(i, f"Member {i}") for i in range(1, voters + 1)],
    )
    db.execute(
        "INSERT INTO gatherings (id, title, starts_at, capacity) VALUES (?, 'Salon', ?, NULL)",
        (HAND_GATHERING, "2030-01-01T19:00:00Z"),
    )
    sessions = {
        secrets.token_urlsafe(32): (member, secrets.token_urlsafe(32))
        for member in range(1, voters + 1)
    }

    def respond(member: int, gathering: int, answer: str) -> dict[str, Any] | None:
        now = datetime.now(UTC).isoformat()
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT active FROM members WHERE id = ?", (member,)).fetchone() != (1,):
                db.execute("ROLLBACK")
                return None
            found = db.execute("SELECT capacity FROM gatherings WHERE id = ?", (gathering,))
            if found.fetchone() is None:
                db.execute("ROLLBACK")
                return None
            db.execute(
                "INSERT INTO rsvps (gathering_id, member_id, answer, status, responded_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (gathering_id, member_id) DO UPDATE SET"
                " answer = excluded.answer, status = excluded.status,"
                " responded_at = excluded.responded_at",
                (gathering, member, answer, answer, now),
            )
            rsvp = {"gathering_id": gathering, "member_id": member, "status": answer}
            db.execute(
                "INSERT INTO outbox (kind, payload, created_at) VALUES ('gathering.rsvp', ?, ?)",
                (json.dumps(rsvp), now),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {**rsvp, "answer": answer, "responded_at": now}

    async def rsvp(request: web.Request) -> web.Response:
        session = sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return web.json_response({"title": "sign in"}, status=401)
        member, csrf = session
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
            return web.json_response({"title": "CSRF"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"title": "not JSON"}, status=400)
        if not isinstance(body, dict) or set(body) != {"answer"} or body["answer"] not in ANSWERS:
            return web.json_response({"title": "answer"}, status=422)
        answer = respond(member, int(request.match_info["gathering"]), body["answer"])
        if answer is None:
            return web.json_response({"title": "not found"}, status=404)
        return web.json_response(answer)

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/gatherings/{gathering}/rsvp", rsvp)
    runner, port = await serve_app(app)
    ready({"port": port, "rsvp": HAND_PATH, "sessions": [(t, c) for t, (_, c) in sessions.items()]})
    try:
        await control_loop()
    finally:
        await runner.cleanup()
        db.close()


async def add_members(handle: CommunityHandle, count: int) -> None:
    """`count` more members, with the demo's kind of history (salons, volunteering)."""
    before = {m.id for m in await all_members(handle, SYSTEM)}
    rows = tuple(MemberRow(line=i + 2, name=f"Bench member {i}", locale="en") for i in range(count))
    for start in range(0, len(rows), CHUNK):
        await handle.execute(ImportMembers("bench", rows[start : start + CHUNK]), actor=SYSTEM)
    added = [m for m in await all_members(handle, SYSTEM) if m.id not in before]
    activities = demo_activities(added)
    for start in range(0, len(activities), CHUNK):
        await handle.execute(RecordActivities(activities[start : start + CHUNK]), actor=SYSTEM)


async def open_gathering(handle: CommunityHandle) -> int:
    """A gathering still ahead with no seat limit (else the largest), so answers never
    queue on a waitlist."""
    now = handle.now()
    ahead = [g for g in await handle.execute(ListGatherings(), actor=SYSTEM) if g.starts_at > now]
    ahead.sort(key=lambda g: (g.capacity is not None, -(g.capacity or 0)))
    return ahead[0].id


async def serve_huarong(args: argparse.Namespace) -> None:
    database: Database
    url = pg_url(args.pg) if args.pg else None
    if url is not None:
        await prepare_schema(url, drop=False)
        database = PostgresDatabase(postgres(url), min_size=POOL, max_size=POOL)
    else:
        sqlite_url = parse_database_url(f"sqlite:///{Path(args.folder) / 'web.db'}")
        assert isinstance(sqlite_url, SqliteURL)
        database = SqliteDatabase(sqlite_url, readers=args.sqlite_readers)
    try:
        # The demo's dates are set around the test suite's moment (2026-07-01).
        async with Huarong(database, clock=FrozenClock()) as huarong:
            handle = await seed_demo(huarong, DEMO_DIR, actor=SYSTEM)
            await add_members(handle, args.members)
            if url is not None:
                await analyze(postgres(url))
            members = [m for m in await all_members(handle, SYSTEM) if m.is_active]
            gathering = await open_gathering(handle)
            settings = WebSettings(write_limit_per_ip=UNLIMITED, write_limit_per_member=UNLIMITED)
            app = make_app(handle, settings)
            sessions = []
            voters = max(args.connections, args.writers)
            for member in members[:voters]:
                token, session = await app[AUTH].start_session(
                    member.id, member.display_name, "code", "en"
                )
                sessions.append((token, session.csrf))
            secret = await handle.execute(
                CreateApiToken("bench", frozenset({"read"}), member_id=members[0].id), actor=SYSTEM
            )
            floor = core_floor(
                handle,
                members[0],
                members[voters:][-args.writers :],  # not the HTTP row's: theirs is its own
                gathering,
                secret.token,
                args.connections,
            )
            routes = route_table(ALL_ROUTES)
            leaderboard = routes["GetLeaderboard"].path.format(**LEADERBOARD)
            rsvp = routes["RespondToGathering"].path.format(gathering_id=gathering)

            async def count_events() -> dict[str, Any]:
                async def read(conn: Connection) -> int:
                    value = await conn.fetchval(
                        "SELECT count(*) FROM outbox WHERE community_id = $1", handle.community.id
                    )
                    return int(value)

                return {"events": await huarong.db.run_read(read)}

            runner, port = await serve_app(app)
            segments = [0]

            async def profile() -> dict[str, Any]:
                PROFILING.start()
                return {}

            async def cut() -> dict[str, Any]:
                segments[0] += 1
                path = f"{args.profile_to}.{segments[0]}"
                PROFILING.cut(path)
                return {"path": path}

            ready(
                {
                    "port": port,
                    "members": len(members),
                    "gathering": gathering,
                    "leaderboard": API_PREFIX + leaderboard + LEADERBOARD_QUERY,
                    "rsvp": API_PREFIX + rsvp,
                    "sessions": sessions,
                    "token": secret.token,
                }
            )
            try:
                await control_loop(
                    {"events": count_events, "profile": profile, "cut": cut, "floor": floor}
                )
            finally:
                await runner.cleanup()
    finally:
        if url is not None:
            await prepare_schema(url, drop=True)


def core_floor(
    handle: CommunityHandle,
    reader: Member,
    voters: Sequence[Member],
    gathering: int,
    token: str,
    tasks: int,
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The rows' commands through `CommunityHandle.execute` in the server process, from
    `tasks` tasks at once, without HTTP: what aiohttp and the adapter add to the core is
    the difference. Voters answer going and not going in turn, as in the HTTP row."""
    leaderboard = GetLeaderboard(limit=20)
    as_reader = Actor.member(reader.id, reader.display_name)
    authenticate = AuthenticateApiToken(token)
    as_web = Actor.system("web")
    own = [list(voters[task::tasks]) for task in range(tasks)]
    turns = [0] * tasks

    async def rsvp(task: int) -> object:
        mine, k = own[task], turns[task]
        turns[task] += 1
        member = mine[k % len(mine)]
        answer = (Answer.GOING, Answer.NOT_GOING)[(k // len(mine)) % 2]
        actor = Actor.member(member.id, member.display_name)
        return await handle.execute(RespondToGathering(gathering, answer), actor=actor)

    calls: dict[str, Callable[[int], Awaitable[object]]] = {
        "GetLeaderboard(limit=20), as a member": (
            lambda _: handle.execute(leaderboard, actor=as_reader)
        ),
        "AuthenticateApiToken": lambda _: handle.execute(authenticate, actor=as_web),
        "RespondToGathering (going / not going)": rsvp,
    }

    async def caller(call: Callable[[int], Awaitable[object]], task: int, until: float) -> int:
        done = 0
        while time.perf_counter() < until:
            await call(task)
            done += 1
        return done

    async def measure() -> dict[str, Any]:
        rows = []
        for label, call in calls.items():
            cpu, started = cpu_seconds(), time.perf_counter()
            until = started + FLOOR_SECONDS
            done = await asyncio.gather(*(caller(call, task, until) for task in range(tasks)))
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            rows.append({"label": label, "calls": sum(done), "seconds": seconds, "cpu": cpu})
        return {"rows": rows}

    return measure


SERVERS = {"bare": serve_bare, "hand": serve_handwritten, "huarong": serve_huarong}


def serve(args: argparse.Namespace) -> None:
    pin_server(args.cpu)
    quiet_server_logs()
    if args.profile_to:
        prepare_profiling()  # each row's part is written when the driver says `cut`
    asyncio.run(SERVERS[args.serve](args))


async def analyze(url: PostgresURL) -> None:
    """What autovacuum would do soon after a load this size: without statistics the
    planner reads the fresh tables badly (a leaderboard read took ≈ 4× as long)."""
    import asyncpg

    conn = await asyncpg.connect(url.dsn, server_settings={"search_path": SCHEMA})
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", SCHEMA)
        for table in tables:
            await conn.execute(f'ANALYZE "{table["tablename"]}"')
    finally:
        await conn.close()


def pg_url(base: str) -> str:
    """`base` in the schema `bench_web` (`_prepare_schema` creates and drops it)."""
    return f"{base}{'&' if '?' in base else '?'}schema={SCHEMA}"


def postgres(url: str) -> PostgresURL:
    parsed = parse_database_url(url)
    if isinstance(parsed, PostgresURL):
        return parsed
    raise SystemExit(f"--pg must be a postgresql:// URL, not {parsed.redacted()}")


# --- the driver ------------------------------------------------------------------------------

Requests = Callable[[int], tuple[int, bytes] | None]


def reads(port: int, path: str, headers: Sequence[dict[str, str]]) -> Requests:
    """The same GET again and again, each connection with its own headers."""
    ready = [http_request("GET", path, port, h) for h in headers]
    return lambda connection: (0, ready[connection % len(ready)])


def rsvps(port: int, path: str, sessions: Sequence[tuple[str, str]], connections: int) -> Requests:
    """Connection `c` speaks for the sessions `c`, `c + connections`, ... in turn; each
    member answers going, then not going, then going ... so every answer changes the
    RSVP (the count goes on across the warm-up and the timed run)."""
    own = [list(range(c, len(sessions), connections)) for c in range(connections)]
    made: dict[tuple[int, str], bytes] = {}
    for index, (token, csrf) in enumerate(sessions):
        headers = {
            "Cookie": f"{SESSION_COOKIE}={token}",
            CSRF_HEADER: csrf,
            "Content-Type": "application/json",
        }
        for answer in ANSWERS:
            body = json.dumps({"answer": answer}).encode()
            made[(index, answer)] = http_request("POST", path, port, headers, body)
    sent = [0] * connections

    def next_request(connection: int) -> tuple[int, bytes]:
        k = sent[connection]
        sent[connection] = k + 1
        mine = own[connection]
        answer = ANSWERS[(k // len(mine)) % len(ANSWERS)]
        return k, made[(mine[k % len(mine)], answer)]

    return next_request


def limited(requests: Requests, count: int) -> Requests:
    """At most `count` requests in all, over every connection."""
    left = [count]

    def next_request(connection: int) -> tuple[int, bytes] | None:
        if left[0] <= 0:
            return None
        left[0] -= 1
        return requests(connection)

    return next_request


@dataclass
class Row:
    label: str
    database: str
    exchanges: Exchanges
    server_cpu: float
    driver_cpu: float
    checked: str = ""
    rounds: list[float] = field(default_factory=list)
    """Requests/s in each round (`--rounds`), in order."""
    events: int | None = None
    """RSVP events the server recorded during the row (the write row only)."""

    @property
    def rate(self) -> float:
        return self.exchanges.count / self.exchanges.seconds

    @property
    def cpu_us(self) -> float:
        return self.server_cpu / self.exchanges.count * 1e6

    @property
    def errors(self) -> int:
        return self.exchanges.failures()


@dataclass
class Plan:
    """A row to measure: which server, and what the connections send."""

    server: ServerProcess
    label: str
    database: str
    requests: Requests
    check_events: bool = False


async def run_rows(plans: Sequence[Plan], args: argparse.Namespace) -> list[Row]:
    """Every row warmed up, then measured in `--rounds` rounds taking the rows in turn.

    The machine's speed drifts by a quarter over minutes here (the bare row alone
    ran at 55–87 µs of CPU per request in one hour); rows measured one after the
    other compare different moments, rows taken in turn compare the same ones. A
    row's figures are its rounds together; each round's ratio to that round's bare
    row is printed too."""
    rounds = 1 if args.profile or args.py_spy else args.rounds
    for plan in plans:
        if args.warmup > 0:
            await hammer(plan.server.port, args.connections, plan.requests, seconds=args.warmup)
    parts: list[list[Row]] = [[] for _ in plans]
    for number in range(rounds):
        print(f"round {number + 1} of {rounds}:", flush=True)
        for plan, done in zip(plans, parts, strict=True):
            done.append(await measure(plan, args, rounds))
    rows = [merged(done) for done in parts]
    for row in rows:
        if row.errors:
            print(
                f"  !! {row.label}: {row.errors:,} answers were not 2xx:"
                f" {row.exchanges.by_status()}"
            )
    return rows


async def measure(plan: Plan, args: argparse.Namespace, rounds: int) -> Row:
    """One round of one row: `1 / rounds` of its timed seconds (or requests)."""
    server, label, database = plan.server, plan.label, plan.database
    print(f"  {label} ({database}) ...", end="", flush=True)
    events_before = int((await server.ask("events"))["events"]) if plan.check_events else 0
    timed = (
        plan.requests
        if args.requests is None
        else limited(plan.requests, max(1, args.requests // rounds))
    )
    profiling = args.profile and server.kind == "huarong"
    if profiling:
        await server.ask("profile")
    spy = await PySpy.start(server, label) if args.py_spy and server.kind == "huarong" else None
    cpu_before = await server.cpu()
    driver_before = time.process_time()
    seconds = None if args.requests is not None else args.seconds / rounds
    exchanges = await hammer(server.port, args.connections, timed, seconds=seconds)
    driver_cpu = time.process_time() - driver_before
    cpu_after = await server.cpu()
    profile = Path((await server.ask("cut"))["path"]) if profiling else None
    if spy is not None:
        await spy.stop()
    row = Row(label, database, exchanges, cpu_after - cpu_before, driver_cpu)
    if plan.check_events:
        row.events = int((await server.ask("events"))["events"]) - events_before
        row.checked = events_checked(row.events, exchanges)
    print(
        f" {row.rate:,.0f} requests/s ({exchanges.count:,} in {exchanges.seconds:.2f} s)"
        f"{'; ' + row.checked if row.checked else ''}",
        flush=True,
    )
    if profile is not None:
        print(f"\n=== {label} ({database}), under cProfile ===")
        print_profile(profile, exchanges.count, args.profile_lines, KEY_FUNCTIONS, "request")
        print()
    if spy is not None:
        print(f"\n=== {label} ({database}), sampled by py-spy (threads holding the GIL) ===")
        spy.report(exchanges.count, args.profile_lines)
        print()
    return row


def merged(parts: Sequence[Row]) -> Row:
    """A row's rounds as one row: every exchange, the seconds and CPU added up."""
    together = Exchanges(finished=sum(p.exchanges.seconds for p in parts))
    for part in parts:
        together.tags += part.exchanges.tags
        together.sent += part.exchanges.sent
        together.answered += part.exchanges.answered
        together.statuses += part.exchanges.statuses
    counted = [p.events for p in parts if p.events is not None]
    events = sum(counted) if counted else None
    checked = "" if events is None else events_checked(events, together)
    first = parts[0]
    return Row(
        first.label,
        first.database,
        together,
        sum(p.server_cpu for p in parts),
        sum(p.driver_cpu for p in parts),
        checked,
        [p.rate for p in parts],
        events,
    )


def events_checked(events: int, exchanges: Exchanges) -> str:
    """Every answered RSVP recorded exactly one event (marked `!!` when not)."""
    ok = exchanges.count - exchanges.failures()
    mark = "" if events == ok else "!! "
    return f"{mark}{events:,} RSVP events recorded for {ok:,} answers"


class PySpy:
    """`py-spy record` of the server during a timed row: samples of whichever thread
    holds the GIL, so where Python's own time goes per request, without cProfile's
    overhead (and without counting time spent waiting for the GIL)."""

    RATE = 250
    """Samples per second; each pauses the server for a moment (unpaused samples are
    cheaper but come back with torn stacks)."""

    def __init__(self, process: asyncio.subprocess.Process, output: Path) -> None:
        self.process = process
        self.output = output

    @staticmethod
    def binary() -> str | None:
        beside = Path(sys.executable).with_name("py-spy")  # in the venv
        return shutil.which("py-spy") or (str(beside) if beside.exists() else None)

    @classmethod
    async def start(cls, server: ServerProcess, label: str) -> PySpy:
        binary = cls.binary()
        assert binary is not None
        slug = re.sub(r"[^a-z]+", "-", label.lower()).strip("-")
        output = server.log.with_name(f"py-spy-{slug}.txt")
        process = await asyncio.create_subprocess_exec(
            binary,
            "record",
            "--pid",
            str(server.process.pid),
            "--rate",
            str(cls.RATE),
            "--format",
            "raw",
            "--nolineno",
            "--gil",
            "--output",
            str(output),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(0.5)  # it attaches before the row starts
        return cls(process, output)

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # it writes what it has, then ends
        await asyncio.wait_for(self.process.wait(), timeout=60)

    def report(self, requests: int, limit: int) -> None:
        """Self and total time by function, in µs of GIL-holding time per request."""
        if not self.output.exists():
            print("(py-spy wrote nothing: is it installed, and may it attach?)")
            return
        roots: dict[str, int] = {}
        own: dict[str, int] = {}
        total: dict[str, int] = {}
        samples = 0
        for line in self.output.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            samples += count
            frames = stack.split(";")
            roots[frames[0]] = roots.get(frames[0], 0) + count
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                total[frame] = total.get(frame, 0) + count
        scale = 1e6 / self.RATE / requests
        print(f"GIL held: {samples * scale:,.0f} µs/request ({samples:,} samples)")
        for title, table in (("thread", roots), ("self", own), ("total (inclusive)", total)):
            print(f"\n{'µs/request':>10}  by {title}")
            for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:limit]:
                print(f"{count * scale:>10,.1f}  {frame}")


async def start(
    kind: str, folder: Path, args: argparse.Namespace, extra: Sequence[str] = ()
) -> ServerProcess:
    await asyncio.to_thread(folder.mkdir)
    flags = [
        "--folder",
        str(folder),
        "--members",
        str(args.members),
        "--connections",
        str(args.connections),
        "--writers",
        str(args.writers),
        "--sqlite-readers",
        str(args.sqlite_readers),
        *(["--cpu", str(args.cpu)] if args.cpu is not None else []),
        *extra,
    ]
    return await ServerProcess.start(__file__, kind, flags, folder / f"{kind}.log")


async def huarong_plans(
    folder: Path, database: str, args: argparse.Namespace, extra: Sequence[str]
) -> tuple[ServerProcess, list[Plan]]:
    server = await start("huarong", folder, args, extra)
    ready = server.ready
    print(
        f"Huarong on {database}: {ready['members']:,} members, RSVPs to gathering"
        f" {ready['gathering']}, {len(ready['sessions']):,} sessions"
    )
    sessions = [(str(t), str(c)) for t, c in ready["sessions"]]
    cookies = [{"Cookie": f"{SESSION_COOKIE}={token}"} for token, _ in sessions]
    bearer = [{"Authorization": f"Bearer {ready['token']}"}]
    writers = sessions[: args.writers]
    port = server.port
    return server, [
        Plan(
            server,
            "GET leaderboard, session cookie",
            database,
            reads(port, ready["leaderboard"], cookies[: args.connections]),
        ),
        Plan(
            server,
            "GET leaderboard, API token",
            database,
            reads(port, ready["leaderboard"], bearer),
        ),
        Plan(
            server,
            "POST RSVP (going / not going), session",
            database,
            rsvps(port, ready["rsvp"], writers, args.connections),
            check_events=True,
        ),
    ]


async def drive(args: argparse.Namespace) -> None:
    if args.cpu is not None:
        others = ", ".join(str(c) for c in sorted(os.sched_getaffinity(0)))
        print(f"servers pinned to CPU {args.cpu}, this process (the load) to CPU {others}")
    else:
        print("not pinned: servers and load on any CPU")
    servers: list[tuple[ServerProcess, str]] = []
    plans: list[Plan] = []
    with tempfile.TemporaryDirectory(prefix="huarong-bench-web-") as name:
        folder = Path(name)
        profile_to = folder / "sqlite" / "huarong.prof"
        try:
            if not args.profile:
                bare = await start("bare", folder / "bare", args)
                servers.append((bare, "-"))
                # The same header shape as the signed-in reads: parsing costs the same.
                headers = [{"Cookie": f"{SESSION_COOKIE}={'x' * 43}"}]
                plans.append(
                    Plan(
                        bare, "bare aiohttp (small JSON)", "-", reads(bare.port, BARE_PATH, headers)
                    )
                )
                hand = await start("hand", folder / "hand", args)
                servers.append((hand, "sqlite3"))
                sessions = [(str(t), str(c)) for t, c in hand.ready["sessions"]]
                plans.append(
                    Plan(
                        hand,
                        HAND_LABEL,
                        "sqlite3",
                        rsvps(hand.port, HAND_PATH, sessions[: args.writers], args.connections),
                    )
                )
            extra = ["--profile-to", str(profile_to)] if args.profile else []
            server, more = await huarong_plans(folder / "sqlite", "SQLite", args, extra)
            servers.append((server, "SQLite"))
            plans += more
            if args.pg and not args.profile:
                pg = ["--pg", args.pg]
                server, more = await huarong_plans(folder / "postgres", "PostgreSQL", args, pg)
                servers.append((server, "PostgreSQL"))
                plans += more
            rows = await run_rows(plans, args)
            if not args.profile:
                for server, database in servers:
                    if server.kind == "huarong":
                        print(f"core alone, no HTTP ({database}) ...", flush=True)
                        floors = (await server.ask("floor"))["rows"]
                        CORE[database] = [Floor(**f) for f in floors]
        finally:
            for server, _ in reversed(servers):
                await server.stop()
    print()
    print_rows(rows, args)
    print_floors(args)
    if not args.profile:
        verdict(rows)


KEY_FUNCTIONS = (
    ("web_protocol.py", "_handle_request", "aiohttp: the request, all of it"),
    ("app.py", "_problems", "  middlewares and the handler"),
    ("auth.py", "principal", "    who asks (session or token)"),
    ("api.py", "handler", "    the route's handler"),
    ("app.py", "execute", "      CommunityHandle.execute"),
    ("api.py", "json_response", "      the JSON answer"),
    ("app.py", "_security_headers", "  security headers"),
)
"""What the loop's time is summed by (file, function): the path of one request."""


@dataclass
class Floor:
    """A command run in the server process without HTTP (`core_floor`)."""

    label: str
    calls: int
    seconds: float
    cpu: float


CORE: dict[str, list[Floor]] = {}
"""By database: the in-process rows, printed after the HTTP ones."""


def print_floors(args: argparse.Namespace) -> None:
    if not CORE:
        return
    print(
        f"\nThe core alone: `CommunityHandle.execute` in the server process from"
        f" {args.connections} tasks, no HTTP, {FLOOR_SECONDS:.0f} s each"
    )
    header = f"| {'command':<40} | database   |    calls |    calls/s | CPU µs/call |"
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for database, floors in CORE.items():
        for f in floors:
            rate, cpu = f.calls / f.seconds, f.cpu / f.calls * 1e6
            print(
                f"| {f.label:<40} | {database:<10} | {f.calls:>8,} | {rate:>10,.0f} |"
                f" {cpu:>11,.0f} |"
            )


def print_rows(rows: Sequence[Row], args: argparse.Namespace) -> None:
    bare = next((r for r in rows if r.database == "-"), None)
    header = (
        f"| {'route':<40} | database   | requests | requests/s |  p50 |  p95 |  p99 | errors |"
        f" CPU µs/req | driver CPU | vs bare | by CPU |"
    )
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for row in rows:
        latencies = row.exchanges.latencies
        driver = row.driver_cpu / row.exchanges.seconds
        ratio = f"{row.rate / bare.rate:.2f}×" if bare is not None else "–"
        by_cpu = f"{bare.cpu_us / row.cpu_us:.2f}×" if bare is not None else "–"
        print(
            f"| {row.label:<40} | {row.database:<10} | {row.exchanges.count:>8,} |"
            f" {row.rate:>10,.0f} | {percentile(latencies, 50):>4.1f} |"
            f" {percentile(latencies, 95):>4.1f} | {percentile(latencies, 99):>4.1f} |"
            f" {row.errors:>6,} | {row.cpu_us:>10,.0f} | {driver:>10.0%} |"
            f" {ratio:>7} | {by_cpu:>6} |"
        )
    print(
        f"(latencies in ms, per request; {args.connections} connections, each one request at"
        " a time; CPU: the server process, all threads;\n driver CPU: this process's share of a"
        " core; errors: answers that were not 2xx;\n vs bare: requests/s over the bare"
        " handler's; by CPU: the bare handler's CPU per request over this row's, what\n"
        " vs bare would be if both servers were held by their CPU alone)"
    )


def verdict(rows: Sequence[Row]) -> None:
    bare = next((r for r in rows if r.database == "-"), None)
    if bare is None:
        return
    print()
    hand = next((r for r in rows if r.label == HAND_LABEL), None)
    for row in rows:
        if row.database == "-":
            continue
        if row is hand:
            print(
                f"reference: the same RSVP written by hand reaches {row.rate / bare.rate:.1%} of"
                f" the bare handler's requests/s ({row.cpu_us:,.0f} µs of CPU per request)"
            )
            continue
        goal = WRITE_GOAL if row.label.startswith("POST") else READ_GOAL
        ratio = row.rate / bare.rate
        met = "met" if ratio >= goal and not row.errors else "missed"
        each = [mine / theirs for mine, theirs in zip(row.rounds, bare.rounds, strict=True)]
        spread = f"; rounds {min(each):.1%}–{max(each):.1%}" if len(each) > 1 else ""
        print(
            f"goal: {row.label} ({row.database}) >= {goal:.0%} of the bare handler's"
            f" requests/s: {row.rate:,.0f} / {bare.rate:,.0f} = {ratio:.1%}, {met}"
            f" (by CPU per request: {bare.cpu_us / row.cpu_us:.1%}{spread})"
        )
        if hand is not None and row.label.startswith("POST"):
            print(f"  ... and {row.rate / hand.rate:.1%} of the hand-written RSVP's requests/s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="The web API over loopback: leaderboard reads and RSVP writes per second."
    )
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per row")
    parser.add_argument(
        "--requests", type=int, help="timed requests per row (instead of --seconds)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds before each row")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds taking the rows in turn, each with its share of --seconds (default 5)",
    )
    parser.add_argument("--members", type=int, default=2000, help="members added to the demo's 50")
    parser.add_argument("--writers", type=int, default=256, help="members answering the RSVP row")
    parser.add_argument(
        "--pg",
        nargs="?",
        const=DEFAULT_PG,
        help=f"also on PostgreSQL, at this URL (default {DEFAULT_PG}), schema {SCHEMA}",
    )
    parser.add_argument(
        "--sqlite-readers",
        type=int,
        default=2,
        help="SQLite reader threads (the library's default: 2; 0 reads on the writer's)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only the Huarong rows on SQLite, under cProfile; prints where time goes",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the Huarong server with py-spy during each row (pip install py-spy)",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="servers on one CPU, this process on the others (default: on)",
    )
    parser.add_argument("--profile-lines", type=int, default=40)
    # The server side of the benchmark: this file runs itself once per server.
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    if args.pg:
        postgres(pg_url(args.pg))  # refuse anything else before starting
    if args.py_spy and PySpy.binary() is None:
        parser.error("--py-spy needs py-spy: .venv/bin/pip install py-spy (for the bench only)")
    if args.writers < args.connections:
        parser.error("--writers must be at least --connections (each connection has its own)")
    if DEMO_MEMBERS + args.members < 2 * args.writers:
        parser.error("--members: too few for two sets of --writers (HTTP and the core alone)")
    args.cpu = pin_driver(args.pin)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(drive(args))


if __name__ == "__main__":
    main()
