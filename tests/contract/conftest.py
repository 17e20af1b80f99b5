"""Actors of the sample community (`huarong_core.testing.SAMPLE_COMMUNITY`)."""

from __future__ import annotations

from huarong_core import Actor, Huarong, ListMembers
from huarong_core.app import CommunityHandle

SYSTEM = Actor.system("test")


async def actor_for(handle: CommunityHandle, key: str) -> Actor:
    """An actor for the member with `key` in the sample community."""
    page = await handle.execute(ListMembers(limit=500), actor=SYSTEM)
    for member in page.items:
        if member.key == key:
            return Actor.member(member.id, member.display_name)
    raise LookupError(key)


Pair = tuple[Huarong, CommunityHandle]
