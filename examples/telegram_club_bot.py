"""The tea club's Telegram bot (茶艺社), for the example building.

    export HUARONG_TELEGRAM_TOKEN=123456:ABC...      # from @BotFather
    python examples/telegram_club_bot.py --leader 987654321

`--leader` is the Telegram user id of whoever runs the club (ask @userinfobot
for yours): it is linked to 张伟, the Huaying station's staff member, who
looks after the tea club. Then:

1. Add the bot to the club's Telegram group and, as the leader, send
   `/bind 茶艺社` there: the group is now the tea club's chat.
2. People in the group tap "加入茶艺社" or send `/join`; `/whatson` lists the
   club's gatherings first; `/rsvp`, `/checkin` and the rest work as in any chat.
3. Personal things (`/points`, `/requests`) are answered in a private chat:
   each member presses Start in a private chat with the bot once.

By default the bot long-polls; set `HUARONG_TELEGRAM_WEBHOOK_URL` (and
`HUARONG_TELEGRAM_LISTEN`) to use a webhook instead. Group privacy mode
(on by default in @BotFather) is fine: the bot needs only commands.
The database is `huarong-demo.db` (`--db` to change); an empty one is
loaded with the example building first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from huarong_core import Actor, Huarong, LinkIdentity
from huarong_core.commands import FindMember
from huarong_core.demo import seed_demo
from huarong_core.errors import DuplicateIdentity
from huarong_core.serve import serve
from huarong_telegram.service import create

TEA_LEADER = "venue_planner"
"""The example building's member who looks after the tea club (Huaying station staff)."""


async def main(db: str, leader: str | None) -> int:
    if not os.environ.get("HUARONG_TELEGRAM_TOKEN"):
        print("Set HUARONG_TELEGRAM_TOKEN to the bot's token from @BotFather.", file=sys.stderr)
        return 2
    setup = Actor.system("tea-club-bot")
    async with Huarong(db) as huarong:
        if not await huarong.communities():
            await seed_demo(huarong)
        handle = await huarong.community("huarong")
        if leader:
            profile = await handle.execute(FindMember(TEA_LEADER), actor=setup)
            try:
                await handle.execute(
                    LinkIdentity(profile.member.id, "telegram", leader), actor=setup
                )
            except DuplicateIdentity:
                print(f"Telegram user {leader} is already linked to someone else.", file=sys.stderr)
                return 1
        ran = await serve(huarong, handle, os.environ, factories=[("telegram", create)])
    return 0 if ran else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite:///huarong-demo.db")
    parser.add_argument("--leader", help="the club leader's Telegram user id")
    options = parser.parse_args()
    raise SystemExit(asyncio.run(main(options.db, options.leader)))
