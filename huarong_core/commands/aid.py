"""Commands of aid cases (帮扶): confidential records of help for members in difficulty.

A case is visible only to the staff it names. Being named is the only key:
`admin` is not named automatically, system actors (the CLI operator, the
scheduler, a relay) can never be named, and the member in difficulty is
never named on their own case.

`GetAidCase` and `ListAidCases` are `Command`s although they change no
case: every read of a case is audit-logged, and a `Query` runs on a
read-only snapshot that cannot write. As commands, the read and its audit
entry commit in one unit of work, so no case content is ever returned
without its audit entry. A refused read raises `AidCaseAccessDenied`, whose
audit entry `CommunityHandle.execute` writes after the rollback.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Page, page_size
from huarong_core.domain.aid import (
    AidAction,
    AidCase,
    AidCategory,
    AidStaff,
    AidStatus,
)

__all__ = [
    "AddAidAction",
    "AidAction",
    "AidCase",
    "AidCaseDetails",
    "AidCategory",
    "AidStaff",
    "AidStatus",
    "ChangeAidStatus",
    "GetAidCase",
    "ListAidCases",
    "NameAidStaff",
    "OpenAidCase",
    "UnnameAidStaff",
]


@attrs.frozen
class AidCaseDetails:
    case: AidCase
    staff: tuple[AidStaff, ...]
    actions: tuple[AidAction, ...]
    """Oldest first."""


@attrs.frozen
class OpenAidCase(Command[AidCaseDetails]):
    """Staff (`open_aid_cases` in any scope) open a case for a member in difficulty.

    The opener is named on it; `staff` names more staff members (each must
    hold `open_aid_cases` somewhere). A system actor is never named, so it
    must name at least one staff member.
    """

    member_id: int
    category: AidCategory
    description: str
    staff: tuple[int, ...] = ()


@attrs.frozen
class AddAidAction(Command[AidAction]):
    """A named staff member records an action taken (on `taken_on`, default today)."""

    case_id: int
    text: str
    taken_on: date | None = None


@attrs.frozen
class ChangeAidStatus(Command[AidCase]):
    """open -> in_progress -> closed (or open -> closed); closed -> open reopens."""

    case_id: int
    status: AidStatus


@attrs.frozen
class NameAidStaff(Command[tuple[AidStaff, ...]]):
    """A named staff member names another staff member; returns the case's staff."""

    case_id: int
    member_id: int


@attrs.frozen
class UnnameAidStaff(Command[tuple[AidStaff, ...]]):
    """A named staff member takes a name off the case (theirs too); one always stays."""

    case_id: int
    member_id: int


@attrs.frozen
class GetAidCase(Command[AidCaseDetails]):
    """The whole case, for the staff named on it; audit-logged (hence a Command)."""

    remembered: ClassVar[bool] = False

    case_id: int


@attrs.frozen
class ListAidCases(Command[Page[AidCase]]):
    """The cases the acting member is named on, newest first; each listed case is
    audit-logged as read. Anyone else gets an empty page: the cases are invisible."""

    remembered: ClassVar[bool] = False

    status: AidStatus | None = None
    member_id: int | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)
