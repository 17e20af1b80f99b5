"""Linked identities: one person, several chat accounts, one member.

`CreateLinkCode` gives the acting member a one-time code; `RedeemLinkCode`,
sent from another account, makes the two members one. The code is eight
characters from `23456789ABCDEFGHJKMNPQRSTUVWXYZ` (no 0/O, 1/I/L; typed in
any case, spaces and dashes ignored), good for ten minutes and one use;
only its SHA-256 is stored. A new code retires the member's unused ones,
and a member may ask for five codes an hour. Five wrong tries within a
quarter of an hour (each on record in the audit log as
`member.link_refused`, even though the refused unit rolls back) and
further tries are refused until the quarter has passed; so are everyone's
once 200 wrong tries from all members together fall in one quarter (each chat
account can be a member of its own, so per-member limits alone would let a
guesser with many accounts go on).

Merge rules (one unit of work, audited as `member.merge`, event
`members.merged`):

- The member who CREATED the code survives; the member who redeemed it (the
  absorbed one, often a chat account registered a minute ago) is merged
  into it. If both are already the same member, nothing changes.
- The absorbed member gets status `merged` and `merged_into`; it can never
  act again (every command refuses a member who is not active). The
  survivor's profile is kept, an empty organization or language filled in
  from the absorbed member; but a survivor without a key (registered by
  chat) takes the whole profile (name, key, categories, organization) of an
  absorbed member that has one, so the community file and imports keep
  naming the person. Otherwise the absorbed profile stays on the merged row.
- Append-only history stays where it was written: ledger lines, audit
  entries, request thread entries, aid actions, checkpoint visits, venue
  bookings' `booked_by_member`, announcements' `posted_by_member`, and the
  absorbed member's own categories. Its unused link codes and web sign-in
  codes are retired.
- Points: the absorbed balance moves with a pair of ledger lines of kind
  `merge` (reason `merge`: minus on the absorbed, plus on the survivor);
  its open expiry lots move to the survivor with their own dates; its
  all-time and season scores are added to the survivor's (leaderboard
  counts follow), and `VerifyLedger` counts a merged member's scoring
  lines for the member it was merged into. Awards already written stay as
  they were (nothing is awarded again by the merge; the merged member can
  earn nothing more, and every moved row keeps its state, so an award
  keyed on it (a check-in, confirmed hours, a redemption) cannot be
  triggered a second time). Pending awards waiting for approval move.
- Moved whole (no unique key involves the member): identities,
  redemptions, honours, pending awards, open expiry lots, service requests
  (as requester and as assignee), book loans, book copies (held for, donor),
  book donations, smile-wall photos, aid cases (as the member helped),
  API tokens (one person's integrations keep working).
- Moved, with a rule when the survivor has a twin row:
  role grants, gathering feedback, challenge team places, station
  subscriptions, aid case staff places, contest scores, the web password
  (`SetPassword`): the survivor's row wins, the absorbed one is dropped.
  reflections (one per book), reflection votes (one per contest): the
  survivor's wins, the absorbed one stays with the merged member (a
  reflection may be nominated, a vote is part of a result).
  club memberships: the stronger status wins (active > pending > left >
  declined; the survivor's on a tie). Volunteer registration: the active
  one wins (the survivor's on a tie).
  volunteer sign-ups per shift: confirmed hours > signed up > withdrawn
  (the survivor's on a tie); a dropped active sign-up frees its slot.
  RSVPs per gathering: checked in > going (or walk-in) > waitlisted > maybe
  > not going, then the earlier place; the other one is dropped. Dropping
  a `going` frees a seat, which goes to the first on the waitlist exactly
  as when someone cancels (for a gathering still ahead).
  open book holds per book: ready > waiting, then the older one; the other
  is cancelled (a copy held for it is released).
  pending announcement deliveries: moved unless the survivor has one for
  the same announcement (then it stays and ends unreachable).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from huarong_core.commands.base import Command
from huarong_core.domain.members import Identity, Member

__all__ = [
    "CreateLinkCode",
    "LinkCode",
    "LinkResult",
    "RedeemLinkCode",
]


@attrs.frozen
class LinkCode:
    """The plain code, shown once: it is stored only as a hash."""

    code: str
    member_id: int
    expires_at: datetime


@attrs.frozen
class LinkResult:
    """What a redeemed code did: `absorbed_id` None when both were already one member."""

    survivor: Member
    absorbed_id: int | None
    identities: tuple[Identity, ...]
    """Every account of the survivor now."""
    balance: int
    """The survivor's balance after the merge."""
    points_moved: int = 0

    @property
    def already_linked(self) -> bool:
        return self.absorbed_id is None


@attrs.frozen
class CreateLinkCode(Command[LinkCode]):
    """A one-time code for the acting member (staff with `manage_identities` may
    create one for `member_id`). Not remembered: a redelivery draws a new code
    rather than copying the plain one into the deliveries table."""

    remembered: ClassVar[bool] = False

    member_id: int | None = None


@attrs.frozen
class RedeemLinkCode(Command[LinkResult]):
    """Typed from the account `platform`/`external_id`: its member is merged into
    the member who created the code (see the module's rules)."""

    code: str
    platform: str
    external_id: str
