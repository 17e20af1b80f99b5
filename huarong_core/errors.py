"""Every error the core raises, under one root.

An error carries a catalog key and the data that fills it, never a finished
sentence: each adapter renders it in the reader's language (a chat reply,
an RFC 9457 problem document, a CLI line). Subclasses are attrs classes so
their data can be stored (a redelivered request replays its error) and
compared in tests.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import attrs

_REGISTRY: dict[str, type[HuarongError]] = {}


class HuarongError(Exception):
    """Root of every error the core raises on purpose.

    `key` names the catalog message; `translated` lists the parameters whose
    values are themselves catalog keys (an entity kind, a reason), so the
    whole sentence comes out in one language.
    """

    key: ClassVar[str] = "error.internal"
    translated: ClassVar[dict[str, str]] = {}
    exit_code: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def params(self) -> dict[str, Any]:
        if not attrs.has(type(self)):
            return {}
        return attrs.asdict(cast("attrs.AttrsInstance", self), recurse=True)

    def __str__(self) -> str:
        from huarong_core.i18n import render_error

        return render_error(self, "en")


def error_class(name: str) -> type[HuarongError] | None:
    """Find an error class by name, to rebuild a stored (replayed) error."""
    return _REGISTRY.get(name)


# --- input ---------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class InvalidValue(HuarongError):
    """A value broke a rule; `reason` is a catalog key under `reason.`."""

    key = "error.invalid_value"
    translated: ClassVar[dict[str, str]] = {"field": "field", "reason": "reason"}

    field: str
    value: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class NotFound(HuarongError):
    key = "error.not_found"
    translated: ClassVar[dict[str, str]] = {"entity": "entity"}

    entity: str
    ref: str


@attrs.define(auto_exc=True, eq=False)
class AlreadyExists(HuarongError):
    key = "error.already_exists"
    translated: ClassVar[dict[str, str]] = {"entity": "entity"}

    entity: str
    ref: str


@attrs.define(auto_exc=True, eq=False)
class DuplicateIdentity(HuarongError):
    """One platform account can belong to one member of a community only."""

    key = "error.duplicate_identity"

    platform: str
    external_id: str
    member_id: int


@attrs.define(auto_exc=True, eq=False)
class PermissionDenied(HuarongError):
    key = "error.permission_denied"
    translated: ClassVar[dict[str, str]] = {"permission": "permission"}
    exit_code = 4

    permission: str
    scope: str


@attrs.define(auto_exc=True, eq=False)
class MemberInactive(HuarongError):
    key = "error.member_inactive"
    translated: ClassVar[dict[str, str]] = {"status": "status"}

    member_id: int
    status: str


@attrs.define(auto_exc=True, eq=False)
class CommunityRequired(HuarongError):
    """The database hosts several communities and none was named."""

    key = "error.community_required"

    choices: str


# --- configuration and imports ---------------------------------------------


@attrs.frozen
class Problem:
    """One thing wrong at one place in a file: `where` is a key path or a row."""

    where: str
    key: str
    params: dict[str, str] = attrs.field(factory=dict)
    translated: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_error(cls, where: str, error: HuarongError) -> Problem:
        """Report a core error found while applying one entry of a file."""
        params = {name: str(value) for name, value in error.params().items()}
        return cls(where, error.key, params, dict(error.translated))


@attrs.define(auto_exc=True, eq=False)
class ConfigError(HuarongError):
    """A community file could not be used; every problem found is listed."""

    key = "error.config"
    exit_code = 2

    file: str
    problems: tuple[Problem, ...]


@attrs.define(auto_exc=True, eq=False)
class ImportRejected(HuarongError):
    """A CSV import found bad rows; nothing was applied (all-or-nothing)."""

    key = "error.import_rejected"
    exit_code = 2

    file: str
    rows: int
    problems: tuple[Problem, ...]


# --- storage -------------------------------------------------------------


class StorageError(HuarongError):
    """A database problem that is not the caller's input."""

    key = "error.storage"
    exit_code = 3


@attrs.define(auto_exc=True, eq=False)
class InvalidDatabaseURL(StorageError):
    key = "error.invalid_database_url"
    translated: ClassVar[dict[str, str]] = {"reason": "url_reason"}
    exit_code = 2

    url: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class DatabaseUnreachable(StorageError):
    key = "error.database_unreachable"

    url: str
    detail: str


@attrs.define(auto_exc=True, eq=False)
class SchemaTooNew(StorageError):
    """The database was migrated by a newer Huarong; writing to it could corrupt it."""

    key = "error.schema_too_new"

    found: int
    supported: int


@attrs.define(auto_exc=True, eq=False)
class SchemaOutdated(StorageError):
    key = "error.schema_outdated"

    found: int
    required: int


@attrs.define(auto_exc=True, eq=False)
class DatabaseBusy(StorageError):
    key = "error.database_busy"

    detail: str


@attrs.define(auto_exc=True, eq=False)
class ConstraintViolation(StorageError):
    """A database constraint caught what the services should have; a bug if seen."""

    key = "error.constraint"

    detail: str


@attrs.define(auto_exc=True, eq=False)
class NoCommunity(HuarongError):
    """The database holds no community yet: a community file must be loaded first."""

    key = "error.no_community"


@attrs.define(auto_exc=True, eq=False)
class TransientConflict(StorageError):
    """Concurrent transactions collided (deadlock, serialization); retrying may succeed."""

    key = "error.transient_conflict"

    detail: str


# --- points and the shop ---------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class InsufficientPoints(HuarongError):
    """Spending more than the balance: refused, so no balance ever goes below zero."""

    key = "error.insufficient_points"

    member_id: int
    needed: int
    balance: int


@attrs.define(auto_exc=True, eq=False)
class OutOfStock(HuarongError):
    key = "error.out_of_stock"

    item: str
    wanted: int
    stock: int


@attrs.define(auto_exc=True, eq=False)
class ItemUnavailable(HuarongError):
    key = "error.item_unavailable"

    item: str


@attrs.define(auto_exc=True, eq=False)
class RedemptionLimitReached(HuarongError):
    key = "error.redemption_limit"
    translated: ClassVar[dict[str, str]] = {"period": "period"}

    item: str
    limit: int
    period: str


@attrs.define(auto_exc=True, eq=False)
class InvalidTransition(HuarongError):
    """A state change that the workflow does not allow from the current state."""

    key = "error.invalid_transition"
    translated: ClassVar[dict[str, str]] = {"entity": "entity", "state": "state", "wanted": "state"}

    entity: str
    ref: str
    state: str
    wanted: str


@attrs.define(auto_exc=True, eq=False)
class AwardSkipped(HuarongError):
    """A manual award under a rule that the rule's own limits refused."""

    key = "error.award_skipped"
    translated: ClassVar[dict[str, str]] = {"reason": "points_skip"}

    rule: str
    reason: str


# --- gatherings ------------------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class AlreadyInClub(HuarongError):
    """Joining a club one is in, or has already asked to join."""

    key = "error.already_in_club"
    translated: ClassVar[dict[str, str]] = {"status": "membership"}

    club: str
    status: str


@attrs.define(auto_exc=True, eq=False)
class VenueUnavailable(HuarongError):
    """A booking clashes with confirmed ones.

    `conflicts` lists every clashing occurrence start, local time, `, `-separated
    (`2026-12-03 19:00, 2026-12-10 19:00`), so the message names them all.
    """

    key = "error.venue_unavailable"

    venue: str
    conflicts: str

    @property
    def starts(self) -> tuple[str, ...]:
        return tuple(self.conflicts.split(", ")) if self.conflicts else ()


@attrs.define(auto_exc=True, eq=False)
class GatheringNotOpen(HuarongError):
    """RSVP, check-in or feedback on a gathering in the wrong state or at the wrong time."""

    key = "error.gathering_not_open"
    translated: ClassVar[dict[str, str]] = {"reason": "gathering_reason"}

    gathering: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class CheckInRefused(HuarongError):
    key = "error.check_in_refused"
    translated: ClassVar[dict[str, str]] = {"reason": "gathering_reason"}

    gathering: str
    reason: str


# --- volunteering and the smile wall -----------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class ShiftNotOpen(HuarongError):
    """Signing up for, withdrawing from or confirming hours on a volunteer shift in the
    wrong state or at the wrong time (full, started, cancelled, ...)."""

    key = "error.shift_not_open"
    translated: ClassVar[dict[str, str]] = {"reason": "shift_reason"}

    shift: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class AlreadySignedUp(HuarongError):
    key = "error.already_signed_up"

    shift: str
    member_id: int


@attrs.define(auto_exc=True, eq=False)
class NotAVolunteer(HuarongError):
    """Signing up for a shift (or leaving the team) without being on the volunteer team."""

    key = "error.not_a_volunteer"

    member_id: int


@attrs.define(auto_exc=True, eq=False)
class AlreadyVolunteer(HuarongError):
    key = "error.already_volunteer"

    member_id: int


@attrs.define(auto_exc=True, eq=False)
class HoursAlreadyConfirmed(HuarongError):
    key = "error.hours_already_confirmed"

    shift: str
    member_id: int
    hours: str


@attrs.define(auto_exc=True, eq=False)
class NotTheRequester(HuarongError):
    """A step of a service request that is the requester's alone (rating it, reopening
    or withdrawing it): staff who may see and work the request are refused it."""

    key = "error.not_the_requester"
    exit_code = 4

    request: str


@attrs.define(auto_exc=True, eq=False)
class InvalidAnswer(InvalidValue):
    """An answer on a service request's form broke its field's rule.

    `field` is the form field's key; `label` is its label in the requester's
    language (form fields are the community's own, not catalog keys), and
    `labels` its label in each language the form has, by locale.
    """

    key = "error.invalid_answer"
    translated: ClassVar[dict[str, str]] = {"reason": "reason"}

    label: str = ""
    labels: dict[str, str] = attrs.field(factory=dict)

    def label_in(self, locale: str) -> str:
        """The field's label for a reader in `locale` (the requester's, failing that)."""
        return self.labels.get(locale) or self.label


# --- the red-reading library ------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class CopyUnavailable(HuarongError):
    """Borrowing a copy that is on loan, set aside for another member's hold, or withdrawn."""

    key = "error.copy_unavailable"
    translated: ClassVar[dict[str, str]] = {"reason": "library_reason"}

    copy: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class CopyNotOnLoan(HuarongError):
    """Returning (or renewing) a copy that is not on loan."""

    key = "error.copy_not_on_loan"
    translated: ClassVar[dict[str, str]] = {"status": "copy_status"}

    copy: str
    status: str


@attrs.define(auto_exc=True, eq=False)
class LoanLimitReached(HuarongError):
    key = "error.loan_limit"

    member_id: int
    limit: int


@attrs.define(auto_exc=True, eq=False)
class RenewalRefused(HuarongError):
    key = "error.renewal_refused"
    translated: ClassVar[dict[str, str]] = {"reason": "library_reason"}

    copy: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class HoldRefused(HuarongError):
    key = "error.hold_refused"
    translated: ClassVar[dict[str, str]] = {"reason": "library_reason"}

    book: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class AlreadyVoted(HuarongError):
    """A second vote in a best-reflection contest: one vote per member per contest."""

    key = "error.already_voted"

    contest: str
    member_id: int


@attrs.define(auto_exc=True, eq=False)
class VotingClosed(HuarongError):
    key = "error.voting_closed"
    translated: ClassVar[dict[str, str]] = {"reason": "library_reason"}

    contest: str
    reason: str


# --- aid cases ---------------------------------------------------------------------------


class AuditedRefusal(HuarongError):
    """A refusal that leaves an audit entry although its unit of work rolls back.

    A refused command changes nothing, yet some refusals must be on record
    (reading an aid case one is not named on). `CommunityHandle.execute`
    writes the entry (`audit_action` on `audit_target()`, by the actor, with
    the command's name) in a small unit of its own after the rollback,
    together with the delivery's refusal when there is one, and re-raises.
    A redelivered input replays the refusal without a second entry.
    """

    key = "error.access_refused"
    exit_code = 4
    audit_action: ClassVar[str] = "access.refused"

    def audit_target(self) -> str:
        return "-"


@attrs.define(auto_exc=True, eq=False)
class AidCaseAccessDenied(AuditedRefusal):
    """An aid case is open only to the staff it names (whatever one's role).

    The same refusal answers a case that does not exist, so that refusals
    do not tell which case numbers are in use.
    """

    key = "error.aid_case_access_denied"
    audit_action: ClassVar[str] = "aid.read_refused"

    case_id: int

    def audit_target(self) -> str:
        return f"aid_case:{self.case_id}"


@attrs.define(auto_exc=True, eq=False)
class WrongCheckInCode(AuditedRefusal):
    """A wrong check-in code: refused, and on record so that guessing runs out of tries.

    The code is six digits; each wrong try leaves an audit entry (after the
    rollback), and a member with too many recent wrong tries is refused even
    with the right code until the window passes (staff can still check them in).
    """

    key = "error.wrong_check_in_code"
    audit_action: ClassVar[str] = "gathering.wrong_code"

    gathering_id: int

    def audit_target(self) -> str:
        return f"gathering:{self.gathering_id}"


@attrs.define(auto_exc=True, eq=False)
class WrongCheckpointCode(AuditedRefusal):
    """A code that is no checkpoint of the challenge: refused, and on record against the
    team, so that guessing runs out of tries (a team that reaches every checkpoint
    earns points). Counted per team: its members cannot pool more guesses than one
    team's share."""

    key = "error.wrong_checkpoint_code"
    audit_action: ClassVar[str] = "challenge.wrong_code"

    gathering_id: int
    team_id: int

    def audit_target(self) -> str:
        return f"challenge_team:{self.team_id}"


# --- linking accounts ------------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class WrongLinkCode(AuditedRefusal):
    """A link code that is not known, or was used already: refused and on record.

    Each wrong try leaves an audit entry on the member who typed it (after the
    rollback); too many in a short window and further tries are refused.
    """

    key = "error.wrong_link_code"
    audit_action: ClassVar[str] = "member.link_refused"

    member_id: int

    def audit_target(self) -> str:
        return f"member:{self.member_id}"


@attrs.define(auto_exc=True, eq=False)
class LinkCodeExpired(WrongLinkCode):
    """A real link code typed after its ten minutes (it counts as a wrong try too)."""

    key = "error.link_code_expired"


@attrs.define(auto_exc=True, eq=False)
class LinkRefused(HuarongError):
    """Linking refused for a reason (too many codes or wrong tries, a merged member)."""

    key = "error.link_refused"
    translated: ClassVar[dict[str, str]] = {"reason": "link_reason"}

    reason: str


# --- access: sign-in codes, passwords, API tokens ------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class WrongSignInCode(AuditedRefusal):
    """A sign-in code that is not known, or was used already: refused and on record.

    The entry names no member (nobody has signed in yet) but the client the try
    came from (`RedeemSignInCode.client`), against which wrong tries count. The
    client is not a parameter of the message: nothing about it is shown back.
    """

    key = "error.wrong_sign_in_code"
    audit_action: ClassVar[str] = "access.sign_in_refused"

    client: str | None = attrs.field(default=None, kw_only=True)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "client"}

    def audit_target(self) -> str:
        return sign_in_target(self.client)


def sign_in_target(client: str | None) -> str:
    """The audit target wrong sign-in codes from `client` are counted under."""
    return "access:sign_in_code" if client is None else f"access:sign_in_code:{client}"


@attrs.define(auto_exc=True, eq=False)
class SignInCodeExpired(WrongSignInCode):
    """A real sign-in code typed after its ten minutes (it counts as a wrong try too)."""

    key = "error.sign_in_code_expired"


@attrs.define(auto_exc=True, eq=False)
class SignInRefused(HuarongError):
    """Sign-in codes refused for a reason (too many codes asked for, or wrong tries)."""

    key = "error.sign_in_refused"
    translated: ClassVar[dict[str, str]] = {"reason": "sign_in_reason"}

    reason: str


@attrs.define(auto_exc=True, eq=False)
class WrongPassword(AuditedRefusal):
    """A password check that failed: wrong password, no password set, or no such login.

    One refusal for all three, so that the answer does not tell which logins exist;
    on record (without the login typed) like other refused sign-ins.
    """

    key = "error.wrong_password"
    audit_action: ClassVar[str] = "access.password_refused"

    def audit_target(self) -> str:
        return "access:password"


@attrs.define(auto_exc=True, eq=False)
class InvalidApiToken(HuarongError):
    """An API token that cannot be used: `reason` is `unknown`, `revoked`, `expired`
    or `member_inactive` (only someone holding the token learns which)."""

    key = "error.invalid_api_token"
    translated: ClassVar[dict[str, str]] = {"reason": "api_token_reason"}
    exit_code = 4

    reason: str
