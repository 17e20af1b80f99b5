"""`huarong serve` with `HUARONG_TELEGRAM_TOKEN` set: the bot, polling or by webhook.

Settings (environment):
- `HUARONG_TELEGRAM_TOKEN`: the bot's token from @BotFather (required; never logged).
- `HUARONG_TELEGRAM_WEBHOOK_URL`: the public HTTPS URL Telegram should POST to;
  unset, the bot long-polls instead.
- `HUARONG_TELEGRAM_LISTEN`: `host:port` the webhook server binds (default
  `127.0.0.1:8443`; put it behind your HTTPS proxy).
- `HUARONG_TELEGRAM_API_URL`: the Bot API root (default Telegram's; a local
  Bot API server, or the test suite's fake).
- `HUARONG_WEB_PUBLIC_URL`: the HTTPS URL where the web portal is reachable
  (`https://community.example.org/`, behind your proxy). When set, the bot makes
  the menu button of every private chat open the portal as a Telegram Mini App
  (`setChatMenuButton`, labelled "社区门户" or "Portal" in the community's
  language) at each start; the portal signs the member in from the Mini App's
  data. Unset, the menu button is left as it is; a URL that is not HTTPS is
  ignored with a warning (Telegram opens only HTTPS pages as Mini Apps).

The webhook's secret is new at every start (random, held in memory only) and
given to Telegram with `setWebhook`, so no stored value can leak it.

Wrong settings stop `huarong serve` before anything connects, every problem named
(`ConfigError`); so does a token the Bot API refuses, or a Bot API that cannot be
reached, at start.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from huarong_core.app import CommunityHandle
from huarong_core.delivery import Sender
from huarong_core.errors import ConfigError, Problem
from huarong_core.inbox import AdapterState, Inbox, InboxWorker
from huarong_core.serve import host_and_port
from huarong_telegram.api import BotApi, NotFound, TelegramError, Unauthorized
from huarong_telegram.bot import PLATFORM, TelegramBot
from huarong_telegram.menu import portal_url_ok, url_ok
from huarong_telegram.pacing import OutboundScheduler
from huarong_telegram.sender import TelegramSender
from huarong_telegram.updates import (
    ALLOWED_UPDATES,
    CONCURRENT_LANES,
    SOURCE,
    Poller,
    update_lanes,
    webhook_app,
)

log = structlog.get_logger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_LISTEN = "127.0.0.1:8443"
SETTINGS = "HUARONG_TELEGRAM_*"


class TelegramService:
    """The bot, its way in (poller or webhook) and its way out (scheduler, sender)."""

    platform = PLATFORM

    def __init__(
        self,
        handle: CommunityHandle,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        webhook_url: str | None = None,
        listen: str = DEFAULT_LISTEN,
        poll_timeout: int = 25,
        publish_menus: bool = True,
        portal_url: str | None = None,
    ) -> None:
        self.handle = handle
        self.api = BotApi(token, base_url=api_url)
        self.outbound = OutboundScheduler(self.api)
        self.bot = TelegramBot(handle, self.api, self.outbound)
        self.inbox = Inbox(handle, SOURCE)
        self.worker = InboxWorker(
            self.inbox,
            self.bot.handle_update,
            lanes=update_lanes,
            concurrency=CONCURRENT_LANES,
        )
        self.webhook_url = webhook_url
        self.listen = listen
        self.poller: Poller | None = None
        self.poll_timeout = poll_timeout
        self.publish = publish_menus
        self.portal_url = portal_url
        """The public HTTPS URL of the web portal for the chats' menu button."""
        self._runner: web.AppRunner | None = None
        self._sender = TelegramSender(self.bot)

    @property
    def sender(self) -> Sender:
        return self._sender

    async def start(self) -> None:
        self.outbound.start()
        try:
            me = await self.bot.prepare()
        except TelegramError as exc:
            await self.outbound.stop()
            await self.api.close()
            raise _unusable(exc) from exc
        log.info("telegram.ready", bot=me.username, mode="webhook" if self.webhook_url else "poll")
        if self.publish:
            try:
                await self.bot.publish_menus()
            except TelegramError as exc:  # menus are a convenience; commands work without
                log.warning("telegram.menus_failed", error=type(exc).__name__)
        if self.portal_url:
            try:
                await self.bot.publish_portal_button(self.portal_url)
            except TelegramError as exc:  # the portal is also reachable by its URL
                log.warning("telegram.menu_button_failed", error=type(exc).__name__)
        await self.worker.start()
        if self.webhook_url:
            secret = secrets.token_urlsafe(32)
            path = urlsplit(self.webhook_url).path or "/"
            app = webhook_app(self.inbox, self.worker, secret, path)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            address = host_and_port(self.listen)
            if address is None:  # built without `create`, which checks it first
                raise ConfigError(file=SETTINGS, problems=(_listen_problem(self.listen),))
            await web.TCPSite(self._runner, *address).start()
            await self.api.set_webhook(
                self.webhook_url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        else:
            # A webhook left from another deployment would make every poll a 409.
            await self.api.delete_webhook()
            self.poller = Poller(
                self.api,
                self.worker,
                AdapterState(self.handle, PLATFORM),
                timeout=self.poll_timeout,
            )
            await self.poller.start()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.worker.stop()
        await self.outbound.stop()
        await self.api.close()


TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}\Z")
"""A bot token as @BotFather gives it: the bot's id, a colon, a secret."""


def _unusable(error: TelegramError) -> ConfigError:
    """The bot cannot start: its token was refused, or the Bot API did not answer.
    (The token is never part of what is said.)"""
    if isinstance(error, Unauthorized | NotFound):
        problem = Problem("HUARONG_TELEGRAM_TOKEN", "chat.telegram.config.token_refused")
    else:
        problem = Problem(
            "HUARONG_TELEGRAM_API_URL",
            "chat.telegram.config.unreachable",
            {"error": f"{type(error).__name__} {error.error_code or ''}".strip()},
        )
    return ConfigError(file=SETTINGS, problems=(problem,))


def _listen_problem(listen: str) -> Problem:
    return Problem("HUARONG_TELEGRAM_LISTEN", "chat.telegram.config.listen", {"value": listen})


def _check(environ: Mapping[str, str], token: str) -> None:
    """Every wrong setting at once, before anything connects."""
    problems: list[Problem] = []
    if not TOKEN.match(token):
        problems.append(Problem("HUARONG_TELEGRAM_TOKEN", "chat.telegram.config.token"))
    api_url = environ.get("HUARONG_TELEGRAM_API_URL") or DEFAULT_API_URL
    if not url_ok(api_url, ("http", "https")):
        problems.append(
            Problem("HUARONG_TELEGRAM_API_URL", "chat.telegram.config.api_url", {"value": api_url})
        )
    webhook = environ.get("HUARONG_TELEGRAM_WEBHOOK_URL") or ""
    # Telegram's own servers deliver over HTTPS only; a local Bot API server
    # (`--local`) may deliver over plain HTTP.
    schemes = ("https",) if api_url == DEFAULT_API_URL else ("http", "https")
    if webhook and not url_ok(webhook, schemes):
        problems.append(
            Problem(
                "HUARONG_TELEGRAM_WEBHOOK_URL",
                "chat.telegram.config.webhook",
                {"value": webhook},
            )
        )
    listen = environ.get("HUARONG_TELEGRAM_LISTEN") or DEFAULT_LISTEN
    if host_and_port(listen) is None:
        problems.append(_listen_problem(listen))
    if problems:
        raise ConfigError(file=SETTINGS, problems=tuple(problems))


async def create(handle: CommunityHandle, environ: Mapping[str, str]) -> TelegramService | None:
    """The `huarong.serve` entry point: a service when a token is configured."""
    token = environ.get("HUARONG_TELEGRAM_TOKEN", "").strip()
    if not token:
        return None
    _check(environ, token)
    portal_url = environ.get("HUARONG_WEB_PUBLIC_URL", "").strip() or None
    if portal_url is not None and not portal_url_ok(portal_url):
        log.warning("telegram.portal_url_not_https", setting="HUARONG_WEB_PUBLIC_URL")
        portal_url = None
    return TelegramService(
        handle,
        token,
        api_url=environ.get("HUARONG_TELEGRAM_API_URL") or DEFAULT_API_URL,
        webhook_url=environ.get("HUARONG_TELEGRAM_WEBHOOK_URL") or None,
        listen=environ.get("HUARONG_TELEGRAM_LISTEN") or DEFAULT_LISTEN,
        portal_url=portal_url,
    )
