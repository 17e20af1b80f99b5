"""What a deployment decides about the web adapter, in one frozen value."""

from __future__ import annotations

from datetime import timedelta

import attrs
from yarl import URL

__all__ = ["RateLimit", "WebSettings"]


@attrs.frozen
class RateLimit:
    """At most `count` requests per `period` seconds for one key (an IP, a member)."""

    count: int
    period: float

    @property
    def per_second(self) -> float:
        return self.count / self.period


@attrs.frozen
class WebSettings:
    """Defaults fit a building's portal behind a TLS-terminating proxy.

    `telegram_bot_token` enables the Telegram Login Widget and Mini App sign-in
    (both are checked with HMACs keyed by it); `matrix_homeserver` enables
    sign-in with a Matrix OpenID token, checked with that homeserver.
    """

    telegram_bot_token: str | None = attrs.field(default=None, repr=False)
    telegram_bot_username: str | None = None
    matrix_homeserver: str | None = None
    matrix_server_name: str | None = None
    """The server name of `matrix_homeserver`'s users (`@someone:<server name>`): only
    they may sign in with it, since a homeserver vouches for its own users only.
    `None`: the homeserver URL's host (set it when the homeserver is delegated, as
    `https://matrix.example.org` serving `@someone:example.org`)."""
    secure_cookies: bool | None = None
    """`None`: Secure when the request came over HTTPS (directly or as the proxy's
    `X-Forwarded-Proto` says, if `trust_forwarded`)."""
    trust_forwarded: bool = False
    """Believe `X-Forwarded-For`/`-Proto` (only behind a proxy that sets them)."""
    session_lifetime: timedelta = timedelta(days=14)
    telegram_auth_max_age: timedelta = timedelta(days=1)
    """How old a Login Widget `auth_date` or Mini App `initData` may be."""
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    sign_in_limit_per_ip: RateLimit = RateLimit(10, 60.0)
    sign_in_limit_per_login: RateLimit = RateLimit(5, 300.0)
    write_limit_per_member: RateLimit = RateLimit(120, 60.0)
    write_limit_per_ip: RateLimit = RateLimit(600, 60.0)
    portal: bool = True
    """Serve the member portal and staff console pages beside the API."""
    mini_app: bool = True
    """Let Telegram's web client frame the portal (CSP `frame-ancestors`)."""

    @property
    def matrix_server(self) -> str | None:
        """The Matrix server name whose users may sign in (see `matrix_server_name`)."""
        if self.matrix_server_name:
            return self.matrix_server_name
        if not self.matrix_homeserver:
            return None
        return URL(self.matrix_homeserver).host
