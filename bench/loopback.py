"""What the loopback HTTP benchmarks (`telegram.py`, `web.py`) share.

Each benchmark runs its servers as processes of their own (the script starts
itself with a hidden `--serve KIND`), so a server's CPU time is its own, and
drives them from the first process over loopback:

- `ServerProcess`: a server process and its control channel (one JSON line
  on its stdout when it is ready, then commands on its stdin: `cpu`, `stop`
  and the benchmark's own, each answered by a JSON line);
- `control_loop`: the server's side of that channel;
- `hammer`: a minimal HTTP/1.1 client on asyncio streams sending over N
  keep-alive connections, each one request at a time (aiohttp's client costs
  more CPU per request than a bare aiohttp server does, and would be what a
  bare row measured);
- `Profiling` and `print_profile`: cProfile of the server's event loop and,
  inside their jobs, of SQLite's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import re
import resource
import socket
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from huarong_core.serve import tune_garbage_collector

__all__ = [
    "PROFILING",
    "Exchanges",
    "ServerProcess",
    "control_loop",
    "cpu_seconds",
    "free_port",
    "hammer",
    "http_request",
    "percentile",
    "pin_driver",
    "pin_server",
    "prepare_profiling",
    "print_profile",
    "quiet_server_logs",
    "ready",
    "say",
]

HOST = "127.0.0.1"


# --- the server's side -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def serve_app(app: web.Application) -> tuple[web.AppRunner, int]:
    """`app` served on a free loopback port, without an access log: its runner (to
    clean up) and the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, HOST, port).start()
    return runner, port


def cpu_seconds() -> float:
    """This process's CPU, every thread (SQLite's threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def say(value: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def pin_driver(pin: bool) -> int | None:
    """With `pin` (and two CPUs or more), keep this process off the last CPU and
    return it, for the servers: the load then never takes a server's core."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None
    os.sched_setaffinity(0, set(cpus[:-1]))
    return cpus[-1]


def pin_server(cpu: int | None) -> None:
    """A server on the CPU `pin_driver` kept for it (before any thread starts: they
    inherit it)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def ready(value: Mapping[str, Any]) -> None:
    """A server's set-up is over: tune its garbage collector as `huarong serve` does
    (every row alike: its start-up heap frozen, young passes less often), then tell
    the driver how to reach it."""
    tune_garbage_collector()
    say(value)


Answer = Callable[[], Awaitable[Mapping[str, Any]]]


async def control_loop(answers: Mapping[str, Answer] | None = None) -> None:
    """Answer the driver on stdin/stdout until it says `stop` (or goes away).

    `cpu` is always answered; `answers` adds the benchmark's own commands."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("", "stop"):
            return
        if line == "cpu":
            say({"cpu": cpu_seconds()})
        elif answers is not None and line in answers:
            say(await answers[line]())
        else:
            say({"error": f"unknown command {line!r}"})


def quiet_server_logs() -> None:
    """Warnings and worse, to stderr (a file the driver keeps): stdout is the control channel."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


# --- the driver's side: the server process -----------------------------------------------


class ServerProcess:
    """One server process (`script --serve KIND ...`) and its control channel."""

    def __init__(self, kind: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.kind = kind
        self.process = process
        self.log = log
        self.ready: dict[str, Any] = {}
        """What the server said when it was ready (its port, at least)."""

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    @classmethod
    async def start(
        cls, script: str, kind: str, args: Sequence[str], log: Path, within: float = 300
    ) -> ServerProcess:
        """Start it and wait for its first line (`{"port": ..., ...}`)."""
        with log.open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                script,
                "--serve",
                kind,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        server = cls(kind, process, log)
        server.ready = await server._read(within)
        return server

    async def _read(self, within: float = 120) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=within)
        if not line:
            await self.process.wait()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the {self.kind} server ended early:\n{tail}")
        value: dict[str, Any] = json.loads(line)
        return value

    async def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        return await self._read()

    async def cpu(self) -> float:
        return float((await self.ask("cpu"))["cpu"])

    async def stop(self) -> None:
        assert self.process.stdin is not None
        if self.process.returncode is None:
            self.process.stdin.write(b"stop\n")
            with contextlib.suppress(ConnectionError):
                await self.process.stdin.drain()
            self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), timeout=60)


# --- the driver's side: the client ------------------------------------------------------


def http_request(
    method: str, path: str, port: int, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request, ready to write (keep-alive, the default)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)

Next = Callable[[int], tuple[int, bytes] | None]
"""(connection number) -> (a tag, the request) or `None` when that connection is done."""


@dataclass
class Exchanges:
    """Every request answered, in the order they were sent on each connection."""

    tags: list[int] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def count(self) -> int:
        return len(self.statuses)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def latencies(self) -> list[float]:
        return [a - s for s, a in zip(self.sent, self.answered, strict=True)]

    def failures(self, ok: Callable[[int], bool] = lambda status: 200 <= status < 300) -> int:
        return sum(1 for status in self.statuses if not ok(status))

    def by_status(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for status in self.statuses:
            counts[status] = counts.get(status, 0) + 1
        return dict(sorted(counts.items()))


async def hammer(
    port: int, connections: int, next_request: Next, seconds: float | None = None
) -> Exchanges:
    """Send what `next_request` gives over `connections` keep-alive connections, each
    one request at a time, until it gives `None` (or `seconds` have passed).

    `finished` is when the last answer was read."""
    done = Exchanges()
    opened = [await asyncio.open_connection(HOST, port) for _ in range(connections)]
    done.started = time.perf_counter()
    deadline = None if seconds is None else done.started + seconds

    async def client(number: int) -> None:
        reader, writer = opened[number]
        perf_counter = time.perf_counter
        while deadline is None or perf_counter() < deadline:
            item = next_request(number)
            if item is None:
                return
            tag, request = item
            sent = perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            if length is None and head[9:12] not in (b"204", b"304"):
                raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
            if length is not None:
                await reader.readexactly(int(length.group(1)))
            answered = perf_counter()
            done.tags.append(tag)
            done.sent.append(sent)
            done.answered.append(answered)
            done.statuses.append(int(head[9:12]))

    try:
        await asyncio.gather(*(client(n) for n in range(connections)))
    finally:
        done.finished = max(done.answered, default=time.perf_counter())
        for _, writer in opened:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    return done


def percentile(samples: Sequence[float], p: int) -> float:
    """The `p`th percentile of durations in seconds, in milliseconds."""
    if len(samples) < 2:
        return samples[0] * 1000 if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1] * 1000


# --- profiling the server ----------------------------------------------------------------


@dataclass
class Profiling:
    """cProfile sees only the thread that enabled it, and Huarong runs every unit of
    work (its SQL and the Python around it) on SQLite's threads: each thread gets a
    profiler of its own, running only inside jobs, and only once setup is over."""

    loop: cProfile.Profile | None = None
    threads: dict[str, cProfile.Profile] = field(default_factory=dict)
    on: bool = False

    def start(self) -> None:
        if self.loop is not None:
            self.on = True
            self.loop.enable()

    def dump(self, path: str) -> None:
        if self.loop is not None:
            self.loop.disable()
            self.loop.dump_stats(path)
        for name, profiler in self.threads.items():
            profiler.dump_stats(f"{path}.{name}")

    def cut(self, path: str) -> None:
        """Dump what was profiled since `start` and begin afresh (stopped): one
        profile per part of a run."""
        self.on = False
        self.dump(path)
        self.loop = cProfile.Profile()
        self.threads = {}


PROFILING = Profiling()


def prepare_profiling() -> None:
    """Profile the event loop and SQLite's threads inside their jobs, once
    `PROFILING.start()` runs (the end of setup); `PROFILING.dump` writes them."""
    from huarong_core.storage import sqlite as sqlite_storage

    PROFILING.loop = cProfile.Profile()
    worker = sqlite_storage._Worker
    for method in ("_run_group", "_run_read", "_run_session"):
        original = getattr(worker, method)

        def wrapped(self: Any, raw: Any, job: Any, _original: Any = original) -> None:
            if not PROFILING.on:
                _original(self, raw, job)
                return
            name = threading.current_thread().name
            profiler = PROFILING.threads.setdefault(name, cProfile.Profile())
            profiler.enable()
            try:
                _original(self, raw, job)
            finally:
                profiler.disable()

        setattr(worker, method, wrapped)


EPOLL = "<method 'poll' of 'select.epoll' objects>"
SQL_CALLS = frozenset(
    f"<method '{name}' of 'sqlite3.Connection' objects>" for name in ("execute", "executemany")
)
KeyFunction = tuple[str, str, str]
"""(file name suffix, function, label): what the loop's time is summed by."""


def print_profile(
    path: Path, handled: int, limit: int, key_functions: Sequence[KeyFunction], unit: str
) -> None:
    """Where the server's time went: the event loop's thread, then SQLite's threads.

    For a coroutine, cProfile's cumulative time counts only while it runs, not
    while it waits, so the loop's figures are CPU on the loop's thread.
    """
    loop = pstats.Stats(str(path), stream=io.StringIO())
    table: dict[tuple[str, str], float] = {}
    entries = loop.stats.items()  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, _, cumulative, _) in entries:
        for suffix, name, _ in key_functions:
            if filename.endswith(suffix) and function == name:
                table[(suffix, name)] = table.get((suffix, name), 0.0) + cumulative
    print(f"\n--- event loop thread ({handled:,} {unit}s handled) ---")
    print(f"{'(cumulative, under the profiler)':<52} {f'µs/{unit}':>10}")
    for suffix, name, label in key_functions:
        print(f"{label:<52} {table.get((suffix, name), 0.0) / handled * 1e6:>10,.0f}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"\n--- event loop thread, by {order} ---")
        print(out.getvalue().strip())
    idle = sum(tt for (_, _, f), (_, _, tt, _, _) in entries if f == EPOLL)
    busy = (loop.total_tt - idle) / handled * 1e6  # type: ignore[attr-defined]
    print(f"\nloop thread busy (not in epoll): {busy:,.0f} µs/{unit}")
    writer = path.with_name(f"{path.name}.huarong-sqlite-writer")
    readers = sorted(path.parent.glob(f"{path.name}.huarong-sqlite-reader-*"))
    for label, files in (("SQLite writer thread", [writer]), ("SQLite reader threads", readers)):
        present = [str(f) for f in files if f.exists()]
        if not present:
            continue
        out = io.StringIO()
        stats = pstats.Stats(*present, stream=out)
        entries = stats.stats.items()  # type: ignore[attr-defined]
        statements = sum(calls for (_, _, f), (_, calls, _, _, _) in entries if f in SQL_CALLS)
        stats.strip_dirs().sort_stats("tottime").print_stats(limit // 2)
        busy = stats.total_tt / handled * 1e6  # type: ignore[attr-defined]
        print(
            f"\n--- {label}: {busy:,.0f} µs/{unit} in jobs, {statements / handled:.1f}"
            f" sqlite3 execute calls/{unit} (BEGIN, COMMIT, savepoints included) ---"
        )
        print(out.getvalue().strip())
