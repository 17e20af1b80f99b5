"""Access on every backend: web sign-in codes, passwords, API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs
import pytest
from argon2 import PasswordHasher

from huarong_core import Actor, AuditEntry, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    ApiToken,
    AuthenticateApiToken,
    CheckPassword,
    CreateApiToken,
    CreateLinkCode,
    CreateSignInCode,
    LinkIdentity,
    ListApiTokens,
    ListAuditEntries,
    RedeemLinkCode,
    RedeemSignInCode,
    RegisterChatMember,
    RevokeApiToken,
    SendSignInCode,
    SetMemberStatus,
    SetPassword,
    SignInCodeRequest,
)
from huarong_core.delivery import DeliveryWorker, MemorySender, Priority
from huarong_core.domain.members import Member, MemberStatus
from huarong_core.errors import (
    InvalidApiToken,
    InvalidValue,
    MemberInactive,
    NotFound,
    PermissionDenied,
    SignInCodeExpired,
    SignInRefused,
    WrongPassword,
    WrongSignInCode,
)
from huarong_core.notices.relay import NotificationRelay
from huarong_core.services import access as access_service
from huarong_core.services.codes import CODE_ALPHABET, CODE_LENGTH
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, actor_for

COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[members]]
key = "li"
name = "李雷"
locale = "zh_CN"
identities = [{ platform = "telegram", id = "601" }]

[[members]]
key = "kate"
name = "Kate"
locale = "en"
identities = [
    { platform = "telegram", id = "602" },
    { platform = "matrix", id = "@kate:example.org" },
]
"""
)
WEB = Actor.system("web")
PASSWORD = "correct horse battery"
CODE_IN_TEXT = re.compile(r"[2-9A-Z]{8}")

Hub = tuple[Huarong, CommunityHandle, FrozenClock]
Tables = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    clock = FrozenClock()
    async with open_test_community(database_url, config=COMMUNITY, clock=clock) as (
        huarong,
        handle,
    ):
        yield huarong, handle, clock


@pytest.fixture
async def people(hub: Hub) -> dict[str, Actor]:
    _, handle, _ = hub
    keys = ("admin", "staff", "alice", "li", "kate")
    return {key: await actor_for(handle, key) for key in keys}


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


def stable(tables: Tables) -> Tables:
    """A snapshot without the tables a refusal writes on purpose (its audit entry)."""
    return {k: v for k, v in tables.items() if k not in ("audit_log", "deliveries")}


def nowhere(secret: str, tables: Tables) -> bool:
    return not any(secret in str(row) for rows in tables.values() for row in rows)


async def rows(huarong: Huarong, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def audit(handle: CommunityHandle, action: str) -> tuple[AuditEntry, ...]:
    return await handle.execute(ListAuditEntries(action=action), actor=SYSTEM)


# --- sign-in codes --------------------------------------------------------------------------


async def test_a_code_is_stored_hashed_and_signs_in_once(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, _ = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    assert made.member_id == mid(people["alice"])
    assert len(made.code) == CODE_LENGTH
    assert set(made.code) <= set(CODE_ALPHABET)
    assert made.expires_at == handle.now() + timedelta(minutes=10)
    assert made.code not in repr(made)
    tables = await snapshot(huarong.db)
    assert nowhere(made.code, tables)
    [stored] = await rows(huarong, "SELECT code_hash FROM sign_in_codes")
    assert stored["code_hash"] == hashlib.sha256(made.code.encode()).hexdigest()

    typed = f" {made.code[:4].lower()}-{made.code[4:]} "  # case, spaces and dashes do not matter
    member = await handle.execute(RedeemSignInCode(typed), actor=WEB)
    assert member.id == mid(people["alice"])
    [entry] = await audit(handle, "member.signed_in")
    assert (entry.target, entry.details) == (f"member:{member.id}", {"method": "sign_in_code"})
    with pytest.raises(WrongSignInCode):
        await handle.execute(RedeemSignInCode(made.code), actor=WEB)


async def test_an_expired_code_is_refused_and_nothing_changes(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, clock = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    clock.advance(minutes=10)
    before = stable(await snapshot(huarong.db))
    with pytest.raises(SignInCodeExpired):
        await handle.execute(RedeemSignInCode(made.code), actor=WEB)
    assert stable(await snapshot(huarong.db)) == before


async def test_wrong_codes_pause_that_client_s_sign_in_by_code_for_a_quarter(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, clock = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    before = stable(await snapshot(huarong.db))
    for wrong in ("22222222", "nonsense", "", made.code[:-1]):
        with pytest.raises(WrongSignInCode):
            await handle.execute(RedeemSignInCode(wrong, client="web:guesser"), actor=WEB)
    clock.advance(minutes=1)
    with pytest.raises(WrongSignInCode) as wrong_try:
        await handle.execute(RedeemSignInCode("x" * 500, client="web:guesser"), actor=WEB)
    assert "client" not in wrong_try.value.params()  # nothing about it is shown back
    # Five wrong tries: even the right code is refused to that client for the window.
    with pytest.raises(SignInRefused) as refused:
        await handle.execute(RedeemSignInCode(made.code, client="web:guesser"), actor=WEB)
    assert refused.value.reason == "too_many_attempts"
    assert "quarter of an hour" in str(refused.value)
    assert stable(await snapshot(huarong.db)) == before
    tries = await audit(handle, "access.sign_in_refused")
    assert len(tries) == 5
    assert {(t.target, t.actor.label) for t in tries} == {
        ("access:sign_in_code:web:guesser", WEB.label)
    }
    assert all(t.details == {"command": "RedeemSignInCode"} for t in tries)
    # Everyone else signs in as usual: a guesser cannot lock the community out.
    member = await handle.execute(RedeemSignInCode(made.code, client="web:alice"), actor=WEB)
    assert member.id == mid(people["alice"])
    clock.advance(minutes=14, seconds=1)  # the first four tries are out of the window now
    fresh = await handle.execute(CreateSignInCode(), actor=people["alice"])
    member = await handle.execute(RedeemSignInCode(fresh.code, client="web:guesser"), actor=WEB)
    assert member.id == mid(people["alice"])


async def test_wrong_codes_from_many_clients_pause_everyone_past_a_ceiling(
    hub: Hub, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, handle, clock = hub
    monkeypatch.setattr(access_service, "MAX_WRONG_TRIES_EVERYWHERE", 8)
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    for n in range(8):  # two tries from each of four clients, under the per-client five
        with pytest.raises(WrongSignInCode):
            await handle.execute(RedeemSignInCode("22222222", client=f"web:{n // 2}"), actor=WEB)
    for client in ("web:new", None):
        with pytest.raises(SignInRefused):
            await handle.execute(RedeemSignInCode(made.code, client=client), actor=WEB)
    clock.advance(minutes=15, seconds=1)
    fresh = await handle.execute(CreateSignInCode(), actor=people["alice"])
    member = await handle.execute(RedeemSignInCode(fresh.code, client="web:new"), actor=WEB)
    assert member.id == mid(people["alice"])


async def test_tries_without_a_client_count_together(hub: Hub, people: dict[str, Actor]) -> None:
    _, handle, _ = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    for _ in range(5):
        with pytest.raises(WrongSignInCode):
            await handle.execute(RedeemSignInCode("22222222"), actor=WEB)
    with pytest.raises(SignInRefused):
        await handle.execute(RedeemSignInCode(made.code), actor=WEB)
    tries = await audit(handle, "access.sign_in_refused")
    assert {t.target for t in tries} == {"access:sign_in_code"}
    member = await handle.execute(RedeemSignInCode(made.code, client="web:someone"), actor=WEB)
    assert member.id == mid(people["alice"])


@pytest.mark.parametrize("client", ["", "web: spaced", "web:\u00e9", "x" * 101])
async def test_a_malformed_client_key_is_refused_by_name(
    hub: Hub, people: dict[str, Actor], client: str
) -> None:
    huarong, handle, _ = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    before = stable(await snapshot(huarong.db))
    with pytest.raises(InvalidValue) as refused:
        await handle.execute(RedeemSignInCode(made.code, client=client), actor=WEB)
    assert (refused.value.field, refused.value.reason) == ("client", "not_a_client_key")
    assert stable(await snapshot(huarong.db)) == before


async def test_a_new_code_retires_the_older_and_codes_are_limited_per_hour(
    hub: Hub, people: dict[str, Actor]
) -> None:
    _, handle, clock = hub
    alice = people["alice"]
    first = await handle.execute(CreateSignInCode(), actor=alice)
    second = await handle.execute(CreateSignInCode(), actor=alice)
    with pytest.raises(SignInCodeExpired):
        await handle.execute(RedeemSignInCode(first.code), actor=WEB)
    for _ in range(3):
        await handle.execute(CreateSignInCode(), actor=alice)
    with pytest.raises(SignInRefused) as refused:
        await handle.execute(CreateSignInCode(), actor=alice)
    assert refused.value.reason == "too_many_codes"
    with pytest.raises(SignInCodeExpired):  # retired by the later ones
        await handle.execute(RedeemSignInCode(second.code), actor=WEB)
    # Link codes are counted apart: the sign-in limit does not touch them.
    await handle.execute(CreateLinkCode(), actor=alice)
    clock.advance(minutes=61)
    await handle.execute(CreateSignInCode(), actor=alice)  # a new hour, a new code


async def test_who_may_make_and_use_sign_in_codes(hub: Hub, people: dict[str, Actor]) -> None:
    _, handle, _ = hub
    alice, staff = people["alice"], people["staff"]
    with pytest.raises(PermissionDenied):
        await handle.execute(CreateSignInCode(mid(staff)), actor=alice)
    for_alice = await handle.execute(CreateSignInCode(mid(alice)), actor=people["admin"])
    assert for_alice.member_id == mid(alice)
    by_system = await handle.execute(CreateSignInCode(mid(staff)), actor=SYSTEM)
    assert by_system.member_id == mid(staff)
    with pytest.raises(InvalidValue):
        await handle.execute(CreateSignInCode(), actor=SYSTEM)  # a system actor names one
    with pytest.raises(NotFound):
        await handle.execute(CreateSignInCode(9999), actor=SYSTEM)
    # Proving a sign-in is the portal's (a system actor's) job alone.
    with pytest.raises(PermissionDenied):
        await handle.execute(RedeemSignInCode(for_alice.code), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(SendSignInCode("alice"), actor=alice)
    member = await handle.execute(RedeemSignInCode(for_alice.code), actor=WEB)
    assert member.id == mid(alice)


async def test_a_suspended_member_cannot_sign_in_with_a_code(
    hub: Hub, people: dict[str, Actor]
) -> None:
    _, handle, _ = hub
    made = await handle.execute(CreateSignInCode(), actor=people["alice"])
    await handle.execute(
        SetMemberStatus(mid(people["alice"]), MemberStatus.SUSPENDED, "test"), actor=SYSTEM
    )
    with pytest.raises(MemberInactive):
        await handle.execute(RedeemSignInCode(made.code), actor=WEB)


async def send_all(huarong: Huarong) -> MemorySender:
    """Relay the outbox and send everything, as `huarong serve` does in the background
    (one notice per recipient at a time, in order)."""
    await NotificationRelay(huarong).run_once()
    sender = MemorySender()
    worker = DeliveryWorker(huarong, {"telegram": sender, "matrix": sender})
    for _ in range(10):
        sent = len(sender.sent)
        await worker.run_once()
        if len(sender.sent) == sent:
            break
    return sender


async def test_send_by_login_reaches_the_member_s_chat_and_tells_nobody_else(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, _ = hub
    ack = SignInCodeRequest(expires_at=handle.now() + timedelta(minutes=10))
    unknown = (
        "nobody",
        "telegram:999",
        "@ghost:example.org",
        "matrix:@ghost:example.org",
        "",
        "   ",
        "Bad Platform:1",
        "no-such:thing",
        "x" * 1000,
        "alice",  # a member, but with no chat account to send to
        "admin",
    )
    before = await snapshot(huarong.db)
    for login in unknown:
        assert await handle.execute(SendSignInCode(login), actor=WEB) == ack, login
    assert await snapshot(huarong.db) == before  # nothing written, not even an audit entry

    for login in ("li", " LI ", "telegram:601", "@kate:example.org", "matrix:@kate:example.org"):
        assert await handle.execute(SendSignInCode(login), actor=WEB) == ack, login
    codes = await rows(huarong, "SELECT member_id FROM sign_in_codes ORDER BY id")
    li, kate = mid(people["li"]), mid(people["kate"])
    assert [r["member_id"] for r in codes] == [li, li, li, kate, kate]
    assert await audit(handle, "member.sign_in_code") == ()  # no record naming who asked

    sender = await send_all(huarong)
    notices = await rows(
        huarong,
        "SELECT member_id, priority FROM notifications WHERE kind = $1 ORDER BY id",
        "access.sign_in_code",
    )
    assert [(r["member_id"], r["priority"]) for r in notices] == [(li, "urgent")] * 3 + [
        (kate, "urgent")
    ] * 2
    assert [target.member_id for target, _ in sender.sent].count(li) == 3
    by_member = {target.member_id: message for target, message in sender.sent}  # the last
    assert set(by_member) == {li, kate}
    assert all(message.priority is Priority.URGENT for _, message in sender.sent)
    chinese, english = by_member[li], by_member[kate]
    assert chinese.locale == "zh_CN"
    assert "测试大厦" in chinese.text
    assert "10 分钟内有效" in chinese.text
    assert "请忽略此消息" in chinese.text
    assert english.locale == "en"
    assert "Test Tower web portal" in english.text
    assert "for 10 minutes" in english.text
    assert "ignore this message" in english.text

    # The newest code of each member works (the older ones were retired).
    codes_sent: dict[int | None, list[str]] = {}
    for target, message in sender.sent:
        codes_sent.setdefault(target.member_id, []).extend(CODE_IN_TEXT.findall(message.text))
    assert [len(codes_sent[li]), len(codes_sent[kate])] == [3, 2]
    with pytest.raises(SignInCodeExpired):  # retired by the next one
        await handle.execute(RedeemSignInCode(codes_sent[li][0]), actor=WEB)
    for member_id in (li, kate):
        signed_in = await handle.execute(RedeemSignInCode(codes_sent[member_id][-1]), actor=WEB)
        assert signed_in.id == member_id


async def test_send_says_nothing_when_the_member_cannot_have_a_code(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, _ = hub
    ack = SignInCodeRequest(expires_at=handle.now() + timedelta(minutes=10))
    for _ in range(5):
        await handle.execute(SendSignInCode("li"), actor=WEB)
    # Over the hourly limit: the same answer, and nothing more is made or sent.
    before = await snapshot(huarong.db)
    assert await handle.execute(SendSignInCode("li"), actor=WEB) == ack
    assert await snapshot(huarong.db) == before
    await handle.execute(
        SetMemberStatus(mid(people["kate"]), MemberStatus.SUSPENDED, "test"), actor=SYSTEM
    )
    before = await snapshot(huarong.db)
    assert await handle.execute(SendSignInCode("kate"), actor=WEB) == ack
    assert await snapshot(huarong.db) == before


# --- passwords ---------------------------------------------------------------------------


async def test_a_password_is_set_hashed_and_checked(hub: Hub, people: dict[str, Actor]) -> None:
    huarong, handle, clock = hub
    alice = people["alice"]
    done = await handle.execute(SetPassword(mid(alice), PASSWORD), actor=alice)
    assert (done.member_id, done.set_at) == (mid(alice), handle.now())
    tables = await snapshot(huarong.db)
    assert nowhere(PASSWORD, tables)
    [stored] = await rows(huarong, "SELECT member_id, password_hash FROM member_passwords")
    assert stored["member_id"] == mid(alice)
    assert stored["password_hash"].startswith("$argon2id$")
    [entry] = await audit(handle, "member.password_set")
    assert entry.target == f"member:{mid(alice)}"
    assert entry.details == {}

    clock.advance(minutes=1)
    member = await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)
    assert member.id == mid(alice)
    assert (await handle.execute(CheckPassword(" Alice ", PASSWORD), actor=WEB)).id == mid(alice)
    signed_in = await audit(handle, "member.signed_in")
    assert [e.details for e in signed_in] == [{"method": "password"}] * 2
    # A new password replaces the old one.
    await handle.execute(SetPassword(mid(alice), PASSWORD + "!"), actor=alice)
    with pytest.raises(WrongPassword):
        await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)
    assert (await handle.execute(CheckPassword("alice", PASSWORD + "!"), actor=WEB)).id == mid(
        alice
    )


async def test_wrong_missing_and_unknown_are_one_refusal(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, _ = hub
    await handle.execute(SetPassword(mid(people["alice"]), PASSWORD), actor=SYSTEM)
    before = stable(await snapshot(huarong.db))
    attempts = (
        ("alice", "wrong password!!"),  # wrong
        ("alice", ""),
        ("alice", "x" * 5000),
        ("staff", PASSWORD),  # a member without a password
        ("nobody", PASSWORD),  # no such login
        ("telegram:601", PASSWORD),
        ("", ""),
    )
    errors = []
    for login, password in attempts:
        with pytest.raises(WrongPassword) as refused:
            await handle.execute(CheckPassword(login, password), actor=WEB)
        errors.append((refused.value.key, str(refused.value.params()), str(refused.value)))
    assert len(set(errors)) == 1
    assert stable(await snapshot(huarong.db)) == before
    tries = await audit(handle, "access.password_refused")
    assert len(tries) == len(attempts)
    assert {(t.target, str(t.details)) for t in tries} == {
        ("access:password", "{'command': 'CheckPassword'}")
    }
    with pytest.raises(PermissionDenied):
        await handle.execute(CheckPassword("alice", PASSWORD), actor=people["alice"])


class GatedHasher(PasswordHasher):
    """Verifies only once the test opens the gate: a password check the test can hold."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.gate = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.started.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super().verify(hash, password)


async def held_password_check(
    handle: CommunityHandle, member: Actor, monkeypatch: pytest.MonkeyPatch
) -> tuple[GatedHasher, asyncio.Future[Member]]:
    """The member's password set, and a check of it under way, held inside argon2."""
    await handle.execute(SetPassword(mid(member), PASSWORD), actor=member)
    hasher = GatedHasher()
    monkeypatch.setattr(access_service, "HASHER", hasher)
    check = asyncio.ensure_future(handle.execute(CheckPassword("alice", PASSWORD), actor=WEB))
    assert await asyncio.to_thread(hasher.started.wait, 10)
    return hasher, check


async def test_checking_a_password_holds_up_no_write(
    hub: Hub, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes long on purpose: it runs before the unit of work, so the single
    SQLite writer (or a PostgreSQL transaction) is not held while it does."""
    _, handle, _ = hub
    alice = people["alice"]
    hasher, check = await held_password_check(handle, alice, monkeypatch)
    registered = await asyncio.wait_for(
        handle.execute(RegisterChatMember("telegram", "7001", "Meanwhile", "en"), actor=SYSTEM),
        timeout=5,
    )
    assert registered.member.display_name == "Meanwhile"
    assert not check.done()
    hasher.gate.set()
    assert (await check).id == mid(alice)


async def test_a_password_changed_during_its_check_is_refused(
    hub: Hub, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, handle, _ = hub
    alice = people["alice"]
    hasher, check = await held_password_check(handle, alice, monkeypatch)
    await handle.execute(SetPassword(mid(alice), PASSWORD + "?"), actor=alice)
    hasher.gate.set()
    with pytest.raises(WrongPassword):
        await check
    assert len(await audit(handle, "member.signed_in")) == 0


async def test_password_rules_and_who_may_set_one(hub: Hub, people: dict[str, Actor]) -> None:
    huarong, handle, _ = hub
    alice, staff, admin = people["alice"], people["staff"], people["admin"]
    for wrong, reason in (("short", "password_too_short"), ("y" * 1025, "password_too_long")):
        with pytest.raises(InvalidValue) as invalid:
            await handle.execute(SetPassword(mid(alice), wrong), actor=alice)
        assert (invalid.value.field, invalid.value.reason) == ("password", reason)
        assert wrong not in str(invalid.value)
        assert "12" in str(invalid.value) or "1024" in str(invalid.value)
    await handle.execute(SetPassword(mid(alice), "z" * 12), actor=alice)  # 12 is enough
    await handle.execute(SetPassword(mid(alice), "z" * 1024), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(SetPassword(mid(staff), PASSWORD), actor=alice)
    with pytest.raises(PermissionDenied):  # station staff do not manage members
        await handle.execute(SetPassword(mid(alice), PASSWORD), actor=staff)
    await handle.execute(SetPassword(mid(staff), PASSWORD), actor=admin)
    await handle.execute(SetPassword(mid(admin), PASSWORD), actor=SYSTEM)
    assert (await handle.execute(CheckPassword("staff", PASSWORD), actor=WEB)).id == mid(staff)
    assert nowhere(PASSWORD, await snapshot(huarong.db))
    assert PASSWORD not in repr(SetPassword(1, PASSWORD))
    assert PASSWORD not in repr(CheckPassword("alice", PASSWORD))


async def test_an_old_hash_is_made_again_and_a_suspended_member_is_refused(
    hub: Hub, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    huarong, handle, _ = hub
    alice = people["alice"]
    monkeypatch.setattr(
        access_service, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    await handle.execute(SetPassword(mid(alice), PASSWORD), actor=alice)
    monkeypatch.undo()
    [old] = await rows(huarong, "SELECT password_hash FROM member_passwords")
    assert access_service.HASHER.check_needs_rehash(old["password_hash"])
    await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)
    [new] = await rows(huarong, "SELECT password_hash FROM member_passwords")
    assert new["password_hash"] != old["password_hash"]
    assert not access_service.HASHER.check_needs_rehash(new["password_hash"])
    await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)  # still the password

    await handle.execute(SetMemberStatus(mid(alice), MemberStatus.SUSPENDED, "test"), actor=SYSTEM)
    with pytest.raises(MemberInactive):
        await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)


# --- API tokens ----------------------------------------------------------------------------


async def test_a_token_is_shown_once_stored_hashed_listed_and_revoked(
    hub: Hub, people: dict[str, Actor]
) -> None:
    huarong, handle, clock = hub
    admin = people["admin"]
    made = await handle.execute(CreateApiToken("backup", {"read", "write"}), actor=admin)
    assert made.token.startswith("hr_")
    assert len(made.token) == 3 + 43  # 32 bytes, url-safe base64 without padding
    assert made.token not in repr(made)
    info = made.info
    assert (info.member_id, info.name, info.scopes) == (
        mid(admin),
        "backup",
        frozenset({"read", "write"}),
    )
    assert (info.created_at, info.expires_at, info.revoked_at, info.last_used_at) == (
        handle.now(),
        None,
        None,
        None,
    )
    tables = await snapshot(huarong.db)
    assert nowhere(made.token, tables)
    assert nowhere(made.token[3:], tables)
    [stored] = await rows(huarong, "SELECT token_hash FROM api_tokens")
    assert stored["token_hash"] == hashlib.sha256(made.token.encode()).hexdigest()
    [entry] = await audit(handle, "api_token.created")
    assert entry.target == f"member:{mid(admin)}"
    assert entry.details == {
        "token_id": info.id,
        "name": "backup",
        "scopes": ["read", "write"],
        "expires_at": None,
    }

    assert await handle.execute(AuthenticateApiToken(made.token), actor=WEB) == info
    assert await handle.execute(AuthenticateApiToken(f" {made.token}\n"), actor=WEB) == info
    clock.advance(minutes=5)
    second = await handle.execute(CreateApiToken("feed", {"read"}), actor=admin)
    page = await handle.execute(ListApiTokens(), actor=admin)
    assert [t.id for t in page.items] == [second.info.id, info.id]  # newest first
    assert page.total == 2
    assert not any(hasattr(t, "token") or hasattr(t, "token_hash") for t in page.items)
    assert [t.id for t in (await handle.execute(ListApiTokens(limit=1), actor=admin)).items] == [
        second.info.id
    ]

    clock.advance(minutes=5)
    revoked = await handle.execute(RevokeApiToken(info.id), actor=admin)
    assert revoked.revoked_at == handle.now()
    with pytest.raises(InvalidApiToken) as invalid:
        await handle.execute(AuthenticateApiToken(made.token), actor=WEB)
    assert invalid.value.reason == "revoked"
    clock.advance(minutes=5)
    again = await handle.execute(RevokeApiToken(info.id), actor=admin)
    assert again == revoked  # the first revocation stands
    assert len(await audit(handle, "api_token.revoked")) == 1
    assert await handle.execute(AuthenticateApiToken(second.token), actor=WEB) == second.info


async def test_token_names_scopes_and_ends_are_checked(hub: Hub, people: dict[str, Actor]) -> None:
    huarong, handle, _ = hub
    alice = people["alice"]
    before = await snapshot(huarong.db)
    cases: list[tuple[CreateApiToken, str, str]] = [
        (CreateApiToken("x", frozenset()), "scopes", "no_scopes"),
        (CreateApiToken("x", {"read", "admin"}), "scopes", "unknown_scope"),
        (CreateApiToken("", {"read"}), "name", "empty"),
        (CreateApiToken("   ", {"read"}), "name", "empty"),
        (CreateApiToken("n" * 81, {"read"}), "name", "too_long"),
        (
            CreateApiToken("x", {"read"}, expires_at=handle.now() - timedelta(seconds=1)),
            "expires_at",
            "in_the_past",
        ),
        (CreateApiToken("x", {"read"}, expires_at=handle.now()), "expires_at", "in_the_past"),
        (
            CreateApiToken("x", {"read"}, expires_at=datetime(2030, 1, 1)),
            "expires_at",
            "naive_time",
        ),
    ]
    for command, field, reason in cases:
        with pytest.raises(InvalidValue) as invalid:
            await handle.execute(command, actor=alice)
        assert (invalid.value.field, invalid.value.reason) == (field, reason), command
    assert await snapshot(huarong.db) == before
    made = await handle.execute(CreateApiToken("n" * 80, "read"), actor=alice)  # one string
    assert made.info.scopes == {"read"}


async def test_who_may_make_list_and_revoke_tokens(hub: Hub, people: dict[str, Actor]) -> None:
    _, handle, _ = hub
    alice, staff, admin = people["alice"], people["staff"], people["admin"]
    # `system` only from someone who may manage the community.
    for who in (alice, staff):
        with pytest.raises(PermissionDenied) as denied:
            await handle.execute(CreateApiToken("turnstile", {"system"}), actor=who)
        assert denied.value.permission == "manage_community"
    system = await handle.execute(CreateApiToken("turnstile", {"system", "write"}), actor=admin)
    assert system.info.scopes == {"system", "write"}
    for_alice = await handle.execute(
        CreateApiToken("integration", {"system"}, member_id=mid(alice)), actor=SYSTEM
    )
    assert for_alice.info.member_id == mid(alice)
    with pytest.raises(InvalidValue):
        await handle.execute(CreateApiToken("x", {"read"}), actor=SYSTEM)  # names no member

    own = await handle.execute(CreateApiToken("mine", {"read"}), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(CreateApiToken("theirs", {"read"}, member_id=mid(staff)), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListApiTokens(mid(admin)), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(RevokeApiToken(system.info.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(AuthenticateApiToken(own.token), actor=alice)
    with pytest.raises(NotFound):
        await handle.execute(RevokeApiToken(9999), actor=admin)
    with pytest.raises(NotFound):
        await handle.execute(ListApiTokens(9999), actor=admin)
    listed = await handle.execute(ListApiTokens(mid(alice)), actor=admin)
    assert {t.id for t in listed.items} == {for_alice.info.id, own.info.id}
    theirs = await handle.execute(
        CreateApiToken("by admin", {"read"}, member_id=mid(alice)), actor=admin
    )
    assert theirs.info.member_id == mid(alice)
    assert (await handle.execute(RevokeApiToken(own.info.id), actor=alice)).revoked_at is not None
    assert (await handle.execute(RevokeApiToken(theirs.info.id), actor=admin)).revoked_at


async def test_unknown_expired_and_orphaned_tokens_are_refused(
    hub: Hub, people: dict[str, Actor]
) -> None:
    _, handle, clock = hub
    alice = people["alice"]
    for token in ("", "hr_", "hr_nonsense", "Bearer hr_x", "x" * 1000, "hr_" + "A" * 500):
        with pytest.raises(InvalidApiToken) as invalid:
            await handle.execute(AuthenticateApiToken(token), actor=WEB)
        assert invalid.value.reason == "unknown"
    ends = handle.now() + timedelta(hours=1)
    short = await handle.execute(CreateApiToken("short", {"read"}, expires_at=ends), actor=alice)
    assert short.info.expires_at == ends
    clock.advance(minutes=59)
    assert await handle.execute(AuthenticateApiToken(short.token), actor=WEB) == short.info
    clock.advance(minutes=1)
    with pytest.raises(InvalidApiToken) as invalid:
        await handle.execute(AuthenticateApiToken(short.token), actor=WEB)
    assert invalid.value.reason == "expired"
    assert "expired" in str(invalid.value)

    lasting = await handle.execute(CreateApiToken("lasting", {"write"}), actor=alice)
    await handle.execute(SetMemberStatus(mid(alice), MemberStatus.LEFT, "moved"), actor=SYSTEM)
    with pytest.raises(InvalidApiToken) as invalid:
        await handle.execute(AuthenticateApiToken(lasting.token), actor=WEB)
    assert invalid.value.reason == "member_inactive"


# --- linking accounts --------------------------------------------------------------------


async def test_a_merge_carries_tokens_and_password_and_retires_sign_in_codes(
    hub: Hub, people: dict[str, Actor]
) -> None:
    _, handle, _ = hub
    alice = people["alice"]
    await handle.execute(LinkIdentity(mid(alice), "console", "alice"), actor=SYSTEM)
    await handle.execute(SetPassword(mid(alice), PASSWORD), actor=alice)
    token = await handle.execute(CreateApiToken("sync", {"read"}), actor=alice)
    pending = await handle.execute(CreateSignInCode(), actor=alice)
    # A new chat account asks for the link code, so it survives and alice's member is
    # absorbed into it (taking alice's key, since the chat member has none).
    chat = await handle.execute(RegisterChatMember("telegram", "42", "Alice TG"), actor=SYSTEM)
    survivor = Actor.member(chat.member.id, chat.member.display_name)
    code = await handle.execute(CreateLinkCode(), actor=survivor)
    await handle.execute(RedeemLinkCode(code.code, "console", "alice"), actor=alice)

    moved = await handle.execute(AuthenticateApiToken(token.token), actor=WEB)
    assert moved.member_id == chat.member.id
    assert [t.id for t in (await handle.execute(ListApiTokens(), actor=survivor)).items] == [
        token.info.id
    ]
    assert (await handle.execute(CheckPassword("alice", PASSWORD), actor=WEB)).id == chat.member.id
    with pytest.raises(SignInCodeExpired):
        await handle.execute(RedeemSignInCode(pending.code), actor=WEB)
    [merge] = await audit(handle, "member.merge")
    assert merge.details["rows"]["api_tokens"] == [1, 0]
    assert merge.details["rows"]["member_passwords"] == [1, 0]


def test_the_token_type_never_holds_the_secret() -> None:
    names = {a.name for a in attrs.fields(ApiToken)}
    assert names == {
        "id",
        "member_id",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }
