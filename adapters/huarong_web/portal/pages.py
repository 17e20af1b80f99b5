"""What every portal page shares: templates, the reader's language, navigation, forms.

Pages are rendered on the server with jinja2 (autoescaped) from the same core
commands the API and the bots use; the core authorizes, a page only shows.
A page handler returns `render(request, "area/page.html", ...)`; forms post
back with two hidden fields that `read_form` checks:

- `csrf_token`, the session's (a form from another site cannot carry it);
- `form_key`, drawn when the form was shown: it becomes the core's delivery
  id, so a double click or a resubmission after Back changes nothing twice
  and shows the first answer.

A refused command comes back as `FormErrors` (message by field, in the
reader's language) and the page is shown again with what was typed.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import attrs
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from huarong_core import Actor, CommunityHandle, Delivery
from huarong_core.commands import Command
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import HuarongError, InvalidValue
from huarong_core.i18n import (
    SUPPORTED_LOCALES,
    has_key,
    normalize_locale,
    render_error,
    translate,
)
from huarong_web.auth import Principal, csrf_ok
from huarong_web.keys import HANDLE, PRINCIPAL, SETTINGS
from huarong_web.problems import negotiate_locale

__all__ = [
    "LANG_COOKIE",
    "FormErrors",
    "NavItem",
    "PortalRoute",
    "form_errors",
    "page_locale",
    "read_form",
    "render",
    "run",
    "signed_in",
]

R = TypeVar("R")
LANG_COOKIE = "huarong_lang"
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
ENV: web.AppKey[jinja2.Environment] = web.AppKey("huarong.portal.templates")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class PortalRoute:
    method: str
    path: str
    handler: Handler = attrs.field(repr=False)
    name: str


@attrs.frozen
class NavItem:
    key: str
    """Catalog key of its label (`portal.nav.<key>`) and the page's section."""
    href: str
    staff: bool = False


MEMBER_NAV: tuple[NavItem, ...] = (
    NavItem("home", "/"),
    NavItem("calendar", "/calendar"),
    NavItem("clubs", "/clubs"),
    NavItem("points", "/points"),
    NavItem("shop", "/shop"),
    NavItem("library", "/library"),
    NavItem("services", "/services"),
    NavItem("volunteering", "/volunteering"),
    NavItem("smiles", "/smiles"),
    NavItem("news", "/news"),
    NavItem("profile", "/profile"),
)
STAFF_NAV: tuple[NavItem, ...] = (NavItem("staff", "/staff", staff=True),)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def page_locale(request: web.Request) -> str:
    """The reader's language: a choice made on the page, else their profile's, else
    the browser's, else the community's."""
    chosen = normalize_locale(request.cookies.get(LANG_COOKIE, ""))
    if chosen is not None:
        return chosen
    principal: Principal = request[PRINCIPAL]
    handle: CommunityHandle = request.config_dict[HANDLE]
    fallback = principal.locale or handle.community.locale
    if principal.locale in SUPPORTED_LOCALES:
        return principal.locale
    return negotiate_locale(request.headers.get("Accept-Language"), fallback)


class Texts:
    """`t("portal.home.title", name=...)` in templates and handlers, in one language."""

    def __init__(self, locale: str, handle: CommunityHandle) -> None:
        self.locale = locale
        self._tz = handle.community.tz

    def __call__(self, key: str, /, **params: Any) -> str:
        return translate(key, self.locale, **params)

    def has(self, key: str) -> bool:
        return has_key(key, self.locale)

    def text(self, value: LocalizedText | str | None) -> str:
        """A community's own text (a club's name) in the reader's language."""
        if value is None:
            return ""
        if isinstance(value, LocalizedText):
            return value.get(self.locale)
        return value

    def when(self, value: datetime | date | None, style: str = "datetime") -> str:
        """A time in the community's zone, written the reader's way."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            local = value.astimezone(self._tz)
            if style == "date":
                return local.strftime("%Y-%m-%d")
            if style == "time":
                return local.strftime("%H:%M")
            return local.strftime("%Y-%m-%d %H:%M")
        return value.isoformat()

    def error(self, error: HuarongError) -> str:
        return render_error(error, self.locale)


async def render(
    request: web.Request,
    template: str,
    *,
    section: str = "",
    title: str = "",
    status: int = 200,
    **context: Any,
) -> web.Response:
    env: jinja2.Environment = request.app[ENV]
    handle: CommunityHandle = request.config_dict[HANDLE]
    principal: Principal = request[PRINCIPAL]
    locale = page_locale(request)
    t = Texts(locale, handle)
    staff = principal.signed_in and await is_staff(request)
    base = base_of(request)
    body = env.get_template(template).render(
        t=t,
        locale=locale,
        lang=locale.replace("_", "-"),
        principal=principal,
        community=t.text(handle.community.name),
        nav=[*MEMBER_NAV, *(STAFF_NAV if staff else ())],
        section=section,
        title=title,
        csrf=principal.csrf or "",
        form_key=secrets.token_urlsafe(16),
        path=_within(request, base),
        base=base,
        mini_app=bool(request.config_dict[SETTINGS].telegram_bot_token),
        **context,
    )
    # Pages are personal, and a page kept by the browser would carry a spent form key.
    headers = {"Cache-Control": "no-store"}
    return web.Response(text=body, content_type="text/html", status=status, headers=headers)


def _within(request: web.Request, base: str) -> str:
    """This page's path and query inside the portal (for `next` and the language switch)."""
    here = request.path_qs
    if base and here.startswith(base):
        here = here[len(base) :] or "/"
    return here


def base_of(request: web.Request) -> str:
    """Where the portal is mounted (`/community` in a host application), for links."""
    apps = request.match_info.apps
    prefix = ""
    for parent, child in itertools.pairwise(apps):
        for resource in parent.router.resources():
            info = resource.get_info()
            if info.get("app") is child:
                prefix += str(info.get("prefix", ""))
                break
    return prefix


async def is_staff(request: web.Request) -> bool:
    """Whether to show the staff console in the navigation (the core still checks each
    action): any grant beyond plain membership."""
    from huarong_core.commands import ListRoleGrants

    cached = request.get(_STAFF)
    if isinstance(cached, bool):
        return cached
    principal: Principal = request[PRINCIPAL]
    handle: CommunityHandle = request.config_dict[HANDLE]
    actor = principal.actor
    found = False
    if actor is not None and principal.member_id is not None:
        try:
            grants = await handle.execute(
                ListRoleGrants(member_id=principal.member_id), actor=actor
            )
        except HuarongError:
            grants = ()
        found = any(g.role.value not in ("member", "guest", "volunteer") for g in grants)
    request[_STAFF] = found
    return found


_STAFF: web.RequestKey[bool] = web.RequestKey("huarong.portal.staff")


def signed_in(request: web.Request) -> Actor:
    """The reader's actor; a reader who is not signed in is sent to the sign-in page
    (and back here afterwards)."""
    principal: Principal = request[PRINCIPAL]
    actor = principal.actor
    if actor is None or principal.kind != "session":
        target = request.path_qs if request.method == "GET" else _page_of_form(request)
        base = base_of(request)
        if base and target.startswith(base):
            target = target[len(base) :] or "/"  # `next` is within the portal
        raise web.HTTPSeeOther(f"{base_of(request)}/sign-in?next={quote(target, safe='')}")
    return actor


async def error_page(request: web.Request, error: Any) -> web.Response:
    """A refusal as a page: the status, what happened in the reader's language, and the
    way home (an API client gets a problem document instead)."""
    from huarong_web.problems import WebProblem, status_for

    locale = page_locale(request)
    if isinstance(error, WebProblem):
        status = error.status
        detail = translate(f"web.problem.{error.code}", locale, **error.params)
    else:
        status = status_for(error)
        detail = render_error(error, locale)
    if status >= 500:
        detail = translate("web.problem.internal", locale)
    return await render(
        request,
        "error.html",
        title=translate(f"web.status.{status}", locale),
        status=status,
        detail=detail,
    )


def _page_of_form(request: web.Request) -> str:
    """Where a form was posted from (its page, not its action), for after signing in."""
    from yarl import URL

    referer = request.headers.get("Referer", "")
    try:
        url = URL(referer)
    except ValueError:
        return request.path
    if url.raw_authority == request.host and url.path.startswith("/"):
        return url.path_qs
    return request.path


@attrs.frozen
class FormErrors(Exception):
    """What to show beside the fields (`""` for the form as a whole)."""

    messages: Mapping[str, str]


def form_errors(error: HuarongError, locale: str) -> FormErrors:
    if isinstance(error, InvalidValue):
        reason = translate(f"reason.{error.reason}", locale)
        return FormErrors({error.field: reason, "": render_error(error, locale)})
    return FormErrors({"": render_error(error, locale)})


async def read_form(request: web.Request) -> tuple[MultiDictProxy[Any], str]:
    """The posted fields and the form's key, once the CSRF token is checked."""
    signed_in(request)
    form = await request.post()
    principal: Principal = request[PRINCIPAL]
    token = form.get("csrf_token")
    if not csrf_ok(principal, request, token if isinstance(token, str) else None):
        raise web.HTTPForbidden(text=translate("web.problem.csrf", page_locale(request)))
    key = form.get("form_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 64 or not key.isascii():
        key = secrets.token_hex(8)  # an old or forged form: it runs, but is not replayed
    return form, key


async def run(request: web.Request, command: Command[R], form_key: str | None = None) -> R:
    """Run `command` as the reader; with a form key, a resubmission replays the first
    answer. A refusal becomes `FormErrors` in the reader's language."""
    actor = signed_in(request)
    handle: CommunityHandle = request.config_dict[HANDLE]
    principal: Principal = request[PRINCIPAL]
    # The key names one showing of one form: the path keeps two forms of a page apart.
    delivery = (
        None
        if form_key is None
        else Delivery("web-form", f"{principal.key}:{request.path}:{form_key}")
    )
    try:
        return await handle.execute(command, actor=actor, delivery=delivery)
    except HuarongError as exc:
        if form_key is None:
            raise
        raise form_errors(exc, page_locale(request)) from exc


def ascii_int(text: str | None, max_digits: int = 12) -> int | None:
    """A number as typed or linked: ASCII digits only (`³` is a digit to `str.isdigit`
    and then breaks `int`), short enough for any column; else `None`."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the path; anything else is a page that does not exist."""
    found = ascii_int(request.match_info[name])
    if found is None:
        raise web.HTTPNotFound()
    return found


def done_notice(request: web.Request, prefix: str) -> str:
    """The notice for `?done=<what>` after a form (post/redirect/get): `<prefix>.<what>`."""
    done = request.query.get("done", "")
    key = f"{prefix}.{done}"
    locale = page_locale(request)
    if done.isidentifier() and has_key(key, locale):
        return translate(key, locale)
    return ""


def member_id_of(request: web.Request) -> int:
    """The signed-in reader's member id (a session always belongs to a member)."""
    member_id = request[PRINCIPAL].member_id
    if member_id is None:
        raise web.HTTPNotFound()
    return int(member_id)


def text_field(form: Mapping[str, Any], name: str, limit: int = 4000) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()[:limit]


def redirect(request: web.Request, path: str) -> web.HTTPSeeOther:
    """Post/redirect/get: after a change, show the page again by GET."""
    return web.HTTPSeeOther(f"{base_of(request)}{path}")


def choices(values: Sequence[str]) -> list[str]:
    return list(values)
