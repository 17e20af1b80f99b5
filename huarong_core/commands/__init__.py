"""The whole feature surface, as frozen messages.

Every adapter does what it does by building one of these and handing it to
`CommunityHandle.execute`. A `Command` changes state and runs in a unit of
work; a `Query` only reads. Both are generic in their result type, so
`await handle.execute(RegisterMember(...))` is typed as returning a
`Member`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import attrs

from huarong_core.commands.access import *  # noqa: F403
from huarong_core.commands.aid import *  # noqa: F403
from huarong_core.commands.announcements import *  # noqa: F403
from huarong_core.commands.base import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from huarong_core.commands.base import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from huarong_core.commands.base import Command as Command
from huarong_core.commands.base import Page as Page
from huarong_core.commands.base import Query as Query
from huarong_core.commands.base import page_size
from huarong_core.commands.gatherings import *  # noqa: F403  (one namespace for every command)
from huarong_core.commands.library import *  # noqa: F403
from huarong_core.commands.linking import *  # noqa: F403
from huarong_core.commands.stations import *  # noqa: F403
from huarong_core.commands.volunteering import *  # noqa: F403
from huarong_core.config import RuleEntry, ShopItemEntry
from huarong_core.domain.audit import AuditEntry
from huarong_core.domain.communities import Category
from huarong_core.domain.ledger import LedgerEntry, PendingAward
from huarong_core.domain.members import Identity, Member, MemberStatus
from huarong_core.domain.organizations import Organization
from huarong_core.domain.points import Lot, Rule
from huarong_core.domain.roles import Role, RoleGrant, Scope
from huarong_core.domain.shop import Redemption, RedemptionStatus, ShopItem
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import Problem

# --- organizations ---------------------------------------------------------


@attrs.frozen
class RegisterOrganization(Command[Organization]):
    name: str
    key: str | None = None
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool = False


@attrs.frozen
class UpdateOrganization(Command[Organization]):
    """Change the given fields; `None` leaves a field as it is."""

    organization_id: int
    name: str | None = None
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool | None = None


@attrs.frozen
class GetOrganization(Query[Organization]):
    organization_id: int


@attrs.frozen
class ListOrganizations(Query[Page[Organization]]):
    query: str | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class ListCategories(Query[tuple[Category, ...]]):
    """The community's kinds of member with their names, by key: what a category's
    leaderboard and audience are called (the keys are what members carry)."""


# --- members ----------------------------------------------------------------


@attrs.frozen
class MemberProfile:
    """A member with what belongs to them: organization, identities, roles."""

    member: Member
    organization: Organization | None
    identities: tuple[Identity, ...]
    grants: tuple[RoleGrant, ...]
    honours: tuple[Honour, ...] = ()
    """Current honours and badges (pioneer posts, ...), shown on the profile."""


@attrs.frozen
class RegisterChatMember(Command[MemberProfile]):
    """The member behind a chat account, registered on first contact.

    Someone who writes to a community's bot becomes a member of its default
    category, with the platform's name for them; a second registration of
    the same account (a redelivery, a race) returns the first member.
    Only the system (the conversation layer) registers this way.
    """

    platform: str
    external_id: str
    display_name: str
    locale: str | None = None


@attrs.frozen
class RegisterMember(Command[Member]):
    display_name: str
    key: str | None = None
    categories: frozenset[str] = frozenset()
    organization_id: int | None = None
    locale: str | None = None


@attrs.frozen
class UpdateMember(Command[Member]):
    """Change the given fields; `None` leaves a field as it is.

    `leave_organization` takes the member out of their organization (someone who
    left their company but stays in the community); it cannot come with an
    `organization_id`, which would say the opposite."""

    member_id: int
    display_name: str | None = None
    categories: frozenset[str] | None = None
    organization_id: int | None = None
    locale: str | None = None
    leave_organization: bool = False


@attrs.frozen
class SetMemberStatus(Command[Member]):
    member_id: int
    status: MemberStatus
    reason: str = ""


@attrs.frozen
class GetMember(Query[MemberProfile]):
    member_id: int


@attrs.frozen
class FindMemberByIdentity(Query[MemberProfile]):
    platform: str
    external_id: str
    details: bool = True
    """False leaves the member's identities and honours out (empty): for a caller that
    needs only the member, their organization and their roles, on every message (the
    chat layer), two reads fewer."""


@attrs.frozen
class ListMembers(Query[Page[Member]]):
    organization_id: int | None = None
    category: str | None = None
    status: MemberStatus | None = None
    query: str | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


# --- identities ---------------------------------------------------------------


@attrs.frozen
class LinkIdentity(Command[Identity]):
    """Link a platform account to a member (a member may link their own)."""

    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class SetAccountReachable(Command[Identity]):
    """What an adapter learned about an account: the platform refuses to reach it (the
    member blocked the bot) or reaches it again (they wrote to it). Deliveries prefer a
    member's reachable accounts. Only the system (an adapter) reports this."""

    platform: str
    external_id: str
    reachable: bool


@attrs.frozen
class UnlinkIdentity(Command[Identity]):
    platform: str
    external_id: str


# --- roles ----------------------------------------------------------------------


@attrs.frozen
class GrantRole(Command[RoleGrant]):
    member_id: int
    role: Role
    scope: Scope = attrs.field(factory=Scope.community)


@attrs.frozen
class RevokeRole(Command[RoleGrant]):
    member_id: int
    role: Role
    scope: Scope = attrs.field(factory=Scope.community)


@attrs.frozen
class ListRoleGrants(Query[tuple[RoleGrant, ...]]):
    member_id: int | None = None


# --- audit ------------------------------------------------------------------------


@attrs.frozen
class ListAuditEntries(Query[tuple[AuditEntry, ...]]):
    """Newest first; pass the last id seen as `before_id` for the next page."""

    action: str | None = None
    before_id: int | None = None
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


# --- bulk import ------------------------------------------------------------------


@attrs.frozen
class OrganizationRow:
    """One CSV row as written; the import service judges every value."""

    line: int
    name: str
    key: str = ""
    floor: str = ""
    industry: str = ""
    has_party_branch: str = ""


@attrs.frozen
class MemberRow:
    line: int
    name: str
    key: str = ""
    organization: str = ""
    categories: str = ""
    locale: str = ""
    identities: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ImportReport:
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: tuple[Problem, ...]
    applied: bool


@attrs.frozen
class ImportOrganizations(Command[ImportReport]):
    """Create or update organizations, matched by key, else by name.

    All-or-nothing unless `partial`: then good rows are kept and bad ones
    reported. An empty cell leaves an existing value as it is.
    """

    source: str
    rows: tuple[OrganizationRow, ...]
    partial: bool = False


@attrs.frozen
class ImportMembers(Command[ImportReport]):
    """Create or update members, matched by key, else by name within their organization."""

    source: str
    rows: tuple[MemberRow, ...]
    partial: bool = False


# --- points -----------------------------------------------------------------------


@attrs.frozen
class AwardResult:
    """What one rule did with one event: awarded, pending, skipped (with why) or duplicate."""

    rule_key: str
    outcome: str
    points: int
    reason: str | None = None
    entry_id: int | None = None


@attrs.frozen
class RecordActivity(Command[tuple[AwardResult, ...]]):
    """An event that may earn points (a check-in, confirmed volunteer hours, ...).

    Every enabled rule whose trigger is `kind` evaluates it; each rule
    awards at most once per `source_id`, however often it is recorded.
    Later areas record these from their own events; staff and integrations
    may record them directly.
    """

    kind: str
    source_id: str
    member_id: int
    occurred_at: datetime | None = None
    units: str = "1"
    target: str | None = None
    club: str | None = None
    series: str | None = None
    station: str | None = None
    tags: frozenset[str] = frozenset()


@attrs.frozen
class RecordActivities(Command[tuple[tuple[AwardResult, ...], ...]]):
    """Many activities in one unit of work: how a relay or an import feeds points fast."""

    activities: tuple[RecordActivity, ...]


@attrs.frozen
class AwardPoints(Command[LedgerEntry]):
    """A manual award by staff (negative `points` deducts); the reason is mandatory.

    With `rule` the award follows that `manual` rule (its points, caps and
    cooldown) and `points` is ignored.
    """

    member_id: int
    points: int
    reason: str
    rule: str | None = None
    source_id: str | None = None


@attrs.frozen
class DecidePendingAward(Command[PendingAward]):
    pending_id: int
    approve: bool
    note: str = ""


@attrs.frozen
class ListPendingAwards(Query[tuple[PendingAward, ...]]):
    status: str = "pending"
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class PointsStatement:
    member_id: int
    balance: int
    score: int
    entries: tuple[LedgerEntry, ...]
    expiring: tuple[Lot, ...]


@attrs.frozen
class GetPointsStatement(Query[PointsStatement]):
    """A member's history, newest first, with the balance after each line."""

    member_id: int
    before_id: int | None = None
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)
    expiring_within_days: int = 30


@attrs.frozen
class ExpirePoints(Command[int]):
    """Expire every lot whose time has come; returns the points expired."""


@attrs.frozen
class LedgerDifference:
    member_id: int
    what: str
    stored: int
    computed: int


@attrs.frozen
class VerifyLedger(Query[tuple[LedgerDifference, ...]]):
    """Recompute balances, scores and lots from the ledger; list every difference."""


@attrs.frozen
class DefinePointsRule(Command[Rule]):
    """Create or replace a rule at run time (audit-logged)."""

    definition: RuleEntry


@attrs.frozen
class SetPointsRuleEnabled(Command[Rule]):
    key: str
    enabled: bool


@attrs.frozen
class ListPointsRules(Query[tuple[Rule, ...]]):
    """Every rule of the community, enabled or not."""


# --- the shop ------------------------------------------------------------------------


@attrs.frozen
class DefineShopItem(Command[ShopItem]):
    definition: ShopItemEntry


@attrs.frozen
class ListShopItems(Query[tuple[ShopItem, ...]]):
    available_only: bool = True


@attrs.frozen
class RedeemItem(Command[Redemption]):
    """Spend points on an item; it is reserved until collected at its station."""

    item_key: str
    quantity: int = 1
    member_id: int | None = None
    """Whom for; defaults to the acting member (staff may redeem for a member)."""


@attrs.frozen
class FulfilRedemption(Command[Redemption]):
    redemption_id: int


@attrs.frozen
class CancelRedemption(Command[Redemption]):
    redemption_id: int
    reason: str = ""


@attrs.frozen
class ListRedemptions(Query[tuple[Redemption, ...]]):
    status: RedemptionStatus | None = None
    member_id: int | None = None
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


# --- leaderboards, honours, reports --------------------------------------------------


class Board(enum.StrEnum):
    ALL_TIME = "all"
    SEASON = "season"
    ORGANIZATION = "organization"
    CATEGORY = "category"


@attrs.frozen
class LeaderboardEntry:
    rank: int
    member_id: int
    display_name: str
    score: int


@attrs.frozen
class Leaderboard:
    board: Board
    key: str | None
    entries: tuple[LeaderboardEntry, ...]
    offset: int
    limit: int


@attrs.frozen
class GetLeaderboard(Query[Leaderboard]):
    """`key`: the organization id, the category key, or the season (default: current)."""

    board: Board = Board.ALL_TIME
    key: str | None = None
    offset: int = 0
    limit: int = attrs.field(default=20, converter=page_size)


@attrs.frozen
class GetRank(Query[LeaderboardEntry | None]):
    """A member's own place on a board (None when they have no score there)."""

    member_id: int
    board: Board = Board.ALL_TIME
    key: str | None = None


@attrs.frozen
class Honour:
    id: int
    member_id: int
    kind: str
    title: LocalizedText
    citation: str
    starts_on: date
    ends_on: date | None
    granted_by: str
    revoked: bool = False

    def current_on(self, day: date) -> bool:
        return (
            not self.revoked
            and self.starts_on <= day
            and (self.ends_on is None or day <= self.ends_on)
        )


@attrs.frozen
class GrantHonour(Command[Honour]):
    """A pioneer post (先锋示范岗) or another badge, with a citation and a period."""

    member_id: int
    kind: str
    title: LocalizedText
    citation: str
    starts_on: date
    ends_on: date | None = None


@attrs.frozen
class RevokeHonour(Command[Honour]):
    honour_id: int


@attrs.frozen
class ListHonours(Query[tuple[Honour, ...]]):
    member_id: int | None = None
    current_only: bool = False


@attrs.frozen
class ParticipationRow:
    member_id: int
    display_name: str
    activities: dict[str, int]
    """Awards per trigger kind in the period (salon.checked_in: 3, ...)."""
    points_earned: int
    points_spent: int
    balance: int


@attrs.frozen
class OrganizationReport:
    organization_id: int
    organization: str
    starts_on: date
    ends_on: date
    rows: tuple[ParticipationRow, ...]


@attrs.frozen
class GetOrganizationReport(Query[OrganizationReport]):
    """Each person's participation and points in a period, for the company's appraisal."""

    organization_id: int
    starts_on: date
    ends_on: date
    """Inclusive, in the community's time zone."""


# --- lookups by the names people use ---------------------------------------------


@attrs.frozen
class FindMember(Query[MemberProfile]):
    """A member by `#id`, id, or key: how people name members in commands."""

    ref: str


@attrs.frozen
class FindOrganization(Query[Organization]):
    """An organization by `#id`, id, key or exact name."""

    ref: str


@attrs.frozen
class RestockItem(Command[ShopItem]):
    """Add stock to an item (negative removes, never below zero); audit-logged.

    The community file gives an item its opening stock only, so stock that
    arrives later comes in through here.
    """

    item_key: str
    quantity: int
