"""Lookups shared by many routes: members, clubs, stations, by whatever people type.

Each is a `Ref` argument type: `#12`, a key, a name (or a unique part of
one), or the number of a line in the matching list last shown.
"""

from __future__ import annotations

import contextlib

from huarong_core.commands import (
    FindMember,
    FindMemberByIdentity,
    ListClubs,
    ListMembers,
    ListStations,
)
from huarong_core.conversation.arguments import Ref, match_one
from huarong_core.conversation.turn import Turn
from huarong_core.domain.clubs import Club
from huarong_core.domain.communities import Station
from huarong_core.domain.members import Member
from huarong_core.errors import InvalidValue, NotFound


async def find_member(turn: Turn, word: str) -> Member:
    """`#12`, `@key` or a key, an account on this platform, else a name: exact, or
    the only one containing it.

    Looking up someone else needs `view_members`; the core refuses otherwise.
    """
    ref = word.removeprefix("@")
    with contextlib.suppress(NotFound):  # not an id or key
        return (await turn.run(FindMember(ref))).member
    # Their account on this platform (a Telegram username, a console name); a word that
    # cannot be an account at all (InvalidValue) is simply not one.
    with contextlib.suppress(NotFound, InvalidValue):
        return (await turn.run(FindMemberByIdentity(turn.incoming.platform, ref))).member
    page = await turn.run(ListMembers(query=ref, limit=20))
    return match_one(
        "member",
        ref,
        ((m, (m.key or "", m.display_name)) for m in page.items),
    )


async def find_club(turn: Turn, word: str) -> Club:
    summaries = await turn.run(ListClubs())
    return match_one(
        "club",
        word,
        ((s.club, (s.club.key, *s.club.name.as_dict().values())) for s in summaries),
    )


async def find_station(turn: Turn, word: str) -> Station:
    stations = await turn.run(ListStations())
    return match_one(
        "station",
        word,
        ((s, (s.key, *s.name.as_dict().values())) for s in stations),
    )


MEMBER = Ref("member", "member", find_member)
"""A member argument (staff commands: award, assign, confirm hours)."""
CLUB = Ref("club", "club", find_club)
STATION = Ref("station", "station", find_station)


def member_ref(member: Member) -> str:
    """How a member line is remembered for `2`-style answers."""
    return f"#{member.id}"
