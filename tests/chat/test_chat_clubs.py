"""Chat routes of clubs and venues: lists, joining, group binding, staff edits, bookings."""

from __future__ import annotations

from typing import Any

from huarong_core.app import CommunityHandle
from huarong_core.commands import GetClub, ListBookings, ListClubMembers
from huarong_core.domain.audit import Actor
from huarong_core.domain.clubs import JoinPolicy, MembershipStatus
from huarong_core.storage.base import Database
from huarong_core.testing import SAMPLE_COMMUNITY, ChatTester, open_test_community, snapshot

EXTRA = """
[[stations]]
key = "huaying"
name = { zh_CN = "华英驿站", en = "Huaying station" }

[[members]]
key = "lead"
name = "Lead"
identities = [{ platform = "console", id = "lead" }]

[[members]]
key = "hy"
name = "Huaying Staff"
identities = [{ platform = "console", id = "hy" }]

[[roles]]
member = "hy"
role = "station_staff"
scope = "station:huaying"

[[roles]]
member = "lead"
role = "club_leader"
scope = "club:parents"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
description = { zh_CN = "品茶论道", en = "Tea and talk" }
station = "huaying"
chats = [{ platform = "console", id = "tea-group" }]

[[clubs]]
key = "parents"
name = { zh_CN = "袋鼠课堂", en = "Parenting class" }
station = "huaying"
join = "approval"

[[venues]]
key = "hall"
name = { zh_CN = "多功能厅", en = "Main hall" }
capacity = 120
equipment = ["projector", "audio"]
station = "huaying"
floor = "29"

[[venues]]
key = "room_a"
name = { zh_CN = "活动室 A", en = "Room A" }
capacity = 30
station = "huaying"
"""

CONFIG = SAMPLE_COMMUNITY + EXTRA
SYSTEM = Actor.system("test")


def _line_number(text: str, fragment: str) -> str:
    """The number of the list line that mentions `fragment`."""
    return next(line.split(".")[0] for line in text.splitlines() if fragment in line)


async def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the record of answered deliveries (a refused command's answer is kept
    so that a redelivery gets it again)."""
    tables = await snapshot(db)
    tables.pop("deliveries", None)
    return tables


async def _status(handle: CommunityHandle, club: str, status: MembershipStatus) -> int:
    found = await handle.execute(ListClubMembers(club, status), actor=SYSTEM)
    return len(found)


async def _bookings(handle: CommunityHandle, venue: str) -> int:
    found = await handle.execute(ListBookings(venue), actor=SYSTEM)
    return len(found)


# --- clubs: list, details, join, leave -----------------------------------------------------


async def test_clubs_lists_with_counts_and_join_buttons(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/clubs")
        assert "茶艺社" in answer.text
        assert "袋鼠课堂" in answer.text
        assert "加入需审核" in answer.text
        assert "/join tea" in answer.payloads
        assert "/join parents" in answer.payloads
        await chat.say("alice", "/lang en")
        answer = await chat.say("alice", "社团")
        assert "Tea club" in answer.text
        assert "needs approval" in answer.text


async def test_join_by_number_from_the_last_list(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        listing = await chat.say("alice", "/clubs")
        number = _line_number(listing.text, "茶艺社")
        answer = await chat.say("alice", f"/join {number}")
        assert "欢迎加入茶艺社" in answer.text
        assert await _status(handle, "tea", MembershipStatus.ACTIVE) == 1
        listing = await chat.say("alice", "/clubs")
        assert "已加入" in listing.text
        assert "/join tea" not in listing.payloads


async def test_join_in_the_bound_group_joins_its_club(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/join", group="tea-group")
        assert "茶艺社" in answer.text
        assert await _status(handle, "tea", MembershipStatus.ACTIVE) == 1
        again = await chat.say("alice", "/加入", group="tea-group")
        assert "⚠️" in again.text


async def test_join_without_a_club_in_private_offers_the_list(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/join")
        assert "想加入哪个社团" in answer.text
        assert "/join tea" in answer.payloads


async def test_join_an_approval_club_waits_and_leaders_see_it(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/入社 parents")
        assert "等待社团负责人审核" in answer.text
        assert await _status(handle, "parents", MembershipStatus.PENDING) == 1
        members = await chat.say("alice", "/clubmembers parents")
        assert "待审核" not in members.text
        members = await chat.say("lead", "/社团成员 parents")
        assert "Lead（负责人）" in members.text
        assert "待审核的入社申请（1 个）" in members.text
        assert "alice" in members.text
        [request] = await handle.execute(
            ListClubMembers("parents", MembershipStatus.PENDING), actor=SYSTEM
        )
        assert f"/approve club:parents:{request.member_id}" in members.payloads
        assert f"/reject club:parents:{request.member_id}" in members.payloads
        details = await chat.say("lead", "/club parents")
        assert "待审核的入社申请：1 个" in details.text
        details = await chat.say("alice", "/club parents")
        assert "待审核" not in details.text
        assert "审核中" in details.text


async def test_join_redelivered_changes_nothing(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/me")
        first = await chat.say("alice", "/join tea", delivery_id="same")
        before = await _state(huarong.db)
        second = await chat.say("alice", "/join tea", delivery_id="same")
        assert second.text == first.text
        assert "欢迎加入" in second.text
        assert await _state(huarong.db) == before


async def test_club_details_in_both_languages(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/社团详情 茶艺")
        assert "茶艺社（tea）" in answer.text
        assert "品茶论道" in answer.text
        assert "/join tea" in answer.payloads
        assert "/clubmembers tea" in answer.payloads
        await chat.say("alice", "/lang en")
        answer = await chat.say("alice", "/club", group="tea-group")
        assert "Tea club (tea)" in answer.text
        assert "Chat groups: 1" in answer.text
        assert "Anyone may join" in answer.text


async def test_club_bad_input_shows_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/club")
        assert "用法：" in answer.text
        assert "社团" in answer.text
        answer = await chat.say("alice", "/club nosuchclub")
        assert "找不到" in answer.text
        assert "用法：" in answer.text
        await chat.say("alice", "/lang en")
        answer = await chat.say("alice", "/leave")
        assert "Usage:" in answer.text


async def test_leave_and_myclubs(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/join tea")
        await chat.say("alice", "/join parents")
        mine = await chat.say("alice", "/我的社团")
        assert "茶艺社" in mine.text
        assert "袋鼠课堂（审核中）" in mine.text
        assert "/club tea" in mine.payloads
        number = _line_number(mine.text, "茶艺社")
        answer = await chat.say("alice", f"/退社 {number}")
        assert "已退出茶艺社" in answer.text
        mine = await chat.say("alice", "/myclubs")
        assert "茶艺社" not in mine.text
        await chat.say("alice", "/lang en")
        answer = await chat.say("alice", "/leave parents")
        assert "you have left Parenting class" in answer.text
        mine = await chat.say("alice", "/myclubs")
        assert "not joined a club" in mine.text


async def test_myclubs_in_a_group_answers_privately(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/join", group="tea-group")
        answer = await chat.say("alice", "/myclubs", group="tea-group")
        assert answer.private
        assert "茶艺社" in answer.private[0].text


async def test_leave_redelivered_and_leave_twice(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/join tea")
        first = await chat.say("alice", "/leave tea", delivery_id="L")
        before = await _state(huarong.db)
        second = await chat.say("alice", "/leave tea", delivery_id="L")
        assert first.text == second.text
        assert await _state(huarong.db) == before
        again = await chat.say("alice", "/leave tea")
        assert "⚠️" in again.text


async def test_clubmembers_paged_and_numbered(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        for n in range(12):
            await chat.say(f"m{n}", "/join tea")
        answer = await chat.say("hy", "/clubmembers tea")
        assert "茶艺社成员（12 人）" in answer.text
        assert "m0" in answer.text
        assert "/clubmembers tea p2" in answer.payloads
        page2 = await chat.say("hy", "/clubmembers tea p2", pressed=True)
        assert "m11" in page2.text
        # An ordinary member sees numbers for others, their own name for themselves.
        plain = await chat.say("m0", "/clubmembers", group="tea-group")
        assert "m0" in plain.text
        assert "会员 #" in plain.text


# --- binding group chats ---------------------------------------------------------------------


async def test_bind_in_a_group_and_unbind(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("lead", "/绑定 parents", group="parents-group")
        assert "袋鼠课堂的社团群" in answer.text
        assert answer.payloads == ("/join parents",)
        details = await handle.execute(GetClub("parents"), actor=SYSTEM)
        assert len(details.chats) == 1
        joined = await chat.say("alice", "/join", group="parents-group")
        assert "袋鼠课堂" in joined.text
        await chat.say("lead", "/lang en")
        answer = await chat.say("lead", "/unbind", group="parents-group")
        assert "no longer the chat of Parenting class" in answer.text
        details = await handle.execute(GetClub("parents"), actor=SYSTEM)
        assert details.chats == ()


async def test_bind_in_private_explains(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("lead", "/bind parents")
        assert "请在社团的群里发送" in answer.text
        answer = await chat.say("lead", "/unbind")
        assert "请在要解绑的群里" in answer.text


async def test_bind_refused_for_a_plain_member(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/me", group="g2")
        before = await _state(huarong.db)
        answer = await chat.say("alice", "/bind tea", group="g2")
        assert "⚠️" in answer.text
        answer = await chat.say("alice", "/unbind", group="tea-group")
        assert "⚠️" in answer.text
        assert await _state(huarong.db) == before


async def test_bind_redelivered_gives_the_same_answer(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        first = await chat.say("lead", "/bind parents", group="pg", delivery_id="b")
        before = await _state(huarong.db)
        second = await chat.say("lead", "/bind parents", group="pg", delivery_id="b")
        assert first.text == second.text
        assert await _state(huarong.db) == before


# --- staff: create and edit clubs ------------------------------------------------------------


async def test_newclub_and_editclub_by_station_staff(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("hy", "/新建社团 chess 棋艺斋")
        assert "社团“棋艺斋”（chess）已创建" in answer.text
        answer = await chat.say("hy", "/修改社团 chess 加入方式 审核")
        assert "需要负责人审核" in answer.text
        await chat.say("hy", "/lang en")
        answer = await chat.say("hy", "/editclub chess name Chess studio")
        assert "the name in English is now “Chess studio”" in answer.text
        answer = await chat.say("hy", "/editclub chess description Board games on Fridays")
        assert "description" in answer.text
        details = await handle.execute(GetClub("chess"), actor=SYSTEM)
        assert details.club.station == "huaying"
        assert details.club.join_policy is JoinPolicy.APPROVAL
        assert details.club.name.get("en") == "Chess studio"
        assert details.club.name.get("zh_CN") == "棋艺斋"
        assert details.club.description is not None
        assert details.club.description.get("en") == "Board games on Fridays"


async def test_newclub_refused_for_a_member_changes_nothing(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/me")
        before = await _state(huarong.db)
        answer = await chat.say("alice", "/newclub chess 棋艺斋")
        assert "⚠️" in answer.text
        answer = await chat.say("alice", "/editclub tea join approval")
        assert "⚠️" in answer.text
        assert await _state(huarong.db) == before
        helped = await chat.say("alice", "/help")
        assert "新建社团" not in helped.text
        helped = await chat.say("hy", "/help")
        assert "新建社团" in helped.text


async def test_editclub_bad_input_shows_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("hy", "/editclub tea colour red")
        assert "用法：" in answer.text
        answer = await chat.say("hy", "/editclub tea join sometimes")
        assert "不在可选范围内" in answer.text
        assert "用法：" in answer.text
        answer = await chat.say("hy", "/newclub")
        assert "用法：" in answer.text


async def test_newclub_redelivered_gives_the_same_answer(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        first = await chat.say("hy", "/newclub chess 棋艺斋", delivery_id="n")
        before = await _state(huarong.db)
        second = await chat.say("hy", "/newclub chess 棋艺斋", delivery_id="n")
        assert first.text == second.text
        assert "已创建" in second.text
        assert await _state(huarong.db) == before


# --- venues and bookings ---------------------------------------------------------------------


async def test_venues_list_in_both_languages(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("alice", "/场地")
        assert "多功能厅 · 可容纳 120 人" in answer.text
        assert "projector" in answer.text
        assert "/reservations hall" in answer.payloads
        await chat.say("alice", "/lang en")
        answer = await chat.say("alice", "/venues")
        assert "Main hall · up to 120 people · floor 29" in answer.text


async def test_reserve_list_and_unreserve(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("lead", "/venues")
        answer = await chat.say("lead", "/预订场地 1 7-3 14:00 16:00 亲子读书会")
        assert "已预订：多功能厅" in answer.text
        assert "亲子读书会" in answer.text
        assert "16:00" in answer.text
        [booking] = await handle.execute(ListBookings("hall"), actor=SYSTEM)
        assert answer.payloads == (f"/unreserve #{booking.id}",)
        listing = await chat.say("alice", "/reservations hall")
        assert "亲子读书会" in listing.text
        assert listing.payloads == ()
        listing = await chat.say("lead", "/场地预订")
        assert f"/unreserve #{booking.id}" in listing.payloads
        answer = await chat.say("lead", "/unreserve 1")
        assert f"已取消 #{booking.id} 预订" in answer.text
        assert await handle.execute(ListBookings("hall"), actor=SYSTEM) == ()
        await chat.say("lead", "/lang en")
        listing = await chat.say("lead", "/reservations hall")
        assert "Main hall is free" in listing.text


async def test_reserve_across_days_and_a_clash(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("hy", "/lang en")
        answer = await chat.say("hy", "/reserve room_a 7-3 18:00 7-4 09:00 Night vigil")
        assert "Booked: Room A" in answer.text
        clash = await chat.say("lead", "/reserve room_a 7-3 20:00 21:00 读书会")
        assert "⚠️" in clash.text
        assert await _bookings(handle, "room_a") == 1


async def test_reserve_refused_for_a_member_changes_nothing(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        await chat.say("alice", "/me")
        before = await _state(huarong.db)
        answer = await chat.say("alice", "/reserve hall 7-3 14:00 16:00 生日会")
        assert "⚠️" in answer.text
        assert await _state(huarong.db) == before


async def test_reserve_bad_input_shows_usage(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        answer = await chat.say("lead", "/reserve hall 7-3 14:00 25:00 读书会")
        assert "用法：" in answer.text
        answer = await chat.say("lead", "/reserve hall 7-3 14:00")
        assert "用法：" in answer.text
        assert "结束时间" in answer.text
        await chat.say("lead", "/lang en")
        answer = await chat.say("lead", "/unreserve abc")
        assert "Usage:" in answer.text


async def test_reserve_and_unreserve_redelivered(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (huarong, handle):
        chat = ChatTester(handle)
        first = await chat.say("lead", "/reserve hall 7-3 14:00 16:00 读书会", delivery_id="r")
        before = await _state(huarong.db)
        second = await chat.say("lead", "/reserve hall 7-3 14:00 16:00 读书会", delivery_id="r")
        assert first.text == second.text
        assert await _state(huarong.db) == before
        [booking] = await handle.execute(ListBookings("hall"), actor=SYSTEM)
        first = await chat.say("lead", f"/unreserve #{booking.id}", delivery_id="u")
        before = await _state(huarong.db)
        second = await chat.say("lead", f"/unreserve #{booking.id}", delivery_id="u")
        assert first.text == second.text
        assert "已取消" in second.text
        assert await _state(huarong.db) == before


async def test_unreserve_someone_elses_booking_is_refused(database_url: str) -> None:
    async with open_test_community(database_url, config=CONFIG) as (_, handle):
        chat = ChatTester(handle)
        await chat.say("hy", "/reserve hall 7-3 14:00 16:00 驿站活动")
        [booking] = await handle.execute(ListBookings("hall"), actor=SYSTEM)
        answer = await chat.say("lead", f"/unreserve #{booking.id}")
        assert "⚠️" in answer.text
        assert await _bookings(handle, "hall") == 1
