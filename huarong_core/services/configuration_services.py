"""Applying the services part of a community file: station leads and the catalogue.

Runs after members (a station's `lead` names one) and stations. Services
are created or updated by key; a service the file used to define and no
longer lists is disabled (its requests keep their history), never deleted.
Loading the same file twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from huarong_core.config import CommunityConfig
from huarong_core.config_services import service_from
from huarong_core.errors import HuarongError, Problem, StorageError
from huarong_core.services.context import Context
from huarong_core.services.stations import save_service

if TYPE_CHECKING:
    from huarong_core.services.configuration import _Tally


async def apply_services(ctx: Context, config: CommunityConfig, tally: _Tally) -> None:
    """Create or update by key; loading the same file twice changes nothing."""
    for i, station in enumerate(config.stations):
        if station.lead is not None and await ctx.repos.members.by_key(station.lead) is None:
            tally.problems.append(
                Problem(f"stations[{i}].lead", "config.unknown_member", {"value": station.lead})
            )
    stations = {s.key for s in await ctx.repos.communities.stations(ctx.community.id)}
    repo = ctx.uow.requests
    for i, entry in enumerate(config.services):
        if entry.station not in stations:
            tally.problems.append(
                Problem(
                    f"services[{i}].station", "config.unknown_station", {"value": entry.station}
                )
            )
            continue
        try:
            existed = await repo.service(entry.key) is not None
            _, changed = await save_service(ctx, service_from(entry), "config")
        except StorageError:
            raise
        except HuarongError as exc:
            tally.problems.append(Problem.from_error(f"services[{i}]", exc))
            continue
        tally.count("services", created=not existed, changed=changed and existed)
    listed = {entry.key for entry in config.services}
    for key, source in sorted((await repo.service_sources()).items()):
        if source != "config" or key in listed:
            continue
        current = await repo.service(key)
        if current is not None and current.enabled:
            await save_service(ctx, attrs.evolve(current, enabled=False), "config")
            tally.count("services", changed=True)
