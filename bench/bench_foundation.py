"""Throughput of the foundation's hot paths on one backend; prints, never asserts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import structlog

from huarong_core import Actor, Huarong, ListMembers, RegisterMember, load_config
from huarong_core.storage import parse_database_url
from huarong_core.storage.url import PostgresURL

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = Actor.system("bench")


async def _prepare_schema(url: str, drop: bool) -> None:
    parsed = parse_database_url(url)
    if not isinstance(parsed, PostgresURL) or parsed.schema is None:
        return
    import asyncpg

    conn = await asyncpg.connect(parsed.dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {parsed.schema} CASCADE")
        if not drop:
            await conn.execute(f"CREATE SCHEMA {parsed.schema}")
    finally:
        await conn.close()


async def run(url: str, count: int) -> None:
    await _prepare_schema(url, drop=False)
    try:
        async with Huarong(url) as huarong:
            config = load_config(ROOT / "examples" / "huarong" / "community.toml")
            started = time.perf_counter()
            await huarong.apply_configuration(config, actor=SYSTEM)
            print(f"load community.toml (first)    {time.perf_counter() - started:8.3f} s")
            started = time.perf_counter()
            await huarong.apply_configuration(config, actor=SYSTEM)
            print(f"load community.toml (no-op)    {time.perf_counter() - started:8.3f} s")
            handle = await huarong.community("huarong")

            started = time.perf_counter()
            for i in range(count):
                await handle.execute(RegisterMember(f"Seq {i}"), actor=SYSTEM)
            elapsed = time.perf_counter() - started
            print(f"register, sequential           {count / elapsed:8.0f} /s")

            async def worker(n: int) -> None:
                for i in range(count // 8):
                    await handle.execute(RegisterMember(f"Par {n}-{i}"), actor=SYSTEM)

            started = time.perf_counter()
            await asyncio.gather(*(worker(n) for n in range(8)))
            elapsed = time.perf_counter() - started
            print(f"register, 8 concurrent tasks   {(count // 8) * 8 / elapsed:8.0f} /s")

            pages = 50
            started = time.perf_counter()
            for i in range(pages):
                await handle.execute(ListMembers(offset=i * 20, limit=50), actor=SYSTEM)
            elapsed = time.perf_counter() - started
            print(f"list 50 members (paged)        {pages / elapsed:8.0f} /s")
    finally:
        await _prepare_schema(url, drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--count", type=int, default=2000, help="registrations per phase")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'bench.db'}"
        print(f"backend: {parse_database_url(url).redacted()}")
        asyncio.run(run(url, args.count))


if __name__ == "__main__":
    main()
