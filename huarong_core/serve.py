"""`huarong serve`: every configured adapter, and the loops that keep a community alive.

Adapters take part through the entry point group `huarong.serve`: each
entry point names a factory `create(handle, environ) -> Service | None`
that returns `None` when its settings are absent (no
`HUARONG_TELEGRAM_TOKEN`, say), so one command starts whatever is
configured. Beside the services run the scheduler (reminders, closings),
the notification relay and the delivery worker, with each service's
`Sender` for its platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import structlog

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.delivery import DeliveryWorker, Sender
from huarong_core.notices.relay import NotificationRelay
from huarong_core.scheduler_loop import SchedulerLoop

__all__ = [
    "ENTRY_POINT_GROUP",
    "Service",
    "ServiceFactory",
    "find_services",
    "serve",
    "tune_garbage_collector",
]

log = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "huarong.serve"


@runtime_checkable
class Service(Protocol):
    """One running adapter (a Telegram bot, a Matrix bot, the web portal)."""

    @property
    def platform(self) -> str: ...

    @property
    def sender(self) -> Sender | None:
        """How notifications and announcements reach its people, if it can."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[CommunityHandle, Mapping[str, str]], Awaitable[Service | None]]


def find_services() -> list[tuple[str, ServiceFactory]]:
    """The installed adapters' factories, by entry point name."""
    return [(point.name, point.load()) for point in entry_points(group=ENTRY_POINT_GROUP)]


async def serve(
    huarong: Huarong,
    handle: CommunityHandle,
    environ: Mapping[str, str],
    *,
    stop: asyncio.Event | None = None,
    factories: list[tuple[str, ServiceFactory]] | None = None,
    on_started: Callable[[], None] | None = None,
) -> list[str]:
    """Run until `stop` is set (or SIGINT/SIGTERM); the names of the services that ran.

    With nothing configured it returns at once with no names. The loops stop
    after the services, so replies in flight still get their notifications
    recorded and sent. `on_started` runs once every service has started
    (`huarong serve` tunes its garbage collector there: `tune_garbage_collector`).
    """
    services: list[tuple[str, Service]] = []
    for name, factory in factories if factories is not None else find_services():
        service = await factory(handle, environ)
        if service is not None:
            services.append((name, service))
    if not services:
        return []
    stop = stop or _stop_on_signals()
    senders = {s.platform: s.sender for _, s in services if s.sender is not None}
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(SchedulerLoop(huarong))
        if senders:
            await stack.enter_async_context(NotificationRelay(huarong))
            await stack.enter_async_context(DeliveryWorker(huarong, senders))
        for name, service in services:
            await service.start()
            stack.push_async_callback(service.stop)
            log.info("serve.started", service=name, platform=service.platform)
        if on_started is not None:
            on_started()
        await stop.wait()
        log.info("serve.stopping")
    return [name for name, _ in services]


def host_and_port(listen: str) -> tuple[str, int] | None:
    """`host:port` as a service binds it (`[::1]:8443`; `:8080` is 127.0.0.1), or None
    when the text is not that (each service names its own setting in the refusal)."""
    host, _, port = listen.strip().rpartition(":")
    if not (port.isascii() and port.isdigit()) or not 0 < int(port[:6]) < 65536:
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


YOUNG_OBJECTS_BEFORE_COLLECTING = 5_000
"""Container objects allocated (net) before a young-generation collection; Python's
default is 700. Handling a request or an update makes no reference cycles in its
steady state (measured with `gc.callbacks`: nothing collected), so each pass only
walked live objects: ≈ 6 µs of CPU per web request and 17 per chat update, with
start-up frozen. At 5,000 those costs all but vanish and a pass stays under a
millisecond; at 20,000 one took 2–3 ms, every answer in flight waiting."""


def tune_garbage_collector() -> None:
    """Keep what start-up built (modules, catalogs, routes, configuration) out of the
    garbage collector's full passes (`gc.freeze()` after one last collection), and
    collect the young generation less often.

    A full pass walks every tracked object; with the start-up heap in it, one
    took tens of milliseconds on the event loop (every answer in flight waited),
    and they came every few thousand chat messages. Young passes came every few
    dozen requests and found nothing to free. For a process that owns its heap
    (`huarong serve`), not for a library call inside someone else's app.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS_BEFORE_COLLECTING, middle, old)
    log.debug("serve.collector_tuned", frozen=gc.get_freeze_count())


def _stop_on_signals() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows' default loop
            loop.add_signal_handler(sig, event.set)
    return event
