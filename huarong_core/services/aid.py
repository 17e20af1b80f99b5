"""Handlers of aid cases (帮扶): confidential records of help for members in difficulty.

Who sees a case: only the staff it names. Being named is the only key, so
`ctx.can` (which lets system actors and admins do anything) never opens a
case; the check is `_require_named`:

- the actor must be a member named on the case, and still hold
  `open_aid_cases` somewhere (staff who lose their staff role lose their
  cases with it, without anyone having to remember to unname them);
- admins are not named automatically: an admin who is not named is refused
  like anyone else;
- system actors (the CLI operator, the config loader, the scheduler, a
  relay) are never named, so they never read a case. The CLI operator may
  open one on behalf of staff (naming them), which discloses nothing;
- the member in difficulty is never named on their own case (naming them,
  or opening a case about oneself, is refused), so they do not see it.

Every answer carrying case content is audit-logged in the same unit of work
(`aid.read` for `GetAidCase` and per case listed; the changes log their own
action). A refusal raises `AidCaseAccessDenied`, whose audit entry
`CommunityHandle.execute` writes after the rollback. Audit entries name the
case (`aid_case:N`) and, when staff are named or unnamed, that staff
member; never the member in difficulty, the need, or an action's text: an
auditor may learn that case #N was read by whom, which is what an access
log is for, but not what the case holds. Outbox events carry the case id
and the named staff to tell, nothing else.
"""

from __future__ import annotations

from huarong_core.commands import (
    AddAidAction,
    AidCaseDetails,
    ChangeAidStatus,
    GetAidCase,
    ListAidCases,
    NameAidStaff,
    OpenAidCase,
    Page,
    UnnameAidStaff,
)
from huarong_core.domain.aid import (
    MAX_ACTION_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    AidAction,
    AidCase,
    AidStaff,
    require_category,
    require_confidential_text,
    require_status,
    require_transition,
)
from huarong_core.domain.roles import Permission, permits
from huarong_core.errors import AidCaseAccessDenied, AlreadyExists, InvalidValue, NotFound
from huarong_core.events import AidCaseUpdated, AidStaffNamed
from huarong_core.services.context import Context
from huarong_core.services.members import get_member
from huarong_core.services.registry import handles

# --- who may see a case --------------------------------------------------------------


def _named_key(ctx: Context) -> int | None:
    """The member whose name opens cases: a member still holding `open_aid_cases`."""
    member_id = ctx.actor.member_id
    if member_id is None or not permits(ctx.grants, Permission.OPEN_AID_CASES, None):
        return None
    return member_id


async def _require_named(ctx: Context, case_id: int, *, lock: bool = False) -> tuple[AidCase, int]:
    """The case and the acting member, who is named on it; anyone else is refused.

    A case that does not exist gets the same refusal: refusals say nothing of
    which cases exist. The refusal is audited by `CommunityHandle.execute`.
    """
    member_id = _named_key(ctx)
    if member_id is None:
        raise AidCaseAccessDenied(case_id=case_id)
    if lock:
        await ctx.repos.conn.lock(f"aid:{ctx.community.id}:{case_id}")
    if not await ctx.repos.aid.is_named(case_id, member_id):
        raise AidCaseAccessDenied(case_id=case_id)
    case = await ctx.repos.aid.get(case_id)
    if case is None:  # named on a case that is not there: impossible with the foreign keys
        raise AidCaseAccessDenied(case_id=case_id)
    return case, member_id


def _target(case_id: int) -> str:
    return f"aid_case:{case_id}"


async def _require_staff_member(ctx: Context, case: AidCase | None, member_id: int) -> None:
    """`member_id` may be named: an active member holding `open_aid_cases` somewhere,
    and not the member in difficulty."""
    member = await get_member(ctx, member_id)
    if case is not None and member_id == case.member_id:
        raise InvalidValue(field="staff", value=f"#{member_id}", reason="aid_own_case")
    grants = await ctx.repos.roles.for_member(member_id)
    if not member.is_active or not permits(grants, Permission.OPEN_AID_CASES, None):
        raise InvalidValue(field="staff", value=f"#{member_id}", reason="not_aid_staff")


async def _tell_others(ctx: Context, case_id: int, *, except_: tuple[int, ...] = ()) -> None:
    """Tell the case's other named staff that it changed (no details)."""
    skip = {*except_, ctx.actor.member_id}
    staff = tuple(
        s.member_id for s in await ctx.repos.aid.staff(case_id) if s.member_id not in skip
    )
    if staff:
        ctx.record(AidCaseUpdated(case_id, staff))


async def _details(ctx: Context, case: AidCase) -> AidCaseDetails:
    staff = await ctx.repos.aid.staff(case.id)
    actions = await ctx.repos.aid.actions(case.id)
    return AidCaseDetails(case, tuple(staff), tuple(actions))


# --- opening and changing a case -----------------------------------------------------------


@handles(OpenAidCase)
async def open_aid_case(ctx: Context, cmd: OpenAidCase) -> AidCaseDetails:
    ctx.require_anywhere(Permission.OPEN_AID_CASES)
    category = require_category(cmd.category)
    description = require_confidential_text(
        "need", cmd.description, max_length=MAX_DESCRIPTION_LENGTH
    )
    member = await get_member(ctx, cmd.member_id)
    opener = ctx.actor.member_id
    if opener == member.id:
        raise InvalidValue(field="staff", value=f"#{opener}", reason="aid_own_case")
    staff = list(dict.fromkeys(cmd.staff))
    if opener is not None and opener in staff:
        staff.remove(opener)
    if opener is None and not staff:
        raise InvalidValue(field="staff", value="-", reason="aid_staff_required")
    for member_id in staff:
        if member_id == member.id:
            raise InvalidValue(field="staff", value=f"#{member_id}", reason="aid_own_case")
        await _require_staff_member(ctx, None, member_id)
    case = await ctx.repos.aid.create(member.id, category, description, ctx.actor.label, ctx.now)
    for member_id in ([] if opener is None else [opener]) + staff:
        await ctx.repos.aid.name(case.id, member_id, ctx.actor.label, ctx.now)
    await ctx.audit("aid.open", _target(case.id))
    for member_id in staff:
        await ctx.audit("aid.staff_named", _target(case.id), staff=member_id)
    if staff:
        ctx.record(AidStaffNamed(case.id, tuple(staff)))
    return await _details(ctx, case)


@handles(AddAidAction)
async def add_aid_action(ctx: Context, cmd: AddAidAction) -> AidAction:
    case, member_id = await _require_named(ctx, cmd.case_id, lock=True)
    text = require_confidential_text("text", cmd.text, max_length=MAX_ACTION_LENGTH)
    today = ctx.community.local(ctx.now).date()
    taken_on = cmd.taken_on or today
    if taken_on > today:
        raise InvalidValue(field="taken_on", value=taken_on.isoformat(), reason="in_the_future")
    action = await ctx.repos.aid.add_action(case.id, taken_on, text, member_id, ctx.now)
    await ctx.repos.aid.touch(case.id, ctx.now)
    await ctx.audit("aid.action_added", _target(case.id), number=action.number)
    await _tell_others(ctx, case.id)
    return action


@handles(ChangeAidStatus)
async def change_aid_status(ctx: Context, cmd: ChangeAidStatus) -> AidCase:
    case, _ = await _require_named(ctx, cmd.case_id, lock=True)
    wanted = require_status(cmd.status)
    require_transition(case.id, case.status, wanted)
    changed = await ctx.repos.aid.set_status(case.id, wanted, ctx.now)
    await ctx.audit("aid.status", _target(case.id), status=wanted.value)
    await _tell_others(ctx, case.id)
    return changed


@handles(NameAidStaff)
async def name_aid_staff(ctx: Context, cmd: NameAidStaff) -> tuple[AidStaff, ...]:
    case, _ = await _require_named(ctx, cmd.case_id, lock=True)
    await _require_staff_member(ctx, case, cmd.member_id)
    if not await ctx.repos.aid.name(case.id, cmd.member_id, ctx.actor.label, ctx.now):
        raise AlreadyExists(entity="aid_staff", ref=f"#{cmd.member_id}")
    await ctx.repos.aid.touch(case.id, ctx.now)
    await ctx.audit("aid.staff_named", _target(case.id), staff=cmd.member_id)
    if cmd.member_id != ctx.actor.member_id:
        ctx.record(AidStaffNamed(case.id, (cmd.member_id,)))
    await _tell_others(ctx, case.id, except_=(cmd.member_id,))
    return tuple(await ctx.repos.aid.staff(case.id))


@handles(UnnameAidStaff)
async def unname_aid_staff(ctx: Context, cmd: UnnameAidStaff) -> tuple[AidStaff, ...]:
    """Anyone named may take a name off, their own included, but never the last one."""
    case, _ = await _require_named(ctx, cmd.case_id, lock=True)
    staff = await ctx.repos.aid.staff(case.id)
    if cmd.member_id not in {s.member_id for s in staff}:
        raise NotFound(entity="aid_staff", ref=f"#{cmd.member_id}")
    if len(staff) == 1:
        raise InvalidValue(field="staff", value=f"#{cmd.member_id}", reason="aid_last_staff")
    await ctx.repos.aid.unname(case.id, cmd.member_id)
    await ctx.repos.aid.touch(case.id, ctx.now)
    await ctx.audit("aid.staff_unnamed", _target(case.id), staff=cmd.member_id)
    await _tell_others(ctx, case.id)
    return tuple(await ctx.repos.aid.staff(case.id))


# --- reading (commands, so that the audit entry commits with the read) ------------------------


@handles(GetAidCase)
async def get_aid_case(ctx: Context, cmd: GetAidCase) -> AidCaseDetails:
    case, _ = await _require_named(ctx, cmd.case_id)
    await ctx.audit("aid.read", _target(case.id))
    return await _details(ctx, case)


@handles(ListAidCases)
async def list_aid_cases(ctx: Context, cmd: ListAidCases) -> Page[AidCase]:
    """Only the cases the actor is named on; for anyone else the list is empty.

    An empty page reveals nothing and reads nothing, so it is not audited;
    every case on the page is (`aid.read`, `via=list`).
    """
    status = None if cmd.status is None else require_status(cmd.status)
    offset = max(0, cmd.offset)
    member_id = _named_key(ctx)
    if member_id is None:
        return Page((), 0, offset, cmd.limit)
    cases, total = await ctx.repos.aid.named_cases(
        member_id, status=status, about=cmd.member_id, offset=offset, limit=cmd.limit
    )
    for case in cases:
        await ctx.audit("aid.read", _target(case.id), via="list")
    return Page(tuple(cases), total, offset, cmd.limit)
