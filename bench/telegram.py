"""Telegram webhooks: `/checkin` updates per second, Huarong against aiogram 3 and a bare handler.

Prints, never asserts. One run measures, side by side, each server in a
process of its own (so its CPU time is its own), driven over loopback HTTP
by this process, which also plays Telegram's Bot API:

- **bare aiohttp**: a handler that parses the JSON body and answers 200;
  the ceiling of an aiohttp webhook on this machine;
- **Huarong**: `TelegramService` with a webhook URL on a SQLite file. The
  route checks the secret header, records the update in the inbox and
  answers 200; the inbox worker runs `/checkin <gathering> <code>` through
  the conversation layer (a `CheckIn` that awards 20 points by a rule on
  `event.checked_in`) and hands the reply to the outbound scheduler;
- **aiogram 3**: `SimpleRequestHandler` (its default: answer 200, handle in
  the background); the `/checkin` handler does one aiosqlite transaction
  (a ledger line unique per source, then the balance upsert) and answers
  through the bot's session;
- **hand-written**: the aiogram row's work without a framework: the webhook
  answers 200 and handles the update in a task, `sqlite3` called from the
  task for the award, one `sendMessage` through an aiohttp session. A
  reference for what the work costs at the least, not a goal (it records
  nothing before the 200 and neither paces nor retries).

Each row (1 and 32 keep-alive connections) gets a fresh server process and
database. Every update is a different member checking in once, so every
award writes. An update counts as done when its reply reaches the stand-in
Bot API (both servers commit the award before sending the reply), so
updates/s runs from the first POST to the last reply, not to the last 200.
Latency of the 200 and end to end (POST to reply) are reported per row, and
CPU per update is the server process's (all its threads) over the row.

Huarong's outbound scheduler is given an overall rate of 1,000,000/s instead
of Telegram's 30 messages/s (which would be all this measured); the 1/s per
chat is untouched and never binds, every update being its own chat.

Setup (aiogram is for this benchmark only, never a project dependency):

    .venv/bin/pip install aiogram
    .venv/bin/python bench/telegram.py [--updates N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import importlib
import importlib.util
import json
import logging
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import structlog
from aiohttp import web

from bench.loopback import (
    PROFILING,
    ServerProcess,
    control_loop,
    free_port,
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
from huarong_core import Actor, Huarong, ImportMembers, MemberRow, parse_config
from huarong_core.commands import GetCheckInCode, WhatsOn
from huarong_core.storage import Connection
from huarong_core.testing import FrozenClock
from huarong_telegram.pacing import OutboundScheduler
from huarong_telegram.service import TelegramService

TOKEN = "123456:BENCH-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Bench",
    "username": "bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
HOOK_PATH = "/telegram/hook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SYSTEM = Actor.system("bench")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
"""17:00 in Shanghai: the tasting starts at 17:20, check-in opened at 16:50."""
FIRST_USER = 5_000_001
FIRST_UPDATE = 700_000_001
POINTS = 20
REPLY_MARKER = f"+{POINTS} points"
"""In both servers' replies when the award was made."""
CONCURRENCY = (1, 32)
UNPACED = 1_000_000.0
"""The bench's overall send rate: Telegram's 30 messages/s would be all it measured."""

COMMUNITY_TOML = f"""
[community]
key = "bench"
name = {{ zh_CN = "基准大厦", en = "Bench Tower" }}
timezone = "Asia/Shanghai"
default_category = "employee"

[[categories]]
key = "employee"
name = {{ zh_CN = "员工", en = "Employee" }}

[[stations]]
key = "service"
name = {{ zh_CN = "服务站", en = "Service station" }}
floor = 1

[[clubs]]
key = "tea"
name = {{ zh_CN = "茶艺社", en = "Tea club" }}
station = "service"

[[events]]
key = "tasting"
title = {{ zh_CN = "品茶会", en = "Tea tasting" }}
type = "activity_day"
starts = 2026-07-01T17:20:00+08:00
ends = 2026-07-01T19:00:00+08:00
organizer = "club:tea"

[points]

[[points.rules]]
key = "checkin"
name = {{ zh_CN = "活动签到", en = "Checked in" }}
trigger = "event.checked_in"
points = {POINTS}
"""

AIOGRAM_SCHEMA = """
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
AIOGRAM_GATHERING = 1
AIOGRAM_CODE = "482913"
AWARD_SQL = (
    "INSERT INTO ledger (member_id, delta, rule_key, source_id, created_at)"
    " VALUES (?, ?, 'checkin', ?, ?) ON CONFLICT DO NOTHING"
)
BALANCE_SQL = (
    "INSERT INTO balances (member_id, balance, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (member_id) DO UPDATE SET"
    " balance = balance + excluded.balance, updated_at = excluded.updated_at"
)
"""The aiogram and hand-written rows' award: a ledger line unique per source, then the
balance (only when the line was new)."""
CHECKED_IN = "✅ You're checked in to <b>Tea tasting</b>. Welcome!"
WRONG_CODE = "⚠️ That code is not right."


def right_code(parts: Sequence[str]) -> bool:
    """`/checkin <gathering> <code>` naming the comparison rows' gathering and code."""
    return len(parts) == 3 and parts[1] == str(AIOGRAM_GATHERING) and parts[2] == AIOGRAM_CODE


def award_args(user: int) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The arguments of `AWARD_SQL` and `BALANCE_SQL` for `user`, now."""
    now = datetime.now(UTC).isoformat()
    return (user, POINTS, f"checkin:{AIOGRAM_GATHERING}:{user}", now), (user, POINTS, now)


# --- the servers (each runs as `telegram.py --serve KIND` in its own process) ------------


async def serve_bare(args: argparse.Namespace) -> None:
    async def receive(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(HOOK_PATH, receive)
    runner, port = await serve_app(app)

    ready({"port": port, "gathering": AIOGRAM_GATHERING, "code": AIOGRAM_CODE})
    try:
        await control_loop()
    finally:
        await runner.cleanup()


async def serve_huarong(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    config = parse_config(COMMUNITY_TOML, source="bench")
    # Members are registered the day before; the check-ins happen at NOW.
    clock = FrozenClock(NOW - timedelta(days=1))
    async with Huarong(f"sqlite:///{folder / 'huarong.db'}", clock=clock) as huarong:
        await huarong.apply_configuration(config, actor=SYSTEM, source="bench")
        handle = await huarong.community("bench")
        # People who used the bot before (the aiogram handler registers nobody either),
        # registered the day before: the check-in's wrong-code throttle counts the
        # audit log's last 15 minutes, which a bulk import at NOW would fill.
        rows = tuple(
            MemberRow(
                line=i + 2,
                name=f"Member {i}",
                locale="en",
                identities=(("telegram", str(FIRST_USER + i)),),
            )
            for i in range(args.members)
        )
        await handle.execute(ImportMembers("bench", rows), actor=SYSTEM)
        clock.set(NOW)
        gathering = (await handle.execute(WhatsOn(days=1), actor=SYSTEM))[0]
        code = (await handle.execute(GetCheckInCode(gathering.id), actor=SYSTEM)).code
        port = free_port()
        service = TelegramService(
            handle,
            TOKEN,
            api_url=args.api,
            webhook_url=f"http://127.0.0.1:{port}{HOOK_PATH}",
            listen=f"127.0.0.1:{port}",
            publish_menus=False,
        )
        # Only the overall rate is lifted; every update is its own chat, so the
        # 1/s per chat never binds. The service has no setting for it.
        service.outbound = OutboundScheduler(service.api, global_per_second=UNPACED)
        service.bot.outbound = service.outbound
        await service.start()

        async def count_awards() -> dict[str, Any]:
            async def read(conn: Connection) -> int:
                value = await conn.fetchval(
                    "SELECT count(*) FROM ledger WHERE community_id = $1 AND rule_key = 'checkin'",
                    handle.community.id,
                )
                return int(value)

            return {"awards": await huarong.db.run_read(read)}

        PROFILING.start()
        ready({"port": port, "gathering": gathering.id, "code": code})
        try:
            await control_loop({"count": count_awards})
        finally:
            await service.stop()


async def serve_aiogram(args: argparse.Namespace) -> None:
    # aiogram is installed for this benchmark only, so it is imported by name: mypy
    # must pass with or without it, and everything it gives is `Any`.
    aiogram = importlib.import_module("aiogram")
    session_module = importlib.import_module("aiogram.client.session.aiohttp")
    server_module = importlib.import_module("aiogram.client.telegram")
    default_module = importlib.import_module("aiogram.client.default")
    filters = importlib.import_module("aiogram.filters")
    hooks = importlib.import_module("aiogram.webhook.aiohttp_server")

    db = await aiosqlite.connect(Path(args.folder) / "aiogram.db")
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.executescript(AIOGRAM_SCHEMA)
    await db.commit()
    lock = asyncio.Lock()

    session = session_module.AiohttpSession(api=server_module.TelegramAPIServer.from_base(args.api))
    bot = aiogram.Bot(
        TOKEN, session=session, default=default_module.DefaultBotProperties(parse_mode="HTML")
    )
    dispatcher = aiogram.Dispatcher()

    async def checkin(message: Any) -> None:
        if not right_code((message.text or "").split()):
            await message.answer(WRONG_CODE)
            return
        line, balance = award_args(message.from_user.id)
        async with lock:
            cursor = await db.execute(AWARD_SQL, line)
            awarded = cursor.rowcount == 1
            if awarded:
                await db.execute(BALANCE_SQL, balance)
            await db.commit()
        await message.answer(f"{CHECKED_IN}\n{REPLY_MARKER}" if awarded else CHECKED_IN)

    dispatcher.message.register(checkin, filters.Command("checkin"))
    secret = secrets.token_urlsafe(32)
    app = web.Application(client_max_size=1024 * 1024)
    hooks.SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(
        app, path=HOOK_PATH
    )
    hooks.setup_application(app, dispatcher, bot=bot)
    runner, port = await serve_app(app)
    await bot.set_webhook(f"http://127.0.0.1:{port}{HOOK_PATH}", secret_token=secret)

    async def count_awards() -> dict[str, Any]:
        async with db.execute("SELECT count(*) FROM ledger") as cursor:
            row = await cursor.fetchone()
        return {"awards": int(row[0]) if row is not None else 0}

    ready({"port": port, "gathering": AIOGRAM_GATHERING, "code": AIOGRAM_CODE})
    try:
        await control_loop({"count": count_awards})
    finally:
        await runner.cleanup()
        await bot.session.close()
        await db.close()


async def serve_handwritten(args: argparse.Namespace) -> None:
    """The aiogram row's work written by hand for speed: the webhook checks the secret,
    answers 200 and handles the update in a task; the award is `sqlite3` called
    straight from the task (one transaction, no thread hop); the reply is one
    `sendMessage` through an aiohttp session. A floor for the same work, not a
    product: nothing is recorded before the 200, so an update in flight when the
    process stops is lost, and there is no pacing, retry or redelivery check."""
    db = sqlite3.connect(Path(args.folder) / "hand.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(AIOGRAM_SCHEMA)
    session = aiohttp.ClientSession()
    send_url = f"{args.api}/bot{TOKEN}/sendMessage"
    secret = secrets.token_urlsafe(32)
    handling: set[asyncio.Task[None]] = set()

    def award(user: int) -> bool:
        line, balance = award_args(user)
        db.execute("BEGIN IMMEDIATE")
        try:
            awarded = db.execute(AWARD_SQL, line).rowcount == 1
            if awarded:
                db.execute(BALANCE_SQL, balance)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return awarded

    async def handle(update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict) or "from" not in message:
            return
        parts = str(message.get("text", "")).split()
        if parts[:1] != ["/checkin"]:
            return
        if not right_code(parts):
            text = WRONG_CODE
        elif award(int(message["from"]["id"])):
            text = f"{CHECKED_IN}\n{REPLY_MARKER}"
        else:
            text = CHECKED_IN
        reply = {"chat_id": message["chat"]["id"], "text": text, "parse_mode": "HTML"}
        async with session.post(send_url, json=reply) as answer:
            if not (await answer.json()).get("ok"):
                raise RuntimeError(f"sendMessage failed: {answer.status}")

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return web.Response(status=403)
        task = asyncio.ensure_future(handle(json.loads(await request.read())))
        handling.add(task)
        task.add_done_callback(handling.discard)
        return web.Response()

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(HOOK_PATH, receive)
    runner, port = await serve_app(app)
    hook = {"url": f"http://127.0.0.1:{port}{HOOK_PATH}", "secret_token": secret}
    async with session.post(f"{args.api}/bot{TOKEN}/setWebhook", json=hook) as answer:
        answer.raise_for_status()

    def count_awards() -> int:
        row = db.execute("SELECT count(*) FROM ledger").fetchone()
        return int(row[0])

    async def count() -> dict[str, Any]:
        return {"awards": count_awards()}

    ready({"port": port, "gathering": AIOGRAM_GATHERING, "code": AIOGRAM_CODE})
    try:
        await control_loop({"count": count})
    finally:
        await runner.cleanup()
        await session.close()
        db.close()


SERVERS = {
    "bare": serve_bare,
    "huarong": serve_huarong,
    "aiogram": serve_aiogram,
    "hand": serve_handwritten,
}


def serve(args: argparse.Namespace) -> None:
    pin_server(args.cpu)
    quiet_server_logs()
    if args.profile_to:
        prepare_profiling()
    try:
        asyncio.run(SERVERS[args.serve](args))
    finally:
        if args.profile_to:
            PROFILING.dump(args.profile_to)


# --- the driver: the stand-in Bot API and the webhook client -----------------------------


@dataclass
class StandIn:
    """Just enough of the Bot API for both bots, answering at once.

    Not the test suite's `FakeBotApi`: that one validates every request
    against the whole schema, keeps every chat's history and enforces
    Telegram's flood limits (30 sends/s overall), which would be what this
    measured. Requests here are only decoded (JSON from Huarong, a form from
    aiogram) and each reply's arrival time is noted per chat.
    """

    secret: str | None = None
    arrived: dict[int, float] = field(default_factory=dict)
    marked: int = 0
    doubled: int = 0
    other_calls: int = 0
    _waiting: set[int] = field(default_factory=set)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _message_ids: int = 0
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget the replies of the previous server (the next one reuses the user ids)."""
        self.arrived.clear()
        self.marked = 0
        self.secret = None

    def expect(self, chats: Sequence[int]) -> asyncio.Event:
        self._waiting = set(chats) - set(self.arrived)
        self._done = asyncio.Event()
        if not self._waiting:
            self._done.set()
        return self._done

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        params: dict[str, Any]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        method = request.match_info["method"]
        result: Any = True
        if method == "sendMessage":
            result = self._sent(params)
        elif method == "getMe":
            result = BOT_USER
        else:
            self.other_calls += 1
            if method == "setWebhook":
                self.secret = str(params.get("secret_token", ""))
        return web.json_response({"ok": True, "result": result})

    def _sent(self, params: dict[str, Any]) -> dict[str, Any]:
        now = time.perf_counter()
        chat = int(params["chat_id"])
        text = str(params.get("text", ""))
        if chat in self.arrived:
            self.doubled += 1
        else:
            self.arrived[chat] = now
            if REPLY_MARKER in text:
                self.marked += 1
        if chat in self._waiting:
            self._waiting.discard(chat)
            if not self._waiting:
                self._done.set()
        self._message_ids += 1
        return {
            "message_id": self._message_ids,
            "date": int(NOW.timestamp()),
            "chat": {"id": chat, "type": "private", "first_name": "Member"},
            "from": BOT_USER,
            "text": text,
        }


def update_body(update_id: int, user: int, gathering: int, code: str) -> bytes:
    command = "/checkin"
    message = {
        "message_id": update_id,
        "from": {"id": user, "is_bot": False, "first_name": f"M{user}", "language_code": "en"},
        "chat": {"id": user, "first_name": f"M{user}", "type": "private"},
        "date": int(NOW.timestamp()),
        "text": f"{command} {gathering} {code}",
        "entities": [{"offset": 0, "length": len(command), "type": "bot_command"}],
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


@dataclass
class Row:
    label: str
    connections: int
    updates: int
    seconds: float
    server_cpu: float
    driver_cpu: float
    ok_200: list[float]
    end_to_end: list[float]
    failures: int
    missing: int

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.server_cpu / self.updates * 1e6


async def run_row(
    server: ServerProcess,
    stand_in: StandIn,
    label: str,
    users: Sequence[int],
    first_update: int,
    connections: int,
    replies: bool,
    wait_limit: float,
) -> Row:
    gathering, code = int(server.ready["gathering"]), str(server.ready["code"])
    headers = {"Content-Type": "application/json", SECRET_HEADER: stand_in.secret or ""}
    requests = iter(
        (k, http_request("POST", HOOK_PATH, server.port, headers, body))
        for k, body in enumerate(
            update_body(first_update + k, user, gathering, code) for k, user in enumerate(users)
        )
    )
    done = stand_in.expect(users if replies else ())
    cpu_before = await server.cpu()
    driver_before = time.process_time()
    started = time.perf_counter()
    posted = await hammer(server.port, connections, lambda _: next(requests, None))
    sent = dict(zip(posted.tags, posted.sent, strict=True))
    missing = 0
    if replies:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=wait_limit)
        ends = [stand_in.arrived[u] for u in users if u in stand_in.arrived]
        missing = len(users) - len(ends)
        finished = max(ends, default=time.perf_counter())
        end_to_end = [
            stand_in.arrived[u] - sent[k] for k, u in enumerate(users) if u in stand_in.arrived
        ]
    else:
        finished = posted.finished
        end_to_end = []
    driver_cpu = time.process_time() - driver_before
    cpu_after = await server.cpu()
    return Row(
        label,
        connections,
        len(users) - missing,
        finished - started,
        cpu_after - cpu_before,
        driver_cpu,
        posted.latencies,
        end_to_end,
        posted.failures(lambda status: status == 200),
        missing,
    )


LABELS = {
    "bare": "bare aiohttp (parse JSON, 200)",
    "huarong": "Huarong webhook (inbox, CheckIn, reply)",
    "aiogram": "aiogram 3 + aiosqlite (1 tx, reply)",
    "hand": "hand-written aiohttp + sqlite3 (floor)",
}


async def measure(
    kind: str,
    connections: int,
    stand_in: StandIn,
    folder: Path,
    args: argparse.Namespace,
    profile_to: Path | None,
) -> Row:
    """One row on a server of its own: a fresh database, and no chats left from another row."""
    label = LABELS[kind]
    print(f"{label}, {connections} connection(s): starting ...", flush=True)
    stand_in.reset()
    await asyncio.to_thread(folder.mkdir)
    members = args.warmup + args.updates
    extra = ["--profile-to", str(profile_to)] if profile_to is not None else []
    if args.cpu is not None:
        extra += ["--cpu", str(args.cpu)]
    server = await ServerProcess.start(
        __file__,
        kind,
        ["--api", stand_in.url, "--folder", str(folder), "--members", str(members), *extra],
        folder / f"{kind}.log",
    )
    replies = kind != "bare"
    wait_limit = max(60.0, args.updates / 20)
    warm = list(range(FIRST_USER, FIRST_USER + args.warmup))
    timed = list(range(FIRST_USER + args.warmup, FIRST_USER + members))
    try:
        await run_row(server, stand_in, label, warm, FIRST_UPDATE, connections, replies, wait_limit)
        row = await run_row(
            server,
            stand_in,
            label,
            timed,
            FIRST_UPDATE + args.warmup,
            connections,
            replies,
            wait_limit,
        )
        print(
            f"  {row.rate:,.0f} updates/s ({row.updates:,} in {row.seconds:.2f} s)",
            end="",
            flush=True,
        )
        if replies:
            awards = int((await server.ask("count"))["awards"])
            said = f"{stand_in.marked:,} replies say {REPLY_MARKER!r}"
            if awards != members:
                print(f"; !! {awards} awards committed, {members} expected; {said}", flush=True)
            else:
                print(f"; {awards:,} awards committed, one per update; {said}", flush=True)
        else:
            print(flush=True)
    finally:
        await server.stop()
    return row


def print_rows(rows: Sequence[Row], baseline: dict[int, Row]) -> None:
    header = (
        f"| {'server':<40} | conns | updates | updates/s | 200 p50 | 200 p99 |"
        f" e2e p50 | e2e p99 | CPU µs/update | driver CPU | vs aiogram |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for row in rows:
        base = baseline.get(row.connections)
        ratio = f"{row.rate / base.rate:.2f}×" if base is not None else "–"
        e2e_50 = f"{percentile(row.end_to_end, 50):.2f}" if row.end_to_end else "–"
        e2e_99 = f"{percentile(row.end_to_end, 99):.2f}" if row.end_to_end else "–"
        print(
            f"| {row.label:<40} | {row.connections:>5} | {row.updates:>7,} | {row.rate:>9,.0f} |"
            f" {percentile(row.ok_200, 50):>7.2f} | {percentile(row.ok_200, 99):>7.2f} |"
            f" {e2e_50:>7} | {e2e_99:>7} | {row.cpu_us:>13,.0f} |"
            f" {row.driver_cpu / row.seconds:>9.0%} | {ratio:>10} |"
        )
        if row.failures or row.missing:
            print(f"|   !! {row.failures} non-200 answers, {row.missing} replies missing")
    print("(latencies in ms; e2e: POST sent to reply received by the stand-in Bot API;")
    print(" CPU: the server process, all threads; driver CPU: this process's share of a core)")


def verdict(rows: Sequence[Row]) -> None:
    by = {(r.label, r.connections): r for r in rows}
    print()
    for connections in CONCURRENCY:
        huarong = by.get((LABELS["huarong"], connections))
        aiogram = by.get((LABELS["aiogram"], connections))
        if huarong is not None and aiogram is not None:
            ratio = huarong.rate / aiogram.rate
            met = "met" if ratio >= 2 else "missed"
            print(
                f"goal: Huarong >= 2x aiogram's updates/s, {connections} connection(s):"
                f" {ratio:.2f}x, {met}"
            )
        hand = by.get((LABELS["hand"], connections))
        if hand is not None and aiogram is not None:
            print(
                f"  reference: the same work written by hand, {connections} connection(s):"
                f" {hand.rate / aiogram.rate:.2f}x aiogram; Huarong is"
                f" {(huarong.rate / hand.rate if huarong else 0):.2f}x the hand-written"
            )
    wide = CONCURRENCY[-1]
    huarong = by.get((LABELS["huarong"], wide))
    bare = by.get((LABELS["bare"], wide))
    if huarong is not None and bare is not None:
        ours, theirs = percentile(huarong.ok_200, 99), percentile(bare.ok_200, 99)
        ratio = ours / theirs
        met = "met" if ratio <= 3 else "missed"
        print(
            f"goal: Huarong's 200 p99 <= 3x the bare handler's, {wide} connections:"
            f" {ours:.2f} / {theirs:.2f} ms = {ratio:.2f}x, {met}"
        )


KEY_FUNCTIONS = (
    ("updates.py", "receive", "webhook route: secret, JSON, Inbox.put, 200"),
    ("inbox.py", "put", "  Inbox.put (one transaction)"),
    ("updates.py", "_drain", "inbox worker, all of it"),
    ("inbox.py", "pending", "  Inbox.pending"),
    ("engine.py", "handle_incoming", "  conversation: member, /checkin, CheckIn"),
    ("bot.py", "deliver", "  render the reply, hand it to the scheduler"),
    ("inbox.py", "done", "  Inbox.done (one transaction)"),
    ("pacing.py", "_pick", "scheduler: choose the next send"),
    ("api.py", "call", "Bot API call (aiohttp client)"),
)
"""What the loop's time is summed by (file, function): the path of one update."""


def combined(rows: Sequence[Row]) -> Row:
    """One kind's rounds as one row: their updates over their time, latencies pooled."""
    first = rows[0]
    return Row(
        first.label,
        first.connections,
        sum(r.updates for r in rows),
        sum(r.seconds for r in rows),
        sum(r.server_cpu for r in rows),
        sum(r.driver_cpu for r in rows),
        [x for r in rows for x in r.ok_200],
        [x for r in rows for x in r.end_to_end],
        sum(r.failures for r in rows),
        sum(r.missing for r in rows),
    )


async def drive(args: argparse.Namespace) -> None:
    stand_in = StandIn()
    await stand_in.start()
    rounds: list[list[Row]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="huarong-bench-telegram-") as name:
            folder = Path(name)
            kinds = ["huarong"] if args.profile else ["bare", "huarong", "aiogram", "hand"]
            if args.skip_aiogram and "aiogram" in kinds:
                kinds.remove("aiogram")
            profile_to: Path | None = None
            for number in range(1 if args.profile else args.rounds):
                if args.rounds > 1 and not args.profile:
                    print(f"round {number + 1} of {args.rounds}", flush=True)
                rows: list[Row] = []
                for kind in kinds:
                    for connections in CONCURRENCY:
                        row_folder = folder / f"{kind}-{connections}-{number}"
                        if args.profile:
                            profile_to = row_folder / "huarong.prof"
                        rows.append(
                            await measure(kind, connections, stand_in, row_folder, args, profile_to)
                        )
                rounds.append(rows)
            if profile_to is not None:
                # The last row's: the goal is about the widest one.
                handled = args.updates + args.warmup
                print(f"\n=== Huarong server ({LABELS['huarong']}) ===")
                print_profile(profile_to, handled, args.profile_lines, KEY_FUNCTIONS, "update")
    finally:
        await stand_in.stop()
    print()
    rows = [combined([r[i] for r in rounds]) for i in range(len(rounds[0]))]
    baseline = {r.connections: r for r in rows if r.label == LABELS["aiogram"]}
    print_rows(rows, baseline)
    if stand_in.doubled:
        print(f"!! {stand_in.doubled} chats got a second reply")
    if not args.profile:
        verdict(rows)
        if len(rounds) > 1:
            spread(rounds)


def spread(rounds: Sequence[Sequence[Row]]) -> None:
    """Each goal's ratio round by round: the machine's drift shows in their range."""
    throughput: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
    latency: list[float] = []
    wide = CONCURRENCY[-1]
    for rows in rounds:
        by = {(r.label, r.connections): r for r in rows}
        for connections in CONCURRENCY:
            huarong = by.get((LABELS["huarong"], connections))
            aiogram = by.get((LABELS["aiogram"], connections))
            if huarong is not None and aiogram is not None:
                throughput[connections].append(huarong.rate / aiogram.rate)
        huarong, bare = by.get((LABELS["huarong"], wide)), by.get((LABELS["bare"], wide))
        if huarong is not None and bare is not None:
            latency.append(percentile(huarong.ok_200, 99) / percentile(bare.ok_200, 99))
    for connections, ratios in throughput.items():
        if ratios:
            print(
                f"  rounds, {connections} connection(s), Huarong / aiogram:"
                f" {min(ratios):.2f}x-{max(ratios):.2f}x"
            )
    if latency:
        print(f"  rounds, 200 p99 / the bare handler's: {min(latency):.2f}x-{max(latency):.2f}x")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Telegram webhook /checkin updates/s: bare aiohttp, Huarong, aiogram 3."
    )
    parser.add_argument("--updates", type=int, default=3000, help="updates per row")
    parser.add_argument("--warmup", type=int, default=200, help="untimed updates before a row")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every row this many times, in turn; figures pool the rounds",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only the Huarong rows, its server under cProfile; prints where time goes",
    )
    parser.add_argument("--profile-lines", type=int, default=40)
    parser.add_argument(
        "--skip-aiogram", action="store_true", help="leave out the aiogram rows (and the goal)"
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="each server on the last CPU, this process (load and Bot API) on the others",
    )
    # The server side of the benchmark: this file runs itself once per server.
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    args.cpu = pin_driver(args.pin)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, not {args.rounds}")
    needs_aiogram = not (args.profile or args.skip_aiogram)
    if needs_aiogram and importlib.util.find_spec("aiogram") is None:
        print(
            "aiogram is not installed. It is the comparison of this benchmark only, never a\n"
            "dependency of the project; install it into the benchmark's venv:\n\n"
            "    .venv/bin/pip install aiogram\n\n"
            "or run without it: --skip-aiogram",
            file=sys.stderr,
        )
        sys.exit(2)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(drive(args))


if __name__ == "__main__":
    main()
