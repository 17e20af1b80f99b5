"""Mount a community's API into an aiohttp application you already run.

    python examples/embed_in_aiohttp.py [--db sqlite:///huarong-demo.db] [--port 8081]

Your application keeps its own routes (here `/` and `/health`); the
community's API lives under `/community/api/v1/...` with its OpenAPI document
at `/community/api/v1/openapi.json`. The Huarong library opens and closes with
your application through `cleanup_ctx`, so nothing connects at import.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

from aiohttp import web

from huarong_core import Huarong
from huarong_core.demo import seed_demo
from huarong_web import make_app

HUARONG: web.AppKey[Huarong] = web.AppKey("example.huarong")


async def index(request: web.Request) -> web.Response:
    return web.Response(text="Our own site. The community's API is under /community/api/v1/\n")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def build_app(database: str) -> web.Application:
    """The host application with the community mounted at `/community`."""
    huarong = Huarong(database)
    await huarong.start()
    if not await huarong.communities():
        await seed_demo(huarong)  # an empty database gets the example building
    handle = await huarong.community()

    app = web.Application()
    app[HUARONG] = huarong
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.add_subapp("/community", make_app(handle))

    async def library_lifetime(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[HUARONG].stop()

    app.cleanup_ctx.append(library_lifetime)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///huarong-demo.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    web.run_app(build_app(args.db), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
