"""The public API is typed for its users: `execute` returns each command's result type."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

SNIPPET = textwrap.dedent(
    """
    from huarong_core import (
        Actor, CommunityHandle, GetMember, ListMembers, RegisterMember, ListAuditEntries,
    )

    async def use(handle: CommunityHandle) -> None:
        actor = Actor.system("typing")
        reveal_type(await handle.execute(RegisterMember("A"), actor=actor))
        reveal_type(await handle.execute(ListMembers(), actor=actor))
        reveal_type(await handle.execute(GetMember(1), actor=actor))
        reveal_type(await handle.execute(ListAuditEntries(), actor=actor))
        member = await handle.execute(RegisterMember("B"), actor=actor)
        member.no_such_field
    """
)


@pytest.mark.slow
def test_execute_is_typed_by_command(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text(SNIPPET, encoding="utf-8")
    stdout, _, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)]
    )
    assert status == 1  # the deliberate attribute error below
    assert 'Revealed type is "huarong_core.domain.members.Member"' in stdout
    assert "huarong_core.commands.base.Page[huarong_core.domain.members.Member]" in stdout
    assert 'Revealed type is "huarong_core.commands.MemberProfile"' in stdout
    assert "tuple[huarong_core.domain.audit.AuditEntry, ...]" in stdout
    assert '"Member" has no attribute "no_such_field"' in stdout
