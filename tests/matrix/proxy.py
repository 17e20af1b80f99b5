"""A reverse proxy in front of the test homeserver, for fault tests: it can go away and 429.

`HomeserverProxy` forwards every request (method, path, query, headers but
Host and the hop-by-hop ones, body) to the homeserver and streams the answer
back, so a client pointed at `proxy.url` cannot tell it from the homeserver,
long-poll /sync included (the upstream timeout is generous on purpose).

What it can do besides:
- `go_down()`: stop listening and drop every open connection, in-flight
  requests included; clients get connection refused (new connections) or
  reset (the ones they had). `come_back()` listens again on the same port.
- `limit_next_send(ms)`: the next PUT to a `/send/` path is refused with
  Synapse's 429 (`M_LIMIT_EXCEEDED`, `retry_after_ms`) without reaching the
  homeserver; `limited_at` and `retried_at` (monotonic) record when it was
  refused and when the next PUT to the same path came.

The port stays the proxy's while it is down: a socket bound to it with
SO_REUSEPORT (and never listening) holds it, so no outgoing connection can be
given that port meanwhile, and a connection attempt is refused, not queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that describe one connection, not the message: never forwarded."""
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
"""Request headers left out: the client session sets Host and the length itself."""


class HomeserverProxy:
    """One homeserver behind 127.0.0.1:<port>, with a switch and a rate limiter."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream = upstream_url.rstrip("/")
        self.port: int | None = None
        self.forwarded = 0
        """Requests answered by the homeserver through the proxy."""
        self.dropped = 0
        """Connections cut by `go_down` (in-flight requests and idle keep-alives)."""
        self.in_flight: dict[asyncio.Task[object], str] = {}
        """Requests being forwarded now: handler task -> path."""
        self.limited_at: float | None = None
        self.limited_path: str | None = None
        self.retried_at: float | None = None
        self._limit_ms: int | None = None
        self._reservation: socket.socket | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the proxy has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._runner is not None

    def syncs_in_flight(self) -> int:
        """Long-polls waiting on the homeserver right now."""
        return sum(1 for path in self.in_flight.values() if path.endswith("/sync"))

    # --- switching -------------------------------------------------------------------

    async def start(self) -> str:
        """Listen (on a free port the first time, the same one after); the proxy's URL."""
        if self._runner is not None:
            return self.url
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # Raw bytes both ways: Content-Encoding and Content-Length stay true.
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None),
            )
        if self._reservation is None:
            reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            reservation.bind(("127.0.0.1", self.port or 0))
            self._reservation = reservation
            self.port = int(reservation.getsockname()[1])
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True, reuse_port=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return self.url

    async def go_down(self) -> None:
        """Stop listening and cut every connection: refused from now on, reset if open."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            await site.stop()  # no more accepting: new connections are refused
        server = runner.server
        if server is not None:
            for handler in server.connections:
                transport = handler.transport
                if transport is not None and not transport.is_closing():
                    transport.abort()  # an RST, not a polite close
                    self.dropped += 1
        tasks = list(self.in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()

    async def come_back(self) -> str:
        """Listen again, on the same port."""
        return await self.start()

    async def close(self) -> None:
        await self.go_down()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- rate limiting -----------------------------------------------------------------

    def limit_next_send(self, retry_after_ms: int) -> None:
        """Refuse the next PUT to a `/send/` path with a 429 asking to wait `retry_after_ms`."""
        self._limit_ms = retry_after_ms
        self.limited_at = self.limited_path = self.retried_at = None

    # --- forwarding --------------------------------------------------------------------

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if request.method == "PUT":
            limited = self._limited(path)
            if limited is not None:
                return limited
        task = asyncio.current_task()
        assert task is not None
        self.in_flight[task] = path
        try:
            return await self._relay(request)
        finally:
            self.in_flight.pop(task, None)

    def _limited(self, path: str) -> web.Response | None:
        now = time.monotonic()
        if self.limited_path == path and self.retried_at is None:
            self.retried_at = now
        if self._limit_ms is None or "/send/" not in path:
            return None
        retry_after_ms, self._limit_ms = self._limit_ms, None
        self.limited_at, self.limited_path = now, path
        return web.json_response(
            {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": retry_after_ms,
            },
            status=429,
        )

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in NOT_FORWARDED
        ]
        body = await request.read()
        target = self.upstream + request.rel_url.raw_path_qs
        async with self._session.request(
            request.method,
            target,
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
        ) as upstream:
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    answer.headers.add(name, value)
            await answer.prepare(request)
            async for chunk in upstream.content.iter_any():
                await answer.write(chunk)
            with contextlib.suppress(ConnectionResetError):
                await answer.write_eof()
        self.forwarded += 1
        return answer
