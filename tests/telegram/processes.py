"""`huarong` as an operator runs it, in a process of its own, with the bot on the fake."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.telegram.fake_bot_api import FakeBotApi


def serve_env(fake: FakeBotApi, **extra: str) -> dict[str, str]:
    """This environment without any `HUARONG_` setting of the developer's, plus the bot's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    env |= {
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "HUARONG_TELEGRAM_TOKEN": fake.token,
        "HUARONG_TELEGRAM_API_URL": fake.base_url,
        "HUARONG_CHAT_HISTORY": os.devnull,
        "HUARONG_WEB_LISTEN": "off",
    }
    return env | extra


async def run_huarong(
    repo_root: Path, env: dict[str, str], *args: str
) -> asyncio.subprocess.Process:
    """`huarong ARGS...` with every stream piped: read them (`communicate`) to the end."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "huarong_core.cli",
        *args,
        cwd=repo_root,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
