"""The bot's process killed (SIGKILL, no clean-up) after handling an update and
before Telegram heard so, then started again: the update's effect happens once.

The in-process crash test (`test_telegram_e2e.py`) raises where the offset is
stored; these kill a real `huarong serve` on a real SQLite file, so what stands
afterwards is what the file kept: the recorded update, the committed award and
its delivery record. The fake Bot API kills the process when the check-in's
reply arrives (the award is committed by then; the offset is not stored and the
inbox entry not marked done) and drops that request, as if it never left.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from huarong_core import Actor, Huarong
from huarong_core.commands import (
    FindMemberByIdentity,
    GetCheckInCode,
    GetPointsStatement,
    ListGatherings,
)
from tests.telegram.fake_bot_api import FakeBotApi, FakeUser, SentMessage
from tests.telegram.processes import run_huarong, serve_env

pytestmark = pytest.mark.slow

SYSTEM = Actor.system("test")
POINTS = 20
WITHIN = 60.0
"""Seconds a started process may take to answer (a cold interpreter on a busy CI)."""


def _community(now: datetime) -> str:
    """A tasting in ten minutes (check-in opens half an hour before), and points for
    checking in."""

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"""
[community]
key = "killville"
name = {{ zh_CN = "重启大厦", en = "Restart Tower" }}
default_category = "employee"

[[categories]]
key = "employee"
name = {{ zh_CN = "员工", en = "Employee" }}

[[events]]
key = "tasting"
title = {{ zh_CN = "品茶会", en = "Tea tasting" }}
type = "activity_day"
starts = {stamp(now + timedelta(minutes=10))}
ends = {stamp(now + timedelta(hours=2))}

[points]

[[points.rules]]
key = "checkin"
name = {{ zh_CN = "活动签到", en = "Checked in" }}
trigger = "event.checked_in"
points = {POINTS}
"""


async def _loaded(repo_root: Path, tmp_path: Path, fake: FakeBotApi) -> tuple[str, str]:
    """The database URL, and `/checkin <gathering> <code>` for the running tasting."""
    config = tmp_path / "community.toml"
    config.write_text(_community(datetime.now(UTC)), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'killed.db'}"
    loaded = await run_huarong(repo_root, serve_env(fake), "--db", db, "load", str(config))
    _, err = await loaded.communicate()
    assert loaded.returncode == 0, err.decode()
    async with Huarong(db) as huarong:
        handle = await huarong.community("killville")
        (tasting,) = await handle.execute(ListGatherings(), actor=SYSTEM)
        code = (await handle.execute(GetCheckInCode(tasting.id), actor=SYSTEM)).code
    return db, f"/checkin {tasting.id} {code}"


async def _points(db: str, user: FakeUser) -> tuple[int, list[str]]:
    """The person's balance and the rules of their ledger lines, read from the file."""
    async with Huarong(db) as huarong:
        handle = await huarong.community("killville")
        member = await handle.execute(
            FindMemberByIdentity("telegram", str(user.id), details=False), actor=SYSTEM
        )
        statement = await handle.execute(GetPointsStatement(member.member.id), actor=SYSTEM)
    return statement.balance, [entry.rule_key or "" for entry in statement.entries]


def _kill_at_the_reply(fake: FakeBotApi, process: asyncio.subprocess.Process) -> None:
    """The next `sendMessage` kills the bot before it takes effect, and is dropped."""

    def kill(params: Any) -> None:
        os.kill(process.pid, signal.SIGKILL)

    fake.on_next("sendMessage", kill)
    fake.disconnect_next("sendMessage")


async def _started_and_greeted(
    repo_root: Path, db: str, fake: FakeBotApi, user: FakeUser, env: dict[str, str]
) -> asyncio.subprocess.Process:
    process = await run_huarong(repo_root, env, "--db", db, "serve")
    fake.send_text(user, "/start")
    try:
        await fake.wait_until(lambda: bool(fake.chat_log(user.id)), within=WITHIN, what="a welcome")
    except BaseException:
        process.kill()
        _, err = await process.communicate()
        raise AssertionError(f"no welcome; the bot said: {err.decode()[-2000:]}") from None
    return process


async def _stopped(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()


async def _killed(process: asyncio.subprocess.Process) -> None:
    """Wait for the kill (reading what it wrote, so a full pipe cannot stall it); a
    process the test left running on its way out is killed here."""
    try:
        await asyncio.wait_for(process.communicate(), timeout=WITHIN)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == -signal.SIGKILL


def _checked_in(chat: Sequence[SentMessage]) -> list[str]:
    """The check-in's replies: they name the points it earned."""
    return [m.text for m in chat if f"+{POINTS}" in m.text]


async def test_polling_killed_before_the_offset_is_stored(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    fake = fake_bot_api
    db, checkin = await _loaded(repo_root, tmp_path, fake)
    ann = fake.user("Ann", language_code="en")
    env = serve_env(fake)

    first = await _started_and_greeted(repo_root, db, fake, ann, env)
    _kill_at_the_reply(fake, first)
    update = fake.send_text(ann, checkin)
    await _killed(first)
    assert update in fake.pending_update_ids  # Telegram was never told: it sends it again
    assert _checked_in(fake.chat_log(ann.id)) == []
    assert await _points(db, ann) == (POINTS, ["checkin"])  # handled before the kill

    second = await run_huarong(repo_root, env, "--db", db, "serve")
    try:
        await fake.wait_until(
            lambda: bool(_checked_in(fake.chat_log(ann.id))), within=WITHIN, what="a reply"
        )
        await fake.wait_confirmed(update, within=WITHIN)
    finally:
        await _stopped(second)
    assert len(_checked_in(fake.chat_log(ann.id))) == 1
    assert await _points(db, ann) == (POINTS, ["checkin"])  # not awarded twice
    assert fake.conflicts == []
    fake.assert_clean()


async def test_webhook_killed_after_answering_200_before_the_update_is_done(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi, unused_tcp_port: int
) -> None:
    fake = fake_bot_api
    db, checkin = await _loaded(repo_root, tmp_path, fake)
    ann = fake.user("Ann", language_code="en")
    env = serve_env(
        fake,
        HUARONG_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{unused_tcp_port}/telegram/hook",
        HUARONG_TELEGRAM_LISTEN=f"127.0.0.1:{unused_tcp_port}",
    )

    first = await _started_and_greeted(repo_root, db, fake, ann, env)
    _kill_at_the_reply(fake, first)
    update = fake.send_text(ann, checkin)
    await _killed(first)
    assert update in fake.webhook_delivered  # answered 200: Telegram will not send it again
    assert _checked_in(fake.chat_log(ann.id)) == []
    assert await _points(db, ann) == (POINTS, ["checkin"])

    second = await run_huarong(repo_root, env, "--db", db, "serve")
    try:
        # Only the process's own record of the update can bring the reply now.
        await fake.wait_until(
            lambda: bool(_checked_in(fake.chat_log(ann.id))), within=WITHIN, what="a reply"
        )
    finally:
        await _stopped(second)
    assert len(_checked_in(fake.chat_log(ann.id))) == 1
    assert fake.webhook_attempts[update] == 1
    assert await _points(db, ann) == (POINTS, ["checkin"])
    fake.assert_clean()
