"""Mistakes in what someone typed: each names the problem and the reply adds the usage line.

They are `HuarongError`s like the core's own, so they render through the
same catalogs; nothing has run when one is raised.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from huarong_core.errors import HuarongError


class ChatInputError(HuarongError):
    """The input could not become a command; the reply shows how to write it."""

    key = "chat.error.input"


@attrs.define(auto_exc=True, eq=False)
class MissingArgument(ChatInputError):
    key = "chat.error.missing_argument"
    translated: ClassVar[dict[str, str]] = {"argument": "chat.arg"}

    argument: str


@attrs.define(auto_exc=True, eq=False)
class BadArgument(ChatInputError):
    """`reason` is a catalog key under `chat.reason.`."""

    key = "chat.error.bad_argument"
    translated: ClassVar[dict[str, str]] = {"argument": "chat.arg", "reason": "chat.reason"}

    argument: str
    value: str
    reason: str


@attrs.define(auto_exc=True, eq=False)
class AmbiguousArgument(ChatInputError):
    """A name matched several things; `choices` lists some of them."""

    key = "chat.error.ambiguous_argument"
    translated: ClassVar[dict[str, str]] = {"argument": "chat.arg"}

    argument: str
    value: str
    choices: str


@attrs.define(auto_exc=True, eq=False)
class TooManyArguments(ChatInputError):
    key = "chat.error.too_many_arguments"

    extra: str


@attrs.define(auto_exc=True, eq=False)
class GroupOnly(ChatInputError):
    """The command acts on the club bound to a group chat, and this chat is not one."""

    key = "chat.error.group_only"

    command: str
