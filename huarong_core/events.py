"""Domain events: what happened, recorded in the outbox with the change itself.

Each event has a stable `kind` (`member.registered`); later areas name the
kinds their rules react to (points rules trigger on `salon.checked_in`).
Events are plain frozen values so the outbox can store them as JSON and a
relay can turn them into notifications after the commit.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

_KINDS: dict[str, type[Event]] = {}


@attrs.frozen
class Event:
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            # attrs builds each slotted class twice; the second, final one wins.
            known = _KINDS.get(cls.kind)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event kind {cls.kind!r} is defined twice")
            _KINDS[cls.kind] = cls


def event_class(kind: str) -> type[Event] | None:
    return _KINDS.get(kind)


def event_kinds() -> frozenset[str]:
    return frozenset(_KINDS)


@attrs.frozen
class CommunityConfigured(Event):
    kind = "community.configured"
    community_key: str
    changes: int


@attrs.frozen
class OrganizationRegistered(Event):
    kind = "organization.registered"
    organization_id: int
    name: str


@attrs.frozen
class OrganizationUpdated(Event):
    kind = "organization.updated"
    organization_id: int
    fields: tuple[str, ...]


@attrs.frozen
class MemberRegistered(Event):
    kind = "member.registered"
    member_id: int
    display_name: str
    organization_id: int | None


@attrs.frozen
class MemberUpdated(Event):
    kind = "member.updated"
    member_id: int
    fields: tuple[str, ...]


@attrs.frozen
class MemberStatusChanged(Event):
    kind = "member.status_changed"
    member_id: int
    old: str
    new: str
    reason: str


@attrs.frozen
class IdentityLinked(Event):
    kind = "identity.linked"
    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class IdentityUnlinked(Event):
    kind = "identity.unlinked"
    member_id: int
    platform: str
    external_id: str


@attrs.frozen
class RoleGranted(Event):
    kind = "role.granted"
    member_id: int
    role: str
    scope: str


@attrs.frozen
class RoleRevoked(Event):
    kind = "role.revoked"
    member_id: int
    role: str
    scope: str


@attrs.frozen
class PointsAwarded(Event):
    """Points moved into (or, negative, out of) a member's balance by a rule or by staff."""

    kind = "points.awarded"
    member_id: int
    points: int
    rule_key: str | None
    entry_id: int


@attrs.frozen
class PointsPending(Event):
    kind = "points.pending"
    member_id: int
    rule_key: str
    points: int
    pending_id: int


@attrs.frozen
class ItemRedeemed(Event):
    kind = "shop.redeemed"
    member_id: int
    item_key: str
    quantity: int
    redemption_id: int


@attrs.frozen
class RedemptionChanged(Event):
    kind = "shop.redemption_changed"
    member_id: int
    redemption_id: int
    status: str


@attrs.frozen
class HonourGranted(Event):
    kind = "honour.granted"
    member_id: int
    honour_id: int
    honour_kind: str
