"""`huarong serve` and `huarong chat` as an operator runs them, with the bot on the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from huarong_core.testing import SAMPLE_COMMUNITY
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.processes import run_huarong, serve_env


@pytest.mark.slow
async def test_serve_answers_on_telegram_and_stops_cleanly(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    fake = fake_bot_api
    config = tmp_path / "community.toml"
    config.write_text(SAMPLE_COMMUNITY, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    loaded = await run_huarong(repo_root, serve_env(fake), "--db", db, "load", str(config))
    assert await loaded.wait() == 0

    process = await run_huarong(repo_root, serve_env(fake), "--db", db, "serve")
    try:
        ann = fake.user("Ann", language_code="en")
        fake.send_text(ann, "/start")
        await fake.wait_until(lambda: bool(fake.chat_log(ann.id)), within=30, what="a reply")
        assert "Welcome to Test Tower, Ann!" in fake.chat_log(ann.id)[0].text
        assert fake.commands({"type": "all_private_chats"}, "zh")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert fake.token not in err.decode()
    fake.assert_clean()


async def test_serve_with_nothing_configured_says_so(repo_root: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    config = tmp_path / "community.toml"
    config.write_text(SAMPLE_COMMUNITY, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    assert await (await run_huarong(repo_root, env, "--db", db, "load", str(config))).wait() == 0
    env |= {"LANG": "C.UTF-8", "HUARONG_WEB_LISTEN": "off"}
    process = await run_huarong(repo_root, env, "--db", db, "serve")
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert "HUARONG_TELEGRAM_TOKEN" in err.decode()


@pytest.mark.slow
async def test_the_console_runs_the_bot_beside_it(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    fake = fake_bot_api
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    process = await run_huarong(repo_root, serve_env(fake), "--db", db, "chat", "--as", "Tester")
    out, err = await asyncio.wait_for(process.communicate(b"/me\n"), timeout=120)
    assert process.returncode == 0, err.decode()
    assert "Tester" in out.decode()
    assert fake.calls("getMe")
    fake.assert_clean()


@pytest.mark.slow
async def test_the_tea_club_example_binds_its_group(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    fake = fake_bot_api
    leader = fake.user("张伟", started=True)
    db = f"sqlite:///{tmp_path / 'tea.db'}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/telegram_club_bot.py",
        "--db",
        db,
        "--leader",
        str(leader.id),
        cwd=repo_root,
        env=serve_env(fake),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_until(lambda: bool(fake.calls("getUpdates")), within=60, what="polling")
        group = fake.group("茶艺社", members=[leader])
        group.add_bot(by=leader)
        fake.send_text(leader, "/bind 茶艺社", chat=group)
        await fake.wait_until(
            lambda: any(
                "茶艺社" in m.text and "/bind" not in m.text for m in fake.chat_log(group.id)
            ),
            within=30,
            what="the binding",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    fake.assert_clean()


async def _serve_refused(repo_root: Path, tmp_path: Path, env: dict[str, str]) -> str:
    """`huarong serve` that must stop at once with exit status 2: what it said."""
    config = tmp_path / "community.toml"
    config.write_text(SAMPLE_COMMUNITY, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    assert await (await run_huarong(repo_root, env, "--db", db, "load", str(config))).wait() == 0
    process = await run_huarong(repo_root, env, "--db", db, "serve")
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2, err.decode()
    assert "Traceback" not in err.decode()
    assert "Unclosed" not in err.decode()  # a refused start leaves no session open
    return out.decode() + err.decode()


async def test_wrong_settings_stop_serve_with_every_problem_named(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    env = serve_env(
        fake_bot_api,
        HUARONG_TELEGRAM_TOKEN="bot123: pasted wrong",
        HUARONG_TELEGRAM_WEBHOOK_URL="http://[::1/hook",  # an unclosed bracket
        HUARONG_TELEGRAM_LISTEN="everywhere",
    )
    said = await _serve_refused(repo_root, tmp_path, env)
    for setting in (
        "HUARONG_TELEGRAM_TOKEN",
        "HUARONG_TELEGRAM_WEBHOOK_URL",
        "HUARONG_TELEGRAM_LISTEN",
    ):
        assert setting in said
    assert "pasted wrong" not in said  # the token is never repeated
    assert fake_bot_api.requests == []  # refused before anything connects


async def test_a_token_the_bot_api_refuses_stops_serve(
    repo_root: Path, tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    token = "987654321:not-this-bots-token"
    said = await _serve_refused(
        repo_root, tmp_path, serve_env(fake_bot_api, HUARONG_TELEGRAM_TOKEN=token)
    )
    assert "HUARONG_TELEGRAM_TOKEN" in said
    assert "refused" in said
    assert token not in said
