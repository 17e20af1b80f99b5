"""Invariants under concurrency: many tasks at once, and two processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from huarong_core import Huarong, LinkIdentity, ListMembers, RegisterMember
from huarong_core.errors import AlreadyExists, DuplicateIdentity
from huarong_core.testing import snapshot
from tests.contract.conftest import SYSTEM, Pair


async def test_concurrent_registrations_get_distinct_consecutive_ids(community: Pair) -> None:
    _, handle = community
    created = await asyncio.gather(
        *(handle.execute(RegisterMember(f"Worker {i}"), actor=SYSTEM) for i in range(40))
    )
    ids = sorted(m.id for m in created)
    assert ids == list(range(4, 44))


async def test_one_account_links_to_exactly_one_member(community: Pair) -> None:
    _, handle = community
    members = [
        await handle.execute(RegisterMember(f"Claimant {i}"), actor=SYSTEM) for i in range(10)
    ]
    outcomes = await asyncio.gather(
        *(handle.execute(LinkIdentity(m.id, "telegram", "777"), actor=SYSTEM) for m in members),
        return_exceptions=True,
    )
    linked = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, DuplicateIdentity)]
    assert len(linked) == 1
    assert len(refused) == 9
    assert all(r.member_id == linked[0].member_id for r in refused)


async def test_racing_registrations_of_one_key_end_in_one_member(community: Pair) -> None:
    _, handle = community
    outcomes = await asyncio.gather(
        *(handle.execute(RegisterMember("Jun", key="jun"), actor=SYSTEM) for _ in range(8)),
        return_exceptions=True,
    )
    created = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(created) == 1
    assert all(isinstance(o, AlreadyExists) for o in outcomes if isinstance(o, BaseException))
    page = await handle.execute(ListMembers(query="Jun"), actor=SYSTEM)
    assert page.total == 1


def _load(database_url: str, config: Path, repo_root: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    return subprocess.Popen(
        [sys.executable, "-m", "huarong_core.cli", "--db", database_url, "load", str(config)],
        cwd=repo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
async def test_two_processes_loading_at_once(
    database_url: str, examples_dir: Path, repo_root: Path, tmp_path: Path
) -> None:
    """Both loads succeed; the database ends as one load leaves it."""
    config = examples_dir / "community.toml"
    processes = [_load(database_url, config, repo_root) for _ in range(2)]
    results = [await asyncio.to_thread(p.communicate, timeout=120) for p in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    async with Huarong(database_url) as huarong:
        together = await snapshot(huarong.db)
        handle = await huarong.community("huarong")
        members = await handle.execute(ListMembers(), actor=SYSTEM)
    assert members.total == 9
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    single = _load(reference, config, repo_root)
    _, err = await asyncio.to_thread(single.communicate, timeout=120)
    assert single.returncode == 0, err
    async with Huarong(reference) as huarong:
        alone = await snapshot(huarong.db)
    # Same rows apart from timestamps and actor names, which differ between runs.
    assert {t: len(rows) for t, rows in together.items()} == {
        t: len(rows) for t, rows in alone.items()
    }
