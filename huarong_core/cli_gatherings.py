"""`huarong whatson` and `huarong calendar ...`: gatherings from a terminal.

The calendar command writes the same RFC 5545 feed the web serves, so an
operator can hand a salon's `.ics` file to anyone who asks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Protocol

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.cli_output import table
from huarong_core.commands import CalendarFeed, FindMember, GetCalendar, ListVenues, WhatsOn
from huarong_core.domain.audit import Actor
from huarong_core.serialization import converter


class _Out(Protocol):
    locale: str
    json: bool

    def t(self, key: str, **params: Any) -> str: ...
    def say(self, text: str) -> None: ...
    def data(self, value: Any) -> None: ...


async def whats_on(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    found = await handle.execute(WhatsOn(days=args.days), actor=actor)
    if out.json:
        out.data(converter.unstructure(found))
        return 0
    if not found:
        out.say(out.t("cli.whatson.none", days=args.days))
        return 0
    tz = handle.community.tz
    venues = {
        v.key: v.name.get(out.locale) for v in await handle.execute(ListVenues(), actor=actor)
    }
    rows = [
        [
            str(g.id),
            g.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            g.ends_at.astimezone(tz).strftime("%H:%M"),
            g.title.get(out.locale) + (f": {g.topic}" if g.topic else ""),
            "" if g.venue_key is None else venues.get(g.venue_key, g.venue_key),
            "" if g.capacity is None else str(g.capacity),
        ]
        for g in found
    ]
    headers = ["id", "when", "until", "what", "venue", "seats"]
    out.say(table([out.t(f"cli.col.{h}") for h in headers], rows))
    return 0


async def calendar(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    feed, key = CalendarFeed(args.feed), args.key or ""
    if feed is CalendarFeed.MEMBER:
        key = str((await handle.execute(FindMember(key), actor=actor)).member.id)
    text = await handle.execute(GetCalendar(feed, key), actor=actor)
    if args.output is None:
        sys.stdout.write(text)
    else:
        _write(args.output, text)
        out.say(out.t("cli.calendar.written", file=str(args.output)))
    return 0


def _write(path: Path, text: str) -> None:
    """RFC 5545 lines end in CRLF already: write them as they are."""
    path.write_text(text, encoding="utf-8", newline="")


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 62:
        raise argparse.ArgumentTypeError(f"not a number of days from 1 to 62: {text!r}")
    return value


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("whatson", parents=[common], help="sessions and events of the coming days")
    p.add_argument("--days", type=_days, default=7, help="how many days ahead (default 7)")
    p.set_defaults(points_handler=whats_on)
    p = sub.add_parser("calendar", parents=[common], help="an iCalendar (.ics) feed")
    p.add_argument("feed", choices=[f.value for f in CalendarFeed])
    p.add_argument("key", nargs="?", help="salon, club or venue key; member id or key")
    p.add_argument("--output", type=Path, help="write to this file instead of standard output")
    p.set_defaults(points_handler=calendar)
