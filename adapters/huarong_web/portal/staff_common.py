"""What the staff console's pages share: the gate, refusals as pages, names, SLA states.

The console is for people who hold some staff grant (the navigation shows it
to them only, `pages.is_staff`); what each of them may see and do is the
core's decision, page by page and action by action. A refusal by the core
(`PermissionDenied`) becomes a friendly 403 page inside the console rather
than an error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from aiohttp import web

from huarong_core import CommunityHandle
from huarong_core.commands import GetMember, ListMembers
from huarong_core.domain.services import (
    DONE_STATES,
    OPEN_STATES,
    ServiceRequest,
    sla_warning_at,
)
from huarong_core.errors import HuarongError, PermissionDenied
from huarong_web.keys import HANDLE, PRINCIPAL, SETTINGS
from huarong_web.portal.pages import (
    FormErrors,
    Handler,
    Texts,
    is_staff,
    page_locale,
    render,
    run,
    signed_in,
)

__all__ = [
    "ID",
    "Sla",
    "author_name",
    "member_names",
    "notice",
    "origin",
    "rename",
    "staff_page",
    "texts",
]

ID = r"\d{1,12}"
"""A number in a page's path (longer is no id of ours: the page is not found)."""
NAMES_ONE_BY_ONE = 40
"""Up to this many names are looked up one by one; more, by reading the member list."""


def texts(request: web.Request) -> Texts:
    """The reader's `t`, for text made in a handler (chart labels)."""
    return Texts(page_locale(request), request.config_dict[HANDLE])


def now(request: web.Request) -> datetime:
    handle: CommunityHandle = request.config_dict[HANDLE]
    return handle.now()


async def refused(request: web.Request, error: HuarongError | None = None) -> web.Response:
    """The console's refusal: a page saying this part is not open to the reader."""
    t = texts(request)
    return await render(
        request,
        "staff/refused.html",
        section="staff",
        title=t("portal.staff.refused.title"),
        status=403,
        because=t.error(error) if error is not None else "",
    )


def staff_page(handler: Handler) -> Handler:
    """A console page: signed in, some staff grant, and the core's refusals as a 403 page."""

    @functools.wraps(handler)
    async def page(request: web.Request) -> web.StreamResponse:
        signed_in(request)
        if not await is_staff(request):
            return await refused(request)
        try:
            return await handler(request)
        except PermissionDenied as exc:
            return await refused(request, exc)

    return page


def notice(request: web.Request, known: Collection[str], **params: Any) -> str:
    """The success line after a post/redirect/get (`?done=<what>`), if `what` is known."""
    done = request.query.get("done", "")
    if done not in known:
        return ""
    return texts(request)(f"portal.staff.done.{done}", **params)


def rename(error: FormErrors, fields: Mapping[str, str]) -> dict[str, str]:
    """The core's field names as the form's (`comment` is the form's `note`)."""
    return {fields.get(name, name): message for name, message in error.messages.items()}


def origin(request: web.Request) -> str:
    """`https://host` as the reader's browser sees it (behind a trusted proxy too), for
    links that leave the page (a QR code)."""
    settings = request.config_dict[SETTINGS]
    scheme = request.scheme
    host = request.host
    if settings.trust_forwarded:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        scheme = proto or scheme
        host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or host
    if request.secure:
        scheme = "https"
    return f"{scheme}://{host}"


async def member_names(request: web.Request, ids: Iterable[int]) -> dict[int, str]:
    """Display names of members by id; `#id` for one the reader may not look up."""
    wanted = sorted(set(ids))
    names = {member_id: f"#{member_id}" for member_id in wanted}
    if not wanted:
        return names
    if len(wanted) > NAMES_ONE_BY_ONE:
        offset = 0
        try:
            while True:
                page = await run(request, ListMembers(offset=offset, limit=500))
                for member in page.items:
                    if member.id in names:
                        names[member.id] = member.display_name
                offset += len(page.items)
                if not page.has_more or not page.items:
                    return names
        except HuarongError:
            return names

    async def one(member_id: int) -> None:
        try:
            profile = await run(request, GetMember(member_id))
        except HuarongError:
            return
        names[member_id] = profile.member.display_name

    await asyncio.gather(*(one(member_id) for member_id in wanted))
    return names


def author_name(label: str, t: Texts) -> str:
    """An actor's label (`member:7:王芳`, `system:scheduler`) as a reader would say it."""
    kind, _, rest = label.partition(":")
    if kind == "member":
        _, _, name = rest.partition(":")
        return name or label
    if kind == "system":
        return t("portal.staff.system_part", part=rest) if rest else t("portal.staff.system")
    return label


def me(request: web.Request) -> int | None:
    member_id: int | None = request[PRINCIPAL].member_id
    return member_id


@attrs.frozen
class Sla:
    """Where a request stands against its promise, for a tag: kind, tone, the due time.

    Kinds: `on_time`, `due_soon` (past the warning share of the target),
    `overdue`, `escalated` (overdue and the station's lead was told), and for
    finished work `met` / `missed`; `none` once cancelled, rejected or closed
    without a resolution.
    """

    kind: str
    tone: str
    due_at: datetime

    @classmethod
    def of(cls, request: ServiceRequest, at: datetime) -> Sla:
        if request.state in OPEN_STATES:
            if request.sla_breached_at is not None:
                return cls("escalated", "bad", request.due_at)
            if at > request.due_at:
                return cls("overdue", "bad", request.due_at)
            if at >= sla_warning_at(request.submitted_at, request.sla_hours):
                return cls("due_soon", "warn", request.due_at)
            return cls("on_time", "ok", request.due_at)
        if request.state in DONE_STATES and request.met_sla is not None:
            if request.met_sla:
                return cls("met", "ok", request.due_at)
            return cls("missed", "warn", request.due_at)
        return cls("none", "", request.due_at)

    @property
    def urgency(self) -> int:
        """Sort key: the most urgent first."""
        order = ("escalated", "overdue", "due_soon", "on_time")
        return order.index(self.kind) if self.kind in order else len(order)
