"""The browser tests' world: the demo building served for real, and Chromium to use it.

The portal runs on a real aiohttp `AppRunner`/`TCPSite` on 127.0.0.1 (a free
port) in the test's own event loop, so Playwright's async API, the server and
the core share one loop, and a test can prepare state or move the clock
through the core between two clicks. The browser is Debian's Chromium
(`HUARONG_CHROMIUM`, default `/usr/bin/chromium`), never a downloaded one.

People act like people: a member gets a sign-in code the way the bot's
`/signin` makes one (`CreateSignInCode` as a system actor) and types it into
`/sign-in`; buttons and fields are found by their labels, read from the
same catalogs the pages use (`Lang.t`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, Playwright, ViewportSize, expect

from huarong_core import Actor, CommunityHandle, Huarong
from huarong_core.commands import CreateSignInCode
from huarong_core.i18n import translate
from huarong_core.testing import FrozenClock
from huarong_web.app import make_app
from huarong_web.portal.pages import LANG_COOKIE
from huarong_web.settings import WebSettings

SYSTEM = Actor.system("browser-tests")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_MS = 10_000
"""How long to wait for an element or a URL before failing (no fixed sleeps)."""
PHONE = ViewportSize(width=375, height=740)
DESKTOP = ViewportSize(width=1280, height=900)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

ADMIN = 1  # 王建华 (secretary)
STATION_STAFF = 2  # 李敏, staff of party_masses
SUNLI = 7  # 孙丽, key floating_member: a member with history
MEMBER = 10  # 郑晓明: no role at all


def chromium_path() -> str | None:
    """Chromium to drive, or `None` when this machine has none."""
    path = os.environ.get("HUARONG_CHROMIUM") or DEFAULT_CHROMIUM
    return shutil.which(path)


async def launch(playwright: Playwright, executable: str) -> Browser:
    return await playwright.chromium.launch(
        executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
    )


@attrs.frozen
class Lang:
    """The catalogs in one language: `t("portal.sign_in.submit")`."""

    locale: str

    def t(self, key: str, /, **params: Any) -> str:
        return translate(key, self.locale, **params)

    @property
    def tag(self) -> str:
        """`en` / `zh_CN`, as in screenshot names."""
        return self.locale


EN = Lang("en")
ZH = Lang("zh_CN")


@attrs.define
class Portal:
    """The demo building, served at `base`."""

    huarong: Huarong
    handle: CommunityHandle
    base: str
    browser: Browser
    contexts: list[BrowserContext] = attrs.field(factory=list)

    @property
    def clock(self) -> FrozenClock:
        clock = self.huarong.clock
        assert isinstance(clock, FrozenClock)
        return clock

    def url(self, path: str) -> str:
        return self.base + path

    def url_pattern(self, path: str) -> re.Pattern[str]:
        """`path` with any query string, for `wait_for_url`."""
        return re.compile(re.escape(self.base + path) + r"(\?.*)?$")

    def done_pattern(self, path: str, done: str) -> re.Pattern[str]:
        """`path` after a form succeeded with `?done=<done>` (post/redirect/get)."""
        return re.compile(
            re.escape(self.base + path) + r"\?(.*&)?done=" + re.escape(done) + "(&|$)"
        )

    async def person(
        self, lang: Lang = EN, *, phone: bool = False, javascript: bool = True
    ) -> Page:
        """A new browser (own cookies and storage) with the portal's language chosen; on
        a phone, a 375 px wide touch screen."""
        context = await self.browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            has_touch=phone,
            is_mobile=phone,
            device_scale_factor=2 if phone else 1,
            locale=lang.locale.replace("_", "-"),
            java_script_enabled=javascript,
        )
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies([{"name": LANG_COOKIE, "value": lang.locale, "url": self.base}])
        self.contexts.append(context)
        return await context.new_page()

    async def sign_in_code(self, member_id: int) -> str:
        """A code as the bot's /signin gives one to `member_id`."""
        made = await self.handle.execute(CreateSignInCode(member_id), actor=SYSTEM)
        return made.code

    async def sign_in(self, page: Page, member_id: int, lang: Lang, path: str = "/") -> None:
        """Open `path`, be sent to sign in, type a fresh code, land back on `path`."""
        await page.goto(self.url(path))
        await page.wait_for_url(self.url_pattern("/sign-in"))
        await self.type_code(page, member_id, lang)
        await page.wait_for_url(self.url_pattern(path))

    async def type_code(self, page: Page, member_id: int, lang: Lang) -> None:
        """On the sign-in page: type a fresh code of `member_id` and send it."""
        code = await self.sign_in_code(member_id)
        section = page.get_by_role("region", name=lang.t("portal.sign_in.code_title"))
        await section.get_by_label(lang.t("portal.sign_in.code"), exact=True).fill(code)
        await section.get_by_role(
            "button", name=lang.t("portal.sign_in.submit"), exact=True
        ).click()

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@asynccontextmanager
async def serve_portal(
    template: Path, tmp_path: Path, browser: Browser, settings: WebSettings | None = None
) -> AsyncIterator[Portal]:
    """A copy of the seeded demo building, served on 127.0.0.1:<free port>."""
    copy = tmp_path / "browser.db"
    shutil.copyfile(template, copy)
    async with Huarong(f"sqlite:///{copy}", clock=FrozenClock()) as huarong:
        handle = await huarong.community()
        app = make_app(handle, settings or WebSettings(portal=True))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        portal = Portal(huarong, handle, f"http://{host}:{port}", browser)
        try:
            yield portal
        finally:
            await portal.close()
            await runner.cleanup()


async def screenshot(page: Page, name: str, lang: Lang, *, phone: bool = False) -> Path:
    """The whole page as `artifacts/screenshots/<name>-<lang>[-phone].png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{lang.tag}{'-phone' if phone else ''}.png"
    await expect(page.locator("main")).to_be_visible()
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path
