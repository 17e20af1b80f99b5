"""A salon bot on Matrix for the example building: what's on, RSVP, reminders in the room.

    export HUARONG_MATRIX_HOMESERVER=https://matrix.example.org
    export HUARONG_MATRIX_USER=@huarong:example.org
    export HUARONG_MATRIX_PASSWORD=...                # or HUARONG_MATRIX_ACCESS_TOKEN
    python examples/matrix_salon_bot.py --leader @you:example.org

`--leader` is your Matrix user id: it is linked to 张伟 (the Huaying
station's staff member who leads the chess club), so you may bind a room.
Then, in Element or any Matrix client:

1. Create a room (encrypted is fine), invite the bot, and send `!bind chess`
   there as the room's moderator: the room is now the chess club's.
2. `!whatson` lists the salons and events with numbered choices: react with
   1️⃣ (or answer `1`) to say you are going; `!checkin <id> <code>` at the venue.
3. Reminders (a day and an hour before) come to each person who is going,
   in their direct room with the bot, and to the club's room for the club's
   own gatherings. Personal answers (`!points`) go to the direct room too.

The bot keeps its session and encryption keys in `HUARONG_MATRIX_STORE`
(default `./huarong-matrix-store`): keep that folder, or it becomes a new
device that no encrypted room has shared keys with. The database is
`huarong-demo.db` (`--db` to change); an empty one is loaded with the
example building first. The timers and the notification delivery run
beside the bot, as in `huarong serve`.
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
from huarong_matrix.service import create

CLUB_LEADER = "venue_planner"
"""The example building's member who leads the chess club (Huaying station staff)."""


async def main(db: str, leader: str | None) -> int:
    if not os.environ.get("HUARONG_MATRIX_HOMESERVER"):
        print("Set HUARONG_MATRIX_HOMESERVER, _USER and _PASSWORD (see --help).", file=sys.stderr)
        return 2
    setup = Actor.system("salon-bot")
    async with Huarong(db) as huarong:
        if not await huarong.communities():
            await seed_demo(huarong)
        handle = await huarong.community("huarong")
        if leader:
            profile = await handle.execute(FindMember(CLUB_LEADER), actor=setup)
            try:
                await handle.execute(LinkIdentity(profile.member.id, "matrix", leader), actor=setup)
            except DuplicateIdentity:
                print(f"{leader} is already linked to someone else.", file=sys.stderr)
                return 1
        ran = await serve(huarong, handle, os.environ, factories=[("matrix", create)])
    return 0 if ran else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite:///huarong-demo.db")
    parser.add_argument("--leader", help="your Matrix user id, linked to the club's leader")
    options = parser.parse_args()
    raise SystemExit(asyncio.run(main(options.db, options.leader)))
