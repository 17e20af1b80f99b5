"""One input being answered: who speaks, where, in which language, and how to act for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from huarong_core.app import CommunityHandle, Delivery
from huarong_core.commands import Command, FindMemberByIdentity, MemberProfile, Query
from huarong_core.conversation.values import Button, ChatKind, Incoming, Message, Text
from huarong_core.domain.audit import Actor
from huarong_core.domain.clubs import Club
from huarong_core.domain.members import Member
from huarong_core.domain.organizations import Organization
from huarong_core.domain.roles import Permission, RoleGrant, permits

if TYPE_CHECKING:
    from huarong_core.conversation.engine import ChoiceMemory

R = TypeVar("R")
T = TypeVar("T")
PAGE_SIZE = 10


@attrs.frozen
class Sender:
    """Who wrote the message, as every turn needs them: the member, their organization
    and roles. Their accounts and honours are read only by the commands that show
    them (`Turn.full_profile`): two reads fewer on every message."""

    member: Member
    organization: Organization | None
    grants: tuple[RoleGrant, ...]

    @classmethod
    def of(cls, profile: MemberProfile) -> Sender:
        return cls(profile.member, profile.organization, profile.grants)


@attrs.define
class Turn:
    handle: CommunityHandle
    incoming: Incoming
    sender: Sender
    locale: str
    club: Club | None
    """The club the group chat is bound to, if it is one."""
    memory: ChoiceMemory
    command: str = ""
    """The route being answered (`points`), for usage lines and paging buttons."""
    _writes: int = 0

    @property
    def member(self) -> Member:
        return self.sender.member

    @property
    def actor(self) -> Actor:
        return Actor.member(self.member.id, self.member.display_name)

    @property
    def tz(self) -> tzinfo:
        return self.handle.community.tz

    @property
    def today(self) -> date:
        return self.handle.community.local(self.handle.now()).date()

    @property
    def in_group(self) -> bool:
        return self.incoming.chat_kind is ChatKind.GROUP

    @property
    def club_key(self) -> str | None:
        return None if self.club is None else self.club.key

    def can(self, permission: Permission) -> bool:
        """Whether the member holds `permission` in any scope (for menus; the core decides)."""
        return permits(self.sender.grants, permission, None)

    async def full_profile(self) -> MemberProfile:
        """The sender with their accounts and current honours (`/me`, unlinking)."""
        return await self.run(FindMemberByIdentity(self.incoming.platform, self.incoming.sender_id))

    async def run(self, command: Command[R]) -> R:
        """Execute for the sender. Changes carry this input's delivery id (numbered when
        one input makes several), so a redelivered input changes nothing again."""
        if isinstance(command, Query):
            return await self.handle.execute(command, actor=self.actor)
        return await self.handle.execute(command, actor=self.actor, delivery=self.next_delivery())

    def next_delivery(self) -> Delivery:
        """The delivery id of this input's next change (for calls other than `run`,
        such as `huarong_core.media.submit_photo`)."""
        self._writes += 1
        return Delivery(
            source=f"chat:{self.incoming.platform}",
            id=f"{self.incoming.chat_id}/{self.incoming.delivery_id}/{self._writes}",
        )

    # --- replies -------------------------------------------------------------

    def say(self, key: str, /, **params: Any) -> Message:
        return Message((Text(key, params),))

    def lines(
        self, *lines: Text, buttons: Sequence[Sequence[Button]] = (), private: bool = False
    ) -> Message:
        return Message(tuple(lines), tuple(tuple(row) for row in buttons), private)

    # --- lists people answer by number -------------------------------------------

    def remember(self, kind: str, refs: Sequence[str]) -> None:
        """The refs (`#12`, `tea`) of the lines just shown, so `2` can name the second."""
        self.memory.put(self._memory_key, kind, tuple(refs))

    def recall(self, kind: str, number: int) -> str | None:
        refs = self.memory.get(self._memory_key, kind)
        if refs is None or not 1 <= number <= len(refs):
            return None
        return refs[number - 1]

    @property
    def _memory_key(self) -> tuple[str, str, str]:
        return (self.incoming.platform, self.incoming.chat_id, self.incoming.sender_id)

    def numbered(
        self,
        kind: str,
        title: Text,
        items: Sequence[T],
        line: Callable[[int, T], Text],
        ref: Callable[[T], str],
        *,
        page: int = 1,
        empty: Text | None = None,
        more: str = "",
        item_button: Callable[[int, T], Button | None] | None = None,
    ) -> Message:
        """A numbered page of `items` with previous/next buttons, remembered for `2`-style answers.

        The paging buttons repeat this command with `more` (other arguments) and
        the page number; `item_button`, when given, adds one button per line.
        """
        if not items:
            return Message((empty or Text("chat.list.empty"),))
        pages = max(1, -(-len(items) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        start = (page - 1) * PAGE_SIZE
        shown = items[start : start + PAGE_SIZE]
        self.remember(kind, [ref(item) for item in shown])
        lines = [title]
        lines.extend(line(number, item) for number, item in enumerate(shown, 1))
        buttons: list[tuple[Button, ...]] = []
        if item_button is not None:
            row = [b for n, item in enumerate(shown, 1) if (b := item_button(n, item)) is not None]
            buttons.extend(tuple(row[i : i + 5]) for i in range(0, len(row), 5))
        if pages > 1:
            lines.append(Text("chat.list.page", {"page": page, "pages": pages}))
            nav = []
            prefix = f"/{self.command} {more}".rstrip()
            if page > 1:
                nav.append(Button(Text("chat.button.previous"), f"{prefix} p{page - 1}"))
            if page < pages:
                nav.append(Button(Text("chat.button.next"), f"{prefix} p{page + 1}"))
            buttons.append(tuple(nav))
        return Message(
            tuple(lines), tuple(buttons), replaces_source=self.incoming.pressed and page > 1
        )
