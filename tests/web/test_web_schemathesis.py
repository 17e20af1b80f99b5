"""The API against its own OpenAPI document, by Schemathesis.

Every operation of the document gets generated requests (valid ones and,
Schemathesis' negative mode, invalid ones), sent to a live app on
127.0.0.1 (its own event loop in a background thread, on a fresh copy of the
demo building for each operation) as the demo's admin, with the session
cookie and the CSRF token on every call. Every answer must be no server
error, have a status and content type the document lists for the operation,
and match the document's schema for it.

The document is built at import (Schemathesis parametrizes at collection) by
the same function the app serves it with; `test_the_live_app_serves_this_document`
checks that the app serves exactly that document.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from huarong_web.app import plain_routes
from huarong_web.keys import AUTH
from huarong_web.openapi import build_document
from huarong_web.routes import ALL_ROUTES
from huarong_web.settings import WebSettings
from tests.web.web_world import API, ROLE_MEMBERS, open_world

pytestmark = pytest.mark.slow

SETTINGS = WebSettings()
EXAMPLES = 12
"""Generated requests per operation (besides the document's own examples)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


SIGN_OUT = f"DELETE {API}/session"
"""Ends the admin's session: its later examples are rightly refused."""


def problem_code(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else ""


def build() -> tuple[dict[str, Any] | None, str]:
    """The document `make_app(handle, SETTINGS)` serves, or why it cannot be built."""
    try:
        document = build_document(list(ALL_ROUTES), plain_routes(SETTINGS), "")
    except Exception as exc:  # reported by `test_the_document_builds`
        return None, f"{type(exc).__name__}: {exc}"
    parsed: dict[str, Any] = json.loads(json.dumps(document, ensure_ascii=False))
    return parsed, ""


DOCUMENT, BROKEN = build()


# --- the live app --------------------------------------------------------------------


@attrs.frozen
class LiveApp:
    base_url: str
    session: str = attrs.field(repr=False)
    csrf: str = attrs.field(repr=False)

    @property
    def cookies(self) -> dict[str, str]:
        return {"huarong_session": self.session}

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


@pytest.fixture
def live(demo_template: Path, tmp_path: Path) -> Iterator[LiveApp]:
    """The app on a copy of the demo building, served on 127.0.0.1 from a thread with
    its own event loop, with a session of the admin; stopped after the test."""
    ready: concurrent.futures.Future[LiveApp] = concurrent.futures.Future()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with open_world(demo_template, tmp_path, SETTINGS) as world:
                token, session = await world.app[AUTH].start_session(
                    ROLE_MEMBERS["admin"], "王建华", "code", "en"
                )
                base = str(world.server.make_url("")).rstrip("/")
                ready.set_result(LiveApp(base, token, session.csrf))
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield ready.result(timeout=30)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


def test_the_document_builds() -> None:
    assert DOCUMENT is not None, f"the OpenAPI document cannot be built: {BROKEN}"


def test_the_live_app_serves_this_document(live: LiveApp) -> None:
    response = requests.get(f"{live.base_url}{API}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json() == DOCUMENT


def test_the_live_app_knows_the_admin(live: LiveApp) -> None:
    """The session the generated calls carry is a real one (else every call would be
    a 401, which the document allows, and the run would prove little)."""
    response = requests.get(
        f"{live.base_url}{API}/session", cookies=live.cookies, headers=live.headers, timeout=30
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["member_id"] == ROLE_MEMBERS["admin"]


# --- Schemathesis --------------------------------------------------------------------

if DOCUMENT is not None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.config.generation.update(
        max_examples=EXAMPLES,
        deterministic=True,
        no_shrink=True,
        database="none",
        with_security_parameters=False,
    )
    # A failure must be reproducible from its report: show every value (the fields
    # named `key` included); the session it would show is a throwaway test one.
    schema.config.output.sanitization.update(enabled=False)

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    def test_the_api_keeps_its_document(case: schemathesis.Case[Any], live: LiveApp) -> None:
        response = case.call_and_validate(
            base_url=live.base_url,
            headers=live.headers,
            cookies=live.cookies,
            checks=CHECKS,
            timeout=30,
        )
        # The document allows 401 and 403 everywhere: make sure they are not ours.
        if case.operation.label != SIGN_OUT:
            assert problem_code(response.content) not in ("sign_in_required", "csrf")
