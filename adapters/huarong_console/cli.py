"""`huarong chat`: the console adapter's subcommand, found by the CLI through an entry point.

    huarong [--db URL] chat --as NAME [--chat GROUP]

Interactive on a terminal (line editing and history); with input from a
pipe it answers one message per line and exits 0 at the end of input, so
a session can be scripted: `printf '/clubs\\n/points\\n' | huarong chat --as Alice`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import structlog

from huarong_console.repl import interactive, scripted
from huarong_console.session import ConsoleChat
from huarong_core.app import CommunityHandle, Huarong
from huarong_core.demo import DEMO_DIR, seed_demo
from huarong_core.i18n import translate
from huarong_core.serve import serve

log = structlog.get_logger(__name__)


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Called by `huarong_core.cli` for the `huarong.cli` entry point named `chat`."""
    p = subparsers.add_parser(
        "chat", parents=[common], help="chat with the community in this terminal"
    )
    p.add_argument(
        "--as",
        dest="sender",
        required=True,
        metavar="NAME",
        help="who you are: a console identity of the community file, or a new member's name",
    )
    p.add_argument(
        "--chat", dest="group", metavar="GROUP", help="speak in this group chat (bind it: /bind)"
    )
    p.add_argument(
        "--demo-dir",
        default=str(DEMO_DIR),
        help="an empty database is first loaded with this example building",
    )
    p.set_defaults(handler=cmd_chat)


async def cmd_chat(args: argparse.Namespace, out: Any) -> int:
    sender = " ".join(args.sender.split())
    if not sender:
        sys.stderr.write(out.t("cli.chat.needs_name") + "\n")
        return 2
    async with Huarong(args.db) as huarong:
        if not await huarong.communities() and (Path(args.demo_dir) / "community.toml").exists():
            handle = await seed_demo(huarong, Path(args.demo_dir))
            sys.stderr.write(translate("chat.console.seeded", handle.community.locale) + "\n")
        else:
            handle = await huarong.community(args.community)
        chat = ConsoleChat(handle, sender, group=args.group)
        # The bots (and later the portal) run beside the console when configured:
        # `HUARONG_TELEGRAM_TOKEN=... huarong chat --as Alice` is the whole demo.
        stop = asyncio.Event()
        services = asyncio.create_task(_serve_beside(huarong, handle, stop))
        try:
            if sys.stdin.isatty():
                return await interactive(chat)
            return await scripted(chat, sys.stdin, sys.stdout)
        finally:
            stop.set()
            await services


async def _serve_beside(huarong: Huarong, handle: CommunityHandle, stop: asyncio.Event) -> None:
    try:
        ran = await serve(huarong, handle, os.environ, stop=stop)
    except Exception:  # a bot that cannot start must not take the console down
        log.exception("console.services_failed")
        return
    if ran:
        log.info("console.services_stopped", services=ran)
