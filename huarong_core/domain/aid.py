"""Aid cases (帮扶): confidential records of help for members in difficulty.

A case says who needs what (a category and a description), which actions
were taken and when, and where it stands. It is visible only to the staff
it names: no role, not even `admin`, sees a case it is not named on, and
the member in difficulty is never named on their own case. The rules about
who may see a case live in `services/aid.py`; this module holds the values
and the status workflow.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime

import attrs

from huarong_core.domain.validation import BIDI_CONTROLS
from huarong_core.errors import InvalidTransition, InvalidValue

MAX_DESCRIPTION_LENGTH = 4000
MAX_ACTION_LENGTH = 4000


class AidCategory(enum.StrEnum):
    """What kind of difficulty: the need's category."""

    ILLNESS = "illness"
    HARDSHIP = "hardship"
    FAMILY = "family"
    WORK = "work"
    OTHER = "other"


class AidStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


TRANSITIONS: dict[AidStatus, frozenset[AidStatus]] = {
    AidStatus.OPEN: frozenset({AidStatus.IN_PROGRESS, AidStatus.CLOSED}),
    AidStatus.IN_PROGRESS: frozenset({AidStatus.CLOSED}),
    # Reopening starts over at `open`; the staff then take it in hand again.
    AidStatus.CLOSED: frozenset({AidStatus.OPEN}),
}
"""open -> in_progress -> closed; a case may close straight from open (help was not
needed after all), and a closed case may be reopened."""


def require_transition(case_id: int, current: AidStatus, wanted: AidStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(
            entity="aid_case", ref=f"#{case_id}", state=current.value, wanted=wanted.value
        )


def require_category(value: str) -> AidCategory:
    try:
        return AidCategory(value)
    except ValueError:
        raise InvalidValue(
            field="category", value=str(value)[:20], reason="unknown_aid_category"
        ) from None


def require_status(value: str) -> AidStatus:
    try:
        return AidStatus(value)
    except ValueError:
        raise InvalidValue(
            field="status", value=str(value)[:20], reason="unknown_aid_status"
        ) from None


def require_confidential_text(field: str, value: str, *, max_length: int) -> str:
    """Free text of a case: trimmed, not empty, bounded, no control characters.

    A refusal never echoes the text (only its length): refusals are stored
    with a redelivered input's outcome and shown in replies, and this text
    is confidential.
    """
    text = value.strip()
    if not text:
        raise InvalidValue(field=field, value="", reason="empty")
    if len(text) > max_length:
        raise InvalidValue(field=field, value=str(len(text)), reason="too_long")
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r") or ch in BIDI_CONTROLS
        for ch in text
    ):
        raise InvalidValue(field=field, value=str(len(text)), reason="control_characters")
    return text


@attrs.frozen
class AidCase:
    id: int
    member_id: int
    """The member in difficulty."""
    category: AidCategory
    description: str
    status: AidStatus
    opened_at: datetime
    opened_by: str
    """The opener's actor label (`member:3:王芳`, or `system:cli`)."""
    updated_at: datetime
    closed_at: datetime | None = None


@attrs.frozen
class AidStaff:
    """A staff member named on a case: the only key to reading it."""

    member_id: int
    named_at: datetime
    named_by: str


@attrs.frozen
class AidAction:
    """Something done for the member: when it happened, by whom, what."""

    case_id: int
    number: int
    """1, 2, ... within the case."""
    taken_on: date
    text: str
    by_member: int
    recorded_at: datetime
