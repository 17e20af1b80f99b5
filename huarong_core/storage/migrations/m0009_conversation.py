"""What the conversation layer needs from the schema.

`communities.default_category` is the category given to people who join by
talking to a bot (the console's `--as`, a new Telegram user).
"""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    await conn.execute_script("""
ALTER TABLE communities ADD COLUMN default_category TEXT;
""")
