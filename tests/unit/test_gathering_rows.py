"""A gathering's row is decoded once per distinct row (`repositories.gatherings._decoded`)."""

from __future__ import annotations

from typing import Any

from huarong_core.domain.gatherings import GatheringStatus
from huarong_core.storage.repositories.gatherings import _decoded


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "community_id": 1,
        "id": 12,
        "kind": "event",
        "event_type": "lecture",
        "salon_key": None,
        "occurrence": None,
        "event_key": "tea-talk",
        "title": '{"en": "Tea talk", "zh_CN": "茶话"}',
        "description": None,
        "topic": None,
        "speaker": None,
        "organizer": "community",
        "club_key": None,
        "station": None,
        "venue_key": None,
        "capacity": 30,
        "starts_at": "2026-07-01T09:00:00+00:00",
        "ends_at": "2026-07-01T10:00:00+00:00",
        "status": "scheduled",
        "checkin_code": "123456",
        "tags": "[]",
        "ranking": "high",
        "finalized_at": None,
        "created_at": "2026-06-01T09:00:00+00:00",
        "updated_at": "2026-06-01T09:00:00+00:00",
    }
    row.update(changes)
    return row


def test_the_same_row_gives_the_same_gathering_and_a_changed_row_a_new_one() -> None:
    first = _decoded(_row())
    assert first.title.get("en") == "Tea talk"
    assert first.capacity == 30
    assert _decoded(_row()) is first
    cancelled = _decoded(_row(status="cancelled", updated_at="2026-06-02T09:00:00+00:00"))
    assert cancelled.status is GatheringStatus.CANCELLED
    assert _decoded(_row()).status is GatheringStatus.SCHEDULED
    assert _decoded(_row(community_id=2)) is not first  # another community's row


def test_a_row_with_a_value_that_cannot_be_a_key_is_decoded_all_the_same() -> None:
    found = _decoded(_row(tags=["a list, as a driver may hand it"]))
    assert found.id == 12
