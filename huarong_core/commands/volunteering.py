"""Commands of the volunteer team (爱心志愿队) and the smile wall (笑脸墙).

`member_id=None` on a member-facing command means "the acting member";
naming another member takes `manage_volunteering` (in the task's station
for shifts). Hours are exact decimal text (`"2.5"`), like points units.

A photo reaches `SubmitPhoto` as a `MediaRef`: the caller stores the bytes
in a `huarong_core.media.MediaStore` first (a unit of work does no file
I/O); `huarong_core.media.submit_photo` does both steps for an adapter.
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Query, page_size
from huarong_core.domain.smile_wall import Photo, PhotoStatus, WallPeriod
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.volunteering import (
    Shift,
    ShiftSignup,
    SignupStatus,
    Volunteer,
    VolunteerTask,
)
from huarong_core.media import MediaRef

__all__ = [
    "AddShift",
    "ApprovePhoto",
    "CancelShift",
    "ConfirmHours",
    "CreateVolunteerTask",
    "GetPhoto",
    "GetPhotoLimits",
    "GetShift",
    "GetSmileWall",
    "GetVolunteerHours",
    "GetVolunteerStatus",
    "HoursConfirmation",
    "JoinVolunteerTeam",
    "LeaveVolunteerTeam",
    "ListMemberShifts",
    "ListPhotos",
    "ListShiftSignups",
    "ListShifts",
    "ListVolunteerTasks",
    "ListVolunteers",
    "MemberShift",
    "PhotoLimits",
    "RejectPhoto",
    "RemovePhoto",
    "ShiftDetails",
    "SignUpForShift",
    "SmileWall",
    "SubmitPhoto",
    "UpdateShift",
    "UpdateVolunteerTask",
    "VolunteerHours",
    "VolunteerHoursRow",
    "WithdrawFromShift",
]


# --- the team ------------------------------------------------------------------------


@attrs.frozen
class JoinVolunteerTeam(Command[Volunteer]):
    """A member joins the team; staff (`manage_volunteering`) may add a member by naming them."""

    member_id: int | None = None


@attrs.frozen
class LeaveVolunteerTeam(Command[Volunteer]):
    """Leave the team; sign-ups for shifts that have not started are withdrawn.

    A member who holds the `volunteer` role stays a volunteer until staff
    revoke it, so leaving is refused for them.
    """

    member_id: int | None = None


@attrs.frozen
class GetVolunteerStatus(Query[Volunteer | None]):
    """A member's place on the team (joined, added, or by the `volunteer` role), None
    when they are not on it: one's own, or anyone's for staff (`manage_volunteering`)."""

    member_id: int | None = None


@attrs.frozen
class ListVolunteers(Query[tuple[Volunteer, ...]]):
    """The current team (joined, added, or holding the `volunteer` role), by member id."""


# --- tasks and shifts ----------------------------------------------------------------


@attrs.frozen
class CreateVolunteerTask(Command[VolunteerTask]):
    """Staff create a task; `station` scopes who may run it (its staff, or everyone's)."""

    title: LocalizedText
    description: LocalizedText | None = None
    station: str | None = None
    key: str | None = None


@attrs.frozen
class UpdateVolunteerTask(Command[VolunteerTask]):
    """Change the given fields; an inactive task takes no new sign-ups."""

    task_id: int
    title: LocalizedText | None = None
    description: LocalizedText | None = None
    active: bool | None = None


@attrs.frozen
class ListVolunteerTasks(Query[tuple[VolunteerTask, ...]]):
    station: str | None = None
    include_inactive: bool = False


@attrs.frozen
class AddShift(Command[Shift]):
    """A shift of a task with `slots` places; reminders go to those signed up before it."""

    task_id: int
    starts_at: datetime
    ends_at: datetime
    slots: int


@attrs.frozen
class UpdateShift(Command[Shift]):
    """Move a shift that has not started, or change its slots (never below those taken).
    Everyone signed up is told of a move."""

    shift_id: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    slots: int | None = None


@attrs.frozen
class CancelShift(Command[Shift]):
    shift_id: int
    reason: str = ""


@attrs.frozen
class ShiftDetails:
    shift: Shift
    task: VolunteerTask
    mine: ShiftSignup | None = None
    """The acting member's sign-up, if any."""


@attrs.frozen
class GetShift(Query[ShiftDetails]):
    shift_id: int


@attrs.frozen
class ListShifts(Query[tuple[ShiftDetails, ...]]):
    """Shifts that end after `starts` (default: now) and start before `ends`, soonest first."""

    task_id: int | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    open_only: bool = False
    """Only shifts with a free slot that have not started."""
    include_cancelled: bool = False
    limit: int = attrs.field(default=100, converter=page_size)


@attrs.frozen
class SignUpForShift(Command[ShiftSignup]):
    """A team member takes a slot; refused when full, started, cancelled or clashing
    with another shift of theirs, and when already signed up."""

    shift_id: int
    member_id: int | None = None


@attrs.frozen
class WithdrawFromShift(Command[ShiftSignup]):
    """Give the slot back; refused once the shift has started."""

    shift_id: int
    member_id: int | None = None


@attrs.frozen
class ListShiftSignups(Query[tuple[ShiftSignup, ...]]):
    shift_id: int
    status: SignupStatus | None = SignupStatus.SIGNED_UP


@attrs.frozen
class MemberShift:
    shift: Shift
    task: VolunteerTask
    signup: ShiftSignup


@attrs.frozen
class ListMemberShifts(Query[tuple[MemberShift, ...]]):
    """A member's sign-ups (their own; staff anyone's), soonest first."""

    member_id: int | None = None
    upcoming_only: bool = True


@attrs.frozen
class HoursConfirmation:
    signup: ShiftSignup
    awards: tuple[tuple[str, str, int], ...]
    """(rule, outcome, points) of each points rule the confirmation triggered."""


@attrs.frozen
class ConfirmHours(Command[HoursConfirmation]):
    """Staff confirm a signed-up member's hours once the shift has started: at most the
    shift's length, once per member and shift; a `volunteer.hours_confirmed` points
    trigger with the hours as units."""

    shift_id: int
    member_id: int
    hours: str = attrs.field(converter=str)
    """Exact decimal text, at most two places: `"2.5"`."""


@attrs.frozen
class VolunteerHoursRow:
    member_id: int
    display_name: str
    hours: str
    shifts: int


@attrs.frozen
class VolunteerHours:
    starts_on: date
    ends_on: date
    team_hours: str
    team_shifts: int
    rows: tuple[VolunteerHoursRow, ...]
    """Most hours first; a member who is not staff sees only their own row."""


@attrs.frozen
class GetVolunteerHours(Query[VolunteerHours]):
    """Confirmed hours of shifts starting from `starts_on` to `ends_on` (inclusive, in the
    community's time zone), per member and for the whole team. `member_id` narrows
    the rows to one member (one's own; staff anyone's)."""

    starts_on: date
    ends_on: date
    member_id: int | None = None


# --- the smile wall ------------------------------------------------------------------


@attrs.frozen
class PhotoLimits:
    max_bytes: int
    media_types: tuple[str, ...]
    max_caption: int


@attrs.frozen
class GetPhotoLimits(Query[PhotoLimits]):
    """What an upload must meet (read before storing a file)."""


@attrs.frozen
class SubmitPhoto(Command[Photo]):
    """A member submits a stored photo with a caption; it waits for a moderator."""

    media: MediaRef
    caption: str


@attrs.frozen
class ApprovePhoto(Command[Photo]):
    photo_id: int


@attrs.frozen
class RejectPhoto(Command[Photo]):
    """Refuse a pending photo; the reason is required and the member is told."""

    photo_id: int
    reason: str


@attrs.frozen
class RemovePhoto(Command[Photo]):
    """Take a pending or approved photo away: its owner, or a moderator (who gives a reason)."""

    photo_id: int
    reason: str = ""


@attrs.frozen
class GetPhoto(Query[Photo]):
    """An approved photo is anyone's to see; others only their owner's and moderators'."""

    photo_id: int


@attrs.frozen
class ListPhotos(Query[tuple[Photo, ...]]):
    """Moderators list by status (the pending queue by default); a member lists their own
    by giving their member id."""

    status: PhotoStatus | None = PhotoStatus.PENDING
    member_id: int | None = None
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class SmileWall:
    period: WallPeriod
    starts_at: datetime
    ends_at: datetime
    photos: tuple[Photo, ...]
    in_rotation: int
    """How many approved photos the rotation went through this period."""


@attrs.frozen
class GetSmileWall(Query[SmileWall]):
    """The wall at `at` (default: now): see `huarong_core.domain.smile_wall` for the rotation."""

    at: datetime | None = None
