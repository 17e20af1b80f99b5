"""`serve`: services start, then the start-up hook runs (`huarong serve` freezes its heap)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from pathlib import Path

from huarong_core import Actor, Huarong, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.delivery import Sender
from huarong_core.serve import (
    YOUNG_OBJECTS_BEFORE_COLLECTING,
    Service,
    serve,
    tune_garbage_collector,
)
from huarong_core.testing import SAMPLE_COMMUNITY


class _Recorded:
    platform = "recorded"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    @property
    def sender(self) -> Sender | None:
        return None

    async def start(self) -> None:
        self.log.append("start")

    async def stop(self) -> None:
        self.log.append("stop")


async def test_the_start_hook_runs_once_every_service_has_started(tmp_path: Path) -> None:
    log: list[str] = []

    async def factory(handle: CommunityHandle, environ: Mapping[str, str]) -> Service | None:
        return _Recorded(log)

    stop = asyncio.Event()
    async with Huarong(f"sqlite:///{tmp_path / 'serve.db'}") as huarong:
        config = parse_config(SAMPLE_COMMUNITY, source="test")
        await huarong.apply_configuration(config, actor=Actor.system("test"), source="test")
        handle = await huarong.community()
        running = asyncio.ensure_future(
            serve(
                huarong,
                handle,
                {},
                stop=stop,
                factories=[("one", factory), ("two", factory)],
                on_started=lambda: log.append("started"),
            )
        )
        for _ in range(200):
            if "started" in log:
                break
            await asyncio.sleep(0.01)
        stop.set()
        assert await running == ["one", "two"]
    assert log == ["start", "start", "started", "stop", "stop"]


def test_tuning_the_collector_freezes_start_up_and_spaces_young_passes() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_OBJECTS_BEFORE_COLLECTING, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
