"""`huarong serve`: the web API (and portal) on a local address.

It runs unless told not to, since every building wants its portal. Settings
(environment):
- `HUARONG_WEB_LISTEN`: `host:port` to bind (default `127.0.0.1:8080`; put a
  TLS-terminating proxy in front for anything but a laptop). `off` disables it.
- `HUARONG_WEB_TRUST_FORWARDED=1`: behind a proxy that sets `X-Forwarded-For`
  and `X-Forwarded-Proto` (client addresses for rate limits, Secure cookies).
- `HUARONG_WEB_SECURE_COOKIES=1|0`: force the cookies' Secure flag on or off
  (default: on when the request came over HTTPS).
- `HUARONG_TELEGRAM_TOKEN` (shared with the bot): enables the Telegram Login
  Widget and Mini App sign-in; `HUARONG_TELEGRAM_BOT_USERNAME` names the bot
  for the widget.
- `HUARONG_MATRIX_HOMESERVER` (shared with the bot): enables sign-in with a
  Matrix OpenID token checked by that homeserver; `HUARONG_MATRIX_SERVER_NAME`
  names its users' server when it differs from the homeserver's host
  (`@you:example.org` served by `matrix.example.org`).
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aiohttp import web

from huarong_core.app import CommunityHandle
from huarong_core.delivery import Sender
from huarong_core.errors import ConfigError, Problem
from huarong_core.serve import host_and_port
from huarong_web.app import make_app
from huarong_web.settings import WebSettings

__all__ = ["DEFAULT_LISTEN", "WebService", "create", "settings_from_env"]

log = structlog.get_logger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8080"
PLATFORM = "web"


class WebService:
    """The application served on `listen` until stopped."""

    platform = PLATFORM

    def __init__(
        self, handle: CommunityHandle, settings: WebSettings, listen: str = DEFAULT_LISTEN
    ) -> None:
        self.handle = handle
        self.settings = settings
        self.host, self.port = split_listen(listen)
        self._runner: web.AppRunner | None = None

    @property
    def sender(self) -> Sender | None:
        """The web reaches nobody on its own: people read their news when they visit."""
        return None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._runner = web.AppRunner(make_app(self.handle, self.settings), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("web.listening", url=self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def split_listen(listen: str) -> tuple[str, int]:
    address = host_and_port(listen)
    if address is None:
        raise ConfigError(
            file="HUARONG_WEB_LISTEN",
            problems=(Problem("HUARONG_WEB_LISTEN", "web.config.listen", {"value": listen}),),
        )
    return address


def _flag(environ: Mapping[str, str], name: str) -> bool | None:
    value = environ.get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


def settings_from_env(environ: Mapping[str, str]) -> WebSettings:
    return WebSettings(
        telegram_bot_token=environ.get("HUARONG_TELEGRAM_TOKEN", "").strip() or None,
        telegram_bot_username=environ.get("HUARONG_TELEGRAM_BOT_USERNAME", "").strip() or None,
        matrix_homeserver=environ.get("HUARONG_MATRIX_HOMESERVER", "").strip() or None,
        matrix_server_name=environ.get("HUARONG_MATRIX_SERVER_NAME", "").strip() or None,
        secure_cookies=_flag(environ, "HUARONG_WEB_SECURE_COOKIES"),
        trust_forwarded=bool(_flag(environ, "HUARONG_WEB_TRUST_FORWARDED")),
    )


async def create(handle: CommunityHandle, environ: Mapping[str, str]) -> WebService | None:
    """The `huarong.serve` entry point: on by default, `HUARONG_WEB_LISTEN=off` to skip."""
    listen = environ.get("HUARONG_WEB_LISTEN", "").strip() or DEFAULT_LISTEN
    if listen.lower() in ("off", "0", "no", "false"):
        return None
    return WebService(handle, settings_from_env(environ), listen)
