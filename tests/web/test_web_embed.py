"""The example of mounting the API into a foreign aiohttp application works as shown."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from aiohttp.test_utils import TestClient, TestServer


def _example(repo_root: Path) -> ModuleType:
    path = repo_root / "examples" / "embed_in_aiohttp.py"
    spec = importlib.util.spec_from_file_location("embed_in_aiohttp", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_the_host_keeps_its_routes_and_serves_the_community_api(
    repo_root: Path, tmp_path: Path
) -> None:
    example = _example(repo_root)
    app = await example.build_app(f"sqlite:///{tmp_path / 'host.db'}")
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/health")).status == 200
        document = await (await client.get("/community/api/v1/openapi.json")).json()
        assert document["openapi"] == "3.1.0"
        assert all(path.startswith("/community/api/v1/") for path in document["paths"])
        anonymous = await client.get("/community/api/v1/session")
        assert anonymous.status == 401
        assert anonymous.content_type == "application/problem+json"
        docs = await client.get("/community/api/v1/docs")
        assert "/community/api/v1/openapi.json" in await docs.text()
